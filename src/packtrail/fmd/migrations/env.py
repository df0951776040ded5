"""Alembic environment of the FMD node store: runs on the connection that
:func:`packtrail.fmd.storage.migrate` hands over (``config.attributes["connection"]``), inside the
caller's transaction. No alembic.ini is needed.

Imported outside Alembic (pytest's doctest collection walks the package), it does nothing.
"""

from __future__ import annotations

from alembic import context


def run() -> None:
    """Run the migrations on the connection the caller handed over."""
    config = context.config
    version_table = config.attributes.get("version_table", "packtrail_fmd_version")
    connection = config.attributes["connection"]
    context.configure(connection=connection, version_table=version_table, transactional_ddl=True)
    context.run_migrations()


if hasattr(context, "config"):
    run()
