"""Projections: read models that capture keeps up to date in its own transaction.

A projector (the lifecycle projection of :mod:`packtrail.lifecycle` is one) is handed every chunk of
events right after capture inserted them (:meth:`Projector.project`), then told to write what it still
holds once, just before the commit (:meth:`Projector.flush`) — so that what changes in several chunks
of one capture is written once. Both run on the capture's connection, inside its transaction and under
its lock: what the projector writes commits or rolls back with the events (a capture that fails is
never flushed: the projector drops what it held when the next capture's first chunk arrives on another
transaction). It sees the events in ``event_pk`` order (capture order, not eventTime order) and must
keep up with that on its own.

A projector may also work while capture still writes (:class:`EarlyProjector`): a large capture writes
its chunks in a thread of its own, and between handing them over the calling thread calls
:meth:`EarlyProjector.advance`, on the same connection (each statement under
:func:`packtrail.store.bulk.statement_lock`, so the two threads' statements never interleave) — work
done there is not left for the flush, after the last insert, when the other core has nothing to do.

The store knows projectors only through this protocol (``store`` never imports the packages that
project): ``Store.add_projector(projector)``.

>>> class Counter:
...     seen = 0
...     def project(self, connection, events):
...         Counter.seen += len(events)
...     def flush(self, connection):
...         pass
>>> isinstance(Counter(), Projector)
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from packtrail.store.index_rows import EventRows

__all__ = ["EarlyProjector", "Projector", "StoredEventInfo"]


class StoredEventInfo(NamedTuple):
    """One event capture has just inserted."""

    event_pk: int
    """Its ``event_pk`` (capture order)."""
    event: Mapping[str, Any]
    """The event as captured (JSON-LD shape; ``recordTime`` and a missing ``eventID`` may be absent)."""
    rows: EventRows
    """Its index rows (canonical EPCs, bare CBV words, eventTime in microseconds…)."""
    event_id: str
    """Its eventID (the one given, else its event hash)."""
    captured_by: str | None
    """GLN of the party that captured it; None for the local administrator."""


@runtime_checkable
class Projector(Protocol):
    """Something that keeps a read model in step with captured events."""

    def project(self, connection: Connection, events: Sequence[StoredEventInfo]) -> None:
        """Apply ``events`` (inserted on ``connection``, in ``event_pk`` order, never empty); raising
        rolls the whole capture back."""

    def flush(self, connection: Connection) -> None:
        """Write what is still held, before the capture commits (once per capture that stored events)."""


@runtime_checkable
class EarlyProjector(Projector, Protocol):
    """A projector that can work on the chunks already projected while capture writes the next ones."""

    def advance(self, connection: Connection) -> bool:
        """Work on what :meth:`project` was given so far, called from the thread that hands capture its
        chunks (not the one that writes them and calls :meth:`project`); True when it did some work.
        Statements run under the connection's :func:`~packtrail.store.bulk.statement_lock`."""
