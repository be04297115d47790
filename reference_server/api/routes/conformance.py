"""GET /conformance: the versions and classes implemented (/req/core/conformance-endpoint)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...auth import Principal
from ...http import check_call
from ...openapi import operations
from .._common import state

router = APIRouter()
#: who asks when no token is needed
ANONYMOUS = Principal(name="anonymous", role="public", communities=frozenset())


@router.get("/conformance")
async def get_conformance(request: Request) -> Response:
    # No token needed; parameters are still checked (an unknown one gets 400).
    operation = operations(state(request).settings.spec_version)[("/conformance", "get")]
    check_call(request, operation, ANONYMOUS)
    return Response(state(request).service.conformance, media_type="application/json")
