"""The facts of one stored event that the lifecycle projection needs, in canonical form.

Built from the event's index rows (:func:`packtrail.store.index_rows.event_rows`), the same way whether
the event was just captured (capture hands them over) or is read back from the log (the stored document
gives the rows again): EPCs as canonical URNs by role, bizStep and disposition as bare CBV
words, parties as GLNs, the bizLocation as a canonical SGLN, lot and expiry from the ILMD, and the
decommissioning reason from an extension field.

>>> from packtrail.store.index_rows import event_rows
>>> event = {"type": "ObjectEvent", "eventTime": "2026-03-02T09:30:00Z", "eventTimeZoneOffset": "+00:00",
...     "action": "ADD", "bizStep": "commissioning", "disposition": "active",
...     "epcList": ["https://id.gs1.org/01/04012345111118/21/A1"],
...     "bizLocation": {"id": "https://id.gs1.org/414/4012345000009"},
...     "ilmd": {"cbvmda:lotNumber": "B42", "cbvmda:itemExpirationDate": "2028-02-29"}}
>>> facts = facts_of(7, event_rows(event, {}), "urn:uuid:1", "4012345000009")
>>> facts.direct, facts.lot, facts.expiry, facts.biz_location
(('urn:epc:id:sgtin:4012345.011111.A1',), 'B42', '2028-02-29', 'urn:epc:id:sgln:4012345.00000.0')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from packtrail.store import schema
from packtrail.store.identifiers import canonical_epc, gln_of_party

if TYPE_CHECKING:
    from packtrail.store.index_rows import EventRows

__all__ = ["REASON_FIELDS", "EventFacts", "facts_of"]

REASON_FIELDS: Final = frozenset({"destructionReason", "decommissionReason", "decommissioningReason"})
"""Local names of the top-level extension fields read as the reason a pack was decommissioned or
destroyed (``packtrail:destructionReason`` of :mod:`packtrail.packaging.events`, whatever its prefix)."""

_OWNING: Final = "owning_party"
_POSSESSING: Final = "possessing_party"


@dataclass(slots=True)
class EventFacts:
    """What the projection reads from one event (made once per event and never changed; not declared
    frozen because a frozen dataclass sets each field through ``object.__setattr__``: compiled by
    :mod:`packtrail.native`, 6.7 µs to make one against 1.6)."""

    pk: int
    """``event_pk``: capture order, the tie-breaker between events with the same eventTime."""
    time_us: int
    """eventTime, microseconds since 1970 (UTC)."""
    event_type: str
    action: str | None
    biz_step: str | None
    """Bare CBV word (``shipping``) or the URI as given."""
    disposition: str | None
    biz_location: str | None
    """Canonical (``urn:epc:id:sgln:…``) when convertible."""
    event_id: str
    captured_by: str | None
    """GLN of the capturing party (None: the administrator)."""
    direct: tuple[str, ...]
    """epcList (ObjectEvent, TransactionEvent), childEPCs (Aggregation, Association), in order, distinct."""
    parent: str | None
    """parentID."""
    inputs: tuple[str, ...]
    """inputEPCList (TransformationEvent)."""
    outputs: tuple[str, ...]
    """outputEPCList (TransformationEvent)."""
    source_owner: str | None
    source_possessor: str | None
    destination_owner: str | None
    destination_possessor: str | None
    lot: str | None
    """ILMD ``lotNumber``."""
    expiry: str | None
    """ILMD ``itemExpirationDate`` (ISO date)."""
    reason: str | None
    """A decommissioning or destruction reason given as an extension field."""

    @property
    def all_epcs(self) -> tuple[str, ...]:
        """Every identifier the event names."""
        head = (self.parent,) if self.parent is not None else ()
        return head + self.direct + self.inputs + self.outputs


def _local(key: str) -> str:
    return key.rsplit("#", 1)[-1].rsplit(":", 1)[-1]


def _distinct(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


_LIST: Final = (schema.ROLE_EPC_LIST, schema.ROLE_CHILD)
_NO_PARTIES: Final[dict[tuple[int, str], str]] = {}


def facts_of(pk: int, rows: EventRows, event_id: str, captured_by: str | None) -> EventFacts:
    """The facts of the event stored as ``pk`` (see the module docstring)."""
    epcs = rows.epcs
    parent: str | None = None
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    if len(epcs) == 1 and epcs[0][0] in _LIST:  # most events: one EPC in epcList
        direct: tuple[str, ...] = (epcs[0][1],)
    else:
        listed: list[str] = []
        taken: list[str] = []
        made: list[str] = []
        for role, epc in epcs:
            if role in _LIST:
                listed.append(epc)
            elif role == schema.ROLE_PARENT:
                parent = epc
            elif role == schema.ROLE_INPUT:
                taken.append(epc)
            elif role == schema.ROLE_OUTPUT:
                made.append(epc)
        direct = _distinct(listed)
        if taken:
            inputs = _distinct(taken)
        if made:
            outputs = _distinct(made)
    parties = _NO_PARTIES
    if rows.parties:
        parties = {}
        for kind, kind_type, value in rows.parties:
            if kind_type in (_OWNING, _POSSESSING) and (kind, kind_type) not in parties:
                gln = gln_of_party(value)
                if gln is not None:
                    parties[(kind, kind_type)] = gln
    lot = expiry = reason = None
    for section, name, depth, text, _, _ in rows.fields:  # ILMD and extension fields, prefixes resolved
        if depth != 1 or text is None:
            continue
        local = _local(name)
        if section == "ilmd":
            if local == "lotNumber":
                lot = text
            elif local == "itemExpirationDate":
                expiry = text
        elif section == "" and local in REASON_FIELDS and reason is None:
            reason = text
    location = rows.biz_location
    return EventFacts(
        pk,
        rows.event_time_us,
        rows.event_type,
        rows.action,
        rows.biz_step,
        rows.disposition,
        canonical_epc(location) if location is not None else None,
        event_id,
        captured_by,
        direct,
        parent,
        inputs,
        outputs,
        parties.get((schema.PARTY_SOURCE, _OWNING)),
        parties.get((schema.PARTY_SOURCE, _POSSESSING)),
        parties.get((schema.PARTY_DESTINATION, _OWNING)),
        parties.get((schema.PARTY_DESTINATION, _POSSESSING)),
        lot,
        expiry,
        reason,
    )
