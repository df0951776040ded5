"""Repeat counter: how often a pack was asked again, at one location, for the state it is already in.

FiMVS answers the first three such repeats (a double scan: a second G120 at the same pharmacy) with a
warning and raises #A10 from the fourth on (reference §1.7 step 6, §2.4); the count must survive a
restart, so it is a table: one row per pack and location, holding the time of the pack's state change
the count belongs to (``since_us``: a new state change starts the count again) and the count.

This revision is frozen: it spells out its table rather than importing :mod:`packtrail.fmd.schema`.

Revision ID: fmd0002
Revises: fmd0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fmd0002"
down_revision: str | None = "fmd0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fmd_repeats",
        sa.Column("product_code", sa.Text(), primary_key=True),
        sa.Column("serial", sa.Text(), primary_key=True),
        sa.Column("location", sa.Text(), primary_key=True),
        sa.Column("since_us", sa.BigInteger(), nullable=False),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("fmd_repeats")
