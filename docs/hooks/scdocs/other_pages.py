"""The normative text pages, the reference overview, and small generated blocks for guides."""

from __future__ import annotations

import re

from . import links
from .api_pages import METHODS
from .codelist_pages import codelist_uses
from .schema_pages import page_path
from .source import (
    Spec,
    available_versions,
    classes,
    levels,
    requirements_of,
    resource_files,
    schema_files,
    texts,
)
from .text import code, esc, generated_note, localized, monolingual, page_start, pick, w

_REQ = re.compile(r"\[?(/(?:req|conf)/[a-z0-9-]+(?:/[a-z0-9-]+)*)\]?")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def _link_ids(text: str, here: str, known: set[str]) -> str:
    """Turn requirement and class ids outside code spans into links to their anchors."""
    out, last = [], 0
    for m in _CODE_SPAN.finditer(text):
        out.append(_link_plain(text[last : m.start()], here, known))
        out.append(m.group(0))
        last = m.end()
    out.append(_link_plain(text[last:], here, known))
    return "".join(out)


def _link_plain(text: str, here: str, known: set[str]) -> str:
    def repl(m: re.Match[str]) -> str:
        ident = m.group(1)
        if ident not in known:
            return m.group(0)
        return f"[{ident}]({links.requirements(here, ident)})"

    return _REQ.sub(repl, text)


def render_text(spec: Spec, name: str, lang: str) -> str:
    """A normative text file in the page language, its requirement ids linked.

    The file gives each paragraph in Chinese then in English; each language's page shows
    its own, and says that the other language's text is on the other site.
    """
    here = links.standard_page(name)
    known = set(spec.requirements) | set(spec.conformance_classes)
    lines = monolingual(texts(spec)[name], lang).splitlines()
    out: list[str] = []
    fenced = False
    note_done = False
    for line in lines:
        if line.lstrip().startswith("```"):
            fenced = not fenced
            out.append(line)
            continue
        out.append(line if fenced else _link_ids(line, here, known))
        if not note_done and line.startswith("# "):
            note_done = True
            out += ["", generated_note(lang, f"spec/{spec.version}/text/{name}.md")]
            if lang == "en":
                out += [
                    "The normative text is bilingual: the Chinese text of this part is on the "
                    "Chinese site. Both are normative.",
                    "",
                ]
            else:
                out += ["标准正文为中英双语，本部分的英文文本见英文站点，二者同等有效。", ""]
    return "\n".join(out) + "\n"


def render_text_index(spec: Spec, lang: str) -> str:
    here = f"{links.STANDARD}/index.md"
    zh = lang == "zh"
    requirements = links.rel(here, links.REQUIREMENTS)
    intro = (
        f"标准的规范性文字，每个一致性类一篇。文中引用的需求标识链接到[需求]({requirements})页。",
        "The normative prose of the standard, one part per conformance class. The "
        f"requirement ids it cites link to the [requirements]({requirements}) page.",
    )
    heading = ("标准正文", "Normative text")
    lines = page_start(lang, heading, code(f"spec/{spec.version}/text/"), intro)
    titles = {c.id.rsplit("/", 1)[-1]: c for c in classes(spec)}
    lines += [
        f"| {'部分' if zh else 'Part'} | {w(lang, 'class')} | {w(lang, 'description')} |",
        "|---|---|---|",
    ]
    for name in texts(spec):
        c = titles.get(name)
        title = localized(c.title, lang) if c else name
        desc = localized(c.description, lang) if c else ""
        cid = f"[`{c.id}`]({links.requirements(here, c.id)})" if c else ""
        lines.append(
            f"| [{esc(title)}]({links.rel(here, links.standard_page(name))}) | {cid} | "
            f"{esc(desc)} |"
        )
    return "\n".join(lines) + "\n"


def conformance_classes_md(spec: Spec, lang: str, here: str) -> str:
    zh = lang == "zh"
    lines = [
        f"| {w(lang, 'class')} | {w(lang, 'description')} | {'必选' if zh else 'Mandatory'} | "
        f"{'需求数' if zh else 'Requirements'} | "
        f"{w(lang, 'enforcement')} |",
        "|---|---|---|---|---|",
    ]
    ranks = levels(spec)
    for c in classes(spec):
        reqs = requirements_of(spec, c)
        enforced = " · ".join(
            f"{e} {n}"
            for e in spec.codelist("enforcement")
            if (n := sum(1 for r in reqs if e in r.enforcement))
        )
        per_level = ", ".join(f"{lv} {sum(1 for r in reqs if r.level == lv)}" for lv in ranks)
        depends = ", ".join(code(d) for d in c.depends_on)
        mandatory = w(lang, "yes") if c.mandatory else "—"
        if depends:
            mandatory += f'<br><span class="sc-muted">{w(lang, "depends")} {depends}</span>'
        lines.append(
            f"| [{esc(localized(c.title, lang))}]({links.requirements(here, c.id)})"
            f"<br>`{c.id}` | {esc(localized(c.description, lang))} | {mandatory} | "
            f"{len(reqs)} ({per_level}) | {enforced} |"
        )
    return "\n".join(lines)


def codelist_openness_md(spec: Spec, lang: str, here: str) -> str:
    uses = codelist_uses(spec)
    groups: dict[bool, list[str]] = {True: [], False: []}
    for name in spec.codelists:
        flags = {flag for _, _, flag in uses.get(name, []) if flag is not None}
        if len(flags) == 1:
            groups[flags.pop()].append(name)
    zh = lang == "zh"
    out = []
    for flag, label in (
        (False, "封闭代码表" if zh else "Closed codelists"),
        (True, "开放代码表" if zh else "Open codelists"),
    ):
        names = ", ".join(f"[`{n}`]({links.codelist(here, n)})" for n in groups[flag])
        out.append(
            f"- **{label}**（{len(groups[flag])}）：{names}"
            if zh
            else f"- **{label}** ({len(groups[flag])}): {names}"
        )
    return "\n".join(out)


def render_reference_index(spec: Spec, lang: str) -> str:
    here = links.REFERENCE_INDEX
    zh = lang == "zh"
    ops = sum(1 for item in spec.openapi.get("paths", {}).values() for m in item if m in METHODS)
    rows = [
        (
            pick("资源与类型 / Schemas", lang),
            f"{links.rel(here, 'reference/schemas/index.md')}",
            f"{len(schema_files(spec))} {'个模式' if zh else 'schemas'}",
        ),
        (
            pick("代码表 / Codelists", lang),
            links.rel(here, links.CODELISTS),
            f"{len(spec.codelists) - 1} {'个代码表' if zh else 'codelists'}",
        ),
        (
            pick("生命周期 / Lifecycles", lang),
            links.rel(here, f"{links.LIFECYCLES}/index.md"),
            ", ".join(spec.lifecycles),
        ),
        (
            pick("版本 / Versions", lang),
            links.rel(here, links.VERSIONS),
            ", ".join(available_versions()),
        ),
        (
            pick("需求 / Requirements", lang),
            links.rel(here, links.REQUIREMENTS),
            f"{len(spec.requirements)} {'条需求' if zh else 'requirements'}, "
            f"{len(spec.conformance_classes)} {'个一致性类' if zh else 'conformance classes'}",
        ),
        ("HTTP API", links.rel(here, links.HTTP_API), f"{ops} {'个操作' if zh else 'operations'}"),
        (
            pick("错误代码 / Error codes", lang),
            links.rel(here, links.ERRORS),
            f"{len(spec.codelist('error-code'))} {'个代码' if zh else 'codes'}",
        ),
        (
            pick("按受众脱敏 / Redaction by audience", lang),
            links.rel(here, links.REDACTION),
            f"{len(spec.privacy.get('treatments', {}))} {'个受众' if zh else 'audiences'}",
        ),
    ]
    lines = [
        "# 参考" if zh else "# Reference",
        "",
        generated_note(lang, code(f"spec/{spec.version}/")),
        (
            f"本节的每一页都在构建时由标准 {spec.version} 的规范文件生成。"
            if zh
            else "Every page of this section is generated from the files of version "
            f"{spec.version} "
            "of the standard when the site is built."
        ),
        "",
        f"| {'页面' if zh else 'Page'} | {'内容' if zh else 'Contents'} |",
        "|---|---|",
    ]
    lines += [f"| [{title}]({href}) | {what} |" for title, href, what in rows]
    lines.append("")
    resources = ", ".join(
        f"[{pick(spec.schemas[f]['title'], lang)}]({links.rel(here, page_path(f))})"
        for f in resource_files(spec)
    )
    lines += [
        ("资源：" if zh else "Resources: ") + resources + ("。" if zh else "."),
        "",
    ]
    return "\n".join(lines)
