"""Capture with its checking step in worker processes (packtrail.store.capture_workers) answers exactly
as capture in one process: the same events stored with the same index rows, the same duplicates, the
same problems in the same order — for valid documents, documents with invalid, repeated and non-object
events, with ``rollback`` and ``proceed``, on both backends. A worker pool that breaks mid-way leaves the
capture to finish in its own process.

The thresholds are lowered here (slices of 64 events from 200 events on), so small documents take the
worker path and cross many slice boundaries.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from packtrail.store import Store, capture_workers, open_store, schema
from packtrail.store import capture as capture_module
from test_store_contract import document, event, invalid_event

COLUMNS = ("event_id", "event_hash", "biz_step", "event_time_us", "dist_key", "document")


@pytest.fixture(autouse=True)
def small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capture_module, "PARALLEL_MIN_EVENTS", 200)
    monkeypatch.setattr(capture_module, "SLICE_EVENTS", 64)
    monkeypatch.setenv(capture_workers.WORKERS_ENV, "2")


def _events(count: int) -> list[Any]:
    """Valid events with, here and there, a repeat (same eventID; same content, no eventID), an
    invalid event, an error declaration reusing an eventID."""
    out: list[Any] = []
    for n in range(count):
        out.append(event(n, eventID=f"urn:uuid:00000000-0000-4000-8000-{n:012d}"))
        if n % 97 == 5:
            out.append(event(n, eventID=f"urn:uuid:00000000-0000-4000-8000-{n:012d}"))  # same eventID
        if n % 89 == 7:
            out.append(event(100_000 + n))  # no eventID: its hash is its key...
            out.append(event(100_000 + n))  # ...so this one repeats it
    return out


def _with_problems(events: list[Any]) -> list[Any]:
    out = list(events)
    out.insert(150, invalid_event(150))
    out.insert(333, event(333, action="JUMP"))  # the schema refuses it
    declared = dict(event(3, eventID="urn:uuid:00000000-0000-4000-8000-000000000003"))
    declared["errorDeclaration"] = {"declarationTime": "2024-03-02T10:00:00Z", "reason": "incorrect_data"}
    out.insert(400, declared)
    return out


def _capture(url: str, body: bytes, behaviour: str, workers: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(capture_workers.WORKERS_ENV, workers)
    with open_store(url) as store:
        result = store.capture(body, behaviour=behaviour)  # type: ignore[arg-type]
        return result, _stored(store)


def _stored(store: Store) -> list[Any]:
    """Every stored event (without its recordTime) with its index rows, in event_pk order."""
    out: list[Any] = []
    with store.engine.connect() as connection:
        events = connection.execute(
            sa.select(*(schema.events.c[c] for c in COLUMNS), schema.events.c.event_pk).order_by(
                schema.events.c.event_pk
            )
        ).all()
        first = events[0].event_pk if events else 0
        for table in (schema.event_epcs, schema.event_epc_classes, schema.event_keys):
            rows = connection.execute(sa.select(table)).mappings().all()
            out.append(sorted(repr({**dict(r), "event_pk": r["event_pk"] - first}) for r in rows))
    for row in events:
        stored = orjson.loads(row.document)
        stored.pop("recordTime")
        out.append((*row[:-2], stored))
    return out


@pytest.fixture
def two_urls(
    store_url: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[str, str]]:
    """Two empty stores of the same backend: one captures with workers, one without."""
    if store_url.startswith("sqlite"):
        yield store_url, f"sqlite:///{tmp_path_factory.mktemp('serial') / 'packtrail.db'}"
        return
    from conftest import fresh_schema

    with fresh_schema(request.getfixturevalue("postgres_url")) as other:
        yield store_url, other


@pytest.mark.parametrize(
    ("problems", "behaviour"),
    [(False, "rollback"), (True, "rollback"), (True, "proceed")],
    ids=["valid", "invalid-rollback", "invalid-proceed"],
)
def test_workers_answer_as_one_process(
    two_urls: tuple[str, str], problems: bool, behaviour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = _events(700)
    body = document(*(_with_problems(events) if problems else events))
    parallel, parallel_rows = _capture(two_urls[0], body, behaviour, "2", monkeypatch)
    serial, serial_rows = _capture(two_urls[1], body, behaviour, "0", monkeypatch)
    assert (parallel.captured, parallel.duplicates, parallel.success) == (
        serial.captured,
        serial.duplicates,
        serial.success,
    )
    assert [p.to_dict() for p in parallel.errors] == [p.to_dict() for p in serial.errors]
    assert parallel_rows == serial_rows
    assert serial.duplicates == 8 + 8  # the error declaration is no repeat of the event it declares
    if problems:
        assert not serial.success and len(serial.errors) == 2
        assert serial.captured == (0 if behaviour == "rollback" else 700 + 8 + 1)
    else:
        assert serial.success and serial.captured == 700 + 8


def test_a_slice_answer_is_one_marshal_text_with_its_issues_beside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slice's answers cross as one ``marshal`` text, the issues of the events that have some kept
    apart by position; unpacked they are exactly the answers as checked. A value ``marshal`` does not
    write sends the list as it is."""
    bad_schema = dict(event(2))
    bad_schema["action"] = "JUMP"
    payload = orjson.dumps([event(0), invalid_event(1), 7, bad_schema, event(4)])
    packed, issues = capture_workers.check_slice(payload, {}, frozenset(), "/epcisBody/eventList", 0)
    assert isinstance(packed, bytes)
    assert sorted(issues) == [1, 2, 3] and all(issues.values())
    unpacked = capture_workers.answers_of((packed, issues))
    monkeypatch.setattr(capture_workers, "_pack", lambda answers: (answers, {}))
    checked = capture_workers.answers_of(
        capture_workers.check_slice(payload, {}, frozenset(), "/epcisBody/eventList", 0)
    )
    assert unpacked == checked
    assert [a[2] != () for a in checked] == [False, True, True, True, False]

    class Text(str):
        pass

    odd = [(capture_workers.CHECKED, Text("ni:///x"), (), 0, 0, None)]
    assert capture_workers._pack(odd) == (odd, {})  # type: ignore[arg-type]
    assert capture_workers.answers_of((odd, {})) == odd  # type: ignore[arg-type]


def test_a_broken_pool_leaves_the_capture_to_this_process(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers are killed before the capture: it checks the events itself and stores them all;
    the next capture starts a new pool."""
    url = f"sqlite:///{tmp_path_factory.mktemp('broken') / 'packtrail.db'}"
    executor = capture_workers.pool()
    assert executor is not None
    capture_workers.prepare()
    processes = list(executor._processes.values())  # the test breaks the pool on purpose
    for process in processes:
        with contextlib.suppress(ProcessLookupError):  # the pool may have ended the other one already
            os.kill(process.pid, signal.SIGKILL)
    for process in processes:
        process.join()
    with open_store(url) as store:
        result = store.capture(document(*_events(300)))
        assert result.success and result.captured == 300 + 4
        assert capture_workers.pool() is not executor  # a new pool for the next capture
        again = store.capture(document(*(event(5000 + n) for n in range(300))))
        assert again.success and again.captured == 300


def test_workers_settle_their_garbage_collector() -> None:
    """A worker collects its youngest generation every 100,000 allocations, not 700, and never scans
    what its imports left (frozen): a slice's answers are tens of thousands of containers."""
    executor = capture_workers.pool()
    assert executor is not None
    thresholds = [executor.submit(gc.get_threshold) for _ in range(4)]
    frozen = [executor.submit(gc.get_freeze_count) for _ in range(4)]
    assert {f.result() for f in thresholds} == {capture_workers.GC_THRESHOLDS}
    assert min(f.result() for f in frozen) > 10_000


def test_a_slice_is_checked_with_the_collector_off_and_leaves_it_as_it_was() -> None:
    """No collection runs while a slice is checked, however low the thresholds; after it, the collector
    is on again if it was on (and stays off if it was off)."""
    payload = orjson.dumps([event(n) for n in range(400)])
    passes: list[str] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            passes.append(phase)

    thresholds = gc.get_threshold()
    gc.callbacks.append(seen)
    try:
        gc.set_threshold(10)
        capture_workers.check_slice(payload, {}, frozenset(), "/epcisBody/eventList", 0)
        assert passes == [] and gc.isenabled()
        gc.disable()
        capture_workers.check_slice(payload, {}, frozenset(), "/epcisBody/eventList", 0)
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.callbacks.remove(seen)
        gc.set_threshold(*thresholds)


@pytest.mark.skipif(not hasattr(os, "nice"), reason="no process priorities (os.nice) on this system")
def test_workers_yield_the_cores_to_the_capturing_process() -> None:
    """The workers run at a lower priority than the capturing process (its writer thread is capture's
    critical path): their niceness is :data:`capture_workers.WORKER_NICENESS` above its own."""
    executor = capture_workers.pool()
    assert executor is not None
    own = os.nice(0)
    niceness = {executor.submit(os.nice, 0).result() for _ in range(4)}
    assert niceness == {min(19, own + capture_workers.WORKER_NICENESS)}


def test_worker_count_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(capture_workers.WORKERS_ENV, "0")
    assert capture_workers.worker_count() == 0 and capture_workers.pool() is None
    monkeypatch.delenv(capture_workers.WORKERS_ENV)
    assert capture_workers.worker_count() == (os.cpu_count() or 1)
    monkeypatch.setenv(capture_workers.WORKERS_ENV, "two")
    with pytest.raises(ValueError, match="PACKTRAIL_CAPTURE_WORKERS: expected a whole number"):
        capture_workers.worker_count()


def test_workers_end_with_a_killed_capturing_process() -> None:
    """A process that started the workers is killed (``kill -9``, or uvicorn's re-raised SIGTERM): its
    workers and their fork server end too, so nothing keeps its output pipe open — ``communicate``
    returns only when every process holding the pipe has ended."""
    code = (
        "import os, signal\n"
        "from packtrail.store import capture_workers\n"
        "capture_workers.prepare()\n"
        "print(os.getpid(), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, capture_workers.WORKERS_ENV: "2"}
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env)
    try:
        out, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the workers outlived the process that started them")
    assert process.returncode == -signal.SIGKILL and out.strip().isdigit()
