"""Serial policies (alphabet, length, the EU guess bound) and the random generator. No database."""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from packtrail.gs1.checkdigit import CSET82
from packtrail.gs1.dictionary import AI_TABLE
from packtrail.gs1.element_string import validate_value
from packtrail.serials import GuessProbabilityError, SerialGenerator, SerialPolicy, SerialPolicyError
from packtrail.serials.policy import MAX_GUESS_PROBABILITY, NAMED_ALPHABETS, check_bound, parse_alphabet

# -- alphabets and lengths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "size"), [("numeric", 10), ("alphanumeric", 36), ("cset32", 32), ("cset82", 82), ("NUMERIC", 10)]
)
def test_named_alphabets(name: str, size: int) -> None:
    alphabet = parse_alphabet(name)
    assert len(alphabet) == size
    assert set(alphabet) <= set(CSET82)


def test_literal_alphabet_is_put_in_cset82_order() -> None:
    assert parse_alphabet("ZYX987") == "789XYZ"
    assert parse_alphabet("ab") == "ab"
    assert parse_alphabet("aA") == "Aa"  # case-sensitive: two characters


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "alphabet: expected a name (numeric, alphanumeric, cset32, cset82) or characters"),
        ("A", "alphabet: expected at least 2 characters, found 1"),
        ("ABCA", "alphabet: 'A' appears more than once"),
        ("AB C", "alphabet: ' ' at character 3 is not in GS1 character set 82"),
        ("AB#", "alphabet: '#' at character 3 is not in GS1 character set 82"),
        ("0123\\", "alphabet: '\\\\' at character 5 is not in GS1 character set 82"),
        ("äb", "alphabet: 'ä' at character 1 is not in GS1 character set 82"),
    ],
)
def test_bad_alphabets_are_named(text: str, message: str) -> None:
    with pytest.raises(SerialPolicyError) as caught:
        parse_alphabet(text)
    assert str(caught.value) == message
    assert caught.value.field == "alphabet"


@pytest.mark.parametrize("length", [0, 21, -1, "21", "x", "1.5", "", True, 3.0])
def test_bad_lengths_are_named(length: object) -> None:
    with pytest.raises(SerialPolicyError) as caught:
        SerialPolicy.parse("cset82", length)  # type: ignore[arg-type]
    assert caught.value.field == "length"
    assert "expected an integer from 1 to 20" in str(caught.value)


def test_twenty_characters_is_the_longest() -> None:
    policy = SerialPolicy.parse("cset82", 20)
    assert policy.number_space == 82**20
    assert SerialPolicy.parse("numeric", " 20 ").length == 20


def test_a_space_of_10000_is_refused_and_of_100000_accepted() -> None:
    """One serial of 10,000 gives a guess probability of exactly 1/10,000: not below the bound."""
    with pytest.raises(SerialPolicyError, match=r"10,000 serials cannot hold even one serial"):
        SerialPolicy.parse("numeric", 4)
    with pytest.raises(SerialPolicyError, match=r"2 characters \*\* 13 = 8,192 serials"):
        SerialPolicy.parse("01", 13)
    assert SerialPolicy.parse("numeric", 5).capacity() == 9
    assert SerialPolicy.parse("01", 14).capacity() == 1  # 16,384: 1/16,384 < 1/10,000, 2/16,384 is not


# -- the guess probability -------------------------------------------------------------------------------


def test_guess_probability_is_issued_over_space_exactly() -> None:
    policy = SerialPolicy.parse("numeric", 5)
    assert policy.check(gtin="04012345111118", issued=0, requested=9) == Fraction(9, 100_000)
    with pytest.raises(GuessProbabilityError) as caught:
        policy.check(gtin="04012345111118", issued=9, requested=1)
    error = caught.value
    assert error.probability == Fraction(1, 10_000)
    assert (error.issued, error.requested, error.number_space) == (9, 1, 100_000)
    assert "9 issued + 1 requested = 10 serials in a number space of 100,000" in str(error)
    assert "10/100,000 = 1.000e-04; it must stay below 1/10,000" in str(error)


@pytest.mark.parametrize(
    ("alphabet", "length", "capacity"),
    [
        ("numeric", 12, 99_999_999),  # the reference's table: 10^7 live serials need 11 digits...
        ("numeric", 11, 9_999_999),
        ("alphanumeric", 8, 282_110_990),  # ...or 8 upper-case alphanumerics (36^8 / 10^4 = 282,110,990.7)
        ("cset82", 20, 82**20 // 10_000),
    ],
)
def test_capacity_is_the_last_count_below_the_bound(alphabet: str, length: int, capacity: int) -> None:
    policy = SerialPolicy.parse(alphabet, length)
    assert policy.capacity() == capacity
    policy.check(gtin="04012345111118", issued=capacity - 1, requested=1)
    with pytest.raises(GuessProbabilityError):
        policy.check(gtin="04012345111118", issued=capacity, requested=1)


def test_a_stricter_bound_refuses_earlier() -> None:
    bound = Fraction(1, 1_000_000)
    policy = SerialPolicy.parse("numeric", 12, bound=bound)
    assert policy.capacity(bound) == 999_999
    with pytest.raises(GuessProbabilityError) as caught:
        check_bound("04012345111118", issued=0, requested=1_000_000, number_space=10**12, bound=bound)
    assert caught.value.probability == bound
    assert "it must stay below 1/1,000,000" in str(caught.value)
    assert Fraction(1, 10_000) == MAX_GUESS_PROBABILITY


# -- hypothesis: the parser takes any input and raises only its own error ---------------------------------


@given(
    alphabet=st.one_of(st.text(max_size=90), st.sampled_from(list(NAMED_ALPHABETS))),
    length=st.integers(-5, 30),
)
def test_policy_parsing_accepts_or_names_the_problem(alphabet: str, length: int) -> None:
    try:
        policy = SerialPolicy.parse(alphabet, length)
    except SerialPolicyError as error:
        assert error.field in {"alphabet", "length"}
        return
    assert 1 <= policy.length <= 20
    assert set(policy.alphabet) <= set(CSET82)
    assert len(set(policy.alphabet)) == len(policy.alphabet) >= 2
    assert Fraction(1, policy.number_space) < MAX_GUESS_PROBABILITY


@given(
    alphabet=st.text(alphabet=st.sampled_from(CSET82), min_size=0, max_size=100),
    length=st.one_of(st.text(max_size=4), st.integers(), st.none(), st.floats(), st.booleans()),
)
def test_policy_parsing_of_mutated_lengths(alphabet: str, length: object) -> None:
    """Random lengths of any type: a policy or a SerialPolicyError, nothing else."""
    with contextlib.suppress(SerialPolicyError):
        SerialPolicy.parse(alphabet, length)  # type: ignore[arg-type]


# -- the generator ---------------------------------------------------------------------------------------


@given(
    alphabet=st.sets(st.sampled_from(CSET82), min_size=2, max_size=82),
    length=st.integers(1, 20),
    count=st.integers(0, 50),
    seed=st.integers(0, 2**32),
)
def test_generated_serials_have_the_policy_shape_and_are_valid_ai_21(
    alphabet: set[str], length: int, count: int, seed: int
) -> None:
    policy = SerialPolicy("".join(sorted(alphabet)), length)
    serials = SerialGenerator(policy, random.Random(seed).randbytes).draw(count)
    assert len(serials) == count
    allowed = set(policy.alphabet)
    for serial in serials:
        assert len(serial) == length
        assert set(serial) <= allowed
        validate_value(AI_TABLE["21"], serial)  # a GS1 serial (AI 21): X..20


def test_characters_are_uniform_without_modulo_bias() -> None:
    """82 characters: 256 = 3 x 82 + 10, so '% 82' without rejection would make the first ten characters
    a third more frequent. A chi-square test over 820,000 characters (81 degrees of freedom: the 99.99th
    percentile is about 140) catches that bias by far (it would score about 8,000)."""
    policy = SerialPolicy.parse("cset82", 10)
    counts = Counter(SerialGenerator(policy, random.Random(82).randbytes).characters(820_000).decode())
    expected = 10_000
    chi_square = sum((counts[c] - expected) ** 2 / expected for c in CSET82)
    assert len(counts) == 82
    assert chi_square < 140


def test_default_source_is_the_os_csprng() -> None:
    import os

    generator = SerialGenerator(SerialPolicy.parse("numeric", 12))
    assert generator.random_bytes is os.urandom
    serials = generator.draw(10_000)
    assert len(set(serials)) > 9_990
