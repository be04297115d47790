"""The Chaoyang example city and its registered extension, as the extension tests build on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PROFILES = Path(__file__).resolve().parents[2] / "spec" / "1.0" / "profiles"
EXAMPLES = PROFILES.parent / "examples"
BIG = PROFILES / "beijing-chaoyang.json"
#: the namespace of the extension the city registers
KEY = "cn.gov.beijing.jiesujiban"


def profile_data() -> dict[str, Any]:
    """The city's profile with its organisation registry read in."""
    data: dict[str, Any] = json.loads(BIG.read_text(encoding="utf-8"))
    file = BIG.parent / data["organisations"]["file"]
    data["organisations"] = [json.loads(line) for line in file.read_text("utf-8").splitlines()]
    return data


def issue_with(extension: Any) -> dict[str, Any]:
    """An example issue carrying ``extension`` under the city's namespace."""
    doc: dict[str, Any] = json.loads(
        (EXAMPLES / "issue" / "gas-heater-elderly-closed.json").read_text("utf-8"))
    doc["extensions"] = {KEY: extension}
    return doc
