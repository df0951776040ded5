"""Who may see what in the repositories system (DR Art. 38-39), and the API keys clients carry.

Each client (pharmacy, wholesaler, manufacturer, national authority) holds one
API key, sent as ``Authorization: Bearer KEY``. The store keeps only the key's
SHA-256, so a stolen database does not hand out working keys:

>>> key = new_api_key()
>>> key.startswith("fmd_") and len(key) > 40
True
>>> key_digest(key) == key_digest(key) and key_digest(key) != key
True

The data rules: every user may see the uploaded product data and the current
state of a pack, but owns — and alone may read — the data it generated (its
transactions, its audit entries). A manufacturer sees its own products only.
The national competent authority sees everything.

>>> from packtrail.fmd.model import Client, Role
>>> apo = Client("apo-1", Role.PHARMACY, "L1", "anna")
>>> mah = Client("mah-1", Role.MANUFACTURER, "M1", "ops")
>>> nca = Client("bfarm", Role.AUTHORITY, "BONN", "inspector")
>>> may_read_entry(apo, "apo-1"), may_read_entry(apo, "apo-2"), may_read_entry(nca, "apo-2")
(True, False, True)
>>> may_see_product(mah, "mah-1"), may_see_product(mah, "mah-2"), may_see_product(apo, "mah-2")
(True, False, True)

A client of another market reaches a national system through the hub as
``MARKET/client-id``; its own data stay its own:

>>> party_of(Client("DE/mah-1", Role.MANUFACTURER, "DE/M1", "ops"))
'mah-1'
"""

from __future__ import annotations

import hashlib
import secrets

from packtrail.fmd.model import Client, Role

__all__ = [
    "key_digest",
    "may_manage_alert",
    "may_read_alert",
    "may_read_entry",
    "may_see_product",
    "new_api_key",
    "party_of",
]


def new_api_key() -> str:
    """A fresh API key: ``fmd_`` and 43 URL-safe characters (256 random bits)."""
    return "fmd_" + secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    """The SHA-256 (hex) under which the store keeps an API key."""
    return hashlib.sha256(key.encode()).hexdigest()


def party_of(client: Client) -> str:
    """The party a client acts for: its id without the ``MARKET/`` prefix of an intermarket caller."""
    return client.client_id.rpartition("/")[2]


def may_see_product(client: Client, owner: str | None) -> bool:
    """A manufacturer sees only the products it owns; everyone else sees every product's packs."""
    if client.role is Role.MANUFACTURER:
        return owner is not None and owner == party_of(client)
    return True


def may_read_entry(client: Client, actor: str) -> bool:
    """An audit entry or transaction is readable by the client that generated it and by the authority."""
    return client.role is Role.AUTHORITY or actor == client.client_id


def may_read_alert(client: Client, raised_by: str, owner: str | None) -> bool:
    """An alert is seen by the authority, by the product's owner, and by the client whose transaction
    raised it."""
    if client.role is Role.AUTHORITY:
        return True
    if client.role is Role.MANUFACTURER:
        return owner is not None and owner == party_of(client)
    return raised_by == client.client_id


def may_manage_alert(client: Client, owner: str | None) -> bool:
    """An alert's status is moved by the authority (investigating for the NMVO) or the product's owner."""
    if client.role is Role.AUTHORITY:
        return True
    return client.role is Role.MANUFACTURER and owner is not None and owner == party_of(client)
