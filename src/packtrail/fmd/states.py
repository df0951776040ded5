"""Pack states and inactive reasons, as the EU repositories system models them.

A pack is **Active** or **Inactive** with a reason. Some reasons belong to the
pack itself (an end user dispensed, exported, locked … it); three come from
above the pack and are never stored on it: **Expired** (the batch's expiry
date has passed), **Recalled** (the marketing-authorisation holder recalled
the batch) and **Withdrawn** (the product was withdrawn).

>>> from packtrail.fmd.states import PackState, Reason, BATCH_LEVEL_REASONS, NEVER_REVERSIBLE
>>> PackState.INACTIVE.value, Reason.SUPPLIED.value
('INACTIVE', 'SUPPLIED')
>>> Reason.RECALLED in BATCH_LEVEL_REASONS
True

Delegated Regulation 2016/161 Art. 13 forbids reverting a pack that is stolen,
intended for destruction, recalled, withdrawn or expired, whatever the market:

>>> sorted(reason.value for reason in NEVER_REVERSIBLE)
['DESTROYED', 'EXPIRED', 'RECALLED', 'STOLEN', 'WITHDRAWN']
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["BATCH_LEVEL_REASONS", "NEVER_REVERSIBLE", "PACK_LEVEL_REASONS", "PackState", "Reason"]


class PackState(StrEnum):
    """Whether the pack may still be supplied: ``ACTIVE`` or ``INACTIVE`` (with a :class:`Reason`)."""

    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class Reason(StrEnum):
    """Why a pack is inactive (the NMVS ``Reason`` element)."""

    SUPPLIED = "SUPPLIED"
    """Dispensed to the public by a pharmacy or hospital (G120), or supplied to an Art. 23 group."""
    EXPORTED = "EXPORTED"
    """Distributed outside the EU by a wholesaler (G140)."""
    SAMPLE = "SAMPLE"
    """Taken as a sample by a competent authority (G150)."""
    FREE_SAMPLE = "FREE_SAMPLE"
    """Given as a free sample (G160)."""
    LOCKED = "LOCKED"
    """Held back, e.g. pending an investigation (G170); unlocked by G171 with no time limit."""
    CHECKED_OUT = "CHECKED_OUT"
    """Checked out (listed by the EU hub; no NMVS transaction code found in the sources)."""
    STOLEN = "STOLEN"
    """Reported stolen (G180); never reverted."""
    DESTROYED = "DESTROYED"
    """Intended for destruction (G130); never reverted."""
    EXPIRED = "EXPIRED"
    """The batch's expiry date has passed; derived, never stored on the pack."""
    RECALLED = "RECALLED"
    """The batch was recalled by the marketing-authorisation holder; irreversible."""
    WITHDRAWN = "WITHDRAWN"
    """The product was withdrawn by the marketing-authorisation holder; irreversible."""


BATCH_LEVEL_REASONS: frozenset[Reason] = frozenset({Reason.EXPIRED, Reason.RECALLED, Reason.WITHDRAWN})
"""Reasons that come from the batch or the product, not from a transaction on the pack."""

PACK_LEVEL_REASONS: frozenset[Reason] = frozenset(Reason) - BATCH_LEVEL_REASONS
"""Reasons an end-user transaction sets on one pack (and that a :class:`~packtrail.fmd.model.PackRecord` stores)."""

NEVER_REVERSIBLE: frozenset[Reason] = frozenset(
    {Reason.STOLEN, Reason.DESTROYED, Reason.EXPIRED, Reason.RECALLED, Reason.WITHDRAWN}
)
"""DR Art. 13: a pack in one of these states never becomes active again, in any market."""
