"""EPCIS 2.0 JSON-LD documents: read, write, and stream millions of events.

Read a document (bytes, a ``str`` of JSON text, a path or a binary file):

>>> from packtrail.epcis.jsonld import read_jsonld, write_jsonld
>>> doc = read_jsonld(b'''{
...   "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
...                {"example": "http://ns.example.com/epcis/"}],
...   "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2024-03-01T10:05:00Z",
...   "epcisBody": {"eventList": [
...     {"type": "ObjectEvent", "eventTime": "2024-03-01T10:00:00Z", "eventTimeZoneOffset": "+01:00",
...      "epcList": ["urn:epc:id:sgtin:4012345.011111.1001"], "action": "OBSERVE",
...      "bizStep": "shipping", "example:note": "fragile"}]}}''')
>>> doc.kind, doc.creation_date, len(doc)
('EPCISDocument', '2024-03-01T10:05:00Z', 1)
>>> doc.namespaces
{'example': 'http://ns.example.com/epcis/'}
>>> doc.events[0]["example:note"]
'fragile'

Write it back; the standard ``@context`` is used unless you ask for ``"simple"``
(GS1's simple context) or ``"keep"`` (exactly as read):

>>> for line in write_jsonld(doc, indent=True).decode().splitlines()[:7]:
...     print(line)
{
  "@context": [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {
      "example": "http://ns.example.com/epcis/"
    }
  ],

A malformed document raises :class:`~packtrail.epcis.errors.EPCISError` with a
JSON pointer to the problem:

>>> read_jsonld(b'{"type": "EPCISDocument", "epcisBody": {"eventList": [1]}}')
Traceback (most recent call last):
...
packtrail.epcis.errors.EPCISError: at /epcisBody/eventList/0: an event must be a JSON object \
(expected object, found number)

Large documents stream with bounded memory: events come one at a time, and the
header parts (context, header, query, attributes) are on ``reader.document``:

>>> import io
>>> from packtrail.epcis.jsonld import iter_jsonld_events, write_jsonld_stream
>>> out = io.BytesIO()
>>> write_jsonld_stream(doc.header_only(), ({"type": "ObjectEvent", "n": i} for i in range(3)), out)
3
>>> reader = iter_jsonld_events(out.getvalue())
>>> [event["n"] for event in reader]
[0, 1, 2]
>>> reader.document.namespaces, reader.events_read
({'example': 'http://ns.example.com/epcis/'}, 3)

Both binding shapes of EPCIS 2.0 section 9 (JSON-LD) are read: ``EPCISDocument``
(``epcisBody.eventList``) and ``EPCISQueryDocument``
(``epcisBody.queryResults.resultsBody.eventList``, with ``queryName`` and
``subscriptionID`` kept on :attr:`~packtrail.epcis.document.EPCISDocument.query`).
Reading is lenient by default: whatever the document holds is kept, in order;
``strict=True`` also demands what GS1's JSON Schema requires of the document
itself (a known EPCIS ``@context``, ``type``, ``schemaVersion``, ``creationDate``,
``queryName``, a ``type`` on every event). Field-level validation is a separate step.

Extension namespaces are declared in the ``@context`` so that JSON-LD expands each
``prefix:name`` right, and an XML namespace comes back exactly (see
:func:`prefix_definition`); a prefix GS1's context defines differently (its terms
are protected) is declared all the same, and ``warnings`` says so. An
``EPCISMasterDataDocument`` (read from XML) is written with its vocabularies as
``epcisBody.vocabularyList``, as in XML, and read back the same way.

Notes: numbers keep their JSON type (``10`` stays an int, ``26.0`` a float);
integers beyond 64 bits become floats, as in orjson. A lone ``@context`` string
or object is read as a one-item list. Entries of ``epcisBody`` other than the
events container are kept in ``attributes["epcisBody"]``; entries of
``resultsBody`` other than ``eventList`` (``vocabularyList``) in
``query["resultsBody"]``.
"""

from __future__ import annotations

import gc
import json
import os
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from importlib import resources
from itertools import chain
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, Literal, TypeAlias

import orjson

from packtrail.epcis.document import (
    DOCUMENT_KINDS,
    EVENT_TYPES,
    SIMPLE_CONTEXT_URL,
    STANDARD_CONTEXT_ALIASES,
    STANDARD_CONTEXT_URL,
    DocumentKind,
    EPCISDocument,
    Event,
)
from packtrail.epcis.errors import EPCISError

__all__ = [
    "ContextMode",
    "JSONLDEventReader",
    "JSONSource",
    "iter_jsonld_events",
    "namespace_of",
    "prefix_definition",
    "read_jsonld",
    "write_jsonld",
    "write_jsonld_stream",
]

JSONSource: TypeAlias = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]
"""JSON text as bytes or ``str``, a path to a file, or a binary file opened for reading."""

ContextMode: TypeAlias = Literal["standard", "simple", "keep"]
"""The ``@context`` a writer puts out: GS1's standard one, GS1's simple one, or the one read."""

_EPCIS_CONTEXTS: Final = STANDARD_CONTEXT_ALIASES | {SIMPLE_CONTEXT_URL}
_BOM: Final = b"\xef\xbb\xbf"
_EPCIS_XML_NAMESPACES: Final = frozenset(
    {
        "urn:epcglobal:epcis:xsd:1",
        "urn:epcglobal:epcis:xsd:2",
        "urn:epcglobal:epcis-query:xsd:1",
        "urn:epcglobal:epcis-query:xsd:2",
        "urn:epcglobal:epcis-masterdata:xsd:1",
        "urn:epcglobal:epcis-masterdata:xsd:2",
    }
)
"""Namespaces of EPCIS XML's own elements: they name no extension, so JSON-LD declares no prefix for them."""
_DELIMITERS: Final = ("/", "#", ":")
"""How a namespace IRI must end for JSON-LD to make ``prefix:name`` into ``namespace + name``."""


def _context_terms(filename: str) -> dict[str, str | None]:
    """The terms a vendored GS1 context defines (all protected): term -> IRI of a plain
    definition (``"cbvmda": "urn:epcglobal:cbv:mda:"``), None for any other definition."""
    raw = resources.files("packtrail.epcis").joinpath("data", "contexts", filename).read_bytes()
    context: dict[str, Any] = orjson.loads(raw)["@context"]
    return {
        key: value if isinstance(value, str) else None
        for key, value in context.items()
        if not key.startswith("@")
    }


_PREDEFINED: Final = {
    "standard": _context_terms("epcis-context.jsonld"),
    "simple": _context_terms("epcis-context-simple.jsonld"),
}


def prefix_definition(namespace: str) -> str | dict[str, Any]:
    """How the JSON-LD writer declares an extension namespace (an XML namespace, say) in ``@context``.

    A namespace that ends in ``/``, ``#`` or ``:`` is declared as it is. Any other (XML allows
    ``urn:epcglobal:cbv:mda`` or ``http://example.com/ext1``) would expand wrongly as a JSON-LD
    prefix (``cbvmda:lotNumber`` to ``urn:epcglobal:cbv:mdalotNumber``), so it gets a ``:``
    (``urn:`` namespaces, as GS1's context writes ``urn:epcglobal:cbv:mda:``) or a ``#`` (any
    other), and is declared in the expanded form with ``"@prefix": true``. That form is the mark
    :func:`namespace_of` reads back: the added character goes again, so XML -> JSON-LD -> XML
    keeps the namespace exactly.

    >>> prefix_definition("https://ns.example.com/epcis/")
    'https://ns.example.com/epcis/'
    >>> prefix_definition("urn:epcglobal:cbv:mda")
    {'@id': 'urn:epcglobal:cbv:mda:', '@prefix': True}
    >>> prefix_definition("http://example.com/ext1")
    {'@id': 'http://example.com/ext1#', '@prefix': True}
    >>> namespace_of(prefix_definition("http://example.com/ext1"))
    'http://example.com/ext1'
    """
    if namespace.endswith(_DELIMITERS) or not namespace:
        return namespace
    return {"@id": namespace + (":" if namespace[:4].lower() == "urn:" else "#"), "@prefix": True}


def namespace_of(definition: Any) -> str | None:
    """The namespace a ``@context`` prefix definition stands for (the inverse of :func:`prefix_definition`);
    None when it is no prefix definition.

    >>> namespace_of("urn:epcglobal:cbv:mda:"), namespace_of({"@id": "urn:epcglobal:cbv:mda:", "@prefix": True})
    ('urn:epcglobal:cbv:mda:', 'urn:epcglobal:cbv:mda')
    """
    if isinstance(definition, dict) and definition.get("@prefix") is True:
        iri = definition.get("@id")
        if not isinstance(iri, str):
            return None
        added = ":" if iri[:4].lower() == "urn:" else "#"
        if iri.endswith(added) and not iri[:-1].endswith(_DELIMITERS):
            return iri[:-1]
        return iri
    if isinstance(definition, str) and not definition.startswith("@"):
        return definition
    return None


# --- reading: shared helpers -----------------------------------------------------------------


def _kind_of(value: Any) -> str:
    """What a JSON value is, in JSON's words."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    return "number"


def _loads(data: bytes | bytearray | memoryview | str, what: str = "the document") -> Any:
    """orjson.loads without the cyclic garbage collector (it cannot help: JSON makes no cycles,
    and on millions of new objects it costs more than the parse itself)."""
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise EPCISError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            expected="JSON text",
        ) from None
    finally:
        if enabled:
            gc.enable()


def _read_source(source: JSONSource) -> bytes | bytearray | memoryview | str:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data: bytes | bytearray | memoryview | str = source
    elif isinstance(source, str):
        data = source
    elif isinstance(source, os.PathLike):
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise EPCISError(f"cannot read the JSON-LD file {os.fspath(source)!r}: {exc.strerror}") from exc
    elif hasattr(source, "read"):
        data = source.read()
    else:
        raise TypeError(f"expected JSON bytes or text, a path or a binary file, not {type(source).__name__}")
    if isinstance(data, str):
        return data[1:] if data.startswith("\ufeff") else data
    if bytes(data[:3]) == _BOM:
        return memoryview(data)[3:]
    return data


def _context_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, (str, dict)):
        return [value]
    raise EPCISError(
        "the @context must be a URL, an object of term definitions, or a list of them",
        pointer="/@context",
        expected="string, object or array",
        found=_kind_of(value),
    )


def _collect_namespaces(context: Any, into: dict[str, str], *, override: bool) -> None:
    """Add the prefix definitions (``"example": "http://..."``) of a @context to ``into``."""
    entries = context if isinstance(context, list) else [context]
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        for key, value in entry.items():
            if key.startswith("@") or ":" in key:
                continue
            namespace = namespace_of(value)
            if namespace is not None and (override or key not in into):
                into[key] = namespace


def _expect_object(value: Any, pointer: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EPCISError(
            f"{what} must be a JSON object", pointer=pointer, expected="object", found=_kind_of(value)
        )
    return value


def _expect_event_list(value: Any, pointer: str) -> list[Any]:
    if not isinstance(value, list):
        raise EPCISError(
            "the events must be a JSON array",
            pointer=pointer,
            expected="array of events",
            found=_kind_of(value),
        )
    return value


def _check_event(event: Any, pointer: str, strict: bool, namespaces: dict[str, str]) -> Event:
    if not isinstance(event, dict):
        raise EPCISError(
            "an event must be a JSON object", pointer=pointer, expected="object", found=_kind_of(event)
        )
    if strict and not isinstance(event.get("type"), str):
        raise EPCISError(
            "an event must say its type",
            pointer=f"{pointer}/type",
            expected="one of " + ", ".join(EVENT_TYPES),
            found=_kind_of(event.get("type")) if "type" in event else "nothing",
        )
    if "@context" in event:
        _collect_namespaces(event["@context"], namespaces, override=False)
    return event


def _assemble(top: Any, strict: bool, *, events_found: bool = True) -> tuple[EPCISDocument, list[Any], str]:
    """The document parts of a parsed top-level object, its raw event list and that list's pointer.

    ``events_found=False`` (streaming, before the body was seen) skips the body checks.
    """
    top = _expect_object(top, "", "an EPCIS document")
    doc = EPCISDocument(schema_version="", context=[], attributes={})
    has_type = has_version = has_context = False
    body: Any = None
    for key, value in top.items():
        if key == "@context":
            doc.context = _context_list(value)
            has_context = True
        elif key == "type":
            doc.kind = _document_kind(value)
            has_type = True
        elif key == "schemaVersion":
            doc.schema_version = _scalar_text(key, value, strict, doc.attributes) or ""
            has_version = True
        elif key == "creationDate":
            doc.creation_date = _scalar_text(key, value, strict, doc.attributes)
        elif key == "epcisHeader":
            if value is None:
                doc.attributes[key] = None  # kept raw, like a numeric schemaVersion
            else:
                doc.header = _expect_object(value, "/epcisHeader", "the epcisHeader")
        elif key == "epcisBody":
            body = value
        else:
            doc.attributes[key] = value
    _collect_namespaces(doc.context, doc.namespaces, override=True)
    if not has_type and isinstance(body, dict) and "queryResults" in body and "eventList" not in body:
        doc.kind = "EPCISQueryDocument"
    if strict:
        _check_strict(doc, has_context, has_type, has_version)
    if not events_found:
        return doc, [], ""
    if body is None:
        raise EPCISError(
            "no epcisBody: an EPCIS document carries its events in epcisBody",
            pointer="",
            expected="an epcisBody object",
            found="nothing",
        )
    body = _expect_object(body, "/epcisBody", "the epcisBody")
    if doc.kind == "EPCISMasterDataDocument":
        events: list[Any] = []
        pointer = "/epcisBody/eventList"
        extra = _master_data_body(doc, body)
    elif doc.kind == "EPCISQueryDocument":
        events, pointer = _query_body(doc, body, strict)
        extra = {k: v for k, v in body.items() if k != "queryResults"}
    else:
        if "eventList" not in body:
            hint = " (this looks like a query document: its type should be EPCISQueryDocument)"
            raise EPCISError(
                "no eventList in the epcisBody" + (hint if "queryResults" in body else ""),
                pointer="/epcisBody",
                expected="an eventList array",
                found="nothing",
            )
        pointer = "/epcisBody/eventList"
        events = _expect_event_list(body["eventList"], pointer)
        extra = {k: v for k, v in body.items() if k != "eventList"}
    if extra:
        doc.attributes["epcisBody"] = extra
    return doc, events, pointer


def _master_data_body(doc: EPCISDocument, body: dict[str, Any]) -> dict[str, Any]:
    """A master-data document's body: its ``vocabularyList`` goes to ``header["epcisMasterData"]``
    (where every document keeps master data); the rest is returned."""
    if "vocabularyList" in body:
        vocabularies = body["vocabularyList"]
        if not isinstance(vocabularies, list):
            raise EPCISError(
                "the vocabularyList must be a JSON array",
                pointer="/epcisBody/vocabularyList",
                expected="array of vocabularies",
                found=_kind_of(vocabularies),
            )
        doc.header = {**(doc.header or {}), "epcisMasterData": {"vocabularyList": vocabularies}}
    return {k: v for k, v in body.items() if k not in ("vocabularyList", "eventList")}


def _scalar_text(key: str, value: Any, strict: bool, attributes: dict[str, Any]) -> str | None:
    """A top-level member that should be text (schemaVersion, creationDate).

    GS1's own examples hold ``"schemaVersion": 2.0``; a lenient read takes a number
    (or null) as its text and keeps the raw value in ``attributes``, which the writer
    puts back, so the document round-trips exactly.
    """
    if isinstance(value, str):
        return value
    if not strict and (value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))):
        attributes[key] = value
        return None if value is None else str(value)
    expected = 'a string such as "2.0"' if key == "schemaVersion" else "a date and time as a string"
    raise EPCISError(f"{key} must be text", pointer=f"/{key}", expected=expected, found=_kind_of(value))


def _document_kind(value: Any) -> DocumentKind:
    if value == "EPCISDocument":
        return "EPCISDocument"
    if value == "EPCISQueryDocument":
        return "EPCISQueryDocument"
    if value == "EPCISMasterDataDocument":
        return "EPCISMasterDataDocument"
    if value in EVENT_TYPES:
        reason = f"this is a single {value}, not an EPCIS document (events go in epcisBody.eventList)"
    else:
        reason = (
            "an EPCIS document's type must be EPCISDocument, EPCISQueryDocument or EPCISMasterDataDocument"
        )
    raise EPCISError(
        reason,
        pointer="/type",
        expected=" or ".join(DOCUMENT_KINDS),
        found=repr(value) if isinstance(value, str) else _kind_of(value),
    )


def _query_body(doc: EPCISDocument, body: dict[str, Any], strict: bool) -> tuple[list[Any], str]:
    if "queryResults" not in body:
        raise EPCISError(
            "no queryResults in the epcisBody of a query document",
            pointer="/epcisBody",
            expected="a queryResults object",
            found="nothing",
        )
    results = _expect_object(body["queryResults"], "/epcisBody/queryResults", "queryResults")
    if strict and not isinstance(results.get("queryName"), str):
        raise EPCISError(
            "a query document must name its query",
            pointer="/epcisBody/queryResults/queryName",
            expected="a queryName such as SimpleEventQuery",
            found="nothing",
        )
    doc.query = {k: v for k, v in results.items() if k != "resultsBody"}
    if "resultsBody" not in results:
        raise EPCISError(
            "no resultsBody in queryResults",
            pointer="/epcisBody/queryResults",
            expected="a resultsBody object",
            found="nothing",
        )
    pointer = "/epcisBody/queryResults/resultsBody"
    results_body = _expect_object(results["resultsBody"], pointer, "resultsBody")
    extra = {k: v for k, v in results_body.items() if k != "eventList"}
    if extra:
        doc.query["resultsBody"] = extra
    if "eventList" not in results_body:
        if "vocabularyList" in results_body:
            return [], pointer + "/eventList"  # a master-data query answer: no events
        raise EPCISError(
            "no eventList in resultsBody", pointer=pointer, expected="an eventList array", found="nothing"
        )
    pointer += "/eventList"
    return _expect_event_list(results_body["eventList"], pointer), pointer


def _check_strict(doc: EPCISDocument, has_context: bool, has_type: bool, has_version: bool) -> None:
    if not has_context or not any(isinstance(c, str) and c in _EPCIS_CONTEXTS for c in doc.context):
        raise EPCISError(
            "the @context must name the EPCIS 2.0 context",
            pointer="/@context",
            expected=STANDARD_CONTEXT_URL,
            found="no such entry" if has_context else "no @context",
        )
    if not has_type:
        raise EPCISError(
            "the document must say its type", pointer="/type", expected="EPCISDocument", found="nothing"
        )
    if not has_version:
        raise EPCISError(
            "the document must say its schemaVersion",
            pointer="/schemaVersion",
            expected='"2.0"',
            found="nothing",
        )
    if doc.kind == "EPCISDocument" and doc.creation_date is None:
        raise EPCISError(
            "the document must say when it was created",
            pointer="/creationDate",
            expected="a creationDate",
            found="nothing",
        )


def read_jsonld(source: JSONSource, *, strict: bool = False) -> EPCISDocument:
    """Read a whole EPCIS 2.0 JSON-LD document (``EPCISDocument`` or ``EPCISQueryDocument``).

    ``source`` is JSON text (bytes or ``str``), a path, or a binary file. Raises
    :class:`~packtrail.epcis.errors.EPCISError` when it is not JSON, has no events
    container, or has the wrong JSON type where the document structure needs one.
    For documents too large for memory use :func:`iter_jsonld_events`.
    """
    try:
        top = _loads(_read_source(source))
    except EPCISError as exc:
        if isinstance(source, str) and not source.lstrip().startswith(("{", "[")):
            raise EPCISError(
                exc.reason + " (a str is read as JSON text: pass a pathlib.Path to read a file)"
            ) from None
        raise
    doc, raw_events, pointer = _assemble(top, strict)
    namespaces = doc.namespaces
    for i, event in enumerate(raw_events):
        if not isinstance(event, dict) or strict or "@context" in event:
            _check_event(event, f"{pointer}/{i}", strict, namespaces)
    doc.events = raw_events
    return doc


# --- writing -------------------------------------------------------------------------------------


def _context_for(doc: EPCISDocument, mode: ContextMode, warnings: list[str] | None = None) -> list[Any]:
    """The ``@context`` to write: the GS1 context, the document's other entries, then a declaration
    (:func:`prefix_definition`) for every namespace of the document not declared yet, the GS1
    context's own prefixes included when the document declared them (``cbvmda``: readers that know
    only declared prefixes need it). A prefix that GS1's context defines otherwise (its terms are
    protected) is declared all the same, so nothing is lost, with a warning: a JSON-LD processor
    refuses such a document (some of GS1's own examples do this)."""
    if mode == "keep":
        return list(doc.context)
    if mode not in _PREDEFINED:
        raise ValueError(f"context should be 'standard', 'simple' or 'keep', not {mode!r}")
    url = STANDARD_CONTEXT_URL if mode == "standard" else SIMPLE_CONTEXT_URL
    entries: list[Any] = [url]
    predefined = _PREDEFINED[mode]
    declared: set[str] = set()
    for entry in doc.context:
        if isinstance(entry, str) and entry in _EPCIS_CONTEXTS:
            continue
        entries.append(entry)
        if isinstance(entry, dict):
            declared.update(k for k in entry if isinstance(k, str))
    missing: dict[str, Any] = {}
    for prefix, uri in doc.namespaces.items():
        if prefix in declared or not isinstance(uri, str) or uri in _EPCIS_XML_NAMESPACES:
            continue
        definition = prefix_definition(uri)
        if prefix in predefined:
            iri = definition["@id"] if isinstance(definition, dict) else definition
            if predefined[prefix] != iri and warnings is not None:
                warnings.append(
                    f"namespace prefix {prefix!r} ({uri}): GS1's EPCIS context defines {prefix!r} "
                    f"as {predefined[prefix] or 'a term'} and protects it; declared all the same, as the "
                    "source did (a JSON-LD processor will refuse the redefinition)"
                )
        missing[prefix] = definition
    if missing:
        entries.append(missing)
    return entries


def _top_level(
    doc: EPCISDocument, mode: ContextMode, events: Any, warnings: list[str] | None = None
) -> dict[str, Any]:
    """The document as one JSON object, ``events`` standing in for the event list."""
    out: dict[str, Any] = {}
    context = _context_for(doc, mode, warnings)
    if context:
        out["@context"] = context
    attributes = doc.attributes
    if "id" in attributes:
        out["id"] = attributes["id"]
    out["type"] = doc.kind
    if "schemaVersion" in attributes:  # kept raw by a lenient read (a number, say)
        out["schemaVersion"] = attributes["schemaVersion"]
    elif doc.schema_version:
        # JSON-LD is a binding of EPCIS 2.0 only: a document read from 1.2 XML is written as 2.0
        out["schemaVersion"] = "2.0" if doc.schema_version == "1.2" else doc.schema_version
    if "creationDate" in attributes:
        out["creationDate"] = attributes["creationDate"]
    elif doc.creation_date is not None:
        out["creationDate"] = doc.creation_date
    for key, value in attributes.items():
        if key not in ("id", "epcisBody", "@context", "type", "schemaVersion", "creationDate"):
            out[key] = value
    header = doc.header
    master_data: Any = None
    if doc.kind == "EPCISMasterDataDocument" and isinstance(header, dict) and "epcisMasterData" in header:
        # as in XML: the vocabularies are the body of a master-data document
        master_data = header["epcisMasterData"]
        header = {k: v for k, v in header.items() if k != "epcisMasterData"} or None
    if header is not None:
        out["epcisHeader"] = header
    extra = attributes.get("epcisBody")
    extra = extra if isinstance(extra, dict) else {}
    if doc.kind == "EPCISMasterDataDocument":
        master = master_data if isinstance(master_data, dict) else {}
        out["epcisBody"] = {"vocabularyList": master.get("vocabularyList", []), **extra}
    elif doc.kind == "EPCISQueryDocument":
        query = doc.query or {}
        results = {k: v for k, v in query.items() if k != "resultsBody"}
        results_extra = query.get("resultsBody")
        results_extra = results_extra if isinstance(results_extra, dict) else {}
        results["resultsBody"] = {"eventList": events, **results_extra}
        out["epcisBody"] = {"queryResults": results, **extra}
    else:
        out["epcisBody"] = {"eventList": events, **extra}
    return out


def _dumps(value: Any, option: int = 0, what: str = "the document") -> bytes:
    try:
        return orjson.dumps(value, option=option)
    except orjson.JSONEncodeError as exc:
        # orjson stops at integers beyond 64 bits and at nesting deeper than 254 levels;
        # the standard library writes both (slowly), so a document that was read can be written.
        indent = 2 if option & orjson.OPT_INDENT_2 else None
        separators = (",", ": ") if indent else (",", ":")
        try:
            text = json.dumps(
                value, ensure_ascii=False, allow_nan=False, indent=indent, separators=separators
            )
            return text.encode("utf-8")
        except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
            raise EPCISError(f"{what} cannot be written as JSON: {exc}") from None


def write_jsonld(
    doc: EPCISDocument,
    *,
    context: ContextMode = "standard",
    indent: bool = False,
    warnings: list[str] | None = None,
) -> bytes:
    """The document as EPCIS 2.0 JSON-LD (UTF-8 bytes).

    ``context="standard"`` writes GS1's standard context URL first, then the other
    entries the document had, then a declaration for every namespace prefix not yet
    declared (so a document read from XML gets its extension prefixes);
    ``"simple"`` does the same with GS1's simple context; ``"keep"`` writes the
    ``@context`` exactly as read. ``indent=True`` pretty-prints with two spaces. Namespaces are
    declared as :func:`prefix_definition` says; ``warnings`` collects what could not be written
    as the document had it.
    """
    if doc.kind == "EPCISMasterDataDocument" and doc.events:
        raise EPCISError("a master data document holds no events", found=f"{len(doc.events)} events")
    return _dumps(_top_level(doc, context, doc.events, warnings), orjson.OPT_INDENT_2 if indent else 0)


def write_jsonld_stream(
    doc: EPCISDocument,
    events: Iterable[Event],
    out: IO[bytes],
    *,
    context: ContextMode = "standard",
    flush_every: int = 1 << 20,
    warnings: list[str] | None = None,
) -> int:
    """Write a document to a binary file one event at a time; returns the number of events.

    ``doc`` gives everything but the events (its own ``events``, if any, come first);
    ``events`` may be any iterator, such as :func:`iter_jsonld_events` or a database
    cursor, so memory stays bounded. Output is compact JSON.
    """
    if doc.kind == "EPCISMasterDataDocument":
        out.write(_dumps(_top_level(doc, context, [], warnings)))
        for _ in chain(doc.events, events):
            raise EPCISError("a master data document holds no events")
        return 0
    marker = "packtrail-events-" + os.urandom(8).hex()
    skeleton = _dumps(_top_level(doc, context, marker, warnings))
    head, _, tail = skeleton.partition(b'"' + marker.encode() + b'"')
    buffer = bytearray(head)
    buffer += b"["
    count = 0
    dumps = orjson.dumps
    for event in chain(doc.events, events):
        if count:
            buffer += b","
        try:
            buffer += dumps(event)
        except orjson.JSONEncodeError:
            buffer += _dumps(event, what=f"event {count}")
        count += 1
        if len(buffer) >= flush_every:
            out.write(buffer)
            buffer.clear()
    buffer += b"]"
    buffer += tail
    out.write(buffer)
    return count


# --- streaming reader ----------------------------------------------------------------------------

_WS: Final = re.compile(rb"[ \t\n\r]*+")
_STRING: Final = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_SCALAR: Final = re.compile(rb"[^ \t\n\r,\]}]*+")
_SKIP: Final = re.compile(rb'[^{}\[\]"]*+(?:"[^"\\]*+(?:\\.[^"\\]*+)*+"[^{}\[\]"]*+)*+', re.DOTALL)
"""Everything up to the next bracket outside a string (or to an unterminated string's quote)."""
_OPEN: Final = frozenset(b"{[")
_SEPARATOR: Final = re.compile(rb"[ \t\n\r]*+(,)?[ \t\n\r]*+")
_END: Final = object()


class JSONLDEventReader(Iterator[Event]):
    """Events of a JSON-LD document, one at a time, in bounded memory.

    Iterate it for the events; :attr:`document` has the rest of the document as
    far as it has been read (``@context`` and header parts written before the body
    are there from the first event on; anything written after the events only once
    iteration is over). Use it as a context manager to close a file it opened.

    Speed: events are cut out of the byte stream by counting braces (``bytes.find``
    and ``bytes.count`` run in C) and each is parsed by orjson; whenever strings
    hold braces the cut is checked by a string-aware scan, so the result is always
    exact.
    """

    def __init__(self, source: JSONSource, *, strict: bool = False, chunk_size: int = 1 << 20) -> None:
        self._strict = strict
        self._chunk = max(int(chunk_size), 1)
        self._file: IO[bytes] | None = None
        self._owned = False
        self._eof = False
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._buf = bytes(source)
            self._eof = True
        elif isinstance(source, str):
            self._buf = source.encode("utf-8", "surrogatepass")
            self._eof = True
        elif isinstance(source, os.PathLike):
            try:
                self._file = open(source, "rb")  # noqa: SIM115 - closed by close()/__exit__/exhaustion
            except OSError as exc:
                raise EPCISError(
                    f"cannot read the JSON-LD file {os.fspath(source)!r}: {exc.strerror}"
                ) from exc
            self._owned = True
            self._buf = b""
        elif hasattr(source, "read"):
            self._file = source
            self._buf = b""
        else:
            raise TypeError(
                f"expected JSON bytes or text, a path or a binary file, not {type(source).__name__}"
            )
        self._pos = 0
        self._base = 0
        self._top: dict[str, Any] = {}
        self._body_seen = False
        self._body: dict[str, Any] = {}
        self._query: dict[str, Any] | None = None
        self._results_seen = False
        self._results_extra: dict[str, Any] = {}
        self._namespaces: dict[str, str] = {}
        self.events_read = 0
        """How many events have been handed out so far."""
        self._gen: Generator[Event, None, None] = self._run()

    # -- public ------------------------------------------------------------------------------

    def __iter__(self) -> JSONLDEventReader:
        return self

    def __next__(self) -> Event:
        return next(self._gen)

    def __enter__(self) -> JSONLDEventReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and close the file if this reader opened it."""
        self._gen.close()
        if self._owned and self._file is not None:
            self._file.close()
        self._owned = False

    @property
    def event_namespaces(self) -> dict[str, str]:
        """The prefixes declared so far by events' own ``@context`` (a live dict: it grows as
        events are read), for a writer that streams the events on."""
        return self._namespaces

    @property
    def document(self) -> EPCISDocument:
        """The document without its events, from what has been read so far."""
        doc, _, _ = _assemble(self._synthetic_top(), strict=False, events_found=False)
        for prefix, uri in self._namespaces.items():
            doc.namespaces.setdefault(prefix, uri)
        if self._body_seen:
            # queryResults is lifted out only when it was read as the query's results object; any
            # other value under that name stays in the body, as the whole-document reader keeps it
            lifted = ("eventList", "queryResults") if self._query is not None else ("eventList",)
            extra = {k: v for k, v in self._body.items() if k not in lifted}
            if doc.kind == "EPCISMasterDataDocument":
                extra = _master_data_body(doc, extra)
            if extra:
                doc.attributes["epcisBody"] = extra
            if self._query is not None:
                doc.query = dict(self._query)
                extra = {k: v for k, v in self._results_extra.items() if k != "eventList"}
                if extra:
                    doc.query["resultsBody"] = extra
        return doc

    # -- the document's outline -----------------------------------------------------------------

    def _synthetic_top(self) -> dict[str, Any]:
        """The top-level object with an empty event list where the events were."""
        top = dict(self._top)
        if self._body_seen:
            body = dict(self._body)
            if self._query is not None:
                results = dict(self._query)
                if self._results_seen:
                    results["resultsBody"] = dict(self._results_extra)
                body["queryResults"] = results
            top["epcisBody"] = body
        return top

    def _run(self) -> Generator[Event, None, None]:
        try:
            self._skip_ws()
            if self._buf.startswith(_BOM, self._pos):
                self._pos += 3
            yield from self._members("", self._top_member)
            self._skip_ws()
            if self._pos < len(self._buf):
                raise self._syntax("data after the end of the document", "end of input")
            _assemble(self._synthetic_top(), self._strict)  # the checks a whole-document read makes
            if not self._body_seen:  # pragma: no cover - _assemble raised already
                raise EPCISError("no epcisBody", pointer="")
        finally:
            if self._owned and self._file is not None:
                self._file.close()
                self._owned = False

    def _members(self, pointer: str, handle: Callable[[str, str], Iterator[Event]]) -> Iterator[Event]:
        """Walk the members of the object at the current position; ``handle(key, pointer)`` reads each value."""
        self._skip_ws()
        if self._peek() != 0x7B:
            value = self._value(pointer)
            raise EPCISError(
                "expected a JSON object" if pointer else "an EPCIS document must be a JSON object",
                pointer=pointer,
                expected="object",
                found=_kind_of(value),
            )
        self._pos += 1
        self._skip_ws()
        if self._peek() == 0x7D:
            self._pos += 1
            return
        while True:
            self._skip_ws()
            key = self._key(pointer)
            yield from handle(key, f"{pointer}/{_escape(key)}")
            self._skip_ws()
            c = self._peek()
            if c == 0x2C:
                self._pos += 1
            elif c == 0x7D:
                self._pos += 1
                return
            else:
                raise self._syntax("expected ',' or '}' after a member of an object", "',' or '}'")

    def _top_member(self, key: str, pointer: str) -> Iterator[Event]:
        if key == "epcisBody" and self._peek_after_ws() == 0x7B:
            # check what came before the events, so a bad header fails before any event is used
            _assemble(self._top, strict=False, events_found=False)
            self._body_seen = True
            yield from self._members(pointer, self._body_member)
        else:
            self._top[key] = self._value(pointer)

    def _body_member(self, key: str, pointer: str) -> Iterator[Event]:
        if key == "eventList":
            self._body["eventList"] = []
            yield from self._events(pointer)
        elif key == "queryResults" and self._peek_after_ws() == 0x7B:
            self._query = {}
            yield from self._members(pointer, self._results_member)
        else:
            self._body[key] = self._value(pointer)

    def _results_member(self, key: str, pointer: str) -> Iterator[Event]:
        assert self._query is not None
        if key == "resultsBody" and self._peek_after_ws() == 0x7B:
            self._results_seen = True
            yield from self._members(pointer, self._results_body_member)
        else:
            self._query[key] = self._value(pointer)

    def _results_body_member(self, key: str, pointer: str) -> Iterator[Event]:
        if key == "eventList":
            self._results_extra["eventList"] = []
            yield from self._events(pointer)
        else:
            self._results_extra[key] = self._value(pointer)

    def _events(self, pointer: str) -> Iterator[Event]:
        self._skip_ws()
        if self._peek() != 0x5B:
            value = self._value(pointer)
            raise EPCISError(
                "the events must be a JSON array",
                pointer=pointer,
                expected="array of events",
                found=_kind_of(value),
            )
        self._pos += 1
        index = 0
        strict = self._strict
        namespaces = self._namespaces
        separator = _SEPARATOR.match
        loads = orjson.loads
        while True:
            # The fast path: separator, then an event whose braces balance within the buffer and
            # that orjson accepts. Anything else (end of buffer, braces in strings, bad JSON)
            # goes the careful way below, which also explains errors.
            buf = self._buf
            match = separator(buf, self._pos)
            start = match.end()  # type: ignore[union-attr]  # the pattern matches everywhere
            event: Any = None
            if start < len(buf) and buf[start] == 0x7B and (match.start(1) >= 0) == (index > 0):  # type: ignore[union-attr]
                find = buf.find
                count = buf.count
                depth = 1
                p = start + 1
                while True:
                    c = find(b"}", p)
                    if c < 0:
                        break
                    depth += count(b"{", p, c) - 1
                    p = c + 1
                    if depth <= 0:
                        try:
                            event = loads(buf[start:p])
                            self._pos = p
                        except orjson.JSONDecodeError:
                            pass
                        break
            if event is None:
                event = self._careful_event(pointer, index)
                if event is _END:
                    return
            if not isinstance(event, dict) or strict or "@context" in event:
                _check_event(event, f"{pointer}/{index}", strict, namespaces)
            index += 1
            self.events_read += 1
            yield event

    def _careful_event(self, pointer: str, index: int) -> Any:
        """The next event read step by step (refilling the buffer), or ``_END`` after the last."""
        self._skip_ws()
        c = self._peek()
        if c == 0x5D:
            self._pos += 1
            return _END
        if index:
            if c != 0x2C:
                raise self._syntax("expected ',' or ']' after an event", "',' or ']'", pointer)
            self._pos += 1
            self._skip_ws()
        elif c == 0x2C:
            raise self._syntax("expected an event or ']'", "'{' or ']'", pointer)
        return self._value(f"{pointer}/{index}")

    def _value(self, pointer: str) -> Any:
        """The JSON value at the current position, parsed by orjson."""
        self._skip_ws()
        start = self._pos
        c = self._peek()
        if c < 0:
            raise self._syntax("the document ends too early", "a JSON value", pointer)
        if c in _OPEN:
            end = self._container_end(pointer)
        elif c == 0x22:
            end = self._string_end(pointer)
        else:
            while True:
                end = _SCALAR.match(self._buf, self._pos).end()  # type: ignore[union-attr]
                if end < len(self._buf) or not self._fill():
                    break
        start = self._pos
        try:
            value = _loads(self._buf[start:end], "the value")
        except EPCISError as exc:
            raise EPCISError(
                f"{exc.reason} (at byte {self._base + start})", pointer=pointer, expected="a JSON value"
            ) from None
        self._pos = end
        return value

    def _key(self, pointer: str) -> str:
        if self._peek() != 0x22:
            raise self._syntax("expected a member name in double quotes", '"name"', pointer)
        end = self._string_end(pointer)
        key = _loads(self._buf[self._pos : end], "a member name")
        if not isinstance(key, str):  # pragma: no cover - a JSON string always loads as str
            raise self._syntax("expected a member name", '"name"', pointer)
        self._pos = end
        self._skip_ws()
        if self._peek() != 0x3A:
            raise self._syntax("expected ':' after a member name", "':'", pointer)
        self._pos += 1
        return key

    def _string_end(self, pointer: str) -> int:
        while True:
            match = _STRING.match(self._buf, self._pos)
            if match is not None:
                return match.end()
            if not self._fill():
                raise self._syntax("a string is not closed", 'a closing "', pointer)

    def _container_end(self, pointer: str) -> int:
        """Where the object or array at the current position ends (exact: strings are skipped)."""
        depth = 0
        offset = 0  # relative to self._pos, which _fill may move
        while True:
            buf = self._buf
            p = _SKIP.match(buf, self._pos + offset).end()  # type: ignore[union-attr]
            if p >= len(buf) or buf[p] == 0x22:
                offset = p - self._pos
                if not self._fill():
                    what = "a string is not closed" if p < len(buf) else "an object or array is not closed"
                    raise self._syntax(what, "more data", pointer)
                continue
            if buf[p] in _OPEN:
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    return p + 1
            offset = p + 1 - self._pos

    # -- the byte buffer --------------------------------------------------------------------------

    def _fill(self) -> bool:
        """Read another chunk, dropping what was consumed; False at the end of input."""
        if self._eof or self._file is None:
            self._eof = True
            return False
        chunk = self._file.read(self._chunk)
        if not chunk:
            self._eof = True
            return False
        if isinstance(chunk, str):  # a text file: accept it, though binary is expected
            chunk = chunk.encode("utf-8", "surrogatepass")
        self._base += self._pos
        self._buf = self._buf[self._pos :] + chunk
        self._pos = 0
        return True

    def _skip_ws(self) -> None:
        while True:
            self._pos = _WS.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buf) or not self._fill():
                return

    def _peek(self) -> int:
        """The byte at the current position, or -1 at the end of input."""
        if self._pos >= len(self._buf) and not self._fill():
            return -1
        return self._buf[self._pos]

    def _peek_after_ws(self) -> int:
        self._skip_ws()
        return self._peek()

    def _syntax(self, reason: str, expected: str, pointer: str | None = None) -> EPCISError:
        where = self._base + self._pos
        c = self._peek()
        found = "the end of the input" if c < 0 else repr(chr(c)) if c < 0x80 else f"byte 0x{c:02x}"
        return EPCISError(
            f"the document is not valid JSON: {reason} (at byte {where})",
            pointer=pointer,
            expected=expected,
            found=found,
        )


def _escape(key: str) -> str:
    """A member name as a JSON pointer token (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1") if ("~" in key or "/" in key) else key


def iter_jsonld_events(
    source: JSONSource, *, strict: bool = False, chunk_size: int = 1 << 20
) -> JSONLDEventReader:
    """Stream the events of a JSON-LD document of any size; see :class:`JSONLDEventReader`.

    Memory holds one chunk (``chunk_size`` bytes) and the event being cut out, so a
    document of a million events reads in a few megabytes. Errors are
    :class:`~packtrail.epcis.errors.EPCISError`, raised when the bad part is reached.
    """
    return JSONLDEventReader(source, strict=strict, chunk_size=chunk_size)
