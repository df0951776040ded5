"""Run a SimpleEventQuery: one page of events, and an opaque token for the next.

:func:`run_query` answers an :class:`~packtrail.store.query_params.EventQuery` for a viewer, a page at
a time, as the EPCIS 2.0 REST binding pages (``perPage``, ``nextPageToken``, ``Link: …; rel="next"``):

- ``perPage`` defaults to 30 and may be at most 10,000 (:data:`MAX_PER_PAGE`);
- a page continues after the previous page's last sort key and ``event_pk`` (keyset pagination);
  the token also fixes the highest ``event_pk`` that existed when the first page was read, so a walk
  through the pages returns the events of that moment, each exactly once, however many captures
  commit meanwhile (capture allocates ``event_pk`` in commit order);
- the token is ``base64url(JSON) "." base64url(HMAC-SHA-256)``, signed with the store's
  ``store_settings`` row ``token_secret``; it names the query's digest and the viewer, so it is refused
  (:class:`~packtrail.store.errors.QueryParameterError` on ``nextPageToken``) when altered or used with
  another query or by another party;
- ``eventCountLimit`` stops the walk after that many events (the token counts them);
  ``maxEventCount`` raises :class:`~packtrail.store.errors.QueryTooLargeError` on the first page when
  more events match.

Events come back as stored (the captured JSON with ``recordTime`` and ``eventID``), with the union of
the namespaces their documents declared, for the response's ``@context``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from packtrail.store import schema
from packtrail.store.errors import ImplementationError, QueryParameterError, QueryTooLargeError
from packtrail.store.query_params import EventQuery, WithDescendants, place_spellings
from packtrail.store.query_sql import (
    MasterData,
    ViewerLike,
    count_select,
    lookup_master_data,
    page_select,
    sort_keys,
)

__all__ = ["DEFAULT_PER_PAGE", "MAX_PER_PAGE", "EventPage", "run_query"]

DEFAULT_PER_PAGE: Final = 30
"""Events per page when the caller gives no ``perPage`` (GS1 OpenAPI default)."""
MAX_PER_PAGE: Final = 10_000
"""The largest ``perPage`` accepted."""
TOKEN_VERSION: Final = 1
"""Format version written into every page token."""


@dataclass(frozen=True, slots=True)
class EventPage:
    """One page of a query's result."""

    events: list[dict[str, Any]]
    """The events, as stored (captured JSON plus ``recordTime`` and ``eventID``), in the query's order."""
    namespaces: dict[str, str]
    """prefix -> namespace URI declared by the documents the events came from (for ``@context``)."""
    next_page_token: str | None
    """Opaque token for the next page; None on the last page."""
    event_pks: list[int] = field(default_factory=list)
    """The events' ``event_pk`` (capture order numbers), parallel to ``events``: for subscriptions."""


# -- the signing key -------------------------------------------------------------------------------------

_KEYS: weakref.WeakKeyDictionary[Engine, bytes] = weakref.WeakKeyDictionary()


def _token_key(connection: Connection) -> bytes:
    """The store's token-signing key (from ``store_settings``), read once per engine."""
    engine = connection.engine
    key = _KEYS.get(engine)
    if key is None:
        table = schema.store_settings
        secret = connection.execute(
            sa.select(table.c.value).where(table.c.name == schema.TOKEN_SECRET_SETTING)
        ).scalar()
        if not secret:
            raise ImplementationError("the store has no token_secret setting (run the migrations)")
        key = hashlib.sha256(b"packtrail nextPageToken\x00" + str(secret).encode()).digest()
        _KEYS[engine] = key
    return key


# -- tokens ----------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _binding(query: EventQuery, viewer: ViewerLike) -> str:
    """What a token is bound to: the query's digest and the viewer."""
    return hashlib.sha256(f"{query.digest()}\x00{viewer.party or ''}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class _Cursor:
    upper_pk: int
    """The highest ``event_pk`` when the walk began."""
    after: list[Any]
    """The sort key (and ``event_pk``) of the last event returned."""
    returned: int
    """How many events the walk returned so far (for ``eventCountLimit``)."""


def _encode(key: bytes, binding: str, cursor: _Cursor) -> str:
    payload = orjson.dumps(
        {"v": TOKEN_VERSION, "b": binding, "u": cursor.upper_pk, "k": cursor.after, "n": cursor.returned}
    )
    signature = hmac.new(key, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


_BAD_TOKEN: Final = "expected a nextPageToken this repository issued for this query"


def _decode(key: bytes, binding: str, token: str, width: int) -> _Cursor:
    """The cursor in ``token``; QueryParameterError when it is malformed, forged or another query's."""
    try:
        text_payload, _, text_signature = token.partition(".")
        payload, signature = _unb64(text_payload), _unb64(text_signature)
    except (binascii.Error, ValueError, UnicodeError):
        raise QueryParameterError("nextPageToken", f"{_BAD_TOKEN} (not a token)") from None
    expected = hmac.new(key, payload, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise QueryParameterError("nextPageToken", f"{_BAD_TOKEN} (the signature does not match)")
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise QueryParameterError("nextPageToken", f"{_BAD_TOKEN} (unreadable cursor)")
    if data.get("v") != TOKEN_VERSION or data.get("b") != binding:
        raise QueryParameterError("nextPageToken", f"{_BAD_TOKEN} (it belongs to another query or party)")
    after, upper, returned = data.get("k"), data.get("u"), data.get("n")
    if (
        not isinstance(after, list)
        or len(after) != width
        or not isinstance(upper, int)
        or not isinstance(returned, int)
    ):
        raise QueryParameterError("nextPageToken", f"{_BAD_TOKEN} (unreadable cursor)")
    return _Cursor(upper, after, returned)


# -- the query -------------------------------------------------------------------------------------------


def _upper_pk(connection: Connection) -> int:
    """The last ``event_pk`` committed: the end of the snapshot a walk through the pages sees."""
    counters = schema.store_counters
    value = connection.execute(
        sa.select(counters.c.value).where(counters.c.name == schema.EVENT_PK_COUNTER)
    ).scalar()
    if value is None:
        value = connection.execute(sa.select(sa.func.max(schema.events.c.event_pk))).scalar()
    return int(value or 0)


_CONTEXTS: weakref.WeakKeyDictionary[Engine, dict[int, dict[str, str]]] = weakref.WeakKeyDictionary()
"""Per engine, ``namespaces_id`` -> the namespaces of that ``contexts`` row, as read: a committed row never
changes, so a page whose documents' namespaces were all read before costs no query for them."""
CONTEXTS_CACHED: Final = 10_000
"""The most ``contexts`` rows kept per engine (the cache starts again when full)."""


def _namespaces(connection: Connection, ids: set[int]) -> dict[str, str]:
    """The union of the namespaces of these ``contexts`` rows (the lowest ``namespaces_id`` wins a
    prefix), read from the database only for rows not read before."""
    if not ids:
        return {}
    known = _CONTEXTS.setdefault(connection.engine, {})
    missing = sorted(ids - known.keys())
    if missing:
        if len(known) + len(missing) > CONTEXTS_CACHED:
            known.clear()
            missing = sorted(ids)
        table = schema.contexts
        rows = connection.execute(
            sa.select(table.c.namespaces_id, table.c.namespaces).where(table.c.namespaces_id.in_(missing))
        )
        for namespaces_id, text in rows:
            known[int(namespaces_id)] = orjson.loads(text)
    merged: dict[str, str] = {}
    for namespaces_id in sorted(ids):
        for prefix, uri in known.get(namespaces_id, {}).items():
            merged.setdefault(prefix, uri)
    return merged


def _with_descendants(
    connection: Connection, query: EventQuery, descendants: Callable[[str, str], set[str]] | None
) -> MasterData:
    master = lookup_master_data(connection, query)
    if descendants is None:
        return master
    extra: dict[WithDescendants, tuple[str, ...]] = dict(master.descendants)
    for condition, found in master.descendants.items():
        below = {
            u
            for root in condition.roots
            for u in descendants("urn:epcglobal:epcis:vtype:BusinessLocation", root)
        }
        extra[condition] = tuple(sorted(set(found) | set(place_spellings(below))))
    return MasterData(extra, master.attribute_matches)


def run_query(
    connection: Connection,
    query: EventQuery,
    viewer: ViewerLike,
    *,
    per_page: int | None = None,
    page_token: str | None = None,
    descendants: Callable[[str, str], set[str]] | None = None,
) -> EventPage:
    """One page of the events ``viewer`` may see that match ``query``.

    ``per_page`` (default 30, at most 10,000) bounds the page; ``page_token`` is the previous page's
    ``next_page_token``. ``descendants(vocab_type, uri)``, when given, adds locations below each
    ``WD_`` root to those the master data tables give (they are read in any case).
    Raises QueryParameterError (``perPage``, ``nextPageToken``) and QueryTooLargeError (``maxEventCount``).
    """
    size = DEFAULT_PER_PAGE if per_page is None else per_page
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PER_PAGE:
        raise QueryParameterError(
            "perPage", f"expected an integer from 1 to {MAX_PER_PAGE}, got {per_page!r}"
        )
    master = _with_descendants(connection, query, descendants)
    width = len(sort_keys(query))
    binding = _binding(query, viewer)
    if page_token:
        cursor = _decode(_token_key(connection), binding, page_token, width)
    else:
        cursor = _Cursor(_upper_pk(connection), [], 0)
        if query.max_event_count is not None:
            cap = query.max_event_count + 1
            found = connection.execute(
                count_select(query, viewer, master, upper_pk=cursor.upper_pk, cap=cap)
            ).scalar()
            if (found or 0) > query.max_event_count:
                raise QueryTooLargeError(
                    f"more than maxEventCount={query.max_event_count} events match the query"
                )
    if query.event_count_limit is not None:
        size = min(size, query.event_count_limit - cursor.returned)
        if size <= 0:
            return EventPage([], {}, None)
    statement = page_select(
        query, viewer, master, upper_pk=cursor.upper_pk, after=cursor.after or None, limit=size + 1
    )
    rows = connection.execute(statement).all()
    more = len(rows) > size
    rows = rows[:size]
    events = [orjson.loads(row.document) for row in rows]
    namespaces = _namespaces(connection, {row.namespaces_id for row in rows if row.namespaces_id is not None})
    token = None
    returned = cursor.returned + len(rows)
    limit_left = query.event_count_limit is None or returned < query.event_count_limit
    if more and rows and limit_left:
        last = rows[-1]
        after = [last._mapping[f"k{i}"] for i in range(width)]
        token = _encode(_token_key(connection), binding, _Cursor(cursor.upper_pk, after, returned))
    return EventPage(events, namespaces, token, [int(row.event_pk) for row in rows])
