"""Change-feed class: one CloudEvents event per write, in order, resumable, redacted."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from jsonschema import Draft202012Validator

from .._context import KitContext
from .._preset import Principal
from .._registry import check

MAX_PAGES = 2000


def _mirror(ctx: KitContext) -> Principal:
    """A principal that sees everything: the feed's no-gap promise is made to it."""
    for p in ctx.preset.principals.values():
        if p.role == "system" and "*" in p.communities:
            return p
    return ctx.principal("system")


def _tail(ctx: KitContext, who: Principal) -> str:
    """The cursor after the last event the reader can see now.

    The feed offers no way to start at its end (a spec gap), so the first call for a reader
    reads the whole feed; later calls go on from the cursor it reached.
    """
    cursor: str | None = ctx.feed_cursors.get(who.name)
    for _ in range(MAX_PAGES):
        params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
        resp = ctx.call("GET", "/changes", who, params=params)
        ctx.expect_status(resp, 200, zh="读取变更", en="read the feed")
        body = resp.json() or {}
        nxt = body.get("next")
        ctx.expect(
            isinstance(nxt, str) and nxt != "",
            "变更页没有给出 next 游标",
            "a feed page gives no next cursor",
        )
        cursor = str(nxt)
        if not body.get("items"):
            break
    ctx.feed_cursors[who.name] = str(cursor)
    return str(cursor)


def _after(ctx: KitContext, who: Principal, cursor: str, limit: int = 500) -> tuple[list[Any], str]:
    resp = ctx.call("GET", "/changes", who, params={"cursor": cursor, "limit": str(limit)})
    ctx.expect_status(resp, 200, zh="从游标读取变更", en="read the feed from a cursor")
    body = resp.json() or {}
    return list(body.get("items") or []), str(body.get("next"))


@check(
    "/req/change-feed/event-per-write",
    "每次写入恰好一个事件，失败的请求没有事件",
    "each write makes exactly one event; a failed request none",
)
def test_one_event_per_write(ctx: KitContext) -> None:
    who = _mirror(ctx)
    cursor = _tail(ctx, who)
    doc = ctx.document("Issue")
    ctx.created(doc)
    bad = ctx.document("Issue")
    bad["vendorField"] = 1
    ctx.create(bad)
    events, _ = _after(ctx, who, cursor)
    mine = [e for e in events if e.get("subject") == f"issues/{doc['id']}"]
    ctx.expect(
        len(mine) == 1, f"创建产生了 {len(mine)} 个事件", f"the create made {len(mine)} events"
    )
    ctx.expect(
        not any(e.get("subject") == f"issues/{bad['id']}" for e in events),
        "被拒收的请求产生了事件",
        "a refused request made an event",
    )


@check(
    "/req/change-feed/cloudevents",
    "事件是符合 event.json 的 CloudEvents 1.0",
    "events are CloudEvents 1.0 valid against event.json",
)
def test_events_are_cloudevents(ctx: KitContext) -> None:
    who = _mirror(ctx)
    cursor = _tail(ctx, who)
    for rt in ("Resident", "Issue", "Consultation"):
        ctx.created(ctx.document(rt))
    events, _ = _after(ctx, who, cursor)
    ctx.expect(len(events) >= 3, "没有读到新写入的事件", "the new writes' events are missing")
    validator = Draft202012Validator(
        ctx.spec.schema("event.json"),
        registry=ctx.spec.registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    for event in events:
        errors = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(event)
        ][:3]
        ctx.expect(
            not errors, f"事件不符合 event.json：{errors}", f"an event breaks event.json: {errors}"
        )


@check(
    "/req/change-feed/order",
    "事件按提交顺序，序号递增无重复；镜像读者看到的序号无缺失",
    "events in commit order, increasing without duplicates; no gaps for a mirror",
)
def test_order(ctx: KitContext) -> None:
    who = _mirror(ctx)
    cursor = _tail(ctx, who)
    created = []
    for _ in range(5):
        doc = ctx.document("Issue")
        ctx.created(doc)
        created.append(f"issues/{doc['id']}")
    events, _ = _after(ctx, who, cursor)
    sequences = [int(e["sequence"]) for e in events]
    ctx.expect(
        sequences == sorted(set(sequences)),
        f"序号不是严格递增：{sequences}",
        f"sequence numbers are not strictly increasing: {sequences}",
    )
    ctx.expect(
        all(b - a == 1 for a, b in pairwise(sequences)),
        f"镜像读者看到的序号有缺失：{sequences}",
        f"the mirror sees gaps in the sequence: {sequences}",
    )
    subjects = [e.get("subject") for e in events if e.get("subject") in created]
    ctx.expect(subjects == created, "事件顺序与提交顺序不同", "events are not in commit order")


@check(
    "/req/change-feed/resume",
    "从任一游标读取恰好返回其后的事件",
    "reading from any cursor returns exactly the events after it",
)
def test_resume(ctx: KitContext) -> None:
    who = _mirror(ctx)
    start = _tail(ctx, who)
    for _ in range(6):
        ctx.created(ctx.document("Issue"))
    whole, _ = _after(ctx, who, start)
    first, middle = _after(ctx, who, start, limit=2)
    rest, end = _after(ctx, who, middle)
    ids = [e.get("id") for e in whole]
    ctx.expect(
        [e.get("id") for e in first + rest] == ids,
        "分段读取与一次读取的事件不同",
        "reading in parts differs from reading at once",
    )
    again, _ = _after(ctx, who, end)
    ctx.expect(again == [], "读到末尾后再读仍有旧事件", "reading past the end returned old events")


@check(
    "/req/change-feed/full-state",
    "事件数据是写入后资源的完整状态",
    "event data is the resource's full state after the write",
)
def test_full_state(ctx: KitContext) -> None:
    who = _mirror(ctx)
    cursor = _tail(ctx, who)
    doc = ctx.document("Resident")
    ctx.created(doc)
    events, _ = _after(ctx, who, cursor)
    event = next((e for e in events if e.get("subject") == f"residents/{doc['id']}"), None)
    ctx.expect(event is not None, "没有读到创建事件", "the create event is missing")
    assert event is not None
    current = ctx.read("Resident", doc["id"], who).json()
    ctx.expect(
        event.get("data") == current,
        "事件数据与读取的资源不同",
        "the event's data differs from the resource as read",
    )
    ctx.expect(
        event.get("resourceversion") == (current or {}).get("meta", {}).get("versionId"),
        "resourceversion 与 meta.versionId 不同",
        "resourceversion differs from meta.versionId",
    )


@check(
    "/req/change-feed/redacted",
    "事件与读取一样按读者脱敏和限定范围",
    "events are redacted and scoped for the reader like reads",
)
def test_feed_redacted(ctx: KitContext) -> None:
    mirror = _mirror(ctx)
    readers = [
        p
        for p in ctx.preset.principals.values()
        if p.role not in ("system", "public") and p.serves(ctx.preset.community)
    ]
    tails = {p.name: _tail(ctx, p) for p in readers}
    doc = ctx.document("Resident")
    ctx.created(doc)
    full = ctx.read("Resident", doc["id"], mirror).json() or {}
    for p in readers:
        events, _ = _after(ctx, p, tails[p.name])
        mine = [e for e in events if e.get("subject") == f"residents/{doc['id']}"]
        read = ctx.read("Resident", doc["id"], p)
        if read.status == 404:
            ctx.expect(
                not mine,
                f"{p.name} 读不到该居民却在变更中看到了它",
                f"{p.name} cannot read the resident but sees it in the feed",
            )
            continue
        ctx.expect(
            len(mine) == 1,
            f"{p.name} 没有在变更中看到可读的居民",
            f"{p.name} does not see a resident it can read in the feed",
        )
        expected = ctx.redact(full, ctx.audience(p, full))
        data = {k: v for k, v in (mine[0].get("data") or {}).items() if k != "meta"}
        ctx.expect(
            data == {k: v for k, v in expected.items() if k != "meta"},
            f"{p.name}（{p.role}）在变更中收到的数据与其受众的脱敏结果不同",
            f"{p.name} ({p.role}) gets feed data that differs from its audience's redaction",
        )
    other = ctx.preset.other_community
    outsider = ctx.preset.by_role("community-staff", community=other) if other else None
    if outsider is not None and not outsider.serves(ctx.preset.community):
        tail = _tail(ctx, outsider)
        ctx.created(ctx.document("Issue"))
        events, _ = _after(ctx, outsider, tail)
        leaked = [e for e in events if ctx.preset.community in str(e.get("data"))]
        ctx.expect(
            not leaked,
            "另一社区的主体在变更中看到了本社区的数据",
            "another community's principal sees this community's data in the feed",
        )
