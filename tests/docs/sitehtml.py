"""Reading the built site's HTML with the standard library: ids, links and text."""

from __future__ import annotations

import functools
from html.parser import HTMLParser
from pathlib import Path

#: (tag, attribute) pairs that point at another resource of the site
LINK_ATTRS = {
    ("a", "href"),
    ("link", "href"),
    ("script", "src"),
    ("img", "src"),
    ("iframe", "src"),
    ("source", "src"),
}


class Page(HTMLParser):
    """The ids, links and visible text of one HTML file."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v for k, v in attrs if v is not None}
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "a" and "name" in values:
            self.ids.add(values["name"])
        for attr in ("href", "src"):
            if (tag, attr) in LINK_ATTRS and attr in values:
                self.links.append((tag, attr, values[attr]))
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)

    @property
    def text(self) -> str:
        return " ".join(self.chunks)


@functools.lru_cache(maxsize=512)
def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def article_html(path: Path) -> str:
    """The page's main content (``<article>``), without navigation and footer."""
    html = path.read_text(encoding="utf-8")
    start, end = html.find("<article"), html.rfind("</article>")
    assert start != -1 and end != -1, f"{path} has no article"
    return html[start:end]


def article_text(path: Path) -> str:
    page = Page()
    page.feed(article_html(path))
    page.close()
    return page.text
