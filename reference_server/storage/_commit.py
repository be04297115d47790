"""Group commit: the write jobs of concurrent requests share one transaction and one sync."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ._transactions import Tx, WriteMissed

if TYPE_CHECKING:
    from ._store import Store

__all__ = ["Committer"]

T = TypeVar("T")


class _Job:
    """One job of a batch: what it runs, and its outcome once the batch is settled."""

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


#: how often a job is run alone before a deadlock it keeps meeting is its answer
_ATTEMPTS = 3
#: SQLSTATEs of a transaction failed only by its timing: a deadlock broken, a serialisation
_TRANSIENT = frozenset({"40P01", "40001"})


def _transient(exc: BaseException) -> bool:
    """Whether ``exc`` failed its transaction for the timing of others, not for itself."""
    state = getattr(exc, "sqlstate", None) or getattr(getattr(exc, "orig", None), "sqlstate",
                                                      None)
    return state in _TRANSIENT


class Committer:
    """Group commit: the write jobs of concurrent requests share one transaction and one sync.

    The batch commits once, and only then does any of its requests get its answer, so every
    acknowledged write is durable. Its jobs' resource writes are staged (:meth:`Tx.stage`):
    they go out together once the jobs have run. The batch holds the store's write lock like
    any single write from its first statement on, so on PostgreSQL the jobs' own work is done
    before it, and when no job read anything first, so are the records: only their events
    and the commit are under the lock.

    A job may refuse (raise one of ``refusals``, such as a 409 or 412) only before it writes
    anything, so its refusal needs no rollback and the other jobs of the batch commit. Any
    other exception may have left a half-written job, and a staged write that wrote nothing
    (an id taken, a version moved on) leaves its job answered wrongly: the batch is rolled
    back and each of its jobs is run again alone and unstaged, so only the failing one fails,
    with the refusal it would have had alone.
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

    def _alone(self, item: _Job) -> None:
        """Run ``item`` in a transaction of its own, unstaged: again when the database broke
        a deadlock by failing it (a batch's writes sent before the lock and another
        process's under it can wait for each other)."""
        for attempt in range(_ATTEMPTS):
            try:
                self._attempt([item], staged=False)
                return
            except BaseException as alone:  # this job's own failure
                item.error, item.result = alone, None
                if not _transient(alone) or attempt == _ATTEMPTS - 1:
                    return

    def _attempt(self, batch: list[_Job], staged: bool = True) -> None:
        with self.store.write() as tx:
            if staged:
                # The jobs' writes go out together once they have run, and take the write
                # lock only then; one that writes nothing fails the batch (WriteMissed), whose
                # jobs then run alone, unstaged, and refuse as they should.
                tx.stage()
            for item in batch:
                item.error = item.result = None
                try:
                    item.result = item.job(tx)
                except self.refusals as exc:
                    item.error = exc
            tx.flush()
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
            if len(batch) == 1 and not isinstance(exc, WriteMissed) and not _transient(exc):
                batch[0].error, batch[0].result = exc, None
            else:
                for item in batch:
                    self._alone(item)
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
