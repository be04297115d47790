"""The requirements page: every requirement by conformance class, each with a stable anchor."""

from __future__ import annotations

from . import links
from .source import Spec
from .text import cell, code, esc, generated_note, localized, requirement_anchor, w

BASE_URI = "https://w3id.org/smartcommunity/spec/"


def check_anchors(spec: Spec) -> None:
    """Fail the build if two ids would share an anchor (the rule is not injective)."""
    seen: dict[str, str] = {}
    ids = [f["class"]["id"] for f in spec.requirement_files] + list(spec.requirements)
    for ident in ids:
        anchor = requirement_anchor(ident)
        if anchor in seen:
            raise ValueError(
                f"requirement ids {seen[anchor]} and {ident} share the anchor #{anchor}"
            )
        seen[anchor] = ident


def class_text_page(spec: Spec, class_id: str) -> str | None:
    name = class_id.rsplit("/", 1)[-1]
    return links.standard_page(name) if name in spec.texts else None


def render_requirements(spec: Spec, lang: str) -> str:
    check_anchors(spec)
    here = links.REQUIREMENTS
    zh = lang == "zh"
    error_codes = {row["code"] for row in spec.codelists.get("error-code", [])}
    prefix = f"{BASE_URI}{spec.version}"
    lines = [
        "# 需求" if zh else "# Requirements",
        "",
        generated_note(lang, code(f"spec/{spec.version}/requirements/*.json")),
    ]
    if zh:
        lines += [
            "每条需求有稳定的标识（OGC 风格，如 `/req/issues/if-match`），级别为 MUST（必须）或 "
            "SHOULD（应当），并说明由谁执行：`schema`（JSON Schema）、"
            "`library`（库规则，报告所列错误代码）"
            "或 `server`（服务器行为，由一致性测试套件检查）。需求按一致性类分组；完整 URI 为前缀 "
            f"`{prefix}` 加标识。",
            "",
            '!!! tip "锚点规则"',
            "    每条需求和每个一致性类在本页都有锚点：去掉标识开头的 `/`，其余的 `/` 换成 `-`。"
            "例如 `/req/issues/if-match` 的锚点是 `#req-issues-if-match`，`/conf/issues` 的锚点是 "
            "`#conf-issues`。一致性测试报告等工具据此链接到 `requirements/#req-issues-if-match`。",
            "",
        ]
    else:
        lines += [
            "Every requirement has a stable id (OGC style, such as `/req/issues/if-match`), a "
            "level — MUST or SHOULD — and says who enforces it: `schema` (the JSON Schema), "
            "`library` (a library rule, which reports the listed error codes) or `server` "
            "(server behaviour, checked by the conformance kit). Requirements are grouped by "
            f"conformance class; the full URI is the prefix `{prefix}` followed by the id.",
            "",
            '!!! tip "Anchor rule"',
            "    Every requirement and every conformance class has an anchor on this page: drop "
            "the id's leading `/` and turn every other `/` into `-`. For example "
            "`/req/issues/if-match` has the anchor `#req-issues-if-match` and `/conf/issues` "
            "has `#conf-issues`. Tools such as the conformance report link to "
            "`requirements/#req-issues-if-match` this way.",
            "",
        ]
    lines += [
        "## 一致性类 {#classes}" if zh else "## Conformance classes {#classes}",
        "",
        f"| {w(lang, 'class')} | {'必选' if zh else 'Mandatory'} | {w(lang, 'depends')} | "
        "MUST | SHOULD |",
        "|---|---|---|---|---|",
    ]
    for f in spec.requirement_files:
        c = f["class"]
        reqs = f["requirements"]
        must = sum(1 for r in reqs if r["level"] == "MUST")
        lines.append(
            f"| [{esc(localized(c['title'], lang))}](#{requirement_anchor(c['id'])})"
            f"<br>`{c['id']}` | {w(lang, 'yes') if c.get('mandatory') else '—'} | "
            f"{', '.join(code(d) for d in c.get('dependsOn', ())) or '—'} | {must} | "
            f"{len(reqs) - must} |"
        )
    lines.append("")
    for f in spec.requirement_files:
        c = f["class"]
        lines += [
            f"## {esc(localized(c['title'], lang))} · `{c['id']}` "
            f"{{#{requirement_anchor(c['id'])}}}",
            "",
            esc(localized(c["description"], lang)),
            "",
        ]
        facts = [
            f"- URI: `{prefix}{c['id']}`",
            f"- {w(lang, 'mandatory') if c.get('mandatory') else w(lang, 'optional')}"
            + (
                f"; {w(lang, 'depends')}: "
                + ", ".join(f"[`{d}`](#{requirement_anchor(d)})" for d in c.get("dependsOn", ()))
                if c.get("dependsOn")
                else ""
            ),
        ]
        text_page = class_text_page(spec, c["id"])
        if text_page:
            facts.append(
                f"- {'标准正文' if zh else 'Normative text'}: "
                f"[{c['id']}]({links.rel(here, text_page)})"
            )
        lines += [*facts, ""]
        lines += [
            f"| {'标识' if zh else 'Id'} | {w(lang, 'level')} | {w(lang, 'enforcement')} | "
            f"{w(lang, 'statement')} |",
            "|---|---|---|---|",
        ]
        for r in f["requirements"]:
            anchor = requirement_anchor(r["id"])
            wrapped = esc(r["id"]).replace("/", "/<wbr>")[len("/<wbr>") :]
            ident = f'<span id="{anchor}"></span><code>/{wrapped}</code> [¶](#{anchor})'
            if r.get("appliesTo"):
                ident += '<br><span class="sc-muted">' + ", ".join(r["appliesTo"]) + "</span>"
            enforcement = ", ".join(f"`{e}`" for e in r["enforcement"])
            codes = [
                f"[`{c_}`]({links.error(here, c_)})" if c_ in error_codes else f"`{c_}`"
                for c_ in r.get("codes", ())
            ]
            if codes:
                enforcement += "<br>" + "<br>".join(codes)
            statement = esc(localized(r["statement"], lang))
            for see in r.get("see", ()):
                if see.startswith("lifecycles/"):
                    rt = see.removeprefix("lifecycles/").removesuffix(".json").capitalize()
                    statement += f" （{see}）" if zh else f" ({see})"
                    statement += f" → [{rt}]({links.rel(here, links.lifecycle_page(rt))})"
                else:
                    statement += f" ({code(see)})"
            level = "**MUST**" if r["level"] == "MUST" else "SHOULD"
            lines.append(f"| {ident} | {level} | {enforcement} | {cell(statement)} |")
        lines.append("")
    return "\n".join(lines)
