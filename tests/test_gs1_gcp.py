"""GS1 Company Prefix length lookup (packtrail.gs1.gcp) against the vendored GS1 list."""

from __future__ import annotations

import lzma
import random
import subprocess
import sys
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from packtrail.gs1 import gcp
from packtrail.gs1.checkdigit import gs1_check_digit
from packtrail.gs1.errors import GS1Error
from packtrail.gs1.gcp import GCP_LIST_DATE, company_prefix_length, company_prefix_length_at


def _rows() -> list[tuple[str, int]]:
    raw = resources.files("packtrail.gs1").joinpath("data", f"gcp-length-{GCP_LIST_DATE}.csv.xz").read_bytes()
    lines = lzma.decompress(raw).decode("ascii").splitlines()
    assert lines[0] == "prefix,gcp_length"
    return [(p, int(n)) for p, n in (line.split(",") for line in lines[1:])]


ROWS = _rows()


def test_vendored_list_is_the_documented_one() -> None:
    # NOTICE.gcp-length.md: 170,843 rows, lengths 0 (no company prefix) or 6..12.
    assert len(ROWS) == 170_843
    assert {n for _, n in ROWS} == {0, 6, 7, 8, 9, 10, 11, 12}
    prefixes = [p for p, _ in ROWS]
    assert prefixes == sorted(prefixes)
    assert all(p.isdigit() and 3 <= len(p) <= 12 for p in prefixes)
    # A company prefix is never shorter than the range that announces it.
    assert all(n == 0 or n >= len(p) for p, n in ROWS)


def test_list_is_prefix_free() -> None:
    # The longest-match rule then has exactly one candidate per key.
    listed = {p for p, _ in ROWS}
    assert not [p for p in listed if any(p[:n] in listed for n in range(3, len(p)))]


def test_list_is_loaded_on_first_use_not_at_import() -> None:
    code = (
        "import packtrail.gs1.gcp as g; assert g._table is None; "
        "g.company_prefix_length('80614141123458'); assert g._table is not None"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("gtin", "expected"),
    [
        ("80614141123458", 7),  # GTIN-14 (TDS example): indicator 8 dropped
        ("00614141123452", 7),
        ("0614141123452", 7),  # its GTIN-13 form
        ("614141123452", 7),  # ... and GTIN-12 form (left-padded to 13)
        ("7044610873466", 6),  # GS1 Norway
        ("09506000134352", 11),  # GS1 Global Office example range
        ("036000291452", 7),  # GTIN-12 (U.P.C.)
        ("4006381333931", 7),
        ("3400930000000", 12),
        ("0300090000000", 6),
        ("12345670", 7),  # GTIN-8, padded to 0000012345670
        ("2001234567893", 0),  # restricted circulation: no company prefix
        ("9780306406157", 0),  # ISBN (Bookland)
        ("0501234567896", 0),  # coupon range 05
        ("7612345678900", None),  # Switzerland: not in the list
        ("1001234567893", None),
    ],
)
def test_gtin_lookup(gtin: str, expected: int | None) -> None:
    assert company_prefix_length(gtin) == expected


def test_every_listed_range_answers_its_own_length() -> None:
    rng = random.Random(20251011)
    for prefix, length in rng.sample(ROWS, 3000):
        gtin13 = prefix + "".join(rng.choice("0123456789") for _ in range(12 - len(prefix)))
        gtin13 += gs1_check_digit(gtin13)
        assert company_prefix_length(gtin13) == length, gtin13
        indicator = rng.choice("012345678")
        assert company_prefix_length(indicator + gtin13) == length
        assert company_prefix_length_at(indicator + gtin13, position=2) == length
        assert company_prefix_length_at(gtin13, position=1) == length


def test_position_helper_for_other_keys() -> None:
    assert company_prefix_length_at("106141412345678908", position=2) == 7  # SSCC
    assert company_prefix_length_at("0614141123452") == 7  # GLN
    assert company_prefix_length_at("00614141123452400", position=2) == 7  # AI (8003) GRAI
    assert company_prefix_length_at("061414112345400") == 7  # GIAI, all digits
    assert company_prefix_length_at("0614141ABC-42") == 7  # GIAI: letters follow the prefix
    assert company_prefix_length_at("061414") == 7  # enough digits to reach the listed range
    assert company_prefix_length_at("00000") is None  # too few digits to reach a listed range
    assert company_prefix_length_at("2012345678901") == 0


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("061414112", "expected a GTIN of 8, 12, 13 or 14 digits, found 9 characters"),
        ("", "found 0 characters"),
        ("80614141123A58", "expected a GTIN of digits only"),
        ("８0614141123458", "expected a GTIN of digits only"),  # fullwidth digit
    ],
)
def test_gtin_lookup_rejects_non_gtins(key: str, message: str) -> None:
    with pytest.raises(GS1Error, match=message):
        company_prefix_length(key)


def test_position_helper_rejects_bad_input() -> None:
    with pytest.raises(GS1Error, match="position 1 or 2"):
        company_prefix_length_at("0614141123452", position=3)
    with pytest.raises(GS1Error, match="expected the company prefix digits at position 2, found 'X'"):
        company_prefix_length_at("1X614141234567890", position=2)
    with pytest.raises(GS1Error, match="found the end of the key"):
        company_prefix_length_at("1", position=2)


def test_agrees_with_biip() -> None:
    # biip (jodal/biip) carries the same GS1 list; it answers None for both 0 and unknown.
    biip_prefixes = pytest.importorskip("biip.gs1_prefixes")
    rng = random.Random(7)
    for _ in range(3000):
        body = "".join(rng.choice("0123456789") for _ in range(12))
        gtin13 = body + gs1_check_digit(body)
        ours = company_prefix_length(gtin13)
        theirs = biip_prefixes.GS1CompanyPrefix.extract(gtin13)
        assert (len(theirs.value) if theirs else None) == (ours or None), gtin13


def test_repeated_keys_are_cached() -> None:
    gcp._lookup.cache_clear()
    for _ in range(3):
        assert company_prefix_length("80614141123458") == 7
    info = gcp._lookup.cache_info()
    assert info.hits == 2 and info.misses == 1


@given(st.text(max_size=20))
def test_any_text_gives_an_answer_or_gs1error(text: str) -> None:
    for call in (
        lambda: company_prefix_length(text),
        lambda: company_prefix_length_at(text, 1),
        lambda: company_prefix_length_at(text, 2),
    ):
        try:
            result = call()
        except GS1Error:
            continue
        assert result is None or result == 0 or 6 <= result <= 12
