"""The EPCIS repository: capture EPCIS documents into SQLite or PostgreSQL, query them with the full
SimpleEventQuery, share them between trading parties.

>>> from packtrail.store import open_store, Viewer
>>> import tempfile
>>> store = open_store(f"sqlite:///{tempfile.mkdtemp()}/events.db")
>>> result = store.capture(b'{"type": "ObjectEvent", "eventTime": "2024-03-01T10:00:00Z", '
...     b'"eventTimeZoneOffset": "+00:00", "action": "OBSERVE", "bizStep": "shipping", '
...     b'"eventID": "urn:uuid:4f7a1b2c-0d3e-4f5a-8b6c-7d8e9f0a1b2c", '
...     b'"epcList": ["urn:epc:id:sgtin:4012345.011111.1001"]}', party="4012345000009")
>>> result.captured, result.success
(1, True)
>>> store.get_event("urn:uuid:4f7a1b2c-0d3e-4f5a-8b6c-7d8e9f0a1b2c", Viewer("4012345000009"))["bizStep"]
'shipping'
>>> store.get_event("urn:uuid:4f7a1b2c-0d3e-4f5a-8b6c-7d8e9f0a1b2c", Viewer("0614141000005")) is None
True
>>> store.close()

Modules: :mod:`~packtrail.store.store` (the :class:`Store` facade), :mod:`~packtrail.store.capture`
(the capture pipeline), :mod:`~packtrail.store.schema` (the tables), :mod:`~packtrail.store.engine`
(URLs, engines, migrations), :mod:`~packtrail.store.partitions` (PostgreSQL monthly partitions),
:mod:`~packtrail.store.index_rows` and :mod:`~packtrail.store.identifiers` (what is indexed, in which
form), :mod:`~packtrail.store.parties` (parties, API keys, visibility), :mod:`~packtrail.store.master_data`
(vocabularies, location hierarchy), :mod:`~packtrail.store.query_params`,
:mod:`~packtrail.store.query_sql` and :mod:`~packtrail.store.query_engine` (SimpleEventQuery),
:mod:`~packtrail.store.relay` and :mod:`~packtrail.store.subscriptions` (outbox relay, subscriptions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from packtrail.store.capture import CaptureJob, CaptureLimits, CaptureProblem, CaptureResult
from packtrail.store.errors import (
    CaptureFormatError,
    CaptureLimitError,
    DuplicateNameError,
    ImplementationError,
    NoSuchNameError,
    NoSuchSubscriptionError,
    QueryParameterError,
    QueryTooLargeError,
    StoreError,
    SubscriptionControlsError,
)
from packtrail.store.parties import Party, Viewer
from packtrail.store.store import NamedQuery, Store, open_store

if TYPE_CHECKING:
    from packtrail.store.query_engine import EventPage
    from packtrail.store.query_params import EventQuery, parse_query_params

__all__ = [
    "CaptureFormatError",
    "CaptureJob",
    "CaptureLimitError",
    "CaptureLimits",
    "CaptureProblem",
    "CaptureResult",
    "DuplicateNameError",
    "EventPage",
    "EventQuery",
    "ImplementationError",
    "NamedQuery",
    "NoSuchNameError",
    "NoSuchSubscriptionError",
    "Party",
    "QueryParameterError",
    "QueryTooLargeError",
    "Store",
    "StoreError",
    "SubscriptionControlsError",
    "Viewer",
    "open_store",
    "parse_query_params",
]

_LAZY = {
    "EventQuery": "packtrail.store.query_params",
    "parse_query_params": "packtrail.store.query_params",
    "EventPage": "packtrail.store.query_engine",
}


def __getattr__(name: str) -> Any:
    """The query names, imported when first asked for (the query modules import this package's parts)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'packtrail.store' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
