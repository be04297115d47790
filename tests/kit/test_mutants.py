"""The kit proved by mutants: each broken variant of the reference server fails, and the test
that fails is the one citing the broken requirement; the unbroken server passes those tests
(in the whole run of tests/kit/test_full_run.py)."""

from __future__ import annotations

import re

import httpx
import pytest

from smartcommunity.conformance import Preset, run
from smartcommunity.conformance._registry import binding
from smartcommunity.specification import load_spec

from .harness import Server, kit_token
from .known import ALLOWED_SKIPS
from .mutants import MUTANTS, Mutant, short_pages

#: a list, tuple, set or dict printed by Python (``['a']``, ``('a',)``, ``{'a': 1}``), an
#: exception's repr (``ConnectError('…')``) or ``None``
PYTHON_NOTATION = re.compile(r"[\[({]'|'[\])}]|\w+Error\(|\bNone\b")


def test_at_least_fifteen_mutants_each_guarding_a_requirement() -> None:
    assert len(MUTANTS) >= 15
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)


def test_every_city_profile_requirement_has_a_mutant() -> None:
    """/conf/profiles is proved whole: each of its requirements, the SHOULD included, has a
    broken server the kit must catch through that requirement's check."""
    spec = load_spec("1.0")
    profiles = {r for r, req in spec.requirements.items()
                if req.conformance_class == "/conf/profiles"}
    assert profiles - {m.requirement for m in MUTANTS} == set()


def test_every_server_requirement_has_a_mutant() -> None:
    """A requirement a server enforces is done only when a broken server the kit must catch
    through that requirement's check exists (a SHOULD included: the kit warns)."""
    spec = load_spec("1.0")
    enforced = {r for r, req in spec.requirements.items() if "server" in req.enforcement}
    assert enforced - {m.requirement for m in MUTANTS} == set()


@pytest.mark.slow
@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_the_kit_catches(mutant: Mutant, served: Server, preset: Preset,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    served.serve(mutant.install(served.app, monkeypatch))
    report = run(served.base_url, preset, requirements=mutant.requirements)
    # A server that misses a SHOULD is warned about, not failed.
    must = binding(load_spec("1.0"), mutant.requirement)
    failures = {r["requirement"]: r["message"]["en"] for r in report["results"]
                if r["status"] == ("fail" if must else "warn")}
    assert report["verdict"] == "fail" or not must, (
        f"{mutant.name} ({mutant.defect}) was certified")
    assert mutant.requirement in failures, (
        f"{mutant.name} ({mutant.defect}) was not caught by {mutant.requirement}: "
        + str({r["id"]: (r["status"], r["message"]["en"]) for r in report["results"]}))
    # A regulator reads the failure in Chinese or English, never Python's notation for it.
    for r in report["results"]:
        for lang, text in r["message"].items():
            assert not PYTHON_NOTATION.search(text), f"{r['id']} ({lang}): {text}"


@pytest.mark.slow
def test_short_pages_pass_the_whole_kit(served: Server, preset: Preset) -> None:
    """A page may hold fewer items than its limit asks (/req/core/paging,
    /req/change-feed/resume): a server whose every page holds two items at most passes
    whatever the reference server passes, so no check looks for what it needs on one page
    only (where a server with short pages would hide it, or be failed for it)."""
    served.serve(short_pages(served.app))
    token = {"Authorization": f"Bearer {kit_token('demo-staff-liu-fang')}"}
    page = httpx.get(f"{served.base_url}/changes", params={"limit": "500"}, headers=token)
    assert len(page.json()["items"]) == 2  # the demo's feed is longer: the pages are short
    report = run(served.base_url, preset)
    bad = {r["id"]: r["message"]["en"] for r in report["results"]
           if r["status"] in ("fail", "error", "warn")}
    assert not bad, bad
    # nor does a check give up on what it could not read to its end
    assert {r["id"] for r in report["results"] if r["status"] == "skip"} == set(ALLOWED_SKIPS)
