"""GET /indicators: the department assessment figures for the regulator (/conf/indicators).

The figures are computed by ``smartcommunity.indicators`` over the issues of the caller's
communities that can count in the period, so the server and the library cannot disagree about
a definition.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import orjson

from smartcommunity.indicators import DEFAULT_CALENDAR, RESOURCE_TYPE, Tally, load_definitions

from ..storage import ListQuery, Scope, utc_text
from ._shared import Result, forbidden

if TYPE_CHECKING:
    from ..auth import Principal
    from ._core import Service

__all__ = ["indicator_figures"]

_OPERATION = "getIndicators"
_REQUIREMENT = "/req/indicators/endpoint"
#: issues read at a time
_PAGE = 1000


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
    scope = Scope(None if principal.every_community else frozenset(principal.communities))
    # A case counts in the month of one of its moments, each the time of a write to the
    # issue: only issues updated since the month began can count, found by the index of
    # updates rather than by reading every issue the city ever had.
    offset = (profile.calendar if profile is not None else DEFAULT_CALENDAR).offset
    start = datetime.strptime(period, "%Y-%m").replace(tzinfo=offset)
    query = ListQuery(updated_since=utc_text(start.isoformat()))
    after = 0
    with service.store.read() as tx:
        while rows := tx.page(RESOURCE_TYPE, query, scope, after, _PAGE):
            for stored in rows:
                tally.add(stored.doc)
            after = rows[-1].seq
    return Result(200, orjson.dumps(tally.document(period)))
