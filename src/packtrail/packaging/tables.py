"""The tables of the packaging line (SQLAlchemy Core), in the store's database.

The Alembic revision ``v0003_packaging`` of :mod:`packtrail.store.migrations` creates them when a
store is opened; this module describes them for the code that reads and writes them.

- ``sscc_counters``: per GS1 Company Prefix and extension digit, the last serial reference issued.
  Allocation moves it forward in one atomic ``INSERT … ON CONFLICT DO UPDATE … RETURNING``; it never
  moves back, so an SSCC is never issued twice, across lines, processes and restarts.
- ``sscc_allocations``: one row per allocation: the range of serial references it took (``first_reference``
  and ``count``), for whom (the GLN of a packaging line or packer) and when. The ranges of one prefix and
  extension digit never overlap.

>>> sorted(metadata.tables)
['sscc_allocations', 'sscc_counters']
>>> [c.name for c in sscc_counters.primary_key.columns]
['company_prefix', 'extension_digit']
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["metadata", "sscc_allocations", "sscc_counters"]

metadata = sa.MetaData()

PK_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""An auto-numbered key: BIGINT on PostgreSQL, the rowid alias on SQLite."""

sscc_counters = sa.Table(
    "sscc_counters",
    metadata,
    sa.Column("company_prefix", sa.Text, primary_key=True),
    sa.Column("extension_digit", sa.Text, primary_key=True),
    sa.Column("last_reference", sa.BigInteger, nullable=False),
)
"""The last serial reference issued per GS1 Company Prefix (6-12 digits) and extension digit (0-9)."""

sscc_allocations = sa.Table(
    "sscc_allocations",
    metadata,
    sa.Column("id", PK_BIGINT, primary_key=True, autoincrement=True),
    sa.Column("company_prefix", sa.Text, nullable=False),
    sa.Column("extension_digit", sa.Text, nullable=False),
    sa.Column("first_reference", sa.BigInteger, nullable=False),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("to_gln", sa.Text, nullable=True),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.UniqueConstraint(
        "company_prefix", "extension_digit", "first_reference", name="uq_sscc_allocations_range"
    ),
)
"""SSCC allocations: serial references ``first_reference`` … ``first_reference + count - 1`` of the
prefix and extension digit, issued to ``to_gln`` (NULL: to no party in particular)."""
