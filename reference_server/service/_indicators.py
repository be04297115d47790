"""GET /indicators: the department assessment figures for the regulator (/conf/indicators).

The figures are computed by ``smartcommunity.indicators`` over the issues of the caller's
communities that can count in the period, so the server and the library cannot disagree about
a definition.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

import orjson

from smartcommunity.indicators import DEFAULT_CALENDAR, RESOURCE_TYPE, Tally, load_definitions

from ..errors import InvalidParameter, finding
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


def _month_began(period: str, offset: tzinfo) -> str:
    """When ``period`` began in the city, as stored times are written; a 400 naming the
    parameter for a month the pattern lets through but no calendar has (the year 0000)."""
    try:
        return utc_text(datetime.strptime(period, "%Y-%m").replace(tzinfo=offset).isoformat())
    except (ValueError, OverflowError):
        en = f"{period} is not a month of the calendar (years 0001 to 9999)"
        zh = f"{period} 不是日历中的月份（公元 0001 至 9999 年）"
        raise InvalidParameter(name="period", reason=en, reason_zh=zh, errors=[finding(
            "/query/period", "http.invalid-parameter", en, zh, _REQUIREMENT)]) from None


def indicator_figures(service: Service, principal: Principal, period: str) -> Result:
    """The figures of ``period`` (a ``YYYY-MM`` the route has checked) for ``principal``."""
    # a malformed period is a 400 for anyone, as one the pattern refuses is
    profile = service.profile
    began = _month_began(period, (profile.calendar if profile is not None
                                  else DEFAULT_CALENDAR).offset)
    if not _may_read(service, principal):
        names = ", ".join(sorted(service.spec.operation_roles(_OPERATION) or ()))
        raise forbidden(principal, f"only {names} read the indicators",
                        f"只有 {names} 可以读取考核指标", _REQUIREMENT)
    # a city's profile brings its working-day calendar, response limits and targets
    tally = Tally(load_definitions(profile, version=service.spec.version), profile)
    scope = Scope(None if principal.every_community else frozenset(principal.communities))
    # A case counts in the month of one of its moments, each the time of a write to the
    # issue: only issues updated since the month began can count, found by the index of
    # updates rather than by reading every issue the city ever had.
    query = ListQuery(updated_since=began)
    after = 0
    with service.store.read() as tx:
        while rows := tx.page(RESOURCE_TYPE, query, scope, after, _PAGE):
            for stored in rows:
                tally.add(stored.doc)
            after = rows[-1].seq
    return Result(200, orjson.dumps(tally.document(period)))
