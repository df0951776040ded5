"""The lifecycle projection kept in the capture transaction: incremental when events come in eventTime
order, recomputed from the log for the identifiers a late event concerns.

Capture hands the projector each chunk of inserted events (:meth:`LifecycleProjector.project`: the
chunk is kept) and, once, before it commits, lets it write (:meth:`LifecycleProjector.flush`). A large
capture writes in a thread of its own; the thread that feeds it calls
:meth:`LifecycleProjector.advance` meanwhile, which applies the chunks written so far a step at a time
(2. below, in capture order) as long as the document comes in eventTime order — on two cores the
projection is then worked out beside the inserts instead of after the last one (the 100,000-event
pharma capture, in process: 9.6–10.1 s against 10.3 on SQLite, 10.3–10.6 against 10.9–11.2 on
PostgreSQL; the two threads share one interpreter lock, so not all of it is gained). Everything runs under the
capture lock, on the capture's connection, each statement under its
:func:`~packtrail.store.bulk.statement_lock` (see :mod:`packtrail.store.projection`). At the flush:

1. if captures ran without the projector (``lifecycle_meta.projected_through`` is behind), the events
   missed are applied first, from the log;
2. the capture's events not applied yet are sorted by ``(eventTime, event_pk)`` and applied
   :data:`APPLY_EVENTS` at a time: the items a step names that are not in memory yet are read, with the containers stored inside
   them (one statement per containment level), and one :class:`~packtrail.lifecycle.replay.Replayer`
   applies the events in memory. The packs inside a container read from the database (its *leaves*)
   stay there: an event that reaches them through the container is noted for it
   (:attr:`~packtrail.lifecycle.replay.Replayer.deferred`) and applied to their rows in SQL at the flush
   (:mod:`packtrail.lifecycle.leaves`: one ``UPDATE`` per container for all its events up to one
   that destroys or dispenses what it holds); a pack named later in the capture is read then and gets
   the noted events first; an unpacking of everything reads the container's packs before it applies;
3. when an event applied to an identifier whose last event was later (it arrived late), the identifiers
   it names and every identifier ever aggregated with them, transitively (their containment component,
   from ``event_epcs``), are recomputed: their events read back from the log and replayed in eventTime
   order from nothing, written at once, and dropped from memory. Components do not influence each
   other, so the rest stands;
4. the events noted for containers are applied to their leaves in the database (none is late for
   a leaf: a container's last event is never earlier than its leaves', so it would have been late for
   the container, step 3), new items are inserted (COPY on PostgreSQL), changed ones rewritten, exceptions inserted and the watermark
   moved — each a handful of statements; an item is written once per capture (more often only when
   the capture holds more than :data:`MAX_PENDING` items in memory).

So the projection always equals a replay of the whole log in ``(eventTime, event_pk)`` order, which is
what :func:`rebuild` computes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy.engine import Connection

from packtrail.lifecycle.db import Db
from packtrail.lifecycle.facts import EventFacts, facts_of
from packtrail.lifecycle.replay import Item, Replayer
from packtrail.store import schema
from packtrail.store.engine import IMMEDIATE
from packtrail.store.projection import StoredEventInfo

if TYPE_CHECKING:
    from packtrail.store import Store

__all__ = [
    "Batch",
    "LifecycleProjector",
    "attach",
    "catch_up",
    "component",
    "locked",
    "rebuild",
    "recompute",
]

CHUNK: Final = 4096
"""Events per batch when applying from the log (catch-up, rebuild)."""
APPLY_EVENTS: Final = 16_384
"""Events a capture's flush applies per step (each step reads the items it names at once)."""
MAX_PENDING: Final = 200_000
"""Items kept in memory by one capture before they are written out."""


class Batch:
    """The projection's in-memory state while one transaction applies events: the items read or made so
    far (with their rows as read), the exceptions found; written by :meth:`flush`."""

    def __init__(self, db: Db) -> None:
        self.db = db
        self.before: dict[str, tuple[Any, ...]] = {}
        """Rows as read from the database, of the items read."""
        self.replay = self._replayer()
        self.unapplied: Callable[[int], bool] = _none
        """True for an event_pk in the log that this batch has still to apply (a recomputation from
        the log leaves it out: it is applied when its turn comes)."""

    def _replayer(self) -> Replayer:
        replay = Replayer()
        replay.load_leaves = self._load_leaves
        return replay

    def _load_leaves(self, container: str) -> dict[str, Item]:
        return self.db.leaves_of(container, self.replay.items, self.before)

    def apply(self, facts: list[EventFacts]) -> None:
        """Apply events (any order among themselves; after everything applied before)."""
        db, replay = self.db, self.replay
        facts.sort(key=lambda f: (f.time_us, f.pk))
        named: set[str] = set()
        for f in facts:
            named.update(f.all_epcs)
        named.difference_update(replay.items)
        stored = db.items(named, rows=self.before)  # the rows as read: what flush() compares with
        replay.late = []
        if stored:
            # the containers inside them, not the packs: events reaching those are applied in SQL
            db.with_containers(stored, known=replay.items, read=self.before)
            replay.add(stored)
            replay.unloaded.update(epc for epc, item in stored.items() if item.container)
        for f in facts:
            replay.apply(f)
        if replay.late:
            seeds: set[str] = set()
            for f in replay.late:
                seeds.update(f.all_epcs)
            redone = component(db, seeds)
            replay.forget(redone)
            for epc in redone:
                self.before.pop(epc, None)
            recompute(db, redone, self.unapplied)
        if len(replay.items) > MAX_PENDING:
            self.flush()

    def flush(self) -> None:
        """Write what changed and start afresh: the events noted for the stored leaves of containers
        (:meth:`Db.apply_to_leaves`), then the items in memory."""
        db, replay, before = self.db, self.replay, self.before
        items, deferred = replay.items, replay.deferred
        exclude: dict[str, list[str]] = {}
        rewrite: set[str] = set()
        if deferred:
            # a noted event is never late for a stored leaf: it would have been late for the
            # container (whose last event is never earlier than its leaves'), and recomputed
            for epc, row in before.items():  # leaves in memory: rewritten below, as they are now
                if row[12] in deferred:
                    exclude.setdefault(row[12], []).append(epc)
                    rewrite.add(epc)
            # before the items in memory are written: a leaf this batch put into a container with
            # noted events must not get them (the rows still say where each leaf was when read)
            db.apply_to_leaves(deferred, exclude)
        db.insert_items(items[epc] for epc in replay.touched if epc not in before)
        touched = replay.touched | rewrite
        db.update_items(((before[epc], items[epc].row()) for epc in touched if epc in before), rewrite)
        db.insert_exceptions(replay.exceptions)
        db.bump_items(replay.bumps)
        self.replay = self._replayer()
        self.before = {}


class LifecycleProjector:
    """The :class:`~packtrail.store.projection.EarlyProjector` of the lifecycle tables.

    :meth:`project` (capture's writer thread) only keeps each chunk; :meth:`advance` (the thread that
    feeds the writer, while it waits) reads their facts and applies them, :data:`APPLY_EVENTS` at a
    time in capture order, for as long as the document comes in eventTime order (a step none of whose
    events is earlier than one applied before); :meth:`flush` applies the rest in eventTime order and
    writes. The result is the same as applying everything at the flush: a step in capture order is a
    step in eventTime order as long as the order check holds, and once it fails everything left waits
    for the flush, where what is earlier than an applied event is late, as for any later capture.
    """

    def __init__(self) -> None:
        self._transaction: Any = None
        self._chunks: deque[Sequence[StoredEventInfo]] = deque()
        """Chunks :meth:`project` was given, not yet read (appended by one thread, taken by another)."""
        self._pending: list[EventFacts] = []
        """Facts read and not yet applied, in event_pk order."""
        self._last_pk = 0
        self._batch: Batch | None = None
        """The batch the events applied early went into (None: nothing applied yet)."""
        self._applied_time = -(1 << 62)
        """The latest eventTime applied early (µs)."""
        self._in_order = True
        """False once a step failed the order check: the rest waits for the flush."""

    def _start(self, transaction: Any) -> None:
        self._transaction = transaction
        self._chunks = deque()
        self._pending = []
        self._last_pk = 0
        self._batch = None
        self._applied_time = -(1 << 62)
        self._in_order = True

    def project(self, connection: Connection, events: Sequence[StoredEventInfo]) -> None:
        """Take a chunk of just-captured events: kept for :meth:`advance` or :meth:`flush` (the writer
        thread does nothing more with them)."""
        transaction = connection.get_transaction()
        if self._transaction is not transaction:  # a new capture (or a failed one's leftovers)
            self._start(transaction)
        self._chunks.append(events)

    def _read(self) -> None:
        """The facts of the chunks projected so far, into ``_pending``."""
        chunks, pending = self._chunks, self._pending
        while chunks:
            chunk = chunks.popleft()
            pending.extend(facts_of(e.event_pk, e.rows, e.event_id, e.captured_by) for e in chunk)
            self._last_pk = chunk[-1].event_pk

    def _begin(self, db: Db, first: int) -> Batch:
        """The capture's batch, after the events missed while no projector was attached."""
        through = db.key_lookups()
        if through < first - 1:
            _apply_log(db, through, first - 1)
        self._batch = Batch(db)
        return self._batch

    def advance(self, connection: Connection) -> bool:
        """Apply the next :data:`APPLY_EVENTS` projected events (capture order) if that many wait and the
        document has come in eventTime order so far; True when a step was applied."""
        if self._transaction is not connection.get_transaction() or not self._in_order:
            return False
        self._read()
        pending = self._pending
        if len(pending) < APPLY_EVENTS:
            return False
        step = pending[:APPLY_EVENTS]
        if min(f.time_us for f in step) < self._applied_time:  # some may be late: leave it to flush()
            self._in_order = False
            return False
        del pending[:APPLY_EVENTS]
        batch = self._batch or self._begin(Db(connection), step[0].pk)
        self._applied_time = max(f.time_us for f in step)
        batch.unapplied = step[-1].pk.__lt__  # the capture's later events
        batch.apply(step)
        return True

    def flush(self, connection: Connection) -> None:
        """Apply the capture's remaining events in eventTime order and write the changes (once, before
        it commits)."""
        if self._transaction is not connection.get_transaction():
            return
        self._read()
        pending, batch, last = self._pending, self._batch, self._last_pk
        self._start(None)
        if not pending and batch is None:
            return
        db = batch.db if batch is not None else Db(connection)
        if batch is None:
            batch = self._begin(db, pending[0].pk)
        pending.sort(key=lambda f: (f.time_us, f.pk))
        waiting = {f.pk for f in pending}
        batch.unapplied = waiting.__contains__
        for at in range(0, len(pending), APPLY_EVENTS):
            step = pending[at : at + APPLY_EVENTS]
            waiting.difference_update(f.pk for f in step)
            batch.apply(step)
        batch.flush()
        db.set_projected_through(last)


def attach(store: Store) -> LifecycleProjector:
    """Keep ``store``'s lifecycle projection in every later capture (idempotent); returns the projector."""
    for projector in store.projectors:
        if isinstance(projector, LifecycleProjector):
            return projector
    projector = LifecycleProjector()
    store.add_projector(projector)
    return projector


def component(db: Db, seeds: set[str]) -> set[str]:
    """``seeds`` and every identifier ever aggregated with them, transitively."""
    found = set(seeds)
    frontier = set(seeds)
    while frontier:
        frontier = db.linked(frontier) - found
        found |= frontier
    return found


def _none(pk: int) -> bool:
    return False


def recompute(db: Db, epcs: set[str], unapplied: Callable[[int], bool] = _none) -> None:
    """Replace the items and exceptions of ``epcs`` (a union of containment components) by a replay of
    their events from the log (but those ``unapplied`` says are still to come)."""
    replay = Replayer(track=epcs)
    for f, _ in db.events([pk for pk in db.event_pks(epcs) if not unapplied(pk)]):
        replay.apply(f)
    db.delete_items(epcs)
    db.insert_items(replay.items.values())
    db.insert_exceptions(replay.exceptions)


def _apply_log(db: Db, after: int, through: int) -> None:
    """Apply the logged events ``after < event_pk <= through`` in capture order, a chunk at a time."""
    batch = Batch(db)
    while after < through:
        pks = db.pks_after(after, through, CHUNK)
        if not pks:
            break
        done = pks[-1]
        batch.unapplied = done.__lt__  # the log's later events: their chunks come next
        batch.apply([f for f, _ in db.events(pks)])
        after = done
    batch.flush()
    db.set_projected_through(through)


@contextmanager
def locked(store: Store) -> Iterator[Db]:
    """A transaction holding the capture lock (no capture runs meanwhile), committed at the end."""
    with store.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.execution_options(**{IMMEDIATE: True})
        with connection.begin():
            db = Db(connection)
            lock = "SELECT value FROM store_counters WHERE name = ?"
            db.fetch(lock + (" FOR UPDATE" if db.postgres else ""), (schema.EVENT_PK_COUNTER,))
            yield db


def catch_up(store: Store) -> int:
    """Apply the events captured while no projector was attached; returns how many event_pks it covered.

    Cheap when the projection is current (one read); otherwise takes the capture lock."""
    with store.engine.connect() as connection:
        db = Db(connection)
        through, last = db.projected_through(), db.last_event_pk()
        connection.rollback()
    if through >= last:
        return 0
    with locked(store) as db:
        through, last = db.projected_through(), db.last_event_pk()
        if through < last:
            _apply_log(db, through, last)
        return max(0, last - through)


def rebuild(store: Store) -> int:
    """Recompute the whole projection from the event log, in ``(eventTime, event_pk)`` order, under the
    capture lock; returns the number of events applied."""
    with locked(store) as db:
        db.clear()
        last = db.last_event_pk()
        batch = Batch(db)
        after: tuple[int, int] | None = None
        applied = 0  # in eventTime order nothing is late: no recomputation, nothing left out
        while True:
            keys = db.pks_by_time(after, CHUNK)
            if not keys:
                break
            batch.apply([f for f, _ in db.events([pk for _, pk in keys])])
            applied += len(keys)
            after = keys[-1]
        batch.flush()
        db.set_projected_through(last)
        return applied
