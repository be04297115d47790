"""The README's commands are the ones CI runs, and they name things that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.*?)\n```", text, flags=re.S)


def test_ci_runs_the_readme_test_command() -> None:
    test_command = next(c for c in _commands() if "pytest" in c)
    assert test_command.strip() in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_main_command_installs_what_it_runs() -> None:
    main = _commands()[0]
    assert main.startswith("python3 -m venv .venv && .venv/bin/pip install")
    assert "smartcommunity" in main
