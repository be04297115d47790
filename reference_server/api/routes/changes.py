"""GET /changes: the change feed, read from an opaque cursor (/conf/change-feed)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .._common import begin, offload, state

router = APIRouter()


@router.get("/changes")
async def read_changes(request: Request) -> Response:
    call = begin(request, "/changes", "get")
    settings = state(request).settings
    limit = min(int(call.query.get("limit", settings.page_size_default)), settings.page_size_max)
    return await offload(state(request).service.changes, call.principal,
                         call.query.get("cursor"), limit)
