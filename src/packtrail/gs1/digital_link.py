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

Strict parsing (the default) rejects what the standard forbids: key qualifiers out
of order or in the query string, a GTIN of fewer than 14 digits in the path, an AI
given twice, a path ending in ``/``. ``strict=False`` repairs what it can and says
so in :attr:`DigitalLink.warnings`:

>>> DigitalLink.parse("https://id.gs1.org/01/9506000134352/21/S1")
Traceback (most recent call last):
...
packtrail.gs1.errors.GS1Error: AI (01) at position 22: a GTIN in a Digital Link path must have 14 digits, found 13: write it as 09506000134352 (in 'https://id.gs1.org/01/9506000134352/21/S1')
>>> DigitalLink.parse("https://id.gs1.org/01/9506000134352/21/S1", strict=False).primary_key
('01', '09506000134352')
>>> DigitalLink.parse("https://id.gs1.org/01/09506000134352?10=ABC")
Traceback (most recent call last):
...
packtrail.gs1.errors.GS1Error: AI (10) at position 37: AI (10) is a key qualifier of (01): it belongs in the path, not in the query string (in 'https://id.gs1.org/01/09506000134352?10=ABC')

Values are checked exactly as in a barcode, and errors point into the URI:

>>> DigitalLink.parse("https://id.gs1.org/01/09506000134352/21/S1?17=270230")
Traceback (most recent call last):
...
packtrail.gs1.errors.GS1Error: AI (17) at position 46: day 30 does not exist in 2027-02 (expected 01-28, or 00 for end of month) (in '270230')

The rules follow the GS1 Digital Link URI Syntax standard (1.2 grammar) and GS1's
reference parser (gs1/gs1-syntax-engine, ``src/c-lib/dl.c``, Apache-2.0), read to get
the semantics right; no code was copied.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from packtrail.gs1.dictionary import AI_TABLE, AIDefinition
from packtrail.gs1.element_string import _FAST, ElementString, _check, _done
from packtrail.gs1.errors import GS1Error

__all__ = ["DEFAULT_RESOLVER", "DigitalLink"]

DEFAULT_RESOLVER = "https://id.gs1.org"
"""GS1's global resolver: the base used when none is given."""

_PRIMARY_KEYS: frozenset[str] = frozenset(ai for ai, d in AI_TABLE.items() if d.dl_primary_key)


def _in_order_subsets(sequence: tuple[str, ...]) -> list[tuple[str, ...]]:
    subsets: list[tuple[str, ...]] = [()]
    for ai in sequence:
        subsets += [(*subset, ai) for subset in subsets]
    return subsets


_PATH_SEQUENCES: frozenset[tuple[str, ...]] = frozenset(
    (ai, *subset)
    for ai, d in AI_TABLE.items()
    if d.dl_primary_key
    for sequence in d.dl_qualifier_sequences or ((),)
    for subset in _in_order_subsets(sequence)
)
"""Every valid sequence of AIs in a Digital Link path: a primary key, then an in-order
subset of one of its ``dlpkey=`` qualifier sequences (alternatives are never mixed)."""

_QUALIFIERS_OF: dict[str, frozenset[str]] = {
    ai: frozenset(q for sequence in d.dl_qualifier_sequences for q in sequence)
    for ai, d in AI_TABLE.items()
    if d.dl_primary_key
}


def _insertable(path: tuple[str, ...]) -> frozenset[str]:
    """AIs that would still give a valid path if inserted after the primary key of ``path``."""
    return frozenset(
        q
        for q in _QUALIFIERS_OF[path[0]]
        if any((*path[:j], q, *path[j:]) in _PATH_SEQUENCES for j in range(1, len(path) + 1))
    )


_INSERTABLE: dict[tuple[str, ...], frozenset[str]] = {path: _insertable(path) for path in _PATH_SEQUENCES}
"""Per valid path, the qualifiers a query string must not carry: they belong in the path."""

_URI = re.compile(r"[hH][tT][tT][pP][sS]?://[A-Za-z0-9.:\[\]-]+(/[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)")
"""Scheme, a host (no userinfo: GS1's reference parser forbids ``@`` there), then the path,
query and fragment in the characters RFC 3986 allows. Checks every character in one go."""
_URI_CHAR = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]")
_HEX = frozenset("0123456789abcdefABCDEF")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _encode(value: str) -> str:
    """Percent-encode everything outside RFC 3986's unreserved characters (UTF-8 for the rest)."""
    if _UNRESERVED.issuperset(value):
        return value
    return quote(value, safe="-._~")


def _decode(value: str, uri: str, position: int, query: bool = False) -> str:
    """Undo percent-encoding (and ``+`` for a space in the query string, as GS1's parser does),
    refusing a ``%`` that starts no valid escape and bytes that are not UTF-8."""
    if query and "+" in value:
        value = value.replace("+", " ")
    if "%" not in value:
        return value
    i = value.find("%")
    while i >= 0:
        if len(value) < i + 3 or value[i + 1] not in _HEX or value[i + 2] not in _HEX:
            raise GS1Error(
                "a '%' must start a percent-encoding such as %2F", position=position + i, value=uri
            )
        i = value.find("%", i + 3)
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise GS1Error("percent-encoded bytes are not valid UTF-8", position=position, value=uri) from None


def _loose_decode(text: str) -> str:
    """Decode a query parameter that is no AI; it is kept as given, so never an error."""
    if "+" in text:
        text = text.replace("+", " ")
    return unquote(text) if "%" in text else text


def _bad_uri(uri: str) -> GS1Error:
    """Say what is wrong with a URI the fast pattern refused (the slow path, errors only)."""
    scheme_end = uri.find("://")
    if scheme_end < 0 or uri[:scheme_end].lower() not in ("http", "https"):
        return GS1Error("a Digital Link URI starts with http:// or https://", value=uri)
    for i, ch in enumerate(uri):
        if not _URI_CHAR.fullmatch(ch):
            shown = repr(ch) if ch.isprintable() else f"byte 0x{ord(ch):02X}"
            return GS1Error(
                f"{shown} is not allowed in a URI: percent-encode it (e.g. a space as %20)",
                position=i,
                value=uri,
            )
    host_start = scheme_end + 3
    path_start = uri.find("/", host_start)
    host = uri[host_start : path_start if path_start >= 0 else len(uri)]
    for stop in "?#":
        if stop in host:
            host = host[: host.index(stop)]
            path_start = -1
    if not host:
        return GS1Error("the URI has no host name", position=host_start, value=uri)
    if path_start < 0:
        return GS1Error("the URI has no path: expected /01/{gtin} or another primary key", value=uri)
    for i, ch in enumerate(host):
        if not (ch.isascii() and (ch.isalnum() or ch in ".:[]-")):
            return GS1Error(f"{ch!r} is not allowed in a host name", position=host_start + i, value=uri)
    return GS1Error("not a valid URI", value=uri)  # pragma: no cover - the checks above cover the pattern


def _order_words(primary: AIDefinition) -> str:
    return " or ".join("/".join(sequence) for sequence in primary.dl_qualifier_sequences) or "none"


def _reorder(path: tuple[str, ...]) -> tuple[str, ...] | None:
    """The valid path holding the same AIs as ``path`` (qualifiers put in order), or ``None``."""
    primary = AI_TABLE[path[0]]
    names = set(path[1:])
    if len(names) != len(path) - 1:
        return None
    for sequence in primary.dl_qualifier_sequences:
        if names <= set(sequence):
            return (path[0], *(ai for ai in sequence if ai in names))
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

        In strict mode, a qualifier out of order, a qualifier in the query string, a GTIN
        of fewer than 14 digits in the path, an AI given twice, a numeric query parameter
        that is no AI, and a path ending in ``/`` are errors; otherwise they are repaired
        with a warning. The host may be anything; a fragment (``#…``) is ignored.
        """
        elements, pairs, qualifier_count, others, warnings, base = _read(uri, strict)
        link = object.__new__(cls)
        _SET_BASE(link, base)
        _SET_PRIMARY_KEY(link, pairs[0])
        _SET_QUALIFIERS(link, tuple(pairs[1 : qualifier_count + 1]))
        _SET_ATTRIBUTES(link, tuple(elements.pairs[qualifier_count + 1 :]))
        _SET_OTHER_PARAMETERS(link, tuple(others))
        _SET_WARNINGS(link, tuple(warnings))
        _SET_ELEMENTS(link, elements)
        return link

    @classmethod
    def parse_to_element_string(cls, uri: str, *, strict: bool = True) -> ElementString:
        """``DigitalLink.parse(uri, strict=strict).element_string()`` with the link's warnings
        first among its own, without building the :class:`DigitalLink` (a scanner's fast path)."""
        if type(uri) is str:
            match = _pharma_match(uri)
            if match is not None:
                quick = _pharma(match)
                if quick is not None:
                    return quick
        elements, _, _, _, warnings, _ = _read(uri, strict)
        if warnings:
            return dataclasses.replace(elements, warnings=(*warnings, *elements.warnings))
        return elements

    @classmethod
    def from_element_string(
        cls, element_string: ElementString | Iterable[tuple[str, str]], *, base: str = DEFAULT_RESOLVER
    ) -> DigitalLink:
        """The Digital Link URI for an element string.

        As GS1's reference generator does: the first primary key in the data; of its
        qualifier sequences the one holding most of the data's AIs, in that order; every
        other AI as a data attribute, those of predefined length first.
        """
        if not isinstance(element_string, ElementString):
            element_string = ElementString.from_pairs(element_string)
        pairs = element_string.pairs
        primary: AIDefinition | None = None
        for ai, _ in pairs:
            definition = AI_TABLE[ai]
            if definition.dl_primary_key:
                primary = definition
                break
        if primary is None:
            raise GS1Error("no GS1 primary key (01, 00, 414, …) in the data: a Digital Link needs one")
        present = {ai for ai, _ in pairs}
        best: tuple[str, ...] = ()
        for sequence in primary.dl_qualifier_sequences:
            if len(present.intersection(sequence)) > len(present.intersection(best)):
                best = sequence
        data = dict(pairs)
        qualifiers = tuple((ai, data[ai]) for ai in best if ai in present)
        in_path = {primary.ai, *best}
        fixed: list[tuple[str, str]] = []
        variable: list[tuple[str, str]] = []
        for ai, value in pairs:
            if ai in in_path:
                continue
            definition = AI_TABLE[ai]
            if not definition.dl_data_attribute:
                raise GS1Error(f"AI ({ai}) cannot be carried in a Digital Link URI", ai=ai)
            (fixed if definition.predefined_length else variable).append((ai, value))
        return cls(
            base=base.rstrip("/"),
            primary_key=(primary.ai, data[primary.ai]),
            qualifiers=qualifiers,
            attributes=(*fixed, *variable),
            _elements=element_string,
        )

    @property
    def uri(self) -> str:
        """The URI in canonical form: values percent-encoded, qualifiers in order."""
        path = "".join(f"/{ai}/{_encode(value)}" for ai, value in (self.primary_key, *self.qualifiers))
        query = "&".join(
            [f"{ai}={_encode(value)}" for ai, value in self.attributes]
            + [
                f"{_encode(key)}={_encode(value)}" if value else _encode(key)
                for key, value in self.other_parameters
            ]
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


def _read(
    uri: str, strict: bool
) -> tuple[ElementString, list[tuple[str, str]], int, list[tuple[str, str]], list[str], str]:
    """Parse ``uri``: (element string, its pairs with the qualifiers first, how many qualifiers,
    other query parameters, warnings, base). See :meth:`DigitalLink.parse`."""
    if type(uri) is not str and not isinstance(uri, str):
        raise GS1Error(f"expected a URI as text, found {type(uri).__name__}")
    quick_match = _pharma_match(uri)
    if quick_match is not None:
        quick = _pharma(quick_match)
        if quick is not None:
            quick_pairs = list(quick.pairs)
            return quick, quick_pairs, 2 if quick_pairs[1][0] == "10" else 1, [], [], quick_match.group(1)
    match = _URI.fullmatch(uri)
    if match is None:
        raise _bad_uri(uri)
    path_start = match.start(1)
    end = uri.find("#", path_start)
    if end < 0:
        end = len(uri)
    query_start = uri.find("?", path_start, end)
    path_end = end if query_start < 0 else query_start
    path_text = uri[path_start + 1 : path_end]
    segments = path_text.split("/")
    warnings: list[str] = []
    if not segments[-1] and len(segments) > 1:
        if strict:
            raise GS1Error(
                "the path ends in '/': a Digital Link path ends with a value",
                position=path_end - 1,
                value=uri,
            )
        segments.pop()
        warnings.append("trailing '/' removed from the path")

    # The primary key is the rightmost AI segment (at an even distance from the end) that is
    # a primary key; everything before it is the base. Most paths start with it.
    path = tuple(segments[0::2])
    if not len(segments) % 2 and path in _PATH_SEQUENCES:
        root = 0
        values = segments[1::2]
    else:
        root = _find_root(segments, uri)
        path = tuple(segments[root::2])
        values = segments[root + 1 :: 2]
        if path not in _PATH_SEQUENCES:
            path, values = _fix_order(path, values, strict, warnings, uri, _where(segments, path_start, root))
    primary_ai = path[0]

    # Path values: decode, then validate exactly as in a barcode.
    if primary_ai == "01" and len(values[0]) != 14:
        values[0] = _pad_gtin(values[0], strict, warnings, uri, _where(segments, path_start, root + 1))
    if "%" in path_text:
        values = [
            _decode(value, uri, _value_at(segments, path_start, root, ai)) if "%" in value else value
            for ai, value in zip(path, values)  # noqa: B905 (equal lengths)
        ]
    pairs = list(zip(path, values))  # noqa: B905 (equal lengths)
    fast = _FAST
    for ai, value in pairs:
        entry = fast[ai]
        if not entry.known(value):
            _check(entry, value, _value_at(segments, path_start, root, ai))
    qualifier_count = len(pairs) - 1

    # Query string: data attributes (validated), and other parameters kept as given.
    others: list[tuple[str, str]] = []
    if query_start >= 0:
        parts = uri[query_start + 1 : end].split("&")
        forbidden = _INSERTABLE[path]
        moved: list[tuple[str, str]] | None = None
        for k, part in enumerate(parts):
            key, equals, value = part.partition("=")
            entry = fast.get(key)  # type: ignore[assignment]
            if entry is None or not equals:
                if part:
                    others.append(
                        _other_parameter(key, equals, value, k, parts, query_start, strict, warnings, uri)
                    )
                continue
            if "%" in value or "+" in value:
                value = _decode(value, uri, _part_at(query_start, parts, k) + len(key) + 1, query=True)
            if not value or key in forbidden or key not in _DL_ATTRIBUTES:
                # an error, unless a lenient parse moves a key qualifier into the path
                _misplaced(key, value, k, parts, query_start, primary_ai, forbidden, strict, warnings, uri)
                if moved is None:
                    moved = []
                moved.append((key, value))
                continue
            if key == "01" and len(value) in (8, 12, 13) and value.isdigit():
                warnings.append(f"GTIN {value} padded to 14 digits")
                value = value.zfill(14)
            if not entry.known(value):
                _check(entry, value, _part_at(query_start, parts, k) + len(key) + 1)
            pairs.append((key, value))
        if moved is not None:
            for key, value in moved:
                entry = fast[key]
                if not entry.known(value):
                    _check(entry, value, 0)
            pairs, qualifier_count = _move_into_path(path, pairs, qualifier_count, moved, uri)

    # The same AI twice, the req=/ex= rules over everything: exactly as for a barcode.
    index = dict(pairs)
    if len(index) != len(pairs):
        _repeats(pairs, strict, warnings, uri)
    elements = _done(ElementString, index, None, (), None, True)
    base = uri[:path_start] if root == 0 else uri[: _where(segments, path_start, root) - 1]
    return elements, pairs, qualifier_count, others, warnings, base


def _where(segments: list[str], path_start: int, i: int) -> int:
    """Where path segment ``i`` starts in the URI (for error positions)."""
    return path_start + 1 + sum(len(segment) + 1 for segment in segments[:i])


def _value_at(segments: list[str], path_start: int, root: int, ai: str) -> int:
    """Where the value of ``ai`` starts in the URI, the key at ``root`` (for error positions)."""
    for i in range(root, len(segments) - 1, 2):
        if segments[i] == ai:
            return _where(segments, path_start, i + 1)
    return _where(segments, path_start, root + 1)  # pragma: no cover - every path AI is a segment


# The frozen dataclass's __init__ sets each field through object.__setattr__; parse sets the
# slots directly, which halves the cost of building the result.
_Setter = Callable[[object, object], None]
_SET_BASE: _Setter = getattr(DigitalLink, "base").__set__  # noqa: B009
_SET_PRIMARY_KEY: _Setter = getattr(DigitalLink, "primary_key").__set__  # noqa: B009
_SET_QUALIFIERS: _Setter = getattr(DigitalLink, "qualifiers").__set__  # noqa: B009
_SET_ATTRIBUTES: _Setter = getattr(DigitalLink, "attributes").__set__  # noqa: B009
_SET_OTHER_PARAMETERS: _Setter = getattr(DigitalLink, "other_parameters").__set__  # noqa: B009
_SET_WARNINGS: _Setter = getattr(DigitalLink, "warnings").__set__  # noqa: B009
_SET_ELEMENTS: _Setter = getattr(DigitalLink, "_elements").__set__  # noqa: B009


def _find_root(segments: list[str], uri: str) -> int:
    """The index of the rightmost primary key among the AI segments, walking from the end."""
    index = len(segments) - 2
    while index >= 0:
        ai = segments[index]
        if ai in _PRIMARY_KEYS:
            return index
        if ai not in AI_TABLE:
            break
        index -= 2
    raise GS1Error(
        "no GS1 primary key found in the path: expected /01/{gtin}, /00/{sscc}, /414/{gln}, … "
        "optionally followed by key qualifiers such as /10/{lot}/21/{serial}",
        value=uri,
    )


def _fix_order(
    path: tuple[str, ...], values: list[str], strict: bool, warnings: list[str], uri: str, position: int
) -> tuple[tuple[str, ...], list[str]]:
    """A path whose AIs are not a valid sequence: an error, or (lenient) put in order."""
    primary_ai = path[0]
    primary = AI_TABLE[primary_ai]
    reordered = _reorder(path)
    if reordered is None:
        raise GS1Error(
            f"key qualifiers {'/'.join(path[1:])} cannot be combined for ({primary_ai}): "
            f"expected an in-order subset of {_order_words(primary)}",
            ai=primary_ai,
            position=position,
            value=uri,
        )
    if strict:
        raise GS1Error(
            f"key qualifiers of ({primary_ai}) out of order: found {'/'.join(path[1:])}, "
            f"expected the order {_order_words(primary)}",
            ai=primary_ai,
            position=position,
            value=uri,
        )
    by_ai = dict(zip(path, values, strict=True))
    warnings.append("key qualifiers reordered into the standard order")
    return reordered, [by_ai[ai] for ai in reordered]


def _pad_gtin(gtin: str, strict: bool, warnings: list[str], uri: str, position: int) -> str:
    """A GTIN-8, -12 or -13 in the path: an error, or (lenient) padded to 14 digits."""
    if len(gtin) not in (8, 12, 13) or not gtin.isdigit():
        return gtin  # validation says what is wrong
    if strict:
        raise GS1Error(
            f"a GTIN in a Digital Link path must have 14 digits, found {len(gtin)}: write it as {gtin.zfill(14)}",
            ai="01",
            position=position,
            value=uri,
        )
    warnings.append(f"GTIN {gtin} padded to 14 digits")
    return gtin.zfill(14)


def _part_at(query_start: int, parts: list[str], k: int) -> int:
    """Where query parameter ``k`` starts in the URI (for error positions)."""
    return query_start + 1 + sum(len(part) + 1 for part in parts[:k])


def _other_parameter(
    key: str,
    equals: str,
    value: str,
    k: int,
    parts: list[str],
    query_start: int,
    strict: bool,
    warnings: list[str],
    uri: str,
) -> tuple[str, str]:
    """A query parameter that is no AI: kept as given, unless it is numeric (then no AI exists)."""
    if equals and key.isdigit() and key.isascii():
        if strict:
            raise GS1Error(
                f"query parameter {key!r} is numeric but no Application Identifier",
                position=_part_at(query_start, parts, k),
                value=uri,
            )
        warnings.append(f"query parameter {key!r} is numeric but no AI: kept as a parameter")
    return _loose_decode(key), _loose_decode(value)


def _misplaced(
    key: str,
    value: str,
    k: int,
    parts: list[str],
    query_start: int,
    primary_ai: str,
    forbidden: frozenset[str],
    strict: bool,
    warnings: list[str],
    uri: str,
) -> None:
    """An AI in the query string with no value, or that belongs in the path, or that is no data
    attribute: an error, except for a key qualifier in a lenient parse (it moves to the path)."""
    position = _part_at(query_start, parts, k)
    if not value:
        raise GS1Error(f"AI ({key}) in the query string has no value", ai=key, position=position, value=uri)
    if key in forbidden:
        if strict:
            raise GS1Error(
                f"AI ({key}) is a key qualifier of ({primary_ai}): it belongs in the path, not in the query string",
                ai=key,
                position=position,
                value=uri,
            )
        warnings.append(f"key qualifier ({key}) moved from the query string into the path")
        return
    raise GS1Error(
        f"AI ({key}) is not allowed as a Digital Link data attribute", ai=key, position=position, value=uri
    )


def _move_into_path(
    path: tuple[str, ...],
    pairs: list[tuple[str, str]],
    qualifier_count: int,
    moved: list[tuple[str, str]],
    uri: str,
) -> tuple[list[tuple[str, str]], int]:
    """Lenient: qualifiers found in the query string join the path, in the standard order."""
    reordered = _reorder((*path, *(ai for ai, _ in moved)))
    if reordered is None:
        raise GS1Error(
            f"key qualifiers {'/'.join(ai for ai, _ in moved)} in the query string cannot be "
            f"combined with the path {'/'.join(path)}",
            ai=path[0],
            value=uri,
        )
    in_path = dict(pairs[: qualifier_count + 1])
    in_path.update(moved)
    head = [(ai, in_path[ai]) for ai in reordered]
    return head + pairs[qualifier_count + 1 :], len(head) - 1


def _repeats(pairs: list[tuple[str, str]], strict: bool, warnings: list[str], uri: str) -> None:
    """An AI given twice: an error (strict, or other data); else a warning (the repeat is dropped)."""
    seen: dict[str, str] = {}
    for ai, value in pairs:
        earlier = seen.get(ai)
        if earlier is None:
            seen[ai] = value
            continue
        if strict or earlier != value:
            raise GS1Error(f"AI ({ai}) appears twice: {earlier!r} and {value!r}", ai=ai, value=uri)
        warnings.append(f"AI ({ai}) appears twice with the same data; the repeat was dropped")


_DL_ATTRIBUTES: frozenset[str] = frozenset(ai for ai, d in AI_TABLE.items() if d.dl_data_attribute)
"""AIs allowed as data attributes in the query string (flag ``?`` in the dictionary)."""


# -- the pharma fast path ----------------------------------------------------------------------------------


def _plain_x(ai: str) -> str | None:
    """A regex group for AI ``ai``'s data when the dictionary gives it one component of GS1
    character set 82 without linters (lot 10, serial 21). Limited to the characters a URI
    carries without percent-encoding, a match is already the complete check of the value.
    ``None`` when the dictionary says otherwise (the fast path is then off)."""
    components = AI_TABLE[ai].components
    if len(components) != 1:
        return None  # pragma: no cover - the dictionary gives (10) and (21) one component
    (only,) = components
    if only.charset != "X" or only.linters or only.optional:
        return None  # pragma: no cover - see above
    return f"([A-Za-z0-9._-]{{{only.min_length},{only.max_length}}})"


_LOT, _SERIAL = _plain_x("10"), _plain_x("21")
_GTIN_ENTRY, _EXPIRY_ENTRY = _FAST["01"], _FAST["17"]
_GTIN_MEMO: dict[str, None] = _GTIN_ENTRY.memo if _GTIN_ENTRY.memo is not None else {}
_EXPIRY_MEMO: dict[str, None] = _EXPIRY_ENTRY.memo if _EXPIRY_ENTRY.memo is not None else {}
_FAST_PATH_SOUND = bool(
    _LOT
    and _SERIAL
    and _GTIN_ENTRY.memo is not None
    and _EXPIRY_ENTRY.memo is not None
    and {("01", "10", "21"), ("01", "21")} <= _PATH_SEQUENCES
    and not {"10", "21"} & _PRIMARY_KEYS
    and not any("01" in qualifiers for qualifiers in _QUALIFIERS_OF.values())
)
"""What the fast path relies on, from the dictionary: lot and serial checked by their character
set and length alone, GTIN and expiry memoised, 01/10/21 and 01/21 valid paths, and (01) never a
key qualifier nor (10), (21) primary keys, so the (01) the pattern finds is the one the general
path takes as the primary key, whatever the base holds."""
_PHARMA: re.Pattern[str] | None = (
    re.compile(
        r"([hH][tT][tT][pP][sS]?://[A-Za-z0-9.:\[\]-]+(?:/[A-Za-z0-9\-._~:@!$&'()*+,;=]*)*?)"
        rf"/01/([0-9]{{14}})(?:/10/{_LOT})?/21/{_SERIAL}\?17=([0-9]{{6}})(?:&([0-9]{{2,4}})=([A-Za-z0-9._-]+))?"
    )
    if _FAST_PATH_SOUND
    else None
)
"""The URI of a medicine pack as printed on it: any base, ``/01/{gtin}[/10/{lot}]/21/{serial}``,
then ``?17={expiry}`` and at most one more data attribute (an NHRN such as ``&710=…``), with
nothing percent-encoded. Anything else takes the general path; so does a match whose extra
parameter is not a plain data attribute (see :data:`_EXTRA_ATTRIBUTES`)."""

_EXTRA_ATTRIBUTES: frozenset[str] = (
    _DL_ATTRIBUTES
    - _INSERTABLE.get(("01", "10", "21"), frozenset())
    - _INSERTABLE.get(("01", "21"), frozenset())
    - {"01", "10", "21", "17"}
)
"""AIs the fast path takes as the extra query parameter: data attributes that are no key
qualifier of (01) and not already in the URI (those are errors or repairs, said by the general path)."""


def _no_match(uri: str) -> None:
    return None


_pharma_match: Callable[[str], re.Match[str] | None] = _PHARMA.fullmatch if _PHARMA is not None else _no_match
"""The match of a URI of the common shape (:data:`_PHARMA`), else ``None``."""


def _pharma(match: re.Match[str]) -> ElementString | None:
    """Parse a pack's Digital Link of the common shape (matched by :data:`_PHARMA`, the base
    is group 1) with every check the general path makes, in the same order and with the same
    errors; ``None`` when the general path must decide."""
    _, gtin, lot, serial, expiry, ai, value = match.groups()
    if gtin not in _GTIN_MEMO:
        _check(_GTIN_ENTRY, gtin, match.start(2))
    if lot is None:
        index = {"01": gtin, "21": serial, "17": expiry}
    else:
        index = {"01": gtin, "10": lot, "21": serial, "17": expiry}
    if expiry not in _EXPIRY_MEMO:
        _check(_EXPIRY_ENTRY, expiry, match.start(5))
    if ai is not None:
        if ai not in _EXTRA_ATTRIBUTES:
            return None
        entry = _FAST[ai]
        if not entry.known(value):
            _check(entry, value, match.start(7))
        index[ai] = value
    return _done(ElementString, index, None, (), None, True)
