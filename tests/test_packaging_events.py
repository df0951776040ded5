"""The packaging line's EPCIS event builders: every event valid EPCIS 2.0, with the CBV terms a line uses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from packtrail.epcis import validate_events, validate_jsonld_bytes, write_jsonld
from packtrail.packaging import DESTRUCTION_REASONS, PACKTRAIL_NAMESPACE, PackagingError, Place
from packtrail.packaging.events import (
    commissioning,
    destroying,
    document,
    event_time,
    packing,
    partial_case,
    repacking,
    sampling,
    take_samples,
    unpacking,
)

PACKS = [f"urn:epc:id:sgtin:4012345.011111.{n}" for n in range(1001, 1011)]
CASE = "urn:epc:id:sscc:4012345.0000000001"
OTHER_CASE = "urn:epc:id:sscc:4012345.0000000002"
PALLET = "urn:epc:id:sscc:4012345.0000000003"
PLACE = Place.parse("4012345000009", line="L1")
MOMENT = datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=1)))


def assert_valid(events: list[dict[str, object]]) -> None:
    report = validate_events(events)
    assert report.valid, [str(issue) for issue in report.issues]
    assert report.warning_count == 0, [str(issue) for issue in report.issues]
    assert report.events == len(events)


def test_commissioning_is_add_commissioning_active_with_lot_and_expiry() -> None:
    event = commissioning(PACKS, lot="B42", expiry=date(2028, 2, 29), moment=MOMENT, place=PLACE)
    assert_valid([event])
    assert (event["type"], event["action"], event["bizStep"], event["disposition"]) == (
        "ObjectEvent",
        "ADD",
        "commissioning",
        "active",
    )
    assert event["ilmd"] == {"cbvmda:lotNumber": "B42", "cbvmda:itemExpirationDate": "2028-02-29"}
    assert event["readPoint"] == {"id": "urn:epc:id:sgln:4012345.00000.L1"}
    assert event["bizLocation"] == {"id": "urn:epc:id:sgln:4012345.00000.0"}
    assert event["eventTime"] == "2026-03-02T09:30:00.000+01:00"
    assert event["eventTimeZoneOffset"] == "+01:00"


def test_packing_cases_into_pallets() -> None:
    case = packing(CASE, PACKS, moment=MOMENT, place=PLACE)
    pallet = packing(PALLET, [CASE, OTHER_CASE], moment=MOMENT + timedelta(seconds=1), place=PLACE)
    assert_valid([case, pallet])
    assert (case["type"], case["action"], case["bizStep"]) == ("AggregationEvent", "ADD", "packing")
    assert case["parentID"] == CASE and case["childEPCs"] == PACKS
    assert pallet["childEPCs"] == [CASE, OTHER_CASE]


def test_partial_case_says_its_capacity() -> None:
    event = partial_case(CASE, PACKS[:7], capacity=10, moment=MOMENT, place=PLACE)
    assert_valid([event])
    assert event["packtrail:capacity"] == 10 and len(event["childEPCs"]) == 7
    for capacity in (7, 6, 0, True, "10"):
        with pytest.raises(PackagingError) as caught:
            partial_case(CASE, PACKS[:7], capacity=capacity, moment=MOMENT)  # type: ignore[arg-type]
        assert caught.value.field == "capacity"


def test_unpacking_some_or_all_children() -> None:
    some = unpacking(CASE, PACKS[:2], moment=MOMENT, place=PLACE)
    everything = unpacking(CASE, moment=MOMENT)
    assert_valid([some, everything])
    assert (some["action"], some["bizStep"]) == ("DELETE", "unpacking")
    assert some["childEPCs"] == PACKS[:2]
    assert "childEPCs" not in everything and "readPoint" not in everything


def test_repacking_unpacks_then_adds_a_millisecond_later() -> None:
    events = repacking(PACKS[:3], from_parent=CASE, to_parent=OTHER_CASE, moment=MOMENT, place=PLACE)
    assert_valid(events)
    out, into = events
    assert (out["action"], out["bizStep"], out["parentID"]) == ("DELETE", "unpacking", CASE)
    assert (into["action"], into["bizStep"], into["parentID"]) == ("ADD", "repackaging", OTHER_CASE)
    assert out["childEPCs"] == into["childEPCs"] == PACKS[:3]
    assert out["eventTime"] < into["eventTime"]
    with pytest.raises(PackagingError, match="to_parent"):
        repacking(PACKS[:1], from_parent=CASE, to_parent=CASE, moment=MOMENT)


def test_sampling_is_observe_and_not_sellable() -> None:
    event = sampling(PACKS[:1], moment=MOMENT, place=PLACE)
    assert_valid([event])
    assert (event["action"], event["bizStep"], event["disposition"]) == (
        "OBSERVE",
        "sampling",
        "non_sellable_other",
    )


def test_take_samples_out_of_a_case_ends_their_life() -> None:
    events = take_samples(PACKS[:2], moment=MOMENT, place=PLACE, from_parent=CASE)
    assert_valid(events)
    assert [(e["action"], e["bizStep"]) for e in events] == [
        ("DELETE", "unpacking"),
        ("OBSERVE", "sampling"),
        ("DELETE", "destroying"),
    ]
    assert events[-1]["packtrail:destructionReason"] == "sample_tested"
    times = [e["eventTime"] for e in events]
    assert times == sorted(times) and len(set(times)) == 3
    kept = take_samples(PACKS[:2], moment=MOMENT, destroy=False)
    assert [e["bizStep"] for e in kept] == ["sampling"]


@pytest.mark.parametrize("reason", sorted(DESTRUCTION_REASONS))
def test_destroying_with_each_reason(reason: str) -> None:
    event = destroying(PACKS[:2], reason=reason, note="deviation DV-2026-17", moment=MOMENT, place=PLACE)
    assert_valid([event])
    assert (event["action"], event["bizStep"], event["disposition"]) == ("DELETE", "destroying", "destroyed")
    assert event["packtrail:destructionReason"] == reason
    assert event["packtrail:destructionNote"] == "deviation DV-2026-17"


def test_destroying_refuses_an_unknown_reason() -> None:
    with pytest.raises(PackagingError) as caught:
        destroying(PACKS[:1], reason="fell off the truck", moment=MOMENT)
    assert caught.value.field == "reason" and "damaged" in str(caught.value)


def test_empty_lists_and_naive_times_are_refused() -> None:
    with pytest.raises(PackagingError, match="epcs"):
        commissioning([], lot="B", expiry=date(2028, 1, 1), moment=MOMENT)
    with pytest.raises(PackagingError, match="children"):
        packing(CASE, [], moment=MOMENT)
    with pytest.raises(PackagingError, match="event_time"):
        sampling(PACKS[:1], moment=datetime(2026, 3, 2, 9, 30))


def test_a_document_declares_the_packtrail_namespace_and_validates_as_json_ld() -> None:
    events = [
        commissioning(PACKS, lot="B42", expiry=date(2028, 2, 29), moment=MOMENT, place=PLACE),
        partial_case(CASE, PACKS, capacity=12, moment=MOMENT + timedelta(seconds=1), place=PLACE),
        destroying(PACKS[:1], reason="damaged", moment=MOMENT + timedelta(seconds=2), place=PLACE),
    ]
    doc = document(events, creation_date=MOMENT)
    data = write_jsonld(doc)
    top = orjson.loads(data)
    assert {"packtrail": PACKTRAIL_NAMESPACE} in top["@context"]
    assert top["creationDate"] == "2026-03-02T09:30:00.000+01:00"
    report = validate_jsonld_bytes(data)
    assert report.valid, [str(issue) for issue in report.issues]


def test_place_from_gln_sgln_and_line_name() -> None:
    assert Place.parse("4012345000009") == Place(
        "urn:epc:id:sgln:4012345.00000.0", "urn:epc:id:sgln:4012345.00000.0"
    )
    line = Place.parse("urn:epc:id:sgln:4012345.00000.PACK7")
    assert (line.read_point, line.biz_location, line.gln) == (
        "urn:epc:id:sgln:4012345.00000.PACK7",
        "urn:epc:id:sgln:4012345.00000.0",
        "4012345000009",
    )
    assert Place.parse("4012345000009", line="L1").read_point.endswith(".L1")
    for bad, line_name in (
        ("4012345000008", None),
        ("urn:epc:id:sgln:4012345.00000.X", "L1"),
        ("4012345000009", ""),
    ):
        with pytest.raises(PackagingError) as caught:
            Place.parse(bad, line=line_name)
        assert caught.value.field == "line"


@given(st.text(max_size=40), st.none() | st.text(max_size=25))
def test_place_parse_raises_only_packaging_errors(site: str, line: str | None) -> None:
    try:
        place = Place.parse(site, line=line)
    except PackagingError:
        return
    assert place.read_point.startswith("urn:epc:id:sgln:")


@given(st.integers(min_value=-14 * 60, max_value=14 * 60), st.datetimes(min_value=datetime(2000, 1, 1)))
def test_event_times_in_any_zone_validate(minutes: int, moment: datetime) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    fields = event_time(aware)
    assert datetime.fromisoformat(fields["eventTime"]).utcoffset() == timedelta(minutes=minutes)
    assert_valid([sampling(PACKS[:1], moment=aware)])


def test_utc_is_written_as_plus_zero_and_odd_offsets_are_refused() -> None:
    assert event_time(datetime(2026, 1, 1, tzinfo=UTC))["eventTimeZoneOffset"] == "+00:00"
    with pytest.raises(PackagingError, match="whole minutes"):
        event_time(datetime(2026, 1, 1, tzinfo=timezone(timedelta(seconds=30))))
