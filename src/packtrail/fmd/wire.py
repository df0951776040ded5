"""The JSON the FMD nodes exchange: answers to end users, and records passed between nodes.

An end user's answer carries what every NMVS answer carries — the return code
and its text, the pack state and reason, our transaction id and the client's —
plus the hub alert code when one is raised:

>>> from datetime import datetime, timezone
>>> from packtrail.fmd.codes import AlertCode, ReturnCode, TransactionCode
>>> from packtrail.fmd.model import PackRequest, TransactionOutcome
>>> request = PackRequest.create(product_code="09506000134352", serial="abc123", batch="L1",
...                              expiry="270131", client_trx_id="t-1")
>>> outcome = TransactionOutcome(TransactionCode.G110, ReturnCode.NMVS_NC_PC_02, request,
...                              datetime(2026, 3, 1, tzinfo=timezone.utc), alert=AlertCode.A3, alert_raised=True)
>>> body = answer_body(outcome, trx_id="DE-1", market="DE", alert_id="AL-1")
>>> body["returnCode"], body["alert"], body["pack"], body["trxId"], body["clientTrxId"]
('NMVS_NC_PC_02', 'A3', {'serialNumber': 'abc123', 'state': None, 'reason': None}, 'DE-1', 't-1')

Records between nodes round-trip exactly:

>>> from packtrail.fmd.model import Client, Role
>>> client = Client("apo-1", Role.PHARMACY, "L1", "anna")
>>> client_from_json(client_json(client)) == client
True
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from packtrail.fmd.codes import ReturnCode, TransactionCode
from packtrail.fmd.model import (
    Batch,
    Client,
    PackRecord,
    ProductMaster,
    Role,
    StateChange,
    TransactionOutcome,
)
from packtrail.fmd.states import PackState, Reason

__all__ = [
    "MALFORMED",
    "answer_body",
    "batch_from_json",
    "batch_json",
    "client_from_json",
    "client_json",
    "error_body",
    "pack_from_json",
    "pack_json",
    "product_from_json",
    "product_json",
]


MALFORMED: tuple[type[Exception], ...] = (KeyError, TypeError, ValueError, AttributeError)
"""What reading a malformed node-to-node message raises (a missing key, a wrong type, a bad value)."""


def answer_body(
    outcome: TransactionOutcome,
    *,
    trx_id: str,
    market: str,
    alert_id: str | None = None,
) -> dict[str, Any]:
    """The answer to one pack transaction (also one pack's entry in a bulk result); a counted repeat
    (FiMVS, see :class:`~packtrail.fmd.policy.RepeatWarnings`) adds ``repeat`` and, while it is only a
    warning, ``warning``."""
    request = outcome.request
    body: dict[str, Any] = {
        "transaction": outcome.transaction.value,
        "returnCode": outcome.return_code.value,
        "returnText": outcome.return_text,
        "alert": None if outcome.alert is None else outcome.alert.value,
        "alertRaised": outcome.alert_raised,
        "alertId": alert_id,
        "product": {
            "productCode": request.product_code,
            "scheme": request.scheme,
            "batch": request.batch,
            "expiry": request.expiry,
        },
        "pack": {
            "serialNumber": request.serial,
            "state": None if outcome.state is None else outcome.state.value,
            "reason": None if outcome.reason is None else outcome.reason.value,
        },
        "market": market,
        "trxId": trx_id,
        "clientTrxId": request.client_trx_id,
        "timestamp": _timestamp(outcome.at),
    }
    if outcome.repeat is not None:
        body["repeat"] = outcome.repeat
        if outcome.warning is not None:
            body["warning"] = outcome.warning
    return body


class _LastTimestamp:
    """The last time :func:`answer_body` rendered, with its text: the packs of a bulk chunk share one
    ``now``, and ``isoformat`` cost a third of rendering an answer. Kept by identity, not equality
    (equal times in other zones have other texts), as one tuple (read and replaced whole, so threads
    rendering at once never pair one time with another's text)."""

    last: tuple[datetime | None, str] = (None, "")


def _timestamp(moment: datetime) -> str:
    last = _LastTimestamp.last
    if last[0] is moment:
        return last[1]
    text = moment.isoformat()
    _LastTimestamp.last = (moment, text)
    return text


def error_body(
    return_code: ReturnCode, detail: str, *, field: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The answer to a request that was not processed: the NMVS code, its text, and what was wrong."""
    body: dict[str, Any] = {"returnCode": return_code.value, "returnText": return_code.text, "detail": detail}
    if field is not None:
        body["field"] = field
    body.update(extra)
    return body


def client_json(client: Client) -> dict[str, str]:
    """A client as one node tells another (an intermarket request carries its caller)."""
    return {
        "clientId": client.client_id,
        "role": client.role.value,
        "location": client.location,
        "user": client.user,
    }


def client_from_json(body: Mapping[str, Any]) -> Client:
    """The inverse of :func:`client_json`."""
    return Client(
        _text(body, "clientId"), Role(_text(body, "role")), _text(body, "location"), _text(body, "user")
    )


def _text(body: Mapping[str, Any], key: str, *, optional: bool = False) -> Any:
    """``body[key]`` when it is text (or None, when ``optional``); anything else is a ValueError."""
    value = body[key]
    if isinstance(value, str) or (optional and value is None):
        return value
    raise ValueError(f"{key}: expected text, found {type(value).__name__}")


def _texts(body: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = body[key]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{key}: expected a list of text")
    return tuple(value)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _time(body: Mapping[str, Any], key: str) -> datetime | None:
    text = _text(body, key, optional=True)
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{key}: expected a time with its UTC offset, found {text!r}")
    return moment


def pack_json(pack: PackRecord) -> dict[str, Any]:
    """A pack record with its last change (a multi-market state change carries it)."""
    lc = pack.last_change
    return {
        "productCode": pack.product_code,
        "serialNumber": pack.serial,
        "batch": pack.batch,
        "state": pack.state.value,
        "reason": None if pack.reason is None else pack.reason.value,
        "lastChange": None
        if lc is None
        else {
            "transaction": lc.transaction.value,
            "reason": None if lc.reason is None else lc.reason.value,
            "location": lc.location,
            "user": lc.user,
            "clientId": lc.client_id,
            "at": lc.at.isoformat(),
            "clientTrxId": lc.client_trx_id,
        },
    }


def pack_from_json(body: Mapping[str, Any]) -> PackRecord:
    """The inverse of :func:`pack_json`."""
    lc = body.get("lastChange")
    change = None
    if lc is not None:
        at = _time(lc, "at")
        if at is None:
            raise ValueError("lastChange.at: expected a time")
        reason = _text(lc, "reason", optional=True)
        change = StateChange(
            transaction=TransactionCode(_text(lc, "transaction")),
            reason=None if reason is None else Reason(reason),
            location=_text(lc, "location"),
            user=_text(lc, "user"),
            client_id=_text(lc, "clientId"),
            at=at,
            client_trx_id=_text(lc, "clientTrxId"),
        )
    reason = _text(body, "reason", optional=True)
    return PackRecord(
        product_code=_text(body, "productCode"),
        serial=_text(body, "serialNumber"),
        batch=_text(body, "batch"),
        state=PackState(_text(body, "state")),
        reason=None if reason is None else Reason(reason),
        last_change=change,
    )


def product_json(product: ProductMaster) -> dict[str, Any]:
    """Product master data as the hub delivers them to a national system."""
    return {
        "productCode": product.product_code,
        "scheme": product.scheme,
        "name": product.name,
        "markets": list(product.markets),
        "nhrn": dict(product.nhrn),
        "owner": product.owner,
        "uploadedAt": _iso(product.uploaded_at),
        "withdrawnAt": _iso(product.withdrawn_at),
    }


def product_from_json(body: Mapping[str, Any]) -> ProductMaster:
    """The inverse of :func:`product_json`."""
    nhrn = body["nhrn"]
    if not isinstance(nhrn, Mapping) or not all(isinstance(v, str) for v in nhrn.values()):
        raise ValueError("nhrn: expected an object of market -> number")
    return ProductMaster(
        product_code=_text(body, "productCode"),
        scheme="PPN" if body["scheme"] == "PPN" else "GTIN",
        name=_text(body, "name"),
        markets=_texts(body, "markets"),
        nhrn=tuple(nhrn.items()),
        owner=_text(body, "owner"),
        uploaded_at=_time(body, "uploadedAt"),
        withdrawn_at=_time(body, "withdrawnAt"),
    )


def batch_json(batch: Batch) -> dict[str, Any]:
    """Batch data as the hub delivers them (the serials travel beside it)."""
    return {
        "productCode": batch.product_code,
        "batch": batch.batch,
        "expiry": batch.expiry,
        "expiryDate": batch.expiry_date.isoformat(),
        "markets": list(batch.markets),
        "uploadedAt": _iso(batch.uploaded_at),
        "recalledAt": _iso(batch.recalled_at),
    }


def batch_from_json(body: Mapping[str, Any]) -> Batch:
    """The inverse of :func:`batch_json`."""
    return Batch(
        product_code=_text(body, "productCode"),
        batch=_text(body, "batch"),
        expiry=_text(body, "expiry"),
        expiry_date=date.fromisoformat(_text(body, "expiryDate")),
        markets=_texts(body, "markets"),
        uploaded_at=_time(body, "uploadedAt"),
        recalled_at=_time(body, "recalledAt"),
    )
