"""诉求事项 / Issues: create (submit), read, list, update, lifecycle actions and history."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .._common import begin, body, if_match, list_query, path_id, respond, state, write

router = APIRouter()
R = "Issue"
# Reads answer on the event loop; writes are checked there too and await their group commit.


@router.post("/issues")
async def create(request: Request) -> Response:
    call = begin(request, "/issues", "post")
    doc = await body(request)
    return await write(state(request).service.prepare_create, call.principal, R, doc,
                         call.headers.get("idempotency-key"))


@router.get("/issues")
async def list_all(request: Request) -> Response:
    call = begin(request, "/issues", "get")
    query, cursor, limit = list_query(request, call, R)
    return respond(state(request).service.list_page(call.principal, R, query, cursor, limit))


@router.get("/issues/{id}")
async def read(request: Request) -> Response:
    call = begin(request, "/issues/{id}", "get")
    return respond(state(request).service.read(call.principal, R, path_id(request)))


@router.put("/issues/{id}")
async def update(request: Request) -> Response:
    call = begin(request, "/issues/{id}", "put")
    versions = if_match(call)
    doc = await body(request)
    return await write(state(request).service.prepare_update, call.principal, R, path_id(request),
                         doc, versions)


@router.post("/issues/{id}/actions/{action}")
async def act(request: Request) -> Response:
    call = begin(request, "/issues/{id}/actions/{action}", "post")
    versions = if_match(call)
    doc = await body(request)
    return await write(state(request).service.prepare_act, call.principal, R, path_id(request),
                         str(request.path_params["action"]), doc, versions)


@router.get("/issues/{id}/history")
async def history(request: Request) -> Response:
    call = begin(request, "/issues/{id}/history", "get")
    return respond(state(request).service.history(call.principal, R, path_id(request)))
