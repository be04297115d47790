"""The access log: one line per request, with nothing personal in it.

A request's path holds record ids and its query string may hold names, identity numbers or
another system's work-order numbers; its headers hold the credential. The log therefore names
the OpenAPI operation that answered (or the unmatched method), the status, the time taken and
the role of the principal — enough to run a server, nothing to identify a resident by.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ACCESS_LOG", "ROLE_KEY", "AccessLog"]

#: the logger's name; ``smartcommunity serve`` prints it at INFO
ACCESS_LOG = "smartcommunity.access"
#: where a route leaves the authenticated principal's role in the request scope
ROLE_KEY = "smartcommunity.role"

log = logging.getLogger(ACCESS_LOG)


class AccessLog:
    """ASGI middleware writing one INFO record per HTTP request to :data:`ACCESS_LOG`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            log.info("%s %s %d %.1fms role=%s", scope["method"], _operation(scope), status,
                     (time.perf_counter() - started) * 1000, scope.get(ROLE_KEY, "-"))


def _operation(scope: Scope) -> str:
    """The operationId of the API route that answered, the fixed path of another page (the
    OpenAPI document, the documentation and its files), or ``-`` when nothing matched."""
    route: Any = scope.get("route")
    if route is not None:
        return str(route.path)
    endpoint: Any = scope.get("endpoint")
    if endpoint is None:
        return "-"
    return str(getattr(endpoint, "__name__", None) or scope.get("root_path") or "-")
