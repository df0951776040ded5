"""Convert EPCIS documents between JSON-LD, EPCIS 2.0 XML and EPCIS 1.2 XML, streaming.

:func:`detect_format` tells the three apart from the first bytes:

>>> from packtrail.epcis.convert import convert, detect_format
>>> detect_format(b'{"@context": [], "type": "EPCISDocument"}')
'jsonld'
>>> detect_format(b'<?xml version="1.0"?><epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1"/>')
'xml12'

:func:`convert` reads any of them and writes any of them, one event at a time, so
memory stays bounded whatever the number of events; the header parts (SBDH,
master data, namespaces, document-level extensions) are carried across:

>>> import io
>>> source = b'''<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1"
...   xmlns:cbvmda="urn:epcglobal:cbv:mda" schemaVersion="1.2" creationDate="2024-03-01T10:05:00Z">
...   <EPCISBody><EventList><ObjectEvent><eventTime>2024-03-01T10:00:00Z</eventTime>
...   <eventTimeZoneOffset>+01:00</eventTimeZoneOffset><epcList/><action>ADD</action>
...   <extension><ilmd><cbvmda:lotNumber>L1</cbvmda:lotNumber></ilmd></extension>
...   </ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>'''
>>> out = io.BytesIO()
>>> summary = convert(source, out, to="jsonld")
>>> summary.source_format, summary.events, summary.warnings
('xml12', 1, [])
>>> b'"cbvmda":{"@id":"urn:epcglobal:cbv:mda:","@prefix":true}' in out.getvalue()
True

How the header parts are found before the first event is written: a JSON-LD
document has them before ``epcisBody`` (as GS1's examples do); an XML document's
parts after the events (document-level extensions, body extensions) are read from
the end of the file first. Should the finished read still find the header parts
different from what was written (a JSON-LD ``epcisHeader`` after the events, a
namespace declared deep inside an event for JSON-LD output), the conversion runs
a second time with the complete header, when source and target allow it; if they
do not, a warning says what is missing. ``summary.passes`` tells.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import IO, Any, Final, Literal, TypeAlias

from lxml import etree

from packtrail.epcis.document import EPCISDocument, Event
from packtrail.epcis.errors import EPCISError
from packtrail.epcis.jsonld import ContextMode, iter_jsonld_events, write_jsonld_stream
from packtrail.epcis.xml_read import iter_xml_events, read_xml
from packtrail.epcis.xml_write import CBVFormat, EPCFormat, NewFields, XMLWriteWarning, write_xml_stream

__all__ = ["ConversionSummary", "Format", "Source", "convert", "detect_format"]

Format: TypeAlias = Literal["jsonld", "xml", "xml12"]
"""EPCIS 2.0 JSON-LD, EPCIS 2.0 XML, EPCIS 1.2 XML."""

Source: TypeAlias = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]
"""A document's bytes, a path (``str`` or ``os.PathLike``), or a binary file opened for reading."""

_SNIFF: Final = 1 << 16
_TAIL: Final = 1 << 20
_HEAD_LIMIT: Final = 1 << 26
_XML_1_2: Final = frozenset(
    {"urn:epcglobal:epcis:xsd:1", "urn:epcglobal:epcis-query:xsd:1", "urn:epcglobal:epcis-masterdata:xsd:1"}
)
_EVENT_LIST_START: Final = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?EventList(?:\s[^>]*)?(/?)>")
_EVENT_LIST_END: Final = re.compile(rb"</(?:[A-Za-z_][\w.\-]*:)?EventList\s*>")


@dataclass(slots=True)
class ConversionSummary:
    """What a conversion did."""

    source_format: Format
    """The format detected in the source."""
    target_format: Format
    """The format written."""
    events: int = 0
    """How many events were written."""
    warnings: list[str] = field(default_factory=list)
    """What could not be written as the source had it, in words (once per kind)."""
    passes: int = 1
    """1, or 2 when header parts found only after the events made a second run necessary."""


# --- format detection --------------------------------------------------------------------------


def _sniff(head: bytes) -> Format:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"{", b"["):
        return "jsonld"
    if text[:1] != b"<":
        raise EPCISError(
            "this is neither JSON-LD nor XML",
            expected="'{' (JSON-LD) or '<' (XML) at the start",
            found=repr(text[:20]) if text else "no data",
        )
    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, no_network=True, load_dtd=False)
    try:
        parser.feed(head)
        for _, element in parser.read_events():
            tag = getattr(element, "tag", None)
            namespace = tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""
            return "xml12" if namespace in _XML_1_2 else "xml"
    except etree.XMLSyntaxError as exc:
        raise EPCISError(f"not well-formed XML: {exc.msg}") from None
    raise EPCISError("no root element in the first 64 kB of the XML", expected="an EPCIS root element")


def detect_format(source: Source) -> Format:
    """``"jsonld"``, ``"xml"`` (EPCIS 2.0) or ``"xml12"`` (EPCIS 1.2), from the first bytes.

    ``source``: the document's bytes, a path, or a seekable binary file (read, then put back
    where it was). XML is told by the namespace of its root element (``urn:epcglobal:epcis:xsd:1``
    and its query and master-data siblings are 1.2; anything else, a bare event too, is 2.0).
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _sniff(bytes(source[:_SNIFF]))
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, "rb") as file:
                return _sniff(file.read(_SNIFF))
        except OSError as exc:
            raise EPCISError(f"cannot read {os.fspath(source)!r}: {exc.strerror}") from exc
    position = source.tell()
    head = source.read(_SNIFF)
    source.seek(position)
    return _sniff(head)


# --- reading the header parts first ------------------------------------------------------------


class _Opened:
    """Random access to a source: its size, any byte range, a fresh reader per pass."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.data: bytes | None = None
        self.path: str | None = None
        self.file: IO[bytes] | None = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.data = bytes(source)
        elif isinstance(source, (str, os.PathLike)):
            self.path = os.fspath(source)
            if not Path(self.path).is_file():
                raise EPCISError(f"cannot read {self.path!r}: no such file")
        else:
            self.file = source
            self.start = source.tell()

    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        if self.path is not None:
            return os.path.getsize(self.path)
        assert self.file is not None
        self.file.seek(0, io.SEEK_END)
        size = self.file.tell() - self.start
        self.file.seek(self.start)
        return size

    def read(self, offset: int, length: int) -> bytes:
        if self.data is not None:
            return self.data[offset : offset + length]
        if self.path is not None:
            with open(self.path, "rb") as file:
                file.seek(offset)
                return file.read(length)
        assert self.file is not None
        self.file.seek(self.start + offset)
        chunk = self.file.read(length)
        self.file.seek(self.start)
        return chunk

    def reader_source(self) -> Any:
        """What a streaming reader takes, positioned at the start."""
        if self.data is not None:
            return self.data
        if self.path is not None:
            return Path(self.path)
        assert self.file is not None
        self.file.seek(self.start)
        return self.file


def _xml_outline(opened: _Opened) -> EPCISDocument | None:
    """The whole XML document but its events, from its head (up to ``<EventList>``) and its tail
    (from ``</EventList>``); None when that cut is not possible (the caller reads it all)."""
    size = opened.size()
    head = b""
    offset = 0
    match = None
    while offset < size and offset < _HEAD_LIMIT:
        chunk = opened.read(offset, _TAIL)
        if not chunk:
            break
        head += chunk
        offset += len(chunk)
        match = _EVENT_LIST_START.search(head)
        if match is not None:
            break
    if match is None or match.group(1):  # no EventList (master data), or an empty one: read it all
        return None
    tail_start = max(size - _TAIL, match.end())
    tail = opened.read(tail_start, size - tail_start)
    ends = list(_EVENT_LIST_END.finditer(tail))
    if not ends:
        return None
    try:
        return read_xml(head[: match.end()] + tail[ends[-1].start() :])
    except EPCISError:
        return None


def _complete_document(fmt: Format, opened: _Opened) -> EPCISDocument:
    """Every part but the events, by reading the whole source once (bounded memory)."""
    if fmt == "jsonld":
        with iter_jsonld_events(opened.reader_source()) as reader:
            for _ in reader:
                pass
            return reader.document
    stream = iter_xml_events(opened.reader_source())
    for _ in stream:
        pass
    return stream.document


class _Namespaces(dict[str, str]):
    """The namespaces known up front, and those the XML stream finds later (declared in an event)."""

    def __init__(self, known: dict[str, str], live: dict[str, str]) -> None:
        super().__init__(known)
        self.live = live

    def get(self, key: str, default: Any = None) -> Any:
        found = super().get(key)
        return found if found is not None else self.live.get(key, default)


def _same_outline(a: EPCISDocument, b: EPCISDocument, namespaces: bool) -> bool:
    return (
        (a.kind, a.creation_date, a.header, a.query, a.attributes, a.context)
        == (b.kind, b.creation_date, b.header, b.query, b.attributes, b.context)
    ) and (not namespaces or dict(a.namespaces) == dict(b.namespaces))


# --- conversion --------------------------------------------------------------------------------


def _events(
    fmt: Format, opened: _Opened
) -> tuple[Iterator[Event], Callable[[], EPCISDocument], dict[str, str], Callable[[], None]]:
    """The event iterator, a function giving the document as read so far, the live dict of the
    namespaces the reader finds as it goes (declared in events), and a closer."""
    if fmt == "jsonld":
        reader = iter_jsonld_events(opened.reader_source())
        return reader, lambda: reader.document, reader.event_namespaces, reader.close
    stream = iter_xml_events(opened.reader_source())
    return stream, lambda: stream.document, stream.document.namespaces, stream.close


def _run(
    fmt: Format,
    to: Format,
    opened: _Opened,
    target: IO[bytes],
    outline: EPCISDocument | None,
    options: dict[str, Any],
    progress: Callable[[int], None] | None,
    summary: ConversionSummary,
) -> tuple[EPCISDocument, bool]:
    """One pass: read events, write them; returns the document as the reader finally saw it and
    whether the header written had all of it."""
    events, document, live, close = _events(fmt, opened)
    try:
        first = next(events, None)
        header = (document() if outline is None else outline).header_only()
        # namespaces declared later (inside events) stay visible to the XML writer
        header.namespaces = _Namespaces(header.namespaces, live)
        if to == "jsonld":
            header.schema_version = "2.0"
        stream: Iterator[Event] = chain([first], events) if first is not None else iter(())
        if progress is not None:
            stream = _counting(stream, progress)
        notes: list[str] = []
        if to == "jsonld":
            count = write_jsonld_stream(header, stream, target, context=options["context"], warnings=notes)
        else:
            xml_notes: list[XMLWriteWarning] = []
            count = write_xml_stream(
                header,
                stream,
                target,
                version="1.2" if to == "xml12" else "2.0",
                cbv_format=options["cbv_format"],
                epc_format=options["epc_format"],
                new_fields=options["new_fields"],
                warnings=xml_notes,
            )
            notes = [str(note) for note in xml_notes]
        summary.events = count
        summary.warnings = list(dict.fromkeys(notes))
        for _ in events:  # a reader stops at the last event: let it see the document's end
            pass
        final = document()
        return final, _same_outline(header, final, namespaces=to == "jsonld")
    finally:
        close()


def _counting(events: Iterator[Event], progress: Callable[[int], None], every: int = 1000) -> Iterator[Event]:
    done = 0
    for event in events:
        yield event
        done += 1
        if done % every == 0:
            progress(done)
    progress(done)


def convert(
    source: Source,
    target: IO[bytes] | str | os.PathLike[str],
    *,
    to: Format = "jsonld",
    progress: Callable[[int], None] | None = None,
    context: ContextMode = "standard",
    cbv_format: CBVFormat = None,
    epc_format: EPCFormat = None,
    new_fields: NewFields = "carry",
) -> ConversionSummary:
    """Convert an EPCIS document of any format and size to ``to``, streaming.

    ``source``: bytes, a path or a seekable binary file; its format is detected
    (:func:`detect_format`). ``target``: a path or a binary file. ``to``: ``"jsonld"``,
    ``"xml"`` (EPCIS 2.0) or ``"xml12"`` (EPCIS 1.2). ``progress(events_done)`` is called
    every 1,000 events and at the end. ``context`` goes to the JSON-LD writer; ``cbv_format``,
    ``epc_format`` and ``new_fields`` to the XML writer. Returns a :class:`ConversionSummary`.
    Bad input raises :class:`~packtrail.epcis.errors.EPCISError`.
    """
    if to not in ("jsonld", "xml", "xml12"):
        raise EPCISError("unknown target format", expected='"jsonld", "xml" or "xml12"', found=repr(to))
    fmt = detect_format(source)
    opened = _Opened(source)
    summary = ConversionSummary(source_format=fmt, target_format=to)
    options = {
        "context": context,
        "cbv_format": cbv_format,
        "epc_format": epc_format,
        "new_fields": new_fields,
    }
    outline = _xml_outline(opened) if fmt != "jsonld" else None
    if fmt != "jsonld" and outline is None:
        outline = _complete_document(fmt, opened)  # the cut was not possible: read it all once
        summary.passes = 2

    if isinstance(target, (str, os.PathLike)):
        with open(target, "wb") as file:
            _convert_into(fmt, to, opened, file, outline, options, progress, summary)
    else:
        _convert_into(fmt, to, opened, target, outline, options, progress, summary)
    return summary


def _convert_into(
    fmt: Format,
    to: Format,
    opened: _Opened,
    target: IO[bytes],
    outline: EPCISDocument | None,
    options: dict[str, Any],
    progress: Callable[[int], None] | None,
    summary: ConversionSummary,
) -> None:
    start = target.tell() if target.seekable() else None
    try:
        final, complete = _run(fmt, to, opened, target, outline, options, progress, summary)
    except EPCISError:
        if start is None or fmt != "jsonld" or outline is not None:
            raise
        # A prefix used before it was declared (a JSON-LD @context after the events, say): read the
        # whole document once for its outline; a bad source raises here, as it should.
        final, complete = _complete_document(fmt, opened), False
    if complete:
        return
    if start is None:
        summary.warnings.append(
            "the source has header parts after its events (or namespaces declared inside events) "
            "and the target cannot be rewritten: they are missing from the output"
        )
        return
    target.seek(start)
    target.truncate()
    summary.passes += 1
    _run(fmt, to, opened, target, final, options, progress, summary)
