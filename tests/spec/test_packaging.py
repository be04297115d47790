"""The built wheel carries spec/ and loads it outside the checkout, with no network."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .helpers import ROOT

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


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(out), str(ROOT)],
        check=True,
    )
    (found,) = out.glob("smartcommunity-*.whl")
    return found


def test_wheel_contains_every_spec_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    spec_files = [p for p in (ROOT / "spec").rglob("*") if p.is_file()]
    assert spec_files
    for p in spec_files:
        assert f"smartcommunity/_spec/{p.relative_to(ROOT / 'spec').as_posix()}" in names, p


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
