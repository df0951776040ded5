"""The GS1 Barcode Syntax Dictionary, compiled into lookup tables.

GS1 publishes one machine-readable table of every Application Identifier (AI):
its data format split into components, the linters that check each component,
whether it needs an FNC1 separator, which AIs it must or must not appear with,
and its role in GS1 Digital Link URIs. packtrail vendors the tagged release
(``data/gs1-syntax-dictionary.txt``, Apache-2.0) and compiles it once, at import,
into :data:`AI_TABLE`. Nothing about an AI is written by hand anywhere else.

>>> from packtrail.gs1.dictionary import AI_TABLE, lookup_ai
>>> gtin = AI_TABLE["01"]
>>> gtin.title, gtin.min_length, gtin.max_length, gtin.predefined_length
('GTIN', 14, 14, True)
>>> gtin.components[0].linters
('csum', 'gcppos2')
>>> AI_TABLE["21"].max_length, AI_TABLE["21"].predefined_length
(20, False)
>>> AI_TABLE["3103"].decimal_places
3
>>> lookup_ai("17270131") is AI_TABLE["17"]
True
>>> AI_TABLE["01"].dl_qualifier_sequences
(('22', '10', '21'), ('235',))
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "AI_TABLE",
    "DICTIONARY_RELEASE",
    "AIDefinition",
    "Component",
    "lookup_ai",
    "pattern_matches",
]


@dataclass(frozen=True, slots=True)
class Component:
    """One component of an AI's data field, e.g. ``N14,csum,gcppos2``."""

    charset: str
    """``N`` digits, ``X`` GS1 character set 82, ``Y`` character set 39, ``Z`` base64url (set 64)."""
    min_length: int
    """Fewest characters the component may have."""
    max_length: int
    """Most characters the component may have (equal to ``min_length`` when fixed)."""
    optional: bool
    """True for a component written in brackets: it may be left out at the end of the data."""
    linters: tuple[str, ...]
    """Names of the GS1 Barcode Syntax Tests that check this component's content."""


@dataclass(frozen=True, slots=True)
class AIDefinition:
    """Everything the dictionary says about one Application Identifier."""

    ai: str
    """The Application Identifier, two to four digits, e.g. ``"01"`` or ``"3103"``."""
    title: str
    """GS1's short data title, e.g. ``"GTIN"`` or ``"BATCH/LOT"``."""
    components: tuple[Component, ...]
    """The data field's components, in order."""
    predefined_length: bool
    """True when the AI has a predefined length and never needs an FNC1 separator after it."""
    dl_data_attribute: bool
    """True when the AI may appear as a GS1 Digital Link data attribute (query parameter)."""
    requires: tuple[tuple[tuple[str, ...], ...], ...]
    """Mandatory associations: each entry is one ``req=`` rule, a tuple of alternatives, each
    alternative a tuple of AI patterns that must all be present (``01+21``)."""
    excludes: tuple[str, ...]
    """AI patterns that must not appear together with this AI."""
    dl_primary_key: bool
    """True when the AI is a GS1 Digital Link primary key."""
    dl_qualifier_sequences: tuple[tuple[str, ...], ...]
    """For a primary key, the ordered sequences of key qualifiers it accepts."""
    min_length: int
    """Fewest data characters (the sum of the mandatory components)."""
    max_length: int
    """Most data characters."""
    decimal_places: int | None
    """For measure, amount, price and percentage AIs (31nn-36nn, 390n-395n), the implied
    decimal point position: the AI's last digit. ``None`` for every other AI."""

    @property
    def fixed_length(self) -> bool:
        """True when the data always has exactly ``max_length`` characters."""
        return self.min_length == self.max_length


_FLAG_CHARS = set("*!?\"$%&'()+,-./:;<=>@[\\]^_`{|}~")
_COMPONENT = re.compile(r"^(\[)?([NXYZ])(\d+)?(?:\.\.(\d+))?(\])?((?:,\w+)*)$")
_DECIMAL_AI = re.compile(r"^(3[1-6]\d\d|39[0-5]\d)$")

DICTIONARY_RELEASE: str = ""
"""The release date of the vendored dictionary, e.g. ``"2026-01-27"``."""


def _expand_range(spec: str) -> list[str]:
    if "-" not in spec:
        return [spec]
    first, last = spec.split("-")
    width = len(first)
    return [str(n).zfill(width) for n in range(int(first), int(last) + 1)]


def _parse_component(token: str, line: str) -> Component:
    match = _COMPONENT.match(token)
    if match is None:
        raise ValueError(f"syntax dictionary: cannot read component {token!r} in line {line!r}")
    opening, charset, fixed, upper, closing, linters = match.groups()
    if bool(opening) != bool(closing):
        raise ValueError(f"syntax dictionary: unbalanced brackets in {token!r}")
    if upper is not None:
        low, high = 1, int(upper)
    elif fixed is not None:
        low = high = int(fixed)
    else:
        raise ValueError(f"syntax dictionary: component {token!r} has no length")
    names = tuple(n for n in linters.split(",") if n)
    return Component(charset=charset, min_length=low, max_length=high, optional=bool(opening), linters=names)


def _parse_line(line: str) -> list[AIDefinition]:
    body, _, title = line.partition("#")
    tokens = body.split()
    ais = _expand_range(tokens[0])
    rest = tokens[1:]
    flags = ""
    if rest and all(c in _FLAG_CHARS for c in rest[0]):
        flags = rest.pop(0)
    components: list[Component] = []
    requires: list[tuple[tuple[str, ...], ...]] = []
    excludes: list[str] = []
    dl_primary_key = False
    qualifier_sequences: tuple[tuple[str, ...], ...] = ()
    for token in rest:
        if token.startswith("req="):
            alternatives = tuple(tuple(group.split("+")) for group in token[4:].split(","))
            requires.append(alternatives)
        elif token.startswith("ex="):
            excludes.extend(token[3:].split(","))
        elif token == "dlpkey" or token.startswith("dlpkey="):
            dl_primary_key = True
            if "=" in token:
                qualifier_sequences = tuple(tuple(seq.split(",")) for seq in token[7:].split("|"))
        elif "=" in token:
            raise ValueError(f"syntax dictionary: unknown attribute {token!r} in line {line!r}")
        else:
            components.append(_parse_component(token, line))
    _check_layout(components, line)
    min_length = sum(c.min_length for c in components if not c.optional)
    max_length = sum(c.max_length for c in components)
    definitions = []
    for ai in ais:
        definitions.append(
            AIDefinition(
                ai=ai,
                title=title.strip(),
                components=tuple(components),
                predefined_length="*" in flags,
                dl_data_attribute="?" in flags,
                requires=tuple(requires),
                excludes=tuple(excludes),
                dl_primary_key=dl_primary_key,
                dl_qualifier_sequences=qualifier_sequences,
                min_length=min_length,
                max_length=max_length,
                decimal_places=int(ai[-1]) if _DECIMAL_AI.match(ai) else None,
            )
        )
    return definitions


def _check_layout(components: list[Component], line: str) -> None:
    """The two rules of the dictionary's syntax that let a component be found by position: only
    the final component may have variable length; no mandatory component follows an optional one."""
    if not components:
        raise ValueError(f"syntax dictionary: no components in line {line!r}")
    for component in components[:-1]:
        if component.min_length != component.max_length:
            raise ValueError(f"syntax dictionary: a variable-length component is not the last in {line!r}")
    seen_optional = False
    for component in components:
        if component.optional:
            seen_optional = True
        elif seen_optional:
            raise ValueError(f"syntax dictionary: a mandatory component follows an optional one in {line!r}")


def _load() -> dict[str, AIDefinition]:
    global DICTIONARY_RELEASE
    text = resources.files("packtrail.gs1").joinpath("data/gs1-syntax-dictionary.txt").read_text("utf-8")
    table: dict[str, AIDefinition] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("# Release:"):
            DICTIONARY_RELEASE = line.split(":", 1)[1].strip()
        if not line or line.startswith("#"):
            continue
        for definition in _parse_line(line):
            table[definition.ai] = definition
    return table


AI_TABLE: dict[str, AIDefinition] = _load()
"""Every Application Identifier in the dictionary, ranges expanded (``"3100"`` … ``"3105"``)."""


def lookup_ai(data: str, position: int = 0) -> AIDefinition | None:
    """Return the AI that ``data`` starts with at ``position``, or ``None``.

    GS1 AIs form a prefix-free code, so at most one of the 2-, 3- and 4-digit
    prefixes is an AI.
    """
    table = AI_TABLE
    return (
        table.get(data[position : position + 2])
        or table.get(data[position : position + 3])
        or table.get(data[position : position + 4])
    )


def pattern_matches(pattern: str, ai: str) -> bool:
    """True when ``ai`` matches a dictionary AI pattern such as ``"31nn"`` or ``"394n"`` (``n`` = any digit)."""
    if len(pattern) != len(ai):
        return False
    return all(p == "n" or p == a for p, a in zip(pattern, ai, strict=True))


def _check_prefix_free() -> None:
    keys = set(AI_TABLE)
    for ai in keys:
        for cut in range(2, len(ai)):
            if ai[:cut] in keys:
                raise ValueError(f"syntax dictionary: AI {ai[:cut]} is a prefix of AI {ai}")


_check_prefix_free()
