"""The HTTP layer: one router per resource, each route a few lines over the service."""

from __future__ import annotations

from .routes import audit, changes, conformance, consultations, issues, residents

ROUTERS = [conformance.router, residents.router, issues.router, consultations.router,
           changes.router, audit.router]

__all__ = ["ROUTERS"]
