"""The whole kit against the real reference server, through the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from jsonschema import Draft202012Validator

from smartcommunity.specification import load_spec

from .harness import FULL_RUN_BUDGET, Server
from .known import ALLOWED_SKIPS


def test_full_kit_passes_against_the_reference_server(server: Server, preset_file: Path,
                                                      tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "smartcommunity.cli", "conformance", "run",
         "--base-url", server.base_url, "--preset", str(preset_file),
         "--report-dir", str(reports)],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    elapsed = time.perf_counter() - started
    assert elapsed < FULL_RUN_BUDGET, f"the kit took {elapsed:.1f} s"
    report: dict[str, Any] = json.loads((reports / "report.json").read_text("utf-8"))
    results = report["results"]
    failed = {r["id"]: r["message"]["en"] for r in results if r["status"] in ("fail", "error")}
    skipped = {r["id"]: r["message"]["en"] for r in results if r["status"] == "skip"}
    assert not failed, f"the kit fails the reference server: {failed}"
    assert set(skipped) == set(ALLOWED_SKIPS), f"unexpected skips: {skipped}"
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [r for r in results if r["status"] == "warn"], "SHOULD checks warn"

    # One progress line per test, then the verdict.
    lines = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert len(lines) == len(results)
    assert "CERTIFIED" in done.stdout and "NOT CERTIFIED" not in done.stdout

    spec = load_spec("1.0")
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
