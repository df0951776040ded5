"""Nodes that stop mid-run: the caller gets "temporarily unavailable" at once and nothing changes anywhere.

A killed national system (or hub) refuses connections; the node that needed it answers its client
``NMVS_TI_RT_02`` with HTTP 503 (the test's HTTP client gives up after 5 s, so a hanging node fails
the test), no market stores a change, and the same request with the same ``clientTrxId`` succeeds
once the node is back. Uploads wait in the hub's outbox for a market that is down. EU-21: a
pharmacy queues its dispenses durably while its system is unreachable and replays them later.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fmd_nodes import STANDARD_CLIENTS, Federation, new_gtin, pack, start_federation, trx, upload
from packtrail.fmd.offline import OfflineQueue


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    federation = start_federation(tmp_path_factory.mktemp("fmd-failures"), clients=STANDARD_CLIENTS)
    federation.http.close()
    federation.http = httpx.Client(timeout=5.0)
    try:
        yield federation
    finally:
        federation.stop()


@pytest.fixture
def down(fed: Federation) -> Iterator[list[str]]:
    """Names of nodes a test kills; each is started again afterwards."""
    killed: list[str] = []
    yield killed
    for name in killed:
        node = fed.node(name)
        if node.proc is None:
            node.start()
            if name == "hub":
                node.wait_ready()
            else:
                node.wait_ready(lambda body: body["registered"])


def state(fed: Federation, market: str, key: str, gtin: str, serial: str) -> tuple[str, str | None]:
    answer = fed.post(market, "/fmd/v1/packs/G110", pack(gtin, serial, trx()), key=key).json()
    return answer["pack"]["state"], answer["pack"]["reason"]


def test_intermarket_while_the_holding_market_is_down(fed: Federation, down: list[str]) -> None:
    gtin = new_gtin()
    upload(fed, ["S1", "S2"], gtin=gtin, markets=("FR",))
    assert fed.post("DE", "/fmd/v1/packs/G120", pack(gtin, "S1", trx()), key="apo1").json()["market"] == "FR"
    fed.nationals["FR"].kill()
    down.append("FR")
    body = pack(gtin, "S2", "retry-me")
    answer = fed.post("DE", "/fmd/v1/packs/G120", body, key="apo1")
    assert answer.status_code == 503 and answer.headers["retry-after"]
    assert answer.json()["returnCode"] == "NMVS_TI_RT_02"
    assert "FR" in answer.json()["detail"] and "temporarily unavailable" in answer.json()["detail"]
    fed.restart("FR")
    assert state(fed, "FR", "pharma_fr", gtin, "S2") == ("ACTIVE", None)
    again = fed.post("DE", "/fmd/v1/packs/G120", body, key="apo1")  # the same clientTrxId: nothing was stored
    assert (again.status_code, again.json()["returnCode"], again.json()["market"]) == (
        200,
        "NMVS_SUCCESS",
        "FR",
    )


def test_a_multi_market_change_waits_for_every_market(fed: Federation, down: list[str]) -> None:
    gtin = new_gtin()
    serials = [f"M{n}" for n in range(6)]
    upload(fed, serials, gtin=gtin, markets=("DE", "FR"))
    answers = []
    for n, serial in enumerate(serials):
        if n == 3:  # the other market stops mid-run
            fed.nationals["FR"].kill()
            down.append("FR")
        answers.append(fed.post("DE", "/fmd/v1/packs/G120", pack(gtin, serial, trx()), key="apo1"))
    assert [a.status_code for a in answers] == [200, 200, 200, 503, 503, 503]
    assert {a.json()["returnCode"] for a in answers[3:]} == {"NMVS_TI_RT_02"}
    assert [state(fed, "DE", "apo1", gtin, s)[0] for s in serials] == ["INACTIVE"] * 3 + ["ACTIVE"] * 3
    fed.restart("FR")
    down.clear()
    assert [state(fed, "FR", "pharma_fr", gtin, s)[0] for s in serials] == ["INACTIVE"] * 3 + ["ACTIVE"] * 3
    assert fed.post("DE", "/fmd/v1/packs/G120", pack(gtin, "M4", trx()), key="apo1").status_code == 200
    assert state(fed, "FR", "pharma_fr", gtin, "M4") == ("INACTIVE", "SUPPLIED")


def test_an_upload_waits_in_the_hub_for_a_market_that_is_down(fed: Federation, down: list[str]) -> None:
    gtin = new_gtin()
    fed.nationals["FR"].kill()
    down.append("FR")
    product = fed.post(
        "hub",
        "/hub/v1/products",
        {"productCode": gtin, "name": "Examplin", "markets": ["DE", "FR"]},
        key="mah",
    )
    assert (product.status_code, product.json()["markets"]) == (202, {"DE": "delivered", "FR": "pending"})
    batch = fed.post(
        "hub",
        "/hub/v1/batches",
        {"productCode": gtin, "batch": "B1", "expiry": "281231", "serials": ["U1"]},
        key="mah",
    )
    assert (batch.status_code, batch.json()["markets"]) == (202, {"DE": "delivered", "FR": "pending"})
    assert state(fed, "DE", "apo1", gtin, "U1") == ("ACTIVE", None)
    fed.restart("FR")  # registering again makes the hub deliver what waited, in order
    for _ in range(250):
        if state(fed, "FR", "pharma_fr", gtin, "U1") == ("ACTIVE", None):
            break
        time.sleep(0.02)
    assert state(fed, "FR", "pharma_fr", gtin, "U1") == ("ACTIVE", None)


def test_without_the_hub_a_market_serves_its_own_packs(fed: Federation, down: list[str]) -> None:
    gtin, foreign = new_gtin(), new_gtin()
    upload(fed, ["H1"], gtin=gtin)
    upload(fed, ["F1"], gtin=foreign, markets=("FR",))
    fed.hub.kill()
    down.append("hub")
    assert fed.post("DE", "/fmd/v1/packs/G120", pack(gtin, "H1", trx()), key="apo1").json()["returnCode"] == (
        "NMVS_SUCCESS"
    )
    far = fed.post("DE", "/fmd/v1/packs/G120", pack(foreign, "F1", trx()), key="apo1")
    assert (far.status_code, far.json()["returnCode"]) == (503, "NMVS_TI_RT_02")
    assert "hub" in far.json()["detail"]
    fed.hub.start()
    fed.hub.wait_ready()
    down.clear()
    assert state(fed, "FR", "pharma_fr", foreign, "F1") == ("ACTIVE", None)


def test_eu_21_a_pharmacy_queues_durably_while_its_system_is_down(
    fed: Federation, down: list[str], tmp_path: Path
) -> None:
    """Given the repository is unreachable at dispense, the client queues the UI durably and replays it
    when the repository is reachable — once, however often the replay runs."""
    gtin = new_gtin()
    upload(fed, ["Q1", "Q2"], gtin=gtin)
    queue_file = tmp_path / "pharmacy-queue.db"
    queue = OfflineQueue(queue_file, fed.nationals["DE"].url, fed.keys["apo1"], timeout=2.0)
    fed.nationals["DE"].kill()
    down.append("DE")
    assert queue.send("G120", {"scan": f"(01){gtin}(17)281231(10)B1(21)Q1"}) is None
    assert queue.send("G120", pack(gtin, "Q2", "queued-2")) is None
    assert queue.replay() == [] and queue.pending() == 2
    queue.close()  # the pharmacy's software restarts: the queue is on disk
    fed.restart("DE")
    down.clear()
    queue = OfflineQueue(queue_file, fed.nationals["DE"].url, fed.keys["apo1"], timeout=2.0)
    answers = queue.replay()
    assert [(a["returnCode"], a["pack"]["serialNumber"]) for a in answers] == [
        ("NMVS_SUCCESS", "Q1"),
        ("NMVS_SUCCESS", "Q2"),
    ]
    assert queue.pending() == 0 and queue.replay() == []
    replayed = queue.send("G120", pack(gtin, "Q2", "queued-2"))  # a replay whose answer was lost
    assert replayed is not None and replayed["trxId"] == answers[1]["trxId"]
    queue.close()
    entries = fed.get("DE", "/fmd/v1/audit", key="apo1", productCode=gtin).json()["entries"]
    assert sorted(e["serialNumber"] for e in entries if e["action"] == "G120") == ["Q1", "Q2"]
