"""Finland's #A10: a double scan warns three times, then raises the alert (reference §1.7 step 6, §2.4,
catalogue EU-10).

A state change asked for a pack already in that state at the same location is ``NMVS_NC_PCK_19``. In
most markets every such repeat raises A7; FiMVS answers the first three repeats with a warning and no
alert and raises #A10 from the fourth on. The count is the node's durable state
(``fmd_repeats``, :meth:`packtrail.fmd.storage.Storage.count_repeat`), per pack and location, so it
survives a restart, ignores idempotent replays, and is the same whether the repeats come one by one or
inside a bulk job. These tests run it over real HTTP between real node processes (hub, FI, DE) and
hold the bulk path against the single-pack one on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from fmd_nodes import (
    Federation,
    eventually,
    federation_running,
    new_gtin,
    pack,
    trx,
    upload,
)
from packtrail.fmd import audit
from packtrail.fmd.model import Client, Role
from packtrail.fmd.national import NationalSystem
from packtrail.fmd.storage import Storage, open_storage
from test_fmd_bulk_setbased import BULK_GTIN, SINGLE_GTIN, _alerts, _audit, _comparable, _setup, _states

CLIENTS: list[tuple[str, str, dict[str, Any]]] = [
    ("hub", "mah", {"role": "manufacturer", "name": "Examplin Pharma", "client_id": "mah-1"}),
    (
        "FI",
        "apteekki",
        {"role": "pharmacy", "name": "Apteekki Keskusta", "client_id": "ap-1", "location": "H1"},
    ),
    (
        "FI",
        "apteekki2",
        {"role": "pharmacy", "name": "Apteekki Satama", "client_id": "ap-2", "location": "H2"},
    ),
    ("FI", "fimea", {"role": "authority", "name": "Fimea", "client_id": "fimea", "location": "HKI"}),
    ("DE", "apo1", {"role": "pharmacy", "name": "Apotheke am Markt", "client_id": "apo-1", "location": "L1"}),
]

WARNING_TAIL = "from repeat 4 on, #A10 is raised"


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    with federation_running(
        tmp_path_factory.mktemp("fmd-fi"), markets=("FI", "DE"), clients=CLIENTS
    ) as federation:
        yield federation


def send(fed: Federation, market: str, code: str, key: str, gtin: str, serial: str, trx_id: str = "") -> Any:
    response = fed.post(market, f"/fmd/v1/packs/{code}", pack(gtin, serial, trx_id or trx()), key=key)
    assert response.status_code == 200, response.text
    return response.json()


def short(answer: dict[str, Any]) -> tuple[Any, ...]:
    return answer["returnCode"], answer["alert"], answer["alertRaised"], answer.get("repeat")


def fi_alerts(fed: Federation, gtin: str) -> list[dict[str, Any]]:
    rows = fed.get("FI", "/fmd/v1/alerts", key="fimea", limit=1000).json()["alerts"]
    return [a for a in rows if a["scanned"]["productCode"] == gtin]


def test_fi_warns_three_repeats_then_raises_a10_and_delivers_it(fed: Federation) -> None:
    """Given a pack dispensed at H1 in Finland, when H1 dispenses it again five times, then repeats 1-3
    get NMVS_NC_PCK_19 with a warning and no alert, repeats 4 and 5 raise #A10, each A10 is an alert
    record on the FI node and reaches the product's owner through the hub like any other alert."""
    gtin = new_gtin()
    upload(fed, ["S1"], gtin=gtin, markets=("FI",))
    first = send(fed, "FI", "G120", "apteekki", gtin, "S1")
    assert (first["returnCode"], first["pack"]["reason"], "repeat" in first) == (
        "NMVS_SUCCESS",
        "SUPPLIED",
        False,
    )

    repeats = [send(fed, "FI", "G120", "apteekki", gtin, "S1") for _ in range(5)]

    assert [short(a) for a in repeats] == [
        ("NMVS_NC_PCK_19", None, False, 1),
        ("NMVS_NC_PCK_19", None, False, 2),
        ("NMVS_NC_PCK_19", None, False, 3),
        ("NMVS_NC_PCK_19", "A10", True, 4),
        ("NMVS_NC_PCK_19", "A10", True, 5),
    ]
    for n, answer in enumerate(repeats[:3], start=1):
        assert answer["warning"].startswith(f"repeat {n} ") and answer["warning"].endswith(WARNING_TAIL)
        assert answer["alertId"] is None
    assert all("warning" not in a and a["alertId"] for a in repeats[3:])
    assert (repeats[3]["pack"]["state"], repeats[3]["pack"]["reason"]) == ("INACTIVE", "SUPPLIED")

    raised = {a["alertId"] for a in repeats[3:]}
    on_node = fi_alerts(fed, gtin)
    assert {a["alertId"] for a in on_node} == raised
    assert {(a["code"], a["returnCode"], a["where"]["location"], a["where"]["market"]) for a in on_node} == {
        ("A10", "NMVS_NC_PCK_19", "H1", "FI")
    }
    delivered = eventually(
        lambda: {
            e["alertId"]: e["alert"]
            for e in fed.get("hub", "/hub/v1/alerts/feed", key="mah", limit=1000).json()["events"]
            if e["alert"]["scanned"]["productCode"] == gtin
        },
        lambda found: set(found) == raised,
    )
    assert set(delivered) == raised
    assert {a["code"] for a in delivered.values()} == {"A10"}

    # The audit trail records each repeat with its number.
    entries = fed.get("FI", "/fmd/v1/audit", key="fimea", productCode=gtin, serialNumber="S1").json()[
        "entries"
    ]
    assert [(e["returnCode"], e["detail"].get("repeat"), e["detail"].get("alert")) for e in entries] == [
        ("NMVS_SUCCESS", None, None),
        *((("NMVS_NC_PCK_19", n, None)) for n in (1, 2, 3)),
        ("NMVS_NC_PCK_19", 4, "A10"),
        ("NMVS_NC_PCK_19", 5, "A10"),
    ]


def test_de_raises_a7_on_the_first_repeat(fed: Federation) -> None:
    """Other markets keep A7 on every repeat, without counting."""
    gtin = new_gtin()
    upload(fed, ["S1"], gtin=gtin, markets=("DE",))
    assert send(fed, "DE", "G120", "apo1", gtin, "S1")["returnCode"] == "NMVS_SUCCESS"
    again = [send(fed, "DE", "G120", "apo1", gtin, "S1") for _ in range(2)]
    assert [short(a) for a in again] == [("NMVS_NC_PCK_19", "A7", True, None)] * 2
    assert all("warning" not in a and a["alertId"] for a in again)


def test_fi_counts_per_location_and_from_the_last_state_change(fed: Federation) -> None:
    """Another pharmacy's dispense of the pack is NMVS_NC_PCK_22 (A24), never a counted repeat; an undo
    and a new dispense start the count again."""
    gtin = new_gtin()
    upload(fed, ["S1"], gtin=gtin, markets=("FI",))
    assert send(fed, "FI", "G120", "apteekki", gtin, "S1")["returnCode"] == "NMVS_SUCCESS"
    assert short(send(fed, "FI", "G120", "apteekki", gtin, "S1")) == ("NMVS_NC_PCK_19", None, False, 1)
    assert short(send(fed, "FI", "G120", "apteekki2", gtin, "S1")) == ("NMVS_NC_PCK_22", "A24", True, None)
    assert short(send(fed, "FI", "G120", "apteekki", gtin, "S1")) == ("NMVS_NC_PCK_19", None, False, 2)
    assert send(fed, "FI", "G121", "apteekki", gtin, "S1")["returnCode"] == "NMVS_SUCCESS"
    assert send(fed, "FI", "G120", "apteekki", gtin, "S1")["returnCode"] == "NMVS_SUCCESS"
    assert short(send(fed, "FI", "G120", "apteekki", gtin, "S1")) == ("NMVS_NC_PCK_19", None, False, 1)


def test_fi_replays_do_not_count_and_the_count_survives_a_restart(fed: Federation) -> None:
    """Given two repeats, when the first is sent again under its clientTrxId, then the stored answer
    comes back and nothing is counted; after a restart of the FI node the third repeat still warns as
    repeat 3 and the fourth raises #A10."""
    gtin = new_gtin()
    upload(fed, ["S1"], gtin=gtin, markets=("FI",))
    assert send(fed, "FI", "G120", "apteekki", gtin, "S1")["returnCode"] == "NMVS_SUCCESS"
    repeat_1 = send(fed, "FI", "G120", "apteekki", gtin, "S1", "fi-replay-1")
    for _ in range(3):
        assert send(fed, "FI", "G120", "apteekki", gtin, "S1", "fi-replay-1") == repeat_1
    assert short(send(fed, "FI", "G120", "apteekki", gtin, "S1"))[3] == 2

    fed.nationals["FI"].stop()
    fed.restart("FI")

    assert short(send(fed, "FI", "G120", "apteekki", gtin, "S1")) == ("NMVS_NC_PCK_19", None, False, 3)
    assert short(send(fed, "FI", "G120", "apteekki", gtin, "S1")) == ("NMVS_NC_PCK_19", "A10", True, 4)


def test_fi_bulk_repeats_count_with_the_single_ones(fed: Federation) -> None:
    """Repeats inside a bulk G125 and one by one share the count: two single repeats, then a bulk listing
    the pack three more times gives repeats 3 (warning), 4 and 5 (#A10), in order."""
    gtin = new_gtin()
    upload(fed, ["S1", "S2"], gtin=gtin, markets=("FI",))
    assert send(fed, "FI", "G120", "apteekki", gtin, "S1")["returnCode"] == "NMVS_SUCCESS"
    for _ in range(2):
        send(fed, "FI", "G120", "apteekki", gtin, "S1")
    items = [
        {k: v for k, v in pack(gtin, s, "").items() if k != "clientTrxId"} for s in ("S1", "S2", "S1", "S1")
    ]
    submitted = fed.post("FI", "/fmd/v1/packs/G125", {"clientTrxId": trx(), "packs": items}, key="apteekki")
    assert submitted.status_code == 202, submitted.text
    bulk_id = submitted.json()["bulkId"]
    result = eventually(
        lambda: fed.get("FI", f"/fmd/v1/bulk/{bulk_id}", key="apteekki").json(),
        lambda body: body["status"] == "done",
    )
    assert [short(r) for r in result["results"]] == [
        ("NMVS_NC_PCK_19", None, False, 3),
        ("NMVS_SUCCESS", None, False, None),
        ("NMVS_NC_PCK_19", "A10", True, 4),
        ("NMVS_NC_PCK_19", "A10", True, 5),
    ]
    assert result["results"][0]["warning"].endswith(WARNING_TAIL)
    assert {a["alertId"] for a in fi_alerts(fed, gtin)} == {r["alertId"] for r in result["results"][2:]}


# --------------------------------------------------------------------------- bulk equals one by one, FI

FI_PHARMACY = Client("apo-1", Role.PHARMACY, "LOC-1", "apo-1")


def _fi_packs() -> list[dict[str, str]]:
    def item(serial: str) -> dict[str, str]:
        return {"serialNumber": serial, "batch": "B1", "expiry": "301231"}

    # S000 dispensed, then listed six more times (3 warnings, 3 × A10); S001 twice; S025 dispensed
    # before the job by this pharmacy (a repeat from the start); S026 by another (A24, never counted).
    return [
        item(s)
        for s in ("S000", "S001", "S000", "S025", "S000", "S001", "S000", "S026", "S000", "S000", "S000")
    ]


@pytest.fixture
def fi_storage(store_url: str) -> Iterator[Storage]:
    opened = open_storage(store_url, role="national", market="FI")
    _setup(opened)
    yield opened
    opened.close()


def test_fi_bulk_equals_the_same_packs_one_by_one(fi_storage: Storage) -> None:
    """The set-based bulk path counts repeats exactly as the single-pack path: per-pack answers, states,
    audit entries and alerts match, on SQLite and PostgreSQL."""
    system = NationalSystem(fi_storage)
    other = Client("apo-2", Role.PHARMACY, "LOC-2", "apo-2")

    async def run() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        await system.start()
        try:
            for gtin in (BULK_GTIN, SINGLE_GTIN):
                for serial, client in (("S025", FI_PHARMACY), ("S026", other)):
                    body = {"productCode": gtin, "serialNumber": serial, "batch": "B1", "expiry": "301231"}
                    done = await system.transact(
                        "G120", {**body, "clientTrxId": f"pre-{gtin}-{serial}"}, client
                    )
                    assert done.body["returnCode"] == "NMVS_SUCCESS", done.body
            packs = [{"productCode": BULK_GTIN, **item} for item in _fi_packs()]
            submitted = await system.transact("G125", {"clientTrxId": "fi-bulk", "packs": packs}, FI_PHARMACY)
            await system.bulk.wait(submitted.body["bulkId"])
            fetched = await system.bulk.fetch(submitted.body["bulkId"], FI_PHARMACY)
            answer: dict[str, Any] = orjson.loads(orjson.dumps(fetched.body))
            singles = []
            for n, item in enumerate(_fi_packs()):
                body = {"productCode": SINGLE_GTIN, **item, "clientTrxId": f"fi-single-{n}"}
                singles.append((await system.transact("G120", body, FI_PHARMACY)).body)
            return answer, singles
        finally:
            await system.stop()

    bulk, singles = asyncio.run(run())
    assert [_comparable(r) for r in bulk["results"]] == [_comparable(s) for s in singles]
    assert [(s["returnCode"], s["alert"], s.get("repeat")) for s in singles] == [
        ("NMVS_SUCCESS", None, None),
        ("NMVS_SUCCESS", None, None),
        ("NMVS_NC_PCK_19", None, 1),
        ("NMVS_NC_PCK_19", None, 1),
        ("NMVS_NC_PCK_19", None, 2),
        ("NMVS_NC_PCK_19", None, 1),
        ("NMVS_NC_PCK_19", None, 3),
        ("NMVS_NC_PCK_22", "A24", None),
        ("NMVS_NC_PCK_19", "A10", 4),
        ("NMVS_NC_PCK_19", "A10", 5),
        ("NMVS_NC_PCK_19", "A10", 6),
    ]
    assert _states(fi_storage, BULK_GTIN) == _states(fi_storage, SINGLE_GTIN)
    assert _audit(fi_storage, BULK_GTIN) == _audit(fi_storage, SINGLE_GTIN)
    assert _alerts(fi_storage, BULK_GTIN) == _alerts(fi_storage, SINGLE_GTIN)
    with fi_storage.read() as conn:
        assert audit.verify(conn).ok


def test_the_repeat_counter_is_atomic_per_pack_location_and_state_change(store_url: str) -> None:
    """``count_repeat`` numbers repeats 1, 2, … per (pack, location) for one state change, starts again
    at 1 for a newer one, and a rolled-back transaction takes its count back."""
    from datetime import UTC, datetime, timedelta

    storage = open_storage(store_url, role="national", market="FI")
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    try:
        with storage.write() as conn:
            counted = [storage.count_repeat(conn, BULK_GTIN, "S1", "L1", t0) for _ in range(3)]
            counted.append(storage.count_repeat(conn, BULK_GTIN, "S1", "L2", t0))
            counted.append(storage.count_repeat(conn, BULK_GTIN, "S2", "L1", t0))
        assert counted == [1, 2, 3, 1, 1]
        with pytest.raises(RuntimeError), storage.write() as conn:
            assert storage.count_repeat(conn, BULK_GTIN, "S1", "L1", t0) == 4
            raise RuntimeError("roll back")
        with storage.write() as conn:
            assert storage.count_repeat(conn, BULK_GTIN, "S1", "L1", t0) == 4
            assert storage.count_repeat(conn, BULK_GTIN, "S1", "L1", t0 + timedelta(hours=1)) == 1
    finally:
        storage.close()


def test_fi_bulk_jobs_sent_back_to_back_count_in_order(fi_storage: Storage) -> None:
    """Given two G125 jobs listing an already dispensed pack, submitted without waiting (on PostgreSQL the
    second is worked out while the first is still being written), then the repeats number on across
    them: 1, 2, then 3, 4 (#A10), 5."""
    system = NationalSystem(fi_storage)
    item = {"productCode": BULK_GTIN, "serialNumber": "S000", "batch": "B1", "expiry": "301231"}

    async def run() -> list[list[Any]]:
        await system.start()
        try:
            first = await system.transact("G120", {**item, "clientTrxId": "fi-first"}, FI_PHARMACY)
            assert first.body["returnCode"] == "NMVS_SUCCESS"
            ids = []
            for n, count in enumerate((2, 3)):
                body = {"clientTrxId": f"fi-burst-{n}", "packs": [item] * count}
                ids.append((await system.transact("G125", body, FI_PHARMACY)).body["bulkId"])
            answers = []
            for bulk_id in ids:
                await system.bulk.wait(bulk_id)
                fetched = orjson.loads(orjson.dumps((await system.bulk.fetch(bulk_id, FI_PHARMACY)).body))
                answers.append([(r["repeat"], r["alert"]) for r in fetched["results"]])
            return answers
        finally:
            await system.stop()

    assert asyncio.run(run()) == [[(1, None), (2, None)], [(3, None), (4, "A10"), (5, "A10")]]
