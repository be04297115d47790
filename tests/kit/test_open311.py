"""The Open311 checks pass the reference server, each citing its requirement, and every
requirement of /conf/open311 has a mutant the kit fails (tests/kit/mutants_open311.py)."""

from __future__ import annotations

from smartcommunity.conformance import Preset, run
from smartcommunity.conformance._openapi import OpenApiJudge
from smartcommunity.open311 import mapping
from smartcommunity.specification import load_spec

from .harness import Server
from .mutants import MUTANTS

_CLASS = "/conf/open311"
_RESPONSES = "/req/core/openapi-responses"


def test_the_reference_server_passes_the_open311_checks(served: Server, preset: Preset) -> None:
    report = run(served.base_url, preset, classes=[_CLASS])
    results = [r for r in report["results"] if r["requirement"].startswith("/req/open311/")]
    assert {r["requirement"] for r in results} == set(
        load_spec("1.0").conformance_classes[_CLASS].requirement_ids)
    bad = {r["id"]: (r["status"], r["message"]["en"]) for r in results if r["status"] != "pass"}
    assert not bad, bad
    # The bridge's answers, JSON and XML, keep to the operations the OpenAPI declares for them.
    held = [r for r in report["results"] if r["requirement"] == _RESPONSES]
    assert [r["status"] for r in held] == ["pass"], held


def test_the_response_check_judges_the_bridge() -> None:
    """Every call of the bridge is matched to a declared operation, so the response check
    holds it to the OpenAPI rather than leaving it out."""
    judge = OpenApiJudge(load_spec("1.0"))
    prefix = mapping("1.0").prefix
    for tail in ("/discovery.xml", "/services.json", "/requests.xml", "/requests/x.json",
                 "/services/a.b.json", "/tokens/t.xml"):
        found = judge.match("GET", prefix + tail)
        assert found is not None and found.declaration["x-wire"] == "georeport-v2", tail
    assert judge.match("POST", prefix + "/requests.json") is not None


def test_every_open311_requirement_has_a_mutant() -> None:
    ids = load_spec("1.0").conformance_classes[_CLASS].requirement_ids
    assert set(ids) <= {m.requirement for m in MUTANTS}
