"""The storage layer: group commit keeps each job's outcome its own, on both databases."""

from __future__ import annotations

from typing import Any

import pytest

from reference_server.errors import Conflict
from reference_server.storage import Scope, Store
from reference_server.storage._store import _Job

from .helpers import submitted_issue


def test_a_batch_commits_what_succeeded_and_only_that(app: Any) -> None:
    service = app.state.sc.service
    store: Store = service.store

    def _event(tx: Any, doc: dict[str, Any]) -> None:
        tx.write_many([service.import_change(doc, doc["submittedAt"])], upsert=False)

    assert store.committer is not None
    with store.read() as tx:
        start = tx.last_event()

    def refuses(tx: Any) -> None:
        raise Conflict("refused before writing")

    def breaks(tx: Any) -> None:
        _event(tx, submitted_issue())  # a write, then an unexpected failure
        raise RuntimeError("half done")

    good = [_Job(lambda tx: _event(tx, submitted_issue())) for _ in range(2)]
    bad_refusal, bad_crash = _Job(refuses), _Job(breaks)
    batch = [good[0], bad_refusal, bad_crash, good[1]]
    store.committer._commit(batch)
    assert all(item.done.is_set() for item in batch)
    assert isinstance(bad_refusal.error, Conflict)
    assert isinstance(bad_crash.error, RuntimeError)
    assert good[0].error is None and good[1].error is None
    with store.read() as tx:
        rows = tx.events(start, 100, Scope())
    assert [r.seq for r in rows] == [start + 1, start + 2]  # the crashed job left nothing


def test_store_needs_a_file_or_postgresql(tmp_path: Any) -> None:
    with pytest.raises(ValueError):
        Store("sqlite://")
    with pytest.raises(ValueError):
        Store("mysql://localhost/x")
