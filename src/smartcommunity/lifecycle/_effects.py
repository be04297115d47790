"""What a lifecycle action does to a document beyond the generic transition.

``Lifecycle.apply`` sets the status, writes the table's ``sets`` and appends the event; the
functions here then write what the requirements say an action changes besides: the
assignments of a dispatch, the extension of a deadline, the result of a closed vote and so on.
Each effect is registered for one ``(resourceType, action)`` and mutates the document copy that
``apply`` made; none does I/O, so every implementation of the standard can reuse them.

The new items a dispatch, reassignment or follow-up writes are not in the event's ``details``
(which keep only their ids, and go into the public history); they come from ``inputs``, the
``items`` of the action request (action-request.json)::

    {"assignments": [{"id": ..., "department": {...}, "role": "lead", ...}],
     "followUps":   [{"id": ..., "at": ..., "by": {...}, "contactResult": ..., ...}]}

matched by id to the ids in ``details`` (/req/issues/action-effects). A document that already
holds the item an event names (a replayed or imported history) is left as it is, so replaying
recorded histories through ``apply`` is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..exceptions import InvalidActionDetails

__all__ = ["Inputs", "apply_effects", "effect", "has_effect", "merge_into_target", "vote_outcome"]

Inputs = Mapping[str, Any]
Effect = Callable[[dict[str, Any], dict[str, Any], Inputs], None]

_EFFECTS: dict[tuple[str, str], Effect] = {}

#: assignment statuses that still oblige the department to act
ACTIVE = ("pending", "accepted")


def effect(resource_type: str, *actions: str) -> Callable[[Effect], Effect]:
    """Register ``fn`` as the effect of ``actions`` on ``resource_type``."""

    def register(fn: Effect) -> Effect:
        for action in actions:
            _EFFECTS[(resource_type, action)] = fn
        return fn

    return register


def has_effect(resource_type: str, action: str) -> bool:
    return (resource_type, action) in _EFFECTS


def apply_effects(resource_type: str, action: str, document: dict[str, Any],
                  event: dict[str, Any], inputs: Inputs | None = None) -> None:
    """Run the effect of ``action`` (if any) on ``document``, whose last event is ``event``.

    Raises :class:`InvalidActionDetails` when the action cannot have its effect (an unknown
    assignment, a vote without a tally, a stated result that does not follow from it).
    """
    fn = _EFFECTS.get((resource_type, action))
    if fn is not None:
        fn(document, event, inputs or {})


def _fail(action: str, pointer: str, en: str, zh: str) -> InvalidActionDetails:
    return InvalidActionDetails(f"{action}: {en}", f"{action}：{zh}", action=action,
                                errors=[(pointer, en)])


def _details(event: Mapping[str, Any]) -> dict[str, Any]:
    details = event.get("details")
    return details if isinstance(details, dict) else {}


def _list(document: dict[str, Any], member: str) -> list[Any]:
    value = document.get(member)
    if not isinstance(value, list):
        value = []
        document[member] = value
    return value


def _staged(inputs: Inputs, member: str, item_id: str) -> dict[str, Any] | None:
    for item in inputs.get(member) or ():
        if isinstance(item, Mapping) and item.get("id") == item_id:
            return dict(item)
    return None


# --------------------------------------------------------------------------- issues


def _assignment(document: dict[str, Any], assignment_id: Any) -> dict[str, Any] | None:
    for item in document.get("assignments") or ():
        if isinstance(item, dict) and item.get("id") == assignment_id:
            return item
    return None


def _new_assignment(document: dict[str, Any], event: dict[str, Any], inputs: Inputs,
                    assignment_id: str, role: str, due: Any, pointer: str) -> None:
    if _assignment(document, assignment_id) is not None:
        return  # recorded already: an imported or replayed history
    staged = _staged(inputs, "assignments", assignment_id)
    if staged is None or not isinstance(staged.get("department"), Mapping):
        raise _fail(
            str(event["action"]), pointer,
            f"the request's items hold no assignment {assignment_id} with its department",
            f"请求的 items 中没有任务 {assignment_id} 及其承办部门",
        )
    # The item is the assignment; what it leaves out follows from the event.
    item: dict[str, Any] = {"id": assignment_id, "role": role, "status": "pending",
                            "assignedAt": event["at"], "assignedBy": dict(event["actor"])}
    if due is not None:
        item["dueAt"] = due
    item.update(staged)
    _list(document, "assignments").append(item)


@effect("Issue", "dispatch")
def _dispatch(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    details = _details(event)
    due = details.get("dueAt")
    _new_assignment(document, event, inputs, details["lead"], "lead", due, "/details/lead")
    for i, assisting in enumerate(details.get("assisting") or ()):
        _new_assignment(document, event, inputs, assisting, "assisting", due,
                        f"/details/assisting/{i}")


def _lead(document: dict[str, Any], event: dict[str, Any], assignment_id: Any,
          pointer: str) -> dict[str, Any]:
    item = _assignment(document, assignment_id)
    if item is None or item.get("role") != "lead":
        raise _fail(str(event["action"]), pointer,
                    f"{assignment_id} is not a lead assignment of this issue",
                    f"{assignment_id} 不是本诉求的主办任务")
    return item


@effect("Issue", "claim")
def _claim(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    # A lead that is no longer pending already shows this claim or what followed it.
    item = _lead(document, event, _details(event).get("assignmentId"), "/details/assignmentId")
    if item.get("status") == "pending":
        item["status"] = "accepted"
        item["acceptedAt"] = event["at"]


@effect("Issue", "return")
def _return(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    item = _lead(document, event, _details(event).get("assignmentId"), "/details/assignmentId")
    if item.get("status") in ACTIVE:
        item["status"] = "returned"
        item["returnedAt"] = event["at"]
        if event.get("reason"):
            item["returnReason"] = event["reason"]
        if event.get("note"):
            item["returnNote"] = event["note"]


@effect("Issue", "reassign")
def _reassign(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    details = _details(event)
    old = _lead(document, event, details.get("from"), "/details/from")
    if details.get("to") == old.get("id"):
        raise _fail("reassign", "/details/to", "an assignment cannot replace itself",
                    "任务不能改派给自身")
    if old.get("status") in (*ACTIVE, "returned"):
        old["status"] = "reassigned"
        old["reassignedTo"] = details["to"]
    _new_assignment(document, event, inputs, details["to"], "lead", details.get("dueAt"),
                    "/details/to")


@effect("Issue", "extend-deadline")
def _extend(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    details = _details(event)
    previous, new = details["previousDue"], details["newDue"]
    deadlines = document.get("deadlines")
    if not isinstance(deadlines, dict):
        deadlines = {}
        document["deadlines"] = deadlines
    extensions = deadlines.get("extensions")
    if not isinstance(extensions, list):
        extensions = []
        deadlines["extensions"] = extensions
    if any(isinstance(x, dict) and x.get("previousDue") == previous and x.get("newDue") == new
           for x in extensions):
        return  # recorded already
    current = deadlines.get("resolutionDue")
    if current is not None and current != previous:
        raise _fail("extend-deadline", "/details/previousDue",
                    f"previousDue {previous} is not the resolution deadline in force ({current})",
                    f"原期限 {previous} 不是当前的办结期限（{current}）")
    entry: dict[str, Any] = {"previousDue": previous, "newDue": new}
    if event.get("reason"):
        entry["reason"] = event["reason"]
    entry["at"] = event["at"]
    entry["requestedBy"] = dict(event["actor"])
    if event.get("note"):
        entry["note"] = event["note"]
    extensions.append(entry)
    deadlines["resolutionDue"] = new
    for item in document.get("assignments") or ():
        if (isinstance(item, dict) and item.get("role") == "lead"
                and item.get("status") in ACTIVE and item.get("dueAt") == previous):
            item["dueAt"] = new


def _finish_assignments(document: dict[str, Any], status: str, at: str) -> None:
    stamp = "completedAt" if status == "completed" else "cancelledAt"
    for item in document.get("assignments") or ():
        if isinstance(item, dict) and item.get("status") in ACTIVE:
            item["status"] = status
            item[stamp] = at


@effect("Issue", "resolve")
def _resolve(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    _finish_assignments(document, "completed", event["at"])


@effect("Issue", "merge", "withdraw", "transfer", "reject-intake")
def _end_early(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    # /req/issues/single-active-lead: a closed issue keeps no active assignment.
    if event["action"] == "merge" and _details(event).get("mergedInto") == document.get("id"):
        raise _fail("merge", "/details/mergedInto", "an issue cannot be merged into itself",
                    "诉求不能并入自身")
    _finish_assignments(document, "cancelled", event["at"])


@effect("Issue", "follow-up")
def _follow_up(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    details = _details(event)
    follow_up_id = details["followUpId"]
    follow_ups = document.get("followUps") or []
    if any(isinstance(x, dict) and x.get("id") == follow_up_id for x in follow_ups):
        return  # recorded already
    record = _staged(inputs, "followUps", follow_up_id)
    if record is None:
        raise _fail("follow-up", "/details/followUpId",
                    f"the request's items hold no follow-up record {follow_up_id}",
                    f"请求的 items 中没有回访记录 {follow_up_id}")
    entry = {"id": follow_up_id, "at": event["at"], "by": dict(event["actor"])}
    entry.update({k: v for k, v in record.items() if k != "id"})
    _list(document, "followUps").append(entry)


def merge_into_target(target: Mapping[str, Any], merged_id: str) -> dict[str, Any]:
    """A copy of ``target`` whose ``mergedDuplicates`` lists ``merged_id``.

    The other half of a merge (/req/issues/merge-updates-target): the server stores it in the
    same transaction as the merged issue.
    """
    out = dict(target)
    duplicates = [d for d in out.get("mergedDuplicates") or () if d != merged_id]
    out["mergedDuplicates"] = [*duplicates, merged_id]
    return out


# --------------------------------------------------------------------------- consultations


def _meets(count: int, base: int, ratio: Mapping[str, Any], comparison: Any) -> bool:
    # Cross-multiplied so that 2/3 of 36 is exact.
    left, right = count * int(ratio["denominator"]), int(ratio["numerator"]) * base
    return left > right if comparison == "more-than" else left >= right


def vote_outcome(vote: Mapping[str, Any], eligible: int | None) -> tuple[bool, str, str | None]:
    """``(quorumMet, result, winningOptionId)`` of a vote, computed from its results' tally.

    Follows /req/consultations/quorum-flag and /req/consultations/vote-result: no quorum first;
    failed without any ballot for an option; with an approval option, passed when it reaches
    the threshold; otherwise a tie between leaders, or passed when the single leader reaches it.
    """
    tally = vote["results"]["tally"]
    participation = int(tally["participation"]["total"])
    quorum = vote.get("quorum")
    quorum_met = True
    if isinstance(quorum, Mapping):
        if "minimumCount" in quorum:
            quorum_met = participation >= int(quorum["minimumCount"])
        if "ratio" in quorum:
            if eligible is None:
                raise ValueError("the quorum is a ratio but no eligible count is known")
            quorum_met = quorum_met and _meets(participation, eligible, quorum["ratio"],
                                               quorum.get("comparison", "at-least"))
    if not quorum_met:
        return False, "no-quorum", None
    counts = {str(o["optionId"]): int(o["total"]) for o in tally.get("options") or ()}
    valid = sum(counts.values())
    if valid == 0:
        return True, "failed", None
    threshold = vote["threshold"]
    base_kind = threshold["base"]
    if base_kind == "eligible" and eligible is None:
        raise ValueError("the threshold is based on the eligible count, which is not known")
    base = {"valid-votes": valid, "participants": participation}.get(base_kind, eligible or 0)
    comparison = threshold.get("comparison")
    approval = vote.get("approvalOptionId")
    if approval is not None:
        if _meets(counts.get(str(approval), 0), base, threshold["ratio"], comparison):
            return True, "passed", str(approval)
        return True, "failed", None
    top = max(counts.values())
    leaders = [option for option, n in counts.items() if n == top]
    if len(leaders) > 1:
        return True, "tie", None
    if _meets(top, base, threshold["ratio"], comparison):
        return True, "passed", leaders[0]
    return True, "failed", None


@effect("Consultation", "close-vote")
def _close_vote(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    details = event.setdefault("details", {})
    vote_id = details.get("voteId")
    votes = document.get("votes") or []
    vote = next((v for v in votes if isinstance(v, dict) and v.get("id") == vote_id), None)
    if vote is None:
        raise _fail("close-vote", "/details/voteId", f"the consultation has no vote {vote_id}",
                    f"本协商没有表决 {vote_id}")
    results = vote.get("results")
    if not isinstance(results, dict) or not isinstance(results.get("tally"), dict):
        raise _fail("close-vote", "/details/voteId",
                    f"vote {vote_id} has no tally in results to close it with",
                    f"表决 {vote_id} 的 results 中没有计票，无法结束")
    eligibility = document.get("eligibility")
    eligible = vote.get("eligibleCount")
    if eligible is None and isinstance(eligibility, Mapping):
        eligible = eligibility.get("eligibleCount")
    try:
        quorum_met, result, winner = vote_outcome(vote, eligible)
    except (KeyError, TypeError, ValueError) as exc:
        raise _fail("close-vote", f"/votes/{votes.index(vote)}",
                    f"the result of vote {vote_id} cannot be computed: {exc}",
                    f"无法计算表决 {vote_id} 的结果：{exc}") from exc
    stated = details.get("result")
    if stated is not None and stated != result:
        raise _fail("close-vote", "/details/result",
                    f"the tally gives {result}, not {stated}",
                    f"按计票结果应为 {result}，而不是 {stated}")
    results["quorumMet"] = quorum_met
    results["result"] = result
    if winner is None:
        results.pop("winningOptionId", None)
    else:
        results["winningOptionId"] = winner
    vote["status"] = "closed"
    vote.setdefault("closesAt", event["at"])
    details["result"] = result
