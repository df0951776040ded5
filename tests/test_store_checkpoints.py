"""A SQLite store's write-ahead log stays bounded while captures keep coming
(:class:`packtrail.store.engine.Checkpointer`): a passive checkpoint that finds the log longer than
``WAL_RESTART_BYTES`` has the next capture checkpoint it in full, and the log starts afresh, cut back to
``WAL_KEPT_BYTES`` on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from packtrail.store import engine, open_store
from test_api_support import document, object_event, sgtin


def _events(first: int, count: int) -> bytes:
    return document([object_event(sgtin("4012345", "011111", i)) for i in range(first, first + count)])


def test_a_long_log_is_checkpointed_in_full_and_started_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "CHECKPOINT_EVENTS", 10**9)  # no passive checkpoint unless asked
    monkeypatch.setattr(engine, "WAL_RESTART_BYTES", 64 * 1024)
    monkeypatch.setattr(engine, "WAL_KEPT_BYTES", 0)
    wal = tmp_path / "store.db-wal"
    with open_store(f"sqlite:///{tmp_path}/store.db") as store:
        checkpointer = store._checkpointer
        assert checkpointer is not None
        for first in range(0, 400, 40):
            store.capture(_events(first, 40))
        grown = wal.stat().st_size
        assert grown > 64 * 1024, "the log should have grown past the restart size"
        checkpointer.checkpoint()  # passive: finds the log too long
        assert checkpointer.restarts == 0
        store.capture(_events(400, 5))  # the capture after it checkpoints in full
        assert checkpointer.restarts == 1
        store.capture(_events(405, 5))
        assert wal.stat().st_size < grown / 4, "the log was started afresh and cut back"
        store.capture(_events(410, 5))
        assert checkpointer.restarts == 1, "a short log is not restarted again"


def test_a_short_log_is_left_to_the_passive_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "CHECKPOINT_EVENTS", 10**9)
    with open_store(f"sqlite:///{tmp_path}/store.db") as store:
        checkpointer = store._checkpointer
        assert checkpointer is not None
        store.capture(_events(0, 40))
        checkpointer.checkpoint()
        store.capture(_events(40, 5))
        assert checkpointer.restarts == 0
