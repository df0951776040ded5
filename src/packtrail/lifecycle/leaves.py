"""Events applied in SQL to the packs a container holds, without reading them.

Shipping a pallet ships the 400 packs inside it. Read, replayed and rewritten one by one, those packs
were most of the projection's cost; but an event that reaches a pack only through its container does
the same to every such pack, decided by what is in the row alone: so the projector leaves the
*stored leaves* of a container (its children that hold nothing, and are not in memory) in the
database, notes the events that reach the container (:attr:`packtrail.lifecycle.replay.Replayer.deferred`),
and at its flush applies each of them with one ``UPDATE … WHERE parent = ?`` per container.

Each statement here is :meth:`~packtrail.lifecycle.replay.Replayer._update_reached` of a pack reached
through its container, written as SQL, column for column (a ``SET`` sees the row as it was, as the
Python code does before it changes the item):

- the last event (``last_time_us``, ``last_pk``) always moves on;
- a decommissioned, destroyed or dispensed pack keeps everything else (it was left inside);
- otherwise: the state (and reason, and ``state_pk``) the event names, its disposition, the new owner
  (the destination's, else the one it had, else the source's or the capturing party), the custodian
  (the destination's; on receiving, the receiving party, else the new owner; else the one it had, else
  the source's, else the new owner), the bizLocation (``shipping`` without one empties it).

And :meth:`~packtrail.lifecycle.replay.Replayer._check_movement`'s one check that concerns packs
reached through a container: shipping one that is decommissioned, destroyed or dispensed is the
exception ``shipped_decommissioned``, naming the event that put it in that state.

>>> from packtrail.lifecycle.facts import EventFacts
>>> ship = EventFacts(7, 7000, "ObjectEvent", "OBSERVE", "shipping", "in_transit", None, "e7", None,
...                   ("urn:epc:id:sscc:4012345.0000000001",), None, (), (), "4012345000009", None,
...                   "0614141000005", None, None, None, None)
>>> sql, params = update_of([(ship, ("in_transit", None))])
>>> print(sql.replace(TERMINAL, "terminal"))  # doctest: +NORMALIZE_WHITESPACE
UPDATE lifecycle_items SET last_time_us = ?, last_pk = ?,
    state = CASE WHEN terminal THEN state ELSE ? END,
    reason = CASE WHEN terminal THEN reason ELSE ? END,
    state_pk = CASE WHEN terminal THEN state_pk ELSE ? END,
    disposition = CASE WHEN terminal THEN disposition ELSE ? END,
    owner = CASE WHEN terminal THEN owner ELSE ? END,
    custodian = CASE WHEN terminal THEN custodian ELSE COALESCE(custodian, ?, ?) END,
    location = CASE WHEN terminal THEN location ELSE NULL END
>>> params
(7000, 7, 'in_transit', None, 7, 'in_transit', '0614141000005', None, '0614141000005')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from packtrail.lifecycle import rules

if TYPE_CHECKING:
    from packtrail.lifecycle.replay import Deferred

__all__ = ["SHIPPED_DECOMMISSIONED", "TERMINAL", "segments", "update_of"]

_COLUMNS: Final = ("state", "reason", "state_pk", "disposition", "owner", "custodian", "location")
"""The columns an event reaching a row through its container may change (besides its last event)."""

TERMINAL: Final = "(" + " OR ".join(f"state = '{state}'" for state in sorted(rules.TERMINAL_STATES)) + ")"
"""True for a row whose state an event reaching it through its container leaves alone. Spelled with
``OR``, not ``state IN (…)``: SQLite builds a list's lookup table each time a statement runs, which made
this test, repeated in every ``CASE``, six times the cost of the rest of the update."""

SHIPPED_DECOMMISSIONED: Final = (
    "INSERT INTO lifecycle_exceptions (epc, event_pk, reason, conflicting_pk)"
    f" SELECT epc, ?, 'shipped_decommissioned', state_pk FROM lifecycle_items WHERE {TERMINAL}"
)
"""The exceptions of a shipping event for the terminal packs of a container (the caller adds ``AND
parent = ? …`` and ``ON CONFLICT DO NOTHING``)."""


def segments(noted: Sequence[Deferred]) -> list[Sequence[Deferred]]:
    """The events noted for one container, cut after each that makes what it reaches decommissioned,
    destroyed or dispensed: within a segment no row changes between terminal and not, so one statement
    (:func:`update_of`) applies the whole segment."""
    found: list[Sequence[Deferred]] = []
    start = 0
    for at, (_, result) in enumerate(noted):
        if result is not None and result[0] in rules.TERMINAL_STATES:
            found.append(noted[start : at + 1])
            start = at + 1
    if start < len(noted):
        found.append(noted[start:])
    return found


def update_of(segment: Sequence[Deferred]) -> tuple[str, tuple[Any, ...]]:
    """The ``UPDATE lifecycle_items SET …`` (no ``WHERE``: the caller names the rows) that does to a row
    what the events of ``segment`` (see :func:`segments`), in order, do to an identifier they reach
    through its container; with its parameters (``?`` placeholders).

    Each column's value is built as an expression over the row as it was before the first event: an
    event that uses a column (the owner it keeps when it names none) uses the expression the events
    before it left there."""
    value: dict[str, tuple[str, tuple[Any, ...]]] = {}

    def now(column: str) -> tuple[str, tuple[Any, ...]]:
        return value.get(column, (column, ()))

    for facts, result in segment:
        if result is not None:
            value["state"] = ("?", (result[0],))
            value["reason"] = ("?", (result[1],))
            value["state_pk"] = ("?", (facts.pk,))
        if facts.disposition is not None:
            value["disposition"] = ("?", (facts.disposition,))
        owner = now("owner")
        if facts.destination_owner is not None:
            owner = ("?", (facts.destination_owner,))
        else:
            fallback = facts.source_owner or facts.captured_by
            if fallback is not None:
                owner = (f"COALESCE({owner[0]}, ?)", (*owner[1], fallback))
        custodian = now("custodian")
        if facts.destination_possessor is not None:
            custodian = ("?", (facts.destination_possessor,))
        elif facts.biz_step == "receiving":
            taker = facts.captured_by or facts.destination_owner
            custodian = ("?", (taker,)) if taker else owner
        else:
            custodian = (
                f"COALESCE({custodian[0]}, ?, {owner[0]})",
                (*custodian[1], facts.source_possessor or None, *owner[1]),
            )
        value["owner"], value["custodian"] = owner, custodian
        if facts.biz_location is not None:
            value["location"] = ("?", (facts.biz_location,))
        elif facts.biz_step == "shipping":
            value["location"] = ("NULL", ())
    last = segment[-1][0]
    sets = ["last_time_us = ?", "last_pk = ?"]
    params: list[Any] = [last.time_us, last.pk]
    for column in _COLUMNS:
        expression, values = value.get(column, (column, ()))
        if expression != column:
            sets.append(f"{column} = CASE WHEN {TERMINAL} THEN {column} ELSE {expression} END")
            params.extend(values)
    return "UPDATE lifecycle_items SET " + ", ".join(sets), tuple(params)
