"""The indicators as the spec defines them: its vectors, exclusions, profiles and inputs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcommunity.exceptions import IndicatorError
from smartcommunity.indicators import DIMENSIONS, Tally, compute, load_definitions, read_issues
from smartcommunity.profiles import check_profile, load_profile

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec" / "1.0"
VECTORS = json.loads((ROOT / "spec/tests/1.0/indicators/figures.json").read_text("utf-8"))
SET_ONE = VECTORS[0]["issues"]


def _key(row: dict[str, Any]) -> tuple[str, str, str, str]:
    return row["indicator"], row["period"], row["dimension"], row["key"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["description"].split(" / ")[-1][:40]
                                                 for v in VECTORS])
def test_vector(vector: dict[str, Any]) -> None:
    profile = load_profile(SPEC / vector["profile"]) if vector.get("profile") else None
    got = {}
    for figure in compute(vector["issues"], profile, period=vector.get("period")):
        if figure.dimension in vector["dimensions"]:
            row = figure.as_json()
            assert row.pop("version") == load_definitions(profile).indicator(
                figure.indicator).version
            got[_key(row)] = row
    assert got == {_key(row): row for row in vector["expected"]}


def _figures(issues: list[Any]) -> dict[tuple[str, str, str, str], Any]:
    return {(f.indicator, f.period, f.dimension, f.key): (f.numerator, f.denominator)
            for f in compute(issues)}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, len(SET_ONE) - 1), unique=True))
def test_excluding_an_issue_counts_as_leaving_it_out(chosen: list[int]) -> None:
    """/req/indicators/exclusions: a whole-issue exclusion takes it out of every figure."""
    marked = copy.deepcopy(SET_ONE)
    for i in chosen:
        marked[i]["assessmentExclusions"] = [{"id": "x", "reason": "other", "at": "2026-11-30",
                                              "approvedBy": {"role": "regulator"}}]
    kept = [doc for i, doc in enumerate(SET_ONE) if i not in chosen]
    assert _figures(marked) == _figures(kept)


@settings(max_examples=40, deadline=None)
@given(st.permutations(SET_ONE), st.integers(0, len(SET_ONE)))
def test_order_and_splitting_do_not_change_the_figures(issues: list[dict[str, Any]],
                                                       cut: int) -> None:
    whole = _figures(issues)
    assert whole == _figures(list(reversed(issues)))
    # the city is every department together, for every indicator and period
    for (ind, period, dim, _), (num, den) in whole.items():
        if dim != "city":
            continue
        parts = [v for k, v in whole.items() if k[:3] == (ind, period, "department")]
        assert sum(p[0] for p in parts) == num and sum(p[1] for p in parts) == den


def test_an_exclusion_of_one_indicator_leaves_the_others() -> None:
    issue = copy.deepcopy(SET_ONE[0])
    before = _figures([issue])
    issue["assessmentExclusions"] = [{"id": "x", "reason": "other", "at": "2026-11-30",
                                      "indicators": ["response-rate"],
                                      "approvedBy": {"role": "supervisor"}}]
    after = _figures([issue])
    assert {k for k in before if k[0] != "response-rate"} == set(after)
    assert all(after[k] == before[k] for k in after)


def test_an_exclusion_of_another_assignment_does_not_apply() -> None:
    issue = copy.deepcopy(SET_ONE[0])
    issue["assessmentExclusions"] = [{"id": "x", "reason": "other", "at": "2026-11-30",
                                      "assignmentId": "not-this-one",
                                      "approvedBy": {"role": "supervisor"}}]
    assert _figures([issue]) == _figures([SET_ONE[0]])


def test_every_figure_is_given_by_every_dimension() -> None:
    dims = {f.dimension for f in compute(SET_ONE)}
    assert dims == set(DIMENSIONS)
    spec_dims = {d["id"] for d in load_definitions().dimensions}
    assert spec_dims == set(DIMENSIONS)


def test_a_task_given_at_the_end_of_the_calendar_is_counted_with_a_profile() -> None:
    """A task given so late that its response deadline falls after the year 9999 is counted,
    claimed on time, where working out that deadline raised and so stopped every figure."""
    city = load_profile(SPEC / "profiles/beijing-chaoyang.json")
    issue = copy.deepcopy(next(i for i in SET_ONE if i.get("assignments")))
    issue["assignments"][0]["assignedAt"] = "9999-12-31T20:00:00+08:00"
    tally = Tally(load_definitions(city), city)
    tally.add(issue)
    assert tally.cases == len(issue["assignments"])


def test_documents_of_other_types_and_issues_without_assignments_have_no_cases() -> None:
    tally = Tally(load_definitions())
    tally.add({"resourceType": "Resident", "id": "r"})
    tally.add({"resourceType": "Issue", "id": "i", "assignments": []})
    assert tally.cases == 0 and tally.figures() == []


def test_ndjson_and_a_mirrored_feed_count_each_issue_once(tmp_path: Path) -> None:
    plain = tmp_path / "issues.ndjson"
    plain.write_text("\n".join(json.dumps(d) for d in SET_ONE) + "\n\n", "utf-8")
    feed = tmp_path / "feed" / "events.ndjson"
    feed.parent.mkdir()
    events = []
    for doc in SET_ONE:
        older = copy.deepcopy(doc)
        older["assignments"] = older["assignments"][:1]
        for version in (older, doc):  # the last event of an issue is the one that counts
            events.append({"specversion": "1.0", "type": "issue.updated", "data": version})
    feed.write_text("\n".join(json.dumps(e) for e in events) + "\n", "utf-8")
    seen: list[int] = []
    assert _figures(list(read_issues(plain))) == _figures(SET_ONE)
    assert _figures(list(read_issues(feed.parent, progress=seen.append))) == _figures(SET_ONE)
    assert seen and seen[-1] == feed.stat().st_size


def test_a_line_that_is_not_json_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text(json.dumps(SET_ONE[0]) + "\n{oops\n", "utf-8")
    with pytest.raises(IndicatorError, match=r"bad\.ndjson:2"):
        list(read_issues(bad))
    with pytest.raises(IndicatorError):
        list(read_issues(tmp_path / "missing"))


def test_a_city_adds_an_indicator_and_targets() -> None:
    city = load_profile(SPEC / "profiles/beijing-chaoyang.json")
    defs = load_definitions(city)
    added = defs.indicator("cn.gov.beijing.very-satisfied-rate")
    assert added.source == "profile" and added.target == 60
    assert defs.indicator("response-rate").target == 95
    assert load_definitions().indicator("response-rate").target is None


@pytest.mark.parametrize(("change", "code", "why"), [
    (lambda d: d.update(id="response-rate"), "profile.indicator-invalid", "reuses the id"),
    (lambda d: d.update(id="elsewhere.rate"), "profile.indicator-invalid", "namespace"),
    (lambda d: d["numerator"][0].update(fact="bribes"), "profile.indicator-invalid",
     "unknown fact bribes"),
    (lambda d: d.pop("numerator"), "profile.schema-invalid", ""),  # the meta-schema's rule
])
def test_a_city_indicator_that_breaks_the_rules_is_refused(change: Any, code: str,
                                                           why: str) -> None:
    city = json.loads((SPEC / "profiles/beijing-chaoyang.json").read_text("utf-8"))
    data = json.loads((SPEC / "profiles/jiangshan.json").read_text("utf-8"))
    added = city["indicators"]["definitions"][0]
    added["id"] = "cn.gov.jiangshan.very-satisfied-rate"
    change(added)
    data["indicators"] = {"definitions": [added]}
    findings = [f for f in check_profile(data) if f.code == code]
    assert findings and all(f.pointer.startswith("/indicators") for f in findings)
    assert any(why in f.message["en"] for f in findings), [f.message for f in findings]


def test_a_valid_city_indicator_passes() -> None:
    city = json.loads((SPEC / "profiles/beijing-chaoyang.json").read_text("utf-8"))
    data = json.loads((SPEC / "profiles/jiangshan.json").read_text("utf-8"))
    added = city["indicators"]["definitions"][0]
    added["id"] = "cn.gov.jiangshan.very-satisfied-rate"
    data["indicators"] = {"definitions": [added], "targets": {added["id"]: 50}}
    assert [f for f in check_profile(data) if f.code.startswith("profile.indicator")] == []


def test_load_definitions_refuses_a_broken_city_indicator() -> None:
    city = load_profile(SPEC / "profiles/beijing-chaoyang.json")
    broken = copy.deepcopy(dict(city.data))
    broken["indicators"] = {"targets": {"nobody": 1}}
    city.data = broken
    with pytest.raises(IndicatorError, match="nobody"):
        load_definitions(city)
