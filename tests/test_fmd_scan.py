"""Raw DataMatrix scans to pack requests: every form packtrail.gs1 reads, and input errors only."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from packtrail.fmd import (
    AlertCode,
    FmdInputError,
    PackRequest,
    ReturnCode,
    ScanError,
    TransactionCode,
    read_request,
    request_from_scan,
)
from packtrail.gs1.checkdigit import CSET82
from test_fmd_catalogue import GTIN, PHARMACY_L1, World

GS = "\x1d"
SCANS = {
    "scanner": f"]d201095060001343521728123110L1{GS}21abc123\r\n",
    "substitute": "]d201095060001343521728123110L1<GS>21abc123",
    "bracketed": "(01)09506000134352(17)281231(10)L1(21)abc123",
    "digital-link": "https://id.gs1.org/01/09506000134352/10/L1/21/abc123?17=281231",
}


@pytest.mark.parametrize("form", sorted(SCANS))
def test_every_scan_form_gives_the_same_request(form: str) -> None:
    request = request_from_scan(SCANS[form], client_trx_id="t-1")
    assert request == PackRequest(GTIN, "abc123", "L1", "281231", "t-1", "GTIN")


def test_ifa_coded_scan_gives_a_ppn_request() -> None:
    scan = f"]d1[)>\x1e06{GS}9N110375286414{GS}1TL1{GS}D281200{GS}Sabc123\x1e\x04"
    request = request_from_scan(scan, client_trx_id="t-1")
    assert (request.product_code, request.scheme, request.expiry, request.serial) == (
        "110375286414", "PPN", "281200", "abc123",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("scan", "words"),
    [
        ("]d201095060001343521728123110L1", "no serial number"),
        ("(01)09506000134352(21)S1", "no batch (AI 10 / DI 1T) and no expiry"),
        ("(00)106141412345678908", "logistic unit"),
        ("(01)09506000134353(17)281231(10)L1(21)S1", "check digit"),
        ("(01)09506000134352(17)281331(10)L1(21)S1", "17"),
        ("", ""),
        ("hello", ""),
    ],
)
def test_unreadable_scans_are_scan_errors(scan: str, words: str) -> None:
    with pytest.raises(ScanError) as info:
        request_from_scan(scan, client_trx_id="t-1")
    assert info.value.field == "scan"
    assert words in info.value.reason


def test_a_lost_group_separator_is_an_input_error_not_an_a3() -> None:
    """The classic false alert: the serial swallowed the batch's AI. The parser rejects instead of guessing
    whenever the glued text is not itself valid; when it is valid, the repository sees an unknown serial."""
    glued = "]d201095060001343521728123110L121abc123"  # GS lost: batch 'L121abc123', no serial
    with pytest.raises(ScanError, match="no serial number"):
        request_from_scan(glued, client_trx_id="t-1")


def test_read_request_takes_a_scan_or_fields() -> None:
    by_scan = read_request({"scan": SCANS["bracketed"], "clientTrxId": "t-1"})
    by_fields = read_request(
        {
            "productCode": GTIN,
            "serialNumber": "abc123",
            "batch": "L1",
            "expiry": "281231",
            "clientTrxId": "t-1",
        }
    )
    assert by_scan == by_fields
    with pytest.raises(FmdInputError, match="clientTrxId"):
        read_request({"scan": SCANS["bracketed"]})
    with pytest.raises(FmdInputError, match="batch"):
        read_request({"scan": SCANS["bracketed"], "clientTrxId": "t-1", "batch": "L2"})
    with pytest.raises(FmdInputError) as info:
        read_request({"scan": SCANS["bracketed"], "clientTrxId": ""})
    assert not isinstance(info.value, ScanError)


def test_a_scanned_request_goes_through_the_rules_case_sensitively() -> None:
    world = World()
    world.upload(["abc123"])
    outcome, _ = world.apply(
        TransactionCode.G110, request_from_scan(SCANS["scanner"], client_trx_id="t"), PHARMACY_L1
    )
    assert outcome.return_code is ReturnCode.NMVS_SUCCESS
    upper = request_from_scan(SCANS["scanner"].replace("abc123", "ABC123"), client_trx_id="t2")
    outcome, _ = world.apply(TransactionCode.G110, upper, PHARMACY_L1)
    assert (outcome.return_code, outcome.alert) == (ReturnCode.NMVS_NC_PC_02, AlertCode.A3)


# --------------------------------------------------------------------------- fuzz

_PIECES = [
    *CSET82,
    GS,
    *"]d2()<>/:?=\x1e\x04[ \r\n",
    "(01)",
    "(17)",
    "(10)",
    "(21)",
    "<GS>",
    "]d2",
    "https://id.gs1.org/",
]
_ALPHABET = st.sampled_from(_PIECES)


def _mutate(text: str, data: st.DataObject) -> str:
    chars = list(text)
    for _ in range(data.draw(st.integers(0, 4))):
        position = data.draw(st.integers(0, len(chars)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert" or not chars:
            chars.insert(position, data.draw(_ALPHABET))
        elif action == "delete":
            del chars[min(position, len(chars) - 1)]
        else:
            chars[min(position, len(chars) - 1)] = data.draw(_ALPHABET)
    return "".join(chars)


def _check(text: object) -> None:
    try:
        request = request_from_scan(text, client_trx_id="fuzz")
    except ScanError as error:
        assert error.field == "scan" and error.reason
        return
    assert isinstance(request, PackRequest)
    assert request.product_code and request.serial and request.batch and len(request.expiry) == 6


@given(st.text(max_size=80) | st.lists(_ALPHABET, max_size=40).map("".join))
@example("]d1[)>\x1e06\x1d9N110375286414\x1dS" + "x" * 30 + "\x1d1TL1\x1dD281231\x1e\x04")
@example("https://id.gs1.org/01/09506000134352/10/L1/21/abc?17=281231&17=281231")
def test_random_text_is_a_request_or_a_scan_error(text: str) -> None:
    _check(text)


@given(st.sampled_from(sorted(SCANS.values())), st.data())
def test_mutated_scans_are_a_request_or_a_scan_error(scan: str, data: st.DataObject) -> None:
    _check(_mutate(scan, data))


@given(st.none() | st.integers() | st.binary() | st.lists(st.text()))
def test_non_text_scans_are_scan_errors(value: object) -> None:
    with pytest.raises(ScanError):
        request_from_scan(value, client_trx_id="fuzz")


_VALUES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=24)
    | st.lists(st.text(max_size=3), max_size=2)
)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "scan": st.sampled_from(sorted(SCANS.values())) | _VALUES,
            "productCode": st.sampled_from([GTIN, "9506000134352", "110375286414", "110375286415"]) | _VALUES,
            "serialNumber": st.sampled_from(["abc123", "x" * 21]) | _VALUES,
            "batch": st.sampled_from(["L1", ""]) | _VALUES,
            "expiry": st.sampled_from(["281231", "281200", "283112"]) | _VALUES,
            "clientTrxId": st.sampled_from(["t-1", ""]) | _VALUES,
            "scheme": st.sampled_from(["GTIN", "PPN", "EAN"]) | _VALUES,
        },
    )
)
def test_request_bodies_are_a_request_or_an_input_error(body: dict[str, object]) -> None:
    try:
        request = read_request(body)
    except FmdInputError as error:
        assert error.field and error.reason
        return
    assert isinstance(request, PackRequest)
    assert PackRequest.from_json(request.to_json()) == request
