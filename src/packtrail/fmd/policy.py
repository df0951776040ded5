"""Per-market rules as data: a new market is a table row, not an ``if``.

What differs between national systems — which decommission reasons an end
user may set and with which role, how long an undo stays possible, who may
undo, and which situations raise which alert — is held in a
:class:`MarketPolicy`. The transaction engine (:mod:`packtrail.fmd.rules`)
reads it and has no branch on a market's name.

>>> from packtrail.fmd.policy import Situation, policy_for
>>> from packtrail.fmd.states import Reason
>>> de = policy_for("DE")
>>> de.undo_windows[Reason.SUPPLIED], de.undo_windows[Reason.LOCKED]
(datetime.timedelta(days=10), None)
>>> de.alert_for(Situation.SERIAL_UNKNOWN)
AlertRule(alert=True, hub_code=<AlertCode.A3: 'A3'>)
>>> de.alert_for(Situation.BATCH_RECALLED)
AlertRule(alert=False, hub_code=None)

Finland's system maps an undo after the window to its own #A4 alert; the
difference is one entry in its table:

>>> policy_for("FI").alert_for(Situation.UNDO_WINDOW_EXCEEDED).hub_code
<AlertCode.A4: 'A4'>
>>> de.alert_for(Situation.UNDO_WINDOW_EXCEEDED)
AlertRule(alert=True, hub_code=None)

A pack asked again for the state it is already in, at the same location (step 6 of §1.7,
a double scan), is alert A7 on every repeat in most markets. FiMVS warns the first three
repeats and raises #A10 from the fourth on (§1.7 step 6, §2.4, catalogue EU-10) — again data,
a :class:`RepeatWarnings` on the policy:

>>> fi = policy_for("FI")
>>> fi.repeat_warnings
RepeatWarnings(warnings=3, then=AlertRule(alert=True, hub_code=<AlertCode.A10: 'A10'>))
>>> [fi.repeat_rule(n).hub_code for n in (1, 2, 3, 4, 5)]
[None, None, None, <AlertCode.A10: 'A10'>, <AlertCode.A10: 'A10'>]
>>> de.repeat_warnings is None, de.repeat_rule(1) == de.repeat_rule(9) == de.alert_for(Situation.ALREADY_IN_STATE)
(True, True)

The law holds in every market: no table can make a stolen or destroyed pack revertible.

>>> import dataclasses
>>> dataclasses.replace(de, undo_windows={Reason.STOLEN: None})
Traceback (most recent call last):
...
ValueError: undo_windows: DR Art. 13 forbids reverting STOLEN packs in every market
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from types import MappingProxyType

from packtrail.fmd.codes import AlertCode
from packtrail.fmd.model import Role
from packtrail.fmd.states import NEVER_REVERSIBLE, PACK_LEVEL_REASONS, Reason

__all__ = [
    "EMVS_MARKETS",
    "EU_DEFAULT",
    "NO_ALERT",
    "POLICIES",
    "UNDO_WINDOW",
    "AlertRule",
    "MarketPolicy",
    "RepeatWarnings",
    "Situation",
    "UndoAuthority",
    "policy_for",
]

UNDO_WINDOW = timedelta(hours=240)
"""DR Art. 13(1)(b): ten days, which the national systems implement as 240 hours."""


class Situation(StrEnum):
    """A situation the matching order of the reference's §1.7 can end in (what an alert rule keys on)."""

    OPERATION_NOT_OFFERED = "operation-not-offered"
    """The market does not offer the operation, or not to the client's role (``NMVS_FE_BR_01``)."""
    PRODUCT_UNKNOWN_LOCALLY = "product-unknown-locally"
    """Step 1: the product code is unknown here (``NMVS_NC_PC_01``); a single pack goes to the hub."""
    PRODUCT_UNKNOWN_EVERYWHERE = "product-unknown-everywhere"
    """Step 1 after the intermarket transaction: no market knows the product code (#A1)."""
    BATCH_NOT_FOUND = "batch-not-found"
    """Step 2: product known, neither serial nor batch (``NMVS_FE_LOT_03``, A2)."""
    SERIAL_UNKNOWN = "serial-unknown"
    """Step 3: product and batch known, serial unknown (``NMVS_NC_PC_02``, A3)."""
    BATCH_MISMATCH = "batch-mismatch"
    """Step 4: the serial is on file under another batch (``NMVS_FE_LOT_13``, A68)."""
    EXPIRY_MISMATCH = "expiry-mismatch"
    """Step 5: the expiry differs from the batch's on file (``NMVS_FE_LOT_12``, A52)."""
    ALREADY_IN_STATE = "already-in-state"
    """Step 6: the pack already has the requested state, set at this location (``NMVS_NC_PCK_19``, A7)."""
    ALREADY_INACTIVE = "already-inactive"
    """Step 7: the pack is inactive for another reason or was set elsewhere (``NMVS_NC_PCK_22``, A24)."""
    UNDO_TYPE_MISMATCH = "undo-type-mismatch"
    """Step 8: the undo does not match the pack's inactive reason (``NMVS_NC_PCK_06``, A24)."""
    UNDO_ON_ACTIVE_PACK = "undo-on-active-pack"
    """Step 8, exception: an undo on an active pack (``NMVS_NC_PCK_06``, no alert)."""
    UNDO_WINDOW_EXCEEDED = "undo-window-exceeded"
    """Step 9: the undo comes after the undo window (``NMVS_NC_PCK_20``)."""
    UNDO_BY_OTHER = "undo-by-other"
    """Step 10: the undo comes from another user or location (``NMVS_NC_PCK_21``)."""
    BATCH_RECALLED = "batch-recalled"
    """Step 11: the batch is recalled (``NMVS_FE_LOT_01``): informational."""
    PRODUCT_WITHDRAWN = "product-withdrawn"
    """Step 12: the product is withdrawn (``NMVS_FE_LOT_08``): informational."""
    PACK_EXPIRED = "pack-expired"
    """Step 13: the pack's batch has expired (``NMVS_NC_PCK_02``): informational."""


@dataclass(frozen=True, slots=True)
class AlertRule:
    """Whether a situation is an alert in a market, and the EU hub code it carries."""

    alert: bool
    """True when the situation raises an alert (level 5) to be investigated."""
    hub_code: AlertCode | None = None
    """The hub alert code sent to the product's owner; an alert may have none (handled nationally)."""


NO_ALERT = AlertRule(False)
"""The rule of a situation that is a return code only."""


@dataclass(frozen=True, slots=True)
class RepeatWarnings:
    """How a market answers a pack asked again for the state it is already in, at the same location
    (:attr:`Situation.ALREADY_IN_STATE`, ``NMVS_NC_PCK_19``): the first :attr:`warnings` repeats get
    the return code with a warning and no alert, every later repeat the alert rule :attr:`then`.

    FiMVS: three warnings, then #A10 "pack already supplied at this location" (reference §1.7 step 6,
    §2.4). Repeats are counted per pack and location since the pack entered its current state (a new
    state change starts the count again); an idempotent replay of a request is not a repeat.

    >>> rule = RepeatWarnings(3, AlertRule(True, AlertCode.A10))
    >>> rule.warning(2)
    'repeat 2 of this state change at this location: warning only, no alert; from repeat 4 on, #A10 is raised'
    >>> RepeatWarnings(-1, rule.then)
    Traceback (most recent call last):
    ...
    ValueError: warnings: expected a number of repeats >= 0, found -1
    """

    warnings: int
    """How many repeats are answered with a warning (no alert) before the alert rule applies."""
    then: AlertRule
    """The alert rule of every repeat after the warnings (FiMVS: an alert with hub code #A10)."""

    def __post_init__(self) -> None:
        if isinstance(self.warnings, bool) or not isinstance(self.warnings, int) or self.warnings < 0:
            raise ValueError(f"warnings: expected a number of repeats >= 0, found {self.warnings!r}")

    def warns(self, repeat: int) -> bool:
        """True when repeat number ``repeat`` (1 for the first repeat) is answered with a warning only."""
        return repeat <= self.warnings

    def warning(self, repeat: int) -> str:
        """The warning the answer to repeat ``repeat`` carries (for a repeat that :meth:`warns`)."""
        then = self.then.hub_code.hub_label if self.then.hub_code is not None else "an alert"
        return (
            f"repeat {repeat} of this state change at this location: warning only, no alert; "
            f"from repeat {self.warnings + 1} on, {then} is raised"
        )


class UndoAuthority(StrEnum):
    """Who may revert a decommissioning (DR Art. 13(1)(a); the NMVS adds the same user)."""

    SAME_USER_AND_LOCATION = "same-user-and-location"
    """Only the user who set the state, at the premises where it was set (``NMVS_NC_PCK_21`` otherwise)."""
    SAME_LOCATION = "same-location"
    """Any user at the premises where the state was set."""


def _frozen(mapping: Mapping[object, object]) -> bool:
    return isinstance(mapping, MappingProxyType)


@dataclass(frozen=True, slots=True)
class MarketPolicy:
    """The rules of one national system that vary between markets."""

    market: str
    """The market (ISO 3166-1 alpha-2) the national system serves."""
    decommission_roles: Mapping[Reason, frozenset[Role]]
    """The decommission reasons the market offers, each with the roles that may set it."""
    verify_roles: frozenset[Role]
    """The roles that may verify a pack (G110, G115)."""
    undo_windows: Mapping[Reason, timedelta | None]
    """The reasons that may be reverted, each with its window (``None``: no time limit, as for Locked)."""
    undo_authority: UndoAuthority
    """Who may revert a decommissioning."""
    alerts: Mapping[Situation, AlertRule]
    """Which situations raise which alert; a situation not listed raises none."""
    repeat_warnings: RepeatWarnings | None = None
    """When set, repeats of :attr:`Situation.ALREADY_IN_STATE` are counted (per pack and location) and
    answered by this rule instead of the situation's entry in :attr:`alerts`; ``None``: every repeat
    gets that entry (A7 in the EMVS default)."""

    def __post_init__(self) -> None:
        for reason in self.decommission_roles:
            if reason not in PACK_LEVEL_REASONS:
                raise ValueError(f"decommission_roles: {reason.value} is not set by a transaction on a pack")
        for reason in self.undo_windows:
            if reason in NEVER_REVERSIBLE:
                raise ValueError(
                    f"undo_windows: DR Art. 13 forbids reverting {reason.value} packs in every market"
                )
            if reason not in self.decommission_roles:
                raise ValueError(
                    f"undo_windows: {reason.value} is not a decommission reason this market offers"
                )
        # Read-only views: a policy is shared by every request of a node.
        for name in ("decommission_roles", "undo_windows", "alerts"):
            value = getattr(self, name)
            if not _frozen(value):
                object.__setattr__(self, name, MappingProxyType(dict(value)))

    def alert_for(self, situation: Situation) -> AlertRule:
        """The alert rule of ``situation`` in this market."""
        return self.alerts.get(situation, NO_ALERT)

    def repeat_rule(self, repeat: int) -> AlertRule:
        """The alert rule of repeat number ``repeat`` (1 for the first) of a state the pack is already in
        at this location: a warning (no alert) while :attr:`repeat_warnings` says so, else the rule of
        :attr:`Situation.ALREADY_IN_STATE`."""
        if self.repeat_warnings is None:
            return self.alert_for(Situation.ALREADY_IN_STATE)
        if self.repeat_warnings.warns(repeat):
            return NO_ALERT
        return self.repeat_warnings.then

    def may_decommission(self, role: Role, reason: Reason) -> bool:
        """True when the market offers ``reason`` and ``role`` may set it."""
        return role in self.decommission_roles.get(reason, frozenset())

    def for_market(self, market: str) -> MarketPolicy:
        """The same rules for another market."""
        return dataclasses.replace(self, market=market)


_END_USERS = frozenset({Role.PHARMACY, Role.WHOLESALER})

EU_DEFAULT = MarketPolicy(
    market="EU",
    decommission_roles={
        Reason.SUPPLIED: _END_USERS,
        Reason.EXPORTED: frozenset({Role.WHOLESALER}),
        Reason.SAMPLE: _END_USERS,
        Reason.FREE_SAMPLE: _END_USERS,
        Reason.LOCKED: _END_USERS,
        Reason.STOLEN: _END_USERS,
        Reason.DESTROYED: _END_USERS,
    },
    verify_roles=frozenset(Role),
    undo_windows={
        Reason.SUPPLIED: UNDO_WINDOW,
        Reason.EXPORTED: UNDO_WINDOW,
        Reason.SAMPLE: UNDO_WINDOW,
        Reason.FREE_SAMPLE: UNDO_WINDOW,
        Reason.LOCKED: None,
    },
    undo_authority=UndoAuthority.SAME_USER_AND_LOCATION,
    alerts={
        Situation.PRODUCT_UNKNOWN_EVERYWHERE: AlertRule(True, AlertCode.A1),
        Situation.BATCH_NOT_FOUND: AlertRule(True, AlertCode.A2),
        Situation.SERIAL_UNKNOWN: AlertRule(True, AlertCode.A3),
        Situation.BATCH_MISMATCH: AlertRule(True, AlertCode.A68),
        Situation.EXPIRY_MISMATCH: AlertRule(True, AlertCode.A52),
        Situation.ALREADY_IN_STATE: AlertRule(True, AlertCode.A7),
        Situation.ALREADY_INACTIVE: AlertRule(True, AlertCode.A24),
        Situation.UNDO_TYPE_MISMATCH: AlertRule(True, AlertCode.A24),
        Situation.UNDO_WINDOW_EXCEEDED: AlertRule(True),
        Situation.UNDO_BY_OTHER: AlertRule(True),
    },
)
"""The EMVS rules of the reference's §1.5-1.7: every EU market starts from these."""

EMVS_MARKETS: tuple[str, ...] = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
)  # fmt: skip
"""Markets connected to the European Medicines Verification System (EU/EEA; Northern Ireland left in 2024)."""

_FI = EU_DEFAULT.for_market("FI")
_FI = dataclasses.replace(
    _FI,
    alerts={**_FI.alerts, Situation.UNDO_WINDOW_EXCEEDED: AlertRule(True, AlertCode.A4)},
    # FiMVS 11220200/201: "already supplied here" warns three times, then #A10 (reference §1.7 step 6).
    repeat_warnings=RepeatWarnings(3, AlertRule(True, AlertCode.A10)),
)

POLICIES: Mapping[str, MarketPolicy] = MappingProxyType(
    {market: EU_DEFAULT.for_market(market) for market in EMVS_MARKETS} | {"FI": _FI}
)
"""The policy of every EMVS market, by market code."""


def policy_for(market: str) -> MarketPolicy:
    """The policy of ``market``; a market outside the EMVS is a :class:`LookupError` naming the known ones."""
    try:
        return POLICIES[market]
    except KeyError:
        raise LookupError(
            f"market: no policy for {market!r}; expected one of {', '.join(sorted(POLICIES))}"
        ) from None
