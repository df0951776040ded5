"""Upload, recall and withdrawal: what the marketing-authorisation holder sends through the hub.

Master data come first, then batches with their serial numbers. Each function
checks one upload against what the store already holds and returns the records
to store, or raises :class:`~packtrail.fmd.errors.UploadRejected` with the NMVS
return code; a rejected upload stores nothing.

>>> from datetime import datetime, timezone
>>> from packtrail.fmd.model import Client, Role
>>> from packtrail.fmd.upload import BatchUpload, ProductUpload, accept_batch, accept_product, recall_batch
>>> now = datetime(2026, 3, 1, tzinfo=timezone.utc)
>>> mah = Client("mah-1", Role.MANUFACTURER, "MAH-SITE", "ops")
>>> product = accept_product(
...     ProductUpload.from_json({"productCode": "09506000134352", "name": "Examplin 10 mg", "markets": ["DE", "AT"]}),
...     None, mah, now)
>>> upload = BatchUpload.from_json(
...     {"productCode": "09506000134352", "batch": "L1", "expiry": "270100", "serials": ["S1", "S2"]})
>>> accepted = accept_batch(upload, product, None, set(), mah, now)
>>> accepted.batch.markets, accepted.batch.expiry_date.isoformat(), [p.serial for p in accepted.packs]
(('DE', 'AT'), '2027-01-31', ['S1', 'S2'])

A serial the product already has is refused, and so is the same batch with another expiry:

>>> accept_batch(upload, product, None, {"S2"}, mah, now)
Traceback (most recent call last):
...
packtrail.fmd.errors.UploadRejected: serials[1]: product code 09506000134352 already has serial number 'S2' [NMVS_FE_SN_02]

A recall is irreversible; every pack of the batch is inactive from then on:

>>> recall_batch(accepted.batch, product, mah, now).recalled
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Container, Mapping
from dataclasses import dataclass
from datetime import datetime

from packtrail.fmd.codes import ReturnCode
from packtrail.fmd.errors import FmdInputError, UploadRejected
from packtrail.fmd.fields import (
    ProductCodeScheme,
    batch_id,
    expiry_yymmdd,
    market_code,
    product_code,
    serial_number,
)
from packtrail.fmd.model import Batch, Client, PackRecord, ProductMaster
from packtrail.fmd.policy import POLICIES
from packtrail.gs1 import GS1Error
from packtrail.gs1.linters import gs1_date

__all__ = [
    "BatchAcceptance",
    "BatchUpload",
    "ProductUpload",
    "accept_batch",
    "accept_product",
    "recall_batch",
    "withdraw_product",
]


def _reject(error: FmdInputError) -> UploadRejected:
    return UploadRejected(error.field, error.reason, error.return_code)


def _markets(value: object, field: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise UploadRejected(field, f"expected a non-empty list of market codes, found {value!r}")
    markets: list[str] = []
    for index, item in enumerate(value):
        try:
            market = market_code(item, field=f"{field}[{index}]")
        except FmdInputError as exc:
            raise _reject(exc) from None
        if market not in POLICIES:
            raise UploadRejected(
                f"{field}[{index}]", f"{market!r} is not a market of the EU repositories system"
            )
        if market not in markets:
            markets.append(market)
    return tuple(markets)


@dataclass(frozen=True, slots=True)
class ProductUpload:
    """Product master data as uploaded: ``{productCode, name, markets, nhrn}``."""

    product_code: str
    """The product code (GTIN-14 or PPN)."""
    scheme: ProductCodeScheme
    """The product code's scheme."""
    name: str
    """The product's name."""
    markets: tuple[str, ...]
    """The target markets, in upload order, without repeats."""
    nhrn: tuple[tuple[str, str], ...] = ()
    """National reimbursement numbers as ``(market, number)``; each market must be a target market."""

    @classmethod
    def from_json(cls, body: Mapping[str, object]) -> ProductUpload:
        """Read and check an upload body; raises :class:`UploadRejected` naming the field."""
        try:
            code, scheme = product_code(body.get("productCode"), _optional_text(body, "scheme"))
        except FmdInputError as exc:
            raise _reject(exc) from None
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise UploadRejected("name", f"expected the product's name, found {name!r}")
        markets = _markets(body.get("markets"), "markets")
        raw_nhrn = body.get("nhrn", {})
        if not isinstance(raw_nhrn, Mapping):
            raise UploadRejected("nhrn", f"expected an object of market -> number, found {raw_nhrn!r}")
        nhrn: list[tuple[str, str]] = []
        for market, number in raw_nhrn.items():
            if market not in markets:
                raise UploadRejected(
                    f"nhrn.{market}",
                    f"{market!r} is not one of the product's markets",
                    ReturnCode.NMVS_NC_PC_11,
                )
            if not isinstance(number, str) or not number or len(number) > 20:
                raise UploadRejected(
                    f"nhrn.{market}",
                    f"expected 1 to 20 characters, found {number!r}",
                    ReturnCode.NMVS_NC_PC_11,
                )
            nhrn.append((market, number))
        return cls(code, scheme, name, markets, tuple(nhrn))


def _optional_text(body: Mapping[str, object], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise UploadRejected(name, f"expected text, found {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class BatchUpload:
    """Batch data as uploaded: ``{productCode, batch, expiry, serials, markets}``."""

    product_code: str
    """The product code (GTIN-14 or PPN)."""
    batch: str
    """The batch id, case kept."""
    expiry: str
    """The expiry, ``YYMMDD``."""
    serials: tuple[str, ...]
    """The serial numbers of the batch's packs, case kept."""
    markets: tuple[str, ...] | None = None
    """The batch's markets; ``None`` means all of the product's markets."""

    @classmethod
    def from_json(cls, body: Mapping[str, object]) -> BatchUpload:
        """Read and check an upload body; raises :class:`UploadRejected` naming the field."""
        try:
            code, _ = product_code(body.get("productCode"), _optional_text(body, "scheme"))
            batch = batch_id(body.get("batch"))
            expiry = expiry_yymmdd(body.get("expiry"))
        except FmdInputError as exc:
            raise _reject(exc) from None
        raw = body.get("serials")
        if not isinstance(raw, list | tuple) or not raw:
            raise UploadRejected("serials", f"expected a non-empty list of serial numbers, found {raw!r}")
        try:
            serials = tuple(serial_number(s, field=f"serials[{i}]") for i, s in enumerate(raw))
        except FmdInputError as exc:
            raise _reject(exc) from None
        markets = _markets(body["markets"], "markets") if body.get("markets") is not None else None
        return cls(code, batch, expiry, serials, markets)


@dataclass(frozen=True, slots=True)
class BatchAcceptance:
    """An accepted batch upload: the batch record and the new packs, all Active."""

    batch: Batch
    """The batch as it is to be stored (new, or the existing one with any new markets added)."""
    packs: tuple[PackRecord, ...]
    """One Active pack per uploaded serial number."""


def _owned(product: ProductMaster, client: Client, field: str) -> None:
    if product.owner != client.client_id:
        raise UploadRejected(
            field,
            f"product {product.product_code} belongs to another client, not {client.client_id!r}",
            ReturnCode.NMVS_NC_PC_03,
        )


def _not_withdrawn(product: ProductMaster, field: str) -> None:
    if product.withdrawn:
        raise UploadRejected(
            field,
            f"product {product.product_code} is withdrawn; it takes no new data",
            ReturnCode.NMVS_FE_LOT_08,
        )


def accept_product(
    upload: ProductUpload, existing: ProductMaster | None, owner: Client, now: datetime
) -> ProductMaster:
    """The product record to store for ``upload``.

    A first upload makes ``owner`` the product's owner. A later upload by the owner keeps the record
    current: the name and national numbers are replaced and new markets added (a market is never
    dropped: its national system holds packs). Another client gets ``NMVS_NC_PC_03``; a withdrawn
    product ``NMVS_FE_LOT_08``.
    """
    if existing is None:
        return ProductMaster(
            upload.product_code, upload.scheme, upload.name, upload.markets, upload.nhrn, owner.client_id, now
        )
    _owned(existing, owner, "productCode")
    _not_withdrawn(existing, "productCode")
    markets = existing.markets + tuple(m for m in upload.markets if m not in existing.markets)
    return dataclasses.replace(existing, name=upload.name, markets=markets, nhrn=upload.nhrn)


def accept_batch(
    upload: BatchUpload,
    product: ProductMaster | None,
    existing_batch: Batch | None,
    existing_serials: Container[str],
    client: Client,
    now: datetime,
) -> BatchAcceptance:
    """The batch and packs to store for ``upload``, checked in this order:

    product unknown (``NMVS_NC_PC_01``); another client's product (``NMVS_NC_PC_03``); product
    withdrawn (``NMVS_FE_LOT_08``); a market the product does not name (``NMVS_FE_REQ_02``); expiry
    not a real date (``NMVS_FE_LOT_07``); the batch exists with another expiry (``NMVS_FE_LOT_02``) or
    is recalled (``NMVS_FE_LOT_01``); a serial twice in the upload or already held for the product
    code, in any batch (``NMVS_FE_SN_02``). ``existing_serials`` answers "does the product code
    already have this serial?" (case-sensitively) — a set, or a store-backed container.
    """
    if product is None or product.product_code != upload.product_code:
        raise UploadRejected(
            "productCode",
            f"product {upload.product_code} has no master data; upload them first",
            ReturnCode.NMVS_NC_PC_01,
        )
    _owned(product, client, "productCode")
    _not_withdrawn(product, "productCode")
    markets = upload.markets if upload.markets is not None else product.markets
    for index, market in enumerate(markets):
        if market not in product.markets:
            raise UploadRejected(
                f"markets[{index}]", f"{market!r} is not one of product {product.product_code}'s markets"
            )
    try:
        expiry_date = gs1_date(upload.expiry, today=now.date())
    except GS1Error as exc:
        raise UploadRejected("expiry", exc.reason, ReturnCode.NMVS_FE_LOT_07) from None
    if existing_batch is not None and existing_batch.batch == upload.batch:
        if existing_batch.expiry != upload.expiry:
            raise UploadRejected(
                "expiry",
                f"batch {upload.batch!r} exists with expiry {existing_batch.expiry}, not {upload.expiry}",
                ReturnCode.NMVS_FE_LOT_02,
            )
        if existing_batch.recalled:
            raise UploadRejected("batch", f"batch {upload.batch!r} is recalled", ReturnCode.NMVS_FE_LOT_01)
        added = tuple(m for m in markets if m not in existing_batch.markets)
        batch = dataclasses.replace(existing_batch, markets=existing_batch.markets + added)
    else:
        batch = Batch(upload.product_code, upload.batch, upload.expiry, expiry_date, markets, now)
    seen: set[str] = set()
    for index, serial in enumerate(upload.serials):
        if serial in seen:
            raise UploadRejected(
                f"serials[{index}]",
                f"serial number {serial!r} appears twice in the upload",
                ReturnCode.NMVS_FE_SN_02,
            )
        if serial in existing_serials:
            raise UploadRejected(
                f"serials[{index}]",
                f"product code {upload.product_code} already has serial number {serial!r}",
                ReturnCode.NMVS_FE_SN_02,
            )
        seen.add(serial)
    packs = tuple(PackRecord(upload.product_code, serial, upload.batch) for serial in upload.serials)
    return BatchAcceptance(batch, packs)


def recall_batch(batch: Batch, product: ProductMaster, client: Client, now: datetime) -> Batch:
    """The batch recalled by its owner: every pack inactive, for good. Recalling a recalled batch
    returns it unchanged (the first recall time stays)."""
    _owned(product, client, "productCode")
    if batch.recalled:
        return batch
    return dataclasses.replace(batch, recalled_at=now)


def withdraw_product(product: ProductMaster, client: Client, now: datetime) -> ProductMaster:
    """The product withdrawn by its owner: every pack inactive and no new batch, for good.
    Withdrawing a withdrawn product returns it unchanged."""
    _owned(product, client, "productCode")
    if product.withdrawn:
        return product
    return dataclasses.replace(product, withdrawn_at=now)
