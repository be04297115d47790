"""DuckDB's computation of the indicators equals the streaming pass, on vectors and at scale."""

from __future__ import annotations

import importlib.util
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcommunity.indicators import Tally, load_definitions
from smartcommunity.profiles import load_profile

pytest.importorskip("duckdb")

from smartcommunity.indicators._columnar import columnar_tally

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "spec/tests/1.0/indicators/figures.json").read_text("utf-8"))
PROFILE = ROOT / "spec/1.0/profiles/beijing-chaoyang.json"


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("report_bench",
                                                  ROOT / "benchmarks/report_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), "utf-8")
    return path


def _streamed(docs: list[dict[str, Any]], profile: Any) -> dict[Any, Any]:
    tally = Tally(load_definitions(profile), profile)
    for doc in docs:
        tally.add(doc)
    return {(f.indicator, f.period, f.dimension, f.key): f for f in tally.figures()}


def _columnar(path: Path, profile: Any) -> dict[Any, Any]:
    tally = columnar_tally([path], profile)
    return {(f.indicator, f.period, f.dimension, f.key): f for f in tally.figures()}


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["description"][:30])
def test_the_vectors(vector: dict[str, Any], tmp_path: Path) -> None:
    profile = load_profile(ROOT / "spec/1.0" / vector["profile"]) if vector.get(
        "profile") else None
    path = _write(tmp_path / "v.ndjson", vector["issues"])
    assert _columnar(path, profile) == _streamed(vector["issues"], profile)


@pytest.mark.parametrize("with_profile", [False, True])
def test_generated_issues_agree(with_profile: bool, tmp_path: Path) -> None:
    bench = _bench()
    rnd = random.Random(11)
    docs = [bench.issue(i, rnd) for i in range(3000)]
    # edge cases the generator does not make: documents of other types, naive times, no
    # assignments, exclusions of one indicator, unlinked follow-ups
    docs += [{"resourceType": "Resident", "id": "r"},
             {"resourceType": "Issue", "id": "none", "assignments": []}]
    for doc in docs[:50]:
        doc["assignments"][0]["assignedAt"] = doc["assignments"][0]["assignedAt"][:19]
    for doc in docs[50:120]:
        doc["assessmentExclusions"] = [{"id": "x", "reason": "other", "at": "2026-12-31",
                                        "indicators": ["satisfaction-rate", "return-rate"],
                                        "approvedBy": {"role": "supervisor"}}]
    for doc in docs[120:300]:
        for f in doc.get("followUps") or ():
            f.pop("assignmentId", None)
    profile = load_profile(PROFILE) if with_profile else None
    path = _write(tmp_path / "g.ndjson", docs)
    streamed, columnar = _streamed(docs, profile), _columnar(path, profile)
    assert len(streamed) > 1000
    assert columnar == streamed


def _lowercase(node: Any) -> Any:
    """``node`` with every timestamp's T and Z written lowercase, as RFC 3339 allows."""
    if isinstance(node, dict):
        return {k: _lowercase(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_lowercase(v) for v in node]
    if isinstance(node, str) and len(node) > 19 and node[10] == "T" and node[4] == "-":
        return node.replace("T", "t").replace("Z", "z")
    return node


def _moved(doc: dict[str, Any], rnd: random.Random) -> None:
    """Give ``doc``'s lead a predecessor it was moved from, returned first or not, the move
    recorded by a reassign event or by ``reassignedTo`` alone; an extension approved around
    the move; sometimes the new task cancelled."""
    lead = doc["assignments"][-1]
    given = datetime.fromisoformat(lead["assignedAt"])
    old_id = lead["id"].replace("-8000-", "-6000-")
    old = {"id": old_id, "department": {"id": rnd.choice(["housing", "health"])},
           "role": "lead", "status": "reassigned",
           "assignedAt": (given - timedelta(hours=rnd.randrange(2, 48))).isoformat(),
           "reassignedTo": lead["id"]}
    if rnd.random() < 0.3:
        old.update(returnedAt=(given - timedelta(hours=1)).isoformat(),
                   returnReason="not-in-remit")
    doc["assignments"].insert(0, old)
    moved = given - timedelta(minutes=rnd.randrange(0, 90))
    # another action's details, with members the move's reading must pass over
    doc["history"].insert(0, {"seq": 0, "at": old["assignedAt"], "action": "dispatch",
                              "details": {"lead": old_id, "dueAt": lead["dueAt"]}})
    if rnd.random() < 0.6:
        doc["history"].append({"seq": 9, "at": moved.isoformat(), "action": "reassign",
                               "details": {"from": old_id, "to": lead["id"]}})
    doc["deadlines"].setdefault("extensions", []).append({
        "previousDue": lead["dueAt"], "newDue": (given + timedelta(days=30)).isoformat(),
        "reason": "complex-case",
        "at": (given + timedelta(minutes=rnd.randrange(-180, 180))).isoformat(),
        "requestedBy": {"role": "department"}, "approvedBy": {"role": "supervisor"}})
    if lead["status"] != "completed" and rnd.random() < 0.3:
        lead.update(status="cancelled",
                    cancelledAt=(given + timedelta(minutes=rnd.randrange(0, 240))).isoformat())


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), lowercase=st.booleans(), no_response_due=st.booleans(),
       unrated_latest=st.booleans(), with_profile=st.booleans(), moved=st.booleans())
def test_the_engines_agree_on_what_the_schema_allows(
        tmp_path: Path, seed: int, lowercase: bool, no_response_due: bool,
        unrated_latest: bool, with_profile: bool, moved: bool) -> None:
    """Valid documents the generator does not write: times with a lowercase t and z, no
    stated response deadline (no limit without a profile), a latest follow-up that
    reached the resident but gave no rating or verdict (an earlier one's must not count),
    and tasks moved on without a return or cancelled, with extensions around the move
    (each counts for the task in force when it was approved)."""
    bench = _bench()
    rnd = random.Random(seed)
    docs = [bench.issue(i, rnd) for i in range(40)]
    for doc in docs:
        if moved and rnd.random() < 0.5:
            _moved(doc, rnd)
        if no_response_due:
            doc["deadlines"].pop("responseDue", None)
        follow_ups = doc.get("followUps") or []
        if unrated_latest and follow_ups:
            latest = dict(follow_ups[-1], id=f"{follow_ups[-1]['id'][:-4]}ffff",
                          contactResult="reached")
            latest.pop("rating", None)
            latest.pop("perceivedResolution", None)
            follow_ups.append(latest)
    if lowercase:
        docs = [_lowercase(d) for d in docs]
    profile = load_profile(PROFILE) if with_profile else None
    path = _write(tmp_path / f"h{seed}.ndjson", docs)
    assert _columnar(path, profile) == _streamed(docs, profile)
