"""SimpleEventQuery against a real store, on SQLite and PostgreSQL alike.

One fixture document (:data:`EVENTS`, tagged ``E1``…``E8`` in the extension field ``ex:tag``) is captured
once per backend; every parameter family must return exactly the expected tags, and a near miss
must return nothing. Then: paging while captures continue, page tokens, limits, visibility, and a
differential test against a pure-Python evaluator of the same parameters.
"""

from __future__ import annotations

import base64
import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packtrail.store import Store, Viewer, open_store
from packtrail.store.errors import QueryParameterError, QueryTooLargeError
from packtrail.store.query_engine import EventPage, run_query
from packtrail.store.query_params import parse_query_params
from packtrail.store.query_sql import MasterData, page_select

NS = "https://ns.example.com/epcis/"
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"ex": NS}]
ADMIN = Viewer.admin()
PARTY_A = "4012345000009"  # urn:epc:id:pgln:4012345.00000
PARTY_B = "0614141000005"  # urn:epc:id:pgln:0614141.00000

SGTIN = "urn:epc:id:sgtin:4012345.011111."
SITE = "urn:epc:id:sgln:4012345.00001.0"  # a site; .1 and .2 are its children in the master data
DOCK_1 = "urn:epc:id:sgln:4012345.00001.1"
DOCK_2 = "urn:epc:id:sgln:4012345.00001.2"
OTHER_SITE = "urn:epc:id:sgln:4012345.00002.0"
LOT9 = "urn:epc:class:lgtin:4012345.011111.LOT9"
MDA = "urn:epcglobal:cbv:mda#"


def _event(tag: str, day: int, **fields: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": f"2024-03-{day:02d}T10:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "ex:tag": tag,
        **fields,
    }


EVENTS: list[dict[str, Any]] = [
    _event(
        "E1",
        1,
        action="ADD",
        bizStep="https://ref.gs1.org/cbv/BizStep-commissioning",
        disposition="active",
        epcList=[SGTIN + "1001", SGTIN + "1002"],
        readPoint={"id": DOCK_1},
        bizLocation={"id": SITE},
        ilmd={"ex:lot": "L1", "ex:expiry": "2026-01-31T00:00:00Z", "ex:count": 12, "ex:pack": {"ex:size": 3}},
        **{"ex:note": "fragile", "ex:box": {"ex:weight": 7.5}},
    ),
    _event(
        "E2",
        2,
        action="OBSERVE",
        bizStep="https://ref.gs1.org/cbv/BizStep-shipping",
        disposition="in_transit",
        epcList=["https://id.gs1.org/01/04012345111118/21/1001"],
        bizLocation={"id": OTHER_SITE},
        bizTransactionList=[{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:PO1"}],
        sourceList=[{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"}],
        destinationList=[{"type": "owning_party", "destination": "urn:epc:id:pgln:0614141.00000"}],
        persistentDisposition={"set": ["completeness_verified"], "unset": ["completeness_inferred"]},
        **{"ex:note": "standard"},
    ),
    {
        "type": "AggregationEvent",
        "eventTime": "2024-03-03T10:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "ex:tag": "E3",
        "action": "ADD",
        "bizStep": "packing",
        "parentID": "urn:epc:id:sscc:4012345.0000000001",
        "childEPCs": [SGTIN + "1003"],
        "childQuantityList": [{"epcClass": LOT9, "quantity": 10}],
        "readPoint": {"id": DOCK_2},
    },
    {
        "type": "TransformationEvent",
        "eventTime": "2024-03-04T10:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "ex:tag": "E4",
        "bizStep": "https://example.com/steps/mixing",
        "transformationID": "urn:uuid:7d1e6f3a-0c7b-4d61-9b8e-1f7a3c2e9d01",
        "inputEPCList": ["urn:epc:id:sgtin:4012345.022222.5"],
        "outputEPCList": ["urn:epc:id:sgtin:4012345.033333.6"],
        "inputQuantityList": [
            {"epcClass": "urn:epc:idpat:sgtin:4012345.044444.*", "quantity": 2.5, "uom": "KGM"}
        ],
        "outputQuantityList": [
            {"epcClass": "https://id.gs1.org/01/04012345555554/10/LOTX", "quantity": 500, "uom": "GRM"}
        ],
    },
    _event(
        "E5",
        5,
        action="OBSERVE",
        epcList=[SGTIN + "1004"],
        errorDeclaration={
            "declarationTime": "2024-03-06T00:00:00Z",
            "reason": "incorrect_data",
            "correctiveEventIDs": ["urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8"],
            "ex:why": "typo",
        },
        sensorElementList=[
            {
                "sensorMetadata": {
                    "time": "2024-03-05T09:00:00Z",
                    "deviceID": "urn:epc:id:giai:4012345.D1",
                    "bizRules": "https://ns.example.com/rules/1",
                    "dataProcessingMethod": "https://ns.example.com/dpm/avg",
                },
                "sensorReport": [
                    {
                        "type": "Temperature",
                        "value": 4.5,
                        "uom": "CEL",
                        "minValue": 2.0,
                        "maxValue": 8.0,
                        "meanValue": 5.0,
                        "sDev": 0.5,
                        "percRank": 50,
                        "percValue": 4.0,
                    },
                    {"type": "RelativeHumidity", "value": 55, "uom": "P1"},
                ],
            }
        ],
    ),
    _event(
        "E6",
        6,
        action="OBSERVE",
        epcList=[SGTIN + "1005"],
        sensorElementList=[
            {
                "sensorMetadata": {"startTime": "2024-03-06T08:00:00Z", "endTime": "2024-03-06T09:00:00Z"},
                "sensorReport": [
                    {"type": "gs1:Temperature", "value": 46.4, "uom": "FAH"},
                    {
                        "type": "Temperature",
                        "booleanValue": True,
                        "stringValue": "door closed",
                        "hexBinaryValue": "0A1B",
                        "uriValue": "https://ns.example.com/u/1",
                    },
                    {"type": "Count", "value": 3, "microorganism": "https://ns.example.com/micro/1"},
                    {
                        "type": "MassConcentration",
                        "value": 1,
                        "chemicalSubstance": "https://ns.example.com/chem/1",
                    },
                ],
            }
        ],
    ),
    {
        "type": "AssociationEvent",
        "eventTime": "2024-03-07T10:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "ex:tag": "E7",
        "action": "ADD",
        "parentID": "urn:epc:id:grai:4012345.00001.77",
        "childEPCs": ["urn:epc:id:giai:4012345.X1"],
        "readPoint": {"id": DOCK_1, "ex:dock": "D7"},
    },
    _event(
        "E8",
        8,
        action="DELETE",
        epcList=["urn:epc:id:sgtin:4012345.099999.1"],
        quantityList=[{"epcClass": "https://id.gs1.org/01/04012345555554", "quantity": 3.5, "uom": "LBR"}],
        bizStep="shipping",
        **{"ex:when": "2024-03-08T12:00:00Z", "ex:count": 5},
    ),
]
ALL = {f"E{i}" for i in range(1, 9)}

MASTER_DATA = {
    "epcisMasterData": {
        "vocabularyList": [
            {
                "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
                "vocabularyElementList": [
                    {
                        "id": SITE,
                        "attributes": [{"id": MDA + "sst", "attribute": "201"}],
                        "children": [DOCK_1, DOCK_2],
                    }
                ],
            },
            {
                "type": "urn:epcglobal:epcis:vtype:ReadPoint",
                "vocabularyElementList": [
                    {"id": DOCK_2, "attributes": [{"id": MDA + "sst", "attribute": "202"}]}
                ],
            },
            {
                "type": "urn:epcglobal:epcis:vtype:EPCClass",
                "vocabularyElementList": [
                    {"id": LOT9, "attributes": [{"id": MDA + "countryOfOrigin", "attribute": "DE"}]}
                ],
            },
        ]
    }
}


def document(events: list[dict[str, Any]], *, header: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-03-10T10:00:00Z",
        "epcisBody": {"eventList": events},
    }
    if header is not None:
        body["epcisHeader"] = header
    return orjson.dumps(body)


def capture(store: Store, events: list[dict[str, Any]], **kwargs: Any) -> None:
    result = store.capture(document(events, **kwargs.pop("doc", {})), **kwargs)
    assert result.success, result.errors
    assert result.captured == len(events), result


def tags(page: EventPage) -> list[str]:
    return [event["ex:tag"] for event in page.events]


def run(store: Store, params: Any, viewer: Viewer = ADMIN, **kwargs: Any) -> EventPage:
    query = parse_query_params(params, namespaces=store.namespaces())
    return store.query_events(query, viewer, **kwargs)


def found(store: Store, params: Any, viewer: Viewer = ADMIN) -> set[str]:
    page = run(store, params, viewer, per_page=1000)
    assert page.next_page_token is None
    return set(tags(page))


# -- a store per backend, captured once per module -----------------------------------------------------


def _module_store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Like conftest's ``store_url``, but module-scoped: read-only tests share one captured store."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('query') / 'packtrail.db'}"
        return
    import psycopg

    base = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        separator = "&" if "?" in base else "?"
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="module", params=BACKENDS)
def fixture_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """The fixture document captured into a fresh store (by party A: visibility via admin here)."""
    for url in _module_store_url(request, tmp_path_factory):
        with open_store(url) as store:
            capture(store, EVENTS, doc={"header": MASTER_DATA})
            yield store


# -- every family --------------------------------------------------------------------------------------

FAMILIES: list[tuple[list[tuple[str, str]] | dict[str, Any], set[str]]] = [
    # event type, action, CBV values in any spelling
    ([("eventType", "AggregationEvent|AssociationEvent")], {"E3", "E7"}),
    ([("eventType", "TransformationEvent")], {"E4"}),
    ([("eventType", "QuantityEvent")], set()),
    ([("EQ_action", "ADD")], {"E1", "E3", "E7"}),
    ([("EQ_action", "DELETE"), ("EQ_action", "OBSERVE")], {"E2", "E5", "E6", "E8"}),
    ([("EQ_bizStep", "shipping")], {"E2", "E8"}),
    ([("EQ_bizStep", "urn:epcglobal:cbv:bizstep:commissioning")], {"E1"}),
    ([("EQ_bizStep", "https://ref.gs1.org/cbv/BizStep-packing")], {"E3"}),
    ([("EQ_bizStep", "https://example.com/steps/mixing")], {"E4"}),
    ([("EQ_bizStep", "receiving")], set()),
    ([("EQ_disposition", "urn:epcglobal:cbv:disp:in_transit,active")], {"E1", "E2"}),
    ([("EQ_persistentDisposition_set", "completeness_verified")], {"E2"}),
    ([("EQ_persistentDisposition_unset", "https://ref.gs1.org/cbv/Disp-completeness_inferred")], {"E2"}),
    ([("EQ_persistentDisposition_set", "completeness_inferred")], set()),
    # times
    ([("GE_eventTime", "2024-03-07T09:00:00Z")], {"E7", "E8"}),
    ([("GE_eventTime", "2024-03-07T09:00:00.001Z")], {"E8"}),
    ([("LT_eventTime", "2024-03-02T09:00:00Z")], {"E1"}),
    ([("LT_eventTime", "2024-03-02T10:00:00+01:00")], {"E1"}),
    ([("GE_eventTime", "2024-03-02T10:00:00+01:00"), ("LT_eventTime", "2024-03-04T00:00:00Z")], {"E2", "E3"}),
    ([("GE_recordTime", "2000-01-01T00:00:00Z")], ALL),
    ([("LT_recordTime", "2000-01-01T00:00:00Z")], set()),
    # places, with descendants and in Digital Link spelling
    ([("EQ_readPoint", DOCK_1)], {"E1", "E7"}),
    ([("EQ_readPoint", "https://id.gs1.org/414/4012345000016/254/1")], {"E1", "E7"}),
    ([("EQ_bizLocation", SITE)], {"E1"}),
    ([("WD_readPoint", SITE)], {"E1", "E3", "E7"}),
    ([("WD_bizLocation", SITE)], {"E1"}),
    ([("WD_bizLocation", "https://id.gs1.org/414/4012345000016")], {"E1"}),
    ([("WD_readPoint", DOCK_2)], {"E3"}),
    ([("WD_readPoint", OTHER_SITE)], set()),
    ([("EQ_transformationID", "urn:uuid:7d1e6f3a-0c7b-4d61-9b8e-1f7a3c2e9d01")], {"E4"}),
    # MATCH_ on EPCs: exact, Digital Link, patterns, roles
    ([("MATCH_epc", SGTIN + "1001")], {"E1", "E2"}),
    ([("MATCH_epc", "https://id.gs1.org/01/04012345111118/21/1002")], {"E1"}),
    ([("MATCH_epc", "urn:epc:idpat:sgtin:4012345.011111.*")], {"E1", "E2", "E3", "E5", "E6"}),
    ([("MATCH_epc", "urn:epc:idpat:sgtin:4012345.*.*")], {"E1", "E2", "E3", "E5", "E6", "E8"}),
    ([("MATCH_epc", "https://id.gs1.org/01/04012345111118")], {"E1", "E2", "E3", "E5", "E6"}),
    ([("MATCH_epc", "urn:epc:idpat:sgtin:4012345.01111.*")], set()),
    ([("MATCH_epc", "urn:epc:id:sscc:4012345.0000000001")], set()),
    ([("MATCH_parentID", "urn:epc:id:sscc:4012345.0000000001")], {"E3"}),
    ([("MATCH_parentID", "urn:epc:idpat:grai:4012345.*.*")], {"E7"}),
    ([("MATCH_inputEPC", "urn:epc:id:sgtin:4012345.022222.5")], {"E4"}),
    ([("MATCH_inputEPC", "urn:epc:id:sgtin:4012345.033333.6")], set()),
    ([("MATCH_outputEPC", "urn:epc:id:sgtin:4012345.033333.6")], {"E4"}),
    (
        [("MATCH_anyEPC", "urn:epc:id:sscc:4012345.0000000001,urn:epc:id:sgtin:4012345.033333.6")],
        {"E3", "E4"},
    ),
    ([("MATCH_anyEPC", "urn:epc:id:giai:4012345.X1")], {"E7"}),
    # MATCH_ on classes
    ([("MATCH_epcClass", LOT9)], {"E3"}),
    ([("MATCH_epcClass", "urn:epc:idpat:sgtin:4012345.011111.*")], {"E3"}),
    ([("MATCH_epcClass", "https://id.gs1.org/01/04012345555554")], {"E8"}),
    ([("MATCH_epcClass", "urn:epc:idpat:sgtin:4012345.044444.*")], set()),
    ([("MATCH_inputEPCClass", "urn:epc:idpat:sgtin:4012345.044444.*")], {"E4"}),
    ([("MATCH_outputEPCClass", "urn:epc:class:lgtin:4012345.055555.LOTX")], {"E4"}),
    ([("MATCH_outputEPCClass", "urn:epc:idpat:sgtin:4012345.*.*")], {"E4"}),
    ([("MATCH_anyEPCClass", "urn:epc:idpat:sgtin:4012345.055555.*")], {"E4", "E8"}),
    # quantities, with units
    ([("EQ_quantity", "10")], {"E3"}),
    ([("GT_quantity", "10")], {"E4"}),
    ([("GE_quantity", "10")], {"E3", "E4"}),
    ([("LT_quantity", "3"), ("GE_quantity", "2.5")], {"E4"}),
    ([("LE_quantity", "3.5")], {"E4", "E8"}),
    ([("GE_quantity_KGM", "1.5")], {"E4", "E8"}),
    ([("GT_quantity_KGM", "1.6")], {"E4"}),
    ([("EQ_quantity_GRM", "2500")], {"E4"}),
    ([("EQ_quantity_KGM", "0.5")], {"E4"}),
    ([("LT_quantity_LBR", "4")], {"E4", "E8"}),  # E4: 500 GRM = 1.1 LBR
    ([("LT_quantity_LBR", "1")], set()),
    ([("GE_quantity_CEL", "0")], set()),
    # bizTransactions, sources, destinations
    ([("EQ_bizTransaction_po", "urn:epcglobal:cbv:bt:4012345000009:PO1")], {"E2"}),
    ([("EQ_bizTransaction_urn:epcglobal:cbv:btt:po", "urn:epcglobal:cbv:bt:4012345000009:PO1")], {"E2"}),
    ([("EQ_bizTransaction_inv", "urn:epcglobal:cbv:bt:4012345000009:PO1")], set()),
    ([("EQ_source_owning_party", "urn:epc:id:pgln:4012345.00000")], {"E2"}),
    ([("EQ_source_owning_party", "https://id.gs1.org/417/4012345000009")], {"E2"}),
    ([("EQ_destination_owning_party", "urn:epc:id:pgln:0614141.00000")], {"E2"}),
    ([("EQ_destination_possessing_party", "urn:epc:id:pgln:0614141.00000")], set()),
    # eventID and error declarations
    ([("EXISTS_errorDeclaration", "")], {"E5"}),
    ([("EXISTS_errorDeclaration", "false")], ALL),
    ([("GE_errorDeclarationTime", "2024-03-06T00:00:00Z")], {"E5"}),
    ([("LT_errorDeclaration_Time", "2024-03-06T00:00:00Z")], set()),
    ([("EQ_errorReason", "incorrect_data")], {"E5"}),
    ([("EQ_errorReason", "did_not_occur")], set()),
    ([("EQ_correctiveEventID", "urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8")], {"E5"}),
    ([("EQ_ERROR_DECLARATION_ex:why", "typo")], {"E5"}),
    ([("EXISTS_ERROR_DECLARATION_ex:why", "")], {"E5"}),
    # top-level extension fields, nested, typed comparisons
    ([("EQ_ex:note", "fragile,standard")], {"E1", "E2"}),
    ([(f"EQ_{NS}#note", "fragile")], {"E1"}),
    ([("EXISTS_ex:note", "")], {"E1", "E2"}),
    ([("EXISTS_ex:box", "")], {"E1"}),
    ([("EXISTS_ex:weight", "")], set()),
    ([("EXISTS_INNER_ex:weight", "")], {"E1"}),
    ([("EQ_INNER_ex:weight", "7.5")], {"E1"}),
    ([("GT_INNER_ex:weight", "7")], {"E1"}),
    ([("EQ_ex:count", "5.0")], {"E8"}),
    ([("GT_ex:count", "4")], {"E8"}),
    ([("LT_ex:count", "5")], set()),
    ([("GE_ex:when", "2024-03-08T12:00:00Z")], {"E8"}),
    ([("LT_ex:when", "2024-03-08T13:00:00+01:00")], set()),
    ([("EQ_ex:when", "2024-03-08T13:00:00+01:00")], {"E8"}),
    # ILMD
    ([("EQ_ILMD_ex:lot", "L1")], {"E1"}),
    ([("EQ_ILMD_ex:lot", "L2")], set()),
    ([("EXISTS_ILMD_ex:expiry", "")], {"E1"}),
    ([("GE_ILMD_ex:expiry", "2026-01-01T00:00:00Z")], {"E1"}),
    ([("LT_ILMD_ex:expiry", "2026-01-01T00:00:00Z")], set()),
    ([("GE_ILMD_ex:count", "12"), ("LE_ILMD_ex:count", "12")], {"E1"}),
    ([("EQ_INNER_ILMD_ex:size", "3")], {"E1"}),
    ([("EQ_ILMD_ex:size", "3")], set()),
    ([("EQ_ex:lot", "L1")], set()),
    # readPoint / bizLocation extension fields
    ([("EQ_readPoint_ex:dock", "D7")], {"E7"}),
    ([("EQ_bizLocation_ex:dock", "D7")], set()),
    # master data attributes
    ([(f"EQATTR_bizLocation_{MDA}sst", "201")], {"E1"}),
    ([(f"EQ_ATTR_readPoint_{MDA}sst", "202")], {"E3"}),
    ([("EQATTR_readPoint_cbvmda:sst", "201,202")], {"E3"}),
    ([(f"EQATTR_epcClass_{MDA}countryOfOrigin", "DE")], {"E3"}),
    ([(f"EQATTR_epcClass_{MDA}countryOfOrigin", "FR")], set()),
    ([("HASATTR_bizLocation", f"{MDA}sst")], {"E1"}),
    ([("HASATTR_readPoint", f"{MDA}sst")], {"E3"}),
    ([("HASATTR_readPoint", f"{MDA}name")], set()),
    # sensors: every term on the same report, units converted
    ([("EXISTS_sensorElementList", "")], {"E5", "E6"}),
    ([("EQ_type", "Temperature")], {"E5", "E6"}),
    ([("EQ_type", "https://gs1.org/voc/RelativeHumidity")], {"E5"}),
    ([("EQ_deviceID", "urn:epc:id:giai:4012345.D1")], {"E5"}),
    ([("EQ_dataProcessingMethod", "https://ns.example.com/dpm/avg")], {"E5"}),
    ([("EQ_bizRules", "https://ns.example.com/rules/1")], {"E5"}),
    ([("EQ_microorganism", "https://ns.example.com/micro/1")], {"E6"}),
    ([("EQ_chemicalSubstance", "https://ns.example.com/chem/1")], {"E6"}),
    ([("EQ_stringValue", "door closed")], {"E6"}),
    ([("EQ_booleanValue", "true")], {"E6"}),
    ([("EQ_booleanValue", "false")], set()),
    ([("EQ_hexBinaryValue", "0a1b")], {"E6"}),
    ([("EQ_uriValue", "https://ns.example.com/u/1")], {"E6"}),
    ([("GE_time", "2024-03-05T09:00:00Z"), ("LT_time", "2024-03-05T09:00:01Z")], {"E5"}),
    ([("GE_startTime", "2024-03-06T08:00:00Z")], {"E6"}),
    ([("LT_endTime", "2024-03-06T09:00:00Z")], set()),
    ([("LT_endTime", "2024-03-06T09:00:01Z")], {"E6"}),
    ([("GE_value_CEL", "4.5")], {"E5", "E6"}),  # E6: 46.4 °F = 8 °C
    ([("GT_value_CEL", "5")], {"E6"}),
    ([("EQ_value_CEL", "8")], {"E6"}),
    ([("EQ_value_FAH", "40.1")], {"E5"}),
    ([("LT_value_KEL", "278")], {"E5"}),
    ([("EQ_value_P1", "55")], {"E5"}),
    ([("EQ_type", "Temperature"), ("GE_value_P1", "50")], set()),  # not the same report
    ([("EQ_type", "RelativeHumidity"), ("GE_value_P1", "50")], {"E5"}),
    ([("GE_minValue_CEL", "2"), ("LE_maxValue_CEL", "8")], {"E5"}),
    ([("GT_minValue_CEL", "2")], set()),
    ([("EQ_meanValue_KEL", "278.15")], {"E5"}),
    ([("LT_sDev_FAH", "1")], {"E5"}),  # 0.5 K = 0.9 °F (a difference: no offset)
    ([("GE_percRank", "50"), ("LE_percRank", "50")], {"E5"}),
    ([("GT_percRank", "50")], set()),
    ([("EQ_percValue_CEL", "4")], {"E5"}),
    # combinations (AND) and JSON query bodies
    ([("EQ_bizStep", "shipping"), ("MATCH_epc", SGTIN + "1001")], {"E2"}),
    ({"EQ_action": ["ADD"], "eventType": ["ObjectEvent"]}, {"E1"}),
    ({"@context": [{"q": NS}], "EQ_q:note": ["fragile"], "GE_eventTime": "2024-03-01T00:00:00Z"}, {"E1"}),
    ({"EQ_ILMD_ex:count": 12}, {"E1"}),
    ({"EXISTS_ex:note": None, "EQ_booleanValue": False}, set()),
]


@pytest.mark.parametrize(("params", "expected"), FAMILIES, ids=[str(p)[:70] for p, _ in FAMILIES])
def test_parameter_family_returns_exactly_the_expected_events(
    fixture_store: Store, params: Any, expected: set[str]
) -> None:
    assert found(fixture_store, params) == expected


def test_default_order_is_capture_order_and_order_by_sorts(fixture_store: Store) -> None:
    assert tags(run(fixture_store, [])) == [f"E{i}" for i in range(1, 9)]
    assert tags(run(fixture_store, [("orderDirection", "DESC")])) == [f"E{i}" for i in range(8, 0, -1)]
    assert tags(run(fixture_store, [("orderBy", "eventTime")]))[:2] == ["E8", "E7"]  # DESC by default
    assert tags(run(fixture_store, [("orderBy", "recordTime"), ("orderDirection", "ASC")]))[0] == "E1"
    by_note = tags(run(fixture_store, [("orderBy", "ex:note"), ("orderDirection", "ASC")]))
    assert by_note[-2:] == ["E1", "E2"]  # "fragile" < "standard"; events without ex:note first
    by_count = tags(run(fixture_store, [("orderBy", "ex:count"), ("EXISTS_ex:count", "")]))
    assert by_count == ["E8"]


def test_event_count_limit_picks_the_first_by_the_order(fixture_store: Store) -> None:
    latest = run(
        fixture_store, [("orderBy", "eventTime"), ("orderDirection", "DESC"), ("eventCountLimit", "1")]
    )
    assert tags(latest) == ["E8"] and latest.next_page_token is None
    pages = _walk(
        fixture_store, [("orderBy", "eventTime"), ("orderDirection", "ASC"), ("eventCountLimit", "5")], 2
    )
    assert [tags(p) for p in pages] == [["E1", "E2"], ["E3", "E4"], ["E5"]]


def test_max_event_count_raises_when_more_match(fixture_store: Store) -> None:
    assert len(run(fixture_store, [("EQ_action", "ADD"), ("maxEventCount", "3")]).events) == 3
    with pytest.raises(QueryTooLargeError):
        run(fixture_store, [("EQ_action", "ADD"), ("maxEventCount", "2")])


def test_per_page_bounds(fixture_store: Store) -> None:
    for bad in (0, -1, 10_001):
        with pytest.raises(QueryParameterError) as info:
            run(fixture_store, [], per_page=bad)
        assert info.value.param == "perPage"
    assert len(run(fixture_store, [], per_page=10_000).events) == 8
    assert len(run(fixture_store, []).events) == 8  # default 30


def test_namespaces_of_the_events_come_back(fixture_store: Store) -> None:
    page = run(fixture_store, [("EQ_bizStep", "packing")])
    assert page.namespaces.get("ex") == NS
    assert page.events[0]["recordTime"].endswith("Z") and page.events[0]["eventID"].startswith("ni:///")


# -- tokens --------------------------------------------------------------------------------------------


def _walk(store: Store, params: Any, per_page: int, viewer: Viewer = ADMIN) -> list[EventPage]:
    pages = [run(store, params, viewer, per_page=per_page)]
    while pages[-1].next_page_token is not None:
        pages.append(run(store, params, viewer, per_page=per_page, page_token=pages[-1].next_page_token))
        assert len(pages) < 100
    return pages


def test_token_tampering_and_reuse_are_refused(fixture_store: Store) -> None:
    params = [("EQ_action", "ADD,OBSERVE")]
    token = run(fixture_store, params, per_page=2).next_page_token
    assert token is not None
    payload, signature = token.split(".")
    data = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["k"] = [0]
    forged = base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode() + "." + signature
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for bad in (forged, flipped, "garbage", "", ".", "a.b.c", token + "x"):
        if bad == "":
            continue  # an empty token is "no token"
        with pytest.raises(QueryParameterError) as info:
            run(fixture_store, params, per_page=2, page_token=bad)
        assert info.value.param == "nextPageToken"
    with pytest.raises(QueryParameterError, match="another query"):
        run(fixture_store, [("EQ_action", "ADD")], per_page=2, page_token=token)
    with pytest.raises(QueryParameterError, match="another query or party"):
        run(fixture_store, params, Viewer(PARTY_A), per_page=2, page_token=token)
    # the same query written differently is the same query
    same = run(fixture_store, {"EQ_action": ["OBSERVE", "ADD"]}, per_page=2, page_token=token)
    assert tags(same) == ["E3", "E5"]


def test_paging_walk_returns_each_event_once(fixture_store: Store) -> None:
    for params in ([], [("orderBy", "eventTime")], [("orderBy", "ex:note"), ("orderDirection", "ASC")]):
        for per_page in (1, 3, 8):
            pages = _walk(fixture_store, params, per_page)
            walked = [t for page in pages for t in tags(page)]
            assert walked == tags(run(fixture_store, params)), (params, per_page)
            assert sorted(walked) == sorted(ALL)


# -- fresh stores: paging during capture, visibility ---------------------------------------------------


def _numbered(n: int, *, start: datetime, step: timedelta, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "ObjectEvent",
            "eventTime": (start + i * step).isoformat().replace("+00:00", "Z"),
            "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE",
            "epcList": [f"{SGTIN}{prefix}{i}"],
            "ex:tag": f"{prefix}{i}",
        }
        for i in range(n)
    ]


@pytest.mark.parametrize(
    "order", [[], [("orderBy", "eventTime"), ("orderDirection", "ASC")], [("orderBy", "eventTime")]]
)
def test_paging_while_capture_continues_returns_every_existing_event_once(
    store_url: str, order: list[tuple[str, str]]
) -> None:
    base = datetime(2024, 5, 1, tzinfo=UTC)
    with open_store(store_url) as store:
        capture(store, _numbered(20, start=base, step=timedelta(hours=2), prefix="P"))
        before = set(found(store, order))
        assert len(before) == 20
        pages = [run(store, order, per_page=3)]
        for round_ in itertools.count():
            # new events before, between and after the existing ones in every order
            early = _numbered(
                2,
                start=base - timedelta(days=1, minutes=round_),
                step=timedelta(hours=5),
                prefix=f"N{round_}x",
            )
            mid = _numbered(
                2,
                start=base + timedelta(hours=1, minutes=round_),
                step=timedelta(hours=6),
                prefix=f"N{round_}y",
            )
            late = _numbered(
                2,
                start=base + timedelta(days=5, minutes=round_),
                step=timedelta(hours=1),
                prefix=f"N{round_}z",
            )
            capture(store, early + mid + late)
            token = pages[-1].next_page_token
            if token is None:
                break
            pages.append(run(store, order, per_page=3, page_token=token))
        walked = [t for page in pages for t in tags(page)]
        assert len(walked) == len(set(walked)) == 20
        assert set(walked) == before
        fresh = run(store, order, per_page=10_000)
        assert len(fresh.events) == 20 + 6 * (round_ + 1)


def test_a_party_sees_only_its_own_and_shared_events(store_url: str) -> None:
    with open_store(store_url) as store:
        store.add_party(PARTY_A, "A")
        store.add_party(PARTY_B, "B")
        capture(store, [_event("A1", 1, action="ADD", epcList=[SGTIN + "9001"])], party=PARTY_A)
        capture(store, [_event("B1", 2, action="ADD", epcList=[SGTIN + "9002"])], party=PARTY_B)
        handed = _event(
            "A2",
            3,
            action="OBSERVE",
            epcList=[SGTIN + "9003"],
            destinationList=[{"type": "owning_party", "destination": "urn:epc:id:pgln:0614141.00000"}],
        )
        capture(store, [handed], party=PARTY_A)
        a, b = Viewer(PARTY_A), Viewer(PARTY_B)
        assert found(store, [], a) == {"A1", "A2"}
        assert found(store, [], b) == {"B1", "A2"}
        assert found(store, [("MATCH_epc", SGTIN + "9002")], a) == set()
        assert found(store, [("MATCH_epc", SGTIN + "9002")], ADMIN) == {"B1"}
        assert found(store, [], Viewer("0000000000000")) == set()
        with pytest.raises(QueryTooLargeError):  # counts only what the viewer sees... and more than 1 is seen
            run(store, [("maxEventCount", "1")], a)
        assert len(run(store, [("maxEventCount", "1"), ("EQ_action", "ADD")], a).events) == 1
        # paging as B never shows A's private event
        walked = [t for page in _walk(store, [], 1, b) for t in tags(page)]
        assert walked == ["B1", "A2"]


# -- the plans use the indexes -------------------------------------------------------------------------

PLANNED: dict[str, tuple[list[tuple[str, str]], str | tuple[str, ...]]] = {
    "MATCH_epc": ([("MATCH_epc", SGTIN + "1001")], "ix_event_epcs_value"),
    "MATCH_epc pattern": (
        [("MATCH_epc", "urn:epc:idpat:sgtin:4012345.011111.*")],
        ("ix_event_epc_classes_value", "ix_event_epc_classes_step"),
    ),
    "EQ_bizStep + time": (
        [
            ("EQ_bizStep", "shipping"),
            ("GE_eventTime", "2024-03-01T00:00:00Z"),
            ("LT_eventTime", "2024-04-01T00:00:00Z"),
        ],
        (
            "ix_events_biz_step",
            "ix_events_event_time",
            "_biz_step_event_pk_idx",
            "_biz_step_event_pk_event_time_us_idx",  # revision 0005
            "_event_time_us_event_pk_idx",
        ),
    ),
    "bizTransaction": (
        [("EQ_bizTransaction_po", "urn:epcglobal:cbv:bt:4012345000009:PO1")],
        "ix_event_biz_transactions_value",
    ),
    "ILMD": ([("EQ_ILMD_ex:lot", "L1")], "ix_event_fields_"),
    "source": ([("EQ_source_owning_party", "urn:epc:id:pgln:4012345.00000")], "ix_event_parties_value"),
    "EQ_type": ([("EQ_type", "Temperature")], "ix_event_sensor_type"),
}


@pytest.mark.parametrize("name", sorted(PLANNED))
def test_common_parameters_use_an_index(fixture_store: Store, name: str) -> None:
    params, index = PLANNED[name]
    query = parse_query_params(params, namespaces=fixture_store.namespaces())
    statement = page_select(query, Viewer(PARTY_A), MasterData(), upper_pk=10**9, after=None, limit=31)
    compiled = statement.compile(fixture_store.engine, compile_kwargs={"literal_binds": True})
    with fixture_store.engine.connect() as connection:
        if fixture_store.dialect == "sqlite":
            plan = "\n".join(
                str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
            )
        else:
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))
    wanted = (index,) if isinstance(index, str) else index
    assert any(name in plan for name in wanted), plan
    if fixture_store.dialect == "sqlite":  # no full scan of the events table
        assert "SCAN events" not in plan, plan


# -- differential: SQL equals a pure-Python evaluator --------------------------------------------------

EPC_POOL = [f"{SGTIN}{n}" for n in range(1, 5)] + ["urn:epc:id:sgtin:4012345.022222.1"]
STEPS = ["shipping", "receiving", "packing", None]
SPELL_STEP = [
    lambda s: s,
    lambda s: f"urn:epcglobal:cbv:bizstep:{s}",
    lambda s: f"https://ref.gs1.org/cbv/BizStep-{s}",
]
DOC_STEP = [SPELL_STEP[0], SPELL_STEP[2]]  # JSON-LD documents take the bare word or the Web URI
TIMES = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=7 * i) for i in range(4)]
PATTERNS = ["urn:epc:idpat:sgtin:4012345.011111.*", "urn:epc:idpat:sgtin:4012345.022222.*"]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _dl(epc: str) -> str:
    from packtrail.epcis.vocabulary import to_digital_link

    return to_digital_link(epc)


@st.composite
def random_events(draw: st.DrawFn) -> list[dict[str, Any]]:
    events = []
    for i in range(draw(st.integers(2, 8))):
        epcs = draw(st.lists(st.sampled_from(EPC_POOL), min_size=1, max_size=3, unique=True))
        step = draw(st.sampled_from(STEPS))
        event: dict[str, Any] = {
            "type": "ObjectEvent",
            "eventTime": _iso(draw(st.sampled_from(TIMES))),
            "eventTimeZoneOffset": "+00:00",
            "action": draw(st.sampled_from(["ADD", "OBSERVE", "DELETE"])),
            "epcList": [_dl(e) if draw(st.booleans()) else e for e in epcs],
            "ex:i": i,
        }
        if step is not None:
            event["bizStep"] = draw(st.sampled_from(DOC_STEP))(step)
        events.append(event)
    return events


@st.composite
def random_queries(draw: st.DrawFn) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    if draw(st.booleans()):
        picks = draw(st.lists(st.sampled_from([*EPC_POOL, *PATTERNS]), min_size=1, max_size=2))
        params.append(("MATCH_epc", ",".join(picks)))
    if draw(st.booleans()):
        steps = draw(st.lists(st.sampled_from([s for s in STEPS if s]), min_size=1, max_size=2))
        params.append(("EQ_bizStep", "|".join(draw(st.sampled_from(SPELL_STEP))(s) for s in steps)))
    if draw(st.booleans()):
        params.append(("GE_eventTime", _iso(draw(st.sampled_from(TIMES)))))
    if draw(st.booleans()):
        params.append(("LT_eventTime", _iso(draw(st.sampled_from(TIMES)))))
    if draw(st.booleans()):
        params.append(("EQ_action", draw(st.sampled_from(["ADD", "OBSERVE", "DELETE"]))))
    return params


def _bare(step: str) -> str:
    return step.rsplit(":", 1)[-1].rsplit("-", 1)[-1]


def evaluate(events: list[dict[str, Any]], params: list[tuple[str, str]]) -> list[int]:
    """The ``ex:i`` of the events that match, in capture order: the standard's rules, written plainly."""
    from packtrail.epcis.vocabulary import to_epc_urn

    out = []
    for event in events:
        ok = True
        epcs = {to_epc_urn(e) for e in event["epcList"]}
        when = datetime.fromisoformat(event["eventTime"])
        for name, value in params:
            if name == "MATCH_epc":
                wanted = value.split(",")
                patterns = [w.replace(":idpat:", ":id:")[:-1] for w in wanted if w.endswith("*")]
                ok &= any(e in wanted or any(e.startswith(p) for p in patterns) for e in epcs)
            elif name == "EQ_bizStep":
                ok &= "bizStep" in event and _bare(event["bizStep"]) in {_bare(v) for v in value.split("|")}
            elif name == "GE_eventTime":
                ok &= when >= datetime.fromisoformat(value)
            elif name == "LT_eventTime":
                ok &= when < datetime.fromisoformat(value)
            elif name == "EQ_action":
                ok &= event["action"] == value
        if ok:
            out.append(event["ex:i"])
    return out


@pytest.fixture(scope="module", params=BACKENDS)
def empty_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    for url in _module_store_url(request, tmp_path_factory):
        with open_store(url) as store:
            yield store


RUNS = itertools.count()


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=random_events(), params=random_queries(), per_page=st.integers(1, 4))
def test_sql_equals_python_evaluator(
    empty_store: Store, events: list[dict[str, Any]], params: list[tuple[str, str]], per_page: int
) -> None:
    run_id = next(RUNS)
    for event in events:
        event["ex:run"] = run_id  # each example's events stay apart (and never duplicates of another's)
    capture(empty_store, events)
    scoped = [*params, ("EQ_ex:run", str(run_id))]
    pages = _walk(empty_store, scoped, per_page)
    got = [event["ex:i"] for page in pages for event in page.events]
    assert got == evaluate(events, params), (params, events)


def test_run_query_takes_a_connection_directly(fixture_store: Store) -> None:
    query = parse_query_params([("EQ_action", "ADD")], namespaces=fixture_store.namespaces())
    with fixture_store.engine.connect() as connection:
        page = run_query(connection, query, ADMIN, per_page=2, page_token=None)
        assert tags(page) == ["E1", "E3"] and len(page.event_pks) == 2
        rest = run_query(connection, query, ADMIN, per_page=2, page_token=page.next_page_token)
    assert tags(rest) == ["E7"] and rest.next_page_token is None
