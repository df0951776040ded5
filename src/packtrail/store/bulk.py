"""Fast bulk writes for capture, below SQLAlchemy: on the driver connection, inside its transaction.

SQLite gets ``executemany`` with plain tuples; PostgreSQL gets binary ``COPY … FROM STDIN`` rows through
psycopg (no text to format on this side or to parse on the server's).
Both run on the DBAPI connection of a SQLAlchemy :class:`~sqlalchemy.engine.Connection` whose transaction
is open, so the rows commit or roll back with everything else of the capture.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Final

import orjson
from sqlalchemy import BigInteger, Boolean, Column, Float, Integer, LargeBinary, SmallInteger, Table, Text
from sqlalchemy.engine import Connection

__all__ = ["BulkWriter"]

_PG_TYPES: Final = (
    (BigInteger, "int8"),  # before Integer: BigInteger is an Integer
    (SmallInteger, "int2"),
    (Integer, "int4"),
    (Float, "float8"),
    (Boolean, "bool"),
    (LargeBinary, "bytea"),
    (Text, "text"),
)


def _pg_type(column: Column[Any]) -> str:
    """The PostgreSQL type name of a column, for binary COPY."""
    kind = column.type
    for python, name in _PG_TYPES:
        if isinstance(kind, python):
            return name
    raise TypeError(f"column {column.table.name}.{column.name}: no binary COPY type for {kind!r}")


_TYPE_CACHE: dict[tuple[str, tuple[str, ...]], list[str]] = {}


def _pg_types(table: Table, columns: tuple[str, ...]) -> list[str]:
    key = (table.name, columns)
    found = _TYPE_CACHE.get(key)
    if found is None:
        found = _TYPE_CACHE[key] = [_pg_type(table.c[name]) for name in columns]
    return found


JSON_ROWS_MIN: Final = 256
"""SQLite: from this many rows on, a table of integer and text columns is filled by one ``INSERT …
SELECT … FROM json_each(?)`` over the rows as one JSON text (orjson) instead of ``executemany``.

``executemany`` binds each row in Python and releases the interpreter lock around each row's step; while
capture's other threads run Python, every row then waits to take the lock back (up to the 5 ms switch
interval): the inserts took twice their own time. One statement is one step with the lock released
throughout, and SQLite reads the JSON in C. Values come back as they went: integers as ``INTEGER``, text
as ``TEXT``, ``null`` as ``NULL``, booleans as ``1``/``0`` (as SQLite stores them anyway); tables with
floats or blobs keep ``executemany`` (JSON has no NaN, and no bytes), and so do rows JSON cannot carry (an integer beyond 64 bits) or SQLite's JSON
functions cannot give back (text holding a NUL character, cut there)."""

JSON_ARROWS: Final = sqlite3.sqlite_version_info >= (3, 38, 0)
"""The SQLite library has ``->>`` (3.38, where JSON became part of the core); older ones get
``executemany``."""


def _renders_like_orjson() -> bool:
    """Whether this SQLite library gives back a JSON object through ``->`` as the very bytes orjson
    wrote (key order, escapes, number spellings, non-ASCII text): tried once, on values where writers
    differ."""
    if not JSON_ARROWS:
        return False
    probe = [
        {
            "text": 'é\u001f"\\/\u2028 \U0001f600 <&>',
            "numbers": [1.5e300, -0.0, 0.1, 12345678901234567, -7, 1e-7],
            "nested": {"z": [], "a": {}, "t": True, "f": False, "n": None},
        }
    ]
    try:
        with sqlite3.connect(":memory:") as db:
            (rendered,) = db.execute(
                "SELECT CAST(value -> 0 AS BLOB) FROM json_each(?)", (orjson.dumps([probe]),)
            ).fetchone()
    except sqlite3.Error:
        return False
    return bool(rendered == orjson.dumps(probe[0]))


DOCUMENTS_IN_SQL: Final = _renders_like_orjson()
"""SQLite: the JSON documents of an insert (``events.document``) travel inside its ``json_each`` payload
and SQLite writes their bytes (``CAST(value -> i AS BLOB)``), so that capture serialises each event once,
within the payload, and inserts the events in one statement too. Only where this library renders JSON
exactly as orjson writes it (:func:`_renders_like_orjson`); elsewhere each document is orjson bytes
given to ``executemany``."""

_JSON_SAFE: dict[tuple[str, tuple[str, ...]], bool] = {}


def _json_safe(table: Table, columns: tuple[str, ...]) -> bool:
    """Whether every column is an integer, boolean or text column (see :data:`JSON_ROWS_MIN`)."""
    key = (table.name, columns)
    found = _JSON_SAFE.get(key)
    if found is None:
        kinds = [table.c[name].type for name in columns]
        found = _JSON_SAFE[key] = all(isinstance(kind, (Integer, Text, Boolean)) for kind in kinds)
    return found


class BulkWriter:
    """Bulk inserts and key look-ups on one connection inside its open transaction."""

    __slots__ = ("_sql", "documents_in_sql", "driver", "postgres")

    def __init__(self, connection: Connection) -> None:
        self.postgres = connection.dialect.name == "postgresql"
        """True on PostgreSQL (COPY), False on SQLite (executemany)."""
        self.driver: Any = connection.connection.driver_connection
        """The psycopg or sqlite3 connection under the SQLAlchemy one."""
        self._sql: dict[tuple[str, tuple[str, ...]], str] = {}
        self.documents_in_sql = not self.postgres and DOCUMENTS_IN_SQL
        """SQLite renders the documents of an insert (see :data:`DOCUMENTS_IN_SQL`)."""

    def document_value(self, document: Any) -> Any:
        """What a row given to :meth:`insert` holds in a ``documents`` column for a JSON document
        (a dict or list): the document itself where SQLite turns it into its JSON bytes
        (:data:`DOCUMENTS_IN_SQL`), else its orjson bytes."""
        return document if self.documents_in_sql else orjson.dumps(document)

    def insert(
        self,
        table: Table,
        columns: tuple[str, ...],
        rows: Sequence[Sequence[Any]],
        *,
        documents: tuple[str, ...] = (),
    ) -> None:
        """Insert ``rows`` (tuples in ``columns`` order) into ``table``.

        ``documents``: blob columns holding JSON documents, given as :meth:`document_value` made them
        and stored as their orjson bytes.
        """
        if not rows:
            return
        if documents and self.documents_in_sql:
            if self._documents_in_json(table, columns, rows, documents):
                return
            at = [columns.index(name) for name in documents]
            rows = [tuple(orjson.dumps(v) if i in at else v for i, v in enumerate(row)) for row in rows]
        key = (table.name, columns)
        sql = self._sql.get(key)
        if sql is None:
            names = ", ".join(columns)
            if self.postgres:
                sql = f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)"
            else:
                sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})"
            self._sql[key] = sql
        if self.postgres:
            types = _pg_types(table, columns)
            with self.driver.cursor() as cursor, cursor.copy(sql) as copy:
                copy.set_types(types)
                write = copy.write_row
                for row in rows:
                    write(row)
            return
        if len(rows) >= JSON_ROWS_MIN and JSON_ARROWS and _json_safe(table, columns):
            try:
                payload = orjson.dumps(rows)
            except (orjson.JSONEncodeError, TypeError):
                payload = None  # a value JSON cannot carry exactly: row by row below
            if payload is not None and b"\\u0000" not in payload:  # SQLite's JSON text ends at a NUL
                self.execute(self._json_insert(table, columns), (payload,))
                return
        cursor = self.driver.cursor()
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()

    def _documents_in_json(
        self,
        table: Table,
        columns: tuple[str, ...],
        rows: Sequence[Sequence[Any]],
        documents: tuple[str, ...],
    ) -> bool:
        """Insert rows whose ``documents`` columns hold JSON documents in one ``INSERT … SELECT`` that
        writes each document as SQLite renders it (``CAST(value -> i AS BLOB)``: its orjson bytes, see
        :data:`DOCUMENTS_IN_SQL`); False (nothing done) when the rows cannot go that way."""
        try:
            payload = orjson.dumps(rows)
        except (orjson.JSONEncodeError, TypeError):
            return False
        if b"\\u0000" in payload:
            return False
        self.execute(self._json_insert(table, columns, documents), (payload,))
        return True

    def _json_insert(self, table: Table, columns: tuple[str, ...], documents: tuple[str, ...] = ()) -> str:
        """``INSERT … SELECT`` from one JSON array of rows (SQLite's ``json_each``)."""
        key = (table.name, ("json", *columns, "documents", *documents))
        sql = self._sql.get(key)
        if sql is None:
            names = ", ".join(columns)
            values = ", ".join(
                f"CAST(value -> {i} AS BLOB)" if name in documents else f"value ->> {i}"
                for i, name in enumerate(columns)
            )
            sql = f"INSERT INTO {table.name} ({names}) SELECT {values} FROM json_each(?)"
            self._sql[key] = sql
        return sql

    def known(self, keys: Sequence[tuple[str, str]]) -> set[int]:
        """The positions in ``keys`` ((event_hash, event_id) pairs) of those whose hash or eventID is
        already in ``event_keys``.

        The keys travel as one JSON text (far cheaper to send and read than an array parameter), and
        each is an index probe, whatever the planner's statistics say: the table grows inside the
        capture's transaction while the planner may still believe it empty, and would otherwise scan it
        whole for every chunk. (Correlated EXISTS joined by OR stay per-row probes on both backends.)
        """
        if not keys:
            return set()
        payload = orjson.dumps(keys).decode()
        if self.postgres:
            sql = (
                "SELECT v.n - 1 FROM json_array_elements(%s::json) WITH ORDINALITY AS v(p, n)"
                " WHERE EXISTS (SELECT 1 FROM event_keys k WHERE k.event_hash = v.p ->> 0)"
                " OR EXISTS (SELECT 1 FROM event_keys k WHERE k.event_id = v.p ->> 1)"
            )
        else:
            sql = (
                "SELECT j.key FROM json_each(?) AS j"
                " WHERE EXISTS (SELECT 1 FROM event_keys k WHERE k.event_hash = json_extract(j.value, '$[0]'))"
                " OR EXISTS (SELECT 1 FROM event_keys k WHERE k.event_id = json_extract(j.value, '$[1]'))"
            )
        return {int(row[0]) for row in self.execute(sql, (payload,))}

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one driver-level statement (``?`` placeholders on SQLite, ``%s`` on PostgreSQL)."""
        cursor = self.driver.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description is not None else []
        finally:
            cursor.close()
