"""The built wheel carries spec/ and nothing of the tests, loads the spec outside the checkout
with no network, and is the same wheel whether built from the checkout or from the sdist."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest

from smartcommunity.specification import available_versions

from .conftest import ROOT, build

pytestmark = pytest.mark.slow

PROBE = """
import json, sys
import smartcommunity
from smartcommunity.specification import load_spec, spec_root
assert "_spec" in str(spec_root()), spec_root()
s = load_spec("1.0")
for rt in ("Resident", "Issue", "Consultation"):
    s.schema(rt)
print(json.dumps({"module": smartcommunity.__file__, "schemas": len(s.schemas),
                  "codelists": len(s.codelists), "paths": len(s.openapi["paths"]),
                  "requirements": len(s.requirements)}))
"""


def test_wheel_contains_every_spec_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    spec_files = [p for p in (ROOT / "spec").rglob("*") if p.is_file()]
    assert spec_files
    for p in spec_files:
        assert f"smartcommunity/_spec/{p.relative_to(ROOT / 'spec').as_posix()}" in names, p


def test_wheel_carries_the_public_pages_templates(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    folder = ROOT / "src/smartcommunity/transparency/templates"
    templates = sorted(p.name for p in folder.glob("*.html"))
    assert templates
    for name in templates:
        assert f"smartcommunity/transparency/templates/{name}" in names, name


def test_wheel_carries_nothing_of_the_tests(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"smartcommunity", "reference_server", _dist_info(names)}, tops
    assert not [n for n in names if "/tests/" in n and not n.startswith("smartcommunity/_spec/")]
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", "conftest.py"))]
    # spec/tests (the test vectors) are part of the standard, shipped under _spec
    assert any(n.startswith("smartcommunity/_spec/tests/") for n in names)


def _dist_info(names: list[str]) -> str:
    (found,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    return found


def test_wheel_metadata_is_release_ready(wheel: Path) -> None:
    zf = zipfile.ZipFile(wheel)
    info = _dist_info(zf.namelist())
    meta = HeaderParser().parsestr(zf.read(f"{info}/METADATA").decode())
    assert meta["License-Expression"] == "Apache-2.0 AND CC-BY-4.0"
    assert set(meta.get_all("License-File") or []) == {"LICENSE", "spec/LICENSE"}
    for name in ("LICENSE", "spec/LICENSE"):
        assert zf.read(f"{info}/licenses/{name}") == (ROOT / name).read_bytes()
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Changelog"} <= set(urls)
    assert all(u.startswith("https://") for u in urls.values())
    classifiers = meta.get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers
    assert any(c.startswith("Development Status ::") for c in classifiers)
    # the long description is the README a vendor reads first
    assert "pip install smartcommunity" in (meta.get_payload() or "")
    # the package's version is the one the spec's newest version announces (see test_version)
    release = meta["Version"].split(".dev")[0].split("rc")[0]
    assert release.rsplit(".", 1)[0] == available_versions()[-1]


def _contents(wheel: Path) -> dict[str, str]:
    zf = zipfile.ZipFile(wheel)
    return {n: hashlib.sha256(zf.read(n)).hexdigest() for n in zf.namelist()}


def test_the_sdist_builds_the_same_wheel(wheel: Path, sdist: Path, tmp_path: Path) -> None:
    with tarfile.open(sdist) as tf:
        tf.extractall(tmp_path, filter="data")
    (source,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    rebuilt = build("wheel", source, tmp_path / "out")
    assert rebuilt.name == wheel.name
    ours, theirs = _contents(wheel), _contents(rebuilt)
    assert sorted(ours) == sorted(theirs)
    assert [n for n in ours if ours[n] != theirs[n]] == []


def test_installed_wheel_loads_the_spec_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH"}}
    env["PYTHONPATH"] = str(target)  # ahead of the editable install of the checkout
    env["no_proxy"] = env["NO_PROXY"] = "*"
    env["http_proxy"] = env["https_proxy"] = "http://127.0.0.1:9"  # any network use fails
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, env=env, capture_output=True, text=True,
        check=True,
    )
    import json

    report = json.loads(result.stdout)
    assert report["module"].startswith(str(target))
    assert report["schemas"] >= 15 and report["codelists"] >= 20
    assert report["paths"] >= 10 and report["requirements"] >= 50
