"""Issues class: the closed loop, action rules, read-only lifecycle members, merge, filters."""

from __future__ import annotations

import copy
from typing import Any

from ..._moments import moment
from ...validation import validate
from .._context import KitContext
from .._preset import Principal
from .._registry import Skipped, check
from ._people import proxy, resident
from ._shared import (
    ISSUE,
    ROLE,
    Tracked,
    active_lead,
    claim,
    dispatch,
    dispatch_request,
    dispatched,
    expect_code,
    expect_pointer,
    first_code,
    follow_up_request,
    issue_in_progress,
    latest_at,
    new_issue,
    other_community,
    plain,
    query,
    reassign,
    reassign_request,
    refused_on_create,
    resident_actor,
    resident_ref,
    resolve,
    submitted_by,
    transition,
    without_meta,
)


def _perform(ctx: KitContext, issue: Tracked, action: str, body: dict[str, Any],
             who: Principal) -> dict[str, Any]:
    """Perform ``action`` and check what /req/issues/action-effects says it must have done."""
    before = issue.doc["status"]
    issue.act(action, body, who)
    doc = issue.doc
    rule = transition(ctx, ISSUE, action)
    status = rule.get("to") or before
    ctx.expect(doc.get("status") == status,
               f"{action} 之后状态为 {doc.get('status')}，应为 {status}",
               f"after {action} the status is {doc.get('status')}, not {status}")
    event = doc["history"][-1]
    problems = []
    if event.get("action") != action:
        problems.append(f"action={plain(event.get('action'))}")
    actor = event.get("actor") or {}
    if actor.get("role") != who.role:
        problems.append(f"actor.role={plain(actor.get('role'))} (requester: {who.role})")
    if who.organisation and (actor.get("organisation") or {}).get("id") != who.organisation:
        said = (actor.get("organisation") or {}).get("id")
        problems.append(f"actor.organisation.id={plain(said)} (requester: {who.organisation})")
    if event.get("fromStatus") != before:
        problems.append(f"fromStatus={plain(event.get('fromStatus'))} (was {before})")
    if event.get("toStatus") != status:
        problems.append(f"toStatus={plain(event.get('toStatus'))} (is {status})")
    for member in ("note", "reason", "details"):
        if member in body and event.get(member) != body[member]:
            problems.append(f"{member}={plain(event.get(member))} (sent {plain(body[member])})")
    ctx.expect(not problems, f"{action} 追加的事件不符：{'; '.join(problems)}",
               f"the event {action} appended is wrong: {'; '.join(problems)}")
    for member, value in (rule.get("sets") or {}).items():
        want = body["details"][value["fromDetails"]] if isinstance(value, dict) else value
        if want is None:
            ctx.expect(member not in doc, f"{action} 应清除 {member}",
                       f"{action} should have removed {member}")
        else:
            ctx.expect(doc.get(member) == want,
                       f"{action} 之后 {member} 为 {plain(doc.get(member), 'zh')}，"
                       f"应为 {plain(want, 'zh')}",
                       f"after {action} {member} is {plain(doc.get(member))}, not {plain(want)}")
    return dict(event)


def _same(got: Any, sent: Any) -> bool:
    """Equal, the same instant written another way, or an object keeping every member sent
    (the server fills in the rest of an actor from the credential)."""
    if got == sent:
        return True
    if isinstance(got, dict) and isinstance(sent, dict):
        return all(_same(got.get(k), v) for k, v in sent.items())
    when = moment(sent)
    return when is not None and moment(got) == when


def approver(ctx: KitContext) -> dict[str, Any]:
    """Who approves an extension a department asks for (/req/indicators/extension-approval):
    the first role the requirement names."""
    roles = ctx.spec.parameter("/req/indicators/extension-approval", "approverRoles")
    return {"role": roles[0], "name": "延期审批人 / extension approver"}


def _supervisor(ctx: KitContext) -> Principal:
    """Who supervises: the first role the table names that the preset has, else staff."""
    for role in transition(ctx, ISSUE, "supervise")["roles"]:
        who = ctx.optional(role)
        if who is not None and role != ctx.staff_role:
            return who
    return ctx.staff


@check("/req/issues/action-effects", needs=(ROLE.department, ROLE.department))
def test_closed_loop(ctx: KitContext) -> None:
    first, second = ctx.principals_of(ROLE.department, 2)
    staff = ctx.staff
    issue = Tracked(ctx, new_issue(ctx))
    _perform(ctx, issue, "accept", {"note": "受理 / accepted by the kit"}, staff)
    body = dispatch_request(ctx, issue, first, [second])
    _perform(ctx, issue, "dispatch", body, staff)
    lead = active_lead(issue)
    ctx.expect((lead.get("department") or {}).get("id") == first.organisation
               and lead.get("id") == body["details"]["lead"],
               "派单没有为主办部门建立待签收的主办任务",
               "the dispatch did not create the pending lead assignment of the lead department")
    assisting = [a for a in issue.doc.get("assignments") or [] if a.get("role") == "assisting"]
    ctx.expect([a.get("id") for a in assisting] == body["details"]["assisting"],
               "派单没有建立协办任务", "the dispatch did not create the assisting assignment")
    _perform(ctx, issue, "claim", {"details": {"assignmentId": lead["id"]}}, first)
    _perform(ctx, issue, "return", {"reason": first_code(ctx, "return-reason"),
                                    "note": "不属于本部门职责 / not ours",
                                    "details": {"assignmentId": lead["id"]}}, first)
    body = reassign_request(ctx, issue, lead["id"], second)
    _perform(ctx, issue, "reassign", body, staff)
    new = body["details"]["to"]
    _expect_items(ctx, issue, body, "assignments")
    _perform(ctx, issue, "claim", {"details": {"assignmentId": new}}, second)
    due = (issue.doc.get("deadlines") or {}).get("resolutionDue")
    _perform(ctx, issue, "extend-deadline",
             {"reason": first_code(ctx, "extension-reason"),
              "details": {"previousDue": due, "newDue": ctx.moment(14),
                          "approvedBy": approver(ctx)}}, second)
    _perform(ctx, issue, "supervise",
             {"details": {"instruction": "请加快办理 / please speed up",
                          "respondBy": ctx.moment(3)}}, _supervisor(ctx))
    _perform(ctx, issue, "add-progress",
             {"details": {"message": "已联系物业清理 / the property manager is clearing it"}},
             second)
    _perform(ctx, issue, "resolve",
             {"details": {"resolution": "fixed", "reply": "已清理完毕 / cleared"}}, second)
    body = follow_up_request(ctx, issue, staff)
    _perform(ctx, issue, "follow-up", body, staff)
    _expect_items(ctx, issue, body, "followUps")


@check("/req/issues/action-effects", needs=(ROLE.department, ROLE.department))
def test_items_required(ctx: KitContext) -> None:
    first, second = ctx.principals_of(ROLE.department, 2)
    issue = Tracked(ctx, new_issue(ctx))
    issue.act("accept")

    def refused(action: str, body: dict[str, Any], what: str) -> None:
        issue.refuse(action, body, ctx.staff, 422, f"{action} {what}")

    body = dispatch_request(ctx, issue, first, [second])
    refused("dispatch", {"details": body["details"]}, "without items")
    lacking = copy.deepcopy(body)
    lacking["items"]["assignments"].pop()  # the assisting assignment
    refused("dispatch", lacking, "without the assisting assignment's item")
    # Claimed for the department by the dispatch itself: only its own claim does that.
    claimed = copy.deepcopy(body)
    claimed["items"]["assignments"][0].update(status="accepted", acceptedAt=latest_at(issue))
    resp = issue.refuse("dispatch", claimed, ctx.staff, 422,
                        "dispatch creating an accepted assignment")
    expect_code(ctx, resp.json() or {}, "lifecycle.assignment-not-pending")
    issue.act("dispatch", body)
    lead = active_lead(issue)["id"]
    body = reassign_request(ctx, issue, lead, second)
    refused("reassign", {"details": body["details"]}, "without items")
    issue.act("reassign", body)
    claim(issue, second, body["details"]["to"])
    resolve(issue, second)
    body = follow_up_request(ctx, issue)
    refused("follow-up", {"details": body["details"]}, "without items")
    other = follow_up_request(ctx, issue)
    refused("follow-up", {"details": body["details"], "items": other["items"]},
            "whose item has another id")
    issue.act("follow-up", body)


def _expect_items(ctx: KitContext, issue: Tracked, body: dict[str, Any], member: str) -> None:
    """The items the action request carried are in ``member`` as sent."""
    stored = {item.get("id"): item for item in issue.doc.get(member) or []
              if isinstance(item, dict)}
    for item in body["items"][member]:
        got = stored.get(item["id"])
        ctx.expect(got is not None, f"动作之后 {member} 中没有请求 items 中的 {item['id']}",
                   f"after the action {member} lacks {item['id']} of the request's items")
        assert got is not None
        changed = sorted(k for k, v in item.items() if not _same(got.get(k), v))
        ctx.expect(not changed,
                   f"{member} 中的 {item['id']} 与请求 items 不同：{plain(changed, 'zh')}",
                   f"{item['id']} in {member} differs from the request's items: {plain(changed)}")


@check("/req/issues/action-details")
def test_action_details(ctx: KitContext) -> None:
    issue = Tracked(ctx, new_issue(ctx))
    cases: list[tuple[str, dict[str, Any]]] = [
        ("reject-intake", {}),  # reply is required
        ("reject-intake", {"reply": "不予受理 / not accepted", "kitUnknown": 1}),
        ("merge", {"mergedInto": "not-an-id"}),
    ]
    for action, details in cases:
        issue.refuse(action, {"details": details}, ctx.staff, 422, f"{action} {details}")
    issue.act("accept")
    for details in ({}, {"lead": ctx.new_id(), "kitUnknown": True},
                    {"lead": ctx.new_id(), "dueAt": "next week"}):
        issue.refuse("dispatch", {"details": details}, ctx.staff, 422, f"dispatch {details}")


@check("/req/issues/lifecycle-fields-read-only", needs=(ROLE.department,))
def test_lifecycle_members_read_only(ctx: KitContext) -> None:
    (dept,) = ctx.principals_of(ROLE.department, 1)
    submitted = Tracked(ctx, new_issue(ctx))
    # Valid in every other respect: only this requirement can refuse it.
    edited = without_meta(submitted.doc)
    edited["reply"] = "直接写入的答复 / a reply written directly"
    ctx.ensure_valid(edited, "(submitted issue with a reply)")
    _refused_put(ctx, submitted, edited, "/reply")
    issue = issue_in_progress(ctx, dept)
    due = issue.doc["deadlines"]["resolutionDue"]
    issue.act("extend-deadline", {"reason": first_code(ctx, "extension-reason"),
                                  "details": {"previousDue": due, "newDue": ctx.moment(20),
                                              "approvedBy": approver(ctx)}},
              dept)
    edited = without_meta(issue.doc)
    edited["assignments"][0]["dueAt"] = ctx.moment(30)
    ctx.ensure_valid(edited, "(issue with a later assignment dueAt)")
    _refused_put(ctx, issue, edited, "/assignments")
    edited = without_meta(issue.doc)
    edited["deadlines"]["extensions"][0]["note"] = "改写的延期说明 / rewritten"
    ctx.ensure_valid(edited, "(issue with an extension note changed)")
    _refused_put(ctx, issue, edited, "/deadlines/extensions")
    resolve(issue, dept)
    issue.act("follow-up", follow_up_request(ctx, issue, rating=4))
    edited = without_meta(issue.doc)
    edited["followUps"][0]["rating"] = 5
    ctx.ensure_valid(edited, "(issue with a follow-up rating changed)")
    _refused_put(ctx, issue, edited, "/followUps")
    # These changes break library rules as well; a 422 is all that can be asked.
    for member, value in (("resolution", "explained"), ("reply", "另一答复 / another reply"),
                          ("mergedInto", ctx.new_id()),
                          ("transferredTo", {"id": "kit-other", "name": "其他机关",
                                             "type": "government-department"})):
        edited = without_meta(issue.doc)
        edited[member] = value
        _refused_put(ctx, issue, edited, f"/{member}", precise=False)


def _refused_put(ctx: KitContext, issue: Tracked, body: dict[str, Any], member: str,
                 precise: bool = True) -> None:
    resp = issue.refuse_put(body, 422, f"PUT changing {member}")
    if precise:
        expect_pointer(ctx, resp.json() or {}, member)


@check("/req/issues/create-submitted")
def test_create_submitted_only(ctx: KitContext) -> None:
    tried = 0
    submitted = new_issue(ctx)["status"]
    for example in ctx.examples(ISSUE):
        if example.get("status") == submitted:
            continue
        doc = ctx.adapt(example)
        if not validate(doc).valid:
            continue  # only documents valid in every other respect are precise
        refused_on_create(ctx, doc, 422, f"status {doc['status']}")
        tried += 1
    if not tried:
        raise Skipped("规范中没有非 submitted 状态的有效诉求示例",
                      "the spec has no valid issue example in a status other than submitted")


@check("/req/issues/withdraw-by-submitter")
def test_withdraw_by_others(ctx: KitContext) -> None:
    stranger = ctx.new_id()
    # Published, so that residents of the community see it (/req/privacy/issue-publication).
    issue = Tracked(ctx, submitted_by(ctx, resident_actor(stranger, "路人甲",
                                                          userId="kit-" + stranger[:8]),
                                      publication={"published": True}))
    others = [p for p in (ctx.optional(ROLE.resident), ctx.optional(ROLE.proxy),
                          ctx.optional(ROLE.grid_worker)) if p is not None]
    if not others:
        raise Skipped("预设中没有 resident、proxy 或 grid-worker 主体",
                      "the preset has no resident, proxy or grid-worker principal")
    for who in others:
        issue.refuse("withdraw", {}, who, 403, f"withdraw by {who.name} ({who.role})")
    resident = ctx.optional(ROLE.resident)
    if resident is not None and resident.resident:
        own = Tracked(ctx, submitted_by(ctx, resident_actor(resident.resident, "诉求人")),
                      resident)
        own.act("withdraw", {}, resident)


@check("/req/issues/withdraw-by-submitter", needs=(ROLE.proxy,))
def test_withdraw_after_proxy_ended(ctx: KitContext) -> None:
    """A proxy who submitted an issue for her withdraws it as her proxy in force, and not once
    the proxy has ended: having submitted it gives nothing of its own."""
    agent = ctx.principal(ROLE.proxy)
    if not agent.resident or not agent.serves(ctx.preset.community):
        raise Skipped(f"预设中的代理人 {agent.name} 没有居民标识或不服务本社区",
                      f"the preset's proxy {agent.name} gives no resident id or does not serve "
                      "the community")
    record = Tracked(ctx, resident(ctx, [proxy(ctx, agent, ["submit-issues",
                                                            "follow-up-issues"])]))
    acting = resident_actor(str(agent.resident), "代理人", ROLE.proxy,
                            onBehalfOf=resident_ref(record.id))
    # Published, so that he sees them once the proxy has ended (/req/privacy/issue-publication):
    # what is tested is the right to withdraw.
    first, second = (Tracked(ctx, submitted_by(ctx, acting), agent) for _ in range(2))
    for issue in (first, second):
        issue.put(publication={"published": True, "decidedAt": ctx.moment()})
    first.act("withdraw", {}, agent)
    proxies = [dict(p) for p in record.doc.get("proxies") or ()]
    for entry in proxies:
        entry["validUntil"] = ctx.moment(-0.01)
    record.put(proxies=proxies)
    second.refuse("withdraw", {}, agent, 403, "withdraw by the proxy after the proxy ended")


@check("/req/issues/department-own-assignment", needs=(ROLE.department, ROLE.department))
def test_department_own_assignment(ctx: KitContext) -> None:
    lead, helper = ctx.principals_of(ROLE.department, 2)
    issue = dispatched(ctx, lead, [helper])
    assignment = active_lead(issue)["id"]

    def refused(action: str, body: dict[str, Any], who: Principal, status: int = 403) -> None:
        issue.refuse(action, body, who, status, f"{action} by {who.organisation}")

    refused("claim", {"details": {"assignmentId": assignment}}, helper)
    claim(issue, lead, assignment)
    refused("resolve", {"details": {"resolution": "fixed", "reply": "越权办结 / not mine"}},
            helper)
    refused("return", {"reason": first_code(ctx, "return-reason"),
                       "details": {"assignmentId": assignment}}, helper)
    # The assisting department holds an active assignment: progress is its to report.
    issue.act("add-progress", {"details": {"message": "协办进展 / assisting"}}, helper)
    reassign(ctx, issue, assignment, helper)
    due = issue.doc["deadlines"]["resolutionDue"]
    # Its only assignment reassigned, the former lead no longer sees the issue at all
    # (/req/privacy/department-assignment-ended): 404 rather than 403.
    gone = 404
    refused("add-progress", {"details": {"message": "已不是承办部门 / no longer ours"}}, lead,
            gone)
    refused("extend-deadline", {"reason": first_code(ctx, "extension-reason"),
                                "details": {"previousDue": due, "newDue": ctx.moment(20)}},
            lead, gone)
    refused("claim", {"details": {"assignmentId": active_lead(issue)["id"]}}, lead, gone)
    # A department whose part is completed still sees a reopened issue, but holds no active
    # assignment on it once it went to another department.
    issue = issue_in_progress(ctx, lead)
    resolve(issue, lead)
    issue.act("reopen", {"reason": first_code(ctx, "reopen-reason")})
    dispatch(ctx, issue, helper)
    refused("add-progress", {"details": {"message": "已完成的任务 / finished part"}}, lead)


@check("/req/issues/merge-updates-target")
def test_merge_updates_target(ctx: KitContext) -> None:
    target = Tracked(ctx, new_issue(ctx))
    duplicate = Tracked(ctx, new_issue(ctx))
    version = target.doc["meta"]["versionId"]
    duplicate.act("merge", {"details": {"mergedInto": target.id}})
    target.refresh()
    ctx.expect(duplicate.id in (target.doc.get("mergedDuplicates") or []),
               "目标诉求的 mergedDuplicates 没有列出被并诉求",
               "the target's mergedDuplicates does not list the merged issue")
    ctx.expect(target.doc["meta"]["versionId"] != version,
               "目标诉求的版本没有改变", "the target's version did not change")


@check("/req/issues/merge-target-exists")
def test_merge_target_exists(ctx: KitContext) -> None:
    issue = Tracked(ctx, new_issue(ctx))
    for target in (ctx.new_id(), issue.id):
        issue.refuse("merge", {"details": {"mergedInto": target}}, ctx.staff, 422,
                     f"merge into {target}")


@check("/req/issues/merge-target-exists")
def test_stored_references_exist(ctx: KitContext) -> None:
    doc = new_issue(ctx, mergedDuplicates=[ctx.new_id()])
    ctx.ensure_valid(doc, "(issue naming a duplicate)")
    refused_on_create(ctx, doc, 422, "naming a missing duplicate")
    issue = Tracked(ctx, new_issue(ctx))
    body = without_meta(issue.doc)
    body["mergedDuplicates"] = [ctx.new_id()]
    issue.refuse_put(body, 422, "PUT naming a missing duplicate")


@check("/req/issues/merge-reciprocal")
def test_merge_reciprocal(ctx: KitContext) -> None:
    target = Tracked(ctx, new_issue(ctx))
    duplicate = Tracked(ctx, new_issue(ctx))
    duplicate.act("merge", {"details": {"mergedInto": target.id}})
    target.refresh()
    ctx.expect(duplicate.doc.get("mergedInto") == target.id
               and duplicate.id in (target.doc.get("mergedDuplicates") or []),
               "并单后两条诉求没有互相指向",
               "after the merge the issues do not point at each other")


def _unique_category(ctx: KitContext) -> str:
    top = next(code for code in ctx.spec.codelist("issue-category").entries if "." not in code)
    return f"{top}.kit{ctx.new_id()[:8]}"


@check("/req/issues/list-filters", needs=(ROLE.department,))
def test_issue_filters(ctx: KitContext) -> None:
    (dept,) = ctx.principals_of(ROLE.department, 1)
    category = _unique_category(ctx)
    specs = [
        ("a", category, "complaint", "hotline-12345", "urgent", -10),
        ("b", category + ".east", "help", "mini-program", "normal", -5),
        ("c", category + "x", "complaint", "hotline-12345", "urgent", -5),  # not below
        ("d", category, "suggestion", "walk-in", "normal", -1),
    ]
    ids: dict[str, str] = {}
    submitted: dict[str, str] = {}
    for name, cat, request_type, channel, urgency, days in specs:
        at = submitted[name] = ctx.moment(days)
        history = copy.deepcopy(new_issue(ctx)["history"])
        history[0]["at"] = at
        doc = new_issue(ctx, category=cat, requestType=request_type, intakeChannel=channel,
                        urgency=urgency, submittedAt=at, history=history)
        # Submitted days ago, the issue states no deadlines: a city profile's limits counted
        # from then may fall before the week new_issue gives (/req/profiles/deadlines).
        doc.pop("deadlines", None)
        issue = Tracked(ctx, ctx.ensure_valid(doc, f"(issue {name} of the filter test)"))
        ids[issue.id] = name
        if name == "d":
            issue.act("accept")
            dispatch(ctx, issue, dept)
    top = category.split(".")[0]
    since = ctx.moment(-1)

    def names(**params: str) -> set[str]:
        return {ids[i["id"]] for i in ctx.items(
            ISSUE, None, {"limit": "100", "updatedSince": since, **params}) if i.get("id") in ids}

    day = ctx.moment(-7)
    expectations: list[tuple[dict[str, str], set[str]]] = [
        ({"category": category}, {"a", "b", "d"}),
        ({"category": category + ".east"}, {"b"}),
        ({"category": category, "requestType": "complaint"}, {"a"}),
        ({"category": category, "intakeChannel": "mini-program"}, {"b"}),
        ({"category": category, "urgency": "normal"}, {"b", "d"}),
        ({"category": category, "submittedFrom": day}, {"b", "d"}),
        ({"category": category, "submittedTo": day}, {"a"}),
        ({"category": category, "department": str(dept.organisation)}, {"d"}),
        ({"category": category, "requestType": "help", "urgency": "normal",
          "submittedFrom": day}, {"b"}),
        ({"category": top, "requestType": "complaint", "urgency": "urgent"}, {"a", "c"}),
        # Both bounds are inclusive: the very instant of a's submission selects it.
        ({"category": category, "submittedFrom": submitted["a"],
          "submittedTo": submitted["a"]}, {"a"}),
    ]
    for params, expected in expectations:
        got = names(**params)
        ctx.expect(got == expected,
                   f"按 {query(params)} 过滤得到测试诉求 {plain(sorted(got), 'zh')}，"
                   f"应为 {plain(sorted(expected), 'zh')}",
                   f"filtering by {query(params)} gave the kit's issues {plain(sorted(got))}, "
                   f"expected {plain(sorted(expected))}")


@check("/req/issues/grid-in-community")
def test_issue_grid(ctx: KitContext) -> None:
    doc = new_issue(ctx)
    doc["gridCode"] = other_community(ctx) + "-01"
    expect_pointer(ctx, ctx.expect_problem(ctx.create(doc), 422), "/gridCode")


@check("/req/issues/category-group")
def test_category_group(ctx: KitContext) -> None:
    doc = new_issue(ctx, category="kit-local.category")
    ctx.ensure_valid(doc, "(issue with a local category)")
    ctx.expect_status(ctx.create(doc), 201, zh="只有警告的诉求应被接收",
                      en="an issue with only a warning is accepted")
