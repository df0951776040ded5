"""A pack's (or case's, or pallet's) chain of custody: every event that applied to it, in eventTime
order, the owners it had with their dates (the DSCSA transaction history), the containers it travelled
in, its current state and the exceptions raised on it.

How: the identifier and every container it was ever inside (from the AggregationEvents naming it, then
theirs) are the closed set whose events decide its history; those events are read from the log and
replayed in ``(eventTime, event_pk)`` order with the projection's own
:class:`~packtrail.lifecycle.replay.Replayer`, which records each event that applied to the identifier,
directly or through a container, with its position right after it. So the trace's current state is the
projection's, and the history is the projection's history.

Who sees what: the local administrator sees everything. A party sees the events it may see
(:mod:`packtrail.store.parties`: those it captured, names it as owning or possessing party, or were
shared with it); owners, transactions and containers are derived from those events alone, the current
state is the pack's position as of the last of them, and an exception is shown when its event is
visible (the conflicting event's ID only when that one is too). An identifier none of whose events the
party may see is not found, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from packtrail.gs1 import GS1Error, gtin_serial_from_sgtin
from packtrail.lifecycle.db import Db
from packtrail.lifecycle.errors import NotFoundError
from packtrail.lifecycle.identifiers import parse_identifier
from packtrail.lifecycle.projector import catch_up
from packtrail.lifecycle.replay import Item, Replayer, Step
from packtrail.lifecycle.rules import EXCEPTION_REASONS

if TYPE_CHECKING:
    from packtrail.store import Store, Viewer

__all__ = ["ContainerPeriod", "OwnerPeriod", "Trace", "TraceEvent", "TraceException", "Transaction", "trace"]


def iso_time(us: int | None) -> str | None:
    """Microseconds since 1970 as ISO 8601 UTC with milliseconds.

    >>> iso_time(1_709_287_200_123_456), iso_time(-1)
    ('2024-03-01T10:00:00.123Z', '1969-12-31T23:59:59.999Z')
    """
    if us is None:
        return None
    day, rest = divmod(us, 86_400_000_000)
    date = _DAYS.get(day)
    if date is None:
        if len(_DAYS) > 100_000:
            _DAYS.clear()
        date = _DAYS[day] = f"{datetime.fromtimestamp(day * 86_400, UTC):%Y-%m-%d}T"
    seconds, micro = divmod(rest, 1_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{date}{hours:02d}:{minutes:02d}:{seconds:02d}.{micro // 1000:03d}Z"


_DAYS: dict[int, str] = {}
"""Day number since 1970 -> ``YYYY-MM-DDT`` (recall reach formats 100,000 times in a few days)."""


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One event of the chain of custody."""

    event_id: str
    time_us: int
    event_type: str
    action: str | None
    biz_step: str | None
    disposition: str | None
    biz_location: str | None
    via: str | None
    """The container the event named, through which it applied; None when it named the identifier."""
    document: Mapping[str, Any]
    """The event as stored (as captured, with recordTime and eventID)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "eventID": self.event_id,
            "eventTime": iso_time(self.time_us),
            "type": self.event_type,
            "action": self.action,
            "bizStep": self.biz_step,
            "disposition": self.disposition,
            "bizLocation": self.biz_location,
            "via": self.via,
            "event": dict(self.document),
        }


@dataclass(slots=True)
class OwnerPeriod:
    """One owner of the identifier and the dates it owned it."""

    party: str
    """The owner's GLN."""
    from_us: int
    from_event_id: str
    to_us: int | None = None
    """None: owns it still (as far as the viewer can see)."""
    to_event_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "from": iso_time(self.from_us),
            "to": iso_time(self.to_us),
            "fromEventID": self.from_event_id,
            "toEventID": self.to_event_id,
        }


@dataclass(frozen=True, slots=True)
class Transaction:
    """A change of ownership (DSCSA transaction): an event naming a destination ``owning_party``."""

    time_us: int
    seller: str | None
    """The source ``owning_party``, else the owner before the event."""
    buyer: str
    event_id: str
    biz_step: str | None
    biz_transactions: list[dict[str, str]]
    """The event's ``bizTransactionList`` (purchase order, invoice, despatch advice…)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "date": iso_time(self.time_us),
            "seller": self.seller,
            "buyer": self.buyer,
            "eventID": self.event_id,
            "bizStep": self.biz_step,
            "bizTransactions": self.biz_transactions,
        }


@dataclass(slots=True)
class ContainerPeriod:
    """A container the identifier travelled in, and when."""

    container: str
    level: int
    """1: its direct parent; 2: the parent's parent…"""
    from_us: int
    from_event_id: str
    to_us: int | None = None
    to_event_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "container": self.container,
            "level": self.level,
            "from": iso_time(self.from_us),
            "to": iso_time(self.to_us),
            "fromEventID": self.from_event_id,
            "toEventID": self.to_event_id,
        }


@dataclass(frozen=True, slots=True)
class TraceException:
    """An inconsistent event on the identifier."""

    reason: str
    event_id: str
    time_us: int | None
    conflicting_event_id: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "description": EXCEPTION_REASONS.get(self.reason, self.reason),
            "eventID": self.event_id,
            "eventTime": iso_time(self.time_us),
            "conflictingEventID": self.conflicting_event_id,
        }


@dataclass(slots=True)
class Trace:
    """The chain of custody of one identifier (see the module docstring)."""

    identifier: str
    """The canonical EPC URN."""
    current: Item
    """Its position after the last event shown."""
    containers_now: tuple[str, ...]
    """Its containers after that event, innermost first."""
    contents: list[str] = field(default_factory=list)
    """What it holds now (a case's packs, a pallet's cases), when that event is its latest."""
    events: list[TraceEvent] = field(default_factory=list)
    owners: list[OwnerPeriod] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    containers: list[ContainerPeriod] = field(default_factory=list)
    exceptions: list[TraceException] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The trace as one JSON object."""
        item = self.current
        gtin = serial = None
        if item.gtin is not None:
            try:
                gtin, serial = gtin_serial_from_sgtin(self.identifier)
            except GS1Error:
                gtin = item.gtin
        last = self.events[-1] if self.events else None
        return {
            "identifier": self.identifier,
            "gtin": gtin,
            "serial": serial,
            "lot": item.lot,
            "expiry": item.expiry,
            "current": {
                "state": item.state,
                "reason": item.reason,
                "disposition": item.disposition,
                "owner": item.owner,
                "custodian": item.custodian,
                "location": item.location,
                "parent": item.parent,
                "containers": list(self.containers_now),
                "contents": self.contents,
                "lastEventTime": iso_time(item.last_time_us),
                "lastEventID": last.event_id if last is not None else None,
            },
            "events": [e.as_json() for e in self.events],
            "owners": [o.as_json() for o in self.owners],
            "transactions": [t.as_json() for t in self.transactions],
            "containers": [c.as_json() for c in self.containers],
            "exceptions": [x.as_json() for x in self.exceptions],
        }


def _biz_transactions(document: Mapping[str, Any]) -> list[dict[str, str]]:
    found = []
    for entry in document.get("bizTransactionList") or ():
        if isinstance(entry, Mapping) and isinstance(entry.get("bizTransaction"), str):
            kind = entry.get("type")
            found.append({"type": kind if isinstance(kind, str) else "", "value": entry["bizTransaction"]})
    return found


def _owners(
    steps: list[Step], documents: Mapping[int, Mapping[str, Any]]
) -> tuple[list[OwnerPeriod], list[Transaction]]:
    periods: list[OwnerPeriod] = []
    transactions: list[Transaction] = []
    owner: str | None = None
    for step in steps:
        facts = step.facts
        buyer = facts.destination_owner
        if buyer is not None and buyer != owner:
            transactions.append(
                Transaction(
                    facts.time_us,
                    facts.source_owner or owner,
                    buyer,
                    facts.event_id,
                    facts.biz_step,
                    _biz_transactions(documents[facts.pk]),
                )
            )
        now = step.item.owner
        if now != owner:
            if periods and periods[-1].to_us is None:
                periods[-1].to_us, periods[-1].to_event_id = facts.time_us, facts.event_id
            if now is not None:
                periods.append(OwnerPeriod(now, facts.time_us, facts.event_id))
            owner = now
    return periods, transactions


def _containers(steps: list[Step]) -> list[ContainerPeriod]:
    done: list[ContainerPeriod] = []
    inside: dict[str, ContainerPeriod] = {}
    for step in steps:
        facts = step.facts
        for container in list(inside):
            if container not in step.chain:
                period = inside.pop(container)
                period.to_us, period.to_event_id = facts.time_us, facts.event_id
                done.append(period)
        for level, container in enumerate(step.chain, 1):
            if container not in inside:
                inside[container] = ContainerPeriod(container, level, facts.time_us, facts.event_id)
    done.extend(inside.values())
    done.sort(key=lambda p: (p.from_us, p.level))
    return done


def trace(store: Store, identifier: str, viewer: Viewer) -> Trace:
    """The chain of custody of ``identifier`` (any form :func:`parse_identifier` reads) as ``viewer`` may
    see it. Raises IdentifierError for an unreadable identifier, NotFoundError when no event (visible to
    the viewer) names it."""
    epc = parse_identifier(identifier)
    with store.engine.connect() as connection:
        db = Db(connection)
        if db.behind():
            connection.rollback()
            catch_up(store)
        db.generic_plans()
        closed = db.ancestors(epc)
        events = db.events_naming(closed)
        replay = Replayer(track=closed, watch=epc)
        for facts, _ in events:
            replay.apply(facts)
        documents = {facts.pk: document for facts, document in events}
        exception_rows = db.exceptions_of(epc)
        steps = replay.steps
        stored = db.item(epc)
        contents: list[str] = []
        if stored is not None and stored.container and steps and steps[-1].facts.pk == stored.last_pk:
            contents = db.contents(epc)  # what it holds now (when the viewer sees its latest event)
        if not viewer.is_admin:
            wanted = {s.facts.pk for s in steps} | {row[0] for row in exception_rows}
            wanted |= {row[2] for row in exception_rows if row[2] is not None}
            visible = {
                int(row[0])
                for row in db.fetch(
                    f"SELECT event_pk FROM event_visibility WHERE party = ? AND event_pk {db.any}",
                    (viewer.party, db.values(sorted(wanted))),
                )
            }
            steps = [s for s in steps if s.facts.pk in visible]
            if not steps or stored is None or steps[-1].facts.pk != stored.last_pk:
                contents = []
            exception_rows = [
                (pk, reason, other, event_id, time_us, other_id if other in visible else None)
                for pk, reason, other, event_id, time_us, other_id in exception_rows
                if pk in visible
            ]
        connection.rollback()
    if not steps:
        raise NotFoundError(f"no event {'' if viewer.is_admin else 'you may see '}names {epc}")
    last = steps[-1]
    owners, transactions = _owners(steps, documents)
    current = last.item
    if stored is not None:
        current.container = bool(stored.container)  # the replay follows containers, not contents
    return Trace(
        identifier=epc,
        current=current,
        containers_now=last.chain,
        contents=contents,
        events=[
            TraceEvent(
                s.facts.event_id,
                s.facts.time_us,
                s.facts.event_type,
                s.facts.action,
                s.facts.biz_step,
                s.facts.disposition,
                s.facts.biz_location,
                s.via,
                documents[s.facts.pk],
            )
            for s in steps
        ],
        owners=owners,
        transactions=transactions,
        containers=_containers(steps),
        exceptions=[
            TraceException(reason, event_id, None if time_us is None else int(time_us), other_id)
            for _, reason, _, event_id, time_us, other_id in exception_rows
        ],
    )
