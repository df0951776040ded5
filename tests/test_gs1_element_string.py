"""GS1 element strings: scanner output and the bracketed form, against the syntax dictionary.

Cases come from the issue, the GS1 General Specifications (FNC1, predefined lengths,
dates) and the dictionary itself; the property tests build their data from the
dictionary with ``strategies.py``.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from packtrail.gs1.checkdigit import check_character_pair, gs1_check_digit
from packtrail.gs1.dictionary import AI_TABLE
from packtrail.gs1.element_string import GS, Element, ElementString, Symbology, validate_value
from packtrail.gs1.errors import GS1Error
from strategies import ALL_AIS, CSET39, CSET64, CSET82, ai_data, association_problems, element_pairs

GTIN = "09506000134352"
PACK = "]d201" + GTIN + "17270131" + "10ABC123" + GS + "21SERIAL0001"
PACK_PAIRS = (("01", GTIN), ("17", "270131"), ("10", "ABC123"), ("21", "SERIAL0001"))
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def pairs(text: str, **kwargs: object) -> tuple[tuple[str, str], ...]:
    return ElementString.parse(text, **kwargs).pairs  # type: ignore[arg-type]


def error(text: str, **kwargs: object) -> GS1Error:
    with pytest.raises(GS1Error) as caught:
        ElementString.parse(text, **kwargs)  # type: ignore[arg-type]
    return caught.value


# -- every AI of the dictionary ------------------------------------------------------------------------------


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(data=st.data())
def test_every_ai_round_trips_build_then_parse(data: st.DataObject) -> None:
    """All AIs of the dictionary, each with data drawn from its components and linters."""
    for ai in ALL_AIS:
        value = data.draw(ai_data(ai), label=ai)
        built = ElementString.from_pairs([(ai, value)], check_associations=False)
        assert built.pairs == ((ai, value),)
        for text in (built.encoded(), built.scan_data("]d2"), built.scan_data("]C1"), built.bracketed()):
            again = ElementString.parse(text, check_associations=False)
            assert again.pairs == ((ai, value),), (ai, text)
        element = built[ai]
        assert element.definition is AI_TABLE[ai]
        assert element.value is not None  # a typed value exists for every valid datum


def test_every_ai_rejects_data_one_character_too_long() -> None:
    for ai, definition in AI_TABLE.items():
        filler = {"N": "1", "X": "A", "Y": "A", "Z": "A"}[definition.components[-1].charset]
        with pytest.raises(GS1Error) as caught:
            ElementString.from_pairs([(ai, filler * (definition.max_length + 1))], check_associations=False)
        assert caught.value.ai == ai


def test_every_ai_rejects_a_character_outside_its_set() -> None:
    for ai, definition in AI_TABLE.items():
        with pytest.raises(GS1Error) as caught:
            ElementString.from_pairs([(ai, " " * definition.max_length)], check_associations=False)
        assert caught.value.ai == ai


# -- hypothesis: valid strings parse back exactly; anything else is a GS1Error ------------------------------


def _encode(pairs_: list[tuple[str, str]], symbology: str, extra_gs: list[bool], lead: str, tail: str) -> str:
    parts = [symbology, lead]
    for i, (ai, data) in enumerate(pairs_):
        parts.append(ai + data)
        last = i == len(pairs_) - 1
        if not last and (not AI_TABLE[ai].predefined_length or extra_gs[i]):
            parts.append(GS + (GS if extra_gs[i] else ""))
    parts.append(tail)
    return "".join(parts)


@FAST
@given(
    element_pairs(),
    st.sampled_from(["", "]d2", "]C1", "]Q3", "]e0", "]J1", "]D2", "]c1"]),
    st.lists(st.booleans(), min_size=12, max_size=12),
    st.sampled_from(["", GS]),
    st.sampled_from(["", GS, "\r\n", "\n", "\r"]),
)
def test_random_valid_element_strings_parse_back_exactly(
    generated: list[tuple[str, str]], symbology: str, extra_gs: list[bool], lead: str, tail: str
) -> None:
    text = _encode(generated, symbology, extra_gs, lead, tail)
    parsed = ElementString.parse(text)
    assert parsed.pairs == tuple(generated)
    assert ElementString.parse(parsed.bracketed()).pairs == tuple(generated)
    assert ElementString.parse(parsed.scan_data()).pairs == tuple(generated)
    assert ElementString.from_pairs(generated).pairs == tuple(generated)


@FAST
@given(element_pairs(), st.sampled_from(["<GS>", "^]", "|", "~"]))
def test_keyboard_wedge_substitutes_for_gs(generated: list[tuple[str, str]], substitute: str) -> None:
    text = ElementString.from_pairs(generated).scan_data().replace(GS, substitute)
    assert ElementString.parse(text, gs_substitutes=(substitute,)).pairs == tuple(generated)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60) | st.binary(max_size=60).map(lambda b: b.decode("latin-1")))
@example("")
@example("]")
@example("]d2")
@example("(")
@example("()")
@example("(01")
@example("(01)")
@example("\\(")
@example("(10)\\")
@example(GS * 3)
@example("01")
@example("0١")
@example("(٠١)09506000134352")
@example("\r\n")
def test_random_text_raises_gs1error_or_parses(text: str) -> None:
    try:
        parsed = ElementString.parse(text)
    except GS1Error:
        return
    assert parsed.pairs  # anything accepted holds at least one valid element


@FAST
@given(element_pairs(), st.data())
def test_mutated_strings_raise_gs1error_or_parse_to_valid_data(
    generated: list[tuple[str, str]], data: st.DataObject
) -> None:
    built = ElementString.from_pairs(generated)
    text = data.draw(st.sampled_from([built.scan_data(), built.bracketed()]))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        char = data.draw(st.sampled_from([*"0123456789()\\", GS, "A", "%", "\x00", "é", "]"]))
        if action == "insert":
            text = text[:i] + char + text[i:]
        elif action == "delete":
            text = text[:i] + text[i + 1 :]
        else:
            text = text[:i] + char + text[i + 1 :]
    try:
        parsed = ElementString.parse(text)
    except GS1Error:
        return
    for ai, value in parsed.pairs:  # whatever was accepted is valid data
        validate_value(AI_TABLE[ai], value)
    assert not association_problems([ai for ai, _ in parsed.pairs])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(ALL_AIS), min_size=1, max_size=5, unique=True), st.data())
def test_association_verdicts_match_an_independent_reading_of_the_rules(
    ais: list[str], data: st.DataObject
) -> None:
    generated = [(ai, data.draw(ai_data(ai))) for ai in ais]
    problems = association_problems(ais)
    if problems:
        with pytest.raises(GS1Error):
            ElementString.from_pairs(generated)
    else:
        assert ElementString.from_pairs(generated).pairs == tuple(generated)
    assert ElementString.from_pairs(generated, check_associations=False).pairs == tuple(generated)


# -- the cases ---------------------------------------------------------------------------------------


def test_pharma_pack() -> None:
    es = ElementString.parse(PACK)
    assert es.pairs == PACK_PAIRS
    assert es.warnings == ()
    assert es.symbology == Symbology("]d2", "GS1 DataMatrix", True)
    assert es.raw("21") == "SERIAL0001" and es.raw("99") is None
    assert es["17"].value == datetime.date(2027, 1, 31)
    assert "10" in es and "99" not in es and len(es) == 4
    assert [e.ai for e in es] == ["01", "17", "10", "21"]
    assert es.get("99") is None
    with pytest.raises(KeyError):
        es["99"]
    assert str(es) == es.bracketed() == "(01)09506000134352(17)270131(10)ABC123(21)SERIAL0001"
    assert es.encoded() == PACK[3:]
    assert es.scan_data() == PACK


def test_a_value_running_into_what_looks_like_an_ai_is_not_split() -> None:
    es = ElementString.parse("]d2010950600013435210ABC12321SERIAL0001")
    assert es.pairs == (("01", GTIN), ("10", "ABC12321SERIAL0001"))
    assert es.warnings[0] == (
        "no serial number (AI 21) is present: a pack identifier needs GTIN (01) and serial (21)"
    )
    assert "'SERIAL0001'" in es.warnings[1] and "not split by guessing" in es.warnings[1]


def test_a_lot_too_long_because_a_gs_was_lost_is_an_error_not_a_guess() -> None:
    err = error("]d20109506000134352" + "10ABC123456789" + "21SERIAL0001")
    assert err.ai == "10" and err.position == 21
    assert "at most 20 characters, found 24" in err.reason and "GS separator missing" in err.reason


@pytest.mark.parametrize(
    ("prefix", "name", "is_gs1"),
    [
        ("]d2", "GS1 DataMatrix", True),
        ("]C1", "GS1-128", True),
        ("]Q3", "GS1 QR Code", True),
        ("]e0", "GS1 DataBar", True),
        ("]J1", "GS1 DotCode", True),
        ("]D2", "GS1 DataMatrix", True),
        ("]c1", "GS1-128", True),
        ("]q3", "GS1 QR Code", True),
        ("]E0", "GS1 DataBar", True),
    ],
)
def test_gs1_symbology_identifiers_in_any_case(prefix: str, name: str, is_gs1: bool) -> None:
    es = ElementString.parse(prefix + PACK[3:])
    assert es.pairs == PACK_PAIRS
    assert es.symbology is not None
    assert (es.symbology.name, es.symbology.is_gs1) == (name, is_gs1)
    assert es.warnings == ()


def test_symbology_identifier_is_normalised_to_its_standard_case() -> None:
    symbology = ElementString.parse("]D2" + PACK[3:]).symbology
    assert symbology is not None and symbology.identifier == "]d2"
    symbology = ElementString.parse("]c1" + PACK[3:]).symbology
    assert symbology is not None and symbology.identifier == "]C1"


@pytest.mark.parametrize("prefix", ["]d1", "]C0", "]Q1"])
def test_non_gs1_symbologies_are_flagged(prefix: str) -> None:
    es = ElementString.parse(prefix + PACK[3:])
    assert es.pairs == PACK_PAIRS
    assert es.symbology is not None and not es.symbology.is_gs1
    assert "not a GS1 barcode" in es.warnings[0]


def test_unknown_symbology_identifier_is_read_with_a_warning() -> None:
    es = ElementString.parse("]z9" + PACK[3:])
    assert es.symbology == Symbology("]z9", "unknown symbology", False)
    assert "unknown symbology identifier" in es.warnings[0]
    assert es.pairs == PACK_PAIRS


@pytest.mark.parametrize("ending", ["\r", "\n", "\r\n", "\n\r\n"])
def test_line_endings_from_keyboard_wedges_are_ignored(ending: str) -> None:
    assert pairs(PACK + ending) == PACK_PAIRS


@pytest.mark.parametrize(
    ("substitute", "argument"),
    [("<GS>", None), ("^]", ("^]",)), ("|", ("|",)), ("|", "|"), ("{GS}", ["{GS}", "|"])],
)
def test_gs_substitutes(substitute: str, argument: object) -> None:
    text = PACK.replace(GS, substitute)
    if argument is None:
        assert pairs(text) == PACK_PAIRS  # "<GS>" is the default
    else:
        assert pairs(text, gs_substitutes=argument) == PACK_PAIRS


def test_substitutes_can_be_switched_off() -> None:
    err = error(PACK.replace(GS, "<GS>"), gs_substitutes=())
    assert err.ai == "10"


@pytest.mark.parametrize(
    "text",
    [
        GS + PACK[3:],
        PACK + GS,
        PACK.replace(GS, GS + GS),
        "]d2" + GS + GS + PACK[3:] + GS + GS,
        "]d20109506000134352" + GS + "17270131" + GS + "10ABC123" + GS + "21SERIAL0001",
    ],
)
def test_leading_trailing_and_doubled_separators_are_tolerated(text: str) -> None:
    assert pairs(text) == PACK_PAIRS


def test_predefined_length_ais_need_no_separator_and_others_do() -> None:
    es = ElementString.from_pairs(
        [("01", GTIN), ("10", "A"), ("17", "270131"), ("21", "B"), ("11", "250101")]
    )
    assert es.encoded() == "01" + GTIN + "10A" + GS + "17270131" + "21B" + GS + "11250101"
    fixed_but_not_predefined = ElementString.from_pairs([("01", GTIN), ("422", "380"), ("10", "A")])
    assert fixed_but_not_predefined.encoded() == "01" + GTIN + "422380" + GS + "10A"


# -- the bracketed form --------------------------------------------------------------------------------------


def test_bracketed_form_with_escaped_brackets() -> None:
    es = ElementString.parse("(01)09506000134352(10)A\\(B)C(21)\\(\\(")
    assert es.pairs == (("01", GTIN), ("10", "A(B)C"), ("21", "(("))
    assert es.bracketed() == "(01)09506000134352(10)A\\(B)C(21)\\(\\("
    assert ElementString.parse_bracketed(es.bracketed()) == es


@pytest.mark.parametrize(
    ("text", "words", "position"),
    [
        ("(01)09506000134352(10", "expected an AI in brackets", 18),
        ("(01)09506000134352(1)X", "expected an AI in brackets", 18),
        ("(01)09506000134352(ABC)X", "expected an AI in brackets", 18),
        ("(01)09506000134352(10)A(B", "expected an AI in brackets", 23),
        ("(01)09506000134352(23)X", "(23) is not an Application Identifier", 18),
        ("(01)09506000134353", "check digit should be 2, found 3", 4),
        ("(01)09506000134352(10)A\\B", "'\\\\' is not allowed here", 23),
        ("(01)(10)A", "data too short", 4),
    ],
)
def test_bracketed_errors(text: str, words: str, position: int) -> None:
    err = error(text)
    assert words in str(err)
    assert err.position == position


def test_parse_bracketed_wants_brackets_from_the_start() -> None:
    with pytest.raises(GS1Error, match="expected an AI in brackets") as caught:
        ElementString.parse_bracketed("01)09506000134352")
    assert caught.value.position == 0
    assert ElementString.parse_bracketed("(01)09506000134352").pairs == (("01", GTIN),)


def test_parse_bracketed_requires_text() -> None:
    with pytest.raises(GS1Error):
        ElementString.parse_bracketed(None)  # type: ignore[arg-type]


# -- component linters ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ai", "position", "words"),
    [
        ("]d20109506000134353", "01", 5, "check digit should be 2, found 3"),
        ("]d200095060001343520001", "00", 5, "check digit should be 0, found 1"),
        ("]d2010950600013435217271301", "17", 21, "month 13 does not exist"),
        ("]d2010950600013435217270230", "17", 21, "day 30 does not exist in 2027-02"),
        ("]d2010950600013435211270200", "11", 21, None),  # yymmd0: day 00 is fine
        ("]d2(7006)", None, None, None),
        ("]d201095060001343527006270100", "7006", 23, "day 00 is not allowed"),
        ("]d2010950600013435270032701312460", "7003", 29, "hour 24 does not exist"),
        ("]d2010950600013435270032701312360", "7003", 29, "minute 60 does not exist"),
        ("]d20109506000134352800827013123", "8008", 21, None),
        ("]d2010950600013435280082701312360", "8008", 31, "minute 60 does not exist"),
        ("]d20109506000134352422999", "422", 22, "not an ISO 3166-1 numeric country code"),
        ("]d2010950600013435210A B", "10", 22, "' ' is not allowed here: expected GS1 character set 82"),
        ("]d2010950600013435210ABC" + "\x00", "10", 24, "byte 0x00 is not allowed here"),
        ("]d201095060001343523103A00195", "3103", 23, "expected digits"),
    ],
)
def test_component_checks(text: str, ai: str | None, position: int | None, words: str | None) -> None:
    if words is None:
        if ai is not None:
            assert ElementString.parse(text).raw(ai) is not None
        return
    err = error(text)
    assert (err.ai, err.position) == (ai, position)
    assert words in err.reason


def test_character_set_82_in_full() -> None:
    chunks = [("10", CSET82[:20]), ("21", CSET82[20:40]), ("240", CSET82[40:70]), ("241", CSET82[70:])]
    assert "".join(data for _, data in chunks) == CSET82
    es = ElementString.from_pairs([("01", GTIN), *chunks])
    assert ElementString.parse(es.scan_data()).pairs == es.pairs
    assert ElementString.parse(es.encoded()) == es
    assert ElementString.parse(es.bracketed()) == es


def test_character_set_39_for_cpid() -> None:
    assert pairs("(8010)0950600#-/AZ(8011)1") == (("8010", "0950600#-/AZ"), ("8011", "1"))
    assert error("(8010)0950600a(8011)1").reason.startswith(
        "'a' is not allowed here: expected GS1 character set 39"
    )
    assert set(CSET39) == set("#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


@pytest.mark.parametrize(
    ("signature", "ok"),
    [
        ("AB-_", True),
        ("ABC", True),
        ("AB=", True),
        ("A==", True),
        (CSET64, True),
        ("=BC", False),
        ("A=C", False),
        ("ABC=", False),
        ("AB==", False),
        ("A===", False),
        ("AB+/", False),
    ],
)
def test_character_set_64_and_its_padding(signature: str, ok: bool) -> None:
    """AI (8030) is base64url; '=' only as padding (GS1's reference linter ``lint_cset64``)."""
    text = f"(00)095060001343520000(8030){signature}"
    if ok:
        assert ElementString.parse(text).raw("8030") == signature
    else:
        assert error(text).ai == "8030"


def test_check_character_pairs_of_gmn() -> None:
    gmn = "1987654Ad4X4bL5ttr2310c" + check_character_pair("1987654Ad4X4bL5ttr2310c")
    assert gmn == "1987654Ad4X4bL5ttr2310c2K"
    assert pairs(f"(8013){gmn}") == (("8013", gmn),)
    err = error("(8013)1987654Ad4X4bL5ttr2310c2L")
    assert err.ai == "8013" and "check character pair" in err.reason


# -- dates, decimals, typed values ---------------------------------------------------------------------------


def test_day_00_is_the_end_of_the_month() -> None:
    assert ElementString.parse("(01)09506000134352(17)280200")["17"].value == datetime.date(2028, 2, 29)
    assert ElementString.parse("(01)09506000134352(17)270200")["17"].value == datetime.date(2027, 2, 28)
    assert ElementString.parse("(01)09506000134352(15)271100")["15"].value == datetime.date(2027, 11, 30)


def test_the_50_year_window_places_two_digit_years() -> None:
    """GS1 General Specifications 7.12: from 49 years back to 50 years ahead of this year."""
    this_year = datetime.date.today().year
    ahead = (this_year + 50) % 100
    behind = (this_year + 51) % 100
    es = ElementString.parse(f"(01)09506000134352(17){ahead:02d}0101(11){behind:02d}0101")
    assert es["17"].value == datetime.date(this_year + 50, 1, 1)
    assert es["11"].value == datetime.date(this_year + 51 - 100, 1, 1)


def test_four_digit_year_dates() -> None:
    es = ElementString.parse("(8018)950600013434000005(7250)19800229")
    assert es["7250"].value == datetime.date(1980, 2, 29)
    assert error("(8018)950600013434000005(7250)19810229").ai == "7250"


@pytest.mark.parametrize(
    ("ai", "raw", "value", "currency"),
    [
        ("3103", "000195", Decimal("0.195"), None),
        ("3100", "000195", Decimal("195"), None),
        ("3105", "123456", Decimal("1.23456"), None),
        ("3922", "0299", Decimal("2.99"), None),
        ("3932", "9780299", Decimal("2.99"), "978"),
        ("3941", "0150", Decimal("15.0"), None),
        ("3955", "000199", Decimal("0.00199"), None),
        ("10", "ABC", "ABC", None),
    ],
)
def test_decimal_ais_place_the_point_by_their_last_digit(
    ai: str, raw: str, value: object, currency: str | None
) -> None:
    element = Element(ai, raw, AI_TABLE[ai])
    assert element.value == value
    assert element.currency == currency
    assert element.title == AI_TABLE[ai].title
    assert repr(element) == f"Element(ai={ai!r}, raw={raw!r})"


def test_measure_in_an_element_string() -> None:
    es = ElementString.parse("]d20109506000134352310300019539220299")
    assert es["3103"].value == Decimal("0.195")
    assert es["3922"].value == Decimal("2.99")


# -- association rules (req= / ex=) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("(21)S1", "AI (21) must be used together with (01) or (03) or (8006)"),
        ("(02)09506000134352(37)1(01)09506000134352", "AI (02) and AI (01) must not be used together"),
        ("(01)09506000134352(37)1", "AI (01) and AI (37) must not be used together"),
        ("(01)09506000134352(3102)000100(3103)000100", "AI (3102) and AI (3103) must not be used together"),
        ("(01)09506000134352(10)A(7004)1(8030)AA", "AI (8030) must be used together with"),
        ("(01)09506000134352(7004)12", "AI (7004) must be used together with (01)+(10)"),
        ("(00)095060001343520000(37)1", "AI (37) must be used together with (02) or (8026)"),
    ],
)
def test_association_errors(text: str, words: str) -> None:
    assert words in error(text).reason
    assert ElementString.parse(text, check_associations=False).pairs


@pytest.mark.parametrize(
    "text",
    [
        "(01)09506000134352(21)S1",
        "(01)09506000134352(3103)000100",  # not exclusive of itself though it matches 310n
        "(01)09506000134352(10)A(7004)12",  # 01+10 together
        "(01)09506000134352(21)S(8030)AAA",  # 8030 req 01+21
        "(00)095060001343520000(02)09506000134352(37)12",
        "(01)09506000134352(3103)000100(3922)0299",  # 392n req 31nn
    ],
)
def test_associations_that_hold(text: str) -> None:
    assert ElementString.parse(text).pairs


def test_associations_are_judged_again_for_each_new_layout() -> None:
    assert ElementString.parse("(01)09506000134352(21)S1").pairs
    with pytest.raises(GS1Error):
        ElementString.parse("(21)S1(01)09506000134352(02)09506000134352")


# -- repeats and other errors --------------------------------------------------------------------------------


def test_a_repeat_with_the_same_data_is_dropped_with_a_warning() -> None:
    es = ElementString.parse(PACK + GS + "21SERIAL0001")
    assert es.pairs == PACK_PAIRS
    assert es.warnings == ("AI (21) appears twice with the same data; the repeat was dropped",)


def test_a_repeat_with_other_data_is_an_error() -> None:
    err = error(PACK + GS + "21SERIAL0002")
    assert err.ai == "21" and "'SERIAL0001' and 'SERIAL0002'" in err.reason


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("", None, "no element strings found"),
        ("]d2", None, "no element strings found"),
        (GS + GS, None, "no element strings found"),
        ("]d2AB", 3, "expected an Application Identifier (digits), found 'AB'"),
        ("]d2" + GS + "x", 4, "found 'x'"),
        ("]d223", 3, "no Application Identifier in the GS1 syntax dictionary starts with '23'"),
        ("]d2010950600013", 5, "data too short: expected 14 characters, found 10"),
        ("]d2010950600" + GS + "134352", 12, "a separator (GS) interrupts the data"),
        ("]d2010950600013435210" + "A" * 21, 21, "data too long: at most 20 characters, found 21"),
        ("]d2010950600013435210" + GS + "21S", 21, "data too short: nothing after the AI"),
    ],
)
def test_errors_say_what_and_where(text: str, position: int | None, words: str) -> None:
    err = error(text)
    assert err.position == position
    assert words in err.reason


@pytest.mark.parametrize("value", [None, 42, b"]d2010950600013435", ["01"]])
def test_non_text_is_a_gs1error(value: object) -> None:
    with pytest.raises(GS1Error, match="expected text"):
        ElementString.parse(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pairs_", "words"),
    [
        ([("01", 9506000134352)], "expected the data as text"),
        ([(1, "A")], "is not an Application Identifier"),
        ([("1", "A")], "is not an Application Identifier"),
        ([(["01"], "A")], "is not an Application Identifier"),
        ([("01",)], "expected an (AI, data) pair"),
        (["01"], "'0' is not an Application Identifier"),
        ([("01", GTIN, "x")], "expected an (AI, data) pair"),
        ([], "no element strings found"),
        ([("01", "09506000134353")], "check digit"),
    ],
)
def test_from_pairs_rejects_bad_input_with_gs1error(pairs_: list[object], words: str) -> None:
    with pytest.raises(GS1Error) as caught:
        ElementString.from_pairs(pairs_)  # type: ignore[arg-type]
    assert words in str(caught.value)


def test_from_pairs_keeps_the_order_and_drops_same_repeats() -> None:
    es = ElementString.from_pairs([("21", "S"), ("01", GTIN), ("21", "S")])
    assert es.pairs == (("21", "S"), ("01", GTIN))
    assert es.warnings == ("AI (21) appears twice with the same data; the repeat was dropped",)


def test_a_direct_instance_works_without_the_parse_index() -> None:
    es = ElementString(PACK_PAIRS)
    assert es.raw("10") == "ABC123" and es.get("17") is not None and es.get("99") is None
    assert es == ElementString.parse(PACK[3:])
    assert hash(es) == hash(ElementString.parse(PACK[3:]))


def test_invalid_data_is_never_remembered_as_valid() -> None:
    """The memo of validated data must not let a bad value through after a good one."""
    for _ in range(3):
        assert ElementString.parse("(01)09506000134352(17)270131").pairs
        assert error("(01)09506000134352(17)270132").ai == "17"
        assert error("(01)09506000134353").ai == "01"


def test_29_february_of_year_00_follows_the_window() -> None:
    this_year = datetime.date.today().year
    century = this_year - this_year % 100
    year_00 = century if this_year % 100 < 50 else century + 100
    leap = year_00 % 400 == 0
    for _ in range(2):  # twice: a memo must not change the answer
        if leap:
            assert ElementString.parse("(01)09506000134352(17)000229")["17"].value == datetime.date(
                year_00, 2, 29
            )
        else:
            assert error("(01)09506000134352(17)000229").ai == "17"


def test_validate_value_names_the_ai_and_the_component_position() -> None:
    with pytest.raises(GS1Error) as caught:
        validate_value(AI_TABLE["8003"], "0" + "4012345000772" + "SERIAL", position=10)
    assert (caught.value.ai, caught.value.position) == ("8003", 11)
    validate_value(AI_TABLE["8003"], "0" + "401234500077" + gs1_check_digit("401234500077"))
