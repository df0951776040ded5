"""The outbox relay: committed EPCIS events -> NATS JetStream, at least once, never lost.

Capture writes, in the same transaction as the events, one ``outbox`` row per document naming the
event_pk range it stored. The relay reads the rows not yet ``done`` (oldest first), publishes each
event of the range in event_pk order (= recordTime order) to a JetStream stream, waits for the
stream's acknowledgement (PubAck), and only then records progress in ``published_through``.

A relay that dies between publishing and recording progress publishes those events again when it
restarts. Each message carries ``Nats-Msg-Id: <eventID>``, so JetStream's duplicate window drops
the repeats: a consumer sees every event exactly once. Nothing is lost either, because progress is
written only after the PubAck.

Subjects say what happened, so consumers can filter on the server:
``{prefix}.{eventType}.{bizStep}`` with the bizStep's bare CBV word, ``other`` for a non-CBV URI
and ``none`` when the event has no bizStep:

>>> event_subject("packtrail.epcis.events", "ObjectEvent", "shipping")
'packtrail.epcis.events.ObjectEvent.shipping'
>>> event_subject("packtrail.epcis.events", "ObjectEvent", "https://ns.example.com/bizstep/pack")
'packtrail.epcis.events.ObjectEvent.other'
>>> event_subject("packtrail.epcis.events", "AggregationEvent", None)
'packtrail.epcis.events.AggregationEvent.none'
>>> subject_token("a.b c*>")
'a_b_c__'

Run it beside the server (``await OutboxRelay(store, "nats://127.0.0.1:4222").run_forever()``),
or once per cron tick with :meth:`OutboxRelay.run_once`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import nats
import sqlalchemy as sa
from nats.js.api import PubAck, StreamConfig
from nats.js.errors import NotFoundError

from packtrail.store import schema

if TYPE_CHECKING:
    from nats.aio.client import Client as NATS
    from nats.js.client import JetStreamContext

    from packtrail.store.store import Store

__all__ = ["DEFAULT_STREAM", "DEFAULT_SUBJECT_PREFIX", "OutboxRelay", "event_subject", "subject_token"]

log = logging.getLogger(__name__)

DEFAULT_STREAM: Final = "PACKTRAIL_EVENTS"
"""The JetStream stream the relay publishes to (created when missing)."""
DEFAULT_SUBJECT_PREFIX: Final = "packtrail.epcis.events"
"""Subjects are ``{prefix}.{eventType}.{bizStep}``; the stream listens on ``{prefix}.>``."""

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_\-]")


def subject_token(text: str) -> str:
    """``text`` as one NATS subject token: every character but letters, digits, ``_`` and ``-``
    (dots, wildcards, spaces...) becomes ``_``; empty text becomes ``_``."""
    return _UNSAFE.sub("_", text) or "_"


def event_subject(prefix: str, event_type: str, biz_step: str | None) -> str:
    """The subject of one event: ``{prefix}.{eventType}.{bizStep bare word | other | none}``."""
    if biz_step is None:
        step = "none"
    elif ":" in biz_step or "/" in biz_step:
        step = "other"  # a URI outside the CBV: too long and too free for a subject token
    else:
        step = subject_token(biz_step)
    return f"{prefix}.{subject_token(event_type)}.{step}"


@dataclass(frozen=True)
class _Event:
    event_pk: int
    event_id: str
    subject: str
    capture_id: str
    document: bytes


class OutboxRelay:
    """Publishes the events of pending outbox rows to JetStream, with ``Nats-Msg-Id = eventID``.

    ``batch_size`` events are in flight at once; ``published_through`` moves after each batch's
    PubAcks. ``duplicate_window`` (seconds) is set on a stream the relay creates: a restart must
    come within it for JetStream to drop the repeats. ``on_published(event_pk, ack)`` is called after
    each acknowledged event (metrics; the crash test uses it to die mid-batch).
    """

    def __init__(
        self,
        store: Store,
        nats_url: str,
        *,
        stream: str = DEFAULT_STREAM,
        subject_prefix: str = DEFAULT_SUBJECT_PREFIX,
        batch_size: int = 500,
        duplicate_window: float = 120.0,
        ack_timeout: float = 10.0,
        on_published: Callable[[int, PubAck], None] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.store = store
        self.nats_url = nats_url
        self.stream = stream
        self.subject_prefix = subject_prefix.rstrip(".")
        self.batch_size = batch_size
        self.duplicate_window = duplicate_window
        self.ack_timeout = ack_timeout
        self.on_published = on_published
        self.published = 0
        """Events acknowledged by JetStream since this relay started (repeats included)."""
        self.duplicates = 0
        """Of those, how many JetStream recognised as already stored (repeats after a crash)."""
        self._nc: NATS | None = None
        self._js: JetStreamContext | None = None

    # -- connection -------------------------------------------------------------------------------------

    async def connect(self) -> JetStreamContext:
        """Connect to NATS (once) and make sure the stream exists; returns the JetStream context."""
        if self._js is None:
            self._nc = await nats.connect(self.nats_url, name="packtrail-outbox-relay")
            self._js = self._nc.jetstream(timeout=self.ack_timeout)
            await self.ensure_stream()
        return self._js

    async def ensure_stream(self) -> None:
        """Create the stream (subjects ``{prefix}.>``, duplicate window) unless it exists already."""
        assert self._js is not None
        try:
            await self._js.stream_info(self.stream)
        except NotFoundError:
            await self._js.add_stream(
                StreamConfig(
                    name=self.stream,
                    subjects=[f"{self.subject_prefix}.>"],
                    duplicate_window=self.duplicate_window,
                )
            )

    async def close(self) -> None:
        """Drain and close the NATS connection."""
        if self._nc is not None:
            await self._nc.drain()
        self._nc = None
        self._js = None

    async def __aenter__(self) -> OutboxRelay:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the work ---------------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Publish everything pending now; returns how many events were published (acknowledged)."""
        js = await self.connect()
        total = 0
        while True:
            batch = await asyncio.to_thread(self._next_batch)
            if batch is None:
                return total
            outbox_pk, last_event_pk, events = batch
            done_through, failure = await self._publish(js, events)
            if done_through is not None:  # progress only for what JetStream acknowledged
                await asyncio.to_thread(self._advance, outbox_pk, done_through, last_event_pk)
            if failure is not None:
                raise failure
            total += len(events)

    async def run_forever(self, poll_interval: float = 0.5, *, stop: asyncio.Event | None = None) -> None:
        """Relay until ``stop`` is set (or the task is cancelled), polling the outbox every
        ``poll_interval`` seconds when idle. A failed round (NATS or database down) is logged and
        retried after the interval: progress is in the database, so nothing is lost meanwhile."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                published = await self.run_once()
            except (OSError, TimeoutError, nats.errors.Error, sa.exc.SQLAlchemyError) as exc:
                log.warning("outbox relay round failed, retrying in %ss: %s", poll_interval, exc)
                await self._reset()
                published = 0
            if published:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_interval)

    async def _reset(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.close()

    async def _publish(
        self, js: JetStreamContext, events: Sequence[_Event]
    ) -> tuple[int | None, BaseException | None]:
        """Publish ``events`` in order, pipelined (all sent, then all PubAcks awaited). Returns the
        event_pk through which every event is acknowledged (None: not even the first) and the first
        failure, if any."""
        futures: list[asyncio.Future[PubAck]] = []
        for event in events:
            headers = {"Nats-Msg-Id": event.event_id, "GS1-Capture-ID": event.capture_id}
            futures.append(
                await js.publish_async(event.subject, event.document, stream=self.stream, headers=headers)
            )
        acks = await asyncio.gather(
            *(asyncio.wait_for(f, self.ack_timeout) for f in futures), return_exceptions=True
        )
        done_through: int | None = None
        for event, ack in zip(events, acks, strict=True):
            if isinstance(ack, BaseException):
                return done_through, ack
            self.published += 1
            self.duplicates += bool(ack.duplicate)
            if self.on_published is not None:
                self.on_published(event.event_pk, ack)
            done_through = event.event_pk
        return done_through, None

    # -- database (run in a worker thread) ----------------------------------------------------------------

    def _next_batch(self) -> tuple[int, int, list[_Event]] | None:
        """The oldest pending outbox row and up to ``batch_size`` of its events not yet published."""
        outbox, events = schema.outbox, schema.events
        with self.store.engine.connect() as conn:
            while True:
                row = conn.execute(
                    sa.select(
                        outbox.c.outbox_pk,
                        outbox.c.first_event_pk,
                        outbox.c.last_event_pk,
                        outbox.c.published_through,
                    )
                    .where(outbox.c.done == sa.false())
                    .order_by(outbox.c.outbox_pk)
                    .limit(1)
                ).first()
                if row is None:
                    return None
                after = max(row.first_event_pk - 1, row.published_through or 0)
                rows = conn.execute(
                    sa.select(
                        events.c.event_pk,
                        events.c.event_id,
                        events.c.event_type,
                        events.c.biz_step,
                        events.c.capture_id,
                        events.c.document,
                    )
                    .where(events.c.event_pk > after, events.c.event_pk <= row.last_event_pk)
                    .order_by(events.c.event_pk)
                    .limit(self.batch_size)
                ).all()
                if rows:
                    batch = [
                        _Event(
                            event_pk=int(r.event_pk),
                            event_id=r.event_id,
                            subject=event_subject(self.subject_prefix, r.event_type, r.biz_step),
                            capture_id=r.capture_id,
                            document=bytes(r.document),
                        )
                        for r in rows
                    ]
                    return int(row.outbox_pk), int(row.last_event_pk), batch
                # everything of this row is published (a crash after the last batch): close it
                conn.execute(outbox.update().where(outbox.c.outbox_pk == row.outbox_pk).values(done=True))
                conn.commit()

    def _advance(self, outbox_pk: int, done_through: int, last_event_pk: int) -> None:
        outbox = schema.outbox
        values: dict[str, Any] = {"published_through": done_through}
        if done_through >= last_event_pk:
            values["done"] = True
        with self.store.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.outbox_pk == outbox_pk).values(**values))
