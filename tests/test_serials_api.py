"""``/serials/v1``: pools, allocations, returns and reports over HTTP, with the access rules."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

with warnings.catch_warnings():  # Starlette suggests httpx2; the test client works with httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from packtrail.api import APISettings, create_app
from packtrail.store import open_store

GTIN = "04012345111118"
OWNER = "4012345000009"  # GS1 Company Prefix 4012345, like the GTIN: its brand owner
LINE = "4012345000016"  # a packaging line of the same company
CMO = "0614141000005"  # a contract packager
STRANGER = "5012345000008"


@dataclass
class Node:
    client: TestClient
    keys: dict[str, str]

    def as_(self, party: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[party]}"}


@pytest.fixture
def node(store_url: str) -> Iterator[Node]:
    store = open_store(store_url)
    try:
        keys = {gln: store.add_party(gln, f"party {gln}") for gln in (OWNER, LINE, CMO, STRANGER)}
        app = create_app(store, APISettings())  # the node serves /serials/v1 beside /epcis
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Node(client, keys)
    finally:
        store.close()


def _allocate(node: Node, party: str, **body: Any) -> Any:
    return node.client.post("/serials/v1/allocations", json={"gtin": GTIN, **body}, headers=node.as_(party))


def test_pools_and_allocations_by_the_brand_owner(node: Node) -> None:
    pool = node.client.post(
        "/serials/v1/pools",
        json={"gtin": GTIN, "alphabet": "alphanumeric", "length": 10},
        headers=node.as_(OWNER),
    )
    assert pool.status_code == 201, pool.text
    assert (pool.json()["alphabet"], pool.json()["numberSpace"]) == (
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        str(36**10),
    )
    response = _allocate(node, OWNER, count=1000, to=CMO)
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/serials/v1/allocations/{body['id']}"
    assert (body["to"], body["count"], body["pool"], body["length"]) == (CMO, 1000, pool.json()["id"], 10)
    assert len(set(body["serials"])) == 1000
    own = _allocate(node, LINE, count=10)  # same company prefix; "to" defaults to the caller
    assert own.status_code == 201 and own.json()["to"] == LINE

    for party in (CMO, STRANGER):
        assert _allocate(node, party, count=10).status_code == 403
        refused = node.client.post("/serials/v1/pools", json={"gtin": GTIN}, headers=node.as_(party))
        assert refused.status_code == 403
        assert refused.json()["type"] == "epcisException:SecurityException"
    assert node.client.post("/serials/v1/allocations", json={"gtin": GTIN, "count": 1}).status_code == 401


def test_refusal_carries_the_probability(node: Node) -> None:
    assert _allocate(node, OWNER, count=9, alphabet="numeric", length=5).status_code == 201
    refused = _allocate(node, OWNER, count=2, alphabet="numeric", length=5)
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"] == "serialsException:GuessProbabilityException"
    assert (problem["probability"], problem["bound"], problem["guessProbability"]) == (
        "11/100000",
        "1/10000",
        1.1e-4,
    )
    assert (problem["issued"], problem["requested"], problem["numberSpace"]) == (9, 2, "100000")
    assert "11/100,000 = 1.100e-04" in problem["detail"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"count": 0}, 400, "count"),
        ({"count": 1_000_001}, 400, "count"),
        ({"count": 5, "gtin": "04012345111119"}, 400, "gtin: AI (01): GTIN check digit should be 8"),
        ({"count": 5, "alphabet": "AB#"}, 400, "alphabet: '#' at character 3"),
        ({"count": 5, "length": 4}, 400, "length: 10 characters ** 4 = 10,000 serials"),
        ({"count": 5, "to": "4012345000017"}, 400, "to: AI (414): GLN check digit"),
        ({"count": 5, "pool": 99}, 400, "pool: no pool 99"),
        ({"count": 5, "colour": "red"}, 400, "colour"),
    ],
)
def test_invalid_allocations(node: Node, body: dict[str, Any], status: int, fragment: str) -> None:
    response = _allocate(node, OWNER, **body)
    assert response.status_code == status, response.text
    assert response.json()["type"] == "epcisException:ValidationException"
    assert fragment in response.json()["detail"]


def test_recipient_reads_and_returns_its_allocation(node: Node) -> None:
    allocation = _allocate(node, OWNER, count=100, to=CMO).json()
    path = f"/serials/v1/allocations/{allocation['id']}"
    read = node.client.get(path, headers=node.as_(CMO))
    assert read.status_code == 200
    assert read.json()["serials"] == sorted(allocation["serials"])
    assert "serials" not in node.client.get(f"{path}?serials=false", headers=node.as_(OWNER)).json()
    assert node.client.get(path, headers=node.as_(STRANGER)).status_code == 404
    assert node.client.get("/serials/v1/allocations/424242", headers=node.as_(OWNER)).status_code == 404

    unused = allocation["serials"][:30]
    returned = node.client.post(f"{path}/return", json={"serials": unused}, headers=node.as_(CMO))
    assert returned.status_code == 200, returned.text
    assert returned.json() == {"allocation": allocation["id"], "returned": 30, "alreadyReturned": 0}
    again = node.client.post(f"{path}/return", json={"serials": unused[:5]}, headers=node.as_(OWNER))
    assert again.json() == {"allocation": allocation["id"], "returned": 0, "alreadyReturned": 5}
    foreign = node.client.post(f"{path}/return", json={"serials": ["X1", unused[0]]}, headers=node.as_(CMO))
    assert foreign.status_code == 400 and foreign.json()["serials"] == ["X1"]
    stranger = node.client.post(f"{path}/return", json={"serials": unused}, headers=node.as_(STRANGER))
    assert stranger.status_code == 404


def test_report_is_whole_for_the_owner_and_own_share_for_a_recipient(node: Node) -> None:
    cmo = _allocate(node, OWNER, count=40, to=CMO).json()
    _allocate(node, OWNER, count=60, to=LINE)
    node.client.post(
        f"/serials/v1/allocations/{cmo['id']}/return",
        json={"serials": cmo["serials"][:4]},
        headers=node.as_(CMO),
    )
    whole = node.client.get(f"/serials/v1/report/{GTIN}", headers=node.as_(OWNER)).json()
    assert (whole["issued"], whole["byStatus"]) == (100, {"allocated": 96, "returned": 4})
    assert [(r["to"], r["issued"], r["returned"]) for r in whole["byRecipient"]] == [
        (CMO, 40, 4),
        (LINE, 60, 0),
    ]
    assert whole["guessProbability"] == 1e-10 and len(whole["pools"]) == 1
    share = node.client.get("/serials/v1/report/4012345111118", headers=node.as_(CMO)).json()
    assert (share["issued"], share["byStatus"]) == (40, {"allocated": 36, "returned": 4})
    assert [r["to"] for r in share["byRecipient"]] == [CMO] and "pools" not in share
    bad = node.client.get("/serials/v1/report/123", headers=node.as_(OWNER))
    assert bad.status_code == 400 and bad.json()["detail"].startswith("gtin:")


def test_openapi_describes_the_serial_routes(node: Node) -> None:
    paths = node.client.get("/openapi.json").json()["paths"]
    assert {"post"} <= set(paths["/serials/v1/allocations"])
    assert "/serials/v1/allocations/{allocation_id}/return" in paths
    assert "/serials/v1/report/{gtin}" in paths
