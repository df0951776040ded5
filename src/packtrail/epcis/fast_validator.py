"""GS1's EPCIS 2.0 JSON Schema, checked fast, with every error reported and located.

The official schema (``data/schema/epcis-json-schema.json``) compiled by a generic JSON
Schema library validates a few thousand events a second and stops at the first error.
This module gives the same verdicts much faster: it reads the schema once at import,
builds one checker per definition (field names, required fields, enumerations and
``propertyNames`` come from the schema itself), and writes the event-level rules
(which list may be empty for which action, ``ilmd`` only with ``ADD``, the inputs and
outputs of a transformation) as plain code. :mod:`packtrail.epcis.schema_oracle`
keeps the official schema as the reference, and the tests check that both accept and
reject exactly the same documents.

>>> from packtrail.epcis.fast_validator import check_json_document
>>> from packtrail.epcis.issues import IssueCollector
>>> out = IssueCollector()
>>> check_json_document({
...     "@context": "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
...     "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2024-03-01T10:05:00Z",
...     "epcisBody": {"eventList": [
...         {"type": "ObjectEvent", "eventTime": "2024-03-01T10:00:00+01:00",
...          "eventTimeZoneOffset": "+01:00", "action": "OBSERV", "bizStep": "transforming",
...          "epcList": ["urn:epc:id:sgtin:4012345.011111.1001"]}]}}, out)
1
>>> for issue in out.issues:
...     print(issue.pointer, "|", issue.reason)
/epcisBody/eventList/0/action | action must be ADD, OBSERVE or DELETE
/epcisBody/eventList/0/bizStep | 'transforming' is not a CBV business step, and a business step of your own must be a URI

Errors are found per field and located by a JSON pointer; the official schema only
says "the document is invalid". Layer name in every issue: ``"schema"``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any, Final, TypeAlias

import orjson

from packtrail.epcis.document import EVENT_TYPES
from packtrail.epcis.formats import (
    TIME_ZONE_OFFSETS,
    is_date_time,
    is_uri,
    plain_date_time,
    time_zone_offset_problem,
)
from packtrail.epcis.issues import IssueCollector, describe, pointer_token
from packtrail.epcis.vocabulary import to_bare

__all__ = [
    "SCHEMA",
    "check_event",
    "check_events",
    "check_json_document",
    "check_one",
    "events_of",
]

Checker: TypeAlias = Callable[[Any, str, "str | int", IssueCollector], None]
"""``check(value, parent_pointer, key, out)``: report what is wrong with ``value``, found at
``parent_pointer/key``. Pointers are built only when there is something to report."""

_LAYER: Final = "schema"


def _load_schema() -> dict[str, Any]:
    raw = resources.files("packtrail.epcis").joinpath("data", "schema", "epcis-json-schema.json").read_bytes()
    schema: dict[str, Any] = orjson.loads(raw)
    return schema


SCHEMA: Final = _load_schema()
"""GS1's ratified EPCIS 2.0 JSON Schema (``$id`` .../2.0.1/epcis-json-schema.json), as loaded."""
_DEFS: Final[dict[str, Any]] = SCHEMA["definitions"]


# --- small helpers ----------------------------------------------------------------------------


def _at(parent: str, key: str | int) -> str:
    return f"{parent}/{pointer_token(key)}"


def _article(name: str) -> str:
    return f"an {name}" if name[0] in "AEIOU" else f"a {name}"


def _name(parent: str, key: str | int) -> str:
    """How to call a value in a message: its field name, or ``list[3]`` for a list item."""
    if isinstance(key, int):
        field = parent.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
        return f"{field}[{key}]"
    return key


_CACHE_LIMIT: Final = 1 << 15
_URI_CACHE: set[str] = set()
"""URIs already found valid, for values that repeat (locations, classes, types, extension names)."""


def _uri_cached(value: str) -> bool:
    if value in _URI_CACHE:
        return True
    if is_uri(value):
        if len(_URI_CACHE) >= _CACHE_LIMIT:
            _URI_CACHE.clear()
        _URI_CACHE.add(value)
        return True
    return False


def _uri_hint(value: str) -> str:
    if not value:
        return " (it is empty)"
    if ":" not in value:
        return " (a URI starts with a scheme such as urn: or https:)"
    if any(c.isspace() for c in value):
        return " (it contains white space; escape it as %20)"
    if not value.isascii():
        return " (it contains characters outside ASCII; percent-encode them)"
    return ""


_URI_EXPECTED: Final = "a URI such as urn:epc:id:sgtin:4012345.011111.1001 or https://id.gs1.org/01/..."


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _freeze(value: Any) -> Any:
    """A hashable stand-in with JSON equality (``1 == 1.0``, ``true != 1``), for ``uniqueItems``."""
    if isinstance(value, dict):
        return frozenset((k, _freeze(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, bool):
        return (bool, value)
    return value


def _first_duplicate(items: list[Any] | tuple[Any, ...]) -> int:
    """Index of the first item equal to an earlier one (JSON equality), or -1."""
    seen: set[Any] = set()
    for i, item in enumerate(items):
        key = _freeze(item)
        if key in seen:
            return i
        seen.add(key)
    return -1


def _all_unique(items: list[Any] | tuple[Any, ...]) -> bool:
    if len(items) < 2:
        return True
    try:
        if len(set(items)) == len(items):
            return True  # Python equality merges more than JSON's (True == 1), never less
    except TypeError:
        pass  # objects or arrays among the items
    return _first_duplicate(items) < 0


# --- leaf checkers ----------------------------------------------------------------------------


def _string(value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
    if not isinstance(value, str):
        out.error(
            _LAYER,
            _at(parent, key),
            f"{_name(parent, key)} must be text",
            expected="a string",
            found=describe(value),
        )


def _number(value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
    if not _is_number(value):
        out.error(
            _LAYER,
            _at(parent, key),
            f"{_name(parent, key)} must be a number",
            expected="a JSON number",
            found=describe(value),
        )


def _boolean(value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
    if not isinstance(value, bool):
        out.error(
            _LAYER,
            _at(parent, key),
            f"{_name(parent, key)} must be true or false",
            expected="true or false",
            found=describe(value),
        )


def _uri_checker(cached: bool) -> Checker:
    ok = _uri_cached if cached else is_uri

    def check(value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
        if isinstance(value, str):
            if not ok(value):
                out.error(
                    _LAYER,
                    _at(parent, key),
                    f"{_name(parent, key)} is not a URI{_uri_hint(value)}",
                    expected=_URI_EXPECTED,
                    found=describe(value),
                )
        else:
            out.error(
                _LAYER,
                _at(parent, key),
                f"{_name(parent, key)} must be a URI written as text",
                expected="a string holding a URI",
                found=describe(value),
            )

    return check


_uri: Final = _uri_checker(cached=False)
_uri_c: Final = _uri_checker(cached=True)

Predicate: TypeAlias = Callable[[Any], Any]
"""A quick yes for the common valid case (truthy: valid; falsy or TypeError: ask the checker).
Most are C functions (a set's ``__contains__``, a regex's ``fullmatch``), so the usual field
costs no Python call at all."""

_PREDICATES: dict[Checker, Predicate] = {}
"""Checker -> its quick test, where one exists."""

_ALWAYS: Final = id
"""A C function that is truthy for every value: for the event ``type``, matched already."""

_PATH_CHARS: Final = r"A-Za-z0-9\-._~!$&'()*+,;=:@"
_PLAIN_URN: Final = re.compile(rf"urn:[{_PATH_CHARS}][{_PATH_CHARS}/]*+").fullmatch
"""A URN with no percent-escape, query or fragment: a URI for sure (the common EPC identifier)."""

_PREDICATES[_uri] = _PLAIN_URN
_PREDICATES[_uri_c] = _URI_CACHE.__contains__


def _time(value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
    if isinstance(value, str):
        if not is_date_time(value):
            out.error(
                _LAYER,
                _at(parent, key),
                f"{_name(parent, key)} is not a date and time with a time-zone offset (RFC 3339)",
                expected="YYYY-MM-DDThh:mm:ss[.fff]Z or ...+hh:mm",
                found=describe(value),
            )
    else:
        out.error(
            _LAYER,
            _at(parent, key),
            f"{_name(parent, key)} must be a date and time written as text",
            expected="a string such as 2024-03-01T10:00:00.000+01:00",
            found=describe(value),
        )


def _pattern_checker(regex: str, what: str, expected: str) -> Checker:
    match = re.compile(regex).fullmatch

    def check(value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
        if not isinstance(value, str):
            out.error(
                _LAYER,
                _at(parent, key),
                f"{_name(parent, key)} must be text",
                expected="a string",
                found=describe(value),
            )
        elif match(value) is None:
            out.error(
                _LAYER,
                _at(parent, key),
                f"{_name(parent, key)} {what}",
                expected=expected,
                found=describe(value),
            )

    return check


def _ecma(pattern: str) -> str:
    """A ``^...$`` JSON Schema (ECMA-262) pattern as a Python regex for ``fullmatch``.

    ECMA's ``\\d`` is ASCII 0-9 (Python's str patterns also match other digits) and ``$``
    ends the input (Python's also matches before a final newline), so both are rewritten.
    """
    if not (pattern.startswith("^") and pattern.endswith("$")):  # pragma: no cover - guards the schema
        raise RuntimeError(f"unexpected pattern in the EPCIS schema: {pattern!r}")
    return pattern[1:-1].replace("\\d", "[0-9]")


_hex: Final = _pattern_checker(
    _ecma(_DEFS["hexBinary"]["pattern"]), "is not hexadecimal", "hex digits 0-9, A-F"
)
_uom: Final = _pattern_checker(
    _ecma(_DEFS["uom"]["pattern"]),
    "is not a UN/ECE Recommendation 20 unit code (2 or 3 capitals or digits)",
    "a code such as KGM, LTR or EA",
)
_version: Final = _pattern_checker(
    _ecma(_DEFS["version"]["pattern"]), "is not a version number", 'numbers separated by dots, such as "2.0"'
)

_ACTIONS: Final = tuple(_DEFS["action"]["enum"])


_PREDICATES[_hex] = re.compile(_ecma(_DEFS["hexBinary"]["pattern"])).fullmatch
_PREDICATES[_uom] = re.compile(_ecma(_DEFS["uom"]["pattern"])).fullmatch


def _action(value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
    if isinstance(value, str) and value in _ACTIONS:
        return
    out.error(
        _LAYER,
        _at(parent, key),
        "action must be ADD, OBSERVE or DELETE",
        expected="ADD, OBSERVE or DELETE",
        found=describe(value),
    )


_PREDICATES[_time] = plain_date_time
_PREDICATES[_string] = str.__instancecheck__


def _time_zone_offset(value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
    if isinstance(value, str):
        problem = time_zone_offset_problem(value)
        if problem is not None:
            out.error(
                _LAYER,
                _at(parent, key),
                f"eventTimeZoneOffset is not a time-zone offset: {problem}",
                expected="+HH:MM or -HH:MM from -14:00 to +14:00",
                found=describe(value),
            )
    else:
        out.error(
            _LAYER,
            _at(parent, key),
            "eventTimeZoneOffset must be text",
            expected="a string such as +01:00",
            found=describe(value),
        )


_PREDICATES[_action] = frozenset(_ACTIONS).__contains__
_PREDICATES[_time_zone_offset] = TIME_ZONE_OFFSETS.__contains__


# --- CBV values: a term of the code list, or a URI of your own ---------------------------------

_CBV_TITLES: Final = {
    "bizStep": "business step",
    "disposition": "disposition",
    "error-reason": "error reason",
    "bizTransaction-type": "business transaction type",
    "source-dest-type": "source/destination type",
    "measurementType": "sensor measurement type",
    "sensorAlertType": "sensor alert type",
    "component": "coordinate component",
}


_VOCABULARY_OF: Final = {
    "bizStep": "bizStep",
    "disposition": "disposition",
    "error-reason": "errorReason",
    "bizTransaction-type": "bizTransactionType",
    "source-dest-type": "sourceDestType",
    "measurementType": "measurementType",
    "sensorAlertType": "sensorAlertType",
    "component": "component",
}
"""Schema definition -> the :mod:`packtrail.epcis.vocabulary` code list of the same terms."""


def _negative_prefixes(definition: dict[str, Any]) -> tuple[str, ...]:
    """The prefixes a ``^(?!(a|https?:\\/\\/b))`` pattern forbids, as plain strings."""
    pattern: str = definition["pattern"]
    inner = pattern.removeprefix("^(?!(").removesuffix("))")
    prefixes: list[str] = []
    for alternative in inner.split("|"):
        text = alternative.replace("\\/", "/").replace("\\.", ".")
        if text.startswith("https?"):
            rest = text.removeprefix("https?")
            prefixes += ["http" + rest, "https" + rest]
        else:
            prefixes.append(text)
    if any(c in p for p in prefixes for c in "\\()[]?*+"):  # pragma: no cover - guards the schema
        raise RuntimeError(f"unexpected pattern in the EPCIS schema: {pattern!r}")
    return tuple(prefixes)


def _cbv_checker(definition_name: str) -> Checker:
    """``anyOf`` [a URI outside GS1's own namespaces, one of the code list's bare words]."""
    branches = _DEFS[definition_name]["anyOf"]
    reference = next(b["$ref"] for b in branches if "$ref" in b).rsplit("/", 1)[-1]
    terms = frozenset(next(b["enum"] for b in branches if "enum" in b))
    forbidden = _negative_prefixes(_DEFS[reference])
    title = _CBV_TITLES[definition_name]
    kind = _VOCABULARY_OF[definition_name]
    example = sorted(terms)[0]

    def check(value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
        if isinstance(value, str):
            if value in terms:
                return
            if _uri_cached(value):
                if not value.startswith(forbidden):
                    return
                bare = to_bare(kind, value)
                out.error(
                    _LAYER,
                    _at(parent, key),
                    f"in JSON-LD a CBV {title} is written as its bare word, not as a URN or a GS1 "
                    "vocabulary URI",
                    expected=f"the bare word {bare!r}"
                    if bare != value
                    else f"a bare word such as {example!r}",
                    found=describe(value),
                )
                return
            out.error(
                _LAYER,
                _at(parent, key),
                f"{describe(value)} is not a CBV {title}, and a {title} of your own must be a URI",
                expected=f"a CBV 2.0 {title} such as '{example}', or a URI",
                found=describe(value),
            )
        else:
            out.error(
                _LAYER,
                _at(parent, key),
                f"{_name(parent, key)} must be text",
                expected=f"a CBV 2.0 {title} or a URI",
                found=describe(value),
            )

    _PREDICATES[check] = terms.__contains__
    return check


# --- compound values --------------------------------------------------------------------------


def _list_checker(
    item: Checker,
    what: str,
    *,
    min_items: int = 0,
    unique: bool = False,
    scalar_ok: Callable[[Any], bool] | None = None,
) -> Checker:
    """An array whose items all pass ``item``; ``scalar_ok`` is a fast test for simple items."""

    def check(value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
        if not isinstance(value, (list, tuple)):
            out.error(
                _LAYER,
                _at(parent, key),
                f"{_name(parent, key)} must be a list",
                expected=f"an array of {what}",
                found=describe(value),
            )
            return
        if len(value) < min_items:
            out.error(
                _LAYER,
                _at(parent, key),
                f"{_name(parent, key)} must not be empty",
                expected=f"at least {min_items} {what}",
                found="an empty array",
            )
        if unique and not _all_unique(value):
            index = _first_duplicate(value)
            out.error(
                _LAYER,
                _at(_at(parent, key), index),
                f"{_name(parent, key)} lists the same value twice",
                expected="each value once",
                found=describe(value[index]),
            )
        if scalar_ok is not None:
            for x in value:
                if not scalar_ok(x):
                    break
            else:
                return
        me = _at(parent, key)
        for i, x in enumerate(value):
            item(x, me, i, out)

    if scalar_ok is not None:
        fast_item = _PREDICATES[item]
        if unique:

            def quick(value: Any) -> bool:
                return type(value) is list and all(map(fast_item, value)) and len(set(value)) == len(value)

        else:

            def quick(value: Any) -> bool:
                return type(value) is list and all(map(fast_item, value))

        _PREDICATES[check] = quick
    return check


def _uri_ok(value: Any) -> bool:
    return isinstance(value, str) and is_uri(value)


def _uri_ok_cached(value: Any) -> bool:
    return isinstance(value, str) and _uri_cached(value)


def _key_ok(key: str) -> bool:
    """``propertyNames``: a name outside the standard ones must be a URI (``prefix:name`` is one)."""
    return _uri_cached(key)


def _unknown_field(parent: str, key: str, what: str, out: IssueCollector) -> None:
    out.error(
        _LAYER,
        _at(parent, key),
        f"{key!r} is not a field of {what}; an extension field needs a namespace prefix (prefix:name)",
        expected="a standard field, or an extension field prefix:name",
        found=repr(key),
    )


class _Object:
    """An object: known fields checked, required fields present, other names restricted.

    ``allowed``: the names ``propertyNames`` lists (others must be URIs); None: any name.
    ``closed``: ``additionalProperties: false`` (only the ``properties``).
    """

    __slots__ = ("allowed", "closed", "names", "properties", "required", "what")

    def __init__(
        self,
        what: str,
        properties: dict[str, Checker],
        required: tuple[str, ...] = (),
        allowed: frozenset[str] | None = None,
        closed: bool = False,
    ) -> None:
        self.what = what
        self.properties = properties
        self.required = required
        self.allowed = allowed
        self.closed = closed
        self.names = ", ".join(properties)

    def __call__(self, value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
        if not isinstance(value, dict):
            out.error(
                _LAYER,
                _at(parent, key),
                f"{_name(parent, key)} must be an object",
                expected=f"a JSON object ({self.what})",
                found=describe(value),
            )
            return
        self.at(value, _at(parent, key), out)

    def at(self, value: dict[str, Any], me: str, out: IssueCollector) -> None:
        """Check an object whose own pointer is ``me``."""
        properties = self.properties
        allowed = self.allowed
        for field, child in value.items():
            checker = properties.get(field)
            if checker is not None:
                checker(child, me, field, out)
            elif self.closed:
                out.error(
                    _LAYER,
                    _at(me, field),
                    f"{self.what} has no field {field!r}",
                    expected=f"only {self.names}",
                    found=repr(field),
                )
            elif allowed is not None and field not in allowed and not _key_ok(field):
                _unknown_field(me, field, self.what, out)
        for field in self.required:
            if field not in value:
                out.error(
                    _LAYER,
                    _at(me, field),
                    f"{self.what} must have {field}",
                    expected=f"a {field}",
                    found="nothing",
                )


def _location_ok(value: Any) -> bool:
    return type(value) is dict and value.get("id") in _URI_CACHE


def _location_checker(what: str) -> Checker:
    """readPoint and bizLocation: ``{"id": URI, ...extensions}``; the common case costs one look-up."""
    general = _compile_object(what)

    def check(value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
        if isinstance(value, dict):
            ident = value.get("id")
            if isinstance(ident, str) and _uri_cached(ident):
                return  # no other constraint: extensions are free
        general(value, parent, key, out)

    _PREDICATES[check] = _location_ok
    return check


def _persistent_disposition(value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
    _PERSISTENT_DISPOSITION_OBJECT(value, parent, key, out)
    if isinstance(value, dict) and "set" not in value and "unset" not in value:
        out.error(
            _LAYER,
            _at(parent, key),
            "persistentDisposition must have set, unset or both",
            expected="set and/or unset",
            found="neither",
        )


def _certification_info(value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
    if isinstance(value, str):
        _uri(value, parent, key, out)
    elif isinstance(value, (list, tuple)):
        _CERTIFICATION_LIST(value, parent, key, out)
    else:
        out.error(
            _LAYER,
            _at(parent, key),
            "certificationInfo must be a URI or a list of URIs",
            expected="a string or an array of strings",
            found=describe(value),
        )


def _context(value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
    """``@context``: a URI, an object, or a list of distinct URIs and objects."""
    if isinstance(value, dict):
        return
    if isinstance(value, str):
        if not _uri_cached(value):
            out.error(
                _LAYER,
                _at(parent, key),
                f"the @context entry is not a URI{_uri_hint(value)}",
                expected="the EPCIS context URL, or an object",
                found=describe(value),
            )
        return
    if not isinstance(value, (list, tuple)):
        out.error(
            _LAYER,
            _at(parent, key),
            "@context must be a URL, an object, or a list of them",
            expected="a string, an object or an array",
            found=describe(value),
        )
        return
    me = _at(parent, key)
    for i, entry in enumerate(value):
        if isinstance(entry, str):
            if not _uri_cached(entry):
                out.error(
                    _LAYER,
                    _at(me, i),
                    f"the @context entry is not a URI{_uri_hint(entry)}",
                    expected="a URL or an object",
                    found=describe(entry),
                )
        elif not isinstance(entry, dict):
            out.error(
                _LAYER,
                _at(me, i),
                "an @context entry must be a URL or an object",
                expected="a string or an object",
                found=describe(entry),
            )
    if not _all_unique(value):
        index = _first_duplicate(value)
        out.error(
            _LAYER,
            _at(me, index),
            "the @context lists the same entry twice",
            expected="each entry once",
            found=describe(value[index]),
        )


def _attribute_value(value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
    if not (_is_number(value) or isinstance(value, (str, dict))):
        out.error(
            _LAYER,
            _at(parent, key),
            "a master-data attribute must be a number, text or an object",
            expected="a number, a string or an object",
            found=describe(value),
        )


def _skip(value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
    """The ``type`` of a document or event: already matched when the checker was chosen."""


# --- the schema compiler ------------------------------------------------------------------------

_WHAT: Final = {
    "errorDeclaration": "an errorDeclaration",
    "quantityElement": "a quantity element (epcClass, quantity, uom)",
    "bizTransaction": "a business transaction (type, bizTransaction)",
    "readPoint": "readPoint",
    "bizLocation": "bizLocation",
    "source": "a source (type, source)",
    "destination": "a destination (type, destination)",
    "sensorElement": "a sensor element",
    "sensorReport": "a sensorReport",
    "sensorMetadata": "sensorMetadata",
    "ilmd": "ilmd",
    "vocabulary": "a master-data vocabulary",
    "vocabularyElement": "a master-data vocabulary element",
    "attribute": "a master-data attribute",
    "epcisHeader": "the epcisHeader",
    "epcisQueryDocumentBody": "the epcisBody of a query document",
    "queryResults": "queryResults",
    "resultsBody": "resultsBody",
}

_UNIQUE_VALUE_FIELDS: Final = frozenset(
    {"eventID", "correctiveEventIDs", "parentID", "epcList", "childEPCs", "inputEPCList", "outputEPCList"}
)
"""Fields whose values rarely repeat: not worth caching."""

_REF: dict[str, Checker] = {}


def _ref(name: str) -> Checker:
    found = _REF.get(name)
    if found is None:
        found = _compile_definition(name)
        _REF[name] = found
    return found


def _property_names(definition: Any) -> frozenset[str] | None:
    """The names a ``propertyNames`` allows besides URIs (None: no restriction)."""
    if definition is None:
        return None
    if definition == {"type": "string", "format": "uri"}:
        return frozenset()
    branches = definition.get("anyOf") if isinstance(definition, dict) else None
    if branches is None or len(branches) != 2:  # pragma: no cover - guards the schema
        raise RuntimeError(f"unexpected propertyNames in the EPCIS schema: {definition!r}")
    names: set[str] = set()
    for branch in branches:
        if branch == {"$ref": "#/definitions/vocab-uri"}:
            continue
        if branch.get("$ref") == "#/definitions/common-event-properties":
            names |= _property_names(_DEFS["common-event-properties"]) or set()
        elif branch.get("type") == "string" and "enum" in branch:
            names |= set(branch["enum"])
        else:  # pragma: no cover - guards the schema
            raise RuntimeError(f"unexpected propertyNames in the EPCIS schema: {definition!r}")
    return frozenset(names)


def _compile_value(field: str, definition: dict[str, Any], owner: str) -> Checker:
    """The checker of one property's schema."""
    if "$ref" in definition:
        name = definition["$ref"].rsplit("/", 1)[-1]
        if name in ("uri", "id", "eventID") and field not in _UNIQUE_VALUE_FIELDS:
            return _uri_c
        return _ref(name)
    kind = definition.get("type")
    if kind == "array":
        item_definition = definition.get("items", {})
        item = _compile_value(field, item_definition, owner)
        unique = bool(definition.get("uniqueItems"))
        fast = None
        if item is _uri:
            fast = _uri_ok
        elif item is _uri_c:
            fast = _uri_ok_cached
        return _list_checker(
            item, f"{field} entries", min_items=definition.get("minItems", 0), unique=unique, scalar_ok=fast
        )
    if kind == "string" and set(definition) == {"type"}:
        return _string
    if kind == "string" and field == "eventTimeZoneOffset":
        return _time_zone_offset
    if kind == "string" and field == "type" and "enum" in definition:
        return _skip  # the type itself: the checker was chosen by it
    if kind == "object":
        return _compile_object_definition(field, definition)
    raise RuntimeError(f"unexpected definition of {owner}.{field} in the EPCIS schema: {definition!r}")


def _compile_object_definition(what: str, definition: dict[str, Any]) -> _Object:
    properties = {
        name: _compile_value(name, sub, what) for name, sub in definition.get("properties", {}).items()
    }
    return _Object(
        _WHAT.get(what, what),
        properties,
        tuple(definition.get("required", ())),
        _property_names(definition.get("propertyNames")),
        closed=definition.get("additionalProperties") is False,
    )


def _compile_object(name: str) -> _Object:
    return _compile_object_definition(name, _DEFS[name])


_LEAVES: Final[dict[str, Checker]] = {
    "uri": _uri,
    "id": _uri,
    "eventID": _uri,
    "vocab-uri": _uri_c,
    "time": _time,
    "decimal": _number,
    "boolean": _boolean,
    "string": _string,
    "hexBinary": _hex,
    "uom": _uom,
    "version": _version,
    "action": _action,
    "certificationInfo": _certification_info,
    "@context": _context,
    "persistentDisposition": _persistent_disposition,
}


def _compile_definition(name: str) -> Checker:
    leaf = _LEAVES.get(name)
    if leaf is not None:
        return leaf
    if name in _CBV_TITLES:
        return _cbv_checker(name)
    if name in ("readPoint", "bizLocation"):
        return _location_checker(name)
    if name == "attribute":
        return _Object(_WHAT["attribute"], {"id": _uri_c, "attribute": _attribute_value}, ("id",))
    if name == "EPCIS-Document-Event":
        return _event_item
    definition = _DEFS[name]
    kind = definition.get("type")
    if kind == "object":
        checker = _compile_object(name)
        if name == "ilmd":
            _PREDICATES[checker] = _ilmd_ok
        return checker
    if kind == "array":
        return _compile_value(name, definition, name)
    raise RuntimeError(f"unexpected definition {name!r} in the EPCIS schema")  # pragma: no cover


def _ilmd_ok(value: Any) -> bool:
    """ilmd: every name an extension name already seen (so known to be a URI)."""
    return type(value) is dict and _URI_CACHE.issuperset(value)


def _persistent_disposition_object() -> Checker:
    first, second = _DEFS["persistentDisposition"]["allOf"]
    if second != {
        "anyOf": [{"type": "object", "required": ["set"]}, {"type": "object", "required": ["unset"]}]
    }:
        raise RuntimeError("unexpected persistentDisposition in the EPCIS schema")  # pragma: no cover
    return _compile_object_definition("persistentDisposition", first)


_PERSISTENT_DISPOSITION_OBJECT: Final = _persistent_disposition_object()
_CERTIFICATION_LIST: Final = _list_checker(_uri, "certificationInfo URIs", scalar_ok=_uri_ok)


# --- events -----------------------------------------------------------------------------------


class _EventSpec:
    """What GS1's schema says about one event type."""

    __slots__ = ("allowed", "any_of", "fast", "fields", "name", "required", "required_set", "title")

    def __init__(
        self,
        name: str,
        fields: dict[str, Checker],
        allowed: frozenset[str],
        required: tuple[str, ...],
        any_of: Callable[[dict[str, Any], str, IssueCollector], None],
    ) -> None:
        self.name = name
        self.title = _article(name)
        self.fields = fields
        self.allowed = allowed
        self.required = required
        self.required_set = frozenset(required)
        self.any_of = any_of
        self.fast: dict[str, Predicate] = {"type": _ALWAYS}
        for field, checker in fields.items():
            predicate = _PREDICATES.get(checker)
            if predicate is not None:
                self.fast[field] = predicate


def _present_list(event: dict[str, Any], field: str) -> int:
    """-1: absent; -2: present but not a list (the field's own check reports that); else its length."""
    if field not in event:
        return -1
    value = event[field]
    return len(value) if isinstance(value, (list, tuple)) else -2


def _object_event_rules(event: dict[str, Any], pointer: str, out: IssueCollector) -> None:
    if "epcList" in event and "ilmd" not in event:
        return  # the everyday case
    epcs = _present_list(event, "epcList")
    quantities = _present_list(event, "quantityList")
    sensors = _present_list(event, "sensorElementList")
    named = epcs != -1 or quantities > 0 or (sensors > 0 and "readPoint" in event)
    if not named and quantities != -2 and sensors != -2:
        out.error(
            _LAYER,
            pointer,
            "an ObjectEvent must name its objects: an epcList, a non-empty quantityList, or sensor data "
            "(a non-empty sensorElementList) with a readPoint",
            expected="epcList, quantityList, or sensorElementList with readPoint",
            found="none of them",
        )
    if "ilmd" in event and event.get("action") in ("OBSERVE", "DELETE"):
        out.error(
            _LAYER,
            _at(pointer, "ilmd"),
            "ilmd (instance/lot master data) is only allowed when action is ADD",
            expected="action ADD, or no ilmd",
            found=f"action {event['action']}",
        )


def _children_rules(kind: str) -> Callable[[dict[str, Any], str, IssueCollector], None]:
    def rules(event: dict[str, Any], pointer: str, out: IssueCollector) -> None:
        epcs = _present_list(event, "childEPCs")
        quantities = _present_list(event, "childQuantityList")
        if epcs <= 0 and quantities <= 0 and event.get("action") != "DELETE" and -2 not in (epcs, quantities):
            out.error(
                _LAYER,
                pointer,
                f"an {kind} must list its children (a non-empty childEPCs or childQuantityList) "
                "unless action is DELETE",
                expected="childEPCs or childQuantityList with at least one entry",
                found="no children",
            )

    return rules


def _transaction_event_rules(event: dict[str, Any], pointer: str, out: IssueCollector) -> None:
    epcs = _present_list(event, "epcList")
    quantities = _present_list(event, "quantityList")
    if epcs == -1 and quantities <= 0 and event.get("action") != "DELETE" and quantities != -2:
        out.error(
            _LAYER,
            pointer,
            "a TransactionEvent must have an epcList or a non-empty quantityList unless action is DELETE",
            expected="epcList or quantityList",
            found="neither",
        )


def _transformation_event_rules(event: dict[str, Any], pointer: str, out: IssueCollector) -> None:
    counts = [
        _present_list(event, f)
        for f in ("inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList")
    ]
    if -2 in counts:
        return  # a list field that is no list: reported by its own check
    inputs = counts[0] > 0 or counts[1] > 0
    outputs = counts[2] > 0 or counts[3] > 0
    if inputs and outputs:
        return
    if "transformationID" in event and (inputs or outputs):
        return
    if "transformationID" in event:
        reason = "a TransformationEvent must have at least one input or output"
        expected = "a non-empty inputEPCList, inputQuantityList, outputEPCList or outputQuantityList"
    else:
        reason = (
            "a TransformationEvent without a transformationID must have both inputs and outputs "
            "(a non-empty input list and a non-empty output list)"
        )
        expected = "inputs and outputs, or a transformationID"
    found = "no inputs" if not inputs and outputs else "no outputs" if inputs else "no inputs or outputs"
    out.error(_LAYER, pointer, reason, expected=expected, found=found)


_ANY_OF_RULES: Final[dict[str, Callable[[dict[str, Any], str, IssueCollector], None]]] = {
    "ObjectEvent": _object_event_rules,
    "AggregationEvent": _children_rules("AggregationEvent"),
    "AssociationEvent": _children_rules("AssociationEvent"),
    "TransactionEvent": _transaction_event_rules,
    "TransformationEvent": _transformation_event_rules,
}
"""The ``anyOf`` parts of each event type's schema, as code (checked by the differential tests)."""

_EVENT_DEFINITION: Final = _DEFS["Event"]
_EVENT_FIELDS: Final = {
    name: _compile_value(name, sub, "Event") for name, sub in _EVENT_DEFINITION["properties"].items()
}
_EVENT_REQUIRED: Final = tuple(_EVENT_DEFINITION["required"])


def _event_spec(name: str) -> _EventSpec:
    parts = _DEFS[name]["allOf"]
    if parts[0] != {"$ref": "#/definitions/Event"} or parts[1].get("type") != "object":
        raise RuntimeError(f"unexpected definition of {name} in the EPCIS schema")  # pragma: no cover
    body = parts[1]
    fields = dict(_EVENT_FIELDS)
    for field, sub in body["properties"].items():
        if field != "type":
            fields[field] = _compile_value(field, sub, name)
    allowed = _property_names(body["propertyNames"]) or frozenset()
    required = _EVENT_REQUIRED + tuple(r for r in body["required"] if r != "type")
    return _EventSpec(name, fields, allowed, required, _ANY_OF_RULES[name])


_SPECS: Final = {name: _event_spec(name) for name in EVENT_TYPES}


def _check_typed_event(spec: _EventSpec, event: dict[str, Any], pointer: str, out: IssueCollector) -> None:
    fast = spec.fast
    fields = spec.fields
    for key, value in event.items():
        quick = fast.get(key)
        if quick is not None:
            try:
                if quick(value):
                    continue
            except TypeError:
                pass  # a value of the wrong type: the checker explains
            fields[key](value, pointer, key, out)
            continue
        checker = fields.get(key)
        if checker is not None:
            checker(value, pointer, key, out)
        elif key not in spec.allowed and key not in _URI_CACHE and not _key_ok(key):
            _unknown_field(pointer, key, spec.title, out)
    if not event.keys() >= spec.required_set:
        for field in spec.required:
            if field not in event:
                out.error(
                    _LAYER,
                    _at(pointer, field),
                    f"{spec.title} must have {field}",
                    expected=f"a {field}",
                    found="nothing",
                )
    spec.any_of(event, pointer, out)


def _check_extended_event(event: dict[str, Any], pointer: str, out: IssueCollector) -> None:
    """An event of a type the standard does not define: common fields only, its type a URI."""
    kind = event.get("type")
    if isinstance(kind, str):
        if not _uri_cached(kind):
            out.error(
                _LAYER,
                _at(pointer, "type"),
                f"{kind!r} is not an EPCIS event type, and an event type of your own must be a URI",
                expected=" or ".join(EVENT_TYPES) + ", or a URI",
                found=describe(kind),
            )
    else:
        out.error(
            _LAYER,
            _at(pointer, "type"),
            "an event's type must be text",
            expected=" or ".join(EVENT_TYPES),
            found=describe(kind),
        )
    for key, value in event.items():
        checker = _EVENT_FIELDS.get(key)
        if checker is not None:
            checker(value, pointer, key, out)
    for field in _EVENT_REQUIRED:
        if field not in event:
            out.error(
                _LAYER,
                _at(pointer, field),
                f"an event must have {field}",
                expected=f"a {field}",
                found="nothing",
            )


def check_event(event: Any, pointer: str, out: IssueCollector, *, standalone: bool = False) -> None:
    """Check one event against the schema; issues go to ``out`` located under ``pointer``.

    ``standalone``: the event is a whole JSON document (as POSTed to a capture
    interface), which must then carry its own ``@context``.
    """
    if not isinstance(event, dict):
        out.error(
            _LAYER, pointer, "an event must be a JSON object", expected="an object", found=describe(event)
        )
        return
    kind = event.get("type")
    if kind is None and "type" not in event:
        out.error(
            _LAYER,
            _at(pointer, "type"),
            "an event must say its type",
            expected=" or ".join(EVENT_TYPES),
            found="nothing",
        )
        return
    spec = _SPECS.get(kind) if isinstance(kind, str) else None
    if spec is not None:
        _check_typed_event(spec, event, pointer, out)
    else:
        _check_extended_event(event, pointer, out)
    if standalone and "@context" not in event:
        out.error(
            _LAYER,
            _at(pointer, "@context"),
            "an event sent on its own must carry the @context",
            expected="an @context naming the EPCIS context",
            found="nothing",
        )


def _event_item(value: Any, parent: str, key: str | int, out: IssueCollector) -> None:
    check_event(value, _at(parent, key), out)


def check_one(event: Any, pointer: str, out: IssueCollector) -> None:
    """Check one event of a document's event list (``pointer``: its own JSON pointer)."""
    if type(event) is dict:
        kind = event.get("type")
        spec = _SPECS.get(kind) if type(kind) is str else None
        if spec is not None:
            _check_typed_event(spec, event, pointer, out)
            return
    check_event(event, pointer, out)


def check_events(events: Iterable[Any], pointer: str, out: IssueCollector) -> int:
    """Check a list of events found at ``pointer`` (``/epcisBody/eventList``); returns how many."""
    count = 0
    specs = _SPECS
    for i, event in enumerate(events):
        count += 1
        if type(event) is dict:
            kind = event.get("type")
            spec = specs.get(kind) if type(kind) is str else None
            if spec is not None:
                _check_typed_event(spec, event, f"{pointer}/{i}", out)
                continue
        check_event(event, f"{pointer}/{i}", out)
    return count


# --- documents --------------------------------------------------------------------------------

_DOCUMENT: Final = _compile_object("epcisDocument")
_QUERY_DOCUMENT: Final = _compile_object("epcisQueryDocument")


def check_json_document(
    top: Any, out: IssueCollector, *, events: Iterable[Any] | None = None, events_pointer: str | None = None
) -> int:
    """Check a whole EPCIS JSON document (parsed JSON) against the schema; returns the events checked.

    The document may be an ``EPCISDocument``, an ``EPCISQueryDocument`` or a single event.
    With ``events``, those are checked as the document's events (found at
    ``events_pointer``) in place of the ``eventList`` inside ``top``, which is then
    expected to be empty (this is how an :class:`~packtrail.epcis.document.EPCISDocument`
    is checked without copying its events).
    """
    if not isinstance(top, dict):
        out.error(
            _LAYER, "", "an EPCIS document must be a JSON object", expected="an object", found=describe(top)
        )
        return 0
    kind = top.get("type")
    if "type" not in top:
        out.error(
            _LAYER,
            "/type",
            "the document must say its type",
            expected="EPCISDocument or EPCISQueryDocument",
            found="nothing",
        )
        return 0
    if kind == "EPCISDocument":
        _check_root(_DOCUMENT, top, out)
        body = top.get("epcisBody")
        listed = body.get("eventList") if isinstance(body, dict) else None
        pointer = "/epcisBody/eventList"
    elif kind == "EPCISQueryDocument":
        _check_root(_QUERY_DOCUMENT, top, out)
        body = top.get("epcisBody")
        results = body.get("queryResults") if isinstance(body, dict) else None
        results_body = results.get("resultsBody") if isinstance(results, dict) else None
        listed = results_body.get("eventList") if isinstance(results_body, dict) else None
        pointer = "/epcisBody/queryResults/resultsBody/eventList"
    else:
        if not isinstance(kind, str):
            out.error(
                _LAYER,
                "/type",
                "the document's type must be text",
                expected="EPCISDocument or EPCISQueryDocument",
                found=describe(kind),
            )
        check_event(top, "", out, standalone=True)
        return 1
    if events is not None:
        return check_events(events, events_pointer or pointer, out)
    if isinstance(listed, (list, tuple)):
        return check_events(listed, pointer, out)
    return 0


def events_of(top: Any) -> tuple[list[Any] | tuple[Any, ...] | None, str]:
    """Where a parsed JSON document keeps its events: the list (None if there is none) and its pointer.

    >>> events_of({"type": "EPCISDocument", "epcisBody": {"eventList": [{}]}})
    ([{}], '/epcisBody/eventList')
    """
    if not isinstance(top, dict):
        return None, ""
    body = top.get("epcisBody")
    if top.get("type") == "EPCISQueryDocument":
        results = body.get("queryResults") if isinstance(body, dict) else None
        results_body = results.get("resultsBody") if isinstance(results, dict) else None
        listed = results_body.get("eventList") if isinstance(results_body, dict) else None
        pointer = "/epcisBody/queryResults/resultsBody/eventList"
    else:
        listed = body.get("eventList") if isinstance(body, dict) else None
        pointer = "/epcisBody/eventList"
    return (listed if isinstance(listed, (list, tuple)) else None), pointer


def _check_root(checker: _Object, top: dict[str, Any], out: IssueCollector) -> None:
    """Run an object checker on the top-level object; its events are checked separately."""
    body = top.get("epcisBody")
    if isinstance(body, dict):
        shallow = dict(top)
        shallow["epcisBody"] = _without_events(body)
        checker.at(shallow, "", out)
    else:
        checker.at(top, "", out)


def _without_events(body: dict[str, Any]) -> dict[str, Any]:
    """The epcisBody with an empty event list where the events were (checked one by one instead)."""
    copy = dict(body)
    if isinstance(copy.get("eventList"), (list, tuple)):
        copy["eventList"] = []
    results = copy.get("queryResults")
    if isinstance(results, dict):
        results = dict(results)
        results_body = results.get("resultsBody")
        if isinstance(results_body, dict) and isinstance(results_body.get("eventList"), (list, tuple)):
            results_body = dict(results_body)
            results_body["eventList"] = []
            results["resultsBody"] = results_body
        copy["queryResults"] = results
    return copy
