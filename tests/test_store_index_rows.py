"""Index rows of EPCIS events (packtrail.store.index_rows): what capture writes to every index table."""

from __future__ import annotations

import atexit
import contextlib
import copy
import json
import shutil
import tarfile
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packtrail.epcis import EPCISDocument, EPCISError, read_jsonld, read_xml, write_xml
from packtrail.store.identifiers import parse_time_us
from packtrail.store.index_rows import (
    MAX_FIELD_DEPTH,
    MAX_FIELD_NAME,
    MAX_FIELD_STRING,
    MAX_FIELD_TEXT,
    MAX_INDEXED_TEXT,
    EventRows,
    event_rows,
    field_name,
    field_value,
)
from packtrail.store.schema import SENSOR_COLUMNS

DATA = Path(__file__).parent / "data" / "epcis"
JSON_LD = DATA / "json-ld"
GS1 = JSON_LD / "gs1" / "json-ld"


@cache
def _xml_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="packtrail-index-rows-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    for name in ("gs1", "openepcis"):
        with tarfile.open(DATA / "xml" / f"{name}.tar.xz") as archive:
            archive.extractall(root / name, filter="data")
    return root


def _example_files() -> list[Path]:
    json_files = sorted(JSON_LD.rglob("*.json*"))
    root = _xml_root()
    xml_files = [p for p in sorted(root.rglob("*.xml")) if "CaptureJob" not in p.parts]
    return json_files + xml_files


def _read(path: Path) -> EPCISDocument:
    if (
        "Events" in path.parts and path.suffix == ".json"
    ):  # OpenEPCIS's single events (what POST /events takes)
        return EPCISDocument(events=[json.loads(path.read_bytes())])
    return read_xml(path) if path.suffix == ".xml" else read_jsonld(path)


def _is_invalid_example(path: Path) -> bool:
    return any("invalid" in part.lower() for part in path.parts)


KNOWN_MALFORMED = {
    # GS1's simple-context copy writes one sourceList/destinationList as an object, not a list
    # (packtrail.epcis.validate_document flags it too).
    ("json-ld-simple-context", "Example-TransactionEvents-2020_07_03y.jsonld"),
}


def _event(path: Path, index: int = 0) -> tuple[dict[str, Any], dict[str, str]]:
    doc = read_jsonld(path)
    return doc.events[index], doc.namespaces


def _rows(path: Path, index: int = 0) -> EventRows:
    event, namespaces = _event(path, index)
    return event_rows(event, namespaces)


# --- every example ---------------------------------------------------------------------------------------


def test_examples_are_there() -> None:
    files = _example_files()
    assert len(files) > 150
    assert sum(p.suffix == ".xml" for p in files) > 50


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: "/".join(p.parts[-3:]))
def test_every_example_event_gives_rows(path: Path) -> None:
    try:
        doc = _read(path)
    except EPCISError:
        assert _is_invalid_example(path) or path.suffix == ".json"  # single events / broken on purpose
        return
    malformed = (path.parent.name, path.name) in KNOWN_MALFORMED or _is_invalid_example(path)
    for event in doc.events:
        try:
            rows = event_rows(event, doc.namespaces)
        except EPCISError:
            assert malformed, f"{path.name}: a valid example event must give rows"
            continue
        assert rows.event_type == event["type"]
        assert rows.event_time_us == parse_time_us(event["eventTime"])[0]
        assert -(2**31) <= rows.dist_key < 2**31
        for row in rows.sensor:
            assert tuple(row) == SENSOR_COLUMNS


def test_json_ld_and_xml_give_the_same_rows() -> None:
    """Each GS1 JSON-LD example written as EPCIS 2.0 XML and read back indexes exactly the same."""
    compared = 0
    for path in sorted(GS1.rglob("*.jsonld")):
        doc = read_jsonld(path)
        again = read_xml(write_xml(doc))
        for event, from_xml in zip(doc.events, again.events, strict=True):
            assert event_rows(event, doc.namespaces) == event_rows(from_xml, again.namespaces), path.name
            compared += 1
    assert compared > 50


# --- one event of each type ------------------------------------------------------------------------------


def test_object_event_with_everything() -> None:
    rows = _rows(GS1 / "WithFullCombinationOfFields" / "object_event_all_possible_fields.jsonld")
    assert (rows.event_type, rows.event_time_us, rows.event_tz) == ("ObjectEvent", 1112668411116000, "-06:00")
    assert (rows.action, rows.biz_step, rows.disposition) == ("ADD", "receiving", "in_progress")
    assert (rows.read_point, rows.biz_location) == (
        "urn:epc:id:sgln:0012345.11111.400",
        "urn:epc:id:sgln:0012345.11111.0",
    )
    assert rows.epcs == [(1, "urn:epc:id:sgtin:0614141.107346.2018")]
    assert rows.quantities == [(1, "urn:epc:class:lgtin:4012345.012345.998877", 200.0, "KGM")]
    assert rows.biz_transactions == [
        ("po", "urn:epc:id:gdti:0614141.00001.1618034"),
        ("pedigree", "urn:epc:id:gsrn:0614141.0000010253"),
    ]
    assert rows.parties == [
        (1, "location", "urn:epc:id:sgln:4012345.00225.0"),
        (1, "possessing_party", "urn:epc:id:pgln:4012345.00225"),
        (1, "owning_party", "urn:epc:id:pgln:4012345.00225"),
        (2, "location", "urn:epc:id:sgln:0614141.00777.0"),
        (2, "possessing_party", "urn:epc:id:pgln:0614141.00777"),
        (2, "owning_party", "urn:epc:id:pgln:0614141.00777"),
    ]
    assert rows.visible_to == {"4012345002256", "0614141007776"}
    assert rows.errors == [(parse_time_us("2006-11-07T14:00:00.000+01:00")[0], "incorrect_data")]
    assert rows.corrective_ids == [
        "ni:///sha-256;fec9667280c4710a3fa9558b7bc8ddc2ced0dc442d87f82becae24bb6ca6a46f?ver=CBV2.0"
    ]
    assert rows.persistent_dispositions == [(1, "completeness_verified"), (2, "completeness_inferred")]
    ilmd = [row for row in rows.fields if row[0] == "ilmd"]
    assert ("ilmd", "urn:epcglobal:cbv:mda#lotNumber", 1, "ABC123", None, None) in ilmd
    assert ("ilmd", "urn:epcglobal:cbv:mda#netWeight", 1, "3.5", 3.5, None) in ilmd
    assert (
        "ilmd",
        "http://example.com/ext1/#time",
        1,
        "2013-06-08T14:58:56.591Z",
        None,
        1370703536591000,
    ) in ilmd
    assert ("ilmd", "http://example.com/ext1/#object", 1, None, None, None) in ilmd
    assert ("ilmd", "http://example.com/ext3/#string", 4, "stringInObjectInObject", None, None) in ilmd
    # the array: one row per item under the array's name, its objects' fields one level down
    array = [row for row in ilmd if row[1] == "http://example.com/ext1/#array"]
    assert [row[3] for row in array] == [
        "12",
        "22",
        "2013-06-08T14:58:56.591Z",
        "true",
        "stringInArray",
        None,
    ]
    assert ("ilmd", "http://example.com/ext2/#int", 4, "13", 13.0, None) in ilmd
    assert {row[0] for row in rows.fields} == {"", "ilmd", "sensorElement", "sensorMetadata", "sensorReport"}
    assert (
        "sensorMetadata",
        "http://example.com/ext1/#someFurtherMetadata",
        1,
        "someText",
        None,
        None,
    ) in rows.fields
    assert (
        "sensorReport",
        "http://example.com/ext1/#someFurtherReportData",
        1,
        "someText",
        None,
        None,
    ) in rows.fields
    assert ("", "http://example.com/ext1/#float", 1, "20", 20.0, None) in rows.fields
    [sensor] = rows.sensor
    assert sensor["device_id"] == "urn:epc:id:giai:4000001.111"
    assert sensor["time_us"] == parse_time_us("2019-07-19T13:00:00.000Z")[0]  # the report's own time wins
    assert sensor["start_time_us"] == parse_time_us("2019-04-02T12:55:01.000Z")[0]
    assert (sensor["type"], sensor["value"], sensor["uom"], sensor["boolean_value"]) == (
        "Temperature",
        26.0,
        "CEL",
        True,
    )
    assert (sensor["component"], sensor["s_dev"], sensor["perc_rank"]) == ("example:x", 0.1, 50.0)


def test_aggregation_event() -> None:
    rows = _rows(GS1 / "Example_9.6.3-AggregationEvent.jsonld")
    assert rows.epcs == [
        (3, "urn:epc:id:sscc:0614141.1234567890"),
        (2, "urn:epc:id:sgtin:0614141.107346.2017"),
        (2, "urn:epc:id:sgtin:0614141.107346.2018"),
    ]
    assert rows.quantities == [
        (2, "urn:epc:idpat:sgtin:4012345.098765.*", 10.0, None),
        (2, "urn:epc:class:lgtin:4012345.012345.998877", 200.5, "KGM"),
    ]
    assert (
        rows.dist_key
        == event_rows(
            {"type": "X", "eventTime": "2000-01-01T00:00Z", "parentID": "urn:epc:id:sscc:0614141.1234567890"},
            {},
        ).dist_key
    )


def test_transformation_event_with_ilmd() -> None:
    rows = _rows(GS1 / "Example_9.6.4-TransformationEvent.jsonld")
    assert [role for role, _ in rows.epcs] == [4, 4, 5, 5, 5, 5]
    assert rows.quantities[0] == (4, "urn:epc:class:lgtin:4012345.011111.4444", 10.0, "KGM")
    assert rows.fields == [
        ("ilmd", "http://ns.example.com/epcis/#bestBeforeDate", 1, "2014-12-10", None, None),
        ("ilmd", "http://ns.example.com/epcis/#batch", 1, "XYZ", None, None),
        ("", "http://ns.example.com/epcis/#myField", 1, "Example of a vendor/user extension", None, None),
    ]
    event, namespaces = _event(GS1 / "Example_9.6.4-TransformationEvent.jsonld")
    assert (
        event_rows(dict(event, transformationID="urn:uuid:t1"), namespaces).transformation_id == "urn:uuid:t1"
    )


def test_association_event() -> None:
    rows = _rows(GS1 / "AssociationEvent" / "AssociationEvent-a.jsonld")
    assert (rows.event_type, rows.action, rows.biz_step) == ("AssociationEvent", "ADD", "assembling")
    assert rows.epcs == [(3, "urn:epc:id:grai:4012345.55555.987"), (2, "urn:epc:id:giai:4000001.12345")]


def test_transaction_event_with_nested_extensions() -> None:
    rows = _rows(GS1 / "Example-TransactionEvents-2020_07_03y.jsonld", 1)
    assert rows.biz_transactions == [
        ("urn:gs1:epcisapp:rail:btt:passage", "http://transaction.examplerail.com/passage/xyz12345")
    ]
    assert rows.parties == [
        (1, "location", "urn:epc:id:sgln:952005385.481.0"),
        (2, "location", "urn:epc:id:sgln:952005385.011.0"),
    ]
    assert rows.visible_to == set()  # locations are not parties
    vehicle = "urn:gs1:epcisapp:rail#vehicle"
    assert [row for row in rows.fields if row[1] == vehicle] == [("", vehicle, 1, None, None, None)]
    positions = [row[3] for row in rows.fields if row[1] == "urn:gs1:epcisapp:rail#vehiclePosition"]
    assert positions == ["1", "2", "3"]
    assert {row[2] for row in rows.fields if row[1].endswith("#vehiclePosition")} == {2}
    assert rows.epcs == [(1, "urn:epc:id:giai:952005385.w2")]


def test_sensor_reports_one_row_each() -> None:
    rows = _rows(GS1 / "WithSensorData" / "SensorDataExample1.jsonld")
    assert len(rows.sensor) == 12
    assert [(r["element_idx"], r["report_idx"]) for r in rows.sensor[:5]] == [
        (0, 0),
        (0, 1),
        (0, 2),
        (0, 3),
        (1, 0),
    ]
    first = rows.sensor[0]
    assert first == {
        **dict.fromkeys(SENSOR_COLUMNS),
        "element_idx": 0,
        "report_idx": 0,
        "device_id": "urn:epc:id:giai:4000001.111",
        "device_metadata": "https://id.gs1.org/8004/4000001111",
        "raw_data": "https://example.org/8004/401234599999",
        "time_us": parse_time_us("2019-04-02T14:05:00.000+01:00")[0],
        "type": "Temperature",
        "value": 26.0,
        "uom": "CEL",
    }
    assert [r["type"] for r in rows.sensor[:4]] == ["Temperature", "AbsoluteHumidity", "Speed", "Illuminance"]
    assert rows.sensor[-1]["value"] == 802.0


def test_sensor_element_without_reports_and_xml_spellings() -> None:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2024-01-01T00:00:00Z",
        "sensorElementList": [
            {"sensorMetadata": {"deviceID": "https://id.gs1.org/8004/4000001111"}},
            {
                "sensorReport": {
                    "type": "gs1:Temperature",
                    "booleanValue": "true",
                    "value": "4.5",
                    "exception": "gs1:ALARM_CONDITION",
                }
            },
        ],
    }
    rows = event_rows(event, {})
    assert [(r["element_idx"], r["report_idx"]) for r in rows.sensor] == [(0, -1), (1, 0)]
    assert rows.sensor[0]["device_id"] == "urn:epc:id:giai:4000001.111"
    assert (rows.sensor[1]["type"], rows.sensor[1]["boolean_value"], rows.sensor[1]["value"]) == (
        "Temperature",
        True,
        4.5,
    )
    assert rows.sensor[1]["exception"] == "ALARM_CONDITION"


def test_error_declaration_with_corrective_ids() -> None:
    rows = _rows(GS1 / "WithErrorDeclaration" / "ErrorDeclarationAndCorrectiveEvent.jsonld")
    assert rows.errors == [(parse_time_us("2020-01-15T00:00:00+01:00")[0], "incorrect_data")]
    assert rows.corrective_ids == ["urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8"]
    assert rows.fields == [
        ("errorDeclaration", "http://ns.example.com/epcis/#vendorExtension", 1, "Test1", None, None)
    ]
    bare = event_rows(
        {
            "type": "ObjectEvent",
            "eventTime": "2024-01-01T00:00:00Z",
            "errorDeclaration": {"declarationTime": "2024-01-02T00:00:00Z"},
        },
        {},
    )
    assert bare.errors == [(parse_time_us("2024-01-02T00:00:00Z")[0], None)] and bare.corrective_ids == []


def test_persistent_disposition() -> None:
    rows = _rows(GS1 / "PersistentDisposition-example.jsonld", 1)
    assert rows.persistent_dispositions == [(1, "completeness_verified"), (2, "completeness_inferred")]
    urns = event_rows(
        {
            "type": "ObjectEvent",
            "eventTime": "2024-01-01T00:00:00Z",
            "persistentDisposition": {"set": ["urn:epcglobal:cbv:disp:recalled"]},
        },
        {},
    )
    assert urns.persistent_dispositions == [(1, "recalled")]


@pytest.mark.parametrize(
    ("value", "gln"),
    [
        ("urn:epc:id:pgln:4012345.00000", "4012345000009"),
        ("urn:epc:id:sgln:0614141.00001.0", "0614141000012"),
        ("urn:epc:id:sgln:0614141.00001.dock7", "0614141000012"),
        ("https://id.gs1.org/417/4012345000009", "4012345000009"),
        ("https://id.example.com/414/0614141000012/254/7", "0614141000012"),
        ("4012345000009", "4012345000009"),
    ],
)
def test_owning_and_possessing_parties_see_the_event(value: str, gln: str) -> None:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2024-01-01T00:00:00Z",
        "sourceList": [{"type": "urn:epcglobal:cbv:sdt:owning_party", "source": value}],
        "destinationList": [
            {"type": "possessing_party", "destination": value},
            {"type": "location", "destination": "urn:epc:id:sgln:9529999.99999.0"},
        ],
    }
    rows = event_rows(event, {})
    assert rows.visible_to == {gln}
    assert rows.parties[0][:2] == (1, "owning_party")
    assert rows.parties[2] == (2, "location", "urn:epc:id:sgln:9529999.99999.0")


def test_digital_links_are_indexed_as_urns() -> None:
    rows = _rows(GS1 / "WithDigitalLinkID" / "Example_9.6.1-ObjectEventWithDigitalLink.jsonld")
    assert all(epc.startswith("urn:epc:id:sgtin:") for _, epc in rows.epcs)
    rows = event_rows(
        {
            "type": "ObjectEvent",
            "eventTime": "2024-01-01T00:00:00Z",
            "epcList": ["https://id.gs1.org/01/70614141123451/21/2017", "http://example.com/other"],
            "quantityList": [{"epcClass": "https://id.gs1.org/01/70614141123451/10/998877", "quantity": 3}],
            "readPoint": {"id": "https://id.gs1.org/414/9506000134307"},
        },
        {},
    )
    assert rows.epcs == [(1, "urn:epc:id:sgtin:0614141.712345.2017"), (1, "http://example.com/other")]
    assert rows.quantities == [(1, "urn:epc:class:lgtin:0614141.712345.998877", 3.0, None)]
    assert rows.read_point == "https://id.gs1.org/414/9506000134307"  # read points stay as given


def test_distribution_key_prefers_parent_then_epcs_then_class_then_event_id() -> None:
    def key(**fields: Any) -> int:
        return event_rows({"type": "ObjectEvent", "eventTime": "2024-01-01T00:00:00Z", **fields}, {}).dist_key

    epc = "urn:epc:id:sgtin:0614141.107346.2017"
    lgtin = "urn:epc:class:lgtin:0614141.107346.L1"
    assert key(parentID="urn:epc:id:sscc:0614141.1234567890", epcList=[epc]) != key(epcList=[epc])
    assert key(epcList=[epc], quantityList=[{"epcClass": lgtin}]) == key(childEPCs=[epc])
    assert key(outputEPCList=[epc], quantityList=[{"epcClass": lgtin}]) == key(
        quantityList=[{"epcClass": lgtin}]
    )
    assert key(eventID="urn:uuid:1") != key(eventID="urn:uuid:2")
    assert key(epcList=["https://id.gs1.org/01/10614141073464/21/2017"]) == key(epcList=[epc])


def test_event_time_zone_offset_and_unknown_types() -> None:
    rows = event_rows(
        {"type": "QuantityEvent", "eventTime": "2024-01-01T10:00:00+02:00", "epcClass": "x"}, {}
    )
    assert (rows.event_type, rows.event_time_us, rows.event_tz) == (
        "QuantityEvent",
        1704096000000000,
        "+02:00",
    )
    assert rows.fields == [("", "epcClass", 1, "x", None, None)]
    rows = event_rows(
        {"type": "ObjectEvent", "eventTime": "2024-01-01T10:00:00Z", "eventTimeZoneOffset": "-05:00"}, {}
    )
    assert rows.event_tz == "-05:00"


# --- extension fields ------------------------------------------------------------------------------------


def test_field_names_resolve_prefixes() -> None:
    ns = {"ex": "https://ns.example.com/epcis/", "h": "http://example.com/ext#", "u": "urn:example:ns:"}
    assert field_name("ex:a", ns) == "https://ns.example.com/epcis/#a"
    assert field_name("h:a", ns) == "http://example.com/ext#a"
    assert field_name("u:a", ns) == "urn:example:ns#a"
    assert field_name("gs1ushc:dropShipment", {}) == "http://epcis.gs1us.org/hc/ns#dropShipment"
    assert field_name("cbvmda:x", {"cbvmda": "https://override.example/"}) == "https://override.example/#x"
    assert field_name("nope:a", ns) == "nope:a"


def test_event_context_declares_more_prefixes() -> None:
    event = {
        "@context": [
            {"ext9": "https://ext9.example/"},
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        ],
        "type": "ObjectEvent",
        "eventTime": "2024-01-01T00:00:00Z",
        "ext9:city": "Cologne",
    }
    assert event_rows(event, {}).fields == [("", "https://ext9.example/#city", 1, "Cologne", None, None)]


def test_xml_attributes_and_text() -> None:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2024-01-01T00:00:00Z",
        "ex:weight": {"measurementUnitCode": "KGM", "#text": "12.5"},
        "ex:mixed": {"ex:unit": "x", "#text": "", "ex:child": "c"},
        "ex:jsonld": {"@value": "7", "@type": "xsd:int"},
        "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234", "ex:door": "7"},
        "bizLocation": {"id": "urn:epc:id:sgln:0614141.07346.0", "ex:area": {"ex:row": "B"}},
    }
    rows = event_rows(event, {"ex": "urn:ex"})
    assert rows.fields == [
        ("readPoint", "urn:ex#door", 1, "7", 7.0, None),
        ("bizLocation", "urn:ex#area", 1, None, None, None),
        ("bizLocation", "urn:ex#row", 2, "B", None, None),
        ("", "urn:ex#weight", 1, "12.5", 12.5, None),
        ("", "urn:ex#mixed", 1, None, None, None),
        ("", "urn:ex#child", 2, "c", None, None),
        ("", "urn:ex#jsonld", 1, "7", 7.0, None),
    ]


def test_field_values() -> None:
    assert field_value("1e3") == ("1e3", 1000.0, None)
    assert field_value("nan") == ("nan", None, None)
    assert field_value("1_000") == ("1_000", None, None)
    assert field_value("Infinity") == ("Infinity", None, None)
    assert field_value("2024-01-01T00:00:00") == ("2024-01-01T00:00:00", None, 1704067200000000)
    assert field_value("2024-01-01") == ("2024-01-01", None, None)
    assert field_value(10**400) == (None, None, None)
    assert field_value(-3) == ("-3", -3.0, None)
    assert field_value(float("inf")) == (None, None, None)
    long = "x" * (MAX_FIELD_TEXT + 10)
    assert field_value(long) == ("x" * MAX_FIELD_TEXT, None, None)
    empty_list = event_rows(
        {"type": "ObjectEvent", "eventTime": "2024-01-01T00:00:00Z", "a:b": [], "a:c": None}, {}
    )
    assert empty_list.fields == [("", "a:b", 1, None, None, None), ("", "a:c", 1, None, None, None)]


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"bizStep": "urn:x:" + "x" * MAX_INDEXED_TEXT}, "/bizStep"),
        ({"epcList": ["urn:epc:id:sgtin:0614141.107346.2017", "https://x.example/" + "é" * MAX_INDEXED_TEXT]}, "/epcList/1"),
        ({"readPoint": {"id": "x" * (MAX_INDEXED_TEXT + 1)}}, "/readPoint/id"),
        ({"sourceList": [{"type": "owning_party", "source": "x" * (MAX_INDEXED_TEXT + 1)}]}, "/sourceList/0/source"),
        ({"sensorElementList": [{"sensorReport": [{"type": "x" * 10**4}]}]}, "/sensorElementList/0/sensorReport/0/type"),
        ({"ex:note": "x" * (MAX_FIELD_STRING + 1)}, "/ex:note"),
        ({"ilmd": {"ex:a": [{"ex:b": {"#text": "x" * (MAX_FIELD_STRING + 1)}}]}}, "/ilmd/ex:a/0/ex:b"),
        ({"ilmd": {"ex:" + "n" * MAX_FIELD_NAME: "1"}}, "/ilmd/ex:" + "n" * MAX_FIELD_NAME),
    ],
)  # fmt: skip
def test_hostile_sizes_are_refused(change: dict[str, Any], pointer: str) -> None:
    event = {"type": "ObjectEvent", "eventTime": "2024-01-01T00:00:00Z", **change}
    with pytest.raises(EPCISError, match="too long") as info:
        event_rows(event, {"ex": "https://ns.example.com/"})
    assert info.value.pointer == pointer


def test_long_extension_text_is_cut_for_the_index() -> None:
    text = "y" * (MAX_FIELD_STRING - 1)
    rows = event_rows({"type": "ObjectEvent", "eventTime": "2024-01-01T00:00:00Z", "ex:note": text}, {})
    assert rows.fields == [("", "ex:note", 1, "y" * MAX_FIELD_TEXT, None, None)]


def test_deep_nesting_is_refused() -> None:
    value: Any = "leaf"
    for _ in range(MAX_FIELD_DEPTH + 1):
        value = {"ex:n": value}
    with pytest.raises(EPCISError, match="nested deeper"):
        event_rows({"type": "ObjectEvent", "eventTime": "2024-01-01T00:00:00Z", "ex:root": value}, {})


# --- errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"eventTime": None}, "/eventTime"),
        ({"eventTime": "22-07-2026"}, "/eventTime"),
        ({"type": 5}, "/type"),
        ({"epcList": "urn:epc:id:sgtin:0614141.107346.2017"}, "/epcList"),
        ({"epcList": ["urn:x", 5]}, "/epcList/1"),
        ({"quantityList": [{"quantity": 1}]}, "/quantityList/0/epcClass"),
        ({"quantityList": [{"epcClass": "urn:x", "quantity": "twenty"}]}, "/quantityList/0/quantity"),
        ({"bizStep": ["shipping"]}, "/bizStep"),
        ({"readPoint": "urn:epc:id:sgln:0614141.07346.1234"}, "/readPoint"),
        ({"sourceList": [{"type": "owning_party"}]}, "/sourceList/0/source"),
        ({"bizTransactionList": [{"type": 1, "bizTransaction": "x"}]}, "/bizTransactionList/0/type"),
        ({"errorDeclaration": {"reason": "incorrect_data"}}, "/errorDeclaration/declarationTime"),
        (
            {"sensorElementList": [{"sensorReport": [{"value": True}]}]},
            "/sensorElementList/0/sensorReport/0/value",
        ),
        ({"persistentDisposition": {"set": "recalled"}}, "/persistentDisposition/set"),
    ],
)
def test_malformed_events_raise_with_a_pointer(change: dict[str, Any], pointer: str) -> None:
    event = {"type": "ObjectEvent", "eventTime": "2024-01-01T00:00:00Z", "action": "ADD", **change}
    with pytest.raises(EPCISError) as info:
        event_rows(event, {})
    assert info.value.pointer == pointer


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
EVENT_KEYS = st.sampled_from(
    [
        "type", "eventTime", "eventTimeZoneOffset", "epcList", "parentID", "childEPCs", "inputEPCList",
        "quantityList", "action", "bizStep", "disposition", "readPoint", "bizLocation", "bizTransactionList",
        "sourceList", "destinationList", "sensorElementList", "ilmd", "errorDeclaration",
        "persistentDisposition", "transformationID", "eventID", "@context", "ex:field",
    ]
)  # fmt: skip


HEADS = st.fixed_dictionaries(
    {"type": st.just("ObjectEvent") | JSON, "eventTime": st.just("2024-03-01T10:00:00.000+01:00") | JSON}
)
RANDOM_EVENTS = st.builds(
    lambda head, rest, tail: {**head, **rest, **tail},
    HEADS,
    st.dictionaries(EVENT_KEYS | st.text(max_size=10), JSON, max_size=8),
    HEADS,
)


@settings(max_examples=300)
@given(RANDOM_EVENTS | st.dictionaries(EVENT_KEYS, JSON, max_size=6))
def test_random_events_raise_only_epcis_error(event: dict[str, Any]) -> None:
    try:
        rows = event_rows(event, {"ex": "https://ex.example/"})
    except EPCISError:
        return
    assert isinstance(rows, EventRows)
    assert rows.event_type == event["type"]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*path, index))
    return found


MUTATION_SOURCES = [
    GS1 / "WithFullCombinationOfFields" / "object_event_all_possible_fields.jsonld",
    GS1 / "WithFullCombinationOfFields" / "transformation_event_all_possible_fields.jsonld",
    GS1 / "WithSensorData" / "SensorDataExample12.jsonld",
    GS1 / "Example-TransactionEvents-2020_07_03y.jsonld",
]


@settings(max_examples=300)
@given(st.sampled_from(MUTATION_SOURCES), st.data())
def test_mutated_example_events_raise_only_epcis_error(path: Path, data: st.DataObject) -> None:
    event, namespaces = _event(path)
    event = copy.deepcopy(event)
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from(_paths(event)[1:]))
        holder: Any = event
        for step in target[:-1]:
            holder = holder[step]
        if data.draw(st.booleans()) and isinstance(holder, dict):
            del holder[target[-1]]
        else:
            holder[target[-1]] = data.draw(JSON)
        if not isinstance(event, dict):
            break
    with contextlib.suppress(EPCISError):
        event_rows(event, namespaces)
