"""The error types of :mod:`packtrail.fmd`: bad input is never an alert.

A national system answers a *well-formed* request about an unknown or
mismatching pack with a return code and, where the rules say so, an alert
(see :mod:`packtrail.fmd.rules`). A request that cannot even be read — a scan
whose GS1 data is broken, an expiry that is not ``YYMMDD``, a GTIN with a wrong
check digit — is an input error: it raises :class:`FmdInputError` (a
:class:`ValueError`), names the field and what was expected, and carries the
NMVS return code the answer should show. No pack is looked up, no alert is
raised.

>>> from packtrail.fmd.errors import FmdInputError
>>> from packtrail.fmd.codes import ReturnCode
>>> err = FmdInputError("expiry", "expected YYMMDD, found '2027-01-31'", ReturnCode.NMVS_FE_LOT_07)
>>> str(err)
"expiry: expected YYMMDD, found '2027-01-31' [NMVS_FE_LOT_07]"
>>> err.field, err.return_code.value
('expiry', 'NMVS_FE_LOT_07')
"""

from __future__ import annotations

from packtrail.fmd.codes import ReturnCode

__all__ = ["FmdInputError", "ScanError", "UploadRejected"]


class FmdInputError(ValueError):
    """A request field that cannot be read: the field, what was expected, the NMVS return code."""

    field: str
    """The request field at fault, in the JSON body's spelling (``productCode``, ``serialNumber``, …)."""
    reason: str
    """What was wrong and what was expected instead."""
    return_code: ReturnCode
    """The NMVS return code the answer carries (``NMVS_FE_REQ_02`` unless a closer one exists)."""

    def __init__(self, field: str, reason: str, return_code: ReturnCode = ReturnCode.NMVS_FE_REQ_02) -> None:
        self.field = field
        self.reason = reason
        self.return_code = return_code
        super().__init__(f"{field}: {reason} [{return_code.value}]")


class ScanError(FmdInputError):
    """A raw DataMatrix scan that does not hold a complete pack identifier.

    Raised for broken GS1 or IFA data (the :class:`~packtrail.gs1.GS1Error` text is kept in
    :attr:`reason`), for a case label (SSCC) scanned instead of a pack, and for a scan missing
    the product code, serial, batch or expiry. Never an alert: the scanner, not the pack, is at fault.
    """


class UploadRejected(FmdInputError):
    """A product or batch upload the repository refuses, with the NMVS return code.

    ``NMVS_FE_SN_02`` (product code + serial already exist), ``NMVS_FE_LOT_02`` (the batch
    exists with another expiry), ``NMVS_FE_LOT_08`` (the product is withdrawn),
    ``NMVS_NC_PC_03`` (the product belongs to another client), … The whole upload is refused:
    nothing of it is stored.
    """
