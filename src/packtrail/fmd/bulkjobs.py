"""Bulk transactions of a national system — G115 … G185 and the mixed G195 — queued, processed in
chunks, fetched with G188 (G196 for G195).

A bulk submission is answered at once (HTTP 202) with the job id (``bulkId``); the packs are
stored with the job. A worker processes them :data:`BULK_CHUNK` at a time, each chunk in one
store transaction together with its per-pack results, so a node that restarts resumes after the
last finished chunk and never applies a pack twice. A chunk is processed set-based: one read of
all its packs, the rules pack by pack in memory, then one write each of the new pack states
(``UPDATE … FROM unnest(…)`` on PostgreSQL), the audit entries (``COPY`` on PostgreSQL) and the
results row — on SQLite ``executemany`` in process. On PostgreSQL the worker works out the next
chunk (the next job's, when a job is one chunk) while the one before it is written: the server's
work on one overlaps the node's on the other, the chunks still commit one after the other in
order, and a chunk worked out early sees the new pack states of those not committed yet (see
:class:`_Prepared`). Each pack goes through the rules as its
single-pack counterpart, locally only: a product unknown here is ``NMVS_NC_PC_01`` (no
intermarket transaction). A pack other markets hold too takes the synchronised single-pack path.
G188 (``GET /fmd/v1/bulk/{bulkId}``) returns ``NMVS_FI_BAT_01`` while the job runs, then the
per-pack results and the overall code (``NMVS_SUCCESS``, ``NMVS_NC_PCK_24`` when some packs
failed, ``NMVS_NC_PCK_17`` when all did).

A **mixed bulk** (G195, reference §2.2) lists packs that each name their own single-pack operation
(:func:`packtrail.fmd.bulk.read_mixed_bulk`). It is the same job on the same machinery: the chunk is
worked out pack by pack in the submitted order, each pack through the rules as its own code (a
dispense and its undo of one pack in one list see each other, as one by one), and each per-pack
result names its operation (``transaction``). Its results are fetched with G196; G188 on a G195 job,
and G196 on a G1x5/G1x7 job, are refused with ``NMVS_FE_REQ_02`` (the reference does not say that
NMVS accepts either crosswise, so packtrail does not guess) — ``GET /fmd/v1/bulk/{bulkId}`` serves both.

A state a pack is already in, asked again at the same location, is counted as in the single-pack
path (:meth:`packtrail.fmd.storage.Storage.count_repeat`, in the chunk's transaction), so a FiMVS
node warns three repeats and raises #A10 from the fourth on in a bulk exactly as one by one.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import threading
import time
from collections.abc import Coroutine, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Final

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from packtrail.fmd import audit
from packtrail.fmd import schema as t
from packtrail.fmd.access import may_read_entry, may_see_product
from packtrail.fmd.answers import Answer
from packtrail.fmd.bulk import (
    bulk_return_code,
    check_bulk_request,
    mixed_entry_code,
    mixed_pack_request,
    read_mixed_bulk,
)
from packtrail.fmd.clock import from_us, to_us
from packtrail.fmd.codes import ReturnCode, TransactionCode
from packtrail.fmd.errors import FmdInputError
from packtrail.fmd.model import Batch, Client, PackRecord, PackRequest, ProductMaster
from packtrail.fmd.rules import apply
from packtrail.fmd.scan import read_request
from packtrail.fmd.storage import PackViews, Recorded
from packtrail.fmd.wire import answer_body, client_from_json, client_json, error_body

if TYPE_CHECKING:
    from packtrail.fmd.national import NationalSystem

__all__ = ["BULK_CHUNK", "BulkJobs"]

log = logging.getLogger("packtrail.fmd.bulk")

BULK_CHUNK: Final = 1000
"""Packs of a bulk job processed per store transaction (a whole G125 of 1,000 packs: one commit)."""

_AHEAD: Final = 2
"""PostgreSQL: chunks worked out and not yet stored, at most (one being written, one waiting for it)."""


def _joined(chunks: Sequence[str]) -> orjson.Fragment:
    """The per-pack results of a job — its chunks' stored JSON arrays, in chunk order — as one JSON
    array, passed to the response as it is stored (``orjson.dumps`` writes a :class:`orjson.Fragment`
    verbatim): a G188 of 1,000 packs does not parse and re-serialise 1,000 answers. Every chunk
    holds at least one pack, so each array has something between its brackets.

    >>> orjson.dumps({"results": _joined(['[{"returnCode":"A"}]', '[1,2]'])})
    b'{"results":[{"returnCode":"A"},1,2]}'
    """
    if len(chunks) == 1:
        return orjson.Fragment(chunks[0])
    return orjson.Fragment("[" + ",".join(rows[1:-1] for rows in chunks) + "]")


def _fingerprint(code: TransactionCode, packs: Sequence[Any]) -> str:
    digest = hashlib.sha256(code.value.encode())
    digest.update(orjson.dumps(list(packs), option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()


@dataclass(slots=True)
class _ChunkDone:
    """What processing one chunk leaves for the job: the per-pack return codes (for the overall code)
    and the multi-market packs still to run on the synchronised path."""

    codes: list[str]
    deferred: list[tuple[int, TransactionCode, PackRequest]]


def _abandon(computing: asyncio.Future[_Prepared]) -> None:
    """Roll back a chunk worked out for a worker that stopped meanwhile."""
    if not computing.cancelled() and computing.exception() is None:
        computing.result().close(asyncio.CancelledError())


@dataclass(slots=True)
class _Prepared:
    """A chunk worked out in its open store transaction, its writes not made yet (see
    :meth:`BulkJobs._compute`)."""

    job_id: str
    chunk: int
    count: int
    done: _ChunkDone
    results: list[Any]
    changes: list[PackRecord]
    entries: list[tuple[Any, ...]]
    """The audit entries, as the values of :meth:`audit.AuditEntry.row`."""
    changed: dict[tuple[str, str], tuple[PackRecord, int]]
    """The new pack records (with their upload times) this chunk registered as unsettled."""
    conn: Connection
    transaction: AbstractContextManager[Connection]
    jobs: BulkJobs

    def close(self, error: BaseException | None) -> None:
        """Commit the chunk's transaction (``error`` None) or roll it back; either way its changes
        stop being unsettled."""
        try:
            if error is None:
                self.transaction.__exit__(None, None, None)
            else:
                self.transaction.__exit__(type(error), error, error.__traceback__)
        finally:
            with self.jobs._unsettled_lock:
                for key, value in self.changed.items():
                    if self.jobs._unsettled.get(key) is value:
                        del self.jobs._unsettled[key]


class BulkJobs:
    """The bulk jobs of one national system: submission, the worker, G188."""

    def __init__(self, system: NationalSystem) -> None:
        self.system = system
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        # On PostgreSQL the worker works out the next chunk while the one before is written (the
        # server's work on one overlaps the node's on the other): chunks are stored in order, each
        # once the one before it committed; until then its new pack records are "unsettled" — read
        # by the chunks computed after it in place of the stored ones.
        self._settling: asyncio.Task[bool] | None = None
        self._background: set[asyncio.Task[bool]] = set()
        self._writes: list[asyncio.Task[bool]] = []  # chunks worked out, not stored yet, in order
        self._unsettled: dict[tuple[str, str], tuple[PackRecord, int]] = {}
        self._unsettled_lock = threading.Lock()

    def resume(self) -> None:
        """Queue the jobs a stopped node left unfinished."""
        with self.system.storage.read() as conn:
            for (job_id,) in conn.execute(
                sa.select(t.bulk_jobs.c.job_id)
                .where(t.bulk_jobs.c.status.in_(("queued", "running")))
                .order_by(t.bulk_jobs.c.submitted_us)
            ):
                self.queue.put_nowait(job_id)

    async def submit(self, code: TransactionCode, body: Mapping[str, Any], client: Client) -> Answer:
        """Queue a bulk transaction (G1x5, G1x7, or the mixed G195); answers 202 with the job id
        (``bulkId``) at once. Raises :class:`FmdInputError` for a request that cannot be queued."""
        packs: list[Any]
        trx: object
        if code is TransactionCode.G195:
            mixed = read_mixed_bulk(body)  # each pack's code checked here, its fields when the job runs
            packs, trx = mixed.packs, mixed.client_trx_id
        else:
            listed = body.get("packs")
            if not isinstance(listed, list):
                raise FmdInputError("packs", f"expected a list of packs, found {type(listed).__name__}")
            check_bulk_request(code, len(listed))
            for index, item in enumerate(listed):
                if not isinstance(item, dict):
                    raise FmdInputError(
                        f"packs[{index}]", "expected an object with the pack's fields or a scan"
                    )
            packs, trx = listed, body.get("clientTrxId")
        if not isinstance(trx, str) or not 1 <= len(trx) <= 100:
            raise FmdInputError("clientTrxId", f"expected 1 to 100 characters of text, found {trx!r}")
        answer, queued = await self.system.run_db(self._queue, code, packs, trx, client)
        if queued:
            self.queue.put_nowait(answer.body["bulkId"])
        return answer

    def _queue(
        self, code: TransactionCode, packs: list[Any], trx: str, client: Client
    ) -> tuple[Answer, bool]:
        """Store the job and its first answer; ``(answer, True)`` when it is new, the stored answer (or
        ``NMVS_TE_TX_01``) and False when the clientTrxId was used before."""
        fingerprint = _fingerprint(code, packs)
        now = self.system.clock.now()
        with self.system.storage.write() as conn:
            recorded = self.system.storage.get_recorded(conn, client.client_id, trx)
            if recorded is not None:
                if recorded.fingerprint == fingerprint:
                    return Answer(recorded.status, orjson.loads(recorded.answer)), False
                refused = error_body(
                    ReturnCode.NMVS_TE_TX_01,
                    f"clientTrxId {trx!r} was used for another request ({recorded.trx_id})",
                    clientTrxId=trx,
                )
                return Answer(409, refused), False
            job_id = self.system.new_trx_id()
            conn.execute(
                sa.insert(t.bulk_jobs).values(
                    job_id=job_id,
                    client_id=client.client_id,
                    client=orjson.dumps(client_json(client)).decode(),
                    client_trx_id=trx,
                    code=code.value,
                    status="queued",
                    submitted_us=to_us(now),
                    packs=orjson.dumps(packs).decode(),
                    pack_count=len(packs),
                    done_count=0,
                )
            )
            body = {
                "bulkId": job_id,
                "trxId": job_id,
                "clientTrxId": trx,
                "transaction": code.value,
                "status": "queued",
                "packs": len(packs),
                "timestamp": now.isoformat(),
            }
            self.system.storage.put_recorded(
                conn,
                client.client_id,
                trx,
                Recorded(fingerprint, 202, orjson.dumps(body).decode(), job_id),
                now,
            )
            audit.append(
                conn,
                [
                    audit.AuditEntry(
                        at=now,
                        actor=client.client_id,
                        action=code.value,
                        role=client.role.value,
                        location=client.location,
                        user=client.user,
                        client_trx_id=trx,
                        trx_id=job_id,
                        detail={"bulk": "submitted", "packs": len(packs)},
                    )
                ],
            )
        return Answer(202, body, {"Location": f"/fmd/v1/bulk/{job_id}"}), True

    async def worker(self) -> None:
        try:
            while True:
                job_id = await self.queue.get()
                try:
                    await self._run(job_id)
                except Exception:  # one bad job must not stop the worker; it stays "running" for a restart
                    log.exception("bulk job %s failed", job_id)
        finally:  # the node stops: the chunks already worked out are stored first (one write each)
            if self._background:
                await asyncio.gather(*list(self._background), return_exceptions=True)

    async def _run(self, job_id: str) -> None:
        with self.system.storage.read() as conn:
            job = conn.execute(sa.select(t.bulk_jobs).where(t.bulk_jobs.c.job_id == job_id)).mappings().one()
            done_chunks = set(
                conn.execute(
                    sa.select(t.bulk_results.c.chunk).where(t.bulk_results.c.job_id == job_id)
                ).scalars()
            )
        if job["status"] == "done":
            return
        packs = orjson.loads(job["packs"])
        client = client_from_json(orjson.loads(job["client"]))
        code = TransactionCode(job["code"])
        # G195: each pack names its own code (None here); the others: one single-pack code for all.
        single_code = None if code is TransactionCode.G195 else check_bulk_request(code, len(packs))
        codes: dict[int, list[str]] = {}  # the per-pack return codes of the chunks processed in this run
        overlap = self.system.storage.dialect == "postgresql"
        for chunk in range(0, (len(packs) + BULK_CHUNK - 1) // BULK_CHUNK):
            if chunk in done_chunks:
                continue
            if overlap:
                while len(self._writes) >= _AHEAD:  # bounded: each waiting chunk holds a connection
                    await asyncio.wait([self._writes[0]])
                computing = asyncio.ensure_future(
                    self.system.run_db(self._compute, job_id, chunk, packs, single_code, client)
                )
                try:
                    prepared = await asyncio.shield(computing)
                except asyncio.CancelledError:  # the node stops: roll the chunk back once worked out
                    computing.add_done_callback(_abandon)
                    raise
                self._settling = self._in_background(self._settle(self._settling, prepared))
                self._writes.append(self._settling)
                self._settling.add_done_callback(self._writes.remove)
                done = prepared.done
                if done.deferred and not await self._settling:
                    raise RuntimeError(f"bulk job {job_id}: chunk {chunk} was not stored")
            else:
                done = await self.system.run_db(self._chunk, job_id, chunk, packs, single_code, client)
            if done.deferred:
                answered = await self._deferred(job_id, chunk, done.deferred, client)
                for i, body in answered.items():
                    done.codes[i] = body["returnCode"]
            codes[chunk] = done.codes
            await asyncio.sleep(0)  # let single-pack requests in between chunks
        if overlap:  # the job is done once its last chunk is stored; the next job may start meanwhile
            self._settling = self._in_background(self._finish_after(self._settling, job_id, codes))
            return
        await self.system.run_db(self._finish, job_id, codes)

    def _in_background(self, coro: Coroutine[Any, Any, bool]) -> asyncio.Task[bool]:
        task = asyncio.ensure_future(coro)
        self._background.add(task)  # kept (and cancelled by stop()) until done
        task.add_done_callback(self._background.discard)
        return task

    async def _settle(self, previous: asyncio.Task[bool] | None, prepared: _Prepared) -> bool:
        """Write a computed chunk once everything queued before it is stored (its transaction commits
        after theirs, its audit entries follow theirs in the chain); if one of them failed, roll this one
        back too — it was computed on top of their changes. Returns whether the chunk was stored."""
        try:
            ok = previous is None or await previous
        except BaseException:  # the node stops: the chunk's transaction is rolled back, the job resumes
            prepared.close(None)
            raise
        if not ok:
            await self.system.run_db(prepared.close, RuntimeError("an earlier bulk chunk was not stored"))
            return False
        try:
            await self.system.run_db(self._write, prepared)
        except Exception:
            log.exception("bulk job %s: chunk %d not stored", prepared.job_id, prepared.chunk)
            return False
        return True

    async def _finish_after(
        self, previous: asyncio.Task[bool] | None, job_id: str, codes: dict[int, list[str]]
    ) -> bool:
        if previous is not None and not await previous:
            return False  # the job stays "running": a restarted node resumes it
        try:
            await self.system.run_db(self._finish, job_id, codes)
        except Exception:
            log.exception("bulk job %s: not finished", job_id)
            return False
        return True

    def _chunk(
        self, job_id: str, chunk: int, packs: list[Any], code: TransactionCode | None, client: Client
    ) -> _ChunkDone:
        """Process one chunk in one store transaction (:meth:`_compute`, then :meth:`_write`); returns
        its return codes and the multi-market packs left for the synchronised path. ``code``: the
        single-pack code of every pack, or None for a mixed bulk (each pack names its own)."""
        prepared = self._compute(job_id, chunk, packs, code, client)
        self._write(prepared)
        return prepared.done

    def _compute(
        self, job_id: str, chunk: int, packs: list[Any], code: TransactionCode | None, client: Client
    ) -> _Prepared:
        """Open the chunk's store transaction and work the chunk out, set-based: one read of all its
        packs, the rules pack by pack in memory (alerts are stored as they are raised); the writes are
        :meth:`_write`'s.

        Each pack gets what its single-pack transaction would do (:meth:`NationalSystem._local`): the
        rules of :func:`~packtrail.fmd.rules.apply` on the pack as the chunks before it left it (a pack
        listed twice sees its first change; a chunk computed before an earlier one committed sees that
        one's changes through :attr:`_unsettled`), an alert when one is raised, an audit entry, its answer.
        ``code`` is the single-pack code of every pack, or None for a mixed bulk (G195), whose packs each
        name their own. A pack held by other markets too goes to the synchronised single-pack path after
        the chunk (:meth:`_deferred`), and so does every later entry of the same pack in the chunk, so
        that they still see each other in order."""
        system = self.system
        storage = system.storage
        start = chunk * BULK_CHUNK
        items = packs[start : start + BULK_CHUNK]
        now = system.clock.now()
        now_us = to_us(now)
        results: list[Any] = [None] * len(items)
        codes: list[str] = [""] * len(items)
        requests: list[tuple[int, TransactionCode, PackRequest]] = []
        for i, item in enumerate(items):
            per_pack = f"{job_id}#{start + i}"
            item_code = code
            try:
                if code is None:
                    item_code = mixed_entry_code(start + i, item)
                    request = mixed_pack_request(start + i, item, per_pack)[1]
                else:
                    request = read_request({**item, "clientTrxId": per_pack})
                assert item_code is not None
                requests.append((i, item_code, request))
            except FmdInputError as exc:
                field = exc.field if code is None else f"packs[{start + i}].{exc.field}"
                results[i] = error_body(exc.return_code, exc.reason, field=field)
                if item_code is not None:
                    results[i]["transaction"] = item_code.value
                codes[i] = exc.return_code.value
        deferred: list[tuple[int, TransactionCode, PackRequest]] = []
        deferred_packs: set[tuple[str, str]] = set()
        # What every pack of the chunk shares: the client, the transaction, the time.
        actor, role, location, user = client.client_id, client.role.value, client.location, client.user
        market, policy = system.market, system.policy
        synchronised = system.hub_url is not None
        dumps, sort_keys = orjson.dumps, orjson.OPT_SORT_KEYS
        transaction = storage.write()
        conn = transaction.__enter__()
        try:
            with (
                self._unsettled_lock
            ):  # taken before the read: a chunk committing meanwhile is seen either way
                unsettled = dict(self._unsettled)
            found = storage.get_packs(conn, [(r.product_code, r.serial) for _, _, r in requests])
            for key in found.keys() & unsettled.keys():
                found[key] = unsettled[key]
            # A chunk is mostly one product and batch: look each up once (from memory when known).
            products: dict[str, ProductMaster | None] = {}
            batches: dict[tuple[str, str], Batch | None] = {}
            elsewhere: dict[tuple[str, str], bool] = {}  # batch held by other markets too
            retention: dict[tuple[date | None, int | None], int] = {}
            details: dict[tuple[Any, Any, Any, Any], str] = {}
            changes: list[PackRecord] = []
            entries: list[tuple[Any, ...]] = []
            for i, pack_code, request in requests:
                pc, serial = request.product_code, request.serial
                if (pc, serial) in deferred_packs:  # an earlier entry of this pack waits for the sync path
                    deferred.append((i, pack_code, request))
                    results[i] = {"returnCode": "pending"}
                    continue
                if pc not in products:
                    products[pc] = system.product_of(conn, pc)
                prod = products[pc]
                pack, uploaded_us = found.get((pc, serial), (None, None))
                if prod is not None and not may_see_product(client, prod.owner):
                    results[i] = error_body(
                        ReturnCode.NMVS_FE_AU_08, f"product {pc} belongs to another manufacturer"
                    )
                    codes[i] = ReturnCode.NMVS_FE_AU_08.value
                    continue
                req_batch = None
                if prod is not None:
                    if (pc, request.batch) not in batches:
                        batches[(pc, request.batch)] = system.batch_of(conn, pc, request.batch)
                    req_batch = batches[(pc, request.batch)]
                pack_batch = req_batch  # the batch the pack is on file under (its audit retention)
                if pack is not None and pack.batch != request.batch:
                    if (pc, pack.batch) not in batches:
                        batches[(pc, pack.batch)] = system.batch_of(conn, pc, pack.batch)
                    pack_batch = batches[(pc, pack.batch)]
                outcome, new = apply(
                    pack_code, request, pack, prod, req_batch, client, now, policy,
                    repeats=functools.partial(system.count_repeat, conn, pack, client),
                )  # fmt: skip
                if new is not None and synchronised and req_batch is not None:
                    key = (pc, request.batch)
                    if key not in elsewhere:
                        elsewhere[key] = any(m != market for m in req_batch.markets)
                    if elsewhere[key]:
                        deferred.append((i, pack_code, request))
                        deferred_packs.add((pc, serial))
                        results[i] = {"returnCode": "pending"}
                        continue
                trx_id = f"{job_id}-{start + i}"
                alert_id = None
                if outcome.alert_raised:
                    views = PackViews(prod, req_batch, pack, uploaded_us, pack_batch)
                    alert_id = system.raise_alert(conn, client, outcome, trx_id, views)
                if new is not None:
                    changes.append(new)
                    found[(pc, serial)] = (new, uploaded_us or 0)
                results[i] = answer_body(outcome, trx_id=trx_id, market=market, alert_id=alert_id)
                return_code = outcome.return_code.value
                codes[i] = return_code
                expiry = None if pack_batch is None else pack_batch.expiry_date
                keep = retention.get((expiry, uploaded_us))
                if keep is None:
                    uploaded = None if uploaded_us is None else from_us(uploaded_us)
                    keep = retention[(expiry, uploaded_us)] = to_us(audit.retain_until(now, expiry, uploaded))
                # The entry's detail depends on the job and the outcome's state, reason, alert and repeat only.
                facts = (outcome.state, outcome.reason, outcome.alert, outcome.repeat)
                detail = details.get(facts)
                if detail is None:
                    shown: dict[str, Any] = {"bulkId": job_id, "state": facts[0], "reason": facts[1]}
                    if facts[2] is not None:
                        shown["alert"] = facts[2]
                    if facts[3] is not None:
                        shown["repeat"] = facts[3]
                    detail = details[facts] = dumps(shown, option=sort_keys).decode()
                # The values of audit.AuditEntry(…).row(), in its order.
                entries.append(
                    (
                        now_us, actor, role, location, user, pack_code.value, pc, serial, request.batch,
                        request.client_trx_id, trx_id, return_code,
                        detail, keep,
                    )
                )  # fmt: skip
            changed = {(p.product_code, p.serial): found[(p.product_code, p.serial)] for p in changes}
            with self._unsettled_lock:
                self._unsettled.update(changed)
        except BaseException as exc:
            transaction.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return _Prepared(
            job_id, chunk, len(items), _ChunkDone(codes, deferred), results, changes, entries, changed,
            conn, transaction, self,
        )  # fmt: skip

    def _write(self, prepared: _Prepared) -> None:
        """Write a computed chunk — the new pack states, the audit entries, the per-pack results, one
        statement each — and commit its transaction."""
        storage = self.system.storage
        try:
            storage.update_packs_many(prepared.conn, prepared.changes)
            audit.append_columns(prepared.conn, prepared.entries)
            storage.put_bulk_results(
                prepared.conn, prepared.job_id, prepared.chunk, orjson.dumps(prepared.results).decode(),
                prepared.count,
            )  # fmt: skip
        except BaseException as exc:
            prepared.close(exc)
            raise
        prepared.close(None)

    async def _deferred(
        self,
        job_id: str,
        chunk: int,
        deferred: list[tuple[int, TransactionCode, PackRequest]],
        client: Client,
    ) -> dict[int, Any]:
        """Run the multi-market packs of a chunk as single-pack transactions, in the chunk's order, and
        store their answers in the chunk's results; returns them by index in the chunk."""
        done: dict[int, Any] = {}
        for i, code, request in deferred:
            answer = await self.system.single(code, request, client, forward=False)
            done[i] = answer.body

        def store() -> None:
            with self.system.storage.write() as conn:
                where = (t.bulk_results.c.job_id == job_id) & (t.bulk_results.c.chunk == chunk)
                results = orjson.loads(
                    conn.execute(sa.select(t.bulk_results.c.results).where(where)).scalar_one()
                )
                for i, body in done.items():
                    results[i] = body
                conn.execute(
                    sa.update(t.bulk_results).where(where).values(results=orjson.dumps(results).decode())
                )

        await self.system.run_db(store)
        return done

    def _finish(self, job_id: str, known: Mapping[int, list[str]]) -> None:
        """Mark the job done with its overall code; ``known``: the per-pack codes of the chunks this run
        processed (the others, done before a restart, are read back)."""
        with self.system.storage.write() as conn:
            codes = [ReturnCode(c) for chunk_codes in known.values() for c in chunk_codes]
            earlier = conn.execute(
                sa.select(t.bulk_results.c.results).where(
                    (t.bulk_results.c.job_id == job_id) & t.bulk_results.c.chunk.not_in(list(known))
                )
            ).scalars()
            codes.extend(ReturnCode(r["returnCode"]) for rows in earlier for r in orjson.loads(rows))
            conn.execute(
                sa.update(t.bulk_jobs)
                .where(t.bulk_jobs.c.job_id == job_id)
                .values(
                    status="done",
                    finished_us=to_us(self.system.clock.now()),
                    return_code=bulk_return_code(codes).value,
                )
            )

    async def fetch(self, job_id: str, client: Client, *, via: TransactionCode | None = None) -> Answer:
        """G188 / G196: the per-pack results of a bulk job and its overall code, or ``NMVS_FI_BAT_01``
        while it runs; ``NMVS_FE_TX_02`` (404) for an id that is unknown or not the client's own.

        ``via`` is the fetch code the client sent: G196 fetches a mixed bulk (G195), G188 every other
        bulk; the other pairing is refused with ``NMVS_FE_REQ_02`` (HTTP 400, field ``bulkId``) naming
        the code to use — the reference (§2.2) pairs G195 with G196 and does not say NMVS takes either
        crosswise. ``None`` (``GET /fmd/v1/bulk/{bulkId}``, the job as a resource) serves both.

        The body's ``results`` is the stored JSON as an :class:`orjson.Fragment` (see :func:`_joined`):
        ``orjson.dumps`` of the body gives the JSON answer; read it back to look at the packs in process."""
        return await self.system.run_db(self._fetch, job_id, client, via)

    def _fetch(self, job_id: str, client: Client, via: TransactionCode | None = None) -> Answer:
        with self.system.storage.read() as conn:
            jobs = t.bulk_jobs.c
            job = (
                conn.execute(  # not the submitted packs: a poll reads only the job's progress
                    sa.select(
                        jobs.client_id, jobs.code, jobs.client_trx_id, jobs.status, jobs.pack_count,
                        jobs.done_count, jobs.return_code, jobs.finished_us,
                    ).where(jobs.job_id == job_id)
                )
                .mappings()
                .first()
            )  # fmt: skip
            if job is None or not may_read_entry(client, job["client_id"]):
                return Answer(404, error_body(ReturnCode.NMVS_FE_TX_02, f"no bulk transaction {job_id!r}"))
            if via is not None:
                mixed = job["code"] == TransactionCode.G195.value
                wanted = TransactionCode.G196 if mixed else TransactionCode.G188
                if via is not wanted:
                    what = "a mixed bulk (G195)" if mixed else f"a {job['code']} bulk"
                    return Answer(
                        400,
                        error_body(
                            ReturnCode.NMVS_FE_REQ_02,
                            f"bulk {job_id!r} is {what}: fetch its results with {wanted.value}, "
                            f"not {via.value}",
                            field="bulkId",
                        ),
                    )
            body: dict[str, Any] = {
                "bulkId": job_id,
                "transaction": job["code"],
                "clientTrxId": job["client_trx_id"],
                "status": job["status"],
                "packs": job["pack_count"],
                "done": job["done_count"],
            }
            if job["status"] != "done":
                body.update(
                    returnCode=ReturnCode.NMVS_FI_BAT_01.value, returnText=ReturnCode.NMVS_FI_BAT_01.text
                )
                return Answer(200, body)
            chunks = conn.execute(
                sa.select(t.bulk_results.c.results)
                .where(t.bulk_results.c.job_id == job_id)
                .order_by(t.bulk_results.c.chunk)
            ).scalars()
            code = ReturnCode(job["return_code"])
            body.update(
                returnCode=code.value,
                returnText=code.text,
                finishedAt=from_us(job["finished_us"]).isoformat(),
                results=_joined(list(chunks)),
            )
        return Answer(200, body)

    async def wait(self, job_id: str, timeout: float = 30.0) -> None:
        """Wait until a bulk job is done (tests and the CLI)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.system.storage.read() as conn:
                status = conn.execute(
                    sa.select(t.bulk_jobs.c.status).where(t.bulk_jobs.c.job_id == job_id)
                ).scalar_one_or_none()
            if status == "done":
                return
            await asyncio.sleep(0.02)
        raise TimeoutError(f"bulk job {job_id} not done after {timeout} s")
