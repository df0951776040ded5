"""A national system on PostgreSQL among SQLite nodes: the same transactions, routing, bulk jobs and audit.

DE keeps its store in a fresh PostgreSQL schema (the ``postgres_url`` fixture's server); the hub and
FR stay on SQLite, as separate nodes may.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from conftest import fresh_schema
from fmd_nodes import (
    STANDARD_CLIENTS,
    Federation,
    federation_running,
    fetch,
    fields,
    new_gtin,
    pack,
    submit,
    trx,
    upload,
    wait_done,
)
from packtrail.fmd import audit
from packtrail.fmd.storage import open_storage


@pytest.fixture(scope="module")
def de_store(postgres_url: str) -> Iterator[str]:
    with fresh_schema(postgres_url, "fmd") as url:
        yield url


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory, de_store: str) -> Iterator[Federation]:
    with federation_running(
        tmp_path_factory.mktemp("fmd-postgres"), stores={"DE": de_store}, clients=STANDARD_CLIENTS
    ) as federation:
        yield federation


def run(fed: Federation, code: str, key: str, gtin: str, serial: str, market: str = "DE", **kw: str) -> Any:
    response = fed.post(market, f"/fmd/v1/packs/{code}", pack(gtin, serial, trx(), **kw), key=key)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_postgresql_node_answers_like_a_sqlite_node(fed: Federation, de_store: str) -> None:
    local, foreign, shared = new_gtin(), new_gtin(), new_gtin()
    serials = [f"S{n:03d}" for n in range(300)]
    upload(fed, serials, gtin=local)
    upload(fed, ["F1"], gtin=foreign, markets=("FR",))
    upload(fed, ["M1"], gtin=shared, markets=("DE", "FR"))

    assert run(fed, "G110", "apo1", local, "S000")["returnCode"] == "NMVS_SUCCESS"
    assert run(fed, "G120", "apo1", local, "S001")["pack"]["reason"] == "SUPPLIED"
    a7 = run(fed, "G120", "apo1", local, "S001")
    assert (a7["returnCode"], a7["alert"]) == ("NMVS_NC_PCK_19", "A7")
    assert run(fed, "G110", "apo1", local, "s000")["alert"] == "A3"  # case-sensitive on PostgreSQL too
    assert run(fed, "G120", "apo1", foreign, "F1")["market"] == "FR"
    assert run(fed, "G120", "apo1", shared, "M1")["returnCode"] == "NMVS_SUCCESS"
    assert run(fed, "G110", "pharma_fr", shared, "M1", market="FR")["pack"]["reason"] == "SUPPLIED"

    body = pack(local, "S002", "pg-replay")
    first = fed.post("DE", "/fmd/v1/packs/G120", body, key="apo1").json()
    assert fed.post("DE", "/fmd/v1/packs/G120", body, key="apo1").json() == first

    packs = [{k: v for k, v in pack(local, s, "").items() if k != "clientTrxId"} for s in serials[10:]]
    submitted = fed.post("DE", "/fmd/v1/packs/G125", {"clientTrxId": trx(), "packs": packs}, key="apo1")
    assert submitted.status_code == 202
    for _ in range(400):
        result = fed.get("DE", f"/fmd/v1/bulk/{submitted.json()['bulkId']}", key="apo1").json()
        if result["status"] == "done":
            break
        time.sleep(0.025)
    assert result["returnCode"] == "NMVS_SUCCESS" and len(result["results"]) == 290

    storage = open_storage(de_store, role="national", market="DE")
    try:
        with storage.read() as conn:
            verified = audit.verify(conn)
        assert verified.ok and verified.checked > 290
    finally:
        storage.close()


def test_g196_over_http_answers_fi_bat_01_while_the_job_cannot_finish(fed: Federation, de_store: str) -> None:
    """A mixed bulk (G195): while the test holds a lock that keeps the node from storing the job's
    results, G196 over HTTP answers NMVS_FI_BAT_01 (the job still queued); once the lock is gone, the
    results. (PostgreSQL only: on SQLite a node's store work runs on its event loop, so a held lock would
    stall every answer; ``test_fmd_mixed_bulk`` checks the same in process on both backends.)"""
    gtin = new_gtin()
    upload(fed, ["S1"], gtin=gtin)
    with psycopg.connect(de_store) as lock:
        lock.execute("LOCK TABLE fmd_bulk_results IN EXCLUSIVE MODE")  # reads pass, writes wait
        bulk_id = submit(
            fed, [{"code": "G120", **fields(gtin, "S1")}, {"code": "G110", **fields(gtin, "S1")}]
        )["bulkId"]
        waiting = fetch(fed, bulk_id)
        lock.rollback()
    assert (waiting.status_code, waiting.json()["returnCode"], waiting.json()["status"]) == (
        200,
        "NMVS_FI_BAT_01",
        "queued",
    )
    done = wait_done(fed, bulk_id)
    assert [(r["transaction"], r["pack"]["reason"]) for r in done["results"]] == [
        ("G120", "SUPPLIED"),
        ("G110", "SUPPLIED"),
    ]
