"""The string formats EPCIS validation checks: URIs, RFC 3339 times, time-zone offsets.

GS1's JSON Schema for EPCIS 2.0 says ``"format": "uri"`` and ``"format": "date-time"``
in dozens of places. Plain JSON Schema libraries skip ``format`` or check it loosely,
which lets a bare word that is no CBV term (``"bizStep": "transforming"``) pass. These
are the real checks, compiled once:

>>> from packtrail.epcis.formats import is_uri, is_date_time, is_time_zone_offset
>>> is_uri("urn:epc:id:sgtin:4012345.011111.1001"), is_uri("https://id.gs1.org/01/09506000134352")
(True, True)
>>> is_uri("transforming"), is_uri("http://exa mple.com/"), is_uri("//example.com/relative")
(False, False, False)

A date-time is RFC 3339: a real calendar day, a time, and a time-zone offset (``Z`` or
``±HH:MM``); leap seconds only at 23:59 UTC:

>>> is_date_time("2024-02-29T10:00:00.123+01:00"), is_date_time("2023-02-29T10:00:00Z")
(True, False)
>>> is_date_time("2024-03-01T10:00:00"), is_date_time("2024-03-01T10:00:00+0100")
(False, False)
>>> is_date_time("1998-12-31T23:59:60Z"), is_date_time("1998-12-31T22:59:60Z")
(True, False)

EPCIS's ``eventTimeZoneOffset`` is ``±HH:MM`` from ``-14:00`` to ``+14:00``:

>>> is_time_zone_offset("+05:30"), is_time_zone_offset("-14:00"), is_time_zone_offset("+14:30")
(True, True, False)

References: RFC 3986 section 3 and appendix A (the ``URI`` production: an absolute URI,
fragment allowed, ASCII only); RFC 3339 section 5.6 (``date-time``; lower-case ``t`` and
``z`` allowed as its note says); JSON Schema draft-07 section 7.3 (which names both);
EPCIS 2.0 section 7.3.x and the ``eventTimeZoneOffset`` definition of GS1's EPCIS
ontology (``+``/``-``, hours 00 to 14, minutes 00 to 59, ``14`` only with ``00``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

__all__ = [
    "TIME_ZONE_OFFSETS",
    "date_time_to_utc",
    "is_date_time",
    "is_time_zone_offset",
    "is_uri",
    "plain_date_time",
    "time_zone_offset_problem",
]

# --- URI (RFC 3986) ---------------------------------------------------------------------------

_UNRESERVED: Final = r"A-Za-z0-9\-._~"
_SUB_DELIMS: Final = r"!$&'()*+,;="
_PCT: Final = r"%[0-9A-Fa-f]{2}"


def _run(chars: str) -> str:
    """Any number of ``chars`` and percent-escapes (possessive: no backtracking)."""
    return rf"(?:[{chars}]++|{_PCT})*+"


_DEC_OCTET: Final = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4: Final = rf"{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}"
_H16: Final = r"[0-9A-Fa-f]{1,4}"
_LS32: Final = rf"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6: Final = (
    "(?:"
    + "|".join(
        (
            rf"(?:{_H16}:){{6}}{_LS32}",
            rf"::(?:{_H16}:){{5}}{_LS32}",
            rf"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
            rf"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
            rf"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
            rf"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
            rf"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
            rf"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
            rf"(?:(?:{_H16}:){{0,6}}{_H16})?::",
        )
    )
    + ")"
)
_IP_LITERAL: Final = rf"\[(?:{_IPV6}|v[0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+)\]"
_AUTHORITY: Final = (
    rf"(?:{_run(_UNRESERVED + _SUB_DELIMS + ':')}@)?"  # userinfo
    rf"(?:{_IP_LITERAL}|{_run(_UNRESERVED + _SUB_DELIMS)})"  # host: IP literal or reg-name (IPv4 fits)
    r"(?::[0-9]*+)?"  # port
)
_PATH_CHARS: Final = _UNRESERVED + _SUB_DELIMS + ":@/"
_QUERY_CHARS: Final = _PATH_CHARS + "?"
_URI: Final = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*+:"  # scheme
    rf"(?://{_AUTHORITY}(?:/{_run(_PATH_CHARS)})?|(?!//){_run(_PATH_CHARS)})"  # hier-part
    rf"(?:\?{_run(_QUERY_CHARS)})?"  # query
    rf"(?:#{_run(_QUERY_CHARS)})?",  # fragment
)
_URI_MATCH: Final = _URI.fullmatch
_SIMPLE_URI: Final = re.compile(rf"[A-Za-z][A-Za-z0-9+.\-]*+:[{_PATH_CHARS}]*+").fullmatch
"""A URI of path characters only (no escape, query or fragment): valid unless it starts ``//``
after the scheme (then it has an authority, which has a grammar of its own)."""
_SIMPLE_HTTP: Final = re.compile(
    rf"https?://[{_UNRESERVED}{_SUB_DELIMS}]++(?::[0-9]*+)?(?:/[{_PATH_CHARS}]*+)?(?:\?[{_QUERY_CHARS}]*+)?"
).fullmatch
"""An http(s) URI with a plain host name, no escapes and no fragment: valid (a GS1 Digital Link, mostly)."""


def is_uri(value: str) -> bool:
    """True when ``value`` is an absolute URI by RFC 3986 (the JSON Schema ``uri`` format).

    ASCII only: an IRI with non-ASCII characters is not a URI. A fragment is allowed.

    >>> is_uri("urn:epcglobal:cbv:bizstep:shipping"), is_uri("example:note")
    (True, True)
    >>> is_uri("http://[2001:db8::7]/c=GB?objectClass?one"), is_uri("http://a/%zz")
    (True, False)
    """
    if _SIMPLE_URI(value) is not None and not value.startswith("//", value.find(":") + 1):
        return True
    if _SIMPLE_HTTP(value) is not None:
        return True
    return _URI_MATCH(value) is not None


# --- date-time (RFC 3339) ---------------------------------------------------------------------

_DATE: Final = (
    r"(?P<date>[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    r"|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)"
)
_DATE_TIME: Final = re.compile(
    _DATE + r"[Tt](?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9]):(?P<second>[0-5][0-9]|60)"
    r"(?:\.[0-9]+)?(?P<offset>[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
_DATE_TIME_MATCH: Final = _DATE_TIME.fullmatch


def is_date_time(value: str) -> bool:
    """True when ``value`` is an RFC 3339 ``date-time`` (the JSON Schema ``date-time`` format).

    The day must exist (29 February only in a leap year), the time-zone offset is
    required, and second 60 (a leap second) is accepted only where UTC reads 23:59.

    >>> is_date_time("2024-03-01t10:00:00z"), is_date_time("2024-3-01T10:00:00Z")
    (True, False)
    """
    match = _DATE_TIME_MATCH(value)
    if match is None:
        return False
    if match.group("second") != "60":
        return True
    offset = match.group("offset")
    minutes = int(match.group("hour")) * 60 + int(match.group("minute"))
    if offset not in ("Z", "z"):
        shift = int(offset[1:3]) * 60 + int(offset[4:6])
        minutes = minutes - shift if offset[0] == "+" else minutes + shift
    return minutes % 1440 == 23 * 60 + 59


plain_date_time: Final = re.compile(
    r"[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
).fullmatch
"""A quick test, one C call, for an RFC 3339 date-time that is neither on 29 February nor in a
leap second (the everyday case): a match means :func:`is_date_time` is true; no match means
nothing (ask :func:`is_date_time`)."""


def date_time_to_utc(value: str) -> datetime | None:
    """The instant an RFC 3339 date-time names, as an aware UTC datetime; None if it is not one.

    Fractions beyond microseconds are cut; a leap second counts as second 59.

    >>> date_time_to_utc("2024-03-01T10:00:00.5+01:00")
    datetime.datetime(2024, 3, 1, 9, 0, 0, 500000, tzinfo=datetime.timezone.utc)
    """
    if not is_date_time(value):
        return None
    text = value.upper()
    date, _, rest = text.partition("T")
    if rest.endswith("Z"):
        clock, sign, offset = rest[:-1], "+", "00:00"
    else:
        clock, sign, offset = rest[:-6], rest[-6], rest[-5:]
    main, _, fraction = clock.partition(".")
    hour, minute, second = (int(part) for part in main.split(":"))
    year, month, day = (int(part) for part in date.split("-"))
    micro = int((fraction + "000000")[:6]) if fraction else 0
    shift = timedelta(hours=int(offset[:2]), minutes=int(offset[3:]))
    local = datetime(year, month, day, hour, minute, min(second, 59), micro, tzinfo=UTC)
    return local - shift if sign == "+" else local + shift


# --- eventTimeZoneOffset ----------------------------------------------------------------------

TIME_ZONE_OFFSETS: Final = frozenset(
    f"{sign}{hours:02d}:{minutes:02d}"
    for sign in "+-"
    for hours in range(15)
    for minutes in range(60)
    if hours < 14 or minutes == 0
)
"""Every valid ``eventTimeZoneOffset``: ``-14:00`` to ``+14:00`` (both signs of ``00:00``)."""


def is_time_zone_offset(value: str) -> bool:
    """True for an EPCIS ``eventTimeZoneOffset``: ``+`` or ``-``, ``HH:MM``, within ±14:00."""
    return value in TIME_ZONE_OFFSETS


def time_zone_offset_problem(value: str) -> str | None:
    """What is wrong with an ``eventTimeZoneOffset``, in words; None when it is fine.

    >>> time_zone_offset_problem("+15:00")
    'the hours must be 00 to 14, found 15'
    >>> time_zone_offset_problem("+0100")
    'the offset must be written +HH:MM or -HH:MM'
    >>> time_zone_offset_problem("Z")
    'the offset must be written +HH:MM or -HH:MM (UTC is +00:00, not Z)'
    """
    if value in TIME_ZONE_OFFSETS:
        return None
    if value in ("Z", "z"):
        return "the offset must be written +HH:MM or -HH:MM (UTC is +00:00, not Z)"
    if len(value) != 6 or value[0] not in "+-" or value[3] != ":" or not _TWO_DIGITS(value[1:3] + value[4:]):
        return "the offset must be written +HH:MM or -HH:MM"
    hours, minutes = int(value[1:3]), int(value[4:])
    if hours > 14:
        return f"the hours must be 00 to 14, found {value[1:3]}"
    if minutes > 59:
        return f"the minutes must be 00 to 59, found {value[4:]}"
    return "at 14 hours the minutes must be 00 (the offsets end at -14:00 and +14:00)"


_TWO_DIGITS: Final = re.compile(r"[0-9]{4}").fullmatch
