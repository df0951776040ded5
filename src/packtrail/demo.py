"""The second half of ``packtrail demo``: one lot's life from the packaging line to a pharmacy.

A packaging line makes 100 packs of one lot into cases of 10 and pallets of 5 cases, capturing the
commissioning and packing events into an embedded SQLite store with the lifecycle projection attached.
Then the supply chain moves one pallet, each step captured as the party doing it:

1. the manufacturer ships pallet 1 to a wholesaler (``owning_party`` source and destination);
2. the wholesaler receives it, unpacks it and ships its first case to a pharmacy;
3. the pharmacy receives the case and dispenses one pack.

The demo then prints that pack's chain of custody (:func:`packtrail.lifecycle.trace`: every event,
also those that reached it through its case and pallet, and its owners with dates) and the lot's recall
reach (:func:`packtrail.lifecycle.recall`: where each of the 100 packs is now).

>>> import tempfile
>>> story = pack_life(tempfile.mkdtemp())
>>> story.trace.current.state, story.reach.as_json(limit=0)["packs"]
('dispensed', 100)
>>> story.store.close()
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from packtrail.lifecycle import RecallReach, Trace, attach, recall, trace
from packtrail.packaging.line import LineRun, PackagingLine
from packtrail.store import Store, Viewer, open_store

__all__ = ["DEMO_GTIN", "DEMO_LOT", "MAKER", "PHARMACY", "WHOLESALER", "PackLife", "pack_life"]

DEMO_GTIN = "04012345111118"
DEMO_LOT = "DEMO42"
MAKER = ("4012345000009", "urn:epc:id:pgln:4012345.00000", "urn:epc:id:sgln:4012345.00000.0")
"""The manufacturer: GLN, party URI, site SGLN."""
WHOLESALER = ("0614141000005", "urn:epc:id:pgln:0614141.00000", "urn:epc:id:sgln:0614141.00000.0")
PHARMACY = ("0950000000015", "urn:epc:id:pgln:0950000.00001", "urn:epc:id:sgln:0950000.00001.0")


@dataclass
class PackLife:
    """What the demo made: the store (open; the caller closes it), the line run, and the answers."""

    store: Store
    run: LineRun
    pack: str
    """The SGTIN of the dispensed pack."""
    trace: Trace
    reach: RecallReach


def _event(moment: datetime, **fields: Any) -> dict[str, Any]:
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {"type": "ObjectEvent", "eventTime": stamp, "eventTimeZoneOffset": "+00:00", **fields}


def _move(
    moment: datetime, epcs: list[str], step: str, disposition: str, place: str | None, **fields: Any
) -> dict[str, Any]:
    where = {"readPoint": {"id": place}, "bizLocation": {"id": place}} if place else {}
    return _event(
        moment, epcList=epcs, action="OBSERVE", bizStep=step, disposition=disposition, **where, **fields
    )


def _handover(source: tuple[str, str, str], destination: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "sourceList": [{"type": "owning_party", "source": source[1]}],
        "destinationList": [{"type": "owning_party", "destination": destination[1]}],
    }


def pack_life(folder: str | Path) -> PackLife:
    """Run the story of the module docstring in a store under ``folder``."""
    store = open_store(f"sqlite:///{Path(folder) / 'demo.db'}")
    try:
        attach(store)
        start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        with PackagingLine(
            store,
            DEMO_GTIN,
            DEMO_LOT,
            "281231",
            case_size=10,
            cases_per_pallet=5,
            start=start,
            party=MAKER[0],
        ) as line:
            run = line.run(100)
        uris = run.sscc_allocation.uris()  # the cases' SSCCs, then the pallets', as EPC URNs
        case, pallet = uris[0], uris[run.cases]
        pack = f"urn:epc:id:sgtin:4012345.011111.{run.case_serials(0)[0]}"
        day = timedelta(days=1)
        shipped = _move(start + day, [pallet], "shipping", "in_transit", None, **_handover(MAKER, WHOLESALER))
        received = _move(start + 2 * day, [pallet], "receiving", "in_progress", WHOLESALER[2])
        unpacked = {
            **_event(start + 2 * day + timedelta(hours=1), parentID=pallet, action="DELETE"),
            "type": "AggregationEvent",
            "bizStep": "unpacking",
            "bizLocation": {"id": WHOLESALER[2]},
        }
        to_pharmacy = _move(
            start + 3 * day, [case], "shipping", "in_transit", None, **_handover(WHOLESALER, PHARMACY)
        )
        at_pharmacy = _move(start + 4 * day, [case], "receiving", "in_progress", PHARMACY[2])
        dispensed = _move(start + 5 * day, [pack], "dispensing", "dispensed", PHARMACY[2])
        for party, events in (
            (MAKER[0], [shipped]),
            (WHOLESALER[0], [received, unpacked, to_pharmacy]),
            (PHARMACY[0], [at_pharmacy, dispensed]),
        ):
            for event in events:
                result = store.capture(json.dumps(event), party=party)
                if not result.success:  # pragma: no cover - the demo's own events are valid
                    raise RuntimeError(f"the demo's event was refused: {result.errors}")
        history = trace(store, pack, Viewer.admin())
        reach = recall(store, DEMO_GTIN, DEMO_LOT, Viewer.admin())
    except BaseException:
        store.close()
        raise
    return PackLife(store, run, pack, history, reach)
