"""The reference's catalogue 6.1 (EU-01 … EU-21), at the level of the pure domain core.

Each test is named after its row and states the row's given/when/then. The world here is a
dictionary per national system standing in for a store (dictionary lookups compare exactly,
as a case-sensitive store must). Rows that need processes, HTTP, an audit store or a clock
over the network (EU-17, EU-18, EU-21, and the routing and async parts of EU-03 and EU-19)
belong to the node tests; here their domain part is covered where one exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from packtrail.fmd import (
    AlertCode,
    Batch,
    BatchUpload,
    Client,
    MarketPolicy,
    OperationKind,
    PackRecord,
    PackRequest,
    PackState,
    ProductMaster,
    ProductUpload,
    Reason,
    RecordedTransaction,
    ReturnCode,
    Role,
    TransactionCode,
    TransactionOutcome,
    UploadRejected,
    accept_batch,
    accept_product,
    apply,
    bulk_return_code,
    check_bulk_request,
    policy_for,
    recall_batch,
    replay,
    request_fingerprint,
    unknown_product_everywhere,
    withdraw_product,
)

T = TransactionCode
R = ReturnCode
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GTIN = "09506000134352"
OTHER_GTIN = "04012345000016"
EXPIRY = "281231"

MAH = Client("mah-1", Role.MANUFACTURER, "MAH-SITE", "ops")
PHARMACY_L1 = Client("apo-1", Role.PHARMACY, "L1", "anna")
PHARMACY_L1_OTHER_USER = Client("apo-1", Role.PHARMACY, "L1", "bert")
PHARMACY_L2 = Client("apo-2", Role.PHARMACY, "L2", "carla")
WHOLESALER = Client("gh-1", Role.WHOLESALER, "W1", "dirk")

DECOMMISSIONS = tuple(c for c in T if c.is_single_pack and c.operation.kind is OperationKind.DECOMMISSION)
UNDOS = tuple(c for c in T if c.is_single_pack and c.operation.kind is OperationKind.UNDO)


@dataclass
class World:
    """One national system's records, kept in dictionaries; :meth:`run` applies the rules and stores."""

    market: str = "DE"
    products: dict[str, ProductMaster] = field(default_factory=dict)
    batches: dict[tuple[str, str], Batch] = field(default_factory=dict)
    packs: dict[tuple[str, str], PackRecord] = field(default_factory=dict)
    counter: int = 0

    @property
    def policy(self) -> MarketPolicy:
        return policy_for(self.market)

    def upload(
        self,
        serials: Iterable[str],
        *,
        batch: str = "L1",
        expiry: str = EXPIRY,
        code: str = GTIN,
        now: datetime = T0,
    ) -> Batch:
        """Upload master data (once) and a batch of ``serials``, as the hub would deliver them."""
        if code not in self.products:
            upload = ProductUpload.from_json(
                {"productCode": code, "name": "Examplin 10 mg", "markets": [self.market]}
            )
            self.products[code] = accept_product(upload, None, MAH, now)
        upload_batch = BatchUpload.from_json(
            {"productCode": code, "batch": batch, "expiry": expiry, "serials": list(serials)}
        )
        accepted = accept_batch(
            upload_batch,
            self.products[code],
            self.batches.get((code, batch)),
            {serial for (pc, serial) in self.packs if pc == code},
            MAH,
            now,
        )
        self.batches[(code, batch)] = accepted.batch
        self.packs.update({(code, p.serial): p for p in accepted.packs})
        return accepted.batch

    def request(
        self,
        serial: str,
        *,
        batch: str = "L1",
        expiry: str = EXPIRY,
        product_code: str = GTIN,
        trx: str | None = None,
    ) -> PackRequest:
        self.counter += 1
        return PackRequest.create(
            product_code=product_code,
            serial=serial,
            batch=batch,
            expiry=expiry,
            client_trx_id=trx or f"trx-{self.counter}",
        )

    def run(
        self, code: TransactionCode, client: Client, serial: str, *, now: datetime = T0, **fields: str
    ) -> tuple[TransactionOutcome, PackRecord | None]:
        """Apply one transaction and store the new pack record, if any."""
        request = self.request(serial, **fields)
        outcome, new = self.apply(code, request, client, now)
        return outcome, new

    def apply(
        self, code: TransactionCode, request: PackRequest, client: Client, now: datetime = T0
    ) -> tuple[TransactionOutcome, PackRecord | None]:
        outcome, new = apply(
            code,
            request,
            self.packs.get((request.product_code, request.serial)),
            self.products.get(request.product_code),
            self.batches.get((request.product_code, request.batch)),
            client,
            now,
            self.policy,
        )
        if new is not None:
            self.packs[(new.product_code, new.serial)] = new
        return outcome, new

    def pack(self, serial: str, code: str = GTIN) -> PackRecord:
        return self.packs[(code, serial)]


# --------------------------------------------------------------------------- EU-01


def test_eu_01_upload_makes_every_pack_active_in_each_market_and_rejects_duplicates() -> None:
    """Given an OBP uploads batch B (PC, expiry, 10,000 SNs, markets {DE, AT}), when the upload completes,
    then every pack is Active in DE and AT; re-uploading an existing PC+SN fails with NMVS_FE_SN_02;
    the same batch with another expiry fails NMVS_FE_LOT_02."""
    serials = [f"SN{n:08d}" for n in range(10_000)]
    product = accept_product(
        ProductUpload.from_json({"productCode": GTIN, "name": "Examplin", "markets": ["DE", "AT"]}),
        None,
        MAH,
        T0,
    )
    upload = BatchUpload.from_json({"productCode": GTIN, "batch": "B", "expiry": EXPIRY, "serials": serials})
    accepted = accept_batch(upload, product, None, set(), MAH, T0)
    assert accepted.batch.markets == ("DE", "AT")
    assert len(accepted.packs) == 10_000
    # The hub delivers the same records to every named market.
    for market in accepted.batch.markets:
        world = World(market=market)
        world.products[GTIN] = product
        world.batches[(GTIN, "B")] = accepted.batch
        world.packs.update({(GTIN, p.serial): p for p in accepted.packs})
        for serial in serials:
            outcome, _ = world.run(T.G110, PHARMACY_L1, serial, batch="B")
            assert (outcome.return_code, outcome.state, outcome.alert) == (
                R.NMVS_SUCCESS,
                PackState.ACTIVE,
                None,
            )

    held = {p.serial for p in accepted.packs}
    again = BatchUpload.from_json(
        {"productCode": GTIN, "batch": "B2", "expiry": EXPIRY, "serials": ["NEW1", "SN00000007"]}
    )
    with pytest.raises(UploadRejected) as sn_02:
        accept_batch(again, product, None, held, MAH, T0)
    assert sn_02.value.return_code is R.NMVS_FE_SN_02
    assert sn_02.value.field == "serials[1]"

    other_expiry = BatchUpload.from_json(
        {"productCode": GTIN, "batch": "B", "expiry": "281130", "serials": ["NEW2"]}
    )
    with pytest.raises(UploadRejected) as lot_02:
        accept_batch(other_expiry, product, accepted.batch, held, MAH, T0)
    assert lot_02.value.return_code is R.NMVS_FE_LOT_02


# --------------------------------------------------------------------------- EU-02


def test_eu_02_verify_active_pack_succeeds_without_alert() -> None:
    """Given an Active pack and the correct PC/SN/batch/expiry, when G110 verify, then success,
    state Active, no alert (the audit entry is the node's: the outcome carries what it records)."""
    world = World()
    world.upload(["S1"])
    outcome, new = world.run(T.G110, PHARMACY_L1, "S1", trx="pharmacy-trx-1")
    assert outcome.return_code is R.NMVS_SUCCESS
    assert (outcome.state, outcome.reason) == (PackState.ACTIVE, None)
    assert (outcome.alert, outcome.alert_raised) == (None, False)
    assert new is None  # a verify changes nothing
    assert (outcome.request.client_trx_id, outcome.at, outcome.transaction) == ("pharmacy-trx-1", T0, T.G110)


# --------------------------------------------------------------------------- EU-03


@pytest.mark.parametrize("code", [T.G110, T.G120])
def test_eu_03_unknown_product_goes_intermarket_for_single_packs_only(code: TransactionCode) -> None:
    """Given a PC unknown in the local NMVS but known in another market, when a single-pack G110/G120,
    then the request is routed via the hub (IMT) and answered; bulk G115 for the same pack returns
    NMVS_NC_PC_01 without IMT. (Routing itself is the node layer's; here: the flag and both ends.)"""
    de, at = World(market="DE"), World(market="AT")
    at.upload(["S1"])
    request = de.request("S1")

    local, new = de.apply(code, request, PHARMACY_L1)
    assert (local.return_code, local.intermarket, local.alert, new) == (R.NMVS_NC_PC_01, True, None, None)

    answered, _ = at.apply(code, request, PHARMACY_L1)  # the market that holds the pack answers
    assert answered.return_code is R.NMVS_SUCCESS

    assert check_bulk_request(T.G115, 1) is T.G110
    bulk, _ = de.apply(T.G115, request, PHARMACY_L1)
    assert (bulk.return_code, bulk.intermarket) == (R.NMVS_NC_PC_01, False)

    nowhere = unknown_product_everywhere(code, request, T0, de.policy)
    assert (nowhere.return_code, nowhere.alert, nowhere.alert_raised) == (R.NMVS_NC_PC_01, AlertCode.A1, True)


# --------------------------------------------------------------------------- EU-04 … EU-08


def test_eu_04_known_product_unknown_batch_and_serial_is_a2() -> None:
    """Given PC known, batch and SN unknown, when verify, then NMVS_FE_LOT_03 + alert A2 propagated to the OBP."""
    world = World()
    world.upload(["S1"])
    outcome, new = world.run(T.G110, PHARMACY_L1, "S999", batch="NOPE")
    assert (outcome.return_code, outcome.alert, outcome.alert_raised, new) == (
        R.NMVS_FE_LOT_03,
        AlertCode.A2,
        True,
        None,
    )
    assert world.products[GTIN].owner == MAH.client_id  # where the hub routes the alert


def test_eu_05_known_batch_unknown_serial_is_a3() -> None:
    """Given PC + batch known, SN unknown, when verify, then NMVS_NC_PC_02 + alert A3."""
    world = World()
    world.upload(["S1"])
    outcome, _ = world.run(T.G110, PHARMACY_L1, "S999")
    assert (outcome.return_code, outcome.alert, outcome.alert_raised) == (R.NMVS_NC_PC_02, AlertCode.A3, True)


def test_eu_06_serial_under_another_batch_is_a68() -> None:
    """Given SN exists under batch B1, request says B2, when verify, then NMVS_FE_LOT_13 + alert A68."""
    world = World()
    world.upload(["S1"], batch="B1")
    world.upload(["S2"], batch="B2")
    outcome, _ = world.run(T.G110, PHARMACY_L1, "S1", batch="B2")
    assert (outcome.return_code, outcome.alert) == (R.NMVS_FE_LOT_13, AlertCode.A68)
    assert (outcome.request.batch, outcome.on_file_batch) == ("B2", "B1")  # scanned versus on file


def test_eu_07_expiry_mismatch_is_a52() -> None:
    """Given expiry in the request ≠ stored, when verify, then NMVS_FE_LOT_12 + alert A52."""
    world = World()
    world.upload(["S1"], expiry="281231")
    outcome, _ = world.run(T.G110, PHARMACY_L1, "S1", expiry="281230")
    assert (outcome.return_code, outcome.alert) == (R.NMVS_FE_LOT_12, AlertCode.A52)
    assert (outcome.request.expiry, outcome.on_file_expiry) == ("281230", "281231")


def test_eu_08_serial_compares_case_sensitively() -> None:
    """Given SN "abc123" stored, request "ABC123", when verify, then treated as unknown serial (case-sensitive)."""
    world = World()
    world.upload(["abc123"])
    outcome, _ = world.run(T.G110, PHARMACY_L1, "ABC123")
    assert (outcome.return_code, outcome.alert) == (R.NMVS_NC_PC_02, AlertCode.A3)
    # Even a store that matched case-insensitively cannot make the rules accept it.
    request = world.request("ABC123")
    outcome, new = apply(
        T.G120, request, world.pack("abc123"), world.products[GTIN], world.batches[(GTIN, "L1")],
        PHARMACY_L1, T0, world.policy,
    )  # fmt: skip
    assert (outcome.return_code, new) == (R.NMVS_NC_PC_02, None)
    # The batch too: "l1" is not "L1".
    outcome, _ = world.run(T.G110, PHARMACY_L1, "abc123", batch="l1")
    assert (outcome.return_code, outcome.alert) == (R.NMVS_FE_LOT_13, AlertCode.A68)


# --------------------------------------------------------------------------- EU-09, EU-10


def test_eu_09_dispense_records_user_location_time_and_client_trx_id() -> None:
    """Given an Active pack, when G120 dispense at location L1, then state Inactive/Supplied and the record
    carries user, location, time and client trx id."""
    world = World()
    world.upload(["S1"])
    outcome, new = world.run(T.G120, PHARMACY_L1, "S1", trx="disp-1")
    assert (outcome.return_code, outcome.state, outcome.reason) == (
        R.NMVS_SUCCESS,
        PackState.INACTIVE,
        Reason.SUPPLIED,
    )
    assert new is not None and new.last_change is not None
    change = new.last_change
    assert (change.user, change.location, change.at, change.client_trx_id) == ("anna", "L1", T0, "disp-1")
    assert (change.client_id, change.transaction, change.reason) == ("apo-1", T.G120, Reason.SUPPLIED)


def test_eu_10_second_dispense_same_location_a7_other_location_a24() -> None:
    """Given a pack Supplied at L1, when a second G120 at L1 / at L2, then same location: already in the
    requested state, NMVS_NC_PCK_19 + A7; other location: NMVS_NC_PCK_22 + A24."""
    world = World()
    world.upload(["S1"])
    world.run(T.G120, PHARMACY_L1, "S1")
    before = world.pack("S1")
    same, new_same = world.run(T.G120, PHARMACY_L1, "S1", now=T0 + timedelta(minutes=1))
    assert (same.return_code, same.alert, new_same) == (R.NMVS_NC_PCK_19, AlertCode.A7, None)
    other, new_other = world.run(T.G120, PHARMACY_L2, "S1", now=T0 + timedelta(minutes=2))
    assert (other.return_code, other.alert, new_other) == (R.NMVS_NC_PCK_22, AlertCode.A24, None)
    assert (other.state, other.reason) == (PackState.INACTIVE, Reason.SUPPLIED)
    assert world.pack("S1") == before


# --------------------------------------------------------------------------- EU-11


def _inactive_from_above(world: World, how: str) -> None:
    """Make the pack S1 of batch L1 inactive by recall, withdrawal or expiry."""
    if how == "recalled":
        world.batches[(GTIN, "L1")] = recall_batch(world.batches[(GTIN, "L1")], world.products[GTIN], MAH, T0)
    elif how == "withdrawn":
        world.products[GTIN] = withdraw_product(world.products[GTIN], MAH, T0)


ABOVE = {
    "recalled": (R.NMVS_FE_LOT_01, Reason.RECALLED, "281231"),
    "withdrawn": (R.NMVS_FE_LOT_08, Reason.WITHDRAWN, "281231"),
    "expired": (R.NMVS_NC_PCK_02, Reason.EXPIRED, "260228"),  # expired the day before T0
}


@pytest.mark.parametrize("how", sorted(ABOVE))
@pytest.mark.parametrize("code", DECOMMISSIONS)
def test_eu_11_recalled_withdrawn_expired_return_a_code_and_no_alert(how: str, code: TransactionCode) -> None:
    """Given a pack Inactive because its batch is Recalled/Expired or its product Withdrawn, when any
    decommission, then the code is returned (NMVS_FE_LOT_01/_08, NMVS_NC_PCK_02) and no alert."""
    expected, reason, expiry = ABOVE[how]
    world = World()
    world.upload(["S1"], expiry=expiry)
    _inactive_from_above(world, how)
    client = WHOLESALER if code is T.G140 else PHARMACY_L1
    outcome, new = world.run(code, client, "S1", expiry=expiry)
    assert (outcome.return_code, outcome.alert, outcome.alert_raised, new) == (expected, None, False, None)
    assert (outcome.state, outcome.reason) == (PackState.INACTIVE, reason)
    verify, _ = world.run(T.G110, client, "S1", expiry=expiry)
    assert (verify.return_code, verify.alert, verify.reason) == (expected, None, reason)


def test_eu_11_expired_pack_is_valid_on_its_expiry_day() -> None:
    """The expiry day itself is still valid; the pack expires the day after (same row, boundary)."""
    world = World()
    world.upload(["S1"], expiry="260302")  # T0's day
    assert world.run(T.G110, PHARMACY_L1, "S1", expiry="260302")[0].return_code is R.NMVS_SUCCESS
    later = T0 + timedelta(days=1)
    assert world.run(T.G120, PHARMACY_L1, "S1", expiry="260302", now=later)[0].return_code is R.NMVS_NC_PCK_02


# --------------------------------------------------------------------------- EU-12 … EU-15


@pytest.mark.parametrize(
    ("client", "hours", "expected"),
    [
        (PHARMACY_L1, 239, R.NMVS_SUCCESS),
        (PHARMACY_L1, 240, R.NMVS_SUCCESS),
        (PHARMACY_L1, 241, R.NMVS_NC_PCK_20),
        (PHARMACY_L2, 1, R.NMVS_NC_PCK_21),
        (PHARMACY_L1_OTHER_USER, 1, R.NMVS_NC_PCK_21),
    ],
    ids=["L1-239h", "L1-240h", "L1-241h", "L2", "L1-other-user"],
)
def test_eu_12_undo_dispense_within_240_hours_at_same_location(
    client: Client, hours: int, expected: ReturnCode
) -> None:
    """Given a pack Supplied at L1 at t0, when G121 undo at L1 at t0+239 h / t0+241 h / at L2, then
    Active / NMVS_NC_PCK_20 / NMVS_NC_PCK_21 (and the same user is required, as the NMVS does)."""
    world = World()
    world.upload(["S1"])
    world.run(T.G120, PHARMACY_L1, "S1", now=T0)
    outcome, new = world.run(T.G121, client, "S1", now=T0 + timedelta(hours=hours))
    assert outcome.return_code is expected
    if expected is R.NMVS_SUCCESS:
        assert (outcome.state, outcome.reason, outcome.alert) == (PackState.ACTIVE, None, None)
        assert new is not None and new.state is PackState.ACTIVE
    else:
        assert new is None
        assert world.pack("S1").reason is Reason.SUPPLIED
        assert outcome.alert_raised  # level 5 per the SecurMed list; no hub code in the EU default


NEVER = {
    "stolen": (T.G180, None),
    "destroyed": (T.G130, None),
    "recalled": (None, "recalled"),
    "withdrawn": (None, "withdrawn"),
    "expired": (None, "expired"),
}


@pytest.mark.parametrize("state", sorted(NEVER))
@pytest.mark.parametrize("undo", UNDOS)
def test_eu_13_stolen_destroyed_recalled_withdrawn_expired_are_never_undone(
    state: str, undo: TransactionCode
) -> None:
    """Given a pack Stolen, Destroyed, Recalled, Withdrawn or Expired, when any undo, then refused; the
    pack stays inactive."""
    code, how = NEVER[state]
    expiry = "260228" if how == "expired" else EXPIRY
    world = World()
    world.upload(["S1"], expiry=expiry)
    if code is not None:
        assert world.run(code, PHARMACY_L1, "S1")[0].ok
    else:
        _inactive_from_above(world, how or "")
    client = WHOLESALER if undo is T.G141 else PHARMACY_L1
    before = world.pack("S1")
    outcome, new = world.run(undo, client, "S1", expiry=expiry, now=T0 + timedelta(hours=1))
    assert not outcome.ok
    assert new is None and world.pack("S1") == before
    assert outcome.state is PackState.INACTIVE
    if how is None:  # pack-level: type mismatch, alert A24
        assert (outcome.return_code, outcome.alert) == (R.NMVS_NC_PCK_06, AlertCode.A24)
    else:  # from above: the informational code, no alert
        assert (outcome.return_code, outcome.alert) == (ABOVE[how][0], None)


def test_eu_14_unlock_has_no_time_limit() -> None:
    """Given a pack Locked 30 days ago, when G171 unlock at the same location, then Active."""
    world = World()
    world.upload(["S1"])
    world.run(T.G170, PHARMACY_L1, "S1", now=T0)
    outcome, new = world.run(T.G171, PHARMACY_L1, "S1", now=T0 + timedelta(days=30))
    assert (outcome.return_code, outcome.state) == (R.NMVS_SUCCESS, PackState.ACTIVE)
    assert new is not None and new.state is PackState.ACTIVE


def test_eu_15_undo_of_another_type_is_pck_06_with_a24() -> None:
    """Given a pack Supplied, when G141 undo-export (type mismatch), then NMVS_NC_PCK_06 + A24."""
    world = World()
    world.upload(["S1"])
    world.run(T.G120, PHARMACY_L1, "S1")
    outcome, new = world.run(T.G141, PHARMACY_L1, "S1", now=T0 + timedelta(hours=1))
    assert (outcome.return_code, outcome.alert, new) == (R.NMVS_NC_PCK_06, AlertCode.A24, None)
    assert world.pack("S1").reason is Reason.SUPPLIED


# --------------------------------------------------------------------------- EU-16


def test_eu_16_recall_and_withdrawal_are_irreversible() -> None:
    """Given the OBP recalls batch B / withdraws the PC, afterwards all packs are inactive; irreversible;
    a new batch upload for the withdrawn PC is refused."""
    world = World()
    world.upload(["S1", "S2", "S3"], batch="B")
    world.upload(["T1"], batch="C")
    world.run(T.G120, PHARMACY_L1, "S2", batch="B")
    world.batches[(GTIN, "B")] = recall_batch(world.batches[(GTIN, "B")], world.products[GTIN], MAH, T0)
    for serial in ("S1", "S2", "S3"):
        outcome, _ = world.run(T.G110, PHARMACY_L1, serial, batch="B")
        assert (outcome.return_code, outcome.state, outcome.reason) == (
            R.NMVS_FE_LOT_01, PackState.INACTIVE, Reason.RECALLED,
        )  # fmt: skip
        for undo in UNDOS:  # nothing brings a pack back
            client = WHOLESALER if undo is T.G141 else PHARMACY_L1
            assert world.run(undo, client, serial, batch="B")[0].return_code is R.NMVS_FE_LOT_01
    # A second recall keeps the first; the batch takes no more serials.
    again = recall_batch(world.batches[(GTIN, "B")], world.products[GTIN], MAH, T0 + timedelta(days=1))
    assert again.recalled_at == T0
    with pytest.raises(UploadRejected) as recalled:
        world.upload(["S4"], batch="B")
    assert recalled.value.return_code is R.NMVS_FE_LOT_01
    # Only the owner recalls.
    with pytest.raises(UploadRejected) as foreign:
        recall_batch(
            world.batches[(GTIN, "C")], world.products[GTIN], Client("mah-2", Role.MANUFACTURER, "X", "y"), T0
        )
    assert foreign.value.return_code is R.NMVS_NC_PC_03

    world.products[GTIN] = withdraw_product(world.products[GTIN], MAH, T0)
    outcome, _ = world.run(T.G110, PHARMACY_L1, "T1", batch="C")
    assert (outcome.return_code, outcome.reason) == (R.NMVS_FE_LOT_08, Reason.WITHDRAWN)
    with pytest.raises(UploadRejected) as withdrawn:
        world.upload(["U1"], batch="D")
    assert withdrawn.value.return_code is R.NMVS_FE_LOT_08
    with pytest.raises(UploadRejected) as master:
        accept_product(
            ProductUpload.from_json({"productCode": GTIN, "name": "Examplin", "markets": ["DE"]}),
            world.products[GTIN], MAH, T0,
        )  # fmt: skip
    assert master.value.return_code is R.NMVS_FE_LOT_08
    assert withdraw_product(world.products[GTIN], MAH, T0 + timedelta(days=1)).withdrawn_at == T0


# --------------------------------------------------------------------------- EU-19, EU-20


def test_eu_19_bulk_dispense_reports_per_pack_codes_and_pck_24() -> None:
    """Given a bulk G125 of 500 packs, 3 invalid, when submitted and fetched (G188), then the result lists
    per-pack codes and the overall code is NMVS_NC_PCK_24. (The async id and G188 are the node's.)"""
    world = World()
    world.upload([f"S{n}" for n in range(497)])
    listed = [f"S{n}" for n in range(497)] + ["BAD1", "BAD2", "BAD3"]
    single = check_bulk_request(T.G125, len(listed))
    assert single is T.G120
    results = [world.run(T.G125, PHARMACY_L1, serial)[0] for serial in listed]
    codes = [r.return_code for r in results]
    assert codes.count(R.NMVS_SUCCESS) == 497
    assert codes[-3:] == [R.NMVS_NC_PC_02] * 3
    assert all(r.alert is AlertCode.A3 for r in results[-3:])
    assert bulk_return_code(codes) is R.NMVS_NC_PCK_24
    assert all(world.pack(f"S{n}").reason is Reason.SUPPLIED for n in range(497))


def test_eu_20_reused_client_trx_id_is_te_tx_01_and_changes_nothing() -> None:
    """Given a client re-sends a used ClientTrxId, when any request, then NMVS_TE_TX_01 and no state change
    (the same request under the same id gets the first answer back)."""
    world = World()
    world.upload(["S1", "S2"])
    first_request = world.request("S1", trx="dup-1")
    first, _ = world.apply(T.G120, first_request, PHARMACY_L1)
    recorded = RecordedTransaction(request_fingerprint(T.G120, first_request), first)
    packs_before = dict(world.packs)

    other = world.request("S2", trx="dup-1")
    answer = replay(T.G120, other, recorded, T0 + timedelta(minutes=5))
    assert (answer.return_code, answer.alert, answer.state) == (R.NMVS_TE_TX_01, None, None)
    assert replay(T.G110, first_request, recorded, T0).return_code is R.NMVS_TE_TX_01  # another code
    assert replay(T.G120, world.request("S1", trx="dup-1"), recorded, T0) is first
    assert world.packs == packs_before
