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


class Committer:
    """Group commit: the write jobs of concurrent requests share one transaction and one sync.

    The batch commits once, and only then does any of its requests get its answer, so every
    acknowledged write is durable. Writers stay serialised: the batch holds the store's write
    lock like any single write, from its first statement on. Its jobs' resource writes are
    staged (:meth:`Tx.stage`) and go out together once the jobs have run, so on PostgreSQL a
    batch whose jobs read nothing first does its jobs' work before it takes the lock.

    A job may refuse (raise one of ``refusals``, such as a 409 or 412) only before it writes
    anything, so its refusal needs no rollback and the other jobs of the batch commit. Any
    other exception may have left a half-written job: the batch is rolled back and each of its
    jobs is run again alone, so only the failing one fails. A staged write that wrote nothing
    (an id taken, a version moved on) has its job answered wrongly: the batch is run again
    unstaged, where that job refuses before it writes.
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
        if threading.current_thread() is self._thread:
            # It would wait for the batch it is part of: every write would hang.
            raise RuntimeError("a write job may not wait for another one; write on its own "
                               "transaction")
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

    def _attempt(self, batch: list[_Job], staged: bool = True) -> None:
        with self.store.write() as tx:
            if staged:
                # The jobs' writes go out together once they have run, and take the write
                # lock only then; one that writes nothing fails the batch (WriteMissed), which
                # then runs unstaged, where that job refuses as it should.
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
            try:
                self._attempt(batch)
            except WriteMissed:
                # A staged write found its id taken or its version moved on: unstaged, its
                # job refuses before writing and the others still share one commit.
                self._attempt(batch, staged=False)
        except BaseException as exc:  # the transaction failed: nothing of the batch is stored
            if len(batch) == 1:
                batch[0].error, batch[0].result = exc, None
            else:
                for item in batch:
                    try:
                        self._attempt([item], staged=False)
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
