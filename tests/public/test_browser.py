"""The public pages in a real browser (Debian's Chromium driven by Playwright): no WCAG 2.2 AA
violation that axe-core finds, readable at phone and desktop widths, large type and targets,
the language switch a plain link, nothing loaded from outside. Screenshots are kept under
pytest's temporary folder (``public-screenshots``), or under $SMARTCOMMUNITY_ARTEFACTS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kit.harness import Server, serving  # the tests folder is on the path

from reference_server import Settings, create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: axe-core's tags for the success criteria of WCAG 2.0, 2.1 and 2.2 at levels A and AA
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                                 reason="Chromium is not installed (apt-get install chromium)")]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, documents: dict[str, Any]
         ) -> Iterator[tuple[Server, list[str]]]:
    path = tmp_path_factory.mktemp("browser") / "server.sqlite3"
    app = create_app(Settings(database_url=f"sqlite:///{path}", demo=True))
    # the consultation's page holds its opinions, proposal and replies
    app.state.sc.service.load([documents["public"], documents["kept"], *documents["issues"],
                               *documents["voices"]])
    rid = documents["public"]["id"]
    pages = ["/public/", "/public/en/", f"/public/consultations/{rid}",
             f"/public/en/consultations/{rid}", "/public/figures", "/public/en/figures",
             # a month's page, one community found with the form, a later page
             "/public/figures/2026-10", "/public/en/figures/2026-11?community=110105001001",
             "/public/figures/2026-10?after=110105001000"]
    with serving(app) as server:
        yield server, pages


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("SMARTCOMMUNITY_ARTEFACTS")
    folder = (Path(given) / "public-screenshots" if given
              else tmp_path_factory.mktemp("public-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _name(path: str) -> str:
    return path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-") or "home"


def test_every_public_page_passes_axe_at_both_widths(site: tuple[Server, list[str]],
                                                     shots: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    server, pages = site
    outside: list[str] = []
    failures: dict[str, str] = {}

    def only_loopback(route: Any) -> None:
        if route.request.url.startswith(server.base_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for label, viewport in WIDTHS.items():
                context = browser.new_context(viewport=viewport)
                context.route("**/*", only_loopback)
                page = context.new_page()
                for path in pages:
                    page.goto(server.base_url + path)
                    results = axe_module.Axe().run(
                        page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}})
                    if results.violations_count:
                        failures[f"{label} {path}"] = results.generate_report()
                    shot = shots / f"{label}-{_name(path)}.png"
                    page.screenshot(path=str(shot), full_page=True)
                    assert shot.stat().st_size > 5000
                    # Nothing wider than the screen: no sideways scrolling on a phone.
                    overflow = page.evaluate(
                        "document.documentElement.scrollWidth - window.innerWidth")
                    assert overflow <= 1, f"{path} scrolls sideways at {label} width"
                context.close()
        finally:
            browser.close()
    assert not failures, "\n".join(f"{k}:\n{v}" for k, v in failures.items())
    assert not outside, f"the pages loaded from outside: {outside}"


def test_large_type_big_targets_and_a_plain_language_switch(
        site: tuple[Server, list[str]]) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    server, pages = site
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            # No script is needed: the pages work with JavaScript turned off.
            context = browser.new_context(java_script_enabled=False,
                                          viewport=WIDTHS["phone"])
            page = context.new_page()
            page.goto(server.base_url + pages[2])
            size = page.locator("body").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
            assert size >= 20
            for link in page.locator("nav a").all():
                box = link.bounding_box()
                assert box is not None and box["height"] >= 44 and box["width"] >= 44
            page.locator("nav a[hreflang=en]").click()
            assert page.locator("html").get_attribute("lang") == "en"
            assert page.url == server.base_url + pages[3]
            page.locator("nav a[hreflang=zh-Hans]").click()
            assert page.locator("html").get_attribute("lang") == "zh-Hans"
            context.close()
        finally:
            browser.close()
