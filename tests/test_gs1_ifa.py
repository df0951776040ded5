"""IFA-coded packs (ISO/IEC 15434 format 06, PPN): parsing, check digits, fuzzing."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from packtrail.gs1 import GS1Error, PackIdentifier
from packtrail.gs1.ifa import PPN, IFAMessage

RS, GS, EOT = "\x1e", "\x1d", "\x04"


def envelope(*fields: str) -> str:
    return "]d1[)>" + RS + "06" + GS + GS.join(fields) + RS + EOT


def test_securpharm_pack() -> None:
    message = IFAMessage.parse(envelope("9N110375286414", "1TABC123", "D270100", "SSERIAL1"))
    assert message.ppn == "110375286414"
    pack = PackIdentifier.from_ifa(message)
    assert pack.product_code_scheme == "PPN"
    assert pack.expiry is not None and pack.expiry.isoformat() == "2027-01-31"
    assert pack.is_complete_unique_identifier
    assert pack.sgtin is None
    with pytest.raises(GS1Error, match="no GS1 element string form"):
        pack.element_string()


def test_gtin_instead_of_ppn_and_production_date() -> None:
    message = IFAMessage.parse(envelope("8P09506000134352", "16D20250131", "SX"))
    pack = PackIdentifier.from_ifa(message)
    assert pack.gtin == "09506000134352"
    assert pack.product_code_scheme == "GTIN"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        (("9N110375286415",), "check digits should be 14"),
        (("1TABC",), "needs a product code"),
        (("9N110375286414", "D271301"), "expiry (D)"),
        (("9N110375286414", "S" + "A" * 21), "at most 20"),
        (("9N110375286414", "SA B"), "not allowed"),
        (("9N110375286414", "ZZ1"), "unknown Data Identifier"),
        (("9N110375286414", "SA", "SB"), "appears twice"),
    ],
)
def test_errors_name_the_field(fields: tuple[str, ...], words: str) -> None:
    with pytest.raises(GS1Error, match=re.escape(words)):
        IFAMessage.parse(envelope(*fields))


def test_missing_trailer_and_serial_are_warnings() -> None:
    message = IFAMessage.parse("[)>" + RS + "06" + GS + "9N110375286414" + GS + "1TL")
    assert any("trailer" in w for w in message.warnings)
    assert any("serial" in w for w in message.warnings)


def test_pzn_and_ntin() -> None:
    assert PPN.from_pzn("03752864").value == "110375286414"
    with pytest.raises(GS1Error, match="PZN check digit"):
        PPN.from_pzn("03752865")
    ntin = PPN.parse("110375286414").ntin
    assert ntin is not None and ntin.startswith("04150") and len(ntin) == 14


@given(pzn7=st.text(alphabet="0123456789", min_size=7, max_size=7))
def test_ppn_from_any_valid_pzn_round_trips(pzn7: str) -> None:
    check = sum(int(d) * w for w, d in enumerate(pzn7, start=1)) % 11
    if check == 10:
        return
    ppn = PPN.from_pzn(pzn7 + str(check))
    assert PPN.parse(ppn.value) == ppn
    assert ppn.pzn == pzn7 + str(check)


@given(st.text(max_size=60))
def test_random_text_raises_only_gs1error(text: str) -> None:
    with contextlib.suppress(GS1Error):
        IFAMessage.parse("[)>" + RS + "06" + GS + text)
    with contextlib.suppress(GS1Error):
        PackIdentifier.parse(text)
