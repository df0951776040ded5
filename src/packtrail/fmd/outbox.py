"""The outbox: messages to other nodes and webhooks, written with the change that caused them.

A node never calls another node inside a store transaction for something that
must not be lost (an upload for a national system, an alert for the hub, a
webhook for a product owner). It writes an outbox row in the same transaction
as the change; after the commit, the :class:`Relay` sends it, and keeps
retrying with backoff until the receiver answers. A crash between commit and
send loses nothing; receivers de-duplicate (delivery is at least once).

Rows for one target go out in order: when a message to a target fails, the
later ones to it wait, so a batch never reaches a national system before its
product's master data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from packtrail.fmd import schema as t
from packtrail.fmd.clock import to_us
from packtrail.fmd.storage import Storage

__all__ = ["Relay", "Sender", "enqueue"]

log = logging.getLogger("packtrail.fmd.outbox")

Sender = Callable[[str, str, Mapping[str, Any]], Awaitable[None]]
"""``send(target, kind, payload)``: deliver one message or raise."""

MAX_BACKOFF_S = 30.0


def _real_us() -> int:
    # Scheduling uses real time, never the node's (test-settable) clock.
    return int(time.time() * 1_000_000)


def enqueue(conn: Connection, target: str, kind: str, payload: Mapping[str, Any], now: datetime) -> int:
    """Write one message for ``target`` in the caller's transaction; returns its sequence number."""
    return int(
        conn.execute(
            sa.insert(t.outbox)
            .values(
                target=target,
                kind=kind,
                payload=orjson.dumps(payload).decode(),
                created_us=to_us(now),
                attempts=0,
                next_us=0,
            )
            .returning(t.outbox.c.seq)
        ).scalar_one()
    )


class Relay:
    """Sends due outbox rows through ``send`` and records the outcome."""

    def __init__(self, storage: Storage, send: Sender) -> None:
        self.storage = storage
        self.send = send
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Ask the running relay to flush now (callable from any thread, e.g. store work on a worker)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    def pending(self, target: str | None = None) -> int:
        """How many messages (for ``target``, or all) are not delivered yet."""
        query = sa.select(sa.func.count()).select_from(t.outbox).where(t.outbox.c.delivered_us.is_(None))
        if target is not None:
            query = query.where(t.outbox.c.target == target)
        with self.storage.read() as conn:
            return int(conn.execute(query).scalar_one())

    async def flush(self, seqs: Iterable[int] | None = None, *, force: bool = False) -> dict[int, bool]:
        """Try the due messages (only ``seqs`` when given; ``force`` ignores the backoff) in order; returns
        which were delivered."""
        wanted = None if seqs is None else set(seqs)
        async with self._lock:
            query = sa.select(t.outbox).where(t.outbox.c.delivered_us.is_(None))
            if not force:
                query = query.where(t.outbox.c.next_us <= _real_us())
            with self.storage.read() as conn:
                rows = conn.execute(query.order_by(t.outbox.c.seq).limit(500)).mappings().all()
            blocked: set[str] = set()
            result: dict[int, bool] = {}
            for row in rows:
                if row["target"] in blocked:
                    continue
                if wanted is not None and row["seq"] not in wanted:
                    continue
                try:
                    await self.send(row["target"], row["kind"], orjson.loads(row["payload"]))
                except Exception as exc:  # any failure: retry later, keep the order for this target
                    blocked.add(row["target"])
                    result[row["seq"]] = False
                    self._failed(row["seq"], row["attempts"] + 1, f"{type(exc).__name__}: {exc}")
                else:
                    result[row["seq"]] = True
                    with self.storage.write() as conn:
                        conn.execute(
                            sa.update(t.outbox)
                            .where(t.outbox.c.seq == row["seq"])
                            .values(delivered_us=_real_us(), attempts=row["attempts"] + 1, last_error=None)
                        )
            return result

    def _failed(self, seq: int, attempts: int, error: str) -> None:
        backoff = min(0.25 * 2**attempts, MAX_BACKOFF_S)
        log.info("outbox message %s not delivered (attempt %s): %s", seq, attempts, error)
        with self.storage.write() as conn:
            conn.execute(
                sa.update(t.outbox)
                .where(t.outbox.c.seq == seq)
                .values(
                    attempts=attempts, next_us=_real_us() + int(backoff * 1_000_000), last_error=error[:500]
                )
            )

    def reset_target(self, target: str) -> None:
        """Make every waiting message for ``target`` due now (the receiver announced it is back)."""
        with self.storage.write() as conn:
            conn.execute(
                sa.update(t.outbox)
                .where((t.outbox.c.target == target) & t.outbox.c.delivered_us.is_(None))
                .values(next_us=0)
            )

    async def run(self, interval: float = 0.5) -> None:
        """Flush due messages when :meth:`wake` is called, and every ``interval`` seconds, until cancelled."""
        self._loop = asyncio.get_running_loop()
        while True:
            try:
                await self.flush()
            except Exception:  # keep relaying whatever one round met
                log.exception("outbox relay round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
