"""A scratch PostgreSQL database on 127.0.0.1:5432 (trust authentication), for the benchmarks
and the tests that run against PostgreSQL."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

#: the maintenance database the scratch databases are created from
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def pg_available() -> bool:
    """Whether a PostgreSQL server answers on 127.0.0.1:5432."""
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def pg_database(name: str) -> Iterator[str]:
    """The URL of a new empty database ``name`` (one left by an earlier run is dropped first),
    dropped again afterwards."""
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
