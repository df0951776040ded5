"""Serial number management: pools, allocations and every serial ever issued per GTIN.

The tables of :mod:`packtrail.serials.tables`, spelled out here (this revision is frozen; later changes
go in new revisions). ``serials`` has primary key ``(gtin, serial)``: a serial is unique per GTIN
forever. On SQLite it is ``WITHOUT ROWID``; on PostgreSQL its text columns use ``COLLATE "C"``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PK_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KEY_TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "serial_pools",
        sa.Column("id", PK_BIGINT, primary_key=True, autoincrement=True),
        sa.Column("gtin", sa.Text(), nullable=False),
        sa.Column("alphabet", sa.Text(), nullable=False),
        sa.Column("length", sa.SmallInteger(), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("gtin", "alphabet", "length", name="uq_serial_pools_policy"),
    )
    op.create_table(
        "serial_allocations",
        sa.Column("id", PK_BIGINT, primary_key=True, autoincrement=True),
        sa.Column("gtin", sa.Text(), nullable=False),
        sa.Column("pool_id", sa.BigInteger(), sa.ForeignKey("serial_pools.id"), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("to_gln", sa.Text(), nullable=True),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.Column("returned_count", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_index("ix_serial_allocations_gtin", "serial_allocations", ["gtin", "to_gln"])
    op.create_table(
        "serials",
        sa.Column("gtin", KEY_TEXT, nullable=False),
        sa.Column("serial", KEY_TEXT, nullable=False),
        sa.Column("pool_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("allocation_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("gtin", "serial"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("serials")
    op.drop_index("ix_serial_allocations_gtin", table_name="serial_allocations")
    op.drop_table("serial_allocations")
    op.drop_table("serial_pools")
