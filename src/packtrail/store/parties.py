"""Who may see what: trading parties (by GLN), their API keys, and the visibility of events.

A party is a trading partner identified by its 13-digit GLN. Each API key is bound to one party; the
repository keeps only the key's SHA-256, so a key is shown once, when it is made:

>>> key = new_key()
>>> len(key) >= 43 and key_hash(key) != key and len(key_hash(key)) == 64
True

A :class:`Viewer` is who is asking. The local administrator (``Viewer.admin()``, ``party=None``)
sees everything; a party sees an event when ``event_visibility`` has the row (party, event_pk): it
captured the event, it is the owning or possessing party in the event's sourceList/destinationList, or
someone who could see the event shared it with the party.

>>> Viewer.admin().is_admin, Viewer("4012345000009").is_admin
(True, False)
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from packtrail.gs1 import GLN, GS1Error
from packtrail.store import schema
from packtrail.store.errors import StoreError

__all__ = [
    "Party",
    "Viewer",
    "add_party",
    "checked_gln",
    "get_party",
    "key_hash",
    "list_parties",
    "new_api_key",
    "new_key",
    "party_for_api_key",
    "revoke_api_key",
    "share",
    "visible_pks",
]

KEY_BYTES: Final = 32
"""Random bytes in an API key (256 bits), written URL-safe base64 (43 characters)."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who asks: a party by its GLN, or the local administrator (``party=None``), who sees everything."""

    party: str | None
    """The 13-digit GLN of the authenticated party; None for the local administrator."""

    @classmethod
    def admin(cls) -> Viewer:
        """The local administrator: command-line use on the node itself; sees every event."""
        return cls(None)

    @property
    def is_admin(self) -> bool:
        """True for the local administrator."""
        return self.party is None


@dataclass(frozen=True, slots=True)
class Party:
    """A trading partner known to this node."""

    gln: str
    """Its 13-digit Global Location Number."""
    name: str
    """Its name, for people."""
    created_at_us: int
    """When it was registered (microseconds since 1970, UTC)."""


def checked_gln(gln: str) -> str:
    """``gln`` when it is a valid 13-digit GLN, else :class:`StoreError` saying why.

    >>> checked_gln("4012345000009")
    '4012345000009'
    >>> checked_gln("4012345000008")
    Traceback (most recent call last):
    ...
    packtrail.store.errors.StoreError: party GLN '4012345000008': ...
    """
    try:
        return GLN.parse(gln.strip()).value
    except GS1Error as exc:
        raise StoreError(f"party GLN {gln!r}: {exc}") from None


def new_key() -> str:
    """A new random API key (URL-safe text, 256 bits), never starting with ``-``: a key is passed on
    command lines (``packtrail parties revoke KEY``), where a leading ``-`` reads as an option."""
    while True:
        key = secrets.token_urlsafe(KEY_BYTES)
        if not key.startswith("-"):
            return key


def key_hash(key: str) -> str:
    """The SHA-256 (hex) under which an API key is stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def add_party(connection: Connection, gln: str, name: str, now_us: int) -> str:
    """Register a party (or rename a known one) and make it a new API key, returned once."""
    gln = checked_gln(gln)
    if not name.strip():
        raise StoreError(f"party {gln}: a name is needed")
    table = schema.parties
    updated = connection.execute(table.update().where(table.c.gln == gln).values(name=name))
    if updated.rowcount == 0:
        connection.execute(table.insert().values(gln=gln, name=name, created_at_us=now_us))
    return new_api_key(connection, gln, "initial", now_us)


def new_api_key(connection: Connection, gln: str, label: str | None, now_us: int) -> str:
    """A new API key for the registered party ``gln`` (its hash is stored, the key returned once)."""
    gln = checked_gln(gln)
    if get_party(connection, gln) is None:
        raise StoreError(f"party {gln} is not registered: add it first")
    key = new_key()
    connection.execute(
        schema.api_keys.insert().values(
            key_hash=key_hash(key), party_gln=gln, label=label, created_at_us=now_us
        )
    )
    return key


def revoke_api_key(connection: Connection, key: str, now_us: int) -> bool:
    """Revoke an API key; False when no such (unrevoked) key exists."""
    table = schema.api_keys
    result = connection.execute(
        table.update()
        .where(table.c.key_hash == key_hash(key), table.c.revoked_at_us.is_(None))
        .values(revoked_at_us=now_us)
    )
    return result.rowcount > 0


def get_party(connection: Connection, gln: str) -> Party | None:
    """The registered party with this GLN, or None."""
    row = connection.execute(sa.select(schema.parties).where(schema.parties.c.gln == gln)).first()
    return None if row is None else Party(row.gln, row.name, row.created_at_us)


def list_parties(connection: Connection) -> list[Party]:
    """Every registered party, by GLN."""
    rows = connection.execute(sa.select(schema.parties).order_by(schema.parties.c.gln))
    return [Party(row.gln, row.name, row.created_at_us) for row in rows]


def party_for_api_key(connection: Connection, key: str) -> Party | None:
    """The party an API key belongs to; None for an unknown or revoked key."""
    keys, parties = schema.api_keys, schema.parties
    row = connection.execute(
        sa.select(parties)
        .join(keys, keys.c.party_gln == parties.c.gln)
        .where(keys.c.key_hash == key_hash(key), keys.c.revoked_at_us.is_(None))
    ).first()
    return None if row is None else Party(row.gln, row.name, row.created_at_us)


def visible_pks(connection: Connection, event_ids: Sequence[str], viewer: Viewer) -> list[int]:
    """The event_pks of the events with these eventIDs that ``viewer`` may see (found in ``event_keys``,
    where capture keeps every eventID)."""
    keys, visibility = schema.event_keys, schema.event_visibility
    found: list[int] = []
    for start in range(0, len(event_ids), 500):
        chunk = list(event_ids[start : start + 500])
        query = sa.select(keys.c.event_pk).where(keys.c.event_id.in_(schema.event_id_keys(chunk)))
        if viewer.party is not None:
            query = query.where(
                sa.exists().where(
                    visibility.c.event_pk == keys.c.event_pk, visibility.c.party == viewer.party
                )
            )
        found.extend(row[0] for row in connection.execute(query))
    return found


def share(connection: Connection, event_ids: Iterable[str], party: str, viewer: Viewer) -> int:
    """Let ``party`` see the events with these eventIDs that ``viewer`` may see; returns the rows added
    (events it could already see are not counted)."""
    party = checked_gln(party)
    pks = sorted(set(visible_pks(connection, list(dict.fromkeys(event_ids)), viewer)))
    if not pks:
        return 0
    visibility = schema.event_visibility
    already: set[int] = set()
    for start in range(0, len(pks), 500):
        chunk = pks[start : start + 500]
        already.update(
            row[0]
            for row in connection.execute(
                sa.select(visibility.c.event_pk).where(
                    visibility.c.party == party, visibility.c.event_pk.in_(chunk)
                )
            )
        )
    rows = [{"party": party, "event_pk": pk} for pk in pks if pk not in already]
    if rows:
        connection.execute(visibility.insert(), rows)
    return len(rows)
