"""Lifecycles of issues, consultations, opinions and proposals, read from the spec's tables.

>>> from smartcommunity.lifecycle import lifecycle_for
>>> issues = lifecycle_for("Issue")
>>> sorted(issues.allowed_actions("submitted", "community-staff"))  # doctest: +SKIP
"""

from __future__ import annotations

from ._effects import (
    Thresholds,
    merge_into_target,
    quorum_outcome,
    result_outcome,
    vote_outcome,
    with_thresholds,
)
from ._machine import Applied, Lifecycle, Transition, apply_action, lifecycle_for
from ._voice import supporter_of

__all__ = ["Applied", "Lifecycle", "Thresholds", "Transition", "apply_action", "lifecycle_for",
           "merge_into_target", "quorum_outcome", "result_outcome", "supporter_of",
           "vote_outcome", "with_thresholds"]
