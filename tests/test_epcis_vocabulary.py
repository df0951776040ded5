"""CBV vocabularies and event normalisation (packtrail.epcis.vocabulary).

Oracles, independent of the vendored JSON-LD contexts the module reads:
GS1's CBV ontology (tests/data/epcis/cbv/CBV.ttl: every term with its Web URI and
``owl:sameAs`` URN) and the code-list enums of GS1's ratified JSON Schema.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from packtrail.epcis.jsonld import read_jsonld
from packtrail.epcis.vocabulary import (
    VOCABULARIES,
    is_known,
    normalise_event,
    terms,
    to_bare,
    to_compact,
    to_digital_link,
    to_epc_urn,
    to_urn,
    to_web_uri,
    vocabulary,
)

DATA = Path(__file__).parent / "data" / "epcis"
SCHEMA = (
    Path(__file__).parent.parent
    / "src"
    / "packtrail"
    / "epcis"
    / "data"
    / "schema"
    / "epcis-json-schema.json"
)
EXAMPLES = sorted((DATA / "json-ld" / "gs1").rglob("*.jsonld"))

ONTOLOGY_CLASSES = {
    "BizStep": "bizStep",
    "Disp": "disposition",
    "BTT": "bizTransactionType",
    "SDT": "sourceDestType",
    "ER": "errorReason",
    "Comp": "component",
}
SCHEMA_DEFINITIONS = {
    "bizStep": "bizStep",
    "disposition": "disposition",
    "bizTransaction-type": "bizTransactionType",
    "source-dest-type": "sourceDestType",
    "error-reason": "errorReason",
    "measurementType": "measurementType",
    "sensorAlertType": "sensorAlertType",
    "component": "component",
}


def _ontology() -> dict[str, dict[str, str]]:
    """Per vocabulary: term -> URN, read from CBV.ttl (``cbv:BizStep-x a cbv:BizStep ; owl:sameAs <urn>``)."""
    text = (DATA / "cbv" / "CBV.ttl").read_text(encoding="utf-8")
    found: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n(?=cbv:)", text):
        head = re.match(r"cbv:(\w+)-(\w+)\s+a\s+cbv:(\w+)", block)
        if head is None:
            continue
        prefix, term, cls = head.groups()
        assert prefix == cls
        urn = re.search(r"owl:sameAs\s+<([^>]+)>", block)
        assert urn is not None, block[:80]
        found.setdefault(ONTOLOGY_CLASSES[cls], {})[term] = urn.group(1)
    return found


ONTOLOGY = _ontology()
CBV_CASES = [
    (kind, term, urn, f"https://ref.gs1.org/cbv/{cls}-{term}", f"cbv:{cls}-{term}")
    for cls, kind in ONTOLOGY_CLASSES.items()
    for term, urn in ONTOLOGY[kind].items()
]
GS1_VOC_CASES = [
    (kind, term, f"https://gs1.org/voc/{term}", f"gs1:{term}")
    for kind in ("measurementType", "sensorAlertType")
    for term in terms(kind)
]


def test_the_ontology_was_read() -> None:
    counts = {kind: len(values) for kind, values in ONTOLOGY.items()}
    assert counts == {
        "bizTransactionType": 13,
        "bizStep": 41,
        "disposition": 33,
        "errorReason": 2,
        "sourceDestType": 3,
        "component": 14,
    }


@pytest.mark.parametrize("kind", sorted(ONTOLOGY))
def test_terms_are_the_ontology_terms(kind: str) -> None:
    assert set(terms(kind)) == set(ONTOLOGY[kind])
    assert len(terms(kind)) == len(set(terms(kind)))


@pytest.mark.parametrize(("definition", "kind"), sorted(SCHEMA_DEFINITIONS.items()))
def test_terms_are_the_json_schema_enums(definition: str, kind: str) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    enums = [alt["enum"] for alt in schema["definitions"][definition]["anyOf"] if "enum" in alt]
    assert len(enums) == 1
    assert list(terms(kind)) == enums[0] or set(terms(kind)) == set(enums[0])


@pytest.mark.parametrize(("kind", "term", "urn", "web", "compact"), CBV_CASES)
def test_every_cbv_term_in_every_form(kind: str, term: str, urn: str, web: str, compact: str) -> None:
    for given_form in (term, urn, web, compact):
        assert to_bare(kind, given_form) == term
        assert to_urn(kind, given_form) == urn
        assert to_web_uri(kind, given_form) == web
        assert to_compact(kind, given_form) == compact
        assert is_known(kind, given_form)


@pytest.mark.parametrize(("kind", "term", "web", "compact"), GS1_VOC_CASES)
def test_every_sensor_type_in_every_form(kind: str, term: str, web: str, compact: str) -> None:
    www = web.replace("https://gs1.org/", "https://www.gs1.org/")
    for given_form in (term, web, compact, www):
        assert to_bare(kind, given_form) == term
        assert to_web_uri(kind, given_form) == web
        assert to_urn(kind, given_form) == compact  # no URN exists: the compact name EPCIS XML writes
        assert is_known(kind, given_form)


def test_urn_words_and_web_prefixes_differ_per_vocabulary() -> None:
    prefixes = {name: (v.urn_prefix, v.web_prefix) for name, v in VOCABULARIES.items()}
    assert prefixes == {
        "bizStep": ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
        "disposition": ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
        "bizTransactionType": ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
        "sourceDestType": ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
        "errorReason": ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
        "measurementType": (None, "https://gs1.org/voc/"),
        "sensorAlertType": (None, "https://gs1.org/voc/"),
        "component": ("urn:epcglobal:cbv:comp:", "https://ref.gs1.org/cbv/Comp-"),
    }


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("bizStep", "https://example.com/bizstep/summarising"),
        ("bizStep", "in_transit"),  # a disposition, not a business step
        ("bizStep", "urn:epcglobal:cbv:disp:in_transit"),
        ("disposition", "urn:epcglobal:cbv:bizstep:shipping"),
        ("disposition", "IN_TRANSIT"),
        ("bizTransactionType", "urn:gs1:epcisapp:rail:btt:passage"),
        ("sourceDestType", "http://epcis.example.org/hc/sdt/custodian"),
        ("measurementType", "example:someSensorProperty"),
        ("component", "example:x"),
        ("errorReason", ""),
    ],
)
def test_other_values_pass_through(kind: str, value: str) -> None:
    assert not is_known(kind, value)
    for convert in (to_bare, to_urn, to_web_uri, to_compact):
        assert convert(kind, value) == value


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("bizstep", "bizStep"),
        ("disp", "disposition"),
        ("btt", "bizTransactionType"),
        ("sdt", "sourceDestType"),
        ("er", "errorReason"),
        ("comp", "component"),
        ("MeasurementType", "measurementType"),
        ("alertType", "sensorAlertType"),
    ],
)
def test_vocabulary_aliases(alias: str, name: str) -> None:
    assert vocabulary(alias).name == name
    assert to_bare(alias, vocabulary(name).urn(vocabulary(name).terms[0])) == vocabulary(name).terms[0]


def test_unknown_vocabulary() -> None:
    with pytest.raises(ValueError, match="unknown CBV vocabulary 'colour'"):
        to_bare("colour", "red")


# --- identifiers ----------------------------------------------------------------------------------

IDENTIFIER_PAIRS = [
    ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017"),
    ("urn:epc:id:sgtin:0614141.107346.A%2F1", "https://id.gs1.org/01/10614141073464/21/A%2F1"),
    ("urn:epc:id:sgtin:0614141.107346.a*b", "https://id.gs1.org/01/10614141073464/21/a%2Ab"),
    ("urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908"),
    ("urn:epc:id:sgln:0614141.07346.1234", "https://id.gs1.org/414/0614141073467/254/1234"),
    ("urn:epc:id:sgln:4012345.00001.0", "https://id.gs1.org/414/4012345000016"),
    ("urn:epc:id:grai:0614141.12345.400", "https://id.gs1.org/8003/00614141123452400"),
    ("urn:epc:id:giai:4000001.111", "https://id.gs1.org/8004/4000001111"),
    ("urn:epc:class:lgtin:4012345.012345.998877", "https://id.gs1.org/01/04012345123456/10/998877"),
    ("urn:epc:idpat:sgtin:4012345.098765.*", "https://id.gs1.org/01/04012345987652"),
]


@pytest.mark.parametrize(("urn", "link"), IDENTIFIER_PAIRS)
def test_identifiers_both_ways(urn: str, link: str) -> None:
    assert to_digital_link(urn) == link
    assert to_epc_urn(link) == urn
    assert to_digital_link(link) == link
    assert to_epc_urn(urn) == urn


@pytest.mark.parametrize(
    "value",
    [
        "urn:epc:id:pgln:4012345.00225",  # a scheme packtrail.gs1 does not convert
        "urn:epc:id:gdti:0614141.12345.400",
        "urn:epc:id:sgtin:0614141.10734.2017",  # malformed: item reference too short
        "urn:epc:idpat:sgtin:4012345.*.*",  # many GTINs: no single Digital Link
        "urn:epcglobal:cbv:bt:0614141073467:1152",
        "http://transaction.acme.com/po/12345678",
        "https://id.gs1.org/01/09506000134352/10/L1/21/S1",  # the EPC would lose the lot
        "https://id.gs1.org/01/09506000134352/21/S1?17=270131",  # nor the expiry
        "https://id.gs1.org/01/09506000134353/21/S1",  # bad check digit
        "https://id.gs1.org/417/4012345000016",  # a party GLN: PGLN is not converted
        "https://id.gs1.org/01/01401234567892/21/S1",  # GS1 prefix 140 is unassigned: no company prefix length
        "",
    ],
)
def test_identifiers_that_stay_as_given(value: str) -> None:
    assert to_epc_urn(value) == value
    assert to_digital_link(value) == value


def test_digital_link_on_any_host_becomes_a_urn() -> None:
    assert (
        to_epc_urn("https://id.gs1.de/01/04012345999990/21/XYZ-1234")
        == "urn:epc:id:sgtin:4012345.099999.XYZ-1234"
    )
    assert to_epc_urn("https://id.example.com/8003/040123450007718765").startswith("urn:epc:id:grai:")
    assert to_digital_link("https://id.example.com/8003/040123450007718765") == (
        "https://id.gs1.org/8003/040123450007718765"
    )


def _all_events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for path in EXAMPLES:
        events.extend(read_jsonld(path).events)
    return events


EVENTS = _all_events()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_every_example_identifier_round_trips_through_digital_link() -> None:
    identifiers = {s for e in EVENTS for s in _strings(e) if s.startswith(("urn:epc:id:", "urn:epc:class:"))}
    links = {s for e in EVENTS for s in _strings(e) if s.startswith("https://id.gs1.org/")}
    assert len(identifiers) > 30
    converted = 0
    for link in links:
        urn = to_epc_urn(link)
        assert to_digital_link(urn) == link
    for urn in identifiers:
        link = to_digital_link(urn)
        if link != urn:
            converted += 1
            assert to_digital_link(to_epc_urn(link)) == link
    assert converted > 25


def test_normalise_event_forms_agree() -> None:
    for event in EVENTS:
        before = copy.deepcopy(event)
        bare = normalise_event(event, cbv="bare")
        urn = normalise_event(event, cbv="urn")
        web = normalise_event(event, cbv="web")
        assert event == before  # the input is left alone
        assert normalise_event(urn, cbv="bare") == bare
        assert normalise_event(web, cbv="bare") == bare
        assert normalise_event(bare, cbv="web") == web
        assert normalise_event(event, cbv="keep") == event
        dl = normalise_event(event, cbv="keep", epc="dl")
        assert normalise_event(normalise_event(dl, cbv="keep", epc="urn"), cbv="keep", epc="dl") == dl


def test_normalise_event_reaches_every_cbv_field() -> None:
    event = {
        "type": "ObjectEvent",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "persistentDisposition": {"set": ["completeness_verified"], "unset": ["completeness_inferred"]},
        "errorDeclaration": {"declarationTime": "2020-01-15T00:00:00+01:00", "reason": "incorrect_data"},
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epc:id:gdti:0614141.00001.1618034"}],
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00225"}],
        "destinationList": [{"type": "location", "destination": "urn:epc:id:sgln:0614141.00777.0"}],
        "sensorElementList": [
            {
                "sensorMetadata": {"deviceID": "urn:epc:id:giai:4000001.111"},
                "sensorReport": [{"type": "Temperature", "exception": "ALARM_CONDITION", "component": "x"}],
            }
        ],
        "ilmd": {"cbvmda:lotNumber": "shipping"},
    }
    urn = normalise_event(event, cbv="urn", epc="dl")
    assert urn["bizStep"] == "urn:epcglobal:cbv:bizstep:shipping"
    assert urn["disposition"] == "urn:epcglobal:cbv:disp:in_transit"
    assert urn["persistentDisposition"] == {
        "set": ["urn:epcglobal:cbv:disp:completeness_verified"],
        "unset": ["urn:epcglobal:cbv:disp:completeness_inferred"],
    }
    assert urn["errorDeclaration"]["reason"] == "urn:epcglobal:cbv:er:incorrect_data"
    assert urn["bizTransactionList"][0]["type"] == "urn:epcglobal:cbv:btt:po"
    assert urn["sourceList"][0] == {
        "type": "urn:epcglobal:cbv:sdt:owning_party",
        "source": "urn:epc:id:pgln:4012345.00225",
    }
    assert urn["destinationList"][0] == {
        "type": "urn:epcglobal:cbv:sdt:location",
        "destination": "https://id.gs1.org/414/0614141007776",
    }
    sensor = urn["sensorElementList"][0]
    assert sensor["sensorMetadata"]["deviceID"] == "https://id.gs1.org/8004/4000001111"
    assert sensor["sensorReport"][0] == {
        "type": "gs1:Temperature",
        "exception": "gs1:ALARM_CONDITION",
        "component": "urn:epcglobal:cbv:comp:x",
    }
    assert urn["ilmd"] == {"cbvmda:lotNumber": "shipping"}  # extensions are not CBV fields
    assert normalise_event(urn, cbv="bare", epc="urn") == event


def test_normalise_event_rejects_unknown_forms() -> None:
    with pytest.raises(ValueError, match="cbv should be"):
        normalise_event({}, cbv="uri")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="epc should be"):
        normalise_event({}, epc="gs1")  # type: ignore[arg-type]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    [
        "bizStep",
        "disposition",
        "persistentDisposition",
        "errorDeclaration",
        "bizTransactionList",
        "sourceList",
        "destinationList",
        "sensorElementList",
        "parentID",
        "readPoint",
        "epcList",
        "quantityList",
        "ilmd",
    ]
)


@given(st.dictionaries(FIELDS, JSON, max_size=6), st.sampled_from(["bare", "urn", "web", "keep"]))
def test_normalise_event_takes_any_shape(event: dict[str, Any], cbv: Any) -> None:
    for epc in ("urn", "dl", "keep"):
        out = normalise_event(event, cbv=cbv, epc=epc)
        assert out.keys() == event.keys()
