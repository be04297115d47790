"""One reference page per schema: every field in a table, conditional rules, examples."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from . import links
from .source import (
    Spec,
    code_title,
    meta_files,
    resource_files,
    resource_type_of_file,
    shared_files,
)
from .text import (
    OTHER,
    cell,
    code,
    code_cell,
    esc,
    field_anchor,
    generated_note,
    json_path,
    pick,
    short_json,
    w,
)
from .walk import (
    Field,
    deref_local,
    flatten,
    instances_by_schema,
    is_object_schema,
    schema_at,
    schema_users,
    split_ref,
    values_at,
    walk,
)

FOLDER = "reference/schemas"
#: the pages of the meta-schemas, the formats of the standard's own data files
META_FOLDER = "reference/files"


def path_html(path: tuple[str, ...]) -> str:
    """A field path as code that may wrap after each dot (long paths stay readable)."""
    return "<code>" + esc(json_path(path)).replace(".", ".<wbr>") + "</code>"


def stem(file: str) -> str:
    return file.removesuffix(".json").removeprefix("meta/")


def page_path(file: str) -> str:
    """Source path of a schema's page inside the docs folder (without language suffix)."""
    folder = META_FOLDER if file.startswith("meta/") else FOLDER
    return f"{folder}/{stem(file)}.md"


class SchemaPages:
    """Renders the schema pages of one spec; shared caches live here."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.instances = instances_by_schema(spec)
        self.users = schema_users(spec)

    # -- types -------------------------------------------------------------------------------
    def schema_title(self, file: str, lang: str) -> str:
        return pick(self.spec.schemas[file].get("title"), lang) or stem(file)

    def type_md(self, node: dict[str, Any], file: str, lang: str, here: str) -> str:
        """Markdown for the type of a schema node, with links to the types it names."""
        ref = node.get("$ref")
        if isinstance(ref, str):
            target, fragment = split_ref(ref, file, self.spec)
            if target == file and fragment.startswith("/$defs/"):
                name = fragment.rsplit("/", 1)[-1]
                sub = schema_at(self.spec.schemas[file], fragment)
                if not is_object_schema(sub):
                    # A named local type (a pattern, a code): link to its definition.
                    href = "" if here == page_path(file) else links.rel(here, page_path(file))
                    return f"[{name}]({href}#def-{name})"
        resolved, _ = deref_local(node, file, self.spec)
        if "const" in resolved:
            return "const " + code_cell(json.dumps(resolved["const"], ensure_ascii=False))
        ref = resolved.get("$ref")
        if isinstance(ref, str):
            target, fragment = split_ref(ref, file, self.spec)
            if target in self.spec.schemas and target != file:
                return self.ref_link(target, fragment, lang, here)
        bases = [
            self.type_md(i, file, lang, here)
            for i in resolved.get("allOf", ())
            if isinstance(i, dict) and isinstance(i.get("$ref"), str)
        ]
        if bases and "properties" not in resolved:
            return " + ".join(bases)
        kind = resolved.get("type")
        if kind == "array" or "items" in resolved:
            items = resolved.get("items")
            inner = (
                self.type_md(items, file, lang, here) if isinstance(items, dict) else w(lang, "any")
            )
            return f"{w(lang, 'array')}{w(lang, 'of')}{inner}"
        if "properties" in resolved or kind == "object":
            return w(lang, "object")
        for key in ("anyOf", "oneOf"):
            options = resolved.get(key)
            if isinstance(options, list) and options:
                joiner = " 或 " if lang == "zh" else " or "
                return joiner.join(
                    self.type_md(o, file, lang, here) for o in options if isinstance(o, dict)
                )
        if isinstance(kind, list):
            return " / ".join(str(k) for k in kind)
        if "enum" in resolved and not resolved.get("x-codelist"):
            values = ", ".join(
                code_cell(json.dumps(v, ensure_ascii=False)) for v in resolved["enum"]
            )
            return f"{kind or ''} {w(lang, 'oneof')}: {values}".strip()
        text = str(kind) if kind else w(lang, "any")
        if resolved.get("format"):
            text += f" ({resolved['format']})"
        return text

    def ref_link(self, target: str, fragment: str, lang: str, here: str) -> str:
        """A link to another schema page (or to a definition on it)."""
        href = links.rel(here, page_path(target))
        if fragment.startswith("/properties/"):
            # A property borrowed from another schema: show what that property is.
            return self.type_md(schema_at(self.spec.schemas[target], fragment), target, lang, here)
        if fragment.startswith("/$defs/"):
            name = fragment.rsplit("/", 1)[-1]
            return f"[{name}]({href}#def-{name})"
        return f"[{self.schema_title(target, lang)}]({href})"

    @staticmethod
    def constraints(node: dict[str, Any], lang: str) -> list[str]:
        out: list[str] = []
        pairs = (
            ("minLength", "maxLength", "len"),
            ("minimum", "maximum", ""),
            ("minItems", "maxItems", "items"),
            ("minProperties", "maxProperties", "props"),
        )
        for low_key, high_key, label in pairs:
            low, high = node.get(low_key), node.get(high_key)
            prefix = f"{label} " if label else ""
            if low is not None and high is not None:
                out.append(f"{prefix}{low}–{high}")
            elif low is not None:
                out.append(f"{prefix}≥ {low}")
            elif high is not None:
                out.append(f"{prefix}≤ {high}")
        if node.get("uniqueItems"):
            out.append("unique")
        if "default" in node:
            out.append(f"{w(lang, 'default')} {code_cell(json.dumps(node['default']))}")
        if "pattern" in node:
            out.append(code_cell(node["pattern"]))
        return out

    # -- one field row ---------------------------------------------------------------------
    def example_for(self, file: str, f: Field) -> str:
        for instance in self.instances.get((file, ""), ()):
            for value in values_at(instance, f.path):
                if isinstance(value, dict):
                    return ""
                if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
                    return ""
                return code_cell(short_json(value, 40))
        return ""

    def pipl_md(self, f: Field, lang: str, here: str) -> str:
        parts: list[str] = []
        if f.pipl:
            title = code_title(self.spec, "pipl-class", f.pipl, lang)
            parts.append(f"**[{title}]({links.codelist(here, 'pipl-class', f.pipl)})**")
        elif f.inherited_pipl:
            title = code_title(self.spec, "pipl-class", f.inherited_pipl, lang)
            parts.append(
                f'<span class="sc-muted">↑ {esc(title)}（{w(lang, "inherited")}）</span>'
                if lang == "zh"
                else f'<span class="sc-muted">↑ {esc(title)} ({w(lang, "inherited")})</span>'
            )
        if f.mask:
            title = code_title(self.spec, "mask-method", f.mask, lang)
            parts.append(
                f"{w(lang, 'mask')}: [{title}]({links.codelist(here, 'mask-method', f.mask)})"
            )
        return "<br>".join(parts)

    def codelist_md(self, f: Field, lang: str, here: str) -> str:
        name = f.codelist
        if not name:
            return ""
        openness = f.open_codelist
        label = (
            ""
            if openness is None
            else (w(lang, "open_list") if openness else w(lang, "closed_list"))
        )
        link = f"[{name}]({links.codelist(here, name)})"
        return f'{link} <span class="sc-muted">({label})</span>' if label else link

    def description_md(self, f: Field, lang: str) -> str:
        own = pick(f.description, lang)
        alt_title, alt_desc = pick(f.title, OTHER[lang]), pick(f.description, OTHER[lang])
        text = esc(own)
        if f.node.get("deprecated"):
            text = f"**{w(lang, 'deprecated_field')}** " + text
        alt = esc(f"{alt_title} — {alt_desc}" if alt_title else alt_desc)
        return cell(f'{text}<br><span class="sc-alt" lang="{OTHER[lang]}">{alt}</span>')

    def row(
        self,
        file: str,
        f: Field,
        lang: str,
        here: str,
        expanded: dict[str, list[Field]],
        anchor_prefix: str = "",
    ) -> str:
        anchors = f'<span id="{anchor_prefix}{field_anchor(f.path)}"></span>'
        for name in (f.def_name, f.item_def_name):
            if name:
                expanded.setdefault(name, []).append(f)
        title = esc(pick(f.title, lang))
        field_md = f"{anchors}{path_html(f.path)}<br>{title}"
        kind = self.type_md(f.node, file, lang, here)
        resolved, _ = deref_local(f.node, file, self.spec)
        extra = self.constraints(
            {**resolved, **{k: v for k, v in f.node.items() if k != "$ref"}}, lang
        )
        if extra:
            kind += '<br><span class="sc-muted">' + " · ".join(extra) + "</span>"
        if f.linked_required:
            names = ", ".join(code_cell(n) for n in f.linked_required)
            colon = "：" if lang == "zh" else ": "
            kind += f'<br><span class="sc-requires">{w(lang, "requires")}{colon}{names}</span>'
        codelist = self.codelist_md(f, lang, here)
        if codelist:
            kind += f"<br>{w(lang, 'codelist')}: {codelist}"
        req = {"yes": "✓", "conditional": w(lang, "conditional"), "": ""}[f.required]
        cells = [
            field_md,
            kind,
            req,
            self.description_md(f, lang),
            self.pipl_md(f, lang, here),
            self.example_for(file, f),
        ]
        return "| " + " | ".join(c.replace("\n", " ") for c in cells) + " |"

    def table(
        self,
        file: str,
        fields: list[Field],
        lang: str,
        here: str,
        expanded: dict[str, list[Field]],
        anchor_prefix: str = "",
    ) -> list[str]:
        """The fields table; ``anchor_prefix`` keeps row anchors unique when a page holds
        several tables of the same paths (the details of each lifecycle action)."""
        heads = [
            w(lang, k) for k in ("field", "type", "required", "description", "pipl", "example")
        ]
        lines = [
            '<div class="sc-fields" markdown>',
            "",
            "| " + " | ".join(heads) + " |",
            "|" + "---|" * len(heads),
        ]
        lines += [self.row(file, f, lang, here, expanded, anchor_prefix) for f in flatten(fields)]
        return [*lines, "", "</div>"]

    # -- conditional rules -----------------------------------------------------------------
    def rules(self, file: str, lang: str) -> list[str]:
        """Plain-language lines for the if/then/else, oneOf and anyOf rules of a schema."""
        from .rules import describe_object_rules

        out: list[str] = []
        schema = self.spec.schemas[file]
        seen: set[int] = set()

        def visit(node: dict[str, Any], path: tuple[str, ...], pointer: str) -> None:
            if id(node) in seen:
                return
            seen.add(id(node))
            root = "（根）" if lang == "zh" else "(root)"
            for line in describe_object_rules(node, lang, pointer=pointer):
                where = code(json_path(path)) if path else code(root)
                out.append(f"- {where}: {line}")
            for name, prop in node.get("properties", {}).items():
                if not isinstance(prop, dict):
                    continue
                resolved, def_name = deref_local(prop, file, self.spec)
                here_ptr = f"/$defs/{def_name}" if def_name else f"{pointer}/properties/{name}"
                sub, sub_ptr = resolved, here_ptr
                step: tuple[str, ...] = (name,)
                if isinstance(resolved.get("items"), dict):
                    for line in describe_object_rules(resolved, lang, array=True, pointer=here_ptr):
                        out.append(f"- {code(json_path((*path, name)))}: {line}")
                    sub, item_def = deref_local(resolved["items"], file, self.spec)
                    sub_ptr = f"/$defs/{item_def}" if item_def else f"{here_ptr}/items"
                    step = (name, "[]")
                if is_object_schema(sub) and not isinstance(sub.get("$ref"), str):
                    visit(sub, path + step, sub_ptr)

        visit(schema, (), "")
        return out

    # -- the page ------------------------------------------------------------------------------
    def render(self, file: str, lang: str) -> str:
        spec = self.spec
        schema = spec.schemas[file]
        here = page_path(file)
        title = self.schema_title(file, lang)
        other_title = pick(schema.get("title"), OTHER[lang])
        resource_type = resource_type_of_file(spec, file)
        is_resource = resource_type is not None
        lines = [f"# {title}", ""]
        lines.append(generated_note(lang, f"spec/{spec.version}/schemas/{file}"))
        lines.append(esc(pick(schema.get("description"), lang)))
        lines.append("")
        lines.append(
            f'<p class="sc-alt" lang="{OTHER[lang]}"><strong>{esc(other_title)}</strong> — '
            f"{esc(pick(schema.get('description'), OTHER[lang]))}</p>"
        )
        lines.append("")
        kind = (
            w(lang, "resource")
            if is_resource
            else w(lang, "data_format")
            if file.startswith("meta/")
            else w(lang, "shared")
        )
        facts = [
            f"- **{kind}**" + (f" · `resourceType` = `{resource_type}`" if resource_type else ""),
            f"- `$id`: {code(schema.get('$id', ''))}",
        ]
        users = sorted(self.users.get(file, ()))
        if users:
            joined = ", ".join(
                f"[{self.schema_title(u, lang)}]({links.rel(here, page_path(u))})" for u in users
            )
            facts.append(f"- {w(lang, 'used_by')}: {joined}")
        if resource_type and resource_type in spec.lifecycles:
            facts.append(
                f"- {links.lifecycle_label(lang)}: "
                f"[{resource_type}]({links.rel(here, links.lifecycle_page(resource_type))})"
            )
        if resource_type:
            classes = sorted(
                {
                    r.conformance_class
                    for r in spec.requirements.values()
                    if resource_type in r.applies_to
                }
            )
            if classes:
                joined = ", ".join(f"[{c}]({links.requirements(here, c)})" for c in classes)
                facts.append(f"- {w(lang, 'cited_by')}: {joined}")
        lines += [*facts, ""]

        if file == "datatypes.json":
            lines += self.datatypes_section(lang, here)
        fields = walk(spec, file)
        expanded: dict[str, list[Field]] = {}
        if fields:
            lines += [f"## {w(lang, 'fields')} {{#fields}}", ""]
            lines += self.table(file, fields, lang, here, expanded)
            lines.append("")
        if file != "datatypes.json":
            lines += self.definitions(file, lang, here, expanded)
        if (
            "additionalProperties" in schema
            and isinstance(schema["additionalProperties"], dict)
            and not schema.get("properties")
        ):
            # A map such as extensions: keys and values described by the schema itself.
            value = schema["additionalProperties"]
            lines += [
                f"- {'键' if lang == 'zh' else 'Keys'}: "
                f"{self.type_md(schema.get('propertyNames', {}), file, lang, here)}",
                f"- {'值' if lang == 'zh' else 'Values'}: "
                f"{esc(pick(value.get('description'), lang))}",
                "",
            ]
        rules = self.rules(file, lang)
        if rules:
            lines += [f"## {w(lang, 'rules')} {{#rules}}", "", *rules, ""]
        lines += self.examples_section(resource_type, lang)
        lines += [
            f"## {w(lang, 'source')} {{#source}}",
            "",
            f'??? note "{file}"',
            "",
            "    ```json",
        ]
        lines += [
            "    " + ln for ln in json.dumps(schema, ensure_ascii=False, indent=2).splitlines()
        ]
        lines += ["    ```", ""]
        return "\n".join(lines)

    def definitions(
        self, file: str, lang: str, here: str, expanded: dict[str, list[Field]]
    ) -> list[str]:
        """Every definition of the schema: what it is, and where the fields table expands it.

        A definition no field expands, or one that adds local members to another schema
        (such as a reference restricted to residents), gets a table of its own members.
        """
        schema = self.spec.schemas[file]
        defs = {n: d for n, d in schema.get("$defs", {}).items() if isinstance(d, dict)}
        if not defs:
            return []
        lines = [f"## {w(lang, 'types')} {{#defs}}", ""]
        for name, node in defs.items():
            lines += [
                f"### {name} {{#def-{name}}}",
                "",
                f"**{esc(pick(node.get('title'), lang))}** — "
                f"{esc(pick(node.get('description'), lang))}",
                "",
                f'<p class="sc-alt" lang="{OTHER[lang]}">'
                f"{esc(pick(node.get('title'), OTHER[lang]))} — "
                f"{esc(pick(node.get('description'), OTHER[lang]))}</p>",
                "",
                f"- {w(lang, 'type')}: {self.type_md(node, file, lang, here)}",
            ]
            extra = self.constraints(node, lang)
            if extra:
                lines.append(f"- {w(lang, 'constraints')}: " + " · ".join(extra))
            users = expanded.get(name, [])
            if users:
                shown = ", ".join(
                    f"[{code_cell(json_path(f.path))}](#{field_anchor(f.path)})" for f in users[:6]
                )
                more = f" … (+{len(users) - 6})" if len(users) > 6 else ""
                lines.append(f"- {'用于' if lang == 'zh' else 'Used at'}: {shown}{more}")
            lines.append("")
            local_over_ref = "properties" in node and isinstance(node.get("$ref"), str)
            if "properties" in node and (not users or local_over_ref):
                sub = walk(self.spec, file, node, path=(f"$defs/{name}",))
                if sub:
                    lines += [*self.table(file, sub, lang, here, {}), ""]
        return lines

    def datatypes_section(self, lang: str, here: str) -> list[str]:
        """The primitive types: one section each, with pattern, format and an example."""
        file = "datatypes.json"
        lines = [f"## {w(lang, 'types')} {{#defs}}", ""]
        for name, node in self.spec.schemas[file].get("$defs", {}).items():
            lines += [
                f"### {name} · {esc(pick(node.get('title'), lang))} {{#def-{name}}}",
                "",
                esc(pick(node.get("description"), lang)),
                "",
                f'<p class="sc-alt" lang="{OTHER[lang]}">'
                f"{esc(pick(node.get('title'), OTHER[lang]))} — "
                f"{esc(pick(node.get('description'), OTHER[lang]))}</p>",
                "",
            ]
            facts = [f"- {w(lang, 'type')}: {self.type_md(node, file, lang, here)}"]
            if node.get("format"):
                facts.append(f"- format: `{node['format']}`")
            hint = node.get("x-expected")
            if isinstance(hint, dict):  # the words validators show instead of the pattern
                said = hint.get("zh-Hans" if lang == "zh" else "en", "")
                facts.append(f"- {w(lang, 'written')}: {esc(str(said))}")
            for key in ("pattern",):
                if key in node:
                    facts.append(f"- {key}: {code(node[key])}")
            extra = [
                c for c in self.constraints({k: v for k, v in node.items() if k != "pattern"}, lang)
            ]
            if extra:
                facts.append(f"- {w(lang, 'constraints')}: " + " · ".join(extra))
            instances = self.instances.get((file, f"/$defs/{name}"), ())
            sample = next((v for v in instances if not isinstance(v, (dict, list))), None)
            if sample is not None:
                facts.append(f"- {w(lang, 'example')}: {code(short_json(sample, 80))}")
            lines += [*facts, ""]
            sub = walk(self.spec, file, node) if "properties" in node else []
            if sub:
                lines += [*self.table(file, sub, lang, here, {}), ""]
        return lines

    def examples_section(self, resource_type: str | None, lang: str) -> list[str]:
        if not resource_type:
            return []
        docs = [
            (rel, doc)
            for rel, doc in self.spec.examples()
            if doc.get("resourceType") == resource_type
        ]
        if not docs:
            return []
        lines = [f"## {w(lang, 'examples')} {{#examples}}", ""]
        for rel, doc in docs:
            lines += [f'??? example "{rel}"', "", "    ```json"]
            lines += [
                "    " + ln for ln in json.dumps(doc, ensure_ascii=False, indent=2).splitlines()
            ]
            lines += ["    ```", ""]
        return lines

    def index(self, lang: str) -> str:
        here = f"{FOLDER}/index.md"
        spec = self.spec
        if lang == "zh":
            lines = [
                "# 资源与类型",
                "",
                generated_note(lang, code(f"spec/{spec.version}/schemas/")),
                f"标准 {spec.version} 的 JSON Schema（2020-12），即 "
                f"{code(f'spec/{spec.version}/schemas/')} 中的文件。"
                "每页列出文档中每个字段的路径、类型、"
                "是否必填、中英文说明、《个人信息保护法》分类、脱敏方法、代码表（开放或封闭）和取自"
                "规范示例的示例值。",
                "",
                "## 资源 {#resources}",
                "",
            ]
        else:
            lines = [
                "# Schemas",
                "",
                generated_note(lang, code(f"spec/{spec.version}/schemas/")),
                f"The JSON Schemas (2020-12) of version {spec.version}, the files in "
                f"{code(f'spec/{spec.version}/schemas/')}. Each page lists every "
                "field of a document with its path, type, whether it is required, its Chinese "
                "and English description, its PIPL class, its masking method, its codelist "
                "(open or closed) and an example value taken from the specification's "
                "examples.",
                "",
                "## Resources {#resources}",
                "",
            ]
        for files, heading in (
            (resource_files(spec), None),
            (shared_files(spec), "共享类型" if lang == "zh" else "Shared types"),
        ):
            if heading:
                lines += [f"## {heading} {{#shared}}", ""]
            lines += self._file_table(files, here, lang, "")
        return "\n".join(lines)

    def _file_table(self, files: Iterable[str], here: str, lang: str, prefix: str) -> list[str]:
        """A table of schema files, each linked to its page with its description and how many
        members it has; ``prefix`` is the folder shown before the file name."""
        spec = self.spec
        lines = [
            f"| {w(lang, 'schema_file')} | {w(lang, 'description')} | {w(lang, 'fields')} |",
            "|---|---|---|",
        ]
        for file in files:
            count = sum(1 for _ in flatten(walk(spec, file)))
            desc = pick(spec.schemas[file].get("description"), lang)
            lines.append(
                f"| [{self.schema_title(file, lang)}]({links.rel(here, page_path(file))})"
                f"<br>`{prefix}{file}` | {cell(esc(desc))} | {count} |"
            )
        return [*lines, ""]

    def files_index(self, lang: str) -> str:
        """The meta-schemas: what each data file of the standard may hold."""
        here = f"{META_FOLDER}/index.md"
        spec = self.spec
        lines = [
            f"# {w(lang, 'data_files')}",
            "",
            generated_note(lang, f"spec/{spec.version}/schemas/meta/"),
            (
                "标准自身的数据文件（生命周期、需求登记、考核指标、城市配置、令牌）也是 JSON，"
                "各有一个 JSON Schema（2020-12）。用其他语言读取这些文件的实现者，"
                "可在这里查到每个成员的类型、是否必填和含义。"
                if lang == "zh"
                else "The standard's own data files (lifecycles, the requirement registry, "
                "indicators, city profiles, tokens) are JSON too, each with a JSON Schema "
                "(2020-12). An implementer reading them in another language finds here every "
                "member's type, whether it is required, and what it means."
            ),
            "",
            *self._file_table(meta_files(spec), here, lang, "schemas/"),
        ]
        return "\n".join(lines)
