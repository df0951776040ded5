"""A bulk job does per pack what the single-pack transaction does (packtrail.fmd.bulkjobs), on SQLite
and PostgreSQL.

A chunk of a bulk job is processed set-based — one read of its packs, the rules in memory, one write
each of the new states, the audit entries and the results — so these tests hold it against the
reference it must equal: the same packs sent one by one as single transactions. Two products with
the same batches and serials are set up; the bulk G125 goes to one, the single G120s to the other,
and every per-pack answer, final pack state, audit entry and alert must match (apart from the ids
and times that name the transaction).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from packtrail.fmd import audit
from packtrail.fmd import schema as t
from packtrail.fmd.codes import TransactionCode
from packtrail.fmd.model import Client, Role
from packtrail.fmd.national import NationalSystem
from packtrail.fmd.storage import Storage, open_storage

BULK_GTIN = "09506000134352"
SINGLE_GTIN = "09506000134345"
PHARMACY = Client("apo-1", Role.PHARMACY, "LOC-1", "apo-1")
OTHER_PHARMACY = Client("apo-2", Role.PHARMACY, "LOC-2", "apo-2")
UPLOADED_US = 1_700_000_000_000_000

SERIALS = [f"S{n:03d}" for n in range(40)]
"""Active packs in batch B1 of each product; S030-S039 are in batch B2 (expiry 291130)."""


def _setup(storage: Storage) -> None:
    with storage.write() as conn:
        for gtin in (BULK_GTIN, SINGLE_GTIN):
            conn.exec_driver_sql(
                "INSERT INTO fmd_products (product_code, scheme, name, owner, uploaded_us) "
                f"VALUES ('{gtin}', 'GTIN', 'Testamol', 'mah-1', {UPLOADED_US})"
            )
            conn.exec_driver_sql(
                f"INSERT INTO fmd_product_markets (product_code, market, position) VALUES ('{gtin}', 'DE', 0)"
            )
            for batch, expiry, day, recalled in (
                ("B1", "301231", "2030-12-31", "NULL"),
                ("B2", "291130", "2029-11-30", "NULL"),
                ("BR", "301231", "2030-12-31", str(UPLOADED_US + 1)),
            ):
                conn.exec_driver_sql(
                    "INSERT INTO fmd_batches (product_code, batch, expiry, expiry_date, markets, "
                    f"uploaded_us, recalled_us) VALUES ('{gtin}', '{batch}', '{expiry}', '{day}', 'DE', "
                    f"{UPLOADED_US}, {recalled})"
                )
            rows = [(s, "B1" if s < "S030" else "B2") for s in SERIALS] + [("R1", "BR")]
            for serial, batch in rows:
                conn.exec_driver_sql(
                    "INSERT INTO fmd_packs (product_code, serial, batch, state, uploaded_us) "
                    f"VALUES ('{gtin}', '{serial}', '{batch}', 'ACTIVE', {UPLOADED_US + len(serial)})"
                )


@pytest.fixture
def storage(store_url: str) -> Iterator[Storage]:
    opened = open_storage(store_url, role="national", market="DE")
    _setup(opened)
    yield opened
    opened.close()


def _pack(serial: str, batch: str = "B1", expiry: str = "301231") -> dict[str, str]:
    return {"serialNumber": serial, "batch": batch, "expiry": expiry}


PACKS: list[dict[str, str]] = [
    *(_pack(s) for s in SERIALS[:25]),  # dispensed: NMVS_SUCCESS
    _pack("S000"),  # the same pack again in the same job: already dispensed here (A7)
    _pack("S025"),  # dispensed before the job by this pharmacy: already in that state
    _pack("S026"),  # dispensed before the job by another pharmacy: inactive elsewhere
    _pack("S027", batch="B2"),  # on file under another batch (A68)
    _pack("S028", expiry="311231"),  # expiry differs from the batch's (A52)
    _pack("NOPE"),  # serial unknown in a known batch (A3)
    _pack("NOPE", batch="NOBATCH"),  # neither serial nor batch known (A2)
    _pack("S030", batch="B2", expiry="291130"),  # another batch of the chunk
    _pack("R1", batch="BR"),  # recalled batch
    _pack("S029"),
    _pack("S029"),  # listed twice: the second sees the first's change
]
"""The bulk's packs (without the product code): every situation a G125 pack can meet."""


def _body(gtin: str, item: dict[str, str]) -> dict[str, str]:
    return {"productCode": gtin, **item}


def _comparable(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer without what names the transaction (ids, times) or the product code."""
    kept = {k: v for k, v in answer.items() if k not in ("trxId", "clientTrxId", "timestamp", "alertId")}
    kept["product"] = {k: v for k, v in answer["product"].items() if k != "productCode"}
    kept["alertId"] = answer["alertId"] is not None
    return kept


def _states(storage: Storage, gtin: str) -> dict[str, tuple[Any, ...]]:
    with storage.read() as conn:
        rows = conn.execute(
            sa.select(
                t.packs.c.serial, t.packs.c.state, t.packs.c.reason, t.packs.c.lc_code,
                t.packs.c.lc_reason, t.packs.c.lc_location, t.packs.c.lc_user, t.packs.c.lc_client,
            ).where(t.packs.c.product_code == gtin)
        ).all()  # fmt: skip
    return {row[0]: tuple(row[1:]) for row in rows}


def _audit(storage: Storage, gtin: str) -> list[tuple[Any, ...]]:
    with storage.read() as conn:
        rows = audit.entries(conn, product_code=gtin, limit=1000)
    out = []
    for row in rows:
        detail = {k: v for k, v in row.get("detail", {}).items() if k not in ("bulkId", "alertId")}
        # An unknown pack is kept five years from the entry's own time: compare only the known packs'.
        keep = row["retainUntil"] if row["serialNumber"] != "NOPE" else "five years after the entry"
        out.append((row["action"], row["serialNumber"], row["batch"], row["returnCode"], keep, detail))
    return out


def _alerts(storage: Storage, gtin: str) -> list[tuple[Any, ...]]:
    with storage.read() as conn:
        rows = conn.execute(
            sa.select(t.alerts.c.serial, t.alerts.c.code, t.alerts.c.return_code, t.alerts.c.on_file).where(
                t.alerts.c.product_code == gtin
            )
        ).all()
    found = []
    for serial, code, rc, on_file in rows:
        facts = {k: v for k, v in orjson.loads(on_file).items() if k != "productCode"}
        found.append((serial, code, rc, sorted(facts.items(), key=str)))
    return sorted(found, key=str)


def _run_both(storage: Storage) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Dispense S025 (here) and S026 (elsewhere) first, then the bulk on one product and the same packs
    one by one on the other; returns the G188 answer and the single answers."""
    system = NationalSystem(storage)

    async def run() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        await system.start()
        try:
            for gtin in (BULK_GTIN, SINGLE_GTIN):
                for serial, client in (("S025", PHARMACY), ("S026", OTHER_PHARMACY)):
                    before = await system.transact(
                        "G120", {**_body(gtin, _pack(serial)), "clientTrxId": f"pre-{gtin}-{serial}"}, client
                    )
                    assert before.body["returnCode"] == "NMVS_SUCCESS", before.body
            packs = [_body(BULK_GTIN, item) for item in PACKS]
            packs.append({"productCode": BULK_GTIN, "batch": "B1", "expiry": "301231"})  # no serial
            submitted = await system.transact("G125", {"clientTrxId": "bulk-1", "packs": packs}, PHARMACY)
            assert submitted.status == 202, submitted.body
            bulk_id = submitted.body["bulkId"]
            await system.bulk.wait(bulk_id)
            fetched = await system.bulk.fetch(bulk_id, PHARMACY)
            answer: dict[str, Any] = orjson.loads(orjson.dumps(fetched.body))  # results: a Fragment
            singles = []
            for n, item in enumerate(PACKS):
                body = {**_body(SINGLE_GTIN, item), "clientTrxId": f"single-{n}"}
                singles.append((await system.transact("G120", body, PHARMACY)).body)
            return answer, singles
        finally:
            await system.stop()

    return asyncio.run(run())


def test_a_bulk_job_equals_the_same_packs_sent_one_by_one(storage: Storage) -> None:
    """Given the same packs in two products, when one gets a bulk G125 and the other the single G120s,
    then the per-pack answers, final states, audit entries and alerts are the same."""
    bulk, singles = _run_both(storage)

    assert bulk["status"] == "done" and bulk["returnCode"] == "NMVS_NC_PCK_24"
    results = bulk["results"]
    assert len(results) == len(PACKS) + 1
    assert [_comparable(r) for r in results[: len(PACKS)]] == [_comparable(s) for s in singles]
    assert results[-1]["returnCode"] == "NMVS_FE_REQ_02" and results[-1]["field"].startswith(
        f"packs[{len(PACKS)}]."
    )
    assert [r["trxId"] for r in results[:3]] == [f"{bulk['bulkId']}-{i}" for i in range(3)]
    assert _states(storage, BULK_GTIN) == _states(storage, SINGLE_GTIN)
    assert _audit(storage, BULK_GTIN) == _audit(storage, SINGLE_GTIN)
    assert _alerts(storage, BULK_GTIN) == _alerts(storage, SINGLE_GTIN)
    assert {r["returnCode"] for r in results[25:34]} >= {"NMVS_NC_PCK_19", "NMVS_FE_LOT_13", "NMVS_NC_PC_02"}
    with storage.read() as conn:
        assert audit.verify(conn).ok


def test_a_job_resumed_after_its_chunk_is_done_takes_the_stored_results(storage: Storage) -> None:
    """Given a node stopped after a chunk committed but before the job was marked done, when the
    worker runs the job again, then it applies no pack twice and the overall code comes from the
    stored results."""
    system = NationalSystem(storage)

    async def run() -> dict[str, Any]:
        packs = [_body(BULK_GTIN, _pack(s)) for s in SERIALS[:5]] + [_body(BULK_GTIN, _pack("NOPE"))]
        submitted = await system.transact("G125", {"clientTrxId": "bulk-r", "packs": packs}, PHARMACY)
        bulk_id = submitted.body["bulkId"]
        job_packs = [dict(p) for p in packs]
        await system.run_db(system.bulk._chunk, bulk_id, 0, job_packs, TransactionCode.G120, PHARMACY)
        with storage.read() as conn:  # the chunk is stored, the job still running
            status = conn.execute(
                sa.select(t.bulk_jobs.c.status).where(t.bulk_jobs.c.job_id == bulk_id)
            ).scalar_one()
        assert status == "running"
        await system.bulk._run(bulk_id)  # what the worker does for a resumed job
        await system.bulk.wait(bulk_id)  # on PostgreSQL the job is finished in the background
        body: dict[str, Any] = orjson.loads(orjson.dumps((await system.bulk.fetch(bulk_id, PHARMACY)).body))
        return body

    body = asyncio.run(run())
    assert body["status"] == "done" and body["returnCode"] == "NMVS_NC_PCK_24"
    assert [r["returnCode"] for r in body["results"]] == ["NMVS_SUCCESS"] * 5 + ["NMVS_NC_PC_02"]
    with storage.read() as conn:
        assert audit.verify(conn).ok
        dispensed = conn.execute(
            sa.select(sa.func.count()).select_from(t.audit).where(t.audit.c.serial == "S000")
        ).scalar_one()
    assert dispensed == 1


def test_jobs_sent_back_to_back_see_each_other_in_order(storage: Storage) -> None:
    """Given a dispense, its undo and the dispense again of the same packs submitted without waiting,
    when the worker runs them (on PostgreSQL a job is worked out while the one before is still being
    written), then each sees the one before: all succeed, in order, and the chain verifies."""
    system = NationalSystem(storage)
    serials = SERIALS[:20]

    async def run() -> list[dict[str, Any]]:
        await system.start()
        try:
            ids = []
            for n, code in enumerate(("G125", "G127", "G125", "G115")):
                packs = [_body(BULK_GTIN, _pack(s)) for s in serials]
                submitted = await system.transact(
                    code, {"clientTrxId": f"burst-{n}", "packs": packs}, PHARMACY
                )
                ids.append(submitted.body["bulkId"])
            answers = []
            for bulk_id in ids:
                await system.bulk.wait(bulk_id)
                answers.append(orjson.loads(orjson.dumps((await system.bulk.fetch(bulk_id, PHARMACY)).body)))
            return answers
        finally:
            await system.stop()

    dispensed, undone, again, verified = asyncio.run(run())
    for answer in (dispensed, undone, again, verified):
        assert answer["returnCode"] == "NMVS_SUCCESS", answer["results"][0]
    assert {(r["pack"]["state"], r["pack"]["reason"]) for r in undone["results"]} == {("ACTIVE", None)}
    assert {(r["pack"]["state"], r["pack"]["reason"]) for r in verified["results"]} == {
        ("INACTIVE", "SUPPLIED")
    }
    with storage.read() as conn:
        assert audit.verify(conn).ok
        actions = [e["action"] for e in audit.entries(conn, product_code=BULK_GTIN, serial="S007")]
    assert actions == ["G120", "G121", "G120", "G110"]
