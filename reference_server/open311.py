"""The Open311 GeoReport v2 bridge (/conf/open311), mounted at the mapping's prefix.

Every call goes through the same service as the native API: a POST is a native create (the
same validation, actor binding from the credential, Idempotency-Key, change feed and audit), a
read is a native read or list redacted for the caller's audience, then converted by
:mod:`smartcommunity.open311`. Only the wire differs: form-encoded requests, ``.json`` or
``.xml`` answers, and errors as GeoReport's ``[{code, description}]``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smartcommunity.exceptions import Open311Error
from smartcommunity.open311 import (
    Catalogue,
    catalogue,
    community_of,
    issue_to_request,
    mapping,
    named_community,
    request_to_issue,
    to_xml,
)
from smartcommunity.participation import moment
from smartcommunity.profiles import Profile, load_profile

from .api import State
from .auth import KeysUnreachable, Principal
from .errors import (
    NOT_STORED,
    BadRequest,
    Forbidden,
    IdempotencyKeyReused,
    KeysUnavailable,
    NotFound,
    PayloadTooLarge,
    ProblemError,
    ServerError,
    UnsupportedMediaType,
    message,
)
from .openapi import operations
from .service import Result, now_cst, stamp
from .storage import ListQuery, utc_text

__all__ = ["open311_routes"]

_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
#: GeoReport v2: a date range of GET requests spans at most 90 days, the default window
_WINDOW = timedelta(days=90)
#: native pages the bridge reads a listing in (the native API's largest page)
_NATIVE_PAGE = 500
_LANGS = ("zh-Hans", "en")

log = logging.getLogger("reference_server")


class Open311Refusal(ProblemError):
    """A GeoReport-specific refusal, worded by its ``error-code`` template."""

    status = 400
    code = "open311.invalid-field"
    title = "Bad Open311 request"
    requirement = "/req/open311/errors"


def _issue(request: Request) -> str:
    """The resource type Open311 requests are (the mapping's ``resourceType``)."""
    return mapping(_state(request).service.spec.version).resource_type


def _state(request: Request) -> State:
    found: State = request.app.state.sc
    return found


def _catalogue(request: Request) -> Catalogue:
    """The services: the city profile's catalogue when the server runs with one (in its
    settings or app state), else the spec's issue categories. Built once per application."""
    cached: Catalogue | None = getattr(request.app.state, "open311_catalogue", None)
    if cached is not None:
        return cached
    st = _state(request)
    profile: Any = getattr(st.settings, "profile", None)
    if profile is None:
        profile = getattr(request.app.state, "profile", None)
    if isinstance(profile, (str, Path)):
        profile = load_profile(profile)
    made = catalogue(profile if isinstance(profile, Profile) else None, st.service.spec.version)
    request.app.state.open311_catalogue = made
    return made


# ------------------------------------------------------------------------------ the wire
def _answer(fmt: str, root: str, body: Any, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, body), status_code=status,
                        media_type="text/xml; charset=utf-8", headers=NOT_STORED)
    return Response(orjson.dumps(body), status_code=status, media_type="application/json",
                    headers=NOT_STORED)


def _descriptions(error: ProblemError, version: str) -> list[str]:
    body = error.body(version)
    found = []
    for item in body.get("errors") or ():
        said = item.get("message") or {}
        where = str(item.get("pointer") or "").lstrip("/").replace("/", ".")
        text = f"{said.get('en', '')} / {said.get('zh-Hans', '')}"
        found.append(f"{where}: {text}" if where else text)
    if not found:
        said = body["message"]
        found.append(f"{said.get('en', '')} / {said.get('zh-Hans', '')}")
    return found


def _fail(fmt: str, error: ProblemError, version: str) -> Response:
    """GeoReport's error list: one ``{code, description}`` per problem, the code being the
    HTTP status (/req/open311/errors)."""
    # GeoReport v2 knows 400 for any invalid request: the native API's 422 reads as 400.
    status = 400 if error.status == 422 else error.status
    items = [{"code": status, "description": d} for d in _descriptions(error, version)]
    response = _answer(fmt, "errors", items, status)
    response.headers.update(error.headers)
    return response


Handler = Callable[[Request, str], Awaitable[Response]]


def _endpoint(handler: Handler, path: str, method: str
              ) -> Callable[[Request], Awaitable[Response]]:
    """The route of ``handler``, the OpenAPI's operation ``method`` on ``path``."""
    async def endpoint(request: Request) -> Response:
        fmt = str(request.path_params.get("fmt", ""))
        version = _state(request).service.spec.version
        if fmt not in mapping(version).formats:
            return _fail("json", NotFound(), version)
        try:
            _single_query(request)
            _declared(request, path, method)
            _jurisdiction(request)
            return await handler(request, fmt)
        except ProblemError as error:
            return _fail(fmt, error, version)
        except Exception:
            # No input should lead here (/req/core/no-server-error); should a failure do so
            # nonetheless, a GeoReport client still reads a GeoReport error list, not the
            # native API's problem+json (/req/open311/errors).
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            return _fail(fmt, ServerError(), version)

    endpoint.__name__ = f"open311_{handler.__name__}"
    return endpoint


def _refuse(request: Request, code: str, pointer: str, **values: Any) -> Open311Refusal:
    version = _state(request).service.spec.version
    said = message(code, version, **values)
    return Open311Refusal(said["en"], errors=[{"pointer": pointer, "code": code,
                                               "message": said}])


def _invalid(request: Request, field: str, *, en: str, zh: str,
             pointer: str | None = None) -> Open311Refusal:
    """``open311.invalid-field`` naming ``field``, its reason worded in each language."""
    version = _state(request).service.spec.version
    code = "open311.invalid-field"
    said = {"zh-Hans": message(code, version, field=field, reason=zh)["zh-Hans"],
            "en": message(code, version, field=field, reason=en)["en"]}
    return Open311Refusal(said["en"], errors=[{
        "pointer": f"/{field}" if pointer is None else pointer, "code": code,
        "message": said}])


def _repeated(request: Request, fields: Iterable[str]) -> Open311Refusal:
    """One refusal naming each field given more than once."""
    errors = [e for f in fields for e in _invalid(
        request, f, en="given more than once; give it once",
        zh="给出了不止一次，只能给出一次").errors]
    return Open311Refusal("a field is given more than once", errors=errors)


#: the query parameters the bridge reads, each one value (lists are comma separated)
_QUERY = frozenset({"api_key", "jurisdiction_id", "locale", "service_request_id",
                    "service_code", "start_date", "end_date", "status"})


def _single_query(request: Request) -> None:
    """A query parameter the bridge reads given twice is refused: taking either value would
    answer a question the caller may not have asked. Others are ignored, as GeoReport does."""
    names = _QUERY.union(mapping(_state(request).service.spec.version).paging)
    given = [name for name, _ in request.query_params.multi_items() if name in names]
    twice = [name for name in dict.fromkeys(given) if given.count(name) > 1]
    if twice:
        raise _repeated(request, twice)


def _declared(request: Request, path: str, method: str) -> None:
    """The path, query and header parameters the OpenAPI declares for the operation, checked
    against their schemas as the standard's API checks its own: an id, token or service code
    holding a control character (/req/core/path-id) or an Idempotency-Key no key may be is a
    400 naming it before it reaches storage, where PostgreSQL holds no NUL and keys have a
    length. Numbers are the bridge's to read, in GeoReport's words (see :func:`_whole`)."""
    operation = operations(_state(request).service.spec.version).get((path, method.lower()))
    if operation is None:
        return
    given = [(name, param, [str(request.path_params[name])])
             for name, param in operation.path_params.items() if name in request.path_params]
    given += [(name, param, request.query_params.getlist(name))
              for name, param in operation.query.items() if not param.integer]
    given += [(param.name, param, [request.headers[name]])
              for name, param in operation.headers.items() if name in request.headers]
    errors: list[dict[str, Any]] = []
    for name, param, values in given:
        said = next((s for s in map(param.problem, values) if s is not None), None)
        if said is not None:
            errors += _invalid(request, name, en=said["en"], zh=said["zh-Hans"]).errors
    if errors:
        raise Open311Refusal("a parameter breaks its schema", errors=errors)


def _jurisdiction(request: Request, given: str | None = None) -> str | None:
    """The community ``jurisdiction_id`` (of the query, else ``given``) names, None for the
    whole city; 400 when it is neither the profile's URI nor a community's code."""
    given = request.query_params.get("jurisdiction_id") or given
    try:
        return named_community(given, _catalogue(request))
    except LookupError:
        raise _refuse(request, "open311.unknown-jurisdiction", "/jurisdiction_id",
                      jurisdiction_id=given) from None


def _principal(request: Request, key: str | None, *, required: bool) -> Principal:
    """The caller: ``api_key`` (or a Bearer token) is the server's credential; reads without
    one are anonymous public reads."""
    st = _state(request)
    header = request.headers.get("authorization", "")
    if not key and header.lower().startswith("bearer "):
        key = header[7:].strip()
    if not key:
        if required:
            raise Forbidden("an api_key is required to file a request",
                            message={"en": "an api_key is required to file a request",
                                     "zh-Hans": "提交请求需要 api_key"})
        return st.service.anonymous
    try:
        principal = st.tokens.lookup(key)
    except KeysUnreachable:
        raise KeysUnavailable() from None
    if principal is None:
        raise Forbidden("the api_key is not known",
                        message={"en": "the api_key is not known", "zh-Hans": "api_key 无效"})
    return principal


def _lang(request: Request) -> str:
    given = request.query_params.get("locale", "")
    return next((lang for lang in _LANGS if given.lower().startswith(lang[:2].lower())),
                _LANGS[0])


# ------------------------------------------------------------------------------ handlers
async def discovery(request: Request, fmt: str) -> Response:
    version = _state(request).service.spec.version
    table = mapping(version)
    base = str(request.base_url).rstrip("/") + table.prefix
    body = {
        "changeset": version,
        "contact": "",
        # GeoReport v2 lets a server limit GET requests; the mapping says by how much.
        table.raw["paging"]["discovery"]: table.max_requests,
        "key_service": "",
        "endpoints": [{"specification": str(table.raw["georeport"]), "url": base,
                       "changeset": version, "type": "production",
                       "formats": list(table.formats.values())}],
    }
    return _answer(fmt, "discovery", body)


async def services(request: Request, fmt: str) -> Response:
    return _answer(fmt, "services", _catalogue(request).services(_lang(request)))


async def definition(request: Request, fmt: str) -> Response:
    found = _catalogue(request).definition(str(request.path_params["code"]), _lang(request))
    if found is None:
        raise NotFound()
    return _answer(fmt, "service_definition", found)


async def _body(request: Request) -> bytes:
    limit = _state(request).settings.max_body_bytes
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _repeatable(key: str) -> bool:
    """Whether form key ``key`` may come more than once: a list key (``attribute[code][]``)
    or an attribute, whose definition says whether it takes several values."""
    return key.endswith("[]") or key.startswith("attribute[")


def _collect(request: Request, pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The form's fields; a scalar field given twice is refused (/req/open311/create), since
    keeping either value, or both, would store what the caller may not have meant."""
    form: dict[str, Any] = {}
    twice: dict[str, None] = {}  # every scalar field given twice, in order, reported at once
    for key, value in pairs:
        if key not in form:
            form[key] = [value] if key.endswith("[]") else value
        elif not _repeatable(key):
            twice[key] = None
        else:  # a repeated list key collects its values
            prior = form[key]
            form[key] = [*prior, value] if isinstance(prior, list) else [prior, value]
    if twice:
        raise _repeated(request, twice)
    return form


def _multipart(request: Request, header: str, body: bytes) -> list[tuple[str, str]]:
    """The text parts of a multipart/form-data body; a file part (one with a filename, such
    as GeoReport's ``media``) is refused, since the native API stores no uploads
    (/req/open311/media). The standard library's MIME parser reads the bounded body."""
    parsed = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + header.encode("latin-1") + b"\r\n\r\n" + body)
    if not parsed.is_multipart() or parsed.defects:
        raise _invalid(request, _MULTIPART, pointer="/", en="the body has no readable parts",
                       zh="请求体没有可读取的部分")
    pairs: list[tuple[str, str]] = []
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise _invalid(request, _MULTIPART, pointer="/", en="a part has no name",
                           zh="有一个部分没有名称")
        if part.get_filename() is not None:
            raise _refuse(request, "open311.media-upload", f"/{name}", field=name)
        payload = part.get_payload(decode=True)
        charset = part.get_content_charset() or "utf-8"
        try:
            text = bytes(payload if isinstance(payload, bytes) else b"").decode(charset)
        except (LookupError, UnicodeDecodeError):
            raise _invalid(request, name, en=f"not {charset} text",
                           zh=f"不是 {charset} 文本") from None
        if text:
            pairs.append((name, text))
    return pairs


def _not_a_form(media: str) -> ProblemError:
    """415 for a POST body that is no form: worded here, since the code's template speaks of
    the standard's API, whose bodies are JSON."""
    given = media or "nothing"
    given_zh = media or "（无）"
    return UnsupportedMediaType(given=given, message={
        "en": f"The body must be {_FORM} or {_MULTIPART}, not {given}",
        "zh-Hans": f"请求体必须是 {_FORM} 或 {_MULTIPART}，而不是 {given_zh}"})


#: the fields a POST may give in its query string as well as in its body
_POSTED_IN_QUERY = ("api_key", "jurisdiction_id")


def _in_query(request: Request) -> list[tuple[str, str]]:
    """The fields of a POST its query string gives (/req/open311/create); a blank one is
    left out, as in the form."""
    return [(k, v) for k, v in request.query_params.multi_items()
            if k in _POSTED_IN_QUERY and v]


async def _form(request: Request) -> dict[str, Any]:
    """The fields of a form-encoded or multipart/form-data POST, with those its query string
    gives: one set, so a field given in both is given twice (/req/open311/create)."""
    header = request.headers.get("content-type", "")
    media = header.split(";", 1)[0].strip().lower()
    if media not in (_FORM, _MULTIPART):
        raise _not_a_form(media)
    body = await _body(request)
    if media == _MULTIPART:
        pairs = _multipart(request, header, body)
    else:
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=False,
                              strict_parsing=False)
        except UnicodeDecodeError:
            raise BadRequest("the form is not UTF-8") from None
    return _collect(request, [*_in_query(request), *pairs])


def _community(request: Request, principal: Principal, form: dict[str, Any]) -> str:
    """The request's community: the credential's own when it serves one, else what the
    request says (/req/open311/community)."""
    serves = None if principal.every_community else frozenset(principal.communities)
    try:
        return community_of(form, _catalogue(request), serves)
    except Open311Error as exc:
        raise Open311Refusal(str(exc), errors=exc.problems) from None


def _filing(service: Any, rtype: str, principal: Principal, key: str | None
            ) -> tuple[str, str]:
    """The id and submission time of the issue a POST files. A retry is given those of what
    ``key`` made before (the stored idempotency record, on any instance and after a restart),
    so it builds the same issue and the native create replays it (/req/core/idempotency-key).
    Otherwise the id is random: one derived from the principal and the key could be foreseen
    by whoever knows a resident's record id, and taken first (/req/open311/create)."""
    if key is not None:
        with service.store.read() as tx:
            hit = tx.idempotent(principal.key, key, service._unexpired())
            stored = tx.get(rtype, str(hit["rid"])) if hit is not None else None
        if stored is not None:
            return stored.id, str(stored.doc.get("submittedAt"))
    return str(uuid.uuid4()), stamp(now_cst())


async def create(request: Request, fmt: str) -> Response:
    """POST requests: the form becomes an issue created as the native API creates one."""
    st = _state(request)
    form = await _form(request)
    principal = _principal(request, form.pop("api_key", None), required=True)
    _jurisdiction(request, form.get("jurisdiction_id"))
    # An unresolved community is reported with every other problem of the form, not alone.
    unresolved: list[dict[str, Any]] = []
    try:
        community = _community(request, principal, form)
    except Open311Refusal as refusal:
        community, unresolved = "", refusal.errors
    form.pop("jurisdiction_id", None)
    # GeoReport's POST has no requested_datetime: the server's clock says when it was filed.
    form.pop("requested_datetime", None)
    key = request.headers.get("idempotency-key")
    service = st.service
    for attempt in range(2):
        issue_id, at = _filing(service, _issue(request), principal, key)
        try:
            converted = request_to_issue(form, _catalogue(request), role=principal.role,
                                         community=community, issue_id=issue_id, now=at)
        except Open311Error as exc:
            raise Open311Refusal(str(exc), errors=[*unresolved, *exc.problems]) from None
        if unresolved:
            raise Open311Refusal("the Open311 request names no community", errors=unresolved)
        try:
            result = await service.finish_async(
                service.prepare_create(principal, _issue(request), converted.value, key))
        except IdempotencyKeyReused:
            # A retry that raced the first POST of its key was built before that one was
            # stored, with an id of its own: built again from the stored record, it replays.
            # The same key with another form is refused the second time too.
            if key is None or attempt:
                raise
            continue
        break
    made = orjson.loads(result.body)
    answer = issue_to_request(made, _catalogue(request), lang=_lang(request)).value
    body = [{"service_request_id": made["id"], "service_notice": answer["service_notice"],
             "account_id": None}]
    response = _answer(fmt, "service_requests", body, 201 if result.status == 201 else 200)
    response.headers.update({k: v for k, v in result.headers.items() if k != "Location"})
    return response


#: the instants a date filter may name: RFC 3339 writes years 0001 to 9999, in UTC too
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def _moment(request: Request, name: str) -> datetime | None:
    """The instant of date filter ``name`` in UTC; 400 naming it when it is no date-time with
    offset, or its instant falls outside years 0001 to 9999 in UTC (/req/open311/read)."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    when = moment(raw)
    if when is None:
        raise _invalid(request, name, en="not a W3C date-time with offset",
                       zh="不是带时区偏移的 W3C 日期时间")
    try:
        return when.astimezone(UTC)
    except OverflowError:  # 9999-12-31T20:00-08:00 is in year 10000 in UTC
        raise _invalid(request, name, en="its instant is outside the years 0001 to 9999 in UTC",
                       zh="所指时刻在 UTC 的 0001 至 9999 年之外") from None


def _shifted(when: datetime, by: timedelta) -> datetime:
    """``when`` moved ``by``, stopping at the first or last instant a date filter may name."""
    try:
        return when + by
    except OverflowError:
        return _LATEST if by > timedelta(0) else _EARLIEST


def _window(request: Request) -> tuple[datetime, datetime]:
    """The submission range of GET requests: start_date to end_date, spanning at most 90 days;
    the one missing is 90 days from the other (the latest 90 days with neither), the default
    stopping at the bounds of the calendar rather than passing them."""
    start, end = _moment(request, "start_date"), _moment(request, "end_date")
    if start is None and end is None:
        end = now_cst().astimezone(UTC)
    if start is None:
        assert end is not None
        start = _shifted(end, -_WINDOW)
    if end is None:
        end = _shifted(start, _WINDOW)
    if end < start or end - start > _WINDOW:
        raise _invalid(request, "end_date",
                       en="the range must run forward and span at most 90 days",
                       zh="范围必须从前往后，且不超过 90 天")
    return start, end


def _listed(request: Request, name: str) -> list[str]:
    raw = request.query_params.get(name) or ""
    return [v.strip() for v in raw.split(",") if v.strip()]


def _wanted(request: Request) -> list[str]:
    """The ids ``service_request_id`` lists, each once in the order first named; more than
    maxRequests of them is 400 naming it, as an answer holds at most that many and a list of
    ids is answered whole (/req/open311/paging)."""
    ids = list(dict.fromkeys(_listed(request, "service_request_id")))
    top = mapping(_state(request).service.spec.version).max_requests
    if len(ids) > top:
        raise _invalid(request, "service_request_id",
                       en=f"lists {len(ids)} ids, more than the {top} an answer holds",
                       zh=f"列出了 {len(ids)} 个标识，超过一次应答的上限 {top}")
    return ids


def _present(request: Request, principal: Principal, rids: list[str]) -> list[dict[str, Any]]:
    """Each issue ``principal`` may read, as the native read presents it (redacted, and
    audited when the type is)."""
    service = _state(request).service
    found = []
    for rid in rids:
        try:
            result: Result = service.read(principal, _issue(request), rid)
        except NotFound:
            continue
        found.append(orjson.loads(result.body))
    return found


def _whole(request: Request, name: str, default: int, top: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        number = int(str(raw))
    except ValueError:
        number = 0
    if not 1 <= number <= top:
        raise _invalid(request, name, en=f"a whole number from 1 to {top}",
                       zh=f"须为 1 至 {top} 的整数")
    return number


def _paging(request: Request) -> tuple[int, int]:
    """The page asked for (from 1) and its size, at most the mapping's ``maxRequests``."""
    table = mapping(_state(request).service.spec.version)
    page_name, size_name = table.paging
    size = _whole(request, size_name, table.max_requests, table.max_requests)
    # A page beyond every stored request is merely empty; the bound keeps the skip an int.
    return _whole(request, page_name, 1, 2**31 - 1), size


def _search(request: Request, principal: Principal) -> tuple[list[dict[str, Any]], bool]:
    """The page of matching issues asked for, and whether a later page has any."""
    service = _state(request).service
    table = mapping(service.spec.version)
    codes = _listed(request, "service_code")
    wanted = _listed(request, "status")
    known = table.open311_statuses
    for status in wanted:
        if status not in known:
            raise _invalid(request, "status", en=" or ".join(sorted(known)),
                           zh="、".join(sorted(known)) + " 之一")
    start, end = _window(request)
    page, size = _paging(request)
    skip = (page - 1) * size
    statuses = frozenset().union(*(table.statuses_of(s) for s in wanted)) if wanted else None
    query = ListQuery(community=_jurisdiction(request),
                      category=codes[0] if len(codes) == 1 else None,
                      submitted_from=utc_text(stamp(start)), submitted_to=utc_text(stamp(end)),
                      status=next(iter(statuses)) if statuses and len(statuses) == 1 else None,
                      today=now_cst().date().isoformat())
    found: list[dict[str, Any]] = []
    seen = 0
    cursor: str | None = None
    # One match beyond the page says whether there is a next one.
    while len(found) <= size:
        native = orjson.loads(
            service.list_page(principal, _issue(request), query, cursor, _NATIVE_PAGE).body)
        for item in native["items"]:
            if codes and item.get("category") not in codes:
                continue
            if statuses is not None and item.get("status") not in statuses:
                continue
            seen += 1
            if seen > skip:
                found.append(item)
        cursor = native.get("next")
        if not cursor:
            break
    return found[:size], len(found) > size


async def list_requests(request: Request, fmt: str) -> Response:
    """GET requests with GeoReport's filters; ``service_request_id`` overrides the others.
    Answers are paged (the mapping's ``paging``); a next page is linked in ``Link``."""
    principal = _principal(request, request.query_params.get("api_key"), required=False)
    # A malformed page or page_size is refused even where service_request_id overrides them.
    _paging(request)
    ids = _wanted(request)
    more = False
    if ids:
        issues = await run_in_threadpool(_present, request, principal, ids)
    else:
        issues, more = await run_in_threadpool(_search, request, principal)
    cat, lang = _catalogue(request), _lang(request)
    body = [issue_to_request(i, cat, lang=lang).value for i in issues]
    response = _answer(fmt, "service_requests", body)
    if more:
        page_name = mapping(_state(request).service.spec.version).paging[0]
        page, _ = _paging(request)
        following = request.url.include_query_params(**{page_name: page + 1})
        response.headers["Link"] = f'<{following}>; rel="next"'
    return response


async def read_request(request: Request, fmt: str) -> Response:
    principal = _principal(request, request.query_params.get("api_key"), required=False)
    issues = await run_in_threadpool(_present, request, principal,
                                     [str(request.path_params["id"])])
    if not issues:
        raise NotFound()
    body = [issue_to_request(issues[0], _catalogue(request), lang=_lang(request)).value]
    return _answer(fmt, "service_requests", body)


def _readable(request: Request, principal: Principal, rid: str) -> bool:
    """Whether ``principal`` may read issue ``rid``: the decision of the native read, which
    ``GET requests/{id}`` makes too, without the read itself (nothing of the issue is shown,
    so nothing is audited)."""
    service = _state(request).service
    with service.store.read() as tx:
        stored = tx.get(_issue(request), rid)
    return stored is not None and service.access.can_see(principal, stored)


async def token(request: Request, fmt: str) -> Response:
    """A request becomes an issue at once, so its token is the issue id, there for the filer
    to find her request again. It is answered only to a caller who may read the issue, and
    404 alike otherwise: an anonymous lookup must not tell whether an unpublished issue
    exists (/req/open311/read)."""
    principal = _principal(request, request.query_params.get("api_key"), required=False)
    given = str(request.path_params["token"])
    if not await run_in_threadpool(_readable, request, principal, given):
        raise NotFound()
    return _answer(fmt, "service_requests", [{"service_request_id": given, "token": given}])


def open311_routes(version: str) -> list[Route]:
    """The bridge's routes under the mapping's prefix of spec ``version``."""
    prefix = mapping(version).prefix
    table: list[tuple[str, Handler, str]] = [
        ("/discovery.{fmt}", discovery, "GET"),
        ("/services.{fmt}", services, "GET"),
        ("/services/{code}.{fmt}", definition, "GET"),
        ("/requests.{fmt}", create, "POST"),
        ("/requests.{fmt}", list_requests, "GET"),
        ("/requests/{id}.{fmt}", read_request, "GET"),
        ("/tokens/{token}.{fmt}", token, "GET"),
    ]
    routes = []
    for path, handler, method in table:
        route = Route(prefix + path, _endpoint(handler, prefix + path, method), methods=[method])
        route.methods = {method}
        routes.append(route)
    return routes
