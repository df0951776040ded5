"""The EPCIS repository's facade: one :class:`Store` object per database, used by the API, the
command line and the relay alike.

>>> import tempfile, pathlib
>>> folder = tempfile.mkdtemp()
>>> with open_store(f"sqlite:///{folder}/events.db") as store:
...     result = store.capture(b'''{"@context": "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
...       "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2024-03-01T10:05:00Z",
...       "epcisBody": {"eventList": [{"type": "ObjectEvent", "eventTime": "2024-03-01T10:00:00+01:00",
...         "eventTimeZoneOffset": "+01:00", "epcList": ["urn:epc:id:sgtin:4012345.011111.1001"],
...         "action": "OBSERVE", "bizStep": "shipping"}]}}''')
...     (result.captured, result.duplicates, result.success)
(1, 0, True)

Capturing the same document again stores nothing new: its events are duplicates. Every read takes a
:class:`~packtrail.store.parties.Viewer`: the local administrator (``Viewer.admin()``) sees everything, a
party only the events it may see. The store is thread-safe (one SQLAlchemy engine with a pool).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal

import orjson
import sqlalchemy as sa
from sqlalchemy import Engine

from packtrail.epcis.document import EPCISDocument, Event
from packtrail.store import master_data, parties, schema
from packtrail.store.capture import (
    Behaviour,
    CaptureJob,
    CaptureLimits,
    CaptureResult,
    capture_document,
    now_us,
    start_capture_job,
)
from packtrail.store.engine import Checkpointer, Dialect, create_store_engine, dialect_of, migrate, store_url
from packtrail.store.errors import DuplicateNameError, QueryParameterError
from packtrail.store.parties import Party, Viewer
from packtrail.store.projection import Projector
from packtrail.store.recent import Recent
from packtrail.store.statistics import StatisticsKeeper

if TYPE_CHECKING:
    from packtrail.store.query_engine import EventPage
    from packtrail.store.query_params import EventQuery

__all__ = ["DIMENSIONS", "NamedQuery", "Store", "open_store"]

DIMENSIONS: Final[dict[str, tuple[str, str]]] = {
    "eventTypes": ("events", "event_type"),
    "bizSteps": ("events", "biz_step"),
    "bizLocations": ("events", "biz_location"),
    "readPoints": ("events", "read_point"),
    "dispositions": ("events", "disposition"),
    "epcs": ("event_epcs", "epc"),
}
"""The top-level REST collections (``/eventTypes``, ``/bizSteps``…) -> (table, column) of their values."""

Dimension = Literal["eventTypes", "bizSteps", "bizLocations", "readPoints", "dispositions", "epcs"]


@dataclass(frozen=True, slots=True)
class NamedQuery:
    """A stored query (``/queries/{name}``)."""

    name: str
    """Its name, unique in the store."""
    owner: str | None
    """GLN of the party that made it; None when the administrator made it (then every party sees it)."""
    params: list[tuple[str, str]] | dict[str, Any]
    """The query: (parameter, value) pairs, or a JSON query body as in GS1's query schema."""
    created_at_us: int
    """When it was made (µs since 1970, UTC)."""


def _may_see(owner: str | None, viewer: Viewer) -> bool:
    return viewer.is_admin or owner is None or owner == viewer.party


class Store:
    """One EPCIS repository (SQLite file or PostgreSQL database): capture, read, share, administer."""

    url: str
    """The SQLAlchemy URL of the database."""
    dialect: Dialect
    """``"sqlite"`` or ``"postgresql"``."""
    engine: Engine
    """The SQLAlchemy engine (pooled; thread-safe)."""

    def __init__(self, url: str | None = None, *, limits: CaptureLimits | None = None) -> None:
        self.url = store_url(url)
        self.dialect = dialect_of(self.url)
        self.engine = create_store_engine(url)
        self.limits = limits or CaptureLimits()
        """The default capture limits (a capture may pass its own)."""
        try:
            migrate(self.engine)
        except Exception:
            self.engine.dispose()
            raise
        self._partitions: Any = None
        self._projectors: list[Projector] = []
        self._recent_keys: Recent[Party | None] = Recent()
        """Who an API key belongs to, as read within the last second (:mod:`packtrail.store.recent`)."""
        self._recent_namespaces: Recent[dict[str, str]] = Recent()
        self._checkpointer: Checkpointer | None = None
        if self.dialect == "sqlite":
            self._checkpointer = Checkpointer(self.engine)
        self._statistics = StatisticsKeeper(self.engine)
        self._statistics.start()
        if self.dialect == "postgresql":
            from packtrail.store.partitions import PartitionManager

            self._partitions = PartitionManager(self.engine)

    # -- lifecycle --------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop gathering statistics, checkpoint (SQLite) and close every pooled connection."""
        self._statistics.close()
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def _reading(self) -> sa.Connection:
        """A connection for reads that change nothing (use as a context manager).

        On PostgreSQL it runs in autocommit: no ``BEGIN``/``ROLLBACK`` round trips, and psycopg keeps
        the statements it prepared (it drops them all at every ``ROLLBACK``): a statement run five times on
        a connection is prepared there, so PostgreSQL plans it once (a plan over the monthly partitions of
        ``events`` costs more than running a look-up). Its statements each see the database as of their
        start, as they would in a ``READ COMMITTED`` transaction."""
        connection = self.engine.connect()
        if self.dialect == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
        return connection

    # -- projections ------------------------------------------------------------------------------------

    def add_projector(self, projector: Projector) -> None:
        """Have every later capture hand its inserted events to ``projector``, in its transaction (see
        :mod:`packtrail.store.projection`). Adding the same projector twice adds it once."""
        if not any(existing is projector for existing in self._projectors):
            self._projectors.append(projector)

    @property
    def projectors(self) -> tuple[Projector, ...]:
        """The projectors captures feed, in the order they were added."""
        return tuple(self._projectors)

    # -- capture ----------------------------------------------------------------------------------------

    def capture(
        self,
        source: bytes | str | os.PathLike[str] | EPCISDocument,
        *,
        party: str | None = None,
        behaviour: Behaviour = "rollback",
        limits: CaptureLimits | None = None,
        capture_id: str | None = None,
    ) -> CaptureResult:
        """Capture a document (JSON-LD, XML 2.0 or 1.2 bytes or text, a path, a single event, or an
        :class:`EPCISDocument`) for ``party`` (None: the administrator). See :mod:`packtrail.store.capture`.

        Raises :class:`~packtrail.store.errors.CaptureFormatError` (unreadable) or
        :class:`~packtrail.store.errors.CaptureLimitError` (too large); invalid events are reported in
        the result, not raised. ``capture_id``: finish a job made by :meth:`start_capture_job`.
        """
        from packtrail.store.index_rows import event_rows

        result = capture_document(
            self.engine,
            source,
            party=party,
            behaviour=behaviour,
            limits=limits or self.limits,
            capture_id=capture_id,
            build_rows=event_rows,
            partitions=self._partitions,
            projectors=self._projectors,
        )
        if self._checkpointer is not None and result.captured:
            self._checkpointer.request(result.captured)
        self._statistics.captured(result.captured)
        if result.captured:
            self._recent_namespaces.forget()  # the document may have brought new ones
        return result

    def start_capture_job(self, *, party: str | None, behaviour: Behaviour, event_count: int) -> str:
        """Record a running capture job (for ``202 Accepted``); then call :meth:`capture` with its id."""
        return start_capture_job(self.engine, party=party, behaviour=behaviour, event_count=event_count)

    def capture_job(self, capture_id: str, viewer: Viewer) -> CaptureJob | None:
        """The capture job, or None when there is none or ``viewer`` did not make it."""
        table = schema.captures
        query = sa.select(table).where(table.c.capture_id == capture_id)
        if not viewer.is_admin:
            query = query.where(table.c.party == viewer.party)
        with self._reading() as connection:
            row = connection.execute(query).first()
        return None if row is None else _job(row)

    def list_capture_jobs(self, viewer: Viewer, *, limit: int = 100) -> list[CaptureJob]:
        """The newest capture jobs ``viewer`` made (all, for the administrator), newest first."""
        table = schema.captures
        query = sa.select(table).order_by(table.c.created_at_us.desc(), table.c.capture_id).limit(limit)
        if not viewer.is_admin:
            query = query.where(table.c.party == viewer.party)
        with self._reading() as connection:
            return [_job(row) for row in connection.execute(query)]

    # -- reading ----------------------------------------------------------------------------------------

    def get_event(self, event_id: str, viewer: Viewer) -> Event | None:
        """The stored event (as captured, with recordTime and eventID) with this eventID, or None.

        When an error declaration for the event was captured too (it repeats the eventID), the newest
        of them is returned: the one carrying the ``errorDeclaration``.
        """
        events, visibility, keys = schema.events, schema.event_visibility, schema.event_keys
        query = (
            sa.select(events.c.document)
            .where(
                events.c.event_pk.in_(
                    sa.select(keys.c.event_pk).where(keys.c.event_id.in_(schema.event_id_keys([event_id])))
                )
            )
            .order_by(events.c.event_pk.desc())
            .limit(1)
        )
        if not viewer.is_admin:
            query = query.where(
                sa.exists().where(
                    visibility.c.event_pk == events.c.event_pk, visibility.c.party == viewer.party
                )
            )
        with self._reading() as connection:
            document = connection.execute(query).scalar()
        if document is None:
            return None
        loaded: Event = orjson.loads(document)
        return loaded

    def query_events(
        self,
        query: EventQuery,
        viewer: Viewer,
        *,
        per_page: int | None = None,
        page_token: str | None = None,
    ) -> EventPage:
        """Run a SimpleEventQuery (see :mod:`packtrail.store.query_engine`)."""
        from packtrail.store.query_engine import run_query

        with self._reading() as connection:
            return run_query(
                connection,
                query,
                viewer,
                per_page=per_page,
                page_token=page_token,
                descendants=lambda vocab_type, uri: master_data.descendants(connection, vocab_type, uri),
            )

    def distinct_values(
        self,
        dimension: Dimension,
        viewer: Viewer,
        *,
        per_page: int = 30,
        page_token: str | None = None,
    ) -> tuple[list[str], str | None]:
        """The distinct values of one dimension among the events ``viewer`` may see, sorted, a page at a
        time: ``(values, next_page_token)`` (None on the last page)."""
        if dimension not in DIMENSIONS:
            raise QueryParameterError(
                "dimension", f"expected one of {', '.join(DIMENSIONS)}, found {dimension!r}"
            )
        if per_page < 1:
            raise QueryParameterError("perPage", f"expected a positive number, found {per_page}")
        after = _read_value_token(page_token, dimension) if page_token else None
        table, column = DIMENSIONS[dimension]
        visible = (
            ""
            if viewer.is_admin
            else " AND EXISTS (SELECT 1 FROM event_visibility x WHERE x.event_pk = t.event_pk AND x.party = :party)"
        )
        # A loose index scan: each step jumps to the next larger value through the index on the column,
        # so a page costs per_page index look-ups however many events share each value.
        step = f"SELECT t.{column} FROM {table} t WHERE t.{column} > {{low}}{visible} ORDER BY t.{column} LIMIT 1"
        first = step.format(low=":after") if after is not None else step.replace("> {low}", "IS NOT NULL")
        sql = sa.text(
            f"WITH RECURSIVE walk(v, n) AS (SELECT ({first}), 1"
            f" UNION ALL SELECT ({step.format(low='walk.v')}), walk.n + 1 FROM walk"
            " WHERE walk.v IS NOT NULL AND walk.n <= :limit)"
            " SELECT v FROM walk WHERE v IS NOT NULL ORDER BY n"
        )
        params: dict[str, Any] = {"limit": per_page, "after": after, "party": viewer.party}
        with self._reading() as connection:
            values = [row[0] for row in connection.execute(sql, params)]
        if len(values) > per_page:
            values = values[:per_page]
            return values, _value_token(dimension, values[-1])
        return values, None

    def namespaces(self) -> dict[str, str]:
        """Every extension namespace seen in captures, prefix -> URI (the first one seen wins a prefix).
        Read at most once a second (:mod:`packtrail.store.recent`; a capture here forgets at once)."""
        return dict(self._recent_namespaces.get("namespaces", self._read_namespaces))

    def _read_namespaces(self) -> dict[str, str]:
        table = schema.contexts
        found: dict[str, str] = {}
        with self._reading() as connection:
            for (text,) in connection.execute(sa.select(table.c.namespaces).order_by(table.c.namespaces_id)):
                for prefix, uri in orjson.loads(text).items():
                    found.setdefault(prefix, uri)
        return found

    # -- named queries ----------------------------------------------------------------------------------

    def create_named_query(
        self, name: str, params: Sequence[tuple[str, str]] | Mapping[str, Any], viewer: Viewer
    ) -> None:
        """Store a named query for ``viewer``; raises DuplicateNameError when the name is taken and
        QueryParameterError when the query is not valid."""
        if not isinstance(name, str) or not name.strip():
            raise QueryParameterError("name", "a named query needs a non-empty name")
        if isinstance(params, Mapping):
            stored: Any = dict(params)
        else:
            stored = [[str(key), str(value)] for key, value in params]
        self._check_query(stored)
        table = schema.named_queries
        with self.engine.begin() as connection:
            exists = connection.execute(sa.select(table.c.name).where(table.c.name == name)).first()
            if exists is not None:
                raise DuplicateNameError(f"a named query {name!r} already exists")
            connection.execute(
                table.insert().values(
                    name=name,
                    owner=viewer.party,
                    params=orjson.dumps(stored).decode(),
                    created_at_us=now_us(),
                )
            )

    def _check_query(self, params: list[list[str]] | dict[str, Any]) -> None:
        from packtrail.store.query_params import parse_query_params

        if isinstance(params, dict):
            parse_query_params(params, namespaces=self.namespaces())
        else:
            parse_query_params([(key, value) for key, value in params], namespaces=self.namespaces())

    def named_query(self, name: str, viewer: Viewer) -> NamedQuery | None:
        """The named query, or None when there is none ``viewer`` may see."""
        table = schema.named_queries
        with self._reading() as connection:
            row = connection.execute(sa.select(table).where(table.c.name == name)).first()
        if row is None or not _may_see(row.owner, viewer):
            return None
        return _named(row)

    def list_named_queries(self, viewer: Viewer) -> list[NamedQuery]:
        """The named queries ``viewer`` may see, by name."""
        table = schema.named_queries
        query = sa.select(table).order_by(table.c.name)
        if not viewer.is_admin:
            query = query.where(sa.or_(table.c.owner.is_(None), table.c.owner == viewer.party))
        with self._reading() as connection:
            return [_named(row) for row in connection.execute(query)]

    def delete_named_query(self, name: str, viewer: Viewer) -> bool:
        """Delete a named query ``viewer`` owns (any, for the administrator); False when there is none."""
        table = schema.named_queries
        query = table.delete().where(table.c.name == name)
        if not viewer.is_admin:
            query = query.where(table.c.owner == viewer.party)
        with self.engine.begin() as connection:
            return connection.execute(query).rowcount > 0

    # -- parties ----------------------------------------------------------------------------------------

    def add_party(self, gln: str, name: str) -> str:
        """Register a trading party by GLN (or rename it) and return a new API key for it (shown once)."""
        with self.engine.begin() as connection:
            return parties.add_party(connection, gln, name, now_us())

    def new_api_key(self, gln: str, label: str | None = None) -> str:
        """Another API key for a registered party (returned once; only its hash is kept)."""
        with self.engine.begin() as connection:
            return parties.new_api_key(connection, gln, label, now_us())

    def revoke_api_key(self, key: str) -> bool:
        """Revoke an API key; False when it is unknown or revoked already."""
        with self.engine.begin() as connection:
            revoked = parties.revoke_api_key(connection, key, now_us())
        self._recent_keys.forget()
        return revoked

    def party_for_api_key(self, key: str) -> Party | None:
        """The party an API key belongs to; None for an unknown or revoked key. Read at most once a
        second per key (:mod:`packtrail.store.recent`: a key revoked by another process stops working
        within that second; revoked here, at once)."""

        def read() -> Party | None:
            with self._reading() as connection:
                return parties.party_for_api_key(connection, key)

        return self._recent_keys.get(parties.key_hash(key), read)

    def recent_party_for_api_key(self, key: str) -> tuple[bool, Party | None]:
        """``(True, party or None)`` when :meth:`party_for_api_key` read this key within the last second,
        else ``(False, None)``: no database read (an event loop may call it)."""
        return self._recent_keys.peek(parties.key_hash(key))

    def party(self, gln: str) -> Party | None:
        """The registered party with this GLN, or None."""
        with self._reading() as connection:
            return parties.get_party(connection, gln)

    def list_parties(self) -> list[Party]:
        """Every registered party."""
        with self._reading() as connection:
            return parties.list_parties(connection)

    def share(self, event_ids: Iterable[str], party: str, viewer: Viewer) -> int:
        """Let ``party`` see the events (by eventID) that ``viewer`` may see; returns how many became visible."""
        with self.engine.begin() as connection:
            return parties.share(connection, event_ids, party, viewer)

    # -- master data ------------------------------------------------------------------------------------

    def vocabulary(self, vocab_type: str, uri: str) -> dict[str, Any] | None:
        """A master data element (``type``, ``id``, ``attributes``, ``children``), or None."""
        with self._reading() as connection:
            return master_data.get_vocabulary(connection, vocab_type, uri)

    def descendants(self, vocab_type: str, uri: str) -> set[str]:
        """``uri`` and everything below it in the master data hierarchy (for ``WD_`` queries)."""
        with self._reading() as connection:
            return master_data.descendants(connection, vocab_type, uri)


def open_store(url: str | None = None, *, limits: CaptureLimits | None = None) -> Store:
    """Open (and create or migrate) the store at ``url``: ``sqlite:///FILE``, a file path,
    ``postgresql://…``; None is ``sqlite:///packtrail.db`` in the current directory."""
    return Store(url, limits=limits)


def _job(row: Any) -> CaptureJob:
    return CaptureJob(
        capture_id=row.capture_id,
        party=row.party,
        created_at_us=row.created_at_us,
        finished_at_us=row.finished_at_us,
        running=bool(row.running),
        success=None if row.success is None else bool(row.success),
        behaviour=row.behaviour,
        event_count=row.event_count,
        captured=row.captured,
        duplicates=row.duplicates,
        errors=orjson.loads(row.errors),
    )


def _named(row: Any) -> NamedQuery:
    params = orjson.loads(row.params)
    return NamedQuery(
        name=row.name,
        owner=row.owner,
        params=params if isinstance(params, dict) else [(str(k), str(v)) for k, v in params],
        created_at_us=row.created_at_us,
    )


def _value_token(dimension: str, after: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"d": dimension, "a": after})).decode().rstrip("=")


def _read_value_token(token: str, dimension: str) -> str:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise QueryParameterError("nextPageToken", "not a page token of this collection") from None
    if not isinstance(data, dict) or data.get("d") != dimension or not isinstance(data.get("a"), str):
        raise QueryParameterError("nextPageToken", "not a page token of this collection")
    after: str = data["a"]
    return after
