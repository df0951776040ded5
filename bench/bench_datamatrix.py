"""How fast packtrail renders and reads GS1 DataMatrix symbols for pack identifiers.

Times, over ``n`` random EU FMD pack identifiers (GTIN, serial, batch, expiry, sometimes a
German NHRN): rendering to PNG bytes, reading those PNGs back (with and without zxing-cpp's
"pure image" hint), and rendering SVG. Every decode is checked against its input, so the
figures are for correct round trips only. There is no peer to compare with: both directions
run through zxing-cpp, and packtrail's own share (validation, parsing) is small.

Run: ``.venv/bin/python bench/bench_datamatrix.py [n]``
"""

from __future__ import annotations

import random
import sys
import time
from calendar import monthrange

from packtrail.gs1.checkdigit import CSET82, gs1_check_digit
from packtrail.gs1.datamatrix import DEFAULT_SCALE, decode, render_png, render_svg
from packtrail.gs1.element_string import ElementString


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(CSET82) for _ in range(rng.randint(1, 20)))


def random_pack(rng: random.Random) -> ElementString:
    """A random, valid pack identifier."""
    body = "".join(rng.choice("0123456789") for _ in range(13))
    yy, mm = rng.randint(0, 99), rng.randint(1, 12)
    dd = 0 if rng.random() < 0.2 else rng.randint(1, monthrange(2000 + yy, mm)[1])
    pairs = [
        ("01", body + gs1_check_digit(body)),
        ("17", f"{yy:02d}{mm:02d}{dd:02d}"),
        ("10", _text(rng)),
        ("21", _text(rng)),
    ]
    if rng.random() < 0.3:
        pairs.append(("710", _text(rng)))
    return ElementString.from_pairs(pairs)


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def run(n: int = 2000, *, scale: int = DEFAULT_SCALE, seed: int = 1) -> dict[str, float | int]:
    """Time ``n`` renders and decodes; return the rates per second and the PNG sizes."""
    rng = random.Random(seed)
    packs = [random_pack(rng) for _ in range(n)]

    start = time.perf_counter()
    pngs = [render_png(pack, scale=scale) for pack in packs]
    render_seconds = time.perf_counter() - start

    start = time.perf_counter()
    pure = [decode(png, pure=True) for png in pngs]
    pure_seconds = time.perf_counter() - start

    start = time.perf_counter()
    searched = [decode(png) for png in pngs]
    search_seconds = time.perf_counter() - start

    start = time.perf_counter()
    for pack in packs:
        render_svg(pack, scale=scale)
    svg_seconds = time.perf_counter() - start

    for pack, found, found_again in zip(packs, pure, searched, strict=True):
        for symbols in (found, found_again):
            if len(symbols) != 1 or symbols[0].element_string is None:
                raise AssertionError(f"round trip failed for {pack.bracketed()}: {symbols}")
            if symbols[0].element_string.pairs != pack.pairs:
                raise AssertionError(f"round trip changed {pack.bracketed()}: {symbols[0]}")

    return {
        "n": n,
        "scale_px_per_module": scale,
        "render_png_per_s": _rate(n, render_seconds),
        "decode_png_pure_per_s": _rate(n, pure_seconds),
        "decode_png_search_per_s": _rate(n, search_seconds),
        "render_svg_per_s": _rate(n, svg_seconds),
        "png_bytes_mean": round(sum(len(p) for p in pngs) / n, 1),
    }


def main(argv: list[str]) -> None:
    n = int(argv[1]) if len(argv) > 1 else 2000
    figures = run(n)
    width = max(len(key) for key in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main(sys.argv)
