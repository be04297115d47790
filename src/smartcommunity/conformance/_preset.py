"""The preset: the server's test credentials per role and the communities they serve."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from ..exceptions import SpecError
from ..specification import DEFAULT_VERSION, Spec, load_spec


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
    #: the grids a grid worker is responsible for
    grids: tuple[str, ...] = ()

    def serves(self, community: str) -> bool:
        return "*" in self.communities or community in self.communities


@dataclass(frozen=True)
class Preset:
    community: str
    other_community: str | None
    principals: dict[str, Principal]
    base_url: str | None = None
    limits: dict[str, int] = field(default_factory=dict)
    #: the server runs with its own credentials: the demo's tokens must get 401
    production: bool = False
    #: a test issuer the server trusts (conformance-preset.json ``jwt``), its key file resolved
    jwt: dict[str, Any] | None = None
    #: the city's UTC offset, for the times a regulator reads in the report
    time_zone: str = "+08:00"

    def zone(self) -> timezone:
        sign = -1 if self.time_zone.startswith("-") else 1
        hours, minutes = self.time_zone[1:].split(":")
        return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))

    def by_role(self, role: str, *, community: str | None = None,
                organisation: str | None = None) -> Principal | None:
        """The first principal of ``role`` serving ``community`` (default: the primary one)."""
        wanted = community or self.community
        for p in self.principals.values():
            if p.role == role and p.serves(wanted) and (
                    organisation is None or p.organisation == organisation):
                return p
        return None


def writer_role(spec: Spec) -> str:
    """The role the kit writes its test data as: the first role (``role.csv`` order) admitted
    by every create and update operation that names its roles (``x-roles`` in openapi.yaml)
    and by every lifecycle's creating action. A preset must have a principal of it."""
    admitted = set(spec.roles)
    for path, item in spec.openapi.get("paths", {}).items():
        for method, operation in item.items():
            writes = method == "put" or (method == "post" and "{" not in path)
            if writes and isinstance(operation, dict) and operation.get("x-roles"):
                admitted &= set(operation["x-roles"])
    for resource_type in spec.lifecycles:
        for transition in spec.lifecycle(resource_type)["transitions"]:
            if not transition["from"]:
                admitted &= set(transition["roles"])
    chosen = [role for role in spec.roles if role in admitted]
    if not chosen:
        raise SpecError(f"spec {spec.version}: no role may create and update every resource")
    return chosen[0]


def parse_preset(data: Any, version: str = DEFAULT_VERSION, base: Path | None = None,
                 ) -> Preset:
    """The preset in ``data``, checked against ``conformance-preset.json`` of ``version``;
    :class:`PresetError` when it breaks the schema or has no principal the kit can write as."""
    spec = load_spec(version)
    validator = Draft202012Validator(spec.schema("conformance-preset.json"),
                                     registry=spec.registry)
    problems = [f"{'/'.join(map(str, e.absolute_path)) or '/'}: {e.message}"
                for e in validator.iter_errors(data)]
    if problems:
        raise PresetError("the preset breaks conformance-preset.json: " + "; ".join(problems))
    principals = {
        name: Principal(name, p["token"], p["role"], tuple(p["communities"]),
                        p.get("organisation"), p.get("resident"), tuple(p.get("grids") or ()))
        for name, p in data["principals"].items()
    }
    writer = writer_role(spec)
    if not any(p.role == writer for p in principals.values()):
        raise PresetError(f"the preset needs a {writer} principal")
    issuer = dict(data["jwt"]) if "jwt" in data else None
    if issuer is not None and base is not None:
        issuer["privateKeyFile"] = str(base / issuer["privateKeyFile"])
    return Preset(data["community"], data.get("otherCommunity"), principals,
                  data.get("baseUrl"), dict(data.get("limits", {})),
                  bool(data.get("production", False)), issuer,
                  data.get("timeZone", "+08:00"))


def load_preset(path: str | Path, version: str = DEFAULT_VERSION) -> Preset:
    """The preset in the JSON or YAML file at ``path`` (see :func:`parse_preset`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PresetError(f"cannot read preset {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise PresetError(f"preset {path} is not JSON or YAML: {exc}") from exc
    return parse_preset(data, version, Path(path).parent)
