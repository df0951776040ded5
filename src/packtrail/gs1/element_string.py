"""GS1 element strings: what a GS1 DataMatrix, GS1-128 or GS1 QR Code carries.

An element string is a run of Application Identifiers (AIs) each followed by
its data. AIs with a predefined length (GTIN, dates, …) need no separator;
every other AI's data ends at an FNC1, transmitted by a scanner as the ASCII
group separator GS (0x1D), or at the end of the message. Scanners prefix the
message with a symbology identifier such as ``]d2`` (GS1 DataMatrix).

>>> from packtrail.gs1.element_string import ElementString
>>> es = ElementString.parse("]d2010950600013435217270131" "10ABC123\\x1d21SERIAL0001")
>>> [(e.ai, e.raw) for e in es.elements]
[('01', '09506000134352'), ('17', '270131'), ('10', 'ABC123'), ('21', 'SERIAL0001')]
>>> es["17"].value
datetime.date(2027, 1, 31)
>>> es.bracketed()
'(01)09506000134352(17)270131(10)ABC123(21)SERIAL0001'
>>> es.symbology.is_gs1, es.symbology.name
(True, 'GS1 DataMatrix')

The human-readable bracketed form parses too, and keyboard-wedge scanners that
send GS as some other character are handled by naming the substitute:

>>> ElementString.parse("(01)09506000134352(21)A\\\\(1)").get("21").raw
'A(1)'
>>> ElementString.parse("0109506000134352|21ABC|10L1", gs_substitutes=("|",)).get("10").raw
'L1'

A variable-length value is never split by guessing. When a separator seems to be
missing the parse says so in a warning instead:

>>> es = ElementString.parse("]d2010950600013435210ABC12321SERIAL0001")
>>> es.get("10").raw
'ABC12321SERIAL0001'
>>> es.warnings[0]
'no serial number (AI 21) is present: a pack identifier needs GTIN (01) and serial (21)'

Bad data raises :class:`~packtrail.gs1.errors.GS1Error` naming the AI and the position:

>>> ElementString.parse("]d20109506000134353")
Traceback (most recent call last):
...
packtrail.gs1.errors.GS1Error: AI (01) at position 5: check digit should be 2, found 3 (in '09506000134353')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from packtrail.gs1.dictionary import AI_TABLE, AIDefinition, Component, pattern_matches
from packtrail.gs1.errors import GS1Error
from packtrail.gs1.linters import LINTERS, gs1_date

__all__ = ["GS", "Element", "ElementString", "Symbology"]

GS = "\x1d"
"""The ASCII group separator a scanner transmits for FNC1."""

_CHARSET_CLASS = {
    "N": "0-9",
    "X": '!"%-/0-9:-?A-Z_a-z',
    "Y": "#\\-/0-9A-Z",
    "Z": "A-Za-z0-9_\\-=",
}
_CHARSET_NAME = {
    "N": "digits",
    "X": "GS1 character set 82",
    "Y": "GS1 character set 39",
    "Z": "GS1 character set 64 (base64url)",
}
_CHARSET_TEST = {cs: re.compile(f"[{cls}]") for cs, cls in _CHARSET_CLASS.items()}
_DATE_LINTERS = frozenset({"yymmd0", "yymmdd"})


@dataclass(frozen=True, slots=True)
class Symbology:
    """What a symbology identifier (``]d2``, ``]C1``, …) says about the barcode that was read."""

    identifier: str
    """The identifier as transmitted, normalised to its standard case, e.g. ``"]d2"``."""
    name: str
    """The barcode type in words."""
    is_gs1: bool
    """True when the symbol was encoded as GS1 data (FNC1 in first position)."""


_SYMBOLOGIES = {
    "]d2": ("GS1 DataMatrix", True),
    "]C1": ("GS1-128", True),
    "]Q3": ("GS1 QR Code", True),
    "]e0": ("GS1 DataBar", True),
    "]J1": ("GS1 DotCode", True),
    "]d1": ("Data Matrix (not GS1: no FNC1 in first position)", False),
    "]C0": ("Code 128 (not GS1)", False),
    "]Q1": ("QR Code (not GS1)", False),
}


class Element(NamedTuple):
    """One Application Identifier with its data, e.g. AI (17) with ``"270131"``.

    A named tuple rather than a dataclass: a line scanner makes millions of them.
    """

    ai: str
    """The Application Identifier, e.g. ``"17"``."""
    raw: str
    """The data exactly as carried in the barcode."""
    definition: AIDefinition
    """The syntax dictionary's entry for the AI."""

    def __repr__(self) -> str:
        return f"Element(ai={self.ai!r}, raw={self.raw!r})"

    @property
    def title(self) -> str:
        """GS1's data title, e.g. ``"USE BY or EXPIRY"``."""
        return self.definition.title

    @property
    def value(self) -> str | date | Decimal:
        """The data as a typed value: a :class:`~datetime.date` for date AIs (DD=00 is the
        last day of the month), a :class:`~decimal.Decimal` for measures, amounts and prices
        (the AI's last digit places the decimal point), otherwise the text."""
        definition = self.definition
        components = definition.components
        if len(components) == 1 and components[0].max_length == 6 and components[0].linters:
            if components[0].linters[0] in _DATE_LINTERS:
                return gs1_date(self.raw)
        elif len(components) == 1 and "yyyymmdd" in components[0].linters:
            return date(int(self.raw[:4]), int(self.raw[4:6]), int(self.raw[6:8]))
        places = definition.decimal_places
        if places is not None:
            digits = self.raw[3:] if len(components) == 2 else self.raw
            return Decimal(digits).scaleb(-places)
        return self.raw

    @property
    def currency(self) -> str | None:
        """For amounts and prices with an ISO 4217 currency (AIs 391n, 393n), its numeric code."""
        components = self.definition.components
        if len(components) == 2 and "iso4217" in components[0].linters:
            return self.raw[:3]
        return None


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the parser precomputes per AI: one regex that checks every component's
    character set and length and captures it, and the linters to run per group."""

    definition: AIDefinition
    regex: re.Pattern[str]
    linters: tuple[tuple[int, tuple[str, ...]], ...]


def _component_regex(component: Component) -> str:
    cls = _CHARSET_CLASS[component.charset]
    if component.min_length == component.max_length:
        quantity = f"{{{component.max_length}}}"
    else:
        quantity = f"{{{component.min_length},{component.max_length}}}"
    group = f"([{cls}]{quantity})"
    return group + "?" if component.optional else group


def _build_plan(definition: AIDefinition) -> _Plan:
    regex = re.compile("".join(_component_regex(c) for c in definition.components))
    linters = tuple((i, c.linters) for i, c in enumerate(definition.components) if c.linters)
    for _, names in linters:
        for name in names:
            if name not in LINTERS:
                raise ValueError(f"syntax dictionary names linter {name!r}, which packtrail lacks")
    return _Plan(definition=definition, regex=regex, linters=linters)


_PLANS: dict[str, _Plan] = {ai: _build_plan(d) for ai, d in AI_TABLE.items()}

_CACHE_LIMIT = 65_536
"""Bound on the memo tables below; they are emptied when full, so memory stays flat."""
_VALIDATED: dict[str, None] = {}
"""Memo of AI+data already validated whose check involves linters (GTINs, dates repeat on a line)."""
_UNKNOWN: object = object()
_FAST: dict[str, tuple[int, str, bool, int, re.Pattern[str], bool, AIDefinition]] = {
    ai: (len(ai), ai, d.predefined_length, d.max_length, _PLANS[ai].regex, bool(_PLANS[ai].linters), d)
    for ai, d in AI_TABLE.items()
}
"""Per AI, what the scanner hot path needs, unpacked in one step."""
_ASSOCIATION_VERDICTS: dict[tuple[str, ...], tuple[str, str] | None] = {}
"""Memo of the req=/ex= verdict per sequence of AIs: messages on one line share a layout."""


def _describe_failure(definition: AIDefinition, data: str, position: int) -> GS1Error:
    """Walk the components by hand to say exactly what is wrong (the slow path, errors only)."""
    ai = definition.ai
    offset = 0
    for number, component in enumerate(definition.components, start=1):
        if offset == len(data) and component.optional:
            break
        where = position + offset
        remaining = len(data) - offset
        if remaining < component.min_length:
            expected = (
                f"{component.min_length}"
                if component.min_length == component.max_length
                else f"at least {component.min_length}"
            )
            return GS1Error(
                f"data too short: component {number} needs {expected} characters, found {remaining}",
                ai=ai,
                position=where,
                value=data,
            )
        piece = data[offset : offset + component.max_length]
        test = _CHARSET_TEST[component.charset]
        for i, ch in enumerate(piece):
            if not test.fullmatch(ch):
                shown = repr(ch) if ch.isprintable() else f"byte 0x{ord(ch):02X}"
                return GS1Error(
                    f"{shown} is not allowed here: expected {_CHARSET_NAME[component.charset]}",
                    ai=ai,
                    position=where + i,
                    value=data,
                )
        offset += len(piece)
    if offset < len(data):
        return GS1Error(
            f"data too long: at most {definition.max_length} characters, found {len(data)}",
            ai=ai,
            position=position,
            value=data,
        )
    return GS1Error("data does not match the AI's format", ai=ai, position=position, value=data)


def validate_value(definition: AIDefinition, data: str, position: int = 0) -> None:
    """Check ``data`` against the AI's components and linters; raise :class:`GS1Error` if wrong."""
    plan = _PLANS[definition.ai]
    match = plan.regex.fullmatch(data)
    if match is None:
        raise _describe_failure(definition, data, position)
    if plan.linters:
        groups = match.groups()
        for index, names in plan.linters:
            text = groups[index]
            if text is None:
                continue
            for name in names:
                reason = LINTERS[name](text)
                if reason is not None:
                    start = match.start(index + 1)
                    raise GS1Error(reason, ai=definition.ai, position=position + start, value=data)


_KNOWN_SYMBOLOGIES: dict[str, tuple[Symbology, tuple[str, ...]]] = {}
for _ident, (_name, _is_gs1) in _SYMBOLOGIES.items():
    _notes: tuple[str, ...] = ()
    if not _is_gs1:
        _notes = (
            f"symbology identifier {_ident} means {_name}: the symbol is not a GS1 barcode; "
            "its data was read as GS1 element strings anyway",
        )
    _KNOWN_SYMBOLOGIES[_ident.lower()] = (Symbology(_ident, _name, _is_gs1), _notes)


def _read_symbology(text: str) -> tuple[Symbology | None, str, int, list[str]]:
    if text[:1] != "]":
        return None, text, 0, []
    ident = text[:3]
    known = _KNOWN_SYMBOLOGIES.get(ident.lower())
    if known is None:
        warning = f"unknown symbology identifier {ident!r}: the data was read as GS1 element strings"
        return Symbology(ident, "unknown symbology", False), text[3:], 3, [warning]
    return known[0], text[3:], 3, list(known[1])


def _strip_line_end(text: str) -> str:
    if text[-1:] not in ("\r", "\n"):
        return text
    end = len(text)
    while end and text[end - 1] in "\r\n":
        end -= 1
    return text[:end]


@dataclass(frozen=True, slots=True)
class ElementString:
    """A parsed, fully validated GS1 element string."""

    pairs: tuple[tuple[str, str], ...]
    """The ``(AI, data)`` pairs in the order they were carried, every one validated."""
    symbology: Symbology | None = None
    """The symbology identifier the scanner sent, if any."""
    warnings: tuple[str, ...] = ()
    """Things worth a human's attention that do not make the data invalid."""

    # -- parsing -----------------------------------------------------------------------------------------------

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        gs_substitutes: Iterable[str] = ("<GS>",),
        check_associations: bool = True,
    ) -> ElementString:
        """Parse scanner output or the bracketed human-readable form.

        ``text`` may start with a symbology identifier (any case), may end in CR/LF,
        and may use any of ``gs_substitutes`` in place of the GS separator. Leading,
        trailing and doubled separators are tolerated.
        """
        if not isinstance(text, str):
            raise GS1Error(f"expected text, found {type(text).__name__}")
        text = _strip_line_end(text)
        symbology, body, offset, warnings = _read_symbology(text)
        for substitute in gs_substitutes:
            if substitute and substitute in body:
                body = body.replace(substitute, GS)
        if body[:1] == "(":
            return cls._from_split(_split_bracketed(body, offset), symbology, warnings, check_associations)
        pairs, seen = _parse_element_string(body, offset, warnings)
        if check_associations:
            _check_associations(tuple(seen))
        if "01" in seen and "21" not in seen:
            _serial_warnings(seen, warnings)
        return cls(pairs, symbology, tuple(warnings))

    @classmethod
    def parse_bracketed(cls, text: str, *, check_associations: bool = True) -> ElementString:
        """Parse the human-readable form ``(01)09506000134352(10)ABC`` (``\\(`` is a literal bracket)."""
        return cls._from_split(_split_bracketed(text, 0), None, [], check_associations)

    @classmethod
    def from_pairs(
        cls, pairs: Iterable[tuple[str, str]], *, check_associations: bool = True
    ) -> ElementString:
        """Build an element string from ``(AI, data)`` pairs, validating each exactly as a parse would."""
        split: list[tuple[AIDefinition, str, int]] = []
        for ai, data in pairs:
            definition = AI_TABLE.get(ai)
            if definition is None:
                raise GS1Error(f"{ai!r} is not an Application Identifier in the GS1 syntax dictionary", ai=ai)
            split.append((definition, data, 0))
        return cls._from_split(split, None, [], check_associations)

    @classmethod
    def _from_split(
        cls,
        split: list[tuple[AIDefinition, str, int]],
        symbology: Symbology | None,
        warnings: list[str],
        check_associations: bool,
    ) -> ElementString:
        if not split:
            raise GS1Error("no element strings found: expected an AI such as (01) followed by its data")
        seen: dict[str, str] = {}
        pairs: list[tuple[str, str]] = []
        for definition, data, position in split:
            _validate_cached(definition, data, position)
            if _is_repeat(seen, definition.ai, data, position, warnings):
                continue
            pairs.append((definition.ai, data))
        if check_associations:
            _check_associations(tuple(seen))
        if "01" in seen and "21" not in seen:
            _serial_warnings(seen, warnings)
        return cls(tuple(pairs), symbology, tuple(warnings))

    # -- access ------------------------------------------------------------------------------------------------

    def get(self, ai: str) -> Element | None:
        """The element for ``ai``, or ``None`` when absent."""
        for key, data in self.pairs:
            if key == ai:
                return Element(key, data, AI_TABLE[key])
        return None

    def __getitem__(self, ai: str) -> Element:
        element = self.get(ai)
        if element is None:
            raise KeyError(ai)
        return element

    def __contains__(self, ai: object) -> bool:
        return any(key == ai for key, _ in self.pairs)

    def __iter__(self) -> Iterator[Element]:
        return iter(self.elements)

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def elements(self) -> tuple[Element, ...]:
        """The elements in the order they were carried, each with its dictionary entry.

        Built on access from :attr:`pairs`: a scanner loop that only needs
        :meth:`raw` never pays for them.
        """
        table = AI_TABLE
        return tuple(Element(ai, raw, table[ai]) for ai, raw in self.pairs)

    def raw(self, ai: str) -> str | None:
        """The data of ``ai`` as carried, or ``None`` when absent."""
        for key, data in self.pairs:
            if key == ai:
                return data
        return None

    # -- output ------------------------------------------------------------------------------------------------

    def encoded(self) -> str:
        """The element string as carried in a barcode (after FNC1 in first position): a GS after
        every variable-length element except the last."""
        parts: list[str] = []
        last = len(self.pairs) - 1
        table = AI_TABLE
        for i, (ai, raw) in enumerate(self.pairs):
            parts.append(ai)
            parts.append(raw)
            if i != last and not table[ai].predefined_length:
                parts.append(GS)
        return "".join(parts)

    def scan_data(self, symbology: str = "]d2") -> str:
        """What a scanner transmits for this data in a GS1 symbol: the identifier then :meth:`encoded`."""
        return symbology + self.encoded()

    def bracketed(self) -> str:
        """The human-readable form, ``(01)09506000134352(10)ABC``; a ``(`` in data is written ``\\(``."""
        return "".join(f"({ai}){_escape_bracket(raw)}" for ai, raw in self.pairs)

    def __str__(self) -> str:
        return self.bracketed()


def _validate_cached(definition: AIDefinition, data: str, position: int) -> None:
    plan = _PLANS[definition.ai]
    if plan.linters:
        key = definition.ai + GS + data
        if key not in _VALIDATED:
            validate_value(definition, data, position)
            if len(_VALIDATED) >= _CACHE_LIMIT:
                _VALIDATED.clear()
            _VALIDATED[key] = None
    elif plan.regex.fullmatch(data) is None:
        raise _describe_failure(definition, data, position)


def _is_repeat(seen: dict[str, str], ai: str, data: str, position: int, warnings: list[str]) -> bool:
    """Record ``ai``; True when it was already seen with the same data (a tolerated repeat)."""
    earlier = seen.get(ai)
    if earlier is None:
        seen[ai] = data
        return False
    if earlier != data:
        raise GS1Error(
            f"AI ({ai}) appears twice with different data: {earlier!r} and {data!r}", ai=ai, position=position
        )
    warnings.append(f"AI ({ai}) appears twice with the same data; the repeat was dropped")
    return True


def _parse_element_string(
    body: str, offset: int, warnings: list[str]
) -> tuple[tuple[tuple[str, str], ...], dict[str, str]]:
    """Split and validate an element string in one pass: the scanner hot path."""
    pairs: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    length = len(body)
    pos = 0
    fast = _FAST
    validated = _VALIDATED
    while pos < length:
        if body[pos] == GS:
            pos += 1
            continue
        entry = fast.get(body[pos : pos + 2])
        if entry is None or entry[0] != 2:
            entry = fast.get(body[pos : pos + 3]) or fast.get(body[pos : pos + 4])
            if entry is None:
                raise _unknown_ai(body, pos, offset)
        ai_length, ai, predefined, max_length, regex, has_linters, definition = entry
        start = pos + ai_length
        if predefined:
            end = start + max_length
            data = body[start:end]
            if end > length or GS in data:
                raise _predefined_failure(definition, body, start, offset)
        else:
            end = body.find(GS, start)
            if end < 0:
                end = length
            data = body[start:end]
            if end - start > max_length:
                raise GS1Error(
                    f"data too long: at most {max_length} characters, found {end - start}; "
                    "is a GS separator missing after it?",
                    ai=ai,
                    position=offset + start,
                    value=data,
                )
        if has_linters:
            key = ai + GS + data
            if key not in validated:
                validate_value(definition, data, offset + start)
                if len(validated) >= _CACHE_LIMIT:
                    validated.clear()
                validated[key] = None
        elif regex.fullmatch(data) is None:
            raise _describe_failure(definition, data, offset + start)
        if ai in seen:
            if _is_repeat(seen, ai, data, offset + start, warnings):
                pos = end
                continue
        else:
            seen[ai] = data
        pairs.append((ai, data))
        pos = end
    if not pairs:
        raise GS1Error("no element strings found: expected an AI such as (01) followed by its data")
    return tuple(pairs), seen


def _predefined_failure(definition: AIDefinition, body: str, start: int, offset: int) -> GS1Error:
    data = body[start : start + definition.max_length]
    if GS in data:
        return GS1Error(
            f"a separator (GS) interrupts the data, which has a predefined length of "
            f"{definition.max_length} characters",
            ai=definition.ai,
            position=offset + start + data.index(GS),
            value=data.replace(GS, "<GS>"),
        )
    return GS1Error(
        f"data too short: expected {definition.max_length} characters, found {len(body) - start}",
        ai=definition.ai,
        position=offset + start,
        value=body[start:],
    )


def _unknown_ai(body: str, pos: int, offset: int) -> GS1Error:
    head = body[pos : pos + 4]
    shown = "".join(ch if ch.isprintable() else f"<0x{ord(ch):02X}>" for ch in head)
    if not head[:2].isdigit():
        return GS1Error(
            f"expected an Application Identifier (digits), found {shown!r}", position=offset + pos
        )
    return GS1Error(
        f"no Application Identifier in the GS1 syntax dictionary starts with {shown!r}",
        position=offset + pos,
    )


_BRACKETED_AI = re.compile(r"\((\d{2,4})\)")


def _split_bracketed(body: str, offset: int) -> list[tuple[AIDefinition, str, int]]:
    out: list[tuple[AIDefinition, str, int]] = []
    pos = 0
    length = len(body)
    while pos < length:
        match = _BRACKETED_AI.match(body, pos)
        if match is None:
            raise GS1Error(
                "expected an AI in brackets such as (01)",
                position=offset + pos,
                value=body[pos : pos + 8],
            )
        ai = match.group(1)
        definition = AI_TABLE.get(ai)
        if definition is None:
            raise GS1Error(f"({ai}) is not an Application Identifier in the GS1 syntax dictionary", ai=ai)
        start = match.end()
        chunks: list[str] = []
        cursor = start
        while True:
            nxt = body.find("(", cursor)
            if nxt < 0:
                chunks.append(body[cursor:])
                cursor = length
                break
            if nxt > 0 and body[nxt - 1] == "\\":
                chunks.append(body[cursor : nxt - 1] + "(")
                cursor = nxt + 1
                continue
            chunks.append(body[cursor:nxt])
            cursor = nxt
            break
        out.append((definition, "".join(chunks), offset + start))
        pos = cursor
    return out


def _present(pattern: str, ais: Iterable[str]) -> bool:
    if "n" not in pattern:
        return pattern in ais
    return any(pattern_matches(pattern, ai) for ai in ais)


def _check_associations(key: tuple[str, ...]) -> None:
    verdict = _ASSOCIATION_VERDICTS.get(key, _UNKNOWN)
    if verdict is _UNKNOWN:
        verdict = _association_problem(key)
        if len(_ASSOCIATION_VERDICTS) >= _CACHE_LIMIT:
            _ASSOCIATION_VERDICTS.clear()
        _ASSOCIATION_VERDICTS[key] = verdict
    if verdict is not None:
        reason, ai = verdict
        raise GS1Error(reason, ai=ai)


def _association_problem(ais: tuple[str, ...]) -> tuple[str, str] | None:
    """The first broken ``req=``/``ex=`` rule as (reason, AI), or ``None`` when every rule holds."""
    present = set(ais)
    for ai in ais:
        definition = AI_TABLE[ai]
        for rule in definition.requires:
            if not any(all(_present(p, present) for p in group) for group in rule):
                wanted = " or ".join("+".join(f"({p})" for p in group) for group in rule)
                return f"AI ({definition.ai}) must be used together with {wanted}", definition.ai
        for pattern in definition.excludes:
            for other in ais:
                if other != definition.ai and pattern_matches(pattern, other):
                    return f"AI ({definition.ai}) and AI ({other}) must not be used together", definition.ai
    return None


def _serial_warnings(seen: dict[str, str], warnings: list[str]) -> None:
    """Say that a GTIN came without a serial, and where a lost separator may have hidden one."""
    warnings.insert(
        0, "no serial number (AI 21) is present: a pack identifier needs GTIN (01) and serial (21)"
    )
    for ai in ("10", "240", "91"):
        data = seen.get(ai)
        if data is None:
            continue
        cut = data.find("21", 1)
        if 0 < cut < len(data) - 2:
            warnings.append(
                f"the data of AI ({ai}) {data!r} contains '21' followed by {data[cut + 2 :]!r}: "
                "if a GS separator was lost, the serial may be inside it (not split by guessing)"
            )


def _escape_bracket(data: str) -> str:
    return data.replace("(", "\\(")
