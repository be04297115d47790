"""The regulator's report: department ledgers (CSV, XLSX), every figure (JSON) and an HTML page.

The HTML is one self-contained file: charts are SVG drawn here, with no script, font or style
fetched from anywhere, Chinese first with English beside it, and every chart followed by the
table of its numbers so that screen readers and printouts carry the same figures as the JSON.
"""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._definitions import Definitions, Indicator
from ._tally import Figure, Tally

if TYPE_CHECKING:
    from ..profiles import Profile

__all__ = ["ReportFiles", "ledger_rows", "write_report"]

_UNIT = {"percent": ("%", "%"), "working-days": ("工作日", "working days"),
         "count": ("次", "times"), "hours": ("小时", "hours")}
#: high-contrast colours (WCAG AA on white) for the bars: within target, short of it, no target
_OK, _MISS, _PLAIN, _TARGET = "#1a5e20", "#b3261e", "#1f4e8c", "#000000"
#: how many communities the report lists as the worst served
WORST = 10
#: how many months of trend the report draws, ending with the period
TREND_MONTHS = 12


@dataclass(frozen=True, slots=True)
class ReportFiles:
    ledger_csv: Path
    ledger_xlsx: Path
    figures_json: Path
    report_html: Path


def _name(profile: Profile | None, dimension: str, key: str) -> str:
    """A readable name for a department or community code, from the profile when it has one."""
    if dimension == "city":
        return "全市 City"
    if profile is not None and dimension == "department":
        org = profile.organisation(key)
        name = (org or {}).get("name")
        if isinstance(name, Mapping):
            name = name.get("zh-Hans") or next(iter(name.values()), None)
        if isinstance(name, str) and name:
            return f"{name}（{key}）"
    return key


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


def _met(ind: Indicator, value: float | None) -> bool | None:
    if ind.target is None or value is None:
        return None
    return value >= ind.target if ind.better == "higher" else value <= ind.target


def _by(figures: Sequence[Figure], dimension: str) -> dict[str, dict[str, Figure]]:
    """``{key: {indicator: figure}}`` for one dimension."""
    out: dict[str, dict[str, Figure]] = {}
    for f in figures:
        if f.dimension == dimension:
            out.setdefault(f.key, {})[f.indicator] = f
    return out


def ledger_header(defs: Definitions) -> list[str]:
    head = ["部门代码 Department code", "部门 Department"]
    for ind in defs.indicators:
        zh, en = _UNIT[ind.unit]
        title = f"{ind.title['zh-Hans']} {ind.title['en']}"
        unit = zh if zh == en else f"{zh} {en}"
        head += [f"{title} 分子 numerator", f"{title} 分母 denominator",
                 f"{title} ({unit})", f"{title} 目标 target", f"{title} 达标 met"]
    return head


def ledger_rows(defs: Definitions, figures: Sequence[Figure], profile: Profile | None,
                dimension: str = "department") -> list[list[Any]]:
    """One row per department (or other dimension) with every indicator's figures."""
    rows = []
    for key, per in sorted(_by(figures, dimension).items()):
        row: list[Any] = [key, _name(profile, dimension, key)]
        for ind in defs.indicators:
            f = per.get(ind.id)
            met = _met(ind, f.value if f else None)
            row += [f.numerator if f else "", f.denominator if f else "",
                    "" if f is None or f.value is None else f.value,
                    "" if ind.target is None else ind.target,
                    "" if met is None else ("是 yes" if met else "否 no")]
        rows.append(row)
    return rows


# -- SVG charts ----------------------------------------------------------------------------

def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    t = html.escape(title)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
            f'width="100%" style="max-width:{width}px" aria-label="{t}"><title>{t}</title>'
            + "".join(body) + "</svg>")


def _short(label: str, room: int = 18) -> str:
    """A label that fits the chart's label column: CJK characters count double."""
    used, out = 0, ""
    for ch in label:
        used += 2 if ord(ch) > 0x2E80 else 1
        if used > room * 2 - 1:
            return out + "…"
        out += ch
    return out


def bar_chart(title: str, bars: Sequence[tuple[str, float | None, bool | None]],
              target: float | None, maximum: float, unit: str) -> str:
    """Horizontal bars, one a row, with the target as a dashed vertical line."""
    label_w, bar_w, row_h = 400, 480, 44
    height = row_h * max(len(bars), 1) + 56
    scale = bar_w / maximum if maximum > 0 else 0.0
    body = []
    for i, (label, value, met) in enumerate(bars):
        y = 16 + i * row_h
        colour = _PLAIN if met is None else (_OK if met else _MISS)
        body.append(f'<text x="{label_w - 12}" y="{y + 28}" text-anchor="end" font-size="20" '
                    f'fill="#000">{html.escape(_short(label))}</text>')
        if value is not None:
            w = max(value * scale, 2)
            mark = "" if met is None else ("✓" if met else "✗")
            body.append(f'<rect x="{label_w}" y="{y + 6}" width="{w:.1f}" height="30" '
                        f'fill="{colour}"/>')
            body.append(f'<text x="{label_w + w + 8:.1f}" y="{y + 28}" font-size="20" '
                        f'fill="#000">{_fmt(value)}{unit} {mark}</text>')
        else:
            body.append(f'<text x="{label_w + 8}" y="{y + 28}" font-size="20" fill="#000">'
                        '无数据 no data</text>')
    if target is not None and scale:
        x = label_w + target * scale
        body.append(f'<line x1="{x:.1f}" y1="8" x2="{x:.1f}" y2="{height - 36}" '
                    f'stroke="{_TARGET}" stroke-width="3" stroke-dasharray="8 6"/>')
        body.append(f'<text x="{x:.1f}" y="{height - 12}" text-anchor="middle" font-size="18" '
                    f'fill="#000">目标 target {_fmt(target)}{unit}</text>')
    return _svg(label_w + bar_w + 140, height, title, body)


def line_chart(title: str, points: Sequence[tuple[str, float | None]],
               target: float | None, maximum: float, unit: str) -> str:
    """One line over months, with the target as a dashed horizontal line."""
    left, width, top, plot_h = 70, 720, 20, 240
    height = top + plot_h + 70
    step = width / max(len(points) - 1, 1)
    scale = plot_h / maximum if maximum > 0 else 0.0
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{left + width}" y2="{top + plot_h}" '
            'stroke="#000" stroke-width="2"/>',
            f'<text x="{left - 8}" y="{top + 8}" text-anchor="end" font-size="18">'
            f'{_fmt(maximum)}</text>',
            f'<text x="{left - 8}" y="{top + plot_h}" text-anchor="end" font-size="18">0</text>']
    coords = []
    for i, (month, value) in enumerate(points):
        x = left + i * step
        body.append(f'<text x="{x:.1f}" y="{top + plot_h + 28}" text-anchor="middle" '
                    f'font-size="16">{month[2:]}</text>')
        if value is not None:
            y = top + plot_h - value * scale
            coords.append(f"{x:.1f},{y:.1f}")
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{_PLAIN}"/>')
            body.append(f'<text x="{x:.1f}" y="{y - 12:.1f}" text-anchor="middle" '
                        f'font-size="16">{_fmt(value)}</text>')
    if len(coords) > 1:
        body.insert(0, f'<polyline points="{" ".join(coords)}" fill="none" stroke="{_PLAIN}" '
                       'stroke-width="4"/>')
    if target is not None and scale:
        y = top + plot_h - target * scale
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" '
                    f'stroke="{_TARGET}" stroke-width="3" stroke-dasharray="8 6"/>')
        body.append(f'<text x="{left + width}" y="{y - 8:.1f}" text-anchor="end" font-size="16">'
                    f'目标 target {_fmt(target)}{unit}</text>')
    return _svg(left + width + 40, height, title, body)


# -- the HTML page -------------------------------------------------------------------------

def _table(caption: str, head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = "".join(f"<th scope=\"col\">{html.escape(str(h))}</th>" for h in head)
    body = "".join("<tr>" + "".join(
        (f"<th scope=\"row\">{html.escape(str(r[0]))}</th>" if i == 0 else
         f"<td>{html.escape(str(c))}</td>") for i, c in enumerate(r)) + "</tr>" for r in rows)
    return (f"<table><caption>{html.escape(caption)}</caption><thead><tr>{cells}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _months_up_to(period: str, count: int) -> list[str]:
    year, month = int(period[:4]), int(period[5:7])
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


_STYLE = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",sans-serif;
font-size:20px;line-height:1.6;color:#000;background:#fff;margin:0 auto;max-width:1100px;
padding:16px}
h1{font-size:34px}h2{font-size:28px;margin-top:48px;border-bottom:3px solid #000}
h3{font-size:24px}table{border-collapse:collapse;margin:12px 0 24px;font-size:18px}
caption{text-align:left;font-weight:bold;padding:6px 0}
th,td{border:1px solid #444;padding:6px 10px;text-align:right}th[scope=row]{text-align:left}
.en{color:#333}.summary{font-size:22px}
a{color:#0b3d91}
"""


def render_html(defs: Definitions, tally: Tally, period: str, profile: Profile | None) -> str:
    figures = tally.figures()
    now = [f for f in figures if f.period == period]
    departments = _by(now, "department")
    h = html.escape
    city = profile.title.get("zh-Hans", "") if profile is not None else ""
    parts = [f"<!DOCTYPE html><html lang=\"zh-Hans\"><head><meta charset=\"utf-8\">"
             f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
             f"<title>部门考核报告 {h(period)} · Department assessment report</title>"
             f"<style>{_STYLE}</style></head><body><main>"
             f"<h1>部门考核报告 {h(period)}<br><span class=\"en\" lang=\"en\">Department "
             f"assessment report</span></h1>"
             f"<p class=\"summary\">{h(city)} 统计期 {h(period)}：{tally.issues} 件诉求，"
             f"{tally.cases} 个考核件（主办任务）。指标定义版本 {h(defs.version)}。"
             f"<br><span class=\"en\" lang=\"en\">Period {h(period)}: {tally.issues} issues, "
             f"{tally.cases} cases (lead assignments). Indicator definitions "
             f"{h(defs.version)}.</span></p>"]
    # 1. rates by department with the target lines
    parts.append("<h2>各部门指标 <span class=\"en\" lang=\"en\">Indicators by department"
                 "</span></h2>")
    for ind in defs.indicators:
        zh, _ = _UNIT[ind.unit]
        unit = "%" if ind.unit == "percent" else f" {zh}"
        bars = [(_name(profile, "department", key), per[ind.id].value,
                 _met(ind, per[ind.id].value)) for key, per in sorted(departments.items())
                if ind.id in per]
        if not bars:
            continue
        top = 100.0 if ind.unit == "percent" else max(
            [b[1] or 0 for b in bars] + [ind.target or 0]) * 1.15 or 1.0
        title = f"{ind.title['zh-Hans']} {ind.title['en']}"
        parts.append(f"<h3>{h(title)}</h3><p>{h(ind.description['zh-Hans'])}<br>"
                     f"<span class=\"en\" lang=\"en\">{h(ind.description['en'])}</span></p>")
        parts.append(bar_chart(f"{title} {period}", bars, ind.target, top, unit))
        rows = [[_name(profile, "department", key), per[ind.id].numerator,
                 per[ind.id].denominator, _fmt(per[ind.id].value)]
                for key, per in sorted(departments.items()) if ind.id in per]
        parts.append(_table(f"{title}（数据 data）", ["部门 Department", "分子 Numerator",
                                                      "分母 Denominator", "值 Value"], rows))
    # 2. trends by month, for the city
    parts.append("<h2>逐月趋势（全市） <span class=\"en\" lang=\"en\">Trends by month (city)"
                 "</span></h2>")
    months = _months_up_to(period, TREND_MONTHS)
    city_by = {(f.indicator, f.period): f for f in figures if f.dimension == "city"}
    for ind in defs.indicators:
        points = [(m, city_by[(ind.id, m)].value if (ind.id, m) in city_by else None)
                  for m in months]
        if all(v is None for _, v in points):
            continue
        zh, _ = _UNIT[ind.unit]
        top = 100.0 if ind.unit == "percent" else max(
            [v or 0 for _, v in points] + [ind.target or 0]) * 1.15 or 1.0
        title = f"{ind.title['zh-Hans']} {ind.title['en']}"
        parts.append(f"<h3>{h(title)}</h3>")
        parts.append(line_chart(f"{title} {months[0]}–{months[-1]}", points, ind.target, top,
                                "%" if ind.unit == "percent" else f" {zh}"))
        parts.append(_table(f"{title}（数据 data）", ["月份 Month", "值 Value"],
                            [[m, _fmt(v)] for m, v in points]))
    # 3. deadline misses by category
    on_time = [f for f in now if f.dimension == "category"
               and f.indicator == "on-time-completion-rate"]
    misses = sorted(((f.key, f.denominator - f.numerator) for f in on_time),
                    key=lambda m: (-m[1], m[0]))
    parts.append("<h2>各类别逾期办结 <span class=\"en\" lang=\"en\">Deadline misses by category"
                 "</span></h2>")
    if misses:
        top = max(m[1] for m in misses) * 1.15 or 1.0
        parts.append(bar_chart(f"逾期办结件数 Deadline misses {period}",
                               [(k, float(v), None) for k, v in misses], None, top, ""))
        parts.append(_table("逾期办结（数据 data）", ["类别 Category", "逾期件数 Misses",
                                                 "办结件数 Completed"],
                            [[f.key, f.denominator - f.numerator, f.denominator]
                             for f in sorted(on_time, key=lambda f: (f.numerator - f.denominator,
                                                                     f.key))]))
    else:
        parts.append("<p>本期没有办结的考核件。 <span class=\"en\" lang=\"en\">No case was "
                     "completed in this period.</span></p>")
    # 4. the worst-served communities: lowest satisfaction, then lowest response
    parts.append(f"<h2>服务最差的 {WORST} 个社区 <span class=\"en\" lang=\"en\">The {WORST} "
                 "worst-served communities</span></h2>")
    communities = _by(now, "community")

    def badness(item: tuple[str, dict[str, Figure]]) -> tuple[float, float, str]:
        per = item[1]
        sat = per.get("satisfaction-rate")
        resp = per.get("response-rate")
        return (sat.value if sat and sat.value is not None else 101.0,
                resp.value if resp and resp.value is not None else 101.0, item[0])

    worst = sorted(communities.items(), key=badness)[:WORST]
    shown = [i for i in defs.indicators if i.unit == "percent"]
    parts.append(_table(
        "满意率最低的社区 Communities with the lowest satisfaction",
        ["社区 Community"] + [f"{i.title['zh-Hans']} {i.title['en']}" for i in shown],
        [[key] + [_fmt(per[i.id].value) if i.id in per else "—" for i in shown]
         for key, per in worst]))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts.append(f"<footer><p>生成于 {stamp}；数字与 figures.json 相同。<br><span class=\"en\" "
                 f"lang=\"en\">Made {stamp}; the figures are those of figures.json.</span></p>"
                 "</footer></main></body></html>")
    return "\n".join(parts)


# -- the files -----------------------------------------------------------------------------

def _xlsx(path: Path, defs: Definitions, figures: Sequence[Figure],
          profile: Profile | None) -> None:
    import xlsxwriter  # type: ignore[import-untyped]  # the [report] extra

    book = xlsxwriter.Workbook(str(path))
    head_fmt = book.add_format({"bold": True, "text_wrap": True, "valign": "top",
                                "font_size": 12})
    for sheet_name, dimension in (("部门台账 Departments", "department"),
                                  ("社区 Communities", "community"),
                                  ("类别 Categories", "category")):
        sheet = book.add_worksheet(sheet_name)
        header = ledger_header(defs)
        header[0] = {"department": header[0], "community": "社区代码 Community code",
                     "category": "类别 Category"}[dimension]
        sheet.write_row(0, 0, header, head_fmt)
        sheet.set_row(0, 60)
        sheet.set_column(0, 1, 28)
        sheet.set_column(2, len(header), 14)
        sheet.freeze_panes(1, 2)
        for r, row in enumerate(ledger_rows(defs, figures, profile, dimension), 1):
            sheet.write_row(r, 0, row)
    book.close()


def write_report(tally: Tally, period: str, out: str | Path,
                 profile: Profile | None = None) -> ReportFiles:
    """Write the ledgers, the figures and the HTML report of ``period`` into folder ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    defs = tally.definitions
    now = tally.figures(period)
    files = ReportFiles(folder / f"ledger-{period}.csv", folder / f"ledger-{period}.xlsx",
                        folder / "figures.json", folder / "report.html")
    with files.ledger_csv.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(ledger_header(defs))
        writer.writerows(ledger_rows(defs, now, profile))
    _xlsx(files.ledger_xlsx, defs, now, profile)
    everything = {**tally.document(period, every_period=True), "issues": tally.issues,
                  "cases": tally.cases}
    files.figures_json.write_text(json.dumps(everything, ensure_ascii=False, indent=1) + "\n",
                                  encoding="utf-8")
    files.report_html.write_text(render_html(defs, tally, period, profile), encoding="utf-8")
    return files
