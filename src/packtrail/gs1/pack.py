"""A medicine pack's unique identifier as one value.

EU FMD and US DSCSA both identify a saleable pack by its product code (a GTIN),
a serial number, the batch/lot and the expiry date; some EU markets add a
national reimbursement number (NHRN, AIs 710-717). :class:`PackIdentifier`
holds exactly that, reads it from whatever a scanner or a partner sends, and
writes it back in every form the supply chain uses.

>>> from packtrail.gs1.pack import PackIdentifier, parse_barcode
>>> pack = PackIdentifier.parse("]d201095060001343521727013110ABC123\\x1d21SERIAL0001\\x1d710PZN1234")
>>> pack.gtin, pack.serial, pack.lot, pack.expiry
('09506000134352', 'SERIAL0001', 'ABC123', datetime.date(2027, 1, 31))
>>> pack.nhrn
(('710', 'PZN1234'),)
>>> pack.sgtin
'urn:epc:id:sgtin:95060001343.05.SERIAL0001'
>>> pack.digital_link
'https://id.gs1.org/01/09506000134352/10/ABC123/21/SERIAL0001?17=270131&710=PZN1234'
>>> pack.element_string().bracketed()
'(01)09506000134352(17)270131(10)ABC123(21)SERIAL0001(710)PZN1234'

An IFA-coded German pack (ISO/IEC 15434, product code as PPN) reads into the same type:

>>> ifa = PackIdentifier.parse("]d1[)>\\x1e06\\x1d9N110375286414\\x1d1TABC123\\x1dD270131\\x1dSSERIAL1\\x1e\\x04")
>>> ifa.product_code_scheme, ifa.product_code, ifa.serial
('PPN', '110375286414', 'SERIAL1')

The same pack read from its Digital Link gives an equal value:

>>> PackIdentifier.parse(pack.digital_link) == pack
True

:func:`parse_barcode` is the single entry point for scanned text: element
strings with or without a symbology identifier, the bracketed form, and
Digital Link URIs all come back as an
:class:`~packtrail.gs1.element_string.ElementString`:

>>> parse_barcode("https://id.gs1.org/01/09506000134352/21/S1").pairs
(('01', '09506000134352'), ('21', 'S1'))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from packtrail.gs1.digital_link import DEFAULT_RESOLVER, DigitalLink, _pharma, _pharma_match
from packtrail.gs1.element_string import _DEFAULT_SUBSTITUTES, ElementString, _parse
from packtrail.gs1.epc import sgtin_from_gtin_serial
from packtrail.gs1.errors import GS1Error
from packtrail.gs1.ifa import IFAMessage, is_ifa_message
from packtrail.gs1.keys import normalize_gtin
from packtrail.gs1.linters import gs1_date

__all__ = ["NHRN_AIS", "PackIdentifier", "parse_barcode"]

NHRN_AIS: tuple[str, ...] = ("710", "711", "712", "713", "714", "715", "716", "717")
"""AIs of national healthcare reimbursement numbers: 710 Germany (PZN), 711 France (CIP), 712 Spain,
713 Brazil (DRN), 714 Portugal (AIM), 715 US (NDC), 716 Italy (AIC), 717 (SRN)."""


def parse_barcode(
    text: str, *, gs_substitutes: Iterable[str] = _DEFAULT_SUBSTITUTES, strict: bool = True
) -> ElementString:
    """Read any textual form of GS1 data into a validated element string.

    ``text`` may be scanner output (with a symbology identifier such as ``]d2``,
    GS separators or a substitute for them, a trailing CR/LF), the bracketed
    human-readable form, or a GS1 Digital Link URI (``strict`` applies to it).
    """
    if type(text) is not str and not isinstance(text, str):
        raise GS1Error(f"expected text, found {type(text).__name__}")
    if text[:4] in _HTTP and (text[4:7] == "://" or text[4:8] in _AFTER_HTTP):
        match = _pharma_match(text)  # the common shape of a pack's URI, in one step
        if match is not None:
            elements = _pharma(match)
            if elements is not None:
                return elements
        return DigitalLink.parse_to_element_string(text.strip(), strict=strict)
    return _parse(ElementString, text, gs_substitutes, True)


_HTTP = frozenset(a + b + c + d for a in "hH" for b in "tT" for c in "tT" for d in "pP")
_AFTER_HTTP = ("s://", "S://")
"""``http://`` or ``https://`` in any case: a cheap test on the scanner hot path."""


@dataclass(frozen=True, slots=True)
class PackIdentifier:
    """The unique identifier of one pack: product code, serial, batch, expiry, NHRN."""

    gtin: str | None
    """The product code as a GTIN-14 (an NTIN, a GTIN issued for a national number, is one too)."""
    serial: str | None = None
    """The serial number (AI 21), unique per GTIN; compared case-sensitively."""
    lot: str | None = None
    """The batch or lot number (AI 10); compared case-sensitively."""
    expiry: date | None = None
    """The expiry date (AI 17), day 00 already turned into the month's last day."""
    expiry_raw: str | None = None
    """The expiry exactly as encoded, ``YYMMDD`` (keeps a day of ``00``)."""
    nhrn: tuple[tuple[str, str], ...] = ()
    """National healthcare reimbursement numbers as ``(AI, value)``, e.g. ``("710", "PZN…")``."""
    sscc: str | None = None
    """For a case or pallet label: the SSCC (AI 00) instead of a GTIN."""
    ppn: str | None = None
    """For an IFA-coded pack: the Pharmacy Product Number, the product code instead of a GTIN."""
    warnings: tuple[str, ...] = dataclasses.field(default=(), compare=False)
    """Warnings from reading the barcode (missing serial, repaired Digital Link, …)."""

    @classmethod
    def parse(
        cls, text: str, *, gs_substitutes: Iterable[str] = ("<GS>",), strict: bool = True
    ) -> PackIdentifier:
        """Read a pack identifier from any form :func:`parse_barcode` accepts, or from an IFA-coded
        Data Matrix (ISO/IEC 15434 with ASC MH10 Data Identifiers, product code as PPN)."""
        if isinstance(text, str) and is_ifa_message(text):
            return cls.from_ifa(IFAMessage.parse(text))
        return cls.from_element_string(parse_barcode(text, gs_substitutes=gs_substitutes, strict=strict))

    @classmethod
    def from_ifa(cls, message: IFAMessage) -> PackIdentifier:
        """Pick the pack's fields out of an IFA-coded message."""
        expiry_raw = message.expiry_raw
        return cls(
            gtin=message.gtin,
            serial=message.serial,
            lot=message.lot,
            expiry=gs1_date(expiry_raw) if expiry_raw else None,
            expiry_raw=expiry_raw,
            ppn=message.ppn,
            warnings=message.warnings,
        )

    @classmethod
    def from_element_string(cls, elements: ElementString) -> PackIdentifier:
        """Pick the pack's fields out of a validated element string."""
        values = dict(elements.pairs)
        expiry_raw = values.get("17")
        return cls(
            gtin=values.get("01"),
            serial=values.get("21"),
            lot=values.get("10"),
            expiry=gs1_date(expiry_raw) if expiry_raw else None,
            expiry_raw=expiry_raw,
            nhrn=tuple((ai, values[ai]) for ai in NHRN_AIS if ai in values),
            sscc=values.get("00"),
            warnings=elements.warnings,
        )

    @classmethod
    def create(
        cls,
        gtin: str,
        serial: str,
        lot: str | None = None,
        expiry: str | date | None = None,
        nhrn: Iterable[tuple[str, str]] = (),
    ) -> PackIdentifier:
        """Build and validate a pack identifier from its parts (``gtin`` of any length, ``expiry`` as
        ``YYMMDD`` or a date)."""
        pairs: list[tuple[str, str]] = [("01", normalize_gtin(gtin))]
        if expiry is not None:
            pairs.append(("17", expiry.strftime("%y%m%d") if isinstance(expiry, date) else expiry))
        if lot is not None:
            pairs.append(("10", lot))
        pairs.append(("21", serial))
        pairs.extend(nhrn)
        return cls.from_element_string(ElementString.from_pairs(pairs))

    def pairs(self) -> tuple[tuple[str, str], ...]:
        """``(AI, value)`` pairs in the order packtrail encodes them: fixed-length first."""
        if self.ppn is not None and self.gtin is None:
            raise GS1Error(
                f"PPN {self.ppn} is an IFA product code: it has no GS1 element string form "
                "(use the NTIN of its PZN, see packtrail.gs1.ifa.PPN.ntin)"
            )
        pairs: list[tuple[str, str]] = []
        if self.sscc is not None:
            pairs.append(("00", self.sscc))
        if self.gtin is not None:
            pairs.append(("01", self.gtin))
        if self.expiry_raw is not None:
            pairs.append(("17", self.expiry_raw))
        if self.lot is not None:
            pairs.append(("10", self.lot))
        if self.serial is not None:
            pairs.append(("21", self.serial))
        pairs.extend(self.nhrn)
        return tuple(pairs)

    def element_string(self) -> ElementString:
        """The identifier as a validated element string, ready to encode in a GS1 DataMatrix."""
        return ElementString.from_pairs(self.pairs())

    @property
    def sgtin(self) -> str | None:
        """The EPC URI ``urn:epc:id:sgtin:…`` EPCIS events use, or ``None`` without a serial or when the
        GS1 Company Prefix length of the GTIN is unknown (see :meth:`sgtin_with_prefix_length`)."""
        if self.gtin is None or self.serial is None:
            return None
        try:
            return sgtin_from_gtin_serial(self.gtin, self.serial)
        except GS1Error:
            return None

    def sgtin_with_prefix_length(self, company_prefix_length: int) -> str:
        """The SGTIN URI with an explicit GS1 Company Prefix length (for prefixes GS1's list lacks)."""
        if self.gtin is None or self.serial is None:
            raise GS1Error("an SGTIN needs both a GTIN (01) and a serial number (21)")
        return sgtin_from_gtin_serial(self.gtin, self.serial, company_prefix_length)

    def digital_link_with_base(self, base: str = DEFAULT_RESOLVER) -> str:
        """The GS1 Digital Link URI on the given resolver base."""
        return DigitalLink.from_element_string(self.pairs(), base=base).uri

    @property
    def digital_link(self) -> str:
        """The GS1 Digital Link URI on GS1's resolver, ``https://id.gs1.org/01/…/10/…/21/…?17=…``."""
        return self.digital_link_with_base()

    @property
    def product_code(self) -> str | None:
        """The product code as the EU repositories system knows it: the GTIN, else the PPN."""
        return self.gtin if self.gtin is not None else self.ppn

    @property
    def product_code_scheme(self) -> str | None:
        """``"GTIN"`` or ``"PPN"``: the coding scheme of :attr:`product_code`."""
        if self.gtin is not None:
            return "GTIN"
        return "PPN" if self.ppn is not None else None

    @property
    def is_complete_unique_identifier(self) -> bool:
        """True when product code, serial, batch and expiry are all present (EU FMD Art. 4; DSCSA)."""
        return None not in (self.product_code, self.serial, self.lot, self.expiry)
