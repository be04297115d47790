"""Resources a kit test creates and then drives: updates, lifecycle actions, and the two
procedures (an issue's closed loop, a consultation's whole procedure) the tests share.

Every step checks what any action must do (/req/core/history-append-only): the history keeps
its earlier events and gains exactly one. Tests add what their own requirement says.

The assignments a ``dispatch`` or ``reassign`` creates and the record a ``follow-up`` writes
travel in the action request's ``items``, matched by id to the ids in ``details``
(action-request.json, /req/issues/action-effects); the builders below make those requests.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._client import Response
from ._context import COLLECTIONS, KitContext
from ._preset import Principal
from ._registry import Failed, Skipped


def etag_of(doc: Mapping[str, Any]) -> str:
    meta = doc.get("meta")
    version = meta.get("versionId") if isinstance(meta, Mapping) else None
    return f'"{version}"'


def without_meta(doc: Any) -> Any:
    """A deep copy of ``doc`` without ``meta``: safe to edit into a request body."""
    if not isinstance(doc, dict):
        return doc
    return copy.deepcopy({k: v for k, v in doc.items() if k != "meta"})


class Tracked:
    """A resource the kit created, followed through its updates and actions as staff sees it."""

    def __init__(self, ctx: KitContext, doc: dict[str, Any], who: Principal | None = None
                 ) -> None:
        self.ctx = ctx
        self.rt = str(doc["resourceType"])
        self.id = str(doc["id"])
        self.path = f"/{COLLECTIONS[self.rt]}/{self.id}"
        resp = ctx.create(doc, who)
        if resp.status != 201:
            raise Skipped(
                f"无法创建测试数据 {self.rt}（{resp.status}）；先修正创建接口",
                f"cannot create test data {self.rt} ({resp.status}); fix creation first",
            )
        self.sent = doc
        self.refresh()

    @classmethod
    def existing(cls, ctx: KitContext, resource_type: str, rid: str) -> Tracked:
        """Follow a resource the kit did not create (such as a preset resident's own record)."""
        self = cls.__new__(cls)
        self.ctx, self.rt, self.id = ctx, resource_type, rid
        self.path = f"/{COLLECTIONS[resource_type]}/{rid}"
        self.sent = {}
        self.refresh()
        return self

    # -- reading -----------------------------------------------------------------------
    def refresh(self) -> dict[str, Any]:
        """Read the resource as staff (who sees it whole) and remember its version."""
        resp = self.ctx.read(self.rt, self.id)
        self.ctx.expect_status(resp, 200, zh=f"工作人员读取 {self.path}",
                               en=f"staff reads {self.path}")
        body = resp.json()
        self.ctx.expect(isinstance(body, dict), f"{self.path} 不是 JSON 对象",
                        f"{self.path} is not a JSON object")
        self.doc: dict[str, Any] = dict(body)
        self.etag = resp.headers.get("etag") or etag_of(self.doc)
        return self.doc

    def read(self, who: Principal) -> Response:
        return self.ctx.read(self.rt, self.id, who)

    @property
    def history(self) -> list[dict[str, Any]]:
        return list(self.doc.get("history") or [])

    # -- writing -----------------------------------------------------------------------
    def put(self, doc: dict[str, Any] | None = None, who: Principal | None = None,
            expect: int | None = 200, **members: Any) -> Response:
        """PUT ``doc`` (default: the current document with ``members`` replaced; a member
        given as None is removed) with the current ETag; refresh after a success."""
        body = copy.deepcopy(without_meta(self.doc) if doc is None else doc)
        for name, value in members.items():
            if value is None:
                body.pop(name, None)
            else:
                body[name] = value
        resp = self.ctx.call("PUT", self.path, who or self.ctx.staff, json_body=body,
                             headers={"If-Match": self.etag})
        if expect is not None:
            self.ctx.expect_status(resp, expect, zh=f"更新 {self.path}",
                                   en=f"update {self.path}")
        if resp.status == 200:
            self.refresh()
        return resp

    def act(self, action: str, body: dict[str, Any] | None = None,
            who: Principal | None = None, expect: int | None = 200) -> Response:
        """Perform ``action``; on success check that exactly one event was appended and the
        earlier ones are untouched (/req/core/history-append-only)."""
        before = self.history
        resp = self.ctx.call("POST", f"{self.path}/actions/{action}", who or self.ctx.staff,
                             json_body=body or {}, headers={"If-Match": self.etag})
        if expect is not None:
            self.ctx.expect_status(resp, expect, zh=f"执行动作 {action}",
                                   en=f"perform action {action}")
        if resp.status == 200:
            self.refresh()
            after = self.history
            self.ctx.expect(
                after[:len(before)] == before,
                f"动作 {action} 改变了已有的历史事件", f"action {action} changed earlier events",
            )
            self.ctx.expect(
                len(after) == len(before) + 1,
                f"动作 {action} 追加了 {len(after) - len(before)} 个事件，应为 1 个",
                f"action {action} appended {len(after) - len(before)} events, not 1",
            )
        return resp

    def refused(self, resp: Response, status: int, what: str) -> None:
        """``resp`` is a problem with ``status`` and the resource did not change."""
        before = without_meta(self.doc)
        self.ctx.expect_problem(resp, status)
        after = without_meta(self.refresh())
        self.ctx.expect(after == before, f"被拒绝的请求（{what}）改变了资源",
                        f"the refused request ({what}) changed the resource")


# -- issues ---------------------------------------------------------------------------

def new_issue(ctx: KitContext, **changes: Any) -> dict[str, Any]:
    """A fresh issue to submit, due in a week, with ``changes`` applied."""
    doc = ctx.document("Issue", status="submitted")
    for member in ("assignments", "followUps", "resolution", "reply"):
        doc.pop(member, None)
    doc["deadlines"] = {"responseDue": ctx.moment(1), "resolutionDue": ctx.moment(7)}
    doc.update(changes)
    return doc


def latest_at(issue: Tracked) -> str:
    """When the issue's latest event happened, by the server's clock: the earliest time an
    item the next action writes may carry."""
    history = issue.history
    at = history[-1].get("at") if history else None
    return at if isinstance(at, str) else issue.ctx.moment()


def new_assignment(ctx: KitContext, issue: Tracked, who: Principal, role: str,
                   due: str) -> dict[str, Any]:
    """A new assignment of ``issue`` to ``who``'s department, for a request's items."""
    return {"id": ctx.new_id(), "department": ctx.organisation(who), "role": role,
            "status": "pending", "assignedAt": latest_at(issue), "dueAt": due}


def dispatch_request(ctx: KitContext, issue: Tracked, lead: Principal,
                     assisting: Iterable[Principal] = ()) -> dict[str, Any]:
    """The request dispatching ``issue`` to ``lead`` and ``assisting``: the new assignments
    in ``items``, their ids in ``details``."""
    due = ctx.moment(7)
    items = [new_assignment(ctx, issue, lead, "lead", due)]
    items += [new_assignment(ctx, issue, who, "assisting", due) for who in assisting]
    details: dict[str, Any] = {"lead": items[0]["id"], "dueAt": due}
    if len(items) > 1:
        details["assisting"] = [item["id"] for item in items[1:]]
    return {"details": details, "items": {"assignments": items}}


def dispatch(ctx: KitContext, issue: Tracked, lead: Principal,
             assisting: Iterable[Principal] = (), expect: int = 200) -> dict[str, Any]:
    """Dispatch ``issue`` (accepted) to ``lead`` and ``assisting``; the request body sent."""
    body = dispatch_request(ctx, issue, lead, assisting)
    issue.act("dispatch", body, expect=expect)
    return body


def reassign_request(ctx: KitContext, issue: Tracked, old: str, to: Principal
                     ) -> dict[str, Any]:
    """The request reassigning the lead assignment ``old`` of ``issue`` to ``to``."""
    due = ctx.moment(7)
    new = new_assignment(ctx, issue, to, "lead", due)
    return {"details": {"from": old, "to": new["id"], "dueAt": due},
            "items": {"assignments": [new]}}


def reassign(ctx: KitContext, issue: Tracked, old: str, to: Principal) -> dict[str, Any]:
    body = reassign_request(ctx, issue, old, to)
    issue.act("reassign", body)
    return body


def follow_up_request(ctx: KitContext, issue: Tracked, who: Principal | None = None,
                      **record: Any) -> dict[str, Any]:
    """The request recording a follow-up of ``issue`` (resolved) by ``who`` (default: staff):
    the record in ``items``, timed at the resolution, its id in ``details``."""
    item = {"id": ctx.new_id(), "at": latest_at(issue),
            "by": {"role": (who or ctx.staff).role}, "contactResult": "reached",
            "perceivedResolution": "resolved", "rating": 5, **record}
    return {"details": {"followUpId": item["id"]}, "items": {"followUps": [item]}}


def active_lead(issue: Tracked) -> dict[str, Any]:
    for item in issue.doc.get("assignments") or []:
        if item.get("role") == "lead" and item.get("status") in ("pending", "accepted"):
            return dict(item)
    raise Failed("诉求没有待签收或已签收的主办任务", "the issue has no pending or accepted lead")


def issue_in_progress(ctx: KitContext, lead: Principal,
                      assisting: Iterable[Principal] = ()) -> Tracked:
    """A fresh issue accepted, dispatched and claimed by ``lead``."""
    issue = Tracked(ctx, new_issue(ctx))
    issue.act("accept")
    dispatch(ctx, issue, lead, assisting)
    issue.act("claim", {"details": {"assignmentId": active_lead(issue)["id"]}}, lead)
    return issue


# -- consultations --------------------------------------------------------------------

#: members a consultation gains during its procedure, written before the action that needs
#: them (announced-content, decision-recorded, … in requirements/consultations.json)
LATER = {"sessions": "hold-session", "votes": "open-vote", "decision": "decide",
         "publications": "publish-decision", "implementation": "start-implementation",
         "feedback": "publish-feedback"}

ResultsHook = Callable[[str, dict[str, Any]], dict[str, Any]]


class Procedure:
    """A consultation driven through the procedure of the spec's most complete example.

    The example's history is the script; each stage's content is written (PUT) before the
    action that needs it, and each action is performed by the role that performed it in the
    example when the preset has one, otherwise by community staff if the table allows.
    """

    def __init__(self, ctx: KitContext, *, visibility: str | None = None,
                 results: ResultsHook | None = None) -> None:
        self.ctx = ctx
        example = ctx.template("Consultation", status="closed")
        self.example = example
        self.results_hook = results
        doc = {k: copy.deepcopy(v) for k, v in example.items() if k not in LATER}
        doc["status"] = "proposed"
        doc["history"] = copy.deepcopy(example["history"][:1])
        if visibility:
            doc["visibility"] = visibility
        origin = doc.get("origin") or {}
        if origin.get("issues"):
            # /req/consultations/escalated-issue-exists: escalate issues we created.
            refs = []
            for ref in origin["issues"]:
                issue = Tracked(ctx, new_issue(ctx))
                refs.append({**ref, "id": issue.id})
            origin["issues"] = refs
        self.script = list(example["history"][1:])
        self.consultation = Tracked(ctx, ctx.ensure_valid(doc, "(proposed consultation)"))

    @property
    def doc(self) -> dict[str, Any]:
        return self.consultation.doc

    def vote(self, vote_id: str) -> dict[str, Any]:
        return next(v for v in self.doc.get("votes") or [] if v.get("id") == vote_id)

    def _stage(self, event: Mapping[str, Any]) -> None:
        c = self.consultation
        for member, action in LATER.items():
            if action == event["action"] and member not in c.doc:
                value = copy.deepcopy(self.example[member])
                if member == "votes":
                    for vote in value:
                        vote["status"] = "open"
                        vote.pop("results", None)
                self._put(member, value)
        if event["action"] == "close-vote":
            vote_id = event["details"]["voteId"]
            results = copy.deepcopy(next(v for v in self.example["votes"]
                                         if v["id"] == vote_id)["results"])
            if self.results_hook is not None:
                results = self.results_hook(vote_id, results)
            self.set_results(vote_id, results)

    def set_results(self, vote_id: str, results: dict[str, Any] | None) -> None:
        votes = copy.deepcopy(self.doc["votes"])
        for vote in votes:
            if vote["id"] == vote_id:
                if results is None:
                    vote.pop("results", None)
                else:
                    vote["results"] = results
        self._put("votes", votes)

    def _put(self, member: str, value: Any) -> None:
        body = copy.deepcopy(without_meta(self.doc))
        body[member] = value
        self.ctx.ensure_valid(body, f"(consultation with {member} staged)")
        self.consultation.put(body)

    def performer(self, event: Mapping[str, Any]) -> Principal:
        table = {t["action"]: t for t in self.ctx.spec.lifecycles["Consultation"]["transitions"]}
        roles = table[event["action"]]["roles"]
        role = event["actor"]["role"]
        if role != "community-staff":
            who = self.ctx.optional(role)
            if who is not None and role in roles:
                return who
        if "community-staff" in roles:
            return self.ctx.staff
        return self.ctx.principal(role)

    def body(self, event: Mapping[str, Any]) -> dict[str, Any]:
        body = {k: copy.deepcopy(event[k]) for k in ("note", "reason", "details") if k in event}
        if event["action"] == "close-vote":
            body["details"] = {"voteId": event["details"]["voteId"]}  # the server computes
        return body

    def run(self, *, until: Callable[[Mapping[str, Any]], bool] | None = None,
            check: Callable[[Mapping[str, Any], Mapping[str, Any]], None] | None = None) -> None:
        """Perform the script's actions in order; stop before the first event for which
        ``until`` is true. ``check(event, stored_event)`` runs after each action."""
        while self.script:
            event = self.script[0]
            if until is not None and until(event):
                return
            self.script.pop(0)
            self._stage(event)
            body = self.body(event)
            self.consultation.act(event["action"], body, self.performer(event))
            if check is not None:
                check(event, self.consultation.history[-1])

    def next_event(self) -> Mapping[str, Any] | None:
        return self.script[0] if self.script else None
