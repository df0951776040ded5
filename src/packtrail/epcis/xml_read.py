"""Read EPCIS 2.0 and 1.2 XML into the JSON-LD shape (streaming, lxml ``iterparse``).

Use :func:`packtrail.epcis.xml.read_xml` and :func:`packtrail.epcis.xml.iter_xml_events`; this
module holds the reader and the name tables the writer shares. How XML maps onto the JSON-LD
shape is described in :mod:`packtrail.epcis.xml`.

>>> from packtrail.epcis.xml_read import iter_xml_events
>>> stream = iter_xml_events(b'''<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"
...   schemaVersion="2.0" creationDate="2024-03-01T10:05:00Z"><EPCISBody><EventList>
...   <ObjectEvent><eventTime>2024-03-01T10:00:00Z</eventTime>
...   <eventTimeZoneOffset>+01:00</eventTimeZoneOffset><action>OBSERVE</action></ObjectEvent>
...   </EventList></EPCISBody></epcis:EPCISDocument>''')
>>> stream.document.creation_date
'2024-03-01T10:05:00Z'
>>> [event["action"] for event in stream]
['OBSERVE']
"""

from __future__ import annotations

import gc
import io
import os
import re
from collections.abc import Callable, Iterator
from typing import IO, Any, Final, TypeAlias

from lxml import etree

from packtrail.epcis.document import SBDH_NAMESPACE, EPCISDocument, Event
from packtrail.epcis.errors import EPCISError

__all__ = [
    "CAPTURE_JOB_FIELDS",
    "EPCIS_1_2_NAMESPACE",
    "EPCIS_2_0_NAMESPACE",
    "QUERY_1_2_NAMESPACE",
    "QUERY_2_0_NAMESPACE",
    "TEXT_KEY",
    "XMLEventStream",
    "XMLSource",
    "iter_xml_events",
    "read_capture_job",
    "read_xml",
]

XMLSource: TypeAlias = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]
"""What the readers take: XML bytes, a path, a binary file object, or XML text (a ``str`` starting with ``<``)."""

EPCIS_2_0_NAMESPACE: Final = "urn:epcglobal:epcis:xsd:2"
EPCIS_1_2_NAMESPACE: Final = "urn:epcglobal:epcis:xsd:1"
QUERY_2_0_NAMESPACE: Final = "urn:epcglobal:epcis-query:xsd:2"
QUERY_1_2_NAMESPACE: Final = "urn:epcglobal:epcis-query:xsd:1"
MASTERDATA_2_0_NAMESPACE: Final = "urn:epcglobal:epcis-masterdata:xsd:2"
MASTERDATA_1_2_NAMESPACE: Final = "urn:epcglobal:epcis-masterdata:xsd:1"
XSI_NAMESPACE: Final = "http://www.w3.org/2001/XMLSchema-instance"
XML_NAMESPACE: Final = "http://www.w3.org/XML/1998/namespace"

TEXT_KEY: Final = "#text"
"""Key of an element's own text in the dict of an element that also has attributes (see the XML module)."""

STANDARD_NAMESPACES: Final = frozenset(
    {
        EPCIS_2_0_NAMESPACE,
        EPCIS_1_2_NAMESPACE,
        QUERY_2_0_NAMESPACE,
        QUERY_1_2_NAMESPACE,
        MASTERDATA_2_0_NAMESPACE,
        MASTERDATA_1_2_NAMESPACE,
    }
)
"""The EPCIS namespaces themselves: not extension namespaces, never in ``EPCISDocument.namespaces``."""

PREFERRED_PREFIXES: Final = {
    SBDH_NAMESPACE: "sbdh",
    XSI_NAMESPACE: "xsi",
    "urn:epcglobal:cbv:mda": "cbvmda",
    "http://epcis.gs1us.org/hc/ns": "gs1ushc",
    "https://gs1.org/voc/": "gs1",
    "https://ref.gs1.org/cbv/": "cbv",
    "http://www.w3.org/2001/XMLSchema": "xsd",
}
"""Prefixes used for well-known namespaces that a document declares without a prefix
(``xmlns="..."``); the SBDH namespace always gets ``sbdh`` (the header dict is keyed ``sbdh:...``)."""

EVENT_TYPE_NAMES: Final = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)

CAPTURE_JOB_FIELDS: Final = (
    "captureID",
    "running",
    "success",
    "captureErrorBehaviour",
    "createdAt",
    "finishedAt",
)

_NAME_LIST: Final = """
    EPCISDocument EPCISQueryDocument EPCISMasterDataDocument EPCISHeader EPCISBody EventList
    EPCISMasterData VocabularyList Vocabulary VocabularyElementList VocabularyElement attribute children
    QueryResults queryName subscriptionID resultsBody extension baseExtension QuantityEvent
    eventTime recordTime eventTimeZoneOffset eventID errorDeclaration certificationInfo parentID
    epcList childEPCs inputEPCList outputEPCList quantityList childQuantityList inputQuantityList
    outputQuantityList transformationID action bizStep disposition persistentDisposition readPoint
    bizLocation bizTransactionList sourceList destinationList sensorElementList ilmd
    epc quantityElement epcClass quantity uom id bizTransaction source destination
    sensorElement sensorMetadata sensorReport set unset
    declarationTime reason correctiveEventIDs correctiveEventID
"""
_STANDARD_NAMES: Final = (*EVENT_TYPE_NAMES, *_NAME_LIST.split())
"""Element names of EPCIS's own XML vocabulary (document structure, event fields, their parts)."""


def _standard_tags() -> dict[str, str]:
    table: dict[str, str] = {}
    for name in _STANDARD_NAMES:
        table[name] = name
        for namespace in STANDARD_NAMESPACES:
            table[f"{{{namespace}}}{name}"] = name
    return table


_STD: Final = _standard_tags()
"""Tag (unqualified, or in an EPCIS namespace: lenient readers accept ``epcis:epcList``) -> local name."""

_DOUBLE: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_INTEGER: Final = re.compile(r"[+-]?[0-9]+", re.ASCII)
_SPECIAL_DOUBLES: Final = {
    "INF": float("inf"),
    "+INF": float("inf"),
    "-INF": float("-inf"),
    "NaN": float("nan"),
}
_ENCODING_DECLARATION: Final = re.compile(r"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")

SENSOR_REPORT_NUMBERS: Final = frozenset(
    {"value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue"}
)
"""``sensorReport`` attributes of type ``xsd:double``: numbers (float) in the JSON-LD shape."""

SENSOR_REPORT_BOOLEANS: Final = frozenset({"booleanValue"})


class _Bad(Exception):
    """Internal: a problem at an element; the stream turns it into an EPCISError with a path."""

    def __init__(self, element: Any, reason: str, expected: str | None = None, found: str | None = None):
        super().__init__(reason)
        self.element = element
        self.reason = reason
        self.expected = expected
        self.found = found


def _describe(tag: Any) -> str:
    if not isinstance(tag, str):
        return "a comment"
    if tag.startswith("{"):
        namespace, local = tag[1:].split("}", 1)
        return f"<{local}> (namespace {namespace})"
    return f"<{tag}>"


_SCHEME_PREFIXES: Final = frozenset({"http", "https", "urn", "ftp", "file", "mailto", "tag", "ni", "did"})


class _Names:
    """The prefix <-> namespace bookkeeping of one document, and the tag -> key cache."""

    __slots__ = ("_candidates", "_generated", "_keys", "_uri_prefix", "namespaces")

    def __init__(self, namespaces: dict[str, str]) -> None:
        self.namespaces = namespaces
        self._uri_prefix: dict[str, str] = {}
        self._keys: dict[str, str] = {}
        self._generated: set[str] = set()
        self._candidates: dict[str, str | None] = {}

    def candidate(self, prefix: str | None, uri: str) -> None:
        """Note a declaration below the root: its prefix is used once a key needs the namespace
        (so a declaration that only serves attribute values does not enter ``namespaces``)."""
        if uri not in self._candidates:
            self._candidates[uri] = prefix

    def declare(self, prefix: str | None, uri: str) -> None:
        """Record an ``xmlns`` declaration (called for every ``start-ns`` event).

        A namespace keeps the first prefix declared for it. Declarations without a prefix, and
        prefixes that read as URI schemes (``https``: ``https:field`` would be an IRI in JSON-LD),
        get a generated prefix, which a later proper prefix for the same namespace replaces.
        """
        if uri in STANDARD_NAMESPACES or uri == XML_NAMESPACE:
            return
        proper = prefix if prefix and prefix not in _SCHEME_PREFIXES and uri != SBDH_NAMESPACE else None
        known = self._uri_prefix.get(uri)
        if known is not None:
            if proper is not None and uri in self._generated and proper not in self.namespaces:
                self._generated.discard(uri)
                if not any(key.startswith(known + ":") for key in self._keys.values()):
                    del self.namespaces[known]
                self.namespaces[proper] = uri
                self._uri_prefix[uri] = proper
            return
        if proper is not None:
            self._bind(proper, uri)
        else:
            self._bind(PREFERRED_PREFIXES.get(uri, "ns"), uri)
            if uri != SBDH_NAMESPACE:
                self._generated.add(uri)

    def _bind(self, wanted: str, uri: str) -> str:
        prefix = wanted
        number = 1
        while prefix in self.namespaces and self.namespaces[prefix] != uri:
            number += 1
            prefix = f"{wanted}{number}"
        self.namespaces[prefix] = uri
        self._uri_prefix[uri] = prefix
        return prefix

    def key(self, tag: str) -> str:
        """The JSON-LD key of an element or attribute name: ``prefix:local``, or ``local`` when unqualified."""
        key = self._keys.get(tag)
        if key is None:
            if tag.startswith("{"):
                uri, local = tag[1:].split("}", 1)
                if uri == XML_NAMESPACE:
                    prefix = "xml"
                else:
                    found = self._uri_prefix.get(uri)
                    if found is None:
                        self.declare(self._candidates.get(uri), uri)
                        found = self._uri_prefix.get(uri) or self._bind(
                            PREFERRED_PREFIXES.get(uri, "ns"), uri
                        )
                    prefix = found
                key = f"{prefix}:{local}"
            else:
                key = tag
            self._keys[tag] = key
        return key


# ---------------------------------------------------------------------------------------------
# values


def _text(element: Any) -> str:
    """The text of a simple element, stripped; element children are an error."""
    if len(element):
        for child in element:
            if isinstance(child.tag, str):
                raise _Bad(
                    child, f"{_describe(element.tag)} holds text, not elements", found=_describe(child.tag)
                )
        return "".join(element.itertext()).strip()
    text = element.text
    return text.strip() if text else ""


def _decimal(element: Any, text: str) -> int | float:
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DOUBLE.fullmatch(text):
        return float(text)
    raise _Bad(
        element, f"{_describe(element.tag)} must be a number", expected="a decimal number", found=repr(text)
    )


def _double(element: Any, name: str, text: str) -> float:
    if _DOUBLE.fullmatch(text):
        return float(text)
    special = _SPECIAL_DOUBLES.get(text)
    if special is not None:
        return special
    raise _Bad(element, f"attribute {name} must be a number", expected="an xsd:double", found=repr(text))


def _boolean(element: Any, name: str, text: str) -> bool:
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise _Bad(element, f"{name} must be true or false", expected="true, false, 1 or 0", found=repr(text))


def _add(target: dict[str, Any], key: str, value: Any) -> None:
    """Add an extension value; a repeated element becomes a list (in document order)."""
    previous = target.get(key)
    if previous is None and key not in target:
        target[key] = value
    elif isinstance(previous, list):
        previous.append(value)
    else:
        target[key] = [previous, value]


def extension_value(element: Any, names: _Names) -> Any:
    """Any XML element as JSON-LD-shaped data (the convention of the XML module docstring).

    Text only -> the stripped text; otherwise a dict: attributes first, then ``"#text"`` when the
    element has attributes or text besides child elements, then child elements (repeats -> list).
    """
    attributes = element.attrib
    children = [child for child in element if isinstance(child.tag, str)]
    if not attributes and not children:
        return _text(element)
    value: dict[str, Any] = {}
    for name, attribute in attributes.items():
        value[names.key(name)] = attribute
    text = element.text
    if children:
        # text around child elements (mixed content) is kept when it is more than layout
        text = "".join(part for part in [text, *(child.tail for child in element)] if part and part.strip())
    if attributes or text:
        value[TEXT_KEY] = text.strip() if text else ""
    taken = frozenset(value) if value else frozenset()
    for child in children:
        key = names.key(child.tag)
        if key in taken:
            raise _Bad(child, f"{_describe(child.tag)} has the same name as an attribute of its parent")
        _add(value, key, extension_value(child, names))
    return value


def attribute_keys(value: dict[str, Any]) -> list[str]:
    """The keys of an element's dict that stand for XML attributes: those before ``"#text"``.

    >>> attribute_keys({"measurementUnitCode": "KGM", "#text": "3.5"})
    ['measurementUnitCode']
    >>> attribute_keys({"example:machine": "A-1"})
    []
    """
    keys: list[str] = []
    for key in value:
        if key == TEXT_KEY:
            return keys
        keys.append(key)
    return []


_RESERVED_KEYS: Final = frozenset({"type", TEXT_KEY})
"""Keys an extension element may not take: they mean something else in the JSON-LD shape."""


def _add_extension(target: dict[str, Any], child: Any, name: str | None, names: _Names) -> None:
    """Add an extension element to a container dict.

    Namespaced elements become ``prefix:name`` keys; unqualified ones (allowed by the ``##local``
    wildcard of EPCIS ``<extension>`` elements, or found by a lenient read) become bare keys.
    """
    key = name if name is not None else names.key(child.tag)
    if key in _RESERVED_KEYS:
        raise _Bad(child, f"an extension element may not be called {key!r}", found=_describe(child.tag))
    _add(target, key, extension_value(child, names))


def _fill(
    target: dict[str, Any],
    element: Any,
    fields: dict[str, Callable[[Any, _Names], Any]],
    names: _Names,
    wrappers: frozenset[str],
) -> None:
    """Fill a container (event, readPoint, ilmd, ...) from the children of ``element``.

    Standard children go through ``fields``; ``<extension>`` (and, in events, ``<baseExtension>``)
    wrappers are flattened; anything else is an extension.
    """
    for child in element:
        tag = child.tag
        name = _STD.get(tag)
        if name is not None:
            convert = fields.get(name)
            if convert is not None:
                key = _JSON_NAMES.get(name, name)
                if key in target:
                    if key != "certificationInfo":
                        raise _Bad(child, f"<{name}> appears twice")
                    previous = target[key]
                    target[key] = [*(previous if isinstance(previous, list) else [previous]), _text(child)]
                else:
                    target[key] = convert(child, names)
                continue
            if name in wrappers:
                _fill(target, child, fields, names, wrappers)
                continue
        elif not isinstance(tag, str):
            continue  # comment, processing instruction, entity reference
        else:
            cached = names._keys.get(tag)
            if cached is not None and not len(child) and not child.attrib:  # the common case, quickly
                text = child.text
                _add(target, cached, text.strip() if text else "")
                continue
        _add_extension(target, child, name, names)


def _namespaced_attributes_into(target: dict[str, Any], element: Any, names: _Names) -> None:
    for name, value in element.attrib.items():
        if name.startswith("{"):
            target[names.key(name)] = value


_JSON_NAMES: Final = {
    "EPCISMasterData": "epcisMasterData",
    "VocabularyList": "vocabularyList",
    "VocabularyElementList": "vocabularyElementList",
}
"""XML element names that differ from their JSON-LD key (all others are the same)."""

_EXTENSION: Final = frozenset({"extension"})
_EVENT_WRAPPERS: Final = frozenset({"extension", "baseExtension"})
_NO_FIELDS: Final[dict[str, Callable[[Any, _Names], Any]]] = {}


# ---------------------------------------------------------------------------------------------
# event fields


def _simple(element: Any, names: _Names) -> str:
    return _text(element)


def _items(element: Any, item: str) -> Iterator[Any]:
    """The ``<item>`` children of a list element; anything else there is an error."""
    for child in element:
        if _STD.get(child.tag) == item:
            yield child
        elif isinstance(child.tag, str):
            raise _Bad(child, f"only <{item}> may be in {_describe(element.tag)}", found=_describe(child.tag))


def _epc_list(element: Any, names: _Names) -> list[str]:
    return [_text(child) for child in _items(element, "epc")]


def _quantity_list(element: Any, names: _Names) -> list[dict[str, Any]]:
    quantities: list[dict[str, Any]] = []
    for child in _items(element, "quantityElement"):
        entry: dict[str, Any] = {}
        for part in child:
            name = _STD.get(part.tag)
            if name == "epcClass" or name == "uom":
                entry[name] = _text(part)
            elif name == "quantity":
                if part.get(f"{{{XSI_NAMESPACE}}}nil") not in ("true", "1"):
                    entry["quantity"] = _decimal(part, _text(part))
            elif isinstance(part.tag, str):
                raise _Bad(part, f"{_describe(part.tag)} is not allowed in <quantityElement>")
        quantities.append(entry)
    return quantities


_LOCATION_FIELDS: Final[dict[str, Callable[[Any, _Names], Any]]] = {"id": _simple}


def _location(element: Any, names: _Names) -> dict[str, Any]:
    location: dict[str, Any] = {}
    _fill(location, element, _LOCATION_FIELDS, names, _EXTENSION)
    return location


def _typed_list(item: str) -> Callable[[Any, _Names], list[dict[str, Any]]]:
    def convert(element: Any, names: _Names) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        for child in _items(element, item):
            entry: dict[str, Any] = {}
            for name, value in child.attrib.items():
                entry[names.key(name)] = value
            entry[item] = _text(child)
            entries.append(entry)
        return entries

    return convert


def _sensor_attributes(element: Any, names: _Names) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in element.attrib.items():
        if name in SENSOR_REPORT_NUMBERS:
            values[name] = _double(element, name, value.strip())
        elif name in SENSOR_REPORT_BOOLEANS:
            values[name] = _boolean(element, name, value.strip())
        else:
            values[names.key(name)] = value
    text = _text(element)
    if text:
        values[TEXT_KEY] = text
    return values


def _sensor_element(element: Any, names: _Names) -> dict[str, Any]:
    sensor: dict[str, Any] = {}
    for part in element:
        name = _STD.get(part.tag)
        if name == "sensorReport":
            reports = sensor.get("sensorReport")
            if reports is None:
                reports = sensor["sensorReport"] = []
            reports.append(_sensor_attributes(part, names))
        elif name == "sensorMetadata":
            if name in sensor:
                raise _Bad(part, "<sensorMetadata> appears twice")
            sensor[name] = _sensor_attributes(part, names)
        elif name == "extension":
            _fill(sensor, part, _NO_FIELDS, names, _EXTENSION)
        elif isinstance(part.tag, str):
            _add_extension(sensor, part, name, names)
    return sensor


def _sensor_element_list(element: Any, names: _Names) -> list[dict[str, Any]]:
    sensors: list[dict[str, Any]] = []
    for child in element:
        name = _STD.get(child.tag)
        if name == "sensorElement":
            sensors.append(_sensor_element(child, names))
        elif name == "extension":
            if any(isinstance(part.tag, str) for part in child):
                raise _Bad(child, "<sensorElementList><extension> has no JSON-LD counterpart")
        elif isinstance(child.tag, str):
            raise _Bad(
                child, "only <sensorElement> may be in <sensorElementList>", found=_describe(child.tag)
            )
    return sensors


def _fill_from(
    target: dict[str, Any],
    children: list[Any],
    fields: dict[str, Callable[[Any, _Names], Any]],
    names: _Names,
) -> None:
    for child in children:
        name = _STD.get(child.tag)
        if name is not None and name in fields:
            key = _JSON_NAMES.get(name, name)
            if key in target:
                raise _Bad(child, f"<{name}> appears twice")
            target[key] = fields[name](child, names)
        elif name == "extension":
            _fill(target, child, fields, names, _EXTENSION)
        elif isinstance(child.tag, str):
            _add_extension(target, child, name, names)


def _persistent_disposition(element: Any, names: _Names) -> dict[str, Any]:
    value: dict[str, list[str]] = {}
    for child in element:
        name = _STD.get(child.tag)
        if name == "set" or name == "unset":
            value.setdefault(name, []).append(_text(child))
        elif isinstance(child.tag, str):
            raise _Bad(child, "only <set> and <unset> may be in <persistentDisposition>")
    return value


def _corrective_ids(element: Any, names: _Names) -> list[str]:
    return [_text(child) for child in _items(element, "correctiveEventID")]


_ERROR_FIELDS: Final[dict[str, Callable[[Any, _Names], Any]]] = {
    "declarationTime": _simple,
    "reason": _simple,
    "correctiveEventIDs": _corrective_ids,
}


def _error_declaration(element: Any, names: _Names) -> dict[str, Any]:
    value: dict[str, Any] = {}
    _namespaced_attributes_into(value, element, names)
    _fill(value, element, _ERROR_FIELDS, names, _EXTENSION)
    return value


def _ilmd(element: Any, names: _Names) -> dict[str, Any]:
    value: dict[str, Any] = {}
    _namespaced_attributes_into(value, element, names)
    _fill(value, element, _NO_FIELDS, names, _EXTENSION)
    return value


_EVENT_FIELDS: Final[dict[str, Callable[[Any, _Names], Any]]] = {
    "eventTime": _simple,
    "recordTime": _simple,
    "eventTimeZoneOffset": _simple,
    "eventID": _simple,
    "errorDeclaration": _error_declaration,
    "certificationInfo": _simple,
    "parentID": _simple,
    "epcList": _epc_list,
    "childEPCs": _epc_list,
    "inputEPCList": _epc_list,
    "outputEPCList": _epc_list,
    "quantityList": _quantity_list,
    "childQuantityList": _quantity_list,
    "inputQuantityList": _quantity_list,
    "outputQuantityList": _quantity_list,
    "transformationID": _simple,
    "action": _simple,
    "bizStep": _simple,
    "disposition": _simple,
    "persistentDisposition": _persistent_disposition,
    "readPoint": _location,
    "bizLocation": _location,
    "bizTransactionList": _typed_list("bizTransaction"),
    "sourceList": _typed_list("source"),
    "destinationList": _typed_list("destination"),
    "sensorElementList": _sensor_element_list,
    "ilmd": _ilmd,
}
"""Event field (XML element = JSON-LD key) -> converter. The same table serves all five types
and both versions: which fields a type may have is the validator's business."""


def _tag_variants(name: str) -> list[str]:
    return [name, *(f"{{{namespace}}}{name}" for namespace in STANDARD_NAMESPACES)]


_SIMPLE, _EPCS, _LOCATION, _TYPED, _WRAPPER, _OTHER = range(6)
_TYPED_ITEMS: Final = {
    "bizTransactionList": "bizTransaction",
    "sourceList": "source",
    "destinationList": "destination",
}


def _event_spec() -> dict[str, tuple[int, str, Any]]:
    spec: dict[str, tuple[int, str, Any]] = {}
    for name, convert in _EVENT_FIELDS.items():
        if convert is _simple:
            entry: tuple[int, str, Any] = (_SIMPLE, name, None)
        elif convert is _epc_list:
            entry = (_EPCS, name, None)
        elif convert is _location:
            entry = (_LOCATION, name, None)
        elif name in _TYPED_ITEMS:
            item = _TYPED_ITEMS[name]
            entry = (_TYPED, name, (item, frozenset(_tag_variants(item)), convert))
        else:
            entry = (_OTHER, name, convert)
        for tag in _tag_variants(name):
            spec[tag] = entry
    for name in ("extension", "baseExtension"):
        for tag in _tag_variants(name):
            spec[tag] = (_WRAPPER, name, None)
    return spec


_EVENT_SPEC: Final = _event_spec()
"""Event child tag (every namespace variant) -> (how to read it, JSON-LD key, details)."""
_EPC_TAGS: Final = frozenset(_tag_variants("epc"))
_ID_TAGS: Final = frozenset(_tag_variants("id"))


def _fill_event(event: Event, element: Any, names: _Names) -> None:
    """The event reader's hot loop: the common fields are read inline (see the benchmark)."""
    spec_of = _EVENT_SPEC.get
    keys = names._keys
    epc_tags = _EPC_TAGS
    for child in element:
        tag = child.tag
        spec = spec_of(tag)
        if spec is None:
            if type(tag) is not str:
                continue  # comment, processing instruction, entity reference
            key = keys.get(tag)
            if key is not None and not len(child) and not child.attrib:
                text = child.text
                value: Any = text.strip() if text else ""
                previous = event.get(key)
                if previous is None and key not in event:
                    event[key] = value
                elif isinstance(previous, list):
                    previous.append(value)
                else:
                    event[key] = [previous, value]
            else:
                _add_extension(event, child, _STD.get(tag), names)
            continue
        code, key, detail = spec
        if code == 4:  # _WRAPPER
            _fill_event(event, child, names)
            continue
        if key in event:
            if key != "certificationInfo":
                raise _Bad(child, f"<{key}> appears twice")
            previous = event[key]
            event[key] = [*(previous if isinstance(previous, list) else [previous]), _text(child)]
            continue
        if code == 0:  # _SIMPLE
            if len(child):
                event[key] = _text(child)
            else:
                text = child.text
                event[key] = text.strip() if text else ""
        elif code == 1:  # _EPCS
            epcs = []
            for item in child:
                if item.tag in epc_tags and not len(item):
                    text = item.text
                    epcs.append(text.strip() if text else "")
                elif isinstance(item.tag, str):
                    epcs = _epc_list(child, names)  # the careful way: says what is wrong
                    break
            event[key] = epcs
        elif code == 2:  # _LOCATION
            if len(child) == 1:
                only = child[0]
                if only.tag in _ID_TAGS and not len(only) and not only.attrib:
                    text = only.text
                    event[key] = {"id": text.strip() if text else ""}
                    continue
            event[key] = _location(child, names)
        elif code == 3:  # _TYPED
            item_name, item_tags, convert = detail
            entries = []
            for item in child:
                if item.tag in item_tags and not len(item):
                    attributes = item.attrib
                    size = len(attributes)
                    text = item.text
                    if size == 0:
                        entries.append({item_name: text.strip() if text else ""})
                        continue
                    kind = attributes.get("type")
                    if size == 1 and kind is not None:
                        entries.append({"type": kind, item_name: text.strip() if text else ""})
                        continue
                if isinstance(item.tag, str):
                    entries = convert(child, names)
                    break
            event[key] = entries
        else:
            event[key] = detail(child, names)


def convert_event(element: Any, names: _Names, event_type: str | None = None) -> Event:
    """One event element (any of the five types, 2.0 or 1.2 layout) -> event dict."""
    if event_type is None:
        event_type = _STD.get(element.tag)
    if event_type == "QuantityEvent":
        raise _Bad(element, "QuantityEvent (deprecated in EPCIS 1.1, removed in 2.0) is not supported")
    event: Event = {"type": event_type}
    if element.attrib:
        for name, value in element.attrib.items():
            if name.startswith("{"):
                event[names.key(name)] = value
    _fill_event(event, element, names)
    return event


# ---------------------------------------------------------------------------------------------
# header, master data, query


def _vocabulary_list(element: Any, names: _Names) -> list[dict[str, Any]]:
    vocabularies: list[dict[str, Any]] = []
    for child in _items(element, "Vocabulary"):
        if child.get("type") is None:
            raise _Bad(
                child,
                "a <Vocabulary> needs a type attribute",
                expected='type="urn:epcglobal:epcis:vtype:..."',
            )
        vocabulary: dict[str, Any] = {}
        for name, value in child.attrib.items():
            vocabulary[names.key(name)] = value
        _fill(vocabulary, child, _VOCABULARY_FIELDS, names, _EXTENSION)
        vocabularies.append(vocabulary)
    return vocabularies


def _vocabulary_elements(element: Any, names: _Names) -> list[dict[str, Any]]:
    return [_vocabulary_element(child, names) for child in _items(element, "VocabularyElement")]


_VOCABULARY_FIELDS: Final[dict[str, Callable[[Any, _Names], Any]]] = {
    "VocabularyElementList": _vocabulary_elements,
}


def _attribute(element: Any, names: _Names) -> dict[str, Any]:
    if element.get("id") is None:
        raise _Bad(element, "a master data <attribute> needs an id attribute")
    attribute: dict[str, Any] = {}
    for name, value in element.attrib.items():
        attribute[names.key(name)] = value
    content = [part for part in element if isinstance(part.tag, str)]
    if not content:
        attribute["attribute"] = _text(element)
        return attribute
    holder: dict[str, Any] = {}
    text = "".join(part for part in [element.text, *(c.tail for c in element)] if part and part.strip())
    if text:
        holder[TEXT_KEY] = text.strip()
    for part in content:
        _add(holder, names.key(part.tag), extension_value(part, names))
    attribute["attribute"] = holder
    return attribute


def _vocabulary_element(element: Any, names: _Names) -> dict[str, Any]:
    if element.get("id") is None:
        raise _Bad(element, "a <VocabularyElement> needs an id attribute")
    entry: dict[str, Any] = {}
    for name, value in element.attrib.items():
        entry[names.key(name)] = value
    attributes = [part for part in element if _STD.get(part.tag) == "attribute"]
    if attributes:
        entry["attributes"] = [_attribute(part, names) for part in attributes]
    rest = [part for part in element if _STD.get(part.tag) != "attribute"]
    _fill_from(entry, rest, _VOCABULARY_ELEMENT_FIELDS, names)
    return entry


def _children(element: Any, names: _Names) -> list[str]:
    return [_text(child) for child in _items(element, "id")]


_VOCABULARY_ELEMENT_FIELDS: Final[dict[str, Callable[[Any, _Names], Any]]] = {"children": _children}


def _master_data(element: Any, names: _Names) -> dict[str, Any]:
    master: dict[str, Any] = {}
    _fill(master, element, _MASTER_DATA_FIELDS, names, _EXTENSION)
    return master


_MASTER_DATA_FIELDS: Final[dict[str, Callable[[Any, _Names], Any]]] = {"VocabularyList": _vocabulary_list}
_HEADER_FIELDS: Final[dict[str, Callable[[Any, _Names], Any]]] = {"EPCISMasterData": _master_data}


def _header(element: Any, names: _Names) -> dict[str, Any]:
    header: dict[str, Any] = {}
    _fill(header, element, _HEADER_FIELDS, names, _EXTENSION)
    return header


# ---------------------------------------------------------------------------------------------
# the stream

_ROOTS: Final = {
    f"{{{EPCIS_2_0_NAMESPACE}}}EPCISDocument": ("EPCISDocument", "2.0"),
    f"{{{EPCIS_1_2_NAMESPACE}}}EPCISDocument": ("EPCISDocument", "1.2"),
    f"{{{QUERY_2_0_NAMESPACE}}}EPCISQueryDocument": ("EPCISQueryDocument", "2.0"),
    f"{{{QUERY_1_2_NAMESPACE}}}EPCISQueryDocument": ("EPCISQueryDocument", "1.2"),
    f"{{{MASTERDATA_2_0_NAMESPACE}}}EPCISMasterDataDocument": ("EPCISMasterDataDocument", "2.0"),
    f"{{{MASTERDATA_1_2_NAMESPACE}}}EPCISMasterDataDocument": ("EPCISMasterDataDocument", "1.2"),
}

_WATCHED: Final = (
    *(f"{{*}}{name}" for name in EVENT_TYPE_NAMES),
    "{*}QuantityEvent",
    "{*}EPCISDocument",
    "{*}EPCISQueryDocument",
    "{*}EPCISMasterDataDocument",
    "{*}EPCISHeader",
    "{*}EPCISBody",
    "{*}queryName",
    "{*}subscriptionID",
)
"""Tags iterparse reports; everything else is built by libxml2 and read as a subtree."""

_EVENT_TAG_NAMES: Final = frozenset({*EVENT_TYPE_NAMES, "QuantityEvent"})


def _open(source: Any) -> tuple[Any, bool]:
    """A binary file object for ``source`` and whether we opened it (and must close it)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source)), True
    if isinstance(source, str) and source.lstrip("\ufeff \t\r\n").startswith("<"):
        match = _ENCODING_DECLARATION.match(source)
        encoding = match.group(1) if match else "utf-8"
        try:
            return io.BytesIO(source.encode(encoding)), True
        except (LookupError, UnicodeError) as exc:
            raise EPCISError(
                f"the XML text cannot be encoded as its declared encoding {encoding}: {exc}"
            ) from exc
    if isinstance(source, (str, os.PathLike)):
        try:
            return open(source, "rb"), True
        except OSError as exc:
            raise EPCISError(f"cannot open the XML file {os.fspath(source)!r}: {exc.strerror}") from exc
    if hasattr(source, "read"):
        return source, False
    raise EPCISError(
        "cannot read XML from this object",
        expected="bytes, a path, a binary file or XML text",
        found=type(source).__name__,
    )


class XMLEventStream(Iterator[Event]):
    """Events of an EPCIS XML document, one at a time, in bounded memory.

    The document's header parts are in :attr:`document` as soon as the stream is made
    (everything before the first event: root attributes, namespaces, ``EPCISHeader``, the
    query name); parts after the events (document-level extensions) and namespaces declared
    later arrive as the stream is consumed. ``document.events`` stays empty: events are
    handed out, not kept. Processed elements are cleared, so a 1,000,000-event file needs
    about as much memory as one event.
    """

    def __init__(self, source: XMLSource) -> None:
        self._file, self._owned = _open(source)
        self.document = EPCISDocument()
        self._names = _Names(self.document.namespaces)
        self._master_data_document = False
        self._count = 0
        self._root: Any = None
        self._event_list: Any = None
        self._done = False
        self._parser = etree.iterparse(
            self._file,
            events=("end", "start-ns"),
            tag=_WATCHED,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=True,
            remove_comments=False,
        )
        self._pending: Event | None = None
        try:
            self._pending = self._advance()
        except BaseException:
            self.close()
            raise

    @property
    def events_read(self) -> int:
        """How many events the stream has handed out (or holds ready)."""
        return self._count

    def __iter__(self) -> XMLEventStream:
        return self

    def __next__(self) -> Event:
        pending = self._pending
        if pending is not None:
            self._pending = None
            return pending
        try:
            event = self._advance()
        except BaseException:
            self.close()
            raise
        if event is None:
            self.close()
            raise StopIteration
        return event

    def close(self) -> None:
        """Close the file the stream opened (the stream closes itself at the end or on an error)."""
        self._done = True
        if self._owned:
            self._file.close()

    def __enter__(self) -> XMLEventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def _advance(self) -> Event | None:
        if self._done:
            return None
        try:
            return self._step()
        except _Bad as bad:
            raise EPCISError(
                f"{bad.reason} (line {bad.element.sourceline})"
                if getattr(bad.element, "sourceline", None)
                else bad.reason,
                pointer=self._path(bad.element),
                expected=bad.expected,
                found=bad.found,
            ) from None
        except etree.XMLSyntaxError as exc:
            raise EPCISError(f"not well-formed XML: {exc.msg} (line {exc.lineno})") from None
        except etree.LxmlError as exc:
            raise EPCISError(f"the XML cannot be read: {exc}") from None

    def _step(self) -> Event | None:
        names = self._names
        event_types = _EVENT_TAG_NAMES
        for action, item in self._parser:
            if action == "start-ns":
                prefix, uri = item
                names.candidate(prefix or None, uri)
                continue
            element = item
            if self._root is None:
                self._start_root(element)
            name = _STD.get(element.tag)
            if name is None:
                continue  # an extension element that happens to have a watched local name
            if name in event_types:
                parent = element.getparent()
                if (parent is None or parent is not self._event_list) and not self._is_event_position(
                    element
                ):
                    continue
                self._count += 1
                try:
                    event = convert_event(element, names, name)
                except _Bad as bad:
                    raise _Bad(
                        bad.element, f"event {self._count} ({name}): {bad.reason}", bad.expected, bad.found
                    ) from None
                element.clear(keep_tail=False)
                if parent is not None and parent is self._event_list:
                    while element.getprevious() is not None:
                        del parent[0]
                else:
                    self._release(element)
                return event
            if name == "EPCISHeader":
                if element.getparent() is self._root:
                    header = _header(element, names)
                    self.document.header = header
                    element.clear()
            elif name in ("queryName", "subscriptionID"):
                parent = element.getparent()
                if parent is not None and (
                    _STD.get(parent.tag) == "QueryResults"
                    or (parent is self._root and self.document.kind == "EPCISQueryDocument")
                ):
                    if self.document.query is None:
                        self.document.query = {}
                    self.document.query[name] = _text(element)
            elif name == "EPCISBody":
                if element.getparent() is self._root:
                    self._finish_body(element)
            elif element is self._root:
                self._finish_root(element)
        self._done = True
        if self._root is None:
            root = getattr(self._parser, "root", None)
            raise EPCISError(
                "this is not an EPCIS document",
                pointer="/",
                expected="epcis:EPCISDocument, epcisq:EPCISQueryDocument or an event element",
                found=_describe(root.tag) if root is not None else "no element",
            )
        return None

    def _start_root(self, element: Any) -> None:
        tree_root = element.getroottree().getroot()
        self._root = tree_root
        for prefix, uri in tree_root.nsmap.items():  # the root's declarations, in order
            self._names.declare(prefix, uri)
        document = self.document
        root_kind = _ROOTS.get(tree_root.tag)
        if root_kind is None:
            local = _STD.get(tree_root.tag)
            if local not in _EVENT_TAG_NAMES:
                raise EPCISError(
                    "this is not an EPCIS document",
                    pointer="/",
                    expected="epcis:EPCISDocument, epcisq:EPCISQueryDocument or an event element",
                    found=_describe(tree_root.tag),
                )
            kind, version = "EPCISDocument", "2.0"
            if tree_root.tag.startswith(f"{{{EPCIS_1_2_NAMESPACE}}}"):
                version = "1.2"
        else:
            kind, version = root_kind
        if kind == "EPCISMasterDataDocument":
            self._master_data_document = True
            document.kind = "EPCISMasterDataDocument"
        else:
            document.kind = "EPCISQueryDocument" if kind == "EPCISQueryDocument" else "EPCISDocument"
        document.schema_version = version
        is_event = _STD.get(tree_root.tag) in _EVENT_TAG_NAMES
        for name, value in tree_root.attrib.items():
            if name == "schemaVersion":
                document.schema_version = value.strip()
            elif name == "creationDate":
                document.creation_date = value.strip()
            elif not is_event or not name.startswith("{"):
                document.attributes[self._names.key(name)] = value
            # namespaced attributes of a bare event root belong to the event

    def _is_event_position(self, element: Any) -> bool:
        parent = element.getparent()
        if parent is None:
            return True
        direct = True
        while _STD.get(parent.tag) == "extension":
            direct = False
            parent = parent.getparent()
            if parent is None:
                return False
        if _STD.get(parent.tag) != "EventList":
            return False
        if direct:
            self._event_list = parent  # the next events in it need no more checks
        return True

    def _release(self, element: Any) -> None:
        """Free everything before an event (comments, emptied 1.2 wrappers), up to the EventList."""
        node = element
        while True:
            parent = node.getparent()
            if parent is None:
                return
            while node.getprevious() is not None:
                del parent[0]
            if _STD.get(parent.tag) != "extension":
                return
            node = parent

    def _finish_body(self, body: Any) -> None:
        names = self._names
        document = self.document
        extras: dict[str, Any] = {}
        for child in body:
            tag = child.tag
            name = _STD.get(tag)
            if name == "EventList":
                self._check_event_list(child)
            elif name == "QueryResults":
                self._finish_query(child)
            elif name == "VocabularyList" and self._master_data_document:
                document.header = document.header or {}
                document.header["epcisMasterData"] = {"vocabularyList": _vocabulary_list(child, names)}
            elif name == "extension":
                _fill(extras, child, _NO_FIELDS, names, _EXTENSION)
            elif isinstance(tag, str):
                if document.kind == "EPCISQueryDocument" and tag.startswith(
                    (f"{{{QUERY_2_0_NAMESPACE}}}", f"{{{QUERY_1_2_NAMESPACE}}}")
                ):
                    # another message of the query interface (Poll, GetQueryNames, an exception, ...)
                    document.query = {tag.split("}", 1)[1]: extension_value(child, names)}
                    continue
                _add_extension(extras, child, name, names)
        if extras:
            document.attributes["epcisBody"] = extras
        body.clear()

    def _check_event_list(self, event_list: Any) -> None:
        for child in event_list:
            tag = child.tag
            name = _STD.get(tag)
            if name == "extension":
                self._check_event_list(child)
            elif isinstance(tag, str) and name not in _EVENT_TAG_NAMES:
                raise _Bad(child, f"{_describe(tag)} is not allowed in <EventList>", expected="an event")

    def _query_part(self, query: dict[str, Any], child: Any, name: str | None) -> bool:
        """Take one child of ``QueryResults`` (or of a query document's root, a lenient layout)."""
        if name == "queryName" or name == "subscriptionID":
            query[name] = _text(child)
        elif name == "resultsBody":
            for part in child:
                part_name = _STD.get(part.tag)
                if part_name == "EventList":
                    self._check_event_list(part)
                elif part_name == "VocabularyList":
                    # as the JSON-LD reader keeps it: resultsBody entries other than the events
                    query.setdefault("resultsBody", {})["vocabularyList"] = _vocabulary_list(
                        part, self._names
                    )
                elif isinstance(part.tag, str):
                    raise _Bad(part, f"{_describe(part.tag)} is not allowed in <resultsBody>")
        else:
            return False
        return True

    def _finish_query(self, results: Any) -> None:
        query = self.document.query
        if query is None:
            query = self.document.query = {}
        for child in results:
            tag = child.tag
            name = _STD.get(tag)
            if self._query_part(query, child, name):
                continue
            if name == "extension":
                _fill(query, child, _NO_FIELDS, self._names, _EXTENSION)
            elif isinstance(tag, str):
                _add_extension(query, child, name, self._names)

    def _finish_root(self, root: Any) -> None:
        names = self._names
        document = self.document
        if _STD.get(root.tag) in _EVENT_TAG_NAMES:
            return
        for child in root:
            tag = child.tag
            name = _STD.get(tag)
            if name in ("EPCISHeader", "EPCISBody") or not isinstance(tag, str):
                continue
            if document.kind == "EPCISQueryDocument":
                if document.query is None:
                    document.query = {}
                if self._query_part(document.query, child, name):
                    continue
            if name == "extension":
                _fill(document.attributes, child, _NO_FIELDS, names, _EXTENSION)
                continue
            value = extension_value(child, names)
            # a root-level element is kept as a dict, so a writer can tell it from a root attribute
            if not isinstance(value, dict):
                value = {TEXT_KEY: value}
            key = name if name is not None else names.key(tag)
            _add(document.attributes, key, value)

    def _path(self, element: Any) -> str:
        parts: list[str] = []
        node = element
        while node is not None:
            parent = node.getparent()
            tag = node.tag
            label = self._names.key(tag) if isinstance(tag, str) else "comment()"
            if isinstance(tag, str) and not tag.startswith("{"):
                label = tag
            elif _STD.get(tag) is not None:
                label = _STD[tag]
            if parent is not None and isinstance(tag, str):
                same = [sibling for sibling in parent if sibling.tag == tag]
                if len(same) > 1:
                    label += f"[{same.index(node) + 1}]"
            parts.append(label)
            node = parent
        return "/" + "/".join(reversed(parts))


def iter_xml_events(source: XMLSource) -> XMLEventStream:
    """Stream the events of an EPCIS XML document (2.0 or 1.2); see :class:`XMLEventStream`."""
    return XMLEventStream(source)


def read_xml(source: XMLSource) -> EPCISDocument:
    """Read a whole EPCIS 2.0 or 1.2 XML document (``EPCISDocument``, ``EPCISQueryDocument``,
    ``EPCISMasterDataDocument``, or a bare event) into an :class:`EPCISDocument`.

    ``source``: XML bytes, a binary file, a path (``str`` or ``os.PathLike``), or XML text as a
    ``str`` that starts with ``<``. Raises :class:`EPCISError` for XML that is not well formed
    or not EPCIS, and for a file that cannot be opened.
    """
    # Events are plain acyclic dicts: the cyclic garbage collector would only rescan the growing
    # list again and again (a third of the time for 100,000 events), so it pauses meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with XMLEventStream(source) as stream:
            events = list(stream)
            document = stream.document
    finally:
        if collecting:
            gc.enable()
    document.events = events
    return document


def read_capture_job(source: XMLSource) -> dict[str, Any]:
    """Read an ``epcis:EPCISCaptureJob`` (the REST capture interface's job status) into its JSON shape.

    ``{"captureID", "running", "success", "captureErrorBehaviour", "createdAt", "finishedAt",
    "errors": [{"type", "title", "status", "detail", "instance"}] | "errorFile"}``; booleans and
    ``status`` as JSON booleans and numbers, as in the OpenAPI description of EPCIS 2.0.
    """
    file, owned = _open(source)
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
        try:
            root = etree.parse(file, parser).getroot()
        except etree.XMLSyntaxError as exc:
            raise EPCISError(f"not well-formed XML: {exc.msg}") from None
        except etree.LxmlError as exc:
            raise EPCISError(f"the XML cannot be read: {exc}") from None
    finally:
        if owned:
            file.close()
    if root.tag != f"{{{EPCIS_2_0_NAMESPACE}}}EPCISCaptureJob":
        raise EPCISError(
            "this is not an EPCIS capture job",
            pointer="/",
            expected="epcis:EPCISCaptureJob",
            found=_describe(root.tag),
        )
    names = _Names({})
    job: dict[str, Any] = {}
    try:
        for name, value in root.attrib.items():
            name, value = str(name), str(value)
            if name in ("running", "success"):
                job[name] = _boolean(root, name, value.strip())
            else:
                job[names.key(name)] = value
        for child in root:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            if tag in ("captureErrorBehaviour", "createdAt", "finishedAt", "errorFile"):
                job[tag] = _text(child)
            elif tag == "errors":
                job["errors"] = [_problem(item, names) for item in child if isinstance(item.tag, str)]
            elif tag.startswith("{"):
                _add(job, names.key(tag), extension_value(child, names))
            else:
                raise _Bad(child, f"{_describe(tag)} is not allowed in <EPCISCaptureJob>")
    except _Bad as bad:
        raise EPCISError(bad.reason, pointer=None, expected=bad.expected, found=bad.found) from None
    return job


def _problem(element: Any, names: _Names) -> dict[str, Any]:
    if element.tag != "error":
        raise _Bad(element, "only <error> may be in <errors>", found=_describe(element.tag))
    problem: dict[str, Any] = {}
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag == "status":
            text = _text(child)
            if not _INTEGER.fullmatch(text):
                raise _Bad(child, "<status> must be a whole number", found=repr(text))
            problem["status"] = int(text)
        elif tag in ("type", "title", "detail", "instance"):
            problem[tag] = _text(child)
        elif tag.startswith("{"):
            _add(problem, names.key(tag), extension_value(child, names))
        else:
            raise _Bad(child, f"{_describe(tag)} is not allowed in <error>")
    return problem
