"""IFA-coded packs: the PPN and ASC MH10 Data Identifiers (ISO/IEC 15434 format 06).

The EU Delegated Regulation lets a pack's Data Matrix follow either GS1's
Application Identifiers or ASC MH10 Data Identifiers (ISO/IEC 15418). German
packs (securPharm) often use the IFA coding: a plain Data Matrix (symbology
identifier ``]d1``) holding an ISO/IEC 15434 envelope ``[)>`` RS ``06`` GS …
RS EOT, with the product code as a Pharmacy Product Number (PPN, DI ``9N``),
the batch (``1T``), the expiry (``D``, YYMMDD) and the serial (``S``).

>>> from packtrail.gs1.ifa import IFAMessage, PPN
>>> message = IFAMessage.parse("]d1[)>\\x1e06\\x1d9N110375286414\\x1d1TABC123\\x1dD270100\\x1dSSERIAL1\\x1e\\x04")
>>> message.ppn, message.lot, message.expiry_raw, message.serial
('110375286414', 'ABC123', '270100', 'SERIAL1')
>>> PPN.parse("110375286414").pzn
'03752864'

A PPN is ``11`` + the German PZN + two check digits (modulo 97 over the ASCII
values weighted 2, 3, 4, …); a PZN ends in its own modulo-11 check digit:

>>> PPN.from_pzn("03752864").value
'110375286414'
>>> PPN.parse("110375286415")
Traceback (most recent call last):
...
packtrail.gs1.errors.GS1Error: PPN check digits should be 14, found 15 (in '110375286415')

The same PZN has a GS1 form, the NTIN (GTIN-13 ``4150`` + PZN + check digit):

>>> PPN.parse("110375286414").ntin
'04150037528643'
"""

from __future__ import annotations

from dataclasses import dataclass

from packtrail.gs1.checkdigit import CSET82, gs1_check_digit
from packtrail.gs1.errors import GS1Error
from packtrail.gs1.keys import normalize_gtin
from packtrail.gs1.linters import LINTERS

__all__ = ["IFA_DATA_IDENTIFIERS", "PPN", "IFAMessage", "is_ifa_message"]

_HEADER = "[)>\x1e06\x1d"
_RS = "\x1e"
_EOT = "\x04"
_GS = "\x1d"

IFA_DATA_IDENTIFIERS: dict[str, str] = {
    "9N": "PPN",
    "8P": "GTIN",
    "1T": "BATCH",
    "D": "EXPIRY (YYMMDD)",
    "S": "SERIAL",
    "16D": "PRODUCTION DATE (YYYYMMDD)",
}
"""The ASC MH10 Data Identifiers the IFA coding uses for packs, with their meaning."""

_PPN_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_CSET82 = frozenset(CSET82)
_DI_ORDER = ("16D", "9N", "8P", "1T", "D", "S")
"""Longest first, so ``16D`` is not read as ``1`` + ``6D``."""


def _ppn_check(body: str) -> str:
    total = sum(ord(ch) * weight for weight, ch in enumerate(body, start=2))
    return f"{total % 97:02d}"


def _pzn_check(first7: str) -> int:
    return sum(int(d) * w for w, d in enumerate(first7, start=1)) % 11


@dataclass(frozen=True, slots=True)
class PPN:
    """A Pharmacy Product Number: the IFA product code of a pack type (the GTIN's counterpart)."""

    value: str
    """The 4 to 22 characters: product registration agency code, product reference, check digits."""

    @classmethod
    def parse(cls, value: str) -> PPN:
        """Parse a PPN, checking its characters and its modulo-97 check digits."""
        if not isinstance(value, str):
            raise GS1Error(f"expected the PPN as text, found {type(value).__name__}")
        if not 4 <= len(value) <= 22 or not _PPN_CHARS.issuperset(value):
            raise GS1Error("a PPN has 4 to 22 digits or upper-case letters", value=value)
        expected = _ppn_check(value[:-2])
        if value[-2:] != expected:
            raise GS1Error(f"PPN check digits should be {expected}, found {value[-2:]}", value=value)
        return cls(value)

    @classmethod
    def from_pzn(cls, pzn: str) -> PPN:
        """The PPN of a German PZN (8 digits, the last its modulo-11 check digit)."""
        if len(pzn) != 8 or not pzn.isdigit():
            raise GS1Error("a PZN has 8 digits", value=pzn)
        check = _pzn_check(pzn[:7])
        if check == 10 or str(check) != pzn[7]:
            raise GS1Error(f"PZN check digit should be {check}, found {pzn[7]}", value=pzn)
        body = "11" + pzn
        return cls(body + _ppn_check(body))

    @property
    def pzn(self) -> str | None:
        """The German PZN inside the PPN, when the agency code is ``11`` (IFA, Germany)."""
        if self.value.startswith("11") and len(self.value) == 12 and self.value[2:10].isdigit():
            return self.value[2:10]
        return None

    @property
    def ntin(self) -> str | None:
        """The GS1 NTIN (GTIN-14) of the same PZN: ``0`` + ``4150`` + PZN + check digit."""
        pzn = self.pzn
        if pzn is None:
            return None
        body = "4150" + pzn
        return "0" + body + gs1_check_digit(body)

    def __str__(self) -> str:
        return self.value


def is_ifa_message(text: str) -> bool:
    """True when ``text`` (scanner output) holds an ISO/IEC 15434 format 06 envelope."""
    return "[)>" in text[:8]


@dataclass(frozen=True, slots=True)
class IFAMessage:
    """The data of an IFA-coded pack Data Matrix."""

    elements: tuple[tuple[str, str], ...]
    """``(Data Identifier, data)`` pairs in order, e.g. ``("9N", "110375286414")``."""
    warnings: tuple[str, ...] = ()
    """Things worth attention that do not make the data invalid."""

    @classmethod
    def parse(cls, text: str) -> IFAMessage:
        """Parse scanner output of an IFA-coded Data Matrix (``]d1`` prefix and CR/LF tolerated)."""
        if not isinstance(text, str):
            raise GS1Error(f"expected text, found {type(text).__name__}")
        body = text.rstrip("\r\n")
        if body[:3].lower() == "]d1":
            body = body[3:]
        if not body.startswith(_HEADER):
            raise GS1Error(
                "an IFA-coded pack starts with the ISO/IEC 15434 header '[)>' RS '06' GS", value=text[:12]
            )
        body = body[len(_HEADER) :]
        warnings: list[str] = []
        if body.endswith(_RS + _EOT):
            body = body[:-2]
        else:
            warnings.append("the ISO/IEC 15434 trailer RS EOT is missing")
            body = body.rstrip(_RS + _EOT)
        elements: list[tuple[str, str]] = []
        seen: set[str] = set()
        for field in body.split(_GS):
            if not field:
                continue
            di = next((d for d in _DI_ORDER if field.startswith(d)), None)
            if di is None:
                raise GS1Error(
                    f"unknown Data Identifier at {field[:4]!r}: expected one of {', '.join(IFA_DATA_IDENTIFIERS)}",
                    value=field,
                )
            data = field[len(di) :]
            if di in seen:
                raise GS1Error(f"Data Identifier {di} appears twice", value=field)
            seen.add(di)
            _validate(di, data)
            elements.append((di, data))
        present = {di for di, _ in elements}
        if not present & {"9N", "8P"}:
            raise GS1Error("an IFA-coded pack needs a product code: PPN (9N) or GTIN (8P)")
        if "S" not in present:
            warnings.append("no serial number (S) is present")
        return cls(tuple(elements), tuple(warnings))

    def get(self, di: str) -> str | None:
        """The data of Data Identifier ``di``, or ``None``."""
        for key, data in self.elements:
            if key == di:
                return data
        return None

    @property
    def ppn(self) -> str | None:
        """The PPN (DI 9N)."""
        return self.get("9N")

    @property
    def gtin(self) -> str | None:
        """The GTIN (DI 8P) as a GTIN-14, when the pack carries one instead of a PPN."""
        value = self.get("8P")
        return normalize_gtin(value) if value is not None else None

    @property
    def lot(self) -> str | None:
        """The batch (DI 1T)."""
        return self.get("1T")

    @property
    def serial(self) -> str | None:
        """The serial number (DI S)."""
        return self.get("S")

    @property
    def expiry_raw(self) -> str | None:
        """The expiry date as encoded, YYMMDD (DI D)."""
        return self.get("D")


def _validate(di: str, data: str) -> None:
    if not data:
        raise GS1Error(f"Data Identifier {di} has no data")
    if di == "9N":
        PPN.parse(data)
    elif di == "8P":
        normalize_gtin(data)
    elif di == "D":
        if len(data) != 6 or not data.isdigit():
            raise GS1Error(f"the expiry (D) must be 6 digits YYMMDD, found {data!r}")
        reason = LINTERS["yymmd0"](data)
        if reason is not None:
            raise GS1Error(f"expiry (D): {reason}", value=data)
    elif di == "16D":
        reason = LINTERS["yyyymmdd"](data) if len(data) == 8 and data.isdigit() else "expected YYYYMMDD"
        if reason is not None:
            raise GS1Error(f"production date (16D): {reason}", value=data)
    else:
        if len(data) > 20:
            raise GS1Error(f"{IFA_DATA_IDENTIFIERS[di].lower()} ({di}) has at most 20 characters", value=data)
        bad = next((ch for ch in data if ch not in _CSET82), None)
        if bad is not None:
            raise GS1Error(
                f"{bad!r} is not allowed in {IFA_DATA_IDENTIFIERS[di].lower()} ({di}): "
                "expected GS1 character set 82",
                value=data,
            )
