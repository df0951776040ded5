"""Trace (from every identifier form) and recall reach, on SQLite and PostgreSQL; the identifier
parser under random and mutated input."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import STORE_BACKENDS
from packtrail.gs1 import SSCCURI, PackIdentifier
from packtrail.lifecycle import IdentifierError, NotFoundError, parse_identifier, recall, trace
from packtrail.lifecycle.db import Db
from packtrail.store import Store, Viewer
from test_lifecycle_support import (
    GTIN,
    MAKER,
    PHARMACY,
    SITE,
    WHOLESALER,
    aggregate,
    capture,
    commission,
    observe,
    pack,
    receive,
    shared_store,
    ship,
    sscc,
)

_TAGS = itertools.count(1)
ADMIN = Viewer.admin()


@pytest.fixture(scope="module", params=STORE_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    yield from shared_store(request, tmp_path_factory)


def _journey(store: Store, lot: str) -> tuple[list[str], str, str]:
    """Four packs of ``lot``: packed in a case on a pallet by the maker, shipped to the wholesaler, who
    unpacks and ships one pack on to the pharmacy, which dispenses it. Returns (packs, case, pallet)."""
    n = next(_TAGS)
    packs = [pack(f"T{n}P{i}") for i in range(4)]
    case, pallet = sscc(700_000 + n * 10), sscc(700_000 + n * 10 + 1)
    capture(
        store,
        [commission(packs, 0, lot=lot), aggregate(case, packs, 1), aggregate(pallet, [case], 2)],
        party=MAKER,
    )
    capture(store, [ship([pallet], 10, MAKER, WHOLESALER, po="PO-7")], party=MAKER)
    capture(
        store,
        [
            receive([pallet], 20, WHOLESALER),
            aggregate(pallet, [], 21, action="DELETE"),
            aggregate(case, packs[:1], 22, action="DELETE"),
            ship(packs[:1], 30, WHOLESALER, PHARMACY),
        ],
        party=WHOLESALER,
    )
    capture(
        store,
        [
            receive(packs[:1], 40, PHARMACY),
            observe(packs[:1], 50, "dispensing", disposition="dispensed", site=PHARMACY),
        ],
        party=PHARMACY,
    )
    return packs, case, pallet


def test_trace_follows_the_pack_through_its_containers(store: Store) -> None:
    packs, case, pallet = _journey(store, "TR1")
    found = trace(store, packs[0], ADMIN)
    body = found.as_json()
    steps = [(e["bizStep"], e["via"]) for e in body["events"]]
    assert steps == [
        ("commissioning", None),
        ("packing", None),
        ("packing", case),
        ("shipping", pallet),
        ("receiving", pallet),
        ("unpacking", case),
        ("unpacking", None),
        ("shipping", None),
        ("receiving", None),
        ("dispensing", None),
    ]
    times = [e["eventTime"] for e in body["events"]]
    assert times == sorted(times)
    assert [(o["party"], o["to"] is None) for o in body["owners"]] == [
        (MAKER, False),
        (WHOLESALER, False),
        (PHARMACY, True),
    ]
    assert (
        body["owners"][1]["from"] == "2026-03-02T08:10:00.000Z"
        and body["owners"][1]["to"] == "2026-03-02T08:30:00.000Z"
    )
    assert [(t["seller"], t["buyer"]) for t in body["transactions"]] == [
        (MAKER, WHOLESALER),
        (WHOLESALER, PHARMACY),
    ]
    assert body["transactions"][0]["bizTransactions"] == [
        {"type": "po", "value": f"urn:epcglobal:cbv:bt:{MAKER}:PO-7"}
    ]
    assert [(c["container"], c["level"], c["to"]) for c in body["containers"]] == [
        (case, 1, "2026-03-02T08:22:00.000Z"),
        (pallet, 2, "2026-03-02T08:21:00.000Z"),
    ]
    assert body["current"]["state"] == "dispensed" and body["current"]["location"] == SITE[PHARMACY]
    assert (body["gtin"], body["serial"], body["lot"]) == (GTIN, packs[0].rsplit(".", 1)[1], "TR1")
    with store.engine.connect() as connection:
        assert Db(connection).item(packs[0]) == found.current  # the trace's state is the projection's
    other = trace(store, packs[1], ADMIN).as_json()
    assert other["current"]["state"] == "received" and other["current"]["containers"] == [case]


def test_trace_of_a_container(store: Store) -> None:
    _, _, pallet = _journey(store, "TR2")
    body = trace(store, pallet, ADMIN).as_json()
    assert [e["bizStep"] for e in body["events"]] == ["packing", "shipping", "receiving", "unpacking"]
    assert body["current"]["state"] == "received" and body["current"]["contents"] == []  # unpacked
    packs, case, _ = _journey(store, "TR2B")
    held = trace(store, case, ADMIN).as_json()["current"]["contents"]
    assert held == sorted(packs[1:])  # the first pack was taken out
    assert trace(store, case, Viewer(MAKER)).as_json()["current"]["contents"] == []  # not its latest view


def test_every_identifier_form_gives_the_same_trace(store: Store) -> None:
    packs, case, _ = _journey(store, "TR3")
    serial = packs[0].rsplit(".", 1)[1]
    identifier = PackIdentifier.create(GTIN, serial, lot="TR3", expiry="280229")
    forms = [
        packs[0],
        identifier.digital_link,
        identifier.element_string().scan_data(),  # ]d2 + the element string with GS separators
        "]d201" + GTIN + "1728022910TR3\x1d21" + serial + "\r\n",  # as a keyboard-wedge scanner types it
        identifier.element_string().bracketed(),
        f"{GTIN} {serial}",
        f"{GTIN[1:]},{serial}",
        f"https://brand.example.com/01/{GTIN}/21/{serial}",
    ]
    expected = trace(store, packs[0], ADMIN).as_json()
    for form in forms:
        assert parse_identifier(form) == packs[0], form
        assert trace(store, form, ADMIN).as_json() == expected, form
    sscc_digits = SSCCURI.parse(case).sscc
    for form in (sscc_digits, f"(00){sscc_digits}", f"https://id.gs1.org/00/{sscc_digits}"):
        assert trace(store, form, ADMIN).identifier == case


def test_unknown_and_invalid_identifiers(store: Store) -> None:
    with pytest.raises(NotFoundError):
        trace(store, pack("NEVER-SEEN"), ADMIN)
    with pytest.raises(IdentifierError, match="identifier"):
        trace(store, "not an identifier", ADMIN)


def test_a_party_sees_its_part_of_the_trace(store: Store) -> None:
    packs, _, pallet = _journey(store, "TR4")
    maker = trace(store, packs[0], Viewer(MAKER)).as_json()
    assert [e["bizStep"] for e in maker["events"]] == ["commissioning", "packing", "packing", "shipping"]
    assert maker["current"]["state"] == "in_transit"  # as of the last event the maker may see
    pharmacy = trace(store, packs[0], Viewer(PHARMACY)).as_json()
    assert [e["bizStep"] for e in pharmacy["events"]] == ["shipping", "receiving", "dispensing"]
    assert [o["party"] for o in pharmacy["owners"]] == [PHARMACY]
    with pytest.raises(NotFoundError):
        trace(store, packs[2], Viewer(PHARMACY))  # never named to the pharmacy
    wholesaler = trace(store, pallet, Viewer(WHOLESALER)).as_json()
    assert "packing" not in [e["bizStep"] for e in wholesaler["events"]]


def test_exceptions_in_the_trace(store: Store) -> None:
    n = next(_TAGS)
    epc = pack(f"X{n}")
    capture(store, [commission([epc], 0), receive([epc], 5, WHOLESALER)], party=MAKER)
    body = trace(store, epc, ADMIN).as_json()
    assert [(x["reason"], x["conflictingEventID"] is not None) for x in body["exceptions"]] == [
        ("received_not_shipped", True)
    ]
    with pytest.raises(NotFoundError):  # none of its events names the pharmacy
        trace(store, epc, Viewer(PHARMACY))


def test_recall_reach_counts_every_pack_of_the_lot(store: Store) -> None:
    _journey(store, "RC1")
    _journey(store, "RC1")
    _journey(store, "RC2")
    reach = recall(store, GTIN[1:], "RC1", ADMIN)
    body = reach.as_json()
    assert body["packs"] == 8 and len(body["list"]) == 8
    assert body["byState"] == [{"state": "received", "packs": 6}, {"state": "dispensed", "packs": 2}]
    assert body["byOwner"] == [{"owner": WHOLESALER, "packs": 6}, {"owner": PHARMACY, "packs": 2}]
    assert body["byLocation"] == [
        {"location": SITE[WHOLESALER], "packs": 6},
        {"location": SITE[PHARMACY], "packs": 2},
    ]
    assert len(reach.as_json(limit=3)["list"]) == 3
    assert recall(store, GTIN, "NONE", ADMIN).as_json()["packs"] == 0
    mine = recall(store, GTIN, "RC1", Viewer(PHARMACY)).as_json()
    assert mine["byState"] == [{"state": "dispensed", "packs": 2}]
    assert recall(store, GTIN, "RC1", Viewer(MAKER)).as_json()["packs"] == 0  # all moved on out of its view
    with pytest.raises(IdentifierError, match="gtin"):
        recall(store, "123", "RC1", ADMIN)
    with pytest.raises(IdentifierError, match="lot"):
        recall(store, GTIN, "", ADMIN)


@given(st.text(max_size=60))
def test_parse_identifier_raises_only_identifier_error(text: str) -> None:
    try:
        result = parse_identifier(text)
    except IdentifierError as error:
        assert str(error).startswith("identifier: ")
    else:
        assert result.startswith("urn:")


_VALID = [
    "urn:epc:id:sgtin:4012345.011111.A1",
    "https://id.gs1.org/01/04012345111118/21/A1",
    "]d201040123451111181728022910B42\x1d21A1",
    "(00)340123450000000017",
    "04012345111118 A1",
]


@given(st.sampled_from(_VALID), st.integers(0, 60), st.text(max_size=4), st.integers(0, 3))
def test_parse_identifier_on_mutated_identifiers(valid: str, at: int, insert: str, cut: int) -> None:
    at = min(at, len(valid))
    mutated = valid[:at] + insert + valid[at + cut :]
    try:
        result = parse_identifier(mutated)
    except IdentifierError as error:
        assert error.field == "identifier"
    else:
        assert result.startswith("urn:")
