"""Labels: each pack's GS1 DataMatrix and each logistic unit's GS1-128 SSCC decode back to what was printed."""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packtrail.gs1 import PackIdentifier
from packtrail.gs1.datamatrix import decode
from packtrail.packaging import PackagingError, PackLabel, SSCCLabel
from packtrail.packaging.labels import pack_image_name, write_pack_images

GTIN = "04012345111118"
SSCC_VALUE = "040123450000000016"


@pytest.mark.parametrize("serial", ["100000000001", "AB12cd", "A/1%&x", "Z"])
def test_a_pack_datamatrix_decodes_to_the_same_identifier(serial: str) -> None:
    label = PackLabel.create(GTIN, serial, lot="B42-7", expiry="280200")
    [symbol] = decode(label.png(), pure=True)
    assert symbol.symbology_identifier == "]d2"
    assert symbol.element_string is not None
    assert PackIdentifier.from_element_string(symbol.element_string) == label.identifier
    assert label.identifier.serial == serial and label.identifier.expiry == date(2028, 2, 29)
    assert label.lines == ["PC: 04012345111118", f"SN: {serial}", "LOT: B42-7", "EXP: 2028-02"]
    assert label.svg().startswith("<?xml") and "<svg" in label.svg()


def test_pack_label_json() -> None:
    body = PackLabel.create(GTIN, "1234", lot="B42", expiry=date(2028, 2, 29)).as_json()
    assert body["elementString"] == "(01)04012345111118(17)280229(10)B42(21)1234"
    assert body["sgtin"] == "urn:epc:id:sgtin:4012345.011111.1234"
    assert body["digitalLink"].startswith("https://id.gs1.org/01/04012345111118/10/B42/21/1234")


def test_an_sscc_label_decodes_as_gs1_128() -> None:
    label = SSCCLabel.create(SSCC_VALUE, content="4012345111118", count=10, lot="B42", expiry="280229")
    [symbol] = decode(label.png(), formats=("Code128",))
    assert symbol.symbology_identifier == "]C1"
    assert symbol.element_string is not None and symbol.element_string.pairs == (("00", SSCC_VALUE),)
    [second] = decode(label.data_png(), pure=True)
    assert second.symbology_identifier == "]d2" and second.element_string is not None
    assert second.element_string.pairs == (
        ("00", SSCC_VALUE),
        ("02", GTIN),
        ("17", "280229"),
        ("37", "10"),
        ("10", "B42"),
    )
    assert label.lines == [
        f"SSCC: {SSCC_VALUE}",
        f"CONTENT: {GTIN}",
        "COUNT: 10",
        "BATCH/LOT: B42",
        "EXPIRY: 2028-02-29",
    ]
    assert label.svg().startswith("<?xml")


def test_an_sscc_label_without_content_and_taller_bars() -> None:
    label = SSCCLabel.create(SSCC_VALUE)
    assert label.lines == [f"SSCC: {SSCC_VALUE}"]
    [symbol] = decode(label.data_png(), pure=True)
    assert symbol.element_string is not None and symbol.element_string.pairs == (("00", SSCC_VALUE),)
    [symbol] = decode(label.png(scale=3, height=400), formats=("Code128",))
    assert symbol.element_string is not None and symbol.element_string.raw("00") == SSCC_VALUE
    assert label.as_json()["contentElementString"] is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sscc": "040123450000000017"}, "sscc"),
        ({"sscc": SSCC_VALUE, "count": 5}, "count"),
        ({"sscc": SSCC_VALUE, "content": GTIN, "count": 0}, "count"),
        ({"sscc": SSCC_VALUE, "content": "04012345111117", "count": 5}, "content"),
        ({"sscc": SSCC_VALUE, "content": GTIN, "count": 5, "expiry": "281301"}, "expiry"),
        ({"sscc": SSCC_VALUE, "content": GTIN, "count": 5, "lot": "x" * 21}, "lot"),
    ],
)
def test_bad_sscc_labels_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(PackagingError) as caught:
        SSCCLabel.create(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("04012345111117", "1"), "gtin"),
        ((GTIN, ""), "serial"),
        ((GTIN, "x" * 21), "serial"),
        ((GTIN, "a b"), "serial"),
    ],
)
def test_bad_pack_labels_name_the_field(args: tuple[str, str], field: str) -> None:
    with pytest.raises(PackagingError) as caught:
        PackLabel.create(*args)
    assert caught.value.field == field
    with pytest.raises(PackagingError) as bad_lot:
        PackLabel.create(GTIN, "1", lot="ä")
    assert bad_lot.value.field == "lot"


def test_scale_is_checked() -> None:
    with pytest.raises(PackagingError, match="scale"):
        SSCCLabel.create(SSCC_VALUE).png(scale=0)


@settings(max_examples=80)
@given(
    st.text(max_size=16),
    st.text(max_size=22),
    st.none() | st.text(max_size=22),
    st.none() | st.text(max_size=7),
)
def test_pack_label_input_is_accepted_or_refused_with_a_packaging_error(
    gtin: str, serial: str, lot: str | None, expiry: str | None
) -> None:
    with contextlib.suppress(PackagingError):
        PackLabel.create(gtin, serial, lot=lot, expiry=expiry)


@settings(max_examples=80)
@given(
    st.one_of(st.text(max_size=19), st.just(SSCC_VALUE)),
    st.none() | st.text(max_size=15),
    st.none() | st.integers(min_value=-3, max_value=10**9),
    st.none() | st.text(max_size=22),
    st.none() | st.text(max_size=7),
)
def test_sscc_label_input_is_accepted_or_refused_with_a_packaging_error(
    sscc: str, content: str | None, count: int | None, lot: str | None, expiry: str | None
) -> None:
    try:
        label = SSCCLabel.create(sscc, content=content, count=count, lot=lot, expiry=expiry)
    except PackagingError:
        return
    assert label.lines[0] == f"SSCC: {sscc}"


def test_pack_images_are_named_by_gtin_and_serial(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path)) / "packs"
    assert write_pack_images(folder, GTIN, ["S1", "A/2"], lot="B42", expiry="280229") == 2
    assert sorted(p.name for p in folder.iterdir()) == [pack_image_name(GTIN, "A/2"), f"{GTIN}_S1.png"]
    [symbol] = decode(folder / pack_image_name(GTIN, "A/2"), pure=True)
    assert symbol.element_string is not None and symbol.element_string.raw("21") == "A/2"
