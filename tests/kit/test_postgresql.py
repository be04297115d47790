"""The privacy matrix and the checks that change who may see what, run by the kit against the
reference server on PostgreSQL: the same zero leaks as on SQLite, since the production backend
is where a city's data lives. Skipped when no PostgreSQL answers on 127.0.0.1:5432."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from server.helpers import throwaway_pg  # the tests folder is on the path (rootdir)

from reference_server import create_app
from smartcommunity.conformance import Preset, all_tests, run
from smartcommunity.specification import load_spec

from .harness import Server, server_settings, serving
from .mutants import MUTANTS

pytestmark = pytest.mark.slow

#: the checks that read what each reader receives after access changes (access decided now,
#: erasure, idempotency) — the modules whose checks re-read copies the storage keeps
ACCESS_CHANGES = ("_access_now",)


def _privacy_requirements() -> list[str]:
    """Every requirement of the privacy class the kit checks, and the access-change checks of
    the other classes."""
    spec = load_spec()
    wanted = {t.requirement for t in all_tests(spec)
              if t.requirement.startswith("/req/privacy/")
              or t.fn.__module__.rsplit(".", 1)[-1] in ACCESS_CHANGES}
    return sorted(wanted)


@pytest.fixture(scope="module")
def pg_server(issuer: Path) -> Iterator[Server]:
    with throwaway_pg("sc_kit") as url, serving(create_app(server_settings(url, issuer))) as s:
        yield s


def test_privacy_matrix_and_access_changes_on_postgresql(pg_server: Server,
                                                          preset: Preset) -> None:
    wanted = _privacy_requirements()
    assert "/req/privacy/redaction-matrix" in wanted
    report = run(pg_server.base_url, preset, requirements=wanted)
    ran = {r["requirement"] for r in report["results"]}
    assert set(wanted) <= ran
    bad = {r["id"]: (r["status"], r["message"]["en"]) for r in report["results"]
           if r["status"] not in ("pass", "skip")}
    assert not bad, bad
    matrix = [r for r in report["results"] if r["requirement"] == "/req/privacy/redaction-matrix"]
    assert matrix and all(r["status"] == "pass" for r in matrix)
    assert report["verdict"] == "pass"


def test_the_matrix_catches_a_leak_on_postgresql(pg_server: Server, preset: Preset,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The same check, on the same backend, fails a server whose resident list leaks."""
    mutant = next(m for m in MUTANTS if m.name == "grid-list-unmasked")
    pg_server.serve(mutant.install(pg_server.app, monkeypatch))
    try:
        report = run(pg_server.base_url, preset, requirements=mutant.requirements)
    finally:
        pg_server.reset()
    failed = {r["requirement"] for r in report["results"] if r["status"] == "fail"}
    assert mutant.requirement in failed
