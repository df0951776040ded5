"""From a raw DataMatrix scan to the fields of a pack request.

A pharmacy may send the scanner's text instead of typed fields:
``{"scan": "<raw DataMatrix string>", "clientTrxId": …}``. The scan is read by
:class:`packtrail.gs1.PackIdentifier` (GS1 element strings with or without a
symbology identifier and GS separators, the bracketed form, GS1 Digital Link,
IFA-coded German packs) and must hold a complete unique identifier: product
code, serial, batch and expiry.

>>> from packtrail.fmd.scan import request_from_scan
>>> request = request_from_scan("]d201095060001343521727013110abc123\\x1d21SN-0001", client_trx_id="t-1")
>>> request.product_code, request.batch, request.serial, request.expiry
('09506000134352', 'abc123', 'SN-0001', '270131')

A scan that cannot be read is an input error, :class:`~packtrail.fmd.errors.ScanError`,
and never an alert — the repository is not even asked:

>>> request_from_scan("]d201095060001343521727013110L1", client_trx_id="t-2")
Traceback (most recent call last):
...
packtrail.fmd.errors.ScanError: scan: the scan has no serial number (AI 21 / DI S) [NMVS_FE_REQ_02]
"""

from __future__ import annotations

from collections.abc import Mapping

from packtrail.fmd.errors import FmdInputError, ScanError
from packtrail.fmd.model import PackRequest
from packtrail.gs1 import GS1Error, PackIdentifier

__all__ = ["read_request", "read_scan", "request_from_scan"]


def read_scan(text: object) -> PackIdentifier:
    """The pack identifier in a raw scan; raises :class:`ScanError` unless it is a complete one."""
    if not isinstance(text, str):
        raise ScanError("scan", f"expected the scanner's text, found {type(text).__name__}")
    try:
        pack = PackIdentifier.parse(text)
    except GS1Error as exc:
        raise ScanError("scan", str(exc)) from None
    if pack.sscc is not None and pack.product_code is None:
        raise ScanError("scan", f"this is a logistic unit label (SSCC {pack.sscc}), not a pack")
    missing = [
        what
        for what, value in (
            ("product code (AI 01 / DI 9N)", pack.product_code),
            ("serial number (AI 21 / DI S)", pack.serial),
            ("batch (AI 10 / DI 1T)", pack.lot),
            ("expiry date (AI 17 / DI D)", pack.expiry_raw),
        )
        if value is None
    ]
    if missing:
        raise ScanError("scan", f"the scan has no {' and no '.join(missing)}")
    return pack


def request_from_scan(text: object, *, client_trx_id: object) -> PackRequest:
    """The pack request a raw scan stands for; raises :class:`ScanError` (an input error)."""
    pack = read_scan(text)
    try:
        return PackRequest.create(
            product_code=pack.product_code,
            serial=pack.serial,
            batch=pack.lot,
            expiry=pack.expiry_raw,
            client_trx_id=client_trx_id,
            scheme=pack.product_code_scheme,
        )
    except FmdInputError as exc:
        if exc.field == "clientTrxId":
            raise
        raise ScanError("scan", f"{exc.field}: {exc.reason}", exc.return_code) from None


def read_request(body: Mapping[str, object]) -> PackRequest:
    """A single-pack request body: ``{scan, clientTrxId}`` or ``{productCode, serialNumber, batch,
    expiry, clientTrxId}``. Raises :class:`~packtrail.fmd.errors.FmdInputError` (a :class:`ScanError`
    for a bad scan)."""
    if "scan" in body:
        extra = sorted(set(body) - {"scan", "clientTrxId"})
        if extra:
            raise FmdInputError(extra[0], "a request with 'scan' carries only 'clientTrxId' besides it")
        if "clientTrxId" not in body:
            raise FmdInputError("clientTrxId", "this field is required")
        return request_from_scan(body["scan"], client_trx_id=body["clientTrxId"])
    return PackRequest.from_json(body)
