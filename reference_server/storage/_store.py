"""``Store``: the one storage interface, over SQLite (a file) or PostgreSQL.

Writes are serialised: SQLite takes its write lock at ``BEGIN IMMEDIATE``, PostgreSQL an
advisory transaction lock. Because no two write transactions overlap, the change feed's next
sequence number is simply the largest one plus one, and events commit in sequence order with no
gaps (/req/change-feed/order); a failed request rolls back its resource rows, its event, its
idempotency record and its audit rows together (/req/change-feed/event-per-write).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Connection,
    Engine,
    and_,
    create_engine,
    delete,
    event,
    exists,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.engine import make_url

from ._derive import Derived, derive, joined, split
from ._tables import audit, events, resources, server_info, terms

__all__ = ["AuditRow", "Change", "Committer", "Duplicate", "EventRow", "ListQuery", "Scope",
           "Store", "Stored", "Tx"]

T = TypeVar("T")

_MIGRATIONS = Path(__file__).with_name("migrations")
#: advisory lock key that serialises writers on PostgreSQL ("smartcom" in ASCII)
_WRITE_LOCK = 0x736D617274636F6D


class Stored:
    """A resource row; the document is parsed only when someone needs it."""

    __slots__ = ("_doc", "communities", "departments", "derived", "id", "rtype", "seq", "text",
                 "version")

    def __init__(self, seq: int, rtype: str, rid: str, version: int, text: str,
                 communities: str, departments: str) -> None:
        self.seq = seq
        self.rtype = rtype
        self.id = rid
        self.version = version
        self.text = text
        self.communities = split(communities)
        self.departments = split(departments)
        self._doc: dict[str, Any] | None = None
        self.derived: Derived | None = None  # set on a row prepared for writing

    @property
    def doc(self) -> dict[str, Any]:
        if self._doc is None:
            self._doc = orjson.loads(self.text)
        return self._doc


@dataclass(frozen=True, slots=True)
class EventRow:
    seq: int
    rtype: str
    rid: str
    kind: str
    action: str
    version: int
    time: str
    communities: tuple[str, ...]
    departments: tuple[str, ...]
    data: str


@dataclass(frozen=True, slots=True)
class AuditRow:
    seq: int
    at: str
    principal: str
    role: str
    operation: str
    resident: str
    fields: list[str]


@dataclass(frozen=True, slots=True)
class Scope:
    """What a reader may see, as far as SQL can tell (the rest is checked per document)."""

    communities: frozenset[str] | None = None  # None: every community
    department: str | None = None  # issues: only those with an assignment to it
    residents: tuple[str | None, str | None] | None = None  # (resident id, user id): self/proxy
    nothing: bool = False


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The filters of a list request, already checked and normalised."""

    community: str | None = None
    status: str | None = None
    updated_since: str | None = None  # UTC text
    category: str | None = None
    department: str | None = None
    request_type: str | None = None
    intake_channel: str | None = None
    urgency: str | None = None
    submitted_from: str | None = None
    submitted_to: str | None = None
    grid: str | None = None
    today: str | None = None  # the day grid memberships must be in force
    pseudonym: str | None = None
    content: str | None = None  # consultations: category
    issue: str | None = None  # consultations: escalated issue
    extra: dict[str, Any] = field(default_factory=dict)


#: The statements every request runs, as driver SQL (qmark; PostgreSQL gets %s): they skip
#: SQLAlchemy's compile-and-bind machinery, which cost more than the statements themselves.
_COLUMNS = ("status", "community", "updated_at", "submitted_at", "category", "request_type",
            "intake_channel", "urgency", "communities", "departments")
_SQL = {
    "get": "SELECT seq, version, communities, departments, doc FROM resources "
           "WHERE rtype = ? AND id = ?",
    "insert": f"INSERT INTO resources (rtype, id, version, doc, {', '.join(_COLUMNS)}) "
              f"VALUES (?, ?, ?, ?, {', '.join('?' for _ in _COLUMNS)}) "
              "ON CONFLICT (rtype, id) DO NOTHING RETURNING seq",
    "replace": f"UPDATE resources SET version = ?, doc = ?, "
               f"{', '.join(c + ' = ?' for c in _COLUMNS)} WHERE seq = ? AND version = ?",
    "force": f"UPDATE resources SET version = ?, doc = ?, "
             f"{', '.join(c + ' = ?' for c in _COLUMNS)} WHERE seq = ?",
    "drop_terms": "DELETE FROM resource_terms WHERE rseq = ?",
    "terms": "INSERT INTO resource_terms (rseq, kind, value, until) VALUES (?, ?, ?, ?)",
    "last_event": "SELECT COALESCE(MAX(seq), 0) FROM events",
    "event": "INSERT INTO events (seq, rtype, rid, kind, action, version, time, "
             "communities, departments, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "idempotent": "SELECT request, body_hash, status, etag, location, body FROM idempotency "
                  "WHERE principal = ? AND key = ?",
    "remember": "INSERT INTO idempotency (principal, key, request, body_hash, status, etag, "
                "location, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "audit": "INSERT INTO audit (at, principal, role, operation, resident, fields, communities)"
             " VALUES (?, ?, ?, ?, ?, ?, ?)",
}
_SQL_PG = {k: v.replace("?", "%s") for k, v in _SQL.items()}


def _values(d: Derived) -> tuple[Any, ...]:
    return (d.status, d.community, d.updated_at, d.submitted_at, d.category, d.request_type,
            d.intake_channel, d.urgency, joined(d.communities), joined(d.departments))


class Duplicate(Exception):
    """An import met an id the store holds already."""

    def __init__(self, rid: str) -> None:
        super().__init__(rid)
        self.rid = rid


@dataclass(frozen=True, slots=True)
class Change:
    """One state to store by :meth:`Tx.write_many`, with its change event."""

    rtype: str
    rid: str
    version: int
    text: str
    doc: Mapping[str, Any]
    kind: str
    action: str
    time: str


class Tx:
    """One transaction; obtained from :meth:`Store.read` or :meth:`Store.write`."""

    def __init__(self, conn: Connection, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self._last_event: int | None = None
        self._raw: Any = None
        self._sql = _SQL if dialect == "sqlite" else _SQL_PG

    @property
    def raw(self) -> Any:
        """The driver connection, inside the same transaction as ``conn``."""
        if self._raw is None:
            self._raw = self.conn.connection.driver_connection
        return self._raw

    def _one(self, name: str, params: Sequence[Any]) -> Any:
        cursor = self.raw.cursor()
        try:
            cursor.execute(self._sql[name], params)
            return cursor.fetchone()
        finally:
            cursor.close()

    def _run(self, name: str, params: Sequence[Any]) -> int:
        cursor = self.raw.cursor()
        try:
            cursor.execute(self._sql[name], params)
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def _many(self, name: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            cursor = self.raw.cursor()
            try:
                cursor.executemany(self._sql[name], rows)
            finally:
                cursor.close()

    # -- resources ---------------------------------------------------------------------
    def get(self, rtype: str, rid: str) -> Stored | None:
        row = self._one("get", (rtype, rid))
        return None if row is None else Stored(row[0], rtype, rid, row[1], row[4], row[2], row[3])

    def insert(self, rtype: str, rid: str, version: int, text: str, derived: Derived,
               ) -> int | None:
        """Store a new resource; None, with nothing written, when its id is taken."""
        row = self._one("insert", (rtype, rid, version, text, *_values(derived)))
        if row is None:
            return None
        seq = int(row[0])
        self._put_terms(seq, derived)
        return seq

    def replace(self, stored: Stored, version: int, text: str, derived: Derived,
                expected: int | None = None) -> bool:
        """Write a new version; False when the row is no longer at ``expected``."""
        if expected is None:
            done = self._run("force", (version, text, *_values(derived), stored.seq))
        else:
            done = self._run("replace", (version, text, *_values(derived), stored.seq,
                                         expected))
        if done != 1:
            return False
        self._run("drop_terms", (stored.seq,))
        self._put_terms(stored.seq, derived)
        return True

    def _put_terms(self, seq: int, derived: Derived) -> None:
        self._many("terms", [(seq, k, v, u) for k, v, u in derived.terms])

    def page(self, rtype: str, query: ListQuery, scope: Scope, after: int,
             limit: int) -> list[Stored]:
        """Rows after ``after`` in insertion order that the filters and scope let through."""
        if scope.nothing:
            return []
        c = resources.c
        conds: list[Any] = [c.rtype == rtype, c.seq > after]
        conds += _scope_conditions(rtype, scope)
        if query.community:
            if rtype == "Resident":
                conds.append(_has_term("community", query.community))
            else:
                conds.append(c.community == query.community)
        if query.status:
            conds.append(c.status == query.status)
        if query.updated_since:
            conds.append(c.updated_at >= query.updated_since)
        if query.category:
            # The code itself and every code below it: "housing" matches "housing.lift".
            conds.append(or_(c.category == query.category,
                             c.category.like(query.category + ".%")))
        if query.department:
            conds.append(_has_term("department", query.department))
        if query.request_type:
            conds.append(c.request_type == query.request_type)
        if query.intake_channel:
            conds.append(c.intake_channel == query.intake_channel)
        if query.urgency:
            conds.append(c.urgency == query.urgency)
        if query.submitted_from:
            conds.append(c.submitted_at >= query.submitted_from)
        if query.submitted_to:
            conds.append(c.submitted_at <= query.submitted_to)
        if query.grid:
            conds.append(exists().where(
                terms.c.rseq == c.seq, terms.c.kind == "grid", terms.c.value == query.grid,
                or_(terms.c.until.is_(None), terms.c.until >= (query.today or ""))))
        if query.pseudonym:
            conds.append(_has_term("pseudonym", query.pseudonym))
        if query.content:
            conds.append(_has_term("category", query.content))
        if query.issue:
            conds.append(_has_term("issue", query.issue))
        rows = self.conn.execute(
            select(c.seq, c.id, c.version, c.communities, c.departments, c.doc)
            .where(and_(*conds)).order_by(c.seq).limit(limit)
        )
        return [Stored(r[0], rtype, r[1], r[2], r[5], r[3], r[4]) for r in rows]

    def count(self, rtype: str | None = None) -> int:
        q = select(func.count()).select_from(resources)
        if rtype:
            q = q.where(resources.c.rtype == rtype)
        return int(self.conn.execute(q).scalar_one())

    def all_resources(self) -> Iterator[Stored]:
        c = resources.c
        for r in self.conn.execute(select(c.seq, c.rtype, c.id, c.version, c.communities,
                                          c.departments, c.doc).order_by(c.seq)):
            yield Stored(r[0], r[1], r[2], r[3], r[6], r[4], r[5])

    def write_many(self, changes: Sequence[Change], *, upsert: bool) -> None:
        """Store many states at once, each with its change event, in the given order.

        For imports (``upsert`` False: an id already stored raises :class:`Duplicate`) and for
        mirrors (the last state of each resource wins). Rows go in as multi-row
        ``INSERT … ON CONFLICT … RETURNING``, so nothing is looked up first: a handful of
        statements per batch, whatever the size of the table.
        """
        if not changes:
            return
        scope: dict[tuple[str, str], tuple[str, ...]] = {}
        final: dict[tuple[str, str], tuple[Change, Derived]] = {}
        events: list[tuple[Any, ...]] = []
        if self._last_event is None:
            self._last_event = int(self._one("last_event", ())[0])
        for change in changes:
            key = (change.rtype, change.rid)
            derived = derive(change.doc, scope.get(key, ()))
            if not derived.communities and change.rtype == "Resident" and key not in scope:
                # An erased record names no community: it keeps the one stored (rare).
                stored = self.get(change.rtype, change.rid)
                if stored is not None:
                    derived = derive(change.doc, stored.communities)
            scope[key] = derived.communities
            final[key] = (change, derived)
            self._last_event += 1
            events.append((self._last_event, change.rtype, change.rid,
                           change.kind, change.action, change.version, change.time,
                           joined(derived.communities), joined(derived.departments),
                           change.text))
        rows = [(c.rtype, c.rid, c.version, c.text, *_values(d)) for c, d in final.values()]
        seqs: dict[tuple[str, str], int] = {}
        columns = ("rtype", "id", "version", "doc", *_COLUMNS)
        mark = "?" if self.dialect == "sqlite" else "%s"
        if upsert:
            conflict = "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in columns[2:])
        else:
            conflict = "DO NOTHING"
        for i in range(0, len(rows), 100):
            chunk = rows[i:i + 100]
            values = ", ".join("(" + ", ".join(mark for _ in columns) + ")" for _ in chunk)
            cursor = self.raw.cursor()
            try:
                cursor.execute(f"INSERT INTO resources ({', '.join(columns)}) VALUES {values} "
                               f"ON CONFLICT (rtype, id) {conflict} RETURNING rtype, id, seq",
                               [v for row in chunk for v in row])
                for rtype, rid, seq in cursor.fetchall():
                    seqs[(rtype, rid)] = int(seq)
            finally:
                cursor.close()
        if len(seqs) != len(final):  # DO NOTHING skipped a row: the id was stored already
            raise Duplicate(next(rid for (rt, rid) in final if (rt, rid) not in seqs))
        if upsert:
            self._many("drop_terms", [(seq,) for seq in seqs.values()])
        self._many("terms", [(seqs[key], k, v, u) for key, (_, d) in final.items()
                             for k, v, u in d.terms])
        self._many("event", events)

    # -- change feed -------------------------------------------------------------------
    def append_event(self, rtype: str, rid: str, kind: str, action: str, version: int,
                     time: str, data: str, derived: Derived) -> int:
        if self._last_event is None:
            self._last_event = int(self._one("last_event", ())[0])
        self._last_event += 1
        self._run("event", (self._last_event, rtype, rid, kind, action, version, time,
                            joined(derived.communities), joined(derived.departments), data))
        return self._last_event

    def events(self, after: int, limit: int, scope: Scope) -> list[EventRow]:
        """Events after ``after`` in sequence order, prefiltered by scope."""
        e = events.c
        conds: list[Any] = [e.seq > after]
        if scope.nothing:
            return []
        if scope.communities is not None:
            conds.append(or_(*[e.communities.like(f"%|{c}|%") for c in sorted(scope.communities)])
                         if scope.communities else e.seq < 0)
        if scope.department is not None:
            conds.append(or_(e.rtype != "Issue", e.departments.like(f"%|{scope.department}|%")))
        rows = self.conn.execute(
            select(e.seq, e.rtype, e.rid, e.kind, e.action, e.version, e.time,
                   e.communities, e.departments, e.data)
            .where(and_(*conds)).order_by(e.seq).limit(limit))
        return [EventRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], split(r[7]),
                         split(r[8]), r[9]) for r in rows]

    def last_event(self) -> int:
        return int(self.conn.execute(select(func.coalesce(func.max(events.c.seq), 0)))
                   .scalar_one())

    # -- idempotency -------------------------------------------------------------------
    def idempotent(self, principal: str, key: str) -> dict[str, Any] | None:
        row = self._one("idempotent", (principal, key))
        if row is None:
            return None
        return {"request": row[0], "body_hash": row[1], "status": row[2], "etag": row[3],
                "location": row[4], "body": row[5]}

    def remember(self, principal: str, key: str, request: str, body_hash: str, status: int,
                 etag: str | None, location: str | None, body: str, at: str) -> None:
        self._run("remember", (principal, key, request, body_hash, status, etag, location, body,
                               at))

    # -- audit -------------------------------------------------------------------------
    def audit(self, rows: Sequence[dict[str, Any]]) -> None:
        self._many("audit", [(r["at"], r["principal"], r["role"], r["operation"], r["resident"],
                              orjson.dumps(r["fields"]).decode(), joined(r["communities"]))
                             for r in rows])

    def audit_events(self, resident: str | None, communities: frozenset[str] | None,
                     after: int, limit: int) -> list[AuditRow]:
        a = audit.c
        conds: list[Any] = [a.seq > after]
        if resident:
            conds.append(a.resident == resident)
        if communities is not None:
            conds.append(or_(*[a.communities.like(f"%|{c}|%") for c in sorted(communities)])
                         if communities else a.seq < 0)
        rows = self.conn.execute(
            select(a.seq, a.at, a.principal, a.role, a.operation, a.resident, a.fields)
            .where(and_(*conds)).order_by(a.seq).limit(limit))
        return [AuditRow(r[0], r[1], r[2], r[3], r[4], r[5], orjson.loads(r[6])) for r in rows]

    # -- facts about the database ------------------------------------------------------
    def info(self, key: str) -> str | None:
        value = self.conn.execute(
            select(server_info.c.value).where(server_info.c.key == key)).scalar()
        return None if value is None else str(value)

    def set_info(self, key: str, value: str) -> None:
        self.conn.execute(delete(server_info).where(server_info.c.key == key))
        self.conn.execute(insert(server_info), {"key": key, "value": value})


def _has_term(kind: str, value: str) -> Any:
    return exists().where(terms.c.rseq == resources.c.seq, terms.c.kind == kind,
                          terms.c.value == value)


def _scope_conditions(rtype: str, scope: Scope) -> list[Any]:
    c = resources.c
    conds: list[Any] = []
    if scope.communities is not None:
        if not scope.communities:
            return [c.seq < 0]
        if rtype == "Resident":
            conds.append(exists().where(terms.c.rseq == c.seq, terms.c.kind == "community",
                                        terms.c.value.in_(sorted(scope.communities))))
        else:
            conds.append(c.community.in_(sorted(scope.communities)))
    if scope.department is not None and rtype == "Issue":
        conds.append(_has_term("department", scope.department))
    if scope.residents is not None and rtype == "Resident":
        resident, user = scope.residents
        options: list[Any] = []
        if resident:
            options += [c.id == resident, _has_term("proxy", resident)]
        if user:
            options.append(_has_term("proxy-user", user))
        conds.append(or_(*options) if options else c.seq < 0)
    return conds


class _Job:
    __slots__ = ("done", "error", "future", "job", "result")

    def __init__(self, job: Callable[[Tx], Any],
                 future: asyncio.Future[Any] | None = None) -> None:
        self.job = job
        self.done = threading.Event()
        self.future = future  # set when an event loop waits rather than a thread
        self.result: Any = None
        self.error: BaseException | None = None



def _settle(items: list[_Job]) -> None:
    """Resolve the futures of a batch; runs on their event loop."""
    for item in items:
        future = item.future
        if future is None or future.done():  # the request went away meanwhile
            continue
        if item.error is not None:
            future.set_exception(item.error)
        else:
            future.set_result(item.result)


class Committer:
    """Group commit: the write jobs of concurrent requests share one transaction and one sync.

    The batch commits once, and only then does any of its requests get its answer, so every
    acknowledged write is durable. Writers stay serialised: the batch holds the store's write
    lock like any single write.

    A job may refuse (raise one of ``refusals``, such as a 409 or 412) only before it writes
    anything, so its refusal needs no rollback and the other jobs of the batch commit. Any
    other exception may have left a half-written job: the batch is rolled back and each of its
    jobs is run again alone, so only the failing one fails.
    """

    def __init__(self, store: Store, max_batch: int = 128) -> None:
        self.store = store
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._pending: list[_Job] = []
        self._thread: threading.Thread | None = None
        self._closed = False
        #: answers of committed batches not yet handed to their event loops (see _attempt)
        self._deferred: list[tuple[asyncio.AbstractEventLoop, list[_Job]]] = []
        self.refusals: tuple[type[BaseException], ...] = ()

    def run(self, job: Callable[[Tx], T]) -> T:
        item = self._submit(_Job(job))
        item.done.wait()
        if item.error is not None:
            raise item.error
        return item.result  # type: ignore[no-any-return]

    async def run_async(self, job: Callable[[Tx], T]) -> T:
        """:meth:`run` for a coroutine: the event loop serves others while the batch commits."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._submit(_Job(job, future))
        return await future

    def _submit(self, item: _Job) -> _Job:
        with self._cond:
            if self._closed:
                raise RuntimeError("the store is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="group-commit",
                                                daemon=True)
                self._thread.start()
            self._pending.append(item)
            self._cond.notify()
        return item

    def _attempt(self, batch: list[_Job]) -> None:
        with self.store.write() as tx:
            for item in batch:
                item.error = item.result = None
                try:
                    item.result = item.job(tx)
                except self.refusals as exc:
                    item.error = exc
            # The previous batch is durable already; its answers go out now, so the event
            # loop serves them while this batch syncs, rather than while its jobs want the GIL.
            self._wake()

    def _wake(self) -> None:
        """Hand the answers of committed batches to their event loops."""
        deferred, self._deferred = self._deferred, []
        for loop, items in deferred:
            with contextlib.suppress(RuntimeError):  # a loop closed meanwhile waits for none
                loop.call_soon_threadsafe(_settle, items)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(30)

    def _loop(self) -> None:
        while True:
            with self._cond:
                idle = not self._pending
            if idle:  # no next batch to overlap with: answer at once
                self._wake()
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending:
                    break
                batch = self._pending[:self.max_batch]
                del self._pending[:self.max_batch]
            self._commit(batch)
        self._wake()

    def _commit(self, batch: list[_Job]) -> None:
        try:
            self._attempt(batch)
        except BaseException as exc:  # the transaction failed: nothing of the batch is stored
            if len(batch) == 1:
                batch[0].error, batch[0].result = exc, None
            else:
                for item in batch:
                    try:
                        self._attempt([item])
                    except BaseException as alone:  # this job's own failure
                        item.error, item.result = alone, None
        finally:
            self._wake()  # an earlier batch still waiting (this one failed before its commit)
            # One wake-up per event loop for the whole batch, not one per request; it is sent
            # once the next batch has run its jobs, or at once when there is none (_loop).
            waiting: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
            for item in batch:
                item.done.set()
                if item.future is not None:
                    waiting.setdefault(item.future.get_loop(), []).append(item)
            self._deferred.extend(waiting.items())


class Store:
    """Storage over a database URL; create it once per process and share it."""

    def __init__(self, url: str, *, group_commit: bool = True, **engine_options: Any) -> None:
        self.url = make_url(url)
        self.committer = Committer(self) if group_commit else None
        self.dialect = self.url.get_backend_name()
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
            options = {"pool_size": 8, "max_overflow": 8}
        else:
            raise ValueError(f"unsupported database {self.dialect}: use sqlite or postgresql")
        options.update(engine_options)
        self.engine: Engine = create_engine(self.url, **options)
        # PostgreSQL reads run in autocommit: no BEGIN and no ROLLBACK round trip per request.
        self.read_engine: Engine = (
            create_engine(self.url, isolation_level="AUTOCOMMIT", **options)
            if self.dialect == "postgresql" else self.engine)
        self._reader: threading.local | None = (
            threading.local() if self.dialect == "sqlite" else None)
        self._readers: list[Connection] = []
        self.checkpointer: Checkpointer | None = None
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
                yield Tx(conn, self.dialect)
            return
        # SQLite: each thread keeps its own reading connection; checking one out of the pool
        # for every request cost more than the read itself.
        mine: Connection | None = getattr(self._reader, "conn", None)
        if mine is None or mine.closed:
            mine = self.engine.connect()
            self._reader.conn = mine
            self._readers.append(mine)
        try:
            yield Tx(mine, self.dialect)
        finally:
            if mine.in_transaction():  # never hold a snapshot between requests
                mine.rollback()

    @contextlib.contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction; it waits until no other write is in progress."""
        with self.engine.connect() as conn:
            conn.execution_options(sc_write=True)
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_WRITE_LOCK})")
                yield Tx(conn, self.dialect)

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
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.connect() as conn:
            conn.execution_options(sc_write=True)
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_WRITE_LOCK})")
                config.attributes["connection"] = conn
                command.upgrade(config, "head")

    def source_uri(self, configured: str | None = None) -> str:
        """The URI this database writes as meta.source and event source; stable once made."""
        with self.write() as tx:
            value = tx.info("source")
            if value is None or (configured and value != configured):
                value = configured or f"urn:uuid:{uuid.uuid4()}"
                tx.set_info("source", value)
            return value

    def dispose(self) -> None:
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


def _sqlite_connect(dbapi_connection: Any, record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; FULL syncs the log at every commit, so an
    # acknowledged write survives a crash of the process or the machine.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    # Checkpoints run in the background (Checkpointer), not inside a request's commit.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
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
        self._thread = threading.Thread(target=self._loop, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            with contextlib.suppress(Exception):  # a busy database is checkpointed next time
                raw = self.store.engine.raw_connection()
                try:
                    cursor = raw.cursor()
                    cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    cursor.close()
                finally:
                    raw.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get("sc_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
