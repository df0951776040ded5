"""Write the JSON-LD shape as EPCIS 2.0 or 1.2 XML (whole documents or streams of events).

Use :func:`packtrail.epcis.xml.write_xml` and :func:`packtrail.epcis.xml.write_xml_stream`;
the conventions are described in :mod:`packtrail.epcis.xml`.

>>> from packtrail.epcis.document import EPCISDocument
>>> from packtrail.epcis.xml_write import write_xml
>>> doc = EPCISDocument(creation_date="2024-03-01T10:05:00Z", events=[
...     {"type": "ObjectEvent", "eventTime": "2024-03-01T10:00:00Z", "eventTimeZoneOffset": "+01:00",
...      "action": "OBSERVE", "bizStep": "shipping"}])
>>> print(write_xml(doc, indent=True).decode(), end="")
<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2024-03-01T10:05:00Z">
  <EPCISBody>
    <EventList>
      <ObjectEvent>
        <eventTime>2024-03-01T10:00:00Z</eventTime>
        <eventTimeZoneOffset>+01:00</eventTimeZoneOffset>
        <action>OBSERVE</action>
        <bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>
      </ObjectEvent>
    </EventList>
  </EPCISBody>
</epcis:EPCISDocument>
"""

from __future__ import annotations

import datetime
import decimal
import io
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any, Final, Literal, TypeAlias

from packtrail.epcis.document import SBDH_NAMESPACE, EPCISDocument, Event
from packtrail.epcis.errors import EPCISError
from packtrail.epcis.vocabulary import normalise_event, to_urn, to_web_uri
from packtrail.epcis.xml_read import (
    EPCIS_1_2_NAMESPACE,
    EPCIS_2_0_NAMESPACE,
    MASTERDATA_1_2_NAMESPACE,
    MASTERDATA_2_0_NAMESPACE,
    QUERY_1_2_NAMESPACE,
    QUERY_2_0_NAMESPACE,
    SENSOR_REPORT_BOOLEANS,
    SENSOR_REPORT_NUMBERS,
    STANDARD_NAMESPACES,
    TEXT_KEY,
    XSI_NAMESPACE,
)

__all__ = [
    "CBVFormat",
    "EPCFormat",
    "NewFields",
    "XMLVersion",
    "XMLWriteWarning",
    "write_capture_job",
    "write_xml",
    "write_xml_stream",
]

XMLVersion: TypeAlias = Literal["2.0", "1.2"]
"""The EPCIS XML binding to write."""
CBVFormat: TypeAlias = Literal["urn", "web"] | None
"""CBV values in XML: ``"urn"`` (``urn:epcglobal:cbv:bizstep:shipping``), ``"web"``
(``https://ref.gs1.org/cbv/BizStep-shipping``), or None: as found, bare words as URNs
(for 1.2, None means ``"urn"``: EPCIS 1.2 knows no Web URIs)."""
EPCFormat: TypeAlias = Literal["urn", "dl"] | None
"""Identifiers in XML: ``"urn"`` (EPC URNs), ``"dl"`` (GS1 Digital Link URIs), or None: as found
(for 1.2, None means ``"urn"``)."""
NewFields: TypeAlias = Literal["carry", "drop"]
"""What a 1.2 writer does with what EPCIS 1.2 has no field for (sensor data, persistent
disposition, certification info, AssociationEvent): ``"carry"`` them in the ``<extension>``
slots 1.2 keeps for later versions, or ``"drop"`` them. Either way a warning says so."""

_WELL_KNOWN: Final = {
    "sbdh": SBDH_NAMESPACE,
    "xsi": XSI_NAMESPACE,
    "xsd": "http://www.w3.org/2001/XMLSchema",
    "cbvmda": "urn:epcglobal:cbv:mda",
    "gs1ushc": "http://epcis.gs1us.org/hc/ns",
    "gs1": "https://gs1.org/voc/",
    "cbv": "https://ref.gs1.org/cbv/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "dcterms": "http://purl.org/dc/terms/",
}
"""Prefixes a document may use without declaring them (those of the EPCIS JSON-LD context and
of EPCIS XML practice); XML namespaces as EPCIS XML writes them."""

_NCNAME: Final = re.compile(r"[A-Za-z_\u00C0-\uFFFD][A-Za-z0-9_.\-\u00B7\u00C0-\uFFFD]*")
_INDENTS: Final = tuple("\n" + "  " * depth for depth in range(32))
_BAD_CHARACTERS: Final = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TEXT_ESCAPES: Final = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE_ESCAPES: Final = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)
_SPECIAL: Final = re.compile('[&<>\r"\n\t]|[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]')
"""Anything that needs escaping or checking; most values have none of it (one regex search)."""


@dataclass(frozen=True, slots=True)
class XMLWriteWarning:
    """Something the XML could not carry as the document had it (once per kind, with a count)."""

    field: str
    """The field or part concerned (``"sensorElementList"``, ``"header gs1ushc:guidelineVersion"``)."""
    reason: str
    """What was done and why, in words."""
    count: int
    """How many times it happened (events affected)."""
    first_event: int | None
    """The 1-based number of the first event affected, or None for document parts."""

    def __str__(self) -> str:
        where = f" (event {self.first_event}" + (f" and {self.count - 1} more)" if self.count > 1 else ")")
        return f"{self.field}: {self.reason}" + (where if self.first_event is not None else "")


# ---------------------------------------------------------------------------------------------
# field order per binding

_BASE_2_0: Final = (
    "eventTime",
    "recordTime",
    "eventTimeZoneOffset",
    "eventID",
    "errorDeclaration",
    "certificationInfo",
)
_WHAT_WHERE: Final = ("action", "bizStep", "disposition", "readPoint", "bizLocation")
_LATE_2_0: Final = ("sourceList", "destinationList", "sensorElementList", "persistentDisposition")

_ORDER_2_0: Final[dict[str, tuple[str, ...]]] = {
    "ObjectEvent": (
        *_BASE_2_0, "epcList", *_WHAT_WHERE, "bizTransactionList", "quantityList", *_LATE_2_0, "ilmd",
    ),
    "AggregationEvent": (
        *_BASE_2_0, "parentID", "childEPCs", *_WHAT_WHERE, "bizTransactionList", "childQuantityList", *_LATE_2_0,
    ),
    "TransactionEvent": (
        *_BASE_2_0, "bizTransactionList", "parentID", "epcList", *_WHAT_WHERE, "quantityList", *_LATE_2_0,
    ),
    "TransformationEvent": (
        *_BASE_2_0, "inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList", "transformationID",
        *_WHAT_WHERE[1:], "bizTransactionList", *_LATE_2_0, "ilmd",
    ),
    "AssociationEvent": (
        *_BASE_2_0, "parentID", "childEPCs", "childQuantityList", *_WHAT_WHERE, "bizTransactionList", *_LATE_2_0,
    ),
}  # fmt: skip
"""EPCIS 2.0 XSD element order of each event type."""

# EPCIS 1.2: (top-level fields, fields in <extension>, fields in <extension><extension>)
_NEW_IN_2_0: Final = ("sensorElementList", "persistentDisposition")
_ORDER_1_2: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]] = {
    "ObjectEvent": (
        ("epcList", *_WHAT_WHERE, "bizTransactionList"),
        ("quantityList", "sourceList", "destinationList", "ilmd"),
        _NEW_IN_2_0,
    ),
    "AggregationEvent": (
        ("parentID", "childEPCs", *_WHAT_WHERE, "bizTransactionList"),
        ("childQuantityList", "sourceList", "destinationList"),
        _NEW_IN_2_0,
    ),
    "TransactionEvent": (
        ("bizTransactionList", "parentID", "epcList", *_WHAT_WHERE),
        ("quantityList", "sourceList", "destinationList"),
        _NEW_IN_2_0,
    ),
    "TransformationEvent": (
        (*_ORDER_2_0["TransformationEvent"][6:-3], "ilmd"),
        _NEW_IN_2_0,
        (),
    ),
    "AssociationEvent": (_ORDER_2_0["AssociationEvent"][6:], (), ()),
}
"""EPCIS 1.2 XSD layout of each event type (AssociationEvent: the 2.0 order, inside the lax
``<EventList><extension><extension>`` that 1.2 leaves for later event types)."""

_REQUIRED_LISTS_1_2: Final = {
    "ObjectEvent": "epcList",
    "AggregationEvent": "childEPCs",
    "TransactionEvent": "epcList",
}
_EVENT_FIELDS: Final = frozenset(field for order in _ORDER_2_0.values() for field in order)


# ---------------------------------------------------------------------------------------------
# the serialiser


class _Writer:
    """Serialises the JSON-LD shape to EPCIS XML text, one piece at a time."""

    def __init__(
        self,
        doc: EPCISDocument,
        version: XMLVersion,
        cbv_format: CBVFormat,
        epc_format: EPCFormat,
        new_fields: NewFields,
        indent: bool,
    ) -> None:
        if version not in ("2.0", "1.2"):
            raise EPCISError("unknown EPCIS XML version", expected='"2.0" or "1.2"', found=repr(version))
        if cbv_format not in (None, "urn", "web"):
            raise EPCISError("unknown CBV format", expected='"urn", "web" or None', found=repr(cbv_format))
        if epc_format not in (None, "urn", "dl"):
            raise EPCISError(
                "unknown identifier format", expected='"urn", "dl" or None', found=repr(epc_format)
            )
        if new_fields not in ("carry", "drop"):
            raise EPCISError(
                "unknown new_fields choice", expected='"carry" or "drop"', found=repr(new_fields)
            )
        self.doc = doc
        self.v12 = version == "1.2"
        self.version = version
        if self.v12:
            cbv_format = cbv_format or "urn"
            epc_format = epc_format or "urn"
        self.cbv_format = cbv_format
        self.epc_format = epc_format
        self.carry = new_fields == "carry"
        self.indent = indent
        self.notes: dict[tuple[str, str], list[Any]] = {}
        self.event_number = 0
        self.epcis_ns = EPCIS_1_2_NAMESPACE if self.v12 else EPCIS_2_0_NAMESPACE
        self.query_ns = QUERY_1_2_NAMESPACE if self.v12 else QUERY_2_0_NAMESPACE
        self.master_data_ns = MASTERDATA_1_2_NAMESPACE if self.v12 else MASTERDATA_2_0_NAMESPACE
        self.declared: dict[str, str] = {}
        self._qnames: dict[str, tuple[str, str]] = {}
        self._cbv: Callable[[str, str], str] = {
            None: _bare_to_urn,
            "urn": to_urn,
            "web": to_web_uri,
        }[cbv_format]
        self._declare_root_namespaces()

    # -- notes ---------------------------------------------------------------------------------

    def note(self, field: str, reason: str, event: bool = True) -> None:
        entry = self.notes.get((field, reason))
        if entry is None:
            self.notes[(field, reason)] = [1, self.event_number if event else None]
        else:
            entry[0] += 1

    def warnings(self) -> list[XMLWriteWarning]:
        return [
            XMLWriteWarning(field, reason, count, first)
            for (field, reason), (count, first) in self.notes.items()
        ]

    # -- names and text ------------------------------------------------------------------------

    def _declare_root_namespaces(self) -> None:
        doc = self.doc
        if doc.kind == "EPCISMasterDataDocument":
            self.root_prefix = self._free_prefix("epcismd")
            self.declared[self.root_prefix] = self.master_data_ns
        else:
            self.root_prefix = self._free_prefix("epcisq" if doc.is_query else "epcis")
            self.declared[self.root_prefix] = self.query_ns if doc.is_query else self.epcis_ns
        header = doc.header if isinstance(doc.header, dict) else {}
        if any(key.startswith("sbdh:") for key in header) and "sbdh" not in doc.namespaces:
            self.declared["sbdh"] = SBDH_NAMESPACE
        for prefix, uri in doc.namespaces.items():
            if (
                not isinstance(prefix, str)
                or not isinstance(uri, str)
                or prefix == "xml"
                or prefix in self.declared
            ):
                continue
            if uri in STANDARD_NAMESPACES or not _NCNAME.fullmatch(prefix) or ":" in prefix:
                continue
            self.declared[prefix] = uri

    def _free_prefix(self, wanted: str) -> str:
        prefix, number = wanted, 1
        while self.doc.namespaces.get(prefix) not in (None, *STANDARD_NAMESPACES):
            number += 1
            prefix = f"{wanted}{number}"
        return prefix

    def root_namespaces(self) -> str:
        return "".join(f' xmlns:{prefix}="{_attribute(uri)}"' for prefix, uri in self.declared.items())

    def qname(self, key: Any, where: str) -> tuple[str, str]:
        """The XML name of a key and any namespace declaration its element needs."""
        found = self._qnames.get(key)
        if found is not None:
            return found
        if not isinstance(key, str):
            raise EPCISError(f"a key in {where} is not text", found=type(key).__name__)
        declaration = ""
        if key.startswith("@"):
            raise EPCISError(f"the JSON-LD keyword {key!r} in {where} has no XML form")
        if ":" in key:
            prefix, local = key.split(":", 1)
            if local.startswith("//") or prefix == "urn":
                # a full IRI as the key: namespace up to the last '#', '/' or ':'
                cut = max(key.rfind("#"), key.rfind("/"), key.rfind(":"))
                uri, local = key[: cut + 1], key[cut + 1 :]
                number = len(self._qnames)
                while f"ns{number}" in self.declared or f"ns{number}" in self.doc.namespaces:
                    number += 1
                prefix = f"ns{number}"
                declaration = f' xmlns:{prefix}="{_attribute(uri)}"'
            elif prefix == "xml":
                pass
            elif prefix not in self.declared:
                namespace = self.doc.namespaces.get(prefix) or _WELL_KNOWN.get(prefix)
                if namespace is None:
                    raise EPCISError(
                        f"the extension {key!r} in {where} uses the prefix {prefix!r}, which the document "
                        "does not declare",
                        expected="the prefix in EPCISDocument.namespaces",
                    )
                declaration = f' xmlns:{prefix}="{_attribute(namespace)}"'
            if not _NCNAME.fullmatch(prefix) or not _NCNAME.fullmatch(local):
                raise EPCISError(f"{key!r} in {where} is not a valid XML name")
            result = (f"{prefix}:{local}", declaration)
        else:
            if not _NCNAME.fullmatch(key):
                raise EPCISError(f"{key!r} in {where} is not a valid XML name")
            result = (key, "")
        if len(self._qnames) < 100_000:
            self._qnames[key] = result
        return result

    def qname_value_declaration(self, value: str) -> str:
        """``xsi:type`` holds a QName (``xsd:string``): declare a well-known prefix it needs."""
        prefix = value.split(":", 1)[0] if ":" in value else None
        if prefix is None or prefix in self.declared:
            return ""
        uri = self.doc.namespaces.get(prefix) or _WELL_KNOWN.get(prefix)
        if uri is None or not _NCNAME.fullmatch(prefix):
            return ""
        return f' xmlns:{prefix}="{_attribute(uri)}"'

    def start(self, declaration: str, attributes: list[tuple[str, str]], where: str) -> str:
        """The rest of a start tag: the element's own namespace declaration, the attributes
        (key, text) and the declarations they need, each declaration once."""
        declarations = [declaration] if declaration else []
        parts = []
        for name, text in attributes:
            tag, needed = self.qname(name, where)
            if needed:
                declarations.append(needed)
            if name == "xsi:type":
                needed = self.qname_value_declaration(text)
                if needed:
                    declarations.append(needed)
            parts.append(f' {tag}="{_attribute(text)}"')
        return "".join(dict.fromkeys(declarations)) + "".join(parts)

    def nl(self, depth: int) -> str:
        return (
            _INDENTS[depth]
            if self.indent and depth < len(_INDENTS)
            else ("\n" + "  " * depth if self.indent else "")
        )

    # -- generic elements ----------------------------------------------------------------------

    def leaf(self, out: list[str], depth: int, tag: str, text: str, attributes: str = "") -> None:
        if text:
            out.append(f"{self.nl(depth)}<{tag}{attributes}>{_text(text)}</{tag}>")
        else:
            out.append(f"{self.nl(depth)}<{tag}{attributes}/>")

    def value(self, out: list[str], depth: int, key: str, value: Any, where: str) -> None:
        """An extension value (any JSON-shaped data) as one element, or repeated elements for a list."""
        if isinstance(key, str) and key.startswith("@"):
            self.note(key, "a JSON-LD keyword has no XML form; dropped")
            return
        if isinstance(value, list):
            for item in value:
                if isinstance(item, list):
                    raise EPCISError(f"a list inside a list ({key} in {where}) has no XML form")
                self.value(out, depth, key, item, where)
            return
        tag, declaration = self.qname(key, where)
        if not isinstance(value, dict):
            self.leaf(out, depth, tag, _scalar(value, f"{key} in {where}"), declaration)
            return
        attributes: list[tuple[str, str]] = []
        children: list[tuple[str, Any]] = []
        text = ""
        in_attributes = TEXT_KEY in value
        for name, item in value.items():
            if name == TEXT_KEY:
                in_attributes = False
                text = _scalar(item, f"{key} in {where}")
            elif in_attributes:
                attributes.append((name, _scalar(item, name)))
            else:
                children.append((name, item))
        start = self.start(declaration, attributes, where)
        if not children:
            self.leaf(out, depth, tag, text, start)
            return
        out.append(f"{self.nl(depth)}<{tag}{start}>")
        if text:
            out.append(_text(text))
        for name, item in children:
            self.value(out, depth + 1, name, item, f"{key} in {where}")
        out.append(f"{self.nl(depth)}</{tag}>")

    def extensions(
        self, out: list[str], depth: int, container: dict[str, Any], skip: Iterable[str], where: str
    ) -> None:
        """Write the entries of ``container`` not in ``skip``: its extensions, as elements."""
        skipped = frozenset(skip)
        for key, item in container.items():
            if key not in skipped:
                self.value(out, depth, key, item, where)

    def local_extension(self, out: list[str], depth: int, bare: list[tuple[str, Any]], where: str) -> None:
        """Unqualified extensions go in an ``<extension>`` element (the XSD's ``##local`` wildcard)."""
        kept = []
        for key, item in bare:
            if key == "type":  # JSON-LD node typing ("epcis:SensorElement"): no EPCIS data, no XML form
                self.note(f"type in {where.split(' of ')[0]}", "a JSON-LD node type has no XML form; dropped")
            else:
                kept.append((key, item))
        bare = kept
        if bare:
            out.append(f"{self.nl(depth)}<extension>")
            for key, item in bare:
                self.value(out, depth + 1, key, item, where)
            out.append(f"{self.nl(depth)}</extension>")

    def container_extensions(
        self, out: list[str], depth: int, container: dict[str, Any], standard: Iterable[str], where: str
    ) -> None:
        """The extensions of a container with an ``<extension>`` element: unqualified ones inside it,
        then the namespaced ones (the XSD order)."""
        standard = frozenset(standard)
        bare = [(key, item) for key, item in container.items() if key not in standard and ":" not in key]
        self.local_extension(out, depth, bare, where)
        self.extensions(out, depth, container, standard.union(key for key, _ in bare), where)

    # -- events --------------------------------------------------------------------------------

    def event(self, out: list[str], depth: int, event: Any) -> None:
        self.event_number += 1
        if not isinstance(event, dict):
            raise EPCISError(f"event {self.event_number} is not a JSON object", found=type(event).__name__)
        kind = event.get("type")
        if kind not in _ORDER_2_0:
            raise EPCISError(
                f"event {self.event_number} has no event type XML can carry",
                expected="ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent or AssociationEvent",
                found=repr(kind),
            )
        if self.cbv_format is not None or self.epc_format is not None:
            try:
                event = normalise_event(event, cbv=self.cbv_format or "keep", epc=self.epc_format or "keep")
            except (TypeError, AttributeError) as exc:
                raise EPCISError(f"event {self.event_number} ({kind}) cannot be converted: {exc}") from None
        where = f"event {self.event_number} ({kind})"
        order = _ORDER_2_0[kind]
        for key in event:
            if key in _EVENT_FIELDS and key not in order:
                raise EPCISError(f"{where}: a {kind} has no field {key}", found=key)
        if self.v12:
            self._event_1_2(out, depth, kind, event, where)
        else:
            self._event_2_0(out, depth, kind, event, where)

    def _event_2_0(self, out: list[str], depth: int, kind: str, event: dict[str, Any], where: str) -> None:
        out.append(f"{self.nl(depth)}<{kind}>")
        inner = depth + 1
        for key in _ORDER_2_0[kind]:
            if key in event:
                self.field(out, inner, key, event[key], where)
        standard = frozenset((*_ORDER_2_0[kind], "type"))
        for key, item in event.items():
            if key in standard:
                continue
            if ":" in key or key.startswith("@"):
                self.value(out, inner, key, item, where)
            else:
                self.note(key, "an unqualified extension element has no place in an EPCIS 2.0 event; dropped")
        out.append(f"{self.nl(depth)}</{kind}>")

    def _event_1_2(self, out: list[str], depth: int, kind: str, event: dict[str, Any], where: str) -> None:
        top, extension, extension2 = _ORDER_1_2[kind]
        nl = self.nl
        if kind == "AssociationEvent":
            if not self.carry:
                self.note(kind, "EPCIS 1.2 has no AssociationEvent; dropped")
                return
            self.note(
                kind,
                "EPCIS 1.2 has no AssociationEvent; written in <EventList><extension><extension>, "
                "as GS1's 1.2 examples do",
            )
            out.append(f"{nl(depth)}<extension>{nl(depth + 1)}<extension>")
            depth += 2
        elif kind == "TransformationEvent":
            out.append(f"{nl(depth)}<extension>")
            depth += 1
        inner = depth + 1
        out.append(f"{nl(depth)}<{kind}>")
        for key in ("eventTime", "recordTime", "eventTimeZoneOffset"):
            if key in event:
                self.field(out, inner, key, event[key], where)
        certification = event.get("certificationInfo")
        if certification is not None and not self.carry:
            self.note("certificationInfo", "EPCIS 1.2 has no certificationInfo; dropped")
            certification = None
        if "eventID" in event or "errorDeclaration" in event or certification is not None:
            out.append(f"{nl(inner)}<baseExtension>")
            for key in ("eventID", "errorDeclaration"):
                if key in event:
                    self.field(out, inner + 1, key, event[key], where)
            if certification is not None:
                self.note(
                    "certificationInfo",
                    "EPCIS 1.2 has no certificationInfo; written in <baseExtension><extension>",
                )
                out.append(f"{nl(inner + 1)}<extension>")
                self.field(out, inner + 2, "certificationInfo", certification, where)
                out.append(f"{nl(inner + 1)}</extension>")
            out.append(f"{nl(inner)}</baseExtension>")
        required = _REQUIRED_LISTS_1_2.get(kind)
        for key in top:
            if key in event:
                self.field(out, inner, key, event[key], where)
            elif key == required:
                out.append(f"{nl(inner)}<{key}/>")  # required in 1.2, optional in 2.0
        handled = {
            "type",
            "eventTime",
            "recordTime",
            "eventTimeZoneOffset",
            "eventID",
            "errorDeclaration",
            "certificationInfo",
            *top,
            *extension,
            *extension2,
        }
        later = [key for key in (*extension, *extension2) if key in event]
        bare = [(key, value) for key, value in event.items() if key not in handled and ":" not in key]
        new = [key for key in later if key in _NEW_IN_2_0]
        for key in new:
            if self.carry:
                self.note(
                    key,
                    "EPCIS 1.2 has no such field; written in the event's "
                    + ("<extension>" if kind == "TransformationEvent" else "<extension><extension>")
                    + " (as GS1's 2.0-to-1.2 conversion does); a 1.2 reader may ignore it",
                )
            else:
                self.note(key, "EPCIS 1.2 has no such field; dropped")
        if not self.carry:
            later = [key for key in later if key not in _NEW_IN_2_0]
        if kind == "AssociationEvent":
            for key in later:
                self.field(out, inner, key, event[key], where)
            for key, value in bare:
                self.value(out, inner, key, value, where)
        elif later or bare:
            out.append(f"{nl(inner)}<extension>")
            for key in extension:
                if key in later:
                    self.field(out, inner + 1, key, event[key], where)
            inner_keys = [key for key in extension2 if key in later]
            if extension2 and (inner_keys or bare):
                out.append(f"{nl(inner + 1)}<extension>")
                for key in inner_keys:
                    self.field(out, inner + 2, key, event[key], where)
                for key, value in bare:
                    self.value(out, inner + 2, key, value, where)
                out.append(f"{nl(inner + 1)}</extension>")
            elif not extension2:
                for key, value in bare:
                    self.value(out, inner + 1, key, value, where)
            out.append(f"{nl(inner)}</extension>")
        for key, value in event.items():
            if isinstance(key, str) and ":" in key:
                self.value(out, inner, key, value, where)
        out.append(f"{nl(depth)}</{kind}>")
        if kind == "AssociationEvent":
            out.append(f"{nl(depth - 1)}</extension>{nl(depth - 2)}</extension>")
        elif kind == "TransformationEvent":
            out.append(f"{nl(depth - 1)}</extension>")

    # -- event fields --------------------------------------------------------------------------

    def field(self, out: list[str], depth: int, key: str, value: Any, where: str) -> None:
        writer = _FIELD_WRITERS[key]
        writer(self, out, depth, key, value, f"{key} of {where}")

    def cbv(self, kind: str, value: Any, where: str) -> str:
        return self._cbv(kind, _string(value, where))


def _bare_to_urn(kind: str, value: str) -> str:
    """Keep URNs and URIs as found; a bare CBV word (JSON-LD) becomes its URN (XML wants URIs)."""
    return value if ":" in value else to_urn(kind, value)


def _string(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    raise EPCISError(f"{where} must be text", found=type(value).__name__)


def _scalar(value: Any, where: str) -> str:
    """JSON scalars as XML text (numbers and booleans from JSON-LD sources, too)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _double_text(value)
    raise EPCISError(f"{where} must be text or a number", found=type(value).__name__)


def _double_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return repr(value)


def _decimal_text(value: Any, where: str) -> str:
    """An ``xsd:decimal``: no exponent, no NaN."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                parsed = decimal.Decimal(value.strip())
            except decimal.InvalidOperation:
                parsed = None
            if parsed is not None and parsed.is_finite():
                return format(parsed, "f")
        raise EPCISError(f"{where} must be a number", found=repr(value))
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise EPCISError(f"{where} must be a finite number", found=repr(value))
    text = repr(value)
    return format(decimal.Decimal(text), "f") if "e" in text or "E" in text else text


def _text(value: str) -> str:
    if _SPECIAL.search(value) is None:
        return value
    if _BAD_CHARACTERS.search(value):
        raise EPCISError("text holds a character XML 1.0 cannot carry", found=repr(value))
    return value.translate(_TEXT_ESCAPES)


def _attribute(value: str) -> str:
    if _SPECIAL.search(value) is None:
        return value
    if _BAD_CHARACTERS.search(value):
        raise EPCISError("an attribute holds a character XML 1.0 cannot carry", found=repr(value))
    return value.translate(_ATTRIBUTE_ESCAPES)


_FieldWriter: TypeAlias = Callable[[_Writer, list[str], int, str, Any, str], None]


def _write_simple(w: _Writer, out: list[str], depth: int, key: str, value: Any, where: str) -> None:
    w.leaf(out, depth, key, _string(value, where))


def _write_certification(w: _Writer, out: list[str], depth: int, key: str, value: Any, where: str) -> None:
    if isinstance(value, list):
        if not value:
            return
        if len(value) > 1:
            w.note(key, "EPCIS XML holds one certificationInfo; the others were dropped")
        value = value[0]
    w.leaf(out, depth, key, _string(value, where))


def _cbv_writer(kind: str) -> _FieldWriter:
    def write(w: _Writer, out: list[str], depth: int, key: str, value: Any, where: str) -> None:
        w.leaf(out, depth, key, w.cbv(kind, value, where))

    return write


def _list_of(value: Any, where: str) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, (dict, str)):
        return [value]  # JSON-LD: a lone value is a list of one
    raise EPCISError(f"{where} must be a list", found=type(value).__name__)


def _dict_of(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EPCISError(f"{where} must be an object", found=type(value).__name__)
    return value


def _write_epcs(w: _Writer, out: list[str], depth: int, key: str, value: Any, where: str) -> None:
    epcs = _list_of(value, where)
    if not epcs:
        out.append(f"{w.nl(depth)}<{key}/>")
        return
    out.append(f"{w.nl(depth)}<{key}>")
    inner = w.nl(depth + 1)
    out.extend(f"{inner}<epc>{_text(_string(epc, where))}</epc>" for epc in epcs)
    out.append(f"{w.nl(depth)}</{key}>")


def _write_quantities(w: _Writer, out: list[str], depth: int, key: str, value: Any, where: str) -> None:
    items = _list_of(value, where)
    if not items:
        out.append(f"{w.nl(depth)}<{key}/>")
        return
    out.append(f"{w.nl(depth)}<{key}>")
    for item in items:
        entry = _dict_of(item, where)
        out.append(f"{w.nl(depth + 1)}<quantityElement>")
        w.leaf(out, depth + 2, "epcClass", _string(entry.get("epcClass"), f"epcClass in {where}"))
        if "quantity" in entry:
            w.leaf(out, depth + 2, "quantity", _decimal_text(entry["quantity"], f"quantity in {where}"))
            if "uom" in entry:
                w.leaf(out, depth + 2, "uom", _string(entry["uom"], f"uom in {where}"))
        elif "uom" in entry:
            raise EPCISError(f"{where}: a uom without a quantity has no XML form")
        for name in entry:
            if name not in ("epcClass", "quantity", "uom"):
                raise EPCISError(f"{where}: quantityElement has no field {name!r}")
        out.append(f"{w.nl(depth + 1)}</quantityElement>")
    out.append(f"{w.nl(depth)}</{key}>")


def _write_location(w: _Writer, out: list[str], depth: int, key: str, value: Any, where: str) -> None:
    location = _dict_of(value, where)
    out.append(f"{w.nl(depth)}<{key}>")
    w.leaf(out, depth + 1, "id", _string(location.get("id"), f"id of {where}"))
    w.container_extensions(out, depth + 1, location, ("id",), where)
    out.append(f"{w.nl(depth)}</{key}>")


def _typed_list_writer(item: str, kind: str) -> _FieldWriter:
    def write(w: _Writer, out: list[str], depth: int, key: str, value: Any, where: str) -> None:
        entries = _list_of(value, where)
        out.append(f"{w.nl(depth)}<{key}>")
        for entry in entries:
            entry = _dict_of(entry, where)
            attributes = []
            for name, attribute in entry.items():
                if name == "type":
                    attributes.append((name, w.cbv(kind, attribute, where)))
                elif name != item:
                    attributes.append((name, _scalar(attribute, where)))
            start = w.start("", attributes, where)
            w.leaf(out, depth + 1, item, _string(entry.get(item), f"{item} in {where}"), start)
        out.append(f"{w.nl(depth)}</{key}>")

    return write


_SENSOR_CBV: Final = {"type": "measurementType", "exception": "sensorAlertType", "component": "component"}


def _sensor_attributes(w: _Writer, value: Any, where: str) -> tuple[str, str]:
    attributes: list[tuple[str, str]] = []
    text = ""
    declare_gs1 = False
    for name, item in _dict_of(value, where).items():
        if name == TEXT_KEY:
            text = _scalar(item, where)
            continue
        if name in _SENSOR_CBV:
            item = w.cbv(_SENSOR_CBV[name], item, where)
            declare_gs1 = declare_gs1 or (item.startswith("gs1:") and "gs1" not in w.declared)
        elif name in SENSOR_REPORT_NUMBERS:
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                raise EPCISError(f"{name} in {where} must be a number", found=repr(item))
            item = _scalar(item, where)
        elif name in SENSOR_REPORT_BOOLEANS:
            if not isinstance(item, bool):
                raise EPCISError(f"{name} in {where} must be true or false", found=repr(item))
            item = _scalar(item, where)
        else:
            item = _scalar(item, where)
        attributes.append((name, item))
    return w.start(f' xmlns:gs1="{_WELL_KNOWN["gs1"]}"' if declare_gs1 else "", attributes, where), text


def _write_sensors(w: _Writer, out: list[str], depth: int, key: str, value: Any, where: str) -> None:
    out.append(f"{w.nl(depth)}<{key}>")
    for sensor in _list_of(value, where):
        sensor = _dict_of(sensor, where)
        out.append(f"{w.nl(depth + 1)}<sensorElement>")
        inner = depth + 2
        if "sensorMetadata" in sensor:
            attributes, text = _sensor_attributes(w, sensor["sensorMetadata"], f"sensorMetadata in {where}")
            w.leaf(out, inner, "sensorMetadata", text, attributes)
        for report in _list_of(sensor.get("sensorReport", []), f"sensorReport in {where}"):
            attributes, text = _sensor_attributes(w, report, f"sensorReport in {where}")
            w.leaf(out, inner, "sensorReport", text, attributes)
        w.container_extensions(out, inner, sensor, ("sensorMetadata", "sensorReport"), where)
        out.append(f"{w.nl(depth + 1)}</sensorElement>")
    out.append(f"{w.nl(depth)}</{key}>")


def _write_persistent(w: _Writer, out: list[str], depth: int, key: str, value: Any, where: str) -> None:
    disposition = _dict_of(value, where)
    out.append(f"{w.nl(depth)}<{key}>")
    for part in ("unset", "set"):  # the XSD order
        for item in _list_of(disposition.get(part, []), f"{part} in {where}"):
            w.leaf(out, depth + 1, part, w.cbv("disposition", item, where))
    for name in disposition:
        if name not in ("set", "unset"):
            raise EPCISError(f"{where}: persistentDisposition has no field {name!r}")
    out.append(f"{w.nl(depth)}</{key}>")


def _write_error_declaration(
    w: _Writer, out: list[str], depth: int, key: str, value: Any, where: str
) -> None:
    declaration = _dict_of(value, where)
    out.append(f"{w.nl(depth)}<{key}>")
    inner = depth + 1
    if "declarationTime" in declaration:
        w.leaf(out, inner, "declarationTime", _string(declaration["declarationTime"], where))
    if "reason" in declaration:
        w.leaf(out, inner, "reason", w.cbv("errorReason", declaration["reason"], where))
    if "correctiveEventIDs" in declaration:
        ids = _list_of(declaration["correctiveEventIDs"], where)
        out.append(f"{w.nl(inner)}<correctiveEventIDs>")
        for event_id in ids:
            w.leaf(out, inner + 1, "correctiveEventID", _string(event_id, where))
        out.append(f"{w.nl(inner)}</correctiveEventIDs>")
    w.container_extensions(
        out, inner, declaration, ("declarationTime", "reason", "correctiveEventIDs"), where
    )
    out.append(f"{w.nl(depth)}</{key}>")


def _write_ilmd(w: _Writer, out: list[str], depth: int, key: str, value: Any, where: str) -> None:
    ilmd = _dict_of(value, where)
    out.append(f"{w.nl(depth)}<{key}>")
    w.container_extensions(out, depth + 1, ilmd, (), where)
    out.append(f"{w.nl(depth)}</{key}>")


_FIELD_WRITERS: Final[dict[str, _FieldWriter]] = {
    "eventTime": _write_simple,
    "recordTime": _write_simple,
    "eventTimeZoneOffset": _write_simple,
    "eventID": _write_simple,
    "errorDeclaration": _write_error_declaration,
    "certificationInfo": _write_certification,
    "parentID": _write_simple,
    "epcList": _write_epcs,
    "childEPCs": _write_epcs,
    "inputEPCList": _write_epcs,
    "outputEPCList": _write_epcs,
    "quantityList": _write_quantities,
    "childQuantityList": _write_quantities,
    "inputQuantityList": _write_quantities,
    "outputQuantityList": _write_quantities,
    "transformationID": _write_simple,
    "action": _write_simple,
    "bizStep": _cbv_writer("bizStep"),
    "disposition": _cbv_writer("disposition"),
    "persistentDisposition": _write_persistent,
    "readPoint": _write_location,
    "bizLocation": _write_location,
    "bizTransactionList": _typed_list_writer("bizTransaction", "bizTransactionType"),
    "sourceList": _typed_list_writer("source", "sourceDestType"),
    "destinationList": _typed_list_writer("destination", "sourceDestType"),
    "sensorElementList": _write_sensors,
    "ilmd": _write_ilmd,
}


# ---------------------------------------------------------------------------------------------
# header, master data, document


def _write_vocabularies(w: _Writer, out: list[str], depth: int, value: Any, where: str) -> None:
    vocabularies = _list_of(value, where)
    if not vocabularies:
        out.append(f"{w.nl(depth)}<VocabularyList/>")
        return
    out.append(f"{w.nl(depth)}<VocabularyList>")
    for vocabulary in vocabularies:
        vocabulary = _dict_of(vocabulary, where)
        kind = _string(vocabulary.get("type"), f"type of a vocabulary in {where}")
        out.append(f'{w.nl(depth + 1)}<Vocabulary type="{_attribute(kind)}">')
        inner = depth + 2
        elements = vocabulary.get("vocabularyElementList")
        if elements is not None:
            out.append(f"{w.nl(inner)}<VocabularyElementList>")
            for element in _list_of(elements, where):
                _write_vocabulary_element(w, out, inner + 1, _dict_of(element, where), where)
            out.append(f"{w.nl(inner)}</VocabularyElementList>")
        w.container_extensions(out, inner, vocabulary, ("type", "vocabularyElementList"), where)
        out.append(f"{w.nl(depth + 1)}</Vocabulary>")
    out.append(f"{w.nl(depth)}</VocabularyList>")


def _write_vocabulary_element(
    w: _Writer, out: list[str], depth: int, element: dict[str, Any], where: str
) -> None:
    identifier = _string(element.get("id"), f"id of a vocabulary element in {where}")
    out.append(f'{w.nl(depth)}<VocabularyElement id="{_attribute(identifier)}">')
    inner = depth + 1
    for attribute in _list_of(element.get("attributes", []), where):
        attribute = _dict_of(attribute, where)
        extra = [("id", _string(attribute.get("id"), f"id of an attribute in {where}"))]
        extra += [
            (name, _scalar(item, where))
            for name, item in attribute.items()
            if name not in ("id", "attribute")
        ]
        start = w.start("", extra, where)
        content = attribute.get("attribute", "")
        if isinstance(content, dict):
            text = content.get(TEXT_KEY)
            children = [(name, item) for name, item in content.items() if name != TEXT_KEY]
            if not children:
                w.leaf(out, inner, "attribute", _scalar(text, where), start)
                continue
            out.append(f"{w.nl(inner)}<attribute{start}>")
            if text:
                out.append(_text(_scalar(text, where)))
            for name, item in children:
                w.value(out, inner + 1, name, item, where)
            out.append(f"{w.nl(inner)}</attribute>")
        else:
            w.leaf(out, inner, "attribute", _scalar(content, where), start)
    if "children" in element:
        ids = _list_of(element["children"], where)
        out.append(f"{w.nl(inner)}<children>")
        for child in ids:
            w.leaf(out, inner + 1, "id", _string(child, where))
        out.append(f"{w.nl(inner)}</children>")
    w.container_extensions(out, inner, element, ("id", "attributes", "children"), where)
    out.append(f"{w.nl(depth)}</VocabularyElement>")


def _write_master_data(w: _Writer, out: list[str], depth: int, value: Any) -> None:
    master = _dict_of(value, "epcisMasterData")
    out.append(f"{w.nl(depth)}<EPCISMasterData>")
    _write_vocabularies(w, out, depth + 1, master.get("vocabularyList", []), "epcisMasterData")
    bare = [(name, item) for name, item in master.items() if name != "vocabularyList"]
    for name, _ in bare:
        if ":" in name:
            raise EPCISError(f"epcisMasterData: the namespaced entry {name!r} has no XML form")
    w.local_extension(out, depth + 1, bare, "epcisMasterData")
    out.append(f"{w.nl(depth)}</EPCISMasterData>")


def _synthetic_sbdh(doc: EPCISDocument) -> dict[str, Any] | None:
    """A minimal SBDH from the JSON-LD ``sender``/``receiver`` (EPCIS 1.2 requires one)."""
    sender = doc.attributes.get("sender")
    receiver = doc.attributes.get("receiver")
    if not isinstance(sender, str) or not isinstance(receiver, str):
        return None
    instance = doc.attributes.get("instanceIdentifier")
    return {
        "sbdh:HeaderVersion": "1.0",
        "sbdh:Sender": {"sbdh:Identifier": sender},
        "sbdh:Receiver": {"sbdh:Identifier": receiver},
        "sbdh:DocumentIdentification": {
            "sbdh:Standard": "EPCglobal",
            "sbdh:TypeVersion": "1.0",
            "sbdh:InstanceIdentifier": instance if isinstance(instance, str) else "1",
            "sbdh:Type": "Events",
            "sbdh:CreationDateAndTime": doc.creation_date or _now(),
        },
    }


def _write_header(w: _Writer, out: list[str], depth: int, header: dict[str, Any]) -> list[tuple[str, Any]]:
    """Write ``EPCISHeader``; return the namespaced header entries 2.0 XML has no place for."""
    sbdh_key = "sbdh:StandardBusinessDocumentHeader"
    sbdh = header.get(sbdh_key)
    if sbdh is None and w.v12:
        sbdh = _synthetic_sbdh(w.doc)
        if sbdh is not None:
            w.note(
                "header",
                "EPCIS 1.2 requires an SBDH: made one from the document's sender and receiver",
                False,
            )
        else:
            w.note(
                "header",
                "EPCIS 1.2 requires a StandardBusinessDocumentHeader and the document has none "
                "(nor sender and receiver to make one): the output is not valid 1.2",
                False,
            )
    out.append(f"{w.nl(depth)}<EPCISHeader>")
    inner = depth + 1
    if sbdh is not None:
        w.value(out, inner, sbdh_key, sbdh, "the header")
    master = header.get("epcisMasterData")
    bare = [(name, item) for name, item in header.items() if ":" not in name and name != "epcisMasterData"]
    if master is not None or bare:
        out.append(f"{w.nl(inner)}<extension>")
        if master is not None:
            _write_master_data(w, out, inner + 1, master)
        w.local_extension(out, inner + 1, bare, "the header")
        out.append(f"{w.nl(inner)}</extension>")
    namespaced = [(name, item) for name, item in header.items() if ":" in name and name != sbdh_key]
    if w.v12:
        for name, item in namespaced:
            w.value(out, inner, name, item, "the header")
        namespaced = []
    out.append(f"{w.nl(depth)}</EPCISHeader>")
    return namespaced


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _root_attributes(w: _Writer) -> tuple[str, list[tuple[str, Any]]]:
    """The root element's attributes, and the document-level elements (``attributes`` dict values)."""
    doc = w.doc
    creation = doc.creation_date
    if creation is None:
        creation = _now()
        w.note("creationDate", "the document had no creationDate, which XML requires: set to now", False)
    attributes = [("schemaVersion", w.version), ("creationDate", _string(creation, "creationDate"))]
    elements: list[tuple[str, Any]] = []
    for name, value in doc.attributes.items():
        if name in ("schemaVersion", "creationDate", "epcisBody"):
            continue
        if isinstance(value, (dict, list)):
            elements.append((name, value))
            continue
        if (
            name == "xsi:schemaLocation"
            and isinstance(value, str)
            and not (w.epcis_ns in value or w.query_ns in value or w.master_data_ns in value)
        ):
            continue  # it points at the other version's XSD
        attributes.append((name, _scalar(value, name)))
    return w.start("", attributes, "the document's attributes"), elements


class _Sink:
    """Where the text goes: a binary file, in chunks."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.buffer: list[str] = []
        self.size = 0

    def add(self, parts: list[str]) -> None:
        for part in parts:
            self.size += len(part)
        self.buffer.extend(parts)
        parts.clear()
        if self.size > 1 << 16:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.target.write("".join(self.buffer).encode("utf-8"))
            self.buffer.clear()
            self.size = 0


def _write(
    doc: EPCISDocument,
    events: Iterable[Event],
    target: IO[bytes],
    version: XMLVersion,
    cbv_format: CBVFormat,
    epc_format: EPCFormat,
    new_fields: NewFields,
    indent: bool,
) -> tuple[int, list[XMLWriteWarning]]:
    w = _Writer(doc, version, cbv_format, epc_format, new_fields, indent)
    sink = _Sink(target)
    out: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>']
    master_data_document = doc.kind == "EPCISMasterDataDocument"
    root_name = doc.kind if doc.kind in ("EPCISQueryDocument", "EPCISMasterDataDocument") else "EPCISDocument"
    root = f"{w.root_prefix}:{root_name}"
    attributes, document_elements = _root_attributes(w)
    out.append(f"{w.nl(0)}<{root}{w.root_namespaces()}{attributes}>")
    header = dict(_dict_of(doc.header, "the header")) if doc.header else {}
    master_data: Any = header.pop("epcisMasterData", None) if master_data_document else None
    if w.v12 and doc.schema_version != "1.2":
        # Header extensions came from a document 2.0 XML wrote (it has no place for them in its
        # EPCISHeader and puts them after EPCISBody) or JSON-LD read: 1.2 has the place, so the
        # namespaced document-level elements go back into EPCISHeader.
        moved = [(name, item) for name, item in document_elements if ":" in name and name not in header]
        if moved:
            moved_names = {name for name, _ in moved}
            document_elements = [(name, item) for name, item in document_elements if name not in moved_names]
            for name, item in moved:
                header[name] = item[TEXT_KEY] if isinstance(item, dict) and list(item) == [TEXT_KEY] else item
    header_leftovers: list[tuple[str, Any]] = []
    if header:
        header_leftovers = _write_header(w, out, 1, header)
    elif w.v12 and _synthetic_sbdh(doc) is not None:
        header_leftovers = _write_header(w, out, 1, {})
    out.append(f"{w.nl(1)}<EPCISBody>")
    depth = 2
    query = doc.query if isinstance(doc.query, dict) else {}
    other_message = doc.is_query and len(query) == 1 and "queryName" not in query
    if doc.is_query and not other_message:
        out.append(f"{w.nl(2)}<{w.root_prefix}:QueryResults>")
        if "queryName" in query:  # required: absent only when the source lacked it too
            w.leaf(out, 3, "queryName", _scalar(query["queryName"], "queryName"))
        if "subscriptionID" in query:
            w.leaf(out, 3, "subscriptionID", _scalar(query["subscriptionID"], "subscriptionID"))
        out.append(f"{w.nl(3)}<resultsBody>")
        depth = 4
    count = 0
    if master_data_document:
        master = _dict_of(master_data, "epcisMasterData") if master_data is not None else {}
        _write_vocabularies(w, out, 2, master.get("vocabularyList", []), "the master data document")
        for _ in events:
            raise EPCISError("a master data document holds no events")
    elif other_message:
        name, content = next(iter(query.items()))
        w.value(out, 2, f"{w.root_prefix}:{name}", content, "the query body")
    else:
        results = query.get("resultsBody") if doc.is_query else None
        vocabularies = results.get("vocabularyList") if isinstance(results, dict) else None
        if vocabularies is not None:
            _write_vocabularies(w, out, depth, vocabularies, "resultsBody")
            for _ in events:
                raise EPCISError("a query answer holds events or master data, not both")
        else:
            out.append(f"{w.nl(depth)}<EventList>")
            for event in events:
                w.event(out, depth + 1, event)
                count += 1
                sink.add(out)
            out.append(f"{w.nl(depth)}</EventList>")
    if doc.is_query and not other_message:
        out.append(f"{w.nl(3)}</resultsBody>")
        w.container_extensions(out, 3, query, ("queryName", "subscriptionID", "resultsBody"), "queryResults")
        out.append(f"{w.nl(2)}</{w.root_prefix}:QueryResults>")
    body = doc.attributes.get("epcisBody")
    if isinstance(body, dict) and body:
        w.container_extensions(out, 2, body, (), "epcisBody")
    out.append(f"{w.nl(1)}</EPCISBody>")
    bare = [(name, item) for name, item in document_elements if ":" not in name]
    w.local_extension(out, 1, bare, "the document")
    for name, item in header_leftovers:
        w.note(
            f"header {name}",
            "EPCIS 2.0 XML has no place for extensions in EPCISHeader: written at the "
            "end of the document (XSD-valid); read back, it is a document-level entry",
            False,
        )
        w.value(out, 1, name, item, "the header")
    for name, item in document_elements:
        if ":" in name:
            if isinstance(item, dict) and list(item) == [TEXT_KEY]:
                item = item[TEXT_KEY]
            w.value(out, 1, name, item, "the document")
    out.append(f"{w.nl(0)}</{root}>\n")
    sink.add(out)
    sink.flush()
    return count, w.warnings()


def write_xml(
    doc: EPCISDocument,
    *,
    version: XMLVersion = "2.0",
    cbv_format: CBVFormat = None,
    epc_format: EPCFormat = None,
    new_fields: NewFields = "carry",
    indent: bool = False,
    warnings: list[XMLWriteWarning] | None = None,
) -> bytes:
    """The document as EPCIS 2.0 or 1.2 XML (UTF-8 bytes); ``warnings`` collects what could not
    be written as it was (see :class:`XMLWriteWarning`)."""
    target = io.BytesIO()
    _, notes = _write(doc, doc.events, target, version, cbv_format, epc_format, new_fields, indent)
    if warnings is not None:
        warnings.extend(notes)
    return target.getvalue()


def write_xml_stream(
    doc: EPCISDocument,
    events: Iterable[Event],
    target: IO[bytes] | str | os.PathLike[str],
    *,
    version: XMLVersion = "2.0",
    cbv_format: CBVFormat = None,
    epc_format: EPCFormat = None,
    new_fields: NewFields = "carry",
    indent: bool = False,
    warnings: list[XMLWriteWarning] | None = None,
) -> int:
    """Write ``doc``'s header parts and then ``events`` (any iterable, consumed once) to ``target``
    (a binary file or a path), in bounded memory. ``doc.events`` is ignored. Returns the number of
    events written."""
    if isinstance(target, (str, os.PathLike)):
        with open(target, "wb") as file:
            count, notes = _write(doc, events, file, version, cbv_format, epc_format, new_fields, indent)
    else:
        count, notes = _write(doc, events, target, version, cbv_format, epc_format, new_fields, indent)
    if warnings is not None:
        warnings.extend(notes)
    return count


def write_capture_job(job: dict[str, Any], *, indent: bool = False) -> bytes:
    """An ``epcis:EPCISCaptureJob`` from its JSON shape (see ``read_capture_job``)."""
    doc = EPCISDocument()
    w = _Writer(doc, "2.0", None, None, "carry", indent)
    attributes = []
    for name in ("running", "success", "captureID"):
        if name not in job:
            raise EPCISError(f"a capture job needs {name}")
        value = job[name]
        if name != "captureID" and not isinstance(value, bool):
            raise EPCISError(f"{name} must be true or false", found=repr(value))
        attributes.append(f' {name}="{_attribute(_scalar(value, name))}"')
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'{w.nl(0)}<epcis:EPCISCaptureJob xmlns:epcis="{EPCIS_2_0_NAMESPACE}"{"".join(attributes)}>']  # fmt: skip
    w.leaf(
        out, 1, "captureErrorBehaviour", _string(job.get("captureErrorBehaviour"), "captureErrorBehaviour")
    )
    for name in ("createdAt", "finishedAt"):
        if name in job:
            w.leaf(out, 1, name, _string(job[name], name))
    if job.get("errors"):
        out.append(f"{w.nl(1)}<errors>")
        for problem in _list_of(job["errors"], "errors"):
            problem = _dict_of(problem, "errors")
            out.append(f"{w.nl(2)}<error>")
            for name in ("type", "title", "status", "detail", "instance"):
                if name in problem:
                    w.leaf(out, 3, name, _scalar(problem[name], name))
            w.extensions(out, 3, problem, ["type", "title", "status", "detail", "instance"], "error")
            out.append(f"{w.nl(2)}</error>")
        out.append(f"{w.nl(1)}</errors>")
    elif "errorFile" in job:
        w.leaf(out, 1, "errorFile", _string(job["errorFile"], "errorFile"))
    known = (
        "running",
        "success",
        "captureID",
        "captureErrorBehaviour",
        "createdAt",
        "finishedAt",
        "errors",
        "errorFile",
    )
    w.extensions(out, 1, job, known, "the capture job")
    out.append(f"{w.nl(0)}</epcis:EPCISCaptureJob>\n")
    return "".join(out).encode("utf-8")
