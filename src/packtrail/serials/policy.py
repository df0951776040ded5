"""What a serial number may look like, and how many may be issued before one becomes guessable.

A :class:`SerialPolicy` is an alphabet and a length. The EU Delegated Regulation 2016/161 (Art. 4)
allows serials of at most 20 characters, numeric or alphanumeric, drawn at random so that the
probability of guessing a valid one is negligible and in any case below 1 in 10,000. In GS1
barcodes (AI 21) a serial may use GS1 character set 82; many manufacturers restrict themselves to
digits or to upper-case letters and digits, which survive keyboards and case-blind systems:

>>> policy = SerialPolicy.parse("numeric", 12)
>>> policy.alphabet, policy.length, policy.number_space
('0123456789', 12, 1000000000000)
>>> SerialPolicy.parse("alphanumeric", 10).number_space == 36**10
True
>>> SerialPolicy.parse("ABCDEFGH23456789", "8").alphabet   # any subset of GS1 character set 82
'23456789ABCDEFGH'

The guess probability of a GTIN is the share of its number space that is issued: every serial ever
issued for the GTIN, the requested ones included, over ``alphabet ** length``. It must stay below
:data:`MAX_GUESS_PROBABILITY`:

>>> policy.guess_probability(issued=99_999_999)
Fraction(99999999, 1000000000000)
>>> policy.check(gtin="04012345111118", issued=99_999_999, requested=1)
Traceback (most recent call last):
...
packtrail.serials.errors.GuessProbabilityError: GTIN 04012345111118: 99,999,999 issued + 1 requested = \
100,000,000 serials in a number space of 1,000,000,000,000 would make the probability of guessing a valid \
serial 100,000,000/1,000,000,000,000 = 1.000e-04; it must stay below 1/10,000 (EU Delegated Regulation \
2016/161 Art. 4)

A configuration whose space cannot hold even one serial under the bound is refused when parsed
(10,000 four-digit serials: a guess would succeed with probability 1/10,000, not below it):

>>> SerialPolicy.parse("numeric", 4)
Traceback (most recent call last):
...
packtrail.serials.errors.SerialPolicyError: length: 10 characters ** 4 = 10,000 serials cannot hold even \
one serial below the guess probability 1/10000; use a longer length or a larger alphabet

Serials compare case-sensitively (``a`` and ``A`` are different characters), as the national
verification systems compare them.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from packtrail.gs1.checkdigit import CSET82
from packtrail.serials.errors import GuessProbabilityError, SerialPolicyError

__all__ = [
    "DEFAULT_ALPHABET",
    "DEFAULT_LENGTH",
    "MAX_GUESS_PROBABILITY",
    "MAX_LENGTH",
    "NAMED_ALPHABETS",
    "SerialPolicy",
    "check_bound",
    "parse_alphabet",
    "parse_length",
]

MAX_GUESS_PROBABILITY: Final = Fraction(1, 10_000)
"""The EU bound: the probability of guessing a valid serial must stay below 1 in 10,000."""

MAX_LENGTH: Final = 20
"""The longest serial: 20 characters (EU DR 2016/161 Art. 4; GS1 AI 21 is X..20)."""

NAMED_ALPHABETS: Final[dict[str, str]] = {
    "numeric": "0123456789",
    "alphanumeric": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "cset32": "23456789ABCDEFGHJKLMNPQRSTUVWXYZ",
    "cset82": CSET82,
}
"""Alphabets by name: digits; upper-case letters and digits; GS1 character set 32 (no 0/1/I/O, which
people misread); the whole of GS1 character set 82. Any other text is a literal alphabet."""

DEFAULT_ALPHABET: Final = "numeric"
DEFAULT_LENGTH: Final = 12
"""The default pool: 12 digits, 10^12 serials, room for 100 million serials of one GTIN under the bound
(10^6 under the 1/1,000,000 that the reference recommends)."""

_CSET82: Final = frozenset(CSET82)


def parse_alphabet(text: str) -> str:
    """The alphabet named or spelled by ``text``, its characters in GS1 character set 82 order.

    Names are those of :data:`NAMED_ALPHABETS`; anything else lists the characters themselves (at
    least 2, each once, all from GS1 character set 82).
    """
    if not isinstance(text, str):
        raise SerialPolicyError("alphabet", f"expected text, found {type(text).__name__}")
    named = NAMED_ALPHABETS.get(text.strip().lower())
    if named is not None:
        return named
    if not text:
        raise SerialPolicyError("alphabet", f"expected a name ({', '.join(NAMED_ALPHABETS)}) or characters")
    seen: set[str] = set()
    for position, char in enumerate(text, 1):
        if char not in _CSET82:
            raise SerialPolicyError(
                "alphabet", f"{char!r} at character {position} is not in GS1 character set 82"
            )
        if char in seen:
            raise SerialPolicyError("alphabet", f"{char!r} appears more than once")
        seen.add(char)
    if len(seen) < 2:
        raise SerialPolicyError("alphabet", f"expected at least 2 characters, found {len(seen)}")
    return "".join(sorted(seen))  # GS1 character set 82 is in ASCII order


def parse_length(value: int | str) -> int:
    """A serial length from 1 to :data:`MAX_LENGTH` (an int, or its decimal digits)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SerialPolicyError("length", f"expected an integer from 1 to {MAX_LENGTH}")
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 2:
            raise SerialPolicyError("length", f"expected an integer from 1 to {MAX_LENGTH}, found {value!r}")
        value = int(text)
    if not 1 <= value <= MAX_LENGTH:
        raise SerialPolicyError("length", f"expected an integer from 1 to {MAX_LENGTH}, found {value}")
    return value


def check_bound(
    gtin: str, *, issued: int, requested: int, number_space: int, bound: Fraction = MAX_GUESS_PROBABILITY
) -> Fraction:
    """The guess probability ``(issued + requested) / number_space``; :class:`GuessProbabilityError`
    when it is not below ``bound``."""
    probability = Fraction(issued + requested, number_space)
    if probability >= bound:
        raise GuessProbabilityError(
            gtin, issued=issued, requested=requested, number_space=number_space, bound=bound
        )
    return probability


@dataclass(frozen=True, slots=True)
class SerialPolicy:
    """How the serials of a pool are spelled: random strings of ``length`` characters of ``alphabet``."""

    alphabet: str
    """The characters, each once, in GS1 character set 82 (= ASCII) order."""
    length: int
    """Characters per serial, 1 to 20."""

    @classmethod
    def parse(
        cls,
        alphabet: str = DEFAULT_ALPHABET,
        length: int | str = DEFAULT_LENGTH,
        *,
        bound: Fraction = MAX_GUESS_PROBABILITY,
    ) -> SerialPolicy:
        """The policy for an alphabet (name or characters) and a length; refused when its number space
        cannot hold a single serial with a guess probability below ``bound``."""
        policy = cls(parse_alphabet(alphabet), parse_length(length))
        if Fraction(1, policy.number_space) >= bound:
            raise SerialPolicyError(
                "length",
                f"{len(policy.alphabet)} characters ** {policy.length} = {policy.number_space:,} serials "
                f"cannot hold even one serial below the guess probability {bound}; use a longer length "
                "or a larger alphabet",
            )
        return policy

    @property
    def number_space(self) -> int:
        """How many different serials the policy can spell: ``len(alphabet) ** length``."""
        return int(len(self.alphabet) ** self.length)

    @property
    def alphabet_name(self) -> str | None:
        """The name of the alphabet in :data:`NAMED_ALPHABETS`, if it has one."""
        return next((name for name, chars in NAMED_ALPHABETS.items() if chars == self.alphabet), None)

    def guess_probability(self, issued: int) -> Fraction:
        """The probability that a random guess is one of ``issued`` valid serials."""
        return Fraction(issued, self.number_space)

    def capacity(self, bound: Fraction = MAX_GUESS_PROBABILITY) -> int:
        """The most serials a GTIN may have issued with this policy while staying below ``bound``.

        >>> SerialPolicy.parse("numeric", 12).capacity()
        99999999
        """
        limit = bound * self.number_space  # issued must be < limit
        whole = limit.numerator // limit.denominator
        return whole - 1 if whole == limit else whole

    def check(
        self, *, gtin: str, issued: int, requested: int, bound: Fraction = MAX_GUESS_PROBABILITY
    ) -> Fraction:
        """The guess probability after issuing ``requested`` more serials; :class:`GuessProbabilityError`
        when it would not be below ``bound``."""
        return check_bound(
            gtin, issued=issued, requested=requested, number_space=self.number_space, bound=bound
        )

    def __str__(self) -> str:
        name = self.alphabet_name
        return f"{name or repr(self.alphabet)} x {self.length}"
