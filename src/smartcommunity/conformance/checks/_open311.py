"""Checks of the Open311 bridge (/conf/open311): GeoReport v2 at the mapping's prefix, in JSON
and XML, through the same service as the standard's API."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ...exceptions import ProfileError
from ...profiles import Profile, load_profile
from .._client import Response
from .._context import KitContext
from .._preset import Principal
from .._registry import Skipped, check
from ._shared import ISSUE, new_issue, plain
from ._watching import after, events_of, subject, watching

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


def _post(ctx: KitContext, fmt: str, form: dict[str, str] | list[tuple[str, str]],
          headers: dict[str, str] | None = None,
          query: dict[str, str] | None = None) -> Response:
    return ctx.call("POST", _path(ctx, f"/requests.{fmt}"), None, params=query,
                    content=urlencode(form).encode("utf-8"),
                    headers={"Content-Type": _FORM, "Accept": "*/*", **(headers or {})})


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]
              ) -> tuple[bytes, str]:
    """A multipart/form-data body of text ``fields`` and ``files`` (name → filename, content,
    media type), and its Content-Type."""
    boundary = f"sc-kit-{uuid.uuid4().hex}"
    out = bytearray()
    for name, value in fields.items():
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
                f"Content-Type: text/plain; charset=utf-8\r\n\r\n").encode()
        out += value.encode("utf-8") + b"\r\n"
    for name, (filename, content, media) in files.items():
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: {media}\r\n\r\n').encode()
        out += content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def _names(ctx: KitContext, resp: Response, field: str, zh: str, en: str) -> None:
    """``resp`` is a GeoReport 400 whose descriptions name ``field``."""
    ctx.expect_status(resp, 400, zh=zh, en=en)
    items = resp.json() if isinstance(resp.json(), list) else []
    ctx.expect(bool(items) and all(str(i.get("code")) == "400" for i in items if isinstance(
        i, dict)) and any(field in str(i.get("description")) for i in items
                          if isinstance(i, dict)),
        f"{zh}：错误不是指明 {field} 的 [{{code: 400, description}}]",
        f"{en}: the error is not [{{code: 400, description}}] naming {field}")


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


def _resident_service(ctx: KitContext) -> tuple[Principal, str]:
    """A resident of the preset's community and a service they may file in without
    attributes."""
    return ctx.principal(_RESIDENT, community=ctx.preset.community), _plain_service(ctx)


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


def _city(ctx: KitContext) -> Profile:
    """The profile the services are held to: the one given (``--profile``), else the one
    the server publishes."""
    if ctx.profile is not None:
        return ctx.profile
    resp = ctx.call("GET", ctx.path("getProfile"))
    if resp.status != 200:
        raise Skipped("没有给出城市配置，服务器也没有发布", "no city profile was given and the "
                      "server publishes none")
    try:
        return load_profile(resp.json())
    except ProfileError as exc:
        raise Skipped("服务器发布的城市配置有错误", f"the published city profile has errors "
                      f"({exc})") from exc


def _shape(attributes: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a service definition must keep of the catalogue: each attribute's code, datatype,
    whether it is required, its order and its values' keys, in order."""
    return [(a.get("code"), a.get("datatype"), a.get("required"), a.get("order"),
             [v.get("key") for v in a.get("values") or [] if isinstance(v, dict)])
            for a in attributes if isinstance(a, dict)]


@check("/req/open311/services")
def test_open311_definitions_follow_the_profile(ctx: KitContext) -> None:
    from ...open311 import catalogue

    expected = catalogue(_city(ctx), ctx.spec.version)
    services = _json_list(ctx, _get(ctx, "/services.json"), "services")
    listed = {str(s.get("service_code")) for s in services}
    extra, missing = sorted(listed - set(expected.entries)), sorted(set(expected.entries) - listed)
    ctx.expect(not extra and not missing,
               f"服务列表与城市配置的目录不同：多出 {plain(extra, 'zh')}，"
               f"缺少 {plain(missing, 'zh')}",
               f"the services differ from the profile's catalogue: extra {plain(extra)}, "
               f"missing {plain(missing)}")
    for code in expected.entries:
        want = expected.definition(code) or {}
        if not want.get("attributes"):
            continue
        resp = _get(ctx, f"/services/{code}.json")
        ctx.expect_status(resp, 200, zh=f"读取服务定义 {code}", en=f"read definition {code}")
        body = resp.json() if isinstance(resp.json(), dict) else {}
        got = _shape(list(body.get("attributes") or []))
        ctx.expect(got == _shape(want["attributes"]),
                   f"服务 {code} 的定义不符合城市配置目录的属性（代码、类型、必填、顺序、取值）："
                   f"{plain(got, 'zh')}",
                   f"the definition of {code} breaks the profile catalogue's attributes (code, "
                   f"datatype, required, order, values): {plain(got)}, expected "
                   f"{plain(_shape(want['attributes']))}")


@check("/req/open311/create", needs=(_RESIDENT,))
def test_open311_create(ctx: KitContext) -> None:
    who, code = _resident_service(ctx)
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
    _refuses_repeats(ctx, who, code)
    _ids_unforeseeable(ctx, who, code)


def _filed_id(ctx: KitContext, resp: Response, what_zh: str, what_en: str) -> str:
    ctx.expect_status(resp, 201, 200, zh=what_zh, en=what_en)
    items = _json_list(ctx, resp, "POST requests")
    ctx.expect(bool(items) and bool(items[0].get("service_request_id")),
               f"{what_zh}：没有给出 service_request_id", f"{what_en}: no service_request_id")
    return str(items[0]["service_request_id"])


def _ids_unforeseeable(ctx: KitContext, who: Principal, code: str) -> None:
    """An id filed with an Idempotency-Key is random: no name-based UUID (RFC 9562 versions 3
    and 5, computed from a name such as the principal and the key, which whoever knows them
    could compute and take first); a retry replays it, and the same key from another
    principal files another issue (/req/open311/create)."""
    key = f"kit-{uuid.uuid4().hex}"
    form = {"api_key": who.token, "service_code": code, "lat": "39.9087", "long": "116.3975",
            "description": "楼道灯坏了"}
    first = _filed_id(ctx, _post(ctx, "json", form, {"Idempotency-Key": key}),
                      "带 Idempotency-Key 提交", "file with an Idempotency-Key")
    try:
        version = uuid.UUID(first).version
    except ValueError:
        version = None  # not a UUID: nothing here says how it was made
    ctx.expect(version not in (3, 5),
               f"带 Idempotency-Key 提交的诉求标识 {first} 是第 {version} 版（基于名称的）UUID："
               "知道主体和键的人可以算出并抢先占用它，标识须随机生成",
               f"the id {first} of a request filed with an Idempotency-Key is a version "
               f"{version} (name-based) UUID: whoever knows the principal and the key can "
               "compute it and take it first; the id must be random")
    again = _filed_id(ctx, _post(ctx, "json", form, {"Idempotency-Key": key}),
                      "以同一 Idempotency-Key 重试", "retry with the same Idempotency-Key")
    ctx.expect(again == first, f"以同一 Idempotency-Key 重试得到另一标识 {again}，应为 {first}",
               f"a retry with the same Idempotency-Key got another id {again}, not {first}")
    other = next((p for p in ctx.preset.principals.values() if p.token != who.token
                  and p.role == who.role and p.serves(ctx.preset.community)), ctx.staff)
    resp = _post(ctx, "json", {**form, "api_key": other.token,
                               "jurisdiction_id": ctx.preset.community},
                 {"Idempotency-Key": key})
    if resp.status == 403:
        return  # that principal may not file: the key's scope is not this check's to prove
    theirs = _filed_id(ctx, resp, "另一主体以同一 Idempotency-Key 提交",
                       "another principal files with the same Idempotency-Key")
    ctx.expect(theirs != first,
               "另一主体以同一 Idempotency-Key 提交得到了同一诉求标识",
               "another principal filing with the same Idempotency-Key got the same id")


#: scalar fields of a POST a client may send twice by mistake: the text, a name, the community
#: and the credential (these last two with the same value twice)
_SCALARS = ("description", "first_name", "jurisdiction_id", "api_key")


#: the fields a POST may give in its query string instead of its form
_IN_QUERY = ("api_key", "jurisdiction_id")


def _refuses_repeats(ctx: KitContext, who: Principal, code: str) -> None:
    """A scalar field given twice is a 400 naming it that stores nothing: neither one of its
    values nor both joined, the query string's fields counting with the form's
    (/req/open311/create)."""
    form = [("api_key", who.token), ("service_code", code), ("lat", "39.9087"),
            ("long", "116.3975"), ("description", "楼道灯不亮"), ("first_name", "桂英"),
            ("jurisdiction_id", ctx.preset.community)]
    reader, cursor = watching(ctx, or_staff=True)
    for field in _SCALARS:
        value = dict(form)[field]
        again = value if field in ("api_key", "jurisdiction_id") else "王" + value
        _names(ctx, _post(ctx, "json", [*form, (field, again)]), field,
               zh=f"表单中 {field} 出现两次", en=f"{field} given twice in the form")
    for field in _IN_QUERY:
        _names(ctx, _post(ctx, "json", form, query={field: dict(form)[field]}), field,
               zh=f"{field} 在查询字符串和表单中各出现一次",
               en=f"{field} given in both the query string and the form")
    events, _ = after(ctx, reader, cursor)
    issues = subject(ctx, ISSUE, "")
    ctx.expect(not [e for e in events if isinstance(e, dict)
                    and str(e.get("subject", "")).startswith(issues)],
               "字段重复的请求被保存", "a request with a field given twice was stored")


@check("/req/open311/media", needs=(_RESIDENT,))
def test_open311_media(ctx: KitContext) -> None:
    who, code = _resident_service(ctx)
    form = {"api_key": who.token, "service_code": code, "lat": "39.9087", "long": "116.3975",
            "description": "井盖松动\n北门人行道的井盖踩上去会晃。"}

    def post(files: dict[str, tuple[str, bytes, str]]) -> Response:
        body, media = multipart(form, files)
        return ctx.call("POST", _path(ctx, "/requests.json"), None, content=body,
                        headers={"Content-Type": media, "Accept": "*/*"})

    filed = _json_list(ctx, post({}), "multipart POST requests")
    rid = str((filed or [{}])[0].get("service_request_id"))
    native = ctx.read(ISSUE, rid)
    ctx.expect_status(native, 200, zh="读取 multipart 提交的诉求",
                      en="read the issue filed by a multipart POST")
    ctx.expect((native.json() or {}).get("category") == code,
               "multipart 提交的诉求类别不是 service_code",
               "the category of the issue filed by multipart is not the service_code")
    reader, cursor = watching(ctx, or_staff=True)
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256))
    refused = post({"media": ("manhole.jpg", photo, "image/jpeg")})
    ctx.expect_status(refused, 400, zh="上传的 media 文件", en="an uploaded media file")
    items = refused.json() if isinstance(refused.json(), list) else []
    ctx.expect(bool(items) and all(str(i.get("code")) == "400" and "media" in str(
        i.get("description")) for i in items),
        "拒绝上传文件的错误不是指明 media 的 [{code: 400, description}]",
        "the refusal of the upload is not [{code: 400, description}] naming media")
    events, _ = after(ctx, reader, cursor)
    issues = subject(ctx, ISSUE, "")
    made = [e for e in events if isinstance(e, dict)
            and str(e.get("subject", "")).startswith(issues)]
    ctx.expect(not made, "带上传文件的请求被拒绝后仍保存了诉求",
               "a request refused for its uploaded file was stored")


def _filer_of_two(ctx: KitContext) -> tuple[Principal, str]:
    """A principal who may submit issues and serves both of the preset's communities (every
    community first), and the other community."""
    other = ctx.preset.other_community
    if not other:
        raise Skipped("预设没有第二个社区", "the preset names no other community")
    lifecycle = ctx.spec.lifecycle(ISSUE)
    roles = {r for t in lifecycle["transitions"] if not t["from"] for r in t["roles"]}
    found = sorted((p for p in ctx.preset.principals.values() if p.role in roles
                    and p.serves(ctx.preset.community) and p.serves(other)),
                   key=lambda p: "*" not in p.communities)
    if not found:
        raise Skipped("预设中没有服务两个社区、可提交诉求的主体",
                      "the preset has no principal serving both communities who may submit")
    return found[0], other


@check("/req/open311/community")
def test_open311_community(ctx: KitContext) -> None:
    who, other = _filer_of_two(ctx)
    code = _plain_service(ctx)
    form = {"api_key": who.token, "service_code": code, "address_string": "东门外第二盏路灯",
            "description": "路灯不亮"}
    reader, cursor = watching(ctx, or_staff=True)
    vague = _post(ctx, "json", form)
    ctx.expect_status(vague, 400, zh="服务多个社区的凭证提交时没有指明社区",
                      en="a credential serving several communities files naming none")
    items = vague.json() if isinstance(vague.json(), list) else []
    ctx.expect(bool(items) and "jurisdiction_id" in str(items[0].get("description")),
               "不确定社区的错误没有指明 jurisdiction_id",
               "the refusal of an ambiguous community does not name jurisdiction_id")
    events, _ = after(ctx, reader, cursor)
    issues = subject(ctx, ISSUE, "")
    ctx.expect(not [e for e in events if isinstance(e, dict)
                    and str(e.get("subject", "")).startswith(issues)],
               "社区不确定的请求被保存", "a request of an ambiguous community was stored")
    for community in (ctx.preset.community, other):
        resp = _post(ctx, "json", {**form, "jurisdiction_id": community})
        filed = _json_list(ctx, resp, "POST requests with jurisdiction_id")
        rid = str((filed or [{}])[0].get("service_request_id"))
        doc = ctx.read(ISSUE, rid, who).json() or {}
        ctx.expect(doc.get("communityDivisionCode") == community,
                   f"jurisdiction_id={community} 提交的诉求属于 "
                   f"{plain(doc.get('communityDivisionCode'), 'zh')}",
                   f"the request filed with jurisdiction_id={community} belongs to "
                   f"{plain(doc.get('communityDivisionCode'))}")


@check("/req/open311/read", needs=(_RESIDENT,))
def test_open311_read(ctx: KitContext) -> None:
    who, code = _resident_service(ctx)
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
    # Dates at the ends of the calendar: the default 90 days stop there rather than pass them,
    # and an instant beyond year 9999 or before year 1 in UTC is refused by name.
    for name, edge in (("start_date", "9999-12-30T00:00:00+08:00"),
                       ("end_date", "0001-01-02T00:00:00Z")):
        resp = _get(ctx, "/requests.json", staff, **{name: edge})
        ctx.expect_status(resp, 200, zh=f"{name}={edge}，缺省范围止于日历的一端",
                          en=f"{name}={edge}, the default range stopping at an end of the "
                          "calendar")
        found = {str(i.get("service_request_id")) for i in _json_list(ctx, resp, "GET requests")}
        ctx.expect(rid not in found, f"{name}={edge} 给出了现在的请求",
                   f"{name}={edge} gives a request of today")
    for name, beyond in (("start_date", "9999-12-31T20:00:00-08:00"),
                         ("end_date", "0001-01-01T00:00:00+08:00")):
        _names(ctx, _get(ctx, "/requests.json", staff, **{name: beyond}), name,
               zh=f"{name}={beyond} 在 UTC 的 0001 至 9999 年之外",
               en=f"{name}={beyond} lies outside the years 0001 to 9999 in UTC")
    twice = urlencode([("api_key", staff.token), ("status", "open"), ("status", "closed")])
    _names(ctx, ctx.call("GET", _path(ctx, f"/requests.json?{twice}"), None,
                         headers={"Accept": "*/*"}), "status",
           zh="status 出现两次", en="status given twice")
    _tokens_answer_readers(ctx, who, rid)


def _tokens_answer_readers(ctx: KitContext, filer: Principal, rid: str) -> None:
    """The filer finds her token with her own api_key; a lookup by a caller who may not read
    the issue (anonymous, while it is unpublished) is the 404 of a token naming nothing, so
    it does not tell that the issue exists (/req/open311/read)."""
    token = _json_list(ctx, _get(ctx, f"/tokens/{rid}.json", filer), "GET tokens as the filer")
    ctx.expect(bool(token) and token[0].get("service_request_id") == rid,
               "提交人以自己的 api_key 查询令牌，没有得到 service_request_id",
               "the filer looking up her token with her own api_key gets no service_request_id")
    nothing = _get(ctx, f"/tokens/{uuid.uuid4()}.json")
    ctx.expect_status(nothing, 404, zh="不存在的令牌", en="a token naming nothing")
    if ctx.call("GET", ctx.resource_path(ISSUE, rid), None).status == 200:
        return  # this server lets anonymous readers see the issue as filed: nothing to hide
    hidden = _get(ctx, f"/tokens/{rid}.json")
    ctx.expect(hidden.status == 404,
               f"匿名查询未公开诉求的令牌得到 {hidden.status}，应与不存在的令牌一样为 404："
               "否则任何人都能探知某件诉求存在",
               f"an anonymous lookup of the token of an unpublished issue got {hidden.status}, "
               "not the 404 of a token naming nothing: anyone could learn that the issue exists")


def _next_page(resp: Response) -> tuple[str, dict[str, str]] | None:
    """The path and query of the page a ``Link: <…>; rel="next"`` header points to."""
    for link in str(resp.headers.get("link") or "").split(","):
        target, _, rest = link.partition(";")
        if 'rel="next"' in rest.replace(" ", "") or "rel=next" in rest.replace(" ", ""):
            parts = urlsplit(target.strip().strip("<>"))
            return parts.path, dict(parse_qsl(parts.query))
    return None


@check("/req/open311/paging", needs=(_RESIDENT,))
def test_open311_paging(ctx: KitContext) -> None:
    from ...open311 import mapping

    table = mapping(ctx.spec.version)
    page_name, size_name = table.paging
    discovery = _get(ctx, "/discovery.json").json() or {}
    announced = table.raw["paging"]["discovery"]
    ctx.expect(discovery.get(announced) == table.max_requests,
               f"discovery 没有以 {announced} 公布上限 {table.max_requests}",
               f"discovery does not announce the cap {table.max_requests} as {announced}")
    who, code = _resident_service(ctx)
    since = ctx.moment(-1 / 24)
    filed = {_file(ctx, who, code) for _ in range(3)}
    query = {"service_code": code, "start_date": since, size_name: "2",
             "api_key": ctx.staff.token}
    seen: list[str] = []
    resp = ctx.call("GET", _path(ctx, "/requests.json"), None, params=query,
                    headers={"Accept": "*/*"})
    for _ in range(200):
        items = _json_list(ctx, resp, "GET requests page")
        ctx.expect(len(items) <= 2, f"{size_name}=2 的一页给出了 {len(items)} 条",
                   f"a page of {size_name}=2 gave {len(items)} requests")
        ids = [str(i.get("service_request_id")) for i in items]
        ctx.expect(not set(ids) & set(seen), "分页重复给出了请求", "paging repeats requests")
        seen += ids
        following = _next_page(resp)
        if following is None:
            break
        path, params = following
        resp = ctx.call("GET", path, None, params=params, headers={"Accept": "*/*"})
    ctx.expect(filed <= set(seen), "沿 Link 分页没有读到全部请求",
               "following the Link pages does not reach every request")
    for bad in ({size_name: "0"}, {size_name: str(table.max_requests + 1)}, {page_name: "0"}):
        ctx.expect_status(_get(ctx, "/requests.json", ctx.staff, **bad), 400,
                          zh=f"超出范围的 {plain(bad, 'zh')}", en=f"{plain(bad)} out of range")
    # service_request_id is answered whole: each id once, and no more than the cap of them.
    one = sorted(filed)[0]
    again = _json_list(ctx, _get(ctx, "/requests.json", ctx.staff,
                                 service_request_id=",".join([one] * 3)), "GET requests by id")
    ctx.expect([str(i.get("service_request_id")) for i in again] == [one],
               f"service_request_id 列出同一标识三次，给出了 {len(again)} 条",
               f"service_request_id listing one id three times gave {len(again)} requests")
    # Short ids keep the address short; none names a request, so only the count matters.
    many = ",".join(str(n) for n in range(1, table.max_requests + 2))
    _names(ctx, _get(ctx, "/requests.json", ctx.staff, service_request_id=many),
           "service_request_id", zh=f"service_request_id 列出 {table.max_requests + 1} 个标识",
           en=f"service_request_id listing {table.max_requests + 1} ids")


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
    # A JSON body is no form: 415, saying which media types a POST takes.
    as_json = ctx.call("POST", _path(ctx, "/requests.json"), None,
                       content=b'{"service_code": "x"}',
                       headers={"Content-Type": "application/json", "Accept": "*/*"})
    ctx.expect_status(as_json, 415, zh="JSON 请求体", en="a JSON body")
    said = as_json.json() if isinstance(as_json.json(), list) else []
    ctx.expect(bool(said) and all(isinstance(i, dict) and str(i.get("code")) == "415"
                                  and _FORM in str(i.get("description")) for i in said),
               f"415 不是说明须为 {_FORM} 的 GeoReport 错误列表",
               f"the 415 is not a GeoReport error list saying the body must be {_FORM}")
    _unfit_refused(ctx, who)


#: an id, token or service code holding a NUL, where the bridge is given one, and the name of
#: the parameter its refusal names (/req/core/path-id)
_UNFIT: tuple[tuple[str, dict[str, str], str], ...] = (
    ("/requests/%00.json", {}, "id"), ("/requests/%00.xml", {}, "id"),
    ("/tokens/%00.json", {}, "token"),
    ("/requests.json", {"service_request_id": "\x00"}, "service_request_id"),
    ("/requests.json", {"service_code": "\x00"}, "service_code"))


def _unfit_refused(ctx: KitContext, who: Principal) -> None:
    """What no id, token or code may hold is a GeoReport 400 naming it, anonymous readers
    included, before it reaches storage (where a NUL is PostgreSQL's 500); a form's
    ``attributes``, text where an object of attributes would be, is a 400 naming it too."""
    for tail, params, field in _UNFIT:
        resp = ctx.call("GET", _path(ctx, tail), None, params=params, headers={"Accept": "*/*"})
        what = f"GET {tail}" + "".join(f"?{name}=%00" for name in params)
        if tail.endswith(".xml"):
            ctx.expect_status(resp, 400, zh=f"{what}（NUL）", en=f"{what} (a NUL)")
            root, items = georeport_xml(ctx, resp.text)
            ctx.expect(root == "errors" and any(field in str(i.get("description"))
                                                for i in items),
                       f"{what} 的 XML 错误没有指明 {field}",
                       f"the XML error of {what} does not name {field}")
            continue
        _names(ctx, resp, field, zh=f"{what}（NUL）", en=f"{what} (a NUL)")
    code = _plain_service(ctx)
    form = {"api_key": who.token, "service_code": code, "lat": "39.9087", "long": "116.3975",
            "attributes": "x"}
    _names(ctx, _post(ctx, "json", form), "attributes", zh="表单中的 attributes=x",
           en="attributes=x in the form")


@check("/req/open311/formats", needs=(_RESIDENT,))
def test_open311_formats(ctx: KitContext) -> None:
    who, code = _resident_service(ctx)
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


#: a first line a GeoReport app sends as part of description: a name, a phone number, a flat
_PERSONAL_LINE = "王桂英 13800138000 5号楼2单元302 独居老人"


@check("/req/open311/mapping", needs=(_RESIDENT,))
def test_open311_description_is_never_the_title(ctx: KitContext) -> None:
    """The whole description becomes the issue's description (tagged personal); the title,
    which is published with the issue, is the service's Chinese name, whatever language the
    filing asks for, and holds nothing the resident typed."""
    who, code = _resident_service(ctx)
    services = _json_list(ctx, _get(ctx, "/services.json", locale="zh-Hans"), "services")
    name = next((s.get("service_name") for s in services if s.get("service_code") == code),
                None)
    text = f"{_PERSONAL_LINE}\n家中漏水无人帮忙。"
    form = {"api_key": who.token, "service_code": code, "lat": "39.9087", "long": "116.3975",
            "description": text}
    rid = _filed_id(ctx, _post(ctx, "json", form, query={"locale": "en"}),
                    "通过 Open311 提交请求", "file a request by Open311")
    native = ctx.read(ISSUE, rid)
    ctx.expect_status(native, 200, zh="读取通过 Open311 提交的诉求",
                      en="read the issue filed by Open311")
    doc = native.json() if isinstance(native.json(), dict) else {}
    title = str(doc.get("title"))
    typed = [w for w in _PERSONAL_LINE.split() if w in title]
    ctx.expect(not typed,
               f"诉求标题 {plain(title, 'zh')} 取自 description（{plain(typed, 'zh')}）：标题不标注"
               "为个人信息，会随诉求公开",
               f"the issue's title {plain(title)} is taken from description ({plain(typed)}): "
               "the title is tagged as no personal information and is published with the issue")
    ctx.expect(title == name,
               f"诉求标题是 {plain(title, 'zh')}，应为服务的中文名称 {plain(name, 'zh')}",
               f"the issue's title is {plain(title)}, not the service's Chinese name "
               f"{plain(name)}")
    ctx.expect(doc.get("description") == text,
               f"诉求描述是 {plain(doc.get('description'), 'zh')}，应为整段 description",
               f"the issue's description is {plain(doc.get('description'))}, not the whole "
               "description filed")
    mine = _json_list(ctx, _get(ctx, f"/requests/{rid}.json", who), "GET requests/{id}")
    ctx.expect(bool(mine) and mine[0].get("description") == text,
               "提交人读回的 description 与提交的不同",
               "the filer reads back another description than she filed")


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
