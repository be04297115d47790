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


# -- the spec is not restated in Python --------------------------------------------------------
#: Modules whose whole purpose is one resource type's (or one action's) behaviour name the codes
#: that behaviour is about; everything else reads them from spec/.
RESTATEMENT_ALLOWED = (
    "src/smartcommunity/validation/_rules_*.py",  # the rules of one resource type
    "src/smartcommunity/lifecycle/_effects.py",  # what each action does beyond its status
    "src/smartcommunity/lifecycle/_voice.py",  # what support and reply do to their records
    "src/smartcommunity/conformance/checks/*.py",  # checks drive named flows against a server
    "src/smartcommunity/strategies.py",  # realistic generated documents
    "reference_server/service/_policies.py",  # each resource type's server policy
    "reference_server/storage/_indexes.py",  # which members of each type are indexed
    "reference_server/demo.py",  # the demo community's data
    "docs/hooks/scdocs/walkthrough.py",  # a narrated example flow
    "src/smartcommunity/indicators/_cases.py",  # the facts indicators.json defines over issues
    "src/smartcommunity/indicators/_columnar.py",  # the same facts in SQL
)
#: Code lists whose codes are names of the standard's own machinery rather than facts of the
#: domain: an error code names the check that emits it (the spec tests prove every emitted code
#: has a row), requirement levels are RFC 2119 keywords, and link relations are the web's
#: registered relation names (RFC 8288: ``self``, ``data``, ``conformance`` …).
RESTATEMENT_LISTS_EXEMPT = frozenset({"error-code", "requirement-level", "link-relation"})
#: Codes that are also words of the languages and tools the code is written in (Python's
#: ``self``, OpenAPI's ``schema`` member, the ASGI scope's ``app``, Alembic's ``head``
#: revision, HTTP's ``Accept`` header, the command's ``report`` subcommand), so such a literal
#: says nothing about the standard.
RESTATEMENT_WORDS_EXEMPT = frozenset({"self", "schema", "app", "head", "accept", "report"})


def _spec_words() -> dict[str, str]:
    """Resource types and codes (→ where they come from), minus names that are also member names
    in some schema: code reads members by name, which is not restating a code."""
    from smartcommunity.specification import available_versions, load_spec

    words: dict[str, str] = {}
    members: set[str] = set()
    for version in available_versions():
        spec = load_spec(version)
        for rt in spec.resource_types:
            words.setdefault(rt, "resource-type")
        for name, codelist in spec.codelists.items():
            if name not in RESTATEMENT_LISTS_EXEMPT:
                for code in codelist:
                    words.setdefault(code, name)

        def collect(node: object) -> None:
            if isinstance(node, dict):
                props = node.get("properties")
                if isinstance(props, dict):
                    members.update(props)
                for value in node.values():
                    collect(value)
            elif isinstance(node, list):
                for value in node:
                    collect(value)

        for schema in spec.schemas.values():
            collect(schema)
    return {w: origin for w, origin in words.items()
            if w not in members and w not in RESTATEMENT_WORDS_EXEMPT}


def restatements() -> list[str]:
    import ast
    import fnmatch

    words = _spec_words()
    found: list[str] = []
    for folder in BOUNDED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if any(fnmatch.fnmatch(rel, pattern) for pattern in RESTATEMENT_ALLOWED):
                continue
            if path.name.startswith("_v") and path.parent.name == "models":
                continue  # generated from the schemas
            if "migrations" in path.parts or folder == "benchmarks":
                continue  # a migration is a frozen record; benchmarks build sample data
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = {
                id(node.body[0].value) for node in ast.walk(tree)
                if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                              | ast.AsyncFunctionDef)
                and node.body and isinstance(node.body[0], ast.Expr)
                and isinstance(node.body[0].value, ast.Constant)
            }
            for node in ast.walk(tree):
                if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                        and node.value in words and id(node) not in docstrings):
                    found.append(f"{rel}:{node.lineno} {node.value!r} ({words[node.value]})")
    return found


def test_python_does_not_restate_the_spec() -> None:
    """Resource types, roles, audiences, statuses, actions and other codes come from spec/:
    a literal copy in generic code goes stale the day the spec changes."""
    assert restatements() == []
