"""The Open311 mapping's tables (``mappings/open311.json``) for the guide
"Connecting Open311 apps": the marker ``<!-- sc:open311-mapping <table> -->``."""

from __future__ import annotations

import json
from typing import Any

from .source import Spec
from .text import either, table_head


def _mapping(spec: Spec) -> dict[str, Any]:
    path = spec.folder / "mappings" / "open311.json"
    found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _say(entry: dict[str, Any], lang: str) -> str:
    return _cell(str(entry["zh-Hans"] if lang == "zh" else entry["en"]))


_DIRECTIONS = {"both": ("双向", "both ways"), "to-open311": ("诉求 → Open311", "issue → Open311"),
               "to-issue": ("Open311 → 诉求", "Open311 → issue")}


def open311_mapping_md(spec: Spec, lang: str, table: str) -> str:
    """One of the mapping's tables: services, fields, statuses, lost-to-open311,
    lost-to-issue."""
    raw = _mapping(spec)
    if table == "services":
        rows = [f"| `{e['open311']}` | `{e['catalogue']}` | {_say(e, lang)} |"
                for e in raw["services"]]
        head = table_head("Open311", either(lang, "服务目录", "catalogue"),
                          either(lang, "说明", "meaning"))
    elif table == "fields":
        rows = [f"| `{e['open311']}` | `{_cell(e['issue'])}` | "
                f"{either(lang, *_DIRECTIONS[e['direction']])} | {_say(e, lang)} |"
                for e in raw["fields"]]
        head = table_head("Open311", either(lang, "诉求", "issue"),
                          either(lang, "方向", "direction"), either(lang, "说明", "meaning"))
    elif table == "statuses":
        rows = [f"| `{s}` | `{o}` |" for s, o in raw["statuses"].items()]
        head = table_head(either(lang, "诉求状态", "issue status"), "Open311 `status`")
    elif table == "lost-to-open311":
        rows = [f"| `{e['member']}` | {_say(e, lang)} |" for e in raw["lost"]["toOpen311"]]
        head = table_head(either(lang, "诉求成员", "issue member"),
                          either(lang, "原因", "why"))
    elif table == "lost-to-issue":
        rows = [f"| `{e['field']}` | {_say(e, lang)} |" for e in raw["lost"]["toIssue"]]
        head = table_head(either(lang, "Open311 字段", "Open311 field"),
                          either(lang, "原因", "why"))
    else:
        raise ValueError(f"unknown Open311 mapping table {table!r}")
    return "\n".join([*head, *rows])
