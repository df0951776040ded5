"""Recall reach: for a GTIN and lot, where every pack is now — counts by state, owner and location, and
the list of packs with their position.

It reads the projection (``lifecycle_items``, index ``(gtin, lot)``): the lot is the ILMD
``lotNumber`` of each pack's commissioning event, so a pack whose commissioning was never captured is
not reached.

Who sees what: the local administrator sees every pack. A party sees the packs it owns or holds now,
and those whose last event it may see (its present position is then something the party itself was
told); the others are left out of the counts and the list.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from packtrail.gs1 import GS1Error, normalize_gtin
from packtrail.lifecycle.db import Db
from packtrail.lifecycle.errors import IdentifierError
from packtrail.lifecycle.projector import catch_up
from packtrail.lifecycle.trace import iso_time

if TYPE_CHECKING:
    from packtrail.store import Store, Viewer

__all__ = ["PACK_COLUMNS", "RecallPack", "RecallReach", "recall"]

PACK_COLUMNS: Final = (
    "identifier",
    "state",
    "reason",
    "disposition",
    "owner",
    "custodian",
    "location",
    "container",
    "expiry",
    "lastEventTime",
)
"""The fields of each pack in the list (and the columns of ``packtrail recall --csv``)."""


class RecallPack(NamedTuple):
    """One pack of the lot and where it is."""

    epc: str
    state: str | None
    reason: str | None
    disposition: str | None
    owner: str | None
    custodian: str | None
    location: str | None
    container: str | None
    """Its parent container (case or pallet), if any."""
    expiry: str | None
    last_time_us: int
    """eventTime of the last event that applied to it."""

    def as_json(self) -> dict[str, Any]:
        """The pack as a JSON object with :data:`PACK_COLUMNS` as keys."""
        return dict(zip(PACK_COLUMNS, (*self[:9], iso_time(self.last_time_us)), strict=True))


def _counts(counter: Counter[str | None], name: str) -> list[dict[str, Any]]:
    ordered = sorted(counter.items(), key=lambda pair: (-pair[1], pair[0] or ""))
    return [{name: value, "packs": count} for value, count in ordered]


@dataclass(slots=True)
class RecallReach:
    """Where the packs of one lot are (see the module docstring)."""

    gtin: str
    lot: str
    packs: list[RecallPack] = field(default_factory=list)

    @property
    def by_state(self) -> Counter[str | None]:
        return Counter(p.state for p in self.packs)

    @property
    def by_owner(self) -> Counter[str | None]:
        return Counter(p.owner for p in self.packs)

    @property
    def by_location(self) -> Counter[str | None]:
        return Counter(p.location for p in self.packs)

    def as_json(self, *, limit: int | None = None) -> dict[str, Any]:
        """Counts and (the first ``limit`` of) the packs as one JSON object."""
        listed = self.packs if limit is None else self.packs[:limit]
        times: dict[int, str | None] = {}  # packs of one case share their times: format each once
        rows = []
        for pack in listed:
            when = times.get(pack.last_time_us)
            if when is None:
                when = times[pack.last_time_us] = iso_time(pack.last_time_us)
            rows.append(dict(zip(PACK_COLUMNS, (*pack[:9], when), strict=True)))
        return {
            "gtin": self.gtin,
            "lot": self.lot,
            "packs": len(self.packs),
            "byState": _counts(self.by_state, "state"),
            "byOwner": _counts(self.by_owner, "owner"),
            "byLocation": _counts(self.by_location, "location"),
            "list": rows,
        }


def recall(store: Store, gtin: str, lot: str, viewer: Viewer) -> RecallReach:
    """Where every pack of ``gtin`` (8–14 digits) and ``lot`` is, as ``viewer`` may see it."""
    try:
        gtin14 = normalize_gtin(gtin.strip() if isinstance(gtin, str) else gtin)
    except GS1Error as error:
        raise IdentifierError("gtin", str(error)) from None
    if not isinstance(lot, str) or not lot or len(lot) > 20:
        raise IdentifierError("lot", f"expected a lot number of 1 to 20 characters, got {lot!r}")
    sql = (
        "SELECT epc, state, reason, disposition, owner, custodian, location, parent, expiry, last_time_us"
        " FROM lifecycle_items i WHERE gtin = ? AND lot = ?"
    )
    params: list[Any] = [gtin14, lot]
    if not viewer.is_admin:
        sql += (
            " AND (owner = ? OR custodian = ? OR EXISTS (SELECT 1 FROM event_visibility v"
            " WHERE v.party = ? AND v.event_pk = i.last_pk))"
        )
        params += [viewer.party] * 3
    with store.engine.connect() as connection:
        db = Db(connection)
        if db.behind():
            connection.rollback()
            catch_up(store)
        rows = db.fetch(sql, params)
        connection.rollback()
    rows.sort()  # by identifier (unique), here rather than in a database sort spilling to disk
    return RecallReach(gtin14, lot, list(map(RecallPack._make, rows)))
