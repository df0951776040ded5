"""Alerts: records with a lifecycle, full context, and a change feed.

When a verification fails to confirm a pack's authenticity (DR Art. 36(b)) the
national system raises an alert: a record of who scanned (client, user), where
(location, market), when, what was scanned and what is on file. The NMVO and
the product's owner investigate it through a lifecycle modelled on the EMVO
Alert Management System::

    new ──> under_investigation ──> escalated ──> closed (with a reason)
     └───────────────┴──────────────────────────────^

>>> can_move(AlertStatus.NEW, AlertStatus.UNDER_INVESTIGATION), can_move(AlertStatus.CLOSED, AlertStatus.NEW)
(True, False)
>>> check_transition(AlertStatus.NEW, AlertStatus.ESCALATED, None)
Traceback (most recent call last):
...
packtrail.fmd.errors.FmdInputError: status: an alert that is new moves to under_investigation or closed, not escalated [NMVS_FE_REQ_02]
>>> check_transition(AlertStatus.ESCALATED, AlertStatus.CLOSED, "")
Traceback (most recent call last):
...
packtrail.fmd.errors.FmdInputError: reason: closing an alert needs a reason (e.g. '06b end user technical error') [NMVS_FE_REQ_02]

Every raise and every status change is one row of the change feed
(``fmd_alert_events``), in order; the hub receives the same events and delivers
them to the product's owner by webhook and on its own feed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from packtrail.fmd import schema as t
from packtrail.fmd.clock import from_us, to_us
from packtrail.fmd.errors import FmdInputError
from packtrail.fmd.model import Client, TransactionOutcome

__all__ = [
    "AlertStatus",
    "alert_body",
    "can_move",
    "check_transition",
    "feed",
    "get_alert",
    "list_alerts",
    "record_alert",
    "record_copy",
    "transition",
]


class AlertStatus(StrEnum):
    """Where an alert is in its investigation."""

    NEW = "new"
    UNDER_INVESTIGATION = "under_investigation"
    ESCALATED = "escalated"
    CLOSED = "closed"


_NEXT: dict[AlertStatus, tuple[AlertStatus, ...]] = {
    AlertStatus.NEW: (AlertStatus.UNDER_INVESTIGATION, AlertStatus.CLOSED),
    AlertStatus.UNDER_INVESTIGATION: (AlertStatus.ESCALATED, AlertStatus.CLOSED),
    AlertStatus.ESCALATED: (AlertStatus.CLOSED,),
    AlertStatus.CLOSED: (),
}


def can_move(current: AlertStatus, target: AlertStatus) -> bool:
    """True when the lifecycle allows ``current`` -> ``target``."""
    return target in _NEXT[current]


def check_transition(current: AlertStatus, target: object, reason: object) -> AlertStatus:
    """The target status, checked against the lifecycle; closing needs a reason."""
    try:
        wanted = AlertStatus(target) if isinstance(target, str) else None
    except ValueError:
        wanted = None
    if wanted is None:
        raise FmdInputError(
            "status", f"expected one of {', '.join(s.value for s in AlertStatus)}, found {target!r}"
        )
    if not can_move(current, wanted):
        allowed = " or ".join(s.value for s in _NEXT[current]) or "nothing (it is closed)"
        raise FmdInputError(
            "status", f"an alert that is {current.value} moves to {allowed}, not {wanted.value}"
        )
    if wanted is AlertStatus.CLOSED and (not isinstance(reason, str) or not reason.strip()):
        raise FmdInputError("reason", "closing an alert needs a reason (e.g. '06b end user technical error')")
    if reason is not None and not isinstance(reason, str):
        raise FmdInputError("reason", f"expected text, found {reason!r}")
    return wanted


def record_alert(
    conn: Connection,
    *,
    alert_id: str,
    market: str,
    outcome: TransactionOutcome,
    client: Client,
    trx_id: str,
    owner: str | None,
    on_file: Mapping[str, Any],
) -> dict[str, Any]:
    """Store a new alert raised by ``outcome`` and its first feed event; returns the event body."""
    request = outcome.request
    scanned = {
        "productCode": request.product_code,
        "scheme": request.scheme,
        "serialNumber": request.serial,
        "batch": request.batch,
        "expiry": request.expiry,
    }
    now_us = to_us(outcome.at)
    row = {
        "alert_id": alert_id,
        "raised_us": now_us,
        "market": market,
        "code": None if outcome.alert is None else outcome.alert.value,
        "return_code": outcome.return_code.value,
        "transaction": outcome.transaction.value,
        "product_code": request.product_code,
        "serial": request.serial,
        "owner": owner,
        "client_id": client.client_id,
        "location": client.location,
        "user_name": client.user,
        "client_trx_id": request.client_trx_id,
        "trx_id": trx_id,
        "scanned": orjson.dumps(scanned).decode(),
        "on_file": orjson.dumps(dict(on_file)).decode(),
        "status": AlertStatus.NEW.value,
        "close_reason": None,
        "updated_us": now_us,
    }
    conn.execute(sa.insert(t.alerts).values(**row))
    return _event(conn, row, client.client_id, outcome.at)


def _event(conn: Connection, row: Mapping[str, Any], actor: str, at: datetime) -> dict[str, Any]:
    body = {"alertId": row["alert_id"], "status": row["status"], "at": at.isoformat(), "actor": actor}
    body["alert"] = alert_body(row)
    seq = conn.execute(
        sa.insert(t.alert_events)
        .values(
            alert_id=row["alert_id"],
            owner=row["owner"],
            client_id=row["client_id"],
            at_us=to_us(at),
            status=row["status"],
            body=orjson.dumps(body).decode(),
        )
        .returning(t.alert_events.c.seq)
    ).scalar_one()
    return {"seq": seq, **body}


def alert_body(row: Mapping[Any, Any]) -> dict[str, Any]:
    """An alert record as JSON: the codes, status, and who/where/when/scanned/on file."""
    code = row["code"]
    return {
        "alertId": row["alert_id"],
        "code": code,
        "hubLabel": None if code is None else "#" + code,
        "returnCode": row["return_code"],
        "transaction": row["transaction"],
        "status": row["status"],
        "closeReason": row["close_reason"],
        "market": row["market"],
        "owner": row["owner"],
        "raisedAt": from_us(row["raised_us"]).isoformat(),
        "updatedAt": from_us(row["updated_us"]).isoformat(),
        "who": {"clientId": row["client_id"], "user": row["user_name"]},
        "where": {"location": row["location"], "market": row["market"]},
        "scanned": orjson.loads(row["scanned"]),
        "onFile": orjson.loads(row["on_file"]),
        "clientTrxId": row["client_trx_id"],
        "trxId": row["trx_id"],
    }


def get_alert(conn: Connection, alert_id: str) -> dict[str, Any] | None:
    """The stored alert row (as a mapping), or None."""
    row = conn.execute(sa.select(t.alerts).where(t.alerts.c.alert_id == alert_id)).mappings().first()
    return None if row is None else dict(row)


def transition(
    conn: Connection, alert_id: str, target: object, reason: object, actor: Client, now: datetime
) -> dict[str, Any] | None:
    """Move an alert along its lifecycle; returns the feed event, or None when the alert does not exist."""
    row = get_alert(conn, alert_id)
    if row is None:
        return None
    wanted = check_transition(AlertStatus(row["status"]), target, reason)
    row["status"] = wanted.value
    row["close_reason"] = reason if wanted is AlertStatus.CLOSED else row["close_reason"]
    row["updated_us"] = to_us(now)
    conn.execute(
        sa.update(t.alerts)
        .where(t.alerts.c.alert_id == alert_id)
        .values(status=row["status"], close_reason=row["close_reason"], updated_us=row["updated_us"])
    )
    return _event(conn, row, actor.client_id, now)


def record_copy(conn: Connection, event: Mapping[str, Any]) -> bool:
    """Store an alert event forwarded by a national system (the hub's copy); returns False when this
    event (same alert, same status, same time) is already stored — delivery is at least once."""
    alert = event["alert"]
    at = datetime.fromisoformat(event["at"])
    dup = conn.execute(
        sa.select(t.alert_events.c.seq).where(
            (t.alert_events.c.alert_id == alert["alertId"])
            & (t.alert_events.c.status == event["status"])
            & (t.alert_events.c.at_us == to_us(at))
        )
    ).first()
    if dup is not None:
        return False
    row = {
        "alert_id": alert["alertId"],
        "raised_us": to_us(datetime.fromisoformat(alert["raisedAt"])),
        "market": alert["market"],
        "code": alert["code"],
        "return_code": alert["returnCode"],
        "transaction": alert["transaction"],
        "product_code": alert["scanned"]["productCode"],
        "serial": alert["scanned"]["serialNumber"],
        "owner": alert["owner"],
        "client_id": alert["who"]["clientId"],
        "location": alert["where"]["location"],
        "user_name": alert["who"]["user"],
        "client_trx_id": alert["clientTrxId"],
        "trx_id": alert["trxId"],
        "scanned": orjson.dumps(alert["scanned"]).decode(),
        "on_file": orjson.dumps(alert["onFile"]).decode(),
        "status": alert["status"],
        "close_reason": alert["closeReason"],
        "updated_us": to_us(datetime.fromisoformat(alert["updatedAt"])),
    }
    where = t.alerts.c.alert_id == row["alert_id"]
    if not conn.execute(sa.update(t.alerts).where(where).values(**row)).rowcount:
        conn.execute(sa.insert(t.alerts).values(**row))
    _event(conn, row, str(event.get("actor", row["client_id"])), at)
    return True


def list_alerts(
    conn: Connection,
    *,
    owner: str | None = None,
    client_id: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Alerts, newest first, filtered by product owner, raising client and status."""
    query = sa.select(t.alerts)
    if owner is not None:
        query = query.where(t.alerts.c.owner == owner)
    if client_id is not None:
        query = query.where(t.alerts.c.client_id == client_id)
    if status is not None:
        query = query.where(t.alerts.c.status == status)
    rows = conn.execute(query.order_by(t.alerts.c.raised_us.desc()).limit(limit)).mappings().all()
    return [alert_body(row) for row in rows]


def feed(
    conn: Connection,
    *,
    after: int = 0,
    owner: str | None = None,
    client_id: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Feed events after sequence number ``after``, oldest first (a reader keeps the last ``seq``)."""
    query = sa.select(t.alert_events.c.seq, t.alert_events.c.body).where(t.alert_events.c.seq > after)
    if owner is not None:
        query = query.where(t.alert_events.c.owner == owner)
    if client_id is not None:
        query = query.where(t.alert_events.c.client_id == client_id)
    rows = conn.execute(query.order_by(t.alert_events.c.seq).limit(limit)).all()
    return [{"seq": seq, **orjson.loads(body)} for seq, body in rows]
