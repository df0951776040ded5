"""The EPCIS document: one shape that every codec reads into and writes from.

EPCIS 2.0 came with a JSON-LD binding, and packtrail uses its *compact* JSON
shape as the one in-memory form of an event, whatever the document was written
in (JSON-LD, EPCIS 2.0 XML or EPCIS 1.2 XML). An event is a plain ``dict`` whose
keys are the JSON-LD names, in document order:

>>> event = {
...     "type": "ObjectEvent",
...     "eventTime": "2024-03-01T10:00:00.000+01:00",
...     "eventTimeZoneOffset": "+01:00",
...     "epcList": ["urn:epc:id:sgtin:4012345.011111.1001"],
...     "action": "OBSERVE",
...     "bizStep": "shipping",
...     "disposition": "in_transit",
...     "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
...     "example:shipmentNote": "fragile",
... }

Extension fields carry a namespace prefix (``example:``); the prefix is declared
once, on the document:

>>> from packtrail.epcis.document import EVENT_TYPES, EPCISDocument, event_type
>>> doc = EPCISDocument(
...     creation_date="2024-03-01T10:05:00Z",
...     namespaces={"example": "https://ns.example.com/epcis/"},
...     events=[event],
... )
>>> doc.kind, doc.schema_version, len(doc)
('EPCISDocument', '2.0', 1)
>>> doc.context
['https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld']
>>> [e["type"] for e in doc.iter_events()]
['ObjectEvent']
>>> doc.event_type_counts()
{'ObjectEvent': 1}

The five event types of EPCIS 2.0, and how to tell an event's type:

>>> EVENT_TYPES
('ObjectEvent', 'AggregationEvent', 'TransactionEvent', 'TransformationEvent', 'AssociationEvent')
>>> event_type(event)
'ObjectEvent'

A query result (``EPCISQueryDocument``) keeps the query's name and subscription
in :attr:`EPCISDocument.query`; master data (EPCClass and Location vocabularies)
lives in the header, in the JSON-LD shape of GS1's JSON Schema:

>>> answer = EPCISDocument(kind="EPCISQueryDocument", query={"queryName": "SimpleEventQuery"})
>>> answer.is_query
True
>>> with_master_data = EPCISDocument(header={"epcisMasterData": {"vocabularyList": [
...     {"type": "urn:epcglobal:epcis:vtype:Location",
...      "vocabularyElementList": [{"id": "urn:epc:id:sgln:4012345.00001.0"}]}]}})
>>> [v["type"] for v in with_master_data.vocabularies()]
['urn:epcglobal:epcis:vtype:Location']

Values keep the form they had in the source (bare CBV word or URN, EPC URN or
GS1 Digital Link); :func:`packtrail.epcis.vocabulary.normalise_event` makes one
canonical form when you need to compare. Reference: EPCIS 2.0 (GS1, June 2022),
sections 7 (event model) and 9 (document structure); the JSON shape follows
GS1's ratified JSON Schema ``epcis-json-schema.json``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

__all__ = [
    "DOCUMENT_KINDS",
    "EPC_LIST_FIELDS",
    "EVENT_TYPES",
    "QUANTITY_LIST_FIELDS",
    "SBDH_NAMESPACE",
    "SIMPLE_CONTEXT_URL",
    "STANDARD_CONTEXT_ALIASES",
    "STANDARD_CONTEXT_URL",
    "DocumentKind",
    "EPCISDocument",
    "Event",
    "event_type",
]

Event: TypeAlias = dict[str, Any]
"""One EPCIS event in the JSON-LD shape: JSON-LD names as keys, document order kept."""

DocumentKind: TypeAlias = Literal["EPCISDocument", "EPCISQueryDocument", "EPCISMasterDataDocument"]
"""An ordinary document (capture, exchange), the answer to a query, or a master-data document
(EPCIS 1.2 and 2.0 XML: vocabularies only, no events; held in the header's ``epcisMasterData``)."""

EVENT_TYPES: Final = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)
"""The five event types of EPCIS 2.0 (section 7.4), in the order the standard lists them."""

DOCUMENT_KINDS: Final = ("EPCISDocument", "EPCISQueryDocument", "EPCISMasterDataDocument")
"""The kinds of document: the ``type`` of a JSON-LD document, the root element of an XML one."""

EPC_LIST_FIELDS: Final = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
"""Event fields that list instance-level identifiers (one pack, case or pallet each)."""

QUANTITY_LIST_FIELDS: Final = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
"""Event fields that list class-level identifiers with a quantity (``epcClass``, ``quantity``, ``uom``)."""

STANDARD_CONTEXT_URL: Final = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
"""The ratified EPCIS 2.0 JSON-LD ``@context``; documents read from XML get it too."""

STANDARD_CONTEXT_ALIASES: Final = frozenset(
    {
        STANDARD_CONTEXT_URL,
        "https://gs1.github.io/EPCIS/epcis-context.jsonld",
        "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
    }
)
"""URLs that name the standard EPCIS 2.0 context (the ratified one and GS1's GitHub copy)."""

SIMPLE_CONTEXT_URL: Final = "https://gs1.github.io/EPCIS/epcis-context-simple.jsonld"
"""GS1's "simple" variant of the context: same JSON shape, simpler RDF mapping."""

SBDH_NAMESPACE: Final = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
"""Namespace of the Standard Business Document Header (prefix ``sbdh`` in the header dict)."""


def _standard_context() -> list[Any]:
    return [STANDARD_CONTEXT_URL]


@dataclass(slots=True)
class EPCISDocument:
    """An EPCIS document or query document, its events in the JSON-LD shape.

    The dataclass is mutable on purpose: readers fill it while they stream, and a
    writer may take a header-only document plus an iterator of events. Every field
    has a default, so ``EPCISDocument(events=[...])`` is a valid 2.0 document.
    """

    kind: DocumentKind = "EPCISDocument"
    """``"EPCISDocument"``, ``"EPCISQueryDocument"`` or ``"EPCISMasterDataDocument"`` (no events;
    its vocabularies are in ``header["epcisMasterData"]``)."""
    schema_version: str = "2.0"
    """The ``schemaVersion`` as found: ``"2.0"`` for 2.0 documents, ``"1.2"`` for 1.2 XML; ``""`` when
    the document gives none (writers then leave it out)."""
    creation_date: str | None = None
    """When the document was created (``creationDate``), as written in it; None when absent."""
    namespaces: dict[str, str] = field(default_factory=dict)
    """Extension prefix -> namespace URI, in order of declaration (``{"example": "https://..."}``)."""
    context: list[Any] = field(default_factory=_standard_context)
    """The JSON-LD ``@context`` as given (a lone string or object becomes a one-item list)."""
    header: dict[str, Any] | None = None
    """The ``epcisHeader``: SBDH under ``"sbdh:StandardBusinessDocumentHeader"`` and master data
    under ``"epcisMasterData"``; None when the document has none."""
    query: dict[str, Any] | None = None
    """Query documents: ``queryResults`` without its events (``queryName``, ``subscriptionID``, ...)."""
    attributes: dict[str, Any] = field(default_factory=dict)
    """Other top-level entries, in order: ``id``, ``sender``, ``receiver``, ``instanceIdentifier``,
    extensions; XML readers put the root element's other attributes here. A lenient JSON-LD read
    also keeps here, under their own names, a ``schemaVersion`` or ``creationDate`` that was not
    text (GS1 has an example with ``"schemaVersion": 2.0``) and an ``epcisHeader`` that was null;
    the writer puts them back."""
    events: list[Event] = field(default_factory=list)
    """The events in document order."""

    @property
    def is_query(self) -> bool:
        """True for an ``EPCISQueryDocument`` (the answer to a query or a subscription)."""
        return self.kind == "EPCISQueryDocument"

    def __len__(self) -> int:
        """The number of events."""
        return len(self.events)

    def iter_events(self, *types: str) -> Iterator[Event]:
        """The events in document order; give event types to keep only those.

        >>> doc = EPCISDocument(events=[{"type": "ObjectEvent"}, {"type": "AggregationEvent"}])
        >>> [e["type"] for e in doc.iter_events("AggregationEvent")]
        ['AggregationEvent']
        """
        if not types:
            yield from self.events
            return
        wanted = frozenset(types)
        for event in self.events:
            if event.get("type") in wanted:
                yield event

    def event_type_counts(self) -> dict[str, int]:
        """How many events of each type, in order of first appearance (untyped events count as ``""``)."""
        counts: dict[str, int] = {}
        for event in self.events:
            name = event_type(event) or ""
            counts[name] = counts.get(name, 0) + 1
        return counts

    def vocabularies(self) -> list[dict[str, Any]]:
        """The master-data vocabularies of the header (``epcisMasterData.vocabularyList``), or ``[]``.

        Each is ``{"type": "urn:epcglobal:epcis:vtype:Location", "vocabularyElementList": [...]}``.
        """
        header = self.header
        if not isinstance(header, dict):
            return []
        master = header.get("epcisMasterData")
        if not isinstance(master, dict):
            return []
        vocabularies = master.get("vocabularyList")
        if not isinstance(vocabularies, list):
            return []
        return [v for v in vocabularies if isinstance(v, dict)]

    def header_only(self) -> EPCISDocument:
        """A copy without events (for streaming writers: header first, then events one by one)."""
        return EPCISDocument(
            kind=self.kind,
            schema_version=self.schema_version,
            creation_date=self.creation_date,
            namespaces=dict(self.namespaces),
            context=list(self.context),
            header=self.header,
            query=self.query,
            attributes=dict(self.attributes),
            events=[],
        )


def event_type(event: Event) -> str | None:
    """The event's ``type`` (``"ObjectEvent"``, ...), or None when it has none or it is not text."""
    kind = event.get("type")
    return kind if isinstance(kind, str) else None
