"""The public pages under ``/public/`` (/conf/public-pages): read without a token.

Every consultation is read as the anonymous public principal, so what a page shows is what the
API gives a caller without a token — the same visibility filter, redaction and hidden vote
results (/req/public-pages/published-only, /req/public-pages/public-audience); so are the
opinions and proposals on it, shown with their replies (/req/public-pages/voices). Issue statistics
come from one grouped query over the indexed columns (category, community, submission time)
made once; after that the counts follow the change feed, each issue written since moving from
the cell it was counted in to its cell now, so that a page made again after a write costs the
write, not the store. A page view reads one number, never the issues
(/req/public-pages/small-cells).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from smartcommunity.transparency import (
    LANGUAGES,
    VOICE_MEMBERS,
    IssueStatistics,
    Links,
    NoticeFontMissing,
    consultation_page,
    index_page,
    minimum_cell_count,
    notice_pdf,
    shifted_month,
    statistics_page,
)

from .errors import NotFound, ProblemError
from .http import check_own_route
from .service import Service
from .storage import (
    ListQuery,
    Stored,
    changed_between,
    derive,
    feed_head,
    submission_cell,
    submission_counts,
)

__all__ = ["PUBLIC_PREFIX", "NoticeUnavailable", "PublicPages", "public_routes"]

#: where the public pages are served (/req/public-pages/no-token)
PUBLIC_PREFIX = "/public/"
_HTML = "text/html; charset=utf-8"
#: pages are public and change only with the data: caches may keep them as long as the pages
#: may lag a change (/req/public-pages/small-cells)
_CACHE = {"Cache-Control": "public, max-age=5"}


class NoticeUnavailable(ProblemError):
    """No CJK font: the notice would be unreadable, so none is sent."""

    status = 503
    code = "public.notice-font-missing"
    title = "Notice unavailable"
    requirement = "/req/public-pages/notice-pdf"


@dataclass(frozen=True, slots=True)
class _Rendered:
    head: int  # the change feed's head it was made at
    until: datetime | None  # when it goes stale by itself (vote results becoming visible)
    body: bytes


Key = tuple[str, ...]  # ("index", lang), ("consultation", id, lang), ("figures", lang|"json"),
#                        ("notice", id, lang)


class PublicPages:
    """The public pages of one service, each kept once made until the data changes.

    Whether the data changed is the change feed's head, read at most every ``recheck``
    seconds (so that serving a kept page needs no database read), which is how long a page
    may lag a write made through another worker or instance.
    """

    #: seconds between two reads of the change feed's head
    recheck = 1.0
    #: pages kept at most (a city has few published consultations; each has four pages)
    kept = 2048
    #: change events the counts follow one by one; beyond that, one grouped query is cheaper
    followed = 5000

    def __init__(self, service: Service) -> None:
        self.service = service
        self.threshold = minimum_cell_count(service.spec.version)
        self.links = Links(PUBLIC_PREFIX)
        self._lock = threading.Lock()
        self._rendered: dict[Key, _Rendered] = {}
        self._head = -1
        self._checked = float("-inf")
        self._checking = False  # a read of the head is under way
        #: exact issue counts by (category, community, China-time month) at feed head
        #: ``_counted_at`` (None: not counted yet)
        self._counts: Counter[tuple[str, str, str]] | None = None
        self._counted_at = 0
        #: the figures at a feed head, which each form of the page is made from
        self._stats: tuple[int, IssueStatistics] | None = None
        # The resource types behind the pages, by the collections the OpenAPI names them.
        types = {collection: rtype for rtype, collection in service.spec.collections.items()}
        self.consultation_type = types["consultations"]
        self.issue_type = types["issues"]
        #: residents' voice shown on a consultation's page (/req/public-pages/voices)
        self.voice_types = tuple(types[c] for c in ("opinions", "proposals") if c in types)

    def warm(self) -> None:
        """Compile what the pages use — the templates, the consultation's redaction plan and
        codelist titles — by making each page once from the spec's own example, before the
        application freezes its long-lived objects: made later, they would be walked by every
        full garbage collection, a pause of a tenth of a second under load."""
        spec = self.service.spec
        example = next((dict(d) for _, d in spec.examples()
                        if d.get("resourceType") == self.consultation_type), None)
        if example is not None:
            text = orjson.dumps(example).decode()
            row = Stored.prepared(0, example, text, derive(example))
            presented = self.service.present(self.service.anonymous, row, check=False)
            doc = presented.document() if presented is not None else example
            for lang in LANGUAGES:
                consultation_page(doc, lang, self.links)
                index_page([doc], lang, self.links)
        for lang in LANGUAGES:
            statistics_page(IssueStatistics.from_counts({}, self.threshold), lang, self.links)

    # -- data ---------------------------------------------------------------------------
    def head(self) -> int:
        """The change feed's head, read again when the last read is ``recheck`` s old."""
        if time.monotonic() - self._checked >= self.recheck:
            self._checking = True
            try:
                with self.service.store.read() as tx:
                    self._head = feed_head(tx)
                self._checked = time.monotonic()
            finally:
                self._checking = False
        return self._head

    def consultations(self) -> Iterator[dict[str, Any]]:
        """Every consultation the public audience may read, as it may read it."""
        service, who = self.service, self.service.anonymous
        scope = service.access.scope(who, self.consultation_type)
        after = 0
        while True:
            with service.store.read() as tx:
                rows = tx.page(self.consultation_type, ListQuery(), scope, after, 200)
            for stored in rows:
                after = stored.seq
                presented = service.present(who, stored)
                if presented is not None:
                    yield presented.document()
            if len(rows) < 200:
                return

    def consultation(self, rid: str) -> dict[str, Any]:
        with self.service.store.read() as tx:
            stored = tx.get(self.consultation_type, rid)
        presented = None if stored is None else self.service.present(self.service.anonymous,
                                                                     stored)
        if presented is None:
            raise NotFound()
        return presented.document()

    def voices(self, rid: str) -> list[dict[str, Any]]:
        """The opinions and proposals on consultation ``rid`` as the public may read them: no
        author, no supporter, an opinion's text only with its author's agreement."""
        service, who = self.service, self.service.anonymous
        found: list[dict[str, Any]] = []
        for rtype in self.voice_types:
            scope = service.access.scope(who, rtype)
            after = 0
            while True:
                with service.store.read() as tx:
                    rows = tx.page(rtype, ListQuery(consultation=rid), scope, after, 200)
                for stored in rows:
                    after = stored.seq
                    # Only what the page reads is redacted (not the history and supporters
                    # it would remove anyway): the access check reads the whole record.
                    shown = {k: v for k, v in stored.doc.items() if k in VOICE_MEMBERS}
                    presented = service.present(who, stored, state=orjson.dumps(shown).decode())
                    if presented is not None:
                        found.append(presented.document())
                if len(rows) < 200:
                    break
        return found

    def _count(self) -> IssueStatistics:
        """Exact counts, folded to China-time months: grouped by the database the first time
        (or after many writes), else the last counts moved on by the writes since."""
        with self.service.store.read() as tx:
            head = feed_head(tx)
            counts = self._counts
            changed = None if counts is None else changed_between(
                tx, self.issue_type, self._counted_at, head, self.followed)
            if counts is None or changed is None:
                counts = Counter()
                for category, community, month, late, n in submission_counts(tx,
                                                                             self.issue_type):
                    counts[(category, community, shifted_month(month, late))] += n
                # Statements are not one snapshot: counts made while the feed moved on are
                # shown, but not followed from (the next page counts afresh).
                self._counts = counts if feed_head(tx) == head else None
            else:
                moves: Counter[tuple[str, str, str]] = Counter()
                for rid in changed:
                    for at, step in ((self._counted_at, -1), (head, 1)):
                        cell = submission_cell(tx, self.issue_type, rid, at)
                        if cell is not None:
                            category, community, month, late = cell
                            moves[(category, community, shifted_month(month, late))] += step
                counts.update(moves)
                for key in [k for k, n in moves.items() if n and not counts[k]]:
                    del counts[key]
            self._counted_at = head
        return IssueStatistics.from_counts(counts, self.threshold)

    # -- pages --------------------------------------------------------------------------
    def kept_page(self, key: Key) -> bytes | None:
        """The page if it is kept and still current, without reading the database. While one
        request reads the head again, the others are served what is kept rather than all
        queueing for the same read."""
        if time.monotonic() - self._checked >= self.recheck and not self._checking:
            return None
        got = self._rendered.get(key)
        if got is None or got.head != self._head:
            return None
        if got.until is not None and datetime.now(UTC) >= got.until:
            return None
        return got.body

    def page(self, key: Key) -> bytes:
        """The page ``key``, made again when the data changed since it was made."""
        head = self.head()
        got = self._rendered.get(key)
        if (got is not None and got.head == head
                and (got.until is None or datetime.now(UTC) < got.until)):
            return got.body
        if key[0] == "figures":
            with self._lock:  # one count at a time, not one per waiting request
                again = self._rendered.get(key)
                if again is not None and again.head == head:
                    return again.body
                if self._stats is None or self._stats[0] != head:
                    self._stats = (head, self._count())
                stats = self._stats[1]
                # Only the form asked for: a city's page takes a while to write out.
                body = (orjson.dumps(stats.to_json()) if key[1] == "json"
                        else statistics_page(stats, key[1], self.links).encode())
                self._keep(key, _Rendered(head, None, body))
                return body
        body, until = self._make(key)
        self._keep(key, _Rendered(head, until, body))
        return body

    def _make(self, key: Key) -> tuple[bytes, datetime | None]:
        if key[0] == "index":
            return index_page(list(self.consultations()), key[1], self.links).encode(), None
        doc = self.consultation(key[1])
        until = _results_due(doc)
        voices = self.voices(key[1])
        if key[0] == "notice":
            try:
                return notice_pdf(doc, lang=key[2], voices=voices), until
            except NoticeFontMissing as exc:
                raise NoticeUnavailable(str(exc)) from exc
        return consultation_page(doc, key[2], self.links, voices=voices).encode(), until

    def _keep(self, key: Key, rendered: _Rendered) -> None:
        if len(self._rendered) >= self.kept:
            self._rendered.clear()
        self._rendered[key] = rendered


def _results_due(doc: dict[str, Any]) -> datetime | None:
    """The first moment still to come at which vote results become visible: the pages made
    before it show them as not yet published."""
    now = datetime.now(UTC)
    due = []
    for vote in doc.get("votes") or ():
        when = (vote.get("results") or {}).get("visibleFrom")
        if isinstance(when, str):
            moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
            if moment > now:
                due.append(moment)
    return min(due, default=None)


def _pages(request: Request) -> PublicPages:
    pages: PublicPages = request.app.state.public
    return pages


def _lang(request: Request) -> str:
    return "en" if request.url.path.startswith(PUBLIC_PREFIX + "en/") else "zh-Hans"


async def _serve(request: Request, key: Key) -> bytes:
    pages = _pages(request)
    kept = pages.kept_page(key)  # served from memory: no thread, no database
    return kept if kept is not None else await asyncio.to_thread(pages.page, key)


async def _index(request: Request) -> Response:
    body = await _serve(request, ("index", _lang(request)))
    return HTMLResponse(body, media_type=_HTML)


async def _consultation(request: Request) -> Response:
    body = await _serve(request, ("consultation", str(request.path_params["id"]),
                                  _lang(request)))
    return HTMLResponse(body, media_type=_HTML)


async def _statistics(request: Request) -> Response:
    body = await _serve(request, ("figures", _lang(request)))
    return HTMLResponse(body, media_type=_HTML, headers=_CACHE)


async def _statistics_json(request: Request) -> Response:
    body = await _serve(request, ("figures", "json"))
    return Response(body, media_type="application/json", headers=_CACHE)


async def _notice(request: Request) -> Response:
    rid, lang = str(request.path_params["id"]), _lang(request)
    body = await _serve(request, ("notice", rid, lang))
    name = f"notice-{rid}.pdf" if lang.startswith("zh") else f"notice-{rid}-en.pdf"
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{name}"'})


def _checked(path: str, endpoint: Callable[[Request], Awaitable[Response]]
             ) -> Callable[[Request], Awaitable[Response]]:
    """``endpoint``, refusing query parameters its operation does not declare."""

    async def checked(request: Request) -> Response:
        check_own_route(request, path)
        return await endpoint(request)

    checked.__name__ = getattr(endpoint, "__name__", "page")
    return checked


def public_routes() -> list[Route]:
    """The routes of the public pages and notices, Chinese at /public/ and English at
    /public/en/; the
    statistics are the issue figures (/public/figures, their data /public/figures.json).
    Each is an operation of the OpenAPI and takes only the query parameters it declares."""
    p = PUBLIC_PREFIX
    table = [(p + "figures.json", _statistics_json)]
    for prefix in (p, p + "en/"):
        table += [(prefix, _index), (prefix + "figures", _statistics),
                  (prefix + "consultations/{id}", _consultation),
                  (prefix + "consultations/{id}/notice.pdf", _notice)]
    routes = []
    for path, endpoint in table:
        route = Route(path, _checked(path, endpoint), methods=["GET"])
        route.methods = {"GET"}  # no implicit HEAD: only what the OpenAPI says
        routes.append(route)
    return routes
