"""Checks of the organisations class (/conf/organisations) that talk to a server."""

from __future__ import annotations

import copy
from typing import Any

from .._context import KitContext
from .._registry import Skipped, check
from ._shared import etag_of, without_meta

_RESOURCE = "Organisation"


def _ours(ctx: KitContext) -> dict[str, Any]:
    """An organisation template moved into the preset's community."""
    return ctx.document(_RESOURCE)


@check("/req/organisations/write-roles")
def test_organisation_write_roles(ctx: KitContext) -> None:
    if _RESOURCE not in ctx.spec.resource_types:
        raise Skipped("该版本没有组织资源", "this version has no organisation resource")
    collection = ctx.spec.collection(_RESOURCE)
    creators = ctx.spec.operation_roles(f"create{_RESOURCE}") or frozenset()
    updaters = ctx.spec.operation_roles(f"update{_RESOURCE}") or frozenset()
    outsiders = [p for p in ctx.preset.principals.values() if p.role not in creators | updaters]
    if not outsiders:
        raise Skipped("预设中没有 x-roles 之外的角色", "the preset has no role outside x-roles")
    for who in outsiders:
        doc = _ours(ctx)
        resp = ctx.call("POST", f"/{collection}", who, json_body=doc)
        ctx.expect_problem(resp, 403)
        ctx.expect_status(ctx.read(_RESOURCE, doc["id"]), 404,
                          zh=f"{who.role} 被拒绝后组织仍被保存",
                          en=f"the organisation was stored after refusing {who.role}")
    doc = _ours(ctx)
    stored = ctx.created(doc)
    edited = copy.deepcopy(doc)
    edited["name"] = edited["name"] + "（改）"
    path = ctx.resource_path(_RESOURCE, doc["id"])
    for who in outsiders:
        resp = ctx.call("PUT", path, who, json_body=edited, headers={"If-Match": etag_of(stored)})
        ctx.expect_status(resp, 403, 404, zh=f"{who.role} 更新了组织",
                          en=f"{who.role} updated an organisation")
    after = ctx.read(_RESOURCE, doc["id"]).json() or {}
    ctx.expect(without_meta(after) == without_meta(stored), "被拒绝的更新改变了组织",
               "a refused update changed the organisation")
