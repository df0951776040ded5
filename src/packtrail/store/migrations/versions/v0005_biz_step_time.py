"""Indexes for ``EQ_bizStep`` within an eventTime window (commissioning this week, shipping yesterday).

Results come in capture order (``event_pk``), which follows eventTime closely without the planners
knowing it. What each backend is given to find one bizStep's events in a window:

- both: ``ix_events_biz_step`` becomes ``(biz_step, event_pk, event_time_us)`` (was ``(biz_step,
  event_pk)``): the same capture-order walk through one bizStep (a page walk stops after a page), now
  with the eventTime tested in the index, so events outside the window cost no table read. On
  PostgreSQL the walk starts in the window's first monthly partition (partition pruning), so a page of a
  week's commissioning is a short index range.
- SQLite only: ``ix_events_biz_step_time (biz_step, event_time_us, event_pk)``: the events of one
  bizStep in a narrow window, in one range, sorted afterwards. SQLite has no partitions, and a walk in
  ``event_pk`` order would start at the first event ever captured.
  :func:`packtrail.store.query_sql.plan_of` decides when a query starts from it (windows of <= 31 days).

On PostgreSQL an index on the partitioned ``events`` is built on every monthly partition, existing and
future. A large store takes a while: each index is one pass over ``events``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_events_biz_step", table_name="events")
    op.create_index("ix_events_biz_step", "events", ["biz_step", "event_pk", "event_time_us"])
    if op.get_bind().dialect.name == "sqlite":
        op.create_index("ix_events_biz_step_time", "events", ["biz_step", "event_time_us", "event_pk"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_events_biz_step_time", table_name="events")
    op.drop_index("ix_events_biz_step", table_name="events")
    op.create_index("ix_events_biz_step", "events", ["biz_step", "event_pk"])
