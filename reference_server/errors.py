"""HTTP errors as RFC 9457 ``application/problem+json`` (/req/core/problem-details).

Every error the server answers is a :class:`ProblemError` subclass that declares its status,
stable code, title and bilingual message template; one renderer turns it into the body that
``schemas/problem.json`` describes. Routes raise, never build error responses themselves.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from smartcommunity import Finding

__all__ = [
    "PROBLEM_JSON", "BadRequest", "Conflict", "Forbidden", "IdConflict", "IdempotencyKeyReused",
    "InvalidCursor", "InvalidHeader", "InvalidParameter", "MalformedJson", "MethodNotAllowed",
    "NotFound", "PayloadTooLarge", "PreconditionFailed", "PreconditionRequired", "ProblemError",
    "ServerError", "StatusConflict", "TooDeep", "Unauthorized", "UnknownParameter",
    "Unprocessable", "UnsupportedMediaType", "finding", "install_handlers", "problem_response",
]

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://w3id.org/smartcommunity/spec/1.0/errors/"
log = logging.getLogger("reference_server")


class ProblemError(Exception):
    """An error answered as problem details; subclasses set the class attributes."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "http.bad-request"
    title: ClassVar[str] = "Bad request"
    requirement: ClassVar[str | None] = None
    #: templates filled with the keyword arguments given to the constructor
    message_zh: ClassVar[str] = "请求无效"
    message_en: ClassVar[str] = "The request is not valid"

    def __init__(self, detail: str | None = None, *, errors: Iterable[Mapping[str, Any]] = (),
                 headers: Mapping[str, str] | None = None,
                 message: Mapping[str, str] | None = None, **values: Any) -> None:
        self.values = values
        self.message = dict(message) if message else {
            "zh-Hans": self.message_zh.format(**values), "en": self.message_en.format(**values)}
        self.detail = detail or self.message["en"]
        self.errors = [dict(e) for e in errors]
        self.headers = dict(headers or {})
        super().__init__(self.detail)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": TYPE_BASE + self.code, "title": self.title, "status": self.status,
            "code": self.code, "message": self.message, "detail": self.detail,
        }
        if self.requirement:
            out["requirement"] = self.requirement
        out["errors"] = self.errors
        return out


def finding(pointer: str, code: str, en: str, zh: str, requirement: str | None = None,
            severity: str = "error") -> dict[str, Any]:
    """One entry of ``errors`` (validation-report.json#/$defs/finding)."""
    out: dict[str, Any] = {"pointer": pointer, "code": code, "severity": severity,
                           "message": {"zh-Hans": zh, "en": en}}
    if requirement:
        out["requirement"] = requirement
    return out


def findings_of(items: Iterable[Finding]) -> list[dict[str, Any]]:
    out = []
    for f in items:
        entry = f.to_dict()
        entry.pop("schemaPath", None)  # internal to the validator; not part of the API
        out.append(entry)
    return out


class BadRequest(ProblemError):
    pass


class UnknownParameter(ProblemError):
    code = "http.unknown-parameter"
    title = "Unknown query parameter"
    requirement = "/req/core/unknown-parameter"
    message_zh = "未定义的查询参数：{names}"
    message_en = "Undefined query parameter: {names}"


class InvalidParameter(ProblemError):
    code = "http.invalid-parameter"
    title = "Invalid parameter"
    message_zh = "参数 {name} 无效：{reason}"
    message_en = "Parameter {name} is not valid: {reason}"


class InvalidHeader(ProblemError):
    code = "http.invalid-header"
    title = "Invalid header"
    message_zh = "请求头 {name} 无效：{reason}"
    message_en = "Header {name} is not valid: {reason}"


class InvalidCursor(ProblemError):
    code = "http.invalid-cursor"
    title = "Invalid cursor"
    requirement = "/req/core/paging"
    message_zh = "游标无效，请使用上一页返回的 next"
    message_en = "The cursor is not valid; use the next value of the previous page"


class MalformedJson(ProblemError):
    code = "http.malformed-json"
    title = "Malformed JSON"
    requirement = "/req/core/no-server-error"
    message_zh = "请求体不是有效的 JSON：{reason}"
    message_en = "The body is not valid JSON: {reason}"


class TooDeep(ProblemError):
    code = "http.too-deep"
    title = "JSON nested too deeply"
    requirement = "/req/core/request-limits"
    message_zh = "JSON 嵌套超过 {limit} 层"
    message_en = "The JSON body is nested deeper than {limit} levels"


class Unauthorized(ProblemError):
    status = 401
    code = "http.unauthorized"
    title = "Unauthorized"
    requirement = "/req/core/authentication"
    message_zh = "缺少或无效的 Bearer 令牌"
    message_en = "A valid bearer token is required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="smartcommunity"'},
                         **kwargs)


class Forbidden(ProblemError):
    status = 403
    code = "http.forbidden"
    title = "Forbidden"
    message_zh = "角色 {role} 不能执行此操作：{reason_zh}"
    message_en = "Role {role} may not do this: {reason}"


class NotFound(ProblemError):
    status = 404
    code = "http.not-found"
    title = "Not found"
    requirement = "/req/core/not-found"
    message_zh = "资源不存在或无权查看"
    message_en = "The resource does not exist or may not be seen"


class MethodNotAllowed(ProblemError):
    status = 405
    code = "http.method-not-allowed"
    title = "Method not allowed"
    message_zh = "此地址不支持方法 {method}"
    message_en = "Method {method} is not allowed here"


class Conflict(ProblemError):
    status = 409
    code = "http.conflict"
    title = "Conflict"


class IdConflict(Conflict):
    code = "http.id-conflict"
    title = "Id already exists"
    requirement = "/req/core/id-conflict"
    message_zh = "标识 {id} 已存在"
    message_en = "A resource with id {id} already exists"


class StatusConflict(Conflict):
    code = "lifecycle.action-not-allowed"
    title = "Action not allowed from this status"
    requirement = "/req/core/action-roles"


class PreconditionFailed(ProblemError):
    status = 412
    code = "http.precondition-failed"
    title = "Precondition failed"
    requirement = "/req/core/if-match"
    message_zh = "If-Match {given} 与当前版本 {current} 不符"
    message_en = "If-Match {given} does not match the current version {current}"


class PayloadTooLarge(ProblemError):
    status = 413
    code = "http.payload-too-large"
    title = "Payload too large"
    requirement = "/req/core/request-limits"
    message_zh = "请求体超过上限 {limit} 字节"
    message_en = "The body is over the limit of {limit} bytes"


class UnsupportedMediaType(ProblemError):
    status = 415
    code = "http.unsupported-media-type"
    title = "Unsupported media type"
    requirement = "/req/core/json-only"
    message_zh = "请求体必须是 application/json，而不是 {given}"
    message_en = "The body must be application/json, not {given}"


class Unprocessable(ProblemError):
    status = 422
    code = "http.unprocessable-content"
    title = "Unprocessable content"
    requirement = "/req/core/invalid-rejected"
    message_zh = "文档或动作数据无效，共 {count} 个问题"
    message_en = "The document or action data is not valid: {count} problem(s)"


class IdempotencyKeyReused(Unprocessable):
    code = "http.idempotency-key-reused"
    title = "Idempotency key reused with another body"
    requirement = "/req/core/idempotency-key"
    message_zh = "Idempotency-Key 已用于另一个请求体"
    message_en = "The Idempotency-Key was already used with a different body"


class PreconditionRequired(ProblemError):
    status = 428
    code = "http.precondition-required"
    title = "Precondition required"
    requirement = "/req/core/if-match"
    message_zh = "缺少 If-Match：请带上当前的 ETag"
    message_en = "If-Match is missing: send the current ETag"


class ServerError(ProblemError):
    status = 500
    code = "http.internal-error"
    title = "Internal server error"
    message_zh = "服务器内部错误，请求未改变任何数据"
    message_en = "Internal server error; the request changed nothing"


def problem_response(error: ProblemError) -> Response:
    return Response(orjson.dumps(error.body()), status_code=error.status,
                    media_type=PROBLEM_JSON, headers=error.headers)


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc)


def allowed_methods(path: str) -> list[str]:
    """The methods the OpenAPI defines for ``path`` (Allow of a 405)."""
    from .openapi import operations

    found = []
    for (template, method) in operations():
        pattern = "^" + re.sub(r"\\{[^/]+\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            found.append(method.upper())
    return sorted(set(found))


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        allow = ", ".join(allowed_methods(request.url.path))
        return problem_response(MethodNotAllowed(method=request.method, headers={"Allow": allow}))
    if exc.status_code == 404:
        return problem_response(NotFound())
    # Routing raises only 404 and 405; anything else from Starlette is a malformed request.
    return problem_response(BadRequest(str(exc.detail)))


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [finding("/" + "/".join(str(p) for p in e.get("loc", ())[1:]), "http.invalid-request",
                      str(e.get("msg")), str(e.get("msg"))) for e in exc.errors()]
    return problem_response(BadRequest(errors=errors))


async def _on_anything(request: Request, exc: Exception) -> Response:
    # The last resort: still problem+json, never a traceback. Tests prove no path reaches it.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(ServerError())


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(Exception, _on_anything)
