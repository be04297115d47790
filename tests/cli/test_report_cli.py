"""``smartcommunity report``: ledgers, figures and the HTML page agree with the library."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from smartcommunity.cli import run
from smartcommunity.indicators import compute
from smartcommunity.profiles import load_profile

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "spec/tests/1.0/indicators/figures.json").read_text("utf-8"))
PROFILE = ROOT / "spec/1.0/profiles/beijing-chaoyang.json"
ISSUES = VECTORS[0]["issues"] + VECTORS[1]["issues"]


@pytest.fixture
def issues_file(tmp_path: Path) -> Path:
    path = tmp_path / "issues.ndjson"
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in ISSUES), "utf-8")
    return path


def _report(issues_file: Path, out: Path, *extra: str) -> dict[str, Any]:
    code = run(["report", "--input", str(issues_file), "--period", "2026-11", "--out", str(out),
                "--quiet", *extra])
    assert code == 0
    figures: dict[str, Any] = json.loads((out / "figures.json").read_text("utf-8"))
    return figures


def test_the_json_holds_every_figure_the_library_computes(issues_file: Path,
                                                          tmp_path: Path) -> None:
    out = _report(issues_file, tmp_path / "out", "--profile", str(PROFILE))
    expected = [f.as_json() for f in compute(ISSUES, load_profile(PROFILE))]
    assert out["figures"] == expected
    assert out["period"] == "2026-11" and out["issues"] == len(ISSUES)
    assert {i["id"] for i in out["indicators"]} >= {"response-rate",
                                                    "cn.gov.beijing.very-satisfied-rate"}


def test_the_ledger_csv_and_xlsx_and_html_show_the_json_figures(issues_file: Path,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "out"
    figures = _report(issues_file, out, "--profile", str(PROFILE))
    now = {(f["indicator"], f["key"]): f for f in figures["figures"]
           if f["period"] == "2026-11" and f["dimension"] == "department"}
    with (out / "ledger-2026-11.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    head, body = rows[0], rows[1:]
    assert sorted(r[0] for r in body) == sorted({k for _, k in now})
    for row in body:
        for ind in figures["indicators"]:
            col = next(i for i, h in enumerate(head)
                       if h.startswith(f"{ind['title']['zh-Hans']} ") and "分母" in h)
            fig = now.get((ind["id"], row[0]))
            assert row[col] == ("" if fig is None else str(fig["denominator"]))
            assert row[col + 1] == ("" if fig is None or fig["value"] is None
                                    else str(fig["value"]))
    with zipfile.ZipFile(out / "ledger-2026-11.xlsx") as book:
        names = book.namelist()
        assert sum(n.startswith("xl/worksheets/sheet") for n in names) == 3
        strings = book.read("xl/sharedStrings.xml").decode("utf-8")
        assert "urban-management" in strings and "部门台账" in book.read(
            "xl/workbook.xml").decode("utf-8")
    page = (out / "report.html").read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'lang="zh-Hans"' in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "<script" not in page
    assert page.count("<svg") >= 8
    # the target line of the city's response-rate target is drawn
    assert "目标 target 95%" in page
    for (ind, key), fig in now.items():
        if fig["value"] is not None:
            assert f"<td>{fig['numerator']}</td><td>{fig['denominator']}</td>" in page, (ind, key)


def test_without_a_profile_there_are_no_targets(issues_file: Path, tmp_path: Path) -> None:
    out = _report(issues_file, tmp_path / "plain")
    assert all("target" not in i for i in out["indicators"])
    assert "目标 target" not in (tmp_path / "plain" / "report.html").read_text("utf-8")


@pytest.mark.parametrize("argv", [
    ["--period", "2026-13"],
    ["--period", "0000-01"],  # no calendar's
    ["--period", "November"],
    ["--period", "2026-11", "--input", "/nonexistent/issues.ndjson"],
])
def test_bad_arguments_exit_2_with_a_message(argv: list[str], issues_file: Path,
                                             tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    if "--input" not in argv:
        argv = [*argv, "--input", str(issues_file)]
    assert run(["report", *argv, "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert capsys.readouterr().err.strip()
    assert not (tmp_path / "o" / "figures.json").exists()


def test_a_base_url_needs_a_preset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["report", "--base-url", "http://127.0.0.1:9", "--period", "2026-11",
                "--out", str(tmp_path / "o")]) == 2
    assert "--preset" in capsys.readouterr().err


def test_a_broken_line_is_reported_not_a_traceback(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text(json.dumps(ISSUES[0]) + "\nnot json\n", "utf-8")
    assert run(["report", "--input", str(bad), "--period", "2026-11", "--out",
                str(tmp_path / "o"), "--quiet", "--engine", "python"]) == 2
    assert "bad.ndjson:2" in capsys.readouterr().err  # the streaming pass names the line
    assert run(["report", "--input", str(bad), "--period", "2026-11", "--out",
                str(tmp_path / "o"), "--quiet", "--engine", "duckdb"]) == 2
    assert "bad.ndjson" in capsys.readouterr().err


def test_both_engines_write_the_same_figures(issues_file: Path, tmp_path: Path) -> None:
    duck = _report(issues_file, tmp_path / "duck", "--profile", str(PROFILE), "--engine",
                   "duckdb")
    plain = _report(issues_file, tmp_path / "plain", "--profile", str(PROFILE), "--engine",
                    "python")
    assert duck == plain
