"""The requirements page: every requirement by conformance class, each with a stable anchor."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from smartcommunity.specification import BASE_URI

from . import links
from .schema_pages import page_path
from .source import Requirement, Spec, classes, code_label, levels, requirements_of, texts
from .text import (
    cell,
    code,
    code_cell,
    either,
    esc,
    localized,
    page_start,
    requirement_anchor,
    table_head,
    w,
)


def check_anchors(spec: Spec) -> None:
    """Fail the build if two ids would share an anchor (the rule is not injective)."""
    seen: dict[str, str] = {}
    ids = [c.id for c in classes(spec)] + list(spec.requirements)
    for ident in ids:
        anchor = requirement_anchor(ident)
        if anchor in seen:
            raise ValueError(
                f"requirement ids {seen[anchor]} and {ident} share the anchor #{anchor}"
            )
        seen[anchor] = ident


def class_text_page(spec: Spec, class_id: str) -> str | None:
    name = class_id.rsplit("/", 1)[-1]
    return links.standard_page(name) if name in texts(spec) else None


def render_requirements(spec: Spec, lang: str) -> str:
    check_anchors(spec)
    here = links.REQUIREMENTS
    zh = lang == "zh"
    error_codes = set(spec.codelist("error-code"))
    ranks = levels(spec)
    prefix = f"{BASE_URI}{spec.version}"
    lines = page_start(
        lang,
        ("需求", "Requirements"),
        code(f"spec/{spec.version}/requirements/*.json"),
        (
            "每条需求有稳定的标识（OGC 风格，如 `/req/issues/if-match`），级别为 MUST（必须）或 "
            "SHOULD（应当），并说明由谁执行：`schema`（JSON Schema）、"
            "`library`（库规则，报告所列错误代码）"
            "或 `server`（服务器行为，由一致性测试套件检查）。需求按一致性类分组；完整 URI 为前缀 "
            f"`{prefix}` 加标识。需求陈述中的数值和代码另以参数表给出。加粗的简短名称是"
            "一致性测试报告为该需求的检查所用的标题。登记文件的格式见"
            f"[需求登记文件]({links.rel(here, page_path('meta/requirements.json'))})。",
            "Every requirement has a stable id (OGC style, such as `/req/issues/if-match`), a "
            "level — MUST or SHOULD — and says who enforces it: `schema` (the JSON Schema), "
            "`library` (a library rule, which reports the listed error codes) or `server` "
            "(server behaviour, checked by the conformance kit). Requirements are grouped by "
            f"conformance class; the full URI is the prefix `{prefix}` followed by the id. "
            "The figures and codes a statement names are also given as a table of parameters. "
            "The short name in bold is the title the conformance report gives the "
            "requirement's checks. The format of the registry files is on the "
            f"[requirement registry file]({links.rel(here, page_path('meta/requirements.json'))}) "
            "page.",
        ),
    )
    lines += [
        *either(
            lang,
            '!!! tip "锚点规则"\n'
            "    每条需求和每个一致性类在本页都有锚点：去掉标识开头的 `/`，其余的 `/` 换成 `-`。"
            "例如 `/req/issues/if-match` 的锚点是 `#req-issues-if-match`，`/conf/issues` 的锚点是 "
            "`#conf-issues`。一致性测试报告等工具据此链接到 `requirements/#req-issues-if-match`。",
            '!!! tip "Anchor rule"\n'
            "    Every requirement and every conformance class has an anchor on this page: drop "
            "the id's leading `/` and turn every other `/` into `-`. For example "
            "`/req/issues/if-match` has the anchor `#req-issues-if-match` and `/conf/issues` "
            "has `#conf-issues`. Tools such as the conformance report link to "
            "`requirements/#req-issues-if-match` this way.",
        ).split("\n"),
        "",
    ]
    lines += [
        "## 一致性类 {#classes}" if zh else "## Conformance classes {#classes}",
        "",
        *table_head(
            w(lang, "class"), either(lang, "必选", "Mandatory"), w(lang, "depends"), *ranks
        ),
    ]
    for c in classes(spec):
        reqs = requirements_of(spec, c)
        counts = [str(sum(1 for r in reqs if r.level == level)) for level in ranks]
        lines.append(
            f"| [{esc(localized(c.title, lang))}](#{requirement_anchor(c.id)})"
            f"<br>`{c.id}` | {w(lang, 'yes') if c.mandatory else '—'} | "
            f"{', '.join(code(d) for d in c.depends_on) or '—'} | " + " | ".join(counts) + " |"
        )
    lines.append("")
    for c in classes(spec):
        lines += [
            f"## {esc(localized(c.title, lang))} · `{c.id}` {{#{requirement_anchor(c.id)}}}",
            "",
            esc(localized(c.description, lang)),
            "",
        ]
        depends = ", ".join(f"[`{d}`](#{requirement_anchor(d)})" for d in c.depends_on)
        facts = [
            f"- URI: `{c.uri}`",
            f"- {w(lang, 'mandatory') if c.mandatory else w(lang, 'optional')}"
            + (f"; {w(lang, 'depends')}: {depends}" if depends else ""),
        ]
        text_page = class_text_page(spec, c.id)
        if text_page:
            label = "标准正文" if zh else "Normative text"
            facts.append(f"- {label}: [{c.id}]({links.rel(here, text_page)})")
        lines += [*facts, ""]
        lines += table_head(
            either(lang, "标识", "Id"),
            w(lang, "level"),
            w(lang, "enforcement"),
            w(lang, "statement"),
        )
        parameters: list[str] = []
        for r in requirements_of(spec, c):
            anchor = requirement_anchor(r.id)
            wrapped = esc(r.id).replace("/", "/<wbr>")[len("/<wbr>") :]
            ident = f'<span id="{anchor}"></span><code>/{wrapped}</code> [¶](#{anchor})'
            if r.applies_to:
                ident += '<br><span class="sc-muted">' + ", ".join(r.applies_to) + "</span>"
            enforcement = ", ".join(code_label(spec, "enforcement", e, lang) for e in r.enforcement)
            codes = [
                f"[`{c_}`]({links.error(here, c_)})" if c_ in error_codes else f"`{c_}`"
                for c_ in r.codes
            ]
            if codes:
                enforcement += "<br>" + "<br>".join(codes)
            statement = esc(localized(r.statement, lang)) + _see_md(spec, r, lang, here)
            if r.title:
                # the short name the conformance report gives the requirement's checks
                statement = f"**{esc(localized(r.title, lang))}**<br>{statement}"
            if r.parameters:
                statement += f" → [{w(lang, 'parameters')}](#{parameters_anchor(r.id)})"
                parameters += parameters_md(r, lang)
            level = f"**{r.level}**" if r.level == ranks[0] else r.level
            lines.append(f"| {ident} | {level} | {enforcement} | {cell(statement)} |")
        lines += ["", *parameters]
    return "\n".join(lines)


def parameters_anchor(req_id: str) -> str:
    return f"{requirement_anchor(req_id)}--parameters"


def parameters_md(requirement: Requirement, lang: str) -> list[str]:
    """The figures and codes a requirement states, as a table of ``name | value`` rows.

    Nested parameters (a figure per code) are one row each, named by their dotted path.
    """
    lines = [
        f'<span id="{parameters_anchor(requirement.id)}"></span>'
        f"**{w(lang, 'parameters')}** · `{requirement.id}`",
        "",
        *table_head(either(lang, "参数", "Parameter"), either(lang, "取值", "Value")),
    ]
    for name, value in _leaves(requirement.parameters, ()):
        shown = (
            ", ".join(code_cell(v) for v in value) if isinstance(value, list) else code_cell(value)
        )
        lines.append(f"| {code_cell('.'.join(name))} | {shown} |")
    return [*lines, ""]


def _leaves(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, Mapping):
        for key, sub in value.items():
            yield from _leaves(sub, (*path, str(key)))
    else:
        yield path, value


def _see_md(spec: Spec, requirement: Requirement, lang: str, here: str) -> str:
    """The registry's ``see`` references: a lifecycle table links to its page."""
    out = ""
    lifecycles = {links.lifecycle_page(rt): rt for rt in spec.lifecycles}
    for see in getattr(requirement, "see", ()):
        page = f"{links.LIFECYCLES}/{see.rsplit('/', 1)[-1].removesuffix('.json')}.md"
        rt = lifecycles.get(page) if see.startswith("lifecycles/") else None
        if rt is None:
            out += f" ({code(see)})"
            continue
        out += f" （{see}）" if lang == "zh" else f" ({see})"
        out += f" → [{rt}]({links.rel(here, page)})"
    return out
