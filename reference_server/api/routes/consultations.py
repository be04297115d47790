"""协商议事 / Consultations: create (propose), read, list, update, lifecycle actions and history."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .._common import begin, body, if_match, list_query, path_id, respond, state, write

router = APIRouter()
R = "Consultation"
# Reads answer on the event loop; writes are checked there too and await their group commit.


@router.post("/consultations")
async def create(request: Request) -> Response:
    call = begin(request, "/consultations", "post")
    doc = await body(request)
    return await write(state(request).service.prepare_create, call.principal, R, doc,
                         call.headers.get("idempotency-key"))


@router.get("/consultations")
async def list_all(request: Request) -> Response:
    call = begin(request, "/consultations", "get")
    query, cursor, limit = list_query(request, call, R)
    return respond(state(request).service.list_page(call.principal, R, query, cursor, limit))


@router.get("/consultations/{id}")
async def read(request: Request) -> Response:
    call = begin(request, "/consultations/{id}", "get")
    return respond(state(request).service.read(call.principal, R, path_id(request)))


@router.put("/consultations/{id}")
async def update(request: Request) -> Response:
    call = begin(request, "/consultations/{id}", "put")
    versions = if_match(call)
    doc = await body(request)
    return await write(state(request).service.prepare_update, call.principal, R, path_id(request),
                         doc, versions)


@router.post("/consultations/{id}/actions/{action}")
async def act(request: Request) -> Response:
    call = begin(request, "/consultations/{id}/actions/{action}", "post")
    versions = if_match(call)
    doc = await body(request)
    return await write(state(request).service.prepare_act, call.principal, R, path_id(request),
                         str(request.path_params["action"]), doc, versions)


@router.get("/consultations/{id}/history")
async def history(request: Request) -> Response:
    call = begin(request, "/consultations/{id}/history", "get")
    return respond(state(request).service.history(call.principal, R, path_id(request)))
