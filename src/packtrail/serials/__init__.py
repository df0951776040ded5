"""Serial number management: random serials per GTIN, pools, allocation to packaging lines and contract
packagers, returns and reports, under the EU guess bound.

>>> from packtrail.serials import SerialPolicy
>>> SerialPolicy.parse("numeric", 12).capacity()
99999999

Modules: :mod:`~packtrail.serials.policy` (alphabet, length, the guess probability and its bound),
:mod:`~packtrail.serials.generator` (uniform serials from the CSPRNG), :mod:`~packtrail.serials.tables`
(the tables), :mod:`~packtrail.serials.bulk` (million-row inserts on SQLite and PostgreSQL),
:mod:`~packtrail.serials.service` (:class:`SerialService`: pools, allocation, returns, reports),
:mod:`~packtrail.serials.access` (who manages a GTIN's serials), :mod:`~packtrail.serials.cli` (the
``packtrail serials`` commands), :mod:`~packtrail.serials.errors`.
"""

from __future__ import annotations

from packtrail.serials.errors import (
    GuessProbabilityError,
    NoSuchAllocationError,
    SerialError,
    SerialGenerationError,
    SerialPolicyError,
    SerialReturnError,
)
from packtrail.serials.generator import SerialGenerator
from packtrail.serials.policy import MAX_GUESS_PROBABILITY, NAMED_ALPHABETS, SerialPolicy
from packtrail.serials.service import (
    Allocation,
    Pool,
    RecipientCounts,
    ReturnResult,
    SerialReport,
    SerialService,
)

__all__ = [
    "MAX_GUESS_PROBABILITY",
    "NAMED_ALPHABETS",
    "Allocation",
    "GuessProbabilityError",
    "NoSuchAllocationError",
    "Pool",
    "RecipientCounts",
    "ReturnResult",
    "SerialError",
    "SerialGenerationError",
    "SerialGenerator",
    "SerialPolicy",
    "SerialPolicyError",
    "SerialReport",
    "SerialReturnError",
    "SerialService",
]
