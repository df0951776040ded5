"""The EU repositories system: the domain core of a national verification system and the hub.

A national medicines verification system (NMVS) keeps one record per pack —
Active, or Inactive with a reason — and answers the NMVS transactions of
pharmacies and wholesalers (G110 verify, G120 dispense, G121 undo, …) with a
return code and, where the rules say so, an alert for the product's owner.
This package holds those rules as pure functions over frozen values, with no
clock, store or network inside, so the HTTP nodes stay thin:

>>> from datetime import date, datetime, timezone
>>> from packtrail.fmd import (
...     Batch, Client, PackRecord, ProductMaster, Role, TransactionCode, apply, policy_for, read_request)
>>> now = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
>>> product = ProductMaster("09506000134352", "GTIN", "Examplin 10 mg", ("DE",), owner="mah-1")
>>> batch = Batch("09506000134352", "L1", "270131", date(2027, 1, 31), ("DE",))
>>> pharmacy = Client("apo-1", Role.PHARMACY, "LOC-1", "anna")
>>> request = read_request({"scan": "(01)09506000134352(17)270131(10)L1(21)ABC123", "clientTrxId": "t-1"})

The serial on file is ``abc123``; serials compare case-sensitively, so the
repository does not know ``ABC123`` and raises alert A3:

>>> outcome, new = apply(TransactionCode.G110, request, None, product, batch, pharmacy, now, policy_for("DE"))
>>> outcome.return_code.value, outcome.alert.value, new
('NMVS_NC_PC_02', 'A3', None)

Modules: :mod:`~packtrail.fmd.codes` (transaction, return and alert codes),
:mod:`~packtrail.fmd.states` (pack states and reasons), :mod:`~packtrail.fmd.fields`
(field checks), :mod:`~packtrail.fmd.model` (value types), :mod:`~packtrail.fmd.policy`
(per-market tables), :mod:`~packtrail.fmd.rules` (the transaction engine),
:mod:`~packtrail.fmd.upload` (upload, recall, withdrawal), :mod:`~packtrail.fmd.scan`
(raw scans), :mod:`~packtrail.fmd.bulk` and :mod:`~packtrail.fmd.idempotency`.

The nodes built on this core (imported on their own, so the core stays free of
SQLAlchemy and HTTP): :mod:`~packtrail.fmd.storage` and :mod:`~packtrail.fmd.schema`
(the store, its Alembic tree in ``fmd/migrations``), :mod:`~packtrail.fmd.audit` (the
hash-chained audit trail), :mod:`~packtrail.fmd.alerts`, :mod:`~packtrail.fmd.outbox`,
:mod:`~packtrail.fmd.federation` and :mod:`~packtrail.fmd.http11` (node-to-node HTTP),
:mod:`~packtrail.fmd.national` and :mod:`~packtrail.fmd.bulkjobs` (a national system),
:mod:`~packtrail.fmd.hub` (the EU hub), :mod:`~packtrail.fmd.offline` (a pharmacy's
durable queue), :mod:`~packtrail.fmd.cli` (``packtrail fmd …``).
"""

from packtrail.fmd.bulk import (
    MAX_BULK_PACKS,
    MIXABLE_CODES,
    MixedBulk,
    bulk_return_code,
    check_bulk_request,
    read_mixed_bulk,
)
from packtrail.fmd.codes import AlertCode, Operation, OperationKind, ReturnCode, TransactionCode
from packtrail.fmd.errors import FmdInputError, ScanError, UploadRejected
from packtrail.fmd.idempotency import RecordedTransaction, replay, request_fingerprint
from packtrail.fmd.model import (
    Batch,
    Client,
    PackRecord,
    PackRequest,
    ProductMaster,
    Role,
    StateChange,
    TransactionOutcome,
)
from packtrail.fmd.policy import (
    EU_DEFAULT,
    POLICIES,
    UNDO_WINDOW,
    AlertRule,
    MarketPolicy,
    RepeatWarnings,
    Situation,
    UndoAuthority,
    policy_for,
)
from packtrail.fmd.rules import apply, effective_status, parse_transaction_code, unknown_product_everywhere
from packtrail.fmd.scan import read_request, read_scan, request_from_scan
from packtrail.fmd.states import BATCH_LEVEL_REASONS, NEVER_REVERSIBLE, PackState, Reason
from packtrail.fmd.upload import (
    BatchAcceptance,
    BatchUpload,
    ProductUpload,
    accept_batch,
    accept_product,
    recall_batch,
    withdraw_product,
)

__all__ = [
    "BATCH_LEVEL_REASONS",
    "EU_DEFAULT",
    "MAX_BULK_PACKS",
    "MIXABLE_CODES",
    "NEVER_REVERSIBLE",
    "POLICIES",
    "UNDO_WINDOW",
    "AlertCode",
    "AlertRule",
    "Batch",
    "BatchAcceptance",
    "BatchUpload",
    "Client",
    "FmdInputError",
    "MarketPolicy",
    "MixedBulk",
    "Operation",
    "OperationKind",
    "PackRecord",
    "PackRequest",
    "PackState",
    "ProductMaster",
    "ProductUpload",
    "Reason",
    "RecordedTransaction",
    "RepeatWarnings",
    "ReturnCode",
    "Role",
    "ScanError",
    "Situation",
    "StateChange",
    "TransactionCode",
    "TransactionOutcome",
    "UndoAuthority",
    "UploadRejected",
    "accept_batch",
    "accept_product",
    "apply",
    "bulk_return_code",
    "check_bulk_request",
    "effective_status",
    "parse_transaction_code",
    "policy_for",
    "read_mixed_bulk",
    "read_request",
    "read_scan",
    "recall_batch",
    "replay",
    "request_fingerprint",
    "request_from_scan",
    "unknown_product_everywhere",
    "withdraw_product",
]
