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
:mod:`~packtrail.epcis.jsonld` (JSON-LD read, write, stream),
:mod:`~packtrail.epcis.xml` (EPCIS 2.0 and 1.2 XML read, write, stream, with SBDH and master data),
:mod:`~packtrail.epcis.convert` (streaming conversion between the formats),
:mod:`~packtrail.epcis.compare` (event content compared after normalisation),
:mod:`~packtrail.epcis.hashing` (the canonical event hash),
:mod:`~packtrail.epcis.validation` (schema, XSD and rules layers) and
:mod:`~packtrail.epcis.errors` (:class:`EPCISError`, the one error type).
"""

from __future__ import annotations

from packtrail.epcis.compare import normalised_events_equal
from packtrail.epcis.convert import ConversionSummary, convert, detect_format
from packtrail.epcis.document import EVENT_TYPES, EPCISDocument, Event, event_type
from packtrail.epcis.errors import EPCISError
from packtrail.epcis.hashing import (
    DuplicateDetector,
    EventHasher,
    document_hashes,
    duplicate_groups,
    event_hash,
    fill_missing_event_ids,
    prehash_string,
    with_event_ids,
)
from packtrail.epcis.issues import ValidationIssue, ValidationReport
from packtrail.epcis.jsonld import (
    JSONLDEventReader,
    iter_jsonld_events,
    read_jsonld,
    write_jsonld,
    write_jsonld_stream,
)
from packtrail.epcis.validation import (
    validate_document,
    validate_events,
    validate_json,
    validate_jsonld_bytes,
    validate_xml,
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
from packtrail.epcis.xml import (
    XMLWriteWarning,
    iter_xml_events,
    read_capture_job,
    read_xml,
    write_capture_job,
    write_xml,
    write_xml_stream,
)

__all__ = [
    "EVENT_TYPES",
    "VOCABULARIES",
    "ConversionSummary",
    "DuplicateDetector",
    "EPCISDocument",
    "EPCISError",
    "Event",
    "EventHasher",
    "JSONLDEventReader",
    "ValidationIssue",
    "ValidationReport",
    "XMLWriteWarning",
    "convert",
    "detect_format",
    "document_hashes",
    "duplicate_groups",
    "event_hash",
    "event_type",
    "fill_missing_event_ids",
    "is_known",
    "iter_jsonld_events",
    "iter_xml_events",
    "normalise_event",
    "normalised_events_equal",
    "prehash_string",
    "read_capture_job",
    "read_jsonld",
    "read_xml",
    "to_bare",
    "to_digital_link",
    "to_epc_urn",
    "to_urn",
    "to_web_uri",
    "validate_document",
    "validate_events",
    "validate_json",
    "validate_jsonld_bytes",
    "validate_xml",
    "with_event_ids",
    "write_capture_job",
    "write_jsonld",
    "write_jsonld_stream",
    "write_xml",
    "write_xml_stream",
]
