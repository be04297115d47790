"""Core class: documents over HTTP, errors, authentication, concurrency, idempotency, paging."""

from __future__ import annotations

import copy
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from jsonschema import Draft202012Validator

from ...specification import BASE_URI
from ...validation import validate
from .._context import COLLECTIONS, KitContext, KitFault
from .._registry import Skipped, check

RESOURCES = ("Resident", "Issue", "Consultation")


def _strip_meta(doc: Any) -> Any:
    return {k: v for k, v in doc.items() if k != "meta"} if isinstance(doc, dict) else doc


def _etag(doc: dict[str, Any]) -> str:
    return f'"{doc.get("meta", {}).get("versionId")}"'


@check(
    "/req/core/conformance-endpoint",
    "GET /conformance 无需认证并声明核心类",
    "GET /conformance needs no token and declares core",
)
def test_declaration(ctx: KitContext) -> None:
    resp = ctx.call("GET", "/conformance")
    ctx.expect_status(resp, 200)
    body = resp.json()
    validator = Draft202012Validator(
        ctx.spec.schema("conformance.json"), registry=ctx.spec.registry
    )
    errors = [e.message for e in validator.iter_errors(body)]
    ctx.expect(
        not errors,
        f"声明不符合 conformance.json：{errors}",
        f"the declaration breaks conformance.json: {errors}",
    )
    core = f"{BASE_URI}{ctx.spec.version}/conf/core"
    ctx.expect(core in body["conformsTo"], "没有声明核心类", "the core class is not declared")
    ctx.expect(
        ctx.spec.version in body["specVersions"],
        f"没有声明标准版本 {ctx.spec.version}",
        f"version {ctx.spec.version} is not declared",
    )


@check(
    "/req/core/authentication", "没有令牌或令牌无效得到 401", "a missing or invalid token gets 401"
)
def test_tokens_required(ctx: KitContext) -> None:
    for collection in COLLECTIONS.values():
        ctx.expect_problem(ctx.call("GET", f"/{collection}"), 401)
    bogus = ctx.client.request("GET", "/issues", token="not-a-token-" + ctx.new_id())
    ctx.expect_problem(bogus, 401)
    ctx.expect_problem(ctx.client.request("GET", "/changes"), 401)


@check(
    "/req/core/problem-details",
    "错误是带代码和中英文消息的 problem+json",
    "errors are problem+json with a code and both languages",
)
def test_problem_shape(ctx: KitContext) -> None:
    body = ctx.expect_problem(ctx.read("Issue", ctx.new_id()), 404)
    ctx.expect(
        isinstance(body.get("code"), str) and "." in body["code"],
        "code 不是稳定的点分代码",
        "code is not a stable dotted code",
    )
    doc = ctx.document("Issue")
    doc["vendorField"] = 1
    problem = ctx.expect_problem(ctx.create(doc), 422)
    errors = problem.get("errors") or []
    ctx.expect(
        any(e.get("pointer") == "/vendorField" for e in errors),
        "422 的错误列表没有指向 /vendorField",
        "the 422 errors do not point at /vendorField",
    )
    for e in errors:
        msg = e.get("message") or {}
        ctx.expect(
            bool(msg.get("zh-Hans")) and bool(msg.get("en")) and bool(e.get("code")),
            "错误项缺少代码或双语消息",
            "an error item lacks a code or a bilingual message",
        )


_BAD_BODIES: list[tuple[str, bytes]] = [
    ("not JSON", b"{not json"),
    ("empty", b""),
    ("array", b"[]"),
    ("number", b"1e999999"),
    ("invalid UTF-8", b'{"title": "\xff\xfe"}'),
    ("lone surrogate", b'{"title": "\\ud800"}'),
    ("null", b"null"),
    ("wrong types", b'{"resourceType": 1, "specVersion": [], "id": {}}'),
    (
        "huge integer",
        b'{"resourceType": "Issue", "specVersion": "1.0", "size": ' + b"9" * 5000 + b"}",
    ),
]


@check(
    "/req/core/no-server-error",
    "格式错误或无效的请求得到 4xx，从不 5xx，且不改变数据",
    "malformed or invalid requests get 4xx, never 5xx, and change nothing",
)
def test_no_server_errors(ctx: KitContext) -> None:
    from .._mutate import mutants

    seen: list[str] = []
    headers = {"Content-Type": "application/json"}
    for rt, collection in COLLECTIONS.items():
        for label, body in _BAD_BODIES:
            resp = ctx.call("POST", f"/{collection}", ctx.staff, content=body, headers=headers)
            ctx.expect(
                resp.status is not None and 400 <= resp.status < 500,
                f"POST /{collection}（{label}）得到 {resp.status}",
                f"POST /{collection} ({label}) got {resp.status}",
            )
        template = ctx.document(rt)
        for label, doc in mutants(template, ctx.rng, 12):
            if validate(doc).valid:
                continue  # the change happened to keep the document valid
            resp = ctx.create(doc)
            ctx.expect(
                resp.status is not None and 400 <= resp.status < 500,
                f"无效文档（{label}）得到 {resp.status}，应为 4xx",
                f"an invalid document ({label}) got {resp.status}, not 4xx",
            )
            seen.append(doc.get("id") if isinstance(doc.get("id"), str) else "")
        for params in (
            {"limit": "0"},
            {"limit": "abc"},
            {"cursor": "%%%"},
            {"updatedSince": "yesterday"},
            {"status": "x" * 300},
        ):
            resp = ctx.call("GET", f"/{collection}", ctx.staff, params=params)
            ctx.expect(
                resp.status is not None and 400 <= resp.status < 500,
                f"GET /{collection}?{params} 得到 {resp.status}",
                f"GET /{collection}?{params} got {resp.status}",
            )
    for rid in seen:
        if rid:
            for rt in RESOURCES:
                got = ctx.read(rt, rid)
                ctx.expect(
                    got.status == 404,
                    "被拒收的文档却被保存了",
                    "a refused document was stored anyway",
                )


@check("/req/core/json-only", "非 JSON 请求体得到 415", "a non-JSON body gets 415")
def test_json_only(ctx: KitContext) -> None:
    doc = json.dumps(ctx.document("Issue"), ensure_ascii=False).encode()
    for media in ("text/plain", "application/xml", "application/x-www-form-urlencoded"):
        resp = ctx.call("POST", "/issues", ctx.staff, content=doc, headers={"Content-Type": media})
        ctx.expect_problem(resp, 415)


@check(
    "/req/core/unknown-parameter",
    "未定义的查询参数得到 400",
    "an undefined query parameter gets 400",
)
def test_unknown_parameter(ctx: KitContext) -> None:
    for collection in COLLECTIONS.values():
        resp = ctx.call("GET", f"/{collection}", ctx.staff, params={"frobnicate": "1"})
        ctx.expect_problem(resp, 400)


@check(
    "/req/core/request-limits",
    "超大请求体得到 413，嵌套过深得到 400",
    "an oversized body gets 413, deep nesting 400",
)
def test_limits(ctx: KitContext) -> None:
    limit = int(ctx.preset.limits.get("maxBodyBytes", 1024 * 1024))
    depth = int(ctx.preset.limits.get("maxDepth", 64))
    doc = ctx.document("Issue")
    doc["extensions"] = {"org.example.kit": {"padding": "x" * (limit + 1024)}}
    resp = ctx.create(doc)
    ctx.expect_problem(resp, 413)
    deep: Any = "leaf"
    for _ in range(depth + 10):
        deep = {"d": deep}
    doc = ctx.document("Issue")
    doc["extensions"] = {"org.example.kit": deep}
    ctx.expect_problem(ctx.create(doc), 400)
    ctx.expect(
        ctx.read("Issue", doc["id"]).status == 404,
        "嵌套过深的文档被保存了",
        "the deeply nested document was stored",
    )


@check(
    "/req/core/invalid-rejected",
    "无效文档以 422 拒收并列出每一个错误",
    "an invalid document is refused with 422 listing every error",
)
def test_every_error_listed(ctx: KitContext) -> None:
    doc = ctx.document("Issue")
    doc["vendorField"] = 1
    doc["status"] = "nonsense"
    doc.pop("title", None)
    problem = ctx.expect_problem(ctx.create(doc), 422)
    pointers = {e.get("pointer") for e in problem.get("errors") or []}
    for expected in ("/vendorField", "/status", "/title"):
        ctx.expect(
            expected in pointers, f"错误列表缺少 {expected}", f"the error list misses {expected}"
        )


@check(
    "/req/core/create-read-back",
    "创建的文档读回时除 meta 外不变",
    "a created document reads back unchanged apart from meta",
)
def test_read_back(ctx: KitContext) -> None:
    for rt in RESOURCES:
        doc = ctx.document(rt)
        resp = ctx.create(doc)
        ctx.expect_status(resp, 201, zh=f"创建 {rt}", en=f"create {rt}")
        got = ctx.read(rt, doc["id"])
        ctx.expect_status(got, 200)
        ctx.expect(
            _strip_meta(got.json()) == _strip_meta(doc),
            f"读回的 {rt} 与提交的不同",
            f"the {rt} read back differs from what was sent",
        )


@check(
    "/req/core/extensions-preserved",
    "不理解的扩展原样保存和返回",
    "extensions a server does not understand come back unchanged",
)
def test_extensions(ctx: KitContext) -> None:
    ext = {"org.example.kit": {"nested": [1, {"a": "b", "中文": True}], "n": 1.5}}
    for rt in RESOURCES:
        doc = ctx.document(rt)
        doc["extensions"] = copy.deepcopy(ext)
        ctx.created(doc)
        got = ctx.read(rt, doc["id"]).json() or {}
        ctx.expect(got.get("extensions") == ext, f"{rt} 的扩展被改变", f"{rt} extensions changed")


@check("/req/core/id-conflict", "以已存在的标识创建得到 409", "creating an existing id gets 409")
def test_conflict(ctx: KitContext) -> None:
    doc = ctx.document("Issue")
    ctx.created(doc)
    ctx.expect_problem(ctx.create(doc), 409)


@check("/req/core/not-found", "不存在的资源得到 404", "a resource that does not exist gets 404")
def test_not_found(ctx: KitContext) -> None:
    for rt in RESOURCES:
        ctx.expect_problem(ctx.read(rt, ctx.new_id()), 404)


@check(
    "/req/core/etag",
    "单个资源的响应带 ETag，即带引号的版本号",
    "a single-resource response carries the quoted versionId as ETag",
)
def test_etag(ctx: KitContext) -> None:
    for rt in RESOURCES:
        doc = ctx.document(rt)
        created = ctx.create(doc)
        ctx.expect_status(created, 201)
        got = ctx.read(rt, doc["id"])
        body = got.json() or {}
        ctx.expect(
            got.headers.get("etag") == _etag(body),
            f"ETag {got.headers.get('etag')!r} 与版本 {_etag(body)} 不符",
            f"ETag {got.headers.get('etag')!r} differs from version {_etag(body)}",
        )
        ctx.expect(
            created.headers.get("etag") == _etag(created.json() or {}),
            "创建响应的 ETag 不对",
            "the create response's ETag is wrong",
        )


@check(
    "/req/core/if-match",
    "更新需要 If-Match：缺少 428，过期 412，并发不丢失更新",
    "updates need If-Match: 428 without, 412 stale, no lost update",
)
def test_if_match(ctx: KitContext) -> None:
    doc = ctx.document("Resident")
    stored = ctx.created(doc)
    path = f"/residents/{doc['id']}"
    edited = copy.deepcopy(doc)
    edited["extensions"] = {"org.example.kit": {"edit": 1}}
    ctx.expect_problem(ctx.call("PUT", path, ctx.staff, json_body=edited), 428)
    ctx.expect_problem(
        ctx.call("PUT", path, ctx.staff, json_body=edited, headers={"If-Match": '"999999"'}), 412
    )
    unchanged = ctx.read("Resident", doc["id"]).json() or {}
    ctx.expect(
        _strip_meta(unchanged) == _strip_meta(doc),
        "412 之后数据被改变",
        "the data changed after a 412",
    )
    etag = _etag(stored)
    results: list[int | None] = []

    def writer(n: int) -> None:
        body = copy.deepcopy(doc)
        body["extensions"] = {"org.example.kit": {"writer": n}}
        results.append(
            ctx.call("PUT", path, ctx.staff, json_body=body, headers={"If-Match": etag}).status
        )

    threads = [threading.Thread(target=writer, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ctx.expect(
        sorted(r or 0 for r in results) == [200, 412],
        f"两个并发写入者得到 {results}，应为一个 200 一个 412",
        f"two concurrent writers got {results}, expected one 200 and one 412",
    )
    final = ctx.read("Resident", doc["id"]).json() or {}
    ctx.expect(
        final.get("meta", {}).get("versionId") == str(int(stored["meta"]["versionId"]) + 1),
        "版本号没有恰好加一",
        "the version did not increase by exactly one",
    )


@check(
    "/req/core/idempotency-key",
    "Idempotency-Key 重放返回第一次的结果且不再创建",
    "an Idempotency-Key replay returns the first result and creates nothing",
)
def test_idempotency(ctx: KitContext) -> None:
    doc = ctx.document("Issue")
    key = "kit-" + ctx.new_id()
    first = ctx.create(doc, headers={"Idempotency-Key": key})
    ctx.expect_status(first, 201)
    replay = ctx.create(doc, headers={"Idempotency-Key": key})
    ctx.expect(
        replay.status in (200, 201), f"重放得到 {replay.status}", f"the replay got {replay.status}"
    )
    ctx.expect(
        replay.json() == first.json(),
        "重放的响应体与第一次不同",
        "the replay's body differs from the first",
    )
    other = ctx.document("Issue")
    ctx.expect_problem(ctx.create(other, headers={"Idempotency-Key": key}), 422)
    ctx.expect(
        ctx.read("Issue", other["id"]).status == 404,
        "同一键配不同请求体却创建了资源",
        "the same key with another body created a resource",
    )


@check(
    "/req/core/paging",
    "沿游标读完，每个条目恰好出现一次，即使期间有写入",
    "following the cursors returns every item once, even while writes happen",
)
def test_paging(ctx: KitContext) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=2)).isoformat(timespec="seconds")
    mine = []
    for _ in range(7):
        doc = ctx.document("Issue")
        ctx.created(doc)
        mine.append(doc["id"])
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "3", "updatedSince": since, "community": ctx.preset.community}
        if cursor:
            params["cursor"] = cursor
        resp = ctx.call("GET", "/issues", ctx.staff, params=params)
        ctx.expect_status(resp, 200)
        body = resp.json() or {}
        seen += [item["id"] for item in body.get("items", [])]
        if pages == 0:
            for _ in range(3):  # writes while paging
                ctx.created(ctx.document("Issue"))
        cursor = body.get("next")
        pages += 1
        if not cursor or pages > 500:
            break
    duplicates = sorted({i for i in seen if seen.count(i) > 1})
    ctx.expect(not duplicates, f"重复出现：{duplicates}", f"returned twice: {duplicates}")
    missing = [i for i in mine if i not in seen]
    ctx.expect(not missing, f"遗漏：{missing}", f"never returned: {missing}")
    time.sleep(0)


@check("/req/core/list-filters", "列表按社区和状态过滤", "lists filter by community and status")
def test_filters(ctx: KitContext) -> None:
    doc = ctx.document("Issue")
    ctx.created(doc)
    status = doc["status"]
    resp = ctx.call(
        "GET",
        "/issues",
        ctx.staff,
        params={"status": status, "community": ctx.preset.community, "limit": "50"},
    )
    ctx.expect_status(resp, 200)
    items = (resp.json() or {}).get("items", [])
    ctx.expect(
        all(i.get("status") == status for i in items),
        "状态过滤返回了其他状态",
        "the status filter returned other statuses",
    )
    other = "completely-unknown-status"
    resp = ctx.call("GET", "/issues", ctx.staff, params={"status": other})
    ctx.expect_status(resp, 200)
    ctx.expect(
        (resp.json() or {}).get("items") == [],
        "不存在的状态仍返回了条目",
        "an unknown status still returned items",
    )


@check(
    "/req/core/lifecycle-via-actions",
    "PUT 改变状态或历史得到 422",
    "a PUT that changes status or history gets 422",
)
def test_status_only_by_actions(ctx: KitContext) -> None:
    doc = ctx.document("Issue")
    stored = ctx.created(doc)
    lifecycle = ctx.spec.lifecycles["Issue"]
    other = next(
        t["to"] for t in lifecycle["transitions"] if t.get("to") and t["to"] != doc["status"]
    )
    edited = copy.deepcopy(doc)
    edited["status"] = other
    resp = ctx.call(
        "PUT",
        f"/issues/{doc['id']}",
        ctx.staff,
        json_body=edited,
        headers={"If-Match": _etag(stored)},
    )
    ctx.expect_problem(resp, 422)


def _first_action(ctx: KitContext, status: str, role: str, allowed: bool,
                  resource_type: str = "Issue") -> str | None:
    """An action from ``status`` that ``role`` may (or may not) perform, preferring one whose
    details may be empty, so that only the role or the status can be wrong."""
    rows = [t for t in ctx.spec.lifecycles[resource_type]["transitions"]
            if status in t["from"] and (role in t["roles"]) == allowed]
    rows.sort(key=lambda t: bool((t.get("details") or {}).get("required")))
    return str(rows[0]["action"]) if rows else None


def _wrong_status_action(ctx: KitContext, status: str, role: str,
                         resource_type: str = "Issue") -> str | None:
    rows = [t for t in ctx.spec.lifecycles[resource_type]["transitions"]
            if t["from"] and status not in t["from"] and role in t["roles"]]
    rows.sort(key=lambda t: bool((t.get("details") or {}).get("required")))
    return str(rows[0]["action"]) if rows else None


@check(
    "/req/core/action-roles",
    "不允许的角色得到 403，不允许的状态得到 409，且都不改变资源",
    "a role not allowed gets 403, a status not allowed 409, and neither changes anything",
)
def test_action_roles(ctx: KitContext) -> None:
    from .._flows import Tracked, new_issue

    tried = 0
    for rt, doc in (("Issue", new_issue(ctx)), ("Consultation",
                                               ctx.document("Consultation", status="proposed"))):
        item = Tracked(ctx, doc)
        status = item.doc["status"]
        for who in ctx.preset.principals.values():
            action = _first_action(ctx, status, who.role, allowed=False, resource_type=rt)
            if action is None or ctx.read(rt, item.id, who).status != 200:
                continue  # nothing forbidden to this role here, or it cannot see the resource
            resp = ctx.call("POST", f"{item.path}/actions/{action}", who, json_body={},
                            headers={"If-Match": item.etag})
            item.refused(resp, 403, f"{action} by {who.role}")
            tried += 1
        action = _wrong_status_action(ctx, status, ctx.staff.role, rt)
        if action is not None:
            resp = ctx.call("POST", f"{item.path}/actions/{action}", ctx.staff, json_body={},
                            headers={"If-Match": item.etag})
            item.refused(resp, 409, f"{action} from {status}")
            tried += 1
    if not tried:
        raise Skipped("预设中没有可用于检查的角色", "no preset role could be used for the check")


@check(
    "/req/core/history-append-only",
    "动作只追加一个事件，不改变已有事件",
    "an action appends one event and changes none",
)
def test_history(ctx: KitContext) -> None:
    doc = ctx.document("Issue")
    stored = ctx.created(doc)
    action = _first_action(ctx, doc["status"], ctx.staff.role, allowed=True)
    if action is None:
        raise Skipped("社区工作人员没有可执行的动作", "community staff has no action to perform")
    resp = ctx.call(
        "POST",
        f"/issues/{doc['id']}/actions/{action}",
        ctx.staff,
        json_body={"note": "一致性测试 conformance kit"},
        headers={"If-Match": _etag(stored)},
    )
    ctx.expect_status(resp, 200, zh=f"执行 {action}", en=f"perform {action}")
    history = ctx.call("GET", f"/issues/{doc['id']}/history", ctx.staff)
    ctx.expect_status(history, 200)
    items = (history.json() or {}).get("items", [])
    before = stored.get("history", [])
    ctx.expect(
        items[: len(before)] == before,
        "已有的历史事件被改变",
        "existing history events were changed",
    )
    ctx.expect(
        len(items) == len(before) + 1,
        f"追加了 {len(items) - len(before)} 个事件",
        f"{len(items) - len(before)} events were appended",
    )


@check(
    "/req/core/echo-suppression",
    "带有本系统外部标识的副本不被当作新记录",
    "a copy carrying this system's external reference is not a new record",
)
def test_echo(ctx: KitContext) -> None:
    doc = ctx.document("Issue")
    stored = ctx.created(doc)
    source = stored.get("meta", {}).get("source")
    if not source:
        raise Skipped("服务器没有给出 meta.source", "the server gives no meta.source")
    echo = ctx.document("Issue")
    echo["externalRefs"] = [{"system": source, "value": doc["id"]}]
    resp = ctx.create(echo)
    ctx.expect(
        resp.status != 201,
        "回传的副本被当作新记录创建",
        "the echoed copy was created as a new record",
    )


@check(
    "/req/core/open-codelist",
    "开放代码表之外的代码只产生警告，文档仍被接收",
    "a code outside an open codelist only draws a warning; the document is accepted",
)
def test_open_codelist(ctx: KitContext) -> None:
    doc = ctx.document("Issue")
    doc["intakeChannel"] = "kit-unlisted-channel"
    report = validate(doc)
    if not report.valid or "core.unknown-code" not in {f.code for f in report.warnings}:
        raise KitFault("the kit's document should be valid and draw core.unknown-code")
    ctx.expect_status(ctx.create(doc), 201, zh="只有警告的文档应被接收",
                      en="a document with only a warning is accepted")


@check(
    "/req/core/deprecated",
    "使用已弃用代码的文档只产生警告，仍被接收",
    "a document using a deprecated code only draws a warning and is accepted",
)
def test_deprecated(ctx: KitContext) -> None:
    deprecated = {name: codes for name in ctx.spec.codelists
                  if (codes := [e.code for e in ctx.spec.codelist(name).entries.values()
                                if e.deprecated_since])}
    for rt in RESOURCES:
        doc = ctx.document(rt)
        for pointer, name in _bound_codes(ctx, doc):
            if name in deprecated:
                _set(doc, pointer, deprecated[name][0])
                report = validate(doc)
                if report.valid:
                    ctx.expect_status(ctx.create(doc), 201, zh="只有警告的文档应被接收",
                                      en="a document with only a warning is accepted")
                    return
                doc = ctx.document(rt)
    raise Skipped(
        f"标准 {ctx.spec.version} 没有可用于测试的已弃用代码或字段",
        f"version {ctx.spec.version} of the standard deprecates no code or field the kit can use",
    )


def _bound_codes(ctx: KitContext, doc: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """Top-level members of ``doc`` bound to a codelist, with the list's name."""
    schema = ctx.spec.schema(doc["resourceType"])
    found = []
    for name, prop in (schema.get("properties") or {}).items():
        if name in doc and isinstance(prop, dict) and prop.get("x-codelist"):
            found.append(((name,), str(prop["x-codelist"])))
    return found


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target: Any = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
