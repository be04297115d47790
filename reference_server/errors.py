"""HTTP errors as RFC 9457 ``application/problem+json`` (/req/core/problem-details).

Every error the server answers is a :class:`ProblemError` subclass made for its stable code,
with the status, title and requirement of the code's row in ``problems.csv``; its bilingual
message is the code's template in the spec's ``error-code`` codelist, filled with the values
the error was raised with. One renderer turns
it into the body that ``schemas/problem.json`` describes, its ``type`` under the version
served. Routes raise, never build error responses themselves.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
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
    "PROBLEM_JSON", "AlreadyRestricted", "BadRequest", "Conflict", "Echo", "Forbidden",
    "IdConflict", "IdempotencyKeyReused", "IfMatchWildcard", "InvalidCursor", "InvalidHeader",
    "InvalidParameter", "MalformedJson", "MethodNotAllowed", "NotFound", "NotRequested",
    "PayloadTooLarge", "PreconditionFailed", "PreconditionRequired", "ProblemError",
    "Restricted", "ServerError", "StatusConflict", "TooDeep", "Unauthorized",
    "UnknownParameter", "Unprocessable", "UnsupportedMediaType", "coded", "finding",
    "install_handlers", "message", "problem_response", "type_uri",
]

PROBLEM_JSON = "application/problem+json"
_PROBLEMS = Path(__file__).with_name("problems.csv")
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
    #: headers every answer of this problem carries
    always: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None,
                          title: str | None = None, requirement: str | None = None,
                          always: Mapping[str, str] | None = None) -> None:
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
        if always is not None:
            cls.always = always

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
        self.headers = {**self.always, **(headers or {})}
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


#: headers of a 401: the scheme the server asks for
_BEARER = {"WWW-Authenticate": 'Bearer realm="smartcommunity"'}
#: headers of a 503: when to ask again
_RETRY = {"Retry-After": "30"}


@cache
def _problem_facts() -> dict[str, tuple[int, str, str | None]]:
    """Status, title and requirement by code, from ``problems.csv`` beside this module."""
    with _PROBLEMS.open(encoding="utf-8", newline="") as f:
        return {row["code"]: (int(row["status"]), row["title"], row["requirement"] or None)
                for row in csv.DictReader(f)}


def _problem(name: str, code: str, base: type[ProblemError] = ProblemError, *,
             always: Mapping[str, str] | None = None) -> type[ProblemError]:
    """The problem class ``name`` for the ``error-code`` ``code``: a ``base`` answered with the
    code's status, title and requirement in ``problems.csv``, and ``always`` these headers."""
    status, title, requirement = _problem_facts()[code]
    return type(name, (base,), {"__module__": __name__, "__qualname__": name}, status=status,
                code=code, title=title, requirement=requirement, always=always)


# The problems the server answers (the class, its code, the class it is a kind of).
BadRequest = _problem("BadRequest", "http.bad-request")
UnknownParameter = _problem("UnknownParameter", "http.unknown-parameter")
InvalidParameter = _problem("InvalidParameter", "http.invalid-parameter")
InvalidHeader = _problem("InvalidHeader", "http.invalid-header")
InvalidCursor = _problem("InvalidCursor", "http.invalid-cursor")
MalformedJson = _problem("MalformedJson", "http.malformed-json")
TooDeep = _problem("TooDeep", "http.too-deep")
Unauthorized = _problem("Unauthorized", "http.unauthorized", always=_BEARER)
Forbidden = _problem("Forbidden", "http.forbidden")
ActorMismatch = _problem("ActorMismatch", "http.actor-mismatch")
Restricted = _problem("Restricted", "resident.restricted", Forbidden)
NotFound = _problem("NotFound", "http.not-found")
MethodNotAllowed = _problem("MethodNotAllowed", "http.method-not-allowed")
Conflict = _problem("Conflict", "http.conflict")
IdConflict = _problem("IdConflict", "http.id-conflict", Conflict)
Echo = _problem("Echo", "http.echo", Conflict)
NotRequested = _problem("NotRequested", "http.not-requested", Conflict)
AlreadyRestricted = _problem("AlreadyRestricted", "resident.already-restricted", Conflict)
StatusConflict = _problem("StatusConflict", "lifecycle.action-not-allowed", Conflict)
RepliesMissing = _problem("RepliesMissing", "voice.reply-missing", Conflict)
PreconditionFailed = _problem("PreconditionFailed", "http.precondition-failed")
PayloadTooLarge = _problem("PayloadTooLarge", "http.payload-too-large")
UnsupportedMediaType = _problem("UnsupportedMediaType", "http.unsupported-media-type")
Unprocessable = _problem("Unprocessable", "http.unprocessable-content")
IdempotencyKeyReused = _problem("IdempotencyKeyReused", "http.idempotency-key-reused",
                                Unprocessable)
PreconditionRequired = _problem("PreconditionRequired", "http.precondition-required")
IfMatchWildcard = _problem("IfMatchWildcard", "http.if-match-wildcard", PreconditionRequired)
ServerError = _problem("ServerError", "http.internal-error")
# The identity provider's JWKS URL does not answer: the token cannot be checked now, which is
# the server's state to report, not a verdict on the token.
KeysUnavailable = _problem("KeysUnavailable", "http.keys-unavailable", always=_RETRY)


#: what every answer of the API carries: it depends on who reads and on what they may read
#: now, so no cache keeps it (/req/core/no-store)
NOT_STORED = {"Cache-Control": "no-store"}


def problem_response(error: ProblemError, version: str = DEFAULT_VERSION) -> Response:
    """The response answering ``error`` under spec ``version``."""
    return Response(orjson.dumps(error.body(version)), status_code=error.status,
                    media_type=PROBLEM_JSON, headers={**error.headers, **NOT_STORED})


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
