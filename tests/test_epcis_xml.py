"""EPCIS 2.0 / 1.2 XML: every published example reads, round trips keep the content, output is
XSD-valid, XML and JSON-LD twins agree, and broken input only ever raises EPCISError.

The documents come from GS1 (the EPCIS 2.0 examples and XSDs), OpenEPCIS (valid and invalid
documents, the GS1 US DSCSA example) and the EPCIS event hash reference implementation (XML and
JSON-LD twins): see tests/data/epcis/xml/NOTICE.md.
"""

from __future__ import annotations

import atexit
import io
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from packtrail.epcis.compare import normalised_events as normalised
from packtrail.epcis.document import EPCISDocument
from packtrail.epcis.errors import EPCISError
from packtrail.epcis.jsonld import read_jsonld
from packtrail.epcis.vocabulary import normalise_event
from packtrail.epcis.xml import (
    XMLWriteWarning,
    iter_xml_events,
    read_capture_job,
    read_xml,
    write_capture_job,
    write_xml,
    write_xml_stream,
)

DATA = Path(__file__).parent / "data" / "epcis" / "xml"


@cache
def unpacked() -> Path:
    """The vendored archives, unpacked once per test session into a temporary folder."""
    root = Path(tempfile.mkdtemp(prefix="packtrail-epcis-xml-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    for name in ("gs1", "openepcis", "ralphtro"):
        with tarfile.open(DATA / f"{name}.tar.xz") as archive:
            archive.extractall(root / name, filter="data")
    return root


def _files(*folders: str) -> list[Path]:
    root = unpacked()
    return sorted(path for folder in folders for path in (root / folder).rglob("*.xml"))


def _id(path: Path) -> str:
    return str(path.relative_to(unpacked()))


ALL_FILES = _files("gs1/xml", "gs1/xml-1.2", "openepcis")
CAPTURE_JOBS = [path for path in ALL_FILES if "CaptureJob" in path.parts]
DOCUMENTS = [path for path in ALL_FILES if "CaptureJob" not in path.parts]
INVALID = [path for path in DOCUMENTS if "Invalid" in path.parts]
VALID = [path for path in DOCUMENTS if "Invalid" not in path.parts]

XSD_FILES = {
    ("2.0", "EPCISDocument"): "xsd/2.0/EPCglobal-epcis-2_0.xsd",
    ("2.0", "EPCISQueryDocument"): "xsd/2.0/EPCglobal-epcis-query-2_0.xsd",
    ("1.2", "EPCISDocument"): "xsd/1.2/EPCglobal-epcis-1_2.xsd",
    ("1.2", "EPCISQueryDocument"): "xsd/1.2/EPCglobal-epcis-query-1_2.xsd",
}
ROOTS = {
    "{urn:epcglobal:epcis:xsd:2}EPCISDocument": ("2.0", "EPCISDocument"),
    "{urn:epcglobal:epcis-query:xsd:2}EPCISQueryDocument": ("2.0", "EPCISQueryDocument"),
    "{urn:epcglobal:epcis:xsd:1}EPCISDocument": ("1.2", "EPCISDocument"),
    "{urn:epcglobal:epcis-query:xsd:1}EPCISQueryDocument": ("1.2", "EPCISQueryDocument"),
}


@cache
def schema(version: str, kind: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(unpacked() / "gs1" / XSD_FILES[(version, kind)])))


def xsd_errors(data: bytes) -> str | None:
    """None when the document is valid against the GS1 XSD of its root element, else the error."""
    root = etree.fromstring(data)
    if root.tag == "{urn:epcglobal:epcis:xsd:2}EPCISCaptureJob":
        checker = schema("2.0", "EPCISDocument")  # the capture job is declared in the same XSD
    elif root.tag in ROOTS:
        checker = schema(*ROOTS[root.tag])
    else:
        return f"no XSD for {root.tag}"
    return None if checker.validate(root) else str(checker.error_log.last_error)


@cache
def source_is_valid(path: Path) -> bool:
    return xsd_errors(path.read_bytes()) is None


# ---------------------------------------------------------------------------------------------
# every example reads


@pytest.mark.parametrize("path", VALID, ids=_id)
def test_every_valid_example_reads(path: Path) -> None:
    doc = read_xml(path)
    assert doc.kind in ("EPCISDocument", "EPCISQueryDocument", "EPCISMasterDataDocument")
    assert doc.schema_version in ("1.2", "2.0")
    for event in doc.events:
        assert event["type"] in ("ObjectEvent", "AggregationEvent", "TransactionEvent",
                                 "TransformationEvent", "AssociationEvent")  # fmt: skip
    assert read_xml(path.read_bytes()) == doc
    with path.open("rb") as file:
        assert read_xml(file) == doc


@pytest.mark.parametrize("path", INVALID, ids=_id)
def test_invalid_examples_read_or_raise_epcis_error(path: Path) -> None:
    try:
        read_xml(path)
    except EPCISError as error:
        assert error.reason


def test_the_example_counts() -> None:
    assert len(DOCUMENTS) == 33 + 5 + 85 and len(CAPTURE_JOBS) == 4
    assert sum(source_is_valid(path) for path in DOCUMENTS) == 86  # XSD-valid sources


def test_unknown_element_in_an_event_reads_as_a_bare_key_and_2_0_drops_it() -> None:
    path = unpacked() / "openepcis/2.0/XML/Capture/Invalid/ObjectEvent_with_unknown_element.xml"
    doc = read_xml(path)
    assert doc.events[0]["madeUpField"] == "x"
    notes: list[XMLWriteWarning] = []
    assert "madeUpField" not in read_xml(write_xml(doc, warnings=notes)).events[0]
    assert [note.field for note in notes] == ["madeUpField"]
    # EPCIS 1.2 has a place for it: <extension><extension> (##local)
    assert read_xml(write_xml(doc, version="1.2")).events[0]["madeUpField"] == "x"


def test_an_event_type_that_is_none_raises() -> None:
    path = unpacked() / "openepcis/2.0/XML/Query/Invalid/QueryDocument_with_invalid_eventType.xml"
    with pytest.raises(EPCISError, match="ObjectEventInvalid"):
        read_xml(path)


# ---------------------------------------------------------------------------------------------
# what the reader makes of the documents


def test_dscsa_example_sbdh_master_data_ilmd_and_extensions() -> None:
    doc = read_xml(unpacked() / "openepcis/1.2/Capture/Documents/GS1_US_Pharma_Example_2_2_1_1.xml")
    assert (doc.kind, doc.schema_version, doc.creation_date) == (
        "EPCISDocument",
        "1.2",
        "2023-04-01T08:45:16Z",
    )
    assert doc.namespaces["sbdh"] == "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
    assert doc.namespaces["gs1ushc"] == "http://epcis.gs1us.org/hc/ns"
    assert doc.attributes == {"xsi:schemaLocation": "urn:epcglobal:epcis:xsd:1 EPCglobal-epcis-1_2.xsd"}
    sbdh = doc.header["sbdh:StandardBusinessDocumentHeader"]  # type: ignore[index]
    assert sbdh["sbdh:Sender"] == {
        "sbdh:Identifier": {"Authority": "GS1", "#text": "urn:epc:id:sgln:030001.111111.0"}
    }
    assert sbdh["sbdh:DocumentIdentification"]["sbdh:InstanceIdentifier"] == "1100220001"
    assert doc.header["gs1ushc:guidelineVersion"] == "GS1 US DSCSA R1.3"  # type: ignore[index]
    assert doc.header["gs1ushc:dscsaTransactionStatement"]["gs1ushc:affirmTransactionStatement"] == "true"  # type: ignore[index]
    vocabularies = doc.vocabularies()
    assert [v["type"] for v in vocabularies] == [
        "urn:epcglobal:epcis:vtype:EPCClass",
        "urn:epcglobal:epcis:vtype:Location",
    ]
    lsu = vocabularies[0]["vocabularyElementList"][0]
    assert lsu["id"] == "urn:epc:idpat:sgtin:030001.0012345.*"
    assert lsu["attributes"][0] == {
        "id": "urn:epcglobal:cbv:mda#additionalTradeItemIdentification",
        "attribute": "0001-0123-45",
    }
    assert len(vocabularies[1]["vocabularyElementList"]) == 4
    assert doc.event_type_counts() == {"ObjectEvent": 4, "AggregationEvent": 4}
    first = doc.events[0]
    assert first["ilmd"] == {"cbvmda:lotNumber": "A123", "cbvmda:itemExpirationDate": "2025-03-27"}
    assert len(first["epcList"]) == 12
    shipping = doc.events[-1]
    assert shipping["gs1ushc:dropShipment"] == "false"
    assert shipping["sourceList"][0] == {
        "type": "urn:epcglobal:cbv:sdt:owning_party",
        "source": "urn:epc:id:sgln:030001.111111.0",
    }
    assert shipping["bizTransactionList"][1]["type"] == "urn:epcglobal:cbv:btt:desadv"


def test_1_2_layouts_are_flattened() -> None:
    folder = unpacked() / "gs1/xml-1.2"
    transformation = read_xml(folder / "TransformationEvent.xml").events[0]
    assert transformation["type"] == "TransformationEvent"
    assert transformation["inputQuantityList"][0] == {
        "epcClass": "urn:epc:class:lgtin:4012345.011111.4444", "quantity": 10, "uom": "KGM"}  # fmt: skip
    associations = read_xml(folder / "AssociationEvent.xml").events
    assert {event["type"] for event in associations} == {"AssociationEvent"}
    with_base = read_xml(
        unpacked() / "openepcis/1.2/Capture/Documents/ObjectEvent_all_possible_fields.xml"
    ).events[0]
    assert with_base["eventID"].startswith("ni:///sha-256;")
    assert with_base["errorDeclaration"]["reason"] == "urn:epcglobal:cbv:er:incorrect_data"
    assert with_base["errorDeclaration"]["correctiveEventIDs"] == [
        "urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8"
    ]
    assert with_base["quantityList"][0]["quantity"] == 200
    assert with_base["ilmd"]["cbvmda:netWeight"] == {"measurementUnitCode": "KGM", "#text": "3.5"}
    assert with_base["persistentDisposition"] == {
        "unset": ["urn:epcglobal:cbv:disp:completeness_inferred"], "set": ["urn:epcglobal:cbv:disp:completeness_verified"]}  # fmt: skip
    assert with_base["sensorElementList"][0]["sensorReport"][0]["ext1:someFurtherReportData"] == "someText"
    # the vendor field in <extension><extension> of GS1's 1.2 example: a bare key
    assert read_xml(folder / "ObjectEvent.xml").events[1]["myField"] == "Example of a vendor/user extension"


def test_sensor_values_are_numbers_and_extensions_keep_attributes() -> None:
    path = unpacked() / "gs1/xml/WithFullCombinationOfFields/object_event_all_possible_fields.xml"
    event = read_xml(path).events[0]
    sensor = event["sensorElementList"][0]
    assert list(sensor)[:2] == ["sensorMetadata", "sensorReport"]
    report = sensor["sensorReport"][0]
    assert report["value"] == 26.0 and isinstance(report["value"], float)
    assert (report["minValue"], report["maxValue"], report["sDev"], report["percRank"]) == (
        26.0,
        26.2,
        0.1,
        50.0,
    )
    assert report["booleanValue"] is True and report["hexBinaryValue"] == "f0f0f0"
    assert sensor["sensorMetadata"]["ext1:someFurtherMetadata"] == "someText"
    assert sensor["ext1:boolean"] == {"xsi:type": "xsd:boolean", "#text": "true"}
    assert sensor["ext1:object"]["ext2:object"] == {
        "ext3:string": {"xsi:type": "xsd:string", "#text": "stringInObjectInObject"}
    }
    assert event["quantityList"] == [
        {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 200, "uom": "KGM"}
    ]


def test_master_data_attribute_holding_xml() -> None:
    doc = read_xml(unpacked() / "gs1/xml/WithFullCombinationOfFields/masterdata_all_possible_fields.xml")
    element = doc.vocabularies()[0]["vocabularyElementList"][0]
    assert element["children"] == ["urn:epc:id:sgln:0037000.00729.8201"]
    nested = element["attributes"][3]
    assert nested["id"] == "http://example.com/ext1#object1"
    assert nested["attribute"]["ext1:object2"]["inner1"] == {"xsi:type": "xsd:string", "#text": "val1"}
    repeated = [a["attribute"] for a in element["attributes"] if a["id"] == "http://example.com/ext1#array"]
    assert repeated == ["string1InArray", "string2InArray"]


def test_master_data_document_and_query_documents() -> None:
    master = read_xml(unpacked() / "gs1/xml/Mimasu/Example-masterData.xml")
    assert master.kind == "EPCISMasterDataDocument" and not master.events
    assert master.vocabularies()[0]["vocabularyElementList"][0]["attributes"][2]["attribute"] == {
        "example:Address": {"Street": "100 Nowhere Street", "City": "Fancy", "State": "DC", "Zip": "99999"}}  # fmt: skip
    query = read_xml(unpacked() / "openepcis/2.0/XML/Query/Documents/QueryResultsDocument.xml")
    assert query.kind == "EPCISQueryDocument" and query.query == {"queryName": "SimpleEventQuery"}
    assert len(query.events) > 3
    poll = read_xml(unpacked() / "openepcis/2.0/XML/Query/Queries/SimpleEventQuery.xml")
    assert poll.query is not None and poll.query["Poll"]["queryName"] == "SimpleEventQuery"
    again = read_xml(write_xml(poll))
    assert again.query == poll.query and xsd_errors(write_xml(poll)) is None


def test_bare_event_roots_and_epcis_qualified_fields() -> None:
    doc = read_xml(unpacked() / "openepcis/2.0/XML/Capture/Events/Namespace_event.xml")
    assert doc.creation_date == "2013-06-04T14:59:02.099+02:00"
    assert doc.events[0]["eventID"] == "urn:uuid:bf602366-6657-49fb-a729-9610ccef086e"


def test_capture_jobs_round_trip() -> None:
    for path in CAPTURE_JOBS:
        job = read_capture_job(path)
        assert isinstance(job["running"], bool) and isinstance(job["success"], bool)
        data = write_capture_job(job)
        assert read_capture_job(data) == job
        assert xsd_errors(data) is None, path
    errors = read_capture_job(unpacked() / "gs1/xml/CaptureJob/Example-CaptureJobWithErrors.xml")["errors"]
    assert errors[0]["status"] == -1 and errors[0]["title"] == "EPCIS Event Validation Failure"
    with pytest.raises(EPCISError, match="not an EPCIS capture job"):
        read_capture_job(unpacked() / "gs1/xml-1.2/ObjectEvent.xml")


# ---------------------------------------------------------------------------------------------
# round trips


def _same_document(a: EPCISDocument, b: EPCISDocument, ordered: bool) -> None:
    assert b.events == a.events
    if ordered:  # the source follows the XSD order: so does the copy, key by key
        assert [list(event) for event in b.events] == [list(event) for event in a.events]
    assert (b.kind, b.header, b.query) == (a.kind, a.header, a.query)
    assert b.creation_date == a.creation_date or a.creation_date is None  # XML needs one: the writer adds it
    assert b.attributes == a.attributes


SOURCES_2_0 = [path for path in VALID if read_xml(path).schema_version == "2.0"]
SOURCES_1_2 = [path for path in VALID if read_xml(path).schema_version == "1.2"]


@pytest.mark.parametrize("path", SOURCES_2_0, ids=_id)
def test_2_0_xml_to_shape_to_2_0_xml_is_identical(path: Path) -> None:
    doc = read_xml(path)
    notes: list[XMLWriteWarning] = []
    data = write_xml(doc, warnings=notes)
    again = read_xml(data)
    _same_document(doc, again, ordered=source_is_valid(path))
    assert again.namespaces.items() >= {k: v for k, v in doc.namespaces.items()}.items()
    assert write_xml(again) == data  # stable: the second generation is byte-identical
    assert all("dropped" not in note.reason for note in notes)


@pytest.mark.parametrize("path", SOURCES_1_2, ids=_id)
def test_1_2_to_2_0_to_1_2_keeps_content_sbdh_and_master_data(path: Path) -> None:
    doc = read_xml(path)
    notes: list[XMLWriteWarning] = []
    as_2_0 = read_xml(write_xml(doc, version="2.0", warnings=notes))
    back = read_xml(write_xml(as_2_0, version="1.2"))
    dropped = {note.field for note in notes if "dropped" in note.reason}  # unqualified vendor fields
    assert dropped <= {"myField"}
    expected = [{k: v for k, v in event.items() if k not in dropped} for event in doc.events]
    assert normalised(back.events, back.namespaces) == normalised(expected, doc.namespaces)
    header = dict(doc.header or {})
    kept = {key: value for key, value in (back.header or {}).items()}
    for key in ("sbdh:StandardBusinessDocumentHeader", "epcisMasterData"):
        assert kept.get(key) == header.get(key)
    # 2.0 XML has no place for namespaced header extensions: they travel at document level,
    # and the 1.2 writer puts them back into the header
    for key in header:
        if ":" in key and key != "sbdh:StandardBusinessDocumentHeader":
            assert key in as_2_0.attributes and kept[key] == header[key]


@pytest.mark.parametrize("path", SOURCES_2_0, ids=_id)
def test_2_0_to_1_2_to_2_0_keeps_normalised_content(path: Path) -> None:
    doc = read_xml(path)
    back = read_xml(write_xml(read_xml(write_xml(doc, version="1.2")), version="2.0"))
    assert normalised(back.events, back.namespaces) == normalised(doc.events, doc.namespaces)


@pytest.mark.parametrize("path", [p for p in DOCUMENTS if source_is_valid(p)], ids=_id)
def test_output_is_valid_against_the_gs1_xsds(path: Path) -> None:
    doc = read_xml(path)
    for version in ("2.0", "1.2"):
        notes: list[XMLWriteWarning] = []
        data = write_xml(doc, version=version, warnings=notes)  # type: ignore[arg-type]
        problem = xsd_errors(data)
        if problem and version == "1.2" and any("StandardBusinessDocumentHeader" in n.reason for n in notes):
            continue  # said so: 1.2 needs an SBDH and the document has none
        assert problem is None, f"{version}: {problem}"
        assert xsd_errors(write_xml(doc, version=version, indent=True)) is None  # type: ignore[arg-type]


def test_1_2_output_of_2_0_fields_warns_carries_or_drops() -> None:
    doc = read_xml(unpacked() / "gs1/xml/WithFullCombinationOfFields/object_event_all_possible_fields.xml")
    notes: list[XMLWriteWarning] = []
    carried = write_xml(doc, version="1.2", warnings=notes)
    assert {note.field for note in notes} == {"sensorElementList", "persistentDisposition"}
    assert b"</destinationList><extension><sensorElementList>" in carried  # in <extension><extension>
    assert read_xml(carried).events[0]["sensorElementList"] == doc.events[0]["sensorElementList"]
    notes.clear()
    dropped = read_xml(write_xml(doc, version="1.2", new_fields="drop", warnings=notes)).events[0]
    assert "sensorElementList" not in dropped and "persistentDisposition" not in dropped
    assert all("dropped" in note.reason for note in notes) and len(notes) == 2
    association = read_xml(unpacked() / "gs1/xml/AssociationEvent/AssociationEventExamples.xml")
    notes.clear()
    data = write_xml(association, version="1.2", warnings=notes)
    assert data.count(b"<extension><extension><AssociationEvent>") == len(association.events)
    assert notes[0].field == "AssociationEvent" and notes[0].count == len(association.events)
    assert "and" in str(notes[0])
    assert xsd_errors(data) is None
    notes.clear()
    assert not read_xml(write_xml(association, version="1.2", new_fields="drop", warnings=notes)).events


def test_certification_info_in_1_2() -> None:
    event = {"type": "ObjectEvent", "eventTime": "2024-01-01T00:00:00Z", "eventTimeZoneOffset": "+00:00",
             "action": "OBSERVE", "certificationInfo": "https://cert.example.com/123"}  # fmt: skip
    doc = EPCISDocument(creation_date="2024-01-01T00:00:00Z", events=[event])
    notes: list[XMLWriteWarning] = []
    data = write_xml(doc, version="1.2", warnings=notes)
    assert b"<baseExtension><extension><certificationInfo>" in data and xsd_errors(data) is None
    assert read_xml(data).events[0]["certificationInfo"] == "https://cert.example.com/123"
    assert notes[0].field == "certificationInfo"


def test_header_extensions_in_2_0_go_to_the_document_end() -> None:
    doc = read_xml(unpacked() / "openepcis/1.2/Capture/Documents/GS1_US_Pharma_Example_2_2_1_1.xml")
    notes: list[XMLWriteWarning] = []
    data = write_xml(doc, version="2.0", warnings=notes)
    assert xsd_errors(data) is None
    assert {note.field for note in notes} == {
        "header gs1ushc:guidelineVersion",
        "header gs1ushc:dscsaTransactionStatement",
    }
    again = read_xml(data)
    assert again.attributes["gs1ushc:guidelineVersion"] == {"#text": "GS1 US DSCSA R1.3"}
    assert (
        again.header["sbdh:StandardBusinessDocumentHeader"]
        == doc.header["sbdh:StandardBusinessDocumentHeader"]
    )  # type: ignore[index]
    # and 1.2 output keeps them in the header
    assert read_xml(write_xml(doc, version="1.2")).header == doc.header


def test_1_2_needs_an_sbdh_made_from_sender_and_receiver() -> None:
    master = {"vocabularyList": [{"type": "urn:epcglobal:epcis:vtype:Location",
                                  "vocabularyElementList": [{"id": "urn:epc:id:sgln:4012345.00001.0"}]}]}  # fmt: skip
    doc = EPCISDocument(creation_date="2024-01-01T00:00:00Z", header={"epcisMasterData": master},
                        attributes={"sender": "urn:epc:id:sgln:4012345.00000.0",
                                    "receiver": "urn:epc:id:sgln:0614141.00000.0"})  # fmt: skip
    notes: list[XMLWriteWarning] = []
    data = write_xml(doc, version="1.2", warnings=notes)
    assert xsd_errors(data) is None
    sbdh = read_xml(data).header["sbdh:StandardBusinessDocumentHeader"]  # type: ignore[index]
    assert sbdh["sbdh:Sender"] == {"sbdh:Identifier": "urn:epc:id:sgln:4012345.00000.0"}
    assert "made one" in notes[0].reason


# ---------------------------------------------------------------------------------------------
# CBV and identifier forms


def _object_event(**fields: Any) -> dict[str, Any]:
    return {"type": "ObjectEvent", "eventTime": "2024-03-01T10:00:00.000+01:00", "eventTimeZoneOffset": "+01:00",
            "epcList": ["https://id.gs1.org/01/10614141073464/21/2017"], "action": "OBSERVE", **fields}  # fmt: skip


def test_bare_cbv_words_become_urns_and_formats_convert() -> None:
    event = _object_event(
        bizStep="shipping", disposition="in_transit",
        bizTransactionList=[{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141000005:PO1"}],
        sensorElementList=[{"sensorReport": [{"type": "Temperature", "value": 26, "uom": "CEL"}]}],
    )  # fmt: skip
    doc = EPCISDocument(creation_date="2024-03-01T10:05:00Z", events=[event])
    data = write_xml(doc)
    assert xsd_errors(data) is None
    read = read_xml(data).events[0]
    assert (read["bizStep"], read["disposition"]) == (
        "urn:epcglobal:cbv:bizstep:shipping",
        "urn:epcglobal:cbv:disp:in_transit",
    )
    assert read["bizTransactionList"][0]["type"] == "urn:epcglobal:cbv:btt:po"
    assert read["sensorElementList"][0]["sensorReport"][0] == {
        "type": "gs1:Temperature",
        "value": 26.0,
        "uom": "CEL",
    }
    assert read["epcList"] == event["epcList"]  # identifiers as found
    web = read_xml(write_xml(doc, cbv_format="web", epc_format="urn")).events[0]
    assert web["bizStep"] == "https://ref.gs1.org/cbv/BizStep-shipping"
    assert web["epcList"] == ["urn:epc:id:sgtin:0614141.107346.2017"]
    old = read_xml(write_xml(doc, version="1.2")).events[0]  # 1.2: URNs for both
    assert old["epcList"] == ["urn:epc:id:sgtin:0614141.107346.2017"]
    dl = read_xml(write_xml(read_xml(write_xml(doc, version="1.2")), epc_format="dl")).events[0]
    assert dl["epcList"] == event["epcList"]


def test_json_scalars_write_as_text() -> None:
    event = _object_event(
        quantityList=[{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 1e-7, "uom": "KGM"}],
        ilmd={"example:count": 10, "example:flag": True, "example:list": ["a", {"example:x": "1"}], "example:none": None},
    )  # fmt: skip
    doc = EPCISDocument(creation_date="2024-03-01T10:05:00Z", namespaces={"example": "https://ns.example.com/"},
                        events=[event])  # fmt: skip
    data = write_xml(doc)
    assert b"<quantity>0.0000001</quantity>" in data and xsd_errors(data) is None
    ilmd = read_xml(data).events[0]["ilmd"]
    assert ilmd == {"example:count": "10", "example:flag": "true", "example:list": ["a", {"example:x": "1"}],
                    "example:none": ""}  # fmt: skip


def test_writer_rejects_what_xml_cannot_carry() -> None:
    def write(**fields: Any) -> bytes:
        return write_xml(
            EPCISDocument(creation_date="2024-01-01T00:00:00Z", events=[_object_event(**fields)])
        )

    with pytest.raises(EPCISError, match="prefix 'nope'"):
        write(**{"nope:field": "x"})
    with pytest.raises(EPCISError, match="has no field childEPCs"):
        write(childEPCs=[])
    with pytest.raises(EPCISError, match="must be a number"):
        write(quantityList=[{"epcClass": "urn:epc:class:lgtin:4012345.012345.1", "quantity": "ten"}])
    with pytest.raises(EPCISError, match="cannot carry"):
        write(**{"gs1:note": "bell \x07"})
    with pytest.raises(EPCISError, match="not a valid XML name"):
        write(**{"gs1:not a name": "x"})
    with pytest.raises(EPCISError, match="event type"):
        write_xml(EPCISDocument(events=[{"type": "QuantityEvent"}]))


def test_escaping_round_trips() -> None:
    text = 'a < b & "c" > d\r\n\ttab ]]> é 𝄞'
    event = _object_event(ilmd={"gs1:note": {"gs1:attr": text, "#text": text}})
    doc = EPCISDocument(creation_date="2024-01-01T00:00:00Z", events=[event])
    read = read_xml(write_xml(doc)).events[0]["ilmd"]["gs1:note"]
    assert read == {"gs1:attr": text, "#text": text.strip()}


# ---------------------------------------------------------------------------------------------
# XML and JSON-LD twins

PAIRS = sorted((unpacked() / "ralphtro").glob("*.xml"))


@pytest.mark.parametrize("path", PAIRS, ids=lambda p: p.stem)
def test_xml_and_json_ld_twins_give_the_same_events(path: Path) -> None:
    xml_doc = read_xml(path)
    json_doc = read_jsonld(path.with_suffix(".jsonld"))
    assert len(xml_doc.events) == len(json_doc.events) > 0
    assert normalised(xml_doc.events, xml_doc.namespaces) == normalised(json_doc.events, json_doc.namespaces)
    # and through our own XML writer
    again = read_xml(write_xml(json_doc))
    assert normalised(again.events, again.namespaces) == normalised(json_doc.events, json_doc.namespaces)


JSON_LD_DOCUMENTS = sorted(
    path
    for path in (Path(__file__).parent / "data" / "epcis" / "json-ld").rglob("*.json*")
    if "Invalid" not in path.parts and "Events" not in path.parts
)


def _lists_for_lone_values(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """JSON-LD may write a one-item list as the item alone; XML always has the list."""
    lists = ("sourceList", "destinationList", "bizTransactionList", "epcList", "childEPCs")
    return [{k: [v] if k in lists and not isinstance(v, list) else v for k, v in e.items()} for e in events]


@pytest.mark.parametrize("path", JSON_LD_DOCUMENTS, ids=lambda p: p.name)
def test_json_ld_examples_write_as_valid_xml(path: Path) -> None:
    doc = read_jsonld(path)
    for version in ("2.0", "1.2"):
        notes: list[XMLWriteWarning] = []
        data = write_xml(doc, version=version, warnings=notes)  # type: ignore[arg-type]
        assert xsd_errors(data) is None
        if any("dropped" in note.reason for note in notes):
            continue  # said so (a JSON-LD node type or @context inside an event, an "id" on an event)
        back = read_xml(data)
        assert normalised(back.events, back.namespaces) == normalised(
            _lists_for_lone_values(doc.events), doc.namespaces
        )


def test_json_ld_examples_are_there() -> None:
    assert len(JSON_LD_DOCUMENTS) > 100


# ---------------------------------------------------------------------------------------------
# streaming


def _generated_events(count: int) -> Iterator[dict[str, Any]]:
    for i in range(count):
        yield _object_event(
            epcList=[f"urn:epc:id:sgtin:0614141.107346.{i}"], bizStep="urn:epcglobal:cbv:bizstep:shipping",
            ilmd={"cbvmda:lotNumber": f"L{i % 7}"}, **{"gs1ushc:dropShipment": "false"},
        )  # fmt: skip


def test_streaming_writer_and_reader_keep_memory_bounded() -> None:
    header = read_xml(
        unpacked() / "openepcis/1.2/Capture/Documents/GS1_US_Pharma_Example_2_2_1_1.xml"
    ).header_only()
    out = io.BytesIO()
    notes: list[XMLWriteWarning] = []
    assert write_xml_stream(header, _generated_events(5000), out, version="1.2", warnings=notes) == 5000
    data = out.getvalue()
    stream = iter_xml_events(data)
    # the header parts are there before the first event is taken
    assert stream.document.header == header.header and stream.document.schema_version == "1.2"
    count = 0
    for event, expected in zip(stream, _generated_events(5000), strict=True):
        assert normalise_event(event, cbv="bare") == normalise_event(expected, cbv="bare")
        count += 1
        if count % 1000 == 0:  # processed elements are freed: only the parser's read-ahead stays
            assert sum(1 for _ in stream._root.iter()) < 2000  # of 30,000 in the document
    assert count == stream.events_read == 5000
    assert xsd_errors(data) is None


def test_stream_closes_its_file_and_reports_errors_with_a_path(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_bytes(
        b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="x">'
        b"<EPCISBody><EventList><ObjectEvent><eventTime>t</eventTime><quantityList><quantityElement>"
        b"<epcClass>c</epcClass><quantity>ten</quantity></quantityElement></quantityList></ObjectEvent>"
        b"</EventList></EPCISBody></epcis:EPCISDocument>"
    )
    with pytest.raises(EPCISError) as caught:
        read_xml(broken)
    assert (
        caught.value.pointer
        == "/EPCISDocument/EPCISBody/EventList/ObjectEvent/quantityList/quantityElement/quantity"
    )
    assert "event 1 (ObjectEvent)" in caught.value.reason and "'ten'" in str(caught.value)
    with pytest.raises(EPCISError, match="not well-formed"):
        read_xml(b"<epcis:EPCISDocument")
    with pytest.raises(EPCISError, match="not an EPCIS document"):
        read_xml(b"<html/>")
    with pytest.raises(EPCISError, match="cannot open"):
        read_xml(tmp_path / "missing.xml")
    with pytest.raises(EPCISError, match="cannot read XML"):
        read_xml(12)  # type: ignore[arg-type]


def test_xml_text_as_str_and_external_entities_are_not_loaded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    text = (
        f'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" xmlns:e="https://e.example/" '
        'schemaVersion="2.0" creationDate="2024-01-01T00:00:00Z"><EPCISBody><EventList><ObjectEvent>'
        "<e:x>&x;</e:x></ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"
    )
    event = read_xml(text).events[0]
    assert "TOP SECRET" not in str(event)


# ---------------------------------------------------------------------------------------------
# broken input raises EPCISError and nothing else

SEED_DOCUMENTS = [
    (unpacked() / "openepcis/1.2/Capture/Documents/GS1_US_Pharma_Example_2_2_1_1.xml").read_bytes()[:6000],
    (unpacked() / "gs1/xml/WithFullCombinationOfFields/object_event_all_possible_fields.xml").read_bytes(),
    (unpacked() / "gs1/xml-1.2/TransformationEvent.xml").read_bytes(),
    (unpacked() / "openepcis/2.0/XML/Query/Documents/QueryResultsDocument.xml").read_bytes()[:4000],
]
_NAMES = ["ObjectEvent", "epcList", "epc", "quantityElement", "quantity", "extension", "baseExtension",
          "sensorElement", "sensorReport", "EPCISHeader", "VocabularyElement", "attribute", "ilmd",
          "readPoint", "id", "bizTransactionList", "errorDeclaration", "EventList", "AssociationEvent"]  # fmt: skip
_SNIPPETS = [b"<", b">", b"/>", b"</", b'="', b"&amp;", b"&x;", b"<!-- c -->", b"<?pi x?>", b"xmlns:a='u:a'",
             b' value="x"', b' booleanValue="maybe"', b"<![CDATA[x]]>", b"\x00", b"\xff\xfe", b"<a:b>",
             *(f"<{n}>".encode() for n in _NAMES), *(f"</{n}>".encode() for n in _NAMES)]  # fmt: skip


@st.composite
def mutated_documents(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEED_DOCUMENTS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        if action == "insert":
            data[at:at] = draw(st.sampled_from(_SNIPPETS) | st.binary(max_size=8))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif action == "replace":
            old = draw(st.sampled_from(_NAMES)).encode()
            new = draw(st.sampled_from(_NAMES)).encode()
            data = bytearray(bytes(data).replace(old, new, draw(st.integers(1, 3))))
        else:
            end = min(len(data), at + draw(st.integers(1, 200)))
            data[end:end] = data[at:end]
    return bytes(data)


@given(mutated_documents())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_xml_raises_only_epcis_error(data: bytes) -> None:
    try:
        doc = read_xml(data)
    except EPCISError:
        return
    # what reads must also write (or say why not) and read back
    for version in ("2.0", "1.2"):
        try:
            written = write_xml(doc, version=version)  # type: ignore[arg-type]
        except EPCISError:
            continue
        read_xml(written)


_TREE_NAMES = [*_NAMES, "EPCISBody", "QueryResults", "resultsBody", "queryName", "VocabularyList", "Vocabulary",
               "VocabularyElementList", "children", "EPCISMasterData", "sensorMetadata", "persistentDisposition",
               "set", "correctiveEventIDs", "bizTransaction", "source", "TransformationEvent",
               "{https://e.example/}x", "{urn:epcglobal:epcis:xsd:2}epc", "{http://www.w3.org/2001/XMLSchema-instance}nil"]  # fmt: skip
_ATTRIBUTES = st.dictionaries(
    st.sampled_from(["type", "id", "value", "booleanValue", "{https://e.example/}a", "schemaVersion", "time"]),
    st.sampled_from(["", "1", "x", "true", "NaN", "1e999", "urn:a:b"]), max_size=2,
)  # fmt: skip


def _tree(name: str, attributes: dict[str, str], text: str, children: list[etree._Element]) -> etree._Element:
    element = etree.Element(name, attributes)
    element.text = text
    element.extend(children)
    return element


_trees = st.recursive(
    st.builds(_tree, st.sampled_from(_TREE_NAMES), _ATTRIBUTES, st.sampled_from(["", "1", " x ", "2.5e3"]), st.just([])),
    lambda inner: st.builds(_tree, st.sampled_from(_TREE_NAMES), _ATTRIBUTES, st.sampled_from(["", "t"]),
                            st.lists(inner, max_size=4)),
    max_leaves=25,
)  # fmt: skip


_PLACES = {"body": ["EPCISBody"], "events": ["EPCISBody", "EventList"], "event": ["EPCISBody", "EventList", "ObjectEvent"],
           "header": ["EPCISHeader"], "results": ["EPCISBody", "QueryResults", "resultsBody", "EventList"],
           "master data": ["EPCISHeader", "extension", "EPCISMasterData", "VocabularyList", "Vocabulary"]}  # fmt: skip


@given(_trees, st.sampled_from(["urn:epcglobal:epcis:xsd:2", "urn:epcglobal:epcis:xsd:1", "urn:epcglobal:epcis-query:xsd:2"]),
       st.sampled_from(sorted(_PLACES)))  # fmt: skip
@settings(max_examples=300)
def test_random_epcis_shaped_trees_raise_only_epcis_error(
    body: etree._Element, namespace: str, place: str
) -> None:
    kind = "EPCISQueryDocument" if "query" in namespace else "EPCISDocument"
    root = etree.Element(
        f"{{{namespace}}}{kind}", {"schemaVersion": "2.0", "creationDate": "2024-01-01T00:00:00Z"}
    )
    wrapper = root
    for name in _PLACES[place]:
        wrapper = etree.SubElement(wrapper, name)
    wrapper.append(body)
    try:
        doc = read_xml(etree.tostring(root))
    except EPCISError:
        return
    for version in ("2.0", "1.2"):
        try:
            written = write_xml(doc, version=version)  # type: ignore[arg-type]
        except EPCISError:
            continue
        read_xml(written)


_scalars = st.one_of(
    st.text(max_size=10), st.integers(), st.floats(allow_nan=False), st.booleans(), st.none()
)
_keys = st.sampled_from(["gs1:a", "cbvmda:lotNumber", "b", "#text", "xsi:type", "nope:x", "@id", "epcList",
                         "bizStep", "quantityList", "readPoint", "sensorElementList", "type"])  # fmt: skip
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=4),
                     max_leaves=12)  # fmt: skip


@given(st.lists(st.dictionaries(_keys, _json, max_size=6), max_size=3), st.sampled_from(["2.0", "1.2"]))
@settings(max_examples=300)
def test_writer_on_arbitrary_shapes_raises_only_epcis_error(
    events: list[dict[str, Any]], version: str
) -> None:
    for event in events:
        event["type"] = "ObjectEvent"
    doc = EPCISDocument(creation_date="2024-01-01T00:00:00Z", events=events)
    try:
        data = write_xml(doc, version=version)  # type: ignore[arg-type]
    except EPCISError:
        return
    assert len(read_xml(data).events) == len(events)
