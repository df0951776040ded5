"""EPCIS 2.0 events of a packaging line, in the JSON-LD shape with CBV bare values.

What a serialisation line reports, one builder each (every event validates with
:func:`packtrail.epcis.validate_events`):

================  ================  =======================  ===============  ==================
builder           event type        action / bizStep         disposition      what it says
================  ================  =======================  ===============  ==================
commissioning     ObjectEvent       ADD ``commissioning``    ``active``       packs exist, with
                                                                              lot and expiry
packing           AggregationEvent  ADD ``packing``          ``in_progress``  packs into a case,
                                                                              cases onto a pallet
partial_case      AggregationEvent  ADD ``packing``          ``in_progress``  a case (or pallet)
                                                                              closed not full
unpacking         AggregationEvent  DELETE ``unpacking``     ``in_progress``  children out of a
                                                                              container
repacking         two events        DELETE ``unpacking``,    ``in_progress``  children moved to
                                    ADD ``repackaging``                       another container
sampling          ObjectEvent       OBSERVE ``sampling``     ``non_sellable_  packs taken for
                                                             other``          (destructive) tests
destroying        ObjectEvent       DELETE ``destroying``    ``destroyed``    packs destroyed,
                                                                              with a reason
================  ================  =======================  ===============  ==================

>>> from datetime import UTC, date, datetime
>>> place = Place.parse("4012345000009", line="L1")
>>> place.read_point, place.biz_location
('urn:epc:id:sgln:4012345.00000.L1', 'urn:epc:id:sgln:4012345.00000.0')
>>> moment = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
>>> event = commissioning(["urn:epc:id:sgtin:4012345.011111.1001"], lot="B42",
...                       expiry=date(2028, 2, 29), moment=moment, place=place)
>>> event["action"], event["bizStep"], event["disposition"], event["eventTime"]
('ADD', 'commissioning', 'active', '2026-03-02T09:30:00.000+00:00')
>>> event["ilmd"]
{'cbvmda:lotNumber': 'B42', 'cbvmda:itemExpirationDate': '2028-02-29'}
>>> case = packing("urn:epc:id:sscc:4012345.0000000001", ["urn:epc:id:sgtin:4012345.011111.1001"],
...                moment=moment, place=place)
>>> case["type"], case["action"], case["bizStep"], case["parentID"]
('AggregationEvent', 'ADD', 'packing', 'urn:epc:id:sscc:4012345.0000000001')

**The packtrail extension namespace.** Some facts have no field in EPCIS 2.0 or term in CBV 2.0;
packtrail writes them as extension fields with the prefix ``packtrail``, bound to
:data:`PACKTRAIL_NAMESPACE` (:data:`NAMESPACES` goes into a document's ``@context``; the store's
query parameters spell them ``EQ_https://ns.packtrail.dev/epcis/#destructionReason`` or, with the
prefix, ``EQ_packtrail:destructionReason``):

- ``packtrail:destructionReason`` (on ``destroying`` events): why the packs were destroyed, one code
  of :data:`DESTRUCTION_REASONS` (``damaged``, ``expired``, ``recalled``, ``quality_reject``,
  ``sample_tested``, ``label_error``, ``other``);
- ``packtrail:destructionNote`` (optional, same events): free text, e.g. the deviation number;
- ``packtrail:capacity`` (on ``partial_case`` events): how many children the container holds when
  full; its ``childEPCs`` are fewer. A later ``packing`` event with the same ``parentID`` tops it up.

>>> destroyed = destroying(["urn:epc:id:sgtin:4012345.011111.1001"], reason="damaged", moment=moment)
>>> destroyed["action"], destroyed["disposition"], destroyed["packtrail:destructionReason"]
('DELETE', 'destroyed', 'damaged')

Times: ``moment`` is a time-zone aware :class:`~datetime.datetime`; ``eventTime`` is written with
milliseconds in that zone and ``eventTimeZoneOffset`` is its offset. Builders that return several
events space them one millisecond apart, so that a replay in ``eventTime`` order keeps their order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from packtrail.epcis.document import EPCISDocument, Event
from packtrail.gs1 import GLN, SGLN, GS1Error
from packtrail.packaging.errors import PackagingError

__all__ = [
    "DESTRUCTION_REASONS",
    "NAMESPACES",
    "PACKTRAIL_NAMESPACE",
    "PACKTRAIL_PREFIX",
    "Place",
    "commissioning",
    "destroying",
    "document",
    "event_time",
    "packing",
    "partial_case",
    "repacking",
    "sampling",
    "take_samples",
    "unpacking",
]

PACKTRAIL_PREFIX: Final = "packtrail"
"""The prefix of packtrail's EPCIS extension fields."""
PACKTRAIL_NAMESPACE: Final = "https://ns.packtrail.dev/epcis/"
"""The namespace URI of packtrail's EPCIS extension fields (a name, not a web page)."""
NAMESPACES: Final[dict[str, str]] = {PACKTRAIL_PREFIX: PACKTRAIL_NAMESPACE}
"""Prefix -> namespace of every extension these builders write (for a document's ``@context``)."""

DESTRUCTION_REASONS: Final[dict[str, str]] = {
    "damaged": "physically damaged: crushed carton, broken seal or tamper evidence, leaking",
    "expired": "past its expiry date",
    "recalled": "its batch was recalled or withdrawn",
    "quality_reject": "rejected on the line by a print, vision, weight or completeness check",
    "sample_tested": "a sample consumed or spoiled by quality or regulatory testing",
    "label_error": "wrong or unreadable code or text on the pack",
    "other": "any other reason (say which in packtrail:destructionNote)",
}
"""The codes of ``packtrail:destructionReason`` and what each means."""

_STEP: Final = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Place:
    """Where a line's events happen: the ``readPoint`` (the line itself) and the ``bizLocation``
    (the site), both SGLN EPC URIs."""

    read_point: str
    """The SGLN of the line: the site's GLN with the line's name as GLN extension (AI 254)."""
    biz_location: str
    """The SGLN of the site (GLN without extension)."""

    @classmethod
    def parse(cls, site: str, *, line: str | None = None, company_prefix_length: int | None = None) -> Place:
        """The place of line ``line`` at ``site``: a GLN (13 digits) or an SGLN URI.

        An SGLN with an extension names the line itself (its extension is the line; ``line`` must then
        be None). ``company_prefix_length`` is needed for GLNs whose prefix is not in GS1's list.

        >>> Place.parse("urn:epc:id:sgln:4012345.00000.PACK7").read_point
        'urn:epc:id:sgln:4012345.00000.PACK7'
        >>> Place.parse("4012345000008")
        Traceback (most recent call last):
        ...
        packtrail.packaging.errors.PackagingError: line: AI (414): GLN check digit should be 9, found 8 \
(in '4012345000008')
        """
        try:
            if isinstance(site, str) and site.startswith(SGLN.PREFIX):
                sgln = SGLN.parse(site)
                if sgln.extension != "0" and line is not None:
                    raise PackagingError(
                        "line", f"{site} names a line already (extension {sgln.extension!r})"
                    )
            else:
                gln = GLN.parse(site).value
                sgln = SGLN.from_ai_pairs([("414", gln)], company_prefix_length)
        except GS1Error as exc:
            raise PackagingError("line", str(exc)) from None
        site_sgln = SGLN(sgln.company_prefix, sgln.location_reference)
        if line is not None:
            try:
                sgln = SGLN(sgln.company_prefix, sgln.location_reference, line)
            except GS1Error as exc:
                raise PackagingError("line", f"the line name is a GLN extension (AI 254): {exc}") from None
        return cls(sgln.uri, site_sgln.uri)

    @property
    def gln(self) -> str:
        """The 13-digit GLN of the site."""
        return SGLN.parse(self.biz_location).gln


def event_time(moment: datetime) -> dict[str, str]:
    """``eventTime`` (milliseconds, in ``moment``'s zone) and ``eventTimeZoneOffset`` of ``moment``.

    >>> from datetime import timezone
    >>> event_time(datetime(2026, 3, 2, 10, 30, 5, 123456, tzinfo=timezone(timedelta(hours=1))))
    {'eventTime': '2026-03-02T10:30:05.123+01:00', 'eventTimeZoneOffset': '+01:00'}
    """
    offset = moment.utcoffset()
    if offset is None:
        raise PackagingError("event_time", f"expected a time with a time zone, got {moment.isoformat()}")
    seconds = int(offset.total_seconds())
    if seconds % 60 or offset.microseconds:
        raise PackagingError(
            "event_time", f"EPCIS offsets are whole minutes, got {offset} in {moment.isoformat()}"
        )
    minutes = seconds // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return {
        "eventTime": moment.isoformat(timespec="milliseconds"),
        "eventTimeZoneOffset": f"{sign}{hours:02d}:{rest:02d}",
    }


def _where(event: Event, place: Place | None) -> Event:
    if place is not None:
        event["readPoint"] = {"id": place.read_point}
        event["bizLocation"] = {"id": place.biz_location}
    return event


def _epcs(values: Sequence[str], field: str) -> list[str]:
    epcs = list(values)
    if not epcs:
        raise PackagingError(field, "expected at least one identifier")
    return epcs


def commissioning(
    epcs: Sequence[str], *, lot: str, expiry: date, moment: datetime, place: Place | None = None
) -> Event:
    """Packs come into existence: ObjectEvent ADD ``commissioning``, ``active``, ILMD lot and expiry.

    ``epcs`` are the packs' SGTIN URIs; the ILMD (instance/lot master data) holds
    ``cbvmda:lotNumber`` and ``cbvmda:itemExpirationDate`` (ISO date), as DSCSA and EU FMD need."""
    return _where(
        {
            "type": "ObjectEvent",
            **event_time(moment),
            "epcList": _epcs(epcs, "epcs"),
            "action": "ADD",
            "bizStep": "commissioning",
            "disposition": "active",
            "ilmd": {"cbvmda:lotNumber": lot, "cbvmda:itemExpirationDate": expiry.isoformat()},
        },
        place,
    )


def _aggregation(
    action: str, step: str, parent: str, children: Sequence[str] | None, moment: datetime, place: Place | None
) -> Event:
    event: Event = {"type": "AggregationEvent", **event_time(moment), "parentID": parent}
    if children is not None:
        event["childEPCs"] = _epcs(children, "children")
    event.update(action=action, bizStep=step, disposition="in_progress")
    return _where(event, place)


def packing(parent: str, children: Sequence[str], *, moment: datetime, place: Place | None = None) -> Event:
    """Children into a container: AggregationEvent ADD ``packing`` with ``parentID`` the container
    (an SSCC URI for a case or pallet) and ``childEPCs`` the packs or cases."""
    return _aggregation("ADD", "packing", parent, children, moment, place)


def partial_case(
    parent: str, children: Sequence[str], *, capacity: int, moment: datetime, place: Place | None = None
) -> Event:
    """A container closed before it is full (the end of a lot, a sampled case): :func:`packing` with
    ``packtrail:capacity``, the number of children it holds when full (more than it got)."""
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity <= len(children):
        raise PackagingError(
            "capacity",
            f"a partial container holds fewer children than its capacity; got {len(children)} of {capacity!r}",
        )
    event = packing(parent, children, moment=moment, place=place)
    event[f"{PACKTRAIL_PREFIX}:capacity"] = capacity
    return event


def unpacking(
    parent: str, children: Sequence[str] | None = None, *, moment: datetime, place: Place | None = None
) -> Event:
    """Children out of a container: AggregationEvent DELETE ``unpacking``. ``children`` None takes
    every child out (EPCIS: a DELETE without ``childEPCs`` ends the whole aggregation)."""
    return _aggregation("DELETE", "unpacking", parent, children, moment, place)


def repacking(
    children: Sequence[str],
    *,
    from_parent: str,
    to_parent: str,
    moment: datetime,
    place: Place | None = None,
) -> list[Event]:
    """Children moved from one container to another: DELETE ``unpacking`` from ``from_parent``, then
    (one millisecond later) ADD ``repackaging`` into ``to_parent``."""
    if from_parent == to_parent:
        raise PackagingError("to_parent", f"repacking into the same container {to_parent}")
    return [
        unpacking(from_parent, children, moment=moment, place=place),
        _aggregation("ADD", "repackaging", to_parent, children, moment + _STEP, place),
    ]


def sampling(epcs: Sequence[str], *, moment: datetime, place: Place | None = None) -> Event:
    """Packs taken as samples: ObjectEvent OBSERVE ``sampling``, ``non_sellable_other``.

    CBV 2.0: sampling is destructive, and the next event of a sampled instance SHALL end its life
    (action DELETE), e.g. :func:`destroying` with reason ``sample_tested``; :func:`take_samples`
    builds the whole sequence."""
    return _where(
        {
            "type": "ObjectEvent",
            **event_time(moment),
            "epcList": _epcs(epcs, "epcs"),
            "action": "OBSERVE",
            "bizStep": "sampling",
            "disposition": "non_sellable_other",
        },
        place,
    )


def destroying(
    epcs: Sequence[str],
    *,
    reason: str,
    note: str | None = None,
    moment: datetime,
    place: Place | None = None,
) -> Event:
    """Packs destroyed: ObjectEvent DELETE ``destroying``, ``destroyed``, and why in
    ``packtrail:destructionReason`` (a code of :data:`DESTRUCTION_REASONS`), optionally
    ``packtrail:destructionNote``."""
    if reason not in DESTRUCTION_REASONS:
        raise PackagingError("reason", f"expected one of {', '.join(DESTRUCTION_REASONS)}, got {reason!r}")
    event = _where(
        {
            "type": "ObjectEvent",
            **event_time(moment),
            "epcList": _epcs(epcs, "epcs"),
            "action": "DELETE",
            "bizStep": "destroying",
            "disposition": "destroyed",
        },
        place,
    )
    event[f"{PACKTRAIL_PREFIX}:destructionReason"] = reason
    if note is not None:
        event[f"{PACKTRAIL_PREFIX}:destructionNote"] = note
    return event


def take_samples(
    epcs: Sequence[str],
    *,
    moment: datetime,
    place: Place | None = None,
    from_parent: str | None = None,
    destroy: bool = True,
) -> list[Event]:
    """Samples taken from the line or out of a case: ``unpacking`` from ``from_parent`` (when given),
    ``sampling``, and, unless ``destroy`` is False (the test comes later: call :func:`destroying`
    then), the end of life CBV requires: ``destroying`` with reason ``sample_tested``."""
    events: list[Event] = []
    if from_parent is not None:
        events.append(unpacking(from_parent, epcs, moment=moment, place=place))
    events.append(sampling(epcs, moment=moment + _STEP * len(events), place=place))
    if destroy:
        events.append(
            destroying(epcs, reason="sample_tested", moment=moment + _STEP * len(events), place=place)
        )
    return events


def document(events: list[Event], *, creation_date: datetime | None = None) -> EPCISDocument:
    """An EPCIS document of ``events`` whose ``@context`` declares the packtrail namespace."""
    created = (creation_date or datetime.now().astimezone()).isoformat(timespec="milliseconds")
    return EPCISDocument(creation_date=created, namespaces=dict(NAMESPACES), events=events)
