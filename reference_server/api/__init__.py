"""The HTTP layer: routes registered from the OpenAPI, each a few lines over the service."""

from __future__ import annotations

from ._common import State
from ._routes import routes

__all__ = ["State", "routes"]
