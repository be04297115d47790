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
    ISSUE,
    ROLE,
    Tracked,
    plain,
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
    resp = record.post("erase", {"reason": "purpose-fulfilled"})
    ctx.expect_status(resp, 200, zh="执行删除", en="carry out the erasure")
    wanted = subject(ctx, ISSUE, issue.id)
    for who in readers:
        paths: list[tuple[str, Any]] = []
        for path, got in ((issue.path, issue.read(who)),
                          (f"{issue.path}/history", issue.read_history(who))):
            ctx.expect_status(got, 200, zh=f"{who.name} 读取 {path}", en=f"{who.name} reads {path}")
            paths.append((path, got.json()))
        # only what changed since the issue was stored: a few pages on any server
        since = str((issue.doc.get("meta") or {}).get("createdAt") or ctx.moment(-1))
        listed = [i for i in ctx.items(ISSUE, who, {"limit": "500", "updatedSince": since},
                                       must_list=False) if i.get("id") == issue.id]
        paths.append(("list", listed))
        paths.append(("feed", [e for e in feed(ctx, who, starts[who.name])
                               if e.get("subject") == wanted]))
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

