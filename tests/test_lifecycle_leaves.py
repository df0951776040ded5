"""Packs left in the database: an event that reaches stored packs only through their container (shipping
a pallet) is applied to their rows in SQL (:mod:`packtrail.lifecycle.leaves`), caught up when a pack is
read later in the same capture, or read first when every pack is needed (unpacking everything). Each
scenario below drives one of those paths on purpose (the random state machine of
``test_lifecycle_stateful`` reaches them only now and then) and checks the stored projection against a
replay of the log in eventTime order, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conftest import STORE_BACKENDS
from packtrail.lifecycle import projector, replay
from packtrail.lifecycle.db import Db
from packtrail.store import Store
from test_lifecycle_support import (
    MAKER,
    PHARMACY,
    WHOLESALER,
    aggregate,
    at,
    capture,
    commission,
    exceptions_of,
    observe,
    pack,
    projected,
    receive,
    replayed,
    shared_store,
    ship,
    sscc,
)

_FAMILIES = itertools.count(1)


@pytest.fixture(scope="module", params=STORE_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    yield from shared_store(request, tmp_path_factory)


class Family:
    """Four packs in a case on a pallet, captured (by the maker) in a document of their own; then the
    scenario's captures."""

    def __init__(self, store: Store) -> None:
        n = next(_FAMILIES) + 700
        self.store = store
        self.packs = [pack(f"LV{n}P{i}") for i in range(4)]
        self.case, self.pallet = sscc(n * 10), sscc(n * 10 + 1)
        self.other = pack(f"LV{n}X")
        capture(
            store,
            [
                commission(self.packs, 0),
                aggregate(self.case, self.packs, 1),
                aggregate(self.pallet, [self.case], 2),
            ],
            MAKER,
        )

    @property
    def identifiers(self) -> set[str]:
        return {*self.packs, self.case, self.pallet, self.other}

    def holds(self) -> None:
        """The stored projection of the family equals a replay of its events from the log."""
        assert projected(self.store, self.identifiers) == replayed(self.store, self.identifiers)


class _Paths(dict[str, int]):
    """Counts spied here, and those the replay keeps (:data:`replay.PATHS`) read when asked."""

    def __getitem__(self, path: str) -> int:
        return replay.PATHS[path] if path in replay.PATHS else super().__getitem__(path)


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often each path ran: ``in SQL`` (a flush applied noted events to stored packs), ``caught
    up`` (a pack read after events were noted for it), ``read first`` (a container's packs read because
    an event needed every one), ``recomputed`` (a containment component replayed from the log)."""
    counts = _Paths({"in SQL": 0, "recomputed": 0})
    for path in replay.PATHS:  # counted by the replay itself (compiled, its methods are not wrapped)
        monkeypatch.setitem(replay.PATHS, path, 0)

    def spy(owner: Any, name: str, path: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            counts[path] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)

    spy(Db, "apply_to_leaves", "in SQL")
    spy(projector, "recompute", "recomputed")
    return counts


def test_shipping_a_pallet_moves_the_packs_in_sql(store: Store, paths: dict[str, int]) -> None:
    """Ship and receive the pallet in later captures: every pack follows (state, owner, custodian,
    location) without being read; a destroyed pack left inside stays destroyed and is flagged."""
    family = Family(store)
    capture(store, [observe([family.packs[1]], 3, "destroying", disposition="destroyed", action="DELETE")])
    capture(store, [ship([family.pallet], 10, MAKER, WHOLESALER)], MAKER)
    capture(store, [receive([family.pallet], 20, WHOLESALER)], WHOLESALER)
    family.holds()
    assert paths["in SQL"] >= 2 and paths["recomputed"] == 0
    states = {row[0]: (row[5], row[9], row[10], row[11]) for row in projected(store, family.identifiers)[0]}
    site = "urn:epc:id:sgln:4012345.00001.0"
    assert states[family.packs[0]] == ("received", WHOLESALER, WHOLESALER, site)
    assert states[family.packs[1]][0] == "destroyed"
    flagged = [row for row in exceptions_of(store) if row[0] == family.packs[1]]
    assert [reason for _, reason, _ in flagged] == ["shipped_decommissioned"]


def test_an_event_that_destroys_the_contents_cuts_the_noted_events(
    store: Store, paths: dict[str, int]
) -> None:
    """Destroy the case (its packs with it), then ship the pallet, in one capture: the packs are
    destroyed first and the shipping flags each of them."""
    family = Family(store)
    capture(
        store,
        [
            observe([family.case], 10, "destroying", disposition="destroyed", action="DELETE"),
            ship([family.pallet], 11, MAKER, WHOLESALER),
            receive([family.pallet], 12, WHOLESALER),
        ],
        MAKER,
    )
    family.holds()
    assert paths["in SQL"] >= 1
    flagged = {row[0] for row in exceptions_of(store) if row[1] == "shipped_decommissioned"}
    assert set(family.packs) <= flagged


def test_a_pack_read_later_in_the_capture_catches_up(
    store: Store, paths: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One event per step: the pallet is shipped and received while its packs stay in the database;
    then a pack is dispensed, read, and first gets what happened to its pallet."""
    monkeypatch.setattr(projector, "APPLY_EVENTS", 1)
    family = Family(store)
    capture(
        store,
        [
            ship([family.pallet], 10, MAKER, PHARMACY),
            receive([family.pallet], 11, PHARMACY),
            observe([family.packs[2]], 12, "dispensing", disposition="dispensed", site=PHARMACY),
            ship([family.pallet], 13, PHARMACY, WHOLESALER),
        ],
        PHARMACY,
    )
    family.holds()
    assert paths["caught up"] >= 1 and paths["in SQL"] >= 1


def test_unpacking_everything_reads_the_packs_first(store: Store, paths: dict[str, int]) -> None:
    """Receive the case, then unpack it (a DELETE naming no children): every pack leaves it, so every
    pack is read, with the receiving applied first."""
    family = Family(store)
    capture(
        store,
        [
            receive([family.pallet], 10, WHOLESALER),
            aggregate(family.case, [], 11, action="DELETE"),
            ship([family.packs[0]], 12, WHOLESALER, PHARMACY),
        ],
        WHOLESALER,
    )
    family.holds()
    assert paths["read first"] >= 1
    rows = {row[0]: row for row in projected(store, family.identifiers)[0]}
    assert all(rows[epc][12] is None for epc in family.packs)  # no parent any more


def test_a_late_event_on_the_pallet_recomputes_the_packs(store: Store, paths: dict[str, int]) -> None:
    """A pack was dispensed at minute 30; a shipping of its pallet at minute 20 arrives afterwards:
    it is late for that pack, so the family is replayed from the log."""
    family = Family(store)
    capture(store, [observe([family.packs[0]], 30, "dispensing", disposition="dispensed", site=PHARMACY)])
    capture(store, [ship([family.pallet], 20, MAKER, WHOLESALER)], MAKER)
    family.holds()
    assert paths["recomputed"] >= 1


def test_a_pack_in_memory_is_not_applied_twice(store: Store, paths: dict[str, int]) -> None:
    """A pack named in the same capture as its pallet's shipping is read (and written) as usual; the
    others are updated in SQL; the dispensed pack is flagged once."""
    family = Family(store)
    capture(
        store,
        [
            observe([family.packs[0]], 10, "dispensing", disposition="dispensed", site=PHARMACY),
            ship([family.pallet], 11, MAKER, WHOLESALER),
            observe([family.packs[1]], 12, "inspecting"),
        ],
        MAKER,
    )
    family.holds()
    assert paths["in SQL"] >= 1
    flagged = [row for row in exceptions_of(store) if row[0] == family.packs[0]]
    assert [reason for _, reason, _ in flagged] == ["shipped_decommissioned"]


def test_a_transformation_consumes_the_packs_in_a_case(store: Store, paths: dict[str, int]) -> None:
    """Repackaging the case into a new pack decommissions the packs inside it (reason ``transformed``)."""
    family = Family(store)
    event = {
        "type": "TransformationEvent",
        "eventTime": at(10),
        "eventTimeZoneOffset": "+00:00",
        "inputEPCList": [family.case],
        "outputEPCList": [family.other],
        "bizStep": "repackaging",
    }
    capture(store, [event], MAKER)
    family.holds()
    assert paths["in SQL"] >= 1
    rows = {row[0]: row for row in projected(store, family.identifiers)[0]}
    assert {(rows[epc][5], rows[epc][6]) for epc in family.packs} == {("decommissioned", "transformed")}
