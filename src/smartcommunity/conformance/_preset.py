"""The preset: the server's test credentials per role and the communities they serve."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from ..specification import load_spec


class PresetError(ValueError):
    """The preset file is missing, unreadable or breaks its published schema."""


@dataclass(frozen=True)
class Principal:
    name: str
    token: str
    role: str
    communities: tuple[str, ...]
    organisation: str | None = None
    resident: str | None = None

    def serves(self, community: str) -> bool:
        return "*" in self.communities or community in self.communities


@dataclass(frozen=True)
class Preset:
    community: str
    other_community: str | None
    principals: dict[str, Principal]
    base_url: str | None = None
    limits: dict[str, int] = field(default_factory=dict)

    def by_role(self, role: str, *, community: str | None = None,
                organisation: str | None = None) -> Principal | None:
        """The first principal of ``role`` serving ``community`` (default: the primary one)."""
        wanted = community or self.community
        for p in self.principals.values():
            if p.role == role and p.serves(wanted) and (
                    organisation is None or p.organisation == organisation):
                return p
        return None


def parse_preset(data: Any, version: str = "1.0") -> Preset:
    spec = load_spec(version)
    validator = Draft202012Validator(spec.schema("conformance-preset.json"),
                                     registry=spec.registry)
    problems = [f"{'/'.join(map(str, e.absolute_path)) or '/'}: {e.message}"
                for e in validator.iter_errors(data)]
    if problems:
        raise PresetError("the preset breaks conformance-preset.json: " + "; ".join(problems))
    principals = {
        name: Principal(name, p["token"], p["role"], tuple(p["communities"]),
                        p.get("organisation"), p.get("resident"))
        for name, p in data["principals"].items()
    }
    if not any(p.role == "community-staff" for p in principals.values()):
        raise PresetError("the preset needs a community-staff principal")
    return Preset(data["community"], data.get("otherCommunity"), principals,
                  data.get("baseUrl"), dict(data.get("limits", {})))


def load_preset(path: str | Path, version: str = "1.0") -> Preset:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PresetError(f"cannot read preset {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise PresetError(f"preset {path} is not JSON or YAML: {exc}") from exc
    return parse_preset(data, version)
