"""smartcommunity validate: files, folders, stdin, NDJSON; exit codes; readable and JSON output."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from smartcommunity import load_spec
from smartcommunity.cli import run
from smartcommunity.specification import DEFAULT_VERSION

SPEC = load_spec(DEFAULT_VERSION)
EXAMPLES_DIR = SPEC.folder / "examples"
ISSUE = next(d for _, d in SPEC.examples() if d["resourceType"] == "Issue")


def _broken() -> dict[str, Any]:
    doc = copy.deepcopy(ISSUE)
    doc["vendorField"] = 1
    return doc


def test_examples_folder_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", str(EXAMPLES_DIR)]) == 0
    out = capsys.readouterr().out
    assert out.count("✓") == len(list(SPEC.examples()))
    assert "0 个无效" in out


def test_invalid_file_exits_1_and_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_broken()), encoding="utf-8")
    assert run(["validate", "--lang", "en", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}: /vendorField:" in out
    assert "schema.unknown-member" in out and "/req/core/no-unknown-members" in out
    assert "1 invalid" in out


def test_ndjson_reports_line_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [json.dumps(ISSUE), "", "{oops", json.dumps(_broken())]
    f = tmp_path / "batch.ndjson"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run(["validate", "--lang", "en", str(f)]) == 1
    out = capsys.readouterr().out
    assert f"{f}:3: /:" in out and "document.not-json" in out
    assert f"{f}:4: /vendorField" in out
    assert "3 documents: 1 valid, 2 invalid" in out


def test_json_report_matches_its_published_schema(tmp_path: Path) -> None:
    f = tmp_path / "batch.ndjson"
    f.write_text(json.dumps(ISSUE) + "\n" + json.dumps(_broken()) + "\n", encoding="utf-8")
    out = tmp_path / "report.json"
    assert run(["validate", "--format", "json", "-o", str(out), str(f)]) == 1
    report = json.loads(out.read_text(encoding="utf-8"))
    validator = Draft202012Validator(SPEC.schema("validation-report.json"), registry=SPEC.registry)
    assert [e.message for e in validator.iter_errors(report)] == []
    assert report["summary"] == {
        "documents": 2,
        "valid": 1,
        "invalid": 1,
        "errors": 1,
        "warnings": 0,
    }
    assert [r["line"] for r in report["results"]] == [1, 2]


def test_stdin_with_dash() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "smartcommunity.cli", "validate", "--lang", "en", "-"],
        input=json.dumps(_broken()).encode(),
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 1
    assert b"-: /vendorField" in proc.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "/no/such/path"],
        ["validate"],
        ["validate", "--format", "xml", "x"],
        ["frobnicate"],
        [],
    ],
)
def test_usage_and_io_errors_exit_2(argv: list[str]) -> None:
    assert run(argv) == 2


def test_large_ndjson_uses_workers_and_agrees_with_one_process(tmp_path: Path) -> None:
    from smartcommunity.cli import _validate

    docs = []
    for i in range(2500):
        doc = copy.deepcopy(ISSUE)
        doc["id"] = f"00000000-0000-4000-8000-{i:012d}"
        if i % 500 == 7:
            doc["status"] = "nonsense"
        docs.append(json.dumps(doc, ensure_ascii=False))
    f = tmp_path / "many.ndjson"
    f.write_text("\n".join(docs) + "\n", encoding="utf-8")
    assert f.stat().st_size > _validate.PARALLEL_BYTES
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"r{jobs}.json"
        assert run(["validate", "--jobs", jobs, "--format", "json", "-o", str(out), str(f)]) == 1
        outputs.append(json.loads(out.read_text(encoding="utf-8")))
    assert outputs[0] == outputs[1]
    assert outputs[0]["summary"]["invalid"] == 5
    texts = []
    for jobs in ("1", "2"):
        out = tmp_path / f"r{jobs}.txt"
        assert run(["validate", "--jobs", jobs, "--lang", "en", "-o", str(out), str(f)]) == 1
        texts.append(out.read_text(encoding="utf-8"))
    assert texts[0] == texts[1]
    assert f"{f}:508: /status" in texts[0]
    assert "2500 documents: 2495 valid, 5 invalid" in texts[0]


def test_ndjson_checks_references_across_the_file(tmp_path: Path) -> None:
    examples = {n: d for n, d in SPEC.examples()}
    dup = next(d for n, d in examples.items() if "duplicate" in n)
    target = next(d for d in examples.values() if d["id"] == dup["mergedInto"])
    alone = tmp_path / "alone.ndjson"
    alone.write_text(json.dumps(dup) + "\n", encoding="utf-8")
    both = tmp_path / "both.ndjson"
    both.write_text(json.dumps(dup) + "\n" + json.dumps(target) + "\n", encoding="utf-8")
    out = tmp_path / "r.json"
    assert run(["validate", "--format", "json", "-o", str(out), str(alone)]) == 1
    report = json.loads(out.read_text(encoding="utf-8"))
    codes = {f["code"] for r in report["results"] for f in r["findings"]}
    assert "issue.merge-target-missing" in codes
    assert report["summary"]["invalid"] == 1
    assert run(["validate", "--format", "json", "-o", str(out), str(both)]) == 0


def test_a_cross_document_should_rule_warns_and_agrees_with_the_library(tmp_path: Path) -> None:
    # /req/issues/merge-reciprocal is a SHOULD: a one-sided merge is a warning, exit 0, and the
    # CLI reports exactly what Validator.validate_many reports.
    from smartcommunity import Validator

    examples = {n: d for n, d in SPEC.examples()}
    dup = next(d for n, d in examples.items() if "duplicate" in n)
    target = copy.deepcopy(next(d for d in examples.values() if d["id"] == dup["mergedInto"]))
    target.pop("mergedDuplicates")
    path = tmp_path / "set.ndjson"
    path.write_text(json.dumps(dup) + "\n" + json.dumps(target) + "\n", encoding="utf-8")
    out = tmp_path / "r.json"
    assert run(["validate", "--format", "json", "-o", str(out), str(path)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    cli = sorted((f["code"], f["pointer"], f["severity"])
                 for r in report["results"] for f in r["findings"])
    library = sorted((f.code, f.pointer, f.severity)
                     for r in Validator().validate_many([dup, target]) for f in r.findings)
    assert cli == library == [("issue.merge-not-reciprocal", "/mergedInto", "warning")]
    assert report["summary"]["warnings"] == 1 and report["summary"]["invalid"] == 0


def test_a_file_is_called_valid_only_once_its_references_are_settled(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A merged duplicate alone is valid by itself but names a target the set lacks: the CLI
    # says so once, with ✗, never ✓ first; beside its target it gets its ✓.
    examples = {n: d for n, d in SPEC.examples()}
    dup = next(d for n, d in examples.items() if "duplicate" in n)
    target = next(d for d in examples.values() if d["id"] == dup["mergedInto"])
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "dup.json").write_text(json.dumps(dup), encoding="utf-8")
    assert run(["validate", "--lang", "en", str(alone)]) == 1
    out = capsys.readouterr().out
    assert "✓" not in out and out.count("✗") == 1 and "issue.merge-target-missing" in out
    (alone / "target.json").write_text(json.dumps(target), encoding="utf-8")
    assert run(["validate", "--lang", "en", str(alone)]) == 0
    out = capsys.readouterr().out
    assert out.count("✓") == 2 and "✗" not in out


# -- --profile ---------------------------------------------------------------------------------
PROFILE = SPEC.folder / "profiles" / "beijing-chaoyang.json"


def test_profile_makes_city_codes_known_and_resolves_departments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads((EXAMPLES_DIR / "issue" / "gas-heater-elderly-closed.json").read_text("utf-8"))
    doc["category"] = "environment.garbage.bj-bulky-waste"
    city = tmp_path / "city.json"
    city.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert run(["validate", "--lang", "en", str(city)]) == 0
    assert "core.unknown-code" in capsys.readouterr().out
    assert run(["validate", "--lang", "en", "--profile", str(PROFILE), str(city)]) == 0
    assert "core.unknown-code" not in capsys.readouterr().out
    doc["assignments"][0]["department"]["id"] = "nobody"
    city.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert run(["validate", "--lang", "en", "--profile", str(PROFILE), str(city)]) == 1
    assert "profile.unknown-department" in capsys.readouterr().out


def test_broken_profile_is_a_usage_error(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    broken = json.loads(PROFILE.read_text(encoding="utf-8"))
    broken["roles"][0]["role"] = "mayor"
    broken["organisations"]["file"] = str(PROFILE.parent / broken["organisations"]["file"])
    path = tmp_path / "p.json"
    path.write_text(json.dumps(broken, ensure_ascii=False), encoding="utf-8")
    assert run(["validate", "--lang", "en", "--profile", str(path), str(EXAMPLES_DIR)]) == 2
    assert "profile.unknown-role" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs a process that may run on two CPUs or more")
def test_workers_default_to_the_cpus_the_process_may_use() -> None:
    # In a container given one core of many, a worker per machine CPU would only queue.
    one = min(os.sched_getaffinity(0))
    shown = subprocess.run(
        [sys.executable, "-c",
         "from smartcommunity.cli import _parser, usable_cpus\n"
         "print(_parser().parse_args(['validate', 'x']).jobs, usable_cpus())"],
        capture_output=True, text=True, check=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {one}))
    assert shown.stdout.split() == ["1", "1"]
