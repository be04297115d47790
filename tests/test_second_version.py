"""A second version of the standard needs spec files and no Python change.

A throwaway version 1.99 is made in a temporary copy of ``spec/``: it adds one optional member
(``Issue.serviceCode``), one code to a closed codelist (urgency ``extreme``) and one lifecycle
action (``escalate``). With nothing but ``SMARTCOMMUNITY_SPEC_ROOT`` pointing at the copy, the
library validates 1.0 and 1.99 documents side by side, the models for 1.99 are generated, and
the reference server accepts both. A receiver that has only 1.0 installed reads the 1.99
document under the forward-compatibility rule (/req/core/forward-compatible). The documentation
build listing both versions is shown by tests/docs/test_docs_spec_changes.py with the same kind
of copy.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smartcommunity import validate
from smartcommunity.specification import SPEC_ROOT_VARIABLE, available_versions, spec_root

NEXT = "1.99"


def _append_code(folder: Path, codelist: str, code: str, zh: str, en: str) -> None:
    """Add ``code`` to a codelist file and to every closed ``enum`` that mirrors the list."""
    path = folder / "codelists" / f"{codelist}.csv"
    with path.open("a", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerow([code, zh, en, zh, en, "", ""])

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("x-codelist") == codelist and isinstance(node.get("enum"), list):
                node["enum"].append(code)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    for schema_path in (folder / "schemas").rglob("*.json"):
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        visit(schema)
        schema_path.write_text(json.dumps(schema, ensure_ascii=False, indent=2), encoding="utf-8")


def make_next_version(root: Path) -> Path:
    """``root/1.99``: a copy of 1.0 under its own ids with three additive changes."""
    source = spec_root() / "1.0"
    folder = root / NEXT
    shutil.copytree(source, folder)
    for path in folder.rglob("*"):
        if path.suffix in {".json", ".yaml", ".md"}:
            text = path.read_text(encoding="utf-8")
            text = text.replace("/spec/1.0/", f"/spec/{NEXT}/")
            path.write_text(text, encoding="utf-8")
    for path in (folder / "schemas").glob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        version = schema.get("properties", {}).get("specVersion")
        if isinstance(version, dict) and version.get("const") == "1.0":
            version["const"] = NEXT
        path.write_text(json.dumps(schema, ensure_ascii=False, indent=2), encoding="utf-8")
    # 1. one optional member
    issue_path = folder / "schemas" / "issue.json"
    issue = json.loads(issue_path.read_text(encoding="utf-8"))
    issue["properties"]["serviceCode"] = {
        "title": "服务代码 / Service code",
        "description": "城市服务目录中的服务代码。 / The service's code in the city catalogue.",
        "type": "string", "maxLength": 64,
    }
    issue_path.write_text(json.dumps(issue, ensure_ascii=False, indent=2), encoding="utf-8")
    # 2. one code of a closed codelist
    _append_code(folder, "urgency", "extreme", "特急", "Extreme")
    # 3. one lifecycle action, with its code
    _append_code(folder, "issue-action", "escalate", "升级督办", "Escalate")
    lifecycle_path = folder / "lifecycles" / "issue.json"
    lifecycle = json.loads(lifecycle_path.read_text(encoding="utf-8"))
    supervise = next(t for t in lifecycle["transitions"] if t["action"] == "supervise")
    escalate = copy.deepcopy(supervise)
    escalate["action"] = "escalate"
    escalate["roles"] = ["supervisor"]
    lifecycle["transitions"].append(escalate)
    lifecycle_path.write_text(json.dumps(lifecycle, ensure_ascii=False, indent=2),
                              encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spec")
    shutil.copytree(spec_root() / "1.0", root / "1.0")
    make_next_version(root)
    return root


@pytest.fixture
def installed(two_versions: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(SPEC_ROOT_VARIABLE, str(two_versions))
    yield two_versions


def _example(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (spec_root() / "1.0" / "examples" / name).read_text(encoding="utf-8"))
    return doc


def issue_of_next_version() -> dict[str, Any]:
    """An issue that uses all three additions of 1.99."""
    doc = _example("issue/fire-lane-submitted.json")
    doc["specVersion"] = NEXT
    doc["serviceCode"] = "lift.repair"
    doc["urgency"] = "extreme"
    last = doc["history"][-1]
    doc["history"].append({
        "seq": last["seq"] + 1, "at": last["at"], "action": "escalate",
        "actor": {"role": "supervisor", "name": "督办员"},
        "fromStatus": doc["status"], "toStatus": doc["status"],
        "details": {"instruction": "请三日内反馈"},
    })
    doc["meta"]["lastUpdated"] = last["at"]
    return doc


def codes(report: Any, severity: str) -> set[str]:
    return {f.code for f in report.findings if f.severity == severity}


def test_both_versions_are_installed_side_by_side(installed: Path) -> None:
    assert available_versions() == ["1.0", NEXT]


def test_each_document_validates_against_its_own_version(installed: Path) -> None:
    old = _example("issue/lift-building-3-in-progress.json")
    new = issue_of_next_version()
    assert validate(old).valid, [f.code for f in validate(old).findings]
    report = validate(new)
    assert report.valid and not report.findings, [(f.pointer, f.code) for f in report.findings]
    # The additions are 1.99's: the same content claiming 1.0 breaks 1.0's closed schema.
    claims_old = {**new, "specVersion": "1.0"}
    assert not validate(claims_old).valid
    # A higher major is not read forward.
    assert not validate({**new, "specVersion": "2.0"}).valid


def test_a_receiver_with_only_1_0_reads_1_99_forward(tmp_path: Path) -> None:
    """Another system, with only 1.0 installed, receives the 1.99 document."""
    received = tmp_path / "received.json"
    received.write_text(json.dumps(issue_of_next_version(), ensure_ascii=False),
                        encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != SPEC_ROOT_VARIABLE}
    result = subprocess.run(
        [sys.executable, "-m", "smartcommunity.cli", "validate", str(received), "--format", "json"],
        capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    findings = [f for doc in json.loads(result.stdout)["results"] for f in doc["findings"]]
    warned = {(f["pointer"], f["code"]) for f in findings if f["severity"] == "warning"}
    assert {("/specVersion", "document.newer-version"), ("/serviceCode", "document.unknown-member"),
            ("/urgency", "document.unknown-code"),
            ("/history/1/action", "document.unknown-code")} <= warned, warned
    assert not [f for f in findings if f["severity"] == "error"]


def test_models_are_generated_for_the_new_version(installed: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from smartcommunity.models import model_for
    from smartcommunity.models._generate import generate

    # Load the generated source as the package's module for 1.99 would be loaded once written.
    module = types.ModuleType("smartcommunity.models._v1_99")
    module.__package__ = "smartcommunity.models"
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(generate(NEXT), "_v1_99.py", "exec"), module.__dict__)
    model = model_for("Issue", NEXT)
    parsed = model.model_validate(issue_of_next_version())
    assert parsed.service_code == "lift.repair"  # type: ignore[attr-defined]
    assert parsed.model_dump(by_alias=True, exclude_none=True)["serviceCode"] == "lift.repair"
    assert model_for("Issue", "1.0") is not model


@pytest.mark.slow
def test_the_server_accepts_documents_of_both_versions(installed: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from reference_server import Settings, create_app
    from reference_server.demo import demo_tokens

    token, staff = next((t, p) for t, p in demo_tokens().items()
                        if p["role"] == "community-staff")
    # The actor is the credential (/req/core/actor-is-principal): staff record the issue.
    actor = {k: staff[k] for k in ("role", "name", "userId", "organisation") if k in staff}
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'two.sqlite3'}", demo=False))
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {token}"}
        declared = client.get("/conformance").json()
        assert NEXT in json.dumps(declared)
        for doc in (_example("issue/fire-lane-submitted.json"),
                    {**_example("issue/fire-lane-submitted.json"), "specVersion": NEXT,
                     "id": "0b7f3f6e-3c1a-4a53-9d1e-5b8a1f1c0a99", "serviceCode": "fire-lane",
                     "urgency": "extreme"}):
            doc.pop("externalRefs", None)
            doc["submittedBy"] = dict(actor)
            doc["history"] = [{**doc["history"][0], "actor": dict(actor)}]
            created = client.post("/issues", json=doc, headers=headers)
            assert created.status_code == 201, created.text
            read = client.get(f"/issues/{doc['id']}", headers=headers).json()
            assert read["specVersion"] == doc["specVersion"]
            if doc["specVersion"] == NEXT:
                assert read["serviceCode"] == "fire-lane"
