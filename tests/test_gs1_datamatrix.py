"""GS1 DataMatrix rendering, decoding and human-readable lines (packtrail.gs1.datamatrix)."""

from __future__ import annotations

import io
import random
import re
import xml.etree.ElementTree as ET
from calendar import monthrange
from pathlib import Path

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from packtrail.gs1.checkdigit import CSET82, gs1_check_digit
from packtrail.gs1.datamatrix import (
    FMD_LABELS,
    DecodedSymbol,
    decode,
    label_lines,
    render_image,
    render_png,
    render_svg,
)
from packtrail.gs1.dictionary import AI_TABLE
from packtrail.gs1.digital_link import DigitalLink
from packtrail.gs1.element_string import GS, ElementString
from packtrail.gs1.errors import GS1Error

# The GS1 example GTIN used throughout the GS1 General Specifications and the GS1 Digital Link
# standard: 0950600013435 weighs 3,1,3,... from the right to 78, so the check digit is 2.
PACK = "(01)09506000134352(17)270131(10)ABC123(21)SERIAL0001"
WRONG_CHECK_DIGIT = "(01)09506000134353(17)270131(10)ABC123(21)SERIAL0001"


# --- random pack identifiers --------------------------------------------------------------------------------


def _random_cset82(rng: random.Random, longest: int = 20) -> str:
    return "".join(rng.choice(CSET82) for _ in range(rng.randint(1, longest)))


def _random_expiry(rng: random.Random) -> str:
    yy, mm = rng.randint(0, 99), rng.randint(1, 12)
    # DD=00 means "end of the month" (GS1 General Specifications 3.4.10): give it a fair share.
    dd = 0 if rng.random() < 0.2 else rng.randint(1, monthrange(2000 + yy, mm)[1])
    return f"{yy:02d}{mm:02d}{dd:02d}"


def random_pack(rng: random.Random) -> list[tuple[str, str]]:
    """A random EU FMD unique identifier: GTIN, serial, batch, expiry, sometimes a German NHRN."""
    body = "".join(rng.choice("0123456789") for _ in range(13))
    pairs = [
        ("01", body + gs1_check_digit(body)),
        ("21", _random_cset82(rng)),
        ("10", _random_cset82(rng)),
        ("17", _random_expiry(rng)),
    ]
    if rng.random() < 0.3:
        pairs.append(("710", _random_cset82(rng)))
    if rng.random() < 0.5:  # the AIs may come in any order; keep the GTIN first as packs do
        tail = pairs[1:]
        rng.shuffle(tail)
        pairs[1:] = tail
    return pairs


# --- round trip -----------------------------------------------------------------------------------------------


def test_render_decode_round_trip_of_1000_random_packs() -> None:
    rng = random.Random(20260209)  # the EU FMD applies from 9 February 2019; any fixed seed will do
    for _ in range(1000):
        pairs = random_pack(rng)
        elements = ElementString.from_pairs(pairs)
        png = render_png(elements, scale=2)
        symbols = decode(png, pure=True)
        assert len(symbols) == 1, elements.bracketed()
        [symbol] = symbols
        assert symbol.symbology_identifier == "]d2"
        assert symbol.error is None
        assert symbol.element_string is not None
        assert list(symbol.element_string.pairs) == pairs
        # Byte for byte what a scanner transmits: FNC1 only after variable-length data.
        assert symbol.raw == elements.encoded().encode("ascii")
        assert symbol.scan_data == elements.scan_data("]d2")


def test_the_doctest_pack_round_trips_at_the_default_size_without_the_pure_hint() -> None:
    [symbol] = decode(render_png(PACK))
    assert symbol.element_string is not None
    assert symbol.element_string.bracketed() == PACK
    assert symbol.format_name == "Data Matrix"
    assert symbol.is_gs1


def test_data_with_brackets_and_a_literal_gs_substitute_survives() -> None:
    # "(" needs escaping in bracketed input; "<GS>" is four valid CSET 82 characters, not a separator.
    pairs = [("01", "09506000134352"), ("21", "A(1)%<GS>"), ("10", "(L)")]
    [symbol] = decode(render_png(ElementString.from_pairs(pairs)))
    assert symbol.element_string is not None
    assert symbol.element_string.pairs == tuple(pairs)
    assert symbol.raw == b"010950600013435221A(1)%<GS>\x1d10(L)"


def test_symbols_are_square_even_where_a_rectangle_would_be_smaller() -> None:
    # Left to itself the encoder picks an 8x64 DMRE rectangle for this data, which zxing-cpp then
    # reports as "]d8": not what pharma scanners and verifiers expect.
    data = ElementString.from_pairs([("01", "09506000134352"), ("21", "!\"%&'()*+,-./:;<")])
    image = render_image(data, scale=1, quiet_zone=False)
    assert image.width == image.height
    [symbol] = decode(render_png(data))
    assert symbol.symbology_identifier == "]d2"


# --- input forms ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        PACK,
        "]d201095060001343521727013110ABC123" + GS + "21SERIAL0001",
        "01095060001343521727013110ABC123<GS>21SERIAL0001",
        ElementString.parse(PACK),
        DigitalLink.parse("https://id.gs1.org/01/09506000134352/10/ABC123/21/SERIAL0001?17=270131"),
        "https://example.com/01/09506000134352/10/ABC123/21/SERIAL0001?17=270131",
    ],
    ids=["bracketed", "scan-data", "gs-substitute", "element-string", "digital-link", "digital-link-uri"],
)
def test_every_input_form_renders_the_same_data(data: str | ElementString | DigitalLink) -> None:
    [symbol] = decode(render_png(data))
    assert symbol.element_string is not None
    assert dict(symbol.element_string.pairs) == dict(ElementString.parse(PACK).pairs)


def test_a_digital_link_is_carried_as_an_element_string_not_as_a_uri() -> None:
    [symbol] = decode(render_png("https://id.gs1.org/01/09506000134352/21/S1"))
    assert symbol.raw == b"010950600013435221S1"


# --- invalid data ---------------------------------------------------------------------------------------------


def test_wrong_check_digit_raises_and_writes_no_file(tmp_path: Path) -> None:
    png_path, svg_path = tmp_path / "pack.png", tmp_path / "pack.svg"
    with pytest.raises(GS1Error, match="check digit should be 2, found 3") as caught:
        render_png(WRONG_CHECK_DIGIT, png_path)
    assert caught.value.ai == "01"
    with pytest.raises(GS1Error, match="check digit"):
        render_svg(WRONG_CHECK_DIGIT, svg_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("(01)09506000134352(17)270230(21)S1", "day 30 does not exist"),
        ("(01)09506000134352(17)271340(21)S1", "month 13"),
        ("(01)09506000134352(21)" + "A" * 21, "too long"),
        ("(01)09506000134352(21)S 1", "not allowed"),
        ("(710)1234567", "must be used together with"),
        ("https://id.gs1.org/01/09506000134353/21/S1", "check digit"),
    ],
)
def test_invalid_data_is_refused_before_rendering(data: str, reason: str) -> None:
    with pytest.raises(GS1Error, match=reason):
        render_png(data)


def test_wrong_input_type_and_scale_raise_gs1_error() -> None:
    with pytest.raises(GS1Error, match="found int"):
        render_png(12345)  # type: ignore[arg-type]
    for scale in (0, -1, 101, True):
        with pytest.raises(GS1Error, match="pixels per module"):
            render_png(PACK, scale=scale)


def test_data_too_large_for_any_datamatrix_is_a_gs1_error() -> None:
    # Every free-text AI filled to its maximum: valid element strings (associations aside), but
    # some 1,800 characters, over the 1,556 data codewords of the largest (144x144) symbol.
    pairs = [
        (ai, "!" * d.max_length)
        for ai, d in AI_TABLE.items()
        if len(d.components) == 1 and d.components[0].charset == "X" and not d.components[0].linters
    ]
    elements = ElementString.from_pairs(pairs, check_associations=False)
    assert len(elements.encoded()) > 1556
    with pytest.raises(GS1Error, match="encoder refused"):
        render_png(elements)


# --- output files and formats ---------------------------------------------------------------------------------


def test_png_is_written_to_the_path_and_carries_the_dpi(tmp_path: Path) -> None:
    path = tmp_path / "pack.png"
    png = render_png(PACK, path, scale=8, dpi=600)
    assert path.read_bytes() == png
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        dpi = image.info["dpi"]
        assert round(dpi[0]) == 600 and round(dpi[1]) == 600


def test_quiet_zone_is_one_module_of_light_pixels() -> None:
    bare = render_image(PACK, scale=3, quiet_zone=False)
    framed = render_image(PACK, scale=3)
    assert framed.size == (bare.width + 6, bare.height + 6)
    assert bare.width % 3 == 0
    # The L-shaped finder pattern: left column and bottom row of the symbol are dark.
    assert bare.getpixel((0, bare.height - 1)) == 0
    border = [framed.getpixel((x, y)) for x in range(framed.width) for y in (0, 1, 2, framed.height - 1)]
    border += [framed.getpixel((x, y)) for y in range(framed.height) for x in (0, 1, 2, framed.width - 1)]
    assert set(border) == {255}


_SVG_NS = "{http://www.w3.org/2000/svg}"
_RECT_PATH = re.compile(r"M([\d.]+) ([\d.]+)h([\d.]+)v([\d.]+)h-[\d.]+Z")


def test_svg_is_valid_xml_and_draws_the_same_symbol(tmp_path: Path) -> None:
    path = tmp_path / "pack.svg"
    svg = render_svg(PACK, path, scale=3)
    assert path.read_text(encoding="utf-8") == svg
    root = ET.fromstring(svg)
    assert root.tag == f"{_SVG_NS}svg"
    width, height = int(float(root.attrib["width"])), int(float(root.attrib["height"]))
    assert (width, height) == render_image(PACK, scale=3).size
    shapes = [el for el in root.iter() if el.tag in (f"{_SVG_NS}rect", f"{_SVG_NS}path")]
    assert shapes
    # Paint the dark rectangles the SVG path describes and read the result: it must be our symbol.
    canvas = Image.new("L", (width, height), 255)
    painted = 0
    for element in root.iter(f"{_SVG_NS}path"):
        for x, y, w, h in _RECT_PATH.findall(element.attrib["d"]):
            x0, y0 = int(float(x)), int(float(y))
            canvas.paste(0, (x0, y0, x0 + int(float(w)), y0 + int(float(h))))
            painted += 1
    assert painted > 0
    [symbol] = decode(canvas)
    assert symbol.element_string is not None
    assert symbol.element_string.bracketed() == PACK


# --- decoding -------------------------------------------------------------------------------------------------


def test_decode_accepts_a_path_bytes_and_a_pillow_image(tmp_path: Path) -> None:
    path = tmp_path / "pack.png"
    png = render_png(PACK, path)
    image = Image.open(io.BytesIO(png))
    for source in (path, str(path), png, bytearray(png), memoryview(png), image):
        [symbol] = decode(source)
        assert symbol.element_string is not None
        assert symbol.element_string.bracketed() == PACK


def test_decode_reads_a_jpeg_and_a_transparent_png() -> None:
    image = render_image(PACK, scale=6).convert("RGB")
    jpeg = io.BytesIO()
    image.save(jpeg, format="JPEG", quality=80)
    [symbol] = decode(jpeg.getvalue())
    assert symbol.element_string is not None and symbol.element_string.bracketed() == PACK
    # Every pixel black, the light modules fully transparent: read as if printed on white paper.
    rgba = Image.new("RGBA", image.size, (0, 0, 0, 0))
    rgba.putalpha(image.convert("L").point(lambda v: 255 if v < 128 else 0))
    [symbol] = decode(rgba)
    assert symbol.element_string is not None and symbol.element_string.bracketed() == PACK


def test_plain_datamatrix_is_not_gs1_even_when_it_looks_like_it() -> None:
    # No FNC1 in first position: a scanner sends ]d1 and the data is not GS1, whatever it looks like.
    for text in ("hello, world", "010950600013435221SERIAL0001"):
        barcode = zxingcpp.create_barcode(text, zxingcpp.DataMatrix)
        [symbol] = decode(barcode.to_image(scale=3))
        assert symbol.symbology_identifier == "]d1"
        assert symbol.scan_data == "]d1" + text
        assert symbol.element_string is None
        assert symbol.error is None
        assert not symbol.is_gs1


def test_gs1_datamatrix_with_invalid_data_reports_the_error() -> None:
    # zxing-cpp itself encodes a wrong GTIN check digit; the decoder must catch it.
    barcode = zxingcpp.create_barcode("[01]09506000134353[21]S1", zxingcpp.DataMatrix, gs1=True)
    [symbol] = decode(barcode.to_image(scale=3))
    assert symbol.symbology_identifier == "]d2"
    assert symbol.element_string is None
    assert symbol.error is not None and "check digit should be 2, found 3" in symbol.error


def test_formats_default_to_datamatrix_and_can_be_widened() -> None:
    qr = zxingcpp.create_barcode("[01]09506000134352[21]S1", zxingcpp.QRCode, gs1=True)
    image = qr.to_image(scale=4)
    assert decode(image) == []
    [symbol] = decode(image, formats=("QRCode",))
    assert symbol.symbology_identifier == "]Q3"
    assert symbol.element_string is not None
    assert symbol.element_string.pairs == (("01", "09506000134352"), ("21", "S1"))
    assert len(decode(image, formats=None)) == 1
    assert len(decode(image, formats="QRCode")) == 1
    with pytest.raises(GS1Error, match="unknown barcode format"):
        decode(image, formats=("NoSuchFormat",))


def test_an_image_without_a_symbol_gives_an_empty_list() -> None:
    assert decode(Image.new("L", (64, 64), 255)) == []


def test_missing_file_and_unreadable_bytes(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        decode(tmp_path / "nothing.png")
    with pytest.raises(GS1Error, match="cannot read the image"):
        decode(b"this is not an image")
    png = render_png(PACK)
    with pytest.raises(GS1Error, match="cannot read the image"):
        decode(png[: len(png) // 2])


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_png_gives_symbols_or_gs1_error(data: st.DataObject) -> None:
    png = bytearray(render_png(PACK, scale=2))
    edits = data.draw(st.lists(st.tuples(st.integers(0, len(png) - 1), st.integers(0, 255)), max_size=6))
    for index, value in edits:
        png[index] = value
    cut = data.draw(st.integers(0, len(png)))
    try:
        symbols = decode(bytes(png[:cut]))
    except GS1Error:
        return
    assert all(isinstance(s, DecodedSymbol) for s in symbols)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["]d2", "]d1", "]Q3", "]C1", "]d8"]),
    st.binary(max_size=60) | st.text(alphabet=CSET82 + GS + "0123456789", max_size=60).map(str.encode),
)
def test_from_scan_never_raises(identifier: str, raw: bytes) -> None:
    symbol = DecodedSymbol.from_scan(identifier, "Data Matrix", raw)
    assert symbol.scan_data == identifier + raw.decode("latin-1")
    if identifier == "]d1":
        assert symbol.element_string is None and symbol.error is None
    else:
        assert (symbol.element_string is None) != (symbol.error is None)


# --- human-readable lines -------------------------------------------------------------------------------------


def test_label_lines_for_a_pack() -> None:
    assert label_lines(PACK) == ["PC: 09506000134352", "SN: SERIAL0001", "LOT: ABC123", "EXP: 2027-01-31"]


def test_label_lines_order_nhrn_and_day_zero() -> None:
    # Order of the lines is fixed (PC, SN, LOT, EXP, national numbers), whatever the order in the symbol.
    data = "(01)09506000134352(711)3400912345678(17)280200(10)B-7(21)X(710)12345678"
    assert label_lines(data) == [
        "PC: 09506000134352",
        "SN: X",
        "LOT: B-7",
        "EXP: 2028-02",
        "NN: 12345678",
        "NN: 3400912345678",
    ]


def test_label_lines_leave_out_what_is_absent_and_take_other_labels() -> None:
    assert label_lines("(01)09506000134352(21)S1") == ["PC: 09506000134352", "SN: S1"]
    german = {**FMD_LABELS, "10": "Ch.-B.", "17": "Verw. bis", "710": "PZN"}
    assert label_lines("(01)04150123456782(10)L1(17)301231(21)S1(710)12345678", labels=german) == [
        "PC: 04150123456782",
        "SN: S1",
        "Ch.-B.: L1",
        "Verw. bis: 2030-12-31",
        "PZN: 12345678",
    ]


def test_label_lines_accept_a_digital_link_and_refuse_bad_data() -> None:
    link = DigitalLink.parse("https://id.gs1.org/01/09506000134352/10/ABC123/21/SERIAL0001?17=270131")
    assert label_lines(link) == label_lines(PACK)
    with pytest.raises(GS1Error, match="check digit"):
        label_lines(WRONG_CHECK_DIGIT)
