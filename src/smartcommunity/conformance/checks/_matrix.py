"""The privacy matrix: every reader × every read path × every tagged field, with the library's
redaction as the oracle. The check records each cell so that the report can show the matrix a
regulator reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...pointers import nodes
from ...validation import compile_plan, values_at
from .._context import KitContext
from .._preset import Principal
from .._registry import Failed, check
from ._people import with_number
from ._shared import (
    ISSUE,
    RESIDENT,
    ROLE,
    Tracked,
    fresh,
    new_issue,
    plain,
)
from ._watching import read_on, subject, tail

#: the read paths of the matrix, in the order the report shows them
ENDPOINTS = ("read", "list", "history", "feed", "audit")
#: shortest string value looked for in payloads of another shape (the audit log)
MIN_TEXT = 4

Where = tuple[str | int, ...]


def _pointer(where: Where) -> str:
    return "/" + "/".join(str(s).replace("~", "~0").replace("/", "~1") for s in where)


def _tagged(ctx: KitContext, rt: str, doc: Any) -> dict[Where, Any]:
    """Every value of ``doc`` at a member ``rt``'s schema tags with ``x-pipl``, by location."""
    if not isinstance(doc, dict):
        return {}
    return {where: value for path, _, _ in compile_plan(ctx.spec, rt).pipl
            for where, value in values_at(doc, path)}


def _hidden(ctx: KitContext, rt: str, originals: list[dict[str, Any]], audience: str
            ) -> dict[Where, Any]:
    """The tagged values of ``originals`` that ``audience`` must not receive as they are: the
    library's redaction removes or changes them."""
    hidden: dict[Where, Any] = {}
    for original in originals:
        oracle = _tagged(ctx, rt, ctx.redact(original, audience))
        for where, value in _tagged(ctx, rt, original).items():
            if where not in oracle or oracle[where] != value:
                hidden.setdefault(where, value)
    return hidden


def _leaks(ctx: KitContext, rt: str, hidden: dict[Where, Any], served: Any
           ) -> tuple[int, list[str]]:
    """How many tagged values ``served`` holds, and the pointers where it holds a value the
    oracle hides exactly as stored."""
    found = _tagged(ctx, rt, served)
    return len(found), sorted(_pointer(w) for w, v in found.items()
                              if w in hidden and hidden[w] == v)


def _strings(payload: Any) -> Iterator[str]:
    return (node for node in nodes(payload) if isinstance(node, str))


def _value_leaks(hidden: dict[Where, Any], payload: Any) -> list[str]:
    """Hidden string values served as a whole value anywhere in a payload of another shape
    (the audit log, whose rows name readers and pointers, never values)."""
    served = set(_strings(payload))
    return sorted(_pointer(w) for w, v in hidden.items()
                  if isinstance(v, str) and len(v) >= MIN_TEXT and v in served)


def _text_leaks(hidden: dict[Where, Any], text: str) -> list[str]:
    """Hidden string values anywhere in the text of a refusal (a 404's or 403's problem):
    it holds nothing of the record, in no member and no sentence."""
    return sorted(_pointer(w) for w, v in hidden.items()
                  if isinstance(v, str) and len(v) >= MIN_TEXT and v in text)


def _readers(ctx: KitContext) -> Iterator[tuple[str, Principal | None, str | None]]:
    """(label, principal, token) for every preset principal serving the community, a request
    without a token and one with a token no server issued."""
    for p in ctx.serving():
        yield p.name, p, p.token
    yield "-", None, None
    yield "?", None, "not-a-token-" + ctx.new_id()


def _audience(ctx: KitContext, who: Principal | None, doc: dict[str, Any]) -> str:
    """The audience the oracle redacts for: a principal's own, else the anonymous role's."""
    if who is not None:
        return ctx.audience(who, doc)
    anonymous = (ctx.spec.privacy.get("recordAccess") or {}).get("anonymousRole")
    return ctx.spec.audience_of(str(anonymous or next(iter(ctx.spec.roles))))


def _subjects(ctx: KitContext) -> list[Tracked]:
    """One record of each read resource type, with personal data in every class: a resident
    (in a grid worker's grid when the preset names one), a published issue, a consultation."""
    doc = with_number(ctx)
    worker = ctx.optional(ROLE.grid_worker)
    grid = next((g for g in (worker.grids if worker else ())
                 if g.startswith(ctx.preset.community + "-")), None)
    if grid is not None:
        for membership in doc.get("memberships") or ():
            membership.update(community=ctx.preset.community, grid=grid)
    made = [Tracked(ctx, doc), Tracked(ctx, new_issue(ctx, publication={"published": True}))]
    for rt in ctx.spec.resource_types:
        if rt not in (RESIDENT, ISSUE) and rt in ctx.spec.collections:
            made.append(Tracked(ctx, fresh(ctx, rt)))
    return made


def _history_path(ctx: KitContext, rt: str) -> bool:
    return f"{ctx.collection_path(rt)}/{{id}}/history" in (ctx.spec.openapi.get("paths") or {})


def _listed(ctx: KitContext, rt: str, rid: str, token: str | None, since: str
            ) -> tuple[int | None, list[Any]]:
    """The list entries of ``rid`` a token is shown (all pages), with the first page's status."""
    pages = list(ctx.pages(ctx.collection_path(rt), {
        "community": ctx.preset.community, "limit": "100", "updatedSince": since}, token=token))
    found = [i for resp in pages if resp.status == 200
             for i in (resp.json() or {}).get("items") or []
             if isinstance(i, dict) and i.get("id") == rid]
    return pages[0].status, found


@check("/req/privacy/redaction-matrix")
def test_redaction_matrix(ctx: KitContext) -> None:
    readers = list(_readers(ctx))
    cursors: dict[str, str | None] = {}
    for label, who, _ in readers:
        try:
            cursors[label] = tail(ctx, who) if who is not None else None
        except Failed:
            cursors[label] = None  # this reader gets no feed: its cells say so
    since = ctx.moment(-1 / 24)
    records = _subjects(ctx)
    audit = ctx.spec.operation("listAuditEvents")["x-path"]
    cells: list[dict[str, Any]] = []
    for label, who, token in readers:
        feed = _feed(ctx, token, cursors.get(label))
        for record in records:
            rt, rid = record.rt, record.id
            originals = [d for d in (record.sent, record.doc) if d]
            audience = _audience(ctx, who, record.doc)
            hidden = _hidden(ctx, rt, originals, audience)
            served: dict[str, tuple[int | None, list[Any]]] = {}
            refusals: dict[str, str] = {}  # what a refused read said, by endpoint
            resp = ctx.client.request("GET", record.path, token=token)
            served["read"] = (resp.status, [resp.json()] if resp.status == 200 else [])
            refusals["read"] = resp.text if resp.status != 200 else ""
            served["list"] = _listed(ctx, rt, rid, token, since)
            if _history_path(ctx, rt):
                resp = ctx.client.request("GET", f"{record.path}/history", token=token)
                events = (resp.json() or {}).get("items") or [] if resp.status == 200 else []
                served["history"] = (resp.status, [{"resourceType": rt, "history": events}])
                refusals["history"] = resp.text if resp.status != 200 else ""
            status, events = feed
            wanted = subject(ctx, rt, rid)
            served["feed"] = (status, [e.get("data") for e in events
                                       if isinstance(e, dict) and e.get("subject") == wanted])
            for endpoint, (status_, docs) in served.items():
                compared, leaked = 0, list[str]()
                for doc in docs:
                    n, found = _leaks(ctx, rt, hidden, doc)
                    compared, leaked = compared + n, leaked + found
                leaked += _text_leaks(hidden, refusals.get(endpoint, ""))
                cells.append(_cell(label, who, audience, endpoint, rt, status_, len(docs),
                                   compared, leaked))
            if rt == RESIDENT:
                pages = list(ctx.pages(str(audit), {"resident": rid}, token=token))
                rows = [i for resp in pages if resp.status == 200
                        for i in (resp.json() or {}).get("items") or []]
                cells.append(_cell(label, who, audience, "audit", rt, pages[0].status,
                                   len(rows), 0, _value_leaks(hidden, rows)))
    ctx.matrix = cells
    bad = [c for c in cells if c["leaks"]]
    ctx.expect(
        not bad,
        "受众规则隐藏的字段被提供出去："
        + "；".join(f"{c['reader']}（{c['role']}）{c['endpoint']} {c['resourceType']} "
                   f"{plain(c['leaks'][:3], 'zh')}" for c in bad[:5]),
        "fields the audience's redaction hides were served: "
        + "; ".join(f"{c['reader']} ({c['role']}) {c['endpoint']} {c['resourceType']} "
                    f"{plain(c['leaks'][:3])}" for c in bad[:5]),
    )


def _feed(ctx: KitContext, token: str | None, cursor: str | None
          ) -> tuple[int | None, list[dict[str, Any]]]:
    """The events a token receives after ``cursor`` (the whole feed from the start when the
    reader has none), with the status of the first page."""
    status, events, _ = read_on(ctx, token, cursor)
    return status, [e for e in events if isinstance(e, dict)]


def _cell(label: str, who: Principal | None, audience: str, endpoint: str, rt: str,
          status: int | None, served: int, compared: int, leaks: list[str]
          ) -> dict[str, Any]:
    """One cell: what ``label`` got on ``endpoint`` for the ``rt`` record — the HTTP status,
    how many copies of it and tagged values were served, and where a hidden value leaked."""
    return {"reader": label, "role": who.role if who else None, "audience": audience,
            "endpoint": endpoint, "resourceType": rt, "status": status, "served": served,
            "compared": compared, "leaks": leaks}
