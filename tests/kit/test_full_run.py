"""The whole kit against the real reference server, through the command line: every check
runs, the report is complete and consistent in its three forms, and the verdict is a pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from jsonschema import Draft202012Validator

from smartcommunity.conformance import all_tests
from smartcommunity.specification import DEFAULT_VERSION, load_spec

from .harness import Server
from .known import ALLOWED_SKIPS

pytestmark = pytest.mark.slow


def test_full_kit_passes_against_the_reference_server(server: Server, preset_file: Path,
                                                      tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [sys.executable, "-m", "smartcommunity.cli", "conformance", "run",
         "--base-url", server.base_url, "--preset", str(preset_file),
         "--report-dir", str(reports)],
        capture_output=True, text=True, env=env, check=False)
    report: dict[str, Any] = json.loads((reports / "report.json").read_text("utf-8"))
    results = report["results"]
    failed = {r["id"]: r["message"]["en"] for r in results if r["status"] in ("fail", "error")}
    skipped = {r["id"]: r["message"]["en"] for r in results if r["status"] == "skip"}
    assert not failed, f"the kit fails the reference server: {failed}"
    assert set(skipped) == set(ALLOWED_SKIPS), f"unexpected skips: {skipped}"
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [r for r in results if r["status"] == "warn"], "SHOULD checks warn"

    # Every registered check ran once, against the version the server declares.
    spec = load_spec(DEFAULT_VERSION)
    assert report["specVersion"] == spec.version
    assert sorted(r["id"] for r in results) == sorted(t.id for t in all_tests(spec))
    assert report["verdict"] == "pass"
    for cls in report["classes"]:
        mine = [r for r in results if r["class"] == cls["id"]]
        assert sum(cls["counts"].values()) == len(mine), cls["id"]
        assert cls["verdict"] == "pass" and cls["declared"], cls["id"]
    assert set(report["coverage"]) == set(spec.requirements)

    # One progress line per test, then the verdict.
    lines = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert len(lines) == len(results)
    assert "CERTIFIED" in done.stdout and "NOT CERTIFIED" not in done.stdout

    validator = Draft202012Validator(spec.schema("conformance-report.json"),
                                     registry=spec.registry,
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(report)]
    assert not errors, errors[:5]

    suites = ET.parse(reports / "junit.xml").getroot()
    cases = suites.findall("testsuite/testcase")
    assert len(cases) == len(results)
    for suite in suites.findall("testsuite"):
        mine = [r for r in results if r["class"] == suite.get("name")]
        assert int(suite.get("tests", -1)) == len(mine)
        for attribute, status in (("failures", "fail"), ("errors", "error"),
                                  ("skipped", "skip")):
            assert int(suite.get(attribute, -1)) == sum(r["status"] == status for r in mine)
    assert len(suites.findall("testsuite/testcase/failure")) == sum(
        r["status"] == "fail" for r in results)

    page = (reports / "report.html").read_text("utf-8")
    assert 'id="verdict"' in page and "#req-core-etag" in page
