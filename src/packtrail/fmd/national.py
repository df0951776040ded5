"""A national medicines verification system (NMVS) as a service: transactions, bulk jobs, alerts, audit.

:class:`NationalSystem` is what the HTTP routers of :mod:`packtrail.api.fmd_national` call.
One single-pack transaction is one store transaction: the idempotency check on
``(client, clientTrxId)``, the pack lookup by primary key, the rules of
:func:`packtrail.fmd.rules.apply`, the new pack row, the alert, the stored answer
and the audit entry commit together.

Two cases leave the node:

- **Intermarket** — a single-pack transaction for a product code unknown here
  goes to the hub, which forwards it to the market holding the product; the
  answer comes back and is recorded here too. Bulk transactions never do
  (``NMVS_NC_PC_01``).
- **Multi-market packs** — a state change of a pack whose batch is held by other
  markets is first applied there through the hub (each checks the pack is in the
  state this node saw, then stores the new one), then here. If a node does not
  answer, the client gets ``NMVS_TI_RT_02`` (HTTP 503) and no market changes.
  While this node waits for the others, concurrent requests for the same pack
  wait for it (one lock per pack); the pack is written here with a compare-and-set
  on the state the others confirmed, and put back in the others if that fails.

A state change asked for a pack already in that state at the same location is counted, per pack and
location, in the store (``fmd_repeats``, :meth:`Storage.count_repeat`) when the market's policy warns
before alerting (:class:`~packtrail.fmd.policy.RepeatWarnings`: FiMVS answers three repeats with a
warning, then raises #A10); the count commits with the answer, so it survives a restart, and a replayed
``clientTrxId`` — answered from the stored answer before the rules run — is not counted.

Bulk transactions (G115 … G185, and the mixed G195 fetched with G196) are
:mod:`packtrail.fmd.bulkjobs`. On SQLite the
store work runs on the event loop (it takes well under a millisecond); on
PostgreSQL in worker threads. Products and batches are kept in memory
(:mod:`packtrail.fmd.masterdata`): run one process per store.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar

import orjson
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from packtrail.fmd import alerts as alert_store
from packtrail.fmd import audit
from packtrail.fmd.access import may_manage_alert, may_read_alert, may_see_product, party_of
from packtrail.fmd.answers import Answer, input_error, set_clock, unavailable
from packtrail.fmd.bulkjobs import BulkJobs
from packtrail.fmd.clock import Clock, from_us
from packtrail.fmd.codes import OperationKind, ReturnCode, TransactionCode
from packtrail.fmd.errors import FmdInputError
from packtrail.fmd.federation import Conflict, Link, Unavailable
from packtrail.fmd.groupcommit import GroupCommit
from packtrail.fmd.idempotency import request_fingerprint
from packtrail.fmd.masterdata import MasterData
from packtrail.fmd.model import (
    Batch,
    Client,
    PackRecord,
    PackRequest,
    ProductMaster,
    Role,
    TransactionOutcome,
)
from packtrail.fmd.outbox import Relay, enqueue
from packtrail.fmd.policy import MarketPolicy, policy_for
from packtrail.fmd.rules import apply, parse_transaction_code, unknown_product_everywhere
from packtrail.fmd.scan import read_request
from packtrail.fmd.storage import PackViews, Recorded, Storage
from packtrail.fmd.wire import (
    MALFORMED,
    answer_body,
    batch_from_json,
    client_from_json,
    client_json,
    error_body,
    pack_from_json,
    pack_json,
    product_from_json,
)

__all__ = ["HUB_CLIENT", "NationalSystem"]

log = logging.getLogger("packtrail.fmd.national")

HUB_CLIENT: Final = "@hub"
"""The client id under which a national system records the hub's deliveries (for de-duplication)."""

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class _Forward:
    """The product is unknown here: the single-pack request goes to the hub."""


@dataclass(frozen=True, slots=True)
class _Sync:
    """A state change of a pack other markets hold too: apply there first."""

    outcome: TransactionOutcome
    prior: PackRecord
    new: PackRecord
    markets: tuple[str, ...]


def _same_state(a: PackRecord, b: PackRecord) -> bool:
    a_at = None if a.last_change is None else a.last_change.at
    b_at = None if b.last_change is None else b.last_change.at
    return a.state is b.state and a.reason is b.reason and a_at == b_at


class NationalSystem:
    """The national system of one market: its store, its policy, its link to the hub."""

    def __init__(
        self,
        storage: Storage,
        *,
        clock: Clock | None = None,
        hub_url: str | None = None,
        link: Link | None = None,
        public_url: str | None = None,
        federation_key: str | None = None,
        policy: MarketPolicy | None = None,
    ) -> None:
        if storage.market is None:
            raise ValueError("storage: a national system's store names its market")
        self.storage = storage
        self.market: str = storage.market
        self.policy = policy or policy_for(self.market)
        self.clock = clock or Clock()
        self.hub_url = hub_url.rstrip("/") if hub_url else None
        self.link = link or Link(federation_key)
        self.public_url = public_url
        self.federation_key = federation_key
        self.relay = Relay(storage, self._send)
        self.master: MasterData[ProductMaster, Batch] = MasterData()
        self.registered = asyncio.Event()
        self._pack_locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self.bulk = BulkJobs(self)
        self.group = GroupCommit(storage)
        self._background: set[asyncio.Task[Any]] = set()

    # -- plumbing -----------------------------------------------------------------------------------

    async def run_db(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run store work: inline on SQLite (in-process, sub-millisecond), in a thread on PostgreSQL."""
        if self.storage.dialect == "sqlite":
            return fn(*args)
        return await asyncio.to_thread(fn, *args)

    def new_trx_id(self) -> str:
        """Our transaction id (the NMVSTrxId): the market, the time in µs (hex), 24 random bits."""
        return f"{self.market}-{time.time_ns() // 1000:x}{secrets.token_hex(3)}"

    def _lock_for(self, key: tuple[str, str]) -> asyncio.Lock:
        lock = self._pack_locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._pack_locks[key] = lock
        return lock

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def start(self) -> None:
        """Start the background work: outbox relay, bulk worker, resumed jobs, hub registration."""
        self._spawn(self.relay.run())
        self._spawn(self.bulk.worker())
        self.bulk.resume()
        if self.hub_url is not None and self.public_url is not None:
            self._spawn(self._register())
        else:
            self.registered.set()

    async def stop(self) -> None:
        """Stop the background work and close the node links."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.group.stop()
        await self.link.close()

    async def _register(self) -> None:
        assert self.hub_url is not None
        while True:
            try:
                await self.link.call(
                    "hub",
                    "POST",
                    f"{self.hub_url}/hub/v1/nodes",
                    {"market": self.market, "url": self.public_url},
                )
            except (Unavailable, Conflict) as exc:
                log.info("registration with the hub failed, retrying: %s", exc)
                await asyncio.sleep(0.5)
                continue
            self.registered.set()
            self.relay.reset_target("hub")
            await self.relay.flush()
            return

    async def _send(self, target: str, kind: str, payload: Mapping[str, Any]) -> None:
        if target != "hub" or self.hub_url is None:
            raise ValueError(f"outbox target {target!r}: a national system only sends to the hub")
        if kind == "alert-event":
            await self.link.call("hub", "POST", f"{self.hub_url}/hub/v1/alerts", payload)
            return
        raise ValueError(f"outbox kind {kind!r} is not one a national system sends")

    # -- single-pack transactions -------------------------------------------------------------------

    async def transact(self, code_text: str, body: Mapping[str, Any], client: Client) -> Answer:
        """``POST /fmd/v1/packs/{code}``: a single-pack transaction, a bulk submission (G1x5, G1x7, the
        mixed G195), or the fetch of a bulk's results (G188 for G1x5/G1x7, G196 for G195)."""
        try:
            code = parse_transaction_code(code_text)
            kind = code.operation.kind
            if kind is OperationKind.FETCH_RESULT:
                return await self.bulk.fetch(
                    str(body.get("bulkId", body.get("refTrxId", ""))), client, via=code
                )
            if code.operation.bulk:
                return await self.bulk.submit(code, body, client)
            request = read_request(body)
        except FmdInputError as exc:
            return input_error(exc)
        return await self.single(code, request, client, forward=True)

    async def single(
        self, code: TransactionCode, request: PackRequest, client: Client, *, forward: bool
    ) -> Answer:
        """One single-pack transaction, forwarded intermarket when ``forward`` and the product is unknown."""
        lookup = (client.client_id, request.client_trx_id, request.product_code, request.serial)
        step = await self.group.run(lambda conn: self._local(conn, code, request, client, forward), lookup)
        if isinstance(step, _Forward):
            return await self._forward(code, request, client)
        if isinstance(step, _Sync):
            async with self._lock_for((request.product_code, request.serial)):
                step = await self.group.run(lambda conn: self._local(conn, code, request, client, forward))
                if isinstance(step, _Sync):
                    return await self._synchronise(code, request, client, step)
            if isinstance(step, _Forward):  # the product vanished meanwhile: cannot happen, products stay
                return await self._forward(code, request, client)
        return step

    def product_of(self, conn: Connection, product_code: str) -> ProductMaster | None:
        """The product's master data (from memory when known), or None."""
        return self.master.product(product_code, lambda: self.storage.get_product(conn, product_code))

    def batch_of(self, conn: Connection, product_code: str, batch: str) -> Batch | None:
        """The batch (from memory when known), or None."""
        return self.master.batch(
            product_code, batch, lambda: self.storage.get_batch(conn, product_code, batch)
        )

    def _views(
        self, conn: Connection, request: PackRequest, found: tuple[PackRecord, int] | bool | None = False
    ) -> PackViews:
        """What the store holds about the request's pack (``found``: the pack row if already read)."""
        product = self.product_of(conn, request.product_code)
        if product is None:
            return PackViews(None, None, None, None, None)
        if found is False:
            found = self.storage.get_pack(conn, request.product_code, request.serial)
        assert found is not True
        pack, uploaded_us = found if found is not None else (None, None)
        batch = self.batch_of(conn, request.product_code, request.batch)
        pack_batch = batch
        if pack is not None and pack.batch != request.batch:
            pack_batch = self.batch_of(conn, request.product_code, pack.batch)
        return PackViews(product, batch, pack, uploaded_us, pack_batch)

    def count_repeat(self, conn: Connection, pack: PackRecord | None, client: Client) -> int:
        """Count a request for the state ``pack`` is already in at ``client``'s location (the durable
        counter of :meth:`Storage.count_repeat`, in the caller's transaction); returns its number."""
        if pack is None or pack.last_change is None:
            raise ValueError("pack: a repeat is counted on a pack with a last state change")
        return self.storage.count_repeat(
            conn, pack.product_code, pack.serial, client.location, pack.last_change.at
        )

    def _replay(
        self,
        conn: Connection,
        code: TransactionCode,
        request: PackRequest,
        client: Client,
        fingerprint: str,
        recorded: Recorded | bool | None = False,
    ) -> Answer | None:
        if recorded is False:
            recorded = self.storage.get_recorded(conn, client.client_id, request.client_trx_id)
        if recorded is None or recorded is True:
            return None
        if recorded.fingerprint == fingerprint:
            return Answer(recorded.status, orjson.loads(recorded.answer))
        now = self.clock.now()
        outcome = TransactionOutcome(code, ReturnCode.NMVS_TE_TX_01, request, now)
        trx_id = self.new_trx_id()
        self._audit(conn, client, outcome, trx_id, None, None, detail={"reusedClientTrxId": True})
        body = answer_body(outcome, trx_id=trx_id, market=self.market)
        body["detail"] = (
            f"clientTrxId {request.client_trx_id!r} was used for another request ({recorded.trx_id})"
        )
        return Answer(409, body)

    def _local(
        self, conn: Connection, code: TransactionCode, request: PackRequest, client: Client, forward: bool
    ) -> Answer | _Forward | _Sync:
        """One request's store work inside the (shared) transaction ``conn``: see :mod:`.groupcommit`."""
        now = self.clock.now()
        fingerprint = request_fingerprint(code, request)
        recorded, found = self.storage.get_recorded_and_pack(
            conn, client.client_id, request.client_trx_id, request.product_code, request.serial
        )
        replayed = self._replay(conn, code, request, client, fingerprint, recorded)
        if replayed is not None:
            return replayed
        views = self._views(conn, request, found)
        if views.product is not None and not may_see_product(client, views.product.owner):
            return Answer(
                403,
                error_body(
                    ReturnCode.NMVS_FE_AU_08,
                    f"product {request.product_code} belongs to another manufacturer",
                    field="productCode",
                ),
            )
        outcome, new = apply(
            code, request, views.pack, views.product, views.batch, client, now, self.policy,
            repeats=lambda: self.count_repeat(conn, views.pack, client),
        )  # fmt: skip
        if outcome.intermarket and forward and self.hub_url is not None:
            return _Forward()
        if (
            new is not None
            and views.pack is not None
            and views.batch is not None
            and self.hub_url is not None
        ):
            others = tuple(m for m in views.batch.markets if m != self.market)
            if others:
                return _Sync(outcome, views.pack, new, others)
        answer = self._finish(conn, client, outcome, new, None, views, fingerprint)
        assert answer is not None  # an unconditional write always happens
        return answer

    def _finish(
        self,
        conn: Connection,
        client: Client,
        outcome: TransactionOutcome,
        new: PackRecord | None,
        expected: PackRecord | None,
        views: PackViews,
        fingerprint: str,
        *,
        detail: Mapping[str, Any] | None = None,
        record: bool = True,
    ) -> Answer | None:
        """Store the outcome of one transaction (pack, alert, answer, audit) in the caller's transaction.
        Returns None, storing nothing, when ``expected`` is given and the pack changed meanwhile."""
        if new is not None and not self.storage.update_packs(conn, [(new, expected)])[0]:
            return None
        trx_id = self.new_trx_id()
        alert_id = None
        if outcome.alert_raised:
            alert_id = self.raise_alert(conn, client, outcome, trx_id, views)
        body = answer_body(outcome, trx_id=trx_id, market=self.market, alert_id=alert_id)
        if record:
            self.storage.put_recorded(
                conn,
                client.client_id,
                outcome.request.client_trx_id,
                Recorded(fingerprint, 200, orjson.dumps(body).decode(), trx_id),
                outcome.at,
            )
        self._audit(conn, client, outcome, trx_id, alert_id, views, detail=detail)
        return Answer(200, body)

    def _audit(
        self,
        conn: Connection,
        client: Client,
        outcome: TransactionOutcome,
        trx_id: str,
        alert_id: str | None,
        views: PackViews | None,
        *,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        request = outcome.request
        expiry = None
        uploaded = None
        if views is not None:
            if views.pack_batch is not None:
                expiry = views.pack_batch.expiry_date
            if views.uploaded_us is not None:
                uploaded = from_us(views.uploaded_us)
        info: dict[str, Any] = {
            "state": None if outcome.state is None else outcome.state.value,
            "reason": None if outcome.reason is None else outcome.reason.value,
        }
        if outcome.alert is not None:
            info["alert"] = outcome.alert.value
        if outcome.repeat is not None:
            info["repeat"] = outcome.repeat
        if alert_id is not None:
            info["alertId"] = alert_id
        if detail:
            info.update(detail)
        audit.append(
            conn,
            [
                audit.AuditEntry(
                    at=outcome.at,
                    actor=client.client_id,
                    action=outcome.transaction.value,
                    role=client.role.value,
                    location=client.location,
                    user=client.user,
                    product_code=request.product_code,
                    serial=request.serial,
                    batch=request.batch,
                    client_trx_id=request.client_trx_id,
                    trx_id=trx_id,
                    return_code=outcome.return_code.value,
                    detail=info,
                    retain_until=audit.retain_until(outcome.at, expiry, uploaded),
                )
            ],
        )

    def raise_alert(
        self,
        conn: Connection,
        client: Client,
        outcome: TransactionOutcome,
        trx_id: str,
        views: PackViews | None,
    ) -> str:
        """Record the alert ``outcome`` raised, with what is on file, and queue it for the hub (in the
        caller's store transaction); returns the alert id."""
        alert_id = f"AL-{trx_id}"
        on_file: dict[str, Any] = {}
        owner = None
        if views is not None and views.product is not None:
            owner = views.product.owner
            on_file["productCode"] = views.product.product_code
            if views.pack is not None:
                on_file["serialNumber"] = views.pack.serial
                on_file["batch"] = views.pack.batch
                on_file["state"] = views.pack.state.value
                on_file["reason"] = None if views.pack.reason is None else views.pack.reason.value
            if views.pack_batch is not None:
                on_file["expiry"] = views.pack_batch.expiry
                on_file.setdefault("batch", views.pack_batch.batch)
        event = alert_store.record_alert(
            conn,
            alert_id=alert_id,
            market=self.market,
            outcome=outcome,
            client=client,
            trx_id=trx_id,
            owner=owner,
            on_file=on_file,
        )
        if self.hub_url is not None:
            enqueue(conn, "hub", "alert-event", event, outcome.at)
            self.relay.wake()
        return alert_id

    # -- intermarket --------------------------------------------------------------------------------

    async def _forward(self, code: TransactionCode, request: PackRequest, client: Client) -> Answer:
        assert self.hub_url is not None
        try:
            status, data = await self.link.call(
                "hub",
                "POST",
                f"{self.hub_url}/hub/v1/intermarket/{code.value}",
                {"origin": self.market, "client": client_json(client), "request": request.to_json()},
            )
        except Unavailable as exc:
            return unavailable(exc)
        except Conflict as exc:
            return Answer(exc.status, exc.body)
        if status == 404:
            return await self.run_db(self._unknown_everywhere, code, request, client)
        return await self.run_db(self._record_forwarded, code, request, client, data)

    def _unknown_everywhere(self, code: TransactionCode, request: PackRequest, client: Client) -> Answer:
        fingerprint = request_fingerprint(code, request)
        with self.storage.write() as conn:
            replayed = self._replay(conn, code, request, client, fingerprint)
            if replayed is not None:
                return replayed
            outcome = unknown_product_everywhere(code, request, self.clock.now(), self.policy)
            views = PackViews(None, None, None, None, None)
            answer = self._finish(
                conn, client, outcome, None, None, views, fingerprint, detail={"intermarket": None}
            )
            assert answer is not None
            return answer

    def _record_forwarded(
        self, code: TransactionCode, request: PackRequest, client: Client, data: Mapping[str, Any]
    ) -> Answer:
        body = {**data, "intermarket": True}
        fingerprint = request_fingerprint(code, request)
        now = self.clock.now()
        try:
            with self.storage.write() as conn:
                replayed = self._replay(conn, code, request, client, fingerprint)
                if replayed is not None:
                    return replayed
                trx_id = str(body.get("trxId", self.new_trx_id()))
                self.storage.put_recorded(
                    conn,
                    client.client_id,
                    request.client_trx_id,
                    Recorded(fingerprint, 200, orjson.dumps(body).decode(), trx_id),
                    now,
                )
                outcome = TransactionOutcome(code, ReturnCode(str(body["returnCode"])), request, now)
                self._audit(
                    conn, client, outcome, trx_id, None, None, detail={"intermarket": body.get("market")}
                )
        except IntegrityError:  # a duplicate of this request recorded its answer first
            with self.storage.write() as conn:
                replayed = self._replay(conn, code, request, client, fingerprint)
                assert replayed is not None
                return replayed
        return Answer(200, body)

    async def intermarket_in(self, code_text: str, body: Mapping[str, Any]) -> Answer:
        """A single-pack transaction from another market's client, forwarded by the hub."""
        try:
            code = parse_transaction_code(code_text)
            if not code.is_single_pack:
                raise FmdInputError(
                    "code", f"{code.value} is a bulk code; bulk transactions stay in their market"
                )
            origin = str(body["origin"])
            caller = client_from_json(body["client"])
            request = PackRequest.from_json(body["request"])
        except FmdInputError as exc:
            return input_error(exc)
        except MALFORMED as exc:
            return Answer(400, error_body(ReturnCode.NMVS_TE_JS_02, f"intermarket request: {exc!r}"))
        client = Client(
            f"{origin}/{caller.client_id}", caller.role, f"{origin}/{caller.location}", caller.user
        )
        return await self.single(code, request, client, forward=False)

    # -- multi-market packs -------------------------------------------------------------------------

    async def _synchronise(
        self, code: TransactionCode, request: PackRequest, client: Client, step: _Sync
    ) -> Answer:
        assert self.hub_url is not None
        payload = {
            "origin": self.market,
            "markets": list(step.markets),
            "expected": pack_json(step.prior),
            "new": pack_json(step.new),
        }
        try:
            await self.link.call("hub", "POST", f"{self.hub_url}/hub/v1/sync", payload)
        except Unavailable as exc:
            return unavailable(exc)
        except Conflict as exc:
            return await self.run_db(self._sync_refused, code, request, client, step, exc.body)
        answer = await self.run_db(self._commit_synced, request, client, step)
        if answer is not None:
            return answer
        # The pack changed here while the other markets took the change: put them back, then refuse.
        undo = {**payload, "expected": pack_json(step.new), "new": pack_json(step.prior)}
        try:
            await self.link.call("hub", "POST", f"{self.hub_url}/hub/v1/sync", undo)
        except (Unavailable, Conflict) as exc:
            log.error(
                "could not revert the multi-market change of %s/%s: %s",
                request.product_code,
                request.serial,
                exc,
            )
        return await self.run_db(
            self._sync_refused, code, request, client, step, {"detail": "changed concurrently"}
        )

    def _commit_synced(self, request: PackRequest, client: Client, step: _Sync) -> Answer | None:
        fingerprint = request_fingerprint(step.outcome.transaction, request)
        with self.storage.write() as conn:
            views = self._views(conn, request)
            return self._finish(
                conn, client, step.outcome, step.new, step.prior, views, fingerprint,
                detail={"markets": [self.market, *step.markets]},
            )  # fmt: skip

    def _sync_refused(
        self,
        code: TransactionCode,
        request: PackRequest,
        client: Client,
        step: _Sync,
        why: Mapping[str, Any],
    ) -> Answer:
        fingerprint = request_fingerprint(code, request)
        with self.storage.write() as conn:
            views = self._views(conn, request)
            outcome = TransactionOutcome(
                code,
                ReturnCode.NMVS_NC_PCK_27,
                request,
                self.clock.now(),
                state=step.prior.state,
                reason=step.prior.reason,
            )
            answer = self._finish(
                conn,
                client,
                outcome,
                None,
                None,
                views,
                fingerprint,
                detail={"refused": str(why.get("detail"))},
            )
            assert answer is not None
            return answer

    def sync_in(self, payload: Mapping[str, Any], *, prepare: bool) -> Answer:
        """Another market changes a pack this market holds too: check (``prepare``) or store the change
        when the pack is still in the state that market saw."""
        try:
            expected = pack_from_json(payload["expected"])
            new = pack_from_json(payload["new"])
            origin = str(payload["origin"])
        except MALFORMED as exc:
            return Answer(400, error_body(ReturnCode.NMVS_TE_JS_02, f"sync request: {exc!r}"))
        now = self.clock.now()
        with self.storage.write() as conn:
            found = self.storage.get_pack(conn, expected.product_code, expected.serial)
            if found is None:
                return Answer(
                    409,
                    error_body(ReturnCode.NMVS_NC_PCK_27, f"{self.market} holds no pack {expected.serial!r}"),
                )
            current, uploaded_us = found
            if not _same_state(current, expected):
                return Answer(
                    409,
                    error_body(
                        ReturnCode.NMVS_NC_PCK_27,
                        f"the pack is {current.state.value}/{current.reason} in {self.market}",
                        pack=pack_json(current),
                    ),
                )
            if prepare:
                return Answer(200, {"ready": True, "market": self.market})
            if not self.storage.update_packs(conn, [(new, expected)])[0]:
                return Answer(409, error_body(ReturnCode.NMVS_NC_PCK_27, "the pack changed meanwhile"))
            batch = self.storage.get_batch(conn, new.product_code, new.batch)
            lc = new.last_change
            audit.append(
                conn,
                [
                    audit.AuditEntry(
                        at=now,
                        actor=lc.client_id if lc is not None else HUB_CLIENT,
                        action="SYNC",
                        location=None if lc is None else lc.location,
                        user=None if lc is None else lc.user,
                        product_code=new.product_code,
                        serial=new.serial,
                        batch=new.batch,
                        client_trx_id=None if lc is None else lc.client_trx_id,
                        detail={
                            "origin": origin,
                            "transaction": None if lc is None else lc.transaction.value,
                            "state": new.state.value,
                            "reason": None if new.reason is None else new.reason.value,
                        },
                        retain_until=audit.retain_until(
                            now, None if batch is None else batch.expiry_date, from_us(uploaded_us)
                        ),
                    )
                ],
            )
        return Answer(200, {"applied": True, "market": self.market})

    # -- deliveries from the hub --------------------------------------------------------------------

    def deliver_in(self, payload: Mapping[str, Any]) -> Answer:
        """Product master data, a batch with its serials, a recall or a withdrawal, from the hub (once)."""
        try:
            delivery_id = str(payload["deliveryId"])
            kind = str(payload["kind"])
            data = payload["data"]
        except MALFORMED as exc:
            return Answer(400, error_body(ReturnCode.NMVS_TE_JS_02, f"delivery: {exc!r}"))
        now = self.clock.now()
        try:
            with self.storage.write() as conn:
                if self.storage.get_recorded(conn, HUB_CLIENT, delivery_id) is not None:
                    return Answer(200, {"deliveryId": delivery_id, "duplicate": True})
                entry = self._apply_delivery(conn, kind, data, now)
                if isinstance(entry, Answer):
                    return entry
                self.storage.put_recorded(
                    conn, HUB_CLIENT, delivery_id, Recorded(kind, 200, "{}", delivery_id), now
                )
                audit.append(conn, [entry])
        except MALFORMED as exc:  # rolled back: nothing of a malformed delivery is stored
            return Answer(400, error_body(ReturnCode.NMVS_TE_JS_02, f"delivery {kind}: {exc!r}"))
        finally:
            self.master.forget()  # after the commit: products and batches are read afresh
        return Answer(200, {"deliveryId": delivery_id, "applied": kind})

    def _apply_delivery(
        self, conn: Connection, kind: str, data: Any, now: datetime
    ) -> audit.AuditEntry | Answer:
        storage = self.storage
        if kind in ("product", "withdraw"):
            product = product_from_json(data["product"])
            if product.uploaded_at is None or not product.markets:
                raise ValueError("product: expected uploadedAt and at least one market")
            storage.put_product(conn, product)
            return audit.AuditEntry(
                at=now,
                actor=product.owner,
                role=Role.MANUFACTURER.value,
                action="UPLOAD_PRODUCT" if kind == "product" else "WITHDRAW",
                product_code=product.product_code,
                detail={"name": product.name, "markets": list(product.markets)},
            )
        if kind in ("batch", "recall"):
            batch = batch_from_json(data["batch"])
            serials = data.get("serials", [])
            if batch.uploaded_at is None or not isinstance(serials, list):
                raise ValueError("batch: expected uploadedAt and a list of serials")
            if not all(isinstance(serial, str) for serial in serials):
                raise ValueError("serials: expected text")
            owner_product = storage.get_product(conn, batch.product_code)
            if owner_product is None:
                return Answer(
                    409, error_body(ReturnCode.NMVS_NC_PC_01, f"no master data for {batch.product_code} yet")
                )
            storage.put_batch(conn, batch)
            if serials:
                storage.insert_packs(
                    conn, [PackRecord(batch.product_code, s, batch.batch) for s in serials], now
                )
            return audit.AuditEntry(
                at=now,
                actor=owner_product.owner,
                role=Role.MANUFACTURER.value,
                action="UPLOAD_BATCH" if kind == "batch" else "RECALL",
                product_code=batch.product_code,
                batch=batch.batch,
                detail={
                    "expiry": batch.expiry,
                    "serials": len(serials),
                    "serialsDigest": hashlib.sha256("\n".join(serials).encode()).hexdigest(),
                },
                retain_until=audit.retain_until(now, batch.expiry_date, batch.uploaded_at),
            )
        return Answer(400, error_body(ReturnCode.NMVS_TE_JS_02, f"delivery kind {kind!r} is unknown"))

    # -- alerts -------------------------------------------------------------------------------------

    def list_alerts(self, client: Client, *, status: str | None = None, limit: int = 100) -> Answer:
        """The alerts ``client`` may see, newest first."""
        owner, raised_by = self._alert_scope(client)
        with self.storage.read() as conn:
            rows = alert_store.list_alerts(conn, owner=owner, client_id=raised_by, status=status, limit=limit)
        return Answer(200, {"alerts": rows})

    def _alert_scope(self, client: Client) -> tuple[str | None, str | None]:
        if client.role is Role.AUTHORITY:
            return None, None
        if client.role is Role.MANUFACTURER:
            return party_of(client), None
        return None, client.client_id

    def get_alert(self, client: Client, alert_id: str) -> Answer:
        """One alert; the authority also sees the pack's audit entries (to investigate it)."""
        with self.storage.read() as conn:
            row = alert_store.get_alert(conn, alert_id)
            if row is None or not may_read_alert(client, row["client_id"], row["owner"]):
                return Answer(404, error_body(ReturnCode.NMVS_ERROR, f"no alert {alert_id!r}"))
            body = alert_store.alert_body(row)
            if client.role is Role.AUTHORITY:
                body["audit"] = audit.entries(
                    conn, product_code=row["product_code"], serial=row["serial"], limit=1000
                )
        return Answer(200, body)

    def move_alert(self, client: Client, alert_id: str, body: Mapping[str, Any]) -> Answer:
        """Move an alert along its lifecycle (the authority, or the product's owner)."""
        now = self.clock.now()
        with self.storage.write() as conn:
            row = alert_store.get_alert(conn, alert_id)
            if row is None or not may_read_alert(client, row["client_id"], row["owner"]):
                return Answer(404, error_body(ReturnCode.NMVS_ERROR, f"no alert {alert_id!r}"))
            if not may_manage_alert(client, row["owner"]):
                return Answer(
                    403,
                    error_body(
                        ReturnCode.NMVS_FE_AU_15, "only the authority or the product's owner moves alerts"
                    ),
                )
            try:
                event = alert_store.transition(
                    conn, alert_id, body.get("status"), body.get("reason"), client, now
                )
            except FmdInputError as exc:
                return input_error(exc)
            assert event is not None
            audit.append(
                conn,
                [
                    audit.AuditEntry(
                        at=now,
                        actor=client.client_id,
                        role=client.role.value,
                        location=client.location,
                        user=client.user,
                        action="ALERT_" + event["status"].upper(),
                        product_code=row["product_code"],
                        serial=row["serial"],
                        detail={"alertId": alert_id, "reason": body.get("reason")},
                    )
                ],
            )
            if self.hub_url is not None:
                enqueue(conn, "hub", "alert-event", event, now)
        if self.hub_url is not None:
            self.relay.wake()
        return Answer(200, event["alert"])

    def alert_feed(self, client: Client, *, after: int = 0, limit: int = 100) -> Answer:
        """The alert change feed after ``after`` (what ``client`` may see)."""
        owner, raised_by = self._alert_scope(client)
        with self.storage.read() as conn:
            events = alert_store.feed(conn, after=after, owner=owner, client_id=raised_by, limit=limit)
        last = events[-1]["seq"] if events else after
        return Answer(200, {"events": events, "last": last})

    # -- audit --------------------------------------------------------------------------------------

    def audit_entries(
        self,
        client: Client,
        *,
        product_code: str | None = None,
        serial: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> Answer:
        """Audit entries ``client`` may read: its own; the authority all."""
        actor = None if client.role is Role.AUTHORITY else client.client_id
        with self.storage.read() as conn:
            rows = audit.entries(
                conn,
                actor=actor,
                product_code=product_code,
                serial=serial,
                after=after,
                limit=min(limit, 1000),
            )
        return Answer(200, {"entries": rows})

    # -- the test clock -----------------------------------------------------------------------------

    def set_clock(self, body: Mapping[str, Any]) -> Answer:
        """``{"now": ISO-8601}`` sets the clock; ``{"advanceHours": h}`` moves it."""
        return set_clock(self.clock, body)
