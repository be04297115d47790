"""The public pages under ``/public/`` (/conf/public-pages): read without a token.

Every consultation is read as the anonymous public principal, so what a page shows is what the
API gives a caller without a token — the same visibility filter, redaction and hidden vote
results (/req/public-pages/published-only, /req/public-pages/public-audience). Issue statistics
come from one grouped query over the indexed columns (category, community, submission time),
kept until the change feed moves on: a page view reads one number, never the issues
(/req/public-pages/small-cells).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from smartcommunity.transparency import (
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
from .service import Service
from .storage import ListQuery, feed_head, submission_counts

__all__ = ["PUBLIC_PREFIX", "NoticeUnavailable", "PublicPages", "public_routes"]

#: where the public pages are served (/req/public-pages/no-token)
PUBLIC_PREFIX = "/public/"
_HTML = "text/html; charset=utf-8"
#: pages are public and change only with the data: caches may keep them a little while
_CACHE = {"Cache-Control": "public, max-age=60"}


class NoticeUnavailable(ProblemError):
    """No CJK font: the notice would be unreadable, so none is sent."""

    status = 503
    code = "public.notice-font-missing"
    title = "Notice unavailable"
    requirement = "/req/public-pages/notice-pdf"


@dataclass(frozen=True, slots=True)
class _Aggregate:
    head: int
    stats: IssueStatistics
    pages: dict[str, bytes]


class PublicPages:
    """The public pages of one service."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.threshold = minimum_cell_count(service.spec.version)
        self.links = Links(PUBLIC_PREFIX)
        self._lock = threading.Lock()
        self._aggregate: _Aggregate | None = None
        # The resource types behind the pages, by the collections the OpenAPI names them.
        types = {collection: rtype for rtype, collection in service.spec.collections.items()}
        self.consultation_type = types["consultations"]
        self.issue_type = types["issues"]

    # -- data ---------------------------------------------------------------------------
    def _head(self) -> int:
        with self.service.store.read() as tx:
            return feed_head(tx)

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

    def _count(self) -> IssueStatistics:
        """Exact counts grouped by the database, folded to China-time months."""
        counts: Counter[tuple[str, str, str]] = Counter()
        with self.service.store.read() as tx:
            for category, community, month, late, n in submission_counts(tx, self.issue_type):
                counts[(category, community, shifted_month(month, late))] += n
        return IssueStatistics.from_counts(counts, self.threshold)

    def aggregate(self) -> _Aggregate:
        """The statistics and the pages made of them, as of the change feed's head."""
        head = self._head()
        current = self._aggregate
        if current is not None and current.head == head:
            return current
        with self._lock:
            current = self._aggregate
            if current is None or current.head != head:
                stats = self._count()
                pages = {lang: statistics_page(stats, lang, self.links).encode()
                         for lang in ("zh-Hans", "en")}
                pages["json"] = orjson.dumps(stats.to_json())
                current = self._aggregate = _Aggregate(head, stats, pages)
            return current

    # -- pages --------------------------------------------------------------------------
    def index(self, lang: str) -> bytes:
        return index_page(list(self.consultations()), lang, self.links).encode()

    def page(self, rid: str, lang: str) -> bytes:
        return consultation_page(self.consultation(rid), lang, self.links).encode()

    def notice(self, rid: str) -> bytes:
        doc = self.consultation(rid)
        try:
            return notice_pdf(doc)
        except NoticeFontMissing as exc:
            raise NoticeUnavailable(str(exc)) from exc


def _pages(request: Request) -> PublicPages:
    pages: PublicPages = request.app.state.public
    return pages


def _lang(request: Request) -> str:
    return "en" if request.url.path.startswith(PUBLIC_PREFIX + "en/") else "zh-Hans"


async def _index(request: Request) -> Response:
    body = await asyncio.to_thread(_pages(request).index, _lang(request))
    return HTMLResponse(body, media_type=_HTML)


async def _consultation(request: Request) -> Response:
    rid = str(request.path_params["rid"])
    body = await asyncio.to_thread(_pages(request).page, rid, _lang(request))
    return HTMLResponse(body, media_type=_HTML)


async def _statistics(request: Request) -> Response:
    aggregate = await asyncio.to_thread(_pages(request).aggregate)
    return HTMLResponse(aggregate.pages[_lang(request)], media_type=_HTML, headers=_CACHE)


async def _statistics_json(request: Request) -> Response:
    aggregate = await asyncio.to_thread(_pages(request).aggregate)
    return Response(aggregate.pages["json"], media_type="application/json", headers=_CACHE)


async def _notice(request: Request) -> Response:
    rid = str(request.path_params["rid"])
    body = await asyncio.to_thread(_pages(request).notice, rid)
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="notice-{rid}.pdf"'})


def public_routes() -> list[Route]:
    """The routes of the public pages, Chinese at /public/ and English at /public/en/; the
    statistics are the issue figures (/public/figures, their data /public/figures.json)."""
    p = PUBLIC_PREFIX
    routes = [Route(p + "figures.json", _statistics_json, methods=["GET"]),
              Route(p + "consultations/{rid}/notice.pdf", _notice, methods=["GET"])]
    for prefix in (p, p + "en/"):
        routes += [Route(prefix, _index, methods=["GET"]),
                   Route(prefix + "figures", _statistics, methods=["GET"]),
                   Route(prefix + "consultations/{rid}", _consultation, methods=["GET"])]
    return routes
