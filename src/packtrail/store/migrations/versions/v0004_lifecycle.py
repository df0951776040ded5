"""The lifecycle projection: each identifier's current state, parent and owner; inconsistent events.

The tables of :mod:`packtrail.lifecycle.tables`, spelled out here (this revision is frozen; later
changes go in new revisions). ``lifecycle_meta.projected_through`` starts at 0: a store that already
holds events is projected from its first event by the first capture (or trace) with the lifecycle
projector attached.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
FILLFACTOR = 60
"""PostgreSQL: room left on each page of ``lifecycle_items`` so that most updates (state, owner, location
change; the indexed identifier, parent, GTIN and lot do not) are heap-only: no index is touched."""


def upgrade() -> None:
    op.create_table(
        "lifecycle_items",
        sa.Column("epc", KEY_TEXT, nullable=False),
        sa.Column("gtin", sa.Text(), nullable=True),
        sa.Column("lot", sa.Text(), nullable=True),
        sa.Column("expiry", sa.Text(), nullable=True),
        sa.Column("commissioned_pk", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("state_pk", sa.BigInteger(), nullable=True),
        sa.Column("disposition", sa.Text(), nullable=True),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.Column("custodian", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("parent", KEY_TEXT, nullable=True),
        sa.Column("parent_pk", sa.BigInteger(), nullable=True),
        sa.Column("last_time_us", sa.BigInteger(), nullable=False),
        sa.Column("last_pk", sa.BigInteger(), nullable=False),
        sa.Column("container", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("epc"),
        postgresql_with={"fillfactor": FILLFACTOR},
    )
    op.create_index("ix_lifecycle_items_parent", "lifecycle_items", ["parent"])
    op.create_index("ix_lifecycle_items_lot", "lifecycle_items", ["gtin", "lot"])
    op.create_table(
        "lifecycle_exceptions",
        sa.Column("epc", KEY_TEXT, nullable=False),
        sa.Column("event_pk", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("conflicting_pk", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("epc", "event_pk", "reason"),
    )
    meta = op.create_table(
        "lifecycle_meta",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(meta, [{"name": "projected_through", "value": 0}])


def downgrade() -> None:
    op.drop_table("lifecycle_meta")
    op.drop_table("lifecycle_exceptions")
    op.drop_index("ix_lifecycle_items_lot", table_name="lifecycle_items")
    op.drop_index("ix_lifecycle_items_parent", table_name="lifecycle_items")
    op.drop_table("lifecycle_items")
