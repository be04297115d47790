"""Generate the pydantic models of every installed spec version from its JSON Schemas.

``python -m smartcommunity.models._generate`` rewrites one module per version beside this file
(``_v1_0.py`` for 1.0, named by :func:`module_name`) and ``_default.py``, which re-exports the
models of ``DEFAULT_VERSION``; a test proves the committed files are exactly what the schemas
give, so the models never drift from the standard. Every object schema becomes a model, every
shared datatype a typed alias, every closed codelist a ``Literal``. What pydantic cannot say
natively (conditionals, ``anyOf``/``oneOf``, ``not``, ``uniqueItems``, ``contains``) becomes one
generated ``model_validator`` per model whose checks are compiled from the same schema keywords.
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..specification import DEFAULT_VERSION, available_versions
from ._schemas import Flat, SchemaSet, is_annotation_only, schema_set

Schema = dict[str, Any]

#: prefixes of the names of ``$defs`` entries, by file (else the file's class name)
DEF_PREFIXES = {
    "datatypes.json": "",
    "validation-report.json": "Report",
}
#: names that read better than the mechanical ones (a resource schema's class is named after its
#: resource type, any other file's after the file)
NAME_OVERRIDES = {
    "event.json": "ChangeEvent",
    "conformance.json": "ConformanceDeclaration",
    "resident.json#/$defs/residentReference": "ResidentReference",
    "issue.json#/$defs/extension": "IssueDeadlineExtension",
    "validation-report.json#/properties/results/items": "ReportResult",
    "validation-report.json#/properties/summary": "ReportSummary",
    "consultation.json#/$defs/origin/properties/issues/items": "ConsultationIssueReference",
}
#: shared types come first in the module, in this order; then the resources, in the order of
#: resource-type.csv; then every other file, by name
SHARED_ORDER = [
    "datatypes.json",
    "extensions.json",
    "reference.json",
    "external-ref.json",
    "meta.json",
    "geo-point.json",
    "address.json",
    "organisation-ref.json",
    "actor.json",
    "attachment.json",
    "consent.json",
    "history-event.json",
    "validation-report.json",
    "problem.json",
    "action-request.json",
    "conformance.json",
]

#: schema files that are not documents of the standard, and why they get no model
NOT_MODELLED = {
    "conformance-preset.json": "input file of the conformance kit",
    "conformance-report.json": "output file of the conformance kit",
}

HERE = Path(__file__).parent
#: the module re-exporting the models of the default version (the package's own names)
DEFAULT_MODULE = "_default"


def module_name(version: str) -> str:
    """The generated module of a spec version: ``"1.0"`` → ``"_v1_0"``."""
    return "_v" + version.replace(".", "_")


def target(version: str) -> Path:
    """The file the models of ``version`` are written to."""
    return HERE / f"{module_name(version)}.py"


# -- intermediate representation ------------------------------------------------------------
@dataclass
class ModelCtx:
    model: ModelDef


@dataclass
class ListCtx:
    item: Ctx


@dataclass
class DictCtx:
    pass


@dataclass
class ScalarCtx:
    pass


Ctx = ModelCtx | ListCtx | DictCtx | ScalarCtx


@dataclass
class TypeInfo:
    code: str
    ctx: Ctx
    nullable: bool = False


@dataclass
class FieldDef:
    attr: str
    alias: str
    info: TypeInfo
    required: bool
    title: str | None
    description: str | None
    flat: Flat


@dataclass
class ModelDef:
    name: str
    uri: str
    flat: Flat
    fields: list[FieldDef] = field(default_factory=list)
    extra: str = "forbid"

    def by_alias(self, alias: str) -> FieldDef | None:
        return next((f for f in self.fields if f.alias == alias), None)


class GenerationError(Exception):
    """The schemas use a construct the generator does not translate."""


def camel(text: str) -> str:
    parts = re.split(r"[^0-9A-Za-z]+", text)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def snake(text: str) -> str:
    out = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", text).replace("-", "_").lower()
    out = re.sub(r"[^0-9a-z_]", "_", out)
    if keyword.iskeyword(out) or hasattr(BaseModel, out) or out.startswith("model_"):
        out += "_"
    return out


def lit(value: Any) -> str:
    """A Python literal for a JSON value, in the double-quoted style ruff formats to."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(lit(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in value.items()) + "}"
    raise GenerationError(f"cannot write {value!r} as a literal")


def _balanced(inner: str) -> bool:
    depth = 0
    for ch in inner:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    return depth == 0


def neg(p: str) -> str:
    """The negation of predicate ``p``, written the way a person would."""
    if p == "True":
        return "False"
    if p == "False":
        return "True"
    if p.startswith("not (") and p.endswith(")") and _balanced(p[5:-1]):
        return p[5:-1]
    m = re.fullmatch(r"([\w.]+) is not None", p)
    if m:
        return f"{m.group(1)} is None"
    m = re.fullmatch(r"([\w.]+) is None", p)
    if m:
        return f"{m.group(1)} is not None"
    m = re.fullmatch(r"(\"[^\"]*\") in ([\w.]+)", p)
    if m:
        return f"{m.group(1)} not in {m.group(2)}"
    m = re.fullmatch(r"([\w.]+) in (\(.*\))", p)
    if m and _balanced(m.group(2)[1:-1]):
        return f"{m.group(1)} not in {m.group(2)}"
    m = re.fullmatch(r"([\w.]+) == (\"[^\"]*\")", p)
    if m:
        return f"{m.group(1)} != {m.group(2)}"
    return f"not ({p})"


def _paren(p: str) -> str:
    """``p`` made safe to join with ``and``."""
    if " or " in p or " if " in p or p.startswith("not "):
        return f"({p})"
    return p


def _paren_or(p: str) -> str:
    """``p`` made safe (and plain to read) to join with ``or``."""
    if " and " in p or " if " in p:
        return f"({p})"
    return p


class Generator:
    def __init__(self, schemas: SchemaSet) -> None:
        self.ss = schemas
        self.base = schemas.spec.base_uri
        #: schema file → the resource type it defines
        self.resource_types = {f: rt for rt, f in schemas.spec.resource_schemas.items()}
        self.out: list[str] = []
        self.types_by_uri: dict[str, TypeInfo] = {}
        self.models_by_uri: dict[str, ModelDef] = {}
        self.names: dict[str, str] = {}  # name → kind ("model", "alias", "codelist:<values>")
        self.public: list[str] = []
        self.location: dict[int, str] = {}
        for uri, doc in schemas.documents.items():
            self._index(doc, uri + "#")
        self.reserved = set()
        for uri, doc in schemas.documents.items():
            self.reserved.add(self.name_for(uri))
            self.reserved.update(self.name_for(f"{uri}#/$defs/{d}") for d in doc.get("$defs", {}))

    # -- locations and names ---------------------------------------------------------------
    def _index(self, node: Any, uri: str) -> None:
        if isinstance(node, dict):
            self.location.setdefault(id(node), uri)
            for key, value in node.items():
                if key in {"enum", "const", "required", "examples", "default"}:
                    continue
                self._index(value, f"{uri}/{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                self._index(item, f"{uri}/{i}")

    def rel(self, uri: str) -> str:
        out = uri[len(self.base) :] if uri.startswith(self.base) else uri
        return out[:-1] if out.endswith("#") else out

    def nameable(self, uri: str) -> bool:
        rel = self.rel(uri)
        file, _, frag = rel.partition("#")
        if file.startswith("meta/"):
            return False
        return frag == "" or re.fullmatch(r"/\$defs/[^/]+", frag) is not None

    def name_for(self, uri: str, hint: str | None = None) -> str:
        rel = self.rel(uri)
        if rel in NAME_OVERRIDES:
            return NAME_OVERRIDES[rel]
        file, _, frag = rel.partition("#")
        if frag == "":
            return self.file_name(file)
        m = re.fullmatch(r"/\$defs/([^/]+)", frag)
        if m:
            prefix = DEF_PREFIXES.get(file, self.file_name(file))
            return prefix + camel(m.group(1))
        if hint:
            return hint
        raise GenerationError(f"no name for {rel}")

    def file_name(self, file: str) -> str:
        """The class name of a whole schema file: its resource type, else its file name."""
        return (
            NAME_OVERRIDES.get(file)
            or self.resource_types.get(file)
            or camel(file.removesuffix(".json"))
        )

    def claim(self, name: str, kind: str) -> str:
        if name in self.names:
            raise GenerationError(f"name {name} generated twice ({self.names[name]}, {kind})")
        self.names[name] = kind
        return name

    def canonical(self, schema: Schema) -> str | None:
        """The location a schema stands for once pure ``$ref`` s (with titles) are followed."""
        seen = 0
        while True:
            ref = schema.get("$ref")
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            if isinstance(ref, str) and is_annotation_only(rest):
                schema = self.ss.resolve(ref)
                seen += 1
                if seen > 20:
                    raise GenerationError("reference loop")
                continue
            loc = self.location.get(id(schema))
            if loc is not None and loc.endswith("#"):
                loc = loc[:-1]
            return loc

    # -- values -----------------------------------------------------------------------------
    def valid(self, value: Any, flat: Flat) -> bool:
        return bool(self.ss.validator(flat.as_schema()).is_valid(value))

    # -- types ------------------------------------------------------------------------------
    def field_type(self, subs: Sequence[Schema], hint: str, uri: str) -> TypeInfo:
        canon = {self.canonical(s) for s in subs}
        if len(canon) == 1 and None not in canon:
            (target,) = canon
            assert target is not None
            if self.nameable(target):
                return self.named(target)
            return self.type_for(self.ss.flatten(self.ss.resolve(target)), hint, target)
        return self.type_for(self.ss.flatten(*subs), hint, uri)

    def named(self, uri: str) -> TypeInfo:
        key = uri.removesuffix("#")
        if key in self.types_by_uri:
            return self.types_by_uri[key]
        target = self.ss.resolve(key)
        flat = self.ss.flatten(target)
        name = self.name_for(key)
        if self.is_model(flat):
            info = TypeInfo(name, ModelCtx(self.model(name, key, flat)))
        else:
            inner = self.type_for(flat, name, key)
            self.claim(name, "alias")
            doc = flat.title or name
            self.out.append(f"{name} = {inner.code}\n{self.docstring(doc, flat.description)}\n")
            self.public.append(name)
            info = TypeInfo(name, inner.ctx)
        self.types_by_uri[key] = info
        return info

    @staticmethod
    def is_model(flat: Flat) -> bool:
        return flat.is_object and (bool(flat.properties) or flat.allowed is not None)

    def type_for(self, flat: Flat, hint: str, uri: str) -> TypeInfo:
        if flat.enum is not None:
            return self.literal(flat)
        if flat.any_of and flat.types is None and not flat.patterns and not flat.properties:
            if len(flat.any_of) != 1 or flat.one_of or flat.nots or flat.conditionals:
                raise GenerationError(f"value-level anyOf with more at {uri}")
            branches = [self.field_type([b], hint, uri) for b in flat.any_of[0]]
            return TypeInfo(" | ".join(b.code for b in branches), ScalarCtx())
        if flat.types is None:
            if flat.patterns or flat.formats or flat.items or flat.properties or flat.one_of:
                raise GenerationError(f"untyped constraints at {uri}")
            return TypeInfo("Any", ScalarCtx())
        types = set(flat.types)
        nullable = "null" in types and len(types) > 1
        types.discard("null") if nullable else None
        if len(types) != 1:
            raise GenerationError(f"several types at {uri}")
        (t,) = types
        info = self._typed(flat, t, hint, uri)
        info.nullable = nullable
        return info

    def _typed(self, flat: Flat, t: str, hint: str, uri: str) -> TypeInfo:
        if t == "object":
            if self.is_model(flat):
                name = self.name_for(uri, hint)
                return TypeInfo(name, ModelCtx(self.model(name, uri, flat)))
            key = "str"
            if flat.property_names:
                names = [*flat.property_names, {"type": "string"}]
                if len(flat.property_names) == 1 and "$ref" in flat.property_names[0]:
                    names = list(flat.property_names)  # a named key type
                key = self.field_type(names, hint + "Key", uri + "/propertyNames").code
            value = "Any"
            if any(not is_annotation_only(a) for a in flat.additional):
                value = self.field_type(
                    flat.additional, hint + "Value", uri + "/additionalProperties"
                ).code
            return TypeInfo(f"dict[{key}, {value}]", DictCtx())
        if t == "array":
            if not flat.items:
                raise GenerationError(f"array without items at {uri}")
            item = self.field_type(flat.items, hint + "Item", uri + "/items")
            args = []
            if flat.min_items:
                args.append(f"min_length={flat.min_items}")
            if flat.max_items is not None:
                args.append(f"max_length={flat.max_items}")
            code = f"list[{item.code}]"
            if args:
                code = f"Annotated[{code}, Field({', '.join(args)})]"
            return TypeInfo(code, ListCtx(item.ctx))
        if t == "string":
            parts = []
            if len(flat.patterns) > 1:
                raise GenerationError(f"several patterns at {uri}")
            if flat.patterns:
                parts.append(f"pattern={lit(flat.patterns[0])}")
            if flat.min_length is not None:
                parts.append(f"min_length={flat.min_length}")
            if flat.max_length is not None:
                parts.append(f"max_length={flat.max_length}")
            meta = [f"StringConstraints({', '.join(parts)})"] if parts else []
            meta += [f"fmt({lit(f)})" for f in flat.formats]
            meta += [f"not_matching({lit(n['pattern'])})" for n in self.pattern_nots(flat)]
            return TypeInfo(f"Annotated[str, {', '.join(meta)}]" if meta else "str", ScalarCtx())
        if t in {"integer", "number"}:
            base = "JsonInt" if t == "integer" else "Number"
            bounds = []
            for arg, bound in (
                ("ge", flat.minimum),
                ("le", flat.maximum),
                ("gt", flat.exclusive_minimum),
                ("lt", flat.exclusive_maximum),
            ):
                if bound is not None:
                    bounds.append(f"{arg}={bound!r}")
            if bounds:
                return TypeInfo(f"Annotated[{base}, Field({', '.join(bounds)})]", ScalarCtx())
            return TypeInfo(base, ScalarCtx())
        if t == "boolean":
            return TypeInfo("bool", ScalarCtx())
        raise GenerationError(f"type {t} at {uri}")

    def literal(self, flat: Flat) -> TypeInfo:
        assert flat.enum is not None
        values = [v for v in flat.enum if self.valid(v, flat)]
        if not values:
            raise GenerationError("an enum no value of which is valid")
        code = f"Literal[{', '.join(lit(v) for v in values)}]"
        codelist = flat.extras.get("x-codelist")
        declared = next(
            (s["enum"] for s in flat.sources if "x-codelist" in s and "enum" in s), None
        )
        # A codelist gets a named alias only where the member takes the whole list.
        if isinstance(codelist, str) and declared == values:
            name = camel(codelist)
            kind = "codelist:" + json.dumps(values)
            if self.names.get(name) == kind:
                return TypeInfo(name, ScalarCtx())
            if name in self.names or name in self.reserved:
                name += "Code"
            if self.names.get(name) == kind:
                return TypeInfo(name, ScalarCtx())
            self.claim(name, kind)
            doc = f"代码表 {codelist} / Codelist {codelist}"
            if flat.extras.get("x-openCodelist") is False:
                doc += " (closed)"
            self.out.append(f"{name} = {code}\n{self.docstring(doc, None)}\n")
            self.public.append(name)
            return TypeInfo(name, ScalarCtx())
        return TypeInfo(code, ScalarCtx())

    # -- models -----------------------------------------------------------------------------
    def model(self, name: str, uri: str, flat: Flat) -> ModelDef:
        key = uri.removesuffix("#")
        if key in self.models_by_uri:
            return self.models_by_uri[key]
        self.claim(name, "model")
        md = ModelDef(name, key, flat)
        self.models_by_uri[key] = md
        if flat.allowed is None:
            if any(not is_annotation_only(a) for a in flat.additional):
                raise GenerationError(f"open object with typed extras at {uri}")
            md.extra = "allow"
        for alias in flat.property_names_in_order:
            subs = flat.properties[alias]
            info = self.field_type(subs, name + camel(alias), f"{key}/properties/{alias}")
            pf = self.ss.flatten(*subs)
            md.fields.append(
                FieldDef(
                    attr=snake(alias),
                    alias=alias,
                    info=info,
                    required=alias in flat.required,
                    title=pf.title,
                    description=pf.description,
                    flat=pf,
                )
            )
        self.out.append(self.model_code(md))
        self.public.append(name)
        return md

    def docstring(self, title: str, description: str | None) -> str:
        text = description or title
        text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
        return f'"""{text}"""'

    def model_code(self, md: ModelDef) -> str:
        flat = md.flat
        lines = [
            f"class {md.name}(SpecModel):",
            f"    {self.docstring(flat.title or md.name, flat.description)}",
            "",
        ]
        config = []
        if flat.title:
            config.append(f"title={lit(flat.title)}")
        if md.extra != "forbid":
            config.append(f"extra={lit(md.extra)}")
        if config:
            lines.append(f"    model_config = ConfigDict({', '.join(config)})")
        lines.append(f"    schema_uri: ClassVar[str] = {lit(md.uri)}")
        nullable = sorted(f.alias for f in md.fields if f.info.nullable)
        if nullable:
            members = ", ".join(lit(n) for n in nullable)
            lines.append(
                f"    nullable_members: ClassVar[frozenset[str]] = frozenset({{{members}}})"
            )
        lines.append("")
        for f in md.fields:
            args = []
            if not f.required:
                args.append("default=None")
            if f.alias != f.attr:
                args.append(f"alias={lit(f.alias)}")
            if f.title is not None:
                args.append(f"title={lit(f.title)}")
            if f.description is not None:
                args.append(f"description={lit(f.description)}")
            annotation = f.info.code
            if not f.required or f.info.nullable:
                annotation += " | None"
            lines.append(f"    {f.attr}: {annotation} = Field({', '.join(args)})")
        checks = self.model_checks(md)
        if checks:
            lines.append("")
            lines.append('    @model_validator(mode="after")')
            lines.append("    def _check_schema_rules(self) -> Self:")
            lines.extend("        " + c for c in checks)
            lines.append("        return self")
        return "\n".join(lines) + "\n"

    # -- checks -----------------------------------------------------------------------------
    def model_checks(self, md: ModelDef) -> list[str]:
        flat = md.flat
        ctx = ModelCtx(md)
        out: list[str] = []

        def fail(*_: Any) -> str:  # what failed and its schema: the data says it better
            # Worded at run time from the data, by the library's messages (never a dump).
            return "raise ValueError(rule_broken(self))"

        for i_s, t_s, e_s in flat.conditionals:
            cond = self.pred(i_s, "self", ctx)
            then = self.pred(t_s, "self", ctx) if t_s is not None else "True"
            other = self.pred(e_s, "self", ctx) if e_s is not None else "True"
            if then != "True":
                out.append(f"if {_paren(cond)} and {_paren(neg(then))}:")
                out.append("    " + fail("then", {"if": i_s, "then": t_s}))
            if other != "True":
                out.append(f"if {_paren(neg(cond))} and {_paren(neg(other))}:")
                out.append("    " + fail("else", {"if": i_s, "else": e_s}))
        for group in flat.any_of:
            preds = [self.pred(b, "self", ctx) for b in group]
            out.append(f"if {neg(' or '.join(_paren_or(p) for p in preds))}:")
            out.append("    " + fail("anyOf", group))
        for group in flat.one_of:
            preds = [self.pred(b, "self", ctx) for b in group]
            out.append(f"if [{', '.join(preds)}].count(True) != 1:")
            out.append("    " + fail("oneOf", group))
        for n in flat.nots:
            out.append(f"if {self.pred(n, 'self', ctx)}:")
            out.append("    " + fail("not", n))
        for name, needs in flat.dependent_required.items():
            f = md.by_alias(name)
            if f is None:
                continue
            need = " and ".join(self.present(md, n) for n in needs) or "True"
            out.append(f"if self.{f.attr} is not None and {_paren(neg(need))}:")
            out.append("    " + fail("dependentRequired", {name: needs}))
        for name, subs in flat.dependent_schemas.items():
            f = md.by_alias(name)
            if f is None:
                continue
            for sub in subs:
                p = _paren(neg(self.pred(sub, "self", ctx)))
                out.append(f"if self.{f.attr} is not None and {p}:")
                out.append("    " + fail("dependentSchemas", {name: sub}))
        if flat.min_properties:
            out.append(f"if len(self.model_fields_set) < {flat.min_properties}:")
            out.append("    " + fail("minProperties", {"minProperties": flat.min_properties}))
        if flat.property_names:
            raise GenerationError(f"propertyNames on model {md.name}")
        for f in md.fields:
            expr = f"self.{f.attr}"
            for p in self.residual(f.flat, expr, f.info.ctx):
                bad = _paren(neg(p))
                out.append(f"if {bad}:" if f.required else f"if {expr} is not None and {bad}:")
                out.append("    " + fail(f"{f.alias}", self.residual_schema(f.flat)))
        return out

    def residual_schema(self, flat: Flat) -> Schema:
        out: Schema = {}
        if flat.unique_items:
            out["uniqueItems"] = True
        if flat.contains:
            out["contains"] = [c[0] for c in flat.contains]
        if flat.required:
            out["required"] = flat.required
        if flat.items:
            out["items"] = "…"
        return out

    @staticmethod
    def pattern_nots(flat: Flat) -> list[Schema]:
        """``not: {pattern: …}`` on a string: said in the annotation, not in a check."""
        if flat.types != frozenset({"string"}):
            return []
        return [n for n in flat.nots if isinstance(n, dict) and set(n) == {"pattern"}]

    def residual(self, flat: Flat, expr: str, ctx: Ctx, depth: int = 0) -> list[str]:
        """Checks of a member's value that its type annotation does not make."""
        if isinstance(ctx, ModelCtx) or flat.enum is not None:
            return []
        out = []
        if flat.unique_items:
            out.append(f"unique({expr})")
        for schema, low, high in flat.contains:
            out.append(
                self.pred(
                    {"contains": schema, "minContains": low, "maxContains": high}, expr, ctx, depth
                )
            )
        if isinstance(ctx, DictCtx):
            out.extend(f"{lit(n)} in {expr}" for n in flat.required)
            if flat.min_properties:
                out.append(f"len({expr}) >= {flat.min_properties}")
        nots = [n for n in flat.nots if n not in self.pattern_nots(flat)]
        if flat.conditionals or flat.one_of or nots or flat.dependent_required:
            raise GenerationError(f"value-level conditions on {expr}")
        if isinstance(ctx, ListCtx) and flat.items:
            var = f"_x{depth}"
            inner = self.residual(self.ss.flatten(*flat.items), var, ctx.item, depth + 1)
            if inner:
                out.append(f"all({' and '.join(inner)} for {var} in {expr})")
        return out

    def present(self, md: ModelDef, alias: str) -> str:
        f = md.by_alias(alias)
        return "False" if f is None else f"self.{f.attr} is not None"

    def pred(self, schema: Any, expr: str, ctx: Ctx, depth: int = 0) -> str:
        """A Python expression true exactly when the value of ``expr`` is valid under ``schema``."""
        if schema is True:
            return "True"
        if schema is False:
            return "False"
        parts: list[str] = []
        for key, value in schema.items():
            if key in {"title", "description", "$comment"} or key.startswith("x-"):
                continue
            if key in {"minContains", "maxContains"}:
                continue
            parts.append(self.keyword_pred(key, value, schema, expr, ctx, depth))
        parts = [p for p in parts if p != "True"]
        if not parts:
            return "True"
        if len(parts) == 1:
            return parts[0]
        return " and ".join(_paren(p) for p in parts)

    def keyword_pred(
        self, key: str, value: Any, schema: Schema, expr: str, ctx: Ctx, depth: int
    ) -> str:
        if key == "$ref":
            canon = self.canonical({"$ref": value})
            assert canon is not None
            if self.nameable(canon):
                info = self.named(canon)
                if isinstance(info.ctx, ModelCtx):
                    return f"conforms({info.code}, {expr})"
            return self.pred(self.ss.resolve(value), expr, ctx, depth)
        if key == "type":
            types = [value] if isinstance(value, str) else value
            if isinstance(ctx, ModelCtx):
                return "True" if "object" in types else "False"
            if isinstance(ctx, ListCtx):
                return "True" if "array" in types else "False"
            checks = {
                "string": f"isinstance({expr}, str)",
                "integer": f"(isinstance({expr}, int) and not isinstance({expr}, bool))",
                "number": f"(isinstance({expr}, int | float) and not isinstance({expr}, bool))",
                "boolean": f"isinstance({expr}, bool)",
                "object": f"isinstance({expr}, dict)",
                "array": f"isinstance({expr}, list)",
                "null": f"{expr} is None",
            }
            return " or ".join(checks[t] for t in types)
        if key == "const":
            if isinstance(value, str):
                return f"{expr} == {lit(value)}"
            return f"json_equal({expr}, {lit(value)})"
        if key == "enum":
            if all(isinstance(v, str) for v in value):
                options = ", ".join(lit(v) for v in value)
                return f"{expr} in ({options}{',' if len(value) == 1 else ''})"
            return " or ".join(f"json_equal({expr}, {lit(v)})" for v in value)
        if key == "not":
            return neg(self.pred(value, expr, ctx, depth))
        if key in {"anyOf", "allOf"}:
            preds = [self.pred(b, expr, ctx, depth) for b in value]
            joiner = " or " if key == "anyOf" else " and "
            if len(preds) == 1:
                return preds[0]
            wrap = _paren_or if key == "anyOf" else _paren
            return joiner.join(wrap(p) for p in preds)
        if key == "oneOf":
            preds = [self.pred(b, expr, ctx, depth) for b in value]
            return f"[{', '.join(preds)}].count(True) == 1"
        if key == "if":
            cond = self.pred(value, expr, ctx, depth)
            then = self.pred(schema.get("then", True), expr, ctx, depth)
            other = self.pred(schema.get("else", True), expr, ctx, depth)
            return f"({then}) if ({cond}) else ({other})"
        if key in {"then", "else"}:
            return "True"  # handled with "if"
        if key == "required":
            # names that "properties" also constrains were checked there
            value = [n for n in value if n not in schema.get("properties", {})]
            if not value:
                return "True"
            if isinstance(ctx, ModelCtx):
                value = [n for n in value if not self.always(ctx, n)]
                found = [self.member(ctx, n, expr) for n in value]
                return (
                    " and ".join("False" if m is None else f"{m[0]} is not None" for m in found)
                    or "True"
                )
            if isinstance(ctx, DictCtx):
                return " and ".join(f"{lit(n)} in {expr}" for n in value)
            return "True"  # not an object: "required" does not apply
        if key == "properties":
            parts = []
            required = set(schema.get("required", ()))
            for name, sub in value.items():
                if isinstance(ctx, ModelCtx):
                    m = self.member(ctx, name, expr)
                    if m is None:
                        continue  # a member the model forbids is never present
                    sub_expr, sub_ctx = m
                    p = self.pred(sub, sub_expr, sub_ctx, depth)
                    if self.always(ctx, name):
                        parts.append(p)
                    elif name in required:
                        parts.append(
                            f"{sub_expr} is not None" + ("" if p == "True" else f" and {_paren(p)}")
                        )
                    elif p != "True":
                        parts.append(f"{sub_expr} is None or {_paren_or(p)}")
                elif isinstance(ctx, DictCtx):
                    sub_expr = f"{expr}[{lit(name)}]"
                    p = self.pred(sub, sub_expr, ScalarCtx(), depth)
                    if name in required:
                        parts.append(
                            f"{lit(name)} in {expr}" + ("" if p == "True" else f" and {_paren(p)}")
                        )
                    elif p != "True":
                        parts.append(f"{lit(name)} not in {expr} or {_paren_or(p)}")
                else:
                    return "True"
            if isinstance(ctx, ModelCtx):
                missing = [n for n in required if n in value and ctx.model.by_alias(n) is None]
                if missing:
                    return "False"  # required yet forbidden by the model
            return " and ".join(_paren(p) for p in parts) or "True"
        if key == "contains":
            if not isinstance(ctx, ListCtx):
                return "True"
            var = f"_x{depth}"
            p = self.pred(value, var, ctx.item, depth + 1)
            low = schema.get("minContains", 1)
            high = schema.get("maxContains")
            return f"count_between(sum(1 for {var} in {expr} if {p}), {low}, {high!r})"
        if key == "items":
            if not isinstance(ctx, ListCtx):
                return "True"
            var = f"_x{depth}"
            return f"all({self.pred(value, var, ctx.item, depth + 1)} for {var} in {expr})"
        if key == "pattern":
            return f"(not isinstance({expr}, str) or matches({lit(value)}, {expr}))"
        if key in {"minLength", "maxLength"}:
            op = ">=" if key == "minLength" else "<="
            return f"(not isinstance({expr}, str) or len({expr}) {op} {value})"
        if key in {"minimum", "maximum"}:
            op = ">=" if key == "minimum" else "<="
            return f"(not isinstance({expr}, int | float) or {expr} {op} {value!r})"
        if key == "propertyNames":
            if not isinstance(ctx, ModelCtx):
                raise GenerationError("propertyNames on a non-model")
            md = ctx.model
            bad = [f.attr for f in md.fields if not self.valid(f.alias, self.ss.flatten(value))]
            if not bad:
                return "True"
            return f"not ({expr}.model_fields_set & {{{', '.join(lit(b) for b in bad)}}})"
        raise GenerationError(f"keyword {key} in a condition")

    @staticmethod
    def always(ctx: ModelCtx, alias: str) -> bool:
        """True when a valid model always has the member (required, never null)."""
        f = ctx.model.by_alias(alias)
        return f is not None and f.required and not f.info.nullable

    def member(self, ctx: ModelCtx, alias: str, expr: str) -> tuple[str, Ctx] | None:
        f = ctx.model.by_alias(alias)
        if f is None:
            return None
        return f"{expr}.{f.attr}", f.info.ctx

    # -- module -----------------------------------------------------------------------------
    def run(self) -> str:
        files = [self.rel(s["$id"]) for s in self.ss.documents.values()]
        first = [f for f in SHARED_ORDER if f in files] + list(self.resource_types)
        others = sorted(
            f
            for f in files
            if f not in first and f not in NOT_MODELLED and not f.startswith("meta/")
        )
        for file in first + others:
            doc = self.ss.document(file)
            uri = doc["$id"]
            for def_name in doc.get("$defs", {}):
                self.named(f"{uri}#/$defs/{def_name}")
            if "properties" in doc or "type" in doc:
                self.named(uri)
        return self.module()

    def module(self) -> str:
        version = self.ss.spec.version
        head = f'''# ruff: noqa: E501
"""Models of the Smart Community Interoperability Standard {version}.

GENERATED from spec/{version}/schemas by ``python -m smartcommunity.models._generate``; do not edit.
Field titles and descriptions are the schemas' own; a test regenerates this file and compares.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from ._base import (
    JsonInt,
    Number,
    SpecModel,
    conforms,
    count_between,
    fmt,
    json_equal,
    matches,
    not_matching,
    rule_broken,
    unique,
)

SPEC_VERSION = {lit(version)}

'''
        body = "\n\n".join(self.out)
        by_type = "".join(f"    {lit(rt)}: {rt},\n" for rt in self.resource_types.values())
        index = (
            "\n\n#: resourceType → its model, in the order of resource-type.csv\n"
            f"BY_RESOURCE_TYPE: dict[str, type[SpecModel]] = {{\n{by_type}}}\n"
        )
        names = sorted(set(self.public) | {"SPEC_VERSION"})
        tail = "\n\n__all__ = [\n" + "".join(f"    {lit(n)},\n" for n in names) + "]\n"
        return head + body + index + tail


def generate(version: str = DEFAULT_VERSION) -> str:
    """The formatted source of the models of ``version``."""
    source = Generator(schema_set(version)).run()
    return _finish(source, target(version))


def generate_default(version: str = DEFAULT_VERSION) -> str:
    """The formatted source of the module that re-exports the default version's models."""
    name = module_name(version)
    source = f'''"""The models of the standard's default version, {version}: the package's names.

GENERATED from ``DEFAULT_VERSION`` by ``python -m smartcommunity.models._generate``; do not edit.
"""

from .{name} import *  # noqa: F403
from .{name} import __all__ as __all__
'''
    return _finish(source, HERE / f"{DEFAULT_MODULE}.py")


def sources() -> dict[Path, str]:
    """Every generated file and its expected text: one module per installed spec version, and
    the default version's re-export."""
    found = {target(v): generate(v) for v in available_versions()}
    found[HERE / f"{DEFAULT_MODULE}.py"] = generate_default()
    return found


def _finish(source: str, path: Path) -> str:
    # ruff fixes what the templates leave loose (unused helpers, import order), then formats.
    cwd = Path(__file__).resolve().parents[3]
    fixed = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--fix-only",
            "--select",
            "F401,I,RUF022",
            "--stdin-filename",
            str(path),
            "-",
        ],
        input=source,
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    ).stdout
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(path), "-"],
        input=fixed,
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    ).stdout
    return formatted


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when the committed models differ from the schemas",
    )
    args = parser.parse_args(argv)
    stale = 0
    for path, source in sources().items():
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current == source:
            continue
        stale += 1
        if args.check:
            print(f"{path.name} is out of date; run python -m smartcommunity.models._generate")
        else:
            path.write_text(source, encoding="utf-8")
            print(f"wrote {path}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
