"""Hostile and malformed capture bodies: refused with a clear 4xx, nothing stored, never a 500.

Deep nesting, a 10 MB string, XML entity expansion ("billion laughs") and external entities,
random bytes, and a property-based sweep of mutated documents.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packtrail.store import Viewer
from test_api_support import (
    Node,
    document,
    make_node,
    object_event,
    sgtin,
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2024-03-01T10:00:00Z">
 <EPCISBody><EventList><ObjectEvent>
  <eventTime>2024-03-01T10:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
  <epcList><epc>urn:epc:id:sgtin:4012345.011111.1</epc></epcList>
  <action>OBSERVE</action><bizStep>&lol9;</bizStep>
 </ObjectEvent></EventList></EPCISBody>
</epcis:EPCISDocument>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2024-03-01T10:00:00Z">
 <EPCISBody><EventList><ObjectEvent>
  <eventTime>2024-03-01T10:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
  <epcList><epc>urn:epc:id:sgtin:4012345.011111.1</epc></epcList>
  <action>OBSERVE</action><bizStep>&secret;</bizStep>
 </ObjectEvent></EventList></EPCISBody>
</epcis:EPCISDocument>
"""


@pytest.fixture
def node(store_url: str) -> Iterator[Node]:
    """A node over an empty store, once per backend."""
    yield from make_node(store_url)


def _nothing_stored(node: Node) -> None:
    assert node.store.distinct_values("eventTypes", Viewer.admin()) == ([], None)


def _refused(node: Node, body: bytes, content_type: str) -> None:
    """The capture is refused: a 4xx problem, or 202 with a failed job; nothing stored either way."""
    response = node.client.post(
        "/epcis/capture", content=body, headers=node.headers(node.key_a, Content_Type=content_type)
    )
    assert response.status_code in (202, 400, 413, 415), response.text[:500]
    if response.status_code == 202:
        job = response.json()
        assert job["success"] is False and job["captured"] == 0, job
        assert job["errors"] and all(e.get("detail") for e in job["errors"])
    else:
        problem = response.json()
        assert problem["type"].startswith("epcisException:") and problem.get("detail")
    _nothing_stored(node)


def test_deep_nesting_is_refused(node: Node) -> None:
    depth = 100_000
    nested = b"[" * depth + b"]" * depth
    body = document([object_event(sgtin("4012345", "011111", 1))]).replace(
        b'"OBSERVE"', b'"OBSERVE", "x:deep": ' + nested
    )
    _refused(node, body, "application/ld+json")
    deep_xml = (
        b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2024-03-01T10:00:00Z">'
        + b"<a>" * 50_000
        + b"</a>" * 50_000
        + b"</epcis:EPCISDocument>"
    )
    _refused(node, deep_xml, "application/xml")


def test_a_ten_megabyte_string_is_refused(node: Node) -> None:
    huge = "urn:example:" + "x" * (10 * 1024 * 1024)
    body = document([object_event(sgtin("4012345", "011111", 1), biz_step=huge)])
    _refused(node, body, "application/ld+json")
    body = document(
        [object_event(sgtin("4012345", "011111", 2), **{"example:note": huge})],
        namespaces={"example": "https://ns.example.com/"},
    )
    _refused(node, body, "application/ld+json")


def test_xml_entity_expansion_and_external_entities_are_refused(node: Node) -> None:
    _refused(node, BILLION_LAUGHS, "application/xml")
    response = node.client.post(
        "/epcis/capture",
        content=EXTERNAL_ENTITY,
        headers=node.headers(node.key_a, Content_Type="application/xml"),
    )
    assert b"root:" not in response.content
    _refused(node, EXTERNAL_ENTITY, "application/xml")


def test_garbage_bodies_are_4xx(node: Node) -> None:
    for body, media in [
        (b"\x00\xff\xfe garbage", "application/json"),
        (b"<not-epcis/>", "application/xml"),
        (b'{"type": "EPCISDocument"}', "application/json"),
        (b"[]", "application/json"),
        (b"null", "application/json"),
        (b" ", "application/json"),
        (b'{"type": "EPCISDocument", "x": "\\ud800"}', "application/json"),
    ]:
        _refused(node, body, media)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(data=st.data())
def test_mutated_documents_never_500(node: Node, data: st.DataObject) -> None:
    base = json.loads(document([object_event(sgtin("4012345", "011111", 1))]))
    event = base["epcisBody"]["eventList"][0]
    key = data.draw(st.sampled_from(sorted(event)))
    value = data.draw(
        st.one_of(
            st.none(),
            st.integers(),
            st.floats(allow_nan=False),
            st.text(max_size=30),
            st.lists(st.text(max_size=5), max_size=3),
            st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
        )
    )
    event[key] = value
    raw = json.dumps(base).encode()
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    body = raw if data.draw(st.booleans()) else raw[:cut]
    response = node.client.post(
        "/epcis/capture", content=body, headers=node.headers(node.key_a, Content_Type="application/json")
    )
    assert response.status_code < 500, response.text[:500]
