"""Checks of residents' voice (/conf/voice): opinions recorded for a resident, support counted
once and closed at its deadline, replies with reasons and a deadline, the decision that waits
for every reply, and what the public reads of it all."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from ...participation import moment, reply_days
from .._context import KitContext
from .._preset import Principal
from .._registry import Skipped, check
from ._people import held_resident
from ._shared import (
    ROLE,
    Procedure,
    Tracked,
    consultation_seen_by,
    refused_on_create,
    resident_ref,
    running_profile,
)

OPINION = "Opinion"
PROPOSAL = "Proposal"
DECIDE = "decide"
REPLY = "reply"
SUPPORT = "support"
WITHDRAW_SUPPORT = "withdraw-support"
#: the reasons a decision may record for a reply still missing
UNANSWERED_REASONS = "unanswered-reason"
#: a requirement of the city profiles' class: a server declaring it runs a profile


def _voice_types(ctx: KitContext) -> None:
    if not {OPINION, PROPOSAL} <= set(ctx.spec.resource_types):
        raise Skipped("该版本没有意见和提案资源", "this version has no opinions or proposals")


def _at(days: float = 0.0) -> str:
    return (datetime.now().astimezone() + timedelta(days=days)).isoformat(timespec="seconds")


def _opinion(ctx: KitContext, *, behalf: str | None = None, consultation: str | None = None,
             **changes: Any) -> dict[str, Any]:
    """A fresh opinion awaiting its reply, received now; recorded for ``behalf`` when given."""
    _voice_types(ctx)
    doc = ctx.document(OPINION, status=_start(ctx, OPINION))
    doc.pop("replyDue", None)
    doc["receivedAt"] = _at()
    actor = dict(doc["history"][0].get("actor") or {})
    actor.pop("onBehalfOf", None)
    if behalf is not None:
        actor["onBehalfOf"] = resident_ref(behalf)
    doc["history"][0] = {**doc["history"][0], "actor": actor, "at": _at()}
    if consultation is not None:
        doc["consultation"] = {"resourceType": "Consultation", "id": consultation}
    doc.update(changes)
    return ctx.ensure_valid(doc, "(opinion)")


def _proposal(ctx: KitContext, deadline_days: float, **changes: Any) -> dict[str, Any]:
    """A fresh proposal open for support until ``deadline_days`` from now."""
    _voice_types(ctx)
    doc = ctx.document(PROPOSAL, status=_start(ctx, PROPOSAL))
    doc.pop("replyDue", None)
    doc.update(receivedAt=_at(), supportDeadline=_at(deadline_days), supporters=[],
               supportCount=0)
    doc["history"][0] = {**doc["history"][0], "at": _at()}
    doc.update(changes)
    return ctx.ensure_valid(doc, "(proposal)")


def _start(ctx: KitContext, resource_type: str) -> str:
    return next(str(t["to"]) for t in ctx.spec.lifecycle(resource_type)["transitions"]
                if not t["from"])


def _recorder(ctx: KitContext) -> Any:
    """Who records for a resident: the grid worker when the preset has one with a grid of
    the community (whose residents he reads and so acts for), else staff."""
    worker = ctx.optional(ROLE.grid_worker)
    if worker is not None and any(g.startswith(ctx.preset.community + "-")
                                  for g in worker.grids):
        return worker
    return ctx.staff


def _supporter(ctx: KitContext) -> Any:
    who = ctx.principal(ROLE.resident)
    if not who.resident:
        raise Skipped("预设的居民主体没有居民记录标识", "the preset's resident names no record")
    return who


def _ids(doc: dict[str, Any]) -> list[Any]:
    return [(s.get("resident") or {}).get("id") for s in doc.get("supporters") or []]


def _reply(outcome: str, reasons: bool = True) -> dict[str, Any]:
    reply: dict[str, Any] = {"outcome": outcome, "text": "一致性测试答复 / kit reply"}
    if reasons:
        reply["reasons"] = "一致性测试理由 / kit reasons"
    return {"details": {"reply": reply}}


@check("/req/voice/recorded-for")
def test_recorded_for(ctx: KitContext) -> None:
    recorder = _recorder(ctx)
    elder = held_resident(ctx)  # a recorder acts only for a resident whose record he reads
    item = Tracked(ctx, _opinion(ctx, behalf=elder), recorder)
    actor = item.history[0].get("actor") or {}
    ctx.expect(actor.get("role") == recorder.role,
               f"创建事件的行为人角色是 {actor.get('role')}，不是记录人 {recorder.role}",
               f"the creating actor's role is {actor.get('role')}, not the recorder's "
               f"{recorder.role}")
    ctx.expect((actor.get("onBehalfOf") or {}).get("id") == elder,
               "代为记录的意见没有保存 onBehalfOf", "the opinion recorded for a resident lost "
               "onBehalfOf")
    resident = ctx.optional(ROLE.resident)
    if resident is not None:
        doc = _opinion(ctx, behalf=ctx.new_id())
        ctx.expect_problem(ctx.create(doc, resident), 403)
        ctx.expect(ctx.read(OPINION, doc["id"]).status == 404,
                   "居民代别人记录的意见被保存了",
                   "a resident's opinion for someone else was stored")


@check("/req/voice/single-support")
def test_single_support(ctx: KitContext) -> None:
    who = _supporter(ctx)
    item = Tracked(ctx, _proposal(ctx, 7))
    item.act(SUPPORT, {"details": {"channel": "app"}}, who)
    ctx.expect(_ids(item.doc) == [who.resident] and item.doc.get("supportCount") == 1,
               f"联署后联署人为 {_ids(item.doc)}，人数 {item.doc.get('supportCount')}",
               f"after one support the supporters are {_ids(item.doc)}, count "
               f"{item.doc.get('supportCount')}")
    item.refuse(SUPPORT, {"details": {"channel": "app"}}, who, 422, "a second support")
    recorder = _recorder(ctx)
    body = {"details": {"channel": "door-to-door"},
            "actor": {"role": recorder.role, "onBehalfOf": resident_ref(str(who.resident))}}
    item.refuse(SUPPORT, body, recorder, 422, "the same resident's support recorded by another")
    ctx.expect(item.doc.get("supportCount") == len(item.doc.get("supporters") or []) == 1,
               "被拒绝的联署改变了联署人数", "a refused support changed the count")


@check("/req/voice/support-withdrawal")
def test_support_withdrawal(ctx: KitContext) -> None:
    who = _supporter(ctx)
    item = Tracked(ctx, _proposal(ctx, 7))
    item.act(SUPPORT, {"details": {"channel": "mini-program"}}, who)
    item.act(WITHDRAW_SUPPORT, {}, who)
    ctx.expect(_ids(item.doc) == [] and item.doc.get("supportCount") == 0,
               "撤回后联署人仍在", "the supporter stays after withdrawing")
    entry = {"resident": resident_ref(str(who.resident)), "at": _at(-2), "channel": "paper"}
    closed = Tracked(ctx, _proposal(ctx, -1, supporters=[entry], supportCount=1,
                                    receivedAt=_at(-3)))
    closed.refuse(WITHDRAW_SUPPORT, {}, who, 422, "withdrawal after the deadline")
    fresh = Tracked(ctx, _proposal(ctx, -1))
    fresh.refuse(SUPPORT, {"details": {"channel": "app"}}, who, 422, "support after the deadline")


@check("/req/voice/reply-reasons")
def test_reply_reasons(ctx: KitContext) -> None:
    item = Tracked(ctx, _opinion(ctx), _recorder(ctx))
    item.refuse(REPLY, _reply("not-adopted", reasons=False), ctx.staff, 422,
                "a not-adopted reply without reasons")
    item.act(REPLY, _reply("not-adopted"), ctx.staff)
    reply = item.doc.get("reply") or {}
    ctx.expect(reply.get("outcome") == "not-adopted" and bool(reply.get("reasons")),
               "答复没有如实保存", "the reply was not kept as given")
    ctx.expect((reply.get("by") or {}).get("role") == ctx.staff.role,
               "答复没有记下答复人", "the reply does not record who replied")
    given = _opinion(ctx, reply={**_reply("adopted")["details"]["reply"], "at": _at(),
                                 "by": {"role": ctx.staff.role}})
    refused_on_create(ctx, given, 422, "an opinion created with its reply")


def _reply_days(ctx: KitContext) -> int:
    """The reply days the server is held to: its city profile's, when it runs one, else the
    spec's default."""
    return reply_days(running_profile(ctx), version=ctx.spec.version)


@check("/req/voice/reply-due")
def test_reply_due(ctx: KitContext) -> None:
    days = _reply_days(ctx)
    item = Tracked(ctx, _opinion(ctx), _recorder(ctx))
    received, due = moment(item.doc.get("receivedAt")), moment(item.doc.get("replyDue"))
    ctx.expect(due is not None, "服务器没有填写 replyDue", "the server did not fill in replyDue")
    if received is not None and due is not None:
        ctx.expect(received < due <= received + timedelta(days=days),
                   f"replyDue {item.doc.get('replyDue')} 不在收到后 {days} 天之内",
                   f"replyDue {item.doc.get('replyDue')} is not within {days} days of receipt")
    late = _opinion(ctx)
    start = moment(late["receivedAt"]) or datetime.now().astimezone()
    late["replyDue"] = (start + timedelta(days=days + 1)).isoformat(timespec="seconds")
    refused_on_create(ctx, late, 422, "a replyDue later than the reply days allow")


def _before_decide(ctx: KitContext) -> tuple[Tracked, dict[str, Any], Principal]:
    """The example consultation run up to its decision: the consultation, the decide body
    without the example's own voices (the check adds its opinions), and who decides."""
    _voice_types(ctx)
    procedure = Procedure(ctx)
    procedure.run(until=lambda event: event["action"] == DECIDE)
    event = procedure.next_event()
    if event is None:
        raise Skipped("示例协商没有 decide 事件", "the example consultation has no decide event")
    body = procedure.body(event)
    body.get("details", {}).pop("voices", None)
    return procedure.consultation, body, procedure.performer(event)


@check("/req/voice/reply-before-decide")
def test_reply_before_decide(ctx: KitContext) -> None:
    consultation, body, who = _before_decide(ctx)
    opinion = Tracked(ctx, _opinion(ctx, consultation=consultation.id), _recorder(ctx))
    consultation.refuse(DECIDE, body, who, 409, "decide with an opinion unanswered")
    opinion.act(REPLY, _reply("answered", reasons=False), ctx.staff)
    consultation.act(DECIDE, body, who)


#: the requirement whose parameter is how far ahead of a server's clock receivedAt may be
REPLY_BEFORE_DECIDE = "/req/voice/reply-before-decide"


@check(REPLY_BEFORE_DECIDE)
def test_decide_counts_every_item_held(ctx: KitContext) -> None:
    """An item received later than the server's time is refused; one stated a little ahead,
    within the leeway, is held and so awaited by decide like any other."""
    leeway = float(ctx.spec.parameter(REPLY_BEFORE_DECIDE, "leewaySeconds"))
    refused_on_create(ctx, _opinion(ctx, receivedAt=_at(1)), 422,
                      "an opinion received a day after the server's time")
    consultation, body, who = _before_decide(ctx)
    # Half the leeway ahead: accepted whatever a small skew between the clocks.
    ahead = _opinion(ctx, consultation=consultation.id, receivedAt=_at(leeway / 2 / 86400))
    Tracked(ctx, ahead, _recorder(ctx))
    consultation.refuse(DECIDE, body, who, 409,
                        "decide with an opinion stated as received a little ahead unanswered")


@check("/req/voice/decision-lists-voices")
def test_decision_lists_voices(ctx: KitContext) -> None:
    consultation, body, who = _before_decide(ctx)
    opinion = Tracked(ctx, _opinion(ctx, consultation=consultation.id), _recorder(ctx))
    opinion.act(REPLY, _reply("not-adopted"), ctx.staff)
    ref = {"resourceType": OPINION, "id": opinion.id}
    why = "一致性测试理由 / kit reasons"
    body["details"]["voices"] = [{"item": ref, "outcome": "adopted", "why": why}]
    consultation.refuse(DECIDE, body, who, 422, "decide listing as adopted an opinion whose "
                                                "reply did not adopt it")
    body["details"]["voices"] = [{"item": ref, "outcome": "not-adopted", "why": why}]
    consultation.act(DECIDE, body, who)
    listed = (consultation.doc.get("decision") or {}).get("voices")
    ctx.expect(listed == body["details"]["voices"], "决定没有记下所列意见的处理结果",
               "the decision does not record the outcome listed")


@check("/req/voice/unanswered-reasons")
def test_unanswered_reasons(ctx: KitContext) -> None:
    consultation, body, who = _before_decide(ctx)
    recorder = _recorder(ctx)
    first, second = (Tracked(ctx, _opinion(ctx, consultation=consultation.id), recorder)
                     for _ in range(2))
    reasons = ctx.spec.codelist(UNANSWERED_REASONS)
    why = [{"item": {"resourceType": item.doc["resourceType"], "id": item.id}, "reason": code}
           for item, code in zip((first, second), reasons, strict=False)]
    body["details"]["unanswered"] = why[:1]
    consultation.refuse(DECIDE, body, who, 409, "decide giving a reason for one of two "
                                                "unanswered opinions")
    body["details"]["unanswered"] = why
    consultation.act(DECIDE, body, who)
    recorded = (consultation.doc.get("decision") or {}).get("unanswered")
    ctx.expect(recorded == why, "决定没有记下未答复的意见及原因",
               "the decision does not record the unanswered opinions and why")


@check("/req/voice/public-without-author")
def test_public_without_author(ctx: KitContext) -> None:
    public = ctx.optional(ROLE.public)
    recorder = _recorder(ctx)
    elder = held_resident(ctx)
    # on a consultation the public may read (/req/voice/consultation-visibility)
    open_to_all = Tracked(ctx, consultation_seen_by(ctx, "public")).id
    hidden = Tracked(ctx, _opinion(ctx, behalf=elder, textPublic=False,
                                   consultation=open_to_all), recorder)
    hidden.act(REPLY, _reply("adopted", reasons=False), ctx.staff)
    shown = Tracked(ctx, _opinion(ctx, behalf=elder, textPublic=True,
                                  consultation=open_to_all), recorder)
    for item, agreed in ((hidden, False), (shown, True)):
        resp = item.read(public) if public is not None else ctx.call("GET", item.path)
        ctx.expect_status(resp, 200, zh="公众读取意见", en="the public reads an opinion")
        body = resp.json() or {}
        text = json.dumps(body, ensure_ascii=False)
        ctx.expect(elder not in text, "公众读到了意见作者的标识",
                   "the public reads the author's identity")
        for member in ("name", "userId"):
            ctx.expect(all(member not in (e.get("actor") or {}) for e in body.get("history") or []),
                       f"公众读到了行为人的 {member}", f"the public reads an actor's {member}")
        ctx.expect(("text" in body) is agreed,
                   "意见内容的公开与作者是否同意不符",
                   "whether the text is public does not follow the author's agreement")
    after = hidden.read(public) if public is not None else ctx.call("GET", hidden.path)
    ctx.expect(((after.json() or {}).get("reply") or {}).get("outcome") == "adopted",
               "公众读不到答复", "the public does not read the reply")
    who = ctx.optional(ROLE.resident)
    if who is not None and who.resident:
        proposal = Tracked(ctx, _proposal(ctx, 7, consultation={
            "resourceType": "Consultation", "id": open_to_all}))
        proposal.act(SUPPORT, {"details": {"channel": "app"}}, who)
        resp = proposal.read(public) if public is not None else ctx.call("GET", proposal.path)
        body = resp.json() or {}
        ctx.expect(str(who.resident) not in json.dumps(body),
                   "公众读到了联署人的身份", "the public reads a supporter's identity")
        ctx.expect(body.get("supportCount") == 1, "公众读不到联署人数",
                   "the public does not read the support count")


@check("/req/voice/consultation-visibility")
def test_consultation_visibility(ctx: KitContext) -> None:
    public = ctx.optional(ROLE.public)
    kept = Tracked(ctx, consultation_seen_by(ctx, "community"))
    resp = kept.read(public) if public is not None else ctx.call("GET", kept.path)
    if resp.status != 404:
        raise Skipped(f"公众可以读取只对本社区可见的协商（{resp.status}）",
                      f"the public reads a consultation visible to its community only "
                      f"({resp.status})")
    opinion = Tracked(ctx, _opinion(ctx, consultation=kept.id, textPublic=True),
                      _recorder(ctx))
    proposal = Tracked(ctx, _proposal(ctx, 7, consultation={
        "resourceType": "Consultation", "id": kept.id}))
    for item, collection in ((opinion, "/opinions"), (proposal, "/proposals")):
        resp = item.read(public) if public is not None else ctx.call("GET", item.path)
        ctx.expect(resp.status == 404,
                   f"公众读不到协商，却读到了它的 {item.path}（{resp.status}）",
                   f"the public may not read the consultation yet reads its {item.path} "
                   f"({resp.status})")
        listed = ctx.call("GET", collection, public, params={"consultation": kept.id})
        ids = [i.get("id") for i in (listed.json() or {}).get("items") or []
               if isinstance(i, dict)] if listed.status == 200 else []
        ctx.expect(item.id not in ids, f"公众在 {collection} 中列出了读不到的协商的 {item.id}",
                   f"the public lists {item.id} of a consultation it may not read in "
                   f"{collection}")
