"""What an event does to the identifiers it applies to: the states, and the policy tables that map CBV
bizSteps and dispositions onto them.

A pack (or case, or pallet) is in one of :data:`STATES`. An event moves every identifier it applies to
into the state :func:`outcome` names, or leaves the state alone (an ``inspecting`` or ``storing``
observation). The tables are data, in the order they are consulted, so that a market with other words
is a change of table, not of code:

>>> outcome("ObjectEvent", "ADD", "commissioning", "active", None)
('commissioned', None)
>>> outcome("ObjectEvent", "OBSERVE", "shipping", "in_transit", None)
('in_transit', None)
>>> outcome("ObjectEvent", "OBSERVE", "decommissioning", "inactive", None)
('decommissioned', 'decommissioning')
>>> outcome("ObjectEvent", "OBSERVE", "decommissioning", "stolen", None)
('decommissioned', 'stolen')
>>> outcome("ObjectEvent", "DELETE", "destroying", "destroyed", "damaged")
('destroyed', 'damaged')
>>> outcome("ObjectEvent", "OBSERVE", "inspecting", None, None) is None
True
>>> outcome("AggregationEvent", "ADD", None, None, None)
('packed', None)

The exceptions an event can raise for an identifier are :data:`EXCEPTION_REASONS`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

__all__ = [
    "COMMISSIONED",
    "DECOMMISSIONED",
    "DESTROYED",
    "DISPENSED",
    "EXCEPTION_REASONS",
    "IN_TRANSIT",
    "PACKED",
    "RECALLED",
    "RECEIVED",
    "STATES",
    "SUSPECT",
    "TERMINAL_STATES",
    "outcome",
]

COMMISSIONED: Final = "commissioned"
PACKED: Final = "packed"
IN_TRANSIT: Final = "in_transit"
RECEIVED: Final = "received"
DISPENSED: Final = "dispensed"
DECOMMISSIONED: Final = "decommissioned"
DESTROYED: Final = "destroyed"
RECALLED: Final = "recalled"
SUSPECT: Final = "suspect"
"""Suspect or quarantined: held back from sale until an investigation clears it (DSCSA §582)."""

STATES: Final = (
    COMMISSIONED,
    PACKED,
    IN_TRANSIT,
    RECEIVED,
    DISPENSED,
    DECOMMISSIONED,
    DESTROYED,
    RECALLED,
    SUSPECT,
)
"""Every state an identifier can be in."""

TERMINAL_STATES: Final = frozenset({DECOMMISSIONED, DESTROYED, DISPENSED})
"""States after which a pack must not move on: shipping it is an exception."""

EXCEPTION_REASONS: Final = {
    "shipped_decommissioned": "shipped while decommissioned, destroyed or dispensed",
    "already_aggregated": "aggregated into a container while inside another one",
    "received_not_shipped": "received without having been shipped (not in transit)",
    "never_commissioned": "named by an event before any commissioning",
    "commissioned_again": "commissioned a second time",
}
"""Exception reason -> what it means. The earlier event it contradicts is kept beside it: the event that
decommissioned the pack, put it into the other container, last set its state, or commissioned it."""

# -- the policy tables, consulted in this order -------------------------------------------------------------

_DISPOSITION_STATES: Final = (
    ({"destroyed"}, DESTROYED),
    ({"dispensed", "partially_dispensed", "retail_sold"}, DISPENSED),
    ({"recalled"}, RECALLED),
    ({"stolen", "expired", "inactive", "disposed"}, DECOMMISSIONED),
    (
        {"no_pedigree_match", "mismatch_instance", "mismatch_class", "mismatch_quantity", "non_conformant"},
        SUSPECT,
    ),
)
"""Dispositions that say the state by themselves, strongest first."""

_STEP_STATES: Final = (
    ({"destroying"}, DESTROYED),
    ({"dispensing", "retail_selling"}, DISPENSED),
    ({"decommissioning", "killing", "sampling"}, DECOMMISSIONED),
    ({"holding"}, SUSPECT),
    ({"shipping"}, IN_TRANSIT),
    ({"receiving"}, RECEIVED),
    ({"packing", "repackaging"}, PACKED),
    ({"commissioning"}, COMMISSIONED),
)
"""bizSteps that say the state when no disposition of :data:`_DISPOSITION_STATES` did."""

_REASON_WORDS: Final = {"sampling": "sample", "killing": "killed"}
"""bizStep -> the decommissioning reason it stands for, when the event names none."""


@lru_cache(maxsize=4096)
def outcome(
    event_type: str, action: str | None, biz_step: str | None, disposition: str | None, reason: str | None
) -> tuple[str, str | None] | None:
    """``(state, reason)`` the event puts the identifiers it applies to in, or None to leave their state.

    ``reason`` (an extension field such as ``packtrail:destructionReason``) wins; else a specific
    disposition (``stolen``, ``expired``) or the bizStep says why a pack was decommissioned. An
    ObjectEvent ADD commissions, whatever its bizStep; an ObjectEvent DELETE decommissions.
    """
    if event_type == "ObjectEvent" and action == "ADD":
        return COMMISSIONED, None
    state: str | None = None
    said_by_disposition = False
    if disposition is not None:
        for words, named in _DISPOSITION_STATES:
            if disposition in words:
                state, said_by_disposition = named, True
                break
    if state is None and biz_step is not None:
        for words, named in _STEP_STATES:
            if biz_step in words:
                state = named
                break
    if state is None and disposition == "in_transit":
        state = IN_TRANSIT
    if state is None and event_type == "ObjectEvent" and action == "DELETE":
        state = DECOMMISSIONED
    if state is None and event_type == "AggregationEvent" and action == "ADD":
        state = PACKED
    if state is None:
        return None
    if state in (DECOMMISSIONED, DESTROYED):
        if reason is None and said_by_disposition and disposition not in ("inactive", "destroyed"):
            reason = disposition
        if reason is None and biz_step is not None:
            reason = _REASON_WORDS.get(biz_step, biz_step)
        return state, reason
    return state, None
