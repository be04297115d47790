"""Personal information: the tagged fields, the redaction matrix and worked masking examples.

Everything here is computed from the schemas' ``x-pipl`` / ``x-pipl-mask`` tags and from
``privacy.json``; nothing lists fields by hand.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from . import links
from .schema_pages import page_path
from .source import Spec, code_label, code_title
from .text import (
    OTHER,
    cell,
    code,
    code_cell,
    either,
    esc,
    field_anchor,
    json_path,
    page_start,
    pick,
    section,
    table_head,
    w,
)
from .walk import Field, flatten, pipl_classes, walk

SYMBOL = {"keep": "✓", "mask": "◐", "remove": "✗"}


def treatment_word(value: str, lang: str) -> str:
    words = {
        "zh": {"keep": "保留", "mask": "脱敏", "remove": "删除"},
        "en": {"keep": "keep", "mask": "mask", "remove": "remove"},
    }
    return words[lang].get(value, value)


def tagged(spec: Spec, resource_file: str) -> list[Field]:
    """Every tagged property reachable in a resource document, with its full path."""
    return [f for f in flatten(walk(spec, resource_file, follow_external=True)) if f.pipl]


@functools.cache
def _anchors(spec: Spec, file: str) -> frozenset[str]:
    return frozenset(field_anchor(f.path) for f in flatten(walk(spec, file)))


def field_link(spec: Spec, f: Field, here: str, label: str | None = None) -> str:
    """Link to the row of the schema page that defines the field."""
    anchor = field_anchor(f.local_path)
    target = links.rel(here, page_path(f.file))
    text = label or code_cell(json_path(f.local_path))
    if anchor in _anchors(spec, f.file):
        return f"[{text}]({target}#{anchor})"
    return f"[{text}]({target})"


def _class_md(spec: Spec, value: str | None, lang: str, here: str) -> str:
    if not value:
        return ""
    title = code_title(spec, "pipl-class", value, lang)
    return f"[{title}]({links.codelist(here, 'pipl-class', value)})"


def _mask_md(spec: Spec, value: str | None, lang: str, here: str) -> str:
    if not value:
        return "—"
    title = code_title(spec, "mask-method", value, lang)
    return f"[{title}]({links.codelist(here, 'mask-method', value)})"


def pipl_fields_md(spec: Spec, lang: str, here: str) -> str:
    """The tagged fields: those of each resource, then those inside shared types."""
    zh = lang == "zh"
    heads = "| " + " | ".join(w(lang, k) for k in ("field", "class", "mask", "description")) + " |"
    out: list[str] = []
    shared: dict[tuple[str, tuple[str, ...]], tuple[Field, set[str]]] = {}
    most = pipl_classes(spec)[-1]
    most_title = code_title(spec, "pipl-class", most, lang)
    for rt, file in spec.resource_schemas.items():
        own: list[Field] = []
        for f in tagged(spec, file):
            if f.file == file:
                own.append(f)
            else:
                entry = shared.setdefault((f.file, f.local_path), (f, set()))
                entry[1].add(f"{rt}")
        title = pick(spec.schemas[file].get("title"), lang)
        sensitive = sum(1 for f in own if f.pipl == most)
        out += [
            f"**{title}**（{len(own)} 个字段，其中 {sensitive} 个为{most_title}）"
            if zh
            else f"**{title}** ({len(own)} fields, {sensitive} of them {most_title})",
            "",
            heads,
            "|---|---|---|---|",
        ]
        for f in own:
            desc = pick(f.description, lang)
            out.append(
                f"| {field_link(spec, f, here)} | {_class_md(spec, f.pipl, lang, here)} | "
                f"{_mask_md(spec, f.mask, lang, here)} | {cell(esc(desc))} |"
            )
        out.append("")
    if shared:
        out += [
            "**共享类型中的标注**——凡使用这些类型的地方"
            "（如 `submittedBy`、`history[].actor`）都适用："
            if zh
            else "**Tags inside shared types** — they apply wherever the type is used "
            "(such as `submittedBy` or `history[].actor`):",
            "",
            f"| {w(lang, 'field')} | {w(lang, 'class')} | {w(lang, 'mask')} | "
            f"{w(lang, 'description')} | {w(lang, 'used_by')} |",
            "|---|---|---|---|---|",
        ]
        for (file, _), (f, users) in sorted(shared.items()):
            label = f"{pick(spec.schemas[file].get('title'), lang)} " + code_cell(
                json_path(f.local_path)
            )
            out.append(
                f"| {field_link(spec, f, here, label)} | {_class_md(spec, f.pipl, lang, here)} | "
                f"{_mask_md(spec, f.mask, lang, here)} | {cell(esc(pick(f.description, lang)))} | "
                f"{', '.join(sorted(users))} |"
            )
        out.append("")
    return "\n".join(out)


def _audience_matrix(
    spec: Spec,
    lang: str,
    here: str,
    codelist: str,
    rows: Mapping[str, Any],
    mark: Callable[[Any, str], str],
) -> str:
    """A table of audiences (rows) × the codes of ``codelist`` (columns), each cell
    ``mark(row value, code)``."""
    columns = list(spec.codelist(codelist))
    lines = table_head(
        w(lang, "audience"),
        *(
            f"[`{c}`]({links.codelist(here, codelist, c)}) {code_title(spec, codelist, c, lang)}"
            for c in columns
        ),
    )
    for audience, value in rows.items():
        title = code_title(spec, "audience", audience, lang)
        label = f"[{title}]({links.codelist(here, 'audience', audience)})<br>`{audience}`"
        lines.append(f"| {label} | " + " | ".join(mark(value, c) for c in columns) + " |")
    return "\n".join(lines)


def treatment_matrix_md(spec: Spec, lang: str, here: str) -> str:
    """Audience × PIPL class → keep, mask or remove, as ``privacy.json`` says."""

    def mark(treatments: Mapping[str, str], pipl: str) -> str:
        treatment = treatments.get(pipl, "remove")
        return f"{SYMBOL.get(treatment, '')} {treatment_word(treatment, lang)}"

    return _audience_matrix(spec, lang, here, "pipl-class", spec.privacy["treatments"], mark)


def visibility_matrix_md(spec: Spec, lang: str, here: str) -> str:
    """Audience × visibility code → whether items with that visibility reach the audience."""
    return _audience_matrix(
        spec,
        lang,
        here,
        "visibility",
        spec.privacy["visibility"],
        lambda visible, c: "✓" if c in visible else "—",
    )


def role_audience_md(spec: Spec, lang: str, here: str) -> str:
    rows = [
        f"| [`{role}`]({links.codelist(here, 'role', role)}) {code_title(spec, 'role', role, lang)}"
        f" | `{audience}` {code_title(spec, 'audience', audience, lang)} |"
        for role, audience in spec.privacy["roleAudience"].items()
    ]
    return "\n".join([*table_head(w(lang, "role"), w(lang, "audience")), *rows])


def field_matrix_md(spec: Spec, lang: str, here: str) -> str:
    """Per tagged path of each resource, what each audience receives."""
    policy = spec.privacy
    audiences = list(policy["treatments"])
    out: list[str] = []
    untagged = pipl_classes(spec)[0]
    for rt, file in spec.resource_schemas.items():
        title = pick(spec.schemas[file].get("title"), lang)
        out += [f'??? abstract "{title} · {rt}"', ""]
        out.append(
            "    | " + w(lang, "path") + " | " + " | ".join(f"`{a}`" for a in audiences) + " |"
        )
        out.append("    |---" + "|---" * len(audiences) + "|")
        for f in tagged(spec, file):
            cells = []
            for a in audiences:
                treatment = policy["treatments"][a].get(f.pipl or untagged, "remove")
                if treatment == "mask" and not f.mask:
                    treatment = "remove"  # mask without a declared method removes the field
                necessary = ((policy.get("necessaryMembers") or {}).get(a) or {}).get(rt)
                if isinstance(necessary, list) and f.path and f.path[0] not in necessary:
                    treatment = "remove"  # not needed by this audience (minimum necessary)
                cells.append(SYMBOL[treatment])
            out.append(
                f"    | {field_link(spec, f, here, code_cell(json_path(f.path)))} | "
                + " | ".join(cells)
                + " |"
            )
        out.append("")
    return "\n".join(out)


def render_redaction(spec: Spec, lang: str) -> str:
    here = links.REDACTION
    zh = lang == "zh"
    policy = spec.privacy
    desc = policy.get("description", {})
    own = desc.get("zh-Hans" if zh else "en", "") if isinstance(desc, dict) else str(desc)
    sources = (
        f"{code(f'spec/{spec.version}/privacy.json')} "
        f"{either(lang, '和模式中的', 'and the schemas’')} `x-pipl` {either(lang, '标注', 'tags')}"
    )
    lines = page_start(lang, ("按受众脱敏", "Redaction by audience"), sources, (esc(own), esc(own)))
    file_format = links.rel(here, "reference/files/privacy.md")
    lines += [
        either(
            lang,
            f"本页的规则取自 `privacy.json`，其格式见[删减规则]({file_format})。",
            f"The rules of this page come from `privacy.json`, whose format is on the "
            f"[privacy rules]({file_format}) page.",
        ),
        "",
    ]
    if isinstance(desc, dict):
        lines += [
            f'<p class="sc-alt" lang="{OTHER[lang]}">'
            f"{esc(desc.get('en' if zh else 'zh-Hans', ''))}</p>",
            "",
        ]
    legend = (
        (
            f"{SYMBOL['keep']} 保留 · {SYMBOL['mask']} 按字段声明的方法脱敏（未声明方法时删除） · "
            f"{SYMBOL['remove']} 删除"
        )
        if zh
        else (
            f"{SYMBOL['keep']} keep · {SYMBOL['mask']} mask with the field's declared method "
            f"(remove when it declares none) · {SYMBOL['remove']} remove"
        )
    )
    sections = (
        (
            ("各类信息的处理", "Treatment of each class"),
            "treatments",
            (legend, legend),
            treatment_matrix_md,
        ),
        (
            ("可见范围", "Visibility"),
            "visibility",
            (
                "带 `visibility` 的条目（附件、会议记录、表决结果、协商记录）"
                "只提供给下表允许的受众。",
                "Items that carry a `visibility` (attachments, minutes, vote results, "
                "consultation records) reach only the audiences this table allows.",
            ),
            visibility_matrix_md,
        ),
        (
            ("角色对应的受众", "Audience of each role"),
            "roles",
            (
                "认证主体的角色决定它以哪个受众读取数据。",
                "The role of an authenticated principal decides the audience it reads as.",
            ),
            role_audience_md,
        ),
        (
            ("每个字段", "Field by field"),
            "fields",
            (
                "下表把上面的规则应用到每个资源中每个带标注的字段（完整路径，含共享类型中的字段）。"
                "`visibility` 和诉求的 `reporterDisclosure` 还可能进一步删除内容。",
                "The rules above applied to every tagged field of each resource (full paths, "
                "including fields inside shared types). `visibility` and an issue's "
                "`reporterDisclosure` may remove more.",
            ),
            field_matrix_md,
        ),
    )
    for heading, anchor, intro, table in sections:
        lines += section(lang, heading, anchor, intro, table(spec, lang, here))
    return "\n".join(lines)


def mask_examples_md(spec: Spec, lang: str) -> str:
    """Worked examples computed with the library's own functions, so they cannot drift."""
    from smartcommunity import identifiers

    zh = lang == "zh"

    def method(function: Callable[[str], str]) -> str:
        # The masking method whose library function this is (``mask_citizen_id`` for the
        # code citizen-id), named by its title in the page language.
        for name in spec.codelist("mask-method"):
            if getattr(identifiers, "mask_" + name.replace("-", "_"), None) is function:
                return code_label(spec, "mask-method", name, lang)
        return code(function.__name__)

    cid = identifiers.citizen_id_check_char("11010519491231002")
    citizen = "11010519491231002" + cid
    phones = ["+8613812345678", "+85291234567", "+861065123456", "+4930123456"]
    names = ["张三丰", "阿卜杜拉·买买提", "李"]
    rows = [
        f"| {'方法' if zh else 'Method'} | {'输入' if zh else 'Input'} | "
        f"{'输出' if zh else 'Output'} |",
        "|---|---|---|",
    ]
    for function, inputs, quoted in (
        (identifiers.mask_citizen_id, [citizen], True),
        (identifiers.mask_phone, phones, True),
        (identifiers.mask_name, names, False),
    ):
        for value in inputs:
            shown = (code(value), code(function(value))) if quoted else (value, function(value))
            rows.append(f"| {method(function)} | {shown[0]} | {shown[1]} |")
    key = b"0123456789abcdef"
    pseudo = identifiers.citizen_id_pseudonym(citizen, key)
    rows += [
        "",
        (
            "用 16 字节的演示密钥 `0123456789abcdef`（ASCII）计算上面号码的假名："
            if zh
            else "The pseudonym of the number above under the 16-byte demo key "
            "`0123456789abcdef` (ASCII):"
        ),
        "",
        f"```text\n{pseudo}\n```",
    ]
    return "\n".join(rows)
