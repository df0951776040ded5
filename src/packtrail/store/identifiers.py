"""One form for every identifier the repository indexes, so capture and query compare like with like.

EPCIS documents name the same pack as an EPC URN or as a GS1 Digital Link URI, on
``id.gs1.org`` or on a brand's own host. The index tables keep one canonical form,
the EPC URN, and the query engine brings every query value to the same form:

>>> from packtrail.store.identifiers import canonical_epc, canonical_class
>>> canonical_epc("https://id.gs1.org/01/10614141073464/21/2017")
'urn:epc:id:sgtin:0614141.107346.2017'
>>> canonical_epc("https://brand.example.com/01/10614141073464/10/LOT7/21/2017?17=270131")
'urn:epc:id:sgtin:0614141.107346.2017'
>>> canonical_epc("https://id.gs1.org/00/106141412345678908")
'urn:epc:id:sscc:0614141.1234567890'
>>> canonical_epc("https://id.gs1.org/417/4012345000009")
'urn:epc:id:pgln:4012345.00000'
>>> canonical_epc("urn:epc:id:sgtin:0614141.107346.2017")
'urn:epc:id:sgtin:0614141.107346.2017'

Rules of :func:`canonical_epc`: an ``urn:`` value is kept as it is; a Digital Link
whose primary key is an EPC key is converted by its key and key qualifiers only
(data attributes such as ``?17=`` and a lot next to a serial are dropped, they do
not name the instance): (01)+(21) SGTIN, (00) SSCC, (414)[+(254)] SGLN, (8003) GRAI
with serial, (8004) GIAI, (417) PGLN, and the class forms of :func:`canonical_class`.
The GS1 Company Prefix length comes from GS1's list (:mod:`packtrail.gs1.gcp`);
when it is unknown, or the link is malformed, or the value is anything else, it
comes back unchanged. It never raises for a string.

Class-level identifiers (``quantityList`` ``epcClass``) go the same way:

>>> canonical_class("https://id.gs1.org/01/04012345123456/10/998877")
'urn:epc:class:lgtin:4012345.012345.998877'
>>> canonical_class("https://id.gs1.org/01/04012345666663")
'urn:epc:idpat:sgtin:4012345.066666.*'

``MATCH_`` query parameters take EPC patterns. :func:`epc_pattern_to_like` turns one
into a SQL ``LIKE`` pattern over the canonical URNs (``\\`` is the escape character:
use ``column.like(pattern, escape="\\\\")``); a plain identifier comes back canonical,
for an equality test:

>>> from packtrail.store.identifiers import epc_pattern_to_like, class_pattern_likes
>>> epc_pattern_to_like("urn:epc:idpat:sgtin:0614141.112345.*")
('urn:epc:id:sgtin:0614141.112345.%', True)
>>> epc_pattern_to_like("urn:epc:idpat:sgtin:0614141.*.*")
('urn:epc:id:sgtin:0614141.%', True)
>>> epc_pattern_to_like("https://id.gs1.org/01/10614141073464/21/2017")
('urn:epc:id:sgtin:0614141.107346.2017', False)

For the class-level parameters (``MATCH_epcClass`` and kin) a pattern covers the
LGTIN classes of its GTINs and the quantity classes written as patterns
(:func:`class_pattern_likes`).

Parties, CBV values and times, as the index tables hold them:

>>> from packtrail.store.identifiers import gln_of_party, bare_cbv, parse_time_us
>>> gln_of_party("urn:epc:id:pgln:0614141.00000"), gln_of_party("https://id.gs1.org/414/0614141000005/254/7")
('0614141000005', '0614141000005')
>>> bare_cbv("urn:epcglobal:cbv:bizstep:shipping"), bare_cbv("https://ref.gs1.org/cbv/Disp-in_transit")
('shipping', 'in_transit')
>>> parse_time_us("2024-03-01T10:00:00.5+01:00")
(1709283600500000, '+01:00')
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

from packtrail.epcis.errors import EPCISError
from packtrail.epcis.vocabulary import VOCABULARIES, to_bare
from packtrail.gs1.checkdigit import gs1_check_digit
from packtrail.gs1.digital_link import DigitalLink
from packtrail.gs1.epc import LGTIN, SGTIN, SGTINPattern, epc_from_ai_pairs, sgtin_from_gtin_serial
from packtrail.gs1.errors import GS1Error
from packtrail.gs1.gcp import company_prefix_length_at

__all__ = [
    "LIKE_ESCAPE",
    "bare_cbv",
    "canonical_class",
    "canonical_epc",
    "class_pattern_likes",
    "epc_class_key",
    "epc_pattern_to_like",
    "gln_of_party",
    "like_escape",
    "parse_time_us",
    "pattern_class_like",
]

LIKE_ESCAPE: Final = "\\"
"""The escape character of every ``LIKE`` pattern this module returns (pass it as ``escape=``)."""

_CACHE_LIMIT: Final = 1 << 16
_CANONICAL: dict[str, str] = {}
"""Digital Link -> canonical form, for links off the fast path (other hosts, lots, attributes)."""
_PLAIN_SERIAL: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._")
"""Serial characters written the same in a Digital Link and an EPC URN (no escaping in either)."""
_DL_KEYS: Final = ("/01/", "/00/", "/414/", "/417/", "/8003/", "/8004/")


def _remember(value: str, result: str) -> str:
    if len(_CANONICAL) >= _CACHE_LIMIT:
        _CANONICAL.clear()
    _CANONICAL[value] = result
    return result


def canonical_epc(value: str) -> str:
    """The EPC URN of an instance identifier in any form; anything unconvertible unchanged.

    >>> canonical_epc("https://id.example.com/8003/040123450007718765")
    'urn:epc:id:grai:4012345.00077.8765'
    >>> canonical_epc("https://id.gs1.org/414/4012345000054/254/12")
    'urn:epc:id:sgln:4012345.00005.12'
    >>> canonical_epc("https://id.gs1.org/01/10614141073464/21/A%2F1")
    'urn:epc:id:sgtin:0614141.107346.A%2F1'
    >>> canonical_epc("https://id.gs1.org/253/4012345000054987")  # GDTI: no EPC scheme here
    'https://id.gs1.org/253/4012345000054987'
    >>> canonical_epc("urn:example:obj:42"), canonical_epc("")
    ('urn:example:obj:42', '')
    """
    if value.startswith("urn:") or not value.startswith("http"):
        return value
    # Fast path: GTIN + plain serial, on any host, nothing else in the link.
    at = 18 if value.startswith("https://id.gs1.org/01/") else value.find("/01/")
    if at > 0 and value[at + 18 : at + 22] == "/21/":
        serial = value[at + 22 :]
        if (serial.isalnum() and serial.isascii()) or (serial and _PLAIN_SERIAL.issuperset(serial)):
            gtin = value[at + 4 : at + 18]
            if at == 18 or (gtin.isdigit() and gtin.isascii() and value.find("/", 8) == at):
                try:
                    return sgtin_from_gtin_serial(gtin, serial)
                except GS1Error:
                    return value
    found = _CANONICAL.get(value)
    if found is not None:
        return found
    if not any(key in value for key in _DL_KEYS):
        return value
    return _remember(value, _from_digital_link(value))


def canonical_class(value: str) -> str:
    """The URN of a class-level identifier: LGTIN ``urn:epc:class:lgtin:``, or the
    ``urn:epc:idpat:sgtin:CP.Item.*`` pattern of a GTIN; anything unconvertible unchanged.

    A Digital Link with (01) alone is a GTIN's pattern, with (01)+(10) an LGTIN;
    URNs are kept as they are.

    >>> canonical_class("https://example.com/01/04012345123456/10/998877?15=251231")
    'urn:epc:class:lgtin:4012345.012345.998877'
    >>> canonical_class("urn:epc:idpat:sgtin:4012345.066666.*")
    'urn:epc:idpat:sgtin:4012345.066666.*'
    """
    return canonical_epc(value)


def _from_digital_link(value: str) -> str:
    """The slow path of :func:`canonical_epc`: parse the link (leniently) and convert its key."""
    try:
        link = DigitalLink.parse(value, strict=False)
        ai, key = link.primary_key
        pairs = (link.primary_key, *link.qualifiers)
        qualifiers = dict(link.qualifiers)
        if ai == "01":
            if "21" in qualifiers:
                return SGTIN.from_ai_pairs((link.primary_key, ("21", qualifiers["21"]))).uri
            if "10" in qualifiers:
                return LGTIN.from_ai_pairs((link.primary_key, ("10", qualifiers["10"]))).uri
            sgtin = SGTIN.from_ai_pairs((link.primary_key, ("21", "0")))
            return SGTINPattern(sgtin.company_prefix, sgtin.item_reference).uri
        if ai == "417":
            return _pgln(key) or value
        if ai == "414" and qualifiers.get("254") == "0":
            pairs = (link.primary_key,)  # extension 0 is the URN's "no extension"
        if ai in ("00", "414", "8003", "8004"):
            return epc_from_ai_pairs(pairs).uri
    except GS1Error:
        pass
    return value


def _pgln(gln: str) -> str | None:
    """``urn:epc:id:pgln:CompanyPrefix.PartyReference`` of a party GLN (AI 417), or None."""
    if len(gln) != 13 or not (gln.isascii() and gln.isdigit()) or gs1_check_digit(gln[:12]) != gln[12]:
        return None
    length = company_prefix_length_at(gln, 1)
    if length is None or not 6 <= length <= 12:
        return None
    return f"urn:epc:id:pgln:{gln[:length]}.{gln[length:12]}"


# --- patterns ------------------------------------------------------------------------------

_LIKE_SPECIAL: Final = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})


def like_escape(text: str) -> str:
    """``text`` with the ``LIKE`` wildcards ``%`` and ``_`` (and the escape ``\\``) escaped.

    >>> like_escape("urn:epc:id:giai:4012345.A_1%2F")
    'urn:epc:id:giai:4012345.A\\\\_1\\\\%2F'
    """
    return text.translate(_LIKE_SPECIAL)


def _split_pattern(pattern: str) -> tuple[str, str, bool] | None:
    """``(scheme, literal part before the first '*', has_wildcard)`` of an ``urn:epc:idpat:`` URI.

    TDS patterns are ``scheme:part.part...`` where every part after the first ``*`` is a
    ``*`` too; anything else is no pattern (None).
    """
    if not pattern.startswith("urn:epc:idpat:"):
        return None
    scheme, sep, body = pattern[14:].partition(":")
    if not sep or not scheme or not body:
        return None
    parts = body.split(".")
    if "*" not in parts:
        return scheme, body, False
    first = parts.index("*")
    if any(p != "*" for p in parts[first:]) or any(not p or "*" in p for p in parts[:first]):
        return None
    return scheme, ".".join(parts[:first]), True


def epc_pattern_to_like(pattern: str) -> tuple[str, bool]:
    """``(LIKE pattern, True)`` over canonical instance EPCs for an EPC pattern, else
    ``(canonical_epc(value), False)`` for an equality test.

    Rules: ``urn:epc:idpat:SCHEME:A.B.*`` matches every ``urn:epc:id:SCHEME:A.B.…``;
    ``*.*.*`` every EPC of the scheme; a pattern without ``*`` is the one EPC it
    names. A Digital Link of a GTIN alone is the GTIN's pattern. Literal parts are
    escaped with :data:`LIKE_ESCAPE`; the equality value is not. A class (LGTIN) is
    compared for equality and so matches no instance: instance EPCs carry no lot.

    >>> epc_pattern_to_like("urn:epc:idpat:sgtin:*.*.*")
    ('urn:epc:id:sgtin:%', True)
    >>> epc_pattern_to_like("urn:epc:idpat:sscc:0614141.*")
    ('urn:epc:id:sscc:0614141.%', True)
    >>> epc_pattern_to_like("urn:epc:idpat:sgtin:0614141.112345.400")
    ('urn:epc:id:sgtin:0614141.112345.400', False)
    >>> epc_pattern_to_like("https://id.gs1.org/01/04012345666663")
    ('urn:epc:id:sgtin:4012345.066666.%', True)
    >>> epc_pattern_to_like("urn:epc:idpat:sgtin:0614141.*.400")  # not a TDS pattern: matches itself
    ('urn:epc:idpat:sgtin:0614141.*.400', False)
    """
    value = canonical_epc(pattern)
    split = _split_pattern(value)
    if split is None:
        return value, False
    scheme, literal, wildcard = split
    if not wildcard:
        return f"urn:epc:id:{scheme}:{literal}", False
    return _prefix_like(f"urn:epc:id:{scheme}:", literal), True


def _prefix_like(head: str, literal: str) -> str:
    return f"{like_escape(head + literal)}.%" if literal else f"{like_escape(head)}%"


def class_pattern_likes(pattern: str) -> list[tuple[str, bool]]:
    """What a class-level match (``MATCH_epcClass``, ``MATCH_anyEPCClass``, ...) tests
    ``event_quantities.epc_class`` against: ``(LIKE pattern, True)`` or ``(value, False)``
    for equality, any of which may match.

    An SGTIN pattern covers the LGTIN classes of its GTINs and the quantity classes
    written as patterns within it (itself included); a pattern of another scheme
    covers the patterns within it; a class URI (LGTIN, or a Digital Link) matches itself.

    >>> class_pattern_likes("urn:epc:idpat:sgtin:0614141.112345.*")
    [('urn:epc:class:lgtin:0614141.112345.%', True), ('urn:epc:idpat:sgtin:0614141.112345.*', False)]
    >>> class_pattern_likes("urn:epc:idpat:sgtin:0614141.*.*")
    [('urn:epc:class:lgtin:0614141.%', True), ('urn:epc:idpat:sgtin:0614141.%', True)]
    >>> class_pattern_likes("urn:epc:idpat:grai:4012345.66666.*")
    [('urn:epc:idpat:grai:4012345.66666.*', False)]
    >>> class_pattern_likes("https://id.gs1.org/01/04012345123456/10/998877")
    [('urn:epc:class:lgtin:4012345.012345.998877', False)]
    """
    value = canonical_class(pattern)
    split = _split_pattern(value)
    if split is None or not split[2]:
        return [(value, False)]
    scheme, literal, _ = split
    parts = literal.split(".") if literal else []
    out: list[tuple[str, bool]] = []
    if scheme == "sgtin":
        out.append((_prefix_like("urn:epc:class:lgtin:", literal), True))
    if value.count(".") == len(parts):  # only the last part is '*': nothing narrower than itself
        out.append((value, False))
    else:
        out.append((_prefix_like(f"urn:epc:idpat:{scheme}:", literal), True))
    return out


# --- the class of an instance EPC ------------------------------------------------------------------

CLASS_PARTS: Final[dict[str, int]] = {
    "sgtin": 2,  # CompanyPrefix.ItemRefAndIndicator.Serial
    "sscc": 1,  # CompanyPrefix.SerialReference
    "sgln": 2,  # CompanyPrefix.LocationReference.Extension
    "grai": 2,  # CompanyPrefix.AssetType.Serial
    "giai": 1,  # CompanyPrefix.IndividualAssetReference
    "gsrn": 1,
    "gsrnp": 1,
    "gdti": 2,  # CompanyPrefix.DocumentType.Serial
    "cpi": 2,  # CompanyPrefix.ComponentPartReference.Serial
    "sgcn": 2,  # CompanyPrefix.CouponReference.Serial
    "ginc": 1,
    "gsin": 1,
    "itip": 4,  # CompanyPrefix.ItemRefAndIndicator.Piece.Total.Serial
    "upui": 2,  # CompanyPrefix.ItemRefAndIndicator.TPX
    "pgln": 1,
}
"""For each EPC scheme of the Tag Data Standard, how many of the instance URN's dot-separated parts name
its class (the GS1 Company Prefix and, where there is one, the item, asset or document type); the parts
after them are the serial, which may itself contain dots."""


def epc_class_key(epc: str) -> str | None:
    """The class part of a canonical instance EPC URN, up to and including the dot before the serial,
    or None for a value of no known scheme.

    Every EPC pattern whose literal parts stop within the class (``urn:epc:idpat:sgtin:CP.ITEM.*``,
    ``urn:epc:idpat:sgtin:CP.*.*``) matches an EPC exactly when it matches the EPC's class key, so one
    row per event and class (``event_epc_classes``) answers it instead of one row per EPC.

    >>> epc_class_key("urn:epc:id:sgtin:0614141.107346.2017")
    'urn:epc:id:sgtin:0614141.107346.'
    >>> epc_class_key("urn:epc:id:sgtin:0614141.107346.A.B")  # a serial may hold dots
    'urn:epc:id:sgtin:0614141.107346.'
    >>> epc_class_key("urn:epc:id:sscc:0614141.1234567890")
    'urn:epc:id:sscc:0614141.'
    >>> epc_class_key("urn:epc:id:sgtin:0614141.107346") is None  # no serial: not an instance EPC
    True
    >>> epc_class_key("https://example.com/pack/7") is None
    True
    """
    if not epc.startswith("urn:epc:id:"):
        return None
    colon = epc.find(":", 11)
    if colon < 0:
        return None
    parts = CLASS_PARTS.get(epc[11:colon])
    if parts is None:
        return None
    end = colon
    for _ in range(parts):
        end = epc.find(".", end + 1)
        if end < 0:
            return None
    if end + 1 >= len(epc):
        return None
    return epc[: end + 1]


def pattern_class_like(pattern: str) -> tuple[str, bool] | None:
    """What the EPC pattern ``pattern`` tests class keys (:func:`epc_class_key`) against to match the
    same events it matches over instance EPCs: ``(class key, False)`` for equality when its literal
    parts are the whole class (``CP.ITEM.*``: then the eventTime in the same index is a range too),
    ``(LIKE pattern, True)`` when they stop before (``CP.*.*``); None when the pattern names parts of the
    serial, is no pattern, or is of an unknown scheme (then only the EPC index answers it).

    >>> pattern_class_like("urn:epc:idpat:sgtin:0614141.107346.*")
    ('urn:epc:id:sgtin:0614141.107346.', False)
    >>> pattern_class_like("urn:epc:idpat:sgtin:0614141.*.*")
    ('urn:epc:id:sgtin:0614141.%', True)
    >>> pattern_class_like("urn:epc:idpat:sgtin:*.*.*")
    ('urn:epc:id:sgtin:%', True)
    >>> pattern_class_like("urn:epc:id:sgtin:0614141.107346.2017") is None  # one EPC
    True
    >>> pattern_class_like("urn:epc:idpat:sgtin:0614141.107346.20*") is None  # not a TDS pattern
    True
    """
    split = _split_pattern(canonical_epc(pattern))
    if split is None or not split[2]:
        return None
    scheme, literal, _ = split
    parts = CLASS_PARTS.get(scheme)
    given = literal.count(".") + 1 if literal else 0
    if parts is None or given > parts:
        return None
    if given == parts:
        return f"urn:epc:id:{scheme}:{literal}.", False
    return _prefix_like(f"urn:epc:id:{scheme}:", literal), True


# --- parties -------------------------------------------------------------------------------


def _gln_with_check(body: str) -> str | None:
    """The GLN of 12 digits (company prefix + reference) with its check digit, or None."""
    if len(body) != 12 or not (body.isascii() and body.isdigit()):
        return None
    return body + gs1_check_digit(body)


def _is_gln(text: str) -> bool:
    return len(text) == 13 and text.isascii() and text.isdigit() and gs1_check_digit(text[:12]) == text[12]


def gln_of_party(value: str) -> str | None:
    """The 13-digit GLN of a party or location identifier, or None when it names none.

    Accepted: ``urn:epc:id:pgln:CP.PartyRef``, ``urn:epc:id:sgln:CP.LocRef.Ext`` (any
    extension: the GLN is the location's), a Digital Link with (417) or (414) as
    primary key (any host, (254) and query ignored) and a bare 13-digit GLN. The
    check digit must be right.

    >>> gln_of_party("urn:epc:id:sgln:0614141.00000.0"), gln_of_party("urn:epc:id:sgln:0614141.00000.9a")
    ('0614141000005', '0614141000005')
    >>> gln_of_party("https://id.gs1.org/417/4012345000009"), gln_of_party("4012345000009")
    ('4012345000009', '4012345000009')
    >>> gln_of_party("urn:epc:id:sgtin:0614141.107346.2017") is None, gln_of_party("4012345000008") is None
    (True, True)
    """
    if not isinstance(value, str):
        return None
    found = _GLNS.get(value, "")
    if found != "":
        return found
    gln = _gln_of_party(value)
    if len(_GLNS) >= _CACHE_LIMIT:
        _GLNS.clear()
    _GLNS[value] = gln
    return gln


_GLNS: dict[str, str | None] = {}
"""Party value -> GLN (or None) already worked out: the same few parties recur on every event."""


def _gln_of_party(value: str) -> str | None:
    if value.startswith("urn:epc:id:pgln:"):
        company, dot, reference = value[16:].partition(".")
        if not dot or not 6 <= len(company) <= 12:
            return None
        return _gln_with_check(company + reference)
    if value.startswith("urn:epc:id:sgln:"):
        parts = value[16:].split(".", 2)
        if len(parts) != 3 or not 6 <= len(parts[0]) <= 12 or not parts[2]:
            return None
        return _gln_with_check(parts[0] + parts[1])
    if value.startswith("http"):
        for key in ("/417/", "/414/"):
            at = value.find(key)
            if at > 0:
                gln = value[at + 5 : at + 18]
                end = value[at + 18 : at + 19]
                if end in ("", "/", "?", "#") and _is_gln(gln):
                    return gln
        return None
    return value if _is_gln(value) else None


# --- CBV values ----------------------------------------------------------------------------


def _cbv_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for vocab in VOCABULARIES.values():
        for term in vocab.terms:
            table[term] = term
            table[vocab.web_uri(term)] = term
            table[vocab.compact(term)] = term
            if vocab.urn_prefix:
                table[vocab.urn(term)] = term
    return table


_CBV_BARE: Final = _cbv_table()
"""Every URN, Web URI and compact name of every CBV term -> its bare word (terms never collide)."""
_CBV_KINDS: Final = tuple(VOCABULARIES)


def bare_cbv(value: str | None) -> str | None:
    """The bare word of a CBV value of any vocabulary (bizStep, disposition, business
    transaction, source/destination type, error reason, sensor types), in URN, Web URI
    (also ``gs1.org/voc`` spellings) or compact form; any other value unchanged.

    >>> bare_cbv("urn:epcglobal:cbv:sdt:owning_party"), bare_cbv("cbv:BTT-po")
    ('owning_party', 'po')
    >>> bare_cbv("http://gs1.org/voc/Temperature"), bare_cbv(None)
    ('Temperature', None)
    >>> bare_cbv("https://example.com/bizstep/summarising")
    'https://example.com/bizstep/summarising'
    """
    if value is None:
        return None
    found = _CBV_BARE.get(value)
    if found is not None:
        return found
    if "gs1.org/voc/" in value:  # the GS1 Web Vocabulary's other spellings
        for kind in _CBV_KINDS:
            bare = to_bare(kind, value)
            if bare != value:
                return bare
    return value


# --- times ---------------------------------------------------------------------------------

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_OFFSET_TEXT: Final = re.compile(r"[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]").fullmatch
_fromisoformat: Final = datetime.fromisoformat


def parse_time_us(text: str) -> tuple[int, str]:
    """``(microseconds since 1970-01-01T00:00Z, offset "+HH:MM")`` of an ISO 8601 date-time.

    The time must have a date, ``T``, hours, minutes, seconds (fractions optional,
    digits past microseconds cut; seconds may be left out, as some XML does) and an
    offset or ``Z`` (given back as ``+00:00``);
    anything else raises :class:`~packtrail.epcis.errors.EPCISError` naming the value.

    >>> parse_time_us("2005-04-03T20:33:31.116-06:00")
    (1112582011116000, '-06:00')
    >>> parse_time_us("2022-04-13T12:35:29.017069617Z")
    (1649853329017069, '+00:00')
    >>> parse_time_us("2005-04-03T20:33:31")
    Traceback (most recent call last):
    ...
    packtrail.epcis.errors.EPCISError: '2005-04-03T20:33:31' is no date-time with an offset \
(expected an ISO 8601 date-time such as 2024-03-01T10:00:00.000+01:00 or ...Z)
    """
    try:
        if text[10] == "T" and text[4] == "-" and text[13] == ":":
            moment = _fromisoformat(text)
            offset = moment.utcoffset()
            if offset is not None:
                micros = (moment - _EPOCH) // _MICROSECOND
                if text[-1] == "Z":
                    return micros, "+00:00"
                tail = text[-6:]
                if _OFFSET_TEXT(tail) is not None:
                    return micros, tail
                return micros, _format_offset(offset)
    except (ValueError, TypeError, IndexError, OverflowError):
        pass
    raise EPCISError(
        f"{text!r} is no date-time with an offset",
        expected="an ISO 8601 date-time such as 2024-03-01T10:00:00.000+01:00 or ...Z",
    )


def _format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"
