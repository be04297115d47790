"""The public pages served by the reference server: no token, only published consultations,
figures from the database's grouped counts equal to counting the documents, served a month and
a page at a time."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server.helpers import pg_available, throwaway_pg  # the tests folder is on the path

from reference_server import Settings, create_app
from smartcommunity.transparency import FONT_ENV, catalogue_groups, statistics_from_issues

from .helpers import LIFT, NOW, RESIDENT_NAME, example, issue, voices_on

PAGES = ["/public/", "/public/en/", "/public/figures", "/public/en/figures",
         "/public/figures/2026-10", "/public/en/figures/2026-11?community=110105001001"]


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


def _served(client: TestClient, month: str) -> list[dict[str, Any]]:
    """Every cell of ``month`` the server gives, page by page."""
    cells: list[dict[str, Any]] = []
    url: str | None = f"/public/figures/{month}.json"
    while url is not None:
        body = client.get(url).json()
        cells += body["cells"]
        url = body.get("next")
    return cells


def test_the_figures_are_the_documents_counted(client: TestClient, public_app: Any) -> None:
    service = public_app.state.sc.service
    with service.store.read() as tx:
        issues = [s.doc for s in tx.all_resources() if s.rtype == "Issue"]
    expected = statistics_from_issues(issues, now=NOW)
    assert client.get("/public/figures.json").json() == expected.months_json()
    for month in expected.months:
        assert _served(client, month) == [c.to_json() for c in expected.cells
                                          if c.month == month]
    cells = {(c.category, c.month): c.count for c in expected.cells
             if c.community == "110105001001"}
    assert cells[("environment", "2026-10")] == 7
    assert cells[("housing", "2026-11")] == 5  # submitted 31 October 16:30 UTC
    assert cells[("public-safety", "2026-10")] is None
    assert cells[("social-assistance", "2026-10")] is None  # no issue: suppressed alike
    page = client.get("/public/figures/2026-10?community=110105001001").text
    assert 'data-count="7"' in page and 'data-count="2"' not in page
    # every group has its row, the two issues of one and the none of another read alike
    assert page.count('data-suppressed="true"') == len(catalogue_groups()) - 1
    months = client.get("/public/figures").text
    assert 'href="/public/figures/2026-10"' in months and "data-count" not in months


def test_a_page_holds_at_most_the_page_size_and_next_reaches_each_community_once(
        client: TestClient, public_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pages = public_app.state.public
    monkeypatch.setattr(pages, "per_page", 1)
    monkeypatch.setattr(pages, "_figures", type(pages._figures)(8))  # fewer than the pages read
    for month in client.get("/public/figures.json").json()["months"]:
        whole = pages.statistics().page(month, 10**6).cells
        seen: list[str] = []
        url: str | None = f"/public/figures/{month}.json"
        after = ""
        while url is not None:
            body = client.get(url).json()
            assert body["month"] == month and body["communitiesPerPage"] == 1
            shown = sorted({c["community"] for c in body["cells"]})
            assert len(shown) == 1 and all(c["month"] == month for c in body["cells"])
            seen += shown
            url = body.get("next")
            # The HTML page of the same place links a next page when the data has one.
            html = client.get(f"/public/figures/{month}" + (f"?after={after}" if after else ""))
            assert ('rel="next"' in html.text) == (url is not None)
            after = shown[0]
        assert seen == sorted({c.community for c in whole})


@pytest.mark.parametrize("month", ["2031-02", "2027-01", "2019-05"])
def test_a_month_not_published_is_a_page_without_cells(client: TestClient, month: str) -> None:
    """/req/public-pages/figures-paged: a month to come, the running one and one before the
    first published answer 200 with no cells; the running month's page says when its figures
    come."""
    body = client.get(f"/public/figures/{month}.json?community=110105001001").json()
    assert body["cells"] == [] and "next" not in body
    assert month not in client.get("/public/figures.json").json()["months"]
    for path, pending in ((f"/public/figures/{month}", "这个月的统计在月份结束后公布"),
                          (f"/public/en/figures/{month}",
                           "This month's figures are published once it has ended")):
        resp = client.get(path)
        assert resp.status_code == 200
        assert "data-count" not in resp.text and "data-suppressed" not in resp.text
        assert (pending in html.unescape(resp.text)) == (month >= "2027-01")


_LINK = re.compile(r'href="/public/(?:en/)?consultations/([^"/]+)"')
_NEXT = re.compile(r'<a [^>]*href="([^"]+)" rel="next"')


def _home(client: TestClient, lang: str = "") -> list[list[str]]:
    """The consultation ids of each page of the home page, following next from the first."""
    shown: list[list[str]] = []
    url: str | None = f"/public/{lang}"
    while url is not None:
        resp = client.get(url)
        assert resp.status_code == 200
        shown.append(_LINK.findall(resp.text))
        following = _NEXT.search(resp.text)
        url = html.unescape(following[1]) if following else None
    return shown


def _public_ids(client: TestClient) -> list[str]:
    """The consultations a caller without a token reads through the API, in store order."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        body = client.get("/consultations", params={"cursor": cursor} if cursor else {}).json()
        ids += [doc["id"] for doc in body["items"]]
        cursor = body.get("next")
        if not cursor:
            return ids


@given(st.integers(min_value=1, max_value=4))
@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_home_page_lists_the_public_consultations_newest_first_each_once(
        client: TestClient, public_app: Any, size: int) -> None:
    """/req/public-pages/home-paged: at most the page size a page, following next reaches
    each public consultation once, newest first, in both languages."""
    pages = public_app.state.public
    if len(_public_ids(client)) < 6:  # enough for several pages
        public_app.state.sc.service.load(
            [dict(example(LIFT, visibility="public"), title=f"公开议题 {n}") for n in range(5)]
            + [example(LIFT, visibility="community", title="只对社区的议题")])
    was = pages.per_home_page
    pages.per_home_page = size
    pages._rendered.clear()  # made at another size
    try:
        expected = _public_ids(client)[::-1]
        for lang in ("", "en/"):
            shown = _home(client, lang)
            assert all(len(page) <= size for page in shown)
            assert [rid for page in shown for rid in page] == expected
            assert len(shown) == -(-len(expected) // size)
    finally:
        pages.per_home_page = was
        pages._rendered.clear()


def test_a_write_to_anything_but_a_consultation_leaves_the_home_page_as_made(
        client: TestClient, public_app: Any, documents: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    pages = public_app.state.public
    monkeypatch.setattr(pages, "recheck", 0.0)
    client.get("/public/")
    made = pages._rendered[("index", "zh-Hans", "")]
    public_app.state.sc.service.load(voices_on(documents["kept"])[:1])  # an opinion
    client.get("/public/")
    again = pages._rendered[("index", "zh-Hans", "")]
    assert again.head > made.head and again.body is made.body
    added = dict(example(LIFT, visibility="public"), title="新的公开议题")
    public_app.state.sc.service.load([added])
    assert "新的公开议题" in client.get("/public/").text


@pytest.mark.parametrize(("path", "code", "pointer"), [
    ("/public/?after=x", "public.invalid-page", "/query/after"),
    ("/public/en/?after=aDA", "public.invalid-page", "/query/after"),  # place 0: never given
    ("/public/?after=aDU&after=aDY", "public.invalid-page", "/query/after"),
    ("/public/figures/2026-13", "public.invalid-month", "/path/month"),
    ("/public/en/figures/26-10.json", "public.invalid-month", "/path/month"),
    ("/public/figures/0000-01.json", "public.invalid-month", "/path/month"),  # no calendar's
    ("/public/en/figures/0000-12", "public.invalid-month", "/path/month"),
    ("/public/figures/2026-10.json?community=11010500100", "public.invalid-community",
     "/query/community"),
    ("/public/en/figures/2026-10?community=%E4%B8%80", "public.invalid-community",
     "/query/community"),
    ("/public/figures/2026-10.json?after=x", "public.invalid-after", "/query/after"),
    ("/public/figures/2026-10?after=110105001001&after=110105001002", "public.invalid-after",
     "/query/after"),
])
def test_a_malformed_month_community_or_cursor_is_refused_naming_it(
        client: TestClient, path: str, code: str, pointer: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 400
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["code"] == code and body["errors"][0]["pointer"] == pointer
    name = pointer.rsplit("/", 1)[1]
    assert name in body["message"]["en"] and name in body["message"]["zh-Hans"]


def test_the_figures_follow_new_issues(client: TestClient, public_app: Any,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    pages = public_app.state.public
    monkeypatch.setattr(pages, "recheck", 3600.0)
    monkeypatch.setattr(pages, "_checked", float("-inf"))
    path = "/public/figures/2026-09.json?community=110105001009"
    before = client.get(path).json()
    months = client.get("/public/figures.json").json()
    public_app.state.sc.service.load(
        [issue("utilities.water-supply", "110105001009", "2026-09-01T08:00:00+08:00")])
    # Kept pages are served until the change feed is read again (every ``recheck`` s) …
    assert client.get(path).json() == before
    # … and made again once it shows the write: a community and a month the figures cover
    # from now on, every group of it suppressed, the new issue's as the empty ones.
    monkeypatch.setattr(pages, "recheck", 0.0)
    after = client.get(path).json()
    assert after != before
    assert after["cells"] == [{"category": group, "community": "110105001009",
                               "month": "2026-09", "suppressed": True}
                              for group in catalogue_groups()]
    october = client.get("/public/figures/2026-10.json?community=110105001009").json()
    assert len(october["cells"]) == len(catalogue_groups())  # every month has the community
    assert "2026-09" in client.get("/public/figures.json").json()["months"]
    assert months["months"] == [m for m in client.get("/public/figures.json").json()["months"]
                                if m in months["months"]]


@pytest.mark.skipif(not pg_available(), reason="PostgreSQL does not answer on 127.0.0.1:5432")
def test_postgresql_groups_the_same(documents: dict[str, Any]) -> None:
    with throwaway_pg("sc_public") as url:
        app = create_app(Settings(database_url=url, demo=False))
        app.state.public.clock = lambda: NOW
        try:
            app.state.sc.service.load(documents["issues"])
            expected = statistics_from_issues(documents["issues"], now=NOW)
            with TestClient(app) as c:
                assert c.get("/public/figures.json").json() == expected.months_json()
                for month in expected.months:
                    assert _served(c, month) == [cell.to_json() for cell in expected.cells
                                                 if cell.month == month]
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
    assert public_app.state.public.statistics() == statistics_from_issues(stored, now=NOW)


def test_a_write_to_one_month_leaves_the_other_months_pages_as_made(
        client: TestClient, public_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pages = public_app.state.public
    monkeypatch.setattr(pages, "recheck", 0.0)
    october, listing = "/public/figures/2026-10.json", "/public/figures.json"
    client.get(october)
    client.get(listing)
    made = pages._figures.get(("month", "json", "2026-10", "", ""))
    months = pages._figures.get(("months", "json"))
    public_app.state.sc.service.load(
        [issue("housing.lift", "110105001001", "2026-11-05T08:00:00+08:00")])
    client.get(october)
    client.get(listing)
    again = pages._figures.get(("month", "json", "2026-10", "", ""))
    # Served at the new head, but the same page: October's counts did not change …
    assert again.head > made.head and again.body is made.body
    # … nor did the list of months (November had issues already).
    assert pages._figures.get(("months", "json")).body is months.body
    # November's page is made again and counts the new issue.
    november = client.get("/public/figures/2026-11.json?community=110105001001").json()
    assert {"category": "housing", "community": "110105001001", "month": "2026-11",
            "count": 6} in november["cells"]
