"""Fixtures of the server tests: one app per storage backend, clients per role.

Every test session (each xdist worker) gets its own SQLite file and, when PostgreSQL answers on
127.0.0.1:5432, its own fresh PostgreSQL database, dropped at the end; tests that take the
``backend`` fixture run once on each. Tests create documents with fresh ids, so they share one
application per backend without stepping on each other.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

warnings.filterwarnings("ignore", message=".*httpx2.*")

from fastapi.testclient import TestClient  # noqa: E402

from reference_server import Settings, create_app  # noqa: E402

from .helpers import KEY, TOKENS, Api, throwaway_pg  # noqa: E402


def make_app(url: str, **options: Any) -> Any:
    settings = Settings(database_url=url, tokens=TOKENS, demo=options.pop("demo", True),
                        pseudonym_key=KEY, **options)
    return create_app(settings)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session (and xdist worker), dropped at the end."""
    with throwaway_pg("sc_test") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("db") / "server.sqlite3"
    return make_app(f"sqlite:///{path}")


@pytest.fixture(scope="session")
def postgresql_app(pg_url: str) -> Any:
    return make_app(pg_url)


@pytest.fixture(params=["sqlite", "postgresql"], scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def app(backend: str, request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(f"{backend}_app")


@pytest.fixture(scope="session")
def api(app: Any) -> Api:
    return Api(TestClient(app, raise_server_exceptions=True))


@pytest.fixture(scope="session")
def sqlite_api(sqlite_app: Any) -> Api:
    return Api(TestClient(sqlite_app, raise_server_exceptions=True))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind (PostgreSQL: a throwaway one, dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    with throwaway_pg("sc_empty") as url:
        yield url


@pytest.fixture
def own_api(backend: str, tmp_path: Path) -> Iterator[Api]:
    """A server of this test's own (demo data only): what other tests stored, for readers the
    mirror may not see in full, stays out of what it is held to copy."""
    with contextlib.ExitStack() as stack:
        url = (f"sqlite:///{tmp_path / 'source.sqlite3'}" if backend == "sqlite"
               else stack.enter_context(throwaway_pg("sc_mirror")))
        yield Api(stack.enter_context(TestClient(make_app(url))))
