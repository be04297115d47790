"""The distribution as vendors get it: a wheel and an sdist built offline from this checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .wheelhouse import offline_environment

ROOT = Path(__file__).resolve().parents[2]

_BUILD = """
import sys
from hatchling.build import build_sdist, build_wheel
out = sys.argv[1]
print(build_sdist(out) if sys.argv[2] == "sdist" else build_wheel(out))
"""


def build(kind: str, source: Path, out: Path) -> Path:
    """Build a wheel or sdist of the project in ``source`` with the installed hatchling (the
    backend ``pyproject.toml`` names), without network and without an isolated environment."""
    out.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-c", _BUILD, str(out), kind], cwd=source, env=offline_environment(),
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    return out / result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build("wheel", ROOT, tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build("sdist", ROOT, tmp_path_factory.mktemp("sdist"))
