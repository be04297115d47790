"""The public pages as HTML: Jinja2 templates shipped with the package, autoescaped.

The same templates serve the reference server (paths under ``/public/``) and the static files
``smartcommunity publish`` writes; only :class:`Links` differs between the two.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..specification import DEFAULT_VERSION, load_spec
from ._statistics import FiguresPage
from ._timeline import Timeline, day, timeline

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["LANGUAGES", "Links", "consultation_page", "figures_month_page", "figures_page",
           "index_page"]

#: the pages' languages: Chinese first (the default), then English
LANGUAGES = ("zh-Hans", "en")
HOME_PAGED = "/req/public-pages/home-paged"


def consultations_per_page(version: str = DEFAULT_VERSION) -> int:
    """The most consultations a page of the home page lists (``consultationsPerPage``)."""
    return int(load_spec(version).parameter(HOME_PAGED, "consultationsPerPage"))


@dataclass(frozen=True, slots=True)
class Links:
    """Where the pages are: ``root`` is the path from the current page to the site's root
    (``/public/`` on a server, ``../`` and the like in static files); ``suffix`` is added to
    each page's path (``.html`` for static files)."""

    root: str = "/public/"
    suffix: str = ""

    def _page(self, lang: str, path: str) -> str:
        prefix = "" if lang.startswith("zh") else "en/"
        if not path:
            return self.root + prefix + ("index" + self.suffix if self.suffix else "")
        return self.root + prefix + path + self.suffix

    def home(self, lang: str, after: str | None = None) -> str:
        """The home page, or the page of it after place ``after`` (a server's cursor, a static
        site's last consultation id of the page before)."""
        if after is None:
            return self._page(lang, "")
        if self.static:
            return self._page(lang, f"index-after-{after}")
        return self._page(lang, "") + f"?after={after}"

    def consultation(self, rid: str, lang: str) -> str:
        return self._page(lang, f"consultations/{rid}")

    @property
    def static(self) -> bool:
        """Whether the pages are files: no query string reaches them, so a page of the figures
        is a file of its own and no form can filter them."""
        return bool(self.suffix)

    def statistics(self, lang: str) -> str:
        return self._page(lang, "figures")

    def month(self, month: str, lang: str, after: str | None = None) -> str:
        """A month's page of the figures, from after community ``after`` when given."""
        if after is None:
            return self._page(lang, f"figures/{month}")
        if self.static:
            return self._page(lang, f"figures/{month}-after-{after}")
        return self._page(lang, f"figures/{month}") + f"?after={after}"

    def month_data(self, month: str, after: str | None = None) -> str:
        """A month's figures as data (``.json``, in one language)."""
        if after is None:
            return f"{self.root}figures/{month}.json"
        if self.static:
            return f"{self.root}figures/{month}-after-{after}.json"
        return f"{self.root}figures/{month}.json?after={after}"

    def notice(self, rid: str, lang: str = "zh-Hans") -> str:
        prefix = "" if lang.startswith("zh") else "en/"
        return f"{self.root}{prefix}consultations/{rid}/notice.pdf"


@functools.cache
def _environment() -> Environment:
    # Jinja2 is the publish extra's: imported when a page is first rendered, not with the package
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("smartcommunity.transparency", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["day"] = day
    return env


def _render(template: str, lang: str, links: Links, switch: str, title: str,
            **values: Any) -> str:
    zh = lang.startswith("zh")

    def t(zh_text: str, en_text: str) -> str:
        return zh_text if zh else en_text

    return _environment().get_template(template).render(
        lang="zh-Hans" if zh else "en", t=t, links=links, switch=switch, page_title=title,
        other_lang="en" if zh else "zh-Hans", other_name="English" if zh else "中文",
        **values)


def _other(lang: str) -> str:
    return "en" if lang.startswith("zh") else "zh-Hans"


def index_page(consultations: Iterable[Mapping[str, Any]], lang: str, links: Links,
               *, now: datetime | None = None, following: str | None = None,
               after: str | None = None) -> str:
    """A page of the list of published consultations (documents already redacted for the
    public), newest first; ``following`` links the next page (/req/public-pages/home-paged),
    ``after`` is where this one starts (its language switch leads to the same place)."""
    lines = [timeline(doc, lang, now=now, steps=()) for doc in consultations]
    title = "社区协商公开" if lang.startswith("zh") else "Community consultations"
    return _render("index.html", lang, links, links.home(_other(lang), after), title,
                   consultations=lines, current="home", following=following,
                   first=after is None, home=links.home(lang))


def consultation_page(doc: Mapping[str, Any], lang: str, links: Links,
                      *, now: datetime | None = None,
                      voices: Iterable[Mapping[str, Any]] | None = None) -> str:
    """One consultation's timeline (the document already redacted for the public), with the
    opinions and proposals on it and their replies when ``voices`` are given (redacted too)."""
    tl: Timeline = timeline(doc, lang, now=now, voices=voices)
    return _render("consultation.html", lang, links, links.consultation(tl.id, _other(lang)),
                   tl.title, tl=tl)


def figures_page(months: Sequence[str], threshold: int, lang: str, links: Links) -> str:
    """The list of months whose issue figures are published, newest first: links only, since
    a month's total would be a total too (/req/public-pages/figures-paged)."""
    title = "诉求统计" if lang.startswith("zh") else "Issue figures"
    shown = [{"month": m, "href": links.month(m, lang), "name": _month_name(m, lang)}
             for m in months]
    return _render("figures.html", lang, links, links.statistics(_other(lang)), title,
                   months=shown, threshold=threshold, current="figures")


def figures_month_page(page: FiguresPage, lang: str, links: Links,
                       *, after: str | None = None, community: str | None = None,
                       pending: bool = False) -> str:
    """One page of a month's figures: a table per community, small and empty cells suppressed
    alike, a link to the next page, and (on a server) a form to find one community. ``after``
    and ``community`` are what the page was asked for; ``pending`` says the month has not
    ended, so that its figures are not published yet (/req/public-pages/small-cells)."""
    categories = load_spec().codelist("issue-category")
    titles: dict[str, str] = {}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for c in page.cells:  # already in community order
        title = titles.get(c.category)
        if title is None:
            title = titles[c.category] = (categories.title(c.category, lang)
                                          if c.category in categories else c.category)
        grouped.setdefault(c.community, []).append({"title": title, "count": c.count})
    tables = [{"community": k, "cells": v} for k, v in grouped.items()]
    name = _month_name(page.month, lang)
    title = f"诉求统计 · {name}" if lang.startswith("zh") else f"Issue figures · {name}"
    following = (links.month(page.month, lang, page.next_after)
                 if page.next_after is not None else None)
    switch = links.month(page.month, _other(lang), after)
    if community is not None and not links.static:  # the other language, same community
        switch = f"{links.month(page.month, _other(lang))}?community={community}"
    return _render("figures-month.html", lang, links, switch, title,
                   month=page.month, tables=tables, threshold=page.threshold,
                   following=following, first=links.month(page.month, lang),
                   after=after, community=community, current="figures", pending=pending)


def _month_name(month: str, lang: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    if lang.startswith("zh"):
        return f"{year} 年 {mon} 月"
    return f"{_MONTHS[mon - 1]} {year}"


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
