"""Writers that receive part of a resident record: what an update by one keeps, and what its
errors may tell it. One record serves each check; every writer of the preset whose audience
withholds or masks part of it (a hotline operator, a grid worker) writes what it read back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ...identifiers import citizen_id_birth_date
from .._client import Response
from .._context import KitContext
from .._preset import Principal
from .._registry import Skipped, check
from ._shared import RESIDENT, Tracked, plain, without_meta, worker_grids


def _writers(ctx: KitContext) -> frozenset[str]:
    """The roles the OpenAPI lets update a resident record (``x-roles`` of its PUT)."""
    item = ctx.spec.openapi["paths"].get(ctx.collection_path(RESIDENT) + "/{id}") or {}
    return frozenset((item.get("put") or {}).get("x-roles") or ())


def _record(ctx: KitContext) -> Tracked:
    """A resident record holding what audiences withhold or mask: a full identity number,
    vulnerability markers and consents, living in the preset grid worker's grid when there
    is one."""
    found = [d for d in ctx.examples(RESIDENT)
             if d.get("vulnerabilities") and d.get("consents")
             and (d.get("restriction") or {}).get("state", "none") == "none"
             and any(i.get("number") for i in d.get("identityDocuments") or ())]
    if not found:
        raise Skipped("规范中没有带完整身份号码、关爱标记和同意记录的居民示例",
                      "the spec has no resident example with a full number, markers and "
                      "consents")
    doc = ctx.adapt(sorted(found, key=lambda d: str(d.get("id")))[0])
    doc.pop("proxies", None)  # proxies naming residents this server may not hold
    try:
        _, mine, _ = worker_grids(ctx)
    except Skipped:
        mine = None
    if mine is not None:
        for membership in doc.get("memberships") or ():
            membership.update(community=ctx.preset.community, grid=mine)
        if isinstance(doc.get("address"), dict) and "gridCode" in doc["address"]:
            doc["address"]["gridCode"] = mine
    return Tracked(ctx, ctx.ensure_valid(doc, "(resident with what audiences withhold)"))


def _partial_writers(ctx: KitContext, record: Tracked) -> Iterator[tuple[Principal, Response]]:
    """The preset's writers of resident records, other than residents and proxies, that read
    ``record`` and receive it other than as stored; each with its read, made when its turn
    comes (the one before may have written)."""
    own = set(ctx.spec.privacy["recordAccess"].get("ownRecordRoles") or ())
    found = False
    for who in ctx.serving(*sorted(_writers(ctx) - own)):
        if ctx.redact(record.doc, ctx.audience(who, record.doc)) == record.doc:
            continue
        got = record.read(who)
        if got.status == 200 and isinstance(got.json(), dict):
            found = True
            yield who, got
    if not found:
        raise Skipped("预设中没有读得到该记录、但收不到其全部内容的居民记录写入者"
                      "（如热线受理员、网格员）",
                      "the preset has no writer of resident records that reads the record but "
                      "not all of it (a hotline operator, a grid worker)")


def _put(ctx: KitContext, record: Tracked, who: Principal, got: Response,
         body: dict[str, Any]) -> Response:
    return ctx.call("PUT", record.path, who, json_body=body,
                    headers={"If-Match": got.headers.get("etag") or record.etag})


@check("/req/privacy/update-keeps-unreceived")
def test_update_keeps_unreceived(ctx: KitContext) -> None:
    record = _record(ctx)
    for who, got in _partial_writers(ctx, record):
        before = record.refresh()
        body = without_meta(got.json())
        # An ordinary correction: the writer fixes a phone number it receives.
        phones = [c for c in body.get("contactPoints") or () if isinstance(c, dict)
                  and isinstance(c.get("phone"), str) and "*" not in c["phone"]]
        if phones:
            phones[0]["phone"] = "+86139" + str(ctx.rng.randrange(10**7, 10**8))
        resp = _put(ctx, record, who, got, body)
        ctx.expect_status(resp, 200, zh=f"{who.name}（{who.role}）写回它收到的记录并改正一个电话",
                          en=f"{who.name} ({who.role}) writes back what it read, one phone "
                          "corrected")
        after = record.refresh()
        changed = sorted(m for m in set(before) | set(after)
                         if m not in ("meta", "contactPoints") and before.get(m) != after.get(m))
        ctx.expect(not changed,
                   f"{who.name}（{who.role}）的更新改变或删除了 {plain(changed, 'zh')}",
                   f"{who.name}'s ({who.role}) update changed or removed {plain(changed)}")
        if phones:
            ctx.expect(any(c.get("phone") == phones[0]["phone"]
                           for c in after.get("contactPoints") or ()),
                       f"{who.name} 改正的电话没有保存", f"{who.name}'s corrected phone was lost")


def _secrets(stored: dict[str, Any], view: dict[str, Any]) -> dict[str, str]:
    """What of ``stored`` the writer does not receive, as text an answer must not hold: the
    ids of consents and the dates of markers it does not receive, a full identity number
    and the date inside it."""
    found: dict[str, str] = {}
    if "consents" not in view:
        found.update((f"consent {c['id']}", str(c["id"])) for c in stored.get("consents") or ())
    if "vulnerabilities" not in view:
        found.update((f"marker since {m['since']}", str(m["since"]))
                     for m in stored.get("vulnerabilities") or () if m.get("since"))
    shown = json.dumps(view.get("identityDocuments") or [])
    for document in stored.get("identityDocuments") or ():
        number = document.get("number")
        if isinstance(number, str) and number not in shown:
            found["identity number"] = number
            born = citizen_id_birth_date(number)
            if born is not None:
                found["birth date in the number"] = born.isoformat()
    return found


@check("/req/privacy/write-errors-unreceived")
def test_write_errors_unreceived(ctx: KitContext) -> None:
    record = _record(ctx)
    tried = False
    for who, got in _partial_writers(ctx, record):
        view = without_meta(got.json())
        secrets = _secrets(record.doc, view)
        bodies = []
        if "consents" not in view:
            bodies.append(("consents", {**view, "consents": []}))
        born = secrets.get("birth date in the number")
        if born is not None and "birthDate" in view:
            # A birth date that disagrees with the number the writer receives masked.
            other = f"{int(born[:4]) - 1}{born[4:]}"
            bodies.append(("birthDate", {**view, "birthDate": other}))
        for what, body in bodies:
            tried = True
            resp = _put(ctx, record, who, got, body)
            ctx.expect(resp.status == 422,
                       f"{who.name}（{who.role}）写入其收不到或只收到脱敏形式的 {what} 得到 "
                       f"{resp.status}，应为 422",
                       f"{who.name} ({who.role}) writing {what}, which it does not receive or "
                       f"receives masked, got {resp.status}, not 422")
            text = json.dumps(resp.json(), ensure_ascii=False) if resp.status != 200 else ""
            told = sorted(k for k, v in secrets.items() if v and v in text)
            ctx.expect(not told,
                       f"给 {who.name}（{who.role}）的错误说出了它收不到的 {plain(told, 'zh')}",
                       f"the error to {who.name} ({who.role}) tells {plain(told)}, which it "
                       "does not receive")
    if not tried:
        raise Skipped("预设中没有收不到同意记录或完整身份号码的写入者",
                      "the preset has no writer that does not receive consents or the full "
                      "identity number")

