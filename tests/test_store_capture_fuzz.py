"""Capture is a parser of outside input: random bytes and mutated EPCIS documents either raise the
store's own errors (CaptureFormatError, CaptureLimitError) or give a result, and never leave partial rows.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packtrail.epcis import EPCISDocument, write_xml
from packtrail.store import (
    CaptureFormatError,
    CaptureLimitError,
    CaptureLimits,
    CaptureResult,
    Store,
    open_store,
    schema,
)

LIMITS = CaptureLimits(max_events=6, max_bytes=6000)

BASE_EVENTS: list[dict[str, Any]] = [
    {
        "type": "ObjectEvent",
        "eventTime": "2024-03-01T10:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": ["urn:epc:id:sgtin:4012345.011111.1001"],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
        "destinationList": [{"type": "owning_party", "destination": "urn:epc:id:pgln:0614141.00000"}],
        "ex:note": {"ex:size": ["B", 2]},
        "ilmd": {"ex:lot": "L1"},
    },
    {
        "type": "AggregationEvent",
        "eventTime": "2024-03-02T10:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "parentID": "urn:epc:id:sscc:4012345.0000000001",
        "childEPCs": ["urn:epc:id:sgtin:4012345.011111.1001"],
        "action": "ADD",
        "bizStep": "packing",
    },
    {
        "type": "ObjectEvent",
        "eventTime": "2024-03-03T10:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "ADD",
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.011111.L1", "quantity": 10, "uom": "KGM"}],
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epc:id:gdti:4012345.00001.1"}],
        "sensorElementList": [
            {
                "sensorMetadata": {"time": "2024-03-03T10:00:00Z"},
                "sensorReport": [{"type": "Temperature", "value": 4.5, "uom": "CEL"}],
            }
        ],
    },
]
CONTEXT = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"ex": "https://ns.example.com/"},
]


def _document(events: list[Any]) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-03-01T11:00:00Z",
        "epcisBody": {"eventList": events},
    }


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def mutated_json(draw: st.DrawFn) -> bytes:
    """A valid document with some of its events' members replaced, removed or retyped."""
    events = [dict(e) for e in draw(st.lists(st.sampled_from(BASE_EVENTS), min_size=0, max_size=7))]
    for each in events:  # mostly new content, so that events get stored, not only counted as duplicates
        each["eventTime"] = f"2024-03-{draw(st.integers(1, 28)):02d}T{draw(st.integers(0, 23)):02d}:00:00Z"
    for _ in range(draw(st.integers(0, 4))):
        if not events:
            break
        target = events[draw(st.integers(0, len(events) - 1))]
        key = draw(st.sampled_from([*sorted(target), "eventID", "recordTime", "errorDeclaration", "ex:x"]))
        if draw(st.booleans()) and key in target:
            del target[key]
        else:
            target[key] = draw(json_values)
    top: Any = _document(events)
    if draw(st.integers(0, 9)) == 0:
        top = draw(
            st.sampled_from([events[0] if events else {}, {"type": "EPCISDocument"}, [top], top["epcisBody"]])
        )
    data = orjson.dumps(top)
    if draw(st.integers(0, 4)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


@st.composite
def mutated_xml(draw: st.DrawFn) -> bytes:
    """An EPCIS 2.0 XML document with a byte range cut out or replaced."""
    events = draw(st.lists(st.sampled_from(BASE_EVENTS[:2]), min_size=1, max_size=3))
    data = write_xml(
        EPCISDocument(
            creation_date="2024-03-01T11:00:00Z", namespaces={"ex": "https://ns.example.com/"}, events=events
        )
    )
    start = draw(st.integers(0, len(data)))
    end = draw(st.integers(start, min(len(data), start + 40)))
    return data[:start] + draw(st.binary(max_size=10)) + data[end:]


inputs = st.one_of(st.binary(max_size=200), mutated_json(), mutated_xml())


@pytest.fixture(scope="module")
def fuzz_store() -> Iterator[Store]:
    with (
        tempfile.TemporaryDirectory() as folder,
        open_store(f"sqlite:///{Path(folder) / 'fuzz.db'}") as store,
    ):
        yield store


def _counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as connection:
        return {
            name: int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
            for name, table in schema.metadata.tables.items()
        }


def _orphans(store: Store) -> int:
    """Index or key rows without their event, or events without their key: a partial capture."""
    events, keys, epcs = schema.events, schema.event_keys, schema.event_epcs
    with store.engine.connect() as connection:
        lost_keys = connection.execute(
            sa.select(sa.func.count())
            .select_from(keys)
            .where(~sa.exists().where(events.c.event_pk == keys.c.event_pk))
        ).scalar_one()
        keyless = connection.execute(
            sa.select(sa.func.count())
            .select_from(events)
            .where(~sa.exists().where(keys.c.event_pk == events.c.event_pk))
        ).scalar_one()
        lost_epcs = connection.execute(
            sa.select(sa.func.count())
            .select_from(epcs)
            .where(~sa.exists().where(events.c.event_pk == epcs.c.event_pk))
        ).scalar_one()
    return int(lost_keys) + int(keyless) + int(lost_epcs)


@settings(max_examples=120, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=inputs, behaviour=st.sampled_from(["rollback", "proceed"]))
def test_capture_of_hostile_input_raises_our_errors_or_stores_whole_events(
    fuzz_store: Store, data: bytes, behaviour: str
) -> None:
    before = _counts(fuzz_store)
    try:
        result = fuzz_store.capture(data, behaviour=behaviour, limits=LIMITS)  # type: ignore[arg-type]
    except (CaptureFormatError, CaptureLimitError):
        assert _counts(fuzz_store) == before
        return
    assert isinstance(result, CaptureResult)
    after = _counts(fuzz_store)
    assert after["events"] - before["events"] == result.captured
    assert after["event_keys"] - before["event_keys"] == result.captured
    assert after["outbox"] - before["outbox"] == (1 if result.captured else 0)
    assert after["captures"] - before["captures"] == 1
    assert result.captured + result.duplicates <= result.event_count
    if behaviour == "rollback" and not result.success:
        assert result.captured == 0
    assert _orphans(fuzz_store) == 0
