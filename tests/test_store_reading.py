"""Reads through the store's own connections: on PostgreSQL they run in autocommit, so psycopg keeps
the statements it prepared (it drops them all at every ``ROLLBACK``) and PostgreSQL plans a repeated
query once. Both backends answer the same whatever the connection mode (``store_url``).
"""

from __future__ import annotations

import orjson

from packtrail.store import Viewer, open_store
from packtrail.store.query_params import parse_query_params

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]


def _document(start: int) -> bytes:
    events = [
        {
            "type": "ObjectEvent",
            "eventTime": f"2024-0{1 + n % 6}-10T10:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE",
            "bizStep": "shipping",
            "epcList": [f"urn:epc:id:sgtin:4012345.011111.{start + n}", "urn:epc:id:sgtin:4012345.011111.X"],
        }
        for n in range(12)
    ]
    document = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0"}
    return orjson.dumps(
        {**document, "creationDate": "2024-07-01T00:00:00Z", "epcisBody": {"eventList": events}}
    )


def test_repeated_reads_see_each_capture_and_are_planned_once(store_url: str) -> None:
    query = parse_query_params([("MATCH_anyEPC", "urn:epc:id:sgtin:4012345.011111.X")], namespaces={})
    with open_store(store_url) as store:
        assert store.capture(_document(0)).captured == 12
        for _ in range(12):  # prepared after five runs on a connection
            assert len(store.query_events(query, Viewer.admin(), per_page=100).events) == 12
        assert store.capture(_document(100)).captured == 12  # a capture between reads is seen at once
        page = store.query_events(query, Viewer.admin(), per_page=100)
        assert len(page.events) == 24
        assert {e["eventTime"][:7] for e in page.events} == {f"2024-0{m}" for m in range(1, 7)}
        if store.dialect != "postgresql":
            return
        with store._reading() as connection:
            plans = connection.exec_driver_sql(
                "SELECT generic_plans + custom_plans FROM pg_prepared_statements"
                " WHERE statement LIKE '%%FROM event_epcs%%'"
            ).all()
    assert plans and plans[0][0] >= 5, plans  # one prepared statement, run again and again
