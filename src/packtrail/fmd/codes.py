"""The NMVS vocabulary: transaction codes, return codes and EU hub alert codes.

Every EU pharmacy developer knows these names from the NMVS interface, so
packtrail uses them unchanged. A **transaction code** names the operation
(``G1x0`` single pack, ``G1x1`` undo, ``G1x5`` bulk, ``G1x7`` bulk undo):

>>> from packtrail.fmd.codes import AlertCode, OperationKind, ReturnCode, TransactionCode
>>> G120 = TransactionCode.G120
>>> G120.operation.kind, G120.operation.reason, G120.operation.bulk
(<OperationKind.DECOMMISSION: 'decommission'>, <Reason.SUPPLIED: 'SUPPLIED'>, False)
>>> TransactionCode.G127.operation.single
<TransactionCode.G121: 'G121'>

A **return code** says how the request ended; its text is our paraphrase of the
public NMVS message table:

>>> ReturnCode.NMVS_NC_PC_02.text
'Unknown serial number'

An **alert code** is what the EU hub raises and routes to the product's owner:

>>> AlertCode.A68.meaning, AlertCode.A68.hub_label
('Batch id does not match the recorded batch', '#A68')
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from packtrail.fmd.states import Reason

__all__ = ["AlertCode", "Operation", "OperationKind", "ReturnCode", "TransactionCode"]


class OperationKind(StrEnum):
    """What a transaction does to a pack."""

    VERIFY = "verify"
    """Read the pack's state; never changes it."""
    DECOMMISSION = "decommission"
    """Set the pack inactive with a reason (dispense, export, destroy, lock, …)."""
    UNDO = "undo"
    """Revert a decommissioning: the pack becomes active again (undo-dispense, unlock, …)."""
    FETCH_RESULT = "fetch-result"
    """Fetch the per-pack results of an earlier bulk transaction (G188, G196)."""
    MIXED_BULK = "mixed-bulk"
    """A bulk list whose packs each name their own single-pack operation (G195)."""


@dataclass(frozen=True, slots=True)
class Operation:
    """The meaning of one transaction code."""

    kind: OperationKind
    """Verify, decommission, undo, or one of the bulk bookkeeping operations."""
    reason: Reason | None
    """The inactive reason a decommission sets or an undo reverts; ``None`` for the others."""
    bulk: bool
    """True for the asynchronous multi-pack codes (``G1x5``, ``G1x7``, G188, G195, G196)."""
    single: TransactionCode | None
    """The single-pack code each pack of a bulk request is processed as (itself for a single code)."""
    title: str
    """The operation's name in the NMVS interface documentation."""


class TransactionCode(StrEnum):
    """An NMVS transaction (use-case) code, ``G110`` … ``G196``."""

    G110 = "G110"
    G115 = "G115"
    G120 = "G120"
    G121 = "G121"
    G125 = "G125"
    G127 = "G127"
    G130 = "G130"
    G135 = "G135"
    G140 = "G140"
    G141 = "G141"
    G145 = "G145"
    G147 = "G147"
    G150 = "G150"
    G151 = "G151"
    G155 = "G155"
    G157 = "G157"
    G160 = "G160"
    G161 = "G161"
    G165 = "G165"
    G167 = "G167"
    G170 = "G170"
    G171 = "G171"
    G175 = "G175"
    G177 = "G177"
    G180 = "G180"
    G185 = "G185"
    G188 = "G188"
    G195 = "G195"
    G196 = "G196"

    @property
    def operation(self) -> Operation:
        """What this code does (kind, reason, bulk or single)."""
        return _OPERATIONS[self]

    @property
    def is_single_pack(self) -> bool:
        """True for the synchronous one-pack codes (``G1x0``, ``G1x1``): only these trigger an
        intermarket transaction through the hub."""
        return not _OPERATIONS[self].bulk


def _build_operations() -> dict[TransactionCode, Operation]:
    T, K = TransactionCode, OperationKind
    rows: list[tuple[TransactionCode, OperationKind, Reason | None, TransactionCode | None, str]] = [
        (T.G110, K.VERIFY, None, None, "Verify single pack"),
        (T.G120, K.DECOMMISSION, Reason.SUPPLIED, None, "Dispense single pack"),
        (T.G121, K.UNDO, Reason.SUPPLIED, None, "Undo dispense single pack"),
        (T.G130, K.DECOMMISSION, Reason.DESTROYED, None, "Destroy single pack"),
        (T.G140, K.DECOMMISSION, Reason.EXPORTED, None, "Export single pack"),
        (T.G141, K.UNDO, Reason.EXPORTED, None, "Undo export single pack"),
        (T.G150, K.DECOMMISSION, Reason.SAMPLE, None, "Sample single pack"),
        (T.G151, K.UNDO, Reason.SAMPLE, None, "Undo sample single pack"),
        (T.G160, K.DECOMMISSION, Reason.FREE_SAMPLE, None, "Free sample single pack"),
        (T.G161, K.UNDO, Reason.FREE_SAMPLE, None, "Undo free sample single pack"),
        (T.G170, K.DECOMMISSION, Reason.LOCKED, None, "Lock single pack"),
        (T.G171, K.UNDO, Reason.LOCKED, None, "Unlock single pack"),
        (T.G180, K.DECOMMISSION, Reason.STOLEN, None, "Stolen single pack"),
        (T.G115, K.VERIFY, None, T.G110, "Verify bulk"),
        (T.G125, K.DECOMMISSION, Reason.SUPPLIED, T.G120, "Dispense bulk"),
        (T.G127, K.UNDO, Reason.SUPPLIED, T.G121, "Undo dispense bulk"),
        (T.G135, K.DECOMMISSION, Reason.DESTROYED, T.G130, "Destroy bulk"),
        (T.G145, K.DECOMMISSION, Reason.EXPORTED, T.G140, "Export bulk"),
        (T.G147, K.UNDO, Reason.EXPORTED, T.G141, "Undo export bulk"),
        (T.G155, K.DECOMMISSION, Reason.SAMPLE, T.G150, "Sample bulk"),
        (T.G157, K.UNDO, Reason.SAMPLE, T.G151, "Undo sample bulk"),
        (T.G165, K.DECOMMISSION, Reason.FREE_SAMPLE, T.G160, "Free sample bulk"),
        (T.G167, K.UNDO, Reason.FREE_SAMPLE, T.G161, "Undo free sample bulk"),
        (T.G175, K.DECOMMISSION, Reason.LOCKED, T.G170, "Lock bulk"),
        (T.G177, K.UNDO, Reason.LOCKED, T.G171, "Unlock bulk"),
        (T.G185, K.DECOMMISSION, Reason.STOLEN, T.G180, "Stolen bulk"),
        (T.G188, K.FETCH_RESULT, None, None, "Fetch result of a bulk transaction"),
        (T.G195, K.MIXED_BULK, None, None, "Mixed bulk (several operation types in one list)"),
        (T.G196, K.FETCH_RESULT, None, None, "Fetch result of a mixed bulk transaction"),
    ]
    table: dict[TransactionCode, Operation] = {}
    for code, kind, reason, single, title in rows:
        bulk = single is not None or kind in (K.FETCH_RESULT, K.MIXED_BULK)
        table[code] = Operation(kind, reason, bulk, code if not bulk else single, title)
    return table


_OPERATIONS: dict[TransactionCode, Operation] = _build_operations()


class ReturnCode(StrEnum):
    """An NMVS return code (the ``ReturnCode/@code`` of every answer); :attr:`text` explains it."""

    NMVS_SUCCESS = "NMVS_SUCCESS"
    NMVS_ERROR = "NMVS_ERROR"
    NMVS_FE_AU_01 = "NMVS_FE_AU_01"
    NMVS_FE_AU_02 = "NMVS_FE_AU_02"
    NMVS_FE_AU_03 = "NMVS_FE_AU_03"
    NMVS_FE_AU_04 = "NMVS_FE_AU_04"
    NMVS_FE_AU_05 = "NMVS_FE_AU_05"
    NMVS_FE_AU_06 = "NMVS_FE_AU_06"
    NMVS_FE_AU_07 = "NMVS_FE_AU_07"
    NMVS_FE_AU_08 = "NMVS_FE_AU_08"
    NMVS_FE_AU_09 = "NMVS_FE_AU_09"
    NMVS_FE_AU_10 = "NMVS_FE_AU_10"
    NMVS_FE_AU_11 = "NMVS_FE_AU_11"
    NMVS_FE_AU_12 = "NMVS_FE_AU_12"
    NMVS_FE_AU_13 = "NMVS_FE_AU_13"
    NMVS_FE_AU_14 = "NMVS_FE_AU_14"
    NMVS_FE_AU_15 = "NMVS_FE_AU_15"
    NMVS_FE_AU_23 = "NMVS_FE_AU_23"
    NMVS_FE_BR_01 = "NMVS_FE_BR_01"
    NMVS_FE_GR_01 = "NMVS_FE_GR_01"
    NMVS_FE_GR_02 = "NMVS_FE_GR_02"
    NMVS_FE_GR_03 = "NMVS_FE_GR_03"
    NMVS_FE_GR_04 = "NMVS_FE_GR_04"
    NMVS_FE_LOT_01 = "NMVS_FE_LOT_01"
    NMVS_FE_LOT_02 = "NMVS_FE_LOT_02"
    NMVS_FE_LOT_03 = "NMVS_FE_LOT_03"
    NMVS_FE_LOT_04 = "NMVS_FE_LOT_04"
    NMVS_FE_LOT_05 = "NMVS_FE_LOT_05"
    NMVS_FE_LOT_06 = "NMVS_FE_LOT_06"
    NMVS_FE_LOT_07 = "NMVS_FE_LOT_07"
    NMVS_FE_LOT_08 = "NMVS_FE_LOT_08"
    NMVS_FE_LOT_09 = "NMVS_FE_LOT_09"
    NMVS_FE_LOT_10 = "NMVS_FE_LOT_10"
    NMVS_FE_LOT_12 = "NMVS_FE_LOT_12"
    NMVS_FE_LOT_13 = "NMVS_FE_LOT_13"
    NMVS_FE_PKI_01 = "NMVS_FE_PKI_01"
    NMVS_FE_PKI_05 = "NMVS_FE_PKI_05"
    NMVS_FE_PKI_06 = "NMVS_FE_PKI_06"
    NMVS_FE_PKI_07 = "NMVS_FE_PKI_07"
    NMVS_FE_PKI_08 = "NMVS_FE_PKI_08"
    NMVS_FE_PKI_09 = "NMVS_FE_PKI_09"
    NMVS_FE_REQ_01 = "NMVS_FE_REQ_01"
    NMVS_FE_REQ_02 = "NMVS_FE_REQ_02"
    NMVS_FE_SN_02 = "NMVS_FE_SN_02"
    NMVS_FE_TX_01 = "NMVS_FE_TX_01"
    NMVS_FE_TX_02 = "NMVS_FE_TX_02"
    NMVS_FE_TX_03 = "NMVS_FE_TX_03"
    NMVS_FE_TX_04 = "NMVS_FE_TX_04"
    NMVS_FE_TX_05 = "NMVS_FE_TX_05"
    NMVS_FI_BAT_01 = "NMVS_FI_BAT_01"
    NMVS_FI_SE_CLI_01 = "NMVS_FI_SE_CLI_01"
    NMVS_NC_PC_01 = "NMVS_NC_PC_01"
    NMVS_NC_PC_02 = "NMVS_NC_PC_02"
    NMVS_NC_PC_03 = "NMVS_NC_PC_03"
    NMVS_NC_PC_05 = "NMVS_NC_PC_05"
    NMVS_NC_PC_06 = "NMVS_NC_PC_06"
    NMVS_NC_PC_07 = "NMVS_NC_PC_07"
    NMVS_NC_PC_09 = "NMVS_NC_PC_09"
    NMVS_NC_PC_10 = "NMVS_NC_PC_10"
    NMVS_NC_PC_11 = "NMVS_NC_PC_11"
    NMVS_NC_PCK_01 = "NMVS_NC_PCK_01"
    NMVS_NC_PCK_02 = "NMVS_NC_PCK_02"
    NMVS_NC_PCK_03 = "NMVS_NC_PCK_03"
    NMVS_NC_PCK_04 = "NMVS_NC_PCK_04"
    NMVS_NC_PCK_05 = "NMVS_NC_PCK_05"
    NMVS_NC_PCK_06 = "NMVS_NC_PCK_06"
    NMVS_NC_PCK_07 = "NMVS_NC_PCK_07"
    NMVS_NC_PCK_08 = "NMVS_NC_PCK_08"
    NMVS_NC_PCK_09 = "NMVS_NC_PCK_09"
    NMVS_NC_PCK_10 = "NMVS_NC_PCK_10"
    NMVS_NC_PCK_11 = "NMVS_NC_PCK_11"
    NMVS_NC_PCK_13 = "NMVS_NC_PCK_13"
    NMVS_NC_PCK_14 = "NMVS_NC_PCK_14"
    NMVS_NC_PCK_15 = "NMVS_NC_PCK_15"
    NMVS_NC_PCK_16 = "NMVS_NC_PCK_16"
    NMVS_NC_PCK_17 = "NMVS_NC_PCK_17"
    NMVS_NC_PCK_18 = "NMVS_NC_PCK_18"
    NMVS_NC_PCK_19 = "NMVS_NC_PCK_19"
    NMVS_NC_PCK_20 = "NMVS_NC_PCK_20"
    NMVS_NC_PCK_21 = "NMVS_NC_PCK_21"
    NMVS_NC_PCK_22 = "NMVS_NC_PCK_22"
    NMVS_NC_PCK_23 = "NMVS_NC_PCK_23"
    NMVS_NC_PCK_24 = "NMVS_NC_PCK_24"
    NMVS_NC_PCK_25 = "NMVS_NC_PCK_25"
    NMVS_NC_PCK_27 = "NMVS_NC_PCK_27"
    NMVS_TE_JS_01 = "NMVS_TE_JS_01"
    NMVS_TE_JS_02 = "NMVS_TE_JS_02"
    NMVS_TE_XM_01 = "NMVS_TE_XM_01"
    NMVS_TE_XM_02 = "NMVS_TE_XM_02"
    NMVS_TE_REQ_02 = "NMVS_TE_REQ_02"
    NMVS_TE_TX_01 = "NMVS_TE_TX_01"
    NMVS_TE_TX_02 = "NMVS_TE_TX_02"
    NMVS_TI_AU_01 = "NMVS_TI_AU_01"
    NMVS_TI_RT_01 = "NMVS_TI_RT_01"
    NMVS_TI_RT_02 = "NMVS_TI_RT_02"
    NMVS_TI_TO_01 = "NMVS_TI_TO_01"
    NMVS_WF_NC_01 = "NMVS_WF_NC_01"
    NMVS_WF_NC_02 = "NMVS_WF_NC_02"

    @property
    def text(self) -> str:
        """What the code means (our paraphrase of the public NMVS message table)."""
        return _RETURN_TEXTS[self]

    @property
    def is_success(self) -> bool:
        """True only for ``NMVS_SUCCESS``: the transaction was performed."""
        return self is ReturnCode.NMVS_SUCCESS


_R = ReturnCode
_LACKS_RIGHTS = "Client or user lacks rights for this product code, serial or process"
_RETURN_TEXTS: dict[ReturnCode, str] = {
    _R.NMVS_SUCCESS: "The transaction was performed",
    _R.NMVS_ERROR: "General technical error",
    _R.NMVS_FE_AU_01: "User or password wrong",
    _R.NMVS_FE_AU_02: "User locked",
    _R.NMVS_FE_AU_03: "General security violation",
    _R.NMVS_FE_AU_04: "Client does not exist",
    _R.NMVS_FE_AU_05: "User locked after too many log-in attempts",
    _R.NMVS_FE_AU_06: "User or password wrong",
    _R.NMVS_FE_AU_07: "Client differs from the one named in the file",
    _R.NMVS_FE_AU_08: _LACKS_RIGHTS,
    _R.NMVS_FE_AU_09: _LACKS_RIGHTS,
    _R.NMVS_FE_AU_10: "User or password wrong",
    _R.NMVS_FE_AU_11: "Password expired or still the initial one",
    _R.NMVS_FE_AU_12: _LACKS_RIGHTS,
    _R.NMVS_FE_AU_13: "Data invalid for EU Hub use",
    _R.NMVS_FE_AU_14: "EU Hub id valid but the interface is not allowed now",
    _R.NMVS_FE_AU_15: _LACKS_RIGHTS,
    _R.NMVS_FE_AU_23: "Terms and conditions not accepted in time",
    _R.NMVS_FE_BR_01: "Operation not allowed for this business process",
    _R.NMVS_FE_GR_01: "Product code invalid",
    _R.NMVS_FE_GR_02: "PZN check digit inside the PPN is wrong",
    _R.NMVS_FE_GR_03: "Product code prefix does not fit the country",
    _R.NMVS_FE_GR_04: "Product code invalid",
    _R.NMVS_FE_LOT_01: "The batch of this serial number has been recalled",
    _R.NMVS_FE_LOT_02: "The batch already exists with another expiry date",
    _R.NMVS_FE_LOT_03: "Batch not found",
    _R.NMVS_FE_LOT_04: "The batch already exists with another expiry date",
    _R.NMVS_FE_LOT_05: "Batch is not locked",
    _R.NMVS_FE_LOT_06: "Expiry date differs from the stored value",
    _R.NMVS_FE_LOT_07: "Expiry date value malformed",
    _R.NMVS_FE_LOT_08: "Batch or product withdrawn",
    _R.NMVS_FE_LOT_09: "No pack of this batch can be locked",
    _R.NMVS_FE_LOT_10: "No pack of this batch can be unlocked",
    _R.NMVS_FE_LOT_12: "Expiry date does not match the stored batch expiry",
    _R.NMVS_FE_LOT_13: "Batch does not match the serial number",
    _R.NMVS_FE_PKI_01: "Client certificate expired",
    _R.NMVS_FE_PKI_05: "Client certificate missing",
    _R.NMVS_FE_PKI_06: "Client certificate not valid",
    _R.NMVS_FE_PKI_07: "No new client certificate",
    _R.NMVS_FE_PKI_08: "Client certificate not valid on the server",
    _R.NMVS_FE_PKI_09: "Client certificate already validated",
    _R.NMVS_FE_REQ_01: "Value already set, overwrite refused",
    _R.NMVS_FE_REQ_02: "Input does not fit the request type",
    _R.NMVS_FE_SN_02: "Product code and serial number combination already exists",
    _R.NMVS_FE_TX_01: "Referenced transaction does not match the dispense",
    _R.NMVS_FE_TX_02: "Bulk transaction id not available",
    _R.NMVS_FE_TX_03: "Referenced transaction does not match the destroy",
    _R.NMVS_FE_TX_04: "Referenced transaction does not match the upload",
    _R.NMVS_FE_TX_05: "Referenced transaction is not valid for undo",
    _R.NMVS_FI_BAT_01: "A process for this action is already running",
    _R.NMVS_FI_SE_CLI_01: "Allowed transmission frequency exceeded",
    _R.NMVS_NC_PC_01: "Unknown product code",
    _R.NMVS_NC_PC_02: "Unknown serial number",
    _R.NMVS_NC_PC_03: "Product number belongs to another client",
    _R.NMVS_NC_PC_05: "Uploaded master data differ from the stored master data",
    _R.NMVS_NC_PC_06: "Product code not available",
    _R.NMVS_NC_PC_07: "Several records found for the product code",
    _R.NMVS_NC_PC_09: "Changing the product code is not allowed",
    _R.NMVS_NC_PC_10: "GTIN not allowed as product code for a national-only product",
    _R.NMVS_NC_PC_11: "National reimbursement number (NHRN) invalid",
    _R.NMVS_NC_PCK_01: "Pack is not in a dispensable state",
    _R.NMVS_NC_PCK_02: "Pack is expired",
    _R.NMVS_NC_PCK_03: "Pack is not in a dispensable state",
    _R.NMVS_NC_PCK_04: "Pack is not in state dispensed",
    _R.NMVS_NC_PCK_05: "Time between dispense and its undo exceeded",
    _R.NMVS_NC_PCK_06: "Current pack state does not correspond to the undo requested",
    _R.NMVS_NC_PCK_07: "Pack is not in state exported",
    _R.NMVS_NC_PCK_08: "Pack already locked for dispensing",
    _R.NMVS_NC_PCK_09: "Batches of the given serial numbers are expired",
    _R.NMVS_NC_PCK_10: "No serial number found in the selected upload",
    _R.NMVS_NC_PCK_11: "Pack is dispensed, exported or destroyed",
    _R.NMVS_NC_PCK_13: "Time between destroy and its undo exceeded",
    _R.NMVS_NC_PCK_14: "Pack is not locked",
    _R.NMVS_NC_PCK_15: "Product locked because of a notified process",
    _R.NMVS_NC_PCK_16: "Product is not locked",
    _R.NMVS_NC_PCK_17: "No serial number in the request could be validated",
    _R.NMVS_NC_PCK_18: "Pack carries an exclusive property",
    _R.NMVS_NC_PCK_19: "Property or state already set on the pack",
    _R.NMVS_NC_PCK_20: "Undo window (10 days, 240 hours) exceeded",
    _R.NMVS_NC_PCK_21: "Undo only by the user, at the location, that set the state",
    _R.NMVS_NC_PCK_22: "Pack already inactive",
    _R.NMVS_NC_PCK_23: "Double-scan default properties saved",
    _R.NMVS_NC_PCK_24: "At least one serial number of the request could not be processed",
    _R.NMVS_NC_PCK_25: "No history available for the pack",
    _R.NMVS_NC_PCK_27: "Status change could not be performed (intermarket)",
    _R.NMVS_TE_JS_01: "JSON malformed",
    _R.NMVS_TE_JS_02: "JSON does not match the schema",
    _R.NMVS_TE_XM_01: "XML malformed",
    _R.NMVS_TE_XM_02: "XML does not match the XSD",
    _R.NMVS_TE_REQ_02: "No web-service endpoint found",
    _R.NMVS_TE_TX_01: "Client transaction id already used",
    _R.NMVS_TE_TX_02: "Transaction id already used by a manufacturer for an import",
    _R.NMVS_TI_AU_01: "Authentication failed for technical reasons",
    _R.NMVS_TI_RT_01: "No process for the request",
    _R.NMVS_TI_RT_02: "Communication error with central components",
    _R.NMVS_TI_TO_01: "Processing exceeded the configured maximum time",
    _R.NMVS_WF_NC_01: "Process cannot be executed now",
    _R.NMVS_WF_NC_02: "Role cannot be assigned now",
}


class AlertCode(StrEnum):
    """An EU hub alert code (written ``#A3`` in hub messages; ``A3`` here)."""

    A1 = "A1"
    A2 = "A2"
    A3 = "A3"
    A4 = "A4"
    A7 = "A7"
    A10 = "A10"
    A24 = "A24"
    A52 = "A52"
    A67 = "A67"
    A68 = "A68"
    A99 = "A99"

    @property
    def meaning(self) -> str:
        """What the alert says about the pack."""
        return _ALERT_MEANINGS[self]

    @property
    def hub_label(self) -> str:
        """The code as the EU hub writes it, ``#A3``."""
        return "#" + self.value


_ALERT_MEANINGS: dict[AlertCode, str] = {
    AlertCode.A1: "Unknown product code (after the intermarket transaction)",
    AlertCode.A2: "Serial number unknown and batch not found",
    AlertCode.A3: "Serial number unknown (batch known)",
    AlertCode.A4: "Undo time limit exceeded",
    AlertCode.A7: "Pack already in the requested state",
    AlertCode.A10: "Pack already supplied at this location",
    AlertCode.A24: "Status change could not be performed",
    AlertCode.A52: "Expiry date does not match the recorded expiry",
    AlertCode.A67: "Voluntary retrospective decommissioning possible",
    AlertCode.A68: "Batch id does not match the recorded batch",
    AlertCode.A99: "Possible counterfeit (legacy header before hub release 1.8)",
}
