"""EPCIS XML, 2.0 and 1.2: read into the JSON-LD shape, write from it.

Read a document (bytes, a path, a binary file, or XML text):

>>> from packtrail.epcis.xml import iter_xml_events, read_xml, write_xml, write_xml_stream
>>> doc = read_xml(b'''<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"
...     xmlns:example="https://ns.example.com/epcis/" schemaVersion="2.0"
...     creationDate="2024-03-01T10:05:00Z"><EPCISBody><EventList><ObjectEvent>
...   <eventTime>2024-03-01T10:00:00.000+01:00</eventTime><eventTimeZoneOffset>+01:00</eventTimeZoneOffset>
...   <epcList><epc>urn:epc:id:sgtin:4012345.011111.1001</epc></epcList><action>OBSERVE</action>
...   <bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>
...   <quantityList><quantityElement><epcClass>urn:epc:class:lgtin:4012345.011111.L1</epcClass>
...     <quantity>20</quantity><uom>KGM</uom></quantityElement></quantityList>
...   <example:note lang="en">fragile</example:note>
... </ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>''')
>>> event = doc.events[0]
>>> event["epcList"], event["quantityList"]
(['urn:epc:id:sgtin:4012345.011111.1001'], [{'epcClass': 'urn:epc:class:lgtin:4012345.011111.L1', 'quantity': 20, 'uom': 'KGM'}])
>>> event["example:note"], doc.namespaces
({'lang': 'en', '#text': 'fragile'}, {'example': 'https://ns.example.com/epcis/'})

Write it as EPCIS 1.2 (the US DSCSA exchange format): the 1.2 ``<extension>``
wrappers come back, and what 1.2 has no field for is reported:

>>> notes = []
>>> xml12 = write_xml(doc, version="1.2", warnings=notes)
>>> b"<extension><quantityList>" in xml12, notes
(True, [])
>>> read_xml(xml12).events == doc.events
True

How XML maps onto the JSON-LD shape (:mod:`packtrail.epcis.document`):

- Standard elements become the JSON-LD keys of the same name; lists
  (``<epcList><epc>``, ``<bizTransactionList>``, ``<quantityList>``, ...) become
  lists of strings or dicts (``{"type": ..., "bizTransaction": ...}``);
  ``quantity`` and the sensor report numbers (``value``, ``minValue``,
  ``maxValue``, ``meanValue``, ``sDev``, ``percRank``, ``percValue``) become
  numbers, ``booleanValue`` a boolean; ``sensorMetadata`` and ``sensorReport``
  attributes become dict keys. Text is stripped of surrounding white space.
- EPCIS 1.2 layouts are flattened: ``<baseExtension>`` (eventID,
  errorDeclaration), the ``<extension>`` wrappers of events (quantityList,
  sourceList, ilmd, ...), TransformationEvent in ``<EventList><extension>`` and
  AssociationEvent in ``<EventList><extension><extension>``. The reader also takes
  the lenient layouts seen in the wild (2.0 fields inside 1.2 wrappers, ``epcis:``
  qualified standard elements, a bare event as the root element).
- Extension elements become ``"prefix:localName"`` keys (prefixes on
  ``EPCISDocument.namespaces``; a namespace declared without a prefix gets one).
  Unqualified elements inside ``<extension>`` (the XSD's ``##local`` wildcard)
  become bare keys. An element with text only becomes a string; otherwise a
  dict. A repeated element becomes a list.
- **XML attributes** of an extension element are kept exactly: the element's dict
  lists its attributes first (``"prefix:name"``, or the bare name of an
  unqualified attribute such as ``measurementUnitCode``), then the key ``"#text"``
  (the element's text, ``""`` when it has none), then its child elements. So
  *keys before* ``"#text"`` *are attributes, keys after it are elements*; a dict
  without ``"#text"`` has child elements only. ``"#text"`` also marks text mixed
  with child elements. The SBDH uses the same rule:
  ``{"sbdh:Identifier": {"Authority": "GS1", "#text": "urn:epc:id:sgln:..."}}``.
- The header: ``header["sbdh:StandardBusinessDocumentHeader"]`` (always the
  ``sbdh`` prefix), ``header["epcisMasterData"]["vocabularyList"]`` (each
  vocabulary ``{"type", "vocabularyElementList": [{"id", "attributes": [{"id",
  "attribute"}], "children"}]}``; an attribute holding XML gets a dict), and
  header extensions as keys. An ``EPCISMasterDataDocument`` keeps its kind
  (``doc.kind == "EPCISMasterDataDocument"``, no events); its ``<EPCISBody><VocabularyList>``
  is held in ``header["epcisMasterData"]``, where an ordinary document keeps master data, and
  written back to the body.
- Query documents: ``query`` holds ``queryName``, ``subscriptionID``,
  ``resultsBody`` (a master-data answer's ``vocabularyList``) and extensions; any
  other query message (``Poll``, an exception) is kept as ``{name: content}``.
- Root attributes other than schemaVersion and creationDate go to ``attributes``
  (``xsi:schemaLocation``); document-level extension elements too, as dicts.

Writing follows each binding's XSD order. CBV values stay in the form found,
except bare words (from JSON-LD), which XML writes as URNs; ``cbv_format``
(``"urn"``/``"web"``) and ``epc_format`` (``"urn"``/``"dl"``) convert everything.
For 1.2 both default to URNs. Writing 1.2 from 2.0 data, sensorElementList,
persistentDisposition, certificationInfo and AssociationEvent have no 1.2 field:
they are carried in 1.2's ``<extension>`` slots (``new_fields="carry"``, as
GS1's 2.0-to-1.2 conversion does) or dropped (``"drop"``), with a warning either
way. EPCIS 2.0 XML has no place for namespaced extensions in ``EPCISHeader``
(1.2 has): a 2.0 writer puts them at the end of the document, with a warning,
where a reader finds them as document-level entries (``attributes``). A 1.2
writer puts the namespaced document-level elements of a document that was not
read from 1.2 XML (``schema_version`` other than ``"1.2"``: from 2.0 XML or
JSON-LD) back into ``EPCISHeader``, so the SBDH and header extensions of a 1.2
document (the ``gs1ushc:`` DSCSA transaction statement) come through
1.2 -> 2.0 -> 1.2 exactly; a 1.2 document written as 1.2 again keeps its
elements where they were. ``xsi:schemaLocation`` naming the other version's XSD
is left out.

Large documents stream: :func:`iter_xml_events` reads with ``lxml.etree.iterparse``
and frees each event's elements once read; :func:`write_xml_stream` writes an
iterator of events. Both keep memory bounded whatever the number of events
(about 30 MB for 1,000,000 events, see ``bench/bench_epcis_xml.py``):

>>> import io
>>> out = io.BytesIO()
>>> events = ({**event, "eventID": f"urn:uuid:{n}"} for n in range(3))
>>> write_xml_stream(doc.header_only(), events, out, version="1.2")
3
>>> stream = iter_xml_events(out.getvalue())
>>> stream.document.schema_version, [e["eventID"] for e in stream]
('1.2', ['urn:uuid:0', 'urn:uuid:1', 'urn:uuid:2'])

Capture jobs (the REST capture interface's status document) have their own pair,
:func:`read_capture_job` and :func:`write_capture_job`, in the JSON shape of the
EPCIS 2.0 OpenAPI description.

References: EPCIS 2.0 (GS1, June 2022) sections 9 (XML binding) and 10; the EPCIS
2.0 and 1.2 XML Schemas (``EPCglobal-epcis-2_0.xsd``, ``EPCglobal-epcis-1_2.xsd``);
GS1's 2.0-to-1.2 XSLT (``gs1/EPCIS``, ``XSL/``) for where 1.2 puts 2.0 fields.
"""

from __future__ import annotations

from packtrail.epcis.xml_read import (
    TEXT_KEY,
    XMLEventStream,
    attribute_keys,
    iter_xml_events,
    read_capture_job,
    read_xml,
)
from packtrail.epcis.xml_write import (
    CBVFormat,
    EPCFormat,
    NewFields,
    XMLVersion,
    XMLWriteWarning,
    write_capture_job,
    write_xml,
    write_xml_stream,
)

__all__ = [
    "TEXT_KEY",
    "CBVFormat",
    "EPCFormat",
    "NewFields",
    "XMLEventStream",
    "XMLVersion",
    "XMLWriteWarning",
    "attribute_keys",
    "iter_xml_events",
    "read_capture_job",
    "read_xml",
    "write_capture_job",
    "write_xml",
    "write_xml_stream",
]
