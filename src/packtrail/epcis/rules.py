"""The EPCIS and CBV rules that no schema expresses, checked event by event.

GS1's JSON Schema and XML Schemas check the shape of a document. Much of what makes an
event *right* lies outside them; this layer checks it:

- **action rules** per event type: an AggregationEvent with action ADD or DELETE
  needs a parentID; children may be missing only when action is DELETE; ``ilmd`` only
  with ADD; a TransformationEvent has no action and needs inputs and outputs (or a
  transformationID);
- **identifiers**: EPC URIs are parsed by :func:`packtrail.gs1.parse_epc_uri` and GS1
  Digital Link URIs by :meth:`packtrail.gs1.DigitalLink.parse` (check digits, lengths,
  company prefixes); an instance-level identifier where a class belongs, and the other
  way round; the GLN inside a ``urn:epcglobal:cbv:bt:`` business transaction;
- **duplicates**: the same identifier twice in one list (also written once as an EPC URN
  and once as a Digital Link), a parent among its own children, the same eventID on two
  events (an error declaration excepted);
- **CBV values that do not exist** (``urn:epcglobal:cbv:bizstep:shiping``), or that belong
  to another code list (a disposition used as a business step);
- **quantities and units**: quantity above zero, a unit only with a quantity, units that
  are UN/ECE Recommendation 20 common codes (deprecated ones warned about);
- **sensor data**: the unit rules, ``percRank`` with ``percValue``, ``sDev`` with
  ``meanValue``, ``minValue`` not above ``maxValue``, sensor times not after the event;
- **times**, when no schema layer ran (XML): a time-zone offset on every time, a valid
  ``eventTimeZoneOffset``.

>>> from packtrail.epcis.rules import check_rules
>>> from packtrail.epcis.issues import IssueCollector
>>> out = IssueCollector()
>>> check_rules([{"type": "AggregationEvent", "action": "ADD", "eventTime": "2024-03-01T10:00:00Z",
...               "eventTimeZoneOffset": "+00:00", "bizStep": "urn:epcglobal:cbv:bizstep:pakcing",
...               "childEPCs": ["urn:epc:id:sgtin:4012345.011111.1001", "https://id.gs1.org/01/04012345111118/21/1001"],
...               "childQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.011111.L1", "quantity": 0}]}],
...             out, pointer="/epcisBody/eventList")
1
>>> for issue in out.issues:
...     print(issue.pointer, "|", issue.reason)
/epcisBody/eventList/0/bizStep | 'urn:epcglobal:cbv:bizstep:pakcing' is not a CBV 2.0 business step
/epcisBody/eventList/0/childEPCs/1 | childEPCs names the same object twice (once as an EPC URI, once as a GS1 Digital Link)
/epcisBody/eventList/0/childQuantityList/0/quantity | a quantity must be greater than zero
/epcisBody/eventList/0/parentID | an AggregationEvent with action ADD must name its parent (parentID)

Sources: EPCIS 2.0 (GS1, June 2022) section 7.4 and the normative definitions carried
in GS1's EPCIS ontology (``epcis:parentID``: "Optional when action is OBSERVE, required
otherwise"; ``epcis:childEPCs``: "both childEPCs and childQuantityList MAY be empty if action
is DELETE"; ``epcis:uom``: "its value SHALL be the 2- or 3-character code ... in the 'Common
Code' column of UN/CEFACT Recommendation 20"; the sensor fields' SHALL clauses) and its SHACL
shapes (eventID ``urn:uuid:`` or ``ni:///``; no persistentDisposition on Aggregation,
Association or Transaction events); CBV 2.0 sections 6 and 8; GS1 EPC Tag Data Standard 2.x;
GS1 Digital Link URI Syntax 1.2. The unit list is in ``data/uom/`` (see its NOTICE.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources
from typing import Any, Final, Literal, TypeAlias, TypeGuard

from packtrail.epcis.document import EPC_LIST_FIELDS, EVENT_TYPES, QUANTITY_LIST_FIELDS
from packtrail.epcis.formats import (
    TIME_ZONE_OFFSETS,
    date_time_to_utc,
    is_date_time,
    plain_date_time,
    time_zone_offset_problem,
)
from packtrail.epcis.issues import IssueCollector, describe, pointer_token
from packtrail.epcis.vocabulary import VOCABULARIES, is_known, to_bare, to_epc_urn
from packtrail.gs1.checkdigit import CSET82, is_valid_gs1_check_digit
from packtrail.gs1.digital_link import DigitalLink
from packtrail.gs1.epc import gtin_serial_from_sgtin, parse_epc_uri
from packtrail.gs1.errors import GS1Error

__all__ = [
    "Binding",
    "IdentifierKind",
    "RuleChecker",
    "check_header_rules",
    "check_rules",
    "identifier_problem",
    "uom_status",
]

Binding: TypeAlias = Literal["json", "xml"]
"""Where the document came from: JSON-LD, or EPCIS XML read into the JSON-LD shape."""
IdentifierKind: TypeAlias = Literal["instance", "class", "location", "parent", "party", "any"]
"""What an identifier field must name: one object, a class of objects, a place, a parent
(an object or a place), a party or place (source, destination), or anything."""

_LAYER: Final = "rules"


def _at(parent: str, key: str | int) -> str:
    return f"{parent}/{pointer_token(key)}"


# --- units of measure (UN/ECE Recommendation 20) ----------------------------------------------


@cache
def _uom_table() -> dict[str, str]:
    raw = (
        resources.files("packtrail.epcis")
        .joinpath("data", "uom", "rec20-common-codes.txt")
        .read_text("utf-8")
    )
    table: dict[str, str] = {}
    for line in raw.splitlines():
        if line and not line.startswith("#"):
            code, status = line.split()
            table[code] = status
    return table


def uom_status(code: str) -> Literal["current", "deprecated", "deleted", "unknown"]:
    """What UN/ECE Recommendation 20 says of a common code.

    >>> uom_status("KGM"), uom_status("NPR"), uom_status("BX"), uom_status("KGX")
    ('current', 'deprecated', 'deleted', 'unknown')
    """
    status = _uom_table().get(code)
    if status == "A":
        return "current"
    if status == "D":
        return "deprecated"
    if status == "X":
        return "deleted"
    return "unknown"


def _check_uom(value: Any, pointer: str, out: IssueCollector) -> None:
    if not isinstance(value, str):
        return  # the schema reports the type
    status = _uom_table().get(value)
    if status == "A":
        return
    if status == "D":
        out.warning(
            _LAYER,
            pointer,
            f"{value!r} is a deprecated UN/ECE Recommendation 20 unit code",
            expected="a current Rec 20 common code",
            found=repr(value),
        )
    elif status == "X":
        out.error(
            _LAYER,
            pointer,
            f"{value!r} was deleted from UN/ECE Recommendation 20 (packaging codes belong to Rec 21)",
            expected="a current Rec 20 common code such as KGM, LTR, MTR or H87",
            found=repr(value),
        )
    else:
        out.error(
            _LAYER,
            pointer,
            f"{value!r} is not a UN/ECE Recommendation 20 unit code",
            expected="a Rec 20 common code such as KGM, LTR, MTR or H87",
            found=repr(value),
        )


# --- identifiers ------------------------------------------------------------------------------

_CACHE_LIMIT: Final = 1 << 15
_GOOD: dict[str, str] = {}
"""Identifier -> its level ("instance", "class", "location", "other") for identifiers found valid."""
_DL_KEY: Final = re.compile(
    r"https?://[^/?#]+(?:/[^?#]*)?/(00|01|253|255|401|402|414|417|8003|8004|8006|8010|8013|8017|8018)/[^/?#]"
)
"""A GS1 Digital Link URI: a GS1 primary key AI as a path segment followed by a value."""
_PLAIN_DL_SGTIN: Final = re.compile(
    r"https://id\.gs1\.org/01/([0-9]{14})/21/([A-Za-z0-9\-._]{1,20})"
).fullmatch
_GTIN_OK: dict[str, bool] = {}


_PLACES: set[str] = set()
"""Identifiers found valid that may name a place (location or another scheme): readPoint,
bizLocation, source and destination values repeat, so they are checked once."""


def _remember(identifier: str, level: str) -> str:
    if len(_GOOD) >= _CACHE_LIMIT:
        _GOOD.clear()
        _PLACES.clear()
    _GOOD[identifier] = level
    if level in ("location", "other"):
        _PLACES.add(identifier)
    return level


_BAD: dict[str, tuple[str, str]] = {}
"""Broken identifiers already explained: a partner's file repeats the same mistake in every event."""


def _level(identifier: str) -> str | tuple[str, str]:
    """The level of a valid identifier, or ``(reason, expected)`` for a broken one."""
    found = _GOOD.get(identifier)
    if found is not None:
        return found
    bad = _BAD.get(identifier)
    if bad is not None:
        return bad
    if identifier.startswith("urn:epc:"):
        level = _epc_level(identifier)
    elif identifier.startswith("http") and _DL_KEY.match(identifier):
        level = _digital_link_level(identifier)
    else:
        return "other"  # a URI of another scheme: nothing GS1 can check
    if isinstance(level, tuple):
        if len(_BAD) >= _CACHE_LIMIT:
            _BAD.clear()
        _BAD[identifier] = level
    return level


_PARSED_FORMS: Final = {
    "urn:epc:id:sgtin:": ("instance", "SGTIN"),
    "urn:epc:id:sscc:": ("instance", "SSCC"),
    "urn:epc:id:grai:": ("instance", "GRAI"),
    "urn:epc:id:giai:": ("instance", "GIAI"),
    "urn:epc:id:sgln:": ("location", "SGLN"),
    "urn:epc:class:lgtin:": ("class", "LGTIN"),
    "urn:epc:idpat:sgtin:": ("class", "SGTIN pattern"),
}
"""The EPC URI forms :func:`packtrail.gs1.parse_epc_uri` reads: their level and name."""
_PGLN: Final = re.compile(r"urn:epc:id:pgln:([0-9]{6,12})\.([0-9]{0,6})").fullmatch


def _epc_level(identifier: str) -> str | tuple[str, str]:
    if identifier.startswith("urn:epc:id:sgtin:"):
        try:
            gtin_serial_from_sgtin(identifier)  # the fast path; raises GS1Error with the reason
        except GS1Error as exc:
            return str(exc), "a valid SGTIN EPC URI (GS1 EPC Tag Data Standard, section 6.3.1)"
        return _remember(identifier, "instance")
    head = identifier[: identifier.find(":", 12) + 1]
    form = _PARSED_FORMS.get(head)
    if form is not None:
        try:
            parse_epc_uri(identifier)
        except GS1Error as exc:
            return str(exc), f"a valid {form[1]} EPC URI (GS1 EPC Tag Data Standard)"
        return _remember(identifier, form[0])
    if head == "urn:epc:id:pgln:":
        match = _PGLN(identifier)
        if match is None or len(match.group(1)) + len(match.group(2)) != 12:
            return (
                "a PGLN EPC URI is urn:epc:id:pgln:CompanyPrefix.PartyReference, 12 digits in all",
                "a valid PGLN EPC URI (GS1 EPC Tag Data Standard)",
            )
        return _remember(identifier, "location")
    if identifier.startswith(("urn:epc:class:", "urn:epc:idpat:")):
        return _remember(identifier, "class")  # a form packtrail does not parse: its level is plain
    return _remember(identifier, "other")  # GDTI, GSRN, CPI, ...: not parsed here


def _digital_link_level(identifier: str) -> str | tuple[str, str]:
    plain = _PLAIN_DL_SGTIN(identifier)
    if plain is not None:
        gtin = plain.group(1)
        ok = _GTIN_OK.get(gtin)
        if ok is None:
            ok = isinstance(_parse_link(f"https://id.gs1.org/01/{gtin}/21/1"), DigitalLink)
            if len(_GTIN_OK) >= _CACHE_LIMIT:
                _GTIN_OK.clear()
            _GTIN_OK[gtin] = ok
        if ok:
            return "instance"  # unique per pack: not cached
    link = _parse_link(identifier)
    if not isinstance(link, DigitalLink):
        return link, "a valid GS1 Digital Link URI (GS1 Digital Link URI Syntax 1.2)"
    ai = link.primary_key[0]
    qualifiers = {q for q, _ in link.qualifiers}
    if ai == "01" or ai == "8006":
        level = "instance" if "21" in qualifiers or "235" in qualifiers else "class"
    elif ai in ("414", "417"):
        level = "location"
    else:
        level = "instance"
    return _remember(identifier, level)


def _parse_link(identifier: str) -> DigitalLink | str:
    try:
        return DigitalLink.parse(identifier)
    except GS1Error as exc:
        return str(exc)


_KIND_ACCEPTS: Final[dict[str, frozenset[str]]] = {
    "instance": frozenset({"instance", "location", "other"}),  # an SGLN is an EPC too (a tagged place)
    "class": frozenset({"class", "other"}),
    "location": frozenset({"location", "other"}),
    "parent": frozenset({"instance", "location", "other"}),
    "party": frozenset({"location", "other"}),
    "any": frozenset({"instance", "class", "location", "other"}),
}
_KIND_WORDS: Final = {
    "instance": "an instance-level identifier (one object: SGTIN, SSCC, GRAI, GIAI, or a Digital Link with a serial)",
    "class": "a class-level identifier (LGTIN, an SGTIN pattern, or a Digital Link of a GTIN with or without lot)",
    "location": "a location identifier (SGLN or a Digital Link with AI 414)",
    "parent": "an object or a location (SSCC, SGTIN, SGLN, ...)",
    "party": "a party or location identifier (PGLN, SGLN, or a Digital Link with AI 417 or 414)",
    "any": "a GS1 identifier",
}
_LEVEL_WORDS: Final = {
    "instance": "an instance-level identifier",
    "class": "a class-level identifier",
    "location": "a location identifier",
}


def identifier_problem(identifier: str, kind: IdentifierKind = "any") -> tuple[str, str] | None:
    """What is wrong with an identifier used where ``kind`` is expected: ``(reason, expected)``, or None.

    EPC URIs and GS1 Digital Link URIs are checked through :mod:`packtrail.gs1`; other URIs
    (a company's own scheme) are not GS1's to judge and pass.

    >>> identifier_problem("urn:epc:id:sgtin:4012345.011111.1001", "instance") is None
    True
    >>> identifier_problem("https://id.gs1.org/01/04012345111112/21/1001", "instance")[0]
    "AI (01) at position 22: check digit should be 8, found 2 (in '04012345111112')"
    >>> identifier_problem("urn:epc:class:lgtin:4012345.011111.L1", "instance")[0]
    'a class-level identifier where one object belongs'
    """
    level = _level(identifier)
    if isinstance(level, tuple):
        return level
    if level in _KIND_ACCEPTS[kind]:
        return None
    if kind == "instance":
        reason = f"{_LEVEL_WORDS.get(level, level)} where one object belongs"
    elif kind == "class":
        reason = f"{_LEVEL_WORDS.get(level, level)} where a class of objects belongs"
    else:
        reason = f"{_LEVEL_WORDS.get(level, level)} where {_KIND_WORDS[kind].split(' (')[0]} belongs"
    return reason, _KIND_WORDS[kind]


def _check_identifier(value: Any, pointer: str, kind: IdentifierKind, what: str, out: IssueCollector) -> None:
    if not isinstance(value, str):
        return
    level = _GOOD.get(value)
    if level is not None and level in _KIND_ACCEPTS[kind]:
        return
    problem = identifier_problem(value, kind)
    if problem is not None:
        reason, expected = problem
        out.error(_LAYER, pointer, f"{what}: {reason}", expected=expected, found=describe(value))


# --- CBV values -------------------------------------------------------------------------------

_CBV_PREFIXES: Final = (
    "urn:epcglobal:cbv:",
    "https://ref.gs1.org/cbv/",
    "http://ref.gs1.org/cbv/",
    "cbv:",
    "https://gs1.org/voc/",
    "http://gs1.org/voc/",
    "https://www.gs1.org/voc/",
    "http://www.gs1.org/voc/",
    "gs1:",
)
"""Where GS1's own terms live: a value here that is no known term is an error, not an extension."""
_SCHEMA_FORBIDDEN: Final = (
    "urn:epcglobal:cbv",
    "http://ns.gs1.org/cbv/",
    "https://ns.gs1.org/cbv/",
    "http://gs1.org/voc/",
    "https://gs1.org/voc/",
    "http://www.gs1.org/voc/",
    "https://www.gs1.org/voc/",
)
"""Prefixes GS1's JSON Schema already rejects in JSON-LD (it wants the bare word there)."""


def _spellings() -> dict[str, list[str]]:
    """Every spelling of every CBV term -> the vocabularies it belongs to."""
    table: dict[str, list[str]] = {}
    for name, vocabulary in VOCABULARIES.items():
        for term in vocabulary.terms:
            spellings = {term, vocabulary.web_uri(term), vocabulary.compact(term), vocabulary.urn(term)}
            for spelling in spellings:
                table.setdefault(spelling, []).append(name)
    return table


_SPELLINGS: Final = _spellings()


def _check_cbv(kind: str, value: Any, pointer: str, ctx: RuleChecker) -> None:
    """A CBV value: a term of the right code list (in any spelling), or a URI of one's own."""
    if not isinstance(value, str):
        return
    owners = _SPELLINGS.get(value)
    if owners is not None and kind in owners:
        if ctx.binding == "xml" and ":" not in value:
            ctx.out.warning(
                _LAYER,
                pointer,
                f"in EPCIS XML a CBV {VOCABULARIES[kind].title} is written as a URI, not a bare word",
                expected=repr(VOCABULARIES[kind].urn(value)),
                found=repr(value),
            )
        return
    title = VOCABULARIES[kind].title
    if owners is not None:
        other = VOCABULARIES[owners[0]].title
        ctx.out.error(
            _LAYER,
            pointer,
            f"{value!r} is a CBV {other}, not a {title}",
            expected=f"a CBV 2.0 {title}",
            found=repr(value),
        )
        return
    if ":" not in value:
        if not ctx.schema_ran:
            ctx.out.error(
                _LAYER,
                pointer,
                f"{value!r} is not a CBV 2.0 {title}",
                expected=f"a CBV 2.0 {title} such as {VOCABULARIES[kind].terms[0]!r}, or a URI of your own",
                found=repr(value),
            )
        return
    if not value.startswith(_CBV_PREFIXES):
        return  # a URI of one's own: allowed by EPCIS
    if ctx.schema_ran and ctx.binding == "json" and value.startswith(_SCHEMA_FORBIDDEN):
        return  # the schema layer has said it (JSON-LD wants the bare word)
    ctx.out.error(
        _LAYER,
        pointer,
        f"{value!r} is not a CBV 2.0 {title}",
        expected=f"a CBV 2.0 {title}, e.g. {VOCABULARIES[kind].urn(VOCABULARIES[kind].terms[0])!r}",
        found=repr(value),
    )


# --- the checker --------------------------------------------------------------------------------

FieldRule: TypeAlias = Callable[["RuleChecker", Any, str, str, dict[str, Any]], None]
"""``rule(checker, value, event_pointer, key, event)``."""


class RuleChecker:
    """Checks the rules on the events of one document (it remembers eventIDs across events)."""

    __slots__ = ("binding", "event_ids", "out", "quick", "rules", "schema_ran", "type_rules")

    def __init__(self, out: IssueCollector, *, binding: Binding = "json", schema_ran: bool = False) -> None:
        self.out = out
        """Where issues go."""
        self.binding: Binding = binding
        """``"json"`` or ``"xml"``: XML wants CBV values as URIs."""
        self.schema_ran = schema_ran
        """True when the JSON Schema layer checked the same events: its checks are not repeated."""
        self.event_ids: dict[str, tuple[str, bool]] = {}
        """eventID -> (pointer of the first event with it, whether that one is an error declaration)."""
        self.rules = _FIELD_RULES_AFTER_SCHEMA if schema_ran else _FIELD_RULES
        self.type_rules = _TYPE_RULES_AFTER_SCHEMA if schema_ran else _TYPE_RULES
        self.quick = _QUICK[(binding, schema_ran)]

    def check_event(self, event: Any, pointer: str) -> None:
        """Check one event found at ``pointer``."""
        if not isinstance(event, dict):
            return  # the schema layer reports what is not an object
        rules = self.rules
        quick = self.quick
        for key, value in event.items():
            test = quick.get(key)
            if test is not None:
                try:
                    if test(value):
                        continue
                except TypeError:
                    pass  # not the everyday shape: the rule looks closer
            rule = rules.get(key)
            if rule is not None:
                rule(self, value, pointer, key, event)
        kind = event.get("type")
        if type(kind) is str:
            type_rule = self.type_rules.get(kind)
            if type_rule is not None:
                type_rule(self, event, pointer)

    def check_events(self, events: Iterable[Any], pointer: str) -> int:
        """Check the events of a list found at ``pointer``; returns how many."""
        count = 0
        check = self.check_event
        for i, event in enumerate(events):
            check(event, f"{pointer}/{i}")
            count += 1
        return count


def check_rules(
    events: Iterable[Any],
    out: IssueCollector,
    *,
    pointer: str = "/epcisBody/eventList",
    binding: Binding = "json",
    schema_ran: bool = False,
) -> int:
    """Check the rules on a list of events (found at ``pointer``); returns how many were checked."""
    return RuleChecker(out, binding=binding, schema_ran=schema_ran).check_events(events, pointer)


# --- field rules ------------------------------------------------------------------------------


def _epc_list(ctx: RuleChecker, value: Any, pointer: str, key: str, event: dict[str, Any]) -> None:
    if not isinstance(value, list) or not value:
        return
    good = _GOOD
    me: str | None = None
    for i, item in enumerate(value):
        if isinstance(item, str) and good.get(item) in ("instance", "location", "other"):
            continue
        if isinstance(item, str) and item.startswith("urn:epc:id:sgtin:"):
            try:
                gtin_serial_from_sgtin(item)
                continue  # valid and unique: not worth caching
            except GS1Error:
                pass
        if me is None:
            me = _at(pointer, key)
        _check_identifier(item, _at(me, i), "instance", f"{key}[{i}]", ctx.out)
    if len(value) > 1:
        _duplicates(ctx, value, _at(pointer, key), key, event)


def _duplicates(ctx: RuleChecker, value: list[Any], pointer: str, key: str, event: dict[str, Any]) -> None:
    strings = [x for x in value if isinstance(x, str)]
    if len(set(strings)) != len(strings):
        schema_unique = key in ("inputEPCList", "outputEPCList") or (
            key == "epcList" and event.get("type") == "ObjectEvent"
        )
        if not (ctx.schema_ran and schema_unique):
            seen: set[str] = set()
            for i, item in enumerate(value):
                if isinstance(item, str):
                    if item in seen:
                        ctx.out.error(
                            _LAYER,
                            _at(pointer, i),
                            f"{key} names the same object twice",
                            expected="each identifier once",
                            found=repr(item),
                        )
                    seen.add(item)
        return
    if any(x.startswith("http") for x in strings) and any(x.startswith("urn:") for x in strings):
        first: dict[str, int] = {}
        for i, item in enumerate(value):
            if not isinstance(item, str):
                continue
            canonical = to_epc_urn(item)
            if canonical in first:
                ctx.out.error(
                    _LAYER,
                    _at(pointer, i),
                    f"{key} names the same object twice (once as an EPC URI, once as a GS1 Digital Link)",
                    expected="each object once",
                    found=f"{item!r}, the same as {value[first[canonical]]!r}",
                )
            else:
                first[canonical] = i


def _parent(ctx: RuleChecker, value: Any, pointer: str, key: str, event: dict[str, Any]) -> None:
    if not isinstance(value, str):
        return
    _check_identifier(value, _at(pointer, key), "parent", "parentID", ctx.out)
    children = event.get("childEPCs")
    if isinstance(children, list) and value in children:
        ctx.out.error(
            _LAYER,
            _at(_at(pointer, "childEPCs"), children.index(value)),
            "the parent is listed among its own children",
            expected="children other than the parentID",
            found=repr(value),
        )


def _quantity_list(ctx: RuleChecker, value: Any, pointer: str, key: str, event: dict[str, Any]) -> None:
    if not isinstance(value, list):
        return
    me = _at(pointer, key)
    classes: dict[str, int] = {}
    out = ctx.out
    for i, element in enumerate(value):
        if not isinstance(element, dict):
            continue
        here = _at(me, i)
        epc_class = element.get("epcClass")
        if isinstance(epc_class, str):
            _check_identifier(epc_class, _at(here, "epcClass"), "class", f"{key}[{i}].epcClass", out)
            first = classes.get(epc_class)
            if first is not None:
                out.warning(
                    _LAYER,
                    _at(here, "epcClass"),
                    f"{key} lists the class {epc_class!r} twice",
                    expected="one entry per class (add the quantities)",
                    found=f"entries {first} and {i}",
                )
            else:
                classes[epc_class] = i
        quantity = element.get("quantity")
        has_quantity = "quantity" in element
        if isinstance(quantity, (int, float)) and not isinstance(quantity, bool):
            if quantity <= 0:
                out.error(
                    _LAYER,
                    _at(here, "quantity"),
                    "a quantity must be greater than zero",
                    expected="a positive number",
                    found=describe(quantity),
                )
            elif "uom" not in element and quantity != int(quantity):
                out.warning(
                    _LAYER,
                    _at(here, "quantity"),
                    "without a unit (uom) the quantity counts objects and should be a whole number",
                    expected="a whole number, or a uom",
                    found=describe(quantity),
                )
        if "uom" in element:
            if not has_quantity:
                out.error(
                    _LAYER,
                    _at(here, "uom"),
                    "a unit of measure (uom) needs a quantity",
                    expected="a quantity with the uom, or no uom",
                    found="a uom without quantity",
                )
            _check_uom(element["uom"], _at(here, "uom"), out)


def _location(ctx: RuleChecker, value: Any, pointer: str, key: str, event: dict[str, Any]) -> None:
    if isinstance(value, dict):
        ident = value.get("id")
        if isinstance(ident, str) and _GOOD.get(ident) not in ("location", "other"):
            _check_identifier(ident, _at(_at(pointer, key), "id"), "location", f"{key} id", ctx.out)


def _cbv_field(kind: str) -> FieldRule:
    def rule(ctx: RuleChecker, value: Any, pointer: str, key: str, event: dict[str, Any]) -> None:
        if isinstance(value, str) and is_known(kind, value) and (ctx.binding == "json" or ":" in value):
            return
        _check_cbv(kind, value, _at(pointer, key), ctx)

    return rule


def _persistent_disposition(
    ctx: RuleChecker, value: Any, pointer: str, key: str, event: dict[str, Any]
) -> None:
    if event.get("type") in ("AggregationEvent", "AssociationEvent", "TransactionEvent"):
        ctx.out.warning(
            _LAYER,
            _at(pointer, key),
            f"EPCIS 2.0 defines persistentDisposition for ObjectEvent and TransformationEvent, "
            f"not for {event['type']}",
            expected="no persistentDisposition here",
            found="a persistentDisposition",
        )
    if not isinstance(value, dict):
        return
    me = _at(pointer, key)
    terms: dict[str, dict[str, int]] = {}
    for part in ("set", "unset"):
        entries = value.get(part)
        if not isinstance(entries, list):
            continue
        here = _at(me, part)
        terms[part] = {}
        for i, entry in enumerate(entries):
            _check_cbv("disposition", entry, _at(here, i), ctx)
            if isinstance(entry, str):
                terms[part][to_bare("disposition", entry)] = i
    if "set" in terms and "unset" in terms:
        for term, i in terms["unset"].items():
            if term in terms["set"]:
                ctx.out.error(
                    _LAYER,
                    _at(_at(me, "unset"), i),
                    f"the disposition {term!r} is both set and unset",
                    expected="each disposition in set or in unset",
                    found=repr(term),
                )


def _typed_entries(list_kind: str, value_field: str, cbv_kind: str, identifier: IdentifierKind) -> FieldRule:
    """bizTransactionList, sourceList, destinationList: a CBV type and an identifier per entry."""

    def rule(ctx: RuleChecker, value: Any, pointer: str, key: str, event: dict[str, Any]) -> None:
        if not isinstance(value, list):
            return
        me = _at(pointer, key)
        seen: dict[tuple[Any, Any], int] = {}
        for i, entry in enumerate(value):
            if not isinstance(entry, dict):
                continue
            kind = entry.get("type")
            if kind is not None and not (
                isinstance(kind, str) and is_known(cbv_kind, kind) and (ctx.binding == "json" or ":" in kind)
            ):
                _check_cbv(cbv_kind, kind, _at(_at(me, i), "type"), ctx)
            ident = entry.get(value_field)
            if isinstance(ident, str):
                if value_field == "bizTransaction":
                    _check_business_transaction(ident, _at(_at(me, i), value_field), ctx.out)
                elif _GOOD.get(ident) not in ("location", "other"):
                    _check_identifier(ident, _at(_at(me, i), value_field), identifier, f"{key}[{i}]", ctx.out)
            marker = (
                to_bare(cbv_kind, kind) if isinstance(kind, str) else kind,
                ident if isinstance(ident, str) else None,
            )
            if marker in seen:
                ctx.out.warning(
                    _LAYER,
                    _at(me, i),
                    f"{key} lists the same {list_kind} twice",
                    expected=f"each {list_kind} once",
                    found=f"entries {seen[marker]} and {i}",
                )
            else:
                seen[marker] = i

    return rule


_BT_GLN: Final = re.compile(r"urn:epcglobal:cbv:bt:([0-9]{13}):(.+)").fullmatch


def _check_business_transaction(value: str, pointer: str, out: IssueCollector) -> None:
    """CBV 2.0 section 8.5: ``urn:epcglobal:cbv:bt:<GLN>:<ID>`` carries the GLN of the issuing party."""
    if value.startswith("urn:epcglobal:cbv:bt:"):
        match = _BT_GLN(value)
        if match is None:
            out.error(
                _LAYER,
                pointer,
                "a CBV business transaction URN is urn:epcglobal:cbv:bt:<GLN>:<ID>",
                expected="a 13-digit GLN, a colon, then the document number",
                found=describe(value),
            )
        elif match.group(1) not in _GOOD and not is_valid_gs1_check_digit(match.group(1)):
            out.error(
                _LAYER,
                pointer,
                "the GLN in the business transaction URN has a wrong check digit",
                expected="a GLN with a valid check digit",
                found=repr(match.group(1)),
            )
        return
    if value.startswith("urn:epc:") or (value.startswith("http") and _DL_KEY.match(value)):
        _check_identifier(value, pointer, "any", "business transaction", out)


def _event_id(ctx: RuleChecker, value: Any, pointer: str, key: str, event: dict[str, Any]) -> None:
    if not isinstance(value, str):
        return
    here = _at(pointer, key)
    if value.startswith("urn:uuid:"):
        if not _UUID(value, 9):
            ctx.out.error(
                _LAYER,
                here,
                "a urn:uuid: eventID must hold a UUID (RFC 4122: 8-4-4-4-12 hex digits)",
                expected="urn:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
                found=describe(value),
            )
    elif not value.startswith("ni:///"):
        ctx.out.warning(
            _LAYER,
            here,
            "an eventID should be a UUID URN or the event's hash (ni:///sha-256;...)",
            expected="urn:uuid:... or ni:///sha-256;...?ver=CBV2.0",
            found=describe(value),
        )
    declared = "errorDeclaration" in event
    first = ctx.event_ids.get(value)
    if first is None:
        ctx.event_ids[value] = (pointer, declared)
    elif not declared and not first[1]:
        ctx.out.error(
            _LAYER,
            here,
            "two events have the same eventID (only an error declaration may repeat it)",
            expected="a unique eventID",
            found=f"{value!r}, also at {first[0]}",
        )


_UUID: Final = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
).fullmatch


def _error_declaration(ctx: RuleChecker, value: Any, pointer: str, key: str, event: dict[str, Any]) -> None:
    if not isinstance(value, dict):
        return
    me = _at(pointer, key)
    if "reason" in value:
        _check_cbv("errorReason", value["reason"], _at(me, "reason"), ctx)
    if not ctx.schema_ran and "declarationTime" in value:
        _check_time(ctx, value["declarationTime"], _at(me, "declarationTime"), "declarationTime")
    corrective = value.get("correctiveEventIDs")
    if isinstance(corrective, list):
        seen: set[Any] = set()
        for i, ident in enumerate(corrective):
            if isinstance(ident, str):
                if ident in seen:
                    ctx.out.warning(
                        _LAYER,
                        _at(_at(me, "correctiveEventIDs"), i),
                        "correctiveEventIDs repeats an ID",
                        expected="each eventID once",
                        found=repr(ident),
                    )
                seen.add(ident)


def _check_time(ctx: RuleChecker, value: Any, pointer: str, what: str) -> None:
    if not isinstance(value, str) or is_date_time(value):
        return
    if _LOCAL_TIME(value):
        ctx.out.error(
            _LAYER,
            pointer,
            f"{what} has no time-zone offset",
            expected="Z or +hh:mm/-hh:mm at the end (RFC 3339)",
            found=describe(value),
        )
    else:
        ctx.out.error(
            _LAYER,
            pointer,
            f"{what} is not a date and time (RFC 3339)",
            expected="YYYY-MM-DDThh:mm:ss[.fff] and Z or +hh:mm",
            found=describe(value),
        )


_LOCAL_TIME: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
).fullmatch


def _time_field(ctx: RuleChecker, value: Any, pointer: str, key: str, event: dict[str, Any]) -> None:
    if not ctx.schema_ran:
        _check_time(ctx, value, _at(pointer, key), key)


def _offset(ctx: RuleChecker, value: Any, pointer: str, key: str, event: dict[str, Any]) -> None:
    if ctx.schema_ran or not isinstance(value, str):
        return
    problem = time_zone_offset_problem(value)
    if problem is not None:
        ctx.out.error(
            _LAYER,
            _at(pointer, key),
            f"eventTimeZoneOffset is not a time-zone offset: {problem}",
            expected="+HH:MM or -HH:MM from -14:00 to +14:00",
            found=describe(value),
        )


_DATE: Final = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])").fullmatch
_CBVMDA_DATES: Final = frozenset(
    {
        "cbvmda:itemExpirationDate",
        "cbvmda:bestBeforeDate",
        "cbvmda:sellByDate",
        "cbvmda:firstFreezeDate",
        "cbvmda:harvestStartDate",
        "cbvmda:harvestEndDate",
    }
)
_CSET82: Final = frozenset(CSET82)


def _ilmd(ctx: RuleChecker, value: Any, pointer: str, key: str, event: dict[str, Any]) -> None:
    """CBV 2.0 section 9 master data in ILMD: dates are xsd:date, lotNumber is AI (10) data."""
    if not isinstance(value, dict):
        return
    for field in _CBVMDA_DATES.intersection(value):
        date = value[field]
        if isinstance(date, str) and not _valid_date(date):
            ctx.out.error(
                _LAYER,
                _at(_at(pointer, key), field),
                f"{field} is not a date",
                expected="YYYY-MM-DD (xsd:date)",
                found=describe(date),
            )
    lot = value.get("cbvmda:lotNumber")
    if isinstance(lot, str) and not (0 < len(lot) <= 20 and _CSET82.issuperset(lot)):
        ctx.out.warning(
            _LAYER,
            _at(_at(pointer, key), "cbvmda:lotNumber"),
            "cbvmda:lotNumber should be a GS1 batch/lot (AI 10: 1 to 20 characters of set 82)",
            expected="1 to 20 letters, digits or GS1 punctuation",
            found=describe(lot),
        )


def _valid_date(text: str) -> bool:
    if _DATE(text) is None:
        return False
    return is_date_time(text + "T00:00:00Z")


def _sensor_elements(ctx: RuleChecker, value: Any, pointer: str, key: str, event: dict[str, Any]) -> None:
    if not isinstance(value, list):
        return
    me = _at(pointer, key)
    event_time = event.get("eventTime")
    event_instant = date_time_to_utc(event_time) if isinstance(event_time, str) else None
    for i, element in enumerate(value):
        if not isinstance(element, dict):
            continue
        here = _at(me, i)
        metadata = element.get("sensorMetadata")
        if isinstance(metadata, dict):
            _sensor_times(ctx, metadata, _at(here, "sensorMetadata"), event_instant)
            device = metadata.get("deviceID")
            if isinstance(device, str):
                _check_identifier(
                    device, _at(_at(here, "sensorMetadata"), "deviceID"), "any", "deviceID", ctx.out
                )
        reports = element.get("sensorReport")
        if isinstance(reports, list):
            for j, report in enumerate(reports):
                if isinstance(report, dict):
                    _sensor_report(ctx, report, _at(_at(here, "sensorReport"), j), event_instant)


_VALUE_FIELDS: Final = ("value", "minValue", "maxValue", "meanValue", "percValue")


def _sensor_report(ctx: RuleChecker, report: dict[str, Any], pointer: str, event_instant: Any) -> None:
    out = ctx.out
    for field, kind in (
        ("type", "measurementType"),
        ("exception", "sensorAlertType"),
        ("component", "component"),
    ):
        if field in report:
            _check_cbv(kind, report[field], _at(pointer, field), ctx)
    if "uom" in report:
        if not any(field in report for field in _VALUE_FIELDS):
            out.error(
                _LAYER,
                _at(pointer, "uom"),
                "a sensorReport without value, minValue, maxValue, meanValue or percValue must omit uom",
                expected="no uom, or a value",
                found=describe(report["uom"]),
            )
        _check_uom(report["uom"], _at(pointer, "uom"), out)
    if "component" in report and not ("value" in report and "uom" in report):
        out.error(
            _LAYER,
            pointer,
            "a sensorReport with a component must also give value and uom",
            expected="value and uom",
            found="missing " + " and ".join(f for f in ("value", "uom") if f not in report),
        )
    if "chemicalSubstance" in report and "microorganism" in report:
        out.error(
            _LAYER,
            _at(pointer, "microorganism"),
            "a sensorReport names a chemicalSubstance or a microorganism, not both",
            expected="one of them",
            found="both",
        )
    if ("percRank" in report) != ("percValue" in report):
        missing = "percValue" if "percRank" in report else "percRank"
        out.error(
            _LAYER,
            pointer,
            "percRank and percValue go together",
            expected=f"also {missing}",
            found=f"no {missing}",
        )
    if "sDev" in report and "meanValue" not in report:
        out.error(
            _LAYER,
            _at(pointer, "sDev"),
            "sDev (standard deviation) needs meanValue",
            expected="meanValue",
            found="no meanValue",
        )
    low, high = report.get("minValue"), report.get("maxValue")
    if _number(low) and _number(high) and low > high:
        out.error(
            _LAYER,
            _at(pointer, "minValue"),
            "minValue is greater than maxValue",
            expected=f"at most {high!r}",
            found=describe(low),
        )
    rank = report.get("percRank")
    if _number(rank) and not 0 <= rank <= 100:
        out.error(
            _LAYER,
            _at(pointer, "percRank"),
            "percRank is a percentage",
            expected="0 to 100",
            found=describe(rank),
        )
    hex_value = report.get("hexBinaryValue")
    if isinstance(hex_value, str) and len(hex_value) % 2:
        out.error(
            _LAYER,
            _at(pointer, "hexBinaryValue"),
            "hexBinaryValue must have an even number of hex digits",
            expected="whole bytes (two hex digits each)",
            found=describe(hex_value),
        )
    _sensor_times(ctx, report, pointer, event_instant)
    device = report.get("deviceID")
    if isinstance(device, str):
        _check_identifier(device, _at(pointer, "deviceID"), "any", "deviceID", out)


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _sensor_times(ctx: RuleChecker, holder: dict[str, Any], pointer: str, event_instant: Any) -> None:
    """EPCIS ontology: time and endTime not after eventTime, startTime before it and before endTime.

    The standard says SHALL; these are warnings all the same, since a sensor's clock drifting
    past the reader's is a fact to look at, not a malformed event (GS1's own "all possible
    fields" examples have sensor times after the eventTime).
    """
    instants = {}
    for field in ("time", "startTime", "endTime"):
        text = holder.get(field)
        if isinstance(text, str):
            if not ctx.schema_ran:
                _check_time(ctx, text, _at(pointer, field), field)
            instant = date_time_to_utc(text)
            if instant is not None:
                instants[field] = instant
    out = ctx.out
    if event_instant is not None:
        for field in ("time", "endTime"):
            if field in instants and instants[field] > event_instant:
                out.warning(
                    _LAYER,
                    _at(pointer, field),
                    f"the sensor {field} is after the eventTime",
                    expected="at or before the eventTime",
                    found=describe(holder[field]),
                )
        if "startTime" in instants and instants["startTime"] >= event_instant:
            out.warning(
                _LAYER,
                _at(pointer, "startTime"),
                "the sensor startTime is not before the eventTime",
                expected="before the eventTime",
                found=describe(holder["startTime"]),
            )
    if "startTime" in instants and "endTime" in instants and instants["startTime"] >= instants["endTime"]:
        out.warning(
            _LAYER,
            _at(pointer, "startTime"),
            "the sensor startTime is not before its endTime",
            expected="before the endTime",
            found=describe(holder["startTime"]),
        )


_FIELD_RULES: Final[dict[str, FieldRule]] = {
    **{name: _epc_list for name in EPC_LIST_FIELDS},
    **{name: _quantity_list for name in QUANTITY_LIST_FIELDS},
    "parentID": _parent,
    "readPoint": _location,
    "bizLocation": _location,
    "bizStep": _cbv_field("bizStep"),
    "disposition": _cbv_field("disposition"),
    "persistentDisposition": _persistent_disposition,
    "bizTransactionList": _typed_entries(
        "business transaction", "bizTransaction", "bizTransactionType", "any"
    ),
    "sourceList": _typed_entries("source", "source", "sourceDestType", "party"),
    "destinationList": _typed_entries("destination", "destination", "sourceDestType", "party"),
    "sensorElementList": _sensor_elements,
    "errorDeclaration": _error_declaration,
    "eventID": _event_id,
    "eventTime": _time_field,
    "recordTime": _time_field,
    "eventTimeZoneOffset": _offset,
    "ilmd": _ilmd,
}


# --- event type rules ---------------------------------------------------------------------------


def _filled(event: dict[str, Any], field: str) -> bool:
    value = event.get(field)
    return isinstance(value, list) and len(value) > 0


def _object_event(ctx: RuleChecker, event: dict[str, Any], pointer: str) -> None:
    if ctx.schema_ran:
        return
    action = event.get("action")
    if "ilmd" in event and action in ("OBSERVE", "DELETE"):
        ctx.out.error(
            _LAYER,
            _at(pointer, "ilmd"),
            "ilmd (instance/lot master data) is only for action ADD, when the objects are created",
            expected="action ADD, or no ilmd",
            found=f"action {action}",
        )
    if not (
        _filled(event, "epcList")
        or _filled(event, "quantityList")
        or (_filled(event, "sensorElementList") and "readPoint" in event)
    ):
        ctx.out.error(
            _LAYER,
            pointer,
            "an ObjectEvent must name its objects (epcList or quantityList), "
            "or carry sensor data with a readPoint",
            expected="a non-empty epcList or quantityList",
            found="none",
        )


def _parent_and_children(
    name: str, parent_always: bool
) -> Callable[[RuleChecker, dict[str, Any], str], None]:
    def rule(ctx: RuleChecker, event: dict[str, Any], pointer: str) -> None:
        action = event.get("action")
        if "parentID" not in event:
            if parent_always:
                if not ctx.schema_ran:  # else the schema has said it
                    ctx.out.error(
                        _LAYER,
                        _at(pointer, "parentID"),
                        f"an {name} must name its parent (parentID)",
                        expected="a parentID (an object or a location)",
                        found="nothing",
                    )
            elif action in ("ADD", "DELETE"):
                ctx.out.error(
                    _LAYER,
                    _at(pointer, "parentID"),
                    f"an {name} with action {action} must name its parent (parentID)",
                    expected="a parentID (an SSCC, SGTIN, ...); only OBSERVE may leave it out",
                    found="nothing",
                )
        if (
            not ctx.schema_ran
            and action in ("ADD", "OBSERVE")
            and not (_filled(event, "childEPCs") or _filled(event, "childQuantityList"))
        ):
            ctx.out.error(
                _LAYER,
                pointer,
                f"an {name} with action {action} must list its children "
                "(only DELETE may leave them out, meaning all children)",
                expected="a non-empty childEPCs or childQuantityList",
                found="no children",
            )

    return rule


def _transaction_event(ctx: RuleChecker, event: dict[str, Any], pointer: str) -> None:
    if ctx.schema_ran:
        return
    if not _filled(event, "bizTransactionList"):
        ctx.out.error(
            _LAYER,
            _at(pointer, "bizTransactionList"),
            "a TransactionEvent must name at least one business transaction",
            expected="a non-empty bizTransactionList",
            found="none",
        )
    if event.get("action") in ("ADD", "OBSERVE") and not (
        _filled(event, "epcList") or _filled(event, "quantityList")
    ):
        ctx.out.error(
            _LAYER,
            pointer,
            "a TransactionEvent must name the objects of the transaction",
            expected="a non-empty epcList or quantityList",
            found="none",
        )


def _transformation_event(ctx: RuleChecker, event: dict[str, Any], pointer: str) -> None:
    if ctx.schema_ran:
        return
    inputs = _filled(event, "inputEPCList") or _filled(event, "inputQuantityList")
    outputs = _filled(event, "outputEPCList") or _filled(event, "outputQuantityList")
    if not (inputs and outputs) and not ("transformationID" in event and (inputs or outputs)):
        ctx.out.error(
            _LAYER,
            pointer,
            "a TransformationEvent needs inputs and outputs, or a transformationID with one of them",
            expected="inputs and outputs",
            found="no inputs" if not inputs else "no outputs",
        )
    if "action" in event:
        ctx.out.error(
            _LAYER,
            _at(pointer, "action"),
            "a TransformationEvent has no action",
            expected="no action field",
            found=describe(event["action"]),
        )


_TYPE_RULES: Final[dict[str, Callable[[RuleChecker, dict[str, Any], str], None]]] = {
    "ObjectEvent": _object_event,
    "AggregationEvent": _parent_and_children("AggregationEvent", parent_always=False),
    "AssociationEvent": _parent_and_children("AssociationEvent", parent_always=True),
    "TransactionEvent": _transaction_event,
    "TransformationEvent": _transformation_event,
}
assert set(_TYPE_RULES) == set(EVENT_TYPES)

_FIELD_RULES_AFTER_SCHEMA: Final = {
    key: rule for key, rule in _FIELD_RULES.items() if rule not in (_time_field, _offset)
}
"""The field rules worth running after the JSON Schema layer (it checked the formats)."""
_TYPE_RULES_AFTER_SCHEMA: Final = {"AggregationEvent": _TYPE_RULES["AggregationEvent"]}
"""After the JSON Schema only this is left: parentID for ADD and DELETE (the schema requires none)."""

# Quick tests: a truthy answer means the rule has nothing to report (falsy or TypeError: run it).
_SGTIN_URN: Final = re.compile(
    r"urn:epc:id:sgtin:(?:[0-9]{6}\.[0-9]{7}|[0-9]{7}\.[0-9]{6}|[0-9]{8}\.[0-9]{5}|[0-9]{9}\.[0-9]{4}"
    r"|[0-9]{10}\.[0-9]{3}|[0-9]{11}\.[0-9]{2}|[0-9]{12}\.[0-9])\.[A-Za-z0-9!'()*+,.:;=_\-]{1,20}"
).fullmatch
"""An SGTIN EPC URI whose serial needs no escape: valid by TDS 6.3.1 (company prefix 6 to 12
digits, 13 digits with the item reference, serial of URI-safe GS1 characters)."""


def _epcs_quick(value: Any) -> bool:
    return type(value) is list and all(map(_SGTIN_URN, value)) and len(set(value)) == len(value)


def _place_quick(value: Any) -> bool:
    return type(value) is dict and value.get("id") in _PLACES


def _quick_tables() -> dict[tuple[Binding, bool], dict[str, Callable[[Any], Any]]]:
    tables: dict[tuple[Binding, bool], dict[str, Callable[[Any], Any]]] = {}
    bindings: tuple[Binding, ...] = ("json", "xml")
    for binding in bindings:
        spellings: dict[str, frozenset[str]] = {}
        for kind in ("bizStep", "disposition"):
            spelled = {s for s, owners in _SPELLINGS.items() if kind in owners}
            if binding == "xml":
                spelled = {s for s in spelled if ":" in s}
            spellings[kind] = frozenset(spelled)
        for schema_ran in (False, True):
            table: dict[str, Callable[[Any], Any]] = {
                **{name: _epcs_quick for name in EPC_LIST_FIELDS},
                "readPoint": _place_quick,
                "bizLocation": _place_quick,
                "bizStep": spellings["bizStep"].__contains__,
                "disposition": spellings["disposition"].__contains__,
            }
            if not schema_ran:
                table.update(
                    eventTime=plain_date_time,
                    recordTime=plain_date_time,
                    eventTimeZoneOffset=TIME_ZONE_OFFSETS.__contains__,
                )
            tables[(binding, schema_ran)] = table
    return tables


_QUICK: Final = _quick_tables()


# --- document-level rules ---------------------------------------------------------------------

_SBDH: Final = "sbdh:StandardBusinessDocumentHeader"
_VOCABULARY_KINDS: Final[dict[str, IdentifierKind]] = {
    "urn:epcglobal:epcis:vtype:BusinessLocation": "location",
    "urn:epcglobal:epcis:vtype:ReadPoint": "location",
    "urn:epcglobal:epcis:vtype:Location": "location",
    "urn:epcglobal:epcis:vtype:EPCClass": "class",
}


def check_header_rules(header: Any, out: IssueCollector, pointer: str = "/epcisHeader") -> None:
    """The SBDH sender and receiver identifiers and the master-data element ids.

    An SBDH identifier with authority ``GS1`` (a GLN) must carry a valid check digit; one
    written as an EPC URI (``SGLN``/``PGLN`` authority) must parse; master-data elements
    of the Location and EPCClass vocabularies must have valid identifiers of that level.
    """
    if not isinstance(header, dict):
        return
    sbdh = header.get(_SBDH)
    if isinstance(sbdh, dict):
        for role in ("sbdh:Sender", "sbdh:Receiver"):
            parties = sbdh.get(role)
            for j, party in enumerate(parties if isinstance(parties, list) else [parties]):
                if not isinstance(party, dict):
                    continue
                here = _at(_at(pointer, _SBDH), role) + (f"/{j}" if isinstance(parties, list) else "")
                _sbdh_identifier(party.get("sbdh:Identifier"), _at(here, "sbdh:Identifier"), out)
    master = header.get("epcisMasterData")
    vocabularies = master.get("vocabularyList") if isinstance(master, dict) else None
    if not isinstance(vocabularies, list):
        return
    for i, vocabulary in enumerate(vocabularies):
        if not isinstance(vocabulary, dict):
            continue
        kind = _VOCABULARY_KINDS.get(vocabulary.get("type"))  # type: ignore[arg-type]
        elements = vocabulary.get("vocabularyElementList")
        if kind is None or not isinstance(elements, list):
            continue
        here = _at(_at(_at(_at(pointer, "epcisMasterData"), "vocabularyList"), i), "vocabularyElementList")
        for j, element in enumerate(elements):
            if isinstance(element, dict) and isinstance(element.get("id"), str):
                _check_identifier(element["id"], _at(_at(here, j), "id"), kind, "master-data id", out)


def _sbdh_identifier(identifier: Any, pointer: str, out: IssueCollector) -> None:
    authority = None
    text = identifier
    if isinstance(identifier, dict):
        authority = identifier.get("Authority")
        text = identifier.get("#text")
    if not isinstance(text, str):
        return
    text = text.strip()
    if text.startswith("urn:epc:"):
        _check_identifier(text, pointer, "party", "SBDH identifier", out)
    elif (authority in ("GS1", "GLN") or (text.isdigit() and len(text) == 13)) and not (
        len(text) == 13 and is_valid_gs1_check_digit(text)
    ):
        out.error(
            _LAYER,
            pointer,
            "the SBDH identifier is not a valid GLN",
            expected="13 digits with a valid check digit",
            found=describe(text),
        )
