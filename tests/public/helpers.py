"""Documents for the public pages' tests: spec examples made public or kept to the community,
and issues spread over cells of chosen sizes."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smartcommunity.specification import load_spec

EXAMPLES = load_spec("1.0").folder / "examples"
#: the moment the tests' servers and figures take for now: every month of 2026 has ended, and
#: January 2027 runs (/req/public-pages/small-cells publishes only months that have ended)
NOW = datetime(2027, 1, 15, 3, 0, tzinfo=UTC)
LIFT = "consultation/lift-installation-building-3.json"
#: a resident named in the lift example (a party of it): must never be on a public page
RESIDENT_NAME = "王桂英"
#: the lift consultation's opinions (app, door-to-door and paper) and co-signed proposal
LIFT_VOICES = ("opinion/lift-app-chen-zhiqiang.json", "opinion/lift-door-to-door-wang-guiying.json",
               "opinion/lift-paper-zhao-min.json", "proposal/lift-accessible-ramp.json")


def example(name: str, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(Path(EXAMPLES, name).read_text(encoding="utf-8"))
    doc = copy.deepcopy(doc)
    doc["id"] = str(uuid.uuid4())
    doc.update(changes)
    return doc


def issue(category: str, community: str, submitted: str) -> dict[str, Any]:
    """The fire-lane example as a new issue in ``category``/``community`` at ``submitted``."""
    doc = example("issue/fire-lane-submitted.json", category=category,
                  communityDivisionCode=community, submittedAt=submitted)
    doc.pop("externalRefs", None)
    doc.pop("meta", None)
    doc.pop("gridCode", None)  # the example's grid lies in its own community
    history = doc.get("history")
    if isinstance(history, list) and history:
        history[0]["at"] = submitted
    return doc


def voices_on(consultation: dict[str, Any]) -> list[dict[str, Any]]:
    """The lift example's opinions and proposal, made on ``consultation``."""
    docs = [example(name) for name in LIFT_VOICES]
    for doc in docs:
        doc["consultation"] = {"resourceType": "Consultation", "id": consultation["id"]}
        doc.pop("meta", None)
    return docs
