"""Random sequences of transactions, clock moves, recalls and withdrawals on a few packs.

Whatever the order, the rules never reach a state they forbid: a rejected request leaves every pack
unchanged, a verify changes nothing, a stolen or destroyed pack never changes again, a recalled,
withdrawn or expired pack neither changes nor raises an alert, and an undo succeeds only for the same
reason, the same user and location, within the market's window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from packtrail.fmd import (
    BATCH_LEVEL_REASONS,
    EU_DEFAULT,
    Client,
    OperationKind,
    PackRecord,
    PackState,
    Reason,
    ReturnCode,
    TransactionCode,
    effective_status,
    recall_batch,
    withdraw_product,
)
from test_fmd_catalogue import (
    GTIN,
    MAH,
    PHARMACY_L1,
    PHARMACY_L1_OTHER_USER,
    PHARMACY_L2,
    T0,
    WHOLESALER,
    World,
)

PACK_CODES = [
    code
    for code in TransactionCode
    if code.operation.kind in (OperationKind.VERIFY, OperationKind.DECOMMISSION, OperationKind.UNDO)
]
UNDO_CODES = [code for code in PACK_CODES if code.operation.kind is OperationKind.UNDO]
UNDO_BY_REASON = {code.operation.reason: code for code in UNDO_CODES if code.is_single_pack}
ALLOWED_DECOMMISSIONS = [
    (code, client)
    for code in PACK_CODES
    if code.is_single_pack and code.operation.kind is OperationKind.DECOMMISSION
    for client in (PHARMACY_L1, WHOLESALER)
    if code.operation.reason is not None and EU_DEFAULT.may_decommission(client.role, code.operation.reason)
]
SERIALS = {"P0": "B1", "P1": "B1", "P2": "B2"}
EXPIRIES = {"B1": "281231", "B2": "260310"}  # B2 expires eight days after T0
CLIENTS = [PHARMACY_L1, PHARMACY_L1_OTHER_USER, PHARMACY_L2, WHOLESALER, MAH]
FAULTS = ["none"] * 6 + ["serial-case", "batch-case", "expiry", "unknown-serial"]


class PackStates(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = World(market="DE")
        for batch, expiry in EXPIRIES.items():
            self.world.upload([s for s, b in SERIALS.items() if b == batch], batch=batch, expiry=expiry)
        self.now: datetime = T0
        self.final: dict[str, PackRecord] = {}  # serial -> record when it was stolen or destroyed
        self.steps = 0

    @rule(
        code=st.sampled_from(PACK_CODES),
        serial=st.sampled_from(sorted(SERIALS)),
        client=st.sampled_from(CLIENTS),
        fault=st.sampled_from(FAULTS),
    )
    def transact(self, code: TransactionCode, serial: str, client: Client, fault: str) -> None:
        self.steps += 1
        world = self.world
        batch_id = SERIALS[serial]
        fields = {"batch": batch_id, "expiry": EXPIRIES[batch_id]}
        asked = serial
        if fault == "serial-case":
            asked = serial.lower()
        elif fault == "batch-case":
            fields["batch"] = batch_id.lower()
        elif fault == "expiry":
            fields["expiry"] = "281130"
        elif fault == "unknown-serial":
            asked = "P9"
        before = dict(world.packs)
        pack = world.pack(serial)
        state, reason = effective_status(
            pack, world.batches[(GTIN, batch_id)], world.products[GTIN], self.now
        )

        outcome, new = world.run(code, client, asked, now=self.now, **fields)
        operation = code.operation

        assert (outcome.alert is None) or (outcome.alert_raised and not outcome.ok)
        if not outcome.ok:
            assert new is None
            assert world.packs == before, "a rejected request changed a pack"
            if fault != "none" and outcome.return_code is not ReturnCode.NMVS_FE_BR_01:
                assert outcome.alert_raised, "a mismatching request must raise an alert"
            if (
                fault == "none"
                and reason in BATCH_LEVEL_REASONS
                and outcome.return_code is not ReturnCode.NMVS_FE_BR_01
            ):
                assert (outcome.alert, outcome.alert_raised) == (None, False), (
                    "recall/withdrawal/expiry alerted"
                )
                assert outcome.reason is reason
            return
        assert fault == "none", "a mismatching request succeeded"
        assert reason not in BATCH_LEVEL_REASONS or new is None
        if operation.kind is OperationKind.VERIFY:
            assert new is None and (outcome.state, outcome.reason) == (state, reason)
            return
        assert new is not None, "a performed state change returned no record"
        assert (new.product_code, new.serial, new.batch) == (pack.product_code, pack.serial, pack.batch)
        assert (outcome.state, outcome.reason) == (new.state, new.reason)
        assert serial not in self.final, "a stolen or destroyed pack changed"
        assert reason not in BATCH_LEVEL_REASONS, "a recalled, withdrawn or expired pack changed"
        if operation.kind is OperationKind.DECOMMISSION:
            assert state is PackState.ACTIVE and new.reason is operation.reason
        else:
            last = pack.last_change
            assert last is not None and reason is not None and reason is operation.reason
            assert (last.location, last.user, last.client_id) == (
                client.location,
                client.user,
                client.client_id,
            )
            window = world.policy.undo_windows[reason]
            assert window is None or self.now - last.at <= window
            assert new.state is PackState.ACTIVE
        assert new.last_change is not None and new.last_change.at == self.now
        if new.reason in (Reason.STOLEN, Reason.DESTROYED):
            self.final[serial] = new

    @rule(serial=st.sampled_from(sorted(SERIALS)), allowed=st.sampled_from(ALLOWED_DECOMMISSIONS))
    def decommission(self, serial: str, allowed: tuple[TransactionCode, Client]) -> None:
        """A decommission the market offers to the client's role, with a well-formed request."""
        self.transact(allowed[0], serial, allowed[1], "none")

    @rule(serial=st.sampled_from(sorted(SERIALS)), same=st.booleans(), code=st.sampled_from(UNDO_CODES))
    def undo_as_the_decommissioner(self, serial: str, same: bool, code: TransactionCode) -> None:
        """Aim undos at packs somebody decommissioned: the matching code from the same party, or not."""
        pack = self.world.pack(serial)
        last = pack.last_change
        if last is None or pack.reason is None:
            return
        owner = next(
            c
            for c in CLIENTS
            if (c.client_id, c.user, c.location) == (last.client_id, last.user, last.location)
        )
        matching = UNDO_BY_REASON.get(pack.reason)
        if same and matching is not None:
            code = matching
        client = owner if same else next(c for c in CLIENTS if c != owner)
        self.transact(code, serial, client, "none")

    @rule(hours=st.sampled_from([1, 100, 239, 241, 720]))
    def advance_clock(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @precondition(lambda self: self.steps >= 12)
    @rule(what=st.sampled_from(["recall B1", "recall B2", "withdraw"]))
    def inactivate_from_above(self, what: str) -> None:
        """Late in a run (so packs have a history first): recall a batch or withdraw the product."""
        world = self.world
        if what == "withdraw":
            world.products[GTIN] = withdraw_product(world.products[GTIN], MAH, self.now)
        else:
            key = (GTIN, what.split()[1])
            world.batches[key] = recall_batch(world.batches[key], world.products[GTIN], MAH, self.now)

    @invariant()
    def final_states_stay_final(self) -> None:
        for serial, record in self.final.items():
            assert self.world.pack(serial) == record

    @invariant()
    def packs_store_only_pack_level_reasons(self) -> None:
        for record in self.world.packs.values():
            assert record.reason not in BATCH_LEVEL_REASONS
            assert (record.state is PackState.ACTIVE) == (record.reason is None)


PackStates.TestCase.settings = settings(max_examples=150, stateful_step_count=40)
test_pack_states = PackStates.TestCase
