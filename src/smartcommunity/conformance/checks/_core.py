"""Core class: documents over HTTP, errors, authentication, concurrency, idempotency, paging.

The checks run over every resource type of the spec, or over the first one with a lifecycle
where a check needs statuses and actions; none names a type of its own.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from jsonschema import Draft202012Validator

from ...integrity import salts_of, seal_history
from ...specification import LATEST_CURSOR
from ...uris import same_uri
from ...validation import validate
from .._client import Response
from .._context import KitContext, KitFault, created_by
from .._preset import Principal
from .._registry import Skipped, check
from ._people import resident_in, residents_beyond_reach
from ._shared import (
    AFTER_9999,
    ISSUE,
    RESIDENT,
    ROLE,
    Tracked,
    anonymous_read,
    answer_without,
    as_sent,
    dispatch_request,
    etag_of,
    expect_none,
    fresh,
    keyed_create,
    lowercase_times,
    minted,
    new_issue,
    organisation,
    plain,
    preset_issuer,
    query,
    refused_on_create,
    resident_ref,
    transition,
    without_meta,
)
from ._watching import mirror

#: members every document carries to say what it is (/req/core/self-describing)
ENVELOPE = ("resourceType", "specVersion", "id")


def _kind(ctx: KitContext) -> str:
    """The resource type the checks of statuses and actions use: the first with a lifecycle."""
    return next(rt for rt in ctx.spec.resource_types if rt in ctx.spec.lifecycles)


@check("/req/core/conformance-endpoint")
def test_declaration(ctx: KitContext) -> None:
    resp = ctx.call("GET", "/conformance")
    ctx.expect_status(resp, 200)
    body = resp.json()
    validator = Draft202012Validator(
        ctx.spec.schema("conformance.json"), registry=ctx.spec.registry
    )
    expect_none(ctx, [e.message for e in validator.iter_errors(body)],
                "声明不符合 conformance.json", "the declaration breaks conformance.json")
    for cls in ctx.spec.conformance_classes.values():
        if cls.mandatory:
            ctx.expect(cls.uri in body["conformsTo"], f"没有声明必备的一致性类 {cls.id}",
                       f"the mandatory class {cls.id} is not declared")
    ctx.expect(
        ctx.spec.version in body["specVersions"],
        f"没有声明标准版本 {ctx.spec.version}",
        f"version {ctx.spec.version} is not declared",
    )


class _Loaded(HTMLParser):
    """The scripts and style sheets a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("src"):
            self.urls.append(str(found["src"]))
        if tag == "link" and "stylesheet" in (found.get("rel") or "").split() and found.get("href"):
            self.urls.append(str(found["href"]))


@check("/req/core/landing-page")
def test_landing_page(ctx: KitContext) -> None:
    resp = ctx.call("GET", "/")
    ctx.expect_status(resp, 200)
    page = resp.json()
    validator = Draft202012Validator(ctx.spec.schema("landing-page.json"),
                                     registry=ctx.spec.registry)
    errors = [e.message for e in validator.iter_errors(page)]
    ctx.expect(not errors, f"首页不符合 landing-page.json：{errors}",
               f"the landing page breaks landing-page.json: {errors}")
    here = resp.exchange.url
    links = [(link["rel"], urljoin(here, link["href"]), link) for link in page["links"]]
    for rel in ("service-desc", "service-doc", "conformance"):
        ctx.expect(any(r == rel for r, _, _ in links), f"首页没有 rel 为 {rel} 的链接",
                   f"the landing page has no link with rel {rel}")
    listed = {link.get("resourceType") for r, _, link in links if r == "data"}
    for rtype in ctx.spec.resource_types:
        ctx.expect(rtype in listed, f"首页没有 {rtype} 集合的链接",
                   f"the landing page does not link the {rtype} collection")
    for rel, url, _ in links:
        target = ctx.call("GET", url)
        ctx.expect(target.status in (200, 401),
                   f"链接 {rel} {url} 得到 {target.status}，应为 200（或需要令牌时 401）",
                   f"link {rel} {url} answered {target.status}, expected 200 (401 if it needs "
                   "a token)")
        if rel == "service-desc":
            api = target.json()
            ctx.expect(isinstance(api, dict) and str(api.get("openapi", "")).startswith("3.1"),
                       "service-desc 不是 OpenAPI 3.1 文档", "service-desc is not an OpenAPI 3.1 "
                       "document")
        if rel == "service-doc":
            ctx.expect(target.media_type == "text/html", "service-doc 不是 text/html 网页",
                       "service-doc is not a text/html page")
            loaded = _Loaded()
            loaded.feed(target.text)
            origin = urlsplit(url).netloc
            outside = [u for u in loaded.urls if urlsplit(urljoin(url, u)).netloc != origin]
            ctx.expect(not outside, f"API 文档从外部网络加载脚本或样式：{plain(outside, 'zh')}",
                       "the API documentation loads scripts or styles from outside: "
                       f"{plain(outside)}")


@check("/req/core/authentication")
def test_tokens_required(ctx: KitContext) -> None:
    for rt in ctx.spec.resource_types:
        if anonymous_read(ctx, ctx.collection_path(rt)):
            continue  # the public may list these without a token (anonymous-public-read)
        ctx.expect_problem(ctx.call("GET", ctx.collection_path(rt)), 401)
    bogus = ctx.client.request("GET", ctx.collection_path(_kind(ctx)),
                               token="not-a-token-" + ctx.new_id())
    ctx.expect_problem(bogus, 401)
    ctx.expect_problem(ctx.client.request("GET", ctx.path("readChanges")), 401)


@check("/req/core/problem-details")
def test_problem_shape(ctx: KitContext) -> None:
    rt = _kind(ctx)
    body = ctx.expect_problem(ctx.read(rt, ctx.new_id()), 404)
    ctx.expect(
        isinstance(body.get("code"), str) and "." in body["code"],
        "code 不是稳定的点分代码",
        "code is not a stable dotted code",
    )
    doc = ctx.document(rt)
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


def _bad_bodies(resource_type: str, version: str) -> list[tuple[str, bytes]]:
    """Request bodies no server may answer with a 5xx, for a collection of ``resource_type``."""
    opening = json.dumps({"resourceType": resource_type, "specVersion": version})[:-1].encode()
    return [
        ("not JSON", b"{not json"),
        ("empty", b""),
        ("array", b"[]"),
        ("number", b"1e999999"),
        ("invalid UTF-8", b'{"title": "\xff\xfe"}'),
        ("lone surrogate", b'{"title": "\\ud800"}'),
        ("null", b"null"),
        ("wrong types", b'{"resourceType": 1, "specVersion": [], "id": {}}'),
        ("huge integer", opening + b', "size": ' + b"9" * 5000 + b"}"),
    ]


#: an action request of the wrong shape in each member a server may read before it checks the
#: request (a city's catalogue routing a dispatch, for one)
_BAD_ACTION = {"actor": [], "note": {}, "reason": [],
               "details": {"lead": [[]], "assisting": [{}], "voteId": {}},
               "items": {"assignments": [{"id": []}, []], "followUps": [{"followUpId": {}}]}}


@check("/req/core/no-server-error")
def test_no_server_errors(ctx: KitContext) -> None:
    from .._mutate import mutants

    seen: list[str] = []
    headers = {"Content-Type": "application/json"}
    for rt in ctx.spec.resource_types:
        collection = ctx.collection_path(rt)
        for label, body in _bad_bodies(rt, ctx.spec.version):
            resp = ctx.call("POST", collection, ctx.staff, content=body, headers=headers)
            ctx.expect(
                resp.status is not None and 400 <= resp.status < 500,
                f"POST {collection}（{label}）得到 {resp.status}",
                f"POST {collection} ({label}) got {resp.status}",
            )
        template = ctx.document(rt)
        for label, doc in mutants(template, ctx.rng, 12):
            if validate(doc).valid:
                continue  # the change happened to keep the document valid
            # To the collection it came from: the change may have taken resourceType away.
            resp = ctx.call("POST", collection, ctx.staff, json_body=doc)
            ctx.expect(
                resp.status is not None and 400 <= resp.status < 500,
                f"无效文档（{label}）得到 {resp.status}，应为 4xx",
                f"an invalid document ({label}) got {resp.status}, not 4xx",
            )
            seen.append(doc.get("id") if isinstance(doc.get("id"), str) else "")
        twin = lowercase_times(ctx.document(rt))
        if validate(twin).valid:
            resp = ctx.create(twin)
            ctx.expect(resp.status == 201,
                       f"时间写作 UTC、小写 t 和 z 的有效 {rt} 得到 {resp.status}，应为 201",
                       f"a valid {rt} with its times in UTC with a lowercase t and z got "
                       f"{resp.status}, not 201")
        if rt in ctx.spec.lifecycles:
            item = Tracked(ctx, fresh(ctx, rt))
            for action in ctx.spec.actions(rt):
                resp = item.post(f"actions/{action}", copy.deepcopy(_BAD_ACTION))
                ctx.expect(resp.status is not None and 400 <= resp.status < 500,
                           f"形状错误的动作请求 {action} 得到 {resp.status}，应为 4xx",
                           f"a malformed {action} request got {resp.status}, not 4xx")
        for params in (
            {"limit": "0"},
            {"limit": "abc"},
            {"cursor": "%%%"},
            {"updatedSince": "yesterday"},
            {"status": "x" * 300},
        ):
            resp = ctx.call("GET", collection, ctx.staff, params=params)
            ctx.expect(
                resp.status is not None and 400 <= resp.status < 500,
                f"GET {collection}?{query(params)} 得到 {resp.status}",
                f"GET {collection}?{query(params)} got {resp.status}",
            )
        # A valid time whose instant is past year 9999 in UTC filters like any other.
        resp = ctx.call("GET", collection, ctx.staff, params={"updatedSince": AFTER_9999})
        ctx.expect(resp.status == 200,
                   f"GET {collection}?updatedSince={AFTER_9999} 得到 {resp.status}，应为 200",
                   f"GET {collection}?updatedSince={AFTER_9999} got {resp.status}, not 200")
    for rid in seen:
        if rid:
            for rt in ctx.spec.resource_types:
                got = ctx.read(rt, rid)
                ctx.expect(
                    got.status == 404,
                    "被拒收的文档却被保存了",
                    "a refused document was stored anyway",
                )


@check("/req/core/json-only")
def test_json_only(ctx: KitContext) -> None:
    rt = _kind(ctx)
    for media in ("text/plain", "application/xml", "application/x-www-form-urlencoded"):
        # A document the server would take as JSON: only its media type is wrong.
        doc = created_by(ctx.document(rt), ctx.staff.role)
        resp = ctx.call("POST", ctx.collection_path(rt), ctx.staff,
                        content=json.dumps(doc, ensure_ascii=False).encode(),
                        headers={"Content-Type": media})
        ctx.expect(resp.status == 415, f"以 {media} 发送的请求体得到 {resp.status}，应为 415",
                   f"a body sent as {media} got {resp.status}, not 415")
        ctx.expect_problem(resp, 415)
        ctx.expect(ctx.read(rt, doc["id"]).status == 404, f"以 {media} 发送的文档被保存了",
                   f"the document sent as {media} was stored")


@check("/req/core/unknown-parameter")
def test_unknown_parameter(ctx: KitContext) -> None:
    unknown = {"frobnicate": "1"}
    calls: list[tuple[str, Principal, dict[str, str]]] = [
        (ctx.collection_path(rt), ctx.staff, {}) for rt in ctx.spec.resource_types]
    # Not only the lists, which check their filters anyway: a single read and the feed too.
    rt = _kind(ctx)
    doc = ctx.document(rt)
    ctx.created(doc)
    calls += [(ctx.resource_path(rt, doc["id"]), ctx.staff, {}),
              (ctx.path("readChanges"), mirror(ctx, or_staff=True), {"cursor": LATEST_CURSOR})]
    for path, who, params in calls:
        resp = ctx.call("GET", path, who, params={**params, **unknown})
        ctx.expect(resp.status == 400,
                   f"GET {path}?{query(unknown)} 得到 {resp.status}，应为 400",
                   f"GET {path}?{query(unknown)} got {resp.status}, not 400")
        ctx.expect_problem(resp, 400)


def _states_limit(ctx: KitContext, problem: dict[str, Any], over: int, zh: str, en: str
                  ) -> None:
    """The problem's message says, in both languages, a limit the request went over: a
    number below ``over``, the size or depth sent."""
    given = problem.get("message")
    message = given if isinstance(given, dict) else {}
    for lang in ("zh-Hans", "en"):
        said = str(message.get(lang) or "")
        numbers = [int(n) for n in re.findall(r"[0-9]+", said)]
        ctx.expect(any(0 < n < over for n in numbers),
                   f"{zh}的拒绝没有在消息（{lang}）中说明限制：{plain(said, 'zh')}",
                   f"the refusal of {en} does not state the limit in its message ({lang}): "
                   f"{plain(said)}")


@check("/req/core/request-limits")
def test_limits(ctx: KitContext) -> None:
    limit = int(ctx.preset.limits.get("maxBodyBytes", 1024 * 1024))
    depth = int(ctx.preset.limits.get("maxDepth", 64))
    rt = _kind(ctx)
    doc = ctx.document(rt)
    doc["extensions"] = {"org.example.kit": {"padding": "x" * (limit + 1024)}}
    size = len(json.dumps(doc, ensure_ascii=False).encode())
    _states_limit(ctx, ctx.expect_problem(ctx.create(doc), 413), size, "超大请求体",
                  "an oversized body")
    deep: Any = "leaf"
    for _ in range(depth + 10):
        deep = {"d": deep}
    doc = ctx.document(rt)
    doc["extensions"] = {"org.example.kit": deep}
    _states_limit(ctx, refused_on_create(ctx, doc, 400, "nested too deep"), depth + 12,
                  "嵌套过深的请求体", "a body nested too deeply")


@check("/req/core/invalid-rejected")
def test_every_error_listed(ctx: KitContext) -> None:
    rt = _kind(ctx)
    doc = ctx.document(rt)
    required = [m for m in ctx.spec.schema(rt).get("required", ())
                if m not in (*ENVELOPE, "status")]
    doc["vendorField"] = 1
    doc["status"] = "nonsense"
    doc.pop(required[0], None)
    problem = ctx.expect_problem(ctx.create(doc), 422)
    pointers = {e.get("pointer") for e in problem.get("errors") or []}
    for expected in ("/vendorField", "/status", f"/{required[0]}"):
        ctx.expect(
            expected in pointers, f"错误列表缺少 {plain(expected, 'zh')}",
            f"the error list misses {plain(expected)}"
        )


@check("/req/core/forward-compatible")
def test_forward_compatible(ctx: KitContext) -> None:
    from ...specification import available_versions

    major, minor = (int(part) for part in ctx.spec.version.split("."))
    installed = set(available_versions())
    later = minor + 1
    while f"{major}.{later}" in installed:
        later += 1
    rt = _kind(ctx)
    doc = ctx.document(rt)
    doc["specVersion"] = f"{major}.{later}"
    doc["kitLaterMember"] = {"addedIn": doc["specVersion"]}
    ctx.ensure_valid(doc, "(a document of a later minor version)")
    ctx.expect_status(ctx.create(doc), 201, zh=f"创建 {doc['specVersion']} 版本的文档",
                      en=f"create a document of version {doc['specVersion']}")
    got = ctx.read(rt, doc["id"]).json() or {}
    ctx.expect(got.get("kitLaterMember") == doc["kitLaterMember"],
               "较高次版本文档中不认识的成员没有被保留",
               "the member a later minor version added was not kept")
    other = ctx.document(rt)
    other["specVersion"] = f"{major + 1}.0"
    problem = refused_on_create(ctx, other, 422, f"version {other['specVersion']}")
    codes = {str(e.get("code")) for e in problem.get("errors") or [] if isinstance(e, dict)}
    ctx.expect("document.unknown-spec-version" in codes,
               "拒收另一主版本的文档时没有给出 document.unknown-spec-version："
               f"{plain(codes, 'zh')}",
               f"the refusal of another major version does not say "
               f"document.unknown-spec-version: {plain(codes)}")


@check("/req/core/create-read-back")
def test_read_back(ctx: KitContext) -> None:
    for rt in ctx.spec.resource_types:
        doc = ctx.document(rt)
        resp = ctx.create(doc)
        ctx.expect_status(resp, 201, zh=f"创建 {rt}", en=f"create {rt}")
        got = ctx.read(rt, doc["id"])
        ctx.expect_status(got, 200)
        # Sealed as the server sealed it: its links, and the salts it drew (which the
        # history chain's check holds to their form and to being each event's own).
        served = got.json()
        ctx.expect(
            as_sent(served, doc) == without_meta(seal_history(doc, salt=salts_of(served))),
            f"读回的 {rt} 与提交的不同",
            f"the {rt} read back differs from what was sent",
        )


#: a system other than the server's own: a client claiming it would pass its record off as
#: another department's
_ELSEWHERE = "https://kit.example.org/another-department"
#: meta as a client might claim it: every member the server writes, none of them its own
_CLAIMED = {"versionId": "7", "createdAt": "2001-01-01T00:00:00+08:00",
            "lastUpdated": "2001-01-01T00:00:00+08:00", "source": _ELSEWHERE}


@check("/req/core/meta-source")
def test_meta_source(ctx: KitContext) -> None:
    """Every type: a create giving meta reads back with the server's own (the source of a
    record created without meta), and an update giving meta changes neither the source nor
    the creation time. The server's own source is one URI, the same for every type."""
    first: tuple[str, Any] | None = None
    for rt in ctx.spec.resource_types:
        own = (ctx.created(ctx.document(rt)).get("meta") or {}).get("source")
        ctx.expect(isinstance(own, str) and bool(own), f"创建的 {rt} 没有 meta.source",
                   f"a {rt} created has no meta.source")
        first = first or (rt, own)
        ctx.expect(own == first[1],
                   f"服务器创建的 {rt} 来源是 {own}，创建的 {first[0]} 来源是 {first[1]}："
                   "服务器自己的来源应是同一个 URI",
                   f"a {rt} the server creates comes from {own}, a {first[0]} from "
                   f"{first[1]}: the server's own source is one URI")
        doc = ctx.document(rt)
        doc["meta"] = dict(_CLAIMED)
        resp = ctx.create(doc)
        ctx.expect_status(resp, 201, zh=f"创建给出 meta 的 {rt}", en=f"create a {rt} giving meta")
        got = ctx.read(rt, doc["id"])
        meta = (got.json() or {}).get("meta") or {}
        ctx.expect(meta.get("source") == own,
                   f"创建请求的 meta.source 为 {_ELSEWHERE}，读回的 {rt} 来源是 "
                   f"{plain(meta.get('source'), 'zh')}，不是服务器自己的 {own}",
                   f"a create giving meta.source {_ELSEWHERE} reads back as a {rt} from "
                   f"{plain(meta.get('source'))}, not from the server's own {own}")
        ctx.expect(meta.get("versionId") == "1" and meta.get("createdAt") != _CLAIMED["createdAt"],
                   f"读回的 {rt} 保留了创建请求给出的 meta.versionId 或 meta.createdAt",
                   f"the {rt} read back keeps the meta.versionId or meta.createdAt its create "
                   "gave")
        resp = ctx.call("PUT", ctx.resource_path(rt, doc["id"]), ctx.staff,
                        json_body={**without_meta(got.json()), "meta": dict(_CLAIMED)},
                        headers={"If-Match": got.headers.get("etag") or etag_of(got.json())})
        ctx.expect_status(resp, 200, zh=f"更新 {rt} 并给出 meta", en=f"update a {rt} giving meta")
        after = (ctx.read(rt, doc["id"]).json() or {}).get("meta") or {}
        created = plain(meta.get("createdAt"))
        ctx.expect(after.get("source") == own and after.get("createdAt") == meta.get("createdAt"),
                   f"给出 meta 的更新之后，{rt} 的来源是 {plain(after.get('source'), 'zh')}、"
                   f"创建时间是 {plain(after.get('createdAt'), 'zh')}，应仍为 {own} 和 {created}",
                   f"after an update giving meta, the {rt}'s source is "
                   f"{plain(after.get('source'))} and its creation time "
                   f"{plain(after.get('createdAt'))}, not still {own} and {created}")


@check("/req/core/extensions-preserved")
def test_extensions(ctx: KitContext) -> None:
    ext = {"org.example.kit": {"nested": [1, {"a": "b", "中文": True}], "n": 1.5}}
    # What an update gives is kept as given too: a namespace added, a value changed.
    later = {"org.example.kit": {"nested": [2, {"a": "c"}], "n": 2.5},
             "org.example.kit.other": {"list": [0, False, {"k": [1.25]}], "edited": True}}
    for rt in ctx.spec.resource_types:
        doc = ctx.document(rt)
        doc["extensions"] = copy.deepcopy(ext)
        stored = ctx.created(doc)
        got = ctx.read(rt, doc["id"]).json() or {}
        ctx.expect(got.get("extensions") == ext, f"{rt} 的扩展被改变", f"{rt} extensions changed")
        resp = ctx.call("PUT", ctx.resource_path(rt, doc["id"]), ctx.staff,
                        json_body={**without_meta(stored), "extensions": copy.deepcopy(later)},
                        headers={"If-Match": etag_of(stored)})
        ctx.expect_status(resp, 200, zh=f"更新 {rt} 的扩展", en=f"update the extensions of a {rt}")
        got = ctx.read(rt, doc["id"]).json() or {}
        ctx.expect(got.get("extensions") == later, f"更新后 {rt} 的扩展与更新给出的不同",
                   f"after an update the {rt}'s extensions differ from what it gave")


@check("/req/core/id-conflict")
def test_conflict(ctx: KitContext) -> None:
    doc = ctx.document(_kind(ctx))
    stored = ctx.created(doc)
    again = copy.deepcopy(doc)
    again["extensions"] = {"org.example.kit": {"second": ctx.new_id()[:8]}}
    resp = ctx.create(again)
    ctx.expect(resp.status == 409, f"以已存在的标识再次创建得到 {resp.status}，应为 409",
               f"creating the id that exists again got {resp.status}, not 409")
    ctx.expect_problem(resp, 409)
    kept = ctx.read(doc["resourceType"], doc["id"]).json() or {}
    ctx.expect(without_meta(kept) == without_meta(stored), "以已存在的标识创建改变了已存储的记录",
               "creating an id that exists changed the stored record")


@check("/req/core/not-found")
def test_not_found(ctx: KitContext) -> None:
    missing = {}
    for rt in ctx.spec.resource_types:
        resp = ctx.read(rt, ctx.new_id())
        ctx.expect(resp.status == 404, f"读取不存在的 {rt} 得到 {resp.status}，应为 404",
                   f"reading a {rt} that does not exist got {resp.status}, not 404")
        missing[rt] = ctx.expect_problem(resp, 404)
    # A record that exists but may not be seen answers as a missing one does: its status and
    # code do not tell that it exists.
    other = ctx.preset.other_community
    outsider = ctx.preset.by_role(ctx.staff_role, community=other) if other else None
    if outsider is None or outsider.serves(ctx.preset.community):
        ctx.remark("预设中没有只服务另一社区的工作人员，没有尝试读取无权查看的资源",
                   "the preset has no staff serving only another community, so reading a "
                   "resource that may not be seen was not tried")
        return
    for rt in ctx.spec.resource_types:
        doc = ctx.document(rt)
        ctx.created(doc)
        resp = ctx.read(rt, doc["id"], outsider)
        if resp.status == 200:
            continue  # shared beyond its community (an organisation, a public consultation)
        ctx.expect(resp.status == 404,
                   f"{outsider.name} 读取无权查看的 {rt} 得到 {resp.status}，应为 404",
                   f"{outsider.name} reading a {rt} it may not see got {resp.status}, not 404")
        code = ctx.expect_problem(resp, 404).get("code")
        ctx.expect(code == missing[rt].get("code"),
                   f"无权查看的 {rt} 的 404 代码 {plain(code, 'zh')} 与不存在的不同",
                   f"the 404 of a {rt} that may not be seen has the code {plain(code)}, unlike "
                   "a missing one's")


@check("/req/core/etag")
def test_etag(ctx: KitContext) -> None:
    for rt in ctx.spec.resource_types:
        doc = ctx.document(rt)
        created = ctx.create(doc)
        ctx.expect_status(created, 201)
        got = ctx.read(rt, doc["id"])
        body = got.json() or {}
        ctx.expect(
            got.headers.get("etag") == etag_of(body),
            f"ETag {plain(got.headers.get('etag'), 'zh')} 与版本 {etag_of(body)} 不符",
            f"ETag {plain(got.headers.get('etag'))} differs from version {etag_of(body)}",
        )
        ctx.expect(
            created.headers.get("etag") == etag_of(created.json() or {}),
            "创建响应的 ETag 不对",
            "the create response's ETag is wrong",
        )


@check("/req/core/no-store")
def test_no_store(ctx: KitContext) -> None:
    rt = ctx.spec.resource_types[0]
    doc = ctx.document(rt)
    collection, feed = ctx.collection_path(rt), ctx.path("readChanges")
    answers = {
        f"POST {collection}": ctx.create(doc),
        f"GET {ctx.resource_path(rt, doc['id'])}": ctx.read(rt, doc["id"]),
        f"GET {collection}": ctx.call("GET", collection, ctx.staff, params={"limit": "1"}),
        f"GET {collection}/… (404)": ctx.read(rt, ctx.new_id()),
        f"GET {feed}": ctx.call("GET", feed, ctx.staff, params={"cursor": LATEST_CURSOR}),
        f"GET {feed} (401)": ctx.client.request("GET", feed),
    }
    for what, resp in answers.items():
        given = resp.headers.get("cache-control") or ""
        directives = {part.split("=")[0].strip().lower() for part in given.split(",")}
        ctx.expect("no-store" in directives,
                   f"{what} 的应答没有 Cache-Control: no-store"
                   f"（实际为 {plain(given or None, 'zh')}）",
                   f"the answer to {what} lacks Cache-Control: no-store "
                   f"(given: {plain(given or None)})")


@check("/req/core/if-match")
def test_if_match(ctx: KitContext) -> None:
    rt = ctx.spec.resource_types[0]
    doc = ctx.document(rt)
    stored = ctx.created(doc)
    path = ctx.resource_path(rt, doc["id"])
    edited = copy.deepcopy(doc)
    edited["extensions"] = {"org.example.kit": {"edit": 1}}
    ctx.expect_problem(ctx.call("PUT", path, ctx.staff, json_body=edited), 428)
    ctx.expect_problem(
        ctx.call("PUT", path, ctx.staff, json_body=edited, headers={"If-Match": '"999999"'}), 412
    )
    unchanged = ctx.read(rt, doc["id"]).json() or {}
    ctx.expect(
        without_meta(unchanged) == without_meta(stored),
        "412 之后数据被改变",
        "the data changed after a 412",
    )
    etag = etag_of(stored)
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
    final = ctx.read(rt, doc["id"]).json() or {}
    ctx.expect(
        final.get("meta", {}).get("versionId") == str(int(stored["meta"]["versionId"]) + 1),
        "版本号没有恰好加一",
        "the version did not increase by exactly one",
    )
    for lifecycle in ctx.spec.lifecycles:
        _action_if_match(ctx, lifecycle)


def _action_if_match(ctx: KitContext, resource_type: str) -> None:
    """A lifecycle action is a write like PUT: without If-Match 428, with a stale version 412,
    and neither carries it out."""
    action = _first_action(ctx, resource_type, ctx.staff.role)
    if action is None:
        return
    item = Tracked(ctx, fresh(ctx, resource_type))
    stale = item.etag
    item.put(extensions={"org.example.kit": {"edit": 1}})  # the first version is stale now
    path = f"{item.path}/actions/{action}"
    tried = []
    for status, headers, zh, en in ((428, {}, "不带 If-Match", "without If-Match"),
                                    (412, {"If-Match": stale}, "带过期的 If-Match",
                                     "with a stale If-Match")):
        before = without_meta(item.doc)
        resp = ctx.call("POST", path, ctx.staff, json_body={}, headers=headers)
        ctx.expect(not 200 <= (resp.status or 0) < 300
                   and without_meta(item.refresh()) == before,
                   f"{resource_type} 的动作 {action} {zh}却被执行了（{resp.status}）",
                   f"the action {action} on a {resource_type} {en} was carried out "
                   f"({resp.status})")
        tried.append((resp, status))
    # Which refusal comes first when the action itself is not possible is not said; when it
    # is (it succeeds with the current version), only the version can have refused it.
    if item.act(action, expect=None).status == 200:
        for resp, status in tried:
            ctx.expect_problem(resp, status)


@check("/req/core/idempotency-key")
def test_idempotency(ctx: KitContext) -> None:
    rt = _kind(ctx)
    doc = ctx.document(rt)
    first, same_key = keyed_create(ctx, doc)
    replay = ctx.create(doc, headers=same_key)
    ctx.expect(
        replay.status in (200, 201), f"重放得到 {replay.status}", f"the replay got {replay.status}"
    )
    ctx.expect(
        replay.json() == first.json(),
        "重放的响应体与第一次不同",
        "the replay's body differs from the first",
    )
    other = ctx.document(rt)
    ctx.expect_problem(ctx.create(other, headers=same_key), 422)
    ctx.expect(
        ctx.read(rt, other["id"]).status == 404,
        "同一键配不同请求体却创建了资源",
        "the same key with another body created a resource",
    )
    # The same id with other members is another body too: a replay is known by the whole
    # body, not by the id it creates.
    changed = copy.deepcopy(doc)
    changed["extensions"] = {"org.example.kit": {"changed": ctx.new_id()[:8]}}
    ctx.expect_problem(ctx.create(changed, headers=same_key), 422)
    version = ((ctx.read(rt, doc["id"]).json() or {}).get("meta") or {}).get("versionId")
    ctx.expect(
        version == ((first.json() or {}).get("meta") or {}).get("versionId"),
        "同一键、同一标识配不同请求体改变了资源",
        "the same key and id with another body changed the resource",
    )
    _same_key_at_once(ctx, ctx.document(rt))


def _same_key_at_once(ctx: KitContext, doc: dict[str, Any], senders: int = 6) -> None:
    """Requests with one key and body sent at once: one creates, the others replay it, as a
    client resending over several connections (or to several processes) would see."""
    headers = {"Idempotency-Key": "kit-" + ctx.new_id()}
    start = threading.Barrier(senders)
    answers: list[Response] = []

    def send() -> None:
        start.wait(30)
        answers.append(ctx.create(copy.deepcopy(doc), headers=headers))

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(a.status or 0 for a in answers)
    ctx.expect(
        statuses.count(201) >= 1 and all(s in (200, 201) for s in statuses),
        f"同一键的 {senders} 个请求同时发送，得到 {statuses}：应当一个创建、其余重放",
        f"{senders} requests with one key sent at once got {statuses}: one should create "
        "and the others replay it",
    )
    bodies = [a.json() for a in answers if a.status in (200, 201)]
    ctx.expect(
        all(body == bodies[0] for body in bodies),
        "同时发送的同一键请求得到的响应体不同",
        "requests with one key sent at once got different bodies",
    )
    ctx.expect_status(ctx.read(doc["resourceType"], doc["id"]), 200,
                      zh="读取同时以同一键创建的资源", en="read what they created")


@check("/req/core/paging")
def test_paging(ctx: KitContext) -> None:
    rt = _kind(ctx)
    since = (datetime.now(UTC) - timedelta(seconds=2)).isoformat(timespec="seconds")
    mine = []
    for i in range(7):
        doc = ctx.document(rt)
        stored = ctx.created(doc)
        mine.append(doc["id"])
        updated = (stored.get("meta") or {}).get("lastUpdated")
        if i == 0 and isinstance(updated, str):
            # From the first record on, by the server's clock: the pages hold the check's
            # own records, not whatever else was written in the seconds before.
            since = updated
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "3", "updatedSince": since, "community": ctx.preset.community}
        if cursor:
            params["cursor"] = cursor
        resp = ctx.call("GET", ctx.collection_path(rt), ctx.staff, params=params)
        ctx.expect_status(resp, 200)
        body = resp.json() or {}
        seen += [item["id"] for item in body.get("items", [])]
        if pages == 0:
            for _ in range(3):  # writes while paging
                ctx.created(ctx.document(rt))
        cursor = body.get("next")
        pages += 1
        if not cursor or pages > 500:
            break
    duplicates = sorted({i for i in seen if seen.count(i) > 1})
    ctx.expect(not duplicates, f"重复出现：{duplicates}", f"returned twice: {duplicates}")
    missing = [i for i in mine if i not in seen]
    ctx.expect(not missing, f"遗漏：{plain(missing, 'zh')}", f"never returned: {plain(missing)}")


@check("/req/core/list-filters")
def test_filters(ctx: KitContext) -> None:
    rt = _kind(ctx)
    doc = ctx.document(rt)
    stored = ctx.created(doc)
    status = doc["status"]
    since = str((stored.get("meta") or {}).get("lastUpdated") or ctx.since)
    community = ctx.preset.community
    items = list(ctx.items(rt, params={"status": status, "community": community,
                                       "updatedSince": since}))
    ctx.expect(
        all(i.get("status") == status for i in items),
        "状态过滤返回了其他状态",
        "the status filter returned other statuses",
    )
    ctx.expect(doc["id"] in {i.get("id") for i in items},
               "按社区、状态和更新时间过滤的列表没有返回刚创建的记录",
               "the list filtered by community, status and updated-since misses the record "
               "just created")
    early = [i.get("id") for i in items if not _updated_since(i, since)]
    expect_none(ctx, early, f"updatedSince={since} 返回了更早更新的条目",
                f"updatedSince={since} returned items updated before it")
    for params, zh, en in (
        ({"status": "completely-unknown-status"}, "不存在的状态仍返回了条目",
         "an unknown status still returned items"),
        ({"updatedSince": _FAR_FUTURE}, f"updatedSince={_FAR_FUTURE} 仍返回了条目",
         f"updatedSince={_FAR_FUTURE} still returned items"),
    ):
        ctx.expect(not list(ctx.items(rt, ctx.staff, params)), zh, en)
    # Another community's list, read by a principal serving both, leaves the record out.
    other = ctx.preset.other_community
    both = next((p for p in ctx.serving(ROLE.system, ROLE.regulator)
                 if other and p.serves(other)), None)
    if both is None or not other:
        ctx.remark("预设中没有同时服务两个社区的系统或监管主体，没有尝试按另一社区过滤",
                   "the preset has no system or regulator serving two communities, so the "
                   "filter by another community was not tried")
        return
    for where, wanted in ((community, True), (other, False)):
        ids = {i.get("id") for i in ctx.items(rt, both, {"community": where,
                                                         "updatedSince": since})}
        ctx.expect((doc["id"] in ids) == wanted,
                   f"{both.name} 按社区 {where} 过滤的列表{'没有' if wanted else ''}返回社区 "
                   f"{community} 中刚创建的记录",
                   f"{both.name}'s list filtered by community {where} "
                   f"{'misses' if wanted else 'returns'} the record just created in {community}")


#: an updatedSince no record of a running server was updated after
_FAR_FUTURE = "2999-01-01T00:00:00+08:00"


def _updated_since(item: dict[str, Any], since: str) -> bool:
    """Whether ``item``'s meta.lastUpdated is at or after ``since``, compared as instants (an
    item without one is not held against the filter)."""
    updated = (item.get("meta") or {}).get("lastUpdated") if isinstance(item, dict) else None
    try:
        return updated is None or (datetime.fromisoformat(str(updated).replace("Z", "+00:00"))
                                   >= datetime.fromisoformat(since.replace("Z", "+00:00")))
    except ValueError:
        return True


@check("/req/core/lifecycle-via-actions")
def test_status_only_by_actions(ctx: KitContext) -> None:
    rt = _kind(ctx)
    item = Tracked(ctx, fresh(ctx, rt))
    status = item.doc["status"]
    other = next(t["to"] for t in ctx.spec.lifecycle(rt)["transitions"]
                 if t.get("to") and t["to"] != status)
    item.refuse_put({**without_meta(item.doc), "status": other}, 422, "PUT changing status")
    # What an action writes, written by a PUT instead: the status with the event leading to
    # it, as a twin got it through the action (its link and salt are the server's to write).
    moves = [a for a in _actions(ctx, rt, status, ctx.staff_role, allowed=True)
             if transition(ctx, rt, a).get("to") not in (None, status)]
    twin = Tracked(ctx, fresh(ctx, rt)) if moves else None
    if twin is not None and twin.act(moves[0], expect=None).status == 200:
        event = {k: v for k, v in twin.history[-1].items()
                 if k not in ("previousDigest", "salt")}
        item.refuse_put({**without_meta(item.doc), "status": twin.doc["status"],
                         "history": [*item.history, event]}, 422,
                        f"PUT writing what {moves[0]} writes")
    else:
        ctx.remark(f"工作人员无法从 {status} 执行改变状态的动作，没有尝试以 PUT 写入动作的结果",
                   f"the kit's staff could not move a {rt} out of {status} by an action, so a "
                   "PUT writing an action's result was not tried")
    # The history rewritten, the status kept.
    history = copy.deepcopy(item.history)
    history[0]["note"] = f"改写的历史 / rewritten history {ctx.new_id()[:8]}"
    item.refuse_put({**without_meta(item.doc), "history": history}, 422,
                    "PUT rewriting a history event")


def _actions(ctx: KitContext, resource_type: str, status: str, role: str, *,
             allowed: bool, from_status: bool = True) -> list[str]:
    """Actions of ``resource_type`` that ``role`` may (``allowed``) or may not perform from
    ``status`` (or, without ``from_status``, may perform but not from ``status``); those
    whose details may be empty first, so that only the role or the status can be wrong."""
    rows = [t for t in ctx.spec.lifecycle(resource_type)["transitions"]
            if t["from"] and (status in t["from"]) == from_status
            and (role in t["roles"]) == allowed]
    rows.sort(key=lambda t: bool((t.get("details") or {}).get("required")))
    return [str(t["action"]) for t in rows]


@check("/req/core/action-roles")
def test_action_roles(ctx: KitContext) -> None:
    tried = 0
    for rt in ctx.spec.lifecycles:
        item = Tracked(ctx, fresh(ctx, rt))
        status = item.doc["status"]
        for who in ctx.preset.principals.values():
            forbidden = _actions(ctx, rt, status, who.role, allowed=False)
            if not forbidden or item.read(who).status != 200:
                continue  # nothing forbidden to this role here, or it cannot see the resource
            item.refuse(forbidden[0], {}, who, 403, f"{forbidden[0]} by {who.role}")
            tried += 1
        elsewhere = _actions(ctx, rt, status, ctx.staff_role, allowed=True, from_status=False)
        if elsewhere:
            item.refuse(elsewhere[0], {}, ctx.staff, 409, f"{elsewhere[0]} from {status}")
            tried += 1
    if not tried:
        raise Skipped("预设中没有可用于检查的角色", "no preset role could be used for the check")


def _rewritten(before: list[Any], after: list[Any]) -> tuple[str, str]:
    """How ``after`` differs from the history ``before`` within its length, in Chinese and
    in English: each earlier event changed (numbered from 1) with the members that differ;
    empty when none did."""
    zh: list[str] = []
    en: list[str] = []
    for n, (old, new) in enumerate(zip(before, after, strict=False), 1):
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            for k in sorted(k for k in {*old, *new} if old.get(k) != new.get(k)):
                zh.append(f"第 {n} 个事件的 {k} 原为 {plain(old.get(k), 'zh')}，"
                          f"现为 {plain(new.get(k), 'zh')}")
                en.append(f"{k} of event {n} was {plain(old.get(k))}, "
                          f"now {plain(new.get(k))}")
        else:
            zh.append(f"第 {n} 个事件")
            en.append(f"event {n}")
    gone = len(before) - len(after)
    if gone > 0:
        zh.append(f"最后 {gone} 个事件被删除")
        en.append(f"the last {gone} events were removed")
    return "；".join(zh), "; ".join(en)


@check("/req/core/history-append-only")
def test_history(ctx: KitContext) -> None:
    rt = _kind(ctx)
    item = Tracked(ctx, fresh(ctx, rt))
    actions = _actions(ctx, rt, item.doc["status"], ctx.staff_role, allowed=True)
    if not actions:
        raise Skipped("工作人员没有可执行的动作", "the kit's staff have no action to perform")
    before = item.history
    resp = item.post(f"actions/{actions[0]}", {"note": "一致性测试 conformance kit"})
    ctx.expect_status(resp, 200, zh=f"执行 {actions[0]}", en=f"perform {actions[0]}")
    history = item.read_history()
    ctx.expect_status(history, 200)
    items = (history.json() or {}).get("items", [])
    zh, en = _rewritten(before, items)
    ctx.expect(not zh, f"执行 {actions[0]} 后已有的历史事件被改变：{zh}",
               f"after {actions[0]}, earlier history events changed: {en}")
    ctx.expect(
        len(items) == len(before) + 1,
        f"追加了 {len(items) - len(before)} 个事件",
        f"{len(items) - len(before)} events were appended",
    )
    # An update is not an action: the history it writes back is the history stored, every
    # event as it was and none added, even where the server would recompute the digest
    # chain over a rewritten event so that it still checks.
    item.refresh()
    before = item.history
    item.put()
    after = item.history
    zh, en = _rewritten(before, after)
    ctx.expect(not zh, f"更新 {item.path} 后历史事件被改变：{zh}，应与更新前完全相同",
               f"after an update of {item.path}, history events changed: {en}; they must stay "
               "exactly as they were")
    ctx.expect(len(after) <= len(before),
               f"更新 {item.path} 后历史有 {len(after)} 个事件，更新前有 {len(before)} 个："
               "更新不追加事件",
               f"after an update of {item.path} the history has {len(after)} events, "
               f"{len(before)} before: an update appends none")


def _answer(resp: Response) -> str:
    """A response as the echo check compares it: its status and, for a problem, its code."""
    body = resp.json()
    code = body.get("code") if isinstance(body, dict) and resp.status != 201 else None
    return f"{resp.status} {code}" if isinstance(code, str) else str(resp.status)


def _spelled_otherwise(uri: str) -> str:
    """Another spelling of ``uri`` that RFC 3986 normalisation makes the same URI: the scheme
    and an authority in upper case, an http(s) default port and an empty path written out,
    and the first unreserved character after them percent-encoded (``uri`` when none is)."""
    scheme, colon, rest = uri.partition(":")
    if not (scheme and colon):
        return uri
    head = ""
    if rest.startswith("//"):
        end = next((i for i in range(2, len(rest)) if rest[i] in "/?#"), len(rest))
        head, rest = rest[:end], rest[end:] or "/"
        if "@" not in head:  # a user name is case-sensitive
            head = head.upper()
        port = {"http": ":80", "https": ":443"}.get(scheme.lower())
        if port and ":" not in head.rpartition("]")[2]:
            head += port
    i = 0
    while i < len(rest):
        if rest[i] == "%":
            i += 3  # an octet encoded already
        elif rest[i].isascii() and (rest[i].isalnum() or rest[i] in "-._~"):
            rest = f"{rest[:i]}%{ord(rest[i]):02x}{rest[i + 1:]}"
            break
        else:
            i += 1
    spelled = f"{scheme.upper()}:{head}{rest}"
    return spelled if same_uri(spelled, uri) else uri


def _echo(ctx: KitContext, rt: str, system: str, value: str, who: Principal | None = None,
          community: str | None = None) -> Response:
    """Create a new ``rt`` whose externalRefs name ``system``'s record ``value``."""
    echo = ctx.document(rt, community=community)
    echo["externalRefs"] = [{"system": system, "value": value}]
    return ctx.create(echo, who)


def _echo_by_update(ctx: KitContext, rt: str, source: str, rid: str) -> None:
    """An update adding a reference to the server's own system to the record ``rid`` is
    refused, and the record keeps its references."""
    got = ctx.read(rt, rid)
    body = got.json() if got.status == 200 else None
    if not isinstance(body, dict):
        ctx.remark(f"无法读取所创建的 {rt}（{got.status}），没有尝试以更新加入本系统的外部标识",
                   f"the {rt} created could not be read ({got.status}), so an update adding "
                   "the server's own reference was not tried")
        return
    kept = body.get("externalRefs")
    for system in dict.fromkeys((source, _spelled_otherwise(source))):
        refs = [*(kept or []), {"system": system, "value": ctx.new_id()}]
        resp = ctx.call("PUT", ctx.resource_path(rt, rid), ctx.staff,
                        json_body={**without_meta(body), "externalRefs": refs},
                        headers={"If-Match": got.headers.get("etag") or etag_of(body)})
        after = ctx.read(rt, rid).json() or {}
        ctx.expect(resp.status != 200 and after.get("externalRefs") == kept,
                   f"更新给 {rt} 加入了指向服务器自己系统的外部标识 {system}（{resp.status}）",
                   f"an update added a reference naming the server's own system, {system}, to "
                   f"a {rt} ({resp.status})")
        problem = ctx.expect_problem(resp, 409)
        ctx.expect(problem.get("code") == "http.echo",
                   f"更新加入指向本系统 {system} 的外部标识得到 {problem.get('code')}，"
                   "应为 http.echo",
                   f"an update adding a reference to the server's own system {system} got "
                   f"{problem.get('code')}, not http.echo")


@check("/req/core/echo-suppression")
def test_echo(ctx: KitContext) -> None:
    """Every type whose schema carries externalRefs: a copy naming the server's own system
    (the meta.source of what it creates), also spelled otherwise, is not created again, and
    the answer is the one a copy naming no record gets, also for a record the sender may not
    see; nor does an update add a reference naming that system."""
    other = ctx.preset.other_community
    outsider = ctx.preset.by_role(ctx.staff_role, community=other) if other else None
    if outsider is not None and outsider.serves(ctx.preset.community):
        outsider = None
    tried = []
    for rt in ctx.spec.resource_types:
        if "externalRefs" not in ctx.spec.schema(rt).get("properties", {}):
            continue
        doc = ctx.document(rt)
        made = ctx.create(doc)
        body = made.json() if made.status == 201 else None
        meta = body.get("meta") if isinstance(body, dict) else None
        source = meta.get("source") if isinstance(meta, dict) else None
        if not isinstance(source, str) or not source:
            ctx.remark(f"无法创建 {rt}（{made.status}）或它没有 meta.source，没有检查它的回传",
                       f"a {rt} could not be created ({made.status}) or has no meta.source, "
                       "so its echo was not tried")
            continue
        tried.append(rt)
        held = _echo(ctx, rt, source, doc["id"])
        ctx.expect(held.status != 201, f"回传的 {rt} 副本被当作新记录创建",
                   f"the echoed copy of a {rt} was created as a new record")
        unknown = _echo(ctx, rt, source, ctx.new_id())
        ctx.expect(_answer(unknown) == _answer(held),
                   f"回传已有 {rt} 的副本得到 {_answer(held)}，指向不存在记录的得到 "
                   f"{_answer(unknown)}：回答透露了记录是否存在",
                   f"the copy of a {rt} the server holds got {_answer(held)}, one naming no "
                   f"record {_answer(unknown)}: the answer tells whether the record exists")
        spelled = _spelled_otherwise(source)
        if spelled != source:
            respelled = _echo(ctx, rt, spelled, doc["id"])
            ctx.expect(_answer(respelled) == _answer(held),
                       f"以 {spelled}（{source} 的另一种写法）回传的 {rt} 副本得到 "
                       f"{_answer(respelled)}，而不是 {_answer(held)}",
                       f"the copy of a {rt} naming {spelled}, another spelling of {source}, "
                       f"got {_answer(respelled)}, not {_answer(held)}")
        _echo_by_update(ctx, rt, source, doc["id"])
        if outsider is None or ctx.read(rt, doc["id"], outsider).status == 200:
            continue  # no one to try, or shared beyond its community
        unseen = _echo(ctx, rt, source, doc["id"], outsider, other)
        control = _echo(ctx, rt, source, ctx.new_id(), outsider, other)
        ctx.expect(_answer(unseen) == _answer(control),
                   f"{outsider.name} 回传无权查看的 {rt} 的副本得到 {_answer(unseen)}，指向不存在"
                   f"记录的得到 {_answer(control)}：回答透露了记录是否存在",
                   f"{outsider.name}'s copy of a {rt} it may not see got {_answer(unseen)}, one "
                   f"naming no record {_answer(control)}: the answer tells that the record "
                   "exists")
    if not tried:
        raise Skipped("没有能创建的带 externalRefs 的资源", "no resource carrying externalRefs "
                      "could be created")
    if outsider is None:
        ctx.remark("预设中没有只服务另一社区的工作人员，没有尝试回传无权查看的记录",
                   "the preset has no staff serving only another community, so the echo of a "
                   "record the sender may not see was not tried")


@check("/req/core/open-codelist")
def test_open_codelist(ctx: KitContext) -> None:
    for rt in ctx.spec.resource_types:
        for path, _, is_open in _bound_codes(ctx, ctx.document(rt)):
            if not is_open:
                continue
            doc = ctx.document(rt)
            _set(doc, path, "kit-unlisted-code")
            report = validate(doc)
            if report.valid and "core.unknown-code" in {f.code for f in report.warnings}:
                ctx.expect_status(ctx.create(doc), 201, zh="只有警告的文档应被接收",
                                  en="a document with only a warning is accepted")
                return
    raise KitFault("no document of the spec has a member bound to an open codelist that draws "
                   "core.unknown-code alone")


@check("/req/core/deprecated")
def test_deprecated(ctx: KitContext) -> None:
    deprecated = {name: codes for name in ctx.spec.codelists
                  if (codes := [e.code for e in ctx.spec.codelist(name).entries.values()
                                if e.deprecated_since])}
    for rt in ctx.spec.resource_types:
        doc = ctx.document(rt)
        for pointer, name, _ in _bound_codes(ctx, doc):
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


def _bound_codes(ctx: KitContext, doc: dict[str, Any]
                 ) -> list[tuple[tuple[Any, ...], str, bool]]:
    """Top-level members of ``doc`` bound to a codelist, with the list's name and whether it
    is open."""
    schema = ctx.spec.schema(doc["resourceType"])
    found = []
    for name, prop in (schema.get("properties") or {}).items():
        if name in doc and isinstance(prop, dict) and prop.get("x-codelist"):
            found.append(((name,), str(prop["x-codelist"]), bool(prop.get("x-openCodelist"))))
    return found


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target: Any = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


@check("/req/core/if-match-version")
def test_if_match_wildcard(ctx: KitContext) -> None:
    for rt in ctx.spec.resource_types:
        doc = ctx.document(rt)
        stored = ctx.created(doc)
        path = ctx.resource_path(rt, doc["id"])
        edited = copy.deepcopy(doc)
        edited["extensions"] = {"org.example.kit": {"blind": 1}}
        for tag in ("*", '"0", *'):
            ctx.expect_problem(ctx.call("PUT", path, ctx.staff, json_body=edited,
                                        headers={"If-Match": tag}), 428)
        if rt in ctx.spec.lifecycles:
            for transition in ctx.spec.lifecycle(rt)["transitions"]:
                if transition["from"]:
                    resp = ctx.call("POST", f"{path}/actions/{transition['action']}", ctx.staff,
                                    json_body={}, headers={"If-Match": "*"})
                    ctx.expect_problem(resp, 428)
        after = ctx.read(rt, doc["id"]).json() or {}
        ctx.expect(
            after.get("meta", {}).get("versionId") == stored["meta"]["versionId"],
            f"If-Match: * 的写入改变了 {rt}",
            f"a write with If-Match: * changed the {rt}",
        )


def _paged(ctx: KitContext) -> list[str]:
    """The paths of the GET operations with a ``cursor`` parameter."""
    found = []
    for path, item in ctx.spec.openapi.get("paths", {}).items():
        operation = item.get("get")
        if not isinstance(operation, dict) or "{" in path:
            continue
        parameters = ctx.spec.openapi.get("components", {}).get("parameters", {})
        names = [(parameters.get(p["$ref"].rsplit("/", 1)[-1], {}) if "$ref" in p else p)
                 .get("name") for p in [*item.get("parameters", []),
                                        *operation.get("parameters", [])]]
        if "cursor" in names:
            found.append(path)
    return found


def _b64(text: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(text).decode().rstrip("=")


#: cursors no server gives: digits of other scripts and superscripts (which ``str.isdigit``
#: takes and ``int`` may not), signs, spaces, huge numbers, bytes that are not UTF-8
FORGED_CURSORS = ("r²", "f²", "r١٢", "f١٢", "r-1", "f 1", "r" + "9" * 60, "\u0000")


@check("/req/core/cursor-opaque")
def test_forged_cursors(ctx: KitContext) -> None:
    paths = _paged(ctx)
    ctx.expect(bool(paths), "OpenAPI 中没有分页端点", "the OpenAPI has no paged endpoint")
    who = ctx.serving("regulator", "system") or [ctx.staff]
    cursors = [_b64(c.encode()) for c in FORGED_CURSORS] + [_b64(b"\xff\xfe\x00"), "%%%", "="]
    for path in paths:
        for cursor in cursors:
            resp = ctx.call("GET", path, who[0], params={"cursor": cursor})
            ctx.expect(resp.status == 400,
                       f"GET {path}?cursor={cursor} 得到 {resp.status}，应为 400",
                       f"GET {path}?cursor={cursor} got {resp.status}, not 400")


#: path ids holding NUL and other control characters, percent-encoded as a client sends them
CONTROL_IDS = ("%00", "a%00b", "%1F", "x%7F", "%C2%85", "%0A")


@check("/req/core/path-id")
def test_control_characters_in_ids(ctx: KitContext) -> None:
    for rt in ctx.spec.resource_types:
        for rid in CONTROL_IDS:
            path = ctx.resource_path(rt, rid)
            for method, body in (("GET", None), ("PUT", ctx.document(rt))):
                resp = ctx.call(method, path, ctx.staff, json_body=body,
                                headers={"If-Match": '"1"'} if body else None)
                ctx.expect(resp.status in (400, 404),
                           f"{method} {path} 得到 {resp.status}，应为 400 或 404",
                           f"{method} {path} got {resp.status}, not 400 or 404")


@check("/req/core/invisible-characters")
def test_invisible_characters(ctx: KitContext) -> None:
    from ...validation import compile_plan, values_at

    requirement = "/req/core/invisible-characters"
    kinds = {"datatype:" + d for d in ctx.spec.parameter(requirement, "datatypes")}
    characters = [chr(int(c.removeprefix("U+"), 16))
                  for c in ctx.spec.parameter(requirement, "characters")]
    tried = 0
    for rt in ctx.spec.resource_types:
        template = ctx.document(rt)
        places = [(where, value) for leaf in compile_plan(ctx.spec, rt).leaves
                  if leaf.kind in kinds for where, value in values_at(template, leaf.path)
                  if isinstance(value, str) and len(value) > 1]
        for n, (where, value) in enumerate(places[:2]):
            doc = copy.deepcopy(template)
            doc["id"] = ctx.new_id()
            target: Any = doc
            for step in where[:-1]:
                target = target[step]
            char = characters[(n * 7 + tried) % len(characters)]
            target[where[-1]] = value[:1] + char + value[1:]
            if validate(doc).valid:
                continue  # not a member the library checks in this document
            tried += 1
            ctx.expect_problem(ctx.create(doc), 422)
            ctx.expect(ctx.read(rt, doc["id"]).status == 404, "被拒收的文档却被保存了",
                       "a refused document was stored anyway")
    if not tried:
        raise Skipped("测试文档中没有名称或标题", "the test documents have no name or title")


def _demo_tokens() -> list[str]:
    """The tokens the reference server's demo publishes (the packaged demo preset)."""
    from importlib import resources

    data = json.loads(resources.files("smartcommunity.conformance")
                      .joinpath("demo-preset.json").read_text(encoding="utf-8"))
    return [str(p["token"]) for p in data["principals"].values()]


@check("/req/core/no-demo-credentials")
def test_no_demo_tokens(ctx: KitContext) -> None:
    if not ctx.preset.production:
        raise Skipped("预设没有声明 production：被测服务器可能就是演示",
                      "the preset does not say production: the server may be the demo")
    mine = {p.token for p in ctx.preset.principals.values()}
    path = ctx.collection_path(_kind(ctx))
    for token in _demo_tokens():
        if token in mine:
            raise Skipped("预设本身使用演示令牌", "the preset itself uses a demo token")
        resp = ctx.client.request("GET", path, token=token)
        ctx.expect(resp.status == 401, f"演示令牌 {token} 得到 {resp.status}，应为 401",
                   f"the demo token {token} got {resp.status}, not 401")


@check("/req/core/bearer-jwt")
def test_jwt(ctx: KitContext) -> None:
    signer = preset_issuer(ctx)
    issuer = signer.settings
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    algorithm = signer.algorithm
    stranger: Any = (ec.generate_private_key(ec.SECP256R1()) if algorithm == "ES256"
                     else ed25519.Ed25519PrivateKey.generate() if algorithm == "EdDSA"
                     else rsa.generate_private_key(public_exponent=65537, key_size=2048))
    now = int(datetime.now(UTC).timestamp())
    path = ctx.collection_path(_kind(ctx))
    valid = ctx.client.request("GET", path, token=signer.token())
    ctx.expect(valid.status == 200, f"测试签发方的有效令牌得到 {valid.status}（或预设的 jwt 有误）",
               f"a valid test-issuer token got {valid.status} (or the preset's jwt is wrong)")
    unsigned = jwt.encode({**issuer["claims"], "iss": issuer["issuer"],
                           "aud": issuer["audience"], "exp": now + 600}, "", algorithm="none")
    for zh, en, bad in (("过期的", "an expired", signer.token(iat=now - 7200, exp=now - 3600)),
                        ("错误签名的", "a wrongly signed", signer.token(stranger)),
                        ("未签名的", "an unsigned", unsigned),
                        ("受众不同的", "another audience's",
                         signer.token(aud="urn:kit:elsewhere"))):
        resp = ctx.client.request("GET", path, token=bad)
        ctx.expect(resp.status == 401, f"{zh} JWT 得到 {resp.status}，应为 401",
                   f"{en} JWT got {resp.status}, not 401")
# -- the actor is the credential ---------------------------------------------------------

FORGED = "http.actor-mismatch"


def _first_action(ctx: KitContext, resource_type: str, role: str) -> str | None:
    """An action ``role`` may take on a new ``resource_type`` with empty details."""
    from ...lifecycle import lifecycle_for

    lifecycle = lifecycle_for(resource_type, ctx.spec.version)
    start = next(t.target for t in lifecycle.transitions.values() if t.creates)
    for action in lifecycle.allowed_actions(start, role):
        if not lifecycle.details_errors(action, {}):
            return action
    return None


def _forged(ctx: KitContext, doc: dict[str, Any], claim: dict[str, Any]) -> dict[str, Any]:
    """``doc`` whose creating actor, and the members repeating it, claim ``claim``."""
    first = doc["history"][0]["actor"]
    for member, value in list(doc.items()):
        if member != "history" and value == first:
            doc[member] = dict(claim)
    doc["history"][0]["actor"] = dict(claim)
    return ctx.ensure_valid(doc, "(creator forged)")


def _says_forged(ctx: KitContext, problem: dict[str, Any], what: str) -> None:
    codes = {str(e.get("code")) for e in problem.get("errors") or [] if isinstance(e, dict)}
    ctx.expect(problem.get("code") == FORGED or FORGED in codes,
               f"{what}的拒绝没有给出 {FORGED}：{problem.get('code')}",
               f"the refusal of {what} does not say {FORGED}: {problem.get('code')}")


def _stranger(ctx: KitContext) -> str | None:
    """The id of a new resident record of another community, made by a principal serving it
    (its staff, or a city system): a resident the kit's staff may not act for. None when the
    preset has no other community the kit's staff do not serve, or nobody to record her."""
    other = ctx.preset.other_community
    if not other or ctx.staff.serves(other):
        return None
    maker = (ctx.preset.by_role(ctx.staff_role, community=other)
             or ctx.preset.by_role(ROLE.system, community=other))
    if maker is None:
        return None
    doc = ctx.adapt(ctx.document(RESIDENT), community=other)
    # A valid record of a community its maker serves: refusing it is a fault of its own, and
    # would otherwise leave the relation below untested.
    resp = ctx.create(doc, maker)
    ctx.expect_status(resp, 201, zh=f"{maker.name} 在其服务的社区 {other} 登记居民",
                      en=f"{maker.name} records a resident of {other}, a community they serve")
    return str(doc["id"]) if resp.status == 201 else None


def _behalf_elsewhere(ctx: KitContext, rt: str, stranger: str) -> None:
    """A create by staff whose creator members (an issue's submittedBy, which decides whose
    own issue it is) act for a resident of another community, the creating event not."""
    doc = fresh(ctx, rt)
    first = doc["history"][0]["actor"]
    repeated = [m for m, v in doc.items() if m != "history" and v == first]
    for member in repeated:
        doc[member] = {"role": ctx.staff.role, "onBehalfOf": resident_ref(stranger)}
        doc["history"][0]["actor"] = {"role": ctx.staff.role}
        if not validate(doc).valid:
            continue
        what = f"{rt} whose {member} acts for a resident of another community"
        problem = ctx.expect_problem(ctx.create(doc, ctx.staff, as_is=True), 403)
        _says_forged(ctx, problem, what)
        ctx.expect(ctx.read(rt, doc["id"]).status == 404, f"被拒收的文档（{what}）被保存了",
                   f"the refused document ({what}) was stored")


def _acting_for(ctx: KitContext, who: Principal, rid: str, community: str | None = None
                ) -> tuple[dict[str, Any], Response]:
    """``who`` submitting an issue (of ``community``, default the preset's) acting for the
    resident ``rid``: its creating event and submittedBy give onBehalfOf."""
    doc = fresh(ctx, ISSUE)
    if community is not None and community != ctx.preset.community:
        doc = json.loads(json.dumps(doc, ensure_ascii=False).replace(ctx.preset.community,
                                                                     community))
    doc = _forged(ctx, doc, {"role": who.role, "onBehalfOf": resident_ref(rid)})
    return doc, ctx.create(doc, who, as_is=True)


def _refused_behalf(ctx: KitContext, who: Principal, rid: str, zh: str, en: str,
                    community: str | None = None) -> tuple[Any, ...]:
    """``who`` acting for ``rid``, beyond their reach (``zh``/``en`` say how): 403
    http.actor-mismatch at the onBehalfOf, nothing stored; the answer without the id, to
    compare with another's."""
    doc, resp = _acting_for(ctx, who, rid, community)
    problem = ctx.expect_problem(resp, 403)
    codes = {str(e.get("code")) for e in problem.get("errors") or [] if isinstance(e, dict)}
    ctx.expect(problem.get("code") == FORGED or FORGED in codes,
               f"{who.name}{zh}的拒绝没有给出 {FORGED}：{problem.get('code')}",
               f"the refusal of {who.name} {en} does not say {FORGED}: {problem.get('code')}")
    found = [str(e.get("pointer")) for e in problem.get("errors") or [] if isinstance(e, dict)]
    ctx.expect(any(p.endswith("/onBehalfOf") for p in found),
               f"{who.name}{zh}的拒绝没有指向 onBehalfOf：{plain(found, 'zh')}",
               f"the refusal of {who.name} {en} does not point at the onBehalfOf: "
               f"{plain(found)}")
    ctx.expect(ctx.read(ISSUE, doc["id"], who).status == 404,
               f"{who.name}{zh}的诉求被拒收后仍被保存了",
               f"the issue of {who.name} {en} was stored though refused")
    return answer_without(problem, rid)


def _behalf_in_reach(ctx: KitContext, stranger: str | None) -> None:
    """Staff act only for residents whose records they read: of a community they serve, of
    a grid worker's grids, held and not erased. A resident beyond that reach, of another
    grid or community, is answered word for word as one nobody holds, so naming ids finds
    out nothing of records beyond it."""
    access = ctx.spec.privacy.get("recordAccess") or {}
    behalf = set(ctx.spec.parameter("/req/core/actor-is-principal", "onBehalfRoles"))
    staff = behalf - set(access.get("ownRecordRoles") or ())
    submitters = set(transition(ctx, ISSUE, "submit")["roles"])
    scoped = set(access.get("gridScopedRoles") or ())
    other = ctx.preset.other_community
    actors: list[tuple[Principal, str | None]] = [
        (p, None) for p in ctx.serving(*sorted(staff & submitters))]
    outsider = ctx.preset.by_role(ctx.staff_role, community=other) if other else None
    if outsider is not None and not outsider.serves(ctx.preset.community):
        actors.append((outsider, other))
    ours: str | None = None
    for who, community in actors:
        grids = [g for g in who.grids if g.startswith(ctx.preset.community + "-")]
        if community is None and who.role in scoped and not grids:
            continue  # a grid worker without a grid of the community reads none of its people
        beyond: list[tuple[str, str, str]] = []
        if community is None:
            inside = resident_in(ctx, grids[0] if who.role in scoped else None)
            ours = ours or inside
            _, resp = _acting_for(ctx, who, inside)
            ctx.expect_status(resp, 201, zh=f"{who.name}（{who.role}）代其能读取的居民提交诉求",
                              en=f"{who.name} ({who.role}) submits an issue for a resident "
                                 f"whose record they read")
            beyond += [(rid, f"代{zh}行事", f"acting for {en}")
                       for rid, zh, en in residents_beyond_reach(ctx, who, stranger, scoped)]
        elif ours is not None:
            beyond.append((ours, "代其不服务的社区的居民行事",
                           "acting for a resident of a community they do not serve"))
        nobody = ctx.new_id()
        alike = _refused_behalf(ctx, who, nobody, "代服务器上没有的居民行事",
                                "acting for a resident the server does not hold", community)
        for rid, zh, en in beyond:
            got = _refused_behalf(ctx, who, rid, zh, en, community)
            ctx.expect(got == alike,
                       f"{who.name}（{who.role}）{zh}得到的回答与代服务器上没有的居民不同，"
                       f"从而能探知其范围以外的记录是否存在",
                       f"{who.name} ({who.role}) gets another answer {en} than acting for "
                       f"a resident the server does not hold, and so finds out whether a "
                       f"record beyond their reach exists")


def _item_writer_forged(ctx: KitContext) -> None:
    """A dispatch whose new assignment names another dispatcher (assignedBy): the items an
    action writes name their writer as its actor does."""
    lead = ctx.preset.by_role(ROLE.department)
    if lead is None:
        return
    issue = Tracked(ctx, new_issue(ctx))
    issue.act("accept")
    body = dispatch_request(ctx, issue, lead)
    claim = {"role": ctx.staff.role, "userId": f"kit-forged-{ctx.new_id()[:8]}"}
    body["items"]["assignments"][0]["assignedBy"] = claim
    what = "dispatch whose assignment names another dispatcher"
    resp = issue.refuse("dispatch", body, ctx.staff, 403, what)
    _says_forged(ctx, resp.json() or {}, what)


def _named_otherwise(ctx: KitContext, who: Principal, tag: str) -> list[dict[str, Any]]:
    """Actors in ``who``'s role claiming a name, or an organisation, that is not ``who``'s:
    the members a server binds along with the user id. The organisation is another
    principal's, so a server that knows only registered organisations cannot refuse it as
    unknown instead."""
    claims: list[dict[str, Any]] = [{"role": who.role, "name": f"kit-forged-{tag}"}]
    other = next((p for p in ctx.preset.principals.values()
                  if p.organisation and p.organisation != who.organisation), None)
    if other is not None:
        claims.append({"role": who.role, "organisation": organisation(ctx, other)})
    return claims


#: the code of an update changing a creator member (/req/core/actor-is-principal)
CREATOR_FIXED = "http.creator-fixed"


def _submitter_kept(ctx: KitContext, issue: Tracked) -> None:
    """An update changing who submitted ``issue`` (handing it to a resident the submitter
    acts for, or naming someone else) is 422 http.creator-fixed and changes nothing: whose
    issue it is follows from submittedBy."""
    by = dict(issue.doc.get("submittedBy") or {})
    claims = (("another resident", {**by, "onBehalfOf": resident_ref(ctx.new_id())}),
              ("another name", {**by, "name": f"kit-renamed-{ctx.new_id()[:8]}"}))
    for label, claim in claims:
        what = f"submittedBy → {label}"
        problem = issue.refused(issue.put(expect=None, submittedBy=claim), 422, what).json()
        codes = {str(e.get("code")) for e in problem.get("errors") or [] if isinstance(e, dict)}
        ctx.expect(CREATOR_FIXED in codes,
                   f"改写提交人（{label}）的更新的拒绝没有给出 {CREATOR_FIXED}",
                   f"the refusal of an update rewriting the submitter ({label}) does not say "
                   f"{CREATOR_FIXED}")


@check("/req/core/actor-is-principal")
def test_actor_is_principal(ctx: KitContext) -> None:
    staff = ctx.staff
    others = [r for r in ctx.spec.roles if r != staff.role]
    _item_writer_forged(ctx)
    stranger = _stranger(ctx)
    _behalf_in_reach(ctx, stranger)
    for rt in ctx.spec.lifecycles:
        if stranger is not None:
            _behalf_elsewhere(ctx, rt, stranger)
        tag = ctx.new_id()[:8]
        claims: list[dict[str, Any]] = [
            {"role": staff.role, "userId": f"kit-forged-{tag}"},
            {"role": staff.role, "resident": resident_ref(ctx.new_id())},
            {"role": others[0]}, *_named_otherwise(ctx, staff, tag)]
        for claim in claims:
            doc = _forged(ctx, fresh(ctx, rt), claim)
            resp = ctx.create(doc, staff, as_is=True)
            what = f"{rt} created as {plain(sorted(claim))}"
            _says_forged(ctx, ctx.expect_problem(resp, 403), what)
            ctx.expect(ctx.read(rt, doc["id"]).status == 404, f"被拒收的文档（{what}）被保存了",
                       f"the refused document ({what}) was stored")
        item = Tracked(ctx, fresh(ctx, rt))
        first = (item.doc.get("history") or [{}])[0].get("actor") or {}
        ctx.expect(first.get("role") == staff.role,
                   f"{rt} 的创建事件的行为人角色不是 {staff.role}",
                   f"the creating event of the {rt} is not by {staff.role}")
        if rt == ISSUE:
            _submitter_kept(ctx, item)
        action = _first_action(ctx, rt, staff.role)
        if action is None:
            continue
        for claim in ({"role": staff.role, "userId": f"kit-forged-{tag}"}, {"role": others[0]},
                      *_named_otherwise(ctx, staff, tag)):
            resp = item.refuse(action, {"actor": claim}, staff, 403,
                               f"{action} with the actor {plain(sorted(claim))}")
            _says_forged(ctx, resp.json() or {}, f"{action} claiming {plain(sorted(claim))}")


#: the members of an actor its credential states, which the server fills in when a body leaves
#: them out: a JSON Web Token's sub (recorded as userId), name and organisation
#: (schemas/meta/token-claims.json)
_IDENTITY = ("userId", "name", "organisation")


def _identity(actor: Any) -> dict[str, Any]:
    """Who the recorded ``actor`` says acted: its user id, name and organisation id."""
    actor = actor if isinstance(actor, dict) else {}
    org = actor.get("organisation")
    return {"userId": actor.get("userId"), "name": actor.get("name"),
            "organisation": org.get("id") if isinstance(org, dict) else org}


def _credentialed_staff(ctx: KitContext) -> tuple[Principal, dict[str, Any] | None]:
    """Staff whose credential the kit knows, and the identity its actor must record: staff
    the preset's test issuer signs for, with a user id and name of the kit's own and the
    organisation of the preset's claims. Without the issuer, the preset's staff and None."""
    tag = ctx.new_id()[:8]
    user, name = f"kit-staff-{tag}", f"测试员{tag}"
    try:
        who = minted(ctx, "community staff named by the test issuer", role=ctx.staff_role,
                     sub=user, userId=None, name=name, communities=[ctx.preset.community],
                     resident=None, grids=None)
    except Skipped as why:
        ctx.remark("只核对了行为人有姓名且每次相同，没有核对其为凭证所述之人："
                   + why.message["zh-Hans"],
                   "checked only that the actor has a name and is the same on every write, "
                   "not that it is whom the credential states: " + why.message["en"])
        return ctx.staff, None
    org = (ctx.preset.jwt or {}).get("claims", {}).get("organisation")
    return who, {"userId": user, "name": name,
                 "organisation": org.get("id") if isinstance(org, dict) else None}


@check("/req/core/actor-is-principal")
def test_actor_filled_from_credential(ctx: KitContext) -> None:
    """What a body leaves out of its actor the server fills in from the credential: creates
    whose actors give the role only, and actions giving no actor or the role only, record
    the principal's user id, name and organisation. A server recording only what was sent
    lets any staff member's write read as any other's. Without the preset's test issuer the
    kit does not know the credential's identity: it then requires a name (a credential
    always states one) and the same identity on every write."""
    who, known = _credentialed_staff(ctx)
    role_only = {"role": who.role}
    recorded: list[tuple[str, str, Any]] = []
    acted: set[str] = set()
    for rt in ctx.spec.lifecycles:
        action = _first_action(ctx, rt, who.role)
        for body, zh, en in (({}, "不带行为人", "giving no actor"),
                             ({"actor": role_only}, "只给出角色", "giving the role only")):
            sent = _forged(ctx, fresh(ctx, rt), role_only)
            item = Tracked(ctx, sent, who)
            # The creating event, and the members repeating it (an issue's submittedBy).
            recorded += [(f"只给出角色创建的 {rt} 的 {m} 成员", f"the {m} of a new {rt} created "
                          "giving the role only", item.doc.get(m))
                         for m, value in sent.items() if m != "history" and value == role_only]
            recorded.append((f"只给出角色创建的 {rt} 的创建事件",
                             f"the creating event of a new {rt} created giving the role only",
                             item.history[0].get("actor")))
            # An action may be refused for the state of things (withdrawing support never
            # given): only those taken say whom they record.
            if action is not None and item.act(action, body, who, expect=None).status == 200:
                acted.add(action)
                recorded.append((f"{rt} 的 {action} 动作（{zh}）",
                                 f"the {action} action on a new {rt} ({en})",
                                 item.history[-1].get("actor")))
    ctx.expect(bool(acted), f"{who.name} 不带行为人或只给出角色，无法执行任何动作",
               f"{who.name} can take no action giving no actor or the role only")
    for zh, en, actor in recorded:
        got = _identity(actor)
        if known is None:
            ctx.expect(isinstance(got["name"], str) and bool(got["name"]),
                       f"{zh}记录的行为人没有姓名，而凭证总会给出姓名",
                       f"{en} records an actor without a name, though a credential always "
                       "states one")
            known = got  # the first write stands for the credential: the rest must match it
        for member in _IDENTITY:
            want = known[member]
            ctx.expect(want is None or got[member] == want,
                       f"{zh}记录的行为人 {member} 为 {plain(got[member], 'zh')}，"
                       f"应为凭证所述的 {want}",
                       f"{en} records the actor's {member} as {plain(got[member])}, not the "
                       f"credential's {want}")


@check("/req/core/role-before-body")
def test_role_before_body(ctx: KitContext) -> None:
    tried = 0
    for rt in ctx.spec.lifecycles:
        item = Tracked(ctx, fresh(ctx, rt))
        action = _first_action(ctx, rt, ctx.staff.role)
        if action is None:
            continue
        from ...lifecycle import lifecycle_for

        allowed = lifecycle_for(rt, ctx.spec.version).transitions[action].roles
        creators = set().union(*(t.roles for t in lifecycle_for(rt, ctx.spec.version)
                                 .transitions.values() if t.creates))
        for who in ctx.serving():
            if who.role not in allowed:
                tried += 1
                item.refuse(action, {"unexpected": True, "details": "?"}, who, 403,
                            f"{action} by {who.role} with an invalid body")
            if who.role not in creators:
                tried += 1
                ctx.expect_problem(ctx.create({"resourceType": rt, "id": ctx.new_id()}, who),
                                   403)
    if not tried:
        raise Skipped("预设中没有无权执行动作的角色", "the preset has no role that may not act")
