"""``Store``: the one storage interface, over SQLite (a file) or PostgreSQL.

Writes are serialised: SQLite takes its write lock at ``BEGIN IMMEDIATE``, PostgreSQL an
advisory transaction lock just before a transaction's first statement. Because no two write
transactions overlap, the change feed's next sequence number is simply the largest one plus
one, and events commit in sequence order with no gaps (/req/change-feed/order), as new
resources do (/req/core/paging); a failed request rolls back its resource rows, its event, its
idempotency record and its audit rows together (/req/change-feed/event-per-write).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from ._commit import Committer
from ._transactions import BINARY_OPTION, Sealer, Tx

__all__ = ["ANALYZE_SHARE", "Checkpointer", "Store", "WriteWatcher", "migrations_config"]

log = logging.getLogger("reference_server")

T = TypeVar("T")

_MIGRATIONS = Path(__file__).with_name("migrations")
#: advisory lock key that serialises writers on PostgreSQL ("smartcom" in ASCII)
_WRITE_LOCK = 0x736D617274636F6D
#: the share of the resources a store held that a load must add before it gathers the
#: planner's statistics again (PostgreSQL's autovacuum_analyze_scale_factor by default)
ANALYZE_SHARE = 0.1


def migrations_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration of the storage migrations; with ``connection``, they run on
    it (inside its transaction) rather than on a URL of their own."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


class Store:
    """Storage over a database URL; create it once per process and share it."""

    def __init__(self, url: str, *, group_commit: bool = True, **engine_options: Any) -> None:
        self.url = make_url(url)
        self.committer = Committer(self) if group_commit else None
        #: the digest of a change event, set by the service (/req/change-feed/chain-digest)
        self.sealer: Sealer | None = None
        self.dialect = self.url.get_backend_name()
        read_options: dict[str, Any] = {}  # what reading connections have besides ``options``
        if self.dialect == "sqlite":
            database = self.url.database or ""
            if not database or database == ":memory:":
                raise ValueError("the SQLite store needs a file: sqlite:///path/to/file.sqlite3")
            Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
            options: dict[str, Any] = {
                "connect_args": {"check_same_thread": False, "timeout": 60,
                                 "isolation_level": None},
                # Readers keep a connection per thread (see read()), hence no overflow limit.
                "pool_size": 8, "max_overflow": -1,
            }
        elif self.dialect == "postgresql":
            # The driver prepares a statement run five times; PostgreSQL then plans it once for
            # any value. A list's best plan depends on its values (a rare category is read from
            # its index, a common one by walking seq): a generic plan made the page of a rare
            # category in a city of 3,000,000 issues 300–600 ms instead of 20 ms. Each run is
            # planned for its values; planning costs a fraction of a millisecond.
            # Writes keep PostgreSQL's default: their statements find rows by key, which one
            # plan serves for any value, and planning again the statement that writes a row,
            # its terms and its event cost 145 µs a write, under the write lock.
            options = {"pool_size": 8, "max_overflow": 8}
            read_options["connect_args"] = {"options": "-c plan_cache_mode=force_custom_plan"}
        else:
            raise ValueError(f"unsupported database {self.dialect}: use sqlite or postgresql")
        options.update(engine_options)
        self.engine: Engine = create_engine(self.url, **options)
        # PostgreSQL reads run in autocommit: no BEGIN and no ROLLBACK round trip per request.
        self.read_engine: Engine = (
            create_engine(self.url, isolation_level="AUTOCOMMIT", **{**read_options, **options})
            if self.dialect == "postgresql" else self.engine)
        self._reader: threading.local | None = (
            threading.local() if self.dialect == "sqlite" else None)
        self._readers: list[Connection] = []
        self.checkpointer: Checkpointer | None = None
        self.watchers: list[WriteWatcher] = []
        if self.dialect == "postgresql":
            for engine in {self.engine, self.read_engine}:
                event.listen(engine, "connect", read_text_as_bytes)
                event.listen(engine, "before_cursor_execute", _binary_results)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            self.checkpointer = Checkpointer(self)
            event.listen(self.engine, "begin", _sqlite_begin)

    # -- transactions ------------------------------------------------------------------
    @contextlib.contextmanager
    def read(self) -> Iterator[Tx]:
        """A connection for reading. Each statement reads committed data; no write lock."""
        if self._reader is None:
            with self.read_engine.connect() as conn:
                yield Tx(conn, self.dialect, self.sealer)
            return
        # SQLite: each thread keeps its own reading connection; checking one out of the pool
        # for every request cost more than the read itself.
        mine: Connection | None = getattr(self._reader, "conn", None)
        if mine is None or mine.closed:
            mine = self.engine.connect()
            self._reader.conn = mine
            self._readers.append(mine)
        try:
            yield Tx(mine, self.dialect, self.sealer)
        finally:
            if mine.in_transaction():  # never hold a snapshot between requests
                mine.rollback()

    @contextlib.contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction; no other write is in progress from its first statement on
        (SQLite: from its start)."""
        with self.engine.connect() as conn:
            conn.execution_options(sc_write=True)
            with conn.begin():
                tx = Tx(conn, self.dialect, self.sealer,
                        _WRITE_LOCK if self.dialect == "postgresql" else None)
                yield tx
                tx.flush()

    def transact(self, job: Callable[[Tx], T]) -> T:
        """Run ``job`` in a write transaction (shared with concurrent jobs under group commit)
        and return its result once the transaction is committed."""
        if self.committer is not None:
            return self.committer.run(job)
        with self.write() as tx:
            return job(tx)

    async def transact_async(self, job: Callable[[Tx], T]) -> T:
        """:meth:`transact` for the event loop."""
        if self.committer is not None:
            return await self.committer.run_async(job)
        with self.write() as tx:
            return job(tx)

    # -- lifecycle of the database -----------------------------------------------------
    def migrate(self) -> None:
        """Bring the schema to the newest revision (``alembic upgrade head``)."""
        # Under the write lock, so that two workers starting together do not race.
        with self.write() as tx:
            command.upgrade(migrations_config(tx.conn), "head")

    def analyze(self, added: int | None = None) -> None:
        """Have PostgreSQL gather the statistics its planner chooses by, after a bulk load:
        until autovacuum came round, a freshly imported city's lists were planned as if the
        tables were empty (a common category's page took 177 ms instead of 2). With ``added``
        (the resources just loaded), only when they are at least a tenth of what the store
        held, which is when autovacuum would gather them too: otherwise the statistics still
        hold, and a city's 27 GB took seconds to sample again after an import of 2,000 issues.
        SQLite's lists do not depend on statistics (see ``Tx._narrow_filter``): nothing to do
        there."""
        if self.dialect != "postgresql":
            return
        with self.read_engine.connect() as conn:
            if added is not None:
                # what the store held at its last ANALYZE (-1: never analyzed)
                held = conn.exec_driver_sql(
                    "SELECT reltuples FROM pg_class WHERE oid = 'resources'::regclass").scalar()
                if held is not None and held > 0 and added < ANALYZE_SHARE * held:
                    return
            conn.exec_driver_sql("ANALYZE resources, resource_terms, events")

    def source_uri(self, configured: str | None = None) -> str:
        """The URI this database writes as meta.source and event source; stable once made.

        ValueError when ``configured`` differs from the URI of a feed already written: every
        event's chain digest covers its source (/req/change-feed/chain-digest), so a new one
        would break the chain readers have checked and make old events look new.
        """
        with self.write() as tx:
            value = tx.info("source")
            if value is not None and configured and value != configured:
                if tx.last_event() > 0:
                    raise ValueError(
                        f"this database's change feed is written as {value}; it cannot become "
                        f"{configured} (its events' chain digests cover their source)")
                value = None  # nothing written as the old one yet
            if value is None:
                value = configured or f"urn:uuid:{uuid.uuid4()}"
                tx.set_info("source", value)
            return value

    def scrub_soon(self) -> None:
        """Ask for the space freed by an erasure to be cleared from the database files soon
        (SQLite: a truncating checkpoint, so no earlier page stays in the write-ahead log)."""
        if self.checkpointer is not None:
            self.checkpointer.truncate_soon()

    def scrub(self, within: float = 2.0) -> bool:
        """Clear freed space from the database files now; False if readers kept it busy for
        ``within`` seconds. A read in progress (a request's, or the write watcher's once a
        second) holds the log back only until it ends: the checkpoint is tried again."""
        if self.checkpointer is None:
            return True
        deadline = time.monotonic() + within
        while not self.checkpointer.checkpoint("TRUNCATE"):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def watch_writes(self, written: Callable[[list[tuple[str, str, int]]], object],
                     every: float = 1.0) -> WriteWatcher:
        """Have ``written`` told of every process's writes (:class:`WriteWatcher`) until
        the store is disposed of."""
        watcher = WriteWatcher(self, written, every)
        self.watchers.append(watcher)
        return watcher

    def dispose(self) -> None:
        for watcher in self.watchers:
            watcher.close()
        self.watchers.clear()
        if self.committer is not None:
            self.committer.close()
        if self.checkpointer is not None:
            self.checkpointer.close()
        for conn in self._readers:
            with contextlib.suppress(Exception):
                conn.close()
        self._readers.clear()
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def read_text_as_bytes(connection: Any, record: Any = None) -> None:
    """Have the psycopg ``connection`` give ``text`` read in binary form as its UTF-8 bytes,
    as PostgreSQL sends it: a page's documents (:data:`BINARY_OPTION`) go out as stored,
    neither converted by PostgreSQL nor decoded here. Results read as text are decoded as
    before. (``record``: the pool's, when it is a ``connect`` listener.)"""
    connection.adapters.register_loader("text", _utf8_loader())


@functools.cache
def _utf8_loader() -> type:
    from psycopg.adapt import Buffer, Loader
    from psycopg.pq import Format

    class Utf8(Loader):
        format = Format.BINARY

        def load(self, data: Buffer) -> bytes:
            return bytes(data)

    return Utf8


def _binary_results(conn: Connection, cursor: Any, statement: str, parameters: Any,
                    context: Any, executemany: bool) -> None:
    """Have psycopg read the results of a statement run with the execution option
    :data:`BINARY_OPTION` in binary form."""
    if context is not None and context.execution_options.get(BINARY_OPTION):
        from psycopg.pq import Format

        cursor.format = Format.BINARY


def _sqlite_connect(dbapi_connection: Any, record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; FULL syncs the log at every commit, so an
    # acknowledged write survives a crash of the process or the machine.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    # Checkpoints run in the background (Checkpointer), not inside a request's commit.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    # Freed space is overwritten with zeros: what erasure removes leaves no trace in the file
    # (/req/privacy/erasure-every-copy).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


class Checkpointer:
    """Copies the SQLite write-ahead log into the database file off the request path.

    With autocheckpoint off, no commit stops to sync the database file; this thread runs a
    PASSIVE checkpoint (it never blocks readers or the writer) whenever the log has grown.
    """

    def __init__(self, store: Store, every: float = 0.5, pages: int = 2000) -> None:
        self.store = store
        self.every = every
        self.pages = pages
        self._stop = threading.Event()
        self._truncate = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def truncate_soon(self) -> None:
        """Make the next checkpoint a truncating one (after an erasure)."""
        self._truncate.set()

    def checkpoint(self, mode: str = "PASSIVE") -> bool:
        """Run one checkpoint; False when it could not finish (the database was busy)."""
        raw = self.store.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(f"PRAGMA wal_checkpoint({mode})")
            row = cursor.fetchone()
            cursor.close()
            return row is not None and not row[0]
        finally:
            raw.close()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            with contextlib.suppress(Exception):  # a busy database is checkpointed next time
                if self._truncate.is_set():
                    if self.checkpoint("TRUNCATE"):
                        self._truncate.clear()
                else:
                    self.checkpoint()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


class WriteWatcher:
    """Tells ``written`` which records (type, id, version) the writes of every process on the
    store changed, in commit order, within about ``every`` seconds of their commit: a thread
    reading the change feed's new events off the request path. It starts at the feed's end
    as it is made, so it tells every write committed after."""

    #: events read at a time
    BATCH = 5000

    def __init__(self, store: Store, written: Callable[[list[tuple[str, str, int]]], object],
                 every: float) -> None:
        self.store = store
        self.written = written
        self.every = every
        with store.read() as tx:
            self.last = tx.last_event()
        self._polling = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="write-watcher", daemon=True)
        self._thread.start()

    def poll(self) -> int:
        """Tell what was written since the last poll now; how many events that was."""
        told = 0
        with self._polling:
            while True:
                with self.store.read() as tx:
                    rows = tx.written_after(self.last, self.BATCH)
                if rows:
                    self.written([(rtype, rid, version) for _, rtype, rid, version in rows])
                    self.last = rows[-1][0]
                    told += len(rows)
                if len(rows) < self.BATCH:
                    return told

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.poll()
            except Exception:  # an unreachable database is read next time; said, not hidden
                log.exception("the write watcher could not read the change feed")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get("sc_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
