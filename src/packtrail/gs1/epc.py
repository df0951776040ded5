"""EPC pure-identity URIs of GS1 keys (GS1 EPC Tag Data Standard 2.x).

EPCIS events name each pack, case and pallet by an EPC URI. Parse one:

>>> from packtrail.gs1.epc import SGTIN, parse_epc_uri
>>> sgtin = SGTIN.parse("urn:epc:id:sgtin:0614141.812345.6789")
>>> sgtin.company_prefix, sgtin.item_reference, sgtin.serial
('0614141', '812345', '6789')

The indicator digit of the GTIN-14 moves to the front of the item reference and
the check digit is dropped; both come back in the GS1 element data:

>>> sgtin.gtin
'80614141123458'
>>> sgtin.to_ai_pairs()
(('01', '80614141123458'), ('21', '6789'))

Going the other way needs the length of the GS1 Company Prefix. It is looked up
in GS1's list (:mod:`packtrail.gs1.gcp`) unless you pass it:

>>> SGTIN.from_ai_pairs([("01", "80614141123458"), ("21", "6789")]).uri
'urn:epc:id:sgtin:0614141.812345.6789'
>>> SGTIN.from_ai_pairs([("01", "80614141123458"), ("21", "6789")], company_prefix_length=9).uri
'urn:epc:id:sgtin:061414112.8345.6789'

Serials may hold characters a URI cannot carry as they are; TDS escapes them
(``"`` ``%`` ``&`` ``/`` ``<`` ``>`` ``?``) and parsing undoes it:

>>> uri = SGTIN.from_ai_pairs([("01", "80614141123458"), ("21", "A/1%")]).uri
>>> uri
'urn:epc:id:sgtin:0614141.812345.A%2F1%25'
>>> SGTIN.parse(uri).serial
'A/1%'

The other schemes work the same way:

>>> parse_epc_uri("urn:epc:id:sscc:0614141.1234567890").to_ai_pairs()
(('00', '106141412345678908'),)
>>> parse_epc_uri("urn:epc:id:sgln:0614141.12345.400").to_ai_pairs()
(('414', '0614141123452'), ('254', '400'))
>>> parse_epc_uri("urn:epc:id:grai:0614141.12345.400").to_ai_pairs()
(('8003', '00614141123452400'),)
>>> parse_epc_uri("urn:epc:id:giai:0614141.12345400").to_ai_pairs()
(('8004', '061414112345400'),)
>>> parse_epc_uri("urn:epc:class:lgtin:0614141.812345.LOT42").to_ai_pairs()
(('01', '80614141123458'), ('10', 'LOT42'))

Patterns select many SGTINs, as in EPCIS queries:

>>> pattern = parse_epc_uri("urn:epc:idpat:sgtin:0614141.812345.*")
>>> pattern.matches("urn:epc:id:sgtin:0614141.812345.6789")
True
>>> pattern.matches("urn:epc:id:sgtin:0614141.012345.6789")
False

Millions of packs go through two functions built for speed (results are cached
per GTIN and per company prefix + item reference):

>>> from packtrail.gs1.epc import gtin_serial_from_sgtin, sgtin_from_gtin_serial
>>> sgtin_from_gtin_serial("80614141123458", "6789")
'urn:epc:id:sgtin:0614141.812345.6789'
>>> gtin_serial_from_sgtin("urn:epc:id:sgtin:0614141.812345.6789")
('80614141123458', '6789')

Bad input raises :class:`~packtrail.gs1.errors.GS1Error` saying what was expected:

>>> SGTIN.parse("urn:epc:id:sgtin:0614141.81234.6789")
Traceback (most recent call last):
...
packtrail.gs1.errors.GS1Error: at position 25: expected 6 digits of indicator digit and item reference \
for a 7-digit company prefix (13 digits in all), found 5 (in 'urn:epc:id:sgtin:0614141.81234.6789')

References: GS1 EPC Tag Data Standard 2.x, sections 6.3 (EPC URIs: SGTIN, SSCC,
SGLN, GRAI, GIAI), 6.4 (pure identity patterns), 7 (correspondence with GS1
keys), table A-1 (characters to escape in a URI); LGTIN class URIs per TDS 6.5.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from packtrail.gs1.checkdigit import CSET82, gs1_check_digit
from packtrail.gs1.errors import GS1Error
from packtrail.gs1.gcp import GCP_LIST_DATE, company_prefix_length_at

__all__ = [
    "EPC",
    "GIAI",
    "GRAI",
    "LGTIN",
    "SGLN",
    "SGTIN",
    "SSCC",
    "AIPairs",
    "SGTINPattern",
    "epc_from_ai_pairs",
    "gtin_serial_from_sgtin",
    "parse_epc_uri",
    "sgtin_from_gtin_serial",
]

AIPairs: TypeAlias = tuple[tuple[str, str], ...]
"""GS1 element data in order: ``(("01", "80614141123458"), ("21", "6789"))``."""

# --- URI escaping (TDS table A-1) -------------------------------------------------------

_URN_SAFE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!'()*+,-.:;=_"
_URN_SAFE = frozenset(_URN_SAFE_CHARS)
_URN_SAFE_RUN = re.compile(r"[A-Za-z0-9!'()*+,.:;=_-]+").fullmatch
"""A run of characters that stand for themselves in an EPC URI (no escaping needed)."""
_URN_ESCAPES = {'"': "%22", "%": "%25", "&": "%26", "/": "%2F", "<": "%3C", ">": "%3E", "?": "%3F"}
_ESCAPE_TABLE = str.maketrans(_URN_ESCAPES)
_URN_UNESCAPES = {code[1:]: ch for ch, code in _URN_ESCAPES.items()}
_URN_UNESCAPES.update({code.lower(): ch for code, ch in list(_URN_UNESCAPES.items())})
_CSET82 = frozenset(CSET82)
_ESCAPE_LIST = " ".join(sorted(_URN_ESCAPES.values()))

_SERIAL_MAX = 20
_GRAI_SERIAL_MAX = 16
_GIAI_MAX = 30


def _urn_encode(value: str, what: str, max_len: int, ai: str | None) -> str:
    """Check ``value`` (GS1 character set 82, 1..max_len) and escape it for a URI."""
    if (
        isinstance(value, str)
        and len(value) <= max_len
        and ((value.isascii() and value.isalnum()) or _URN_SAFE_RUN(value))
    ):
        return value
    _check_cset82(value, what, max_len, ai)
    return value.translate(_ESCAPE_TABLE)


def _check_cset82(value: str, what: str, max_len: int, ai: str | None) -> None:
    if not isinstance(value, str):
        raise GS1Error(f"expected the {what} as text, found {type(value).__name__}", ai=ai)
    if not value:
        raise GS1Error(f"the {what} is empty: expected 1 to {max_len} characters", ai=ai, value=value)
    for i, ch in enumerate(value):
        if ch not in _CSET82:
            raise GS1Error(
                f"{ch!r} is not allowed in the {what}: expected GS1 character set 82 "
                "(letters, digits and !\"%&'()*+,-./:;<=>?_)",
                ai=ai,
                position=i,
                value=value,
            )
    if len(value) > max_len:
        raise GS1Error(
            f"the {what} should be at most {max_len} characters, found {len(value)}", ai=ai, value=value
        )


def _urn_decode(text: str, what: str, max_len: int, uri: str, offset: int) -> str:
    """Undo TDS escaping of one URI component, checking characters and length."""
    if len(text) <= max_len and ((text.isascii() and text.isalnum()) or _URN_SAFE_RUN(text)):
        return text
    if not text:
        raise GS1Error(f"the {what} is empty: expected 1 to {max_len} characters", position=offset, value=uri)
    out: list[str] = []
    i = 0
    size = len(text)
    while i < size:
        ch = text[i]
        if ch in _URN_SAFE:
            out.append(ch)
            i += 1
        elif ch == "%":
            decoded = _URN_UNESCAPES.get(text[i + 1 : i + 3])
            if decoded is None:
                raise GS1Error(
                    f"{text[i : i + 3]!r} in the {what} is not an escape an EPC URI may use: "
                    f"expected one of {_ESCAPE_LIST}",
                    position=offset + i,
                    value=uri,
                )
            out.append(decoded)
            i += 3
        elif ch in _URN_ESCAPES:
            raise GS1Error(
                f"{ch!r} in the {what} must be escaped as {_URN_ESCAPES[ch]}", position=offset + i, value=uri
            )
        else:
            raise GS1Error(
                f"{ch!r} is not allowed in the {what}: expected GS1 character set 82 "
                f"with {_ESCAPE_LIST} for the characters a URI cannot carry",
                position=offset + i,
                value=uri,
            )
    value = "".join(out)
    if len(value) > max_len:
        raise GS1Error(
            f"the {what} should be at most {max_len} characters, found {len(value)}",
            position=offset,
            value=uri,
        )
    return value


# --- shared checks ----------------------------------------------------------------------


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _check_company_prefix(cp: str, uri: str | None = None, offset: int | None = None) -> None:
    if not isinstance(cp, str) or not (6 <= len(cp) <= 12 and _is_digits(cp)):
        found = f"{len(cp)} digits" if isinstance(cp, str) and _is_digits(cp) else repr(cp)
        raise GS1Error(
            f"expected a GS1 Company Prefix of 6 to 12 digits, found {found}",
            position=offset,
            value=uri if uri is not None else (cp if isinstance(cp, str) else None),
        )


def _check_reference(
    ref: str, total: int, cp: str, what: str, uri: str | None = None, offset: int | None = None
) -> None:
    """``ref`` must be ``total - len(cp)`` digits (it may be empty when the prefix fills all)."""
    expected = total - len(cp)
    if isinstance(ref, str) and len(ref) == expected and (not ref or _is_digits(ref)):
        return
    if not isinstance(ref, str):
        found = type(ref).__name__
    elif ref and not _is_digits(ref):
        found = repr(ref)
    else:
        found = str(len(ref))
    raise GS1Error(
        f"expected {expected} digits of {what} for a {len(cp)}-digit company prefix "
        f"({total} digits in all), found {found}",
        position=offset,
        value=uri if uri is not None else (ref if isinstance(ref, str) else None),
    )


def _split(uri: str, prefix: str, names: tuple[str, ...]) -> tuple[list[str], list[int]]:
    """Split ``prefix`` + ``len(names)`` dot-separated parts; the last part may hold dots."""
    if not isinstance(uri, str):
        raise GS1Error(f"expected an EPC URI as text, found {type(uri).__name__}")
    if not uri.startswith(prefix):
        raise GS1Error(
            f"expected a URI starting {prefix!r}, found {uri[: len(prefix)]!r}", position=0, value=uri
        )
    parts = uri[len(prefix) :].split(".", len(names) - 1)
    if len(parts) != len(names):
        raise GS1Error(
            f"expected {len(names)} parts separated by '.' after {prefix!r} ({', '.join(names)}), "
            f"found {len(parts)}",
            position=len(prefix),
            value=uri,
        )
    offsets = []
    offset = len(prefix)
    for part in parts:
        offsets.append(offset)
        offset += len(part) + 1
    return parts, offsets


def _pick(pairs: Iterable[tuple[str, str]], wanted: tuple[str, ...]) -> dict[str, str]:
    """The values of the ``wanted`` AIs; other AIs (expiry date, batch...) are ignored."""
    found: dict[str, str] = {}
    try:
        items = [(ai, value) for ai, value in pairs]
    except (TypeError, ValueError):
        raise GS1Error("expected GS1 element data as (AI, data) pairs") from None
    for ai, value in items:
        if ai in wanted:
            if not isinstance(value, str):
                raise GS1Error(f"expected the AI ({ai}) data as text, found {type(value).__name__}", ai=ai)
            seen = found.setdefault(ai, value)
            if seen != value:
                raise GS1Error(f"AI ({ai}) appears twice with different data: {seen!r} and {value!r}", ai=ai)
    return found


def _require(found: dict[str, str], ai: str, title: str, scheme: str) -> str:
    value = found.get(ai)
    if value is None:
        raise GS1Error(f"an {scheme} needs AI ({ai}) ({title}), which is missing", ai=ai)
    return value


def _check_key(value: str, size: int, name: str, ai: str, check_from: int = 0) -> None:
    """``value`` must be ``size`` digits ending in the check digit of ``value[check_from:]``."""
    if len(value) != size or not _is_digits(value):
        what = f"{len(value)} characters" if len(value) != size else repr(value)
        raise GS1Error(f"expected an {name} of {size} digits, found {what}", ai=ai, value=value)
    expected = gs1_check_digit(value[check_from:-1])
    if value[-1] != expected:
        raise GS1Error(
            f"{name} check digit should be {expected}, found {value[-1]}",
            ai=ai,
            position=size - 1,
            value=value,
        )


def _gtin14(gtin: str) -> str:
    """A GTIN-8/12/13/14 with a valid check digit, padded to 14 digits."""
    if not isinstance(gtin, str):
        raise GS1Error(f"expected a GTIN as text, found {type(gtin).__name__}", ai="01")
    if len(gtin) not in (8, 12, 13, 14) or not _is_digits(gtin):
        what = f"{len(gtin)} characters" if len(gtin) not in (8, 12, 13, 14) else repr(gtin)
        raise GS1Error(f"expected a GTIN of 8, 12, 13 or 14 digits, found {what}", ai="01", value=gtin)
    gtin = gtin.rjust(14, "0")
    _check_key(gtin, 14, "GTIN", "01")
    return gtin


def _company_prefix_length(explicit: int | None, key: str, position: int, ai: str) -> int:
    """The explicit company prefix length, or the one GS1's list gives for ``key``."""
    if explicit is not None:
        if not isinstance(explicit, int) or isinstance(explicit, bool) or not 6 <= explicit <= 12:
            raise GS1Error(f"company_prefix_length should be 6 to 12, found {explicit!r}", ai=ai)
        return explicit
    length = company_prefix_length_at(key, position)
    if length is None:
        raise GS1Error(
            "the GS1 Company Prefix length is unknown (not in the GS1 Company Prefix list of "
            f"{GCP_LIST_DATE}); pass company_prefix_length explicitly",
            ai=ai,
            value=key,
        )
    if length == 0:
        raise GS1Error(
            "no GS1 Company Prefix applies to this key (restricted circulation, coupon, "
            "ISBN/ISSN or GTIN-8 office range), so it has no EPC URI",
            ai=ai,
            value=key,
        )
    if length < 6:  # pragma: no cover - the list holds no such lengths
        raise GS1Error(f"the GS1 Company Prefix list gives length {length}, below 6", ai=ai, value=key)
    return length


# --- schemes ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SGTIN:
    """Serialised GTIN: one instance of a trade item (``urn:epc:id:sgtin:``)."""

    company_prefix: str
    """The GS1 Company Prefix (6 to 12 digits): identifies the company that assigned the GTIN."""
    item_reference: str
    """The GTIN's indicator digit (0 for a GTIN-8/12/13) then its item reference: 13 digits minus the
    company prefix."""
    serial: str
    """The serial number, as in AI (21): 1 to 20 characters of GS1 character set 82, unescaped."""

    PREFIX: ClassVar[str] = "urn:epc:id:sgtin:"

    def __post_init__(self) -> None:
        _check_company_prefix(self.company_prefix)
        _check_reference(self.item_reference, 13, self.company_prefix, "indicator digit and item reference")
        _check_cset82(self.serial, "serial number", _SERIAL_MAX, "21")

    @classmethod
    def parse(cls, uri: str) -> SGTIN:
        """Parse ``urn:epc:id:sgtin:CompanyPrefix.IndicatorItemRef.Serial``."""
        (cp, item, serial), (cp_at, item_at, serial_at) = _split(
            uri, cls.PREFIX, ("company prefix", "indicator digit and item reference", "serial")
        )
        _check_company_prefix(cp, uri, cp_at)
        _check_reference(item, 13, cp, "indicator digit and item reference", uri, item_at)
        return cls(cp, item, _urn_decode(serial, "serial number", _SERIAL_MAX, uri, serial_at))

    @classmethod
    def from_ai_pairs(
        cls, pairs: Iterable[tuple[str, str]], company_prefix_length: int | None = None
    ) -> SGTIN:
        """From AI (01) GTIN and AI (21) serial; other AIs are ignored."""
        found = _pick(pairs, ("01", "21"))
        gtin = _require(found, "01", "GTIN", "SGTIN")
        serial = _require(found, "21", "serial number", "SGTIN")
        _check_key(gtin, 14, "GTIN", "01")
        length = _company_prefix_length(company_prefix_length, gtin, 2, "01")
        return cls(gtin[1 : 1 + length], gtin[0] + gtin[1 + length : 13], serial)

    @classmethod
    def from_gtin_serial(cls, gtin: str, serial: str, company_prefix_length: int | None = None) -> SGTIN:
        """From a GTIN-8/12/13/14 and a serial number."""
        gtin = _gtin14(gtin)
        length = _company_prefix_length(company_prefix_length, gtin, 2, "01")
        return cls(gtin[1 : 1 + length], gtin[0] + gtin[1 + length : 13], serial)

    @property
    def gtin(self) -> str:
        """The GTIN-14, check digit included."""
        body = self.item_reference[0] + self.company_prefix + self.item_reference[1:]
        return body + gs1_check_digit(body)

    @property
    def uri(self) -> str:
        """The pure-identity URI, serial escaped as TDS requires."""
        serial = _urn_encode(self.serial, "serial number", _SERIAL_MAX, "21")
        return f"{self.PREFIX}{self.company_prefix}.{self.item_reference}.{serial}"

    def to_ai_pairs(self) -> AIPairs:
        """GS1 element data: AI (01) GTIN and AI (21) serial number."""
        return (("01", self.gtin), ("21", self.serial))

    def __str__(self) -> str:
        return self.uri


@dataclass(frozen=True, slots=True)
class LGTIN:
    """A GTIN and batch/lot: the class of all trade items of one lot (``urn:epc:class:lgtin:``)."""

    company_prefix: str
    """The GS1 Company Prefix (6 to 12 digits): identifies the company that assigned the GTIN."""
    item_reference: str
    """The GTIN's indicator digit (0 for a GTIN-8/12/13) then its item reference: 13 digits minus the
    company prefix."""
    lot: str
    """The batch or lot number, as in AI (10): 1 to 20 characters of GS1 character set 82, unescaped."""

    PREFIX: ClassVar[str] = "urn:epc:class:lgtin:"

    def __post_init__(self) -> None:
        _check_company_prefix(self.company_prefix)
        _check_reference(self.item_reference, 13, self.company_prefix, "indicator digit and item reference")
        _check_cset82(self.lot, "lot number", _SERIAL_MAX, "10")

    @classmethod
    def parse(cls, uri: str) -> LGTIN:
        """Parse ``urn:epc:class:lgtin:CompanyPrefix.IndicatorItemRef.Lot``."""
        (cp, item, lot), (cp_at, item_at, lot_at) = _split(
            uri, cls.PREFIX, ("company prefix", "indicator digit and item reference", "lot")
        )
        _check_company_prefix(cp, uri, cp_at)
        _check_reference(item, 13, cp, "indicator digit and item reference", uri, item_at)
        return cls(cp, item, _urn_decode(lot, "lot number", _SERIAL_MAX, uri, lot_at))

    @classmethod
    def from_ai_pairs(
        cls, pairs: Iterable[tuple[str, str]], company_prefix_length: int | None = None
    ) -> LGTIN:
        """From AI (01) GTIN and AI (10) batch/lot; other AIs are ignored."""
        found = _pick(pairs, ("01", "10"))
        gtin = _require(found, "01", "GTIN", "LGTIN")
        lot = _require(found, "10", "batch/lot number", "LGTIN")
        _check_key(gtin, 14, "GTIN", "01")
        length = _company_prefix_length(company_prefix_length, gtin, 2, "01")
        return cls(gtin[1 : 1 + length], gtin[0] + gtin[1 + length : 13], lot)

    @property
    def gtin(self) -> str:
        """The GTIN-14, check digit included."""
        body = self.item_reference[0] + self.company_prefix + self.item_reference[1:]
        return body + gs1_check_digit(body)

    @property
    def uri(self) -> str:
        """The EPC class URI, lot escaped as TDS requires."""
        lot = _urn_encode(self.lot, "lot number", _SERIAL_MAX, "10")
        return f"{self.PREFIX}{self.company_prefix}.{self.item_reference}.{lot}"

    def to_ai_pairs(self) -> AIPairs:
        """GS1 element data: AI (01) GTIN and AI (10) batch/lot."""
        return (("01", self.gtin), ("10", self.lot))

    def __str__(self) -> str:
        return self.uri


@dataclass(frozen=True, slots=True)
class SSCC:
    """Serial Shipping Container Code: one logistic unit, e.g. a pallet (``urn:epc:id:sscc:``)."""

    company_prefix: str
    """The GS1 Company Prefix (6 to 12 digits): identifies the company that issued the SSCC."""
    serial_reference: str
    """The SSCC's extension digit then its serial reference: 17 digits minus the company prefix."""

    PREFIX: ClassVar[str] = "urn:epc:id:sscc:"

    def __post_init__(self) -> None:
        _check_company_prefix(self.company_prefix)
        _check_reference(
            self.serial_reference, 17, self.company_prefix, "extension digit and serial reference"
        )

    @classmethod
    def parse(cls, uri: str) -> SSCC:
        """Parse ``urn:epc:id:sscc:CompanyPrefix.ExtensionSerialRef``."""
        (cp, ref), (cp_at, ref_at) = _split(
            uri, cls.PREFIX, ("company prefix", "extension digit and serial reference")
        )
        _check_company_prefix(cp, uri, cp_at)
        _check_reference(ref, 17, cp, "extension digit and serial reference", uri, ref_at)
        return cls(cp, ref)

    @classmethod
    def from_ai_pairs(
        cls, pairs: Iterable[tuple[str, str]], company_prefix_length: int | None = None
    ) -> SSCC:
        """From AI (00) SSCC; other AIs are ignored."""
        sscc = _require(_pick(pairs, ("00",)), "00", "SSCC", "SSCC")
        _check_key(sscc, 18, "SSCC", "00")
        length = _company_prefix_length(company_prefix_length, sscc, 2, "00")
        return cls(sscc[1 : 1 + length], sscc[0] + sscc[1 + length : 17])

    @property
    def sscc(self) -> str:
        """The 18-digit SSCC, check digit included."""
        body = self.serial_reference[0] + self.company_prefix + self.serial_reference[1:]
        return body + gs1_check_digit(body)

    @property
    def uri(self) -> str:
        """The pure-identity URI."""
        return f"{self.PREFIX}{self.company_prefix}.{self.serial_reference}"

    def to_ai_pairs(self) -> AIPairs:
        """GS1 element data: AI (00) SSCC."""
        return (("00", self.sscc),)

    def __str__(self) -> str:
        return self.uri


@dataclass(frozen=True, slots=True)
class SGLN:
    """A location, by GLN and optional extension (``urn:epc:id:sgln:``)."""

    company_prefix: str
    """The GS1 Company Prefix (6 to 12 digits): identifies the company that assigned the GLN."""
    location_reference: str
    """The GLN's location reference: 12 digits minus the company prefix (empty for a 12-digit prefix)."""
    extension: str = "0"
    """The GLN extension, as in AI (254), unescaped; ``"0"`` means there is none."""

    PREFIX: ClassVar[str] = "urn:epc:id:sgln:"

    def __post_init__(self) -> None:
        _check_company_prefix(self.company_prefix)
        _check_reference(self.location_reference, 12, self.company_prefix, "location reference")
        _check_cset82(self.extension, "GLN extension", _SERIAL_MAX, "254")

    @classmethod
    def parse(cls, uri: str) -> SGLN:
        """Parse ``urn:epc:id:sgln:CompanyPrefix.LocationRef.Extension``."""
        (cp, loc, ext), (cp_at, loc_at, ext_at) = _split(
            uri, cls.PREFIX, ("company prefix", "location reference", "extension")
        )
        _check_company_prefix(cp, uri, cp_at)
        _check_reference(loc, 12, cp, "location reference", uri, loc_at)
        return cls(cp, loc, _urn_decode(ext, "GLN extension", _SERIAL_MAX, uri, ext_at))

    @classmethod
    def from_ai_pairs(
        cls, pairs: Iterable[tuple[str, str]], company_prefix_length: int | None = None
    ) -> SGLN:
        """From AI (414) GLN and optional AI (254) extension; other AIs are ignored."""
        found = _pick(pairs, ("414", "254"))
        gln = _require(found, "414", "GLN of a physical location", "SGLN")
        _check_key(gln, 13, "GLN", "414")
        extension = found.get("254", "0")
        if "254" in found and extension == "0":
            raise GS1Error(
                "a GLN extension of '0' cannot be told apart from no extension in an EPC URI "
                "(TDS uses '0' for none): leave AI (254) out",
                ai="254",
                value=extension,
            )
        length = _company_prefix_length(company_prefix_length, gln, 1, "414")
        return cls(gln[:length], gln[length:12], extension)

    @property
    def gln(self) -> str:
        """The 13-digit GLN, check digit included."""
        body = self.company_prefix + self.location_reference
        return body + gs1_check_digit(body)

    @property
    def uri(self) -> str:
        """The pure-identity URI, extension escaped as TDS requires."""
        ext = _urn_encode(self.extension, "GLN extension", _SERIAL_MAX, "254")
        return f"{self.PREFIX}{self.company_prefix}.{self.location_reference}.{ext}"

    def to_ai_pairs(self) -> AIPairs:
        """GS1 element data: AI (414) GLN, and AI (254) when there is an extension."""
        if self.extension == "0":
            return (("414", self.gln),)
        return (("414", self.gln), ("254", self.extension))

    def __str__(self) -> str:
        return self.uri


@dataclass(frozen=True, slots=True)
class GRAI:
    """Global Returnable Asset Identifier with serial: one crate, tote or pallet (``urn:epc:id:grai:``)."""

    company_prefix: str
    """The GS1 Company Prefix (6 to 12 digits): identifies the company that owns the asset type."""
    asset_type: str
    """The asset type: 12 digits minus the company prefix (empty for a 12-digit prefix)."""
    serial: str
    """The serial component of AI (8003): 1 to 16 characters of GS1 character set 82, unescaped."""

    PREFIX: ClassVar[str] = "urn:epc:id:grai:"

    def __post_init__(self) -> None:
        _check_company_prefix(self.company_prefix)
        _check_reference(self.asset_type, 12, self.company_prefix, "asset type")
        _check_cset82(self.serial, "GRAI serial component", _GRAI_SERIAL_MAX, "8003")

    @classmethod
    def parse(cls, uri: str) -> GRAI:
        """Parse ``urn:epc:id:grai:CompanyPrefix.AssetType.Serial``."""
        (cp, asset, serial), (cp_at, asset_at, serial_at) = _split(
            uri, cls.PREFIX, ("company prefix", "asset type", "serial")
        )
        _check_company_prefix(cp, uri, cp_at)
        _check_reference(asset, 12, cp, "asset type", uri, asset_at)
        return cls(cp, asset, _urn_decode(serial, "GRAI serial component", _GRAI_SERIAL_MAX, uri, serial_at))

    @classmethod
    def from_ai_pairs(
        cls, pairs: Iterable[tuple[str, str]], company_prefix_length: int | None = None
    ) -> GRAI:
        """From AI (8003): a zero, the 13-digit GRAI and its serial; other AIs are ignored."""
        value = _require(_pick(pairs, ("8003",)), "8003", "GRAI", "GRAI")
        key = value[:14]
        _check_key(key, 14, "AI (8003) zero digit and GRAI", "8003", check_from=1)
        if key[0] != "0":
            raise GS1Error(
                f"AI (8003) starts with the digit 0, found {key[0]}", ai="8003", position=0, value=value
            )
        if len(value) == 14:
            raise GS1Error(
                "this GRAI has no serial component; an EPC needs one (1 to 16 characters after the "
                "check digit)",
                ai="8003",
                value=value,
            )
        length = _company_prefix_length(company_prefix_length, value, 2, "8003")
        return cls(value[1 : 1 + length], value[1 + length : 13], value[14:])

    @property
    def grai(self) -> str:
        """The AI (8003) data: a zero, the 13-digit GRAI (check digit included) and the serial."""
        body = self.company_prefix + self.asset_type
        return f"0{body}{gs1_check_digit(body)}{self.serial}"

    @property
    def uri(self) -> str:
        """The pure-identity URI, serial escaped as TDS requires."""
        serial = _urn_encode(self.serial, "GRAI serial component", _GRAI_SERIAL_MAX, "8003")
        return f"{self.PREFIX}{self.company_prefix}.{self.asset_type}.{serial}"

    def to_ai_pairs(self) -> AIPairs:
        """GS1 element data: AI (8003)."""
        return (("8003", self.grai),)

    def __str__(self) -> str:
        return self.uri


@dataclass(frozen=True, slots=True)
class GIAI:
    """Global Individual Asset Identifier: one fixed asset (``urn:epc:id:giai:``)."""

    company_prefix: str
    """The GS1 Company Prefix (6 to 12 digits): identifies the company that owns the asset."""
    asset_reference: str
    """The individual asset reference: GS1 character set 82, unescaped, at most 30 characters minus the
    company prefix."""

    PREFIX: ClassVar[str] = "urn:epc:id:giai:"

    def __post_init__(self) -> None:
        _check_company_prefix(self.company_prefix)
        _check_cset82(
            self.asset_reference, "individual asset reference", _GIAI_MAX - len(self.company_prefix), "8004"
        )

    @classmethod
    def parse(cls, uri: str) -> GIAI:
        """Parse ``urn:epc:id:giai:CompanyPrefix.IndividualAssetRef``."""
        (cp, ref), (cp_at, ref_at) = _split(uri, cls.PREFIX, ("company prefix", "individual asset reference"))
        _check_company_prefix(cp, uri, cp_at)
        return cls(cp, _urn_decode(ref, "individual asset reference", _GIAI_MAX - len(cp), uri, ref_at))

    @classmethod
    def from_ai_pairs(
        cls, pairs: Iterable[tuple[str, str]], company_prefix_length: int | None = None
    ) -> GIAI:
        """From AI (8004): company prefix then asset reference; other AIs are ignored."""
        value = _require(_pick(pairs, ("8004",)), "8004", "GIAI", "GIAI")
        _check_cset82(value, "GIAI", _GIAI_MAX, "8004")
        length = _company_prefix_length(company_prefix_length, value, 1, "8004")
        if len(value) <= length or not _is_digits(value[:length]):
            raise GS1Error(
                f"expected a {length}-digit company prefix followed by an asset reference",
                ai="8004",
                value=value,
            )
        return cls(value[:length], value[length:])

    @property
    def giai(self) -> str:
        """The AI (8004) data: company prefix then asset reference."""
        return self.company_prefix + self.asset_reference

    @property
    def uri(self) -> str:
        """The pure-identity URI, asset reference escaped as TDS requires."""
        max_len = _GIAI_MAX - len(self.company_prefix)
        ref = _urn_encode(self.asset_reference, "individual asset reference", max_len, "8004")
        return f"{self.PREFIX}{self.company_prefix}.{ref}"

    def to_ai_pairs(self) -> AIPairs:
        """GS1 element data: AI (8004)."""
        return (("8004", self.giai),)

    def __str__(self) -> str:
        return self.uri


@dataclass(frozen=True, slots=True)
class SGTINPattern:
    """A set of SGTINs (``urn:epc:idpat:sgtin:``); ``None`` parts are the ``*`` wildcards.

    Forms: ``CP.Item.Serial`` (one SGTIN), ``CP.Item.*`` (one GTIN), ``CP.*.*`` (one
    company) and ``*.*.*`` (all SGTINs).
    """

    company_prefix: str | None = None
    """The GS1 Company Prefix, or None for any."""
    item_reference: str | None = None
    """Indicator digit and item reference, or None for any (then ``serial`` is None too)."""
    serial: str | None = None
    """The serial number (unescaped), or None for any."""

    PREFIX: ClassVar[str] = "urn:epc:idpat:sgtin:"

    def __post_init__(self) -> None:
        if self.company_prefix is None:
            if self.item_reference is not None or self.serial is not None:
                raise GS1Error("an SGTIN pattern with any company prefix must have any item and any serial")
            return
        _check_company_prefix(self.company_prefix)
        if self.item_reference is None:
            if self.serial is not None:
                raise GS1Error("an SGTIN pattern with any item reference must have any serial")
            return
        _check_reference(self.item_reference, 13, self.company_prefix, "indicator digit and item reference")
        if self.serial is not None:
            _check_cset82(self.serial, "serial number", _SERIAL_MAX, "21")

    @classmethod
    def parse(cls, uri: str) -> SGTINPattern:
        """Parse ``urn:epc:idpat:sgtin:`` then ``CP.Item.Serial``, ``CP.Item.*``, ``CP.*.*`` or ``*.*.*``."""
        (cp, item, serial), (cp_at, item_at, serial_at) = _split(
            uri, cls.PREFIX, ("company prefix", "indicator digit and item reference", "serial")
        )
        if cp == "*" or item == "*":
            if (cp == "*" and item != "*") or serial != "*":
                raise GS1Error(
                    "expected CompanyPrefix.ItemReference.Serial, CompanyPrefix.ItemReference.*, "
                    "CompanyPrefix.*.* or *.*.*",
                    position=cp_at,
                    value=uri,
                )
            if cp == "*":
                return cls()
            _check_company_prefix(cp, uri, cp_at)
            return cls(cp)
        _check_company_prefix(cp, uri, cp_at)
        _check_reference(item, 13, cp, "indicator digit and item reference", uri, item_at)
        if serial == "*":
            return cls(cp, item)
        return cls(cp, item, _urn_decode(serial, "serial number", _SERIAL_MAX, uri, serial_at))

    @property
    def uri(self) -> str:
        """The pattern URI."""
        cp = self.company_prefix or "*"
        item = self.item_reference or "*"
        if self.serial is None:
            return f"{self.PREFIX}{cp}.{item}.*"
        return f"{self.PREFIX}{cp}.{item}.{_urn_encode(self.serial, 'serial number', _SERIAL_MAX, '21')}"

    def matches(self, epc: SGTIN | str) -> bool:
        """True when ``epc`` (an :class:`SGTIN` or URI) is in this set; other EPC schemes never match.

        A malformed SGTIN URI raises :class:`~packtrail.gs1.errors.GS1Error`.
        """
        if isinstance(epc, str):
            if not epc.startswith(SGTIN.PREFIX):
                return False
            epc = SGTIN.parse(epc)
        elif not isinstance(epc, SGTIN):
            return False
        return (
            (self.company_prefix is None or self.company_prefix == epc.company_prefix)
            and (self.item_reference is None or self.item_reference == epc.item_reference)
            and (self.serial is None or self.serial == epc.serial)
        )

    def __str__(self) -> str:
        return self.uri


EPC: TypeAlias = SGTIN | SSCC | SGLN | GRAI | GIAI | LGTIN | SGTINPattern
"""Any value :func:`parse_epc_uri` returns."""

_PARSERS: tuple[tuple[str, type[EPC]], ...] = (
    (SGTIN.PREFIX, SGTIN),
    (SSCC.PREFIX, SSCC),
    (SGLN.PREFIX, SGLN),
    (GRAI.PREFIX, GRAI),
    (GIAI.PREFIX, GIAI),
    (LGTIN.PREFIX, LGTIN),
    (SGTINPattern.PREFIX, SGTINPattern),
)


def parse_epc_uri(uri: str) -> EPC:
    """Parse an EPC URI of any scheme this module knows, chosen by its prefix."""
    if isinstance(uri, str):
        for prefix, cls in _PARSERS:
            if uri.startswith(prefix):
                return cls.parse(uri)
    raise GS1Error(
        "expected an EPC URI: urn:epc:id: followed by sgtin, sscc, sgln, grai or giai, "
        "urn:epc:class:lgtin: or urn:epc:idpat:sgtin:",
        position=0,
        value=uri if isinstance(uri, str) else None,
    )


def epc_from_ai_pairs(
    pairs: Iterable[tuple[str, str]], company_prefix_length: int | None = None
) -> SGTIN | LGTIN | SSCC | SGLN | GRAI | GIAI:
    """The EPC of GS1 element data, by its key: (01)+(21) SGTIN, (01)+(10) LGTIN, (00) SSCC,
    (414) SGLN, (8003) GRAI, (8004) GIAI."""
    pairs = tuple(pairs)
    ais = {ai for ai, _ in pairs}
    if "01" in ais and "21" in ais:
        return SGTIN.from_ai_pairs(pairs, company_prefix_length)
    if "01" in ais and "10" in ais:
        return LGTIN.from_ai_pairs(pairs, company_prefix_length)
    for ai, cls in (("00", SSCC), ("414", SGLN), ("8003", GRAI), ("8004", GIAI)):
        if ai in ais:
            return cls.from_ai_pairs(pairs, company_prefix_length)
    raise GS1Error(
        "expected GS1 element data with an EPC key: (01) with (21) or (10), (00), (414), (8003) or (8004)"
    )


# --- fast path: GTIN + serial <-> SGTIN URI -----------------------------------------------

_CACHE_LIMIT = 1 << 16
_SGTIN_HEADS: dict[int | None, dict[str, str]] = {n: {} for n in (None, 6, 7, 8, 9, 10, 11, 12)}
"""Per explicit company prefix length (None: looked up): GTIN -> 'urn:epc:id:sgtin:CP.Item.'."""
_SGTIN_GTINS: dict[str, str] = {}
"""'CP.Item' -> GTIN-14 of URIs already parsed."""


def sgtin_from_gtin_serial(gtin: str, serial: str, company_prefix_length: int | None = None) -> str:
    """The SGTIN URI of a GTIN-8/12/13/14 and an AI (21) serial number.

    The company prefix length comes from GS1's list unless given; an unknown length
    raises :class:`~packtrail.gs1.errors.GS1Error`.
    """
    try:
        head = _SGTIN_HEADS[company_prefix_length].get(gtin)
        if (
            head is not None
            and len(serial) <= _SERIAL_MAX
            and ((serial.isascii() and serial.isalnum()) or _URN_SAFE_RUN(serial))
        ):
            return head + serial
    except (KeyError, TypeError, AttributeError):
        pass  # not a cached GTIN and a plain serial: the slow path checks and explains
    return _sgtin_from_gtin_serial(gtin, serial, company_prefix_length)


def _sgtin_from_gtin_serial(gtin: str, serial: str, company_prefix_length: int | None) -> str:
    gtin14 = _gtin14(gtin)
    length = _company_prefix_length(company_prefix_length, gtin14, 2, "01")
    escaped = _urn_encode(serial, "serial number", _SERIAL_MAX, "21")
    head = f"{SGTIN.PREFIX}{gtin14[1 : 1 + length]}.{gtin14[0]}{gtin14[1 + length : 13]}."
    heads = _SGTIN_HEADS[company_prefix_length]
    if len(heads) >= _CACHE_LIMIT:
        heads.clear()
    heads[gtin] = head
    return head + escaped


def gtin_serial_from_sgtin(uri: str) -> tuple[str, str]:
    """The GTIN-14 and the (unescaped) serial number of an SGTIN URI."""
    # Company prefix + '.' + indicator and item reference is always 14 characters, so a URI
    # whose GTIN was seen before is recognised by one slice and one dict look-up.
    try:
        gtin = _SGTIN_GTINS.get(uri[17:31])
        if gtin is not None and uri[31] == "." and uri.startswith("urn:epc:id:sgtin:"):
            serial = uri[32:]
            if len(serial) <= _SERIAL_MAX and (
                (serial.isascii() and serial.isalnum()) or _URN_SAFE_RUN(serial)
            ):
                return gtin, serial
    except (TypeError, IndexError, AttributeError):
        pass  # not text, or too short: SGTIN.parse explains
    sgtin = SGTIN.parse(uri)
    if len(_SGTIN_GTINS) >= _CACHE_LIMIT:
        _SGTIN_GTINS.clear()
    gtin = sgtin.gtin
    _SGTIN_GTINS[f"{sgtin.company_prefix}.{sgtin.item_reference}"] = gtin
    return gtin, sgtin.serial


def _clear_caches() -> None:
    """Forget cached GTIN splits (for benchmarks that want to time cold starts too)."""
    for heads in _SGTIN_HEADS.values():
        heads.clear()
    _SGTIN_GTINS.clear()
