"""The indicator definitions of ``indicators.json`` as tables for the regulator's guide."""

from __future__ import annotations

from typing import Any

from smartcommunity.indicators import load_definitions
from smartcommunity.specification import Spec

_KIND = {"ratio": ("比率", "ratio"), "mean": ("均值", "mean"), "sum": ("合计", "sum")}
_UNIT = {"percent": ("%", "%"), "working-days": ("工作日", "working days"),
         "count": ("次", "count"), "hours": ("小时", "hours")}
_BETTER = {"higher": ("越高越好", "higher is better"), "lower": ("越低越好", "lower is better")}
_OPS = {"equals": "=", "in": "∈", "atLeast": "≥", "atMost": "≤"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def _text(value: Any, lang: str) -> str:
    return str(value.get("zh-Hans" if lang == "zh" else "en", "")) if isinstance(
        value, dict) else str(value)


def _conditions(conds: Any) -> str:
    out = []
    for c in conds:
        value = c.value
        shown = (", ".join(map(str, value)) if isinstance(value, list)
                 else str(value).lower() if isinstance(value, bool) else str(value))
        out.append(f"`{c.fact}` {_OPS[c.op]} {shown}")
    return " ∧ ".join(out) or "—"


def indicator_definitions_md(spec: Spec, lang: str) -> str:
    """One row per indicator: name, version, kind, numerator, denominator, moment."""
    defs = load_definitions(version=spec.version)
    zh = lang == "zh"
    head = (["指标", "版本", "类型与单位", "分子（或度量）", "分母（计入的考核件）", "计入时刻"]
            if zh else ["Indicator", "Version", "Kind and unit", "Numerator (or measure)",
                        "Denominator (cases counted)", "Moment"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for ind in defs.indicators:
        top = (_conditions(ind.numerator) if ind.kind == "ratio"
               else f"{_pick(_KIND[ind.kind], lang)} `{ind.measure}`")
        lines.append(
            f"| **{_cell(_text(ind.title, lang))}**<br>`{ind.id}`<br>"
            f"{_cell(_text(ind.description, lang))} | {ind.version} | "
            f"{_pick(_KIND[ind.kind], lang)}, {_pick(_UNIT[ind.unit], lang)}; "
            f"{_pick(_BETTER[ind.better], lang)} | {top} | {_conditions(ind.denominator)} | "
            f"`{ind.moment}` |")
    return "\n".join(lines)


def indicator_facts_md(spec: Spec, lang: str) -> str:
    """One row per fact a definition may use."""
    defs = load_definitions(version=spec.version)
    zh = lang == "zh"
    head = ["事实", "类型", "时刻", "定义"] if zh else ["Fact", "Type", "Moment", "Definition"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for fact in defs.facts.values():
        lines.append(f"| **{_cell(_text(fact.title, lang))}**<br>`{fact.id}` | {fact.type} | "
                     f"`{fact.moment}` | {_cell(_text(fact.description, lang))} |")
    return "\n".join(lines)
