"""The value types of a national verification system: products, batches, packs, requests, outcomes.

All are frozen: a transaction never edits a record, it returns a new one
(see :func:`packtrail.fmd.rules.apply`). A store keeps them; nothing here knows
how.

>>> from datetime import datetime, timezone
>>> from packtrail.fmd.model import Client, PackRecord, PackRequest, Role
>>> request = PackRequest.from_json(
...     {"productCode": "9506000134352", "serialNumber": "abc123", "batch": "L1", "expiry": "270131",
...      "clientTrxId": "t-1"}
... )
>>> request.product_code, request.serial, request.expiry
('09506000134352', 'abc123', '270131')
>>> pack = PackRecord(product_code="09506000134352", serial="abc123", batch="L1")
>>> pack.state.value, pack.reason
('ACTIVE', None)

A pack stores only the reasons a transaction on it sets; Expired, Recalled and
Withdrawn come from its batch and product (one write recalls every pack):

>>> from packtrail.fmd.states import PackState, Reason
>>> PackRecord("09506000134352", "abc123", "L1", PackState.INACTIVE, Reason.RECALLED)
Traceback (most recent call last):
...
ValueError: reason: RECALLED comes from the batch or product and is never stored on a pack
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from packtrail.fmd.codes import AlertCode, ReturnCode, TransactionCode
from packtrail.fmd.errors import FmdInputError
from packtrail.fmd.fields import ProductCodeScheme, batch_id, expiry_yymmdd, serial_number
from packtrail.fmd.fields import product_code as product_code_field
from packtrail.fmd.states import BATCH_LEVEL_REASONS, PackState, Reason

__all__ = [
    "Batch",
    "Client",
    "PackRecord",
    "PackRequest",
    "ProductMaster",
    "Role",
    "StateChange",
    "TransactionOutcome",
]


class Role(StrEnum):
    """The kind of party a client (an API key) acts for."""

    PHARMACY = "pharmacy"
    """A pharmacy, hospital pharmacy or dispensing doctor: a person authorised to supply the public."""
    WHOLESALER = "wholesaler"
    """A wholesale distributor (verifies returns, decommissions exports, Art. 23 supplies)."""
    MANUFACTURER = "manufacturer"
    """A marketing-authorisation holder or its on-boarding partner: uploads, recalls, withdraws."""
    AUTHORITY = "authority"
    """A national competent authority: supervises, sees everything."""


@dataclass(frozen=True, slots=True)
class Client:
    """Who sends a transaction: a party, the premises it acts from, and the person at the keyboard."""

    client_id: str
    """The client's identifier (the NMVS ClientLoginId)."""
    role: Role
    """What kind of party the client is."""
    location: str
    """The premises the client operates at (a GLN or a national location id); undo must come from here."""
    user: str
    """The user within the client (the NMVS UserId); undo must come from the same user."""


@dataclass(frozen=True, slots=True)
class ProductMaster:
    """Product master data as the marketing-authorisation holder uploaded it."""

    product_code: str
    """The product code: a GTIN-14, or a PPN for IFA-coded packs."""
    scheme: ProductCodeScheme
    """``"GTIN"`` or ``"PPN"``."""
    name: str
    """The product's name (with strength, form and pack size, as uploaded)."""
    markets: tuple[str, ...]
    """Target markets (ISO 3166-1 alpha-2) whose national systems hold the product."""
    nhrn: tuple[tuple[str, str], ...] = ()
    """National reimbursement numbers as ``(market, number)``, where a market requires one."""
    owner: str = ""
    """The client id of the marketing-authorisation holder: alerts go to it; only it recalls or withdraws."""
    uploaded_at: datetime | None = None
    """When the master data were first uploaded."""
    withdrawn_at: datetime | None = None
    """When the product was withdrawn; ``None`` while it is on the market. Irreversible."""

    @property
    def withdrawn(self) -> bool:
        """True once the product is withdrawn: every pack inactive, no new batch accepted."""
        return self.withdrawn_at is not None


@dataclass(frozen=True, slots=True)
class Batch:
    """One batch of a product: its expiry and whether it was recalled."""

    product_code: str
    """The product code the batch belongs to."""
    batch: str
    """The batch id, case-sensitive."""
    expiry: str
    """The expiry date exactly as uploaded, ``YYMMDD`` (requests are compared with it character by character)."""
    expiry_date: date
    """The expiry as a date (day ``00`` is the month's last day); the pack is expired after this day."""
    markets: tuple[str, ...]
    """The markets whose national systems hold the batch's packs."""
    uploaded_at: datetime | None = None
    """When the batch was first uploaded."""
    recalled_at: datetime | None = None
    """When the batch was recalled; ``None`` while it is not. Irreversible."""

    @property
    def recalled(self) -> bool:
        """True once the batch is recalled: every pack inactive."""
        return self.recalled_at is not None

    def is_expired(self, now: datetime) -> bool:
        """True when ``now`` is after the expiry day (the expiry day itself is still valid)."""
        return now.date() > self.expiry_date


@dataclass(frozen=True, slots=True)
class StateChange:
    """The last state change of a pack: what an undo must match (reason, location, user, time)."""

    transaction: TransactionCode
    """The transaction that made the change (G120, G171, …)."""
    reason: Reason | None
    """The inactive reason it set, or ``None`` when it made the pack active again."""
    location: str
    """Where it was made (the client's location)."""
    user: str
    """Who made it (the client's user)."""
    client_id: str
    """The client that made it."""
    at: datetime
    """When it was made (the repository's clock, not the client's)."""
    client_trx_id: str
    """The client's transaction id of the request."""


@dataclass(frozen=True, slots=True)
class PackRecord:
    """One pack in a national system: its identifier, state, reason and last change."""

    product_code: str
    """The product code (GTIN-14 or PPN)."""
    serial: str
    """The serial number, unique per product code, case-sensitive."""
    batch: str
    """The batch the pack was uploaded in."""
    state: PackState = PackState.ACTIVE
    """The pack's own state (batch expiry, recall and product withdrawal are applied on top)."""
    reason: Reason | None = None
    """The pack's own inactive reason; ``None`` when active."""
    last_change: StateChange | None = None
    """The last transaction that changed the state; ``None`` if none has since upload."""

    def __post_init__(self) -> None:
        if (self.state is PackState.ACTIVE) != (self.reason is None):
            raise ValueError(f"reason: an {self.state.value} pack has reason {self.reason!r}")
        if self.reason in BATCH_LEVEL_REASONS:
            assert self.reason is not None
            raise ValueError(
                f"reason: {self.reason.value} comes from the batch or product and is never stored on a pack"
            )


@dataclass(frozen=True, slots=True)
class PackRequest:
    """The pack a transaction names: product code, serial, batch, expiry, and the client's transaction id."""

    product_code: str
    """The product code as stored: GTIN-14 or PPN."""
    serial: str
    """The serial number exactly as scanned or typed (never case-folded)."""
    batch: str
    """The batch exactly as scanned or typed."""
    expiry: str
    """The expiry, ``YYMMDD``."""
    client_trx_id: str
    """The client's transaction id: the idempotency key of the request."""
    scheme: ProductCodeScheme = "GTIN"
    """The product code's scheme."""

    @classmethod
    def create(
        cls,
        *,
        product_code: object,
        serial: object,
        batch: object,
        expiry: object,
        client_trx_id: object,
        scheme: str | None = None,
    ) -> PackRequest:
        """Check and normalise the fields of a request (a GTIN becomes GTIN-14); raises
        :class:`~packtrail.fmd.errors.FmdInputError` naming the first bad field, in the JSON body's words."""
        code, code_scheme = product_code_field(product_code, scheme)
        if not isinstance(client_trx_id, str) or not 1 <= len(client_trx_id) <= 100:
            raise FmdInputError(
                "clientTrxId", f"expected 1 to 100 characters of text, found {client_trx_id!r}"
            )
        return cls(
            product_code=code,
            serial=serial_number(serial),
            batch=batch_id(batch),
            expiry=expiry_yymmdd(expiry),
            client_trx_id=client_trx_id,
            scheme=code_scheme,
        )

    @classmethod
    def from_json(cls, body: Mapping[str, object]) -> PackRequest:
        """Read a request body ``{productCode, serialNumber, batch, expiry, clientTrxId}`` (and an
        optional ``scheme``); a missing field is an :class:`~packtrail.fmd.errors.FmdInputError`."""
        for name in _JSON_FIELDS:
            if name not in body:
                raise FmdInputError(name, "this field is required")
        scheme = body.get("scheme")
        if scheme is not None and not isinstance(scheme, str):
            raise FmdInputError("scheme", f"expected 'GTIN' or 'PPN', found {scheme!r}")
        return cls.create(
            product_code=body["productCode"],
            serial=body["serialNumber"],
            batch=body["batch"],
            expiry=body["expiry"],
            client_trx_id=body["clientTrxId"],
            scheme=scheme,
        )

    def to_json(self) -> dict[str, str]:
        """The request as a JSON body (the inverse of :meth:`from_json`)."""
        return {
            "productCode": self.product_code,
            "scheme": self.scheme,
            "serialNumber": self.serial,
            "batch": self.batch,
            "expiry": self.expiry,
            "clientTrxId": self.client_trx_id,
        }


_JSON_FIELDS = ("productCode", "serialNumber", "batch", "expiry", "clientTrxId")


@dataclass(frozen=True, slots=True)
class TransactionOutcome:
    """The answer to one pack transaction: NMVS return code, hub alert, pack state and reason."""

    transaction: TransactionCode
    """The transaction code requested."""
    return_code: ReturnCode
    """How the request ended (``NMVS_SUCCESS`` when performed)."""
    request: PackRequest
    """What the client sent (scanned or typed), as the alert's "what was scanned"."""
    at: datetime
    """The repository's time of the answer."""
    alert: AlertCode | None = None
    """The EU hub alert code raised, if any (A2, A3, A7, A24, A52, A68, …)."""
    alert_raised: bool = False
    """True when the situation is an alert (level 5) in this market, with or without a hub code."""
    state: PackState | None = None
    """The pack's state after the transaction; ``None`` when the pack was not identified."""
    reason: Reason | None = None
    """The pack's inactive reason after the transaction (batch- and product-level reasons included)."""
    intermarket: bool = False
    """True when the product code is unknown here and the request should go to the hub (single packs only)."""
    on_file_batch: str | None = None
    """For a batch mismatch: the batch on file for the serial ("what is on file")."""
    on_file_expiry: str | None = None
    """For an expiry mismatch: the expiry on file for the batch."""
    repeat: int | None = None
    """For a state the pack is already in at this location, in a market that counts repeats
    (:attr:`~packtrail.fmd.policy.MarketPolicy.repeat_warnings`): which repeat this was, 1 for the first."""
    warning: str | None = None
    """A warning for the user when the answer is one instead of an alert (FiMVS: the first repeats of a
    double scan, before #A10)."""

    @property
    def ok(self) -> bool:
        """True when the transaction was performed (``NMVS_SUCCESS``)."""
        return self.return_code is ReturnCode.NMVS_SUCCESS

    @property
    def return_text(self) -> str:
        """The return code's meaning."""
        return self.return_code.text
