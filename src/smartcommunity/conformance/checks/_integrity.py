"""Tamper evidence: the hash chain of each history and the running digest of the feed."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from ...integrity import (
    SALT,
    WITHHELD_TYPE,
    Break,
    content_digest,
    feed_event_digest,
    verify_feed,
    verify_history,
)
from .._context import KitContext
from .._registry import Skipped, check
from ._shared import (
    ROLE,
    Tracked,
    fresh,
    plain,
)
from ._watching import feed, mirror, subject, tail, watching, withheld_members

#: a digest no content has: what the kit sends where none may be
_NO_DIGEST = "sha256:" + "0" * 64
#: a history event's salt as history-event.json writes it: 128 bits, lowercase hex
_SALT_FORM = re.compile(r"[0-9a-f]{32}")
#: a digest member a written document's first event may not carry, and the code refusing it
_WRITTEN_DIGESTS = (("previousDigest", "integrity.history-digest-first"),
                    ("withheldDigest", "integrity.withheld-digest"))


def _first_break(ctx: KitContext, breaks: list[Break], what_zh: str, what_en: str) -> None:
    if breaks:
        first = breaks[0]
        where = first.pointer if first.index is None else f"#{first.index + 1}{first.pointer}"
        ctx.expect(False, f"{what_zh}：{where}：{first.message['zh-Hans']}",
                   f"{what_en}: {where}: {first.message['en']}")


def _acted(ctx: KitContext, resource_type: str) -> Tracked:
    """A fresh resource of ``resource_type`` with one action by staff on it, when staff has
    one that needs no details."""
    item = Tracked(ctx, fresh(ctx, resource_type))
    status = item.doc.get("status")
    for row in ctx.spec.lifecycle(resource_type)["transitions"]:
        possible = (row["from"] and status in row["from"] and ctx.staff_role in row["roles"]
                    and not (row.get("details") or {}).get("required"))
        body = {"note": "一致性测试 conformance kit"}
        if possible and item.post(f"actions/{row['action']}", body).status == 200:
            item.refresh()
            break
    return item


@check("/req/core/history-chain")
def test_history_chain(ctx: KitContext) -> None:
    chained = 0
    salts: list[tuple[str, Any]] = []  # (where, salt) of every event staff read whole
    for rt in ctx.spec.lifecycles:
        item = _acted(ctx, rt)
        salts += [(f"{item.path}#{e.get('seq')}", e.get(SALT)) for e in item.history
                  if isinstance(e, dict)]
        resp = item.read_history()
        ctx.expect_status(resp, 200, zh=f"读取 {item.path} 的历史",
                          en=f"read {item.path}'s history")
        events = (resp.json() or {}).get("items") or []
        for history, zh, en in ((item.history, "文档", "the document"),
                                (events, "历史接口", "the history endpoint")):
            chain = {"resourceType": rt, "specVersion": item.doc.get("specVersion"),
                     "history": history}
            _first_break(ctx, verify_history(chain), f"{item.path} 的历史链断了（{zh}）",
                         f"the history chain of {item.path} is broken ({en})")
        chained += len(events) > 1
        # A previousDigest on the first event, and a withheldDigest on a written (so whole)
        # event: either would let the chain rest on a digest the writer chose.
        for member, code in _WRITTEN_DIGESTS:
            doc = fresh(ctx, rt)
            history = doc.get("history")
            if not (isinstance(history, list) and history and isinstance(history[0], dict)):
                continue
            history[0][member] = _NO_DIGEST
            problem = ctx.expect_problem(ctx.create(doc), 422)
            codes = [e.get("code") for e in problem.get("errors") or [] if isinstance(e, dict)]
            ctx.expect(code in codes,
                       f"创建时第一个历史事件带有 {member}，没有以 {code} 拒收："
                       f"{plain(codes, 'zh')}",
                       f"a create whose first history event carries {member} is not refused "
                       f"with {code}: {plain(codes)}")
    _salted_apart(ctx, salts)
    if not chained:
        raise Skipped("工作人员无法执行任何动作，历史只有一个事件",
                      "the kit's staff could perform no action: no history has two events")


def _salted_apart(ctx: KitContext, salts: list[tuple[str, Any]]) -> None:
    """Every whole event carries a salt of the standard's form, and no two the same: a salt
    shared by events (a constant, a repeated counter) is known to whoever reads one of them
    whole, and a withheld event's digests then confirm guesses of what is withheld."""
    bad = [where for where, s in salts if not (isinstance(s, str) and _SALT_FORM.fullmatch(s))]
    ctx.expect(not bad, f"历史事件没有 32 位小写十六进制的 salt：{plain(bad[:5], 'zh')}",
               f"history events without a salt of 32 lowercase hex digits: {plain(bad[:5])}")
    counted = Counter(s for _, s in salts if isinstance(s, str) and s)
    repeated = sorted(s for s, n in counted.items() if n > 1)
    ctx.expect(not repeated,
               f"{len(repeated)} 个 salt 被多个历史事件共用：{plain(repeated[:3], 'zh')}",
               f"{len(repeated)} salt values are shared by several history events: "
               f"{plain(repeated[:3])}")


def _before(events: list[dict[str, Any]]) -> int | None:
    """The sequence just before a window of the feed: its first link is taken on trust."""
    first = events[0].get("sequence") if events else None
    return int(first) - 1 if isinstance(first, str) and first.isdecimal() else None


@check("/req/change-feed/chain-digest", needs=(ROLE.system,))
def test_chain_digest(ctx: KitContext) -> None:
    # The events of the kit's own writes: a window of the chain, its first link taken on
    # trust, so the check costs the same on an empty server and on a city's.
    who, start = watching(ctx)
    for rt in ctx.spec.lifecycles:
        _acted(ctx, rt)
    events = feed(ctx, who, start)
    ctx.expect(bool(events), "变更订阅是空的", "the feed is empty")
    _first_break(ctx, verify_feed(events, after=_before(events)), "变更订阅的摘要链断了",
                 "the feed's digest chain is broken")
    # Each event's salt is its own: one shared by two events (a constant, a counter's
    # repeat) is known to whoever reads either, and a withheld event's digest then confirms
    # guesses again (/req/change-feed/withheld).
    whole = [e for e in events if e.get("type") != WITHHELD_TYPE]
    salts = [e.get("eventsalt") for e in whole]
    unsalted = [str(e.get("sequence")) for e, s in zip(whole, salts, strict=True)
                if not isinstance(s, str) or not s]
    ctx.expect(not unsalted, f"序号 {plain(unsalted[:5], 'zh')} 的事件没有 eventsalt",
               f"the events with sequence {plain(unsalted[:5])} carry no eventsalt")
    counted = Counter(s for s in salts if isinstance(s, str) and s)
    repeated = sorted(s for s, n in counted.items() if n > 1)
    ctx.expect(not repeated,
               f"{len(repeated)} 个 eventsalt 被多个事件共用：{plain(repeated[:3], 'zh')}",
               f"{len(repeated)} eventsalt values are shared by several events: "
               f"{plain(repeated[:3])}")


@check("/req/change-feed/withheld", needs=(ROLE.system,))
def test_withheld(ctx: KitContext) -> None:
    whole = mirror(ctx)
    readers = [p for p in ctx.serving() if p.role != ROLE.system] + [
        p for p in ctx.preset.principals.values() if p.role == ROLE.public]
    starts = {p.name: tail(ctx, p) for p in [whole, *readers]}  # before the new resource
    rt = next(iter(ctx.spec.lifecycles), ctx.spec.resource_types[0])
    doc = fresh(ctx, rt)
    ctx.created(doc)
    reader = next((p for p in readers if ctx.read(rt, doc["id"], p).status == 404), None)
    if reader is None:
        raise Skipped("预设中没有读不到新资源的主体", "no principal of the preset is kept from "
                      "reading the new resource")
    full = {e.get("id"): e for e in feed(ctx, whole, starts[whole.name])}
    mine = feed(ctx, reader, starts[reader.name])
    wanted = subject(ctx, rt, doc["id"])
    source = next((e for e in full.values() if e.get("subject") == wanted), None)
    ctx.expect(source is not None, "镜像读者没有看到新资源的事件",
               "the mirror does not see the new resource's event")
    assert source is not None
    stand_in = next((e for e in mine if e.get("id") == source.get("id")), None)
    ctx.expect(stand_in is not None,
               f"{reader.name} 看不到的事件没有精简事件代替",
               f"{reader.name} gets no withheld event in place of an event it may not see")
    assert stand_in is not None
    ctx.expect(stand_in.get("type") == WITHHELD_TYPE and set(stand_in) <= withheld_members(ctx),
               f"代替事件的类型或成员不对：{plain(sorted(stand_in), 'zh')}",
               f"the stand-in has the wrong type or members: {plain(sorted(stand_in))}")
    ctx.expect(stand_in.get("eventdigest") == content_digest(source)
               and stand_in.get("chaindigest") == source.get("chaindigest"),
               "代替事件的摘要与原事件不符", "the stand-in's digests differ from the event's")
    ctx.expect(feed_event_digest(stand_in) == feed_event_digest(source),
               "代替事件与原事件的事件摘要不同", "the stand-in's event digest differs")
    # What a reader who knows the resource's id can guess: every attribute the digest covers
    # but the salt, which the stand-in leaves out. The digest must not confirm the guess.
    guessed = {k: v for k, v in source.items() if k != "eventsalt"}
    confirms = "eventsalt" in stand_in or stand_in.get("eventdigest") == content_digest(guessed)
    ctx.expect(not confirms,
               "代替事件的 eventdigest 可由能猜到的属性（类型、主题、动作、版本）重新算出，"
               "读者借此就能核实它关于谁、发生了什么：原事件应带有自己的 eventsalt，"
               "摘要覆盖它，代替事件不带它",
               "the stand-in's eventdigest can be computed again from attributes one can guess "
               "(type, subject, action, version), so a reader confirms whom it concerns and "
               "what happened: the event should carry an eventsalt of its own, covered by the "
               "digest and left out of the stand-in")
    _first_break(ctx, verify_feed(mine, after=_before(mine), histories=False),
                 f"{reader.name} 核对摘要链失败", f"{reader.name} cannot check the digest chain")
