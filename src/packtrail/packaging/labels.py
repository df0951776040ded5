"""Labels of a packaging line: the GS1 DataMatrix of each pack, the SSCC label of each case and pallet.

A pack carries its unique identifier (GTIN, serial, lot, expiry) in a GS1 DataMatrix, with the
human-readable lines the EU FMD asks for beside it:

>>> label = PackLabel.create("04012345111118", "100000000001", lot="B42", expiry="280229")
>>> label.element_string
'(01)04012345111118(17)280229(10)B42(21)100000000001'
>>> label.lines
['PC: 04012345111118', 'SN: 100000000001', 'LOT: B42', 'EXP: 2028-02-29']
>>> label.png()[:4]
b'\\x89PNG'

A case or pallet (a logistic unit) carries its SSCC in a **GS1-128** barcode (Code 128 with FNC1 in
first position, which zxing-cpp draws), and for a unit holding one product its content: GTIN of the
contained items (AI 02), their count (AI 37), lot (AI 10) and expiry (AI 17), as on the GS1 Logistic
Label. The human-readable lines use the label's data titles:

>>> unit = SSCCLabel.create("040123450000000016", content="04012345111118", count=10, lot="B42",
...                         expiry="280229")
>>> unit.lines
['SSCC: 040123450000000016', 'CONTENT: 04012345111118', 'COUNT: 10', 'BATCH/LOT: B42', 'EXPIRY: 2028-02-29']
>>> unit.sscc_element_string, unit.content_element_string
('(00)040123450000000016', '(02)04012345111118(17)280229(37)10(10)B42')
>>> from packtrail.gs1.datamatrix import decode
>>> [symbol] = decode(unit.png(), formats=("Code128",))
>>> symbol.symbology_identifier, symbol.element_string.bracketed()
(']C1', '(00)040123450000000016')

The SSCC goes in a GS1-128 of its own (GS1 puts it in the bottom barcode of the logistic label, where
every scanner in the chain looks for it); :meth:`SSCCLabel.data_png` draws SSCC and content together
in a GS1 DataMatrix (the content alone is not valid GS1 data, and with the SSCC too long for one GS1-128).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import zxingcpp
from PIL import Image

from packtrail.gs1 import GS1Error, PackIdentifier
from packtrail.gs1.datamatrix import DEFAULT_SCALE, label_lines, render_png, render_svg
from packtrail.gs1.element_string import ElementString
from packtrail.gs1.linters import gs1_date
from packtrail.packaging.errors import PackagingError

__all__ = ["GS1_128_SCALE", "PackLabel", "SSCCLabel", "pack_image_name", "write_pack_images"]

GS1_128_SCALE: Final = 2
"""Pixels per module of a GS1-128 image. At 200 dpi, 2 px make a module of 0.25 mm (the GS1
logistic label asks for 0.495-0.94 mm: use 4 px at 200 dpi or 8 at 406 dpi on a label printer)."""

_FIELD_OF_AI: Final = {
    "00": "sscc",
    "01": "gtin",
    "02": "content",
    "10": "lot",
    "17": "expiry",
    "21": "serial",
    "37": "count",
}


def _field(error: GS1Error, default: str) -> str:
    return _FIELD_OF_AI.get(error.ai or "", default)


def _expiry_text(expiry: str | date | None) -> str | None:
    if isinstance(expiry, date):
        return expiry.strftime("%y%m%d")
    return expiry


@dataclass(frozen=True, slots=True)
class PackLabel:
    """The label data of one pack: its unique identifier, DataMatrix and human-readable lines."""

    identifier: PackIdentifier
    """GTIN, serial, lot, expiry (and national numbers, when given)."""

    @classmethod
    def create(
        cls,
        gtin: str,
        serial: str,
        *,
        lot: str | None = None,
        expiry: str | date | None = None,
        nhrn: Sequence[tuple[str, str]] = (),
    ) -> PackLabel:
        """Validate the parts into a label; :class:`PackagingError` names the field that is wrong."""
        try:
            return cls(PackIdentifier.create(gtin, serial, lot, _expiry_text(expiry), nhrn))
        except GS1Error as exc:
            raise PackagingError(_field(exc, "gtin"), str(exc)) from None

    @property
    def element_string(self) -> str:
        """The GS1 element string in brackets, as encoded in the DataMatrix."""
        return self.identifier.element_string().bracketed()

    @property
    def lines(self) -> list[str]:
        """The human-readable lines printed beside the DataMatrix (PC, SN, LOT, EXP, NN)."""
        return label_lines(self.identifier.element_string())

    def png(self, *, scale: int = DEFAULT_SCALE, dpi: int | None = None) -> bytes:
        """The GS1 DataMatrix as PNG bytes."""
        return render_png(self.identifier.element_string(), scale=scale, dpi=dpi)

    def svg(self, *, scale: int = DEFAULT_SCALE) -> str:
        """The GS1 DataMatrix as an SVG document."""
        return render_svg(self.identifier.element_string(), scale=scale)

    def as_json(self) -> dict[str, Any]:
        """The label data as JSON: identifier parts, element string, Digital Link, SGTIN, lines."""
        pack = self.identifier
        return {
            "gtin": pack.gtin,
            "serial": pack.serial,
            "lot": pack.lot,
            "expiry": pack.expiry_raw,
            "elementString": self.element_string,
            "digitalLink": pack.digital_link,
            "sgtin": pack.sgtin,
            "lines": self.lines,
        }


def _gs1_128(elements: ElementString) -> zxingcpp.Barcode:
    text = "".join(f"[{ai}]{raw}" for ai, raw in elements.pairs)
    try:
        return zxingcpp.create_barcode(text, zxingcpp.Code128, gs1=True)
    except ValueError as exc:  # pragma: no cover - validated data always encodes
        raise PackagingError("sscc", f"the GS1-128 encoder refused {elements.bracketed()}: {exc}") from None


def _png_of(barcode: zxingcpp.Barcode, scale: int, height: int | None) -> bytes:
    picture = zxingcpp.write_barcode_to_image(barcode, scale=scale, add_quiet_zones=True)
    view = memoryview(picture)  # type: ignore[arg-type]  # the stub does not declare the buffer protocol
    rows, columns = view.shape or (0, 0)
    image = Image.frombytes("L", (columns, rows), view.tobytes())
    if height is not None:  # bars are vertical: stretching keeps every module's width
        image = image.resize((columns, height), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.convert("1", dither=Image.Dither.NONE).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class SSCCLabel:
    """The label data of one logistic unit (case or pallet): its SSCC and, optionally, its content."""

    sscc: ElementString
    """AI (00): the SSCC, validated."""
    content: ElementString | None = None
    """AIs (02) content GTIN, (17) expiry, (37) count, (10) lot, when the unit holds one product."""
    titles: dict[str, str] = field(
        default_factory=lambda: {
            "00": "SSCC",
            "02": "CONTENT",
            "37": "COUNT",
            "10": "BATCH/LOT",
            "17": "EXPIRY",
        }
    )
    """Data titles of the human-readable lines (GS1 Logistic Label)."""

    @classmethod
    def create(
        cls,
        sscc: str,
        *,
        content: str | None = None,
        count: int | None = None,
        lot: str | None = None,
        expiry: str | date | None = None,
    ) -> SSCCLabel:
        """Validate an SSCC label; :class:`PackagingError` names the field that is wrong.

        ``content`` is the GTIN of the contained trade items; ``count`` needs it (AI 37 goes with 02)."""
        try:
            unit = ElementString.from_pairs([("00", sscc)])
        except GS1Error as exc:
            raise PackagingError("sscc", str(exc)) from None
        pairs: list[tuple[str, str]] = []
        if content is not None:
            pairs.append(("02", content.zfill(14) if content.isdigit() else content))
        expiry_text = _expiry_text(expiry)
        if expiry_text is not None:
            pairs.append(("17", expiry_text))
        if count is not None:
            if content is None:
                raise PackagingError("count", "a count (AI 37) needs the content GTIN (AI 02)")
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 99_999_999:
                raise PackagingError("count", f"expected a whole number from 1 to 99,999,999, got {count!r}")
            pairs.append(("37", str(count)))
        if lot is not None:
            pairs.append(("10", lot))
        if not pairs:
            return cls(unit)
        try:
            # The label as a whole must be valid GS1 data ((02) goes with (00) and (37)); the content
            # travels in a symbol of its own, so its associations are checked here, not per symbol.
            ElementString.from_pairs([("00", sscc), *pairs])
            return cls(unit, ElementString.from_pairs(pairs, check_associations=False))
        except GS1Error as exc:
            raise PackagingError(_field(exc, "content"), str(exc)) from None

    @property
    def sscc_value(self) -> str:
        """The 18-digit SSCC."""
        value = self.sscc.raw("00")
        assert value is not None
        return value

    @property
    def sscc_element_string(self) -> str:
        return self.sscc.bracketed()

    @property
    def content_element_string(self) -> str | None:
        return None if self.content is None else self.content.bracketed()

    @property
    def lines(self) -> list[str]:
        """The human-readable lines: SSCC, then CONTENT, COUNT, BATCH/LOT, EXPIRY when present."""
        lines = [f"{self.titles['00']}: {self.sscc_value}"]
        if self.content is not None:
            for ai in ("02", "37", "10", "17"):
                raw = self.content.raw(ai)
                if raw is None:
                    continue
                text = _iso_expiry(raw) if ai == "17" else raw
                lines.append(f"{self.titles[ai]}: {text}")
        return lines

    def png(self, *, scale: int = GS1_128_SCALE, height: int | None = None) -> bytes:
        """The SSCC as a GS1-128 barcode, PNG bytes; ``height`` in pixels stretches the bars."""
        return _png_of(_gs1_128(self.sscc), _scale(scale), height)

    def svg(self, *, scale: int = GS1_128_SCALE) -> str:
        """The SSCC as a GS1-128 barcode, an SVG document."""
        return zxingcpp.write_barcode_to_svg(_gs1_128(self.sscc), scale=_scale(scale), add_quiet_zones=True)

    def data_png(self, *, scale: int = DEFAULT_SCALE) -> bytes:
        """The whole label data, SSCC and content (00, 02, 17, 37, 10), in one GS1 DataMatrix.

        The content cannot travel alone: GS1 requires (02) and (37) to come with the SSCC in the
        same data, and all of it is too long for one GS1-128 (48 characters at most); a 2D symbol
        holds it, for scanners that read 2D codes on logistic labels."""
        pairs = self.sscc.pairs + (self.content.pairs if self.content is not None else ())
        return render_png(ElementString.from_pairs(pairs), scale=scale)

    def as_json(self) -> dict[str, Any]:
        return {
            "sscc": self.sscc_value,
            "elementString": self.sscc_element_string,
            "contentElementString": self.content_element_string,
            "lines": self.lines,
        }


def _scale(scale: int) -> int:
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= 100:
        raise PackagingError("scale", f"expected pixels per module from 1 to 100, got {scale!r}")
    return scale


def _iso_expiry(yymmdd: str) -> str:
    day = gs1_date(yymmdd)
    return f"{day.year:04d}-{day.month:02d}" if yymmdd.endswith("00") else day.isoformat()


def pack_image_name(gtin: str, serial: str) -> str:
    """The file name of a pack's DataMatrix PNG: ``GTIN_SERIAL.png``, the serial %-escaped where a
    file name could not hold it (GS1 character set 82 has ``/`` and ``%``).

    >>> pack_image_name("04012345111118", "A/1")
    '04012345111118_A%2F1.png'
    """
    return f"{gtin}_{quote(serial, safe='')}.png"


def write_pack_images(
    directory: str | os.PathLike[str],
    gtin: str,
    serials: Sequence[str],
    *,
    lot: str | None,
    expiry: str | date | None,
    scale: int = DEFAULT_SCALE,
) -> int:
    """Write the DataMatrix PNG of every pack into ``directory`` (created if needed); how many."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    for serial in serials:
        label = PackLabel.create(gtin, serial, lot=lot, expiry=expiry)
        (folder / pack_image_name(gtin, serial)).write_bytes(label.png(scale=scale))
    return len(serials)
