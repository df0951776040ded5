"""The EPCIS 2.0 REST bindings end to end over a real store (SQLite and PostgreSQL).

Capture in JSON-LD and XML and read back; capture jobs; limits (413); single-event capture;
pagination with ``Link``; named queries; the top-level resources; content negotiation and the
``GS1-*`` headers; OPTIONS discovery; errors as RFC 7807 problems.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from packtrail.api import APISettings
from packtrail.epcis import read_xml, write_xml
from packtrail.epcis.compare import normalised_events_equal
from packtrail.epcis.jsonld import read_jsonld
from test_api_support import (
    EXAMPLE_NS,
    Node,
    document,
    event_list,
    make_node,
    object_event,
    sgtin,
)

JSON = "application/ld+json"


@pytest.fixture
def node(store_url: str) -> Iterator[Node]:
    """A node over an empty store, once per backend."""
    yield from make_node(store_url)


def _events(n: int, start: int = 1, **fields: Any) -> list[dict[str, Any]]:
    return [object_event(sgtin("4012345", "011111", i), **fields) for i in range(start, start + n)]


def _query(node: Node, path: str = "/epcis/events", **params: Any) -> list[dict[str, Any]]:
    response = node.client.get(path, params=params, headers=node.a)
    assert response.status_code == 200, response.text
    return event_list(response.json())


def _same(stored: dict[str, Any], sent: dict[str, Any]) -> bool:
    trimmed = {k: v for k, v in stored.items() if k not in ("recordTime", "eventID")}
    sent = {k: v for k, v in sent.items() if k != "eventID"}
    return trimmed == sent


# -- capture and read back ---------------------------------------------------------------------------


def test_capture_jsonld_then_query_jsonld(node: Node) -> None:
    sent = _events(3)
    sent[1]["example:lot"] = "L42"
    job = node.capture(node.key_a, document(sent, namespaces={"example": EXAMPLE_NS}))
    assert job["success"] is True and job["captured"] == 3 and job["running"] is False
    response = node.client.get("/epcis/events", headers=node.a)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    assert response.headers["gs1-epcis-version"] == "2.0.0"
    assert response.headers["gs1-cbv-version"] == "2.0.0"
    body = response.json()
    assert body["type"] == "EPCISQueryDocument"
    assert body["epcisBody"]["queryResults"]["queryName"] == "SimpleEventQuery"
    events = event_list(body)
    assert len(events) == 3
    assert all(_same(got, want) for got, want in zip(events, sent, strict=True))
    assert all(e["eventID"].startswith("ni:///sha-256;") and e["recordTime"].endswith("Z") for e in events)
    assert read_jsonld(response.content).namespaces["example"] == EXAMPLE_NS
    assert "example=" + EXAMPLE_NS in response.headers["gs1-extensions"]


def test_capture_xml_then_query_xml(node: Node) -> None:
    sent = _events(2, biz_step="receiving")
    xml = write_xml(read_jsonld(document(sent)))
    response = node.client.post(
        "/epcis/capture", content=xml, headers=node.headers(node.key_a, Content_Type="application/xml")
    )
    assert response.status_code == 202, response.text
    answer = node.client.get("/epcis/events", headers=node.headers(node.key_a, Accept="application/xml"))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    back = read_xml(answer.content)
    assert back.is_query and len(back.events) == 2
    back.events = [{k: v for k, v in e.items() if k not in ("recordTime", "eventID")} for e in back.events]
    assert normalised_events_equal(back, read_jsonld(document(sent))) == []


def test_epcis_1_2_xml_for_a_client_that_speaks_only_1_2(node: Node) -> None:
    node.capture(node.key_a, document(_events(1)))
    answer = node.client.get(
        "/epcis/events", headers=node.headers(node.key_a, Accept="application/xml", GS1_EPCIS_Max="1.2.0")
    )
    assert answer.status_code == 200
    assert b"urn:epcglobal:epcis-query:xsd:1" in answer.content
    assert answer.headers["gs1-epcis-version"] == "1.2.0"
    refused = node.client.get("/epcis/events", headers=node.headers(node.key_a, GS1_EPCIS_Max="1.2.0"))
    assert refused.status_code == 406
    assert refused.json()["type"] == "epcisException:NotAcceptableException"


def test_not_acceptable_media_type(node: Node) -> None:
    response = node.client.get("/epcis/events", headers=node.headers(node.key_a, Accept="text/html"))
    assert response.status_code == 406
    assert response.headers["content-type"] == "application/problem+json"


# -- capture jobs ----------------------------------------------------------------------------------


def test_capture_job_status_list_and_xml(node: Node) -> None:
    body = document(_events(2))
    response = node.client.post(
        "/epcis/capture", content=body, headers=node.headers(node.key_a, Content_Type=JSON)
    )
    assert response.status_code == 202
    location = response.headers["location"]
    assert location.startswith("/epcis/capture/")
    assert response.headers["gs1-epcis-capture-limit"] == "100000"
    job = node.client.get(location, headers=node.a).json()
    assert job["captureID"] == location.rsplit("/", 1)[1]
    assert (job["running"], job["success"], job["captureErrorBehaviour"]) == (False, True, "rollback")
    assert (job["eventCount"], job["captured"], job["duplicates"], job["errors"]) == (2, 2, 0, [])
    assert job["createdAt"].endswith("Z") and job["finishedAt"] >= job["createdAt"]
    again = node.capture(node.key_a, body)
    assert (again["captured"], again["duplicates"], again["success"]) == (0, 2, True)
    listed = node.client.get("/epcis/capture", headers=node.a).json()
    assert {j["captureID"] for j in listed} == {job["captureID"], again["captureID"]}
    xml = node.client.get(location, headers=node.headers(node.key_a, Accept="application/xml"))
    assert xml.status_code == 200 and b"EPCISCaptureJob" in xml.content
    assert node.client.get("/epcis/capture/0123abc", headers=node.a).status_code == 404


def test_rollback_stores_nothing_proceed_stores_the_valid(node: Node) -> None:
    events = _events(3)
    events[1]["action"] = "SOMETIMES"
    rolled = node.capture(node.key_a, document(events))
    assert (rolled["success"], rolled["captured"]) == (False, 0)
    assert rolled["errors"] and rolled["errors"][0]["type"].startswith("epcisException:")
    assert _query(node) == []
    proceeded = node.capture(node.key_a, document(events), GS1_Capture_Error_Behaviour="proceed")
    assert (proceeded["success"], proceeded["captured"], proceeded["captureErrorBehaviour"]) == (
        False,
        2,
        "proceed",
    )
    assert len(_query(node)) == 2


def test_bad_behaviour_header_and_media_type(node: Node) -> None:
    body = document(_events(1))
    bad = node.client.post(
        "/epcis/capture",
        content=body,
        headers=node.headers(node.key_a, Content_Type=JSON, GS1_Capture_Error_Behaviour="sometimes"),
    )
    assert bad.status_code == 400 and "GS1-Capture-Error-Behaviour" in bad.json()["detail"]
    unsupported = node.client.post(
        "/epcis/capture", content=body, headers=node.headers(node.key_a, Content_Type="text/csv")
    )
    assert unsupported.status_code == 415
    assert unsupported.json()["type"] == "epcisException:UnsupportedMediaTypeException"


def test_malformed_document_is_400_and_leaves_a_failed_job(node: Node) -> None:
    response = node.client.post(
        "/epcis/capture", content=b'{"type": "EPCISDocument", "epcisBody": ', headers=node.headers(node.key_a)
    )
    assert response.status_code == 400
    assert response.json()["type"] == "epcisException:ValidationException"
    jobs = node.client.get("/epcis/capture", headers=node.a).json()
    assert [(j["running"], j["success"]) for j in jobs] == [(False, False)]


# -- limits -----------------------------------------------------------------------------------------


@pytest.fixture
def small_node(store_url: str) -> Iterator[Node]:
    yield from make_node(store_url, APISettings(capture_max_events=3, capture_max_bytes=4000))


def test_413_above_the_event_limit(small_node: Node) -> None:
    node = small_node
    options = node.client.options("/epcis/capture")
    assert options.status_code == 204
    assert options.headers["gs1-epcis-capture-limit"] == "3"
    assert options.headers["gs1-epcis-capture-file-size-limit"] == "4000"
    response = node.client.post(
        "/epcis/capture", content=document(_events(4)), headers=node.headers(node.key_a, Content_Type=JSON)
    )
    assert response.status_code == 413
    problem = response.json()
    assert problem["type"] == "epcisException:CaptureLimitExceededException"
    assert response.headers["gs1-epcis-capture-limit"] == "3"
    assert _query(node) == []


def test_413_above_the_size_limit_declared_or_streamed(small_node: Node) -> None:
    node = small_node
    big = document(_events(3, extra_note="x" * 4000))
    declared = node.client.post(
        "/epcis/capture", content=big, headers=node.headers(node.key_a, Content_Type=JSON)
    )
    assert declared.status_code == 413
    assert declared.headers["gs1-epcis-capture-file-size-limit"] == "4000"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the size is only known while reading
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    streamed = node.client.post(
        "/epcis/capture", content=chunks(), headers=node.headers(node.key_a, Content_Type=JSON)
    )
    assert streamed.status_code == 413
    assert _query(node) == []


# -- single events ----------------------------------------------------------------------------------


def test_post_single_event_201_then_409(node: Node) -> None:
    event = object_event(sgtin("4012345", "011111", 77))
    headers = node.headers(node.key_a, Content_Type="application/json")
    created = node.client.post("/epcis/events", content=json.dumps(event), headers=headers)
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location.startswith("/epcis/events/ni%3A%2F%2F%2Fsha-256%3B")
    fetched = node.client.get(location, headers=node.a)
    assert fetched.status_code == 200
    [stored] = event_list(fetched.json())
    assert _same(stored, event) and stored["eventID"] == created.json()["eventID"]
    again = node.client.post("/epcis/events", content=json.dumps(event), headers=headers)
    assert again.status_code == 409
    assert again.json()["type"] == "epcisException:ResourceAlreadyExistsException"


def test_post_single_event_with_its_own_id_and_invalid_ones(node: Node) -> None:
    headers = node.headers(node.key_a, Content_Type="application/json")
    event = object_event(
        sgtin("4012345", "011111", 78), event_id="urn:uuid:2f6d5a3c-8d62-4d5a-9d8f-0a7e0cf1c001"
    )
    created = node.client.post("/epcis/events", content=json.dumps(event), headers=headers)
    assert created.status_code == 201
    assert created.headers["location"] == "/epcis/events/" + quote(event["eventID"], safe="")
    bad = dict(event, eventID="urn:uuid:2f6d5a3c-8d62-4d5a-9d8f-0a7e0cf1c002", action="SOMETIMES")
    refused = node.client.post("/epcis/events", content=json.dumps(bad), headers=headers)
    assert refused.status_code == 400 and refused.json()["errors"]
    whole = node.client.post("/epcis/events", content=document([event]), headers=headers)
    assert whole.status_code == 400 and "/capture" in whole.json()["detail"]
    assert node.client.post("/epcis/events", content=b"[1, 2]", headers=headers).status_code == 400


def test_event_ids_with_reserved_characters(node: Node) -> None:
    event_id = "https://events.example.com/e/7?lot=1,2;run=3"  # "," would split an EQ_eventID value
    event = object_event(sgtin("4012345", "011111", 79), event_id=event_id, **{"example:lot": "L9"})
    job = node.capture(node.key_a, document([event], namespaces={"example": EXAMPLE_NS}))
    assert job["success"], job["errors"]
    response = node.client.get("/epcis/events/" + quote(event_id, safe=""), headers=node.a)
    assert response.status_code == 200, response.text
    [stored] = event_list(response.json())
    assert stored["eventID"] == event_id and stored["example:lot"] == "L9"
    assert read_jsonld(response.content).namespaces == {"example": EXAMPLE_NS}


def test_get_unknown_event_is_404(node: Node) -> None:
    response = node.client.get(
        "/epcis/events/" + quote("urn:uuid:00000000-0000-4000-8000-000000000000", safe=""), headers=node.a
    )
    assert response.status_code == 404
    assert response.json()["type"] == "epcisException:NoSuchResourceException"


# -- queries and pagination ------------------------------------------------------------------------


def test_pages_follow_link_next(node: Node) -> None:
    node.capture(node.key_a, document(_events(5)))
    seen: list[str] = []
    url: str | None = "/epcis/events?perPage=2&EQ_bizStep=shipping"
    pages = 0
    while url:
        response = node.client.get(url, headers=node.a)
        assert response.status_code == 200
        seen += [e["epcList"][0] for e in event_list(response.json())]
        pages += 1
        url = response.links.get("next", {}).get("url")
        if url:
            assert "nextPageToken=" in url and "EQ_bizStep=shipping" in url
    assert pages == 3
    assert seen == [sgtin("4012345", "011111", i) for i in range(1, 6)]


BAD_QUERIES: list[tuple[str, str]] = [
    ("perPage=0", "perPage"),
    ("perPage=abc", "perPage"),
    ("perPage=10001", "perPage"),
    ("perPage=%C2%B2", "perPage"),  # a digit to str.isdigit(), not to int()
    ("GE_eventTime=yesterday", "GE_eventTime"),
    ("EQ_action=SOMETIMES", "EQ_action"),
    ("NOT_aParameter=1", "NOT_aParameter"),
    ("nextPageToken=forged", "nextPageToken"),
]
"""Query strings to refuse, with the parameter the problem must name."""


def test_bad_query_parameters_are_400_problems(node: Node) -> None:
    for query, parameter in BAD_QUERIES:
        response = node.client.get(f"/epcis/events?{query}", headers=node.a)
        assert response.status_code == 400, (query, response.text)
        problem = response.json()
        assert problem["type"] == "epcisException:QueryParameterException", query
        assert parameter in problem["detail"], query


def test_max_event_count_is_413(node: Node) -> None:
    node.capture(node.key_a, document(_events(3)))
    response = node.client.get("/epcis/events?maxEventCount=2", headers=node.a)
    assert response.status_code == 413
    assert response.json()["type"] == "epcisException:QueryTooLargeException"


def test_epc_format_header(node: Node) -> None:
    node.capture(node.key_a, document(_events(1)))
    dl = node.client.get(
        "/epcis/events", headers=node.headers(node.key_a, GS1_EPC_Format="Always_GS1_Digital_Link")
    )
    assert event_list(dl.json())[0]["epcList"] == ["https://id.gs1.org/01/04012345111118/21/1"]
    assert dl.headers["gs1-epc-format"] == "Always_GS1_Digital_Link"
    urn = node.client.get("/epcis/events", headers=node.headers(node.key_a, GS1_EPC_Format="Always_EPC_URN"))
    assert event_list(urn.json())[0]["epcList"] == [sgtin("4012345", "011111", 1)]
    bad = node.client.get("/epcis/events", headers=node.headers(node.key_a, GS1_EPC_Format="Sometimes"))
    assert bad.status_code == 400


# -- named queries ---------------------------------------------------------------------------------


def test_named_query_lifecycle(node: Node) -> None:
    node.capture(node.key_a, document([*_events(2), *_events(1, start=10, biz_step="receiving")]))
    definition = {"name": "shipped", "query": {"EQ_bizStep": ["shipping"]}}
    created = node.client.post("/epcis/queries", json=definition, headers=node.a)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/epcis/queries/shipped"
    duplicate = node.client.post("/epcis/queries", json=definition, headers=node.a)
    assert duplicate.status_code == 409
    assert node.client.get("/epcis/queries/shipped", headers=node.a).json() == definition
    assert node.client.get("/epcis/queries", headers=node.a).json() == [definition]
    events = node.client.get("/epcis/queries/shipped/events", headers=node.a)
    assert events.status_code == 200
    assert events.json()["epcisBody"]["queryResults"]["queryName"] == "shipped"
    assert len(event_list(events.json())) == 2
    paged = node.client.get("/epcis/queries/shipped/events?perPage=1", headers=node.a)
    assert len(event_list(paged.json())) == 1 and "next" in paged.links
    follow = node.client.get(paged.links["next"]["url"], headers=node.a)
    assert len(event_list(follow.json())) == 1 and "next" not in follow.links
    assert node.client.delete("/epcis/queries/shipped", headers=node.a).status_code == 204
    gone = node.client.get("/epcis/queries/shipped/events", headers=node.a)
    assert gone.status_code == 404 and gone.json()["type"] == "epcisException:NoSuchNameException"
    assert node.client.delete("/epcis/queries/shipped", headers=node.a).status_code == 404


def test_named_query_refuses_a_bad_definition(node: Node) -> None:
    bad_query = node.client.post(
        "/epcis/queries", json={"name": "q", "query": {"GE_eventTime": "soon"}}, headers=node.a
    )
    assert bad_query.status_code == 400 and "GE_eventTime" in bad_query.json()["detail"]
    no_name = node.client.post("/epcis/queries", json={"query": {}}, headers=node.a)
    assert no_name.status_code == 400
    slash = node.client.post("/epcis/queries", json={"name": "a/b", "query": {}}, headers=node.a)
    assert slash.status_code == 400
    assert node.client.get("/epcis/queries", headers=node.a).json() == []


# -- top-level resources ---------------------------------------------------------------------------


def test_resources_list_item_and_events(node: Node) -> None:
    node.capture(
        node.key_a,
        document([*_events(2), *_events(1, start=5, biz_step="receiving", disposition="in_progress")]),
    )
    epc1 = sgtin("4012345", "011111", 1)
    expected = {
        "eventTypes": ["ObjectEvent"],
        "bizSteps": ["receiving", "shipping"],
        "dispositions": ["in_progress", "in_transit"],
        "readPoints": ["urn:epc:id:sgln:4012345.00001.0"],
        "bizLocations": ["urn:epc:id:sgln:4012345.00002.0"],
    }
    for resource, members in expected.items():
        response = node.client.get(f"/epcis/{resource}", headers=node.a)
        assert response.status_code == 200, resource
        assert response.json()["type"] == "Collection"
        assert sorted(response.json()["member"]) == members
    assert len(node.client.get("/epcis/epcs", headers=node.a).json()["member"]) == 3
    paged = node.client.get("/epcis/bizSteps?perPage=1", headers=node.a)
    assert paged.json()["member"] == ["receiving"] and "next" in paged.links
    assert node.client.get(paged.links["next"]["url"], headers=node.a).json()["member"] == ["shipping"]
    for path, count in [
        ("/epcis/eventTypes/ObjectEvent/events", 3),
        ("/epcis/bizSteps/shipping/events", 2),
        ("/epcis/dispositions/in_progress/events", 1),
        ("/epcis/readPoints/" + quote("urn:epc:id:sgln:4012345.00001.0", safe="") + "/events", 3),
        ("/epcis/bizLocations/urn:epc:id:sgln:4012345.00002.0/events", 3),
        (f"/epcis/epcs/{epc1}/events", 1),
        ("/epcis/epcs/" + quote("https://id.gs1.org/01/04012345111118/21/1", safe="") + "/events", 1),
        ("/epcis/bizSteps/shipping/events?EQ_disposition=in_transit&perPage=5", 2),
    ]:
        response = node.client.get(path, headers=node.a)
        assert response.status_code == 200, (path, response.text)
        assert len(event_list(response.json())) == count, path
    item = node.client.get("/epcis/bizSteps/shipping", headers=node.a)
    assert item.status_code == 200 and item.json()["member"] == ["events"]
    assert node.client.get("/epcis/bizSteps/destroying", headers=node.a).status_code == 404
    assert node.client.get(f"/epcis/epcs/{epc1}", headers=node.a).status_code == 200
    conflict = node.client.get("/epcis/bizSteps/shipping/events?EQ_bizStep=receiving", headers=node.a)
    assert conflict.status_code == 400


def test_top_level_and_options_discovery(node: Node) -> None:
    top = node.client.get("/epcis/", headers=node.a)
    assert top.status_code == 200 and "eventTypes" in top.json()["member"]
    for path, allow in [
        ("/epcis/", "OPTIONS, GET"),
        ("/epcis/events", "OPTIONS, GET, POST"),
        ("/epcis/events/urn:uuid:1", "OPTIONS, GET"),
        ("/epcis/capture/abc", "OPTIONS, GET"),
        ("/epcis/queries", "OPTIONS, GET, POST"),
        ("/epcis/queries/x", "OPTIONS, GET, DELETE"),
        ("/epcis/queries/x/events", "OPTIONS, GET"),
        ("/epcis/epcs", "OPTIONS, GET"),
        ("/epcis/epcs/urn:epc:id:sgtin:4012345.011111.1/events", "OPTIONS, GET"),
        ("/epcis/bizLocations/urn:epc:id:sgln:4012345.00002.0", "OPTIONS, GET"),
    ]:
        response = node.client.options(path)
        assert response.status_code == 204, path
        assert response.headers["allow"] == allow, path
        assert response.headers["gs1-epcis-version"] == "2.0.0"
        assert response.headers["gs1-cbv-version"] == "2.0.0"
        assert "Always_EPC_URN" in response.headers["gs1-epc-format"]


def test_problems_in_xml_for_xml_clients(node: Node) -> None:
    response = node.client.get(
        "/epcis/capture/nothing", headers=node.headers(node.key_a, Accept="application/xml")
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+xml"
    assert b"<type>epcisException:NoSuchResourceException</type>" in response.content


def test_request_validation_errors_are_problems() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from packtrail.api.problems import install_problem_handlers

    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/count")
    def count(n: int) -> dict[str, int]:
        return {"n": n}

    response = TestClient(app).get("/count?n=many")
    assert response.status_code == 400
    problem = response.json()
    assert problem["type"] == "epcisException:QueryParameterException" and "query.n" in problem["detail"]


def test_unknown_path_and_method_are_problems(node: Node) -> None:
    missing = node.client.get("/epcis/nothing", headers=node.a)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    method = node.client.put("/epcis/events", headers=node.a)
    assert method.status_code == 405 and method.json()["status"] == 405
    token = node.client.delete("/epcis/nextPageToken/abc", headers=node.a)
    assert token.status_code == 204


def test_served_openapi_documents_gs1_parameters(node: Node) -> None:
    spec = node.client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in [
        "/epcis/capture",
        "/epcis/capture/{captureID}",
        "/epcis/events",
        "/epcis/events/{eventID}",
        "/epcis/queries",
        "/epcis/queries/{queryName}",
        "/epcis/queries/{queryName}/events",
        "/epcis/eventTypes/{eventType}/events",
        "/epcis/epcs/{epc}/events",
        "/epcis/bizSteps",
        "/epcis/dispositions/{disposition}",
    ]:
        assert path in paths, path
    names = {p["name"] for p in paths["/epcis/events"]["get"]["parameters"]}
    assert {
        "EQ_bizStep",
        "GE_eventTime",
        "MATCH_anyEPC",
        "perPage",
        "nextPageToken",
        "GS1-EPC-Format",
    } <= names
    assert "bizStep" in spec["components"]["schemas"]
    assert node.client.get("/docs").status_code == 200
