"""The conformance kit: what a city regulator runs against a vendor's server to certify it.

>>> from smartcommunity.conformance import load_preset, run, write_reports  # doctest: +SKIP
>>> report = run("http://127.0.0.1:8311", load_preset("preset.json"))       # doctest: +SKIP
>>> write_reports(report, "reports/")                                       # doctest: +SKIP

Every test cites the requirement it checks; results are pass, fail, warn (a SHOULD not met),
skip (a precondition not met) or error (a fault of the kit or the network).
"""

from __future__ import annotations

from ._client import Exchange
from ._openapi import ApiOperation, OpenApiJudge, Violation
from ._preset import Preset, PresetError, Principal, load_preset, parse_preset
from ._registry import Failed, KitTest, Skipped, check
from ._report import VERDICT_TEXT, html, junit, rerun_command, write_reports
from ._runner import all_tests, coverage, run

__all__ = [
    "VERDICT_TEXT",
    "ApiOperation",
    "Exchange",
    "Failed",
    "KitTest",
    "OpenApiJudge",
    "Preset",
    "PresetError",
    "Principal",
    "Skipped",
    "Violation",
    "all_tests",
    "check",
    "coverage",
    "html",
    "junit",
    "load_preset",
    "parse_preset",
    "rerun_command",
    "run",
    "write_reports",
]
