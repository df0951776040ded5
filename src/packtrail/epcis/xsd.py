"""EPCIS XML documents checked against GS1's XML Schemas (2.0 and 1.2), with lxml.

The official XSDs are vendored under ``data/xsd/2.0`` and ``data/xsd/1.2`` (with the SBDH
schemas they import) and compiled once per version, on first use. One schema per version
covers the three kinds of root element: ``EPCISDocument``, ``EPCISQueryDocument`` and
``EPCISMasterDataDocument``.

>>> from packtrail.epcis.xsd import check_xsd, detect_version
>>> from packtrail.epcis.issues import IssueCollector
>>> xml = b'''<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0"
...   creationDate="2024-03-01T10:05:00Z"><EPCISBody><EventList><ObjectEvent>
...   <eventTime>2024-03-01T10:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
...   <epcList/><action>OBSERV</action></ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>'''
>>> detect_version(xml)
'2.0'
>>> out = IssueCollector()
>>> check_xsd(xml, out)
'2.0'
>>> issue = out.issues[0]
>>> issue.pointer
'/epcis:EPCISDocument/EPCISBody/EventList/ObjectEvent/action'
>>> issue.found, issue.expected
("'OBSERV'", "one of 'ADD', 'OBSERVE', 'DELETE'")

Every error libxml2 reports is kept (bounded by the collector), located by the XPath
lxml gives and the line number.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import IO, Any, Final, Literal, TypeAlias

from lxml import etree

from packtrail.epcis.issues import IssueCollector

__all__ = ["XSDVersion", "check_xsd", "detect_version", "xml_schema"]

XSDVersion: TypeAlias = Literal["2.0", "1.2"]
"""The EPCIS XML binding a document follows."""

_LAYER: Final = "xsd"
_NAMESPACE_VERSIONS: Final[dict[str, XSDVersion]] = {
    "urn:epcglobal:epcis:xsd:2": "2.0",
    "urn:epcglobal:epcis-query:xsd:2": "2.0",
    "urn:epcglobal:epcis-masterdata:xsd:2": "2.0",
    "urn:epcglobal:epcis:xsd:1": "1.2",
    "urn:epcglobal:epcis-query:xsd:1": "1.2",
    "urn:epcglobal:epcis-masterdata:xsd:1": "1.2",
}
_MAIN_FILES: Final[dict[XSDVersion, tuple[tuple[str, str], ...]]] = {
    "2.0": (
        ("urn:epcglobal:epcis:xsd:2", "EPCglobal-epcis-2_0.xsd"),
        ("urn:epcglobal:epcis-query:xsd:2", "EPCglobal-epcis-query-2_0.xsd"),
        ("urn:epcglobal:epcis-masterdata:xsd:2", "EPCglobal-epcis-masterdata-2_0.xsd"),
    ),
    "1.2": (
        ("urn:epcglobal:epcis:xsd:1", "EPCglobal-epcis-1_2.xsd"),
        ("urn:epcglobal:epcis-query:xsd:1", "EPCglobal-epcis-query-1_2.xsd"),
        ("urn:epcglobal:epcis-masterdata:xsd:1", "EPCglobal-epcis-masterdata-1_2.xsd"),
    ),
}


@cache
def xml_schema(version: XSDVersion) -> etree.XMLSchema:
    """The compiled XML Schema of EPCIS ``version`` ("2.0" or "1.2"); compiled once, then cached."""
    if version not in _MAIN_FILES:
        raise ValueError(f"version should be '2.0' or '1.2', not {version!r}")
    folder = resources.files("packtrail.epcis").joinpath("data", "xsd", version)
    with resources.as_file(folder) as path:
        imports = "".join(
            f'<xsd:import namespace="{namespace}" schemaLocation="{filename}"/>'
            for namespace, filename in _MAIN_FILES[version]
        )
        wrapper = (
            '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            f'targetNamespace="urn:packtrail:epcis-xsd-wrapper">{imports}</xsd:schema>'
        )
        base = os.path.join(os.fspath(path), "wrapper.xsd")
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        document = etree.parse(io.BytesIO(wrapper.encode()), parser, base_url=base)
        return etree.XMLSchema(document)


def _read(source: Any) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, str):
        if source.lstrip().startswith("<"):
            return source.encode("utf-8")
        raise TypeError("a str is read as XML text; pass a pathlib.Path to read a file")
    if isinstance(source, os.PathLike):
        with open(source, "rb") as file:
            return file.read()
    if hasattr(source, "read"):
        data = source.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    raise TypeError(f"expected XML bytes or text, a path or a binary file, not {type(source).__name__}")


def detect_version(
    source: bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes],
) -> XSDVersion | None:
    """The EPCIS XML version a document's root element names (by its namespace), or None."""
    data = _read(source)
    try:
        for _, element in etree.iterparse(
            io.BytesIO(data), events=("start",), resolve_entities=False, no_network=True
        ):
            return _NAMESPACE_VERSIONS.get(etree.QName(element).namespace or "")
    except etree.XMLSyntaxError:
        return None
    return None  # pragma: no cover - a document has a root element or a syntax error


_FOUND: Final = re.compile(r"The value '(.*?)' is not")
_SET: Final = re.compile(r"not an element of the set \{(.*)\}")
_EXPECTED: Final = re.compile(r"Expected is(?: one of)? \( (.*?) \)")
_TYPE: Final = re.compile(r"is not a valid value of the (?:atomic|list|union) type '(.*?)'")


def _issue_parts(message: str) -> tuple[str, str | None, str | None]:
    """Reason, expected and found of a libxml2 validity message."""
    reason = message.rstrip(".")
    found = None
    expected = None
    match = _FOUND.search(message)
    if match:
        found = repr(match.group(1))
    match = _SET.search(message)
    if match:
        expected = "one of " + match.group(1)
    match = _EXPECTED.search(message)
    if match:
        expected = match.group(1)
        if found is None:
            found = "another element"
    match = _TYPE.search(message)
    if match and expected is None:
        expected = f"a value of type {match.group(1)}"
    return reason, expected, found


def check_xsd(
    source: bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes],
    out: IssueCollector,
    *,
    version: XSDVersion | None = None,
) -> XSDVersion | None:
    """Validate an EPCIS XML document against GS1's XSD of ``version`` (None: by its root's
    namespace); report every error to ``out``. Returns the version used, or None when the
    document is not EPCIS XML at all (which is reported too)."""
    data = _read(source)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        tree = etree.parse(io.BytesIO(data), parser)
    except etree.XMLSyntaxError as exc:
        line = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        out.error(
            _LAYER, "/", f"the document is not well-formed XML: {exc.msg}{line}", expected="well-formed XML"
        )
        return None
    root = tree.getroot()
    if version is None:
        version = _NAMESPACE_VERSIONS.get(etree.QName(root).namespace or "")
        if version is None:
            out.error(
                _LAYER,
                "/" + str(root.tag),
                "the root element is not an EPCIS document",
                expected="epcis:EPCISDocument, EPCISQueryDocument or EPCISMasterDataDocument in an EPCIS "
                "namespace (urn:epcglobal:epcis:xsd:2 or :1)",
                found=repr(etree.QName(root).localname),
            )
            return None
    schema = xml_schema(version)
    if schema.validate(tree):
        return version
    log: Iterable[Any] = schema.error_log  # type: ignore[assignment]  # lxml-stubs: the log is iterable
    for entry in log:
        reason, expected, found = _issue_parts(entry.message)
        pointer = entry.path or "/"
        out.error(_LAYER, pointer, f"{reason} (line {entry.line})", expected=expected, found=found)
    return version
