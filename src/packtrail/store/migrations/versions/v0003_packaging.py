"""Packaging lines: the SSCC register (a counter per GS1 Company Prefix and extension digit, and every
allocation's range of serial references).

The tables of :mod:`packtrail.packaging.tables`, spelled out here (this revision is frozen; later
changes go in new revisions).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PK_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sscc_counters",
        sa.Column("company_prefix", sa.Text(), nullable=False),
        sa.Column("extension_digit", sa.Text(), nullable=False),
        sa.Column("last_reference", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("company_prefix", "extension_digit"),
    )
    op.create_table(
        "sscc_allocations",
        sa.Column("id", PK_BIGINT, primary_key=True, autoincrement=True),
        sa.Column("company_prefix", sa.Text(), nullable=False),
        sa.Column("extension_digit", sa.Text(), nullable=False),
        sa.Column("first_reference", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("to_gln", sa.Text(), nullable=True),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint(
            "company_prefix", "extension_digit", "first_reference", name="uq_sscc_allocations_range"
        ),
    )


def downgrade() -> None:
    op.drop_table("sscc_allocations")
    op.drop_table("sscc_counters")
