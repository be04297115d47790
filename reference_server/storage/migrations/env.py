"""Alembic environment: migrations run on the connection the Store hands over.

``Store.migrate`` runs them programmatically at start (``alembic upgrade head``) inside a write
transaction, so two workers starting together do not race. Run from the command line, the
database URL comes from ``sqlalchemy.url`` in the Alembic config.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
