"""The transaction engine beyond the catalogue rows: matching order, step 0, policies, codes, bulk."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import pytest

from packtrail.fmd import (
    EU_DEFAULT,
    MAX_BULK_PACKS,
    MIXABLE_CODES,
    POLICIES,
    AlertCode,
    AlertRule,
    Client,
    FmdInputError,
    OperationKind,
    PackRecord,
    PackRequest,
    PackState,
    Reason,
    RepeatWarnings,
    ReturnCode,
    Role,
    Situation,
    TransactionCode,
    UndoAuthority,
    apply,
    bulk_return_code,
    check_bulk_request,
    parse_transaction_code,
    policy_for,
    recall_batch,
)
from packtrail.fmd.rules import SITUATION_CODES
from test_fmd_catalogue import (
    GTIN,
    MAH,
    OTHER_GTIN,
    PHARMACY_L1,
    PHARMACY_L1_OTHER_USER,
    T0,
    WHOLESALER,
    World,
)

T = TransactionCode
R = ReturnCode
AUTHORITY = Client("bfarm", Role.AUTHORITY, "BONN", "inspector")


def world_with(serials: tuple[str, ...] = ("S1",), market: str = "DE") -> World:
    world = World(market=market)
    world.upload(serials)
    return world


# --------------------------------------------------------------------------- matching order


def test_unknown_product_wins_over_everything_else() -> None:
    world = world_with()
    outcome, _ = world.run(T.G120, PHARMACY_L1, "S999", product_code=OTHER_GTIN, batch="X", expiry="200101")
    assert outcome.return_code is R.NMVS_NC_PC_01
    assert not outcome.alert_raised


def test_batch_mismatch_is_checked_before_expiry() -> None:
    world = world_with()
    world.upload(["S2"], batch="L2", expiry="290101")
    outcome, _ = world.run(T.G110, PHARMACY_L1, "S1", batch="L2", expiry="111111")
    assert (outcome.return_code, outcome.alert) == (R.NMVS_FE_LOT_13, AlertCode.A68)


def test_serial_on_file_with_unknown_batch_is_a_batch_mismatch() -> None:
    """Step 2 needs neither serial nor batch known; a known serial under an unknown batch is step 4."""
    outcome, _ = world_with().run(T.G110, PHARMACY_L1, "S1", batch="NEVER-UPLOADED")
    assert (outcome.return_code, outcome.on_file_batch) == (R.NMVS_FE_LOT_13, "L1")


def test_identification_comes_before_state_checks() -> None:
    world = world_with()
    world.run(T.G120, PHARMACY_L1, "S1")
    outcome, _ = world.run(T.G120, PHARMACY_L1, "S1", expiry="281230")
    assert outcome.return_code is R.NMVS_FE_LOT_12
    assert outcome.state is None  # a mismatching request learns nothing about the pack


def test_expiry_compares_all_six_characters() -> None:
    world = world_with()
    world.upload(["S2"], batch="M", expiry="281200")
    assert world.run(T.G110, PHARMACY_L1, "S2", batch="M", expiry="281231")[0].return_code is R.NMVS_FE_LOT_12
    assert world.run(T.G110, PHARMACY_L1, "S2", batch="M", expiry="281200")[0].ok


@pytest.mark.parametrize("first", [T.G170, T.G130, T.G180, T.G150, T.G160])
def test_decommission_of_a_pack_inactive_for_another_reason_is_a24(first: TransactionCode) -> None:
    world = world_with()
    assert world.run(first, PHARMACY_L1, "S1")[0].ok
    outcome, new = world.run(T.G120, PHARMACY_L1, "S1")
    assert (outcome.return_code, outcome.alert, new) == (R.NMVS_NC_PCK_22, AlertCode.A24, None)
    assert outcome.reason is first.operation.reason


def test_repeated_lock_at_same_location_is_a7() -> None:
    world = world_with()
    world.run(T.G170, PHARMACY_L1, "S1")
    assert world.run(T.G170, PHARMACY_L1_OTHER_USER, "S1")[0].alert is AlertCode.A7


def test_verify_of_a_decommissioned_pack_reports_state_without_alert() -> None:
    world = world_with()
    world.run(T.G120, PHARMACY_L1, "S1")
    outcome, new = world.run(T.G110, PHARMACY_L1, "S1")
    assert (outcome.return_code, outcome.state, outcome.reason, outcome.alert, new) == (
        R.NMVS_SUCCESS, PackState.INACTIVE, Reason.SUPPLIED, None, None,
    )  # fmt: skip


def test_undo_of_an_active_pack_is_pck_06_without_alert() -> None:
    outcome, new = world_with().run(T.G121, PHARMACY_L1, "S1")
    assert (outcome.return_code, outcome.alert, outcome.alert_raised, new) == (
        R.NMVS_NC_PCK_06,
        None,
        False,
        None,
    )


def test_undo_window_is_checked_before_the_user() -> None:
    world = world_with()
    world.run(T.G120, PHARMACY_L1, "S1")
    outcome, _ = world.run(T.G121, PHARMACY_L1_OTHER_USER, "S1", now=T0 + timedelta(hours=300))
    assert outcome.return_code is R.NMVS_NC_PCK_20


def test_recall_overrides_the_pack_reason() -> None:
    world = world_with()
    world.run(T.G120, PHARMACY_L1, "S1")
    world.batches[(GTIN, "L1")] = recall_batch(world.batches[(GTIN, "L1")], world.products[GTIN], MAH, T0)
    outcome, _ = world.run(T.G121, PHARMACY_L1, "S1", now=T0 + timedelta(hours=1))
    assert (outcome.return_code, outcome.reason, outcome.alert) == (R.NMVS_FE_LOT_01, Reason.RECALLED, None)
    assert world.pack("S1").reason is Reason.SUPPLIED  # the pack's own record is untouched


def test_dispense_then_undo_then_dispense_again() -> None:
    world = world_with()
    assert world.run(T.G120, PHARMACY_L1, "S1")[0].ok
    assert world.run(T.G121, PHARMACY_L1, "S1", now=T0 + timedelta(hours=2))[0].ok
    outcome, new = world.run(T.G120, PHARMACY_L1_OTHER_USER, "S1", now=T0 + timedelta(hours=3))
    assert outcome.ok and new is not None and new.last_change is not None
    assert new.last_change.user == "bert"


# --------------------------------------------------------------------------- step 0 and policies


@pytest.mark.parametrize(
    ("code", "client"),
    [(T.G140, PHARMACY_L1), (T.G120, AUTHORITY), (T.G120, MAH), (T.G130, AUTHORITY)],
)
def test_operation_not_offered_to_the_role_is_br_01(code: TransactionCode, client: Client) -> None:
    world = world_with()
    outcome, new = world.run(code, client, "S1")
    assert (outcome.return_code, outcome.alert, new) == (R.NMVS_FE_BR_01, None, None)


def test_every_role_may_verify_in_the_eu_default() -> None:
    world = world_with()
    for client in (PHARMACY_L1, WHOLESALER, MAH, AUTHORITY):
        assert world.run(T.G110, client, "S1")[0].ok


def test_a_market_without_free_samples_refuses_g160_and_g161() -> None:
    roles: dict[Reason, frozenset[Role]] = {
        r: v for r, v in EU_DEFAULT.decommission_roles.items() if r is not Reason.FREE_SAMPLE
    }
    windows: dict[Reason, timedelta | None] = {
        r: v for r, v in EU_DEFAULT.undo_windows.items() if r is not Reason.FREE_SAMPLE
    }
    policy = dataclasses.replace(EU_DEFAULT, market="XX", decommission_roles=roles, undo_windows=windows)
    world = world_with()
    for code in (T.G160, T.G161):
        request = world.request("S1")
        outcome, _ = apply(
            code,
            request,
            world.pack("S1"),
            world.products[GTIN],
            world.batches[(GTIN, "L1")],
            PHARMACY_L1,
            T0,
            policy,
        )
        assert outcome.return_code is R.NMVS_FE_BR_01


def test_same_location_authority_lets_a_colleague_undo() -> None:
    policy = dataclasses.replace(EU_DEFAULT, undo_authority=UndoAuthority.SAME_LOCATION)
    world = world_with()
    world.run(T.G120, PHARMACY_L1, "S1")
    request = world.request("S1")
    views = (world.pack("S1"), world.products[GTIN], world.batches[(GTIN, "L1")])
    later = T0 + timedelta(hours=1)
    outcome, _ = apply(T.G121, request, *views, PHARMACY_L1_OTHER_USER, later, policy)
    assert outcome.ok
    outcome, _ = apply(T.G121, request, *views, PHARMACY_L1_OTHER_USER, later, EU_DEFAULT)
    assert outcome.return_code is R.NMVS_NC_PCK_21


def test_finland_maps_the_undo_window_to_a4_as_data() -> None:
    world = world_with(market="FI")
    world.run(T.G120, PHARMACY_L1, "S1")
    outcome, _ = world.run(T.G121, PHARMACY_L1, "S1", now=T0 + timedelta(hours=241))
    assert (outcome.return_code, outcome.alert, outcome.alert_raised) == (
        R.NMVS_NC_PCK_20,
        AlertCode.A4,
        True,
    )


def test_every_market_but_finland_shares_the_eu_default_tables() -> None:
    for market, policy in POLICIES.items():
        assert policy.market == market
        if market != "FI":
            assert dataclasses.replace(policy, market="EU") == EU_DEFAULT
    with pytest.raises(LookupError, match="no policy for 'XI'"):
        policy_for("XI")


def test_policies_cannot_make_the_forbidden_reverts_possible() -> None:
    for reason in (Reason.STOLEN, Reason.DESTROYED, Reason.EXPIRED, Reason.RECALLED, Reason.WITHDRAWN):
        with pytest.raises(ValueError, match="undo_windows"):
            dataclasses.replace(EU_DEFAULT, undo_windows={reason: None})
    with pytest.raises(ValueError, match="decommission_roles"):
        dataclasses.replace(EU_DEFAULT, decommission_roles={Reason.RECALLED: frozenset({Role.PHARMACY})})
    with pytest.raises(TypeError):
        EU_DEFAULT.alerts[Situation.SERIAL_UNKNOWN] = AlertRule(False)  # type: ignore[index]


def test_the_eu_default_alerts_follow_the_reference_table() -> None:
    expected = {
        Situation.BATCH_NOT_FOUND: (R.NMVS_FE_LOT_03, AlertCode.A2),
        Situation.SERIAL_UNKNOWN: (R.NMVS_NC_PC_02, AlertCode.A3),
        Situation.BATCH_MISMATCH: (R.NMVS_FE_LOT_13, AlertCode.A68),
        Situation.EXPIRY_MISMATCH: (R.NMVS_FE_LOT_12, AlertCode.A52),
        Situation.ALREADY_IN_STATE: (R.NMVS_NC_PCK_19, AlertCode.A7),
        Situation.ALREADY_INACTIVE: (R.NMVS_NC_PCK_22, AlertCode.A24),
        Situation.UNDO_TYPE_MISMATCH: (R.NMVS_NC_PCK_06, AlertCode.A24),
        Situation.PRODUCT_UNKNOWN_EVERYWHERE: (R.NMVS_NC_PC_01, AlertCode.A1),
    }
    for situation, (code, alert) in expected.items():
        assert SITUATION_CODES[situation] is code
        assert EU_DEFAULT.alert_for(situation) == AlertRule(True, alert)
    for quiet in (
        Situation.BATCH_RECALLED,
        Situation.PRODUCT_WITHDRAWN,
        Situation.PACK_EXPIRED,
        Situation.UNDO_ON_ACTIVE_PACK,
        Situation.PRODUCT_UNKNOWN_LOCALLY,
        Situation.OPERATION_NOT_OFFERED,
    ):
        assert not EU_DEFAULT.alert_for(quiet).alert
    assert set(SITUATION_CODES) == set(Situation)


# --------------------------------------------------------------------------- guard rails


def test_now_must_be_timezone_aware() -> None:
    world = world_with()
    with pytest.raises(ValueError, match="timezone-aware"):
        world.run(T.G110, PHARMACY_L1, "S1", now=datetime(2026, 3, 2, 9, 0))


@pytest.mark.parametrize("code", [T.G188, T.G195, T.G196])
def test_bookkeeping_codes_name_no_pack_operation(code: TransactionCode) -> None:
    with pytest.raises(FmdInputError, match=code.value):
        world_with().run(code, PHARMACY_L1, "S1")


def test_a_store_missing_the_batch_of_a_pack_is_a_programming_error() -> None:
    world = world_with()
    del world.batches[(GTIN, "L1")]
    with pytest.raises(ValueError, match="batch_view"):
        world.run(T.G110, PHARMACY_L1, "S1")


def test_pack_record_keeps_state_and_reason_consistent() -> None:
    with pytest.raises(ValueError, match="reason"):
        PackRecord(GTIN, "S1", "L1", PackState.INACTIVE, None)
    with pytest.raises(ValueError, match="reason"):
        PackRecord(GTIN, "S1", "L1", PackState.ACTIVE, Reason.SUPPLIED)


def test_parse_transaction_code() -> None:
    assert parse_transaction_code("G121") is T.G121
    for bad in ("g121", "G122", "", None, 120):
        with pytest.raises(FmdInputError) as info:
            parse_transaction_code(bad)
        assert info.value.return_code is R.NMVS_TE_REQ_02


# --------------------------------------------------------------------------- codes and bulk


def test_every_return_code_has_a_text_and_the_reference_codes_exist() -> None:
    assert all(code.text for code in ReturnCode)
    for name in [
        "NMVS_NC_PC_01",
        "NMVS_FE_LOT_03",
        "NMVS_NC_PC_02",
        "NMVS_FE_LOT_13",
        "NMVS_FE_LOT_12",
        "NMVS_NC_PCK_19",
        "NMVS_NC_PCK_22",
        "NMVS_NC_PCK_06",
        "NMVS_NC_PCK_20",
        "NMVS_NC_PCK_21",
        "NMVS_FE_LOT_01",
        "NMVS_FE_LOT_08",
        "NMVS_NC_PCK_02",
        "NMVS_TE_TX_01",
        "NMVS_FE_SN_02",
        "NMVS_FE_LOT_02",
        "NMVS_NC_PCK_24",
    ]:
        assert ReturnCode(name).value == name
    assert {a.value for a in AlertCode} >= {"A1", "A2", "A3", "A7", "A24", "A52", "A68"}
    assert all(a.meaning and a.hub_label == "#" + a.value for a in AlertCode)


def test_transaction_codes_follow_the_nmvs_pattern() -> None:
    for code in TransactionCode:
        operation = code.operation
        digit = code.value[3]
        if operation.kind in (OperationKind.FETCH_RESULT, OperationKind.MIXED_BULK):
            assert operation.bulk and operation.single is None
            continue
        assert operation.bulk == (digit in "57")
        assert code.is_single_pack == (digit in "01")
        single = operation.single
        assert single is not None and single.is_single_pack
        assert (single.operation.kind, single.operation.reason) == (operation.kind, operation.reason)
        assert (operation.kind is OperationKind.UNDO) == (digit in "17")
    undoable = {c.operation.reason for c in TransactionCode if c.operation.kind is OperationKind.UNDO}
    assert Reason.STOLEN not in undoable and Reason.DESTROYED not in undoable


def test_bulk_limits_and_overall_codes() -> None:
    assert check_bulk_request(T.G177, MAX_BULK_PACKS) is T.G171
    for code, count in ((T.G125, 0), (T.G125, MAX_BULK_PACKS + 1), (T.G120, 1), (T.G188, 1), (T.G195, 1)):
        with pytest.raises(FmdInputError):
            check_bulk_request(code, count)
    assert bulk_return_code([R.NMVS_SUCCESS]) is R.NMVS_SUCCESS
    assert bulk_return_code([R.NMVS_NC_PC_02, R.NMVS_FE_LOT_01]) is R.NMVS_NC_PCK_17
    with pytest.raises(ValueError):
        bulk_return_code([])


def test_request_fields_are_checked_and_named() -> None:
    good = {
        "productCode": "9506000134352",
        "serialNumber": "S1",
        "batch": "L1",
        "expiry": "281231",
        "clientTrxId": "t",
    }
    assert PackRequest.from_json(good).product_code == GTIN
    assert PackRequest.from_json(good).to_json()["productCode"] == GTIN
    cases = {
        "productCode": ("09506000134353", R.NMVS_FE_GR_01),
        "serialNumber": ("S" * 21, R.NMVS_FE_REQ_02),
        "batch": ("L 1", R.NMVS_FE_REQ_02),
        "expiry": ("281331", R.NMVS_FE_LOT_07),
        "clientTrxId": ("", R.NMVS_FE_REQ_02),
    }
    for name, (value, code) in cases.items():
        with pytest.raises(FmdInputError) as info:
            PackRequest.from_json({**good, name: value})
        assert (info.value.field, info.value.return_code) == (name, code)
        missing = {k: v for k, v in good.items() if k != name}
        with pytest.raises(FmdInputError, match=name):
            PackRequest.from_json(missing)
    ppn = PackRequest.from_json({**good, "productCode": "110375286414"})
    assert (ppn.product_code, ppn.scheme) == ("110375286414", "PPN")
    with pytest.raises(FmdInputError) as bad_ppn:
        PackRequest.from_json({**good, "productCode": "110375286415", "scheme": "PPN"})
    assert bad_ppn.value.return_code is R.NMVS_FE_GR_02


# --------------------------------------------------------------------------- repeats: Finland's #A10


def _dispensed(market: str) -> tuple[World, PackRequest]:
    world = world_with(market=market)
    assert world.run(T.G120, PHARMACY_L1, "S1")[0].ok
    return world, world.request("S1")


def _again(world: World, code: TransactionCode, client: Client, repeats: Any) -> Any:
    views = (world.pack("S1"), world.products[GTIN], world.batches[(GTIN, "L1")])
    return apply(code, world.request("S1"), *views, client, T0, world.policy, repeats=repeats)


def test_finland_warns_three_repeats_then_raises_a10_as_data() -> None:
    """FiMVS (reference §1.7 step 6, §2.4): repeats 1-3 of a dispense at the same location are
    NMVS_NC_PCK_19 with a warning and no alert, repeat 4 and later #A10; the pack never changes."""
    world, _ = _dispensed("FI")
    counter = iter(range(1, 7))
    answers = [_again(world, T.G120, PHARMACY_L1, lambda: next(counter)) for _ in range(6)]
    assert [(o.return_code, o.alert, o.alert_raised, o.repeat, new) for o, new in answers] == [
        (R.NMVS_NC_PCK_19, None, False, 1, None),
        (R.NMVS_NC_PCK_19, None, False, 2, None),
        (R.NMVS_NC_PCK_19, None, False, 3, None),
        (R.NMVS_NC_PCK_19, AlertCode.A10, True, 4, None),
        (R.NMVS_NC_PCK_19, AlertCode.A10, True, 5, None),
        (R.NMVS_NC_PCK_19, AlertCode.A10, True, 6, None),
    ]
    assert [o.warning is not None for o, _ in answers] == [True, True, True, False, False, False]
    assert "repeat 3" in str(answers[2][0].warning) and "#A10" in str(answers[2][0].warning)
    assert (answers[0][0].state, answers[0][0].reason) == (PackState.INACTIVE, Reason.SUPPLIED)


def test_other_markets_raise_a7_on_every_repeat_and_never_count() -> None:
    def never() -> int:
        raise AssertionError("a market without repeat warnings must not count")

    for market in ("DE", "FR", "SE"):
        world, _ = _dispensed(market)
        for _ in range(5):
            outcome, _new = _again(world, T.G120, PHARMACY_L1, never)
            assert (outcome.return_code, outcome.alert, outcome.repeat, outcome.warning) == (
                R.NMVS_NC_PCK_19, AlertCode.A7, None, None,
            )  # fmt: skip


def test_finland_counts_only_the_step_6_situation() -> None:
    """The counter is asked only for a repeat of the state at the same location: a verify, a dispense
    elsewhere (A24), and the first dispense never count."""
    calls: list[int] = []

    def counter() -> int:
        calls.append(1)
        return len(calls)

    world = world_with(market="FI")

    def views() -> tuple[Any, Any, Any]:
        return world.pack("S1"), world.products[GTIN], world.batches[(GTIN, "L1")]

    first, new = apply(T.G120, world.request("S1"), *views(), PHARMACY_L1, T0, world.policy, repeats=counter)
    assert first.ok and new is not None
    world.packs[(GTIN, "S1")] = new
    verify, _ = apply(T.G110, world.request("S1"), *views(), PHARMACY_L1, T0, world.policy, repeats=counter)
    elsewhere, _ = apply(
        T.G120, world.request("S1"), *views(), Client("apo-9", Role.PHARMACY, "L9", "x"), T0, world.policy,
        repeats=counter,
    )  # fmt: skip
    assert (verify.repeat, elsewhere.return_code, elsewhere.alert, calls) == (
        None, R.NMVS_NC_PCK_22, AlertCode.A24, [],
    )  # fmt: skip
    assert _again(world, T.G120, PHARMACY_L1_OTHER_USER, counter)[0].repeat == 1  # same location, other user


def test_a_market_that_counts_repeats_needs_the_counter() -> None:
    world, _ = _dispensed("FI")
    with pytest.raises(ValueError, match="repeats: the FI policy counts repeats"):
        _again(world, T.G120, PHARMACY_L1, None)
    with pytest.raises(ValueError, match="expected a repeat number >= 1"):
        _again(world, T.G120, PHARMACY_L1, lambda: 0)


def test_repeat_warnings_are_policy_data_for_any_market() -> None:
    """No market name in the engine: the same rule on another market's table behaves the same, and a
    rule with no warnings alerts on the first repeat."""
    assert POLICIES["FI"].repeat_warnings == RepeatWarnings(3, AlertRule(True, AlertCode.A10))
    assert {m for m, p in POLICIES.items() if p.repeat_warnings is not None} == {"FI"}
    assert POLICIES["FI"].alert_for(Situation.ALREADY_IN_STATE) == AlertRule(True, AlertCode.A7)
    strict = dataclasses.replace(
        EU_DEFAULT, repeat_warnings=RepeatWarnings(0, AlertRule(True, AlertCode.A10))
    )
    assert strict.repeat_rule(1) == AlertRule(True, AlertCode.A10)
    lenient = dataclasses.replace(EU_DEFAULT, repeat_warnings=RepeatWarnings(1, AlertRule(False)))
    assert [lenient.repeat_rule(n) for n in (1, 2)] == [AlertRule(False), AlertRule(False)]
    assert "an alert" in (lenient.repeat_warnings.warning(1) if lenient.repeat_warnings else "")
    for bad in (-1, True, 1.5):
        with pytest.raises(ValueError, match="warnings: expected a number of repeats"):
            RepeatWarnings(bad, AlertRule(True))  # type: ignore[arg-type]


def test_mixed_bulk_codes_are_the_single_pack_operations() -> None:
    assert [c.value for c in MIXABLE_CODES] == [
        "G110", "G120", "G121", "G130", "G140", "G141", "G150", "G151", "G160", "G161", "G170", "G171",
        "G180",
    ]  # fmt: skip
    assert all(c.is_single_pack for c in MIXABLE_CODES)
    with pytest.raises(FmdInputError, match=r"G195 .* is not a bulk verify"):
        check_bulk_request(T.G195, 3)
