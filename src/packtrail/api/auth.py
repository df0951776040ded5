"""Who is calling: an API key or an OAuth2 access token, bound to a party (GLN).

Every request but ``OPTIONS`` (see :attr:`APISettings.public_discovery`) carries
``Authorization: Bearer <credential>``. The credential is either

- an **API key** issued by ``packtrail parties add GLN --name NAME`` (the store keeps only its
  SHA-256 and finds the party with :meth:`Store.party_for_api_key`), or
- a **JWT** from the trading network's OAuth2 server (client-credentials grant), when the
  settings name its public key (RS256/ES256) or shared secret (HS256). The token must be
  signed by that key, unexpired, for this node's audience and issuer when those are set, and
  carry ``sub`` (the client) and ``gln`` (the party it acts for, 13 digits with check digit).

The caller becomes a :class:`~packtrail.store.Viewer` for that GLN: it sees the events it
captured and those naming it as owning or possessing party. Without a credential, or with one
that does not check out, the answer is ``401`` with ``WWW-Authenticate: Bearer``; an event the
caller may not see is answered ``404`` like one that does not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Final, TypeAlias

import jwt
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jwt.types import Options
from starlette.concurrency import run_in_threadpool

from packtrail.api.problems import Problem
from packtrail.api.settings import APISettings
from packtrail.gs1 import GLN, GS1Error
from packtrail.store import Viewer

if TYPE_CHECKING:
    from packtrail.store import Store

__all__ = [
    "Authenticator",
    "CurrentViewer",
    "authenticate",
    "bearer_scheme",
    "current_viewer",
    "unauthorised",
]

bearer_scheme: Final = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API key from `packtrail parties add`, or an OAuth2 client-credentials JWT with a "
    "`gln` claim.",
)
"""The OpenAPI security scheme (HTTP bearer); missing credentials are ours to answer, as a problem."""

_CHALLENGE: Final = 'Bearer realm="epcis"'


def unauthorised(detail: str, *, error: str | None = None) -> Problem:
    """The ``401`` problem, with the ``WWW-Authenticate`` challenge RFC 6750 asks for."""
    challenge = _CHALLENGE if error is None else f'{_CHALLENGE}, error="{error}"'
    return Problem(401, "SecurityException", detail, headers={"WWW-Authenticate": challenge})


def _looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2 and credential.startswith("eyJ")


class Authenticator:
    """Turns the bearer credential of a request into a :class:`~packtrail.store.Viewer`."""

    def __init__(self, store: Store, settings: APISettings) -> None:
        self.store = store
        self.settings = settings
        self._jwt_keys = settings.jwt_keys()

    def viewer_for(self, credential: str | None) -> Viewer:
        """The viewer for ``credential`` (the text after ``Bearer``); :class:`Problem` 401 otherwise.

        Blocking (a database lookup for API keys): call it from a worker thread."""
        if not self.settings.auth_required:
            return Viewer.admin()
        if not credential:
            raise unauthorised("send Authorization: Bearer <API key or access token>")
        if self._jwt_keys and _looks_like_jwt(credential):
            return Viewer(party=self._party_from_jwt(credential))
        party = self.store.party_for_api_key(credential)
        if party is None:
            raise unauthorised("the API key is unknown or revoked", error="invalid_token")
        return Viewer(party=party.gln)

    def recent_viewer_for(self, credential: str | None) -> Viewer | None:
        """:meth:`viewer_for` when it needs no database read and no signature check (authentication is
        off, or an API key read within the last second); None otherwise. Never blocks."""
        if not self.settings.auth_required:
            return Viewer.admin()
        if not credential or (self._jwt_keys and _looks_like_jwt(credential)):
            return None
        known, party = self.store.recent_party_for_api_key(credential)
        if not known:
            return None
        if party is None:
            raise unauthorised("the API key is unknown or revoked", error="invalid_token")
        return Viewer(party=party.gln)

    def _party_from_jwt(self, token: str) -> str:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise unauthorised(f"the access token is malformed: {exc}", error="invalid_token") from None
        algorithm = header.get("alg")
        key = self._jwt_keys.get(algorithm) if isinstance(algorithm, str) else None
        if key is None or not isinstance(algorithm, str):
            allowed = ", ".join(self._jwt_keys)
            raise unauthorised(
                f"the access token is signed with {algorithm!r}; this node accepts {allowed}",
                error="invalid_token",
            )
        options: Options = {"require": ["exp", "sub"], "verify_aud": self.settings.jwt_audience is not None}
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options=options,
            )
        except jwt.PyJWTError as exc:
            raise unauthorised(f"the access token was refused: {exc}", error="invalid_token") from None
        gln = claims.get("gln")
        if not isinstance(gln, str):
            raise unauthorised("the access token has no gln claim naming the party", error="invalid_token")
        try:
            return GLN.parse(gln).value
        except GS1Error as exc:
            raise unauthorised(
                f"the access token's gln claim is no GLN: {exc}", error="invalid_token"
            ) from None


def _credential(request: Request) -> str | None:
    """The text after ``Bearer`` in the request's ``Authorization`` header (None without one)."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise unauthorised("the Authorization header must be 'Bearer <credential>'", error="invalid_request")
    return credential.strip()


def authenticate(request: Request) -> Viewer:
    """The viewer for the request's ``Authorization`` header (blocking: call from a worker thread)."""
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator.viewer_for(_credential(request))


async def current_viewer(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]
) -> Viewer:
    """FastAPI dependency: the authenticated caller. An API key read within the last second is answered
    at once; anything else (a key to look up, a token to verify) in the thread pool, off the event loop.
    ``credentials`` documents the scheme in the OpenAPI."""
    del credentials  # parsed again here, with the errors worded as problems
    authenticator: Authenticator = request.app.state.authenticator
    viewer = authenticator.recent_viewer_for(_credential(request))
    if viewer is not None:
        return viewer
    return await run_in_threadpool(authenticate, request)


CurrentViewer: TypeAlias = Annotated[Viewer, Depends(current_viewer)]
"""A route parameter of this type is the authenticated caller (``viewer: CurrentViewer``)."""
