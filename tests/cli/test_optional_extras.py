"""Subcommands of an extra that is not installed are still listed, and say what to install."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Runs the command with some modules made unimportable, as when an extra is not installed.
_LAUNCH = (
    "import sys\n"
    "for name in sys.argv[1].split(','):\n"
    "    sys.modules[name] = None\n"
    "sys.argv[1:2] = []\n"
    "from smartcommunity.cli import main\n"
    "main()\n"
)


def _run(missing: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _LAUNCH, missing, *argv],
        capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.parametrize(
    ("missing", "argv", "extra"),
    [
        ("httpx", ["conformance", "run", "--preset", "demo"], "conformance"),
        ("httpx", ["conformance", "coverage"], "conformance"),
        ("uvicorn", ["serve", "--port", "0"], "server"),
        ("uvicorn", ["import", "--no-validate", "x.json"], "server"),
        ("fastapi", ["serve", "--port", "0"], "server"),
        ("sqlalchemy", ["import", "x.json"], "server"),
        ("xlsxwriter", ["report", "--input", "x.ndjson", "--period", "2026-11", "--out", "o"],
         "report"),
    ],
)
def test_a_command_without_its_extra_says_what_to_install(
    missing: str, argv: list[str], extra: str
) -> None:
    result = _run(missing, *argv)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    install = f'pip install "smartcommunity[{extra}]"'
    lines = [line for line in result.stderr.splitlines() if install in line]
    # once in Chinese, once in English
    assert any("安装" in line for line in lines), result.stderr
    assert any("install them" in line for line in lines), result.stderr


def test_help_lists_every_command_whatever_is_installed() -> None:
    complete = _run("", "--help")
    without = _run("httpx,uvicorn,fastapi,xlsxwriter", "--help")
    assert complete.returncode == without.returncode == 0
    for command in ("validate", "redact", "serve", "import", "conformance", "report"):
        assert f"    {command}" in complete.stdout
        assert f"    {command}" in without.stdout, without.stdout
