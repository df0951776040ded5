"""Shared pytest fixtures: the external services some tests need.

Tests that need PostgreSQL take the ``postgres_url`` fixture; tests that need NATS with
JetStream take ``nats_url``. Each fixture reads its URL from the environment and checks,
once per session, that the server answers:

- ``PACKTRAIL_TEST_POSTGRES_URL``, e.g. ``postgresql://postgres@127.0.0.1:5432/packtrail_test``
- ``PACKTRAIL_TEST_NATS_URL``, e.g. ``nats://127.0.0.1:4222``

When a variable is missing or its server does not answer, the tests that need it are
skipped with a one-line reason, unless ``PACKTRAIL_REQUIRE_SERVICES=1`` (as ``.ci/run``
sets): then they fail, so CI cannot pass by silently skipping them.

Tests that use these fixtures get the ``postgres`` / ``nats`` marker automatically, so
``pytest -m "not postgres and not nats"`` runs everything that needs no server.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import pytest
from hypothesis import HealthCheck, settings

# Two shared cores: a deadline would turn a slow moment into a false failure. Timings live in bench/.
settings.register_profile(
    "packtrail", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile(os.environ.get("PACKTRAIL_HYPOTHESIS_PROFILE", "packtrail"))

POSTGRES_URL_VAR = "PACKTRAIL_TEST_POSTGRES_URL"
NATS_URL_VAR = "PACKTRAIL_TEST_NATS_URL"
REQUIRE_SERVICES_VAR = "PACKTRAIL_REQUIRE_SERVICES"

CONNECT_TIMEOUT_SECONDS = 3.0

# fixture name -> marker it implies, with the marker's description (also declared in pyproject.toml).
SERVICE_MARKERS: dict[str, tuple[str, str]] = {
    "postgres_url": ("postgres", f"needs a PostgreSQL server ({POSTGRES_URL_VAR})"),
    "nats_url": ("nats", f"needs a NATS server with JetStream ({NATS_URL_VAR})"),
}


def services_required() -> bool:
    """True when missing services must fail the tests rather than skip them."""
    return os.environ.get(REQUIRE_SERVICES_VAR, "").strip().lower() in {"1", "true", "yes"}


def service_unavailable(service: str, variable: str, example: str, problem: str) -> NoReturn:
    """Skip the test (or fail it when services are required) with one clear line."""
    message = (
        f"{service} not available: {problem}; set {variable} (e.g. {example}) to a server that answers,"
        " or run .ci/run"
    )
    if services_required():
        pytest.fail(f"{message} [{REQUIRE_SERVICES_VAR}=1, so this is an error]", pytrace=False)
    pytest.skip(message)


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``, safe to print in a skip reason."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
    except ValueError:
        return "<unparsable URL>"


def _postgres_problem(url: str) -> str | None:
    """None when PostgreSQL at ``url`` accepts a connection and a query, else what went wrong."""
    try:
        import psycopg
    except ImportError:
        return "the psycopg package is not installed (pip install 'psycopg[binary]')"
    try:
        with psycopg.connect(url, connect_timeout=int(CONNECT_TIMEOUT_SECONDS)) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure means "not available"; say which one
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"cannot connect to {redact(url)}: {first_line}"
    return None


def _nats_problem(url: str) -> str | None:
    """None when a NATS server with JetStream answers at ``url``, else what went wrong.

    Reads the server's INFO line (the first thing a NATS server sends) over plain TCP; the
    tests themselves then connect with nats-py.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"nats", "tls"} or not parts.hostname:
        return f"{redact(url)} is not a nats://host:port URL"
    try:
        port = parts.port or 4222
    except ValueError:
        return f"{redact(url)} has an invalid port"
    try:
        with socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_SECONDS) as sock:
            info = sock.makefile("rb").readline(65536)
    except OSError as exc:
        return f"cannot connect to {parts.hostname}:{port}: {exc.strerror or exc}"
    if not info.startswith(b"INFO "):
        return f"the server at {parts.hostname}:{port} did not greet with a NATS INFO line"
    if b'"jetstream":true' not in info.replace(b" ", b""):
        return f"the NATS server at {parts.hostname}:{port} has JetStream disabled (start it with -js)"
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a PostgreSQL database the tests may create and drop tables in."""
    example = "postgresql://postgres@127.0.0.1:5432/packtrail_test"
    url = os.environ.get(POSTGRES_URL_VAR, "").strip()
    if not url:
        service_unavailable("PostgreSQL", POSTGRES_URL_VAR, example, f"{POSTGRES_URL_VAR} is not set")
    problem = _postgres_problem(url)
    if problem is not None:
        service_unavailable("PostgreSQL", POSTGRES_URL_VAR, example, problem)
    return url


@pytest.fixture(scope="session")
def nats_url() -> str:
    """URL of a NATS server with JetStream the tests may create and delete streams on."""
    example = "nats://127.0.0.1:4222"
    url = os.environ.get(NATS_URL_VAR, "").strip()
    if not url:
        service_unavailable("NATS", NATS_URL_VAR, example, f"{NATS_URL_VAR} is not set")
    problem = _nats_problem(url)
    if problem is not None:
        service_unavailable("NATS", NATS_URL_VAR, example, problem)
    return url


def register_service_markers(config: pytest.Config) -> None:
    """Declare the ``postgres`` and ``nats`` markers (harmless if pyproject.toml already does)."""
    for marker, description in SERVICE_MARKERS.values():
        config.addinivalue_line("markers", f"{marker}: {description}")


def pytest_configure(config: pytest.Config) -> None:
    register_service_markers(config)


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses a service fixture, so ``-m "not postgres"`` deselects it."""
    for item in items:
        fixturenames = getattr(item, "fixturenames", ())
        for fixture, (marker, _) in SERVICE_MARKERS.items():
            if fixture in fixturenames and item.get_closest_marker(marker) is None:
                item.add_marker(getattr(pytest.mark, marker))


# -- one store location per test, for the backend-agnostic store contract --------------------------------

STORE_BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def postgres_schema_url(base_url: str, schema: str) -> str:
    """``base_url`` with libpq's ``options`` set so every connection works in ``schema``."""
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def fresh_schema(base_url: str, prefix: str = "t") -> Iterator[str]:
    """A PostgreSQL URL (``base_url``'s server) whose ``search_path`` is a new, empty schema named
    ``{prefix}_…``, dropped with everything in it on leaving."""
    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield postgres_schema_url(base_url, schema)
    finally:
        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=STORE_BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty store location, once per backend: ``sqlite:///…/packtrail.db`` in a fresh temporary
    directory, or a PostgreSQL URL whose ``search_path`` is a fresh schema (dropped afterwards).

    Tests written against this fixture state the store contract once; both backends must pass it.
    """
    if request.param == "sqlite":
        directory = tmp_path_factory.mktemp("store")
        yield f"sqlite:///{directory / 'packtrail.db'}"
        return
    with fresh_schema(request.getfixturevalue("postgres_url")) as url:
        yield url
