"""Helpers for the lifecycle tests (``test_lifecycle_*.py``): events of a small supply chain, documents,
and snapshots of the projection to compare. No tests here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from conftest import fresh_schema
from packtrail.lifecycle import tables
from packtrail.store import Store

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
PACKTRAIL_NS = "https://ns.packtrail.dev/epcis/"
MAKER = "4012345000009"
"""GLN of the manufacturer (party A of the API tests)."""
WHOLESALER = "4012345000016"
"""GLN of the wholesaler (party B)."""
PHARMACY = "0614141000005"
"""GLN of the pharmacy (party C)."""
PGLN = {
    MAKER: "urn:epc:id:pgln:4012345.00000",
    WHOLESALER: "urn:epc:id:pgln:4012345.00001",
    PHARMACY: "urn:epc:id:pgln:0614141.00000",
}
SITE = {
    MAKER: "urn:epc:id:sgln:4012345.00000.0",
    WHOLESALER: "urn:epc:id:sgln:4012345.00001.0",
    PHARMACY: "urn:epc:id:sgln:0614141.00000.0",
}
GTIN = "04012345111118"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def pack(serial: str | int, item: str = "011111") -> str:
    """An SGTIN of GTIN 04012345111118 (item reference 011111)."""
    return f"urn:epc:id:sgtin:4012345.{item}.{serial}"


def sscc(reference: int) -> str:
    """An SSCC of company prefix 4012345 (extension digit 0)."""
    return f"urn:epc:id:sscc:4012345.0{reference:09d}"


def at(minutes: float) -> str:
    """``T0`` + minutes as an eventTime."""
    moment = T0 + timedelta(minutes=minutes)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event(kind: str, minutes: float, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"type": kind, "eventTime": at(minutes), "eventTimeZoneOffset": "+00:00"}
    event.update({k: v for k, v in fields.items() if v is not None})
    return event


def commission(
    epcs: list[str], minutes: float, *, lot: str = "B42", expiry: str = "2028-02-29", site: str = MAKER
) -> dict[str, Any]:
    return _event(
        "ObjectEvent",
        minutes,
        epcList=epcs,
        action="ADD",
        bizStep="commissioning",
        disposition="active",
        bizLocation={"id": SITE[site]},
        ilmd={"cbvmda:lotNumber": lot, "cbvmda:itemExpirationDate": expiry},
    )


def aggregate(
    parent: str, children: list[str], minutes: float, *, action: str = "ADD", step: str | None = None
) -> dict[str, Any]:
    return _event(
        "AggregationEvent",
        minutes,
        parentID=parent,
        childEPCs=children,
        action=action,
        bizStep=step or ("packing" if action == "ADD" else "unpacking"),
        disposition="in_progress",
    )


def observe(
    epcs: list[str],
    minutes: float,
    step: str,
    *,
    disposition: str | None = None,
    seller: str | None = None,
    buyer: str | None = None,
    site: str | None = None,
    action: str = "OBSERVE",
    **extra: Any,
) -> dict[str, Any]:
    event = _event(
        "ObjectEvent",
        minutes,
        epcList=epcs,
        action=action,
        bizStep=step,
        disposition=disposition,
        bizLocation={"id": SITE[site]} if site else None,
        sourceList=[{"type": "owning_party", "source": PGLN[seller]}] if seller else None,
        destinationList=[{"type": "owning_party", "destination": PGLN[buyer]}] if buyer else None,
        **extra,
    )
    return event


def ship(epcs: list[str], minutes: float, seller: str, buyer: str, po: str | None = None) -> dict[str, Any]:
    extra = (
        {"bizTransactionList": [{"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:{seller}:{po}"}]}
        if po
        else {}
    )
    return observe(epcs, minutes, "shipping", disposition="in_transit", seller=seller, buyer=buyer, **extra)


def receive(epcs: list[str], minutes: float, site: str) -> dict[str, Any]:
    return observe(epcs, minutes, "receiving", disposition="in_progress", site=site)


def document(events: list[dict[str, Any]]) -> bytes:
    """An EPCISDocument in JSON-LD holding ``events``."""
    return json.dumps(
        {
            "@context": [CONTEXT, {"packtrail": PACKTRAIL_NS}],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-03-02T08:00:00.000Z",
            "epcisBody": {"eventList": events},
        }
    ).encode()


def capture(store: Store, events: list[dict[str, Any]], party: str | None = None) -> None:
    """Capture ``events`` in one document; asserts every event was stored."""
    result = store.capture(document(events), party=party)
    assert result.success and result.captured == len(events), result.errors


def snapshot(store: Store) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every projection row, sorted: (items, exceptions)."""
    with store.engine.connect() as connection:
        items = sorted(tuple(row) for row in connection.execute(sa.select(tables.lifecycle_items)))
        exceptions = sorted(tuple(row) for row in connection.execute(sa.select(tables.lifecycle_exceptions)))
    return items, exceptions


def exceptions_of(store: Store) -> list[tuple[str, str, str | None]]:
    """``(epc, reason, eventID of the conflicting event)`` of every exception, sorted."""
    sql = sa.text(
        "SELECT x.epc, x.reason, c.event_id FROM lifecycle_exceptions x"
        " LEFT JOIN events c ON c.event_pk = x.conflicting_pk ORDER BY x.epc, x.reason, x.event_pk"
    )
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sql)]  # type: ignore[misc]


def shared_store(request: Any, tmp_path_factory: Any) -> Any:
    """Body of a module-scoped store fixture parametrized like ``store_url`` (sqlite, postgres): one
    store per module and backend, with the lifecycle projector attached. Tests keep apart by using
    identifiers of their own."""

    from packtrail.lifecycle import attach
    from packtrail.store import open_store

    if request.param == "sqlite":
        store = open_store(f"sqlite:///{tmp_path_factory.mktemp('lifecycle') / 'packtrail.db'}")
        attach(store)
        yield store
        store.close()
        return
    with fresh_schema(request.getfixturevalue("postgres_url")) as url:
        store = open_store(url)
        attach(store)
        try:
            yield store
        finally:
            store.close()


def replayed(store: Store, epcs: set[str]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The projection of ``epcs`` (a closed set: nothing outside it was ever aggregated with them) as a
    replay of their events from the log in eventTime order: (items, exceptions), sorted."""
    from packtrail.lifecycle.db import Db
    from packtrail.lifecycle.replay import Replayer

    with store.engine.connect() as connection:
        db = Db(connection)
        replay = Replayer(track=epcs)
        for facts, _ in db.events(db.event_pks(epcs)):
            replay.apply(facts)
        connection.rollback()
    return sorted(item.row() for item in replay.items.values()), sorted(set(replay.exceptions))


def projected(store: Store, epcs: set[str]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The stored projection rows of ``epcs``: (items, exceptions), sorted."""
    items, exceptions = snapshot(store)
    return [row for row in items if row[0] in epcs], [row for row in exceptions if row[0] in epcs]
