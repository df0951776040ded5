"""Check digits of GS1 keys.

Every numeric GS1 key (GTIN-8/12/13/14, SSCC, GLN, GSRN, GSIN, GDTI, GRAI, GCN,
ITIP) ends in a mod-10 check digit: weights 3 and 1 alternate from the right,
starting with 3 on the digit next to the check digit.

>>> from packtrail.gs1.checkdigit import gs1_check_digit, is_valid_gs1_check_digit
>>> gs1_check_digit("0950600013435")
'2'
>>> is_valid_gs1_check_digit("09506000134352")
True

The GS1 Global Model Number (AI 8013) and MUDI (AI 8014) carry instead a pair of
check characters over character set 82 (GS1 General Specifications 7.9.5):

>>> is_valid_check_character_pair("1987654Ad4X4bL5ttr2310c2K")
True
"""

from __future__ import annotations

__all__ = [
    "CSET32",
    "CSET82",
    "check_character_pair",
    "gs1_check_digit",
    "is_valid_check_character_pair",
    "is_valid_gs1_check_digit",
]

CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
"""GS1 character set 82 in the order of its value table (GS1 General Specifications figure 7.11-1)."""

CSET32 = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""The 32 characters a check character pair is drawn from."""

_CSET82_VALUE = {c: i for i, c in enumerate(CSET82)}
_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97)
_DIGITS = "0123456789"


def gs1_check_digit(digits: str) -> str:
    """Return the mod-10 check digit for ``digits`` (the key without its check digit).

    ``digits`` must be all ASCII digits; a :class:`ValueError` says otherwise.
    """
    if digits and not (digits.isascii() and digits.isdigit()):
        bad = next((ch for ch in digits if not ("0" <= ch <= "9")), digits)
        raise ValueError(f"check digit needs digits only, found {bad!r} in {digits!r}")
    data = digits.encode("ascii")
    weighted_3 = data[-1::-2]  # the digit next to the check digit, then every second one leftwards
    weighted_1 = data[-2::-2]
    total = 3 * (sum(weighted_3) - 48 * len(weighted_3)) + sum(weighted_1) - 48 * len(weighted_1)
    return _DIGITS[-total % 10]


def is_valid_gs1_check_digit(number: str) -> bool:
    """True when the last digit of ``number`` is the right mod-10 check digit."""
    if len(number) < 2 or not (number.isascii() and number.isdigit()):
        return False
    return gs1_check_digit(number[:-1]) == number[-1]


def check_character_pair(data: str) -> str:
    """Return the two check characters for ``data`` (CSET 82, at most 23 characters).

    Each character's value in :data:`CSET82` is weighted by a prime, 2 for the rightmost
    character, 3 for the next, and so on; the sum modulo 1021 gives two characters
    of :data:`CSET32`.
    """
    if len(data) > len(_PRIMES) - 2:
        raise ValueError(f"check character pair covers at most 23 characters, found {len(data)}")
    total = 0
    for weight, ch in zip(_PRIMES, reversed(data), strict=False):
        value = _CSET82_VALUE.get(ch)
        if value is None:
            raise ValueError(f"{ch!r} is not in GS1 character set 82")
        total += value * weight
    total %= 1021
    return CSET32[total >> 5] + CSET32[total & 31]


def is_valid_check_character_pair(data: str) -> bool:
    """True when the last two characters of ``data`` are its check character pair."""
    if len(data) < 3:
        return False
    try:
        return check_character_pair(data[:-2]) == data[-2:]
    except ValueError:
        return False
