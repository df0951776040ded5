"""Where a store lives: URLs, SQLAlchemy engines for SQLite and PostgreSQL, migrations on open.

A store is named by a URL. SQLite is the embedded default; PostgreSQL (through psycopg 3) is the
peer backend for a shared node:

>>> store_url(None)
'sqlite:///packtrail.db'
>>> store_url("events.db"), store_url("/var/lib/packtrail/events.db")
('sqlite:///events.db', 'sqlite:////var/lib/packtrail/events.db')
>>> store_url("postgres://node@db.example.com/epcis?options=-csearch_path%3Dtenant1")
'postgresql+psycopg://node@db.example.com/epcis?options=-csearch_path%3Dtenant1'
>>> dialect_of("postgresql+psycopg://node@db/epcis")
'postgresql'

libpq options in the query string (``options=-csearch_path=…``, ``sslmode=…``) reach psycopg
unchanged. SQLite databases run in WAL mode with ``synchronous=NORMAL`` (a crash loses at most the
last transactions, never consistency), ``foreign_keys=ON``, a 30 s ``busy_timeout`` and pages of
:data:`PAGE_SIZE` bytes.

:func:`migrate` brings the schema to the newest Alembic revision; it is idempotent, and concurrent
openers of one PostgreSQL database wait for each other on an advisory lock.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any, Final, Literal

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError

from packtrail.store.errors import StoreError

__all__ = [
    "DEFAULT_URL",
    "Checkpointer",
    "Dialect",
    "create_store_engine",
    "dialect_of",
    "migrate",
    "store_url",
]

Dialect = Literal["sqlite", "postgresql"]
"""The two backends."""

DEFAULT_URL: Final = "sqlite:///packtrail.db"
"""The store used when no URL is given: ``packtrail.db`` in the current directory."""

MIGRATIONS: Final = Path(__file__).with_name("migrations")
"""The Alembic environment (``env.py``, ``versions/``), shipped as package data."""

VERSION_TABLE: Final = "packtrail_store_version"
"""Alembic's version table for this package's schema."""

MIGRATION_LOCK_ID: Final = 0x7061636B74726C  # "packtrl": the advisory lock serialising migrations

PAGE_SIZE: Final = 4096
"""SQLite page size of a new store (an existing one keeps its own). A commit writes every page it
changed, whole, to the write-ahead log: the small captures of pharmacies and scanning stations and the
lifecycle rows they update (a dispensed pack here, a case there) each change a page of their own, and
with 16 KiB pages those commits cost 1.4 to 1.7 times as much (``bench/bench_lifecycle.py --share-only``:
capture of the pharma flow 9.5 to 10.9 s without the projection, 15 to 16.7 s with it; 4 KiB pages: 8.6
and 11.5 to 12.3 s). One big document captures at the same speed with either
(``bench/bench_store_capture.py``: 18,100 to 19,500 events/s), with 7% more bytes per event."""
CACHE_KIB: Final = -65536
"""SQLite page cache of a connection: 64 MiB (negative: KiB)."""
CAPTURE_CACHE_KIB: Final = -524288
"""SQLite page cache while a capture writes: 512 MiB, so that a 100,000-event transaction's index pages
stay in memory until the commit (the connection goes back to :data:`CACHE_KIB` afterwards)."""

IMMEDIATE: Final = "packtrail_immediate"
"""Execution option: on SQLite, begin the transaction with ``BEGIN IMMEDIATE`` (take the write lock
at once, as capture does); ignored on PostgreSQL."""


def store_url(url: str | None) -> str:
    """The SQLAlchemy URL for a store URL, a bare file path (SQLite) or None (:data:`DEFAULT_URL`).

    ``postgres://`` and ``postgresql://`` get the psycopg 3 driver; anything with a ``://`` that is
    neither SQLite nor PostgreSQL is refused.
    """
    if url is None or not url.strip():
        return DEFAULT_URL
    url = url.strip()
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    if url.startswith(("postgresql+psycopg://", "sqlite://", "sqlite+pysqlite://")):
        return url
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise StoreError(
            f"store URL {url!r}: unknown scheme {scheme!r}; expected sqlite:///FILE, postgresql://… or a file path"
        )
    return f"sqlite:///{url}"


def dialect_of(url: str) -> Dialect:
    """``"sqlite"`` or ``"postgresql"`` for a SQLAlchemy URL made by :func:`store_url`."""
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Our own transaction control: the driver must not BEGIN on its own (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")  # only takes effect on a new, empty database
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute(f"PRAGMA cache_size={CACHE_KIB}")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute(f"PRAGMA journal_size_limit={WAL_KEPT_BYTES}")  # a log started afresh shrinks
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_store_engine(url: str | None) -> Engine:
    """A SQLAlchemy engine for the store at ``url`` (see :func:`store_url`), set up for its backend.

    SQLite: the file's directory must exist; the file is created. Thread-safe: the engine keeps a pool.
    """
    sa_url = store_url(url)
    try:
        parsed = make_url(sa_url)
    except ArgumentError as exc:
        raise StoreError(f"store URL {url!r} is not a database URL: {exc}") from None
    if dialect_of(sa_url) == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            parent = Path(database).expanduser().resolve().parent
            if not parent.is_dir():
                raise StoreError(f"store URL {url!r}: the directory {str(parent)!r} does not exist")
        engine = create_engine(parsed, connect_args={"check_same_thread": False}, pool_size=8, max_overflow=8)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # LIFO: the connection used last is used next, so the statements psycopg prepared on it (reads run
    # in autocommit and keep them: Store._reading) serve the next request instead of a colder connection
    return create_engine(parsed, pool_size=8, max_overflow=8, pool_pre_ping=True, pool_use_lifo=True)


CHECKPOINT_EVENTS: Final = 40_000
"""Captured events the write-ahead log collects before :class:`Checkpointer` copies it into the
database file (some 100 MB of log: readers stay fast, and a page changed by several captures is copied
once)."""


WAL_RESTART_BYTES: Final = 256 * 1024 * 1024
"""A write-ahead log this long (pages written since it last started afresh) is checkpointed in full, and
started afresh, by the next capture (:class:`Checkpointer`)."""
WAL_KEPT_BYTES: Final = 64 * 1024 * 1024
"""``journal_size_limit``: a log started afresh is cut back to this many bytes on disk."""


class Checkpointer:
    """Copies a SQLite store's write-ahead log into the database file in a thread of its own.

    A capture's connection turns SQLite's automatic checkpoint off (``wal_autocheckpoint=0``): else
    the commit of a 100,000-event capture would also copy its ~200 MB of pages from the WAL into the
    database file before returning. The capture is durable once committed to the WAL; the store then
    asks this thread for a ``PASSIVE`` checkpoint (it never blocks readers or writers). Other writes
    keep SQLite's automatic checkpoint, and :meth:`close` checkpoints one last time. The checkpoint is
    asked for once :data:`CHECKPOINT_EVENTS` events have been captured since the last one.

    A passive checkpoint copies what is in the log when it starts. SQLite starts the log afresh only
    when a writer finds every page of it copied; under a steady stream of captures the next one has
    always appended more by then, and the log would grow without end (a 10-million-event load reached
    14 GB of log after 700,000 events). So when a passive checkpoint finds the log longer than
    :data:`WAL_RESTART_BYTES`, the next :meth:`request` — the capture's own thread, between two
    captures — runs a ``RESTART`` checkpoint: it waits for the writer of the moment, copies the rest
    (little: the passive ones did the bulk), and the next write starts the log afresh, cut back to
    :data:`WAL_KEPT_BYTES` on disk.
    """

    def __init__(self, engine: Engine, *, every: int | None = None, restart_bytes: int | None = None) -> None:
        self._engine = engine
        self._every = every
        """Events (or, for another user, transactions) between passive checkpoints (None:
        :data:`CHECKPOINT_EVENTS`)."""
        self._restart_bytes = restart_bytes
        """Log length that has the next :meth:`request` restart it (None: :data:`WAL_RESTART_BYTES`)."""
        self._waiting = 0
        self._wanted = threading.Event()
        self._stopping = False
        self._restart = False
        self.restarts = 0
        """How many times the log was checkpointed in full and started afresh."""
        self._thread = threading.Thread(target=self._run, name="packtrail-checkpoint", daemon=True)
        self._thread.start()

    def request(self, events: int = CHECKPOINT_EVENTS) -> None:
        """Count ``events`` more captured; once :data:`CHECKPOINT_EVENTS` are waiting in the log, ask for
        a checkpoint soon (returns at once). Checkpointing after every capture would copy a page that
        each capture changes (an index page, a pack's lifecycle row) once per capture; waiting for a
        few captures copies it once. When the last checkpoint found the log too long, first checkpoint
        it in full here (see the class docstring)."""
        if self._restart:
            self._restart = False
            with contextlib.suppress(Exception):  # busy past the timeout: the next passive one asks again
                self.checkpoint("RESTART")
                self.restarts += 1
        self._waiting += events
        if self._waiting >= (CHECKPOINT_EVENTS if self._every is None else self._every):
            self._waiting = 0
            self._wanted.set()

    def checkpoint(self, mode: Literal["PASSIVE", "RESTART", "TRUNCATE"] = "PASSIVE") -> None:
        """Checkpoint now, in the calling thread. After a ``PASSIVE`` one that found the log longer
        than :data:`WAL_RESTART_BYTES`, the next :meth:`request` restarts it."""
        raw = self._engine.raw_connection()
        try:
            driver = raw.driver_connection
            _, logged, _ = driver.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()  # type: ignore[union-attr]
            if mode == "PASSIVE":
                page_size = driver.execute("PRAGMA page_size").fetchone()[0]  # type: ignore[union-attr]
                limit = WAL_RESTART_BYTES if self._restart_bytes is None else self._restart_bytes
                if logged * page_size > limit:
                    self._restart = True
        finally:
            raw.close()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._stopping:
                return
            with contextlib.suppress(Exception):  # a failed checkpoint is retried by the next one
                self.checkpoint()

    def close(self) -> None:
        """Stop the thread, then checkpoint once more."""
        self._stopping = True
        self._wanted.set()
        self._thread.join()
        with contextlib.suppress(Exception):  # the store is closing; SQLite checkpoints at the next open
            self.checkpoint()


def migrate(engine: Engine) -> None:
    """Bring the store's schema to the newest revision (idempotent; creates everything on first open).

    On PostgreSQL concurrent callers are serialised with ``pg_advisory_lock``; on SQLite the
    migration runs inside ``BEGIN IMMEDIATE``.
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["version_table"] = VERSION_TABLE
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as connection:
        if postgres:
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
        try:
            if _at_head(connection, config):
                return
            config.attributes["connection"] = connection
            if not postgres:
                connection = connection.execution_options(**{IMMEDIATE: True})
                config.attributes["connection"] = connection
            with connection.begin():
                command.upgrade(config, "head")
        finally:
            if postgres:
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
                connection.commit()


def _at_head(connection: Connection, config: Any) -> bool:
    """True when the version table already names the newest revision (the usual open: no work)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(config).get_heads())
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    current = set(context.get_current_heads())
    connection.rollback()
    return current == heads
