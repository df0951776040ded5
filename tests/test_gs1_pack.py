"""The pack identifier and the single entry point for scanned text."""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from packtrail.gs1 import GLN, GTIN, SSCC, GS1Error, PackIdentifier, check_key, normalize_gtin, parse_barcode
from packtrail.gs1.checkdigit import gs1_check_digit

SERIAL_CHARS = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


def test_every_form_gives_the_same_pack() -> None:
    scanner = "]d201095060001343521727010010ABC123\x1d21SERIAL0001\r\n"
    bracketed = "(01)09506000134352(17)270100(10)ABC123(21)SERIAL0001"
    link = "https://id.gs1.org/01/09506000134352/10/ABC123/21/SERIAL0001?17=270100"
    packs = {PackIdentifier.parse(text) for text in (scanner, bracketed, link)}
    assert len(packs) == 1
    pack = packs.pop()
    assert pack.expiry == date(2027, 1, 31)  # day 00 = last day of the month
    assert pack.expiry_raw == "270100"
    assert pack.is_complete_unique_identifier


def test_create_validates_and_orders() -> None:
    pack = PackIdentifier.create(
        "9506000134352", "S1", lot="L1", expiry=date(2028, 2, 29), nhrn=[("711", "CIP7")]
    )
    assert pack.gtin == "09506000134352"
    assert pack.element_string().bracketed().startswith("(01)")
    with pytest.raises(GS1Error, match="check digit"):
        PackIdentifier.create("09506000134353", "S1")


def test_sgtin_needs_serial_and_known_prefix() -> None:
    assert PackIdentifier.parse("(01)09506000134352(10)L1").sgtin is None
    pack = PackIdentifier.parse("(01)80614141123458(21)6789")
    assert pack.sgtin_with_prefix_length(7) == "urn:epc:id:sgtin:0614141.812345.6789"


def test_sscc_label() -> None:
    pack = PackIdentifier.parse("]C100106141412345678908")
    assert pack.sscc == "106141412345678908"
    assert pack.gtin is None


def test_digital_link_warnings_reach_the_element_string() -> None:
    elements = parse_barcode("https://id.gs1.org/01/9506000134352/21/S1", strict=False)
    assert elements.pairs == (("01", "09506000134352"), ("21", "S1"))
    assert any("padded" in w for w in elements.warnings)


def test_keys() -> None:
    assert GTIN.parse("614141000036").gtin14 == "00614141000036"
    assert normalize_gtin("96385074") == "00000096385074"
    assert SSCC.parse("106141412345678908").value == "106141412345678908"
    assert GLN.parse("0614141000036").value == "0614141000036"
    for bad in ("0614141000037", "61414100003", "ABCDEFGHIJKLM"):
        with pytest.raises(GS1Error):
            GLN.parse(bad)
    assert check_key("8017", "123456789012345675") == "123456789012345675"


@given(
    body=st.text(alphabet="0123456789", min_size=12, max_size=12),
    serial=st.text(alphabet=SERIAL_CHARS, min_size=1, max_size=20),
    lot=st.text(alphabet=SERIAL_CHARS, min_size=1, max_size=20),
)
def test_pack_round_trips_through_every_form(body: str, serial: str, lot: str) -> None:
    gtin = "0" + body + gs1_check_digit("0" + body)
    pack = PackIdentifier.create(gtin, serial, lot=lot, expiry="301231")
    assert PackIdentifier.parse(pack.digital_link) == pack
    assert PackIdentifier.parse(pack.element_string().scan_data()) == pack
    assert PackIdentifier.parse(pack.element_string().bracketed()) == pack


@given(st.text(max_size=60))
def test_parse_barcode_raises_only_gs1error(text: str) -> None:
    with contextlib.suppress(GS1Error):
        parse_barcode(text)


@given(st.text(max_size=24))
def test_key_parsers_raise_only_gs1error(text: str) -> None:
    for parse in (GTIN.parse, SSCC.parse, GLN.parse, normalize_gtin):
        with contextlib.suppress(GS1Error):
            parse(text)


@given(st.text(alphabet="0123456789", min_size=7, max_size=17), st.sampled_from([8, 12, 13, 14, 18]))
def test_keys_with_a_computed_check_digit_parse(body: str, length: int) -> None:
    digits = (body * 3)[: length - 1]
    key = digits + gs1_check_digit(digits)
    if length == 18:
        assert SSCC.parse(key).value == key
    else:
        assert GTIN.parse(key).gtin14 == key.zfill(14)
    if length == 13:
        assert GLN.parse(key).value == key
    wrong = key[:-1] + str((int(key[-1]) + 1) % 10)
    with pytest.raises(GS1Error, match="check digit"):
        (SSCC.parse if length == 18 else GTIN.parse)(wrong)
