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
from hypothesis import strategies as st

from reference_server.auth import principal_from
from reference_server.errors import PreconditionFailed, ProblemError
from reference_server.storage import EventRow, NewEvent, Store, Tx, derive
from reference_server.storage._commit import _Job
from smartcommunity.integrity import chain_digest

from .helpers import TOKENS, actor_of, as_creator, submitted_issue, throwaway_pg

#: what a request of the batch does: a create of a new id, of an id stored before the batch,
#: of an id an earlier create of the batch made; an update of a stored issue from its
#: version, and one from the version an earlier update of the batch moved it on from
_STEPS = st.sampled_from(["new", "taken", "again", "update", "stale"])
_STAFF = "demo-staff-liu-fang"


def _issue(rid: str) -> dict[str, Any]:
    return as_creator(submitted_issue(id=rid), actor_of(_STAFF))


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(_STEPS, min_size=2, max_size=8))
def test_each_request_of_a_batch_gets_its_own_answer(app: Any, plan: list[str]) -> None:
    service = app.state.sc.service
    store: Store = service.store
    assert store.committer is not None
    staff = principal_from(TOKENS[_STAFF])

    def create(rid: str) -> Any:
        return service.prepare_create(staff, "Issue", _issue(rid), None)

    stored = [str(uuid.uuid4()) for _ in plan]
    for rid in stored:  # each step has an issue of its own, stored before the batch
        store.transact(create(rid))
    jobs, expected = [], []
    made: list[str] = []
    updated: list[str] = []
    for rid, step in zip(stored, plan, strict=True):
        if step == "new" or (step == "again" and not made):
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

    def answer(item: _Job) -> int:
        if isinstance(item.error, ProblemError):
            return item.error.status
        assert item.error is None, item.error
        return int(item.result.status)

    assert [answer(item) for item in batch] == expected
    with store.read() as tx:
        first = tx.events(start - 1, 1)
        events = tx.events(start, 100)
    assert [e.seq for e, _ in events] == list(range(start + 1, start + 1 + sum(
        status < 300 for status in expected)))
    assert store.sealer is not None
    chain = first[0][0].chain if first else None
    for event, _ in events:  # each digest chains the event to the one before
        chain = chain_digest(chain, store.sealer(EventRow(
            event.seq, event.rtype, event.rid, event.kind, event.action, event.version,
            event.time, (), (), "", event.head, salt=event.salt)))
        assert event.chain == chain


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


def test_a_deadlock_with_another_process_is_broken_and_its_write_answered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes write the same record: one (B) holds the write lock and writes it after a
    read; the other (A) wrote it before the lock, as a batch's writes go, and waits for the
    lock. Each waits for the other: PostgreSQL breaks the cycle by failing one transaction,
    and that one's request is run again, alone; so one write succeeds and the other is refused
    412 as its If-Match went stale, never a server error."""
    with throwaway_pg("sc_deadlock") as url:
        stores = [Store(url) for _ in range(2)]
        try:
            stores[0].migrate()
            for store in stores:
                assert store.committer is not None
                store.committer.refusals = (ProblemError,)
            doc = {"resourceType": "Issue", "id": str(uuid.uuid4()), "status": "submitted",
                   "communityDivisionCode": "110105009999"}
            text = orjson.dumps(doc).decode()
            stores[0].transact(lambda tx: tx.insert("Issue", doc["id"], 1, text, derive(doc),
                                                    NewEvent("created", "create", "t")))
            b_locked, a_waits = threading.Event(), threading.Event()
            take_lock = Tx._take_lock

            def watched(self: Tx, read_last: bool) -> None:
                if read_last:  # A, its batch's writes sent, about to wait for the lock
                    a_waits.set()
                take_lock(self, read_last)

            monkeypatch.setattr(Tx, "_take_lock", watched)

            with stores[0].read() as tx:
                prepared = tx.get("Issue", doc["id"])  # as a request prepares its write
            assert prepared is not None

            def write(tx: Tx) -> int:  # a write from version 1, as an If-Match "1" asks
                assert prepared is not None
                if not tx.replace(prepared, 2, text, derive(doc), 1,
                                  NewEvent("updated", "update", "t")):
                    raise PreconditionFailed(given='"1"', current='"2"')
                return 200

            def job_b(tx: Tx) -> int:
                tx.get("Issue", doc["id"])  # a read: the write lock is taken first
                b_locked.set()
                assert a_waits.wait(10)
                time.sleep(0.2)  # A is waiting for the lock by now
                return write(tx)

            answers: dict[str, Any] = {}

            def run(name: str, store: Store, job: Any) -> None:
                try:
                    answers[name] = store.transact(job)
                except Exception as exc:  # the answer under test
                    answers[name] = exc

            b = threading.Thread(target=run, args=("b", stores[1], job_b))
            b.start()
            assert b_locked.wait(10)
            # A's batch: its write staged, sent before the lock, answered later
            a = threading.Thread(target=run, args=("a", stores[0], write))
            a.start()
            a.join(30)
            b.join(30)
            outcomes = sorted(str(v.status if isinstance(v, ProblemError) else v)
                              for v in answers.values())
            assert outcomes == ["200", "412"], answers
            with stores[0].read() as tx:
                assert [e.version for e, _ in tx.events(0, 10)] == [1, 2]
        finally:
            for store in stores:
                store.dispose()
