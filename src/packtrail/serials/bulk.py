"""Bulk SQL of serial allocation, below SQLAlchemy: a million rows per statement on either backend.

Each function runs on the DBAPI connection of a SQLAlchemy :class:`~sqlalchemy.engine.Connection`
whose transaction is open, so the rows commit or roll back with the allocation.

- SQLite: one ``INSERT … SELECT … FROM json_each(?) … ON CONFLICT DO NOTHING``: the candidates travel
  as one JSON array and SQLite loops over them in C; ``rowcount`` says how many were new.
- PostgreSQL: one text ``COPY`` of all rows, written as a single string (serials are GS1 character set
  82, which has no tab, newline or backslash, so nothing needs escaping), inside a savepoint. When a
  candidate already exists the ``COPY`` fails as a whole; the savepoint is rolled back and the
  candidates go through a temporary table: the taken ones are deleted from it, the rest inserted.

The candidates come sorted: B-tree inserts in key order touch each page once (on SQLite a million
sorted rows insert about five times faster than the same rows in random order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import orjson
from sqlalchemy.engine import Connection

from packtrail.serials.tables import SerialStatus

__all__ = ["existing", "insert_serials", "mark_returned", "serials_of", "statuses"]

_ALLOCATED: Final = int(SerialStatus.ALLOCATED)
_RETURNED: Final = int(SerialStatus.RETURNED)


def _postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def _driver(connection: Connection) -> Any:
    return connection.connection.driver_connection


def insert_serials(
    connection: Connection, gtin: str, pool_id: int, allocation_id: int, ordered: Sequence[str]
) -> set[str]:
    """Insert ``ordered`` (sorted, distinct) as serials of ``gtin`` issued in ``allocation_id``.

    Returns the candidates that were not inserted because the GTIN already has them (issued earlier,
    in any pool or allocation)."""
    if not ordered:
        return set()
    if _postgres(connection):
        inserted, taken = _insert_postgres(_driver(connection), gtin, pool_id, allocation_id, ordered)
    else:
        inserted, taken = _insert_sqlite(_driver(connection), gtin, pool_id, allocation_id, ordered)
    if inserted != len(ordered) - len(taken):
        raise RuntimeError(
            f"serials: inserted {inserted} of {len(ordered)} candidates with {len(taken)} taken; another "
            "writer changed the GTIN's serials during the allocation"
        )
    return taken


def _insert_sqlite(
    driver: Any, gtin: str, pool_id: int, allocation_id: int, ordered: Sequence[str]
) -> tuple[int, set[str]]:
    payload = orjson.dumps(list(ordered)).decode()
    cursor = driver.cursor()
    try:
        cursor.execute(
            "INSERT INTO serials (gtin, serial, pool_id, status, allocation_id) "
            "SELECT ?, value, ?, ?, ? FROM json_each(?) WHERE true ON CONFLICT DO NOTHING",
            (gtin, pool_id, _ALLOCATED, allocation_id, payload),
        )
        inserted = int(cursor.rowcount)
        if inserted == len(ordered):
            return inserted, set()
        cursor.execute(
            "SELECT serial FROM serials WHERE gtin = ? AND serial IN (SELECT value FROM json_each(?)) "
            "AND allocation_id <> ?",
            (gtin, payload, allocation_id),
        )
        return inserted, {row[0] for row in cursor.fetchall()}
    finally:
        cursor.close()


def _copy_text(gtin: str, pool_id: int, allocation_id: int, ordered: Sequence[str]) -> str:
    """The rows of a text ``COPY serials (gtin, serial, pool_id, status, allocation_id)``, in one join."""
    tail = f"\t{pool_id}\t{_ALLOCATED}\t{allocation_id}\n"
    return f"{gtin}\t" + (tail + f"{gtin}\t").join(ordered) + tail


def _insert_postgres(
    driver: Any, gtin: str, pool_id: int, allocation_id: int, ordered: Sequence[str]
) -> tuple[int, set[str]]:
    import psycopg

    columns = "serials (gtin, serial, pool_id, status, allocation_id)"
    with driver.cursor() as cursor:
        cursor.execute("SAVEPOINT packtrail_serials_copy")
        try:
            with cursor.copy(f"COPY {columns} FROM STDIN") as copy:
                copy.write(_copy_text(gtin, pool_id, allocation_id, ordered))
        except psycopg.errors.UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT packtrail_serials_copy")
        else:
            cursor.execute("RELEASE SAVEPOINT packtrail_serials_copy")
            return len(ordered), set()
        # Some candidates exist already: stage them, drop the taken ones, insert the rest.
        cursor.execute(
            'CREATE TEMPORARY TABLE IF NOT EXISTS packtrail_serial_candidates (serial text COLLATE "C") '
            "ON COMMIT DROP"
        )
        cursor.execute("TRUNCATE packtrail_serial_candidates")
        with cursor.copy("COPY packtrail_serial_candidates (serial) FROM STDIN") as copy:
            copy.write("\n".join(ordered) + "\n")
        cursor.execute(
            "DELETE FROM packtrail_serial_candidates c USING serials s "
            "WHERE s.gtin = %s AND s.serial = c.serial RETURNING c.serial",
            (gtin,),
        )
        taken = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            f"INSERT INTO {columns} SELECT %s, serial, %s, %s, %s FROM packtrail_serial_candidates "
            "ON CONFLICT DO NOTHING",
            (gtin, pool_id, _ALLOCATED, allocation_id),
        )
        return int(cursor.rowcount), taken


def existing(connection: Connection, gtin: str, serials: Sequence[str]) -> set[str]:
    """Which of ``serials`` the GTIN has already (in any allocation, this transaction's included)."""
    if not serials:
        return set()
    if _postgres(connection):
        with _driver(connection).cursor() as cursor:
            cursor.execute(
                "SELECT s.serial FROM serials s JOIN unnest(%s::text[]) AS v(serial) "
                "ON s.gtin = %s AND s.serial = v.serial",
                (list(serials), gtin),
            )
            return {row[0] for row in cursor.fetchall()}
    cursor = _driver(connection).cursor()
    try:
        cursor.execute(
            "SELECT serial FROM serials WHERE gtin = ? AND serial IN (SELECT value FROM json_each(?))",
            (gtin, orjson.dumps(list(serials)).decode()),
        )
        return {row[0] for row in cursor.fetchall()}
    finally:
        cursor.close()


def statuses(connection: Connection, gtin: str, allocation_id: int, serials: Sequence[str]) -> dict[str, int]:
    """The status of each of ``serials`` that was issued in ``allocation_id`` (others are left out)."""
    if not serials:
        return {}
    if _postgres(connection):
        with _driver(connection).cursor() as cursor:
            cursor.execute(
                "SELECT s.serial, s.status FROM serials s JOIN unnest(%s::text[]) AS v(serial) "
                "ON s.gtin = %s AND s.serial = v.serial WHERE s.allocation_id = %s",
                (list(serials), gtin, allocation_id),
            )
            return {row[0]: int(row[1]) for row in cursor.fetchall()}
    cursor = _driver(connection).cursor()
    try:
        cursor.execute(
            "SELECT serial, status FROM serials WHERE gtin = ? AND serial IN (SELECT value FROM json_each(?)) "
            "AND allocation_id = ?",
            (gtin, orjson.dumps(list(serials)).decode(), allocation_id),
        )
        return {row[0]: int(row[1]) for row in cursor.fetchall()}
    finally:
        cursor.close()


def mark_returned(connection: Connection, gtin: str, allocation_id: int, serials: Sequence[str]) -> int:
    """Set ``serials`` of ``allocation_id`` that are still allocated to returned; how many changed."""
    if not serials:
        return 0
    if _postgres(connection):
        with _driver(connection).cursor() as cursor:
            cursor.execute(
                "UPDATE serials s SET status = %s FROM unnest(%s::text[]) AS v(serial) "
                "WHERE s.gtin = %s AND s.serial = v.serial AND s.allocation_id = %s AND s.status = %s",
                (_RETURNED, list(serials), gtin, allocation_id, _ALLOCATED),
            )
            return int(cursor.rowcount)
    cursor = _driver(connection).cursor()
    try:
        cursor.execute(
            "UPDATE serials SET status = ? WHERE gtin = ? AND serial IN (SELECT value FROM json_each(?)) "
            "AND allocation_id = ? AND status = ?",
            (_RETURNED, gtin, orjson.dumps(list(serials)).decode(), allocation_id, _ALLOCATED),
        )
        return int(cursor.rowcount)
    finally:
        cursor.close()


def serials_of(connection: Connection, gtin: str, allocation_id: int) -> list[str]:
    """Every serial issued in ``allocation_id`` (of ``gtin``), in serial order."""
    driver = _driver(connection)
    if _postgres(connection):
        with driver.cursor() as cursor:
            cursor.execute(
                "SELECT serial FROM serials WHERE gtin = %s AND allocation_id = %s ORDER BY serial",
                (gtin, allocation_id),
            )
            return [row[0] for row in cursor.fetchall()]
    cursor = driver.cursor()
    try:
        cursor.execute(
            "SELECT serial FROM serials WHERE gtin = ? AND allocation_id = ? ORDER BY serial",
            (gtin, allocation_id),
        )
        return [row[0] for row in cursor.fetchall()]
    finally:
        cursor.close()
