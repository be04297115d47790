"""Library rules of the Issue resource: vectors, examples, and mutations that break each rule."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from smartcommunity import Validator, validate
from smartcommunity.specification import load_spec
from smartcommunity.validation import Report
from smartcommunity.validation import _rules_issue as ri
from smartcommunity.validation._plan import compile_plan
from smartcommunity.validation._validator import Context

ROOT = Path(__file__).resolve().parents[2]
SPEC = load_spec("1.0")
LIFECYCLE = SPEC.lifecycles["Issue"]
TRANSITIONS = {t["action"]: t for t in LIFECYCLE["transitions"]}
ROLES = list(SPEC.codelist("role"))
EXAMPLES = {
    p.stem: json.loads(p.read_text(encoding="utf-8"))
    for p in sorted((ROOT / "spec/1.0/examples/issue").glob("*.json"))
}
VECTOR_GROUPS = json.loads((ROOT / "spec/tests/1.0/issue.json").read_text(encoding="utf-8"))
VECTORS = [
    pytest.param(test, id=f"{group['description'].split(' / ')[-1]}: "
                          f"{test['description'].split(' / ')[-1]}")
    for group in VECTOR_GROUPS for test in group["tests"]
]
#: every code a library rule of /conf/issues reports
CODES = {c for r in SPEC.requirements.values() if r.conformance_class == "/conf/issues"
         for c in r.codes}
#: codes of rules over a whole set of documents, exercised by the set tests below
SET_CODES = {"issue.merge-target-missing", "issue.merge-not-reciprocal"}
GAS = EXAMPLES["gas-heater-elderly-closed"]
LIFT = EXAMPLES["lift-building-3-in-progress"]
MERGED = EXAMPLES["lift-building-3-duplicate-merged"]
FIRE = EXAMPLES["fire-lane-submitted"]
NEW_ID = "0b6a9d4e-3c2f-4e1a-9b7d-5f8e2c1a0d9b"
PLACEHOLDER = re.compile(r"\{[A-Za-z_]+\}")
DATETIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9:]{5}$")


def check(doc: Any) -> Report:
    """Validate, and hold every finding of these rules to a filled-in bilingual message."""
    report = validate(doc)
    for f in report.findings:
        if f.code.startswith("issue."):
            assert set(f.message) == {"zh-Hans", "en"}
            for text in f.message.values():
                assert text and not PLACEHOLDER.search(text), (f.code, text)
            assert f.requirement is not None and f.requirement.startswith("/req/issues/")
    return report


def hits(doc: Any) -> set[tuple[str, str]]:
    return {(f.code, f.pointer) for f in check(doc).findings}


def shift(stamp: str, **delta: float) -> str:
    return (datetime.fromisoformat(stamp) + timedelta(**delta)).isoformat()


def edited(doc: dict[str, Any], change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    new = copy.deepcopy(doc)
    change(new)
    return new


# -- vectors and examples ---------------------------------------------------------------------
@pytest.mark.parametrize("test", VECTORS)
def test_vector(test: dict[str, Any]) -> None:
    report = check(test["data"])
    if test["valid"]:
        assert report.valid, [(f.code, f.pointer) for f in report.errors]
        return
    req = SPEC.requirements[test["requirement"]]
    exact = [f for f in report.findings if f.requirement == req.id]
    if "schema" not in req.enforcement:  # a library rule: its own finding, nothing less
        assert exact, [(f.code, f.pointer) for f in report.findings]
        severity = "warning" if req.level == "SHOULD" else "error"
        assert all(f.severity == severity for f in exact)
        assert {f.code for f in exact} <= set(req.codes)
    else:
        assert exact or any(f.code.startswith("schema.") for f in report.errors)
    if req.level == "MUST":
        assert not report.valid


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_is_valid_without_warnings(name: str) -> None:
    assert check(EXAMPLES[name]).findings == []


def test_the_examples_form_a_consistent_set() -> None:
    reports = list(Validator().validate_many(EXAMPLES.values()))
    assert [f for r in reports for f in r.findings] == []


def test_every_library_code_of_the_issue_class_has_a_message_and_a_case() -> None:
    templates = SPEC.codelist("error-code")
    assert set(templates) >= CODES
    exercised = {code for _, _, code, _ in CASES}
    assert exercised | SET_CODES == CODES


# -- one mutation per rule, with the exact pointer ----------------------------------------------
def _all(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        for one in changes:
            one(doc)
    return change


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        node: Any = doc
        for step in path[:-1]:
            node = node[step]
        if value is _DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return change


_DELETE = object()


def _reopen(doc: dict[str, Any]) -> None:
    """Append a reopen event to a closed issue, as the lifecycle table says it goes."""
    last = doc["history"][-1]
    doc["history"].append({
        "seq": len(doc["history"]) + 1, "at": shift(last["at"], days=1), "action": "reopen",
        "actor": {"role": "supervisor"}, "fromStatus": "closed", "toStatus": "accepted",
        "reason": "reporter-unsatisfied",
    })
    doc["status"] = "accepted"
    for member in ("resolution", "reply", "mergedInto"):
        doc.pop(member, None)


CASES: list[tuple[str, dict[str, Any], str, Callable[[dict[str, Any]], Any]]] = [
    ("seq out of order", GAS, "issue.history-seq", _set(("history", 3, "seq"), 7)),
    ("event before the previous one", GAS, "issue.history-time-order",
     _set(("history", 4, "at"), "2025-01-08T11:00:00+08:00")),
    ("first event with fromStatus", GAS, "issue.history-creation",
     _set(("history", 0, "fromStatus"), "submitted")),
    ("first event is not submit", FIRE, "issue.history-creation",
     _set(("history", 0, "action"), "accept")),
    ("later event without fromStatus", GAS, "issue.history-creation",
     _set(("history", 5, "fromStatus"), _DELETE)),
    ("fromStatus is not the previous toStatus", LIFT, "issue.history-chain",
     _set(("history", 3, "fromStatus"), "accepted")),
    ("department accepts", FIRE, "issue.history-lifecycle",
     _set(("history", 0, "actor", "role"), "department")),
    ("claim leads to resolved", LIFT, "issue.history-lifecycle",
     _set(("history", 3, "toStatus"), "resolved")),
    ("add-progress changes the status", LIFT, "issue.history-lifecycle",
     _set(("history", 4, "toStatus"), "dispatched")),
    # the accept turned into a supervision, which keeps the history at submitted
    ("dispatch from submitted", LIFT, "issue.history-lifecycle",
     _all(_set(("history", 1, "action"), "supervise"),
          _set(("history", 1, "toStatus"), "submitted"),
          _set(("history", 2, "fromStatus"), "submitted"))),
    # one deliberate change of the status chain: a wrong fromStatus alone breaks the chain,
    # not the table, when the action is allowed from the status the history reached
    ("a fromStatus the action is not allowed from, after a lawful history", LIFT,
     "issue.history-chain", _set(("history", 2, "fromStatus"), "submitted")),
    ("dispatch without a lead", LIFT, "issue.history-details",
     _set(("history", 2, "details", "lead"), _DELETE)),
    ("add-progress details with an undefined member", LIFT, "issue.history-details",
     _set(("history", 4, "details", "eta"), "tomorrow")),
    ("resolve with an intake resolution", GAS, "issue.history-details",
     _set(("history", 8, "details", "resolution"), "rejected")),
    ("dispatch due date not a timestamp", LIFT, "issue.history-details",
     _set(("history", 2, "details", "dueAt"), "2024-03-18")),
    ("status is not the last toStatus", GAS, "issue.history-status-mismatch",
     _set(("status",), "resolved")),
    ("reply differs from the resolve event", GAS, "issue.sets-mismatch",
     _set(("reply",), "已处理。")),
    ("mergedInto differs from the merge event", MERGED, "issue.sets-mismatch",
     _set(("mergedInto",), NEW_ID)),
    ("submittedAt is not the submit time", FIRE, "issue.submitted-at-mismatch",
     _set(("submittedAt",), "2025-06-16T07:53:00+08:00")),
    ("in progress without an active lead", LIFT, "issue.lead-assignment",
     _set(("assignments", 0, "role"), "assisting")),
    ("a completed issue keeps a pending lead", GAS, "issue.lead-assignment",
     _set(("assignments", 2, "status"), "pending")),
    ("assignment created by no event", GAS, "issue.assignment-history-mismatch",
     _set(("assignments", 1, "id"), NEW_ID)),
    ("dispatch names no assignment", LIFT, "issue.assignment-history-mismatch",
     _set(("history", 2, "details", "assisting", 0), NEW_ID)),
    ("return names an assisting assignment", GAS, "issue.assignment-history-mismatch",
     _set(("history", 3, "details", "assignmentId"), "c07db5c5-a198-47e4-8c4f-6daaee91636c")),
    ("reassignedTo names the assignment itself", GAS, "issue.reassigned-to-missing",
     _set(("assignments", 0, "reassignedTo"), "6c16796c-cdcb-436b-b9cb-2c7863436820")),
    ("completed before assigned", GAS, "issue.assignment-time-order",
     _set(("assignments", 1, "completedAt"), "2025-01-08T10:44:00+08:00")),
    ("due when assigned", LIFT, "issue.assignment-time-order",
     _set(("assignments", 1, "dueAt"), "2024-03-04T09:05:00+08:00")),
    ("response due before submission", GAS, "issue.deadline-order",
     _set(("deadlines", "responseDue"), "2025-01-08T10:19:59+08:00")),
    ("resolution due before submission", LIFT, "issue.deadline-order",
     _set(("deadlines", "resolutionDue"), "2024-03-04T00:46:59Z")),
    ("extension moves nothing", GAS, "issue.extension-not-later",
     _set(("deadlines", "extensions", 0, "newDue"), "2025-01-15T10:00:00Z")),
    ("resolution due is not the last extension", GAS, "issue.extension-chain",
     _set(("deadlines", "resolutionDue"), "2025-01-23T18:00:00+08:00")),
    ("extensions without resolution due", GAS, "issue.extension-chain",
     _set(("deadlines", "resolutionDue"), _DELETE)),
    ("extension reason differs from its event", GAS, "issue.extension-history-mismatch",
     _set(("deadlines", "extensions", 0, "reason"), "complex-case")),
    ("extension without an event", GAS, "issue.extension-history-mismatch",
     _set(("history", 7, "action"), "add-progress")),
    ("follow-up event names no entry", GAS, "issue.follow-up-history-mismatch",
     _set(("history", 9, "details", "followUpId"), NEW_ID)),
    ("follow-up after its event", GAS, "issue.follow-up-time-order",
     _set(("followUps", 0, "at"), "2025-01-22T10:20:00+08:00")),
    ("duplicate reopened", MERGED, "issue.reopen-not-allowed", _reopen),
    ("merged into itself", MERGED, "issue.merge-self",
     _set(("mergedInto",), MERGED["id"])),
    ("itself among its duplicates", LIFT, "issue.merge-self",
     _set(("mergedDuplicates", 0), LIFT["id"])),
    ("grid of another community", GAS, "issue.grid-outside-community",
     _set(("gridCode",), "110105001002-03")),
    ("category outside the standard groups", FIRE, "issue.category-group-unknown",
     _set(("category",), "pets.dogs")),
]
POINTERS = {
    "seq out of order": "/history/3/seq",
    "event before the previous one": "/history/4/at",
    "first event with fromStatus": "/history/0/fromStatus",
    "first event is not submit": "/history/0/action",
    "later event without fromStatus": "/history/5/fromStatus",
    "fromStatus is not the previous toStatus": "/history/3/fromStatus",
    "department accepts": "/history/0/actor/role",
    "claim leads to resolved": "/history/3/toStatus",
    "add-progress changes the status": "/history/4/toStatus",
    "dispatch from submitted": "/history/2/fromStatus",
    "a fromStatus the action is not allowed from, after a lawful history": "/history/2/fromStatus",
    "dispatch without a lead": "/history/2/details/lead",
    "add-progress details with an undefined member": "/history/4/details/eta",
    "resolve with an intake resolution": "/history/8/details/resolution",
    "dispatch due date not a timestamp": "/history/2/details/dueAt",
    "status is not the last toStatus": "/status",
    "reply differs from the resolve event": "/reply",
    "mergedInto differs from the merge event": "/mergedInto",
    "submittedAt is not the submit time": "/submittedAt",
    "in progress without an active lead": "/assignments",
    "a completed issue keeps a pending lead": "/assignments/2/status",
    "assignment created by no event": "/assignments/1/id",
    "dispatch names no assignment": "/history/2/details/assisting/0",
    "return names an assisting assignment": "/history/3/details/assignmentId",
    "reassignedTo names the assignment itself": "/assignments/0/reassignedTo",
    "completed before assigned": "/assignments/1/completedAt",
    "due when assigned": "/assignments/1/dueAt",
    "response due before submission": "/deadlines/responseDue",
    "resolution due before submission": "/deadlines/resolutionDue",
    "extension moves nothing": "/deadlines/extensions/0/newDue",
    "resolution due is not the last extension": "/deadlines/resolutionDue",
    "extensions without resolution due": "/deadlines/resolutionDue",
    "extension reason differs from its event": "/deadlines/extensions/0/reason",
    "extension without an event": "/deadlines/extensions/0",
    "follow-up event names no entry": "/history/9/details/followUpId",
    "follow-up after its event": "/followUps/0/at",
    "duplicate reopened": "/history/3/action",
    "merged into itself": "/mergedInto",
    "itself among its duplicates": "/mergedDuplicates/0",
    "grid of another community": "/gridCode",
    "category outside the standard groups": "/category",
}


@pytest.mark.parametrize(("name", "doc", "code", "change"), CASES, ids=[c[0] for c in CASES])
def test_a_mutation_breaks_its_rule_at_the_member_that_is_wrong(
        name: str, doc: dict[str, Any], code: str, change: Callable[[dict[str, Any]], Any],
) -> None:
    report = check(edited(doc, change))
    assert (code, POINTERS[name]) in {(f.code, f.pointer) for f in report.findings}
    req = SPEC.requirement_for_code(code)
    assert req is not None
    if req.level == "SHOULD":
        assert report.valid, report.errors
    else:
        assert not report.valid


def test_every_case_has_its_pointer() -> None:
    assert set(POINTERS) == {c[0] for c in CASES}


def test_a_lawful_reopen_is_valid() -> None:
    assert check(edited(GAS, _reopen)).findings == []


def test_withdrawal_clears_nothing_it_did_not_set() -> None:
    doc = edited(FIRE, lambda d: d["history"].append({
        "seq": 2, "at": "2025-06-16T08:00:00+08:00", "action": "withdraw",
        "actor": {"role": "resident"}, "fromStatus": "submitted", "toStatus": "closed",
    }))
    doc["status"], doc["resolution"] = "closed", "withdrawn"
    assert check(doc).findings == []
    doc["resolution"] = "fixed"
    assert ("issue.sets-mismatch", "/resolution") in hits(doc)


def test_the_merge_target_must_be_in_the_set() -> None:
    validator = Validator()
    alone, = validator.validate_many([MERGED])
    assert [(f.code, f.pointer, f.severity) for f in alone.findings] == [
        ("issue.merge-target-missing", "/mergedInto", "error")]
    assert LIFT["id"] in alone.findings[0].text("en")
    assert LIFT["id"] in alone.findings[0].text("zh-Hans")
    target, = validator.validate_many([LIFT])
    assert [(f.code, f.pointer) for f in target.findings] == [
        ("issue.merge-target-missing", "/mergedDuplicates/0")]
    # a forward reference counts: the target comes after the duplicate
    assert all(r.valid for r in validator.validate_many([MERGED, FIRE, LIFT]))
    # a single validate() leaves the set rule to validate_many
    assert validate(MERGED).findings == []


def test_the_merge_target_rule_names_each_missing_duplicate() -> None:
    doc = edited(LIFT, lambda d: d["mergedDuplicates"].append(NEW_ID))
    reports = list(Validator().validate_many([doc, MERGED]))
    assert [(f.code, f.pointer) for f in reports[0].findings] == [
        ("issue.merge-target-missing", "/mergedDuplicates/1")]
    assert reports[1].findings == []


def _merge_findings(*docs: dict[str, Any]) -> list[list[tuple[str, str, str]]]:
    return [[(f.code, f.pointer, f.severity) for f in r.findings]
            for r in Validator().validate_many(docs)]


def test_a_merge_must_be_named_on_both_sides() -> None:
    # /req/issues/merge-reciprocal is a SHOULD: a one-sided merge warns, the set stays valid.
    target = edited(LIFT, lambda d: d.pop("mergedDuplicates"))
    assert _merge_findings(MERGED, target) == [
        [("issue.merge-not-reciprocal", "/mergedInto", "warning")], []]
    unmerged = edited(MERGED, lambda d: d.pop("mergedInto"))
    found = _merge_findings(unmerged, LIFT)
    assert found[1] == [("issue.merge-not-reciprocal", "/mergedDuplicates/0", "warning")]
    # named on both sides: nothing to say; a target outside the set is the other rule's finding
    assert _merge_findings(MERGED, LIFT) == [[], []]
    assert [c for c, *_ in _merge_findings(MERGED)[0]] == ["issue.merge-target-missing"]


@given(st.permutations([MERGED, LIFT, FIRE]))
def test_merge_reciprocity_does_not_depend_on_the_order_of_the_set(
        docs: list[dict[str, Any]]) -> None:
    one_sided = [edited(d, lambda x: x.pop("mergedDuplicates", None)) for d in docs]
    codes = [(r.id, f.code) for r in Validator().validate_many(one_sided) for f in r.findings]
    assert codes == [(MERGED["id"], "issue.merge-not-reciprocal")]


def test_the_message_of_a_one_sided_merge_names_both_issues() -> None:
    target = edited(LIFT, lambda d: d.pop("mergedDuplicates"))
    finding = next(iter(Validator().validate_many([MERGED, target]))).findings[0]
    for lang in ("en", "zh-Hans"):
        assert MERGED["id"] in finding.text(lang) and LIFT["id"] in finding.text(lang)


# -- properties -------------------------------------------------------------------------------
HISTORIES = [d for d in EXAMPLES.values() if len(d["history"]) > 1]


@given(st.data())
def test_an_event_moved_before_its_predecessor_is_reported_there(data: st.DataObject) -> None:
    doc = copy.deepcopy(data.draw(st.sampled_from(HISTORIES)))
    i = data.draw(st.integers(1, len(doc["history"]) - 1))
    seconds = data.draw(st.integers(1, 10 * 86400))
    doc["history"][i]["at"] = shift(doc["history"][i - 1]["at"], seconds=-seconds)
    assert ("issue.history-time-order", f"/history/{i}/at") in hits(doc)


@given(st.data())
def test_a_wrong_seq_is_reported_at_the_first_break(data: st.DataObject) -> None:
    doc = copy.deepcopy(data.draw(st.sampled_from(list(EXAMPLES.values()))))
    i = data.draw(st.integers(0, len(doc["history"]) - 1))
    seq = data.draw(st.integers(1, 50).filter(lambda s: s != i + 1))
    doc["history"][i]["seq"] = seq
    found = {p for c, p in hits(doc) if c == "issue.history-seq"}
    assert f"/history/{i}/seq" in found
    assert len(found) <= 2  # the break, and at most the return to the run after it


@given(st.data())
def test_swapping_two_events_breaks_the_history(data: st.DataObject) -> None:
    doc = copy.deepcopy(data.draw(st.sampled_from(HISTORIES)))
    i = data.draw(st.integers(0, len(doc["history"]) - 2))
    history = doc["history"]
    history[i], history[i + 1] = history[i + 1], history[i]
    found = hits(doc)
    assert ("issue.history-seq", f"/history/{i}/seq") in found
    assert not check(doc).valid


@given(st.data())
def test_a_role_the_table_does_not_allow_is_reported(data: st.DataObject) -> None:
    doc = copy.deepcopy(data.draw(st.sampled_from(list(EXAMPLES.values()))))
    i = data.draw(st.integers(0, len(doc["history"]) - 1))
    event = doc["history"][i]
    allowed = TRANSITIONS[event["action"]]["roles"]
    event["actor"]["role"] = data.draw(st.sampled_from([r for r in ROLES if r not in allowed]))
    assert ("issue.history-lifecycle", f"/history/{i}/actor/role") in hits(doc)


@given(st.data())
def test_a_status_change_the_table_does_not_allow_is_reported(data: st.DataObject) -> None:
    doc = copy.deepcopy(data.draw(st.sampled_from(list(EXAMPLES.values()))))
    i = data.draw(st.integers(0, len(doc["history"]) - 1))
    event = doc["history"][i]
    target = TRANSITIONS[event["action"]].get("to") or event.get("fromStatus")
    statuses = [s for s in SPEC.codelist("issue-status") if s != target]
    event["toStatus"] = data.draw(st.sampled_from(statuses))
    assert ("issue.history-lifecycle", f"/history/{i}/toStatus") in hits(doc)


@given(st.data())
def test_submitted_at_must_be_the_submit_instant(data: st.DataObject) -> None:
    doc = copy.deepcopy(data.draw(st.sampled_from(list(EXAMPLES.values()))))
    seconds = data.draw(st.integers(-86400, 86400).filter(bool))
    doc["submittedAt"] = shift(doc["submittedAt"], seconds=seconds)
    assert ("issue.submitted-at-mismatch", "/submittedAt") in hits(doc)


ASSIGNMENT_TIMES = [
    (name, j, key) for name, d in EXAMPLES.items() for j, a in enumerate(d.get("assignments", []))
    for key in ("acceptedAt", "returnedAt", "completedAt", "cancelledAt", "dueAt") if key in a
]


@given(st.sampled_from(ASSIGNMENT_TIMES), st.integers(0, 30 * 86400))
def test_an_assignment_time_before_assignment_is_reported(
        where: tuple[str, int, str], seconds: int) -> None:
    name, j, key = where
    if key != "dueAt":
        seconds += 1  # dueAt may not even equal assignedAt; the others may
    doc = copy.deepcopy(EXAMPLES[name])
    assignment = doc["assignments"][j]
    assignment[key] = shift(assignment["assignedAt"], seconds=-seconds)
    assert ("issue.assignment-time-order", f"/assignments/{j}/{key}") in hits(doc)


@given(st.sampled_from(["responseDue", "resolutionDue"]), st.integers(1, 86400))
def test_a_deadline_before_submission_is_reported(key: str, seconds: int) -> None:
    doc = copy.deepcopy(GAS)
    doc["deadlines"][key] = shift(doc["submittedAt"], seconds=-seconds)
    assert ("issue.deadline-order", f"/deadlines/{key}") in hits(doc)


@given(st.integers(-86400, 86400).filter(bool))
def test_the_last_extension_sets_the_resolution_deadline(seconds: int) -> None:
    doc = copy.deepcopy(GAS)
    doc["deadlines"]["resolutionDue"] = shift(doc["deadlines"]["resolutionDue"], seconds=seconds)
    assert ("issue.extension-chain", "/deadlines/resolutionDue") in hits(doc)


@given(st.integers(0, 86400), st.sampled_from(["previousDue", "newDue"]))
def test_an_extension_event_must_match_its_entry(seconds: int, key: str) -> None:
    doc = copy.deepcopy(GAS)
    entry = doc["deadlines"]["extensions"][0]
    entry[key] = shift(entry[key], seconds=seconds + 1)
    found = hits(doc)
    assert ("issue.extension-history-mismatch", f"/deadlines/extensions/0/{key}") in found
    if key == "previousDue" and seconds + 1 >= 7 * 86400:  # moved past newDue
        assert ("issue.extension-not-later", "/deadlines/extensions/0/newDue") in found


def _chained(previous: str, days: list[int]) -> list[dict[str, Any]]:
    entries = []
    for n in days:
        new = shift(previous, days=n)
        entries.append({"previousDue": previous, "newDue": new, "reason": "complex-case",
                        "at": previous})
        previous = new
    return entries


@given(st.lists(st.integers(1, 30), min_size=1, max_size=5), st.data())
def test_chained_extensions_are_valid_and_a_broken_link_is_found(
        days: list[int], data: st.DataObject) -> None:
    doc = copy.deepcopy(LIFT)
    entries = _chained(doc["deadlines"]["resolutionDue"], days)
    doc["deadlines"]["extensions"] = entries
    doc["deadlines"]["resolutionDue"] = entries[-1]["newDue"]
    for k, entry in enumerate(entries):
        doc["history"].append({
            "seq": len(doc["history"]) + 1, "at": shift(doc["history"][-1]["at"], minutes=k + 1),
            "action": "extend-deadline", "actor": {"role": "department"},
            "fromStatus": "in-progress", "toStatus": "in-progress", "reason": entry["reason"],
            "details": {"previousDue": entry["previousDue"], "newDue": entry["newDue"]},
        })
    assert check(doc).findings == []
    if len(entries) > 1:
        k = data.draw(st.integers(1, len(entries) - 1))
        entries[k]["previousDue"] = shift(entries[k]["previousDue"], hours=-1)
        assert ("issue.extension-chain", f"/deadlines/extensions/{k}/previousDue") in hits(doc)


@given(st.integers(1, 86400))
def test_a_follow_up_before_the_resolution_is_reported(seconds: int) -> None:
    doc = copy.deepcopy(GAS)
    doc["followUps"][0]["at"] = shift(doc["history"][8]["at"], seconds=-seconds)
    assert ("issue.follow-up-time-order", "/followUps/0/at") in hits(doc)


@given(st.sampled_from(list(SPEC.codelist("issue-category"))),
       st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True))
def test_local_sub_categories_under_a_standard_group_are_not_reported(
        code: str, local: str) -> None:
    doc = copy.deepcopy(FIRE)
    doc["category"] = f"{code}.{local}"
    assert ("issue.category-group-unknown", "/category") not in hits(doc)
    assert check(doc).valid


@given(st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True))
def test_a_category_outside_the_groups_is_a_warning(group: str) -> None:
    assume(group not in SPEC.codelist("issue-category"))
    doc = copy.deepcopy(FIRE)
    doc["category"] = group + ".local"
    report = check(doc)
    assert report.valid
    assert ("issue.category-group-unknown", "/category") in {
        (f.code, f.pointer) for f in report.warnings}


@given(st.from_regex(r"[0-9A-Z]{1,8}", fullmatch=True), st.from_regex(r"[0-9]{3}", fullmatch=True))
def test_a_grid_belongs_to_its_community(cell: str, village: str) -> None:
    doc = copy.deepcopy(GAS)
    community = doc["communityDivisionCode"]
    doc["gridCode"] = f"{community}-{cell}"
    assert ("issue.grid-outside-community", "/gridCode") not in hits(doc)
    other = community[:9] + village
    doc["gridCode"] = f"{other}-{cell}"
    assert (("issue.grid-outside-community", "/gridCode") in hits(doc)) == (other != community)


# -- valid mutations find nothing -------------------------------------------------------------
TEXT = st.text(st.characters(whitelist_categories=("L", "N", "P", "Zs")), min_size=1,
               max_size=60).map(str.strip).filter(bool)


@given(st.sampled_from(list(EXAMPLES.values())), TEXT, TEXT, st.lists(TEXT, min_size=12,
                                                                         max_size=12))
def test_renaming_text_fields_finds_nothing(
        example: dict[str, Any], title: str, reply: str, notes: list[str]) -> None:
    doc = copy.deepcopy(example)
    doc["title"] = title
    doc["description"] = reply + title
    for event, note in zip(doc["history"], notes, strict=False):
        event["note"] = note
        if event["action"] == "resolve":
            event["details"]["reply"] = reply
        if event["action"] == "add-progress":
            event["details"]["message"] = note
    if "reply" in doc:
        doc["reply"] = reply
    assert check(doc).findings == []


def _restamp(node: Any, pick: Callable[[str], str]) -> Any:
    if isinstance(node, dict):
        return {k: _restamp(v, pick) for k, v in node.items()}
    if isinstance(node, list):
        return [_restamp(v, pick) for v in node]
    if isinstance(node, str) and DATETIME.match(node):
        return pick(node)
    return node


OFFSETS = st.integers(-14 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))


@given(st.sampled_from(list(EXAMPLES.values())), st.data())
def test_the_same_instants_in_other_offsets_find_nothing(
        example: dict[str, Any], data: st.DataObject) -> None:
    def pick(stamp: str) -> str:
        moment = datetime.fromisoformat(stamp).astimezone(data.draw(OFFSETS))
        text = moment.isoformat(timespec=data.draw(st.sampled_from(["seconds", "milliseconds"])))
        if text.endswith("+00:00") and data.draw(st.booleans()):
            text = text[:-6] + "Z"
        return text

    doc = _restamp(example, pick)
    assert check(doc).findings == []


@given(st.sampled_from(HISTORIES), st.data())
def test_an_earlier_event_in_another_offset_is_still_found(
        example: dict[str, Any], data: st.DataObject) -> None:
    doc = copy.deepcopy(example)
    i = data.draw(st.integers(1, len(doc["history"]) - 1))
    earlier = datetime.fromisoformat(doc["history"][i - 1]["at"]) - timedelta(seconds=1)
    doc["history"][i]["at"] = earlier.astimezone(data.draw(OFFSETS)).isoformat()
    assert ("issue.history-time-order", f"/history/{i}/at") in hits(doc)


# -- rules never raise ------------------------------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 12) | st.floats(allow_nan=False)
    | st.sampled_from(["", "x", "lead", "pending", "in-progress", "resolve", "2025-01-08T10:20:00Z",
                       "2025-13-40T99:99:99+08:00", NEW_ID, GAS["id"]]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["id", "seq", "at", "role", "status", "details", "lead", "newDue"]),
        inner, max_size=3),
    max_leaves=8,
)


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*here, i))
    return out


@given(st.sampled_from(list(EXAMPLES.values())), st.data())
def test_the_rules_never_raise_on_garbage(example: dict[str, Any], data: st.DataObject) -> None:
    doc = copy.deepcopy(example)
    for _ in range(data.draw(st.integers(1, 4))):
        # resourceType and specVersion pick the rules; they are the validator's business
        paths = [p for p in _paths(doc) if p and p[0] not in ("resourceType", "specVersion")]
        path = data.draw(st.sampled_from(paths))
        node: Any = doc
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = data.draw(JSON)
    ctx = Context(SPEC, compile_plan(SPEC, "Issue"), Report())
    ri.issue_history(doc, ctx)
    ri.issue_records(doc, ctx)
    validate(doc)  # and the whole validator keeps going
