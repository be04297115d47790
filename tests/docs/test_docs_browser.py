"""(e) The built site in a real browser: pages render, the language switch, Mermaid, search.

Headless Chromium (Debian's ``chromium`` package at /usr/bin/chromium) driven by Playwright
for Python; the site is served from 127.0.0.1 by a thread. Nothing is loaded from the
internet, and no page may log a console error or fail a request.
"""

from __future__ import annotations

import csv
import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Build
from .test_docs_build import SPEC, VERSION

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser test needs Chromium at /usr/bin/chromium (apt-get install -y chromium)",
)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def base_url(built: Build) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(built.site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()


# Material draws each Mermaid diagram into a closed shadow root; the tests open it so the SVG
# can be inspected. Nothing else about the page changes.
OPEN_SHADOW_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  return attach.call(this, {...init, mode: "open"});
};
"""


def h1(tab: Any) -> str:
    return str(tab.locator("article h1").first.inner_text()).rstrip("¶").strip()


@pytest.fixture
def page(browser: Any, base_url: str) -> Iterator[Any]:
    """A page that records console errors, uncaught exceptions and failed requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(OPEN_SHADOW_ROOTS)
    tab = context.new_page()
    problems: list[str] = []
    tab.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    # A request the browser aborts because the page navigates away is not a failure.
    tab.on(
        "requestfailed",
        lambda r: (
            problems.append(f"request failed: {r.url} ({r.failure})")
            if "ERR_ABORTED" not in str(r.failure)
            else None
        ),
    )
    tab.on(
        "response",
        lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
    )
    tab.on(
        "request",
        lambda r: (
            problems.append(f"external request: {r.url}")
            if not r.url.startswith(base_url) and not r.url.startswith(("data:", "blob:"))
            else None
        ),
    )
    tab.problems = problems
    yield tab
    context.close()
    assert not problems, "\n".join(problems)


def test_home_page_renders(page: Any, base_url: str) -> None:
    page.goto(base_url)
    assert h1(page) == "智慧社区互操作标准"
    assert page.locator("html").get_attribute("lang") == "zh"
    assert page.locator("article a[href*='guides/vendor-quickstart']").count() >= 1


def test_reference_page_renders(page: Any, base_url: str) -> None:
    page.goto(base_url + "en/reference/schemas/issue/")
    assert h1(page) == "Issue"
    row = page.locator("tr:has(#f-reporterDisclosure)")
    assert row.count() == 1
    assert "reporter-disclosure" in row.inner_text()
    assert page.locator("article table tr").count() > 50


def test_guide_renders_with_generated_tables(page: Any, base_url: str) -> None:
    page.goto(base_url + "guides/privacy/")
    assert h1(page) == "保护居民数据"
    # The PIPL field list and the treatment matrix are generated into the guide.
    assert (
        page.locator(
            "article a[href*='reference/schemas/resident/#f-identityDocuments-number']"
        ).count()
        >= 1
    )
    assert page.locator("article table").count() >= 4


def switch_language(tab: Any, lang: str) -> None:
    """Open the header's language menu and choose ``lang``, as a reader would."""
    tab.locator(".md-header__option .md-select").hover()
    link = tab.locator(f"a.md-select__link[hreflang='{lang}']")
    link.wait_for(state="visible")
    link.click()


def test_language_switch_keeps_the_page(page: Any, base_url: str) -> None:
    page.goto(base_url + "reference/schemas/resident/")
    assert h1(page) == "居民"
    switch_language(page, "en")
    page.wait_for_url("**/en/reference/schemas/resident/")
    assert h1(page) == "Resident"
    assert page.locator("html").get_attribute("lang") == "en"
    switch_language(page, "zh")
    page.wait_for_url(base_url + "reference/schemas/resident/")
    assert h1(page) == "居民"


def titles(codelist: str, lang: str) -> dict[str, str]:
    """Code → title in ``lang`` of one of the spec's codelists."""
    path = SPEC / VERSION / "codelists" / f"{codelist}.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["code"]: row[f"title_{lang}"] for row in csv.DictReader(fh)}


@pytest.mark.parametrize(("root", "lang"), [("", "zh"), ("en/", "en")])
def test_mermaid_lifecycle_renders_as_svg(page: Any, base_url: str, root: str, lang: str) -> None:
    page.goto(base_url + root + "reference/lifecycles/consultation/")
    svg = page.locator(".mermaid svg").first
    svg.wait_for(state="visible", timeout=20_000)
    table = json.loads((SPEC / VERSION / "lifecycles/consultation.json").read_text("utf-8"))
    text = svg.text_content() or ""
    actions, statuses = titles(table["actionCodelist"], lang), titles(table["statusCodelist"], lang)
    for t in table["transitions"]:
        # every action labels an edge, or its status's box, in the page language
        assert actions[t["action"]] in text
    for title in statuses.values():
        assert title in text


#: pages with wide tables: fields, codes, requirements, operations, redaction, lifecycles
NARROW_PAGES = [
    "reference/schemas/issue/",
    "reference/files/profile/",
    "reference/lifecycles/issue/",
    "reference/codelists/",
    "requirements/",
    "reference/http-api/",
    "reference/redaction/",
    "guides/privacy/",
]


@pytest.mark.parametrize("root", ["", "en/"])
def test_tables_fit_a_phone_screen(browser: Any, base_url: str, root: str) -> None:
    """At 390 px the page never scrolls sideways: a wide table scrolls inside its box."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    tab = context.new_page()
    try:
        for url in NARROW_PAGES:
            tab.goto(base_url + root + url)
            tab.wait_for_load_state("load")
            page_width, boxes = tab.evaluate(
                """() => [
                  document.documentElement.scrollWidth,
                  [...document.querySelectorAll('article table')].map(table => {
                    let box = table.parentElement;
                    while (box && getComputedStyle(box).overflowX !== 'auto'
                           && box.tagName !== 'ARTICLE') box = box.parentElement;
                    const r = box.getBoundingClientRect();
                    return [box.tagName, Math.round(r.left), Math.round(r.right)];
                  })
                ]"""
            )
            assert page_width <= 390, f"{root}{url} scrolls sideways ({page_width} px)"
            assert boxes, f"{root}{url} has no table"
            for tag, left, right in boxes:
                assert tag != "ARTICLE", f"{root}{url}: a table has no scrolling box"
                assert left >= 0 and right <= 390, f"{root}{url}: a table box spans {left}–{right}"
    finally:
        context.close()


@pytest.mark.parametrize(
    ("root", "query", "expected"),
    [
        ("en/", "reporterDisclosure", "en/reference/schemas/issue/"),
        ("", "reporterDisclosure", "reference/schemas/issue/"),
        # Chinese text is segmented into words at build time; a query is one or more words.
        ("", "假名", "guides/privacy/"),
        ("en/", "pseudonym", "en/guides/privacy/"),
    ],
)
def test_search_finds(page: Any, base_url: str, root: str, query: str, expected: str) -> None:
    page.goto(base_url + root)
    page.locator("input.md-search__input").click()
    page.keyboard.type(query)
    page.keyboard.press("End")  # a key event, as after an input method's composition
    # Results update as the query is typed: wait for the ones of the whole query.
    page.wait_for_function(
        "expected => [...document.querySelectorAll('.md-search-result__item a')]"
        ".some(a => a.href.includes(expected))",
        arg=base_url + expected,
        timeout=20_000,
    )
    hrefs = page.locator(".md-search-result__item a").evaluate_all("els => els.map(e => e.href)")
    if root == "en/":  # each language searches its own pages
        assert all("/en/" in h for h in hrefs), hrefs
    else:
        assert not any("/en/" in h for h in hrefs), hrefs
