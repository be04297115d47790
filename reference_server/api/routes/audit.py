"""GET /audit-events: the regulator reads who accessed residents' sensitive data."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .._common import begin, respond, state

router = APIRouter()


@router.get("/audit-events")
async def list_audit_events(request: Request) -> Response:
    call = begin(request, "/audit-events", "get")
    settings = state(request).settings
    limit = min(int(call.query.get("limit", settings.page_size_default)), settings.page_size_max)
    return respond(state(request).service.audit_events(
        call.principal, call.query.get("resident"), call.query.get("cursor"), limit))
