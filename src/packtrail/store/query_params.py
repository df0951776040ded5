"""SimpleEventQuery parameters -> one validated, typed :class:`EventQuery`.

EPCIS 2.0 (section 8.2.7.1, "SimpleEventQuery") defines the query a repository answers as a
set of name/value parameters. They arrive three ways and mean the same thing each way:

- URL query pairs (``GET /events?EQ_bizStep=shipping&MATCH_epc=…``): a name may repeat, and a
  list-valued parameter may hold several values separated by ``,`` or ``|`` (the OpenAPI's
  ``pipeDelimited`` style); all of them are alternatives (OR);
- a mapping of name -> value or list of values;
- the JSON ``query`` object of ``POST /queries`` (GS1's ``query-schema.json``): arrays are OR, and its
  ``@context`` declares namespace prefixes for extension field names.

Every parameter becomes a condition; an event matches when it meets all of them (AND):

>>> q = parse_query_params([("EQ_bizStep", "urn:epcglobal:cbv:bizstep:shipping,receiving"),
...                         ("GE_eventTime", "2024-03-01T00:00:00Z")], namespaces={})
>>> q.conditions
(TimeBound(column='event_time_us', op='GE', time_us=1709251200000000), ValuesIn(column='biz_step', \
values=('receiving', 'shipping')))

CBV values may be written as URN, Web URI or bare word; the repository keeps the bare word, and so
does the query. Extension fields are named ``{namespace URI}#{local name}`` or ``prefix:local`` with a
prefix the store (or the query's ``@context``) knows:

>>> q = parse_query_params({"EQ_ILMD_ex:lot": ["L1"], "@context": [{"ex": "https://ex.com/ns/"}]},
...                        namespaces={})
>>> q.conditions
(FieldFilter(section='ilmd', name='https://ex.com/ns/#lot', inner=False, op='EQ', texts=('L1',), \
numbers=(), times=()),)

A parameter the standard does not define, or a value of the wrong form, raises
:class:`~packtrail.store.errors.QueryParameterError` naming the parameter and what was expected:

>>> parse_query_params([("EQ_bizstep", "shipping")], namespaces={})
Traceback (most recent call last):
...
packtrail.store.errors.QueryParameterError: EQ_bizstep: unknown query parameter (EPCIS 2.0 \
SimpleEventQuery, section 8.2.7.1, defines no such name)

Semantics follow the standard's table of parameters (EPCIS 2.0 section 8.2.7.1.1 for ``MATCH_``;
GS1's ``openapi.yaml`` for the fixed names). Choices where the standard leaves room, each said once:

- ``orderDirection`` defaults to ``DESC`` when ``orderBy`` is given (the standard); without ``orderBy``
  events come in capture order (``event_pk``), ascending unless ``orderDirection=DESC``.
- ``eventCountLimit`` needs ``orderBy`` and excludes ``maxEventCount`` (both "SHALL raise").
- All sensor filters of one query must hold for the SAME sensor report (with its sensorMetadata):
  ``EQ_type=Temperature&GE_value_CEL=8`` means "a temperature reading of at least 8 °C".
- ``EQ_quantity``/``GT_quantity``… without a unit compare any quantityList quantity; with a unit
  (``GE_quantity_KGM``) only quantities in that unit or one :data:`UNIT_CONVERSIONS` converts.
- ``GE_errorDeclarationTime`` and ``GE_errorDeclaration_Time`` (the OpenAPI's and the JSON schema's
  spelling) are the same parameter; so are ``EQATTR_`` and ``EQ_ATTR_``.
- ``perPage`` and ``nextPageToken`` are paging controls, not part of the query: they are ignored here
  (the caller passes them to :func:`~packtrail.store.query_engine.run_query`).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias, cast

from packtrail.epcis.errors import EPCISError
from packtrail.epcis.vocabulary import to_digital_link, to_epc_urn
from packtrail.store.errors import QueryParameterError
from packtrail.store.identifiers import bare_cbv, canonical_class, canonical_epc, parse_time_us
from packtrail.store.index_rows import field_name, field_value
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
)

__all__ = [
    "PAGING_PARAMS",
    "UNIT_CONVERSIONS",
    "AttrFilter",
    "BizTransactionIn",
    "ClassMatch",
    "Condition",
    "CorrectiveEventIdIn",
    "EpcMatch",
    "ErrorDeclared",
    "ErrorReasonIn",
    "ErrorTimeBound",
    "EventQuery",
    "FieldFilter",
    "PartyIn",
    "PersistentDispositionIn",
    "QuantityFilter",
    "SensorBool",
    "SensorBound",
    "SensorIn",
    "SensorMatch",
    "SensorMeasure",
    "SensorTerm",
    "TimeBound",
    "ValuesIn",
    "WithDescendants",
    "convert_unit",
    "parse_query_params",
    "place_spellings",
    "resolve_field_name",
    "unit_dimension",
]

Compare: TypeAlias = Literal["EQ", "GT", "GE", "LT", "LE"]
"""A comparison of a parameter name's prefix: equal, greater than, greater or equal, less, less or equal."""

PAGING_PARAMS: Final = frozenset({"perPage", "nextPageToken"})
"""URL parameters that control paging, not the query: ignored by :func:`parse_query_params`."""

# -- conditions ------------------------------------------------------------------------------------------

EventColumn: TypeAlias = Literal[
    "event_type", "action", "biz_step", "disposition", "read_point", "biz_location", "transformation_id",
    "event_id",
]  # fmt: skip
"""``events`` columns an ``EQ_`` parameter compares directly."""
SensorTextColumn: TypeAlias = Literal[
    "type", "device_id", "data_processing_method", "microorganism", "chemical_substance", "biz_rules",
    "string_value", "hex_binary_value", "uri_value",
]  # fmt: skip
"""``event_sensor`` text columns of the sensor ``EQ_`` parameters."""


@dataclass(frozen=True, slots=True)
class ValuesIn:
    """A column of ``events`` equals one of ``values`` (``eventType``, ``EQ_action``, ``EQ_bizStep``,
    ``EQ_disposition``, ``EQ_readPoint``, ``EQ_bizLocation``, ``EQ_transformationID``, ``EQ_eventID``)."""

    column: EventColumn
    """The ``events`` column compared."""
    values: tuple[str, ...]
    """The accepted values, in the stored form (bare CBV words; every spelling of a location)."""


@dataclass(frozen=True, slots=True)
class TimeBound:
    """``GE_eventTime``/``LT_eventTime``/``GE_recordTime``/``LT_recordTime``: a half-open time bound."""

    column: Literal["event_time_us", "record_time_us"]
    """The ``events`` time column."""
    op: Literal["GE", "LT"]
    """``GE``: at or after; ``LT``: strictly before."""
    time_us: int
    """The bound, microseconds since 1970 UTC."""


@dataclass(frozen=True, slots=True)
class WithDescendants:
    """``WD_readPoint``/``WD_bizLocation``: the location is one of ``roots`` or below one of them in the
    master data hierarchy (EPCIS 2.0 section 6.5: children of BusinessLocation/ReadPoint/Location)."""

    column: Literal["read_point", "biz_location"]
    """The ``events`` column compared."""
    roots: tuple[str, ...]
    """The given locations, every spelling (EPC URN and Digital Link)."""


@dataclass(frozen=True, slots=True)
class PersistentDispositionIn:
    """``EQ_persistentDisposition_set`` / ``_unset``: one of the values is in that list."""

    kind: int
    """``PERSISTENT_SET`` or ``PERSISTENT_UNSET`` (``event_persistent_dispositions.kind``)."""
    values: tuple[str, ...]
    """Bare CBV disposition words (or URIs)."""


@dataclass(frozen=True, slots=True)
class EpcMatch:
    """``MATCH_epc`` (epcList, childEPCs), ``MATCH_parentID``, ``MATCH_inputEPC``, ``MATCH_outputEPC``,
    ``MATCH_anyEPC``: an EPC in one of ``roles`` equals, or is matched by the pattern, of one value
    (EPCIS 2.0 section 8.2.7.1.1: EPC URIs, ``urn:epc:idpat:`` patterns, GS1 Digital Link URIs)."""

    roles: tuple[int, ...]
    """``event_epcs.role`` values searched."""
    values: tuple[str, ...]
    """EPCs (canonical URN) and EPC pattern URIs."""


@dataclass(frozen=True, slots=True)
class ClassMatch:
    """``MATCH_epcClass`` (quantityList, childQuantityList), ``MATCH_inputEPCClass``,
    ``MATCH_outputEPCClass``, ``MATCH_anyEPCClass``: a quantity element's class equals or is matched by
    one value (LGTIN class URIs, SGTIN patterns, Digital Links of a GTIN or GTIN+lot)."""

    roles: tuple[int, ...]
    """``event_quantities.role`` values searched."""
    values: tuple[str, ...]
    """Class URIs and patterns (canonical URN form where convertible)."""


@dataclass(frozen=True, slots=True)
class QuantityFilter:
    """``EQ_quantity``/``GT_quantity``/… and the ``_{uom}`` forms: some quantity element's ``quantity``
    compares as asked (EQ: equals one of ``values``); with ``uom`` only quantities in that unit or one
    convertible to it (the value converted), without it any quantity."""

    op: Compare
    """The comparison."""
    values: tuple[float, ...]
    """One value, or several alternatives for ``EQ``."""
    uom: str | None
    """UN/ECE Recommendation 20 unit code (``KGM``), or None."""


@dataclass(frozen=True, slots=True)
class BizTransactionIn:
    """``EQ_bizTransaction_{type}``: a bizTransactionList entry of that type has one of the values."""

    type: str
    """Bare CBV business transaction type (``po``), or the type URI."""
    values: tuple[str, ...]
    """Business transaction identifiers."""


@dataclass(frozen=True, slots=True)
class PartyIn:
    """``EQ_source_{type}`` / ``EQ_destination_{type}``: a sourceList/destinationList entry of that type
    names one of the values."""

    kind: int
    """``PARTY_SOURCE`` or ``PARTY_DESTINATION``."""
    type: str
    """Bare CBV source/destination type (``owning_party``, ``location``), or a URI."""
    values: tuple[str, ...]
    """Party or location identifiers, every spelling (EPC URN and Digital Link)."""


@dataclass(frozen=True, slots=True)
class ErrorDeclared:
    """``EXISTS_errorDeclaration``: the event carries an errorDeclaration."""


@dataclass(frozen=True, slots=True)
class ErrorTimeBound:
    """``GE_errorDeclarationTime``/``LT_errorDeclarationTime`` (also spelled ``…_Time``)."""

    op: Literal["GE", "LT"]
    """``GE``: at or after; ``LT``: strictly before."""
    time_us: int
    """The bound on ``declarationTime``, microseconds since 1970 UTC."""


@dataclass(frozen=True, slots=True)
class ErrorReasonIn:
    """``EQ_errorReason``: the errorDeclaration's ``reason`` is one of the values (bare CBV words)."""

    values: tuple[str, ...]
    """Bare error reasons (``incorrect_data``) or URIs."""


@dataclass(frozen=True, slots=True)
class CorrectiveEventIdIn:
    """``EQ_correctiveEventID``: one of the errorDeclaration's ``correctiveEventIDs`` is a value."""

    values: tuple[str, ...]
    """eventIDs."""


Section: TypeAlias = Literal[
    "",
    "ilmd",
    "readPoint",
    "bizLocation",
    "errorDeclaration",
    "sensorElement",
    "sensorMetadata",
    "sensorReport",
]
"""Where an extension field sits (``event_fields.section``): ``''`` is the event's top level."""


@dataclass(frozen=True, slots=True)
class FieldFilter:
    """The extension field families: ``EQ_``/``GT_``/``GE_``/``LT_``/``LE_``/``EXISTS_`` + optional
    ``INNER_`` + optional section (``ILMD_``, ``ERROR_DECLARATION_``, ``SENSORELEMENT_``,
    ``SENSORMETADATA_``, ``SENSORREPORT_``, ``readPoint_``, ``bizLocation_``) + field name.

    ``inner=False`` looks at direct children of the section (top-level extension fields for section
    ``''``), ``inner=True`` at fields nested deeper (EPCIS 2.0: ``EQ_INNER_`` and kin). ``EQ`` matches a
    field whose string form is one of ``texts``, or whose number is one of ``numbers``, or whose time is
    one of ``times``; the orderings compare the number (``numbers``) or the time (``times``)."""

    section: Section
    """Where the field sits (``event_fields.section``)."""
    name: str
    """``{namespace URI}#{local name}`` (``event_fields.name``)."""
    inner: bool
    """True for the ``INNER_`` forms (nested fields)."""
    op: Literal["EQ", "GT", "GE", "LT", "LE", "EXISTS"]
    """The comparison, or ``EXISTS``."""
    texts: tuple[str, ...] = ()
    """String values (EQ)."""
    numbers: tuple[float, ...] = ()
    """Numeric values (EQ: alternatives; orderings: the one bound)."""
    times: tuple[int, ...] = ()
    """Date-time values in microseconds (EQ: alternatives; orderings: the one bound)."""


@dataclass(frozen=True, slots=True)
class AttrFilter:
    """``EQATTR_{field}_{attr}`` / ``EQ_ATTR_…`` (``values`` given) and ``HASATTR_{field}``
    (``values`` None, ``attrs`` the wanted attribute names): the master data of the event's
    ``field`` value (readPoint, bizLocation, epcClass, bizStep, disposition) has the attribute
    (with one of the values)."""

    field: Literal["readPoint", "bizLocation", "epcClass", "bizStep", "disposition"]
    """The standard event field whose vocabulary element is looked up."""
    attrs: tuple[str, ...]
    """Attribute names (URIs; one for ``EQATTR_``, alternatives for ``HASATTR_``)."""
    values: tuple[str, ...] | None
    """Accepted attribute values (``EQATTR_``), or None (``HASATTR_``: any value)."""


# -- sensor terms: all must hold for one sensor report ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class SensorIn:
    """A text column of the sensor report (or its metadata) equals one of the values (``EQ_type``,
    ``EQ_deviceID``, ``EQ_dataProcessingMethod``, ``EQ_microorganism``, ``EQ_chemicalSubstance``,
    ``EQ_bizRules``, ``EQ_stringValue``, ``EQ_hexBinaryValue``, ``EQ_uriValue``)."""

    column: SensorTextColumn
    """The ``event_sensor`` column."""
    values: tuple[str, ...]
    """Accepted values (``type`` as the bare measurement type, ``Temperature``)."""


@dataclass(frozen=True, slots=True)
class SensorBool:
    """``EQ_booleanValue``: the report's ``booleanValue`` is ``value``."""

    value: bool
    """The wanted boolean."""


@dataclass(frozen=True, slots=True)
class SensorBound:
    """``GE_time``/``LT_time`` (sensorMetadata/report time), ``GE_startTime``/``LT_startTime``,
    ``GE_endTime``/``LT_endTime`` and ``GE_/GT_/LE_/LT_percRank``: a unit-less bound."""

    column: Literal["time_us", "start_time_us", "end_time_us", "perc_rank"]
    """The ``event_sensor`` column."""
    op: Compare
    """The comparison."""
    value: float
    """The bound (microseconds for the times)."""


@dataclass(frozen=True, slots=True)
class SensorMeasure:
    """``{EQ,GT,GE,LT,LE}_{value,minValue,maxValue,meanValue,sDev,percValue}_{uom}``: a measured value
    of the report, in unit ``uom`` (reports in a convertible unit are converted, see
    :data:`UNIT_CONVERSIONS`)."""

    column: Literal["value", "min_value", "max_value", "mean_value", "s_dev", "perc_value"]
    """The ``event_sensor`` column."""
    op: Compare
    """The comparison."""
    values: tuple[float, ...]
    """One bound, or alternatives for ``EQ``."""
    uom: str
    """UN/ECE Recommendation 20 unit code of ``values``."""


SensorTerm: TypeAlias = SensorIn | SensorBool | SensorBound | SensorMeasure


@dataclass(frozen=True, slots=True)
class SensorMatch:
    """Some sensor report of the event meets every term (``terms`` empty: the event has a
    sensorElementList at all, ``EXISTS_sensorElementList``)."""

    terms: tuple[SensorTerm, ...]
    """The conditions on one ``event_sensor`` row."""


Condition: TypeAlias = (
    ValuesIn
    | TimeBound
    | WithDescendants
    | PersistentDispositionIn
    | EpcMatch
    | ClassMatch
    | QuantityFilter
    | BizTransactionIn
    | PartyIn
    | ErrorDeclared
    | ErrorTimeBound
    | ErrorReasonIn
    | CorrectiveEventIdIn
    | FieldFilter
    | AttrFilter
    | SensorMatch
)
"""One conjunct of a query."""


@dataclass(frozen=True, slots=True)
class EventQuery:
    """A parsed SimpleEventQuery: conditions (all must hold), ordering and limits.

    Frozen and hashable; :meth:`digest` is stable across processes, so a page token can name the
    query it belongs to. Conditions are sorted, so the same parameters in another order are the same
    query."""

    conditions: tuple[Condition, ...] = ()
    """Every condition; an event matches when it meets all."""
    order_by: str | None = None
    """``eventTime``, ``recordTime``, an extension field name (``ns#local``), or None (capture order)."""
    order_direction: Literal["ASC", "DESC"] = "ASC"
    """Ascending or descending."""
    event_count_limit: int | None = None
    """``eventCountLimit``: return at most this many (the first by the ordering)."""
    max_event_count: int | None = None
    """``maxEventCount``: more matches than this is a QueryTooLargeException."""

    def digest(self) -> str:
        """A SHA-256 (hex) of the query's canonical form: equal queries, equal digests.

        >>> a = parse_query_params([("EQ_action", "ADD"), ("eventType", "ObjectEvent")], namespaces={})
        >>> b = parse_query_params({"eventType": ["ObjectEvent"], "EQ_action": ["ADD"]}, namespaces={})
        >>> a.digest() == b.digest(), a.digest() == EventQuery().digest()
        (True, False)
        """
        return hashlib.sha256(repr(self).encode()).hexdigest()


# -- units -----------------------------------------------------------------------------------------------


def _scaled(dimension: str, **factors: float) -> dict[str, tuple[str, float, float]]:
    return {unit: (dimension, factor, 0.0) for unit, factor in factors.items()}


UNIT_CONVERSIONS: Final[Mapping[str, tuple[str, float, float]]] = {
    "KEL": ("temperature", 1.0, 0.0),
    "CEL": ("temperature", 1.0, 273.15),
    "FAH": ("temperature", 5.0 / 9.0, 273.15 - 32.0 * 5.0 / 9.0),
    **_scaled("mass", KGM=1.0, GRM=1e-3, MGM=1e-6, MC=1e-9, TNE=1e3, LBR=0.45359237, ONZ=0.028349523125),
    **_scaled("length", MTR=1.0, KMT=1e3, CMT=1e-2, MMT=1e-3, INH=0.0254, FOT=0.3048, YRD=0.9144),
    **_scaled("volume", MTQ=1.0, LTR=1e-3, MLT=1e-6, CMQ=1e-6, GLL=3.785411784e-3),
    **_scaled("pressure", PAL=1.0, A97=1e2, KPA=1e3, BAR=1e5, MBR=1e2, PS=6894.757293168361),
    **_scaled("time", SEC=1.0, MIN=60.0, HUR=3600.0, DAY=86400.0),
    **_scaled("speed", MTS=1.0, KMH=1.0 / 3.6),
    **_scaled("power", WTT=1.0, KWT=1e3),
    **_scaled("ratio", P1=1e-2, C62=1.0),
}
"""UN/ECE Recommendation 20 units a ``_{uom}`` filter converts between: code -> (dimension, factor,
offset), where the value in the dimension's base unit is ``factor * x + offset``. Temperature: CEL, FAH,
KEL; mass: KGM, GRM, MGM, MC, TNE, LBR, ONZ; length: MTR, KMT, CMT, MMT, INH, FOT, YRD; volume: MTQ, LTR,
MLT, CMQ, GLL; pressure: PAL, A97 (hPa), KPA, BAR, MBR, PS (psi); time: SEC, MIN, HUR, DAY; speed: MTS,
KMH; power: WTT, KWT; ratio: P1 (percent), C62 (one). Any other unit matches only reports in the same
unit."""


def unit_dimension(uom: str) -> str | None:
    """The dimension (``temperature``, ``mass``…) of a unit code :data:`UNIT_CONVERSIONS` knows, else None.

    >>> unit_dimension("FAH"), unit_dimension("XYZ")
    ('temperature', None)
    """
    entry = UNIT_CONVERSIONS.get(uom)
    return entry[0] if entry else None


def convert_unit(value: float, source: str, target: str, *, difference: bool = False) -> float | None:
    """``value`` in unit ``source`` expressed in unit ``target`` (same dimension), else None.

    ``difference=True`` converts a difference (a standard deviation): the scale only, no offset.

    >>> round(convert_unit(46.4, "FAH", "CEL"), 9), round(convert_unit(9.0, "FAH", "CEL", difference=True), 9)
    (8.0, 5.0)
    >>> convert_unit(1.0, "LBR", "KGM"), convert_unit(1.0, "KGM", "CEL")
    (0.45359237, None)
    """
    if source == target:
        return value
    a, b = UNIT_CONVERSIONS.get(source), UNIT_CONVERSIONS.get(target)
    if a is None or b is None or a[0] != b[0]:
        return None
    if difference:
        return value * a[1] / b[1]
    return (a[1] * value + a[2] - b[2]) / b[1]


# -- field names -----------------------------------------------------------------------------------------

_PREFIX: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def resolve_field_name(name: str, namespaces: Mapping[str, str]) -> str | None:
    """The stored name (``{namespace URI}#{local}``) of an extension field named in a query, or None
    when ``name`` is no field name (neither ``ns#local`` nor ``prefix:local``).

    Prefixes resolve as capture resolves them (:func:`packtrail.store.index_rows.field_name`: the
    given namespaces, then the well-known ``cbvmda``, ``gs1``…); an unknown prefix stays ``prefix:local``
    (the form capture keeps for an unresolved prefix).

    >>> resolve_field_name("ex:temp", {"ex": "https://ex.com/ns/"})
    'https://ex.com/ns/#temp'
    >>> resolve_field_name("https://ex.com/ns/#temp", {}), resolve_field_name("zz:temp", {})
    ('https://ex.com/ns/#temp', 'zz:temp')
    >>> resolve_field_name("cbvmda:lotNumber", {})
    'urn:epcglobal:cbv:mda#lotNumber'
    >>> resolve_field_name("temp", {}) is None
    True
    """
    if "#" in name:
        namespace, _, local = name.rpartition("#")
        if ":" not in namespace or not local:
            return None
        return f"{namespace}#{local}"
    prefix, colon, local = name.partition(":")
    if not colon or not local or not _PREFIX.fullmatch(prefix):
        return None
    return field_name(name, namespaces)


# -- raw values ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Raw:
    """One value as given, and whether it came as a string (URL, mapping) that may hold a list."""

    value: Any
    splittable: bool


_SPLIT: Final = re.compile(r"[,|]")


def _collect(
    params: Iterable[tuple[str, Any]] | Mapping[str, Any], namespaces: Mapping[str, str]
) -> tuple[dict[str, list[_Raw]], dict[str, str]]:
    """Group the parameters by name; read ``@context`` into the namespaces."""
    ns = dict(namespaces)
    grouped: dict[str, list[_Raw]] = {}
    items: Iterable[Any]
    if isinstance(params, Mapping):
        items = params.items()
    elif isinstance(params, (str, bytes)):
        raise QueryParameterError("query", "expected name/value pairs, a mapping or a JSON query object")
    else:
        items = params
    for item in items:
        if not isinstance(item, (tuple, list)) or len(item) != 2 or not isinstance(item[0], str):
            raise QueryParameterError("query", f"expected (name, value) pairs, got {item!r:.80}")
        name, value = item
        if not name:
            raise QueryParameterError(name, "expected a parameter name, got an empty one")
        if name == "@context":
            _read_context(value, ns)
            continue
        if name in PAGING_PARAMS:
            continue
        target = grouped.setdefault(name, [])
        if isinstance(value, (list, tuple)):
            target.extend(_Raw(v, False) for v in value)
            if not value:
                raise QueryParameterError(name, "expected at least one value, got an empty list")
        else:
            target.append(_Raw(value, isinstance(value, str)))
    return grouped, ns


def _read_context(value: Any, ns: dict[str, str]) -> None:
    """Namespace prefixes from a JSON-LD ``@context`` (objects of prefix -> URI; URLs are skipped)."""
    entries = value if isinstance(value, list) else [value]
    for entry in entries:
        if isinstance(entry, dict):
            for prefix, uri in entry.items():
                if isinstance(prefix, str) and isinstance(uri, str) and not prefix.startswith("@"):
                    ns[prefix] = uri
        elif not isinstance(entry, str):
            raise QueryParameterError(
                "@context", "expected a URI, an object of prefix -> URI, or a list of them"
            )


def _strings(name: str, raws: list[_Raw]) -> tuple[str, ...]:
    """A list-valued parameter's values (strings split on ``,`` and ``|``), duplicates removed."""
    out: list[str] = []
    for raw in raws:
        value = raw.value
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise QueryParameterError(name, f"expected a string or a list of strings, got {value!r:.80}")
        parts = _SPLIT.split(value) if raw.splittable and isinstance(value, str) else [str(value)]
        for part in parts:
            part = part.strip()
            if not part:
                raise QueryParameterError(name, "expected a non-empty value")
            out.append(part)
    return tuple(dict.fromkeys(out))


def _single(name: str, raws: list[_Raw]) -> Any:
    """The one value of a single-valued parameter."""
    if len(raws) != 1:
        raise QueryParameterError(name, f"expected one value, got {len(raws)}")
    value = raws[0].value
    return value.strip() if isinstance(value, str) else value


def _time_value(name: str, value: Any) -> int:
    if not isinstance(value, str):
        raise QueryParameterError(name, f"expected an ISO 8601 date-time with offset, got {value!r:.80}")
    try:
        return parse_time_us(value)[0]
    except EPCISError:
        raise QueryParameterError(
            name,
            f"expected an ISO 8601 date-time with offset such as 2024-03-01T10:00:00Z, got {value!r:.80}",
        ) from None


def _time(name: str, raws: list[_Raw]) -> int:
    return _time_value(name, _single(name, raws))


def _number_value(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise QueryParameterError(name, f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise QueryParameterError(name, f"expected a number, got {value!r:.80}") from None
    else:
        raise QueryParameterError(name, f"expected a number, got {value!r:.80}")
    if not math.isfinite(number):
        raise QueryParameterError(name, f"expected a finite number, got {value!r:.80}")
    return number


def _number(name: str, raws: list[_Raw]) -> float:
    return _number_value(name, _single(name, raws))


def _numbers(name: str, raws: list[_Raw]) -> tuple[float, ...]:
    out: list[float] = []
    for raw in raws:
        if raw.splittable and isinstance(raw.value, str):
            out.extend(_number_value(name, part) for part in _SPLIT.split(raw.value))
        else:
            out.append(_number_value(name, raw.value))
    return tuple(sorted(set(out)))


def _count(name: str, raws: list[_Raw]) -> int:
    value = _single(name, raws)
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"[0-9]{1,18}", value):
        number = int(value)
    else:
        raise QueryParameterError(name, f"expected a non-negative integer, got {value!r:.80}")
    if number < 0:
        raise QueryParameterError(name, f"expected a non-negative integer, got {number}")
    return number


_TRUE: Final = frozenset({"", "true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no"})


def _flag(name: str, raws: list[_Raw]) -> bool:
    """An ``EXISTS_`` parameter: present (empty, ``true``, ``1``, JSON null) or switched off (``false``)."""
    value = _single(name, raws)
    if value is None or value is True or value == 1:
        return True
    if value is False or value == 0:
        return False
    if isinstance(value, str) and value.lower() in _TRUE:
        return True
    if isinstance(value, str) and value.lower() in _FALSE:
        return False
    raise QueryParameterError(name, f"expected no value (or true/false), got {value!r:.80}")


def _boolean(name: str, raws: list[_Raw]) -> bool:
    value = _single(name, raws)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise QueryParameterError(name, f"expected true or false, got {value!r:.80}")


# -- value spellings -------------------------------------------------------------------------------------


def _expand(value: str, ns: Mapping[str, str]) -> list[str]:
    """``value`` and, for a ``prefix:local`` with a known prefix, its full URI."""
    prefix, colon, local = value.partition(":")
    if colon and prefix in ns and not local.startswith("//"):
        return [value, ns[prefix] + local]
    return [value]


def _cbv(values: Iterable[str], ns: Mapping[str, str]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        for spelling in _expand(value, ns):
            out.append(bare_cbv(spelling) or spelling)
    return tuple(sorted(set(out)))


def place_spellings(values: Iterable[str]) -> tuple[str, ...]:
    """Every spelling of a location or party identifier: as given, EPC URN, Digital Link."""
    out: set[str] = set()
    for value in values:
        out.add(value)
        out.add(to_epc_urn(value))
        out.add(canonical_epc(value))
        out.add(to_digital_link(value))
    return tuple(sorted(out))


def _with_canonical(values: Iterable[str]) -> tuple[str, ...]:
    """The values and their canonical EPC forms (capture stores bizTransaction and deviceID values
    through :func:`~packtrail.store.identifiers.canonical_epc`)."""
    return tuple(sorted({s for v in values for s in (v, canonical_epc(v))}))


# -- the parser ------------------------------------------------------------------------------------------

_EVENT_COLUMNS: Final[Mapping[str, Any]] = {
    "eventType": "event_type",
    "EQ_action": "action",
    "EQ_bizStep": "biz_step",
    "EQ_disposition": "disposition",
    "EQ_readPoint": "read_point",
    "EQ_bizLocation": "biz_location",
    "EQ_transformationID": "transformation_id",
    "EQ_eventID": "event_id",
}
_EPC_ROLES: Final[Mapping[str, tuple[int, ...]]] = {
    "MATCH_epc": (ROLE_EPC_LIST, ROLE_CHILD),
    "MATCH_parentID": (ROLE_PARENT,),
    "MATCH_inputEPC": (ROLE_INPUT,),
    "MATCH_outputEPC": (ROLE_OUTPUT,),
    "MATCH_anyEPC": (ROLE_EPC_LIST, ROLE_CHILD, ROLE_PARENT, ROLE_INPUT, ROLE_OUTPUT),
}
_CLASS_ROLES: Final[Mapping[str, tuple[int, ...]]] = {
    "MATCH_epcClass": (ROLE_EPC_LIST, ROLE_CHILD),
    "MATCH_inputEPCClass": (ROLE_INPUT,),
    "MATCH_outputEPCClass": (ROLE_OUTPUT,),
    "MATCH_anyEPCClass": (ROLE_EPC_LIST, ROLE_CHILD, ROLE_INPUT, ROLE_OUTPUT),
}
_TIME_BOUNDS: Final[Mapping[str, tuple[Any, Any]]] = {
    "GE_eventTime": ("event_time_us", "GE"),
    "LT_eventTime": ("event_time_us", "LT"),
    "GE_recordTime": ("record_time_us", "GE"),
    "LT_recordTime": ("record_time_us", "LT"),
}
_ERROR_TIMES: Final[Mapping[str, Any]] = {
    "GE_errorDeclarationTime": "GE",
    "LT_errorDeclarationTime": "LT",
    "GE_errorDeclaration_Time": "GE",
    "LT_errorDeclaration_Time": "LT",
}
_SENSOR_TEXT: Final[Mapping[str, Any]] = {
    "EQ_deviceID": "device_id",
    "EQ_dataProcessingMethod": "data_processing_method",
    "EQ_microorganism": "microorganism",
    "EQ_chemicalSubstance": "chemical_substance",
    "EQ_bizRules": "biz_rules",
    "EQ_stringValue": "string_value",
    "EQ_hexBinaryValue": "hex_binary_value",
    "EQ_uriValue": "uri_value",
}
_SENSOR_TIMES: Final[Mapping[str, tuple[Any, Any]]] = {
    "GE_time": ("time_us", "GE"),
    "LT_time": ("time_us", "LT"),
    "GE_startTime": ("start_time_us", "GE"),
    "LT_startTime": ("start_time_us", "LT"),
    "GE_endTime": ("end_time_us", "GE"),
    "LT_endTime": ("end_time_us", "LT"),
}
_MEASURE_COLUMNS: Final[Mapping[str, Any]] = {
    "value": "value",
    "minValue": "min_value",
    "maxValue": "max_value",
    "meanValue": "mean_value",
    "sDev": "s_dev",
    "percValue": "perc_value",
}
_QUANTITY: Final = re.compile(r"(EQ|GT|GE|LT|LE)_quantity(?:_([A-Z0-9]{2,4}))?")
_MEASURE: Final = re.compile(
    r"(EQ|GT|GE|LT|LE)_(value|minValue|maxValue|meanValue|sDev|percValue)_([A-Z0-9]{2,4})"
)
_PERC_RANK: Final = re.compile(r"(GT|GE|LT|LE)_percRank")
_ATTR: Final = re.compile(r"(?:EQATTR|EQ_ATTR)_([A-Za-z]+)_(.+)")
_HASATTR: Final = re.compile(r"HASATTR_([A-Za-z]+)")
_PARTY: Final = re.compile(r"EQ_(source|destination)_(.+)")
_FIELD: Final = re.compile(
    r"(EQ|GT|GE|LT|LE|EXISTS)_(INNER_)?"
    r"(ILMD_|ERROR_DECLARATION_|SENSORELEMENT_|SENSORMETADATA_|SENSORREPORT_|readPoint_|bizLocation_)?(.+)"
)
_SECTIONS: Final[Mapping[str | None, Section]] = {
    None: "",
    "ILMD_": "ilmd",
    "ERROR_DECLARATION_": "errorDeclaration",
    "SENSORELEMENT_": "sensorElement",
    "SENSORMETADATA_": "sensorMetadata",
    "SENSORREPORT_": "sensorReport",
    "readPoint_": "readPoint",
    "bizLocation_": "bizLocation",
}
_ATTR_FIELDS: Final = ("readPoint", "bizLocation", "epcClass", "bizStep", "disposition")
_ACTIONS: Final = frozenset({"ADD", "OBSERVE", "DELETE"})
_UNKNOWN: Final = (
    "unknown query parameter (EPCIS 2.0 SimpleEventQuery, section 8.2.7.1, defines no such name)"
)


class _Builder:
    """Turns grouped parameters into conditions, one name at a time."""

    def __init__(self, namespaces: Mapping[str, str]) -> None:
        self.ns = namespaces
        self.conditions: list[Condition] = []
        self.sensor: list[SensorTerm] = []
        self.sensor_exists = False
        self.order_by: str | None = None
        self.order_direction: str | None = None
        self.event_count_limit: int | None = None
        self.max_event_count: int | None = None

    def add(self, name: str, raws: list[_Raw]) -> None:
        if not raws:
            raise QueryParameterError(name, "expected a value")
        if self._fixed(name, raws) or self._family(name, raws):
            return
        raise QueryParameterError(name, _UNKNOWN)

    # fixed names ------------------------------------------------------------------------------------

    def _fixed(self, name: str, raws: list[_Raw]) -> bool:
        add = self.conditions.append
        if name in _EVENT_COLUMNS:
            values = _strings(name, raws)
            column = _EVENT_COLUMNS[name]
            if column == "action":
                bad = [v for v in values if v not in _ACTIONS]
                if bad:
                    raise QueryParameterError(name, f"expected ADD, OBSERVE or DELETE, got {bad[0]!r:.80}")
            elif column in ("biz_step", "disposition"):
                values = _cbv(values, self.ns)
            elif column in ("read_point", "biz_location"):
                values = place_spellings(values)
            add(ValuesIn(column, tuple(sorted(values))))
        elif name in _TIME_BOUNDS:
            column, op = _TIME_BOUNDS[name]
            add(TimeBound(column, op, _time(name, raws)))
        elif name in ("WD_readPoint", "WD_bizLocation"):
            place: Literal["read_point", "biz_location"] = (
                "read_point" if name == "WD_readPoint" else "biz_location"
            )
            add(WithDescendants(place, place_spellings(_strings(name, raws))))
        elif name in ("EQ_persistentDisposition_set", "EQ_persistentDisposition_unset"):
            kind = PERSISTENT_SET if name.endswith("_set") else PERSISTENT_UNSET
            add(PersistentDispositionIn(kind, _cbv(_strings(name, raws), self.ns)))
        elif name in _EPC_ROLES:
            values = _strings(name, raws)
            add(EpcMatch(_EPC_ROLES[name], tuple(sorted({canonical_epc(v) for v in values}))))
        elif name in _CLASS_ROLES:
            values = _strings(name, raws)
            add(ClassMatch(_CLASS_ROLES[name], tuple(sorted({canonical_class(v) for v in values}))))
        elif name == "EXISTS_errorDeclaration":
            if _flag(name, raws):
                add(ErrorDeclared())
        elif name in _ERROR_TIMES:
            add(ErrorTimeBound(_ERROR_TIMES[name], _time(name, raws)))
        elif name == "EQ_errorReason":
            add(ErrorReasonIn(_cbv(_strings(name, raws), self.ns)))
        elif name == "EQ_correctiveEventID":
            add(CorrectiveEventIdIn(tuple(sorted(_strings(name, raws)))))
        elif name == "orderBy":
            self._order_by(name, raws)
        elif name == "orderDirection":
            value = _single(name, raws)
            if value not in ("ASC", "DESC"):
                raise QueryParameterError(name, f"expected ASC or DESC, got {value!r:.80}")
            self.order_direction = value
        elif name == "eventCountLimit":
            self.event_count_limit = _count(name, raws)
        elif name == "maxEventCount":
            self.max_event_count = _count(name, raws)
        elif name == "EXISTS_sensorElementList":
            self.sensor_exists = self.sensor_exists or _flag(name, raws)
        elif name == "EQ_type":
            self.sensor.append(SensorIn("type", _cbv(_strings(name, raws), self.ns)))
        elif name in _SENSOR_TEXT:
            values = _strings(name, raws)
            if name == "EQ_hexBinaryValue":
                values = tuple({s for v in values for s in (v, v.upper(), v.lower())})
            elif name == "EQ_deviceID":
                values = _with_canonical(values)
            self.sensor.append(SensorIn(_SENSOR_TEXT[name], tuple(sorted(values))))
        elif name == "EQ_booleanValue":
            self.sensor.append(SensorBool(_boolean(name, raws)))
        elif name in _SENSOR_TIMES:
            column, op = _SENSOR_TIMES[name]
            self.sensor.append(SensorBound(column, op, float(_time(name, raws))))
        else:
            return False
        return True

    def _order_by(self, name: str, raws: list[_Raw]) -> None:
        value = _single(name, raws)
        if value in ("eventTime", "recordTime"):
            self.order_by = value
            return
        field = resolve_field_name(value, self.ns) if isinstance(value, str) else None
        if field is None:
            raise QueryParameterError(
                name,
                f"expected eventTime, recordTime or an extension field (ns#name or prefix:name), got {value!r:.80}",
            )
        self.order_by = field

    # families ---------------------------------------------------------------------------------------

    def _family(self, name: str, raws: list[_Raw]) -> bool:
        if name.startswith("EQ_bizTransaction_"):
            kind = name[len("EQ_bizTransaction_") :]
            if not kind:
                return False
            values = _with_canonical(_strings(name, raws))
            self.conditions.append(BizTransactionIn(bare_cbv(kind) or kind, values))
            return True
        if match := _PARTY.fullmatch(name):
            party_kind = PARTY_SOURCE if match[1] == "source" else PARTY_DESTINATION
            self.conditions.append(
                PartyIn(party_kind, bare_cbv(match[2]) or match[2], place_spellings(_strings(name, raws)))
            )
            return True
        if match := _QUANTITY.fullmatch(name):
            op = cast(Compare, match[1])
            self.conditions.append(QuantityFilter(op, self._bound_or_list(op, name, raws), match[2]))
            return True
        if match := _MEASURE.fullmatch(name):
            op = cast(Compare, match[1])
            bounds = self._bound_or_list(op, name, raws)
            self.sensor.append(SensorMeasure(_MEASURE_COLUMNS[match[2]], op, bounds, match[3]))
            return True
        if match := _PERC_RANK.fullmatch(name):
            self.sensor.append(SensorBound("perc_rank", cast(Compare, match[1]), _number(name, raws)))
            return True
        if match := _ATTR.fullmatch(name):
            field = self._attr_field(name, match[1])
            attr = self._attr_name(match[2])
            self.conditions.append(AttrFilter(field, (attr,), tuple(sorted(_strings(name, raws)))))
            return True
        if match := _HASATTR.fullmatch(name):
            field = self._attr_field(name, match[1])
            attrs = tuple(sorted({self._attr_name(a) for a in _strings(name, raws)}))
            self.conditions.append(AttrFilter(field, attrs, None))
            return True
        if match := _FIELD.fullmatch(name):
            return self._field(name, raws, match)
        return False

    def _bound_or_list(self, op: str, name: str, raws: list[_Raw]) -> tuple[float, ...]:
        return _numbers(name, raws) if op == "EQ" else (_number(name, raws),)

    def _attr_field(self, name: str, field: str) -> Any:
        if field not in _ATTR_FIELDS:
            raise QueryParameterError(
                name,
                f"expected a master data field ({', '.join(_ATTR_FIELDS)}) after the prefix, got {field!r}",
            )
        return field

    def _attr_name(self, attr: str) -> str:
        expanded = _expand(attr, self.ns)
        return expanded[-1]

    def _field(self, name: str, raws: list[_Raw], match: re.Match[str]) -> bool:
        op, inner, section_tag, field_name = match[1], bool(match[2]), match[3], match[4]
        field = resolve_field_name(field_name, self.ns)
        if field is None:
            return False
        section = _SECTIONS[section_tag]
        if op == "EXISTS":
            if _flag(name, raws):
                self.conditions.append(FieldFilter(section, field, inner, "EXISTS"))
            return True
        if op == "EQ":
            texts: list[str] = []
            numbers: set[float] = set()
            times: set[int] = set()
            for raw in raws:
                value = raw.value
                parts = _SPLIT.split(value) if raw.splittable and isinstance(value, str) else [value]
                for part in parts:
                    self._eq_value(name, part, texts, numbers, times)
            self.conditions.append(
                FieldFilter(
                    section,
                    field,
                    inner,
                    "EQ",
                    tuple(sorted(set(texts))),
                    tuple(sorted(numbers)),
                    tuple(sorted(times)),
                )
            )
            return True
        value = _single(name, raws)
        compare = cast(Compare, op)
        _, number, moment = field_value(value) if not isinstance(value, bool) else (None, None, None)
        if moment is not None:
            filt = FieldFilter(section, field, inner, compare, times=(moment,))
        elif number is not None:
            filt = FieldFilter(section, field, inner, compare, numbers=(number,))
        else:
            raise QueryParameterError(name, f"expected a number or an ISO 8601 date-time, got {value!r:.80}")
        self.conditions.append(filt)
        return True

    def _eq_value(
        self, name: str, value: Any, texts: list[str], numbers: set[float], times: set[int]
    ) -> None:
        """Add every reading of one ``EQ_`` extension value, as capture reads a stored value
        (:func:`packtrail.store.index_rows.field_value`): its text, its number, its time."""
        if isinstance(value, str):
            value = value.strip()
            if not value:
                raise QueryParameterError(name, "expected a non-empty value")
        elif not isinstance(value, (bool, int, float)):
            raise QueryParameterError(name, f"expected a string, number or date-time, got {value!r:.80}")
        text, number, moment = field_value(value)
        if text is None:
            raise QueryParameterError(name, f"expected a finite number, got {value!r:.80}")
        texts.append(text)
        if number is not None:
            numbers.add(number)
        if moment is not None:
            times.add(moment)

    # result -----------------------------------------------------------------------------------------

    def build(self) -> EventQuery:
        if self.event_count_limit is not None and self.max_event_count is not None:
            raise QueryParameterError(
                "eventCountLimit",
                "expected either eventCountLimit or maxEventCount, not both (EPCIS 2.0 8.2.7.1)",
            )
        if self.event_count_limit is not None and self.order_by is None:
            raise QueryParameterError(
                "eventCountLimit", "expected orderBy as well: eventCountLimit picks the first N by that order"
            )
        conditions = list(self.conditions)
        if self.sensor or self.sensor_exists:
            conditions.append(SensorMatch(tuple(sorted(set(self.sensor), key=repr))))
        direction = self.order_direction or ("DESC" if self.order_by is not None else "ASC")
        return EventQuery(
            conditions=tuple(sorted(set(conditions), key=repr)),
            order_by=self.order_by,
            order_direction=cast(Literal["ASC", "DESC"], direction),
            event_count_limit=self.event_count_limit,
            max_event_count=self.max_event_count,
        )


def parse_query_params(
    params: Iterable[tuple[str, Any]] | Mapping[str, Any | Sequence[Any]],
    *,
    namespaces: Mapping[str, str],
) -> EventQuery:
    """The :class:`EventQuery` of SimpleEventQuery parameters (URL pairs, a mapping, or a JSON query
    body); raises :class:`~packtrail.store.errors.QueryParameterError` naming the first bad parameter.

    ``namespaces`` (prefix -> URI) resolves ``prefix:local`` extension field names; a JSON body's
    ``@context`` adds to it.

    >>> parse_query_params([("MATCH_epc", "https://id.gs1.org/01/10614141073464/21/2017")], namespaces={})
    EventQuery(conditions=(EpcMatch(roles=(1, 2), values=('urn:epc:id:sgtin:0614141.107346.2017',)),), \
order_by=None, order_direction='ASC', event_count_limit=None, max_event_count=None)
    >>> parse_query_params([("GE_eventTime", "yesterday")], namespaces={})
    Traceback (most recent call last):
    ...
    packtrail.store.errors.QueryParameterError: GE_eventTime: expected an ISO 8601 date-time with offset \
such as 2024-03-01T10:00:00Z, got 'yesterday'
    """
    grouped, ns = _collect(params, namespaces)
    builder = _Builder(ns)
    for name, raws in grouped.items():
        builder.add(name, raws)
    return builder.build()
