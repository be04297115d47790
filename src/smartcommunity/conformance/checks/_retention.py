"""Personal data over time (privacy class): a resident's erasure reaching the issues that name
her, and the retention periods a server declares.

A kit cannot wait years for a period to pass; what it can see is the declaration at
``GET /conformance`` (``retention``), held against the maxima the spec's parameters give.
Erasure it can carry out, then read every path that keeps a copy of the issue.
"""

from __future__ import annotations

import json
from typing import Any

from .._context import KitContext
from .._registry import check
from ._access_now import _unique, _values
from ._shared import (
    CONSULTATION,
    ISSUE,
    ROLE,
    Tracked,
    keyed_create,
    plain,
    proposed,
    resident_ref,
    submitted_by,
)
from ._watching import feed, subject, tail

RETENTION = "/req/privacy/retention"


@check("/req/privacy/erasure-reaches-records")
def test_erasure_reaches_issues(ctx: KitContext) -> None:
    readers = [ctx.staff, *(p for p in (ctx.optional(ROLE.system),) if p is not None)]
    starts = {who.name: tail(ctx, who) for who in readers}  # the feed from before the record
    record = Tracked(ctx, _unique(ctx))
    values = _values(record.doc)
    name = str(record.doc["name"])
    phone = "+86136" + str(ctx.rng.randrange(10**7, 10**8))
    values.append(phone)
    # Staff record the issue for her (/req/core/actor-is-principal), naming her twice: as
    # the reporter and in the reference's display.
    actor = {"role": ctx.staff_role, "onBehalfOf": resident_ref(record.id, name)}
    issue = Tracked(ctx, submitted_by(ctx, actor, reporterDisclosure="public",
                                      reporterContact={"name": name, "phone": phone}))
    ctx.expect(phone in json.dumps(issue.doc, ensure_ascii=False),
               "工作人员读不到刚提交的诉求人联系方式", "staff cannot read the reporter contact "
               "of the issue just submitted")
    # Where she lives, beside her record's id in a party: it identifies her as her name does.
    premises = f"{ctx.rng.randrange(10, 99)}号楼{ctx.rng.randrange(1000, 9999)}室"
    values.append(premises)
    dropped = _party_of(ctx, record.id, name, premises, drop=True)
    kept = _party_of(ctx, record.id, name, premises, drop=False)
    resp = record.post("erase", {"reason": "purpose-fulfilled"})
    ctx.expect_status(resp, 200, zh="执行删除", en="carry out the erasure")
    wanted = subject(ctx, ISSUE, issue.id)
    if dropped is not None:
        _, doc, same_key = dropped
        replay = ctx.create(doc, headers=same_key)
        leaked = [v for v in values if v in json.dumps(replay.json(), ensure_ascii=False)]
        ctx.expect(not leaked,
                   f"删除后，曾提到她、后来移出她的协商的幂等重放仍给出 {plain(leaked, 'zh')}",
                   f"after the erasure the idempotent replay of a consultation that named her "
                   f"and dropped her since still gives {plain(leaked)}")
    for who in readers:
        paths: list[tuple[str, Any]] = []
        reads = [(issue.path, issue.read(who)),
                 (f"{issue.path}/history", issue.read_history(who))]
        for party in (dropped, kept):
            if party is not None:
                reads += [(party[0].path, party[0].read(who)),
                          (f"{party[0].path}/history", party[0].read_history(who))]
        for path, got in reads:
            ctx.expect_status(got, 200, zh=f"{who.name} 读取 {path}", en=f"{who.name} reads {path}")
            paths.append((path, got.json()))
        # only what changed since the issue was stored: a few pages on any server
        since = str((issue.doc.get("meta") or {}).get("createdAt") or ctx.moment(-1))
        listed = [i for i in ctx.items(ISSUE, who, {"limit": "500", "updatedSince": since},
                                       must_list=False) if i.get("id") == issue.id]
        paths.append(("list", listed))
        events = feed(ctx, who, starts[who.name])
        paths.append(("feed", [e for e in events if e.get("subject") == wanted]))
        for party in (dropped, kept):
            if party is not None:
                # The dropped one's earlier states named her, its current one does not: they
                # are reached too.
                about = subject(ctx, CONSULTATION, party[0].id)
                paths.append((f"feed ({about})",
                               [e for e in events if e.get("subject") == about]))
        for path, body in paths:
            text = json.dumps(body, ensure_ascii=False)
            leaked = [v for v in values if v and v in text]
            ctx.expect(not leaked,
                       f"删除后 {who.name} 从 {path} 仍读到诉求人的 {plain(leaked, 'zh')}",
                       f"after the erasure {who.name} still reads the reporter's {plain(leaked)} "
                       f"from {path}")
    current = issue.refresh()
    by = current.get("submittedBy") or {}
    kept = (by.get("onBehalfOf") or {}).get("id") if isinstance(by, dict) else None
    ctx.expect(kept == record.id, "删除后诉求不再指向该居民记录（引用应保留，只留标识）",
               "after the erasure the issue no longer refers to the resident record (the "
               "reference stays, with its id only)")


def _party_of(ctx: KitContext, rid: str, name: str, premises: str, drop: bool
              ) -> tuple[Tracked, dict[str, Any], dict[str, str]] | None:
    """A consultation, created with an Idempotency-Key, naming the resident ``rid`` as a
    party (her name, a reference to her record, her premises), which staff then changed to
    drop her when ``drop``: the consultation, the document sent and the headers that replay
    its create. None on a server without consultations."""
    if CONSULTATION not in ctx.spec.resource_types:
        return None
    doc = proposed(ctx)
    party = {"id": "kit-erased-party", "stakeholderType": "resident", "roles": ["participant"],
             "person": {"name": name, "resident": resident_ref(rid, name)},
             "premises": premises}
    doc["parties"] = [*(doc.get("parties") or []), party]
    doc = ctx.ensure_valid(doc, "(consultation naming a party)")
    _, same_key = keyed_create(ctx, doc)
    consultation = Tracked.existing(ctx, CONSULTATION, str(doc["id"]))
    if drop:
        consultation.put(parties=[p for p in consultation.doc.get("parties") or []
                                  if isinstance(p, dict) and p.get("id") != party["id"]] or None)
        ctx.expect(name not in json.dumps(consultation.doc, ensure_ascii=False),
                   "移出参与方后，协商仍提到该居民", "the consultation still names the resident "
                   "after staff dropped her from its parties")
    return consultation, doc, same_key


def _periods(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [(f".{k}", v) for k, v in value.items()]
    return [("", value)]


@check(RETENTION)
def test_retention_declared(ctx: KitContext) -> None:
    resp = ctx.call("GET", ctx.path("getConformance"))
    ctx.expect_status(resp, 200, zh="读取一致性声明", en="read the conformance declaration")
    declared = (resp.json() or {}).get("retention")
    ctx.expect(isinstance(declared, dict), "一致性声明没有 retention：服务器未声明保存期限",
               "the declaration has no retention: the server states no retention periods")
    assert isinstance(declared, dict)
    maxima = ctx.spec.requirements[RETENTION].parameters
    for name, top in maxima.items():
        given = declared.get(name)
        for suffix, limit in _periods(top):
            value = given.get(suffix[1:]) if suffix and isinstance(given, dict) else (
                None if suffix else given)
            ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit
            ctx.expect(ok, f"声明的 {name}{suffix} 为 {plain(value, 'zh')}，标准上限为 {limit}",
                       f"the declared {name}{suffix} is {plain(value)}; the standard allows at "
                       f"most {limit}")

