"""Access decided now: checks that change who may see what, then read the feed and replay
idempotent creates (change-feed, core and privacy classes).

Each check changes one thing a reader's access depends on — a proxy's period, a record's
erasure, a reporter's disclosure, a consultation's visibility, who holds an Idempotency-Key —
and then reads the paths that keep copies: the change feed from before the change, and the
replay of the create.
"""

from __future__ import annotations

import json
from datetime import date
from itertools import pairwise
from typing import Any

from ...integrity import WITHHELD_TYPE
from .._context import KitContext
from .._preset import Principal
from .._registry import Skipped, check
from ._people import citizen_card, proxy, resident
from ._shared import (
    ISSUE,
    RESIDENT,
    ROLE,
    Tracked,
    audit_entries,
    consultation_seen_by,
    first_code,
    keyed_create,
    minted,
    new_issue,
    plain,
    resident_actor,
    resident_ref,
    submitted_by,
    worker_grids,
)
from ._watching import feed, subject, tail, watching, withheld_members

REGULATOR = "regulator"
CONSULTATION = "Consultation"
#: the type and the only members of an event whose resource the reader may not read now


def _about(ctx: KitContext, events: list[dict[str, Any]], rt: str, rid: str
           ) -> list[dict[str, Any]]:
    wanted = subject(ctx, rt, rid)
    return [e for e in events if e.get("subject") == wanted]


def _values(doc: Any) -> list[str]:
    """Personal values of a test resident that must not travel once access ends: her name,
    ID numbers and phones, her address and her emergency contacts' names and phones."""
    if not isinstance(doc, dict):
        return []
    found = [str(doc["name"])] if isinstance(doc.get("name"), str) else []
    for item in doc.get("identityDocuments") or ():
        if isinstance(item, dict) and isinstance(item.get("number"), str):
            found.append(item["number"])
    for point in doc.get("contactPoints") or ():
        if isinstance(point, dict) and isinstance(point.get("phone"), str):
            found.append(point["phone"])
    address = doc.get("address")
    if isinstance(address, dict) and isinstance(address.get("text"), str):
        found.append(address["text"])
    for contact in doc.get("emergencyContacts") or ():
        if isinstance(contact, dict):
            found += [str(contact[k]) for k in ("name", "phone") if isinstance(contact.get(k), str)]
    return found


def _unique(ctx: KitContext, proxies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A fresh resident whose name, citizen ID, phone, address and emergency contact occur in
    no other record, so that finding them anywhere is a leak of this one."""
    doc = resident(ctx, proxies or ())
    rng = ctx.rng

    def name() -> str:
        return "".join(rng.choice("甲乙丙丁戊己庚辛壬癸子丑寅卯") for _ in range(5))

    def phone() -> str:
        return f"+86139{rng.randint(0, 10**8 - 1):08d}"

    doc["name"] = name()
    # The template's birth date stays: its age-bound markers must keep agreeing with it.
    born = date.fromisoformat(str(doc.get("birthDate") or "1960-05-01"))
    doc["birthDate"] = born.isoformat()
    doc["identityDocuments"] = [citizen_card(ctx, born)]
    doc["contactPoints"] = [{"type": "mobile", "preferred": True, "phone": phone()}]
    room = f"{rng.randint(1000, 9999)}"
    doc["address"] = {"text": f"{name()}里{rng.randint(100, 999)}号楼{room}室",
                      "divisionCode": ctx.preset.community, "room": room}
    doc["emergencyContacts"] = [{"name": name(), "phone": phone(), "priority": 1}]
    doc.pop("formerNames", None)
    return ctx.ensure_valid(doc, "(resident with unique personal data)")


def _leaks(values: list[str], payload: Any) -> list[str]:
    text = json.dumps(payload, ensure_ascii=False)
    return [v for v in values if v and v in text]


@check("/req/change-feed/withheld")
def test_withheld_events(ctx: KitContext) -> None:
    other = ctx.preset.other_community
    outsider = ctx.preset.by_role(ctx.staff_role, community=other) if other else None
    if outsider is None or outsider.serves(ctx.preset.community):
        raise Skipped("预设没有只服务另一社区的工作人员",
                      "the preset has no staff serving only the other community")
    cursor = tail(ctx, outsider)
    doc = ctx.document(ctx.spec.resource_types[-1])
    ctx.created(doc)
    events = feed(ctx, outsider, cursor)
    sequences = [int(str(e.get("sequence", "0"))) for e in events]
    ctx.expect(bool(events), "读者完全没有收到另一社区写入的事件",
               "the reader receives nothing for another community's write")
    ctx.expect(all(b - a == 1 for a, b in pairwise(sequences)),
               f"读者看到的序号有缺失：{plain(sequences, 'zh')}",
               f"the reader sees gaps: {plain(sequences)}")
    reduced = [e for e in events if e.get("type") == WITHHELD_TYPE]
    ctx.expect(bool(reduced), "另一社区写入的事件没有以精简形式出现",
               "the other community's write does not come as a withheld event")
    allowed = withheld_members(ctx)
    for event in events:
        if event.get("type") == WITHHELD_TYPE:
            extra = sorted(set(event) - allowed)
            ctx.expect(not extra, f"精简事件带有 {plain(extra, 'zh')}",
                       f"a withheld event carries {plain(extra)}")
        ctx.expect(doc["id"] not in json.dumps(event),
                   "不能读取该资源的读者在变更中看到了它的标识",
                   "a reader who may not read the resource sees its id in the feed")


@check("/req/change-feed/access-now", needs=(ROLE.proxy,))
def test_feed_decided_now(ctx: KitContext) -> None:
    agent = ctx.principal(ROLE.proxy)
    cursor = tail(ctx, agent)
    # 1. A proxy whose period ends reads nothing more of the resident, not even from before.
    record = Tracked(ctx, _unique(ctx, [proxy(ctx, agent, ["receive-information"])]))
    values = _values(record.doc)
    seen = _about(ctx, feed(ctx, agent, cursor), RESIDENT, record.id)
    ctx.expect(bool(seen), "代理人在期限内没有在变更中看到被代理居民",
               "a proxy in force does not see the resident in the feed")
    sequences = {e.get("sequence") for e in seen}
    proxies = [dict(p) for p in record.doc.get("proxies") or ()]
    for entry in proxies:
        entry["validUntil"] = ctx.moment(-0.01)
    record.put(proxies=proxies)
    again = _about(ctx, feed(ctx, agent, cursor), RESIDENT, record.id)
    ctx.expect(not again, f"代理关系结束后，前代理人仍在变更中收到 {len(again)} 个该居民的事件",
               f"after the proxy ended, the ex-proxy still receives {len(again)} events of "
               "the resident")
    events = feed(ctx, agent, cursor)
    leaked = _leaks(values, events)
    ctx.expect(not leaked, f"前代理人在变更中读到 {plain(leaked, 'zh')}，不应得到她的任何数据",
               f"the ex-proxy reads {plain(leaked)} in the feed; he should get none of her data")
    # The events he saw stand in place withheld, carrying nothing else of hers: a value the
    # kit does not look for is no less hers.
    allowed = withheld_members(ctx)
    for event in (e for e in events if e.get("sequence") in sequences):
        extra = sorted(set(event) - allowed)
        ctx.expect(event.get("type") == WITHHELD_TYPE and not extra,
                   f"代理关系结束后，前代理人收到的事件 {event.get('sequence')} 应为只有 "
                   f"{plain(allowed, 'zh')} 的精简事件，却是 {event.get('type')} 类型，"
                   f"还带有 {plain(extra, 'zh')}",
                   f"after the proxy ended, event {event.get('sequence')} should reach the "
                   f"ex-proxy withheld, with only {plain(allowed)}; it is of type "
                   f"{event.get('type')} and carries {plain(extra)} besides")
    # 2. A reporter made confidential leaves every earlier event for readers beyond intake.
    reader = ctx.optional(REGULATOR)
    if reader is not None:
        start = tail(ctx, reader)
        issue = Tracked(ctx, new_issue(ctx, reporterDisclosure="public", reporterContact={
            "name": "邹晓阳", "phone": "+8613900001234"}))
        issue.put(reporterDisclosure="confidential")
        events = _about(ctx, feed(ctx, reader, start), ISSUE, issue.id)
        leaked = _leaks(["邹晓阳", "+8613900001234", "13900001234"], events)
        ctx.expect(not leaked,
                   f"诉求人改为保密后，{reader.name} 仍在变更中读到 {plain(leaked, 'zh')}",
                   f"after the reporter became confidential, {reader.name} still reads "
                   f"{plain(leaked)} in the feed")
    # 3. A consultation narrowed to staff leaves the public's and residents' feeds; readers
    # who keep everything get its earlier states with the visibility it has now.
    if CONSULTATION in ctx.spec.resource_types:
        watchers = [p for p in (ctx.optional(ROLE.public), ctx.optional(ROLE.resident))
                    if p is not None]
        decided = ctx.spec.privacy.get("decidedNow", {}).get(CONSULTATION) or ()
        keepers = ([ctx.staff, *(p for p in (ctx.optional(ROLE.system),) if p is not None)]
                   if "visibility" in decided else [])
        starts = {p.name: tail(ctx, p) for p in (*watchers, *keepers)}
        consultation = Tracked(ctx, consultation_seen_by(ctx, "public"))
        consultation.put(visibility="staff")
        for who in (*watchers, *keepers):
            events = _about(ctx, feed(ctx, who, starts[who.name]), CONSULTATION,
                            consultation.id)
            if who in watchers:
                ctx.expect(not events, f"协商收窄为 staff 后，{who.name} 仍在变更中收到它",
                           f"after the consultation was narrowed to staff, {who.name} still "
                           "receives it in the feed")
                continue
            stale = [e.get("sequence") for e in events if isinstance(e.get("data"), dict)
                     and e["data"].get("visibility") != "staff"]
            ctx.expect(len(events) >= 2 and not stale,
                       f"协商改为 staff 后，{who.name} 在变更中收到的早先状态 {plain(stale, 'zh')} "
                       "仍带着原来的 visibility",
                       f"after the consultation became staff, the earlier states "
                       f"{plain(stale)} {who.name} receives in the feed still carry the old "
                       "visibility")


@check("/req/change-feed/erased-history", needs=(ROLE.system,))
def test_erased_history(ctx: KitContext) -> None:
    who, cursor = watching(ctx)
    record = Tracked(ctx, _unique(ctx))
    values = _values(record.doc)
    record.put(preferredChannels=["phone-call"])
    resp = record.post("erase", {"reason": "purpose-fulfilled"})
    ctx.expect_status(resp, 200, zh="执行删除", en="carry out the erasure")
    events = _about(ctx, feed(ctx, who, cursor), RESIDENT, record.id)
    ctx.expect(len(events) >= 3, f"镜像只收到 {len(events)} 个该记录的事件",
               f"the mirror receives only {len(events)} events of the record")
    for event in events:
        data = event.get("data")
        state = ((data or {}).get("restriction") or {}).get("state") if isinstance(
            data, dict) else None
        ctx.expect(state == "erased", f"删除前的事件 {event.get('sequence')} 不是删除后的形式",
                   f"the earlier event {event.get('sequence')} is not in the erased form")
    leaked = _leaks(values, events)
    ctx.expect(not leaked, f"删除后变更订阅仍给出 {plain(leaked, 'zh')}",
               f"after erasure the feed still gives {plain(leaked)}")


def _listed(ctx: KitContext, who: Principal, since: str) -> list[dict[str, Any]]:
    """Every item of the resident list of the community updated ``since``, as ``who`` is
    shown it, every page."""
    query = {"community": ctx.preset.community, "limit": "500", "updatedSince": since}
    return list(ctx.items(RESIDENT, who, query))


@check("/req/privacy/erasure-every-copy")
def test_erasure_every_copy(ctx: KitContext) -> None:
    readers = [ctx.staff, *(p for p in (ctx.optional(ROLE.system),) if p is not None)]
    starts = {who.name: tail(ctx, who) for who in readers}  # the feed from before the record
    doc = _unique(ctx)
    values = _values(doc)
    created, same_key = keyed_create(ctx, doc)
    record = Tracked.existing(ctx, RESIDENT, doc["id"])
    # From her creation on, by the server's clock: the list holds the check's own records.
    since = str(((created.json() or {}).get("meta") or {}).get("lastUpdated") or ctx.since)
    for who in readers:
        # Each reader is served her whole record first, where a cache or index may keep it.
        ctx.expect_status(record.read(who), 200, zh=f"删除前 {who.name} 读取居民",
                          en=f"{who.name} reads the resident before the erasure")
        listed = [i for i in _listed(ctx, who, since) if i.get("id") == record.id]
        ctx.expect(bool(listed), f"删除前 {who.name} 的居民列表中没有该居民",
                   f"before the erasure {who.name}'s resident list does not show her")
    resp = record.post("erase", {"reason": "purpose-fulfilled"})
    ctx.expect_status(resp, 200, zh="执行删除", en="carry out the erasure")
    replay = ctx.create(doc, headers=same_key)
    leaked = _leaks(values, replay.json())
    ctx.expect(not leaked, f"删除后幂等重放仍给出 {plain(leaked, 'zh')}",
               f"after erasure the idempotent replay still gives {plain(leaked)}")
    ctx.expect(replay.status != 201, "删除后的重放又创建了记录",
               "the replay after erasure created the record again")
    for who in readers:
        leaked = _leaks(values, feed(ctx, who, starts[who.name]))
        ctx.expect(not leaked, f"删除后 {who.name} 在变更中读到 {plain(leaked, 'zh')}",
                   f"after erasure {who.name} reads {plain(leaked)} in the feed")
        leaked = _leaks(values, ctx.read(RESIDENT, doc["id"], who).json())
        ctx.expect(not leaked, f"删除后 {who.name} 读取到 {plain(leaked, 'zh')}",
                   f"after erasure {who.name} reads {plain(leaked)}")
        leaked = _leaks(values, _listed(ctx, who, since))
        ctx.expect(not leaked, f"删除后 {who.name} 在居民列表中读到 {plain(leaked, 'zh')}",
                   f"after erasure {who.name} reads {plain(leaked)} in the resident list")
    regulator = ctx.optional(REGULATOR)
    if regulator is not None:
        leaked = _leaks(values, audit_entries(ctx, regulator, record.id))
        ctx.expect(not leaked, f"删除后 {regulator.name} 在审计日志中读到 {plain(leaked, 'zh')}",
                   f"after erasure {regulator.name} reads {plain(leaked)} in the audit log")


def _end_proxies(record: Tracked) -> None:
    """Staff end every proxy of ``record``, a moment ago."""
    proxies = [dict(p) for p in record.doc.get("proxies") or ()]
    for entry in proxies:
        entry["validUntil"] = record.ctx.moment(-0.01)
    record.put(proxies=proxies)


@check("/req/privacy/own-issues-self", needs=(ROLE.proxy,))
def test_own_issue_ends_with_the_proxy(ctx: KitContext) -> None:
    """An issue a proxy submitted for her is his own (audience self) while the proxy holds;
    once staff end it, it is his no more: no read, and no event of the feed, earlier or
    later, gives him her confidential contact."""
    agent = ctx.principal(ROLE.proxy)
    if not agent.resident or not agent.serves(ctx.preset.community):
        raise Skipped(f"预设中的代理人 {agent.name} 没有居民标识或不服务本社区",
                      f"the preset's proxy {agent.name} gives no resident id or does not serve "
                      "the community")
    cursor = tail(ctx, agent)
    record = Tracked(ctx, resident(ctx, [proxy(ctx, agent, ["submit-issues",
                                                            "follow-up-issues"])]))
    contact = {"name": "".join(ctx.rng.choice("甲乙丙丁戊己庚辛壬癸") for _ in range(4)),
               "phone": f"+86139{ctx.rng.randint(0, 10**8 - 1):08d}"}
    acting = resident_actor(str(agent.resident), "代理人", ROLE.proxy,
                            onBehalfOf=resident_ref(record.id))
    doc = submitted_by(ctx, acting, reporterDisclosure="confidential", reporterContact=contact)
    ctx.expect_status(ctx.create(doc, agent), 201, zh="代理人代居民提交保密诉求",
                      en="the proxy submits a confidential issue for the resident")
    mine = ctx.read(ISSUE, doc["id"], agent)
    ctx.expect_status(mine, 200, zh="代理人读取其代为提交的诉求",
                      en="the proxy reads the issue he submitted for her")
    ctx.expect((mine.json() or {}).get("reporterContact") == contact,
               "代理关系有效时，代理人读取其代为提交的诉求没有得到诉求人联系方式",
               "while the proxy holds, reading the issue he submitted for her he does not get "
               "the reporter's contact")
    _end_proxies(record)
    issue = Tracked.existing(ctx, ISSUE, doc["id"])
    issue.act("accept")  # a later state, which he may not have either
    values = [contact["name"], contact["phone"]]
    resp = issue.read(agent)
    if resp.status != 404:
        ctx.expect_status(resp, 200, zh="代理关系结束后代理人读取诉求",
                          en="the ex-proxy reads the issue")
        leaked = _leaks(values, resp.json())
        ctx.expect(not leaked, f"代理关系结束后，前代理人读取诉求得到 {plain(leaked, 'zh')}",
                   f"after the proxy ended, the ex-proxy reading the issue gets {plain(leaked)}")
    events = _about(ctx, feed(ctx, agent, cursor), ISSUE, doc["id"])
    leaked = _leaks(values, events)
    ctx.expect(not leaked, f"代理关系结束后，前代理人在变更中读到 {plain(leaked, 'zh')}",
               f"after the proxy ended, the ex-proxy reads {plain(leaked)} in the feed")
    later = [e.get("sequence") for e in events if "data" in e
             and (e.get("data") or {}).get("status") == issue.doc.get("status")]
    ctx.expect(resp.status != 404 or not later,
               f"代理关系结束后，前代理人在变更中收到该诉求此后的状态（{plain(later, 'zh')}）",
               f"after the proxy ended, the ex-proxy receives the issue's later state in the "
               f"feed ({plain(later)})")


@check("/req/core/idempotency-scope")
def test_idempotency_scope(ctx: KitContext) -> None:
    owner = ctx.staff
    others = [p for p in ctx.preset.principals.values()
              if p.role == owner.role and p.token != owner.token]
    if not others:
        raise Skipped(f"预设中只有一个 {owner.role} 主体",
                      f"the preset has only one {owner.role} principal")
    doc = new_issue(ctx)
    _, same_key = keyed_create(ctx, doc, owner)
    for other in others:
        resp = ctx.create(doc, other, headers=same_key)
        replayed = (resp.headers.get("idempotent-replayed") == "true"
                    or resp.status in (200, 201))
        ctx.expect(not replayed, f"{other.name} 用 {owner.name} 的幂等键得到了第一次的结果"
                   f"（{resp.status}）", f"{other.name} gets the first result of "
                   f"{owner.name}'s Idempotency-Key ({resp.status})")
        # Its own new document under the same key is its own first request.
        home = next(iter(c for c in other.communities if c != "*"), ctx.preset.community)
        own = ctx.adapt(new_issue(ctx), community=home)
        resp = ctx.create(own, other, headers=same_key)
        ctx.expect(resp.status == 201, f"{other.name} 用同一个键提交自己的新诉求得到 "
                   f"{resp.status}：它与 {owner.name} 共用了键空间",
                   f"{other.name} creating its own new issue with the same key gets "
                   f"{resp.status}: it shares {owner.name}'s key space")


@check("/req/core/idempotency-scope")
def test_idempotency_scope_organisation(ctx: KitContext) -> None:
    """A user id is unique only within its organisation: staff of another organisation with
    the same user id hold keys of their own. Needs the preset's test issuer."""
    user = "kit-" + ctx.new_id()[:12]
    kind = first_code(ctx, "organisation-type")
    first, second = (minted(ctx, f"user {user} of organisation {n}", sub=user, userId=None,
                            organisation={"id": f"kit-org-{ctx.new_id()[:8]}",
                                          "name": f"测试组织{n}", "type": kind})
                     for n in (1, 2))
    doc = new_issue(ctx)
    _, same_key = keyed_create(ctx, doc, first)
    resp = ctx.create(doc, second, headers=same_key)
    replayed = resp.headers.get("idempotent-replayed") == "true" or resp.status in (200, 201)
    ctx.expect(not replayed,
               f"另一组织中用户标识同为 {user} 的人员得到了第一次的结果（{resp.status}）",
               f"staff of another organisation with the same user id {user} get the first "
               f"result ({resp.status})")
    resp = ctx.create(new_issue(ctx), second, headers=same_key)
    ctx.expect(resp.status == 201, f"另一组织中用户标识同为 {user} 的人员用同一个键提交自己的新诉求"
               f"得到 {resp.status}：两个组织共用了键空间",
               f"staff of another organisation with the same user id {user} creating their own "
               f"issue with the same key get {resp.status}: the organisations share a key space")


@check("/req/core/idempotency-replay-access", needs=(REGULATOR,))
def test_replay_is_a_read(ctx: KitContext) -> None:
    regulator = ctx.principal(REGULATOR)
    doc = resident(ctx)
    _, same_key = keyed_create(ctx, doc)

    def operations() -> list[Any]:
        return [i.get("operation") for i in audit_entries(ctx, regulator, doc["id"])]

    before = operations()
    replay = ctx.create(doc, headers=same_key)
    ctx.expect_status(replay, 200, zh="重放", en="the replay")
    ctx.expect(len(operations()) > len(before), "重放披露了敏感信息却没有写入审计记录",
               "the replay disclosed sensitive information without an audit entry")


@check("/req/core/idempotency-replay-access", needs=(ROLE.grid_worker,))
def test_replay_only_while_readable(ctx: KitContext) -> None:
    """A grid worker creates a resident of their grid with a key, staff then move her to
    another grid: the worker may no longer read her, so the replay is a 404."""
    who, mine, other = worker_grids(ctx)
    community = ctx.preset.community
    doc = resident(ctx)
    if not doc.get("memberships"):
        raise Skipped("规范中的居民模板没有网格成员关系",
                      "the spec's resident template has no grid membership")
    for membership in doc["memberships"]:
        membership.update(community=community, grid=mine)
    _, same_key = keyed_create(ctx, doc, who)
    record = Tracked.existing(ctx, RESIDENT, doc["id"])
    record.put(memberships=[{**m, "grid": other} for m in record.doc["memberships"]])
    # Still read after the move is itself a leak (/req/privacy/grid-scope): the replay must
    # be a 404 either way, so the check goes on rather than stop there.
    ctx.expect(record.read(who).status == 404,
               f"居民迁出网格后网格员 {who.name} 仍读得到她",
               f"grid worker {who.name} still reads the resident after she moved out of their "
               "grid")
    replay = ctx.create(doc, who, headers=same_key)
    ctx.expect(replay.status == 404,
               f"网格员已不能读取该居民，重放其创建却得到 {replay.status}，应为 404",
               f"the grid worker may no longer read the resident, yet the replay of the "
               f"create got {replay.status}, not 404")
