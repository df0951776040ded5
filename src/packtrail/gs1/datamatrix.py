"""GS1 DataMatrix: render a pack's unique identifier, read it back, print its human-readable lines.

Rendering validates the data first (check digits, dates, character sets, AI
combinations) and only then asks zxing-cpp to draw the symbol; a wrong GTIN
check digit never reaches a label:

>>> from packtrail.gs1.datamatrix import decode, label_lines, render_png, render_svg
>>> png = render_png("(01)09506000134352(17)270131(10)ABC123(21)SERIAL0001")
>>> png[:8]
b'\\x89PNG\\r\\n\\x1a\\n'
>>> render_png("(01)09506000134353(21)SERIAL0001")
Traceback (most recent call last):
...
packtrail.gs1.errors.GS1Error: AI (01) at position 4: check digit should be 2, found 3 (in '09506000134353')

Decoding gives what a scanner would transmit (symbology identifier, then the
data with GS for every FNC1 separator) and the parsed element string:

>>> [symbol] = decode(png)
>>> symbol.symbology_identifier, symbol.format_name
(']d2', 'Data Matrix')
>>> symbol.scan_data
']d201095060001343521727013110ABC123\\x1d21SERIAL0001'
>>> symbol.element_string.bracketed()
'(01)09506000134352(17)270131(10)ABC123(21)SERIAL0001'

The AIs stay in the order given. ``10`` has a variable length, so a GS ends it;
``17`` has a predefined length and needs none.

The EU FMD asks for the product code, serial number and any national number in
human-readable form beside the code; batch and expiry are printed too:

>>> label_lines(symbol.element_string)
['PC: 09506000134352', 'SN: SERIAL0001', 'LOT: ABC123', 'EXP: 2027-01-31']

SVG is there for label layout programs:

>>> render_svg("(01)09506000134352(21)SERIAL0001").startswith("<?xml")
True

A GS1 Digital Link (object or URI) is rendered as its element string, which is
what GS1 prefers inside a DataMatrix:

>>> [symbol] = decode(render_png("https://id.gs1.org/01/09506000134352/21/SERIAL0001?17=270131"))
>>> symbol.element_string.pairs
(('01', '09506000134352'), ('21', 'SERIAL0001'), ('17', '270131'))
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import zxingcpp
from PIL import Image, UnidentifiedImageError

from packtrail.gs1.digital_link import DigitalLink
from packtrail.gs1.element_string import ElementString
from packtrail.gs1.errors import GS1Error
from packtrail.gs1.linters import gs1_date

__all__ = [
    "DEFAULT_SCALE",
    "FMD_LABELS",
    "GS1_SYMBOLOGY_IDENTIFIERS",
    "NHRN_AIS",
    "DecodedSymbol",
    "GS1Data",
    "ImageSource",
    "decode",
    "label_lines",
    "render_image",
    "render_png",
    "render_svg",
]

GS1Data: TypeAlias = ElementString | DigitalLink | str
"""What the renderers accept: an element string, a Digital Link, or text in any form
:meth:`ElementString.parse` reads (with GS or ``<GS>``, bracketed) or a Digital Link URI."""

ImageSource: TypeAlias = (
    str | os.PathLike[str] | bytes | bytearray | memoryview | Image.Image | zxingcpp.Image
)
"""What :func:`decode` reads: a file path, an encoded image file (PNG, JPEG, …) in memory,
a Pillow image, or an image zxing-cpp drew."""

DEFAULT_SCALE = 4
"""Pixels per module. At 300 dpi, 4 px make a module of 0.34 mm, a common size on
folding cartons; at 600 dpi use 8. Check the X-dimension range your GS1 application
standard gives against the printer's resolution."""

NHRN_AIS: tuple[str, ...] = ("710", "711", "712", "713", "714", "715", "716", "717")
"""The AIs for national healthcare reimbursement numbers (NHRN): 710 Germany (PZN),
711 France (CIP), 712 Spain, 713 Brazil, 714 Portugal, 715 USA (NDC), 716 Italy (AIC),
717 (SRN) — titles from the GS1 Barcode Syntax Dictionary."""

FMD_LABELS: Mapping[str, str] = {
    "01": "PC",
    "21": "SN",
    "10": "LOT",
    "17": "EXP",
    **dict.fromkeys(NHRN_AIS, "NN"),
}
"""Label per AI for :func:`label_lines`. ``PC``/``SN``/``NN`` (product code, serial number,
national number) are the abbreviations of the EMVS European Pack Coding Guidelines for the
human-readable part of the unique identifier (Delegated Regulation (EU) 2016/161, Art. 7);
batch number and expiry date, required on the pack by Directive 2001/83/EC (Art. 54), get the
common ``LOT`` and ``EXP``. Pass your own mapping where a market wants other words."""

GS1_SYMBOLOGY_IDENTIFIERS: frozenset[str] = frozenset({"]d2", "]d8", "]C1", "]Q3", "]e0", "]J1"})
"""Symbology identifiers that announce GS1 data (FNC1 in first position): GS1 DataMatrix,
GS1-128, GS1 QR Code, GS1 DataBar, GS1 DotCode. ``]d8`` is what zxing-cpp reports for a
GS1 DataMatrix in a DMRE (ISO/IEC 21471) rectangle: it adds 6 to the modifier."""

# -- input -----------------------------------------------------------------------------------------------


def _element_string(data: GS1Data) -> ElementString:
    """Validate ``data`` into an element string, or raise :class:`GS1Error`."""
    if isinstance(data, ElementString):
        return data
    if isinstance(data, DigitalLink):
        return data.element_string()
    if isinstance(data, str):
        head = data[:8].lower()
        if head.startswith(("http://", "https://")):
            return DigitalLink.parse(data).element_string()
        return ElementString.parse(data)
    raise GS1Error(
        f"expected an ElementString, a DigitalLink or GS1 data as text, found {type(data).__name__}"
    )


# -- rendering -------------------------------------------------------------------------------------------


def _barcode(elements: ElementString) -> zxingcpp.Barcode:
    """The GS1 DataMatrix symbol for validated ``elements``.

    zxing-cpp hands GS1 input to zint, which reads AIs in square brackets; brackets are
    outside every GS1 character set, so data containing ``(`` needs no escaping (zint's
    round-bracket mode rejects it). ``force_square``: zxing-cpp otherwise lets zint pick
    DMRE rectangles (ISO/IEC 21471), which older pharma scanners and verifiers reject.
    """
    text = "".join(f"[{ai}]{raw}" for ai, raw in elements.pairs)
    try:
        return zxingcpp.create_barcode(text, zxingcpp.DataMatrix, gs1=True, force_square=True)
    except ValueError as exc:
        raise GS1Error(
            f"the DataMatrix encoder refused the data: {exc}", value=elements.bracketed()
        ) from None


def render_image(data: GS1Data, *, scale: int = DEFAULT_SCALE, quiet_zone: bool = True) -> Image.Image:
    """The GS1 DataMatrix for ``data`` as a black-and-white Pillow image (mode ``"1"``).

    ``scale`` is the number of pixels per module. ``quiet_zone`` adds the light margin of
    one module on every side that ISO/IEC 16022 and the GS1 General Specifications
    require; leave it on unless the label layout provides it.
    """
    _check_scale(scale)
    barcode = _barcode(_element_string(data))
    picture = zxingcpp.write_barcode_to_image(barcode, scale=scale, add_quiet_zones=quiet_zone)
    return _pillow_image(picture).convert("1", dither=Image.Dither.NONE)


def _pillow_image(picture: zxingcpp.Image) -> Image.Image:
    """A zxing-cpp image (one byte per pixel, 0 = dark, 255 = light) as a Pillow ``"L"`` image."""
    view = memoryview(picture)  # type: ignore[arg-type]  # the stub does not declare the buffer protocol
    height, width = view.shape or (0, 0)
    return Image.frombytes("L", (width, height), view.tobytes())


def render_png(
    data: GS1Data,
    path: str | os.PathLike[str] | None = None,
    *,
    scale: int = DEFAULT_SCALE,
    quiet_zone: bool = True,
    dpi: int | None = None,
) -> bytes:
    """The GS1 DataMatrix for ``data`` as PNG bytes, also written to ``path`` when given.

    The data is validated before anything is drawn or written: invalid data raises
    :class:`GS1Error` and leaves ``path`` untouched. ``dpi``, when given, is stored in the
    PNG so that label software prints it at ``scale / dpi`` inches per module.
    """
    image = render_image(data, scale=scale, quiet_zone=quiet_zone)
    buffer = io.BytesIO()
    if dpi is None:
        image.save(buffer, format="PNG")
    else:
        image.save(buffer, format="PNG", dpi=(dpi, dpi))
    png = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(png)
    return png


def render_svg(
    data: GS1Data,
    path: str | os.PathLike[str] | None = None,
    *,
    scale: int = DEFAULT_SCALE,
    quiet_zone: bool = True,
) -> str:
    """The GS1 DataMatrix for ``data`` as an SVG document (one unit per pixel), also written
    to ``path`` (UTF-8) when given. Validation and ``quiet_zone`` as in :func:`render_png`."""
    _check_scale(scale)
    barcode = _barcode(_element_string(data))
    svg = zxingcpp.write_barcode_to_svg(barcode, scale=scale, add_quiet_zones=quiet_zone)
    if path is not None:
        Path(path).write_text(svg, encoding="utf-8")
    return svg


def _check_scale(scale: int) -> None:
    if not isinstance(scale, int) or isinstance(scale, bool) or not 1 <= scale <= 100:
        raise GS1Error(f"scale is the number of pixels per module, 1 to 100; found {scale!r}")


# -- decoding --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecodedSymbol:
    """One barcode found in an image, as a scanner would report it."""

    symbology_identifier: str
    """The AIM symbology identifier, e.g. ``"]d2"`` for GS1 DataMatrix, ``"]d1"`` for a plain one."""
    format_name: str
    """The barcode type in words, e.g. ``"Data Matrix"``."""
    raw: bytes
    """The data bytes exactly as decoded; FNC1 separators appear as GS (0x1D)."""
    scan_data: str
    """What a scanner transmits: the symbology identifier then the data (bytes read as Latin-1)."""
    element_string: ElementString | None = None
    """The parsed GS1 data when the symbology identifier announces GS1 and the data is valid."""
    error: str | None = None
    """Why the GS1 data did not parse, when it did not."""

    @property
    def is_gs1(self) -> bool:
        """True when the symbol announced GS1 data (FNC1 in first position)."""
        return self.symbology_identifier in GS1_SYMBOLOGY_IDENTIFIERS

    @classmethod
    def from_scan(cls, symbology_identifier: str, format_name: str, raw: bytes) -> DecodedSymbol:
        """Build a symbol from what a reader returned, parsing GS1 data when announced."""
        scan_data = symbology_identifier + raw.decode("latin-1")
        if symbology_identifier not in GS1_SYMBOLOGY_IDENTIFIERS:
            return cls(symbology_identifier, format_name, raw, scan_data)
        try:
            # No GS substitutes: "<GS>" is valid data in GS1 character set 82, never a separator here.
            elements = ElementString.parse(scan_data, gs_substitutes=())
        except GS1Error as exc:
            return cls(symbology_identifier, format_name, raw, scan_data, error=str(exc))
        return cls(symbology_identifier, format_name, raw, scan_data, elements)


def _load_image(image: ImageSource) -> Image.Image:
    if isinstance(image, Image.Image):
        picture = image
    elif isinstance(image, zxingcpp.Image):
        return _pillow_image(image)
    else:
        # A path is read first, so that a missing file stays a FileNotFoundError.
        data = bytes(image) if isinstance(image, bytes | bytearray | memoryview) else Path(image).read_bytes()
        try:
            picture = Image.open(io.BytesIO(data))
            picture.load()
        except (
            UnidentifiedImageError,
            Image.DecompressionBombError,
            OSError,
            SyntaxError,
            ValueError,
        ) as exc:
            raise GS1Error(f"cannot read the image ({len(data)} bytes): {exc}") from None
    if picture.mode in ("L", "RGB"):
        return picture
    if "A" in picture.mode or (picture.mode == "P" and "transparency" in picture.info):
        # Transparent pixels carry no colour a scanner would see: put the image on white paper.
        rgba = picture.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba).convert("L")
    return picture.convert("L")


def _formats(names: Iterable[str] | None) -> zxingcpp.BarcodeFormats | None:
    if names is None:
        return None
    wanted = [names] if isinstance(names, str) else list(names)
    try:
        return zxingcpp.barcode_formats_from_str(",".join(wanted))
    except ValueError as exc:
        raise GS1Error(f"unknown barcode format in {wanted!r}: {exc}") from None


def decode(
    image: ImageSource,
    *,
    formats: Iterable[str] | None = ("DataMatrix",),
    pure: bool = False,
) -> list[DecodedSymbol]:
    """Every barcode of the given ``formats`` found in ``image``, as a scanner would report it.

    ``formats`` takes zxing-cpp format names (``"DataMatrix"``, ``"QRCode"``, ``"Code128"``, …);
    ``None`` reads every format. ``pure=True`` is faster for images that hold nothing but one
    well-aligned symbol (as :func:`render_png` makes). The data comes from the decoded bytes
    and the symbology identifier, never from the library's text rendering. An unreadable
    image raises :class:`GS1Error`; a missing file raises :class:`FileNotFoundError`.
    """
    picture = _load_image(image)
    wanted = _formats(formats)
    if wanted is None:
        results = zxingcpp.read_barcodes(picture, is_pure=pure)
    else:
        results = zxingcpp.read_barcodes(picture, formats=wanted, is_pure=pure)
    return [DecodedSymbol.from_scan(r.symbology_identifier, str(r.format), r.bytes) for r in results]


# -- human-readable text ---------------------------------------------------------------------------------


def _expiry_text(yymmdd: str) -> str:
    """ISO date of a GS1 YYMMDD expiry; day ``00`` (month only) prints as ``YYYY-MM``."""
    day = gs1_date(yymmdd)
    if yymmdd[4:] == "00":
        return f"{day.year:04d}-{day.month:02d}"
    return day.isoformat()


def label_lines(data: GS1Data, *, labels: Mapping[str, str] = FMD_LABELS) -> list[str]:
    """The human-readable lines printed beside the DataMatrix of a pack, e.g. ``"PC: 0950…"``.

    In the order product code, serial number, batch, expiry, then each national number
    (AIs 710-717) present; an element that is absent gives no line. ``labels`` maps AIs to
    the abbreviation printed before their data (default :data:`FMD_LABELS`).

    >>> label_lines("(01)09506000134352(21)X1(10)B2(17)290200(710)1234567")
    ['PC: 09506000134352', 'SN: X1', 'LOT: B2', 'EXP: 2029-02', 'NN: 1234567']
    """
    elements = _element_string(data)
    lines: list[str] = []
    for ai in ("01", "21", "10", "17", *NHRN_AIS):
        raw = elements.raw(ai)
        if raw is None:
            continue
        text = _expiry_text(raw) if ai == "17" else raw
        label = labels.get(ai)
        lines.append(f"{label}: {text}" if label else text)
    return lines
