"""The bulk writer's SQLite paths store exactly what they are given: one ``INSERT … SELECT … FROM
json_each(?)`` for large batches of integer and text rows, ``executemany`` otherwise (floats, blobs, a
value JSON cannot carry). Values, types and NULLs read back the same on both paths."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packtrail.store import bulk
from packtrail.store.bulk import JSON_ROWS_MIN, BulkWriter

METADATA = sa.MetaData()
KEYS = sa.Table(
    "keys_t",
    METADATA,
    sa.Column("n", sa.BigInteger, nullable=False),
    sa.Column("role", sa.SmallInteger),
    sa.Column("value", sa.Text),
)
NUMBERS = sa.Table("numbers_t", METADATA, sa.Column("n", sa.BigInteger), sa.Column("x", sa.Float))


def _write(path: Path, table: sa.Table, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(f"sqlite:///{path}")
    METADATA.create_all(engine)
    with engine.begin() as connection:
        connection.execute(table.delete())
        BulkWriter(connection).insert(table, tuple(c.name for c in table.columns), rows)
    with engine.connect() as connection:
        names = ", ".join(f"{c.name}, typeof({c.name})" for c in table.columns)
        stored = connection.exec_driver_sql(f"SELECT {names} FROM {table.name} ORDER BY rowid").all()
    engine.dispose()
    return [tuple(row) for row in stored]


def _expected(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    def kind(value: Any) -> str:
        return {type(None): "null", int: "integer", str: "text", float: "real"}[type(value)]

    return [tuple(part for value in row for part in (value, kind(value))) for row in rows]


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(
        st.tuples(st.integers(-(2**63), 2**63 - 1), st.none() | st.integers(0, 5), st.none() | TEXT),
        min_size=1,
        max_size=40,
    )
)
def test_json_rows_read_back_exactly(tmp_path: Path, values: list[tuple[Any, ...]]) -> None:
    rows = (values * (JSON_ROWS_MIN // len(values) + 1))[
        : JSON_ROWS_MIN + 3
    ]  # large enough for the JSON path
    assert _write(tmp_path / "k.db", KEYS, rows) == _expected(rows)


def test_the_json_path_is_taken_for_large_batches_of_integers_and_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not bulk.JSON_ARROWS:
        pytest.skip(f"SQLite {sqlite3.sqlite_version} has no ->> (3.38): executemany only")
    statements: list[str] = []
    original = BulkWriter.execute

    def execute(self: BulkWriter, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        statements.append(sql)
        return original(self, sql, params)

    monkeypatch.setattr(BulkWriter, "execute", execute)
    rows = [(n, 1, f"urn:epc:id:sgtin:4012345.011111.{n}") for n in range(JSON_ROWS_MIN)]
    assert _write(tmp_path / "j.db", KEYS, rows) == _expected(rows)
    assert any("json_each" in s for s in statements)
    statements.clear()
    few = rows[: JSON_ROWS_MIN - 1]
    assert _write(tmp_path / "j.db", KEYS, few) == _expected(few)
    assert not statements  # executemany


def test_values_json_cannot_carry_go_row_by_row(tmp_path: Path) -> None:
    huge = [(2**63 - 1, 1, "a")] * JSON_ROWS_MIN + [(2**63 - 1, 2, "b")]
    assert _write(tmp_path / "h.db", KEYS, huge) == _expected(huge)
    nul = [(n, 1, "a\x00b" if n == 7 else "c") for n in range(JSON_ROWS_MIN + 1)]  # JSON text ends at NUL
    assert _write(tmp_path / "n.db", KEYS, nul) == _expected(nul)
    floats = [(n, float("nan") if n == 3 else n / 3) for n in range(JSON_ROWS_MIN + 1)]
    stored = _write(tmp_path / "f.db", NUMBERS, floats)
    assert stored[3][2] is None and stored[4][2] == pytest.approx(4 / 3)  # NaN: SQLite's NULL, not JSON's
