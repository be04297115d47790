"""The change feed as the checks read it: who watches it, from where, and which events
concern a resource."""

from __future__ import annotations

from typing import Any

from ...integrity import WITHHELD_TYPE
from ...specification import LATEST_CURSOR
from .._context import MAX_PAGES, KitContext
from .._preset import Principal
from .._registry import Failed, Skipped
from ._shared import ROLE


def mirror(ctx: KitContext, *, or_staff: bool = False) -> Principal:
    """A principal that sees everything, to whom the feed's no-gap promise is made; without
    one in the preset, staff when ``or_staff``, else the check is skipped."""
    for p in ctx.preset.principals.values():
        if p.role == ROLE.system and "*" in p.communities:
            return p
    return ctx.staff if or_staff else ctx.principal(ROLE.system)


def tail(ctx: KitContext, who: Principal) -> str:
    """The cursor after the last event the reader can see now.

    The first call for a reader asks for the feed's end (/req/change-feed/latest), so the
    kit's run time does not grow with the server's data; a server that cannot say where its
    end is gets read from the start instead (its own check fails). Later calls go on from the
    cursor reached.
    """
    cursor: str | None = ctx.feed_cursors.get(who.name)
    if cursor is None:
        resp = ctx.call("GET", ctx.path("readChanges"), who,
                        params={"cursor": LATEST_CURSOR, "limit": "1"})
        body = resp.json() if resp.status == 200 else None
        if isinstance(body, dict) and body.get("items") == [] and isinstance(
                body.get("next"), str) and body["next"] and body["next"] != LATEST_CURSOR:
            cursor = body["next"]
    for _ in range(MAX_PAGES):
        params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
        resp = ctx.call("GET", ctx.path("readChanges"), who, params=params)
        ctx.expect_status(resp, 200, zh="读取变更", en="read the feed")
        body = resp.json() or {}
        nxt = body.get("next")
        ctx.expect(isinstance(nxt, str) and nxt != "", "变更页没有给出 next 游标",
                   "a feed page gives no next cursor")
        cursor = str(nxt)
        if not body.get("items"):
            break
    ctx.feed_cursors[who.name] = str(cursor)
    return str(cursor)


def watching(ctx: KitContext, *, or_staff: bool = False) -> tuple[Principal, str]:
    """The mirror (see :func:`mirror`) and its cursor at the feed's end now: where a check
    starts watching what its own writes add to the feed."""
    who = mirror(ctx, or_staff=or_staff)
    return who, tail(ctx, who)


def page(ctx: KitContext, who: Principal, cursor: str, limit: int = 500
         ) -> tuple[list[Any], str]:
    """One page of the events ``who`` sees after ``cursor`` (at most ``limit``, perhaps
    fewer) and its next cursor."""
    resp = ctx.call("GET", ctx.path("readChanges"), who,
                    params={"cursor": cursor, "limit": str(limit)})
    ctx.expect_status(resp, 200, zh="从游标读取变更", en="read the feed from a cursor")
    body = resp.json() or {}
    return list(body.get("items") or []), str(body.get("next"))


def read_on(ctx: KitContext, token: str | None, cursor: str | None
            ) -> tuple[int | None, list[Any], str]:
    """The status of the pages (200, or the first refusal, which ends the reading), every
    event after ``cursor`` (from the start without one) read with ``token`` up to the first
    empty page, and that page's ``next``: where a reader polls from. A server may give fewer
    events a page than asked (/req/change-feed/resume): what a check looks for may be on
    any page."""
    out: list[Any] = []
    given: set[str] = set()
    first: int | None = None
    for _ in range(MAX_PAGES):
        params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
        resp = ctx.call("GET", ctx.path("readChanges"), token=token, params=params)
        first = resp.status if first in (None, 200) else first  # the first refusal stays
        body = resp.json() if resp.status == 200 else None
        if not isinstance(body, dict):
            return first, out, str(cursor)
        items = list(body.get("items") or [])
        cursor = str(body.get("next")) if body.get("next") else cursor
        if not items:
            return first, out, str(cursor)
        ids = {str(e.get("id")) for e in items if isinstance(e, dict) and "id" in e}
        if len(ids) == len(items) and ids <= given:
            raise Failed("从 next 游标继续读取，得到的全是已经给出的事件，永远读不到末尾 "
                         "（/req/change-feed/resume）",
                         "reading on from a next cursor gives only events given already, so "
                         "the feed never comes to an end (/req/change-feed/resume)")
        given |= ids
        out += items
    raise Skipped("变更订阅过长，无法读完", "the feed is too long to read to its end")


def after(ctx: KitContext, who: Principal, cursor: str | None) -> tuple[list[Any], str]:
    """Every event ``who`` sees after ``cursor`` (:func:`read_on`, which must answer 200)
    and the cursor to poll from."""
    status, events, end = read_on(ctx, who.token, cursor)
    ctx.expect(status == 200, f"读取变更：应为 200，实际为 {status}",
               f"read the feed: expected 200, got {status}")
    return events, end


def feed(ctx: KitContext, who: Principal, cursor: str | None = None) -> list[dict[str, Any]]:
    """Every event ``who`` receives after ``cursor`` (from the start without one), all pages."""
    return [e for e in after(ctx, who, cursor)[0] if isinstance(e, dict)]


def withheld_members(ctx: KitContext) -> frozenset[str]:
    """The members a withheld event may carry, as ``event.json`` lists them for its type
    (/req/change-feed/withheld)."""
    for branch in ctx.spec.schema("event.json").get("allOf", ()):
        condition = branch.get("if", {}).get("properties", {}).get("type", {})
        if condition.get("const") == WITHHELD_TYPE:
            return frozenset(branch["then"]["propertyNames"]["enum"])
    raise Skipped("event.json 没有给出精简事件的成员", "event.json lists no withheld members")


def subject(ctx: KitContext, resource_type: str, rid: str) -> str:
    """The CloudEvents ``subject`` of a resource's events (``issues/<id>``)."""
    return f"{ctx.spec.collection(resource_type)}/{rid}"


def events_of(ctx: KitContext, who: Principal, cursor: str, resource_type: str,
              rid: str) -> list[dict[str, Any]]:
    """The events about one resource that ``who`` sees after ``cursor``."""
    wanted = subject(ctx, resource_type, rid)
    return [e for e in feed(ctx, who, cursor) if e.get("subject") == wanted]
