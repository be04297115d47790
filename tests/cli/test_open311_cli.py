"""``smartcommunity open311 import``: issues from a JSON or XML export, a loss report, the
refused requests named, and a missing extra said plainly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smartcommunity import validate
from smartcommunity.cli import run
from smartcommunity.open311 import catalogue, issue_to_request, to_xml
from smartcommunity.specification import load_spec

SPEC = load_spec("1.0")
REQUESTS = [issue_to_request(d, catalogue()).value for _, d in SPEC.examples()
            if d.get("resourceType") == "Issue"]
ARGS = ["--community", "110105001001", "--system", "https://open311.example.org"]


@pytest.mark.parametrize("form", ["json", "xml"])
def test_import_writes_valid_issues_and_a_loss_report(
        form: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / f"export.{form}"
    broken = {"service_request_id": "legacy-9", "service_code": "no.such", "description": "x"}
    rows = [*REQUESTS, broken]
    export.write_bytes(to_xml("service_requests", rows) if form == "xml"
                       else json.dumps(rows, ensure_ascii=False).encode())
    out, report = tmp_path / "issues.ndjson", tmp_path / "report.json"
    code = run(["open311", "import", str(export), *ARGS, "--output", str(out),
                "--report", str(report), "--progress"])
    assert code == 1  # one request refused
    issues = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert len(issues) == len(REQUESTS)
    assert all(validate(i).valid for i in issues)
    assert {i["externalRefs"][0]["value"] for i in issues} == {
        r["service_request_id"] for r in REQUESTS}
    summary = json.loads(report.read_text("utf-8"))
    assert summary["imported"] == len(REQUESTS)
    assert summary["refused"][0]["service_request_id"] == "legacy-9"
    lost = {entry["field"]: entry for entry in summary["lost"]}
    assert lost["updated_datetime"]["requests"] == len(REQUESTS)
    assert lost["status"]["why"]["zh-Hans"] and lost["status"]["why"]["en"]
    err = capsys.readouterr().err
    assert f"converting {len(rows)}/{len(rows)} requests" in err
    assert "legacy-9" in err and "Service code no.such" in err


def test_an_unreadable_export_is_refused(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "export.xml"
    export.write_text("<services><service/></services>", encoding="utf-8")
    assert run(["open311", "import", str(export), *ARGS]) == 1
    assert "Cannot read the Open311 export" in capsys.readouterr().err


def test_without_defusedxml_the_command_says_what_to_install(tmp_path: Path) -> None:
    export = tmp_path / "export.xml"
    export.write_bytes(to_xml("service_requests", REQUESTS))
    launch = ("import sys\nsys.modules['defusedxml'] = None\n"
              "from smartcommunity.cli import main\nsys.argv[1:1] = []\nmain()\n")
    result = subprocess.run([sys.executable, "-c", launch, "open311", "import", str(export),
                             *ARGS], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert 'pip install "smartcommunity[open311]"' in result.stderr


def test_without_a_community_each_request_says_where_it_belongs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --community an export spanning communities is split by each request's
    jurisdiction_id, grid (address_id) or point inside a grid of the profile; a request that
    says nothing is refused, naming jurisdiction_id."""
    base = {"service_code": "environment.garbage", "description": "垃圾站满溢",
            "requested_datetime": "2025-06-16T07:52:00+08:00"}
    rows = [{**base, "service_request_id": "a", "jurisdiction_id": "110105001002",
             "address_string": "东门外"},
            {**base, "service_request_id": "b", "address_id": "110105001001-03"},
            {**base, "service_request_id": "c", "lat": "39.9065", "long": "116.4450"},
            {**base, "service_request_id": "d", "address_string": "东门外"}]
    export, out, report = (tmp_path / "export.json", tmp_path / "issues.ndjson",
                           tmp_path / "report.json")
    export.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    profile = SPEC.folder / "profiles" / "beijing-chaoyang.json"
    code = run(["open311", "import", str(export), "--system", "https://open311.example.org",
                "--profile", str(profile), "--output", str(out), "--report", str(report)])
    assert code == 1
    issues = {i["externalRefs"][0]["value"]: i["communityDivisionCode"] for i in (
        json.loads(line) for line in out.read_text("utf-8").splitlines())}
    assert issues == {"a": "110105001002", "b": "110105001001", "c": "110105001002"}
    refused = json.loads(report.read_text("utf-8"))["refused"]
    assert [(r["service_request_id"], r["problems"][0]["pointer"]) for r in refused] == [
        ("d", "/jurisdiction_id")]
    assert "Cannot tell which community" in capsys.readouterr().err
