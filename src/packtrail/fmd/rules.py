"""The transaction engine of a national verification system, as a pure function.

:func:`apply` takes a transaction code, the request, what the store holds about
the pack, its product and batch, the client, the time and the market's policy,
and returns the answer and — only when the transaction changes the pack — the
new pack record. It reads no clock and no database, so the node layer can call
it inside its own store transaction and tests can call it with any "now".

The checks follow the matching order of the reference's §1.7, first match wins:

====  ==========================================  ==================  =====
step  condition                                   return code         alert
====  ==========================================  ==================  =====
0     market does not offer the operation/role    NMVS_FE_BR_01       —
1     product code unknown here                   NMVS_NC_PC_01       — (intermarket)
2     neither serial nor batch known              NMVS_FE_LOT_03      A2
3     batch known, serial unknown                 NMVS_NC_PC_02       A3
4     serial on file under another batch          NMVS_FE_LOT_13      A68
5     expiry differs from the batch's             NMVS_FE_LOT_12      A52
6     already in that state, set here             NMVS_NC_PCK_19      A7 (FI: 3 warnings, then A10)
7     inactive for another reason / elsewhere     NMVS_NC_PCK_22      A24
8     undo does not match the inactive reason     NMVS_NC_PCK_06      A24
9     undo after the window                       NMVS_NC_PCK_20      (policy)
10    undo by another user or location            NMVS_NC_PCK_21      (policy)
11    batch recalled                              NMVS_FE_LOT_01      none
12    product withdrawn                           NMVS_FE_LOT_08      none
13    batch expired                               NMVS_NC_PCK_02      none
====  ==========================================  ==================  =====

Recall, withdrawal and expiry make a pack inactive from above, so they are met
where steps 6-8 look at the pack's inactive reason: the code of step 11-13 is
returned instead, without an alert.

>>> from datetime import datetime, timezone
>>> from packtrail.fmd.codes import TransactionCode
>>> from packtrail.fmd.model import Batch, Client, PackRecord, PackRequest, ProductMaster, Role
>>> from packtrail.fmd.policy import policy_for
>>> from datetime import date
>>> now = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
>>> product = ProductMaster("09506000134352", "GTIN", "Examplin 10 mg, 30 tablets", ("DE",))
>>> batch = Batch("09506000134352", "L1", "270131", date(2027, 1, 31), ("DE",))
>>> pack = PackRecord("09506000134352", "abc123", "L1")
>>> pharmacy = Client("apo-1", Role.PHARMACY, "LOC-1", "anna")
>>> request = PackRequest.create(
...     product_code="09506000134352", serial="abc123", batch="L1", expiry="270131", client_trx_id="t-1"
... )
>>> outcome, new = apply(TransactionCode.G120, request, pack, product, batch, pharmacy, now, policy_for("DE"))
>>> outcome.return_code.value, outcome.state.value, outcome.reason.value, outcome.alert
('NMVS_SUCCESS', 'INACTIVE', 'SUPPLIED', None)
>>> new.last_change.location, new.last_change.user
('LOC-1', 'anna')

The same dispense again at the same pharmacy is "already in the requested state":

>>> outcome, again = apply(TransactionCode.G120, request, new, product, batch, pharmacy, now, policy_for("DE"))
>>> outcome.return_code.value, outcome.alert.value, again
('NMVS_NC_PCK_19', 'A7', None)

In Finland the same repeat is a warning the first three times and #A10 from the fourth on. The
engine does not keep the count — it is durable state of the node — but asks for it, through
``repeats``, only when a repeat happens in a market that counts them; the callable counts this
repeat and returns its number:

>>> fi = policy_for("FI")
>>> count = iter(range(1, 10))
>>> answers = [apply(TransactionCode.G120, request, new, product, batch, pharmacy, now, fi,
...                  repeats=lambda: next(count))[0] for _ in range(5)]
>>> [(a.return_code.value, a.alert, a.repeat) for a in answers]  # doctest: +NORMALIZE_WHITESPACE
[('NMVS_NC_PCK_19', None, 1), ('NMVS_NC_PCK_19', None, 2), ('NMVS_NC_PCK_19', None, 3),
 ('NMVS_NC_PCK_19', <AlertCode.A10: 'A10'>, 4), ('NMVS_NC_PCK_19', <AlertCode.A10: 'A10'>, 5)]
>>> answers[0].warning
'repeat 1 of this state change at this location: warning only, no alert; from repeat 4 on, #A10 is raised'
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from packtrail.fmd.codes import OperationKind, ReturnCode, TransactionCode
from packtrail.fmd.errors import FmdInputError
from packtrail.fmd.model import (
    Batch,
    Client,
    PackRecord,
    PackRequest,
    ProductMaster,
    StateChange,
    TransactionOutcome,
)
from packtrail.fmd.policy import AlertRule, MarketPolicy, Situation, UndoAuthority
from packtrail.fmd.states import NEVER_REVERSIBLE, PackState, Reason

__all__ = [
    "SITUATION_CODES",
    "apply",
    "effective_status",
    "parse_transaction_code",
    "unknown_product_everywhere",
]

SITUATION_CODES: dict[Situation, ReturnCode] = {
    Situation.OPERATION_NOT_OFFERED: ReturnCode.NMVS_FE_BR_01,
    Situation.PRODUCT_UNKNOWN_LOCALLY: ReturnCode.NMVS_NC_PC_01,
    Situation.PRODUCT_UNKNOWN_EVERYWHERE: ReturnCode.NMVS_NC_PC_01,
    Situation.BATCH_NOT_FOUND: ReturnCode.NMVS_FE_LOT_03,
    Situation.SERIAL_UNKNOWN: ReturnCode.NMVS_NC_PC_02,
    Situation.BATCH_MISMATCH: ReturnCode.NMVS_FE_LOT_13,
    Situation.EXPIRY_MISMATCH: ReturnCode.NMVS_FE_LOT_12,
    Situation.ALREADY_IN_STATE: ReturnCode.NMVS_NC_PCK_19,
    Situation.ALREADY_INACTIVE: ReturnCode.NMVS_NC_PCK_22,
    Situation.UNDO_TYPE_MISMATCH: ReturnCode.NMVS_NC_PCK_06,
    Situation.UNDO_ON_ACTIVE_PACK: ReturnCode.NMVS_NC_PCK_06,
    Situation.UNDO_WINDOW_EXCEEDED: ReturnCode.NMVS_NC_PCK_20,
    Situation.UNDO_BY_OTHER: ReturnCode.NMVS_NC_PCK_21,
    Situation.BATCH_RECALLED: ReturnCode.NMVS_FE_LOT_01,
    Situation.PRODUCT_WITHDRAWN: ReturnCode.NMVS_FE_LOT_08,
    Situation.PACK_EXPIRED: ReturnCode.NMVS_NC_PCK_02,
}
"""The NMVS return code of each situation: fixed by the interface, the same in every market."""

_ABOVE_THE_PACK: dict[Reason, Situation] = {
    Reason.WITHDRAWN: Situation.PRODUCT_WITHDRAWN,
    Reason.RECALLED: Situation.BATCH_RECALLED,
    Reason.EXPIRED: Situation.PACK_EXPIRED,
}


def parse_transaction_code(text: object) -> TransactionCode:
    """The transaction code named in a URL or body (``"G120"``); anything else is an input error."""
    if isinstance(text, str) and text in TransactionCode.__members__:
        return TransactionCode[text]
    raise FmdInputError(
        "code", f"expected an NMVS transaction code G110 … G196, found {text!r}", ReturnCode.NMVS_TE_REQ_02
    )


def effective_status(
    pack: PackRecord, batch: Batch, product: ProductMaster, now: datetime
) -> tuple[PackState, Reason | None]:
    """The pack's state as an end user sees it: product withdrawal, then batch recall, then batch
    expiry override the pack's own state (all three are irreversible and forbid any undo)."""
    if product.withdrawn:
        return PackState.INACTIVE, Reason.WITHDRAWN
    if batch.recalled:
        return PackState.INACTIVE, Reason.RECALLED
    if batch.is_expired(now):
        return PackState.INACTIVE, Reason.EXPIRED
    return pack.state, pack.reason


def unknown_product_everywhere(
    transaction_code: TransactionCode, request: PackRequest, now: datetime, policy: MarketPolicy
) -> TransactionOutcome:
    """The answer once the intermarket transaction found no market holding the product code (#A1)."""
    return _answer(Situation.PRODUCT_UNKNOWN_EVERYWHERE, transaction_code, request, now, policy)


def apply(
    transaction_code: TransactionCode,
    request: PackRequest,
    pack_view: PackRecord | None,
    product_view: ProductMaster | None,
    batch_view: Batch | None,
    client: Client,
    now: datetime,
    policy: MarketPolicy,
    *,
    repeats: Callable[[], int] | None = None,
) -> tuple[TransactionOutcome, PackRecord | None]:
    """Run one single-pack transaction (or one pack of a bulk request) through the rules.

    ``pack_view`` is the stored pack with the request's product code and serial, ``product_view``
    the stored product, ``batch_view`` the stored batch with the request's product code and batch;
    each ``None`` when the store has none. A view whose key differs from the request's (a store that
    compared case-insensitively) is treated as absent: serial and batch compare case-sensitively.

    Returns the answer and the new pack record, or ``None`` when the pack does not change (every
    rejected request, and every verify). ``now`` must be timezone-aware.

    ``repeats`` is the node's durable repeat counter: called (once) only when the request asks for the
    state the pack is already in at the client's location and ``policy`` counts such repeats
    (:attr:`~packtrail.fmd.policy.MarketPolicy.repeat_warnings`), it counts this repeat — per pack and
    location, since the pack's last state change — and returns its number, 1 for the first. A market
    that counts repeats needs it (a :class:`ValueError` otherwise); the others never call it.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now: expected a timezone-aware datetime, found {now!r}")
    operation = transaction_code.operation
    if operation.kind in (OperationKind.FETCH_RESULT, OperationKind.MIXED_BULK):
        raise FmdInputError(
            "code",
            f"{transaction_code.value} ({operation.title}) names no operation on a pack; "
            "expected a verify, decommission or undo code",
        )

    def answer(
        situation: Situation,
        state: PackState | None = None,
        reason: Reason | None = None,
        *,
        intermarket: bool = False,
        on_file_batch: str | None = None,
        on_file_expiry: str | None = None,
    ) -> tuple[TransactionOutcome, PackRecord | None]:
        outcome = _answer(
            situation,
            transaction_code,
            request,
            now,
            policy,
            state=state,
            reason=reason,
            intermarket=intermarket,
            on_file_batch=on_file_batch,
            on_file_expiry=on_file_expiry,
        )
        return outcome, None

    # Step 0: is the operation offered in this market, to this role?
    if not _offered(operation.kind, operation.reason, client, policy):
        return answer(Situation.OPERATION_NOT_OFFERED)

    product = (
        product_view
        if product_view is not None and product_view.product_code == request.product_code
        else None
    )
    pack = (
        pack_view
        if pack_view is not None
        and pack_view.product_code == request.product_code
        and pack_view.serial == request.serial
        else None
    )
    batch = (
        batch_view
        if batch_view is not None
        and batch_view.product_code == request.product_code
        and batch_view.batch == request.batch
        else None
    )

    # Steps 1-5: identify the pack.
    if product is None:
        return answer(Situation.PRODUCT_UNKNOWN_LOCALLY, intermarket=transaction_code.is_single_pack)
    if pack is None:
        return answer(Situation.SERIAL_UNKNOWN if batch is not None else Situation.BATCH_NOT_FOUND)
    if pack.batch != request.batch:
        return answer(Situation.BATCH_MISMATCH, on_file_batch=pack.batch)
    if batch is None:
        raise ValueError(
            f"batch_view: the store holds pack {pack.serial!r} in batch {pack.batch!r} of "
            f"{pack.product_code} but passed no record of that batch"
        )
    if batch.expiry != request.expiry:
        return answer(Situation.EXPIRY_MISMATCH, on_file_expiry=batch.expiry)

    state, reason = effective_status(pack, batch, product, now)
    above = _ABOVE_THE_PACK.get(reason) if reason is not None else None

    # Steps 11-13 for a verify: the pack is inactive from above; informational, no alert.
    if operation.kind is OperationKind.VERIFY:
        if above is not None:
            return answer(above, state, reason)
        return _success(transaction_code, request, now, state, reason), None

    if operation.kind is OperationKind.DECOMMISSION:
        assert operation.reason is not None
        if above is not None:
            return answer(above, state, reason)
        if state is PackState.INACTIVE:
            here = pack.last_change is not None and pack.last_change.location == client.location
            if reason is operation.reason and here:
                if policy.repeat_warnings is None:
                    return answer(Situation.ALREADY_IN_STATE, state, reason)
                if repeats is None:
                    raise ValueError(
                        f"repeats: the {policy.market} policy counts repeats of a state change; "
                        "expected the node's repeat counter"
                    )
                return _repeat(transaction_code, request, now, policy, repeats(), state, reason), None
            return answer(Situation.ALREADY_INACTIVE, state, reason)
        return _change(transaction_code, request, pack, operation.reason, client, now)

    # Undo.
    assert operation.reason is not None
    if above is not None:
        return answer(above, state, reason)
    if state is PackState.ACTIVE:
        return answer(Situation.UNDO_ON_ACTIVE_PACK, state, reason)
    if reason is not operation.reason or reason in NEVER_REVERSIBLE:
        return answer(Situation.UNDO_TYPE_MISMATCH, state, reason)
    last = pack.last_change
    window = policy.undo_windows[operation.reason]
    if last is not None and window is not None and now - last.at > window:
        return answer(Situation.UNDO_WINDOW_EXCEEDED, state, reason)
    if last is None or not _same_party(last, client, policy.undo_authority):
        return answer(Situation.UNDO_BY_OTHER, state, reason)
    return _change(transaction_code, request, pack, None, client, now)


def _offered(kind: OperationKind, reason: Reason | None, client: Client, policy: MarketPolicy) -> bool:
    if kind is OperationKind.VERIFY:
        return client.role in policy.verify_roles
    assert reason is not None
    if kind is OperationKind.DECOMMISSION:
        return policy.may_decommission(client.role, reason)
    # An undo is open to whoever made the change (checked at step 10); the market must offer it.
    return reason in policy.undo_windows


def _same_party(last: StateChange, client: Client, authority: UndoAuthority) -> bool:
    same_place = last.location == client.location and last.client_id == client.client_id
    if authority is UndoAuthority.SAME_LOCATION:
        return same_place
    return same_place and last.user == client.user


def _change(
    transaction_code: TransactionCode,
    request: PackRequest,
    pack: PackRecord,
    reason: Reason | None,
    client: Client,
    now: datetime,
) -> tuple[TransactionOutcome, PackRecord]:
    state = PackState.ACTIVE if reason is None else PackState.INACTIVE
    change = StateChange(
        transaction=transaction_code,
        reason=reason,
        location=client.location,
        user=client.user,
        client_id=client.client_id,
        at=now,
        client_trx_id=request.client_trx_id,
    )
    new = PackRecord(pack.product_code, pack.serial, pack.batch, state, reason, change)
    return _success(transaction_code, request, now, state, reason), new


def _success(
    transaction_code: TransactionCode,
    request: PackRequest,
    now: datetime,
    state: PackState,
    reason: Reason | None,
) -> TransactionOutcome:
    return TransactionOutcome(
        transaction=transaction_code,
        return_code=ReturnCode.NMVS_SUCCESS,
        request=request,
        at=now,
        state=state,
        reason=reason,
    )


def _repeat(
    transaction_code: TransactionCode,
    request: PackRequest,
    now: datetime,
    policy: MarketPolicy,
    repeat: int,
    state: PackState,
    reason: Reason | None,
) -> TransactionOutcome:
    """Step 6 in a market that counts repeats: the return code of the situation, with a warning or
    with the alert the policy names for repeat number ``repeat``."""
    if repeat < 1:
        raise ValueError(f"repeats: the counter returned {repeat!r}, expected a repeat number >= 1")
    warning = None
    if policy.repeat_warnings is not None and policy.repeat_warnings.warns(repeat):
        warning = policy.repeat_warnings.warning(repeat)
    return _answer(
        Situation.ALREADY_IN_STATE,
        transaction_code,
        request,
        now,
        policy,
        state=state,
        reason=reason,
        rule=policy.repeat_rule(repeat),
        repeat=repeat,
        warning=warning,
    )


def _answer(
    situation: Situation,
    transaction_code: TransactionCode,
    request: PackRequest,
    now: datetime,
    policy: MarketPolicy,
    *,
    state: PackState | None = None,
    reason: Reason | None = None,
    intermarket: bool = False,
    on_file_batch: str | None = None,
    on_file_expiry: str | None = None,
    rule: AlertRule | None = None,
    repeat: int | None = None,
    warning: str | None = None,
) -> TransactionOutcome:
    """The answer of ``situation``, with the market's alert rule for it (or ``rule``)."""
    if rule is None:
        rule = policy.alert_for(situation)
    return TransactionOutcome(
        transaction=transaction_code,
        return_code=SITUATION_CODES[situation],
        request=request,
        at=now,
        alert=rule.hub_code,
        alert_raised=rule.alert,
        state=state,
        reason=reason,
        intermarket=intermarket,
        on_file_batch=on_file_batch,
        on_file_expiry=on_file_expiry,
        repeat=repeat,
        warning=warning,
    )
