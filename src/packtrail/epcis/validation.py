"""Validate EPCIS documents in layers, and report every problem with where, expected and found.

Three layers, each a module of its own:

- ``"schema"``: GS1's EPCIS 2.0 JSON Schema (:mod:`~packtrail.epcis.fast_validator`, held to
  the same verdicts as the official schema run by a JSON Schema library, which
  :mod:`~packtrail.epcis.schema_oracle` keeps as the reference and as a slow strict mode);
- ``"xsd"``: GS1's XML Schemas for EPCIS 2.0 and 1.2 XML (:mod:`~packtrail.epcis.xsd`, lxml);
- ``"rules"``: what no schema says (:mod:`~packtrail.epcis.rules`): action rules per event
  type, identifiers and their check digits, duplicates, CBV values that do not exist,
  units of measure, sensor data, time-zone offsets.

>>> from packtrail.epcis.validation import validate_jsonld_bytes
>>> report = validate_jsonld_bytes(b'''{
...   "@context": "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
...   "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2024-03-01T10:05:00Z",
...   "epcisBody": {"eventList": [
...     {"type": "ObjectEvent", "eventTime": "2024-03-01T10:00:00+01:00", "eventTimeZoneOffset": "+01:00",
...      "epcList": ["urn:epc:id:sgtin:4012345.011111.1001"], "action": "OBSERVE", "bizStep": "shipping"},
...     {"type": "AggregationEvent", "eventTime": "2024-03-01T10:00:00+01:00",
...      "eventTimeZoneOffset": "+01:00", "action": "ADD", "bizStep": "packing",
...      "childEPCs": ["https://id.gs1.org/01/04012345111112/21/1001"]}]}}''')
>>> report.valid, report.error_count, report.events
(False, 2, 2)
>>> for issue in report.issues:
...     print(issue.layer, issue.pointer, "|", issue.reason)
rules /epcisBody/eventList/1/childEPCs/0 | childEPCs[0]: AI (01) at position 22: check digit should be 8, found 2 (in '04012345111112')
rules /epcisBody/eventList/1/parentID | an AggregationEvent with action ADD must name its parent (parentID)

A document already read (:func:`~packtrail.epcis.jsonld.read_jsonld`, or XML read with
:func:`~packtrail.epcis.xml.read_xml`) is validated as :func:`validate_document`; EPCIS XML
text also against the XSD with :func:`validate_xml`. At most ``max_issues`` issues are
kept (1,000 by default); the report counts the rest.

Reading is lenient (:func:`~packtrail.epcis.jsonld.read_jsonld` keeps what a partner's
slightly-off file holds); validation is strict and separate: read first, then decide what
to accept.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any, Final, Literal, TypeAlias

import orjson

from packtrail.epcis.document import EPCISDocument
from packtrail.epcis.errors import EPCISError
from packtrail.epcis.fast_validator import check_event, check_json_document, check_one, events_of
from packtrail.epcis.issues import (
    DEFAULT_MAX_ISSUES,
    IssueCollector,
    Layer,
    Severity,
    ValidationIssue,
    ValidationReport,
)
from packtrail.epcis.jsonld import write_jsonld
from packtrail.epcis.rules import Binding, RuleChecker, check_header_rules
from packtrail.epcis.xsd import XSDVersion, check_xsd

__all__ = [
    "Layer",
    "SchemaEngine",
    "Severity",
    "ValidationIssue",
    "ValidationReport",
    "validate_document",
    "validate_events",
    "validate_json",
    "validate_jsonld_bytes",
    "validate_xml",
]

SchemaEngine: TypeAlias = Literal["fast", "oracle"]
"""How the ``"schema"`` layer runs: packtrail's fast validator, or GS1's schema itself (slow, strict)."""

_JSON_LAYERS: Final = frozenset({"schema", "rules"})
_XML_LAYERS: Final = frozenset({"xsd", "schema", "rules"})


def _check_layers(layers: Iterable[str], allowed: frozenset[str], where: str) -> tuple[Layer, ...]:
    chosen = tuple(layers)
    unknown = [layer for layer in chosen if layer not in allowed]
    if unknown:
        hint = " (the XSD layer needs the XML text: use validate_xml)" if "xsd" in unknown else ""
        raise ValueError(f"{where} runs the layers {sorted(allowed)}, not {unknown}{hint}")
    return chosen  # type: ignore[return-value]


def _events_pointer(doc: EPCISDocument) -> str:
    return "/epcisBody/queryResults/resultsBody/eventList" if doc.is_query else "/epcisBody/eventList"


def _frame(doc: EPCISDocument, out: IssueCollector) -> dict[str, Any] | None:
    """The document without its events, as the JSON-LD writer would write it."""
    try:
        top: dict[str, Any] = orjson.loads(write_jsonld(doc.header_only(), context="keep"))
    except (EPCISError, orjson.JSONDecodeError) as exc:
        out.error("schema", "", f"the document cannot be written as JSON: {exc}")
        return None
    return top


def _run(
    top: dict[str, Any] | None,
    events: Iterable[Any],
    pointer: str,
    header: Any,
    out: IssueCollector,
    layers: tuple[Layer, ...],
    binding: Binding,
    schema_events: Iterable[Any] | None = None,
) -> int:
    """Check the document frame, then each event (schema, then rules), then the header rules."""
    schema = "schema" in layers
    rules = RuleChecker(out, binding=binding, schema_ran=schema) if "rules" in layers else None
    if schema and top is not None:
        check_json_document(top, out, events=(), events_pointer=pointer)
    count = 0
    if schema_events is not None:  # XML under the JSON Schema: CBV values made bare first
        for i, (event, bare) in enumerate(zip(events, schema_events, strict=True)):
            here = f"{pointer}/{i}"
            check_one(bare, here, out)
            if rules is not None:
                rules.check_event(event, here)
            count += 1
    elif rules is not None and schema:
        check_rules = rules.check_event
        for i, event in enumerate(events):
            here = f"{pointer}/{i}"
            check_one(event, here, out)
            check_rules(event, here)
            count += 1
    elif schema:
        for i, event in enumerate(events):
            check_one(event, f"{pointer}/{i}", out)
            count += 1
    elif rules is not None:
        count = rules.check_events(events, pointer)
    else:
        count = sum(1 for _ in events)
    if rules is not None:
        check_header_rules(header, out)
    return count


def validate_document(
    doc: EPCISDocument,
    *,
    layers: Iterable[Layer] = ("schema", "rules"),
    max_issues: int = DEFAULT_MAX_ISSUES,
    schema_engine: SchemaEngine = "fast",
    binding: Binding = "json",
) -> ValidationReport:
    """Validate a document in the JSON-LD shape (read from JSON-LD or XML).

    ``layers``: ``"schema"`` (GS1's JSON Schema, as the document would be written in
    JSON-LD with its ``@context`` kept) and/or ``"rules"``. ``schema_engine="oracle"``
    runs GS1's schema itself instead of the fast validator (much slower; its messages are
    the JSON Schema library's). ``binding="xml"`` tells the rules the document came from
    XML (where CBV values are written as URIs). Pointers are JSON pointers into the
    JSON-LD form of the document (``/epcisBody/eventList/3/epcList/0``).

    The schema layer judges the document as JSON-LD, where CBV values are bare words: for a
    document read from XML use :func:`validate_xml`, or ``layers=("rules",), binding="xml"``.
    """
    chosen = _check_layers(layers, _JSON_LAYERS, "validate_document")
    out = IssueCollector(max_issues=max_issues)
    pointer = _events_pointer(doc)
    if "schema" in chosen and schema_engine == "oracle":
        from packtrail.epcis.schema_oracle import oracle_issues

        try:
            whole = orjson.loads(write_jsonld(doc, context="keep"))
        except (EPCISError, orjson.JSONDecodeError) as exc:
            out.error("schema", "", f"the document cannot be written as JSON: {exc}")
        else:
            oracle_issues(whole, out)
        rest = tuple(layer for layer in chosen if layer != "schema")
        count = _run(None, doc.events, pointer, doc.header, out, rest, binding)
        return out.report(chosen, count)
    if schema_engine not in ("fast", "oracle"):
        raise ValueError(f"schema_engine should be 'fast' or 'oracle', not {schema_engine!r}")
    top = _frame(doc, out) if "schema" in chosen else None
    count = _run(top, doc.events, pointer, doc.header, out, chosen, binding)
    return out.report(chosen, count)


def validate_events(
    events: Iterable[Any],
    *,
    layers: Iterable[Layer] = ("schema", "rules"),
    max_issues: int = DEFAULT_MAX_ISSUES,
    pointer: str = "/epcisBody/eventList",
    binding: Binding = "json",
) -> ValidationReport:
    """Validate events alone (a stream, a capture batch), located under ``pointer``.

    Each event is checked as a member of a document's ``eventList`` (no ``@context`` needed).
    """
    chosen = _check_layers(layers, _JSON_LAYERS, "validate_events")
    out = IssueCollector(max_issues=max_issues)
    count = _run(None, events, pointer, None, out, chosen, binding)
    return out.report(chosen, count)


def validate_json(
    document: Any,
    *,
    layers: Iterable[Layer] = ("schema", "rules"),
    max_issues: int = DEFAULT_MAX_ISSUES,
) -> ValidationReport:
    """Validate parsed JSON exactly as it is: an ``EPCISDocument``, an ``EPCISQueryDocument``,
    or a single event (which must then carry its own ``@context``)."""
    chosen = _check_layers(layers, _JSON_LAYERS, "validate_json")
    out = IssueCollector(max_issues=max_issues)
    if (
        isinstance(document, dict)
        and document.get("type") not in ("EPCISDocument", "EPCISQueryDocument")
        and ("type" in document)
    ):
        if "schema" in chosen:
            check_event(document, "", out, standalone=True)
        if "rules" in chosen:
            RuleChecker(out, schema_ran="schema" in chosen).check_event(document, "")
        return out.report(chosen, 1)
    events, pointer = events_of(document)
    header = document.get("epcisHeader") if isinstance(document, dict) else None
    if "schema" in chosen:
        count = _run(document, events or (), pointer, header, out, chosen, "json")
    else:
        count = _run(None, events or (), pointer, header, out, chosen, "json")
    return out.report(chosen, count)


def _source_bytes(source: Any) -> bytes | bytearray | memoryview | str:
    if isinstance(source, (bytes, bytearray, memoryview, str)):
        return source
    if isinstance(source, os.PathLike):
        return Path(source).read_bytes()
    if hasattr(source, "read"):
        data: bytes | str = source.read()
        return data
    raise TypeError(f"expected JSON bytes or text, a path or a binary file, not {type(source).__name__}")


def validate_jsonld_bytes(
    source: bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes],
    *,
    layers: Iterable[Layer] = ("schema", "rules"),
    max_issues: int = DEFAULT_MAX_ISSUES,
) -> ValidationReport:
    """Validate EPCIS JSON-LD text (bytes, a ``str`` of JSON, a path or a binary file) as written."""
    chosen = _check_layers(layers, _JSON_LAYERS, "validate_jsonld_bytes")
    data = _source_bytes(source)
    enabled = gc.isenabled()
    gc.disable()  # JSON makes no reference cycles; the collector only slows big parses down
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        out = IssueCollector(max_issues=max_issues)
        out.error(
            chosen[0] if chosen else "schema",
            "",
            f"the document is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            expected="JSON text",
        )
        return out.report(chosen, 0)
    finally:
        if enabled:
            gc.enable()
    return validate_json(document, layers=chosen, max_issues=max_issues)


def validate_xml(
    source: bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes],
    *,
    version: XSDVersion | None = None,
    layers: Iterable[Layer] = ("xsd", "rules"),
    max_issues: int = DEFAULT_MAX_ISSUES,
) -> ValidationReport:
    """Validate EPCIS XML (2.0 or 1.2): against GS1's XSD and by the rules.

    ``version``: the XSD to use (``"2.0"`` or ``"1.2"``); None picks it from the root
    element's namespace. The XSD layer points with XPaths (and line numbers); the rules
    run on the document read into the JSON-LD shape (:func:`packtrail.epcis.xml.read_xml`)
    and point with JSON pointers into that shape. ``"schema"`` may be added: the JSON Schema
    then judges the document as it would be written in JSON-LD (CBV values as bare words).
    """
    chosen = _check_layers(layers, _XML_LAYERS, "validate_xml")
    out = IssueCollector(max_issues=max_issues)
    data = source
    if not isinstance(source, (bytes, bytearray, memoryview, str)):
        data = _source_bytes(source)
        if isinstance(data, str):
            data = data.encode("utf-8")
    if "xsd" in chosen:
        check_xsd(data, out, version=version)
    json_layers = tuple(layer for layer in chosen if layer != "xsd")
    if not json_layers:
        return out.report(chosen, 0)
    from packtrail.epcis.xml import read_xml  # the XML codec, loaded when needed

    try:
        doc = read_xml(data)
    except EPCISError as exc:
        if "xsd" not in chosen or out.errors == 0:
            out.error(
                json_layers[0],
                exc.pointer or "/",
                f"the document cannot be read: {exc.reason}",
                expected=exc.expected,
                found=exc.found,
            )
        return out.report(chosen, 0)
    pointer = _events_pointer(doc)
    if "schema" in json_layers:
        from packtrail.epcis.vocabulary import normalise_event

        bare = [normalise_event(event, cbv="bare") for event in doc.events]
        top = _frame(doc, out)
        count = _run(top, doc.events, pointer, doc.header, out, json_layers, "xml", schema_events=bare)
    else:
        count = _run(None, doc.events, pointer, doc.header, out, json_layers, "xml")
    return out.report(chosen, count)
