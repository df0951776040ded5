"""EPC pure-identity URIs (packtrail.gs1.epc), with GS1's Tag Data Translation files as oracle.

The TDT definitions (tests/data/epc-tdt/, see NOTICE.md) give, for every company prefix
length 6..12, a regex and a grammar per level, and the rules that move fields between
levels. A tiny interpreter below runs those rules, independently of packtrail, to turn
GS1 element data (the ``BARE_IDENTIFIER`` level: ``gtin=...;serial=...``) into the
pure-identity URI and back; packtrail must produce exactly the same text, and its AI
data must match the ``GS1_AI_JSON`` and ``GS1_DIGITAL_LINK`` patterns.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packtrail.gs1.checkdigit import CSET82
from packtrail.gs1.epc import (
    GIAI,
    GRAI,
    LGTIN,
    SGLN,
    SGTIN,
    SSCC,
    AIPairs,
    SGTINPattern,
    epc_from_ai_pairs,
    gtin_serial_from_sgtin,
    parse_epc_uri,
    sgtin_from_gtin_serial,
)
from packtrail.gs1.errors import GS1Error

TDT_DIR = Path(__file__).parent / "data" / "epc-tdt"
OPTIONS = tuple(range(6, 13))
URN_ESCAPES = {'"': "%22", "%": "%25", "&": "%26", "/": "%2F", "<": "%3C", ">": "%3E", "?": "%3F"}
"""TDS table A-1, written out here independently of packtrail."""


# --- a minimal TDT rule interpreter -------------------------------------------------------


def _mod10(digits: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


def _urn_encode(text: str) -> str:
    return "".join(URN_ESCAPES.get(ch, ch) for ch in text)


def _urn_decode(text: str) -> str:
    for ch, code in URN_ESCAPES.items():
        if ch != "%":
            text = text.replace(code, ch)
    return text.replace("%25", "%")


class TDTScheme:
    def __init__(self, name: str) -> None:
        data = json.loads((TDT_DIR / f"{name}.json").read_text())["tdt:epcTagDataTranslation"]
        self.levels: dict[str, dict[str, Any]] = {lvl["type"]: lvl for lvl in data["scheme"]["level"]}

    def option(self, level: str, cpl: int) -> dict[str, Any]:
        return next(o for o in self.levels[level]["option"] if o["optionKey"] == str(cpl))

    def _call(self, expr: str, fields: dict[str, str], cpl: int) -> str:
        match = re.fullmatch(r"(\w+)\((.*)\)", expr)
        assert match, expr
        name, args = match.group(1), [a.strip() for a in match.group(2).split(",")]

        def value(arg: str) -> Any:
            if arg == "gs1companyprefixlength":
                return cpl
            return int(arg) if arg.isdigit() else fields[arg]

        if name == "SUBSTR":
            text, start = value(args[0]), value(args[1])
            return text[start : start + value(args[2])] if len(args) == 3 else text[start:]
        if name == "CONCAT":
            return "".join(value(a) for a in args)
        if name == "GS1CHECKSUM":
            return _mod10(value(args[0]))
        if name == "URNENCODE":
            return _urn_encode(value(args[0]))
        if name == "URNDECODE":
            return _urn_decode(value(args[0]))
        if name == "URLENCODE":
            return quote(value(args[0]), safe='"')
        if name == "URLDECODE":
            return unquote(value(args[0]))
        raise AssertionError(f"TDT function {name} not known to this test")

    def _rules(self, level: str, kind: str, fields: dict[str, str], cpl: int) -> None:
        rules = [r for r in self.levels[level].get("rule", []) if r["type"] == kind]
        for rule in sorted(rules, key=lambda r: r["seq"]):
            fields[rule["newFieldName"]] = self._call(rule["function"], fields, cpl)

    def translate(self, text: str, source: str, target: str, cpl: int) -> str:
        """Parse ``text`` at level ``source``, run EXTRACT then FORMAT rules, compose ``target``."""
        option = self.option(source, cpl)
        match = re.match(option["pattern"], text)
        assert match, (option["pattern"], text)
        fields: dict[str, str] = {}
        for i, field in enumerate(sorted(option["field"], key=lambda f: f["seq"]), start=1):
            fields[field["name"]] = match.group(i)
        self._rules(source, "EXTRACT", fields, cpl)
        self._rules(target, "FORMAT", fields, cpl)
        grammar = self.option(target, cpl)["grammar"]
        tokens = re.findall(r"'[^']*'|\S+", grammar)
        return "".join(tok[1:-1] if tok.startswith("'") else fields[tok] for tok in tokens)


# --- per-scheme glue: random GS1 data and its bare-identifier / Digital Link forms ---------

RNG = random.Random(20241118)
ESCAPED = "".join(URN_ESCAPES)


def _digits(n: int) -> str:
    return "".join(RNG.choice("0123456789") for _ in range(n))


def _cset82_text(size: int) -> str:
    # Mix in the characters a URI must escape so every sample exercises table A-1.
    text = [RNG.choice(CSET82) for _ in range(size)]
    text[RNG.randrange(size)] = RNG.choice(ESCAPED)
    return "".join(text)


def _with_check(body: str) -> str:
    return body + _mod10(body)


def _dl(pairs: AIPairs) -> str:
    return "https://id.gs1.org" + "".join(f"/{ai}/{quote(value, safe=chr(34))}" for ai, value in pairs)


SCHEMES: dict[str, tuple[type[Any], Callable[[int], AIPairs], Callable[[dict[str, str]], str]]] = {
    "SGTIN-198": (
        SGTIN,
        lambda cpl: (
            ("01", _with_check(RNG.choice("012345678") + _digits(12))),
            ("21", _cset82_text(RNG.randint(1, 20))),
        ),
        lambda ai: f"gtin={ai['01']};serial={ai['21']}",
    ),
    "SSCC-96": (
        SSCC,
        lambda cpl: (("00", _with_check(_digits(17))),),
        lambda ai: f"sscc={ai['00']}",
    ),
    "SGLN-195": (
        SGLN,
        lambda cpl: (("414", _with_check(_digits(12))), ("254", "X" + _cset82_text(RNG.randint(1, 19)))),
        lambda ai: f"gln={ai['414']};serial={ai['254']}",
    ),
    "GRAI-170": (
        GRAI,
        lambda cpl: (("8003", "0" + _with_check(_digits(12)) + _cset82_text(RNG.randint(1, 16))),),
        lambda ai: f"grai={ai['8003'][1:]}",
    ),
    "GIAI-202": (
        GIAI,
        lambda cpl: (("8004", _digits(cpl) + _cset82_text(RNG.randint(1, 30 - cpl))),),
        lambda ai: f"giai={ai['8004']}",
    ),
}


@pytest.mark.parametrize("cpl", OPTIONS)
@pytest.mark.parametrize("scheme_name", sorted(SCHEMES))
def test_tdt_oracle_every_company_prefix_length(scheme_name: str, cpl: int) -> None:
    tdt = TDTScheme(scheme_name)
    cls, make_pairs, bare = SCHEMES[scheme_name]
    pure_pattern = re.compile(tdt.option("PURE_IDENTITY", cpl)["pattern"])
    json_option = tdt.option("GS1_AI_JSON", cpl)
    dl_pattern = re.compile(tdt.option("GS1_DIGITAL_LINK", cpl)["pattern"])
    for _ in range(25):
        pairs = make_pairs(cpl)
        epc = cls.from_ai_pairs(pairs, company_prefix_length=cpl)
        uri = epc.uri

        # Element data -> URI: our text matches the TDT pattern and the TDT rules' output.
        assert pure_pattern.fullmatch(uri), uri
        assert tdt.translate(bare(dict(pairs)), "BARE_IDENTIFIER", "PURE_IDENTITY", cpl) == uri

        # URI -> element data: parse back, and the TDT rules agree field by field.
        parsed = cls.parse(uri)
        assert parsed == epc
        assert parsed.to_ai_pairs() == pairs
        assert tdt.translate(uri, "PURE_IDENTITY", "BARE_IDENTIFIER", cpl) == bare(dict(parsed.to_ai_pairs()))

        # The AI data lines up with the GS1_AI_JSON level (same AIs, same order, same values).
        as_json = json.dumps(dict(pairs))
        match = re.match(json_option["pattern"], as_json)
        assert match, as_json
        assert [ai for ai, _ in pairs] == json_option["aiSequence"]
        assert _dl(pairs) and dl_pattern.search(_dl(pairs)), _dl(pairs)


def test_tdt_oracle_covers_all_option_keys() -> None:
    for name in SCHEMES:
        keys = {o["optionKey"] for o in TDTScheme(name).levels["PURE_IDENTITY"]["option"]}
        assert keys == {str(n) for n in OPTIONS}, name


# --- TDS examples -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "pairs"),
    [
        ("urn:epc:id:sgtin:0614141.812345.6789", (("01", "80614141123458"), ("21", "6789"))),
        ("urn:epc:id:sgtin:0614141.712345.32a%2Fb", (("01", "70614141123451"), ("21", "32a/b"))),
        ("urn:epc:id:sscc:0614141.1234567890", (("00", "106141412345678908"),)),
        ("urn:epc:id:sgln:0614141.12345.400", (("414", "0614141123452"), ("254", "400"))),
        ("urn:epc:id:sgln:0614141.12345.0", (("414", "0614141123452"),)),
        ("urn:epc:id:grai:0614141.12345.400", (("8003", "00614141123452400"),)),
        ("urn:epc:id:giai:0614141.12345400", (("8004", "061414112345400"),)),
        ("urn:epc:class:lgtin:0614141.812345.998877", (("01", "80614141123458"), ("10", "998877"))),
    ],
)
def test_tds_examples(uri: str, pairs: AIPairs) -> None:
    epc = parse_epc_uri(uri)
    assert not isinstance(epc, SGTINPattern)
    assert epc.to_ai_pairs() == pairs
    assert epc.uri == uri == str(epc)
    assert type(epc).from_ai_pairs(pairs).uri == uri  # 0614141 is in GS1's list: length 7
    assert epc_from_ai_pairs(pairs) == epc


def test_twelve_digit_prefix_leaves_an_empty_reference() -> None:
    sgln = SGLN.from_ai_pairs([("414", "0614141123452")], company_prefix_length=12)
    assert sgln.uri == "urn:epc:id:sgln:061414112345..0"
    assert SGLN.parse(sgln.uri) == sgln
    grai = GRAI.from_ai_pairs([("8003", "00614141123452A1")], company_prefix_length=12)
    assert grai.uri == "urn:epc:id:grai:061414112345..A1"


def test_properties() -> None:
    sgtin = SGTIN.parse("urn:epc:id:sgtin:0614141.812345.6789")
    assert sgtin.gtin == "80614141123458"
    assert SSCC.parse("urn:epc:id:sscc:0614141.1234567890").sscc == "106141412345678908"
    assert SGLN.parse("urn:epc:id:sgln:0614141.12345.400").gln == "0614141123452"
    assert GRAI.parse("urn:epc:id:grai:0614141.12345.400").grai == "00614141123452400"
    assert GIAI.parse("urn:epc:id:giai:0614141.12345400").giai == "061414112345400"
    assert LGTIN.parse("urn:epc:class:lgtin:0614141.812345.L1").gtin == "80614141123458"


def test_other_ais_are_ignored() -> None:
    # A pharma pack's data: GTIN, expiry, batch, serial.
    pairs = [("01", "80614141123458"), ("17", "270131"), ("10", "B42"), ("21", "ABC123")]
    assert epc_from_ai_pairs(pairs).uri == "urn:epc:id:sgtin:0614141.812345.ABC123"
    assert LGTIN.from_ai_pairs(pairs).uri == "urn:epc:class:lgtin:0614141.812345.B42"


# --- escaping -----------------------------------------------------------------------------


def test_every_cset82_character_round_trips() -> None:
    for start in range(0, len(CSET82), 20):
        serial = CSET82[start : start + 20]
        uri = sgtin_from_gtin_serial("80614141123458", serial)
        assert uri == "urn:epc:id:sgtin:0614141.812345." + _urn_encode(serial)
        assert gtin_serial_from_sgtin(uri) == ("80614141123458", serial)
        assert SGTIN.parse(uri).serial == serial


def test_lowercase_escapes_are_read_and_written_uppercase() -> None:
    sgtin = SGTIN.parse("urn:epc:id:sgtin:0614141.812345.a%2fb%3c")
    assert sgtin.serial == "a/b<"
    assert sgtin.uri == "urn:epc:id:sgtin:0614141.812345.a%2Fb%3C"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("urn:epc:id:sgtin:0614141.812345.a/b", "'/' in the serial number must be escaped as %2F"),
        ("urn:epc:id:sgtin:0614141.812345.a%41", "'%41' in the serial number is not an escape an EPC URI"),
        ("urn:epc:id:sgtin:0614141.812345.a%2", "'%2' in the serial number is not an escape"),
        ("urn:epc:id:sgtin:0614141.812345.a b", "' ' is not allowed in the serial number"),
        ("urn:epc:id:sgtin:0614141.812345.é", "'é' is not allowed in the serial number"),
        ("urn:epc:id:sgtin:0614141.812345.", "the serial number is empty"),
        ("urn:epc:id:sgtin:0614141.812345." + "1" * 21, "at most 20 characters, found 21"),
        ("urn:epc:id:sgtin:0614141.812345." + "%25" * 21, "at most 20 characters, found 21"),
        ("urn:epc:id:sgtin:0614141.81234.6789", "expected 6 digits of indicator digit and item reference"),
        ("urn:epc:id:sgtin:06141.81234567.6789", "GS1 Company Prefix of 6 to 12 digits, found 5 digits"),
        ("urn:epc:id:sgtin:0614141812345.1.6789", "found 13 digits"),
        ("urn:epc:id:sgtin:06141x1.812345.6789", "GS1 Company Prefix of 6 to 12 digits, found '06141x1'"),
        ("urn:epc:id:sgtin:0614141.812345", "expected 3 parts separated by '.'"),
        ("urn:epc:id:sgtn:0614141.812345.1", "expected an EPC URI"),
        ("URN:EPC:ID:SGTIN:0614141.812345.1", "expected an EPC URI"),
        ("urn:epc:id:sscc:0614141.123456789", "expected 10 digits of extension digit and serial reference"),
        ("urn:epc:id:sgln:0614141.12345.", "the GLN extension is empty"),
        ("urn:epc:id:grai:0614141.12345." + "A" * 17, "at most 16 characters, found 17"),
        ("urn:epc:id:giai:0614141." + "A" * 24, "at most 23 characters, found 24"),
        ("urn:epc:id:giai:061414112345." + "A" * 19, "at most 18 characters, found 19"),
        ("urn:epc:idpat:sgtin:*.812345.*", "expected CompanyPrefix.ItemReference.Serial"),
        ("urn:epc:idpat:sgtin:0614141.*.1", "expected CompanyPrefix.ItemReference.Serial"),
    ],
)
def test_bad_uris_say_what_was_expected(uri: str, message: str) -> None:
    with pytest.raises(GS1Error, match=re.escape(message)) as info:
        parse_epc_uri(uri)
    assert info.value.value == uri


def test_error_positions_point_into_the_uri() -> None:
    with pytest.raises(GS1Error) as info:
        SGTIN.parse("urn:epc:id:sgtin:0614141.812345.ab/c")
    assert info.value.position == len("urn:epc:id:sgtin:0614141.812345.ab")
    with pytest.raises(GS1Error) as info:
        SGTIN.parse("urn:epc:id:sgtin:0614141.81234.6789")
    assert info.value.position == len("urn:epc:id:sgtin:0614141.")


# --- element data -> EPC errors -----------------------------------------------------------


def test_unknown_company_prefix_length_asks_for_it() -> None:
    pairs = [("01", "07612345678900"), ("21", "1")]  # Switzerland (761) is not in the list
    with pytest.raises(GS1Error, match=r"GS1 Company Prefix length is unknown.*pass company_prefix_length"):
        SGTIN.from_ai_pairs(pairs)
    with pytest.raises(GS1Error, match="pass company_prefix_length explicitly"):
        sgtin_from_gtin_serial("07612345678900", "1")
    assert SGTIN.from_ai_pairs(pairs, company_prefix_length=9).uri == "urn:epc:id:sgtin:761234567.0890.1"
    assert sgtin_from_gtin_serial("07612345678900", "1", 9) == "urn:epc:id:sgtin:761234567.0890.1"


def test_no_company_prefix_no_epc() -> None:
    with pytest.raises(GS1Error, match="no GS1 Company Prefix applies"):
        SGTIN.from_ai_pairs([("01", "02001234567893"), ("21", "1")])  # restricted circulation
    # ... unless the caller states a length.
    assert SGTIN.from_ai_pairs([("01", "02001234567893"), ("21", "1")], company_prefix_length=7)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: SGTIN.from_ai_pairs([("01", "80614141123457"), ("21", "1")]), "check digit should be 8"),
        (lambda: SGTIN.from_ai_pairs([("01", "80614141123458")]), "needs AI (21)"),
        (lambda: SGTIN.from_ai_pairs([("21", "1")]), "needs AI (01)"),
        (lambda: SGTIN.from_ai_pairs([("01", "8061414112345"), ("21", "1")]), "GTIN of 14 digits"),
        (
            lambda: SGTIN.from_ai_pairs([("01", "80614141123458"), ("21", "1"), ("21", "2")]),
            "AI (21) appears twice",
        ),
        (lambda: SGTIN.from_ai_pairs([("01", "80614141123458"), ("21", "a b")]), "' ' is not allowed"),
        (lambda: SGTIN.from_ai_pairs([("01", "80614141123458"), ("21", "")]), "serial number is empty"),
        (
            lambda: SGTIN.from_ai_pairs([("01", "80614141123458"), ("21", "1")], company_prefix_length=5),
            "company_prefix_length should be 6 to 12, found 5",
        ),
        (
            lambda: SGTIN.from_ai_pairs([("01", "80614141123458"), ("21", "1")], company_prefix_length=True),
            "company_prefix_length should be 6 to 12, found True",
        ),
        (lambda: SSCC.from_ai_pairs([("00", "106141412345678909")]), "SSCC check digit should be 8"),
        (lambda: SGLN.from_ai_pairs([("414", "0614141123452"), ("254", "0")]), "leave AI (254) out"),
        (lambda: GRAI.from_ai_pairs([("8003", "00614141123452")]), "has no serial component"),
        (lambda: GRAI.from_ai_pairs([("8003", "10614141123452A")]), "starts with the digit 0, found 1"),
        (lambda: GRAI.from_ai_pairs([("8003", "00614141123453A")]), "check digit should be 2"),
        (lambda: GIAI.from_ai_pairs([("8004", "0614141")]), "followed by an asset reference"),
        (lambda: GIAI.from_ai_pairs([("8004", "0614141" + "A" * 24)]), "at most 30 characters"),
        (lambda: epc_from_ai_pairs([("17", "270131")]), "expected GS1 element data with an EPC key"),
        (lambda: sgtin_from_gtin_serial("80614141123", "1"), "GTIN of 8, 12, 13 or 14 digits"),
        (lambda: sgtin_from_gtin_serial("80614141123457", "1"), "check digit should be 8"),
        (lambda: sgtin_from_gtin_serial("80614141123458", "1" * 21), "at most 20 characters"),
        (lambda: SGTIN("0614141", "81234", "1"), "expected 6 digits"),
        (lambda: SGTINPattern(None, "812345"), "any company prefix must have any item"),
        (lambda: sgtin_from_gtin_serial("80614141123458", 42), "expected the serial number as text"),  # type: ignore[arg-type]
        (lambda: SGTIN.from_ai_pairs(["0180614141123458"]), "expected GS1 element data as (AI, data) pairs"),  # type: ignore[list-item]
        (lambda: gtin_serial_from_sgtin(None), "expected an EPC URI as text"),  # type: ignore[arg-type]
    ],
)
def test_element_data_errors(call: Callable[[], object], message: str) -> None:
    with pytest.raises(GS1Error, match=re.escape(message)):
        call()


# --- fast path ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gtin", "expected"),
    [
        ("80614141123458", "urn:epc:id:sgtin:0614141.812345.S1"),
        ("00614141123452", "urn:epc:id:sgtin:0614141.012345.S1"),
        ("0614141123452", "urn:epc:id:sgtin:0614141.012345.S1"),  # GTIN-13
        ("614141123452", "urn:epc:id:sgtin:0614141.012345.S1"),  # GTIN-12
        ("12345670", "urn:epc:id:sgtin:0000012.034567.S1"),  # GTIN-8, GS1-list length 7
    ],
)
def test_sgtin_from_gtin_serial_accepts_every_gtin_length(gtin: str, expected: str) -> None:
    for _ in range(2):  # first call fills the cache, the second reads it
        assert sgtin_from_gtin_serial(gtin, "S1") == expected
    assert gtin_serial_from_sgtin(expected)[1] == "S1"


def test_fast_path_matches_full_path() -> None:
    rng = random.Random(5)
    for _ in range(500):
        gtin = _with_check(rng.choice("012345678") + "0614141" + _digits(5))
        serial = "".join(rng.choice(CSET82) for _ in range(rng.randint(1, 20)))
        cpl = rng.choice((None, 6, 7, 8, 9, 10, 11, 12))
        uri = sgtin_from_gtin_serial(gtin, serial, cpl)
        assert uri == SGTIN.from_gtin_serial(gtin, serial, cpl).uri
        assert sgtin_from_gtin_serial(gtin, serial, cpl) == uri  # cached
        assert gtin_serial_from_sgtin(uri) == (gtin, serial)
        assert gtin_serial_from_sgtin(uri) == (gtin, serial)  # cached
        # The cache must not let a bad serial through for a known GTIN.
        with pytest.raises(GS1Error):
            sgtin_from_gtin_serial(gtin, serial + "\t", cpl)
        with pytest.raises(GS1Error):
            gtin_serial_from_sgtin(uri + "/")


def test_agrees_with_epcpy() -> None:
    sgtin_mod = pytest.importorskip("epcpy.epc_schemes.sgtin")
    rng = random.Random(11)
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    for _ in range(300):
        gtin = _with_check(rng.choice("012345678") + _digits(12))
        serial = "".join(rng.choice(alnum) for _ in range(rng.randint(1, 20)))
        cpl = rng.choice(OPTIONS)
        ours = sgtin_from_gtin_serial(gtin, serial, cpl)
        assert ours == sgtin_mod.SGTIN.from_gtin_plus_serial(gtin, serial, cpl).epc_uri
        theirs = sgtin_mod.SGTIN(ours)
        assert gtin_serial_from_sgtin(ours) == (theirs.gtin(), theirs.gs1_element_string()[22:])


# --- patterns -----------------------------------------------------------------------------


def test_sgtin_patterns() -> None:
    uri = "urn:epc:id:sgtin:0614141.812345.6789"
    cases = {
        "urn:epc:idpat:sgtin:0614141.812345.6789": True,
        "urn:epc:idpat:sgtin:0614141.812345.6780": False,
        "urn:epc:idpat:sgtin:0614141.812345.*": True,
        "urn:epc:idpat:sgtin:0614141.712345.*": False,
        "urn:epc:idpat:sgtin:0614141.*.*": True,
        "urn:epc:idpat:sgtin:0614142.*.*": False,
        "urn:epc:idpat:sgtin:061414.1812345.*": False,
        "urn:epc:idpat:sgtin:*.*.*": True,
    }
    for text, expected in cases.items():
        pattern = SGTINPattern.parse(text)
        assert pattern.uri == text
        assert pattern.matches(uri) is expected, text
        assert pattern.matches(SGTIN.parse(uri)) is expected
        assert pattern.matches("urn:epc:id:sscc:0614141.1234567890") is False
    assert SGTINPattern.parse("urn:epc:idpat:sgtin:0614141.812345.a%2Fb").serial == "a/b"
    with pytest.raises(GS1Error):
        SGTINPattern.parse("urn:epc:idpat:sgtin:0614141.*.*").matches("urn:epc:id:sgtin:0614141.8.1")


# --- property tests -----------------------------------------------------------------------

gtins = st.builds(lambda body: _with_check(body), st.text(alphabet="0123456789", min_size=13, max_size=13))
serials = st.text(alphabet=CSET82, min_size=1, max_size=20)
TDT_SGTIN = TDTScheme("SGTIN-198")
SGTIN_PATTERNS = {cpl: re.compile(TDT_SGTIN.option("PURE_IDENTITY", cpl)["pattern"]) for cpl in OPTIONS}


@given(gtins, serials, st.sampled_from(OPTIONS))
def test_random_gtin_serial_round_trip(gtin: str, serial: str, cpl: int) -> None:
    uri = sgtin_from_gtin_serial(gtin, serial, cpl)
    assert SGTIN_PATTERNS[cpl].fullmatch(uri)
    assert gtin_serial_from_sgtin(uri) == (gtin, serial)
    sgtin = SGTIN.parse(uri)
    assert sgtin.uri == uri
    assert sgtin.to_ai_pairs() == (("01", gtin), ("21", serial))
    assert SGTIN.from_ai_pairs(sgtin.to_ai_pairs(), company_prefix_length=cpl) == sgtin


VALID_URIS = [
    "urn:epc:id:sgtin:0614141.812345.6789",
    "urn:epc:id:sgtin:0614141.812345.a%2Fb.c",
    "urn:epc:id:sscc:0614141.1234567890",
    "urn:epc:id:sgln:0614141.12345.400",
    "urn:epc:id:sgln:061414112345..0",
    "urn:epc:id:grai:0614141.12345.400",
    "urn:epc:id:giai:0614141.12345400",
    "urn:epc:class:lgtin:0614141.812345.998877",
    "urn:epc:idpat:sgtin:0614141.812345.*",
    "urn:epc:idpat:sgtin:0614141.*.*",
    "urn:epc:idpat:sgtin:*.*.*",
]
NOISE = '0123456789.%:*/"&<>?aZ2FéF\x00 '


@st.composite
def mutated_uris(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID_URIS))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(("insert", "delete", "replace", "truncate")))
        ch = draw(st.sampled_from(NOISE))
        if kind == "insert":
            text = text[:at] + ch + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + 1 :]
        elif kind == "replace":
            text = text[:at] + ch + text[at + 1 :]
        else:
            text = text[:at]
    return text


def _check_only_gs1error(text: str) -> None:
    try:
        epc = parse_epc_uri(text)
    except GS1Error:
        pass
    else:
        assert parse_epc_uri(epc.uri) == epc  # whatever parses is canonical on the way out
    for parse in (SGTIN.parse, gtin_serial_from_sgtin, SSCC.parse, SGLN.parse, GRAI.parse, GIAI.parse):
        with contextlib.suppress(GS1Error):
            parse(text)


@settings(max_examples=400)
@given(mutated_uris())
def test_mutated_uris_raise_only_gs1error(text: str) -> None:
    _check_only_gs1error(text)


@given(st.text(max_size=60))
def test_random_text_raises_only_gs1error(text: str) -> None:
    _check_only_gs1error(text)
    _check_only_gs1error("urn:epc:id:sgtin:" + text)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(("00", "01", "10", "21", "254", "414", "8003", "8004")), st.text(max_size=32)
        ),
        max_size=4,
    ),
    st.one_of(st.none(), st.integers(0, 14)),
)
def test_random_element_data_raises_only_gs1error(pairs: list[tuple[str, str]], cpl: int | None) -> None:
    for convert in (
        epc_from_ai_pairs,
        SGTIN.from_ai_pairs,
        LGTIN.from_ai_pairs,
        SSCC.from_ai_pairs,
        SGLN.from_ai_pairs,
        GRAI.from_ai_pairs,
        GIAI.from_ai_pairs,
    ):
        try:
            epc = convert(pairs, cpl)
        except GS1Error:
            continue
        assert parse_epc_uri(epc.uri) == epc


@given(st.text(max_size=16), st.text(max_size=24), st.one_of(st.none(), st.integers(0, 14)))
def test_random_gtin_and_serial_raise_only_gs1error(gtin: str, serial: str, cpl: int | None) -> None:
    try:
        uri = sgtin_from_gtin_serial(gtin, serial, cpl)
    except GS1Error:
        return
    assert gtin_serial_from_sgtin(uri) == (gtin.rjust(14, "0"), serial)
