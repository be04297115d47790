"""Access to the installed specification: schemas, codelists, lifecycles, requirements, API.

Every other part of the library reads the standard through :func:`load_spec`, so nothing is
restated by hand. The wheel carries ``spec/`` as ``smartcommunity/_spec``; a source checkout
falls back to the repository's ``spec/`` folder. Nothing is ever fetched over the network.
"""

from __future__ import annotations

import csv
import functools
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .exceptions import SpecError, UnknownSpecVersion

__all__ = [
    "BASE_URI",
    "DEFAULT_VERSION",
    "LATEST_CURSOR",
    "SPEC_ROOT_VARIABLE",
    "CodeEntry",
    "Codelist",
    "ConformanceClass",
    "Requirement",
    "Spec",
    "available_versions",
    "load_spec",
    "per_spec_tree",
    "spec_root",
]

BASE_URI = "https://w3id.org/smartcommunity/spec/"
#: the change feed's reserved cursor: start at the feed's end now (/req/change-feed/latest)
LATEST_CURSOR = "latest"
P = ParamSpec("P")
R = TypeVar("R")

#: The version a caller gets when it names none: the one place the library names a version.
DEFAULT_VERSION = "1.0"


#: Environment variable naming another folder of ``<version>/`` trees, for drafting a version.
SPEC_ROOT_VARIABLE = "SMARTCOMMUNITY_SPEC_ROOT"


def spec_root() -> Path:
    """Folder holding ``<version>/`` spec trees.

    ``$SMARTCOMMUNITY_SPEC_ROOT`` when set (an editor drafting the next version points every
    part of the project at the draft with it); else the wheel's package data or the checkout's.
    """
    override = os.environ.get(SPEC_ROOT_VARIABLE)
    if override:
        folder = Path(override)
        if not folder.is_dir():
            raise SpecError(f"{SPEC_ROOT_VARIABLE}={override} is not a folder")
        return folder
    return _installed_root()


@functools.cache
def _installed_root() -> Path:
    packaged = resources.files("smartcommunity") / "_spec"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2] / "spec"
    if checkout.is_dir():
        return checkout
    raise SpecError("the specification files are not installed with the smartcommunity package")


def per_spec_tree(fn: Callable[P, R]) -> Callable[P, R]:
    """:func:`functools.cache` keyed also by the spec tree in use, for what is computed from
    the spec: a process that points ``SMARTCOMMUNITY_SPEC_ROOT`` at a draft never gets what
    was computed from another tree."""
    @functools.cache
    def cached(root: Path, *args: Any, **kwargs: Any) -> R:
        return fn(*args, **kwargs)

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return cached(spec_root(), *args, **kwargs)  # type: ignore[arg-type]

    return wrapper


def available_versions() -> list[str]:
    """Versions of the standard installed, oldest first (e.g. ``["1.0"]``)."""
    root = spec_root()
    found = [p.name for p in root.iterdir() if p.is_dir() and (p / "schemas").is_dir()]
    return sorted(found, key=lambda v: tuple(int(x) for x in v.split(".")))


@dataclass(frozen=True, slots=True)
class CodeEntry:
    """One row of a codelist."""

    # The codelist CSV's columns, in its order.
    code: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    deprecated_since: str | None = None  # the spec version that deprecated the code
    replaced_by: str | None = None  # the code to use instead


@dataclass(frozen=True, slots=True)
class Codelist:
    """A codelist: its rows in file order, looked up by code."""

    name: str
    entries: Mapping[str, CodeEntry]

    def __contains__(self, code: object) -> bool:
        return code in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def title(self, code: str, lang: str = "zh-Hans") -> str:
        entry = self.entries[code]
        return entry.title_zh if lang.startswith("zh") else entry.title_en


@dataclass(frozen=True, slots=True)
class Requirement:
    """One normative rule of the registry."""

    id: str
    level: str
    statement: Mapping[str, str]
    enforcement: tuple[str, ...]
    conformance_class: str
    codes: tuple[str, ...] = ()
    applies_to: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return f"{BASE_URI}{self.conformance_class_version}{self.id}"

    # Filled by Spec; kept as a field so Requirement stays a plain value.
    conformance_class_version: str = field(default=DEFAULT_VERSION)
    #: figures and codes the statement names, as data (``parameters`` in the registry)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    #: spec files the statement points to (``see`` in the registry)
    see: tuple[str, ...] = ()
    #: a short name of what the requirement asks, in both languages (``title`` in the
    #: registry); the kit titles its checks with it, the docs show it above the statement
    title: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConformanceClass:
    """A conformance class and the ids of its requirements."""

    id: str
    title: Mapping[str, str]
    description: Mapping[str, str]
    mandatory: bool
    depends_on: tuple[str, ...]
    requirement_ids: tuple[str, ...]
    version: str

    @property
    def uri(self) -> str:
        return f"{BASE_URI}{self.version}{self.id}"


class Spec:
    """One installed version of the standard. Obtain it with :func:`load_spec`."""

    def __init__(self, version: str, folder: Path) -> None:
        self.version = version
        self.folder = folder
        self.base_uri = f"{BASE_URI}{version}/schemas/"
        self.schemas: dict[str, dict[str, Any]] = {}
        for path in sorted((folder / "schemas").rglob("*.json")):
            rel = path.relative_to(folder / "schemas").as_posix()
            self.schemas[rel] = _read_json(path)
        self.registry: Registry[Any] = Registry().with_resources(
            (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012))
            for schema in self.schemas.values()
        ).crawl()

    # -- schemas -------------------------------------------------------------------------
    def schema(self, name: str) -> dict[str, Any]:
        """A schema by file name (``"issue.json"``) or resource type (``"Issue"``)."""
        key = self.resource_schemas.get(name, name)
        if not key.endswith(".json"):
            key += ".json"
        try:
            return self.schemas[key]
        except KeyError:
            raise SpecError(f"spec {self.version} has no schema {name!r}") from None

    def schema_uri(self, name: str) -> str:
        return str(self.schema(name)["$id"])

    # -- resource types -----------------------------------------------------------------
    @functools.cached_property
    def resource_schemas(self) -> Mapping[str, str]:
        """Resource type → schema file, in ``resource-type.csv`` order.

        A resource schema is one whose ``resourceType`` member is a constant; the codelist
        and the schemas must name the same types.
        """
        found: dict[str, str] = {}
        for name, schema in self.schemas.items():
            const = schema.get("properties", {}).get("resourceType", {}).get("const")
            if isinstance(const, str):
                found[const] = name
        listed = tuple(self.codelist("resource-type"))
        if set(listed) != set(found):
            raise SpecError(f"resource-type.csv lists {sorted(listed)} but the schemas define "
                            f"{sorted(found)}")
        return {rt: found[rt] for rt in listed}

    @property
    def resource_types(self) -> tuple[str, ...]:
        """Every resource type of this version (``("Resident", "Issue", "Consultation")``)."""
        return tuple(self.resource_schemas)

    @functools.cached_property
    def collections(self) -> Mapping[str, str]:
        """Resource type → its collection's path segment in the API (``"Issue"`` → ``"issues"``).

        The collection is the OpenAPI path without parameters whose ``post`` takes the
        resource's schema.
        """
        found: dict[str, str] = {}
        by_file = {f: rt for rt, f in self.resource_schemas.items()}
        for path, item in self.openapi.get("paths", {}).items():
            if "{" in path or path.count("/") != 1:
                continue
            body = ((item.get("post") or {}).get("requestBody") or {}).get("content", {})
            ref = str(body.get("application/json", {}).get("schema", {}).get("$ref", ""))
            rt = by_file.get(ref.rsplit("/", 1)[-1])
            if rt is not None:
                found[rt] = path[1:]
        missing = [rt for rt in self.resource_types if rt not in found]
        if missing:
            raise SpecError(f"openapi.yaml has no collection for {missing}")
        return {rt: found[rt] for rt in self.resource_types}

    def collection(self, resource_type: str) -> str:
        """The collection path segment of ``resource_type`` (``"issues"``)."""
        try:
            return self.collections[resource_type]
        except KeyError:
            raise SpecError(f"spec {self.version} has no resource type {resource_type!r}") from None

    def resource_type_of(self, collection: str) -> str:
        """The resource type whose collection is ``collection`` (``"issues"`` → ``"Issue"``)."""
        for rt, name in self.collections.items():
            if name == collection:
                return rt
        raise SpecError(f"spec {self.version} has no collection {collection!r}")

    def statuses(self, resource_type: str) -> tuple[str, ...]:
        """The codes of ``resource_type``'s status codelist (its lifecycle names the list)."""
        return tuple(self.codelist(self.lifecycle(resource_type)["statusCodelist"]))

    def actions(self, resource_type: str) -> tuple[str, ...]:
        """The lifecycle actions of ``resource_type``, in the table's order."""
        return tuple(t["action"] for t in self.lifecycle(resource_type)["transitions"])

    def lifecycle(self, resource_type: str) -> dict[str, Any]:
        """The lifecycle table of ``resource_type`` (raises :class:`SpecError` without one)."""
        try:
            return self.lifecycles[resource_type]
        except KeyError:
            raise SpecError(f"spec {self.version} has no lifecycle for {resource_type!r}") from None

    # -- roles and audiences ---------------------------------------------------------------
    @property
    def roles(self) -> tuple[str, ...]:
        """Every principal role (``role.csv``)."""
        return tuple(self.codelist("role"))

    @property
    def audiences(self) -> tuple[str, ...]:
        """Every redaction audience (``audience.csv``)."""
        return tuple(self.codelist("audience"))

    def audience_of(self, role: str) -> str:
        """The audience a role reads as (``privacy.json`` ``roleAudience``)."""
        try:
            return str(self.privacy["roleAudience"][role])
        except KeyError:
            raise SpecError(f"spec {self.version} has no role {role!r}") from None

    def operation(self, operation_id: str) -> dict[str, Any]:
        """The OpenAPI operation object with ``operationId`` (its path under ``"x-path"``,
        its method under ``"x-method"``)."""
        found = self._operations.get(operation_id)
        if found is None:
            raise SpecError(f"openapi.yaml has no operation {operation_id!r}")
        return found

    def operation_roles(self, operation_id: str) -> frozenset[str] | None:
        """The roles an operation's ``x-roles`` admits, or None when it names none (every
        authenticated principal, scoped by the privacy rules)."""
        roles = self.operation(operation_id).get("x-roles")
        return None if roles is None else frozenset(roles)

    def wire(self, path: str, method: str) -> str | None:
        """The foreign wire the operation at ``path`` and ``method`` follows instead of the
        core HTTP rules (its ``x-wire``, such as ``georeport-v2``), or None when the core rules
        apply to it (JSON bodies, problem+json errors, unknown parameters refused, preconditions
        on writes)."""
        found = (self.openapi.get("paths", {}).get(path) or {}).get(method.lower())
        wire = found.get("x-wire") if isinstance(found, dict) else None
        return str(wire) if wire else None

    @functools.cached_property
    def _operations(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for path, item in self.openapi.get("paths", {}).items():
            for method, op in item.items():
                if isinstance(op, dict) and "operationId" in op:
                    found[op["operationId"]] = {**op, "x-path": path, "x-method": method}
        return found

    # -- codelists -----------------------------------------------------------------------
    @functools.cached_property
    def codelists(self) -> dict[str, Codelist]:
        lists: dict[str, Codelist] = {}
        for path in sorted((self.folder / "codelists").glob("*.csv")):
            with path.open(encoding="utf-8", newline="") as fh:
                rows = {
                    row["code"]: CodeEntry(
                        code=row["code"],
                        title_zh=row["title_zh"],
                        title_en=row["title_en"],
                        description_zh=row["description_zh"],
                        description_en=row["description_en"],
                        deprecated_since=row.get("deprecated_since") or None,
                        replaced_by=row.get("replaced_by") or None,
                    )
                    for row in csv.DictReader(fh)
                }
            lists[path.stem] = Codelist(path.stem, rows)
        return lists

    def codelist(self, name: str) -> Codelist:
        try:
            return self.codelists[name]
        except KeyError:
            raise SpecError(f"spec {self.version} has no codelist {name!r}") from None

    # -- lifecycles, privacy, API -----------------------------------------------------------
    @functools.cached_property
    def lifecycles(self) -> dict[str, dict[str, Any]]:
        """Lifecycle tables keyed by resource type."""
        tables = (_read_json(p) for p in sorted((self.folder / "lifecycles").glob("*.json")))
        return {t["resourceType"]: t for t in tables}

    @functools.cached_property
    def privacy(self) -> dict[str, Any]:
        return _read_json(self.folder / "privacy.json")

    @functools.cached_property
    def openapi(self) -> dict[str, Any]:
        # YAML is read only here: validating documents never needs the API description.
        import yaml

        with (self.folder / "openapi.yaml").open(encoding="utf-8") as fh:
            # libyaml's parser (in PyYAML's wheels) reads it ten times faster than the pure
            # Python one, which cost every server and kit start a third of a second.
            loaded = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        if not isinstance(loaded, dict):
            raise SpecError("openapi.yaml is not a mapping")
        return loaded

    # -- requirements --------------------------------------------------------------------
    @functools.cached_property
    def conformance_classes(self) -> dict[str, ConformanceClass]:
        classes: dict[str, ConformanceClass] = {}
        for raw in self._requirement_files:
            c = raw["class"]
            classes[c["id"]] = ConformanceClass(
                id=c["id"],
                title=c["title"],
                description=c["description"],
                mandatory=bool(c["mandatory"]),
                depends_on=tuple(c.get("dependsOn", ())),
                requirement_ids=tuple(r["id"] for r in raw["requirements"]),
                version=self.version,
            )
        return classes

    @functools.cached_property
    def requirements(self) -> dict[str, Requirement]:
        found: dict[str, Requirement] = {}
        for raw in self._requirement_files:
            for r in raw["requirements"]:
                if r["id"] in found:
                    raise SpecError(f"requirement id {r['id']} is defined twice")
                found[r["id"]] = Requirement(
                    id=r["id"],
                    level=r["level"],
                    statement=r["statement"],
                    enforcement=tuple(r["enforcement"]),
                    conformance_class=raw["class"]["id"],
                    codes=tuple(r.get("codes", ())),
                    applies_to=tuple(r.get("appliesTo", ())),
                    conformance_class_version=self.version,
                    parameters=r.get("parameters", {}),
                    see=tuple(r.get("see", ())),
                    title=r.get("title", {}),
                )
        return found

    def parameter(self, requirement_id: str, name: str) -> Any:
        """A figure or code list a requirement states (its registry ``parameters``)."""
        try:
            return self.requirements[requirement_id].parameters[name]
        except KeyError:
            raise SpecError(f"spec {self.version} gives no parameter {name!r} "
                            f"of {requirement_id}") from None

    def requirement_for_code(self, code: str) -> Requirement | None:
        """The requirement whose registry entry lists ``code`` (a library rule's code)."""
        return self._requirements_by_code.get(code)

    @functools.cached_property
    def _requirements_by_code(self) -> dict[str, Requirement]:
        return {c: r for r in self.requirements.values() for c in r.codes}

    @functools.cached_property
    def _requirement_files(self) -> list[dict[str, Any]]:
        return [_read_json(p) for p in sorted((self.folder / "requirements").glob("*.json"))]

    # -- examples ------------------------------------------------------------------------
    def examples(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(relative path, document)`` for every example of this version."""
        folder = self.folder / "examples"
        for path in sorted(folder.rglob("*.json")):
            yield path.relative_to(folder).as_posix(), _read_json(path)

    def __repr__(self) -> str:
        return f"Spec(version={self.version!r})"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise SpecError(f"cannot read spec file {path.name}: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(f"spec file {path.name} is not a JSON object")
    return data


def load_spec(version: str = DEFAULT_VERSION) -> Spec:
    """The installed spec of ``version`` (cached; raises :class:`UnknownSpecVersion`)."""
    # keyed by the variable's text: hashing a Path on every call cost redaction a tenth
    return _load_under(version, os.environ.get(SPEC_ROOT_VARIABLE))


@functools.cache
def _load_under(version: str, override: str | None) -> Spec:
    return _load(version, spec_root())


@functools.cache
def _load(version: str, root: Path) -> Spec:
    # Compared with the installed folders' names, never joined to a path first: a version
    # read from a client's document ("../x", a name too long for the file system) is simply
    # not installed.
    installed = {p.name for p in root.iterdir() if p.is_dir()} if root.is_dir() else set()
    folder = root / version if version in installed else None
    if folder is None or not (folder / "schemas").is_dir():
        raise UnknownSpecVersion(
            f"spec version {version!r} is not installed; installed: {available_versions()}"
        )
    return Spec(version, folder)
