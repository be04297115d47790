"""What every route does: authenticate, check the call against its operation, call the service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from smartcommunity.profiles import Profile
from smartcommunity.uris import same_uri

from ..access_log import ROLE_KEY
from ..auth import Principal, TokenRegistry
from ..errors import InvalidParameter, ProblemError, coded, finding
from ..http import Call, authenticate, check_call, parse_if_match, read_json
from ..openapi import Operation
from ..service import Result, Service
from ..settings import CST, Settings
from ..storage import ListQuery, bbox_terms, external_ref_key, utc_text

__all__ = ["ANONYMOUS", "State", "audited", "begin", "body", "if_match", "limit", "list_query",
           "offload", "path_id", "respond", "state", "write"]

#: who asks an operation that needs no token; it holds no role, so nothing is read for it
ANONYMOUS = Principal(name="(no token)", role="", communities=frozenset())


@dataclass(slots=True)
class State:
    """What the routes of one application share: its settings, service and tokens."""

    settings: Settings
    service: Service
    tokens: TokenRegistry


def state(request: Request) -> State:
    found: State = request.app.state.sc
    return found


def begin(request: Request, operation: Operation) -> Call:
    """401 without a known token (where one is needed), 400 for undefined or invalid
    parameters."""
    if operation.anonymous and "authorization" not in request.headers:
        principal = state(request).service.anonymous  # /req/privacy/anonymous-public-read
    else:
        principal = (authenticate(request, state(request).tokens) if operation.secured
                     else ANONYMOUS)
    request.scope[ROLE_KEY] = principal.role  # for the access log, which names no one
    call = check_call(request, operation, principal)
    for name, param in operation.path_params.items():
        said = param.problem(request.path_params.get(name))
        if said is not None:
            raise InvalidParameter(name=name, reason=said["en"], reason_zh=said["zh-Hans"],
                                   errors=[finding(
                f"/path/{name}", "http.invalid-parameter", said["en"], said["zh-Hans"])])
    return call


def if_match(call: Call) -> list[str]:
    versions = parse_if_match(call.headers.get("if-match"))
    assert versions is not None
    return versions


async def body(request: Request) -> Any:
    settings = state(request).settings
    return await read_json(request, settings.max_body_bytes, settings.max_json_depth)


def path_id(request: Request) -> str:
    return str(request.path_params["id"])


def limit(call: Call, operation: Operation) -> int:
    """The page size asked for, else the default of the operation's ``limit`` parameter
    (its schema has already held the value to its minimum and maximum)."""
    given = call.query.get("limit")
    if isinstance(given, int):
        return given
    return int(operation.query["limit"].schema["default"])


def _refused(name: str, code: str, requirement: str, **values: Any) -> ProblemError:
    """400 for query parameter ``name``, its error worded by ``code``."""
    error = coded(f"/query/{name}", code, requirement=requirement, **values)
    return InvalidParameter(name=name, reason=error["message"]["en"],
                            reason_zh=error["message"]["zh-Hans"], errors=[error])


def _external_ref(raw: Any, profile: Profile | None) -> str | None:
    """The term of ``externalRef=SYSTEM|VALUE``; a city profile names the systems it knows
    (/req/profiles/external-ref-lookup)."""
    if not isinstance(raw, str):
        return None
    system, _, value = raw.partition("|")
    # Any spelling of a listed system is that system (as /req/core/echo-suppression compares).
    if profile is not None and profile.external_systems and not any(
            same_uri(system, known) for known in profile.external_systems):
        raise _refused("externalRef", "profile.unknown-system",
                       "/req/profiles/external-ref-lookup", system=system)
    return external_ref_key(system, value)


def _grid(raw: Any, profile: Profile | None) -> str | None:
    """The grid asked for; a city profile's grids are the city's grid registry, so a grid it
    does not list is refused rather than answered with nothing (/req/profiles/grid-filter)."""
    if not isinstance(raw, str):
        return None
    if profile is not None and raw not in profile.grids:
        raise _refused("grid", "profile.unknown-grid", "/req/profiles/grid-filter", grid=raw)
    return raw


def _bbox(raw: Any, crs: str) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """The terms of ``bbox=west,south,east,north`` in ``crs`` (/req/profiles/bbox-filter); the
    pattern of the parameter has already held it to four numbers."""
    if not isinstance(raw, str):
        return None
    west, south, east, north = (float(v) for v in raw.split(","))
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise _refused("bbox", "http.bbox-invalid", "/req/profiles/bbox-filter", bbox=raw)
    return bbox_terms(crs, west, south, east, north)


def _default(operation: Operation, name: str) -> Any:
    """The default of query parameter ``name`` in the OpenAPI (None where it has none)."""
    param = operation.query.get(name)
    return param.schema.get("default") if param is not None else None


def list_query(call: Call, operation: Operation, category_member: str = "category",
               profile: Profile | None = None) -> tuple[ListQuery, str | None, int]:
    """The list filters of the call; ``category`` fills ``category_member`` of the query; the
    city ``profile`` the server runs, if any, says which external systems and grids exist."""
    q = call.query

    def when(name: str) -> str | None:
        value = q.get(name)
        return utc_text(value) if isinstance(value, str) else None

    category: dict[str, Any] = {category_member: q.get("category")}
    query = ListQuery(
        community=q.get("community"), status=q.get("status"),
        updated_since=when("updatedSince"),
        department=q.get("department"), request_type=q.get("requestType"),
        intake_channel=q.get("intakeChannel"), urgency=q.get("urgency"),
        submitted_from=when("submittedFrom"), submitted_to=when("submittedTo"),
        grid=_grid(q.get("grid"), profile), today=datetime.now(CST).date().isoformat(),
        pseudonym=q.get("pseudonym"), issue=q.get("issue"),
        external_ref=_external_ref(q.get("externalRef"), profile),
        bbox=_bbox(q.get("bbox"), str(q.get("bbox-crs") or _default(operation, "bbox-crs"))),
        consultation=q.get("consultation"),
        **category,
    )
    return query, q.get("cursor"), limit(call, operation)


def respond(result: Result) -> Response:
    return Response(result.body, status_code=result.status, media_type="application/json",
                    headers=result.headers)


async def write(prepare: Callable[..., Any], *args: Any) -> Response:
    """Check and prepare a write on the event loop, then await its group commit.

    The loop goes on serving other requests while the batch syncs to disk, and the commit
    thread never waits for a worker thread to pick the answer up.
    """
    service: Service = prepare.__self__  # type: ignore[attr-defined]
    return respond(await service.finish_async(prepare(*args)))


async def audited(fn: Callable[..., Result], *args: Any) -> Response:
    """Answer a read that appends to the audit log (/req/privacy/audit-log): the read on the
    event loop, then its audit rows' group commit awaited before the answer goes out, so that
    nothing is disclosed unlogged.

    In worker threads, such reads shared the interpreter's lock in no order: at 16
    connections a page of residents waited up to twice its median, where the loop serves
    them in turn (the performance page, #scale-loop).
    """
    service: Service = fn.__self__  # type: ignore[attr-defined]
    rows: list[dict[str, Any]] = []
    result = fn(*args, audits=rows)
    if rows:
        await service.store.transact_async(lambda tx: tx.audit(rows))
    return respond(result)


async def offload(fn: Callable[..., Result], *args: Any) -> Response:
    """Run a long operation in a worker thread and answer with its result, while the loop
    goes on reading requests."""
    return respond(await run_in_threadpool(fn, *args))
