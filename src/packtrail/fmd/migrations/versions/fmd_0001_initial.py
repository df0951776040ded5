"""The FMD node store, first schema: products, batches, packs, clients, idempotency, audit chain,
alerts and their feed, outbox, bulk jobs, and the hub's market registry.

This revision is frozen: it spells out its tables rather than importing :mod:`packtrail.fmd.schema`,
so later schema changes go in new revisions.

Revision ID: fmd0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fmd0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PK_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _text(name: str, *, null: bool = True, pk: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=null and not pk, primary_key=pk)


def _us(name: str, *, null: bool = True) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=null)


def upgrade() -> None:
    op.create_table("fmd_node", _text("key", pk=True), _text("value", null=False))
    op.create_table(
        "fmd_products",
        _text("product_code", pk=True),
        _text("scheme", null=False),
        _text("name", null=False),
        _text("owner", null=False),
        _us("uploaded_us", null=False),
        _us("withdrawn_us"),
    )
    op.create_table(
        "fmd_product_markets",
        _text("product_code", pk=True),
        _text("market", pk=True),
        sa.Column("position", sa.Integer(), nullable=False),
        _text("nhrn"),
    )
    op.create_table(
        "fmd_batches",
        _text("product_code", pk=True),
        _text("batch", pk=True),
        _text("expiry", null=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        _text("markets", null=False),
        _us("uploaded_us", null=False),
        _us("recalled_us"),
    )
    op.create_table(
        "fmd_packs",
        _text("product_code", pk=True),
        _text("serial", pk=True),
        _text("batch", null=False),
        _text("state", null=False),
        _text("reason"),
        _us("uploaded_us", null=False),
        _text("lc_code"),
        _text("lc_reason"),
        _text("lc_location"),
        _text("lc_user"),
        _text("lc_client"),
        _us("lc_us"),
        _text("lc_trx"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "fmd_clients",
        _text("client_id", pk=True),
        _text("key_hash", null=False),
        _text("role", null=False),
        _text("name", null=False),
        _text("location", null=False),
        _text("user_name", null=False),
        _text("webhook"),
        _us("created_us", null=False),
        sa.UniqueConstraint("key_hash", name="uq_fmd_clients_key_hash"),
    )
    op.create_table(
        "fmd_transactions",
        _text("client_id", pk=True),
        _text("client_trx_id", pk=True),
        _text("fingerprint", null=False),
        sa.Column("status", sa.Integer(), nullable=False),
        _text("answer", null=False),
        _text("trx_id", null=False),
        _us("at_us", null=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "fmd_audit",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        _us("at_us"),
        _text("actor"),
        _text("role"),
        _text("location"),
        _text("user_name"),
        _text("action"),
        _text("product_code"),
        _text("serial"),
        _text("batch"),
        _text("client_trx_id"),
        _text("trx_id"),
        _text("return_code"),
        _text("detail"),
        _us("retain_until_us", null=False),
        _text("digest", null=False),
        _text("hash", null=False),
        _us("purged_us"),
    )
    op.create_index("ix_fmd_audit_pack", "fmd_audit", ["product_code", "serial"])
    op.create_index("ix_fmd_audit_actor", "fmd_audit", ["actor", "seq"])
    op.create_index("ix_fmd_audit_retain", "fmd_audit", ["retain_until_us"])
    head = op.create_table(
        "fmd_audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        _text("hash", null=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])
    op.create_table(
        "fmd_alerts",
        _text("alert_id", pk=True),
        _us("raised_us", null=False),
        _text("market", null=False),
        _text("code"),
        _text("return_code", null=False),
        _text("transaction", null=False),
        _text("product_code", null=False),
        _text("serial", null=False),
        _text("owner"),
        _text("client_id", null=False),
        _text("location", null=False),
        _text("user_name", null=False),
        _text("client_trx_id", null=False),
        _text("trx_id", null=False),
        _text("scanned", null=False),
        _text("on_file", null=False),
        _text("status", null=False),
        _text("close_reason"),
        _us("updated_us", null=False),
    )
    op.create_index("ix_fmd_alerts_owner", "fmd_alerts", ["owner"])
    op.create_index("ix_fmd_alerts_client", "fmd_alerts", ["client_id"])
    op.create_table(
        "fmd_alert_events",
        sa.Column("seq", PK_BIGINT, primary_key=True, autoincrement=True),
        _text("alert_id", null=False),
        _text("owner"),
        _text("client_id", null=False),
        _us("at_us", null=False),
        _text("status", null=False),
        _text("body", null=False),
    )
    op.create_index("ix_fmd_alert_events_alert", "fmd_alert_events", ["alert_id"])
    op.create_table(
        "fmd_outbox",
        sa.Column("seq", PK_BIGINT, primary_key=True, autoincrement=True),
        _text("target", null=False),
        _text("kind", null=False),
        _text("payload", null=False),
        _us("created_us", null=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _us("next_us", null=False),
        _us("delivered_us"),
        _text("last_error"),
    )
    op.create_index("ix_fmd_outbox_due", "fmd_outbox", ["delivered_us", "next_us"])
    op.create_table(
        "fmd_bulk_jobs",
        _text("job_id", pk=True),
        _text("client_id", null=False),
        _text("client", null=False),
        _text("client_trx_id", null=False),
        _text("code", null=False),
        _text("status", null=False),
        _us("submitted_us", null=False),
        _us("finished_us"),
        _text("return_code"),
        _text("packs", null=False),
        sa.Column("pack_count", sa.Integer(), nullable=False),
        sa.Column("done_count", sa.Integer(), nullable=False),
    )
    op.create_table(
        "fmd_bulk_results",
        _text("job_id", pk=True),
        sa.Column("chunk", sa.Integer(), primary_key=True, autoincrement=False),
        _text("results", null=False),
    )
    op.create_table(
        "fmd_markets",
        _text("market", pk=True),
        _text("url", null=False),
        _us("registered_us", null=False),
    )


def downgrade() -> None:
    for name in (
        "fmd_markets",
        "fmd_bulk_results",
        "fmd_bulk_jobs",
        "fmd_outbox",
        "fmd_alert_events",
        "fmd_alerts",
        "fmd_audit_head",
        "fmd_audit",
        "fmd_transactions",
        "fmd_clients",
        "fmd_packs",
        "fmd_batches",
        "fmd_product_markets",
        "fmd_products",
        "fmd_node",
    ):
        op.drop_table(name)
