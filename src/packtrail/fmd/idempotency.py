"""``clientTrxId``: every request is idempotent.

The node stores the first answer under the client's transaction id. When the
same id comes again, :func:`replay` decides: the same request gets the first
answer back unchanged (and nothing is applied again); a different request
under a used id is ``NMVS_TE_TX_01`` and changes nothing.

>>> from datetime import datetime, timezone
>>> from packtrail.fmd.codes import ReturnCode, TransactionCode
>>> from packtrail.fmd.idempotency import RecordedTransaction, replay, request_fingerprint
>>> from packtrail.fmd.model import PackRequest, TransactionOutcome
>>> now = datetime(2026, 3, 1, tzinfo=timezone.utc)
>>> first = PackRequest.create(product_code="09506000134352", serial="S1", batch="L1", expiry="270131",
...                            client_trx_id="t-1")
>>> answer = TransactionOutcome(TransactionCode.G120, ReturnCode.NMVS_SUCCESS, first, now)
>>> recorded = RecordedTransaction(request_fingerprint(TransactionCode.G120, first), answer)
>>> replay(TransactionCode.G120, first, recorded, now) is answer
True
>>> other = PackRequest.create(product_code="09506000134352", serial="S2", batch="L1", expiry="270131",
...                            client_trx_id="t-1")
>>> replay(TransactionCode.G120, other, recorded, now).return_code.value
'NMVS_TE_TX_01'
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from packtrail.fmd.codes import ReturnCode, TransactionCode
from packtrail.fmd.model import PackRequest, TransactionOutcome

__all__ = ["RecordedTransaction", "replay", "request_fingerprint"]


def request_fingerprint(transaction_code: TransactionCode, request: PackRequest) -> str:
    """A digest of what the request asks (code, product code, serial, batch, expiry), without its id."""
    parts = (
        transaction_code.value,
        request.scheme,
        request.product_code,
        request.serial,
        request.batch,
        request.expiry,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class RecordedTransaction:
    """What a node keeps per ``(client, clientTrxId)``: the request's fingerprint and the first answer."""

    fingerprint: str
    """:func:`request_fingerprint` of the first request."""
    outcome: TransactionOutcome
    """The answer the first request got."""


def replay(
    transaction_code: TransactionCode, request: PackRequest, first: RecordedTransaction, now: datetime
) -> TransactionOutcome:
    """The answer to a request whose ``clientTrxId`` was used before: the first answer when the
    request is the same, else ``NMVS_TE_TX_01``. Either way nothing is applied."""
    if request_fingerprint(transaction_code, request) == first.fingerprint:
        return first.outcome
    return TransactionOutcome(transaction_code, ReturnCode.NMVS_TE_TX_01, request, now)
