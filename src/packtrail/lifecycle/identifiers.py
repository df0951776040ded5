"""Any way a person or a scanner names a pack, case or pallet -> the canonical EPC URN the store indexes.

Accepted: an EPC URN (``urn:epc:id:sgtin:…``, ``…:sscc:…`` and the other instance schemes; any other
``urn:`` is taken as it is, as EPCIS allows private identifiers), a GS1
Digital Link (any host), the text a scanner reads from a GS1 DataMatrix or GS1-128 (with or without
symbology identifier and GS separators, or bracketed), an IFA-coded DataMatrix, an 18-digit SSCC, and a
GTIN with its serial separated by a space, comma, slash, plus, colon, semicolon or bar.

>>> parse_identifier("urn:epc:id:sgtin:4012345.011111.A1")
'urn:epc:id:sgtin:4012345.011111.A1'
>>> parse_identifier("https://id.gs1.org/01/04012345111118/21/A1")
'urn:epc:id:sgtin:4012345.011111.A1'
>>> parse_identifier("]d2010401234511111817280229" "10B42\\x1d21A1")
'urn:epc:id:sgtin:4012345.011111.A1'
>>> parse_identifier("(01)04012345111118(21)A1"), parse_identifier("04012345111118 A1")
('urn:epc:id:sgtin:4012345.011111.A1', 'urn:epc:id:sgtin:4012345.011111.A1')
>>> parse_identifier("340123450000000017")
'urn:epc:id:sscc:4012345.3000000001'
>>> parse_identifier("04012345111118")
Traceback (most recent call last):
...
packtrail.lifecycle.errors.IdentifierError: identifier: '04012345111118' names a product (GTIN), not one pack: add its serial

Every failure is an :class:`~packtrail.lifecycle.errors.IdentifierError` naming what was expected.
"""

from __future__ import annotations

import re
from typing import Final

from packtrail.gs1 import GS1Error, PackIdentifier, epc_from_ai_pairs, parse_epc_uri, sgtin_from_gtin_serial
from packtrail.lifecycle.errors import IdentifierError
from packtrail.store.identifiers import canonical_epc

__all__ = ["parse_identifier"]

_FIELD: Final = "identifier"
_GTIN_SERIAL: Final = re.compile(r"(\d{14}|\d{13}|\d{12}|\d{8})[ ,/+:;|]+(\S.*)", re.DOTALL)
_EXPECTED: Final = (
    "expected an EPC URN (urn:epc:id:sgtin:…, …:sscc:…), a GS1 Digital Link, a scanned GS1 DataMatrix "
    "or GS1-128, an SSCC, or a GTIN and serial"
)


def _instance_uri(text: str) -> str:
    try:
        epc = parse_epc_uri(text)
    except GS1Error as error:
        raise IdentifierError(_FIELD, f"{text!r} is not a valid EPC URN: {error}") from None
    if not text.startswith("urn:epc:id:"):
        raise IdentifierError(_FIELD, f"{text!r} names a class of products, not one instance")
    return epc.uri


def parse_identifier(text: str) -> str:
    """The canonical EPC URN of ``text`` (see the module docstring); raises IdentifierError."""
    if not isinstance(text, str):
        raise IdentifierError(_FIELD, f"expected text, found {type(text).__name__}")
    value = text.strip(" \t\r\n")
    if not value:
        raise IdentifierError(_FIELD, f"empty; {_EXPECTED}")
    if len(value) > 2048:
        raise IdentifierError(_FIELD, f"{len(value)} characters is too long for an identifier")
    if value.startswith("urn:epc:"):
        return _instance_uri(value)
    if value.startswith("urn:"):
        return value  # a private URN: EPCIS events may use any URI as an identifier
    if value.lower().startswith(("http://", "https://")):
        converted = canonical_epc(value)
        if converted.startswith("urn:epc:id:"):
            return _instance_uri(converted)
    if value.isascii() and value.isdigit() and len(value) in (8, 12, 13, 14):
        raise IdentifierError(_FIELD, f"{value!r} names a product (GTIN), not one pack: add its serial")
    match = _GTIN_SERIAL.fullmatch(value)
    try:
        if match is not None:
            return sgtin_from_gtin_serial(match.group(1), match.group(2).strip())
        if len(value) == 18 and value.isascii() and value.isdigit():
            return epc_from_ai_pairs([("00", value)]).uri
        pack = PackIdentifier.parse(value)
    except GS1Error as error:
        raise IdentifierError(_FIELD, f"{value!r}: {error}") from None
    try:
        if pack.sscc is not None:
            return epc_from_ai_pairs([("00", pack.sscc)]).uri
        if pack.gtin is not None and pack.serial is not None:
            return sgtin_from_gtin_serial(pack.gtin, pack.serial)
    except GS1Error as error:
        raise IdentifierError(_FIELD, f"{value!r}: {error}") from None
    if pack.gtin is not None:
        raise IdentifierError(_FIELD, f"{value!r} names a product (GTIN), not one pack: add its serial")
    raise IdentifierError(_FIELD, f"{value!r}: {_EXPECTED}")
