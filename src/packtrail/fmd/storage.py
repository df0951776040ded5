"""The store of one FMD node — a national system or the hub — on SQLite or PostgreSQL.

:func:`open_storage` takes a store URL (a file path or ``sqlite:///…`` for the
embedded default in WAL mode, ``postgresql://…`` for PostgreSQL through psycopg
3; URLs and engines come from :mod:`packtrail.store.engine`), brings the schema
to the newest Alembic revision of ``fmd/migrations`` and checks that the store
belongs to this node (a hub store does not open as a national system, a DE
store not as FR):

>>> import tempfile
>>> storage = open_storage(f"sqlite:///{tempfile.mkdtemp()}/de.db", role="national", market="DE")
>>> client, key = storage.add_client(role="pharmacy", name="Apotheke am Markt", location="LOC-1")
>>> client.client_id, client.role.value, storage.client_for_key(key) == client
('apotheke-am-markt', 'pharmacy', True)
>>> storage.client_for_key("fmd_wrong") is None
True
>>> open_storage(storage.url, role="national", market="FR")
Traceback (most recent call last):
...
packtrail.fmd.storage.FmdStoreError: store ...de.db belongs to the national system of DE, not FR
>>> storage.close()

Every request runs in one store transaction (:meth:`Storage.write`): the pack
lookup by its primary key ``(product_code, serial)``, the rules, the new pack
row, the idempotency record, the audit entry and any alert commit together or
not at all. On SQLite writers are serialised in-process (one lock, then
``BEGIN IMMEDIATE``), so a request never waits in SQLite's busy loop.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final, Literal, cast

import sqlalchemy as sa
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError

from packtrail.fmd import schema as t
from packtrail.fmd.access import key_digest, new_api_key
from packtrail.fmd.clock import from_us, to_us
from packtrail.fmd.codes import TransactionCode
from packtrail.fmd.model import Batch, Client, PackRecord, ProductMaster, Role, StateChange
from packtrail.fmd.states import PackState, Reason
from packtrail.store.engine import Checkpointer, dialect_of, store_url
from packtrail.store.errors import StoreError

__all__ = [
    "FmdStoreError",
    "NodeRole",
    "PackViews",
    "Recorded",
    "StagedWrites",
    "Storage",
    "create_engine_for",
    "migrate",
    "open_storage",
    "staged_writes",
    "statements",
]

NodeRole = Literal["national", "hub"]
"""What a store belongs to."""

MIGRATIONS: Final = Path(__file__).with_name("migrations")
"""The Alembic environment of the FMD store (``env.py``, ``versions/``)."""

VERSION_TABLE: Final = "packtrail_fmd_version"
"""Alembic's version table for the FMD schema (apart from the EPCIS store's)."""

MIGRATION_LOCK_ID: Final = 0x666D646E6F6465  # "fmdnode": the advisory lock serialising FMD migrations

_CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class FmdStoreError(Exception):
    """The store cannot be opened or used as asked (wrong node, bad URL, duplicate client, …)."""


def migrate(engine: Engine) -> None:
    """Bring the FMD schema to the newest revision (idempotent; creates everything on first open)."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["version_table"] = VERSION_TABLE
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as connection:
        if postgres:
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
        try:
            heads = set(ScriptDirectory.from_config(config).get_heads())
            current = set(
                MigrationContext.configure(
                    connection, opts={"version_table": VERSION_TABLE}
                ).get_current_heads()
            )
            connection.rollback()
            if current == heads:
                return
            if not postgres:
                connection = connection.execution_options(**{_IMMEDIATE: True})
            config.attributes["connection"] = connection
            with connection.begin():
                command.upgrade(config, "head")
        finally:
            if postgres:
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
                connection.commit()


CHECKPOINT_TRANSACTIONS: Final = 200
"""SQLite: write transactions between two passive checkpoints of the write-ahead log, which a thread of
their own runs (:class:`~packtrail.store.engine.Checkpointer`). SQLite's automatic checkpoint runs inside
the commit that crosses its threshold: every ~150 requests one request, and those queued behind it,
waited for a copy of ~1,000 pages and an fsync — the G110 tail (p99 7.3 ms at 1,000 requests/s, p95
3.8 ms; with a 10,000-page threshold p95 2.1 ms but p99 28 ms)."""
WAL_RESTART_BYTES: Final = 64 * 1024 * 1024
"""SQLite: a log this long is checkpointed in full, and started afresh, between two requests (a steady
stream of commits never lets a passive checkpoint catch up)."""

_PG_IDLE: Final = 0
"""libpq's ``PQTRANSACTION_IDLE``: no transaction open on the connection (``psycopg.pq.TransactionStatus``)."""

_IMMEDIATE: Final = "fmd_immediate"
"""Execution option: begin the SQLite transaction with ``BEGIN IMMEDIATE`` (take the write lock at once)."""


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Our own transaction control: the driver must not BEGIN on its own (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA page_size=4096")  # a new database only: small transactions write few bytes
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA cache_size=-131072")  # 128 MiB page cache
        cursor.execute("PRAGMA mmap_size=17179869184")  # read pages through the OS cache, no copy
        cursor.execute("PRAGMA journal_size_limit=67108864")  # a reset log shrinks back to 64 MiB
        cursor.execute("PRAGMA temp_store=MEMORY")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # Straight to the driver: through ``exec_driver_sql`` (SQLAlchemy's whole execution path) the BEGIN
    # cost more CPU than the rest of an empty write transaction. Inside :func:`_sqlite_transaction` the
    # driver is in a transaction already when SQLAlchemy begins its own: nothing to do.
    raw = connection.connection.driver_connection
    if not raw.in_transaction:  # type: ignore[union-attr]
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        raw.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")  # type: ignore[union-attr]


def _sqlite_transaction(writer: Connection) -> Iterator[Connection]:
    """One write transaction on the SQLite writer, begun and ended on the driver.

    A single-pack request's statements all run on the driver, so SQLAlchemy's transaction object (its
    begin and commit, with their events) cost a request more CPU than SQLite's own BEGIN and COMMIT.
    When the block uses SQLAlchemy (``conn.execute``), SQLAlchemy begins its transaction inside ours
    (:func:`_sqlite_begin` then issues nothing) and is asked to end it, which ends ours.
    """
    raw = writer.connection.driver_connection
    assert raw is not None
    raw.execute("BEGIN IMMEDIATE")
    try:
        yield writer
    except BaseException:
        if writer.in_transaction():
            writer.rollback()
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise
    if writer.in_transaction():
        writer.commit()
        return
    try:
        raw.execute("COMMIT")
    except BaseException:  # never leave the writer inside a transaction
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise


def create_engine_for(url: str | None) -> Engine:
    """A SQLAlchemy engine for an FMD store; the URL rules are the EPCIS store's
    (:func:`packtrail.store.engine.store_url`: a path or ``sqlite:///`` for SQLite, ``postgresql://`` for
    psycopg 3).

    The engine set-up differs from the EPCIS store's on purpose, for a node that commits one small
    transaction per request: 4 KiB SQLite pages (16 KiB pages made each commit cost 1.6 times as much
    on the benchmark machine), WAL checkpoints in a thread of their own, never in a request's commit
    (:data:`CHECKPOINT_TRANSACTIONS`), pages read through ``mmap`` (a verify on a 10-million-pack store
    took 0.46 ms without, 0.27 ms with), and no ping before each PostgreSQL checkout.
    """
    try:
        sa_url = store_url(url)
        parsed = make_url(sa_url)
    except (StoreError, ArgumentError) as exc:
        raise FmdStoreError(f"store URL {url!r}: {exc}") from None
    if dialect_of(sa_url) == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            parent = Path(database).expanduser().resolve().parent
            if not parent.is_dir():
                raise FmdStoreError(f"store URL {url!r}: the directory {str(parent)!r} does not exist")
        engine = sa.create_engine(
            parsed, connect_args={"check_same_thread": False}, pool_size=8, max_overflow=8
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(parsed, pool_size=16, max_overflow=16, pool_recycle=3600)


def open_storage(url: str | None, *, role: NodeRole | None, market: str | None = None) -> Storage:
    """Open (creating and migrating as needed) the store of a hub or of the national system of ``market``;
    ``role=None`` opens it for administration (clients, audit) whatever node it belongs to."""
    engine = create_engine_for(url)
    try:
        migrate(engine)
    except Exception:
        engine.dispose()
        raise
    storage = Storage(engine, store_url(url))
    if role is None:
        return storage
    try:
        storage.claim(role, market)
    except FmdStoreError:
        storage.close()
        raise
    return storage


@dataclass(frozen=True, slots=True)
class Recorded:
    """A stored answer under ``(client, clientTrxId)``: the request's fingerprint, HTTP status and body."""

    fingerprint: str
    status: int
    answer: str
    trx_id: str


@dataclass(slots=True)
class PackViews:
    """What the store holds about one request's pack: product, the named batch, the pack, its upload
    time, and the batch the pack is on file under."""

    product: ProductMaster | None
    batch: Batch | None
    pack: PackRecord | None
    uploaded_us: int | None
    pack_batch: Batch | None


_STAGE: Final = "fmd_staged_writes"
"""The key of the :class:`StagedWrites` in a connection's ``info`` while :meth:`Storage.staged` runs."""


@dataclass(slots=True)
class StagedWrites:
    """Writes held back until the end of a group (see :meth:`Storage.staged`), in the order made."""

    recorded: dict[tuple[str, str], Recorded] = field(default_factory=dict)
    transactions: list[tuple[Any, ...]] = field(default_factory=list)
    prefetched: dict[tuple[str, str, str, str], tuple[Recorded | None, tuple[PackRecord, int] | None]] = (
        field(default_factory=dict)
    )
    """What the store held, before the group, per ``(client_id, clientTrxId, product_code, serial)``."""
    changed_packs: set[tuple[str, str]] = field(default_factory=set)
    """Packs written in the group (their prefetched rows are stale)."""
    audit: list[tuple[Any, ...]] = field(default_factory=list)
    """Audit entries as column values (:meth:`packtrail.fmd.audit.AuditEntry.columns`), chained in this
    order at the end."""


class NeedsStatements(Exception):
    """A request's store work needed a statement where none may run (:meth:`Storage.staging`)."""


class _StagedOnly:
    """See :meth:`Storage.staging`."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info

    def __getattr__(self, name: str) -> Any:
        raise NeedsStatements(name)


def staged_writes(conn: Connection) -> StagedWrites | None:
    """The writes staged on ``conn``, when it runs inside :meth:`Storage.staged`."""
    stage: StagedWrites | None = conn.info.get(_STAGE)
    return stage


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:64] or "client"


class Storage:
    """An open FMD store: connections, and the reads and writes the services need (one method each)."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self.dialect = dialect_of(url)
        self._sql = statements(self.dialect)
        self._mark = "?" if self.dialect == "sqlite" else "%s"
        self._lookup_sql: dict[int, str] = {}
        """``trx_and_pack_many`` for a group of each size seen (at most 250 entries)."""
        self.role: NodeRole = "national"
        self.market: str | None = None
        self._write_lock = threading.Lock()
        self._writer: Connection | None = None
        self._group_lock = threading.Lock()
        self._group_conn: Connection | None = None
        self._clients: dict[str, Client] = {}
        self._checkpointer: Checkpointer | None = None
        if self.dialect == "sqlite":
            self._checkpointer = Checkpointer(
                engine, every=CHECKPOINT_TRANSACTIONS, restart_bytes=WAL_RESTART_BYTES
            )

    # -- connections --------------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        if self.dialect == "sqlite":
            # SQLite has one writer at a time: keep one connection for it (no pool round per request).
            with self._write_lock:
                if self._writer is None:
                    self._writer = self.engine.connect().execution_options(**{_IMMEDIATE: True})
                    driver(self._writer).execute("PRAGMA wal_autocheckpoint=0")  # the thread does it
                yield from _sqlite_transaction(self._writer)
            if self._checkpointer is not None:
                self._checkpointer.request(1)
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def group_write(self) -> Iterator[Connection]:
        """:meth:`write` for the group commit's worker (:mod:`packtrail.fmd.groupcommit`), which runs one
        transaction at a time: on PostgreSQL on a connection of its own, kept between transactions
        (no pool check-out and check-in per group; a connection that failed is replaced)."""
        if self.dialect == "sqlite":
            with self.write() as conn:
                yield conn
            return
        with self._group_lock:
            kept = self._group_conn
            if kept is None or kept.closed or kept.invalidated:
                kept = self._group_conn = self.engine.connect()
            conn = kept
            try:
                with conn.begin():
                    yield conn
            except BaseException:
                if conn.invalidated:
                    conn.close()
                    self._group_conn = None
                raise

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot."""
        with self.engine.connect() as conn:
            yield conn
            conn.rollback()

    def close(self) -> None:
        """Release every pooled connection (the last one checkpoints the log)."""
        with self._write_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        with self._group_lock:
            if self._group_conn is not None:
                self._group_conn.close()
                self._group_conn = None
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        self.engine.dispose()

    # -- which node the store belongs to ------------------------------------------------------------

    def claim(self, role: NodeRole, market: str | None) -> None:
        """Record the store's node on first open; refuse a store of another node."""
        if role == "national" and not market:
            raise FmdStoreError("a national system's store needs its market (e.g. DE)")
        want = {"role": role, "market": market or ""}
        with self.write() as conn:
            have = dict(conn.execute(sa.select(t.node.c.key, t.node.c.value)).all())
            if not have:
                conn.execute(sa.insert(t.node), [{"key": k, "value": v} for k, v in want.items()])
                have = want
        if have.get("role") != role or (role == "national" and have.get("market") != market):
            owner = "the hub" if have.get("role") == "hub" else f"the national system of {have.get('market')}"
            wanted = "the hub" if role == "hub" else market
            raise FmdStoreError(f"store {self.url} belongs to {owner}, not {wanted}")
        self.role = role
        self.market = have.get("market") or None

    # -- clients ------------------------------------------------------------------------------------

    def add_client(
        self,
        *,
        role: str,
        name: str,
        location: str | None = None,
        user: str | None = None,
        client_id: str | None = None,
        webhook: str | None = None,
        now: datetime | None = None,
    ) -> tuple[Client, str]:
        """Create a client and return it with its API key (shown once; the store keeps its SHA-256)."""
        try:
            client_role = Role(role)
        except ValueError:
            raise FmdStoreError(
                f"role: expected one of {', '.join(r.value for r in Role)}, found {role!r}"
            ) from None
        if not name.strip():
            raise FmdStoreError("name: expected the client's name")
        ident = client_id or _slug(name)
        if not _CLIENT_ID.match(ident):
            raise FmdStoreError(f"id: expected 1-64 letters, digits, '.', '_' or '-', found {ident!r}")
        key = new_api_key()
        client = Client(ident, client_role, location or ident, user or ident)
        moment = now or datetime.now().astimezone()
        with self.write() as conn:
            exists = conn.execute(
                sa.select(t.clients.c.client_id).where(t.clients.c.client_id == ident)
            ).first()
            if exists is not None:
                raise FmdStoreError(f"id: a client {ident!r} exists already; choose another --id")
            conn.execute(
                sa.insert(t.clients).values(
                    client_id=ident,
                    key_hash=key_digest(key),
                    role=client_role.value,
                    name=name,
                    location=client.location,
                    user_name=client.user,
                    webhook=webhook,
                    created_us=to_us(moment),
                )
            )
        return client, key

    def client_for_key(self, key: str) -> Client | None:
        """The client holding API key ``key``, or None (cached per key digest; keys are never reissued)."""
        digest = key_digest(key)
        cached = self._clients.get(digest)
        if cached is not None:
            return cached
        with self.read() as conn:
            row = conn.execute(
                sa.select(
                    t.clients.c.client_id, t.clients.c.role, t.clients.c.location, t.clients.c.user_name
                ).where(t.clients.c.key_hash == digest)
            ).first()
        if row is None:
            return None
        client = Client(row.client_id, Role(row.role), row.location, row.user_name)
        self._clients[digest] = client
        return client

    def webhook_of(self, conn: Connection, client_id: str) -> str | None:
        """Where client ``client_id`` wants its alerts delivered, if anywhere."""
        return conn.execute(
            sa.select(t.clients.c.webhook).where(t.clients.c.client_id == client_id)
        ).scalar_one_or_none()

    # -- products and batches -----------------------------------------------------------------------

    def get_product(self, conn: Connection, product_code: str) -> ProductMaster | None:
        """The product's master data with its markets and national numbers, or None."""
        raw = driver(conn)
        row = raw.execute(self._sql["product"], (product_code,)).fetchone()
        if row is None:
            return None
        market_rows = raw.execute(self._sql["product_markets"], (product_code,)).fetchall()
        code, scheme, name, owner, uploaded_us, withdrawn_us = row
        return ProductMaster(
            product_code=code,
            scheme="PPN" if scheme == "PPN" else "GTIN",
            name=name,
            markets=tuple(m for m, _ in market_rows),
            nhrn=tuple((m, n) for m, n in market_rows if n is not None),
            owner=owner,
            uploaded_at=from_us(uploaded_us),
            withdrawn_at=None if withdrawn_us is None else from_us(withdrawn_us),
        )

    def put_product(self, conn: Connection, product: ProductMaster) -> None:
        """Insert or replace a product and its market list."""
        assert product.uploaded_at is not None
        values = {
            "scheme": product.scheme,
            "name": product.name,
            "owner": product.owner,
            "uploaded_us": to_us(product.uploaded_at),
            "withdrawn_us": None if product.withdrawn_at is None else to_us(product.withdrawn_at),
        }
        updated = conn.execute(
            sa.update(t.products).where(t.products.c.product_code == product.product_code).values(**values)
        ).rowcount
        if not updated:
            conn.execute(sa.insert(t.products).values(product_code=product.product_code, **values))
        conn.execute(
            sa.delete(t.product_markets).where(t.product_markets.c.product_code == product.product_code)
        )
        nhrn = dict(product.nhrn)
        conn.execute(
            sa.insert(t.product_markets),
            [
                {"product_code": product.product_code, "market": m, "position": i, "nhrn": nhrn.get(m)}
                for i, m in enumerate(product.markets)
            ],
        )

    def get_batch(self, conn: Connection, product_code: str, batch: str) -> Batch | None:
        """The batch ``(product_code, batch)`` (case-sensitive), or None."""
        row = driver(conn).execute(self._sql["batch"], (product_code, batch)).fetchone()
        return None if row is None else _batch(row)

    def put_batch(self, conn: Connection, batch: Batch) -> None:
        """Insert or replace a batch."""
        assert batch.uploaded_at is not None
        values = {
            "expiry": batch.expiry,
            "expiry_date": batch.expiry_date,
            "markets": ",".join(batch.markets),
            "uploaded_us": to_us(batch.uploaded_at),
            "recalled_us": None if batch.recalled_at is None else to_us(batch.recalled_at),
        }
        key = (t.batches.c.product_code == batch.product_code) & (t.batches.c.batch == batch.batch)
        if not conn.execute(sa.update(t.batches).where(key).values(**values)).rowcount:
            conn.execute(
                sa.insert(t.batches).values(product_code=batch.product_code, batch=batch.batch, **values)
            )

    # -- packs --------------------------------------------------------------------------------------

    def get_pack(self, conn: Connection, product_code: str, serial: str) -> tuple[PackRecord, int] | None:
        """The pack and its upload time (µs), by primary key; None when the product has no such serial."""
        row = driver(conn).execute(self._sql["pack"], (product_code, serial)).fetchone()
        return None if row is None else (pack_from_row(row), row[5])

    def get_packs(
        self, conn: Connection, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[PackRecord, int]]:
        """Many packs at once (a bulk chunk), by ``(product_code, serial)``: one statement per product
        (SQLite: per 500 serials, in an ``IN`` list; PostgreSQL: all of them as one array parameter,
        ``serial = ANY(%s)``, so the statement text never changes and is prepared once)."""
        raw = driver(conn)
        found: dict[tuple[str, str], tuple[PackRecord, int]] = {}
        by_product: dict[str, list[str]] = {}
        for code, serial in keys:
            by_product.setdefault(code, []).append(serial)
        for code, serials in by_product.items():
            wanted = list(dict.fromkeys(serials))
            parts: list[tuple[str, tuple[Any, ...]]]
            if self.dialect == "postgresql":
                parts = [(self._sql["packs_any"], (code, wanted))]
            else:
                parts = [
                    (
                        self._sql["packs_in"].replace("(@)", "(" + ", ".join("?" * len(part)) + ")"),
                        (code, *part),
                    )
                    for part in (wanted[start : start + 500] for start in range(0, len(wanted), 500))
                ]
            for sql, params in parts:
                for row in raw.execute(sql, params).fetchall():
                    found[(row[0], row[1])] = (pack_from_row(row), row[5])
        return found

    def existing_serials(self, conn: Connection, product_code: str, serials: Iterable[str]) -> set[str]:
        """Which of ``serials`` the product code already has (case-sensitively)."""
        wanted = list(serials)
        have: set[str] = set()
        for start in range(0, len(wanted), 500):
            have.update(
                conn.execute(
                    sa.select(t.packs.c.serial).where(
                        (t.packs.c.product_code == product_code)
                        & t.packs.c.serial.in_(wanted[start : start + 500])
                    )
                ).scalars()
            )
        return have

    def insert_packs(self, conn: Connection, packs: Sequence[PackRecord], uploaded: datetime) -> None:
        """Insert new Active packs (an accepted batch upload); a pack already held is left as it is."""
        uploaded_us = to_us(uploaded)
        rows = [(p.product_code, p.serial, p.batch, p.state.value, uploaded_us) for p in packs]
        cursor = driver(conn).cursor()
        for start in range(0, len(rows), 5000):
            cursor.executemany(self._sql["insert_pack"], rows[start : start + 5000])

    def update_packs(
        self, conn: Connection, changes: Sequence[tuple[PackRecord, PackRecord | None]]
    ) -> list[bool]:
        """Store new pack records; each pair is ``(new, expected)`` and the write happens only while
        the stored state, reason and last-change time still equal ``expected``'s (compare and set)
        — ``expected`` None writes unconditionally. Returns, per pair, whether it was written."""
        raw = driver(conn)
        written: list[bool] = []
        stage = staged_writes(conn)
        if stage is not None:
            stage.changed_packs.update((new.product_code, new.serial) for new, _ in changes)
        for new, expected in changes:
            if expected is None:
                cursor = raw.execute(self._sql["update_pack"], pack_params(new))
            else:
                exp_lc = expected.last_change
                cursor = raw.execute(
                    self._sql["update_pack_cas"],
                    (
                        *pack_params(new),
                        expected.state.value,
                        None if expected.reason is None else expected.reason.value,
                        None if exp_lc is None else to_us(exp_lc.at),
                    ),
                )
            written.append(cursor.rowcount == 1)
        return written

    def count_repeat(
        self, conn: Connection, product_code: str, serial: str, location: str, since: datetime
    ) -> int:
        """Count one more request, at ``location``, for the state the pack has been in since ``since``
        (its last change), in the caller's transaction; returns this repeat's number, 1 for the first.

        One atomic upsert (``INSERT … ON CONFLICT DO UPDATE … RETURNING``): the row of ``(product_code,
        serial, location)`` counts on while its ``since_us`` is the pack's last change, and starts
        again at 1 for a newer one. Concurrent transactions counting the same pack queue on the row,
        so no repeat is lost or counted twice; a rolled-back transaction (a replayed group, a failed
        bulk chunk) takes its count back with it."""
        row = (
            driver(conn)
            .execute(self._sql["count_repeat"], (product_code, serial, location, to_us(since)))
            .fetchone()
        )
        return int(row[0])

    def update_packs_many(self, conn: Connection, news: Sequence[PackRecord]) -> None:
        """Store many new pack records unconditionally (a bulk chunk); a pack listed twice ends as its
        last record. SQLite: one prepared statement run per pack (``executemany``, in-process, no round
        trips). PostgreSQL: one ``UPDATE … FROM unnest(…)`` with one array parameter per column — the
        statement text is the same for every chunk, so it is prepared once (an ``UPDATE … FROM (VALUES …)``
        of 1,000 rows was parsed and planned afresh each time; an ``executemany`` cost a Python round of
        the driver per pack)."""
        if not news:
            return
        latest = {(p.product_code, p.serial): p for p in news}  # one row per pack: UPDATE … FROM updates once
        stage = staged_writes(conn)
        if stage is not None:
            stage.changed_packs.update(latest)
        rows = [pack_params(p) for p in latest.values()]
        if self.dialect == "postgresql":
            driver(conn).execute(
                self._sql["update_packs_unnest"], [list(column) for column in zip(*rows, strict=True)]
            )
        else:
            driver(conn).cursor().executemany(self._sql["update_pack"], rows)

    def put_bulk_results(
        self, conn: Connection, job_id: str, chunk: int, results: str, processed: int
    ) -> None:
        """Store the per-pack results (JSON) of one processed chunk of bulk job ``job_id`` and count its
        ``processed`` packs as done, in the chunk's transaction."""
        raw = driver(conn)
        raw.execute(self._sql["insert_bulk_results"], (job_id, chunk, results))
        raw.execute(self._sql["bulk_progress"], (processed, job_id))

    def get_recorded_and_pack(
        self, conn: Connection, client_id: str, client_trx_id: str, product_code: str, serial: str
    ) -> tuple[Recorded | None, tuple[PackRecord, int] | None]:
        """The answer stored under ``(client_id, client_trx_id)`` and the pack, in one round trip (none
        when a group fetched them in advance: see :meth:`staged`)."""
        stage = staged_writes(conn)
        if stage is not None:
            hit = stage.prefetched.get((client_id, client_trx_id, product_code, serial))
            if hit is not None and (product_code, serial) not in stage.changed_packs:
                return hit[0] or stage.recorded.get((client_id, client_trx_id)), hit[1]
        row = (
            driver(conn)
            .execute(self._sql["trx_and_pack"], (client_id, client_trx_id, product_code, serial))
            .fetchone()
        )
        recorded = None if row[0] is None else Recorded(*row[:4])
        pack = None if row[4] is None else (pack_from_row(row[4:]), row[9])
        if stage is not None and recorded is None:
            recorded = stage.recorded.get((client_id, client_trx_id))
        return recorded, pack

    def _lookup(
        self, conn: Connection, keys: Sequence[tuple[str, str, str, str]]
    ) -> Iterator[tuple[tuple[str, str, str, str], tuple[Recorded | None, tuple[PackRecord, int] | None]]]:
        sql, params = self.lookup_statement(keys)
        return self.lookup_rows(driver(conn).execute(sql, params).fetchall())

    def lookup_statement(self, keys: Sequence[tuple[str, str, str, str]]) -> tuple[str, list[str]]:
        """The statement (in the driver's parameter style) and parameters that read, for each
        ``(client_id, clientTrxId, product_code, serial)``, the stored answer and the pack (at most
        250 keys; :meth:`lookup_rows` reads its rows)."""
        sql = self._lookup_sql.get(len(keys))
        if sql is None:
            marks = ", ".join([f"({self._mark}, {self._mark}, {self._mark}, {self._mark})"] * len(keys))
            sql = self._lookup_sql[len(keys)] = self._sql["trx_and_pack_many"].replace("(@)", marks)
        return sql, [value for key in keys for value in key]

    @staticmethod
    def lookup_rows(
        rows: Iterable[Sequence[Any]],
    ) -> Iterator[tuple[tuple[str, str, str, str], tuple[Recorded | None, tuple[PackRecord, int] | None]]]:
        """What :meth:`lookup_statement` read: per key, the stored answer and ``(pack, upload time)``."""
        for row in rows:
            recorded = None if row[4] is None else Recorded(*row[4:8])
            pack = None if row[8] is None else (pack_from_row(row[8:]), row[13])
            yield (row[0], row[1], row[2], row[3]), (recorded, pack)

    def stage_statements(self, stage: StagedWrites) -> list[tuple[str, tuple[Any, ...]]]:
        """PostgreSQL: the statements, in order, that write ``stage`` — each stored answer, then each audit
        entry numbered and linked by PostgreSQL under the chain head's lock — for a stage of at most
        :data:`~packtrail.fmd.audit.PIPELINED_ENTRIES` entries; nothing is read back, so they travel in
        one pipeline with the ``BEGIN`` before and the ``COMMIT`` after them (:meth:`staged`, and the
        group commit on the event loop)."""
        from packtrail.fmd import audit

        insert = self._sql["insert_trx"]
        statements: list[tuple[str, tuple[Any, ...]]] = [(insert, row) for row in stage.transactions]
        statements += [(audit.APPEND_POSTGRES, row) for row in audit.postgres_appends(stage.audit)]
        return statements

    def staging(self, stage: StagedWrites) -> Connection:
        """A stand-in for a store connection that holds ``stage`` (:func:`staged_writes` finds it) and
        runs no statement: any use beyond the staged reads and writes raises :class:`NeedsStatements`.
        The group commit tries a group of verifies with it on the event loop
        (:mod:`packtrail.fmd.groupcommit`)."""
        return cast(Connection, _StagedOnly({_STAGE: stage}))

    # -- idempotency --------------------------------------------------------------------------------

    def get_recorded(self, conn: Connection, client_id: str, client_trx_id: str) -> Recorded | None:
        """The answer stored under ``(client_id, client_trx_id)``, if the id was used before."""
        stage = staged_writes(conn)
        if stage is not None and (client_id, client_trx_id) in stage.recorded:
            return stage.recorded[(client_id, client_trx_id)]
        row = driver(conn).execute(self._sql["trx"], (client_id, client_trx_id)).fetchone()
        return None if row is None else Recorded(*row)

    def put_recorded(
        self,
        conn: Connection,
        client_id: str,
        client_trx_id: str,
        recorded: Recorded,
        now: datetime,
    ) -> None:
        """Store the first answer under ``(client_id, client_trx_id)`` (staged in a group: see :meth:`staged`)."""
        row = (
            client_id,
            client_trx_id,
            recorded.fingerprint,
            recorded.status,
            recorded.answer,
            recorded.trx_id,
            to_us(now),
        )
        stage = staged_writes(conn)
        if stage is None:
            driver(conn).execute(self._sql["insert_trx"], row)
            return
        if (client_id, client_trx_id) in stage.recorded:  # what the primary key would refuse
            raise FmdStoreError(f"clientTrxId {client_trx_id!r} of {client_id!r} is stored already")
        stage.recorded[(client_id, client_trx_id)] = recorded
        stage.transactions.append(row)

    @contextmanager
    def staged(
        self,
        conn: Connection,
        lookups: Iterable[tuple[str, str, str, str]] = (),
        *,
        commit: bool = False,
        prefetched: Mapping[tuple[str, str, str, str], tuple[Recorded | None, tuple[PackRecord, int] | None]]
        | None = None,
    ) -> Iterator[None]:
        """Within the block, stored answers and audit entries written on ``conn`` are kept in memory
        (reads on ``conn`` see them) and written at its end with one statement each — a group of
        requests (:mod:`packtrail.fmd.groupcommit`) then pays one round trip for them, not two per
        request. ``lookups`` — ``(client_id, clientTrxId, product_code, serial)`` of each request —
        are read first in one statement per 250, for :meth:`get_recorded_and_pack` (a pack changed
        in the block is read afresh). Nothing is written when the block raises (the caller rolls back).

        ``commit=True`` commits the transaction with the writes. On PostgreSQL a group of verifies
        then costs two round trips in all, and psycopg's pipeline no more than it must: the read runs
        before the transaction begins (when nothing ran on ``conn`` yet; under READ COMMITTED every
        statement reads a fresh snapshot anyway, and the pack writes compare and set), the ``BEGIN``,
        the writes and the ``COMMIT`` travel in one pipeline — the caller's :meth:`write` then finds
        nothing left to commit. On SQLite ``commit`` changes nothing (the caller's :meth:`write`
        commits). ``prefetched``: what such a read gave already, just before (the group commit's attempt
        on the event loop), instead of reading again."""
        from packtrail.fmd import audit

        stage = StagedWrites()
        wanted = list(dict.fromkeys(lookups))
        postgres = self.dialect == "postgresql"
        raw = driver(conn)
        if prefetched is not None:
            stage.prefetched.update(prefetched)
        elif wanted:
            before = postgres and raw.pgconn.transaction_status == _PG_IDLE
            if before:
                raw.autocommit = True  # the read alone: no BEGIN, no pipeline
            try:
                for start in range(0, len(wanted), 250):
                    stage.prefetched.update(self._lookup(conn, wanted[start : start + 250]))
            finally:
                if before:
                    raw.autocommit = False
        conn.info[_STAGE] = stage
        try:
            yield
        finally:
            conn.info.pop(_STAGE, None)
        if not postgres:
            if stage.transactions:
                raw.cursor().executemany(self._sql["insert_trx"], stage.transactions)
            audit.append_rows(conn, stage.audit)
            return
        # The answers' insert, the audit entries (each numbered and linked by PostgreSQL under the head
        # row's lock: audit.append_rows) and the COMMIT in one pipeline: one round trip (a big group
        # reads the audit head first: one more).
        if not (stage.transactions or stage.audit):
            if commit:
                raw.commit()
            return
        with raw.pipeline():
            if len(stage.audit) <= audit.PIPELINED_ENTRIES:
                for sql, params in self.stage_statements(stage):
                    raw.execute(sql, params)
            else:
                raw.cursor().executemany(self._sql["insert_trx"], stage.transactions)
                audit.append_rows(conn, stage.audit)
            if commit:
                raw.execute("COMMIT")  # not raw.commit(): that syncs the pipeline once more

    # -- the hub's market registry ------------------------------------------------------------------

    def register_market(self, market: str, url: str, now: datetime) -> None:
        """Record (or move) the national system of ``market`` at ``url``."""
        with self.write() as conn:
            where = t.markets.c.market == market
            if not conn.execute(
                sa.update(t.markets).where(where).values(url=url, registered_us=to_us(now))
            ).rowcount:
                conn.execute(sa.insert(t.markets).values(market=market, url=url, registered_us=to_us(now)))

    def market_urls(self) -> dict[str, str]:
        """Every registered national system: market -> base URL."""
        with self.read() as conn:
            return dict(conn.execute(sa.select(t.markets.c.market, t.markets.c.url)).all())


# -- rows <-> values ----------------------------------------------------------------------------------


def _batch(row: Sequence[Any]) -> Batch:
    code, batch, expiry, expiry_date, markets, uploaded_us, recalled_us = row
    return Batch(
        product_code=code,
        batch=batch,
        expiry=expiry,
        expiry_date=expiry_date if isinstance(expiry_date, date) else date.fromisoformat(expiry_date),
        markets=tuple(markets.split(",")) if markets else (),
        uploaded_at=from_us(uploaded_us),
        recalled_at=None if recalled_us is None else from_us(recalled_us),
    )


def pack_from_row(row: Sequence[Any]) -> PackRecord:
    """A :class:`PackRecord` from a row of :data:`PACK_COLUMNS`."""
    (
        code,
        serial,
        batch,
        state,
        reason,
        _,
        lc_code,
        lc_reason,
        lc_location,
        lc_user,
        lc_client,
        lc_us,
        lc_trx,
    ) = row
    change = None
    if lc_code is not None:
        change = StateChange(
            _TRANSACTIONS.get(lc_code) or TransactionCode(lc_code),
            None if lc_reason is None else _REASONS.get(lc_reason) or Reason(lc_reason),
            lc_location,
            lc_user,
            lc_client,
            from_us(lc_us),
            lc_trx,
        )
    return PackRecord(
        code,
        serial,
        batch,
        _STATES.get(state) or PackState(state),
        None if reason is None else _REASONS.get(reason) or Reason(reason),
        change,
    )


# Enum members by stored value: a dict lookup costs a fraction of ``PackState(value)`` (an unknown value
# still goes to the enum, which raises the ValueError naming it).
_STATES: Final = {member.value: member for member in PackState}
_REASONS: Final = {member.value: member for member in Reason}
_TRANSACTIONS: Final = {member.value: member for member in TransactionCode}


def pack_params(pack: PackRecord) -> tuple[Any, ...]:
    """The parameters of the ``update_pack`` statement that store ``pack`` (state, reason, last change)."""
    lc = pack.last_change
    if lc is None:
        return (pack.state.value, None if pack.reason is None else pack.reason.value, *(None,) * 7,
                pack.product_code, pack.serial)  # fmt: skip
    return (
        pack.state.value,
        None if pack.reason is None else pack.reason.value,
        lc.transaction.value,
        None if lc.reason is None else lc.reason.value,
        lc.location,
        lc.user,
        lc.client_id,
        to_us(lc.at),
        lc.client_trx_id,
        pack.product_code,
        pack.serial,
    )


def driver(conn: Connection) -> Any:
    """The DBAPI connection (sqlite3 or psycopg) under a SQLAlchemy connection, inside its transaction.

    The per-request statements run on it directly: a primary-key lookup through SQLAlchemy's
    execution machinery costs ten times the lookup itself.
    """
    return conn.connection.driver_connection


PACK_COLUMNS: Final = (
    "product_code, serial, batch, state, reason, uploaded_us, "
    "lc_code, lc_reason, lc_location, lc_user, lc_client, lc_us, lc_trx"
)
"""The columns of a pack row, in the order :func:`pack_from_row` reads them."""

_STATEMENTS: Final = {
    "product": "SELECT product_code, scheme, name, owner, uploaded_us, withdrawn_us FROM fmd_products "
    "WHERE product_code = ?",
    "product_markets": "SELECT market, nhrn FROM fmd_product_markets WHERE product_code = ? ORDER BY position",
    "batch": "SELECT product_code, batch, expiry, expiry_date, markets, uploaded_us, recalled_us "
    "FROM fmd_batches WHERE product_code = ? AND batch = ?",
    "pack": f"SELECT {PACK_COLUMNS} FROM fmd_packs WHERE product_code = ? AND serial = ?",
    "packs_in": f"SELECT {PACK_COLUMNS} FROM fmd_packs WHERE product_code = ? AND serial IN (@)",
    "packs_any": f"SELECT {PACK_COLUMNS} FROM fmd_packs WHERE product_code = ? AND serial = ANY(?)",
    "insert_pack": "INSERT INTO fmd_packs (product_code, serial, batch, state, uploaded_us) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING",
    "update_pack": "UPDATE fmd_packs SET state = ?, reason = ?, lc_code = ?, lc_reason = ?, lc_location = ?, "
    "lc_user = ?, lc_client = ?, lc_us = ?, lc_trx = ? WHERE product_code = ? AND serial = ?",
    "trx": "SELECT fingerprint, status, answer, trx_id FROM fmd_transactions WHERE client_id = ? AND client_trx_id = ?",
    "insert_trx": "INSERT INTO fmd_transactions (client_id, client_trx_id, fingerprint, status, answer, trx_id, at_us) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)",
}
_STATEMENTS["trx_and_pack"] = (
    "SELECT t.fingerprint, t.status, t.answer, t.trx_id, "
    + ", ".join(f"p.{c.strip()}" for c in PACK_COLUMNS.split(","))
    + " FROM (SELECT 1 AS one) AS o "
    "LEFT JOIN fmd_transactions t ON t.client_id = ? AND t.client_trx_id = ? "
    "LEFT JOIN fmd_packs p ON p.product_code = ? AND p.serial = ?"
)
_STATEMENTS["trx_and_pack_many"] = (
    "SELECT v.column1, v.column2, v.column3, v.column4, t.fingerprint, t.status, t.answer, t.trx_id, "
    + ", ".join(f"p.{c.strip()}" for c in PACK_COLUMNS.split(","))
    + " FROM (VALUES (@)) AS v "
    "LEFT JOIN fmd_transactions t ON t.client_id = v.column1 AND t.client_trx_id = v.column2 "
    "LEFT JOIN fmd_packs p ON p.product_code = v.column3 AND p.serial = v.column4"
)
_STATEMENTS["update_packs_unnest"] = (
    "UPDATE fmd_packs AS p SET state = v.state, reason = v.reason, lc_code = v.lc_code, "
    "lc_reason = v.lc_reason, lc_location = v.lc_location, lc_user = v.lc_user, lc_client = v.lc_client, "
    "lc_us = v.lc_us, lc_trx = v.lc_trx "
    "FROM unnest(CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), "
    "CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS BIGINT[]), CAST(? AS TEXT[]), "
    "CAST(? AS TEXT[]), CAST(? AS TEXT[])) "
    "AS v(state, reason, lc_code, lc_reason, lc_location, lc_user, lc_client, lc_us, lc_trx, product_code, serial) "
    "WHERE p.product_code = v.product_code AND p.serial = v.serial"
)
"""PostgreSQL only: many packs' :func:`pack_params`, one array per parameter of ``update_pack``."""
_STATEMENTS["count_repeat"] = (
    "INSERT INTO fmd_repeats (product_code, serial, location, since_us, repeats) VALUES (?, ?, ?, ?, 1) "
    "ON CONFLICT (product_code, serial, location) DO UPDATE SET "
    "repeats = CASE WHEN fmd_repeats.since_us = excluded.since_us THEN fmd_repeats.repeats + 1 ELSE 1 END, "
    "since_us = excluded.since_us RETURNING repeats"
)
_STATEMENTS["insert_bulk_results"] = "INSERT INTO fmd_bulk_results (job_id, chunk, results) VALUES (?, ?, ?)"
_STATEMENTS["bulk_progress"] = (
    "UPDATE fmd_bulk_jobs SET status = 'running', done_count = done_count + ? WHERE job_id = ?"
)
_STATEMENTS["update_pack_cas"] = (
    _STATEMENTS["update_pack"] + " AND state = ? AND reason IS NOT DISTINCT FROM CAST(? AS TEXT) "
    "AND lc_us IS NOT DISTINCT FROM CAST(? AS BIGINT)"
)


_BINARY_PARAMETERS: Final = frozenset({"packs_any", "update_packs_unnest"})
"""PostgreSQL statements whose parameters (arrays of a chunk's values) psycopg sends in binary
(``%b``): a text array is quoted element by element in Python (measured 5 ms of client time for the
11 arrays of 1,000 packs, 1.8 ms in binary, and the server parses it faster)."""


def statements(dialect: str) -> dict[str, str]:
    """The per-request statements in the parameter style of ``dialect``'s driver (``?``, or ``%s`` and
    ``%b`` for psycopg)."""
    if dialect == "sqlite":
        return dict(_STATEMENTS)
    return {
        name: sql.replace("?", "%b" if name in _BINARY_PARAMETERS else "%s")
        for name, sql in _STATEMENTS.items()
    }
