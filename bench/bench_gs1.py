"""Benchmark: reading GS1 barcode text, packtrail against biip.

Builds the same pharma strings for both libraries from a fixed seed: about a third
scanner output from a GS1 DataMatrix (``]d2``, GS separators, AIs 01/17/10/21 in varied
orders, sometimes an NHRN 710-714), a third the bracketed human-readable form, a third
GS1 Digital Link URIs (``/01/{gtin}/10/{lot}/21/{serial}?17={expiry}``). About 3 % carry
what scanners and label printers get wrong in the field (CR/LF after the data, a lost
GS, a GTIN-13 in a URI path, the lot in the query string, a bad check digit, 30 February).

Both sides do the same work per string: parse, then read GTIN, serial, lot and the
expiry as a date. packtrail uses its dispatcher ``packtrail.gs1.parse_barcode`` when the
package has one (else ``ElementString.parse`` / ``DigitalLink.parse``); biip uses
``biip.parse``, except for the bracketed form, which ``biip.parse`` does not read: there
it uses ``GS1Message.parse_hri``. A second biip figure calls biip's parsers directly
(no dispatcher). Each side is timed ``repeat`` times, interleaved, and the median is kept
(the machine is shared).

Then every string is compared: the elements (AI -> data) of each string both accept,
and each string only one side accepts. Disagreements are grouped by kind, with the side
the GS1 Barcode Syntax Dictionary (and GS1 Digital Link standard) supports.

    .venv/bin/python bench/bench_gs1.py                    # 100,000 strings
    .venv/bin/python bench/bench_gs1.py --n 20000 --json
    .venv/bin/python bench/bench_gs1.py --write bench/RESULTS.md

``run(n)`` returns the figures as a dict; ``main()`` also runs ``bench_epc`` and
``bench_datamatrix`` (when present) and writes all figures with ``--write``.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from packtrail.gs1.checkdigit import gs1_check_digit
from results_file import write_results  # a sibling in bench/ (the script's folder)

SEED = 20260127
GS = "\x1d"
ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
KINDS = ("]d2", "bracketed", "digital-link")

# GTIN-13 starts of markets with pharma serialisation, each with the NHRN AI its packs may
# carry: Germany (PZN, AI 710, in an NTIN 4150...), France (CIP, 711, 34009...), Spain
# (CN, 712, 847000...), Brazil (ANVISA DRN, 713, 789...), Portugal (AIM, 714, 560...), and
# US NDC-based GTINs (03..., no NHRN: the NDC is inside the GTIN).
MARKETS = (
    ("4150", "710", 8),
    ("34009", "711", 7),
    ("847000", "712", 6),
    ("789", "713", 13),
    ("560", "714", 7),
    ("03", None, 0),
    ("03", None, 0),
)

# Which side the dictionary supports, per kind of disagreement found (see _classify).
VERDICTS: dict[str, str] = {
    "dl-gtin13-in-path": (
        "packtrail (strict). GS1 Digital Link 1.2+ and the GS1 syntax engine want a 14-digit GTIN "
        "in the path; a 13-digit one is a legacy form (packtrail reads it with strict=False)."
    ),
    "dl-qualifier-in-query": (
        "packtrail. A key qualifier that fits the path (lot 10 after GTIN 01) must be written in "
        "the path, not the query string (GS1 Digital Link URI syntax; the GS1 syntax engine rejects it)."
    ),
    "lost-gs-too-long": (
        "packtrail. Without the GS the lot data runs on past 20 characters (X..20); the dictionary "
        "gives no way to know where it ends, so the string is invalid. biip guesses a split."
    ),
    "lost-gs-fits": (
        "both readings fit the dictionary; packtrail keeps the lot whole (no guessing) and warns "
        "that no serial is present."
    ),
    "dl-uppercase-scheme": (
        "packtrail. URI schemes and host names are case-insensitive (RFC 3986) and the GS1 syntax "
        "engine reads HTTPS://; biip.parse only tries a Digital Link when the text starts with 'http'."
    ),
    "bad-date": "packtrail: AI (17) is N6 with linter yymmd0, and 30 February does not exist.",
    "bad-check-digit": "packtrail: AI (01) is N14 with linter csum.",
}


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _alnum(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(ALNUM) for _ in range(count))


def _products(rng: random.Random, count: int) -> list[tuple[str, str | None, str | None]]:
    """``count`` (GTIN-14, NHRN AI, NHRN) for pharma packs of several markets."""
    out: list[tuple[str, str | None, str | None]] = []
    seen: set[str] = set()
    while len(out) < count:
        prefix, nhrn_ai, nhrn_length = rng.choice(MARKETS)
        body = prefix + _digits(rng, 12 - len(prefix))
        gtin = "0" + body + gs1_check_digit("0" + body)
        if gtin in seen:
            continue
        seen.add(gtin)
        nhrn = None
        if nhrn_ai == "710":
            nhrn = "".join(body[4:12])  # the PZN inside the NTIN
        elif nhrn_ai is not None:
            nhrn = _digits(rng, nhrn_length)
        out.append((gtin, nhrn_ai, nhrn))
    return out


def _expiry(rng: random.Random) -> str:
    day = rng.randint(1, 28)
    year, month = rng.randint(2026, 2031), rng.randint(1, 12)
    if rng.random() < 0.15:
        day = 0  # "end of month", common on EU packs
    return f"{year % 100:02d}{month:02d}{day:02d}"


def _lot(rng: random.Random) -> str:
    lot = _alnum(rng, rng.choice((4, 5, 6, 6, 8, 10)))
    if rng.random() < 0.03:
        lot = lot[:2] + rng.choice("-/.") + lot[2:]
    return lot


def _serial(rng: random.Random) -> str:
    if rng.random() < 0.25:
        return _digits(rng, rng.choice((9, 12, 16, 20)))  # numeric serials (US practice)
    return _alnum(rng, rng.choice((8, 10, 12, 12, 12, 16, 20)))


def _encode(pairs: list[tuple[str, str]]) -> str:
    from packtrail.gs1.dictionary import AI_TABLE

    parts = []
    for i, (ai, data) in enumerate(pairs):
        parts.append(ai + data)
        if i < len(pairs) - 1 and not AI_TABLE[ai].predefined_length:
            parts.append(GS)
    return "".join(parts)


def make_strings(n: int = 100_000, seed: int = SEED) -> list[tuple[str, str, str]]:
    """``n`` strings as (kind, quirk, text); ``quirk`` is ``""`` for a clean string."""
    rng = random.Random(seed)
    products = _products(rng, 300)
    batches = []
    for _ in range(1500):
        gtin, nhrn_ai, nhrn = rng.choice(products)
        batches.append((gtin, nhrn_ai, nhrn, _lot(rng), _expiry(rng)))
    hosts = ("https://id.gs1.org", "https://dl.pharma-example.com", "https://example.com/pack")
    out: list[tuple[str, str, str]] = []
    for i in range(n):
        gtin, nhrn_ai, nhrn, lot, expiry = rng.choice(batches)
        serial = _serial(rng)
        kind = KINDS[i % 3]
        quirk = ""
        roll = rng.random()
        if roll < 0.002:
            quirk = "bad-check-digit"
            gtin = gtin[:13] + str((int(gtin[13]) + 1) % 10)
        elif roll < 0.004:
            quirk = "bad-date"
            expiry = expiry[:2] + "0230"
        if kind == "digital-link":
            if not quirk and roll < 0.01:
                quirk = "dl-gtin13-in-path"
            elif not quirk and roll < 0.016:
                quirk = "dl-qualifier-in-query"
            elif not quirk and roll < 0.026:
                quirk = "dl-uppercase-scheme"  # QR codes in alphanumeric mode: scheme and host upper-case
            base = "HTTPS://ID.GS1.ORG" if quirk == "dl-uppercase-scheme" else rng.choice(hosts)
            path_gtin = gtin[1:] if quirk == "dl-gtin13-in-path" else gtin
            query = [f"17={expiry}"]
            if nhrn_ai is not None and rng.random() < 0.3:
                query.append(f"{nhrn_ai}={nhrn}")
            if quirk == "dl-qualifier-in-query":
                path = f"/01/{path_gtin}/21/{quote(serial, safe='')}"
                query.insert(0, f"10={quote(lot, safe='')}")
            else:
                path = f"/01/{path_gtin}/10/{quote(lot, safe='')}/21/{quote(serial, safe='')}"
            out.append((kind, quirk, f"{base}{path}?{'&'.join(query)}"))
            continue
        variable = [("10", lot), ("21", serial)]
        if nhrn_ai is not None and rng.random() < 0.3:
            variable.append((nhrn_ai, nhrn))  # type: ignore[arg-type]
        rng.shuffle(variable)
        fixed = [("17", expiry)]
        if rng.random() < 0.5:
            pairs = [("01", gtin), *fixed, *variable]  # fixed-length first, as GS1 recommends
        else:
            rest = fixed + variable
            rng.shuffle(rest)
            pairs = [("01", gtin), *rest]
        if kind == "bracketed":
            out.append((kind, quirk, "".join(f"({ai}){data}" for ai, data in pairs)))
            continue
        text = "]d2" + _encode(pairs)
        if not quirk and roll < 0.012:
            quirk = "crlf"
            text += "\r\n"
        elif not quirk and roll < 0.018:
            # The GS after the lot lost (keyboard wedge without GS mapping): lot runs into serial.
            pairs = [("01", gtin), ("17", expiry), ("10", lot), ("21", serial)]
            text = "]d2" + "".join(ai + data for ai, data in pairs)
            quirk = "lost-gs"
        out.append((kind, quirk, text))
    return out


# ----------------------------------------------------------------------------------------- readers

Reader = Callable[[str], tuple[str | None, str | None, str | None, datetime.date | None]]


def packtrail_reader() -> tuple[Reader, str]:
    """Parse and read (GTIN, serial, lot, expiry date) with packtrail; the entry point's name."""
    import packtrail.gs1 as gs1
    from packtrail.gs1.digital_link import DigitalLink
    from packtrail.gs1.element_string import ElementString

    dispatch = getattr(gs1, "parse_barcode", None)
    if dispatch is not None:
        parse = dispatch
        name = "packtrail.gs1.parse_barcode"
    else:

        def parse(text: str) -> ElementString:
            if text[:4].lower() == "http":
                return DigitalLink.parse(text).element_string()
            return ElementString.parse(text)

        name = "ElementString.parse / DigitalLink.parse"

    def read(text: str) -> tuple[str | None, str | None, str | None, datetime.date | None]:
        es = parse(text)
        expiry = es.get("17")
        when = expiry.value if expiry is not None else None
        return es.raw("01"), es.raw("21"), es.raw("10"), when

    return read, name


def packtrail_direct_reader() -> tuple[Reader, str]:
    """Parse and read with packtrail's parsers called directly, without a dispatcher."""
    from packtrail.gs1.digital_link import DigitalLink
    from packtrail.gs1.element_string import ElementString

    from_uri = DigitalLink.parse_to_element_string
    parse = ElementString.parse

    def read(text: str) -> tuple[str | None, str | None, str | None, datetime.date | None]:
        es = from_uri(text.strip()) if text[:4] in ("http", "HTTP") else parse(text)
        expiry = es.get("17")
        when = expiry.value if expiry is not None else None
        return es.raw("01"), es.raw("21"), es.raw("10"), when  # type: ignore[return-value]

    return read, "ElementString.parse / DigitalLink.parse_to_element_string"


def packtrail_pairs(text: str) -> tuple[tuple[str, str], ...]:
    import packtrail.gs1 as gs1
    from packtrail.gs1.digital_link import DigitalLink
    from packtrail.gs1.element_string import ElementString

    dispatch = getattr(gs1, "parse_barcode", None)
    if dispatch is not None:
        return dispatch(text).pairs  # type: ignore[no-any-return]
    if text[:4].lower() == "http":
        return DigitalLink.parse(text).pairs()
    return ElementString.parse(text).pairs


class _Rejected(Exception):
    pass


def _biip_read_elements(es: Any) -> tuple[str | None, str | None, str | None, datetime.date | None]:
    gtin, serial, lot, expiry = es.get(ai="01"), es.get(ai="21"), es.get(ai="10"), es.get(ai="17")
    return (
        gtin.value if gtin is not None else None,
        serial.value if serial is not None else None,
        lot.value if lot is not None else None,
        expiry.date if expiry is not None else None,
    )


def biip_reader() -> tuple[Reader, str]:
    """Parse and read with ``biip.parse`` (``GS1Message.parse_hri`` for the bracketed form)."""
    import biip
    from biip.gs1_messages import GS1Message

    def elements(text: str) -> Any:
        if text[:1] == "(":
            return GS1Message.parse_hri(text).element_strings
        result = biip.parse(text)
        found = result.gs1_message or result.gs1_digital_link_uri
        if found is None:
            raise _Rejected(result.gs1_message_error or result.gs1_digital_link_uri_error)
        return found.element_strings

    def read(text: str) -> tuple[str | None, str | None, str | None, datetime.date | None]:
        return _biip_read_elements(elements(text))

    read.elements = elements  # type: ignore[attr-defined]
    return read, f"biip.parse (biip {_version('biip')}; GS1Message.parse_hri for the bracketed form)"


def biip_direct_reader() -> tuple[Reader, str]:
    """Parse and read with biip's parsers called directly, without its dispatcher."""
    from biip.gs1_digital_link_uris import GS1DigitalLinkURI
    from biip.gs1_messages import GS1Message

    def read(text: str) -> tuple[str | None, str | None, str | None, datetime.date | None]:
        text = text.strip()
        if text[:1] == "(":
            es = GS1Message.parse_hri(text).element_strings
        elif text[:1] == "]":
            es = GS1Message.parse(text[3:]).element_strings
        else:
            es = GS1DigitalLinkURI.parse(text).element_strings
        return _biip_read_elements(es)

    return read, "biip GS1Message.parse / parse_hri / GS1DigitalLinkURI.parse"


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


# ----------------------------------------------------------------------------------------- timing


def _run_once(read: Reader, texts: list[str], errors: tuple[type[BaseException], ...]) -> tuple[float, int]:
    rejected = 0
    start = time.perf_counter()
    for text in texts:
        try:
            read(text)
        except errors:
            rejected += 1
    return time.perf_counter() - start, rejected


def _errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    from biip import ParseError

    from packtrail.gs1.errors import GS1Error

    return (GS1Error,), (ParseError, _Rejected)


def time_readers(
    readers: dict[str, tuple[Reader, tuple[type[BaseException], ...]]],
    items: list[tuple[str, str, str]],
    repeat: int,
    chunk: int = 4000,
) -> dict[str, dict[str, Any]]:
    """Per reader: the rate on the whole mix and per kind, median over ``repeat`` runs.

    The readers take turns on chunks of ``chunk`` strings (the order of turns alternating),
    so that a burst of load on the shared machine falls on both sides alike. Chunks are long
    enough for each side to run warm, as it would in a scanner loop, rather than start each
    turn with caches full of the other library.
    """
    by_kind = {kind: [text for k, _, text in items if k == kind] for kind in KINDS}
    names = list(readers)
    samples: dict[str, dict[str, list[float]]] = {name: {kind: [] for kind in KINDS} for name in names}
    rejected: dict[str, int] = dict.fromkeys(names, 0)
    for run in range(repeat):
        seconds = {name: dict.fromkeys(KINDS, 0.0) for name in names}
        turn = 0
        for kind, texts in by_kind.items():
            for start in range(0, len(texts), chunk):
                part = texts[start : start + chunk]
                order = names if turn % 2 == 0 else names[::-1]
                turn += 1
                for name in order:
                    read, errors = readers[name]
                    took, bad = _run_once(read, part, errors)
                    seconds[name][kind] += took
                    if run == 0:
                        rejected[name] += bad
        for name in names:
            for kind in KINDS:
                samples[name][kind].append(seconds[name][kind])
    out: dict[str, dict[str, Any]] = {}
    for name, per_kind in samples.items():
        medians = {kind: statistics.median(values) for kind, values in per_kind.items()}
        runs = [sum(per_kind[kind][i] for kind in KINDS) for i in range(repeat)]
        out[name] = {
            "per_second": len(items) / statistics.median(runs),
            "per_second_runs": [round(len(items) / r) for r in runs],
            "per_second_by_kind": {kind: len(by_kind[kind]) / medians[kind] for kind in KINDS},
            "rejected": rejected[name],
        }
    return out


# ----------------------------------------------------------------------------------------- comparison


def _classify(quirk: str, ours: Any, theirs: Any) -> str:
    if quirk == "lost-gs":
        return "lost-gs-too-long" if isinstance(ours, Exception) else "lost-gs-fits"
    return quirk or "unclassified"


def compare(items: list[tuple[str, str, str]]) -> dict[str, Any]:
    """Parse every string with both libraries; group the strings they disagree on."""
    from packtrail.gs1.errors import GS1Error

    read, _ = biip_reader()
    biip_elements = read.elements  # type: ignore[attr-defined]
    from biip import ParseError

    agree = both_reject = 0
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for kind, quirk, text in items:
        ours: Any
        theirs: Any
        try:
            ours = dict(packtrail_pairs(text))
        except GS1Error as exc:
            ours = exc
        try:
            theirs = {}
            for element in biip_elements(text):
                theirs.setdefault(element.ai.ai, element.value)
        except (ParseError, _Rejected) as exc:
            theirs = exc
        ours_ok, theirs_ok = not isinstance(ours, Exception), not isinstance(theirs, Exception)
        if ours_ok and theirs_ok and ours == theirs:
            agree += 1
            continue
        if not ours_ok and not theirs_ok:
            both_reject += 1
            continue
        if ours_ok and theirs_ok:
            what = "both accept, different elements"
        elif ours_ok:
            what = "only packtrail accepts"
        else:
            what = "only biip accepts"
        label = _classify(quirk, ours, theirs)
        group = groups.setdefault((label, what), {"count": 0, "kinds": Counter(), "example": None})
        group["count"] += 1
        group["kinds"][kind] += 1
        if group["example"] is None:
            group["example"] = {
                "input": text,
                "packtrail": str(ours) if not ours_ok else ours,
                "biip": str(theirs) if not theirs_ok else theirs,
            }
    disagreements = [
        {
            "kind": label,
            "what": what,
            "count": g["count"],
            "forms": dict(g["kinds"]),
            "dictionary_supports": VERDICTS.get(label, "unclassified: review the example"),
            "example": g["example"],
        }
        for (label, what), g in sorted(groups.items(), key=lambda kv: -kv[1]["count"])
    ]
    return {
        "strings": len(items),
        "same_elements": agree,
        "both_reject": both_reject,
        "disagreements": disagreements,
    }


# ----------------------------------------------------------------------------------------- entry points


def run(n: int = 100_000, repeat: int = 3) -> dict[str, Any]:
    """Build ``n`` strings, time both libraries and compare their results."""
    items = make_strings(n)
    ours_errors, biip_errors = _errors()
    ours, ours_name = packtrail_reader()
    theirs, theirs_name = biip_reader()
    direct, direct_name = biip_direct_reader()
    ours_direct, ours_direct_name = packtrail_direct_reader()
    readers = {
        "packtrail": (ours, ours_errors),
        "packtrail-direct": (ours_direct, ours_errors),
        "biip": (theirs, biip_errors),
        "biip-direct": (direct, biip_errors),
    }
    timings = time_readers(readers, items, repeat)
    quirks = Counter(quirk for _, quirk, _ in items if quirk)
    return {
        "benchmark": "GS1 barcode text: parse + read GTIN, serial, lot, expiry",
        "n": n,
        "repeat": repeat,
        "seed": SEED,
        "mix": dict(Counter(kind for kind, _, _ in items)),
        "quirks": dict(quirks),
        "packtrail_entry": ours_name,
        "packtrail_direct_entry": ours_direct_name,
        "biip_entry": theirs_name,
        "biip_direct_entry": direct_name,
        "timings": timings,
        "ratio_vs_biip": timings["packtrail"]["per_second"] / timings["biip"]["per_second"],
        "ratio_vs_biip_direct": timings["packtrail"]["per_second"] / timings["biip-direct"]["per_second"],
        "ratio_direct_vs_biip": timings["packtrail-direct"]["per_second"] / timings["biip"]["per_second"],
        "ratio_direct_vs_biip_direct": (
            timings["packtrail-direct"]["per_second"] / timings["biip-direct"]["per_second"]
        ),
        "ratio_by_kind": {
            kind: timings["packtrail"]["per_second_by_kind"][kind]
            / timings["biip"]["per_second_by_kind"][kind]
            for kind in KINDS
        },
        "comparison": compare(items),
    }


def render_gs1(result: dict[str, Any]) -> str:
    t = result["timings"]
    lines = [
        f"{result['benchmark']}. {result['n']:,} strings (seed {result['seed']}): "
        + ", ".join(f"{count:,} {kind}" for kind, count in result["mix"].items())
        + "; field quirks: "
        + ", ".join(f"{count} {quirk}" for quirk, count in sorted(result["quirks"].items()))
        + f". Median of {result['repeat']} interleaved runs.",
        "",
        "| reader | strings/s | ]d2 | bracketed | Digital Link | rejected |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    names = {
        "packtrail": result["packtrail_entry"],
        "packtrail-direct": result["packtrail_direct_entry"],
        "biip": result["biip_entry"],
        "biip-direct": result["biip_direct_entry"],
    }
    for key, figures in t.items():
        by_kind = figures["per_second_by_kind"]
        lines.append(
            f"| {key}: `{names[key]}` | {figures['per_second']:,.0f} | "
            + " | ".join(f"{by_kind[kind]:,.0f}" for kind in KINDS)
            + f" | {figures['rejected']:,} |"
        )
    ratio = result["ratio_by_kind"]
    lines += [
        "",
        f"**packtrail / biip: {result['ratio_vs_biip']:.1f}x** on the mix "
        f"(]d2 {ratio[']d2']:.1f}x, bracketed {ratio['bracketed']:.1f}x, Digital Link {ratio['digital-link']:.1f}x); "
        f"{result['ratio_vs_biip_direct']:.1f}x against biip's parsers called directly. "
        f"packtrail without a dispatcher: {result['ratio_direct_vs_biip']:.1f}x biip.parse, "
        f"{result['ratio_direct_vs_biip_direct']:.1f}x biip's parsers called directly.",
        "",
    ]
    comparison = result["comparison"]
    lines.append(
        f"Comparison of all {comparison['strings']:,} strings: {comparison['same_elements']:,} give the same "
        f"elements on both sides, {comparison['both_reject']:,} are rejected by both, "
        f"{sum(d['count'] for d in comparison['disagreements']):,} disagree:"
    )
    lines.append("")
    if comparison["disagreements"]:
        lines += ["| kind | what | strings | dictionary supports | example |", "|---|---|---:|---|---|"]
        for d in comparison["disagreements"]:
            example = d["example"]
            text = json.dumps(example["input"])
            forms = ", ".join(f"{count:,} {form}" for form, count in sorted(d["forms"].items()))
            lines.append(
                f"| {d['kind']} | {d['what']} | {d['count']:,} ({forms}) | {d['dictionary_supports']} | "
                f"`{text}` packtrail: {_cell(example['packtrail'])}; biip: {_cell(example['biip'])} |"
            )
    return "\n".join(lines)


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("|", "\\|").replace("\n", " ")


def render_generic(result: dict[str, Any]) -> str:
    lines = ["| figure | value |", "|---|---|"]
    for key, value in _flatten(result):
        if isinstance(value, float):
            value = f"{value:,.2f}"
        lines.append(f"| {key} | {_cell(value)} |")
    return "\n".join(lines)


def _flatten(value: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def _other_benchmarks() -> dict[str, tuple[str, dict[str, Any]]]:
    """Figures of the sibling benchmarks that exist (imported defensively), each run at its
    own default size (rendering DataMatrix images is far slower than parsing text)."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for module_name, title in (
        ("bench_epc", "EPC URIs (bench_epc)"),
        ("bench_datamatrix", "GS1 DataMatrix (bench_datamatrix)"),
    ):
        try:
            module = importlib.import_module(module_name)
            runner = getattr(module, "run")  # noqa: B009
        except Exception as exc:  # a sibling being written right now must not stop this one
            print(f"skipping {module_name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        try:
            out[module_name] = (title, runner())  # each with its own default size
        except Exception as exc:
            print(f"{module_name}.run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--n", type=int, default=100_000, help="strings to parse (default 100,000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per side; the median is kept")
    parser.add_argument("--write", type=Path, help="update this Markdown file (e.g. bench/RESULTS.md)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--only", action="store_true", help="run this benchmark only, not bench_epc etc.")
    args = parser.parse_args(argv)
    result = run(args.n, args.repeat)
    others = {} if args.only else _other_benchmarks()
    if args.json:
        print(
            json.dumps({"bench_gs1": result, **{k: v for k, (_, v) in others.items()}}, indent=2, default=str)
        )
    else:
        print(render_gs1(result))
        for _, (title, figures) in others.items():
            print(f"\n## {title}\n\n{render_generic(figures)}")
    if args.write:
        command = " ".join(["python bench/bench_gs1.py", *(argv if argv is not None else sys.argv[1:])])
        sections = {"bench_gs1": ("GS1 barcode text: packtrail vs biip (bench_gs1)", render_gs1(result))}
        for key, (title, figures) in others.items():
            sections[key] = (title, render_generic(figures))
        write_results(args.write, sections, command)


if __name__ == "__main__":
    main()
