"""GS1 Digital Link URIs: GS1 identifiers as web addresses.

A Digital Link URI carries a primary key (GTIN, SSCC, GLN, …) and its key
qualifiers in the path, in the order the syntax dictionary's ``dlpkey=``
attribute gives, and data attributes such as the expiry date as query
parameters. Any host, and any path prefix before the primary key, is allowed.

>>> from packtrail.gs1.digital_link import DigitalLink
>>> dl = DigitalLink.parse("https://example.com/pack/01/09506000134352/10/ABC%2F1/21/S1?17=270131")
>>> dl.primary_key, dl.qualifiers, dl.attributes
(('01', '09506000134352'), (('10', 'ABC/1'), ('21', 'S1')), (('17', '270131'),))
>>> dl.base
'https://example.com/pack'
>>> dl.element_string().bracketed()
'(01)09506000134352(10)ABC/1(21)S1(17)270131'

And back, from an element string:

>>> from packtrail.gs1.element_string import ElementString
>>> es = ElementString.parse("(01)09506000134352(17)270131(10)ABC/1(21)S1")
>>> DigitalLink.from_element_string(es).uri
'https://id.gs1.org/01/09506000134352/10/ABC%2F1/21/S1?17=270131'

Strict parsing (the default) rejects what the standard forbids; ``strict=False``
repairs it and says so in :attr:`DigitalLink.warnings`:

>>> DigitalLink.parse("https://id.gs1.org/01/9506000134352/21/S1")
Traceback (most recent call last):
...
packtrail.gs1.errors.GS1Error: AI (01) at position 22: a GTIN in a Digital Link path must have 14 digits, found 13: write it as 09506000134352 (in 'https://id.gs1.org/01/9506000134352/21/S1')
>>> DigitalLink.parse("https://id.gs1.org/01/9506000134352/21/S1", strict=False).primary_key
('01', '09506000134352')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from packtrail.gs1.dictionary import AI_TABLE, AIDefinition
from packtrail.gs1.element_string import ElementString
from packtrail.gs1.errors import GS1Error

__all__ = ["DEFAULT_RESOLVER", "DigitalLink"]

DEFAULT_RESOLVER = "https://id.gs1.org"
"""GS1's global resolver: the base used when none is given."""

_PRIMARY_KEYS: frozenset[str] = frozenset(ai for ai, d in AI_TABLE.items() if d.dl_primary_key)
_QUALIFIERS: frozenset[str] = frozenset(
    q for d in AI_TABLE.values() for seq in d.dl_qualifier_sequences for q in seq
)
_SAFE = "-._~"
_NEEDS_QUOTE = frozenset(chr(c) for c in range(128)) - frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" + _SAFE
)


def _encode(value: str) -> str:
    """Percent-encode everything outside RFC 3986's unreserved characters."""
    if _NEEDS_QUOTE.isdisjoint(value):
        return value
    return quote(value, safe=_SAFE)


def _decode(value: str, uri: str, position: int) -> str:
    """Undo percent-encoding, refusing a '%' that starts no valid escape."""
    if "%" not in value:
        return value
    for i in range(len(value)):
        if value[i] == "%":
            pair = value[i + 1 : i + 3]
            if len(pair) != 2 or any(c not in "0123456789abcdefABCDEF" for c in pair):
                raise GS1Error(
                    "a '%' must start a percent-encoding such as %2F", position=position + i, value=uri
                )
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise GS1Error("percent-encoded bytes are not valid UTF-8", position=position, value=uri) from None


def _qualifier_order_ok(primary: AIDefinition, qualifiers: list[str]) -> bool:
    """True when ``qualifiers`` is an in-order subsequence of one of the key's qualifier sequences."""
    if not qualifiers:
        return True
    for sequence in primary.dl_qualifier_sequences:
        index = 0
        for qualifier in qualifiers:
            try:
                index = sequence.index(qualifier, index) + 1
            except ValueError:
                break
        else:
            return True
    return False


def _canonical_order(
    primary: AIDefinition, qualifiers: list[tuple[str, str]]
) -> list[tuple[str, str]] | None:
    """Reorder ``qualifiers`` into the first sequence that holds them all, or ``None``."""
    names = {ai for ai, _ in qualifiers}
    for sequence in primary.dl_qualifier_sequences:
        if names <= set(sequence):
            rank = {ai: i for i, ai in enumerate(sequence)}
            return sorted(qualifiers, key=lambda pair: rank[pair[0]])
    return None


@dataclass(frozen=True, slots=True)
class DigitalLink:
    """A parsed GS1 Digital Link URI."""

    base: str
    """Scheme, host and any path prefix before the primary key, e.g. ``"https://id.gs1.org"``."""
    primary_key: tuple[str, str]
    """The primary key as ``(AI, value)``, e.g. ``("01", "09506000134352")``."""
    qualifiers: tuple[tuple[str, str], ...] = ()
    """Key qualifiers from the path, in order, e.g. lot (10) and serial (21)."""
    attributes: tuple[tuple[str, str], ...] = ()
    """GS1 data attributes from the query string, e.g. expiry ``("17", "270131")``."""
    other_parameters: tuple[tuple[str, str], ...] = ()
    """Query parameters that are not AIs (``linkType``, ``context``, …), kept as given."""
    warnings: tuple[str, ...] = ()
    """What a lenient parse had to repair."""
    _elements: ElementString | None = field(default=None, repr=False, compare=False)

    @classmethod
    def parse(cls, uri: str, *, strict: bool = True) -> DigitalLink:
        """Parse and validate a Digital Link URI (values checked exactly as in a barcode).

        In strict mode, a qualifier out of order, a qualifier in the query string, and a
        GTIN of fewer than 14 digits in the path are errors; otherwise they are repaired
        with a warning.
        """
        if not isinstance(uri, str):
            raise GS1Error(f"expected a URI as text, found {type(uri).__name__}")
        scheme_end = uri.find("://")
        if scheme_end < 0 or uri[:scheme_end].lower() not in ("http", "https"):
            raise GS1Error("a Digital Link URI starts with http:// or https://", value=uri)
        host_start = scheme_end + 3
        path_start = uri.find("/", host_start)
        end = len(uri)
        fragment = uri.find("#")
        if fragment >= 0:
            end = fragment
        query_start = uri.find("?", 0, end)
        path_end = query_start if query_start >= 0 else end
        if path_start < 0 or path_start > path_end:
            raise GS1Error("the URI has no path: expected /01/{gtin} or another primary key", value=uri)
        if host_start == path_start:
            raise GS1Error("the URI has no host name", value=uri)
        segments = uri[path_start + 1 : path_end].split("/")
        if segments[-1] == "":
            segments.pop()

        def where(i: int) -> int:
            return path_start + 1 + sum(len(segment) + 1 for segment in segments[:i])

        warnings: list[str] = []
        # Walk (AI, value) pairs from the right until the primary key; what is left is the prefix.
        collected: list[str] = []
        index = len(segments) - 2
        primary_index = -1
        while index >= 0:
            ai = segments[index]
            if ai in _PRIMARY_KEYS and _QUALIFIERS_BY_KEY[ai].issuperset(collected):
                primary_index = index
                break
            if ai not in _QUALIFIERS:
                break
            collected.append(ai)
            index -= 2
        if primary_index < 0:
            raise GS1Error(
                "no GS1 primary key found in the path: expected /01/{gtin}, /00/{sscc}, /414/{gln}, … "
                "optionally followed by key qualifiers such as /10/{lot}/21/{serial}",
                value=uri,
            )
        primary_ai = segments[primary_index]
        primary = AI_TABLE[primary_ai]
        primary_value = segments[primary_index + 1]
        if "%" in primary_value:
            primary_value = _decode(primary_value, uri, where(primary_index + 1))
        if primary_ai == "01" and len(primary_value) in (8, 12, 13) and primary_value.isdigit():
            if strict:
                raise GS1Error(
                    f"a GTIN in a Digital Link path must have 14 digits, found {len(primary_value)}: "
                    f"write it as {primary_value.zfill(14)}",
                    ai="01",
                    position=where(primary_index + 1),
                    value=uri,
                )
            warnings.append(f"GTIN {primary_value} padded to 14 digits")
            primary_value = primary_value.zfill(14)
        qualifiers: list[tuple[str, str]] = []
        for i in range(primary_index + 2, len(segments) - 1, 2):
            value = segments[i + 1]
            if "%" in value:
                value = _decode(value, uri, where(i + 1))
            qualifiers.append((segments[i], value))
        if len(qualifiers) > 1 and not _qualifier_order_ok(primary, [ai for ai, _ in qualifiers]):
            wanted = " or ".join("/".join(seq) for seq in primary.dl_qualifier_sequences)
            if strict:
                raise GS1Error(
                    f"key qualifiers of ({primary_ai}) out of order: found "
                    f"{'/'.join(ai for ai, _ in qualifiers)}, expected the order {wanted}",
                    ai=primary_ai,
                    value=uri,
                )
            reordered = _canonical_order(primary, qualifiers)
            if reordered is None:
                raise GS1Error(
                    f"key qualifiers {'/'.join(ai for ai, _ in qualifiers)} cannot be combined for "
                    f"({primary_ai}): expected a subset of {wanted}",
                    ai=primary_ai,
                    value=uri,
                )
            warnings.append("key qualifiers reordered into the standard order")
            qualifiers = reordered

        attributes: list[tuple[str, str]] = []
        others: list[tuple[str, str]] = []
        if query_start >= 0:
            position = query_start + 1
            for part in uri[query_start + 1 : end].split("&"):
                if part:
                    key, _, value = part.partition("=")
                    decoded = _decode(value, uri, position + len(key) + 1)
                    definition = AI_TABLE.get(key) if key.isdigit() else None
                    if definition is None:
                        others.append((unquote(key), decoded))
                    elif key in _qualifiers_of(primary):
                        if strict:
                            raise GS1Error(
                                f"AI ({key}) is a key qualifier of ({primary_ai}): it belongs in the path, "
                                "not in the query string",
                                ai=key,
                                position=position,
                                value=uri,
                            )
                        warnings.append(f"key qualifier ({key}) moved from the query string into the path")
                        qualifiers.append((key, decoded))
                        qualifiers = _canonical_order(primary, qualifiers) or qualifiers
                    elif not definition.dl_data_attribute:
                        raise GS1Error(
                            f"AI ({key}) is not allowed as a Digital Link data attribute",
                            ai=key,
                            position=position,
                            value=uri,
                        )
                    else:
                        attributes.append((key, decoded))
                position += len(part) + 1
        # Validates every value and the req=/ex= rules, exactly as for a barcode.
        elements = ElementString.from_pairs([(primary_ai, primary_value), *qualifiers, *attributes])
        return cls(
            base=uri[:path_start] + "".join("/" + segment for segment in segments[:primary_index]),
            primary_key=(primary_ai, primary_value),
            qualifiers=tuple(qualifiers),
            attributes=tuple(attributes),
            other_parameters=tuple(others),
            warnings=tuple(warnings),
            _elements=elements,
        )

    @classmethod
    def from_element_string(
        cls, element_string: ElementString | Iterable[tuple[str, str]], *, base: str = DEFAULT_RESOLVER
    ) -> DigitalLink:
        """The Digital Link URI for an element string: its first primary key, the qualifiers of
        that key in standard order, every other AI as a data attribute."""
        if not isinstance(element_string, ElementString):
            element_string = ElementString.from_pairs(element_string)
        pairs = element_string.pairs
        primary: AIDefinition | None = None
        for ai, _ in pairs:
            definition = AI_TABLE.get(ai)
            if definition is not None and definition.dl_primary_key:
                primary = definition
                break
        if primary is None:
            raise GS1Error("no GS1 primary key (01, 00, 414, …) in the data: a Digital Link needs one")
        allowed = _qualifiers_of(primary)
        qualifiers = [(ai, value) for ai, value in pairs if ai in allowed]
        ordered = _canonical_order(primary, qualifiers)
        if ordered is None:
            raise GS1Error(
                f"key qualifiers {'/'.join(ai for ai, _ in qualifiers)} cannot be combined for ({primary.ai})",
                ai=primary.ai,
            )
        attributes: list[tuple[str, str]] = []
        primary_value = ""
        for ai, value in pairs:
            if ai == primary.ai:
                primary_value = value
            elif ai in allowed:
                continue
            elif AI_TABLE[ai].dl_data_attribute:
                attributes.append((ai, value))
            else:
                raise GS1Error(f"AI ({ai}) cannot be carried in a Digital Link URI", ai=ai)
        return cls(
            base=base.rstrip("/"),
            primary_key=(primary.ai, primary_value),
            qualifiers=tuple(ordered),
            attributes=tuple(attributes),
            _elements=element_string,
        )

    @property
    def uri(self) -> str:
        """The URI in canonical form: values percent-encoded, qualifiers in order."""
        path = "".join(f"/{ai}/{_encode(value)}" for ai, value in (self.primary_key, *self.qualifiers))
        query = "&".join(
            [f"{ai}={_encode(value)}" for ai, value in self.attributes]
            + [f"{_encode(key)}={_encode(value)}" for key, value in self.other_parameters]
        )
        return f"{self.base}{path}?{query}" if query else f"{self.base}{path}"

    def pairs(self) -> tuple[tuple[str, str], ...]:
        """All GS1 ``(AI, value)`` pairs: primary key, qualifiers, then attributes."""
        return (self.primary_key, *self.qualifiers, *self.attributes)

    def element_string(self) -> ElementString:
        """The same data as a validated :class:`ElementString`."""
        if self._elements is not None:
            return self._elements
        return ElementString.from_pairs(self.pairs())

    def __str__(self) -> str:
        return self.uri


def _qualifiers_of(definition: AIDefinition) -> frozenset[str]:
    return _QUALIFIERS_BY_KEY[definition.ai]


_QUALIFIERS_BY_KEY: dict[str, frozenset[str]] = {
    ai: frozenset(q for seq in d.dl_qualifier_sequences for q in seq) for ai, d in AI_TABLE.items()
}
