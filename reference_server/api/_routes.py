"""The API's routes, registered from the OpenAPI operations: one handler per kind.

Every operation on a resource type's paths (create, list, read, update, lifecycle actions,
history, rights such as erasure) is served by the handler of its kind for the type its path
names, with the type's policy deciding the rest; a resource type the spec adds is served
without a route of its own. The operations outside the resource paths have a handler each,
found by operationId. An operation with no handler stops the application at start, so the
server never serves less than its OpenAPI says.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..errors import NOT_STORED, InvalidParameter, finding
from ..http import json_response, prefers_html
from ..landing import landing_html, landing_page
from ..openapi import Operation, operations
from ._common import (
    audited,
    begin,
    body,
    if_match,
    limit,
    list_query,
    offload,
    path_id,
    respond,
    state,
)
from ._common import write as commit

__all__ = ["routes"]

Handler = Callable[[Request, Operation], Awaitable[Response]]


def _rtype(operation: Operation) -> str:
    assert operation.resource_type is not None
    return operation.resource_type


# Reads answer on the event loop; those of audited types then await their audit rows' group
# commit, as writes are checked on the loop and await theirs.

async def create(request: Request, operation: Operation) -> Response:
    call = begin(request, operation)
    doc = await body(request)
    service = state(request).service
    return await commit(service.prepare_create, call.principal, _rtype(operation), doc,
                        call.headers.get("idempotency-key"))


async def list_all(request: Request, operation: Operation) -> Response:
    call = begin(request, operation)
    service = state(request).service
    policy = service.policies[_rtype(operation)]
    query, cursor, size = list_query(call, operation, policy.category_member, service.profile)
    if policy.audited:
        return await audited(service.list_page, call.principal, policy.rtype, query, cursor,
                             size)
    return respond(service.list_page(call.principal, policy.rtype, query, cursor, size))


async def read(request: Request, operation: Operation) -> Response:
    call = begin(request, operation)
    service = state(request).service
    rtype = _rtype(operation)
    if service.policies[rtype].audited:
        return await audited(service.read, call.principal, rtype, path_id(request))
    return respond(service.read(call.principal, rtype, path_id(request)))


async def update(request: Request, operation: Operation) -> Response:
    call = begin(request, operation)
    versions = if_match(call)
    doc = await body(request)
    return await commit(state(request).service.prepare_update, call.principal,
                        _rtype(operation), path_id(request), doc, versions)


async def act(request: Request, operation: Operation) -> Response:
    call = begin(request, operation)
    versions = if_match(call)
    doc = await body(request)
    return await commit(state(request).service.prepare_act, call.principal, _rtype(operation),
                        path_id(request), str(request.path_params["action"]), doc, versions)


async def history(request: Request, operation: Operation) -> Response:
    call = begin(request, operation)
    return respond(state(request).service.history(call.principal, _rtype(operation),
                                                  path_id(request)))


async def right(request: Request, operation: Operation) -> Response:
    call = begin(request, operation)
    versions = if_match(call)
    doc = await body(request)
    assert operation.name is not None
    return await commit(state(request).service.prepare_right, call.principal,
                        _rtype(operation), path_id(request), operation.name, doc, versions)


async def landing(request: Request, operation: Operation) -> Response:
    """/req/core/landing-page: JSON, or a web page for a browser that asks for HTML."""
    begin(request, operation)
    service = state(request).service
    page = landing_page(service.spec, list(service.versions), str(request.base_url))
    if prefers_html(request.headers.get("accept")):
        return HTMLResponse(landing_html(page))
    return json_response(page)


async def conformance(request: Request, operation: Operation) -> Response:
    """/req/core/conformance-endpoint; parameters are still checked (an unknown one is 400)."""
    begin(request, operation)
    return respond(state(request).service.declaration())


async def profile(request: Request, operation: Operation) -> Response:
    """/conf/profiles: the city profile the server runs, its registry inline as the caller
    may see it."""
    call = begin(request, operation)
    return respond(state(request).service.published_profile(call.principal))


async def services(request: Request, operation: Operation) -> Response:
    """/conf/profiles: the service catalogue of the city profile the server runs."""
    begin(request, operation)
    return respond(state(request).service.services())


async def changes(request: Request, operation: Operation) -> Response:
    """The change feed, read from an opaque cursor (/conf/change-feed)."""
    call = begin(request, operation)
    return await offload(state(request).service.changes, call.principal,
                         call.query.get("cursor"), limit(call, operation))


async def audit_events(request: Request, operation: Operation) -> Response:
    """The regulator reads who accessed residents' sensitive data (/req/privacy/audit-log)."""
    call = begin(request, operation)
    return respond(state(request).service.audit_events(
        call.principal, call.query.get("resident"), call.query.get("cursor"),
        limit(call, operation)))


async def indicators(request: Request, operation: Operation) -> Response:
    """The regulator reads the assessment figures of a month (/req/indicators/endpoint)."""
    from ..service import indicator_figures

    call = begin(request, operation)
    period = call.query.get("period")
    if period is None:  # the one required query parameter of the API
        raise InvalidParameter(name="period", reason="required", reason_zh="缺少该参数",
                               errors=[finding(
            "/query/period", "http.invalid-parameter", "period is required",
            "缺少必需的参数 period", "/req/indicators/endpoint")])
    return await offload(indicator_figures, state(request).service, call.principal,
                         str(period))


#: the handler of each kind of resource operation (openapi.KINDS)
BY_KIND: dict[str, Handler] = {"create": create, "list": list_all, "read": read,
                               "update": update, "act": act, "history": history,
                               "right": right}
#: the handlers of the operations outside the resource paths
BY_OPERATION: dict[str, Handler] = {"getLandingPage": landing, "getConformance": conformance,
                                    "readChanges": changes, "listAuditEvents": audit_events,
                                    "getProfile": profile, "listServices": services,
                                    "getIndicators": indicators}


def _endpoint(handler: Handler, operation: Operation) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        response = await handler(request, operation)
        response.headers.update(NOT_STORED)
        return response

    endpoint.__name__ = operation.operation_id
    return endpoint


def routes(version: str, elsewhere: Collection[tuple[str, str]] = ()) -> list[Route]:
    """A route for every operation of the OpenAPI of ``version``, and nothing else; the
    operations in ``elsewhere`` ((path, method)) are served by routes of their own (the
    public pages, the API's description and documentation)."""
    found = []
    for (path, method), operation in operations(version).items():
        if (path, method) in elsewhere:
            continue
        handler = BY_KIND.get(operation.kind) or BY_OPERATION.get(operation.operation_id)
        if handler is None:
            raise LookupError(f"the server has no handler for {method.upper()} {path} "
                              f"({operation.operation_id})")
        route = Route(path, _endpoint(handler, operation), methods=[method.upper()])
        route.methods = {method.upper()}  # no implicit HEAD: only what the OpenAPI says
        found.append(route)
    return found
