"""The reference's catalogue 6.1 over real HTTP between real node processes (a hub, DE and FR).

The rules themselves are tested row by row on the domain core (``test_fmd_catalogue.py``); here
each row runs end to end: the manufacturer uploads through the hub, pharmacies and wholesalers
send NMVS transactions to their national system, answers, alerts, audit entries and the hub's
routing are checked where the row names them. Every test uses its own product code, so the
tests share one set of nodes. EU-17 is a benchmark (``bench/bench_fmd.py``); EU-21 and the
"node down" rows are in ``test_fmd_node_failures.py``.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from fmd_nodes import (
    STANDARD_CLIENTS,
    Federation,
    eventually,
    federation_running,
    new_gtin,
    pack,
    trx,
    upload,
)
from packtrail.fmd import (
    Batch,
    BatchUpload,
    Client,
    PackRecord,
    PackRequest,
    ProductMaster,
    ProductUpload,
    Reason,
    Role,
    TransactionCode,
    accept_batch,
    accept_product,
    apply,
    policy_for,
)

_webhook_port = 0


class _Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        _Webhook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def webhook() -> Iterator[list[dict[str, Any]]]:
    """The manufacturer's own alert endpoint: a small HTTP server collecting what the hub POSTs."""
    global _webhook_port
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    _webhook_port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Webhook.received.clear()
    try:
        yield _Webhook.received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory, webhook: list[dict[str, Any]]) -> Iterator[Federation]:
    url = f"http://127.0.0.1:{_webhook_port}/alerts"
    clients = [
        (node, key, {**fields, "webhook": url} if key == "mah" else fields)
        for node, key, fields in STANDARD_CLIENTS
    ]
    with federation_running(tmp_path_factory.mktemp("fmd-catalogue"), clients=clients) as federation:
        yield federation


@pytest.fixture
def clock(fed: Federation) -> Iterator[Any]:
    """Set every node's clock for one test; back to real time afterwards."""
    yield fed.set_clock
    fed.set_clock(datetime.now(UTC).isoformat())


def run(
    fed: Federation, code: str, key: str, gtin: str, serial: str, *, market: str = "DE", **kw: str
) -> Any:
    response = fed.post(market, f"/fmd/v1/packs/{code}", pack(gtin, serial, trx(), **kw), key=key)
    assert response.status_code == 200, response.text
    return response.json()


def codes(answer: dict[str, Any]) -> tuple[str, str | None, str | None, str | None]:
    return answer["returnCode"], answer["alert"], answer["pack"]["state"], answer["pack"]["reason"]


def wait_bulk(fed: Federation, bulk_id: str, key: str, market: str = "DE") -> dict[str, Any]:
    for _ in range(400):
        body = fed.get(market, f"/fmd/v1/bulk/{bulk_id}", key=key).json()
        if body["status"] == "done":
            return dict(body)
        time.sleep(0.025)
    raise AssertionError(f"bulk {bulk_id} not done: {body}")


def bulk(
    fed: Federation, code: str, key: str, packs: list[dict[str, str]], market: str = "DE"
) -> dict[str, Any]:
    submitted = fed.post(market, f"/fmd/v1/packs/{code}", {"clientTrxId": trx(), "packs": packs}, key=key)
    assert submitted.status_code == 202, submitted.text
    return wait_bulk(fed, submitted.json()["bulkId"], key, market)


def feed(fed: Federation, key: str, node: str = "hub") -> list[dict[str, Any]]:
    path = "/hub/v1/alerts/feed" if node == "hub" else "/fmd/v1/alerts/feed"
    return list(fed.get(node, path, key=key, limit=1000).json()["events"])


# --------------------------------------------------------------------------- EU-01


def test_eu_01_upload_reaches_every_market_and_duplicates_are_refused(fed: Federation) -> None:
    """Given an OBP uploads batch B (PC, expiry, 10,000 SNs, markets {DE, FR}), when the upload completes,
    then every pack is Active in DE and FR; re-uploading an existing PC+SN fails with NMVS_FE_SN_02; the
    same batch with another expiry fails NMVS_FE_LOT_02."""
    gtin = new_gtin()
    serials = [f"SN{n:07d}" for n in range(10_000)]
    upload(fed, serials, gtin=gtin, batch="B", markets=("DE", "FR"))
    sample = random.Random(1).sample(serials, 1000)
    for market, key in (("DE", "apo1"), ("FR", "pharma_fr")):
        result = bulk(fed, "G115", key, [pack(gtin, s, "", batch="B") for s in sample], market=market)
        assert result["returnCode"] == "NMVS_SUCCESS"
        assert {(r["returnCode"], r["pack"]["state"], r["market"]) for r in result["results"]} == {
            ("NMVS_SUCCESS", "ACTIVE", market)
        }
    again = fed.post(
        "hub", "/hub/v1/batches", {"productCode": gtin, "batch": "B2", "expiry": "281231", "serials": ["N1", serials[7]]},
        key="mah",
    )  # fmt: skip
    assert again.status_code == 409
    assert (again.json()["returnCode"], again.json()["field"]) == ("NMVS_FE_SN_02", "serials[1]")
    other_expiry = fed.post(
        "hub",
        "/hub/v1/batches",
        {"productCode": gtin, "batch": "B", "expiry": "281130", "serials": ["N2"]},
        key="mah",
    )
    assert (other_expiry.status_code, other_expiry.json()["returnCode"]) == (409, "NMVS_FE_LOT_02")
    # A refused upload stores nothing, anywhere.
    nothing = run(fed, "G110", "apo1", gtin, "N1", batch="B2")
    assert nothing["returnCode"] == "NMVS_FE_LOT_03"


# --------------------------------------------------------------------------- EU-02


def test_eu_02_verify_writes_an_audit_entry_and_no_alert(fed: Federation) -> None:
    """Given an Active pack and the correct PC/SN/batch/expiry, when G110 verify, then success, state
    Active, no alert, audit entry written."""
    gtin = new_gtin()
    upload(fed, ["S1"], gtin=gtin)
    answer = run(fed, "G110", "apo1", gtin, "S1")
    assert codes(answer) == ("NMVS_SUCCESS", None, "ACTIVE", None)
    assert answer["alertRaised"] is False and answer["trxId"].startswith("DE-")
    entries = fed.get("DE", "/fmd/v1/audit", key="apo1", productCode=gtin, serialNumber="S1").json()[
        "entries"
    ]
    assert [(e["action"], e["trxId"], e["returnCode"], e["actor"]) for e in entries] == [
        ("G110", answer["trxId"], "NMVS_SUCCESS", "apo-1")
    ]
    assert not [e for e in feed(fed, "nca", "DE") if e["alert"]["scanned"]["productCode"] == gtin]


# --------------------------------------------------------------------------- EU-03


@pytest.mark.parametrize("code", ["G110", "G120"])
def test_eu_03_intermarket_for_single_packs_only(fed: Federation, code: str) -> None:
    """Given a PC unknown in DE but known in FR, when a single-pack G110/G120 in DE, then the request is
    routed via the hub to FR and answered; a bulk G115 for the same pack returns NMVS_NC_PC_01 without
    intermarket."""
    gtin = new_gtin()
    upload(fed, ["S1"], gtin=gtin, markets=("FR",))
    answer = run(fed, code, "apo1", gtin, "S1")
    state = "ACTIVE" if code == "G110" else "INACTIVE"
    assert (answer["returnCode"], answer["market"], answer["intermarket"], answer["pack"]["state"]) == (
        "NMVS_SUCCESS",
        "FR",
        True,
        state,
    )
    assert run(fed, "G110", "pharma_fr", gtin, "S1", market="FR")["pack"]["state"] == state
    # The caller's market records the transaction in its own audit trail, naming where it went.
    entries = fed.get("DE", "/fmd/v1/audit", key="apo1", productCode=gtin).json()["entries"]
    assert entries[-1]["detail"]["intermarket"] == "FR"

    result = bulk(fed, "G125", "apo1", [pack(gtin, "S1", "")])
    assert result["results"][0]["returnCode"] == "NMVS_NC_PC_01"
    assert result["results"][0]["market"] == "DE"
    assert run(fed, "G110", "pharma_fr", gtin, "S1", market="FR")["pack"]["state"] == state


def test_eu_03_unknown_everywhere_is_a1(fed: Federation) -> None:
    """No market knows the product code: NMVS_NC_PC_01 with alert #A1, raised where it was scanned."""
    answer = run(fed, "G110", "apo1", new_gtin(), "S1")
    assert (answer["returnCode"], answer["alert"], answer["market"]) == ("NMVS_NC_PC_01", "A1", "DE")
    assert any(e["alertId"] == answer["alertId"] for e in feed(fed, "nca", "DE"))


# --------------------------------------------------------------------------- EU-04 … EU-08


def test_eu_04_to_08_alerts_reach_the_owner_with_what_was_scanned_and_what_is_on_file(
    fed: Federation, webhook: list[dict[str, Any]]
) -> None:
    """A2, A3, A68, A52 and a case-changed serial (A3): each alert reaches the product's owner through the
    hub's feed and its webhook with who, where, when, what was scanned and what is on file — and only
    that owner."""
    gtin = new_gtin()
    upload(fed, ["abc123"], gtin=gtin, batch="B1")
    upload(fed, ["S2"], gtin=gtin, batch="B2")
    cases = {
        "A2": run(fed, "G110", "apo1", gtin, "X9", batch="NOPE"),
        "A3": run(fed, "G110", "apo1", gtin, "X9", batch="B1"),
        "A68": run(fed, "G110", "apo1", gtin, "abc123", batch="B2"),
        "A52": run(fed, "G110", "apo1", gtin, "abc123", batch="B1", expiry="281230"),
        "case": run(fed, "G110", "apo1", gtin, "ABC123", batch="B1"),
    }
    expected = {
        "A2": "NMVS_FE_LOT_03",
        "A3": "NMVS_NC_PC_02",
        "A68": "NMVS_FE_LOT_13",
        "A52": "NMVS_FE_LOT_12",
        "case": "NMVS_NC_PC_02",
    }
    assert {k: (a["returnCode"], a["alert"]) for k, a in cases.items()} == {
        k: (code, "A3" if k == "case" else k) for k, code in expected.items()
    }
    wanted = {a["alertId"] for a in cases.values()}
    mine = eventually(
        lambda: {
            e["alertId"]: e["alert"] for e in feed(fed, "mah") if e["alert"]["scanned"]["productCode"] == gtin
        },
        lambda found: set(found) == wanted,
    )
    assert set(mine) == {a["alertId"] for a in cases.values()}
    a68 = mine[cases["A68"]["alertId"]]
    assert (a68["scanned"]["batch"], a68["onFile"]["batch"]) == ("B2", "B1")
    assert (a68["who"], a68["where"]) == (
        {"clientId": "apo-1", "user": "apo-1"},
        {"location": "L1", "market": "DE"},
    )
    a52 = mine[cases["A52"]["alertId"]]
    assert (a52["scanned"]["expiry"], a52["onFile"]["expiry"]) == ("281230", "281231")
    assert a52["raisedAt"] and a52["status"] == "new" and a52["owner"] == "mah-1"
    # The owner's webhook got each alert too, with the same context.
    pushed = eventually(
        lambda: {e["alertId"] for e in webhook if e["alert"]["scanned"]["productCode"] == gtin},
        lambda ids: ids == wanted,
    )
    assert pushed == wanted
    # Another manufacturer sees none of them.
    assert not [e for e in feed(fed, "mah2") if e["alert"]["scanned"]["productCode"] == gtin]


# --------------------------------------------------------------------------- EU-09 … EU-16


def test_eu_09_dispense_is_audited_with_user_location_time_and_client_trx_id(fed: Federation) -> None:
    """Given an Active pack, when G120 at L1, then Inactive/Supplied, and the audit records user,
    location, time and the client's transaction id."""
    gtin = new_gtin()
    upload(fed, ["S1"], gtin=gtin)
    body = pack(gtin, "S1", "pharmacy-own-id-9")
    answer = fed.post("DE", "/fmd/v1/packs/G120", body, key="apo1").json()
    assert codes(answer) == ("NMVS_SUCCESS", None, "INACTIVE", "SUPPLIED")
    entries = fed.get("DE", "/fmd/v1/audit", key="nca", productCode=gtin, serialNumber="S1").json()["entries"]
    (entry,) = [e for e in entries if e["action"] == "G120"]
    assert (entry["actor"], entry["user"], entry["location"], entry["clientTrxId"]) == (
        "apo-1",
        "apo-1",
        "L1",
        "pharmacy-own-id-9",
    )
    assert entry["at"] == answer["timestamp"]


def test_eu_10_second_dispense_here_is_a7_elsewhere_a24(fed: Federation) -> None:
    gtin = new_gtin()
    upload(fed, ["S1"], gtin=gtin)
    assert run(fed, "G120", "apo1", gtin, "S1")["returnCode"] == "NMVS_SUCCESS"
    assert codes(run(fed, "G120", "apo1", gtin, "S1")) == ("NMVS_NC_PCK_19", "A7", "INACTIVE", "SUPPLIED")
    assert codes(run(fed, "G120", "apo2", gtin, "S1")) == ("NMVS_NC_PCK_22", "A24", "INACTIVE", "SUPPLIED")


def test_eu_11_and_16_recall_withdrawal_expiry_give_a_code_and_no_alert(fed: Federation, clock: Any) -> None:
    """Recalled batch (NMVS_FE_LOT_01), withdrawn product (NMVS_FE_LOT_08), expired pack (NMVS_NC_PCK_02):
    a code and no alert; recall and withdrawal are irreversible and a withdrawn product takes no batch."""
    gtin, gone, old = new_gtin(), new_gtin(), new_gtin()
    upload(fed, ["R1", "R2"], gtin=gtin, batch="RB", markets=("DE", "FR"))
    upload(fed, ["W1"], gtin=gone, markets=("DE", "FR"))
    upload(fed, ["E1"], gtin=old, expiry="270131")
    recall = fed.post("hub", f"/hub/v1/products/{gtin}/batches/RB/recall", key="mah")
    assert recall.status_code == 201 or recall.status_code == 200, recall.text
    assert set(recall.json()["markets"].values()) == {"delivered"}
    assert fed.post("hub", f"/hub/v1/products/{gtin}/batches/RB/recall", key="mah2").status_code == 409
    assert fed.post("hub", f"/hub/v1/products/{gone}/withdraw", key="mah").status_code in (200, 201)
    for market, key in (("DE", "apo1"), ("FR", "pharma_fr")):
        recalled = run(fed, "G120", key, gtin, "R1", batch="RB", market=market)
        assert (
            codes(recalled) == ("NMVS_FE_LOT_01", None, "INACTIVE", "RECALLED")
            and not recalled["alertRaised"]
        )
        withdrawn = run(fed, "G120", key, gone, "W1", market=market)
        assert codes(withdrawn) == ("NMVS_FE_LOT_08", None, "INACTIVE", "WITHDRAWN")
    refused = fed.post(
        "hub",
        "/hub/v1/batches",
        {"productCode": gone, "batch": "NEW", "expiry": "281231", "serials": ["W9"]},
        key="mah",
    )
    assert (refused.status_code, refused.json()["returnCode"]) == (409, "NMVS_FE_LOT_08")
    assert run(fed, "G171", "apo1", gtin, "R2", batch="RB")["returnCode"] == "NMVS_FE_LOT_01"
    clock("2027-02-01T09:00:00+00:00")
    expired = run(fed, "G120", "apo1", old, "E1", expiry="270131")
    assert codes(expired) == ("NMVS_NC_PCK_02", None, "INACTIVE", "EXPIRED") and not expired["alertRaised"]


def test_eu_12_undo_window_and_party_over_http(fed: Federation, clock: Any) -> None:
    """Supplied at L1 at t0: undo at L1 at t0+239 h -> Active; at t0+241 h -> NMVS_NC_PCK_20; at L2 ->
    NMVS_NC_PCK_21. The nodes' test clock is set over HTTP (``--clock-control``)."""
    gtin = new_gtin()
    upload(fed, ["S1", "S2", "S3"], gtin=gtin)
    t0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    clock(t0.isoformat())
    for serial in ("S1", "S2", "S3"):
        assert run(fed, "G120", "apo1", gtin, serial)["returnCode"] == "NMVS_SUCCESS"
    assert codes(run(fed, "G121", "apo2", gtin, "S3")) == ("NMVS_NC_PCK_21", None, "INACTIVE", "SUPPLIED")
    clock((t0 + timedelta(hours=239)).isoformat())
    assert codes(run(fed, "G121", "apo1", gtin, "S1")) == ("NMVS_SUCCESS", None, "ACTIVE", None)
    clock((t0 + timedelta(hours=241)).isoformat())
    late = run(fed, "G121", "apo1", gtin, "S2")
    assert (late["returnCode"], late["pack"]["reason"], late["alertRaised"]) == (
        "NMVS_NC_PCK_20",
        "SUPPLIED",
        True,
    )


def test_eu_13_14_15_undo_rules_over_http(fed: Federation, clock: Any) -> None:
    """Stolen/destroyed packs are never undone; an unlock 30 days later works; an undo of another type
    is NMVS_NC_PCK_06 with A24."""
    gtin = new_gtin()
    upload(fed, ["ST", "DS", "LK", "SP"], gtin=gtin)
    t0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    clock(t0.isoformat())
    assert run(fed, "G180", "apo1", gtin, "ST")["returnCode"] == "NMVS_SUCCESS"
    assert run(fed, "G130", "apo1", gtin, "DS")["returnCode"] == "NMVS_SUCCESS"
    assert run(fed, "G170", "apo1", gtin, "LK")["returnCode"] == "NMVS_SUCCESS"
    assert run(fed, "G120", "apo1", gtin, "SP")["returnCode"] == "NMVS_SUCCESS"
    for serial, reason in (("ST", "STOLEN"), ("DS", "DESTROYED")):
        for undo in ("G121", "G151", "G161", "G171"):
            assert codes(run(fed, undo, "apo1", gtin, serial)) == (
                "NMVS_NC_PCK_06",
                "A24",
                "INACTIVE",
                reason,
            )
    assert codes(run(fed, "G141", "gh", gtin, "SP")) == ("NMVS_NC_PCK_06", "A24", "INACTIVE", "SUPPLIED")
    clock((t0 + timedelta(days=30)).isoformat())
    assert codes(run(fed, "G171", "apo1", gtin, "LK")) == ("NMVS_SUCCESS", None, "ACTIVE", None)


# --------------------------------------------------------------------------- EU-18


def test_eu_18_audit_is_readable_by_its_generator_and_the_authority_only(fed: Federation) -> None:
    """A pharmacy reads its own entries and sees pack states, never another party's transactions; the
    authority reads everything and, for an alert, the pack's whole history; a manufacturer sees its own
    products only."""
    gtin = new_gtin()
    upload(fed, ["S1", "S2"], gtin=gtin)
    mine = run(fed, "G120", "apo1", gtin, "S1")
    seen = run(fed, "G110", "apo2", gtin, "S1")  # apo-2 sees the state, not who dispensed it
    assert codes(seen) == ("NMVS_SUCCESS", None, "INACTIVE", "SUPPLIED")
    assert "apo-1" not in str(seen) and "L1" not in str(seen)
    apo2 = fed.get("DE", "/fmd/v1/audit", key="apo2", productCode=gtin).json()["entries"]
    assert {e["actor"] for e in apo2} == {"apo-2"}
    everything = fed.get("DE", "/fmd/v1/audit", key="nca", productCode=gtin).json()["entries"]
    assert {"apo-1", "apo-2", "mah-1"} <= {e["actor"] for e in everything}
    assert mine["trxId"] in {e.get("trxId") for e in everything}
    assert all(
        datetime.fromisoformat(e["retainUntil"]) >= datetime(2029, 12, 31, tzinfo=UTC) for e in everything
    )

    alert = run(fed, "G120", "apo2", gtin, "S1")  # A24
    assert fed.get("DE", f"/fmd/v1/alerts/{alert['alertId']}", key="apo1").status_code == 404
    assert fed.get("DE", f"/fmd/v1/alerts/{alert['alertId']}", key="mah2_de").status_code == 404
    investigated = fed.get("DE", f"/fmd/v1/alerts/{alert['alertId']}", key="nca").json()
    assert [e["actor"] for e in investigated["audit"] if e["action"] == "G120"] == ["apo-1", "apo-2"]
    assert "audit" not in fed.get("DE", f"/fmd/v1/alerts/{alert['alertId']}", key="apo2").json()

    other = fed.post("DE", "/fmd/v1/packs/G110", pack(gtin, "S2", trx()), key="mah2_de")
    assert (other.status_code, other.json()["returnCode"]) == (403, "NMVS_FE_AU_08")
    assert run(fed, "G110", "mah_de", gtin, "S2")["returnCode"] == "NMVS_SUCCESS"
    assert fed.post("DE", "/fmd/v1/packs/G110", pack(gtin, "S2", trx())).status_code == 401
    wrong = fed.http.post(
        fed.nationals["DE"].url + "/fmd/v1/packs/G110", json=pack(gtin, "S2", trx()),
        headers={"authorization": "Bearer fmd_not-a-key"},
    )  # fmt: skip
    assert (wrong.status_code, wrong.json()["returnCode"]) == (401, "NMVS_FE_AU_01")


def test_alert_lifecycle_is_driven_by_the_authority_and_fed_to_the_owner(fed: Federation) -> None:
    """new -> under_investigation -> escalated -> closed (with a reason); a pharmacy may not move it;
    every step reaches the owner's feed on the hub."""
    gtin = new_gtin()
    upload(fed, ["S1"], gtin=gtin)
    alert_id = run(fed, "G110", "apo1", gtin, "NOPE")["alertId"]
    path = f"/fmd/v1/alerts/{alert_id}/status"
    assert fed.post("DE", path, {"status": "under_investigation"}, key="apo1").status_code == 403
    assert fed.post("DE", path, {"status": "escalated"}, key="nca").status_code == 400
    for status in ("under_investigation", "escalated"):
        assert fed.post("DE", path, {"status": status}, key="nca").json()["status"] == status
    assert fed.post("DE", path, {"status": "closed"}, key="nca").json()["field"] == "reason"
    closed = fed.post("DE", path, {"status": "closed", "reason": "06b end user technical error"}, key="nca")
    assert (closed.json()["status"], closed.json()["closeReason"]) == (
        "closed",
        "06b end user technical error",
    )
    assert fed.post("DE", path, {"status": "new"}, key="nca").status_code == 400
    steps = eventually(
        lambda: [e["status"] for e in feed(fed, "mah") if e["alertId"] == alert_id], lambda s: len(s) == 4
    )
    assert steps == ["new", "under_investigation", "escalated", "closed"]


# --------------------------------------------------------------------------- EU-19, EU-20


def test_eu_19_bulk_is_asynchronous_with_per_pack_results(fed: Federation) -> None:
    """Given a bulk G125 of 500 packs, 3 invalid, when submitted then fetched with G188, then an async id,
    per-pack codes, overall NMVS_NC_PCK_24."""
    gtin = new_gtin()
    serials = [f"P{n:04d}" for n in range(497)]
    upload(fed, serials, gtin=gtin)
    packs = [pack(gtin, s, "") for s in serials] + [
        pack(gtin, "UNKNOWN", ""),
        pack(gtin, serials[0], "", batch="OTHER"),
        {"scan": "(01)" + gtin + "(17)281231(10)B1"},  # no serial: an input error for that pack only
    ]
    for p in packs:
        p.pop("clientTrxId", None)
    body = {"clientTrxId": trx(), "packs": packs}
    submitted = fed.post("DE", "/fmd/v1/packs/G125", body, key="apo1")
    assert submitted.status_code == 202
    bulk_id = submitted.json()["bulkId"]
    result = wait_bulk(fed, bulk_id, "apo1")
    again = fed.post("DE", "/fmd/v1/packs/G125", body, key="apo1")  # a replay: the first answer, no new job
    assert (again.status_code, again.json()) == (202, submitted.json())
    assert result["returnCode"] == "NMVS_NC_PCK_24" and len(result["results"]) == 500
    assert [r["returnCode"] for r in result["results"][-3:]] == [
        "NMVS_NC_PC_02",
        "NMVS_FE_LOT_13",
        "NMVS_FE_REQ_02",
    ]
    assert {r["returnCode"] for r in result["results"][:497]} == {"NMVS_SUCCESS"}
    via_g188 = fed.post("DE", "/fmd/v1/packs/G188", {"bulkId": bulk_id}, key="apo1").json()
    assert via_g188["results"] == result["results"]
    assert fed.get("DE", f"/fmd/v1/bulk/{bulk_id}", key="apo2").json()["returnCode"] == "NMVS_FE_TX_02"
    assert fed.get("DE", "/fmd/v1/bulk/NOPE", key="apo1").status_code == 404
    assert run(fed, "G110", "apo2", gtin, serials[100])["pack"]["reason"] == "SUPPLIED"


def test_eu_20_a_replayed_client_trx_id_changes_nothing(fed: Federation) -> None:
    """The same request again returns the first answer and changes nothing; another request under the
    same clientTrxId is NMVS_TE_TX_01 (HTTP 409) and changes nothing."""
    gtin = new_gtin()
    upload(fed, ["S1", "S2"], gtin=gtin)
    body = pack(gtin, "S1", "dispense-42")
    first = fed.post("DE", "/fmd/v1/packs/G120", body, key="apo1")
    again = fed.post("DE", "/fmd/v1/packs/G120", body, key="apo1")
    assert first.json() == again.json() and again.json()["returnCode"] == "NMVS_SUCCESS"
    other = fed.post("DE", "/fmd/v1/packs/G120", pack(gtin, "S2", "dispense-42"), key="apo1")
    assert (other.status_code, other.json()["returnCode"]) == (409, "NMVS_TE_TX_01")
    assert run(fed, "G110", "apo1", gtin, "S2")["pack"]["state"] == "ACTIVE"
    entries = fed.get("DE", "/fmd/v1/audit", key="apo1", productCode=gtin, serialNumber="S1").json()[
        "entries"
    ]
    assert [e["action"] for e in entries] == ["G120"]  # the replay wrote nothing
    # Another client may use the same id for its own request.
    assert fed.post("DE", "/fmd/v1/packs/G110", body, key="apo2").json()["returnCode"] == "NMVS_SUCCESS"
    # A scan is read with packtrail.gs1; a broken one is an input error, never an alert.
    broken = fed.post("DE", "/fmd/v1/packs/G110", {"scan": "(01)12345", "clientTrxId": trx()}, key="apo1")
    assert broken.status_code == 400 and broken.json()["field"] == "scan"
    scanned = fed.post(
        "DE",
        "/fmd/v1/packs/G110",
        {"scan": f"]d201{gtin}17281231102B\x1d21S2", "clientTrxId": trx()},
        key="apo1",
    )
    assert scanned.json()["returnCode"] == "NMVS_FE_LOT_13"  # S2 is on file under B1, not 2B
    scanned = fed.post(
        "DE",
        "/fmd/v1/packs/G110",
        {"scan": f"]d201{gtin}1728123110B1\x1d21S2", "clientTrxId": trx()},
        key="apo1",
    )
    assert codes(scanned.json()) == ("NMVS_SUCCESS", None, "ACTIVE", None)


def test_multi_market_state_change_reaches_every_market(fed: Federation) -> None:
    """A pack held in DE and FR: a dispense in DE makes it Supplied in FR too; FR's undo attempt is
    from another party (NMVS_NC_PCK_21); DE's undo reactivates it in both."""
    gtin = new_gtin()
    upload(fed, ["M1"], gtin=gtin, markets=("DE", "FR"))
    assert run(fed, "G120", "apo1", gtin, "M1")["returnCode"] == "NMVS_SUCCESS"
    assert codes(run(fed, "G110", "pharma_fr", gtin, "M1", market="FR"))[2:] == ("INACTIVE", "SUPPLIED")
    assert run(fed, "G121", "pharma_fr", gtin, "M1", market="FR")["returnCode"] == "NMVS_NC_PCK_21"
    assert run(fed, "G121", "apo1", gtin, "M1")["returnCode"] == "NMVS_SUCCESS"
    assert codes(run(fed, "G110", "pharma_fr", gtin, "M1", market="FR"))[2:] == ("ACTIVE", None)


def test_input_errors_name_the_field(fed: Federation, tmp_path: Path) -> None:
    gtin = new_gtin()
    bad = fed.post(
        "DE", "/fmd/v1/packs/G110", {**pack(gtin, "S1", trx()), "expiry": "2028-12-31"}, key="apo1"
    )
    assert (bad.status_code, bad.json()["field"], bad.json()["returnCode"]) == (
        400,
        "expiry",
        "NMVS_FE_LOT_07",
    )
    assert fed.post("DE", "/fmd/v1/packs/G999", pack(gtin, "S1", trx()), key="apo1").json()["field"] == "code"
    raw = fed.http.post(
        fed.nationals["DE"].url + "/fmd/v1/packs/G110", content=b"{not json",
        headers={"authorization": f"Bearer {fed.keys['apo1']}"},
    )  # fmt: skip
    assert (raw.status_code, raw.json()["returnCode"]) == (400, "NMVS_TE_JS_01")
    too_many = fed.post("DE", "/fmd/v1/packs/G115", {"clientTrxId": trx(), "packs": [{}] * 1001}, key="apo1")
    assert (too_many.status_code, too_many.json()["field"]) == (400, "packs")
    assert fed.post("DE", "/fmd/v1/internal/sync", {}).status_code == 401  # no federation key
    assert fed.post("hub", "/hub/v1/products", {"productCode": gtin}, key="mah").json()["field"] == "name"


# --------------------------------------------------------------------------- randomised, across nodes

ACTORS = {  # key -> (market, client as the rules see it at home)
    "apo1": ("DE", Client("apo-1", Role.PHARMACY, "L1", "apo-1")),
    "apo2": ("DE", Client("apo-2", Role.PHARMACY, "L2", "apo-2")),
    "gh": ("DE", Client("gh-1", Role.WHOLESALER, "W1", "gh-1")),
    "pharma_fr": ("FR", Client("ph-1", Role.PHARMACY, "P1", "ph-1")),
}
SINGLE_CODES = [c for c in TransactionCode if c.is_single_pack]


def test_a_random_sequence_across_nodes_follows_the_rules_everywhere(fed: Federation) -> None:
    """Random transactions by pharmacies and a wholesaler in DE and FR on packs held in DE and FR, in DE
    only and in FR only (so locally, intermarket and synchronised): every answer is the one the rules
    give, and afterwards every market holding a pack shows the state the rules say — never a destroyed or
    stolen pack active again, never two markets disagreeing."""
    rng = random.Random(20260301)
    mah = Client("mah-1", Role.MANUFACTURER, "M1", "mah-1")
    now = datetime.now(UTC)
    layout = {"both": ("DE", "FR"), "de": ("DE",), "fr": ("FR",)}
    products: dict[str, ProductMaster] = {}
    batches: dict[str, Batch] = {}
    packs: dict[tuple[str, str], PackRecord] = {}
    held: dict[str, tuple[str, ...]] = {}
    for name, markets in layout.items():
        gtin = new_gtin()
        serials = [f"{name.upper()}{n}" for n in range(4)]
        upload(fed, serials, gtin=gtin, markets=markets)
        upload_json = {"productCode": gtin, "name": "Examplin 10 mg", "markets": list(markets)}
        products[gtin] = accept_product(ProductUpload.from_json(upload_json), None, mah, now)
        batch_json = {"productCode": gtin, "batch": "B1", "expiry": "281231", "serials": serials}
        accepted = accept_batch(BatchUpload.from_json(batch_json), products[gtin], None, set(), mah, now)
        batches[gtin] = accepted.batch
        packs.update({(gtin, p.serial): p for p in accepted.packs})
        held[gtin] = markets
    ever_final: set[tuple[str, str]] = set()
    for step in range(150):
        key = rng.choice(list(ACTORS))
        market, home_client = ACTORS[key]
        gtin, serial = rng.choice(list(packs))
        code = rng.choice(SINGLE_CODES)
        where = market if market in held[gtin] else held[gtin][0]
        client = home_client if where == market else Client(
            f"{market}/{home_client.client_id}", home_client.role, f"{market}/{home_client.location}", home_client.user
        )  # fmt: skip
        request = PackRequest.create(
            product_code=gtin, serial=serial, batch="B1", expiry="281231", client_trx_id=f"rand-{step}"
        )
        expected, new = apply(
            code,
            request,
            packs[(gtin, serial)],
            products[gtin],
            batches[gtin],
            client,
            now,
            policy_for(where),
        )
        answer = run(fed, code.value, key, gtin, serial, market=market)
        observed = (answer["returnCode"], answer["alert"], answer["pack"]["state"], answer["pack"]["reason"])
        wanted = (
            expected.return_code.value,
            None if expected.alert is None else expected.alert.value,
            None if expected.state is None else expected.state.value,
            None if expected.reason is None else expected.reason.value,
        )
        assert observed == wanted, f"step {step}: {key} {code.value} {serial} in {where}"
        # An operation the caller's role may not perform is refused at home, before any routing.
        assert answer["market"] == (market if expected.return_code.value == "NMVS_FE_BR_01" else where)
        if (gtin, serial) in ever_final:
            assert answer["pack"]["state"] != "ACTIVE", f"step {step}: {serial} came back"
        if new is not None:
            packs[(gtin, serial)] = new
            if new.reason in (Reason.DESTROYED, Reason.STOLEN):
                ever_final.add((gtin, serial))
    for (gtin, serial), record in packs.items():
        for market in held[gtin]:
            key = "apo1" if market == "DE" else "pharma_fr"
            seen = run(fed, "G110", key, gtin, serial, market=market)
            assert (seen["pack"]["state"], seen["pack"]["reason"]) == (
                record.state.value,
                None if record.reason is None else record.reason.value,
            ), f"{serial} in {market}"
