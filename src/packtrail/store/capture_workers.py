"""Capture's checking step in worker processes, so that a large document uses every core.

Capture checks each event before it stores it: the CBV 2.0 Event Hash ID (for idempotency), GS1's
JSON Schema and the EPCIS/CBV rules, and the index rows (:mod:`packtrail.store.capture` steps 2–4).
That is pure Python, about as much CPU as writing the event, and one interpreter runs one thread of
Python at a time: in one process the checking and the writing take turns. A large JSON-LD document's
events are therefore handed, a slice at a time, to a pool of worker processes (:func:`check_slice`),
while the capturing process keeps what must stay in document order — the events repeated inside the
document, the counts, the problems — and writes.

What crosses between processes: each slice's events as one JSON text (``orjson``: a fraction of the
checking's cost), and back, for every event, its hash, the issues found, and its index rows as a plain
tuple (:class:`~packtrail.store.index_rows.EventRows` fields in order). The answers are exactly those of
the one-process checker (tests/test_store_capture_workers.py compares them, problems included). They
travel as one :mod:`marshal` text (:data:`SliceAnswer`): plain tuples, lists, strings and numbers are all
it holds, and ``marshal`` writes them about five times faster than ``pickle`` (1.3 against 6.3 µs an
event of the pharma flow, in the worker) and reads them as fast; the few issues found ride beside it.
With each event's rows taken as one tuple by one C call, a worker's whole work on a slice of that flow,
the pickling of its answer included, went from 56.2–57.2 to 49.4–49.6 µs an event.

The pool starts on first use (``forkserver``: fresh worker processes, never a fork of a threaded
server) and is kept for the process's life; :func:`prepare` starts it ahead (``packtrail serve`` does,
so the first capture does not wait for the workers' imports). ``PACKTRAIL_CAPTURE_WORKERS`` sets how
many workers (default: the number of CPUs; ``0``: check in the capturing process). A worker that dies
breaks the pool: the capture in progress checks its remaining events itself, and the next one starts
a new pool. A worker whose capturing process has died ends within half a second (:func:`_watch`).
"""

from __future__ import annotations

import gc
import marshal
import multiprocessing
import operator
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Final

import orjson

from packtrail.epcis.errors import EPCISError
from packtrail.epcis.fast_validator import check_one
from packtrail.epcis.hashing import EventHasher
from packtrail.epcis.issues import IssueCollector, ValidationIssue
from packtrail.epcis.rules import RuleChecker
from packtrail.store.index_rows import EventRows, event_rows

__all__ = [
    "GC_THRESHOLDS",
    "MAX_ISSUES_PER_EVENT",
    "WORKERS_ENV",
    "WORKER_NICENESS",
    "CheckedEvent",
    "SliceAnswer",
    "answers_of",
    "check_slice",
    "pool",
    "prepare",
    "rows_of",
    "worker_count",
]

WORKERS_ENV: Final = "PACKTRAIL_CAPTURE_WORKERS"
"""Environment variable: how many checking processes (default: CPUs; ``0``: none)."""
GC_THRESHOLDS: Final = (100_000, 50, 1000)
"""A worker's garbage collector thresholds: the youngest generation collected every 100,000
allocations (see :func:`_start_worker`)."""
WORKER_NICENESS: Final = 10
"""How much lower a worker's scheduling priority is than the capturing process's (``nice``; see
:func:`_start_worker`)."""
MAX_ISSUES_PER_EVENT: Final = 50
"""Issues of one event sent back in full; beyond them only counted (capture lists at most 100 anyway)."""

NOT_AN_OBJECT: Final = 0
""":data:`CheckedEvent` kind: the event is not a JSON object (its issues say so)."""
HASH_FAILED: Final = 1
"""Kind: the event hash could not be computed (the message says why)."""
CHECKED: Final = 2
"""Kind: hashed and validated; rows built when it had no error (else a message or None)."""

CheckedEvent = tuple[int, Any, tuple[ValidationIssue, ...], int, int, Any]
"""What a worker says of one event: ``(kind, hash or message, issues kept, errors, warnings, rows)``;
``rows`` is the :class:`EventRows` field tuple, a ``str`` (why they could not be built) or None (the
event had errors, so none were built)."""

SliceAnswer = tuple[bytes | list[CheckedEvent], dict[int, tuple[ValidationIssue, ...]]]
"""What a worker sends back for a slice: its :data:`CheckedEvent` answers with the issues left out, as one
:mod:`marshal` text (the list itself should some value not be one ``marshal`` writes), and the issues
kept by position in the slice (none for most slices). :func:`answers_of` puts them together."""

_FIELDS: Final = operator.attrgetter(*EventRows.__dataclass_fields__)
"""An :class:`EventRows`' fields as one tuple, in order (one C call)."""


def rows_of(fields: Sequence[Any]) -> EventRows:
    """An :class:`EventRows` from the field tuple a worker sent."""
    return EventRows(*fields)


def check_slice(
    payload: bytes,
    namespaces: dict[str, str],
    ignore: frozenset[str],
    pointer: str,
    start: int,
) -> SliceAnswer:
    """Check the events of one slice (``payload``: their JSON list; the first is event ``start`` of the
    document, whose event list is at ``pointer``): one :data:`CheckedEvent` each, in order, packed
    (:data:`SliceAnswer`; :func:`answers_of` unpacks).

    Runs in a worker process; the same steps, in the same order, as the capturing process's checker,
    except that events repeated in the document are checked too (only the capturing process knows
    which they are: it drops their issues). The cyclic garbage collector is off meanwhile, as it is
    while a capture runs (:func:`~packtrail.store.capture.capture_document`): a slice's events and
    answers are acyclic, and with :data:`GC_THRESHOLDS` it still rescanned them as they were promoted
    (the pharma flow, compiled modules: 60–62 µs an event against 72–76 with the collector on, three
    pairs of runs). Re-enabled after, the collector's next pass takes whatever the slice left.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _check_slice(payload, namespaces, ignore, pointer, start)
    finally:
        if collecting:
            gc.enable()


def _check_slice(
    payload: bytes, namespaces: dict[str, str], ignore: frozenset[str], pointer: str, start: int
) -> SliceAnswer:
    events = orjson.loads(payload)
    hash_of = EventHasher(namespaces, ignore=ignore).hash
    out = IssueCollector(max_issues=1 << 62)
    check_rules = RuleChecker(out, binding="json", schema_ran=True).check_event
    answers: list[CheckedEvent] = []
    for offset, event in enumerate(events):
        here = f"{pointer}/{start + offset}"
        kept, errors, warnings = len(out.issues), out.errors, out.warnings
        if type(event) is not dict:
            check_one(event, here, out)
            answers.append(_answer(NOT_AN_OBJECT, None, out, kept, errors, warnings, None))
            continue
        try:
            event_hash = hash_of(event)
        except EPCISError as exc:
            answers.append((HASH_FAILED, str(exc), (), 0, 0, None))
            continue
        check_one(event, here, out)
        check_rules(event, here)
        rows: Any = None
        if out.errors == errors:
            try:
                built = event_rows(event, namespaces)
            except EPCISError as exc:
                rows = str(exc)
            else:
                rows = _FIELDS(built)
        answers.append(_answer(CHECKED, event_hash, out, kept, errors, warnings, rows))
        if len(out.issues) > 4096:
            out.issues.clear()
    return _pack(answers)


def _pack(answers: list[CheckedEvent]) -> SliceAnswer:
    """``answers`` as :data:`SliceAnswer` (the list given is not changed)."""
    issues: dict[int, tuple[ValidationIssue, ...]] = {}
    plain = answers
    for index, answer in enumerate(answers):
        if answer[2]:
            if plain is answers:
                plain = list(answers)
            issues[index] = answer[2]
            plain[index] = (answer[0], answer[1], (), answer[3], answer[4], answer[5])
    try:
        return marshal.dumps(plain), issues
    except ValueError:  # a value marshal does not write (a str subclass, say): pickled as it is
        return answers, {}


def answers_of(answer: SliceAnswer) -> list[CheckedEvent]:
    """The :data:`CheckedEvent` answers of a slice from what :func:`check_slice` sent."""
    packed, issues = answer
    if not isinstance(packed, bytes):
        return packed
    answers: list[CheckedEvent] = marshal.loads(packed)
    for index, kept in issues.items():
        kind, value, _, errors, warnings, rows = answers[index]
        answers[index] = (kind, value, kept, errors, warnings, rows)
    return answers


def _answer(
    kind: int, value: Any, out: IssueCollector, kept: int, errors: int, warnings: int, rows: Any
) -> CheckedEvent:
    issues = out.issues[kept:]
    return (
        kind,
        value,
        tuple(issues[:MAX_ISSUES_PER_EVENT]),
        out.errors - errors,
        out.warnings - warnings,
        rows,
    )


# -- the pool ---------------------------------------------------------------------------------------------

PARENT_CHECK_SECONDS: Final = 0.5
"""How often a worker checks that the capturing process still runs."""


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rpartition(b")")[2].split()[:1]
        return state not in ([b"Z"], [b"X"])
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def _watch(parent: int) -> None:
    """End this worker once the capturing process ``parent`` is gone.

    A worker's parent is the fork server, and its task queue is a pipe whose writing end the worker
    holds too, so nothing else tells it when the capturing process dies without shutting the pool down
    (``kill -9``; uvicorn ends on a re-raised SIGTERM, which skips the interpreter's exit handlers). An
    orphaned worker would keep the fork server and every pipe they inherited (a test runner's output)
    open for ever.
    """
    while _alive(parent):
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _start_worker(parent: int) -> None:
    """Worker initializer: :func:`_watch` in a daemon thread; a lower priority; the garbage collector
    settled.

    The priority: the capturing process's writer thread is capture's critical path, and it shares two
    cores with the workers, which check ahead of it (the pipeline holds a few chunks) and so always have
    work. At equal priority the scheduler gives every runnable thread its share, and the writer's
    inserts ran at about two thirds of a core (its SQLite work in the 100,000-event pharma capture:
    6.6–7.2 s against 5.5–5.9 with :data:`WORKER_NICENESS`; the whole capture 10.9–11.4 s against
    10.3–10.5). Niced, the workers take what the writer leaves, and still use every core when it waits.

    A slice's events and their answers are tens of thousands of containers alive at once, so with the
    default thresholds (a collection of the youngest generation every 700 allocations) the collector
    runs hundreds of times per slice, each time promoting what the slice still holds and rescanning it
    later: 18 % of a worker's CPU (check_slice on the pharma flow: 58–64 µs per event against 47–52 with
    :data:`GC_THRESHOLDS`). What lives after the imports is frozen (never scanned again)."""
    threading.Thread(target=_watch, args=(parent,), name="packtrail-parent-watch", daemon=True).start()
    if hasattr(os, "nice"):  # not on Windows
        os.nice(WORKER_NICENESS)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


_LOCK: Final = threading.Lock()
_POOL: ProcessPoolExecutor | None = None


def worker_count() -> int:
    """How many worker processes capture uses (``PACKTRAIL_CAPTURE_WORKERS``; default the CPUs)."""
    text = os.environ.get(WORKERS_ENV, "").strip()
    if not text:
        return os.cpu_count() or 1
    try:
        return max(0, int(text))
    except ValueError:
        raise ValueError(f"{WORKERS_ENV}: expected a whole number of processes, got {text!r}") from None


def pool() -> ProcessPoolExecutor | None:
    """The worker pool (started on first use), or None when capture checks in its own process."""
    global _POOL
    workers = worker_count()
    if workers == 0:
        return None
    with _LOCK:
        if _POOL is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            _POOL = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(os.getpid(),),
            )
        return _POOL


def forget(broken: ProcessPoolExecutor) -> None:
    """Drop a pool a worker broke (the next capture starts a new one)."""
    global _POOL
    with _LOCK:
        if _POOL is broken:
            _POOL = None
    broken.shutdown(wait=False, cancel_futures=True)


def prepare() -> None:
    """Start the worker processes now and let each import what it needs (a capture would otherwise
    wait for that): ``packtrail serve`` calls it at start. Does nothing when capture uses no workers."""
    executor = pool()
    if executor is None:
        return
    warmups: list[Future[SliceAnswer]] = [
        executor.submit(check_slice, b"[]", {}, frozenset(), "", 0) for _ in range(worker_count())
    ]
    for warmup in warmups:
        warmup.result()
