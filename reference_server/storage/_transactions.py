"""``Tx``: what one read or write transaction can do, over a SQLAlchemy connection.

What is special to a resource type (where its communities are, whether departments scope it)
comes from its :class:`~._indexes.Index`; nothing here names a resource type.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    tuple_,
    union_all,
)

from smartcommunity.integrity import chain_digest, event_salt, head_digest

from ._derive import COLUMNS, Derived, columns, derive
from ._indexes import NAMED, TERM_LENGTH, index_of
from ._pages import (
    ListQuery,
    Scope,
    Shape,
    below,
    driven,
    narrow_probes,
    page_statement,
    page_values,
    shape_of,
)
from ._rows import AuditRow, Change, EventRow, NewEvent, Stored, joined, split
from ._tables import audit, events, idempotency, named_ever, resources, server_info, terms

__all__ = ["Duplicate", "Sealer", "Tx", "WriteMissed"]

#: the digest of a change event's integrity form, given its row (the service knows the
#: event's source, type and subject; /req/change-feed/chain-digest)
Sealer = Callable[[EventRow], str]
#: the execution option asking PostgreSQL for a statement's results in binary form: a
#: ``text`` arrives as its UTF-8 bytes, neither converted nor decoded (``read_text_as_bytes``)
BINARY_OPTION = "sc_binary"
BINARY_RESULTS = {BINARY_OPTION: True}
_seq = itemgetter(0)  # of a page's row


class Duplicate(Exception):
    """An import met an id the store holds already."""

    def __init__(self, rid: str) -> None:
        super().__init__(rid)
        self.rid = rid


#: The statements every request runs, as driver SQL (qmark; PostgreSQL gets %s): they skip
#: SQLAlchemy's compile-and-bind machinery, which cost more than the statements themselves.
_SET = ", ".join(c + " = ?" for c in COLUMNS)
#: the columns of an audit entry, in table order; the service's entries are keyed by them
_AUDIT = tuple(c.name for c in audit.columns if not c.primary_key)
#: a resource row's columns, in the order Tx builds its values (``seq`` aside)
_ROW_COLUMNS = ("rtype", "id", "version", "doc", *COLUMNS)
#: what an upsert writes over a stored row of the same id
_OVERWRITE = "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _ROW_COLUMNS[2:])
#: the columns of an event, of a term and of a remembered key, in table order: the order Tx
#: builds their values (a key's first two, principal and key, are its primary key)
_EVENT_COLUMNS = tuple(c.name for c in events.columns)
_TERM_COLUMNS = tuple(c.name for c in terms.columns)
_KEY_COLUMNS = tuple(c.name for c in idempotency.columns)
_SQL = {
    "get": "SELECT seq, version, communities, departments, doc, person_facts FROM resources "
           "WHERE rtype = ? AND id = ?",
    "insert": f"INSERT INTO resources ({', '.join(_ROW_COLUMNS)}) "
              f"VALUES ({', '.join('?' for _ in _ROW_COLUMNS)}) "
              "ON CONFLICT (rtype, id) DO NOTHING RETURNING seq",
    "replace": f"UPDATE resources SET version = ?, doc = ?, {_SET} WHERE seq = ? AND version = ?",
    "force": f"UPDATE resources SET version = ?, doc = ?, {_SET} WHERE seq = ?",
    "drop_terms": "DELETE FROM resource_terms WHERE rseq = ?",
    "drop_terms_of": "DELETE FROM resource_terms WHERE rseq = ANY(?)",  # PostgreSQL
    "terms": f"INSERT INTO resource_terms ({', '.join(_TERM_COLUMNS)}) "
             f"VALUES ({', '.join('?' for _ in _TERM_COLUMNS)})",
    # kept when a later version stops naming her: nothing is ever deleted here on a write
    "named": "INSERT INTO named_ever (resident, rseq) VALUES (?, ?) ON CONFLICT DO NOTHING",
    "last_event": "SELECT seq, chain FROM events ORDER BY seq DESC LIMIT 1",
    "event": f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) "
             f"VALUES ({', '.join('?' for _ in _EVENT_COLUMNS)})",
    "seal": "UPDATE events SET head = ?, chain = ?, salt = ? WHERE seq = ?",
    "idempotent": "SELECT request, body_hash, status, etag, location, rtype, rid, version "
                  "FROM idempotency WHERE principal = ? AND key = ? AND created_at >= ?",
    # A key that has expired is written over; one that has not writes nothing (the job
    # looked it up first, or, staged, misses: Tx.remember). Expired keys are deleted now and
    # then, not by every create: that read the table each time.
    "remember": f"INSERT INTO idempotency ({', '.join(_KEY_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _KEY_COLUMNS)}) ON CONFLICT (principal, key) "
                "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _KEY_COLUMNS[2:])
                + " WHERE idempotency.created_at < ? RETURNING key",
    "expire": "DELETE FROM idempotency WHERE created_at < ?",
    "forget": "DELETE FROM idempotency WHERE rtype = ? AND rid = ?",
    "event_at": "SELECT seq, data FROM events WHERE rtype = ? AND rid = ? AND version = ? "
                "ORDER BY seq LIMIT 1",
    "events_of": "SELECT seq, data FROM events WHERE rtype = ? AND rid = ? ORDER BY seq",
    "states_of": "SELECT time, data FROM events WHERE rtype = ? AND rid = ? ORDER BY seq",
    "rewrite_event": "UPDATE events SET data = ? WHERE seq = ?",
    "audit": f"INSERT INTO audit ({', '.join(_AUDIT)}) VALUES ({', '.join('?' for _ in _AUDIT)})",
}
_SQL_PG = {k: v.replace("?", "%s") for k, v in _SQL.items()}


def _pg_write(row: str, *, other_terms: bool, event: bool) -> str:
    """One PostgreSQL statement that writes a resource row (``row``, RETURNING its seq), its
    terms and the residents it names, and with ``event`` its change event: one round trip
    under the write lock where there were four, and nothing at all written when ``row`` writes
    nothing (an id taken, a version moved on). With ``other_terms``, the row's terms that its
    new terms do not repeat are deleted; those it keeps are left as they are."""
    parts = [f"r AS ({row} RETURNING seq)"]
    if other_terms:
        parts.append("d AS (DELETE FROM resource_terms USING r WHERE resource_terms.rseq = r.seq "
                     "AND (resource_terms.kind, resource_terms.value) NOT IN "
                     "(SELECT * FROM unnest(%s::text[], %s::text[])))")
    parts.append(f"t AS (INSERT INTO resource_terms ({', '.join(_TERM_COLUMNS)}) "
                 "SELECT r.seq, x.kind, x.value, x.until, %s FROM r, "
                 "unnest(%s::text[], %s::text[], %s::text[]) AS x (kind, value, until) "
                 "ON CONFLICT (rseq, kind, value) DO UPDATE SET until = excluded.until "
                 "WHERE resource_terms.until IS DISTINCT FROM excluded.until)")
    parts.append("n AS (INSERT INTO named_ever (resident, rseq) SELECT x.resident, r.seq "
                 "FROM r, unnest(%s::text[]) AS x (resident) ON CONFLICT DO NOTHING)")
    if event:
        parts.append(f"e AS (INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) "
                     f"SELECT {', '.join('%s' for _ in _EVENT_COLUMNS)} FROM r)")
    return "WITH " + ", ".join(parts) + " SELECT seq FROM r"


for _name, _row in (("insert", _SQL_PG["insert"].removesuffix(" RETURNING seq")),
                   ("replace", _SQL_PG["replace"]), ("force", _SQL_PG["force"])):
    # a new row has no terms to delete
    _SQL_PG[f"{_name} whole"] = _pg_write(_row, other_terms=_name != "insert", event=False)
    _SQL_PG[f"{_name} whole+event"] = _pg_write(_row, other_terms=_name != "insert", event=True)


#: events sealed a page at a time (Tx.seal_feed)
_SEAL_PAGE = 5000



class WriteMissed(Exception):
    """A write staged in a batch wrote nothing when it was sent: its id was taken, or its row
    had moved on from the version it was prepared from. The transaction is rolled back, and
    the batch's jobs run again one at a time, unstaged, where that write refuses (409, 412)
    before anything of its job is written."""


@dataclass(slots=True)
class _Staged:
    """A write held back until the transaction's next statement (see :meth:`Tx.stage`)."""

    name: str  # the statement (``_pg_write``) without the event
    params: list[Any]  # its parameters, the event's aside
    rtype: str
    rid: str
    version: int
    text: str
    derived: Derived
    event: NewEvent | None


class Tx:
    """One transaction; obtained from :meth:`Store.read` or :meth:`Store.write`.

    A PostgreSQL write transaction takes the write lock (``lock``, an advisory lock key)
    just before its first statement: what a request does before it touches the database (a
    batch's jobs, their writes staged) runs outside the lock.
    """

    def __init__(self, conn: Connection, dialect: str, sealer: Sealer | None = None,
                 lock: int | None = None) -> None:
        self._conn = conn
        self.dialect = dialect
        self.sealer = sealer
        self._last_event: int | None = None
        self._last_chain: str | None = None
        self._raw: Any = None
        self._sql = _SQL if dialect == "sqlite" else _SQL_PG
        self._lock = lock
        self._staged: list[_Staged] | None = None
        self._keys: list[tuple[Any, ...]] = []  # staged Idempotency-Keys (Tx.remember)
        self._missed = False  # a staged write wrote nothing: this transaction must not commit

    @property
    def conn(self) -> Connection:
        """The connection, for a statement of the caller's own: the write lock is held and the
        staged writes are sent first, so that it reads what they wrote."""
        self._ready()
        return self._conn

    @property
    def raw(self) -> Any:
        """The driver connection, inside the same transaction as ``conn`` (ready as it is)."""
        self._ready()
        return self._driver()

    def _driver(self) -> Any:
        if self._raw is None:
            self._raw = self._conn.connection.driver_connection
        return self._raw

    def _ready(self) -> None:
        if self._lock is not None:
            # Staged writes go out under the lock like any other: a new row's seq is drawn
            # there, so rows commit in seq order and a reader's cursor never passes one that
            # commits later (/req/core/paging); their events follow the last one, read in
            # the same round trip as the lock is taken.
            self._take_lock(read_last=bool(self._staged))
        if self._staged or self._keys:
            staged, self._staged = self._staged or [], []
            self._send(staged)

    def _take_lock(self, read_last: bool) -> None:
        key, self._lock = self._lock, None
        statement = f"SELECT pg_advisory_xact_lock({key})"
        if read_last:  # events follow the last one: read it in the same round trip (the
            # second statement takes its snapshot once the first has the lock)
            statement += "; " + self._sql["last_event"]
        cursor = self._driver().cursor()
        try:
            cursor.execute(statement)
            if cursor.nextset():
                last = cursor.fetchone()
                self._last_event, self._last_chain = (
                    (int(last[0]), last[1]) if last else (0, None))
        finally:
            cursor.close()

    def stage(self) -> None:
        """Hold back this transaction's resource writes (PostgreSQL) until its next statement
        or :meth:`flush`, which sends them together; until then an insert answers 0 and a
        replace True. When one of them then writes nothing, :class:`WriteMissed` is raised
        (see there). What the transaction does before they go (its jobs' own work) is done
        before the write lock is taken."""
        if self.dialect == "postgresql":
            self._staged = []

    @property
    def staging(self) -> bool:
        """Whether this transaction's writes are staged (:meth:`stage`)."""
        return self._staged is not None

    def flush(self) -> None:
        """Send the staged writes (see :meth:`stage`); :class:`WriteMissed` if one of them,
        now or before, wrote nothing."""
        if self._staged or self._keys:
            self._ready()
        if self._missed:  # raised before, and caught by someone: still not to be committed
            raise WriteMissed()

    def _send(self, staged: list[_Staged]) -> None:
        """The staged writes with their events, a run of the same statement in one round
        trip; then the staged Idempotency-Keys, in one more."""
        keys, self._keys = self._keys, []
        cursor = self._driver().cursor()
        try:
            for name, run in itertools.groupby(
                    staged, key=lambda s: s.name + ("+event" if s.event else "")):
                rows = [[*s.params, *(() if s.event is None else self._event_values(
                    s.rtype, s.rid, s.version, s.text, s.derived, s.event))] for s in run]
                self._all_written(cursor, name, rows)
            if keys:
                self._all_written(cursor, "remember", keys)
        finally:
            cursor.close()

    def _all_written(self, cursor: Any, name: str, rows: list[Any]) -> None:
        """``rows`` written by statement ``name`` (RETURNING a row for each it writes);
        :class:`WriteMissed` if one of them wrote nothing."""
        cursor.executemany(self._sql[name], rows, returning=True)
        for _ in rows:
            if cursor.fetchone() is None:
                self._missed = True
                raise WriteMissed()
            cursor.nextset()

    def _cursor(self, name: str, params: Sequence[Any], use: Callable[[Any], Any]) -> Any:
        cursor = self.raw.cursor()
        try:
            cursor.execute(self._sql[name], params)
            return use(cursor)
        finally:
            cursor.close()

    def _one(self, name: str, params: Sequence[Any]) -> Any:
        return self._cursor(name, params, lambda cursor: cursor.fetchone())

    def _run(self, name: str, params: Sequence[Any]) -> int:
        return int(self._cursor(name, params, lambda cursor: cursor.rowcount))

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
        return None if row is None else Stored(row[0], rtype, rid, row[1], row[4], row[2], row[3],
                                               row[5])

    def versions(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The stored version of each (type, id) of ``keys`` the store holds, in one
        statement."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        if self.dialect == "postgresql":
            # Joined to the keys as arrays: a page of 500 keys as an IN list of row values
            # took PostgreSQL three times as long to plan and run.
            rows = self.conn.exec_driver_sql(
                "SELECT r.rtype, r.id, r.version FROM resources r JOIN unnest(%s::text[], "
                "%s::text[]) AS k(rtype, id) ON r.rtype = k.rtype AND r.id = k.id",
                ([t for t, _ in wanted], [i for _, i in wanted]))
            return {(str(t), str(i)): int(v) for t, i, v in rows}
        c = resources.c
        rows = self.conn.execute(select(c.rtype, c.id, c.version).where(
            tuple_(c.rtype, c.id).in_(wanted)))
        return {(str(t), str(i)): int(v) for t, i, v in rows}

    def insert(self, rtype: str, rid: str, version: int, text: str, derived: Derived,
               event: NewEvent | None = None) -> int | None:
        """Store a new resource, and with ``event`` its change event; None, with nothing
        written, when its id is taken."""
        values = (rtype, rid, version, text, *columns(derived))
        if self.dialect == "postgresql":
            return self._write_pg("insert", values, rtype, rid, version, text, derived, event)
        row = self._one("insert", values)
        if row is None:
            return None
        seq = int(row[0])
        self._put_terms(seq, rtype, derived)
        if event is not None:
            self._append(rtype, rid, version, text, derived, event)
        return seq

    def replace(self, stored: Stored, version: int, text: str, derived: Derived,
                expected: int | None = None, event: NewEvent | None = None) -> bool:
        """Write a new version, and with ``event`` its change event; False, with nothing
        written, when the row is no longer at ``expected``."""
        name = "force" if expected is None else "replace"
        values = (version, text, *columns(derived), stored.seq,
                  *(() if expected is None else (expected,)))
        if self.dialect == "postgresql":
            return self._write_pg(name, values, stored.rtype, stored.id, version, text,
                                  derived, event) is not None
        if self._run(name, values) != 1:
            return False
        self._run("drop_terms", (stored.seq,))
        self._put_terms(stored.seq, stored.rtype, derived)
        if event is not None:
            self._append(stored.rtype, stored.id, version, text, derived, event)
        return True

    def _write_pg(self, name: str, values: Sequence[Any], rtype: str, rid: str, version: int,
                  text: str, derived: Derived, event: NewEvent | None) -> int | None:
        """A row's write on PostgreSQL in one statement (see ``_pg_write``); its seq, or None
        when nothing was written."""
        kinds = [k for k, _, _ in derived.terms]
        values_of = [v for _, v, _ in derived.terms]
        params = [*values, *((kinds, values_of) if name != "insert" else ()), rtype, kinds,
                  values_of, [u for _, _, u in derived.terms],
                  [v for k, v, _ in derived.terms if k == NAMED]]
        if self._staged is not None:
            self._staged.append(_Staged(f"{name} whole", params, rtype, rid, version, text,
                                        derived, event))
            return 0
        statement = f"{name} whole" + ("+event" if event is not None else "")
        feed = self._last_event, self._last_chain
        if event is not None:
            params += self._event_values(rtype, rid, version, text, derived, event)
        row = self._one(statement, params)
        if row is None:
            self._last_event, self._last_chain = feed  # no event was written: none was taken
            return None
        return int(row[0])

    def _put_terms(self, seq: int, rtype: str, derived: Derived) -> None:
        self._many("terms", [(seq, k, v, u, rtype) for k, v, u in derived.terms])
        self._many("named", _named(seq, derived))

    def page(self, rtype: str, query: ListQuery, scope: Scope, after: int,
             limit: int, *, newest_first: bool = False) -> list[Stored]:
        """Rows after ``after`` in insertion order that the filters and scope let through;
        ``newest_first``: in the reverse order, rows before ``after`` (0: from the newest)."""
        if scope.nothing:
            return []
        if query.category and self.dialect == "postgresql":
            # The codes a category holds and the page by them are two statements: read in one
            # snapshot, an issue moved meanwhile to a code no other held is not lost between.
            with self._snapshot():
                return self._page(rtype, query, scope, after, limit, newest_first)
        return self._page(rtype, query, scope, after, limit, newest_first)

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Several reads as of one moment on a connection in autocommit (PostgreSQL's reads,
        where each statement would otherwise see the database as of its own). In a write
        transaction nothing changes between statements: it holds the write lock."""
        if not getattr(self.raw, "autocommit", False):
            yield
            return
        self.conn.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield
        finally:
            self.conn.exec_driver_sql("COMMIT")

    def _page(self, rtype: str, query: ListQuery, scope: Scope, after: int, limit: int,
              newest_first: bool) -> list[Stored]:
        shape = shape_of(self.dialect, rtype, query, scope, after=after,
                         newest_first=newest_first)
        codes: list[str] | None = None  # the category's codes, one ordered branch each
        if query.category and self.dialect == "postgresql" and not driven(shape):
            codes = self._codes_under(rtype, query.category)
            if codes == []:
                return []  # no record holds the code or any below it
            if codes is not None:
                shape = dataclasses.replace(shape, codes=len(codes))
        values = page_values(rtype, query, scope, after, limit, codes or ())
        if self.dialect == "sqlite":
            shape = dataclasses.replace(shape, narrow=self._narrow_filter(shape, values))
        # Driver SQL, as SQLAlchemy compiled it for the shape: nothing is built or compiled
        # again, and the engine's events and logging still see the statement.
        statement = page_statement(shape, self._conn.dialect)
        # The statement cuts the page in order and leaves the order of its rows to us.
        rows = sorted(self.conn.exec_driver_sql(statement.sql, statement.args(values),
                                                execution_options=BINARY_RESULTS),
                      key=_seq, reverse=newest_first)
        return [Stored(r[0], rtype, r[1], r[2], r[5], r[3], r[4], r[6]) for r in rows]

    #: codes under a category beyond which a list reads them as one range (a profile's
    #: catalogue may be long; the codelist's widest code has seven below it)
    category_branches = 64

    def _codes_under(self, rtype: str, code: str) -> list[str] | None:
        """The category codes ``rtype``'s records hold that ``code`` matches (itself and the
        codes below it), each found with one probe of the category index; None when there are
        more than :attr:`category_branches`."""
        low, high = below(code)
        held = list(self.conn.execute(_CODES_HELD, {
            "rtype": rtype, "code": code, "low": low, "high": high,
            "most": self.category_branches + 1}).scalars())
        return None if len(held) > self.category_branches else held

    #: matches of a filter that one index probe counts before deciding how to list them
    narrow_rows = 2000

    def _narrow_filter(self, shape: Shape, values: dict[str, Any]) -> int | None:
        """On SQLite, which of the list's range and term filters (:func:`narrow_probes`) is
        the first that fewer than :attr:`narrow_rows` resources match, for the list to start
        from them (``seq IN`` that index range) rather than walk ``(rtype, seq)`` testing
        every row for a rare value. PostgreSQL's histograms tell its planner so; SQLite, built
        without STAT4 as Python ships it, cannot estimate a range or a term's matches, and
        would walk past a city's issues to find the few updated since a sync began, of a rare
        category or department, or a resident by pseudonym. Each probe reads at most that
        many index entries; None: no filter is narrow."""
        counted = {**values, "narrow_rows": self.narrow_rows}
        for i, probe in enumerate(narrow_probes(shape, self._conn.dialect)):
            found = self.conn.exec_driver_sql(probe.sql, probe.args(counted)).scalar_one()
            if int(found) < self.narrow_rows:
                return i
        return None

    def is_empty(self) -> bool:
        """Whether no resource is stored (one index probe, where counting reads them all)."""
        return self.conn.execute(select(resources.c.seq).limit(1)).first() is None

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

    def naming(self, rid: str, rtypes: Iterable[str]) -> list[Stored]:
        """The resources of ``rtypes`` that name resident ``rid`` where her erasure reaches
        (their ``named-resident`` terms, see ``_privacy``), in insertion order; callers check
        what each holds of her. An index lookup: the store's size does not matter."""
        return self.with_term(rtypes, NAMED, rid[:TERM_LENGTH])

    def named_ever(self, rid: str, rtypes: Iterable[str]) -> list[Stored]:
        """The resources of ``rtypes`` that have named resident ``rid`` where her erasure
        reaches in any state written, current or earlier, in insertion order: her erasure
        rewrites each one's earlier states even when its current version no longer names her
        (/req/privacy/erasure-reaches-records). An index lookup, as :meth:`naming` is."""
        c = resources.c
        ever = select(named_ever.c.rseq).where(named_ever.c.resident == rid[:TERM_LENGTH])
        rows = self.conn.execute(
            select(c.seq, c.rtype, c.id, c.version, c.communities, c.departments, c.doc)
            .where(c.seq.in_(ever), c.rtype.in_(list(rtypes))).order_by(c.seq))
        return [Stored(r[0], r[1], r[2], r[3], r[6], r[4], r[5]) for r in rows]

    def with_term(self, rtypes: Iterable[str], kind: str, value: str,
                  statuses: Iterable[str] | None = None) -> list[Stored]:
        """The resources of ``rtypes`` indexed with the term ``kind`` = ``value`` (the opinions
        and proposals of one consultation), only those in ``statuses`` when given, in
        insertion order."""
        c, types = resources.c, list(rtypes)
        # From the term's index to the rows, rather than testing every row of the types.
        tagged = select(terms.c.rseq).where(terms.c.kind == kind, terms.c.value == value,
                                            terms.c.rtype.in_(types))
        conds = [c.seq.in_(tagged), c.rtype.in_(types)]
        if statuses is not None:
            conds.append(c.status.in_(list(statuses)))
        rows = self.conn.execute(
            select(c.seq, c.rtype, c.id, c.version, c.communities, c.departments, c.doc)
            .where(*conds).order_by(c.seq))
        return [Stored(r[0], r[1], r[2], r[3], r[6], r[4], r[5]) for r in rows]

    def of_type(self, rtype: str) -> Iterator[Stored]:
        """Every stored resource of ``rtype`` in insertion order (the retention sweep)."""
        c = resources.c
        for r in self.conn.execute(select(c.seq, c.id, c.version, c.communities,
                                          c.departments, c.doc)
                                   .where(c.rtype == rtype).order_by(c.seq)):
            yield Stored(r[0], rtype, r[1], r[2], r[5], r[3], r[4])

    def write_many(self, changes: Sequence[Change], *, upsert: bool,
                   held: Collection[tuple[str, str]] | None = None) -> None:
        """Store many states at once, each with its change event, in the given order.

        For imports (``upsert`` False: an id already stored raises :class:`Duplicate`, after
        which the transaction is to be abandoned: part of the batch may be written, and its
        events are counted) and for mirrors (the last state of each resource wins). Nothing is
        looked up first: a handful of statements per batch, whatever the size of the table. On
        PostgreSQL the rows are streamed with COPY, which spares the server a statement per row
        and the driver thousands of parameters; on SQLite they go in as multi-row ``INSERT …
        ON CONFLICT … RETURNING``. ``held``: the (type, id) of those the store holds, when
        the caller has just looked them up in this transaction (else they are looked up).
        """
        if not changes:
            return
        scope: dict[tuple[str, str], tuple[str, ...]] = {}
        final: dict[tuple[str, str], tuple[Change, Derived]] = {}
        feed: list[tuple[Any, ...]] = []
        named: list[tuple[tuple[str, str], str]] = []  # (type, id) and a resident it names
        for change in changes:
            key = (change.rtype, change.rid)
            if not upsert and key in final:
                raise Duplicate(change.rid)  # the same id twice in one import
            if change.prepared is not None and key not in scope:
                derived, head = change.prepared
            else:
                derived, head = derive(change.doc, scope.get(key, ())), head_digest(change.doc)
            if (not derived.communities and key not in scope
                    and index_of(change.rtype).keeps_communities):
                # An erased record names no community: it keeps the one stored (rare).
                stored = self.get(change.rtype, change.rid)
                if stored is not None:
                    derived = derive(change.doc or orjson.loads(change.text),
                                     stored.communities)
            scope[key] = derived.communities
            final[key] = (change, derived)
            named.extend((key, v) for k, v, _ in derived.terms if k == NAMED)
            seq, salt = self._next_event(), event_salt()
            feed.append((seq, change.rtype, change.rid, change.version, change.kind,
                         change.action, change.time, joined(derived.communities),
                         joined(derived.departments), change.text, head,
                         self._chain(EventRow(seq, change.rtype, change.rid, change.kind,
                                              change.action, change.version, change.time,
                                              (), (), "", head, salt=salt)), salt))
        rows = [(c.rtype, c.rid, c.version, c.text, *columns(d)) for c, d in final.values()]

        def term_rows(seqs: dict[tuple[str, str], int]) -> list[tuple[Any, ...]]:
            return [(seqs[key], k, v, u, key[0]) for key, (_, d) in final.items()
                    for k, v, u in d.terms]

        def named_rows(seqs: dict[tuple[str, str], int]) -> list[tuple[str, int]]:
            # Every state of the batch, not only each resource's last: an earlier state that
            # named a resident stays in the feed (/req/privacy/erasure-reaches-records).
            return list(dict.fromkeys((rid, seqs[key]) for key, rid in named))

        if self.dialect == "sqlite":
            seqs = self._insert_rows(rows, upsert)
            if upsert:
                self._many("drop_terms", [(seq,) for seq in seqs.values()])
            self._many("terms", term_rows(seqs))
            self._many("named", named_rows(seqs))
            self._many("event", feed)
            return
        # Only resources stored already are written over: a mirror filling an empty store
        # (the common case) copies its rows as an import does, which costs PostgreSQL half
        # of going through a staging table and ON CONFLICT. Writers are serialised, so what
        # is not stored now is not stored before this transaction writes it.
        if not upsert:
            held = set()
        elif held is None:
            held = set(self.versions(final))
        held = {key for key in final if key in held}
        seqs = self._copy_new([row for row, key in zip(rows, final, strict=True)
                               if key not in held]) if len(held) < len(rows) else {}
        if held:
            seqs.update(self._copy_upsert([row for row, key in zip(rows, final, strict=True)
                                           if key in held]))
            self._run("drop_terms_of", ([seqs[key] for key in held],))
        self._copy("resource_terms", _TERM_COLUMNS, term_rows(seqs))
        pairs = named_rows(seqs)
        # A resource written over may have named her before: one statement, no COPY.
        again = {rseq for key, rseq in seqs.items() if key in held}
        kept = [(r, q) for r, q in pairs if q in again]
        if kept:
            self.conn.exec_driver_sql(
                "INSERT INTO named_ever (resident, rseq) SELECT * FROM "
                "unnest(%s::text[], %s::bigint[]) ON CONFLICT DO NOTHING",
                ([r for r, _ in kept], [q for _, q in kept]))
        self._copy("named_ever", ("resident", "rseq"), [(r, q) for r, q in pairs
                                                         if q not in again])
        self._copy("events", _EVENT_COLUMNS, feed)

    def _copy(self, table: str, names: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Rows appended with PostgreSQL's COPY: one stream, no statement per row."""
        with self.raw.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _copy_new(self, rows: Sequence[Sequence[Any]]) -> dict[tuple[str, str], int]:
        """New resource rows (PostgreSQL) by COPY, their seqs drawn from the table's sequence
        in order; an id stored already raises :class:`Duplicate` naming it."""
        import psycopg

        with self.raw.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence('resources', 'seq')) "
                           "FROM generate_series(1, %s)", (len(rows),))
            drawn = [int(r[0]) for r in cursor.fetchall()]
            # COPY has no ON CONFLICT: a taken id fails the whole stream, and the savepoint
            # lets the transaction go on to name it.
            cursor.execute("SAVEPOINT copy_new")
            try:
                self._copy("resources", ("seq", *_ROW_COLUMNS),
                           ((seq, *row) for seq, row in zip(drawn, rows, strict=True)))
            except psycopg.errors.UniqueViolation as exc:
                if exc.diag.constraint_name != "uq_resources_rtype_id":
                    raise  # not a taken id (a sequence behind its table): not the import's fault
                cursor.execute("ROLLBACK TO SAVEPOINT copy_new")
                wanted = [(str(row[0]), str(row[1])) for row in rows]
                cursor.execute("SELECT rtype, id FROM resources WHERE (rtype, id) IN "
                               f"({', '.join('(%s, %s)' for _ in wanted)})",
                               [v for key in wanted for v in key])
                taken = {(str(rtype), str(rid)) for rtype, rid in cursor.fetchall()}
                raise Duplicate(next((key[1] for key in wanted if key in taken), "")) from None
            cursor.execute("RELEASE SAVEPOINT copy_new")
        return {(str(row[0]), str(row[1])): seq for seq, row in zip(drawn, rows, strict=True)}

    def _copy_upsert(self, rows: Sequence[Sequence[Any]]) -> dict[tuple[str, str], int]:
        """Resource rows written over those of the same id or added (PostgreSQL): streamed by
        COPY into a staging table, then one ``INSERT … SELECT … ON CONFLICT``. A multi-row
        INSERT with thousands of parameters costs the driver more to prepare than the server
        to run."""
        names = ", ".join(_ROW_COLUMNS)
        with self.raw.cursor() as cursor:
            # One per connection, emptied at every commit; ``n`` keeps the rows' order, which
            # gives new resources their seqs in the order written.
            cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS incoming_resources "
                           f"ON COMMIT DELETE ROWS AS SELECT 0 AS n, {names} FROM resources "
                           "WITH NO DATA")
            self._copy("incoming_resources", ("n", *_ROW_COLUMNS),
                       ((n, *row) for n, row in enumerate(rows)))
            cursor.execute(f"INSERT INTO resources ({names}) SELECT {names} "
                           "FROM incoming_resources ORDER BY n ON CONFLICT (rtype, id) "
                           f"{_OVERWRITE} RETURNING rtype, id, seq")
            seqs = {(str(rtype), str(rid)): int(seq) for rtype, rid, seq in cursor.fetchall()}
            cursor.execute("DELETE FROM incoming_resources")  # a next batch in this transaction
        return seqs

    def _insert_rows(self, rows: Sequence[Sequence[Any]], upsert: bool,
                     ) -> dict[tuple[str, str], int]:
        """Insert (or with ``upsert`` overwrite) resource rows on SQLite, 100 a statement; the
        seq of each one written."""
        seqs: dict[tuple[str, str], int] = {}
        conflict = _OVERWRITE if upsert else "DO NOTHING"
        for i in range(0, len(rows), 100):
            chunk = rows[i:i + 100]
            values = ", ".join("(" + ", ".join("?" for _ in _ROW_COLUMNS) + ")" for _ in chunk)
            cursor = self.raw.cursor()
            try:
                cursor.execute(f"INSERT INTO resources ({', '.join(_ROW_COLUMNS)}) "
                               f"VALUES {values} ON CONFLICT (rtype, id) {conflict} "
                               "RETURNING rtype, id, seq", [v for row in chunk for v in row])
                for rtype, rid, seq in cursor.fetchall():
                    seqs[(rtype, rid)] = int(seq)
            finally:
                cursor.close()
        if len(seqs) != len(rows):  # DO NOTHING skipped a row: the id was stored already
            raise Duplicate(next(str(row[1]) for row in rows
                                 if (str(row[0]), str(row[1])) not in seqs))
        return seqs

    # -- change feed -------------------------------------------------------------------
    def _next_event(self) -> int:
        # Writers are serialised (see Store.write), so the largest sequence plus one is free.
        if self._last_event is None:
            last = self._one("last_event", ())
            self._last_event, self._last_chain = (int(last[0]), last[1]) if last else (0, None)
        self._last_event += 1
        return self._last_event

    def _chain(self, row: EventRow) -> str | None:
        """The running digest up to ``row``, the next event (none without a sealer)."""
        if self.sealer is None:
            return None
        self._last_chain = chain_digest(self._last_chain, self.sealer(row))
        return self._last_chain

    def append_event(self, rtype: str, rid: str, kind: str, action: str, version: int,
                     time: str, data: str, derived: Derived, head: str | None = None) -> int:
        return self._append(rtype, rid, version, data, derived,
                            NewEvent(kind, action, time, head))

    def _append(self, rtype: str, rid: str, version: int, data: str, derived: Derived,
                event: NewEvent) -> int:
        """Write the next event; its sequence number."""
        values = self._event_values(rtype, rid, version, data, derived, event)
        self._run("event", values)
        return int(values[0])

    def _event_values(self, rtype: str, rid: str, version: int, data: str, derived: Derived,
                      event: NewEvent) -> tuple[Any, ...]:
        """The next event's row, in table order: its sequence number taken, its chain digest
        computed."""
        seq, salt = self._next_event(), event_salt()
        chain = self._chain(EventRow(seq, rtype, rid, event.kind, event.action, version,
                                     event.time, (), (), "", event.head, salt=salt))
        return (seq, rtype, rid, version, event.kind, event.action, event.time,
                joined(derived.communities), joined(derived.departments), data, event.head,
                chain, salt)

    def events(self, after: int, limit: int) -> list[tuple[EventRow, Stored | None]]:
        """Events after ``after`` in sequence order, each with its resource's current row.

        Whether and how a reader sees an event is decided from the current row, never from
        the copy stored with the event (/req/change-feed/access-now), so nothing is filtered
        here: every event is served, whole or reduced (/req/change-feed/withheld).
        """
        e, r = events.c, resources.c
        rows = self.conn.execute(
            select(e.seq, e.rtype, e.rid, e.kind, e.action, e.version, e.time,
                   e.communities, e.departments, e.data, e.head, e.chain, e.salt,
                   r.seq, r.version, r.communities, r.departments, r.doc)
            .select_from(events.outerjoin(resources, and_(r.rtype == e.rtype, r.id == e.rid)))
            .where(e.seq > after).order_by(e.seq).limit(limit))
        out: list[tuple[EventRow, Stored | None]] = []
        for row in rows:
            event = EventRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                             split(row[7]), split(row[8]), row[9], row[10], row[11], row[12])
            current = None if row[13] is None else Stored(
                row[13], row[1], row[2], row[14], row[17], row[15], row[16])
            out.append((event, current))
        return out

    def event_state(self, rtype: str, rid: str, version: int) -> str | None:
        """The stored state of ``rid`` after the write that made ``version``."""
        row = self._one("event_at", (rtype, rid, version))
        return None if row is None else str(row[1])

    def states(self, rtype: str, rid: str) -> list[tuple[str, str]]:
        """Every stored state of ``rid`` in the change feed with the time it was written, in
        the order written (when a resident's removed memberships ended:
        /req/privacy/retention)."""
        rows = self._cursor("states_of", (rtype, rid), lambda c: c.fetchall())
        return [(str(time), str(data)) for time, data in rows]

    def rewrite_events(self, rtype: str, rid: str, rewrite: Callable[[str], str]) -> int:
        """Replace the stored state of every event of ``rid`` by ``rewrite(state)`` (erasure
        leaves no copy of the record in the feed: /req/privacy/erasure-every-copy)."""
        rows = self._cursor("events_of", (rtype, rid), lambda c: c.fetchall())
        changed = [(new, seq) for seq, data in rows if (new := rewrite(str(data))) != data]
        self._many("rewrite_event", changed)
        return len(changed)

    def seal_feed(self) -> int:
        """Write the history head and chain digest on the events stored without them (before
        the server computed them), from the first such event on, and a salt on those stored
        without one (before events had salts); how many were sealed."""
        if self.sealer is None:
            return 0
        e = events.c
        first = self.conn.execute(select(func.min(e.seq)).where(e.chain.is_(None))).scalar()
        if first is None:
            return 0
        self._last_chain = self.conn.execute(
            select(e.chain).where(e.seq < first).order_by(e.seq.desc()).limit(1)).scalar()
        count, after = 0, first - 1
        # A page at a time: after migration 0006 the whole feed is sealed again, and a city's
        # feed, states and all, is not to be held in memory at once.
        while rows := self._event_rows([e.seq > after], _SEAL_PAGE):
            sealed = []
            for row in rows:
                head = row.head if row.head is not None else head_digest(orjson.loads(row.data))
                salt = row.salt if row.salt is not None else event_salt()
                chain = self._chain(EventRow(row.seq, row.rtype, row.rid, row.kind, row.action,
                                             row.version, row.time, (), (), "", head,
                                             salt=salt))
                sealed.append((head, chain, salt, row.seq))
            self._many("seal", sealed)
            count, after = count + len(sealed), rows[-1].seq
        self._last_event = None  # read again: the last chain digest has changed
        return count

    def _event_rows(self, conds: list[Any], limit: int | None) -> list[EventRow]:
        e = events.c
        query = (select(e.seq, e.rtype, e.rid, e.kind, e.action, e.version, e.time,
                        e.communities, e.departments, e.data, e.head, e.chain, e.salt)
                 .where(and_(*conds)).order_by(e.seq))
        rows = self.conn.execute(query if limit is None else query.limit(limit))
        return [EventRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], split(r[7]),
                         split(r[8]), r[9], r[10], r[11], r[12]) for r in rows]

    def last_event(self) -> int:
        return int(self.conn.execute(select(func.coalesce(func.max(events.c.seq), 0)))
                   .scalar_one())

    def written_after(self, after: int, limit: int) -> list[tuple[int, str, str, int]]:
        """(seq, resource type, id, version) of the events after ``after``, at most
        ``limit``, in order: what the writes of any process changed since."""
        e = events.c
        rows = self.conn.execute(select(e.seq, e.rtype, e.rid, e.version)
                                 .where(e.seq > after).order_by(e.seq).limit(limit))
        return [(int(seq), str(rtype), str(rid), int(version))
                for seq, rtype, rid, version in rows]

    # -- idempotency -------------------------------------------------------------------
    def idempotent(self, principal: str, key: str, since: str) -> dict[str, Any] | None:
        """What ``principal`` made with ``key``, unless it was remembered before ``since``
        (UTC text: the key has expired)."""
        row = self._one("idempotent", (principal, key, since))
        if row is None:
            return None
        return {"request": row[0], "body_hash": row[1], "status": row[2], "etag": row[3],
                "location": row[4], "rtype": row[5], "rid": row[6], "version": row[7]}

    def remember(self, principal: str, key: str, request: str, body_hash: str, status: int,
                 etag: str | None, location: str | None, made: tuple[str, str, int],
                 at: str, expired_before: str) -> None:
        """Keep what a create made (``made``: type, id, version), over the key's entry if that
        was remembered before ``expired_before``.

        Staged, the key goes out with the batch's writes, and a key remembered already and
        not expired misses (:class:`WriteMissed`): a job need not look its key up again
        inside a staged batch, as the batch then runs unstaged, where it does."""
        row = (principal, key, request, body_hash, status, etag, location, *made, at,
               expired_before)
        if self._staged is not None:
            self._keys.append(row)
        else:
            self._one("remember", row)

    def expire_keys(self, before: str) -> int:
        """Drop the idempotency keys remembered before ``before`` (UTC text); how many."""
        return self._run("expire", (before,))

    def forget(self, rtype: str, rid: str) -> None:
        """Drop every idempotency key that made ``rid`` (erasure purges them)."""
        self._run("forget", (rtype, rid))

    # -- audit -------------------------------------------------------------------------
    def audit(self, rows: Sequence[dict[str, Any]]) -> None:
        """Log access to sensitive information: one entry a row, keyed by the audit columns
        (``fields`` a list of pointers, ``communities`` a list of codes)."""
        values = [tuple(_audit_value(name, r[name]) for name in _AUDIT) for r in rows]
        if self.dialect == "postgresql" and values:
            # A page of residents logs one entry a resident, under the write lock: one COPY
            # stream costs PostgreSQL less than a statement for each.
            self._copy("audit", _AUDIT, values)
        else:
            self._many("audit", values)

    def expire_audit(self, before: str, since: str | None = None) -> int:
        """Delete the audit records written before ``before`` and not before ``since`` (the
        server's own timestamps, one offset, so they compare as text); how many
        (/req/privacy/retention)."""
        written = audit.c.at < before if since is None else and_(audit.c.at >= since,
                                                                 audit.c.at < before)
        result = self.conn.execute(delete(audit).where(written))
        return int(result.rowcount or 0)

    def audit_events(self, resident: str | None, communities: frozenset[str] | None,
                     after: int, limit: int) -> list[AuditRow]:
        a = audit.c
        conds: list[Any] = [a.seq > after]
        if resident:
            conds.append(a.resident == resident)
        if communities is not None:
            conds.append(_listed(a.communities, communities))
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


def _named(seq: int, derived: Derived) -> list[tuple[str, int]]:
    """The ``named_ever`` rows of resource ``seq`` written as ``derived``: a row for each
    resident it names (her ``named-resident`` terms)."""
    return [(v, seq) for k, v, _ in derived.terms if k == NAMED]


def _audit_value(column: str, value: Any) -> Any:
    if column == "fields":
        return orjson.dumps(value).decode()
    return joined(value) if column == "communities" else value


def _codes_held() -> Any:
    """Of the category codes resources of ``:rtype`` hold, ``:code`` and those in ``[:low,
    :high)`` (its sub-codes), at most ``:most``: a loose index scan, each code the first one
    after the last (a recursive query), so a code held by a million records costs what one
    held once does."""
    c, later = resources.c, resources.alias("later").c
    rtype: Any = bindparam("rtype")
    high: Any = bindparam("high")
    codes = (select(c.category.label("code"))
             .where(c.rtype == rtype, c.category >= bindparam("low"), c.category < high)
             .order_by(c.category).limit(1).cte("codes", recursive=True))
    following = (select(later.category)
                 .where(later.rtype == rtype, later.category > codes.c.code, later.category < high)
                 .order_by(later.category).limit(1).scalar_subquery())
    codes = codes.union_all(select(following).where(codes.c.code.is_not(None)))
    itself = select(c.category).where(c.rtype == rtype, c.category == bindparam("code")).limit(1)
    under = select(codes.c.code).where(codes.c.code.is_not(None))
    return union_all(itself, under).limit(bindparam("most"))


#: built once: building it costs more than running it
_CODES_HELD = _codes_held()


def _listed(column: Any, codes: frozenset[str]) -> Any:
    """``column`` (a :func:`joined` list) names one of ``codes``; nothing matches none."""
    if not codes:
        return false()
    return or_(*[column.like(f"%|{code}|%") for code in sorted(codes)])
