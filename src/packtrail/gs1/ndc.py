"""US National Drug Codes (NDC) and the GTINs that carry them.

An NDC is 10 digits in three segments: the labeler code (assigned by FDA), the
product code and the package code (assigned by the labeler). The hyphens show
where the segments end, in one of three configurations: 4-4-2, 5-3-2 or 5-4-1.

>>> from packtrail.gs1.ndc import NDC
>>> ndc = NDC.parse("0777-3105-02")
>>> ndc.digits, ndc.format
('0777310502', '4-4-2')
>>> ndc.segments()
('0777', '3105', '02')

A GS1 US GTIN for a drug puts the 10 digits after "03" (the GS1 Company Prefix of
a labeler is "03" + its labeler code) and ends with a check digit. The first digit
of a GTIN-14 is the indicator digit: 0 for the unit, 1-8 for cases of it.

>>> ndc.to_gtin14()
'00307773105025'
>>> ndc.to_gtin14(indicator="1")
'10307773105022'
>>> ndc.to_gtin12()  # the UPC-A on retail packs
'307773105025'
>>> ndc.company_prefix()
'030777'

The way back needs no hyphens, but they cannot be recovered from a GTIN: the same
10 digits read 4-4-2, 5-3-2 or 5-4-1 depending on the labeler. Say which when you
know it:

>>> from_gtin = NDC.from_gtin("00307773105025")
>>> from_gtin.digits, from_gtin.format
('0777310502', None)
>>> from_gtin.hyphenated()  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
packtrail.gs1.errors.GS1Error: the hyphenation of NDC 0777310502 cannot be known from the 10 digits alone: ...
>>> NDC.from_gtin("00307773105025", labeler_length=4).hyphenated()
'0777-3105-02'

Claims and billing systems (HIPAA) use an 11-digit form, always 5-4-2: a zero is
put in front of the short segment.

>>> ndc.billing_11()
'00777310502'
>>> ndc.billing_11(hyphens=True)
'00777-3105-02'
>>> NDC.parse("12345-0678-90").hyphenated()  # only the product code can hold the padding zero
'12345-678-90'

Going back from 11 digits works only when just one segment starts with a zero;
otherwise the error says which 10-digit NDCs are possible:

>>> import textwrap
>>> from packtrail.gs1.errors import GS1Error
>>> try:
...     NDC.parse("00777-3105-02")
... except GS1Error as err:
...     print(textwrap.fill(err.reason, 80))
the 10-digit NDC behind billing NDC 00777-3105-02 cannot be known: the padding
zero may lead the labeler code (NDC 0777-3105-02, 4-4-2) or the package code
(NDC 00777-3105-2, 5-4-1); pass the labeler code length or the format
4-4-2/5-3-2/5-4-1
>>> NDC.parse("00777-3105-02", labeler_length=4).hyphenated()
'0777-3105-02'

Not handled here: FDA's planned uniform 12-digit NDC (6-4-2), and telling an NDC
from a National Health Related Item Code (NHRIC), which shares the "03" prefix.

Sources: 21 CFR 207.33 (NDC configurations); GS1 US guidance on NDC-based GTINs
and the GS1 General Specifications (GTIN-12/14, check digit); HL7 CARIN RTPBC
implementation guide (normalized 11-digit NDC, example 0777-3105-02 = 00777310502).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from packtrail.gs1.checkdigit import gs1_check_digit
from packtrail.gs1.errors import GS1Error

__all__ = ["NDC", "NDC_FORMATS", "NDCFormat"]

NDCFormat = Literal["4-4-2", "5-3-2", "5-4-1"]
"""An NDC configuration: digits in the labeler, product and package codes."""

NDC_FORMATS: Final[tuple[NDCFormat, ...]] = ("4-4-2", "5-3-2", "5-4-1")
"""The three configurations FDA allows for a 10-digit NDC (21 CFR 207.33)."""

_LENGTHS: Final[dict[str, tuple[int, int, int]]] = {
    "4-4-2": (4, 4, 2),
    "5-3-2": (5, 3, 2),
    "5-4-1": (5, 4, 1),
}
_FORMAT_OF_LENGTHS: Final[dict[tuple[int, int, int], NDCFormat]] = {
    (4, 4, 2): "4-4-2",
    (5, 3, 2): "5-3-2",
    (5, 4, 1): "5-4-1",
}
# Where the 11-digit billing form (5-4-2) holds the padding zero, and which segment it leads.
_PADDING: Final[dict[NDCFormat, tuple[int, str]]] = {
    "4-4-2": (0, "labeler code"),
    "5-3-2": (5, "product code"),
    "5-4-1": (9, "package code"),
}
_SEGMENT_NAMES: Final = ("labeler code", "product code", "package code")
_NDC_PREFIX: Final = "03"
_INDICATORS: Final = "012345678"
_ASK_FOR_FORMAT: Final = "pass the labeler code length or the format 4-4-2/5-3-2/5-4-1"


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _first_non_digit(text: str) -> int:
    return next(i for i, ch in enumerate(text) if not "0" <= ch <= "9")


def _format_hint(labeler_length: object, format: object) -> tuple[int | None, int | None]:
    """Check the caller's hint; return the labeler and product code lengths it fixes."""
    if labeler_length is not None and (isinstance(labeler_length, bool) or labeler_length not in (4, 5)):
        raise GS1Error(f"the labeler code length must be 4 or 5, found {labeler_length!r}")
    if format is None:
        if labeler_length == 4:
            return 4, 4  # a 4-digit labeler code leaves only 4-4-2
        return (5 if labeler_length == 5 else None), None
    if not isinstance(format, str) or format not in _LENGTHS:
        raise GS1Error(f"the NDC format must be 4-4-2, 5-3-2 or 5-4-1, found {format!r}")
    labeler, product, _ = _LENGTHS[format]
    if labeler_length is not None and labeler_length != labeler:
        raise GS1Error(
            f"labeler code length {labeler_length} contradicts format {format}, "
            f"whose labeler code has {labeler} digits"
        )
    return labeler, product


def _formats_allowed(labeler: int | None, product: int | None) -> tuple[NDCFormat, ...]:
    return tuple(
        fmt
        for fmt in NDC_FORMATS
        if (labeler is None or _LENGTHS[fmt][0] == labeler)
        and (product is None or _LENGTHS[fmt][1] == product)
    )


def _unpad(digits11: str, fmt: NDCFormat) -> str:
    """The 10-digit NDC left when the padding zero of ``fmt`` is taken out of a billing NDC."""
    pos = _PADDING[fmt][0]
    return digits11[:pos] + digits11[pos + 1 :]


def _hyphenate(digits: str, fmt: NDCFormat) -> str:
    labeler, product, _ = _LENGTHS[fmt]
    return f"{digits[:labeler]}-{digits[labeler : labeler + product]}-{digits[labeler + product :]}"


@dataclass(frozen=True, slots=True)
class NDC:
    """A US National Drug Code: 10 digits, and where its segments end when that is known.

    Two NDCs are equal when their digits and their known segment lengths are equal:
    compare ``.digits`` to ignore what is known about the hyphenation.
    """

    digits: str
    """The 10 digits of the NDC, without hyphens: labeler, product and package codes."""
    labeler_length: int | None = None
    """Digits in the labeler code, the FDA-assigned code of the firm: 4, 5, or None when unknown."""
    product_length: int | None = None
    """Digits in the product code: 3 or 4, or None when unknown (always 4 after a 4-digit labeler code)."""

    def __post_init__(self) -> None:
        digits: object = self.digits
        if not isinstance(digits, str):
            raise GS1Error(f"the digits of an NDC must be text, found {type(digits).__name__}")
        if len(digits) != 10 or not _is_digits(digits):
            raise GS1Error(f"an NDC has exactly 10 digits 0-9, found {len(digits)} characters", value=digits)
        if self.labeler_length is None:
            if self.product_length is not None:
                raise GS1Error(
                    "the product code length of an NDC is known only with its labeler code length; "
                    "pass the format 4-4-2/5-3-2/5-4-1",
                    value=digits,
                )
            return
        labeler, product = _format_hint(self.labeler_length, None)
        if self.product_length is not None:
            if labeler == 4 and self.product_length != 4:
                raise GS1Error(
                    "after a 4-digit labeler code the product code has 4 digits, "
                    f"found {self.product_length!r}",
                    value=digits,
                )
            if self.product_length not in (3, 4) or isinstance(self.product_length, bool):
                raise GS1Error(
                    f"the product code of an NDC has 3 or 4 digits, found {self.product_length!r}",
                    value=digits,
                )
        elif product is not None:
            object.__setattr__(self, "product_length", product)

    @classmethod
    def parse(cls, text: str, labeler_length: int | None = None, format: str | None = None) -> NDC:
        """Read an NDC written as 10 digits (hyphenated or not) or in the 11-digit billing form.

        Hyphens (4-4-2, 5-3-2 or 5-4-1) fix the hyphenation. For bare digits, give the
        ``labeler_length`` (4 or 5) or the ``format`` when known: it is kept for
        :meth:`hyphenated` and :meth:`billing_11`, and it picks the padding zero out of an
        11-digit billing NDC (5-4-2) whose zero could be in more than one place.
        """
        if not isinstance(text, str):
            raise GS1Error(f"an NDC must be text, found {type(text).__name__}")
        labeler, product = _format_hint(labeler_length, format)
        stripped = text.strip()
        if not stripped:
            raise GS1Error("an NDC has 10 digits (11 in the billing form), found nothing", value=text)
        if "-" in stripped:
            return cls._parse_hyphenated(stripped, labeler, product)
        if not _is_digits(stripped):
            pos = _first_non_digit(stripped)
            raise GS1Error(
                f"an NDC has digits and hyphens only, found {stripped[pos]!r}", position=pos, value=stripped
            )
        if len(stripped) == 10:
            return cls(stripped, labeler, product)
        if len(stripped) == 11:
            return cls._from_billing(stripped, stripped, labeler, product)
        raise GS1Error(
            f"an NDC has 10 digits (11 in the billing form), found {len(stripped)}", value=stripped
        )

    @classmethod
    def _parse_hyphenated(cls, text: str, labeler: int | None, product: int | None) -> NDC:
        parts = text.split("-")
        if len(parts) != 3:
            raise GS1Error(
                f"a hyphenated NDC has 3 segments (labeler-product-package), found {len(parts)}", value=text
            )
        offset = 0
        for name, part in zip(_SEGMENT_NAMES, parts, strict=True):
            if not part:
                raise GS1Error(f"the {name} of the NDC is empty", position=offset, value=text)
            if not _is_digits(part):
                pos = _first_non_digit(part)
                raise GS1Error(
                    f"the {name} of an NDC has digits only, found {part[pos]!r}",
                    position=offset + pos,
                    value=text,
                )
            offset += len(part) + 1
        lengths = (len(parts[0]), len(parts[1]), len(parts[2]))
        if lengths == (5, 4, 2):
            return cls._from_billing("".join(parts), text, labeler, product)
        fmt = _FORMAT_OF_LENGTHS.get(lengths)
        if fmt is None:
            raise GS1Error(
                f"the NDC segments have {lengths[0]}-{lengths[1]}-{lengths[2]} digits; "
                "expected 4-4-2, 5-3-2 or 5-4-1 (or 5-4-2 for the 11-digit billing form)",
                value=text,
            )
        if fmt not in _formats_allowed(labeler, product):
            raise GS1Error(
                f"the hyphens make NDC {text} {fmt}, "
                "which contradicts the labeler code length or format given",
                value=text,
            )
        return cls("".join(parts), lengths[0], lengths[1])

    @classmethod
    def _from_billing(cls, digits11: str, text: str, labeler: int | None, product: int | None) -> NDC:
        """Drop the padding zero of an 11-digit billing NDC, when its place can be known."""
        billing = f"{digits11[:5]}-{digits11[5:9]}-{digits11[9:]}"
        allowed = _formats_allowed(labeler, product)
        candidates = [fmt for fmt in allowed if digits11[_PADDING[fmt][0]] == "0"]
        if len(candidates) == 1:
            fmt = candidates[0]
            lengths = _LENGTHS[fmt]
            return cls(_unpad(digits11, fmt), lengths[0], lengths[1])
        if not candidates:
            if len(allowed) == 1:
                pos, segment = _PADDING[allowed[0]]
                raise GS1Error(
                    f"billing NDC {billing} cannot be {allowed[0]}: the {segment} should start with the "
                    f"padding zero, found {digits11[pos]!r}",
                    position=pos,
                    value=text,
                )
            places = ", ".join(f"the {_PADDING[fmt][1]} ({fmt})" for fmt in allowed)
            raise GS1Error(
                f"billing NDC {billing} is not a padded 10-digit NDC: "
                f"expected a padding zero leading {places}, found none",
                value=text,
            )
        options = [
            f"the {_PADDING[fmt][1]} (NDC {_hyphenate(_unpad(digits11, fmt), fmt)}, {fmt})"
            for fmt in candidates
        ]
        ask = "pass the format 5-3-2 or 5-4-1" if labeler == 5 else _ASK_FOR_FORMAT
        raise GS1Error(
            f"the 10-digit NDC behind billing NDC {billing} cannot be known: the padding zero may lead "
            f"{', '.join(options[:-1])} or {options[-1]}; {ask}",
            value=text,
        )

    @classmethod
    def from_gtin(cls, gtin: str, *, labeler_length: int | None = None, format: str | None = None) -> NDC:
        """The NDC inside an NDC-based GTIN-12 (UPC-A), GTIN-13 or GTIN-14.

        The GTIN must read "03" after the indicator digit once padded to 14 digits, and
        its check digit must be right. A GTIN does not show the hyphenation: give the
        ``labeler_length`` or ``format`` when you know it.
        """
        if not isinstance(gtin, str):
            raise GS1Error(f"a GTIN must be text, found {type(gtin).__name__}")
        labeler, product = _format_hint(labeler_length, format)
        value = gtin.strip()
        if not _is_digits(value):
            if not value:
                raise GS1Error("an NDC-based GTIN has 12, 13 or 14 digits, found nothing", value=gtin)
            pos = _first_non_digit(value)
            raise GS1Error(f"a GTIN has digits only, found {value[pos]!r}", position=pos, value=value)
        n = len(value)
        if n not in (12, 13, 14):
            raise GS1Error(
                f"an NDC-based GTIN has 12, 13 or 14 digits (GTIN-12, GTIN-13 or GTIN-14), found {n}",
                value=value,
            )
        gtin14 = value.zfill(14)
        if gtin14[0] == "9":
            raise GS1Error(
                f"GTIN {value}: indicator digit 9 marks a variable-measure trade item; an NDC-based GTIN-14 "
                "has indicator digit 0-8",
                position=0,
                value=value,
            )
        if gtin14[1:3] != _NDC_PREFIX:
            form = "" if n == 14 else f" (as GTIN-14 {gtin14})"
            raise GS1Error(
                f"GTIN {value} is not an NDC-based GTIN: found {gtin14[1:3]!r}{form}, "
                "expected '03' after the indicator digit",
                position=max(0, n - 13),
                value=value,
            )
        expected = gs1_check_digit(value[:-1])
        if value[-1] != expected:
            raise GS1Error(
                f"GTIN {value}: check digit should be {expected}, found {value[-1]}",
                position=n - 1,
                value=value,
            )
        return cls(gtin14[3:13], labeler, product)

    @property
    def format(self) -> NDCFormat | None:
        """The configuration, "4-4-2", "5-3-2" or "5-4-1", or None when the hyphenation is unknown."""
        if self.labeler_length is None or self.product_length is None:
            return None
        return _FORMAT_OF_LENGTHS[
            (self.labeler_length, self.product_length, 10 - self.labeler_length - self.product_length)
        ]

    def _known_format(self, purpose: str) -> NDCFormat:
        fmt = self.format
        if fmt is not None:
            return fmt
        if self.labeler_length == 5:
            reason = (
                f"the hyphenation of NDC {self.digits} cannot be known from the 10 digits "
                "and its 5-digit labeler code alone: pass the format 5-3-2 or 5-4-1"
            )
        else:
            reason = (
                f"the hyphenation of NDC {self.digits} cannot be known from the 10 digits alone: "
                f"{_ASK_FOR_FORMAT}"
            )
        raise GS1Error(f"{purpose}{reason}", value=self.digits)

    def segments(self) -> tuple[str, str, str]:
        """The labeler, product and package codes; :class:`GS1Error` when the hyphenation is unknown."""
        labeler, product, _ = _LENGTHS[self._known_format("")]
        d = self.digits
        return d[:labeler], d[labeler : labeler + product], d[labeler + product :]

    def hyphenated(self) -> str:
        """The NDC as printed on the label, e.g. ``0777-3105-02``; needs the hyphenation to be known."""
        return "-".join(self.segments())

    def billing_11(self, *, hyphens: bool = False) -> str:
        """The 11-digit HIPAA billing form (5-4-2, the short segment padded with a leading zero).

        It needs the hyphenation to be known: the padding zero goes into the short segment.
        """
        fmt = self._known_format("cannot pad to the 11-digit billing form: ")
        labeler, product, _ = _LENGTHS[fmt]
        d = self.digits
        parts = (
            d[:labeler].zfill(5),
            d[labeler : labeler + product].zfill(4),
            d[labeler + product :].zfill(2),
        )
        return "-".join(parts) if hyphens else "".join(parts)

    def company_prefix(self) -> str:
        """The GS1 Company Prefix GS1 US derives from the labeler code: "03" + labeler code."""
        if self.labeler_length is None:
            raise GS1Error(
                f"the GS1 Company Prefix of NDC {self.digits} cannot be known "
                f"without the labeler code length: {_ASK_FOR_FORMAT}",
                value=self.digits,
            )
        return _NDC_PREFIX + self.digits[: self.labeler_length]

    def to_gtin14(self, indicator: str = "0") -> str:
        """The GTIN-14: indicator digit (0 for the unit, 1-8 for cases) + "03" + NDC + check digit."""
        if not isinstance(indicator, str) or len(indicator) != 1 or indicator not in _INDICATORS:
            raise GS1Error(
                f"the indicator digit of an NDC-based GTIN-14 must be one digit 0-8, found {indicator!r}",
                value=self.digits,
            )
        body = indicator + _NDC_PREFIX + self.digits
        return body + gs1_check_digit(body)

    def to_gtin12(self) -> str:
        """The GTIN-12 of a UPC-A symbol: "3" + NDC + check digit."""
        return self.to_gtin14()[2:]

    def __str__(self) -> str:
        """The hyphenated NDC when its hyphenation is known, else its 10 digits."""
        fmt = self.format
        return self.digits if fmt is None else _hyphenate(self.digits, fmt)
