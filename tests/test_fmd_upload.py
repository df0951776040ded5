"""Product and batch upload checks, recall and withdrawal, and a fuzz of the upload bodies."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from packtrail.fmd import (
    BatchUpload,
    Client,
    PackState,
    ProductUpload,
    ReturnCode,
    Role,
    UploadRejected,
    accept_batch,
    accept_product,
)
from test_fmd_catalogue import GTIN, MAH, T0

R = ReturnCode
PRODUCT = {"productCode": GTIN, "name": "Examplin 10 mg", "markets": ["DE", "AT"], "nhrn": {"DE": "PZN-1234"}}
OTHER_MAH = Client("mah-2", Role.MANUFACTURER, "ELSEWHERE", "ops")


def product(**changes: Any) -> ProductUpload:
    return ProductUpload.from_json({**PRODUCT, **changes})


def batch(**changes: Any) -> BatchUpload:
    return BatchUpload.from_json(
        {"productCode": GTIN, "batch": "L1", "expiry": "281231", "serials": ["S1", "S2"], **changes}
    )


def rejected(call: Any, *args: Any) -> UploadRejected:
    with pytest.raises(UploadRejected) as info:
        call(*args)
    return info.value


def test_product_upload_is_normalised_and_owned() -> None:
    upload = product(productCode="9506000134352", markets=["DE", "AT", "DE"])
    master = accept_product(upload, None, MAH, T0)
    assert (master.product_code, master.scheme, master.markets) == (GTIN, "GTIN", ("DE", "AT"))
    assert (master.owner, master.uploaded_at, master.nhrn) == ("mah-1", T0, (("DE", "PZN-1234"),))


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"productCode": "09506000134353"}, "productCode", R.NMVS_FE_GR_01),
        ({"productCode": "110375286415"}, "productCode", R.NMVS_FE_GR_02),
        ({"name": " "}, "name", R.NMVS_FE_REQ_02),
        ({"markets": []}, "markets", R.NMVS_FE_REQ_02),
        ({"markets": ["de"]}, "markets[0]", R.NMVS_FE_REQ_02),
        ({"markets": ["US"]}, "markets[0]", R.NMVS_FE_REQ_02),
        ({"nhrn": {"FR": "CIP"}}, "nhrn.FR", R.NMVS_NC_PC_11),
        ({"nhrn": {"DE": ""}}, "nhrn.DE", R.NMVS_NC_PC_11),
        ({"nhrn": ["DE"]}, "nhrn", R.NMVS_FE_REQ_02),
    ],
)
def test_product_upload_rejections_name_the_field(
    changes: dict[str, Any], field: str, code: ReturnCode
) -> None:
    error = rejected(lambda: product(**changes))
    assert (error.field, error.return_code) == (field, code)


def test_product_reupload_keeps_it_current_for_the_owner_only() -> None:
    first = accept_product(product(markets=["DE"], nhrn={}), None, MAH, T0)
    updated = accept_product(
        product(name="Examplin 10 mg, 30 tablets", markets=["AT"], nhrn={}), first, MAH, T0
    )
    assert (updated.name, updated.markets, updated.uploaded_at) == (
        "Examplin 10 mg, 30 tablets",
        ("DE", "AT"),
        T0,
    )
    assert rejected(accept_product, product(), first, OTHER_MAH, T0).return_code is R.NMVS_NC_PC_03


def test_batch_upload_creates_active_packs_and_may_add_serials_later() -> None:
    master = accept_product(product(), None, MAH, T0)
    first = accept_batch(batch(), master, None, set(), MAH, T0)
    assert [(p.serial, p.state, p.batch) for p in first.packs] == [
        ("S1", PackState.ACTIVE, "L1"),
        ("S2", PackState.ACTIVE, "L1"),
    ]
    assert (first.batch.expiry, first.batch.markets, first.batch.uploaded_at) == ("281231", ("DE", "AT"), T0)
    more = accept_batch(batch(serials=["S3"], markets=["AT"]), master, first.batch, {"S1", "S2"}, MAH, T0)
    assert more.batch == first.batch
    assert [p.serial for p in more.packs] == ["S3"]


def test_batch_upload_rejections() -> None:
    master = accept_product(product(), None, MAH, T0)
    existing = accept_batch(batch(), master, None, set(), MAH, T0).batch
    cases = [
        ((batch(), None, None, set(), MAH, T0), "productCode", R.NMVS_NC_PC_01),
        ((batch(), master, None, set(), OTHER_MAH, T0), "productCode", R.NMVS_NC_PC_03),
        ((batch(markets=["FR"]), master, None, set(), MAH, T0), "markets[0]", R.NMVS_FE_REQ_02),
        ((batch(expiry="280230"), master, None, set(), MAH, T0), "expiry", R.NMVS_FE_LOT_07),
        ((batch(expiry="281230"), master, existing, set(), MAH, T0), "expiry", R.NMVS_FE_LOT_02),
        ((batch(serials=["S1", "S9", "S1"]), master, None, set(), MAH, T0), "serials[2]", R.NMVS_FE_SN_02),
        ((batch(serials=["S8", "S9"]), master, None, {"S9"}, MAH, T0), "serials[1]", R.NMVS_FE_SN_02),
    ]
    for args, field, code in cases:
        error = rejected(accept_batch, *args)
        assert (error.field, error.return_code) == (field, code), args


def test_serials_compare_case_sensitively_on_upload() -> None:
    master = accept_product(product(), None, MAH, T0)
    accepted = accept_batch(batch(serials=["abc123"]), master, None, {"ABC123"}, MAH, T0)
    assert [p.serial for p in accepted.packs] == ["abc123"]


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"serials": []}, "serials", R.NMVS_FE_REQ_02),
        ({"serials": ["S1", "x" * 21]}, "serials[1]", R.NMVS_FE_REQ_02),
        ({"batch": ""}, "batch", R.NMVS_FE_REQ_02),
        ({"expiry": "2812"}, "expiry", R.NMVS_FE_LOT_07),
        ({"scheme": 5}, "scheme", R.NMVS_FE_REQ_02),
    ],
)
def test_batch_body_rejections_name_the_field(changes: dict[str, Any], field: str, code: ReturnCode) -> None:
    error = rejected(lambda: batch(**changes))
    assert (error.field, error.return_code) == (field, code)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=25),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "productCode": st.sampled_from([GTIN, "110375286414", "123"]) | JSON,
            "name": st.text(max_size=10) | JSON,
            "markets": st.lists(st.sampled_from(["DE", "AT", "de", "ZZ"]), max_size=3) | JSON,
            "nhrn": st.dictionaries(st.sampled_from(["DE", "AT", "FR"]), st.text(max_size=22), max_size=2)
            | JSON,
            "batch": st.text(max_size=22) | JSON,
            "expiry": st.sampled_from(["281231", "280230", "999999"]) | JSON,
            "serials": st.lists(st.text(max_size=22), max_size=3) | JSON,
            "scheme": st.sampled_from(["GTIN", "PPN", "EAN"]) | JSON,
        },
    )
)
def test_upload_bodies_parse_or_raise_upload_rejected(body: dict[str, Any]) -> None:
    for reader in (ProductUpload.from_json, BatchUpload.from_json):
        try:
            reader(body)
        except UploadRejected as error:
            assert error.field and error.reason
