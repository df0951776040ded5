"""SQLite's bulk inserts: many rows a statement (``packtrail.store.bulk``), every row stored once whatever
the statement size, and the batches that make them up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from packtrail.store import bulk, open_store
from test_store_contract import document, event, row_counts


@given(count=st.integers(0, 5000), per=st.integers(1, 600))
def test_values_batches_cover_every_row_once_in_few_sizes(count: int, per: int) -> None:
    batches = list(bulk.values_batches(count, per))
    assert [start for start, _ in batches] == [
        sum(size for _, size in batches[:i]) for i in range(len(batches))
    ]
    assert sum(size for _, size in batches) == count
    sizes = [size for _, size in batches]
    assert all(size == per or (size < per and size & (size - 1) == 0) for size in sizes)
    assert sizes == sorted(sizes, reverse=True)  # full statements first, then the powers of two, each once
    assert len(set(sizes[sizes.count(per) :])) == len(sizes) - sizes.count(per)


def test_rows_stored_once_whatever_the_statement_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 50 parameters a statement (two events, twelve EPC rows, sixteen keys each) a capture stores
    exactly the rows it stores with SQLite's default limit, finds the same duplicates (the key claim
    counts the rows its statements changed) and numbers the events without gaps."""
    looked_up: list[int] = []
    known = bulk.BulkWriter.known

    def counting(self: bulk.BulkWriter, keys: Any) -> set[int]:
        looked_up.append(len(keys))
        return known(self, keys)

    monkeypatch.setattr(bulk.BulkWriter, "known", counting)
    events = [event(i) for i in range(700)]
    repeated = document(events[3], events[350], events[699])
    whole = document(*events)
    answers = []
    for name, limit in (("default", bulk.MAX_VARIABLES), ("small", 50)):
        monkeypatch.setattr(bulk, "MAX_VARIABLES", limit)
        with open_store(f"sqlite:///{tmp_path / name}.db") as store:
            assert store.capture(repeated).captured == 3
            result = store.capture(whole)
            looked_up.clear()
            fresh = store.capture(document(*(event(1000 + i) for i in range(300))))
            assert (fresh.captured, looked_up) == (300, [])  # all new: the claim's inserts said so
            answers.append(((result.captured, result.duplicates, result.last_event_pk), row_counts(store)))
    assert answers[0] == answers[1]
    assert answers[0][0] == (697, 3, 700)
