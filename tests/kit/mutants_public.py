"""Broken variants of the public pages (/conf/public-pages), one defect each."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from typing import Any

import pytest

from reference_server import public as public_module
from reference_server.auth import ALL, Principal
from reference_server.errors import NotFound
from reference_server.public import PublicPages
from reference_server.storage import ListQuery
from smartcommunity.transparency import IssueStatistics, Links, notice_pdf, running_month

from .mutants import Mutant, Rewrite, _header


def _with(app: Any, mp: pytest.MonkeyPatch, **replaced: Any) -> Any:
    """``app`` with the public pages' members ``replaced``, and the pages made before
    forgotten."""
    for name, value in replaced.items():
        mp.setattr(app.state.public, name, value)
    mp.setattr(app.state.public, "_rendered", {})
    return app


def public_token_required(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Asks for a token on every public page."""

    def edit(scope: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        if (scope["path"].startswith("/public/")
                and _header(scope["headers"], b"authorization") is None):
            problem = {"type": "about:blank", "title": "Unauthorized", "status": 401}
            return 401, [(b"content-type", b"application/problem+json")], json.dumps(
                problem).encode()
        return status, headers, body

    return Rewrite(app, edit)


def public_unpublished_shown(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Reads consultations for the pages as a community's staff would: every visibility."""
    pages: PublicPages = app.state.public
    insider = Principal(name="(pages)", role="community-staff", communities=ALL)
    mp.setattr(pages.service, "anonymous", insider)
    mp.setattr(pages, "_rendered", {})
    return app


def public_identity_leaked(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Keeps the visibility filter but renders the stored document, naming its proposers."""
    pages: PublicPages = app.state.public
    service = pages.service

    def unredacted(rid: str) -> dict[str, Any]:
        with service.store.read() as tx:
            stored = tx.get("Consultation", rid)
        if stored is None or service.present(service.anonymous, stored) is None:
            raise NotFound()
        doc: dict[str, Any] = copy.deepcopy(stored.doc)
        # ... and, as a page template listing who proposed the topic would, names them
        names = [p.get("name") for p in (doc.get("origin") or {}).get("proposers") or ()
                 if isinstance(p, dict) and p.get("name")]
        if names:
            doc["description"] = f"{doc.get('description') or ''}（提议人：{'、'.join(names)}）"
        return doc

    return _with(app, mp, consultation=unredacted)


def public_notice_identity_leaked(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Draws the notice from the redacted consultation but adds the names of its proposers,
    read from the stored record (the pages stay as they should)."""
    pages: PublicPages = app.state.public
    service = pages.service
    make = pages._make

    def naming_notice(key: tuple[str, ...]) -> Any:
        if key[0] != "notice":
            return make(key)
        doc = pages.consultation(key[1])
        with service.store.read() as tx:
            stored = tx.get(pages.consultation_type, key[1])
        proposers = ((stored.doc.get("origin") or {}).get("proposers") or ()) if stored else ()
        names = [p["name"] for p in proposers if isinstance(p, dict) and p.get("name")]
        doc["description"] = f"{doc.get('description') or ''}（提议人：{'、'.join(names)}）"
        return notice_pdf(doc, lang=key[2], voices=pages.voices(key[1])), None

    return _with(app, mp, _make=naming_notice)


def public_notice_without_categories(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Draws the notice without the consultation's categories, which its page shows."""
    pages: PublicPages = app.state.public
    make = pages._make

    def without_categories(key: tuple[str, ...]) -> Any:
        if key[0] != "notice":
            return make(key)
        doc = pages.consultation(key[1])
        doc.pop("categories", None)
        return notice_pdf(doc, lang=key[2], voices=pages.voices(key[1])), None

    return _with(app, mp, _make=without_categories)


def public_times_as_written(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Prints each time on the pages and notices as its text was written, cut to the minute:
    a time written in UTC shows the UTC day."""
    from smartcommunity.transparency import _notice, _pages, _timeline

    def as_written(when: Any) -> str:
        text = str(when or "")
        return text[:16].replace("T", " ") if len(text) > 10 else text

    mp.setattr(_timeline, "day", as_written)
    mp.setattr(_notice, "day", as_written)
    mp.setitem(_pages._environment().globals, "day", as_written)
    return _with(app, mp)


def public_voice_author_shown(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Lists each opinion on the consultation's page with the name of who gave or recorded it,
    read from the stored record."""
    pages: PublicPages = app.state.public
    service = pages.service
    listed = pages.voices

    def with_authors(rid: str) -> list[dict[str, Any]]:
        shown = listed(rid)
        for voice in shown:
            with service.store.read() as tx:
                stored = tx.get(str(voice["resourceType"]), str(voice["id"]))
            actor = (stored.doc["history"][0].get("actor") or {}) if stored else {}
            author = actor.get("name") or (actor.get("onBehalfOf") or {}).get("id")
            if author and "stance" in voice:
                voice["textPublic"] = True
                voice["text"] = f"{author}：{voice.get('text') or ''}"
        return shown

    return _with(app, mp, voices=with_authors)


def public_small_cell_shown(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Publishes every cell's number, however small."""
    pages: PublicPages = app.state.public
    mp.setattr(pages, "threshold", 1)
    _forget_figures(pages, mp)
    return app


def _community_totals(pages: PublicPages, month: str) -> dict[str, int]:
    """Each community's issues of ``month``: its cells added up, the small ones included."""
    with pages._lock:
        _, counts = pages._counted(month)
    totals: Counter[str] = Counter()
    for (_, community), n in counts.items():
        totals[community] += n
    return dict(totals)


#: a month's page of the figures, or its data
_MONTH_PAGE = re.compile(r"/public/(?:en/)?figures/([0-9]{4}-[0-9]{2})(\.json)?")


def public_figures_totals_data(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Gives each community's total of the month beside its cells in the data."""
    pages: PublicPages = app.state.public

    def edit(scope: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        found = _MONTH_PAGE.fullmatch(scope["path"])
        if status != 200 or found is None or not found.group(2):
            return status, headers, body
        data = json.loads(body)
        shown = {c["community"] for c in data["cells"]}
        data["totals"] = {community: n for community, n
                          in _community_totals(pages, found.group(1)).items()
                          if community in shown}
        return status, headers, json.dumps(data, ensure_ascii=False).encode()

    return Rewrite(app, edit)


def public_figures_totals_page(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Ends each community's table on a month's page with a row of its total (the data is as
    it should be)."""
    pages: PublicPages = app.state.public

    def edit(scope: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        found = _MONTH_PAGE.fullmatch(scope["path"])
        if status != 200 or found is None or found.group(2):
            return status, headers, body
        totals = _community_totals(pages, found.group(1))

        def total_row(table: re.Match[str]) -> str:
            return (f'{table.group(1)}<tr><th scope="row">合计 / Total</th>'
                    f'<td class="n">{totals.get(table.group(2), 0)}</td></tr></tbody>')

        page = re.sub(r"(<caption>[^<]*?([0-9]{12})[^<]*</caption>.*?)</tbody>", total_row,
                      body.decode(), flags=re.S)
        return status, headers, page.encode()

    return Rewrite(app, edit)


def _forget_figures(pages: PublicPages, mp: pytest.MonkeyPatch) -> None:
    """The figures made afresh while the mutant serves, and those made before afterwards."""
    mp.setattr(pages, "_figures", type(pages._figures)(pages.kept_figures))
    mp.setattr(pages, "_month_stats", {})
    mp.setattr(pages, "_frame", None)


def public_zero_cells_left_out(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Gives only the cells that have issues, as a table of counts would: a cell left out is
    0, one shown suppressed 1 to 4."""
    pages: PublicPages = app.state.public
    make = pages._month

    def without_empty(month: str, frame: Any, counts: Any) -> tuple[Any, IssueStatistics]:
        version, stats = make(month, frame, counts)
        filled: Counter[tuple[str, str]] = Counter()
        for (category, community), n in counts.items():
            filled[(category.split(".", 1)[0], community)] += n
        return version, IssueStatistics(stats.threshold, tuple(
            c for c in stats.cells if filled[(c.category, c.community)]))

    mp.setattr(pages, "_month", without_empty)
    _forget_figures(pages, mp)
    return app


def public_figures_live(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Publishes the running month too, its figures following each issue stored within the
    pages' lag: a reader polling them learns when each was filed."""
    pages: PublicPages = app.state.public

    def a_month_later(now: Any = None) -> str:
        month = running_month(now)
        year, mon = int(month[:4]), int(month[5:7])
        return f"{year + 1:04d}-01" if mon == 12 else f"{year:04d}-{mon + 1:02d}"

    mp.setattr(public_module, "running_month", a_month_later)
    _forget_figures(pages, mp)
    return app


def public_notice_as_html(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Sends the HTML page where the PDF notice should be."""
    pages: PublicPages = app.state.public
    make = pages._make

    def html_for_pdf(key: tuple[str, ...]) -> Any:
        return make(("consultation", key[1], "zh-Hans") if key[0] == "notice" else key)

    return _with(app, mp, _make=html_for_pdf)


def public_notice_english_missing(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Sends the English page where the English PDF notice should be (the Chinese one stays)."""
    pages: PublicPages = app.state.public
    make = pages._make

    def page_for_english_pdf(key: tuple[str, ...]) -> Any:
        english_notice = key[0] == "notice" and key[2] == "en"
        return make(("consultation", key[1], "en") if english_notice else key)

    return _with(app, mp, _make=page_for_english_pdf)


def public_figures_every_month(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Serves a month's page with the cells of every month (of the community asked for)."""
    pages: PublicPages = app.state.public
    make = pages._month

    def every_month(month: str, frame: Any, counts: Any) -> tuple[Any, IssueStatistics]:
        version, _ = make(month, frame, counts)
        # Every month's counts (the page's lock is held: read them as the page does).
        everything = {(cat, com, m): n for m in frame.months
                      for (cat, com), n in pages._counted(m)[1].items()}
        return version, _AllMonths.of(IssueStatistics.from_counts(
            everything, pages.threshold, groups=frame.groups, communities=frame.communities,
            months=frame.months))

    mp.setattr(pages, "_month", every_month)
    _forget_figures(pages, mp)
    return app


class _AllMonths(IssueStatistics):
    """Figures whose page of any month holds every month's cells."""

    @classmethod
    def of(cls, stats: IssueStatistics) -> _AllMonths:
        return cls(stats.threshold, stats.cells)

    def page(self, month: str, size: int, *, after: str | None = None,
             community: str | None = None) -> Any:
        from smartcommunity.transparency import FiguresPage

        cells = tuple(c for c in self.cells if community is None or c.community == community)
        return FiguresPage(self.threshold, size, month, cells, None)


class _BackOne(Links):
    """Links whose next page starts one community code early: the last community of a page
    comes again at the top of the next."""

    def month(self, month: str, lang: str, after: str | None = None) -> str:
        return super().month(month, lang, None if after is None else _before(after))

    def month_data(self, month: str, after: str | None = None) -> str:
        return super().month_data(month, None if after is None else _before(after))


def _before(code: str) -> str:
    return f"{int(code) - 1:012d}"


def public_figures_next_repeats(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Pages one community at a time, each next page repeating the last community shown."""
    pages: PublicPages = app.state.public
    mp.setattr(pages, "per_page", 1)
    mp.setattr(pages, "links", _BackOne(pages.links.root, pages.links.suffix))
    _forget_figures(pages, mp)
    return app


def public_figures_year_zero(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Takes a month of the year 0000 for one, as a month check of four digits and a month
    does: its pages answer 200 with no cells."""
    month = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
    mp.setattr(public_module, "is_month", lambda text: month.fullmatch(text) is not None)
    return app


def public_home_one_page(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Lists every public consultation on the home page's first page."""
    return _with(app, mp, per_home_page=10**6)


def public_home_oldest_first(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Pages the home page in the order consultations were stored, the oldest first."""
    pages: PublicPages = app.state.public
    service = pages.service

    def oldest_first(after: int) -> tuple[list[dict[str, Any]], int | None]:
        scope = service.access.scope(service.anonymous, pages.consultation_type)
        with service.store.read() as tx:
            rows = tx.page(pages.consultation_type, ListQuery(), scope, after,
                           pages.per_home_page + 1)
        shown = [p.document() for s in rows[:pages.per_home_page]
                 if (p := service.present(service.anonymous, s)) is not None]
        more = len(rows) > pages.per_home_page
        return shown, rows[pages.per_home_page - 1].seq if more else None

    return _with(app, mp, consultations=oldest_first)


def public_home_next_repeats(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Starts each next page of the home page at the last consultation of the page before."""
    pages: PublicPages = app.state.public
    listed = pages.consultations

    def one_back(before: int) -> tuple[list[dict[str, Any]], int | None]:
        shown, following = listed(before)
        return shown, None if following is None else following + 1

    return _with(app, mp, consultations=one_back)


MUTANTS: list[Mutant] = [
    Mutant("public-token-required", "/req/public-pages/no-token",
           "the public pages ask for a token", public_token_required),
    Mutant("public-unpublished-shown", "/req/public-pages/published-only",
           "consultations visible only to the community appear on the public pages",
           public_unpublished_shown),
    Mutant("public-identity-leaked", "/req/public-pages/public-audience",
           "the public pages show the stored consultation, residents' names included",
           public_identity_leaked),
    Mutant("public-notice-identity-leaked", "/req/public-pages/public-audience",
           "the printed notice names the residents who proposed the consultation",
           public_notice_identity_leaked),
    Mutant("public-voice-author-shown", "/req/public-pages/voices",
           "the consultation's page names who gave each opinion", public_voice_author_shown),
    Mutant("public-small-cell-shown", "/req/public-pages/small-cells",
           "statistics cells of one or two issues show their number", public_small_cell_shown),
    Mutant("public-figures-totals-data", "/req/public-pages/small-cells",
           "a month's data gives each community's total beside its cells, suppressed ones "
           "included", public_figures_totals_data),
    Mutant("public-figures-totals-page", "/req/public-pages/small-cells",
           "a month's page ends each community's table with its total",
           public_figures_totals_page),
    Mutant("public-zero-cells-left-out", "/req/public-pages/small-cells",
           "a month's figures leave out the cells without issues, so a suppressed cell is "
           "known to hold at least one", public_zero_cells_left_out),
    Mutant("public-figures-live", "/req/public-pages/small-cells",
           "the running month's figures follow each issue as it is stored, telling when it "
           "came", public_figures_live),
    Mutant("public-notice-without-categories", "/req/public-pages/notice-pdf",
           "the notice leaves out the categories its page shows",
           public_notice_without_categories),
    Mutant("public-times-as-written", "/req/public-pages/notice-pdf",
           "the pages and notices print times as written, a deadline written in UTC on the "
           "UTC day", public_times_as_written),
    Mutant("public-figures-every-month", "/req/public-pages/figures-paged",
           "a month's page of the figures holds the cells of every month",
           public_figures_every_month),
    Mutant("public-figures-next-repeats", "/req/public-pages/figures-paged",
           "each next page of the figures repeats the last community of the page before",
           public_figures_next_repeats),
    Mutant("public-figures-year-zero", "/req/public-pages/figures-paged",
           "the month 0000-01 answers 200 with no cells instead of 400", public_figures_year_zero),
    Mutant("public-home-one-page", "/req/public-pages/home-paged",
           "the home page lists every public consultation on one page", public_home_one_page),
    Mutant("public-home-oldest-first", "/req/public-pages/home-paged",
           "the home page lists the oldest consultations first", public_home_oldest_first),
    Mutant("public-home-next-repeats", "/req/public-pages/home-paged",
           "each next page of the home page repeats the last consultation of the page before",
           public_home_next_repeats),
    Mutant("public-notice-as-html", "/req/public-pages/notice-pdf",
           "the notice is the HTML page, not an A4 PDF", public_notice_as_html),
    Mutant("public-notice-english-missing", "/req/public-pages/notice-pdf",
           "the English notice is the English HTML page, not an A4 PDF",
           public_notice_english_missing),
]
