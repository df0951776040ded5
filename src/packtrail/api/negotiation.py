"""Content negotiation: JSON-LD or XML, which EPCIS version, which identifier forms.

A client says what it wants with ``Accept`` (JSON-LD by default; ``application/xml`` for EPCIS
XML), ``GS1-EPCIS-Min``/``-Max`` and ``GS1-CBV-Min``/``-Max`` (this node writes EPCIS 2.0, and
EPCIS 1.2 XML to a client whose ``GS1-EPCIS-Max`` is 1.x), ``GS1-EPC-Format`` (EPC URNs or GS1
Digital Link URIs) and ``GS1-CBV-XML-Format`` (CBV values as URNs or Web URIs, XML only):

>>> choice = negotiate({"accept": "application/xml", "gs1-epc-format": "Always_EPC_URN"})
>>> choice.media_type, choice.xml_version, choice.epc_format
('application/xml', '2.0', 'Always_EPC_URN')
>>> negotiate({"accept": "application/xml", "gs1-epcis-max": "1.2.0"}).xml_version
'1.2'
>>> negotiate({}).media_type
'application/ld+json'

The answer is an ``EPCISQueryDocument`` (:func:`query_document`); ``GS1-Extensions`` carries
namespace prefixes both ways (:func:`parse_extensions`):

>>> parse_extensions("example=https://ns.example.com/epcis/, ext2=urn:example:ext2")
{'example': 'https://ns.example.com/epcis/', 'ext2': 'urn:example:ext2'}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from packtrail.api.problems import Problem
from packtrail.api.settings import EPC_FORMATS, EPCFormatName
from packtrail.epcis import EPCISDocument, normalise_event, write_jsonld, write_xml
from packtrail.epcis.errors import EPCISError

__all__ = [
    "CBV_VERSION",
    "CBV_XML_FORMATS",
    "EPCIS_VERSION",
    "JSON_MEDIA_TYPES",
    "XML_MEDIA_TYPES",
    "Negotiated",
    "format_extensions",
    "negotiate",
    "parse_extensions",
    "query_document",
    "render_query_document",
]

EPCIS_VERSION: Final = "2.0.0"
"""The EPCIS version this node speaks (``GS1-EPCIS-Version``)."""
EPCIS_MIN: Final = "1.2.0"
"""The oldest EPCIS version it reads (1.2 XML capture) and writes (1.2 XML answers)."""
CBV_VERSION: Final = "2.0.0"
CBV_MIN: Final = "1.2.0"

JSON_MEDIA_TYPES: Final = ("application/ld+json", "application/json")
XML_MEDIA_TYPES: Final = ("application/xml", "text/xml")

CBV_XML_FORMATS: Final = ("No_Preference", "Always_Web_URI", "Always_URN", "Never_Translates")
"""Values of ``GS1-CBV-XML-Format``."""

_CBV_FOR_XML: Final[dict[str, Literal["urn", "web"] | None]] = {
    "No_Preference": None,
    "Never_Translates": None,
    "Always_URN": "urn",
    "Always_Web_URI": "web",
}
_EPC_FORMS: Final[dict[str, Literal["urn", "dl"] | None]] = {
    "No_Preference": None,
    "Never_Translates": None,
    "Always_EPC_URN": "urn",
    "Always_GS1_Digital_Link": "dl",
}


@dataclass(frozen=True, slots=True)
class Negotiated:
    """How to write the answer to one request."""

    media_type: str
    """``application/ld+json``, ``application/json`` (the same JSON-LD bytes) or ``application/xml``."""
    xml_version: Literal["2.0", "1.2"] = "2.0"
    """For XML answers: EPCIS 2.0, or 1.2 for clients whose ``GS1-EPCIS-Max`` is below 2."""
    epc_format: EPCFormatName = "No_Preference"
    """``GS1-EPC-Format`` applied to identifiers in events."""
    cbv_xml_format: str = "No_Preference"
    """``GS1-CBV-XML-Format`` applied to CBV values in XML answers."""

    @property
    def is_xml(self) -> bool:
        """True when the answer is EPCIS XML."""
        return self.media_type in XML_MEDIA_TYPES

    @property
    def epcis_version(self) -> str:
        """The ``GS1-EPCIS-Version`` of the answer."""
        return "1.2.0" if self.is_xml and self.xml_version == "1.2" else EPCIS_VERSION


def _version(text: str, header: str) -> tuple[int, ...]:
    parts = text.strip().split(".")
    if not text.strip() or not all(p.isascii() and p.isdigit() and len(p) <= 6 for p in parts):
        raise Problem(400, "ValidationException", f"{header}: expected a version such as 2.0.0, got {text!r}")
    return tuple(int(p) for p in parts)


def _accept_entries(accept: str) -> list[tuple[float, int, str]]:
    entries: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept.split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            entries.append((-quality, position, media.lower()))
    entries.sort()
    return entries


def _media_type(accept: str, offered: Iterable[str]) -> str | None:
    offered = tuple(offered)
    if not accept.strip():
        return offered[0]
    for _, _, media in _accept_entries(accept):
        if media in offered:
            return media
        if media in ("*/*", "application/*"):
            return offered[0]
        if media == "text/*" and "text/xml" in offered:
            return "text/xml"
        if media.endswith("+json") and "application/json" in offered:
            return offered[0]
    return None


def negotiate(
    headers: Mapping[str, str], *, default_epc_format: EPCFormatName = "No_Preference", xml: bool = True
) -> Negotiated:
    """Read the request headers that shape an events answer; :class:`Problem` 406 when the node
    cannot answer as asked, 400 when a header is malformed. ``headers`` has lower-case names."""
    offered = (*JSON_MEDIA_TYPES, *XML_MEDIA_TYPES) if xml else JSON_MEDIA_TYPES
    media = _media_type(headers.get("accept", ""), offered)
    if media is None:
        raise Problem(
            406,
            "NotAcceptableException",
            f"Accept: this resource is available as {', '.join(offered)}; got {headers.get('accept', '')!r}",
        )
    low = _version(headers["gs1-epcis-min"], "GS1-EPCIS-Min") if "gs1-epcis-min" in headers else (1, 2)
    high = _version(headers["gs1-epcis-max"], "GS1-EPCIS-Max") if "gs1-epcis-max" in headers else (2, 0)
    if low > (2, 0, 0) or high < (1, 2) or low > high:
        raise Problem(406, "NotAcceptableException", "this node writes EPCIS 2.0.0 (and 1.2.0 as XML)")
    xml_version: Literal["2.0", "1.2"] = "2.0"
    if high < (2,):
        if media not in XML_MEDIA_TYPES:
            raise Problem(
                406, "NotAcceptableException", "EPCIS 1.2 has no JSON binding: ask for application/xml"
            )
        xml_version = "1.2"
    cbv_low = _version(headers["gs1-cbv-min"], "GS1-CBV-Min") if "gs1-cbv-min" in headers else (1, 2)
    cbv_high = _version(headers["gs1-cbv-max"], "GS1-CBV-Max") if "gs1-cbv-max" in headers else (2, 0)
    if cbv_low > (2, 0, 0) or cbv_high < (1, 2) or cbv_low > cbv_high:
        raise Problem(406, "NotAcceptableException", "this node writes CBV 2.0.0 values")
    epc_format = headers.get("gs1-epc-format", default_epc_format).strip()
    if epc_format not in EPC_FORMATS:
        expected = ", ".join(EPC_FORMATS)
        raise Problem(
            400, "ValidationException", f"GS1-EPC-Format: expected one of {expected}, got {epc_format!r}"
        )
    cbv_format = headers.get("gs1-cbv-xml-format", "No_Preference").strip()
    if cbv_format not in CBV_XML_FORMATS:
        expected = ", ".join(CBV_XML_FORMATS)
        raise Problem(
            400, "ValidationException", f"GS1-CBV-XML-Format: expected one of {expected}, got {cbv_format!r}"
        )
    return Negotiated(media, xml_version, epc_format, cbv_format)


def parse_extensions(header: str | None) -> dict[str, str]:
    """``GS1-Extensions: prefix=namespace, ...`` as a dict; :class:`Problem` 400 when malformed."""
    if not header:
        return {}
    found: dict[str, str] = {}
    for item in header.split(","):
        item = item.strip()
        if not item:
            continue
        prefix, sep, namespace = item.partition("=")
        prefix, namespace = prefix.strip(), namespace.strip()
        if (
            not sep
            or not prefix
            or not namespace
            or not prefix.replace("-", "_").replace(".", "_").isidentifier()
        ):
            raise Problem(
                400,
                "ValidationException",
                f"GS1-Extensions: expected 'prefix=namespace URI' items separated by commas, got {item!r}",
            )
        found[prefix] = namespace
    return found


def format_extensions(namespaces: Mapping[str, str]) -> str:
    """The ``GS1-Extensions`` value announcing ``namespaces`` (prefix -> URI)."""
    return ", ".join(f"{prefix}={uri}" for prefix, uri in namespaces.items() if "," not in uri)


def query_document(
    events: list[dict[str, Any]],
    namespaces: Mapping[str, str],
    *,
    query_name: str = "SimpleEventQuery",
    epc_format: EPCFormatName = "No_Preference",
) -> EPCISDocument:
    """An ``EPCISQueryDocument`` holding ``events`` (identifiers in the asked ``GS1-EPC-Format``)."""
    form = _EPC_FORMS[epc_format]
    if form is not None:
        events = [normalise_event(event, cbv="keep", epc=form) for event in events]
    return EPCISDocument(
        kind="EPCISQueryDocument",
        namespaces=dict(namespaces),
        query={"queryName": query_name},
        events=events,
    )


def render_query_document(doc: EPCISDocument, choice: Negotiated) -> bytes:
    """The document's bytes in the negotiated format."""
    try:
        if choice.is_xml:
            return write_xml(
                doc,
                version=choice.xml_version,
                cbv_format=_CBV_FOR_XML[choice.cbv_xml_format],
                epc_format=_EPC_FORMS[choice.epc_format],
            )
        return write_jsonld(doc)
    except EPCISError as error:
        raise Problem(
            406, "NotAcceptableException", f"the events cannot be written as {choice.media_type}: {error}"
        ) from error
