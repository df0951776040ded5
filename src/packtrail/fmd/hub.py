"""The European hub as a service: uploads, recalls and withdrawals to national systems, and routing.

The hub never serves end users (reference §1.9). It

- takes product master data and batches from marketing-authorisation holders
  (their clients live in the hub's store), checks them against what it holds
  (``NMVS_FE_SN_02`` for a serial the product already has, ``NMVS_FE_LOT_02`` for
  a batch re-uploaded with another expiry, ``NMVS_FE_LOT_08`` for a withdrawn
  product) and delivers them to the national system of every named market,
  through its outbox: a market whose system is down gets them when it registers
  again;
- routes an intermarket transaction from a national system that does not know
  the product code to a market that holds it (404 when none does: alert #A1);
- carries a multi-market pack's state change to every other market holding the
  pack: each is first asked whether the pack is still in the state the
  originating market saw (all must answer), then told to store the change;
- collects alerts from national systems and delivers them to the product's owner
  by webhook and on its change feed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy.engine import Connection
from sqlalchemy.exc import StatementError

from packtrail.fmd import alerts as alert_store
from packtrail.fmd import audit
from packtrail.fmd.access import party_of
from packtrail.fmd.answers import Answer, input_error, set_clock, unavailable
from packtrail.fmd.clock import Clock
from packtrail.fmd.codes import ReturnCode, TransactionCode
from packtrail.fmd.errors import FmdInputError, UploadRejected
from packtrail.fmd.federation import Conflict, Link, Unavailable
from packtrail.fmd.fields import market_code
from packtrail.fmd.model import Client, Role
from packtrail.fmd.outbox import Relay, enqueue
from packtrail.fmd.policy import POLICIES
from packtrail.fmd.storage import Storage
from packtrail.fmd.upload import (
    BatchUpload,
    ProductUpload,
    accept_batch,
    accept_product,
    recall_batch,
    withdraw_product,
)
from packtrail.fmd.wire import MALFORMED, batch_json, error_body, product_json

__all__ = ["Hub"]

log = logging.getLogger("packtrail.fmd.hub")

_CONFLICTS: Final = frozenset(
    {
        ReturnCode.NMVS_FE_SN_02,
        ReturnCode.NMVS_FE_LOT_01,
        ReturnCode.NMVS_FE_LOT_02,
        ReturnCode.NMVS_FE_LOT_04,
        ReturnCode.NMVS_FE_LOT_08,
        ReturnCode.NMVS_NC_PC_01,
        ReturnCode.NMVS_NC_PC_03,
    }
)
"""Upload rejections about what the repository already holds (HTTP 409); the rest are bad input (400)."""


_MALFORMED_EVENT: Final[tuple[type[Exception], ...]] = (*MALFORMED, StatementError)
"""A forwarded alert event whose fields have the wrong types fails as one of these (in the store)."""


def _rejected(exc: FmdInputError) -> Answer:
    status = 409 if exc.return_code in _CONFLICTS else 400
    return Answer(status, error_body(exc.return_code, exc.reason, field=exc.field))


def _forbidden(what: str) -> Answer:
    return Answer(403, error_body(ReturnCode.NMVS_FE_AU_12, what))


class Hub:
    """The hub: its store (products, batches, serials, market registry, alert copies) and its links."""

    def __init__(
        self,
        storage: Storage,
        *,
        clock: Clock | None = None,
        link: Link | None = None,
        federation_key: str | None = None,
    ) -> None:
        self.storage = storage
        self.clock = clock or Clock()
        self.federation_key = federation_key
        self.link = link or Link(federation_key)
        self.webhooks = Link(None)
        self.relay = Relay(storage, self._send)
        self._background: set[asyncio.Task[Any]] = set()
        # The hub is the only writer of its registry and products: it keeps them in memory as well.
        self._registry: dict[str, str] | None = None
        self._held: dict[str, tuple[str, ...]] = {}

    async def start(self) -> None:
        """Start the outbox relay."""
        task = asyncio.ensure_future(self.relay.run())
        self._background.add(task)

    async def stop(self) -> None:
        """Stop the relay and close the links."""
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.link.close()
        await self.webhooks.close()

    def _urls(self) -> dict[str, str]:
        if self._registry is None:
            self._registry = self.storage.market_urls()
        return self._registry

    async def _send(self, target: str, kind: str, payload: Mapping[str, Any]) -> None:
        prefix, _, name = target.partition(":")
        if prefix == "market":
            url = self._urls().get(name)
            if url is None:
                raise Unavailable(name, "not registered with the hub")
            if kind == "delivery":
                await self.link.call(name, "POST", f"{url}/fmd/v1/internal/deliveries", payload)
                return
            if kind == "sync":
                try:
                    await self.link.call(name, "POST", f"{url}/fmd/v1/internal/sync", payload)
                except Conflict as exc:  # the market moved on; nothing to retry
                    log.warning("late multi-market change refused by %s: %s", name, exc)
                return
        if prefix == "webhook":
            with self.storage.read() as conn:
                url = self.storage.webhook_of(conn, name)
            if url is not None:
                await self.webhooks.call(f"webhook of {name}", "POST", url, payload)
            return
        raise ValueError(f"outbox target {target!r} / kind {kind!r} is not one the hub sends")

    def _audit(self, conn: Connection, client: Client, action: str, **fields: Any) -> None:
        now = self.clock.now()
        audit.append(
            conn,
            [
                audit.AuditEntry(
                    at=now,
                    actor=client.client_id,
                    action=action,
                    role=client.role.value,
                    location=client.location,
                    user=client.user,
                    **fields,
                )
            ],
        )

    def _deliver(
        self, conn: Connection, markets: tuple[str, ...], kind: str, data: Mapping[str, Any]
    ) -> dict[str, int]:
        now = self.clock.now()
        seqs: dict[str, int] = {}
        for market in markets:
            payload = {"deliveryId": f"HUB-{secrets.token_hex(8)}", "kind": kind, "data": data}
            seqs[market] = enqueue(conn, f"market:{market}", "delivery", payload, now)
        return seqs

    async def _delivered(self, seqs: Mapping[str, int]) -> dict[str, str]:
        if not seqs:
            return {}
        done = await self.relay.flush(seqs.values())
        return {market: "delivered" if done.get(seq) else "pending" for market, seq in seqs.items()}

    async def _answer_upload(self, body: dict[str, Any], seqs: Mapping[str, int], created: bool) -> Answer:
        body["markets"] = await self._delivered(seqs)
        pending = any(state == "pending" for state in body["markets"].values())
        return Answer(202 if pending else (201 if created else 200), body)

    # -- uploads ------------------------------------------------------------------------------------

    async def upload_product(self, body: Mapping[str, Any], client: Client) -> Answer:
        """``POST /hub/v1/products``: master data, delivered to every target market."""
        if client.role is not Role.MANUFACTURER:
            return _forbidden("only a manufacturer (marketing-authorisation holder) uploads products")
        try:
            upload = ProductUpload.from_json(body)
        except FmdInputError as exc:
            return _rejected(exc)
        now = self.clock.now()
        try:
            with self.storage.write() as conn:
                existing = self.storage.get_product(conn, upload.product_code)
                product = accept_product(upload, existing, client, now)
                self.storage.put_product(conn, product)
                self._held.pop(product.product_code, None)
                seqs = self._deliver(conn, product.markets, "product", {"product": product_json(product)})
                self._audit(conn, client, "UPLOAD_PRODUCT", product_code=product.product_code,
                            detail={"markets": list(product.markets)})  # fmt: skip
        except UploadRejected as exc:
            return _rejected(exc)
        return await self._answer_upload({"productCode": product.product_code}, seqs, existing is None)

    async def upload_batch(self, body: Mapping[str, Any], client: Client) -> Answer:
        """``POST /hub/v1/batches``: a batch and its serials, delivered to the batch's markets."""
        if client.role is not Role.MANUFACTURER:
            return _forbidden("only a manufacturer (marketing-authorisation holder) uploads batches")
        try:
            upload = BatchUpload.from_json(body)
        except FmdInputError as exc:
            return _rejected(exc)
        now = self.clock.now()
        try:
            with self.storage.write() as conn:
                product = self.storage.get_product(conn, upload.product_code)
                existing_batch = self.storage.get_batch(conn, upload.product_code, upload.batch)
                held = self.storage.existing_serials(conn, upload.product_code, upload.serials)
                accepted = accept_batch(upload, product, existing_batch, held, client, now)
                self.storage.put_batch(conn, accepted.batch)
                self.storage.insert_packs(conn, accepted.packs, now)
                seqs = self._deliver(
                    conn,
                    accepted.batch.markets,
                    "batch",
                    {"batch": batch_json(accepted.batch), "serials": list(upload.serials)},
                )
                self._audit(
                    conn, client, "UPLOAD_BATCH", product_code=upload.product_code, batch=upload.batch,
                    detail={"serials": len(upload.serials), "expiry": upload.expiry},
                )  # fmt: skip
        except UploadRejected as exc:
            return _rejected(exc)
        body = {"productCode": upload.product_code, "batch": upload.batch, "serials": len(upload.serials)}
        return await self._answer_upload(body, seqs, existing_batch is None)

    async def recall(self, product_code: str, batch_id: str, client: Client) -> Answer:
        """Recall a batch: irreversible; every pack of it inactive in every market."""
        if client.role is not Role.MANUFACTURER:
            return _forbidden("only the product's owner recalls a batch")
        try:
            with self.storage.write() as conn:
                product = self.storage.get_product(conn, product_code)
                batch = None if product is None else self.storage.get_batch(conn, product_code, batch_id)
                if product is None or batch is None:
                    return Answer(
                        404, error_body(ReturnCode.NMVS_FE_LOT_03, f"no batch {batch_id!r} of {product_code}")
                    )
                recalled = recall_batch(batch, product, client, self.clock.now())
                self.storage.put_batch(conn, recalled)
                seqs = self._deliver(conn, recalled.markets, "recall", {"batch": batch_json(recalled)})
                self._audit(conn, client, "RECALL", product_code=product_code, batch=batch_id)
        except UploadRejected as exc:
            return _rejected(exc)
        assert recalled.recalled_at is not None
        body = {
            "productCode": product_code,
            "batch": batch_id,
            "recalledAt": recalled.recalled_at.isoformat(),
        }
        return await self._answer_upload(body, seqs, False)

    async def withdraw(self, product_code: str, client: Client) -> Answer:
        """Withdraw a product: irreversible; every pack inactive; no new batch accepted."""
        if client.role is not Role.MANUFACTURER:
            return _forbidden("only the product's owner withdraws it")
        try:
            with self.storage.write() as conn:
                product = self.storage.get_product(conn, product_code)
                if product is None:
                    return Answer(404, error_body(ReturnCode.NMVS_NC_PC_01, f"no product {product_code}"))
                withdrawn = withdraw_product(product, client, self.clock.now())
                self.storage.put_product(conn, withdrawn)
                seqs = self._deliver(
                    conn, withdrawn.markets, "withdraw", {"product": product_json(withdrawn)}
                )
                self._audit(conn, client, "WITHDRAW", product_code=product_code)
        except UploadRejected as exc:
            return _rejected(exc)
        assert withdrawn.withdrawn_at is not None
        body = {"productCode": product_code, "withdrawnAt": withdrawn.withdrawn_at.isoformat()}
        return await self._answer_upload(body, seqs, False)

    # -- national systems ---------------------------------------------------------------------------

    async def register(self, body: Mapping[str, Any]) -> Answer:
        """A national system announces its market and base URL; waiting deliveries go out to it."""
        try:
            market = market_code(body.get("market"), field="market")
            if market not in POLICIES:
                raise FmdInputError("market", f"{market!r} is not a market of the EU repositories system")
            url = body.get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise FmdInputError("url", f"expected the node's http(s) base URL, found {url!r}")
        except FmdInputError as exc:
            return input_error(exc)
        self.storage.register_market(market, url.rstrip("/"), self.clock.now())
        self._registry = None
        self.relay.reset_target(f"market:{market}")
        await self.relay.flush()
        return Answer(200, {"market": market, "url": url.rstrip("/")})

    def nodes(self) -> Answer:
        """The registered national systems."""
        return Answer(200, {"nodes": [{"market": m, "url": u} for m, u in sorted(self._urls().items())]})

    async def intermarket(self, code_text: str, body: Mapping[str, Any]) -> Answer:
        """Route a single-pack transaction to a market holding the product (404 when none does)."""
        try:
            code = TransactionCode(code_text)
            origin = str(body["origin"])
            product_code = str(body["request"]["productCode"])
        except MALFORMED as exc:
            return Answer(400, error_body(ReturnCode.NMVS_TE_JS_02, f"intermarket request: {exc!s}"))
        if not code.is_single_pack:
            return Answer(
                400, error_body(ReturnCode.NMVS_FE_REQ_02, "bulk transactions do not go intermarket")
            )
        held = self.product_markets(product_code)
        urls = self._urls()
        candidates = [m for m in held if m != origin]
        if not candidates:
            return Answer(404, {"found": False, "productCode": product_code})
        last: Unavailable | None = None
        for market in candidates:
            url = urls.get(market)
            if url is None:
                last = Unavailable(market, "not registered with the hub")
                continue
            try:
                status, data = await self.link.call(
                    market, "POST", f"{url}/fmd/v1/internal/intermarket/{code.value}", body
                )
            except Unavailable as exc:
                last = exc
                continue
            except Conflict as exc:
                return Answer(exc.status, exc.body)
            return Answer(status, data)
        assert last is not None
        return unavailable(last)

    async def sync(self, body: Mapping[str, Any]) -> Answer:
        """Carry a multi-market pack's state change to the other markets holding it: every one must
        confirm the pack's state first (else 409, or 503 when one does not answer), then all store it."""
        try:
            origin = str(body["origin"])
            markets = [str(m) for m in body["markets"] if m != origin]
        except MALFORMED as exc:
            return Answer(400, error_body(ReturnCode.NMVS_TE_JS_02, f"sync request: missing {exc}"))
        urls = self._urls()
        for market in markets:
            if market not in urls:
                return unavailable(Unavailable(market, "not registered with the hub"))

        async def call(market: str, prepare: bool) -> tuple[int, Any]:
            suffix = "?prepare=1" if prepare else ""
            return await self.link.call(market, "POST", f"{urls[market]}/fmd/v1/internal/sync{suffix}", body)

        checks = await asyncio.gather(*(call(m, True) for m in markets), return_exceptions=True)
        for outcome in checks:
            if isinstance(outcome, Unavailable):
                return unavailable(outcome)
            if isinstance(outcome, Conflict):
                return Answer(409, outcome.body)
            if isinstance(outcome, BaseException):
                raise outcome
        applied = await asyncio.gather(*(call(m, False) for m in markets), return_exceptions=True)
        queued: list[str] = []
        for market, outcome in zip(markets, applied, strict=True):
            if isinstance(outcome, Unavailable):
                # Confirmed a moment ago, gone now: the outbox delivers the change when it is back.
                with self.storage.write() as conn:
                    enqueue(conn, f"market:{market}", "sync", body, self.clock.now())
                queued.append(market)
            elif isinstance(outcome, BaseException):
                log.warning("multi-market change refused by %s after its check: %s", market, outcome)
        return Answer(200, {"applied": [m for m in markets if m not in queued], "queued": queued})

    # -- alerts -------------------------------------------------------------------------------------

    async def alert_in(self, event: Mapping[str, Any]) -> Answer:
        """An alert event from a national system: keep a copy, pass it to the product's owner."""
        try:
            owner = event["alert"]["owner"]
            with self.storage.write() as conn:
                fresh = alert_store.record_copy(conn, event)
                seq = None
                if fresh and owner is not None and self.storage.webhook_of(conn, owner) is not None:
                    seq = enqueue(conn, f"webhook:{owner}", "alert-event", event, self.clock.now())
        except _MALFORMED_EVENT as exc:  # a field of the wrong type reaches the store as one
            return Answer(400, error_body(ReturnCode.NMVS_TE_JS_02, f"alert event: {exc!s}"))
        if seq is not None:
            self.relay.wake()
        return Answer(200, {"stored": fresh})

    def alert_feed(self, client: Client, *, after: int = 0, limit: int = 100) -> Answer:
        """The alert feed of the products ``client`` owns (the authority: all)."""
        if client.role is Role.AUTHORITY:
            owner = None
        elif client.role is Role.MANUFACTURER:
            owner = party_of(client)
        else:
            return _forbidden("the hub's alert feed is for product owners and authorities")
        with self.storage.read() as conn:
            events = alert_store.feed(conn, after=after, owner=owner, limit=limit)
        return Answer(200, {"events": events, "last": events[-1]["seq"] if events else after})

    def set_clock(self, body: Mapping[str, Any]) -> Answer:
        """``POST /admin/clock`` on a hub started with ``--clock-control``."""
        return set_clock(self.clock, body)

    def product_markets(self, product_code: str) -> tuple[str, ...]:
        """The markets the hub routes ``product_code`` to, in upload order (empty when unknown)."""
        held = self._held.get(product_code)
        if held is None:
            with self.storage.read() as conn:
                product = self.storage.get_product(conn, product_code)
            held = () if product is None else product.markets
            if product is not None:  # unknown codes are not remembered: they may be uploaded next
                self._held[product_code] = held
        return held
