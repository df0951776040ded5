"""An :class:`~packtrail.store.query_params.EventQuery` as one SQLAlchemy Core ``SELECT`` over ``events``.

Each condition is a test on an ``events`` column or an ``event_pk IN (SELECT event_pk FROM <index
table> WHERE …)`` over one index table, whose index leads with the value compared, so the database can
start from whichever condition is most selective (SQLite drives a query from one ``IN`` list; PostgreSQL
plans a semi-join). What the tables hold is fixed by :mod:`packtrail.store.schema`; the values compared
are brought to the same canonical forms by :mod:`packtrail.store.query_params`.

>>> from packtrail.store.query_params import parse_query_params
>>> q = parse_query_params([("MATCH_epc", "urn:epc:idpat:sgtin:0614141.107346.*")], namespaces={})
>>> print(condition_clause(q.conditions[0], MasterData()))  # doctest: +NORMALIZE_WHITESPACE
events.event_pk IN (SELECT event_epc_classes.event_pk FROM event_epc_classes
WHERE event_epc_classes.role IN (__[POSTCOMPILE_role_1]) AND event_epc_classes.epc_class = :epc_class_1)
>>> q = parse_query_params([("MATCH_epc", "urn:epc:id:sgtin:0614141.107346.2017")], namespaces={})
>>> print(condition_clause(q.conditions[0], MasterData()))  # doctest: +NORMALIZE_WHITESPACE
(events.event_pk, events.event_time_us) IN (SELECT event_epcs.event_pk, event_epcs.event_time_us
FROM event_epcs WHERE event_epcs.role IN (__[POSTCOMPILE_role_1]) AND event_epcs.epc = :epc_1)
>>> # MATCH_anyEPC asks for every role: no test of it
>>> q = parse_query_params([("MATCH_anyEPC", "urn:epc:id:sgtin:0614141.107346.2017")], namespaces={})
>>> print(condition_clause(q.conditions[0], MasterData()))  # doctest: +NORMALIZE_WHITESPACE
(events.event_pk, events.event_time_us) IN (SELECT event_epcs.event_pk, event_epcs.event_time_us
FROM event_epcs WHERE event_epcs.epc = :epc_1)

(An EPC's events are fetched by ``event_pk`` and eventTime, the partition key of PostgreSQL's
``events``: see :func:`_epcs_where`. SQLite gets ``events.event_pk IN (SELECT event_epcs.event_pk …)``.)

An EPC pattern (``urn:epc:idpat:sgtin:0614141.107346.*``, EPCIS 2.0 section 8.2.7.1.1) is a prefix of
the canonical EPC URNs it matches; it becomes a range on an index, exact wherever text compares by code
point (SQLite's ``BINARY``, PostgreSQL's ``C``/``C.UTF-8`` collations). A pattern that stops within the
class (a product, a company prefix) is a range over ``event_epc_classes`` (one row per event and class,
with the eventTime: the query's eventTime bounds are tested in the same index range); a pattern into the
serial, and a plain EPC, over ``event_epcs``.

Where a query starts is shaped by :func:`plan_of` (see :class:`Plan`): an EPC or class pattern that is
not the only way in becomes, on SQLite, an ``EXISTS`` checked per candidate event (SQLite costs every
``IN`` list at about 25 rows, a product's pattern included); a narrow eventTime window (31 days or less)
is read from ``ix_events_biz_step_time`` and sorted on SQLite, while PostgreSQL walks
``ix_events_biz_step (biz_step, event_pk, event_time_us)`` from the window's first partition.

Visibility (who may see an event) is an ``EXISTS`` on ``event_visibility``: a filter checked per
candidate row through its primary key, never the place a query starts. ``WD_`` locations and the
master-data parameters (``EQATTR_``, ``HASATTR_``) are resolved first against the (small) master data
tables by :func:`lookup_master_data` and enter the statement as plain ``IN`` lists.

Ordering: capture order (``event_pk``) unless ``orderBy`` names ``eventTime``, ``recordTime`` or an
extension field; keyset pagination continues after the last row's sort key and ``event_pk``
(:func:`page_select`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement, Grouping
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.sqltypes import NULLTYPE

from packtrail.store import schema
from packtrail.store.identifiers import (
    LIKE_ESCAPE,
    bare_cbv,
    canonical_class,
    class_pattern_likes,
    epc_pattern_to_like,
    pattern_class_like,
)
from packtrail.store.master_data import LOCATION_TYPES
from packtrail.store.query_params import (
    UNIT_CONVERSIONS,
    AttrFilter,
    BizTransactionIn,
    ClassMatch,
    Compare,
    Condition,
    CorrectiveEventIdIn,
    EpcMatch,
    ErrorDeclared,
    ErrorReasonIn,
    ErrorTimeBound,
    EventQuery,
    FieldFilter,
    PartyIn,
    PersistentDispositionIn,
    QuantityFilter,
    SensorBool,
    SensorBound,
    SensorIn,
    SensorMatch,
    SensorTerm,
    TimeBound,
    ValuesIn,
    WithDescendants,
    convert_unit,
    place_spellings,
    unit_dimension,
)

__all__ = [
    "MasterData",
    "OnSQLite",
    "Plan",
    "ViewerLike",
    "class_companions",
    "condition_clause",
    "count_select",
    "filters",
    "likelihood",
    "lookup_master_data",
    "page_select",
    "plan_of",
    "sort_keys",
    "sorted_afterwards",
]

EVENTS: Final = schema.events
MISSING_NUMBER: Final = -1.0e300
"""Sort value of an event lacking the ``orderBy`` extension field (such events sort first ascending)."""
EQ_TOLERANCE: Final = 1e-9
"""Relative tolerance of an ``EQ_`` comparison made after a unit conversion (float rounding)."""


class ViewerLike(Protocol):
    """Who asks (:class:`packtrail.store.parties.Viewer`): ``party`` None is the administrator."""

    @property
    def party(self) -> str | None: ...


@dataclass(frozen=True)
class MasterData:
    """Master data looked up for one query: the locations under each ``WD_`` root and the vocabulary
    elements whose attributes satisfy each ``EQATTR_``/``HASATTR_`` filter (every spelling)."""

    descendants: Mapping[WithDescendants, tuple[str, ...]] = field(default_factory=dict)
    """``WD_`` condition -> the roots and every location below them."""
    attribute_matches: Mapping[AttrFilter, tuple[str, ...]] = field(default_factory=dict)
    """``EQATTR_``/``HASATTR_`` condition -> the matching vocabulary element ids."""


# -- master data -----------------------------------------------------------------------------------------

_ATTR_VOCABULARIES: Final[Mapping[str, tuple[str, ...]]] = {
    "readPoint": tuple(sorted(LOCATION_TYPES)),
    "bizLocation": tuple(sorted(LOCATION_TYPES)),
    "epcClass": ("urn:epcglobal:epcis:vtype:EPCClass",),
    "bizStep": ("urn:epcglobal:epcis:vtype:BusinessStep",),
    "disposition": ("urn:epcglobal:epcis:vtype:Disposition",),
}
_KNOWN_PREFIXES: Final[Mapping[str, str]] = {
    "cbvmda": "urn:epcglobal:cbv:mda#",
    "gs1": "https://gs1.org/voc/",
}


def _attribute_id(value: str) -> str:
    """An attribute id with the well-known compact prefixes (``cbvmda:``, ``gs1:``) spelt out."""
    prefix, colon, local = value.partition(":")
    if colon and prefix in _KNOWN_PREFIXES:
        return _KNOWN_PREFIXES[prefix] + local
    return value


def _attribute_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return None


def _element_matches(attributes: Any, wanted: AttrFilter) -> bool:
    """Whether a vocabulary element's attributes (``[{"id": …, "attribute": …}]``) satisfy the filter."""
    if isinstance(attributes, dict):  # an object of id -> value, if ever stored that way
        attributes = [{"id": k, "attribute": v} for k, v in attributes.items()]
    if not isinstance(attributes, list):
        return False
    names = {_attribute_id(a) for a in wanted.attrs}
    for entry in attributes:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        if _attribute_id(entry["id"]) not in names:
            continue
        if wanted.values is None:
            return True
        value = entry.get("attribute")
        texts = [_attribute_text(v) for v in value] if isinstance(value, list) else [_attribute_text(value)]
        if any(t is not None and t in wanted.values for t in texts):
            return True
    return False


def _spellings(field_name: str, uris: Iterable[str]) -> tuple[str, ...]:
    """Stored spellings of vocabulary element ids for an event field."""
    if field_name in ("readPoint", "bizLocation"):
        return place_spellings(uris)
    if field_name == "epcClass":
        return tuple(sorted({canonical_class(u) for u in uris} | set(uris)))
    return tuple(sorted({bare_cbv(u) or u for u in uris} | set(uris)))


def _descendants(connection: Connection, roots: Sequence[str]) -> tuple[str, ...]:
    """The roots and every location below them (children edges of every location vocabulary)."""
    edges = schema.vocabulary_children
    types = sorted(LOCATION_TYPES)
    tree = (
        sa.select(edges.c.child_uri.label("uri"))
        .where(edges.c.parent_uri.in_(sorted(set(roots))), edges.c.vocab_type.in_(types))
        .cte("wd_tree", recursive=True)
    )
    tree = tree.union(
        sa.select(edges.c.child_uri).where(edges.c.parent_uri == tree.c.uri, edges.c.vocab_type.in_(types))
    )
    found = set(roots) | {row[0] for row in connection.execute(sa.select(tree.c.uri))}
    return place_spellings(found)


def lookup_master_data(connection: Connection, query: EventQuery) -> MasterData:
    """Resolve the query's ``WD_`` roots and master-data attribute filters against the master data
    tables (one small query each); a query without them costs nothing."""
    descendants: dict[WithDescendants, tuple[str, ...]] = {}
    matches: dict[AttrFilter, tuple[str, ...]] = {}
    for condition in query.conditions:
        if isinstance(condition, WithDescendants):
            descendants[condition] = _descendants(connection, condition.roots)
        elif isinstance(condition, AttrFilter):
            table = schema.vocabularies
            rows = connection.execute(
                sa.select(table.c.uri, table.c.attributes).where(
                    table.c.vocab_type.in_(_ATTR_VOCABULARIES[condition.field])
                )
            )
            uris = [row.uri for row in rows if _element_matches(orjson.loads(row.attributes), condition)]
            matches[condition] = _spellings(condition.field, uris)
    return MasterData(descendants, matches)


# -- one condition ---------------------------------------------------------------------------------------


def _pks_where(table: sa.Table, *where: ColumnElement[bool]) -> ColumnElement[bool]:
    """``events.event_pk IN (SELECT event_pk FROM table WHERE …)``: a test the query may start from."""
    return EVENTS.c.event_pk.in_(sa.select(table.c.event_pk).where(*where))


def _exists_where(table: sa.Table, *where: ColumnElement[bool]) -> ColumnElement[bool]:
    """``EXISTS (SELECT 1 FROM table WHERE table.event_pk = events.event_pk AND …)``: a test checked on
    each candidate event through the table's ``event_pk`` index, never the place a query starts."""
    return sa.exists().where(table.c.event_pk == EVENTS.c.event_pk, *where)


def _in(column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    if not values:
        return sa.false()
    if len(values) == 1:
        return cast(ColumnElement[bool], column == values[0])
    return column.in_(values)


_OPERATORS: Final = {
    "EQ": operators.eq,
    "GT": operators.gt,
    "GE": operators.ge,
    "LT": operators.lt,
    "LE": operators.le,
}


def _compare(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    if op in _OPERATORS:
        return cast(ColumnElement[bool], column.operate(_OPERATORS[op], value))
    raise ValueError(f"unknown comparison {op!r}")


def _prefix_range(column: ColumnElement[str], like: str) -> ColumnElement[bool] | None:
    """A ``LIKE 'prefix%'`` pattern as an index range ``prefix <= column < next(prefix)``, or None
    when the pattern has another wildcard (then ``LIKE`` it is)."""
    if not like.endswith("%"):
        return None
    body = like[:-1]
    prefix: list[str] = []
    escaped = False
    for char in body:
        if escaped:
            prefix.append(char)
            escaped = False
        elif char == LIKE_ESCAPE:
            escaped = True
        elif char in "%_":
            return None
        else:
            prefix.append(char)
    text = "".join(prefix)
    if not text:
        return sa.true()
    upper = text[:-1] + chr(ord(text[-1]) + 1)
    return sa.and_(column >= text, column < upper)


def _pattern_clause(column: ColumnElement[str], patterns: Iterable[tuple[str, bool]]) -> ColumnElement[bool]:
    """Equality with the plain values, prefix ranges / ``LIKE`` for the patterns; any may match."""
    exact: list[str] = []
    ranges: list[ColumnElement[bool]] = []
    for value, is_like in patterns:
        if not is_like:
            exact.append(value)
            continue
        ranged = _prefix_range(column, value)
        ranges.append(ranged if ranged is not None else column.like(value, escape=LIKE_ESCAPE))
    parts = ([_in(column, sorted(set(exact)))] if exact else []) + ranges
    return parts[0] if len(parts) == 1 else sa.or_(*parts)


def _unit_clause(
    value_column: ColumnElement[Any],
    uom_column: ColumnElement[Any],
    op: Compare,
    values: Sequence[float],
    uom: str,
    *,
    difference: bool = False,
) -> ColumnElement[bool]:
    """``value op values`` for rows in unit ``uom`` or a unit convertible to it (the values converted
    into each stored unit, so the stored column is compared as it is)."""
    dimension = unit_dimension(uom)
    units = [u for u, entry in UNIT_CONVERSIONS.items() if entry[0] == dimension] if dimension else [uom]
    alternatives: list[ColumnElement[bool]] = []
    for unit in sorted(units):
        converted = [convert_unit(v, uom, unit, difference=difference) for v in values]
        targets = [c for c in converted if c is not None]
        if not targets:
            continue
        if op == "EQ" and unit != uom:
            tests = [
                value_column.between(t - EQ_TOLERANCE * max(1.0, abs(t)), t + EQ_TOLERANCE * max(1.0, abs(t)))
                for t in targets
            ]
            test = tests[0] if len(tests) == 1 else sa.or_(*tests)
        elif op == "EQ":
            test = _in(value_column, targets)
        else:
            test = _compare(value_column, op, targets[0])
        alternatives.append(sa.and_(uom_column == unit, test))
    if not alternatives:
        return sa.false()
    return alternatives[0] if len(alternatives) == 1 else sa.or_(*alternatives)


def _sensor_term(term: SensorTerm) -> ColumnElement[bool]:
    table = schema.event_sensor
    if isinstance(term, SensorIn):
        return _in(table.c[term.column], term.values)
    if isinstance(term, SensorBool):
        return table.c.boolean_value == term.value
    if isinstance(term, SensorBound):
        value: float | int = int(term.value) if term.column.endswith("_us") else term.value
        return _compare(table.c[term.column], term.op, value)
    return _unit_clause(
        table.c[term.column], table.c.uom, term.op, term.values, term.uom, difference=term.column == "s_dev"
    )


def _field_clause(condition: FieldFilter) -> ColumnElement[bool]:
    table = schema.event_fields
    where: list[ColumnElement[bool]] = [
        table.c.name == condition.name,
        table.c.section == condition.section,
        table.c.depth > 1 if condition.inner else table.c.depth == 1,
    ]
    if condition.op == "EQ":
        alternatives: list[ColumnElement[bool]] = []
        if condition.texts:
            alternatives.append(_in(table.c.value_text, condition.texts))
        if condition.numbers:
            alternatives.append(_in(table.c.value_num, condition.numbers))
        if condition.times:
            alternatives.append(_in(table.c.value_time_us, condition.times))
        where.append(sa.or_(*alternatives) if alternatives else sa.false())
    elif condition.op != "EXISTS":
        if condition.times:
            where.append(_compare(table.c.value_time_us, condition.op, condition.times[0]))
        else:
            where.append(_compare(table.c.value_num, condition.op, condition.numbers[0]))
    return _pks_where(table, *where)


def _attr_clause(condition: AttrFilter, master: MasterData) -> ColumnElement[bool]:
    uris = master.attribute_matches.get(condition, ())
    if condition.field == "epcClass":
        quantities = schema.event_quantities
        return _pks_where(quantities, _in(quantities.c.epc_class, uris)) if uris else sa.false()
    column = {
        "readPoint": EVENTS.c.read_point,
        "bizLocation": EVENTS.c.biz_location,
        "bizStep": EVENTS.c.biz_step,
        "disposition": EVENTS.c.disposition,
    }[condition.field]
    return _in(column, uris)


def _epcs_where(*where: ColumnElement[bool]) -> ColumnElement[bool]:
    """The events whose ``event_epcs`` rows pass ``where``, as a test the query may start from. On
    PostgreSQL ``(event_pk, event_time_us) IN (SELECT event_pk, event_time_us …)``: the eventTime,
    carried by ``ix_event_epcs_value``, is the partition key of ``events``, so each event found is
    fetched from its own month's partition (pruned at execution) instead of every month's primary key
    being probed for it. SQLite, without partitions, compares ``event_pk`` alone."""
    epcs = schema.event_epcs
    found = sa.select(epcs.c.event_pk, epcs.c.event_time_us).where(*where)
    return OnSQLite(
        sa.tuple_(EVENTS.c.event_pk, EVENTS.c.event_time_us).in_(found),
        _pks_where(epcs, *where),
        predicate=True,
    )


def _epc_match_clause(condition: EpcMatch, lead: bool, beside: Sequence[Condition]) -> ColumnElement[bool]:
    """An EPC match: the patterns that stop within the class over ``event_epc_classes`` (with the
    query's eventTime bounds and bizSteps, ``beside``, tested in the same index range), the rest over
    ``event_epcs``; ``lead``: as tests the query may start from, else as per-event ``EXISTS``."""
    semi_join = _pks_where if lead else _exists_where
    by_class: list[tuple[str, bool]] = []
    by_epc: list[tuple[str, bool]] = []
    for value in condition.values:
        class_like = pattern_class_like(value)
        if class_like is not None:
            by_class.append(class_like)
        else:
            by_epc.append(epc_pattern_to_like(value))
    parts: list[ColumnElement[bool]] = []
    if by_class:
        parts.append(semi_join(schema.event_epc_classes, *_class_terms(condition, by_class, beside)))
    if by_epc:
        epcs = schema.event_epcs
        where = (*_role_test(epcs, condition), _pattern_clause(epcs.c.epc, by_epc))
        parts.append(_epcs_where(*where) if lead else _exists_where(epcs, *where))
    return parts[0] if len(parts) == 1 else sa.or_(*parts)


def _role_test(table: sa.Table, condition: EpcMatch) -> list[ColumnElement[bool]]:
    """The test of ``table.role`` an EPC match needs: none when it asks for every role
    (:data:`~packtrail.store.schema.EPC_ROLES`, as ``MATCH_anyEPC`` does). Without it the value index
    ``(epc, event_pk)`` answers the match alone (an index-only scan), instead of each matching row being
    read from the table for a role that cannot fail."""
    if schema.EPC_ROLES.issubset(condition.roles):
        return []
    return [_in(table.c.role, condition.roles)]


def _class_terms(
    condition: EpcMatch, by_class: list[tuple[str, bool]], beside: Sequence[Condition]
) -> list[ColumnElement[bool]]:
    """The tests on ``event_epc_classes`` rows of an EPC match's class patterns (``by_class``, as
    :func:`~packtrail.store.identifiers.pattern_class_like` gives them) and of the query's
    :func:`class_companions` (``beside``)."""
    classes = schema.event_epc_classes
    return [
        *_role_test(classes, condition),
        _pattern_clause(classes.c.epc_class, by_class),
        *(_class_test(classes, c) for c in beside),
    ]


def _class_page(
    query: EventQuery, viewer: ViewerLike, *, upper_pk: int, after_pk: int | None, limit: int
) -> ColumnElement[bool] | None:
    """For a class-led query (:attr:`Plan.class_led`) whose every condition ``event_epc_classes``
    answers by itself (the class pattern, eventTime bounds, ``EQ_bizStep``), in capture order: the
    page's events chosen from that table alone, ``events.event_pk IN (SELECT DISTINCT event_pk …
    ORDER BY event_pk LIMIT n)`` with visibility checked on the way, so that only the page's events are
    read from ``events`` (at 10,000,000 events a product's commissioning in a week is ~1,500 events);
    None for any other query."""
    if query.order_by is not None or not plan_of(query).class_led:
        return None
    companions = class_companions(query)
    matches = [c for c in query.conditions if c not in companions]
    if len(matches) != 1 or not _by_class(matches[0]):
        return None
    match = matches[0]
    assert isinstance(match, EpcMatch)
    classes = schema.event_epc_classes
    by_class = [like for like in (pattern_class_like(v) for v in match.values) if like is not None]
    where = [*_class_terms(match, by_class, companions), classes.c.event_pk <= upper_pk]
    descending = query.order_direction == "DESC"
    if after_pk is not None:
        where.append(classes.c.event_pk < after_pk if descending else classes.c.event_pk > after_pk)
    key = classes.c.event_pk.desc() if descending else classes.c.event_pk.asc()
    found = sa.select(classes.c.event_pk).where(*where).distinct().order_by(key)
    if viewer.party is None:
        return EVENTS.c.event_pk.in_(found.limit(limit))
    # Visibility is tested on the events found, in page order, until the page is full: a party that
    # sees what it asks for costs a page of probes, not one per event of the week (~1,500).
    candidates = found.subquery("candidates")
    visibility = schema.event_visibility
    visible = sa.exists().where(
        visibility.c.party == viewer.party, visibility.c.event_pk == candidates.c.event_pk
    )
    order = candidates.c.event_pk.desc() if descending else candidates.c.event_pk.asc()
    page = sa.select(candidates.c.event_pk).where(per_row(visible)).order_by(order).limit(limit)
    return EVENTS.c.event_pk.in_(page)


def _class_test(classes: sa.Table, condition: Condition) -> ColumnElement[bool]:
    """An eventTime bound or a bizStep test (:func:`class_companions`) on ``event_epc_classes``."""
    if isinstance(condition, TimeBound):
        return _compare(classes.c.event_time_us, condition.op, condition.time_us)
    assert isinstance(condition, ValuesIn) and condition.column == "biz_step"
    return _in(classes.c.biz_step, condition.values)


def class_companions(query: EventQuery) -> list[Condition]:
    """The query's conditions that ``event_epc_classes`` holds too (eventTime bounds, ``EQ_bizStep``):
    repeated inside an EPC class range, so that its index reads only the entries asked for."""
    return [
        c
        for c in query.conditions
        if (isinstance(c, TimeBound) and c.column == "event_time_us")
        or (isinstance(c, ValuesIn) and c.column == "biz_step")
    ]


def condition_clause(
    condition: Condition,
    master: MasterData,
    *,
    lead: bool = True,
    beside: Sequence[Condition] = (),
) -> ColumnElement[bool]:
    """The SQL test of one condition on a row of ``events``.

    ``lead=False`` writes an EPC or class pattern as a correlated ``EXISTS`` (checked per candidate
    event) instead of an ``IN`` list the query may start from; other conditions read the same either way.
    ``beside``: the query's :func:`class_companions`, repeated inside an EPC class range (whose index
    holds the eventTime and bizStep) so that it reads only the entries asked for.
    """
    if isinstance(condition, ValuesIn):
        if condition.column == "event_id":  # looked up where capture keeps every eventID (revision 0009)
            keys = schema.event_keys
            return _pks_where(keys, _in(keys.c.event_id, schema.event_id_keys(condition.values)))
        return _in(EVENTS.c[condition.column], condition.values)
    if isinstance(condition, TimeBound):
        return _compare(EVENTS.c[condition.column], condition.op, condition.time_us)
    if isinstance(condition, WithDescendants):
        return _in(EVENTS.c[condition.column], master.descendants.get(condition, condition.roots))
    if isinstance(condition, PersistentDispositionIn):
        table = schema.event_persistent_dispositions
        return _pks_where(table, _in(table.c.value, condition.values), table.c.kind == condition.kind)
    if isinstance(condition, EpcMatch):
        return _epc_match_clause(condition, lead, beside)
    if isinstance(condition, ClassMatch):
        quantities = schema.event_quantities
        likes = [p for v in condition.values for p in class_pattern_likes(v)]
        semi_join = _pks_where if lead else _exists_where
        return semi_join(
            quantities,
            _in(quantities.c.role, condition.roles),
            _pattern_clause(quantities.c.epc_class, likes),
        )
    if isinstance(condition, QuantityFilter):
        quantities = schema.event_quantities
        if condition.uom is None:
            test = (
                _in(quantities.c.quantity, condition.values)
                if condition.op == "EQ"
                else _compare(quantities.c.quantity, condition.op, condition.values[0])
            )
        else:
            test = _unit_clause(
                quantities.c.quantity, quantities.c.uom, condition.op, condition.values, condition.uom
            )
        return _pks_where(quantities, test)
    if isinstance(condition, BizTransactionIn):
        table = schema.event_biz_transactions
        return _pks_where(table, _in(table.c.value, condition.values), table.c.type == condition.type)
    if isinstance(condition, PartyIn):
        table = schema.event_parties
        return _pks_where(
            table,
            _in(table.c.value, condition.values),
            table.c.kind == condition.kind,
            table.c.type == condition.type,
        )
    if isinstance(condition, ErrorDeclared):
        return _pks_where(schema.event_errors)
    if isinstance(condition, ErrorTimeBound):
        errors = schema.event_errors
        return _pks_where(errors, _compare(errors.c.declaration_time_us, condition.op, condition.time_us))
    if isinstance(condition, ErrorReasonIn):
        errors = schema.event_errors
        return _pks_where(errors, _in(errors.c.reason, condition.values))
    if isinstance(condition, CorrectiveEventIdIn):
        table = schema.event_corrective_ids
        return _pks_where(table, _in(table.c.corrective_event_id, condition.values))
    if isinstance(condition, FieldFilter):
        return _field_clause(condition)
    if isinstance(condition, AttrFilter):
        return _attr_clause(condition, master)
    if isinstance(condition, SensorMatch):
        return _pks_where(schema.event_sensor, *(_sensor_term(t) for t in condition.terms))
    raise TypeError(f"unknown query condition {condition!r}")


# -- the whole query -------------------------------------------------------------------------------------


def per_row(exists: sa.Exists) -> ColumnElement[bool]:
    """``(EXISTS …) IS TRUE``: the same test, which PostgreSQL evaluates on each row that reaches it
    (lazily, so under a ``LIMIT`` only until the page is full) and never turns into a join — a join
    would let it start from the other side (all of a party's visibility rows, say). SQLite tests every
    ``EXISTS`` per row anyway."""
    return exists.is_(sa.true())


def visibility_clause(viewer: ViewerLike, *, per_event: bool = False) -> ColumnElement[bool] | None:
    """``EXISTS`` a visibility row for the viewer's party; None for the administrator (sees all).

    ``per_event``: :func:`per_row` on PostgreSQL, for queries that start from an EPC, whose events
    must be fetched by ``(event_pk, event_time_us)`` (:func:`_epcs_where`), not by an ``event_pk``
    taken from ``event_visibility`` (every partition probed)."""
    if viewer.party is None:
        return None
    table = schema.event_visibility
    visible = sa.exists().where(table.c.party == viewer.party, table.c.event_pk == EVENTS.c.event_pk)
    return OnSQLite(per_row(visible), visible, predicate=True) if per_event else visible


def _starts_from_epcs(query: EventQuery) -> bool:
    """Whether an EPC match of the query reads ``event_epcs`` (an EPC, or a pattern into the serial)."""
    return any(
        isinstance(c, EpcMatch) and any(pattern_class_like(v) is None for v in c.values)
        for c in query.conditions
    )


# -- where a query starts ---------------------------------------------------------------------------------

NARROW_WINDOW_US: Final = 31 * 86_400 * 1_000_000
"""The widest ``GE_``/``LT_`` time window (31 days, in microseconds) read as *narrow*: few enough events
that the query starts from the window's index range and sorts what it finds (see :func:`plan_of`)."""
LIKELY: Final = 0.9
"""SQLite ``likelihood()`` given to an event-time bound outside a narrow window (see :func:`plan_of`)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """How the statement of one query is shaped so that both planners start from a narrow index range.

    Two facts the planners cannot see make this necessary. SQLite estimates every ``event_pk IN
    (SELECT …)`` at about 25 rows, so it starts from an EPC pattern (``urn:epc:idpat:sgtin:CP.ITEM.*``:
    every event of a product) as readily as from one EPC. And ``event_pk``, allocated in capture order,
    follows eventTime closely: in the default order (``ORDER BY event_pk LIMIT n``) a walk in
    ``event_pk`` order through ``ix_events_biz_step`` meets a window's events only after every earlier
    one. PostgreSQL starts that walk in the window's first monthly partition and tests the eventTime in
    the index (``(biz_step, event_pk, event_time_us)``): a short range, the plan it picks by itself.
    SQLite, without partitions, would start at the first event ever captured.
    """

    followers: frozenset[int]
    """Indexes (into ``query.conditions``) of the patterns written as per-event ``EXISTS`` checks: each
    pattern, when another condition can start the query (an exact identifier, an ``EQ_eventID``, a narrow
    time window); else every pattern but the first. An EPC pattern that stops within the class, in a
    narrow eventTime window, is no pattern here: it reads the window's part of its class range in
    ``event_epc_classes`` and starts the query."""
    narrow: bool
    """A ``GE_``/``LT_`` window on eventTime or recordTime of at most :data:`NARROW_WINDOW_US`. SQLite
    then sorts by ``event_pk + 0`` in the default order, an order no index hands out, so that it starts
    from the window (``ix_events_biz_step_time`` with ``EQ_bizStep``, else the time index) and sorts the
    few events found; PostgreSQL keeps ``ORDER BY event_pk`` (see above)."""
    likely_times: bool
    """SQLite only: the eventTime bounds, outside a narrow window and beside ``EQ_bizStep``, are marked
    ``likelihood(…, 0.9)``, so that SQLite walks ``ix_events_biz_step`` in ``event_pk`` order and stops
    after a page instead of sorting the whole of a wide window from ``ix_events_biz_step_time``."""
    class_led: bool = False
    """An EPC class pattern with ``EQ_bizStep`` in a narrow eventTime window: the candidates are one short
    range of ``ix_event_epc_classes_step``. Both databases then sort by ``event_pk + 0`` in the default
    order: PostgreSQL, given ``ORDER BY event_pk LIMIT n``, may otherwise walk the bizStep's events of
    the window's partitions in ``event_pk`` order (a month's commissioning of every product, each
    fetched from the table) hoping to fill the page early — at 10,000,000 events 80 ms against 2."""


def _by_class(condition: Condition) -> bool:
    """An EPC match whose every value is a pattern that stops within the class: one range over
    ``event_epc_classes`` (class, eventTime)."""
    return isinstance(condition, EpcMatch) and all(
        pattern_class_like(v) is not None for v in condition.values
    )


def _is_pattern(condition: Condition, *, week: bool = False) -> bool:
    """An EPC or class pattern: a prefix range over the index that may hold millions of rows.

    ``week``: the query has a narrow eventTime window; an EPC match by class then reads the window's
    part of its class range only (``event_epc_classes`` holds the eventTime), a few rows: no pattern.
    """
    if isinstance(condition, EpcMatch):
        if week and _by_class(condition):
            return False
        return any(is_like for _, is_like in (epc_pattern_to_like(v) for v in condition.values))
    if isinstance(condition, ClassMatch):
        return any(is_like for v in condition.values for _, is_like in class_pattern_likes(v))
    return False


_INDEX_TABLE_CONDITIONS: Final = (
    PersistentDispositionIn,
    EpcMatch,
    ClassMatch,
    QuantityFilter,
    BizTransactionIn,
    PartyIn,
    ErrorDeclared,
    ErrorTimeBound,
    ErrorReasonIn,
    CorrectiveEventIdIn,
    FieldFilter,
    SensorMatch,
)
"""Conditions written as ``event_pk IN (SELECT … FROM <index table>)``."""


def _window(query: EventQuery, column: str) -> tuple[int | None, int | None]:
    """The tightest ``GE_`` and ``LT_`` bounds of the query on a time column (None: unbounded)."""
    lows = [
        c.time_us
        for c in query.conditions
        if isinstance(c, TimeBound) and c.column == column and c.op == "GE"
    ]
    highs = [
        c.time_us
        for c in query.conditions
        if isinstance(c, TimeBound) and c.column == column and c.op == "LT"
    ]
    return (max(lows) if lows else None), (min(highs) if highs else None)


def _is_narrow(window: tuple[int | None, int | None]) -> bool:
    low, high = window
    return low is not None and high is not None and high - low <= NARROW_WINDOW_US


def plan_of(query: EventQuery) -> Plan:
    """The :class:`Plan` of a query: decided from the parameters alone, so the same query always gets
    the same statement (and the same plan, given the same statistics).

    >>> from packtrail.store.query_params import parse_query_params
    >>> week = [("GE_eventTime", "2024-03-01T00:00:00Z"), ("LT_eventTime", "2024-03-08T00:00:00Z")]
    >>> pattern = [("MATCH_epc", "urn:epc:idpat:sgtin:4012345.011111.*")]
    >>> plan_of(parse_query_params(pattern + week, namespaces={}))  # the class's week: a short range
    Plan(followers=frozenset(), narrow=True, likely_times=False, class_led=False)
    >>> step = [("EQ_bizStep", "commissioning")]
    >>> plan_of(parse_query_params(pattern + week + step, namespaces={}))  # even shorter: sort what it finds
    Plan(followers=frozenset(), narrow=True, likely_times=False, class_led=True)
    >>> other = [("MATCH_epc", "urn:epc:idpat:usdod:2S194.*")]  # a scheme without class keys
    >>> plan_of(parse_query_params(other + week, namespaces={}))
    Plan(followers=frozenset({0}), narrow=True, likely_times=False, class_led=False)
    >>> plan_of(parse_query_params(pattern, namespaces={}))  # nothing else to start from
    Plan(followers=frozenset(), narrow=False, likely_times=False, class_led=False)
    """
    conditions = query.conditions
    week = _is_narrow(_window(query, "event_time_us"))
    narrow = week or _is_narrow(_window(query, "record_time_us"))
    patterns = [i for i, c in enumerate(conditions) if _is_pattern(c, week=week)]
    exact = any(
        (isinstance(c, _INDEX_TABLE_CONDITIONS) and not _is_pattern(c, week=week))
        or (isinstance(c, ValuesIn) and c.column == "event_id")
        for c in conditions
    )
    followers = frozenset(patterns if exact or narrow else patterns[1:])
    by_biz_step = any(isinstance(c, ValuesIn) and c.column == "biz_step" for c in conditions)
    event_window = _window(query, "event_time_us")
    likely = by_biz_step and event_window != (None, None) and not _is_narrow(event_window)
    class_led = week and by_biz_step and any(_by_class(c) for c in conditions)
    return Plan(followers, narrow, likely, class_led)


class OnSQLite(FunctionElement[Any]):
    """One SQL expression written two ways: ``OnSQLite(elsewhere, sqlite)`` compiles to ``sqlite`` on SQLite
    and to ``elsewhere`` on other databases (the type is ``elsewhere``'s). :func:`filters` uses it for the
    whole WHERE (patterns written as per-event ``EXISTS`` on SQLite only), for ``likelihood(test, p)`` (the
    share of rows SQLite's planner takes ``test`` to pass) and for the sort key ``(event_pk + 0)`` (the same
    order, read from no index, so that SQLite picks the index that finds the rows and sorts them).

    ``predicate=True`` marks a WHERE term, written as it is on both databases. Typed Boolean, SQLAlchemy
    would compare it with 1 on SQLite (which has no boolean type), and ``event_pk IN (…) = 1`` is no
    longer a list of row ids to look up: SQLite walks every event testing it (5 s per EPC at 10,000,000
    events)."""

    inherit_cache = True
    name = "on_sqlite"

    def __init__(
        self, elsewhere: ColumnElement[Any], sqlite: ColumnElement[Any], *, predicate: bool = False
    ) -> None:
        super().__init__(elsewhere, sqlite)
        self.type = NULLTYPE if predicate else elsewhere.type


@compiles(OnSQLite)
def _elsewhere(element: OnSQLite, compiler: Any, **kw: Any) -> str:
    elsewhere, _ = element.clauses
    return str(compiler.process(elsewhere, **kw))


@compiles(OnSQLite, "sqlite")
def _on_sqlite(element: OnSQLite, compiler: Any, **kw: Any) -> str:
    _, sqlite = element.clauses
    return str(compiler.process(sqlite, **kw))


def likelihood(test: ColumnElement[bool], probability: float) -> ColumnElement[bool]:
    """``test``, marked on SQLite with the share of rows its planner should take it to pass."""
    hinted = sa.func.likelihood(test, sa.literal_column(repr(probability)), type_=sa.Boolean())
    return OnSQLite(test, hinted, predicate=True)  # as it is: SQLite reads no hint in ``likelihood(…) = 1``


def sorted_afterwards(key: ColumnElement[int]) -> ColumnElement[int]:
    """``key``, but on SQLite ``(key + 0)``: the same order, which no index hands out (see
    :attr:`Plan.narrow`)."""
    return OnSQLite(key, Grouping(key + sa.literal_column("0")))


def filters(query: EventQuery, viewer: ViewerLike, master: MasterData) -> list[ColumnElement[bool]]:
    """Every WHERE term of the query, to be ANDed: the conditions, then visibility.

    With patterns to follow (:attr:`Plan.followers`) the terms differ by database: SQLite gets the
    other conditions, then visibility (one primary-key probe per candidate event), then the patterns
    as ``EXISTS`` (SQLite tests the terms no index serves in the order written); PostgreSQL gets the
    terms as without them, whose plan it picks from its statistics (in another order it estimates
    otherwise, and may hand a page to parallel workers whose start outweighs it).
    """
    plan = plan_of(query)
    per_event = _starts_from_epcs(query)
    visible = [v] if (v := visibility_clause(viewer, per_event=per_event)) is not None else []
    beside = class_companions(query)
    terms: list[ColumnElement[bool]] = []
    for condition in query.conditions:
        clause = condition_clause(condition, master, beside=beside)
        if plan.likely_times and isinstance(condition, TimeBound) and condition.column == "event_time_us":
            clause = likelihood(clause, LIKELY)
        terms.append(clause)
    if not plan.followers:
        return [*terms, *visible]
    leading = [t for i, t in enumerate(terms) if i not in plan.followers]
    following = [
        condition_clause(query.conditions[i], master, lead=False, beside=beside)
        for i in sorted(plan.followers)
    ]
    return [OnSQLite(sa.and_(*terms, *visible), sa.and_(*leading, *visible, *following), predicate=True)]


def sort_keys(query: EventQuery) -> list[ColumnElement[Any]]:
    """The sort key expressions, ``event_pk`` last (the tie-breaker that makes the order total)."""
    if query.order_by is None:
        return [EVENTS.c.event_pk]
    if query.order_by == "eventTime":
        return [EVENTS.c.event_time_us, EVENTS.c.event_pk]
    if query.order_by == "recordTime":
        return [EVENTS.c.record_time_us, EVENTS.c.event_pk]
    fields = schema.event_fields
    where = (
        fields.c.event_pk == EVENTS.c.event_pk,
        fields.c.name == query.order_by,
        fields.c.section == "",
        fields.c.depth == 1,
    )
    number = (
        sa.select(sa.func.min(sa.func.coalesce(fields.c.value_time_us, fields.c.value_num)))
        .where(*where)
        .scalar_subquery()
    )
    text = sa.select(sa.func.min(fields.c.value_text)).where(*where).scalar_subquery()
    return [
        sa.func.coalesce(sa.cast(number, sa.Float), MISSING_NUMBER),
        sa.func.coalesce(text, ""),
        EVENTS.c.event_pk,
    ]


def _after(keys: Sequence[ColumnElement[Any]], last: Sequence[Any], descending: bool) -> ColumnElement[bool]:
    """Rows strictly after ``last`` in the (keys) order: the keyset pagination predicate."""
    alternatives: list[ColumnElement[bool]] = []
    for i, key in enumerate(keys):
        equal = [keys[j] == last[j] for j in range(i)]
        beyond = key < last[i] if descending else key > last[i]
        alternatives.append(sa.and_(*equal, beyond) if equal else beyond)
    first = keys[0] <= last[0] if descending else keys[0] >= last[0]
    return sa.and_(first, sa.or_(*alternatives))


def page_select(
    query: EventQuery,
    viewer: ViewerLike,
    master: MasterData,
    *,
    upper_pk: int,
    after: Sequence[Any] | None,
    limit: int,
) -> sa.Select[Any]:
    """One page: ``event_pk``, the sort keys (``k0``, ``k1``…), ``document`` and ``namespaces_id`` of
    the first ``limit`` matching events with ``event_pk <= upper_pk`` after the key ``after``."""
    keys = sort_keys(query)
    descending = query.order_direction == "DESC"
    page = _class_page(
        query, viewer, upper_pk=upper_pk, after_pk=None if after is None else int(after[0]), limit=limit
    )
    if page is None:
        where = [*filters(query, viewer, master), EVENTS.c.event_pk <= upper_pk]
    else:  # the page's events, chosen by the class table; their other tests are cheap on a page
        where = [page, *(condition_clause(c, master) for c in class_companions(query))]
    if after is not None:
        where.append(_after(keys, after, descending))
    ordering = list(keys)
    plan = plan_of(query)
    if query.order_by is None and plan.class_led:
        ordering[0] = Grouping(EVENTS.c.event_pk + sa.literal_column("0"))
    elif query.order_by is None and plan.narrow:
        ordering[0] = sorted_afterwards(EVENTS.c.event_pk)
    order = [k.desc() if descending else k.asc() for k in ordering]
    return (
        sa.select(
            EVENTS.c.event_pk,
            *(k.label(f"k{i}") for i, k in enumerate(keys)),
            EVENTS.c.document,
            EVENTS.c.namespaces_id,
        )
        .where(*where)
        .order_by(*order)
        .limit(limit)
    )


def count_select(
    query: EventQuery, viewer: ViewerLike, master: MasterData, *, upper_pk: int, cap: int
) -> sa.Select[Any]:
    """How many events match (counting stops at ``cap``): for ``maxEventCount``."""
    inner = (
        sa.select(EVENTS.c.event_pk)
        .where(*filters(query, viewer, master), EVENTS.c.event_pk <= upper_pk)
        .limit(cap)
        .subquery()
    )
    return sa.select(sa.func.count()).select_from(inner)
