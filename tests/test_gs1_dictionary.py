"""The GS1 Barcode Syntax Dictionary as compiled by packtrail: the table, its syntax rules
and the examples written in the dictionary's own header."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from packtrail.gs1 import dictionary
from packtrail.gs1.dictionary import AI_TABLE, DICTIONARY_RELEASE, Component, lookup_ai, pattern_matches
from packtrail.gs1.element_string import ElementString
from packtrail.gs1.errors import GS1Error

TEXT = resources.files("packtrail.gs1").joinpath("data/gs1-syntax-dictionary.txt").read_text("utf-8")
ENTRY_LINES = [line for line in TEXT.splitlines() if line.strip() and not line.startswith("#")]


def _expanded(spec: str) -> list[str]:
    if "-" not in spec:
        return [spec]
    first, last = spec.split("-")
    return [str(n).zfill(len(first)) for n in range(int(first), int(last) + 1)]


def test_release_and_size() -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", DICTIONARY_RELEASE)
    assert f"# Release: {DICTIONARY_RELEASE}" in TEXT
    expected = [ai for line in ENTRY_LINES for ai in _expanded(line.split()[0])]
    assert sorted(AI_TABLE) == sorted(expected)
    assert len(AI_TABLE) == len(set(expected)) == 541


def test_every_ai_is_two_to_four_ascii_digits_and_the_codes_are_prefix_free() -> None:
    for ai, definition in AI_TABLE.items():
        assert re.fullmatch(r"[0-9]{2,4}", ai) and definition.ai == ai
        for cut in range(2, len(ai)):
            assert ai[:cut] not in AI_TABLE


def test_every_definition_is_consistent() -> None:
    for ai, d in AI_TABLE.items():
        assert d.components, ai
        assert d.min_length == sum(c.min_length for c in d.components if not c.optional)
        assert d.max_length == sum(c.max_length for c in d.components)
        assert 1 <= d.min_length <= d.max_length <= 90
        assert d.title or ai in ("8110", "8112")  # the coupon AIs have no title in the dictionary
        for c in d.components[:-1]:  # only the final component may vary in length
            assert c.min_length == c.max_length, ai
        optional = [c.optional for c in d.components]
        assert optional == sorted(optional), ai  # no mandatory component after an optional one
        if d.dl_qualifier_sequences:
            assert d.dl_primary_key


def test_flags() -> None:
    """``*``: predefined length, no FNC1 after it; ``?``: a Digital Link data attribute."""
    predefined = {ai for ai, d in AI_TABLE.items() if d.predefined_length}
    # GS1 General Specifications figure 7.8.5-2: AIs of predefined length start with these.
    starts = {"00", "01", "02", "03", "04", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20", "31",
              "32", "33", "34", "35", "36", "41"}  # fmt: skip
    assert {ai[:2] for ai in predefined} <= starts
    assert {"00", "01", "17", "3103", "410", "414"} <= predefined
    assert not {"10", "21", "422", "8006", "7003"} & predefined
    assert all(d.fixed_length for d in (AI_TABLE[ai] for ai in predefined))
    assert AI_TABLE["17"].dl_data_attribute and AI_TABLE["01"].dl_data_attribute
    assert not AI_TABLE["21"].dl_data_attribute and not AI_TABLE["7040"].dl_data_attribute


def test_components_and_linters() -> None:
    assert AI_TABLE["01"].components == (Component("N", 14, 14, False, ("csum", "gcppos2")),)
    assert AI_TABLE["10"].components == (Component("X", 1, 20, False, ()),)
    assert AI_TABLE["253"].components == (
        Component("N", 13, 13, False, ("csum", "gcppos1")),
        Component("X", 1, 17, True, ()),
    )
    assert AI_TABLE["8008"].components[2:] == (
        Component("N", 2, 2, True, ("mi",)),
        Component("N", 2, 2, True, ("ss",)),
    )
    assert AI_TABLE["8010"].components[0].charset == "Y"
    assert AI_TABLE["8030"].components[0].charset == "Z"
    assert AI_TABLE["8014"].components[0].linters == ("csumalpha", "gcppos1", "hasnondigit")
    assert (AI_TABLE["8008"].min_length, AI_TABLE["8008"].max_length) == (8, 12)


def test_titles() -> None:
    assert AI_TABLE["01"].title == "GTIN"
    assert AI_TABLE["17"].title == "USE BY or EXPIRY"
    assert AI_TABLE["3140"].title == "AREA (m²)"


@pytest.mark.parametrize(
    ("ai", "places"),
    [("3100", 0), ("3103", 3), ("3695", 5), ("3902", 2), ("3915", 5), ("3925", 5), ("3932", 2),
     ("3941", 1), ("3955", 5), ("01", None), ("7004", None), ("8111", None), ("4330", None)],
)  # fmt: skip
def test_decimal_places(ai: str, places: int | None) -> None:
    assert AI_TABLE[ai].decimal_places == places


def test_requirements_and_exclusions() -> None:
    """``req=01+21,02,35nn`` reads: (01) with (21), or (02), or a (35nn); each ``req=`` a rule."""
    assert AI_TABLE["21"].requires == ((("01",), ("03",), ("8006",)),)
    assert AI_TABLE["37"].requires == ((("00",),), (("02",), ("8026",)))
    assert AI_TABLE["7004"].requires == ((("01", "10"),),)
    assert AI_TABLE["8030"].requires == (
        (("00",), ("01", "21"), ("253",), ("255",), ("8003",), ("8004",), ("8006", "21"), ("8010", "8011"),
         ("8017",), ("8018",)),
    )  # fmt: skip
    assert AI_TABLE["7030"].title == "PROCESSOR # 0"  # a '#' after the first one belongs to the title
    assert AI_TABLE["3920"].requires[1] == (("30",), ("31nn",), ("32nn",), ("35nn",), ("36nn",))
    assert AI_TABLE["3900"].excludes == ("390n", "391n", "394n", "8111")
    assert AI_TABLE["02"].excludes == ("01", "03")


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        # req=01+21,02,35nn-style rules: AI (8030) needs (00) or (01)+(21) or ...
        ("(01)09506000134352(21)S(8030)AAA", True),
        ("(01)09506000134352(8030)AAA", False),
        ("(00)095060001343520000(8030)AAA", True),
        # a pattern: AI (3922) needs (30) or a (31nn), (32nn), (35nn), (36nn), besides (01)
        ("(01)09506000134352(3103)000100(3922)0299", True),
        ("(01)09506000134352(3560)000100(3922)0299", True),
        ("(01)09506000134352(3922)0299", False),
        # ex=8111,394n-style: AI (3940) excludes (394n) and (8111)
        ("(255)9506000134352(3940)0150", True),
        ("(255)9506000134352(3940)0150(8111)0100", False),
        ("(255)9506000134352(3940)0150(3941)0150", False),
        # "An AI is not exclusive of itself even if it matches a pattern"
        ("(255)9506000134352(3940)0150(3940)0150", True),
    ],
)
def test_association_examples_of_the_dictionary_header(text: str, valid: bool) -> None:
    if valid:
        assert ElementString.parse(text).pairs
    else:
        with pytest.raises(GS1Error):
            ElementString.parse(text)


def test_digital_link_attributes() -> None:
    """``dlpkey=22,10,21|235``: ordered optional qualifiers, alternative sequences."""
    assert AI_TABLE["01"].dl_primary_key
    assert AI_TABLE["01"].dl_qualifier_sequences == (("22", "10", "21"), ("235",))
    assert AI_TABLE["414"].dl_qualifier_sequences == (("254",), ("7040",))
    assert AI_TABLE["00"].dl_primary_key and AI_TABLE["00"].dl_qualifier_sequences == ()
    assert not AI_TABLE["10"].dl_primary_key
    keys = {ai for ai, d in AI_TABLE.items() if d.dl_primary_key}
    assert keys == {"00", "01", "253", "255", "401", "402", "414", "415", "417", "8003", "8004", "8006",
                    "8010", "8013", "8017", "8018"}  # fmt: skip


def test_lookup_ai_and_patterns() -> None:
    assert lookup_ai("0109506000134352") is AI_TABLE["01"]
    assert lookup_ai("xx3103000195", 2) is AI_TABLE["3103"]
    assert lookup_ai("7101234") is AI_TABLE["710"]
    assert lookup_ai("23") is None
    assert lookup_ai("") is None
    assert pattern_matches("31nn", "3103") and pattern_matches("394n", "3941")
    assert not pattern_matches("31nn", "310") and not pattern_matches("394n", "3951")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("99 X..90 # x", None),
        ("99 Q..90", "cannot read component"),
        ("99 [X..90 # x", "unbalanced brackets"),
        ("99 X", "has no length"),
        ("99 X..9 nonsense=1", "unknown attribute"),
        ("99 X..9 N3", "variable-length component is not the last"),
        ("99 [N3] N3", "mandatory component follows an optional one"),
        ("99 req=01", "no components"),
    ],
)
def test_the_compiler_refuses_lines_it_cannot_read(line: str, words: str | None) -> None:
    if words is None:
        assert dictionary._parse_line(line)[0].max_length == 90
    else:
        with pytest.raises(ValueError, match=words):
            dictionary._parse_line(line)


def test_ranges_expand_with_leading_zeros() -> None:
    assert dictionary._expand_range("3100-3105") == ["3100", "3101", "3102", "3103", "3104", "3105"]
    assert dictionary._expand_range("01") == ["01"]


def test_agrees_with_gs1s_ai_table_as_shipped_by_biip() -> None:
    """An independent source: GS1's AI table (ref.gs1.org), as bundled with biip."""
    biip_ais = pytest.importorskip("biip.gs1_application_identifiers")
    table = biip_ais._GS1_APPLICATION_IDENTIFIERS
    compared = 0
    for ai, theirs in table.items():
        ours = AI_TABLE.get(ai)
        if ours is None:
            continue
        compared += 1
        assert ours.predefined_length == (not theirs.separator_required), ai
        # GS1's format strings: "N4+N6[+N6]", "N4+N6+[-]", "N4+N18+[N1..N2]": sum the largest sizes.
        data_format = theirs.format.split("+", 1)[1].replace("[-]", "X1")
        sizes = [int(n) for n in re.findall(r"[NXYZ](?:\d*\.\.)?[NXYZ]?(\d+)", data_format)]
        assert ours.max_length == sum(sizes), (ai, theirs.format)
    assert compared >= 500
