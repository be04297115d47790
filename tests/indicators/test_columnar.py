"""DuckDB's computation of the indicators equals the streaming pass, on vectors and at scale."""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path
from typing import Any

import pytest

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
