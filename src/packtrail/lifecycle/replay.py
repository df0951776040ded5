"""The lifecycle state machine: events applied in eventTime order to the identifiers they apply to.

:class:`Replayer` holds :class:`Item` s (one per identifier) and applies :class:`~packtrail.lifecycle.facts.EventFacts`
one at a time, in ``(eventTime, event_pk)`` order. The projection's definition is "what a replay of every
event in that order leaves"; the incremental projection, the recomputation after a late event, the full
rebuild and the trace all run this one class.

Inference. An event applies to the identifiers it names and, recursively, to everything inside them at
that moment (shipping a pallet ships its cases and the packs in them). An AggregationEvent ADD (or
OBSERVE) puts its childEPCs into its parentID first, then applies to all of them; a DELETE applies to the
parent and the children it takes out (all of them when it lists none), then ends their containment.
Nothing else ends it: a shipped, received or destroyed case still holds its packs.

What changes on each identifier the event applies to:

- state and reason: :func:`packtrail.lifecycle.rules.outcome` (unchanged when it says None); a child an
  unpacking takes out of its container goes from ``packed`` back to ``commissioned``. An identifier that
  is decommissioned, destroyed or dispensed keeps its state, disposition, owner and location when an
  event reaches it only through its container (it was left inside: shipping the case does not move it,
  but is flagged); an event naming it applies as captured;
- disposition: the event's, when it has one;
- owner: the destination ``owning_party``; when none is known yet, the source's, else the capturing party;
- custodian: the destination ``possessing_party``; on ``receiving`` without one, the receiving party
  (capturer, else the new owner); when none is known yet, the source ``possessing_party``, else the owner;
- location: the bizLocation; ``shipping`` without one empties it (the goods are between places);
- lot and expiry: from the ILMD of the commissioning event (ObjectEvent ADD; TransformationEvent outputs).

Exceptions (the event is kept; the identifier gets a row naming the earlier event it contradicts):
``never_commissioned`` (an SGTIN named before any commissioning), ``commissioned_again``,
``already_aggregated`` (a child put into a container while inside another one: the event that put it
there), ``shipped_decommissioned`` (shipping anything, also inside a container, that is decommissioned,
destroyed or dispensed: the event that did that), ``received_not_shipped`` (an identifier named by a
``receiving`` event that is not in transit: the event that set its state).

>>> from packtrail.lifecycle.facts import EventFacts
>>> def event(pk, step, epcs, *, kind="ObjectEvent", action="OBSERVE", parent=None):
...     return EventFacts(pk, pk * 1000, kind, action, step, None, None, f"e{pk}", None, tuple(epcs),
...                       parent, (), (), None, None, None, None, None, None, None)
>>> pack, case = "urn:epc:id:sgtin:4012345.011111.1", "urn:epc:id:sscc:4012345.0000000001"
>>> replay = Replayer()
>>> replay.apply(event(1, "commissioning", [pack], action="ADD"))
>>> replay.apply(event(2, "packing", [pack], kind="AggregationEvent", action="ADD", parent=case))
>>> replay.apply(event(3, "shipping", [case]))
>>> replay.items[pack].state, replay.items[pack].parent
('in_transit', 'urn:epc:id:sscc:4012345.0000000001')
>>> replay.apply(event(4, "receiving", [case]))
>>> replay.apply(event(5, "receiving", [case]))
>>> replay.exceptions
[('urn:epc:id:sscc:4012345.0000000001', 5, 'received_not_shipped', 4)]
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from packtrail.gs1 import GS1Error, gtin_serial_from_sgtin
from packtrail.lifecycle import rules
from packtrail.lifecycle.facts import EventFacts

__all__ = ["Deferred", "ExceptionRow", "Item", "Replayer", "Step"]

_SGTIN: Final = "urn:epc:id:sgtin:"
_MAX_DEPTH: Final = 64
"""Deepest containment followed (guards against a cycle in inconsistent data)."""


@dataclass(slots=True)
class Item:
    """One identifier's current position; fields in ``lifecycle_items`` column order."""

    epc: str
    gtin: str | None = None
    """GTIN-14 of an SGTIN; None for other identifiers."""
    lot: str | None = None
    expiry: str | None = None
    commissioned_pk: int | None = None
    """The event that commissioned it (None: never commissioned)."""
    state: str | None = None
    reason: str | None = None
    """Why it was decommissioned or destroyed."""
    state_pk: int | None = None
    """The event that set ``state``."""
    disposition: str | None = None
    owner: str | None = None
    custodian: str | None = None
    location: str | None = None
    parent: str | None = None
    parent_pk: int | None = None
    """The event that put it into ``parent``."""
    last_time_us: int = 0
    """eventTime of the last event that applied to it or, for a container, to something directly inside
    it (named by the event), or that took something out of it into another container. So a container's
    last event is never earlier than that of anything it holds: an event reaching it is late for what
    is inside it exactly when it is late for the container itself."""
    last_pk: int = 0
    """event_pk of that event."""
    container: bool = False
    """True once anything was put inside it (its contents are read with it)."""

    def row(self) -> tuple[Any, ...]:
        """The ``lifecycle_items`` row."""
        return _ROW(self)

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Item:
        """An item from its ``lifecycle_items`` row (SQLite reads ``container`` back as 0 or 1)."""
        values = list(row)
        values[-1] = bool(values[-1])
        return cls(*values)

    @classmethod
    def new(cls, epc: str) -> Item:
        """A fresh item (its GTIN read from an SGTIN)."""
        gtin = None
        if epc.startswith(_SGTIN):
            try:
                gtin = gtin_serial_from_sgtin(epc)[0]
            except GS1Error:
                gtin = None
        return cls(epc, gtin)


_ROW: Final = operator.attrgetter(*(field.name for field in dataclasses.fields(Item)))
"""An item's fields as one tuple, in ``lifecycle_items`` column order (one C call per row)."""

ExceptionRow = tuple[str, int, str, int | None]
"""``(epc, event_pk, reason, conflicting_pk)``: one ``lifecycle_exceptions`` row."""

Deferred = tuple[EventFacts, tuple[str, str | None] | None]
"""An event that reached a container whose stored leaves are not in memory, with the ``(state,
reason)`` it puts what it reaches in (:attr:`Replayer.deferred`)."""


PATHS: Final[dict[str, int]] = {"caught up": 0, "read first": 0}
"""How often this process took each of the replay's rare paths: ``caught up`` (a stored leaf read
after events were noted for its container, :meth:`Replayer._catch_up`), ``read first`` (a container's
leaves read because an event needed every one, :meth:`Replayer._materialize`). Tests read it to see
that a path ran (compiled, the methods cannot be wrapped from outside)."""


def _no_leaves(container: str) -> dict[str, Item]:
    return {}


class Step(NamedTuple):
    """An event that applied to the watched identifier, as the trace reports it."""

    facts: EventFacts
    via: str | None
    """The container the event named, through which it applied; None when it named the identifier."""
    item: Item
    """The identifier right after the event."""
    chain: tuple[str, ...]
    """Its containers right after the event, innermost first."""


class Replayer:
    """Applies events in order (see the module docstring).

    ``items``: the identifiers' positions to start from (taken over, not copied; :meth:`add` takes
    more). ``track``: only these identifiers are created and changed (a replay restricted to a closed
    set); None: all. ``watch``: record a :class:`Step` for every event that applies to this identifier.
    :attr:`late` collects the events that applied to an identifier whose last event was later than them.
    """

    def __init__(
        self,
        items: dict[str, Item] | None = None,
        *,
        track: Collection[str] | None = None,
        watch: str | None = None,
    ) -> None:
        self.items: dict[str, Item] = {}
        self.children: dict[str, set[str]] = {}
        if items:
            self.add(items)
        self.track = None if track is None else frozenset(track)
        self.watch = watch
        self.steps: list[Step] = []
        self.exceptions: list[ExceptionRow] = []
        self.touched: set[str] = set()
        """Identifiers created or changed."""
        self.late: list[EventFacts] = []
        """Events that arrived after a later event of an identifier they apply to (see the class doc)."""
        self.bumps: dict[str, tuple[int, int]] = {}
        """``(eventTime, event_pk)`` of the last event that took something out of a container that is
        not in memory (it changed what the container holds: its last event, for late events)."""
        self.unloaded: set[str] = set()
        """Containers whose stored *leaves* (children holding nothing) may not all be in memory. An
        event reaching such a container through :meth:`_closure` is noted in :attr:`deferred` for
        them, not applied to them: the owner of the replay applies it in the database
        (:mod:`packtrail.lifecycle.leaves`). A leaf read later has the noted events applied as it
        comes in (:meth:`add`); an event that needs every leaf (an unpacking of everything) reads them
        first with :attr:`load_leaves`. Empty unless the owner fills it: then nothing is deferred."""
        self.deferred: dict[str, list[Deferred]] = {}
        """Per container of :attr:`unloaded`: the events that reached its stored leaves, in order."""
        self.load_leaves: Callable[[str], dict[str, Item]] = _no_leaves
        """Reads a container's stored leaves that are not in memory."""

    def add(self, items: dict[str, Item]) -> None:
        """Take over more items (read from the database: none of them known here yet). A stored leaf
        of a container with :attr:`deferred` events gets them now."""
        self.items.update(items)
        bumps, deferred = self.bumps, self.deferred
        for item in items.values():
            if item.parent is not None:
                self.children.setdefault(item.parent, set()).add(item.epc)
                if deferred:
                    noted = deferred.get(item.parent)
                    if noted:
                        self._catch_up(item, noted)
            if bumps:
                bump = bumps.pop(item.epc, None)
                if bump is not None and (item.last_time_us, item.last_pk) < bump:
                    item.last_time_us, item.last_pk = bump
                    self.touched.add(item.epc)

    def _catch_up(self, item: Item, noted: Sequence[Deferred]) -> None:
        """Apply to a stored leaf just read the events noted for its container meanwhile (as
        :meth:`apply` would have: lateness, the shipping check, the inferred update)."""
        PATHS["caught up"] += 1
        for facts, result in noted:
            self._is_late((item.epc,), facts)
            if facts.biz_step == "shipping" and item.state in rules.TERMINAL_STATES:
                self._flag(item.epc, facts, "shipped_decommissioned", item.state_pk)
            self._update_reached({item.epc: item.parent or ""}, facts, result)  # through its container

    def _materialize(self, container: str) -> None:
        """Read the stored leaves of ``container`` into memory, with the events noted for them."""
        PATHS["read first"] += 1
        noted = self.deferred.pop(container, [])
        self.unloaded.discard(container)
        leaves = self.load_leaves(container)
        self.add(leaves)
        for item in leaves.values():
            self._catch_up(item, noted)

    def forget(self, epcs: Collection[str]) -> None:
        """Drop these identifiers (a union of containment components: nothing else holds them or is
        held by them) with their exceptions."""
        for epc in epcs:
            self.items.pop(epc, None)
            self.children.pop(epc, None)
            self.bumps.pop(epc, None)
            self.deferred.pop(epc, None)
            self.unloaded.discard(epc)
        self.touched.difference_update(epcs)
        self.exceptions = [row for row in self.exceptions if row[0] not in epcs]

    # -- identifiers and containment ------------------------------------------------------------------

    def _item(self, epc: str) -> Item | None:
        item = self.items.get(epc)
        if item is None and (self.track is None or epc in self.track):
            item = self.items[epc] = Item.new(epc)
        return item

    def _set_parent(self, item: Item, parent: str | None, pk: int | None) -> None:
        if item.parent == parent:
            return
        if item.parent is not None:
            siblings = self.children.get(item.parent)
            if siblings is not None:
                siblings.discard(item.epc)
                if not siblings:
                    del self.children[item.parent]
        item.parent = parent
        item.parent_pk = pk
        if parent is not None:
            self.children.setdefault(parent, set()).add(item.epc)
            holder = self.items.get(parent)
            if holder is not None and not holder.container:
                holder.container = True
                self.touched.add(parent)

    def chain(self, epc: str) -> tuple[str, ...]:
        """The containers of ``epc``, innermost first."""
        found: list[str] = []
        item = self.items.get(epc)
        while item is not None and item.parent is not None and len(found) < _MAX_DEPTH:
            if item.parent in found or item.parent == epc:
                break
            found.append(item.parent)
            item = self.items.get(item.parent)
        return tuple(found)

    def _closure(self, roots: Sequence[str]) -> dict[str, str | None]:
        """The roots that are identifiers here and everything inside them -> the root it is inside
        (None for a root), in breadth-first order.

        Siblings come in their set's order, unsorted: what is reached, and through which root, is the
        same in any order (an identifier has one container), and so is every item's new state; only the
        order in which exceptions are found is not, and they are rows of a keyed table. (Sorting them
        took a tenth of the pharma flow's projection: apply 1.54 s against 1.39.)"""
        children = self.children
        if len(roots) == 1 and not children.get(roots[0]):  # one identifier, holding nothing: most events
            return {roots[0]: None} if self._item(roots[0]) is not None else {}
        reached: dict[str, str | None] = {}
        items = self.items
        for root in roots:
            if root not in reached and (root in items or self._item(root) is not None):
                reached[root] = None
        queue = list(reached)
        for node in queue:  # grows while it is walked: breadth first
            inside = children.get(node)
            if inside:
                via = reached[node] or node
                for child in inside:
                    if child not in reached:
                        reached[child] = via
                        queue.append(child)
        return reached

    # -- applying -------------------------------------------------------------------------------------

    def _bump(self, epc: str, facts: EventFacts) -> None:
        """Container ``epc`` changed (a child left it for another) or something directly inside it was
        named by an event: its last event is this one, if later (an earlier event on it arriving later
        must then be recomputed, not applied)."""
        key = (facts.time_us, facts.pk)
        item = self.items.get(epc)
        if item is not None:
            if (item.last_time_us, item.last_pk) < key:
                item.last_time_us, item.last_pk = key
                self.touched.add(epc)
        elif (self.track is None or epc in self.track) and self.bumps.get(epc, (0, 0)) < key:
            self.bumps[epc] = key

    def _flag(self, epc: str, facts: EventFacts, reason: str, conflicting: int | None) -> None:
        self.exceptions.append((epc, facts.pk, reason, conflicting))

    def _check_commissioned(self, epcs: Iterable[str], facts: EventFacts) -> None:
        for epc in epcs:
            item = self.items.get(epc)
            if item is not None and item.commissioned_pk is None and epc.startswith(_SGTIN):
                self._flag(epc, facts, "never_commissioned", None)

    def _is_late(self, targets: Iterable[str], facts: EventFacts) -> None:
        if self.late and self.late[-1] is facts:
            return
        time_us, pk = facts.time_us, facts.pk
        items = self.items
        for epc in targets:  # (last_time_us, last_pk) > (time_us, pk), without a tuple per item
            item = items[epc]
            last = item.last_time_us
            if last > time_us or (last == time_us and item.last_pk > pk):
                self.late.append(facts)
                return

    def _update_reached(
        self, reached: dict[str, str | None], facts: EventFacts, result: tuple[str, str | None] | None
    ) -> None:
        """Apply the event's state, disposition, owner, custodian and location to every identifier
        ``reached`` (those reached through a container: not a destroyed or dispensed one).

        The event's values are read once: a pallet's shipping reaches every case and pack inside it, so
        the loop runs about ten times per event of a pharma flow."""
        items, terminal = self.items, rules.TERMINAL_STATES
        time_us, pk, disposition, location = facts.time_us, facts.pk, facts.disposition, facts.biz_location
        owner, possessor = facts.destination_owner, facts.destination_possessor
        first_owner = facts.source_owner or facts.captured_by
        receiving, shipping = facts.biz_step == "receiving", facts.biz_step == "shipping"
        receiver = facts.captured_by or facts.destination_owner
        for epc, via in reached.items():
            item = items[epc]
            item.last_time_us = time_us
            item.last_pk = pk
            if via is not None and item.state in terminal:
                continue  # a destroyed or dispensed pack left in its case does not travel with it
            if result is not None:
                item.state, item.reason = result
                item.state_pk = pk
            if disposition is not None:
                item.disposition = disposition
            if owner is not None:
                item.owner = owner
            elif item.owner is None:
                item.owner = first_owner
            if possessor is not None:
                item.custodian = possessor
            elif receiving:
                item.custodian = receiver or item.owner
            elif item.custodian is None:
                item.custodian = facts.source_possessor or item.owner
            if location is not None:
                item.location = location
            elif shipping:
                item.location = None
        self.touched.update(reached)

    def _commission(self, epc: str, facts: EventFacts) -> None:
        item = self.items[epc]
        if item.commissioned_pk is not None:
            self._flag(epc, facts, "commissioned_again", item.commissioned_pk)
        item.commissioned_pk = facts.pk
        if facts.lot is not None:
            item.lot = facts.lot
        if facts.expiry is not None:
            item.expiry = facts.expiry

    def apply(self, facts: EventFacts) -> None:
        """Apply one event (the caller keeps ``(time_us, pk)`` order)."""
        result = rules.outcome(
            facts.event_type, facts.action, facts.biz_step, facts.disposition, facts.reason
        )
        if facts.event_type == "AggregationEvent":
            reached = self._aggregation(facts)
        elif facts.event_type == "TransformationEvent":
            reached = self._transformation(facts)
        else:
            roots = facts.direct if facts.parent is None else (facts.parent, *facts.direct)
            if facts.event_type == "ObjectEvent" and facts.action == "ADD":
                reached = {epc: None for epc in roots if self._item(epc) is not None}
                self._is_late(reached, facts)
                for epc in reached:
                    self._commission(epc, facts)
            else:
                reached = self._closure(roots)
                self._is_late(reached, facts)
                self._check_commissioned(facts.direct, facts)
                self._check_movement(reached, facts)
        if facts.event_type != "TransformationEvent":
            self._update_reached(reached, facts, result)
            if self.unloaded and not (facts.event_type == "ObjectEvent" and facts.action == "ADD"):
                self._defer(reached, facts, result)
        self._bump_holders(reached, facts)
        self._record(reached, facts)

    def _bump_holders(self, reached: dict[str, str | None], facts: EventFacts) -> None:
        """The container of an identifier the event named (and did not reach itself) gets the event as
        its last one (see :attr:`Item.last_time_us`)."""
        items = self.items
        for epc, via in reached.items():
            if via is None:
                parent = items[epc].parent
                if parent is not None and parent not in reached:
                    self._bump(parent, facts)

    def _defer(
        self, reached: Iterable[str], facts: EventFacts, result: tuple[str, str | None] | None
    ) -> None:
        """Note the event for the stored leaves of the containers of :attr:`unloaded` it reached."""
        unloaded = self.unloaded
        for epc in reached:
            if epc in unloaded:
                self.deferred.setdefault(epc, []).append((facts, result))

    def _check_movement(self, reached: dict[str, str | None], facts: EventFacts) -> None:
        if facts.biz_step == "shipping":
            for epc in reached:
                item = self.items[epc]
                if item.state in rules.TERMINAL_STATES:
                    self._flag(epc, facts, "shipped_decommissioned", item.state_pk)
        elif facts.biz_step == "receiving":
            for epc, via in reached.items():
                item = self.items[epc]
                if via is None and item.state != rules.IN_TRANSIT:
                    self._flag(epc, facts, "received_not_shipped", item.state_pk)

    def _aggregation(self, facts: EventFacts) -> dict[str, str | None]:
        parent = facts.parent
        container = self._item(parent) if parent is not None else None
        if facts.action == "DELETE":
            if facts.direct:
                leaving = [epc for epc in facts.direct if self._item(epc) is not None]
            elif parent is not None:
                if parent in self.unloaded:
                    self._materialize(parent)  # every one of them leaves: each is needed here
                leaving = sorted(self.children.get(parent, ()))
            else:
                leaving = []
            reached = self._closure(([container.epc] if container is not None else []) + leaving)
            self._is_late(reached, facts)
            self._check_commissioned(facts.direct, facts)
            self._check_movement(reached, facts)
            for epc in leaving:
                item = self.items[epc]
                if item.parent == parent:
                    self._set_parent(item, None, None)
                    if item.state == rules.PACKED:
                        item.state, item.reason, item.state_pk = rules.COMMISSIONED, None, facts.pk
            return reached
        joining = [epc for epc in facts.direct if self._item(epc) is not None]
        # lateness is judged before the children move too: what was inside them then
        self._is_late(self._closure(joining), facts)
        self._check_commissioned(facts.direct, facts)
        for epc in joining:
            item = self.items[epc]
            if container is not None and item.parent is not None and item.parent != parent:
                self._flag(epc, facts, "already_aggregated", item.parent_pk)
                self._bump(item.parent, facts)
        if container is not None:
            for epc in joining:
                if epc != parent:
                    self._set_parent(self.items[epc], parent, facts.pk)
        reached = self._closure(([container.epc] if container is not None else []) + joining)
        self._is_late(reached, facts)
        self._check_movement(reached, facts)
        return reached

    def _transformation(self, facts: EventFacts) -> dict[str, str | None]:
        consumed = self._closure(facts.inputs)
        made = {epc: None for epc in facts.outputs if self._item(epc) is not None}
        self._is_late({**consumed, **made}, facts)
        self._check_commissioned(facts.inputs, facts)
        result = (rules.DECOMMISSIONED, facts.reason or "transformed")
        self._update_reached(consumed, facts, result)
        if self.unloaded:
            self._defer(consumed, facts, result)
        for epc in made:
            self._commission(epc, facts)
            self._update_reached({epc: None}, facts, (rules.COMMISSIONED, None))
        return {**consumed, **made}

    def _record(self, reached: dict[str, str | None], facts: EventFacts) -> None:
        watch = self.watch
        if watch is not None and watch in reached:
            item = self.items[watch]
            self.steps.append(Step(facts, reached[watch], dataclasses.replace(item), self.chain(watch)))
