"""Bulk transactions (``G1x5``, ``G1x7``, the mixed ``G195``): limits, request checks, the overall code.

A bulk request lists up to :data:`MAX_BULK_PACKS` packs; each pack goes
through :func:`packtrail.fmd.rules.apply` as its single-pack counterpart (a
bulk never triggers an intermarket transaction). The client fetches the
per-pack results later (G188) together with one overall code:

>>> from packtrail.fmd.bulk import bulk_return_code
>>> from packtrail.fmd.codes import ReturnCode
>>> S, U = ReturnCode.NMVS_SUCCESS, ReturnCode.NMVS_NC_PC_02
>>> bulk_return_code([S, S, S]).value, bulk_return_code([S, U, S]).value, bulk_return_code([U, U]).value
('NMVS_SUCCESS', 'NMVS_NC_PCK_24', 'NMVS_NC_PCK_17')

A **mixed bulk** (G195, reference §2.2) lists packs that each name their own single-pack operation —
verify, decommission or undo — and is fetched with G196. :func:`read_mixed_bulk` reads its body;
anything it cannot use is an :class:`~packtrail.fmd.errors.FmdInputError` naming the field:

>>> mixed = read_mixed_bulk({"clientTrxId": "m-1", "packs": [
...     {"code": "G120", "productCode": "09506000134352", "serialNumber": "S1", "batch": "B1",
...      "expiry": "301231"},
...     {"code": "G110", "scan": "]d201095060001343521730123110B1\x1d21S2"}]})
>>> [code.value for code in mixed.codes], mixed.client_trx_id
(['G120', 'G110'], 'm-1')
>>> read_mixed_bulk({"clientTrxId": "m-2", "packs": [{"code": "G125", "serialNumber": "S1"}]})
Traceback (most recent call last):
...
packtrail.fmd.errors.FmdInputError: packs[0].code: expected the single-pack operation of this pack — a verify, decommission or undo code (G110, G120, G121, G130, G140, G141, G150, G151, G160, G161, G170, G171, G180) — found 'G125' [NMVS_FE_REQ_02]

Each pack's own fields are read when the job runs, as in the other bulks: a pack that cannot be read
is a per-pack result (:func:`mixed_pack_request`), not a refusal of the whole list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from packtrail.fmd.codes import OperationKind, ReturnCode, TransactionCode
from packtrail.fmd.errors import FmdInputError
from packtrail.fmd.model import PackRequest
from packtrail.fmd.scan import read_request

__all__ = [
    "MAX_BULK_PACKS",
    "MIXABLE_CODES",
    "MixedBulk",
    "bulk_return_code",
    "check_bulk_request",
    "mixed_entry_code",
    "mixed_pack_request",
    "read_mixed_bulk",
]

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


MIXABLE_CODES: tuple[TransactionCode, ...] = tuple(
    code
    for code in TransactionCode
    if code.is_single_pack
    and code.operation.kind in (OperationKind.VERIFY, OperationKind.DECOMMISSION, OperationKind.UNDO)
)
"""The operations a pack of a mixed bulk (G195) may name: the single-pack verify, decommission and undo
codes (G110 … G180) — not bulk codes, not G188/G195/G196."""

_MIXABLE_BY_TEXT: dict[str, TransactionCode] = {code.value: code for code in MIXABLE_CODES}
_MIXABLE_LIST = ", ".join(_MIXABLE_BY_TEXT)


@dataclass(frozen=True, slots=True)
class MixedBulk:
    """A G195 request as read by :func:`read_mixed_bulk`: the client's id, each pack's operation, the packs
    as sent (each pack's own fields are read when the job runs)."""

    client_trx_id: str
    codes: tuple[TransactionCode, ...]
    packs: list[dict[str, Any]]


def mixed_entry_code(index: int, item: object) -> TransactionCode:
    """The single-pack operation entry ``packs[index]`` of a mixed bulk names in its ``code``."""
    if not isinstance(item, Mapping):
        raise FmdInputError(
            f"packs[{index}]", "expected an object with the pack's code and its fields or a scan"
        )
    code = item.get("code")
    found = _MIXABLE_BY_TEXT.get(code) if isinstance(code, str) else None
    if found is None:
        shown = "nothing" if "code" not in item else repr(code)
        raise FmdInputError(
            f"packs[{index}].code",
            "expected the single-pack operation of this pack — a verify, decommission or undo code "
            f"({_MIXABLE_LIST}) — found {shown}",
        )
    return found


def read_mixed_bulk(body: object) -> MixedBulk:
    """Read a mixed bulk request (G195) ``{clientTrxId, packs: [{code, productCode, serialNumber, batch,
    expiry} | {code, scan}, …]}``: 1 to :data:`MAX_BULK_PACKS` packs, each naming its operation in
    ``code`` (one of :data:`MIXABLE_CODES`). Raises :class:`FmdInputError` — and nothing else, whatever
    JSON it is given — naming the first field at fault (``packs[3].code``, ``clientTrxId``, …)."""
    if not isinstance(body, Mapping):
        raise FmdInputError("body", f"expected a JSON object, found {type(body).__name__}")
    packs = body.get("packs")
    if not isinstance(packs, list):
        raise FmdInputError("packs", f"expected a list of packs, found {type(packs).__name__}")
    if not 1 <= len(packs) <= MAX_BULK_PACKS:
        raise FmdInputError("packs", f"a bulk request lists 1 to {MAX_BULK_PACKS} packs, found {len(packs)}")
    codes = tuple(mixed_entry_code(index, item) for index, item in enumerate(packs))
    trx = body.get("clientTrxId")
    if not isinstance(trx, str) or not 1 <= len(trx) <= 100:
        raise FmdInputError("clientTrxId", f"expected 1 to 100 characters of text, found {trx!r}")
    return MixedBulk(trx, codes, [dict(item) for item in packs])


def mixed_pack_request(index: int, item: object, client_trx_id: str) -> tuple[TransactionCode, PackRequest]:
    """Entry ``packs[index]`` of a mixed bulk as its operation and the pack request (under the job's
    per-pack id ``client_trx_id``); raises :class:`FmdInputError` naming ``packs[index].…``."""
    code = mixed_entry_code(index, item)
    assert isinstance(item, Mapping)
    fields = {key: value for key, value in item.items() if key != "code"}
    try:
        return code, read_request({**fields, "clientTrxId": client_trx_id})
    except FmdInputError as exc:
        raise FmdInputError(f"packs[{index}].{exc.field}", exc.reason, exc.return_code) from None
