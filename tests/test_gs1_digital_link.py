"""GS1 Digital Link URIs: the examples in the shared GS1 files, the dictionary's key-qualifier
rules, the behaviour of GS1's reference parser, and round trips with element strings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from packtrail.gs1.dictionary import AI_TABLE
from packtrail.gs1.digital_link import DEFAULT_RESOLVER, DigitalLink
from packtrail.gs1.element_string import ElementString, validate_value
from packtrail.gs1.errors import GS1Error
from strategies import CSET82, digital_link_pairs

EXAMPLES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "digital-link" / "examples.json").read_text("utf-8")
)
GTIN = "09506000134352"
BASE = "https://id.gs1.org"


def error(uri: str, **kwargs: Any) -> GS1Error:
    with pytest.raises(GS1Error) as caught:
        DigitalLink.parse(uri, **kwargs)
    return caught.value


def pairs(uri: str, **kwargs: Any) -> tuple[tuple[str, str], ...]:
    return DigitalLink.parse(uri, **kwargs).pairs()


# -- the examples in the shared standards --------------------------------------------------------------------


@pytest.mark.parametrize("case", EXAMPLES, ids=[case["uri"] for case in EXAMPLES])
def test_examples_from_gs1_files(case: dict[str, Any]) -> None:
    if "pairs" in case:
        link = DigitalLink.parse(case["uri"])
        assert [list(pair) for pair in link.pairs()] == case["pairs"]
        assert link.element_string().pairs == link.pairs()
        assert DigitalLink.parse(link.uri) == link  # canonical form reads back the same
    else:
        err = error(case["uri"])
        assert err.ai == case["error_ai"], case["note"]


def test_examples_cover_both_outcomes() -> None:
    assert sum("pairs" in case for case in EXAMPLES) >= 30
    assert sum("error_ai" in case for case in EXAMPLES) >= 4


# -- the dictionary's own examples (header of gs1-syntax-dictionary.txt) -------------------------------------


@pytest.mark.parametrize(
    ("path", "valid"),
    [
        (f"/01/{GTIN}/22/CPV/10/LOT/21/SER", True),  # "https://../01/../22/../10/../21/.." - valid
        (f"/01/{GTIN}/22/CPV/21/SER", True),  # valid (good order)
        (f"/01/{GTIN}/10/LOT", True),  # valid (good order)
        (f"/01/{GTIN}/10/LOT/22/CPV", False),  # invalid (bad order)
        (f"/01/{GTIN}/235/TPX", True),  # valid (2nd alternative)
        (f"/01/{GTIN}/22/CPV/10/LOT/235/TPX", False),  # invalid (don't mix)
    ],
)
def test_key_qualifier_examples_of_the_dictionary(path: str, valid: bool) -> None:
    uri = BASE + path
    if valid:
        assert DigitalLink.parse(uri).uri == uri
    else:
        err = error(uri)
        assert err.ai == "01"


@pytest.mark.parametrize(
    ("key", "value", "qualifiers"),
    [
        ("00", "095060001343520000", ()),
        ("253", "9506000134352ABC", ()),
        ("255", "9506000134352123", ()),
        ("401", "9506000134ABC", ()),
        ("402", "95060001343520009", ()),
        ("414", "9506000134352", (("254", "32a/b"),)),
        ("414", "9506000134352", (("7040", "1ABC"),)),
        ("417", "9506000134352", (("7040", "1ABC"),)),
        ("8003", "095060001343520A1", ()),
        ("8004", "9506000134ABC", (("7040", "1AB-"),)),
        ("8006", "095060001343520102", (("10", "L"), ("21", "S"))),
        ("8010", "9506000134#", (("8011", "1"),)),
        ("8013", "1987654Ad4X4bL5ttr2310c2K", ()),
        ("8017", "950600013434000005", (("8019", "1"),)),
        ("8018", "950600013434000005", (("8019", "12"),)),
    ],
)
def test_every_primary_key(key: str, value: str, qualifiers: tuple[tuple[str, str], ...]) -> None:
    if key in ("253", "402", "8003", "8017", "8018"):  # put a right check digit in
        from packtrail.gs1.checkdigit import gs1_check_digit

        body = {
            "253": value[:12],
            "402": value[:16],
            "8003": value[1:13],
            "8017": value[:17],
            "8018": value[:17],
        }
        digit = gs1_check_digit(body[key])
        value = {
            "253": body["253"] + digit + value[13:],
            "402": body["402"] + digit,
            "8003": "0" + body["8003"] + digit + value[14:],
            "8017": body["8017"] + digit,
            "8018": body["8018"] + digit,
        }[key]
    pairs_ = ((key, value), *qualifiers)
    link = DigitalLink.from_element_string(ElementString.from_pairs(pairs_))
    assert link.primary_key == (key, value)
    assert link.qualifiers == qualifiers
    assert DigitalLink.parse(link.uri) == link


# -- GS1's reference parser's rules (gs1-syntax-engine dl.c), in our own words -------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        f"http://a/01/{GTIN}",
        f"HTTP://a/01/{GTIN}",
        f"https://a/01/{GTIN}",
        f"HTTPS://ID.GS1.ORG/01/{GTIN}/10/ABC/21/XYZ",  # QR codes in alphanumeric mode
        f"https://xn--fsq.xn--0zwm56d/01/{GTIN}",  # punycode
        f"https://a./01/{GTIN}",
        f"https://a:65535/01/{GTIN}",
        f"https://192.0.2.1/01/{GTIN}",
        f"https://[2001:db8::1]/01/{GTIN}",
        f"https://a/stem/01/{GTIN}",
        f"https://a/more/stem/01/{GTIN}",
        f"https://a/01/faux/01/{GTIN}",  # the rightmost primary key wins
        f"https://a/01/{GTIN}?",
        f"https://a/01/{GTIN}#",
        f"https://a/01/{GTIN}#fragment",
        f"https://a/01/{GTIN}?17=270131#fragment",
        f"https://a/01/{GTIN}?&&&17=270131&&&&",
    ],
)
def test_uris_the_reference_parser_accepts(uri: str) -> None:
    assert DigitalLink.parse(uri).primary_key == ("01", GTIN)


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("", "starts with http:// or https://"),
        ("ftp://a/01/" + GTIN, "starts with http:// or https://"),
        ("http://", "no host name"),
        ("http:///01/" + GTIN, "no host name"),
        ("http://a", "no path"),
        ("http://a?01=" + GTIN, "no path"),
        ("http://a/", "no GS1 primary key"),
        ("http://a/b", "no GS1 primary key"),
        ("http://a/b/", "path ends in '/'"),
        ("https://$a/01/" + GTIN, "'$' is not allowed in a host name"),
        ("https://user@a/01/" + GTIN, "'@' is not allowed in a host name"),
        ("https://[fe80::1%25lo]/01/" + GTIN, "'%' is not allowed in a host name"),
        ("https://a/01/" + GTIN + "/21/S 1", "' ' is not allowed in a URI"),
        ("https://a/01/" + GTIN + "/21/Sé", "'é' is not allowed in a URI"),
        ("https://a/01/" + GTIN + "/21", "no GS1 primary key"),
        ("https://a/01/" + GTIN + "/", "path ends in '/'"),
        ("https://a/01/" + GTIN + "?17=", "AI (17) in the query string has no value"),
        ("https://a/01/" + GTIN + "?17=270131&999=x", "'999' is numeric but no Application Identifier"),
        ("https://a/01/" + GTIN + "/89/ABC", "no GS1 primary key"),
        ("https://a/01/" + GTIN + "?99=A&89=B", "'89' is numeric but no Application Identifier"),
        ("https://a/01/" + GTIN + "?10=ABC", "it belongs in the path"),
        ("https://a/01/" + GTIN + "/10/A?01=" + GTIN, "AI (01) appears twice"),
        ("https://a/01/" + GTIN + "/10/A?10=A", "AI (10) appears twice"),
        ("https://a/01/" + GTIN + "/21/A?99=X&99=X", "AI (99) appears twice"),
        ("https://a/01/" + GTIN + "?21=A", "it belongs in the path"),
        ("https://a/01/" + GTIN + "?3103=000195&3102=000195", "must not be used together"),
        ("https://a/01/" + GTIN + "?7040=1ABC", "not allowed as a Digital Link data attribute"),
        ("https://a/01/" + GTIN + "/21/S?22=A", "it belongs in the path"),
        ("https://a/01/" + GTIN + "/21/A%2", "'%' must start a percent-encoding"),
        ("https://a/01/" + GTIN + "/21/A%G1", "'%' must start a percent-encoding"),
        ("https://a/01/" + GTIN + "/21/A%FF", "not valid UTF-8"),
        ("https://a/01/" + GTIN + "/21/A%00", "byte 0x00 is not allowed here"),
        ("https://a/01/" + GTIN + "/22/ABC%2d123?99=ABC&98=XYZ+987", "' ' is not allowed here"),
        ("https://a/01/2112345678900", "must have 14 digits, found 13"),
        ("https://a/01/416000336108", "must have 14 digits, found 12"),
        ("https://a/01/02345673", "must have 14 digits, found 8"),
        ("https://a/01/" + GTIN + "/21/S/10/L", "out of order"),
        ("https://a/253/1231231231232TEST56789012345678", "data too long"),
    ],
)
def test_uris_that_are_rejected(uri: str, words: str) -> None:
    assert words in str(error(uri))


def test_plus_is_a_plus_in_the_path_and_a_space_in_the_query() -> None:
    link = DigitalLink.parse(f"https://a/01/{GTIN}/22/ABC+123?99=ABC&98=XYZ%2f987")
    assert link.pairs() == (("01", GTIN), ("22", "ABC+123"), ("99", "ABC"), ("98", "XYZ/987"))
    assert DigitalLink.parse(f"https://a/01/{GTIN}?foo=a+b").other_parameters == (("foo", "a b"),)


def test_percent_encoded_values_in_any_case() -> None:
    link = DigitalLink.parse(f"https://a/01/{GTIN}/22/ABC%2d123%2D4?99=ABC&98=XYZ%2f987")
    assert link.qualifiers == (("22", "ABC-123-4"),)
    assert link.uri == f"https://a/01/{GTIN}/22/ABC-123-4?99=ABC&98=XYZ%2F987"


def test_an_alternative_qualifier_sequence_lets_a_qualifier_of_the_other_be_an_attribute() -> None:
    link = DigitalLink.parse(f"https://id.gs1.org/01/{GTIN}/235/XYZ?10=ABC123")
    assert link.qualifiers == (("235", "XYZ"),)
    assert link.attributes == (("10", "ABC123"),)


def test_examples_of_the_digital_link_standard() -> None:
    """As quoted in GS1's reference parser tests (their GTIN 09520123456788)."""
    gtin = "09520123456788"
    assert pairs(f"https://id.gs1.org/01/{gtin}") == (("01", gtin),)
    assert pairs(f"https://id.gs1.org/01/{gtin}/22/2A") == (("01", gtin), ("22", "2A"))
    assert pairs(f"https://id.gs1.org/01/{gtin}/10/ABC123") == (("01", gtin), ("10", "ABC123"))
    assert pairs(f"https://id.gs1.org/01/{gtin}/21/12345") == (("01", gtin), ("21", "12345"))
    assert pairs(f"https://id.gs1.org/01/{gtin}/10/ABC1/21/12345?17=180426") == (
        ("01", gtin),
        ("10", "ABC1"),
        ("21", "12345"),
        ("17", "180426"),
    )
    assert pairs(f"https://id.gs1.org/01/{gtin}?3103=000195") == (("01", gtin), ("3103", "000195"))
    assert pairs(f"https://example.com/01/{gtin}?3103=000195&3922=0299&17=201225") == (
        ("01", gtin),
        ("3103", "000195"),
        ("3922", "0299"),
        ("17", "201225"),
    )
    assert pairs("https://id.gs1.org/00/952012345678912345") == (("00", "952012345678912345"),)
    assert pairs(f"https://id.gs1.org/00/952012345678912345?02={gtin}&37=25&10=ABC123") == (
        ("00", "952012345678912345"),
        ("02", gtin),
        ("37", "25"),
        ("10", "ABC123"),
    )
    assert pairs("https://id.gs1.org/414/9520123456788") == (("414", "9520123456788"),)
    assert pairs("https://id.gs1.org/414/9520123456788/254/32a%2Fb") == (
        ("414", "9520123456788"),
        ("254", "32a/b"),
    )
    link = DigitalLink.parse("https://example.com/8004/9520614141234567?01=9520123456788")
    assert link.pairs() == (("8004", "9520614141234567"), ("01", gtin))
    assert link.warnings == ("GTIN 9520123456788 padded to 14 digits",)


# -- strict and lenient --------------------------------------------------------------------------------------


def test_parse_to_element_string() -> None:
    uri = f"https://id.gs1.org/01/{GTIN}/21/S1?17=270131"
    assert DigitalLink.parse_to_element_string(uri) == DigitalLink.parse(uri).element_string()
    lenient = DigitalLink.parse_to_element_string("https://id.gs1.org/01/9506000134352/10/L", strict=False)
    assert lenient.pairs == (("01", GTIN), ("10", "L"))
    assert lenient.warnings[0] == "GTIN 9506000134352 padded to 14 digits"
    assert "no serial number" in lenient.warnings[1]
    with pytest.raises(GS1Error):
        DigitalLink.parse_to_element_string("https://id.gs1.org/01/9506000134352/10/L")


def test_a_13_digit_gtin_in_the_path() -> None:
    uri = "https://id.gs1.org/01/9506000134352/21/S1"
    err = error(uri)
    assert (err.ai, err.position) == ("01", 22)
    link = DigitalLink.parse(uri, strict=False)
    assert link.primary_key == ("01", GTIN)
    assert link.warnings == ("GTIN 9506000134352 padded to 14 digits",)
    assert link.uri == f"https://id.gs1.org/01/{GTIN}/21/S1"


def test_qualifiers_out_of_order() -> None:
    uri = f"https://id.gs1.org/01/{GTIN}/21/S1/10/L1"
    err = error(uri)
    assert "found 21/10, expected the order 22/10/21 or 235" in err.reason
    link = DigitalLink.parse(uri, strict=False)
    assert link.qualifiers == (("10", "L1"), ("21", "S1"))
    assert link.warnings == ("key qualifiers reordered into the standard order",)


def test_qualifiers_in_the_query_string() -> None:
    uri = f"https://id.gs1.org/01/{GTIN}/21/S1?10=L1&17=270131"
    err = error(uri)
    assert (err.ai, err.position) == ("10", 43)
    link = DigitalLink.parse(uri, strict=False)
    assert link.qualifiers == (("10", "L1"), ("21", "S1"))
    assert link.attributes == (("17", "270131"),)
    assert link.warnings == ("key qualifier (10) moved from the query string into the path",)
    assert link.element_string().pairs == (("01", GTIN), ("10", "L1"), ("21", "S1"), ("17", "270131"))


def test_qualifiers_of_two_sequences_never_combine() -> None:
    assert "cannot be combined" in str(error(f"https://id.gs1.org/01/{GTIN}/235/T/10/L", strict=False))
    assert "not allowed as a Digital Link data attribute" in str(
        error(f"https://id.gs1.org/01/{GTIN}/22/C?235=T", strict=False)
    )


def test_a_trailing_slash() -> None:
    uri = f"https://id.gs1.org/01/{GTIN}/21/S1/"
    assert error(uri).position == len(uri) - 1
    link = DigitalLink.parse(uri, strict=False)
    assert link.pairs() == (("01", GTIN), ("21", "S1"))
    assert link.warnings == ("trailing '/' removed from the path",)


def test_repeats_in_the_query_string() -> None:
    uri = f"https://id.gs1.org/01/{GTIN}/21/S1?17=270131&17=270131"
    assert "appears twice" in str(error(uri))
    assert DigitalLink.parse(uri, strict=False).attributes == (("17", "270131"),)
    assert "appears twice" in str(error(uri.replace("&17=270131", "&17=270130"), strict=False))


def test_numeric_parameters_that_are_no_ai() -> None:
    uri = f"https://id.gs1.org/01/{GTIN}?999=x&linkType=gs1:pip"
    link = DigitalLink.parse(uri, strict=False)
    assert link.other_parameters == (("999", "x"), ("linkType", "gs1:pip"))
    assert link.warnings == ("query parameter '999' is numeric but no AI: kept as a parameter",)


def test_other_parameters_are_kept_as_given() -> None:
    link = DigitalLink.parse(f"https://id.gs1.org/01/{GTIN}?linkType=gs1%3Apip&context=a+b&single&x=%zz")
    assert link.other_parameters == (
        ("linkType", "gs1:pip"),
        ("context", "a b"),
        ("single", ""),
        ("x", "%zz"),
    )
    assert link.uri == f"https://id.gs1.org/01/{GTIN}?linkType=gs1%3Apip&context=a%20b&single&x=%25zz"


def test_values_are_validated_as_in_a_barcode_with_positions_in_the_uri() -> None:
    err = error(f"https://id.gs1.org/01/{GTIN}/21/S1?17=270230")
    assert (err.ai, err.position) == ("17", 46)
    err = error("https://id.gs1.org/01/09506000134353/21/S1")
    assert (err.ai, err.position) == ("01", 22)
    err = error(f"https://id.gs1.org/01/{GTIN}/10/{'L' * 21}")
    assert (err.ai, err.position) == ("10", 40)


def test_association_rules_apply() -> None:
    assert "must be used together" in str(error("https://id.gs1.org/00/095060001343520000?10=S"))
    assert "must not be used together" in str(error(f"https://id.gs1.org/01/{GTIN}?02={GTIN}&37=1"))


@pytest.mark.parametrize("value", [None, 1, b"https://id.gs1.org/01/09506000134352"])
def test_non_text_is_a_gs1error(value: object) -> None:
    with pytest.raises(GS1Error, match="expected a URI as text"):
        DigitalLink.parse(value)  # type: ignore[arg-type]


# -- building URIs -------------------------------------------------------------------------------------------


def test_from_element_string() -> None:
    es = ElementString.parse(f"(01){GTIN}(17)270131(10)ABC/1(21)S1(710)PZN1(3103)000195")
    link = DigitalLink.from_element_string(es)
    assert link.uri == (f"{BASE}/01/{GTIN}/10/ABC%2F1/21/S1?17=270131&3103=000195&710=PZN1")
    assert link.element_string() is es
    assert str(link) == link.uri
    again = DigitalLink.parse(link.uri)
    assert dict(again.pairs()) == dict(es.pairs)


def test_from_element_string_picks_the_sequence_holding_most_qualifiers() -> None:
    link = DigitalLink.from_element_string(
        [("21", "S"), ("01", GTIN), ("10", "L")], base="https://example.com/"
    )
    assert link.uri == f"https://example.com/01/{GTIN}/10/L/21/S"
    link = DigitalLink.from_element_string([("01", GTIN), ("235", "T")])
    assert link.uri == f"{BASE}/01/{GTIN}/235/T"


def test_from_element_string_of_a_key_without_qualifiers() -> None:
    link = DigitalLink.from_element_string([("00", "095060001343520000"), ("02", GTIN), ("37", "12")])
    assert link.uri == f"{BASE}/00/095060001343520000?02={GTIN}&37=12"


def test_from_element_string_first_primary_key_wins() -> None:
    gsrn = "795260646688514634"
    link = DigitalLink.from_element_string([("8017", gsrn), ("99", "000001"), ("253", "9526064000028000001")])
    assert link.uri == f"{BASE}/8017/{gsrn}?99=000001&253=9526064000028000001"


@pytest.mark.parametrize(
    ("pairs_", "words"),
    [
        ([("10", "L"), ("240", "A")], None),
        ([("01", GTIN), ("235", "T"), ("10", "L")], "AI (235) cannot be carried"),
        ([("414", "9506000134352"), ("254", "A"), ("7040", "1ABC")], "AI (7040) cannot be carried"),
    ],
)
def test_from_element_string_errors(pairs_: list[tuple[str, str]], words: str | None) -> None:
    es = ElementString.from_pairs(pairs_, check_associations=False)
    with pytest.raises(GS1Error) as caught:
        DigitalLink.from_element_string(es)
    assert words is None or words in str(caught.value)


def test_every_cset82_character_round_trips_through_percent_encoding() -> None:
    for start in range(0, len(CSET82), 20):
        value = CSET82[start : start + 20]
        link = DigitalLink.from_element_string([("01", GTIN), ("10", value)], base=DEFAULT_RESOLVER)
        assert set(link.uri[len(BASE) :]) <= set(
            "/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-._~%"
        )
        assert DigitalLink.parse(link.uri).qualifiers == (("10", value),)


# -- properties ----------------------------------------------------------------------------------------------


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(digital_link_pairs(), st.sampled_from([BASE, "https://example.com/a/b", "http://x:8080/"]))
def test_element_strings_to_digital_link_and_back(generated: list[tuple[str, str]], base: str) -> None:
    es = ElementString.from_pairs(generated)
    link = DigitalLink.from_element_string(es, base=base)
    parsed = DigitalLink.parse(link.uri)
    assert parsed == link
    assert dict(parsed.pairs()) == dict(generated)
    assert parsed.element_string().pairs == parsed.pairs()
    assert sorted(ElementString.parse(parsed.element_string().scan_data()).pairs) == sorted(generated)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
@example("https://a/01/" + GTIN + "/10/%")
@example("https://a/01/" + GTIN + "?%=1")
@example("https://a/01//21/S")
@example("https://a//01/" + GTIN)
@example("https://a/01/" + GTIN + "?10")
@example("https://a/01/" + GTIN + "?=x")
@example("https://a/01/" + GTIN + "?01=09506000134352")
@example("https://a/01/" + GTIN + "/21/S?21=S")
@example("https://a/01/" + GTIN + "/21/S?21=T")
@example("https://a/٠١/" + GTIN)
@example("https://a/01/" + GTIN + "?١٧=270131")
def test_random_text_raises_gs1error_or_parses(text: str) -> None:
    for strict in (True, False):
        try:
            link = DigitalLink.parse(text, strict=strict)
        except GS1Error:
            continue
        for ai, value in link.pairs():
            validate_value(AI_TABLE[ai], value)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(digital_link_pairs(), st.data())
def test_mutated_uris_raise_gs1error_or_parse_to_valid_data(
    generated: list[tuple[str, str]], data: st.DataObject
) -> None:
    uri = DigitalLink.from_element_string(ElementString.from_pairs(generated)).uri
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(uri)))
        char = data.draw(st.sampled_from([*"/?&=%#+:@ 0123456789A", "%2F", "%41", "é", "\x1d"]))
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert":
            uri = uri[:i] + char + uri[i:]
        elif action == "delete":
            uri = uri[:i] + uri[i + 1 :]
        else:
            uri = uri[:i] + char + uri[i + 1 :]
    for strict in (True, False):
        try:
            link = DigitalLink.parse(uri, strict=strict)
        except GS1Error:
            continue
        for ai, value in link.pairs():
            validate_value(AI_TABLE[ai], value)
        assert DigitalLink.parse(link.uri, strict=strict).pairs() == link.pairs()
