"""The containers among a container's children, found without reading the packs beside them.

When a capture reads a stored case or pallet, the lifecycle projector reads the containers inside it
(the cases on a pallet), but not the packs: an event that reaches packs only through their container is
applied to their rows in SQL (:mod:`packtrail.lifecycle.projector`). ``ix_lifecycle_items_containers``
holds ``parent`` of the rows that are containers only (a partial index), so that read is one short
index range however many packs share the parent.

From this revision a container's last event (``last_time_us``, ``last_pk``) is never earlier than that
of anything directly inside it (an event naming a pack in a case counts as an event of the case too):
an event that is late for a pack is then late for its case, which the projector sees without reading
the pack. A projection made before gets that bound here (each container's last event raised to its
latest child's); a rebuild (:func:`packtrail.lifecycle.rebuild`) gives the exact values.

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


BOUND_CONTAINERS = (
    "UPDATE lifecycle_items SET (last_time_us, last_pk) = ("
    " SELECT k.last_time_us, k.last_pk FROM lifecycle_items AS k WHERE k.parent = lifecycle_items.epc"
    " ORDER BY k.last_time_us DESC, k.last_pk DESC LIMIT 1)"
    " WHERE container AND EXISTS (SELECT 1 FROM lifecycle_items AS k WHERE k.parent = lifecycle_items.epc"
    " AND (k.last_time_us, k.last_pk) > (lifecycle_items.last_time_us, lifecycle_items.last_pk))"
)
"""A container's last event becomes that of what it holds, where that is later (see the docstring)."""


def upgrade() -> None:
    op.execute(BOUND_CONTAINERS)
    op.create_index(
        "ix_lifecycle_items_containers",
        "lifecycle_items",
        ["parent"],
        sqlite_where=sa.text("container"),
        postgresql_where=sa.text("container"),
    )


def downgrade() -> None:
    op.drop_index("ix_lifecycle_items_containers", table_name="lifecycle_items")
