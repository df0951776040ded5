"""GS1 keys as small value types: GTIN, SSCC, GLN.

Each ``parse()`` returns a fully valid key or raises
:class:`~packtrail.gs1.errors.GS1Error` saying what was expected.

A GTIN comes in four lengths; packtrail stores and compares the 14-digit form:

>>> from packtrail.gs1.keys import GTIN, SSCC, GLN
>>> gtin = GTIN.parse("9506000134352")
>>> gtin.gtin14, gtin.kind
('09506000134352', 'GTIN-13')
>>> GTIN.parse("00614141000036").short_form
'614141000036'
>>> GTIN.parse("09506000134353")
Traceback (most recent call last):
...
packtrail.gs1.errors.GS1Error: AI (01): GTIN check digit should be 2, found 3 (in '09506000134353')

An SSCC identifies a logistic unit (case, pallet); a GLN a party or location:

>>> SSCC.parse("106141412345678908").extension_digit
'1'
>>> GLN.parse("9506000134352").value
'9506000134352'

Every key with a check digit in the syntax dictionary can be checked by AI:

>>> from packtrail.gs1.keys import check_key
>>> check_key("8018", "123456789012345670")
Traceback (most recent call last):
...
packtrail.gs1.errors.GS1Error: AI (8018) at position 0: check digit should be 5, found 0 (in '123456789012345670')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from packtrail.gs1.checkdigit import gs1_check_digit
from packtrail.gs1.dictionary import AI_TABLE
from packtrail.gs1.element_string import validate_value
from packtrail.gs1.errors import GS1Error

__all__ = ["GLN", "GTIN", "SSCC", "check_key", "normalize_gtin"]

_GTIN_KINDS = {8: "GTIN-8", 12: "GTIN-12", 13: "GTIN-13", 14: "GTIN-14"}


def _digits_with_check(value: str, lengths: tuple[int, ...], what: str, ai: str) -> str:
    if not isinstance(value, str):
        raise GS1Error(f"expected the {what} as text, found {type(value).__name__}", ai=ai)
    value = value.strip()
    if len(value) not in lengths or not (value.isascii() and value.isdigit()):
        wanted = " or ".join(str(n) for n in lengths)
        raise GS1Error(f"a {what} has {wanted} digits, found {len(value)} characters", ai=ai, value=value)
    expected = gs1_check_digit(value[:-1])
    if value[-1] != expected:
        raise GS1Error(f"{what} check digit should be {expected}, found {value[-1]}", ai=ai, value=value)
    return value


def normalize_gtin(value: str) -> str:
    """Return the GTIN-14 form of a GTIN-8, -12, -13 or -14 (left-padded with zeros), checking it."""
    return _digits_with_check(value, (8, 12, 13, 14), "GTIN", "01").zfill(14)


def check_key(ai: str, value: str) -> str:
    """Validate ``value`` as the data of key AI ``ai`` (check digit, length, characters) and return it."""
    definition = AI_TABLE.get(ai)
    if definition is None:
        raise GS1Error(f"{ai!r} is not an Application Identifier in the GS1 syntax dictionary")
    validate_value(definition, value)
    return value


@dataclass(frozen=True, slots=True)
class GTIN:
    """A Global Trade Item Number: identifies a trade item (a pack type, not one pack)."""

    gtin14: str
    """The 14-digit form, the one packtrail stores and compares."""
    kind: str
    """Which GTIN it was written as: ``"GTIN-8"``, ``"GTIN-12"``, ``"GTIN-13"`` or ``"GTIN-14"``."""

    @classmethod
    def parse(cls, value: str) -> GTIN:
        """Parse a GTIN of any length, checking its check digit."""
        digits = _digits_with_check(value, (8, 12, 13, 14), "GTIN", "01")
        return cls(digits.zfill(14), _GTIN_KINDS[len(digits)])

    @property
    def indicator(self) -> str:
        """The GTIN-14's first digit: 0 for the base unit, 1-8 for packaging levels, 9 variable measure."""
        return self.gtin14[0]

    @property
    def short_form(self) -> str:
        """The shortest GTIN form that holds the number (drops leading zeros down to 13, 12 or 8 digits)."""
        for length in (8, 12, 13):
            if self.gtin14[: 14 - length] == "0" * (14 - length):
                return self.gtin14[14 - length :]
        return self.gtin14

    def __str__(self) -> str:
        return self.gtin14


@dataclass(frozen=True, slots=True)
class SSCC:
    """A Serial Shipping Container Code: identifies one logistic unit (a case or a pallet)."""

    value: str
    """The 18 digits."""

    _AI: ClassVar[str] = "00"

    @classmethod
    def parse(cls, value: str) -> SSCC:
        """Parse an SSCC (18 digits with check digit)."""
        return cls(_digits_with_check(value, (18,), "SSCC", cls._AI))

    @property
    def extension_digit(self) -> str:
        """The first digit, chosen freely by the company that allocates the SSCC."""
        return self.value[0]

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class GLN:
    """A Global Location Number: identifies a party (a company) or a location (a site, a dock)."""

    value: str
    """The 13 digits."""

    @classmethod
    def parse(cls, value: str) -> GLN:
        """Parse a GLN (13 digits with check digit)."""
        return cls(_digits_with_check(value, (13,), "GLN", "414"))

    def __str__(self) -> str:
        return self.value
