"""The landing page, the offline documentation page and the access log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from reference_server.access_log import ACCESS_LOG
from reference_server.http import prefers_html
from smartcommunity.specification import load_spec

from .helpers import Api

SPEC = load_spec()
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_landing_page_links_every_part_and_every_collection(api: Api) -> None:
    resp = api.client.get("/")
    assert resp.status_code == 200
    page = resp.json()
    Draft202012Validator(SPEC.schema("landing-page.json"), registry=SPEC.registry).validate(page)
    rels = {link["rel"] for link in page["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= rels
    assert {link.get("resourceType") for link in page["links"] if link["rel"] == "data"} == set(
        SPEC.resource_types)
    for link in page["links"]:
        target = api.client.get(urlsplit(link["href"]).path)
        # collections need a token unless the public may read them: never 404
        assert target.status_code in (200, 401), link


def test_links_follow_the_root_the_client_reached(api: Api) -> None:
    # behind a proxy serving the API under /city/api, the links must carry that prefix
    proxied = TestClient(api.client.app, base_url="http://gov.example", root_path="/city/api")
    page = proxied.get("/").json()
    assert all(link["href"].startswith("http://gov.example/city/api/")
               for link in page["links"])


def test_a_browser_gets_a_page_with_the_same_links(api: Api) -> None:
    page = api.client.get("/").json()
    resp = api.client.get("/", headers={"accept": BROWSER})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    for link in page["links"]:
        if link["rel"] != "self":
            assert f'href="{link["href"]}"' in resp.text


def test_documentation_page_needs_nothing_from_outside(api: Api) -> None:
    resp = api.client.get("/docs")
    assert resp.status_code == 200
    assert "http://" not in resp.text and "https://" not in resp.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"):
        got = api.client.get(f"/docs/assets/{asset}")
        assert got.status_code == 200 and len(got.content) > 1000, asset


@pytest.mark.parametrize(("accept", "html"), [
    (None, False), ("", False), ("*/*", False), ("application/json", False),
    (BROWSER, True), ("text/html", True), ("text/*", True),
    ("text/html;q=0.5, application/json", False),
    ("application/json;q=0.1, text/html;q=0.2", True),
    ("text/html;q=0, */*", False),          # an explicit 0 excludes HTML, whatever follows
    ("*/*, application/json;q=0.2, text/html;q=0.3", True),
    ("text/html;q=bad", False),
])
def test_accept_negotiation(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


@given(st.lists(st.sampled_from(["text/html", "application/json", "text/*", "*/*",
                                 "application/*", "image/png"]), max_size=5, unique=True),
       st.lists(st.floats(0, 1).map(lambda q: round(q, 3)), min_size=5, max_size=5))
@settings(max_examples=300)
def test_order_of_ranges_never_decides(ranges: list[str], qs: list[float]) -> None:
    parts = [f"{r};q={q}" for r, q in zip(ranges, qs, strict=False)]
    assert prefers_html(", ".join(parts)) is prefers_html(", ".join(reversed(parts)))


PERSONAL = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                   min_size=6, max_size=20).filter(lambda s: s.strip() == s and len(s) >= 6)


@contextmanager
def access_lines() -> Iterator[list[str]]:
    """The access log's lines while the block runs."""
    lines: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger(ACCESS_LOG)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@given(secret=PERSONAL)
@settings(max_examples=40, deadline=None)
def test_the_access_log_names_no_one(api: Api, secret: str) -> None:
    staff = api.staff
    token = "t" + secret.encode().hex()  # a credential that is not the server's
    with access_lines() as lines:
        staff.get("/residents", params={"community": secret})
        staff.get(f"/residents/{secret}")
        api.client.get("/issues", headers={"authorization": f"Bearer {token}"})
        api.client.get(f"/nowhere/{secret}")
    assert len(lines) == 4
    assert not any(secret in line or quote(secret) in line or token in line for line in lines)
    assert not any(staff.token and staff.token in line for line in lines)
    assert lines[0].startswith("GET listResidents ")
    assert "role=community-staff" in lines[0]
    assert lines[2].split()[2] == "401" and lines[3].split()[1:3] == ["-", "404"]


def test_one_line_per_request(api: Api) -> None:
    """Each line: method, operation (or fixed page), status, time, role."""
    with access_lines() as raw:
        api.client.get("/")
        api.client.get("/docs/assets/swagger-ui.css")
    lines: list[Any] = [line.split() for line in raw]
    assert [line[:3] for line in lines] == [["GET", "getLandingPage", "200"],
                                             ["GET", "/docs/assets", "200"]]
    assert all(line[3].endswith("ms") for line in lines)
