"""Checks of the Open311 bridge (/conf/open311): GeoReport v2 at the mapping's prefix, in JSON
and XML, through the same service as the standard's API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from .._client import Response
from .._context import KitContext
from .._preset import Principal
from .._registry import Skipped, check
from ._shared import ISSUE, new_issue, plain
from ._watching import events_of, watching

_FORM = "application/x-www-form-urlencoded"
_RESIDENT = "resident"


#: fields whose words the mapping leaves to the server (the service's name is the catalogue's,
#: which the kit reads from the services list; the notice words a deadline)
_WORDED = ("service_name", "service_notice")


def expected_request(ctx: KitContext, issue: dict[str, Any]) -> dict[str, Any]:
    """What the mapping makes of ``issue`` as its reader sees it, but the worded fields."""
    from ...open311 import catalogue, issue_to_request

    made = issue_to_request(issue, catalogue(None, ctx.spec.version)).value
    return {k: v for k, v in made.items() if k not in _WORDED}


def georeport_xml(ctx: KitContext, text: str) -> tuple[str, list[dict[str, Any]]]:
    """The root and items of a GeoReport XML answer, parsed safely; a failure if unreadable."""
    from ...open311 import from_xml

    try:
        return from_xml(text.encode("utf-8"))
    except ValueError as exc:
        ctx.expect(False, f"XML 无法解析：{exc}", f"the XML cannot be parsed: {exc}")
        raise


def _path(ctx: KitContext, tail: str) -> str:
    from ...open311 import mapping

    try:
        return mapping(ctx.spec.version).prefix + tail
    except LookupError:
        raise Skipped("该版本没有 Open311 映射", "this version has no Open311 mapping") from None


def _get(ctx: KitContext, tail: str, who: Principal | None = None,
         **params: str) -> Response:
    query = {**params, **({"api_key": who.token} if who is not None else {})}
    return ctx.call("GET", _path(ctx, tail), None, params=query,
                    headers={"Accept": "*/*"})


def _post(ctx: KitContext, fmt: str, form: dict[str, str],
          headers: dict[str, str] | None = None) -> Response:
    return ctx.call("POST", _path(ctx, f"/requests.{fmt}"), None,
                    content=urlencode(form).encode("utf-8"),
                    headers={"Content-Type": _FORM, "Accept": "*/*", **(headers or {})})


def _json_list(ctx: KitContext, resp: Response, what: str) -> list[dict[str, Any]]:
    ctx.expect_status(resp, 200, 201, zh=f"Open311 {what}", en=f"Open311 {what}")
    body = resp.json()
    ctx.expect(isinstance(body, list) and all(isinstance(i, dict) for i in body),
               f"Open311 {what} 的 JSON 不是对象数组",
               f"Open311 {what} JSON is not a list of objects")
    return list(body)


def _plain_service(ctx: KitContext) -> str:
    """A service without required attributes, to file requests in."""
    services = _json_list(ctx, _get(ctx, "/services.json"), "services")
    for service in services:
        code = str(service.get("service_code"))
        if not service.get("metadata"):
            return code
        definition = _get(ctx, f"/services/{code}.json").json() or {}
        if not any(a.get("required") for a in definition.get("attributes") or []):
            return code
    raise Skipped("没有无必填属性的服务", "no service without required attributes")


def _file(ctx: KitContext, who: Principal, code: str, fmt: str = "json",
          **more: str) -> str:
    form = {"api_key": who.token, "service_code": code, "lat": "39.9087", "long": "116.3975",
            "description": "路灯不亮\n东门外两盏路灯连续三晚不亮。", **more}
    resp = _post(ctx, fmt, form)
    ctx.expect_status(resp, 201, 200, zh="通过 Open311 提交请求", en="file a request by Open311")
    if fmt == "xml":
        _, items = georeport_xml(ctx, resp.text)
    else:
        items = _json_list(ctx, resp, "POST requests")
    ctx.expect(bool(items) and bool(items[0].get("service_request_id")),
               "POST requests 没有给出 service_request_id",
               "POST requests gave no service_request_id")
    return str(items[0]["service_request_id"])


@check("/req/open311/services")
def test_open311_services(ctx: KitContext) -> None:
    services = _json_list(ctx, _get(ctx, "/services.json"), "services")
    ctx.expect(bool(services), "服务列表为空", "the service list is empty")
    for service in services:
        missing = [k for k in ("service_code", "service_name", "metadata", "type")
                   if k not in service]
        ctx.expect(not missing, f"服务缺少 {plain(missing, 'zh')}",
                   f"a service lacks {plain(missing)}")
        code = str(service["service_code"])
        resp = _get(ctx, f"/services/{code}.json")
        ctx.expect_status(resp, 200, zh=f"读取服务定义 {code}", en=f"read definition {code}")
        definition = resp.json() or {}
        ctx.expect(definition.get("service_code") == code
                   and isinstance(definition.get("attributes"), list),
                   f"服务 {code} 的定义不符", f"the definition of {code} is wrong")
        ctx.expect(bool(service["metadata"]) == bool(definition["attributes"]),
                   f"服务 {code} 的 metadata 与定义不一致",
                   f"metadata of {code} disagrees with its definition")
    ctx.expect_status(_get(ctx, "/services/no-such.service.json"), 404,
                      zh="未知服务代码", en="unknown service code")
    discovery = _get(ctx, "/discovery.json").json() or {}
    endpoints = discovery.get("endpoints") or [{}]
    ctx.expect({"application/json", "text/xml"} <= set(endpoints[0].get("formats") or []),
               "discovery 没有列出 JSON 和 XML", "discovery lists not both JSON and XML")
    ctx.expect_status(_get(ctx, "/services.json", jurisdiction_id="urn:example:elsewhere"),
                      400, zh="不符的 jurisdiction_id", en="a jurisdiction_id not the server's")


@check("/req/open311/create", needs=(_RESIDENT,))
def test_open311_create(ctx: KitContext) -> None:
    who = ctx.principal(_RESIDENT, community=ctx.preset.community)
    code = _plain_service(ctx)
    reader, cursor = watching(ctx, or_staff=True)
    rid = _file(ctx, who, code)
    resp = ctx.read(ISSUE, rid)
    ctx.expect_status(resp, 200, zh="在本标准 API 中读取 Open311 提交的诉求",
                      en="read the issue filed by Open311 in the standard's API")
    doc = resp.json() or {}
    ctx.expect(doc.get("category") == code, "诉求类别不是 service_code",
               "the issue's category is not the service_code")
    ctx.expect((doc.get("submittedBy") or {}).get("role") == who.role,
               "提交人没有绑定到 api_key 的主体", "the submitter is not the api_key's principal")
    created = events_of(ctx, reader, cursor, ISSUE, rid)
    ctx.expect(len(created) == 1, f"变更订阅中有 {len(created)} 个该诉求的事件，应为 1",
               f"the feed has {len(created)} events of the issue, not 1")
    before = len(_json_list(ctx, _get(ctx, "/requests.json", ctx.staff), "GET requests"))
    bad = _post(ctx, "json", {"api_key": who.token, "service_code": code, "lat": "95",
                              "long": "116"})
    ctx.expect_status(bad, 400, zh="纬度超出范围", en="latitude out of range")
    after = len(_json_list(ctx, _get(ctx, "/requests.json", ctx.staff), "GET requests"))
    ctx.expect(after == before, "被拒绝的请求仍被保存", "a refused request was stored")


@check("/req/open311/read", needs=(_RESIDENT,))
def test_open311_read(ctx: KitContext) -> None:
    who = ctx.principal(_RESIDENT, community=ctx.preset.community)
    code = _plain_service(ctx)
    rid = _file(ctx, who, code)
    staff = ctx.staff
    one = _json_list(ctx, _get(ctx, f"/requests/{rid}.json", staff), "GET requests/{id}")
    ctx.expect(len(one) == 1 and one[0].get("service_request_id") == rid
               and one[0].get("status") == "open",
               "GET requests/{id} 没有给出这条 open 请求",
               "GET requests/{id} misses the open request")

    def ids(**params: str) -> set[str]:
        items = _json_list(ctx, _get(ctx, "/requests.json", staff, **params), "GET requests")
        return {str(i.get("service_request_id")) for i in items}

    ctx.expect(ids(service_request_id=rid) == {rid}, "service_request_id 过滤不符",
               "the service_request_id filter is wrong")
    ctx.expect(rid in ids(service_code=code, status="open"), "service_code/status=open 漏掉请求",
               "service_code with status=open misses the request")
    ctx.expect(rid not in ids(status="closed"), "status=closed 给出了 open 请求",
               "status=closed gives an open request")
    ctx.expect(rid not in ids(start_date="2001-01-01T00:00:00Z",
                              end_date="2001-02-01T00:00:00Z"),
               "日期范围之外的请求被给出", "a request outside the date range is given")
    ctx.expect_status(_get(ctx, "/requests.json", staff, start_date="2001-01-01T00:00:00Z",
                           end_date="2001-12-01T00:00:00Z"), 400,
                      zh="超过 90 天的范围", en="a range of more than 90 days")
    token = _json_list(ctx, _get(ctx, f"/tokens/{rid}.json"), "GET tokens")
    ctx.expect(bool(token) and token[0].get("service_request_id") == rid,
               "令牌没有给出 service_request_id", "the token gives no service_request_id")


@check("/req/open311/public-read")
def test_open311_public_read(ctx: KitContext) -> None:
    place = {"point": {"latitude": 39.9087, "longitude": 116.3975, "crs": "wgs84"},
             "description": "东门外第二盏路灯"}
    doc = new_issue(ctx, publication={"published": True}, location=place,
                    description="东门外两盏路灯连续三晚不亮。")
    stored = ctx.created(doc)
    native = ctx.call("GET", ctx.resource_path(ISSUE, doc["id"]), None)
    public_doc = native.json() if native.status == 200 else None
    resp = _get(ctx, f"/requests/{doc['id']}.json")
    if public_doc is None:
        ctx.expect_status(resp, 404, zh="本标准 API 不公开的诉求", en="an issue the API hides")
        return
    got = _json_list(ctx, resp, "GET requests/{id}")[0]
    allowed = expected_request(ctx, public_doc)
    for name in ("lat", "long", "address", "description", "media_url", "status_notes"):
        ctx.expect(got.get(name) in (None, allowed.get(name)),
                   f"匿名读取给出了公开读取没有的 {name}",
                   f"an anonymous read gives {name}, which the public read does not have")
    reporter = {v for v in (stored.get("reporterContact") or {}).values() if isinstance(v, str)}
    text = str(got)
    ctx.expect(not any(v in text for v in reporter), "匿名读取给出了诉求人",
               "an anonymous read names the reporter")


@check("/req/open311/errors", needs=(_RESIDENT,))
def test_open311_errors(ctx: KitContext) -> None:
    who = ctx.principal(_RESIDENT, community=ctx.preset.community)
    for fmt in ("json", "xml"):
        resp = _post(ctx, fmt, {"api_key": who.token, "service_code": "no-such.service",
                                "lat": "39.9", "long": "116.4"})
        ctx.expect_status(resp, 400, zh=f"未知服务（{fmt}）", en=f"unknown service ({fmt})")
        if fmt == "xml":
            root, items = georeport_xml(ctx, resp.text)
            ctx.expect(root == "errors", "XML 错误的根元素不是 errors",
                       "an XML error's root is not errors")
        else:
            items = resp.json() if isinstance(resp.json(), list) else []
        ctx.expect(bool(items) and all(str(i.get("code")) == "400"
                                       and "service_code" in str(i.get("description"))
                                       for i in items),
                   f"{fmt} 错误不是 [{{code: 400, description}}] 或没有指明字段",
                   f"the {fmt} error is not [{{code: 400, description}}] naming the field")
    denied = _post(ctx, "json", {"service_code": "x", "lat": "39.9", "long": "116.4"})
    ctx.expect_status(denied, 403, zh="没有 api_key", en="no api_key")
    ctx.expect(isinstance(denied.json(), list) and (denied.json() or [{}])[0].get("code") == 403,
               "403 不是 GeoReport 错误列表", "the 403 is not a GeoReport error list")


@check("/req/open311/formats", needs=(_RESIDENT,))
def test_open311_formats(ctx: KitContext) -> None:
    who = ctx.principal(_RESIDENT, community=ctx.preset.community)
    code = _plain_service(ctx)
    rid = _file(ctx, who, code, fmt="xml")
    for tail, key in (("/services", "service_code"), (f"/requests/{rid}", "service_request_id")):
        as_json = _json_list(ctx, _get(ctx, tail + ".json", ctx.staff), tail)
        resp = _get(ctx, tail + ".xml", ctx.staff)
        ctx.expect_status(resp, 200, zh=f"{tail}.xml", en=f"{tail}.xml")
        ctx.expect(resp.media_type in ("text/xml", "application/xml"),
                   f"{tail}.xml 的媒体类型是 {resp.media_type}",
                   f"{tail}.xml has media type {resp.media_type}")
        _, as_xml = georeport_xml(ctx, resp.text)
        ctx.expect(len(as_xml) == len(as_json), f"{tail} 的 XML 与 JSON 条数不同",
                   f"{tail} has a different number of items in XML and JSON")
        for j, x in zip(as_json, as_xml, strict=False):
            for name, value in j.items():
                shown = None if value in (None, "") else (
                    str(value).lower() if isinstance(value, bool) else str(value))
                ctx.expect(x.get(name) == shown, f"{tail} 的 {name} 在 XML 中不同",
                           f"{tail}: {name} differs in XML ({plain(x.get(name))} ≠ {plain(shown)})")
        ctx.expect(any(i.get(key) for i in as_xml), f"{tail}.xml 为空", f"{tail}.xml is empty")


@check("/req/open311/mapping")
def test_open311_mapping(ctx: KitContext) -> None:
    doc = new_issue(ctx)
    ctx.created(doc)
    native = ctx.read(ISSUE, doc["id"])
    ctx.expect_status(native, 200, zh="读取诉求", en="read the issue")
    want = expected_request(ctx, native.json() or {})
    got = _json_list(ctx, _get(ctx, f"/requests/{doc['id']}.json", ctx.staff),
                     "GET requests/{id}")
    ctx.expect(len(got) == 1, "GET requests/{id} 不是一条", "GET requests/{id} is not one item")
    for name, value in want.items():
        ctx.expect(got[0].get(name) == value, f"{name} 不符合映射：{plain(got[0].get(name), 'zh')}",
                   f"{name} does not follow the mapping: {plain(got[0].get(name))}, "
                   f"expected {plain(value)}")
