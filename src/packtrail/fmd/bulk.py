"""Bulk transactions (``G1x5``, ``G1x7``): limits and the overall return code.

A bulk request lists up to :data:`MAX_BULK_PACKS` packs; each pack goes
through :func:`packtrail.fmd.rules.apply` as its single-pack counterpart (a
bulk never triggers an intermarket transaction). The client fetches the
per-pack results later (G188) together with one overall code:

>>> from packtrail.fmd.bulk import bulk_return_code
>>> from packtrail.fmd.codes import ReturnCode
>>> S, U = ReturnCode.NMVS_SUCCESS, ReturnCode.NMVS_NC_PC_02
>>> bulk_return_code([S, S, S]).value, bulk_return_code([S, U, S]).value, bulk_return_code([U, U]).value
('NMVS_SUCCESS', 'NMVS_NC_PCK_24', 'NMVS_NC_PCK_17')
"""

from __future__ import annotations

from collections.abc import Iterable

from packtrail.fmd.codes import OperationKind, ReturnCode, TransactionCode
from packtrail.fmd.errors import FmdInputError

__all__ = ["MAX_BULK_PACKS", "bulk_return_code", "check_bulk_request"]

MAX_BULK_PACKS = 1000
"""The most packs one bulk request may list."""


def check_bulk_request(transaction_code: TransactionCode, pack_count: int) -> TransactionCode:
    """Check a bulk submission and return the single-pack code each of its packs is processed as.

    The code must be a bulk verify, decommission or undo (not G188/G195/G196, not a single-pack
    code) and the list must hold 1 to :data:`MAX_BULK_PACKS` packs.
    """
    operation = transaction_code.operation
    if not operation.bulk or operation.single is None or operation.kind is OperationKind.MIXED_BULK:
        raise FmdInputError(
            "code", f"{transaction_code.value} ({operation.title}) is not a bulk verify, decommission or undo"
        )
    if not 1 <= pack_count <= MAX_BULK_PACKS:
        raise FmdInputError("packs", f"a bulk request lists 1 to {MAX_BULK_PACKS} packs, found {pack_count}")
    return operation.single


def bulk_return_code(pack_codes: Iterable[ReturnCode]) -> ReturnCode:
    """The overall code of a bulk result: ``NMVS_SUCCESS`` when every pack succeeded,
    ``NMVS_NC_PCK_17`` when none did, ``NMVS_NC_PCK_24`` when some did not."""
    succeeded = failed = 0
    for code in pack_codes:
        if code.is_success:
            succeeded += 1
        else:
            failed += 1
    if succeeded + failed == 0:
        raise ValueError("pack_codes: a bulk result has at least one pack")
    if failed == 0:
        return ReturnCode.NMVS_SUCCESS
    return ReturnCode.NMVS_NC_PCK_17 if succeeded == 0 else ReturnCode.NMVS_NC_PCK_24
