"""CBV 2.0 vocabularies, and one form for every value of an EPCIS event.

The Core Business Vocabulary (CBV) names the business step, the disposition,
the kinds of business transaction, source and destination, error reasons,
sensor measurement and alert types and coordinate components. Each value can be
written three ways, and EPCIS documents in the wild use all of them:

>>> from packtrail.epcis.vocabulary import to_bare, to_urn, to_web_uri, is_known
>>> to_bare("bizStep", "urn:epcglobal:cbv:bizstep:shipping")
'shipping'
>>> to_urn("bizStep", "shipping")
'urn:epcglobal:cbv:bizstep:shipping'
>>> to_web_uri("bizStep", "shipping")
'https://ref.gs1.org/cbv/BizStep-shipping'

The URN's category word and the Web URI's prefix differ per vocabulary:

>>> to_urn("disposition", "in_transit"), to_web_uri("disposition", "in_transit")
('urn:epcglobal:cbv:disp:in_transit', 'https://ref.gs1.org/cbv/Disp-in_transit')
>>> to_urn("bizTransactionType", "po"), to_urn("sourceDestType", "owning_party")
('urn:epcglobal:cbv:btt:po', 'urn:epcglobal:cbv:sdt:owning_party')
>>> to_web_uri("errorReason", "urn:epcglobal:cbv:er:incorrect_data")
'https://ref.gs1.org/cbv/ER-incorrect_data'

Sensor measurement and alert types come from the GS1 Web Vocabulary and have
no URN: their "URN" form is the compact ``gs1:`` name EPCIS XML writes:

>>> to_web_uri("measurementType", "Temperature"), to_urn("measurementType", "Temperature")
('https://gs1.org/voc/Temperature', 'gs1:Temperature')
>>> to_bare("sensorAlertType", "gs1:ALARM_CONDITION")
'ALARM_CONDITION'

A value that is no CBV term (a company's own URI) passes through unchanged:

>>> to_bare("bizStep", "https://example.com/bizstep/summarising")
'https://example.com/bizstep/summarising'
>>> is_known("bizStep", "shipping"), is_known("bizStep", "in_transit")
(True, False)

One call brings a whole event to one form, CBV values and identifiers alike
(EPC URNs and GS1 Digital Link URIs are converted through :mod:`packtrail.gs1`):

>>> from packtrail.epcis.vocabulary import normalise_event
>>> event = {"type": "ObjectEvent", "bizStep": "urn:epcglobal:cbv:bizstep:shipping",
...          "epcList": ["https://id.gs1.org/01/00614141123452/21/2017"],
...          "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"}}
>>> normalise_event(event, cbv="bare", epc="urn")
{'type': 'ObjectEvent', 'bizStep': 'shipping', 'epcList': ['urn:epc:id:sgtin:0614141.012345.2017'], \
'readPoint': {'id': 'urn:epc:id:sgln:0614141.07346.1234'}}
>>> normalise_event(event, cbv="web", epc="dl")["readPoint"]
{'id': 'https://id.gs1.org/414/0614141073467/254/1234'}

The terms come from GS1's JSON-LD contexts for each code list (vendored under
``data/cbv/``, see ``data/NOTICE.md``); the URN forms are those of CBV 2.0
section 6 and the ``owl:sameAs`` links of GS1's CBV ontology.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final, Literal, TypeAlias

import orjson

from packtrail.gs1.digital_link import DigitalLink
from packtrail.gs1.epc import (
    SGTIN,
    SGTINPattern,
    epc_from_ai_pairs,
    gtin_serial_from_sgtin,
    parse_epc_uri,
    sgtin_from_gtin_serial,
)
from packtrail.gs1.errors import GS1Error

__all__ = [
    "VOCABULARIES",
    "CBVForm",
    "EPCForm",
    "Vocabulary",
    "is_known",
    "normalise_event",
    "terms",
    "to_bare",
    "to_compact",
    "to_digital_link",
    "to_epc_urn",
    "to_urn",
    "to_web_uri",
    "vocabulary",
]

CBVForm: TypeAlias = Literal["bare", "urn", "web", "keep"]
"""How :func:`normalise_event` writes CBV values: bare word, URN, GS1 Web URI, or as found."""
EPCForm: TypeAlias = Literal["urn", "dl", "keep"]
"""How :func:`normalise_event` writes identifiers: EPC URN, GS1 Digital Link URI, or as found."""


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """One CBV code list and the three ways of writing its terms."""

    name: str
    """The name used in this module, after the JSON Schema definition (``"bizStep"``)."""
    title: str
    """What it is, in words (``"business step"``)."""
    terms: tuple[str, ...]
    """The bare words, in GS1's order (``("accepting", "arriving", ...)``)."""
    urn_prefix: str | None
    """The URN before the term (``"urn:epcglobal:cbv:bizstep:"``); None when CBV defines no URN."""
    web_prefix: str
    """The GS1 Web URI before the term (``"https://ref.gs1.org/cbv/BizStep-"``)."""
    compact_prefix: str
    """The compact JSON-LD name before the term (``"cbv:BizStep-"``), as EPCIS 2.0 XML may write it."""

    def urn(self, term: str) -> str:
        """The URN of a term; the compact form for vocabularies without URNs."""
        return f"{self.urn_prefix or self.compact_prefix}{term}"

    def web_uri(self, term: str) -> str:
        """The GS1 Web URI of a term."""
        return f"{self.web_prefix}{term}"

    def compact(self, term: str) -> str:
        """The compact name of a term (``cbv:BizStep-shipping``, ``gs1:Temperature``)."""
        return f"{self.compact_prefix}{term}"


# name, title, file, URN category word (None: no URN)
_SPECS: Final = (
    ("bizStep", "business step", "cbv-context-bizstep.jsonld", "bizstep"),
    ("disposition", "disposition", "cbv-context-disposition.jsonld", "disp"),
    ("bizTransactionType", "business transaction type", "cbv-context-biztransaction-type.jsonld", "btt"),
    ("sourceDestType", "source/destination type", "cbv-context-sourcedest-type.jsonld", "sdt"),
    ("errorReason", "error reason", "cbv-context-error-reason.jsonld", "er"),
    ("measurementType", "sensor measurement type", "gs1-context-measurement-type.jsonld", None),
    ("sensorAlertType", "sensor alert type", "gs1-context-sensor-alert-type.jsonld", None),
    ("component", "coordinate component", "cbv-context-component.jsonld", "comp"),
)

_GS1_VOC_ALIASES: Final = ("http://gs1.org/voc/", "https://www.gs1.org/voc/", "http://www.gs1.org/voc/")
"""Other spellings of ``https://gs1.org/voc/`` (GS1's JSON Schema treats them as the GS1 Web Vocabulary)."""


def _load(name: str, title: str, filename: str, urn_word: str | None) -> Vocabulary:
    """Read one vendored GS1 code-list context: ``{"term": "prefix:Stem-term", ...}``."""
    raw = resources.files("packtrail.epcis").joinpath("data", "cbv", filename).read_bytes()
    context: dict[str, Any] = orjson.loads(raw)["@context"]
    prefixes = {k: v for k, v in context.items() if not k.startswith("@") and v.endswith("/")}
    terms: list[str] = []
    compact_prefix = ""
    for term, value in context.items():
        if term.startswith("@") or term in prefixes:
            continue
        if not value.endswith(term):  # pragma: no cover - guards the vendored data
            raise RuntimeError(f"unexpected CBV context entry {term!r}: {value!r}")
        compact_prefix = value[: len(value) - len(term)]
        terms.append(term)
    prefix, _, stem = compact_prefix.partition(":")
    return Vocabulary(
        name=name,
        title=title,
        terms=tuple(terms),
        urn_prefix=f"urn:epcglobal:cbv:{urn_word}:" if urn_word else None,
        web_prefix=prefixes[prefix] + stem,
        compact_prefix=compact_prefix,
    )


VOCABULARIES: Final[dict[str, Vocabulary]] = {spec[0]: _load(*spec) for spec in _SPECS}
"""The CBV vocabularies by name: ``bizStep``, ``disposition``, ``bizTransactionType``,
``sourceDestType``, ``errorReason``, ``measurementType``, ``sensorAlertType``, ``component``."""

_ALIASES: Final[dict[str, str]] = {
    **{name.lower(): name for name in VOCABULARIES},
    **{word: name for name, _, _, word in _SPECS if word},
    "biztransaction": "bizTransactionType",
    "sourcedestinationtype": "sourceDestType",
    "sourceordestinationtype": "sourceDestType",
    "sensormeasurementtype": "measurementType",
    "alerttype": "sensorAlertType",
    "exception": "sensorAlertType",
}
"""Other names a vocabulary may be asked for by (case-insensitive): URN category words and the like."""


def _spellings(vocab: Vocabulary, term: str) -> list[str]:
    out = [term, vocab.web_uri(term), vocab.compact(term)]
    if vocab.urn_prefix:
        out.append(vocab.urn(term))
    if vocab.web_prefix.startswith("https://gs1.org/voc/"):
        stem = vocab.web_prefix.removeprefix("https://gs1.org/voc/")
        out += [f"{alias}{stem}{term}" for alias in _GS1_VOC_ALIASES]
    return out


def _table(vocab: Vocabulary, form: Callable[[str], str]) -> dict[str, str]:
    """Every known spelling of every term -> that term written in ``form``."""
    return {spelling: form(term) for term in vocab.terms for spelling in _spellings(vocab, term)}


_BARE: Final = {name: _table(v, str) for name, v in VOCABULARIES.items()}
_URN: Final = {name: _table(v, v.urn) for name, v in VOCABULARIES.items()}
_WEB: Final = {name: _table(v, v.web_uri) for name, v in VOCABULARIES.items()}
_COMPACT: Final = {name: _table(v, v.compact) for name, v in VOCABULARIES.items()}


def vocabulary(kind: str) -> Vocabulary:
    """The vocabulary called ``kind``: its name here (``"bizStep"``), or an alias such as the URN
    category word (``"disp"``, ``"btt"``, ``"sdt"``, ``"er"``) in any case."""
    found = VOCABULARIES.get(kind)
    if found is not None:
        return found
    name = _ALIASES.get(kind.lower()) if isinstance(kind, str) else None
    if name is None:
        raise ValueError(f"unknown CBV vocabulary {kind!r}: expected one of {', '.join(VOCABULARIES)}")
    return VOCABULARIES[name]


def _lookup(tables: dict[str, dict[str, str]], kind: str) -> dict[str, str]:
    table = tables.get(kind)
    return table if table is not None else tables[vocabulary(kind).name]


def terms(kind: str) -> tuple[str, ...]:
    """The bare words of a vocabulary, in GS1's order.

    >>> terms("errorReason")
    ('did_not_occur', 'incorrect_data')
    """
    return vocabulary(kind).terms


def to_bare(kind: str, value: str) -> str:
    """The bare word of a CBV value in any form; other values unchanged."""
    return _lookup(_BARE, kind).get(value, value)


def to_urn(kind: str, value: str) -> str:
    """The URN of a CBV value in any form (compact ``gs1:`` name for sensor types); others unchanged."""
    return _lookup(_URN, kind).get(value, value)


def to_web_uri(kind: str, value: str) -> str:
    """The GS1 Web URI of a CBV value in any form; other values unchanged."""
    return _lookup(_WEB, kind).get(value, value)


def to_compact(kind: str, value: str) -> str:
    """The compact JSON-LD name (``cbv:BizStep-shipping``) of a CBV value in any form; others unchanged."""
    return _lookup(_COMPACT, kind).get(value, value)


def is_known(kind: str, value: str) -> bool:
    """True when ``value`` is a term of the vocabulary, in any of its forms.

    >>> is_known("disposition", "https://ref.gs1.org/cbv/Disp-recalled")
    True
    >>> is_known("disposition", "urn:epcglobal:cbv:bizstep:recalled")
    False
    """
    return value in _lookup(_BARE, kind)


# --- identifiers: EPC URN <-> GS1 Digital Link -------------------------------------------------

_RESOLVER: Final = "https://id.gs1.org"
_CACHE_LIMIT: Final = 1 << 14
_TO_DL: dict[str, str] = {}
_TO_URN: dict[str, str] = {}
_DL_KEYS: Final = ("/01/", "/00/", "/414/", "/8003/", "/8004/")
_PLAIN: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._")
"""Serial characters that read the same in an EPC URN and in a Digital Link (no escaping in either)."""


def _remember(cache: dict[str, str], key: str, value: str) -> str:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def to_digital_link(identifier: str) -> str:
    """The GS1 Digital Link URI (on ``https://id.gs1.org``) of an EPC URN; other values unchanged.

    Handles SGTIN, SSCC, SGLN, GRAI, GIAI, LGTIN and SGTIN class patterns (``CP.Item.*``);
    other schemes (PGLN, GDTI, ...) and malformed URNs are returned as given. A Digital Link
    on another host, or not in canonical form, is rewritten onto ``https://id.gs1.org`` when
    it is a pure identifier (no data attributes), so equal identifiers compare equal.

    >>> to_digital_link("urn:epc:id:sgtin:0614141.107346.2017")
    'https://id.gs1.org/01/10614141073464/21/2017'
    >>> to_digital_link("urn:epc:class:lgtin:4012345.012345.998877")
    'https://id.gs1.org/01/04012345123456/10/998877'
    >>> to_digital_link("urn:epc:idpat:sgtin:4012345.066666.*")
    'https://id.gs1.org/01/04012345666663'
    >>> to_digital_link("urn:epc:id:pgln:4012345.00225")
    'urn:epc:id:pgln:4012345.00225'
    >>> to_digital_link("https://id.example.com/414/4012345000054")
    'https://id.gs1.org/414/4012345000054'
    """
    if not identifier.startswith("urn:epc:"):
        if identifier.startswith(_RESOLVER) and "?" not in identifier and "%" not in identifier:
            return identifier  # already canonical as far as a cheap test can tell
        if not identifier.startswith("http") or not any(key in identifier for key in _DL_KEYS):
            return identifier
        found = _TO_DL.get(identifier)
        if found is not None:
            return found
        return _remember(_TO_DL, identifier, _canonical_dl(identifier))
    if identifier.startswith("urn:epc:id:sgtin:"):
        try:
            gtin, serial = gtin_serial_from_sgtin(identifier)
        except GS1Error:
            return identifier
        if _PLAIN.issuperset(serial):
            return f"{_RESOLVER}/01/{gtin}/21/{serial}"
        return _epc_to_dl(identifier)
    found = _TO_DL.get(identifier)
    if found is not None:
        return found
    return _remember(_TO_DL, identifier, _epc_to_dl(identifier))


def _epc_to_dl(identifier: str) -> str:
    try:
        epc = parse_epc_uri(identifier)
        if isinstance(epc, SGTINPattern):
            if epc.company_prefix is None or epc.item_reference is None or epc.serial is not None:
                return identifier  # a pattern over many GTINs (or one serial): no single Digital Link
            pairs: tuple[tuple[str, str], ...] = (
                ("01", SGTIN(epc.company_prefix, epc.item_reference, "0").gtin),
            )
        else:
            pairs = epc.to_ai_pairs()
        return DigitalLink.from_element_string(pairs, base=_RESOLVER).uri
    except GS1Error:
        return identifier


def _canonical_dl(identifier: str) -> str:
    try:
        link = DigitalLink.parse(identifier)
    except GS1Error:
        return identifier
    if link.attributes or link.other_parameters:
        return identifier
    return DigitalLink(base=_RESOLVER, primary_key=link.primary_key, qualifiers=link.qualifiers).uri


def to_epc_urn(identifier: str) -> str:
    """The EPC URN of a GS1 Digital Link URI (any host); other values unchanged.

    Converted only when nothing is lost: a Digital Link with data attributes
    (``?17=...``), a lot next to the serial, or a key whose GS1 Company Prefix
    length is unknown stays as given.

    >>> to_epc_urn("https://id.gs1.org/01/10614141073464/21/2017")
    'urn:epc:id:sgtin:0614141.107346.2017'
    >>> to_epc_urn("https://id.example.com/414/4012345000054")
    'urn:epc:id:sgln:4012345.00005.0'
    >>> to_epc_urn("https://id.gs1.org/01/09506000134352/10/L1/21/S1")
    'https://id.gs1.org/01/09506000134352/10/L1/21/S1'
    """
    if not identifier.startswith("http") or not any(key in identifier for key in _DL_KEYS):
        return identifier
    if (
        identifier.startswith("https://id.gs1.org/01/")
        and len(identifier) > 40
        and identifier[36:40] == "/21/"
    ):
        serial = identifier[40:]
        if _PLAIN.issuperset(serial):
            try:
                return sgtin_from_gtin_serial(identifier[22:36], serial)
            except GS1Error:
                return identifier
    found = _TO_URN.get(identifier)
    if found is not None:
        return found
    return _remember(_TO_URN, identifier, _dl_to_epc(identifier))


def _dl_to_epc(identifier: str) -> str:
    try:
        link = DigitalLink.parse(identifier)
        if link.attributes or link.other_parameters:
            return identifier
        pairs = link.pairs()
        if len(pairs) == 1 and pairs[0][0] == "01":
            sgtin = SGTIN.from_ai_pairs((pairs[0], ("21", "0")))
            return SGTINPattern(sgtin.company_prefix, sgtin.item_reference).uri
        epc = epc_from_ai_pairs(pairs)
        if set(epc.to_ai_pairs()) != set(pairs):
            return identifier  # the EPC would drop data (a lot next to a serial, ...)
        return epc.uri
    except GS1Error:
        return identifier


# --- whole events --------------------------------------------------------------------------

_Convert: TypeAlias = Callable[[Any], Any]


def _keep(value: Any) -> Any:
    return value


def _term_converter(table: dict[str, str] | None) -> _Convert:
    if table is None:
        return _keep
    get = table.get

    def convert(value: Any) -> Any:
        try:
            return get(value, value)
        except TypeError:  # a list or object where a term belongs: not ours to judge here
            return value

    return convert


def _id_converter(function: Callable[[str], str] | None) -> _Convert:
    if function is None:
        return _keep

    def convert(value: Any) -> Any:
        return function(value) if isinstance(value, str) else value

    return convert


def _fields(converters: dict[str, _Convert]) -> _Convert:
    """Convert the named fields of a dict (a new dict); anything else unchanged."""
    active = [(key, f) for key, f in converters.items() if f is not _keep]
    if not active:
        return _keep

    def convert(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = dict(value)
        for key, function in active:
            if key in out:
                out[key] = function(out[key])
        return out

    return convert


def _each(item: _Convert) -> _Convert:
    """Convert every item of a list (a new list); a non-list unchanged."""
    if item is _keep:
        return _keep

    def convert(value: Any) -> Any:
        return [item(x) for x in value] if isinstance(value, list) else value

    return convert


@cache
def _event_converters(cbv: CBVForm, epc: EPCForm) -> dict[str, _Convert]:
    """Per top-level event field, the function that brings its value to the wanted forms."""
    if cbv not in ("bare", "urn", "web", "keep"):
        raise ValueError(f"cbv should be 'bare', 'urn', 'web' or 'keep', not {cbv!r}")
    if epc not in ("urn", "dl", "keep"):
        raise ValueError(f"epc should be 'urn', 'dl' or 'keep', not {epc!r}")
    tables = {"bare": _BARE, "urn": _URN, "web": _WEB}.get(cbv)

    def term(kind: str) -> _Convert:
        return _term_converter(tables[kind] if tables is not None else None)

    ident = _id_converter({"urn": to_epc_urn, "dl": to_digital_link}.get(epc))
    ident_list = _each(ident)
    quantities = _each(_fields({"epcClass": ident}))
    where = _fields({"id": ident})
    sdt = term("sourceDestType")
    converters: dict[str, _Convert] = {
        "bizStep": term("bizStep"),
        "disposition": term("disposition"),
        "persistentDisposition": _fields(
            {"set": _each(term("disposition")), "unset": _each(term("disposition"))}
        ),
        "errorDeclaration": _fields({"reason": term("errorReason")}),
        "bizTransactionList": _each(_fields({"type": term("bizTransactionType"), "bizTransaction": ident})),
        "sourceList": _each(_fields({"type": sdt, "source": ident})),
        "destinationList": _each(_fields({"type": sdt, "destination": ident})),
        "sensorElementList": _each(
            _fields(
                {
                    "sensorMetadata": _fields({"deviceID": ident}),
                    "sensorReport": _each(
                        _fields(
                            {
                                "type": term("measurementType"),
                                "exception": term("sensorAlertType"),
                                "component": term("component"),
                                "deviceID": ident,
                            }
                        )
                    ),
                }
            )
        ),
        "parentID": ident,
        "readPoint": where,
        "bizLocation": where,
        "epcList": ident_list,
        "childEPCs": ident_list,
        "inputEPCList": ident_list,
        "outputEPCList": ident_list,
        "quantityList": quantities,
        "childQuantityList": quantities,
        "inputQuantityList": quantities,
        "outputQuantityList": quantities,
    }
    return {key: f for key, f in converters.items() if f is not _keep}


def normalise_event(event: dict[str, Any], *, cbv: CBVForm = "bare", epc: EPCForm = "keep") -> dict[str, Any]:
    """A new event with every CBV value in one form and, unless ``epc="keep"``, every identifier too.

    ``cbv``: ``"bare"`` (``shipping``), ``"urn"`` (``urn:epcglobal:cbv:bizstep:shipping``),
    ``"web"`` (``https://ref.gs1.org/cbv/BizStep-shipping``) or ``"keep"``. ``epc``: ``"urn"``
    (EPC URNs), ``"dl"`` (GS1 Digital Link URIs on id.gs1.org) or ``"keep"``.

    CBV fields: bizStep, disposition, persistentDisposition, errorDeclaration reason, business
    transaction, source and destination types, sensor report type, exception and component.
    Identifier fields: the EPC lists, parentID, epcClass, readPoint and bizLocation ids,
    business transactions, sources, destinations and sensor deviceIDs. Values that are not CBV
    terms or convertible identifiers are kept as they are. The input is not changed; fields
    this function does not touch (ilmd, extensions) are shared with it, not copied.

    >>> normalise_event({"bizStep": "shipping", "disposition": "in_transit"}, cbv="urn")
    {'bizStep': 'urn:epcglobal:cbv:bizstep:shipping', 'disposition': 'urn:epcglobal:cbv:disp:in_transit'}
    """
    converters = _event_converters(cbv, epc)
    out = dict(event)
    get = converters.get
    for key, value in event.items():
        convert = get(key)
        if convert is not None:
            out[key] = convert(value)
    return out
