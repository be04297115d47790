"""The HTTP API page, rendered from ``openapi.yaml`` as plain Markdown (no Swagger UI)."""

from __future__ import annotations

import json
from typing import Any

from smartcommunity.pointers import resolve_pointer

from . import links
from .schema_pages import page_path
from .source import Spec
from .text import OTHER, cell, code, code_cell, esc, generated_note, pick, w

#: the HTTP methods an OpenAPI path item may hold operations under, in the page's order
METHODS = ("get", "put", "post", "patch", "delete")


class ApiPage:
    def __init__(self, spec: Spec, lang: str) -> None:
        self.spec = spec
        self.api = spec.openapi
        self.lang = lang
        self.here = links.HTTP_API

    # -- references -------------------------------------------------------------------------
    def resolve(self, node: Any) -> Any:
        """Follow ``#/components/...`` references inside the OpenAPI document."""
        seen = 0
        while (
            isinstance(node, dict)
            and isinstance(node.get("$ref"), str)
            and node["$ref"].startswith("#/")
            and seen < 20
        ):
            node, seen = resolve_pointer(self.api, node["$ref"][1:]), seen + 1
        return node

    def schema_md(self, schema: Any) -> str:
        """A schema object as Markdown: links for references, a short type for the rest."""
        if not isinstance(schema, dict):
            return ""
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[-1]
                target = self.api["components"]["schemas"].get(name, {})
                if set(target) == {"$ref"}:
                    return self.schema_md(target)
                return f"[{name}](#schema-{name.lower()})"
            file, _, fragment = ref.partition("#")
            file = file.rsplit("/", 1)[-1]
            if file in self.spec.schemas:
                href = links.rel(self.here, page_path(file))
                if fragment.startswith("/$defs/"):
                    name = fragment.rsplit("/", 1)[-1]
                    return f"[{name}]({href}#def-{name})"
                title = pick(self.spec.schemas[file].get("title"), self.lang) or file
                return f"[{title}]({href})"
            return code(ref)
        kind = schema.get("type")
        if kind == "array":
            inner = self.schema_md(schema.get("items"))
            return f"{w(self.lang, 'array')}{w(self.lang, 'of')}{inner}"
        text = " / ".join(kind) if isinstance(kind, list) else str(kind or w(self.lang, "any"))
        extras = []
        if "enum" in schema:
            extras.append(
                ", ".join(code_cell(json.dumps(v, ensure_ascii=False)) for v in schema["enum"])
            )
        for key, label in (
            ("minimum", "≥"),
            ("maximum", "≤"),
            ("minLength", "len ≥"),
            ("maxLength", "len ≤"),
        ):
            if key in schema:
                extras.append(f"{label} {schema[key]}")
        if "default" in schema:
            extras.append(f"{w(self.lang, 'default')} {code_cell(json.dumps(schema['default']))}")
        if "pattern" in schema:
            extras.append(code_cell(schema["pattern"]))
        if extras:
            text += '<br><span class="sc-muted">' + " · ".join(extras) + "</span>"
        return text

    def bilingual(self, text: str | None) -> str:
        """Page-language text with the other language below it, for table cells."""
        own, alt = pick(text, self.lang), pick(text, OTHER[self.lang])
        if not own:
            return ""
        if own == alt:
            return esc(own)
        return f'{esc(own)}<br><span class="sc-alt" lang="{OTHER[self.lang]}">{esc(alt)}</span>'

    # -- the page --------------------------------------------------------------------------------
    def operations(self) -> list[tuple[str, str, dict[str, Any], list[Any]]]:
        ops = []
        for path, item in self.api.get("paths", {}).items():
            shared = item.get("parameters", [])
            for method in METHODS:
                if method in item:
                    ops.append((path, method, item[method], shared))
        return ops

    def render(self) -> str:
        lang, zh = self.lang, self.lang == "zh"
        info = self.api.get("info", {})
        lines = [
            "# HTTP API",
            "",
            generated_note(lang, code(f"spec/{self.spec.version}/openapi.yaml")),
            f"**{esc(pick(info.get('title'), lang))}** · {info.get('version', '')} · "
            f"OpenAPI {self.api.get('openapi', '')}",
            "",
            esc(pick(info.get("summary"), lang)) + " " + esc(pick(info.get("description"), lang)),
            "",
        ]
        facts = []
        for server in self.api.get("servers", []):
            facts.append(
                f"- {'服务器' if zh else 'Server'}: `{server.get('url')}` — "
                f"{esc(pick(server.get('description'), lang))}"
            )
        for name, scheme in self.api.get("components", {}).get("securitySchemes", {}).items():
            facts.append(
                f"- {'认证' if zh else 'Authentication'}: `{name}` "
                f"({scheme.get('type')} {scheme.get('scheme', '')}) — "
                f"{esc(pick(scheme.get('description'), lang))}"
            )
        if info.get("license"):
            facts.append(f"- {'许可' if zh else 'Licence'}: {info['license'].get('name')}")
        lines += [*facts, ""]

        ops = self.operations()
        lines += [
            "## 接口一览 {#overview}" if zh else "## Overview {#overview}",
            "",
            f"| {'方法' if zh else 'Method'} | {w(lang, 'path')} | {w(lang, 'description')} |",
            "|---|---|---|",
        ]
        for path, method, op, _ in ops:
            lines.append(
                f"| `{method.upper()}` | "
                f"[{code_cell(path)}](#op-{op.get('operationId', '').lower()}) "
                f"| {esc(pick(op.get('summary'), lang))} |"
            )
        lines.append("")
        tags = self.api.get("tags", [])
        tag_names = [t["name"] for t in tags]
        by_tag: dict[str, list[tuple[str, str, dict[str, Any], list[Any]]]] = {}
        for entry in ops:
            tag = (entry[2].get("tags") or ["untagged"])[0]
            by_tag.setdefault(tag, []).append(entry)
        for tag in tag_names + [t for t in by_tag if t not in tag_names]:
            if tag not in by_tag:
                continue
            desc = next((t.get("description") for t in tags if t["name"] == tag), tag)
            lines += [f"## {esc(pick(desc, lang))} {{#tag-{tag}}}", ""]
            for path, method, op, shared in by_tag[tag]:
                lines += self.operation(path, method, op, shared)
        lines += self.components()
        return "\n".join(lines)

    def operation(self, path: str, method: str, op: dict[str, Any], shared: list[Any]) -> list[str]:
        lang, zh = self.lang, self.lang == "zh"
        op_id = op.get("operationId", f"{method}-{path}")
        lines = [f"### `{method.upper()} {path}` {{#op-{op_id.lower()}}}", ""]
        summary_own, summary_alt = (
            pick(op.get("summary"), lang),
            pick(op.get("summary"), OTHER[lang]),
        )
        lines += [
            f"**{esc(summary_own)}**"
            + (
                f' · <span class="sc-alt">{esc(summary_alt)}</span>'
                if summary_alt != summary_own
                else ""
            ),
            "",
        ]
        if op.get("description"):
            lines += [esc(pick(op["description"], lang)), ""]
        security = op.get("security", self.api.get("security"))
        lines += [
            f"- operationId: `{op_id}`",
            f"- {w(lang, 'no_auth') if security == [] else w(lang, 'auth')}",
        ]
        if op.get("x-wire"):
            # an operation on a foreign wire, which the core HTTP conventions do not govern
            lines.append(f"- x-wire: `{op['x-wire']}` — " + (
                "遵循该线路格式，而非核心 HTTP 约定" if zh
                else "follows that wire, not the core HTTP conventions"))
        lines.append("")
        params = [self.resolve(p) for p in [*shared, *op.get("parameters", [])]]
        if params:
            lines += [
                f"**{w(lang, 'parameters')}**",
                "",
                f"| {w(lang, 'param_name')} | {w(lang, 'in')} | {w(lang, 'required')} | "
                f"{w(lang, 'type')} | {w(lang, 'description')} |",
                "|---|---|---|---|---|",
            ]
            for p in params:
                lines.append(
                    f"| `{p.get('name')}` | {p.get('in')} | "
                    f"{'✓' if p.get('required') else ''} | {self.schema_md(p.get('schema'))} | "
                    f"{cell(self.bilingual(p.get('description')))} |"
                )
            lines.append("")
        body = self.resolve(op.get("requestBody"))
        if isinstance(body, dict):
            lines += [
                f"**{w(lang, 'request_body')}**"
                + (
                    "（必填）"
                    if zh and body.get("required")
                    else " (required)"
                    if body.get("required")
                    else ""
                ),
                "",
            ]
            for media, content in body.get("content", {}).items():
                lines.append(f"- `{media}`: {self.schema_md(content.get('schema'))}")
            lines.append("")
        responses = op.get("responses", {})
        if responses:
            lines += [
                f"**{w(lang, 'responses')}**",
                "",
                f"| {w(lang, 'status')} | {w(lang, 'description')} | {w(lang, 'media')} | "
                f"{w(lang, 'headers')} |",
                "|---|---|---|---|",
            ]
            for status, response in responses.items():
                response = self.resolve(response)
                media = "<br>".join(
                    f"`{m}`: {self.schema_md(c.get('schema'))}"
                    for m, c in (response.get("content") or {}).items()
                )
                headers = ", ".join(f"`{h}`" for h in (response.get("headers") or {}))
                lines.append(
                    f"| `{status}` | {cell(self.bilingual(response.get('description')))} | "
                    f"{media} | {headers} |"
                )
            lines.append("")
        return lines

    def components(self) -> list[str]:
        lang, zh = self.lang, self.lang == "zh"
        comps = self.api.get("components", {})
        lines = ["## 组件 {#components}" if zh else "## Components {#components}", ""]
        headers = comps.get("headers", {})
        if headers:
            lines += [
                "### 响应头 {#headers}" if zh else "### Headers {#headers}",
                "",
                f"| {w(lang, 'param_name')} | {w(lang, 'type')} | {w(lang, 'description')} |",
                "|---|---|---|",
            ]
            for name, header in headers.items():
                lines.append(
                    f"| `{name}` | {self.schema_md(header.get('schema'))} | "
                    f"{cell(self.bilingual(header.get('description')))} |"
                )
            lines.append("")
        for name, schema in comps.get("schemas", {}).items():
            if set(schema) == {"$ref"}:
                lines += [
                    f"### {name} {{#schema-{name.lower()}}}",
                    "",
                    f"{'即' if zh else 'Same as'} {self.schema_md(schema)}",
                    "",
                ]
                continue
            lines += [f"### {name} {{#schema-{name.lower()}}}", ""]
            required = set(schema.get("required", ()))
            props = schema.get("properties", {})
            if props:
                lines += [
                    f"| {w(lang, 'field')} | {w(lang, 'type')} | {w(lang, 'required')} | "
                    f"{w(lang, 'description')} |",
                    "|---|---|---|---|",
                ]
                for prop, sub in props.items():
                    lines.append(
                        f"| `{prop}` | {self.schema_md(sub)} | "
                        f"{'✓' if prop in required else ''} | "
                        f"{cell(self.bilingual(sub.get('description')))} |"
                    )
                lines.append("")
        return lines


def render_api(spec: Spec, lang: str) -> str:
    return ApiPage(spec, lang).render()
