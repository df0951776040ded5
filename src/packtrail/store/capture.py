"""Capture: an EPCIS document in, its events stored with their index rows, in one transaction.

The pipeline, for a document in any format (JSON-LD, EPCIS 2.0 XML, EPCIS 1.2 XML, a single bare
event as POSTed to ``/events``, or an :class:`~packtrail.epcis.document.EPCISDocument`):

1. **read** it once (``CaptureLimitError`` above the byte or event limit, ``CaptureFormatError`` when it
   cannot be read: nothing is stored then);
2. **hash** every event (the CBV 2.0 Event Hash ID, one :class:`~packtrail.epcis.hashing.EventHasher`
   per document) and drop the events repeated inside the document (same eventID or same hash);
3. **validate** the rest (GS1's JSON Schema and the EPCIS/CBV rules); an event with an error is
   invalid. ``rollback``: one invalid event and nothing is stored; ``proceed``: the valid ones are;
4. build each event's **index rows** (:func:`packtrail.store.index_rows.event_rows`);
5. in **one transaction**: lock the ``store_counters`` row ``event_pk`` (so captures are serialised:
   event_pk order is commit order is recordTime order), drop the events whose eventID or hash is
   already stored (duplicates: counted, not errors), give each event the repository's ``recordTime``
   (one per capture, never earlier than the last one) and, when it had none, its hash as ``eventID``;
   insert the events, keys, index rows, visibility rows, master data, the ``outbox`` row and the
   ``captures`` row; hand each chunk of inserted events to the store's projectors
   (:mod:`packtrail.store.projection`), and let them flush before the commit: they write their read
   models on the same connection, in the same transaction; commit.

Bulk inserts are ``executemany`` with plain tuples on SQLite and ``COPY … FROM STDIN`` on PostgreSQL,
on the driver connection inside the SQLAlchemy transaction.

Who does what for a large document: steps 2–4 for a JSON document of :data:`PARALLEL_MIN_EVENTS` events
or more run in worker processes (:mod:`packtrail.store.capture_workers`), the document-order
bookkeeping of step 2 in the calling thread, and step 5 in a writer thread (:class:`_Pipeline`), so the
three overlap; smaller documents, and XML, are checked in the calling thread.
"""

from __future__ import annotations

import gc
import hashlib
import os
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from packtrail.epcis.convert import detect_format
from packtrail.epcis.document import EVENT_TYPES, EPCISDocument, Event
from packtrail.epcis.errors import EPCISError
from packtrail.epcis.fast_validator import check_json_document, check_one
from packtrail.epcis.hashing import EventHasher, ignore_fields_of
from packtrail.epcis.issues import IssueCollector, ValidationIssue
from packtrail.epcis.jsonld import namespace_of, read_jsonld, write_jsonld
from packtrail.epcis.rules import RuleChecker, check_header_rules
from packtrail.epcis.vocabulary import normalise_event
from packtrail.store import capture_workers, schema
from packtrail.store.bulk import BulkWriter
from packtrail.store.engine import CACHE_KIB, CAPTURE_CACHE_KIB, IMMEDIATE
from packtrail.store.errors import CaptureFormatError, CaptureLimitError
from packtrail.store.index_rows import EventRows, event_rows
from packtrail.store.master_data import upsert_vocabularies, vocabulary_rows
from packtrail.store.partitions import likely_months
from packtrail.store.projection import EarlyProjector, Projector, StoredEventInfo

if TYPE_CHECKING:
    from packtrail.store.partitions import PartitionManager

__all__ = [
    "Behaviour",
    "CaptureJob",
    "CaptureLimits",
    "CaptureProblem",
    "CaptureResult",
    "capture_document",
    "finish_failed_job",
    "new_capture_id",
    "record_time_text",
    "start_capture_job",
]

Behaviour = Literal["rollback", "proceed"]
"""``GS1-Capture-Error-Behaviour``: store nothing when an event is invalid, or store the valid ones."""

VALIDATION_EXCEPTION: Final = "epcisException:ValidationException"
"""The problem type of an invalid event (EPCIS 2.0 REST bindings)."""
MAX_PROBLEMS: Final = 1000
"""How many problems a capture result lists (the rest are counted in a last problem)."""


@dataclass(frozen=True, slots=True)
class CaptureLimits:
    """What one capture may hold (announced as ``GS1-EPCIS-Capture-Limit`` / ``…-File-Size-Limit``)."""

    max_events: int = 100_000
    """Most events in one document."""
    max_bytes: int = 256 * 1024 * 1024
    """Largest document, in bytes."""


@dataclass(frozen=True, slots=True)
class CaptureProblem:
    """One reason an event (or the document) was refused, shaped as an RFC 7807 problem."""

    type: str
    """The EPCIS exception type (``epcisException:ValidationException``)."""
    title: str
    """Short summary."""
    detail: str
    """What is wrong, where, expected and found."""
    pointer: str | None = None
    """JSON pointer into the document's JSON-LD form (``/epcisBody/eventList/3/epcList/0``)."""

    def to_dict(self) -> dict[str, Any]:
        """The problem as JSON (``type``, ``title``, ``detail``, ``pointer``)."""
        return {"type": self.type, "title": self.title, "detail": self.detail, "pointer": self.pointer}


@dataclass(frozen=True, slots=True)
class CaptureResult:
    """What a capture did."""

    capture_id: str
    """The capture job's id (``captures.capture_id``)."""
    event_count: int
    """Events in the document."""
    captured: int
    """Events stored by this capture."""
    duplicates: int
    """Events not stored because their eventID or hash was already stored or repeated in the document."""
    errors: list[CaptureProblem] = field(default_factory=list)
    """Why events were refused (empty on success)."""
    success: bool = True
    """False when any event was invalid (``rollback``: then nothing was stored)."""
    first_event_pk: int | None = None
    """event_pk of the first event stored, None when none was."""
    last_event_pk: int | None = None
    """event_pk of the last event stored, None when none was."""


@dataclass(frozen=True, slots=True)
class CaptureJob:
    """A capture job as recorded in ``captures`` (the REST ``/capture/{captureID}`` resource)."""

    capture_id: str
    party: str | None
    """GLN of the party that captured; None for the local administrator."""
    created_at_us: int
    finished_at_us: int | None
    running: bool
    success: bool | None
    behaviour: str
    event_count: int
    captured: int
    duplicates: int
    errors: list[dict[str, Any]]
    """The problems as JSON objects (``type``, ``title``, ``detail``, ``pointer``)."""


def new_capture_id() -> str:
    """A new capture id (uuid4 hex)."""
    return uuid.uuid4().hex


def now_us() -> int:
    """Now, in microseconds since 1970 (UTC)."""
    return time.time_ns() // 1000


def record_time_text(us: int) -> str:
    """ISO 8601 UTC with milliseconds, as the repository writes ``recordTime``.

    >>> record_time_text(1_709_287_200_123_456)
    '2024-03-01T10:00:00.123Z'
    """
    moment = datetime.fromtimestamp(us // 1_000_000, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{(us // 1000) % 1000:03d}Z"


# -- reading ----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Input:
    doc: EPCISDocument
    binding: Literal["json", "xml", "event"]
    owned: bool
    """True when the events are ours to change (parsed here), False for a caller's EPCISDocument."""


def _read_bytes(source: bytes | str | os.PathLike[str], limits: CaptureLimits) -> bytes:
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, (bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, str):
        data = source.encode("utf-8", "surrogatepass")
    elif isinstance(source, os.PathLike):
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > limits.max_bytes:
                raise CaptureLimitError(
                    "max_bytes",
                    limits.max_bytes,
                    f"the document has {size} bytes; at most {limits.max_bytes}",
                )
            data = path.read_bytes()
        except OSError as exc:
            raise CaptureFormatError(f"cannot read {os.fspath(source)!r}: {exc.strerror}") from None
    else:
        raise TypeError(f"capture takes bytes, text, a path or an EPCISDocument, not {type(source).__name__}")
    if len(data) > limits.max_bytes:
        raise CaptureLimitError(
            "max_bytes", limits.max_bytes, f"the document has {len(data)} bytes; at most {limits.max_bytes}"
        )
    return data


def _bare_event(data: bytes) -> EPCISDocument | None:
    """A single event (JSON object whose ``type`` is an event type), as a one-event document."""
    try:
        top = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(top, dict) or top.get("type") not in EVENT_TYPES:
        return None
    namespaces: dict[str, str] = {}
    context = top.get("@context")
    for entry in context if isinstance(context, list) else [context]:
        if isinstance(entry, dict):
            for key, value in entry.items():
                namespace = namespace_of(value)
                if namespace is not None and not key.startswith("@") and ":" not in key:
                    namespaces[key] = namespace
    return EPCISDocument(namespaces=namespaces, events=[top])


def read_input(source: bytes | str | os.PathLike[str] | EPCISDocument, limits: CaptureLimits) -> _Input:
    """Read the document once (see the module docstring); raises CaptureFormatError / CaptureLimitError."""
    if isinstance(source, EPCISDocument):
        result = _Input(source, "json", owned=False)
    else:
        data = _read_bytes(source, limits)
        try:
            fmt = detect_format(data)
        except EPCISError as exc:
            raise CaptureFormatError(f"the document is neither EPCIS JSON-LD nor EPCIS XML: {exc}") from None
        try:
            if fmt == "jsonld":
                try:
                    result = _Input(read_jsonld(data), "json", owned=True)
                except EPCISError as exc:
                    single = _bare_event(data) if exc.pointer == "/type" else None
                    if single is None:
                        raise
                    result = _Input(single, "event", owned=True)
            else:
                from packtrail.epcis.xml import read_xml

                result = _Input(read_xml(data), "xml", owned=True)
        except EPCISError as exc:
            raise CaptureFormatError(str(exc)) from None
        except RecursionError:
            raise CaptureFormatError("the document is nested too deeply to be read") from None
    if len(result.doc.events) > limits.max_events:
        raise CaptureLimitError(
            "max_events",
            limits.max_events,
            f"the document has {len(result.doc.events)} events; at most {limits.max_events}",
        )
    return result


# -- checking ---------------------------------------------------------------------------------------------


class _Candidate(NamedTuple):
    """An event that passed the in-document checks, waiting for the database's verdict."""

    event: Event
    event_hash: str
    event_id: str | None
    """The eventID the event came with, None when it had none (its hash becomes its ID)."""
    key_hash: str
    key_id: str
    rows: EventRows


def _problem(issue: ValidationIssue) -> CaptureProblem:
    detail = issue.reason
    extras = []
    if issue.expected is not None:
        extras.append(f"expected {issue.expected}")
    if issue.found is not None:
        extras.append(f"found {issue.found}")
    if extras:
        detail += f" ({', '.join(extras)})"
    return CaptureProblem(VALIDATION_EXCEPTION, f"Invalid EPCIS ({issue.layer})", detail, issue.pointer or "")


def _events_pointer(doc: EPCISDocument, binding: str) -> str:
    if binding == "event":
        return ""
    return "/epcisBody/queryResults/resultsBody/eventList" if doc.is_query else "/epcisBody/eventList"


def _event_keys(event: Event, event_hash: str) -> tuple[str | None, str, str]:
    """The eventID an event came with (None without one) and the two keys it is deduplicated by: its
    hash and its eventID (the hash when it has none), an error declaration's marked as such (it may
    repeat the eventID of the event it declares)."""
    given = event.get("eventID")
    event_id = given.strip() if type(given) is str and given.strip() else None
    key_hash, key_id = event_hash, event_id or event_hash
    if "errorDeclaration" in event:
        key_hash, key_id = key_hash + schema.DECLARATION_KEY, key_id + schema.DECLARATION_KEY
    return event_id, key_hash, key_id


class _Checker:
    """Steps 2–4 of the pipeline, in the calling thread: hash, deduplicate within the document,
    validate, build index rows; yields the candidates in chunks."""

    def __init__(
        self, read: _Input, behaviour: Behaviour, build_rows: Callable[[Event, Mapping[str, str]], EventRows]
    ) -> None:
        self.read = read
        self.behaviour = behaviour
        self.build_rows = build_rows
        self.out = IssueCollector(max_issues=MAX_PROBLEMS)
        self.extra: list[CaptureProblem] = []
        """Problems found outside the validator (hashing, index rows)."""
        self.invalid = 0
        """Invalid events found so far."""
        self.duplicates = 0
        """Events repeated inside the document."""
        self.document_invalid = self._check_document()
        """True when the document itself (not an event) breaks the schema or the header rules."""

    def _check_document(self) -> bool:
        read, out = self.read, self.out
        if read.binding == "json":
            try:
                frame = orjson.loads(write_jsonld(read.doc.header_only(), context="keep"))
            except (EPCISError, orjson.JSONDecodeError) as exc:
                out.error("schema", "", f"the document cannot be written as JSON: {exc}")
            else:
                check_json_document(frame, out, events=(), events_pointer=_events_pointer(read.doc, "json"))
        if read.binding != "event":
            check_header_rules(read.doc.header, out)
        return out.errors > 0

    @property
    def storing(self) -> bool:
        """False once nothing will be stored (the document is invalid, or rollback met an invalid event)."""
        return not self.document_invalid and (self.invalid == 0 or self.behaviour == "proceed")

    def chunks(self, size: int) -> Iterator[list[_Candidate]]:
        """The valid, not repeated events with their index rows, ``size`` at a time (fewer at the end).

        A large JSON document is checked by the worker processes (:mod:`packtrail.store.capture_workers`)
        when there are any and ``build_rows`` is the repository's own; the answers are the same.
        """
        doc = self.read.doc
        if (
            self.read.binding == "json"
            and len(doc.events) >= PARALLEL_MIN_EVENTS
            and self.build_rows is event_rows
            and (executor := capture_workers.pool()) is not None
        ):
            yield from self._parallel_chunks(size, executor)
        else:
            yield from self._serial_chunks(size, 0)

    def _parallel_chunks(self, size: int, executor: ProcessPoolExecutor) -> Iterator[list[_Candidate]]:
        """:meth:`chunks` with the checking done by ``executor``'s workers, a slice of
        :data:`SLICE_EVENTS` each, at most :data:`SLICES_AHEAD` slices in flight."""
        doc = self.read.doc
        events = doc.events
        pointer = _events_pointer(doc, "json")
        namespaces, ignore = dict(doc.namespaces), ignore_fields_of(doc)
        seen_hashes: set[str] = set()
        seen_ids: set[str] = set()
        pending: deque[tuple[int, Future[capture_workers.SliceAnswer]]] = deque()
        submitted = 0
        chunk: list[_Candidate] = []
        rows_of, answers_of = capture_workers.rows_of, capture_workers.answers_of
        while submitted < len(events) or pending:
            while submitted < len(events) and len(pending) < SLICES_AHEAD:
                part = events[submitted : submitted + SLICE_EVENTS]
                try:
                    payload = orjson.dumps(part)
                    task = executor.submit(
                        capture_workers.check_slice, payload, namespaces, ignore, pointer, submitted
                    )
                except BrokenProcessPool:
                    capture_workers.forget(executor)
                    break  # checked here below
                except (orjson.JSONEncodeError, RuntimeError):
                    break  # not JSON as given (or the pool is shut down): checked here below
                pending.append((submitted, task))
                submitted += len(part)
            if not pending:
                break
            start, task = pending.popleft()
            try:
                answers = answers_of(task.result())
            except BrokenProcessPool:
                capture_workers.forget(executor)
                for _, other in pending:
                    other.cancel()
                pending.clear()
                submitted = start
                break
            for offset, (kind, value, issues, errors, warnings, fields) in enumerate(answers):
                index = start + offset
                event = events[index]
                if kind == capture_workers.NOT_AN_OBJECT:
                    self._count(issues, errors, warnings)
                    self.invalid += 1
                    continue
                if kind == capture_workers.HASH_FAILED:
                    self._refuse(f"{pointer}/{index}", EPCISError(value))
                    continue
                event_hash = value
                event_id, key_hash, key_id = _event_keys(event, event_hash)
                if self._repeated(key_hash, key_id, seen_hashes, seen_ids):
                    continue
                self._count(issues, errors, warnings)
                if errors:
                    self.invalid += 1
                    continue
                if self.document_invalid or (self.invalid and self.behaviour == "rollback"):
                    continue
                if type(fields) is str:
                    self._refuse(f"{pointer}/{index}", EPCISError(fields))
                    continue
                chunk.append(_Candidate(event, event_hash, event_id, key_hash, key_id, rows_of(fields)))
                if len(chunk) >= size:
                    yield chunk
                    chunk = []
        if submitted < len(events):  # the workers could not take the rest: check it here
            if chunk:
                yield chunk
                chunk = []
            yield from self._serial_chunks(size, submitted, seen_hashes, seen_ids)
            return
        if chunk and self.storing:
            yield chunk

    def _repeated(self, key_hash: str, key_id: str, seen_hashes: set[str], seen_ids: set[str]) -> bool:
        """Whether an earlier event of the document had the same keys (then it counts as a duplicate);
        else the keys are remembered."""
        if key_hash in seen_hashes or key_id in seen_ids:
            self.duplicates += 1
            return True
        seen_hashes.add(key_hash)
        seen_ids.add(key_id)
        return False

    def _count(self, issues: Sequence[ValidationIssue], errors: int, warnings: int) -> None:
        """Add one event's issues found by a worker (kept ones and counts) to the collector."""
        out = self.out
        for issue in issues:
            out.add(issue)
        out.errors += errors - sum(1 for i in issues if i.severity == "error")
        out.warnings += warnings - sum(1 for i in issues if i.severity != "error")

    def _serial_chunks(
        self,
        size: int,
        first: int,
        seen_hashes: set[str] | None = None,
        seen_ids: set[str] | None = None,
    ) -> Iterator[list[_Candidate]]:
        """:meth:`chunks` in this process, from event ``first`` on (the events before it already
        checked, their keys in ``seen_hashes``/``seen_ids``)."""
        doc, out = self.read.doc, self.out
        pointer = _events_pointer(doc, self.read.binding)
        xml = self.read.binding == "xml"
        check_rules = RuleChecker(out, binding="xml" if xml else "json", schema_ran=True).check_event
        hash_of = EventHasher(doc.namespaces, ignore=ignore_fields_of(doc)).hash
        build_rows, namespaces = self.build_rows, doc.namespaces
        seen_hashes = set() if seen_hashes is None else seen_hashes
        seen_ids = set() if seen_ids is None else seen_ids
        chunk: list[_Candidate] = []
        for index in range(first, len(doc.events)):
            event = doc.events[index]
            if type(event) is not dict:
                check_one(event, f"{pointer}/{index}", out)  # says what it is instead of an object
                self.invalid += 1
                continue
            try:
                event_hash = hash_of(event)
            except EPCISError as exc:
                self._refuse(f"{pointer}/{index}", exc)
                continue
            event_id, key_hash, key_id = _event_keys(event, event_hash)
            if self._repeated(key_hash, key_id, seen_hashes, seen_ids):
                continue
            here = f"{pointer}/{index}"
            before = out.errors
            check_one(normalise_event(event, cbv="bare") if xml else event, here, out)
            check_rules(event, here)
            if out.errors > before:
                self.invalid += 1
                continue
            if self.document_invalid or (self.invalid and self.behaviour == "rollback"):
                continue  # nothing will be stored; still validated, for the report
            try:
                rows = build_rows(event, namespaces)
            except EPCISError as exc:
                self._refuse(here, exc)
                continue
            chunk.append(_Candidate(event, event_hash, event_id, key_hash, key_id, rows))
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk and self.storing:
            yield chunk

    def _refuse(self, pointer: str, error: EPCISError) -> None:
        self.invalid += 1
        self.extra.append(CaptureProblem(VALIDATION_EXCEPTION, "Invalid EPCIS event", str(error), pointer))

    def problems(self) -> list[CaptureProblem]:
        """Every error found, in document order (at most :data:`MAX_PROBLEMS`, then a count)."""
        kept = [_problem(issue) for issue in self.out.issues if issue.severity == "error"]
        omitted = self.out.errors - len(kept)
        problems = sorted(kept + self.extra, key=lambda p: _pointer_order(p.pointer))
        if len(problems) > MAX_PROBLEMS:
            omitted += len(problems) - MAX_PROBLEMS
            problems = problems[:MAX_PROBLEMS]
        if omitted > 0:
            problems.append(
                CaptureProblem(
                    VALIDATION_EXCEPTION, "More problems", f"{omitted} more problems are not listed"
                )
            )
        return problems


def _pointer_order(pointer: str | None) -> tuple[int, str]:
    """Problems in document order: by event index, then pointer."""
    if not pointer:
        return (-1, "")
    parts = pointer.split("/")
    for i, part in enumerate(parts):
        if part == "eventList" and i + 1 < len(parts) and parts[i + 1].isdigit():
            return (int(parts[i + 1]), pointer)
    return (-1, pointer)


# -- writing ----------------------------------------------------------------------------------------------

_EVENT_COLUMNS: Final = tuple(c.name for c in schema.events.columns)
_SENSOR_COLUMNS: Final = ("event_pk", *schema.SENSOR_COLUMNS)
_FIELD_COLUMNS: Final = ("event_pk", "section", "name", "depth", "value_text", "value_num", "value_time_us")


def _stored_document(event: Event, record_time: str, event_id: str | None, copy: bool) -> Event:
    """The event as stored: recordTime (after eventTime) set, eventID (after eventTimeZoneOffset) when
    it had none; other members unchanged, in their order."""
    if event_id is None and ("recordTime" in event or "eventTime" not in event):
        stored = dict(event) if copy else event
        stored["recordTime"] = record_time
        return stored
    placed_time = placed_id = False
    stored = {}
    for key, value in event.items():
        if key == "recordTime":
            continue
        stored[key] = value
        if key == "eventTime":
            stored["recordTime"] = record_time
            placed_time = True
        elif key == "eventTimeZoneOffset" and event_id is not None:
            stored["eventID"] = event_id
            placed_id = True
    if not placed_time:
        stored["recordTime"] = record_time
    if event_id is not None and not placed_id:
        stored["eventID"] = event_id
    return stored


def _context_id(connection: Connection, namespaces: Mapping[str, str]) -> int | None:
    """The ``contexts`` row of these namespaces (made when new); None for no namespaces."""
    if not namespaces:
        return None
    text = orjson.dumps(dict(namespaces), option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(text).hexdigest()
    table = schema.contexts
    found = connection.execute(sa.select(table.c.namespaces_id).where(table.c.digest == digest)).scalar()
    if found is not None:
        return int(found)
    inserted = connection.execute(
        table.insert().values(digest=digest, namespaces=text.decode()).returning(table.c.namespaces_id)
    ).scalar_one()
    return int(inserted)


#: Called after the inserts, before the capture's commit (tests make it raise to prove atomicity).
before_commit: Callable[[Connection], None] | None = None


@dataclass(slots=True)
class _Job:
    """The ``captures`` row of this capture, as it will be written."""

    capture_id: str
    party: str | None
    behaviour: Behaviour
    created_at_us: int
    given: bool
    """True when the caller passed the capture id (a job made by :func:`start_capture_job`)."""


class _Transaction:
    """Step 5: the database side of one capture, holding the capture lock from :meth:`begin` to the end."""

    def __init__(
        self,
        engine: Engine,
        job: _Job,
        read: _Input,
        partitions: PartitionManager | None,
        projectors: Sequence[Projector] = (),
    ) -> None:
        self.engine = engine
        self.job = job
        self.read = read
        self.partitions = partitions
        self.projectors = tuple(projectors)
        self.connection: Connection | None = None
        self.transaction: Any = None
        self.writer: BulkWriter | None = None
        self.first_pk = 0
        self.last_pk = 0
        self.record_us = 0
        self.record_text = ""
        self.namespaces_id: int | None = None
        self.captured = 0
        self.duplicates = 0
        self.new_partitions: list[str] = []
        self.sqlite_tuned = False

    def begin(self) -> None:
        """Connect, begin, take the capture lock, fix the recordTime."""
        connection = self.engine.connect()
        self.connection = connection
        if connection.dialect.name == "sqlite":
            driver = connection.connection.driver_connection
            driver.execute(f"PRAGMA cache_size={CAPTURE_CACHE_KIB}")  # type: ignore[union-attr]
            driver.execute("PRAGMA wal_autocheckpoint=0")  # type: ignore[union-attr]
            self.sqlite_tuned = True
            connection.execution_options(**{IMMEDIATE: True})
        self.transaction = connection.begin()
        counters = schema.store_counters
        query = sa.select(counters.c.name, counters.c.value).where(
            counters.c.name.in_([schema.EVENT_PK_COUNTER, schema.RECORD_TIME_COUNTER])
        )
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()
        values = {name: value for name, value in connection.execute(query.order_by(counters.c.name))}
        self.last_pk = int(values.get(schema.EVENT_PK_COUNTER, 0))
        self.first_pk = self.last_pk + 1
        self.record_us = max(now_us() // 1000 * 1000, int(values.get(schema.RECORD_TIME_COUNTER, 0)))
        self.record_text = record_time_text(self.record_us)
        self.namespaces_id = _context_id(connection, self.read.doc.namespaces)
        self.writer = BulkWriter(connection)

    def write(self, chunk: list[_Candidate]) -> None:
        """Store one chunk of candidates: those not stored before get the next event_pks."""
        writer, connection = self.writer, self.connection
        assert writer is not None and connection is not None, "begin() first"
        after = self.last_pk
        keys = [(c.key_hash, c.key_id, after + i) for i, c in enumerate(chunk, 1)]
        claimed = writer.claim(keys)  # every event of the chunk new: its keys are stored already
        if not claimed:  # some are duplicates: store only the others, numbered without gaps
            writer.unclaim(keys)
            known = writer.known([(c.key_hash, c.key_id) for c in chunk])
            fresh = [c for i, c in enumerate(chunk) if i not in known]
            self.duplicates += len(chunk) - len(fresh)
        else:
            fresh = chunk
        keys = []  # claimed: stored already; else filled below
        if not fresh:
            return
        if self.partitions is not None:
            missing = self.partitions.missing(c.rows.event_time_us for c in fresh)
            if missing:
                self.new_partitions += self.partitions.create_in(connection, missing)
        job, record_us, record_text = self.job, self.record_us, self.record_text
        capture_id, party, namespaces_id = job.capture_id, job.party, self.namespaces_id
        copy = not self.read.owned
        dumps = orjson.dumps
        sensor_columns = schema.SENSOR_COLUMNS
        events: list[tuple[Any, ...]] = []
        epcs: list[tuple[Any, ...]] = []
        epc_classes: list[tuple[Any, ...]] = []
        quantities: list[tuple[Any, ...]] = []
        transactions: list[tuple[Any, ...]] = []
        parties: list[tuple[Any, ...]] = []
        fields: list[tuple[Any, ...]] = []
        sensors: list[tuple[Any, ...]] = []
        errors: list[tuple[Any, ...]] = []
        corrective: list[tuple[Any, ...]] = []
        persistent: list[tuple[Any, ...]] = []
        visibility: list[tuple[str, int]] = []
        pk = self.last_pk
        for event, event_hash, given_id, key_hash, key_id, rows in fresh:
            pk += 1
            stored = _stored_document(event, record_text, None if given_id else event_hash, copy)
            events.append(
                (
                    pk,
                    rows.event_time_us,
                    rows.event_tz,
                    record_us,
                    rows.event_type,
                    rows.action,
                    rows.biz_step,
                    rows.disposition,
                    rows.read_point,
                    rows.biz_location,
                    rows.transformation_id,
                    given_id or event_hash,
                    event_hash,
                    capture_id,
                    party,
                    rows.dist_key,
                    namespaces_id,
                    dumps(stored),
                )
            )
            if not claimed:
                keys.append((key_hash, key_id, pk))
            if rows.epcs:
                event_time, biz_step = rows.event_time_us, rows.biz_step
                epcs.extend([(pk, role, epc, event_time) for role, epc in rows.epcs])
                epc_classes.extend([(pk, role, key, event_time, biz_step) for role, key in rows.epc_classes])
            if rows.quantities:
                quantities.extend([(pk, *item) for item in rows.quantities])
            if rows.biz_transactions:
                transactions.extend([(pk, *item) for item in rows.biz_transactions])
            if rows.parties:
                parties.extend([(pk, *item) for item in rows.parties])
            if rows.fields:
                fields.extend([(pk, *item) for item in rows.fields])
            if rows.sensor:
                sensors.extend([(pk, *[s.get(c) for c in sensor_columns]) for s in rows.sensor])
            if rows.errors:
                errors.extend([(pk, *item) for item in rows.errors])
            if rows.corrective_ids:
                corrective.extend([(pk, item) for item in rows.corrective_ids])
            if rows.persistent_dispositions:
                persistent.extend([(pk, *item) for item in rows.persistent_dispositions])
            if party is not None:
                visibility.append((party, pk))
            if rows.visible_to:
                visibility.extend([(gln, pk) for gln in rows.visible_to if gln != party])
        self.last_pk = pk
        self.captured += len(fresh)
        insert = writer.insert
        insert(schema.events, _EVENT_COLUMNS, events)
        insert(schema.event_keys, ("event_hash", "event_id", "event_pk"), keys)
        insert(schema.event_epcs, ("event_pk", "role", "epc", "event_time_us"), epcs)
        insert(
            schema.event_epc_classes,
            ("event_pk", "role", "epc_class", "event_time_us", "biz_step"),
            epc_classes,
        )
        insert(schema.event_quantities, ("event_pk", "role", "epc_class", "quantity", "uom"), quantities)
        insert(schema.event_biz_transactions, ("event_pk", "type", "value"), transactions)
        insert(schema.event_parties, ("event_pk", "kind", "type", "value"), parties)
        insert(schema.event_fields, _FIELD_COLUMNS, fields)
        insert(schema.event_sensor, _SENSOR_COLUMNS, sensors)
        insert(schema.event_errors, ("event_pk", "declaration_time_us", "reason"), errors)
        insert(schema.event_corrective_ids, ("event_pk", "corrective_event_id"), corrective)
        insert(schema.event_persistent_dispositions, ("event_pk", "kind", "value"), persistent)
        insert(schema.event_visibility, ("party", "event_pk"), visibility)
        if self.projectors:
            first = pk - len(fresh) + 1
            infos = [
                StoredEventInfo(first + i, c.event, c.rows, c.event_id or c.event_hash, party)
                for i, c in enumerate(fresh)
            ]
            for projector in self.projectors:
                projector.project(connection, infos)

    def advance(self) -> bool:
        """Let the projectors that can (:class:`~packtrail.store.projection.EarlyProjector`) work on the
        chunks written so far; called from the thread that feeds the writer. True when one did."""
        connection = self.connection
        if connection is None or self.transaction is None:
            return False
        worked = False
        for projector in self.projectors:
            if isinstance(projector, EarlyProjector) and projector.advance(connection):
                worked = True
        return worked

    def commit(
        self, *, event_count: int, duplicates: int, problems: list[CaptureProblem], success: bool
    ) -> None:
        """Master data, counters, the outbox row and the job row; then commit and release the lock."""
        connection = self.connection
        assert connection is not None, "begin() first"
        if self.captured:
            for projector in self.projectors:
                projector.flush(connection)
        upsert_vocabularies(connection, vocabulary_rows(self.read.doc.header), self.record_us)
        finished = now_us()
        if self.captured:
            counters = schema.store_counters
            connection.execute(
                counters.update().where(counters.c.name == schema.EVENT_PK_COUNTER).values(value=self.last_pk)
            )
            connection.execute(
                counters.update()
                .where(counters.c.name == schema.RECORD_TIME_COUNTER)
                .values(value=self.record_us)
            )
            connection.execute(
                schema.outbox.insert().values(
                    capture_id=self.job.capture_id,
                    first_event_pk=self.first_pk,
                    last_event_pk=self.last_pk,
                    created_at_us=finished,
                    published_through=None,
                    done=False,
                )
            )
        _write_job(
            connection,
            self.job,
            finished_at_us=finished,
            success=success,
            event_count=event_count,
            captured=self.captured,
            duplicates=duplicates,
            problems=problems,
        )
        if before_commit is not None:
            before_commit(connection)
        self.transaction.commit()
        if self.partitions is not None and self.new_partitions:
            self.partitions.remember(self.new_partitions)

    def close(self) -> None:
        """Roll back what is not committed and give the connection back."""
        if self.connection is not None:
            try:
                if self.transaction is not None and self.transaction.is_active:
                    self.transaction.rollback()
                if self.sqlite_tuned:
                    driver = self.connection.connection.driver_connection
                    driver.execute(f"PRAGMA cache_size={CACHE_KIB}")  # type: ignore[union-attr]
                    driver.execute("PRAGMA wal_autocheckpoint=1000")  # type: ignore[union-attr]
            finally:
                self.connection.close()
                self.connection = None


_STOP: Final = object()
WAIT_SECONDS: Final = 0.005
"""How long :meth:`_Pipeline.finish` waits for the writer before it asks for other work again."""


class _Pipeline:
    """Runs a :class:`_Transaction` in a thread of its own: while it writes a chunk (the database works,
    the GIL is free), the calling thread checks the next one."""

    def __init__(self, transaction: _Transaction, depth: int = 3) -> None:
        self.transaction = transaction
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="packtrail-capture", daemon=True)
        self.stopped = False
        """The end of the chunks is queued."""

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            self.transaction.begin()
        except BaseException as exc:  # handed to the caller in finish()
            self.error = exc
        while True:
            item = self.queue.get()
            if item is _STOP:
                return
            if self.error is None:
                try:
                    self.transaction.write(item)
                except BaseException as exc:  # handed to the caller in finish()
                    self.error = exc

    def send(self, chunk: list[_Candidate]) -> None:
        """Hand a chunk to the writer; raises at once when the writer has failed."""
        if self.error is not None:
            raise self.error
        self.queue.put(chunk)

    def finish(self, meanwhile: Callable[[], bool] | None = None) -> None:
        """Wait until every chunk is written, calling ``meanwhile`` until then (after each False, it had
        nothing to do, waiting :data:`WAIT_SECONDS` first); raises the writer's error, if any."""
        if not self.stopped:
            self.stopped = True
            self.queue.put(_STOP)
        if meanwhile is not None:
            while self.thread.is_alive():
                if self.error is not None or not meanwhile():
                    self.thread.join(WAIT_SECONDS)
        self.thread.join()
        if self.error is not None:
            raise self.error


def _write_job(
    connection: Connection,
    job: _Job,
    *,
    finished_at_us: int,
    success: bool,
    event_count: int,
    captured: int,
    duplicates: int,
    problems: Iterable[CaptureProblem],
) -> None:
    table = schema.captures
    values = {
        "finished_at_us": finished_at_us,
        "running": False,
        "success": success,
        "behaviour": job.behaviour,
        "event_count": event_count,
        "captured": captured,
        "duplicates": duplicates,
        "errors": orjson.dumps([p.to_dict() for p in problems]).decode(),
    }
    if job.given:
        updated = connection.execute(
            table.update().where(table.c.capture_id == job.capture_id).values(**values)
        )
        if updated.rowcount:
            return
    connection.execute(
        table.insert().values(
            capture_id=job.capture_id, party=job.party, created_at_us=job.created_at_us, **values
        )
    )


def start_capture_job(engine: Engine, *, party: str | None, behaviour: Behaviour, event_count: int) -> str:
    """Record a capture job as running (for ``202 Accepted``); :func:`capture_document` finishes it."""
    capture_id = new_capture_id()
    with engine.begin() as connection:
        connection.execute(
            schema.captures.insert().values(
                capture_id=capture_id,
                party=party,
                created_at_us=now_us(),
                finished_at_us=None,
                running=True,
                success=None,
                behaviour=behaviour,
                event_count=event_count,
                captured=0,
                duplicates=0,
                errors="[]",
            )
        )
    return capture_id


def finish_failed_job(engine: Engine, capture_id: str, problem: CaptureProblem) -> None:
    """Mark a running capture job as failed with one problem (the document could not be read)."""
    table = schema.captures
    with engine.begin() as connection:
        connection.execute(
            table.update()
            .where(table.c.capture_id == capture_id)
            .values(
                running=False,
                success=False,
                finished_at_us=now_us(),
                errors=orjson.dumps([problem.to_dict()]).decode(),
            )
        )


CHUNK_EVENTS: Final = 4096
"""Events per chunk handed from the checking thread to the writing one."""
PARALLEL_MIN_EVENTS: int = 8192
"""Documents (JSON) with at least this many events are checked by the worker processes, when there are
any (:mod:`packtrail.store.capture_workers`)."""
SLICE_EVENTS: int = 2048
"""Events per slice sent to a worker process."""
SLICES_AHEAD: Final = 6
"""Slices sent to the workers ahead of the one the capture waits for."""
THREAD_MIN_EVENTS: Final = 2 * CHUNK_EVENTS
"""Documents with fewer events are written by the calling thread alone."""


def capture_document(
    engine: Engine,
    source: bytes | str | os.PathLike[str] | EPCISDocument,
    *,
    party: str | None,
    behaviour: Behaviour,
    limits: CaptureLimits,
    capture_id: str | None,
    build_rows: Callable[[Event, Mapping[str, str]], EventRows],
    partitions: PartitionManager | None,
    projectors: Sequence[Projector] = (),
) -> CaptureResult:
    """Run the whole pipeline (see the module docstring) and return what it did."""
    if behaviour not in ("rollback", "proceed"):
        raise ValueError(f"capture error behaviour must be 'rollback' or 'proceed', not {behaviour!r}")
    job = _Job(capture_id or new_capture_id(), party, behaviour, now_us(), capture_id is not None)
    collecting = gc.isenabled()
    gc.disable()  # events are acyclic dicts: the cyclic collector would only rescan them
    try:
        return _capture(engine, source, job, limits, build_rows, partitions, projectors)
    finally:
        if collecting:
            gc.enable()


def _release(events: list[Any]) -> None:
    """Let go of a parsed document's events once every chunk of them is written, before the
    projection's flush and the commit.

    Nothing reads them after: the flush and the commit need the rows and the header, which are held
    elsewhere. They are the largest thing capture holds, several hundred megabytes of dicts, lists and
    strings for the 100,000 events of the pharma flow. Let go here, that memory is free for what the
    flush and the commit allocate next (SQLite's page cache, the write-ahead log's file pages) rather
    than new memory. This benchmark machine is a virtual machine whose host is slow to hand out new
    memory in some hours. In one such hour a 310 MB SQLite commit took 1.5–1.7 s in a process holding
    a gigabyte of such dicts, and 0.54–0.60 s when the process let go of them just before (0.45–0.61 s
    holding none). In a later hour the two were the same (0.47–0.56 s), and four pairs of whole
    captures showed no difference in wall time either. The capture's peak memory was 846–849 MB
    against 897–908."""
    events.clear()


def _capture(
    engine: Engine,
    source: bytes | str | os.PathLike[str] | EPCISDocument,
    job: _Job,
    limits: CaptureLimits,
    build_rows: Callable[[Event, Mapping[str, str]], EventRows],
    partitions: PartitionManager | None,
    projectors: Sequence[Projector],
) -> CaptureResult:
    try:
        read = read_input(source, limits)
    except (CaptureFormatError, CaptureLimitError) as exc:
        if job.given:
            kind = "Document too large" if isinstance(exc, CaptureLimitError) else "Unreadable document"
            finish_failed_job(engine, job.capture_id, CaptureProblem(VALIDATION_EXCEPTION, kind, str(exc)))
        raise
    events = read.doc.events
    event_count = len(events)
    checker = _Checker(read, job.behaviour, build_rows)
    transaction = _Transaction(engine, job, read, partitions, projectors)
    try:
        if checker.storing:
            if partitions is not None:
                partitions.ensure_months(likely_months(e.get("eventTime") for e in events if type(e) is dict))
            if len(events) >= THREAD_MIN_EVENTS:
                pipeline = _Pipeline(transaction)
                pipeline.start()
                finished = False
                try:
                    for chunk in checker.chunks(CHUNK_EVENTS):
                        if checker.storing:
                            pipeline.send(chunk)
                            transaction.advance()  # while the writer has chunks queued
                    pipeline.finish(transaction.advance)  # the projection works while the last chunks go in
                    finished = True
                finally:
                    if not finished:
                        pipeline.finish()
                if read.owned:
                    _release(events)
            else:  # a small document: check it all, then take the lock only for the writes
                chunks = list(checker.chunks(CHUNK_EVENTS))
                if checker.storing:
                    transaction.begin()
                    for chunk in chunks:
                        transaction.write(chunk)
        else:
            for _ in checker.chunks(CHUNK_EVENTS):
                pass  # validate the rest, for the report
        problems = checker.problems()
        success = checker.invalid == 0 and not checker.document_invalid
        duplicates = checker.duplicates + transaction.duplicates
        if checker.storing:
            transaction.commit(
                event_count=event_count, duplicates=duplicates, problems=problems, success=success
            )
            first = transaction.first_pk if transaction.captured else None
            last = transaction.last_pk if transaction.captured else None
            captured = transaction.captured
        else:
            transaction.close()
            with engine.begin() as connection:
                _write_job(
                    connection,
                    job,
                    finished_at_us=now_us(),
                    success=False,
                    event_count=event_count,
                    captured=0,
                    duplicates=checker.duplicates,
                    problems=problems,
                )
            first = last = None
            captured, duplicates = 0, checker.duplicates
    finally:
        transaction.close()
    return CaptureResult(
        capture_id=job.capture_id,
        event_count=event_count,
        captured=captured,
        duplicates=duplicates,
        errors=problems,
        success=success,
        first_event_pk=first,
        last_event_pk=last,
    )
