"""The library's promise to its callers: strict typing and a clean lint, checked on every run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "src", "reference_server", "tests", "benchmarks"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_mypy_strict_is_clean_on_the_library() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "src/smartcommunity"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]


# -- the public/private boundary -------------------------------------------------------------
#: Code that ships or runs beside the package; tests may reach into internals, these may not.
BOUNDED = ("src/smartcommunity", "reference_server", "docs/hooks", "benchmarks")
OURS = frozenset({"smartcommunity", "reference_server", "scdocs", "spec_pages"})


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT / "src" if path.is_relative_to(ROOT / "src") else ROOT)
    parts = list(rel.with_suffix("").parts)
    if parts[0] == "docs":  # the docs hooks import as top-level packages of docs/hooks
        parts = parts[2:]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(importer: str, is_package: bool, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, *([module] if module else [])])


def _owner(dotted: str) -> str | None:
    """The package that owns a private name: everything before its first ``_`` segment."""
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


def boundary_violations() -> list[str]:
    import ast

    found: list[str] = []
    for folder in BOUNDED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            importer = _module_name(path)
            is_package = path.name == "__init__.py"
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                targets: list[str] = []
                if isinstance(node, ast.ImportFrom):
                    module = _absolute(importer, is_package, node.module, node.level)
                    targets = [f"{module}.{a.name}" for a in node.names if a.name != "*"]
                    targets.append(module)
                elif isinstance(node, ast.Import):
                    targets = [a.name for a in node.names]
                for target in targets:
                    if target.split(".")[0] not in OURS:
                        continue  # the standard library's and other projects' privates are theirs
                    owner = _owner(target)
                    if owner is None or owner == "":
                        continue
                    if importer == owner or importer.startswith(owner + "."):
                        continue
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {target}")
    return sorted(set(found))


def test_no_module_imports_another_packages_private_names() -> None:
    """A private module or name is used only inside the package that owns it; what another
    package needs is public, documented and re-exported (the architecture's style rule)."""
    assert boundary_violations() == []
