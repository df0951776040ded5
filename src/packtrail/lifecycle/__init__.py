"""Each pack's life, projected from the EPCIS events: state, owner, location, parent container; the
chain-of-custody trace and the recall reach.

>>> import json, tempfile
>>> from packtrail.store import open_store, Viewer
>>> from packtrail.lifecycle import attach, recall, trace
>>> store = open_store(f"sqlite:///{tempfile.mkdtemp()}/events.db")
>>> _ = attach(store)
>>> def event(time, **fields):
...     return {"type": "ObjectEvent", "eventTime": time, "eventTimeZoneOffset": "+00:00", **fields}
>>> pack = "urn:epc:id:sgtin:4012345.011111.1001"
>>> commission = event("2026-03-02T09:30:00Z", epcList=[pack], action="ADD", bizStep="commissioning",
...     disposition="active", ilmd={"cbvmda:lotNumber": "B42", "cbvmda:itemExpirationDate": "2028-02-29"})
>>> ship = event("2026-03-03T08:00:00Z", epcList=[pack], action="OBSERVE", bizStep="shipping",
...     disposition="in_transit", destinationList=[{"type": "owning_party",
...     "destination": "urn:epc:id:pgln:0614141.00000"}])
>>> for e in (commission, ship):
...     _ = store.capture(json.dumps(e))
>>> history = trace(store, "(01)04012345111118(21)1001", Viewer.admin())
>>> history.current.state, history.current.owner, [e.biz_step for e in history.events]
('in_transit', '0614141000005', ['commissioning', 'shipping'])
>>> recall(store, "04012345111118", "B42", Viewer.admin()).as_json()["byState"]
[{'state': 'in_transit', 'packs': 1}]
>>> store.close()

Modules: :mod:`~packtrail.lifecycle.rules` (states and the CBV policy tables),
:mod:`~packtrail.lifecycle.facts` (what is read from an event), :mod:`~packtrail.lifecycle.replay` (the
state machine: inference through containers, exceptions), :mod:`~packtrail.lifecycle.projector` (kept
in the capture transaction; late events; catch-up; rebuild), :mod:`~packtrail.lifecycle.db` (its SQL),
:mod:`~packtrail.lifecycle.tables`, :mod:`~packtrail.lifecycle.identifiers` (any identifier form ->
EPC URN), :mod:`~packtrail.lifecycle.trace`, :mod:`~packtrail.lifecycle.recall` and
:mod:`~packtrail.lifecycle.cli` (``packtrail trace`` / ``packtrail recall``).
"""

from __future__ import annotations

from packtrail.lifecycle.errors import IdentifierError, LifecycleError, NotFoundError
from packtrail.lifecycle.identifiers import parse_identifier
from packtrail.lifecycle.projector import LifecycleProjector, attach, catch_up, rebuild
from packtrail.lifecycle.recall import RecallReach, recall
from packtrail.lifecycle.rules import EXCEPTION_REASONS, STATES
from packtrail.lifecycle.trace import Trace, trace

__all__ = [
    "EXCEPTION_REASONS",
    "STATES",
    "IdentifierError",
    "LifecycleError",
    "LifecycleProjector",
    "NotFoundError",
    "RecallReach",
    "Trace",
    "attach",
    "catch_up",
    "parse_identifier",
    "rebuild",
    "recall",
    "trace",
]
