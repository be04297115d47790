"""Alembic environment: migrations run on the connection the Store hands over.

``Store.migrate`` runs them programmatically at start (``alembic upgrade head``) inside a write
transaction, so two workers starting together do not race. Run from the command line, the
database URL comes from ``sqlalchemy.url`` in the Alembic config. The target is the tables'
metadata, so ``alembic check`` and autogenerate compare the database with ``_tables.py``.

Until 1.0 is released no deployed database exists, so the schema is one initial revision,
rewritten as the tables change. Once 1.0 is released, revisions are frozen: a revision is history
a deployed database has already run, never edited or made to share code with a later one, so
each revision spells out the columns it creates or rebuilds, even where a later revision (or
``_tables.py``) repeats them.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from reference_server.storage import metadata

config = context.config


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _migrate(conn)
    engine.dispose()


run()
