"""The served app settles the garbage collector once it has started (see :mod:`packtrail.api.collector`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from packtrail.api.app import DB_ENVIRONMENT_VARIABLE, app_from_environment
from packtrail.api.collector import GC_THRESHOLDS


@pytest.fixture
def collector_restored() -> Iterator[None]:
    """Whatever a test does to the collector, the next one starts from what it was."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_the_served_app_freezes_what_lives_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collector_restored: None
) -> None:
    monkeypatch.setenv(DB_ENVIRONMENT_VARIABLE, f"sqlite:///{tmp_path / 'packtrail.db'}")
    monkeypatch.setenv("PACKTRAIL_DELIVER_SUBSCRIPTIONS", "0")
    gc.unfreeze()
    app = app_from_environment()
    assert gc.get_freeze_count() == 0
    with TestClient(app) as client:  # runs the lifespan
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 10_000  # modules, the app, the tables: out of the collector's sight
        assert client.options("/epcis/events").status_code in (200, 204)
