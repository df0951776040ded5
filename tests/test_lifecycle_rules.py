"""One test per lifecycle rule (state, inference through containers, each exception, late events,
catch-up, atomicity), on SQLite and PostgreSQL. Each test uses identifiers of its own in a store shared
by the module."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import STORE_BACKENDS
from packtrail.lifecycle import attach, catch_up, rebuild
from packtrail.lifecycle.db import Db
from packtrail.lifecycle.replay import Item
from packtrail.store import Store, Viewer, open_store
from test_lifecycle_support import (
    MAKER,
    PHARMACY,
    SITE,
    WHOLESALER,
    aggregate,
    capture,
    commission,
    document,
    observe,
    pack,
    projected,
    receive,
    replayed,
    shared_store,
    ship,
    snapshot,
    sscc,
)

_TAGS = itertools.count(1)


@pytest.fixture(scope="module", params=STORE_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    yield from shared_store(request, tmp_path_factory)


class Chain:
    """Identifiers of one test: packs, cases, a pallet."""

    def __init__(self) -> None:
        n = next(_TAGS)
        self.packs = [pack(f"R{n}P{i}") for i in range(6)]
        self.cases = [sscc(500_000 + n * 10 + i) for i in range(2)]
        self.pallet = sscc(500_000 + n * 10 + 9)

    @property
    def all(self) -> set[str]:
        return {*self.packs, *self.cases, self.pallet}

    def packed(self, store: Store) -> None:
        """Commission the six packs, three per case, both cases on the pallet (maker's site)."""
        capture(
            store,
            [
                commission(self.packs, 0),
                aggregate(self.cases[0], self.packs[:3], 1),
                aggregate(self.cases[1], self.packs[3:], 2),
                aggregate(self.pallet, self.cases, 3),
            ],
            party=MAKER,
        )


def item(store: Store, epc: str) -> Item:
    with store.engine.connect() as connection:
        found = Db(connection).item(epc)
    assert found is not None, epc
    return found


def exceptions(store: Store, epcs: set[str]) -> set[tuple[str, str, str, str | None]]:
    """``(epc, reason, eventID, conflicting eventID)`` of the exceptions of ``epcs``."""
    sql = sa.text(
        "SELECT x.epc, x.reason, e.event_id, c.event_id FROM lifecycle_exceptions x"
        " JOIN events e ON e.event_pk = x.event_pk LEFT JOIN events c ON c.event_pk = x.conflicting_pk"
    )
    with store.engine.connect() as connection:
        return {tuple(row) for row in connection.execute(sql) if row[0] in epcs}  # type: ignore[misc]


def ided(event: dict[str, Any], name: str) -> dict[str, Any]:
    """``event`` with an eventID of its own (to name it in the expected exceptions)."""
    event["eventID"] = f"urn:uuid:{uuid.uuid4()}"
    return event


def test_commissioning_sets_state_lot_expiry_owner_and_location(store: Store) -> None:
    chain = Chain()
    capture(store, [commission(chain.packs[:1], 0, lot="L7", expiry="2027-01-31")], party=MAKER)
    first = item(store, chain.packs[0])
    assert (first.state, first.lot, first.expiry, first.gtin) == (
        "commissioned",
        "L7",
        "2027-01-31",
        "04012345111118",
    )
    assert (first.owner, first.custodian, first.location) == (MAKER, MAKER, SITE[MAKER])
    assert first.commissioned_pk is not None and first.parent is None


def test_shipping_a_pallet_ships_every_pack_inside(store: Store) -> None:
    chain = Chain()
    chain.packed(store)
    assert item(store, chain.packs[4]).state == "packed"
    assert item(store, chain.packs[4]).parent == chain.cases[1]
    capture(store, [ship([chain.pallet], 10, MAKER, WHOLESALER)], party=MAKER)
    for epc in chain.all:
        moved = item(store, epc)
        assert (moved.state, moved.owner, moved.location) == ("in_transit", WHOLESALER, None), epc
    capture(store, [receive([chain.pallet], 20, WHOLESALER)], party=WHOLESALER)
    for epc in chain.all:
        there = item(store, epc)
        assert (there.state, there.custodian, there.location) == ("received", WHOLESALER, SITE[WHOLESALER])
    assert not exceptions(store, chain.all)


def test_unpacking_ends_containment(store: Store) -> None:
    chain = Chain()
    chain.packed(store)
    capture(store, [aggregate(chain.cases[0], chain.packs[:1], 5, action="DELETE")])
    out = item(store, chain.packs[0])
    assert (out.parent, out.state) == (None, "commissioned")
    capture(store, [aggregate(chain.pallet, [], 6, action="DELETE")])  # no childEPCs: everything out
    assert item(store, chain.cases[0]).parent is None and item(store, chain.cases[1]).parent is None
    assert item(store, chain.packs[1]).parent == chain.cases[0]  # the cases still hold their packs
    capture(store, [ship([chain.cases[0]], 10, MAKER, WHOLESALER)])
    assert item(store, chain.packs[1]).state == "in_transit"
    assert item(store, chain.packs[0]).state == "commissioned"  # left the case before it was shipped
    assert item(store, chain.packs[4]).state == "packed"  # in the other case, on the pallet no longer


@pytest.mark.parametrize(
    ("step", "disposition", "action", "extra", "state", "reason"),
    [
        ("dispensing", "dispensed", "OBSERVE", {}, "dispensed", None),
        (
            "destroying",
            "destroyed",
            "DELETE",
            {"packtrail:destructionReason": "expired"},
            "destroyed",
            "expired",
        ),
        ("decommissioning", "stolen", "OBSERVE", {}, "decommissioned", "stolen"),
        ("decommissioning", "inactive", "OBSERVE", {}, "decommissioned", "decommissioning"),
        ("sampling", "non_sellable_other", "OBSERVE", {}, "decommissioned", "sample"),
        ("holding", "no_pedigree_match", "OBSERVE", {}, "suspect", None),
        ("storing", "recalled", "OBSERVE", {}, "recalled", None),
        ("inspecting", None, "OBSERVE", {}, "commissioned", None),
    ],
)
def test_states(
    store: Store,
    step: str,
    disposition: str | None,
    action: str,
    extra: dict[str, Any],
    state: str,
    reason: str | None,
) -> None:
    chain = Chain()
    capture(store, [commission(chain.packs[:1], 0)])
    capture(store, [observe(chain.packs[:1], 5, step, disposition=disposition, action=action, **extra)])
    found = item(store, chain.packs[0])
    assert (found.state, found.reason) == (state, reason)
    assert found.disposition == (disposition or "active")


def test_shipping_a_decommissioned_pack_is_stored_and_flagged(store: Store) -> None:
    chain = Chain()
    chain.packed(store)
    destroy = ided(observe(chain.packs[:1], 5, "destroying", disposition="destroyed", action="DELETE"), "d1")
    capture(store, [destroy])
    shipment = ided(ship([chain.pallet], 10, MAKER, WHOLESALER), "s1")
    capture(store, [shipment, ided(ship(chain.packs[5:], 11, MAKER, WHOLESALER), "s2")])
    assert exceptions(store, chain.all) == {
        (chain.packs[0], "shipped_decommissioned", shipment["eventID"], destroy["eventID"])
    }
    destroyed = item(store, chain.packs[0])
    assert (destroyed.state, destroyed.owner) == ("destroyed", MAKER)  # left in its case: it did not travel
    capture(store, [ided(ship(chain.packs[:1], 12, WHOLESALER, PHARMACY), "s3")])  # named itself: applies
    assert item(store, chain.packs[0]).state == "in_transit"
    assert len(exceptions(store, chain.all)) == 2
    assert store.get_event(
        shipment["eventID"], __import__("packtrail.store", fromlist=["Viewer"]).Viewer.admin()
    )


def test_aggregating_a_pack_already_in_another_case_is_flagged(store: Store) -> None:
    chain = Chain()
    first = ided(aggregate(chain.cases[0], chain.packs[:2], 1), "a1")
    second = ided(aggregate(chain.cases[1], chain.packs[1:3], 2), "a2")
    capture(store, [commission(chain.packs, 0), first, second])
    assert exceptions(store, chain.all) == {
        (chain.packs[1], "already_aggregated", second["eventID"], first["eventID"])
    }
    assert item(store, chain.packs[1]).parent == chain.cases[1]  # the later event wins


def test_receiving_what_was_never_shipped_is_flagged(store: Store) -> None:
    chain = Chain()
    made = ided(commission(chain.packs[:2], 0), "c1")
    got = ided(receive(chain.packs[:1], 5, WHOLESALER), "r1")
    capture(
        store,
        [made, got, ship(chain.packs[1:2], 6, MAKER, WHOLESALER), receive(chain.packs[1:2], 7, WHOLESALER)],
    )
    assert exceptions(store, chain.all) == {
        (chain.packs[0], "received_not_shipped", got["eventID"], made["eventID"])
    }


def test_events_before_commissioning_are_flagged_until_a_late_commissioning_arrives(store: Store) -> None:
    chain = Chain()
    shipped = ided(ship(chain.packs[:1], 10, MAKER, WHOLESALER), "n1")
    capture(store, [shipped])
    assert exceptions(store, chain.all) == {(chain.packs[0], "never_commissioned", shipped["eventID"], None)}
    capture(store, [commission(chain.packs[:1], 0)])  # captured late, happened first
    assert exceptions(store, chain.all) == set()
    found = item(store, chain.packs[0])
    assert (found.state, found.owner, found.lot) == ("in_transit", WHOLESALER, "B42")


def test_commissioning_twice_is_flagged(store: Store) -> None:
    chain = Chain()
    first = ided(commission(chain.packs[:1], 0), "t1")
    again = ided(commission(chain.packs[:1], 1, lot="OTHER"), "t2")
    capture(store, [first, again])
    assert exceptions(store, chain.all) == {
        (chain.packs[0], "commissioned_again", again["eventID"], first["eventID"])
    }


def test_a_late_event_on_a_container_reaches_what_it_held_then(store: Store) -> None:
    chain = Chain()
    chain.packed(store)
    capture(store, [aggregate(chain.cases[0], chain.packs[:1], 20, action="DELETE")])
    capture(store, [ship([chain.pallet], 10, MAKER, WHOLESALER)])  # late: the pack was still inside then
    assert item(store, chain.packs[0]).owner == WHOLESALER
    assert item(store, chain.packs[0]).parent is None
    capture(
        store, [aggregate(chain.pallet, chain.cases[1:], 5, action="DELETE")]
    )  # later still, earlier in time
    assert item(store, chain.packs[4]).state == "packed"  # its case left the pallet before the shipment
    assert projected(store, chain.all) == replayed(store, chain.all)


def test_transformation_consumes_inputs_and_commissions_outputs(store: Store) -> None:
    chain = Chain()
    capture(store, [commission(chain.packs[:2], 0)])
    event = {
        "type": "TransformationEvent",
        "eventTime": "2026-03-02T09:00:00.000Z",
        "eventTimeZoneOffset": "+00:00",
        "inputEPCList": chain.packs[:2],
        "outputEPCList": chain.packs[2:3],
        "bizStep": "repackaging",
        "ilmd": {"cbvmda:lotNumber": "KIT1"},
    }
    capture(store, [event])
    assert item(store, chain.packs[0]).state == "decommissioned"
    assert item(store, chain.packs[0]).reason == "transformed"
    made = item(store, chain.packs[2])
    assert (made.state, made.lot) == ("commissioned", "KIT1")


def test_a_store_captured_without_the_projector_is_caught_up(store: Store) -> None:
    chain = Chain()
    plain = open_store(str(store.engine.url.render_as_string(hide_password=False)))
    try:
        assert not plain.projectors
        plain.capture(document([commission(chain.packs[:2], 0), ship(chain.packs[:1], 5, MAKER, WHOLESALER)]))
        assert catch_up(store) >= 1
        assert item(store, chain.packs[0]).state == "in_transit"
        plain.capture(document([receive(chain.packs[:1], 6, WHOLESALER)]))
        capture(store, [ship(chain.packs[1:2], 7, MAKER, PHARMACY)])  # the next projected capture catches up
        assert item(store, chain.packs[0]).state == "received"
        assert catch_up(store) == 0
    finally:
        plain.close()


def test_a_failing_projector_rolls_the_capture_back(store: Store) -> None:
    chain = Chain()

    class Broken:
        def project(self, connection: Any, events: Any) -> None:
            pass

        def flush(self, connection: Any) -> None:
            raise RuntimeError("projection failed")

    broken = open_store(str(store.engine.url.render_as_string(hide_password=False)))
    try:
        attach(broken)
        broken.add_projector(Broken())
        before = snapshot(store)
        with pytest.raises(RuntimeError, match="projection failed"):
            broken.capture(document([commission(chain.packs[:1], 0)]))
        assert snapshot(store) == before
        from packtrail.store.query_params import parse_query_params

        page = store.query_events(
            parse_query_params([("MATCH_epc", chain.packs[0])], namespaces={}), Viewer.admin()
        )
        assert page.events == []
    finally:
        broken.close()


def test_attach_is_idempotent_and_rebuild_keeps_the_projection(store: Store) -> None:
    assert attach(store) is attach(store)
    assert sum(1 for p in store.projectors if type(p).__name__ == "LifecycleProjector") == 1
    before = snapshot(store)
    rebuild(store)
    assert snapshot(store) == before


def test_item_fields_are_the_table_columns_in_order() -> None:
    import dataclasses

    from packtrail.lifecycle.tables import ITEM_COLUMNS

    assert tuple(f.name for f in dataclasses.fields(Item)) == ITEM_COLUMNS
    assert len(Item("x").row()) == len(ITEM_COLUMNS)
