"""Hypothesis strategies for valid GS1 data, derived from the GS1 Barcode Syntax Dictionary.

Nothing about an AI is written here by hand: each AI's data is built component by
component from :data:`packtrail.gs1.dictionary.AI_TABLE` (character set, length, whether
it may be left out) and made to pass the component's linters (check digits, real dates
and times, ISO codes drawn from the same code lists the linters read, coupon structures,
IBANs). The ``req=``/``ex=`` association rules are implemented here independently of
packtrail, so tests can both generate valid AI combinations and check packtrail's verdicts.

Reusable by any test::

    from strategies import ai_data, element_pairs  # tests/ is on sys.path under pytest

    @given(element_pairs())
    def test_round_trip(pairs): ...

Public strategies: :func:`component_text`, :func:`ai_data`, :func:`ai_sets`,
:func:`element_pairs`, :func:`digital_link_pairs`; helpers :func:`association_problems`
and :data:`UNSUPPORTED` (linter combinations with no generator: must stay empty).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from datetime import date
from functools import cache
from importlib import resources

from hypothesis import assume
from hypothesis import strategies as st

from packtrail.gs1.checkdigit import CSET82, check_character_pair, gs1_check_digit
from packtrail.gs1.dictionary import AI_TABLE, Component, pattern_matches

__all__ = [
    "CHARSETS",
    "CSET39",
    "CSET64",
    "CSET82",
    "UNSUPPORTED",
    "ai_data",
    "ai_sets",
    "association_problems",
    "component_text",
    "digital_link_pairs",
    "element_pairs",
]

CSET39 = "#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""GS1 character set 39 (AI 8010 CPID)."""
CSET64 = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
"""GS1 character set 64, file-safe base64 (AI 8030), without the '=' padding."""
CHARSETS = {"N": string.digits, "X": CSET82, "Y": CSET39, "Z": CSET64}

ALL_AIS: tuple[str, ...] = tuple(sorted(AI_TABLE))


def _codes(name: str) -> list[str]:
    """A linter code list, as vendored with packtrail (the same file the linter reads)."""
    text = resources.files("packtrail.gs1").joinpath(f"data/{name}").read_text("utf-8")
    return sorted(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


ISO3166_NUMERIC = _codes("linter-iso3166-numeric.txt")
ISO3166_ALPHA2 = _codes("linter-iso3166-alpha2.txt")
ISO4217_NUMERIC = _codes("linter-iso4217-numeric.txt")
PACKAGE_TYPES = _codes("linter-packagetype.txt")
MEDIA_TYPES = _codes("linter-mediatype.txt")


# -- plain text -------------------------------------------------------------------------------------------


def text_of(alphabet: str, min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(alphabet), min_size=min_size, max_size=max_size)


def _digits(n: int) -> st.SearchStrategy[str]:
    return text_of(string.digits, n, n)


# -- dates and times ---------------------------------------------------------------------------------------

# Years whose two digits map to the same century under the GS1 50-year window for decades
# around the time these tests run (2000-2049: from 1976 to 2049 they stay in this century).
_YYMMDD_DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2049, 12, 31))


def _yymmdd(day_zero: bool) -> st.SearchStrategy[str]:
    exact = _YYMMDD_DATES.map(lambda d: d.strftime("%y%m%d"))
    if not day_zero:
        return exact
    end_of_month = _YYMMDD_DATES.map(lambda d: d.strftime("%y%m") + "00")
    return st.one_of(exact, end_of_month)


_YYYYMMDD = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)).map(
    lambda d: d.strftime("%Y%m%d")
)


def _two(high: int) -> st.SearchStrategy[str]:
    return st.integers(0, high).map(lambda n: f"{n:02d}")


# -- check characters --------------------------------------------------------------------------------------


def _csum(length: int) -> st.SearchStrategy[str]:
    return _digits(length - 1).map(lambda body: body + gs1_check_digit(body))


def _csumalpha(component: Component, need_letter: bool) -> st.SearchStrategy[str]:
    """GMN / MUDI: a GS1 Company Prefix (4+ digits), more CSET 82, then the check character pair."""
    high = min(component.max_length - 2, 23)

    @st.composite
    def build(draw: st.DrawFn) -> str:
        body = draw(_digits(4)) + draw(text_of(CSET82, 1 if need_letter else 0, high - 4))
        if need_letter:
            index = draw(st.integers(4, len(body) - 1))
            body = body[:index] + draw(st.sampled_from(string.ascii_letters)) + body[index + 1 :]
        return body + check_character_pair(body)

    return build()


# -- structures --------------------------------------------------------------------------------------------

_IBAN_VALUE = {c: i for i, c in enumerate(string.digits + string.ascii_uppercase)}


def _mod97(text: str) -> int:
    return int("".join(str(_IBAN_VALUE[c]) for c in text)) % 97


@st.composite
def _iban(draw: st.DrawFn) -> str:
    """ISO 13616: country, two check digits (98 - mod 97 of BBAN + country + 00), BBAN."""
    country = draw(st.sampled_from([c for c in ISO3166_ALPHA2 if c.isalpha() and c.isupper()]))
    bban = draw(text_of(string.digits + string.ascii_uppercase, 7, 30))
    check = 98 - _mod97(bban + country + "00")
    return f"{country}{check:02d}{bban}"


@st.composite
def _pcenc(draw: st.DrawFn, min_size: int, max_size: int) -> str:
    """CSET 82 text in which every '%' starts a percent-encoding (%HH)."""
    plain = CSET82.replace("%", "")
    tokens = draw(
        st.lists(
            st.one_of(st.sampled_from(plain), text_of("0123456789ABCDEFabcdef", 2, 2).map(lambda h: "%" + h)),
            min_size=1,
            max_size=max_size,
        )
    )
    out = ""
    for token in tokens:
        if len(out) + len(token) > max_size:
            break
        out += token
    return out.ljust(min_size, "A")


@st.composite
def _piece_of_total(draw: st.DrawFn, length: int) -> str:
    half = length // 2
    total = draw(st.integers(1, 10**half - 1))
    piece = draw(st.integers(1, total))
    return f"{piece:0{half}d}{total:0{half}d}"


@st.composite
def _position_in_sequence(draw: st.DrawFn) -> str:
    end = draw(st.integers(1, 9))
    return f"{draw(st.integers(1, end))}/{end}"


@st.composite
def _cset64(draw: st.DrawFn, min_size: int, max_size: int) -> str:
    """Base64url text; sometimes '=' padding, which GS1's linter allows (one or two '=') when the
    whole length is a multiple of three."""
    body = draw(text_of(CSET64, min_size, max_size))
    pads = (3 - len(body) % 3) % 3
    if pads and len(body) + pads <= max_size and draw(st.booleans()):
        body += "=" * pads
    return body


@st.composite
def _coupon_purchase(draw: st.DrawFn) -> str:
    length = draw(st.integers(1, 5))
    return str(length) + draw(_digits(length)) + draw(st.sampled_from("012349")) + draw(_digits(3))


@st.composite
def _coupon_gcp(draw: st.DrawFn, indicators: str) -> str:
    indicator = draw(st.sampled_from(indicators))
    return indicator if indicator == "9" else indicator + draw(_digits(int(indicator) + 6))


@st.composite
def _couponcode(draw: st.DrawFn) -> str:
    """North American coupon code (AI 8110): the mandatory fields, then optional fields 1-9 in
    order, each kept when it still fits the 70 characters of the AI."""
    out = draw(_coupon_gcp("0123456")) + draw(_digits(6))
    save = draw(st.integers(1, 5))
    out += str(save) + draw(_digits(save)) + draw(_coupon_purchase())
    start, expiry = sorted(
        draw(st.lists(st.dates(date(2021, 1, 1), date(2039, 12, 31)), min_size=2, max_size=2))
    )
    serial = draw(st.integers(0, 9))
    retailer = draw(st.integers(1, 7))
    optional = [
        "1" + draw(st.sampled_from("0123")) + draw(_coupon_purchase()) + draw(_coupon_gcp("01234569")),
        "2" + draw(_coupon_purchase()) + draw(_coupon_gcp("01234569")),
        "3" + expiry.strftime("%y%m%d"),
        "4" + start.strftime("%y%m%d"),
        "5" + str(serial) + draw(_digits(serial + 6)),
        "6" + str(retailer) + draw(_digits(retailer + 6)),
        "9"
        + draw(st.sampled_from("01256"))
        + draw(st.sampled_from("012"))
        + draw(_digits(1))
        + draw(st.sampled_from("01")),
    ]
    for field in optional:
        if draw(st.booleans()) and len(out) + len(field) <= 70:
            out += field
    return out


@st.composite
def _couponposoffer(draw: st.DrawFn) -> str:
    """Positive offer file coupon code (AI 8112)."""
    funder = draw(st.integers(0, 6))
    serial = draw(st.integers(0, 9))
    return (
        draw(st.sampled_from("01"))
        + str(funder)
        + draw(_digits(funder + 6))
        + draw(_digits(6))
        + str(serial)
        + draw(_digits(serial + 6))
    )


# -- components --------------------------------------------------------------------------------------------


def _with_gcp(component: Component) -> st.SearchStrategy[str]:
    """A GS1 Company Prefix (at least four digits) at the start, then the component's characters."""
    return st.tuples(_digits(4), text_of(CHARSETS[component.charset], 0, component.max_length - 4)).map(
        "".join
    )


_Builder = Callable[[Component], st.SearchStrategy[str]]

_BY_LINTERS: dict[tuple[str, ...], _Builder] = {
    ("csum",): lambda c: _csum(c.max_length),
    ("csum", "gcppos1"): lambda c: _csum(c.max_length),
    ("csum", "gcppos2"): lambda c: _csum(c.max_length),
    ("gcppos1",): _with_gcp,
    ("csumalpha", "gcppos1"): lambda c: _csumalpha(c, need_letter=False),
    ("csumalpha", "gcppos1", "hasnondigit"): lambda c: _csumalpha(c, need_letter=True),
    ("yymmd0",): lambda c: _yymmdd(day_zero=True),
    ("yymmdd",): lambda c: _yymmdd(day_zero=False),
    ("yyyymmdd",): lambda c: _YYYYMMDD,
    ("hh",): lambda c: _two(23),
    ("mi",): lambda c: _two(59),
    ("ss",): lambda c: _two(59),
    ("hhmi",): lambda c: st.tuples(_two(23), _two(59)).map("".join),
    ("iso3166",): lambda c: st.sampled_from(ISO3166_NUMERIC),
    ("iso3166999",): lambda c: st.sampled_from([*ISO3166_NUMERIC, "999"]),
    ("iso3166alpha2",): lambda c: st.sampled_from(ISO3166_ALPHA2),
    ("iso4217",): lambda c: st.sampled_from(ISO4217_NUMERIC),
    ("packagetype",): lambda c: st.sampled_from(PACKAGE_TYPES),
    ("mediatype",): lambda c: st.sampled_from(MEDIA_TYPES),
    ("yesno",): lambda c: st.sampled_from("01"),
    ("winding",): lambda c: st.sampled_from("019"),
    ("iso5218",): lambda c: st.sampled_from("0129"),
    ("importeridx",): lambda c: st.sampled_from(string.digits + string.ascii_letters + "-_"),
    ("zero",): lambda c: st.just("0" * c.max_length),
    ("nonzero",): lambda c: _digits(c.max_length).map(lambda s: s if s.strip("0") else s[:-1] + "1"),
    ("nozeroprefix",): lambda c: st.tuples(st.sampled_from("123456789"), _digits_up_to(c.max_length - 1)).map(
        "".join
    ),
    ("hyphen",): lambda c: st.just("-" * c.max_length),
    ("latitude",): lambda c: st.integers(0, 1_800_000_000).map(lambda n: f"{n:010d}"),
    ("longitude",): lambda c: st.integers(0, 3_600_000_000).map(lambda n: f"{n:010d}"),
    ("pieceoftotal",): lambda c: _piece_of_total(c.max_length),
    ("posinseqslash",): lambda c: _position_in_sequence(),
    ("pcenc",): lambda c: _pcenc(c.min_length, c.max_length),
    ("iban",): lambda c: _iban(),
    ("couponcode",): lambda c: _couponcode(),
    ("couponposoffer",): lambda c: _couponposoffer(),
}


def _digits_up_to(n: int) -> st.SearchStrategy[str]:
    return text_of(string.digits, 0, n)


def component_text(component: Component) -> st.SearchStrategy[str]:
    """Valid text for one component: its character set and length, passing its linters."""
    if component.linters:
        builder = _BY_LINTERS.get(component.linters)
        if builder is None:
            raise KeyError(f"no generator for linters {component.linters}")
        return builder(component)
    if component.charset == "Z":
        return _cset64(component.min_length, component.max_length)
    return text_of(CHARSETS[component.charset], component.min_length, component.max_length)


UNSUPPORTED: frozenset[tuple[str, tuple[str, ...]]] = frozenset(
    (ai, c.linters)
    for ai, d in AI_TABLE.items()
    for c in d.components
    if c.linters and c.linters not in _BY_LINTERS
)
"""(AI, linters) whose combination of linters has no generator here; a test keeps it empty."""


@cache
def ai_data(ai: str) -> st.SearchStrategy[str]:
    """Valid data for ``ai``: every mandatory component, then the first k optional ones."""
    components = AI_TABLE[ai].components
    mandatory = [c for c in components if not c.optional]
    optional = [c for c in components if c.optional]

    @st.composite
    def build(draw: st.DrawFn) -> str:
        used = mandatory + optional[: draw(st.integers(0, len(optional)))]
        return "".join(draw(component_text(c)) for c in used)

    return build()


# -- associations (req= / ex=), implemented independently of packtrail ----------------------------------


@cache
def _matching(pattern: str) -> tuple[str, ...]:
    return tuple(ai for ai in ALL_AIS if pattern_matches(pattern, ai))


def _present(pattern: str, ais: Sequence[str]) -> bool:
    return any(pattern_matches(pattern, ai) for ai in ais)


def association_problems(ais: Sequence[str]) -> list[str]:
    """Every broken rule for the AIs present together (empty: the combination is valid).

    Each ``req=`` attribute is one rule: one of its comma-separated groups must be present
    in full (``+`` joins AIs of a group). ``ex=`` lists AIs that must not be present; an AI
    never excludes itself, even when it matches a pattern.
    """
    problems = []
    for ai in ais:
        definition = AI_TABLE[ai]
        for rule in definition.requires:
            if not any(all(_present(p, ais) for p in group) for group in rule):
                problems.append(f"{ai} requires {rule}")
        for pattern in definition.excludes:
            for other in ais:
                if other != ai and pattern_matches(pattern, other):
                    problems.append(f"{ai} excludes {other}")
    return problems


def _excluded(candidate: str, ais: Sequence[str]) -> bool:
    for ai in ais:
        if ai == candidate:
            continue
        if any(pattern_matches(p, candidate) for p in AI_TABLE[ai].excludes):
            return True
        if any(pattern_matches(p, ai) for p in AI_TABLE[candidate].excludes):
            return True
    return False


@st.composite
def ai_sets(
    draw: st.DrawFn, seeds: st.SearchStrategy[str] | None = None, max_seeds: int = 3
) -> tuple[str, ...]:
    """Distinct AIs that may appear together: a few seeds, then whatever their ``req=`` rules
    need, picked among the alternatives (and AIs matching a pattern) that exclude nothing there."""
    seed_strategy = seeds if seeds is not None else st.sampled_from(ALL_AIS)
    chosen: list[str] = []
    for seed in draw(st.lists(seed_strategy, min_size=1, max_size=max_seeds, unique=True)):
        if not _excluded(seed, chosen):
            chosen.append(seed)
    for _ in range(8):
        changed = False
        for ai in list(chosen):
            for rule in AI_TABLE[ai].requires:
                if any(all(_present(p, chosen) for p in group) for group in rule):
                    continue
                options = []
                for group in rule:
                    picks = []
                    for pattern in group:
                        if _present(pattern, chosen):
                            continue
                        candidates = [c for c in _matching(pattern) if not _excluded(c, chosen)]
                        if not candidates:
                            break
                        picks.append(candidates)
                    else:
                        options.append(picks)
                assume(options)
                for candidates in draw(st.sampled_from(options)):
                    pick = draw(st.sampled_from(candidates))
                    if not _excluded(pick, chosen):
                        chosen.append(pick)
                changed = True
        if not changed:
            break
    assume(not association_problems(chosen))
    return tuple(draw(st.permutations(chosen)))


@st.composite
def element_pairs(draw: st.DrawFn, seeds: st.SearchStrategy[str] | None = None) -> list[tuple[str, str]]:
    """(AI, data) pairs that form a valid element string: valid data, valid AI combination."""
    ais = draw(ai_sets(seeds))
    return [(ai, draw(ai_data(ai))) for ai in ais]


PRIMARY_KEYS: tuple[str, ...] = tuple(ai for ai in ALL_AIS if AI_TABLE[ai].dl_primary_key)
DL_ATTRIBUTES: tuple[str, ...] = tuple(ai for ai in ALL_AIS if AI_TABLE[ai].dl_data_attribute)


@st.composite
def digital_link_pairs(draw: st.DrawFn) -> list[tuple[str, str]]:
    """Pairs a GS1 Digital Link URI can carry: a primary key first, an in-order subset of one of
    its qualifier sequences, and data attributes, the whole a valid AI combination."""
    primary = draw(st.sampled_from(PRIMARY_KEYS))
    sequences = AI_TABLE[primary].dl_qualifier_sequences
    qualifiers: list[str] = []
    if sequences:
        sequence = draw(st.sampled_from(sequences))
        qualifiers = [q for q in sequence if draw(st.booleans())]
    seeds = st.sampled_from(DL_ATTRIBUTES)
    extra = draw(st.lists(seeds, max_size=2, unique=True))
    ais = [primary, *qualifiers, *(a for a in extra if a not in qualifiers and a != primary)]
    assume(not any(_excluded(ai, ais[:i]) for i, ai in enumerate(ais)))
    # Complete the req= rules with data attributes only (a qualifier cannot join the query).
    for _ in range(8):
        missing = False
        for ai in list(ais):
            for rule in AI_TABLE[ai].requires:
                if any(all(_present(p, ais) for p in group) for group in rule):
                    continue
                missing = True
                options = [
                    [c for c in _matching(p) if c in DL_ATTRIBUTES and not _excluded(c, ais)]
                    for group in rule
                    for p in group
                    if len(group) == 1
                ]
                options = [o for o in options if o]
                assume(options)
                ais.append(draw(st.sampled_from(draw(st.sampled_from(options)))))
        if not missing:
            break
    assume(not association_problems(ais))
    assume(len(set(ais)) == len(ais))
    return [(ai, draw(ai_data(ai))) for ai in ais]
