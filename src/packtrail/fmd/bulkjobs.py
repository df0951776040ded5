"""Bulk transactions (G115 … G185) of a national system: queued, processed in chunks, fetched with G188.

A bulk submission is answered at once (HTTP 202) with the job id (``bulkId``); the packs are
stored with the job. A worker processes them :data:`BULK_CHUNK` at a time, each chunk in one
store transaction together with its per-pack results, so a node that restarts resumes after the
last finished chunk and never applies a pack twice. Each pack goes through the rules as its
single-pack counterpart, locally only: a product unknown here is ``NMVS_NC_PC_01`` (no
intermarket transaction). A pack other markets hold too takes the synchronised single-pack path.
G188 (``GET /fmd/v1/bulk/{bulkId}``) returns ``NMVS_FI_BAT_01`` while the job runs, then the
per-pack results and the overall code (``NMVS_SUCCESS``, ``NMVS_NC_PCK_24`` when some packs
failed, ``NMVS_NC_PCK_17`` when all did).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final

import orjson
import sqlalchemy as sa

from packtrail.fmd import audit
from packtrail.fmd import schema as t
from packtrail.fmd.access import may_read_entry, may_see_product
from packtrail.fmd.answers import Answer
from packtrail.fmd.bulk import bulk_return_code, check_bulk_request
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


def _fingerprint(code: TransactionCode, packs: Sequence[Any]) -> str:
    digest = hashlib.sha256(code.value.encode())
    digest.update(orjson.dumps(list(packs), option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()


class BulkJobs:
    """The bulk jobs of one national system: submission, the worker, G188."""

    def __init__(self, system: NationalSystem) -> None:
        self.system = system
        self.queue: asyncio.Queue[str] = asyncio.Queue()

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
        """Queue a bulk transaction; answers 202 with the job id (``bulkId``) at once."""
        packs = body.get("packs")
        if not isinstance(packs, list):
            raise FmdInputError("packs", f"expected a list of packs, found {type(packs).__name__}")
        check_bulk_request(code, len(packs))
        for index, item in enumerate(packs):
            if not isinstance(item, dict):
                raise FmdInputError(f"packs[{index}]", "expected an object with the pack's fields or a scan")
        trx = body.get("clientTrxId")
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
        while True:
            job_id = await self.queue.get()
            try:
                await self._run(job_id)
            except Exception:  # one bad job must not stop the worker; it stays "running" for a restart
                log.exception("bulk job %s failed", job_id)

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
        single_code = check_bulk_request(code, len(packs))
        for chunk in range(0, (len(packs) + BULK_CHUNK - 1) // BULK_CHUNK):
            if chunk in done_chunks:
                continue
            deferred = await self.system.run_db(self._chunk, job_id, chunk, packs, single_code, client)
            if deferred:
                await self._deferred(job_id, chunk, deferred, single_code, client)
            await asyncio.sleep(0)  # let single-pack requests in between chunks
        await self.system.run_db(self._finish, job_id)

    def _chunk(
        self, job_id: str, chunk: int, packs: list[Any], code: TransactionCode, client: Client
    ) -> list[tuple[int, PackRequest]]:
        """Process one chunk in one store transaction; returns the multi-market packs left for the
        synchronised path."""
        start = chunk * BULK_CHUNK
        items = packs[start : start + BULK_CHUNK]
        now = self.system.clock.now()
        results: list[Any] = [None] * len(items)
        requests: list[tuple[int, PackRequest]] = []
        for i, item in enumerate(items):
            try:
                requests.append((i, read_request({**item, "clientTrxId": f"{job_id}#{start + i}"})))
            except FmdInputError as exc:
                results[i] = error_body(exc.return_code, exc.reason, field=f"packs[{start + i}].{exc.field}")
        deferred: list[tuple[int, PackRequest]] = []
        with self.system.storage.write() as conn:
            storage = self.system.storage
            found = storage.get_packs(conn, [(r.product_code, r.serial) for _, r in requests])

            products: dict[str, ProductMaster | None] = {}
            batches: dict[tuple[str, str], Batch | None] = {}

            def product(pc: str) -> ProductMaster | None:
                if pc not in products:  # a chunk is mostly one product and batch: look each up once
                    products[pc] = self.system.product_of(conn, pc)
                return products[pc]

            def batch(pc: str, b: str) -> Batch | None:
                if (pc, b) not in batches:
                    batches[(pc, b)] = self.system.batch_of(conn, pc, b)
                return batches[(pc, b)]

            retention: dict[tuple[date | None, int | None], datetime] = {}

            def keep(pack_batch: Batch | None, uploaded_us: int | None) -> datetime:
                expiry = None if pack_batch is None else pack_batch.expiry_date
                if (expiry, uploaded_us) not in retention:
                    uploaded = None if uploaded_us is None else from_us(uploaded_us)
                    retention[(expiry, uploaded_us)] = audit.retain_until(now, expiry, uploaded)
                return retention[(expiry, uploaded_us)]

            changes: list[PackRecord] = []
            entries: list[audit.AuditEntry] = []
            for i, request in requests:
                prod = product(request.product_code)
                pack, uploaded_us = found.get((request.product_code, request.serial), (None, None))
                if prod is not None and not may_see_product(client, prod.owner):
                    results[i] = error_body(
                        ReturnCode.NMVS_FE_AU_08,
                        f"product {request.product_code} belongs to another manufacturer",
                    )
                    continue
                req_batch = batch(request.product_code, request.batch) if prod is not None else None
                pack_batch = req_batch
                if pack is not None and pack.batch != request.batch:
                    pack_batch = batch(request.product_code, pack.batch)
                views = PackViews(prod, req_batch, pack, uploaded_us, pack_batch)
                outcome, new = apply(code, request, pack, prod, req_batch, client, now, self.system.policy)
                shared = req_batch is not None and any(m != self.system.market for m in req_batch.markets)
                if new is not None and shared and self.system.hub_url is not None:
                    deferred.append((i, request))
                    results[i] = {"returnCode": "pending"}
                    continue
                trx_id = f"{job_id}-{start + i}"
                alert_id = (
                    self.system.raise_alert(conn, client, outcome, trx_id, views)
                    if outcome.alert_raised
                    else None
                )
                if new is not None:
                    changes.append(new)
                    found[(new.product_code, new.serial)] = (new, uploaded_us or 0)
                results[i] = answer_body(outcome, trx_id=trx_id, market=self.system.market, alert_id=alert_id)
                entries.append(
                    audit.AuditEntry(
                        at=now,
                        actor=client.client_id,
                        action=code.value,
                        role=client.role.value,
                        location=client.location,
                        user=client.user,
                        product_code=request.product_code,
                        serial=request.serial,
                        batch=request.batch,
                        client_trx_id=request.client_trx_id,
                        trx_id=trx_id,
                        return_code=outcome.return_code.value,
                        detail={
                            "bulkId": job_id,
                            "state": None if outcome.state is None else outcome.state.value,
                            "reason": None if outcome.reason is None else outcome.reason.value,
                            **({"alert": outcome.alert.value} if outcome.alert is not None else {}),
                        },
                        retain_until=keep(pack_batch, uploaded_us),
                    )
                )
            storage.update_packs_many(conn, changes)
            audit.append(conn, entries)
            conn.execute(
                sa.insert(t.bulk_results).values(
                    job_id=job_id, chunk=chunk, results=orjson.dumps(results).decode()
                )
            )
            conn.execute(
                sa.update(t.bulk_jobs)
                .where(t.bulk_jobs.c.job_id == job_id)
                .values(status="running", done_count=t.bulk_jobs.c.done_count + len(items))
            )
        return deferred

    async def _deferred(
        self,
        job_id: str,
        chunk: int,
        deferred: list[tuple[int, PackRequest]],
        code: TransactionCode,
        client: Client,
    ) -> None:
        done: dict[int, Any] = {}
        for i, request in deferred:
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

    def _finish(self, job_id: str) -> None:
        with self.system.storage.write() as conn:
            chunks = conn.execute(
                sa.select(t.bulk_results.c.results)
                .where(t.bulk_results.c.job_id == job_id)
                .order_by(t.bulk_results.c.chunk)
            ).scalars()
            codes = [ReturnCode(r["returnCode"]) for rows in chunks for r in orjson.loads(rows)]
            conn.execute(
                sa.update(t.bulk_jobs)
                .where(t.bulk_jobs.c.job_id == job_id)
                .values(
                    status="done",
                    finished_us=to_us(self.system.clock.now()),
                    return_code=bulk_return_code(codes).value,
                )
            )

    async def fetch(self, job_id: str, client: Client) -> Answer:
        """G188: the per-pack results of a bulk job and its overall code, or ``NMVS_FI_BAT_01`` while it runs."""
        return await self.system.run_db(self._fetch, job_id, client)

    def _fetch(self, job_id: str, client: Client) -> Answer:
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
                results=[r for rows in chunks for r in orjson.loads(rows)],
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
