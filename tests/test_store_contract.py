"""The store contract: every test runs on SQLite and on PostgreSQL (the ``store_url`` fixture).

What a repository must do with captured EPCIS documents, stated once for both backends: GS1's
examples in JSON-LD, XML 2.0 and XML 1.2 are stored and returned exactly; the repository sets
recordTime and fills missing eventIDs; duplicates are counted, not stored; ``rollback`` and
``proceed`` behave as the REST bindings say; malformed, oversized and failing captures change nothing;
parties see only their events; master data, named queries, API keys, capture jobs and the outbox work.
"""

from __future__ import annotations

import copy
import tarfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from packtrail.epcis import EPCISDocument, event_hash, read_jsonld
from packtrail.store import (
    CaptureFormatError,
    CaptureLimitError,
    CaptureLimits,
    DuplicateNameError,
    Store,
    StoreError,
    Viewer,
    open_store,
    schema,
)
from packtrail.store import capture as capture_module
from packtrail.store.bulk import BulkWriter

DATA = Path(__file__).parent / "data" / "epcis"
JSONLD = DATA / "json-ld" / "gs1" / "json-ld"
EXAMPLE = JSONLD / "Example_9.6.1-ObjectEvent.jsonld"

ADMIN = Viewer.admin()
PARTY_A = "4012345000009"
PARTY_B = "0614141000005"  # urn:epc:id:pgln:0614141.00000
PARTY_C = "4000001000005"


@pytest.fixture(scope="module")
def xml_examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GS1's and OpenEPCIS's XML examples, unpacked once."""
    root = tmp_path_factory.mktemp("xml")
    for name in ("gs1", "openepcis"):
        with tarfile.open(DATA / "xml" / f"{name}.tar.xz") as archive:
            archive.extractall(root / name, filter="data")
    return root


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


def count(store: Store, table: str) -> int:
    with store.engine.connect() as connection:
        return int(
            connection.execute(
                sa.select(sa.func.count()).select_from(schema.metadata.tables[table])
            ).scalar_one()
        )


def row_counts(store: Store) -> dict[str, int]:
    return {name: count(store, name) for name in schema.metadata.tables}


def event(n: int, **extra: Any) -> dict[str, Any]:
    """A valid ObjectEvent, different for every ``n``."""
    return {
        "type": "ObjectEvent",
        "eventTime": f"2024-03-01T10:{n // 60 % 60:02d}:{n % 60:02d}.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": [f"urn:epc:id:sgtin:4012345.011111.{1000 + n}"],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
        **extra,
    }


def document(*events: dict[str, Any], header: dict[str, Any] | None = None) -> bytes:
    top: dict[str, Any] = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-03-01T11:00:00Z",
    }
    if header is not None:
        top["epcisHeader"] = header
    top["epcisBody"] = {"eventList": list(events)}
    return orjson.dumps(top)


def invalid_event(n: int) -> dict[str, Any]:
    """An ObjectEvent with a wrong SGTIN check digit in a Digital Link: the rules refuse it."""
    return event(n, epcList=["https://id.gs1.org/01/04012345111112/21/1001"])


def stored_ids(store: Store) -> list[str]:
    with store.engine.connect() as connection:
        return list(
            connection.execute(
                sa.select(schema.events.c.event_id).order_by(schema.events.c.event_pk)
            ).scalars()
        )


# -- opening ----------------------------------------------------------------------------------------------


def test_open_twice_is_idempotent(store_url: str) -> None:
    with open_store(store_url) as first:
        first.capture(document(event(1)))
    with open_store(store_url) as second:
        assert count(second, "events") == 1
        assert second.capture(document(event(2))).captured == 1
        with second.engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
    assert set(schema.metadata.tables) <= tables


def test_migrated_columns_match_schema_module(store: Store) -> None:
    """The frozen migration and schema.py describe the same columns, so every helper codes against the truth."""
    with store.engine.connect() as connection:
        inspector = sa.inspect(connection)
        for table in schema.metadata.tables.values():
            columns = {column["name"] for column in inspector.get_columns(table.name)}
            assert columns == {column.name for column in table.columns}, table.name


# -- capture of GS1 examples ------------------------------------------------------------------------------


def test_capture_gs1_jsonld_example(store: Store) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    result = store.capture(EXAMPLE.read_bytes())
    assert (result.event_count, result.captured, result.duplicates, result.success) == (2, 2, 0, True)
    assert (result.first_event_pk, result.last_event_pk) == (1, 2)
    original = read_jsonld(EXAMPLE)
    for given in original.events:
        hashed = event_hash(given, original.namespaces)
        stored = store.get_event(given.get("eventID", hashed), ADMIN)
        assert stored is not None
        record_time = datetime.fromisoformat(stored.pop("recordTime"))
        assert before <= record_time <= datetime.now(UTC) + timedelta(seconds=1)
        if "eventID" not in given:
            assert stored.pop("eventID") == hashed  # filled in with the Event Hash ID
        assert stored == given  # exactly as captured, member order too
        assert list(stored) == list(given)


def test_capture_gs1_xml_20_example(store: Store, xml_examples: Path) -> None:
    path = xml_examples / "gs1" / "xml" / "Example_9.6.1-ObjectEvent-2020_06_18a.xml"
    result = store.capture(path)
    assert (result.event_count, result.captured, result.success) == (2, 2, True)
    ids = stored_ids(store)
    assert len(ids) == 2 and all(i.startswith("ni:///sha-256;") for i in ids)
    first = store.get_event(ids[0], ADMIN)
    assert first is not None and first["type"] == "ObjectEvent"


def test_capture_xml_12_with_master_data(store: Store, xml_examples: Path) -> None:
    path = xml_examples / "openepcis" / "1.2" / "Capture" / "Documents" / "GS1_US_Pharma_Example_2_2_1_1.xml"
    result = store.capture(path.read_bytes())
    assert (result.event_count, result.captured, result.success) == (8, 8, True)
    assert count(store, "vocabularies") > 0


def test_capture_single_bare_event(store: Store) -> None:
    single = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], **event(1)}
    result = store.capture(orjson.dumps(single))
    assert (result.captured, result.success) == (1, True)
    assert store.capture(orjson.dumps(single)).duplicates == 1


def test_capture_of_a_document_object_leaves_it_unchanged(store: Store) -> None:
    doc = EPCISDocument(
        creation_date="2024-03-01T11:00:00Z",
        events=[event(1), event(2, eventID="urn:uuid:6d3a1ec9-6f5b-4d9a-9d47-0c1a6a6a0001")],
    )
    before = copy.deepcopy(doc.events)
    assert store.capture(doc).captured == 2
    assert doc.events == before


def test_event_id_filled_with_the_hash_when_missing(store: Store) -> None:
    given = event(1)
    store.capture(document(given))
    hashed = event_hash(given, {})
    stored = store.get_event(hashed, ADMIN)
    assert stored is not None and stored["eventID"] == hashed
    assert list(stored)[:5] == ["type", "eventTime", "recordTime", "eventTimeZoneOffset", "eventID"]


def test_record_time_is_set_by_the_repository(store: Store) -> None:
    stale = event(
        1, recordTime="2000-01-01T00:00:00.000Z", eventID="urn:uuid:6d3a1ec9-6f5b-4d9a-9d47-0c1a6a6a0002"
    )
    store.capture(document(stale))
    stored = store.get_event("urn:uuid:6d3a1ec9-6f5b-4d9a-9d47-0c1a6a6a0002", ADMIN)
    assert stored is not None
    assert stored["recordTime"] != "2000-01-01T00:00:00.000Z"
    assert stored["recordTime"].endswith("Z") and len(stored["recordTime"]) == 24
    assert stored["eventID"] == "urn:uuid:6d3a1ec9-6f5b-4d9a-9d47-0c1a6a6a0002"


def test_record_times_never_go_back(store: Store) -> None:
    store.capture(document(event(1)))
    store.capture(document(event(2)))
    with store.engine.connect() as connection:
        times = list(
            connection.execute(
                sa.select(schema.events.c.record_time_us).order_by(schema.events.c.event_pk)
            ).scalars()
        )
    assert times == sorted(times)


# -- duplicates -------------------------------------------------------------------------------------------


def test_duplicates_by_event_id_and_by_hash_are_counted(store: Store) -> None:
    named = event(1, eventID="urn:uuid:6d3a1ec9-6f5b-4d9a-9d47-0c1a6a6a0003")
    assert store.capture(document(named, event(2))).captured == 2
    same_id_other_content = event(99, eventID="urn:uuid:6d3a1ec9-6f5b-4d9a-9d47-0c1a6a6a0003")
    same_content_no_id = event(2)
    result = store.capture(document(same_id_other_content, same_content_no_id, event(3)))
    assert (result.captured, result.duplicates, result.success) == (1, 2, True)
    assert (result.first_event_pk, result.last_event_pk) == (3, 3)  # numbered without a gap
    assert count(store, "events") == 3 == count(store, "event_keys")


def test_duplicates_within_one_document(store: Store) -> None:
    result = store.capture(document(event(1), event(1), event(2), event(2)))
    assert (result.event_count, result.captured, result.duplicates, result.success) == (4, 2, 2, True)


def test_error_declaration_is_stored_next_to_the_original(store: Store) -> None:
    original = event(1, eventID="urn:uuid:6d3a1ec9-6f5b-4d9a-9d47-0c1a6a6a0004")
    declared = dict(
        original, errorDeclaration={"declarationTime": "2024-03-02T10:00:00Z", "reason": "incorrect_data"}
    )
    assert store.capture(document(original)).captured == 1
    assert store.capture(document(declared)).captured == 1
    assert store.capture(document(declared)).duplicates == 1
    latest = store.get_event("urn:uuid:6d3a1ec9-6f5b-4d9a-9d47-0c1a6a6a0004", ADMIN)
    assert latest is not None and "errorDeclaration" in latest


# -- invalid events, limits, malformed input --------------------------------------------------------------


def test_rollback_stores_nothing_when_one_event_is_invalid(store: Store) -> None:
    before = row_counts(store)
    result = store.capture(document(event(1), invalid_event(2), event(3)), behaviour="rollback")
    assert (result.captured, result.success) == (0, False)
    assert result.errors and result.errors[0].pointer is not None
    assert result.errors[0].pointer.startswith("/epcisBody/eventList/1")
    after = row_counts(store)
    assert after["captures"] == before["captures"] + 1  # the failed job is recorded
    assert {k: v for k, v in after.items() if k != "captures"} == {
        k: v for k, v in before.items() if k != "captures"
    }
    job = store.capture_job(result.capture_id, ADMIN)
    assert (
        job is not None
        and job.success is False
        and job.errors[0]["pointer"].startswith("/epcisBody/eventList/1")
    )


def test_proceed_stores_the_valid_events(store: Store) -> None:
    result = store.capture(document(event(1), invalid_event(2), event(3)), behaviour="proceed")
    assert (result.event_count, result.captured, result.success) == (3, 2, False)
    assert [problem.pointer.split("/")[3] for problem in result.errors if problem.pointer] == ["1"]
    assert count(store, "events") == 2


def test_limits_raise_and_store_nothing(store: Store) -> None:
    before = row_counts(store)
    with pytest.raises(CaptureLimitError) as too_many:
        store.capture(document(event(1), event(2)), limits=CaptureLimits(max_events=1))
    assert (too_many.value.limit_name, too_many.value.limit) == ("max_events", 1)
    with pytest.raises(CaptureLimitError) as too_big:
        store.capture(document(event(1)), limits=CaptureLimits(max_bytes=100))
    assert (too_big.value.limit_name, too_big.value.limit) == ("max_bytes", 100)
    assert row_counts(store) == before


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"hello",
        b"{not json",
        b'{"type": "EPCISDocument"}',
        b'{"type": "EPCISDocument", "epcisBody": {"eventList": 7}}',
        b"<EPCISDocument",
        b"<a><b></a>",
        b"[1, 2]",
    ],
)
def test_malformed_input_raises_and_stores_nothing(store: Store, text: bytes) -> None:
    before = row_counts(store)
    with pytest.raises(CaptureFormatError):
        store.capture(text)
    assert row_counts(store) == before


def test_xml_entity_expansion_is_refused(store: Store) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
        b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" '
        b'creationDate="2024-03-01T10:00:00Z"><EPCISBody><EventList><ObjectEvent>'
        b"<eventTime>2024-03-01T10:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>"
        b"<epcList/><action>OBSERVE</action><ex>&lol2;</ex></ObjectEvent></EventList></EPCISBody>"
        b"</epcis:EPCISDocument>"
    )
    before = row_counts(store)
    try:
        result = store.capture(bomb)
    except CaptureFormatError:
        assert row_counts(store) == before
    else:
        assert result.captured == 0 or b"lollollol" not in orjson.dumps(
            store.get_event(stored_ids(store)[0], ADMIN)
        )


# -- visibility, sharing, capture jobs --------------------------------------------------------------------


def test_visibility_rows_for_capturer_and_owning_party(store: Store) -> None:
    shipped = event(
        1,
        eventID="urn:uuid:6d3a1ec9-6f5b-4d9a-9d47-0c1a6a6a0005",
        destinationList=[{"type": "owning_party", "destination": "urn:epc:id:pgln:0614141.00000"}],
    )
    kept = event(2, eventID="urn:uuid:6d3a1ec9-6f5b-4d9a-9d47-0c1a6a6a0006")
    store.capture(document(shipped, kept), party=PARTY_A)
    with store.engine.connect() as connection:
        rows = set(
            connection.execute(sa.select(schema.event_visibility.c.party, schema.event_visibility.c.event_pk))
        )
    assert rows == {(PARTY_A, 1), (PARTY_A, 2), (PARTY_B, 1)}
    assert store.get_event("urn:uuid:6d3a1ec9-6f5b-4d9a-9d47-0c1a6a6a0005", Viewer(PARTY_B)) is not None
    assert store.get_event("urn:uuid:6d3a1ec9-6f5b-4d9a-9d47-0c1a6a6a0006", Viewer(PARTY_B)) is None
    assert store.get_event("urn:uuid:6d3a1ec9-6f5b-4d9a-9d47-0c1a6a6a0006", Viewer(PARTY_C)) is None
    # C cannot share what it cannot see; A can
    assert store.share(["urn:uuid:6d3a1ec9-6f5b-4d9a-9d47-0c1a6a6a0006"], PARTY_C, Viewer(PARTY_C)) == 0
    assert store.share(["urn:uuid:6d3a1ec9-6f5b-4d9a-9d47-0c1a6a6a0006"], PARTY_C, Viewer(PARTY_A)) == 1
    assert store.share(["urn:uuid:6d3a1ec9-6f5b-4d9a-9d47-0c1a6a6a0006"], PARTY_C, Viewer(PARTY_A)) == 0
    assert store.get_event("urn:uuid:6d3a1ec9-6f5b-4d9a-9d47-0c1a6a6a0006", Viewer(PARTY_C)) is not None


def test_distinct_values_page_and_respect_visibility(store: Store) -> None:
    store.capture(
        document(event(1), event(2, bizStep="receiving"), event(3, bizStep="packing")), party=PARTY_A
    )
    store.capture(document(event(4, bizStep="commissioning", action="ADD")), party=PARTY_C)
    values, token = store.distinct_values("bizSteps", ADMIN, per_page=3)
    assert values == ["commissioning", "packing", "receiving"] and token is not None
    rest, last = store.distinct_values("bizSteps", ADMIN, per_page=3, page_token=token)
    assert (rest, last) == (["shipping"], None)
    mine, _ = store.distinct_values("bizSteps", Viewer(PARTY_A), per_page=10)
    assert mine == ["packing", "receiving", "shipping"]
    epcs, _ = store.distinct_values("epcs", Viewer(PARTY_C))
    assert epcs == ["urn:epc:id:sgtin:4012345.011111.1004"]


def test_capture_jobs_are_recorded_with_counts(store: Store) -> None:
    result = store.capture(document(event(1), event(1), event(2)), party=PARTY_A)
    job = store.capture_job(result.capture_id, Viewer(PARTY_A))
    assert job is not None
    assert (job.running, job.success, job.event_count, job.captured, job.duplicates) == (False, True, 3, 2, 1)
    assert job.behaviour == "rollback" and job.errors == [] and job.finished_at_us is not None
    assert store.capture_job(result.capture_id, Viewer(PARTY_B)) is None
    assert [j.capture_id for j in store.list_capture_jobs(Viewer(PARTY_A))] == [result.capture_id]
    assert store.list_capture_jobs(Viewer(PARTY_B)) == []


def test_started_job_is_finished_by_capture(store: Store) -> None:
    capture_id = store.start_capture_job(party=PARTY_A, behaviour="proceed", event_count=1)
    running = store.capture_job(capture_id, Viewer(PARTY_A))
    assert running is not None and running.running and running.success is None
    result = store.capture(document(event(1)), party=PARTY_A, behaviour="proceed", capture_id=capture_id)
    assert result.capture_id == capture_id
    done = store.capture_job(capture_id, ADMIN)
    assert done is not None and not done.running and done.success and done.captured == 1
    assert done.created_at_us == running.created_at_us
    failing = store.start_capture_job(party=PARTY_A, behaviour="rollback", event_count=0)
    with pytest.raises(CaptureFormatError):
        store.capture(b"{broken", party=PARTY_A, capture_id=failing)
    failed = store.capture_job(failing, ADMIN)
    assert failed is not None and not failed.running and failed.success is False and failed.errors


def test_outbox_row_per_capture(store: Store) -> None:
    first = store.capture(document(event(1), event(2)))
    second = store.capture(document(event(3)))
    store.capture(document(event(3)))  # duplicates only: no row
    store.capture(document(invalid_event(4)))  # refused: no row
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                schema.outbox.c.capture_id,
                schema.outbox.c.first_event_pk,
                schema.outbox.c.last_event_pk,
                schema.outbox.c.done,
            ).order_by(schema.outbox.c.outbox_pk)
        ).all()
    assert rows == [(first.capture_id, 1, 2, False), (second.capture_id, 3, 3, False)]


# -- atomicity and concurrency ----------------------------------------------------------------------------


def test_crash_before_commit_leaves_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.capture(document(event(1)))
    before = row_counts(store)

    def crash(connection: sa.Connection) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(capture_module, "before_commit", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        store.capture(document(event(2), event(3)))
    monkeypatch.setattr(capture_module, "before_commit", None)
    assert row_counts(store) == before
    assert store.capture(document(event(2))).first_event_pk == 2  # the counter did not move


def test_crash_inside_a_bulk_insert_of_a_big_capture_leaves_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A document big enough for the writer thread; the third chunk's index rows fail."""
    before = row_counts(store)
    original = BulkWriter.insert
    calls = {"epcs": 0}

    def failing(self: BulkWriter, table: sa.Table, columns: tuple[str, ...], rows: Any) -> None:
        if table.name == "event_epcs":
            calls["epcs"] += 1
            if calls["epcs"] == 3:
                raise OSError("disk full")
        original(self, table, columns, rows)

    monkeypatch.setattr(BulkWriter, "insert", failing)
    n = capture_module.THREAD_MIN_EVENTS + 10
    with pytest.raises(OSError, match="disk full"):
        store.capture(document(*(event(i) for i in range(n))))
    assert row_counts(store) == before


def test_big_capture_through_the_writer_thread(store: Store) -> None:
    n = capture_module.THREAD_MIN_EVENTS + 5
    events = [event(i) for i in range(n)]
    first = store.capture(document(*events[:100]))
    result = store.capture(document(*events, events[7]))
    assert (result.event_count, result.captured, result.duplicates) == (n + 1, n - 100, 101)
    assert (result.first_event_pk, result.last_event_pk) == (101, n)
    assert first.captured == 100 and count(store, "events") == n == count(store, "event_keys")
    refused = store.capture(document(*(event(i + n) for i in range(n)), invalid_event(2 * n)))
    assert refused.captured == 0 and count(store, "events") == n


def test_a_parsed_document_lets_go_of_its_events_before_the_commit(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Capture parses a document into its own event list and, once every chunk is written, lets go of
    it before the projection's flush and the commit (the memory goes to what they allocate next); a
    caller's :class:`EPCISDocument` is the caller's and keeps its events."""
    from packtrail.epcis.jsonld import read_jsonld

    reads: list[Any] = []
    at_commit: list[int] = []
    read_input, commit = capture_module.read_input, capture_module._Transaction.commit

    def reading(*args: Any, **kwargs: Any) -> Any:
        reads.append(read_input(*args, **kwargs))
        return reads[-1]

    def committing(self: Any, **kwargs: Any) -> None:
        at_commit.append(len(self.read.doc.events))
        commit(self, **kwargs)

    monkeypatch.setattr(capture_module, "read_input", reading)
    monkeypatch.setattr(capture_module._Transaction, "commit", committing)
    n = capture_module.THREAD_MIN_EVENTS + 5
    parsed = store.capture(document(*(event(i) for i in range(n))))
    assert (parsed.event_count, parsed.captured) == (n, n) and count(store, "events") == n
    assert reads[0].owned and at_commit == [0] and reads[0].doc.events == []

    given = read_jsonld(document(*(event(n + i) for i in range(n))))
    listed = list(given.events)
    result = store.capture(given)
    assert (result.event_count, result.captured) == (n, n) and count(store, "events") == 2 * n
    assert not reads[1].owned and at_commit[1] == n
    assert len(given.events) == n and all(a is b for a, b in zip(given.events, listed, strict=True))


def test_duplicates_found_by_the_key_inserts_or_by_look_up(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk's keys are claimed by their inserts; a chunk holding a duplicate, and (PostgreSQL) every
    chunk past ``MAX_CLAIMS`` savepoints, is checked by look-up: the same answer either way."""
    from packtrail.store import bulk

    monkeypatch.setattr(bulk, "MAX_CLAIMS", 2)
    n = 4 * capture_module.CHUNK_EVENTS
    events = [event(i) for i in range(n)]
    repeated = [events[10], events[capture_module.CHUNK_EVENTS + 20], events[n - 1]]
    assert store.capture(document(*repeated)).captured == 3
    result = store.capture(document(*events))
    assert (result.event_count, result.captured, result.duplicates) == (n, n - 3, 3)
    assert (result.first_event_pk, result.last_event_pk) == (4, n)  # no gap where the duplicates were
    assert count(store, "events") == n == count(store, "event_keys")
    again = store.capture(document(*events[:100], event(n + 1)))
    assert (again.captured, again.duplicates) == (1, 100)


def test_concurrent_captures_get_contiguous_event_pks(store: Store) -> None:
    batches = [[event(i) for i in range(start, start + 300)] for start in (0, 1000)]
    results: list[Any] = [None, None]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = store.capture(document(*batches[i]))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    ranges = sorted((r.first_event_pk, r.last_event_pk, r.capture_id) for r in results)
    assert [(lo, hi) for lo, hi, _ in ranges] == [(1, 300), (301, 600)]
    with store.engine.connect() as connection:
        owners = connection.execute(
            sa.select(schema.events.c.event_pk, schema.events.c.capture_id).order_by(schema.events.c.event_pk)
        ).all()
    for lo, hi, capture_id in ranges:
        assert {c for pk, c in owners if lo <= pk <= hi} == {capture_id}


# -- master data ------------------------------------------------------------------------------------------

LOCATION = "urn:epcglobal:epcis:vtype:BusinessLocation"


def master_header(name: str, children: dict[str, list[str]]) -> dict[str, Any]:
    elements = [
        {
            "id": uri,
            "attributes": [{"id": "urn:epcglobal:cbv:mda#name", "attribute": f"{name} {uri[-5:]}"}],
            "children": kids,
        }
        for uri, kids in children.items()
    ]
    return {"epcisMasterData": {"vocabularyList": [{"type": LOCATION, "vocabularyElementList": elements}]}}


def test_master_data_upserted_and_descendants(store: Store) -> None:
    site, dock, door, other = (f"urn:epc:id:sgln:4012345.00001.{n}" for n in (0, 1, 2, 3))
    header = master_header("v1", {site: [dock], dock: [door]})
    store.capture(document(event(1), header=header))
    assert store.descendants(LOCATION, site) == {site, dock, door}
    assert store.descendants(LOCATION, door) == {door}
    assert store.descendants(LOCATION, "urn:epc:id:sgln:4012345.09999.0") == {
        "urn:epc:id:sgln:4012345.09999.0"
    }
    element = store.vocabulary(LOCATION, site)
    assert element is not None and element["attributes"][0]["attribute"] == "v1 001.0"
    store.capture(document(header=master_header("v2", {site: [other], dock: [door]})))
    updated = store.vocabulary(LOCATION, site)
    assert updated is not None and updated["attributes"][0]["attribute"] == "v2 001.0"
    assert store.descendants(LOCATION, site) == {site, other}
    assert store.vocabulary(LOCATION, "urn:epc:id:sgln:0000000.00000.0") is None


def test_master_data_from_a_gs1_example(store: Store, xml_examples: Path) -> None:
    store.capture(xml_examples / "gs1" / "xml" / "Mimasu" / "Example-masterData.xml")
    below = store.descendants(LOCATION, "urn:epc:id:sgln:0037000.00729.0")
    assert {"urn:epc:id:sgln:0037000.00729.8201", "urn:epc:id:sgln:0037000.00729.8203"} <= below


def test_namespaces_of_captures(store: Store) -> None:
    store.capture((JSONLD / "Example_9.6.2-ObjectEvent.jsonld").read_bytes())
    assert store.namespaces().get("example") == "http://ns.example.com/epcis/"


# -- named queries ----------------------------------------------------------------------------------------


def test_named_query_crud(store: Store) -> None:
    store.create_named_query("shipped", [("EQ_bizStep", "shipping")], Viewer(PARTY_A))
    store.create_named_query("everything", {"eventType": ["ObjectEvent"]}, ADMIN)
    with pytest.raises(DuplicateNameError):
        store.create_named_query("shipped", [("EQ_bizStep", "receiving")], Viewer(PARTY_B))
    found = store.named_query("shipped", Viewer(PARTY_A))
    assert found is not None and found.params == [("EQ_bizStep", "shipping")] and found.owner == PARTY_A
    assert store.named_query("shipped", Viewer(PARTY_B)) is None
    assert [q.name for q in store.list_named_queries(Viewer(PARTY_B))] == ["everything"]
    assert [q.name for q in store.list_named_queries(ADMIN)] == ["everything", "shipped"]
    assert not store.delete_named_query("shipped", Viewer(PARTY_B))
    assert not store.delete_named_query("everything", Viewer(PARTY_A))
    assert store.delete_named_query("shipped", Viewer(PARTY_A))
    assert store.named_query("shipped", ADMIN) is None


# -- parties and API keys ---------------------------------------------------------------------------------


def test_parties_and_api_keys(store: Store) -> None:
    key = store.add_party(PARTY_A, "Pharma Maker")
    party = store.party_for_api_key(key)
    assert party is not None and (party.gln, party.name) == (PARTY_A, "Pharma Maker")
    with store.engine.connect() as connection:
        stored = connection.execute(sa.select(schema.api_keys.c.key_hash)).scalars().all()
    assert key not in stored and len(stored) == 1 and len(stored[0]) == 64
    second = store.new_api_key(PARTY_A, "ci")
    assert store.revoke_api_key(key)
    assert not store.revoke_api_key(key)
    assert store.party_for_api_key(key) is None
    assert store.party_for_api_key(second) is not None
    assert store.party_for_api_key("not-a-key") is None
    with pytest.raises(StoreError, match="GLN"):
        store.add_party("4012345000008", "bad check digit")
    with pytest.raises(StoreError, match="not registered"):
        store.new_api_key(PARTY_C)
    assert [p.gln for p in store.list_parties()] == [PARTY_A]


def test_every_gs1_jsonld_example_fills_the_index_tables(store: Store) -> None:
    """GS1's JSON-LD examples, captured with ``proceed``: every index table gets rows, and every valid
    event is stored and comes back."""
    stored = 0
    for path in sorted(JSONLD.rglob("*.jsonld")):
        result = store.capture(path.read_bytes(), behaviour="proceed")
        assert result.captured + result.duplicates <= result.event_count, path.name
        stored += result.captured
    persistent = event(
        1, persistentDisposition={"set": ["completeness_verified"], "unset": ["completeness_inferred"]}
    )
    stored += store.capture(document(persistent)).captured  # GS1's own example has a wrong GLN check digit
    assert stored == count(store, "events") >= 35
    for table in schema.INDEX_TABLES:
        assert count(store, table.name) > 0, table.name
    for event_id in stored_ids(store):
        assert store.get_event(event_id, ADMIN) is not None
