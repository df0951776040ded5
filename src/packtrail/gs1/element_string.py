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

Building goes the other way: validated pairs in, the barcode's data out (a GS after
every variable-length element but the last):

>>> built = ElementString.from_pairs([("01", "09506000134352"), ("10", "ABC123"), ("21", "S1")])
>>> built.scan_data()
']d2010950600013435210ABC123\\x1d21S1'

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

Bad data raises :class:`~packtrail.gs1.errors.GS1Error` naming the AI and the position,
and so do broken ``req=``/``ex=`` rules of the dictionary:

>>> ElementString.parse("]d20109506000134353")
Traceback (most recent call last):
...
packtrail.gs1.errors.GS1Error: AI (01) at position 5: check digit should be 2, found 3 (in '09506000134353')
>>> ElementString.parse("(21)S1")
Traceback (most recent call last):
...
packtrail.gs1.errors.GS1Error: AI (21): AI (21) must be used together with (01) or (03) or (8006)
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial
from typing import NamedTuple

from packtrail.gs1.dictionary import AI_TABLE, AIDefinition, Component, pattern_matches
from packtrail.gs1.errors import GS1Error
from packtrail.gs1.linters import LINTERS, Linter, gs1_date

__all__ = ["GS", "Element", "ElementString", "Symbology", "validate_value"]

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

# -- typed values ------------------------------------------------------------------------------------------

_TEXT, _DATE6, _DATE8, _DECIMAL, _AMOUNT = range(5)


def _value_kind(definition: AIDefinition) -> int:
    components = definition.components
    if len(components) == 1:
        only = components[0]
        if only.max_length == 6 and only.linters and only.linters[0] in _DATE_LINTERS:
            return _DATE6
        if "yyyymmdd" in only.linters:
            return _DATE8
    if definition.decimal_places is not None:
        return _AMOUNT if len(components) == 2 else _DECIMAL
    return _TEXT


_VALUE_KIND: dict[str, int] = {ai: _value_kind(d) for ai, d in AI_TABLE.items()}
"""How :attr:`Element.value` types each AI's data."""

_DATES: dict[str, date] = {}
"""Memo of YYMMDD -> date for the current year (the 50-year window moves on 1 January)."""
_dates_until = 0.0
"""The memo above is good while ``time.time()`` is below this (the end of the local year)."""


_time = time.time


def _yymmdd_date(raw: str) -> date:
    global _dates_until
    if _time() >= _dates_until:
        _DATES.clear()
        year = datetime.datetime.now().year
        _dates_until = datetime.datetime(year + 1, 1, 1).timestamp() if year < 9999 else float("inf")
    value = _DATES.get(raw)
    if value is None:
        value = gs1_date(raw)
        if len(_DATES) >= _CACHE_LIMIT:
            _DATES.clear()
        _DATES[raw] = value
    return value


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
        kind = _VALUE_KIND.get(self.definition.ai, _TEXT)
        if kind == _DATE6:
            if _time() < _dates_until:
                known = _DATES.get(self.raw)
                if known is not None:
                    return known
            return _yymmdd_date(self.raw)
        if kind == _TEXT:
            return self.raw
        if kind == _DATE8:
            return date(int(self.raw[:4]), int(self.raw[4:6]), int(self.raw[6:8]))
        digits = self.raw[3:] if kind == _AMOUNT else self.raw
        return Decimal(digits).scaleb(-(self.definition.decimal_places or 0))

    @property
    def currency(self) -> str | None:
        """For amounts and prices with an ISO 4217 currency (AIs 391n, 393n), its numeric code."""
        components = self.definition.components
        if len(components) == 2 and "iso4217" in components[0].linters:
            return self.raw[:3]
        return None


_element: Callable[[tuple[str, str, AIDefinition]], Element] = partial(tuple.__new__, Element)
"""``Element(ai, raw, definition)`` without the Python-level ``__new__`` of a named tuple."""

# -- per-AI validation plans -------------------------------------------------------------------------------


def _cset64(text: str) -> str | None:
    """GS1 character set 64 (base64url): '=' only as padding, at most two, at the end.

    Follows GS1's reference linter ``lint_cset64.c`` (gs1-syntax-dictionary, Apache-2.0):
    with padding, the whole length must be a multiple of three.
    """
    if "=" not in text:
        return None
    body = text.rstrip("=")
    pads = len(text) - len(body)
    if "=" in body:
        return f"'=' at character {body.index('=') + 1} is only allowed as padding at the end"
    if pads > 2 or len(text) % 3:
        return f"bad base64url padding: {pads} '=' after {len(body)} characters"
    return None


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the parser precomputes per AI: one regex that checks every component's
    character set and length and captures it, and the checks to run per group."""

    definition: AIDefinition
    regex: re.Pattern[str]
    checks: tuple[tuple[int, tuple[Linter, ...]], ...]


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
    checks: list[tuple[int, tuple[Linter, ...]]] = []
    for index, component in enumerate(definition.components):
        for name in component.linters:
            if name not in LINTERS:
                raise ValueError(f"syntax dictionary names linter {name!r}, which packtrail lacks")
        linters = [LINTERS[name] for name in component.linters]
        if component.charset == "Z":
            linters.insert(0, _cset64)
        if linters:
            checks.append((index, tuple(linters)))
    return _Plan(definition=definition, regex=regex, checks=tuple(checks))


_PLANS: dict[str, _Plan] = {ai: _build_plan(d) for ai, d in AI_TABLE.items()}

_CACHE_LIMIT = 16_384
"""Bound on each memo table below; a full table is emptied, so memory stays flat."""
_UNKNOWN: tuple[str, str] = ("", "")
"""A verdict never stored: marks a layout not judged yet (compared by identity)."""
_YEAR_DEPENDENT = frozenset({"couponcode"})
"""Linters whose verdict can change with the current year (coupon start and expiry dates)."""


class _Entry(NamedTuple):
    """Per AI, what the hot paths need, unpacked in one step."""

    ai: str
    predefined: bool
    max_length: int
    known: Callable[[str], object]
    """A cheap test, true only for data known to be valid: the memo's ``__contains__`` for AIs
    with one, else the regex's ``fullmatch`` when it checks the data alone, else (linters but
    no memo) a function that is never true. Data it does not know goes through :func:`_check`,
    which says what is wrong or (the data being valid after all) remembers it."""
    memo: dict[str, None] | None
    """Data already validated, for AIs whose check involves linters (GTINs, dates repeat on a
    line); ``None`` for AIs checked by their regex alone or whose checks depend on the year."""
    definition: AIDefinition
    feb29: bool
    """True when a linter reads YYMMDD dates: a 29 February of year 00 is never memoised, as
    whether it exists depends on the century the 50-year window gives it."""
    size: int
    """``len(ai)``: where the data starts after the AI."""


def _entry(ai: str, definition: AIDefinition) -> _Entry:
    plan = _PLANS[ai]
    names = {name for c in definition.components for name in c.linters}
    memo: dict[str, None] | None = {} if plan.checks and not names & _YEAR_DEPENDENT else None
    known: Callable[[str], object]
    if memo is not None:
        known = memo.__contains__  # the memo is only ever cleared, never replaced
    elif plan.checks:
        known = _never
    else:
        known = plan.regex.fullmatch
    return _Entry(
        ai,
        definition.predefined_length,
        definition.max_length,
        known,
        memo,
        definition,
        bool(names & _DATE_LINTERS),
        len(ai),
    )


def _never(data: str) -> bool:
    """A ``known`` test that is never true."""
    return False


_FAST: dict[str, _Entry] = {ai: _entry(ai, d) for ai, d in AI_TABLE.items()}
_KNOWN: dict[str, Callable[[str], object]] = {ai: entry.known for ai, entry in _FAST.items()}
"""Per AI, :attr:`_Entry.known` alone (the bracketed form's loop needs nothing else)."""
_LAYOUTS: dict[tuple[str, ...], tuple[str, str] | None] = {}
"""Memo of the verdict per sequence of AIs (messages on one line share a layout): ``None`` when
every req=/ex= rule holds, :data:`_NO_SERIAL` when they hold but a GTIN has no serial, else
the broken rule as (reason, AI)."""
_NO_SERIAL: tuple[str, str] = ("", "01")
"""The verdict: rules hold, but there is a GTIN (01) without a serial (21) (compared by identity)."""


def _plural(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _describe_failure(definition: AIDefinition, data: str, position: int) -> GS1Error:
    """Walk the components by hand to say exactly what is wrong (the slow path, errors only)."""
    ai = definition.ai
    if not data:
        return GS1Error(
            f"data too short: nothing after the AI, expected {_length_words(definition)}",
            ai=ai,
            position=position,
            value=data,
        )
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
                f"data too short: component {number} needs {expected} "
                f"{'character' if component.min_length == 1 else 'characters'}, found {remaining}",
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
            f"data too long: at most {_plural(definition.max_length, 'character')}, found {len(data)}",
            ai=ai,
            position=position,
            value=data,
        )
    return GS1Error("data does not match the AI's format", ai=ai, position=position, value=data)


def _length_words(definition: AIDefinition) -> str:
    if definition.min_length == definition.max_length:
        return _plural(definition.max_length, "character")
    return f"{definition.min_length} to {definition.max_length} characters"


def validate_value(definition: AIDefinition, data: str, position: int = 0) -> None:
    """Check ``data`` against the AI's components and linters; raise :class:`GS1Error` if wrong."""
    plan = _PLANS[definition.ai]
    match = plan.regex.fullmatch(data)
    if match is None:
        raise _describe_failure(definition, data, position)
    if plan.checks:
        groups = match.groups()
        for index, linters in plan.checks:
            text = groups[index]
            if text is None:
                continue
            for linter in linters:
                reason = linter(text)
                if reason is not None:
                    start = match.start(index + 1)
                    raise GS1Error(reason, ai=definition.ai, position=position + start, value=data)


def _check(entry: _Entry, data: str, position: int) -> None:
    """Validate one AI's data (the memo miss path of the hot loops)."""
    validate_value(entry.definition, data, position)
    memo = entry.memo
    if memo is not None and not (entry.feb29 and "0229" in data):
        if len(memo) >= _CACHE_LIMIT:
            memo.clear()
        memo[data] = None


# -- symbology identifiers ---------------------------------------------------------------------------------


def _case_variants(ident: str) -> set[str]:
    variants = {""}
    for ch in ident:
        variants = {v + c for v in variants for c in {ch, ch.lower(), ch.upper()}}
    return variants


_KNOWN_SYMBOLOGIES: dict[str, tuple[Symbology, tuple[str, ...]]] = {}
"""Each identifier in every case a scanner may send it, with the warnings it implies."""
for _ident, (_name, _is_gs1) in _SYMBOLOGIES.items():
    _notes: tuple[str, ...] = ()
    if not _is_gs1:
        _notes = (
            f"symbology identifier {_ident} means {_name}: the symbol is not a GS1 barcode; "
            "its data was read as GS1 element strings anyway",
        )
    for _variant in _case_variants(_ident):
        _KNOWN_SYMBOLOGIES[_variant] = (Symbology(_ident, _name, _is_gs1), _notes)


def _read_symbology(ident: str) -> tuple[Symbology, tuple[str, ...]]:
    known = _KNOWN_SYMBOLOGIES.get(ident)
    if known is not None:
        return known
    shown = "".join(ch if ch.isprintable() else f"<0x{ord(ch):02X}>" for ch in ident)
    warning = f"unknown symbology identifier {shown!r}: the data was read as GS1 element strings"
    return Symbology(ident, "unknown symbology", False), (warning,)


_LINE_ENDS = frozenset("\r\n")
_DEFAULT_SUBSTITUTES = ("<GS>",)
"""What keyboard-wedge scanners most often send for GS, unless told otherwise."""


@dataclass(frozen=True, slots=True)
class ElementString:
    """A parsed, fully validated GS1 element string."""

    pairs: tuple[tuple[str, str], ...]
    """The ``(AI, data)`` pairs in the order they were carried, every one validated."""
    symbology: Symbology | None = None
    """The symbology identifier the scanner sent, if any."""
    warnings: tuple[str, ...] = ()
    """Things worth a human's attention that do not make the data invalid."""
    raw: Callable[[str], str | None] = field(init=False, repr=False, compare=False)
    """``raw(ai)``: the data of AI ``ai`` as carried, or ``None`` when absent, e.g.
    ``es.raw("10")``. It is the ``get`` of a table from AI to data, so a scanner loop reading
    values pays no Python call for it."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "raw", dict(reversed(self.pairs)).get)  # the first of repeats wins

    # -- parsing -----------------------------------------------------------------------------------------------

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        gs_substitutes: Iterable[str] = _DEFAULT_SUBSTITUTES,
        check_associations: bool = True,
    ) -> ElementString:
        """Parse scanner output or the bracketed human-readable form.

        ``text`` may start with a symbology identifier (any case), may end in CR/LF,
        and may use any of ``gs_substitutes`` in place of the GS separator. Leading,
        trailing and doubled separators are tolerated. ``check_associations=False``
        skips the dictionary's ``req=``/``ex=`` rules (for data that is only part of
        what a pack carries).
        """
        return _parse(cls, text, gs_substitutes, check_associations)

    @classmethod
    def parse_bracketed(cls, text: str, *, check_associations: bool = True) -> ElementString:
        """Parse the human-readable form ``(01)09506000134352(10)ABC`` (``\\(`` is a literal bracket)."""
        if not isinstance(text, str):
            raise GS1Error(f"expected text, found {type(text).__name__}")
        return _parse_bracketed(cls, text, 0, None, (), check_associations)

    @classmethod
    def from_pairs(
        cls, pairs: Iterable[tuple[str, str]], *, check_associations: bool = True
    ) -> ElementString:
        """Build an element string from ``(AI, data)`` pairs, validating each exactly as a parse would."""
        out: list[tuple[str, str]] = []
        fast = _FAST
        for item in pairs:
            try:
                ai, data = item
            except (TypeError, ValueError):
                raise GS1Error(f"expected an (AI, data) pair, found {item!r}") from None
            entry = fast.get(ai) if type(ai) is str else None
            if entry is None:
                raise GS1Error(
                    f"{ai!r} is not an Application Identifier in the GS1 syntax dictionary", ai=str(ai)
                )
            if type(data) is not str:
                raise GS1Error(f"expected the data as text, found {type(data).__name__}", ai=ai)
            if not entry.known(data):
                _check(entry, data, 0)
            out.append((ai, data))
        return _finish(cls, out, None, (), check_associations)

    # -- access ------------------------------------------------------------------------------------------------

    def get(self, ai: str) -> Element | None:
        """The element for ``ai``, or ``None`` when absent."""
        data = self.raw(ai)
        if data is None:
            return None
        return _element((ai, data, AI_TABLE[ai]))

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
        :attr:`raw` never pays for them.
        """
        table = AI_TABLE
        return tuple(Element(ai, raw, table[ai]) for ai, raw in self.pairs)

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


# -- the hot paths -----------------------------------------------------------------------------------------


def _parse(
    cls: type[ElementString], text: str, gs_substitutes: Iterable[str], check_associations: bool
) -> ElementString:
    """:meth:`ElementString.parse` (also called directly by :func:`packtrail.gs1.pack.parse_barcode`)."""
    if type(text) is not str and not isinstance(text, str):
        raise GS1Error(f"expected text, found {type(text).__name__}")
    if text[-1:] in _LINE_ENDS:
        text = text.rstrip("\r\n")
    head = text[:1]
    if head == "]":
        known = _KNOWN_SYMBOLOGIES.get(text[:3])
        symbology, notes = known if known is not None else _read_symbology(text[:3])
        start = 3
        head = text[3:4]
    else:
        symbology = None
        notes = ()
        start = 0
    if gs_substitutes is _DEFAULT_SUBSTITUTES or gs_substitutes == _DEFAULT_SUBSTITUTES:
        if "<GS>" in text:
            text = text[:start] + text[start:].replace("<GS>", GS)
            head = text[start : start + 1]
    elif gs_substitutes:
        if isinstance(gs_substitutes, str):
            gs_substitutes = (gs_substitutes,)
        for substitute in gs_substitutes:
            if substitute and substitute in text:
                text = text[:start] + text[start:].replace(substitute, GS)
        head = text[start : start + 1]
    if head == "(":
        return _parse_bracketed(cls, text, start, symbology, notes, check_associations)
    return _parse_element_string(cls, text, start, symbology, notes, check_associations)


_Setter = Callable[[object, object], None]
_SET_PAIRS: _Setter = getattr(ElementString, "pairs").__set__  # noqa: B009
_SET_SYMBOLOGY: _Setter = getattr(ElementString, "symbology").__set__  # noqa: B009
_SET_WARNINGS: _Setter = getattr(ElementString, "warnings").__set__  # noqa: B009
_SET_RAW: _Setter = getattr(ElementString, "raw").__set__  # noqa: B009


_object_new = object.__new__


def _nothing_found() -> GS1Error:
    return GS1Error("no element strings found: expected an AI such as (01) followed by its data")


def _new(
    cls: type[ElementString],
    pairs: tuple[tuple[str, str], ...],
    symbology: Symbology | None,
    warnings: tuple[str, ...],
    index: dict[str, str],
) -> ElementString:
    """``cls(pairs, symbology, warnings)`` with ``index == dict(pairs)`` at half the cost: the
    frozen dataclass's ``__init__`` goes through ``object.__setattr__`` per field, the slot
    descriptors do not."""
    obj = object.__new__(cls)
    _SET_PAIRS(obj, pairs)
    _SET_SYMBOLOGY(obj, symbology)
    _SET_WARNINGS(obj, warnings)
    _SET_RAW(obj, index.get)
    return obj


def _dedupe(pairs: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[str]]:
    """Drop repeats of an AI with the same data (with a warning); a repeat with other data is an error."""
    kept: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    warnings: list[str] = []
    for ai, data in pairs:
        earlier = seen.get(ai)
        if earlier is None:
            seen[ai] = data
            kept.append((ai, data))
        elif earlier != data:
            raise GS1Error(f"AI ({ai}) appears twice with different data: {earlier!r} and {data!r}", ai=ai)
        else:
            warnings.append(f"AI ({ai}) appears twice with the same data; the repeat was dropped")
    return kept, warnings


def _finish(
    cls: type[ElementString],
    pairs: list[tuple[str, str]],
    symbology: Symbology | None,
    notes: tuple[str, ...],
    check_associations: bool,
) -> ElementString:
    """Drop repeats (a warning; other data for the same AI is an error), then :func:`_done`."""
    index = dict(pairs)
    warnings: list[str] | None = None
    if len(index) != len(pairs):
        _, warnings = _dedupe(pairs)
    return _done(cls, index, symbology, notes, warnings, check_associations)


def _done(
    cls: type[ElementString],
    index: dict[str, str],
    symbology: Symbology | None,
    notes: tuple[str, ...],
    warnings: list[str] | None,
    check_associations: bool,
) -> ElementString:
    """Check the req=/ex= rules, add the warnings, build the value from ``index`` (AI -> data,
    in the order carried, each AI once)."""
    key = tuple(index)
    if check_associations:
        verdict = _LAYOUTS.get(key, _UNKNOWN)
        if verdict is None:  # the common case, :func:`_new` inlined
            obj = _object_new(cls)
            _SET_PAIRS(obj, tuple(index.items()))
            _SET_SYMBOLOGY(obj, symbology)
            _SET_WARNINGS(obj, (*notes, *warnings) if warnings else notes)
            _SET_RAW(obj, index.get)
            return obj
        if verdict is _UNKNOWN:  # never for an empty key, which is not stored
            if not key:
                raise _nothing_found()
            verdict = _judge(key)
    elif not key:
        raise _nothing_found()
    else:
        verdict = _NO_SERIAL if "01" in index and "21" not in index else None
    if verdict is None:
        return _new(cls, tuple(index.items()), symbology, (*notes, *warnings) if warnings else notes, index)
    if verdict is not _NO_SERIAL:
        raise GS1Error(verdict[0], ai=verdict[1])
    all_warnings = [*notes, *(warnings or ())]
    _serial_warnings(index, all_warnings)
    return _new(cls, tuple(index.items()), symbology, tuple(all_warnings), index)


def _repeat(ai: str, earlier: str, data: str, position: int, warnings: list[str] | None) -> list[str]:
    """A repeated AI: dropped with a warning when its data is the same, else an error."""
    if earlier != data:
        raise GS1Error(
            f"AI ({ai}) appears twice with different data: {earlier!r} and {data!r}", ai=ai, position=position
        )
    warnings = warnings if warnings is not None else []
    warnings.append(f"AI ({ai}) appears twice with the same data; the repeat was dropped")
    return warnings


def _parse_element_string(
    cls: type[ElementString],
    text: str,
    pos: int,
    symbology: Symbology | None,
    notes: tuple[str, ...],
    check_associations: bool,
) -> ElementString:
    """Split and validate an element string (from ``pos`` on) in one pass: the scanner hot path."""
    index: dict[str, str] = {}
    warnings: list[str] | None = None
    length = len(text)
    fast = _FAST
    while pos < length:
        entry = fast.get(text[pos : pos + 2])
        if entry is None:
            if text[pos] == GS:
                pos += 1
                continue
            entry = fast.get(text[pos : pos + 3]) or fast.get(text[pos : pos + 4])
            if entry is None:
                raise _unknown_ai(text, pos)
        ai, predefined, max_length, known, _, _, _, size = entry
        start = pos + size
        if predefined:
            pos = start + max_length
            data = text[start:pos]
            if not known(data):  # known data has the full length and no GS
                if pos > length or GS in data:
                    raise _predefined_failure(entry.definition, text, start)
                _check(entry, data, start)
        else:
            pos = text.find(GS, start)
            if pos < 0:
                pos = length
            data = text[start:pos]
            if not known(data):  # known data is never too long
                if pos - start > max_length:
                    raise GS1Error(
                        f"data too long: at most {_plural(max_length, 'character')}, found {pos - start}; "
                        "is a GS separator missing after it?",
                        ai=ai,
                        position=start,
                        value=data,
                    )
                _check(entry, data, start)
            pos += 1  # past the GS (or the end): a doubled GS is skipped at the top of the loop
        if ai in index:
            warnings = _repeat(ai, index[ai], data, start, warnings)
        else:
            index[ai] = data
    return _done(cls, index, symbology, notes, warnings, check_associations)


def _parse_bracketed(
    cls: type[ElementString],
    text: str,
    offset: int,
    symbology: Symbology | None,
    notes: tuple[str, ...],
    check_associations: bool,
) -> ElementString:
    """Split the bracketed form (from ``offset`` on) at each ``(``, validating as it goes.

    Without a backslash in the text no bracket can be escaped, and a plain loop does; on any
    problem, or with escapes, :func:`_parse_bracketed_carefully` takes over and places the error.
    """
    body = text[offset:] if offset else text
    if "\\" in body:
        return _parse_bracketed_carefully(cls, body, offset, symbology, notes, check_associations)
    parts = body.split("(")
    if parts[0]:
        raise GS1Error("expected an AI in brackets such as (01)", position=offset, value=body[:8])
    del parts[0]
    index: dict[str, str] = {}
    known = _KNOWN
    for part in parts:
        ai, bracket, data = part.partition(")")
        test = known.get(ai)
        if test is None or not bracket or ai in index or not test(data):
            break
        index[ai] = data
    else:
        return _done(cls, index, symbology, notes, None, check_associations)
    return _parse_bracketed_carefully(cls, body, offset, symbology, notes, check_associations)


def _parse_bracketed_carefully(
    cls: type[ElementString],
    body: str,
    offset: int,
    symbology: Symbology | None,
    notes: tuple[str, ...],
    check_associations: bool,
) -> ElementString:
    """Split the bracketed form at each ``(`` not escaped as ``\\(``, validating as it goes and
    placing any error in the text."""
    parts = body.split("(")
    if parts[0]:
        raise GS1Error("expected an AI in brackets such as (01)", position=offset, value=body[:8])
    pairs: list[tuple[str, str]] = []
    append = pairs.append
    fast = _FAST
    cursor = offset + 1  # where parts[i] starts in the text
    i = 1
    count = len(parts)
    while i < count:
        part = parts[i]
        part_start = cursor
        cursor += len(part) + 1
        i += 1
        while part[-1:] == "\\" and i < count:  # "\\(" is a bracket in the data: glue it back
            part = part[:-1] + "(" + parts[i]
            cursor += len(parts[i]) + 1
            i += 1
        ai, bracket, data = part.partition(")")
        entry = fast.get(ai)
        if entry is None or not bracket:
            raise _bad_bracketed_ai(ai, bracket, part_start - 1, body, offset)
        if not entry.known(data):
            _check(entry, data, part_start + len(ai) + 1)
        append((ai, data))
    return _finish(cls, pairs, symbology, notes, check_associations)


def _bad_bracketed_ai(ai: str, bracket: str, position: int, body: str, offset: int) -> GS1Error:
    if bracket and 2 <= len(ai) <= 4 and ai.isascii() and ai.isdigit():
        return GS1Error(
            f"({ai}) is not an Application Identifier in the GS1 syntax dictionary", ai=ai, position=position
        )
    local = position - offset
    return GS1Error(
        "expected an AI in brackets such as (01)", position=position, value=body[local : local + 8]
    )


def _predefined_failure(definition: AIDefinition, text: str, start: int) -> GS1Error:
    data = text[start : start + definition.max_length]
    if GS in data:
        return GS1Error(
            f"a separator (GS) interrupts the data, which has a predefined length of "
            f"{definition.max_length} characters",
            ai=definition.ai,
            position=start + data.index(GS),
            value=data.replace(GS, "<GS>"),
        )
    return GS1Error(
        f"data too short: expected {definition.max_length} characters, found {len(text) - start}",
        ai=definition.ai,
        position=start,
        value=text[start:],
    )


def _unknown_ai(text: str, pos: int) -> GS1Error:
    head = text[pos : pos + 4]
    shown = "".join(ch if ch.isprintable() else f"<0x{ord(ch):02X}>" for ch in head)
    if not (head[:2].isascii() and head[:2].isdigit()):
        return GS1Error(f"expected an Application Identifier (digits), found {shown!r}", position=pos)
    return GS1Error(
        f"no Application Identifier in the GS1 syntax dictionary starts with {shown!r}", position=pos
    )


# -- associations ------------------------------------------------------------------------------------------


def _present(pattern: str, ais: Iterable[str]) -> bool:
    if "n" not in pattern:
        return pattern in ais
    return any(pattern_matches(pattern, ai) for ai in ais)


def _judge(key: tuple[str, ...]) -> tuple[str, str] | None:
    """The verdict on a sequence of AIs (see :data:`_LAYOUTS`), remembered."""
    verdict = _association_problem(key)
    if verdict is None and "01" in key and "21" not in key:
        verdict = _NO_SERIAL
    if len(_LAYOUTS) >= _CACHE_LIMIT:
        _LAYOUTS.clear()
    _LAYOUTS[key] = verdict
    return verdict


def _association_problem(ais: tuple[str, ...]) -> tuple[str, str] | None:
    """The first broken ``req=``/``ex=`` rule as (reason, AI), or ``None`` when every rule holds.

    An AI is not exclusive of itself even when it matches an ``ex=`` pattern (dictionary header).
    """
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
