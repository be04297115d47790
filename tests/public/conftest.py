"""One reference server per test session holding public and community-only consultations and
issues spread over cells of known sizes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reference_server import Settings, create_app

from .helpers import LIFT, NOW, example, issue, voices_on

COMMUNITY = "110105001001"


@pytest.fixture(scope="session")
def documents() -> dict[str, Any]:
    public = example(LIFT, visibility="public")
    kept = example(LIFT, visibility="community", title="只对社区公开的议题")
    for doc in (public, kept):
        doc.pop("meta", None)
    issues = ([issue("environment.garbage", COMMUNITY, "2026-10-12T09:00:00+08:00")
               for _ in range(7)]
              # the last evening of October in UTC is November in China
              + [issue("housing.lift", COMMUNITY, "2026-10-31T16:30:00Z") for _ in range(5)]
              + [issue("public-safety", COMMUNITY, "2026-10-03T10:00:00+08:00")
                 for _ in range(2)])
    kept_voices = voices_on(kept)
    for voice in kept_voices:
        voice["reply"]["text"] += "（只对社区）"
    return {"public": public, "kept": kept, "issues": issues,
            "voices": voices_on(public), "kept_voices": kept_voices}


@pytest.fixture(scope="session")
def public_app(tmp_path_factory: pytest.TempPathFactory, documents: dict[str, Any]) -> Any:
    path: Path = tmp_path_factory.mktemp("public") / "server.sqlite3"
    app = create_app(Settings(database_url=f"sqlite:///{path}", demo=True))
    app.state.public.clock = lambda: NOW
    app.state.sc.service.load([documents["public"], documents["kept"], *documents["issues"],
                               *documents["voices"], *documents["kept_voices"]])
    return app


@pytest.fixture(scope="session")
def client(public_app: Any) -> Iterator[TestClient]:
    with TestClient(public_app) as c:
        yield c
