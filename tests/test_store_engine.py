"""Store URLs, migrations and the PostgreSQL partitions of ``events``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from conftest import fresh_schema
from packtrail.store import Store, StoreError, Viewer, open_store
from packtrail.store.engine import MIGRATIONS, VERSION_TABLE, store_url
from packtrail.store.partitions import partition_for


def doc(*times: str) -> bytes:
    events = [
        {
            "type": "ObjectEvent",
            "eventTime": when,
            "eventTimeZoneOffset": "+00:00",
            "epcList": [f"urn:epc:id:sgtin:4012345.011111.{2000 + i}"],
            "action": "OBSERVE",
        }
        for i, when in enumerate(times)
    ]
    return orjson.dumps(
        {
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2024-03-01T11:00:00Z",
            "epcisBody": {"eventList": events},
        }
    )


def test_bare_paths_and_default_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert store_url(str(tmp_path / "a.db")) == f"sqlite:///{tmp_path / 'a.db'}"
    assert store_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(StoreError, match="unknown scheme"):
        store_url("mysql://u@h/db")
    with pytest.raises(StoreError, match="does not exist"):
        open_store(str(tmp_path / "missing" / "a.db"))
    monkeypatch.chdir(tmp_path)
    with open_store() as store:
        assert store.dialect == "sqlite"
        assert store.capture(doc("2024-03-01T10:00:00Z")).captured == 1
    assert (tmp_path / "packtrail.db").exists()


def test_migration_version_is_recorded(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    with open_store(str(tmp_path / "v.db")) as store, store.engine.connect() as connection:
        versions = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    assert len(heads) == 1 and versions == heads
    assert "0001" in {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}


def test_month_bounds() -> None:
    name, low, high = partition_for(1_709_251_200_000_000) or ("", 0, 0)  # 2024-03-01T00:00:00Z
    assert (name, low) == ("events_y2024m03", 1_709_251_200_000_000)
    assert partition_for(low - 1) == ("events_y2024m02", 1_706_745_600_000_000, low)
    assert partition_for(high - 1) is not None and partition_for(high - 1)[0] == "events_y2024m03"  # type: ignore[index]
    assert partition_for(4_102_444_800_000_000) is None  # 2100


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    with fresh_schema(postgres_url) as url:
        yield url


def _where(store: Store) -> list[tuple[Any, ...]]:
    with store.engine.connect() as connection:
        return list(
            connection.execute(
                sa.text("SELECT tableoid::regclass::text, event_time_us FROM events ORDER BY event_pk")
            ).all()
        )


def test_events_land_in_monthly_partitions(pg_url: str) -> None:
    with open_store(pg_url) as store:
        times = (
            "2024-01-31T23:30:00-01:00",  # February in UTC
            "2024-03-15T10:00:00Z",
            "2024-12-31T23:59:59.999Z",
            "1990-06-01T00:00:00Z",  # before 2000: the default partition
            "2024-03-16T10:00:00Z",
        )
        result = store.capture(doc(*times))
        assert result.captured == 5
        placed = [name for name, _ in _where(store)]
        assert placed == [
            "events_y2024m02",
            "events_y2024m03",
            "events_y2024m12",
            "events_default",
            "events_y2024m03",
        ]
        assert sorted(store.distinct_values("eventTypes", Viewer.admin())[0]) == ["ObjectEvent"]
        with store.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one() == 5
    with open_store(pg_url) as again:  # a new store object knows nothing: creating again is harmless
        assert again.capture(doc("2024-03-20T10:00:00Z", "2024-04-01T00:00:00Z")).captured == 2
        assert [name for name, _ in _where(again)][-2:] == ["events_y2024m03", "events_y2024m04"]


def test_text_compares_bytewise_on_postgres(pg_url: str) -> None:
    """COLLATE "C" on PostgreSQL, like SQLite's BINARY: 'Z' sorts before 'a' on both."""
    with open_store(pg_url) as store, store.engine.connect() as connection:
        collations: dict[str, str] = dict(
            connection.execute(
                sa.text(
                    "SELECT a.attname, c.collname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation"
                    " WHERE a.attrelid = 'event_epcs'::regclass AND a.attnum > 0"
                )
            ).all()
        )
    assert collations == {"epc": "C"}


def test_concurrent_openers_migrate_once(pg_url: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            open_store(pg_url).close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with open_store(pg_url) as store, store.engine.connect() as connection:
        assert connection.execute(sa.text(f"SELECT count(*) FROM {VERSION_TABLE}")).scalar_one() == 1
