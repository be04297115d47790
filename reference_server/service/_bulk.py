"""Bulk import: documents prepared in worker processes, stored in large batches.

Preparing a document (parsing, validating, giving it its meta, sealing its history, indexing
it) needs no database, and costs several times what storing it does; worker processes do it,
so an import uses every core. The importing process keeps what must happen in order: each
event's sequence number and chain digest, and the batched writes (one transaction per batch
of thousands, rows written with multi-row statements). The stored rows, the change feed and
its chain are those of importing the documents one by one, in the same order.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import gc
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import orjson

from smartcommunity import Validator
from smartcommunity.integrity import head_digest, seal_history

from ..errors import IdConflict, ProblemError, Unprocessable
from ..storage import Change, Derived, Duplicate, derive
from ._shared import now_cst, refused, stamp, unprocessable

if TYPE_CHECKING:
    from ._core import Service

__all__ = ["ImportStopped", "Line", "import_lines", "imported", "version_refusal"]

#: one input document: where it comes from (``file:line``) and its JSON text
Line = tuple[str, bytes]
#: the fields of Derived, in order
_DERIVED = tuple(f.name for f in fields(Derived))
#: documents a worker prepares at a time: large enough that the hand-over costs little
_CHUNK = 250


class ImportStopped(Exception):
    """An import stopped at a document it refused; what came before it is stored."""

    def __init__(self, where: str, imported: int, problem: ProblemError) -> None:
        super().__init__(f"{where}: {problem.detail}")
        self.where = where
        self.imported = imported
        self.problem = problem


def version_refusal(versions: Sequence[str], doc: Any) -> ProblemError | None:
    """The refusal of a document of an installed version the server does not take."""
    from smartcommunity.specification import available_versions

    if isinstance(doc, Mapping) and doc.get("specVersion") not in versions and (
            doc.get("specVersion") in available_versions()):
        return unprocessable([(
            "/specVersion", f"this server takes documents of versions {list(versions)}",
            f"本服务器只接收以下版本的文档：{list(versions)}",
            "/req/core/document-type")])
    return None


def imported(doc: Mapping[str, Any], at: str, source: str) -> dict[str, Any]:
    """An imported document as stored: its own meta (with this server as its source when it
    names none), or version 1 made ``at``; its history sealed as it is stored."""
    meta = doc.get("meta") if isinstance(doc.get("meta"), Mapping) else None
    new = dict(doc)
    if meta and "versionId" in meta and "lastUpdated" in meta:
        new["meta"] = {**meta, "source": meta.get("source", source)}
    else:
        given = dict(meta) if meta else {}
        new["meta"] = {**given, "versionId": "1", "lastUpdated": at, "createdAt": at,
                       "source": given.get("source") or source}
    return seal_history(new)


def change_of(new: dict[str, Any], at: str, *, prepared: bool) -> Change:
    """The change that stores ``new``; ``prepared``: with its index and history head, so that
    the writer need not look at the document again."""
    text = orjson.dumps(new).decode()
    return Change(str(new["resourceType"]), str(new["id"]), int(new["meta"]["versionId"]),
                  text, new if not prepared else {}, "created", "create", at,
                  (derive(new), head_digest(new)) if prepared else None)


def _finish(doc: Any, at: str, source: str) -> Change | list[dict[str, Any]]:
    """The change storing a parsed (and accepted) document, or why it cannot be stored."""
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
        # Only without validation: the schema asks for an id.
        return list(unprocessable([("/id", "an imported document needs an id",
                                    "导入的文档需要 id", "/req/core/document-type")]).errors)
    return change_of(imported(doc, at, source), at, prepared=True)


class _Preparer:
    """A worker's state: the validator and what an imported document's meta names. It checks
    what :meth:`Service.validate` checks without a profile and without the city's key (an
    import never reads pseudonyms with it)."""

    def __init__(self, spec_version: str, versions: tuple[str, ...], source: str,
                 validate: bool) -> None:
        self.validator = Validator(spec_version)
        self.versions = versions
        self.source = source
        self.validate = validate

    def prepare(self, raw: bytes, at: str) -> Change | list[dict[str, Any]] | None:
        """The change storing ``raw``, the errors refusing it, or None: not JSON."""
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        if self.validate:
            refusal = version_refusal(self.versions, doc)
            if refusal is None:
                refusal = refused(self.validator.validate(doc), doc)
            if refusal is not None:
                return list(refusal.errors)
        return _finish(doc, at, self.source)


_WORKER: _Preparer | None = None


def _start_worker(spec_version: str, versions: tuple[str, ...], source: str,
                  validate: bool) -> None:
    global _WORKER
    # What a chunk makes is freed as soon as it is handed back: no cycles for the collector
    # to look for, and its passes over a growing heap cost a third of the time.
    gc.disable()
    _WORKER = _Preparer(spec_version, versions, source, validate)


_Prepared = Change | list[dict[str, Any]] | None


def _prepare_chunk(raws: list[bytes], at: str) -> list[Any]:
    assert _WORKER is not None
    return [_packed(_WORKER.prepare(raw, at)) for raw in raws]


def _packed(item: _Prepared) -> Any:
    """A prepared change as plain tuples: pickled five times faster than the dataclasses."""
    if not isinstance(item, Change) or item.prepared is None:
        return item
    derived, head = item.prepared
    return (item.rtype, item.rid, item.version, item.text, item.time,
            tuple(getattr(derived, f) for f in _DERIVED), head)


def _unpacked(item: Any) -> _Prepared:
    if not isinstance(item, tuple):
        return item  # type: ignore[no-any-return]
    rtype, rid, version, text, at, derived, head = item
    return Change(rtype, rid, version, text, {}, "created", "create", at,
                  (Derived(*derived), head))


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _chunks(lines: Iterable[Line]) -> Iterator[list[Line]]:
    chunk: list[Line] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _prepared(service: Service, lines: Iterable[Line], validate: bool, jobs: int,
              ) -> Iterator[tuple[str, _Prepared]]:
    """Every line prepared, in input order, with where it comes from: in ``jobs`` worker
    processes, or here (one job, or a city profile, which reads documents too)."""
    if jobs <= 1 or service.profile is not None:
        for where, raw in lines:
            yield where, _checked(service, raw, validate)
        return
    args = (service.settings.spec_version, service.versions, service.source, validate)
    # Spawned, not forked: the importing process holds open database connections.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context,
                                                initializer=_start_worker,
                                                initargs=args) as pool:
        waiting: collections.deque[tuple[list[str], concurrent.futures.Future[Any]]] = (
            collections.deque())

        def oldest() -> Iterator[tuple[str, _Prepared]]:
            wheres, future = waiting.popleft()
            return zip(wheres, map(_unpacked, future.result()), strict=True)

        try:
            for chunk in _chunks(lines):
                # The events' time is the moment the chunk is read, as a batch import's is.
                future = pool.submit(_prepare_chunk, [raw for _, raw in chunk],
                                     stamp(now_cst()))
                waiting.append(([where for where, _ in chunk], future))
                if len(waiting) >= 4 * jobs:  # bounded: the input may be larger than memory
                    yield from oldest()
            while waiting:
                yield from oldest()
        finally:
            for _, future in waiting:
                future.cancel()


def _checked(service: Service, raw: bytes, validate: bool) -> _Prepared:
    """One document prepared in this process, with everything the service checks."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if validate:
        try:
            service.validate(doc, keyed=False, imported=True)
        except ProblemError as exc:
            return list(exc.errors)
    return _finish(doc, stamp(now_cst()), service.source)


def import_lines(service: Service, lines: Iterable[Line], *, validate: bool = True,
                 jobs: int = 1, batch: int = 5000, one_by_one: bool = False,
                 not_json: Callable[[str], None] | None = None,
                 progress: Callable[[int], None] | None = None) -> int:
    """Store the documents of ``lines`` in order, each with a ``created`` event; how many.

    The first document refused (invalid, or an id the store holds) stops the import with
    :class:`ImportStopped`: every document before it is stored, nothing of it or after it.
    A line that is not JSON is reported to ``not_json`` and skipped. ``one_by_one``: each
    document in its own transaction (the reference the batched import is held to).
    """
    count = 0
    pending: list[Change] = []
    wheres: list[str] = []
    size = 1 if one_by_one else batch

    def flush() -> None:
        nonlocal count
        if not pending:
            return
        try:
            with service.store.write() as tx:
                tx.write_many(pending, upsert=False)
        except Duplicate:
            # Nothing of the batch is stored: store it one by one up to the duplicate, as
            # an import one by one would have (rare: a second import of the same data).
            for i, change in enumerate(pending):
                try:
                    with service.store.write() as tx:
                        tx.write_many([change], upsert=False)
                except Duplicate as exc:
                    raise ImportStopped(wheres[i], count + i, IdConflict(id=exc.rid)) from None
            raise
        count += len(pending)
        pending.clear()
        wheres.clear()
        if progress:
            progress(count)

    try:
        with _collector_paused():
            for where, item in _prepared(service, lines, validate, jobs):
                if item is None:
                    if not_json:
                        not_json(where)
                    continue
                if isinstance(item, list):
                    flush()
                    raise ImportStopped(where, count, Unprocessable(count=len(item),
                                                                    errors=item))
                pending.append(item)
                wheres.append(where)
                if len(pending) >= size:
                    flush()
            flush()
    except ImportStopped as stopped:
        if stopped.imported:  # what is stored is listed by the statistics too
            service.store.analyze(stopped.imported)
        raise
    if count:
        service.store.analyze(count)
    return count
