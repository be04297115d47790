"""The public pages served by the reference server: no token, only published consultations,
figures from the database's grouped counts equal to counting the documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server.helpers import pg_available, throwaway_pg  # the tests folder is on the path

from reference_server import Settings, create_app
from smartcommunity.transparency import FONT_ENV, statistics_from_issues

from .helpers import RESIDENT_NAME, issue

PAGES = ["/public/", "/public/en/", "/public/figures", "/public/en/figures"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_no_token_and_run_no_script(client: TestClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assert "<script" not in resp.text and "http://" not in resp.text.replace(
        'http://www.w3.org', '')
    lang = "en" if "/en/" in path else "zh-Hans"
    assert f'<html lang="{lang}">' in resp.text


def test_only_published_consultations_appear(client: TestClient,
                                             documents: dict[str, Any]) -> None:
    public, kept = documents["public"], documents["kept"]
    for home in ("/public/", "/public/en/"):
        text = client.get(home).text
        assert public["title"] in text and kept["title"] not in text
    for path in (f"/public/consultations/{kept['id']}", f"/public/en/consultations/{kept['id']}",
                 f"/public/consultations/{kept['id']}/notice.pdf",
                 f"/public/en/consultations/{kept['id']}/notice.pdf", "/public/consultations/x"):
        resp = client.get(path)
        assert resp.status_code == 404
        assert resp.headers["content-type"] == "application/problem+json"
    page = client.get(f"/public/consultations/{public['id']}").text
    assert public["title"] in page and RESIDENT_NAME not in page
    assert f'href="/public/en/consultations/{public["id"]}"' in page


def test_the_figures_are_the_documents_counted(client: TestClient, public_app: Any) -> None:
    service = public_app.state.sc.service
    with service.store.read() as tx:
        issues = [s.doc for s in tx.all_resources() if s.rtype == "Issue"]
    expected = statistics_from_issues(issues)
    assert client.get("/public/figures.json").json() == expected.to_json()
    cells = {(c.category, c.month): c.count for c in expected.cells
             if c.community == "110105001001"}
    assert cells[("environment", "2026-10")] == 7
    assert cells[("housing", "2026-11")] == 5  # submitted 31 October 16:30 UTC
    assert cells[("public-safety", "2026-10")] is None
    page = client.get("/public/figures").text
    assert 'data-count="7"' in page and 'data-count="2"' not in page


def test_the_figures_follow_new_issues(client: TestClient, public_app: Any,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    pages = public_app.state.public
    monkeypatch.setattr(pages, "recheck", 3600.0)
    monkeypatch.setattr(pages, "_checked", float("-inf"))
    before = client.get("/public/figures.json").json()
    public_app.state.sc.service.load(
        [issue("utilities.water-supply", "110105001009", "2026-09-01T08:00:00+08:00")])
    # Kept pages are served until the change feed is read again (every ``recheck`` s) …
    assert client.get("/public/figures.json").json() == before
    # … and made again once it shows the write.
    monkeypatch.setattr(pages, "recheck", 0.0)
    after = client.get("/public/figures.json").json()
    assert after != before
    assert {"category": "utilities", "community": "110105001009", "month": "2026-09",
            "suppressed": True} in after["cells"]


@pytest.mark.skipif(not pg_available(), reason="PostgreSQL does not answer on 127.0.0.1:5432")
def test_postgresql_groups_the_same(documents: dict[str, Any]) -> None:
    with throwaway_pg("sc_public") as url:
        app = create_app(Settings(database_url=url, demo=False))
        try:
            app.state.sc.service.load(documents["issues"])
            with TestClient(app) as c:
                got = c.get("/public/figures.json").json()
            assert got == statistics_from_issues(documents["issues"]).to_json()
        finally:
            app.state.sc.service.store.dispose()


def test_without_a_chinese_font_the_notice_is_refused_clearly(
        client: TestClient, documents: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FONT_ENV, "/nonexistent/font.ttf")
    for prefix in ("/public/", "/public/en/"):
        resp = client.get(f"{prefix}consultations/{documents['public']['id']}/notice.pdf")
        assert resp.status_code == 503
        body = resp.json()
        assert body["code"] == "public.notice-font-missing"
        assert body["message"]["zh-Hans"] and body["message"]["en"]


_near_month_ends = st.builds(
    lambda month, day, hour, minute: datetime(2026, month, 1, tzinfo=UTC)
    + timedelta(days=day, hours=hour, minutes=minute),
    st.integers(1, 12), st.sampled_from([-2, -1, 0, 26, 27, 28, 29, 30]),
    st.integers(0, 23), st.integers(0, 59))


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["environment.garbage", "housing", "utilities.gas"]),
                          _near_month_ends), min_size=1, max_size=12))
def test_the_grouped_query_agrees_with_counting_near_month_ends(
        public_app: Any, issued: list[tuple[str, datetime]]) -> None:
    """The database groups by UTC text; China-time months are worked out from it."""
    service = public_app.state.sc.service
    service.load([issue(category, "110105001007", moment.isoformat())
                  for category, moment in issued])
    with service.store.read() as tx:
        stored = [s.doc for s in tx.all_resources() if s.rtype == "Issue"]
    assert public_app.state.public._count() == statistics_from_issues(stored)
