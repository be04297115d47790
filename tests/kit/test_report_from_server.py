"""``smartcommunity report --base-url`` reads a live server as its regulator and writes the
figures the server itself gives at GET /indicators."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from smartcommunity.cli import run
from smartcommunity.conformance import Preset

from .harness import Server


@pytest.mark.slow
def test_the_report_of_a_server_matches_its_endpoint(served: Server, preset: Preset,
                                                     preset_file: Path,
                                                     tmp_path: Path) -> None:
    period = datetime.now(timezone(timedelta(hours=8))).strftime("%Y-%m")
    assert run(["report", "--base-url", served.base_url, "--preset", str(preset_file),
                "--period", period, "--out", str(tmp_path), "--quiet"]) == 0
    written = json.loads((tmp_path / "figures.json").read_text("utf-8"))
    assert written["issues"] > 0
    regulator = next(p for p in preset.principals.values() if p.role == "regulator")
    periods = sorted({f["period"] for f in written["figures"]})
    assert periods, "the demo's dispatched issues give figures"
    for month in periods:  # every month the written JSON covers, as the server gives it
        resp = httpx.get(f"{served.base_url}/indicators", params={"period": month},
                         headers={"Authorization": f"Bearer {regulator.token}"})
        assert resp.status_code == 200
        served_figures = resp.json()["figures"]
        assert served_figures
        assert [f for f in written["figures"] if f["period"] == month] == served_figures


def test_a_server_that_cannot_be_reached_is_a_usage_error(preset_file: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    assert run(["report", "--base-url", "http://127.0.0.1:9", "--preset", str(preset_file),
                "--period", "2026-11", "--out", str(tmp_path), "--quiet"]) == 2
    assert "cannot read" in capsys.readouterr().err
