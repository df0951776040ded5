"""Alembic environment of the EPCIS store: runs on the connection that :func:`packtrail.store.engine.migrate`
hands over (``config.attributes["connection"]``), inside the caller's transaction. No alembic.ini is needed.

To write a new revision: ``alembic -x url=sqlite:///scratch.db revision -m "what changes"`` from this folder's
parent with ``script_location`` set to this folder, or copy ``versions/v0001_initial.py``'s header by hand.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

config = context.config
version_table = config.attributes.get("version_table", "packtrail_store_version")
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, version_table=version_table, transactional_ddl=True)
    context.run_migrations()
else:  # the alembic command line, for writing revisions: -x url=...
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///packtrail.db")
    with create_engine(url).connect() as own:
        context.configure(connection=own, version_table=version_table, transactional_ddl=True)
        with context.begin_transaction():
            context.run_migrations()
