"""The public pages under ``/public/`` (/conf/public-pages): read without a token.

Every consultation is read as the anonymous public principal, so what a page shows is what the
API gives a caller without a token — the same visibility filter, redaction and hidden vote
results (/req/public-pages/published-only, /req/public-pages/public-audience); so are the
opinions and proposals on it, shown with their replies (/req/public-pages/voices). The home
page lists the consultations newest first, a page at a time (/req/public-pages/home-paged),
made again only when a consultation was written since, not after every write. Issue statistics
are published for the months that have ended only, each as its whole grid: every group for
every community the figures cover, empty cells suppressed as small ones are
(/req/public-pages/small-cells). The grid's frame — the first month, the communities and the
categories of the issues submitted before the running month — is a probe of an index per
value, read again when the month turns or a write changes it. A month is counted when its page
is first asked for: one grouped query over the month's range of the submission index. After
that the counts follow the change feed, each issue written since moving from the cell it was
counted in to its cell now, so that a page made again after a write costs the write, not the
store. A page view reads one number, never the issues. Pages are served a month and a page of
communities at a time (/req/public-pages/figures-paged): a page costs its own cells, and a
write to one month leaves the pages of the others as they were made.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from smartcommunity.participation import moment as instant
from smartcommunity.transparency import (
    CHINA_STANDARD_TIME,
    FIGURES_PAGED,
    HOME_PAGED,
    LANGUAGES,
    VOICE_MEMBERS,
    FiguresPage,
    IssueStatistics,
    Links,
    NoticeFontMissing,
    catalogue_groups,
    communities_per_page,
    consultation_page,
    consultations_per_page,
    figures_month_page,
    figures_page,
    index_page,
    is_division_code,
    is_month,
    minimum_cell_count,
    month_range,
    notice_pdf,
    running_month,
    shifted_month,
)

from .errors import InvalidCursor, NotFound, ProblemError, coded
from .http import check_own_route, decode_cursor, encode_cursor
from .service import Service
from .storage import (
    ListQuery,
    Stored,
    Tx,
    changed_between,
    derive,
    feed_head,
    month_counts,
    published_frame,
    submission_cell,
)

__all__ = ["PUBLIC_PREFIX", "InvalidAfter", "InvalidCommunity", "InvalidFigures",
           "InvalidPage", "NoticeUnavailable", "PublicPages", "public_routes"]

#: where the public pages are served (/req/public-pages/no-token)
PUBLIC_PREFIX = "/public/"
#: the kind of cursor of a place on the home page (the API's cursors are of another kind)
HOME_CURSOR = "h"
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


class InvalidFigures(ProblemError):
    """A month of the figures that is not one (400); the subclasses name the other
    parameters."""

    status = 400
    code = "public.invalid-month"
    title = "Invalid parameter"
    requirement = FIGURES_PAGED
    #: where the parameter is, as the problem's finding points at it
    pointer: ClassVar[str] = "/path/month"

    def __init__(self, value: str, version: str) -> None:
        finding = coded(self.pointer, self.code, version, self.requirement, value=value)
        super().__init__(message=finding["message"], errors=[finding])


class InvalidCommunity(InvalidFigures):
    code = "public.invalid-community"
    pointer = "/query/community"


class InvalidAfter(InvalidFigures):
    code = "public.invalid-after"
    pointer = "/query/after"


class InvalidPage(InvalidFigures):
    """A place on the home page this server did not give (400, /req/public-pages/home-paged)."""

    code = "public.invalid-page"
    pointer = "/query/after"
    requirement = HOME_PAGED


@dataclass(frozen=True, slots=True)
class _Rendered:
    head: int  # the change feed's head it was made at
    #: when it goes stale by itself (vote results becoming visible, a month of figures ending)
    until: datetime | None
    body: bytes
    #: the figures' version it was made from (empty: not a page of the figures)
    made_from: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class _Frame:
    """What the published figures are made of while China-time month ``running`` runs: the
    published months (from ``first``, the month of the first issue counted, to the month
    before ``running``), and the rows and columns of every month's grid."""

    running: str
    first: str | None
    communities: tuple[str, ...]
    groups: tuple[str, ...]

    @property
    def months(self) -> list[str]:
        """The published months, newest first."""
        if self.first is None:
            return []
        return month_range(self.first, self.running)[1:]  # the running month left out

    def published(self, month: str) -> bool:
        return self.first is not None and self.first <= month < self.running

    def holds(self, month: str, category: str, community: str) -> bool:
        """Whether an issue counted in ``month`` adds no row, column or month to the frame."""
        return (self.first is not None and self.first <= month
                and community in self.communities
                and category.split(".", 1)[0] in self.groups)


def _month_after(month: str) -> datetime:
    """The first moment of the China-time month after ``month``."""
    year, mon = int(month[:4]), int(month[5:7])
    year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    if year > 9999:
        return datetime.max.replace(tzinfo=UTC)
    return datetime(year, mon, 1, tzinfo=CHINA_STANDARD_TIME).astimezone(UTC)


Key = tuple[str, ...]  # ("index", lang), ("consultation", id, lang), ("notice", id, lang),
#                        ("months", lang|"json"), ("month", lang|"json", month, after, community)
_FIGURES = frozenset({"months", "month"})


class _Recent:
    """The figures' pages most recently asked for, at most ``size``: anyone may ask for any
    month, cursor and community, so what is kept is bounded."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._kept: OrderedDict[Key, _Rendered] = OrderedDict()

    def get(self, key: Key) -> _Rendered | None:
        with self._lock:
            got = self._kept.get(key)
            if got is not None:
                self._kept.move_to_end(key)
            return got

    def put(self, key: Key, rendered: _Rendered) -> None:
        with self._lock:
            self._kept[key] = rendered
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)


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
    #: pages of the figures kept at most (the most recently asked for)
    kept_figures = 512
    #: change events the counts follow one by one; beyond that, one grouped query is cheaper
    followed = 5000

    def __init__(self, service: Service) -> None:
        self.service = service
        self.threshold = minimum_cell_count(service.spec.version)
        self.per_page = communities_per_page(service.spec.version)
        self.per_home_page = consultations_per_page(service.spec.version)
        self.links = Links(PUBLIC_PREFIX)
        self._lock = threading.Lock()
        self._rendered: dict[Key, _Rendered] = {}
        self._figures = _Recent(self.kept_figures)
        self._head = -1
        self._checked = float("-inf")
        self._checking = False  # a read of the head is under way
        #: the current time (the month it falls in is not published yet)
        self.clock: Callable[[], datetime] = _now
        #: the groups every month's grid has, whatever the issues
        self.groups = catalogue_groups(service.spec.version)
        #: the frame of the published figures (None: to be read again), and the exact counts
        #: by (category, community) of the months read so far, both at feed head
        #: ``_counted_at``: a month is counted when its page is first asked for
        self._frame: _Frame | None = None
        self._counts: dict[str, Counter[tuple[str, str]]] = {}
        self._counted_at = 0
        #: the frame last read, and how often it changed; how often each month's counts
        #: changed: a page of the figures is made again only when what it shows changed
        self._frame_read: _Frame | None = None
        self._frame_version = 0
        self._versions: Counter[str] = Counter()
        #: each month's published figures, made from its counts and the frame at the versions
        self._month_stats: dict[str, tuple[tuple[int, ...], IssueStatistics]] = {}
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
            figures_page([], self.threshold, lang, self.links)
            figures_month_page(FiguresPage(self.threshold, self.per_page, "2026-01", (), None),
                               lang, self.links)

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

    def consultations(self, before: int) -> tuple[list[dict[str, Any]], int | None]:
        """A page of the consultations the public audience may read, as it may read it, newest
        first from before store sequence ``before`` (0: the newest), and where the next page
        starts (None: this is the last)."""
        service, who = self.service, self.service.anonymous
        scope = service.access.scope(who, self.consultation_type)
        shown: list[dict[str, Any]] = []
        while True:
            wanted = self.per_home_page - len(shown) + 1
            with service.store.read() as tx:
                rows = tx.page(self.consultation_type, ListQuery(), scope, before, wanted,
                               newest_first=True)
            for stored in rows:
                if len(shown) == self.per_home_page:
                    return shown, before
                before = stored.seq
                presented = service.present(who, stored)
                if presented is not None:
                    shown.append(presented.document())
            if len(rows) < wanted:
                return shown, None

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

    def _follow(self, tx: Tx) -> None:
        """Bring what is counted to the feed's head: each issue written since moves from the
        cell it was counted in to its cell now, in the months counted; a move that would
        change the frame (a row, a column or a month more, or perhaps fewer) has it read
        again, and the versions of the months a write touched move on. After many writes,
        forget and count again."""
        head = feed_head(tx)
        if head == self._counted_at:
            return
        changed = (None if self._frame is None and not self._counts
                   else changed_between(tx, self.issue_type, self._counted_at, head,
                                        self.followed))
        if changed is None:  # every page of the figures is made again from a new count
            self._frame, self._counts, self._month_stats = None, {}, {}
            self._figures = _Recent(self.kept_figures)
            self._counted_at = head
            return
        moves: Counter[tuple[str, str, str]] = Counter()
        for rid in changed:
            for at, step in ((self._counted_at, -1), (head, 1)):
                cell = submission_cell(tx, self.issue_type, rid, at)
                if cell is not None:
                    category, community, month, late = cell
                    moves[(shifted_month(month, late), category, community)] += step
        for (month, category, community), step in moves.items():
            if not step:
                continue
            self._versions[month] += 1
            kept = self._counts.get(month)
            if kept is not None:
                kept[(category, community)] += step
                if not kept[(category, community)]:
                    del kept[(category, community)]
            frame = self._frame
            if (frame is not None and month < frame.running
                    and (step < 0 or not frame.holds(month, category, community))):
                self._frame = None
        self._counted_at = head

    def _framed(self, tx: Tx) -> _Frame:
        """The frame at the feed's head (after :meth:`_follow`), read again when the month
        turned or a write may have changed it; kept only when read at the head counted."""
        running = running_month(self.clock())
        frame = self._frame
        if frame is not None and frame.running == running:
            return frame
        first, communities, categories = published_frame(tx, self.issue_type, running)
        groups = sorted(set(self.groups) | {c.split(".", 1)[0] for c in categories})
        frame = _Frame(running, first, tuple(communities), tuple(groups))
        if frame != self._frame_read:
            self._frame_read = frame
            self._frame_version += 1
        if feed_head(tx) == self._counted_at:
            self._frame = frame
        return frame

    def _counted(self, month: str | None) -> tuple[_Frame, Counter[tuple[str, str]]]:
        """The frame of the published figures, and ``month``'s counts by (category,
        community) when it is published, at the feed's head. What was read while the feed
        moved on is used for this page but not kept: statements are not one snapshot, and the
        next page reads again."""
        with self.service.store.read() as tx:
            self._follow(tx)
            frame = self._framed(tx)
            counts: Counter[tuple[str, str]] = Counter()
            if month is not None and frame.published(month):
                loaded = self._counts.get(month)
                if loaded is None:
                    loaded = Counter({(category, community): n for category, community, n
                                      in month_counts(tx, self.issue_type, month)})
                    if feed_head(tx) == self._counted_at:
                        self._counts[month] = loaded
                counts = loaded
        return frame, counts

    def _month(self, month: str, frame: _Frame, counts: Counter[tuple[str, str]]
               ) -> tuple[tuple[int, ...], IssueStatistics]:
        """``month``'s figures from its ``counts`` (at the head) in ``frame``, with the
        versions of its counts and of the frame they were made from: the whole grid of a
        published month, no cell at all for another."""
        version = (self._versions[month], self._frame_version)
        if not frame.published(month):  # any month may be asked for: only published are kept
            return version, IssueStatistics(self.threshold, ())
        got = self._month_stats.get(month)
        if got is None or got[0] != version:
            got = (version, IssueStatistics.from_counts(
                {(cat, com, month): n for (cat, com), n in counts.items()}, self.threshold,
                groups=frame.groups, communities=frame.communities, months=[month]))
            if self._counts.get(month) is counts:  # kept counts: their figures can be kept
                self._month_stats[month] = got
        return got

    def statistics(self) -> IssueStatistics:
        """Every published month's figures at the feed's head (for whoever wants them all at
        once; the pages read one month at a time)."""
        cells: dict[tuple[str, str, str], int] = {}
        with self._lock:
            frame, _ = self._counted(None)
            for month in frame.months:
                _, counts = self._counted(month)
                cells.update({(cat, com, month): n for (cat, com), n in counts.items()})
        return IssueStatistics.from_counts(cells, self.threshold, groups=frame.groups,
                                           communities=frame.communities, months=frame.months)

    # -- pages --------------------------------------------------------------------------
    def kept_page(self, key: Key) -> bytes | None:
        """The page if it is kept and still current, without reading the database. While one
        request reads the head again, the others are served what is kept rather than all
        queueing for the same read."""
        if time.monotonic() - self._checked >= self.recheck and not self._checking:
            return None
        got = self._figures.get(key) if key[0] in _FIGURES else self._rendered.get(key)
        if got is None or got.head != self._head:
            return None
        if got.until is not None and self.clock() >= got.until:
            return None
        return got.body

    def page(self, key: Key) -> bytes:
        """The page ``key``, made again when the data changed since it was made."""
        head = self.head()
        got = self._rendered.get(key)
        if (got is not None and got.head != head and key[0] == "index"
                and self._consultations_unchanged(got.head, head)):
            # The home page shows consultations only: other writes leave it as it was made.
            got = self._rendered[key] = _Rendered(head, got.until, got.body)
        if (got is not None and got.head == head
                and (got.until is None or self.clock() < got.until)):
            return got.body
        if key[0] in _FIGURES:
            return self._figures_page(key, head)
        body, until = self._make(key)
        self._keep(key, _Rendered(head, until, body))
        return body

    def _figures_page(self, key: Key, head: int) -> bytes:
        """A page of the figures at ``head``: the one kept when what it shows has not changed
        since it was made, else made again. Each is kept until the running month ends, when
        that month's figures are published."""
        with self._lock:  # one count at a time, not one per waiting request
            got = self._figures.get(key)
            if got is not None and got.head == head and (
                    got.until is None or self.clock() < got.until):
                return got.body
            frame, counts = self._counted(key[2] if key[0] == "month" else None)
            # Read again: a count made afresh forgets every kept page, and one fetched before
            # it would pass the version check below with figures older than the count.
            got = self._figures.get(key)
            version: tuple[int, ...]
            if key[0] == "months":
                version = (self._frame_version,)
                if got is not None and got.made_from == version:
                    body = got.body
                else:
                    months = frame.months
                    body = (orjson.dumps({"minimumCellCount": self.threshold, "months": months})
                            if key[1] == "json"
                            else figures_page(months, self.threshold, key[1],
                                              self.links).encode())
            else:
                form, month, after, community = key[1], key[2], key[3] or None, key[4] or None
                version, stats = self._month(month, frame, counts)
                if got is not None and got.made_from == version:
                    body = got.body
                else:
                    page = stats.page(month, self.per_page, after=after, community=community)
                    following = (None if page.next_after is None
                                 else self.links.month_data(month, page.next_after))
                    body = (orjson.dumps(page.to_json(following)) if form == "json"
                            else figures_month_page(page, form, self.links, after=after,
                                                    community=community,
                                                    pending=month >= frame.running).encode())
            self._figures.put(key, _Rendered(head, _month_after(frame.running), body, version))
            return body

    def _consultations_unchanged(self, made: int, head: int) -> bool:
        """Whether no consultation was written between feed heads ``made`` and ``head``."""
        with self.service.store.read() as tx:
            changed = changed_between(tx, self.consultation_type, made, head, self.followed)
        return changed == []

    def _make(self, key: Key) -> tuple[bytes, datetime | None]:
        if key[0] == "index":
            lang, after = key[1], key[2] or None
            docs, following = self.consultations(decode_cursor(HOME_CURSOR, after))
            return index_page(docs, lang, self.links, after=after, following=None
                              if following is None else self.links.home(
                                  lang, encode_cursor(HOME_CURSOR, following))).encode(), None
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


def _now() -> datetime:
    return datetime.now(UTC)


def _results_due(doc: dict[str, Any]) -> datetime | None:
    """The first moment still to come at which vote results become visible: the pages made
    before it show them as not yet published."""
    now = datetime.now(UTC)
    due = []
    for vote in doc.get("votes") or ():
        when = (vote.get("results") or {}).get("visibleFrom")
        moment = instant(when)
        if moment is not None and moment > now:
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


def _home_key(request: Request) -> Key:
    """The page of the home page a request names, its place checked
    (/req/public-pages/home-paged)."""
    values = request.query_params.getlist("after")
    try:
        given = len(values) <= 1 and all(decode_cursor(HOME_CURSOR, v) for v in values)
    except InvalidCursor:
        given = False
    if not given:
        raise InvalidPage(", ".join(values), _pages(request).service.spec.version)
    return ("index", _lang(request), values[0] if values else "")


async def _index(request: Request) -> Response:
    body = await _serve(request, _home_key(request))
    return HTMLResponse(body, media_type=_HTML)


async def _consultation(request: Request) -> Response:
    body = await _serve(request, ("consultation", str(request.path_params["id"]),
                                  _lang(request)))
    return HTMLResponse(body, media_type=_HTML)


async def _statistics(request: Request) -> Response:
    body = await _serve(request, ("months", _lang(request)))
    return HTMLResponse(body, media_type=_HTML, headers=_CACHE)


async def _statistics_json(request: Request) -> Response:
    body = await _serve(request, ("months", "json"))
    return Response(body, media_type="application/json", headers=_CACHE)


def _month_key(request: Request, form: str) -> Key:
    """The page of the figures a request names, its month, cursor and community checked
    (/req/public-pages/figures-paged)."""
    version = _pages(request).service.spec.version
    month = str(request.path_params["month"])
    if not is_month(month):
        raise InvalidFigures(month, version)
    given = {}
    for name, invalid in (("after", InvalidAfter), ("community", InvalidCommunity)):
        values = request.query_params.getlist(name)
        if len(values) > 1 or (values and not is_division_code(values[0])):
            raise invalid(", ".join(values), version)
        given[name] = values[0] if values else ""
    return ("month", form, month, given["after"], given["community"])


async def _month(request: Request) -> Response:
    body = await _serve(request, _month_key(request, _lang(request)))
    return HTMLResponse(body, media_type=_HTML, headers=_CACHE)


async def _month_json(request: Request) -> Response:
    body = await _serve(request, _month_key(request, "json"))
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
    /public/en/; the statistics are the issue figures (/public/figures lists the months, each
    at /public/figures/{month}; their data /public/figures.json and
    /public/figures/{month}.json).
    Each is an operation of the OpenAPI and takes only the query parameters it declares."""
    p = PUBLIC_PREFIX
    # The data before the page: a month's page would take "2026-11.json" for its month.
    table = [(p + "figures.json", _statistics_json), (p + "figures/{month}.json", _month_json)]
    for prefix in (p, p + "en/"):
        table += [(prefix, _index), (prefix + "figures", _statistics),
                  (prefix + "figures/{month}", _month),
                  (prefix + "consultations/{id}", _consultation),
                  (prefix + "consultations/{id}/notice.pdf", _notice)]
    routes = []
    for path, endpoint in table:
        route = Route(path, _checked(path, endpoint), methods=["GET"])
        route.methods = {"GET"}  # no implicit HEAD: only what the OpenAPI says
        routes.append(route)
    return routes
