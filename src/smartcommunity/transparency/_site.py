"""The public pages as static files, for a city that publishes them on any web server or on a
USB stick for the community service centre's screen."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from ..exceptions import DocumentError
from ..privacy import audience_for_role
from ..specification import DEFAULT_VERSION, load_spec
from . import _pages as pages
from ._notice import NoticeFontMissing, notice_pdf
from ._statistics import IssueStatistics, communities_per_page, is_division_code, is_month
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


def _plain(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _check_names(consultations: Iterable[Mapping[str, Any]], stats: IssueStatistics) -> None:
    """Refuse what would name a file but is not what the schemas allow there: a consultation
    id that is no resource id, a month or community of the figures that is not one. Read from
    files or another server, ``../..`` would otherwise write outside the site's folder."""
    pattern = str(load_spec().schema("datatypes.json")["$defs"]["id"]["pattern"])
    for doc in consultations:
        rid = doc.get("id")
        if not isinstance(rid, str) or re.fullmatch(pattern, rid) is None:
            raise DocumentError(
                f"协商的 /id {_plain(rid)} 不是资源标识（小写 UUID），不以它命名文件 / the "
                f"consultation's /id {_plain(rid)} is not a resource id (a lowercase UUID): no "
                "file is named by it")
    for cell in stats.cells:
        for member, value, ok in (("month", cell.month, is_month(cell.month)),
                                  ("community", cell.community,
                                   is_division_code(cell.community))):
            if not ok:
                raise DocumentError(
                    f"统计格的 /{member} {_plain(value)} 格式不对，不以它命名文件 / the figures' "
                    f"cell has a malformed /{member} {_plain(value)}: no file is named by it")


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
        # Redacted and with vote results withheld as a server withholds them from the public
        # (/req/public-pages/public-audience): a tally still counting shows on no page.
        docs = [dict(d) if redacted else public_view(d, now=now) for d in consultations
                if redacted or published(d)]
        self.consultations = docs[::-1]  # newest first
        shown = {str(d.get("id")) for d in docs}
        self.voices: dict[str, list[dict[str, Any]]] = {rid: [] for rid in shown}
        for voice in voices:
            rid = str((voice.get("consultation") or {}).get("id"))
            if rid in shown:  # only a published consultation's voices are read at all
                self.voices[rid].append(dict(voice) if redacted
                                        else public_view(voice, now=now))
        self.stats = stats
        self.per_page = communities_per_page() if per_page is None else per_page
        self.home_per_page = (pages.consultations_per_page() if home_per_page is None
                              else home_per_page)
        self.now = now

    def write(self, out: Path) -> tuple[list[Path], NoticeFontMissing | None]:
        """Every page, then every notice; the files written and, when notices could not be
        drawn for want of a CJK font, that error (the pages are written all the same).

        Raises :class:`~smartcommunity.exceptions.DocumentError`, before writing anything,
        when a consultation id, a month or a community would not make a file name inside
        ``out``."""
        _check_names(self.consultations, self.stats)
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
