"""Consultations class: the whole procedure, vote results, withdrawal, division, filters."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ..._moments import CHINA_STANDARD_TIME
from ...integrity import SALT, event_digest
from ...privacy import results_rule
from ...validation import validate
from .._context import KitContext, KitFault
from .._preset import Principal
from .._registry import Skipped, check
from ._people import own_record, proxy, resident, resident_in, residents_beyond_reach
from ._shared import (
    AFTER_9999,
    CLOSE_VOTE,
    CONSULTATION,
    ISSUE,
    ROLE,
    Procedure,
    Tracked,
    answer_without,
    complete_consultation,
    escalating,
    expect_code,
    expect_pointer,
    fresh,
    new_issue,
    other_community,
    plain,
    proposed,
    refused_on_create,
    resident_actor,
    resident_ref,
    transition,
    without_meta,
)
from ._watching import events_of, tail


def _status_after(ctx: KitContext, action: str, before: str) -> str:
    return str(transition(ctx, CONSULTATION, action).get("to") or before)


@check("/req/consultations/close-vote-result")
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
        if event["action"] == CLOSE_VOTE:
            vote_id = event["details"]["voteId"]
            _closed_as(ctx, procedure, vote_id, expected[vote_id], stored)

    procedure.run(check=after)
    final = procedure.example["status"]
    ctx.expect(procedure.doc.get("status") == final, f"程序结束时协商的状态不是 {final}",
               f"the consultation is not {final} at the end of the procedure")


def _closed_as(ctx: KitContext, procedure: Procedure, vote_id: str,
               want: Mapping[str, Any], event: Mapping[str, Any]) -> None:
    vote = procedure.vote(vote_id)
    results = vote.get("results") or {}
    ctx.expect(vote.get("status") == "closed", f"结束表决后表决 {vote_id} 的状态为 "
               f"{vote.get('status')}", f"after close-vote vote {vote_id} is {vote.get('status')}")
    for member in ("quorumMet", "result", "winningOptionId"):
        ctx.expect(results.get(member) == want.get(member),
                   f"表决 {vote_id} 的 {member} 为 {plain(results.get(member), 'zh')}，按计票应为 "
                   f"{plain(want.get(member), 'zh')}",
                   f"vote {vote_id} has {member} {plain(results.get(member))}; the tally gives "
                   f"{plain(want.get(member))}")
    recorded = (event.get("details") or {}).get("result")
    ctx.expect(recorded == want.get("result"),
               f"close-vote 事件的 details.result 为 {plain(recorded, 'zh')}，应为 "
               f"{plain(want.get('result'), 'zh')}",
               f"the close-vote event's details.result is {plain(recorded)}, not "
               f"{plain(want.get('result'))}")


def _counts(results: Mapping[str, Any]) -> dict[str, int]:
    """The totals of a tally: option id, abstentions or invalid → count."""
    tally = results["tally"]
    counts = {o["optionId"]: o["total"] for o in tally.get("options") or []}
    counts.update({k: tally[k]["total"] for k in ("abstentions", "invalid") if k in tally})
    return counts


def _two_votes(ctx: KitContext) -> tuple[Procedure, dict[str, Any], dict[str, Any]]:
    """The spec example's procedure run up to recording votes, and its first two votes that
    have results (as the example states them); skipped when it has fewer."""
    procedure = Procedure(ctx)
    procedure.run(until=lambda e: e["action"] == "record-votes")
    votes = [v for v in procedure.example["votes"] if v.get("results")]
    if len(votes) < 2:
        raise Skipped("规范示例中没有两个表决", "the spec example has fewer than two votes")
    return procedure, votes[0], votes[1]


@check("/req/consultations/close-vote-result")
def test_stated_result_checked(ctx: KitContext) -> None:
    procedure, first, second = _two_votes(ctx)
    c = procedure.consultation
    procedure.record(first["id"], _counts(first["results"]))
    wrong = next(r for r in ("failed", "passed", "tie") if r != first["results"]["result"])
    c.refuse(CLOSE_VOTE, {"details": {"voteId": first["id"], "result": wrong}}, ctx.staff,
             422, f"close-vote stating {plain(wrong)}")
    c.act(CLOSE_VOTE, {"details": {"voteId": first["id"],
                                   "result": first["results"]["result"]}})
    _closed_as(ctx, procedure, first["id"], first["results"], c.history[-1])
    options = list(second["optionIds"])[:2]
    procedure.record(second["id"], {options[0]: 13, options[1]: 13, "abstentions": 1})
    c.act(CLOSE_VOTE, {"details": {"voteId": second["id"]}})
    _closed_as(ctx, procedure, second["id"], {"quorumMet": True, "result": "tie"},
               c.history[-1])


def _complete_as(ctx: KitContext, procedure: Procedure, vote_id: str, want: bool,
                 event: Mapping[str, Any]) -> None:
    got = procedure.vote(vote_id).get("ballotsComplete")
    recorded = (event.get("details") or {}).get("ballotsComplete")
    ctx.expect(got is want and recorded is want,
               f"结束表决 {vote_id} 后 ballotsComplete 为 {plain(got, 'zh')}，事件 "
               f"details.ballotsComplete 为 {plain(recorded, 'zh')}；按登记的选票应为 "
               f"{plain(want, 'zh')}",
               f"after close-vote vote {vote_id} has ballotsComplete {plain(got)} and the "
               f"event's details.ballotsComplete is {plain(recorded)}; the recorded ballots "
               f"give {plain(want)}")


@check("/req/consultations/ballots-complete-at-close")
def test_ballots_complete_at_close(ctx: KitContext) -> None:
    procedure, one, two = _two_votes(ctx)
    first, second = procedure.vote(one["id"]), procedure.vote(two["id"])
    if first.get("status") != "open" or second.get("status") != "open":
        raise Skipped("规范示例的程序中没有两个同时进行的表决",
                      "the spec example's procedure has no two votes open at once")
    c = procedure.consultation
    procedure.record(first["id"], _counts(one["results"]))  # counts, no ballots
    c.refuse(CLOSE_VOTE, {"details": {"voteId": first["id"], "ballotsComplete": True}},
             ctx.staff, 422, "close-vote stating ballotsComplete true without ballots")
    c.act(CLOSE_VOTE, {"details": {"voteId": first["id"]}})
    _complete_as(ctx, procedure, first["id"], False, c.history[-1])
    ballot = _ballot(procedure, second)
    if ballot is None:
        raise Skipped("规范示例中没有可以投票的参与方", "the spec example has no party to vote")
    option = second["optionIds"][0]
    if second.get("method") != "secret-ballot":
        ballot.update(kind="option", optionId=option)
    # one vote counted, and its ballot: the ballots are the whole vote
    c.act("record-votes", {"details": {"voteId": second["id"], "channel": ballot["channel"],
                                       "count": 1, "options": [{"optionId": option,
                                                                "count": 1}]},
                           "items": {"ballots": [ballot]}})
    c.act(CLOSE_VOTE, {"details": {"voteId": second["id"]}})
    _complete_as(ctx, procedure, second["id"], True, c.history[-1])


def _waiting_readers(ctx: KitContext) -> list[Principal]:
    """The preset's principals of the roles that wait for vote results."""
    readers = ctx.serving(ROLE.resident, ROLE.proxy, ROLE.public, ROLE.department)
    if not readers:
        raise Skipped("预设中没有 resident、proxy、public 或 department 主体",
                      "the preset has no resident, proxy, public or department principal")
    return readers


@check("/req/consultations/results-hidden")
def test_results_hidden(ctx: KitContext) -> None:
    readers = _waiting_readers(ctx)
    tails = {p.name: tail(ctx, p) for p in readers}
    # Public results, but only from a later time: a month on; a few hours on written at
    # UTC-10:00, whose text sorts before now's in UTC or China Standard Time, so that only a
    # comparison of instants keeps them hidden; and an instant in year 10000 in UTC.
    soon = (datetime.now(UTC) + timedelta(hours=3)).astimezone(timezone(timedelta(hours=-10)))
    for visible_from in (ctx.moment(30), soon.isoformat(timespec="seconds"), AFTER_9999):
        _hidden_until(ctx, readers, tails, visible_from)
    # Public with no time set, but the vote still open: the counts recorded so far are a
    # running tally, which the vote's status alone keeps back.
    _hidden_until(ctx, readers, tails, None)


def _vote(ctx: KitContext, visible_from: str | timedelta | None, *, close: bool
          ) -> tuple[Procedure, str, str | None]:
    """A consultation's procedure run until its first vote, whose results are public from
    ``visible_from`` (a time; that long after the server's clock as the vote opens; None: no
    time set), is closed, or, unless ``close``, has all its ballots counted but is still
    open; the vote's id and its ``resultsVisibleFrom``."""
    procedure = Procedure(ctx, visibility="public")
    procedure.run(until=lambda e: e["action"] == "open-vote")
    c = procedure.consultation
    event = procedure.script.pop(0)
    vote_id = str(event["details"]["voteId"])
    procedure.stage(event)
    body = procedure.body(event)
    body["details"].update(resultsVisibility="public")
    if isinstance(visible_from, timedelta):
        due = ctx.server_now() + visible_from
        visible_from = due.astimezone(CHINA_STANDARD_TIME).isoformat(timespec="seconds")
    if visible_from is not None:
        body["details"].update(resultsVisibleFrom=visible_from)
    c.act("open-vote", body, procedure.performer(event))
    if not close:
        procedure.run(until=lambda e: e["action"] == CLOSE_VOTE
                      and e["details"]["voteId"] == vote_id)
        ctx.expect(bool(vote_id) and "results" in procedure.vote(vote_id),
                   "工作人员看不到进行中表决已登记的票数，无法检查",
                   "staff do not see the counts recorded for the open vote, so nothing can "
                   "be checked")
    else:
        closed: list[bool] = []
        procedure.run(until=lambda e: bool(closed), check=lambda e, _: closed.append(True) if (
            e["action"] == CLOSE_VOTE and e["details"]["voteId"] == vote_id) else None)
        ctx.expect(bool(vote_id) and "results" in procedure.vote(vote_id),
                   "工作人员看不到已结束表决的结果，无法检查", "staff do not see the closed vote's "
                   "results, so nothing can be checked")
    return procedure, vote_id, visible_from


_PLACES = {"read": "读取", "history": "历史", "list": "列表", "change event": "变更事件"}


def _views(ctx: KitContext, c: Tracked, who: Principal, tails: Mapping[str, str], since: str
           ) -> list[tuple[str, Any]]:
    """What ``who`` is given of consultation ``c`` by each interface: a read, its history,
    a list of what was updated ``since`` and the change events after ``tails`` (none when
    ``who`` may not see it)."""
    got = c.read(who)
    if got.status == 404:
        return []  # the reader may not see this consultation at all
    ctx.expect_status(got, 200, zh=f"{who.name} 读取协商", en=f"{who.name} reads the consultation")
    views: list[tuple[str, Any]] = [("read", got.json())]
    history = c.read_history(who)
    if history.status == 200:
        views.append(("history", {"history": (history.json() or {}).get("items")}))
    query = {"community": ctx.preset.community, "limit": "500", "updatedSince": since}
    views += [("list", item) for item in ctx.items(CONSULTATION, who, query, must_list=False)
              if item.get("id") == c.id]
    views += [("change event", e.get("data"))
              for e in events_of(ctx, who, tails[who.name], CONSULTATION, c.id)]
    return views


def _hidden_until(ctx: KitContext, readers: list[Principal], tails: Mapping[str, str],
                  visible_from: str | None) -> None:
    """A consultation's procedure whose vote's results are public from ``visible_from``
    (None: no time set, the vote left open with ballots counted): no reader gets them from
    any interface (the feed read on from ``tails``)."""
    procedure, vote_id, _ = _vote(ctx, visible_from, close=visible_from is not None)
    if visible_from is None:
        when_zh, when_en = "表决结束后", "once the vote closes"
    else:
        when_zh, when_en = f"自 {visible_from} 起", f"from {visible_from}"
    c = procedure.consultation
    whole = c.history
    since = ctx.moment(-1)
    withheld = results_rule(ctx.spec.version).event_details
    for who in readers:
        for where, doc in _views(ctx, c, who, tails, since):
            leak = _leak(doc, vote_id, withheld)
            ctx.expect(not leak,
                       f"{who.name}（{who.role}）在{_PLACES[where]}中看到了{when_zh}才公开的"
                       f"表决结果：{leak}",
                       f"{who.name} ({who.role}) sees in a {where} the result public only "
                       f"{when_en}: {leak}")
            told = _confirmable(doc, whole, vote_id)
            ctx.expect(not told,
                       f"{who.name}（{who.role}）在{_PLACES[where]}中收到的第 {plain(told, 'zh')} "
                       f"个历史事件隐去了表决结果，其摘要（withheldDigest 或下一事件的 "
                       f"previousDigest）却能由看到的成员加上猜出的结果重新算出：事件应带有"
                       f"自己的随机 salt，摘要覆盖它，隐去部分成员的事件不带它",
                       f"{who.name} ({who.role}) receives in a {where} the history events "
                       f"{plain(told)} with the vote's results withheld, yet their digests "
                       f"(withheldDigest or the next event's previousDigest) can be computed "
                       f"again from the members shown and a guess of the results: each event "
                       f"should carry a random salt of its own, covered by the digests and "
                       f"left out of an event with members withheld")


@check("/req/consultations/results-given")
def test_results_given(ctx: KitContext) -> None:
    readers = _waiting_readers(ctx)
    since = ctx.moment(-1)  # one list query for the check: a page kept by its URL is tried
    # Public as soon as the vote closes.
    began = time.monotonic()
    tails = {p.name: tail(ctx, p) for p in readers}
    procedure, vote_id, _ = _vote(ctx, None, close=True)
    _given(ctx, procedure, vote_id, readers, tails, since, "表决结束后", "once the vote closed")
    # Public a while on by the server's clock, long enough for the same requests again: each
    # reader reads it before, as a server that keeps what it served would keep it, then after.
    soon = timedelta(seconds=min(max(4.0, 1.5 * (time.monotonic() - began)), 30.0))
    tails = {p.name: tail(ctx, p) for p in readers}
    procedure, vote_id, visible_from = _vote(ctx, soon, close=True)
    due = datetime.fromisoformat(str(visible_from))
    for who in readers:
        _views(ctx, procedure.consultation, who, tails, since)
    if ctx.server_now() >= due:
        ctx.remark(f"表决结束并读取时已过 {visible_from}，没有检查到期前读过的读者在到期后"
                   f"是否得到结果",
                   f"{visible_from} had passed by the time the vote closed and was read, so "
                   f"whether readers who read it before the results were due get them after "
                   f"was not tried")
    waited = 3 * soon.total_seconds()
    deadline = time.monotonic() + waited
    while ctx.server_now() <= due and time.monotonic() < deadline:
        time.sleep(0.25)
    # The server's clock is what its Date gives, and it runs: a Date that lags so far behind
    # the kit's clock would let results that never come due pass untried.
    ctx.expect(ctx.server_now() > due,
               f"本工具的时钟又走了 {waited:.0f} 秒，服务器的时钟（Date 响应头）仍没有走到 "
               f"{visible_from} 之后：Date 应给出服务器回答时的时间，结果按它到期，到期后的结果"
               f"无从检查",
               f"the kit's clock ran {waited:.0f} seconds more, yet the server's clock (its Date "
               f"header) did not pass {visible_from}: the Date gives the server's time as it "
               f"answers, by which the results come due, so the results once due cannot be "
               f"tried")
    _given(ctx, procedure, vote_id, readers, tails, since, f"自 {visible_from} 起",
           f"from {visible_from}")


def _given(ctx: KitContext, procedure: Procedure, vote_id: str, readers: list[Principal],
           tails: Mapping[str, str], since: str, when_zh: str, when_en: str) -> None:
    """Every reader who may read the consultation gets its closed vote's public results,
    and the counts and result of its events, as staff do, from every interface."""
    c = procedure.consultation
    rule = results_rule(ctx.spec.version)
    truth = {"results": procedure.vote(vote_id).get("results"), "history": c.history}
    for who in readers:
        for where, doc in _views(ctx, c, who, tails, since):
            if where == "change event" and not _closed(doc, vote_id, rule.shown_at):
                continue  # an event from before the vote closed
            missing = _missing(doc, vote_id, truth, rule.event_details)
            ctx.expect(not missing,
                       f"{who.name}（{who.role}）在{_PLACES[where]}中得不到{when_zh}公开的表决"
                       f"结果：{missing} 缺少或与工作人员看到的不同",
                       f"{who.name} ({who.role}) does not get, in a {where}, the vote results "
                       f"due {when_en}: {missing} missing or unlike what staff see")


def _closed(doc: Any, vote_id: str, shown_at: str | None) -> bool:
    """Whether ``doc`` holds vote ``vote_id`` at the status its results are shown at."""
    votes = doc.get("votes") if isinstance(doc, dict) else None
    return any(isinstance(v, dict) and v.get("id") == vote_id
               and (shown_at is None or v.get("status") == shown_at) for v in votes or ())


def _missing(doc: Any, vote_id: str, truth: Mapping[str, Any],
             stating: Mapping[str, tuple[str, ...]]) -> str:
    """What ``doc`` (a consultation, or its history) lacks of ``vote_id``'s results and of the
    members of its events that state them (``stating``, by action), against ``truth``
    (staff's)."""
    if not isinstance(doc, dict):
        return "results"
    if "votes" in doc and not any(
            isinstance(v, dict) and v.get("id") == vote_id
            and v.get("results") == truth["results"] for v in doc.get("votes") or ()):
        return "results"
    staff = {e.get("seq"): e for e in truth["history"] if isinstance(e, dict)}
    for event in doc.get("history") or []:
        details = (event.get("details") or {}) if isinstance(event, dict) else {}
        if not isinstance(details, dict) or details.get("voteId") != vote_id:
            continue
        whole = (staff.get(event.get("seq")) or {}).get("details") or {}
        for member in stating.get(str(event.get("action")), ()):
            if member in whole and details.get(member) != whole[member]:
                return f"{event.get('action')} details.{member}"
    return ""


def _confirmable(doc: Any, whole: list[dict[str, Any]], vote_id: str) -> list[Any]:
    """The ``seq`` of each event of ``doc`` about ``vote_id`` with members withheld whose
    digests confirm a guess of them (/req/core/history-chain): it carries its salt, or a
    digest it gives is that of the whole event (``whole``, staff's) without its salt, the
    truth as a reader would guess it from a few values."""
    events = doc.get("history") if isinstance(doc, dict) else None
    if not isinstance(events, list):
        return []
    out = []
    for i, event in enumerate(events):
        if not (isinstance(event, dict) and "withheldDigest" in event
                and (event.get("details") or {}).get("voteId") == vote_id):
            continue
        truth = next((e for e in whole if isinstance(e, dict) and e.get("seq") == event.get(
            "seq")), None)
        if truth is None:
            continue
        after = events[i + 1] if i + 1 < len(events) else None
        given = {event.get("withheldDigest"),
                 after.get("previousDigest") if isinstance(after, dict) else None}
        guess = {k: v for k, v in truth.items() if k != SALT}
        if SALT in event or event_digest(guess, CONSULTATION) in given:
            out.append(event.get("seq"))
    return out


def _leak(doc: Any, vote_id: str, withheld: Mapping[str, tuple[str, ...]]) -> str:
    """What ``doc`` shows of vote ``vote_id``'s results: its results, its ballots' choices, or
    a member of its events' details that ``withheld`` (action → members, privacy.json
    ``results.eventDetails``) says waits with them; empty when nothing."""
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
        details = (event.get("details") or {}) if isinstance(event, dict) else {}
        if not isinstance(details, dict) or details.get("voteId") != vote_id:
            continue
        # every member the spec withholds, not only the per-option counts: the abstentions
        # or invalid votes recorded so far are a running tally as well
        action = str(event.get("action"))
        shown = [m for m in withheld.get(action, ()) if m in details]
        if shown:
            return f"{action} details.{', details.'.join(shown)}"
    return ""


@check("/req/consultations/withdraw-by-proposer")
def test_withdraw_by_proposer(ctx: KitContext) -> None:
    c = Tracked(ctx, proposed(ctx))
    others = [p for p in (ctx.staff, ctx.optional(ROLE.resident), ctx.optional(ROLE.proxy),
                          ctx.optional(ROLE.grid_worker)) if p is not None]
    for who in others:
        c.refuse("withdraw", {}, who, 403, f"withdraw by {who.name} ({who.role})")
    own = ctx.optional(ROLE.resident)
    if own is not None and own.resident:
        own_record(ctx, own)  # staff name only residents they read (proposers-in-reach)
        mine = Tracked(ctx, proposed(ctx, [resident_actor(own.resident, "提议人")]))
        mine.act("withdraw", {"reason": "proposer-request"}, own)
        withdrawn = transition(ctx, CONSULTATION, "withdraw")["to"]
        ctx.expect(mine.doc.get("status") == withdrawn, f"提议人撤回后状态不是 {withdrawn}",
                   f"after the proposer withdraws the status is not {withdrawn}")
    agent = ctx.optional(ROLE.proxy)
    if agent is not None and agent.resident:
        record = resident(ctx, [proxy(ctx, agent, ["participate-consultations"])])
        ctx.created(record)
        theirs = Tracked(ctx, proposed(ctx, [resident_actor(record["id"], "提议人")]))
        theirs.act("withdraw", {}, agent)
        # An entry acting for a resident stands for her: once her authorisation has ended,
        # the proxy named in it is no proposer and may not withdraw.
        lapsed = resident(ctx, [proxy(ctx, agent, ["participate-consultations"], since=-90,
                                      until=-1)])
        ctx.created(lapsed)
        entry = resident_actor(agent.resident, "代理人", ROLE.proxy,
                               onBehalfOf=resident_ref(lapsed["id"]))
        ended = Tracked(ctx, proposed(ctx, [entry]))
        ended.refuse("withdraw", {}, agent, 403,
                     "withdraw by the proxy of a proposer entry whose authorisation ended")


@check("/req/consultations/proposers-fixed")
def test_proposers_fixed(ctx: KitContext) -> None:
    own = ctx.optional(ROLE.resident)
    if own is not None and own.resident:
        # She proposes naming no proposers: the server records her, as the credential.
        doc = proposed(ctx)
        doc["origin"].pop("proposers")
        # For herself: a template's creating actor may be a grid worker acting for a resident.
        doc["history"][0]["actor"] = {"role": own.role}
        resp = ctx.create(ctx.ensure_valid(doc, "(proposed naming no proposers)"), own)
        ctx.expect_status(resp, 201, zh="居民提出议题，未列出提议人",
                          en="a resident proposes a topic naming no proposers")
        c = Tracked.existing(ctx, CONSULTATION, doc["id"])
        ctx.expect(own.resident in _residents_named(c.doc),
                   "居民提出的议题没有以她本人为提议人",
                   "the topic a resident proposed does not have her as its proposer")
        forged = proposed(ctx, [resident_actor(ctx.new_id(), "邻居")])
        forged["history"][0]["actor"] = {"role": own.role}
        what = "a topic a resident proposes naming a neighbour as its proposer"
        expect_code(ctx, ctx.expect_problem(ctx.create(forged, own), 403),
                    "http.actor-mismatch")
        ctx.expect(ctx.read(CONSULTATION, forged["id"]).status == 404,
                   f"被拒收的文档（{what}）被保存了", f"the refused document ({what}) was stored")
    else:
        c = Tracked(ctx, proposed(ctx))
    agent = ctx.optional(ROLE.proxy)
    if agent is not None and agent.resident:
        _proxy_for_others(ctx, agent)
    # Staff may update the consultation, never who proposed it (and so who may withdraw it).
    origin = dict(c.doc.get("origin") or {})
    origin["proposers"] = [resident_actor(ctx.new_id(), "另一位居民")]
    resp = c.refused(c.put(expect=None, origin=origin), 422, "PUT replacing the proposers")
    expect_code(ctx, resp.json() or {}, "consultation.proposers-fixed")


def _proxy_for_others(ctx: KitContext, agent: Principal) -> None:
    """A proxy proposes only for residents who authorised him: an entry of his own beside
    hers (which would leave him able to withdraw once she ends his authorisation), or naming
    no proposers, is refused and nothing is stored; hers alone is taken."""
    record = resident(ctx, [proxy(ctx, agent, ["participate-consultations"])])
    ctx.created(record)
    for_her = {"role": ROLE.proxy, "onBehalfOf": resident_ref(record["id"])}
    cases: dict[str, list[dict[str, Any]] | None] = {
        "an entry of his own beside hers": [for_her, {"role": ROLE.proxy}],
        "no proposers": None}
    def acting(proposers: list[dict[str, Any]] | None) -> dict[str, Any]:
        doc = proposed(ctx, [for_her])
        doc["origin"]["type"] = "joint-proposal"
        if proposers is None:
            doc["origin"].pop("proposers")
        else:
            doc["origin"]["proposers"] = proposers
        # he creates it acting for her, whatever resident the template's actor acts for
        doc["history"][0]["actor"] = dict(for_her)
        return ctx.ensure_valid(doc, "(consultation a proxy proposes)")

    for what, proposers in cases.items():
        doc = acting(proposers)
        ctx.expect_problem(ctx.create(doc, agent), 403)
        ctx.expect(ctx.read(CONSULTATION, doc["id"]).status == 404,
                   f"代理人提出的议题（{_PROXY_CASES_ZH[what]}）被拒收后仍被保存了",
                   f"the topic the proxy proposed with {what} was stored though refused")
    resp = ctx.create(acting([for_her]), agent)
    ctx.expect_status(resp, 201, zh="代理人代授权他的居民提议",
                      en="the proxy proposes for the resident who authorised him")


_PROXY_CASES_ZH = {"an entry of his own beside hers": "在她的项旁边列出他本人",
                   "no proposers": "没有列出提议人"}


@check("/req/consultations/proposers-in-reach")
def test_proposers_in_reach(ctx: KitContext) -> None:
    creators = {r for t in ctx.spec.lifecycle(CONSULTATION)["transitions"] if not t["from"]
                for r in t["roles"]}
    bound = set(ctx.spec.parameter("/req/consultations/proposers-fixed", "boundRoles"))
    namers = ctx.serving(*sorted(creators - bound))
    if not namers:
        raise Skipped("预设中没有能列出提议人的工作人员（如网格员、社区工作人员）",
                      "the preset has no staff who name proposers (such as grid workers or "
                      "community staff)")
    scoped = set(ctx.spec.privacy["recordAccess"].get("gridScopedRoles") or ())
    other = ctx.preset.other_community
    outsider = ctx.preset.by_role(ctx.staff_role, community=other) if other else None
    theirs = None
    if other and outsider is not None:
        doc = resident(ctx, community=other)
        if ctx.create(doc, outsider).status == 201:
            theirs = doc["id"]
    for who in namers:
        grids = [g for g in who.grids if g.startswith(ctx.preset.community + "-")]
        if who.role in scoped and not grids:
            continue  # a grid worker without a grid of the community reads none of its people
        inside = resident_in(ctx, grids[0] if who.role in scoped else None)
        mine = proposed(ctx, [resident_actor(inside, "提议人")])
        ctx.expect_status(ctx.create(mine, who), 201,
                          zh=f"{who.name}（{who.role}）列出其能读取的居民为提议人",
                          en=f"{who.name} ({who.role}) names a resident whose record they read "
                             f"as the proposer")
        nobody = ctx.new_id()
        alike = _out_of_reach(ctx, who, resident_actor(nobody, "提议人"), "resident", nobody,
                              "列出服务器上没有的居民为提议人",
                              "naming a resident the server does not hold as proposer")
        beyond = [(rid, f"列出{zh}为提议人", f"naming {en} as proposer")
                  for rid, zh, en in residents_beyond_reach(ctx, who, theirs, scoped)]
        for rid, zh, en in beyond:
            got = _out_of_reach(ctx, who, resident_actor(rid, "提议人"), "resident", rid, zh, en)
            ctx.expect(got == alike,
                       f"{who.name}{zh}得到的回答与列出服务器上没有的居民不同，"
                       f"从而能探知其范围以外的记录是否存在",
                       f"{who.name} gets another answer {en} than naming one the server does "
                       f"not hold, and so finds out whether a record beyond their reach exists")
        nobody = ctx.new_id()
        _out_of_reach(ctx, who, {"role": who.role, "onBehalfOf": resident_ref(nobody)},
                      "onBehalfOf", nobody, "以代服务器上没有的居民行事的项提议",
                      "with an entry acting for a resident the server does not hold")


def _out_of_reach(ctx: KitContext, who: Principal, entry: dict[str, Any], member: str,
                  rid: str, zh: str, en: str) -> tuple[Any, ...]:
    """``who`` proposes naming ``entry`` (its ``member`` naming ``rid``), beyond their reach:
    422 consultation.proposer-out-of-reach at that member, nothing stored. The answer, the
    named id taken out of it, to compare with another's."""
    doc = proposed(ctx, [entry])
    problem = ctx.expect_problem(ctx.create(doc, who), 422)
    expect_code(ctx, problem, "consultation.proposer-out-of-reach")
    expect_pointer(ctx, problem, f"/origin/proposers/0/{member}")
    ctx.expect(ctx.read(CONSULTATION, doc["id"]).status == 404,
               f"{who.name}{zh}被拒收后，协商仍被保存了",
               f"the consultation {who.name} proposed {en} was stored though refused")
    return answer_without(problem, rid)


@check("/req/privacy/own-items-self")
def test_own_proposer_entry_self(ctx: KitContext) -> None:
    readers = [p for p in (ctx.optional(ROLE.resident), ctx.optional(ROLE.proxy))
               if p is not None and p.resident]
    if not readers:
        raise Skipped("预设中没有给出居民标识（resident）的居民或代理人",
                      "the preset has no resident or proxy giving a resident id")
    scopes = (ctx.spec.privacy.get("recordAccess") or {}).get("proxyReadScopes") or ()
    # Her record, one of a resident who lets each proxy read hers, and one of a stranger's.
    records = [own_record(ctx, p) for p in readers if p.role == ROLE.resident]
    records += [ctx.created(resident(ctx, [proxy(ctx, p, list(scopes)[:1])]))
                for p in readers if p.role == ROLE.proxy and scopes]
    records.append(ctx.created(resident(ctx)))
    tails = {p.name: tail(ctx, p) for p in readers}
    petition = [resident_actor(str(r["id"]), f"联名人{i}") for i, r in enumerate(records)]
    doc = proposed(ctx, petition)
    doc["origin"]["type"] = "joint-proposal"
    c = Tracked(ctx, ctx.ensure_valid(doc, "(joint petition)"))
    whole = (c.doc.get("origin") or {}).get("proposers") or []
    for who in readers:
        got = c.read(who)
        ctx.expect_status(got, 200, zh=f"{who.name} 读取联名提议的协商",
                          en=f"{who.name} reads the jointly proposed consultation")
        redacted = (ctx.redact(c.doc, ctx.audience(who, c.doc)).get("origin") or {}).get(
            "proposers") or []
        own = [i for i, r in enumerate(records)
               if r["id"] == who.resident or ctx.proxy_for(who, r, scopes)]
        expected = [whole[i] if i in own else entry for i, entry in enumerate(redacted)]
        views = [("read", got.json())]
        views += [("change event", e.get("data"))
                  for e in events_of(ctx, who, tails[who.name], CONSULTATION, c.id)]
        for where, body in views:
            shown = ((body or {}).get("origin") or {}).get("proposers") \
                if isinstance(body, dict) else None
            wrong = [i for i, (a, b) in enumerate(zip(shown or [], expected, strict=False))
                     if a != b]
            if shown is None or len(shown) != len(expected):
                wrong = list(range(len(expected)))
            ctx.expect(not wrong,
                       f"{who.name}（{who.role}）在{_PLACES[where]}中收到的第 "
                       f"{plain([i + 1 for i in wrong], 'zh')} 个提议人项不对：属于本人（或授权其"
                       f"读取的居民）的项应完整提供，别人的项应按其受众删减",
                       f"{who.name} ({who.role}) gets proposer entries "
                       f"{plain([i + 1 for i in wrong])} wrong in a {where}: an entry of their "
                       f"own (or of a resident who lets them read) goes whole, another's is "
                       f"redacted for their audience")


def _residents_named(doc: Mapping[str, Any]) -> list[Any]:
    """The resident record ids the proposer entries of ``doc`` give as their own."""
    origin = doc.get("origin")
    entries = origin.get("proposers") if isinstance(origin, dict) else None
    return [p["resident"].get("id") for p in entries or []
            if isinstance(p, dict) and isinstance(p.get("resident"), dict)]


@check("/req/consultations/division-fixed")
def test_division_fixed(ctx: KitContext) -> None:
    other = other_community(ctx)
    if ctx.staff.serves(other):
        raise Skipped("预设的工作人员服务所有社区", "the preset's staff serve every community")
    text = json.dumps(proposed(ctx), ensure_ascii=False)
    doc = json.loads(text.replace(ctx.preset.community, other))
    doc["id"] = ctx.new_id()
    ctx.ensure_valid(doc, "(consultation of another community)")
    ctx.expect_problem(ctx.create(doc), 403)
    c = Tracked(ctx, proposed(ctx))
    body = without_meta(c.doc)
    body["divisionCode"] = other
    body.pop("gridCodes", None)
    if isinstance(body.get("convener"), dict):
        body["convener"].pop("divisionCode", None)
    ctx.ensure_valid(body, "(consultation moved to another community)")
    c.refuse_put(body, 422, "PUT changing divisionCode")


@check("/req/consultations/consultation-filters")
def test_consultation_filters(ctx: KitContext) -> None:
    codes = list(ctx.spec.codelist("consultation-content").entries)
    first, second, third = codes[0], codes[1], codes[2]
    a = proposed(ctx)
    a["categories"] = [first]
    issue = Tracked(ctx, new_issue(ctx))
    # b's second content code matches as its first does: every code counts, not the first.
    b = escalating(ctx, issue.id, categories=[second, third])
    names = {}
    for label, doc in (("a", a), ("b", b)):
        ctx.created(ctx.ensure_valid(doc, f"(consultation {label})"))
        names[doc["id"]] = label
    since = ctx.moment(-1)

    def found(**params: str) -> tuple[set[str], list[dict[str, Any]]]:
        items = list(ctx.items(CONSULTATION, None,
                               {"limit": "200", "updatedSince": since, **params}))
        return {names[i["id"]] for i in items if i.get("id") in names}, items

    seen, items = found(category=first)
    ctx.expect(seen == {"a"}, f"按 category={first} 得到测试协商 {plain(seen, 'zh')}，应为 a",
               f"category={first} gave the kit's consultations {plain(seen)}, expected a")
    ctx.expect(all(first in (i.get("categories") or []) for i in items),
               f"category={first} 返回了不含该内容的协商",
               f"category={first} returned consultations without that content")
    seen, _ = found(category=third)
    ctx.expect(seen == {"b"},
               f"按 category={third} 得到测试协商 {plain(seen, 'zh')}，应为 b（其第二个内容代码）",
               f"category={third} gave the kit's consultations {plain(seen)}, expected b (its "
               "second content code)")
    seen, items = found(issue=issue.id)
    ctx.expect(seen == {"b"} and len(items) == 1,
               f"按 issue 过滤得到 {len(items)} 条（测试协商 {plain(seen, 'zh')}），应只有 b",
               f"issue filter gave {len(items)} items (kit's {plain(seen)}), expected only b")


@check("/req/consultations/escalated-issue-exists")
def test_escalated_issue_exists(ctx: KitContext) -> None:
    doc = escalating(ctx, ctx.new_id())
    expect_pointer(ctx, ctx.expect_problem(ctx.create(doc), 422), "/origin/issues")
    other = ctx.preset.other_community
    outsider = ctx.preset.by_role(ctx.staff_role, community=other) if other else None
    if other and outsider is not None:
        theirs = new_issue(ctx)
        theirs = ctx.adapt(theirs, community=other)
        resp = ctx.create(theirs, outsider)
        if resp.status == 201:
            ctx.expect_problem(ctx.create(escalating(ctx, theirs["id"])), 422)
    mine = Tracked(ctx, new_issue(ctx))
    consultation = escalating(ctx, mine.id)
    ctx.expect_status(ctx.create(consultation), 201,
                      zh="转议本社区已有诉求的协商应被接受",
                      en="a consultation escalating an existing issue of the community is "
                         "accepted")
    # An update is held to the same rule as the create.
    c = Tracked.existing(ctx, CONSULTATION, consultation["id"])
    origin = {**c.doc["origin"], "issues": [{"resourceType": ISSUE, "id": ctx.new_id()}]}
    body = ctx.ensure_valid({**without_meta(c.doc), "origin": origin},
                            "(consultation updated to escalate a missing issue)")
    resp = c.refuse_put(body, 422, "PUT escalating an issue that does not exist")
    expect_pointer(ctx, resp.json() or {}, "/origin/issues")


def _accepted_with_warning(ctx: KitContext, doc: dict[str, Any], code: str) -> None:
    report = validate(doc)
    if not report.valid or code not in {f.code for f in report.warnings}:
        raise KitFault(f"the kit's document should be valid and draw {code}")
    ctx.expect_status(ctx.create(doc), 201, zh="只有警告的协商应被接收",
                      en="a consultation with only a warning is accepted")


def _with_sessions(ctx: KitContext) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    example = complete_consultation(ctx)
    doc = proposed(ctx)
    for member in ("form", "parties", "eligibility", "notice"):
        if member in example:
            doc[member] = copy.deepcopy(example[member])
    sessions = copy.deepcopy(example.get("sessions") or [])
    if not sessions or "notice" not in doc:
        raise Skipped("规范示例中没有会议和公告", "the spec example has no sessions and notice")
    proposed_at = (example.get("origin") or {}).get("proposedAt")
    if proposed_at:
        doc["origin"]["proposedAt"] = proposed_at
    return doc, sessions


@check("/req/consultations/notice-period")
def test_notice_period(ctx: KitContext) -> None:
    doc, sessions = _with_sessions(ctx)
    session = {k: v for k, v in sessions[0].items()
               if k not in ("end", "attendance", "minutes")}
    session["status"] = "scheduled"
    doc["sessions"] = [session]
    start = session["start"]
    short = min(2, int(ctx.spec.parameter("/req/consultations/notice-period", "minimumDays")) - 1)
    notice = dict(doc["notice"])
    notice["publishedAt"] = _shift(start, days=-short)
    notice["deadline"] = _shift(start, days=-short + 1)
    doc["notice"] = notice
    doc["origin"]["proposedAt"] = _shift(start, days=-short - 1)
    _accepted_with_warning(ctx, doc, "consultation.notice-period-short")


def _shift(stamp: str, *, days: int) -> str:
    return (datetime.fromisoformat(stamp) + timedelta(days=days)).isoformat()


@check("/req/consultations/minutes-recorded")
def test_minutes_recorded(ctx: KitContext) -> None:
    doc, sessions = _with_sessions(ctx)
    held = [s for s in sessions if s.get("status") == "held"]
    if not held:
        raise Skipped("规范示例中没有已举行的会议", "the spec example has no held session")
    session = {k: v for k, v in held[0].items() if k != "minutes"}
    doc["sessions"] = [session]
    _accepted_with_warning(ctx, doc, "consultation.minutes-missing")


@check("/req/consultations/results-published")
def test_results_published(ctx: KitContext) -> None:
    procedure = Procedure(ctx)
    procedure.script = [e for e in procedure.script  # the vote results are never published
                        if (e.get("details") or {}).get("publicationType") != "vote-result"]
    procedure.run(until=lambda e: procedure.doc.get("status") == "decision-published")
    ctx.expect(procedure.doc.get("status") == "decision-published",
               "没有公开表决结果的协商不能公开决定",
               "the decision cannot be published without vote-result publications")


# -- the record nobody can rewrite ------------------------------------------------------

@check("/req/consultations/create-proposed")
def test_create_proposed(ctx: KitContext) -> None:
    ended = complete_consultation(ctx)
    refused_on_create(ctx, ended, 422, f"{ended.get('status')} with its whole history")
    for member in ("decision", "votes"):
        if member not in ended:
            continue
        doc = proposed(ctx)
        doc[member] = copy.deepcopy(ended[member])
        refused_on_create(ctx, doc, 422, f"proposed with {member} recorded")


def _ballot(procedure: Procedure, vote: Mapping[str, Any]) -> dict[str, Any] | None:
    """A ballot an eligible party who has none in ``vote`` could cast."""
    voted = {b.get("voterPartyId") for b in vote.get("ballots") or []}
    for party in procedure.doc.get("parties") or []:
        if party.get("eligibleToVote") and party.get("id") not in voted:
            return {"voterPartyId": party["id"], "channel": vote["channels"][0]}
    return None


def _cancelled_stays(ctx: KitContext) -> None:
    """A vote cancelled by PUT is the record too: taken back to planned (and so open to
    be opened and counted) or reworded, it is refused."""
    example = next((d for _, d in ctx.spec.examples() if d.get("resourceType") == CONSULTATION
                    and any(v.get("status") == "planned" for v in d.get("votes") or ())), None)
    if example is None:
        return
    vote = next(v for v in example["votes"] if v.get("status") == "planned")
    vote = {k: v for k, v in vote.items() if k != "sessionId"}  # a session the fresh one lacks
    doc = fresh(ctx, CONSULTATION)
    doc.update(options=copy.deepcopy(example.get("options") or []), votes=[copy.deepcopy(vote)])
    fresh_one = Tracked(ctx, ctx.ensure_valid(doc, "(consultation with a planned vote)"))
    vote_id = vote["id"]

    def with_vote(**members: Any) -> dict[str, Any]:
        body: dict[str, Any] = without_meta(fresh_one.doc)
        for item in body["votes"]:
            if item["id"] == vote_id:
                item.update(members)
        return body

    fresh_one.put(with_vote(status="cancelled"))
    question = "改写的表决问题 / a reworded question"
    fresh_one.refuse_put(with_vote(status="planned"), 422, "PUT taking back a cancelled vote")
    fresh_one.refuse_put(with_vote(question=question), 422, "PUT rewording a cancelled vote")


@check("/req/consultations/lifecycle-fields-read-only")
def test_record_read_only(ctx: KitContext) -> None:
    _cancelled_stays(ctx)
    procedure = Procedure(ctx)
    procedure.run(until=lambda e: e["action"] == CLOSE_VOTE)
    c = procedure.consultation
    votes = [v for v in c.doc.get("votes") or [] if v.get("status") == "open"]
    if not votes:
        raise Skipped("程序中没有进行中的表决", "the procedure has no open vote")
    open_vote = votes[0]["id"]

    def rewritten(vote_id: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        body: dict[str, Any] = without_meta(c.doc)
        change(next(v for v in body["votes"] if v["id"] == vote_id))
        return body

    def more(vote: dict[str, Any]) -> None:
        vote["results"]["tally"]["participation"]["total"] += 1

    c.refuse_put(rewritten(open_vote, more), 422, "PUT adding to an open vote's tally")
    c.refuse_put(rewritten(open_vote, lambda v: v.update(status="closed")), 422,
                 "PUT closing a vote")
    procedure.run(until=lambda e: procedure.doc.get("status") == "feedback-published")
    closed = next((v for v in c.doc.get("votes") or [] if v.get("status") == "closed"), None)
    if closed is not None:
        flipped = "failed" if closed["results"].get("result") == "passed" else "passed"
        c.refuse_put(rewritten(closed["id"], lambda v: v["results"].update(result=flipped)),
                     422, "PUT changing a closed vote's result")
        ballot = _ballot(procedure, closed)
        if ballot is not None and closed.get("method") != "secret-ballot":
            c.refuse_put(rewritten(closed["id"],
                                   lambda v: v.setdefault("ballots", []).append(ballot)),
                         422, "PUT adding a ballot to a closed vote")
        body = without_meta(c.doc)
        body["votes"] = [v for v in body["votes"] if v["id"] != closed["id"]]
        c.refuse_put(body, 422, "PUT removing a closed vote")
    for member, change in (("decision", {"text": "另一个决定 / another decision"}),
                           ("feedback", {"text": "另一个反馈 / another feedback"})):
        if isinstance(c.doc.get(member), dict):
            body = without_meta(c.doc)
            body[member] = {**body[member], **change}
            c.refuse_put(body, 422, f"PUT rewriting {member}")
    publications = c.doc.get("publications") or []
    if publications:
        body = without_meta(c.doc)
        body["publications"] = [*publications, {**publications[-1], "title": "补登 / added"}]
        c.refuse_put(body, 422, "PUT adding a publication")


@check("/req/consultations/record-from-actions")
def test_record_from_actions(ctx: KitContext) -> None:
    procedure = Procedure(ctx)
    procedure.run(until=lambda e: e["action"] == "record-votes")
    c = procedure.consultation
    event = procedure.next_event()
    if event is None:
        raise Skipped("规范示例中没有登记票数", "the spec example records no votes")
    vote_id = str(event["details"]["voteId"])
    vote = procedure.vote(vote_id)
    options = list(vote["optionIds"])
    channel = vote["channels"][0]
    c.refuse("record-votes", {"details": {
        "voteId": vote_id, "channel": channel, "count": 3,
        "options": [{"optionId": options[0], "count": 1}]}}, ctx.staff, 422,
        "record-votes whose breakdown does not add up to count")
    # The example's counts, recorded in two batches.
    counts = _counts(next(v for v in procedure.example["votes"] if v["id"] == vote_id)["results"])
    first = {k: n // 2 for k, n in counts.items()}
    procedure.record(vote_id, first)
    procedure.record(vote_id, {k: n - first[k] for k, n in counts.items()})
    total = procedure.vote(vote_id)["results"]["tally"]["participation"]["total"]
    want = sum(counts.values())
    ctx.expect(total == want, f"分两次登记 {want} 票后参与数为 {total}",
               f"after recording {want} votes in two batches the participation is {total}")
    c.act(CLOSE_VOTE, {"details": {"voteId": vote_id}})
    closed = copy.deepcopy(procedure.vote(vote_id))
    c.refuse("record-votes", {"details": {"voteId": vote_id, "channel": channel, "count": 1,
                                          "options": [{"optionId": options[0], "count": 1}]}},
             ctx.staff, 422, "record-votes on a closed vote")
    c.refuse(CLOSE_VOTE, {"details": {"voteId": vote_id}}, ctx.staff, 422,
             "close-vote on a closed vote")
    c.refuse("open-vote", {"details": {"voteId": vote_id}}, ctx.staff, 422,
             "open-vote on a closed vote")
    ctx.expect(procedure.vote(vote_id) == closed, "已结束的表决被改变",
               "the closed vote changed")
    decide = next((e for e in procedure.example["history"] if e["action"] == "decide"), None)
    if decide is None:
        return
    procedure.script = [e for e in procedure.script  # this vote is closed already
                        if not (e["action"] in ("record-votes", CLOSE_VOTE)
                                and e["details"]["voteId"] == vote_id)]
    procedure.run(until=lambda e: procedure.doc.get("status") != "voting")
    decision = procedure.doc.get("decision") or {}
    given = decide["details"]
    ctx.expect(decision.get("type") == given["decisionType"]
               and decision.get("text") == given.get("text", decision.get("text")),
               "决定没有按 decide 的 details 写入", "the decision is not written from decide's "
               "details")


@check("/req/consultations/record-matches-history")
def test_record_matches_history(ctx: KitContext) -> None:
    procedure = Procedure(ctx)
    codes = set(ctx.spec.requirements["/req/consultations/record-matches-history"].codes)

    def agrees(event: Mapping[str, Any], _: Mapping[str, Any]) -> None:
        found = [(f.pointer, f.code) for f in validate(procedure.doc).findings
                 if f.code in codes]
        ctx.expect(not found, f"{event['action']} 之后记录与历史不符：{plain(found, 'zh')}",
                   f"after {event['action']} the record disagrees with its history: {plain(found)}")

    procedure.run(check=agrees)
