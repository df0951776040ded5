"""The tables of serial number management (SQLAlchemy Core), in the store's database.

The Alembic revision ``v0002_serials`` of :mod:`packtrail.store.migrations` creates them when a store
is opened; this module describes them for the code that reads and writes them.

- ``serial_pools``: one per GTIN and policy (alphabet, length); an allocation draws from one pool.
- ``serial_allocations``: one per allocation: which GTIN and pool, how many serials, to whom (the GLN
  of a packaging line or a contract packager), how many came back unused.
- ``serials``: every serial ever issued, primary key ``(gtin, serial)``: a serial is unique per GTIN
  forever, across pools, allocations and restarts. Rows are never deleted; a returned serial keeps its
  row with status ``returned`` and is never issued again. On SQLite the table is ``WITHOUT ROWID`` (one
  B-tree, keyed by the primary key); on PostgreSQL the text columns use the ``"C"`` collation (byte
  order: fast comparisons, and case-sensitive like every serial comparison in the supply chain).

>>> sorted(metadata.tables)
['serial_allocations', 'serial_pools', 'serials']
>>> [c.name for c in serials.primary_key.columns]
['gtin', 'serial']
>>> SerialStatus.RETURNED.name.lower(), int(SerialStatus.RETURNED)
('returned', 2)
"""

from __future__ import annotations

import enum

import sqlalchemy as sa

__all__ = ["SerialStatus", "metadata", "serial_allocations", "serial_pools", "serials"]

metadata = sa.MetaData()

PK_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""An auto-numbered key: BIGINT identity on PostgreSQL, the rowid alias on SQLite."""

KEY_TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
"""Text compared byte by byte (PostgreSQL ``COLLATE "C"``; SQLite's default ``BINARY`` already is)."""


class SerialStatus(enum.IntEnum):
    """Where an issued serial stands (``serials.status``)."""

    ALLOCATED = 1
    """Issued to a packaging line or contract packager; may be printed on a pack."""
    RETURNED = 2
    """Sent back unused. It stays burned: never issued again for the GTIN."""


serial_pools = sa.Table(
    "serial_pools",
    metadata,
    sa.Column("id", PK_BIGINT, primary_key=True, autoincrement=True),
    sa.Column("gtin", sa.Text, nullable=False),
    sa.Column("alphabet", sa.Text, nullable=False),
    sa.Column("length", sa.SmallInteger, nullable=False),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("gtin", "alphabet", "length", name="uq_serial_pools_policy"),
)
"""Pools: one per GTIN (14 digits) and policy (alphabet in GS1 character set 82 order, length 1-20)."""

serial_allocations = sa.Table(
    "serial_allocations",
    metadata,
    sa.Column("id", PK_BIGINT, primary_key=True, autoincrement=True),
    sa.Column("gtin", sa.Text, nullable=False),
    sa.Column("pool_id", sa.BigInteger, sa.ForeignKey("serial_pools.id"), nullable=False),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("to_gln", sa.Text, nullable=True),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("returned_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Index("ix_serial_allocations_gtin", "gtin", "to_gln"),
)
"""Allocations: ``count`` serials of ``gtin`` from ``pool_id`` to the party ``to_gln`` (NULL: not
assigned to a party), of which ``returned_count`` came back unused."""

serials = sa.Table(
    "serials",
    metadata,
    sa.Column("gtin", KEY_TEXT, primary_key=True),
    sa.Column("serial", KEY_TEXT, primary_key=True),
    sa.Column("pool_id", sa.BigInteger, nullable=False),
    sa.Column("status", sa.SmallInteger, nullable=False),
    sa.Column("allocation_id", sa.BigInteger, nullable=False),
    sqlite_with_rowid=False,
)
"""Every serial ever issued; ``status`` is a :class:`SerialStatus`. No foreign keys (bulk inserts of a
million rows stay one B-tree write each); the service writes the rows with their allocation."""
