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

matched by id to the ids in ``details`` (/req/issues/action-effects). An issue that already
holds the item an event names (a replayed or imported history) is left as it is, so replaying
recorded histories through ``apply`` is harmless.

A consultation's record (its votes' state and tallies, decision, publications, implementation
and feedback) is written only from its events' details (/req/consultations/record-from-
actions): a vote is opened once and counted and closed only while open, so its history is
replayed from the document as it stood before the record (planned votes, nothing decided).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from .._json import json_copy
from ..exceptions import InvalidActionDetails
from ..pointers import pointer as _pointer
from ..specification import DEFAULT_VERSION, Spec, load_spec
from ._messages import details_error

__all__ = ["Inputs", "Thresholds", "apply_effects", "effect", "has_effect",
           "merge_into_target", "quorum_outcome", "result_outcome", "vote_outcome",
           "with_thresholds"]

Inputs = Mapping[str, Any]
#: a city's quorum and approval fractions for one consultation form (profile
#: ``consultations.thresholds``): ``{"quorum": {...}, "approval": {...}}``, either optional
Thresholds = Mapping[str, Any]
Effect = Callable[[dict[str, Any], dict[str, Any], Inputs], None]

_EFFECTS: dict[tuple[str, str], Effect] = {}

#: the spec of the document an effect runs on (its parameters and message templates)
_SPEC: ContextVar[Spec | None] = ContextVar("smartcommunity_effect_spec", default=None)
#: the city's thresholds by consultation form, when the effect runs under a profile
_THRESHOLDS: ContextVar[Mapping[str, Thresholds] | None] = ContextVar(
    "smartcommunity_effect_thresholds", default=None)
#: /req/issues/single-active-lead names the assignment statuses that still oblige a department
_SINGLE_LEAD = "/req/issues/single-active-lead"


def _spec() -> Spec:
    return _SPEC.get() or load_spec(DEFAULT_VERSION)


def _active() -> tuple[str, ...]:
    """Assignment statuses that still oblige the department to act."""
    return tuple(_spec().parameter(_SINGLE_LEAD, "activeAssignmentStatuses"))


def __getattr__(name: str) -> Any:
    # ``ACTIVE`` was a constant here; it is the requirement's parameter now.
    if name == "ACTIVE":
        return _active()
    raise AttributeError(name)


@contextmanager
def _running(spec: Spec | None, thresholds: Mapping[str, Thresholds] | None) -> Iterator[None]:
    token, rules = _SPEC.set(spec), _THRESHOLDS.set(thresholds)
    try:
        yield
    finally:
        _THRESHOLDS.reset(rules)
        _SPEC.reset(token)


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
                  event: dict[str, Any], inputs: Inputs | None = None,
                  spec: Spec | None = None,
                  thresholds: Mapping[str, Thresholds] | None = None) -> None:
    """Run the effect of ``action`` (if any) on ``document``, whose last event is ``event``;
    ``thresholds`` are a city profile's by consultation form (see :func:`with_thresholds`).

    Raises :class:`InvalidActionDetails` when the action cannot have its effect (an unknown
    assignment, a vote without a tally, a stated result that does not follow from it).
    """
    fn = _EFFECTS.get((resource_type, action))
    if fn is not None:
        with _running(spec, thresholds):
            fn(document, event, inputs or {})


def _fail(action: str, pointer: str, code: str, **values: Any) -> InvalidActionDetails:
    return details_error(_spec(), action, pointer, code, **values)


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
        raise _fail(str(event["action"]), pointer, "lifecycle.assignment-missing",
                    id=assignment_id)
    # The item is the assignment; what it leaves out follows from the event.
    item: dict[str, Any] = {"id": assignment_id, "role": role, "status": "pending",
                            "assignedAt": event["at"], "assignedBy": dict(event["actor"])}
    if due is not None:
        item["dueAt"] = due
    item.update(staged)
    _pending(item, event, pointer)
    _list(document, "assignments").append(item)


def _pending(item: Mapping[str, Any], event: Mapping[str, Any], pointer: str) -> None:
    """A new assignment is pending: only the department's own actions move it on, and a
    status stated at dispatch would claim it for the department and block the real claim."""
    if item.get("status") != "pending":
        raise _fail(str(event["action"]), pointer, "lifecycle.assignment-not-pending",
                    id=item.get("id"), status=item.get("status"))


@effect("Issue", "dispatch")
def _dispatch(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    details = _details(event)
    due = details.get("dueAt")
    _new_assignment(document, event, inputs, details["lead"], "lead", due, "/details/lead")
    for i, assisting in enumerate(details.get("assisting") or ()):
        _new_assignment(document, event, inputs, assisting, "assisting", due,
                        _pointer(("details", "assisting", i)))


def _lead(document: dict[str, Any], event: dict[str, Any], assignment_id: Any,
          pointer: str) -> dict[str, Any]:
    item = _assignment(document, assignment_id)
    if item is None or item.get("role") != "lead":
        raise _fail(str(event["action"]), pointer, "lifecycle.not-lead", id=assignment_id)
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
    if item.get("status") in _active():
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
        raise _fail("reassign", "/details/to", "lifecycle.self-reference", member="to",
                    id=old.get("id"))
    if old.get("status") in (*_active(), "returned"):
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
        raise _fail("extend-deadline", "/details/previousDue", "lifecycle.deadline-not-in-force",
                    previous=previous, current=current)
    entry: dict[str, Any] = {"previousDue": previous, "newDue": new}
    if event.get("reason"):
        entry["reason"] = event["reason"]
    entry["at"] = event["at"]
    entry["requestedBy"] = dict(event["actor"])
    approver = (event.get("details") or {}).get("approvedBy")
    if isinstance(approver, dict):  # /req/indicators/extension-approval
        entry["approvedBy"] = dict(approver)
    if event.get("note"):
        entry["note"] = event["note"]
    extensions.append(entry)
    deadlines["resolutionDue"] = new
    for item in document.get("assignments") or ():
        if (isinstance(item, dict) and item.get("role") == "lead"
                and item.get("status") in _active() and item.get("dueAt") == previous):
            item["dueAt"] = new


def _finish_assignments(document: dict[str, Any], status: str, at: str) -> None:
    stamp = "completedAt" if status == "completed" else "cancelledAt"
    for item in document.get("assignments") or ():
        if isinstance(item, dict) and item.get("status") in _active():
            item["status"] = status
            item[stamp] = at


@effect("Issue", "resolve")
def _resolve(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    _finish_assignments(document, "completed", event["at"])


@effect("Issue", "merge", "withdraw", "transfer", "reject-intake")
def _end_early(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    # /req/issues/single-active-lead: a closed issue keeps no active assignment.
    if event["action"] == "merge" and _details(event).get("mergedInto") == document.get("id"):
        raise _fail("merge", "/details/mergedInto", "lifecycle.self-reference",
                    member="mergedInto", id=document.get("id"))
    _finish_assignments(document, "cancelled", event["at"])


def _recorded(document: dict[str, Any], member: str, item_id: Any) -> bool:
    """Whether the list ``member`` holds the item ``item_id`` already (a replayed history)."""
    return any(isinstance(x, dict) and x.get("id") == item_id
               for x in document.get(member) or ())


@effect("Issue", "follow-up")
def _follow_up(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    follow_up_id = _details(event)["followUpId"]
    if _recorded(document, "followUps", follow_up_id):
        return
    record = _staged(inputs, "followUps", follow_up_id)
    if record is None:
        raise _fail("follow-up", "/details/followUpId", "lifecycle.follow-up-missing",
                    id=follow_up_id)
    entry = {"id": follow_up_id, "at": event["at"], "by": dict(event["actor"])}
    entry.update({k: v for k, v in record.items() if k != "id"})
    _list(document, "followUps").append(entry)


@effect("Issue", "exclude-from-assessment")
def _exclude(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    # /req/indicators/exclusion-record: the approver is the actor, the time the event's
    details = _details(event)
    if _recorded(document, "assessmentExclusions", details["exclusionId"]):
        return
    entry: dict[str, Any] = {"id": details["exclusionId"], "reason": event.get("reason"),
                             "at": event["at"], "approvedBy": dict(event["actor"])}
    entry.update({k: details[k] for k in ("assignmentId", "indicators") if k in details})
    if event.get("note"):
        entry["note"] = event["note"]
    _list(document, "assessmentExclusions").append(entry)


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


Fraction = tuple[int, int]


def _count(value: Any) -> int:
    # bool is an int subclass; JSON true is not a count.
    if type(value) is not int:
        raise ValueError(f"{value!r} is not a count")
    return value


def _fraction(value: Any) -> Fraction:
    if not isinstance(value, Mapping):
        raise ValueError("a ratio is an object with numerator and denominator")
    n, d = _count(value.get("numerator")), _count(value.get("denominator"))
    if n < 0 or d <= 0:
        raise ValueError(f"{n}/{d} is not a ratio")
    return n, d


def _meets(count: int, base: int, ratio: Fraction, comparison: Any) -> bool:
    # Cross-multiplied, so 2/3 of 36 is compared exactly.
    lhs, rhs = count * ratio[1], ratio[0] * base
    return lhs > rhs if comparison == "more-than" else lhs >= rhs


def _applied(count: int, base: int, ratio: Fraction, comparison: Any, met: bool) -> str:
    sign = (">" if met else "≤") if comparison == "more-than" else ("≥" if met else "<")
    return f"{count} {sign} {ratio[0]}/{ratio[1]} × {base}"


def quorum_outcome(quorum: Any, participation: int, eligible: int | None) -> tuple[bool, str]:
    """Whether ``participation`` meets ``quorum`` (absent: always), and the rule as applied.

    Raises ``ValueError`` when it cannot be told (a ratio without an eligible count, a
    malformed quorum).
    """
    if quorum is None:
        return True, "quorum = ∅"
    if not isinstance(quorum, Mapping):
        raise ValueError("a quorum is an object")
    parts: list[str] = []
    met = True
    if "minimumCount" in quorum:
        minimum = _count(quorum["minimumCount"])
        ok = participation >= minimum
        parts.append(f"{participation} {'≥' if ok else '<'} {minimum}")
        met = met and ok
    if "ratio" in quorum:
        ratio = _fraction(quorum["ratio"])
        if eligible is None:
            raise ValueError("the quorum is a ratio but no eligible count is known")
        comparison = quorum.get("comparison", "at-least")
        ok = _meets(participation, eligible, ratio, comparison)
        parts.append(_applied(participation, eligible, ratio, comparison, ok))
        met = met and ok
    if not parts:
        return True, "quorum = ∅"
    return met, "; ".join(parts)


def result_outcome(vote: Mapping[str, Any], tally: Mapping[str, Any], participation: int,
                   eligible: int | None) -> tuple[str, str | None, str]:
    """``(result, winningOptionId, rule)`` the tally gives a vote whose quorum is met.

    Failed without any ballot for an option; with an approval option, passed when it reaches
    the threshold; otherwise a tie between leaders, or passed when the single leader reaches
    it. Raises ``ValueError`` when it cannot be told (an option outside the vote, a threshold
    on an unknown base).
    """
    declared = vote.get("optionIds")
    counts: dict[str, int] = dict.fromkeys(
        (o for o in declared if isinstance(o, str)) if isinstance(declared, list) else (), 0)
    for count in tally.get("options") or ():
        option = count.get("optionId") if isinstance(count, Mapping) else None
        if not isinstance(option, str) or (isinstance(declared, list) and option not in counts):
            raise ValueError(f"option {option!r} is not one of the vote's options")
        counts[option] = counts.get(option, 0) + _count(count.get("total"))
    valid = sum(counts.values())
    threshold = vote.get("threshold")
    if not isinstance(threshold, Mapping):
        raise ValueError("the vote has no threshold")
    ratio = _fraction(threshold.get("ratio"))
    base_kind = threshold.get("base")
    base = {"valid-votes": valid, "participants": participation, "eligible": eligible}.get(
        str(base_kind))
    if base is None:
        raise ValueError(f"the threshold's base {base_kind!r} cannot be counted")
    if valid == 0:
        return "failed", None, "Σ options[].total = 0"
    comparison = threshold.get("comparison")
    approval = vote.get("approvalOptionId")
    if approval is not None:
        if not isinstance(approval, str) or approval not in counts:
            raise ValueError(f"the approval option {approval!r} is not one of the vote's")
        met = _meets(counts[approval], base, ratio, comparison)
        why = f"{approval}: {_applied(counts[approval], base, ratio, comparison, met)}"
        return ("passed", approval, why) if met else ("failed", None, why)
    top = max(counts.values())
    leaders = [o for o, n in counts.items() if n == top]
    if len(leaders) > 1:
        return "tie", None, " = ".join(leaders) + f" = {top}"
    leader = leaders[0]
    met = _meets(top, base, ratio, comparison)
    why = f"{leader}: {_applied(top, base, ratio, comparison, met)}"
    return ("passed", leader, why) if met else ("failed", None, why)


def with_thresholds(vote: Mapping[str, Any], thresholds: Thresholds | None
                    ) -> Mapping[str, Any]:
    """``vote`` as a city profile's ``thresholds`` for its consultation's form read it.

    The city's ``quorum`` fraction replaces the ratio of the vote's quorum (a vote without one
    gets it, "at least") and its ``approval`` fraction the ratio of the vote's threshold; the
    minimum count, comparisons and base stay the vote's (/req/profiles/thresholds).
    """
    if not thresholds:
        return vote
    out = dict(vote)
    quorum, approval = thresholds.get("quorum"), thresholds.get("approval")
    if quorum is not None:
        stated = vote.get("quorum")
        out["quorum"] = {**(stated if isinstance(stated, Mapping) else {}), "ratio": quorum}
    threshold = vote.get("threshold")
    if approval is not None and isinstance(threshold, Mapping):
        out["threshold"] = {**threshold, "ratio": approval}
    return out


def vote_outcome(vote: Mapping[str, Any], eligible: int | None,
                 thresholds: Thresholds | None = None) -> tuple[bool, str, str | None]:
    """``(quorumMet, result, winningOptionId)`` of a vote, computed from its results' tally;
    with a city profile's ``thresholds`` for the consultation's form, by the city's fractions.

    Raises ``KeyError`` without a tally and ``ValueError`` when the tally, quorum or
    threshold cannot give an outcome.
    """
    vote = with_thresholds(vote, thresholds)
    tally = vote["results"]["tally"]
    participation = _count(tally["participation"]["total"])
    quorum_met, _ = quorum_outcome(vote.get("quorum"), participation, eligible)
    if not quorum_met:
        return False, "no-quorum", None
    result, winner, _ = result_outcome(vote, tally, participation, eligible)
    return True, result, winner


@effect("Consultation", "close-vote")
def _close_vote(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    details = event.setdefault("details", {})
    vote_id = details.get("voteId")
    votes = document.get("votes") or []
    vote = next((v for v in votes if isinstance(v, dict) and v.get("id") == vote_id), None)
    if vote is None:
        raise _fail("close-vote", "/details/voteId", "lifecycle.vote-missing", id=vote_id)
    _vote_in(vote, event, "open")
    results = vote.get("results")
    if not isinstance(results, dict) or not isinstance(results.get("tally"), dict):
        raise _fail("close-vote", "/details/voteId", "lifecycle.tally-missing", id=vote_id)
    eligibility = document.get("eligibility")
    eligible = vote.get("eligibleCount")
    if eligible is None and isinstance(eligibility, Mapping):
        eligible = eligibility.get("eligibleCount")
    try:
        rules = (_THRESHOLDS.get() or {}).get(str(document.get("form")))
        quorum_met, result, winner = vote_outcome(vote, eligible, rules)
    except (KeyError, TypeError, ValueError) as exc:
        raise _fail("close-vote", _pointer(("votes", votes.index(vote))),
                    "lifecycle.outcome-unknown", id=vote_id, reason=exc) from exc
    stated = details.get("result")
    if stated is not None and stated != result:
        raise _fail("close-vote", "/details/result", "lifecycle.result-mismatch",
                    result=result, stated=stated)
    # /req/consultations/ballots-complete-at-close: the ballots recorded are the whole vote
    # exactly when they agree with the tally; nothing else ever writes the flag.
    from ..validation import ballots_mismatch

    ballots = vote.get("ballots")
    complete = isinstance(ballots, list) and ballots_mismatch(
        vote, ballots, results["tally"]) is None
    said = details.get("ballotsComplete")
    if said is not None and said != complete:
        raise _fail("close-vote", "/details/ballotsComplete",
                    "lifecycle.ballots-complete-mismatch", complete=str(complete).lower(),
                    stated=str(said).lower())
    results["quorumMet"] = quorum_met
    results["result"] = result
    if winner is None:
        results.pop("winningOptionId", None)
    else:
        results["winningOptionId"] = winner
    vote["status"] = "closed"
    vote["closesAt"] = event["at"]
    vote["ballotsComplete"] = complete
    details["result"] = result
    details["ballotsComplete"] = complete


# The record of a consultation is written only by its actions (/req/consultations/
# record-from-actions): each effect below writes what its event's details carry, so the
# document always agrees with its history (/req/consultations/record-matches-history).


def _vote(document: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    vote_id = _details(event).get("voteId")
    for vote in document.get("votes") or ():
        if isinstance(vote, dict) and vote.get("id") == vote_id:
            return vote
    raise _fail(str(event["action"]), "/details/voteId", "lifecycle.vote-missing", id=vote_id)


def _vote_in(vote: Mapping[str, Any], event: Mapping[str, Any], wanted: str) -> None:
    # A closed vote's results and ballots never change; a vote opens once.
    if vote.get("status") != wanted:
        raise _fail(str(event["action"]), "/details/voteId", "lifecycle.vote-state",
                    id=vote.get("id"), status=vote.get("status"), wanted=wanted)


@effect("Consultation", "open-vote")
def _open_vote(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    vote = _vote(document, event)
    _vote_in(vote, event, "planned")
    details = _details(event)
    vote["status"] = "open"
    vote["opensAt"] = event["at"]
    results: dict[str, Any] = {
        "visibility": details.get("resultsVisibility") or document.get("visibility"),
        "tally": {"participation": {"total": 0}}}
    if "resultsVisibleFrom" in details:
        results["visibleFrom"] = details["resultsVisibleFrom"]
    vote["results"] = results


def _add(count: dict[str, Any], channel: str, n: int) -> None:
    count["total"] = int(count.get("total") or 0) + n
    channels = count.setdefault("channels", [])
    for entry in channels:
        if entry.get("channel") == channel:
            entry["count"] += n
            return
    channels.append({"channel": channel, "count": n})


@effect("Consultation", "record-votes")
def _record_votes(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    vote = _vote(document, event)
    _vote_in(vote, event, "open")
    details = _details(event)
    channel = str(details["channel"])
    options = [o for o in details.get("options") or () if isinstance(o, Mapping)]
    parts = [*(o["count"] for o in options), details.get("abstentions", 0),
             details.get("invalid", 0)]
    breakdown = sum(parts) if ("options" in details or "abstentions" in details
                               or "invalid" in details) else None
    count = details.get("count", breakdown)
    if count is None or (breakdown is not None and breakdown != count):
        raise _fail("record-votes", "/details/count", "lifecycle.count-mismatch",
                    count=count if count is not None else "-",
                    sum=breakdown if breakdown is not None else "-")
    results = vote.setdefault("results", {"visibility": document.get("visibility")})
    tally = results.setdefault("tally", {"participation": {"total": 0}})
    _add(tally.setdefault("participation", {}), channel, count)
    declared = vote.get("optionIds") or []
    counted = tally.setdefault("options", [])
    for i, option in enumerate(options):
        if option["optionId"] not in declared:
            raise _fail("record-votes", _pointer(("details", "options", i, "optionId")),
                        "lifecycle.vote-missing", id=option["optionId"])
        entry = next((o for o in counted if o.get("optionId") == option["optionId"]), None)
        if entry is None:
            entry = {"optionId": option["optionId"], "total": 0}
            counted.append(entry)
        _add(entry, channel, option["count"])
    for member in ("abstentions", "invalid"):
        if member in details:
            _add(tally.setdefault(member, {"total": 0}), channel, details[member])
    for i, ballot in enumerate(inputs.get("ballots") or ()):
        if not isinstance(ballot, Mapping) or ballot.get("channel") != channel:
            raise _fail("record-votes", _pointer(("items", "ballots", i, "channel")),
                        "lifecycle.ballot-channel", channel=channel)
        _list(vote, "ballots").append(dict(ballot))


@effect("Consultation", "decide")
def _decide(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    details = _details(event)
    decision: dict[str, Any] = {"type": details["decisionType"], "text": details["text"],
                                "decidedAt": event["at"]}
    if "decidedByPartyIds" in details:
        decision["decidedByPartyIds"] = list(details["decidedByPartyIds"])
    decision["basis"] = details["basis"]
    for member in ("voteIds", "referredTo", "voices", "unanswered"):
        if member in details:
            decision[member] = json_copy(details[member])
    document["decision"] = decision


#: the publication type each publishing action writes (publish-update: its publicationType)
_PUBLISHES = {"publish-notice": "notice", "publish-decision": "decision",
              "publish-feedback": "feedback"}


@effect("Consultation", "publish-notice", "publish-update", "publish-decision",
        "publish-feedback")
def _publish(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    details = _details(event)
    action = str(event["action"])
    wanted = _PUBLISHES.get(action) or details.get("publicationType")
    items = details.get("publications") or []
    for i, item in enumerate(items):
        if item.get("type") != wanted:
            raise _fail(action, _pointer(("details", "publications", i, "type")),
                        "lifecycle.publication-type", wanted=wanted, given=item.get("type"))
    _list(document, "publications").extend(json_copy(items))
    if action == "publish-feedback":
        document["feedback"] = {"text": details["text"], "publishedAt": event["at"]}


@effect("Consultation", "start-implementation")
def _start(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    details = _details(event)
    implementation: dict[str, Any] = {
        "responsiblePartyIds": list(details["responsiblePartyIds"]), "startedAt": event["at"]}
    if "plannedCompletion" in details:
        implementation["plannedCompletion"] = details["plannedCompletion"]
    implementation["progress"] = 0
    if details.get("milestones"):
        implementation["milestones"] = json_copy(details["milestones"])
    document["implementation"] = implementation


@effect("Consultation", "report-progress")
def _report(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    details = _details(event)
    implementation = document.get("implementation")
    if not isinstance(implementation, dict):
        raise _fail("report-progress", "", "lifecycle.milestone-missing", id="-")
    at = event["at"]
    done = details.get("completedAt", at)
    milestone_id = details.get("milestoneId")
    if milestone_id is not None:
        milestone = next((m for m in implementation.get("milestones") or ()
                          if isinstance(m, dict) and m.get("id") == milestone_id), None)
        if milestone is None:
            raise _fail("report-progress", "/details/milestoneId", "lifecycle.milestone-missing",
                        id=milestone_id)
        status = details.get("milestoneStatus")
        if status is not None:
            milestone["status"] = status
            if status == "completed":
                milestone["progress"] = 100
                milestone["completedAt"] = done
    if "progress" in details:
        implementation["progress"] = details["progress"]
        if details["progress"] == 100:
            implementation["completedAt"] = done
    if "text" in details:
        update: dict[str, Any] = {"at": at, "text": details["text"]}
        for member in ("progress", "milestoneId", "byPartyId"):
            if member in details:
                update[member] = details[member]
        _list(implementation, "updates").append(update)
