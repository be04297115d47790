"""Change-feed class: one CloudEvents event per write, in order, resumable, redacted."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from jsonschema import Draft202012Validator

from ...specification import LATEST_CURSOR
from .._context import KitContext
from .._registry import check
from ._shared import (
    ISSUE,
    RESIDENT,
    ROLE,
    Tracked,
    etag_of,
    expect_none,
    new_issue,
    plain,
    without_meta,
)
from ._watching import after, events_of, mirror, page, subject, tail, watching


@check("/req/change-feed/event-per-write", needs=(ROLE.system,))
def test_one_event_per_write(ctx: KitContext) -> None:
    who, cursor = watching(ctx)
    for rt in ctx.spec.resource_types:
        doc = ctx.document(rt)
        stored = ctx.created(doc)
        bad = ctx.document(rt)
        bad["vendorField"] = 1
        ctx.create(bad)
        # An update refused for its stale version writes nothing; the accepted one, once.
        path = ctx.resource_path(rt, doc["id"])
        edited = {**without_meta(stored), "extensions": {"org.example.kit": {"edit": 1}}}
        written = ["create"]
        for tag in ('"999999"', etag_of(stored)):
            resp = ctx.call("PUT", path, ctx.staff, json_body=edited, headers={"If-Match": tag})
            written += ["update"] if 200 <= (resp.status or 0) < 300 else []
        actions = [e.get("action") for e in events_of(ctx, who, cursor, rt, doc["id"])]
        ctx.expect(actions == written,
                   f"{rt} 的写入（{plain(written, 'zh')}）产生的事件动作为 {plain(actions, 'zh')}",
                   f"the writes of a {rt} ({plain(written)}) made events with actions "
                   f"{plain(actions)}")
        ctx.expect(not events_of(ctx, who, cursor, rt, bad["id"]),
                   "被拒收的请求产生了事件", "a refused request made an event")
    # An action refused for its stale version writes nothing; the accepted one, once; a merge
    # writes two issues: one event each, both naming the merge.
    acted = Tracked(ctx, new_issue(ctx))
    target = Tracked(ctx, new_issue(ctx))
    duplicate = Tracked(ctx, new_issue(ctx))
    cursor = tail(ctx, who)
    ctx.call("POST", f"{acted.path}/actions/accept", ctx.staff, json_body={},
             headers={"If-Match": '"999999"'})
    acted.act("accept")
    actions = [e.get("action") for e in events_of(ctx, who, cursor, ISSUE, acted.id)]
    ctx.expect(actions == ["accept"],
               f"一次被拒绝、一次成功的 accept 产生的事件动作为 {plain(actions, 'zh')}，"
               "应恰好一个 accept",
               f"a refused and an accepted accept made events with actions {plain(actions)}, "
               "not exactly one accept")
    duplicate.act("merge", {"details": {"mergedInto": target.id}})
    for issue in (duplicate, target):
        mine = events_of(ctx, who, cursor, ISSUE, issue.id)
        actions = [e.get("action") for e in mine]
        ctx.expect(actions == ["merge"],
                   f"并单后诉求 {issue.id} 的事件动作为 {plain(actions, 'zh')}，应恰好一个 merge",
                   f"after a merge issue {issue.id} has events with actions {plain(actions)}, "
                   "not exactly one merge")


@check("/req/change-feed/cloudevents", needs=(ROLE.system,))
def test_events_are_cloudevents(ctx: KitContext) -> None:
    who, cursor = watching(ctx)
    for rt in ctx.spec.resource_types:
        ctx.created(ctx.document(rt))
    events, _ = after(ctx, who, cursor)
    ctx.expect(len(events) >= len(ctx.spec.resource_types), "没有读到新写入的事件",
               "the new writes' events are missing")
    validator = Draft202012Validator(
        ctx.spec.schema("event.json"),
        registry=ctx.spec.registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    for event in events:
        errors = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(event)
        ]
        expect_none(ctx, errors, "事件不符合 event.json", "an event breaks event.json", shown=3)


@check("/req/change-feed/order", needs=(ROLE.system,))
def test_order(ctx: KitContext) -> None:
    who, cursor = watching(ctx)
    created = []
    for _ in range(2):
        for rt in ctx.spec.resource_types:  # events of every type, interleaved
            doc = ctx.document(rt)
            ctx.created(doc)
            created.append(subject(ctx, rt, doc["id"]))
    events, _ = after(ctx, who, cursor)
    sequences = [int(e["sequence"]) for e in events]
    ctx.expect(
        sequences == sorted(set(sequences)),
        f"序号不是严格递增：{plain(sequences, 'zh')}",
        f"sequence numbers are not strictly increasing: {plain(sequences)}",
    )
    ctx.expect(
        all(b - a == 1 for a, b in pairwise(sequences)),
        f"镜像读者看到的序号有缺失：{plain(sequences, 'zh')}",
        f"the mirror sees gaps in the sequence: {plain(sequences)}",
    )
    subjects = [e.get("subject") for e in events if e.get("subject") in created]
    ctx.expect(subjects == created, "事件顺序与提交顺序不同", "events are not in commit order")


@check("/req/change-feed/latest", needs=(ROLE.system,))
def test_latest(ctx: KitContext) -> None:
    who = mirror(ctx)
    before = ctx.document(ISSUE)
    ctx.created(before)  # the feed is not empty, and this event is before the end
    resp = ctx.call("GET", ctx.path("readChanges"), who, params={"cursor": LATEST_CURSOR})
    ctx.expect_status(resp, 200, zh="以 cursor=latest 读取变更",
                      en="read the feed with cursor=latest")
    body = resp.json() or {}
    ctx.expect(body.get("items") == [], "以 latest 读取返回了事件",
               "reading with latest returned events")
    end = body.get("next")
    ctx.expect(isinstance(end, str) and end not in ("", LATEST_CURSOR),
               "以 latest 读取没有给出订阅末尾的游标",
               "reading with latest gives no cursor at the end")
    later = ctx.document(ISSUE)
    ctx.created(later)
    events, _ = after(ctx, who, str(end))
    subjects = [e.get("subject") for e in events]
    ctx.expect(subject(ctx, ISSUE, later["id"]) in subjects,
               "从 latest 给出的游标读取，没有得到此后追加的事件",
               "the cursor latest gave misses the event appended since")
    ctx.expect(subject(ctx, ISSUE, before["id"]) not in subjects,
               "从 latest 给出的游标读取，得到了它之前的事件",
               "the cursor latest gave leads to an event from before it")


@check("/req/change-feed/resume", needs=(ROLE.system,))
def test_resume(ctx: KitContext) -> None:
    who, start = watching(ctx)
    for _ in range(2):
        for rt in ctx.spec.resource_types:
            ctx.created(ctx.document(rt))
    whole, _ = after(ctx, who, start)
    written = 2 * len(ctx.spec.resource_types)
    ctx.expect(len(whole) >= written,
               f"游标之后只读到 {len(whole)} 个事件，少于刚写入的 {written} 个",
               f"only {len(whole)} events follow the cursor, fewer than the {written} written")
    first, middle = page(ctx, who, start, limit=2)
    ctx.expect(0 < len(first) <= 2, f"要求每页 2 个事件，却得到 {len(first)} 个",
               f"a page asked for 2 events holds {len(first)}")
    rest, end = after(ctx, who, middle)
    ids = [e.get("id") for e in whole]
    ctx.expect(
        [e.get("id") for e in first + rest] == ids,
        "分段读取与一次读取的事件不同",
        "reading in parts differs from reading at once",
    )
    again, _ = after(ctx, who, end)
    ctx.expect(again == [], "读到末尾后再读仍有旧事件", "reading past the end returned old events")


def _data_version(event: dict[str, Any]) -> str | None:
    """The ``meta.versionId`` of an event's data."""
    data = event.get("data")
    meta = data.get("meta") if isinstance(data, dict) else None
    return str(meta.get("versionId")) if isinstance(meta, dict) else None


@check("/req/change-feed/full-state", needs=(ROLE.system,))
def test_full_state(ctx: KitContext) -> None:
    who, cursor = watching(ctx)
    # What the mirror reads after each write, by subject and version: the state the write's
    # event must carry.
    states: dict[tuple[str, str], Any] = {}

    def read(rt: str, rid: str) -> None:
        state = ctx.read(rt, rid, who).json() or {}
        version = str((state.get("meta") or {}).get("versionId"))
        states[(subject(ctx, rt, rid), version)] = state

    for rt in ctx.spec.resource_types:  # a create and an update of each
        doc = ctx.document(rt)
        stored = ctx.created(doc)
        read(rt, doc["id"])
        resp = ctx.call("PUT", ctx.resource_path(rt, doc["id"]), ctx.staff,
                        json_body={**without_meta(stored),
                                   "extensions": {"org.example.kit": {"edit": 1}}},
                        headers={"If-Match": etag_of(stored)})
        ctx.expect_status(resp, 200, zh=f"更新 {rt}", en=f"update a {rt}")
        read(rt, doc["id"])
    issue = Tracked(ctx, new_issue(ctx))  # and an action
    read(ISSUE, issue.id)
    issue.act("accept")
    read(ISSUE, issue.id)
    events, _ = after(ctx, who, cursor)
    seen = {(e.get("subject"), str(e.get("resourceversion"))): e for e in events
            if isinstance(e, dict)}
    missing = sorted(f"{s}@{v}" for s, v in states if (s, v) not in seen)
    expect_none(ctx, missing, "没有读到这些写入的事件", "the events of these writes are missing")
    stale = sorted(f"{s}@{v}" for (s, v), state in states.items()
                   if (s, v) in seen and seen[(s, v)].get("data") != state)
    expect_none(ctx, stale, "这些事件的数据不是写入后读取的资源",
                "the data of these events is not the resource as read after the write")
    numbered = sorted(f"{s}@{v}" for (s, v), e in seen.items()
                      if (s, v) in states and _data_version(e) != v)
    expect_none(ctx, numbered, "这些事件的 resourceversion 与数据的 meta.versionId 不同",
                "the resourceversion of these events differs from their data's meta.versionId")


@check("/req/change-feed/redacted", needs=(ROLE.system,))
def test_feed_redacted(ctx: KitContext) -> None:
    whole = mirror(ctx)
    readers = [p for p in ctx.serving() if p.role not in (ROLE.system, ROLE.public)]
    tails = {p.name: tail(ctx, p) for p in readers}
    rt = ctx.spec.resource_types[0]
    doc = ctx.document(rt)
    ctx.created(doc)
    full = ctx.read(rt, doc["id"], whole).json() or {}
    for p in readers:
        mine = events_of(ctx, p, tails[p.name], rt, doc["id"])
        read = ctx.read(rt, doc["id"], p)
        lookup = (ctx.spec.privacy.get("recordAccess") or {}).get("lookupRoles") or ()
        if read.status == 404 or (p.role in lookup and rt == RESIDENT):
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
        ctx.expect(
            without_meta(mine[0].get("data") or {}) == without_meta(expected),
            f"{p.name}（{p.role}）在变更中收到的数据与其受众的脱敏结果不同",
            f"{p.name} ({p.role}) gets feed data that differs from its audience's redaction",
        )
    other = ctx.preset.other_community
    outsider = ctx.preset.by_role(ctx.staff_role, community=other) if other else None
    if outsider is not None and not outsider.serves(ctx.preset.community):
        cursor = tail(ctx, outsider)
        ctx.created(ctx.document(ctx.spec.resource_types[-1]))
        events, _ = after(ctx, outsider, cursor)
        leaked = [e for e in events if ctx.preset.community in str(e.get("data"))]
        ctx.expect(
            not leaked,
            "另一社区的主体在变更中看到了本社区的数据",
            "another community's principal sees this community's data in the feed",
        )
