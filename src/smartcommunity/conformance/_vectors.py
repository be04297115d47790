"""Kit tests generated from the spec's test vectors: one per requirement the vectors break.

A document that breaks a MUST rule is refused with 422 and its errors; one that only draws a
SHOULD warning is accepted, because receivers warn and do not reject.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from ..specification import Spec
from ._context import EXAMPLE_OTHER_COMMUNITY, KitContext, spec_vectors
from ._registry import KitTest, binding

PER_REQUIREMENT = 3


def _invalid_vectors(spec: Spec) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    by_requirement: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    types = {spec.schema_uri(rt): rt for rt in spec.resource_types}
    for schema, test in spec_vectors(spec):
        req = test.get("requirement")
        data = test["data"]
        if test["valid"] or req not in spec.requirements or not isinstance(data, dict):
            continue
        if EXAMPLE_OTHER_COMMUNITY in json.dumps(data):
            continue  # would test community scope, not the rule
        rt = types.get(schema.get("$ref", ""))
        if rt:
            by_requirement.setdefault(req, []).append((rt, data))
    return by_requirement


def _send(ctx: KitContext, rt: str, data: dict[str, Any]) -> Any:
    # Meta and external references stay: some vectors are about them.
    doc = ctx.adapt(data, keep_meta=True)
    return ctx.call("POST", ctx.collection_path(rt), ctx.staff, json_body=doc)


def _must_refuse(requirement: str, vectors: list[tuple[str, dict[str, Any]]]) -> Any:
    def test(ctx: KitContext) -> None:
        for rt, data in vectors[:PER_REQUIREMENT]:
            resp = _send(ctx, rt, data)
            body = ctx.expect_problem(resp, 422)
            errors = body.get("errors")
            ctx.expect(
                isinstance(errors, list) and len(errors) > 0,
                "422 响应没有列出错误及其指针",
                "the 422 response lists no errors with pointers",
            )
            assert isinstance(errors, list)
            ctx.expect(
                all(isinstance(e, dict) and isinstance(e.get("pointer"), str) for e in errors),
                "错误列表中有缺少 pointer 的项",
                "an error in the list has no pointer",
            )

    return test


def _must_accept(requirement: str, vectors: list[tuple[str, dict[str, Any]]]) -> Any:
    def test(ctx: KitContext) -> None:
        for rt, data in vectors[:PER_REQUIREMENT]:
            resp = _send(ctx, rt, data)
            ctx.expect_status(
                resp,
                201,
                zh="只有警告的文档应被接收",
                en="a document with only warnings is accepted",
            )

    return test


@functools.cache
def vector_tests(spec: Spec) -> list[KitTest]:
    """One kit test per requirement the spec's invalid vectors break: a MUST is refused, a
    SHOULD only warns and is accepted."""
    tests = []
    for req_id, vectors in sorted(_invalid_vectors(spec).items()):
        if binding(spec, req_id):
            title = {"zh-Hans": f"拒收违反 {req_id} 的文档（422）",
                     "en": f"documents breaking {req_id} are refused (422)"}
            fn = _must_refuse(req_id, vectors)
        else:
            title = {"zh-Hans": f"只违反 {req_id}（应当）的文档被接收",
                     "en": f"documents that only miss {req_id} (SHOULD) are accepted"}
            fn = _must_accept(req_id, vectors)
        tests.append(KitTest(f"{req_id}#vectors", req_id, title, fn))
    return tests
