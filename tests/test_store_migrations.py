"""The repository's migrations: an older store reaches the newest schema with what it holds indexed.

Revision 0007 adds ``event_epc_classes`` (the class keys of each event's EPCs, with its eventTime) and
fills it from the stored events: a store captured before it answers a class pattern the same as a store
captured after it. Revision 0008 gives ``event_epcs`` the events' eventTimes (PostgreSQL fetches an EPC's
events from their partitions only). Revision 0009 drops ``ix_events_event_id`` (eventIDs are looked up in
``event_keys``). Runs on both backends (``store_url``).
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa

from packtrail.store import Viewer, open_store
from packtrail.store.engine import VERSION_TABLE
from packtrail.store.query_params import parse_query_params

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]


def _document() -> bytes:
    events = [
        {
            "type": "ObjectEvent",
            "eventTime": f"2024-04-{day:02d}T10:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "action": "ADD",
            "bizStep": "commissioning",
            "epcList": [f"urn:epc:id:sgtin:4012345.0{item}.{day}-{n}" for n in range(3)],
        }
        for day in range(1, 21)
        for item in ("11111", "22222")
    ]
    events.append(
        {
            "type": "AggregationEvent",
            "eventTime": "2024-04-21T10:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "action": "ADD",
            "bizStep": "packing",
            "parentID": "urn:epc:id:sscc:4012345.0000000001",
            "childEPCs": ["urn:epc:id:sgtin:4012345.011111.1-0", "https://example.com/pack/7"],
        }
    )
    document = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0"}
    return orjson.dumps(
        {**document, "creationDate": "2024-06-01T00:00:00Z", "epcisBody": {"eventList": events}}
    )


ROWS = sa.text("SELECT event_pk, role, epc_class, event_time_us, biz_step FROM event_epc_classes")
CLASS_WEEK = [
    ("MATCH_epc", "urn:epc:idpat:sgtin:4012345.022222.*"),
    ("GE_eventTime", "2024-04-08T00:00:00Z"),
    ("LT_eventTime", "2024-04-15T00:00:00Z"),
]


def _as_of_0008(connection: sa.Connection) -> None:
    """Take revision 0009 back out of a store: ``events`` indexed by eventID again."""
    connection.exec_driver_sql("CREATE INDEX ix_events_event_id ON events (event_id)")
    connection.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '0008'")


def _as_of_0007(connection: sa.Connection) -> None:
    """Take revisions 0009 and 0008 back out of a store: ``event_epcs`` without eventTimes."""
    _as_of_0008(connection)
    connection.exec_driver_sql("DROP INDEX IF EXISTS ix_event_epcs_value")
    connection.exec_driver_sql("ALTER TABLE event_epcs DROP COLUMN event_time_us")
    connection.exec_driver_sql("CREATE INDEX ix_event_epcs_value ON event_epcs (epc, event_pk)")
    connection.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '0007'")


EPC_TIMES = sa.text("SELECT event_pk, role, epc, event_time_us FROM event_epcs")


def test_an_older_store_gets_its_epc_classes(store_url: str) -> None:
    with open_store(store_url) as store:
        assert store.capture(_document()).captured == 41
        with store.engine.begin() as connection:
            captured = {tuple(row) for row in connection.execute(ROWS)}
            # the store as revision 0006 left it
            _as_of_0007(connection)
            connection.exec_driver_sql("DROP TABLE event_epc_classes")
            connection.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '0006'")
    assert len(captured) == 40 + 2  # one class per commissioning; the case's SSCC class and its pack's
    with open_store(store_url) as reopened:
        with reopened.engine.connect() as connection:
            assert {tuple(row) for row in connection.execute(ROWS)} == captured
        page = reopened.query_events(parse_query_params(CLASS_WEEK, namespaces={}), Viewer.admin())
        assert sorted(e["eventTime"] for e in page.events) == [
            f"2024-04-{d:02d}T10:00:00Z" for d in range(8, 15)
        ]


def test_an_older_store_gets_the_eventtimes_of_its_epcs(store_url: str) -> None:
    with open_store(store_url) as store:
        assert store.capture(_document()).captured == 41
        with store.engine.begin() as connection:
            captured = {tuple(row) for row in connection.execute(EPC_TIMES)}
            times = dict(connection.execute(sa.text("SELECT event_pk, event_time_us FROM events")).all())
            _as_of_0007(connection)
    assert len(captured) == 40 * 3 + 3
    assert all(time == times[pk] for pk, _, _, time in captured)  # capture writes the eventTime
    with open_store(store_url) as reopened:
        with reopened.engine.connect() as connection:
            assert {tuple(row) for row in connection.execute(EPC_TIMES)} == captured
        page = reopened.query_events(
            parse_query_params([("MATCH_anyEPC", "urn:epc:id:sgtin:4012345.011111.1-0")], namespaces={}),
            Viewer.admin(),
        )
        assert [e["eventTime"] for e in page.events] == ["2024-04-01T10:00:00Z", "2024-04-21T10:00:00Z"]


def _indexes(connection: sa.Connection) -> set[str]:
    return {index["name"] for index in sa.inspect(connection).get_indexes("events") if index["name"]}


def test_an_older_store_finds_eventids_without_their_index(store_url: str) -> None:
    named = "urn:uuid:0b6f7c3e-2a41-4f43-9d55-6d1c2b0a0009"
    document = orjson.loads(_document())
    original = dict(document["epcisBody"]["eventList"][0], eventID=named)
    declared = dict(
        original, errorDeclaration={"declarationTime": "2024-06-02T00:00:00Z", "reason": "incorrect_data"}
    )
    with open_store(store_url) as store:
        for event in (original, declared):
            body = dict(document, epcisBody={"eventList": [event]})
            assert store.capture(orjson.dumps(body)).captured == 1
        with store.engine.begin() as connection:
            assert "ix_events_event_id" not in _indexes(connection)
            _as_of_0008(connection)
            assert "ix_events_event_id" in _indexes(connection)
    with open_store(store_url) as reopened:
        with reopened.engine.connect() as connection:
            assert "ix_events_event_id" not in _indexes(connection)
        latest = reopened.get_event(named, Viewer.admin())
        assert latest is not None and "errorDeclaration" in latest  # the newest of the two
        page = reopened.query_events(
            parse_query_params([("EQ_eventID", named)], namespaces={}), Viewer.admin()
        )
        assert len(page.events) == 2 and {e["eventID"] for e in page.events} == {named}
        assert reopened.get_event("urn:uuid:00000000-0000-4000-8000-000000000000", Viewer.admin()) is None
