"""Checks for the fields of a unique identifier as the NMVS receives them.

Each function returns the value in the form the repository stores and compares
(a GTIN always as GTIN-14), or raises :class:`~packtrail.fmd.errors.FmdInputError`
naming the field. Serial and batch are compared case-sensitively everywhere, so
nothing here changes their case.

>>> from packtrail.fmd.fields import product_code, serial_number, expiry_yymmdd
>>> product_code("9506000134352")
('09506000134352', 'GTIN')
>>> product_code("110375286414")
('110375286414', 'PPN')
>>> serial_number("abc123")
'abc123'
>>> expiry_yymmdd("2027-01-31")
Traceback (most recent call last):
...
packtrail.fmd.errors.FmdInputError: expiry: expected YYMMDD (6 digits, month 01-12, day 00-31), found '2027-01-31' [NMVS_FE_LOT_07]
"""

from __future__ import annotations

from typing import Literal

from packtrail.fmd.codes import ReturnCode
from packtrail.fmd.errors import FmdInputError
from packtrail.gs1 import GS1Error, normalize_gtin
from packtrail.gs1.checkdigit import CSET82
from packtrail.gs1.ifa import PPN

__all__ = [
    "MAX_BATCH_LENGTH",
    "MAX_SERIAL_LENGTH",
    "ProductCodeScheme",
    "batch_id",
    "expiry_yymmdd",
    "market_code",
    "product_code",
    "serial_number",
]

ProductCodeScheme = Literal["GTIN", "PPN"]
"""The NMVS ``ProductCode/@scheme``: a GS1 GTIN or an IFA Pharmacy Product Number."""

MAX_SERIAL_LENGTH = 20
"""DR Art. 4: a serial number has at most 20 characters (GS1 AI 21 allows the same)."""
MAX_BATCH_LENGTH = 20
"""GS1 AI 10 (batch/lot) holds at most 20 characters."""

_CSET82 = frozenset(CSET82)


def product_code(
    value: object, scheme: str | None = None, *, field: str = "productCode"
) -> tuple[str, ProductCodeScheme]:
    """The product code as stored (GTIN-14 or PPN) and its scheme.

    Without ``scheme``: a value of 8, 13 or 14 digits is a GTIN; 12 digits starting ``11`` are a
    German PPN unless only the GTIN-12 check digit fits; other 12 digits a GTIN-12; anything else
    must be a PPN.
    A wrong GTIN check digit is ``NMVS_FE_GR_01``; a wrong German PPN is ``NMVS_FE_GR_02``.
    """
    if not isinstance(value, str) or not value:
        raise FmdInputError(
            field, f"expected a GTIN or PPN as text, found {value!r}", ReturnCode.NMVS_FE_GR_01
        )
    if scheme not in (None, "GTIN", "PPN"):
        raise FmdInputError(
            field, f"scheme must be 'GTIN' or 'PPN', found {scheme!r}", ReturnCode.NMVS_FE_GR_01
        )
    known = _READ_CODES.get((value, scheme))
    if known is not None:
        return known
    result = _read_product_code(value, scheme, field)
    if len(_READ_CODES) >= 4096:  # a node sees few product codes; keep the memo small
        _READ_CODES.clear()
    _READ_CODES[(value, scheme)] = result
    return result


_READ_CODES: dict[tuple[str, str | None], tuple[str, ProductCodeScheme]] = {}
"""Product codes already read (a node verifies the same few thousand codes again and again)."""


def _read_product_code(value: str, scheme: str | None, field: str) -> tuple[str, ProductCodeScheme]:
    digits = value.isascii() and value.isdigit()
    if scheme is None:
        if digits and len(value) in (8, 13, 14):
            scheme = "GTIN"
        elif digits and len(value) == 12 and value.startswith("11"):
            scheme = "PPN" if _is_ppn(value) or not _is_gtin(value) else "GTIN"
        elif digits and len(value) == 12:
            scheme = "GTIN"
        else:
            scheme = "PPN"
    if scheme == "GTIN":
        try:
            return normalize_gtin(value), "GTIN"
        except GS1Error as exc:
            raise FmdInputError(field, exc.reason, ReturnCode.NMVS_FE_GR_01) from None
    try:
        return PPN.parse(value).value, "PPN"
    except GS1Error as exc:
        code = ReturnCode.NMVS_FE_GR_02 if value.startswith("11") else ReturnCode.NMVS_FE_GR_01
        raise FmdInputError(field, f"not a GTIN, and as a PPN: {exc.reason}", code) from None


def _is_gtin(value: str) -> bool:
    try:
        normalize_gtin(value)
    except GS1Error:
        return False
    return True


def _is_ppn(value: str) -> bool:
    try:
        PPN.parse(value)
    except GS1Error:
        return False
    return True


def _cset82_text(value: object, field: str, what: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise FmdInputError(field, f"expected the {what} as text, found {type(value).__name__}")
    if not 1 <= len(value) <= max_length:
        raise FmdInputError(field, f"a {what} has 1 to {max_length} characters, found {len(value)}")
    if not _CSET82.issuperset(value):
        bad = next(ch for ch in value if ch not in _CSET82)
        raise FmdInputError(field, f"{bad!r} is not in GS1 character set 82 (in {value!r})")
    return value


def serial_number(value: object, *, field: str = "serialNumber") -> str:
    """A serial number: 1-20 characters of GS1 character set 82, case kept as given."""
    return _cset82_text(value, field, "serial number", MAX_SERIAL_LENGTH)


def batch_id(value: object, *, field: str = "batch") -> str:
    """A batch (lot) id: 1-20 characters of GS1 character set 82, case kept as given."""
    return _cset82_text(value, field, "batch", MAX_BATCH_LENGTH)


def expiry_yymmdd(value: object, *, field: str = "expiry") -> str:
    """An expiry date as the NMVS compares it: ``YYMMDD``, day ``00`` allowed (GS1 AI 17).

    Only the shape is checked here; the repository compares the six characters exactly.
    """
    if (
        isinstance(value, str)
        and len(value) == 6
        and value.isascii()
        and value.isdigit()
        and 1 <= int(value[2:4]) <= 12
        and int(value[4:]) <= 31
    ):
        return value
    raise FmdInputError(
        field,
        f"expected YYMMDD (6 digits, month 01-12, day 00-31), found {value!r}",
        ReturnCode.NMVS_FE_LOT_07,
    )


def market_code(value: object, *, field: str = "market") -> str:
    """A target market as an ISO 3166-1 alpha-2 code in upper case (``DE``, ``AT``, …)."""
    if not (
        isinstance(value, str) and len(value) == 2 and value.isascii() and value.isalpha() and value.isupper()
    ):
        raise FmdInputError(
            field, f"expected an ISO 3166-1 alpha-2 country code such as 'DE', found {value!r}"
        )
    return value
