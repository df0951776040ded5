"""GS1 Company Prefix lengths.

Nothing inside a GS1 key marks where its GS1 Company Prefix ends: a GTIN of
company prefix ``9506000`` and one of ``95060001`` look alike. EPC URIs, GS1
Digital Link compression and company-level checks need the split, so GS1
publishes a list of prefix ranges with the company prefix length used in each.
This module answers from a copy of that list (2025-10-11, see
``data/NOTICE.gcp-length.md``), loaded on first use.

>>> from packtrail.gs1.gcp import company_prefix_length, company_prefix_length_at
>>> company_prefix_length("80614141123458")  # GTIN-14: the indicator digit is skipped
7
>>> company_prefix_length("7044610873466")  # GTIN-13
6

A length of 0 means that no GS1 Company Prefix applies, e.g. to
restricted-circulation numbers starting 20-29, which a company cannot register:

>>> company_prefix_length("2001234567893")
0

``None`` means the list does not know the range: an answer, not an error.

Keys other than GTINs say where their company prefix starts, as the GS1 syntax
dictionary's ``gcppos1``/``gcppos2`` do: position 1 for a GLN, GRAI, GIAI or
GSRN, position 2 for an SSCC (after its extension digit):

>>> company_prefix_length_at("106141412345678908", position=2)  # SSCC
7
>>> company_prefix_length_at("0614141123452", position=1)  # GLN
7

Input that is not a key raises :class:`~packtrail.gs1.errors.GS1Error`:

>>> company_prefix_length("061414112")
Traceback (most recent call last):
...
packtrail.gs1.errors.GS1Error: expected a GTIN of 8, 12, 13 or 14 digits, found 9 characters (in '061414112')
"""

from __future__ import annotations

import functools
import lzma
import threading
from importlib import resources

from packtrail.gs1.errors import GS1Error

__all__ = [
    "GCP_LIST_DATE",
    "company_prefix_length",
    "company_prefix_length_at",
]

GCP_LIST_DATE = "2025-10-11"
"""Date of the vendored GS1 Company Prefix length list."""

_DATA_FILE = f"gcp-length-{GCP_LIST_DATE}.csv.xz"
_HEADER = "prefix,gcp_length"
_GTIN_LENGTHS = (8, 12, 13, 14)
_MAX_PREFIX = 12
"""No listed prefix is longer than 12 digits (a GTIN-13 without its check digit)."""

_table: dict[str, int] | None = None
_prefix_lengths: tuple[int, ...] = ()
_load_lock = threading.Lock()


def _load() -> dict[str, int]:
    """Read the list into ``{prefix: length}`` once; later calls return the same dict."""
    global _table, _prefix_lengths
    with _load_lock:
        if _table is not None:
            return _table
        raw = resources.files("packtrail.gs1").joinpath("data", _DATA_FILE).read_bytes()
        lines = lzma.decompress(raw).decode("ascii").splitlines()
        if not lines or lines[0] != _HEADER:
            raise RuntimeError(f"{_DATA_FILE}: expected the header {_HEADER!r}")
        ints = {str(n): n for n in range(_MAX_PREFIX + 1)}
        table: dict[str, int] = {}
        for line in lines[1:]:
            prefix, _, length = line.partition(",")
            table[prefix] = ints[length]
        # The list is prefix-free (no listed prefix starts another), so the first hit,
        # tried longest first, is the longest match.
        _prefix_lengths = tuple(sorted({len(p) for p in table}, reverse=True))
        _table = table
        return table


@functools.lru_cache(maxsize=1 << 16)
def _lookup(digits: str) -> int | None:
    """Length for the longest listed prefix of ``digits`` (at most 12 digits), or None."""
    table = _table if _table is not None else _load()
    size = len(digits)
    for n in _prefix_lengths:
        if n <= size:
            length = table.get(digits[:n])
            if length is not None:
                return length
    return None


def company_prefix_length(gtin: str) -> int | None:
    """Length of the GS1 Company Prefix of a GTIN-8, -12, -13 or -14.

    The GTIN is looked up in its GTIN-13 form: a GTIN-14 loses its indicator digit,
    a GTIN-12 or GTIN-8 is left-padded with zeros. The check digit is not verified.
    Returns 0 when no company prefix applies, ``None`` when the range is not listed.
    """
    size = len(gtin)
    if size not in _GTIN_LENGTHS or not (gtin.isascii() and gtin.isdigit()):
        if size in _GTIN_LENGTHS:
            reason = "expected a GTIN of digits only"
        else:
            reason = f"expected a GTIN of 8, 12, 13 or 14 digits, found {size} characters"
        raise GS1Error(reason, value=gtin)
    if size == 14:
        return _lookup(gtin[1:13])
    return _lookup(gtin.rjust(13, "0")[:12])


def company_prefix_length_at(key: str, position: int = 1) -> int | None:
    """Length of the GS1 Company Prefix that starts at ``position`` (1 or 2) in ``key``.

    Position 1 suits a GLN, GRAI (without its leading zero), GIAI, GSRN, GDTI...;
    position 2 an SSCC (after the extension digit) or a GTIN-14 (after the indicator).
    Only the digits from ``position`` on are read (at most 12), so a GIAI's
    alphanumeric asset reference may follow. Returns 0 when no company prefix
    applies, ``None`` when the range is not listed.
    """
    if position not in (1, 2):
        raise GS1Error(f"a company prefix starts at position 1 or 2, not {position}")
    start = position - 1
    end = start
    limit = min(len(key), start + _MAX_PREFIX)
    while end < limit and "0" <= key[end] <= "9":
        end += 1
    if end == start:
        found = repr(key[start]) if start < len(key) else "the end of the key"
        raise GS1Error(
            f"expected the company prefix digits at position {position}, found {found}",
            position=start,
            value=key,
        )
    return _lookup(key[start:end])
