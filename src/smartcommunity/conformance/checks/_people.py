"""Residents the checks create and the proxies that act for them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from ...identifiers import citizen_id_check_char, citizen_id_pseudonym, mask_citizen_id
from .._context import KitContext
from .._preset import Principal
from .._registry import Skipped
from ._shared import RESIDENT, ROLE, Tracked, grid_not_served, resident_ref


def resident(ctx: KitContext, proxies: Iterable[dict[str, Any]] = (), *,
             community: str | None = None, **changes: Any) -> dict[str, Any]:
    """A fresh resident record of the preset's community (or ``community``), with exactly
    ``proxies``."""
    doc = ctx.document(RESIDENT, community=community)
    doc["proxies"] = list(proxies)
    if not doc["proxies"]:
        doc.pop("proxies")
    # Consents naming a proxy by consentId would dangle once the proxies are replaced.
    doc.pop("restriction", None)
    doc.update(changes)
    return ctx.ensure_valid(doc, "(resident record)")


def citizen_card(ctx: KitContext, born: date) -> dict[str, Any]:
    """A resident identity card whose full number, of the preset community's region, is a
    valid GB 11643 number carrying the birth date ``born``."""
    first = f"{ctx.preset.community[:6]}{born:%Y%m%d}{ctx.rng.randint(0, 999):03d}"
    number = first + citizen_id_check_char(first)
    card: dict[str, Any] = {"type": "citizen-id", "number": number,
                            "masked": mask_citizen_id(number)}
    if ctx.pseudonym_key is not None:
        card["pseudonym"] = citizen_id_pseudonym(number, ctx.pseudonym_key)
    return card


def in_worker_grid(ctx: KitContext, doc: dict[str, Any]) -> dict[str, Any]:
    """``doc``, a resident record (changed in place), with its memberships in a grid of the
    preset's community that the preset's grid worker serves, so that a grid-scoped reader may
    read it too; as it was when the preset gives no such grid."""
    worker = ctx.optional(ROLE.grid_worker)
    grid = next((g for g in (worker.grids if worker else ())
                 if g.startswith(ctx.preset.community + "-")), None)
    for membership in doc.get("memberships") or () if grid else ():
        membership.update(community=ctx.preset.community, grid=grid)
    return doc


def resident_in(ctx: KitContext, grid: str | None) -> str:
    """A fresh resident record of the preset's community (in ``grid``, when given)."""
    doc = resident(ctx)
    if grid is not None:
        for membership in doc.get("memberships") or ():
            membership.update(community=ctx.preset.community, grid=grid)
    return str(ctx.created(ctx.ensure_valid(doc, "(resident record)"))["id"])


def residents_beyond_reach(ctx: KitContext, who: Principal, stranger: str | None,
                           scoped: Iterable[str]) -> list[tuple[str, str, str]]:
    """Residents the server holds whose records ``who`` may not read, each with where it is
    (in Chinese and English): ``stranger``, of the preset's other community, unless ``who``
    serves it; and, for a role of ``scoped`` (grid-scoped), a fresh one of a grid of the
    preset's community that ``who`` does not serve."""
    beyond = []
    if stranger is not None and not who.serves(str(ctx.preset.other_community)):
        beyond.append((stranger, "另一社区的居民", "a resident of another community"))
    if who.role in set(scoped):
        beyond.append((resident_in(ctx, grid_not_served(ctx, who)), "本社区另一网格的居民",
                       "a resident of another grid of the community"))
    return beyond


def held_resident(ctx: KitContext) -> str:
    """A fresh resident record the server holds, of the preset's community (in its grid
    worker's grid when the preset gives one): whom the community's staff may act for
    (/req/core/actor-is-principal), where an id nobody holds would be refused."""
    return str(ctx.created(in_worker_grid(ctx, resident(ctx)))["id"])


def proxy(ctx: KitContext, who: Principal, scope: list[str], *, since: float = -30,
          until: float | None = None) -> dict[str, Any]:
    """A proxy entry naming the preset's proxy principal, in force from ``since`` days."""
    if not who.resident:
        raise Skipped(f"预设中的代理人 {who.name} 没有给出其居民标识（resident）",
                      f"the preset's proxy {who.name} gives no resident id")
    entry: dict[str, Any] = {
        "id": ctx.new_id(), "resident": resident_ref(who.resident, "代理人"),
        "relationship": "child", "scope": scope, "basis": "written-authorisation",
        "validFrom": ctx.moment(since),
    }
    if until is not None:
        entry["validUntil"] = ctx.moment(until)
    return entry


def restriction_asked(ctx: KitContext, agent: Principal, **request: Any) -> Tracked:
    """A fresh resident record whose manage-data proxy ``agent`` has asked for restriction
    (PUT by the agent, ``request`` completing the ``restriction`` it sends)."""
    record = Tracked(ctx, resident(ctx, [proxy(ctx, agent, ["manage-data",
                                                            "receive-information"])]))
    record.put(None, agent, restriction={"state": "restriction-requested", **request})
    return record


def listed(ctx: KitContext, who: Principal, ids: Iterable[str], **params: str
           ) -> dict[str, dict[str, Any]]:
    """Which of ``ids`` the resident list shows ``who`` (all pages), by id; a refusal to list
    shows none."""
    wanted = set(ids)
    return {i["id"]: i for i in ctx.items(RESIDENT, who, {"limit": "200", **params},
                                          must_list=False)
            if i.get("id") in wanted}


def own_record(ctx: KitContext, who: Principal) -> dict[str, Any]:
    """The record of the preset's resident principal, as staff reads it; created when the
    server has none yet."""
    if not who.resident:
        raise Skipped(f"预设中的居民 {who.name} 没有给出其居民标识（resident）",
                      f"the preset's resident {who.name} gives no resident id")
    resp = ctx.read(RESIDENT, who.resident)
    if resp.status == 200 and isinstance(resp.json(), dict):
        return dict(resp.json())
    doc = resident(ctx)
    doc["id"] = who.resident
    created = ctx.create(doc)
    if created.status != 201:
        raise Skipped(f"无法读取或建立居民 {who.name} 本人的记录（{created.status}）",
                      f"cannot read or create the record of resident {who.name} "
                      f"({created.status})")
    return dict(ctx.read(RESIDENT, who.resident).json() or doc)


def with_number(ctx: KitContext) -> dict[str, Any]:
    """A fresh resident record with an identity document carrying its full number."""
    for _ in range(30):
        doc = resident(ctx)
        if any(d.get("number") for d in doc.get("identityDocuments") or []):
            return doc
    raise Skipped("规范中没有带完整身份号码的居民模板",
                  "the spec has no resident template with a full identity number")
