"""The library's action effects (smartcommunity.lifecycle._effects), which the server relies on."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from smartcommunity import InvalidActionDetails, validate
from smartcommunity.lifecycle import lifecycle_for
from smartcommunity.lifecycle._effects import has_effect, merge_into_target, vote_outcome

from .helpers import EXAMPLES

GAS = EXAMPLES["issue/gas-heater-elderly-closed.json"]
LIFT = EXAMPLES["consultation/lift-installation-building-3.json"]
TIMES = ("at",)


def test_replaying_the_closed_loop_rebuilds_the_lifecycle_members() -> None:
    """From the submitted issue, the recorded events and the inputs details cannot carry
    (departments, the follow-up) give back the example's assignments, extension and follow-up."""
    lc = lifecycle_for("Issue")
    doc = {k: copy.deepcopy(v) for k, v in GAS.items()
           if k not in ("assignments", "followUps", "resolution", "reply", "history", "status")}
    doc["deadlines"] = {"responseDue": GAS["deadlines"]["responseDue"],
                        "resolutionDue": GAS["history"][2]["details"]["dueAt"]}
    inputs = {"assignments": [{"id": a["id"], "department": a["department"],
                               "dueAt": a["dueAt"]} for a in GAS["assignments"]],
              "followUps": copy.deepcopy(GAS["followUps"])}
    for event in GAS["history"]:
        applied = lc.apply(doc, event["action"], actor=event["actor"], at=event["at"],
                           details=event.get("details"), note=event.get("note"),
                           reason=event.get("reason"), inputs=inputs)
        assert applied.event == event
        doc = applied.document
    assert doc["history"] == GAS["history"] and doc["status"] == GAS["status"]
    assert doc["resolution"] == GAS["resolution"] and doc["reply"] == GAS["reply"]
    got = {a["id"]: a for a in doc["assignments"]}
    for expected in GAS["assignments"]:
        mine = got[expected["id"]]
        for member in ("department", "role", "returnReason", "returnNote", "reassignedTo",
                       "assignedAt", "returnedAt"):
            assert mine.get(member) == expected.get(member), (expected["id"], member)
    lead = got["8ba1fd33-76ef-4824-8405-ba190c90ee01"]
    assert lead["status"] == "completed" and lead["dueAt"] == "2025-01-22T18:00:00+08:00"
    ext = doc["deadlines"]["extensions"][0]
    assert {k: ext[k] for k in ("previousDue", "newDue", "reason", "at")} == {
        k: GAS["deadlines"]["extensions"][0][k] for k in ("previousDue", "newDue", "reason", "at")}
    assert doc["deadlines"]["resolutionDue"] == GAS["deadlines"]["resolutionDue"]
    assert doc["followUps"][0]["id"] == GAS["followUps"][0]["id"]
    assert [f.code for f in validate(doc).errors] == []


def test_dispatch_without_a_department_is_refused() -> None:
    lc = lifecycle_for("Issue")
    doc = copy.deepcopy(GAS)
    doc["status"] = "accepted"
    doc["history"] = GAS["history"][:2]
    for member in ("assignments", "resolution", "reply", "followUps"):
        doc.pop(member)
    with pytest.raises(InvalidActionDetails) as info:
        lc.apply(doc, "dispatch", actor={"role": "community-staff", "name": "刘芳"},
                 details={"lead": "0c0e7b4e-6c55-4d2c-9d6e-9a9d60a8d0e1"})
    assert info.value.context["errors"][0][0] == "/details/lead"


@pytest.mark.parametrize("vote", LIFT["votes"], ids=[v["id"] for v in LIFT["votes"]])
def test_vote_outcome_agrees_with_the_example(vote: dict[str, Any]) -> None:
    results = vote["results"]
    assert vote_outcome(vote, LIFT["eligibility"]["eligibleCount"]) == (
        results["quorumMet"], results["result"], results.get("winningOptionId"))


def test_vote_outcome_rules() -> None:
    vote = copy.deepcopy(LIFT["votes"][1])  # a choice between options, more than half valid
    tally = vote["results"]["tally"]
    tally["options"][1]["total"] = tally["options"][0]["total"]
    assert vote_outcome(vote, 36)[1] == "tie"
    tally["participation"]["total"] = 10
    assert vote_outcome(vote, 36)[:2] == (False, "no-quorum")
    vote.pop("quorum")
    for option in tally["options"]:
        option["total"] = 0
    assert vote_outcome(vote, 36) == (True, "failed", None)


def test_merge_into_target_is_idempotent() -> None:
    target = {"id": "a", "mergedDuplicates": ["b"]}
    assert merge_into_target(target, "c")["mergedDuplicates"] == ["b", "c"]
    assert merge_into_target(target, "b")["mergedDuplicates"] == ["b"]
    assert target == {"id": "a", "mergedDuplicates": ["b"]}


def test_every_action_that_writes_more_than_its_sets_has_an_effect() -> None:
    for action in ("dispatch", "claim", "return", "reassign", "extend-deadline", "resolve",
                   "follow-up", "merge", "withdraw"):
        assert has_effect("Issue", action)
    assert has_effect("Consultation", "close-vote")
    assert not has_effect("Issue", "supervise")
