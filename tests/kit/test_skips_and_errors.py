"""The kit skips what the preset cannot exercise, reports what it cannot reach, and says
clearly what is wrong with its command line."""

from __future__ import annotations

import json
import socket
from datetime import UTC, date, datetime, time, timedelta, timezone
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcommunity.cli import run as cli
from smartcommunity.conformance import Preset, parse_preset, run
from smartcommunity.conformance.checks._residents import _born_turning

from .harness import Server
from .mutants import Rewrite

#: requirements whose tests need department principals
DEPARTMENT_TESTS = ["/req/issues/action-effects", "/req/issues/department-own-assignment",
                    "/req/issues/lifecycle-fields-read-only", "/req/issues/list-filters",
                    "/req/privacy/department-assigned-only", "/req/privacy/reporter-disclosure"]


@pytest.mark.slow
def test_a_preset_without_departments_skips_their_tests(served: Server,
                                                        preset_data: dict[str, Any]) -> None:
    data = {**preset_data, "principals": {n: p for n, p in preset_data["principals"].items()
                                          if p["role"] != "department"}}
    report = run(served.base_url, parse_preset(data), requirements=DEPARTMENT_TESTS)
    assert report["results"]
    for result in report["results"]:
        assert result["status"] == "skip", result
        assert "department" in result["message"]["en"]
        assert "department" in result["message"]["zh-Hans"]
        assert not result["exchanges"], "a skipped test sends nothing"
    # Nothing failed, but MUST requirements went unverified: qualified, never certified.
    assert report["verdict"] == "qualified"
    assert {u["requirement"] for u in report["unverified"]} == set(DEPARTMENT_TESTS)
    assert all(u["reason"]["en"] and u["reason"]["zh-Hans"] for u in report["unverified"])


@pytest.mark.slow
def test_one_department_is_not_enough_for_two(served: Server,
                                              preset_data: dict[str, Any]) -> None:
    principals = dict(preset_data["principals"])
    principals.pop("dept-housing")
    report = run(served.base_url, parse_preset({**preset_data, "principals": principals}),
                 requirements=["/req/issues/department-own-assignment"])
    (result,) = report["results"]
    assert result["status"] == "skip" and "2 × department" in result["message"]["en"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_server_gives_errors_not_a_crash(preset_data: dict[str, Any]) -> None:
    report = run(f"http://127.0.0.1:{_closed_port()}", parse_preset(preset_data),
                 classes=["/conf/core"])
    assert report["results"]
    assert {r["status"] for r in report["results"]} == {"error"}
    assert "cannot reach the server" in report["results"][0]["message"]["en"]
    assert report["verdict"] == "fail"


def test_the_cli_exits_non_zero_when_the_server_is_unreachable(
        preset_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli(["conformance", "run", "--base-url", f"http://127.0.0.1:{_closed_port()}",
                "--preset", str(preset_file), "--report-dir", str(tmp_path), "--quiet",
                "--classes", "/conf/core"])
    assert code == 1
    assert "NOT CERTIFIED" in capsys.readouterr().out
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    assert report["verdict"] == "fail"


def test_a_wrong_preset_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "preset.json"
    bad.write_text(json.dumps({"community": "110105001001", "principals": {
        "staff": {"token": "x", "role": "community-staf", "communities": ["110105001001"]}}}))
    code = cli(["conformance", "run", "--base-url", "http://127.0.0.1:9", "--preset", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert "principals/staff/role" in err and "conformance-preset.json" in err


def test_a_mistyped_class_is_an_error_not_a_silent_skip(
        preset_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli(["conformance", "run", "--base-url", "http://127.0.0.1:9",
                "--preset", str(preset_file), "--classes", "/conf/isues"])
    assert code == 2
    assert "did you mean /conf/issues" in capsys.readouterr().err


@pytest.mark.slow
def test_the_cli_runs_one_requirement(served: Server, preset_file: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code = cli(["conformance", "run", "--base-url", served.base_url, "--preset",
                str(preset_file), "--report-dir", str(tmp_path), "--requirements",
                "https://w3id.org/smartcommunity/spec/1.0/req/core/etag,/req/core/not-found"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    assert {r["requirement"] for r in report["results"]} == {"/req/core/etag",
                                                             "/req/core/not-found"}
    progress = [line for line in captured.err.splitlines() if line.startswith("[")]
    assert len(progress) == len(report["results"])


CHINA = timezone(timedelta(hours=8))


@pytest.mark.slow
def test_a_pass_says_what_the_time_of_the_run_left_unchecked(served: Server,
                                                             preset: Preset) -> None:
    """At noon in China its date and UTC's agree, so the minors check cannot meet one who came
    of age at midnight: it passes, and says so in both languages; the verdict stands."""
    real = datetime.now(UTC)
    ahead = datetime.combine(real.astimezone(CHINA).date(), time(12), CHINA) - real

    def noon(scope: dict[str, Any], status: int, headers: list[tuple[bytes, bytes]],
             body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        headers = [(k, v) for k, v in headers if k.lower() != b"date"]
        stamp = formatdate((datetime.now(UTC) + ahead).timestamp(), usegmt=True)
        return status, [*headers, (b"date", stamp.encode())], body

    served.serve(Rewrite(served.app, noon))
    report = run(served.base_url, preset, requirements=["/req/residents/minor-sensitive"])
    results = {r["id"].split("#")[1]: r for r in report["results"]}
    result = results["minor-sensitive"]  # the check of the age itself
    assert all(r["status"] == "pass" for r in results.values()) and report["verdict"] == "pass"
    assert result["message"]["en"].startswith("met; one who turns 14 today")
    assert "16:00 to 23:50 UTC" in result["message"]["en"]
    assert result["message"]["zh-Hans"].startswith("通过；未能检查")


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31)),
       st.integers(min_value=1, max_value=30))
def test_the_kit_finds_everyone_who_comes_of_age_on_a_day(day: date, age: int) -> None:
    """Those whose birthday of ``age`` years is ``day``, 29 February's on 1 March of a year
    without one, as the minors check creates them."""

    def of_age_on(born: date) -> date:
        try:
            return born.replace(year=born.year + age)
        except ValueError:
            return date(born.year + age, 3, 1)

    nearby = (day.replace(year=day.year - age, day=1) + timedelta(days=n) for n in range(-1, 62))
    found = _born_turning(day, age)
    assert len(found) == len(set(found))
    assert set(found) == {b for b in nearby if of_age_on(b) == day}
