"""The spec's OpenAPI document: served bundled, and read for the parameters each route takes.

``openapi.yaml`` refers to the resource schemas by relative path (``./schemas/issue.json``) and
the schemas to each other (``datatypes.json#/$defs/id``). Clients such as schemathesis expect
one self-contained document, so :func:`bundled` copies every schema reached into
``components/schemas`` (named by file) and points each ``$ref`` there.

:func:`operations` reads every operation with its parameters and says what kind of operation
it is from the shape of its path: a resource's collection (create, list), item (read, update),
lifecycle actions, history, or a right exercised on one item (``POST /residents/{id}/erase``).
The server registers its routes from that, so a resource type the spec adds is served without
a route of its own.
"""

from __future__ import annotations

import copy
import functools
import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from smartcommunity import load_spec
from smartcommunity.pointers import escape_token
from smartcommunity.specification import DEFAULT_VERSION, Spec, per_spec_tree
from smartcommunity.validation import Compiled, compile_schema, excerpt, message, schema_problems

__all__ = ["KINDS", "METHODS", "Operation", "Parameter", "bundled", "operations",
           "resource_operations"]

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
#: the kinds of operation a resource type's paths carry
KINDS = ("create", "list", "read", "update", "act", "history", "right")


@per_spec_tree
def bundled(version: str = DEFAULT_VERSION) -> dict[str, Any]:
    """The OpenAPI document with every schema it reaches under ``components/schemas``."""
    spec = load_spec(version)
    api = copy.deepcopy(spec.openapi)
    by_id = {s["$id"]: name for name, s in spec.schemas.items()}
    pending: list[str] = []
    seen: set[str] = set()

    def target(ref: str, base: str | None) -> str:
        file, _, fragment = ref.partition("#")
        if file.startswith(spec.base_uri):
            name = file[len(spec.base_uri):]
        elif file in by_id:
            name = by_id[file]
        elif base is None:
            name = posixpath.normpath(file).removeprefix("schemas/")
        else:
            name = posixpath.normpath(posixpath.join(posixpath.dirname(base), file))
        if name not in spec.schemas:
            raise ValueError(f"unresolvable $ref {ref!r}")
        if name not in seen:
            seen.add(name)
            pending.append(name)
        return f"#/components/schemas/{escape_token(name)}{fragment}"

    def rewrite(node: Any, base: str | None) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                if ref.startswith("#"):
                    if base is not None:  # local to a schema file: now inside components
                        node["$ref"] = f"#/components/schemas/{escape_token(base)}{ref[1:]}"
                else:
                    node["$ref"] = target(ref, base)
            for value in node.values():
                rewrite(value, base)
        elif isinstance(node, list):
            for value in node:
                rewrite(value, base)

    rewrite(api, None)
    components = api.setdefault("components", {}).setdefault("schemas", {})
    while pending:
        name = pending.pop()
        schema = copy.deepcopy(spec.schemas[name])
        # Without $id the schema resolves against the bundle, where its refs now point.
        schema.pop("$id", None)
        schema.pop("$schema", None)
        rewrite(schema, name)
        components[name] = schema
    return api


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    location: str  # query, header or path
    required: bool
    schema: Mapping[str, Any]
    integer: bool
    checker: Compiled
    spec: Spec
    #: the parameter's description, which says in words what a value looks like
    description: str = ""

    def problem(self, value: Any) -> dict[str, str] | None:
        """Why ``value`` breaks the parameter's schema, in both languages, or None."""
        schema = self.schema
        # Plain strings with a length and maybe a pattern (ids, actions) skip the validator.
        if set(schema) <= {"type", "maxLength", "pattern"} and schema.get("type") == "string":
            if not isinstance(value, str):
                return self._said("schema.type", types="string", value=excerpt(value))
            if len(value) > schema.get("maxLength", len(value)):
                return self._said("schema.max-length", limit=schema["maxLength"])
            pattern = schema.get("pattern")
            if pattern is not None and _compiled(pattern).search(value) is None:
                return self._said("schema.pattern", value=excerpt(value))
            return None
        for _, code, values in schema_problems(self.checker, value):
            return self._said(code, **values)
        return None

    def error(self, value: Any) -> str | None:
        """Why ``value`` breaks the parameter's schema (in English), or None."""
        found = self.problem(value)
        return None if found is None else found["en"]

    def _said(self, code: str, **values: Any) -> dict[str, str]:
        zh, _, en = self.description.partition(" / ")
        if values.get("expected_zh", "") in ("", "Parameter"):
            values["expected_zh"], values["expected"] = zh.rstrip("。"), (en or zh).rstrip(".")
        return message(self.spec, code, **{**values, "member": self.name})


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass(frozen=True, slots=True)
class Operation:
    path: str  # as the OpenAPI writes it, with {parameters}
    method: str
    operation_id: str
    #: the parameters it declares, by name (headers lower-cased)
    query: Mapping[str, Parameter]
    headers: Mapping[str, Parameter]
    path_params: Mapping[str, Parameter]
    has_body: bool
    #: one of KINDS for an operation on a resource type's paths, else ""
    kind: str = ""
    #: the resource type whose collection the path starts with
    resource_type: str | None = None
    #: the name a ``right`` operation is known by: its last path segment (``"erase"``)
    name: str | None = None
    #: the roles its ``x-roles`` admits; None: every authenticated principal
    roles: frozenset[str] | None = None
    #: whether a bearer token is needed (``security: []`` says none is)
    secured: bool = True
    #: whether a call without a token is answered as the anonymous public (``security``
    #: includes the empty requirement ``{}``; /req/privacy/anonymous-public-read)
    anonymous: bool = False


def _kind(path: str, method: str, by_collection: Mapping[str, str],
          ) -> tuple[str, str | None, str | None]:
    """``(kind, resource type, right name)`` of an operation, from the shape of its path."""
    parts = path.strip("/").split("/")
    rtype = by_collection.get(parts[0])
    if rtype is None:
        return "", None, None
    if len(parts) == 1:
        kind = {"post": "create", "get": "list"}.get(method, "")
    elif parts[1] != "{id}":
        kind = ""
    elif len(parts) == 2:
        kind = {"get": "read", "put": "update"}.get(method, "")
    elif len(parts) == 3 and method == "get" and parts[2] == "history":
        kind = "history"
    elif len(parts) == 4 and method == "post" and parts[2:] == ["actions", "{action}"]:
        kind = "act"
    elif len(parts) == 3 and method == "post" and "{" not in parts[2]:
        return "right", rtype, parts[2]
    else:
        kind = ""
    return kind, (rtype if kind else None), None


def _absolute(node: Any, spec: Spec) -> Any:
    """The parameter schema with its refs made absolute, for the spec's registry."""
    if isinstance(node, dict):
        out = {k: _absolute(v, spec) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("./schemas/"):
            out["$ref"] = spec.base_uri + ref[len("./schemas/"):]
        return out
    if isinstance(node, list):
        return [_absolute(v, spec) for v in node]
    return node


def _checker(spec: Spec, schema: Mapping[str, Any]) -> Compiled:
    # Parameters share a handful of schemas; each is compiled once.
    key = (str(spec.folder), json.dumps(schema, sort_keys=True))
    found = _CHECKERS.get(key)
    if found is None:
        found = _CHECKERS[key] = compile_schema(spec, schema)
    return found


_CHECKERS: dict[tuple[str, str], Compiled] = {}


@per_spec_tree
def operations(version: str = DEFAULT_VERSION) -> dict[tuple[str, str], Operation]:
    """Every (path, method) of the API with its declared parameters."""
    spec = load_spec(version)
    api = spec.openapi
    shared = api.get("components", {}).get("parameters", {})

    def resolve(p: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = p.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/parameters/"):
            return resolve(shared[ref.rsplit("/", 1)[1]])
        return p

    by_collection = {c: rt for rt, c in spec.collections.items()}
    out: dict[tuple[str, str], Operation] = {}
    for path, item in api["paths"].items():
        common = [resolve(p) for p in item.get("parameters", ())]
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            kind, rtype, name = _kind(path, method, by_collection)
            params: dict[tuple[str, str], Parameter] = {}
            for raw in [*common, *(resolve(p) for p in op.get("parameters", ()))]:
                schema = _absolute(raw.get("schema", {}), spec)
                params[(raw["in"], raw["name"])] = Parameter(
                    raw["name"], raw["in"], bool(raw.get("required")), schema,
                    schema.get("type") == "integer", _checker(spec, schema), spec,
                    str(raw.get("description", "")))
            out[(path, method)] = Operation(
                path=path, method=method, operation_id=op.get("operationId", ""),
                query={n: p for (loc, n), p in params.items() if loc == "query"},
                headers={n.lower(): p for (loc, n), p in params.items() if loc == "header"},
                path_params={n: p for (loc, n), p in params.items() if loc == "path"},
                has_body="requestBody" in op,
                kind=kind, resource_type=rtype, name=name,
                roles=None if op.get("x-roles") is None else frozenset(op["x-roles"]),
                secured=op.get("security", api.get("security")) != [],
                anonymous={} in (op.get("security", api.get("security")) or ()),
            )
    return out


@per_spec_tree
def resource_operations(version: str, resource_type: str) -> dict[str, Operation]:
    """The operations on ``resource_type``'s paths by kind; a right by ``"right:<name>"``."""
    found: dict[str, Operation] = {}
    for op in operations(version).values():
        if op.resource_type == resource_type:
            found[op.kind if op.kind != "right" else f"right:{op.name}"] = op
    return found
