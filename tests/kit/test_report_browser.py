"""The HTML report opened in a real browser (headless Chromium driven by Playwright)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from smartcommunity.conformance import Preset, rerun_command, run, write_reports

from .harness import Server
from .mutants import MUTANTS

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DOCS = "https://docs.example.org/smartcommunity/requirements/"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                                 reason="Chromium is not installed (apt-get install chromium)")]


def test_a_failing_report_reads_right_in_a_browser(served: Server, preset: Preset,
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    mutant = next(m for m in MUTANTS if m.name == "missing-etag")
    served.serve(mutant.install(served.app, monkeypatch))
    command = ["smartcommunity", "conformance", "run", "--base-url", served.base_url,
               "--preset", "/srv/city/preset.json", "--requirements",
               "/req/core/etag,/req/core/not-found", "--report-dir", "/srv/city/report"]
    report = run(served.base_url, preset,
                 requirements=["/req/core/etag", "/req/core/not-found"], command=command)
    assert report["verdict"] == "fail"
    page_file = write_reports(report, tmp_path, DOCS)["html"]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(page_file.resolve().as_uri())
            verdict = page.locator("#verdict")
            assert verdict.inner_text().strip() == "未通过"
            first = page.locator("article.result").first
            assert "fail" in (first.get_attribute("class") or "")
            assert first.locator("h3").inner_text().find("不通过") >= 0
            curl = first.locator("pre.curl").last
            assert curl.is_visible()
            assert curl.inner_text().startswith("curl ")
            assert served.base_url in curl.inner_text()
            rerun = first.locator("code.rerun-command")
            assert rerun.is_visible()
            assert rerun.inner_text() == rerun_command(command, "/req/core/etag")
            assert "/srv/city/preset.json" in rerun.inner_text()
            link = first.locator("a.requirement")
            assert link.get_attribute("href") == DOCS + "#req-core-etag"
            page.click("#lang-switch")
            assert verdict.inner_text().strip() == "NOT CERTIFIED"
            assert "The request that failed" in first.inner_text()
            assert page.locator("html").get_attribute("lang") == "en"
        finally:
            browser.close()


def test_the_api_documentation_shows_offline(served: Server) -> None:
    """/docs renders Swagger UI with every request outside 127.0.0.1 refused, as on an
    intranet without outside network (/req/core/landing-page)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    outside: list[str] = []

    def only_loopback(route: Any) -> None:
        url = route.request.url
        if url.startswith(served.base_url):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", only_loopback)
            page.goto(served.base_url + "/docs")
            # an operation of the API, drawn by Swagger UI from /openapi.json
            operation = page.locator(".opblock-summary-path", has_text="/issues").first
            operation.wait_for(state="visible", timeout=20_000)
            assert page.locator(".swagger-ui .info .title").inner_text().startswith("智慧社区")
        finally:
            browser.close()
    assert outside == []
