"""An FMD node on SQLite checkpoints its write-ahead log in a thread of its own, never inside a request's
commit, and keeps the log bounded under a steady stream of requests (``packtrail.fmd.storage``)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from packtrail.fmd import storage as fmd_storage
from packtrail.fmd.storage import driver, open_storage


def test_requests_never_checkpoint_and_a_long_log_is_restarted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fmd_storage, "CHECKPOINT_TRANSACTIONS", 3)
    monkeypatch.setattr(fmd_storage, "WAL_RESTART_BYTES", 1)  # any log is "long"
    storage = open_storage(f"sqlite:///{tmp_path / 'de.db'}", role="national", market="DE")
    try:
        with storage.write() as conn:
            assert driver(conn).execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        checkpointer = storage._checkpointer
        assert checkpointer is not None
        deadline = time.monotonic() + 10
        while checkpointer.restarts == 0 and time.monotonic() < deadline:
            with storage.write() as conn:
                conn.execute(sa.text("UPDATE fmd_node SET value = value"))
            time.sleep(0.01)
        assert checkpointer.restarts >= 1, "the passive checkpoints ran and the long log was restarted"
    finally:
        storage.close()


def test_a_postgresql_node_has_no_checkpointer(store_url: str) -> None:
    storage = open_storage(store_url, role="national", market="DE")
    try:
        assert (storage._checkpointer is None) == store_url.startswith("postgresql")
    finally:
        storage.close()
