"""Reading one version of the specification from its folder, as plain data.

The documentation reads ``spec/`` directly (JSON, CSV, YAML) rather than through the
library, so the site can be built from any copy of the spec folder — the tests point it at
a modified copy to prove that every reference page follows the spec.
"""

from __future__ import annotations

import csv
import functools
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: resourceType → schema file of the three resources
RESOURCE_FILES = {
    "Resident": "resident.json",
    "Issue": "issue.json",
    "Consultation": "consultation.json",
}


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split("."))


def latest_version(root: Path) -> str:
    """The newest ``<major>.<minor>`` folder under a spec root."""
    found = [
        p.name
        for p in root.iterdir()
        if p.is_dir() and (p / "schemas").is_dir() and p.name.replace(".", "").isdigit()
    ]
    if not found:
        raise FileNotFoundError(f"no spec version folder under {root}")
    return max(found, key=_version_key)


@dataclass
class Spec:
    """Everything of one version that the reference pages are made of."""

    root: Path
    version: str
    folder: Path
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path, version: str | None = None) -> Spec:
        root = root.resolve()
        version = version or latest_version(root)
        spec = cls(root, version, root / version)
        for path in sorted((spec.folder / "schemas").glob("*.json")):
            spec.schemas[path.name] = _json(path)
        return spec

    # -- schemas ---------------------------------------------------------------------------
    @property
    def resource_files(self) -> list[str]:
        return [f for f in RESOURCE_FILES.values() if f in self.schemas]

    @property
    def shared_files(self) -> list[str]:
        return [f for f in self.schemas if f not in RESOURCE_FILES.values()]

    def schema_by_id(self, uri: str) -> tuple[str, dict[str, Any]] | None:
        for name, schema in self.schemas.items():
            if schema.get("$id") == uri:
                return name, schema
        return None

    # -- codelists -------------------------------------------------------------------------
    @functools.cached_property
    def codelists(self) -> dict[str, list[dict[str, str]]]:
        lists: dict[str, list[dict[str, str]]] = {}
        for path in sorted((self.folder / "codelists").glob("*.csv")):
            with path.open(encoding="utf-8", newline="") as fh:
                lists[path.stem] = [dict(row) for row in csv.DictReader(fh)]
        return lists

    def code_title(self, codelist: str, code: str, lang: str) -> str:
        for row in self.codelists.get(codelist, ()):
            if row["code"] == code:
                return row["title_zh"] if lang == "zh" else row["title_en"]
        return code

    # -- the rest ------------------------------------------------------------------------------
    @functools.cached_property
    def lifecycles(self) -> dict[str, dict[str, Any]]:
        tables = (_json(p) for p in sorted((self.folder / "lifecycles").glob("*.json")))
        return {t["resourceType"]: t for t in tables}

    @functools.cached_property
    def requirement_files(self) -> list[dict[str, Any]]:
        files = [_json(p) for p in sorted((self.folder / "requirements").glob("*.json"))]
        # Core first, then the others in file order: core is what every class depends on.
        return sorted(files, key=lambda f: (not f["class"].get("mandatory", False),))

    @functools.cached_property
    def requirements(self) -> dict[str, dict[str, Any]]:
        return {
            r["id"]: {**r, "class": f["class"]["id"]}
            for f in self.requirement_files
            for r in f["requirements"]
        }

    @functools.cached_property
    def requirements_by_code(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        for req in self.requirements.values():
            for code in req.get("codes", ()):
                found[code].append(req["id"])
        return dict(found)

    @functools.cached_property
    def privacy(self) -> dict[str, Any]:
        return _json(self.folder / "privacy.json")

    @functools.cached_property
    def openapi(self) -> dict[str, Any]:
        with (self.folder / "openapi.yaml").open(encoding="utf-8") as fh:
            loaded = yaml.safe_load(fh)
        if not isinstance(loaded, dict):
            raise ValueError("openapi.yaml is not a mapping")
        return loaded

    @functools.cached_property
    def texts(self) -> dict[str, str]:
        """Normative text files by stem, in the order of the conformance classes."""
        found = {
            p.stem: p.read_text(encoding="utf-8")
            for p in sorted((self.folder / "text").glob("*.md"))
        }
        order = [f["class"]["id"].rsplit("/", 1)[-1] for f in self.requirement_files]
        return dict(
            sorted(
                found.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)
            )
        )

    def examples(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(path relative to examples/, document)`` of every example."""
        folder = self.folder / "examples"
        for path in sorted(folder.rglob("*.json")):
            yield path.relative_to(folder).as_posix(), _json(path)

    def example(self, name: str) -> dict[str, Any]:
        """One example by its file stem, e.g. ``lift-installation-building-3``."""
        for rel, doc in self.examples():
            if Path(rel).stem == name:
                return doc
        raise KeyError(f"spec {self.version} has no example {name!r}")


def _json(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a JSON object")
    return data
