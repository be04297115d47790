"""Reports of a kit run: JSON (conformance-report.json), JUnit XML, and bilingual HTML."""

from __future__ import annotations

import copy
import json
import shlex
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

ORDER = {"fail": 0, "error": 1, "warn": 2, "skip": 3, "pass": 4}
STATUS_TEXT = {
    "pass": ("通过", "pass"), "fail": ("不通过", "fail"), "warn": ("警告", "warning"),
    "skip": ("跳过", "skipped"), "error": ("故障", "error"),
    "not-declared": ("未声明", "not declared"), "qualified": ("有保留", "qualified"),
}
VERDICT_TEXT = {
    "pass": ("通过认证", "CERTIFIED"),
    "qualified": ("有保留：未全部验证", "QUALIFIED: NOT EVERYTHING VERIFIED"),
    "fail": ("未通过", "NOT CERTIFIED"),
}
#: Chinese faces first, each platform's own, then Noto (Debian: fonts-noto-cjk)
FONTS = ('"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", '
         '"WenQuanYi Micro Hei", "Hiragino Sans GB", system-ui, sans-serif')
#: options that choose what runs or where reports go; a re-run sets its own
_SCOPE = ("--classes", "--requirements", "--report-dir")


def rerun_command(command: Sequence[str], requirement: str) -> str:
    """The run's own command line narrowed to one requirement, with its own report folder,
    ready to paste into a shell."""
    args = list(command)
    kept: list[str] = []
    i = 0
    while i < len(args):
        if args[i] in _SCOPE:
            i += 2
            continue
        if args[i].split("=", 1)[0] in _SCOPE:
            i += 1
            continue
        kept.append(args[i])
        i += 1
    slug = requirement.strip("/").replace("/", "-")
    return shlex.join([*kept, "--requirements", requirement,
                       "--report-dir", f"conformance-rerun-{slug}"])


def write_reports(report: dict[str, Any], folder: str | Path,
                  requirements_url: str | None = None) -> dict[str, Path]:
    """Write report.json, junit.xml and report.html into ``folder``; return their paths."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    report = _bodies_to_files(report, out)
    paths = {"json": out / "report.json", "junit": out / "junit.xml", "html": out / "report.html"}
    paths["json"].write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", "utf-8")
    paths["junit"].write_bytes(junit(report))
    paths["html"].write_text(html(report, requirements_url), "utf-8")
    return paths


def _bodies_to_files(report: dict[str, Any], out: Path) -> dict[str, Any]:
    """A copy of ``report`` whose long request bodies are written to the files their curl
    commands read (``requestBodyFile``, relative to the report folder)."""
    if not any("requestBody" in e for r in report["results"] for e in r.get("exchanges", [])):
        return report
    written = copy.deepcopy(report)
    for r in written["results"]:
        for e in r.get("exchanges", []):
            body = e.pop("requestBody", None)
            if body is not None:
                target = out / e["requestBodyFile"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(body, "utf-8")
    return written


def junit(report: dict[str, Any]) -> bytes:
    suites = ET.Element("testsuites", name="smartcommunity conformance",
                        time=f"{report.get('durationMs', 0) / 1000:.3f}")
    for cls in report["classes"]:
        mine = [r for r in report["results"] if r["class"] == cls["id"]]
        counts = cls["counts"]
        suite = ET.SubElement(
            suites, "testsuite", name=cls["id"], tests=str(len(mine)),
            failures=str(counts.get("fail", 0)), errors=str(counts.get("error", 0)),
            skipped=str(counts.get("skip", 0)),
        )
        for r in mine:
            case = ET.SubElement(suite, "testcase", classname=cls["id"], name=r["id"],
                                 time=f"{r.get('durationMs', 0) / 1000:.3f}")
            text = "\n".join(f"$ {e['curl']}\n{e.get('status')} {e.get('response', '')}"
                             for e in r.get("exchanges", []))
            message = r["message"]["en"]
            if r["status"] == "fail":
                ET.SubElement(case, "failure", message=message).text = text
            elif r["status"] == "error":
                ET.SubElement(case, "error", message=message).text = text
            elif r["status"] == "skip":
                ET.SubElement(case, "skipped", message=message)
            elif r["status"] == "warn":
                ET.SubElement(case, "system-out").text = f"warning: {message}\n{text}"
            elif message != "met":  # a pass that says what it could not try
                ET.SubElement(case, "system-out").text = message
    body: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _both(zh: str, en: str) -> str:
    return f'<span lang="zh-Hans">{escape(zh)}</span><span lang="en">{escape(en)}</span>'


def _anchor(requirement: str) -> str:
    """``/req/issues/if-match`` → ``req-issues-if-match``, the docs site's anchor."""
    return "req-" + requirement.strip("/").replace("/", "-")[4:]


def _statements(version: str) -> dict[str, dict[str, str]]:
    try:
        from ..specification import load_spec

        return {rid: dict(req.statement) for rid, req in load_spec(version).requirements.items()}
    except Exception:  # a report of another version still renders, without the statements
        return {}


def _exchange(e: dict[str, Any], label: tuple[str, str], opened: bool) -> str:
    return (
        f'<details class="exchange"{" open" if opened else ""}>'
        f'<summary>{_both(*label)} <code>{escape(e["method"])} {escape(e["url"])}</code> → '
        f'{e.get("status")}</summary>'
        f'<p>{_both("复现：", "Reproduce:")}</p><pre class="curl">{escape(e["curl"])}</pre>'
        f'<p>{_both("响应摘录：", "Response excerpt:")}</p><pre>{escape(e.get("response", ""))}</pre>'
        "</details>")


def _article(r: dict[str, Any], base: str, statements: dict[str, dict[str, str]],
             command: Sequence[str]) -> str:
    zh, en = STATUS_TEXT[r["status"]]
    link = f'{base}#{_anchor(r["requirement"])}'
    failed = r["status"] in ("fail", "error", "warn")
    exchanges = list(r.get("exchanges", []))
    parts = []
    if r["status"] in ("pass", "skip"):
        # a passed test lists its last requests; their curl commands are in report.json
        parts.append('<ul class="sent">' + "".join(
            f'<li><code>{escape(e["method"])} {escape(e["url"])}</code> → {e.get("status")}</li>'
            for e in exchanges) + "</ul>" if exchanges else "")
        statements = {}
    for i, e in enumerate(exchanges if not parts else []):
        last = i == len(exchanges) - 1
        label = ("出错的请求", "The request that failed") if failed and last else (
            "请求", "Request")
        parts.append(_exchange(e, label, failed and last))
    statement = statements.get(r["requirement"])
    said = (f'<blockquote class="statement">{_both(statement.get("zh-Hans", ""), statement.get("en", ""))}'
            "</blockquote>") if statement else ""
    rerun = (f'<p class="rerun">{_both("只重跑这一需求：", "Re-run only this requirement: ")}'
             f'<code class="rerun-command">{escape(rerun_command(command, r["requirement"]))}'
             "</code></p>" if failed and command else "")
    title = r.get("title", {})
    return (
        f'<article class="result {r["status"]}" id="{escape(r["id"])}">'
        f'<h3><span class="badge">{_both(zh, en)}</span> '
        f'{_both(title.get("zh-Hans", r["id"]), title.get("en", r["id"]))}</h3>'
        f'<p class="meta"><a class="requirement" href="{escape(link)}">{escape(r["requirement"])}</a> · '
        f'{escape(r["level"])} · <code>{escape(r["id"])}</code> · {r.get("durationMs", 0)} ms</p>'
        f"{said}"
        f'<p class="message">{_both(r["message"]["zh-Hans"], r["message"]["en"])}</p>'
        f'{rerun}{"".join(parts)}</article>')


def _cell_html(cell: dict[str, Any] | None) -> str:
    """✓ n: served, n tagged values compared, nothing leaked; ✗: the pointers that leaked;
    otherwise the status (or – when the reader was answered without this record)."""
    if cell is None:
        return '<td class="none"></td>'
    if cell["leaks"]:
        where = ", ".join(cell["leaks"][:4])
        return f'<td class="leak" title="{escape(where)}">✗ {escape(where)}</td>'
    if cell.get("served"):
        return f'<td class="ok">✓ {cell.get("compared", 0)}</td>'
    status = cell.get("status")
    return f'<td class="none">{"–" if status == 200 else escape(str(status))}</td>'


def matrix_html(results: list[dict[str, Any]]) -> str:
    """The role × read path × record matrix of the checks that record one."""
    out = []
    for r in results:
        cells = r.get("matrix") or []
        if not cells:
            continue
        columns = list(dict.fromkeys((c["resourceType"], c["endpoint"]) for c in cells))
        readers = list(dict.fromkeys((c["reader"], c.get("role"), c["audience"]) for c in cells))
        at = {(c["reader"], c["resourceType"], c["endpoint"]): c for c in cells}
        types = list(dict.fromkeys(rt for rt, _ in columns))
        head = "".join(f'<th colspan="{sum(1 for t, _ in columns if t == rt)}">{escape(rt)}</th>'
                       for rt in types)
        sub = "".join(f"<th>{escape(e)}</th>" for _, e in columns)
        rows = []
        for name, role, audience in readers:
            who = {"-": ("（无令牌）", "(no token)"), "?": ("（无效令牌）", "(invalid token)")}
            label = _both(*who[name]) if name in who else f"<code>{escape(name)}</code>"
            rows.append(f"<tr><th>{label}<br>{escape(role or '')} → {escape(audience)}</th>"
                        + "".join(_cell_html(at.get((name, rt, e))) for rt, e in columns)
                        + "</tr>")
        out.append(
            f'<section class="matrix"><h3><code>{escape(r["id"])}</code></h3>'
            f'<p>{_both("✓ n：提供了记录，比对 n 个标注字段值，无泄露；✗：泄露的字段；数字：状态码；–：未提供该记录。", "✓ n: the record served, n tagged values compared, nothing leaked; ✗: the fields that leaked; a number: the status; –: the record was not served.")}</p>'
            f'<table><thead><tr><th rowspan="2">{_both("读者（角色 → 受众）", "Reader (role → audience)")}'
            f"</th>{head}</tr><tr>{sub}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            "</section>")
    if not out:
        return ""
    return f'<h2>{_both("隐私矩阵", "Privacy matrix")}</h2>' + "".join(out)


def _local(stamp: str) -> str:
    """``2026-12-03T08:04:51+08:00`` → ``2026-12-03 08:04:51 (UTC+08:00)``."""
    if len(stamp) < 25:
        return stamp
    return f"{stamp[:10]} {stamp[11:19]} (UTC{stamp[19:]})"


def html(report: dict[str, Any], requirements_url: str | None = None) -> str:
    """The bilingual report page: verdict, classes, failures first with the exact curl."""
    base = requirements_url or "https://w3id.org/smartcommunity/requirements/"
    verdict = report["verdict"]
    results = sorted(report["results"], key=lambda r: (ORDER[r["status"]], r["id"]))
    statements = _statements(str(report.get("specVersion", "1.0")))
    rows = []
    for cls in report["classes"]:
        zh, en = STATUS_TEXT[cls["verdict"]]
        c = cls["counts"]
        rows.append(
            f'<tr class="{cls["verdict"]}"><td>{_both(cls["title"]["zh-Hans"], cls["title"]["en"])}'
            f'<br><code>{escape(cls["id"])}</code></td><td>{_both(zh, en)}</td>'
            + "".join(f"<td>{c.get(k, 0)}</td>" for k in ("pass", "fail", "warn", "skip", "error"))
            + "</tr>")
    shown = [r for r in results if r["status"] != "pass"]
    passed = [r for r in results if r["status"] == "pass"]
    command = report.get("command", [])
    items = [_article(r, base, statements, command) for r in shown]
    if passed:
        items.append(
            f'<details id="passed"><summary>{_both(f"通过的测试（{len(passed)}）", f"Passed tests ({len(passed)})")}'
            "</summary>" + "".join(_article(r, base, statements, command) for r in passed)
            + "</details>")
    failures = sum(1 for r in results if r["status"] in ("fail", "error"))
    unknown = "".join(f"<li><code>{escape(u)}</code></li>" for u in report.get("unknownClasses", []))
    uncovered = [rid for rid, ids in report.get("coverage", {}).items() if not ids]
    verdict_zh, verdict_en = VERDICT_TEXT[verdict]
    unverified = "".join(
        f'<li><a href="#{escape(u["test"])}"><code>{escape(u["requirement"])}</code></a>：'
        f'{_both(u["reason"]["zh-Hans"], u["reason"]["en"])}</li>'
        for u in report.get("unverified", []))
    return f"""<!DOCTYPE html>
<html lang="zh-Hans" data-lang="zh-Hans">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>一致性测试报告 / Conformance report — {escape(report["baseUrl"])}</title>
<style>
body {{ font-family: {FONTS}; margin: 2rem auto;
       max-width: 70rem; padding: 0 1rem; color: #1d2330; }}
html[data-lang="zh-Hans"] [lang="en"], html[data-lang="en"] [lang="zh-Hans"] {{ display: none; }}
#verdict {{ font-size: 2rem; padding: 1rem 1.5rem; border-radius: .5rem; color: #fff; }}
#verdict.pass {{ background: #1b7f3b; }} #verdict.fail {{ background: #b3261e; }}
#verdict.qualified {{ background: #8a5a00; }}
table {{ border-collapse: collapse; width: 100%; margin: 1rem 0; }}
td, th {{ border: 1px solid #ccd; padding: .4rem .6rem; text-align: left; vertical-align: top; }}
tr.fail td:nth-child(2) {{ color: #b3261e; font-weight: bold; }}
tr.pass td:nth-child(2) {{ color: #1b7f3b; }}
article.result {{ border-left: .4rem solid #99a; padding: .2rem 1rem; margin: 1rem 0; background: #f7f8fb; }}
article.fail, article.error {{ border-color: #b3261e; }} article.warn {{ border-color: #c77700; }}
article.pass {{ border-color: #1b7f3b; }} article.skip {{ border-color: #889; }}
.badge {{ font-size: .8rem; padding: .1rem .4rem; border-radius: .3rem; background: #dde; }}
pre {{ white-space: pre-wrap; word-break: break-all; background: #fff; padding: .5rem;
       border: 1px solid #dde; font-size: .85rem; }}
button {{ float: right; font-size: 1rem; }}
blockquote.statement {{ margin: .4rem 0; padding: .2rem .8rem; border-left: .2rem solid #ccd; color: #3a4150; }}
details.exchange > summary {{ cursor: pointer; }}
#passed > summary {{ cursor: pointer; font-size: 1.2rem; margin: 1rem 0; }}
section.matrix {{ overflow-x: auto; }} section.matrix td {{ text-align: center; white-space: nowrap; }}
td.ok {{ color: #1b7f3b; }} td.leak {{ background: #fbe4e2; color: #b3261e; font-weight: bold; }}
td.none {{ color: #889; }}
</style>
</head>
<body>
<button type="button" id="lang-switch" onclick="var h=document.documentElement;h.dataset.lang=h.dataset.lang==='en'?'zh-Hans':'en';h.lang=h.dataset.lang;">中文 / English</button>
<h1>{_both("智慧社区互操作标准 一致性测试报告", "Smart Community Interoperability Standard — conformance report")}</h1>
<p>{_both("被测服务器：", "Server under test: ")}<code>{escape(report["baseUrl"])}</code> ·
{_both("标准版本", "standard version")} {escape(report["specVersion"])} ·
{_both("开始于", "started")} {escape(_local(report.get("startedAt", "")))} ·
{_both("耗时", "took")} {report.get("durationMs", 0) / 1000:.1f} s · seed {report.get("seed", 0)}</p>
<div id="verdict" class="{verdict}">{_both(verdict_zh, verdict_en)}</div>
<p>{_both(f"{failures} 项不通过或故障。核心类和服务器声明的每个类都通过、且其中每条 MUST 需求都已验证时，才通过认证。",
          f"{failures} failed or errored. Certification needs core and every declared class to pass, with every MUST requirement in them verified.")}</p>
{f'<h2 id="unverified">{_both("未验证的 MUST 需求", "MUST requirements not verified")}</h2><p>{_both("以下需求的测试被跳过，服务器是否满足它们未知。补全预设（或按原因处理）后重跑，才能给出认证。", "The tests of these requirements were skipped, so whether the server meets them is unknown. Complete the preset (or remove the cause given) and run again before certifying.")}</p><ul>{unverified}</ul>' if unverified else ""}
{f'<h2>{_both("未知的一致性类", "Unknown conformance classes")}</h2><ul>{unknown}</ul>' if unknown else ""}
<h2>{_both("各一致性类", "Conformance classes")}</h2>
<table><thead><tr><th>{_both("类", "Class")}</th><th>{_both("结论", "Verdict")}</th>
<th>{_both("通过", "pass")}</th><th>{_both("不通过", "fail")}</th><th>{_both("警告", "warn")}</th>
<th>{_both("跳过", "skip")}</th><th>{_both("故障", "error")}</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
{matrix_html(results)}
<h2>{_both("结果（不通过的在前）", "Results (failures first)")}</h2>
{"".join(items)}
<h2>{_both("覆盖", "Coverage")}</h2>
<p>{_both(f"{len(report.get('coverage', {}))} 条需求，{len(uncovered)} 条没有测试。",
          f"{len(report.get('coverage', {}))} requirements, {len(uncovered)} without a test.")}</p>
{f'<h2>{_both("复现", "Reproduce")}</h2><p>{_both("本次运行的命令（令牌在预设文件中，不在命令里）：", "The command of this run (tokens stay in the preset file, not on the command line):")}</p><pre id="command">{escape(shlex.join(command))}</pre>' if command else ""}
<p>{_both("curl 命令中的 @request-bodies/… 是报告目录中保存的请求体，请在报告目录中运行。", "A curl command's @request-bodies/… is a request body kept in the report folder: run it from there.")}</p>
<p>{_both("报告不写出令牌：curl 命令以环境变量 SC_TOKEN_<预设中的主体名，大写，- 改为 _> 代替各主体的令牌，运行前请按预设设置这些变量。", "The report writes no token: a curl command names each principal's token by the variable SC_TOKEN_<the principal's name in the preset, in capitals, - as _>; set them from the preset before running it.")}</p>
<footer><p>{_both("本报告用系统中的中文字体显示（思源黑体/Noto Sans CJK、苹方、微软雅黑、文泉驿等）。如果汉字显示为方框，请安装 Noto Sans CJK（Debian：fonts-noto-cjk）。", "This report uses the Chinese fonts on the system (Noto Sans CJK / Source Han Sans, PingFang, Microsoft YaHei, WenQuanYi …). If Chinese shows as boxes, install Noto Sans CJK (Debian: fonts-noto-cjk).")}</p></footer>
</body>
</html>
"""
