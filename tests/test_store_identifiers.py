"""Canonical identifier forms of the repository (packtrail.store.identifiers): capture and query agree."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from packtrail.epcis import EPCISError
from packtrail.epcis.vocabulary import VOCABULARIES, to_digital_link, to_epc_urn
from packtrail.gs1 import SGLN, SGTIN, DigitalLink, GS1Error, SGTINPattern, gs1_check_digit, parse_epc_uri
from packtrail.gs1.gcp import company_prefix_length_at
from packtrail.store import identifiers
from packtrail.store.identifiers import (
    LIKE_ESCAPE,
    bare_cbv,
    canonical_class,
    canonical_epc,
    class_pattern_likes,
    epc_class_key,
    epc_pattern_to_like,
    gln_of_party,
    parse_time_us,
    pattern_class_like,
)

# --- canonical_epc / canonical_class ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:sgtin:0614141.107346.2017"),
        ("https://id.gs1.org/01/10614141073464/21/2017", "urn:epc:id:sgtin:0614141.107346.2017"),
        ("http://id.gs1.org/01/10614141073464/21/2017", "urn:epc:id:sgtin:0614141.107346.2017"),
        ("https://id.gs1.de/01/04012345999990/21/XYZ-1234", "urn:epc:id:sgtin:4012345.099999.XYZ-1234"),
        ("https://brand.example/a/b/01/10614141073464/21/2017", "urn:epc:id:sgtin:0614141.107346.2017"),
        ("https://id.gs1.org/01/10614141073464/10/L1/21/2017", "urn:epc:id:sgtin:0614141.107346.2017"),
        ("https://id.gs1.org/01/10614141073464/21/2017?17=270131", "urn:epc:id:sgtin:0614141.107346.2017"),
        ("https://id.gs1.org/01/10614141073464/21/A%2FB", "urn:epc:id:sgtin:0614141.107346.A%2FB"),
        ("https://id.gs1.org/00/106141412345678908", "urn:epc:id:sscc:0614141.1234567890"),
        ("https://id.gs1.org/414/0614141073467", "urn:epc:id:sgln:0614141.07346.0"),
        ("https://id.gs1.org/414/0614141073467/254/0", "urn:epc:id:sgln:0614141.07346.0"),
        ("https://id.gs1.org/414/0614141073467/254/1234", "urn:epc:id:sgln:0614141.07346.1234"),
        ("https://id.example.com/8003/040123450007718765", "urn:epc:id:grai:4012345.00077.8765"),
        ("https://id.gs1.org/8004/4000001111", "urn:epc:id:giai:4000001.111"),
        ("https://id.gs1.org/417/4012345000009", "urn:epc:id:pgln:4012345.00000"),
        # not convertible: kept as given
        ("https://id.gs1.org/01/10614141073465/21/2017", "https://id.gs1.org/01/10614141073465/21/2017"),
        ("https://id.gs1.org/8003/04012345000771", "https://id.gs1.org/8003/04012345000771"),
        ("https://id.gs1.org/253/4012345000054987", "https://id.gs1.org/253/4012345000054987"),
        ("https://id.example.com/8003/030013450007718765", "https://id.example.com/8003/030013450007718765"),
        ("https://id.gs1.org/01/02012345678905/21/1", "https://id.gs1.org/01/02012345678905/21/1"),
        (
            "http://epcis.example.com/user/vocab/obj/12345.67890",
            "http://epcis.example.com/user/vocab/obj/12345.67890",
        ),
        ("urn:epc:id:pgln:4012345.00000", "urn:epc:id:pgln:4012345.00000"),
        ("geo:42.698334,23.319941", "geo:42.698334,23.319941"),
        ("", ""),
    ],
)
def test_canonical_epc(value: str, expected: str) -> None:
    assert canonical_epc(value) == expected
    assert canonical_epc(value) == expected  # the second time from the caches


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("urn:epc:class:lgtin:4012345.012345.998877", "urn:epc:class:lgtin:4012345.012345.998877"),
        ("https://id.gs1.org/01/04012345123456/10/998877", "urn:epc:class:lgtin:4012345.012345.998877"),
        (
            "https://id.gs1.org/01/04012345123456/10/998877?17=270131",
            "urn:epc:class:lgtin:4012345.012345.998877",
        ),
        ("https://id.gs1.org/01/04012345666663", "urn:epc:idpat:sgtin:4012345.066666.*"),
        ("urn:epc:idpat:grai:4012345.66666.*", "urn:epc:idpat:grai:4012345.66666.*"),
    ],
)
def test_canonical_class(value: str, expected: str) -> None:
    assert canonical_class(value) == expected


def _gtin(body: str) -> str:
    return body + gs1_check_digit(body)


SERIALS = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._", min_size=1, max_size=20
)
ANY_SERIAL = st.text(alphabet="".join(sorted(set("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"))), min_size=1, max_size=20)  # fmt: skip
COMPANY_GTINS = st.sampled_from(["0614141", "4012345", "9520001", "0037000", "95060001", "030001"]).flatmap(
    lambda cp: st.tuples(st.sampled_from("0123456789"), st.text("0123456789", min_size=12 - len(cp), max_size=12 - len(cp))).map(
        lambda parts: _gtin(parts[0] + cp + parts[1])
    )
)  # fmt: skip
HOSTS = st.sampled_from(
    ["https://id.gs1.org", "https://id.gs1.de", "http://example.com/pack", "https://x.example"]
)


@settings(max_examples=200)
@given(COMPANY_GTINS | st.text("0123456789", min_size=13, max_size=13).map(_gtin), ANY_SERIAL, HOSTS)
def test_sgtin_digital_links_agree_with_gs1(gtin: str, serial: str, host: str) -> None:
    """DL -> URN equals packtrail.gs1's SGTIN from the same element data (or stays a DL when it has none)."""
    link = DigitalLink.from_element_string([("01", gtin), ("21", serial)], base=host).uri
    try:
        expected = SGTIN.from_ai_pairs([("01", gtin), ("21", serial)]).uri
    except GS1Error:
        expected = link
    assert canonical_epc(link) == expected
    assert identifiers._from_digital_link(link) == expected  # the fast path agrees with the parser
    if expected != link:
        assert canonical_epc(to_digital_link(expected)) == expected  # URN -> DL -> URN
        assert to_epc_urn(link) == expected or host != "https://id.gs1.org"


@settings(max_examples=100)
@given(COMPANY_GTINS, SERIALS)
def test_urn_digital_link_round_trip(gtin: str, serial: str) -> None:
    urn = SGTIN.from_ai_pairs([("01", gtin), ("21", serial)]).uri
    assert canonical_epc(to_digital_link(urn)) == urn
    assert canonical_epc(urn) == urn


@pytest.mark.parametrize(
    "urn",
    [
        "urn:epc:id:sscc:0614141.1234567890",
        "urn:epc:id:sgln:0614141.07346.1234",
        "urn:epc:id:sgln:0614141.07346.0",
        "urn:epc:id:grai:0614141.12345.400",
        "urn:epc:id:giai:0614141.12345400",
        "urn:epc:class:lgtin:0614141.812345.LOT42",
        "urn:epc:idpat:sgtin:4012345.066666.*",
    ],
)
def test_other_schemes_round_trip(urn: str) -> None:
    link = to_digital_link(urn)
    assert link.startswith("https://id.gs1.org/")
    assert canonical_epc(link) == urn
    assert canonical_epc(link.replace("https://id.gs1.org", "https://resolver.example.com/x")) == urn
    assert parse_epc_uri(urn).uri == urn


@settings(max_examples=300)
@given(
    st.text(max_size=80)
    | st.from_regex(r"https?://[a-z.]{1,12}(/[0-9A-Za-z%]{0,20}){0,6}(\?[0-9=&]{0,12})?", fullmatch=True)
)
def test_random_text_never_raises(value: str) -> None:
    for function in (canonical_epc, canonical_class, bare_cbv, gln_of_party):
        result = function(value)
        assert result is None or isinstance(result, str)
    like, is_pattern = epc_pattern_to_like(value)
    assert isinstance(like, str) and isinstance(is_pattern, bool)
    assert all(isinstance(v, str) for v, _ in class_pattern_likes(value))


@settings(max_examples=200)
@given(st.sampled_from(["https://id.gs1.org/01/", "https://id.gs1.org/414/", "https://a.b/00/", "https://a.b/417/", "https://a.b/8004/"]), st.text(max_size=40))  # fmt: skip
def test_random_digital_link_tails_never_raise(head: str, tail: str) -> None:
    assert isinstance(canonical_epc(head + tail), str)
    assert gln_of_party(head + tail) is None or len(gln_of_party(head + tail) or "") == 13


# --- patterns --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("urn:epc:idpat:sgtin:0614141.112345.*", ("urn:epc:id:sgtin:0614141.112345.%", True)),
        ("urn:epc:idpat:sgtin:0614141.*.*", ("urn:epc:id:sgtin:0614141.%", True)),
        ("urn:epc:idpat:sgtin:*.*.*", ("urn:epc:id:sgtin:%", True)),
        ("urn:epc:idpat:sgtin:0614141.112345.A_1", ("urn:epc:id:sgtin:0614141.112345.A_1", False)),
        ("urn:epc:idpat:sscc:0614141.*", ("urn:epc:id:sscc:0614141.%", True)),
        ("urn:epc:idpat:sgln:0614141.07346.*", ("urn:epc:id:sgln:0614141.07346.%", True)),
        ("urn:epc:idpat:giai:95_0.*", ("urn:epc:id:giai:95\\_0.%", True)),
        ("urn:epc:idpat:sgtin:*.112345.*", ("urn:epc:idpat:sgtin:*.112345.*", False)),
        ("urn:epc:id:sgtin:0614141.112345.400", ("urn:epc:id:sgtin:0614141.112345.400", False)),
        ("https://id.gs1.org/01/10614141073464/21/2017", ("urn:epc:id:sgtin:0614141.107346.2017", False)),
        ("https://id.gs1.org/01/04012345666663", ("urn:epc:id:sgtin:4012345.066666.%", True)),
    ],
)
def test_epc_pattern_to_like(pattern: str, expected: tuple[str, bool]) -> None:
    assert epc_pattern_to_like(pattern) == expected


STORED_EPCS = [
    "urn:epc:id:sgtin:0614141.112345.400",
    "urn:epc:id:sgtin:0614141.112345.A_1",
    "urn:epc:id:sgtin:0614141.112345.A%2F1",
    "urn:epc:id:sgtin:0614141.212345.400",
    "urn:epc:id:sgtin:0614142.112345.400",
    "urn:epc:id:sgtin:061414.1123456.400",
    "urn:epc:id:sscc:0614141.1234567890",
    "urn:epc:id:sgln:0614141.11234.0",
]


def _matching(like: str, is_pattern: bool, values: list[str]) -> set[str]:
    """The values a SQL LIKE (or =) over a real table selects, in SQLite."""
    with sqlite3.connect(":memory:") as db:
        db.execute("create table t (v text)")
        db.executemany("insert into t values (?)", [(v,) for v in values])
        if is_pattern:
            rows = db.execute("select v from t where v like ? escape ?", (like, LIKE_ESCAPE))
        else:
            rows = db.execute("select v from t where v = ?", (like,))
        return {v for (v,) in rows}


@pytest.mark.parametrize(
    "pattern",
    [
        "urn:epc:idpat:sgtin:0614141.112345.*",
        "urn:epc:idpat:sgtin:0614141.*.*",
        "urn:epc:idpat:sgtin:*.*.*",
        "urn:epc:idpat:sgtin:0614141.112345.A_1",
        "urn:epc:idpat:sgtin:0614141.112345.A%2F1",
    ],
)
def test_like_patterns_select_what_the_gs1_pattern_matches(pattern: str) -> None:
    expected = {epc for epc in STORED_EPCS if SGTINPattern.parse(pattern).matches(epc)}
    assert _matching(*epc_pattern_to_like(pattern), STORED_EPCS) == expected
    assert expected


# --- class keys: one row per event and class answers the patterns that stop within the class ------------

PATTERNS = [
    "urn:epc:idpat:sgtin:0614141.112345.*",
    "urn:epc:idpat:sgtin:0614141.*.*",
    "urn:epc:idpat:sgtin:*.*.*",
    "urn:epc:idpat:sscc:0614141.*",
    "urn:epc:idpat:sscc:*.*",
    "urn:epc:idpat:sgln:0614141.11234.*",
    "https://id.gs1.org/01/10614141123459",  # a GTIN's Digital Link: its SGTIN pattern
]


def _like_matches(test: tuple[str, bool], value: str) -> bool:
    return bool(_matching(*test, [value]))


@pytest.mark.parametrize("pattern", PATTERNS)
def test_class_keys_select_the_events_the_pattern_selects(pattern: str) -> None:
    """The pattern over the class keys selects exactly the EPCs the pattern selects over the EPCs."""
    test = pattern_class_like(pattern)
    assert test is not None, pattern
    for epc in STORED_EPCS:
        key = epc_class_key(epc)
        assert key is not None and epc.startswith(key), epc
        assert _like_matches(test, key) == _like_matches(epc_pattern_to_like(pattern), epc), (pattern, epc)


@pytest.mark.parametrize(
    "pattern",
    [
        "urn:epc:id:sgtin:0614141.112345.400",  # one EPC
        "urn:epc:idpat:sgtin:0614141.112345.400",  # a pattern without '*': one EPC
        "urn:epc:idpat:usdod:2S194.*",  # a scheme without class keys
        "urn:epc:idpat:sgtin:0614141.1*.*",  # not a TDS pattern
        "urn:epc:class:lgtin:0614141.112345.L1",
    ],
)
def test_patterns_into_the_serial_are_left_to_the_epc_index(pattern: str) -> None:
    assert pattern_class_like(pattern) is None


_PART = st.text(alphabet="0123456789", min_size=1, max_size=8)
_SERIAL = st.text(alphabet="ABCxyz0129-._%2F", min_size=1, max_size=12)


@settings(max_examples=300)
@given(
    scheme=st.sampled_from(sorted(identifiers.CLASS_PARTS)),
    parts=st.lists(_PART, min_size=1, max_size=5),
    serial=_SERIAL,
    cut=st.integers(min_value=0, max_value=5),
)
def test_class_key_agrees_with_every_pattern_fuzzed(
    scheme: str, parts: list[str], serial: str, cut: int
) -> None:
    """For any EPC of a known scheme and any TDS pattern of that scheme: a class key, when there is one,
    is a prefix of the EPC, and the pattern's class test matches it exactly when the pattern matches
    the EPC."""
    epc = f"urn:epc:id:{scheme}:{'.'.join(parts)}.{serial}"
    key = epc_class_key(epc)
    if key is None:
        assert len(parts) < identifiers.CLASS_PARTS[scheme]
        return
    assert epc.startswith(key) and key.count(".") == identifiers.CLASS_PARTS[scheme]
    literal = parts[: min(cut, len(parts))]
    stars = max(1, identifiers.CLASS_PARTS[scheme] + 1 - len(literal))
    pattern = f"urn:epc:idpat:{scheme}:" + ".".join([*literal, *["*"] * stars])
    test = pattern_class_like(pattern)
    if test is not None:
        assert _like_matches(test, key) == _like_matches(epc_pattern_to_like(pattern), epc), (pattern, epc)


@given(st.text(max_size=60))
def test_class_key_of_any_text_never_raises(value: str) -> None:
    key = epc_class_key(value)
    assert key is None or value.startswith(key)
    assert pattern_class_like(value) is None or value.startswith(("urn:epc:idpat:", "http"))


STORED_CLASSES = [
    "urn:epc:class:lgtin:0614141.112345.LOT1",
    "urn:epc:class:lgtin:0614141.112345.L_2",
    "urn:epc:class:lgtin:0614141.212345.LOT1",
    "urn:epc:class:lgtin:0614142.112345.LOT1",
    "urn:epc:idpat:sgtin:0614141.112345.*",
    "urn:epc:idpat:sgtin:0614141.212345.*",
    "urn:epc:idpat:sgtin:0614142.112345.*",
    "urn:epc:idpat:grai:0614141.12345.*",
]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (
            "urn:epc:idpat:sgtin:0614141.112345.*",
            {
                "urn:epc:class:lgtin:0614141.112345.LOT1",
                "urn:epc:class:lgtin:0614141.112345.L_2",
                "urn:epc:idpat:sgtin:0614141.112345.*",
            },
        ),
        (
            "urn:epc:idpat:sgtin:0614141.*.*",
            {
                "urn:epc:class:lgtin:0614141.112345.LOT1",
                "urn:epc:class:lgtin:0614141.112345.L_2",
                "urn:epc:class:lgtin:0614141.212345.LOT1",
                "urn:epc:idpat:sgtin:0614141.112345.*",
                "urn:epc:idpat:sgtin:0614141.212345.*",
            },
        ),
        ("urn:epc:idpat:sgtin:*.*.*", {c for c in STORED_CLASSES if "grai" not in c}),
        ("urn:epc:class:lgtin:0614141.112345.L_2", {"urn:epc:class:lgtin:0614141.112345.L_2"}),
        ("https://id.gs1.org/01/00614141123452", set()),  # GTIN 00614141123452 is CP 0614141, item 012345
        ("urn:epc:idpat:grai:0614141.*.*", {"urn:epc:idpat:grai:0614141.12345.*"}),
    ],
)
def test_class_patterns_select_lgtins_and_quantity_patterns(pattern: str, expected: set[str]) -> None:
    found: set[str] = set()
    for like, is_pattern in class_pattern_likes(pattern):
        found |= _matching(like, is_pattern, STORED_CLASSES)
    assert found == expected


# --- parties ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "gln"),
    [
        ("urn:epc:id:pgln:0614141.00000", "0614141000005"),
        ("urn:epc:id:pgln:061414100000.", "0614141000005"),
        ("urn:epc:id:sgln:0614141.00000.0", "0614141000005"),
        ("urn:epc:id:sgln:0614141.00000.dock%2F7", "0614141000005"),
        ("https://id.gs1.org/417/0614141000005", "0614141000005"),
        ("https://id.example.com/414/0614141000005/254/7", "0614141000005"),
        ("https://id.example.com/414/0614141000005?x=1", "0614141000005"),
        ("0614141000005", "0614141000005"),
        ("0614141000006", None),
        ("https://id.gs1.org/417/0614141000006", None),
        ("https://id.gs1.org/417/06141410000051", None),
        ("urn:epc:id:pgln:0614141.0000", None),
        ("urn:epc:id:pgln:06141.4100000", None),
        ("urn:epc:id:sgln:0614141.00000", None),
        ("urn:epc:id:sgtin:0614141.107346.2017", None),
        ("", None),
    ],
)
def test_gln_of_party(value: str, gln: str | None) -> None:
    assert gln_of_party(value) == gln
    assert gln_of_party(value) == gln  # cached


@settings(max_examples=200)
@given(st.text("0123456789", min_size=12, max_size=12), st.text("0123456789ABCxyz", min_size=1, max_size=5))
def test_gln_of_party_agrees_with_gs1(body: str, extension: str) -> None:
    gln = _gtin(body)
    length = company_prefix_length_at(gln, 1)
    assume(length is not None and 6 <= length <= 12)
    assert length is not None
    sgln = SGLN(gln[:length], gln[length:12], extension)
    assert gln_of_party(sgln.uri) == SGLN.parse(sgln.uri).gln == gln
    pgln = f"urn:epc:id:pgln:{gln[:length]}.{gln[length:12]}"
    assert gln_of_party(pgln) == gln
    assert canonical_epc(f"https://id.gs1.org/417/{gln}") == pgln
    assert gln_of_party(f"https://id.gs1.org/414/{gln}") == gln_of_party(gln) == gln


# --- CBV values ------------------------------------------------------------------------------------------


def test_bare_cbv_knows_every_term_in_every_form() -> None:
    checked = 0
    for vocab in VOCABULARIES.values():
        for term in vocab.terms:
            forms = {term, vocab.web_uri(term), vocab.compact(term), vocab.urn(term)}
            if vocab.web_prefix.startswith("https://gs1.org/voc/"):
                forms |= {
                    vocab.web_uri(term).replace("https://gs1.org/", prefix)
                    for prefix in ("http://gs1.org/", "https://www.gs1.org/")
                }
            for form in forms:
                assert bare_cbv(form) == term, form
                checked += 1
    assert checked > 400


def test_bare_cbv_keeps_other_values() -> None:
    assert bare_cbv(None) is None
    assert bare_cbv("https://example.com/bizstep/summarising") == "https://example.com/bizstep/summarising"
    assert bare_cbv("https://gs1.org/voc/NoSuchTerm") == "https://gs1.org/voc/NoSuchTerm"
    assert bare_cbv("urn:epcglobal:cbv:bizstep:no_such_step") == "urn:epcglobal:cbv:bizstep:no_such_step"


# --- times -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1970-01-01T00:00:00Z", (0, "+00:00")),
        ("1970-01-01T01:00:00+01:00", (0, "+01:00")),
        ("1969-12-31T23:59:59.999999Z", (-1, "+00:00")),
        ("2005-04-03T20:33:31.116-06:00", (1112582011116000, "-06:00")),
        ("2005-04-03T20:33:31.116000-06:00", (1112582011116000, "-06:00")),
        ("2022-04-13T12:35:29.017069617Z", (1649853329017069, "+00:00")),
        ("2006-11-07T13:00Z", (1162904400000000, "+00:00")),
        ("2024-03-01T10:00:00+0130", (1709281800000000, "+01:30")),
    ],
)
def test_parse_time_us(text: str, expected: tuple[int, str]) -> None:
    assert parse_time_us(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "2024-03-01", "2024-03-01T10:00:00", "22-07-2026", "2024-02-30T10:00:00Z", "2024-03-01T24:00:00Z", "2024-03-01 10:00:00Z", "2024-03-01t10:00:00z", "now"],
)  # fmt: skip
def test_parse_time_us_refuses(text: str) -> None:
    with pytest.raises(EPCISError, match="no date-time with an offset"):
        parse_time_us(text)


@settings(max_examples=300)
@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(-18 * 60 + 1, 18 * 60 - 1),
    st.sampled_from(["auto", "milliseconds", "seconds", "microseconds"]),
)
def test_parse_time_us_is_exact(moment: datetime, offset_minutes: int, timespec: str) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    text = aware.isoformat(timespec=timespec)
    shown = datetime.fromisoformat(text)
    expected = (shown - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    micros, offset = parse_time_us(text)
    assert micros == expected
    assert offset == text[-6:]


@settings(max_examples=300)
@given(
    st.text(max_size=40)
    | st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{0,15}[Z+-]?[0-9:]{0,6}", fullmatch=True)
)
def test_parse_time_us_raises_only_epcis_error(text: str) -> None:
    try:
        micros, offset = parse_time_us(text)
    except EPCISError as exc:
        assert repr(text) in str(exc)
        return
    assert isinstance(micros, int) and len(offset) == 6
