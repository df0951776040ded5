"""What the FMD routers share: JSON in and out, API-key authentication, node-to-node checks.

Every FMD answer is JSON with the NMVS return code (``returnCode``) and its text,
so a pharmacy's software can treat HTTP errors and functional answers alike.
A request without a valid ``Authorization: Bearer KEY`` gets 401 and
``NMVS_FE_AU_01``; a body that is not a JSON object gets 400 and
``NMVS_TE_JS_01`` / ``NMVS_TE_JS_02``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from packtrail.fmd.answers import Answer
from packtrail.fmd.codes import ReturnCode
from packtrail.fmd.federation import federation_key_ok
from packtrail.fmd.model import Client
from packtrail.fmd.storage import Storage
from packtrail.fmd.wire import error_body

__all__ = [
    "BadRequest",
    "authenticate",
    "client_for_header",
    "json_body",
    "node_call_allowed",
    "parse_json_object",
    "respond",
]


class BadRequest(Exception):
    """A request the router answers itself (no credentials, a broken body): carries the answer."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        super().__init__(str(answer.body))


def respond(answer: Answer) -> Response:
    """The HTTP response for a service :class:`~packtrail.fmd.national.Answer`."""
    return Response(
        orjson.dumps(answer.body),
        status_code=answer.status,
        media_type="application/json",
        headers=dict(answer.headers),
    )


async def json_body(request: Request) -> Mapping[str, Any]:
    """The request body as a JSON object, or :class:`BadRequest` naming what is wrong."""
    return parse_json_object(await request.body())


def parse_json_object(raw: bytes) -> Mapping[str, Any]:
    """``raw`` as a JSON object (empty: ``{}``), or :class:`BadRequest` naming what is wrong."""
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as exc:
        raise BadRequest(
            Answer(400, error_body(ReturnCode.NMVS_TE_JS_01, f"the body is not JSON: {exc}"))
        ) from None
    if not isinstance(body, dict):
        raise BadRequest(
            Answer(
                400,
                error_body(ReturnCode.NMVS_TE_JS_02, f"expected a JSON object, found {type(body).__name__}"),
            )
        )
    return body


def authenticate(request: Request, storage: Storage) -> Client:
    """The client whose API key the request carries, or :class:`BadRequest` with a 401."""
    return client_for_header(request.headers.get("authorization"), storage)


def client_for_header(header: str | None, storage: Storage) -> Client:
    """The client whose API key the ``Authorization`` header value carries, or :class:`BadRequest` (401)."""
    if header is None or not header.startswith("Bearer ") or not header[7:].strip():
        raise BadRequest(
            Answer(
                401,
                error_body(
                    ReturnCode.NMVS_FE_AU_03, "send the client's API key as 'Authorization: Bearer KEY'"
                ),
                {"WWW-Authenticate": 'Bearer realm="fmd"'},
            )
        )
    client = storage.client_for_key(header[7:].strip())
    if client is None:
        raise BadRequest(
            Answer(
                401,
                error_body(ReturnCode.NMVS_FE_AU_01, "the API key is not one this node issued"),
                {"WWW-Authenticate": 'Bearer realm="fmd", error="invalid_token"'},
            )
        )
    return client


def node_call_allowed(request: Request, federation_key: str | None) -> None:
    """Raise :class:`BadRequest` (401) unless the call carries the federation key (when one is set)."""
    if not federation_key_ok(federation_key, request.headers.get("authorization")):
        raise BadRequest(
            Answer(401, error_body(ReturnCode.NMVS_FE_AU_13, "node calls need the federation key"))
        )


def query_int(request: Request, name: str, default: int, *, low: int = 0, high: int = 10_000) -> int:
    """An integer query parameter within ``[low, high]``, or :class:`BadRequest`."""
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise BadRequest(
            Answer(
                400,
                error_body(
                    ReturnCode.NMVS_FE_REQ_02, f"expected {low} to {high}, found {text!r}", field=name
                ),
            )
        )
    return value
