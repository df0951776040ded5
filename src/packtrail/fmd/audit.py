"""The audit trail of a node: append-only, hash-chained, purged only past its retention.

DR Art. 35(1)(g) asks for a complete record of every operation on a unique
identifier — who did what, when — kept for at least one year after the pack's
expiry or five years after its release for sale, whichever is later. Each node
keeps one chain: entry *n* carries

- ``digest`` = SHA-256 of the canonical JSON of its content (sorted keys, no
  spaces; the content includes its retention date), and
- ``hash`` = SHA-256 over the previous entry's ``hash`` followed by its own
  ``digest`` (the first entry follows 64 zeros).

Editing an entry breaks its digest; removing one leaves a gap in the sequence or
a hash that no longer follows; cutting the tail leaves the chain short of the
head row the node keeps. :func:`verify` names the first bad entry. (The sequence number is not
part of the digest: an entry's place is fixed by the chain itself, and leaving it out lets
PostgreSQL link the entry in the same statement that numbers it.)

>>> content = {"action": "G110", "actor": "apo-1", "retainUntil": 0}
>>> canonical(content)
b'{"action":"G110","actor":"apo-1","retainUntil":0}'
>>> first = chain(GENESIS, digest_of(content))
>>> len(first), first != chain(GENESIS, digest_of({**content, "actor": "apo-2"}))
(64, True)

Purging keeps the chain checkable: a purged entry loses its content but keeps
its sequence number, digest, hash and retention date, and :func:`verify`
refuses a purged entry whose retention had not passed when it was purged.

>>> from datetime import date, datetime, timezone
>>> uploaded = datetime(2020, 1, 10, tzinfo=timezone.utc)
>>> retain_until(datetime(2021, 6, 1, tzinfo=timezone.utc), date(2023, 12, 31), uploaded).date()
datetime.date(2025, 1, 10)
>>> retain_until(datetime(2021, 6, 1, tzinfo=timezone.utc), date(2029, 12, 31), uploaded).date()
datetime.date(2030, 12, 31)
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Final

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from packtrail.fmd import schema as t
from packtrail.fmd.clock import from_us, to_us

__all__ = [
    "APPEND_POSTGRES",
    "GENESIS",
    "AuditEntry",
    "Verification",
    "append",
    "append_columns",
    "append_rows",
    "canonical",
    "chain",
    "content_of",
    "digest_of",
    "entries",
    "postgres_appends",
    "purge",
    "retain_until",
    "verify",
]

GENESIS: Final = "0" * 64
"""The hash the first entry follows."""

_CONTENT_COLUMNS: Final = (
    ("at", "at_us"),
    ("actor", "actor"),
    ("role", "role"),
    ("location", "location"),
    ("user", "user_name"),
    ("action", "action"),
    ("productCode", "product_code"),
    ("serialNumber", "serial"),
    ("batch", "batch"),
    ("clientTrxId", "client_trx_id"),
    ("trxId", "trx_id"),
    ("returnCode", "return_code"),
    ("detail", "detail"),
    ("retainUntil", "retain_until_us"),
)
"""JSON name -> column of every hashed field."""


def canonical(content: Mapping[str, Any]) -> bytes:
    """The canonical JSON of an entry's content: keys sorted, no insignificant whitespace, UTF-8."""
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


def digest_of(content: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of :func:`canonical` ``content``."""
    return hashlib.sha256(canonical(content)).hexdigest()


def chain(previous_hash: str, digest: str) -> str:
    """The hash of an entry: SHA-256 over the previous hash and the entry's digest (both as bytes)."""
    return hashlib.sha256(bytes.fromhex(previous_hash) + bytes.fromhex(digest)).hexdigest()


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def retain_until(at: datetime, expiry: date | None, uploaded: datetime | None) -> datetime:
    """How long an entry must be kept: the later of the pack's expiry + 1 year and its upload + 5 years.

    An entry about no known pack (an unknown product or serial) counts its own time as the upload.
    The expiry counts to the end of its day.
    """
    if uploaded is None:
        return _retain_from(at, expiry)
    return _retain_from_upload(uploaded, expiry)


def _retain_from(start: datetime, expiry: date | None) -> datetime:
    keep = datetime.combine(_years_later(start.astimezone(UTC).date(), 5), start.astimezone(UTC).timetz())
    if expiry is not None:
        after_expiry = datetime.combine(_years_later(expiry, 1), time.max, tzinfo=UTC)
        keep = max(keep, after_expiry)
    return keep


_retain_from_upload = functools.lru_cache(maxsize=4096)(_retain_from)
""":func:`_retain_from` memoised for packs on file: the packs of a batch share their upload time and
expiry, so a node computes the same few dates again and again. (Equal times in other zones share an
entry: the result is in UTC and the same for both.)"""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One operation on a unique identifier (or on the node): who, where, what, when, and the outcome."""

    at: datetime
    actor: str
    action: str
    role: str | None = None
    location: str | None = None
    user: str | None = None
    product_code: str | None = None
    serial: str | None = None
    batch: str | None = None
    client_trx_id: str | None = None
    trx_id: str | None = None
    return_code: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    retain_until: datetime | None = None
    """Defaults to five years after :attr:`at` (see :func:`retain_until`)."""

    def row(self) -> dict[str, Any]:
        """The entry's column values (without sequence number, digest and hash)."""
        return dict(zip(_INSERT_ORDER[:-1], self.columns(), strict=True))

    def columns(self) -> tuple[Any, ...]:
        """The values of :meth:`row`, in its order: what :func:`append_rows` takes."""
        keep = self.retain_until or retain_until(self.at, None, None)
        return (
            to_us(self.at),
            self.actor,
            self.role,
            self.location,
            self.user,
            self.action,
            self.product_code,
            self.serial,
            self.batch,
            self.client_trx_id,
            self.trx_id,
            self.return_code,
            canonical(self.detail).decode() if self.detail else None,
            to_us(keep),
        )


def content_of(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The hashed content of a stored row (column values under their JSON names)."""
    return {name: row[column] for name, column in _CONTENT_COLUMNS}


_LOCK_HEAD = sa.text("SELECT seq, hash FROM fmd_audit_head WHERE id = 1")
_INSERT_ORDER: Final = (
    "at_us", "actor", "role", "location", "user_name", "action", "product_code", "serial", "batch",
    "client_trx_id", "trx_id", "return_code", "detail", "retain_until_us", "digest",
)  # fmt: skip

_CONTENT_NAMES: Final = tuple(name for name, _ in _CONTENT_COLUMNS)
assert tuple(column for _, column in _CONTENT_COLUMNS) == _INSERT_ORDER[:-1]  # AuditEntry.row's order
_COLUMNS: Final = ", ".join(_INSERT_ORDER)
_APPEND_SQLITE: Final = (
    f"INSERT INTO fmd_audit (seq, hash, {_COLUMNS}) VALUES (?, ?, {', '.join('?' * len(_INSERT_ORDER))})"
)
_APPEND_POSTGRES: Final = (
    "WITH head AS (UPDATE fmd_audit_head SET seq = seq + 1, "
    "hash = encode(sha256(decode(hash, 'hex') || decode(%s, 'hex')), 'hex') WHERE id = 1 RETURNING seq, hash) "
    f"INSERT INTO fmd_audit (seq, hash, {_COLUMNS}) "
    f"SELECT head.seq, head.hash, {', '.join(['%s'] * len(_INSERT_ORDER))} FROM head"
)
"""PostgreSQL numbers, links and stores an entry in one statement: the head row stays locked only from
here to the commit."""
APPEND_POSTGRES: Final = _APPEND_POSTGRES


PIPELINED_ENTRIES: Final = 64
"""Up to this many entries are appended one statement each, every statement moving the head row (no
read of the head first); more are linked here after one read of the head, which then moves once —
each update of one row within a transaction walks the row's earlier versions, so a thousand updates
would cost more than the read."""


def append(conn: Connection, new_entries: Sequence[AuditEntry]) -> None:
    """Append entries to the chain inside the caller's transaction.

    The head row is updated by each append and stays locked until the commit, so concurrent writers
    queue and the chain never forks. For up to :data:`PIPELINED_ENTRIES` entries PostgreSQL computes
    each link (``sha256`` over the previous hash and the digest) in the statement that takes the next
    number; otherwise the link is computed here, under the head row's lock (SQLite's writers are
    serialised anyway).
    """
    if new_entries:
        append_rows(conn, [entry.columns() for entry in new_entries])


def append_rows(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """:func:`append` for entries given as column values (:meth:`AuditEntry.columns`)."""
    if not rows:
        return
    from packtrail.fmd.storage import driver, staged_writes

    stage = staged_writes(conn)
    if stage is not None:  # a group of requests: chained and written together at its end
        stage.audit.extend(rows)
        return
    if len(rows) <= PIPELINED_ENTRIES and conn.dialect.name == "postgresql":
        # A few entries (one request, a group of them): PostgreSQL numbers and links each in the
        # statement that stores it, so nothing is read back first — inside a pipeline the statements
        # travel with whatever follows them (the group's COMMIT: :meth:`Storage.staged`).
        values = postgres_appends(rows)
        raw = driver(conn)
        if len(values) == 1:
            raw.execute(_APPEND_POSTGRES, values[0])
        else:
            raw.cursor().executemany(_APPEND_POSTGRES, values)
        return
    # Many entries (a group of requests): one prepared statement run per entry (psycopg pipelines them
    # inside the group's pipeline, where COPY is not allowed).
    _append_rows(conn, rows, copy=False)


def postgres_appends(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The parameters of :data:`APPEND_POSTGRES` for each entry (column values as
    :meth:`AuditEntry.columns`): the statement that numbers, links and stores one entry, run once per
    entry in order inside the writer's transaction."""
    sha256, names = hashlib.sha256, _CONTENT_NAMES
    values = []
    for columns in rows:
        digest = sha256(canonical(dict(zip(names, columns, strict=True)))).hexdigest()
        values.append((digest, *columns, digest))
    return values


def append_columns(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Append many entries given as column values — each tuple the values of :meth:`AuditEntry.row`,
    in its order — inside the caller's transaction: what a bulk chunk writes, without building an
    :class:`AuditEntry` per pack. Digests and links are those :func:`append` gives the same entries;
    on PostgreSQL the rows travel in one ``COPY``."""
    if rows:
        _append_rows(conn, rows, copy=True)


def _append_rows(conn: Connection, rows: Sequence[tuple[Any, ...]], *, copy: bool) -> None:
    """Lock the head once, digest and link the entries here, insert them, move the head once (on
    PostgreSQL, updating the head row once per entry in one transaction costs more with every entry:
    each update walks the row's earlier versions)."""
    from packtrail.fmd.storage import driver

    raw = driver(conn)
    postgres = conn.dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    head_sql = "SELECT seq, hash FROM fmd_audit_head WHERE id = 1" + (" FOR UPDATE" if postgres else "")
    seq, head = raw.execute(head_sql).fetchone()
    # The digest covers the content under its JSON names (the columns in _CONTENT_COLUMNS order, so one
    # zip gives it); the link is chain(previous, digest), computed on bytes to skip the hex round trips.
    previous = bytes.fromhex(head)
    sha256, dumps, sort_keys, names = hashlib.sha256, orjson.dumps, orjson.OPT_SORT_KEYS, _CONTENT_NAMES
    values: list[tuple[Any, ...]] = []
    for columns in rows:
        digest = sha256(dumps(dict(zip(names, columns, strict=True)), option=sort_keys)).digest()
        previous = sha256(previous + digest).digest()
        seq += 1
        values.append((seq, previous.hex(), *columns, digest.hex()))
    if postgres and copy:
        with raw.cursor().copy(f"COPY fmd_audit (seq, hash, {_COLUMNS}) FROM STDIN") as out:
            for value in values:
                out.write_row(value)
    else:
        # One prepared statement run per entry (psycopg pipelines them: one round trip; measured faster
        # than a 1,000-row INSERT … VALUES, which PostgreSQL parses and plans afresh each time).
        raw.cursor().executemany(_APPEND_SQLITE.replace("?", mark), values)
    raw.execute(f"UPDATE fmd_audit_head SET seq = {mark}, hash = {mark} WHERE id = 1", (seq, previous.hex()))


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of checking a chain: how many entries, and the first bad one if any."""

    checked: int
    """Entries read."""
    purged: int
    """Of those, entries purged after their retention (checked by digest and hash only)."""
    head_seq: int
    """The newest sequence number the node's head row names."""
    bad_seq: int | None = None
    """The first entry that fails, or None when the chain is intact."""
    problem: str | None = None
    """What is wrong with :attr:`bad_seq`."""

    @property
    def ok(self) -> bool:
        """True when every entry checks out and the chain reaches the head."""
        return self.bad_seq is None


def verify(conn: Connection) -> Verification:
    """Walk the chain in sequence order and report the first entry that was edited, removed, purged
    before its time, or cut off the tail."""
    head_seq, head_hash = conn.execute(_LOCK_HEAD).one()
    previous = GENESIS
    expected = 1
    checked = purged = 0

    def bad(seq: int, problem: str) -> Verification:
        return Verification(checked, purged, head_seq, seq, problem)

    for row in _rows_in_order(conn):
        if row["seq"] != expected:
            return bad(expected, f"entry {expected} is missing (the next entry is {row['seq']})")
        checked += 1
        if row["purged_us"] is not None:
            purged += 1
            if row["purged_us"] < row["retain_until_us"]:
                return bad(expected, f"entry {expected} was purged before its retention ended")
        elif digest_of(content_of(row)) != row["digest"]:
            return bad(expected, f"entry {expected} was edited: its content no longer matches its digest")
        if chain(previous, row["digest"]) != row["hash"]:
            return bad(expected, f"entry {expected} does not follow entry {expected - 1} in the hash chain")
        previous = row["hash"]
        expected += 1
    if expected - 1 != head_seq or previous != head_hash:
        missing = expected if expected - 1 < head_seq else head_seq + 1
        return bad(
            missing, f"the chain ends at entry {expected - 1} but the node's head names entry {head_seq}"
        )
    return Verification(checked, purged, head_seq)


def _rows_in_order(conn: Connection) -> Iterator[Mapping[Any, Any]]:
    last = 0
    while True:
        rows = (
            conn.execute(sa.select(t.audit).where(t.audit.c.seq > last).order_by(t.audit.c.seq).limit(5000))
            .mappings()
            .all()
        )
        if not rows:
            return
        yield from rows
        last = rows[-1]["seq"]


def purge(conn: Connection, now: datetime) -> int:
    """Purge every entry whose retention ended before ``now``: its content goes, its sequence number,
    digest, hash and retention date stay, so the chain still verifies. Returns how many were purged."""
    now_us = to_us(now)
    cleared = {
        name: None for name in (c for _, c in _CONTENT_COLUMNS) if name not in ("seq", "retain_until_us")
    }
    return conn.execute(
        sa.update(t.audit)
        .where((t.audit.c.retain_until_us < now_us) & t.audit.c.purged_us.is_(None))
        .values(purged_us=now_us, **cleared)
    ).rowcount


def entries(
    conn: Connection,
    *,
    actor: str | None = None,
    product_code: str | None = None,
    serial: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Entries in sequence order as JSON objects, filtered by actor and pack (the access rules are the
    caller's: see :mod:`packtrail.fmd.access`). Purged entries are left out."""
    query = sa.select(t.audit).where((t.audit.c.seq > after) & t.audit.c.purged_us.is_(None))
    if actor is not None:
        query = query.where(t.audit.c.actor == actor)
    if product_code is not None:
        query = query.where(t.audit.c.product_code == product_code)
    if serial is not None:
        query = query.where(t.audit.c.serial == serial)
    rows = conn.execute(query.order_by(t.audit.c.seq).limit(limit)).mappings().all()
    out: list[dict[str, Any]] = []
    for row in rows:
        item = {"seq": row["seq"], **{k: v for k, v in content_of(row).items() if v is not None}}
        item["at"] = from_us(row["at_us"]).isoformat()
        item["retainUntil"] = from_us(row["retain_until_us"]).isoformat()
        if row["detail"] is not None:
            item["detail"] = orjson.loads(row["detail"])
        item["hash"] = row["hash"]
        out.append(item)
    return out
