"""The store gathers the planner's statistics itself as it grows (``packtrail.store.statistics``), on
SQLite and PostgreSQL: after enough captured events, and on opening a large store that has none."""

from __future__ import annotations

import time

import pytest

from packtrail.store import open_store
from packtrail.store import statistics as stats
from packtrail.store.statistics import has_statistics
from test_api_support import document, object_event, sgtin


def _wait_for_statistics(engine: object, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if has_statistics(engine):  # type: ignore[arg-type]
            return True
        time.sleep(0.05)
    return False


def _events(first: int, count: int) -> bytes:
    return document([object_event(sgtin("4012345", "011111", i)) for i in range(first, first + count)])


def test_statistics_are_gathered_once_enough_events_are_captured(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stats, "MIN_EVENTS", 30)
    with open_store(store_url) as store:
        store.capture(_events(0, 20))
        time.sleep(0.2)
        assert not has_statistics(store.engine), "20 events are below the threshold: nothing gathered yet"
        store.capture(_events(20, 20))
        assert _wait_for_statistics(store.engine)


def test_opening_a_large_store_without_statistics_gathers_them(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(store_url) as store:  # the real threshold: 40 events gather nothing
        store.capture(_events(0, 40))
        time.sleep(0.2)
        assert not has_statistics(store.engine)
    monkeypatch.setattr(stats, "MIN_EVENTS", 30)
    with open_store(store_url) as store:  # now a "large" store without statistics: gathered on open
        assert _wait_for_statistics(store.engine)


def test_the_trigger_follows_the_store_size() -> None:
    keeper = stats.StatisticsKeeper(None)
    keeper.base = 10_000_000
    assert not keeper.due(1_000_000)  # 10% growth: not yet
    assert keeper.due(1_000_001)  # 20%
    small = stats.StatisticsKeeper(None)
    small.base = 0
    assert not small.due(stats.MIN_EVENTS - 1)
    assert small.due(1)
