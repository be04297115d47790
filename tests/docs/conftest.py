"""Fixtures of the documentation tests: one strict build of the site shared by every test.

Under pytest-xdist the workers share the build through a lock file in the common base
temporary folder, so the site is built once per test session, not once per worker.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from smartcommunity.specification import SPEC_ROOT_VARIABLE

REPO = Path(__file__).resolve().parents[2]
SPEC_ENV = SPEC_ROOT_VARIABLE


@dataclass(frozen=True)
class Build:
    site: Path
    output: str


def build_site(site: Path, spec_root: Path | None = None) -> Build:
    """Run ``python -m mkdocs build --strict`` into ``site``; fail the test on any error."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    pytest.importorskip("mkdocs_static_i18n")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    if spec_root is not None:
        env[SPEC_ENV] = str(spec_root)
    else:
        env.pop(SPEC_ENV, None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--clean",
            "-f",
            str(REPO / "mkdocs.yml"),
            "-d",
            str(site),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{output[-6000:]}"
    return Build(site, output)


def shared_build(
    tmp_path_factory: pytest.TempPathFactory,
    worker_id: str,
    name: str,
    make: Callable[[Path], Build],
) -> Build:
    """``make(folder)`` run once per test session, its result shared by the xdist workers.

    ``make`` builds a site into ``folder / "site"``; workers wait on a lock file in the common
    base temporary folder and reuse the first one's build.
    """
    if worker_id == "master":
        return make(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent
    folder, log = shared / name, shared / f"{name}.log"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not log.exists():
                folder.mkdir(exist_ok=True)
                log.write_text(make(folder).output, encoding="utf-8")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return Build(folder / "site", log.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Build:
    """The site built from the repository's spec/, once per session (shared by workers)."""
    return shared_build(
        tmp_path_factory, worker_id, "docs-site", lambda folder: build_site(folder / "site")
    )


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """``master`` without pytest-xdist (which otherwise provides this fixture)."""
    workerinput = getattr(request.config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else "master"
