"""The tables of a national system's or the hub's store (SQLAlchemy Core).

Every table starts with ``fmd_`` so one database may hold an EPCIS store and an
FMD node side by side. Times are microseconds since the Unix epoch
(``…_us``), the pack key is ``(product_code, serial)`` — on SQLite a
``WITHOUT ROWID`` table, so a verify is one B-tree descent on a 10-million-pack
node. The Alembic revisions in ``fmd/migrations`` create these tables; this
module describes the newest revision for the code that reads and writes them.

>>> sorted(t.name for t in metadata.sorted_tables)[:4]
['fmd_alert_events', 'fmd_alerts', 'fmd_audit', 'fmd_audit_head']
>>> [c.name for c in packs.primary_key.columns]
['product_code', 'serial']
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "alert_events",
    "alerts",
    "audit",
    "audit_head",
    "batches",
    "bulk_jobs",
    "bulk_results",
    "clients",
    "markets",
    "metadata",
    "node",
    "outbox",
    "packs",
    "product_markets",
    "products",
    "repeats",
    "transactions",
]

metadata = sa.MetaData()

PK_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""An auto-numbered key: BIGINT identity on PostgreSQL, the rowid alias on SQLite."""

node = sa.Table(
    "fmd_node",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
"""What the store belongs to: ``role`` (``national`` or ``hub``) and ``market``."""

products = sa.Table(
    "fmd_products",
    metadata,
    sa.Column("product_code", sa.Text, primary_key=True),
    sa.Column("scheme", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("uploaded_us", sa.BigInteger, nullable=False),
    sa.Column("withdrawn_us", sa.BigInteger),
)
"""Product master data; ``owner`` is the marketing-authorisation holder's client id."""

product_markets = sa.Table(
    "fmd_product_markets",
    metadata,
    sa.Column("product_code", sa.Text, primary_key=True),
    sa.Column("market", sa.Text, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("nhrn", sa.Text),
)
"""The markets a product is intended for (the hub routes by it), with the NHRN where one is needed."""

batches = sa.Table(
    "fmd_batches",
    metadata,
    sa.Column("product_code", sa.Text, primary_key=True),
    sa.Column("batch", sa.Text, primary_key=True),
    sa.Column("expiry", sa.Text, nullable=False),
    sa.Column("expiry_date", sa.Date, nullable=False),
    sa.Column("markets", sa.Text, nullable=False),
    sa.Column("uploaded_us", sa.BigInteger, nullable=False),
    sa.Column("recalled_us", sa.BigInteger),
)
"""Batches: expiry exactly as uploaded (``YYMMDD``) and as a date; ``markets`` comma-separated."""

packs = sa.Table(
    "fmd_packs",
    metadata,
    sa.Column("product_code", sa.Text, primary_key=True),
    sa.Column("serial", sa.Text, primary_key=True),
    sa.Column("batch", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("uploaded_us", sa.BigInteger, nullable=False),
    sa.Column("lc_code", sa.Text),
    sa.Column("lc_reason", sa.Text),
    sa.Column("lc_location", sa.Text),
    sa.Column("lc_user", sa.Text),
    sa.Column("lc_client", sa.Text),
    sa.Column("lc_us", sa.BigInteger),
    sa.Column("lc_trx", sa.Text),
    sqlite_with_rowid=False,
)
"""One row per pack: its own state and reason, and the last change (``lc_…``) an undo must match."""

repeats = sa.Table(
    "fmd_repeats",
    metadata,
    sa.Column("product_code", sa.Text, primary_key=True),
    sa.Column("serial", sa.Text, primary_key=True),
    sa.Column("location", sa.Text, primary_key=True),
    sa.Column("since_us", sa.BigInteger, nullable=False),
    sa.Column("repeats", sa.Integer, nullable=False),
    sqlite_with_rowid=False,
)
"""Per pack and location: how often the pack was asked again for the state it is already in there,
since its state change at ``since_us`` (FiMVS warns three such repeats, then raises #A10); a row whose
``since_us`` is not the pack's last change counts from zero again. See
:meth:`packtrail.fmd.storage.Storage.count_repeat`."""

clients = sa.Table(
    "fmd_clients",
    metadata,
    sa.Column("client_id", sa.Text, primary_key=True),
    sa.Column("key_hash", sa.Text, nullable=False, unique=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("location", sa.Text, nullable=False),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("webhook", sa.Text),
    sa.Column("created_us", sa.BigInteger, nullable=False),
)
"""Clients and the SHA-256 of their API keys; ``webhook`` is where a manufacturer wants its alerts."""

transactions = sa.Table(
    "fmd_transactions",
    metadata,
    sa.Column("client_id", sa.Text, primary_key=True),
    sa.Column("client_trx_id", sa.Text, primary_key=True),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("trx_id", sa.Text, nullable=False),
    sa.Column("at_us", sa.BigInteger, nullable=False),
    sqlite_with_rowid=False,
)
"""Idempotency: per ``(client, clientTrxId)`` the request's fingerprint and the first answer."""

audit = sa.Table(
    "fmd_audit",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at_us", sa.BigInteger),
    sa.Column("actor", sa.Text),
    sa.Column("role", sa.Text),
    sa.Column("location", sa.Text),
    sa.Column("user_name", sa.Text),
    sa.Column("action", sa.Text),
    sa.Column("product_code", sa.Text),
    sa.Column("serial", sa.Text),
    sa.Column("batch", sa.Text),
    sa.Column("client_trx_id", sa.Text),
    sa.Column("trx_id", sa.Text),
    sa.Column("return_code", sa.Text),
    sa.Column("detail", sa.Text),
    sa.Column("retain_until_us", sa.BigInteger, nullable=False),
    sa.Column("digest", sa.Text, nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
    sa.Column("purged_us", sa.BigInteger),
    sa.Index("ix_fmd_audit_pack", "product_code", "serial"),
    sa.Index("ix_fmd_audit_actor", "actor", "seq"),
    sa.Index("ix_fmd_audit_retain", "retain_until_us"),
)
"""The append-only audit trail, one hash chain per node (see :mod:`packtrail.fmd.audit`)."""

audit_head = sa.Table(
    "fmd_audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
)
"""The chain's newest entry (one row): appends lock it, so the chain never forks."""

alerts = sa.Table(
    "fmd_alerts",
    metadata,
    sa.Column("alert_id", sa.Text, primary_key=True),
    sa.Column("raised_us", sa.BigInteger, nullable=False),
    sa.Column("market", sa.Text, nullable=False),
    sa.Column("code", sa.Text),
    sa.Column("return_code", sa.Text, nullable=False),
    sa.Column("transaction", sa.Text, nullable=False),
    sa.Column("product_code", sa.Text, nullable=False),
    sa.Column("serial", sa.Text, nullable=False),
    sa.Column("owner", sa.Text),
    sa.Column("client_id", sa.Text, nullable=False),
    sa.Column("location", sa.Text, nullable=False),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("client_trx_id", sa.Text, nullable=False),
    sa.Column("trx_id", sa.Text, nullable=False),
    sa.Column("scanned", sa.Text, nullable=False),
    sa.Column("on_file", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("close_reason", sa.Text),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
    sa.Index("ix_fmd_alerts_owner", "owner"),
    sa.Index("ix_fmd_alerts_client", "client_id"),
)
"""Alerts with their full context: who, where, when, what was scanned and what is on file."""

alert_events = sa.Table(
    "fmd_alert_events",
    metadata,
    sa.Column("seq", PK_BIGINT, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.Text, nullable=False),
    sa.Column("owner", sa.Text),
    sa.Column("client_id", sa.Text, nullable=False),
    sa.Column("at_us", sa.BigInteger, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Index("ix_fmd_alert_events_alert", "alert_id"),
)
"""The alert change feed: one row per raise and per status change, in order."""

outbox = sa.Table(
    "fmd_outbox",
    metadata,
    sa.Column("seq", PK_BIGINT, primary_key=True, autoincrement=True),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_us", sa.BigInteger, nullable=False),
    sa.Column("delivered_us", sa.BigInteger),
    sa.Column("last_error", sa.Text),
    sa.Index("ix_fmd_outbox_due", "delivered_us", "next_us"),
)
"""Messages to other nodes and webhooks, written in the transaction that caused them, relayed after."""

bulk_jobs = sa.Table(
    "fmd_bulk_jobs",
    metadata,
    sa.Column("job_id", sa.Text, primary_key=True),
    sa.Column("client_id", sa.Text, nullable=False),
    sa.Column("client", sa.Text, nullable=False),
    sa.Column("client_trx_id", sa.Text, nullable=False),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("submitted_us", sa.BigInteger, nullable=False),
    sa.Column("finished_us", sa.BigInteger),
    sa.Column("return_code", sa.Text),
    sa.Column("packs", sa.Text, nullable=False),
    sa.Column("pack_count", sa.Integer, nullable=False),
    sa.Column("done_count", sa.Integer, nullable=False),
)
"""Bulk transactions (G115 … G185, and the mixed G195 whose packs each carry their ``code``): the
submitted packs, the progress, the overall code."""

bulk_results = sa.Table(
    "fmd_bulk_results",
    metadata,
    sa.Column("job_id", sa.Text, primary_key=True),
    sa.Column("chunk", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("results", sa.Text, nullable=False),
)
"""Per-pack results of a bulk job, one row per processed chunk (a restart resumes after the last)."""

markets = sa.Table(
    "fmd_markets",
    metadata,
    sa.Column("market", sa.Text, primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("registered_us", sa.BigInteger, nullable=False),
)
"""The hub's registry of national systems: market -> base URL."""
