"""Parsing SimpleEventQuery parameters: every name of GS1's query schema, the families, the errors.

No database here: :func:`parse_query_params` turns parameters into an :class:`EventQuery`; what those
conditions select is tested against real stores in ``test_store_query.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from packtrail.store.errors import QueryParameterError
from packtrail.store.query_params import (
    AttrFilter,
    BizTransactionIn,
    ClassMatch,
    CorrectiveEventIdIn,
    EpcMatch,
    ErrorDeclared,
    ErrorReasonIn,
    ErrorTimeBound,
    EventQuery,
    FieldFilter,
    PartyIn,
    PersistentDispositionIn,
    QuantityFilter,
    SensorBool,
    SensorBound,
    SensorIn,
    SensorMatch,
    SensorMeasure,
    TimeBound,
    ValuesIn,
    WithDescendants,
    convert_unit,
    parse_query_params,
)

QUERY_SCHEMA = Path("/work/shared/standards/epcis/rest-openapi/query-schema.json")
NS = {"ex": "https://ns.example.com/epcis/"}
T0 = "2024-03-01T10:00:00Z"
T0_US = 1_709_287_200_000_000


def parse(params: Any, namespaces: dict[str, str] | None = None) -> EventQuery:
    return parse_query_params(params, namespaces=NS if namespaces is None else namespaces)


def only(params: Any) -> Any:
    query = parse(params)
    assert len(query.conditions) == 1, query.conditions
    return query.conditions[0]


def rejects(params: Any, param: str, expected: str = "") -> QueryParameterError:
    with pytest.raises(QueryParameterError) as info:
        parse(params)
    assert info.value.param == param
    assert re.search(expected, info.value.message), info.value.message
    return info.value


# -- every fixed name of GS1's query schema is known ---------------------------------------------------

SAMPLE_VALUES: dict[str, str] = {
    "eventType": "ObjectEvent",
    "EQ_action": "ADD",
    "orderBy": "eventTime",
    "orderDirection": "ASC",
    "eventCountLimit": "3",
    "maxEventCount": "3",
    "EQ_booleanValue": "true",
    "EXISTS_errorDeclaration": "",
    "EXISTS_sensorElementList": "",
}


def _sample(name: str) -> str:
    if name in SAMPLE_VALUES:
        return SAMPLE_VALUES[name]
    if "Time" in name or name in ("GE_time", "LT_time"):
        return T0
    if "quantity" in name or "percRank" in name:
        return "2"
    return "urn:example:value"


def _schema_names() -> list[str]:
    schema = json.loads(QUERY_SCHEMA.read_text())
    return sorted(k for k in schema["definitions"]["EPCIS-Query"]["properties"] if k != "@context")


OPENAPI_ONLY = ["GE_errorDeclarationTime", "LT_errorDeclarationTime"]


@pytest.mark.parametrize("name", _schema_names() + OPENAPI_ONLY)
def test_every_fixed_name_of_the_query_schema_parses(name: str) -> None:
    params = [(name, _sample(name))]
    if name == "eventCountLimit":
        params.append(("orderBy", "eventTime"))
    query = parse(params)
    assert isinstance(query, EventQuery)
    hash(query)


def test_schema_file_lists_the_names_we_test() -> None:
    names = _schema_names()
    assert (
        len(names) >= 60 and "EQ_persistentDisposition_set" in names and "GE_errorDeclaration_Time" in names
    )


# -- the fixed names become the right conditions -------------------------------------------------------


def test_event_columns_and_cbv_spellings() -> None:
    assert only([("eventType", "ObjectEvent|AggregationEvent")]) == ValuesIn(
        "event_type", ("AggregationEvent", "ObjectEvent")
    )
    assert only([("EQ_action", "OBSERVE"), ("EQ_action", "ADD")]) == ValuesIn("action", ("ADD", "OBSERVE"))
    spellings = "shipping,urn:epcglobal:cbv:bizstep:shipping,https://ref.gs1.org/cbv/BizStep-shipping"
    assert only([("EQ_bizStep", spellings)]) == ValuesIn("biz_step", ("shipping",))
    assert only([("EQ_disposition", "https://ref.gs1.org/cbv/Disp-in_transit")]) == ValuesIn(
        "disposition", ("in_transit",)
    )
    custom = only([("EQ_bizStep", "ex:mixing")])
    assert custom == ValuesIn("biz_step", ("ex:mixing", "https://ns.example.com/epcis/mixing"))
    assert only([("EQ_eventID", "urn:uuid:1")]) == ValuesIn("event_id", ("urn:uuid:1",))
    assert only([("EQ_transformationID", "urn:uuid:2")]) == ValuesIn("transformation_id", ("urn:uuid:2",))


def test_places_in_every_spelling() -> None:
    condition = only([("EQ_readPoint", "urn:epc:id:sgln:4012345.00001.0")])
    assert isinstance(condition, ValuesIn) and condition.column == "read_point"
    assert set(condition.values) == {
        "urn:epc:id:sgln:4012345.00001.0",
        "https://id.gs1.org/414/4012345000016",
    }
    wd = only([("WD_bizLocation", "https://id.gs1.org/414/4012345000016")])
    assert isinstance(wd, WithDescendants) and "urn:epc:id:sgln:4012345.00001.0" in wd.roots


def test_times() -> None:
    assert only([("GE_eventTime", T0)]) == TimeBound("event_time_us", "GE", T0_US)
    assert only([("LT_recordTime", "2024-03-01T11:00:00+01:00")]) == TimeBound("record_time_us", "LT", T0_US)
    assert only([("GE_errorDeclarationTime", T0)]) == ErrorTimeBound("GE", T0_US)
    assert only([("LT_errorDeclaration_Time", T0)]) == ErrorTimeBound("LT", T0_US)


def test_epc_and_class_matches_are_canonical() -> None:
    match = only(
        [("MATCH_epc", "https://id.gs1.org/01/04012345111118/21/1001,urn:epc:idpat:sgtin:4012345.*.*")]
    )
    assert match == EpcMatch(
        (1, 2), ("urn:epc:id:sgtin:4012345.011111.1001", "urn:epc:idpat:sgtin:4012345.*.*")
    )
    assert only([("MATCH_parentID", "urn:epc:id:sscc:4012345.0000000001")]).roles == (3,)
    assert only([("MATCH_inputEPC", "x:y")]).roles == (4,)
    assert only([("MATCH_outputEPC", "x:y")]).roles == (5,)
    assert only([("MATCH_anyEPC", "x:y")]).roles == (1, 2, 3, 4, 5)
    klass = only([("MATCH_epcClass", "https://id.gs1.org/01/04012345555554/10/LOTX")])
    assert klass == ClassMatch((1, 2), ("urn:epc:class:lgtin:4012345.055555.LOTX",))
    assert only([("MATCH_anyEPCClass", "x:y")]).roles == (1, 2, 4, 5)


def test_quantities_with_and_without_units() -> None:
    assert only([("EQ_quantity", "1,2"), ("EQ_quantity", "3")]) == QuantityFilter("EQ", (1.0, 2.0, 3.0), None)
    assert only([("GE_quantity_KGM", "2.5")]) == QuantityFilter("GE", (2.5,), "KGM")
    rejects([("GT_quantity", "1,2")], "GT_quantity", "number")
    rejects([("GT_quantity", "1"), ("GT_quantity", "2")], "GT_quantity", "one value")
    rejects([("LT_quantity", "lots")], "LT_quantity", "number")


def test_transactions_parties_dispositions_errors() -> None:
    assert only([("EQ_bizTransaction_urn:epcglobal:cbv:btt:po", "urn:x:1")]) == BizTransactionIn(
        "po", ("urn:x:1",)
    )
    party = only([("EQ_destination_owning_party", "https://id.gs1.org/417/4012345000009")])
    assert isinstance(party, PartyIn) and party.kind == 2 and party.type == "owning_party"
    assert "urn:epc:id:pgln:4012345.00000" in party.values
    assert only(
        [("EQ_persistentDisposition_unset", "urn:epcglobal:cbv:disp:active")]
    ) == PersistentDispositionIn(2, ("active",))
    assert only([("EXISTS_errorDeclaration", "")]) == ErrorDeclared()
    assert parse([("EXISTS_errorDeclaration", "false")]).conditions == ()
    assert only([("EQ_errorReason", "https://ref.gs1.org/cbv/ER-did_not_occur")]) == ErrorReasonIn(
        ("did_not_occur",)
    )
    assert only([("EQ_correctiveEventID", "urn:uuid:9")]) == CorrectiveEventIdIn(("urn:uuid:9",))


def test_extension_field_families() -> None:
    top = only([("EQ_ex:temp", "20")])
    assert top == FieldFilter("", "https://ns.example.com/epcis/#temp", False, "EQ", ("20",), (20.0,), ())
    assert only([("EQ_INNER_ILMD_ex:lot", "L1")]).section == "ilmd"
    assert only([("EQ_INNER_ILMD_ex:lot", "L1")]).inner
    assert only([("EXISTS_SENSORREPORT_ex:x", "")]) == FieldFilter(
        "sensorReport", "https://ns.example.com/epcis/#x", False, "EXISTS"
    )
    sections = {
        "ERROR_DECLARATION_": "errorDeclaration",
        "SENSORELEMENT_": "sensorElement",
        "SENSORMETADATA_": "sensorMetadata",
        "readPoint_": "readPoint",
        "bizLocation_": "bizLocation",
        "INNER_bizLocation_": "bizLocation",
    }
    for tag, section in sections.items():
        assert only([(f"EQ_{tag}ex:f", "v")]).section == section
    when = only([("LT_ILMD_ex:expiry", "2026-01-31T00:00:00+01:00")])
    assert when.times == (1_769_814_000_000_000,) and when.numbers == ()
    assert only([("GE_ex:n", "4.5")]).numbers == (4.5,)
    assert only([("EQ_urn:example:ns#f", "a")]).name == "urn:example:ns#f"
    assert only([("EQ_unknown:f", "a")]).name == "unknown:f"  # as capture keeps an unresolved prefix
    assert only([("EQ_cbvmda:lotNumber", "L")]).name == "urn:epcglobal:cbv:mda#lotNumber"
    rejects([("GT_ex:n", "soon")], "GT_ex:n", "number or an ISO 8601")


def test_context_of_a_json_body_declares_prefixes() -> None:
    body = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"q": "urn:q:"}]}
    condition = parse({**body, "EQ_q:f": ["a", "b"]}, namespaces={}).conditions[0]
    assert (
        isinstance(condition, FieldFilter) and condition.name == "urn:q#f" and condition.texts == ("a", "b")
    )
    counted = parse({**body, "EQ_ILMD_q:n": 5}, namespaces={}).conditions[0]
    assert isinstance(counted, FieldFilter) and counted.numbers == (5.0,)


def test_master_data_attribute_families() -> None:
    assert only([("EQATTR_bizLocation_urn:epcglobal:cbv:mda#sst", "201")]) == AttrFilter(
        "bizLocation", ("urn:epcglobal:cbv:mda#sst",), ("201",)
    )
    assert only([("EQ_ATTR_readPoint_ex:kind_of_place", "dock")]) == AttrFilter(
        "readPoint", ("https://ns.example.com/epcis/kind_of_place",), ("dock",)
    )
    assert only([("HASATTR_epcClass", "urn:a,urn:b")]) == AttrFilter("epcClass", ("urn:a", "urn:b"), None)
    rejects([("EQATTR_parentID_urn:a", "x")], "EQATTR_parentID_urn:a", "master data field")


def test_sensor_terms_join_in_one_match() -> None:
    query = parse(
        [
            ("EQ_type", "gs1:Temperature"),
            ("GE_value_CEL", "2"),
            ("LT_maxValue_FAH", "50"),
            ("EQ_sDev_KEL", "0.5,1"),
            ("EQ_booleanValue", "false"),
            ("GT_percRank", "10"),
            ("GE_time", T0),
            ("EQ_deviceID", "https://id.gs1.org/8004/4012345D1"),
            ("EQ_hexBinaryValue", "0a"),
        ]
    )
    (match,) = query.conditions
    assert isinstance(match, SensorMatch)
    terms = set(match.terms)
    assert SensorIn("type", ("Temperature",)) in terms
    assert SensorMeasure("value", "GE", (2.0,), "CEL") in terms
    assert SensorMeasure("max_value", "LT", (50.0,), "FAH") in terms
    assert SensorMeasure("s_dev", "EQ", (0.5, 1.0), "KEL") in terms
    assert SensorBool(False) in terms
    assert SensorBound("perc_rank", "GT", 10.0) in terms
    assert SensorBound("time_us", "GE", float(T0_US)) in terms
    assert SensorIn("hex_binary_value", ("0A", "0a")) in terms
    device = next(t for t in terms if isinstance(t, SensorIn) and t.column == "device_id")
    assert "urn:epc:id:giai:4012345.D1" in device.values
    assert parse([("EXISTS_sensorElementList", "")]).conditions == (SensorMatch(()),)


def test_units_convert() -> None:
    assert convert_unit(100.0, "CEL", "FAH") == pytest.approx(212.0)
    assert convert_unit(0.0, "CEL", "KEL") == pytest.approx(273.15)
    assert convert_unit(1.0, "KGM", "GRM") == pytest.approx(1000.0)
    assert convert_unit(10.0, "CMT", "MMT") == pytest.approx(100.0)
    assert convert_unit(1.0, "XYZ", "XYZ") == 1.0 and convert_unit(1.0, "XYZ", "KGM") is None


# -- ordering and limits -------------------------------------------------------------------------------


def test_ordering_and_limits() -> None:
    assert parse([]) == EventQuery()
    assert parse([("orderBy", "eventTime")]).order_direction == "DESC"  # the standard's default
    assert parse([("orderBy", "recordTime"), ("orderDirection", "ASC")]).order_direction == "ASC"
    assert parse([("orderBy", "ex:temp")]).order_by == "https://ns.example.com/epcis/#temp"
    assert parse([("orderDirection", "DESC")]).order_by is None
    limited = parse([("orderBy", "eventTime"), ("eventCountLimit", "5")])
    assert limited.event_count_limit == 5
    assert parse({"maxEventCount": 7}).max_event_count == 7
    rejects([("orderDirection", "down")], "orderDirection", "ASC or DESC")
    rejects([("orderBy", "quantity")], "orderBy", "eventTime, recordTime")
    rejects([("eventCountLimit", "5")], "eventCountLimit", "orderBy")
    rejects(
        [("orderBy", "eventTime"), ("eventCountLimit", "5"), ("maxEventCount", "5")],
        "eventCountLimit",
        "not both",
    )
    rejects([("maxEventCount", "ten")], "maxEventCount", "non-negative integer")
    rejects([("maxEventCount", "-1")], "maxEventCount", "non-negative integer")
    rejects({"maxEventCount": 2.5}, "maxEventCount", "non-negative integer")


def test_paging_controls_are_not_part_of_the_query() -> None:
    assert parse([("perPage", "10"), ("nextPageToken", "abc"), ("EQ_action", "ADD")]) == parse(
        [("EQ_action", "ADD")]
    )


def test_same_query_same_digest() -> None:
    a = parse([("EQ_bizStep", "shipping"), ("MATCH_epc", "urn:epc:id:sgtin:4012345.011111.1")])
    b = parse(
        {
            "MATCH_epc": ["urn:epc:id:sgtin:4012345.011111.1"],
            "EQ_bizStep": ["urn:epcglobal:cbv:bizstep:shipping"],
        }
    )
    assert a == b and a.digest() == b.digest() and hash(a) == hash(b)
    assert a.digest() != parse([("EQ_bizStep", "receiving")]).digest()


# -- errors name the parameter -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "param", "expected"),
    [
        ([("EQ_bizstep", "shipping")], "EQ_bizstep", "unknown query parameter"),
        ([("GE_value", "3")], "GE_value", "unknown"),
        ([("GE_value_cel", "3")], "GE_value_cel", "unknown"),
        ([("MATCH_epcs", "x")], "MATCH_epcs", "unknown"),
        ([("EQ_foo", "x")], "EQ_foo", "unknown"),
        ([("EQ_action", "MOVE")], "EQ_action", "ADD, OBSERVE or DELETE"),
        ([("EQ_action", "")], "EQ_action", "non-empty"),
        ([("GE_eventTime", "2024-03-01")], "GE_eventTime", "ISO 8601"),
        ([("GE_eventTime", "2024-03-01T10:00:00")], "GE_eventTime", "offset"),
        ([("GE_eventTime", T0), ("GE_eventTime", T0)], "GE_eventTime", "one value"),
        ([("EQ_booleanValue", "yes")], "EQ_booleanValue", "true or false"),
        ([("EXISTS_errorDeclaration", "maybe")], "EXISTS_errorDeclaration", "no value"),
        ([("GE_percRank", "high")], "GE_percRank", "number"),
        ([("GE_value_CEL", "nan")], "GE_value_CEL", "finite"),
        ({"EQ_bizStep": []}, "EQ_bizStep", "at least one"),
        ({"EQ_bizStep": [{"a": 1}]}, "EQ_bizStep", "string"),
        ({"GE_eventTime": 1709287200}, "GE_eventTime", "ISO 8601"),
        ({"@context": 5}, "@context", "URI"),
        ([("", "x")], "", "parameter name"),
        ({"EQ_ex:f": {"a": 1}}, "EQ_ex:f", "string, number or date-time"),
    ],
)
def test_errors_name_the_parameter_and_the_expected_form(params: Any, param: str, expected: str) -> None:
    rejects(params, param, expected)


def test_malformed_input_shapes() -> None:
    for bad in ("EQ_action=ADD", [("EQ_action",)], [(1, "x")], [None]):
        with pytest.raises(QueryParameterError):
            parse_query_params(bad, namespaces={})  # type: ignore[arg-type]


# -- fuzz: any input gives a query or QueryParameterError, nothing else --------------------------------

PREFIXES = [
    "EQ_", "GE_", "LT_", "GT_", "LE_", "EXISTS_", "MATCH_", "WD_", "EQ_INNER_", "EQ_ILMD_", "EXISTS_INNER_ILMD_",
    "EQATTR_", "EQ_ATTR_", "HASATTR_", "EQ_bizTransaction_", "EQ_source_", "EQ_destination_", "GE_value_",
    "LT_sDev_", "EQ_quantity_", "EQ_readPoint_", "GT_SENSORREPORT_", "",
]  # fmt: skip
KNOWN = [*_schema_names(), *OPENAPI_ONLY, "perPage", "nextPageToken"]
names = st.one_of(
    st.sampled_from(KNOWN),
    st.builds(lambda p, s: p + s, st.sampled_from(PREFIXES), st.text(max_size=20)),
    st.text(max_size=30),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=40),
    st.sampled_from([T0, "ex:f", "urn:epc:idpat:sgtin:4012345.*.*", "https://id.gs1.org/01/04012345111118", "ASC"]),
)  # fmt: skip
values = st.one_of(
    scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=5), scalars, max_size=2)
)


@given(
    pairs=st.lists(
        st.tuples(names, st.one_of(st.text(max_size=40), st.sampled_from(["", T0, "1", "x,y|z"]))), max_size=6
    )
)
def test_fuzz_url_pairs_raise_only_query_parameter_errors(pairs: list[tuple[str, str]]) -> None:
    try:
        query = parse_query_params(pairs, namespaces=NS)
    except QueryParameterError as exc:
        assert isinstance(exc.param, str) and exc.message
    else:
        assert len(query.digest()) == 64


@given(body=st.dictionaries(names, values, max_size=6))
def test_fuzz_json_bodies_raise_only_query_parameter_errors(body: dict[str, Any]) -> None:
    try:
        query = parse_query_params(body, namespaces={})
    except QueryParameterError as exc:
        assert isinstance(exc.param, str) and exc.message
    else:
        hash(query)
