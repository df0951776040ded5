"""The served OpenAPI, fuzzed with schemathesis in process (ASGI, no network): no answer is a 500.

Every operation of ``/openapi.json`` (capture, events, every resource, named queries, discovery) is
called with generated parameters, headers and bodies and a valid API key, against a store holding
a few events. The examples per operation are bounded so the run stays short.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from packtrail.api import APISettings, create_app
from packtrail.store import open_store
from test_api_support import EXAMPLE_NS, PARTY_A, PARTY_B, document, object_event, sgtin

_KEY: dict[str, str] = {}
EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 3}
"""Examples per operation: valid per the schema (positive), and invalid (negative)."""


@pytest.fixture(scope="module")
def fuzzed_app() -> Iterator[FastAPI]:
    folder = Path(tempfile.mkdtemp(prefix="packtrail-fuzz-"))
    store = open_store(f"sqlite:///{folder / 'packtrail.db'}")
    try:
        _KEY["a"] = store.add_party(PARTY_A, "Alpha Pharma")
        store.add_party(PARTY_B, "Beta Wholesale")
        events = [
            object_event(sgtin("4012345", "011111", i), **{"example:lot": f"L{i}"}) for i in range(1, 6)
        ]
        store.capture(document(events, namespaces={"example": EXAMPLE_NS}), party=PARTY_A)
        store.create_named_query("myQuery", {"EQ_bizStep": ["shipping"]}, _viewer())
        yield create_app(store, APISettings(capture_max_events=50, capture_max_bytes=1 << 20))
    finally:
        store.close()


def _viewer() -> object:
    from packtrail.store import Viewer

    return Viewer(PARTY_A)


def test_no_server_errors(fuzzed_app: FastAPI) -> None:
    api = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    headers = {"Authorization": f"Bearer {_KEY['a']}"}
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) > 40
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES[mode],
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def check(case: schemathesis.Case) -> None:
                response = case.call(headers=headers)
                case.validate_response(response, checks=[not_a_server_error])

            try:
                check()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label  # nothing of it can be made invalid
