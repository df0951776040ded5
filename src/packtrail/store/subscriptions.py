"""Query subscriptions: standing named queries whose new results are pushed to a subscriber.

A trading partner subscribes to a named query (``POST /queries/{name}/subscriptions``) and
receives each new matching event once, in recordTime order, as an ``EPCISQueryDocument`` POSTed to
its webhook (``dest``), or over a WebSocket (``GET /queries/{name}/events`` with ``Upgrade``).
It says *when* with either ``"stream": true`` (as soon as an event is captured) or a cron-like
``schedule`` (GS1's ``query-schedule.json``):

>>> schedule = Schedule.parse({"hour": "1", "minute": "5"})
>>> schedule.next_after(datetime(2024, 3, 1, 0, 0, tzinfo=UTC)).isoformat()
'2024-03-01T01:05:00+00:00'
>>> Schedule.parse({"second": "0/30"}).next_after(datetime(2024, 3, 1, 0, 0, 10, tzinfo=UTC)).isoformat()
'2024-03-01T00:00:30+00:00'

A request body is checked once, into a :class:`SubscriptionRequest`; anything wrong is a
:class:`~packtrail.store.errors.SubscriptionControlsError` naming the field:

>>> request = SubscriptionRequest.parse({"dest": "https://partner.example/epcis", "stream": True})
>>> request.stream, request.schedule
(True, None)
>>> SubscriptionRequest.parse({"dest": "https://partner.example/epcis"})
Traceback (most recent call last):
...
packtrail.store.errors.SubscriptionControlsError: a subscription needs "stream": true or a "schedule" \
(when to report is not said)

Webhook bodies are signed when the subscriber gave a ``signatureToken``: the ``GS1-Signature``
header is the HMAC-SHA256 of the exact body bytes keyed with the token, base64url without padding
(the OpenAPI leaves the scheme to the implementation and shows a base64url value):

>>> sign_body("13df38d8275b13f05704629e5f1cf3d45d6132d5", b'{"type":"EPCISQueryDocument"}')
'CcpoMBzs0G5e5r28jS8f_FY2CO9lL-pkepdjrJbgbVo'
>>> verify_signature("13df38d8275b13f05704629e5f1cf3d45d6132d5", b'{"type":"EPCISQueryDocument"}',
...                  "CcpoMBzs0G5e5r28jS8f_FY2CO9lL-pkepdjrJbgbVo")
True

Delivery (:class:`SubscriptionDispatcher`) keeps one resume point per subscription, the
``last_event_pk`` of the last acknowledged event: event_pk order is capture-commit order is
recordTime order, so "everything after the resume point" is exactly "not yet acknowledged".
The point moves only after the subscriber answered 2xx, so a crash or a restart resends at most
the unacknowledged batch (at least once), never an acknowledged one.
"""

from __future__ import annotations

import asyncio
import base64
import calendar
import hashlib
import hmac
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import httpx
import orjson
import sqlalchemy as sa

from packtrail.epcis.document import EPCISDocument
from packtrail.epcis.formats import date_time_to_utc
from packtrail.epcis.jsonld import write_jsonld
from packtrail.store import schema
from packtrail.store.errors import (
    NoSuchNameError,
    NoSuchSubscriptionError,
    StoreError,
    SubscriptionControlsError,
)

if TYPE_CHECKING:
    from packtrail.store.parties import Viewer
    from packtrail.store.query_params import EventQuery
    from packtrail.store.store import Store

__all__ = [
    "SCHEDULE_FIELDS",
    "DeadLetter",
    "DeliveryReport",
    "PendingEvents",
    "RetryPolicy",
    "Schedule",
    "Subscription",
    "SubscriptionDispatcher",
    "SubscriptionRequest",
    "create_subscription",
    "dead_letters",
    "delete_subscription",
    "delete_subscriptions_for_query",
    "fetch_pending",
    "get_subscription",
    "list_subscriptions",
    "query_document",
    "sign_body",
    "start_point",
    "subscription_query",
    "subscription_start",
    "verify_signature",
    "websocket_documents",
]

log = logging.getLogger(__name__)

# --- schedule ------------------------------------------------------------------------------------

SCHEDULE_FIELDS: Final = ("second", "minute", "hour", "dayOfMonth", "month", "dayOfWeek")
"""The fields of a query schedule (``query-schedule.json``), from the finest to the coarsest
(``dayOfWeek`` sits beside ``dayOfMonth``)."""

_RANGES: Final[dict[str, tuple[int, int]]] = {
    "second": (0, 59),
    "minute": (0, 59),
    "hour": (0, 23),
    "dayOfMonth": (1, 31),
    "month": (1, 12),
    "dayOfWeek": (1, 7),
}
_RANK: Final = {"second": 0, "minute": 1, "hour": 2, "dayOfMonth": 3, "dayOfWeek": 3, "month": 4}
_ELEMENT: Final = re.compile(r"(?:(\*)|\[?\s*(\d{1,2})\s*(?:-\s*(\d{1,2})\s*)?\]?)(?:/(\d{1,2}))?")
_MAX_YEARS_AHEAD: Final = 30  # a day-of-week + 29 February schedule repeats every 28 years


def _parse_field(name: str, value: Any) -> frozenset[int]:
    """The values one schedule field allows: a comma-separated list of numbers, ``[low-high]``
    ranges (GS1's syntax; ``low-high`` and ``*`` too), each optionally ``/step`` (cron style)."""
    low, high = _RANGES[name]
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise SubscriptionControlsError(
            f"schedule.{name} must be a string such as '5', '1,15' or '[0-30]', not {value!r}"
        )
    allowed: set[int] = set()
    for element in value.split(","):
        match = _ELEMENT.fullmatch(element.strip())
        if match is None or (element.count("[") != element.count("]")):
            raise SubscriptionControlsError(
                f"schedule.{name}: {element.strip()!r} is not a number, a range '[low-high]' or '*'"
            )
        star, first, last, step = match.groups()
        start, stop = (low, high) if star else (int(first), int(last if last is not None else first))
        if step is not None and last is None and not star:
            stop = high  # cron's "a/step": from a to the end of the range
        if not (low <= start <= high and low <= stop <= high):
            raise SubscriptionControlsError(f"schedule.{name}: {element.strip()!r} is outside {low}..{high}")
        if start > stop:
            raise SubscriptionControlsError(f"schedule.{name}: range {element.strip()!r} runs backwards")
        every = int(step) if step is not None else 1
        if every < 1:
            raise SubscriptionControlsError(f"schedule.{name}: step in {element.strip()!r} must be 1 or more")
        allowed.update(range(start, stop + 1, every))
    return frozenset(allowed)


def _next_at_least(values: tuple[int, ...], current: int) -> int | None:
    for value in values:
        if value >= current:
            return value
    return None


@dataclass(frozen=True)
class Schedule:
    """When a scheduled subscription runs: a cron-like set of times, evaluated in UTC.

    Each field (``second``, ``minute``, ``hour``, ``dayOfMonth``, ``month``, ``dayOfWeek`` with
    1 = Monday .. 7 = Sunday) lists the values it allows; a time matches when every field matches
    (``dayOfMonth`` AND ``dayOfWeek``, unlike Unix cron). An omitted field finer than the finest
    given one takes its first value (``{"hour": "1"}`` runs at 01:00:00, not every second of that
    hour); an omitted field coarser than it allows every value (``{"minute": "5"}`` runs hourly).

    >>> s = Schedule.parse({"dayOfWeek": "1", "hour": "[8-9]", "minute": "30"})
    >>> s.matches(datetime(2024, 3, 4, 9, 30, tzinfo=UTC)), s.matches(datetime(2024, 3, 5, 9, 30, tzinfo=UTC))
    (True, False)
    >>> s.next_after(datetime(2024, 3, 4, 9, 30, tzinfo=UTC)).isoformat()
    '2024-03-11T08:30:00+00:00'
    """

    spec: dict[str, str] = field(compare=True)
    """The schedule as given (field name -> text), for storing and for the API's answers."""
    seconds: tuple[int, ...] = ()
    minutes: tuple[int, ...] = ()
    hours: tuple[int, ...] = ()
    days_of_month: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    days_of_week: frozenset[int] = frozenset()

    @classmethod
    def parse(cls, value: Any) -> Schedule:
        """A schedule from its JSON object (or URL query parameters); raises
        :class:`SubscriptionControlsError` naming the offending field."""
        if not isinstance(value, Mapping):
            raise SubscriptionControlsError(f"schedule must be a JSON object of {', '.join(SCHEDULE_FIELDS)}")
        unknown = sorted(str(key) for key in value if key not in _RANGES)
        if unknown:
            raise SubscriptionControlsError(
                f"schedule has unknown field(s) {', '.join(unknown)}; expected {', '.join(SCHEDULE_FIELDS)}"
            )
        given = {name: value[name] for name in SCHEDULE_FIELDS if name in value and value[name] is not None}
        if not given:
            raise SubscriptionControlsError(
                f"schedule must give at least one of {', '.join(SCHEDULE_FIELDS)}"
            )
        parsed = {name: _parse_field(name, text) for name, text in given.items()}
        finest = min(_RANK[name] for name in parsed)

        def allowed(name: str) -> frozenset[int]:
            if name in parsed:
                return parsed[name]
            low, high = _RANGES[name]
            if _RANK[name] < finest and name != "dayOfWeek":
                return frozenset({low})
            return frozenset(range(low, high + 1))

        schedule = cls(
            spec={name: str(text) for name, text in given.items()},
            seconds=tuple(sorted(allowed("second"))),
            minutes=tuple(sorted(allowed("minute"))),
            hours=tuple(sorted(allowed("hour"))),
            days_of_month=allowed("dayOfMonth"),
            months=allowed("month"),
            days_of_week=allowed("dayOfWeek"),
        )
        if schedule.next_after(datetime(2000, 1, 1, tzinfo=UTC)) is None:
            raise SubscriptionControlsError(
                f"schedule {schedule.spec} never matches a calendar date (such as dayOfMonth 31 in month 2)"
            )
        return schedule

    def matches(self, moment: datetime) -> bool:
        """True when ``moment`` (any time zone; compared in UTC, to the second) is a scheduled time."""
        t = moment.astimezone(UTC)
        return (
            t.second in self.seconds
            and t.minute in self.minutes
            and t.hour in self.hours
            and t.day in self.days_of_month
            and t.month in self.months
            and t.isoweekday() in self.days_of_week
        )

    def next_after(self, moment: datetime) -> datetime | None:
        """The first scheduled time strictly after ``moment`` (UTC, whole seconds); None when
        there is none within 30 years (an impossible date)."""
        t = moment.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        limit = t.year + _MAX_YEARS_AHEAD
        while t.year <= limit:
            if t.month not in self.months:
                days = calendar.monthrange(t.year, t.month)[1] - t.day + 1
                t = t.replace(hour=0, minute=0, second=0) + timedelta(days=days)
                continue
            if t.day not in self.days_of_month or t.isoweekday() not in self.days_of_week:
                t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
                continue
            hour = _next_at_least(self.hours, t.hour)
            if hour is None:
                t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
                continue
            if hour != t.hour:
                t = t.replace(hour=hour, minute=0, second=0)
            minute = _next_at_least(self.minutes, t.minute)
            if minute is None:
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
                continue
            if minute != t.minute:
                t = t.replace(minute=minute, second=0)
            second = _next_at_least(self.seconds, t.second)
            if second is None:
                t = t.replace(second=0) + timedelta(minutes=1)
                continue
            return t.replace(second=second)
        return None


# --- the subscription request ------------------------------------------------------------------------

_MAX_TOKEN_CHARS: Final = 1024
_MAX_DEST_CHARS: Final = 2048
_TRUE_WORDS: Final = {"true": True, "false": False}


def _check_dest(dest: Any) -> str:
    """The webhook URL: absolute ``http``/``https`` with a host (the subscriber's callback)."""
    if not isinstance(dest, str) or not dest.strip():
        raise SubscriptionControlsError(
            f"dest must be the subscriber's callback URL (http or https), not {dest!r}"
        )
    if len(dest) > _MAX_DEST_CHARS:
        raise SubscriptionControlsError(f"dest is longer than {_MAX_DEST_CHARS} characters")
    try:
        parts = urlsplit(dest)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise SubscriptionControlsError(f"dest {dest!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not host or any(c.isspace() or ord(c) < 32 for c in dest):
        raise SubscriptionControlsError(
            f"dest {dest!r} must be an absolute http:// or https:// URL with a host"
        )
    return dest


def _check_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS:
        return _TRUE_WORDS[value.strip().lower()]
    raise SubscriptionControlsError(f"{name} must be true or false, not {value!r}")


def _check_time(name: str, value: Any) -> int:
    instant = date_time_to_utc(value) if isinstance(value, str) else None
    if instant is None:
        raise SubscriptionControlsError(
            f"{name} must be an RFC 3339 date-time such as 2024-03-01T10:00:00Z, not {value!r}"
        )
    return _to_us(instant)


def _to_us(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_us(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)


def _iso(value_us: int) -> str:
    """``2024-03-01T10:00:00.000Z``: the EPCIS spelling of a UTC instant, milliseconds kept."""
    moment = _from_us(value_us)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class SubscriptionRequest:
    """A checked subscription request: where to (``dest``; None for a WebSocket), when (``stream``
    or ``schedule``), from when (``initialRecordTime``) and how to sign (``signatureToken``)."""

    dest: str | None
    """The subscriber's webhook URL; None for a WebSocket subscription."""
    signature_token: str | None = None
    """The subscriber's secret for the ``GS1-Signature`` header (never shown back)."""
    stream: bool = False
    """Report each new matching event as soon as it is captured."""
    schedule: Schedule | None = None
    """Or report at these times."""
    report_if_empty: bool = False
    """Scheduled runs with no new event still send an (empty) query document."""
    initial_record_time_us: int | None = None
    """Consider only events recorded at or after this instant; default: from the moment of subscribing."""

    @classmethod
    def parse(cls, body: Any, *, websocket: bool = False) -> SubscriptionRequest:
        """Check a ``POST /queries/{name}/subscriptions`` JSON body (``websocket=True``: the URL
        query parameters of the WebSocket handshake, where ``dest`` is absent and the schedule
        fields stand at the top level)."""
        if not isinstance(body, Mapping):
            raise SubscriptionControlsError("a subscription request must be a JSON object")
        if websocket:
            if "dest" in body:
                raise SubscriptionControlsError(
                    "a WebSocket subscription takes no dest: events come on the socket"
                )
            dest = None
            fields = {name: body[name] for name in SCHEDULE_FIELDS if name in body}
            schedule_value: Any = fields or None
        else:
            dest = _check_dest(body.get("dest"))
            schedule_value = body.get("schedule")
            stray = [name for name in SCHEDULE_FIELDS if name in body]
            if stray:
                raise SubscriptionControlsError(
                    f'{", ".join(stray)} belong(s) inside "schedule": {{...}} in a subscription request'
                )
        token = body.get("signatureToken", body.get("secret"))
        if token is not None and (
            not isinstance(token, str)
            or not token
            or len(token) > _MAX_TOKEN_CHARS
            or any(ord(c) < 32 or 0xD800 <= ord(c) < 0xE000 for c in token)
        ):
            raise SubscriptionControlsError(
                f"signatureToken must be a non-empty string of at most {_MAX_TOKEN_CHARS} printable characters"
            )
        stream = _check_bool("stream", body["stream"]) if body.get("stream") is not None else False
        schedule = Schedule.parse(schedule_value) if schedule_value is not None else None
        if stream and schedule is not None:
            raise SubscriptionControlsError("stream and schedule are mutually exclusive: give one of them")
        if not stream and schedule is None:
            raise SubscriptionControlsError(
                'a subscription needs "stream": true or a "schedule" (when to report is not said)'
            )
        report = body.get("reportIfEmpty")
        initial = body.get("initialRecordTime")
        return cls(
            dest=dest,
            signature_token=token,
            stream=stream,
            schedule=schedule,
            report_if_empty=_check_bool("reportIfEmpty", report) if report is not None else False,
            initial_record_time_us=_check_time("initialRecordTime", initial) if initial is not None else None,
        )


# --- signing -------------------------------------------------------------------------------------


def sign_body(token: str, body: bytes) -> str:
    """The ``GS1-Signature`` of a webhook body: base64url (no padding) of HMAC-SHA256(token, body)."""
    digest = hmac.new(token.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify_signature(token: str, body: bytes, signature: str) -> bool:
    """True when ``signature`` (a ``GS1-Signature`` header) signs ``body`` with ``token``; what a
    subscriber runs on each delivery (constant-time comparison)."""
    return hmac.compare_digest(sign_body(token, body), signature.strip())


# --- subscription records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    """One stored subscription (its secret stays in the database: only :attr:`signed` says it has one)."""

    subscription_id: str
    """The id in ``/queries/{queryName}/subscriptions/{subscriptionID}`` (a UUID)."""
    query_name: str
    """The named query whose results are delivered."""
    owner: str | None
    """GLN of the subscribing party (its visibility applies); None for the local administrator."""
    dest: str | None
    """The webhook URL; None for a WebSocket subscription."""
    signed: bool
    """True when deliveries carry a ``GS1-Signature`` (the subscriber gave a ``signatureToken``)."""
    stream: bool
    """Delivered as events are captured."""
    schedule: Schedule | None
    """Or delivered at these times."""
    report_if_empty: bool
    """Scheduled runs without new events still send an empty query document."""
    initial_record_time_us: int | None
    """Only events recorded at or after this instant (µs since the epoch, UTC) are delivered."""
    last_event_pk: int
    """Resume point: event_pk of the last acknowledged event (or where the subscription started)."""
    created_at_us: int
    """When the subscription was made (µs since the epoch, UTC)."""
    active: bool
    """False once the named query is gone (the subscription is kept for its dead letters)."""

    def to_json(self) -> dict[str, Any]:
        """The subscription as the REST API shows it (``AbstractQuerySubscriptionResponse``), no secret."""
        out: dict[str, Any] = {"subscriptionID": self.subscription_id, "queryName": self.query_name}
        if self.dest is not None:
            out["dest"] = self.dest
        if self.schedule is not None:
            out["schedule"] = dict(self.schedule.spec)
            out["reportIfEmpty"] = self.report_if_empty
        else:
            out["stream"] = True
        if self.initial_record_time_us is not None:
            out["initialRecordTime"] = _iso(self.initial_record_time_us)
        out["createdAt"] = _iso(self.created_at_us)
        return out


def _row_to_subscription(row: Any) -> Subscription:
    schedule = Schedule.parse(orjson.loads(row.schedule)) if row.schedule else None
    return Subscription(
        subscription_id=row.subscription_id,
        query_name=row.query_name,
        owner=row.owner,
        dest=row.dest,
        signed=row.secret is not None,
        stream=bool(row.stream),
        schedule=schedule,
        report_if_empty=bool(row.report_if_empty),
        initial_record_time_us=row.initial_record_time_us,
        last_event_pk=int(row.last_event_pk),
        created_at_us=int(row.created_at_us),
        active=bool(row.active),
    )


def _now_us() -> int:
    return time.time_ns() // 1000


def _last_committed_pk(conn: sa.Connection) -> int:
    """The last event_pk a committed capture assigned (0 for an empty store)."""
    value = conn.execute(
        sa.select(schema.store_counters.c.value).where(
            schema.store_counters.c.name == schema.EVENT_PK_COUNTER
        )
    ).scalar()
    return int(value or 0)


def start_point(conn: sa.Connection, initial_record_time_us: int | None) -> int:
    """Where delivery starts: the event_pk just before the first event recorded at or after
    ``initial_record_time_us``; without it, the last committed event (only new events follow)."""
    high = _last_committed_pk(conn)
    if initial_record_time_us is None:
        return high
    events = schema.events
    first = conn.execute(
        sa.select(events.c.event_pk)
        .where(events.c.record_time_us >= initial_record_time_us, events.c.event_pk <= high)
        .order_by(events.c.record_time_us, events.c.event_pk)
        .limit(1)
    ).scalar()
    return high if first is None else int(first) - 1


def _visible_query(store: Store, query_name: str, viewer: Viewer) -> None:
    if store.named_query(query_name, viewer) is None:
        raise NoSuchNameError(f"no named query {query_name!r}")


def _owned_by(viewer: Viewer) -> Any:
    table = schema.subscriptions
    return sa.true() if viewer.party is None else table.c.owner == viewer.party


def create_subscription(
    store: Store, query_name: str, request: SubscriptionRequest, viewer: Viewer
) -> Subscription:
    """Subscribe ``viewer`` to the named query; raises :class:`NoSuchNameError` when the query does
    not exist or the viewer may not see it. Delivery starts after the last committed event, or at
    ``initialRecordTime``."""
    if request.dest is None:
        raise SubscriptionControlsError("dest is required for a webhook subscription")
    _visible_query(store, query_name, viewer)
    subscription_id = str(uuid.uuid4())
    with store.engine.begin() as conn:
        conn.execute(
            schema.subscriptions.insert().values(
                subscription_id=subscription_id,
                query_name=query_name,
                owner=viewer.party,
                dest=request.dest,
                secret=request.signature_token,
                stream=request.stream,
                schedule=orjson.dumps(request.schedule.spec).decode() if request.schedule else None,
                report_if_empty=request.report_if_empty,
                initial_record_time_us=request.initial_record_time_us,
                last_event_pk=start_point(conn, request.initial_record_time_us),
                created_at_us=_now_us(),
                active=True,
            )
        )
    return get_subscription(store, query_name, subscription_id, viewer)


def list_subscriptions(store: Store, query_name: str, viewer: Viewer) -> list[Subscription]:
    """The viewer's active subscriptions on a named query (all of them for the administrator),
    oldest first; :class:`NoSuchNameError` when the viewer cannot see the query."""
    _visible_query(store, query_name, viewer)
    table = schema.subscriptions
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(table)
            .where(table.c.query_name == query_name, table.c.active == sa.true(), _owned_by(viewer))
            .order_by(table.c.created_at_us, table.c.subscription_id)
        ).all()
    return [_row_to_subscription(row) for row in rows]


def get_subscription(store: Store, query_name: str, subscription_id: str, viewer: Viewer) -> Subscription:
    """One of the viewer's subscriptions; :class:`NoSuchSubscriptionError` when it does not exist,
    is on another query, or belongs to another party (the same answer: existence is not leaked)."""
    table = schema.subscriptions
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(table).where(
                table.c.subscription_id == subscription_id,
                table.c.query_name == query_name,
                table.c.active == sa.true(),
                _owned_by(viewer),
            )
        ).first()
    if row is None:
        raise NoSuchSubscriptionError(f"no subscription {subscription_id!r} on query {query_name!r}")
    return _row_to_subscription(row)


def delete_subscription(store: Store, query_name: str, subscription_id: str, viewer: Viewer) -> None:
    """Unsubscribe: delivery stops at once (the row stays, inactive, with its dead letters);
    :class:`NoSuchSubscriptionError` as for :func:`get_subscription`."""
    table = schema.subscriptions
    with store.engine.begin() as conn:
        deleted = conn.execute(
            table.update()
            .where(
                table.c.subscription_id == subscription_id,
                table.c.query_name == query_name,
                table.c.active == sa.true(),
                _owned_by(viewer),
            )
            .values(active=False)
        ).rowcount
    if not deleted:
        raise NoSuchSubscriptionError(f"no subscription {subscription_id!r} on query {query_name!r}")


def delete_subscriptions_for_query(store: Store | sa.Connection, query_name: str) -> int:
    """Forcibly unsubscribe everyone from a named query (``DELETE /queries/{name}`` does this);
    returns how many subscriptions stopped. Pass a connection to do it in the caller's transaction.
    (The dispatcher also stops a subscription whose named query it cannot find.)"""
    table = schema.subscriptions
    statement = (
        table.update()
        .where(table.c.query_name == query_name, table.c.active == sa.true())
        .values(active=False)
    )
    if isinstance(store, sa.Connection):
        return int(store.execute(statement).rowcount)
    with store.engine.begin() as conn:
        return int(conn.execute(statement).rowcount)


@dataclass(frozen=True)
class DeadLetter:
    """A delivery given up after the retries: the query document as it would have been sent."""

    id: int
    subscription_id: str
    first_event_pk: int
    last_event_pk: int
    payload: bytes
    """The exact body (an ``EPCISQueryDocument``) that was refused."""
    attempts: int
    last_error: str
    """What the last attempt got: the HTTP status and start of the answer, or the connection error."""
    created_at_us: int


def dead_letters(store: Store, subscription_id: str, viewer: Viewer) -> list[DeadLetter]:
    """The dead letters of one of the viewer's subscriptions (by id, also once unsubscribed), oldest first."""
    letters = schema.subscription_dead_letters
    subs = schema.subscriptions
    query = sa.select(letters).where(letters.c.subscription_id == subscription_id).order_by(letters.c.id)
    if viewer.party is not None:
        owned = sa.select(subs.c.subscription_id).where(
            subs.c.subscription_id == subscription_id, subs.c.owner == viewer.party
        )
        query = query.where(letters.c.subscription_id.in_(owned))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        DeadLetter(
            id=int(r.id),
            subscription_id=r.subscription_id,
            first_event_pk=int(r.first_event_pk),
            last_event_pk=int(r.last_event_pk),
            payload=bytes(r.payload),
            attempts=int(r.attempts),
            last_error=r.last_error,
            created_at_us=int(r.created_at_us),
        )
        for r in rows
    ]


# --- delivery ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How a failing webhook is retried: attempt ``n`` (1-based) waits ``base_delay * factor**(n-1)``
    seconds (at most ``max_delay``) before the next; after ``max_attempts`` failed attempts the
    batch goes to the dead letters and delivery moves on."""

    max_attempts: int = 6
    base_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay < 0 or self.factor < 1 or self.max_delay < 0:
            raise ValueError(f"invalid retry policy {self}")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt``.

        >>> [RetryPolicy(base_delay=0.5).delay(n) for n in (1, 2, 3)]
        [0.5, 1.0, 2.0]
        """
        return float(min(self.max_delay, self.base_delay * self.factor ** (attempt - 1)))


@dataclass
class DeliveryReport:
    """What a dispatcher round did."""

    deliveries: int = 0
    """Query documents the subscribers acknowledged (2xx)."""
    events: int = 0
    """Events in those documents."""
    failures: int = 0
    """Attempts that failed (error status, refused connection, timeout)."""
    dead_letters: int = 0
    """Batches given up after the retries."""
    waiting: int = 0
    """Subscriptions waiting for a retry."""

    def add(self, other: DeliveryReport) -> None:
        """Add ``other``'s counts (``waiting`` is replaced: it is a state, not a count)."""
        self.deliveries += other.deliveries
        self.events += other.events
        self.failures += other.failures
        self.dead_letters += other.dead_letters
        self.waiting = other.waiting


@dataclass(frozen=True)
class PendingEvents:
    """The next batch for a subscriber: events after its resume point, in event_pk order."""

    events: list[dict[str, Any]]
    """The stored event documents (recordTime included)."""
    namespaces: dict[str, str]
    """Their extension namespaces, for the document's ``@context``."""
    through_pk: int
    """The resume point once this batch is acknowledged: everything up to here was looked at."""


def subscription_query(
    store: Store, query_name: str, viewer: Viewer, initial_record_time_us: int | None
) -> EventQuery | None:
    """The named query as a subscription runs it: in capture (= recordTime) order, without
    ``eventCountLimit``/``maxEventCount``/``orderBy`` (a subscription delivers every matching event,
    in order, batch by batch), restricted to ``initialRecordTime`` when given. None when the viewer
    cannot see the query (any more)."""
    from packtrail.store.query_params import EventQuery, TimeBound, parse_query_params

    named = store.named_query(query_name, viewer)
    if named is None:
        return None
    params = named.params
    parsed = parse_query_params(
        params if isinstance(params, dict) else [(str(k), str(v)) for k, v in params],
        namespaces=store.namespaces(),
    )
    conditions = parsed.conditions
    if initial_record_time_us is not None:
        conditions = (*conditions, TimeBound("record_time_us", "GE", initial_record_time_us))
    return EventQuery(conditions=conditions)


def fetch_pending(
    store: Store, query: EventQuery, viewer: Viewer, after_pk: int, limit: int
) -> PendingEvents:
    """Up to ``limit`` events matching ``query`` (and visible to ``viewer``) with event_pk above
    ``after_pk``, among the committed ones, oldest first (the query's SQL is
    :mod:`packtrail.store.query_sql`'s, continued after ``after_pk`` by its keyset predicate)."""
    from packtrail.store.query_sql import lookup_master_data, page_select

    with store.engine.connect() as conn:
        high = _last_committed_pk(conn)
        if high <= after_pk:
            return PendingEvents([], {}, after_pk)
        master = lookup_master_data(conn, query)
        rows = conn.execute(
            page_select(query, viewer, master, upper_pk=high, after=(after_pk,), limit=limit)
        ).all()
        namespaces = _namespaces(conn, {row.namespaces_id for row in rows if row.namespaces_id is not None})
    events = [orjson.loads(row.document) for row in rows]
    through = int(rows[-1].event_pk) if len(rows) >= limit else high
    return PendingEvents(events, namespaces, through)


def _namespaces(conn: sa.Connection, ids: set[int]) -> dict[str, str]:
    if not ids:
        return {}
    table = schema.contexts
    found: dict[str, str] = {}
    for (text,) in conn.execute(
        sa.select(table.c.namespaces)
        .where(table.c.namespaces_id.in_(sorted(ids)))
        .order_by(table.c.namespaces_id)
    ):
        for prefix, uri in orjson.loads(text).items():
            found.setdefault(prefix, uri)
    return found


def query_document(
    query_name: str, subscription_id: str | None, pending: PendingEvents, *, created: datetime | None = None
) -> bytes:
    """The ``EPCISQueryDocument`` (JSON-LD bytes) delivering ``pending`` for a subscription."""
    results: dict[str, Any] = {"queryName": query_name}
    if subscription_id is not None:
        results["subscriptionID"] = subscription_id
    moment = created or datetime.now(UTC)
    doc = EPCISDocument(
        kind="EPCISQueryDocument",
        creation_date=moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
        namespaces=dict(pending.namespaces),
        query=results,
        events=list(pending.events),
    )
    return write_jsonld(doc)


@dataclass
class _State:
    """What a dispatcher remembers of one subscription between rounds (in memory only: after a
    restart, retries start afresh and schedules wait for their next time)."""

    attempts: int = 0
    retry_at: float = 0.0
    next_fire: datetime | None = None
    fire_due: bool = False
    last_error: str = ""


@dataclass(frozen=True)
class _Target:
    subscription: Subscription
    secret: str | None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SubscriptionDispatcher:
    """Delivers webhook subscriptions: each round, every active subscription that is due (streaming:
    always; scheduled: when its time came) gets the new matching events, batch by batch, POSTed as a
    signed ``EPCISQueryDocument``. The resume point moves after each 2xx; a failure waits
    (:class:`RetryPolicy`) and retries the same batch; after the last attempt the batch is stored as
    a dead letter and delivery continues with the next. Progress lives in the database, so a new
    dispatcher (after a restart) resumes where the old one stopped.

    ``clock`` (wall time, for schedules) and ``monotonic`` (for retry waits) can be replaced in tests.
    """

    def __init__(
        self,
        store: Store,
        *,
        retry: RetryPolicy | None = None,
        batch_size: int = 500,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = _utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.store = store
        self.retry = retry or RetryPolicy()
        self.batch_size = batch_size
        self.clock = clock
        self.monotonic = monotonic
        self._client = client
        self._own_client = client is None
        self._timeout = timeout
        self._states: dict[str, _State] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle --------------------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client (when the dispatcher made it)."""
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        """Start the next round now rather than after the poll interval (call after a capture);
        safe from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def run_forever(self, poll_interval: float = 1.0, *, stop: asyncio.Event | None = None) -> None:
        """Dispatch until ``stop`` is set or the task is cancelled; between rounds, wait for
        :meth:`wake`, the poll interval, or the earliest retry, whichever comes first."""
        stop = stop or asyncio.Event()
        self._loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                try:
                    await self.run_once()
                except sa.exc.SQLAlchemyError as exc:
                    log.warning("subscription round failed (database), retrying: %s", exc)
                pause = min(poll_interval, self._next_retry_in())
                self._wake.clear()
                waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
                try:
                    await asyncio.wait(waiters, timeout=max(pause, 0.0), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for waiter in waiters:
                        waiter.cancel()
        finally:
            self._loop = None
            await self.aclose()

    def _next_retry_in(self) -> float:
        now = self.monotonic()
        waits = [state.retry_at - now for state in self._states.values() if state.retry_at]
        return min(waits, default=float("inf"))

    async def drain(self, *, max_rounds: int = 1000) -> DeliveryReport:
        """Run rounds until no subscription has anything left to send or to retry (retries waited
        for): what tests and ``packtrail subscriptions deliver --once`` want."""
        total = DeliveryReport()
        for _ in range(max_rounds):
            report = await self.run_once()
            total.add(report)
            if report.waiting == 0 and report.deliveries == 0 and report.dead_letters == 0:
                return total
            pause = self._next_retry_in()
            if pause > 0 and pause != float("inf"):
                await asyncio.sleep(pause)
        return total

    # -- one round --------------------------------------------------------------------------------------

    async def run_once(self) -> DeliveryReport:
        """One round over the active webhook subscriptions; returns what was done."""
        targets = await asyncio.to_thread(self._targets)
        report = DeliveryReport()
        seen: set[str] = set()
        for target in targets:
            sub = target.subscription
            seen.add(sub.subscription_id)
            state = self._states.setdefault(sub.subscription_id, _State())
            if state.retry_at > self.monotonic():
                report.waiting += 1
                continue
            state.retry_at = 0.0
            if sub.schedule is not None and not state.fire_due:
                now = self.clock()
                if state.next_fire is None:
                    state.next_fire = sub.schedule.next_after(now)
                if state.next_fire is None or now < state.next_fire:
                    continue
                state.fire_due = True
            try:
                await self._deliver(target, state, report)
            except StoreError as exc:  # its named query no longer parses, say: the others go on
                log.warning("subscription %s cannot run its query: %s", sub.subscription_id, exc)
                state.last_error = str(exc)
                state.retry_at = self.monotonic() + self.retry.max_delay
            if state.retry_at:
                report.waiting += 1
        for gone in set(self._states) - seen:
            del self._states[gone]
        return report

    def _targets(self) -> list[_Target]:
        table = schema.subscriptions
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(table)
                .where(table.c.active == sa.true(), table.c.dest.is_not(None))
                .order_by(table.c.created_at_us, table.c.subscription_id)
            ).all()
        return [_Target(_row_to_subscription(row), row.secret) for row in rows]

    async def _deliver(self, target: _Target, state: _State, report: DeliveryReport) -> None:
        sub = target.subscription
        viewer = _viewer_for(sub.owner)
        query = await asyncio.to_thread(
            subscription_query, self.store, sub.query_name, viewer, sub.initial_record_time_us
        )
        if query is None:  # the named query is gone (or no longer visible to the subscriber)
            await asyncio.to_thread(self._deactivate, sub.subscription_id)
            return
        last = sub.last_event_pk
        sent = False
        while True:
            pending = await asyncio.to_thread(fetch_pending, self.store, query, viewer, last, self.batch_size)
            if not pending.events:
                if pending.through_pk > last and not await asyncio.to_thread(
                    self._advance, sub.subscription_id, last, pending.through_pk
                ):
                    return
                last = pending.through_pk
                if sub.schedule is not None and sub.report_if_empty and not sent:
                    outcome = await self._post(target, state, report, pending, last, last)
                    if outcome == "retry":
                        return
                break
            outcome = await self._post(target, state, report, pending, last, pending.through_pk)
            if outcome == "retry":
                return
            if outcome == "lost":  # unsubscribed or advanced by another dispatcher meanwhile
                return
            last = pending.through_pk
            sent = True
        if sub.schedule is not None:
            state.fire_due = False
            state.next_fire = sub.schedule.next_after(self.clock())

    async def _post(
        self,
        target: _Target,
        state: _State,
        report: DeliveryReport,
        pending: PendingEvents,
        after_pk: int,
        through_pk: int,
    ) -> str:
        """POST one batch; ``"ok"`` (acknowledged, resume point moved), ``"dead"`` (given up, moved
        too), ``"retry"`` (wait and try again) or ``"lost"`` (the subscription changed meanwhile)."""
        sub = target.subscription
        assert sub.dest is not None
        body = query_document(sub.query_name, sub.subscription_id, pending, created=self.clock())
        headers = {"Content-Type": "application/json", "GS1-EPCIS-Version": "2.0.0"}
        if target.secret is not None:
            headers["GS1-Signature"] = sign_body(target.secret, body)
        error: str | None = None
        try:
            response = await self._http().post(sub.dest, content=body, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            if not 200 <= response.status_code < 300:
                error = f"HTTP {response.status_code}: {response.text[:200]}"
        if error is None:
            state.attempts = 0
            report.deliveries += 1
            report.events += len(pending.events)
            if through_pk == after_pk:
                return "ok"
            moved = await asyncio.to_thread(self._advance, sub.subscription_id, after_pk, through_pk)
            return "ok" if moved else "lost"
        state.attempts += 1
        state.last_error = error
        report.failures += 1
        log.info("delivery to %s failed (attempt %d): %s", sub.dest, state.attempts, error)
        if state.attempts < self.retry.max_attempts:
            state.retry_at = self.monotonic() + self.retry.delay(state.attempts)
            return "retry"
        attempts, state.attempts = state.attempts, 0
        moved = await asyncio.to_thread(
            self._dead_letter, sub.subscription_id, after_pk, through_pk, body, attempts, error
        )
        report.dead_letters += 1
        return "dead" if moved else "lost"

    # -- database (worker threads) ----------------------------------------------------------------------

    def _advance(self, subscription_id: str, old: int, new: int, conn: sa.Connection | None = None) -> bool:
        table = schema.subscriptions
        statement = (
            table.update()
            .where(
                table.c.subscription_id == subscription_id,
                table.c.last_event_pk == old,
                table.c.active == sa.true(),
            )
            .values(last_event_pk=new)
        )
        if conn is not None:
            return bool(conn.execute(statement).rowcount)
        with self.store.engine.begin() as own:
            return bool(own.execute(statement).rowcount)

    def _dead_letter(
        self, subscription_id: str, after_pk: int, through_pk: int, body: bytes, attempts: int, error: str
    ) -> bool:
        with self.store.engine.begin() as conn:
            if through_pk != after_pk and not self._advance(subscription_id, after_pk, through_pk, conn):
                return False
            conn.execute(
                schema.subscription_dead_letters.insert().values(
                    subscription_id=subscription_id,
                    first_event_pk=after_pk + 1,
                    last_event_pk=through_pk,
                    payload=body,
                    attempts=attempts,
                    last_error=error[:2000],
                    created_at_us=_now_us(),
                )
            )
        return True

    def _deactivate(self, subscription_id: str) -> None:
        table = schema.subscriptions
        with self.store.engine.begin() as conn:
            conn.execute(
                table.update().where(table.c.subscription_id == subscription_id).values(active=False)
            )


def _viewer_for(owner: str | None) -> Viewer:
    from packtrail.store.parties import Viewer

    return Viewer.admin() if owner is None else Viewer(party=owner)


# --- WebSocket subscriptions ---------------------------------------------------------------------


async def websocket_documents(
    store: Store,
    query_name: str,
    request: SubscriptionRequest,
    viewer: Viewer,
    *,
    after_pk: int | None = None,
    poll_interval: float = 1.0,
    batch_size: int = 500,
    clock: Callable[[], datetime] = _utc_now,
) -> AsyncIterator[bytes]:
    """The query documents of a WebSocket subscription, as they come: for ``stream``, each batch of
    new matching events as soon as a poll finds it; for a ``schedule``, everything new at each
    scheduled time (an empty document when ``reportIfEmpty``). A WebSocket has no acknowledgement,
    so the resume point lives here, for the life of the connection. Raises
    :class:`NoSuchNameError` at once when the viewer cannot see the query; ends when the query is
    deleted (the server then closes the socket). ``after_pk``: the resume point, when the caller
    fixed it already (:func:`subscription_start`, before accepting the connection, so that no event
    captured after the handshake is missed); default: computed now."""
    query = await asyncio.to_thread(
        subscription_query, store, query_name, viewer, request.initial_record_time_us
    )
    if query is None:
        raise NoSuchNameError(f"no named query {query_name!r}")
    last = after_pk
    if last is None:
        last = await asyncio.to_thread(subscription_start, store, request.initial_record_time_us)
    schedule = request.schedule
    while True:
        if schedule is not None:
            fire = schedule.next_after(clock())
            if fire is None:
                return
            await asyncio.sleep(max(0.0, (fire - clock()).total_seconds()))
        sent = False
        while True:
            pending = await asyncio.to_thread(fetch_pending, store, query, viewer, last, batch_size)
            last = pending.through_pk
            if not pending.events:
                break
            yield query_document(query_name, None, pending, created=clock())
            sent = True
        if schedule is not None:
            if not sent and request.report_if_empty:
                yield query_document(query_name, None, PendingEvents([], {}, last), created=clock())
        else:
            await asyncio.sleep(poll_interval)
        query = await asyncio.to_thread(
            subscription_query, store, query_name, viewer, request.initial_record_time_us
        )
        if query is None:
            return


def subscription_start(store: Store, initial_record_time_us: int | None) -> int:
    """:func:`start_point` in its own connection: the resume point a new subscription starts from."""
    with store.engine.connect() as conn:
        return start_point(conn, initial_record_time_us)
