"""Consultations class: the whole procedure, vote results, withdrawal, division, filters."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from ...validation import validate
from .._context import KitContext
from .._flows import Procedure, Tracked, new_issue, without_meta
from .._preset import Principal
from .._registry import Skipped, check


def _status_after(ctx: KitContext, action: str, before: str) -> str:
    for t in ctx.spec.lifecycles["Consultation"]["transitions"]:
        if t["action"] == action:
            return str(t.get("to") or before)
    raise KeyError(action)


@check(
    "/req/consultations/close-vote-result",
    "协商走完全部程序（提议、公告、协商、表决、决定、实施、反馈、结束）；结束表决时服务器由计票"
    "算出结果并写入事件",
    "a consultation goes through its whole procedure (topic, notice, deliberation, vote, "
    "decision, implementation, feedback, close); on close-vote the server computes the result "
    "from the tally and records it in the event",
)
def test_whole_procedure(ctx: KitContext) -> None:
    procedure = Procedure(ctx)
    expected = {v["id"]: v["results"] for v in procedure.example.get("votes") or []}
    state = {"status": procedure.doc["status"]}

    def after(event: Mapping[str, Any], stored: Mapping[str, Any]) -> None:
        status = _status_after(ctx, str(event["action"]), state["status"])
        ctx.expect(procedure.doc.get("status") == status,
                   f"{event['action']} 之后状态为 {procedure.doc.get('status')}，应为 {status}",
                   f"after {event['action']} the status is {procedure.doc.get('status')}, "
                   f"not {status}")
        ctx.expect(stored.get("fromStatus") == state["status"] and stored.get("toStatus") == status,
                   f"{event['action']} 事件的 fromStatus/toStatus 不对",
                   f"the {event['action']} event has the wrong fromStatus/toStatus")
        state["status"] = status
        if event["action"] == "close-vote":
            vote_id = event["details"]["voteId"]
            _closed_as(ctx, procedure, vote_id, expected[vote_id], stored)

    procedure.run(check=after)
    ctx.expect(procedure.doc.get("status") == "closed", "程序结束时协商没有关闭",
               "the consultation is not closed at the end of the procedure")


def _closed_as(ctx: KitContext, procedure: Procedure, vote_id: str,
               want: Mapping[str, Any], event: Mapping[str, Any]) -> None:
    vote = procedure.vote(vote_id)
    results = vote.get("results") or {}
    ctx.expect(vote.get("status") == "closed", f"结束表决后表决 {vote_id} 的状态为 "
               f"{vote.get('status')}", f"after close-vote vote {vote_id} is {vote.get('status')}")
    for member in ("quorumMet", "result", "winningOptionId"):
        ctx.expect(results.get(member) == want.get(member),
                   f"表决 {vote_id} 的 {member} 为 {results.get(member)!r}，按计票应为 "
                   f"{want.get(member)!r}",
                   f"vote {vote_id} has {member} {results.get(member)!r}; the tally gives "
                   f"{want.get(member)!r}")
    recorded = (event.get("details") or {}).get("result")
    ctx.expect(recorded == want.get("result"),
               f"close-vote 事件的 details.result 为 {recorded!r}，应为 {want.get('result')!r}",
               f"the close-vote event's details.result is {recorded!r}, not "
               f"{want.get('result')!r}")


def _tie(results: dict[str, Any]) -> dict[str, Any]:
    """Results of a two-option vote whose options got the same count."""
    options = [o["optionId"] for o in results["tally"]["options"]]
    out = {k: v for k, v in results.items() if k not in ("winningOptionId", "tally")}
    out["tally"] = {"options": [{"optionId": o, "total": 13} for o in options],
                    "abstentions": {"total": 1}, "invalid": {"total": 0},
                    "participation": {"total": 27}}
    out.update(quorumMet=True, result="tie")
    return out


@check(
    "/req/consultations/close-vote-result",
    "结束表决时声明与计票不符的结果得到 422；服务器算出通过、平局的结果和胜出选项",
    "close-vote stating a result the tally does not give gets 422; the server computes "
    "passed and tie with the winning option",
)
def test_stated_result_checked(ctx: KitContext) -> None:
    procedure = Procedure(ctx)
    procedure.run(until=lambda e: e["action"] == "record-votes")
    votes = [v for v in procedure.example["votes"] if v.get("results")]
    if len(votes) < 2:
        raise Skipped("规范示例中没有两个表决", "the spec example has fewer than two votes")
    first, second = votes[0], votes[1]
    c = procedure.consultation
    procedure.set_results(first["id"], copy.deepcopy(first["results"]))
    wrong = next(r for r in ("failed", "passed", "tie") if r != first["results"]["result"])
    resp = ctx.call("POST", f"{c.path}/actions/close-vote", ctx.staff,
                    json_body={"details": {"voteId": first["id"], "result": wrong}},
                    headers={"If-Match": c.etag})
    c.refused(resp, 422, f"close-vote stating {wrong}")
    c.act("close-vote", {"details": {"voteId": first["id"],
                                     "result": first["results"]["result"]}})
    _closed_as(ctx, procedure, first["id"], first["results"], c.history[-1])
    tie = _tie(second["results"])
    procedure.set_results(second["id"], tie)
    c.act("close-vote", {"details": {"voteId": second["id"]}})
    _closed_as(ctx, procedure, second["id"], tie, c.history[-1])


def _hidden_readers(ctx: KitContext) -> list[Principal]:
    roles = ("resident", "proxy", "public", "department")
    return [p for p in ctx.preset.principals.values()
            if p.role in roles and p.serves(ctx.preset.community)]


@check(
    "/req/consultations/results-hidden",
    "表决结果公开时间之前，居民、代理人、公众和部门在读取、列表、历史和变更中都看不到结果、"
    "选票的选项和 close-vote 事件的结果",
    "before a vote's results.visibleFrom, residents, proxies, the public and departments see "
    "neither its results, the ballots' choices nor the close-vote result, in reads, lists, "
    "history or change events",
)
def test_results_hidden(ctx: KitContext) -> None:
    from ._feed import _after, _tail

    readers = _hidden_readers(ctx)
    if not readers:
        raise Skipped("预设中没有 resident、proxy、public 或 department 主体",
                      "the preset has no resident, proxy, public or department principal")
    tails = {p.name: _tail(ctx, p) for p in readers}
    later = ctx.moment(30)
    hidden: list[str] = []

    def hook(vote_id: str, results: dict[str, Any]) -> dict[str, Any]:
        if not hidden:
            hidden.append(vote_id)
            return {**results, "visibility": "public", "visibleFrom": later}
        return results

    procedure = Procedure(ctx, visibility="public", results=hook)
    procedure.run(until=lambda e: bool(hidden) and e["action"] == "close-vote")
    vote_id = hidden[0] if hidden else ""
    ctx.expect(bool(vote_id) and "results" in procedure.vote(vote_id),
               "工作人员看不到已结束表决的结果，无法检查", "staff do not see the closed vote's "
               "results, so nothing can be checked")
    c = procedure.consultation
    for who in readers:
        views: list[tuple[str, Any]] = []
        got = ctx.read("Consultation", c.id, who)
        if got.status == 404:
            continue  # the reader may not see this consultation at all
        ctx.expect_status(got, 200)
        views.append(("read", got.json()))
        history = ctx.call("GET", f"{c.path}/history", who)
        if history.status == 200:
            views.append(("history", {"history": (history.json() or {}).get("items")}))
        listing = ctx.call("GET", "/consultations", who,
                           params={"community": ctx.preset.community, "limit": "500",
                                   "updatedSince": ctx.moment(-1)})
        for item in (listing.json() or {}).get("items") or [] if listing.status == 200 else []:
            if isinstance(item, dict) and item.get("id") == c.id:
                views.append(("list", item))
        events, _ = _after(ctx, who, tails[who.name])
        views += [("change event", e.get("data")) for e in events
                  if e.get("subject") == f"consultations/{c.id}"]
        places = {"read": "读取", "history": "历史", "list": "列表", "change event": "变更事件"}
        for where, doc in views:
            leak = _leak(doc, vote_id)
            ctx.expect(not leak,
                       f"{who.name}（{who.role}）在{places[where]}中看到了未公开的表决结果：{leak}",
                       f"{who.name} ({who.role}) sees the withheld result in a {where}: {leak}")


def _leak(doc: Any, vote_id: str) -> str:
    if not isinstance(doc, dict):
        return ""
    for vote in doc.get("votes") or []:
        if isinstance(vote, dict) and vote.get("id") == vote_id:
            if "results" in vote:
                return "results"
            for ballot in vote.get("ballots") or []:
                if isinstance(ballot, dict) and ("optionId" in ballot or "kind" in ballot):
                    return "ballots[].optionId/kind"
    for event in doc.get("history") or []:
        if (isinstance(event, dict) and event.get("action") == "close-vote"
                and (event.get("details") or {}).get("voteId") == vote_id
                and "result" in (event.get("details") or {})):
            return "close-vote details.result"
    return ""


def _proposed(ctx: KitContext, proposers: list[dict[str, Any]]) -> dict[str, Any]:
    doc = ctx.document("Consultation", status="proposed")
    origin = {k: v for k, v in (doc.get("origin") or {}).items() if k != "issues"}
    origin.update(type="resident-proposal", proposers=proposers)
    doc["origin"] = origin
    doc["visibility"] = "community"
    return ctx.ensure_valid(doc, "(proposed consultation)")


def _resident_actor(rid: str, name: str) -> dict[str, Any]:
    return {"role": "resident", "name": name,
            "resident": {"resourceType": "Resident", "id": rid}}


@check(
    "/req/consultations/withdraw-by-proposer",
    "只有提议人或其代理人能撤回协商；其他主体得到 403 且不改变协商",
    "only a proposer, or a proxy acting for one, withdraws; anyone else gets 403 and nothing "
    "changes",
)
def test_withdraw_by_proposer(ctx: KitContext) -> None:
    from ._residents import proxy, resident

    stranger = ctx.new_id()
    c = Tracked(ctx, _proposed(ctx, [_resident_actor(stranger, "提议人")]))
    others = [p for p in (ctx.staff, ctx.optional("resident"), ctx.optional("proxy"),
                          ctx.optional("grid-worker")) if p is not None]
    for who in others:
        resp = ctx.call("POST", f"{c.path}/actions/withdraw", who, json_body={},
                        headers={"If-Match": c.etag})
        c.refused(resp, 403, f"withdraw by {who.name} ({who.role})")
    own = ctx.optional("resident")
    if own is not None and own.resident:
        mine = Tracked(ctx, _proposed(ctx, [_resident_actor(own.resident, "提议人")]))
        mine.act("withdraw", {"reason": "proposer-request"}, own)
        ctx.expect(mine.doc.get("status") == "withdrawn", "提议人撤回后状态不是 withdrawn",
                   "after the proposer withdraws the status is not withdrawn")
    agent = ctx.optional("proxy")
    if agent is not None and agent.resident:
        record = resident(ctx, [proxy(ctx, agent, ["participate-consultations"])])
        ctx.created(record)
        theirs = Tracked(ctx, _proposed(ctx, [_resident_actor(record["id"], "提议人")]))
        theirs.act("withdraw", {}, agent)


@check(
    "/req/consultations/division-fixed",
    "以不服务的社区创建协商得到 403；更新改变 divisionCode 得到 422",
    "creating a consultation for a community one does not serve gets 403; an update changing "
    "divisionCode gets 422",
)
def test_division_fixed(ctx: KitContext) -> None:
    from ._issues import _other_community

    other = _other_community(ctx)
    if ctx.staff.serves(other):
        raise Skipped("预设的工作人员服务所有社区", "the preset's staff serve every community")
    text = json.dumps(_proposed(ctx, [_resident_actor(ctx.new_id(), "提议人")]),
                      ensure_ascii=False)
    doc = json.loads(text.replace(ctx.preset.community, other))
    doc["id"] = ctx.new_id()
    ctx.ensure_valid(doc, "(consultation of another community)")
    ctx.expect_problem(ctx.create(doc), 403)
    c = Tracked(ctx, _proposed(ctx, [_resident_actor(ctx.new_id(), "提议人")]))
    body = without_meta(c.doc)
    body["divisionCode"] = other
    body.pop("gridCodes", None)
    if isinstance(body.get("convener"), dict):
        body["convener"].pop("divisionCode", None)
    ctx.ensure_valid(body, "(consultation moved to another community)")
    resp = ctx.call("PUT", c.path, ctx.staff, json_body=body, headers={"If-Match": c.etag})
    c.refused(resp, 422, "PUT changing divisionCode")


@check(
    "/req/consultations/consultation-filters",
    "协商列表支持 category（协商内容代码）和 issue（转议的诉求）过滤",
    "the consultation list filters by category (content code) and issue (escalated issue)",
)
def test_consultation_filters(ctx: KitContext) -> None:
    codes = list(ctx.spec.codelist("consultation-content").entries)
    first, second = codes[0], codes[1]
    a = _proposed(ctx, [_resident_actor(ctx.new_id(), "提议人")])
    a["categories"] = [first]
    issue = Tracked(ctx, new_issue(ctx))
    b = _proposed(ctx, [_resident_actor(ctx.new_id(), "提议人")])
    b["categories"] = [second]
    b["origin"] = {**b["origin"], "type": "issue-escalation",
                   "issues": [{"resourceType": "Issue", "id": issue.id}]}
    names = {}
    for label, doc in (("a", a), ("b", b)):
        ctx.created(ctx.ensure_valid(doc, f"(consultation {label})"))
        names[doc["id"]] = label
    since = ctx.moment(-1)

    def found(**params: str) -> tuple[set[str], list[dict[str, Any]]]:
        seen: set[str] = set()
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(200):
            query = {"limit": "200", "updatedSince": since, **params,
                     **({"cursor": cursor} if cursor else {})}
            resp = ctx.call("GET", "/consultations", ctx.staff, params=query)
            ctx.expect_status(resp, 200, zh=f"按 {params} 过滤", en=f"filter by {params}")
            body = resp.json() or {}
            page = [i for i in body.get("items") or [] if isinstance(i, dict)]
            items += page
            seen |= {names[i["id"]] for i in page if i.get("id") in names}
            cursor = body.get("next")
            if not cursor:
                break
        return seen, items

    seen, items = found(category=first)
    ctx.expect(seen == {"a"}, f"按 category={first} 得到测试协商 {sorted(seen)}，应为 ['a']",
               f"category={first} gave the kit's consultations {sorted(seen)}, expected ['a']")
    ctx.expect(all(first in (i.get("categories") or []) for i in items),
               f"category={first} 返回了不含该内容的协商",
               f"category={first} returned consultations without that content")
    seen, items = found(issue=issue.id)
    ctx.expect(seen == {"b"} and len(items) == 1,
               f"按 issue 过滤得到 {len(items)} 条（测试协商 {sorted(seen)}），应只有 b",
               f"issue filter gave {len(items)} items (kit's {sorted(seen)}), expected only b")


@check(
    "/req/consultations/escalated-issue-exists",
    "转议的诉求不存在或属于其他社区时得到 422；本社区已有的诉求被接受",
    "an escalated issue that does not exist or belongs to another community gets 422; an "
    "existing issue of the community is accepted",
)
def test_escalated_issue_exists(ctx: KitContext) -> None:
    def escalating(issue_id: str) -> dict[str, Any]:
        doc = _proposed(ctx, [_resident_actor(ctx.new_id(), "提议人")])
        doc["origin"] = {**doc["origin"], "type": "issue-escalation",
                         "issues": [{"resourceType": "Issue", "id": issue_id}]}
        return ctx.ensure_valid(doc, "(escalating consultation)")

    doc = escalating(ctx.new_id())
    problem = ctx.expect_problem(ctx.create(doc), 422)
    pointers = [str(e.get("pointer")) for e in problem.get("errors") or []]
    ctx.expect(any(p.startswith("/origin/issues") for p in pointers),
               f"422 没有指向 /origin/issues：{pointers}",
               f"the 422 does not point at /origin/issues: {pointers}")
    other = ctx.preset.other_community
    outsider = ctx.preset.by_role("community-staff", community=other) if other else None
    if other and outsider is not None:
        theirs = new_issue(ctx)
        theirs = ctx.adapt(theirs, community=other)
        resp = ctx.create(theirs, outsider)
        if resp.status == 201:
            ctx.expect_problem(ctx.create(escalating(theirs["id"])), 422)
    mine = Tracked(ctx, new_issue(ctx))
    ctx.expect_status(ctx.create(escalating(mine.id)), 201,
                      zh="转议本社区已有诉求的协商应被接受",
                      en="a consultation escalating an existing issue of the community is "
                         "accepted")


def _accepted_with_warning(ctx: KitContext, doc: dict[str, Any], code: str) -> None:
    report = validate(doc)
    if not report.valid or code not in {f.code for f in report.warnings}:
        from .._context import KitFault

        raise KitFault(f"the kit's document should be valid and draw {code}")
    ctx.expect_status(ctx.create(doc), 201, zh="只有警告的协商应被接收",
                      en="a consultation with only a warning is accepted")


def _with_sessions(ctx: KitContext) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    example = ctx.template("Consultation", status="closed")
    doc = _proposed(ctx, [_resident_actor(ctx.new_id(), "提议人")])
    for member in ("form", "parties", "eligibility", "notice"):
        if member in example:
            doc[member] = copy.deepcopy(example[member])
    sessions = copy.deepcopy(example.get("sessions") or [])
    if not sessions or "notice" not in doc:
        raise Skipped("规范示例中没有会议和公告", "the spec example has no sessions and notice")
    proposed = (example.get("origin") or {}).get("proposedAt")
    if proposed:
        doc["origin"]["proposedAt"] = proposed
    return doc, sessions


@check(
    "/req/consultations/notice-period",
    "公告不足 7 天的协商只产生警告，仍被接收",
    "a consultation with a notice shorter than 7 days only draws a warning and is accepted",
)
def test_notice_period(ctx: KitContext) -> None:
    doc, sessions = _with_sessions(ctx)
    session = {k: v for k, v in sessions[0].items()
               if k not in ("end", "attendance", "minutes")}
    session["status"] = "scheduled"
    doc["sessions"] = [session]
    start = session["start"]
    notice = dict(doc["notice"])
    notice["publishedAt"] = _shift(start, days=-2)
    notice["deadline"] = _shift(start, days=-1)
    doc["notice"] = notice
    doc["origin"]["proposedAt"] = _shift(start, days=-3)
    _accepted_with_warning(ctx, doc, "consultation.notice-period-short")


def _shift(stamp: str, *, days: int) -> str:
    from datetime import datetime, timedelta

    return (datetime.fromisoformat(stamp) + timedelta(days=days)).isoformat()


@check(
    "/req/consultations/minutes-recorded",
    "已举行而没有会议记录的会议只产生警告，协商仍被接收",
    "a held session without minutes only draws a warning; the consultation is accepted",
)
def test_minutes_recorded(ctx: KitContext) -> None:
    doc, sessions = _with_sessions(ctx)
    held = [s for s in sessions if s.get("status") == "held"]
    if not held:
        raise Skipped("规范示例中没有已举行的会议", "the spec example has no held session")
    session = {k: v for k, v in held[0].items() if k != "minutes"}
    doc["sessions"] = [session]
    _accepted_with_warning(ctx, doc, "consultation.minutes-missing")


@check(
    "/req/consultations/results-published",
    "决定公开后仍没有公开表决结果的协商只产生警告，程序照常进行",
    "a consultation whose decision is published without publishing the vote results only "
    "draws a warning; the procedure goes on",
)
def test_results_published(ctx: KitContext) -> None:
    procedure = Procedure(ctx)
    original = procedure.example.get("publications") or []
    procedure.example["publications"] = [p for p in original if p.get("type") != "vote-result"]
    procedure.run(until=lambda e: procedure.doc.get("status") == "decision-published")
    ctx.expect(procedure.doc.get("status") == "decision-published",
               "没有公开表决结果的协商不能公开决定",
               "the decision cannot be published without vote-result publications")
