"""EPCIS 2.0 JSON-LD read/write/stream (packtrail.epcis.jsonld) on GS1's and OpenEPCIS's documents.

Test data: tests/data/epcis/json-ld/ (see NOTICE.md). Every document must read and
write back to an equal JSON value, whole and streamed; malformed input must raise
EPCISError and nothing else.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packtrail.epcis.document import SIMPLE_CONTEXT_URL, STANDARD_CONTEXT_URL, EPCISDocument
from packtrail.epcis.errors import EPCISError
from packtrail.epcis.jsonld import iter_jsonld_events, read_jsonld, write_jsonld, write_jsonld_stream

DATA = Path(__file__).parent / "data" / "epcis" / "json-ld"
GS1_STANDARD = sorted((DATA / "gs1" / "json-ld").rglob("*.jsonld"))
GS1_SIMPLE = sorted((DATA / "gs1" / "json-ld-simple-context").rglob("*.jsonld"))
OPENEPCIS = sorted(
    p for p in (DATA / "openepcis").rglob("*.json") if "Events" not in p.parts
)  # Capture/Events holds single events, not documents
SINGLE_EVENTS = sorted((DATA / "openepcis" / "Capture" / "Events").glob("*.json"))
DOCUMENTS = GS1_STANDARD + GS1_SIMPLE + OPENEPCIS


def _id(path: Path) -> str:
    return str(path.relative_to(DATA))


def _json(path: Path) -> Any:
    return json.loads(path.read_bytes())


def test_the_test_data_is_there() -> None:
    assert (len(GS1_STANDARD), len(GS1_SIMPLE)) == (47, 46)
    assert len(OPENEPCIS) >= 50


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", DOCUMENTS, ids=_id)
def test_round_trip(path: Path) -> None:
    doc = read_jsonld(path)
    assert orjson.loads(write_jsonld(doc, context="keep")) == _json(path)
    assert orjson.loads(write_jsonld(doc, context="keep", indent=True)) == _json(path)


@pytest.mark.parametrize("path", DOCUMENTS, ids=_id)
def test_streaming_matches_whole_reads(path: Path) -> None:
    doc = read_jsonld(path)
    data = path.read_bytes()
    for chunk_size in (1, 7, 100, 1 << 20):
        with iter_jsonld_events(io.BytesIO(data), chunk_size=chunk_size) as reader:
            events = list(reader)
            streamed = reader.document
        assert events == doc.events
        assert reader.events_read == len(doc.events)
        streamed.events = events
        assert streamed == doc
    out = io.BytesIO()
    assert write_jsonld_stream(doc.header_only(), iter(doc.events), out, context="keep") == len(doc)
    assert out.getvalue() == write_jsonld(doc, context="keep")


@pytest.mark.parametrize("path", GS1_STANDARD, ids=_id)
def test_standard_context_is_written_as_read(path: Path) -> None:
    assert orjson.loads(write_jsonld(read_jsonld(path))) == _json(path)


@pytest.mark.parametrize("path", GS1_SIMPLE, ids=_id)
def test_simple_context_switches_to_standard_and_back(path: Path) -> None:
    doc = read_jsonld(path)
    standard = orjson.loads(write_jsonld(doc, context="standard"))
    assert standard["@context"][0] == STANDARD_CONTEXT_URL
    assert SIMPLE_CONTEXT_URL not in standard["@context"]
    assert orjson.loads(write_jsonld(read_jsonld(orjson.dumps(standard)), context="simple")) == _json(path)


def test_sources_bytes_text_path_and_file() -> None:
    path = GS1_STANDARD[0]
    expected = read_jsonld(path)
    assert read_jsonld(path.read_bytes()) == expected
    assert read_jsonld(path.read_text(encoding="utf-8")) == expected
    assert read_jsonld(str(path.read_bytes(), "utf-8")) == expected
    with path.open("rb") as handle:
        assert read_jsonld(handle) == expected
    assert read_jsonld(b"\xef\xbb\xbf" + path.read_bytes()) == expected  # a byte-order mark is tolerated
    with iter_jsonld_events(path) as reader:
        assert list(reader) == expected.events


# --- what the document keeps ----------------------------------------------------------------------


def test_document_parts() -> None:
    doc = read_jsonld(DATA / "gs1" / "json-ld" / "Example_9.6.1-ObjectEvent-with-pseudo-SBDH-headers.jsonld")
    assert doc.kind == "EPCISDocument"
    assert doc.schema_version == "2.0"
    assert doc.creation_date == "2005-07-11T11:30:47.0Z"
    assert doc.attributes == {
        "id": "https://id.example.org/document1",
        "sender": "urn:epc:id:sgln:0353579.00001.0",
        "receiver": "urn:epc:id:sgln:5012345.00001.0",
        "instanceIdentifier": "1234567890",
    }
    assert doc.namespaces == {"example": "http://ns.example.com/epcis/"}
    assert [e["type"] for e in doc.events] == ["ObjectEvent", "ObjectEvent"]
    assert doc.events[1]["example:myField"] == "Example of a vendor/user extension"


def test_extension_namespaces_and_term_definitions_are_kept() -> None:
    doc = read_jsonld(DATA / "gs1" / "json-ld" / "Example-TransactionEvents-2020_07_03y.jsonld")
    assert doc.namespaces == {"rail": "urn:gs1:epcisapp:rail:"}
    assert doc.context[1]["rail:trainAxleCount"] == {"@type": "xsd:integer"}
    full = read_jsonld(
        DATA / "gs1" / "json-ld" / "WithFullCombinationOfFields" / "object_event_all_possible_fields.jsonld"
    )
    assert {"ext1", "ext2", "ext3"} <= full.namespaces.keys()
    ilmd = full.events[0]["ilmd"]
    assert ilmd["ext1:object"]["ext2:object"]["ext2:object"] == {"ext3:string": "stringInObjectInObject"}


def test_event_level_contexts_add_namespaces() -> None:
    path = DATA / "openepcis" / "Capture" / "Documents" / "Namespaces_at_different_level.json"
    doc = read_jsonld(path)
    assert doc.namespaces["ext1"] == "https://ns.ext.de/epcis/"
    assert {"ext2", "ext3", "ext4"} <= doc.namespaces.keys()
    assert doc.events[0]["@context"] == [{"ext2": "http://www.ext2.net/"}]  # kept in the event too
    # the standard context declares what the events' own contexts declared, once, at the top
    written = orjson.loads(write_jsonld(doc))
    declared = {k for entry in written["@context"] if isinstance(entry, dict) for k in entry}
    assert {"ext1", "ext2", "ext3", "ext4"} <= declared


def test_query_document() -> None:
    path = DATA / "gs1" / "json-ld" / "EPCISQueryDocument.jsonld"
    doc = read_jsonld(path)
    assert doc.kind == "EPCISQueryDocument"
    assert doc.is_query
    assert doc.query == {
        "subscriptionID": "32d2aec1-a6d2-46d9-900a-24124288cce1",
        "queryName": "SimpleEventQuery",
    }
    assert len(doc) == 2
    assert doc.events[1]["example:myField"] == "Example of a vendor/user extension"
    written = orjson.loads(write_jsonld(doc))
    assert written == _json(path)
    assert "eventList" not in written["epcisBody"]


def test_query_document_with_master_data_only() -> None:
    text = {
        "@context": [STANDARD_CONTEXT_URL],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "epcisBody": {
            "queryResults": {
                "queryName": "SimpleMasterDataQuery",
                "resultsBody": {"vocabularyList": [{"type": "urn:epcglobal:epcis:vtype:Location"}]},
            }
        },
    }
    doc = read_jsonld(orjson.dumps(text))
    assert doc.events == []
    assert doc.query == {
        "queryName": "SimpleMasterDataQuery",
        "resultsBody": {"vocabularyList": [{"type": "urn:epcglobal:epcis:vtype:Location"}]},
    }


HEADER_DOCUMENT: dict[str, Any] = {
    "@context": [
        STANDARD_CONTEXT_URL,
        {"sbdh": "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"},
        {"gs1ushc": "http://epcis.gs1us.org/hc/ns"},
    ],
    "type": "EPCISDocument",
    "schemaVersion": "2.0",
    "creationDate": "2024-03-01T10:05:00Z",
    "epcisHeader": {
        "sbdh:StandardBusinessDocumentHeader": {
            "sbdh:HeaderVersion": "1.0",
            "sbdh:Sender": {"sbdh:Identifier": {"@Authority": "GLN", "#text": "0614141000005"}},
            "sbdh:Receiver": {"sbdh:Identifier": "0614142000004"},
        },
        "epcisMasterData": {
            "vocabularyList": [
                {
                    "type": "urn:epcglobal:epcis:vtype:EPCClass",
                    "vocabularyElementList": [
                        {
                            "id": "urn:epc:idpat:sgtin:0614141.107346.*",
                            "attributes": [
                                {
                                    "id": "urn:epcglobal:cbv:mda#regulatedProductName",
                                    "attribute": "Example 10 mg",
                                }
                            ],
                        }
                    ],
                },
                {
                    "type": "urn:epcglobal:epcis:vtype:Location",
                    "vocabularyElementList": [
                        {
                            "id": "urn:epc:id:sgln:0614141.00001.0",
                            "children": ["urn:epc:id:sgln:0614141.00001.1"],
                        }
                    ],
                },
            ]
        },
    },
    "epcisBody": {
        "eventList": [
            {
                "type": "ObjectEvent",
                "eventTime": "2024-03-01T10:00:00Z",
                "eventTimeZoneOffset": "+00:00",
                "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
                "action": "OBSERVE",
                "bizStep": "shipping",
                "ilmd": {"cbvmda:lotNumber": "L1", "cbvmda:itemExpirationDate": "2026-03-31"},
                "gs1ushc:dscsaTransactionStatement": {"gs1ushc:affirmTransactionStatement": "true"},
            }
        ]
    },
}


def test_header_with_sbdh_and_master_data() -> None:
    doc = read_jsonld(orjson.dumps(HEADER_DOCUMENT))
    assert doc.header is not None
    assert doc.header["sbdh:StandardBusinessDocumentHeader"]["sbdh:Receiver"] == {
        "sbdh:Identifier": "0614142000004"
    }
    assert [v["type"] for v in doc.vocabularies()] == [
        "urn:epcglobal:epcis:vtype:EPCClass",
        "urn:epcglobal:epcis:vtype:Location",
    ]
    assert doc.namespaces == {
        "sbdh": "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader",
        "gs1ushc": "http://epcis.gs1us.org/hc/ns",
    }
    assert orjson.loads(write_jsonld(doc)) == HEADER_DOCUMENT
    with iter_jsonld_events(orjson.dumps(HEADER_DOCUMENT)) as reader:
        next(reader)
        assert reader.document.header == doc.header  # the header came before the events


def test_namespaces_from_xml_are_declared_on_write() -> None:
    doc = EPCISDocument(
        creation_date="2024-03-01T10:05:00Z",
        namespaces={
            "xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "epcis": "urn:epcglobal:epcis:xsd:2",
            "cbvmda": "urn:epcglobal:cbv:mda",
            "sbdh": "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader",
            "example": "http://ns.example.com/epcis/",
        },
        events=[{"type": "ObjectEvent", "example:note": "x"}],
    )
    written = orjson.loads(write_jsonld(doc))
    assert written["@context"] == [
        STANDARD_CONTEXT_URL,
        {  # every namespace, the EPCIS XML ones aside; those without a trailing / # : get one
            "xsi": {"@id": "http://www.w3.org/2001/XMLSchema-instance#", "@prefix": True},
            "cbvmda": {"@id": "urn:epcglobal:cbv:mda:", "@prefix": True},
            "sbdh": {
                "@id": "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader#",
                "@prefix": True,
            },
            "example": "http://ns.example.com/epcis/",
        },
    ]
    assert read_jsonld(write_jsonld(doc)).namespaces == {
        k: v for k, v in doc.namespaces.items() if k != "epcis"
    }
    assert list(written) == ["@context", "type", "schemaVersion", "creationDate", "epcisBody"]
    assert orjson.loads(write_jsonld(doc, context="keep"))["@context"] == [STANDARD_CONTEXT_URL]


def test_lenient_reading_keeps_odd_values() -> None:
    doc = read_jsonld(
        DATA / "gs1" / "json-ld-simple-context" / "WithSensorData" / "SensorDataExample17.jsonld"
    )
    assert doc.schema_version == "2.0"
    assert doc.attributes["schemaVersion"] == 2.0  # written back as the number it was
    doc = read_jsonld(
        DATA / "gs1" / "json-ld-simple-context" / "WithSensorData" / "SensorDataExample12.jsonld"
    )
    assert (doc.schema_version, doc.creation_date) == ("", None)
    body = {"epcisBody": {"eventList": [], "example:note": "kept"}}
    assert read_jsonld(orjson.dumps(body)).attributes == {"epcisBody": {"example:note": "kept"}}
    assert orjson.loads(write_jsonld(read_jsonld(orjson.dumps(body)), context="keep")) == {
        "type": "EPCISDocument",
        **body,
    }


@pytest.mark.parametrize("path", GS1_STANDARD, ids=_id)
def test_strict_reading_accepts_gs1_examples(path: Path) -> None:
    assert read_jsonld(path, strict=True) == read_jsonld(path)
    with iter_jsonld_events(path, strict=True) as reader:
        assert len(list(reader)) == len(read_jsonld(path))


@pytest.mark.parametrize(
    ("document", "pointer"),
    [
        (
            {
                "type": "EPCISDocument",
                "schemaVersion": "2.0",
                "creationDate": "x",
                "epcisBody": {"eventList": []},
            },
            "/@context",
        ),
        (
            {
                "@context": ["https://example.com/ctx"],
                "type": "EPCISDocument",
                "epcisBody": {"eventList": []},
            },
            "/@context",
        ),
        ({"@context": STANDARD_CONTEXT_URL, "schemaVersion": "2.0", "epcisBody": {"eventList": []}}, "/type"),
        (
            {"@context": STANDARD_CONTEXT_URL, "type": "EPCISDocument", "epcisBody": {"eventList": []}},
            "/schemaVersion",
        ),
        (
            {
                "@context": STANDARD_CONTEXT_URL,
                "type": "EPCISDocument",
                "schemaVersion": 2.0,
                "epcisBody": {"eventList": []},
            },
            "/schemaVersion",
        ),
        (
            {
                "@context": STANDARD_CONTEXT_URL,
                "type": "EPCISDocument",
                "schemaVersion": "2.0",
                "epcisBody": {"eventList": []},
            },
            "/creationDate",
        ),
        (
            {
                "@context": STANDARD_CONTEXT_URL,
                "type": "EPCISDocument",
                "schemaVersion": "2.0",
                "creationDate": "2024-01-01T00:00:00Z",
                "epcisBody": {"eventList": [{"eventTime": "2024-01-01T00:00:00Z"}]},
            },
            "/epcisBody/eventList/0/type",
        ),
    ],
)
def test_strict_reading_rejects(document: dict[str, Any], pointer: str) -> None:
    data = orjson.dumps(document)
    read_jsonld(data)  # lenient: fine
    with pytest.raises(EPCISError) as caught:
        read_jsonld(data, strict=True)
    assert caught.value.pointer == pointer
    with pytest.raises(EPCISError) as streamed:
        list(iter_jsonld_events(data, strict=True))
    assert streamed.value.pointer == pointer


# --- errors ---------------------------------------------------------------------------------------

MALFORMED = [
    (b"", None, "not valid JSON"),
    (b"{", None, "not valid JSON"),
    (b"[]", "", "must be a JSON object"),
    (b"42", "", "must be a JSON object"),
    (b"{}", "", "no epcisBody"),
    (b'{"type": "EPCISDocument", "epcisBody": []}', "/epcisBody", "must be a JSON object"),
    (b'{"type": "EPCISDocument", "epcisBody": {}}', "/epcisBody", "no eventList"),
    (
        b'{"type": "EPCISDocument", "epcisBody": {"eventList": {}}}',
        "/epcisBody/eventList",
        "must be a JSON array",
    ),
    (
        b'{"type": "EPCISDocument", "epcisBody": {"eventList": [{}, "x"]}}',
        "/epcisBody/eventList/1",
        "an event",
    ),
    (
        b'{"type": "EPCISDocument", "epcisHeader": [], "epcisBody": {"eventList": []}}',
        "/epcisHeader",
        "epcisHeader",
    ),
    (b'{"type": "ObjectEvent", "action": "ADD"}', "/type", "single ObjectEvent"),
    (b'{"type": "EPCISDoc", "epcisBody": {"eventList": []}}', "/type", "EPCISDocument or EPCISQueryDocument"),
    (b'{"@context": 5, "epcisBody": {"eventList": []}}', "/@context", "@context"),
    (b'{"creationDate": {}, "epcisBody": {"eventList": []}}', "/creationDate", "creationDate must be text"),
    (b'{"type": "EPCISQueryDocument", "epcisBody": {"eventList": []}}', "/epcisBody", "no queryResults"),
    (
        b'{"type": "EPCISDocument", "epcisBody": {"queryResults": {}}}',
        "/epcisBody",
        "looks like a query document",
    ),
    (
        b'{"type": "EPCISQueryDocument", "epcisBody": {"queryResults": {}}}',
        "/epcisBody/queryResults",
        "no resultsBody",
    ),
    (
        b'{"type": "EPCISQueryDocument", "epcisBody": {"queryResults": {"resultsBody": {"eventList": [7]}}}}',
        "/epcisBody/queryResults/resultsBody/eventList/0",
        "an event",
    ),
]


@pytest.mark.parametrize(("data", "pointer", "words"), MALFORMED)
def test_malformed_documents(data: bytes, pointer: str | None, words: str) -> None:
    with pytest.raises(EPCISError, match=words) as caught:
        read_jsonld(data)
    assert caught.value.pointer == pointer
    with pytest.raises(EPCISError) as streamed:
        list(iter_jsonld_events(data, chunk_size=3))
    if pointer is not None:
        assert streamed.value.pointer == pointer


def test_missing_files_and_paths_given_as_text(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonld"
    with pytest.raises(EPCISError, match="cannot read the JSON-LD file"):
        read_jsonld(missing)
    with pytest.raises(EPCISError, match="cannot read the JSON-LD file"):
        iter_jsonld_events(missing)
    with pytest.raises(EPCISError, match=r"pass a pathlib\.Path to read a file"):
        read_jsonld(str(GS1_STANDARD[0]))


def test_null_header_round_trips() -> None:
    data = {"type": "EPCISDocument", "epcisHeader": None, "epcisBody": {"eventList": []}}
    doc = read_jsonld(orjson.dumps(data))
    assert doc.header is None
    assert orjson.loads(write_jsonld(doc, context="keep")) == data


@pytest.mark.parametrize("path", SINGLE_EVENTS, ids=_id)
def test_a_single_event_is_not_a_document(path: Path) -> None:
    with pytest.raises(EPCISError, match="not an EPCIS document"):
        read_jsonld(path)


def test_streaming_error_after_good_events() -> None:
    data = b'{"type": "EPCISDocument", "epcisBody": {"eventList": [{"n": 1}, {"n": 2} {"n": 3}]}}'
    reader = iter_jsonld_events(data)
    assert next(reader) == {"n": 1}
    assert next(reader) == {"n": 2}
    with pytest.raises(EPCISError, match="expected ',' or ']' after an event"):
        next(reader)


def test_streaming_handles_braces_in_strings() -> None:
    events = [{"a": "}"}, {"b": "{{", "c": {"d": "}}}"}}, {"e": '"}\\{'}, {"f": []}]
    data = orjson.dumps({"type": "EPCISDocument", "epcisBody": {"eventList": events}})
    for chunk_size in (1, 5, 1 << 16):
        assert list(iter_jsonld_events(data, chunk_size=chunk_size)) == events


def test_writing_what_orjson_cannot() -> None:
    deep: Any = "x"
    for _ in range(300):
        deep = [deep]
    doc = EPCISDocument(events=[{"type": "ObjectEvent", "big": 2**70, "deep": deep}])
    assert json.loads(write_jsonld(doc)) == json.loads(json.dumps(write_jsonld_doc_value(doc)))
    with pytest.raises(EPCISError, match="cannot be written as JSON"):
        write_jsonld(EPCISDocument(events=[{"type": "ObjectEvent", "when": object()}]))
    with pytest.raises(EPCISError, match="cannot be written as JSON"):
        write_jsonld_stream(EPCISDocument(), iter([{"bad": {1, 2}}]), io.BytesIO())


def write_jsonld_doc_value(doc: EPCISDocument) -> Any:
    return {
        "@context": [STANDARD_CONTEXT_URL],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "epcisBody": {"eventList": doc.events},
    }


# --- hypothesis: any input gives a document or EPCISError -----------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "@context",
        "type",
        "schemaVersion",
        "creationDate",
        "epcisHeader",
        "epcisBody",
        "eventList",
        "queryResults",
        "resultsBody",
        "queryName",
        "id",
        "example:x",
    ]
)
DOCUMENT_LIKE = st.recursive(
    JSON_VALUES
    | st.sampled_from(["EPCISDocument", "EPCISQueryDocument", "ObjectEvent", STANDARD_CONTEXT_URL]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)
SEEDS = [p.read_bytes() for p in (GS1_STANDARD[:6] + GS1_SIMPLE[-3:] + OPENEPCIS[:3])]


def _outcome(data: bytes) -> tuple[str, Any]:
    try:
        doc = read_jsonld(data)
    except EPCISError as exc:
        return "error", exc
    return "ok", doc


def _stream(data: bytes, chunk_size: int) -> tuple[str, Any]:
    reader = iter_jsonld_events(data, chunk_size=chunk_size)
    try:
        events = list(reader)
        doc = reader.document
    except EPCISError as exc:
        return "error", exc
    doc.events = events
    return "ok", doc


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENT_LIKE, st.integers(1, 64))
def test_any_json_value_gives_a_document_or_epcis_error(value: Any, chunk_size: int) -> None:
    data = json.dumps(value).encode()  # the standard library also writes integers beyond 64 bits
    kind, result = _outcome(data)
    streamed_kind, streamed = _stream(data, chunk_size)
    assert streamed_kind == kind
    if kind == "ok":
        assert streamed == result
        assert orjson.loads(write_jsonld(result, context="keep")) is not None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SEEDS),
    st.lists(
        st.tuples(
            st.integers(0, 1 << 20), st.sampled_from(["delete", "insert", "replace"]), st.binary(max_size=3)
        ),
        min_size=1,
        max_size=4,
    ),
    st.integers(1, 200),
)
def test_mutated_documents_give_a_document_or_epcis_error(
    seed: bytes, mutations: list[tuple[int, str, bytes]], chunk_size: int
) -> None:
    data = bytearray(seed)
    for position, action, piece in mutations:
        at = position % (len(data) + 1)
        if action == "delete":
            del data[at : at + max(len(piece), 1)]
        elif action == "insert":
            data[at:at] = piece
        else:
            data[at : at + len(piece)] = piece
    kind, result = _outcome(bytes(data))
    streamed_kind, streamed = _stream(bytes(data), chunk_size)
    if kind == "ok":
        write_jsonld(result, context="keep")
    assert streamed_kind == kind
    if kind == "ok":
        assert streamed == result
