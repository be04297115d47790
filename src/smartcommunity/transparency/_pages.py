"""The public pages as HTML: Jinja2 templates shipped with the package, autoescaped.

The same templates serve the reference server (paths under ``/public/``) and the static files
``smartcommunity publish`` writes; only :class:`Links` differs between the two.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ..specification import load_spec
from ._statistics import IssueStatistics
from ._timeline import Timeline, day, timeline

__all__ = ["LANGUAGES", "Links", "consultation_page", "index_page", "statistics_page"]

#: the pages' languages: Chinese first (the default), then English
LANGUAGES = ("zh-Hans", "en")


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

    def home(self, lang: str) -> str:
        return self._page(lang, "")

    def consultation(self, rid: str, lang: str) -> str:
        return self._page(lang, f"consultations/{rid}")

    def statistics(self, lang: str) -> str:
        return self._page(lang, "figures")

    def notice(self, rid: str, lang: str = "zh-Hans") -> str:
        prefix = "" if lang.startswith("zh") else "en/"
        return f"{self.root}{prefix}consultations/{rid}/notice.pdf"


@functools.cache
def _environment() -> Environment:
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
               *, now: datetime | None = None) -> str:
    """The list of published consultations (documents already redacted for the public)."""
    lines = [timeline(doc, lang, now=now, steps=()) for doc in consultations]
    title = "社区协商公开" if lang.startswith("zh") else "Community consultations"
    return _render("index.html", lang, links, links.home(_other(lang)), title,
                   consultations=lines, current="home")


def consultation_page(doc: Mapping[str, Any], lang: str, links: Links,
                      *, now: datetime | None = None,
                      voices: Iterable[Mapping[str, Any]] | None = None) -> str:
    """One consultation's timeline (the document already redacted for the public), with the
    opinions and proposals on it and their replies when ``voices`` are given (redacted too)."""
    tl: Timeline = timeline(doc, lang, now=now, voices=voices)
    return _render("consultation.html", lang, links, links.consultation(tl.id, _other(lang)),
                   tl.title, tl=tl)


def statistics_page(stats: IssueStatistics, lang: str, links: Links) -> str:
    """The issue statistics: one table per community and month, small cells suppressed."""
    categories = load_spec().codelist("issue-category")
    # One pass over the cells (a city has tens of thousands), each to its table, in order.
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    titles: dict[str, str] = {}
    for c in stats.cells:
        title = titles.get(c.category)
        if title is None:
            title = titles[c.category] = (categories.title(c.category, lang)
                                          if c.category in categories else c.category)
        grouped.setdefault((c.month, c.community), []).append({"title": title,
                                                                "count": c.count})
    order = {month: n for n, month in enumerate(stats.months)}
    tables = [{"community": community, "month": month, "cells": cells}
              for (month, community), cells in sorted(
                  grouped.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))]
    title = "诉求统计" if lang.startswith("zh") else "Issue figures"
    return _render("statistics.html", lang, links, links.statistics(_other(lang)), title,
                   tables=tables, threshold=stats.threshold, current="figures")
