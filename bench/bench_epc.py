"""Benchmark: GTIN + serial <-> SGTIN URI, packtrail against epcpy.

Builds pharma-like packs: a few hundred GTINs whose GS1 Company Prefix the vendored GS1
list knows (US NDC-based 03..., German 40-44, French 34009 CIP, Italian 80-83, ...), and
random alphanumeric serials as EU FMD / DSCSA packs carry. Both libraries convert the
same data in the same process; their outputs are compared one by one.

epcpy needs the company prefix length as an argument, so it gets the lengths looked up
beforehand (untimed); packtrail is timed both ways: looking the length up itself (its
normal use) and with the length given.

    .venv/bin/python bench/bench_epc.py            # 100,000 pairs
    .venv/bin/python bench/bench_epc.py -n 20000 --json

``run(n)`` returns the figures as a dict for a combined bench runner.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from typing import Any

from packtrail.gs1 import epc, gcp
from packtrail.gs1.checkdigit import gs1_check_digit

# Starts of GTIN-13 forms where pharma packs are common: US NDC-based (03), France CIP
# (34009), Germany (40-43), Italy (80-81), Spain (84), UK (50), Belgium (54), Netherlands
# (87). Switzerland (76x) is missing from the GS1 list, so it is not used.
PHARMA_PREFIXES = ("03", "34009", "40", "41", "42", "43", "80", "81", "84", "50", "54", "87")
ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def _pick_gtins(count: int, rng: random.Random) -> list[tuple[str, int]]:
    """``count`` GTIN-14s (indicator 0) with a known company prefix length, and that length."""
    table = gcp._load()
    candidates = sorted(
        (prefix, length)
        for prefix, length in table.items()
        if 7 <= length <= 10 and prefix.startswith(PHARMA_PREFIXES)
    )
    gtins: list[tuple[str, int]] = []
    seen: set[str] = set()
    while len(gtins) < count:
        prefix, length = rng.choice(candidates)
        body = prefix + "".join(rng.choice("0123456789") for _ in range(12 - len(prefix)))
        gtin = "0" + body + gs1_check_digit("0" + body)
        if gtin in seen:
            continue
        assert gcp.company_prefix_length(gtin) == length, gtin
        seen.add(gtin)
        gtins.append((gtin, length))
    return gtins


def make_pairs(n: int, gtin_count: int = 300, seed: int = 2025) -> list[tuple[str, str, int]]:
    """``n`` (GTIN-14, serial, company prefix length) triples; serials of 8 to 20 characters."""
    rng = random.Random(seed)
    gtins = _pick_gtins(gtin_count, rng)
    out = []
    for _ in range(n):
        gtin, length = rng.choice(gtins)
        serial = "".join(rng.choice(ALNUM) for _ in range(rng.choice((8, 10, 12, 12, 12, 16, 20))))
        out.append((gtin, serial, length))
    return out


def _best(
    fn: Callable[[], list[Any]], repeat: int, before: Callable[[], None] | None = None
) -> tuple[float, list[Any]]:
    best = float("inf")
    result: list[Any] = []
    for _ in range(repeat):
        if before:
            before()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _cold() -> None:
    # Time cold caches too: every run starts with empty per-GTIN caches (the GS1 list stays loaded).
    epc._clear_caches()
    gcp._lookup.cache_clear()


def run(n: int = 100_000, repeat: int = 3) -> dict[str, Any]:
    """Time both directions for both libraries on ``n`` pairs; return rates, ratios, disagreements."""
    from epcpy.epc_schemes.sgtin import SGTIN as EpcpySGTIN

    start = time.perf_counter()
    gcp._table = None
    gcp._load()
    load_seconds = time.perf_counter() - start

    data = make_pairs(n)
    to_uri = epc.sgtin_from_gtin_serial
    from_uri = epc.gtin_serial_from_sgtin

    t_ours, ours = _best(lambda: [to_uri(g, s) for g, s, _ in data], repeat, _cold)
    t_ours_len, ours_len = _best(lambda: [to_uri(g, s, n) for g, s, n in data], repeat, _cold)
    t_theirs, theirs = _best(
        lambda: [EpcpySGTIN.from_gtin_plus_serial(g, s, n).epc_uri for g, s, n in data], repeat
    )

    def epcpy_back(uri: str) -> tuple[str, str]:
        sgtin = EpcpySGTIN(uri)
        return sgtin.gtin(), sgtin.gs1_element_string()[22:]  # "(01)" + 14 digits + "(21)"

    t_back, back = _best(lambda: [from_uri(u) for u in ours], repeat, _cold)
    t_back_theirs, back_theirs = _best(lambda: [epcpy_back(u) for u in theirs], repeat)

    disagreements: list[dict[str, str]] = []
    for (gtin, serial, _), a, a_len, b, ra, rb in zip(
        data, ours, ours_len, theirs, back, back_theirs, strict=True
    ):
        if not (a == a_len == b and ra == rb == (gtin, serial)):
            disagreements.append(
                {"gtin": gtin, "serial": serial, "packtrail": a, "epcpy": b, "back": repr((ra, rb))}
            )

    return {
        "n": n,
        "gtins": len({g for g, _, _ in data}),
        "gcp_list_load_s": round(load_seconds, 3),
        "to_uri_packtrail_per_s": round(n / t_ours),
        "to_uri_packtrail_given_length_per_s": round(n / t_ours_len),
        "to_uri_epcpy_per_s": round(n / t_theirs),
        "to_uri_ratio": round(t_theirs / t_ours, 1),
        "from_uri_packtrail_per_s": round(n / t_back),
        "from_uri_epcpy_per_s": round(n / t_back_theirs),
        "from_uri_ratio": round(t_back_theirs / t_back, 1),
        "disagreements": len(disagreements),
        "disagreement_examples": disagreements[:10],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100_000, help="number of (GTIN, serial) pairs")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = run(args.n, args.repeat)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"{figures['n']:,} pairs over {figures['gtins']} GTINs", end=" ")
    print(f"(GS1 Company Prefix list loaded in {figures['gcp_list_load_s']} s)")
    print(f"{'':34}{'packtrail':>12}{'epcpy':>12}{'ratio':>8}")
    print(
        f"{'GTIN+serial -> SGTIN URI  (/s)':34}{figures['to_uri_packtrail_per_s']:>12,}"
        f"{figures['to_uri_epcpy_per_s']:>12,}{figures['to_uri_ratio']:>7}x"
    )
    print(f"{'  same, length given      (/s)':34}{figures['to_uri_packtrail_given_length_per_s']:>12,}")
    print(
        f"{'SGTIN URI -> GTIN+serial  (/s)':34}{figures['from_uri_packtrail_per_s']:>12,}"
        f"{figures['from_uri_epcpy_per_s']:>12,}{figures['from_uri_ratio']:>7}x"
    )
    print(f"disagreements: {figures['disagreements']}")
    for example in figures["disagreement_examples"]:
        print("  ", example)


if __name__ == "__main__":
    main()
