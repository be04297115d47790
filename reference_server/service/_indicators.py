"""GET /indicators: the department assessment figures for the regulator (/conf/indicators).

The figures are computed by ``smartcommunity.indicators`` over every issue the caller's
communities hold, so the server and the library cannot disagree about a definition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from smartcommunity.indicators import RESOURCE_TYPE, Tally, load_definitions

from ._shared import Result, forbidden

if TYPE_CHECKING:
    from ..auth import Principal
    from ._core import Service

__all__ = ["indicator_figures"]

_OPERATION = "getIndicators"
_REQUIREMENT = "/req/indicators/endpoint"


def _may_read(service: Service, principal: Principal) -> bool:
    """The operation's x-roles decide who reads the figures."""
    return principal.role in (service.spec.operation_roles(_OPERATION) or frozenset())


def indicator_figures(service: Service, principal: Principal, period: str) -> Result:
    """The figures of ``period`` (a ``YYYY-MM`` the route has checked) for ``principal``."""
    if not _may_read(service, principal):
        names = ", ".join(sorted(service.spec.operation_roles(_OPERATION) or ()))
        raise forbidden(principal, f"only {names} read the indicators",
                        f"只有 {names} 可以读取考核指标", _REQUIREMENT)
    # a city's profile brings its working-day calendar, response limits and targets
    profile = service.profile
    tally = Tally(load_definitions(profile, version=service.spec.version), profile)
    scope = None if principal.every_community else frozenset(principal.communities)
    with service.store.read() as tx:
        for stored in tx.of_type(RESOURCE_TYPE):
            if scope is None or scope & frozenset(stored.communities):
                tally.add(stored.doc)
    return Result(200, orjson.dumps(tally.document(period)))
