"""EPCIS 2.0 and 1.2 documents: events in one shape, codecs, CBV vocabularies.

Every codec reads into and writes from :class:`EPCISDocument`, whose events are
plain dicts in the EPCIS 2.0 JSON-LD shape:

>>> from packtrail.epcis import read_jsonld, normalise_event
>>> doc = read_jsonld('''{"type": "EPCISDocument", "schemaVersion": "2.0",
...   "epcisBody": {"eventList": [{"type": "ObjectEvent", "action": "OBSERVE",
...     "bizStep": "urn:epcglobal:cbv:bizstep:shipping"}]}}''')
>>> [normalise_event(e, cbv="bare")["bizStep"] for e in doc.iter_events()]
['shipping']

Modules: :mod:`~packtrail.epcis.document` (the document and event shape),
:mod:`~packtrail.epcis.vocabulary` (CBV values and identifier forms),
:mod:`~packtrail.epcis.jsonld` (JSON-LD read, write, stream) and
:mod:`~packtrail.epcis.errors` (:class:`EPCISError`, the one error type).
"""

from __future__ import annotations

from packtrail.epcis.document import EVENT_TYPES, EPCISDocument, Event, event_type
from packtrail.epcis.errors import EPCISError
from packtrail.epcis.jsonld import (
    JSONLDEventReader,
    iter_jsonld_events,
    read_jsonld,
    write_jsonld,
    write_jsonld_stream,
)
from packtrail.epcis.vocabulary import (
    VOCABULARIES,
    is_known,
    normalise_event,
    to_bare,
    to_digital_link,
    to_epc_urn,
    to_urn,
    to_web_uri,
)

__all__ = [
    "EVENT_TYPES",
    "VOCABULARIES",
    "EPCISDocument",
    "EPCISError",
    "Event",
    "JSONLDEventReader",
    "event_type",
    "is_known",
    "iter_jsonld_events",
    "normalise_event",
    "read_jsonld",
    "to_bare",
    "to_digital_link",
    "to_epc_urn",
    "to_urn",
    "to_web_uri",
    "write_jsonld",
    "write_jsonld_stream",
]
