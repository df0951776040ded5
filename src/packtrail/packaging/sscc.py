"""SSCC allocation: Serial Shipping Container Codes for the cases and pallets a line builds.

An SSCC (AI 00) is 18 digits: an extension digit the company chooses, its GS1 Company Prefix, a
serial reference, and a check digit. The register hands out serial references per company prefix
and extension digit in ascending ranges, one atomic step per allocation, so no SSCC is ever issued
twice, whatever the line, process or restart:

>>> import tempfile
>>> from packtrail.store import open_store
>>> store = open_store(f"sqlite:///{tempfile.mkdtemp()}/sscc.db")
>>> register = SSCCService(store)
>>> first = register.allocate("4012345", 3, to_gln="4012345000009")
>>> first.ssccs()
['040123450000000016', '040123450000000023', '040123450000000030']
>>> first.uris()[0]
'urn:epc:id:sscc:4012345.0000000001'
>>> register.allocate("4012345", 2).first_sscc   # the next range: never the same SSCC twice
'040123450000000047'
>>> register.allocate("4012345", 1, extension_digit="3").first_sscc
'340123450000000017'
>>> store.close()

**Why sequential.** Unlike a pack's serial number, an SSCC need not be hard to guess (the EU guess
bound is about serials of medicines, not logistic units); GS1 asks only that an SSCC is not reused
within a year of shipping, and the register never reuses one. Ranges keep the register tiny
(one row per allocation) and make the labels of a pallet easy to find.

**Atomicity.** ``INSERT … ON CONFLICT DO UPDATE SET last_reference = last_reference + count RETURNING``
moves the counter in one statement; the allocation row is written in the same transaction. A process
killed before the commit issued nothing; after it, the range is burned (never issued again) even if no
label was printed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

from packtrail.gs1 import GLN, GS1Error, gs1_check_digit
from packtrail.packaging.errors import PackagingError, SSCCCapacityError
from packtrail.packaging.tables import sscc_allocations, sscc_counters
from packtrail.store.engine import IMMEDIATE, migrate

if TYPE_CHECKING:
    from packtrail.store import Store

__all__ = ["MAX_SSCC_ALLOCATION", "SSCCAllocation", "SSCCService", "check_company_prefix", "sscc_uri"]

MAX_SSCC_ALLOCATION: Final = 10_000_000
"""The most SSCCs one allocation may ask for."""


def check_company_prefix(value: str, field: str = "company_prefix") -> str:
    """``value`` when it is a GS1 Company Prefix (6 to 12 digits); else :class:`PackagingError`."""
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()) or not 6 <= len(value) <= 12:
        raise PackagingError(field, f"expected a GS1 Company Prefix of 6 to 12 digits, got {value!r}")
    return value


def _check_extension_digit(value: str) -> str:
    if not isinstance(value, str) or len(value) != 1 or not ("0" <= value <= "9"):
        raise PackagingError("extension_digit", f"expected one digit 0-9, got {value!r}")
    return value


def sscc_uri(sscc: str, company_prefix_length: int) -> str:
    """The EPC URI of an 18-digit SSCC whose company prefix has ``company_prefix_length`` digits.

    >>> sscc_uri("106141412345678908", 7)
    'urn:epc:id:sscc:0614141.1234567890'
    """
    return f"urn:epc:id:sscc:{sscc[1 : 1 + company_prefix_length]}.{sscc[0]}{sscc[1 + company_prefix_length : 17]}"


@dataclass(frozen=True, slots=True)
class SSCCAllocation:
    """A range of SSCCs issued together: serial references ``first_reference`` … ``+ count - 1``."""

    id: int
    company_prefix: str
    """The GS1 Company Prefix of the company that builds the logistic units."""
    extension_digit: str
    """The first digit of every SSCC of the range."""
    first_reference: int
    """The first serial reference (the digits between the company prefix and the check digit)."""
    count: int
    """How many SSCCs."""
    to_gln: str | None
    """The GLN of the packaging line or packer the range was issued to."""
    created_at_us: int

    def sscc(self, index: int) -> str:
        """The ``index``-th SSCC of the range (18 digits, check digit included)."""
        if not 0 <= index < self.count:
            raise IndexError(f"SSCC allocation {self.id} holds {self.count} SSCCs, not an index {index}")
        width = 16 - len(self.company_prefix)
        body = f"{self.extension_digit}{self.company_prefix}{self.first_reference + index:0{width}d}"
        return body + gs1_check_digit(body)

    def ssccs(self) -> list[str]:
        """Every SSCC of the range, in order."""
        return [self.sscc(i) for i in range(self.count)]

    def uris(self) -> list[str]:
        """Every SSCC of the range as an EPC URI (``urn:epc:id:sscc:…``), in order."""
        head = f"urn:epc:id:sscc:{self.company_prefix}.{self.extension_digit}"
        width = 16 - len(self.company_prefix)
        return [f"{head}{self.first_reference + i:0{width}d}" for i in range(self.count)]

    @property
    def first_sscc(self) -> str:
        return self.sscc(0)

    @property
    def last_sscc(self) -> str:
        return self.sscc(self.count - 1)

    def as_json(self) -> dict[str, Any]:
        """The allocation as a JSON object (the range, not every SSCC)."""
        return {
            "id": self.id,
            "companyPrefix": self.company_prefix,
            "extensionDigit": self.extension_digit,
            "count": self.count,
            "first": self.first_sscc,
            "last": self.last_sscc,
            "to": self.to_gln,
        }


class SSCCService:
    """The SSCC register of a store's database (SQLite or PostgreSQL). Thread-safe.

    ``target`` is a :class:`~packtrail.store.Store` (already migrated) or a SQLAlchemy engine made by
    :func:`packtrail.store.engine.create_store_engine` (migrated here)."""

    def __init__(self, target: Store | Engine) -> None:
        if isinstance(target, Engine):
            self.engine = target
            migrate(target)
        else:
            self.engine = target.engine
        self.postgres = self.engine.dialect.name == "postgresql"

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            if not self.postgres:
                connection = connection.execution_options(**{IMMEDIATE: True})
            with connection.begin():
                yield connection

    def allocate(
        self, company_prefix: str, count: int, *, extension_digit: str = "0", to_gln: str | None = None
    ) -> SSCCAllocation:
        """Issue ``count`` new SSCCs of ``company_prefix`` with ``extension_digit``, atomically.

        Raises :class:`PackagingError` for a bad prefix, digit, count or GLN and
        :class:`SSCCCapacityError` (nothing issued) when the serial references run out."""
        check_company_prefix(company_prefix)
        _check_extension_digit(extension_digit)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SSCC_ALLOCATION:
            raise PackagingError(
                "count", f"expected a whole number from 1 to {MAX_SSCC_ALLOCATION:,}, got {count!r}"
            )
        recipient = None
        if to_gln is not None:
            try:
                recipient = GLN.parse(to_gln).value
            except GS1Error as exc:
                raise PackagingError("to", str(exc)) from None
        highest = 10 ** (16 - len(company_prefix)) - 1
        insert = pg_dialect.insert if self.postgres else sqlite_dialect.insert
        counter = sscc_counters.c
        created = time.time_ns() // 1000
        with self._writing() as connection:
            statement = (
                insert(sscc_counters)
                .values(company_prefix=company_prefix, extension_digit=extension_digit, last_reference=count)
                .on_conflict_do_update(
                    index_elements=[counter.company_prefix, counter.extension_digit],
                    set_={"last_reference": counter.last_reference + count},
                )
                .returning(counter.last_reference)
            )
            last = int(connection.execute(statement).scalar_one())
            if last > highest:  # leaving the block rolls the counter back
                raise SSCCCapacityError(
                    company_prefix, extension_digit, count, max(0, highest - (last - count))
                )
            first = last - count + 1
            allocation_id = connection.execute(
                sa.insert(sscc_allocations)
                .values(
                    company_prefix=company_prefix,
                    extension_digit=extension_digit,
                    first_reference=first,
                    count=count,
                    to_gln=recipient,
                    created_at_us=created,
                )
                .returning(sscc_allocations.c.id)
            ).scalar_one()
        return SSCCAllocation(
            int(allocation_id), company_prefix, extension_digit, first, count, recipient, created
        )

    def allocation(self, allocation_id: int) -> SSCCAllocation | None:
        """The allocation with this id, or None."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(sscc_allocations).where(sscc_allocations.c.id == allocation_id)
            ).first()
        return None if row is None else _allocation(row)

    def allocations(self, company_prefix: str) -> list[SSCCAllocation]:
        """Every allocation of ``company_prefix``, oldest first."""
        check_company_prefix(company_prefix)
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(sscc_allocations)
                .where(sscc_allocations.c.company_prefix == company_prefix)
                .order_by(sscc_allocations.c.id)
            ).all()
        return [_allocation(row) for row in rows]


def _allocation(row: Any) -> SSCCAllocation:
    return SSCCAllocation(
        int(row.id),
        row.company_prefix,
        row.extension_digit,
        int(row.first_reference),
        int(row._mapping["count"]),
        row.to_gln,
        int(row.created_at_us),
    )
