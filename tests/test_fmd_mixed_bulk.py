"""G195 mixed bulk and G196 fetch (reference §2.2): one asynchronous list whose packs each name their own
single-pack operation, equal to sending the same packs one by one in order.

Over real HTTP between real node processes (a hub, DE and FR; DE's store on SQLite and on PostgreSQL):
a list of verifies, dispenses, an undo, a destroy, an unknown serial (A3), a scan, a pack listed twice
and an unreadable entry is submitted with G195 for one product and sent one by one for another; the
G196 results, final states, audit entries and alerts must match. G196 before completion, for an unknown
id, for another client's bulk, and crosswise with G188; input errors naming ``packs[i].code``; no
intermarket transaction from a bulk. The request parser is fuzzed with random JSON.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from packtrail.fmd.bulk import MAX_BULK_PACKS, MIXABLE_CODES, mixed_pack_request, read_mixed_bulk
from packtrail.fmd.codes import TransactionCode
from packtrail.fmd.errors import FmdInputError
from packtrail.fmd.model import Client, Role
from packtrail.fmd.national import NationalSystem
from packtrail.fmd.storage import Storage, open_storage
from test_fmd_bulk_setbased import _alerts, _comparable, _states
from test_fmd_support import GTIN, seeded_national_storage

SERIALS = [f"S{n}" for n in range(1, 9)]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def de_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """DE's store: a SQLite file, or a fresh PostgreSQL schema (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('fmd-mixed-de') / 'de.db'}"
        return
    with fresh_schema(request.getfixturevalue("postgres_url"), "fmd") as url:
        yield url


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory, de_store: str) -> Iterator[Federation]:
    with federation_running(
        tmp_path_factory.mktemp("fmd-mixed"), stores={"DE": de_store}, clients=STANDARD_CLIENTS
    ) as federation:
        yield federation


def pack_audit(storage: Storage, gtin: str) -> list[tuple[Any, ...]]:
    """The audit entries on the product's packs (not its uploads), without what names the transaction;
    the retention date is left out — the two products were uploaded moments apart."""
    with storage.read() as conn:
        rows = audit.entries(conn, product_code=gtin, limit=1000)
    return [
        (
            row["action"], row["serialNumber"], row["batch"], row["returnCode"],
            {k: v for k, v in row.get("detail", {}).items() if k not in ("bulkId", "alertId")},
        )
        for row in rows
        if row.get("serialNumber") is not None
    ]  # fmt: skip


def mixed_list(gtin: str) -> list[dict[str, Any]]:
    """Every kind of entry a G195 list can hold, for product ``gtin`` (serials S1-S8 uploaded in B1)."""
    scan = f"]d201{gtin}17281231" + "10B1\x1d21S7"
    return [
        {"code": "G110", **fields(gtin, "S1")},  # verify
        {"code": "G120", **fields(gtin, "S2")},  # dispense
        {"code": "G121", **fields(gtin, "S2")},  # undo the dispense just listed: sees it
        {"code": "G130", **fields(gtin, "S3")},  # destroy
        {"code": "G120", **fields(gtin, "NOPE")},  # unknown serial in a known batch: A3
        {"code": "G120", **fields(gtin, "S4")},
        {"code": "G120", **fields(gtin, "S4")},  # the same pack twice: already supplied here, A7
        {"code": "G121", **fields(gtin, "S3")},  # undo of a destroyed pack: refused, A24
        {"code": "G110", "scan": scan},  # a raw scan
        {"code": "G170", **fields(gtin, "S5")},  # lock …
        {"code": "G171", **fields(gtin, "S5")},  # … and unlock
        {"code": "G110", **fields(gtin, "S2")},  # active again after the undo
        {"code": "G120", **fields(gtin, "S6", expiry="281230")},  # expiry mismatch: A52
    ]


def test_a_mixed_bulk_equals_the_same_packs_one_by_one(fed: Federation, de_store: str) -> None:
    """Given the same packs in two products, when one gets a G195 list and the other each entry as its
    single-pack transaction in order, then G196 gives per-pack results equal to the single answers
    (each naming its operation), and the final states, audit entries and alerts are the same."""
    bulk_gtin, single_gtin = new_gtin(), new_gtin()
    for gtin in (bulk_gtin, single_gtin):
        upload(fed, SERIALS, gtin=gtin)
    entries = mixed_list(bulk_gtin)
    unreadable = {"code": "G120", "productCode": bulk_gtin, "batch": "B1", "expiry": "281231"}

    submitted = submit(fed, [*entries, unreadable])
    assert (submitted["transaction"], submitted["packs"], submitted["status"]) == (
        "G195",
        len(entries) + 1,
        "queued",
    )
    result = wait_done(fed, submitted["bulkId"])

    singles = []
    for entry in mixed_list(single_gtin):
        body = {k: v for k, v in entry.items() if k != "code"}
        answer = fed.post("DE", f"/fmd/v1/packs/{entry['code']}", {**body, "clientTrxId": trx()}, key="apo1")
        assert answer.status_code == 200, answer.text
        singles.append(answer.json())

    assert (result["transaction"], result["returnCode"]) == ("G195", "NMVS_NC_PCK_24")
    results = result["results"]
    assert [r["transaction"] for r in results] == [e["code"] for e in entries] + ["G120"]
    assert [_comparable(r) for r in results[:-1]] == [_comparable(s) for s in singles]
    assert [(r["returnCode"], r["alert"]) for r in results[:-1]] == [
        ("NMVS_SUCCESS", None),
        ("NMVS_SUCCESS", None),
        ("NMVS_SUCCESS", None),
        ("NMVS_SUCCESS", None),
        ("NMVS_NC_PC_02", "A3"),
        ("NMVS_SUCCESS", None),
        ("NMVS_NC_PCK_19", "A7"),
        ("NMVS_NC_PCK_06", "A24"),
        ("NMVS_SUCCESS", None),
        ("NMVS_SUCCESS", None),
        ("NMVS_SUCCESS", None),
        ("NMVS_SUCCESS", None),
        ("NMVS_FE_LOT_12", "A52"),
    ]
    assert results[-1]["field"] == f"packs[{len(entries)}].serialNumber"
    assert results[-1]["returnCode"] == "NMVS_FE_REQ_02"

    storage = open_storage(de_store, role="national", market="DE")
    try:
        assert _states(storage, bulk_gtin) == _states(storage, single_gtin)
        assert pack_audit(storage, bulk_gtin) == pack_audit(storage, single_gtin)
        assert len(pack_audit(storage, bulk_gtin)) == len(entries)
        assert _alerts(storage, bulk_gtin) == _alerts(storage, single_gtin)
        assert {code for _, code, _, _ in _alerts(storage, bulk_gtin)} == {"A3", "A7", "A24", "A52"}
    finally:
        storage.close()


def test_g196_for_unknown_ids_other_clients_and_the_wrong_fetch_code(fed: Federation) -> None:
    """An unknown id and another client's bulk are both NMVS_FE_TX_02 (404); G188 on a G195 bulk and
    G196 on a G125 bulk are refused (NMVS_FE_REQ_02, 400) naming the code to use; the job as a resource
    (``GET /fmd/v1/bulk/{id}``) serves both."""
    gtin = new_gtin()
    upload(fed, ["S1", "S2"], gtin=gtin)
    mixed_id = submit(fed, [{"code": "G110", **fields(gtin, "S1")}])["bulkId"]
    assert wait_done(fed, mixed_id)["returnCode"] == "NMVS_SUCCESS"
    g125 = fed.post(
        "DE", "/fmd/v1/packs/G125", {"clientTrxId": trx(), "packs": [fields(gtin, "S2")]}, key="apo1"
    )
    assert g125.status_code == 202
    plain_id = g125.json()["bulkId"]

    unknown = fetch(fed, "DE-nope")
    assert (unknown.status_code, unknown.json()["returnCode"]) == (404, "NMVS_FE_TX_02")
    other = fetch(fed, mixed_id, key="apo2")
    assert (other.status_code, other.json()["returnCode"]) == (404, "NMVS_FE_TX_02")

    crosswise = fetch(fed, mixed_id, code="G188")
    assert (crosswise.status_code, crosswise.json()["returnCode"], crosswise.json()["field"]) == (
        400,
        "NMVS_FE_REQ_02",
        "bulkId",
    )
    assert "G196" in crosswise.json()["detail"]
    for _ in range(400):
        plain = fed.get("DE", f"/fmd/v1/bulk/{plain_id}", key="apo1").json()
        if plain["status"] == "done":
            break
        time.sleep(0.025)
    wrong = fetch(fed, plain_id, code="G196")
    assert (wrong.status_code, wrong.json()["returnCode"]) == (400, "NMVS_FE_REQ_02")
    assert "G188" in wrong.json()["detail"]
    assert fetch(fed, plain_id, code="G188").json()["returnCode"] == "NMVS_SUCCESS"
    resource = fed.get("DE", f"/fmd/v1/bulk/{mixed_id}", key="apo1").json()
    assert (resource["transaction"], resource["returnCode"]) == ("G195", "NMVS_SUCCESS")


def test_a_mixed_bulk_never_goes_intermarket_and_replays_its_answer(fed: Federation) -> None:
    """A product held only in FR is NMVS_NC_PC_01 in a DE G195 (the single G110 goes to FR); the same
    clientTrxId with the same list gets the first answer, with another list NMVS_TE_TX_01."""
    foreign = new_gtin()
    upload(fed, ["F1"], gtin=foreign, markets=("FR",))
    entries = [{"code": "G110", **fields(foreign, "F1")}]
    submitted = submit(fed, entries, trx_id="mixed-replay-1")
    result = wait_done(fed, submitted["bulkId"])
    assert [(r["returnCode"], r["market"], r["alert"]) for r in result["results"]] == [
        ("NMVS_NC_PC_01", "DE", None)
    ]
    single = fed.post("DE", "/fmd/v1/packs/G110", pack(foreign, "F1", trx()), key="apo1").json()
    assert (single["returnCode"], single["market"]) == ("NMVS_SUCCESS", "FR")

    again = fed.post(
        "DE", "/fmd/v1/packs/G195", {"clientTrxId": "mixed-replay-1", "packs": entries}, key="apo1"
    )
    assert (again.status_code, again.json()["bulkId"]) == (202, submitted["bulkId"])
    other = [{"code": "G120", **fields(foreign, "F1")}]
    refused = fed.post(
        "DE", "/fmd/v1/packs/G195", {"clientTrxId": "mixed-replay-1", "packs": other}, key="apo1"
    )
    assert (refused.status_code, refused.json()["returnCode"]) == (409, "NMVS_TE_TX_01")


@pytest.mark.parametrize(
    ("packs", "field", "expected"),
    [
        ("G120", "packs", "expected a list of packs"),
        ([], "packs", "1 to 1000 packs"),
        ([{"code": "G110", "scan": "x"}] * (MAX_BULK_PACKS + 1), "packs", "found 1001"),
        ([{"code": "G110", "scan": "x"}, {"code": "G125", "scan": "x"}], "packs[1].code", "found 'G125'"),
        ([{"scan": "x"}], "packs[0].code", "found nothing"),
        ([{"code": "G196", "scan": "x"}], "packs[0].code", "verify, decommission or undo code"),
        ([{"code": "G188", "scan": "x"}], "packs[0].code", "G110, G120, G121"),
        ([{"code": 120, "scan": "x"}], "packs[0].code", "found 120"),
        (["G120"], "packs[0]", "expected an object"),
    ],
)
def test_input_errors_name_the_field_and_what_was_expected(
    fed: Federation, packs: Any, field: str, expected: str
) -> None:
    response = fed.post("DE", "/fmd/v1/packs/G195", {"clientTrxId": trx(), "packs": packs}, key="apo1")
    body = response.json()
    assert (response.status_code, body["returnCode"], body["field"]) == (400, "NMVS_FE_REQ_02", field)
    assert expected in body["detail"]


def test_a_mixed_bulk_without_client_trx_id_is_an_input_error(fed: Federation) -> None:
    response = fed.post("DE", "/fmd/v1/packs/G195", {"packs": [{"code": "G110", "scan": "x"}]}, key="apo1")
    assert (response.status_code, response.json()["field"]) == (400, "clientTrxId")


# --------------------------------------------------------------------------- in process: while it runs

PHARMACY = Client("apo-1", Role.PHARMACY, "LOC-1", "apo-1")


@pytest.fixture
def storage(store_url: str) -> Iterator[Storage]:
    opened = seeded_national_storage(store_url, ["S1", "S2", "S3"])
    yield opened
    opened.close()


def test_g196_answers_fi_bat_01_until_the_job_is_done(storage: Storage) -> None:
    """Given a G195 job queued on a node whose worker has not run it yet, G196 answers NMVS_FI_BAT_01 with
    the progress; once the worker ran it, the results in the submitted order (SQLite and PostgreSQL)."""
    system = NationalSystem(storage)  # not started: no worker takes the job until the test runs it

    def item(code: str, serial: str) -> dict[str, str]:
        return {"code": code, "productCode": GTIN, "serialNumber": serial, "batch": "B1", "expiry": "301231"}

    async def run() -> tuple[Any, Any, Any]:
        packs = [item("G120", "S1"), item("G110", "S1"), item("G121", "S1"), item("G130", "S2")]
        submitted = await system.transact("G195", {"clientTrxId": "mixed-wait", "packs": packs}, PHARMACY)
        assert submitted.status == 202, submitted.body
        bulk_id = submitted.body["bulkId"]
        waiting = await system.transact("G196", {"bulkId": bulk_id}, PHARMACY)
        await system.bulk._run(bulk_id)  # what the worker does
        await system.bulk.wait(bulk_id)  # on PostgreSQL the job is finished in the background
        done = await system.transact("G196", {"bulkId": bulk_id}, PHARMACY)
        return bulk_id, waiting, orjson.loads(orjson.dumps(done.body))

    bulk_id, waiting, done = asyncio.run(run())
    assert (waiting.status, waiting.body["returnCode"], waiting.body["status"]) == (
        200,
        "NMVS_FI_BAT_01",
        "queued",
    )
    assert (waiting.body["bulkId"], waiting.body["packs"], waiting.body["done"]) == (bulk_id, 4, 0)
    assert "results" not in waiting.body
    assert done["returnCode"] == "NMVS_SUCCESS"
    assert [
        (r["transaction"], r["pack"]["serialNumber"], r["pack"]["state"], r["pack"]["reason"])
        for r in done["results"]
    ] == [
        ("G120", "S1", "INACTIVE", "SUPPLIED"),
        ("G110", "S1", "INACTIVE", "SUPPLIED"),
        ("G121", "S1", "ACTIVE", None),
        ("G130", "S2", "INACTIVE", "DESTROYED"),
    ]


# --------------------------------------------------------------------------- the parser, fuzzed

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
_CODES = st.sampled_from([c.value for c in TransactionCode] + ["G1", "g120", ""])
_ENTRY = st.fixed_dictionaries(
    {"code": _CODES | _JSON},
    optional={
        "productCode": st.sampled_from([GTIN, "9506000134352", "123"]) | _JSON,
        "serialNumber": st.text(max_size=25) | _JSON,
        "batch": st.text(max_size=25) | _JSON,
        "expiry": st.sampled_from(["301231", "3012", "301200"]) | _JSON,
        "scan": st.text(max_size=40) | _JSON,
        "clientTrxId": _JSON,
    },
)
_BODY = _JSON | st.fixed_dictionaries(
    {},
    optional={
        "clientTrxId": st.text(max_size=110) | _JSON,
        "packs": st.lists(_ENTRY | _JSON, max_size=6) | _JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(_BODY)
def test_the_mixed_bulk_parser_raises_only_input_errors(body: Any) -> None:
    """Whatever JSON a client sends, reading a G195 request — and then each of its packs — gives a
    request or an :class:`FmdInputError` naming a field, never another exception."""
    try:
        mixed = read_mixed_bulk(body)
    except FmdInputError as exc:
        assert exc.field == "body" or exc.field.startswith(("packs", "clientTrxId"))
        return
    assert 1 <= len(mixed.packs) == len(mixed.codes) <= MAX_BULK_PACKS
    assert set(mixed.codes) <= set(MIXABLE_CODES)
    for index, item in enumerate(mixed.packs):
        try:
            code, request = mixed_pack_request(index, item, f"job#{index}")
        except FmdInputError as exc:
            assert exc.field.startswith(f"packs[{index}].")
            continue
        assert code is mixed.codes[index] and request.client_trx_id == f"job#{index}"
