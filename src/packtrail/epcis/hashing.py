"""The EPCIS Event Hash ID: a name for an event that any party can compute from its content.

CBV 2.0 (section 8.9) defines it: bring every value of the event to one canonical
form, concatenate ``name=value`` pairs in a fixed order into a *pre-hash string*,
hash that with SHA-256 and write the digest as an RFC 6920 ``ni:`` URI. The same
event gives the same hash whether it came as JSON-LD or XML, with bare CBV words
or URNs, EPC URNs or GS1 Digital Links, local times or UTC:

>>> from packtrail.epcis.hashing import event_hash, prehash_string
>>> event = {
...     "type": "ObjectEvent",
...     "eventTime": "2024-03-01T10:00:00+01:00",
...     "eventTimeZoneOffset": "+01:00",
...     "epcList": ["urn:epc:id:sgtin:4012345.011111.1001"],
...     "action": "OBSERVE",
...     "bizStep": "shipping",
...     "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
... }
>>> print(prehash_string(event, {}))
eventType=ObjectEventeventTime=2024-03-01T09:00:00.000ZeventTimeZoneOffset=+01:00\
epcListepc=https://id.gs1.org/01/04012345111118/21/1001action=OBSERVE\
bizStep=https://ref.gs1.org/cbv/BizStep-shippingreadPointid=https://id.gs1.org/414/4012345000016
>>> event_hash(event, {})
'ni:///sha-256;f85bf9479fbc1656cbaf3c0f811d9b37f22eff00fcf48981c229bbde756eff7e?ver=CBV2.0'

The same event with a UTC time, a Digital Link and a CBV URN hashes the same:

>>> as_in_xml = dict(event, eventTime="2024-03-01T09:00:00.000Z",
...                  epcList=["https://id.gs1.org/01/04012345111118/21/1001"],
...                  bizStep="urn:epcglobal:cbv:bizstep:shipping")
>>> event_hash(as_in_xml, {}) == event_hash(event, {})
True

Fields that a repository adds (``recordTime``, ``eventID``) and error declarations
do not count; any other change does, extensions included. Extension fields are
named by their full namespace, so the prefix a document chose does not matter:

>>> event_hash(dict(event, recordTime="2024-03-02T00:00:00Z", eventID="urn:uuid:1"), {}) == event_hash(event, {})
True
>>> mine = dict(event, **{"my:batchNote": "ok"})
>>> theirs = dict(event, **{"ex:batchNote": "ok"})
>>> event_hash(mine, {"my": "https://ns.example.com/"}) == event_hash(theirs, {"ex": "https://ns.example.com/"})
True
>>> event_hash(mine, {"my": "https://ns.example.com/"}) == event_hash(event, {})
False

For whole documents: :func:`document_hashes`, :func:`fill_missing_event_ids` (an event
without ``eventID`` gets its hash as ID) and :func:`duplicate_groups`:

>>> from packtrail.epcis.document import EPCISDocument
>>> from packtrail.epcis.hashing import duplicate_groups, fill_missing_event_ids
>>> doc = EPCISDocument(events=[dict(event), dict(as_in_xml), dict(event, action="ADD")])
>>> duplicate_groups(doc.events, doc.namespaces)
[[0, 1]]
>>> fill_missing_event_ids(doc)
3
>>> doc.events[0]["eventID"] == event_hash(event, {})
True

How values are canonicalised, following CBV 2.0 section 8.9 and the test vectors of
the reference implementation (``RalphTro/epcis-event-hash-generator``, MIT licence;
read, not copied -- this module is written from its description and its vectors):

* timestamps (``eventTime``, sensor ``time``, ``startTime``, ``endTime``) in UTC with
  milliseconds, ``Z``; a fourth decimal 5-9 rounds the third up (the README's rule).
  A timestamp without offset is read as UTC;
* CBV values in bare-word form (in the fields whose JSON-LD context expands them),
  URN form (``urn:epcglobal:cbv:bizstep:...``) or compact form (``cbv:``, ``gs1:``) to the
  GS1 Web URI;
* EPC URNs (identifiers, classes, patterns) and GS1 Digital Link URIs to the
  *constrained canonical* Digital Link: host ``https://id.gs1.org``, AI numbers, no
  query string, no CPV, the finest level of identification only (a serial wins over a
  lot);
* numbers without leading ``+``, trailing zeros or a trailing ``.0`` -- applied, like the
  reference implementation does, to every value that reads as a number;
* within a list, and among ILMD fields and extensions, entries sorted by code point;
  extensions as ``{namespace}localName``; extensions inside ``readPoint``,
  ``bizLocation``, sensor elements, metadata and reports at the end of their parent.

Where the reference implementation and the written rule differ and the vectors do not
decide, this module follows the rule (or XML, where the reference's JSON-LD and XML
readers disagree):

* ``epcList`` before ``parentID`` (the reference's newer code agrees; matters for a
  TransactionEvent with both); half-up millisecond rounding;
* ``urn:epcglobal:cbv:comp:`` URNs become Web URIs too (rule 14; the reference omits them);
* bare CBV words are expanded in the fields whose JSON-LD context defines them, not in
  any other field that happens to hold the same word; compact names in values are
  expanded for ``gs1:`` and ``cbv:`` only, as the reference's XML reader does;
* an untyped business transaction is hashed (the reference fails); JSON booleans are
  ``true``/``false``; an empty quantity element is left out; ``rdfs:comment`` never counts;
* a ``cbvmda:`` prefix used without a declaration means ``urn:epcglobal:cbv:mda``, as
  EPCIS 1.2 XML (DSCSA) declares it.

A repository's ``ignoreFields`` list (a document-level extension of that local name, seen
in the vectors) names top-level extension fields to leave out: see :func:`ignore_fields_of`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from packtrail.epcis.document import EPCISDocument, Event
from packtrail.epcis.errors import EPCISError
from packtrail.epcis.vocabulary import VOCABULARIES
from packtrail.gs1.checkdigit import gs1_check_digit

__all__ = [
    "ALGORITHMS",
    "CBV_VERSION",
    "DuplicateDetector",
    "EventHasher",
    "canonical_value",
    "document_hashes",
    "duplicate_groups",
    "event_hash",
    "fill_missing_event_ids",
    "ignore_fields_of",
    "prehash_string",
    "with_event_ids",
]

CBV_VERSION: Final = "CBV2.0"
"""The version of the hash algorithm written into every Event Hash ID (``?ver=CBV2.0``)."""

ALGORITHMS: Final[dict[str, str]] = {
    "sha-256": "sha256",
    "sha-384": "sha384",
    "sha-512": "sha512",
    "sha3-256": "sha3_256",
    "sha3-384": "sha3_384",
    "sha3-512": "sha3_512",
}
"""Digest algorithms by their name in the IANA Named Information registry -> :mod:`hashlib` name."""

# --- canonical values -------------------------------------------------------------------------

_CACHE_LIMIT: Final = 1 << 16
"""Entries kept per memo table before it is emptied (bounds memory when streaming)."""

_CBV_URN_TO_WEB: Final = (
    ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
    ("urn:epcglobal:cbv:comp:", "https://ref.gs1.org/cbv/Comp-"),
)
"""CBV URN prefixes and the GS1 Web URI prefixes that replace them (CBV 2.0, rule 14). The CBV
ontology's ``owl:sameAs`` links define these six; the reference implementation omits ``comp``."""

_NUMBER_START: Final = frozenset("0123456789+-.")

# One character of an EPC serial, lot or asset reference as the EPC URI syntax allows it
# (GS1 EPC TDS section 6), an escape counting as one character.
_UNIT: Final = r"(?:%2[125-9A-Fa-f]|%3[0-9A-Fa-f]|%4[1-9A-Fa-f]|%5[0-9AaFf]|%6[1-9A-Fa-f]|%7[0-9Aa]|[!')(*+,.0-9:;=A-Za-z_-])"
# One character of a component/part reference (AI 8010, character set 39).
_CPI_UNIT: Final = r"(?:%2[3dfDF]|%3[0-9]|%4[1-9A-Fa-f]|%5[0-9Aa]|[0-9A-Z-])"


def _epc(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.replace("U", _UNIT).replace("C", _CPI_UNIT), re.ASCII)


# Company prefix (6-12 digits) and reference; the digit totals are checked in code.
_SGTIN: Final = _epc(r"urn:epc:id:sgtin:([0-9]{6,12})\.([0-9]{1,7})\.(U{1,20})")
_SSCC: Final = _epc(r"urn:epc:id:sscc:([0-9]{6,12})\.([0-9]{5,11})")
_SGLN: Final = _epc(r"urn:epc:id:sgln:([0-9]{6,12})\.([0-9]{0,6})\.(U{1,20})")
_GRAI: Final = _epc(r"urn:epc:id:grai:(?:([0-9]{6,11})\.([0-9]{1,6})|([0-9]{12})\.\.)\.U{1,16}")
_GIAI: Final = _epc(r"urn:epc:id:giai:([0-9]{6,12})\.(U+)")
_GSRN: Final = _epc(r"urn:epc:id:gsrn:([0-9]{6,12})\.([0-9]{5,11})")
_GSRNP: Final = _epc(r"urn:epc:id:gsrnp:([0-9]{6,12})\.([0-9]{5,11})")
_GDTI_TAIL: Final = _epc(r"U{1,20}")
_CPI: Final = _epc(r"urn:epc:id:cpi:([0-9]{6,12})\.(C+)\.([0-9]{1,12})")
_SGCN: Final = _epc(r"urn:epc:id:sgcn:(?:([0-9]{6,11})\.([0-9]{1,6})|([0-9]{12})\.)\.([0-9]{1,12})")
_GINC: Final = _epc(r"urn:epc:id:ginc:([0-9]{6,12})\.(U+)")
_GSIN: Final = _epc(r"urn:epc:id:gsin:([0-9]{6,12})\.([0-9]{4,10})")
_ITIP: Final = _epc(r"urn:epc:id:itip:([0-9]{6,12})\.([0-9]{1,7})\.([0-9]{2})\.([0-9]{2})\.(U{1,20})")
_UPUI: Final = _epc(r"urn:epc:id:upui:([0-9]{6,12})\.([0-9]{1,7})\.(U{1,28})")
_PGLN: Final = _epc(r"urn:epc:id:pgln:(?:([0-9]{6,11})\.([0-9]{1,6})|([0-9]{12})\.)")
_LGTIN: Final = _epc(r"urn:epc:class:lgtin:([0-9]{6,12})\.([0-9]{1,7})\.(U{1,20})")
_PAT_SGTIN: Final = _epc(r"urn:epc:idpat:sgtin:([0-9]{6,12})\.([0-9]{1,7})\.\*")
_PAT_GRAI: Final = _epc(r"urn:epc:idpat:grai:(?:([0-9]{6,11})\.([0-9]{1,6})|([0-9]{12})\.\.)\.\*")
_PAT_GDTI: Final = _epc(r"urn:epc:idpat:gdti:(?:([0-9]{6,11})\.([0-9]{1,6})|([0-9]{12})\.\.)\.\*")
_PAT_SGCN: Final = _epc(r"urn:epc:idpat:sgcn:(?:([0-9]{6,11})\.([0-9]{1,6})|([0-9]{12})\.\.)\.\*")
_PAT_CPI: Final = _epc(r"urn:epc:idpat:cpi:([0-9]{6,12})\.(C+)\.\*")
_PAT_ITIP: Final = _epc(r"urn:epc:idpat:itip:([0-9]{6,12})\.([0-9]{1,7})\.([0-9]{2})\.([0-9]{2})\.\*")
_PAT_UPUI: Final = _epc(r"urn:epc:idpat:upui:([0-9]{6,12})\.([0-9]{1,7})\.\*")

_DL: Final = "https://id.gs1.org/"
# Digital Link characters the EPC URI syntax leaves unescaped but GS1 Digital Link escapes.
_DL_ESCAPES: Final = str.maketrans(
    {"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B", ",": "%2C", ":": "%3A"}
)
_NEEDS_ESCAPE: Final = frozenset("!()*+,:")

_KEY_WORDS: Final = (
    "01|gtin|8006|itip|8010|cpid|414|gln|417|party|8017|gsrnp|8018|gsrn|255|gcn|00|sscc|253|gdti|"
    "401|ginc|402|gsin|8003|grai|8004|giai"
)
# A web URI with a GS1 key in its path: /key/ followed by at least four digits and more.
_DL_CANDIDATE: Final = re.compile(rf"https?:[^?#]*/(?:{_KEY_WORDS})/[0-9]{{4}}[^/]", re.ASCII)
_SHORT_NAMES: Final = (
    ("/gtin/", "/01/"),
    ("/itip/", "/8006/"),
    ("/cpid/", "/8010/"),
    ("/gln/", "/414/"),
    ("/party/", "/417/"),
    ("/gsrnp/", "/8017/"),
    ("/gsrn/", "/8018/"),
    ("/gcn/", "/255/"),
    ("/sscc/", "/00/"),
    ("/gdti/", "/253/"),
    ("/ginc/", "/401/"),
    ("/gsin/", "/402/"),
    ("/grai/", "/8003/"),
    ("/giai/", "/8004/"),
    ("/cpv/", "/22/"),
    ("/lot/", "/10/"),
    ("/ser/", "/21/"),
)
# The reference implementation leaves the dots of the host unescaped; so does this, to agree.
_ON_RESOLVER: Final = re.compile(
    r"https://id.gs1.org/(?:01|8006|8010|414|417|8017|8018|255|00|253|401|402|8003|8004)/[0-9]{4}[^/]",
    re.ASCII,
)
_PRIMARY_KEYS: Final = (
    "/00/",
    "/01/",
    "/253/",
    "/255/",
    "/401/",
    "/402/",
    "/414/",
    "/417/",
    "/8003/",
    "/8004/",
    "/8006/",
    "/8010/",
    "/8017/",
    "/8018/",
)
_GTIN14: Final = re.compile(r"https://id.gs1.org/01/[0-9]{14}", re.ASCII)
_GTIN_SHORT: Final = ((re.compile(r"https://id.gs1.org/01/[0-9]{13}", re.ASCII), "0"),
                      (re.compile(r"https://id.gs1.org/01/[0-9]{12}", re.ASCII), "00"),
                      (re.compile(r"https://id.gs1.org/01/[0-9]{8}", re.ASCII), "000000"))  # fmt: skip
# Characters a canonical Digital Link value may hold (no escapes, no slash).
_V: Final = r"[\"'\-.0-9;-?A-Z_a-z]"
_CPV_LAST: Final = re.compile(
    rf"https://id.gs1.org/(?:8006/[0-9]{{18}}|01/[0-9]{{14}})/22/{_V}{{0,20}}$", re.ASCII
)
_CPV_INNER: Final = re.compile(
    r"https://id.gs1.org/(?:8006/[0-9]{18}|01/[0-9]{14})/22/[/\"'\-.0-9;-?A-Z_a-z]{0,20}$", re.ASCII
)
_LOT_AND_SERIAL: Final = re.compile(
    rf"https://id.gs1.org/(?:8006/[0-9]{{18}}|01/[0-9]{{14}})/10/{_V}{{0,20}}/21/{_V}{{0,20}}$", re.ASCII
)
_CANONICAL_DL: Final = re.compile(
    r"https://id.gs1.org/(?:"
    r"00/[0-9]{18}"
    rf"|01/[0-9]{{14}}(?:/21/{_V}{{0,20}}|/10/{_V}{{0,20}}|/235/{_V}{{0,28}})?"
    rf"|253/[0-9]{{13}}{_V}{{0,17}}"
    r"|255/[0-9]{13}[0-9]{0,12}"
    rf"|401/{_V}{{0,30}}"
    r"|402/[0-9]{17}"
    rf"|414/[0-9]{{13}}(?:/254/{_V}{{0,20}})?"
    r"|417/[0-9]{13}"
    rf"|8003/[0-9]{{14}}{_V}{{0,16}}"
    rf"|8004/{_V}{{0,30}}"
    rf"|8006/[0-9]{{18}}(?:/21/{_V}{{0,20}}|/10/{_V}{{0,20}})?"
    r"|8010/[#\-/0-9A-Z]{0,30}(?:/8011/[0-9]{0,12})?"
    r"|8017/[0-9]{18}"
    r"|8018/[0-9]{18}"
    r")$",
    re.ASCII,
)

_CHECKED: dict[str, str] = {}


def _checked(digits: str) -> str:
    """``digits`` followed by their GS1 check digit (memoised: the same GTIN recurs on every pack)."""
    found = _CHECKED.get(digits)
    if found is None:
        if len(_CHECKED) >= _CACHE_LIMIT:
            _CHECKED.clear()
        found = _CHECKED[digits] = digits + gs1_check_digit(digits)
    return found


def _escape(value: str) -> str:
    return value.translate(_DL_ESCAPES) if not _NEEDS_ESCAPE.isdisjoint(value) else value


def _units(value: str) -> int:
    """How many characters an EPC component has, an escape (``%2F``) counting as one."""
    return len(value) - 2 * value.count("%")


def _gtin(cp: str, ref: str) -> str | None:
    """The GTIN-14 of an SGTIN-like company prefix and item reference (indicator digit first)."""
    if len(cp) + len(ref) != 13:
        return None
    return _checked(ref[0] + cp + ref[1:])


def _twelve(m: re.Match[str], base: int) -> str | None:
    """Company prefix plus reference of a 12-digit GS1 key (GLN, GRAI, GDTI, GCN, PGLN), or None."""
    cp = m.group(base) or m.group(base + 2)
    ref = m.group(base + 1) or ""
    return cp + ref if len(cp) + len(ref) == 12 else None


def _epc_to_dl(uri: str) -> str | None:
    """The constrained canonical Digital Link of an EPC URI, EPC class or EPC pattern URI, or None."""
    if uri.startswith("urn:epc:id:"):
        scheme = uri[11 : uri.find(":", 11)]
        if scheme == "sgtin":
            m = _SGTIN.fullmatch(uri)
            if m and (gtin := _gtin(m[1], m[2])):
                return f"{_DL}01/{gtin}/21/{_escape(m[3])}"
        elif scheme == "sscc":
            m = _SSCC.fullmatch(uri)  # SSCCs are unique: no memo for their check digits
            if m and len(m[1]) + len(m[2]) == 17:
                key = m[2][0] + m[1] + m[2][1:]
                return f"{_DL}00/{key}{gs1_check_digit(key)}"
        elif scheme == "sgln":
            m = _SGLN.fullmatch(uri)
            if m and len(m[1]) + len(m[2]) == 12:
                gln = _checked(m[1] + m[2])
                return f"{_DL}414/{gln}" if m[3] == "0" else f"{_DL}414/{gln}/254/{_escape(m[3])}"
        elif scheme == "grai":
            m = _GRAI.fullmatch(uri)
            if m and (key := _twelve(m, 1)):
                return f"{_DL}8003/{_checked('0' + key)}{_escape(uri[30:])}"
        elif scheme == "giai":
            m = _GIAI.fullmatch(uri)
            if m and _units(m[2]) <= 30 - len(m[1]):
                return f"{_DL}8004/{m[1]}{_escape(m[2])}"
        elif scheme == "gsrn" or scheme == "gsrnp":
            m = (_GSRN if scheme == "gsrn" else _GSRNP).fullmatch(uri)
            if m and len(m[1]) + len(m[2]) == 17:
                return f"{_DL}{'8018' if scheme == 'gsrn' else '8017'}/{_checked(m[1] + m[2])}"
        elif scheme == "gdti":
            return _gdti(uri)
        elif scheme == "cpi":
            m = _CPI.fullmatch(uri)
            if m and _units(m[2]) <= 30 - len(m[1]):
                return f"{_DL}8010/{_escape(m[1] + m[2])}/8011/{m[3]}"
        elif scheme == "sgcn":
            m = _SGCN.fullmatch(uri)
            if m and (key := _twelve(m, 1)):
                return f"{_DL}255/{_checked(key)}{m[4]}"
        elif scheme == "ginc":
            m = _GINC.fullmatch(uri)
            if m and _units(m[2]) <= 30 - len(m[1]):
                return f"{_DL}401/{m[1]}{_escape(m[2])}"
        elif scheme == "gsin":
            m = _GSIN.fullmatch(uri)
            if m and len(m[1]) + len(m[2]) == 16:
                return f"{_DL}402/{_checked(m[1] + m[2])}"
        elif scheme == "itip":
            m = _ITIP.fullmatch(uri)
            if m and (gtin := _gtin(m[1], m[2])):
                return f"{_DL}8006/{gtin}{m[3]}{m[4]}/21/{_escape(m[5])}"
        elif scheme == "upui":
            m = _UPUI.fullmatch(uri)
            if m and (gtin := _gtin(m[1], m[2])):
                return f"{_DL}01/{gtin}/235/{_escape(m[3])}"
        elif scheme == "pgln":
            m = _PGLN.fullmatch(uri)
            if m and (key := _twelve(m, 1)):
                return f"{_DL}417/{_checked(key)}"
        return None
    if uri.startswith("urn:epc:class:lgtin:"):
        m = _LGTIN.fullmatch(uri)
        if m and (gtin := _gtin(m[1], m[2])):
            return f"{_DL}01/{gtin}/10/{_escape(m[3])}"
        return None
    if uri.startswith("urn:epc:idpat:"):
        return _pattern_to_dl(uri)
    return None


def _gdti(uri: str) -> str | None:
    # The reference grammar runs the document type straight into the serial: "CP.DOCTYPE" then
    # 1-20 serial characters, the serial starting after the second dot (position 30).
    rest = uri[16:]
    dot = rest.find(".")
    cp = rest[:dot]
    if not 6 <= len(cp) <= 12 or not (cp.isascii() and cp.isdigit()):
        return None
    if len(cp) == 12:
        doc_type = ""
        if rest[dot + 1 : dot + 2] != ".":
            return None
        tail = rest[dot + 2 :]
    else:
        doc_type = rest[dot + 1 : dot + 13 - len(cp)]
        if len(doc_type) != 12 - len(cp) or not (doc_type.isascii() and doc_type.isdigit()):
            return None
        tail = rest[dot + 13 - len(cp) :]
    if not _GDTI_TAIL.fullmatch(tail):
        return None
    return f"{_DL}253/{_checked(cp + doc_type)}{_escape(uri[30:])}"


def _pattern_to_dl(uri: str) -> str | None:
    scheme = uri[14 : uri.find(":", 14)]
    if scheme == "sgtin":
        m = _PAT_SGTIN.fullmatch(uri)
        if m and (gtin := _gtin(m[1], m[2])):
            return f"{_DL}01/{gtin}"
    elif scheme in ("grai", "gdti", "sgcn"):
        m = {"grai": _PAT_GRAI, "gdti": _PAT_GDTI, "sgcn": _PAT_SGCN}[scheme].fullmatch(uri)
        if m and (key := _twelve(m, 1)):
            if scheme == "grai":
                return f"{_DL}8003/{_checked('0' + key)}"
            return f"{_DL}{'253' if scheme == 'gdti' else '255'}/{_checked(key)}"
    elif scheme == "cpi":
        m = _PAT_CPI.fullmatch(uri)
        if m and _units(m[2]) <= 30 - len(m[1]):
            return f"{_DL}8010/{_escape(m[1] + m[2])}"
    elif scheme == "itip":
        m = _PAT_ITIP.fullmatch(uri)
        if m and (gtin := _gtin(m[1], m[2])):
            return f"{_DL}8006/{gtin}{m[3]}{m[4]}"
    elif scheme == "upui":
        m = _PAT_UPUI.fullmatch(uri)
        if m and (gtin := _gtin(m[1], m[2])):
            return f"{_DL}01/{gtin}"
    return None


def _web_to_dl(uri: str) -> str | None:
    """The constrained canonical form of a GS1 Digital Link URI (CBV 2.0 rule 18), or None."""
    if not _DL_CANDIDATE.match(uri):
        return None
    query = uri.find("?")
    if query >= 0:
        uri = uri[:query]
    for short, ai in _SHORT_NAMES:
        if short in uri:
            uri = uri.replace(short, ai)
    if not _ON_RESOLVER.match(uri):
        for key in _PRIMARY_KEYS:
            at = uri.find(key)
            if at >= 0:
                uri = "https://id.gs1.org" + uri[at:]
                break
    if not _GTIN14.match(uri):
        for short_gtin, zeros in _GTIN_SHORT:
            if short_gtin.match(uri):
                uri = uri.replace("/01/", "/01/" + zeros)
                break
    if "/22/" in uri:
        at = uri.find("/22/")
        if _CPV_LAST.match(uri):
            uri = uri[:at]
        elif _CPV_INNER.match(uri):
            rest = uri[at + 4 :]
            uri = uri[:at] + rest[rest.find("/") :]
    if "/10/" in uri and _LOT_AND_SERIAL.match(uri):
        at = uri.find("/10/")
        rest = uri[at + 4 :]
        uri = uri[:at] + rest[rest.find("/") :]
    return uri if _CANONICAL_DL.match(uri) else None


def _number(text: str) -> str:
    """``text`` as the reference implementation writes numbers (``1.50`` -> ``1.5``, ``+7.0`` -> ``7``)."""
    try:
        number = float(text)
        text = str(int(number)) if int(number) == number else str(number)
    except (ValueError, OverflowError):  # not a number, or infinite/NaN: kept as written
        pass
    return text


_CANONICAL: dict[str, str] = {}


def canonical_value(text: str) -> str:
    """One value as it appears in a pre-hash string (leading/trailing white space already removed).

    Compact ``gs1:``/``cbv:`` names and CBV URNs become GS1 Web URIs, numbers lose trailing zeros,
    EPC URNs and Digital Links become constrained canonical Digital Links; other text is kept.

    >>> canonical_value("urn:epc:id:sscc:4012345.0000000333")
    'https://id.gs1.org/00/040123450000003338'
    >>> canonical_value("https://example.com/gtin/9780345418913/ser/765tz?abc=1")
    'https://id.gs1.org/01/09780345418913/21/765tz'
    >>> canonical_value("urn:epcglobal:cbv:disp:in_transit"), canonical_value("gs1:Temperature")
    ('https://ref.gs1.org/cbv/Disp-in_transit', 'https://gs1.org/voc/Temperature')
    >>> canonical_value("12.500"), canonical_value("urn:epcglobal:cbv:bt:4012345000009:ASN1099")
    ('12.5', 'urn:epcglobal:cbv:bt:4012345000009:ASN1099')
    """
    found = _CANONICAL.get(text)
    if found is not None:
        return found
    value = text
    if value.startswith("gs1:"):
        value = value.replace("gs1:", "https://gs1.org/voc/")
    elif value.startswith("cbv:"):
        value = value.replace("cbv:", "https://ref.gs1.org/cbv/")
    if "urn:epcglobal:cbv:" in value:
        for urn, web in _CBV_URN_TO_WEB:
            value = value.replace(urn, web)
    if value and (value[0] in _NUMBER_START or value[0].isdigit()):
        value = _number(value)
    if "." in value:
        if value.startswith("urn:epc:"):
            value = _epc_to_dl(value) or value
        elif value.startswith("http"):
            value = _web_to_dl(value) or value
    if len(_CANONICAL) >= _CACHE_LIMIT:
        _CANONICAL.clear()
    _CANONICAL[text] = value
    return value


_TIMESTAMP: Final = re.compile(
    r"([0-9]{4})-?([0-9]{2})-?([0-9]{2})(?:[Tt ]([0-9]{2}):?([0-9]{2})(?::?([0-9]{2})(?:[.,]([0-9]+))?)?)?"
    r"\s*(?:([Zz])|([+-])([0-9]{2})(?::?([0-9]{2}))?)?",
    re.ASCII,
)
# The usual shape: seconds, at most three decimals, an offset. Offsets are whole minutes, so
# only the date, hour and minute change when such a time is brought to UTC.
_PLAIN_TIMESTAMP: Final = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}):([0-9]{2}):([0-5][0-9])(?:\.([0-9]{1,3}))?(Z|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)
_MINUTES: dict[str, str | None] = {}


def _utc_minute(day: str, hour: str, minute: str, offset: str) -> str | None:
    """``YYYY-MM-DDTHH:MM`` in UTC for a local date, hour, minute and offset; None if no such time."""
    key = f"{day}T{hour}:{minute}{offset}"
    found = _MINUTES.get(key, "")
    if found != "":
        return found
    try:
        moment = datetime(int(day[:4]), int(day[5:7]), int(day[8:10]), int(hour), int(minute))
        if offset != "Z":
            shift = int(offset[1:3]) * 60 + int(offset[4:6])
            moment -= timedelta(minutes=shift if offset[0] == "+" else -shift)
        value: str | None = moment.isoformat(timespec="minutes")
    except (ValueError, OverflowError):
        value = None
    if len(_MINUTES) >= _CACHE_LIMIT:
        _MINUTES.clear()
    _MINUTES[key] = value
    return value


def _timestamp(text: str) -> str:
    """``text`` in UTC with milliseconds (``2024-03-01T09:00:00.000Z``); kept as is if no ISO 8601 time."""
    size = len(text)
    if size == 29:  # YYYY-MM-DDTHH:MM:SS.fff+HH:MM, its minute seen before (the key was checked then)
        minute = _MINUTES.get(text[:16] + text[23:])
        if minute is not None and text[16] == ":" and text[19] == "." and text[17] < "6":
            rest = text[17:19] + text[20:23]
            if rest.isascii() and rest.isdigit():
                return f"{minute}{text[16:23]}Z"
    if (size == 24 or size == 29) and text[19] == "." and text[10] == "T":
        digits = text[:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19] + text[20:23]
        if (
            digits.isascii()
            and digits.isdigit()
            and text[4] == text[7] == "-"
            and text[13] == text[16] == ":"
        ):
            if size == 24 and text[23] == "Z":
                return text  # already canonical, or no valid time at all: either way kept as written
            if size == 29 and text[23] in "+-" and text[26] == ":" and text[17] < "6":
                offset = text[23:]
                if (offset[1:3] + offset[4:]).isascii() and (offset[1:3] + offset[4:]).isdigit():
                    minute = _utc_minute(text[:10], text[11:13], text[14:16], offset)
                    if minute is not None:
                        return f"{minute}{text[16:23]}Z"
    m = _PLAIN_TIMESTAMP.fullmatch(text)
    if m is not None:
        minute = _utc_minute(m[1], m[2], m[3], m[6])
        if minute is not None:
            return f"{minute}:{m[4]}.{(m[5] or '').ljust(3, '0')}Z"
    m = _TIMESTAMP.fullmatch(text)
    if m is None:
        return text
    year, month, day, hour, minute_, second, fraction, _, sign, off_h, off_m = m.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute_ or 0), int(second or 0)
        )
        millis = int((fraction or "").ljust(3, "0")[:3])
        if fraction and len(fraction) > 3 and fraction[3] >= "5":
            millis += 1
        shift = (int(off_h) * 60 + int(off_m or 0)) * (-1 if sign == "-" else 1) if sign else 0
        moment += timedelta(milliseconds=millis, minutes=-shift)
    except (ValueError, OverflowError):
        return text
    return f"{moment.isoformat(timespec='milliseconds')}Z"


_GTIN_PREFIXES: dict[str, str] = {}
_PLAIN_SGTIN: Final = re.compile(r"urn:epc:id:sgtin:([0-9]{6,12}\.[0-9]{1,7})\.([0-9A-Za-z]{1,20})", re.ASCII)
"""An SGTIN with a plain alphanumeric serial: its Digital Link is the GTIN's plus the serial as is."""


def _sgtin_prefix(company_and_item: str) -> str:
    """``https://id.gs1.org/01/<GTIN-14>/21/`` for an SGTIN's ``CompanyPrefix.ItemReference``; ``""`` if invalid."""
    found = _GTIN_PREFIXES.get(company_and_item)
    if found is None:
        cp, _, item = company_and_item.partition(".")
        ok = (
            6 <= len(cp) <= 12
            and len(cp) + len(item) == 13
            and (cp + item).isascii()
            and (cp + item).isdigit()
        )
        found = f"{_DL}01/{_checked(item[0] + cp + item[1:])}/21/" if ok else ""
        if len(_GTIN_PREFIXES) >= _CACHE_LIMIT:
            _GTIN_PREFIXES.clear()
        _GTIN_PREFIXES[company_and_item] = found
    return found


def _is_plain_gtin_serial_link(text: str) -> bool:
    """True for ``https://id.gs1.org/01/<14 digits>/21/...`` (the serial is not checked here)."""
    return (
        text.startswith("https://id.gs1.org/01/")
        and text[36:40] == "/21/"
        and text[22:36].isascii()
        and text[22:36].isdigit()
    )


def _identifier(text: str) -> str:
    """:func:`canonical_value` for an EPC: the same result, faster for the common serialised packs.

    An SGTIN with a plain alphanumeric serial and a Digital Link that is already canonical are
    handled without regular expressions and without filling the memo table (serials are unique).
    """
    if text.startswith("urn:epc:id:sgtin:"):
        dot = text.find(".", text.find(".", 17) + 1)
        if dot > 0:
            serial = text[dot + 1 :]
            if 0 < len(serial) <= 20 and serial.isascii() and serial.isalnum():
                prefix = _sgtin_prefix(text[17:dot])
                if prefix:
                    return prefix + serial
    elif text.startswith("https://id.gs1.org/01/"):
        serial = text[40:]
        if (
            0 < len(serial) <= 20
            and serial.isascii()
            and serial.isalnum()
            and _is_plain_gtin_serial_link(text)
        ):
            return text
    elif text.startswith("https://id.gs1.org/00/"):
        if len(text) == 40 and text[22:].isascii() and text[22:].isdigit():
            return text
    elif text.startswith("urn:epc:id:sscc:"):
        dot = text.find(".", 16)
        key = text[dot + 2 :] if dot > 0 else ""
        cp = text[16:dot]
        if 22 <= dot <= 28 and len(text) == 34 and (cp + key).isascii() and (cp + key).isdigit():
            key = text[dot + 1] + cp + key
            return f"{_DL}00/{key}{gs1_check_digit(key)}"
        return _epc_to_dl(text) or text
    return canonical_value(text)


# --- the canonical property order -----------------------------------------------------------

_TIME: Final = "time"
"""Kind of a timestamp field."""
_IDENTIFIER: Final = "identifier"
"""Kind of an identifier field (canonicalised without the memo table: most identifiers occur once)."""


def _terms(name: str) -> dict[str, str]:
    """Bare CBV word -> GS1 Web URI, for a field whose JSON-LD context expands bare words."""
    vocab = VOCABULARIES[name]
    return {term: vocab.web_uri(term) for term in vocab.terms}


@dataclass(frozen=True, slots=True)
class _Struct:
    """A field with structure: its children in canonical order (name, kind, structure)."""

    order: tuple[tuple[str, Any, Any], ...]
    names: frozenset[str]

    @classmethod
    def of(cls, *order: tuple[str, Any, Any]) -> _Struct:
        return cls(order, frozenset(name for name, _, _ in order))


@dataclass(frozen=True, slots=True)
class _List:
    """A JSON-LD list field whose XML form repeats one element (``epcList`` -> ``epc``)."""

    item: str
    struct: _Struct | None


_QUANTITY_ELEMENT: Final = _Struct.of(("epcClass", None, None), ("quantity", None, None), ("uom", None, None))
_QUANTITY_KEYS: Final = frozenset(("epcClass", "quantity", "uom"))
_QUANTITY: Final = _List("quantityElement", _QUANTITY_ELEMENT)
_EPCS: Final = _List("epc", None)
_DISPOSITIONS: Final = _terms("disposition")
_WHERE: Final = _Struct.of(("id", None, None))
_SENSOR_METADATA: Final = _Struct.of(
    ("time", _TIME, None),
    ("startTime", _TIME, None),
    ("endTime", _TIME, None),
    ("deviceID", None, None),
    ("deviceMetadata", None, None),
    ("rawData", None, None),
    ("dataProcessingMethod", None, None),
    ("bizRules", None, None),
)
_SENSOR_REPORT: Final = _Struct.of(
    ("type", _terms("measurementType"), None),
    ("exception", _terms("sensorAlertType"), None),
    ("deviceID", None, None),
    ("deviceMetadata", None, None),
    ("rawData", None, None),
    ("dataProcessingMethod", None, None),
    ("time", _TIME, None),
    ("microorganism", None, None),
    ("chemicalSubstance", None, None),
    ("value", None, None),
    ("component", _terms("component"), None),
    ("stringValue", None, None),
    ("booleanValue", None, None),
    ("hexBinaryValue", None, None),
    ("uriValue", None, None),
    ("minValue", None, None),
    ("maxValue", None, None),
    ("meanValue", None, None),
    ("sDev", None, None),
    ("percRank", None, None),
    ("percValue", None, None),
    ("uom", None, None),
    ("coordinateReferenceSystem", None, None),
)
_EVENT: Final = _Struct.of(
    ("eventTime", _TIME, None),
    ("eventTimeZoneOffset", None, None),
    ("certificationInfo", None, None),
    ("epcList", None, _EPCS),
    ("parentID", _IDENTIFIER, None),
    ("inputEPCList", None, _EPCS),
    ("childEPCs", None, _EPCS),
    ("quantityList", None, _QUANTITY),
    ("childQuantityList", None, _QUANTITY),
    ("inputQuantityList", None, _QUANTITY),
    ("outputEPCList", None, _EPCS),
    ("outputQuantityList", None, _QUANTITY),
    ("action", None, None),
    ("transformationID", None, None),
    ("bizStep", _terms("bizStep"), None),
    ("disposition", _DISPOSITIONS, None),
    ("persistentDisposition", None, _Struct.of(("set", _DISPOSITIONS, None), ("unset", _DISPOSITIONS, None))),
    ("readPoint", None, _WHERE),
    ("bizLocation", None, _WHERE),
    (
        "sensorElementList",
        None,
        _List(
            "sensorElement",
            _Struct.of(("sensorMetadata", None, _SENSOR_METADATA), ("sensorReport", None, _SENSOR_REPORT)),
        ),
    ),
)
"""CBV 2.0 section 8.9's canonical property order, as the test vectors apply it: business
transactions, sources, destinations and ILMD are sorted in with the extensions after it."""

_SIMPLE: Final = "simple"
_LIST: Final = "list"


def _how(kind: Any, sub: Any) -> str:
    """Which fast path :meth:`EventHasher.prehash` takes for an event field."""
    if isinstance(sub, _List):
        return _LIST
    if sub is _WHERE:
        return "where"
    if sub is not None:
        return "struct"
    return _TIME if kind is _TIME else _SIMPLE


_EVENT_FIELDS: Final = {
    name: (index, kind, sub, _how(kind, sub)) for index, (name, kind, sub) in enumerate(_EVENT.order)
}
_EVENT_SIZE: Final = len(_EVENT.order)

_PAIR_LISTS: Final = {
    "bizTransactionList": ("bizTransaction", _terms("bizTransactionType")),
    "sourceList": ("source", _terms("sourceDestType")),
    "destinationList": ("destination", _terms("sourceDestType")),
}
"""Lists of (type, value) pairs: written ``type=...`` then the value, never re-ordered inside."""

_PAIRS: dict[tuple[str, str, str], str] = {}
"""("source" or "destination", type, value as written) -> its part of the pre-hash string."""

_NOT_HASHED: Final = frozenset({"type", "recordTime", "eventID", "errorDeclaration"})
"""Event fields outside the hash: set by the capturing repository, or the event's type (written first)."""
_SKIPPED_KEYS: Final = frozenset({"#text", "rdfs:comment", "comment"})
"""Keys never hashed anywhere: an XML element's text (hashed as its value) and comments."""
_UNSORTED: Final = frozenset({"bizTransaction", "source", "destination"})
_WELL_KNOWN: Final = {
    "cbvmda": "urn:epcglobal:cbv:mda",
    "gs1": "https://gs1.org/voc/",
    "cbv": "https://ref.gs1.org/cbv/",
    "epcis": "https://ref.gs1.org/epcis/",
}
"""Prefixes the standard context declares, for documents that use them without declaring them."""


@dataclass(slots=True)
class _Rest:
    """What is left of a structured field after its known children went into the ordered part."""

    name: str
    text: Any
    children: list[Any]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise EPCISError(
        "an event value cannot be hashed", expected="text, number, object or list", found=type(value).__name__
    )


def _expanded_names(ignore: Iterable[str], namespaces: Mapping[str, str]) -> frozenset[str]:
    names = set()
    for name in ignore:
        prefix, colon, local = name.partition(":")
        if colon and not name.startswith("{") and prefix in namespaces:
            names.add(f"{{{namespaces[prefix]}}}{local}")
        elif colon and not name.startswith("{") and prefix in _WELL_KNOWN:
            names.add(f"{{{_WELL_KNOWN[prefix]}}}{local}")
        else:
            names.add(name)
    return frozenset(names)


class EventHasher:
    """Pre-hash strings and Event Hash IDs for the events of one document.

    ``namespaces`` maps the extension prefixes the events use to namespace URIs (the
    document's :attr:`~packtrail.epcis.document.EPCISDocument.namespaces`); ``ignore`` names
    top-level fields to leave out (``"prefix:name"`` or ``"{namespace}name"``); ``algorithm``
    is a name from :data:`ALGORITHMS`.

    >>> hasher = EventHasher({"ex": "https://ns.example.com/"}, ignore=["ex:captureID"])
    >>> hasher.prehash({"type": "ObjectEvent", "action": "ADD", "ex:captureID": "7", "ex:note": " a "})
    'eventType=ObjectEventaction=ADD{https://ns.example.com/}note=a'
    """

    __slots__ = ("_digest", "_ignore", "_names", "_namespaces", "algorithm")

    def __init__(
        self, namespaces: Mapping[str, str], *, ignore: Iterable[str] = (), algorithm: str = "sha-256"
    ) -> None:
        digest = ALGORITHMS.get(algorithm)
        if digest is None:
            raise ValueError(f"unknown hash algorithm {algorithm!r}: expected one of {', '.join(ALGORITHMS)}")
        self.algorithm = algorithm
        """The digest algorithm's name in the ``ni:`` URI (``"sha-256"``)."""
        self._digest = getattr(hashlib, digest)
        self._namespaces = dict(namespaces)
        self._ignore = _NOT_HASHED | _expanded_names(ignore, self._namespaces)
        self._names: dict[str, str] = {}

    def _name(self, key: str) -> str:
        """A key as it appears in the pre-hash string: ``{namespace}local`` for a prefixed name."""
        name = self._names.get(key)
        if name is None:
            prefix, _, local = key.partition(":")
            namespace = self._namespaces.get(prefix) or _WELL_KNOWN.get(prefix)
            name = f"{{{namespace}}}{local}" if namespace is not None else key
            if len(self._names) >= _CACHE_LIMIT:
                self._names.clear()
            self._names[key] = name
        return name

    # -- the pre-hash string -------------------------------------------------------------

    def prehash(self, event: object) -> str:
        """The canonical pre-hash string of ``event`` (CBV 2.0 section 8.9); anything but an object
        raises :class:`EPCISError` (typed ``object`` so that compiled code checks it here, not at the call)."""
        if not isinstance(event, dict):
            raise EPCISError("an event must be an object", expected="object", found=type(event).__name__)
        if "eventTime" not in event and "action" not in event:
            ordered, leftover, _ = self._struct(event, _EVENT, self._ignore)
            return self._finish(event, ordered, leftover)
        # The usual event: with eventTime or action, so no extension is drawn into the ordered part.
        slots: list[str | None] = [None] * _EVENT_SIZE
        rest: list[Any] = []
        skip = self._ignore
        known = _CANONICAL
        for key, value in event.items():
            if value is None or key in skip:
                continue
            spec = _EVENT_FIELDS.get(key)
            if spec is None:
                if key in _SKIPPED_KEYS or key[:1] == "@":
                    continue
                if ":" in key:
                    key = self._name(key)
                    if key in skip:
                        continue
                rest.append((key, value))
                continue
            index, kind, sub, how = spec
            if how is _SIMPLE and isinstance(value, str):
                text = value.strip()
                if text:
                    if kind is _IDENTIFIER:
                        slots[index] = f"{key}={_identifier(text)}"
                        continue
                    if kind is not None:
                        text = kind.get(text, text)
                    found = known.get(text)
                    slots[index] = f"{key}={found if found is not None else canonical_value(text)}"
                continue
            if how is _TIME and isinstance(value, str):
                text = value.strip()
                if text:
                    slots[index] = f"{key}={_timestamp(text)}"
                continue
            if how is _LIST:
                slots[index], left = self._list(key, value, sub)
                if left is not None:
                    rest.append(left)
                continue
            if how == "where" and isinstance(value, dict) and len(value) == 1:
                where = value.get("id")
                if isinstance(where, str):
                    where = where.strip()
                    if where:
                        found = known.get(where)
                        slots[index] = f"{key}id={found if found is not None else canonical_value(where)}"
                    continue
            text, more = self._field(key, value, kind, sub)
            slots[index] = text
            if more:
                rest.extend(more)
        return self._finish(event, "".join([slot for slot in slots if slot]), rest)

    def _finish(self, event: Event, ordered: str, rest: list[Any]) -> str:
        """Put the event type, the ordered part and the sorted tail together."""
        kind = event.get("type")
        head = f"eventType={kind if isinstance(kind, str) else ''}{ordered}"
        if not rest:
            return head
        parts: list[str] = []
        keep_order = False
        for item in rest:
            if isinstance(item, _Rest):
                parts.append(self._rest(item))
                continue
            name, value = item
            pairs = _PAIR_LISTS.get(name)
            if pairs is not None:
                if isinstance(value, list) and not value:
                    continue
                parts.append(self._pairs(name, value, *pairs))
            else:
                self._generic(name, value, parts)
            keep_order = keep_order or name in _UNSORTED
        if len(parts) > 1 and not keep_order:
            parts.sort()
        return head + "".join(parts)

    def hash(self, event: object) -> str:
        """The Event Hash ID of ``event``: ``ni:///sha-256;<hex digest>?ver=CBV2.0``."""
        return f"ni:///{self.algorithm};{self._hashed(event).hexdigest()}?ver={CBV_VERSION}"

    def digest(self, event: object) -> bytes:
        """The raw digest of the pre-hash string (for indexes and duplicate detection)."""
        return bytes(self._hashed(event).digest())

    def _hashed(self, event: object) -> Any:
        prehash = self.prehash(event)
        try:
            data = prehash.encode("utf-8")
        except UnicodeEncodeError as error:  # a lone surrogate: no UTF-8 form, no hash
            raise EPCISError(
                "an event value is not valid Unicode text", found=repr(prehash[error.start : error.end])
            ) from None
        return self._digest(data)

    # -- structured fields -----------------------------------------------------------------

    def _struct(
        self, node: dict[str, Any], struct: _Struct, skip: Collection[str] = _SKIPPED_KEYS
    ) -> tuple[str, list[Any], Any]:
        """The ordered part of a structured field, what is left of it, and its XML text (``#text``)."""
        known: dict[str, Any] = {}
        others: list[tuple[str, Any]] = []
        count = 0
        gather = True
        names = struct.names
        for key, value in node.items():
            if value is None or key in skip or key in _SKIPPED_KEYS or key[:1] == "@":
                continue
            name = self._name(key) if ":" in key else key
            if name in skip:
                continue
            if isinstance(value, list):
                if not value:
                    continue
                count += len(value)
            else:
                count += 1
            if gather and ("eventTime" in name or "action" in name):
                gather = False  # the reference keeps event-level extensions for the sorted tail
            if name in names:
                known[name] = value
            else:
                others.append((name, value))
        parts: list[str] = []
        rest: list[Any] = []
        if gather and count > 1 and others:
            mine = [(n, v) for n, v in others if "{" in n and "/}" in n]
            if mine:
                others = [(n, v) for n, v in others if not ("{" in n and "/}" in n)]
        else:
            mine = []
        if known:
            for name, kind, sub in struct.order:
                if name in known:
                    text, left = self._field(name, known[name], kind, sub)
                    if text:
                        parts.append(text)
                    if left:
                        rest.extend(left)
        if mine:
            strings: list[str] = []
            for name, value in mine:
                self._generic(name, value, strings)
            if len(strings) > 1:
                strings.sort()
            parts.extend(strings)
        rest.extend(others)
        return "".join(parts), rest, node.get("#text")

    def _field(self, name: str, value: Any, kind: Any, sub: Any) -> tuple[str, list[Any]]:
        """A field of the ordered part (a repeated field: each value, sorted) and what is left of it."""
        rest: list[Any] = []
        if isinstance(sub, _List) or not isinstance(value, list):
            text, left = self._child(name, value, kind, sub)
            if left is not None:
                rest.append(left)
            return text, rest
        texts = []
        for item in value:
            text, left = self._child(name, item, kind, sub)
            if text:
                texts.append(text)
            if left is not None:
                rest.append(left)
        texts.sort()
        return "".join(texts), rest

    def _child(
        self, name: str, value: Any, kind: Any, sub: Any
    ) -> tuple[str, _Rest | tuple[str, Any] | None]:
        """One child in the ordered part (``name=value`` plus its own children) and what is left of it."""
        left: _Rest | tuple[str, Any] | None
        if isinstance(sub, _List):
            return self._list(name, value, sub)
        if isinstance(value, dict):
            if sub is _WHERE and len(value) == 1 and isinstance(value.get("id"), str):
                where = value["id"].strip()
                return (f"{name}id={canonical_value(where)}" if where else ""), None
            if sub is None:
                text = value.get("#text")
                hashed = (v is not None and k not in _SKIPPED_KEYS and k[:1] != "@" for k, v in value.items())
                left = (name, value) if any(hashed) else None
                grand = ""
            else:
                grand, children, text = self._struct(value, sub)
                left = _Rest(name, text, children) if children else None
        elif isinstance(value, list):  # a list where one value belongs: hash it like the XML reader would
            texts: list[str] = []
            for item in value:
                text, _ = self._child(name, item, kind, sub)
                if text:
                    texts.append(text)
            return "".join(sorted(texts)), None
        else:
            text, grand, left = value, "", None
        if text is None:
            return (f"{name}{grand}" if grand else ""), left
        text = _text(text)
        if not text:
            return (f"{name}{grand}" if grand else ""), left
        if kind is _TIME:
            text = _timestamp(text)
        elif kind is _IDENTIFIER:
            text = _identifier(text)
        else:
            if kind is not None:
                text = kind.get(text, text)
            text = canonical_value(text)
        return f"{name}={text}{grand}", left

    def _list(self, name: str, value: Any, spec: _List) -> tuple[str, _Rest | None]:
        items = value if isinstance(value, list) else (value,)
        texts: list[str] = []
        left: list[Any] = []
        item_name = spec.item
        struct = spec.struct
        if struct is None:
            # Packs of one product share "urn:epc:id:sgtin:CP.ITEM.": once the first is converted,
            # the others only need their serial checked (the test _identifier applies).
            same = ""
            same_dl = ""
            cut = 0
            for item in items:
                if isinstance(item, str):
                    if same and item.startswith(same):
                        serial = item[cut:]
                        if 0 < len(serial) <= 20 and serial.isascii() and serial.isalnum():
                            texts.append(same_dl + serial)
                            continue
                    text = item.strip()
                    if not text:
                        continue
                    m = _PLAIN_SGTIN.fullmatch(text)
                    if m is not None:
                        prefix = _sgtin_prefix(m[1])
                        if prefix:
                            same, same_dl, cut = text[: m.end(1) + 1], f"{item_name}={prefix}", m.end(1) + 1
                            texts.append(same_dl + m[2])
                            continue
                    canonical = _identifier(text)
                    if canonical is text and _is_plain_gtin_serial_link(text):
                        same, same_dl, cut = text[:40], f"{item_name}={text[:40]}", 40
                    texts.append(f"{item_name}={canonical}")
                elif item is not None:
                    text, rest = self._child(item_name, item, None, None)
                    if text:
                        texts.append(text)
                    if rest is not None:
                        left.append(rest)
        else:
            for item in items:
                if item is None:
                    continue
                if struct is _QUANTITY_ELEMENT and isinstance(item, dict) and _QUANTITY_KEYS.issuperset(item):
                    quantity = self._quantity(item)
                    if quantity is not None:
                        if quantity:
                            texts.append(quantity)
                        continue
                text, rest = self._child(item_name, item, None, struct)
                if text:
                    texts.append(text)
                if rest is not None:
                    left.append(rest)
        if len(texts) > 1:
            texts.sort()
        return (name + "".join(texts) if texts else ""), (_Rest(name, None, left) if left else None)

    @staticmethod
    def _quantity(item: dict[str, Any]) -> str | None:
        """A quantity element with only ``epcClass``, ``quantity`` and ``uom`` (the usual case)."""
        parts = ["quantityElement"]
        for key in ("epcClass", "quantity", "uom"):
            value = item.get(key)
            if value is None:
                continue
            if isinstance(value, (list, dict)):  # not the usual case after all: the general way
                return None
            text = _text(value)
            if text:
                parts.append(f"{key}={_identifier(text) if key == 'epcClass' else canonical_value(text)}")
        return "".join(parts) if len(parts) > 1 else ""

    # -- business transactions, sources, destinations -------------------------------------

    def _pairs(self, name: str, value: Any, item_name: str, types: dict[str, str]) -> str:
        items = value if isinstance(value, list) else (value,)
        texts = []
        known = _CANONICAL
        repeats = item_name != "bizTransaction"  # the same parties and places recur; transactions do not
        for item in items:
            if isinstance(item, dict):
                kind = item.get("type")
                ident = item.get(item_name)
                if len(item) == 2 and isinstance(kind, str) and isinstance(ident, str):  # the usual item
                    key = (item_name, kind, ident)
                    if repeats:
                        found = _PAIRS.get(key)
                        if found is not None:
                            texts.append(found)
                            continue
                    kind = kind.strip()
                    kind = types.get(kind, kind)
                    ident = ident.strip()
                    head = f"type={known.get(kind) or canonical_value(kind)}" if kind else "type"
                    if ident:
                        found = known.get(ident)
                        text = f"{head}{item_name}={found if found is not None else canonical_value(ident)}"
                    else:
                        text = f"{head}{item_name}"
                    if repeats:
                        if len(_PAIRS) >= _CACHE_LIMIT:
                            _PAIRS.clear()
                        _PAIRS[key] = text
                    texts.append(text)
                    continue
                texts.append(self._pair(item, item_name, types))
            else:
                texts.append(self._one(item_name, item))
        if len(texts) > 1:
            texts.sort()
        return name + "".join(texts)

    def _pair(self, item: dict[str, Any], item_name: str, types: dict[str, str]) -> str:
        """One business transaction, source or destination: ``type=...`` first, then the value, then the rest."""
        parts = []
        kind = item.get("type")
        if kind is not None:
            kind = _text(kind)
            parts.append(f"type={canonical_value(types.get(kind, kind))}" if kind else "type")
        if item.get(item_name) is not None:
            parts.append(self._one(item_name, item[item_name]))
        extra: list[str] = []
        for key, field in item.items():
            if key not in ("type", item_name) and field is not None and key not in _SKIPPED_KEYS:
                self._generic(self._name(key) if ":" in key else key, field, extra)
        extra.sort()
        return "".join(parts) + "".join(extra)

    # -- everything else: ILMD, extensions, leftovers ----------------------------------------

    def _one(self, name: str, value: Any) -> str:
        parts: list[str] = []
        self._generic(name, value, parts)
        return "".join(parts)

    def _generic(self, name: str, value: Any, out: list[str]) -> None:
        """Append ``name=value`` (a list: once per item; an object: its children, sorted) to ``out``."""
        if isinstance(value, dict):
            text = value.get("#text")
            head = name
            if text is not None:
                text = _text(text)
                if text:
                    head = f"{name}={canonical_value(text)}"
            children: list[str] = []
            keep_order = False
            for key, field in value.items():
                if field is None or key in _SKIPPED_KEYS or key[:1] == "@":
                    continue
                child = self._name(key) if ":" in key else key
                self._generic(child, field, children)
                keep_order = keep_order or child in _UNSORTED
            if len(children) > 1 and not keep_order:
                children.sort()
            out.append(head + "".join(children))
        elif isinstance(value, list):
            for item in value:
                if item is not None:
                    self._generic(name, item, out)
        else:
            text = _text(value)
            out.append(f"{name}={canonical_value(text)}" if text else name)

    def _rest(self, rest: _Rest) -> str:
        head = rest.name
        if rest.text is not None:
            text = _text(rest.text)
            if text:
                head = f"{head}={canonical_value(text)}"
        parts: list[str] = []
        keep_order = False
        for item in rest.children:
            if isinstance(item, _Rest):
                parts.append(self._rest(item))
                keep_order = keep_order or item.name in _UNSORTED
            else:
                self._generic(item[0], item[1], parts)
                keep_order = keep_order or item[0] in _UNSORTED
        if len(parts) > 1 and not keep_order:
            parts.sort()
        return head + "".join(parts)


# --- convenience -----------------------------------------------------------------------------


def prehash_string(event: object, namespaces: Mapping[str, str], *, ignore: Iterable[str] = ()) -> str:
    """The canonical pre-hash string of one event (see :class:`EventHasher`)."""
    return EventHasher(namespaces, ignore=ignore).prehash(event)


def event_hash(
    event: object, namespaces: Mapping[str, str], *, ignore: Iterable[str] = (), algorithm: str = "sha-256"
) -> str:
    """The Event Hash ID of one event: ``ni:///sha-256;<hex>?ver=CBV2.0`` (see :class:`EventHasher`)."""
    return EventHasher(namespaces, ignore=ignore, algorithm=algorithm).hash(event)


def ignore_fields_of(doc: EPCISDocument) -> frozenset[str]:
    """The top-level fields a document asks hashers to leave out, as ``{namespace}name``.

    Some repositories add fields of their own to the events they store (a capture ID, a
    hash) and list them in a document-level ``ignoreFields`` extension (any namespace), as a
    list of prefixed names (JSON-LD), as empty elements named like the fields (XML), or as
    repeated elements holding the names (what packtrail's XML writer makes of the first). The reference
    implementation's vectors honour it; so does :func:`document_hashes`.

    >>> doc = EPCISDocument(namespaces={"x": "https://repo.example.com/"},
    ...                     attributes={"x:ignoreFields": ["x:hash"]})
    >>> sorted(ignore_fields_of(doc))
    ['{https://repo.example.com/}hash']
    """
    names: list[str] = []
    for place in (doc.attributes, doc.query or {}):
        for key, value in place.items():
            if key == "ignoreFields" or key.endswith((":ignoreFields", "}ignoreFields")):
                _collect_names(value, names)
    return _expanded_names(names, doc.namespaces) if names else frozenset()


def _collect_names(value: Any, into: list[str]) -> None:
    """Field names in an ``ignoreFields`` value: text, lists of them, or elements named after the fields."""
    if isinstance(value, str):
        if value.strip():
            into.append(value.strip())
    elif isinstance(value, list):
        for item in value:
            _collect_names(item, into)
    elif isinstance(value, dict):
        into.extend(key for key in value if key not in _SKIPPED_KEYS and key[:1] != "@")
        _collect_names(value.get("#text"), into)


def document_hashes(doc: EPCISDocument, *, algorithm: str = "sha-256") -> list[str]:
    """The Event Hash ID of every event of ``doc``, in document order."""
    hasher = EventHasher(doc.namespaces, ignore=ignore_fields_of(doc), algorithm=algorithm)
    return [hasher.hash(event) for event in doc.events]


def _set_event_id(event: Event, event_id: str) -> None:
    """Give ``event`` an ``eventID`` where EPCIS puts it: after ``eventTimeZoneOffset`` (XML order)."""
    if "eventTimeZoneOffset" not in event:
        event["eventID"] = event_id
        return
    items = list(event.items())
    event.clear()
    for key, value in items:
        if key != "eventID":
            event[key] = value
        if key == "eventTimeZoneOffset":
            event["eventID"] = event_id


def _lacks_id(event: Event) -> bool:
    event_id = event.get("eventID")
    return not (isinstance(event_id, str) and event_id.strip())


def fill_missing_event_ids(doc: EPCISDocument, *, algorithm: str = "sha-256") -> int:
    """Give every event of ``doc`` without an ``eventID`` its Event Hash ID as ID; returns how many.

    CBV 2.0 names this use: a repository receiving events without IDs assigns the hash, so
    that the sender, who can compute the same hash, can later ask for the event by its ID.
    Events are changed in place; one that has an ID keeps it.
    """
    hasher = EventHasher(doc.namespaces, ignore=ignore_fields_of(doc), algorithm=algorithm)
    filled = 0
    for event in doc.events:
        if isinstance(event, dict) and _lacks_id(event):
            _set_event_id(event, hasher.hash(event))
            filled += 1
    return filled


def with_event_ids(
    events: Iterable[Event], namespaces: Mapping[str, str], *, ignore: Iterable[str] = ()
) -> Iterator[Event]:
    """The events of a stream, each without ``eventID`` given its Event Hash ID (changed in place)."""
    hasher = EventHasher(namespaces, ignore=ignore)
    for event in events:
        if isinstance(event, dict) and _lacks_id(event):
            _set_event_id(event, hasher.hash(event))
        yield event


class DuplicateDetector:
    """Spots events whose content was seen before (same Event Hash ID), one event at a time.

    Memory: one 16-byte digest prefix and one index per distinct event (about 150 bytes).

    >>> detector = DuplicateDetector({})
    >>> event = {"type": "ObjectEvent", "eventTime": "2024-03-01T10:00:00Z", "action": "ADD"}
    >>> detector.add(event), detector.add(dict(event, eventTime="2024-03-01T11:00:00+01:00"))
    (None, 0)
    >>> detector.add(dict(event, action="DELETE")), len(detector)
    (None, 2)
    """

    __slots__ = ("_count", "_hasher", "_seen")

    def __init__(self, namespaces: Mapping[str, str], *, ignore: Iterable[str] = ()) -> None:
        self._hasher = EventHasher(namespaces, ignore=ignore)
        self._seen: dict[bytes, int] = {}
        self._count = 0

    def add(self, event: Event) -> int | None:
        """Count ``event`` in; return the position of the first event with the same content, or None."""
        key = self._hasher.digest(event)[:16]
        position = self._count
        self._count += 1
        first = self._seen.setdefault(key, position)
        return None if first == position else first

    def __len__(self) -> int:
        """How many distinct events were seen."""
        return len(self._seen)


def duplicate_groups(
    events: Iterable[Event], namespaces: Mapping[str, str], *, ignore: Iterable[str] = ()
) -> list[list[int]]:
    """Positions of events with identical content, one group per content seen more than once.

    Groups come in the order of their first event, positions ascending.
    """
    hasher = EventHasher(namespaces, ignore=ignore)
    groups: dict[bytes, list[int]] = {}
    for position, event in enumerate(events):
        groups.setdefault(hasher.digest(event), []).append(position)
    return [group for group in groups.values() if len(group) > 1]
