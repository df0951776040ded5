"""EPCIS round trips across JSON-LD, EPCIS 2.0 XML and EPCIS 1.2 XML, and streaming conversion.

Every published example (GS1, OpenEPCIS, the event hash reference: tests/data/epcis/*/NOTICE.md)
keeps its normalised events, SBDH, master data and header extensions across the conversions;
every hash vector keeps its event hashes; generated events survive every format; convert()
streaming gives what whole-document conversion gives; and the GS1 examples that are invalid
are listed here with the reason, which the validator must report exactly.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from packtrail.epcis.compare import normalised_events_equal
from packtrail.epcis.convert import convert, detect_format
from packtrail.epcis.document import EPCISDocument
from packtrail.epcis.errors import EPCISError
from packtrail.epcis.hashing import document_hashes
from packtrail.epcis.jsonld import read_jsonld, write_jsonld
from packtrail.epcis.validation import validate_document
from packtrail.epcis.xml import XMLWriteWarning, read_xml, write_xml
from test_epcis_validation import VALID_EVENTS
from test_epcis_xml import unpacked, xsd_errors

TESTS = Path(__file__).parent
JSON_LD_ROOT = TESTS / "data" / "epcis" / "json-ld"
JSON_LD = sorted(
    path
    for path in JSON_LD_ROOT.rglob("*.json*")
    if "Invalid" not in path.parts and "Events" not in path.parts
)
XML = sorted(
    path
    for folder in ("gs1/xml", "gs1/xml-1.2", "openepcis")
    for path in (unpacked() / folder).rglob("*.xml")
    if "Invalid" not in path.parts and "CaptureJob" not in path.parts
)
HASH_VECTORS = TESTS / "data" / "epcis-event-hash" / "examples"

PROTECTED_PREFIX_CLASHES = {"gs1", "cbvmda"}
"""Prefixes GS1's JSON-LD context defines (and protects) that some examples bind to another
namespace (``xmlns:gs1="https://ref.gs1.org/voc/"``; GS1's own JSON-LD examples declare
``"cbvmda": "http://example.com/cbvmda/"``): written as the source had them, with a warning."""


def _xml_id(path: Path) -> str:
    return str(path.relative_to(unpacked()))


def _json_id(path: Path) -> str:
    return str(path.relative_to(JSON_LD_ROOT))


def _read_xml(path: Path) -> EPCISDocument | None:
    try:
        return read_xml(path)
    except EPCISError:
        return None  # QuantityEvent documents (EPCIS 1.0, not supported): test_epcis_xml covers them


def _dropped(notes: list[XMLWriteWarning]) -> set[str]:
    return {note.field for note in notes if "dropped" in note.reason}


def _without(doc: EPCISDocument, dropped: set[str]) -> EPCISDocument:
    """The document without the fields an XML writer said it dropped: a key of the event
    (``@context``, ``id``) or ``"type in <list>"`` (JSON-LD node types of the list's items)."""
    if not dropped:
        return doc
    top = {name for name in dropped if " in " not in name}
    inner = {name.split(" in ")[1]: name.split(" in ")[0] for name in dropped if " in " in name}

    def strip(event: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in event.items() if k not in top}
        for container, key in inner.items():
            if isinstance(out.get(container), list):
                out[container] = [
                    {k: v for k, v in item.items() if k != key} if isinstance(item, dict) else item
                    for item in out[container]
                ]
        return out

    copy = doc.header_only()
    copy.events = [strip(event) for event in doc.events]
    return copy


# --- JSON-LD -> XML 2.0 -> JSON-LD ----------------------------------------------------------------


@pytest.mark.parametrize("path", JSON_LD, ids=_json_id)
def test_json_ld_to_xml_to_json_ld_keeps_events_header_and_master_data(path: Path) -> None:
    doc = read_jsonld(path)
    notes: list[XMLWriteWarning] = []
    xml = write_xml(doc, warnings=notes)
    again = read_jsonld(write_jsonld(read_xml(xml)))
    assert normalised_events_equal(_without(doc, _dropped(notes)), again) == []
    assert again.kind == doc.kind
    assert again.header == doc.header
    assert again.query == doc.query


# --- XML -> JSON-LD -> XML, 1.2 -> 2.0 -> 1.2, 1.2 -> JSON-LD -> 1.2 ---------------------------------


@pytest.mark.parametrize("path", XML, ids=_xml_id)
def test_xml_to_json_ld_to_xml_keeps_everything(path: Path) -> None:
    doc = _read_xml(path)
    if doc is None:
        return
    version = "1.2" if doc.schema_version == "1.2" else "2.0"
    warnings: list[str] = []
    json_doc = read_jsonld(write_jsonld(doc, warnings=warnings))
    back = read_xml(write_xml(json_doc, version=version))  # type: ignore[arg-type]
    assert normalised_events_equal(doc, back) == []
    assert (back.kind, back.header, back.query) == (doc.kind, doc.header, doc.query)
    assert {prefix for prefix in doc.namespaces if any(repr(prefix) in w for w in warnings)} <= (
        PROTECTED_PREFIX_CLASHES
    )
    assert back.namespaces == doc.namespaces
    assert back.attributes == doc.attributes


SOURCES_1_2 = [path for path in XML if (doc := _read_xml(path)) is not None and doc.schema_version == "1.2"]


@pytest.mark.parametrize("path", SOURCES_1_2, ids=_xml_id)
@pytest.mark.parametrize("via", ["xml", "jsonld"])
def test_1_2_to_2_0_to_1_2_keeps_events_sbdh_master_data_and_header_extensions(path: Path, via: str) -> None:
    doc = read_xml(path)
    notes: list[XMLWriteWarning] = []
    if via == "xml":
        middle = read_xml(write_xml(doc, version="2.0", warnings=notes))
    else:
        middle = read_jsonld(write_jsonld(doc))
    back = read_xml(write_xml(middle, version="1.2"))
    assert normalised_events_equal(_without(doc, _dropped(notes)), back) == []
    assert back.header == doc.header  # SBDH, master data and header extensions (gs1ushc:...), exactly
    assert back.kind == doc.kind


def test_the_dscsa_header_extensions_go_back_into_the_1_2_header() -> None:
    path = unpacked() / "openepcis/1.2/Capture/Documents/GS1_US_Pharma_Example_2_2_1_1.xml"
    doc = read_xml(path)
    assert "gs1ushc:dscsaTransactionStatement" in (doc.header or {})
    as_2_0 = read_xml(write_xml(doc))
    assert "gs1ushc:dscsaTransactionStatement" in as_2_0.attributes  # 2.0 has no slot in its header
    data = write_xml(as_2_0, version="1.2")
    assert xsd_errors(data) is None
    assert read_xml(data).header == doc.header


def test_master_data_documents_round_trip_as_themselves() -> None:
    doc = read_xml(unpacked() / "gs1/xml/Mimasu/Example-masterData.xml")
    assert doc.kind == "EPCISMasterDataDocument" and not doc.events and doc.vocabularies()
    for version in ("2.0", "1.2"):
        again = read_xml(write_xml(doc, version=version))
        assert (again.kind, again.header) == (doc.kind, doc.header)
    via_json = read_jsonld(write_jsonld(doc))
    assert (via_json.kind, via_json.header) == (doc.kind, doc.header)
    assert read_xml(write_xml(via_json)).header == doc.header


def test_namespaces_without_a_trailing_delimiter_expand_right_and_come_back() -> None:
    doc = EPCISDocument(
        creation_date="2024-03-01T10:05:00Z",
        namespaces={"cbvmda": "urn:epcglobal:cbv:mda", "ext1": "http://example.com/ext1",
                    "ext2": "http://example.com/ext2/", "xsi": "http://www.w3.org/2001/XMLSchema-instance"},
        attributes={"xsi:schemaLocation": "urn:epcglobal:epcis:xsd:2 EPCglobal-epcis-2_0.xsd"},
        events=[{"type": "ObjectEvent", "action": "ADD", "ilmd": {"cbvmda:lotNumber": "L1"},
                 "ext1:a": {"xsi:type": "xsd:string", "#text": "x"}, "ext2:b": "y"}],
    )  # fmt: skip
    notes: list[str] = []
    data = write_jsonld(doc, warnings=notes)
    assert notes == []
    context = read_jsonld(data).context[1]
    assert context["cbvmda"] == {"@id": "urn:epcglobal:cbv:mda:", "@prefix": True}  # kept, and as GS1's
    assert context["ext1"] == {"@id": "http://example.com/ext1#", "@prefix": True}
    assert context["ext2"] == "http://example.com/ext2/"
    again = read_jsonld(data)
    assert again.namespaces == doc.namespaces
    assert again.attributes == doc.attributes and again.events == doc.events
    assert read_xml(write_xml(again)).namespaces.items() >= doc.namespaces.items()


# --- hash vectors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", sorted(HASH_VECTORS.glob("*.jsonld")) + sorted(HASH_VECTORS.glob("*.xml")), ids=lambda p: p.name
)
def test_event_hashes_survive_json_ld_to_xml_to_json_ld(path: Path) -> None:
    doc = read_xml(path) if path.suffix == ".xml" else read_jsonld(path)
    expected = [line for line in path.with_suffix(".hashes").read_text().split("\n") if line]
    assert document_hashes(doc) == expected
    json_doc = doc if path.suffix == ".jsonld" else read_jsonld(write_jsonld(doc))
    assert document_hashes(read_jsonld(write_jsonld(read_xml(write_xml(json_doc))))) == expected


# --- generated events ---------------------------------------------------------------------------


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(VALID_EVENTS)
def test_generated_events_round_trip_through_every_format(event: dict[str, Any]) -> None:
    doc = EPCISDocument(
        creation_date="2024-03-01T10:05:00Z",
        namespaces={"example": "https://ns.example.com/epcis/"},
        events=[event],
    )
    via_json = read_jsonld(write_jsonld(doc))
    assert via_json.events == doc.events
    expected = doc
    if isinstance(event.get("certificationInfo"), list) and len(event["certificationInfo"]) > 1:
        # EPCIS XML holds one certificationInfo (the writer warns): the first one stays
        expected = doc.header_only()
        expected.events = [{**event, "certificationInfo": event["certificationInfo"][0]}]
    for version in ("2.0", "1.2"):
        notes: list[XMLWriteWarning] = []
        xml = write_xml(via_json, version=version, warnings=notes)
        assert all(note.field == "certificationInfo" for note in notes if "dropped" in note.reason)
        back = read_jsonld(write_jsonld(read_xml(xml)))
        assert normalised_events_equal(expected, back) == []
        assert document_hashes(back) == document_hashes(expected)


# --- streaming conversion -----------------------------------------------------------------------


def _whole(source: bytes, to: str) -> EPCISDocument:
    doc = read_jsonld(source) if detect_format(source) == "jsonld" else read_xml(source)
    if to == "jsonld":
        doc.schema_version = "2.0"
        return read_jsonld(write_jsonld(doc))
    return read_xml(write_xml(doc, version="1.2" if to == "xml12" else "2.0"))


STREAM_SOURCES = [*JSON_LD[::4], *(p for p in XML[::3] if _read_xml(p) is not None)]


@pytest.mark.parametrize("path", STREAM_SOURCES, ids=lambda p: p.name)
@pytest.mark.parametrize("to", ["jsonld", "xml", "xml12"])
def test_convert_streams_what_whole_document_conversion_gives(path: Path, to: str) -> None:
    source = path.read_bytes()
    out = io.BytesIO()
    seen: list[int] = []
    summary = convert(source, out, to=to, progress=seen.append)  # type: ignore[arg-type]
    expected = _whole(source, to)
    got = read_jsonld(out.getvalue()) if to == "jsonld" else read_xml(out.getvalue())
    assert summary.events == len(got.events) == len(expected.events) and seen[-1] == summary.events
    assert got.events == expected.events
    assert (got.kind, got.header, got.query, got.namespaces) == (
        expected.kind, expected.header, expected.query, expected.namespaces)  # fmt: skip
    if expected.creation_date is not None and "creationDate" not in str(summary.warnings):
        assert got.creation_date == expected.creation_date
        assert got.attributes == expected.attributes
    assert summary.target_format == to and summary.source_format == detect_format(source)


def test_convert_carries_parts_after_the_events_and_declarations_inside_them(tmp_path: Path) -> None:
    late = (b'{"type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2024-03-01T10:05:00Z",'
            b'"epcisBody": {"eventList": [{"type": "ObjectEvent", "action": "OBSERVE", "ex:n": "1"}]},'
            b'"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",'
            b'{"ex": "http://ns.example.com/epcis/"}], "epcisHeader": {"ex:late": "yes"}}')  # fmt: skip
    target = tmp_path / "out.xml"
    summary = convert(late, target, to="xml12")
    assert summary.passes == 2 and summary.events == 1
    doc = read_xml(target)
    assert doc.header is not None and doc.header["ex:late"] == "yes"
    inner = b"""<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0"
      creationDate="2024-03-01T10:05:00Z"><EPCISBody><EventList><ObjectEvent>
      <action>OBSERVE</action><ex:n xmlns:ex="http://ns.example.com/epcis/">1</ex:n>
      </ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"""
    out = io.BytesIO()
    summary = convert(inner, out, to="jsonld")
    assert summary.passes == 2
    assert read_jsonld(out.getvalue()).namespaces == {"ex": "http://ns.example.com/epcis/"}
    out = io.BytesIO()
    assert convert(inner, out, to="xml").passes == 1  # XML declares it where it is used


def test_detect_format_and_bad_input() -> None:
    assert detect_format(b"\xef\xbb\xbf  {}") == "jsonld"
    assert detect_format(b"<ObjectEvent><action>ADD</action></ObjectEvent>") == "xml"
    assert detect_format(b'<q:EPCISQueryDocument xmlns:q="urn:epcglobal:epcis-query:xsd:1"/>') == "xml12"
    with pytest.raises(EPCISError):
        detect_format(b"hello")
    with pytest.raises(EPCISError):
        detect_format(b"<a><")
    with pytest.raises(EPCISError):
        convert(b"{}", io.BytesIO(), to="csv")  # type: ignore[arg-type]


# --- which GS1 examples are invalid, and why ------------------------------------------------------

KNOWN_INVALID: dict[str, set[str]] = {
    "gs1/json-ld/PersistentDisposition-example.jsonld": {
        "the GLN in the business transaction URN has a wrong check digit",
    },
    "gs1/json-ld/WithFullCombinationOfFields/aggregation_event_all_possible_fields.jsonld": {
        "a sensorReport names a chemicalSubstance or a microorganism, not both",
    },
    "gs1/json-ld/WithFullCombinationOfFields/association_event_all_possible_fields.jsonld": {
        "a sensorReport names a chemicalSubstance or a microorganism, not both",
    },
    "gs1/json-ld/WithFullCombinationOfFields/object_event_all_possible_fields.jsonld": {
        "a sensorReport names a chemicalSubstance or a microorganism, not both",
    },
    "gs1/json-ld/WithFullCombinationOfFields/transaction_event_all_possible_fields.jsonld": {
        "a sensorReport names a chemicalSubstance or a microorganism, not both",
    },
    "gs1/json-ld/WithFullCombinationOfFields/transformation_event_all_possible_fields.jsonld": {
        "a sensorReport names a chemicalSubstance or a microorganism, not both",
    },
    "gs1/json-ld/WithSensorData/SensorDataExample8.jsonld": {
        "a sensorReport without value, minValue, maxValue, meanValue or percValue must omit uom",
    },
    "gs1/json-ld-simple-context/AssociationEvent/AssociationEvent-a.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/AssociationEvent/AssociationEvent-b.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/AssociationEvent/AssociationEvent-c.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/AssociationEvent/AssociationEvent-d.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/AssociationEvent/AssociationEvent-e.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/AssociationEvent/AssociationEvent-f.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/AssociationEvent/AssociationEvent-g.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/AssociationEvent/AssociationEvent-h.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/Example-TransactionEvents-2020_07_03y.jsonld": {
        "destinationList must be a list",
        "sourceList must be a list",
    },
    "gs1/json-ld-simple-context/Example-Type-sourceOrDestination,measurement,bizTransaction.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/Example_9.6.1-ObjectEvent-with-pseudo-SBDH-headers.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/Example_9.6.1-ObjectEvent.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/Example_9.6.1-with-comment.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/Example_9.6.2-ObjectEvent.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/Example_9.6.3-AggregationEvent.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/Example_9.6.4-TransformationEvent.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/PersistentDisposition-example.jsonld": {
        "'id' is not a field of an AggregationEvent; an extension field needs a namespace prefix (prefix:name)",
        "id is not a URI",
        "the GLN in the business transaction URN has a wrong check digit",
    },
    "gs1/json-ld-simple-context/WithDigitalLinkID/Example_9.6.1-ObjectEventWithDigitalLink.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/WithDigitalLinkID/Example_9.6.2-ObjectEventWithDigitalLink.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/WithDigitalLinkID/Example_9.6.3-AggregationEventWithDigitalLink.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/WithDigitalLinkID/Example_9.6.4-TransformationEventWithDigitalLink.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/WithErrorDeclaration/Example_9.6.1-ObjectEvent-with-error-declaration.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/WithFullCombinationOfFields/aggregation_event_all_possible_fields.jsonld": {
        "'type' is not a field of a sensor element; an extension field needs a namespace prefix (prefix:name)",
        "a sensorReport names a chemicalSubstance or a microorganism, not both",
    },
    "gs1/json-ld-simple-context/WithFullCombinationOfFields/association_event_all_possible_fields.jsonld": {
        "'type' is not a field of a sensor element; an extension field needs a namespace prefix (prefix:name)",
        "a sensorReport names a chemicalSubstance or a microorganism, not both",
    },
    "gs1/json-ld-simple-context/WithFullCombinationOfFields/object_event_all_possible_fields.jsonld": {
        "'type' is not a field of a sensor element; an extension field needs a namespace prefix (prefix:name)",
        "a sensorReport names a chemicalSubstance or a microorganism, not both",
        "ilmd (instance/lot master data) is only allowed when action is ADD",
    },
    "gs1/json-ld-simple-context/WithFullCombinationOfFields/transaction_event_all_possible_fields.jsonld": {
        "'type' is not a field of a sensor element; an extension field needs a namespace prefix (prefix:name)",
        "a sensorReport names a chemicalSubstance or a microorganism, not both",
    },
    "gs1/json-ld-simple-context/WithFullCombinationOfFields/transformation_event_all_possible_fields.jsonld": {
        "'type' is not a field of a sensor element; an extension field needs a namespace prefix (prefix:name)",
        "a sensorReport names a chemicalSubstance or a microorganism, not both",
    },
    "gs1/json-ld-simple-context/WithSensorData/SensorDataExample1.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/WithSensorData/SensorDataExample10.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/WithSensorData/SensorDataExample12.jsonld": {
        "'type' is not a field of a sensor element; an extension field needs a namespace prefix (prefix:name)",
        "epcisDocument must have creationDate",
        "epcisDocument must have schemaVersion",
    },
    "gs1/json-ld-simple-context/WithSensorData/SensorDataExample13.jsonld": {
        "epcList[0]",
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/WithSensorData/SensorDataExample14.jsonld": {
        "'type' is not a field of a sensor element; an extension field needs a namespace prefix (prefix:name)",
    },
    "gs1/json-ld-simple-context/WithSensorData/SensorDataExample15.jsonld": {
        "'type' is not a field of a sensor element; an extension field needs a namespace prefix (prefix:name)",
    },
    "gs1/json-ld-simple-context/WithSensorData/SensorDataExample17.jsonld": {
        "epcList[0]",
        "id is not a URI",
        "schemaVersion must be text",
    },
    "gs1/json-ld-simple-context/WithSensorData/SensorDataExample1b.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/WithSensorData/SensorDataExample2.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/WithSensorData/SensorDataExample3.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/WithSensorData/SensorDataExample4.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/WithSensorData/SensorDataExample5.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/WithSensorData/SensorDataExample6.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/WithSensorData/SensorDataExample7.jsonld": {
        "id is not a URI",
    },
    "gs1/json-ld-simple-context/WithSensorData/SensorDataExample8.jsonld": {
        "a sensorReport without value, minValue, maxValue, meanValue or percValue must omit uom",
        "id is not a URI",
    },
    "openepcis/Capture/Documents/AggregationEvent_all_possible_fields.json": {
        "a sensorReport names a chemicalSubstance or a microorganism, not both",
    },
    "openepcis/Capture/Documents/AggregationEvent_with_persistentDisposition.json": {
        "the GLN in the business transaction URN has a wrong check digit",
    },
    "openepcis/Capture/Documents/AggregationEvent_with_sensorData.json": {
        "a sensorReport without value, minValue, maxValue, meanValue or percValue must omit uom",
    },
    "openepcis/Capture/Documents/AssociationEvent_all_possible_fields.json": {
        "a sensorReport names a chemicalSubstance or a microorganism, not both",
    },
    "openepcis/Capture/Documents/Combination_of_different_event.json": {
        "epcList[0]",
    },
    "openepcis/Capture/Documents/CurieString_document.json": {
        "'cbv:my_own_party' is not a CBV 2.0 source/destination type",
    },
    "openepcis/Capture/Documents/JumbledFieldsOrder.json": {
        "a sensorReport with a component must also give value and uom",
    },
    "openepcis/Capture/Documents/ObjectEvent_all_possible_fields.json": {
        "a sensorReport names a chemicalSubstance or a microorganism, not both",
    },
    "openepcis/Capture/Documents/ObjectEvent_with_persistentDisposition.json": {
        "the GLN in the business transaction URN has a wrong check digit",
    },
    "openepcis/Capture/Documents/SensorData_with_combined_events.json": {
        "'EffectiveDoseRate' is not a CBV sensor measurement type, and a sensor measurement type of your own must be a URI",
        "'Molar_concentration' is not a CBV sensor measurement type, and a sensor measurement type of your own must be a URI",
        "a sensorReport must have type",
        "a sensorReport without value, minValue, maxValue, meanValue or percValue must omit uom",
        "epcList[0]",
    },
    "openepcis/Capture/Documents/TransactionEvent_all_possible_fields.json": {
        "a sensorReport names a chemicalSubstance or a microorganism, not both",
    },
    "openepcis/Capture/Documents/TransactionEvent_with_userExtensions.json": {
        "'EffectiveDoseRate' is not a CBV sensor measurement type, and a sensor measurement type of your own must be a URI",
    },
    "openepcis/Capture/Documents/TransformationEvent_all_possible_fields.json": {
        "a sensorReport names a chemicalSubstance or a microorganism, not both",
    },
    "openepcis/Capture/Documents/epcisDocWithAllGS1Keys.json": {
        "epcList names the same object twice (once as an EPC URI, once as a GS1 Digital Link)",
    },
    "openepcis/Query/Combination_of_different_event.json": {
        "epcList[0]",
    },
    "openepcis/Query/CurieString_document.json": {
        "'cbv:my_own_party' is not a CBV 2.0 source/destination type",
    },
    "openepcis/Query/JumbledFieldsOrder.json": {
        "a sensorReport with a component must also give value and uom",
    },
    "openepcis/Query/ObjectEventWithAllPossibleFields.json": {
        "a sensorReport names a chemicalSubstance or a microorganism, not both",
    },
    "openepcis/Query/SensorData_with_combined_events.json": {
        "'EffectiveDoseRate' is not a CBV sensor measurement type, and a sensor measurement type of your own must be a URI",
        "'Molar_concentration' is not a CBV sensor measurement type, and a sensor measurement type of your own must be a URI",
        "a sensorReport must have type",
        "a sensorReport without value, minValue, maxValue, meanValue or percValue must omit uom",
        "epcList[0]",
    },
    "openepcis/Query/TransactionEvent_with_userExtensions.json": {
        "'EffectiveDoseRate' is not a CBV sensor measurement type, and a sensor measurement type of your own must be a URI",
    },
    "openepcis/Query/queryDocument.json": {
        "epcList[0]",
    },
}
"""Published examples that break the standard (reasons as the validator words them; ``epcList[0]``
stands for an identifier problem there). The reasons, in short: GS1's simple-context examples
write ``"id": "_:document1"`` (a blank node, not the URI the schema wants); ``"type"`` on sensor
elements (JSON-LD node typing, no EPCIS field); sensor reports with both a chemical substance
and a microorganism, or a uom without a value; GLNs and GRAIs with wrong check digits; CBV
terms that do not exist (``EffectiveDoseRate``, ``Molar_concentration``, ``cbv:my_own_party``)."""


@pytest.mark.parametrize("path", JSON_LD, ids=_json_id)
def test_exactly_the_known_invalid_examples_are_invalid(path: Path) -> None:
    report = validate_document(read_jsonld(path))
    found = {
        issue.reason.split(":")[0] if issue.reason.startswith("epcList[") else issue.reason
        for issue in report.issues
        if issue.severity == "error"
    }
    assert found == KNOWN_INVALID.get(_json_id(path), set())


def test_the_known_invalid_list_names_real_files() -> None:
    assert set(KNOWN_INVALID) <= {_json_id(path) for path in JSON_LD}
