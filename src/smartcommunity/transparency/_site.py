"""The public pages as static files, for a city that publishes them on any web server or on a
USB stick for the community service centre's screen."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from ..privacy import audience_for_role
from ..specification import DEFAULT_VERSION, load_spec
from . import _pages as pages
from ._notice import NoticeFontMissing, notice_pdf
from ._statistics import IssueStatistics, communities_per_page
from ._timeline import public_view

__all__ = ["Site", "published"]


def published(doc: Mapping[str, Any]) -> bool:
    """Whether a reader without an account may read the consultation: its visibility is one
    privacy.json shows the anonymous role's audience (/req/public-pages/published-only)."""
    spec = load_spec(str(doc.get("specVersion") or DEFAULT_VERSION))
    audience = audience_for_role(str(spec.privacy["recordAccess"]["anonymousRole"]),
                                 spec.version)
    return doc.get("visibility") in spec.privacy["visibility"][audience]


def _root(depth: int) -> str:
    return "../" * depth


class Site:
    """Writes the pages of ``consultations`` (stored documents: only the published ones are
    kept, each redacted for the public) with the opinions and proposals of ``voices`` made on
    them (redacted the same way), and ``stats``, under ``out``. ``redacted`` says the
    documents are already as the public reads them (read from a server without a token).
    ``consultations`` come in the order they were stored; the home page lists them newest
    first, a file per page (``index.html``, ``index-after-<id>.html`` …). The figures are
    written as the server serves them: a list of months, then one file per page of each month
    (``figures/2026-11.html``, ``figures/2026-11-after-<code>.html`` …)."""

    def __init__(self, consultations: Iterable[Mapping[str, Any]], stats: IssueStatistics,
                 *, now: datetime | None = None, redacted: bool = False,
                 voices: Iterable[Mapping[str, Any]] = (), per_page: int | None = None,
                 home_per_page: int | None = None) -> None:
        docs = [dict(d) if redacted else public_view(d) for d in consultations
                if redacted or published(d)]
        self.consultations = docs[::-1]  # newest first
        shown = {str(d.get("id")) for d in docs}
        self.voices: dict[str, list[dict[str, Any]]] = {rid: [] for rid in shown}
        for voice in voices:
            rid = str((voice.get("consultation") or {}).get("id"))
            if rid in shown:  # only a published consultation's voices are read at all
                self.voices[rid].append(dict(voice) if redacted else public_view(voice))
        self.stats = stats
        self.per_page = communities_per_page() if per_page is None else per_page
        self.home_per_page = (pages.consultations_per_page() if home_per_page is None
                              else home_per_page)
        self.now = now

    def write(self, out: Path) -> tuple[list[Path], NoticeFontMissing | None]:
        """Every page, then every notice; the files written and, when notices could not be
        drawn for want of a CJK font, that error (the pages are written all the same)."""
        written: list[Path] = []

        def put(rel: str, data: bytes) -> None:
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            written.append(path)

        for lang in pages.LANGUAGES:
            prefix, depth = ("", 0) if lang.startswith("zh") else ("en/", 1)
            home, size = pages.Links(_root(depth), ".html"), self.home_per_page
            after: str | None = None
            for start in range(0, max(len(self.consultations), 1), size):
                shown = self.consultations[start:start + size]
                last = str(shown[-1]["id"]) if start + size < len(self.consultations) else None
                put(home.home(lang, after)[len(home.root):], pages.index_page(
                    shown, lang, home, now=self.now, after=after,
                    following=None if last is None else home.home(lang, last)).encode())
                after = last
            put(prefix + "figures.html", pages.figures_page(
                self.stats.months, self.stats.threshold, lang,
                pages.Links(_root(depth), ".html")).encode())
            links = pages.Links(_root(depth + 1), ".html")
            for month in self.stats.months:
                after = None
                for page in self.stats.pages(month, self.per_page):
                    put(links.month(month, lang, after)[len(links.root):], pages.figures_month_page(
                        page, lang, links, after=after).encode())
                    after = page.next_after
            for doc in self.consultations:
                put(f"{prefix}consultations/{doc['id']}.html", pages.consultation_page(
                    doc, lang, pages.Links(_root(depth + 1), ".html"), now=self.now,
                    voices=self.voices[str(doc["id"])]).encode())
        put("figures.json", orjson.dumps(self.stats.months_json(), option=orjson.OPT_INDENT_2))
        data = pages.Links(_root(1), ".html")  # beside the month's first page: figures/
        for month in self.stats.months:
            after = None
            for page in self.stats.pages(month, self.per_page):
                following = (data.month_data(month, page.next_after)
                             if page.next_after is not None else None)
                put(data.month_data(month, after)[len(data.root):], orjson.dumps(
                    page.to_json(following), option=orjson.OPT_INDENT_2))
                after = page.next_after
        try:
            for lang in pages.LANGUAGES:
                prefix = "" if lang.startswith("zh") else "en/"
                for doc in self.consultations:
                    put(f"{prefix}consultations/{doc['id']}/notice.pdf", notice_pdf(
                        doc, lang=lang, now=self.now, voices=self.voices[str(doc["id"])]))
        except NoticeFontMissing as exc:
            return written, exc
        return written, None
