"""A packaging line run into the store: the events a line reports, every pack commissioned and packed once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packtrail.epcis import EPCISDocument, validate_events
from packtrail.gs1 import SSCC, SSCCURI, gtin_serial_from_sgtin
from packtrail.gs1.datamatrix import decode
from packtrail.packaging import LineCaptureError, PackagingError, PackagingLine, Place
from packtrail.packaging.events import destroying, document
from packtrail.packaging.labels import pack_image_name
from packtrail.packaging.node import CaptureOutcome, SerialBatch
from packtrail.serials import SerialService
from packtrail.store import Store, Viewer, open_store, parse_query_params

GTIN = "04012345111118"
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def all_events(store: Store, params: list[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    query = parse_query_params(params or [], namespaces=store.namespaces())
    events: list[dict[str, Any]] = []
    token = None
    while True:
        page = store.query_events(query, Viewer.admin(), per_page=10_000, page_token=token)
        events.extend(page.events)
        token = page.next_page_token
        if token is None:
            return events


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


def test_a_run_of_1005_packs_stores_every_pack_once_in_cases_and_pallets(store: Store) -> None:
    line = PackagingLine(store, GTIN, "B42", "280229", "4012345000009", 10, 20, line_name="L1", start=START)
    run = line.run(1005)
    line.close()  # the line did not open the store: it stays open
    assert (run.packs, run.cases, run.pallets) == (1005, 101, 6)
    assert (run.events, run.captured, run.duplicates, run.commissioning_events) == (208, 208, 0, 101)
    assert len(set(run.serials)) == 1005

    events = all_events(store)
    assert len(events) == 208
    report = validate_events(events)
    assert report.valid, [str(issue) for issue in report.issues[:5]]
    kinds = Counter((e["type"], e["action"], e["bizStep"]) for e in events)
    assert kinds == {
        ("ObjectEvent", "ADD", "commissioning"): 101,
        ("AggregationEvent", "ADD", "packing"): 107,
    }

    commissioned = Counter(epc for e in events if e["type"] == "ObjectEvent" for epc in e["epcList"])
    for event in events:
        if event["type"] == "ObjectEvent":
            assert event["disposition"] == "active"
            assert event["ilmd"] == {"cbvmda:lotNumber": "B42", "cbvmda:itemExpirationDate": "2028-02-29"}
            assert event["readPoint"] == {"id": "urn:epc:id:sgln:4012345.00000.L1"}
            assert event["bizLocation"] == {"id": "urn:epc:id:sgln:4012345.00000.0"}
    assert set(commissioned.values()) == {1} and len(commissioned) == 1005
    assert sorted(gtin_serial_from_sgtin(epc)[1] for epc in commissioned) == sorted(run.serials)
    assert {gtin_serial_from_sgtin(epc)[0] for epc in commissioned} == {GTIN}

    aggregations = [e for e in events if e["type"] == "AggregationEvent"]
    cases = {e["parentID"]: e for e in aggregations if e["childEPCs"][0].startswith("urn:epc:id:sgtin:")}
    pallets = {e["parentID"]: e for e in aggregations if e["childEPCs"][0].startswith("urn:epc:id:sscc:")}
    assert len(cases) == 101 and len(pallets) == 6
    packed = Counter(epc for e in cases.values() for epc in e["childEPCs"])
    assert packed == commissioned  # every pack in exactly one case
    palletised = Counter(epc for e in pallets.values() for epc in e["childEPCs"])
    assert set(palletised) == set(cases) and set(palletised.values()) == {1}

    ssccs = [SSCCURI.parse(uri).sscc for uri in [*cases, *pallets]]
    assert len(set(ssccs)) == 107 and all(SSCC.parse(s) for s in ssccs)
    assert ssccs == run.case_ssccs() + run.pallet_ssccs()

    partial = [e for e in aggregations if "packtrail:capacity" in e]
    assert [(len(e["childEPCs"]), e["packtrail:capacity"]) for e in partial] == [(5, 10), (1, 20)]
    assert run.case_serials(100) == run.serials[1000:]

    # Time order: each pack's commissioning before its case, each case before its pallet.
    when = {e["parentID"]: e["eventTime"] for e in aggregations}
    first_commissioning = min(e["eventTime"] for e in events if e["type"] == "ObjectEvent")
    assert first_commissioning == run.first_event_time == "2026-03-02T06:00:02.000+00:00"
    for pallet, event in pallets.items():
        assert all(when[case] < when[pallet] for case in event["childEPCs"])

    report_serials = SerialService(store).report(GTIN)
    assert [(r.to_gln, r.issued) for r in report_serials.recipients] == [("4012345000009", 1005)]


def test_two_runs_never_share_a_serial_or_an_sscc(store: Store) -> None:
    with PackagingLine(store, GTIN, "B43", date(2028, 3, 31), case_size=6, cases_per_pallet=2) as line:
        first = line.run(40)
        second = line.run(40)
    assert not set(first.serials) & set(second.serials)
    units = first.case_ssccs() + first.pallet_ssccs() + second.case_ssccs() + second.pallet_ssccs()
    assert len(units) == len(set(units)) == 2 * (7 + 4)
    assert first.expiry == "280331" and len(all_events(store)) == 2 * (7 + 7 + 4)


def test_one_commissioning_event_per_pack(store: Store) -> None:
    with PackagingLine(
        store, GTIN, "B44", "280229", case_size=4, cases_per_pallet=3, commission_batch=1
    ) as line:
        run = line.run(25)
    assert (run.cases, run.pallets, run.commissioning_events, run.events) == (7, 3, 25, 25 + 7 + 3)
    events = all_events(store, [("EQ_bizStep", "commissioning")])
    assert len(events) == 25 and {len(e["epcList"]) for e in events} == {1}


def test_documents_are_split_and_a_destroying_reason_is_queryable(store: Store) -> None:
    with PackagingLine(store, GTIN, "B45", "280229", case_size=5, events_per_capture=7, start=START) as line:
        run = line.run(50)
    assert len(run.capture_ids) == 3 and run.events == 10 + 10 + 1
    victim = f"urn:epc:id:sgtin:4012345.011111.{run.serials[0]}"
    later = START + timedelta(days=1)
    result = store.capture(document([destroying([victim], reason="damaged", moment=later)]))
    assert result.success and result.captured == 1
    found = all_events(store, [("EQ_packtrail:destructionReason", "damaged")])
    assert [e["epcList"] for e in found] == [[victim]]
    assert all_events(store, [("EQ_https://ns.packtrail.dev/epcis/#destructionReason", "expired")]) == []


def test_pack_images_decode_to_the_packs(tmp_path: Path) -> None:
    with PackagingLine(f"sqlite:///{tmp_path}/line.db", GTIN, "B46", "280200", case_size=3) as line:
        run = line.run(7, images=tmp_path / "images")
    assert run.images == 7 and len(list((tmp_path / "images").iterdir())) == 7
    for serial in run.serials[:3]:
        [symbol] = decode(tmp_path / "images" / pack_image_name(GTIN, serial), pure=True)
        assert symbol.element_string is not None
        assert symbol.element_string.bracketed() == f"(01){GTIN}(17)280200(10)B46(21){serial}"


class _RefusingSink:
    """A repository that refuses every document (to see the line report it)."""

    def __init__(self, store: Store) -> None:
        self.serials = SerialService(store)

    def allocate_serials(self, gtin: str, count: int, to_gln: str) -> SerialBatch:
        allocation = self.serials.allocate(gtin, count, to_gln)
        return SerialBatch([allocation.id], allocation.serials)

    def capture(self, doc: EPCISDocument) -> CaptureOutcome:
        return CaptureOutcome("c1", False, 0, 0, ["Invalid EPCIS at /epcisBody/eventList/0: no"])


def test_a_refused_document_raises_with_the_reasons(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/line.db") as store:
        line = PackagingLine(store, GTIN, "B47", "280229", node=_RefusingSink(store))
        with pytest.raises(LineCaptureError) as caught:
            line.run(5)
    assert caught.value.captured == 0 and "eventList/0" in str(caught.value)


def test_a_line_over_http_takes_serials_from_the_node_and_captures_there(
    tmp_path: Path, store: Store
) -> None:
    from fastapi.testclient import TestClient

    from packtrail.api.app import create_app
    from packtrail.packaging import NodeClient

    key = store.add_party("4012345000009", "Brand owner")
    with (
        TestClient(create_app(store)) as http,
        NodeClient("http://testserver/epcis", key=key, client=http) as node,
        PackagingLine(f"sqlite:///{tmp_path}/line.db", GTIN, "B48", "280229", case_size=5, node=node) as line,
    ):
        run = line.run(12)
    assert (run.cases, run.pallets, run.captured) == (3, 1, 3 + 3 + 1)
    assert SerialService(store).report(GTIN).issued == 12
    events = all_events(store)
    assert len(events) == 7
    epcs = {epc for e in events for epc in e.get("epcList", [])}
    assert {gtin_serial_from_sgtin(epc)[1] for epc in epcs} == set(run.serials)
    with open_store(f"sqlite:///{tmp_path}/line.db") as local:  # the SSCCs came from the line's register
        assert all_events(local) == []


def test_a_node_that_refuses_the_key_is_a_node_error(store: Store, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from packtrail.api.app import create_app
    from packtrail.packaging import NodeClient, NodeError

    with (
        TestClient(create_app(store)) as http,
        NodeClient("http://testserver", key="wrong", client=http) as node,
        PackagingLine(f"sqlite:///{tmp_path}/line.db", GTIN, "B49", "280229", node=node) as line,
        pytest.raises(NodeError, match="401"),
    ):
        line.run(3)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"gtin": "04012345111117"}, "gtin"),
        ({"gtin": "123"}, "gtin"),
        ({"lot": "x" * 21}, "lot"),
        ({"lot": "B 42"}, "lot"),
        ({"expiry": "281301"}, "expiry"),
        ({"expiry": "2802"}, "expiry"),
        ({"line": "4012345000008"}, "line"),
        ({"case_size": 0}, "case_size"),
        ({"cases_per_pallet": 10_001}, "cases_per_pallet"),
        ({"commission_batch": 11}, "commission_batch"),
        ({"sscc_prefix": "12345"}, "sscc_prefix"),
        ({"extension_digit": "x"}, "extension_digit"),
        ({"extension_digit": "\u0663"}, "extension_digit"),
        ({"lot": None}, "lot"),
        ({"expiry": None}, "expiry"),
        ({"packs_per_minute": 0}, "packs_per_minute"),
        ({"start": datetime(2026, 1, 1)}, "start"),
        ({"company_prefix_length": 5}, "company_prefix_length"),
        ({"gtin": "02012345000018"}, "company_prefix_length"),
        ({"events_per_capture": 0}, "events_per_capture"),
    ],
)
def test_bad_line_settings_name_the_field(kwargs: dict[str, Any], field: str, tmp_path: Path) -> None:
    settings_: dict[str, Any] = {"gtin": GTIN, "lot": "B42", "expiry": "280229"}
    settings_.update(kwargs)
    with pytest.raises(PackagingError) as caught:
        PackagingLine(f"sqlite:///{tmp_path}/never.db", **settings_)
    assert caught.value.field == field
    assert not (tmp_path / "never.db").exists()  # refused before the store was opened


def test_run_refuses_a_bad_pack_count(tmp_path: Path) -> None:
    with PackagingLine(f"sqlite:///{tmp_path}/line.db", GTIN, "B42", "280229") as line:
        for bad in (0, -1, 10_000_001, True):
            with pytest.raises(PackagingError, match="packs"):
                line.run(bad)


def test_the_default_place_is_the_brand_owners_gln() -> None:
    assert Place.parse("4012345000009").gln == "4012345000009"


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path_factory.mktemp('line')}/line.db") as opened:
        yield opened


@settings(max_examples=60)
@given(
    gtin=st.one_of(st.text(max_size=15), st.just(GTIN)),
    lot=st.one_of(st.text(max_size=22), st.just("B42")),
    expiry=st.one_of(st.text(max_size=7), st.from_regex(r"[0-9]{6}", fullmatch=True)),
    case_size=st.integers(min_value=-2, max_value=12),
    extension_digit=st.one_of(st.text(max_size=2), st.just("0")),
    line=st.one_of(st.none(), st.text(max_size=20), st.just("urn:epc:id:sgln:4012345.00000.L7")),
)
def test_any_line_settings_are_accepted_or_refused_with_a_packaging_error(
    shared_store: Store,
    gtin: str,
    lot: str,
    expiry: str,
    case_size: int,
    extension_digit: str,
    line: str | None,
) -> None:
    try:
        made = PackagingLine(
            shared_store, gtin, lot, expiry, line, case_size=case_size, extension_digit=extension_digit
        )
    except PackagingError:
        return
    assert made.expiry == expiry and made.lot == lot and made.case_size == case_size
    assert made.place.read_point.startswith("urn:epc:id:sgln:") and made.extension_digit in "0123456789"
