"""One EPCIS event -> the rows of every index table (pure functions, no database).

Capture stores each event's document once and, next to it, one row per queryable
value, so that every SimpleEventQuery parameter is an index look-up. This module
computes those rows from an event in the EPCIS 2.0 JSON-LD shape (what every
:mod:`packtrail.epcis` reader produces, JSON-LD and XML alike):

>>> from packtrail.store.index_rows import event_rows
>>> rows = event_rows({
...     "type": "ObjectEvent", "eventTime": "2024-03-01T10:00:00.000+01:00",
...     "eventTimeZoneOffset": "+01:00", "action": "OBSERVE",
...     "epcList": ["https://id.gs1.org/01/10614141073464/21/2017"],
...     "bizStep": "urn:epcglobal:cbv:bizstep:shipping", "disposition": "in_transit",
...     "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
...     "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:PO1"}],
...     "destinationList": [{"type": "owning_party", "destination": "urn:epc:id:pgln:4012345.00000"}],
...     "example:note": "fragile",
... }, {"example": "https://ns.example.com/epcis/"})
>>> rows.event_time_us, rows.event_tz, rows.biz_step, rows.disposition
(1709283600000000, '+01:00', 'shipping', 'in_transit')
>>> rows.epcs, rows.epc_classes
([(1, 'urn:epc:id:sgtin:0614141.107346.2017')], [(1, 'urn:epc:id:sgtin:0614141.107346.')])
>>> rows.biz_transactions, rows.parties
([('po', 'urn:epcglobal:cbv:bt:0614141073467:PO1')], [(2, 'owning_party', 'urn:epc:id:pgln:4012345.00000')])
>>> rows.visible_to
{'4012345000009'}
>>> rows.fields
[('', 'https://ns.example.com/epcis/#note', 1, 'fragile', None, None)]

What each list holds (table columns in the design's words):

- ``epcs``: ``(role, epc)`` for epcList (1), childEPCs (2), parentID (3), inputEPCList (4),
  outputEPCList (5); EPCs in canonical form (:func:`~packtrail.store.identifiers.canonical_epc`).
- ``epc_classes``: ``(role, class key)``, each once: the EPCs' classes
  (:func:`~packtrail.store.identifiers.epc_class_key`), for ``event_epc_classes``.
- ``quantities``: ``(role, epc_class, quantity, uom)`` for quantityList (1), childQuantityList (2),
  inputQuantityList (4), outputQuantityList (5); classes canonical
  (:func:`~packtrail.store.identifiers.canonical_class`).
- ``biz_transactions``: ``(type, value)``, type the bare CBV word (``''`` when absent), value
  through :func:`~packtrail.store.identifiers.canonical_epc` (Digital Links of EPC keys become URNs).
- ``parties``: ``(kind, type, value)``, kind 1 source, 2 destination, type bare, value
  through ``canonical_epc`` (a ``/417/`` Digital Link becomes a PGLN URN).
- ``visible_to``: the GLNs of the ``owning_party`` and ``possessing_party`` sources and destinations.
- ``fields``: ``(section, name, depth, text, num, time_us)`` for every extension field, see below.
- ``sensor``: one dict per sensorReport, keyed by the ``event_sensor`` columns.
- ``errors`` / ``corrective_ids``: the errorDeclaration; ``persistent_dispositions``: ``(kind, value)``,
  kind 1 set, 2 unset, values bare.
- ``biz_step``, ``disposition``: the bare CBV word of a CBV term, else the URI as given;
  ``read_point``, ``biz_location``, ``transformation_id``, ``action``: as given.
- ``dist_key``: signed 32-bit CRC-32 of the primary identifier (parentID, else the first EPC of
  epcList, childEPCs or inputEPCList, else the first quantity class, else eventID).

Extension fields (``event_fields``). Sections: ``''`` (the event itself), ``'ilmd'``,
``'readPoint'``, ``'bizLocation'``, ``'errorDeclaration'``, ``'sensorElement'``,
``'sensorMetadata'``, ``'sensorReport'``. A field's name is :func:`field_name` of its key:
``{namespace}#{local}`` with the prefix resolved. Depth 1 is a direct child of the section
(``EQ_``/``EXISTS_`` parameters), deeper is nested (``EQ_INNER_``/``EXISTS_INNER_``). A list
gives one row per item under the field's own name and depth. An object gives a row with
no value (so ``EXISTS_`` finds it) and its children one level deeper. A leaf gives
:func:`field_value` of its value. From XML, an element with attributes arrives as a dict
with ``"#text"``: the text is the field's value, the attributes (keys before ``"#text"``)
are not indexed, child elements are children:

>>> rows = event_rows({"type": "ObjectEvent", "eventTime": "2024-03-01T09:00:00Z",
...     "ilmd": {"cbvmda:lotNumber": "L1", "ex:temp": {"xsi:type": "xsd:double", "#text": "4.5"},
...              "ex:box": {"ex:size": ["B", 2]}}}, {"ex": "urn:example:ns"})
>>> for row in rows.fields:
...     print(row)
('ilmd', 'urn:epcglobal:cbv:mda#lotNumber', 1, 'L1', None, None)
('ilmd', 'urn:example:ns#temp', 1, '4.5', 4.5, None)
('ilmd', 'urn:example:ns#box', 1, None, None, None)
('ilmd', 'urn:example:ns#size', 2, 'B', None, None)
('ilmd', 'urn:example:ns#size', 2, '2', 2.0, None)

An event that cannot give rows (no ``eventTime``, a list where text belongs, ...)
raises :class:`~packtrail.epcis.errors.EPCISError` with a JSON pointer; capture
validates events before this, so that mostly happens to callers that skip validation.
Hostile sizes are refused here too: an identifier or vocabulary value longer than
:data:`MAX_INDEXED_TEXT`, an extension field name longer than :data:`MAX_FIELD_NAME`,
extension text longer than :data:`MAX_FIELD_STRING` or nested deeper than
:data:`MAX_FIELD_DEPTH`:

>>> event_rows({"type": "ObjectEvent", "eventTime": "2024-03-01T09:00:00Z", "bizStep": "urn:x:" + "x" * 10**6}, {})
Traceback (most recent call last):
...
packtrail.epcis.errors.EPCISError: at /bizStep: bizStep is too long to be indexed (expected at most 600 characters, \
found 1000006 characters)
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from packtrail.epcis.errors import EPCISError
from packtrail.epcis.jsonld import namespace_of
from packtrail.epcis.vocabulary import to_bare
from packtrail.epcis.xml_read import PREFERRED_PREFIXES, TEXT_KEY
from packtrail.store.identifiers import (
    canonical_class,
    canonical_epc,
    epc_class_key,
    gln_of_party,
    parse_time_us,
)
from packtrail.store.schema import (
    PARTY_DESTINATION,
    PARTY_SOURCE,
    PERSISTENT_SET,
    PERSISTENT_UNSET,
    ROLE_CHILD,
    ROLE_EPC_LIST,
    ROLE_INPUT,
    ROLE_OUTPUT,
    ROLE_PARENT,
    SENSOR_COLUMNS,
)

__all__ = [
    "MAX_FIELD_DEPTH",
    "MAX_FIELD_NAME",
    "MAX_FIELD_STRING",
    "MAX_FIELD_TEXT",
    "MAX_INDEXED_TEXT",
    "STANDARD_EVENT_KEYS",
    "WELL_KNOWN_NAMESPACES",
    "EventRows",
    "event_rows",
    "field_name",
    "field_value",
]


@dataclass(slots=True)
class EventRows:
    """Everything the index tables hold about one event (no ``event_pk``: capture adds it)."""

    event_type: str
    """The event's ``type`` (``ObjectEvent``, ...), as given."""
    event_time_us: int
    """``eventTime`` in microseconds since the Unix epoch, UTC."""
    event_tz: str
    """``eventTimeZoneOffset`` (``+01:00``); the eventTime's own offset when that is missing."""
    action: str | None
    """``ADD``, ``OBSERVE`` or ``DELETE``; None for events without one."""
    biz_step: str | None
    """bizStep: the bare CBV word (``shipping``) or the URI as given."""
    disposition: str | None
    """disposition: the bare CBV word (``in_transit``) or the URI as given."""
    read_point: str | None
    """``readPoint.id`` as given."""
    biz_location: str | None
    """``bizLocation.id`` as given."""
    transformation_id: str | None
    """``transformationID`` as given."""
    dist_key: int
    """Signed 32-bit CRC-32 of the primary identifier: the distribution column."""
    epcs: list[tuple[int, str]]
    """``(role, epc)``; roles in :mod:`packtrail.store.schema` (``ROLE_*``)."""
    epc_classes: list[tuple[int, str]]
    """``(role, class key)`` of the EPCs of a known scheme, each pair once
    (:func:`packtrail.store.identifiers.epc_class_key`)."""
    quantities: list[tuple[int, str, float | None, str | None]]
    """``(role, epc_class, quantity, uom)``."""
    biz_transactions: list[tuple[str, str]]
    """``(type, value)``; type ``''`` when absent."""
    parties: list[tuple[int, str, str]]
    """``(kind, type, value)``; kind 1 source, 2 destination."""
    fields: list[tuple[str, str, int, str | None, float | None, int | None]]
    """``(section, name, depth, value_text, value_num, value_time_us)``."""
    sensor: list[dict[str, Any]]
    """One dict per sensorReport: ``event_sensor`` column -> value, every column present."""
    errors: list[tuple[int, str | None]]
    """``(declaration_time_us, reason)`` of the errorDeclaration (at most one)."""
    corrective_ids: list[str]
    """``errorDeclaration.correctiveEventIDs``."""
    persistent_dispositions: list[tuple[int, str]]
    """``(kind, value)``; kind 1 set, 2 unset; values bare."""
    visible_to: set[str]
    """GLNs of the owning/possessing parties among sources and destinations."""


STANDARD_EVENT_KEYS: Final = frozenset(
    {
        "type",
        "eventTime",
        "eventTimeZoneOffset",
        "recordTime",
        "eventID",
        "errorDeclaration",
        "certificationInfo",
        "epcList",
        "parentID",
        "childEPCs",
        "inputEPCList",
        "outputEPCList",
        "quantityList",
        "childQuantityList",
        "inputQuantityList",
        "outputQuantityList",
        "transformationID",
        "action",
        "bizStep",
        "disposition",
        "persistentDisposition",
        "readPoint",
        "bizLocation",
        "bizTransactionList",
        "sourceList",
        "destinationList",
        "sensorElementList",
        "ilmd",
        "id",
    }
)
"""Event keys that are EPCIS fields (plus JSON-LD's ``id``); every other key is an extension field."""

WELL_KNOWN_NAMESPACES: Final[Mapping[str, str]] = {
    prefix: namespace for namespace, prefix in PREFERRED_PREFIXES.items()
}
"""Prefixes that resolve without a declaration (``cbvmda``, ``gs1``, ``cbv``, ...), as the XML reader
names these namespaces and GS1's JSON-LD context defines them; a document's own declaration wins."""

MAX_INDEXED_TEXT: Final = 600
"""Longest identifier or vocabulary value (EPC, class, bizStep, readPoint, bizTransaction, party...) an
event may carry: every such value is a key of a B-tree index, and PostgreSQL refuses index entries
beyond about 2,700 bytes (600 characters are at most 2,400 bytes of UTF-8). Longer ones are refused."""
MAX_FIELD_NAME: Final = 300
"""Longest extension field name (``{namespace}#{local}``) indexed; longer ones are refused."""
MAX_FIELD_STRING: Final = 1 << 20
"""Longest extension field text accepted at all (a million characters); longer ones are refused."""
MAX_FIELD_TEXT: Final = 256
"""``value_text`` keeps at most this many characters (an index entry must stay small); compare
query values through :func:`field_value`, which cuts the same way."""
MAX_FIELD_DEPTH: Final = 64
"""Extension fields nested deeper than this are refused."""

_EPC_LISTS: Final = (
    ("epcList", ROLE_EPC_LIST),
    ("childEPCs", ROLE_CHILD),
    ("inputEPCList", ROLE_INPUT),
    ("outputEPCList", ROLE_OUTPUT),
)
_QUANTITY_LISTS: Final = (
    ("quantityList", ROLE_EPC_LIST),
    ("childQuantityList", ROLE_CHILD),
    ("inputQuantityList", ROLE_INPUT),
    ("outputQuantityList", ROLE_OUTPUT),
)
_VISIBLE_TYPES: Final = frozenset({"owning_party", "possessing_party"})
_NUMBER_START: Final = frozenset("+-.0123456789")
_HUGE: Final = 10**300
"""Integers beyond this (JSON allows any) are too big for a float: no value is indexed."""
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    return "number" if isinstance(value, (int, float)) else type(value).__name__


def _wrong(pointer: str, what: str, expected: str, value: Any) -> EPCISError:
    return EPCISError(f"{what} cannot be indexed", pointer=pointer, expected=expected, found=_kind(value))


def _text(value: Any, pointer: str, what: str) -> str:
    if isinstance(value, str):
        return value
    raise _wrong(pointer, what, "text", value)


def _ident(value: Any, pointer: str, what: str) -> str:
    """``value`` if it is text short enough to be indexed (:data:`MAX_INDEXED_TEXT`)."""
    text = _text(value, pointer, what)
    if len(text) > MAX_INDEXED_TEXT:
        raise EPCISError(
            f"{what} is too long to be indexed",
            pointer=pointer,
            expected=f"at most {MAX_INDEXED_TEXT} characters",
            found=f"{len(text)} characters",
        )
    return text


def _time(value: Any, pointer: str) -> int:
    if not isinstance(value, str):
        raise _wrong(pointer, pointer.rsplit("/", 1)[-1], "an ISO 8601 date-time", value)
    try:
        return parse_time_us(value)[0]
    except EPCISError as exc:
        raise EPCISError(exc.reason, pointer=pointer, expected=exc.expected) from None


def _list(value: Any, pointer: str) -> list[Any]:
    if isinstance(value, list):
        return value
    raise _wrong(pointer, pointer[1:], "an array", value)


def _object(value: Any, pointer: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise _wrong(pointer, pointer[1:], "an object", value)


def _number(value: Any, pointer: str) -> float | None:
    """A quantity or sensor value as a float (numeric text too, as some XML carries it)."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            raise _wrong(pointer, pointer[1:], "a number within range", value) from None
        if math.isfinite(number):
            return number
    elif isinstance(value, str):
        try:
            number = float(value)
            if math.isfinite(number) and "_" not in value:
                return number
        except ValueError:
            pass
    raise _wrong(pointer, pointer[1:], "a finite number", value)


def _signed_crc32(text: str) -> int:
    value = zlib.crc32(text.encode("utf-8", "surrogatepass"))
    return value - (1 << 32) if value >= (1 << 31) else value


# --- extension fields ------------------------------------------------------------------------------------


def field_name(key: str, namespaces: Mapping[str, str]) -> str:
    """The query name of an extension field key: ``{namespace}#{local}``.

    The prefix is resolved with ``namespaces`` (then :data:`WELL_KNOWN_NAMESPACES`); a
    namespace ending in ``#`` gives no second ``#``, and the ``:`` JSON-LD adds to a
    ``urn:`` namespace (``urn:epcglobal:cbv:mda:``) is dropped, so a field reads the same
    whether it came from XML or JSON-LD. A key without a prefix, or with an unknown
    one, is its own name. The query engine names the fields of ``EQ_…``/``EXISTS_…``
    parameters with this same function.

    >>> field_name("example:note", {"example": "https://ns.example.com/epcis/"})
    'https://ns.example.com/epcis/#note'
    >>> field_name("ext:a", {"ext": "http://example.com/ext1#"}), field_name("cbvmda:lotNumber", {})
    ('http://example.com/ext1#a', 'urn:epcglobal:cbv:mda#lotNumber')
    >>> field_name("myField", {}), field_name("unknown:x", {})
    ('myField', 'unknown:x')
    """
    prefix, sep, local = key.partition(":")
    if not sep:
        return key
    namespace = namespaces.get(prefix)
    if namespace is None:
        namespace = WELL_KNOWN_NAMESPACES.get(prefix)
        if namespace is None:
            return key
    if namespace.endswith("#") or (namespace.endswith(":") and namespace[:4].lower() == "urn:"):
        namespace = namespace[:-1]
    return f"{namespace}#{local}"


def field_value(value: Any) -> tuple[str | None, float | None, int | None]:
    """``(value_text, value_num, value_time_us)`` of a leaf value of an extension field.

    Text is kept (cut at :data:`MAX_FIELD_TEXT` characters); text that reads as a finite
    number also gives ``value_num``, an ISO 8601 date-time ``value_time_us`` (no offset:
    UTC). Numbers and booleans are written as JSON writes them; null gives nothing.

    >>> field_value("20"), field_value("2013-06-08T14:58:56.591Z"), field_value(True)
    (('20', 20.0, None), ('2013-06-08T14:58:56.591Z', None, 1370703536591000), ('true', None, None))
    >>> field_value(26.5), field_value("stringAsDefaultValue"), field_value(None)
    (('26.5', 26.5, None), ('stringAsDefaultValue', None, None), (None, None, None))
    """
    if isinstance(value, str):
        text = value if len(value) <= MAX_FIELD_TEXT else value[:MAX_FIELD_TEXT]
        if not value or len(value) > 64:
            return text, None, None
        if value[0] in _NUMBER_START:
            if len(value) >= 19 and value[4] == "-" and value[10] in "Tt":
                return text, None, _field_time(value)
            try:
                number = float(value)
            except ValueError:
                return text, None, None
            if math.isfinite(number) and "_" not in value:
                return text, number, None
        return text, None, None
    if isinstance(value, bool):
        return ("true" if value else "false"), None, None
    if isinstance(value, int):
        if -_HUGE < value < _HUGE:
            return str(value), float(value), None
        return None, None, None
    if isinstance(value, float):
        if math.isfinite(value):
            return repr(value), value, None
        return None, None, None
    return None, None, None


def _field_time(text: str) -> int | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return (moment - _EPOCH) // _MICROSECOND
    except OverflowError:
        return None


_Row = tuple[str, str, int, str | None, float | None, int | None]


_Where = tuple[Any, ...]
"""Where a value is, as ``(parent, key)`` pairs: made into a JSON pointer only for an error message."""


def _pointer(where: _Where) -> str:
    keys: list[str] = []
    while where:
        where, key = where
        keys.append(str(key).replace("~", "~0").replace("/", "~1"))
    return "".join(f"/{key}" for key in reversed(keys))


def _huge(text: str, where: _Where) -> None:
    raise EPCISError(
        "the extension field's text is too long",
        pointer=_pointer(where),
        expected=f"at most {MAX_FIELD_STRING} characters",
        found=f"{len(text)} characters",
    )


_LEAF_TYPES: Final = frozenset({str, int, float, bool, type(None)})


class _Fields:
    """Collects ``event_fields`` rows of one event (the namespaces, the output list and the names of the
    keys seen so far bound once)."""

    __slots__ = ("names", "namespaces", "rows")

    def __init__(self, namespaces: Mapping[str, str], rows: list[_Row]) -> None:
        self.namespaces = namespaces
        self.rows = rows
        self.names: dict[str, str] = {}

    def section(self, section: str, holder: Mapping[str, Any], skip: frozenset[str], where: _Where) -> None:
        """Rows for every key of ``holder`` not in ``skip`` (nor a JSON-LD keyword), at depth 1."""
        for key, value in holder.items():
            if key not in skip:
                self.field(section, key, value, 1, (where, key))

    def field(self, section: str, key: Any, value: Any, depth: int, where: _Where) -> None:
        """Rows of field ``key`` (skipped when a JSON-LD keyword such as ``@type``)."""
        name = self.names.get(key)
        if name is None:
            if type(key) is not str:
                raise _wrong(_pointer(where), "an extension field name", "text", key)
            if key[:1] == "@":
                return
            name = field_name(key, self.namespaces)
            if len(name) > MAX_FIELD_NAME:
                raise EPCISError(
                    "the extension field name is too long to be indexed",
                    pointer=_pointer(where),
                    expected=f"at most {MAX_FIELD_NAME} characters with its namespace",
                    found=f"{len(name)} characters",
                )
            self.names[key] = name
        if type(value) in _LEAF_TYPES:
            if type(value) is str and len(value) > MAX_FIELD_STRING:
                _huge(value, where)
            self.rows.append((section, name, depth, *field_value(value)))
        elif type(value) is list and not value:
            self.rows.append((section, name, depth, None, None, None))
        else:
            self.item(section, name, value, depth, where, False, 0)

    def item(
        self, section: str, name: str, value: Any, depth: int, where: _Where, object_row: bool, lists: int
    ) -> bool:
        """Rows of one value of field ``name`` (lists: of each item); True once the field's value-less
        object row exists."""
        if depth + lists > MAX_FIELD_DEPTH:
            raise EPCISError(
                f"extension fields are nested deeper than {MAX_FIELD_DEPTH} levels",
                pointer=_pointer(where),
                expected=f"at most {MAX_FIELD_DEPTH} levels",
            )
        if type(value) is dict:
            text = value.get(TEXT_KEY, value.get("@value"))
            children: dict[Any, Any] = value
            if text is not None and text != "" and type(text) in _LEAF_TYPES:
                if type(text) is str and len(text) > MAX_FIELD_STRING:
                    _huge(text, where)
                self.rows.append((section, name, depth, *field_value(text)))
            elif not object_row:
                self.rows.append((section, name, depth, None, None, None))
                object_row = True
            if TEXT_KEY in value:  # XML: keys before "#text" are attributes, not fields
                keys = list(value)
                children = {k: value[k] for k in keys[keys.index(TEXT_KEY) + 1 :]}
            for key, child in children.items():
                self.field(section, key, child, depth + 1, (where, key))
        elif type(value) is list:
            for index, item in enumerate(value):
                object_row = self.item(section, name, item, depth, (where, index), object_row, lists + 1)
        else:
            if type(value) is str and len(value) > MAX_FIELD_STRING:
                _huge(value, where)
            self.rows.append((section, name, depth, *field_value(value)))
        return object_row


# --- sensors ---------------------------------------------------------------------------------------------

_SENSOR_TEMPLATE: Final[dict[str, Any]] = dict.fromkeys(SENSOR_COLUMNS)
_MAX_INDEX: Final = 32767
"""``element_idx`` and ``report_idx`` are SMALLINT columns."""

# How a sensorMetadata / sensorReport key fills an ``event_sensor`` column: (column, kind, vocabulary).
_TEXT: Final = 0
_DEVICE: Final = 1
_TIME: Final = 2
_NUMBER: Final = 3
_FLAG: Final = 4
_CBV: Final = 5
_Column = tuple[str, int, str]
_SHARED_COLUMNS: Final[dict[str, _Column]] = {
    "deviceID": ("device_id", _DEVICE, ""),
    "deviceMetadata": ("device_metadata", _TEXT, ""),
    "rawData": ("raw_data", _TEXT, ""),
    "dataProcessingMethod": ("data_processing_method", _TEXT, ""),
    "bizRules": ("biz_rules", _TEXT, ""),
    "time": ("time_us", _TIME, ""),
}
_METADATA_COLUMNS: Final[dict[str, _Column]] = {
    **_SHARED_COLUMNS,
    "startTime": ("start_time_us", _TIME, ""),
    "endTime": ("end_time_us", _TIME, ""),
}
_REPORT_COLUMNS: Final[dict[str, _Column]] = {
    **_SHARED_COLUMNS,
    "type": ("type", _CBV, "measurementType"),
    "exception": ("exception", _CBV, "sensorAlertType"),
    "component": ("component", _CBV, "component"),
    "microorganism": ("microorganism", _TEXT, ""),
    "chemicalSubstance": ("chemical_substance", _TEXT, ""),
    "stringValue": ("string_value", _TEXT, ""),
    "booleanValue": ("boolean_value", _FLAG, ""),
    "hexBinaryValue": ("hex_binary_value", _TEXT, ""),
    "uriValue": ("uri_value", _TEXT, ""),
    "value": ("value", _NUMBER, ""),
    "minValue": ("min_value", _NUMBER, ""),
    "maxValue": ("max_value", _NUMBER, ""),
    "meanValue": ("mean_value", _NUMBER, ""),
    "sDev": ("s_dev", _NUMBER, ""),
    "percRank": ("perc_rank", _NUMBER, ""),
    "percValue": ("perc_value", _NUMBER, ""),
    "uom": ("uom", _TEXT, ""),
    "coordinateReferenceSystem": ("coordinate_reference_system", _TEXT, ""),
}


def _sensor_value(value: Any, kind: int, vocabulary: str, where: _Where) -> Any:
    if kind == _NUMBER:
        return value if type(value) is float else _number(value, _pointer(where))
    if kind == _TIME:
        if type(value) is str:
            try:
                return parse_time_us(value)[0]
            except EPCISError:
                pass
        return _time(value, _pointer(where))
    if kind == _FLAG:
        if type(value) is bool:
            return value
        if value in ("true", "false", "1", "0"):  # as XML writes it
            return value in ("true", "1")
        raise _wrong(_pointer(where), "booleanValue", "true or false", value)
    if type(value) is not str or len(value) > MAX_INDEXED_TEXT:
        value = _ident(value, _pointer(where), str(where[1]))
    if kind == _DEVICE:
        return canonical_epc(value)
    if kind == _CBV:
        return to_bare(vocabulary, value)
    return value


def _sensor_fields(
    row: dict[str, Any],
    holder: Mapping[str, Any],
    columns: Mapping[str, _Column],
    fields: _Fields,
    section: str,
    where: _Where,
) -> None:
    """Fill ``row`` from the standard keys of ``holder``; its other keys are extension fields."""
    for key, value in holder.items():
        spec = columns.get(key)
        if spec is None:
            fields.field(section, key, value, 1, (where, key))
        elif value is not None:
            row[spec[0]] = _sensor_value(value, spec[1], spec[2], (where, key))


def _sensor_rows(elements: list[Any], fields: _Fields, out: list[dict[str, Any]]) -> None:
    """One ``event_sensor`` row per sensorReport, sensorMetadata repeated on each; the report's own
    deviceID, time and the like override the metadata's. An element without reports gets one row
    (``report_idx`` -1) so that ``EXISTS_sensorElementList`` finds it."""
    if len(elements) > _MAX_INDEX:
        raise _wrong("/sensorElementList", "sensorElementList", f"at most {_MAX_INDEX} elements", elements)
    for e_index, element in enumerate(elements):
        where: _Where = (((), "sensorElementList"), e_index)
        if type(element) is not dict:
            element = _object(element, _pointer(where))
        base = dict(_SENSOR_TEMPLATE)
        base["element_idx"] = e_index
        reports: Any = []
        for key, value in element.items():
            if key == "sensorMetadata":
                if value is not None:
                    if type(value) is not dict:
                        value = _object(value, _pointer((where, key)))
                    _sensor_fields(base, value, _METADATA_COLUMNS, fields, "sensorMetadata", (where, key))
            elif key == "sensorReport":
                reports = [value] if type(value) is dict else [] if value is None else value
                if type(reports) is not list:
                    reports = _list(reports, _pointer((where, key)))
                if len(reports) > _MAX_INDEX:
                    raise _wrong(_pointer((where, key)), key, f"at most {_MAX_INDEX} reports", reports)
            else:
                fields.field("sensorElement", key, value, 1, (where, key))
        if not reports:
            row = dict(base)
            row["report_idx"] = -1
            out.append(row)
        for r_index, report in enumerate(reports):
            r_where = ((where, "sensorReport"), r_index)
            if type(report) is not dict:
                report = _object(report, _pointer(r_where))
            row = dict(base)
            row["report_idx"] = r_index
            _sensor_fields(row, report, _REPORT_COLUMNS, fields, "sensorReport", r_where)
            out.append(row)


# --- the event -------------------------------------------------------------------------------------------

_ERROR_KEYS: Final = frozenset({"declarationTime", "reason", "correctiveEventIDs"})
_WHERE_KEYS: Final = frozenset({"id"})


def _with_event_context(event: Mapping[str, Any], namespaces: Mapping[str, str]) -> Mapping[str, str]:
    """The document's namespaces plus those an event declares in its own ``@context``."""
    context = event.get("@context")
    entries = context if isinstance(context, list) else [context]
    found: dict[str, str] = {}
    for entry in entries:
        if isinstance(entry, dict):
            for key, definition in entry.items():
                if isinstance(key, str) and not key.startswith("@") and ":" not in key:
                    namespace = namespace_of(definition)
                    if namespace is not None:
                        found[key] = namespace
    if not found:
        return namespaces
    return {**namespaces, **found}


def _where(event: Mapping[str, Any], key: str, fields: _Fields) -> str | None:
    """``readPoint.id`` / ``bizLocation.id``, with the place's extension fields."""
    place = event.get(key)
    if place is None:
        return None
    if type(place) is not dict:
        place = _object(place, f"/{key}")
    ident = place.get("id")
    if ident is not None and (type(ident) is not str or len(ident) > MAX_INDEXED_TEXT):
        ident = _ident(ident, f"/{key}/id", f"{key} id")
    if len(place) > 1:
        fields.section(key, place, _WHERE_KEYS, ((), key))
    return ident


def _entry(entry: Any, list_key: str, index: int, value_key: str, vocabulary: str) -> tuple[str, str]:
    """``(bare type or '', value as given)`` of a bizTransaction, source or destination entry."""
    if type(entry) is not dict:
        entry = _object(entry, f"/{list_key}/{index}")
    raw_type = entry.get("type")
    value = entry.get(value_key)
    if type(value) is not str or len(value) > MAX_INDEXED_TEXT:
        value = _ident(value, f"/{list_key}/{index}/{value_key}", value_key)
    if raw_type is None:
        return "", value
    if type(raw_type) is not str:
        raw_type = _text(raw_type, f"/{list_key}/{index}/type", "type")
    return to_bare(vocabulary, raw_type), value


def _parties(
    entries: Any, kind: int, list_key: str, value_key: str, out: list[tuple[int, str, str]], visible: set[str]
) -> None:
    if type(entries) is not list:
        entries = _list(entries, f"/{list_key}")
    for index, entry in enumerate(entries):
        party_type, value = _entry(entry, list_key, index, value_key, "sourceDestType")
        out.append((kind, party_type, canonical_epc(value)))
        if party_type in _VISIBLE_TYPES:
            gln = gln_of_party(value)
            if gln is not None:
                visible.add(gln)


def _cbv(event: Mapping[str, Any], key: str, vocabulary: str) -> str | None:
    value = event.get(key)
    if value is None:
        return None
    if type(value) is not str or len(value) > MAX_INDEXED_TEXT:
        value = _ident(value, f"/{key}", key)
    return to_bare(vocabulary, value)


def _error_declaration(
    value: Any, fields: _Fields, errors: list[tuple[int, str | None]], corrective_ids: list[str]
) -> None:
    declaration = _object(value, "/errorDeclaration")
    declared_us = _time(declaration.get("declarationTime"), "/errorDeclaration/declarationTime")
    reason = declaration.get("reason")
    if reason is not None:
        reason = to_bare("errorReason", _text(reason, "/errorDeclaration/reason", "reason"))
    errors.append((declared_us, reason))
    ids = declaration.get("correctiveEventIDs")
    if ids is not None:
        for index, ident in enumerate(_list(ids, "/errorDeclaration/correctiveEventIDs")):
            corrective_ids.append(_ident(ident, f"/errorDeclaration/correctiveEventIDs/{index}", "eventID"))
    fields.section("errorDeclaration", declaration, _ERROR_KEYS, ((), "errorDeclaration"))


def _persistent(value: Any, out: list[tuple[int, str]]) -> None:
    holder = _object(value, "/persistentDisposition")
    for key, kind in (("set", PERSISTENT_SET), ("unset", PERSISTENT_UNSET)):
        items = holder.get(key)
        if items is not None:
            for index, item in enumerate(_list(items, f"/persistentDisposition/{key}")):
                text = _ident(item, f"/persistentDisposition/{key}/{index}", "a disposition")
                out.append((kind, to_bare("disposition", text)))


def _quantities(
    key: str, role: int, values: Any, out: list[tuple[int, str, float | None, str | None]]
) -> None:
    for index, element in enumerate(_list(values, f"/{key}")):
        if type(element) is not dict:
            element = _object(element, f"/{key}/{index}")
        epc_class = element.get("epcClass")
        if type(epc_class) is not str or len(epc_class) > MAX_INDEXED_TEXT:
            epc_class = _ident(epc_class, f"/{key}/{index}/epcClass", "epcClass")
        uom = element.get("uom")
        if uom is not None and type(uom) is not str:
            raise _wrong(f"/{key}/{index}/uom", "uom", "a UN/CEFACT unit code", uom)
        quantity = element.get("quantity")
        if quantity is not None and type(quantity) is not float:
            quantity = _number(quantity, f"/{key}/{index}/quantity")
        out.append((role, canonical_class(epc_class), quantity, uom))


def _classes(epcs: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Each ``(role, class key)`` of ``epcs`` once, in order of first appearance."""
    if len(epcs) == 1:
        role, epc = epcs[0]
        key = epc_class_key(epc)
        return [] if key is None else [(role, key)]
    pairs = dict.fromkeys([(role, epc_class_key(epc)) for role, epc in epcs])
    return [(role, key) for role, key in pairs if key is not None]


def event_rows(event: dict[str, Any], namespaces: Mapping[str, str]) -> EventRows:
    """The index rows of one event; ``namespaces`` maps the document's prefixes to namespace URIs.

    Raises :class:`~packtrail.epcis.errors.EPCISError` (with a JSON pointer into the event)
    when the event has no readable ``type`` or ``eventTime``, or a field has the wrong shape.
    """
    if type(event) is not dict:
        raise _wrong("", "the event", "an object", event)
    get = event.get
    event_type = get("type")
    if type(event_type) is not str or len(event_type) > MAX_INDEXED_TEXT:
        event_type = _ident(event_type, "/type", "the event type")
    raw_time = get("eventTime")
    if type(raw_time) is not str:
        raise _wrong("/eventTime", "eventTime", "an ISO 8601 date-time", raw_time)
    try:
        event_time_us, event_tz = parse_time_us(raw_time)
    except EPCISError as exc:
        raise EPCISError(exc.reason, pointer="/eventTime", expected=exc.expected) from None
    offset = get("eventTimeZoneOffset")
    if type(offset) is str and len(offset) == 6 and offset[0] in "+-" and offset[3] == ":":
        event_tz = offset

    action = get("action")
    if action is not None and type(action) is not str:
        action = _text(action, "/action", "action")
    transformation_id = get("transformationID")
    if transformation_id is not None and type(transformation_id) is not str:
        transformation_id = _text(transformation_id, "/transformationID", "transformationID")
    biz_step = _cbv(event, "bizStep", "bizStep")
    disposition = _cbv(event, "disposition", "disposition")

    if "@context" in event:
        namespaces = _with_event_context(event, namespaces)
    field_rows: list[_Row] = []
    fields = _Fields(namespaces, field_rows)
    read_point = _where(event, "readPoint", fields) if "readPoint" in event else None
    biz_location = _where(event, "bizLocation", fields) if "bizLocation" in event else None

    # Identifiers by role; the first one found is the distribution key's source.
    epcs: list[tuple[int, str]] = []
    primary: str | None = None
    parent = get("parentID")
    if parent is not None:
        primary = canonical_epc(_ident(parent, "/parentID", "parentID"))
        epcs.append((ROLE_PARENT, primary))
    for key, role in _EPC_LISTS:
        values = get(key)
        if values is None:
            continue
        if type(values) is not list:
            values = _list(values, f"/{key}")
        for index, value in enumerate(values):
            if type(value) is not str or len(value) > MAX_INDEXED_TEXT:
                value = _ident(value, f"/{key}/{index}", "an EPC")
            epc = canonical_epc(value)
            epcs.append((role, epc))
            if primary is None and role != ROLE_OUTPUT:
                primary = epc

    quantities: list[tuple[int, str, float | None, str | None]] = []
    for key, role in _QUANTITY_LISTS:
        values = get(key)
        if values is not None:
            _quantities(key, role, values, quantities)
            if primary is None and quantities:
                primary = quantities[0][1]
    if primary is None:
        event_id = get("eventID")
        primary = event_id if type(event_id) is str else ""

    biz_transactions: list[tuple[str, str]] = []
    values = get("bizTransactionList")
    if values is not None:
        if type(values) is not list:
            values = _list(values, "/bizTransactionList")
        for index, entry in enumerate(values):
            bt_type, value = _entry(
                entry, "bizTransactionList", index, "bizTransaction", "bizTransactionType"
            )
            biz_transactions.append((bt_type, canonical_epc(value)))

    parties: list[tuple[int, str, str]] = []
    visible_to: set[str] = set()
    values = get("sourceList")
    if values is not None:
        _parties(values, PARTY_SOURCE, "sourceList", "source", parties, visible_to)
    values = get("destinationList")
    if values is not None:
        _parties(values, PARTY_DESTINATION, "destinationList", "destination", parties, visible_to)

    errors: list[tuple[int, str | None]] = []
    corrective_ids: list[str] = []
    value = get("errorDeclaration")
    if value is not None:
        _error_declaration(value, fields, errors, corrective_ids)
    persistent: list[tuple[int, str]] = []
    value = get("persistentDisposition")
    if value is not None:
        _persistent(value, persistent)
    sensor: list[dict[str, Any]] = []
    values = get("sensorElementList")
    if values is not None:
        _sensor_rows(_list(values, "/sensorElementList"), fields, sensor)
    value = get("ilmd")
    if value is not None:
        fields.section("ilmd", _object(value, "/ilmd"), frozenset(), ((), "ilmd"))
    for key in event:
        if key not in STANDARD_EVENT_KEYS:
            fields.field("", key, event[key], 1, ((), key))

    return EventRows(
        event_type,
        event_time_us,
        event_tz,
        action,
        biz_step,
        disposition,
        read_point,
        biz_location,
        transformation_id,
        _signed_crc32(primary),
        epcs,
        _classes(epcs),
        quantities,
        biz_transactions,
        parties,
        field_rows,
        sensor,
        errors,
        corrective_ids,
        persistent,
        visible_to,
    )
