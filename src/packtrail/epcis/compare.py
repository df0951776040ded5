"""Compare the events of two documents whatever format and spelling they were written in.

The same event read from JSON-LD, EPCIS 2.0 XML and EPCIS 1.2 XML differs in form only:
a CBV value as a bare word or a URN, an identifier as an EPC URN or a GS1 Digital Link,
``10`` or ``10.0``, a time in another time zone, an extension key under another prefix for
the same namespace, a JSON number that XML gives as text. :func:`normalised_events` makes
one canonical form; :func:`normalised_events_equal` lists where two documents differ:

>>> from packtrail.epcis.compare import normalised_events_equal
>>> from packtrail.epcis.document import EPCISDocument
>>> a = EPCISDocument(namespaces={"ex": "http://ns.example.com/epcis/"}, events=[
...     {"type": "ObjectEvent", "eventTime": "2024-03-01T10:00:00+01:00", "bizStep": "shipping",
...      "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.011111.L1", "quantity": 10}],
...      "ex:note": 3}])
>>> b = EPCISDocument(namespaces={"other": "http://ns.example.com/epcis/"}, events=[
...     {"type": "ObjectEvent", "eventTime": "2024-03-01T09:00:00.000Z",
...      "bizStep": "urn:epcglobal:cbv:bizstep:shipping",
...      "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.011111.L1", "quantity": 10.0}],
...      "other:note": "3"}])
>>> normalised_events_equal(a, b)
[]
>>> b.events[0]["bizStep"] = "receiving"
>>> normalised_events_equal(a, b)
["event 1: bizStep differs: 'shipping' != 'receiving'"]

The normalisation (written for tests and conversion checks, not for storage): CBV values as
bare words, identifiers as EPC URNs (:func:`packtrail.epcis.vocabulary.normalise_event`),
times (``eventTime``, ``recordTime``, ``declarationTime``, sensor ``time``/``startTime``/
``endTime``) as UTC instants, extension keys as ``{namespace}localName`` (a namespace's
trailing ``:`` or ``#`` left out: XML writes ``urn:epcglobal:cbv:mda`` where JSON-LD writes
``urn:epcglobal:cbv:mda:``), extension values as text, whole numbers as floats, an empty
``epcList``/``childEPCs`` as none (1.2 XML must write one), a lone value of a list field as
a one-item list (JSON-LD allows it).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any, Final

from packtrail.epcis.document import EPCISDocument, Event
from packtrail.epcis.vocabulary import normalise_event

__all__ = ["normalised_events", "normalised_events_equal"]

_TIMES: Final = frozenset({"eventTime", "recordTime", "declarationTime", "time", "startTime", "endTime"})
_LISTS: Final = ("sourceList", "destinationList", "bizTransactionList", "epcList", "childEPCs")
_CONTEXT_PREFIXES: Final = {
    "cbvmda": "urn:epcglobal:cbv:mda",
    "gs1": "https://gs1.org/voc/",
    "cbv": "https://ref.gs1.org/cbv/",
}
"""Prefixes of GS1's EPCIS JSON-LD context, which JSON-LD documents use without declaring them."""


def normalised_events(events: Iterable[Event], namespaces: dict[str, str]) -> list[Any]:
    """The events in the canonical form described in the module docstring."""
    out = []
    for event in events:
        event = {
            key: [value] if key in _LISTS and not isinstance(value, list) else value
            for key, value in event.items()
            if not (value == [] and key in ("epcList", "childEPCs"))
        }
        out.append(_canonical(normalise_event(event, cbv="bare", epc="urn"), namespaces))
    return out


def _canonical(value: Any, namespaces: dict[str, str], key: str = "", extension: bool = False) -> Any:
    extension = extension or ":" in key
    if isinstance(value, dict):
        return {_expand(k, namespaces): _canonical(v, namespaces, k, extension) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(item, namespaces, "", extension) for item in value]
    if extension and not isinstance(value, str):  # JSON numbers and booleans are text in XML
        if value is True or value is False:
            return "true" if value else "false"
        if value is None:
            return ""
        return repr(value)
    if key in _TIMES and isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(datetime.UTC)
        except ValueError:
            return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _expand(key: str, namespaces: dict[str, str]) -> str:
    prefix, _, local = key.partition(":")
    uri = (namespaces.get(prefix) or _CONTEXT_PREFIXES.get(prefix)) if local else None
    if not uri:
        return key
    if uri.endswith((":", "#")):
        uri = uri[:-1]
    return f"{{{uri}}}{local}"


def _differences(a: Any, b: Any, event: str, path: str, out: list[str], limit: int) -> None:
    if len(out) >= limit:
        return
    where = f"{event}: {path}" if path else event
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a:
            if key not in b:
                out.append(f"{where}: {key} only in the first")
            else:
                _differences(a[key], b[key], event, f"{path}/{key}" if path else key, out, limit)
        out.extend(f"{where}: {key} only in the second" for key in b if key not in a)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            _differences(x, y, event, f"{path}[{index}]", out, limit)
    elif a != b:
        out.append(f"{where} differs: {a!r} != {b!r}")


def normalised_events_equal(a: EPCISDocument, b: EPCISDocument, *, limit: int = 20) -> list[str]:
    """Where the events of ``a`` and ``b`` differ once normalised, in words (at most ``limit``);
    ``[]`` when they are the same."""
    first = normalised_events(a.events, a.namespaces)
    second = normalised_events(b.events, b.namespaces)
    out: list[str] = []
    if len(first) != len(second):
        out.append(f"{len(first)} events != {len(second)} events")
    for number, (x, y) in enumerate(zip(first, second, strict=False), start=1):
        _differences(x, y, f"event {number}", "", out, limit)
        if len(out) >= limit:
            break
    return out[:limit]
