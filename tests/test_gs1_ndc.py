"""US National Drug Codes and NDC-based GTINs (packtrail.gs1.ndc)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from packtrail.gs1.checkdigit import gs1_check_digit, is_valid_gs1_check_digit
from packtrail.gs1.errors import GS1Error
from packtrail.gs1.ndc import NDC, NDC_FORMATS

UNKNOWN_HYPHENATION = (
    "the hyphenation of NDC {} cannot be known from the 10 digits alone: "
    "pass the labeler code length or the format 4-4-2/5-3-2/5-4-1"
)

# --- Known pairs ------------------------------------------------------------------------------
#
# 0777-3105-02: the HL7 CARIN RTPBC implementation guide gives it as the example of a base NDC
# and its normalized 11-digit form 00777310502. GTIN check digit by hand over 0030777310502,
# weights 3,1,3,... from the right: 2*3 + 0 + 5*3 + 0 + 1*3 + 3 + 7*3 + 7 + 7*3 + 0 + 3*3 + 0 + 0
# = 85, so the check digit is 5 (not 4).
#
# 0001-0123-45: the GS1 US DSCSA example (GS1_US_Pharma_Example_2_2_1_1.xml in the OpenEPCIS test
# resources, Apache-2.0) gives this NDC as master data of the SGTIN classes
# urn:epc:idpat:sgtin:030001.0012345 (unit) and 030001.1012345 (case): company prefix 030001,
# GTINs 0 030001 012345 c and 1 030001 012345 c. By hand: 0030001012345 sums to 45 -> 5;
# with indicator 1 it sums to 48 -> 2.
#
# 12345-678-90 and 12345-6789-1 are made-up 5-digit-labeler NDCs. By hand: 0031234567890 sums
# to 94 -> 6; 0031234567891 sums to 97 -> 3; 5031234567891 sums to 112 -> 8.
KNOWN = [
    # hyphenated, format, billing 11, GTIN-14 (indicator 0), GTIN-12
    ("0777-3105-02", "4-4-2", "00777310502", "00307773105025", "307773105025"),
    ("0001-0123-45", "4-4-2", "00001012345", "00300010123455", "300010123455"),
    ("12345-678-90", "5-3-2", "12345067890", "00312345678906", "312345678906"),
    ("12345-6789-1", "5-4-1", "12345678901", "00312345678913", "312345678913"),
]


@pytest.mark.parametrize(("text", "fmt", "billing", "gtin14", "gtin12"), KNOWN)
def test_known_ndc_to_gtin(text: str, fmt: str, billing: str, gtin14: str, gtin12: str) -> None:
    ndc = NDC.parse(text)
    assert ndc.digits == text.replace("-", "")
    assert ndc.format == fmt
    assert ndc.hyphenated() == text
    assert str(ndc) == text
    assert ndc.billing_11() == billing
    assert ndc.billing_11(hyphens=True) == f"{billing[:5]}-{billing[5:9]}-{billing[9:]}"
    assert ndc.to_gtin14() == gtin14
    assert ndc.to_gtin12() == gtin12
    assert is_valid_gs1_check_digit(gtin14)


@pytest.mark.parametrize(("text", "fmt", "billing", "gtin14", "gtin12"), KNOWN)
def test_known_gtin_to_ndc(text: str, fmt: str, billing: str, gtin14: str, gtin12: str) -> None:
    digits = text.replace("-", "")
    for gtin in (gtin14, gtin14[1:], gtin12):  # GTIN-14, GTIN-13, GTIN-12
        ndc = NDC.from_gtin(gtin)
        assert ndc.digits == digits
        assert ndc.format is None
        assert NDC.from_gtin(gtin, format=fmt).hyphenated() == text
    # The billing form with the format known always gives back the NDC.
    assert NDC.parse(billing, format=fmt).hyphenated() == text


def test_gs1_us_example_company_prefix_and_case_gtin() -> None:
    ndc = NDC.parse("0001-0123-45")
    assert ndc.company_prefix() == "030001"
    assert ndc.to_gtin14(indicator="1") == "10300010123452"
    assert NDC.from_gtin("10300010123452", labeler_length=4) == ndc


def test_every_indicator_digit() -> None:
    ndc = NDC.parse("0777-3105-02")
    for indicator in "012345678":
        gtin = ndc.to_gtin14(indicator)
        assert gtin[:3] == indicator + "03"
        assert gtin[-1] == gs1_check_digit(gtin[:-1])
        assert NDC.from_gtin(gtin, format="4-4-2") == ndc


def test_same_digits_every_hyphenation() -> None:
    digits = "1234567890"
    expected = {"4-4-2": "1234-5678-90", "5-3-2": "12345-678-90", "5-4-1": "12345-6789-0"}
    billing = {"4-4-2": "01234567890", "5-3-2": "12345067890", "5-4-1": "12345678900"}
    for fmt in NDC_FORMATS:
        ndc = NDC.parse(digits, format=fmt)
        assert ndc.hyphenated() == expected[fmt]
        assert ndc.billing_11() == billing[fmt]
        assert NDC.parse(expected[fmt]) == ndc
        assert ndc.to_gtin14() == "0031234567890" + "6"  # the GTIN does not depend on the hyphenation
    assert NDC.parse(digits, labeler_length=4).format == "4-4-2"
    assert NDC.parse(digits, labeler_length=5, format="5-4-1").format == "5-4-1"


def test_segments_and_company_prefix() -> None:
    ndc = NDC.parse("12345-678-90")
    assert ndc.segments() == ("12345", "678", "90")
    assert ndc.labeler_length == 5
    assert ndc.product_length == 3
    assert ndc.company_prefix() == "0312345"
    # The labeler code length alone fixes the company prefix, not the hyphenation.
    partial = NDC.parse("1234567890", labeler_length=5)
    assert partial.company_prefix() == "0312345"
    assert partial.format is None


# --- Billing (11-digit) form ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("billing", "expected"),
    [
        ("01234567890", "1234-5678-90"),  # only the labeler code starts with 0
        ("12345067890", "12345-678-90"),  # only the product code
        ("12345678901", "12345-6789-1"),  # only the package code
        ("12345-6789-01", "12345-6789-1"),
        ("01234-5678-90", "1234-5678-90"),
        (" 12345-0678-91 ", "12345-678-91"),
    ],
)
def test_billing_form_with_one_possible_padding_zero(billing: str, expected: str) -> None:
    assert NDC.parse(billing).hyphenated() == expected


def test_billing_form_ambiguous_says_so_and_lists_the_candidates() -> None:
    with pytest.raises(GS1Error) as info:
        NDC.parse("00777-3105-02")
    reason = info.value.reason
    assert reason.startswith("the 10-digit NDC behind billing NDC 00777-3105-02 cannot be known")
    assert "labeler code (NDC 0777-3105-02, 4-4-2)" in reason
    assert "package code (NDC 00777-3105-2, 5-4-1)" in reason
    assert "pass the labeler code length or the format 4-4-2/5-3-2/5-4-1" in reason
    # A hint settles it.
    assert NDC.parse("00777-3105-02", labeler_length=4).hyphenated() == "0777-3105-02"
    assert NDC.parse("00777310502", format="5-4-1").hyphenated() == "00777-3105-2"


def test_billing_form_ambiguous_with_five_digit_labeler_asks_for_the_format() -> None:
    with pytest.raises(GS1Error, match=r"pass the format 5-3-2 or 5-4-1"):
        NDC.parse("12345-0789-01", labeler_length=5)
    assert NDC.parse("12345-0789-01", format="5-3-2").hyphenated() == "12345-789-01"
    assert NDC.parse("12345-0789-01", format="5-4-1").hyphenated() == "12345-0789-1"


def test_billing_form_without_padding_zero() -> None:
    with pytest.raises(GS1Error, match=r"not a padded 10-digit NDC: expected a padding zero"):
        NDC.parse("12345-6789-12")


def test_billing_form_with_contradicting_format_names_the_segment() -> None:
    with pytest.raises(GS1Error) as info:
        NDC.parse("00777-3105-02", format="5-3-2")
    assert info.value.reason == (
        "billing NDC 00777-3105-02 cannot be 5-3-2: "
        "the product code should start with the padding zero, found '3'"
    )
    assert info.value.position == 5


# --- Unknowable hyphenation -------------------------------------------------------------------


def test_plain_ten_digits_have_unknown_hyphenation() -> None:
    ndc = NDC.parse("1234567890")
    assert ndc.labeler_length is None
    assert ndc.format is None
    assert str(ndc) == "1234567890"
    assert ndc.to_gtin14() == "00312345678906"  # the GTIN needs no hyphenation
    for method in (ndc.hyphenated, ndc.billing_11, ndc.segments):
        with pytest.raises(GS1Error) as info:
            method()
        assert UNKNOWN_HYPHENATION.format("1234567890") in info.value.reason
    with pytest.raises(GS1Error, match="GS1 Company Prefix of NDC 1234567890 cannot be known"):
        ndc.company_prefix()


def test_hyphenated_message_is_exact() -> None:
    with pytest.raises(GS1Error) as info:
        NDC.from_gtin("00312345678906").hyphenated()
    assert info.value.reason == UNKNOWN_HYPHENATION.format("1234567890")


def test_five_digit_labeler_without_product_length() -> None:
    ndc = NDC.parse("1234567890", labeler_length=5)
    with pytest.raises(GS1Error, match=r"5-digit labeler code alone: pass the format 5-3-2 or 5-4-1"):
        ndc.hyphenated()


# --- Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"),
    [
        ("", {}, "an NDC has 10 digits (11 in the billing form), found nothing"),
        ("123456789", {}, "an NDC has 10 digits (11 in the billing form), found 9"),
        ("123456789012", {}, "found 12"),
        ("0777-3105-0a", {}, "the package code of an NDC has digits only, found 'a'"),
        ("0777--02", {}, "the product code of the NDC is empty"),
        ("0777-3105", {}, "a hyphenated NDC has 3 segments (labeler-product-package), found 2"),
        ("1234-567-890", {}, "the NDC segments have 4-3-3 digits; expected 4-4-2, 5-3-2 or 5-4-1"),
        ("0777 3105 02", {}, "an NDC has digits and hyphens only, found ' '"),
        ("０７７７３１０５０２", {}, "an NDC has digits and hyphens only, found '０'"),
        ("0777-3105-02", {"format": "5-3-2"}, "the hyphens make NDC 0777-3105-02 4-4-2, which contradicts"),
        ("1234567890", {"labeler_length": 6}, "the labeler code length must be 4 or 5, found 6"),
        ("1234567890", {"format": "6-4-2"}, "the NDC format must be 4-4-2, 5-3-2 or 5-4-1, found '6-4-2'"),
        ("1234567890", {"labeler_length": 4, "format": "5-3-2"}, "labeler code length 4 contradicts format"),
    ],
)
def test_parse_errors(text: str, kwargs: dict[str, object], expected: str) -> None:
    with pytest.raises(GS1Error) as info:
        NDC.parse(text, **kwargs)  # type: ignore[arg-type]
    assert expected in info.value.reason


def test_parse_error_position_points_at_the_bad_character() -> None:
    with pytest.raises(GS1Error) as info:
        NDC.parse("0777-31x5-02")
    assert info.value.position == 7


@pytest.mark.parametrize(
    ("gtin", "expected", "position"),
    [
        (
            "09506000134352",
            "GTIN 09506000134352 is not an NDC-based GTIN: found '95', "
            "expected '03' after the indicator digit",
            1,
        ),
        (
            "412345678903",
            "found '04' (as GTIN-14 00412345678903), expected '03' after the indicator digit",
            0,
        ),
        ("00307773105024", "GTIN 00307773105024: check digit should be 5, found 4", 13),
        ("90307773105025", "indicator digit 9 marks a variable-measure trade item", 0),
        (
            "30777310502",
            "an NDC-based GTIN has 12, 13 or 14 digits (GTIN-12, GTIN-13 or GTIN-14), found 11",
            None,
        ),
        ("307773105024", "GTIN 307773105024: check digit should be 5, found 4", 11),
        ("0030777310502x", "a GTIN has digits only, found 'x'", 13),
        ("", "found nothing", None),
    ],
)
def test_from_gtin_errors(gtin: str, expected: str, position: int | None) -> None:
    with pytest.raises(GS1Error) as info:
        NDC.from_gtin(gtin)
    assert expected in info.value.reason
    assert info.value.position == position


def test_to_gtin14_rejects_bad_indicator() -> None:
    ndc = NDC.parse("0777-3105-02")
    for indicator in ("9", "10", "", "a"):
        with pytest.raises(GS1Error, match="indicator digit of an NDC-based GTIN-14 must be one digit 0-8"):
            ndc.to_gtin14(indicator)


def test_constructor_validates() -> None:
    with pytest.raises(GS1Error, match="an NDC has exactly 10 digits"):
        NDC("077731050")
    with pytest.raises(GS1Error, match="after a 4-digit labeler code the product code has 4 digits"):
        NDC("0777310502", 4, 3)
    with pytest.raises(GS1Error, match="known only with its labeler code length"):
        NDC("0777310502", None, 3)
    assert NDC("0777310502", 4).format == "4-4-2"


def test_gs1error_is_a_valueerror() -> None:
    with pytest.raises(ValueError):
        NDC.parse("nope")


# --- Properties -------------------------------------------------------------------------------

ten_digits = st.text(alphabet="0123456789", min_size=10, max_size=10)
formats = st.sampled_from(NDC_FORMATS)


@given(digits=ten_digits, fmt=formats, indicator=st.sampled_from("012345678"))
def test_round_trip_ndc_gtin_ndc(digits: str, fmt: str, indicator: str) -> None:
    ndc = NDC.parse(digits, format=fmt)
    gtin = ndc.to_gtin14(indicator)
    assert len(gtin) == 14
    assert is_valid_gs1_check_digit(gtin)
    assert NDC.from_gtin(gtin, format=fmt) == ndc
    assert NDC.from_gtin(gtin).digits == digits
    assert NDC.from_gtin(ndc.to_gtin12(), format=fmt) == ndc


@given(digits=ten_digits, fmt=formats)
def test_round_trip_text_forms(digits: str, fmt: str) -> None:
    ndc = NDC.parse(digits, format=fmt)
    assert NDC.parse(ndc.hyphenated()) == ndc
    assert NDC.parse(ndc.billing_11(), format=fmt) == ndc
    assert NDC.parse(ndc.billing_11(hyphens=True), format=fmt) == ndc
    billing = ndc.billing_11()
    # Without the format, the billing form gives this NDC back or says it cannot know.
    try:
        recovered = NDC.parse(billing)
    except GS1Error as err:
        assert "cannot be known" in err.reason
    else:
        assert recovered == ndc


@given(st.text(max_size=20))
def test_random_text_raises_only_gs1error(text: str) -> None:
    try:
        ndc = NDC.parse(text)
    except GS1Error:
        return
    assert len(ndc.digits) == 10


@given(st.text(alphabet="0123456789- ", max_size=16))
def test_random_digit_strings_raise_only_gs1error(text: str) -> None:
    for parse in (NDC.parse, NDC.from_gtin):
        try:
            ndc = parse(text)
        except GS1Error:
            continue
        assert ndc.digits.isdigit()
        assert len(ndc.digits) == 10


@given(digits=ten_digits, indicator=st.sampled_from("012345678"), data=st.data())
def test_mutated_gtin_is_rejected(digits: str, indicator: str, data: st.DataObject) -> None:
    gtin = NDC(digits).to_gtin14(indicator)
    pos = data.draw(st.integers(0, 13))
    new = data.draw(st.sampled_from("0123456789").filter(lambda d: d != gtin[pos]))
    mutated = gtin[:pos] + new + gtin[pos + 1 :]
    with pytest.raises(GS1Error):
        NDC.from_gtin(mutated)
