"""The classes of each event's EPCs, with its eventTime: one product's events in a week in one range.

``MATCH_epc=urn:epc:idpat:sgtin:CP.ITEM.*`` with a week of ``GE_``/``LT_eventTime`` and ``EQ_bizStep``
(a product's commissioning this week) was read from ``event_epcs``, where the pattern is a prefix range
over one row per pack of every event the product ever had (millions in a large store), or from the
week's events of the bizStep, all products together, each checked for the pattern. Neither is short.

``event_epc_classes`` holds, once per event, role and class, the class key of the event's EPCs
(:func:`packtrail.store.identifiers.epc_class_key`: ``urn:epc:id:sgtin:CP.ITEM.``, the URN up to the
serial), the event's eventTime and its bizStep, indexed as ``(epc_class, event_time_us, role, event_pk)``
and ``(epc_class, biz_step, event_time_us, role, event_pk)`` (a product's events in a week are mostly
its packs' dispensings; with ``EQ_bizStep=commissioning`` the second range holds only what is asked). A pattern
that stops within the class is the same prefix range over the class key
(:func:`~packtrail.store.identifiers.pattern_class_like`); the query's eventTime window and bizStep are
tested in the same index range, so a product's week is as many index entries as it has such events that week
(:func:`packtrail.store.query_sql.condition_clause`). A commissioning event of 20 packs of one product is
one row here and 20 in ``event_epcs``.

The upgrade fills the table from what is stored (``event_epcs`` joined with ``events``), in ranges of
``event_pk``, the class keys computed in Python (the same function capture uses). A large store takes a
while: about as long as reading its ``event_epcs`` once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from packtrail.store.identifiers import epc_class_key

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
BACKFILL_EVENTS = 50_000
"""Events read per step of the backfill."""

CLASSES = sa.table(
    "event_epc_classes",
    sa.column("event_pk", sa.BigInteger()),
    sa.column("role", sa.SmallInteger()),
    sa.column("epc_class", sa.Text()),
    sa.column("event_time_us", sa.BigInteger()),
    sa.column("biz_step", sa.Text()),
)


def _backfill(connection: sa.Connection) -> None:
    """One row per stored event, role and class key, from ``event_epcs`` and the events' eventTimes."""
    top = connection.exec_driver_sql("SELECT max(event_pk) FROM events").scalar()
    if top is None:
        return
    start = 0
    while start <= top:
        end = start + BACKFILL_EVENTS
        rows = connection.execute(
            sa.text(
                "SELECT e.event_pk, x.role, x.epc, e.event_time_us, e.biz_step FROM event_epcs AS x"
                " JOIN events AS e ON e.event_pk = x.event_pk"
                " WHERE x.event_pk >= :start AND x.event_pk < :end AND e.event_pk >= :start AND e.event_pk < :end"
            ),
            {"start": start, "end": end},
        )
        seen: set[tuple[int, int, str]] = set()
        batch: list[dict[str, object]] = []
        for event_pk, role, epc, event_time_us, biz_step in rows:
            key = epc_class_key(epc)
            if key is None or (event_pk, role, key) in seen:
                continue
            seen.add((event_pk, role, key))
            batch.append(
                {
                    "event_pk": event_pk,
                    "role": role,
                    "epc_class": key,
                    "event_time_us": event_time_us,
                    "biz_step": biz_step,
                }
            )
        if batch:
            connection.execute(CLASSES.insert(), batch)
        start = end


def upgrade() -> None:
    op.create_table(
        "event_epc_classes",
        sa.Column("event_pk", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.SmallInteger(), nullable=False),
        sa.Column("epc_class", KEY_TEXT, nullable=False),
        sa.Column("event_time_us", sa.BigInteger(), nullable=False),
        sa.Column("biz_step", KEY_TEXT),
    )
    _backfill(op.get_bind())
    op.create_index(
        "ix_event_epc_classes_value", "event_epc_classes", ["epc_class", "event_time_us", "role", "event_pk"]
    )
    op.create_index(
        "ix_event_epc_classes_step",
        "event_epc_classes",
        ["epc_class", "biz_step", "event_time_us", "role", "event_pk"],
    )
    op.create_index("ix_event_epc_classes_event_pk", "event_epc_classes", ["event_pk"])


def downgrade() -> None:
    op.drop_table("event_epc_classes")
