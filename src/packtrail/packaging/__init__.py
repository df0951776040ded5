"""The manufacturer's packaging line: SSCCs, the EPCIS events a serialisation line reports, labels.

Modules: :mod:`~packtrail.packaging.sscc` (the SSCC register: never an SSCC twice),
:mod:`~packtrail.packaging.events` (commissioning, packing, partial cases, unpacking, repacking,
sampling, destroying with a reason: EPCIS 2.0 events in the JSON-LD shape),
:mod:`~packtrail.packaging.labels` (each pack's GS1 DataMatrix, each case's and pallet's GS1-128 SSCC
label), :mod:`~packtrail.packaging.line` (:class:`PackagingLine`: a run of N packs into cases and
pallets, captured), :mod:`~packtrail.packaging.node` (serials and capture from the local store or a
node over HTTP), :mod:`~packtrail.packaging.tables`, :mod:`~packtrail.packaging.errors` and
:mod:`~packtrail.packaging.cli` (``packtrail line``).
"""

from __future__ import annotations

from packtrail.packaging.errors import LineCaptureError, PackagingError, SSCCCapacityError
from packtrail.packaging.events import DESTRUCTION_REASONS, NAMESPACES, PACKTRAIL_NAMESPACE, Place
from packtrail.packaging.labels import PackLabel, SSCCLabel
from packtrail.packaging.line import LineRun, PackagingLine
from packtrail.packaging.node import LocalServices, NodeClient, NodeError
from packtrail.packaging.sscc import SSCCAllocation, SSCCService

__all__ = [
    "DESTRUCTION_REASONS",
    "NAMESPACES",
    "PACKTRAIL_NAMESPACE",
    "LineCaptureError",
    "LineRun",
    "LocalServices",
    "NodeClient",
    "NodeError",
    "PackLabel",
    "PackagingError",
    "PackagingLine",
    "Place",
    "SSCCAllocation",
    "SSCCCapacityError",
    "SSCCLabel",
    "SSCCService",
]
