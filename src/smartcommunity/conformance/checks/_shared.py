"""What the check modules share: resources a check creates and drives, the test documents of
each resource type, and the two procedures (an issue's closed loop, a
consultation's whole procedure) several checks walk through.

Every step checks what any action must do (/req/core/history-append-only): the history keeps
its earlier events and gains exactly one. Checks add what their own requirement says.

The assignments a dispatch or reassign creates and the record a follow-up writes travel in
the action request's ``items``, matched by id to the ids in ``details`` (action-request.json,
/req/issues/action-effects); the builders below make those requests.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..._moments import moment
from ...exceptions import ProfileError
from ...pointers import pointer
from ...profiles import Profile, load_profile
from ...validation import compile_plan, values_at
from .._client import Response
from .._context import SHAPERS, KitContext
from .._preset import Principal
from .._registry import Failed, Skipped

ISSUE = "Issue"
RESIDENT = "Resident"
CONSULTATION = "Consultation"

#: a valid timestamp whose instant is in year 10000 in UTC, a "for ever" written at a negative
#: offset: it compares by its instant like any other (/req/core/timestamp-offset)
AFTER_9999 = "9999-12-31T23:59:59-08:00"


@dataclass(frozen=True, slots=True)
class _Roles:
    """The roles the checks name."""

    #: whose principals an issue is dispatched to
    department: str = "department"
    #: people acting for themselves or for a resident
    resident: str = "resident"
    proxy: str = "proxy"
    grid_worker: str = "grid-worker"
    #: reads every community's data (the mirror of the change feed)
    system: str = "system"
    #: oversees every community
    regulator: str = "regulator"
    #: the unauthenticated public
    public: str = "public"


ROLE = _Roles()


def anonymous_read(ctx: KitContext, path: str) -> bool:
    """Whether the OpenAPI lets the GET of ``path`` go without a token (its security includes
    the empty requirement; /req/privacy/anonymous-public-read)."""
    item = (ctx.spec.openapi.get("paths") or {}).get(path) or {}
    op = item.get("get") or {}
    return {} in (op.get("security", ctx.spec.openapi.get("security")) or ())


def audit_entries(ctx: KitContext, who: Principal, resident: str) -> list[dict[str, Any]]:
    """The audit log's entries about ``resident`` as ``who`` is shown them, every page."""
    entries: list[dict[str, Any]] = []
    for resp in ctx.pages(ctx.path("listAuditEvents"), {"resident": resident, "limit": "500"},
                          token=who.token):
        ctx.expect_status(resp, 200, zh=f"{who.name} 读取审计日志",
                          en=f"{who.name} reads the audit log")
        entries += [i for i in (resp.json() or {}).get("items") or []
                    if isinstance(i, dict) and i.get("resident") == resident]
    return entries


def without_meta(doc: Any) -> Any:
    """A deep copy of ``doc`` without ``meta``: safe to edit into a request body."""
    if not isinstance(doc, dict):
        return doc
    return copy.deepcopy({k: v for k, v in doc.items() if k != "meta"})


def as_sent(got: Any, sent: Mapping[str, Any]) -> Any:
    """``got`` without ``meta`` and with the creating actor as ``sent`` named it: the members
    the server filled in from the credential (/req/core/actor-is-principal) left out."""
    out = without_meta(got)
    if not isinstance(out, dict):
        return out
    history, given = out.get("history"), sent.get("history")
    if not (isinstance(history, list) and history and isinstance(history[0], dict)
            and isinstance(given, list) and given and isinstance(given[0], dict)):
        return out
    filled, named = history[0].get("actor"), given[0].get("actor")
    if not (isinstance(filled, dict) and isinstance(named, dict)):
        return out
    for member, value in list(out.items()):
        if value == filled and sent.get(member) == named:
            out[member] = {k: v for k, v in value.items() if k in named}
    history[0]["actor"] = {k: v for k, v in filled.items() if k in named}
    return out


def etag_of(doc: Mapping[str, Any]) -> str:
    """The ETag a server gives ``doc``: its quoted ``meta.versionId`` (/req/core/etag)."""
    meta = doc.get("meta")
    version = meta.get("versionId") if isinstance(meta, Mapping) else None
    return f'"{version}"'


def transition(ctx: KitContext, resource_type: str, action: str) -> dict[str, Any]:
    """The row of ``resource_type``'s lifecycle table for ``action``."""
    for row in ctx.spec.lifecycle(resource_type)["transitions"]:
        if row["action"] == action:
            return dict(row)
    raise KeyError(action)


def pointers(problem: Mapping[str, Any]) -> list[str]:
    """The pointers of a problem's error list."""
    return [str(e.get("pointer")) for e in problem.get("errors") or [] if isinstance(e, dict)]


def expect_pointer(ctx: KitContext, problem: Mapping[str, Any], member: str) -> None:
    """The problem's errors point at ``member`` or inside it."""
    found = pointers(problem)
    ctx.expect(any(p == member or p.startswith(member + "/") for p in found),
               f"422 没有指向 {member}：{plain(found, 'zh')}",
               f"the 422 does not point at {member}: {plain(found)}")


def answer_without(problem: Mapping[str, Any], rid: str) -> tuple[Any, ...]:
    """What a refusal naming ``rid`` says, the id taken out of it: its status, code, message
    and errors, to compare with the refusal of another id (a resident beyond the principal's
    reach and one nobody holds are answered alike)."""
    errors = [e for e in problem.get("errors") or [] if isinstance(e, dict)]
    return (problem.get("status"), problem.get("code"),
            json.dumps(problem.get("message"), ensure_ascii=False, sort_keys=True),
            [(e.get("pointer"), e.get("code"),
              json.dumps(e.get("message"), ensure_ascii=False, sort_keys=True).replace(rid, "…"))
             for e in errors])


def expect_code(ctx: KitContext, problem: Mapping[str, Any], code: str) -> None:
    """The problem, or one of its errors, carries ``code``."""
    codes = sorted({str(e.get("code")) for e in problem.get("errors") or []
                    if isinstance(e, dict)})
    ctx.expect(problem.get("code") == code or code in codes,
               f"拒绝没有给出 {code}：{plain(codes, 'zh')}",
               f"the refusal does not give {code}: {plain(codes)}")


def refused_on_create(ctx: KitContext, doc: dict[str, Any], status: int, what: str
                      ) -> dict[str, Any]:
    """Creating ``doc`` gets a problem with ``status`` and nothing is stored."""
    problem = ctx.expect_problem(ctx.create(doc), status)
    ctx.expect(ctx.read(doc["resourceType"], doc["id"]).status == 404,
               f"被拒收的文档（{what}）被保存了", f"the refused document ({what}) was stored")
    return problem


def keyed_create(ctx: KitContext, doc: dict[str, Any], who: Principal | None = None
                 ) -> tuple[Response, dict[str, str]]:
    """Create ``doc`` with a fresh Idempotency-Key, expecting 201: the response, and the
    headers that send the same key again (/req/core/idempotency-key)."""
    headers = {"Idempotency-Key": "kit-" + ctx.new_id()}
    resp = ctx.create(doc, who, headers=headers)
    rt = doc.get("resourceType")
    ctx.expect_status(resp, 201, zh=f"带幂等键创建 {rt}",
                      en=f"create a {rt} with an Idempotency-Key")
    return resp, headers


class Tracked:
    """A resource the kit created, followed through its updates and actions as staff sees it."""

    def __init__(self, ctx: KitContext, doc: dict[str, Any], who: Principal | None = None
                 ) -> None:
        self._follow(ctx, str(doc["resourceType"]), str(doc["id"]))
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
        self._follow(ctx, resource_type, rid)
        self.sent = {}
        self.refresh()
        return self

    def _follow(self, ctx: KitContext, resource_type: str, rid: str) -> None:
        self.ctx, self.rt, self.id = ctx, resource_type, rid
        self.path = ctx.resource_path(resource_type, rid)

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

    def read_history(self, who: Principal | None = None) -> Response:
        return self.ctx.call("GET", f"{self.path}/history", who or self.ctx.staff)

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

    def post(self, suffix: str, body: dict[str, Any] | None = None,
             who: Principal | None = None) -> Response:
        """POST ``body`` to ``path/suffix`` with the current ETag; nothing is checked."""
        return self.ctx.call("POST", f"{self.path}/{suffix}", who or self.ctx.staff,
                             json_body=body or {}, headers={"If-Match": self.etag})

    def act(self, action: str, body: dict[str, Any] | None = None,
            who: Principal | None = None, expect: int | None = 200) -> Response:
        """Perform ``action``; on success check that exactly one event was appended and the
        earlier ones are untouched (/req/core/history-append-only)."""
        before = self.history
        resp = self.post(f"actions/{action}", body, who)
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

    def refused(self, resp: Response, status: int, what: str) -> Response:
        """``resp`` is a problem with ``status`` and the resource did not change."""
        before = without_meta(self.doc)
        self.ctx.expect_status(resp, status, zh=f"应被拒绝的请求（{what}）",
                               en=f"the request to be refused ({what})")
        self.ctx.expect_problem(resp, status)
        after = without_meta(self.refresh())
        self.ctx.expect(after == before, f"被拒绝的请求（{what}）改变了资源",
                        f"the refused request ({what}) changed the resource")
        return resp

    def refuse(self, action: str, body: dict[str, Any] | None, who: Principal | None,
               status: int, what: str = "") -> Response:
        """``who`` performing ``action`` gets ``status`` and the resource does not change."""
        resp = self.post(f"actions/{action}", body, who)
        return self.refused(resp, status, what or f"{action} by {(who or self.ctx.staff).name}")

    def refuse_put(self, body: dict[str, Any], status: int, what: str,
                   who: Principal | None = None) -> Response:
        """PUT ``body`` gets ``status`` and the resource does not change."""
        return self.refused(self.put(body, who, expect=None), status, what)


# -- actors and references ------------------------------------------------------------

def resident_ref(rid: str, display: str | None = None) -> dict[str, Any]:
    """A reference to the resident ``rid``."""
    ref = {"resourceType": RESIDENT, "id": rid}
    return {**ref, "display": display} if display else ref


def resident_actor(rid: str, name: str, role: str = ROLE.resident, **more: Any
                   ) -> dict[str, Any]:
    """An actor: the resident ``rid`` (or, with ``role``, a proxy who is that resident)."""
    return {"role": role, "name": name, "resident": resident_ref(rid), **more}


def named_proposer(name: str) -> dict[str, Any]:
    """A proposer entry naming a resident by name alone, as a paper petition may: no record
    of hers, so it names nobody staff must be able to read
    (/req/consultations/proposers-in-reach) and gives nobody the right to withdraw."""
    return {"role": ROLE.resident, "name": name}


def _by_name_only(doc: dict[str, Any]) -> None:
    """A consultation template whose proposers name residents by name alone: the spec's name
    residents of its example community, whom a server under test need not hold, and staff
    name as proposers only residents whose records they read
    (/req/consultations/proposers-in-reach)."""
    origin = doc.get("origin")
    if isinstance(origin, dict) and isinstance(origin.get("proposers"), list):
        origin["proposers"] = [
            {k: v for k, v in p.items() if k not in ("resident", "onBehalfOf")}
            if isinstance(p, dict) else p for p in origin["proposers"]]


def _for_nobody(doc: dict[str, Any]) -> None:
    """A template whose creating event's actor (and the members repeating it, an issue's
    submittedBy) acts for nobody: the spec's examples act for residents of their example
    community, whom a server under test need not hold, and staff act only for residents whose
    records they read (/req/core/actor-is-principal). A check that acts for someone names a
    resident it made."""
    history = doc.get("history")
    if not isinstance(history, list) or not history or not isinstance(history[0], dict):
        return
    first = history[0].get("actor")
    if not isinstance(first, dict) or "onBehalfOf" not in first:
        return
    for member, value in list(doc.items()):
        if member != "history" and value == first:
            doc[member] = {k: v for k, v in value.items() if k != "onBehalfOf"}
    history[0]["actor"] = {k: v for k, v in first.items() if k != "onBehalfOf"}


def _consultation_shaped(doc: dict[str, Any]) -> None:
    _for_nobody(doc)
    _by_name_only(doc)


SHAPERS[CONSULTATION] = _consultation_shaped
SHAPERS.update({rt: _for_nobody for rt in (ISSUE, "Opinion", "Proposal")})


def other_community(ctx: KitContext) -> str:
    """A community other than the preset's, structurally valid."""
    if ctx.preset.other_community and ctx.preset.other_community != ctx.preset.community:
        return ctx.preset.other_community
    head, tail = ctx.preset.community[:9], int(ctx.preset.community[9:])
    return f"{head}{(tail % 998) + 1:03d}"


def first_code(ctx: KitContext, codelist: str) -> str:
    return next(iter(ctx.spec.codelist(codelist)))


# -- documents to create --------------------------------------------------------------

def _creating_status(ctx: KitContext, resource_type: str) -> str:
    return next(str(t["to"]) for t in ctx.spec.lifecycle(resource_type)["transitions"]
                if not t["from"])


def stored(ctx: KitContext) -> Iterator[tuple[str, dict[str, Any]]]:
    """For each resource type, a fresh document the kit has just created (as the server
    stored it: the creator's identity is the server's to fill in)."""
    for resource_type in ctx.spec.resource_types:
        doc = ctx.document(resource_type)
        yield resource_type, ctx.created(doc)


def fresh(ctx: KitContext, resource_type: str) -> dict[str, Any]:
    """A fresh document of ``resource_type`` to create, in the status its lifecycle's creating
    action reaches when it has a lifecycle."""
    if resource_type in ctx.spec.lifecycles:
        return ctx.document(resource_type, status=_creating_status(ctx, resource_type))
    return ctx.document(resource_type)


# -- issues ---------------------------------------------------------------------------

def consultation_seen_by(ctx: KitContext, visibility: str) -> dict[str, Any]:
    """A new consultation (the spec's example) whose record ``visibility`` may see."""
    doc = ctx.document(CONSULTATION)
    doc["visibility"] = visibility
    return ctx.ensure_valid(doc, f"({visibility} consultation)")


def new_issue(ctx: KitContext, **changes: Any) -> dict[str, Any]:
    """A fresh issue to submit, due in a week, with ``changes`` applied."""
    doc = fresh(ctx, ISSUE)
    for member in ("assignments", "followUps", "resolution", "reply"):
        doc.pop(member, None)
    doc["deadlines"] = {"responseDue": ctx.moment(1), "resolutionDue": ctx.moment(7)}
    doc.update(changes)
    return doc


def submitted_by(ctx: KitContext, actor: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A fresh issue submitted by ``actor``, who is also the actor of its first event."""
    doc = new_issue(ctx, submittedBy=actor, **changes)
    doc["history"] = copy.deepcopy(doc["history"][:1])
    doc["history"][0]["actor"] = actor
    return ctx.ensure_valid(doc, "(issue submitted by another actor)")


def latest_at(issue: Tracked) -> str:
    """When the issue's latest event happened, by the server's clock: the earliest time an
    item the next action writes may carry."""
    history = issue.history
    at = history[-1].get("at") if history else None
    return at if isinstance(at, str) else issue.ctx.moment()


def organisation(ctx: KitContext, who: Principal) -> dict[str, Any]:
    """A department principal's organisation as an organisation-ref.json object."""
    if not who.organisation:
        raise Skipped(f"预设中的主体 {who.name} 没有给出其单位（organisation）",
                      f"the preset's principal {who.name} names no organisation")
    return department_ref(ctx, who.organisation)


def department_ref(ctx: KitContext, code: str) -> dict[str, Any]:
    """The department of ``code`` as an organisation-ref.json object, named as its codelist
    names it."""
    departments = ctx.spec.codelist("department")
    name = departments.title(code) if code in departments else code
    return {"id": code, "name": name, "type": "government-department"}


def new_assignment(ctx: KitContext, issue: Tracked, who: Principal, role: str,
                   due: str) -> dict[str, Any]:
    """A new assignment of ``issue`` to ``who``'s department, for a request's items."""
    return {"id": ctx.new_id(), "department": organisation(ctx, who), "role": role,
            "status": first_code(ctx, "assignment-status"), "assignedAt": latest_at(issue),
            "dueAt": due}


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


def dispatched(ctx: KitContext, lead: Principal, assisting: Iterable[Principal] = ()
               ) -> Tracked:
    """A fresh issue, accepted and dispatched to ``lead`` and ``assisting``."""
    issue = Tracked(ctx, new_issue(ctx))
    issue.act("accept")
    dispatch(ctx, issue, lead, assisting)
    return issue


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


def resolve(issue: Tracked, who: Principal, reply: str = "已办结 / done") -> None:
    issue.act("resolve", {"details": {"resolution": "fixed", "reply": reply}}, who)


def active_lead(issue: Tracked) -> dict[str, Any]:
    """The issue's lead assignment that is still active (/req/issues/single-active-lead)."""
    active = issue.ctx.spec.parameter("/req/issues/single-active-lead",
                                      "activeAssignmentStatuses")
    for item in issue.doc.get("assignments") or []:
        if item.get("role") == "lead" and item.get("status") in active:
            return dict(item)
    raise Failed("诉求没有待签收或已签收的主办任务", "the issue has no pending or accepted lead")


def claim(issue: Tracked, who: Principal, assignment: str | None = None) -> None:
    """``who`` claims the active lead assignment (or ``assignment``)."""
    issue.act("claim", {"details": {"assignmentId": assignment or active_lead(issue)["id"]}}, who)


def issue_in_progress(ctx: KitContext, lead: Principal,
                      assisting: Iterable[Principal] = ()) -> Tracked:
    """A fresh issue accepted, dispatched and claimed by ``lead``."""
    issue = dispatched(ctx, lead, assisting)
    claim(issue, lead)
    return issue


# -- consultations --------------------------------------------------------------------

#: members a consultation gains by updates during its procedure, written before the action
#: that needs them; the rest of its record is written by the actions' details
#: (/req/consultations/record-from-actions)
LATER = {"sessions": "hold-session", "votes": "open-vote"}
#: what only actions write (/req/consultations/create-proposed, lifecycle-fields-read-only)
WRITTEN = ("decision", "publications", "implementation", "feedback")
#: what only actions write into a vote: an update gives votes without it, still planned
VOTE_RECORD = ("results", "ballots", "ballotsComplete", "opensAt", "closesAt")
#: details members that carry the example's own times; the server's clock is used instead
EXAMPLE_TIMES = ("resultsVisibleFrom", "completedAt")
CLOSE_VOTE = "close-vote"


def proposed(ctx: KitContext, proposers: list[dict[str, Any]] | None = None
             ) -> dict[str, Any]:
    """A fresh consultation proposed by residents (``proposers``; default: one named
    by name alone, who has no record), visible to the community."""
    doc = fresh(ctx, CONSULTATION)
    origin = {k: v for k, v in (doc.get("origin") or {}).items() if k != "issues"}
    origin.update(type="resident-proposal", proposers=proposers or [named_proposer("提议人")])
    doc["origin"] = origin
    doc["visibility"] = "community"
    # Whom the template's creator acted for goes with the template's proposers: kept, it
    # would have a resident proposing on her own behalf, or a proxy for someone else.
    history = doc.get("history") or []
    if history and isinstance(history[0].get("actor"), dict):
        history[0]["actor"].pop("onBehalfOf", None)
    return ctx.ensure_valid(doc, "(proposed consultation)")


def escalating(ctx: KitContext, issue_id: str, **changes: Any) -> dict[str, Any]:
    """A fresh proposed consultation escalating the issue ``issue_id``."""
    doc = proposed(ctx)
    doc["origin"] = {**doc["origin"], "type": "issue-escalation",
                     "issues": [{"resourceType": ISSUE, "id": issue_id}]}
    doc.update(changes)
    return ctx.ensure_valid(doc, "(escalating consultation)")


def complete_consultation(ctx: KitContext) -> dict[str, Any]:
    """The spec's consultation example with the longest history that reached an end of its
    lifecycle: the script of a whole procedure, adapted to the preset's community."""
    ended = ctx.spec.lifecycle(CONSULTATION)["terminal"]
    examples = [d for s in ended for d in ctx.examples(CONSULTATION, status=s)]
    if not examples:
        raise Skipped("规范中没有走完程序的协商示例",
                      "the spec has no consultation example that went through its procedure")
    longest = max(examples, key=lambda d: (len(d.get("history") or []), str(d.get("id"))))
    return ctx.adapt(longest)


class Procedure:
    """A consultation driven through the procedure of the spec's most complete example.

    The example's history is the script; each stage's content is written (PUT) before the
    action that needs it, and each action is performed by the role that performed it in the
    example when the preset has one, otherwise by the kit's staff if the table allows.
    """

    def __init__(self, ctx: KitContext, *, visibility: str | None = None,
                 adapt: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.ctx = ctx
        example = complete_consultation(ctx)
        if adapt is not None:  # the script changed before anything is written
            adapt(example)
        self.example = example
        doc = {k: copy.deepcopy(v) for k, v in example.items()
               if k not in LATER and k not in WRITTEN}
        doc["status"] = _creating_status(ctx, CONSULTATION)
        doc["history"] = copy.deepcopy(example["history"][:1])
        if visibility:
            doc["visibility"] = visibility
        origin = doc.get("origin") or {}
        if origin.get("issues"):
            # /req/consultations/escalated-issue-exists: escalate issues we created.
            origin["issues"] = [{**ref, "id": Tracked(ctx, new_issue(ctx)).id}
                                for ref in origin["issues"]]
        self.script = list(example["history"][1:])
        self.consultation = Tracked(ctx, ctx.ensure_valid(doc, "(proposed consultation)"))

    @property
    def doc(self) -> dict[str, Any]:
        return self.consultation.doc

    def vote(self, vote_id: str) -> dict[str, Any]:
        return next(v for v in self.doc.get("votes") or [] if v.get("id") == vote_id)

    def stage(self, event: Mapping[str, Any]) -> None:
        """Write by update what ``event``'s action needs first (sessions, planned votes)."""
        c = self.consultation
        for member, action in LATER.items():
            if action == event["action"] and member not in c.doc:
                value = copy.deepcopy(self.example[member])
                if member == "votes":
                    for vote in value:
                        for owned in VOTE_RECORD:
                            vote.pop(owned, None)
                        vote["status"] = "planned"
                self._put(member, value)

    def record(self, vote_id: str, counts: Mapping[str, int], channel: str | None = None,
               who: Principal | None = None) -> None:
        """Record ``counts`` (option id, or abstentions / invalid → count) for ``vote_id`` on
        ``channel`` (the vote's first by default)."""
        vote = self.vote(vote_id)
        options = [{"optionId": k, "count": n} for k, n in counts.items()
                   if k in vote.get("optionIds", ())]
        details: dict[str, Any] = {"voteId": vote_id,
                                   "channel": channel or vote["channels"][0],
                                   "count": sum(counts.values()), "options": options}
        details.update({k: n for k, n in counts.items() if k in ("abstentions", "invalid")})
        self.consultation.act("record-votes", {"details": details}, who)

    def _put(self, member: str, value: Any) -> None:
        body = without_meta(self.doc)
        body[member] = value
        self.ctx.ensure_valid(body, f"(consultation with {member} staged)")
        self.consultation.put(body)

    def performer(self, event: Mapping[str, Any]) -> Principal:
        roles = transition(self.ctx, CONSULTATION, event["action"])["roles"]
        role = event["actor"]["role"]
        if role != self.ctx.staff_role:
            who = self.ctx.optional(role)
            if who is not None and role in roles:
                return who
        if self.ctx.staff_role in roles:
            return self.ctx.staff
        return self.ctx.principal(role)

    def body(self, event: Mapping[str, Any]) -> dict[str, Any]:
        body = {k: copy.deepcopy(event[k]) for k in ("note", "reason", "details") if k in event}
        if event["action"] == CLOSE_VOTE:
            body["details"] = {"voteId": event["details"]["voteId"]}  # the server computes
        for member in EXAMPLE_TIMES:
            body.get("details", {}).pop(member, None)
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
            self.stage(event)
            body = self.body(event)
            self.consultation.act(event["action"], body, self.performer(event))
            if check is not None:
                check(event, self.consultation.history[-1])

    def next_event(self) -> Mapping[str, Any] | None:
        return self.script[0] if self.script else None


def plain(value: Any, lang: str = "en") -> str:
    """A value as a message shows it to a person: lists joined (、 in Chinese), a path (a
    tuple) as a JSON Pointer, no Python brackets or quotes, nothing as "（无）" / "(none)"."""
    if value is None or value == [] or value == () or value == set():
        return "（无）" if lang == "zh" else "(none)"
    if isinstance(value, tuple):
        return pointer(value)
    if isinstance(value, (list, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return ("、" if lang == "zh" else ", ").join(plain(v, lang) for v in items)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def expect_none(ctx: KitContext, found: list[Any], zh: str, en: str, shown: int = 5) -> None:
    """Fails, saying ``zh`` / ``en`` and the first ``shown`` of them in plain words, when
    anything was ``found``."""
    ctx.expect(not found, f"{zh}：{plain(found[:shown], 'zh')}", f"{en}: {plain(found[:shown])}")


def query(params: Mapping[str, Any]) -> str:
    """Query parameters as a person reads them in a URL: ``status=closed&grid=g1``."""
    return "&".join(f"{k}={plain(v)}" for k, v in params.items())


# -- the preset's test issuer -----------------------------------------------------------

@dataclass(frozen=True)
class Issuer:
    """The JWT test issuer the preset names (conformance-preset.json ``jwt``), its key read."""

    settings: Mapping[str, Any]
    key: Any

    @property
    def algorithm(self) -> str:
        return str(self.settings.get("algorithm", "ES256"))

    def token(self, signer: Any = None, **changes: Any) -> str:
        """A token signed with ``signer`` (default: the issuer's key), for its audience and
        valid for ten minutes, with the preset's claims and ``changes`` over them (a change
        to None leaves the claim out)."""
        import jwt

        now = int(datetime.now(UTC).timestamp())
        claims = {**self.settings["claims"], "iss": self.settings["issuer"],
                  "aud": self.settings["audience"], "iat": now, "exp": now + 600, **changes}
        claims = {k: v for k, v in claims.items() if v is not None}  # None: left out
        headers = {"kid": self.settings["keyId"]} if self.settings.get("keyId") else None
        return jwt.encode(claims, self.key if signer is None else signer,
                          algorithm=self.algorithm, headers=headers)


def preset_issuer(ctx: KitContext) -> Issuer:
    """The preset's test issuer; skipped when it names none, PyJWT[crypto] is not installed or
    the issuer's private key cannot be read."""
    settings = ctx.preset.jwt
    if settings is None:
        raise Skipped("预设没有 JWT 测试签发方", "the preset has no JWT test issuer")
    try:
        import jwt  # noqa: F401  (signs the tokens)
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        raise Skipped("未安装 PyJWT[crypto]", "PyJWT[crypto] is not installed") from None
    try:
        with open(settings["privateKeyFile"], "rb") as fh:
            key = serialization.load_pem_private_key(fh.read(), password=None)
    except (OSError, ValueError) as exc:
        raise Skipped(f"无法读取测试签发方的私钥：{exc}",
                      f"cannot read the test issuer's private key: {exc}") from None
    return Issuer(settings, key)



def minted(ctx: KitContext, label: str, **claims: Any) -> Principal:
    """A principal, called ``label`` in the report, of a token the test issuer signs: the
    preset's claims with ``claims`` applied (a claim given as None is left out). Skipped when
    the server does not take it: a server may accept only some roles from its identity
    provider."""
    token = preset_issuer(ctx).token(**claims)
    fields = {**(ctx.preset.jwt or {}).get("claims", {}), **claims}
    communities = fields.get("communities") or [ctx.preset.community]
    organisation = fields.get("organisation")
    who = Principal(
        name=label, token=token, role=str(fields.get("role")),
        communities=("*",) if communities == "*" else tuple(communities),
        organisation=str(organisation.get("id")) if isinstance(organisation, dict) else None,
        resident=fields.get("resident"))
    resp = ctx.call("GET", ctx.collection_path(ISSUE), who, params={"limit": "1"})
    if resp.status == 401:
        raise Skipped(f"服务器不接受测试签发方为 {label} 签发的令牌（401）",
                      f"the server does not take the test issuer's token for {label} (401)")
    return who


# -- city profiles -------------------------------------------------------------------

def published_profile(ctx: KitContext) -> dict[str, Any]:
    """The profile the server publishes at GET /profile."""
    resp = ctx.call("GET", ctx.path("getProfile"))
    ctx.expect_status(resp, 200, zh="服务器没有发布其城市配置（GET /profile）",
                      en="the server does not publish its city profile (GET /profile)")
    body = resp.json()
    ctx.expect(isinstance(body, dict), "GET /profile 不是 JSON 对象",
               "GET /profile is not a JSON object")
    assert isinstance(body, dict)
    return body


def city_profile(ctx: KitContext) -> Profile:
    """The profile the server's behaviour is held to."""
    if ctx.profile is not None:
        return ctx.profile
    try:
        return load_profile(published_profile(ctx))
    except ProfileError as exc:
        raise Skipped("服务器发布的城市配置有错误，无法按其检查行为",
                      f"the published city profile has errors ({exc}); its behaviour cannot "
                      "be checked against it") from exc


def running_profile(ctx: KitContext) -> Profile | None:
    """The city profile the server is held to: the kit's (``--profile``), else the one it
    publishes when it declares the profiles class; None when it runs none."""
    if ctx.profile is not None:
        return ctx.profile
    rule = ctx.spec.requirements.get("/req/profiles/format")
    if rule is not None and rule.conformance_class in ctx.declared:
        return city_profile(ctx)
    return None


def lowercase_times(node: Any) -> Any:
    """``node`` with every RFC 3339 timestamp written as the same instant in UTC with a
    lowercase ``t`` and ``z``, as RFC 3339 allows."""
    if isinstance(node, dict):
        return {k: lowercase_times(v) for k, v in node.items()}
    if isinstance(node, list):
        return [lowercase_times(v) for v in node]
    when = moment(node) if isinstance(node, str) and len(node) > 19 else None
    if when is None:
        return node
    return when.astimezone(UTC).isoformat().replace("+00:00", "z").replace("T", "t")


def worker_grids(ctx: KitContext) -> tuple[Principal, str, str]:
    """The preset's grid worker, a grid of the preset's community they serve, and one of the
    same community they do not."""
    who = ctx.principal(ROLE.grid_worker)
    community = ctx.preset.community
    mine = next((g for g in who.grids if g.startswith(community + "-")), None)
    if mine is None:
        raise Skipped(f"预设没有给出网格员 {who.name} 在社区 {community} 中负责的网格（grids）",
                      f"the preset gives no grid of {community} for grid worker {who.name}")
    return who, mine, grid_not_served(ctx, who)


def grid_not_served(ctx: KitContext, who: Principal) -> str:
    """A grid of the preset's community that ``who`` does not serve (the preset names none)."""
    community = ctx.preset.community
    return next(f"{community}-{code}" for code in ("Z9", "Z8", "Z7")
                if f"{community}-{code}" not in who.grids)


def personal_shown(ctx: KitContext, rtype: str, doc: Any, got: Any,
                   members: Iterable[str] | None = None) -> list[tuple[str | int, ...]]:
    """Where ``got``, what a reader received of ``doc``, shows one of its personal values as
    stored, unredacted; ``members``: only under these top-level members."""
    wanted = None if members is None else set(members)
    found = []
    for path, cls, _ in compile_plan(ctx.spec, rtype).pipl:
        if cls != "personal" or (wanted is not None and (not path or path[0] not in wanted)):
            continue
        for where, value in values_at(doc, path):
            shown = [v for w, v in values_at(got, path) if w == where]
            if shown and shown[0] == value:
                found.append(where)
    return found
