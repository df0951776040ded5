"""Master data: the vocabularies (EPCClass, BusinessLocation, ReadPoint…) that EPCIS documents carry in
their header, kept up to date by every capture, and the location hierarchy ``WD_`` queries walk.

A document header's ``epcisMasterData.vocabularyList`` holds vocabularies, each with a ``type`` and
elements (``id``, ``attributes`` as a list of ``{"id": …, "attribute": …}``, ``children`` as a list of
ids). :func:`vocabulary_rows` flattens them; the last capture of an element wins:

>>> header = {"epcisMasterData": {"vocabularyList": [{
...     "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
...     "vocabularyElementList": [
...         {"id": "urn:epc:id:sgln:4012345.00001.0",
...          "attributes": [{"id": "urn:epcglobal:cbv:mda#name", "attribute": "Plant 1"}],
...          "children": ["urn:epc:id:sgln:4012345.00001.1"]}]}]}}
>>> [(row.vocab_type.rsplit(":", 1)[1], row.uri, row.children) for row in vocabulary_rows(header)]
[('BusinessLocation', 'urn:epc:id:sgln:4012345.00001.0', ['urn:epc:id:sgln:4012345.00001.1'])]

Locations: EPCIS 1.2 writes ``BusinessLocation`` and ``ReadPoint`` vocabularies, EPCIS 2.0 adds
``Location``; one place can appear under several, so :func:`descendants` of a location follows the
children edges of all three.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from packtrail.store import schema

__all__ = [
    "LOCATION_TYPES",
    "VocabularyRow",
    "descendants",
    "get_vocabulary",
    "upsert_vocabularies",
    "vocabulary_rows",
]

LOCATION_TYPES: Final = frozenset(
    {
        "urn:epcglobal:epcis:vtype:BusinessLocation",
        "urn:epcglobal:epcis:vtype:ReadPoint",
        "urn:epcglobal:epcis:vtype:Location",
    }
)
"""Vocabulary types naming places: their hierarchies are walked together by :func:`descendants`."""


@dataclass(frozen=True, slots=True)
class VocabularyRow:
    """One master data element, flattened from a document header."""

    vocab_type: str
    """The vocabulary type URI (``urn:epcglobal:epcis:vtype:EPCClass``)."""
    uri: str
    """The element's id (an SGLN, an LGTIN class, a URI)."""
    attributes: list[Any]
    """The attributes as given: ``[{"id": …, "attribute": …}, …]`` (ids may repeat)."""
    children: list[str]
    """The ids of the element's direct children."""


def vocabulary_rows(header: Any) -> Iterator[VocabularyRow]:
    """The master data elements in a document header (``epcisMasterData.vocabularyList``), in order.

    Entries that are not shaped as the standard says (no type, no id) are passed over: master data
    never makes a capture fail.
    """
    if not isinstance(header, dict):
        return
    master = header.get("epcisMasterData")
    vocabularies = master.get("vocabularyList") if isinstance(master, dict) else None
    if not isinstance(vocabularies, list):
        return
    for vocabulary in vocabularies:
        if not isinstance(vocabulary, dict) or not isinstance(vocabulary.get("type"), str):
            continue
        elements = vocabulary.get("vocabularyElementList")
        if not isinstance(elements, list):
            continue
        for element in elements:
            if not isinstance(element, dict) or not isinstance(element.get("id"), str):
                continue
            attributes = element.get("attributes")
            children = element.get("children")
            yield VocabularyRow(
                vocabulary["type"].strip(),
                element["id"].strip(),
                attributes if isinstance(attributes, list) else [],
                [c.strip() for c in children if isinstance(c, str)] if isinstance(children, list) else [],
            )


def upsert_vocabularies(connection: Connection, rows: Iterable[VocabularyRow], now_us: int) -> int:
    """Insert or replace the master data elements (attributes and children edges); returns how many."""
    latest: dict[tuple[str, str], VocabularyRow] = {}
    for row in rows:
        latest[(row.vocab_type, row.uri)] = row
    if not latest:
        return 0
    dialect = connection.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table, edges = schema.vocabularies, schema.vocabulary_children
    values = [
        {
            "vocab_type": row.vocab_type,
            "uri": row.uri,
            "attributes": orjson.dumps(row.attributes).decode(),
            "children": orjson.dumps(row.children).decode(),
            "updated_at_us": now_us,
        }
        for row in latest.values()
    ]
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.vocab_type, table.c.uri],
        set_={
            "attributes": statement.excluded.attributes,
            "children": statement.excluded.children,
            "updated_at_us": statement.excluded.updated_at_us,
        },
    )
    connection.execute(statement, values)
    for row in latest.values():
        connection.execute(
            edges.delete().where(edges.c.vocab_type == row.vocab_type, edges.c.parent_uri == row.uri)
        )
    edge_rows = [
        {"vocab_type": row.vocab_type, "parent_uri": row.uri, "child_uri": child}
        for row in latest.values()
        for child in dict.fromkeys(row.children)
    ]
    if edge_rows:
        connection.execute(edges.insert(), edge_rows)
    return len(latest)


def get_vocabulary(connection: Connection, vocab_type: str, uri: str) -> dict[str, Any] | None:
    """The element as the JSON-LD master data shape (``id``, ``attributes``, ``children``) plus ``type``."""
    table = schema.vocabularies
    row = connection.execute(
        sa.select(table.c.attributes, table.c.children).where(
            table.c.vocab_type == vocab_type, table.c.uri == uri
        )
    ).first()
    if row is None:
        return None
    return {
        "type": vocab_type,
        "id": uri,
        "attributes": orjson.loads(row.attributes),
        "children": orjson.loads(row.children),
    }


def descendants(connection: Connection, vocab_type: str, uri: str) -> set[str]:
    """``uri`` and every element below it in the hierarchy (children, their children…).

    For a location type the edges of all of :data:`LOCATION_TYPES` are followed. ``uri`` itself is
    always in the answer, known or not, so ``WD_bizLocation=X`` matches X as the standard says.
    """
    types = sorted(LOCATION_TYPES) if vocab_type in LOCATION_TYPES else [vocab_type]
    edges = schema.vocabulary_children
    start: sa.ColumnElement[str] = sa.literal(uri, sa.Text)
    if connection.dialect.name == "postgresql":
        start = start.collate("C")  # the columns' collation: a recursive query needs one throughout
    tree = sa.select(start.label("uri")).cte("tree", recursive=True)
    tree = tree.union(
        sa.select(edges.c.child_uri).where(edges.c.parent_uri == tree.c.uri, edges.c.vocab_type.in_(types))
    )
    return {row[0] for row in connection.execute(sa.select(tree.c.uri))}
