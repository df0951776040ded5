"""The pharma fast path of Digital Link parsing agrees with the general path, to the error.

``packtrail.gs1.digital_link`` parses the common shape of a pack's URI
(``/01/{gtin}[/10/{lot}]/21/{serial}?17={expiry}[&{ai}={value}]``) with one regular expression
before the general parser. Here every URI is parsed twice — with the fast path, and with it
switched off — and the two must give the same elements and warnings, or the same error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from packtrail.gs1 import digital_link, pack
from packtrail.gs1.checkdigit import gs1_check_digit
from packtrail.gs1.digital_link import DigitalLink
from packtrail.gs1.errors import GS1Error
from packtrail.gs1.pack import parse_barcode

BASES = ["https://id.gs1.org", "https://example.com/gs1", "HTTP://Example.COM", "https://a.b:8080/x/y"]
EXTRA_AIS = [
    "710",
    "711",
    "712",
    "713",
    "714",
    "715",
    "400",
    "3103",
    "11",
    "240",
    "17",
    "10",
    "21",
    "22",
    "99",
]
LOT_OR_SERIAL = st.one_of(
    st.text(alphabet="AZaz09._-", min_size=1, max_size=20),  # what the fast path takes
    st.text(alphabet="AZaz09._-~%+!", min_size=0, max_size=22),  # and near misses
)


@st.composite
def gtins(draw: st.DrawFn) -> str:
    body = draw(st.text(alphabet="0123456789", min_size=13, max_size=13))
    if draw(st.booleans()):
        return body + str(gs1_check_digit(body))
    return draw(st.text(alphabet="0123456789x", min_size=12, max_size=15))


@st.composite
def pack_uris(draw: st.DrawFn) -> str:
    uri = draw(st.sampled_from(BASES)) + "/01/" + draw(gtins())
    if draw(st.booleans()):
        uri += "/10/" + draw(LOT_OR_SERIAL)
    uri += "/21/" + draw(LOT_OR_SERIAL)
    expiry = draw(st.sampled_from(["270131", "270100", "271331", "2701", "991231", "000229", "240229"]))
    uri += "?17=" + expiry
    if draw(st.booleans()):
        uri += (
            "&"
            + draw(st.sampled_from(EXTRA_AIS))
            + "="
            + draw(st.text(alphabet="0123456789AB-", max_size=14))
        )
    return uri


def _outcome(parse: Callable[[str], Any], uri: str) -> tuple[str, Any]:
    try:
        value = parse(uri)
    except GS1Error as error:
        return "error", (str(error), error.ai, error.position)
    elements = value if not hasattr(value, "element_string") else value.element_string
    return "ok", (getattr(elements, "pairs", None), tuple(getattr(elements, "warnings", ())), str(value))


def _both(parse: Callable[[str], Any], uri: str) -> None:
    fast = _outcome(parse, uri)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(digital_link, "_pharma_match", digital_link._no_match)
        patched.setattr(pack, "_pharma_match", digital_link._no_match)
        general = _outcome(parse, uri)
    assert fast == general, uri


@given(uri=pack_uris())
@example(uri="https://id.gs1.org/01/09506000134352/10/ABC/21/XYZ?17=270131&710=12345")
@example(uri="https://id.gs1.org/01/09506000134353/21/XYZ?17=270131")
def test_digital_link_parse_fast_equals_general(uri: str) -> None:
    _both(DigitalLink.parse, uri)


@given(uri=pack_uris())
def test_parse_barcode_fast_equals_general(uri: str) -> None:
    _both(parse_barcode, uri)


def test_the_fast_path_is_on() -> None:
    """Without this the two tests above would compare the general path with itself."""
    assert digital_link._pharma_match("https://id.gs1.org/01/09506000134352/21/XYZ?17=270131") is not None
