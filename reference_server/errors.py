"""HTTP errors as RFC 9457 ``application/problem+json`` (/req/core/problem-details).

Every error the server answers is a :class:`ProblemError` subclass that declares its status,
stable code and title; its bilingual message is the code's template in the spec's
``error-code`` codelist, filled with the values the error was raised with. One renderer turns
it into the body that ``schemas/problem.json`` describes, its ``type`` under the version
served. Routes raise, never build error responses themselves.
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

from smartcommunity import Finding, load_spec
from smartcommunity.pointers import pointer
from smartcommunity.specification import BASE_URI, DEFAULT_VERSION, per_spec_tree

__all__ = [
    "PROBLEM_JSON", "BadRequest", "Conflict", "Forbidden", "IdConflict", "IdempotencyKeyReused",
    "IfMatchWildcard", "InvalidCursor", "InvalidHeader", "InvalidParameter", "MalformedJson",
    "MethodNotAllowed", "NotFound", "NotRequested", "PayloadTooLarge", "PreconditionFailed",
    "PreconditionRequired", "ProblemError",
    "ServerError", "StatusConflict", "TooDeep", "Unauthorized", "UnknownParameter",
    "Unprocessable", "UnsupportedMediaType", "coded", "finding", "install_handlers", "message",
    "problem_response", "type_uri",
]

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("reference_server")


def type_uri(code: str, version: str = DEFAULT_VERSION) -> str:
    """The problem ``type`` of ``code`` in spec ``version``."""
    return f"{BASE_URI}{version}/errors/{code}"


class _Lenient(dict[str, Any]):
    # A template naming a value the error was not raised with shows the name.
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@per_spec_tree
def _templates(version: str) -> Mapping[str, tuple[str, str]]:
    entries = load_spec(version).codelist("error-code").entries
    return {code: (e.title_zh, e.title_en) for code, e in entries.items()}


def message(code: str, version: str = DEFAULT_VERSION, **values: Any) -> dict[str, str]:
    """The message of ``code`` in both languages: its ``error-code`` template, filled in."""
    zh, en = _templates(version).get(code, ("{detail}", "{detail}"))
    filled = _Lenient({k: str(v) for k, v in values.items()})
    return {"zh-Hans": zh.format_map(filled), "en": en.format_map(filled)}


_message_of = message  # ProblemError's ``message`` argument hides the function's name


class ProblemError(Exception):
    """An error answered as problem details; subclasses set the class attributes."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "http.bad-request"
    title: ClassVar[str] = "Bad request"
    requirement: ClassVar[str | None] = None

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None,
                          title: str | None = None, requirement: str | None = None) -> None:
        # A subclass states what differs from its base in its class line; the rest is
        # inherited, as class attributes would be.
        super().__init_subclass__()
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code
        if title is not None:
            cls.title = title
        if requirement is not None:
            cls.requirement = requirement

    def __init__(self, detail: str | None = None, *, errors: Iterable[Mapping[str, Any]] = (),
                 headers: Mapping[str, str] | None = None,
                 message: Mapping[str, str] | None = None, **values: Any) -> None:
        #: the values the code's message template is filled with
        self.values = values
        self.given = dict(message) if message else None
        self.message = self.given or _message_of(self.code, **values)
        self.given_detail = detail
        self.detail = detail or self.message["en"]
        self.errors = [dict(e) for e in errors]
        self.headers = dict(headers or {})
        super().__init__(self.detail)

    def body(self, version: str = DEFAULT_VERSION) -> dict[str, Any]:
        """The problem details, worded and typed by spec ``version``."""
        said = self.message
        if self.given is None and version != DEFAULT_VERSION:
            said = message(self.code, version, **self.values)
        out: dict[str, Any] = {
            "type": type_uri(self.code, version), "title": self.title, "status": self.status,
            "code": self.code, "message": said, "detail": self.given_detail or said["en"],
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


def coded(pointer: str, code: str, version: str = DEFAULT_VERSION,
          requirement: str | None = None, severity: str = "error", **values: Any,
          ) -> dict[str, Any]:
    """An entry of ``errors`` worded by the template of ``code`` filled with ``values``."""
    said = message(code, version, **values)
    return finding(pointer, code, said["en"], said["zh-Hans"], requirement, severity)


def findings_of(items: Iterable[Finding]) -> list[dict[str, Any]]:
    out = []
    for f in items:
        entry = f.to_dict()
        entry.pop("schemaPath", None)  # internal to the validator; not part of the API
        out.append(entry)
    return out


class BadRequest(ProblemError):
    pass


class UnknownParameter(ProblemError, code="http.unknown-parameter", title="Unknown query parameter",
                       requirement="/req/core/unknown-parameter"):
    pass


class InvalidParameter(ProblemError, code="http.invalid-parameter", title="Invalid parameter"):
    pass


class InvalidHeader(ProblemError, code="http.invalid-header", title="Invalid header"):
    pass


class InvalidCursor(ProblemError, code="http.invalid-cursor", title="Invalid cursor",
                    requirement="/req/core/cursor-opaque"):
    pass


class MalformedJson(ProblemError, code="http.malformed-json", title="Malformed JSON",
                    requirement="/req/core/no-server-error"):
    pass


class TooDeep(ProblemError, code="http.too-deep", title="JSON nested too deeply",
              requirement="/req/core/request-limits"):
    pass


class Unauthorized(ProblemError, status=401, code="http.unauthorized", title="Unauthorized",
                   requirement="/req/core/authentication"):
    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="smartcommunity"'},
                         **kwargs)


class KeysUnavailable(ProblemError, status=503, code="http.keys-unavailable",
                      title="Keys unavailable", requirement="/req/core/bearer-jwt"):
    """The identity provider's JWKS URL does not answer: the token cannot be checked now, which
    is the server's state to report, not a verdict on the token."""

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, headers={"Retry-After": "30"}, **kwargs)


class Forbidden(ProblemError, status=403, code="http.forbidden", title="Forbidden"):
    pass


class ActorMismatch(ProblemError, status=403, code="http.actor-mismatch", title="Forbidden",
                    requirement="/req/core/actor-is-principal"):
    pass


class NotFound(ProblemError, status=404, code="http.not-found", title="Not found",
               requirement="/req/core/not-found"):
    pass


class MethodNotAllowed(ProblemError, status=405, code="http.method-not-allowed",
                       title="Method not allowed"):
    pass


class Conflict(ProblemError, status=409, code="http.conflict", title="Conflict"):
    pass


class IdConflict(Conflict, code="http.id-conflict", title="Id already exists",
                 requirement="/req/core/id-conflict"):
    pass


class NotRequested(Conflict, code="http.not-requested", title="Not requested by the resident",
                   requirement="/req/residents/erasure-on-request"):
    pass


class StatusConflict(Conflict, code="lifecycle.action-not-allowed",
                     title="Action not allowed from this status",
                     requirement="/req/core/action-roles"):
    pass


class RepliesMissing(Conflict, code="voice.reply-missing",
                     title="Opinions or proposals await a reply",
                     requirement="/req/voice/reply-before-decide"):
    pass


class PreconditionFailed(ProblemError, status=412, code="http.precondition-failed",
                         title="Precondition failed", requirement="/req/core/if-match"):
    pass


class PayloadTooLarge(ProblemError, status=413, code="http.payload-too-large",
                      title="Payload too large", requirement="/req/core/request-limits"):
    pass


class UnsupportedMediaType(ProblemError, status=415, code="http.unsupported-media-type",
                           title="Unsupported media type", requirement="/req/core/json-only"):
    pass


class Unprocessable(ProblemError, status=422, code="http.unprocessable-content",
                    title="Unprocessable content", requirement="/req/core/invalid-rejected"):
    pass


class IdempotencyKeyReused(Unprocessable, code="http.idempotency-key-reused",
                           title="Idempotency key reused with another body",
                           requirement="/req/core/idempotency-key"):
    pass


class PreconditionRequired(ProblemError, status=428, code="http.precondition-required",
                           title="Precondition required", requirement="/req/core/if-match"):
    pass


class IfMatchWildcard(PreconditionRequired, code="http.if-match-wildcard",
                      title="If-Match must name a version",
                      requirement="/req/core/if-match-version"):
    pass


class ServerError(ProblemError, status=500, code="http.internal-error",
                  title="Internal server error"):
    pass


def problem_response(error: ProblemError, version: str = DEFAULT_VERSION) -> Response:
    """The response answering ``error`` under spec ``version``."""
    return Response(orjson.dumps(error.body(version)), status_code=error.status,
                    media_type=PROBLEM_JSON, headers=error.headers)


def _served(request: Request) -> str:
    """The version the application serves (its settings), else the default."""
    app = request.scope.get("app")
    state = getattr(getattr(app, "state", None), "sc", None)
    return str(state.settings.spec_version) if state is not None else DEFAULT_VERSION


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc, _served(request))


def allowed_methods(path: str, version: str = DEFAULT_VERSION) -> list[str]:
    """The methods the OpenAPI defines for ``path`` (Allow of a 405)."""
    from .openapi import operations

    found = []
    for (template, method) in operations(version):
        pattern = "^" + re.sub(r"\\{[^/]+\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            found.append(method.upper())
    return sorted(set(found))


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    version = _served(request)
    if exc.status_code == 405:
        allow = ", ".join(allowed_methods(request.url.path, version))
        return problem_response(MethodNotAllowed(method=request.method, headers={"Allow": allow}),
                                version)
    if exc.status_code == 404:
        return problem_response(NotFound(), version)
    # Routing raises only 404 and 405; anything else from Starlette is a malformed request.
    return problem_response(BadRequest(str(exc.detail)), version)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    version = _served(request)
    errors = [_request_error(e, version) for e in exc.errors()]
    return problem_response(BadRequest(errors=errors), version)


def _request_error(error: Mapping[str, Any], version: str) -> dict[str, Any]:
    """A request the framework could not read, named by its member in both languages."""
    where = [str(p) for p in error.get("loc", ())[1:]]
    name = where[-1] if where else "/"
    if error.get("type") == "missing":
        return coded(pointer(where), "schema.required", version, property=name)
    return coded(pointer(where), "http.invalid-request", version, member=name,
                 detail=error.get("msg", ""))


async def _on_anything(request: Request, exc: Exception) -> Response:
    # The last resort: still problem+json, never a traceback. Tests prove no path reaches it.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(ServerError(), _served(request))


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(Exception, _on_anything)
