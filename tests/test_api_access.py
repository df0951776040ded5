"""Access control through every endpoint: party A never reads party B's events.

B captures events A may not see (distinct EPCs, event type, bizStep, disposition, locations) and one
that names A as owning party (which A may see). Every endpoint is then asked by A: the answer is
``404`` or an empty page, and B's private identifiers appear in no answer at all. Requests without
a valid credential get ``401`` with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from urllib.parse import quote, unquote

import pytest

from test_api_support import (
    PARTY_A,
    PARTY_C,
    Node,
    document,
    event_list,
    make_node,
    object_event,
    sgtin,
)

B_LOCATION = "urn:epc:id:sgln:4012345.00009.0"
B_READ_POINT = "urn:epc:id:sgln:4012345.00009.7"
B_PARENT = "urn:epc:id:sscc:4012345.0000000099"


def _b_private_epc(i: int) -> str:
    return sgtin("4012345", "022222", 900 + i)


@pytest.fixture
def world(store_url: str) -> Iterator[tuple[Node, dict[str, str]]]:
    """A node where A and B captured; returns it and B's private values by kind."""
    for node in make_node(store_url):
        node.capture(node.key_a, document([object_event(sgtin("4012345", "011111", i)) for i in range(1, 4)]))
        private = [
            object_event(
                _b_private_epc(i),
                biz_step="destroying",
                disposition="destroyed",
                read_point=B_READ_POINT,
                biz_location=B_LOCATION,
                owner=PARTY_C if i == 1 else None,
            )
            for i in range(1, 3)
        ]
        aggregation = {
            "type": "AggregationEvent",
            "eventTime": "2024-03-02T10:00:00.000+01:00",
            "eventTimeZoneOffset": "+01:00",
            "parentID": B_PARENT,
            "childEPCs": [_b_private_epc(3)],
            "action": "ADD",
            "bizStep": "packing",
        }
        shared = object_event(sgtin("4012345", "033333", 1), biz_step="receiving", owner=PARTY_A)
        job = node.capture(node.key_b, document([*private, aggregation, shared]))
        assert job["captured"] == 4
        b_events = event_list(node.client.get("/epcis/events", headers=node.b).json())
        ids = {e["eventID"]: e for e in b_events}
        secrets = {
            "epc1": _b_private_epc(1),
            "epc3": _b_private_epc(3),
            "parent": B_PARENT,
            "location": B_LOCATION,
            "read_point": B_READ_POINT,
            "capture": job["captureID"],
        }
        for event_id, event in ids.items():
            if event.get("bizStep") != "receiving":
                secrets[f"id:{event['eventID']}"] = event_id
        node.client.post(
            "/epcis/queries", json={"name": "b-all", "query": {"EQ_bizStep": ["destroying"]}}, headers=node.b
        )
        yield node, secrets


def _assert_no_secret(text: str, secrets: dict[str, str], where: str) -> None:
    for name, value in secrets.items():
        assert value not in text, f"{where} leaks B's {name}"
        assert quote(value, safe="") not in text, f"{where} leaks B's {name} (URL-encoded)"


def test_party_a_reads_nothing_of_b_through_any_endpoint(world: tuple[Node, dict[str, str]]) -> None:
    node, secrets = world
    ids = [value for name, value in secrets.items() if name.startswith("id:")]
    assert len(ids) == 3
    empty_or_404 = [
        f"/epcis/epcs/{secrets['epc1']}",
        f"/epcis/epcs/{secrets['epc1']}/events",
        f"/epcis/epcs/{quote('https://id.gs1.org/01/04012345222228/21/901', safe='')}/events",
        f"/epcis/epcs/{secrets['parent']}/events",
        "/epcis/eventTypes/AggregationEvent",
        "/epcis/eventTypes/AggregationEvent/events",
        "/epcis/bizSteps/destroying",
        "/epcis/bizSteps/destroying/events",
        "/epcis/dispositions/destroyed",
        "/epcis/dispositions/destroyed/events",
        f"/epcis/bizLocations/{quote(secrets['location'], safe='')}",
        f"/epcis/bizLocations/{quote(secrets['location'], safe='')}/events",
        f"/epcis/readPoints/{quote(secrets['read_point'], safe='')}",
        f"/epcis/readPoints/{quote(secrets['read_point'], safe='')}/events",
        f"/epcis/capture/{secrets['capture']}",
        "/epcis/queries/b-all",
        "/epcis/queries/b-all/events",
        f"/epcis/events?MATCH_anyEPC={secrets['epc1']}",
        "/epcis/events?EQ_bizStep=destroying",
        f"/epcis/events?EQ_eventID={quote(ids[0], safe='')}",
        *[f"/epcis/events/{quote(event_id, safe='')}" for event_id in ids],
    ]
    for path in empty_or_404:
        response = node.client.get(path, headers=node.a)
        assert response.status_code in (200, 404), (path, response.status_code, response.text)
        if response.status_code == 200 and (path.endswith("events") or "/events?" in path):
            assert event_list(response.json()) == [], path
        asked = unquote(path)  # a value A put in the path may come back in a problem's detail
        _assert_no_secret(response.text, {k: v for k, v in secrets.items() if v not in asked}, path)
    listings = [
        "/epcis/events",
        "/epcis/epcs",
        "/epcis/eventTypes",
        "/epcis/bizSteps",
        "/epcis/dispositions",
        "/epcis/bizLocations",
        "/epcis/readPoints",
        "/epcis/capture",
        "/epcis/queries",
    ]
    for path in listings:
        response = node.client.get(path, headers=node.a)
        assert response.status_code == 200, path
        _assert_no_secret(response.text, secrets, path)
    members = node.client.get("/epcis/bizSteps", headers=node.a).json()["member"]
    assert sorted(members) == ["receiving", "shipping"]  # B's shared event names A as owner
    assert node.client.get("/epcis/eventTypes", headers=node.a).json()["member"] == ["ObjectEvent"]
    assert node.client.delete("/epcis/queries/b-all", headers=node.a).status_code == 404
    assert node.client.get("/epcis/queries/b-all", headers=node.b).status_code == 200


def test_shared_and_owned_events_are_visible(world: tuple[Node, dict[str, str]]) -> None:
    node, _ = world
    seen = event_list(node.client.get("/epcis/events?perPage=100", headers=node.a).json())
    assert len(seen) == 4  # A's three, and B's event naming A as owning party
    assert [e["bizStep"] for e in seen].count("receiving") == 1
    b_seen = event_list(node.client.get("/epcis/events", headers=node.b).json())
    assert len(b_seen) == 4 and all(e["epcList" if "epcList" in e else "childEPCs"] for e in b_seen)


def test_a_page_token_of_b_gives_a_nothing_of_b(world: tuple[Node, dict[str, str]]) -> None:
    node, secrets = world
    first = node.client.get("/epcis/events?perPage=1", headers=node.b)
    token_url = first.links["next"]["url"]
    response = node.client.get(token_url, headers=node.a)
    assert response.status_code in (200, 400), response.text
    _assert_no_secret(response.text, secrets, "B's next page read by A")


def test_a_query_of_a_sees_only_a(world: tuple[Node, dict[str, str]]) -> None:
    node, secrets = world
    created = node.client.post("/epcis/queries", json={"name": "a-all", "query": {}}, headers=node.a)
    assert created.status_code == 201
    response = node.client.get("/epcis/queries/a-all/events?perPage=100", headers=node.a)
    assert len(event_list(response.json())) == 4
    _assert_no_secret(response.text, secrets, "A's query")
    assert [q["name"] for q in node.client.get("/epcis/queries", headers=node.a).json()] == ["a-all"]


UNAUTHENTICATED: list[tuple[str, str]] = [
    ("GET", "/epcis/"),
    ("GET", "/epcis/events"),
    ("GET", "/epcis/events/urn:uuid:1"),
    ("POST", "/epcis/events"),
    ("GET", "/epcis/capture"),
    ("POST", "/epcis/capture"),
    ("GET", "/epcis/capture/abc"),
    ("GET", "/epcis/queries"),
    ("POST", "/epcis/queries"),
    ("GET", "/epcis/queries/x"),
    ("DELETE", "/epcis/queries/x"),
    ("GET", "/epcis/queries/x/events"),
    ("GET", "/epcis/epcs"),
    ("GET", "/epcis/epcs/urn:epc:id:sgtin:4012345.011111.1/events"),
    ("GET", "/epcis/eventTypes"),
    ("GET", "/epcis/bizSteps/shipping"),
    ("GET", "/epcis/bizLocations"),
    ("GET", "/epcis/readPoints/x/events"),
    ("GET", "/epcis/dispositions"),
    ("DELETE", "/epcis/nextPageToken/abc"),
]
"""Every method and path of the REST bindings (a sample of each resource's levels)."""


BAD_CREDENTIALS: list[dict[str, str]] = [
    {},
    {"Authorization": "Bearer not-a-key"},
    {"Authorization": "Basic YTpi"},
    {"Authorization": "Bearer"},
]


def test_401_without_valid_credentials(world: tuple[Node, dict[str, str]]) -> None:
    node, _ = world
    for (method, path), headers in itertools.product(UNAUTHENTICATED, BAD_CREDENTIALS):
        response = node.client.request(method, path, headers=headers, content=b"{}")
        assert response.status_code == 401, (method, path, headers, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["type"] == "epcisException:SecurityException"
