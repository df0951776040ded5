"""GS1 identifiers and barcodes: the foundation every other packtrail package stands on.

Everything a medicine pack carries in its GS1 DataMatrix, and every form the
supply chain writes it in, as small exact value types:

>>> from packtrail.gs1 import PackIdentifier
>>> pack = PackIdentifier.parse("(01)09506000134352(17)270131(10)ABC123(21)SERIAL0001")
>>> pack.gtin, pack.serial, pack.lot, pack.expiry.isoformat()
('09506000134352', 'SERIAL0001', 'ABC123', '2027-01-31')
>>> pack.digital_link
'https://id.gs1.org/01/09506000134352/10/ABC123/21/SERIAL0001?17=270131'

Modules, lowest first: :mod:`~packtrail.gs1.checkdigit`, :mod:`~packtrail.gs1.dictionary`
(the GS1 Barcode Syntax Dictionary compiled into tables), :mod:`~packtrail.gs1.linters`,
:mod:`~packtrail.gs1.element_string`, :mod:`~packtrail.gs1.digital_link`,
:mod:`~packtrail.gs1.gcp` (company prefix lengths), :mod:`~packtrail.gs1.epc` (EPC URIs),
:mod:`~packtrail.gs1.keys` (GTIN, SSCC, GLN), :mod:`~packtrail.gs1.ndc` (US NDC),
:mod:`~packtrail.gs1.pack` (the pack identifier) and :mod:`~packtrail.gs1.datamatrix`
(rendering and decoding images; imported on use, it loads zxing-cpp). Every parser
raises :class:`GS1Error` and nothing else on bad input.
"""

from packtrail.gs1.checkdigit import gs1_check_digit, is_valid_gs1_check_digit
from packtrail.gs1.dictionary import AI_TABLE, DICTIONARY_RELEASE, AIDefinition
from packtrail.gs1.digital_link import DigitalLink
from packtrail.gs1.element_string import GS, Element, ElementString, Symbology
from packtrail.gs1.epc import (
    EPC,
    GIAI,
    GRAI,
    LGTIN,
    SGLN,
    SGTIN,
    SGTINPattern,
    epc_from_ai_pairs,
    gtin_serial_from_sgtin,
    parse_epc_uri,
    sgtin_from_gtin_serial,
)
from packtrail.gs1.epc import (
    SSCC as SSCCURI,
)
from packtrail.gs1.errors import GS1Error
from packtrail.gs1.gcp import company_prefix_length
from packtrail.gs1.keys import GLN, GTIN, SSCC, check_key, normalize_gtin
from packtrail.gs1.ndc import NDC
from packtrail.gs1.pack import NHRN_AIS, PackIdentifier, parse_barcode

__all__ = [
    "AI_TABLE",
    "DICTIONARY_RELEASE",
    "EPC",
    "GIAI",
    "GLN",
    "GRAI",
    "GS",
    "GTIN",
    "LGTIN",
    "NDC",
    "NHRN_AIS",
    "SGLN",
    "SGTIN",
    "SSCC",
    "SSCCURI",
    "AIDefinition",
    "DigitalLink",
    "Element",
    "ElementString",
    "GS1Error",
    "PackIdentifier",
    "SGTINPattern",
    "Symbology",
    "check_key",
    "company_prefix_length",
    "epc_from_ai_pairs",
    "gs1_check_digit",
    "gtin_serial_from_sgtin",
    "is_valid_gs1_check_digit",
    "normalize_gtin",
    "parse_barcode",
    "parse_epc_uri",
    "sgtin_from_gtin_serial",
]
