"""Group commit: the writes of concurrent requests share one transaction, and on PostgreSQL
go out together, after the jobs have run. Whatever a batch holds, each request gets the
answer it would have had alone, in the order the batch ran them, and the feed runs on without
a gap, each event chained to the one before."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import example as case
from hypothesis import strategies as st

from reference_server.auth import principal_from
from reference_server.errors import ProblemError
from reference_server.storage import EventRow, ListQuery, Store, Tx
from reference_server.storage._commit import _Job
from smartcommunity.integrity import chain_digest

from .conftest import make_app
from .helpers import TOKENS, actor_of, as_creator, example, submitted_issue

#: what a request of the batch does: a create of a new id, of an id stored before the batch,
#: of an id an earlier create of the batch made; an update of a stored issue from its
#: version, and one from the version an earlier update of the batch moved it on from; a
#: create with a new Idempotency-Key, one with the key and body of an earlier keyed create
#: of the batch (a replay), one with its key and another body (422); a read that logs what
#: it disclosed (/req/privacy/audit-log)
_STEPS = st.sampled_from(["new", "taken", "again", "update", "stale", "keyed", "resent",
                          "reused", "read"])
_STAFF = "demo-staff-liu-fang"


def _issue(rid: str) -> dict[str, Any]:
    return as_creator(submitted_issue(id=rid), actor_of(_STAFF))


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(_STEPS, min_size=2, max_size=8))
@case(plan=["keyed", "reused"])  # a key's other body in the batch
@case(plan=["read", "taken", "read"])  # the batch runs again: each read logged once
def test_each_request_of_a_batch_gets_its_own_answer(app: Any, plan: list[str]) -> None:
    service = app.state.sc.service
    store: Store = service.store
    assert store.committer is not None
    staff = principal_from(TOKENS[_STAFF])

    def create(rid: str, key: str | None = None) -> Any:
        return service.prepare_create(staff, "Issue", _issue(rid), key)

    stored = [str(uuid.uuid4()) for _ in plan]
    for rid in stored:  # each step has an issue of its own, stored before the batch
        store.transact(create(rid))
    jobs, expected = [], []
    made: list[str] = []
    updated: list[str] = []
    keyed: list[tuple[str, str]] = []  # (key, id) of the batch's keyed creates
    replays = 0  # answered from an earlier create: no write of their own
    reads: list[str] = []  # the resident each read logged, in the batch's order
    for rid, step in zip(stored, plan, strict=True):
        if step == "read":
            reads.append(str(uuid.uuid4()))
            row = service.audit_row(staff, "read", reads[-1], ["/name"], ["c1"], "2026")
            jobs.append(lambda tx, row=row: tx.audit([row]))
            expected.append(None)
        elif step == "keyed" or (step in ("resent", "reused") and not keyed):
            keyed.append((str(uuid.uuid4()), str(uuid.uuid4())))
            jobs.append(create(keyed[-1][1], keyed[-1][0]))
            expected.append(201)
        elif step in ("resent", "reused"):
            key, made_id = keyed[-1]
            jobs.append(create(made_id if step == "resent" else str(uuid.uuid4()), key))
            expected.append(200 if step == "resent" else 422)
            replays += step == "resent"
        elif step == "new" or (step == "again" and not made):
            made.append(str(uuid.uuid4()))
            jobs.append(create(made[-1]))
            expected.append(201)
        elif step in ("taken", "again"):
            jobs.append(create(rid if step == "taken" else made[-1]))
            expected.append(409)
        else:
            target = updated[-1] if step == "stale" and updated else rid
            with store.read() as tx:
                current = tx.get("Issue", target)
            assert current is not None
            doc = {**current.doc, "title": f"step {len(jobs)}"}
            jobs.append(service.prepare_update(staff, "Issue", target, doc,
                                               [str(current.version)]))
            expected.append(412 if target in updated else 200)
            updated.append(target)
    with store.read() as tx:
        start = tx.last_event()
    batch = [_Job(job) for job in jobs]
    store.committer._commit(batch)

    def answer(item: _Job) -> int | None:
        if isinstance(item.error, ProblemError):
            return item.error.status
        assert item.error is None, item.error
        return None if item.result is None else int(item.result.status)

    assert [answer(item) for item in batch] == expected
    with store.read() as tx:
        first = tx.events(start - 1, 1)
        events = tx.events(start, 100)
    writes = sum(status in (200, 201) for status in expected) - replays
    assert [e.seq for e, _ in events] == list(range(start + 1, start + 1 + writes))
    assert store.sealer is not None
    chain = first[0][0].chain if first else None
    for event, _ in events:  # each digest chains the event to the one before
        chain = chain_digest(chain, store.sealer(EventRow(
            event.seq, event.rtype, event.rid, event.kind, event.action, event.version,
            event.time, (), (), "", event.head, salt=event.salt)))
        assert event.chain == chain
    with store.read() as tx:  # each read logged once, whether or not the batch ran again
        logged = [row.resident for rid in reads for row in tx.audit_events(rid, None, 0, 10)]
    assert logged == reads


def test_a_batch_takes_the_write_lock_once_its_jobs_have_run(
        postgresql_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL a batch of creates holds its writes back until its jobs have run, and
    takes the write lock only then: what the jobs do in Python is outside the lock."""
    service = postgresql_app.state.sc.service
    store: Store = service.store
    assert store.committer is not None
    staff = principal_from(TOKENS[_STAFF])
    jobs = [service.prepare_create(staff, "Issue", _issue(str(uuid.uuid4())), None)
            for _ in range(5)]
    seen: list[str] = []
    ready = Tx._ready

    def watched(self: Tx) -> None:
        if self._lock is not None:
            seen.append("lock")
        ready(self)

    def ran(job: Any) -> Any:
        def run(tx: Tx) -> Any:
            result = job(tx)
            seen.append("job")
            return result
        return run

    monkeypatch.setattr(Tx, "_ready", watched)
    batch = [_Job(ran(job)) for job in jobs]
    store.committer._commit(batch)
    assert [item.result.status for item in batch] == [201] * 5
    assert seen == ["job"] * 5 + ["lock"]


def test_a_batch_with_a_taken_id_commits_twice_at_most(app: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A create of a taken id in a batch is found when the batch's writes go out: the batch is
    run once more unstaged, where that create refuses 409 and the others commit together, not
    each in a transaction of its own (a client resending a create would otherwise cost a
    commit for every request of the batch)."""
    service = app.state.sc.service
    store: Store = service.store
    assert store.committer is not None
    staff = principal_from(TOKENS[_STAFF])
    taken = str(uuid.uuid4())
    store.transact(service.prepare_create(staff, "Issue", _issue(taken), None))
    jobs = [service.prepare_create(staff, "Issue", _issue(str(uuid.uuid4())), None)
            for _ in range(8)]
    jobs.insert(3, service.prepare_create(staff, "Issue", _issue(taken), None))
    write = Store.write
    transactions: list[int] = []

    def counted(self: Store) -> Any:
        transactions.append(1)
        return write(self)

    monkeypatch.setattr(Store, "write", counted)
    batch = [_Job(job) for job in jobs]
    store.committer._commit(batch)
    assert [getattr(item.error, "status", None) or item.result.status for item in batch] == [
        201, 201, 201, 409, 201, 201, 201, 201, 201]
    assert len(transactions) <= 2


def test_a_create_of_the_same_key_in_one_batch_is_replayed(app: Any) -> None:
    """Two creates of a resident with the same Idempotency-Key, both prepared before either
    committed, land in one batch: the second replays the first, audited in the batch's own
    transaction (an audit written through the group commit from inside it waited for itself,
    and every write of the process hung)."""
    service = app.state.sc.service
    store: Store = service.store
    assert store.committer is not None
    staff = principal_from(TOKENS[_STAFF])
    doc = example("resident/chen-zhiqiang.json")
    doc["id"] = str(uuid.uuid4())
    doc.pop("externalRefs", None)
    key = str(uuid.uuid4())
    batch = [_Job(service.prepare_create(staff, "Resident", dict(doc), key)) for _ in range(2)]
    done = threading.Thread(target=store.committer._commit, args=(batch,), daemon=True)
    done.start()
    done.join(30)
    assert not done.is_alive(), "the batch hung"
    assert [item.result.status for item in batch] == [201, 200]
    assert batch[1].result.headers.get("Idempotent-Replayed") == "true"
    with store.read() as tx:
        logged = tx.audit_events(doc["id"], None, 0, 100)
    assert [row.operation for row in logged] == ["create", "replay"]


def test_paging_sees_a_create_another_process_committed_during_the_walk(
        pg_url: str) -> None:
    """/req/core/paging across processes: a create staged in one process's batch draws its
    place in the list under the write lock, so it cannot commit behind a reader's cursor while
    another process's later creates, listed already, went first."""
    apps = [make_app(pg_url) for _ in range(2)]
    services = [a.state.sc.service for a in apps]
    staff = principal_from(TOKENS[_STAFF])
    marker = f"test.paging-{uuid.uuid4().hex[:8]}"

    def create(service: Any, title: str) -> Any:
        doc = _issue(str(uuid.uuid4()))
        doc.update(category=marker, title=title)
        return service.prepare_create(staff, "Issue", doc, None)

    for n in range(3):
        services[0].store.transact(create(services[0], f"before {n}"))
    a_job = create(services[0], "A")
    b_job, c_job = create(services[1], "B"), create(services[1], "C")
    locked, a_running = threading.Event(), threading.Event()

    def second(tx: Tx) -> int:  # the other process: a job that reads first holds the lock
        tx.last_event()
        locked.set()
        assert a_running.wait(10)
        time.sleep(0.3)  # the first process's batch has sent what it sends before the lock
        b_job(tx)
        c_job(tx)
        return 201

    def slow(tx: Tx) -> int:  # another job of the first process's batch, after A's
        a_running.set()
        tx.last_event()
        time.sleep(1)
        return 200

    other = threading.Thread(target=services[1].store.transact, args=(second,))
    other.start()
    assert locked.wait(10)
    batch = [_Job(a_job), _Job(slow)]
    first = threading.Thread(target=services[0].store.committer._commit, args=(batch,))
    first.start()
    other.join(30)
    page = orjson.loads(services[0].list_page(staff, "Issue", ListQuery(category=marker), None,
                                              4).body)
    seen = [item["title"] for item in page["items"]]
    first.join(30)  # A commits while the walk goes on
    while page["next"]:
        page = orjson.loads(services[0].list_page(staff, "Issue", ListQuery(category=marker),
                                                  page["next"], 4).body)
        seen += [item["title"] for item in page["items"]]
    for service in services:
        service.store.dispose()
    assert sorted(seen) == ["A", "B", "C", "before 0", "before 1", "before 2"]
