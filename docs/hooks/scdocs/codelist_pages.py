"""The codelists page and the error codes page, from ``codelists/*.csv``."""

from __future__ import annotations

from collections import defaultdict

from . import links
from .schema_pages import page_path
from .source import (
    CodeEntry,
    Spec,
    description_of,
    levels,
    requirements_citing,
    schema_files,
    title_of,
)
from .text import (
    OTHER,
    cell,
    code,
    code_anchor,
    codelist_anchor,
    either,
    error_anchor,
    esc,
    field_anchor,
    json_path,
    page_start,
    table_head,
    w,
)
from .walk import flatten, walk


def codelist_uses(spec: Spec) -> dict[str, list[tuple[str, tuple[str, ...], bool | None]]]:
    """For each codelist, the fields that take its codes: ``(schema file, path, open)``."""
    uses: dict[str, list[tuple[str, tuple[str, ...], bool | None]]] = defaultdict(list)
    for file in schema_files(spec):
        for f in flatten(walk(spec, file)):
            if f.codelist:
                uses[f.codelist].append((file, f.path, f.open_codelist))
    return uses


def render_codelists(spec: Spec, lang: str) -> str:
    here = links.CODELISTS
    uses = codelist_uses(spec)
    lifecycle_uses: dict[str, list[str]] = defaultdict(list)
    for rt, table in spec.lifecycles.items():
        lifecycle_uses[table["statusCodelist"]].append(rt)
        lifecycle_uses[table["actionCodelist"]].append(rt)
    zh = lang == "zh"
    errors = links.rel(here, links.ERRORS)
    lines = page_start(
        lang,
        ("代码表", "Codelists"),
        code(f"spec/{spec.version}/codelists/*.csv"),
        (
            "代码是小写 ASCII，含义永不改变。**封闭**代码表只接受表中的代码（模式中也是 `enum`）；"
            "**开放**代码表应当使用表中的代码，接收方遇到未知代码给出警告而不拒收。"
            "代码通过填写“弃用版本”退役，在下一个主版本前仍然有效。"
            f"错误代码见[错误代码]({errors})页。",
            "Codes are lowercase ASCII and never change meaning. A **closed** list accepts "
            "only its codes (the schema also has them as an `enum`); an **open** list "
            "should be used as published, and a receiver warns on a code it does not know "
            "instead of rejecting it. A code is retired by filling its *deprecated since* "
            "version and stays valid until the next major version. Error codes are on the "
            f"[error codes]({errors}) page.",
        ),
    )
    # An overview first, so the forty-odd lists can be scanned.
    lines += table_head(
        w(lang, "codelist"), w(lang, "count"), either(lang, "开放性", "Open?"), w(lang, "used_by")
    )
    for name, rows in spec.codelists.items():
        if name == "error-code":
            continue
        lines.append(
            f"| [{name}](#{codelist_anchor(name)}) | {len(rows)} | "
            f"{_openness(uses.get(name, []), lang)} | "
            f"{_use_count(uses, lifecycle_uses, name, lang)} |"
        )
    lines.append("")
    for name, rows in spec.codelists.items():
        if name == "error-code":
            continue
        lines += [f"## {name} {{#{codelist_anchor(name)}}}", ""]
        facts = [
            f"- {'文件' if zh else 'File'}: `codelists/{name}.csv`",
            f"- {'开放性' if zh else 'Open or closed'}: {_openness(uses.get(name, []), lang)}",
        ]
        used = [
            f"[{code(json_path(path))}]({links.rel(here, page_path(file))}#{field_anchor(path)})"
            f" ({file})"
            for file, path, _ in uses.get(name, [])
        ]
        used += [
            f"[{rt}]({links.rel(here, links.lifecycle_page(rt))})"
            for rt in lifecycle_uses.get(name, [])
        ]
        if used:
            facts.append(f"- {w(lang, 'used_by')}: " + ", ".join(used))
        lines += [*facts, ""]
        lines += table_head(
            w(lang, "code"), w(lang, "title"), w(lang, "description"), w(lang, "deprecated")
        )
        for row in rows.entries.values():
            anchor = code_anchor(name, row.code)
            title = (
                f'{esc(title_of(row, lang))}<br><span class="sc-alt" lang="{OTHER[lang]}">'
                f"{esc(title_of(row, OTHER[lang]))}</span>"
            )
            desc = (
                f'{esc(description_of(row, lang))}<br><span class="sc-alt" lang="{OTHER[lang]}">'
                f"{esc(description_of(row, OTHER[lang]))}</span>"
            )
            deprecated = ""
            if row.deprecated_since:
                deprecated = f"{w(lang, 'since')} {row.deprecated_since}"
                if row.replaced_by:
                    deprecated += (
                        f"; {w(lang, 'replaced_by')} "
                        f"[`{row.replaced_by}`](#{code_anchor(name, row.replaced_by)})"
                    )
            lines.append(
                f'| <span id="{anchor}"></span>`{row.code}` | {cell(title)} | '
                f"{cell(desc)} | {deprecated} |"
            )
        lines.append("")
    return "\n".join(lines)


def _openness(uses: list[tuple[str, tuple[str, ...], bool | None]], lang: str) -> str:
    flags = {flag for _, _, flag in uses if flag is not None}
    if not flags:
        return "—"
    if flags == {True}:
        return w(lang, "open_list")
    if flags == {False}:
        return w(lang, "closed_list")
    return "开放和封闭均有" if lang == "zh" else "open in some fields, closed in others"


def _use_count(
    uses: dict[str, list[tuple[str, tuple[str, ...], bool | None]]],
    lifecycle_uses: dict[str, list[str]],
    name: str,
    lang: str,
) -> str:
    files = sorted({file for file, _, _ in uses.get(name, [])})
    files += [f"lifecycles/{rt.lower()}.json" for rt in lifecycle_uses.get(name, [])]
    return ", ".join(f"`{f}`" for f in files) or "—"


def render_errors(spec: Spec, lang: str) -> str:
    """Every stable error code, its message templates and the requirements that cite it."""
    here = links.ERRORS
    zh = lang == "zh"
    rows = spec.codelist("error-code").entries.values()
    lines = page_start(
        lang,
        ("错误代码", "Error codes"),
        code(f"spec/{spec.version}/codelists/error-code.csv"),
        (
            "验证器的发现（finding）和 HTTP 错误响应（RFC 9457）都带稳定的 `code`。消息模板中的"
            "`{占位符}` 由报告错误的一方填入具体值。“相关需求”列出需求登记中引用该代码的需求；"
            "SHOULD 需求的代码报告为警告。",
            "Validator findings and HTTP problem responses (RFC 9457) carry a stable `code`. "
            "The `{placeholders}` of a message template are filled in by whoever reports the "
            "error. *Requirements* lists the requirements of the registry that cite the "
            "code; the codes of SHOULD requirements are reported as warnings.",
        ),
    )
    binding = levels(spec)[0]
    groups: dict[str, list[CodeEntry]] = defaultdict(list)
    for row in rows:
        groups[row.code.split(".", 1)[0]].append(row)
    for group, members in groups.items():
        lines += [f"## {group} {{#group-{group}}}", ""]
        lines += table_head(
            w(lang, "code"), w(lang, "message"), w(lang, "description"), w(lang, "cited_by")
        )
        for row in members:
            reqs = requirements_citing(spec, row.code)
            cited = ", ".join(f"[{r}]({links.requirements(here, r)})" for r in reqs)
            if reqs and all(spec.requirements[r].level != binding for r in reqs):
                cited += "（警告）" if zh else " (warning)"
            message = (
                f'{_template(title_of(row, lang))}<br><span class="sc-alt" '
                f'lang="{OTHER[lang]}">{_template(title_of(row, OTHER[lang]))}</span>'
            )
            desc = (
                f'{esc(description_of(row, lang))}<br><span class="sc-alt" lang="{OTHER[lang]}">'
                f"{esc(description_of(row, OTHER[lang]))}</span>"
            )
            deprecated = ""
            if row.deprecated_since:
                deprecated = (
                    f" <br>**{w(lang, 'deprecated')}** {w(lang, 'since')} {row.deprecated_since}"
                )
            lines.append(
                f'| <span id="{error_anchor(row.code)}"></span>`{row.code}`'
                f"{deprecated} | {cell(message)} | {cell(desc)} | {cited} |"
            )
        lines.append("")
    return "\n".join(lines)


def _template(text: str) -> str:
    """A message template with its ``{placeholders}`` kept literal (not attribute lists)."""
    return esc(text).replace("{", "&#123;").replace("}", "&#125;")
