"""Checks of the indicators class (/conf/indicators): GET /indicators against the library.

The kit drives an issue round the loop, then computes every indicator with
``smartcommunity.indicators`` over the issues the regulator lists and holds the server's
figures to them: the spec's definitions, not the kit's guess, decide what is right.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..._moments import CHINA_STANDARD_TIME
from ...indicators import DIMENSIONS, Definitions, Tally, load_definitions
from ...profiles import Profile
from .._context import KitContext
from .._preset import Principal
from .._registry import Skipped, check
from ._shared import (
    ISSUE,
    ROLE,
    Tracked,
    active_lead,
    city_profile,
    claim,
    dispatched,
    first_code,
    follow_up_request,
    issue_in_progress,
    plain,
    reassign,
    resolve,
    transition,
    without_meta,
)

_OPERATION = "getIndicators"
REGULATOR = "regulator"
_FIGURE = ("indicator", "version", "period", "dimension", "key", "numerator", "denominator",
           "value")


def _period() -> str:
    # months are counted in the city's time zone (China's unless a city profile says
    # otherwise); the kit's issues are made now, so this month
    return datetime.now(CHINA_STANDARD_TIME).strftime("%Y-%m")


def _read(ctx: KitContext, who: Principal, period: str) -> dict[str, Any]:
    resp = ctx.call("GET", ctx.path(_OPERATION), who, params={"period": period})
    ctx.expect_status(resp, 200, zh="监管人员读取 GET /indicators",
                      en="the regulator reads GET /indicators")
    body = resp.json()
    ctx.expect(isinstance(body, dict) and isinstance(body.get("figures"), list),
               "GET /indicators 没有返回 figures 列表", "GET /indicators gave no list of figures")
    return dict(body)


def _closed_issue(ctx: KitContext, **follow_up: Any) -> Tracked:
    """An issue dispatched, claimed, resolved and followed up, the follow-up naming the lead
    assignment it judges (/req/indicators/follow-up-assignment)."""
    lead = ctx.principal(ROLE.department)
    issue = issue_in_progress(ctx, lead)
    assignment = active_lead(issue)["id"]
    resolve(issue, lead)
    body = follow_up_request(ctx, issue, assignmentId=assignment, **follow_up)
    issue.act("follow-up", body)
    return issue


def _moved_then_extended(ctx: KitContext) -> Tracked:
    """An issue whose lead task is moved to a new one without a return, then extended: the
    extension counts for the new task only, the old one having ended when it was moved."""
    lead = ctx.principal(ROLE.department)
    issue = dispatched(ctx, lead)
    reassign(ctx, issue, active_lead(issue)["id"], lead)
    claim(issue, lead)
    due = (issue.doc.get("deadlines") or {}).get("resolutionDue")
    issue.act("extend-deadline", {"reason": first_code(ctx, "extension-reason"),
                                  "details": {"previousDue": due, "newDue": ctx.moment(14)}})
    return issue


def _city(ctx: KitContext, served: dict[str, Any]) -> Profile | None:
    """The profile the figures are held to: the kit's, else the one the server says it counts
    with (/req/profiles/indicator-figures)."""
    return city_profile(ctx) if ctx.profile is not None or served.get("profile") else None


def _definitions(ctx: KitContext, city: Profile | None) -> Definitions:
    """The spec's definitions, with the targets and indicators of ``city``."""
    return load_definitions(city, version=ctx.spec.version)


def _expected(ctx: KitContext, regulator: Principal, period: str, city: Profile | None
              ) -> dict[tuple[Any, Any, Any], tuple[Any, Any, Any]]:
    """The figures of ``period`` the library computes over every issue the regulator lists
    that may count in it: those updated since the month began (each case of a month is an
    event of it), not the server's whole history."""
    tally = Tally(_definitions(ctx, city), city)
    offset = city.calendar.offset if city is not None else CHINA_STANDARD_TIME
    month = datetime.strptime(period, "%Y-%m").replace(tzinfo=offset).isoformat()
    for doc in ctx.items(ISSUE, regulator, {"limit": "500", "updatedSince": month}):
        tally.add(doc)
    return {(f.indicator, f.dimension, f.key): (f.numerator, f.denominator, f.value)
            for f in tally.figures(period)}


def _served(body: dict[str, Any]) -> dict[tuple[Any, Any, Any], tuple[Any, Any, Any]]:
    return {(f.get("indicator"), f.get("dimension"), f.get("key")):
            (f.get("numerator"), f.get("denominator"), f.get("value"))
            for f in body.get("figures") or () if isinstance(f, dict)}


def _compare(ctx: KitContext, regulator: Principal, what_zh: str, what_en: str) -> None:
    period = _period()
    body = _read(ctx, regulator, period)
    served = _served(body)
    expected = _expected(ctx, regulator, period, _city(ctx, body))
    wrong = sorted(k for k in set(served) | set(expected) if served.get(k) != expected.get(k))
    def figure(value: Any) -> str:
        return "—" if value is None else "/".join(str(part) for part in value)

    shown = "; ".join(f"{' '.join(map(str, k))}: {figure(served.get(k))} ≠ "
                      f"{figure(expected.get(k))}" for k in wrong[:4])
    ctx.expect(not wrong, f"{what_zh}：{len(wrong)} 个指标值与按定义计算的不同（服务器 ≠ 定义）"
               f"{plain(shown)}", f"{what_en}: {len(wrong)} figures differ from those the "
               f"definitions give (server ≠ definitions) {plain(shown)}")


@check("/req/indicators/endpoint", needs=(REGULATOR,))
def test_indicators_endpoint(ctx: KitContext) -> None:
    regulator = ctx.principal(REGULATOR)
    period = _period()
    body = _read(ctx, regulator, period)
    definitions = _definitions(ctx, _city(ctx, body))
    versions = {i.get("id"): i.get("version") for i in body.get("indicators") or ()
                if isinstance(i, dict)}
    for ind in definitions.indicators:
        ctx.expect(versions.get(ind.id) == ind.version,
                   f"没有给出指标 {ind.id} {ind.version}（给出 {versions.get(ind.id)}）",
                   f"indicator {ind.id} {ind.version} is not given (given: "
                   f"{versions.get(ind.id)})")
    for figure in body["figures"]:
        ok = (isinstance(figure, dict) and all(k in figure for k in _FIGURE)
              and figure["period"] == period and figure["dimension"] in DIMENSIONS
              and figure["version"] == versions.get(figure["indicator"]))
        ctx.expect(ok, f"指标值 {figure} 缺少成员、月份或维度不对",
                   f"the figure {figure} lacks members or has the wrong month or dimension")
    roles = ctx.spec.operation_roles(_OPERATION) or frozenset()
    others = [p for p in ctx.preset.principals.values() if p.role not in roles]
    for who in {p.role: p for p in others}.values():
        resp = ctx.call("GET", ctx.path(_OPERATION), who, params={"period": period})
        ctx.expect_problem(resp, 403)
    # 0000-01 fits the pattern, but no calendar has the year 0000
    for bad in ({"period": "2026-13"}, {"period": period.replace("-", "/")}, {},
                {"period": "0000-01"}):
        ctx.expect_problem(ctx.call("GET", ctx.path(_OPERATION), regulator, params=bad), 400)


@check("/req/indicators/figures", needs=(REGULATOR, ROLE.department))
def test_figures_follow_the_definitions(ctx: KitContext) -> None:
    regulator = ctx.principal(REGULATOR)
    _closed_issue(ctx)
    _closed_issue(ctx, rating=2, perceivedResolution="not-resolved")
    _moved_then_extended(ctx)
    _compare(ctx, regulator, "闭环和改派之后", "after the loop and a reassignment")


_EXCLUDE = "exclude-from-assessment"


def _exclusion_request(ctx: KitContext) -> dict[str, Any]:
    return {"reason": first_code(ctx, "assessment-exclusion-reason"),
            "details": {"exclusionId": ctx.new_id()}}


@check("/req/indicators/exclusion-record", needs=(REGULATOR, ROLE.department))
def test_exclusions_recorded_by_approvers(ctx: KitContext) -> None:
    regulator = ctx.principal(REGULATOR)
    issue = _closed_issue(ctx)
    roles = transition(ctx, ISSUE, _EXCLUDE)["roles"]
    # the staff who handled the case, not an approver among them, may not excuse it
    for who in (ctx.staff, ctx.principal(ROLE.department)):
        if who.role not in roles:
            issue.refuse(_EXCLUDE, _exclusion_request(ctx), who, 403)
    edited = without_meta(issue.doc) | {"assessmentExclusions": [{
        "id": ctx.new_id(), "reason": first_code(ctx, "assessment-exclusion-reason"),
        "at": ctx.moment(), "approvedBy": {"role": regulator.role, "name": regulator.name}}]}
    issue.refuse_put(edited, 422, "PUT writing assessmentExclusions")
    body = _exclusion_request(ctx)
    issue.act(_EXCLUDE, body, regulator)
    event = issue.history[-1]
    entries = [x for x in issue.doc.get("assessmentExclusions") or ()
               if isinstance(x, dict) and x.get("id") == body["details"]["exclusionId"]]
    ctx.expect(len(entries) == 1, "剔除动作没有在 assessmentExclusions 中留下一条记录",
               "the exclusion action left no entry in assessmentExclusions")
    for entry in entries:
        ctx.expect(entry.get("approvedBy") == event.get("actor")
                   and entry.get("at") == event.get("at")
                   and entry.get("reason") == body["reason"],
                   f"剔除记录的批准人、时间或原因不是动作的执行者、时间和原因：{plain(entry)}",
                   f"the exclusion's approver, time or reason is not the action's actor, time "
                   f"and reason: {plain(entry)}")


@check("/req/indicators/exclusions", needs=(REGULATOR, ROLE.department))
def test_exclusions_are_honoured(ctx: KitContext) -> None:
    regulator = ctx.principal(REGULATOR)
    issue = _closed_issue(ctx, rating=1, perceivedResolution="not-resolved")
    resp = issue.act(_EXCLUDE, _exclusion_request(ctx), regulator, expect=None)
    if resp.status != 200:
        raise Skipped(f"监管人员不能执行 {_EXCLUDE}（{resp.status}）",
                      f"the regulator cannot perform {_EXCLUDE} ({resp.status})")
    _compare(ctx, regulator, "记录剔除之后", "after the exclusion")


@check("/req/profiles/indicator-figures", needs=(REGULATOR, ROLE.department))
def test_indicators_follow_the_profile(ctx: KitContext) -> None:
    regulator = ctx.principal(REGULATOR)
    city = city_profile(ctx)
    body = _read(ctx, regulator, _period())
    ctx.expect(body.get("profile") == city.id,
               f"GET /indicators 的 profile 是 {plain(body.get('profile'))}，不是 {city.id}",
               f"the profile of GET /indicators is {plain(body.get('profile'))}, not {city.id}")
    served = {i.get("id"): i for i in body.get("indicators") or () if isinstance(i, dict)}
    for ind in _definitions(ctx, city).indicators:
        given = served.get(ind.id)
        ctx.expect(given is not None and given.get("target") == ind.target,
                   f"指标 {ind.id} 缺失或目标值不是配置的 {plain(ind.target)}",
                   f"indicator {ind.id} is missing or its target is not the profile's "
                   f"{plain(ind.target)}")
    # over the issues the server holds: a preset need not fit the city's catalogue
    _compare(ctx, regulator, "按城市配置", "with the city profile")
