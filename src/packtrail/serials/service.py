"""Serial number management over a store: pools, atomic allocation, returns and reports.

A manufacturer keeps, per GTIN, every serial it ever issued. A packaging line or a contract packager
(named by its GLN) asks for serials before a run and sends back those it did not print:

>>> import tempfile
>>> from packtrail.store import open_store
>>> store = open_store(f"sqlite:///{tempfile.mkdtemp()}/serials.db")
>>> service = SerialService(store)
>>> pool = service.create_pool("04012345111118", "alphanumeric", 10)
>>> batch = service.allocate("04012345111118", 1000, to_gln="4012345000016")
>>> len(batch.serials), len(set(batch.serials)), batch.to_gln, str(batch.policy)
(1000, 1000, '4012345000016', 'alphanumeric x 10')
>>> service.return_unused(batch.id, batch.serials[:10]).returned
10
>>> report = service.report("04012345111118")
>>> report.issued, report.allocated, report.returned
(1000, 990, 10)
>>> store.close()

**Uniqueness.** ``serials`` has the primary key ``(gtin, serial)``: no serial is ever issued twice
for a GTIN, whatever the pool, allocation or process. Returned serials keep their rows (status
``returned``) and are never issued again: once a serial has left the generator it may be on a
printed label or in a line's memory, and the EU expects a serial to identify one pack only, so it
stays burned.

**Atomicity.** An allocation is one transaction: it draws candidates from the CSPRNG, inserts them
(conflicts with existing serials are skipped), tops up the shortfall with new draws, and commits
before anything is returned to the caller. A process killed mid-allocation leaves no row of that
allocation (or, when the commit had happened, all of them): a serial is never issued twice, and
never issued without being recorded. Writers of one GTIN are serialised (PostgreSQL: an advisory
transaction lock per GTIN; SQLite: ``BEGIN IMMEDIATE``), so the guess bound is checked against
every serial committed before. A pool that an allocation creates is rolled back with it when the
allocation is refused.

**The guess bound.** Before issuing, the service computes the guess probability
``(serials issued for the GTIN + requested) / number space of the pool`` and refuses with
:class:`~packtrail.serials.errors.GuessProbabilityError` when it is not below 1/10,000 (or the
stricter ``bound`` the service was given). Returned serials stay counted as issued.
"""

from __future__ import annotations

import operator
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from itertools import islice
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

from packtrail.gs1 import GLN, GTIN, GS1Error
from packtrail.serials import bulk
from packtrail.serials.errors import (
    NoSuchAllocationError,
    SerialGenerationError,
    SerialPolicyError,
    SerialReturnError,
)
from packtrail.serials.generator import RandomBytes, SerialGenerator
from packtrail.serials.policy import (
    DEFAULT_ALPHABET,
    DEFAULT_LENGTH,
    MAX_GUESS_PROBABILITY,
    SerialPolicy,
)
from packtrail.serials.tables import SerialStatus, serial_allocations, serial_pools
from packtrail.store.engine import IMMEDIATE, migrate

if TYPE_CHECKING:
    from packtrail.store import Store

__all__ = [
    "MAX_ALLOCATION",
    "Allocation",
    "Pool",
    "RecipientCounts",
    "ReturnResult",
    "SerialReport",
    "SerialService",
    "normalise_gln",
    "normalise_gtin",
]

MAX_ALLOCATION: Final = 10_000_000
"""The most serials one allocation may ask for."""

LOCK_CLASS: Final = 0x53524C53
"""First key of the PostgreSQL advisory locks that serialise a GTIN's allocations ("SRLS")."""

MAX_ROUNDS: Final = 64
"""Draws per allocation before the random source is declared broken (a real CSPRNG needs one or two)."""


def normalise_gtin(value: str) -> str:
    """The GTIN-14 of ``value`` (GTIN-8/12/13/14 with a valid check digit); :class:`SerialPolicyError`."""
    try:
        return GTIN.parse(value).gtin14
    except GS1Error as exc:
        raise SerialPolicyError("gtin", str(exc)) from None


def normalise_gln(value: str, field_name: str = "to") -> str:
    """The 13-digit GLN ``value`` (check digit verified); :class:`SerialPolicyError` naming ``field_name``."""
    try:
        return GLN.parse(value).value
    except GS1Error as exc:
        raise SerialPolicyError(field_name, str(exc)) from None


def _now_us() -> int:
    return time.time_ns() // 1000


def iso_time(microseconds: int) -> str:
    """An ``*_us`` time as ISO 8601 UTC with milliseconds (``2026-03-01T09:00:00.000Z``)."""
    moment = datetime.fromtimestamp(microseconds / 1_000_000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class Pool:
    """A source of serials for one GTIN, with one policy (alphabet and length)."""

    id: int
    gtin: str
    """The GTIN-14."""
    policy: SerialPolicy
    created_at_us: int

    def as_json(self, issued: int | None = None) -> dict[str, Any]:
        """The pool as a JSON object (``numberSpace`` as text: it may exceed JSON's safe integers)."""
        body: dict[str, Any] = {
            "id": self.id,
            "gtin": self.gtin,
            "alphabet": self.policy.alphabet,
            "alphabetName": self.policy.alphabet_name,
            "length": self.policy.length,
            "numberSpace": str(self.policy.number_space),
            "capacity": str(self.policy.capacity()),
            "createdAt": iso_time(self.created_at_us),
        }
        if issued is not None:
            body["guessProbability"] = float(self.policy.guess_probability(issued))
        return body


@dataclass(frozen=True, slots=True)
class Allocation:
    """Serials of one GTIN issued together, to one party (or none)."""

    id: int
    gtin: str
    pool_id: int
    policy: SerialPolicy
    count: int
    """How many serials were issued."""
    to_gln: str | None
    """The GLN of the packaging line or contract packager they were issued to."""
    created_at_us: int
    returned_count: int
    """How many came back unused."""
    guess_probability: Fraction
    """The GTIN's guess probability in this pool after the allocation (all serials issued so far)."""
    serials: list[str] = field(default_factory=list)
    """The serials, in random order (empty when the allocation was looked up without them)."""

    def as_json(self, *, with_serials: bool = True) -> dict[str, Any]:
        """The allocation as a JSON object."""
        body: dict[str, Any] = {
            "id": self.id,
            "gtin": self.gtin,
            "pool": self.pool_id,
            "alphabet": self.policy.alphabet,
            "length": self.policy.length,
            "count": self.count,
            "to": self.to_gln,
            "createdAt": iso_time(self.created_at_us),
            "returned": self.returned_count,
            "guessProbability": float(self.guess_probability),
        }
        if with_serials:
            body["serials"] = self.serials
        return body


@dataclass(frozen=True, slots=True)
class ReturnResult:
    """What a return changed."""

    allocation_id: int
    returned: int
    """Serials set to returned now."""
    already_returned: int
    """Serials that had been returned before (a repeated return is harmless)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "allocation": self.allocation_id,
            "returned": self.returned,
            "alreadyReturned": self.already_returned,
        }


@dataclass(frozen=True, slots=True)
class RecipientCounts:
    """The serials one party received for a GTIN."""

    to_gln: str | None
    allocations: int
    issued: int
    allocated: int
    """Issued and not returned."""
    returned: int

    def as_json(self) -> dict[str, Any]:
        return {
            "to": self.to_gln,
            "allocations": self.allocations,
            "issued": self.issued,
            "allocated": self.allocated,
            "returned": self.returned,
        }


@dataclass(frozen=True, slots=True)
class SerialReport:
    """Counts of a GTIN's serials by status and by recipient.

    A report restricted to one recipient (``restricted``) counts only that party's allocations and
    leaves out the pools and the guess probability."""

    gtin: str
    issued: int
    allocated: int
    returned: int
    allocations: int
    recipients: list[RecipientCounts]
    pools: list[Pool]
    guess_probability: Fraction | None
    """Issued serials over the smallest pool's number space (the worst case); None without pools."""
    restricted: bool = False

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "gtin": self.gtin,
            "issued": self.issued,
            "byStatus": {"allocated": self.allocated, "returned": self.returned},
            "allocations": self.allocations,
            "byRecipient": [r.as_json() for r in self.recipients],
        }
        if not self.restricted:
            body["pools"] = [pool.as_json(self.issued) for pool in self.pools]
            body["guessProbability"] = (
                None if self.guess_probability is None else float(self.guess_probability)
            )
        return body


def _has_repeats(ordered: list[str]) -> bool:
    """True when a sorted list holds a value twice (neighbours equal), in C speed."""
    return any(map(operator.eq, ordered, islice(ordered, 1, None)))


class SerialService:
    """Serial number management on a store's database (SQLite or PostgreSQL). Thread-safe.

    ``target`` is a :class:`~packtrail.store.Store` (already migrated) or a SQLAlchemy engine made by
    :func:`packtrail.store.engine.create_store_engine` (migrated here). ``bound`` may be stricter than
    the EU's 1/10,000, never looser; ``random_bytes`` replaces the CSPRNG in tests only.
    """

    def __init__(
        self,
        target: Store | Engine,
        *,
        bound: Fraction = MAX_GUESS_PROBABILITY,
        random_bytes: RandomBytes = os.urandom,
    ) -> None:
        if isinstance(target, Engine):
            self.engine = target
            migrate(target)
        else:
            self.engine = target.engine
        if not 0 < bound <= MAX_GUESS_PROBABILITY:
            raise SerialPolicyError(
                "bound", f"expected a probability above 0 and at most 1/10000, got {bound}"
            )
        self.bound = bound
        """The guess probability every GTIN must stay below."""
        self.random_bytes = random_bytes
        self.postgres = self.engine.dialect.name == "postgresql"

    # -- transactions ----------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction (SQLite: ``BEGIN IMMEDIATE``, the database's write lock at once)."""
        with self.engine.connect() as connection:
            if not self.postgres:
                connection = connection.execution_options(**{IMMEDIATE: True})
            with connection.begin():
                yield connection

    def _insert_ignore(self) -> Any:
        return pg_dialect.insert if self.postgres else sqlite_dialect.insert

    # -- pools -----------------------------------------------------------------------------------

    def create_pool(
        self, gtin: str, alphabet: str = DEFAULT_ALPHABET, length: int | str = DEFAULT_LENGTH
    ) -> Pool:
        """The pool of ``gtin`` with this alphabet and length, created unless it exists.

        Refused (:class:`SerialPolicyError`, :class:`GuessProbabilityError`) when the policy's number
        space cannot take one more serial of the GTIN under the bound."""
        gtin14 = normalise_gtin(gtin)
        policy = SerialPolicy.parse(alphabet, length, bound=self.bound)
        with self._writing() as connection:
            self._lock_gtin(connection, gtin14)
            return self._ensure_pool(connection, gtin14, policy)

    def _ensure_pool(self, connection: Connection, gtin14: str, policy: SerialPolicy) -> Pool:
        find = sa.select(serial_pools).where(
            serial_pools.c.gtin == gtin14,
            serial_pools.c.alphabet == policy.alphabet,
            serial_pools.c.length == policy.length,
        )
        row = connection.execute(find).first()
        if row is None:
            issued = self._issued(connection, gtin14)
            policy.check(gtin=gtin14, issued=issued, requested=1, bound=self.bound)
            connection.execute(
                self._insert_ignore()(serial_pools)
                .values(gtin=gtin14, alphabet=policy.alphabet, length=policy.length, created_at_us=_now_us())
                .on_conflict_do_nothing()
            )
            row = connection.execute(find).one()
        return _pool(row)

    def pools(self, gtin: str) -> list[Pool]:
        """The pools of ``gtin``, oldest first."""
        gtin14 = normalise_gtin(gtin)
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(serial_pools).where(serial_pools.c.gtin == gtin14).order_by(serial_pools.c.id)
            ).all()
        return [_pool(row) for row in rows]

    def pool(self, pool_id: int) -> Pool | None:
        """The pool with this id."""
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(serial_pools).where(serial_pools.c.id == pool_id)).first()
        return None if row is None else _pool(row)

    def _choose_pool(
        self,
        connection: Connection,
        gtin14: str,
        pool_id: int | None,
        alphabet: str | None,
        length: int | str | None,
    ) -> Pool:
        if pool_id is not None:
            row = connection.execute(sa.select(serial_pools).where(serial_pools.c.id == pool_id)).first()
            if row is None or row.gtin != gtin14:
                raise SerialPolicyError("pool", f"no pool {pool_id} for GTIN {gtin14}")
            return _pool(row)
        if alphabet is None and length is None:
            newest = connection.execute(
                sa.select(serial_pools)
                .where(serial_pools.c.gtin == gtin14)
                .order_by(serial_pools.c.id.desc())
                .limit(1)
            ).first()
            if newest is not None:
                return _pool(newest)
        policy = SerialPolicy.parse(
            DEFAULT_ALPHABET if alphabet is None else alphabet,
            DEFAULT_LENGTH if length is None else length,
            bound=self.bound,
        )
        return self._ensure_pool(connection, gtin14, policy)

    # -- allocation ------------------------------------------------------------------------------

    def allocate(
        self,
        gtin: str,
        count: int,
        to_gln: str | None = None,
        *,
        pool_id: int | None = None,
        alphabet: str | None = None,
        length: int | str | None = None,
    ) -> Allocation:
        """Issue ``count`` new random serials of ``gtin`` to ``to_gln``, atomically.

        The pool is ``pool_id``, else the pool with ``alphabet``/``length`` (created if needed; the
        defaults fill a missing one), else the GTIN's newest pool, else a new default pool (12 digits).
        Raises :class:`GuessProbabilityError` (nothing issued) when the GTIN's guess probability would
        not stay below the bound, :class:`SerialPolicyError` for an invalid GTIN, GLN or count."""
        gtin14 = normalise_gtin(gtin)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_ALLOCATION:
            raise SerialPolicyError(
                "count", f"expected an integer from 1 to {MAX_ALLOCATION:,}, got {count!r}"
            )
        recipient = None if to_gln is None else normalise_gln(to_gln)
        if alphabet is not None or length is not None:
            SerialPolicy.parse(  # refuse a bad policy before taking the lock
                DEFAULT_ALPHABET if alphabet is None else alphabet,
                DEFAULT_LENGTH if length is None else length,
                bound=self.bound,
            )
        with self._writing() as connection:
            self._lock_gtin(connection, gtin14)
            pool = self._choose_pool(connection, gtin14, pool_id, alphabet, length)
            generator = SerialGenerator(pool.policy, self.random_bytes)
            issued = self._issued(connection, gtin14)
            probability = pool.policy.check(gtin=gtin14, issued=issued, requested=count, bound=self.bound)
            created = _now_us()
            allocation_id = connection.execute(
                sa.insert(serial_allocations)
                .values(gtin=gtin14, pool_id=pool.id, count=count, to_gln=recipient, created_at_us=created)
                .returning(serial_allocations.c.id)
            ).scalar_one()
            serials = self._issue(connection, generator, gtin14, pool.id, allocation_id, count)
        return Allocation(
            allocation_id, gtin14, pool.id, pool.policy, count, recipient, created, 0, probability, serials
        )

    def _lock_gtin(self, connection: Connection, gtin14: str) -> None:
        """Serialise the writers of one GTIN's serials until the transaction ends.

        PostgreSQL: a transaction-level advisory lock keyed by (:data:`LOCK_CLASS`, hash of the GTIN);
        SQLite: the transaction already holds the database's write lock (``BEGIN IMMEDIATE``)."""
        if self.postgres:
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(:gtin))"),
                {"lock_class": LOCK_CLASS, "gtin": gtin14},
            )

    @staticmethod
    def _issued(connection: Connection, gtin14: str) -> int:
        total = connection.execute(
            sa.select(sa.func.coalesce(sa.func.sum(serial_allocations.c.count), 0)).where(
                serial_allocations.c.gtin == gtin14
            )
        ).scalar_one()
        return int(total)

    @staticmethod
    def _issue(
        connection: Connection,
        generator: SerialGenerator,
        gtin14: str,
        pool_id: int,
        allocation_id: int,
        count: int,
    ) -> list[str]:
        """Draw, insert and top up until ``count`` new serials are stored; returns them in drawn order.

        A value drawn twice in one round is dropped (both copies) and replaced by the next round, as
        are candidates the GTIN already has. Top-up rounds first drop the candidates already stored
        (this allocation's included), so every round's inserts are new serials."""
        accepted: list[str] = []
        for _ in range(MAX_ROUNDS):
            drawn = generator.draw(count - len(accepted))
            ordered = sorted(drawn)
            if _has_repeats(ordered):
                repeated = {a for a, b in zip(ordered, islice(ordered, 1, None), strict=False) if a == b}
                drawn = [serial for serial in drawn if serial not in repeated]
                ordered = [serial for serial in ordered if serial not in repeated]
            if accepted:
                stored = bulk.existing(connection, gtin14, ordered)
                if stored:
                    drawn = [serial for serial in drawn if serial not in stored]
                    ordered = [serial for serial in ordered if serial not in stored]
            taken = bulk.insert_serials(connection, gtin14, pool_id, allocation_id, ordered)
            if taken:
                drawn = [serial for serial in drawn if serial not in taken]
            accepted.extend(drawn)
            if len(accepted) == count:
                return accepted
        raise SerialGenerationError(
            f"the random source produced serials of GTIN {gtin14} that exist already {MAX_ROUNDS} times in a "
            "row; it is not random"
        )

    def allocation(self, allocation_id: int, *, with_serials: bool = False) -> Allocation | None:
        """The allocation with this id (its serials too when asked: a scan of the GTIN's serials)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(serial_allocations, serial_pools.c.alphabet, serial_pools.c.length)
                .join(serial_pools, serial_pools.c.id == serial_allocations.c.pool_id)
                .where(serial_allocations.c.id == allocation_id)
            ).first()
            if row is None:
                return None
            serials = bulk.serials_of(connection, row.gtin, allocation_id) if with_serials else []
            issued = self._issued(connection, row.gtin)
        policy = SerialPolicy(row.alphabet, row.length)
        return Allocation(
            row.id,
            row.gtin,
            row.pool_id,
            policy,
            int(row._mapping["count"]),
            row.to_gln,
            int(row.created_at_us),
            int(row.returned_count),
            policy.guess_probability(issued),
            serials,
        )

    # -- returns ---------------------------------------------------------------------------------

    def return_unused(
        self, allocation_id: int, serials: Iterable[str], *, recipient: str | None = None
    ) -> ReturnResult:
        """Take back serials of an allocation that were not used. They stay burned (never issued again).

        Every serial must belong to the allocation, else nothing is returned
        (:class:`SerialReturnError`); returning a serial twice is harmless. ``recipient``: act as that
        party, which may only return its own allocations (others look absent:
        :class:`NoSuchAllocationError`)."""
        wanted = list(dict.fromkeys(serials))
        bad = next((s for s in wanted if not isinstance(s, str)), None)
        if bad is not None:
            raise SerialPolicyError("serials", f"expected text, found {type(bad).__name__}")
        with self._writing() as connection:
            row = connection.execute(
                sa.select(serial_allocations.c.gtin, serial_allocations.c.to_gln)
                .where(serial_allocations.c.id == allocation_id)
                .with_for_update()
            ).first()
            if row is None or (recipient is not None and row.to_gln != recipient):
                raise NoSuchAllocationError(allocation_id)
            found = bulk.statuses(connection, row.gtin, allocation_id, wanted)
            if len(found) != len(wanted):
                foreign = [s for s in wanted if s not in found]
                raise SerialReturnError(allocation_id, foreign[:10], len(foreign))
            returnable = [s for s, status in found.items() if status == SerialStatus.ALLOCATED]
            returned = bulk.mark_returned(connection, row.gtin, allocation_id, returnable)
            if returned:
                connection.execute(
                    sa.update(serial_allocations)
                    .where(serial_allocations.c.id == allocation_id)
                    .values(returned_count=serial_allocations.c.returned_count + returned)
                )
        return ReturnResult(allocation_id, returned, len(wanted) - returned)

    # -- reporting -------------------------------------------------------------------------------

    def report(self, gtin: str, *, recipient: str | None = None) -> SerialReport:
        """Counts of the GTIN's serials by status and by recipient; ``recipient``: only that party's."""
        gtin14 = normalise_gtin(gtin)
        a = serial_allocations.c
        query = (
            sa.select(
                a.to_gln,
                sa.func.count().label("allocations"),
                sa.func.sum(a.count).label("issued"),
                sa.func.sum(a.returned_count).label("returned"),
            )
            .where(a.gtin == gtin14)
            .group_by(a.to_gln)
        )
        if recipient is not None:
            query = query.where(a.to_gln == recipient)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        recipients = sorted(
            (
                RecipientCounts(
                    row.to_gln,
                    int(row.allocations),
                    int(row.issued),
                    int(row.issued) - int(row.returned),
                    int(row.returned),
                )
                for row in rows
            ),
            key=lambda r: (r.to_gln is None, r.to_gln or ""),
        )
        issued = sum(r.issued for r in recipients)
        returned = sum(r.returned for r in recipients)
        pools = [] if recipient is not None else self.pools(gtin14)
        probability = None
        if pools:
            probability = Fraction(issued, min(pool.policy.number_space for pool in pools))
        return SerialReport(
            gtin14,
            issued,
            issued - returned,
            returned,
            sum(r.allocations for r in recipients),
            recipients,
            pools,
            probability,
            restricted=recipient is not None,
        )


def _pool(row: Any) -> Pool:
    return Pool(int(row.id), row.gtin, SerialPolicy(row.alphabet, int(row.length)), int(row.created_at_us))
