"""The EPCIS repository, first schema: events, index tables, keys, master data, parties, jobs, outbox,
named queries and subscriptions.

On PostgreSQL ``events`` is ``PARTITION BY RANGE (event_time_us)`` with primary key
``(event_pk, event_time_us)`` and a default partition ``events_default``; monthly partitions are added on
demand by :mod:`packtrail.store.partitions`. This revision is frozen: it spells out its tables rather than
importing :mod:`packtrail.store.schema`, so later schema changes go in new revisions.

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PK_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def text() -> sa.types.TypeEngine[str]:
    """Text compared byte by byte on both backends: SQLite's BINARY, PostgreSQL's ``COLLATE "C"``
    (whatever the database's default collation), so that ORDER BY, keyset pagination and the prefix
    ranges of ``MATCH_`` queries mean the same everywhere, and index comparisons skip the locale."""
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def _index_table(name: str, *columns: sa.Column[object], value: Sequence[str]) -> None:
    """A per-event index table: ``event_pk`` + columns; indexes (value..., event_pk) and (event_pk)."""
    op.create_table(name, sa.Column("event_pk", sa.BigInteger(), nullable=False), *columns)
    op.create_index(f"ix_{name}_value", name, [*value, "event_pk"])
    op.create_index(f"ix_{name}_event_pk", name, ["event_pk"])


def _events(postgres: bool) -> None:
    partitioning: dict[str, Any] = {"postgresql_partition_by": "RANGE (event_time_us)"} if postgres else {}
    op.create_table(
        "events",
        sa.Column("event_pk", PK_BIGINT, autoincrement=False, nullable=False),
        sa.Column("event_time_us", sa.BigInteger(), nullable=False),
        sa.Column("event_tz", text(), nullable=False),
        sa.Column("record_time_us", sa.BigInteger(), nullable=False),
        sa.Column("event_type", text(), nullable=False),
        sa.Column("action", text()),
        sa.Column("biz_step", text()),
        sa.Column("disposition", text()),
        sa.Column("read_point", text()),
        sa.Column("biz_location", text()),
        sa.Column("transformation_id", text()),
        sa.Column("event_id", text(), nullable=False),
        sa.Column("event_hash", text(), nullable=False),
        sa.Column("capture_id", text(), nullable=False),
        sa.Column("captured_by", text()),
        sa.Column("dist_key", sa.Integer(), nullable=False),
        sa.Column("namespaces_id", sa.Integer()),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint(*(("event_pk", "event_time_us") if postgres else ("event_pk",))),
        **partitioning,
    )
    if postgres:
        op.execute("CREATE TABLE events_default PARTITION OF events DEFAULT")
    for name, columns in (
        ("event_time", ["event_time_us", "event_pk"]),
        ("record_time", ["record_time_us", "event_pk"]),
        ("biz_step", ["biz_step", "event_pk"]),
        ("disposition", ["disposition", "event_pk"]),
        ("read_point", ["read_point", "event_pk"]),
        ("biz_location", ["biz_location", "event_pk"]),
        ("event_type", ["event_type", "event_pk"]),
        ("event_id", ["event_id"]),
    ):
        op.create_index(f"ix_events_{name}", "events", columns)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    counters = op.create_table(
        "store_counters",
        sa.Column("name", text(), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    settings = op.create_table(
        "store_settings",
        sa.Column("name", text(), primary_key=True),
        sa.Column("value", text(), nullable=False),
    )
    _events(postgres)
    op.create_table(
        "event_keys",
        sa.Column("event_hash", text(), primary_key=True),
        sa.Column("event_id", text(), nullable=False, unique=True),
        sa.Column("event_pk", sa.BigInteger(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "contexts",
        sa.Column("namespaces_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("digest", text(), nullable=False, unique=True),
        sa.Column("namespaces", text(), nullable=False),
    )
    small, big, flt = sa.SmallInteger, sa.BigInteger, sa.Float
    _index_table(
        "event_epcs",
        sa.Column("role", small(), nullable=False),
        sa.Column("epc", text(), nullable=False),
        value=["epc"],
    )
    _index_table(
        "event_quantities",
        sa.Column("role", small(), nullable=False),
        sa.Column("epc_class", text(), nullable=False),
        sa.Column("quantity", flt()),
        sa.Column("uom", text()),
        value=["epc_class"],
    )
    _index_table(
        "event_biz_transactions",
        sa.Column("type", text(), nullable=False),
        sa.Column("value", text(), nullable=False),
        value=["value"],
    )
    _index_table(
        "event_parties",
        sa.Column("kind", small(), nullable=False),
        sa.Column("type", text(), nullable=False),
        sa.Column("value", text(), nullable=False),
        value=["value"],
    )
    op.create_table(
        "event_fields",
        sa.Column("event_pk", big(), nullable=False),
        sa.Column("section", text(), nullable=False),
        sa.Column("name", text(), nullable=False),
        sa.Column("depth", small(), nullable=False),
        sa.Column("value_text", text()),
        sa.Column("value_num", flt()),
        sa.Column("value_time_us", big()),
    )
    op.create_index("ix_event_fields_text", "event_fields", ["name", "value_text", "event_pk"])
    op.create_index("ix_event_fields_num", "event_fields", ["name", "value_num", "event_pk"])
    op.create_index("ix_event_fields_time", "event_fields", ["name", "value_time_us", "event_pk"])
    op.create_index("ix_event_fields_event_pk", "event_fields", ["event_pk"])
    sensor_text = (
        "device_id",
        "device_metadata",
        "raw_data",
        "data_processing_method",
        "biz_rules",
    )
    sensor_after = (
        ("type", text),
        ("exception", text),
        ("microorganism", text),
        ("chemical_substance", text),
        ("component", text),
        ("string_value", text),
        ("boolean_value", sa.Boolean),
        ("hex_binary_value", text),
        ("uri_value", text),
        ("value", flt),
        ("min_value", flt),
        ("max_value", flt),
        ("mean_value", flt),
        ("s_dev", flt),
        ("perc_rank", flt),
        ("perc_value", flt),
        ("uom", text),
        ("coordinate_reference_system", text),
    )
    op.create_table(
        "event_sensor",
        sa.Column("event_pk", big(), nullable=False),
        sa.Column("element_idx", small()),
        sa.Column("report_idx", small()),
        *(sa.Column(name, text()) for name in sensor_text),
        sa.Column("time_us", big()),
        sa.Column("start_time_us", big()),
        sa.Column("end_time_us", big()),
        *(sa.Column(name, kind()) for name, kind in sensor_after),
    )
    op.create_index("ix_event_sensor_type", "event_sensor", ["type", "event_pk"])
    op.create_index("ix_event_sensor_device_id", "event_sensor", ["device_id", "event_pk"])
    op.create_index("ix_event_sensor_event_pk", "event_sensor", ["event_pk"])
    _index_table(
        "event_errors",
        sa.Column("declaration_time_us", big(), nullable=False),
        sa.Column("reason", text()),
        value=["declaration_time_us"],
    )
    _index_table(
        "event_corrective_ids",
        sa.Column("corrective_event_id", text(), nullable=False),
        value=["corrective_event_id"],
    )
    _index_table(
        "event_persistent_dispositions",
        sa.Column("kind", small(), nullable=False),
        sa.Column("value", text(), nullable=False),
        value=["value"],
    )
    op.create_table(
        "event_visibility",
        sa.Column("party", text(), nullable=False),
        sa.Column("event_pk", big(), nullable=False),
        sa.PrimaryKeyConstraint("party", "event_pk"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_event_visibility_event_pk", "event_visibility", ["event_pk"])
    op.create_table(
        "vocabularies",
        sa.Column("vocab_type", text(), nullable=False),
        sa.Column("uri", text(), nullable=False),
        sa.Column("attributes", text(), nullable=False),
        sa.Column("children", text(), nullable=False),
        sa.Column("updated_at_us", big(), nullable=False),
        sa.PrimaryKeyConstraint("vocab_type", "uri"),
    )
    op.create_table(
        "vocabulary_children",
        sa.Column("vocab_type", text(), nullable=False),
        sa.Column("parent_uri", text(), nullable=False),
        sa.Column("child_uri", text(), nullable=False),
        sa.PrimaryKeyConstraint("vocab_type", "parent_uri", "child_uri"),
    )
    op.create_table(
        "parties",
        sa.Column("gln", text(), primary_key=True),
        sa.Column("name", text(), nullable=False),
        sa.Column("created_at_us", big(), nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_hash", text(), primary_key=True),
        sa.Column("party_gln", text(), nullable=False),
        sa.Column("label", text()),
        sa.Column("created_at_us", big(), nullable=False),
        sa.Column("revoked_at_us", big()),
    )
    op.create_index("ix_api_keys_party", "api_keys", ["party_gln"])
    op.create_table(
        "captures",
        sa.Column("capture_id", text(), primary_key=True),
        sa.Column("party", text()),
        sa.Column("created_at_us", big(), nullable=False),
        sa.Column("finished_at_us", big()),
        sa.Column("running", sa.Boolean(), nullable=False),
        sa.Column("success", sa.Boolean()),
        sa.Column("behaviour", text(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("captured", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("errors", text(), nullable=False),
    )
    op.create_index("ix_captures_party", "captures", ["party", "created_at_us"])
    op.create_index("ix_captures_created", "captures", ["created_at_us"])
    op.create_table(
        "outbox",
        sa.Column("outbox_pk", PK_BIGINT, primary_key=True, autoincrement=True),
        sa.Column("capture_id", text(), nullable=False),
        sa.Column("first_event_pk", big(), nullable=False),
        sa.Column("last_event_pk", big(), nullable=False),
        sa.Column("created_at_us", big(), nullable=False),
        sa.Column("published_through", big()),
        sa.Column("done", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_outbox_done", "outbox", ["done", "outbox_pk"])
    op.create_table(
        "named_queries",
        sa.Column("name", text(), primary_key=True),
        sa.Column("owner", text()),
        sa.Column("params", text(), nullable=False),
        sa.Column("created_at_us", big(), nullable=False),
    )
    op.create_table(
        "subscriptions",
        sa.Column("subscription_id", text(), primary_key=True),
        sa.Column("query_name", text(), nullable=False),
        sa.Column("owner", text()),
        sa.Column("dest", text()),
        sa.Column("secret", text()),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("schedule", text()),
        sa.Column("report_if_empty", sa.Boolean(), nullable=False),
        sa.Column("initial_record_time_us", big()),
        sa.Column("last_event_pk", big(), nullable=False),
        sa.Column("created_at_us", big(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_subscriptions_query", "subscriptions", ["query_name"])
    op.create_table(
        "subscription_dead_letters",
        sa.Column("id", PK_BIGINT, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", text(), nullable=False),
        sa.Column("first_event_pk", big(), nullable=False),
        sa.Column("last_event_pk", big(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", text(), nullable=False),
        sa.Column("created_at_us", big(), nullable=False),
    )
    op.create_index(
        "ix_subscription_dead_letters_sub", "subscription_dead_letters", ["subscription_id", "id"]
    )
    op.bulk_insert(counters, [{"name": "event_pk", "value": 0}, {"name": "record_time_us", "value": 0}])
    op.bulk_insert(settings, [{"name": "token_secret", "value": secrets.token_hex(32)}])


def downgrade() -> None:
    for name in (
        "subscription_dead_letters",
        "subscriptions",
        "named_queries",
        "outbox",
        "captures",
        "api_keys",
        "parties",
        "vocabulary_children",
        "vocabularies",
        "event_visibility",
        "event_persistent_dispositions",
        "event_corrective_ids",
        "event_errors",
        "event_sensor",
        "event_fields",
        "event_parties",
        "event_biz_transactions",
        "event_quantities",
        "event_epcs",
        "contexts",
        "event_keys",
        "events",
        "store_settings",
        "store_counters",
    ):
        op.drop_table(name)
