"""Lifecycle pages: a Mermaid state diagram and the action table, from ``lifecycles/*.json``."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from . import links
from .schema_pages import SchemaPages, page_path
from .source import Spec, code_label, code_title, description_of
from .text import (
    cell,
    code,
    code_cell,
    either,
    esc,
    generated_note,
    localized,
    page_start,
    pick,
    table_head,
    w,
)
from .walk import walk


def _state_id(status: str) -> str:
    # Mermaid state ids cannot hold hyphens; the label shows the status's title.
    return "s_" + re.sub(r"[^A-Za-z0-9]", "_", status)


def _mermaid_text(text: str) -> str:
    # Quotes, colons and semicolons end a Mermaid label early.
    return text.replace('"', "'").replace(":", "：").replace(";", "；")


def mermaid(spec: Spec, resource_type: str, lang: str) -> str:
    """``stateDiagram-v2`` source for a lifecycle, labelled in the page language.

    Transitions between the same two statuses share one edge, its actions one per line;
    actions that keep the status are listed inside the status's box rather than drawn as
    loops, whose labels would overlap the edges around them.
    """
    table = spec.lifecycles[resource_type]
    status_list, action_list = table["statusCodelist"], table["actionCodelist"]
    lines = ["stateDiagram-v2", "    direction TB"]
    staying: dict[str, list[str]] = defaultdict(list)
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for t in table["transitions"]:
        title = _mermaid_text(code_title(spec, action_list, t["action"], lang))
        for source in t["from"] or ["[*]"]:
            target = t.get("to") or source
            if target == source:
                staying[source].append(title)
            else:
                edges[(source, target)].append(title)
    for status in spec.statuses(resource_type):
        title = _mermaid_text(code_title(spec, status_list, status, lang))
        lines.append(f'    state "{title}" as {_state_id(status)}')
        if staying.get(status):
            joiner = "、" if lang == "zh" else ", "
            lines.append(f"    {_state_id(status)} : ⟳ {joiner.join(staying[status])}")
    for (source, target), actions in edges.items():
        left = "[*]" if source == "[*]" else _state_id(source)
        lines.append(f"    {left} --> {_state_id(target)}: {'<br/>'.join(actions)}")
    for status in table.get("terminal", ()):
        lines.append(f"    {_state_id(status)} --> [*]")
    return "\n".join(lines)


def _label(spec: Spec, codelist: str, value: str, lang: str, href: str) -> str:
    """A code shown by its title in the page language, linked; the code shows on hover."""
    return f'[{esc(code_title(spec, codelist, value, lang))}]({href} "{value}")'


def _head(spec: Spec, codelist: str, value: str, lang: str, anchor: str, extra: str = "") -> str:
    """First cell of a row: the title in the page language, then the code, muted."""
    title = esc(code_title(spec, codelist, value, lang))
    return (
        f'<span id="{anchor}"></span>**{title}**{extra}<br>'
        f'<span class="sc-muted">{code_cell(value)}</span>'
    )


def _matches(node: Any, action: str) -> bool:
    if not isinstance(node, dict):
        return False
    return node.get("const") == action or node.get("enum") == [action]


def event_required(spec: Spec, resource_type: str, action: str) -> list[tuple[str, dict[str, Any]]]:
    """Members the history event of ``action`` must carry beyond ``details`` (a reopening's
    ``reason``), from the conditions the resource schema puts on its events."""
    file = spec.resource_schemas.get(resource_type)
    found: dict[str, dict[str, Any]] = {}

    def scan(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                scan(item)
            return
        if not isinstance(node, dict):
            return
        props = node.get("properties")
        if isinstance(props, dict) and _matches(props.get("action"), action):
            for name in node.get("required", ()):
                if name != "action":
                    found.setdefault(name, props.get(name) or {})
        condition = node.get("if")
        if isinstance(condition, dict) and _matches(
            (condition.get("properties") or {}).get("action"), action
        ):
            then = node.get("then") or {}
            for name in then.get("required", ()):
                found.setdefault(name, (then.get("properties") or {}).get(name) or {})
        for value in node.values():
            scan(value)

    if file:
        scan(spec.schemas[file])
    return list(found.items())


def _event_md(spec: Spec, members: list[tuple[str, dict[str, Any]]], lang: str, here: str) -> str:
    parts = []
    for name, node in members:
        text = code(name)
        codelist = node.get("x-codelist")
        if codelist:
            text += f" ({w(lang, 'codelist')} [{codelist}]({links.codelist(here, codelist)}))"
        parts.append(text)
    colon = "：" if lang == "zh" else ": "
    return f"{w(lang, 'event_requires')}{colon}" + ", ".join(parts) if parts else ""


def _details_summary(details: dict[str, Any] | None, action: str, lang: str) -> str:
    """The details column: each member, required ones marked, and a link to its table."""
    if not isinstance(details, dict) or not details.get("properties"):
        return ""
    required = set(details.get("required", ()))
    names = [f"{code(n)} ✓" if n in required else code(n) for n in details["properties"]]
    more = "字段表" if lang == "zh" else "fields"
    return ", ".join(names) + f" ([{more}](#details-{action}))"


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
    lines = [f"# {title}", "", generated_note(lang, source)]
    schema_link = links.rel(here, page_path(schema_file)) if schema_file else ""
    format_link = links.rel(here, page_path("meta/lifecycle.json"))
    if zh:
        lines += [
            f"{name}的状态取自代码表 [{status_list}]({links.codelist(here, status_list)})，"
            f"动作取自 [{action_list}]({links.codelist(here, action_list)})。状态只通过动作改变；"
            "每个动作在资源的 `history` 中追加恰好一个事件，最后一个事件的 `toStatus` 就是资源的 "
            f"`status`。字段定义见[{name}]({schema_link})，"
            f"本表的文件格式见[生命周期文件]({format_link})。",
            "",
        ]
    else:
        lines += [
            f"Statuses come from the codelist [{status_list}]"
            f"({links.codelist(here, status_list)}) and actions from [{action_list}]"
            f"({links.codelist(here, action_list)}). The status changes only through "
            "actions; each action appends exactly one event to the resource's `history`, "
            "and the last event's `toStatus` is the resource's `status`. The fields are "
            f"on the [{name}]({schema_link}) page, the format of this table on the "
            f"[lifecycle file]({format_link}) page.",
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
            "方框内 ⟳ 后列出的是状态不变的动作。终止状态指向结束点；"
            "从终止状态出发的只有重新办理的动作。",
            "",
        ]
    else:
        lines += [
            "The actions listed after ⟳ inside a box keep the status. Terminal statuses "
            "lead to the end point; the only actions leaving one are those that reopen "
            "the procedure.",
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
        joiner = "、" if zh else ", "
        acts = joiner.join(_label(spec, action_list, a, lang, f"#act-{a}") for a in actions) or "—"
        mark = (" **（终止）**" if zh else " **(terminal)**") if status in terminal else ""
        lines.append(
            f"| {_head(spec, status_list, status, lang, f'st-{status}', mark)} | "
            f"{cell(esc(description_of(row, lang)))} | {acts} |"
        )
    lines.append("")

    lines += [
        "## 动作 {#actions}" if zh else "## Actions {#actions}",
        "",
        f"| {w(lang, 'action')} | {w(lang, 'from')} | {w(lang, 'to')} | {w(lang, 'roles')} | "
        f"{w(lang, 'details')} | {w(lang, 'notes')} |",
        "|---|---|---|---|---|---|",
    ]
    joiner = "、" if zh else ", "
    for t in transitions:
        action = t["action"]
        sources = joiner.join(
            _label(spec, status_list, s, lang, f"#st-{s}") for s in t["from"]
        ) or w(lang, "creation")
        target = (
            _label(spec, status_list, t["to"], lang, f"#st-{t['to']}")
            if t.get("to")
            else w(lang, "stays")
        )
        roles = joiner.join(
            _label(spec, "role", r, lang, links.codelist(here, "role", r)) for r in t["roles"]
        )
        notes = [esc(localized(t.get("note"), lang))]
        sets = _sets_md(t.get("sets"), lang)
        if sets:
            notes.append(sets)
        if t.get("requirement"):
            notes.append(
                f"{w(lang, 'requirement')}: [{t['requirement']}]"
                f"({links.requirements(here, t['requirement'])})"
            )
        details = [
            _details_summary(t.get("details"), action, lang),
            _event_md(spec, event_required(spec, resource_type, action), lang, here),
        ]
        lines.append(
            f"| {_head(spec, action_list, action, lang, f'act-{action}')} | {sources} | "
            f"{target} | {roles} | {cell('<br>'.join(d for d in details if d)) or '—'} | "
            f"{cell('<br>'.join(n for n in notes if n))} |"
        )
    lines.append("")
    lines += _details_sections(spec, pages, resource_type, lang, here)
    return "\n".join(lines)


def _details_sections(
    spec: Spec, pages: SchemaPages, resource_type: str, lang: str, here: str
) -> list[str]:
    """One fields table per action with data, drawn by the schema pages' table renderer."""
    table = spec.lifecycles[resource_type]
    action_list = table["actionCodelist"]
    out = [
        "## 动作数据 {#details}" if lang == "zh" else "## Action details {#details}",
        "",
        (
            "每个动作写入历史事件 `details` 的数据；✓ 表示必填，"
            "嵌套对象和数组元素中的必填成员同样标出。"
            if lang == "zh"
            else "The data each action writes into the history event's `details`; ✓ marks "
            "a required member, inside nested objects and array items too."
        ),
        "",
    ]
    for t in table["transitions"]:
        details = t.get("details")
        if not isinstance(details, dict) or not details.get("properties"):
            continue
        action = t["action"]
        title = esc(code_title(spec, action_list, action, lang))
        out += [f"### {title} · `{action}` {{#details-{action}}}", ""]
        description = pick(details.get("description"), lang)
        if description:
            out += [esc(description), ""]
        fields = walk(spec, "", details, path=("details",))
        out += [*pages.table("", fields, lang, here, {}, anchor_prefix=f"{action}--"), ""]
        event = _event_md(spec, event_required(spec, resource_type, action), lang, here)
        if event:
            out += [event, ""]
    return out


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
        terminal = table.get("terminal", ())
        lines.append(
            f"| [{code_label(spec, 'resource-type', rt, lang)}]"
            f"({links.rel(here, links.lifecycle_page(rt))}) | "
            f"{len(spec.statuses(rt))} | "
            f"{len(table['transitions'])} | "
            + ", ".join(code_label(spec, table["statusCodelist"], s, lang) for s in terminal)
            + " |"
        )
    lines.append("")
    return "\n".join(lines)
