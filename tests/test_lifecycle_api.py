"""``/lifecycle/v1`` over HTTP: trace and recall reach through the app, captures through the app keep
the projection, and a party sees only its part (party A's trace does not show B's events); on SQLite
and PostgreSQL. Also ``packtrail trace`` / ``packtrail recall`` from a local store and over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from packtrail.cli import app
from test_api_support import Node, make_node
from test_cli_store import Server, _free_port
from test_lifecycle_support import (
    GTIN,
    MAKER,
    PHARMACY,
    WHOLESALER,
    aggregate,
    commission,
    document,
    observe,
    pack,
    receive,
    ship,
    sscc,
)

PACKS = [pack(f"API{i}") for i in range(3)]
CASE = sscc(900_001)


@pytest.fixture
def node(store_url: str) -> Iterator[Node]:
    yield from make_node(store_url)


def _chain(node: Node) -> str:
    """A (the maker) commissions, packs and ships to B (the wholesaler); B receives, unpacks one pack and
    ships it to C; A ships a second, lone pack to C. Returns C's API key."""
    key_c = node.store.new_api_key(PHARMACY)
    maker = [
        commission(PACKS, 0, lot="API-LOT"),
        aggregate(CASE, PACKS[:2], 1),
        ship([CASE], 10, MAKER, WHOLESALER),
    ]
    node.capture(node.key_a, document(maker))
    node.capture(node.key_a, document([ship(PACKS[2:], 11, MAKER, PHARMACY)]))
    wholesaler = [receive([CASE], 20, WHOLESALER), aggregate(CASE, PACKS[:1], 21, action="DELETE")]
    wholesaler.append(ship(PACKS[:1], 30, WHOLESALER, PHARMACY))
    node.capture(node.key_b, document(wholesaler))
    node.capture(key_c, document([receive(PACKS[:1], 40, PHARMACY)]))
    return key_c


def _trace(node: Node, key: str, identifier: str) -> Any:
    return node.client.get(f"/lifecycle/v1/trace/{quote(identifier, safe='')}", headers=node.headers(key))


def test_trace_and_recall_over_http_respect_visibility(node: Node) -> None:
    key_c = _chain(node)
    response = _trace(node, node.key_a, PACKS[0])
    assert response.status_code == 200, response.text
    a_view = response.json()
    assert [e["bizStep"] for e in a_view["events"]] == ["commissioning", "packing", "shipping"]
    assert a_view["current"]["state"] == "in_transit"
    b_view = _trace(node, node.key_b, PACKS[0]).json()
    assert [e["bizStep"] for e in b_view["events"]] == ["shipping", "receiving", "unpacking", "shipping"]
    assert all(e["event"].get("bizStep") != "packing" for e in b_view["events"])  # A's packing is A's
    assert [o["party"] for o in b_view["owners"]] == [WHOLESALER, PHARMACY]
    c_view = _trace(node, key_c, "(01)" + GTIN + "(21)API0").json()
    assert [e["bizStep"] for e in c_view["events"]] == ["shipping", "receiving"]
    assert c_view["current"]["state"] == "received"
    assert _trace(node, node.key_b, PACKS[2]).status_code == 404  # A shipped it to C: B never saw it
    assert _trace(node, node.key_a, "urn:epc:id:sgtin:not-valid").status_code == 400
    assert node.client.get(f"/lifecycle/v1/trace/{quote(PACKS[0], safe='')}").status_code == 401

    reach = node.client.get(f"/lifecycle/v1/recall/{GTIN}/API-LOT", headers=node.a).json()
    assert (
        reach["packs"] == 1 and reach["list"][0]["identifier"] == PACKS[2]
    )  # the one whose last event is A's
    reach_c = node.client.get(
        f"/lifecycle/v1/recall/{GTIN}/API-LOT?limit=1", headers=node.headers(key_c)
    ).json()
    assert reach_c["packs"] == 2 and len(reach_c["list"]) == 1
    assert reach_c["byOwner"] == [{"owner": PHARMACY, "packs": 2}]
    assert node.client.get("/lifecycle/v1/recall/12345/API-LOT", headers=node.a).status_code == 400


def test_exception_hides_a_conflicting_event_the_party_may_not_see(node: Node) -> None:
    key_c = node.store.new_api_key(PHARMACY)
    node.capture(
        node.key_a,
        document(
            [
                commission(PACKS[:1], 0),
                observe(PACKS[:1], 1, "destroying", disposition="destroyed", action="DELETE"),
            ]
        ),
    )
    node.capture(key_c, document([ship(PACKS[:1], 5, PHARMACY, WHOLESALER)]))
    admin_view = [x for x in _trace(node, node.key_a, PACKS[0]).json()["exceptions"]]
    assert admin_view == []  # A may not see C's shipment, nor its exception
    c_view = _trace(node, key_c, PACKS[0]).json()
    assert [(x["reason"], x["conflictingEventID"]) for x in c_view["exceptions"]] == [
        ("shipped_decommissioned", None)
    ]


def test_openapi_documents_the_lifecycle_routes(node: Node) -> None:
    paths = node.client.get("/openapi.json").json()["paths"]
    assert "/lifecycle/v1/trace/{identifier}" in paths
    assert "/lifecycle/v1/recall/{gtin}/{lot}" in paths
    assert paths["/lifecycle/v1/trace/{identifier}"]["get"]["security"]


def test_cli_trace_and_recall_from_a_store_and_over_http(node: Node, store_url: str) -> None:
    _chain(node)
    runner = CliRunner()
    local = runner.invoke(app, ["trace", f"{GTIN} API0", "--db", store_url, "--json"])
    assert local.exit_code == 0, local.output
    assert json.loads(local.output)["current"]["state"] == "received"
    table = runner.invoke(app, ["trace", PACKS[0], "--db", store_url])
    assert table.exit_code == 0 and "receiving" in table.output and CASE in table.output
    missing = runner.invoke(app, ["trace", pack("NOPE"), "--db", store_url])
    assert missing.exit_code == 1
    invalid = runner.invoke(app, ["trace", "nonsense", "--db", store_url])
    assert invalid.exit_code == 2 and "identifier" in invalid.output
    csv_out = runner.invoke(app, ["recall", GTIN, "API-LOT", "--db", store_url, "--csv"])
    assert csv_out.exit_code == 0
    lines = csv_out.output.strip().splitlines()
    assert lines[0].startswith("identifier,state,") and len(lines) == 4
    summary = runner.invoke(app, ["recall", GTIN, "API-LOT", "--db", store_url])
    assert summary.exit_code == 0 and "3 packs" in summary.output

    server = Server(store_url, _free_port())  # `packtrail serve` on the same store, over real HTTP
    try:
        base = server.url
        remote = runner.invoke(
            app, ["trace", PACKS[0], "--url", f"{base}/epcis", "--key", node.key_b, "--json"]
        )
        assert remote.exit_code == 0, remote.output
        assert json.loads(remote.output)["events"][0]["bizStep"] == "shipping"  # B's part only
        hidden = runner.invoke(app, ["trace", PACKS[2], "--url", base, "--key", node.key_b])
        assert hidden.exit_code == 1
        reach = runner.invoke(app, ["recall", GTIN, "API-LOT", "--url", base, "--key", node.key_b, "--json"])
        assert reach.exit_code == 0 and json.loads(reach.output)["packs"] == 1
        both = runner.invoke(app, ["recall", GTIN, "API-LOT", "--url", base, "--db", store_url])
        assert both.exit_code == 2
    finally:
        server.kill()
