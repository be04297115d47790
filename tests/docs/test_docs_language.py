"""Each site reads in its own language: Chinese on the default site, English on /en/.

Checked on the built HTML: generated pages' prose, the lifecycle tables and diagrams, and
that no page shows readers the maintainers' "generated, do not edit" note.
"""

from __future__ import annotations

import csv
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from .conftest import Build
from .sitehtml import article_html
from .test_docs_build import LANG_ROOTS, SPEC, VERSION
from .test_docs_required import rows

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
LATIN = re.compile(r"[A-Za-z]")
#: the folders of generated pages (and the requirements page)
GENERATED = ("reference", "standard", "requirements")


class Paragraphs(HTMLParser):
    """Text of every ``<p>``, without code and without text marked as the other language."""

    def __init__(self, lang: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = lang
        self.found: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, hides its text)
        self._current: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        hides = tag in ("code", "pre", "script", "style") or (
            values.get("lang") not in (None, self.lang)
        )
        if tag in ("br", "wbr", "img", "input"):
            return
        self._stack.append((tag, hides))
        if tag == "p":
            self._current = []

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            open_tag, _ = self._stack.pop()
            if open_tag == tag:
                break
        if tag == "p" and self._current is not None:
            self.found.append(" ".join("".join(self._current).split()))
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._current is not None and not any(h for _, h in self._stack):
            self._current.append(data)


def paragraphs(page: Path, lang: str) -> list[str]:
    parser = Paragraphs(lang)
    parser.feed(article_html(page))
    parser.close()
    return parser.found


def generated_pages(built: Build, lang: str) -> list[Path]:
    root = built.site / LANG_ROOTS[lang]
    return [p for folder in GENERATED for p in sorted((root / folder).rglob("index.html"))]


def test_no_maintainer_note_is_published(built: Build) -> None:
    for page in built.site.rglob("*.html"):
        text = page.read_text("utf-8")
        assert "请勿手工编辑" not in text, page.relative_to(built.site)
        assert "Do not edit it by hand" not in text, page.relative_to(built.site)


def test_generated_prose_on_the_chinese_site_is_chinese(built: Build) -> None:
    english_only = []
    for page in generated_pages(built, "zh"):
        for text in paragraphs(page, "zh"):
            # Short lines (a code's name, a number) tell nothing about the language.
            if len(LATIN.findall(text)) >= 20 and not CJK.search(text):
                english_only.append(f"{page.relative_to(built.site)}: {text[:80]}")
    assert not english_only, "\n".join(english_only[:20])


def test_normative_text_on_the_english_site_is_english(built: Build) -> None:
    chinese = []
    for page in sorted((built.site / "en/standard").rglob("index.html")):
        for text in paragraphs(page, "en"):
            cjk, latin = len(CJK.findall(text)), len(LATIN.findall(text))
            if cjk >= 4 and cjk * 5 >= latin:
                chinese.append(f"{page.relative_to(built.site)}: {text[:80]}")
    assert not chinese, "\n".join(chinese[:20])


def test_normative_text_on_the_chinese_site_is_chinese_only(built: Build) -> None:
    for page in sorted((built.site / "standard").rglob("index.html")):
        for text in paragraphs(page, "zh"):
            cjk, latin = len(CJK.findall(text)), len(LATIN.findall(text))
            # A bilingual paragraph has about as many Latin letters as Chinese characters
            # and more; Chinese prose mentions a few English names.
            assert not (cjk and latin > 2 * cjk + 40), f"{page}: {text[:120]}"


def titles(codelist: str, lang: str) -> dict[str, str]:
    path = SPEC / VERSION / "codelists" / f"{codelist}.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["code"]: row[f"title_{lang}"] for row in csv.DictReader(fh)}


LIFECYCLES = sorted((SPEC / VERSION / "lifecycles").glob("*.json"))


@pytest.mark.parametrize("path", LIFECYCLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_lifecycle_tables_show_titles_in_the_page_language(
    built: Build, path: Path, lang: str
) -> None:
    table = json.loads(path.read_text("utf-8"))
    actions, statuses = titles(table["actionCodelist"], lang), titles(table["statusCodelist"], lang)
    roles = titles("role", lang)
    page = built.site / LANG_ROOTS[lang] / f"reference/lifecycles/{path.stem}/index.html"
    found = rows(article_html(page))
    for status in statuses:
        cells = found[f"st-{status}"]
        assert cells[0].startswith(statuses[status])
        for t in table["transitions"]:
            if status in t["from"]:
                assert actions[t["action"]] in cells[2], (status, t["action"])
    for t in table["transitions"]:
        cells = found[f"act-{t['action']}"]
        assert cells[0].startswith(actions[t["action"]])
        for source in t["from"]:
            assert statuses[source] in cells[1]
        if t.get("to"):
            assert statuses[t["to"]] in cells[2]
        for role in t["roles"]:
            assert roles[role] in cells[3]


@pytest.mark.parametrize("path", LIFECYCLES, ids=lambda p: p.stem)
def test_diagram_labels_in_the_page_language(built: Build, path: Path) -> None:
    for lang, root in LANG_ROOTS.items():
        page = built.site / root / f"reference/lifecycles/{path.stem}/index.html"
        source = re.search(
            r'<pre class="mermaid"><code>(.*?)</code></pre>', article_html(page), re.S
        )
        assert source, f"{page} has no diagram"
        code = html.unescape(source.group(1))
        labels = [label for line in code.splitlines() for label in _labels(line)]
        assert labels
        for label in labels:
            has_cjk = bool(CJK.search(label.replace("⟳", "")))
            assert has_cjk == (lang == "zh"), f"{lang} {path.stem}: label {label!r}"


def _labels(line: str) -> list[str]:
    """The text a Mermaid state-diagram line shows: state names, descriptions, edge labels."""
    line = line.strip()
    m = re.match(r'state "([^"]+)" as ', line)
    if m:
        return [m.group(1)]
    if " : " in line:  # a state's description
        return [line.split(" : ", 1)[1].lstrip("⟳ ")]
    if "-->" in line and ": " in line:
        return line.split(": ", 1)[1].split("<br/>")
    return []
