"""Content checks ("linters") for the components of GS1 element strings.

The GS1 Barcode Syntax Dictionary describes each AI's data as components such as
``N14,csum,gcppos2`` or ``N6,yymmd0``: a type and length, then the names of the
linters that check the content. The element-string parser checks length and character
set itself; the linters here check what those cannot: check digits, dates that exist,
code lists, coupon structures.

Each linter takes one component's text and returns ``None`` when it is valid, or the
reason in words a packaging engineer understands:

>>> from packtrail.gs1.linters import LINTERS, gs1_date, lint
>>> lint("csum", "09506000134352") is None
True
>>> lint("csum", "09506000134353")
'check digit should be 2, found 3'
>>> lint("yymmd0", "240132")
'day 32 does not exist in 2024-01 (expected 01-31, or 00 for end of month)'
>>> LINTERS["iso3166alpha2"]("XK")
"'XK' is not an ISO 3166-1 alpha-2 country code"

Character positions in reasons count from 1 within the component. An unknown linter
name is a programming error and raises :class:`ValueError`:

>>> lint("nosuchlinter", "1")
Traceback (most recent call last):
...
ValueError: unknown GS1 linter 'nosuchlinter'

Six-digit dates (YYMMDD) pick their century with the GS1 50-year window (GS1 General
Specifications 7.12): the year lies from 49 years before to 50 years after the
current year. Day ``00`` means the last day of the month where the AI allows it.
:func:`gs1_date` turns such a date into a :class:`datetime.date`:

>>> import datetime
>>> gs1_date("240200", today=datetime.date(2026, 5, 1))
datetime.date(2024, 2, 29)
>>> gs1_date("770101", today=datetime.date(2026, 5, 1))
datetime.date(1977, 1, 1)
>>> gs1_date("230229", today=datetime.date(2026, 5, 1))
Traceback (most recent call last):
...
packtrail.gs1.errors.GS1Error: day 29 does not exist in 2023-02 (expected 01-28, or 00 for end of month)

The rules follow GS1's reference linters (gs1/gs1-syntax-engine, ``src/c-lib/syntax/lint_*.c``,
Apache-2.0), read to get the semantics right; no code was copied. The code lists are
data files in ``data/linter-*.txt`` (sources in ``data/NOTICE.linters.md``).
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from packtrail.gs1.checkdigit import CSET82, check_character_pair, gs1_check_digit
from packtrail.gs1.errors import GS1Error

__all__ = [
    "LINTERS",
    "Linter",
    "dictionary_linter_names",
    "gs1_date",
    "lint",
]

Linter = Callable[[str], str | None]
"""Takes one component's text; returns ``None`` when valid, else the reason."""

_DATA = Path(__file__).parent / "data"

# --------------------------------------------------------------------------- helpers


def _load_codes(name: str) -> frozenset[str]:
    """Read a code list: one code per line, ``#`` starts a comment line."""
    text = (_DATA / name).read_text(encoding="utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )


_ISO3166_NUMERIC = _load_codes("linter-iso3166-numeric.txt")
_ISO3166_ALPHA2 = _load_codes("linter-iso3166-alpha2.txt")
_ISO4217_NUMERIC = _load_codes("linter-iso4217-numeric.txt")
_PACKAGE_TYPES = _load_codes("linter-packagetype.txt")
_MEDIA_TYPES = _load_codes("linter-mediatype.txt")


def _is_digits(text: str) -> bool:
    """True when ``text`` is non-empty and all ASCII digits (``str.isdigit`` alone accepts '²' and '٣')."""
    return text.isascii() and text.isdigit()


def _non_digit(text: str) -> str | None:
    """The reason when ``text`` holds a character other than 0-9 (empty text passes)."""
    if not text or _is_digits(text):
        return None
    for i, ch in enumerate(text):
        if not "0" <= ch <= "9":
            return f"expected only digits, found {ch!r} at character {i + 1}"
    return None  # pragma: no cover - unreachable


def _chars(n: int) -> str:
    return "1 character" if n == 1 else f"{n} characters"


# --------------------------------------------------------------------------- dates

_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
"""Days per month in a common year; index 0 unused. February gains a day in leap years."""


_TWO_DIGITS = {f"{i:02d}": i for i in range(100)}
"""'00'..'99' to their values: validates and converts two ASCII digits in one lookup."""
_MMDD_DAY0 = frozenset(f"{m:02d}{d:02d}" for m in range(1, 13) for d in range(_DAYS_IN_MONTH[m] + 1))
"""MMDD that exist in every year, with DD=00 allowed (29 February is left to the slow path)."""
_MMDD = frozenset(mmdd for mmdd in _MMDD_DAY0 if not mmdd.endswith("00"))
"""MMDD that exist in every year, DD=00 not allowed."""


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in(year: int, month: int) -> int:
    if month == 2 and _is_leap(year):
        return 29
    return _DAYS_IN_MONTH[month]


@lru_cache(maxsize=8)
def _years_for(current_year: int) -> tuple[int, ...]:
    """Full year for each two-digit year 00-99, by the GS1 50-year window around ``current_year``.

    GS1 General Specifications 7.12: a YY 51 to 99 years ahead of the current year's YY
    belongs to the previous century, one 50 to 99 years behind to the next century.
    """
    cy = current_year % 100
    century = current_year - cy
    years = []
    for yy in range(100):
        diff = yy - cy
        if diff >= 51:
            years.append(century - 100 + yy)
        elif diff <= -50:
            years.append(century + 100 + yy)
        else:
            years.append(century + yy)
    return tuple(years)


_window: tuple[float, float, tuple[int, ...]] = (0.0, -1.0, ())
"""(start, end, years): the window table stays good while start <= time.time() < end."""


def _current_years() -> tuple[int, ...]:
    """The window table for the current (local) year; one clock read per call."""
    global _window
    now = time.time()
    start, end, years = _window
    if start <= now < end:
        return years
    year = datetime.datetime.fromtimestamp(now).year
    years = _years_for(year)
    _window = (
        datetime.datetime(year, 1, 1).timestamp(),
        datetime.datetime(year + 1, 1, 1).timestamp() if year < 9999 else float("inf"),
        years,
    )
    return years


def _yymmdd_reason(text: str, day_zero: bool, years: tuple[int, ...] | None = None) -> str | None:
    """Why ``text`` is not a YYMMDD date (YYMM00 too when ``day_zero``), or None.

    ``years`` is the window table; None means the current year's, looked up only when
    the century matters (29 February of year 00) or for the wording of a reason.
    """
    if len(text) != 6:
        return f"expected a date of 6 digits (YYMMDD), found {_chars(len(text))}"
    if not _is_digits(text):
        return _non_digit(text)
    n = int(text)
    yy, mm, dd = n // 10000, n // 100 % 100, n % 100
    if not 1 <= mm <= 12:
        return f"month {mm:02d} does not exist (expected 01-12)"
    if 0 < dd <= _DAYS_IN_MONTH[mm] or (dd == 0 and day_zero):
        return None
    if mm == 2 and dd == 29 and yy % 4 == 0:
        if yy != 0:
            return None  # YY divisible by 4 and not 00: a leap year in any century
        if _is_leap((years or _current_years())[0]):
            return None
    year = (years or _current_years())[yy]
    if dd == 0:
        return f"day 00 is not allowed here (expected 01-{_days_in(year, mm)})"
    return _bad_day(dd, year, mm, day_zero)


def _bad_day(dd: int, year: int, mm: int, day_zero: bool) -> str:
    tail = ", or 00 for end of month" if day_zero else ""
    return f"day {dd:02d} does not exist in {year:04d}-{mm:02d} (expected 01-{_days_in(year, mm)}{tail})"


def _yymmd0(text: str) -> str | None:
    """YYMMDD date; day 00 means the last day of the month."""
    if len(text) == 6 and text[2:] in _MMDD_DAY0 and text[:2] in _TWO_DIGITS:
        return None  # fast path: a day that exists in every year
    return _yymmdd_reason(text, True)


def _yymmdd(text: str) -> str | None:
    """YYMMDD date; day 00 is not allowed."""
    if len(text) == 6 and text[2:] in _MMDD and text[:2] in _TWO_DIGITS:
        return None
    return _yymmdd_reason(text, False)


def _yyyymmdd(text: str) -> str | None:
    """YYYYMMDD date with a four-digit year; day 00 is not allowed."""
    if len(text) != 8:
        return f"expected a date of 8 digits (YYYYMMDD), found {_chars(len(text))}"
    if not _is_digits(text):
        return _non_digit(text)
    n = int(text)
    year, mm, dd = n // 10000, n // 100 % 100, n % 100
    if not 1 <= mm <= 12:
        return f"month {mm:02d} does not exist (expected 01-12)"
    if 1 <= dd <= _days_in(year, mm):
        return None
    if dd == 0:
        return f"day 00 is not allowed here (expected 01-{_days_in(year, mm)})"
    return _bad_day(dd, year, mm, False)


def gs1_date(yymmdd: str, *, today: datetime.date | None = None) -> datetime.date:
    """The date a GS1 YYMMDD field stands for, century by the GS1 50-year window.

    Day ``00`` gives the last day of the month. ``today`` fixes the reference date of
    the window (default: the local date now). Raises :class:`~packtrail.gs1.errors.GS1Error`
    (a :class:`ValueError`) with the reason when the date does not exist.
    """
    years = _years_for(today.year) if today is not None else _current_years()
    yy = _TWO_DIGITS.get(yymmdd[:2])
    if len(yymmdd) == 6 and yy is not None and yymmdd[2:] in _MMDD_DAY0:
        year, mm, dd = years[yy], _TWO_DIGITS[yymmdd[2:4]], _TWO_DIGITS[yymmdd[4:]]
    else:
        reason = _yymmdd_reason(yymmdd, True, years)
        if reason is not None:
            raise GS1Error(reason)
        n = int(yymmdd)
        year, mm, dd = years[n // 10000], n // 100 % 100, n % 100
    try:
        return datetime.date(year, mm, dd or _days_in(year, mm))
    except ValueError:  # only for a ``today`` near year 1 or 9999
        raise GS1Error(f"year {year} is outside the dates Python can represent (1-9999)") from None


# --------------------------------------------------------------------------- times


def _two_digit_range(text: str, what: str, high: int) -> str | None:
    if len(text) != 2:
        return f"expected 2 digits for the {what}, found {_chars(len(text))}"
    if not _is_digits(text):
        return _non_digit(text)
    if int(text) > high:
        return f"{what} {text} does not exist (expected 00-{high})"
    return None


def _hh(text: str) -> str | None:
    """Hour of the day, 00-23."""
    return _two_digit_range(text, "hour", 23)


def _mi(text: str) -> str | None:
    """Minute of the hour, 00-59."""
    return _two_digit_range(text, "minute", 59)


def _ss(text: str) -> str | None:
    """Second of the minute, 00-59."""
    return _two_digit_range(text, "second", 59)


def _hhmi(text: str) -> str | None:
    """Time of day as HHMI (hours 00-23, minutes 00-59)."""
    if len(text) != 4:
        return f"expected a time of 4 digits (HHMI), found {_chars(len(text))}"
    return _hh(text[:2]) or _mi(text[2:])


# --------------------------------------------------------------------------- check characters


def _csum(text: str) -> str | None:
    """GS1 mod-10 check digit over the whole component (the last digit)."""
    if not text:
        return "expected digits ending in a check digit, found nothing"
    if not _is_digits(text):
        return _non_digit(text)
    expected = gs1_check_digit(text[:-1])
    if expected != text[-1]:
        return f"check digit should be {expected}, found {text[-1]}"
    return None


_CSET82_CHARS = frozenset(CSET82)
_MAX_PAIR_DATA = 23
"""Characters a check character pair covers in :func:`check_character_pair`; AIs 8013/8014 use at most 23."""


def _csumalpha(text: str) -> str | None:
    """GS1 check character pair (GMN, MUDI): the last two characters check the rest."""
    n = len(text)
    if n < 2:
        return f"expected data ending in a 2-character check pair, found {_chars(n)}"
    if n - 2 > _MAX_PAIR_DATA:
        return f"a check character pair covers at most {_MAX_PAIR_DATA} characters before it, found {n - 2}"
    try:
        expected = check_character_pair(text[:-2])
    except ValueError:
        i = next(i for i, ch in enumerate(text) if ch not in _CSET82_CHARS)
        return f"{text[i]!r} at character {i + 1} is not in GS1 character set 82"
    if text[-2:] != expected:
        return f"check character pair should be {expected!r}, found {text[-2:]!r}"
    return None


# --------------------------------------------------------------------------- company prefix

_GCP_MIN_LENGTH = 4
"""The shortest GS1 Company Prefix has 4 digits (as in the GS1 reference linter)."""


def _gcp_reason(text: str, start: int) -> str | None:
    head = text[start : start + _GCP_MIN_LENGTH]
    if len(head) == _GCP_MIN_LENGTH and head.isascii() and head.isdigit():
        return None
    where = "at the start" if start == 0 else f"from character {start + 1}"
    if len(text) - start < _GCP_MIN_LENGTH:
        return (
            f"expected a GS1 Company Prefix of at least {_GCP_MIN_LENGTH} digits {where}, "
            f"found {_chars(max(len(text) - start, 0))}"
        )
    for i in range(start, start + _GCP_MIN_LENGTH):
        if not "0" <= text[i] <= "9":
            return f"expected a GS1 Company Prefix (digits) {where}, found {text[i]!r} at character {i + 1}"
    return None


def _gcppos1(text: str) -> str | None:
    """Starts with a GS1 Company Prefix: at least the minimum GCP length in digits."""
    return _gcp_reason(text, 0)


def _gcppos2(text: str) -> str | None:
    """A GS1 Company Prefix starts at the second character (after an indicator digit)."""
    if len(text) < 2:
        return f"expected an indicator digit then a GS1 Company Prefix, found {_chars(len(text))}"
    return _gcp_reason(text, 1)


# --------------------------------------------------------------------------- code lists


def _code_list_linter(codes: frozenset[str], what: str, extra: str = "") -> Linter:
    def linter(text: str) -> str | None:
        if text in codes:
            return None
        return f"{text!r} is not {what}{extra}"

    return linter


_iso3166 = _code_list_linter(_ISO3166_NUMERIC, "an ISO 3166-1 numeric country code")
_iso3166alpha2 = _code_list_linter(_ISO3166_ALPHA2, "an ISO 3166-1 alpha-2 country code")
_iso4217 = _code_list_linter(_ISO4217_NUMERIC, "an ISO 4217 numeric currency code")
_packagetype = _code_list_linter(
    _PACKAGE_TYPES, "a package type code (UN/ECE Recommendation 21 or GS1 PackageTypeCode)"
)
_mediatype = _code_list_linter(_MEDIA_TYPES, "an AIDC media type", " (expected 01-10 or 80-99)")


def _iso3166999(text: str) -> str | None:
    """ISO 3166-1 numeric country code, or 999 (several or unknown countries)."""
    if text == "999" or text in _ISO3166_NUMERIC:
        return None
    return f"{text!r} is not an ISO 3166-1 numeric country code or 999"


def _one_of(values: str, what: str) -> Linter:
    """A single character from ``values``; ``what`` names the choices for the reason."""
    allowed = frozenset(values)

    def linter(text: str) -> str | None:
        if len(text) == 1 and text in allowed:
            return None
        return f"expected {what}, found {text!r}"

    return linter


_yesno = _one_of("01", "0 (no) or 1 (yes)")
_winding = _one_of("019", "a winding direction: 0 (face out), 1 (face in) or 9 (undefined)")
_iso5218 = _one_of(
    "0129", "an ISO/IEC 5218 sex code: 0 (not known), 1 (male), 2 (female) or 9 (not applicable)"
)

_IMPORTER_INDEX = frozenset("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")


def _importeridx(text: str) -> str | None:
    """EU 2018/574 importer index: one character of 0-9, A-Z, a-z, '-' or '_'."""
    if len(text) != 1:
        return f"expected a 1-character importer index, found {_chars(len(text))}"
    if text not in _IMPORTER_INDEX:
        return f"expected an importer index of 0-9, A-Z, a-z, '-' or '_', found {text!r}"
    return None


# --------------------------------------------------------------------------- numbers


def _zero(text: str) -> str | None:
    """The value zero (all zeros)."""
    if text and text.count("0") == len(text):
        return None
    return f"expected {'0' * max(len(text), 1)}, found {text!r}"


def _nonzero(text: str) -> str | None:
    """Digits whose value is not zero."""
    reason = _non_digit(text)
    if reason:
        return reason
    if text.count("0") == len(text):
        return f"expected a value other than zero, found {text!r}"
    return None


def _nozeroprefix(text: str) -> str | None:
    """Digits not starting with 0."""
    if text.startswith("0"):
        return f"expected a number without a leading zero, found {text!r}"
    return _non_digit(text)


def _hasnondigit(text: str) -> str | None:
    """Holds at least one character other than a digit."""
    if text and not _is_digits(text):
        return None
    return f"expected at least one character that is not a digit, found {text!r}"


def _hyphen(text: str) -> str | None:
    """Only hyphens (e.g. the minus sign of a temperature)."""
    if text and text.count("-") == len(text):
        return None
    return f"expected '-', found {text!r}"


def _coordinate(text: str, what: str, high: int, meaning: str) -> str | None:
    if len(text) != 10:
        return f"expected a {what} of 10 digits, found {_chars(len(text))}"
    if not _is_digits(text):
        return _non_digit(text)
    if int(text) > high:
        return f"{what} {text} is out of range (expected 0000000000-{high:010d}, {meaning})"
    return None


def _latitude(text: str) -> str | None:
    """WGS84 latitude as 10 digits: (degrees + 90) x 10^7, 0000000000-1800000000."""
    return _coordinate(text, "latitude", 1_800_000_000, "degrees + 90 with 7 decimals")


def _longitude(text: str) -> str | None:
    """WGS84 longitude as 10 digits: (degrees + 180) x 10^7, 0000000000-3600000000."""
    return _coordinate(text, "longitude", 3_600_000_000, "degrees + 180 with 7 decimals")


def _pieceoftotal(text: str) -> str | None:
    """Piece number then total count, equal widths, neither zero, piece <= total."""
    reason = _non_digit(text)
    if reason:
        return reason
    n = len(text)
    if n == 0 or n % 2:
        return (
            f"expected a piece number and a total of equal width (an even number of digits), found {text!r}"
        )
    half = n // 2
    piece, total = int(text[:half]), int(text[half:])
    if piece == 0:
        return f"piece number {text[:half]} is zero (expected 1 or more)"
    if total == 0:
        return f"total number of pieces {text[half:]} is zero (expected 1 or more)"
    if piece > total:
        return f"piece {piece} exceeds the total of {total} pieces"
    return None


def _posinseqslash(text: str) -> str | None:
    """Position in a sequence as '<pos>/<end>', e.g. 2/3: no leading zeros, pos <= end."""
    pos, slash, end = text.partition("/")
    if not (slash and _is_digits(pos) and _is_digits(end)):
        return f"expected a position like 2/3 (number, '/', number), found {text!r}"
    if pos[0] == "0":
        return f"position {pos} must not be zero or start with 0"
    if end[0] == "0":
        return f"end of sequence {end} must not be zero or start with 0"
    if (len(pos), pos) > (len(end), end):
        return f"position {pos} exceeds the end of the sequence {end}"
    return None


_HEX = frozenset("0123456789abcdefABCDEF")


def _pcenc(text: str) -> str | None:
    """Percent-encoding: each '%' is followed by two hex digits (RFC 3986 section 2.1)."""
    i = text.find("%")
    while i >= 0:
        if i + 2 >= len(text) or text[i + 1] not in _HEX or text[i + 2] not in _HEX:
            return f"'%' at character {i + 1} must be followed by two hex digits, found {text[i : i + 3]!r}"
        i = text.find("%", i + 3)
    return None


_IBAN_VALUE = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
_IBAN_MIN_LENGTH = 11
_IBAN_MAX_LENGTH = 34


def _iban_mod97(chars: str) -> int:
    total = 0
    for ch in chars:
        v = _IBAN_VALUE[ch]
        total = (total * (10 if v < 10 else 100) + v) % 97
    return total


def _iban(text: str) -> str | None:
    """International Bank Account Number (ISO 13616): country, 2 check digits, account; mod 97."""
    n = len(text)
    if n < 4:
        return f"expected an IBAN of {_IBAN_MIN_LENGTH}-{_IBAN_MAX_LENGTH} characters, found {_chars(n)}"
    if text[:2] not in _ISO3166_ALPHA2:
        return f"IBAN must start with an ISO 3166-1 alpha-2 country code, found {text[:2]!r}"
    if not _IBAN_MIN_LENGTH <= n <= _IBAN_MAX_LENGTH:
        return f"expected an IBAN of {_IBAN_MIN_LENGTH}-{_IBAN_MAX_LENGTH} characters, found {_chars(n)}"
    for i, ch in enumerate(text):
        if ch not in _IBAN_VALUE:
            return f"IBAN may hold only 0-9 and A-Z, found {ch!r} at character {i + 1}"
    if _iban_mod97(text[4:] + text[:4]) != 1:
        expected = 98 - _iban_mod97(text[4:] + text[:2] + "00")
        return f"IBAN check digits should be {expected:02d}, found {text[2:4]!r}"
    return None


# --------------------------------------------------------------------------- coupons


class _Bad(Exception):
    """Early exit with a reason from the coupon walkers (error path only)."""


class _Cursor:
    """Walks a coupon code's fields left to right."""

    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def more(self) -> bool:
        return self.pos < len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def digit(self, what: str, allowed: str | None = None) -> int:
        """One digit; ``allowed`` lists the valid values."""
        if self.pos >= len(self.text):
            raise _Bad(f"coupon {what} is missing at the end of the data")
        ch = self.text[self.pos]
        if allowed is not None and ch not in allowed:
            listing = ", ".join(allowed[:-1]) + " or " + allowed[-1] if len(allowed) > 1 else allowed
            raise _Bad(f"coupon {what} must be {listing}, found {ch} at character {self.pos + 1}")
        self.pos += 1
        return ord(ch) - 48

    def take(self, n: int, what: str) -> str:
        """The next ``n`` digits."""
        left = len(self.text) - self.pos
        if left < n:
            raise _Bad(f"coupon {what} is cut short: expected {n} digits, found {left}")
        field = self.text[self.pos : self.pos + n]
        self.pos += n
        return field

    def gcp(self, n: int, what: str) -> None:
        start = self.pos
        field = self.take(n, what)
        reason = _gcppos1(field)
        if reason:  # pragma: no cover - 6 or more digits always pass
            raise _Bad(f"coupon {what} at character {start + 1}: {reason}")

    def date(self, what: str) -> str:
        start = self.pos
        field = self.take(6, what)
        reason = _yymmdd(field)
        if reason:
            raise _Bad(f"coupon {what} {field} at character {start + 1} is not a valid date: {reason}")
        return field

    def done(self) -> None:
        if self.pos != len(self.text):
            extra = self.text[self.pos :]
            raise _Bad(f"unexpected data {extra!r} at character {self.pos + 1} after the last coupon field")


def _purchase(cur: _Cursor, nth: str) -> None:
    """Purchase requirement (length indicator 1-5 + value), requirement code, family code."""
    vli = cur.digit(f"{nth} purchase requirement length indicator", "12345")
    cur.take(vli, f"{nth} purchase requirement")
    cur.digit(f"{nth} purchase requirement code", "012349")
    cur.take(3, f"{nth} purchase family code")


def _optional_gcp(cur: _Cursor, nth: str) -> None:
    """Length indicator 0-6 (GCP of 6-12 digits) or 9 (none), then the GCP."""
    vli = cur.digit(f"{nth} purchase GS1 Company Prefix length indicator", "01234569")
    if vli != 9:
        cur.gcp(vli + 6, f"{nth} purchase GS1 Company Prefix")


def _couponcode_walk(text: str) -> None:
    cur = _Cursor(text)
    cur.gcp(cur.digit("GS1 Company Prefix length indicator", "0123456") + 6, "GS1 Company Prefix")
    cur.take(6, "offer code")
    cur.take(cur.digit("save value length indicator", "12345"), "save value")
    _purchase(cur, "1st")
    expiry: str | None = None
    if cur.peek() == "1":  # optional field 1: additional purchase rules and 2nd purchase
        cur.pos += 1
        cur.digit("additional purchase rules code", "0123")
        _purchase(cur, "2nd")
        _optional_gcp(cur, "2nd")
    if cur.peek() == "2":  # optional field 2: 3rd purchase
        cur.pos += 1
        _purchase(cur, "3rd")
        _optional_gcp(cur, "3rd")
    if cur.peek() == "3":  # optional field 3: expiration date
        cur.pos += 1
        expiry = cur.date("expiration date")
    if cur.peek() == "4":  # optional field 4: start date
        cur.pos += 1
        start = cur.date("start date")
        if expiry is not None:
            years = _current_years()
            if (years[int(start[:2])], start[2:]) > (years[int(expiry[:2])], expiry[2:]):
                raise _Bad(f"coupon expiration date {expiry} is before its start date {start}")
    if cur.peek() == "5":  # optional field 5: serial number
        cur.pos += 1
        cur.take(cur.digit("serial number length indicator") + 6, "serial number")
    if cur.peek() == "6":  # optional field 6: retailer GCP or GLN
        cur.pos += 1
        vli = cur.digit("retailer GCP/GLN length indicator", "1234567")
        cur.gcp(vli + 6, "retailer GCP/GLN")
    if cur.peek() == "9":  # optional field 9: miscellaneous
        cur.pos += 1
        cur.digit("save value code", "01256")
        cur.digit("save value applies-to-item", "012")
        cur.digit("store coupon flag")
        cur.digit("don't multiply flag", "01")
    cur.done()


def _couponcode(text: str) -> str | None:
    """North American Coupon Code in AI (8110) (GS1 US coupon application guideline)."""
    reason = _non_digit(text)
    if reason:
        return f"coupon code: {reason}"
    try:
        _couponcode_walk(text)
    except _Bad as bad:
        return str(bad)
    return None


def _couponposoffer(text: str) -> str | None:
    """Positive offer file coupon code in AI (8112) (GS1 AI (8112) Coupon Data Specification)."""
    reason = _non_digit(text)
    if reason:
        return f"coupon code: {reason}"
    cur = _Cursor(text)
    try:
        cur.digit("format code", "01")
        cur.gcp(cur.digit("funder ID length indicator", "0123456") + 6, "funder ID")
        cur.take(6, "offer code")
        cur.take(cur.digit("serial number length indicator") + 6, "serial number")
        cur.done()
    except _Bad as bad:
        return str(bad)
    return None


# --------------------------------------------------------------------------- registry

LINTERS: Mapping[str, Linter] = MappingProxyType(
    {
        "couponcode": _couponcode,
        "couponposoffer": _couponposoffer,
        "csum": _csum,
        "csumalpha": _csumalpha,
        "gcppos1": _gcppos1,
        "gcppos2": _gcppos2,
        "hasnondigit": _hasnondigit,
        "hh": _hh,
        "hhmi": _hhmi,
        "hyphen": _hyphen,
        "iban": _iban,
        "importeridx": _importeridx,
        "iso3166": _iso3166,
        "iso3166999": _iso3166999,
        "iso3166alpha2": _iso3166alpha2,
        "iso4217": _iso4217,
        "iso5218": _iso5218,
        "latitude": _latitude,
        "longitude": _longitude,
        "mediatype": _mediatype,
        "mi": _mi,
        "nonzero": _nonzero,
        "nozeroprefix": _nozeroprefix,
        "packagetype": _packagetype,
        "pcenc": _pcenc,
        "pieceoftotal": _pieceoftotal,
        "posinseqslash": _posinseqslash,
        "ss": _ss,
        "winding": _winding,
        "yesno": _yesno,
        "yymmd0": _yymmd0,
        "yymmdd": _yymmdd,
        "yyyymmdd": _yyyymmdd,
        "zero": _zero,
    }
)
"""Every linter named in the GS1 Barcode Syntax Dictionary, by its dictionary name."""


def lint(name: str, text: str) -> str | None:
    """Run the linter ``name`` on ``text``: ``None`` when valid, else the reason.

    An unknown ``name`` raises :class:`ValueError`.
    """
    linter = LINTERS.get(name)
    if linter is None:
        raise ValueError(f"unknown GS1 linter {name!r}")
    return linter(text)


_COMPONENT = re.compile(r"^\[?[NXYZ](?:\d+|\d*\.\.\d+)\]?((?:,[a-z0-9]+)*)$")
"""One component of a specification, e.g. ``N14,csum,gcppos2`` or ``[N2],mi``; group 1 holds the linters."""


def dictionary_linter_names(dictionary_text: str) -> frozenset[str]:
    """The linter names used by the component specifications of a Syntax Dictionary text."""
    names: set[str] = set()
    for line in dictionary_text.splitlines():
        body = line.split("#", 1)[0]
        for token in body.split()[1:]:
            match = _COMPONENT.match(token)
            if match and match.group(1):
                names.update(match.group(1)[1:].split(","))
    return frozenset(names)


def _check_dictionary() -> None:
    """Fail at import when the vendored dictionary names a linter this module lacks."""
    path = _DATA / "gs1-syntax-dictionary.txt"
    missing = dictionary_linter_names(path.read_text(encoding="utf-8")) - LINTERS.keys()
    if missing:
        raise ValueError(f"{path.name} uses linters with no implementation: {', '.join(sorted(missing))}")


_check_dictionary()
