"""Lifecycle pages: a Mermaid state diagram and the action table, from ``lifecycles/*.json``."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from . import links
from .schema_pages import SchemaPages, page_path
from .source import Spec, code_title, description_of, title_of
from .text import (
    cell,
    code,
    either,
    esc,
    generated_note,
    localized,
    page_start,
    pick,
    table_head,
    w,
)


def _state_id(status: str) -> str:
    # Mermaid state ids cannot hold hyphens; the label shows the real code.
    return "s_" + re.sub(r"[^A-Za-z0-9]", "_", status)


def mermaid(spec: Spec, resource_type: str, lang: str) -> str:
    """``stateDiagram-v2`` source for a lifecycle, transitions grouped by (from, to)."""
    table = spec.lifecycles[resource_type]
    statuses = spec.statuses(resource_type)
    lines = ["stateDiagram-v2", "    direction TB"]
    for status in statuses:
        title = code_title(spec, table["statusCodelist"], status, lang).replace('"', "'")
        lines.append(f'    state "{status} {title}" as {_state_id(status)}')
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for t in table["transitions"]:
        sources = t["from"] or ["[*]"]
        for source in sources:
            target = t.get("to") or source
            edges[(source, target)].append(t["action"])
    for (source, target), actions in edges.items():
        left = "[*]" if source == "[*]" else _state_id(source)
        lines.append(f"    {left} --> {_state_id(target)}: {', '.join(actions)}")
    for status in table.get("terminal", ()):
        lines.append(f"    {_state_id(status)} --> [*]")
    return "\n".join(lines)


def _details_md(pages: SchemaPages, details: dict[str, Any] | None, lang: str, here: str) -> str:
    if not isinstance(details, dict) or not details.get("properties"):
        return "—"
    required = set(details.get("required", ()))
    items = []
    for name, prop in details["properties"].items():
        kind = pages.type_md(prop, "", lang, here) if isinstance(prop, dict) else ""
        flag = ("，必填" if lang == "zh" else ", required") if name in required else ""
        desc = pick(prop.get("description") if isinstance(prop, dict) else "", lang)
        items.append(f"`{name}` ({kind}{flag}): {esc(desc)}")
    return "<br>".join(items)


def _sets_md(sets: dict[str, Any] | None, lang: str) -> str:
    if not sets:
        return ""
    parts = []
    for key, value in sets.items():
        if isinstance(value, dict) and "fromDetails" in value:
            parts.append(f"`{key}` ← `details.{value['fromDetails']}`")
        elif value is None:
            parts.append(f"`{key}` {'清除' if lang == 'zh' else 'cleared'}")
        else:
            parts.append(f"`{key}` = `{value}`")
    return f"{w(lang, 'sets')}: " + "; ".join(parts)


def render_lifecycle(spec: Spec, pages: SchemaPages, resource_type: str, lang: str) -> str:
    table = spec.lifecycles[resource_type]
    here = links.lifecycle_page(resource_type)
    zh = lang == "zh"
    status_list, action_list = table["statusCodelist"], table["actionCodelist"]
    schema_file = spec.resource_schemas.get(resource_type)
    name = pick(spec.schemas[schema_file]["title"], lang) if schema_file else resource_type
    title = f"{name}生命周期" if zh else f"{name} lifecycle"
    source = f"spec/{spec.version}/lifecycles/{resource_type.lower()}.json"
    lines = [f"# {title}", "", generated_note(lang, code(source))]
    schema_link = links.rel(here, page_path(schema_file)) if schema_file else ""
    if zh:
        lines += [
            f"{name}的状态取自代码表 [{status_list}]({links.codelist(here, status_list)})，"
            f"动作取自 [{action_list}]({links.codelist(here, action_list)})。状态只通过动作改变；"
            "每个动作在资源的 `history` 中追加恰好一个事件，最后一个事件的 `toStatus` 就是资源的 "
            f"`status`。字段定义见[{name}]({schema_link})。",
            "",
        ]
    else:
        lines += [
            f"Statuses come from the codelist [{status_list}]"
            f"({links.codelist(here, status_list)}) and actions from [{action_list}]"
            f"({links.codelist(here, action_list)}). The status changes only through "
            "actions; each action appends exactly one event to the resource's `history`, "
            "and the last event's `toStatus` is the resource's `status`. The fields are "
            f"on the [{name}]({schema_link}) page.",
            "",
        ]
    lines += [
        "## 状态图 {#diagram}" if zh else "## State diagram {#diagram}",
        "",
        "```mermaid",
        mermaid(spec, resource_type, lang),
        "```",
        "",
    ]
    if zh:
        lines += [
            "自环表示状态不变的动作。终止状态指向结束点；从终止状态出发的只有重新办理的动作。",
            "",
        ]
    else:
        lines += [
            "A loop marks an action that keeps the status. Terminal statuses lead to the "
            "end point; the only actions leaving one are those that reopen the procedure.",
            "",
        ]

    transitions = table["transitions"]
    lines += [
        "## 状态 {#statuses}" if zh else "## Statuses {#statuses}",
        "",
        f"| {w(lang, 'status')} | {w(lang, 'description')} | "
        f"{'可执行的动作' if zh else 'Actions from here'} |",
        "|---|---|---|",
    ]
    terminal = set(table.get("terminal", ()))
    for status, row in spec.codelist(status_list).entries.items():
        actions = [t["action"] for t in transitions if status in t["from"]]
        acts = ", ".join(f"[`{a}`](#act-{a})" for a in actions) or "—"
        title_pl, desc_pl = title_of(row, lang), description_of(row, lang)
        mark = (" **（终止）**" if zh else " **(terminal)**") if status in terminal else ""
        lines.append(
            f'| <span id="st-{status}"></span>`{status}`<br>{esc(title_pl)}{mark} | '
            f"{cell(esc(desc_pl))} | {acts} |"
        )
    lines.append("")

    lines += [
        "## 动作 {#actions}" if zh else "## Actions {#actions}",
        "",
        f"| {w(lang, 'action')} | {w(lang, 'from')} | {w(lang, 'to')} | {w(lang, 'roles')} | "
        f"{w(lang, 'details')} | {w(lang, 'notes')} |",
        "|---|---|---|---|---|---|",
    ]
    for t in transitions:
        action = t["action"]
        title_pl = code_title(spec, action_list, action, lang)
        sources = ", ".join(f"[`{s}`](#st-{s})" for s in t["from"]) or w(lang, "creation")
        target = f"[`{t['to']}`](#st-{t['to']})" if t.get("to") else w(lang, "stays")
        roles = ", ".join(f"[`{r}`]({links.codelist(here, 'role', r)})" for r in t["roles"])
        notes = [esc(localized(t.get("note"), lang))]
        sets = _sets_md(t.get("sets"), lang)
        if sets:
            notes.append(sets)
        if t.get("requirement"):
            notes.append(
                f"{w(lang, 'requirement')}: [{t['requirement']}]"
                f"({links.requirements(here, t['requirement'])})"
            )
        details = _details_md(pages, t.get("details"), lang, here)
        lines.append(
            f'| <span id="act-{action}"></span>`{action}`<br>{esc(title_pl)} | {sources} | '
            f"{target} | {roles} | {cell(details)} | {cell('<br>'.join(n for n in notes if n))} |"
        )
    lines.append("")
    return "\n".join(lines)


def render_index(spec: Spec, lang: str) -> str:
    here = f"{links.LIFECYCLES}/index.md"
    kinds = ", ".join(
        f"[{rt}]({links.rel(here, links.lifecycle_page(rt))})" for rt in spec.lifecycles
    )
    lines = page_start(
        lang,
        ("生命周期", "Lifecycles"),
        code(f"spec/{spec.version}/lifecycles/"),
        (
            f"这些资源的生命周期作为数据发布在规范中：{kinds}。"
            "库、参考服务器和一致性测试套件读取同一张表。",
            f"The lifecycles of these resources are published as data in the specification: "
            f"{kinds}. The library, the reference server and the conformance kit all read the "
            "same table.",
        ),
    )
    lines += table_head(
        w(lang, "resource"),
        either(lang, "状态数", "Statuses"),
        either(lang, "动作数", "Actions"),
        either(lang, "终止状态", "Terminal statuses"),
    )
    for rt, table in spec.lifecycles.items():
        lines.append(
            f"| [{rt}]({links.rel(here, links.lifecycle_page(rt))}) | "
            f"{len(spec.statuses(rt))} | "
            f"{len(table['transitions'])} | "
            f"{', '.join(code(s) for s in table.get('terminal', ()))} |"
        )
    lines.append("")
    return "\n".join(lines)
