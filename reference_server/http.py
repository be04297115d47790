"""Reading a request the way the API defines it: token, parameters, headers and JSON body.

Everything here raises a ``ProblemError`` on bad input, so a malformed request always ends as a
4xx problem and never reaches the storage (/req/core/no-server-error).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from smartcommunity.specification import DEFAULT_VERSION
from smartcommunity.validation import too_deep

from .auth import KeysUnreachable, Principal, TokenRegistry
from .errors import (
    IfMatchWildcard,
    InvalidCursor,
    InvalidHeader,
    InvalidParameter,
    KeysUnavailable,
    MalformedJson,
    PayloadTooLarge,
    PreconditionRequired,
    ProblemError,
    TooDeep,
    Unauthorized,
    UnknownParameter,
    UnsupportedMediaType,
    finding,
)
from .openapi import Operation, operations

__all__ = ["Call", "check_own_route", "decode_cursor", "encode_cursor", "json_response",
           "parse_if_match", "prefers_html", "read_json"]

_ETAG = re.compile(r'^\s*(W/)?"([^"]*)"\s*$')
_CURSOR_SEQ = re.compile(r"[0-9]{1,19}", re.ASCII)


@dataclass(frozen=True, slots=True)
class Call:
    """An authenticated request with its checked query parameters and headers."""

    principal: Principal
    query: Mapping[str, Any]
    headers: Mapping[str, str]


def authenticate(request: Request, tokens: TokenRegistry) -> Principal:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized("no Authorization header")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be Bearer <token>")
    try:
        principal = tokens.lookup(token.strip())
    except KeysUnreachable:
        raise KeysUnavailable() from None
    if principal is None:
        raise Unauthorized("the token is not known")
    return principal


def _refuse_unknown(request: Request, operation: Operation) -> None:
    """400 for a query parameter ``operation`` does not declare (/req/core/unknown-parameter);
    also for the operations served by routes of their own (pages, the API description)."""
    unknown = sorted({k for k in request.query_params if k not in operation.query})
    if unknown:
        raise UnknownParameter(names=", ".join(unknown), errors=[
            finding(f"/query/{name}", "http.unknown-parameter",
                    f"{name} is not a parameter of {operation.operation_id}",
                    f"{name} 不是 {operation.operation_id} 的参数",
                    "/req/core/unknown-parameter") for name in unknown])


def check_own_route(request: Request, path: str) -> None:
    """What :func:`check_call` checks of the query, for an operation served by a route of its
    own (a public page, the API description): ``path`` is its OpenAPI path."""
    state = getattr(getattr(request.scope.get("app"), "state", None), "sc", None)
    version = str(state.settings.spec_version) if state is not None else DEFAULT_VERSION
    operation = operations(version).get((path, request.method.lower()))
    if operation is not None:
        _refuse_unknown(request, operation)


def check_call(request: Request, operation: Operation, principal: Principal) -> Call:
    """Query parameters and headers checked against the operation's declarations."""
    params = request.query_params
    _refuse_unknown(request, operation)
    query: dict[str, Any] = {}
    for name, spec in operation.query.items():
        values = params.getlist(name)
        if not values:
            continue
        if len(values) > 1:
            raise InvalidParameter(name=name, reason="given more than once", reason_zh="出现了多次",
                                   message={"zh-Hans": f"参数 {name} 只能出现一次",
                                            "en": f"Parameter {name} may appear only once"})
        value: Any = values[0]
        if spec.integer:
            if not re.fullmatch(r"-?[0-9]{1,18}", value):
                raise _invalid(name, "not an integer", "不是整数")
            value = int(value)
        said = spec.problem(value)
        if said is not None:
            raise _invalid(name, said["en"], said["zh-Hans"])
        query[name] = value
    headers: dict[str, str] = {}
    for name, spec in operation.headers.items():
        raw = request.headers.get(name)
        if raw is None:
            continue
        said = spec.problem(raw)
        if said is not None:
            raise InvalidHeader(
                name=spec.name, reason=said["en"], reason_zh=said["zh-Hans"], errors=[finding(
                    f"/headers/{spec.name}", "http.invalid-header", said["en"], said["zh-Hans"])])
        headers[name] = raw
    return Call(principal, query, headers)


def _invalid(name: str, en: str, zh: str) -> ProblemError:
    return InvalidParameter(name=name, reason=en, reason_zh=zh, errors=[
        finding(f"/query/{name}", "http.invalid-parameter", en, zh)],
        message={"zh-Hans": f"参数 {name} 无效：{zh}",
                 "en": f"Parameter {name} is not valid: {en}"})


async def read_json(request: Request, max_bytes: int, max_depth: int) -> Any:
    """The JSON body: 415 unless application/json, 413 over the size, 400 if malformed or deep."""
    media = request.headers.get("content-type", "")
    if media.split(";", 1)[0].strip().lower() != "application/json":
        raise UnsupportedMediaType(given=media or "nothing")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(limit=max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:  # a body sent without (or with a false) Content-Length
            raise PayloadTooLarge(limit=max_bytes)
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "recursion" in str(exc).lower() or "depth" in str(exc).lower():
            raise TooDeep(limit=max_depth) from None
        raise MalformedJson(reason=exc.msg, errors=[finding(
            "", "http.malformed-json", f"{exc.msg} at line {exc.lineno} column {exc.colno}",
            f"{exc.msg}（第 {exc.lineno} 行第 {exc.colno} 列）")]) from None
    # Nesting cannot exceed the number of opening brackets, counted at C speed; only a body
    # with more of them than the limit is walked.
    if raw.count(b"[") + raw.count(b"{") > max_depth and too_deep(value, max_depth):
        raise TooDeep(limit=max_depth)
    return value


def parse_if_match(raw: str | None) -> list[str] | None:
    """The versions If-Match accepts; 428 when the header is missing or is ``*``: a write
    must name the version it read (/req/core/if-match-version)."""
    if raw is None or not raw.strip():
        raise PreconditionRequired()
    versions = []
    for part in raw.split(","):
        if part.strip() == "*":
            raise IfMatchWildcard()
        m = _ETAG.match(part)
        if m and not m.group(1):  # weak tags never match: If-Match compares strongly
            versions.append(m.group(2))
    return versions


def encode_cursor(kind: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}{seq}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor() from None
    # ASCII digits only: str.isdigit and int() take other scripts' digits (and isdigit
    # superscripts, which int() then refuses) (/req/core/cursor-opaque).
    if not text.startswith(kind) or not _CURSOR_SEQ.fullmatch(text[len(kind):]):
        raise InvalidCursor()
    seq = int(text[len(kind):])
    if seq > 2**62:
        raise InvalidCursor()
    return seq


def json_response(content: Any, status: int = 200, headers: Mapping[str, str] | None = None,
                  ) -> Response:
    body = content if isinstance(content, bytes) else orjson.dumps(content)
    return Response(body, status_code=status, media_type="application/json",
                    headers=dict(headers or {}))


def prefers_html(accept: str | None) -> bool:
    """Whether an ``Accept`` header ranks text/html above JSON (RFC 9110 §12.5.1): a browser
    does, an API client sending nothing or ``*/*`` does not."""
    # offered type → (specificity of the most specific range matching it, its q)
    ranked = {"text/html": (-1, 0.0), "application/json": (-1, 0.0)}
    for part in (accept or "").split(","):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        for offered, (specific, _) in ranked.items():
            level = {offered: 2, offered.split("/")[0] + "/*": 1, "*/*": 0}.get(media)
            if level is not None and level > specific:
                ranked[offered] = (level, q)
    return ranked["text/html"][1] > ranked["application/json"][1]
