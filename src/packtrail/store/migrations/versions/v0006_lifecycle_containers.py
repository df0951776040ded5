"""The containers among a container's children, found without reading the packs beside them.

When a capture reads a stored case or pallet, the lifecycle projector reads the containers inside it
(the cases on a pallet), but not the packs: an event that reaches packs only through their container is
applied to their rows in SQL (:mod:`packtrail.lifecycle.projector`). ``ix_lifecycle_items_containers``
holds ``parent`` of the rows that are containers only (a partial index), so that read is one short
index range however many packs share the parent.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_lifecycle_items_containers",
        "lifecycle_items",
        ["parent"],
        sqlite_where=sa.text("container"),
        postgresql_where=sa.text("container"),
    )


def downgrade() -> None:
    op.drop_index("ix_lifecycle_items_containers", table_name="lifecycle_items")
