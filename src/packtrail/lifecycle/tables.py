"""The tables of the lifecycle projection (SQLAlchemy Core), in the store's database.

The Alembic revision ``v0004_lifecycle`` of :mod:`packtrail.store.migrations` creates them when a store
is opened; this module describes them for the code that reads and writes them.

- ``lifecycle_items``: one row per identifier ever named by an event (a pack's SGTIN, a case's or
  pallet's SSCC, any other instance-level EPC), in canonical EPC URN form: its current state
  (``commissioned``, ``packed``, ``in_transit``, ``received``, ``dispensed``, ``decommissioned`` with a
  ``reason``, ``destroyed``, ``recalled``, ``suspect``), its last disposition, owner and custodian (party
  GLNs), location (the bizLocation, canonical SGLN), current parent container, lot and expiry (from the
  ILMD of its commissioning) and the ``(eventTime, event_pk)`` of the last event that applied to it;
  ``container`` once anything was put inside it. The children of a container are the rows whose
  ``parent`` is the container (index ``parent``; the partial index ``ix_lifecycle_items_containers``
  holds the containers among them only); the hierarchy's history is in the events themselves.
- ``lifecycle_exceptions``: an event stored as captured but inconsistent with what came before it in
  eventTime order, per identifier: ``reason`` (one of :data:`packtrail.lifecycle.rules.EXCEPTION_REASONS`)
  and the ``conflicting_pk`` of the earlier event it contradicts (when there is one).
- ``lifecycle_meta``: row ``projected_through``: the last ``event_pk`` the projection has applied. A store
  that captured without the projector attached is caught up from there.

>>> sorted(metadata.tables)
['lifecycle_exceptions', 'lifecycle_items', 'lifecycle_meta']
>>> ITEM_COLUMNS[:3]
('epc', 'gtin', 'lot')
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

__all__ = [
    "CREATE_CHANGES",
    "EXCEPTION_COLUMNS",
    "ITEM_COLUMNS",
    "PROJECTED_THROUGH",
    "lifecycle_changes",
    "lifecycle_exceptions",
    "lifecycle_items",
    "lifecycle_meta",
    "metadata",
]

metadata: Final = sa.MetaData()

KEY_TEXT: Final = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
"""Identifiers compare byte by byte on both backends (PostgreSQL: ``COLLATE "C"``)."""

PROJECTED_THROUGH: Final = "projected_through"
"""The ``lifecycle_meta`` row holding the last event_pk the projection applied."""

lifecycle_items: Final = sa.Table(
    "lifecycle_items",
    metadata,
    sa.Column("epc", KEY_TEXT, primary_key=True),
    sa.Column("gtin", sa.Text),
    sa.Column("lot", sa.Text),
    sa.Column("expiry", sa.Text),
    sa.Column("commissioned_pk", sa.BigInteger),
    sa.Column("state", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("state_pk", sa.BigInteger),
    sa.Column("disposition", sa.Text),
    sa.Column("owner", sa.Text),
    sa.Column("custodian", sa.Text),
    sa.Column("location", sa.Text),
    sa.Column("parent", KEY_TEXT),
    sa.Column("parent_pk", sa.BigInteger),
    sa.Column("last_time_us", sa.BigInteger, nullable=False),
    sa.Column("last_pk", sa.BigInteger, nullable=False),
    sa.Column("container", sa.Boolean, nullable=False),
    sa.Index("ix_lifecycle_items_parent", "parent"),
    sa.Index("ix_lifecycle_items_lot", "gtin", "lot"),
    sa.Index(
        "ix_lifecycle_items_containers",
        "parent",
        sqlite_where=sa.text("container"),
        postgresql_where=sa.text("container"),
    ),
)
"""Each identifier's current position (see the module docstring)."""

lifecycle_exceptions: Final = sa.Table(
    "lifecycle_exceptions",
    metadata,
    sa.Column("epc", KEY_TEXT, nullable=False),
    sa.Column("event_pk", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("conflicting_pk", sa.BigInteger),
    sa.PrimaryKeyConstraint("epc", "event_pk", "reason"),
)
"""Inconsistent events, per identifier (see the module docstring)."""

lifecycle_meta: Final = sa.Table(
    "lifecycle_meta",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)
"""Counters of the projection (row :data:`PROJECTED_THROUGH`)."""

lifecycle_changes: Final = sa.Table(
    "lifecycle_changes",
    sa.MetaData(),  # not in ``metadata``: a temporary table of each PostgreSQL session (see below)
    *(sa.Column(c.name, c.type) for c in lifecycle_items.columns),
)
"""PostgreSQL: the items one capture rewrites, copied (binary COPY) into a session's temporary table
and applied with one ``UPDATE … FROM`` (:meth:`packtrail.lifecycle.db.Db.update_items`)."""

CREATE_CHANGES: Final = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS lifecycle_changes (LIKE lifecycle_items) ON COMMIT DELETE ROWS"
)
"""The statement that makes :data:`lifecycle_changes` in a session (a no-op once it exists)."""

ITEM_COLUMNS: Final = tuple(str(c.name) for c in lifecycle_items.columns)
"""``lifecycle_items`` columns in table order (the order of :class:`~packtrail.lifecycle.replay.Item`)."""
EXCEPTION_COLUMNS: Final = ("epc", "event_pk", "reason", "conflicting_pk")
"""``lifecycle_exceptions`` columns in table order."""
