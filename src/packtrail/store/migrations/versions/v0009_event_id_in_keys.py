"""An eventID is looked up in ``event_keys`` only: ``events`` loses its ``ix_events_event_id``.

``event_keys`` holds every stored event's eventID already (unique: it is how capture finds duplicates),
so ``ix_events_event_id`` was a second B-tree over the same random UUIDs that every captured event paid
for (on SQLite ~0.4 s per 100,000 events, a fifth of the ``events`` insert). ``GET /events/{eventID}``,
``EQ_eventID`` and the sharing of events by eventID now find the ``event_pk`` in ``event_keys``
(the eventID itself and, for an error declaration that repeats it, the eventID with
:data:`~packtrail.store.schema.DECLARATION_KEY`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_events_event_id", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_event_id", "events", ["event_id"])
