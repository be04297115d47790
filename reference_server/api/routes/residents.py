"""Residents: create, read, list, correct, and the rights to erasure (PIPL Articles 45–47)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .._common import begin, body, if_match, list_query, offload, path_id, state, write

router = APIRouter()
R = "Resident"
# Reads of residents append to the audit log, so they wait for a commit in a worker thread.


@router.post("/residents")
async def create_resident(request: Request) -> Response:
    call = begin(request, "/residents", "post")
    doc = await body(request)
    return await write(state(request).service.prepare_create, call.principal, R, doc,
                         call.headers.get("idempotency-key"))


@router.get("/residents")
async def list_residents(request: Request) -> Response:
    call = begin(request, "/residents", "get")
    query, cursor, limit = list_query(request, call, R)
    return await offload(state(request).service.list_page, call.principal, R, query, cursor,
                         limit)


@router.get("/residents/{id}")
async def read_resident(request: Request) -> Response:
    call = begin(request, "/residents/{id}", "get")
    return await offload(state(request).service.read, call.principal, R, path_id(request))


@router.put("/residents/{id}")
async def update_resident(request: Request) -> Response:
    call = begin(request, "/residents/{id}", "put")
    versions = if_match(call)
    doc = await body(request)
    return await write(state(request).service.prepare_update, call.principal, R, path_id(request),
                         doc, versions)


@router.post("/residents/{id}/erasure-request")
async def request_erasure(request: Request) -> Response:
    call = begin(request, "/residents/{id}/erasure-request", "post")
    versions = if_match(call)
    doc = await body(request)
    return await write(state(request).service.prepare_right, call.principal,
                         path_id(request), "erasure-request", doc, versions)


@router.post("/residents/{id}/erase")
async def erase_resident(request: Request) -> Response:
    call = begin(request, "/residents/{id}/erase", "post")
    versions = if_match(call)
    doc = await body(request)
    return await write(state(request).service.prepare_right, call.principal,
                         path_id(request), "erase", doc, versions)
