"""Tables for the consultation guide, computed from an example document of the spec.

The timeline is the example's history; the vote tables add up its tally per channel and
recompute the quorum and threshold from the schema's fractions, so the walk-through shows
the arithmetic and proves that the example's recorded results follow from it.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

from smartcommunity.lifecycle import vote_outcome

from . import links
from .source import Spec, code_label, code_title, example
from .text import code_cell, esc, short_json


def _fraction(node: dict[str, Any] | None) -> Fraction | None:
    if not isinstance(node, dict):
        return None
    return Fraction(int(node["numerator"]), int(node["denominator"]))


def _num(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def _arithmetic(
    spec: Spec,
    vote: dict[str, Any],
    eligible: int | None,
    quorum_met: bool,
    winner: str | None,
    lang: str,
) -> list[str]:
    """The quorum and threshold of a vote worked out with its numbers.

    The outcome itself is the library's (:func:`vote_outcome`); these lines only show the
    figures it compared.
    """
    zh = lang == "zh"
    tally = vote["results"]["tally"]
    participation = int(tally["participation"]["total"])
    facts: list[str] = []
    quorum = vote.get("quorum")
    if isinstance(quorum, dict):
        parts = []
        ratio = _fraction(quorum.get("ratio"))
        if ratio is not None and eligible is not None:
            comparison = _comparison(spec, quorum, lang)
            parts.append(
                f"{participation} {comparison} {ratio} × {eligible} = {_num(ratio * eligible)}"
            )
        if quorum.get("minimumCount") is not None:
            parts.append(f"{participation} ≥ {quorum['minimumCount']}")
        facts.append(
            ("法定人数：" if zh else "Quorum: ") + "; ".join(parts) + f" {_mark(quorum_met)}"
        )
    counts = {e["optionId"]: int(e["total"]) for e in tally.get("options", [])}
    threshold = vote.get("threshold")
    if not (quorum_met and isinstance(threshold, dict) and any(counts.values())):
        return facts
    top = max(counts.values())
    leaders = [o for o, c in counts.items() if c == top]
    candidate = vote.get("approvalOptionId") or (leaders[0] if len(leaders) == 1 else None)
    if candidate is None:
        return facts
    # What each threshold base counts (vote-threshold-base.csv).
    base = {
        "valid-votes": sum(counts.values()),
        "participants": participation,
        "eligible": int(eligible or 0),
    }[threshold["base"]]
    ratio = _fraction(threshold["ratio"]) or Fraction(0)
    base_title = code_title(spec, "vote-threshold-base", threshold["base"], lang)
    worked = (
        f"`{candidate}` {counts.get(candidate, 0)} {_comparison(spec, threshold, lang)} "
        f"{ratio} × {base}{f'（{base_title}）= ' if zh else f' ({base_title}) = '}"
        f"{_num(ratio * base)} {_mark(winner == candidate)}"
    )
    facts.append(("通过门槛：" if zh else "Threshold: ") + worked)
    return facts


def _comparison(spec: Spec, rule: dict[str, Any], lang: str) -> str:
    """How a quorum or threshold compares, in words (``vote-comparison.csv``)."""
    codes = tuple(spec.codelist("vote-comparison"))
    # The schema's default comparison is the first code of the list.
    return code_title(spec, "vote-comparison", rule.get("comparison", codes[0]), lang).lower()


def timeline_md(spec: Spec, name: str, lang: str, here: str) -> str:
    doc = example(spec, name)
    zh = lang == "zh"
    page = links.rel(here, links.lifecycle_page(str(doc["resourceType"])))
    actions = spec.lifecycles[doc["resourceType"]]["actionCodelist"]
    statuses = spec.lifecycles[doc["resourceType"]]["statusCodelist"]
    lines = [
        f"| # | {'时间' if zh else 'Time'} | {'动作' if zh else 'Action'} | "
        f"{'状态' if zh else 'Status'} | {'角色' if zh else 'Role'} | "
        f"{'动作数据' if zh else 'Details'} |",
        "|---|---|---|---|---|---|",
    ]
    for event in doc.get("history", []):
        action = event["action"]
        title = code_title(spec, actions, action, lang)
        to = code_label(spec, statuses, event["toStatus"], lang)
        change = (
            f"{code_label(spec, statuses, event['fromStatus'], lang)} → {to}"
            if event.get("fromStatus") and event["fromStatus"] != event["toStatus"]
            else to
        )
        details = code_cell(short_json(event["details"], 70)) if event.get("details") else ""
        lines.append(
            f"| {event['seq']} | {event['at'][:16].replace('T', ' ')} | "
            f'[{esc(title)}]({page}#act-{action} "{action}") | {change} | '
            f"{code_label(spec, 'role', event['actor']['role'], lang)} | {details} |"
        )
    return "\n".join(lines)


def votes_md(spec: Spec, name: str, lang: str, here: str) -> str:
    doc = example(spec, name)
    zh = lang == "zh"
    options = {o["id"]: o for o in doc.get("options", [])}
    default_eligible = (doc.get("eligibility") or {}).get("eligibleCount")
    out: list[str] = []
    for vote in doc.get("votes", []):
        results = vote.get("results")
        if not results:
            continue
        tally = results["tally"]
        channels = list(vote.get("channels", []))
        channel_titles = [code_title(spec, "vote-channel", c, lang) for c in channels]
        out += [f"#### {esc(vote['question'])}", ""]
        rows = [
            "| | " + " | ".join(channel_titles) + f" | {'合计' if zh else 'Total'} |",
            "|---" * (len(channels) + 2) + "|",
        ]

        def line(label: str, count: dict[str, Any] | None, channels: list[str] = channels) -> str:
            count = count or {"total": 0}
            per = {c["channel"]: c["count"] for c in count.get("channels", [])}
            return (
                f"| {label} | "
                + " | ".join(str(per.get(c, 0)) for c in channels)
                + f" | **{count.get('total', 0)}** |"
            )

        for entry in tally.get("options", []):
            title = options.get(entry["optionId"], {}).get("title", entry["optionId"])
            rows.append(line(f"{esc(title)} (`{entry['optionId']}`)", entry))
        rows.append(line("弃权" if zh else "Abstentions", tally.get("abstentions")))
        rows.append(line("无效" if zh else "Invalid", tally.get("invalid")))
        rows.append(line("**参与表决**" if zh else "**Participation**", tally.get("participation")))
        out += [*rows, ""]

        eligible = vote.get("eligibleCount", default_eligible)
        quorum_met, result, winner = vote_outcome(vote, eligible)
        facts = _arithmetic(spec, vote, eligible, quorum_met, winner, lang)
        recorded = results.get("result")
        agrees = recorded == result and results.get("winningOptionId") == winner
        result_title = code_title(spec, "vote-result", str(recorded), lang)
        if zh:
            facts.append(
                f"计算结果 `{result}`，文档记录 `{recorded}`（{result_title}）"
                + (f"，通过选项 `{winner}`" if winner else "")
                + ("——两者一致。" if agrees else "——**不一致**。")
            )
        else:
            facts.append(
                f"Computed `{result}`; the document records `{recorded}` ({result_title})"
                + (f" with winning option `{winner}`" if winner else "")
                + (" — they agree." if agrees else " — **they differ**.")
            )
        out += [f"- {f}" for f in facts] + [""]
    return "\n".join(out)


def vote_rules_md(spec: Spec, name: str) -> str:
    """The quorum and threshold objects of the example's votes, as JSON."""
    doc = example(spec, name)
    parts = []
    for vote in doc.get("votes", []):
        shown = {k: vote[k] for k in ("id", "eligibleCount", "quorum", "threshold") if k in vote}
        parts.append(json.dumps(shown, ensure_ascii=False, indent=2))
    return "```json\n" + ",\n".join(parts) + "\n```"
