"""Who may call: API keys, OAuth2 client-credentials JWTs (RS256, HS256), and the parsers of
request headers (fuzzed: they answer problems, never crash)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from packtrail.api import APISettings, Problem
from packtrail.api.negotiation import negotiate, parse_extensions
from test_api_support import PARTY_A, PARTY_B, Node, document, make_node, object_event, sgtin

AUDIENCE = "https://node.example.com/epcis"
ISSUER = "https://auth.example.com"


def _rsa_pair() -> tuple[Any, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


PRIVATE_KEY, PUBLIC_PEM = _rsa_pair()
OTHER_KEY, _ = _rsa_pair()


def _token(key: Any = PRIVATE_KEY, algorithm: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    body: dict[str, Any] = {
        "sub": "client-17",
        "gln": PARTY_A,
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": now,
        "exp": now + 300,
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm=algorithm)


@pytest.fixture
def jwt_node(store_url: str) -> Iterator[Node]:
    settings = APISettings(
        jwt_public_key=PUBLIC_PEM, jwt_secret="s" * 32, jwt_audience=AUDIENCE, jwt_issuer=ISSUER
    )
    yield from make_node(store_url, settings)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_jwt_acts_for_the_party_of_its_gln_claim(jwt_node: Node) -> None:
    node = jwt_node
    token = _token()
    response = node.client.post(
        "/epcis/capture",
        content=document([object_event(sgtin("4012345", "011111", 1))]),
        headers={**_bearer(token), "Content-Type": "application/ld+json"},
    )
    assert response.status_code == 202, response.text
    job_path = response.headers["location"]
    assert node.client.get(job_path, headers=node.a).status_code == 200  # A's API key: the same party
    assert node.client.get(job_path, headers=node.b).status_code == 404
    as_b = _token(gln=PARTY_B)
    assert node.client.get(job_path, headers=_bearer(as_b)).status_code == 404
    hs256 = _token(key="s" * 32, algorithm="HS256")
    assert node.client.get(job_path, headers=_bearer(hs256)).status_code == 200


BAD_TOKENS: list[tuple[str, Callable[[], str]]] = [
    ("expired", lambda: _token(exp=int(time.time()) - 10)),
    ("wrong-audience", lambda: _token(aud="https://elsewhere.example.com")),
    ("wrong-issuer", lambda: _token(iss="https://evil.example.com")),
    ("wrong-key", lambda: _token(key=OTHER_KEY)),
    ("no-gln", lambda: _token(gln=None)),
    ("gln-check-digit", lambda: _token(gln="4012345000001")),
    ("no-sub", lambda: _token(sub=None)),
    ("no-exp", lambda: _token(exp=None)),
    ("wrong-secret", lambda: _token(key="x" * 32, algorithm="HS256")),
    ("alg-not-allowed", lambda: _token(key=PUBLIC_PEM.encode()[:64], algorithm="HS384")),
    ("alg-none", lambda: jwt.encode({"sub": "x", "gln": PARTY_A, "exp": 2**40}, None, algorithm="none")),
    ("malformed", lambda: "eyJhbGciOi.eyJzdWIi.broken"),
]
"""Tokens a node must refuse: (what is wrong with it, how to make it)."""


def test_bad_tokens_are_401(jwt_node: Node) -> None:
    for wrong, make in BAD_TOKENS:
        response = jwt_node.client.get("/epcis/events", headers=_bearer(make()))
        assert response.status_code == 401, (wrong, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "invalid_token" in response.headers["www-authenticate"], wrong


def test_api_keys_still_work_beside_jwt(jwt_node: Node) -> None:
    assert jwt_node.client.get("/epcis/capture", headers=jwt_node.a).status_code == 200


def test_a_key_read_within_the_second_needs_no_thread(
    node_without_jwt: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first request with a key looks it up in the thread pool; the next ones, within the second the
    answer is kept, are answered on the event loop; a key revoked here stops working at once."""
    from packtrail.api import auth

    node = node_without_jwt
    looked_up: list[str | None] = []
    blocking = auth.Authenticator.viewer_for

    def counting(self: auth.Authenticator, credential: str | None) -> Any:
        looked_up.append(credential)
        return blocking(self, credential)

    monkeypatch.setattr(auth.Authenticator, "viewer_for", counting)
    for _ in range(3):
        assert node.client.get("/epcis/capture", headers=node.a).status_code == 200
    assert looked_up.count(node.key_a) <= 1, looked_up
    unknown = node.headers("no-such-key")
    assert node.client.get("/epcis/capture", headers=unknown).status_code == 401
    assert node.client.get("/epcis/capture", headers=unknown).status_code == 401  # kept: still refused
    assert node.store.revoke_api_key(node.key_a)
    assert node.client.get("/epcis/capture", headers=node.a).status_code == 401


def test_without_jwt_settings_a_jwt_is_just_an_unknown_key(node_without_jwt: Node) -> None:
    response = node_without_jwt.client.get("/epcis/capture", headers=_bearer(_token()))
    assert response.status_code == 401


@pytest.fixture
def node_without_jwt(tmp_path: Path) -> Iterator[Node]:
    yield from make_node(f"sqlite:///{tmp_path}/packtrail.db")


@pytest.fixture
def private_discovery(tmp_path: Path) -> Iterator[Node]:
    yield from make_node(f"sqlite:///{tmp_path}/packtrail.db", APISettings(public_discovery=False))


def test_discovery_can_require_credentials(private_discovery: Node) -> None:
    node = private_discovery
    assert node.client.options("/epcis/events").status_code == 401
    assert node.client.options("/epcis/events", headers=node.a).status_code == 204


@pytest.fixture
def open_node(tmp_path: Path) -> Iterator[Node]:
    yield from make_node(f"sqlite:///{tmp_path}/packtrail.db", APISettings(auth_required=False))


def test_auth_can_be_switched_off_for_a_loopback_node(open_node: Node) -> None:
    node = open_node
    node.capture(node.key_b, document([object_event(sgtin("4012345", "011111", 1))]))
    jobs = node.client.get("/epcis/capture").json()  # no credential: the administrator sees all
    assert len(jobs) == 1


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "accept",
                "gs1-epcis-min",
                "gs1-epcis-max",
                "gs1-cbv-min",
                "gs1-cbv-max",
                "gs1-epc-format",
                "gs1-cbv-xml-format",
            ]
        ),
        st.text(max_size=40),
    )
)
@example({"gs1-epcis-min": "²"})
@example({"accept": "application/xml;q=x", "gs1-cbv-max": "1.1"})
def test_negotiation_of_random_headers_raises_problems_only(headers: dict[str, str]) -> None:
    try:
        negotiate(headers)
    except Problem as problem:
        assert problem.status in (400, 406)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_random_extensions_headers_raise_problems_only(header: str) -> None:
    try:
        found = parse_extensions(header)
    except Problem as problem:
        assert problem.status == 400
    else:
        assert all(prefix and namespace for prefix, namespace in found.items())


def test_random_authorization_headers_are_401(tmp_path: Path) -> None:
    with contextmanager(make_node)(f"sqlite:///{tmp_path}/packtrail.db") as node:
        client = node.client

        @settings(max_examples=60, deadline=None)
        @given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60))
        def check(header: str) -> None:
            response = client.get("/epcis/events", headers={"Authorization": header})
            assert response.status_code == 401, (header, response.text)
            assert response.json()["type"] == "epcisException:SecurityException"

        check()
