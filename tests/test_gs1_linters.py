"""Tests for packtrail.gs1.linters.

Most vectors are the pass/fail cases of GS1's reference linters (gs1/gs1-syntax-engine,
src/c-lib/syntax/lint_*.c unit tests, Apache-2.0), restated here as data.
"""

from __future__ import annotations

import calendar
import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import packtrail.gs1.linters as linters_module
from packtrail.gs1.checkdigit import CSET82
from packtrail.gs1.errors import GS1Error
from packtrail.gs1.linters import LINTERS, dictionary_linter_names, gs1_date, lint

DICTIONARY = Path(linters_module.__file__).parent / "data" / "gs1-syntax-dictionary.txt"

BRIEF_NAMES = {
    "csum",
    "csumalpha",
    "gcppos1",
    "gcppos2",
    "hasnondigit",
    "hh",
    "hhmi",
    "hyphen",
    "iban",
    "importeridx",
    "iso3166",
    "iso3166999",
    "iso3166alpha2",
    "iso4217",
    "iso5218",
    "latitude",
    "longitude",
    "mediatype",
    "mi",
    "nonzero",
    "nozeroprefix",
    "packagetype",
    "pcenc",
    "pieceoftotal",
    "posinseqslash",
    "ss",
    "winding",
    "yesno",
    "yymmd0",
    "yymmdd",
    "yyyymmdd",
    "zero",
    "couponcode",
    "couponposoffer",
}


# --------------------------------------------------------------------------- registry


def test_every_linter_in_the_dictionary_is_implemented() -> None:
    used = dictionary_linter_names(DICTIONARY.read_text(encoding="utf-8"))
    assert used == BRIEF_NAMES
    assert used <= LINTERS.keys()
    assert set(LINTERS) == used  # nothing dead either


def test_dictionary_linter_names_reads_component_specs_only() -> None:
    text = (
        "# 01 comment N14,nosuch\n"
        "8006  ?  N14,csum,gcppos2 N4,pieceoftotal  ex=01,37 dlpkey=22,10,21  # ITIP\n"
        "8008  ?  N6,yymmdd N2,hh [N2],mi [N2],ss   req=01,02  # PROD TIME\n"
        "4330  ?  N6 [X1],hyphen  req=00 ex=4331\n"
    )
    assert dictionary_linter_names(text) == {
        "csum",
        "gcppos2",
        "pieceoftotal",
        "yymmdd",
        "hh",
        "mi",
        "ss",
        "hyphen",
    }


def test_unknown_linter_name_raises_value_error() -> None:
    with pytest.raises(ValueError, match="unknown GS1 linter 'csumx'"):
        lint("csumx", "1")


def test_code_list_sizes() -> None:
    data = DICTIONARY.parent
    sizes = {}
    for path in sorted(data.glob("linter-*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        codes = [line for line in lines if line and not line.startswith("#")]
        assert len(codes) == len(set(codes)), path.name
        sizes[path.name] = len(codes)
    assert sizes == {
        "linter-iso3166-alpha2.txt": 249,
        "linter-iso3166-numeric.txt": 249,
        "linter-iso4217-numeric.txt": 179,
        "linter-mediatype.txt": 30,
        "linter-packagetype.txt": 431,
    }


# --------------------------------------------------------------------------- pass / fail vectors

VALID: dict[str, list[str]] = {
    "csum": [
        "0",
        "02345673",
        "416000336108",
        "1234567890128",
        "12345678901231",
        "123456789012345675",
        "09506000134352",
    ],
    "csumalpha": [
        "22",
        "!22",
        "!!22",
        "1987654Ad4X4bL5ttr2310c2K",
        "12345678901234567890123NT",
        "12345_ABCDEFGHIJKLMCP",
        "12345_NOPQRSTUVWXYZDN",
        "12345_abcdefghijklmN3",
        "12345_nopqrstuvwxyzP2",
        "12345_!\"%&'()*+,-./LC",
        "12345_0123456789:;<=>?62",
        "7907665Bm8v2AB",
        "97850l6KZm0yCD",
        "225803106GSpEF",
        "149512464PM+GH",
        "62577B8fRG7HJK",
        "515942070CYxLM",
        "390800494sP6NP",
        "386830132uO+QR",
        "53395376X1:nST",
        "957813138Sb6UV",
        "530790no0qOgWX",
        "62185314IvwmYZ",
        "23956qk1&dB!23",
        "794394895ic045",
        "57453Uq3qA<H67",
        "0881063PhHvY89",
        "00000!HV",
        "99999zzzzzzzzzzzzzzzzzzT2",
    ],
    "gcppos1": ["0123", "01234", "0123A", "0123AAAA"],
    "gcppos2": ["I0123", "I01234", "I0123A", "10950600013435"],
    "hasnondigit": ["/", ":", "/123456789", "012345678/", "AA", "A1", "1A", "11A", "A11", "1A1"],
    "hh": [f"{h:02d}" for h in range(24)],
    "hhmi": ["0000", "2359", "1200", "0059", "2300"],
    "hyphen": ["-", "--"],
    "iban": [
        "FR7630006000011234567890189",
        "DE91100000000123456789",
        "GR9608100010000001234567890",
        "MU43BOMM0101123456789101000MUR",
        "PK70BANK0000123456789000",
        "PL10105000997603123456789123",
        "RO09BCYP0000001234567890",
        "SA4420000001234567891234",
        "ES7921000813610123456789",
        "CH5604835012345678009",
        "GB98MIDL07009312345678",
        "BE71096123456769",
        "LC14BOSL123456789012345678901234",
        "MT90MALT011000012345MTLCAST001SABC",
    ],
    "importeridx": ["-", "_", "0", "9", "A", "Z", "a", "z"],
    "iso3166": ["004", "008", "010", "276", "826", "840", "894"],
    "iso3166999": ["999", "004", "894"],
    "iso3166alpha2": ["AD", "AE", "DE", "FR", "GB", "US", "ZW"],
    "iso4217": ["008", "012", "036", "124", "532", "826", "840", "924", "978", "999"],
    "iso5218": ["0", "1", "2", "9"],
    "latitude": ["0279085848", "0000000000", "1800000000"],
    "longitude": ["3015297971", "0000000000", "3600000000"],
    "mediatype": [f"{i:02d}" for i in [*range(1, 11), *range(80, 100)]],
    "mi": [f"{m:02d}" for m in range(60)],
    "nonzero": ["1", "01", "10", "001", "0009", "9000", "01234567890"],
    "nozeroprefix": ["", "1", "10", "210", "321", "1234567890"],
    "packagetype": ["1A", "200", "212", "2C", "8", "9", "APE", "BX", "CBL", "PX", "RB1", "X11", "X3", "ZZ"],
    "pcenc": [
        "",
        "A",
        "%00",
        "%FF",
        "%Ff",
        "%fF",
        "%ff",
        "%20",
        "ABC%20",
        "ABC%20XYZ",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ%00+12345",
    ],
    "pieceoftotal": [
        "11",
        "13",
        "23",
        "33",
        "89",
        "99",
        "0101",
        "0103",
        "0303",
        "9899",
        "9999",
        "001001",
        "998999",
        "999999",
    ],
    "posinseqslash": [
        "1/1",
        "1/3",
        "2/3",
        "3/3",
        "8/9",
        "9/9",
        "9/10",
        "10/10",
        "1/100",
        "100/100",
        "98/99",
        "998/999",
    ],
    "ss": [f"{s:02d}" for s in range(60)],
    "winding": ["0", "1", "9"],
    "yesno": ["0", "1"],
    "yymmd0": [
        "000606",
        "250606",
        "500606",
        "750606",
        "990606",
        "200131",
        "200229",
        "200331",
        "200430",
        "200531",
        "200630",
        "200731",
        "200831",
        "200930",
        "201031",
        "201130",
        "201231",
        "210228",
        "220228",
        "230228",
        "240229",
        "040229",
        "960229",
        "200600",
        "230200",
    ],
    "yymmdd": [
        "000606",
        "250606",
        "500606",
        "750606",
        "990606",
        "200131",
        "200229",
        "200430",
        "201231",
        "210228",
        "240229",
        "040229",
        "960229",
    ],
    "yyyymmdd": [
        "20000606",
        "20250606",
        "20500606",
        "19750606",
        "19990606",
        "20200131",
        "20200229",
        "20200430",
        "20201231",
        "20210228",
        "20240229",
        "20000229",
        "20040229",
        "19960229",
        "21000228",
        "24000229",
    ],
    "zero": ["0", "00", "000"],
    "couponcode": [
        "012345612345611110123",
        "012345612345611110123101101230123456",
        "0123456123456111101231011012311234567",
        "012345612345611110123101101236123456789012",
        "012345612345611110123101101239",
        "0123456123456111101233200229",
        "0123456123456111101233990606",
        "0123456123456111101234200229",
        "01234561234561111012335006064500606",
        "01234561234561111012350123456",
        "01234561234561111012359123456789012345",
        "012345612345611110123611234567",
        "012345612345611110123671234567890123",
        "01234561234561111012390000",
        "01234561234561111012390001",
        # North American Coupon Application Guideline Using GS1 DataBar Expanded Symbols R2.0
        "10614141011111275110111",
        "106141410222223100110222111101231023456721104561045678991201",
        "1061414165432131501101201211014092110256100126663101231",
        "106141410012342501106501013085093101231",
        "106141410012471011076011110850921108609310123191000",
        "106141411234562891101201212085010048000214025610048000310123191000",
        "1061414154321031501101201211014092110256100126663101231",
        "106141416543213500110000310123196000",
    ],
    "couponposoffer": [
        "001234561234560123456",
        "101234561234560123456",
        "0012345612345611234567",
        "00123456123456212345678",
        "001234561234569123456789012345",
        "061234567890121234569123456789012345",
    ],
}

INVALID: dict[str, list[str]] = {
    "csum": [
        "",
        "12345673",
        "416000336109",
        "1234567890129",
        "12345678901232",
        "123456789012345670",
        " 23456789012345675",
        "12345678 012345675",
        "12345678901234567 ",
        "1",
    ],
    "csumalpha": [
        "",
        "2",
        "33",
        "1987654Ad4X4bL5ttr2310cXK",
        "1987654Ad4X4bL5ttr2310c2X",
        " 2345678901234567890123NT",
        "123456789 1234567890123NT",
        "1234567890123456789012 NT",
        "12345678901234567890123 T",
        "12345678901234567890123N ",
        "1" * 30,
    ],
    "gcppos1": ["", "0", "01", "012", "0123"[:3], "012A", "01AA", "0AAA", "AAAA", "A123"],
    "gcppos2": ["", "I", "I0", "I01", "I012", "I012A", "IA123"],
    "hasnondigit": ["", "0", "9", "11", "111", "0123456789"],
    "hh": ["24", "99", "x0", "0x", "", "1", "111"],
    "hhmi": ["2400", "0060", "x000", "0x00", "00x0", "000x", "", "1", "11", "111", "11111"],
    "hyphen": ["", "X", "XX", "-X", "X-"],
    "iban": [
        "BE71096123456760",
        "LC14BOSL123456789012345678901230",
        "MT90MALT011000012345MTLCAST001SAB0",
        "",
        "B",
        "BE",
        "BE7",
        "BE71",
        "MTXXMALT011000012345MTLCAST001SABCD",
        "MTXXMALT011000012345MTLCAST001SABCDE",
        "LC14BOSLxx3456789012345678901230",
        "XX361234567890",
        "BE7109612",
    ],
    "importeridx": ["", "AA", " ", "!", ".", "/", ":", "@", "[", "`", "{", "~", "\x7f", "é"],
    "iso3166": ["", "0", "00", "000", "0000", "_894", "894_", "999", "AAA", "001", "005", "011"],
    "iso3166999": ["000", "998", "", "9", "99", "9999", "_999", "999_", "AAA"],
    "iso3166alpha2": ["", "A", "AA", "AAA", "_AD", "AD_", "AB", "AC", "AH", "EU", "XK", "ad"],
    "iso4217": ["", "0", "00", "000", "0000", "_999", "999_", "AAA", "001", "010", "191"],
    "iso5218": ["3", "4", "8", "", "/", ":", "01"],
    "latitude": ["027908584", "02790858481", "1800000001", "9999999999", "02790858x8"],
    "longitude": ["301529797", "30152979711", "3600000001", "9999999999"],
    "mediatype": ["", "0", "00", "000", "_01", "01_", "AA", "11", "29", "30", "59", "60", "79"],
    "mi": ["60", "99", "x0", "0x", "", "1", "111"],
    "nonzero": ["", "0", "00", "000", "0000", "A999", "9A99", "99A9", "999A"],
    "nozeroprefix": ["0", "01", "012", "0123", "A999", "9A99", "99A9", "999A"],
    "packagetype": [
        "",
        "0",
        "00",
        "000",
        "0000",
        "_9",
        "9_",
        "_1A",
        "1A_",
        "_200",
        "200_",
        "1C",
        "AE",
        "ape",
    ],
    "pcenc": [
        "%fg",
        "%gf",
        "%g",
        "%",
        "%0",
        "ABC%fg",
        "ABC%gf",
        "ABC%g",
        "ABC%fgXYZ",
        "ABC%gfXYZ",
        "ABC%gXYZ",
    ],
    "pieceoftotal": [
        "",
        "1",
        "111",
        "11111",
        "x5555555",
        "5555555x",
        "01",
        "00",
        "10",
        "0001",
        "0000",
        "0100",
        "000001",
        "001000",
        "21",
        "98",
        "0908",
        "1009",
        "1110",
        "9998",
        "002001",
        "999998",
    ],
    "posinseqslash": [
        "",
        "/",
        "1",
        "x",
        "1/",
        "x/",
        "1//",
        "/1",
        "/x",
        "//1",
        "//",
        "1//2",
        "x/y",
        "x//y",
        "0/1",
        "1/0",
        "0/0",
        "1/02",
        "01/2",
        "01/02",
        "2/1",
        "9/8",
        "10/9",
        "11/10",
        "99/98",
        "100/99",
        "101/100",
        "999/998",
    ],
    "ss": ["60", "x0", "0x", "", "1", "111", "1111"],
    "winding": ["2", "3", "8", "", "/", ":", "01"],
    "yesno": ["2", "9", "", "00", "Y"],
    "yymmd0": [
        "x00131",
        "2x0131",
        "20x131",
        "200x31",
        "2001x1",
        "20013x",
        "",
        "1",
        "11111",
        "1111111",
        "200010",
        "201310",
        "209910",
        "200132",
        "200230",
        "200332",
        "200431",
        "200532",
        "200631",
        "200732",
        "200832",
        "200931",
        "201032",
        "201131",
        "201232",
        "210229",
        "220229",
        "230229",
        "240230",
        "000230",
        "040230",
        "960230",
    ],
    "yymmdd": [
        "x00131",
        "20013x",
        "",
        "11111",
        "1111111",
        "200010",
        "201310",
        "200132",
        "200230",
        "200431",
        "210229",
        "240230",
        "000230",
        "200600",
        "240200",
    ],
    "yyyymmdd": [
        "x0200131",
        "2020013x",
        "",
        "1111111",
        "111111111",
        "20200010",
        "20201310",
        "20209910",
        "20200132",
        "20200230",
        "20200431",
        "20210229",
        "20230229",
        "19960230",
        "20000230",
        "21000229",
        "22000229",
        "23000229",
        "24000230",
        "20200600",
    ],
    "zero": ["", "1", "01", "10", "001", "010", "100", "X", "0X", "X0"],
    "couponcode": [
        "a12345612345611110123",
        "01234561234561111012a",
        "",
        "01",
        "012345",
        "0123456",
        "1123456",
        "6123456789012",
        "71234567890123",
        "9123456789012345",
        "01234561",
        "0123456123456",
        "01234561234560",
        "01234561234561",
        "012345612345611",
        "01234561234566123456",
        "0123456123456110",
        "0123456123456111",
        "01234561234561111",
        "0123456123456116123456",
        "012345612345611110",
        "012345612345611115",
        "012345612345611119",
        "01234561234561111012",
        "0123456123456111101230",
        "0123456123456111101237",
        "0123456123456111101238",
        "0123456123456111101231",
        "01234561234561111012310",
        "01234561234561111012314",
        "012345612345611110123100",
        "012345612345611110123106123456",
        "01234561234561111012310115",
        "01234561234561111012310110123",
        "012345612345611110123101101230",
        "012345612345611110123101101231123456",
        "0123456123456111101231011012371234567890123",
        "0123456123456111101231011012391",
        "0123456123456111101232",
        "01234561234561111012320",
        "0123456123456111101233200010",
        "0123456123456111101233201310",
        "0123456123456111101233200132",
        "0123456123456111101233210229",
        "0123456123456111101233200600",
        "01234561234561111012332002290",
        "0123456123456111101234",
        "012345612345611110123412345",
        "0123456123456111101234200230",
        "01234561234561111012335006064500607",
        "0123456123456111101235",
        "01234561234561111012350",
        "01234561234561111012351123456",
        "012345612345611110123501234560",
        "0123456123456111101236",
        "01234561234561111012360",
        "01234561234561111012361123456",
        "0123456123456111101236812345678901234",
        "0123456123456111101239",
        "01234561234561111012393",
        "012345612345611110123900",
        "012345612345611110123903",
        "0123456123456111101239000",
        "01234561234561111012390002",
        "012345612345611110123900000",
    ],
    "couponposoffer": [
        "a01234561234560123456",
        "00123456123456012345a",
        "",
        "201234561234560123456",
        "901234561234560123456",
        "0",
        "00",
        "0012345",
        "00123456",
        "01123456",
        "011234567",
        "06123456789012",
        "07",
        "08",
        "09",
        "001234561",
        "0012345612345",
        "00123456123456",
        "001234561234560",
        "00123456123456012345",
        "001234561234561123456",
        "0012345612345601234567",
        "06123456789012123456912345678901234",
        "0612345678901212345691234567890123456",
    ],
}


def _cases(table: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(name, text) for name, texts in table.items() for text in texts]


@pytest.mark.parametrize(("name", "text"), _cases(VALID))
def test_valid(name: str, text: str) -> None:
    assert lint(name, text) is None


@pytest.mark.parametrize(("name", "text"), _cases(INVALID))
def test_invalid(name: str, text: str) -> None:
    reason = lint(name, text)
    assert isinstance(reason, str)
    assert reason and "\n" not in reason


def test_every_linter_has_vectors() -> None:
    assert set(VALID) == set(LINTERS) == set(INVALID)


# --------------------------------------------------------------------------- exhaustive code lists


def test_iso3166_numeric_accepts_exactly_the_list() -> None:
    codes = {f"{i:03d}" for i in range(1000) if lint("iso3166", f"{i:03d}") is None}
    assert len(codes) == 249
    assert {"004", "276", "826", "840", "894"} <= codes
    assert not {"000", "999", "001", "891"} & codes  # 891 (Serbia and Montenegro) is withdrawn


def test_iso3166alpha2_accepts_exactly_the_list() -> None:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    codes = {a + b for a in letters for b in letters if lint("iso3166alpha2", a + b) is None}
    assert len(codes) == 249
    assert {"DE", "FR", "GB", "US", "SS", "BQ"} <= codes
    assert not {"AN", "CS", "EU", "UK", "XK"} & codes


def test_mediatype_codes() -> None:
    valid = {f"{i:02d}" for i in range(100) if lint("mediatype", f"{i:02d}") is None}
    assert valid == {f"{i:02d}" for i in [*range(1, 11), *range(80, 100)]}


# --------------------------------------------------------------------------- reasons


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("yymmd0", "240132", "day 32 does not exist in 2024-01 (expected 01-31, or 00 for end of month)"),
        ("yymmdd", "240132", "day 32 does not exist in 2024-01 (expected 01-31)"),
        ("yymmdd", "230229", "day 29 does not exist in 2023-02 (expected 01-28)"),
        ("yymmdd", "200600", "day 00 is not allowed here (expected 01-30)"),
        ("yymmd0", "241310", "month 13 does not exist (expected 01-12)"),
        ("yymmd0", "2401x1", "expected only digits, found 'x' at character 5"),
        ("yymmd0", "24011", "expected a date of 6 digits (YYMMDD), found 5 characters"),
        ("yyyymmdd", "21000229", "day 29 does not exist in 2100-02 (expected 01-28)"),
        ("csum", "09506000134353", "check digit should be 2, found 3"),
        ("csumalpha", "1987654Ad4X4bL5ttr2310cXK", "check character pair should be '2K', found 'XK'"),
        (
            "gcppos2",
            "IA123",
            "expected a GS1 Company Prefix (digits) from character 2, found 'A' at character 2",
        ),
        (
            "gcppos1",
            "012",
            "expected a GS1 Company Prefix of at least 4 digits at the start, found 3 characters",
        ),
        ("iban", "BE71096123456760", "IBAN check digits should be 23, found '71'"),
        ("hhmi", "2400", "hour 24 does not exist (expected 00-23)"),
        ("hhmi", "0060", "minute 60 does not exist (expected 00-59)"),
        ("pieceoftotal", "0908", "piece 9 exceeds the total of 8 pieces"),
        ("posinseqslash", "11/10", "position 11 exceeds the end of the sequence 10"),
        ("iso3166alpha2", "EU", "'EU' is not an ISO 3166-1 alpha-2 country code"),
        (
            "couponcode",
            "01234561234561111012335006064500607",
            "coupon expiration date 500606 is before its start date 500607",
        ),
        (
            "couponposoffer",
            "0012345612345601234567",
            "unexpected data '7' at character 22 after the last coupon field",
        ),
    ],
)
def test_reasons(name: str, text: str, reason: str) -> None:
    assert lint(name, text) == reason


def test_iban_suggested_check_digits_are_right() -> None:
    assert lint("iban", "BE23096123456760") is None


# --------------------------------------------------------------------------- dates and the 50-year window


@pytest.mark.parametrize(
    ("yymmdd", "today", "expected"),
    [
        ("240229", datetime.date(2026, 5, 1), datetime.date(2024, 2, 29)),
        ("240200", datetime.date(2026, 5, 1), datetime.date(2024, 2, 29)),
        ("230200", datetime.date(2026, 5, 1), datetime.date(2023, 2, 28)),
        ("250400", datetime.date(2026, 5, 1), datetime.date(2025, 4, 30)),
        ("761231", datetime.date(2026, 5, 1), datetime.date(2076, 12, 31)),  # +50 years: this century
        ("770101", datetime.date(2026, 5, 1), datetime.date(1977, 1, 1)),  # +51 years: previous century
        ("500101", datetime.date(2000, 1, 1), datetime.date(2050, 1, 1)),
        ("510101", datetime.date(2000, 1, 1), datetime.date(1951, 1, 1)),
        ("490101", datetime.date(1999, 12, 31), datetime.date(2049, 1, 1)),  # -50 years: next century
        ("500101", datetime.date(1999, 12, 31), datetime.date(1950, 1, 1)),  # -49 years: this century
        ("000229", datetime.date(2026, 5, 1), datetime.date(2000, 2, 29)),
        ("991231", datetime.date(2060, 1, 1), datetime.date(2099, 12, 31)),
    ],
)
def test_gs1_date_window(yymmdd: str, today: datetime.date, expected: datetime.date) -> None:
    assert gs1_date(yymmdd, today=today) == expected


def test_gs1_date_year_00_in_2100_is_not_leap() -> None:
    with pytest.raises(GS1Error, match=r"day 29 does not exist in 2100-02"):
        gs1_date("000229", today=datetime.date(2060, 1, 1))
    assert gs1_date("000200", today=datetime.date(2060, 1, 1)) == datetime.date(2100, 2, 28)


@pytest.mark.parametrize(
    "bad", ["", "2402", "2402291", "24x229", "241301", "240230", "230229", "240001", "²40229"]
)
def test_gs1_date_rejects(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        gs1_date(bad, today=datetime.date(2026, 1, 1))
    assert isinstance(info.value, GS1Error)
    assert info.value.reason


@pytest.mark.parametrize("today", [datetime.date(1, 1, 1), datetime.date(9999, 12, 31)])
def test_gs1_date_at_the_edges_of_python_dates(today: datetime.date) -> None:
    for text in ("010101", "500101", "990101"):
        try:
            assert isinstance(gs1_date(text, today=today), datetime.date)
        except GS1Error as err:
            assert "outside the dates" in err.reason


def test_gs1_date_default_today_matches_explicit_today() -> None:
    today = datetime.date.today()
    for yy in range(100):
        text = f"{yy:02d}0315"
        assert gs1_date(text) == gs1_date(text, today=today)


def test_yymmd0_linter_agrees_with_the_calendar() -> None:
    """Every YYMMDD of a sample of years, against :mod:`calendar` as an independent oracle."""
    today = datetime.date.today()
    years = linters_module._years_for(today.year)
    for yy in (0, 1, 4, 23, 24, 49, 50, 51, 76, 77, 96, 99):
        year = years[yy]
        for mm in range(0, 14):
            for dd in range(0, 33):
                text = f"{yy:02d}{mm:02d}{dd:02d}"
                exists = 1 <= mm <= 12 and dd <= calendar.monthrange(year, mm)[1]
                assert (lint("yymmd0", text) is None) == exists, text
                assert (lint("yymmdd", text) is None) == (exists and dd != 0), text
                if exists:
                    last = calendar.monthrange(year, mm)[1]
                    assert gs1_date(text, today=today) == datetime.date(year, mm, dd or last)


def test_yyyymmdd_agrees_with_the_calendar() -> None:
    for year in (1900, 1996, 1999, 2000, 2023, 2024, 2100, 2400):
        for mm in range(0, 14):
            for dd in range(0, 33):
                text = f"{year:04d}{mm:02d}{dd:02d}"
                exists = 1 <= mm <= 12 and 1 <= dd <= calendar.monthrange(year, mm)[1]
                assert (lint("yyyymmdd", text) is None) == exists, text


def test_window_table_follows_gs1_rule() -> None:
    for current in (1999, 2000, 2021, 2026, 2049, 2050, 2051, 2099):
        years = linters_module._years_for(current)
        for yy, year in enumerate(years):
            assert year % 100 == yy
            assert -49 <= year - current <= 50, (current, yy, year)


# --------------------------------------------------------------------------- robustness

NAMES = sorted(LINTERS)
CSET82_TEXT = st.text(alphabet=CSET82, max_size=40)
DIGITS_TEXT = st.text(alphabet="0123456789", max_size=80)
NASTY_TEXT = st.text(max_size=40)  # any Unicode, including non-ASCII digits and surrogates


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(NAMES), text=st.one_of(NASTY_TEXT, CSET82_TEXT, DIGITS_TEXT))
def test_linters_never_raise(name: str, text: str) -> None:
    reason = LINTERS[name](text)
    assert reason is None or (isinstance(reason, str) and reason)


@settings(max_examples=300, deadline=None)
@given(prefix=st.sampled_from(["0123456", "1061414", "612345678901"]), rest=DIGITS_TEXT)
def test_coupon_walkers_never_raise(prefix: str, rest: str) -> None:
    for name in ("couponcode", "couponposoffer"):
        reason = lint(name, prefix + rest)
        assert reason is None or isinstance(reason, str)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=8), st.text(alphabet="0123456789", min_size=6, max_size=6)))
def test_gs1_date_returns_date_or_raises_gs1error(text: str) -> None:
    try:
        value = gs1_date(text, today=datetime.date.today())
    except GS1Error as err:
        assert err.reason == lint("yymmd0", text)
    else:
        assert isinstance(value, datetime.date)
        assert lint("yymmd0", text) is None
