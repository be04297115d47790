"""A scratch PostgreSQL database on 127.0.0.1:5432 (trust authentication), for the benchmarks
and the tests that run against PostgreSQL."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

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


def postgres_ticks() -> int:
    """user + system clock ticks of every PostgreSQL process of this machine (its server, the
    backends, WAL writer, checkpointer …) and of those that have exited: the database's own
    processor time, whatever else the machine is doing. Without the exited, a backend closing
    between two readings took its ticks out of the second, and a measure could come out
    negative."""
    from benchmarks.timing import process_ticks

    return sum(process_ticks(pid, reaped=True) for pid in postgres_pids())


def postgres_pids() -> list[int]:
    """Every PostgreSQL process of this machine, its server first (the lowest pid)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().startswith("postgres"):
                    pids.append(int(entry.name))
    return sorted(pids)


def store_floor(full: str, empty: str) -> tuple[float, float]:
    """Wall and PostgreSQL processor seconds to store again, into the migrated empty store
    ``empty``, every row of the store ``full`` (binary COPY of rows already made, in one
    transaction, flushed by a checkpoint): what any writer of the same rows must let the
    database spend, however little it spends itself."""
    import psycopg

    from benchmarks.timing import TICKS

    def dsn(url: str) -> str:
        return url.replace("postgresql+psycopg://", "postgresql://")

    with psycopg.connect(dsn(full)) as source:
        tables = [name for (name,) in source.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE relname NOT IN "
            "('alembic_version', 'server_info') ORDER BY relname")]
        rows: dict[str, bytes] = {}
        for table in tables:
            data = bytearray()
            with source.cursor().copy(f'COPY "{table}" TO STDOUT (FORMAT BINARY)') as copy:
                for chunk in copy:
                    data += chunk
            rows[table] = bytes(data)
    with psycopg.connect(dsn(empty), autocommit=True) as target:
        target.execute("CHECKPOINT")
        ticks, started = postgres_ticks(), time.perf_counter()
        with target.transaction():
            for table, data in rows.items():
                with target.cursor().copy(f'COPY "{table}" FROM STDIN (FORMAT BINARY)') as copy:
                    view = memoryview(data)
                    for at in range(0, len(view), 1 << 20):
                        copy.write(view[at:at + (1 << 20)])
        target.execute("CHECKPOINT")
        return time.perf_counter() - started, (postgres_ticks() - ticks) / TICKS
