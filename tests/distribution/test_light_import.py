"""``import smartcommunity`` and validating a document load only what validation needs.

Which modules load is asserted, never how long loading takes: the figures are in
docs/performance.md (benchmarks/import_bench.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from smartcommunity.specification import DEFAULT_VERSION

from .conftest import ROOT

#: heavy or optional: loaded only when the part that needs them is used
HEAVY = ("yaml", "rich", "pydantic", "jsonschema", "hypothesis", "httpx", "fastapi", "starlette",
         "uvicorn", "sqlalchemy", "alembic", "psycopg", "jwt", "mkdocs", "reference_server")
#: parts of the library that load on first use
LAZY = ("smartcommunity.models", "smartcommunity.conformance", "smartcommunity.cli",
        "smartcommunity.strategies")

_PROBE = """
import json, sys
import smartcommunity
after_import = sorted(sys.modules)
example = json.load(open(sys.argv[1], encoding="utf-8"))
report = smartcommunity.validate(example)
assert report.valid, report
print(json.dumps({"import": after_import, "validate": sorted(sys.modules)}))
"""


def _loaded() -> dict[str, list[str]]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    example = ROOT / "spec" / DEFAULT_VERSION / "examples" / "issue" / "fire-lane-submitted.json"
    result = subprocess.run([sys.executable, "-c", _PROBE, str(example)], env=env,
                            capture_output=True, text=True, check=True, timeout=120)
    loaded: dict[str, list[str]] = json.loads(result.stdout)
    return loaded


def _top(modules: list[str]) -> set[str]:
    return {m.partition(".")[0] for m in modules}


def test_import_and_validation_stay_light() -> None:
    loaded = _loaded()
    for stage, modules in loaded.items():
        assert not _top(modules) & set(HEAVY), (stage, sorted(_top(modules) & set(HEAVY)))
        lazy = [m for m in modules if m.startswith(LAZY)]
        assert lazy == [], (stage, lazy)
    # the probe sees what it should: the validator did load its engine
    assert "jsonschema_rs" in _top(loaded["validate"])
    assert "smartcommunity.validation" in loaded["import"]


def test_what_is_left_out_still_loads_on_first_use() -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    probe = ("import sys, smartcommunity\n"
             "from smartcommunity.specification import load_spec\n"
             "assert load_spec().openapi['paths'] and 'yaml' in sys.modules\n"
             "assert smartcommunity.Issue.__name__ == 'Issue' and 'pydantic' in sys.modules\n")
    subprocess.run([sys.executable, "-c", probe], env=env, check=True, timeout=120)
