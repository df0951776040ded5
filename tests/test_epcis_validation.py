"""EPCIS validation in layers: GS1's JSON Schema (fast validator held to the official schema),
GS1's XSDs, and the rules no schema expresses.

The heart of it is differential: the fast validator and GS1's official JSON Schema (compiled
with fastjsonschema and real ``uri``/``date-time`` checks) must accept and reject exactly the
same documents and events, across the conformance corpus, hypothesis-generated events of all
five types, and mutations of them.
"""

from __future__ import annotations

import hashlib
import json
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from packtrail.epcis.document import EVENT_TYPES, EPCISDocument
from packtrail.epcis.fast_validator import SCHEMA, check_json_document, check_one, events_of
from packtrail.epcis.formats import TIME_ZONE_OFFSETS, is_date_time, is_uri, plain_date_time
from packtrail.epcis.issues import IssueCollector, ValidationReport, describe, pointer_token
from packtrail.epcis.jsonld import read_jsonld, write_jsonld
from packtrail.epcis.rules import _SGTIN_URN, _epcs_quick, identifier_problem, uom_status
from packtrail.epcis.schema_oracle import oracle_error, oracle_event_error
from packtrail.epcis.validation import (
    validate_document,
    validate_events,
    validate_json,
    validate_jsonld_bytes,
    validate_xml,
)
from packtrail.epcis.vocabulary import VOCABULARIES
from packtrail.epcis.xml import read_xml, write_xml
from packtrail.epcis.xsd import check_xsd, detect_version, xml_schema
from packtrail.gs1.checkdigit import gs1_check_digit
from packtrail.gs1.digital_link import DigitalLink
from packtrail.gs1.epc import parse_epc_uri
from packtrail.gs1.errors import GS1Error

DATA = Path(__file__).parent / "data"
VALIDATION = DATA / "epcis" / "validation"
CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def _json_corpus() -> list[Path]:
    files: list[Path] = []
    for folder in (DATA / "epcis" / "json-ld", DATA / "epcis-event-hash", VALIDATION / "json"):
        files += sorted(p for p in folder.rglob("*") if p.suffix in (".json", ".jsonld"))
    return files


JSON_CORPUS = _json_corpus()


def _schema_ok(document: Any) -> bool:
    out = IssueCollector()
    check_json_document(document, out)
    return out.errors == 0


def _event_ok(event: Any) -> bool:
    out = IssueCollector()
    check_one(event, "/e", out)
    return out.errors == 0


def _document(events: list[Any]) -> dict[str, Any]:
    return {
        "@context": [CONTEXT, {"example": "https://ns.example.com/epcis/"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-03-01T10:05:00.000Z",
        "epcisBody": {"eventList": events},
    }


# --- the vendored schema ----------------------------------------------------------------------


def test_the_schema_is_the_ratified_one() -> None:
    """The fast validator's event-level rules are written against this exact file: a new
    schema must be read again (and the hand-written ``anyOf`` parts re-checked)."""
    raw = (Path(__file__).parents[1] / "src/packtrail/epcis/data/schema/epcis-json-schema.json").read_bytes()
    assert (
        hashlib.sha256(raw).hexdigest() == "0f46ff694efffd8d8ce840a33dfde84228add11b516b8b258f3200740ae210af"
    )
    assert SCHEMA["$id"] == "https://ref.gs1.org/standards/epcis/2.0.1/epcis-json-schema.json"


# --- formats ------------------------------------------------------------------------------------

VALID_URIS = [
    "urn:epc:id:sgtin:4012345.011111.1001",
    "https://id.gs1.org/01/09506000134352/21/abc?17=270101#frag",
    "http://foo.com/blah_(wikipedia)_blah#cite-1",
    "http://foo.bar/?q=Test%20URL-encoded%20stuff",
    "http://xn--nw2a.xn--j6w193g/",
    "http://-.~_!$&'()*+,;=:%40:80%2f::::::@example.com",
    "http://223.255.255.254",
    "ftp://ftp.is.co.za/rfc/rfc1808.txt",
    "ldap://[2001:db8::7]/c=GB?objectClass?one",
    "http://[::ffff:192.0.2.128]/",
    "http://[v7.abc:def]/",
    "mailto:John.Doe@example.com",
    "news:comp.infosystems.www.servers.unix",
    "tel:+1-816-555-1212",
    "urn:oasis:names:specification:docbook:dtd:xml:4.1.2",
    "example:note",
    "x:",
    "ni:///sha-256;df7bb3c352fef055578554f09f5e2aa41782150ced7bd0b8af24dd3ccb30ba69?ver=CBV2.0",
    "urn:a//b",
]
INVALID_URIS = [
    "",
    "abc",
    "transforming",
    "//foo.bar/?baz=qux#quux",
    "/abc",
    "\\\\WINDOWS\\fileshare",
    "http:// shouldfail.com",
    ":// should fail",
    "bar,baz:foo",
    "1http://x",
    "_:document1",
    "http://example.com/\u00e4",
    "http://a:b@c:d/",
    "http://[::1",
    "http://[12345::1]/",
    "a:%2",
    "a:%zz",
    "http://x/#a#b",
    "http://x/a b",
    'http://x/"',
]


@pytest.mark.parametrize("uri", VALID_URIS)
def test_valid_uris(uri: str) -> None:
    assert is_uri(uri)


@pytest.mark.parametrize("uri", INVALID_URIS)
def test_invalid_uris(uri: str) -> None:
    assert not is_uri(uri)


URI_PIECES = st.sampled_from(
    [
        "http",
        "https",
        "urn",
        ":",
        "//",
        "/",
        "?",
        "#",
        "%2F",
        "%",
        "@",
        "[",
        "]",
        "::1",
        "a",
        "Z9",
        ".",
        "-",
        "~",
        "!",
        "'",
        "=",
        " ",
        "é",
        "example.com",
        ":80",
        "1",
    ]
)


@given(st.lists(URI_PIECES, max_size=10).map("".join))
def test_the_quick_uri_tests_agree_with_the_grammar(text: str) -> None:
    from packtrail.epcis.formats import _URI_MATCH

    assert is_uri(text) == (_URI_MATCH(text) is not None)


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2024-03-01T10:00:00Z", True),
        ("2024-03-01T10:00:00.123456789+14:00", True),
        ("1963-06-19t08:30:06.283185z", True),
        ("2024-02-29T00:00:00Z", True),
        ("2000-02-29T00:00:00Z", True),
        ("1900-02-29T00:00:00Z", False),
        ("2023-02-29T00:00:00Z", False),
        ("1990-02-31T15:59:59.123-08:00", False),
        ("1998-12-31T23:59:60Z", True),
        ("1998-12-31T15:59:60.123-08:00", True),
        ("1998-12-31T23:58:60Z", False),
        ("1998-12-31T22:59:60Z", False),
        ("1990-12-31T15:59:59-24:00", False),
        ("1963-06-19T08:30:06.28123+01:00Z", False),
        ("2013-350T01:01:01", False),
        ("1963-6-19T08:30:06.283185Z", False),
        ("2024-03-01T10:00:00", False),
        ("2024-03-01T10:00:00+0100", False),
        ("2024-03-01 10:00:00Z", False),
        ("2024-03-01T10:00Z", False),
        ("1963-06-1\u09eaT00:00:00Z", False),
        ("22-07-2026", False),
    ],
)
def test_date_times(text: str, valid: bool) -> None:
    assert is_date_time(text) is valid
    if plain_date_time(text):
        assert valid


def test_time_zone_offsets() -> None:
    assert len(TIME_ZONE_OFFSETS) == 2 * (14 * 60 + 1)
    assert {"+00:00", "-00:00", "+14:00", "-14:00", "+05:45", "-13:59"} <= TIME_ZONE_OFFSETS
    assert not {"+14:01", "+15:00", "+1:00", "Z", "+01:60", "01:00"} & TIME_ZONE_OFFSETS


@given(st.text(alphabet=string.printable + "éü৪", max_size=40))
def test_plain_date_time_implies_date_time(text: str) -> None:
    if plain_date_time(text):
        assert is_date_time(text)


# --- issues and reports -----------------------------------------------------------------------


def test_pointer_tokens_and_descriptions() -> None:
    assert pointer_token("a/b~c") == "a~1b~0c"
    assert describe("x" * 100).endswith("...'")
    assert describe(1.5) == "the number 1.5"


def test_report_is_bounded_and_counts_the_rest() -> None:
    events = [_object_event(i) | {"action": "OBSERV"} for i in range(1500)]
    report = validate_events(events, max_issues=1000)
    assert not report.valid
    assert len(report.issues) == 1000
    assert report.error_count == 1500 and report.omitted == 500
    assert report.issues[999].pointer == "/epcisBody/eventList/999/action"
    assert report.to_dict()["omitted"] == 500
    assert "and 500 more" in str(report)


# --- the corpus: fast validator and official schema agree ----------------------------------------


def test_the_corpus_is_there() -> None:
    assert len(JSON_CORPUS) > 120
    assert any("Invalid" in str(p) for p in JSON_CORPUS)


@pytest.mark.parametrize("path", JSON_CORPUS, ids=lambda p: p.name)
def test_corpus_verdicts_agree_with_the_official_schema(path: Path) -> None:
    document = orjson.loads(path.read_bytes())
    assert (oracle_error(document) is None) == _schema_ok(document)
    events, _ = events_of(document)
    if events:
        # the same failing events, one by one
        fast = set()
        out = IssueCollector()
        check_json_document(document, out)
        for issue in out.issues:
            parts = issue.pointer.split("/")
            if "eventList" in parts and len(parts) > parts.index("eventList") + 1:
                fast.add(int(parts[parts.index("eventList") + 1]))
        official = {i for i, event in enumerate(events) if oracle_event_error(event) is not None}
        assert fast == official
        # and the document without its events
        frame = json.loads(json.dumps(document))
        frame_events, _ = events_of(frame)
        assert frame_events is not None
        frame_events.clear()
        assert (oracle_error(frame) is None) == _schema_ok(frame)


def test_the_corpus_has_both_verdicts() -> None:
    verdicts = [oracle_error(orjson.loads(p.read_bytes())) is None for p in JSON_CORPUS]
    assert sum(verdicts) > 60 and len(verdicts) - sum(verdicts) > 30


def test_invalid_samples_are_rejected_with_pointers() -> None:
    folder = DATA / "epcis" / "json-ld" / "openepcis" / "Capture" / "Invalid"
    expected = {
        "ObjectEvent_with_non_standard_bizStep.json": "/epcisBody/eventList/0/bizStep",
        "ObjectEvent_with_quantity_as_text.json": "/epcisBody/eventList/0/quantityList/0/quantity",
        "ObjectEvent_with_invalid_eventTime_format.json": "/epcisBody/eventList/0/eventTime",
        "EPCISDocument_without_context.json": "/@context",
        "ObjectEvent_with_invalid_action.json": "/epcisBody/eventList/0/action",
        "ObjectEvent_with_ilmd_field_without_namespace.json": "/epcisBody/eventList/0/ilmd/materialType",
        "ObjectEvent_with_non_standard_disposition.json": "/epcisBody/eventList/0/disposition",
        "ObjectEvent_with_unknown_field_in_quantityList.json": "/epcisBody/eventList/0/quantityList/0/weight",
        "ObjectEvent_without_identifier_list.json": "/epcisBody/eventList/0",
        "ObjectEvent_with_non_standard_bizStep_in_second_event.json": "/epcisBody/eventList/1/bizStep",
    }
    for name, pointer in expected.items():
        report = validate_jsonld_bytes(folder / name)
        assert not report.valid, name
        assert pointer in {issue.pointer for issue in report.issues}, (name, [str(i) for i in report.issues])
    for path in folder.iterdir():
        assert not validate_jsonld_bytes(path).valid, path.name


def test_single_events_of_gs1_schema_tests() -> None:
    for path in sorted((VALIDATION / "json" / "gs1-schema-tests").glob("*.json")):
        event = orjson.loads(path.read_bytes())
        report = validate_json(event)
        assert report.valid, (path.name, [str(i) for i in report.issues])
        assert report.events == 1
        bare = {k: v for k, v in event.items() if k != "@context"}
        assert oracle_error(bare) is not None
        assert not validate_json(bare).valid
        assert "/@context" in {i.pointer for i in validate_json(bare).issues}


# --- generated events -----------------------------------------------------------------------

CP = "4012345"
GLN = CP + "000009"
SERIAL = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=20)


def _gtin(item: int) -> str:
    body = f"0{CP}{item:05d}"
    return body + gs1_check_digit(body)


@st.composite
def instance_ids(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["sgtin", "sscc", "dl", "grai", "giai"]))
    item = draw(st.integers(0, 99999))
    serial = draw(SERIAL)
    if kind == "sgtin":
        return f"urn:epc:id:sgtin:{CP}.0{item:05d}.{serial}"
    if kind == "sscc":
        return f"urn:epc:id:sscc:{CP}.{draw(st.integers(0, 10**10 - 1)):010d}"
    if kind == "grai":
        return f"urn:epc:id:grai:{CP}.{item % 100000:05d}.{draw(st.integers(0, 10**6))}"
    if kind == "giai":
        return f"urn:epc:id:giai:{CP}.{serial}"
    return f"https://id.gs1.org/01/{_gtin(item)}/21/{serial}"


@st.composite
def class_ids(draw: st.DrawFn) -> str:
    item = draw(st.integers(0, 99999))
    return draw(
        st.sampled_from(
            [
                f"urn:epc:class:lgtin:{CP}.0{item:05d}.L{item}",
                f"urn:epc:idpat:sgtin:{CP}.0{item:05d}.*",
                f"https://id.gs1.org/01/{_gtin(item)}",
                f"https://id.gs1.org/01/{_gtin(item)}/10/LOT{item}",
            ]
        )
    )


LOCATIONS = st.builds(lambda n: f"urn:epc:id:sgln:{CP}.{n:05d}.0", st.integers(0, 99999))
PARTIES = st.builds(lambda n: f"urn:epc:id:pgln:{CP}.{n:05d}", st.integers(0, 99999))


@st.composite
def date_times(draw: st.DrawFn) -> tuple[str, str]:
    """An eventTime and its eventTimeZoneOffset."""
    moment = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 5 * 365 * 86400)))
    minutes = draw(st.sampled_from([0, 60, -300, 330, 840, -840, 345]))
    sign = "+" if minutes >= 0 else "-"
    offset = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    local = moment + timedelta(minutes=minutes)
    fraction = draw(st.sampled_from(["", ".000", ".5", ".123456"]))
    return local.strftime("%Y-%m-%dT%H:%M:%S") + fraction + offset, offset


def _terms(kind: str) -> st.SearchStrategy[str]:
    return st.sampled_from(VOCABULARIES[kind].terms)


UNITS = st.sampled_from(["KGM", "LTR", "MTR", "GRM", "H87", "EA", "C62", "MLT"])


@st.composite
def quantity_lists(draw: st.DrawFn, min_size: int = 1) -> list[dict[str, Any]]:
    classes = draw(st.lists(class_ids(), min_size=min_size, max_size=3, unique=True))
    out = []
    for epc_class in classes:
        element: dict[str, Any] = {"epcClass": epc_class}
        if draw(st.booleans()):
            if draw(st.booleans()):
                element["quantity"] = draw(st.integers(1, 1000))
            else:
                element["quantity"] = draw(st.floats(0.5, 1000, allow_nan=False))
                element["uom"] = draw(UNITS)
        out.append(element)
    return out


@st.composite
def sensor_element_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    reports = []
    for _ in range(draw(st.integers(1, 3))):
        report: dict[str, Any] = {"type": draw(_terms("measurementType"))}
        if draw(st.booleans()):
            report["value"] = draw(st.floats(-50, 50, allow_nan=False))
            report["uom"] = draw(st.sampled_from(["CEL", "KEL", "FAH", "P1"]))
        if draw(st.booleans()):
            report["exception"] = draw(_terms("sensorAlertType"))
        if draw(st.booleans()):
            report["minValue"], report["maxValue"] = 1.0, 2.5
        if draw(st.booleans()):
            report["deviceID"] = "urn:epc:id:giai:4000001.111"
        reports.append(report)
    element: dict[str, Any] = {"sensorReport": reports}
    if draw(st.booleans()):
        element["sensorMetadata"] = {
            "deviceID": "urn:epc:id:giai:4000001.111",
            "bizRules": "https://example.com/r",
        }
    return [element]


@st.composite
def common_fields(draw: st.DrawFn, event: dict[str, Any]) -> dict[str, Any]:
    time, offset = draw(date_times())
    event["eventTime"] = time
    event["eventTimeZoneOffset"] = offset
    if draw(st.booleans()):
        event["eventID"] = f"urn:uuid:{draw(st.uuids())}"
    if draw(st.booleans()):
        event["bizStep"] = draw(_terms("bizStep"))
    if draw(st.booleans()):
        event["disposition"] = draw(_terms("disposition"))
    if draw(st.booleans()):
        event["readPoint"] = {"id": draw(LOCATIONS)}
    if draw(st.booleans()):
        event["bizLocation"] = {"id": draw(LOCATIONS), "example:shelf": "A1"}
    if draw(st.booleans()):
        types = draw(st.lists(_terms("bizTransactionType"), min_size=1, max_size=2, unique=True))
        event["bizTransactionList"] = [
            {"type": t, "bizTransaction": f"urn:epcglobal:cbv:bt:{GLN}:{i}"} for i, t in enumerate(types)
        ]
    if draw(st.booleans()):
        event["sourceList"] = [{"type": "owning_party", "source": draw(PARTIES)}]
        event["destinationList"] = [{"type": "location", "destination": draw(LOCATIONS)}]
    if draw(st.booleans()):
        event["sensorElementList"] = draw(sensor_element_lists())
    if draw(st.booleans()):
        event["certificationInfo"] = draw(
            st.sampled_from(
                ["https://cert.example.com/1", ["https://cert.example.com/1", "urn:example:cert:2"]]
            )
        )
    if draw(st.booleans()):
        event["errorDeclaration"] = {"declarationTime": time, "reason": draw(_terms("errorReason"))}
    if draw(st.booleans()):
        event["example:note"] = draw(st.sampled_from(["fragile", {"example:depth": "2"}, ["a", "b"]]))
    return event


@st.composite
def object_events(draw: st.DrawFn) -> dict[str, Any]:
    action = draw(st.sampled_from(["ADD", "OBSERVE", "DELETE"]))
    event: dict[str, Any] = {"type": "ObjectEvent", "action": action}
    if draw(st.booleans()):
        event["epcList"] = draw(st.lists(instance_ids(), min_size=0, max_size=4, unique=True))
    if "epcList" not in event or draw(st.booleans()):
        event["quantityList"] = draw(quantity_lists())
    if action == "ADD" and draw(st.booleans()):
        event["ilmd"] = {"cbvmda:lotNumber": "LOT1", "cbvmda:itemExpirationDate": "2027-01-31"}
    if draw(st.booleans()):
        event["persistentDisposition"] = {
            "set": ["completeness_verified"],
            "unset": ["completeness_inferred"],
        }
    return draw(common_fields(event))


@st.composite
def aggregation_events(draw: st.DrawFn, kind: str = "AggregationEvent") -> dict[str, Any]:
    action = draw(st.sampled_from(["ADD", "OBSERVE", "DELETE"]))
    event: dict[str, Any] = {"type": kind, "action": action}
    if kind == "AssociationEvent" or action != "OBSERVE" or draw(st.booleans()):
        event["parentID"] = draw(
            st.sampled_from([f"urn:epc:id:sscc:{CP}.0000000001", f"urn:epc:id:sgln:{CP}.00001.0"])
        )
    if action != "DELETE" or draw(st.booleans()):
        if draw(st.booleans()):
            parent = event.get("parentID")  # a parent is never its own child (a rule the validator checks)
            children = st.lists(
                instance_ids().filter(lambda epc: epc != parent), min_size=1, max_size=4, unique=True
            )
            event["childEPCs"] = draw(children)
        else:
            event["childQuantityList"] = draw(quantity_lists())
    return draw(common_fields(event))


@st.composite
def transaction_events(draw: st.DrawFn) -> dict[str, Any]:
    action = draw(st.sampled_from(["ADD", "OBSERVE", "DELETE"]))
    event: dict[str, Any] = {
        "type": "TransactionEvent",
        "action": action,
        "bizTransactionList": [{"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:{GLN}:PO1"}],
    }
    if draw(st.booleans()):
        event["parentID"] = f"urn:epc:id:sscc:{CP}.0000000002"
    if action != "DELETE" or draw(st.booleans()):
        event["epcList"] = draw(st.lists(instance_ids(), min_size=1, max_size=3, unique=True))
    event = draw(common_fields(event))
    event.pop("bizTransactionList", None)
    event["bizTransactionList"] = [{"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:{GLN}:PO1"}]
    return event


@st.composite
def transformation_events(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "TransformationEvent"}
    with_id = draw(st.booleans())
    if with_id:
        event["transformationID"] = "urn:example:transformation:1"
    sides = draw(
        st.sampled_from([("input", "output"), ("input",), ("output",)] if with_id else [("input", "output")])
    )
    for side in sides:
        if draw(st.booleans()):
            event[f"{side}EPCList"] = draw(st.lists(instance_ids(), min_size=1, max_size=3, unique=True))
        else:
            event[f"{side}QuantityList"] = draw(quantity_lists())
    if draw(st.booleans()):
        event["ilmd"] = {"cbvmda:lotNumber": "LOT2"}
    return draw(common_fields(event))


VALID_EVENTS = st.one_of(
    object_events(),
    aggregation_events(),
    aggregation_events("AssociationEvent"),
    transaction_events(),
    transformation_events(),
)


@settings(max_examples=150)
@given(VALID_EVENTS)
def test_generated_events_are_valid_for_both_and_by_the_rules(event: dict[str, Any]) -> None:
    assert oracle_event_error(event) is None
    assert _event_ok(event)
    report = validate_events([event])
    assert report.valid, [str(i) for i in report.issues]


# --- mutations ----------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        ["", "x", "shipping", "urn:x:y", "a b", "2024-01-01T00:00:00Z", "+01:00", "KGM", "ADD"]
    ),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["id", "type", "x", "a:b"]), inner, max_size=3)
    ),
    max_leaves=6,
)
BAD_STRINGS = st.sampled_from(
    [
        "",
        "transforming",
        "not a uri",
        "urn:epcglobal:cbv:bizstep:shipping",
        "https://ns.gs1.org/cbv/Disp-active",
        "https://gs1.org/voc/Temperature",
        "ümlaut:x",
        "2024-13-01T00:00:00Z",
        "2024-03-01T10:00:00",
        "+14:30",
        "OBSERV",
        "kgm",
        "ABCD",
        "0g",
        "_:b0",
        "EPCISDocument",
        "example:ok",
        "https://ref.gs1.org/cbv/BizStep-shipping",
    ]
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += _paths(child, (*prefix, i))
    return found


def _set(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    copy = json.loads(json.dumps(value))
    node = copy
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = new
    return copy


def _drop(value: Any, path: tuple[Any, ...]) -> Any:
    copy = json.loads(json.dumps(value))
    node = copy
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return copy


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    event = draw(VALID_EVENTS)
    paths = _paths(event)
    how = draw(st.sampled_from(["drop", "type", "string", "add", "rename-type", "empty-list", "key"]))
    if how == "drop":
        return _drop(event, draw(st.sampled_from(paths)))
    if how == "type":
        return _set(event, draw(st.sampled_from(paths)), draw(JSON_VALUES))
    if how == "string":
        return _set(event, draw(st.sampled_from(paths)), draw(BAD_STRINGS))
    if how == "add":
        key = draw(
            st.sampled_from(
                [
                    "ilmd",
                    "action",
                    "parentID",
                    "childEPCs",
                    "epcList",
                    "persistentDisposition",
                    "myField",
                    "sensorElementList",
                    "quantityList",
                    "transformationID",
                ]
            )
        )
        return event | {key: draw(JSON_VALUES | BAD_STRINGS | st.just([]) | st.just({"set": []}))}
    if how == "key":  # a field of any name, anywhere an object is
        objects = [()] + [p for p in paths if isinstance(_get(event, p), dict)]
        where = draw(st.sampled_from(objects))
        name = draw(
            st.text(alphabet="ab:/_-#%é1 ", max_size=6) | st.sampled_from(["type", "id", "time", "set"])
        )
        return _set(event, (*where, name), draw(JSON_VALUES)) if where else event | {name: draw(JSON_VALUES)}
    if how == "rename-type":
        return event | {"type": draw(st.sampled_from([*EVENT_TYPES, "example:MyEvent", "Object", 7, None]))}
    lists = [p for p in paths if isinstance(_get(event, p), list)]
    assume(lists)
    return _set(event, draw(st.sampled_from(lists)), [])


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


@settings(max_examples=500)
@given(mutated_events())
def test_mutated_events_get_the_same_verdict(event: Any) -> None:
    assert (oracle_event_error(event) is None) == _event_ok(event)


@settings(max_examples=150)
@given(st.lists(mutated_events() | VALID_EVENTS, min_size=1, max_size=4))
def test_mutated_documents_get_the_same_verdict(events: list[Any]) -> None:
    document = _document(events)
    assert (oracle_error(document) is None) == _schema_ok(document)
    out = IssueCollector()
    check_json_document(document, out)
    failing = {int(i.pointer.split("/")[3]) for i in out.issues if i.pointer.count("/") >= 3}
    assert failing == {i for i, e in enumerate(events) if oracle_event_error(e) is not None}


@settings(max_examples=150)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "type",
                "eventTime",
                "eventTimeZoneOffset",
                "action",
                "epcList",
                "quantityList",
                "childEPCs",
                "parentID",
                "bizStep",
                "ilmd",
                "readPoint",
                "sensorElementList",
                "inputEPCList",
                "outputQuantityList",
                "x",
                "a:b",
            ]
        ),
        JSON_VALUES | BAD_STRINGS,
        max_size=6,
    )
)
def test_arbitrary_objects_get_the_same_verdict(event: dict[str, Any]) -> None:
    assert (oracle_event_error(event) is None) == _event_ok(event)


@settings(max_examples=100)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "@context",
                "type",
                "schemaVersion",
                "creationDate",
                "epcisHeader",
                "epcisBody",
                "id",
                "sender",
                "instanceIdentifier",
                "ex:y",
                "queryName",
            ]
        ),
        JSON_VALUES | BAD_STRINGS | st.just({"eventList": []}) | st.just(CONTEXT),
        max_size=6,
    )
)
def test_arbitrary_documents_get_the_same_verdict(document: dict[str, Any]) -> None:
    assert (oracle_error(document) is None) == _schema_ok(document)


def test_json_equality_in_unique_items() -> None:
    """uniqueItems compares as JSON does: 1 equals 1.0, true is not 1."""
    base = _object_event(1)
    for context, same in (([CONTEXT, {"a": 1}, {"a": 1.0}], True), ([CONTEXT, {"a": True}, {"a": 1}], False)):
        document = _document([base]) | {"@context": context}
        assert (oracle_error(document) is None) == (not same) == _schema_ok(document)


# --- whole documents: read, validate ----------------------------------------------------------


def _object_event(i: int) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": "2024-03-01T10:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": [f"urn:epc:id:sgtin:{CP}.011111.{i}"],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "readPoint": {"id": f"urn:epc:id:sgln:{CP}.00001.0"},
    }


def test_validate_document_matches_validate_json() -> None:
    events = [_object_event(i) for i in range(3)] + [_object_event(3) | {"bizStep": "transforming"}]
    data = orjson.dumps(_document(events))
    from_doc = validate_document(read_jsonld(data))
    from_bytes = validate_jsonld_bytes(data)
    assert [str(i) for i in from_doc.issues] == [str(i) for i in from_bytes.issues]
    assert from_doc.events == from_bytes.events == 4
    assert [i.pointer for i in from_doc.issues] == ["/epcisBody/eventList/3/bizStep"]


def test_validate_document_of_a_query_document() -> None:
    doc = EPCISDocument(
        kind="EPCISQueryDocument",
        query={"queryName": "SimpleEventQuery"},
        events=[_object_event(1) | {"action": "NOPE"}],
    )
    report = validate_document(doc)
    assert [i.pointer for i in report.issues] == ["/epcisBody/queryResults/resultsBody/eventList/0/action"]


def test_oracle_strict_mode() -> None:
    doc = read_jsonld(orjson.dumps(_document([_object_event(1) | {"bizStep": "transforming"}])))
    report = validate_document(doc, schema_engine="oracle", layers=("schema",))
    assert not report.valid
    assert report.issues[0].layer == "schema"
    assert validate_document(
        read_jsonld(orjson.dumps(_document([_object_event(1)]))), schema_engine="oracle"
    ).valid


def test_layers_are_checked() -> None:
    with pytest.raises(ValueError, match="validate_xml"):
        validate_document(EPCISDocument(), layers=("xsd",))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        validate_xml(b"<x/>", layers=("nope",))  # type: ignore[arg-type]


def test_not_json() -> None:
    report = validate_jsonld_bytes(b"{not json")
    assert not report.valid and "not valid JSON" in report.issues[0].reason


def test_validate_document_writes_the_document_as_the_writer_would() -> None:
    """A lenient read keeps a numeric schemaVersion; validation judges what would be written."""
    doc = read_jsonld(
        b'{"@context": "' + CONTEXT.encode() + b'", "type": "EPCISDocument", "schemaVersion": 2.0,'
        b' "creationDate": "2024-03-01T10:05:00Z", "epcisBody": {"eventList": []}}'
    )
    report = validate_document(doc)
    assert [i.pointer for i in report.issues] == ["/schemaVersion"]


# --- rules ------------------------------------------------------------------------------------


def _rules(event: dict[str, Any], *, schema_ran: bool = False) -> list[tuple[str, str, str]]:
    layers = ("schema", "rules") if schema_ran else ("rules",)
    report = validate_events([event], layers=layers)  # type: ignore[arg-type]
    return [(i.severity, i.pointer.removeprefix("/epcisBody/eventList/0"), i.reason) for i in report.issues]


def _pointers(event: dict[str, Any], **kw: Any) -> list[str]:
    return [p for _, p, _ in _rules(event, **kw)]


def test_aggregation_parent_rules() -> None:
    base = {
        "type": "AggregationEvent",
        "eventTime": "2024-03-01T10:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "childEPCs": [f"urn:epc:id:sgtin:{CP}.011111.1"],
    }
    for action in ("ADD", "DELETE"):
        issues = _rules(base | {"action": action}, schema_ran=True)
        assert issues == [
            (
                "error",
                "/parentID",
                f"an AggregationEvent with action {action} must name its parent (parentID)",
            )
        ]
    assert _rules(base | {"action": "OBSERVE"}, schema_ran=True) == []
    # DELETE may leave out the children: all of them are disaggregated
    assert (
        _rules({**base, "action": "DELETE", "parentID": f"urn:epc:id:sscc:{CP}.0000000001", "childEPCs": []})
        == []
    )
    assert _pointers(
        {**base, "action": "ADD", "parentID": f"urn:epc:id:sscc:{CP}.0000000001", "childEPCs": []}
    ) == [""]


def test_structural_rules_without_the_schema() -> None:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2024-03-01T10:00:00",
        "eventTimeZoneOffset": "+15:00",
        "action": "OBSERVE",
        "ilmd": {"cbvmda:lotNumber": "L1"},
        "epcList": [],
    }
    issues = _rules(event)
    assert ("error", "/eventTime", "eventTime has no time-zone offset") in issues
    assert any(p == "/eventTimeZoneOffset" and "hours must be 00 to 14" in r for _, p, r in issues)
    assert any(p == "/ilmd" for _, p, _ in issues)
    assert any(p == "" and "must name its objects" in r for _, p, r in issues)
    transformation = {
        "type": "TransformationEvent",
        "eventTime": "2024-03-01T10:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "ADD",
        "inputEPCList": [f"urn:epc:id:sgtin:{CP}.011111.1"],
    }
    assert _pointers(transformation) == ["", "/action"]
    association = {
        "type": "AssociationEvent",
        "eventTime": "2024-03-01T10:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "ADD",
        "childEPCs": [f"urn:epc:id:sgtin:{CP}.011111.1"],
    }
    assert _pointers(association) == ["/parentID"]
    transaction = {
        "type": "TransactionEvent",
        "eventTime": "2024-03-01T10:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "ADD",
    }
    assert _pointers(transaction) == ["/bizTransactionList", ""]
    # with the schema layer on, it reports these and the rules stay quiet about them
    assert all(layer == "schema" for layer in {i.layer for i in validate_events([event]).issues})


def test_identifier_rules() -> None:
    event = _object_event(1) | {
        "epcList": [
            f"urn:epc:id:sgtin:{CP}.01111.1",  # 12 digits: item reference too short
            "https://id.gs1.org/01/04012345111112/21/1",  # wrong check digit
            f"urn:epc:class:lgtin:{CP}.011111.L1",  # a class in a list of objects
            f"urn:epc:id:sgln:{CP}.00001.0",  # a tagged place: allowed
            "urn:example:my-own:1",  # not GS1's to judge
        ],
        "quantityList": [{"epcClass": f"urn:epc:id:sgtin:{CP}.011111.1", "quantity": 1}],
        "readPoint": {"id": f"urn:epc:id:sscc:{CP}.0000000001"},
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000001:1"}],
    }
    pointers = _pointers(event, schema_ran=True)
    assert pointers == [
        "/epcList/0",
        "/epcList/1",
        "/epcList/2",
        "/readPoint/id",
        "/quantityList/0/epcClass",
        "/bizTransactionList/0/bizTransaction",
    ]


def test_identifier_problem_levels() -> None:
    assert identifier_problem(f"urn:epc:id:pgln:{CP}.00001", "party") is None
    assert identifier_problem(f"urn:epc:id:pgln:{CP}.0001", "party") is not None
    assert identifier_problem("urn:epc:idpat:grai:4012345.66666.*", "class") is None
    assert identifier_problem("urn:epc:id:gdti:4012345.00001.1", "instance") is None
    assert identifier_problem("https://example.com/01/09506000134352/10/L1", "class") is None
    assert identifier_problem("https://example.com/01/09506000134352/21/S", "class") is not None
    assert identifier_problem("https://id.gs1.org/414/4012345000008", "location") is not None
    assert identifier_problem("https://id.gs1.org/414/4012345000054", "location") is None


def test_duplicate_rules() -> None:
    dl = "https://id.gs1.org/01/04012345111118/21/7"
    event = {
        "type": "AggregationEvent",
        "eventTime": "2024-03-01T10:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "ADD",
        "parentID": f"urn:epc:id:sgtin:{CP}.011111.9",
        "childEPCs": [
            f"urn:epc:id:sgtin:{CP}.011111.7",
            dl,
            f"urn:epc:id:sgtin:{CP}.011111.9",
            f"urn:epc:id:sgtin:{CP}.011111.9",
        ],
    }
    issues = _rules(event, schema_ran=True)
    assert [p for _, p, _ in issues] == ["/childEPCs/2", "/childEPCs/3"]
    assert issues[0][2] == "the parent is listed among its own children"
    assert "names the same object twice" in issues[1][2]
    assert _pointers(event | {"childEPCs": [f"urn:epc:id:sgtin:{CP}.011111.7", dl]}, schema_ran=True) == [
        "/childEPCs/1"
    ]
    twice = validate_events(
        [_object_event(1) | {"eventID": "urn:uuid:6926712e-599f-4c4e-b6e9-8dd888c906bd"}] * 2
    )
    assert [i.pointer for i in twice.issues] == ["/epcisBody/eventList/1/eventID"]
    corrected = _object_event(1) | {
        "eventID": "urn:uuid:6926712e-599f-4c4e-b6e9-8dd888c906bd",
        "errorDeclaration": {"declarationTime": "2024-03-02T10:00:00Z"},
    }
    # an error declaration repeats the eventID of the event it declares erroneous
    assert validate_events([_object_event(1) | {"eventID": corrected["eventID"]}, corrected]).valid


def test_cbv_rules() -> None:
    event = _object_event(1) | {
        "bizStep": "https://ref.gs1.org/cbv/BizStep-shiping",
        "disposition": "https://ref.gs1.org/cbv/BizStep-shipping",
        "persistentDisposition": {"set": ["active"], "unset": ["active"]},
        "errorDeclaration": {"declarationTime": "2024-03-01T10:00:00Z", "reason": "cbv:ER-typo"},
    }
    issues = _rules(event, schema_ran=True)
    assert [p for _, p, _ in issues] == [
        "/bizStep",
        "/disposition",
        "/persistentDisposition/unset/0",
        "/errorDeclaration/reason",
    ]
    assert (
        issues[1][2] == "'https://ref.gs1.org/cbv/BizStep-shipping' is a CBV business step, not a disposition"
    )
    own = _object_event(1) | {
        "bizStep": "https://example.com/steps/polishing",
        "disposition": "urn:example:d:x",
    }
    assert _rules(own, schema_ran=True) == []


def test_quantity_and_unit_rules() -> None:
    event = _object_event(1) | {
        "quantityList": [
            {"epcClass": f"urn:epc:class:lgtin:{CP}.011111.L1", "quantity": 0},
            {"epcClass": f"urn:epc:class:lgtin:{CP}.011111.L2", "quantity": 2.5},
            {"epcClass": f"urn:epc:class:lgtin:{CP}.011111.L3", "uom": "KGM"},
            {"epcClass": f"urn:epc:class:lgtin:{CP}.011111.L4", "quantity": 2, "uom": "KGX"},
            {"epcClass": f"urn:epc:class:lgtin:{CP}.011111.L5", "quantity": 2, "uom": "NPR"},
            {"epcClass": f"urn:epc:class:lgtin:{CP}.011111.L6", "quantity": 2, "uom": "BX"},
            {"epcClass": f"urn:epc:class:lgtin:{CP}.011111.L6", "quantity": 3, "uom": "KGM"},
        ]
    }
    issues = _rules(event, schema_ran=True)
    assert [(s, p) for s, p, _ in issues] == [
        ("error", "/quantityList/0/quantity"),
        ("warning", "/quantityList/1/quantity"),
        ("error", "/quantityList/2/uom"),
        ("error", "/quantityList/3/uom"),
        ("warning", "/quantityList/4/uom"),
        ("error", "/quantityList/5/uom"),
        ("warning", "/quantityList/6/epcClass"),
    ]


def test_sensor_rules() -> None:
    report = {
        "type": "Temperature",
        "uom": "CEL",
        "component": "x",
        "percRank": 150,
        "sDev": 1.0,
        "minValue": 5.0,
        "maxValue": 1.0,
        "hexBinaryValue": "ABC",
        "chemicalSubstance": "urn:a:b",
        "microorganism": "urn:a:c",
        "time": "2024-03-02T00:00:00Z",
    }
    event = _object_event(1) | {
        "sensorElementList": [
            {
                "sensorReport": [report],
                "sensorMetadata": {"startTime": "2024-03-01T12:00:00Z", "endTime": "2024-03-01T11:00:00Z"},
            }
        ]
    }
    issues = _rules(event, schema_ran=True)
    at = "/sensorElementList/0"
    assert [(s, p) for s, p, _ in issues] == [
        ("warning", f"{at}/sensorMetadata/endTime"),  # the event is at 09:00Z
        ("warning", f"{at}/sensorMetadata/startTime"),
        ("warning", f"{at}/sensorMetadata/startTime"),  # not before its endTime
        ("error", f"{at}/sensorReport/0"),  # a component needs value and uom
        ("error", f"{at}/sensorReport/0/microorganism"),
        ("error", f"{at}/sensorReport/0"),  # percRank without percValue
        ("error", f"{at}/sensorReport/0/sDev"),
        ("error", f"{at}/sensorReport/0/minValue"),
        ("error", f"{at}/sensorReport/0/percRank"),
        ("error", f"{at}/sensorReport/0/hexBinaryValue"),
        ("warning", f"{at}/sensorReport/0/time"),
    ]


def test_event_id_and_ilmd_rules() -> None:
    event = _object_event(1) | {
        "action": "ADD",
        "eventID": "urn:uuid:not-a-uuid",
        "ilmd": {"cbvmda:itemExpirationDate": "2027-02-30", "cbvmda:lotNumber": "LOT 1"},
    }
    assert [(s, p) for s, p, _ in _rules(event, schema_ran=True)] == [
        ("error", "/eventID"),
        ("error", "/ilmd/cbvmda:itemExpirationDate"),
        ("warning", "/ilmd/cbvmda:lotNumber"),
    ]
    assert [s for s, _, _ in _rules(_object_event(1) | {"eventID": "https://example.com/e/1"})] == ["warning"]


def test_persistent_disposition_on_aggregation_is_warned() -> None:
    event = {
        "type": "AggregationEvent",
        "eventTime": "2024-03-01T10:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "childEPCs": [f"urn:epc:id:sgtin:{CP}.011111.1"],
        "persistentDisposition": {"set": ["active"]},
    }
    assert _rules(event, schema_ran=True)[0][:2] == ("warning", "/persistentDisposition")


def test_header_rules() -> None:
    header = {
        "sbdh:StandardBusinessDocumentHeader": {
            "sbdh:Sender": {"sbdh:Identifier": {"Authority": "GS1", "#text": "4012345000002"}},
            "sbdh:Receiver": {
                "sbdh:Identifier": {"Authority": "SGLN", "#text": f"urn:epc:id:sgln:{CP}.00001.0"}
            },
        },
        "epcisMasterData": {
            "vocabularyList": [
                {
                    "type": "urn:epcglobal:epcis:vtype:EPCClass",
                    "vocabularyElementList": [{"id": f"urn:epc:id:sgtin:{CP}.011111.1"}],
                }
            ]
        },
    }
    report = validate_document(
        EPCISDocument(creation_date="2024-03-01T10:00:00Z", header=header), layers=("rules",)
    )
    assert [i.pointer for i in report.issues] == [
        "/epcisHeader/sbdh:StandardBusinessDocumentHeader/sbdh:Sender/sbdh:Identifier",
        "/epcisHeader/epcisMasterData/vocabularyList/0/vocabularyElementList/0/id",
    ]


def test_units_of_measure_list() -> None:
    assert (
        uom_status("KGM") == "current" and uom_status("C62") == "current" and uom_status("H87") == "current"
    )
    assert (
        uom_status("NPR") == "deprecated" and uom_status("BX") == "deleted" and uom_status("KGX") == "unknown"
    )


@given(
    st.builds(
        lambda cp, item, serial: f"urn:epc:id:sgtin:{cp}.{item}.{serial}",
        st.text("0123456789", min_size=5, max_size=13),
        st.text("0123456789", min_size=0, max_size=8),
        st.text(string.ascii_letters + string.digits + "!'()*+,-.:;=_%/\"", min_size=0, max_size=22),
    )
)
def test_quick_sgtin_test_agrees_with_the_parser(uri: str) -> None:
    if _SGTIN_URN(uri):
        parse_epc_uri(uri)  # never raises for what the quick test passes
        assert _epcs_quick([uri])
        assert identifier_problem(uri, "instance") is None
    try:
        parse_epc_uri(uri)
    except GS1Error:
        assert identifier_problem(uri, "instance") is not None


@given(
    st.integers(0, 10**13 - 1), st.text(string.ascii_letters + string.digits + "-._", min_size=1, max_size=21)
)
def test_quick_digital_link_test_agrees_with_the_parser(number: int, serial: str) -> None:
    uri = f"https://id.gs1.org/01/{number:014d}/21/{serial}"
    try:
        DigitalLink.parse(uri)
        valid = True
    except GS1Error:
        valid = False
    assert (identifier_problem(uri, "instance") is None) == valid


# --- XML: the XSD layer and the whole path ------------------------------------------------------

XML = VALIDATION / "xml"
VALID_XML = (
    sorted((XML / "gs1").rglob("*.xml"))
    + sorted((XML / "openepcis" / "2.0" / "Capture" / "Documents").glob("*.xml"))
    + sorted((XML / "openepcis" / "1.2").glob("*.xml"))
)
INVALID_XML = sorted((XML / "openepcis" / "2.0").rglob("Invalid/*.xml"))


@pytest.mark.parametrize("path", VALID_XML, ids=lambda p: p.name)
def test_valid_xml_passes_the_xsd(path: Path) -> None:
    out = IssueCollector()
    version = check_xsd(path.read_bytes(), out)
    assert out.errors == 0, [str(i) for i in out.issues]
    assert version == ("1.2" if {"1.2", "xml-1.2"} & set(path.parts) else "2.0")


@pytest.mark.parametrize("path", INVALID_XML, ids=lambda p: p.name)
def test_invalid_xml_is_rejected(path: Path) -> None:
    report = validate_xml(path, layers=("xsd", "rules"))
    assert not report.valid
    assert all(i.pointer for i in report.issues)


def test_xsd_issues_are_located_and_explained() -> None:
    report = validate_xml(XML / "openepcis/2.0/Capture/Invalid/ObjectEvent_with_near_miss_action.xml")
    issue = report.issues[0]
    assert issue.layer == "xsd" and issue.pointer.endswith("/ObjectEvent/action")
    assert issue.found == "'OBSERV'" and issue.expected == "one of 'ADD', 'OBSERVE', 'DELETE'"
    order = validate_xml(XML / "openepcis/2.0/Capture/Invalid/ObjectEvent_with_wrong_element_order.xml")
    assert order.issues[0].expected == "eventTime"
    bare = validate_xml(XML / "openepcis/2.0/Capture/Invalid/ObjectEvent_bare_event_without_action.xml")
    assert bare.issues[0].reason == "the root element is not an EPCIS document"
    assert not validate_xml(b"<epcis:EPCISDocument").valid


def test_the_dscsa_example_is_valid_in_every_layer() -> None:
    data = (XML / "openepcis/1.2/GS1_US_Pharma_Example_2_2_1_1.xml").read_bytes()
    assert detect_version(data) == "1.2"
    report = validate_xml(data, layers=("xsd", "schema", "rules"))
    assert report.valid, [str(i) for i in report.issues]
    assert report.events == len(read_xml(data).events) > 0
    # and once converted to 2.0 XML and to JSON-LD
    doc = read_xml(data)
    assert validate_xml(write_xml(doc)).valid
    # JSON-LD keeps the URN form of CBV values, which GS1's JSON Schema does not take: only that is reported
    report = validate_document(read_jsonld(write_jsonld(doc)))
    assert not report.valid
    assert {i.reason.split(" is written")[0] for i in report.issues} <= {
        "in JSON-LD a CBV business step",
        "in JSON-LD a CBV disposition",
        "in JSON-LD a CBV business transaction type",
        "in JSON-LD a CBV source/destination type",
    }
    assert validate_document(read_jsonld(write_jsonld(doc)), layers=("rules",)).valid


def test_xml_rules_point_into_the_json_shape() -> None:
    report = validate_xml(XML / "openepcis/2.0/Capture/Documents/AggregationEvent_with_sensorData.xml")
    assert [(i.layer, i.pointer) for i in report.issues] == [
        ("rules", "/epcisBody/eventList/0/sensorElementList/2/sensorReport/0/uom")
    ]


def test_xml_with_bare_cbv_words_is_warned() -> None:
    doc = EPCISDocument(creation_date="2024-03-01T10:00:00Z", events=[_object_event(1)])
    xml = write_xml(doc).replace(b"urn:epcglobal:cbv:bizstep:shipping", b"shipping")
    report = validate_xml(xml)
    assert report.valid
    assert [(i.severity, i.pointer) for i in report.issues] == [("warning", "/epcisBody/eventList/0/bizStep")]


def test_xml_schemas_compile_once() -> None:
    assert xml_schema("2.0") is xml_schema("2.0")
    assert xml_schema("1.2") is not xml_schema("2.0")


def test_written_xml_validates_for_generated_events() -> None:
    """Events packtrail writes as 2.0 and 1.2 XML validate against GS1's XSDs."""
    doc = EPCISDocument(creation_date="2024-03-01T10:00:00Z", events=[_object_event(i) for i in range(5)])
    for version in ("2.0", "1.2"):
        report = validate_xml(write_xml(doc, version=version))  # type: ignore[arg-type]
        assert report.valid, [str(i) for i in report.issues]


def test_reports_render() -> None:
    report: ValidationReport = validate_events([_object_event(1) | {"action": 5}])
    text = str(report)
    assert text.startswith("invalid: 1 error(s)")
    assert json.loads(json.dumps(report.to_dict()))["issues"][0]["pointer"] == "/epcisBody/eventList/0/action"
