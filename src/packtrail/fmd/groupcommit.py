"""Group commit: single-pack transactions that arrive together share one store transaction.

Every G110 … G180 writes (the stored answer under its ``clientTrxId``, the audit entry with its
hash-chain link, maybe the pack and an alert), so every request used to pay one commit — on
PostgreSQL a WAL flush (``fsync``) and the audit chain's head row locked until it, which capped a
node at 650–900 requests/s. :class:`GroupCommit` queues each request's store work and runs the
queue in one transaction: the requests are applied one after another, in arrival order, each
seeing the ones before it (so the hash chain is linked in that order and a replayed
``clientTrxId`` inside one group gets the first answer), then one commit. **No answer leaves before
its commit**: each caller's future is resolved only after the commit returned, so durability is
unchanged (``synchronous_commit`` stays on) — only the cost of a commit is shared.

- On SQLite the queue runs on the event loop, after the callbacks that are ready (the requests
  that arrived in the same poll join); SQLite work is in-process and short.
- On PostgreSQL one worker drains the queue: while a group commits, the next one gathers, so the
  group size follows the load (one request when idle, dozens under a burst). A group whose
  requests need no statement of their own — verifies and replays, whose answers and packs are read
  in advance and whose answers and audit entries are written at the end — runs on the event loop
  over an asynchronous connection: two round trips (the read; ``BEGIN``, the writes and ``COMMIT``
  in one pipeline), no thread hand-over (at 1,000 verifies/s p50 1.7 ms instead of 2.4–2.9 ms). Any
  other group — a state change, a repeat to count, master data not yet in memory, an alert — runs
  in a worker thread on a connection it keeps (:meth:`packtrail.fmd.storage.Storage.group_write`):
  the loop's attempt stops at the first statement a request needs (before anything is written)
  and the thread runs the group from the start, on what the loop read (not read twice). Both paths
  write a group with the same statements (:meth:`packtrail.fmd.storage.Storage.stage_statements`). Running two
  workers on two connections (requests about one pack in one lane) was measured slower on the
  2-core benchmark machine: smaller groups, more CPU per request (p50 3.1 ms against 2.8 ms).

Inside a group the per-request round trips are cut too (:meth:`packtrail.fmd.storage.Storage.staged`):
each request's stored answer and pack are read for the whole group in one statement before it runs
(a pack changed earlier in the group is read afresh), and the stored answers and audit entries are
written at its end — the audit chain linked in memory under the head row's lock — with one
statement each. A verify then costs the group's store no round trip of its own.

When a group fails (a constraint, a deadlock), it is rolled back and each of its requests is run
again alone, so one bad request fails only itself. When the connection was lost, the group runs
again on a new one (a request whose commit the loss hid finds its stored answer: idempotent).

>>> import asyncio, tempfile
>>> from packtrail.fmd.storage import open_storage
>>> storage = open_storage(f"sqlite:///{tempfile.mkdtemp()}/gc.db", role="national", market="DE")
>>> async def demo() -> list[int]:
...     group = GroupCommit(storage)
...     one = lambda conn: conn.exec_driver_sql("SELECT 1").scalar_one()
...     return list(await asyncio.gather(*(group.run(one) for _ in range(3))))
>>> asyncio.run(demo())
[1, 1, 1]
>>> storage.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from packtrail.fmd.audit import PIPELINED_ENTRIES
from packtrail.fmd.model import PackRecord
from packtrail.fmd.storage import NeedsStatements, Recorded, StagedWrites, Storage

__all__ = ["MAX_GROUP", "GroupCommit"]

log = logging.getLogger("packtrail.fmd.groupcommit")

MAX_GROUP: Final = 256
"""At most this many requests share one transaction (bounds the work a failed group repeats)."""

_T = TypeVar("_T")
_Lookup = tuple[str, str, str, str]
_Prefetched = dict[_Lookup, tuple[Recorded | None, tuple[PackRecord, int] | None]]
_Item = tuple[Callable[[Connection], Any], "asyncio.Future[Any]", _Lookup | None]


class GroupCommit:
    """Run store work ``fn(conn)`` of concurrent requests in shared transactions (see the module)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.inline = storage.dialect == "sqlite"
        self._pending: list[_Item] = []
        self._scheduled = False
        self._wake: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._async: tuple[asyncio.AbstractEventLoop, Any] | None = None
        """PostgreSQL: the event loop and its asynchronous connection (:meth:`_on_loop`)."""
        self.groups = 0
        """Transactions committed so far (with :attr:`requests`: the mean group size)."""
        self.requests = 0
        self.on_loop = 0
        """PostgreSQL: of :attr:`groups`, those committed on the event loop (:meth:`_on_loop`)."""

    async def run(self, fn: Callable[[Connection], _T], lookup: _Lookup | None = None) -> _T:
        """Apply ``fn`` in a shared transaction; returns its result once that transaction committed.
        ``lookup`` — ``(client_id, clientTrxId, product_code, serial)`` — is read for the whole group
        in advance (:meth:`packtrail.fmd.storage.Storage.staged`)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_T] = loop.create_future()
        self._pending.append((fn, future, lookup))
        if self.inline:
            if not self._scheduled:
                self._scheduled = True
                loop.call_soon(self._flush_inline)
        else:
            if self._worker is None or self._worker.done():
                self._wake = asyncio.Event()
                self._worker = loop.create_task(self._drain())
            assert self._wake is not None
            self._wake.set()
        return await future

    async def stop(self) -> None:
        """Stop the PostgreSQL worker (queued requests are still answered first)."""
        if self._worker is not None:
            while self._pending:
                await asyncio.sleep(0.001)
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
        if self._async is not None:
            conn, self._async = self._async[1], None
            await conn.close()

    def _take(self) -> list[_Item]:
        group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
        return [item for item in group if not item[1].cancelled()]

    def _flush_inline(self) -> None:
        while self._pending:
            _settle(self._execute(self._take()))
        self._scheduled = False

    async def _drain(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        if self._executor is None:  # one thread of its own: no context copy, no shared pool to queue in
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fmd-group-commit")
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                group = self._take()
                done, prefetched = await self._on_loop(group)
                if done is None:
                    done = await loop.run_in_executor(self._executor, self._execute, group, prefetched)
                _settle(done)

    async def _on_loop(
        self, group: list[_Item]
    ) -> tuple[list[tuple[_Item, bool, Any]] | None, _Prefetched | None]:
        """PostgreSQL: try ``group`` on the event loop, on an asynchronous connection — no thread hand-over
        — when its requests need no statement of their own (verifies, replays: their answers and
        packs are read in advance, their answers and audit entries written at the end). Returns
        ``(None, read)``, having written nothing, when one did need a statement (a state change, a
        repeat to count, master data not in memory, an alert) — the worker thread then runs the group
        on what was read here, without reading it again — and ``(None, None)`` when anything failed."""
        if not group or len(group) > PIPELINED_ENTRIES or any(item[2] is None for item in group):
            return None, None
        lookups = list(dict.fromkeys(item[2] for item in group if item[2] is not None))
        try:
            conn = await self._async_connection()
            sql, params = self.storage.lookup_statement(lookups)
            cursor = await conn.execute(sql, params)
            stage = StagedWrites(prefetched=dict(self.storage.lookup_rows(await cursor.fetchall())))
        except Exception as exc:
            await self._drop_async(exc)
            return None, None
        read = dict(stage.prefetched)  # the requests below may stage on top of it
        staging = self.storage.staging(stage)
        try:
            values = [fn(staging) for fn, _, _ in group]
        except NeedsStatements:
            return None, read
        except Exception:  # a failure the worker thread will report for real
            return None, None
        try:
            async with conn.pipeline():
                await conn.execute("BEGIN")
                for statement, values_of in self.storage.stage_statements(stage):
                    await conn.execute(statement, values_of)
                await conn.execute("COMMIT")
        except Exception as exc:  # rolled back (or unknown, if the connection was lost: idempotent)
            await self._drop_async(exc)
            return None, None
        self.groups += 1
        self.requests += len(group)
        self.on_loop += 1
        return [(item, True, value) for item, value in zip(group, values, strict=True)], None

    async def _async_connection(self) -> Any:
        """The event loop's connection to the store (autocommit: the group sends its own BEGIN)."""
        import psycopg

        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop or self._async[1].closed:
            url = self.storage.engine.url.render_as_string(hide_password=False)
            conn = await psycopg.AsyncConnection.connect(
                url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True
            )
            self._async = (loop, conn)
        return self._async[1]

    async def _drop_async(self, exc: BaseException) -> None:
        log.info("a group on the event loop failed (%r); the worker thread runs it", exc)
        if self._async is not None:
            conn, self._async = self._async[1], None
            with contextlib.suppress(Exception):  # already broken
                await conn.close()

    def _execute(
        self, group: list[_Item], prefetched: _Prefetched | None = None
    ) -> list[tuple[_Item, bool, Any]]:
        """Run ``group`` in one transaction; on failure, each request alone. ``(item, ok, value)``.
        ``prefetched``: the group's answers and packs as read just before (its first attempt only)."""
        if not group:
            return []
        if len(group) > 1 or prefetched is not None:
            try:
                values = self._transaction(group, prefetched)
            except Exception as exc:  # rolled back: retry one by one, so only the culprit fails
                log.info("a group of %d failed (%r); running its requests one by one", len(group), exc)
            else:
                return [(item, True, value) for item, value in zip(group, values, strict=True)]
        done: list[tuple[_Item, bool, Any]] = []
        for item in group:
            try:
                (value,) = self._transaction([item])
            except Exception as exc:
                done.append((item, False, exc))
            else:
                done.append((item, True, value))
        return done

    def _transaction(self, group: list[_Item], prefetched: _Prefetched | None = None) -> list[Any]:
        """The requests of ``group`` applied in one transaction, committed (a group of one too reads its
        answer and pack in advance: on PostgreSQL two round trips in all, see
        :meth:`packtrail.fmd.storage.Storage.staged`)."""
        lookups = [item[2] for item in group if item[2] is not None]
        try:
            with (
                self.storage.group_write() as conn,
                self.storage.staged(conn, lookups, commit=True, prefetched=prefetched),
            ):
                values = [fn(conn) for fn, _, _ in group]
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # The connection was lost (a restarted server, a killed backend): run the group again on a
            # new one. Safe even if the loss hid a commit: each request's clientTrxId is stored with
            # its answer, so a request that did commit reads its first answer back and changes nothing.
            log.warning("the store connection was lost (%s); running the group again", exc.orig)
            with self.storage.group_write() as conn, self.storage.staged(conn, lookups, commit=True):
                values = [fn(conn) for fn, _, _ in group]
        self.groups += 1
        self.requests += len(group)
        return values


def _settle(done: list[tuple[_Item, bool, Any]]) -> None:
    for (_, future, _), ok, value in done:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
