"""The HTTP walkthrough pages are executed: every request on them is sent, as written, to a
fresh reference server with the demo data, and every response must match the page."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from . import walkthrough

warnings.filterwarnings("ignore", message=".*httpx2.*")

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "docs/guides/http-walkthrough.md", ROOT / "docs/guides/http-walkthrough.en.md"]


def _server(tmp_path: Path) -> walkthrough.Send:
    from fastapi.testclient import TestClient

    from reference_server import Settings, create_app

    client = TestClient(create_app(Settings(database_url=f"sqlite:///{tmp_path}/w.sqlite3",
                                            demo=True)))

    def send(method: str, target: str, headers: dict[str, str], body: bytes | None
             ) -> tuple[int, dict[str, str], Any]:
        resp = client.request(method, target, headers=headers, content=body)
        try:
            parsed: Any = resp.json()
        except json.JSONDecodeError:
            parsed = resp.text
        return resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, parsed

    return send


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_walkthrough_runs_as_written(page: Path, tmp_path: Path) -> None:
    done = walkthrough.walk(page.read_text("utf-8"), _server(tmp_path))
    assert not done.problems, "\n".join(done.problems)


def test_both_languages_send_the_same_requests() -> None:
    zh, en = (walkthrough.steps(p.read_text("utf-8")) for p in PAGES)
    assert [(s.request, s.expected) for s in zh] == [(s.request, s.expected) for s in en]


def test_the_walkthrough_covers_the_whole_loop() -> None:
    """Create, accept, dispatch, claim, progress, resolve, follow-up, plus return, reopen,
    merge, a stale ETag and mirroring the feed."""
    targets = [f"{s.request.method} {s.request.target}" for s in
               walkthrough.steps(PAGES[0].read_text("utf-8"))]
    actions = {t.rsplit("/", 1)[-1] for t in targets if "/actions/" in t}
    assert actions >= {"accept", "dispatch", "claim", "add-progress", "resolve", "follow-up",
                       "return", "reopen", "merge"}
    assert any(t.startswith("POST /issues") and "/actions/" not in t for t in targets)
    assert sum(t.startswith("GET /changes") for t in targets) >= 2
    statuses = [s.expected.status for s in walkthrough.steps(PAGES[0].read_text("utf-8"))]
    assert 412 in statuses


def test_the_matcher_catches_a_page_that_lies(tmp_path: Path) -> None:
    """A wrong status, header or member on the page is reported, so a drift cannot pass."""
    page = PAGES[1].read_text("utf-8")
    lies = [(page.replace('ETag: "7"', 'ETag: "8"', 1), "header etag"),
            (page.replace('"returnReason": "not-in-remit"', '"returnReason": "other"', 1),
             "returnReason"),
            (page.replace("HTTP/1.1 412 Precondition Failed", "HTTP/1.1 200 OK", 1),
             "status 412")]
    for n, (wrong, said) in enumerate(lies):
        assert wrong != page
        folder = tmp_path / str(n)
        folder.mkdir()
        done = walkthrough.walk(wrong, _server(folder))
        assert len(done.problems) == 1 and said in done.problems[0], done.problems
