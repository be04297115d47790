"""Lifecycle actions: both tables driven end to end, and every action's role and status rules."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcommunity.lifecycle import lifecycle_for

from .helpers import EXAMPLES, LI, WANG, Api, example, later, new_id, submitted_issue

GAS = EXAMPLES["issue/gas-heater-elderly-closed.json"]
LIFT = EXAMPLES["consultation/lift-installation-building-3.json"]
HOUSING = {"id": "housing", "name": "朝阳区住房和城乡建设委员会", "type": "government-department"}
CIVIL = {"id": "civil-affairs", "name": "朝阳区民政局", "type": "government-department"}
TIMES = ("assignedAt", "acceptedAt", "returnedAt", "completedAt", "cancelledAt", "dueAt",
         "assignedBy", "at", "by", "requestedBy", "previousDue", "newDue")


class Doc:
    """One resource followed through its actions, checking that history only grows."""

    def __init__(self, api: Api, rtype: str, doc: dict[str, Any], who: str = "community-staff"):
        self.api = api
        self.rtype = rtype
        self.path = f"/{'issues' if rtype == 'Issue' else 'consultations'}/{doc['id']}"
        resp = api.as_(who).create(doc)
        assert resp.status_code == 201, resp.text
        self.id = doc["id"]
        self.etag = resp.headers["etag"]
        self.doc = resp.json()

    def act(self, who: str, action: str, body: dict[str, Any] | None = None,
            status: int = 200) -> Any:
        before = self.api.staff.get(self.path).json()
        resp = self.api.as_(who).post(f"{self.path}/actions/{action}", body or {},
                                      if_match=self.etag)
        assert resp.status_code == status, (action, who, resp.text)
        if status == 200:
            self.etag = resp.headers["etag"]
            after = self.api.staff.get(self.path).json()
            # /req/core/history-append-only: one event more, the earlier ones untouched.
            assert after["history"][:-1] == before["history"], action
            event = after["history"][-1]
            assert event["action"] == action and event["seq"] == len(after["history"])
            assert event["actor"]["role"] == self.api.as_(who).role()
            if body and body.get("note"):
                assert event["note"] == body["note"]
            self.doc = after
        return resp

    def put(self, members: dict[str, Any]) -> None:
        body = self.api.staff.get(self.path).json()
        body.update(members)
        resp = self.api.staff.put(self.path, body, if_match=self.etag)
        assert resp.status_code == 200, resp.text
        self.etag = resp.headers["etag"]
        self.doc = resp.json()



def _new(template: dict[str, Any], role: str, department: dict[str, Any] | None = None,
         ) -> dict[str, Any]:
    """A new assignment for the request's items, from an example's assignment."""
    return {"id": template["id"] if department is None else new_id(),
            "department": department or template["department"], "role": role,
            "status": "pending", "assignedAt": later(0), "dueAt": later(7)}


def _lead(doc: dict[str, Any]) -> dict[str, Any]:
    return next(a for a in doc["assignments"]
                if a["role"] == "lead" and a["status"] in ("pending", "accepted"))


def _without(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in TIMES}


def test_issue_closed_loop(api: Api) -> None:
    """受理 → 派单 → 退单 → 改派 → 签收 → 办理 → 延期 → 办结 → 回访, as in the example."""
    start = {k: copy.deepcopy(v) for k, v in GAS.items()
             if k not in ("assignments", "followUps", "resolution", "reply", "meta")}
    start.update(id=new_id(), status="submitted", history=GAS["history"][:1],
                 deadlines={"responseDue": GAS["deadlines"]["responseDue"],
                            "resolutionDue": later(7)})
    issue = Doc(api, "Issue", start, "grid-worker")
    first, assisting, second = GAS["assignments"]
    issue.act("community-staff", "accept")
    # /req/issues/action-effects: new assignments travel in the request's items.
    issue.act("community-staff", "dispatch", {"details": {
        "lead": first["id"], "assisting": [assisting["id"]], "dueAt": later(7)}}, 422)
    issue.act("community-staff", "dispatch", {
        "details": {"lead": first["id"], "assisting": [assisting["id"]], "dueAt": later(7)},
        "items": {"assignments": [_new(first, "lead"), _new(assisting, "assisting")]}})
    issue.act("department", "return", {"reason": "not-in-remit", "note": first["returnNote"],
                                       "details": {"assignmentId": first["id"]}})
    issue.act("community-staff", "reassign", {
        "details": {"from": first["id"], "to": second["id"], "dueAt": later(7)},
        "items": {"assignments": [_new(second, "lead")]}})
    # /req/privacy/department-assignment-ended: housing returned its only assignment, so it
    # no longer sees the issue at all (not even to claim the new lead).
    issue.act("department", "claim", {"details": {"assignmentId": second["id"]}}, 404)
    issue.act("test-dept-urban-chen-lei", "claim", {"details": {"assignmentId": second["id"]}})
    issue.act("test-dept-urban-chen-lei", "add-progress", {"details": {
        "message": GAS["history"][6]["details"]["message"]}})
    due = issue.doc["deadlines"]["resolutionDue"]
    issue.act("test-dept-urban-chen-lei", "extend-deadline", {
        "reason": "awaiting-funding", "details": {
            "previousDue": due, "newDue": later(14),
            "approvedBy": GAS["deadlines"]["extensions"][0]["approvedBy"]}})
    issue.act("test-dept-urban-chen-lei", "resolve", {"details": {
        "resolution": GAS["resolution"], "reply": GAS["reply"]}})
    # At the resolution or after it, and not after the follow-up event (/req/issues/follow-up-time).
    follow_up = {**GAS["followUps"][0], "at": issue.doc["history"][-1]["at"]}
    issue.act("community-staff", "follow-up", {"details": {"followUpId": follow_up["id"]},
                                               "items": {"followUps": [follow_up]}})
    final = issue.doc
    assert final["status"] == "closed" and final["resolution"] == GAS["resolution"]
    assert final["reply"] == GAS["reply"]
    assert [_without(a) for a in final["assignments"]] == [_without(a)
                                                         for a in GAS["assignments"]]
    assert [_without(f) for f in final["followUps"]] == [_without(f) for f in GAS["followUps"]]
    ext = final["deadlines"]["extensions"]
    assert len(ext) == 1 and ext[0]["reason"] == "awaiting-funding"
    assert final["deadlines"]["resolutionDue"] == ext[0]["newDue"]
    assert [e["action"] for e in final["history"]] == [e["action"] for e in GAS["history"]]
    issue.act("community-staff", "reopen", {"reason": "reporter-unsatisfied"})
    assert issue.doc["status"] == "accepted" and "resolution" not in issue.doc


#: what updates write before the action that needs it; the rest of the record is written by
#: the actions' details (/req/consultations/record-from-actions)
LATER = {"sessions": "hold-session", "votes": "open-vote"}
#: what only actions write (/req/consultations/create-proposed)
WRITTEN = ("decision", "publications", "implementation", "feedback")
CONSULTATION_TOKENS = {"community-staff": "community-staff", "grid-worker": "grid-worker",
                       "system": "test-system-local", "department": "demo-dept-housing"}


def _planned_votes() -> list[dict[str, Any]]:
    """The example's votes as an update writes them: planned, nothing recorded."""
    votes = copy.deepcopy(LIFT["votes"])
    for vote in votes:
        for member in ("results", "ballots", "ballotsComplete", "opensAt", "closesAt"):
            vote.pop(member, None)
        vote["status"] = "planned"
    return votes


def _stage(c: Doc, action: str) -> None:
    for member, before in LATER.items():
        if before == action and member not in c.doc:
            c.put({member: _planned_votes() if member == "votes"
                   else copy.deepcopy(LIFT[member])})


def _proposed(**changes: Any) -> dict[str, Any]:
    doc = {k: copy.deepcopy(v) for k, v in LIFT.items()
           if k not in LATER and k not in WRITTEN and k not in ("meta", "externalRefs")}
    # its own copy of the first event: a create fills in the actor in place
    doc.update(id=new_id(), status="proposed", history=copy.deepcopy(LIFT["history"][:1]),
               **changes)
    return doc


def _body(event: dict[str, Any]) -> dict[str, Any]:
    body = {k: copy.deepcopy(event[k]) for k in ("note", "reason", "details") if k in event}
    if event["action"] == "close-vote":
        body["details"] = {"voteId": event["details"]["voteId"]}  # the server computes
    for member in ("resultsVisibleFrom", "completedAt"):
        # the example's own times lie before the server's clock: the event's time is taken
        body.get("details", {}).pop(member, None)
    return body


def _drive(c: Doc, until: str | None = None) -> None:
    """Replay the example's procedure: each event's details write the record."""
    for event in LIFT["history"][1:]:
        if until is not None and c.doc["status"] == until:
            return
        _stage(c, event["action"])
        c.act(CONSULTATION_TOKENS[event["actor"]["role"]], event["action"], _body(event))
    assert until is None or c.doc["status"] == until


def test_consultation_whole_procedure(api: Api) -> None:
    """Topic → notice → deliberation → vote → decision → implementation → feedback."""
    c = Doc(api, "Consultation", _proposed())
    _drive(c)
    final = c.doc
    for member in ("status", "publications"):
        assert final[member] == LIFT[member], member
    assert {**final["decision"], "decidedAt": "-"} == {**LIFT["decision"], "decidedAt": "-"}
    for got, want in zip(final["votes"], LIFT["votes"], strict=True):
        assert got["status"] == "closed"
        for member in ("quorumMet", "result", "winningOptionId"):
            assert got["results"][member] == want["results"][member]
        # counts recorded without their ballots: not the whole vote
        # (/req/consultations/ballots-complete-at-close)
        assert got["ballotsComplete"] is want["ballotsComplete"] is False
        assert got["results"]["tally"]["participation"]["total"] == (
            want["results"]["tally"]["participation"]["total"])
    for member in ("responsiblePartyIds", "progress"):
        assert final["implementation"][member] == LIFT["implementation"][member], member
    assert final["feedback"]["text"] == LIFT["feedback"]["text"]
    # each event carries what was sent; close-vote the result the server computed
    sent = [e.get("details") if e["action"] == "close-vote" or e["seq"] == 1
            else _body(e).get("details") for e in LIFT["history"]]
    assert [(e["action"], e.get("details")) for e in final["history"]] == [
        (e["action"], d) for e, d in zip(LIFT["history"], sent, strict=True)]
    close_votes = [e for e in final["history"] if e["action"] == "close-vote"]
    assert {e["details"]["result"] for e in close_votes} == {"passed"}


# -- every action: an allowed role succeeds, another role gets 403, a wrong status 409 ----

def _issue_at(api: Api, status: str) -> Doc:
    issue = Doc(api, "Issue", submitted_issue(deadlines={"resolutionDue": later(7)}))
    steps: list[tuple[str, Callable[[Doc], None]]] = [
        ("accepted", lambda d: d.act("community-staff", "accept")),
        ("dispatched", _dispatch),
        ("in-progress", lambda d: d.act("department", "claim", {
            "details": {"assignmentId": _lead(d.doc)["id"]}})),
        ("resolved", lambda d: d.act("department", "resolve", {
            "details": {"resolution": "fixed", "reply": "已清理消防通道。"}})),
        ("closed", lambda d: d.act("community-staff", "close")),
    ]
    for reached, step in steps:
        if issue.doc["status"] == status:
            break
        step(issue)
        assert issue.doc["status"] == reached
    assert issue.doc["status"] == status
    return issue


def _dispatch(d: Doc) -> None:
    lead = _new({}, "lead", HOUSING)
    assisting = _new({}, "assisting", CIVIL)
    d.act("community-staff", "dispatch", {
        "details": {"lead": lead["id"], "assisting": [assisting["id"]], "dueAt": later(7)},
        "items": {"assignments": [lead, assisting]}})


def _issue_body(api: Api, action: str, d: Doc) -> dict[str, Any]:
    doc = d.doc
    if action == "reject-intake":
        return {"details": {"reply": "该事项不属于社区受理范围。"}}
    if action == "transfer":
        return {"details": {"transferredTo": {"id": "fire-rescue", "name": "朝阳区消防救援支队",
                                              "type": "government-department"},
                            "reply": "已转消防部门处理。"}}
    if action == "merge":
        target = Doc(api, "Issue", submitted_issue())
        return {"details": {"mergedInto": target.id}}
    if action == "dispatch":
        lead = _new({}, "lead", HOUSING)
        return {"details": {"lead": lead["id"]}, "items": {"assignments": [lead]}}
    if action in ("claim", "return"):
        return {"reason": "not-in-remit", "details": {"assignmentId": _lead(doc)["id"]}}
    if action == "reassign":
        new = _new({}, "lead", CIVIL)
        return {"details": {"from": _lead(doc)["id"], "to": new["id"]},
                "items": {"assignments": [new]}}
    if action == "extend-deadline":
        return {"reason": "complex-case", "details": {
            "previousDue": doc["deadlines"]["resolutionDue"], "newDue": later(30)}}
    if action == "supervise":
        return {"details": {"instruction": "请三日内反馈办理进展。", "respondBy": later(3)}}
    if action == "add-progress":
        return {"details": {"message": "已约物业现场查看。"}}
    if action == "resolve":
        return {"details": {"resolution": "fixed", "reply": "已清理消防通道。"}}
    if action == "follow-up":
        # who followed up is the one recording it (/req/core/actor-is-principal)
        follow_up = {"id": new_id(), "at": doc["history"][-1]["at"], "contactResult": "reached",
                     "by": {"role": ISSUE_CASES["follow-up"][1]},
                     "perceivedResolution": "resolved", "rating": 5}
        return {"details": {"followUpId": follow_up["id"]}, "items": {"followUps": [follow_up]}}
    if action == "reopen":
        return {"reason": "recurred"}
    if action == "exclude-from-assessment":
        return {"reason": "force-majeure", "details": {"exclusionId": new_id()}}
    return {}


#: (source status, who performs it) per action; the statuses come from the table
ISSUE_CASES = {
    "accept": ("submitted", "community-staff"), "reject-intake": ("submitted", "hotline-operator"),
    "transfer": ("accepted", "community-staff"), "merge": ("dispatched", "community-staff"),
    "dispatch": ("accepted", "hotline-operator"), "claim": ("dispatched", "department"),
    "return": ("in-progress", "department"), "reassign": ("in-progress", "supervisor"),
    "extend-deadline": ("dispatched", "community-staff"), "supervise": ("accepted", "regulator"),
    "add-progress": ("in-progress", "department"), "resolve": ("in-progress", "department"),
    "follow-up": ("resolved", "hotline-operator"), "close": ("resolved", "community-staff"),
    "reopen": ("closed", "supervisor"), "withdraw": ("dispatched", "community-staff"),
    "exclude-from-assessment": ("closed", "regulator"),
}
ISSUES = lifecycle_for("Issue")


def test_issue_cases_cover_the_table() -> None:
    assert set(ISSUE_CASES) == {a for a, t in ISSUES.transitions.items() if not t.creates}
    for action, (status, role) in ISSUE_CASES.items():
        t = ISSUES.transitions[action]
        assert status in t.sources and role in t.roles, action


@pytest.mark.parametrize("action", sorted(ISSUE_CASES))
def test_issue_action(sqlite_api: Api, action: str) -> None:
    api = sqlite_api
    status, role = ISSUE_CASES[action]
    t = ISSUES.transitions[action]
    issue = _issue_at(api, status)
    body = _issue_body(api, action, issue)
    forbidden = next(r for r in ("public", "regulator", "resident", "department", "supervisor")
                     if r not in t.roles)
    issue.act(forbidden, action, body, 403)
    issue.act(role, action, body)
    assert issue.doc["status"] == (t.target or status)
    # A closed issue went through dispatch, so a department may see it; reopen starts there.
    wrong = "closed" if "closed" not in t.sources else "submitted"
    other = _issue_at(api, wrong)
    other.act(role, action, body, 409)


CONSULTATION_CASES = {
    "accept-topic": "proposed", "reject-topic": "proposed", "publish-notice": "accepted",
    "open-deliberation": "announced", "hold-session": "deliberating", "open-vote": "deliberating",
    "record-votes": "voting", "close-vote": "voting", "decide": "voting",
    "publish-decision": "decided", "start-implementation": "decision-published",
    "report-progress": "implementing", "publish-update": "implementing",
    "publish-feedback": "implementing", "close": "feedback-published", "withdraw": "announced",
    "cancel": "deliberating",
}
CONSULTATIONS = lifecycle_for("Consultation")


def _event(action: str, vote_id: str | None = None) -> dict[str, Any]:
    return next(e for e in LIFT["history"] if e["action"] == action
                and (vote_id is None or e["details"]["voteId"] == vote_id))


def _record_v01(c: Doc) -> None:
    for event in LIFT["history"]:
        if event["action"] == "record-votes" and event["details"]["voteId"] == "v-01":
            c.act("community-staff", "record-votes", _body(event))


def _consultation_body(action: str, c: Doc) -> dict[str, Any]:
    _stage(c, action)
    if action in ("reject-topic", "cancel"):
        return {"reason": "circumstances-changed"}
    if action == "hold-session":
        return {"details": {"sessionId": "s-01"}}
    if action == "open-vote":
        return {"details": {"voteId": "v-01"}}
    if action == "record-votes":
        return _body(_event("record-votes", "v-01"))
    if action == "close-vote":
        _record_v01(c)
        return {"details": {"voteId": "v-01"}}
    if action == "decide":
        # /req/consultations/no-open-vote-after-decision: the open vote closes first.
        _record_v01(c)
        c.act("community-staff", "close-vote", {"details": {"voteId": "v-01"}})
        return {"details": {"decisionType": "adopted", "basis": "vote", "voteIds": ["v-01"],
                            "text": LIFT["decision"]["text"]}}
    if action in ("publish-decision", "start-implementation", "report-progress",
                  "publish-feedback"):
        return _body(_event(action))
    if action == "publish-update":
        return {"details": {"publicationType": "implementation-progress"}}
    return {}


def test_consultation_cases_cover_the_table() -> None:
    assert set(CONSULTATION_CASES) == {a for a, t in CONSULTATIONS.transitions.items()
                                       if not t.creates}


def _consultation_at(api: Api, status: str, **changes: Any) -> Doc:
    c = Doc(api, "Consultation", _proposed(**changes))
    if status == "proposed":
        return c
    if status == "deliberating" or status == "voting":
        _drive(c, "deliberating")
        c.put({"sessions": copy.deepcopy(LIFT["sessions"]), "votes": _planned_votes()})
        if status == "voting":
            c.act("community-staff", "open-vote", {"details": {"voteId": "v-01"}})
        return c
    _drive(c, status)
    return c


@pytest.mark.parametrize("action", sorted(CONSULTATION_CASES))
def test_consultation_action(sqlite_api: Api, action: str) -> None:
    api = sqlite_api
    status = CONSULTATION_CASES[action]
    t = CONSULTATIONS.transitions[action]
    proposer = {"type": "resident-proposal", "proposers": [
        {"role": "resident", "name": "王桂英",
         "resident": {"resourceType": "Resident", "id": WANG}}],
        "proposedAt": LIFT["origin"]["proposedAt"]}
    changes = {"origin": proposer} if action == "withdraw" else {}
    c = _consultation_at(api, status, **changes)
    body = _consultation_body(action, c)
    role = "resident" if action == "withdraw" else next(
        r for r in ("community-staff", "department", "grid-worker") if r in t.roles)
    forbidden = next(r for r in ("public", "regulator", "department", "grid-worker", "resident")
                     if r not in t.roles)
    c.act(forbidden, action, body, 403)
    c.act(role, action, body)
    assert c.doc["status"] == (t.target or status)
    wrong = "closed" if "proposed" in t.sources else "proposed"
    if wrong == "closed":
        other = _consultation_at(api, "proposed", **changes)
        other.act("community-staff", "reject-topic", {"reason": "duplicate"})
    else:
        other = _consultation_at(api, "proposed", **changes)
    other.act(role, action, body, 409)


# -- rules on particular actions --------------------------------------------------------

def test_merge_updates_the_target_in_the_same_commit(api: Api) -> None:
    """/req/issues/merge-updates-target and /req/issues/merge-target-exists."""
    target = Doc(api, "Issue", submitted_issue())
    dup = Doc(api, "Issue", submitted_issue())
    dup.act("community-staff", "merge", {"details": {"mergedInto": dup.id}}, 422)
    dup.act("community-staff", "merge", {"details": {"mergedInto": new_id()}}, 422)
    hepingli = Doc(api, "Issue", submitted_issue(communityDivisionCode="110105001002",
                                                 gridCode="110105001002-01"),
                   "demo-staff-hepingli")
    dup.act("community-staff", "merge", {"details": {"mergedInto": hepingli.id}}, 422)
    before = api.as_("system").get("/changes", params={"cursor": "latest"}).json()["next"]
    dup.act("community-staff", "merge", {"details": {"mergedInto": target.id}})
    assert dup.doc["resolution"] == "duplicate" and dup.doc["mergedInto"] == target.id
    kept = api.staff.get(f"/issues/{target.id}")
    assert kept.json()["mergedDuplicates"] == [dup.id]
    assert kept.headers["etag"] == '"2"'
    mine = api.as_("system").get("/changes", params={"cursor": before}).json()["items"]
    assert [(e["subject"], e["action"]) for e in mine] == [
        (f"issues/{target.id}", "merge"), (f"issues/{dup.id}", "merge")] or [
        (e["subject"], e["action"]) for e in mine] == [
        (f"issues/{dup.id}", "merge"), (f"issues/{target.id}", "merge")]


@pytest.mark.parametrize("forged", [
    {"status": "accepted", "acceptedAt": "2030-01-01T00:00:00+08:00"},
    {"assignedBy": {"role": "supervisor", "userId": "sv-0001"}}])
def test_a_dispatch_writes_its_assignments_as_the_principal_and_pending(
        api: Api, forged: dict[str, Any]) -> None:
    """A dispatch neither claims the assignment for the department (only the department's
    claim does: lifecycle.assignment-not-pending) nor names another dispatcher
    (/req/core/actor-is-principal); either refusal changes nothing."""
    issue = _issue_at(api, "accepted")
    lead = {**_new({}, "lead", HOUSING), **forged}
    before = api.staff.get(issue.path).json()
    resp = api.staff.post(f"{issue.path}/actions/dispatch",
                          {"details": {"lead": lead["id"]}, "items": {"assignments": [lead]}},
                          if_match=issue.etag)
    if "status" in forged:
        assert resp.status_code == 422, resp.text
        assert {e["code"] for e in resp.json()["errors"]} == {"lifecycle.assignment-not-pending"}
    else:
        assert resp.status_code == 403, resp.text
        assert [e["pointer"] for e in resp.json()["errors"]] == [
            "/items/assignments/0/assignedBy/role"]
    assert api.staff.get(issue.path).json() == before


def test_close_vote_computes_the_result(api: Api) -> None:
    """/req/consultations/close-vote-result: the server's result, and 422 for a wrong one."""
    c = _consultation_at(api, "voting")
    assert "result" not in c.doc["votes"][0]["results"]  # computed at close, not before
    _record_v01(c)
    c.act("community-staff", "close-vote", {"details": {"voteId": "v-01", "result": "failed"}},
          422)
    c.act("community-staff", "close-vote", {"details": {"voteId": "v-09"}}, 422)
    c.act("community-staff", "close-vote", {"details": {"voteId": "v-01"}})
    assert c.doc["votes"][0]["status"] == "closed"
    assert c.doc["history"][-1]["details"] == {"voteId": "v-01", "result": "passed",
                                                "ballotsComplete": False}
    tally, want = c.doc["votes"][0]["results"]["tally"], LIFT["votes"][0]["results"]["tally"]
    assert tally["participation"]["total"] == want["participation"]["total"]
    assert {o["optionId"]: o["total"] for o in tally["options"]} == {
        o["optionId"]: o["total"] for o in want["options"]}


def test_a_closed_vote_never_changes(api: Api) -> None:
    """/req/consultations/record-from-actions and lifecycle-fields-read-only."""
    c = _consultation_at(api, "voting")
    _record_v01(c)
    c.act("community-staff", "record-votes", {"details": {"voteId": "v-01", "channel": "paper",
                                                          "count": 2, "options": [
                                                              {"optionId": "agree", "count": 1}]}},
          422)  # the breakdown does not add up to count
    c.act("community-staff", "close-vote", {"details": {"voteId": "v-01"}})
    closed = copy.deepcopy(c.doc["votes"][0])
    c.act("community-staff", "record-votes", _body(_event("record-votes", "v-01")), 422)
    c.act("community-staff", "close-vote", {"details": {"voteId": "v-01"}}, 422)
    c.act("community-staff", "open-vote", {"details": {"voteId": "v-01"}}, 422)
    body = api.staff.get(c.path).json()
    for change in ({"result": "failed"}, {"quorumMet": False}, {"winningOptionId": "disagree"}):
        rewritten = copy.deepcopy(body)
        rewritten["votes"][0]["results"].update(change)
        assert api.staff.put(c.path, rewritten, if_match=c.etag).status_code == 422
    rewritten = copy.deepcopy(body)
    rewritten["votes"][0]["ballots"] = []
    assert api.staff.put(c.path, rewritten, if_match=c.etag).status_code == 422
    rewritten = copy.deepcopy(body)
    rewritten["votes"] = rewritten["votes"][1:]
    assert api.staff.put(c.path, rewritten, if_match=c.etag).status_code == 422
    rewritten = copy.deepcopy(body)
    rewritten["votes"][1]["status"] = "open"
    assert api.staff.put(c.path, rewritten, if_match=c.etag).status_code == 422
    rewritten = copy.deepcopy(body)
    rewritten["votes"][1]["status"] = "cancelled"  # a planned vote may be called off
    assert api.staff.put(c.path, rewritten, if_match=c.etag).status_code == 200
    assert api.staff.get(c.path).json()["votes"][0] == closed
    # ... and stays called off: neither taken back to planned nor reworded, so never counted
    cancelled = api.staff.get(c.path)
    for change in ({"status": "planned"}, {"question": "改写的表决问题"}):
        rewritten = copy.deepcopy(cancelled.json())
        rewritten["votes"][1].update(change)
        resp = api.staff.put(c.path, rewritten, if_match=cancelled.headers["etag"])
        assert resp.status_code == 422, change
        assert {e["pointer"] for e in resp.json()["errors"]} == {"/votes/1"}
    assert api.staff.get(c.path).json() == cancelled.json()
    c.etag = cancelled.headers["etag"]
    vote_id = cancelled.json()["votes"][1]["id"]
    c.act("community-staff", "open-vote", {"details": {"voteId": vote_id}}, 422)


def test_decision_and_publications_are_written_only_by_actions(api: Api) -> None:
    """/req/consultations/lifecycle-fields-read-only and create-proposed."""
    c = _consultation_at(api, "decision-published")
    body = api.staff.get(c.path).json()
    extra = {**body["publications"][-1], "title": "另一次公开"}
    for member, value in (("decision", {**body["decision"], "type": "rejected"}),
                          ("publications", [*body["publications"], extra]),
                          ("publications", body["publications"][:-1]),
                          ("feedback", {"text": "无", "publishedAt": body["meta"]["lastUpdated"]})):
        rewritten = {**copy.deepcopy(body), member: value}
        resp = api.staff.put(c.path, rewritten, if_match=c.etag)
        assert resp.status_code == 422, member
        assert any(e.get("requirement") in ("/req/consultations/lifecycle-fields-read-only",
                                             "/req/consultations/record-matches-history")
                   for e in resp.json()["errors"]), resp.text
    for changes in ({"status": "closed"}, {"decision": LIFT["decision"]},
                    {"votes": copy.deepcopy(LIFT["votes"])},
                    {"history": copy.deepcopy(LIFT["history"][:2])}):
        resp = api.staff.create({**_proposed(), **changes})
        assert resp.status_code == 422, changes


def test_merged_duplicates_name_stored_issues(api: Api) -> None:
    """/req/issues/merge-target-exists on create and update."""
    doc = submitted_issue(mergedDuplicates=[new_id()])
    assert api.staff.create(doc).status_code == 422
    assert api.staff.get(f"/issues/{doc['id']}").status_code == 404
    kept = Doc(api, "Issue", submitted_issue())
    other = Doc(api, "Issue", submitted_issue())
    body = api.staff.get(kept.path).json()
    body["mergedDuplicates"] = [new_id()]
    assert api.staff.put(kept.path, body, if_match=kept.etag).status_code == 422
    body["mergedDuplicates"] = [other.id]
    assert api.staff.put(kept.path, body, if_match=kept.etag).status_code == 200


def test_items_only_where_the_action_takes_them(api: Api) -> None:
    issue = _issue_at(api, "submitted")
    stray = _new({}, "lead", HOUSING)
    issue.act("community-staff", "accept", {"items": {"assignments": [stray]}}, 422)
    issue.act("community-staff", "accept")
    resp = issue.act("community-staff", "dispatch", {
        "details": {"lead": new_id()}, "items": {"assignments": [stray]}}, 422)
    assert {e["pointer"] for e in resp.json()["errors"]} == {"/items/assignments/0"}


def test_action_requests(api: Api) -> None:
    issue = _issue_at(api, "submitted")
    # Unknown action, the creating action and bad details.
    assert api.staff.post(f"{issue.path}/actions/fly", {}, if_match=issue.etag).status_code == 404
    assert api.staff.post(f"{issue.path}/actions/submit", {},
                          if_match=issue.etag).status_code == 404
    assert api.staff.post(f"{issue.path}/actions/accept", {}).status_code == 428
    assert api.staff.post(f"{issue.path}/actions/accept", {},
                          if_match='"9"').status_code == 412
    resp = issue.act("community-staff", "reject-intake", {"details": {"why": "x"}}, 422)
    pointers = [e["pointer"] for e in resp.json()["errors"]]
    assert pointers and all(p.startswith("/details") for p in pointers)
    assert any(e.get("requirement") == "/req/issues/action-details"
               for e in resp.json()["errors"])
    issue.act("community-staff", "accept", {"unexpected": 1}, 422)
    # The actor is the principal; the body may only add onBehalfOf.
    issue.act("community-staff", "accept", {"actor": {"role": "supervisor"}}, 403)
    issue.act("community-staff", "accept", {"actor": {"role": "community-staff", "name": "别人"}},
              403)
    issue.act("community-staff", "accept", {"actor": {"role": "community-staff",
                                                      "userId": "cs-9999"}}, 403)
    # A resident may not even read another's unpublished issue: 404 before anything else.
    issue.act("resident", "withdraw", {"actor": {
        "role": "resident", "onBehalfOf": {"resourceType": "Resident", "id": WANG}}}, 404)
    issue.act("community-staff", "accept", {"actor": {
        "role": "community-staff",
        "onBehalfOf": {"resourceType": "Resident", "id": WANG}}, "note": "代老人办理。"})
    event = issue.doc["history"][-1]
    assert event["actor"]["name"] == "刘芳" and event["actor"]["onBehalfOf"]["id"] == WANG


def test_withdraw_only_by_submitter_reporter_or_proxy(api: Api) -> None:
    """/req/issues/withdraw-by-submitter."""
    doc = submitted_issue()
    doc["submittedBy"] = {"role": "grid-worker", "name": "李网格", "userId": "gw-9999",
                          "onBehalfOf": {"resourceType": "Resident", "id": WANG}}
    doc["history"][0]["actor"] = doc["submittedBy"]
    # Published, so that other residents and proxies see it (/req/privacy/issue-publication).
    doc["publication"] = {"published": True}
    issue = Doc(api, "Issue", doc, "community-staff")
    issue.act("grid-worker", "withdraw", {}, 403)  # another grid worker
    issue.act("test-proxy-stranger", "withdraw", {}, 403)  # nobody's proxy
    issue.act("proxy", "withdraw", {})  # 李建国, authorised by 王桂英
    mine = Doc(api, "Issue", submitted_issue(publication={"published": True}))
    mine.act("test-resident-chen", "withdraw", {}, 403)
    doc = submitted_issue()
    doc["submittedBy"] = {"role": "resident", "name": "王桂英",
                          "resident": {"resourceType": "Resident", "id": WANG}}
    doc["history"][0]["actor"] = doc["submittedBy"]
    own = Doc(api, "Issue", doc, "resident")
    own.act("resident", "withdraw", {})


def test_department_acts_only_on_its_assignments(api: Api) -> None:
    """/req/issues/department-own-assignment."""
    issue = _issue_at(api, "dispatched")
    lead = _lead(issue.doc)["id"]
    issue.act("demo-dept-civil-affairs", "claim", {"details": {"assignmentId": lead}}, 403)
    issue.act("test-dept-urban-chen-lei", "add-progress",
              {"details": {"message": "无关部门"}}, 404)  # never assigned: cannot even see it
    issue.act("demo-dept-civil-affairs", "add-progress", {"details": {"message": "协办进展"}})
    issue.act("department", "claim", {"details": {"assignmentId": new_id()}}, 422)
    issue.act("department", "claim", {"details": {"assignmentId": lead}})


def test_proxy_submits_only_within_scope(api: Api) -> None:
    """/req/residents/proxy-scope."""
    doc = submitted_issue()
    doc["submittedBy"] = {"role": "proxy", "name": "李建国",
                          "onBehalfOf": {"resourceType": "Resident", "id": WANG}}
    doc["history"][0]["actor"] = doc["submittedBy"]
    assert api.as_("test-proxy-stranger").create(doc).status_code == 403
    assert api.as_("proxy").create(doc).status_code == 201


#: the demo's 陈志强, who authorised no proxy, and a resident the server holds no record of
CHEN = "b22da02a-37b1-40a8-a75a-eb1e3520a009"
NOBODY = "0b9e6c1e-2f4a-4d8e-9c1b-7a6f5e4d3c2b"
#: 李建国 as a proposer: the demo's proxy principal, a resident himself
LI_PROPOSING = {"role": "proxy", "name": "李建国",
                "resident": {"resourceType": "Resident", "id": LI}}


def _proposed_by_proxy(behalf: list[str], lead: str = WANG) -> dict[str, Any]:
    """A consultation 李建国 proposes, one proposer entry acting for each of ``behalf``."""
    proposers = [{**LI_PROPOSING, "onBehalfOf": {"resourceType": "Resident", "id": rid}}
                 for rid in behalf]
    doc = _proposed(origin={"type": "joint-proposal" if len(behalf) > 1 else "resident-proposal",
                            "proposers": proposers, "proposedAt": LIFT["origin"]["proposedAt"]})
    doc["history"][0]["actor"] = {"role": "proxy",
                                  "onBehalfOf": {"resourceType": "Resident", "id": lead}}
    return doc


@settings(max_examples=20, deadline=None)
@given(behalf=st.lists(st.sampled_from([WANG, CHEN, NOBODY]), min_size=1, max_size=3,
                       unique=True))
def test_a_proxy_proposes_only_for_residents_who_each_authorised_him(
        sqlite_api: Api, behalf: list[str]) -> None:
    """/req/residents/proxy-scope: 王桂英's authorisation does not carry anyone else named
    beside her; the first entry acting for someone else is pointed at."""
    resp = sqlite_api.as_("proxy").create(_proposed_by_proxy(behalf))
    if behalf == [WANG]:
        assert resp.status_code == 201, resp.text
        return
    assert resp.status_code == 403, resp.text
    first = next(i for i, rid in enumerate(behalf) if rid != WANG)
    assert [(e["pointer"], e["requirement"]) for e in resp.json()["errors"]] == [
        (f"/origin/proposers/{first}/onBehalfOf", "/req/residents/proxy-scope")]


@pytest.mark.parametrize("ended", ["lapsed", "narrowed"])
def test_a_proxy_whose_authorisation_ended_no_longer_withdraws(sqlite_api: Api,
                                                              ended: str) -> None:
    """/req/consultations/withdraw-by-proposer: an entry acting for a resident stands for her,
    so its proxy withdraws only while she authorises him to take part in consultations."""
    api = sqlite_api
    record = example("resident/wang-guiying.json")  # a fresh id: 李建国 her proxy
    assert api.staff.create(record).status_code == 201
    theirs = Doc(api, "Consultation", _proposed_by_proxy([record["id"]], record["id"]), "proxy")
    current = api.staff.get(f"/residents/{record['id']}")
    changed = current.json()
    if ended == "lapsed":
        changed["proxies"][0]["validUntil"] = later(-1)
    else:
        changed["proxies"][0]["scope"] = ["submit-issues", "receive-information"]
    assert api.staff.put(f"/residents/{record['id']}", changed,
                         if_match=current.headers["etag"]).status_code == 200
    refused = theirs.act("proxy", "withdraw", {"reason": "proposer-request"}, 403)
    assert refused.json()["errors"][0]["requirement"] == "/req/consultations/withdraw-by-proposer"
    assert api.staff.get(theirs.path).json()["status"] == "proposed"
