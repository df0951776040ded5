"""``event_epcs`` carries each event's eventTime, and PostgreSQL's ``ix_event_epcs_value`` includes it.

On PostgreSQL ``events`` is partitioned by eventTime (one partition a month) and its primary key is
``(event_pk, event_time_us)``. An EPC's events (``/epcs/{epc}/events``, ``MATCH_anyEPC``) were found in
``event_epcs`` by value and then fetched by ``event_pk`` alone: every partition's primary key probed for
every event, 13 index probes each in a store holding a year, most of them reads of pages no other query
keeps in memory. With the eventTime in the index entry (``INCLUDE``: the index-only scan hands it out) the
events are fetched by ``(event_pk, event_time_us)`` and execution-time partition pruning leaves one probe
each (:func:`packtrail.store.query_sql.condition_clause`).

The upgrade adds the column (nullable: capture always fills it, this fills what is stored), sets it from
``events`` in ranges of ``event_pk`` and, on PostgreSQL, builds the value index again with the column
included. SQLite (no partitions) keeps its index as it was. A large store takes a while: one pass over
its ``event_epcs``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_EVENTS = 200_000
"""Events whose EPC rows one statement of the backfill sets."""


def _backfill(connection: sa.Connection) -> None:
    """Set ``event_epcs.event_time_us`` from ``events``, one range of ``event_pk`` at a time."""
    top = connection.exec_driver_sql("SELECT max(event_pk) FROM event_epcs").scalar()
    if top is None:
        return
    if connection.dialect.name == "postgresql":
        statement = sa.text(
            "UPDATE event_epcs AS x SET event_time_us = e.event_time_us FROM events AS e"
            " WHERE e.event_pk = x.event_pk AND x.event_pk >= :start AND x.event_pk < :end"
            " AND e.event_pk >= :start AND e.event_pk < :end"
        )
    else:
        statement = sa.text(
            "UPDATE event_epcs SET event_time_us ="
            " (SELECT e.event_time_us FROM events AS e WHERE e.event_pk = event_epcs.event_pk)"
            " WHERE event_pk >= :start AND event_pk < :end"
        )
    start = 0
    while start <= top:
        connection.execute(statement, {"start": start, "end": start + BACKFILL_EVENTS})
        start += BACKFILL_EVENTS


def upgrade() -> None:
    op.add_column("event_epcs", sa.Column("event_time_us", sa.BigInteger()))
    _backfill(op.get_bind())
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_event_epcs_value")
        op.create_index(
            "ix_event_epcs_value", "event_epcs", ["epc", "event_pk"], postgresql_include=["event_time_us"]
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_event_epcs_value", table_name="event_epcs")
        op.create_index("ix_event_epcs_value", "event_epcs", ["epc", "event_pk"])
    op.drop_column("event_epcs", "event_time_us")
