"""Every install profile works from the built wheel, installed offline into a fresh environment.

A profile is the library alone or the library with extras. Its environment receives the built
wheel and, repacked from this environment, only the distributions the wheel's metadata asks for
(see ``wheelhouse``): a dependency missing from the metadata fails the profile's commands here.
The commands are the ones README and the vendor quick-start show.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from smartcommunity.specification import DEFAULT_VERSION

from .conftest import ROOT
from .wheelhouse import install_profile, offline_environment

pytestmark = pytest.mark.slow

EXAMPLES = ROOT / "spec" / DEFAULT_VERSION / "examples"
COMMANDS = ("validate", "redact", "verify", "serve", "import", "conformance")


@dataclass
class Profile:
    """An installed profile: its ``bin`` folder and a scratch folder to run in."""

    bin: Path
    work: Path

    def run(self, *argv: str, cwd: Path | None = None,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        env = offline_environment()
        for name in list(env):
            if name.startswith("SMARTCOMMUNITY_"):
                del env[name]
        return subprocess.run(
            [str(self.bin / argv[0]), *argv[1:]], cwd=cwd or self.work, env=env, input=input,
            capture_output=True, text=True, timeout=120, check=False,
        )

    def ok(self, *argv: str, cwd: Path | None = None) -> str:
        result = self.run(*argv, cwd=cwd)
        assert result.returncode == 0, (argv, result.stdout[-2000:], result.stderr[-4000:])
        return result.stdout

    def needs_extra(self, extra: str, *argv: str) -> None:
        result = self.run("smartcommunity", *argv)
        assert result.returncode == 2, (argv, result.stderr)
        assert f'pip install "smartcommunity[{extra}]"' in result.stderr
        assert "Traceback" not in result.stderr

    def has_extra(self, *argv: str) -> subprocess.CompletedProcess[str]:
        result = self.run("smartcommunity", *argv)
        assert "pip install" not in result.stderr and "Traceback" not in result.stderr, (
            argv, result.stderr)
        return result


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One wheelhouse for every profile, shared by the processes of a parallel run."""
    base = tmp_path_factory.getbasetemp()
    # a parallel run gives each worker a folder inside the run's own
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "wheelhouse"


def _install(wheel: Path, tmp_path: Path, house: Path, *extras: str) -> Profile:
    work = tmp_path / "work"
    work.mkdir()
    return Profile(install_profile(wheel, extras, tmp_path / "venv", house), work)


def _basics(p: Profile, wheel: Path) -> None:
    """What every profile shows first: the command, its version, and the examples validated."""
    version = wheel.name.split("-")[1]
    assert p.ok("smartcommunity", "--version").split() == ["smartcommunity", version]
    usage = p.ok("smartcommunity", "--help")
    for command in COMMANDS:
        assert f"    {command}" in usage, command

    report = json.loads(p.ok("smartcommunity", "validate", "--format", "json", str(EXAMPLES)))
    text = json.dumps(report, ensure_ascii=False)
    examples = sorted(EXAMPLES.rglob("*.json"))
    assert len(examples) >= 10
    for example in examples:
        assert example.name in text, example


def _library_works(p: Profile, wheel: Path) -> None:
    """What the library alone promises: the CLI, validation, redaction, verification, the
    typed models and the API description, all from the installed wheel."""
    _basics(p, wheel)
    examples = sorted(EXAMPLES.rglob("*.json"))
    # It really validates: a broken copy of an example is refused with exit status 1.
    broken = json.loads(examples[0].read_text(encoding="utf-8"))
    broken["id"] = 42
    (p.work / "broken.json").write_text(json.dumps(broken), encoding="utf-8")
    refused = p.run("smartcommunity", "validate", str(p.work / "broken.json"))
    assert refused.returncode == 1, refused.stderr
    assert "/id" in refused.stdout + refused.stderr

    # residents carry no history: intact; the issue examples' histories are not chained, and
    # verify names the first missing link
    p.ok("smartcommunity", "verify", str(EXAMPLES / "resident"))
    unchained = p.run("smartcommunity", "verify", str(EXAMPLES / "issue"))
    assert unchained.returncode == 1 and "previousDigest" in unchained.stdout, unchained.stderr
    resident = next(EXAMPLES.glob("resident/*.json"))
    redacted = json.loads(p.ok("smartcommunity", "redact", "--audience", "public", str(resident)))
    assert redacted["id"] == json.loads(resident.read_text(encoding="utf-8"))["id"]

    probe = p.ok("python", "-c", (
        "import json, smartcommunity\n"
        "from smartcommunity.specification import load_spec, spec_root\n"
        "issue = smartcommunity.Issue\n"
        "print(json.dumps({'module': smartcommunity.__file__, 'spec': str(spec_root()),"
        " 'paths': len(load_spec().openapi['paths']), 'model': issue.__name__}))\n"))
    found = json.loads(probe)
    assert found["module"].startswith(str(p.bin.parent)), found
    assert found["spec"].startswith(str(p.bin.parent)), found
    assert found["paths"] >= 10 and found["model"] == "Issue"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def served() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _server_works(p: Profile, served: list[subprocess.Popen[str]]) -> None:
    """``smartcommunity serve`` and ``import`` as the quick-start shows them: a database filled
    from the examples, then served and answering ``GET /conformance``."""
    assert "--database-url" in p.ok("smartcommunity", "serve", "--help")
    database = f"sqlite:///{p.work / 'city.sqlite3'}"
    p.ok("smartcommunity", "import", "--database-url", database, str(EXAMPLES))
    port = _free_port()
    env = offline_environment()
    process = subprocess.Popen(
        [str(p.bin / "smartcommunity"), "serve", "--port", str(port), "--database-url",
         database, "--no-demo"],
        cwd=p.work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    served.append(process)
    deadline = time.monotonic() + 90
    url = f"http://127.0.0.1:{port}/conformance"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while True:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            with opener.open(url, timeout=5) as response:
                body = json.loads(response.read())
                break
        except OSError:
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.3)
    assert DEFAULT_VERSION in json.dumps(body)


def _conformance_works(p: Profile) -> None:
    """``conformance run`` is there with what it needs: against a port nobody listens on it
    fails for that reason, not for a missing module."""
    assert "--preset" in p.ok("smartcommunity", "conformance", "run", "--help")
    result = p.has_extra("conformance", "run", "--preset", "demo", "--base-url",
                         f"http://127.0.0.1:{_free_port()}", "--report-dir",
                         str(p.work / "report"))
    assert result.returncode != 0, result.stdout


def _docs_work(p: Profile, tmp_path: Path) -> None:
    """The site's build command, and its configuration loads: theme, plugins and the hook that
    generates the reference pages from the installed library."""
    assert "--strict" in p.ok("mkdocs", "build", "--help")
    site = tmp_path / "site-source"
    shutil.copytree(ROOT / "docs", site / "docs")
    shutil.copy(ROOT / "mkdocs.yml", site / "mkdocs.yml")
    p.ok("python", "-c", (
        "from mkdocs.config import load_config\n"
        "config = load_config('mkdocs.yml')\n"
        "assert config.theme.name == 'material', config.theme.name\n"
        "assert {'material/search', 'i18n'} <= set(config.plugins), list(config.plugins)\n"),
        cwd=site)


def test_library_alone(wheel: Path, tmp_path: Path, wheelhouse: Path) -> None:
    p = _install(wheel, tmp_path, wheelhouse)
    _library_works(p, wheel)
    p.needs_extra("server", "serve", "--help")
    p.needs_extra("server", "import", str(EXAMPLES))
    p.needs_extra("conformance", "conformance", "run", "--preset", "demo")
    p.needs_extra("conformance", "verify", "--base-url", f"http://127.0.0.1:{_free_port()}")
    # the library alone is light: none of the extras' packages came along
    listed = p.ok("python", "-c", "import importlib.metadata as m\n"
                  "print('\\n'.join(d.metadata['Name'].lower() for d in m.distributions()))")
    assert not {"fastapi", "uvicorn", "sqlalchemy", "httpx", "rich", "mkdocs"} & set(
        listed.split())


def test_server_extra(wheel: Path, tmp_path: Path, wheelhouse: Path,
                      served: list[subprocess.Popen[str]]) -> None:
    p = _install(wheel, tmp_path, wheelhouse, "server")
    _basics(p, wheel)
    _server_works(p, served)


def test_conformance_extra(wheel: Path, tmp_path: Path, wheelhouse: Path) -> None:
    p = _install(wheel, tmp_path, wheelhouse, "conformance")
    _basics(p, wheel)
    _conformance_works(p)
    p.needs_extra("server", "serve", "--help")


def test_docs_extra(wheel: Path, tmp_path: Path, wheelhouse: Path) -> None:
    p = _install(wheel, tmp_path, wheelhouse, "docs")
    _basics(p, wheel)
    _docs_work(p, tmp_path)
    p.needs_extra("server", "serve", "--help")


def test_every_extra_together(wheel: Path, tmp_path: Path, wheelhouse: Path) -> None:
    p = _install(wheel, tmp_path, wheelhouse, "server", "conformance", "docs")
    _basics(p, wheel)
    assert "--database-url" in p.ok("smartcommunity", "serve", "--help")
    _conformance_works(p)
    _docs_work(p, tmp_path)
