"""The packaged preset for the reference server's demo stays in step with the demo's tokens."""

from __future__ import annotations

import json
from pathlib import Path

import smartcommunity.conformance as conformance
from smartcommunity.conformance import load_preset

from .harness import demo_preset_data

PACKAGED = Path(conformance.__file__).parent / "demo-preset.json"


def test_the_packaged_demo_preset_matches_the_demo_tokens() -> None:
    data = json.loads(PACKAGED.read_text("utf-8"))
    assert data.pop("baseUrl") == "http://127.0.0.1:8311"  # smartcommunity serve's default
    assert data == demo_preset_data()
    assert load_preset(PACKAGED).by_role("community-staff") is not None
