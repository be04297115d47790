"""Checks of the indicators class (/conf/indicators): GET /indicators against the library.

The kit drives an issue round the loop, then computes every indicator with
``smartcommunity.indicators`` over the issues the regulator lists and holds the server's
figures to them: the spec's definitions, not the kit's guess, decide what is right.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from ...indicators import DIMENSIONS, Tally, load_definitions
from .._context import KitContext
from .._preset import Principal
from .._registry import Skipped, check
from ._shared import (
    ISSUE,
    ROLE,
    Tracked,
    active_lead,
    follow_up_request,
    issue_in_progress,
    plain,
    resolve,
    without_meta,
)

_OPERATION = "getIndicators"
REGULATOR = "regulator"
#: months are counted in the city's time zone; the kit's issues are made now, so this month
_CITY = timezone(timedelta(hours=8))
_FIGURE = ("indicator", "version", "period", "dimension", "key", "numerator", "denominator",
           "value")


def _period() -> str:
    return datetime.now(_CITY).strftime("%Y-%m")


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


def _expected(ctx: KitContext, regulator: Principal, period: str
              ) -> dict[tuple[Any, Any, Any], tuple[Any, Any, Any]]:
    """The figures of ``period`` the library computes over every issue the regulator lists."""
    tally = Tally(load_definitions(version=ctx.spec.version))
    for doc in ctx.items(ISSUE, regulator):
        tally.add(doc)
    return {(f.indicator, f.dimension, f.key): (f.numerator, f.denominator, f.value)
            for f in tally.figures(period)}


def _served(body: dict[str, Any]) -> dict[tuple[Any, Any, Any], tuple[Any, Any, Any]]:
    return {(f.get("indicator"), f.get("dimension"), f.get("key")):
            (f.get("numerator"), f.get("denominator"), f.get("value"))
            for f in body.get("figures") or () if isinstance(f, dict)}


def _compare(ctx: KitContext, regulator: Principal, what_zh: str, what_en: str) -> None:
    period = _period()
    served = _served(_read(ctx, regulator, period))
    expected = _expected(ctx, regulator, period)
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
    definitions = load_definitions(version=ctx.spec.version)
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
    for bad in ({"period": "2026-13"}, {"period": period.replace("-", "/")}, {}):
        ctx.expect_problem(ctx.call("GET", ctx.path(_OPERATION), regulator, params=bad), 400)


@check("/req/indicators/figures", needs=(REGULATOR, ROLE.department))
def test_figures_follow_the_definitions(ctx: KitContext) -> None:
    regulator = ctx.principal(REGULATOR)
    _closed_issue(ctx)
    _closed_issue(ctx, rating=2, perceivedResolution="not-resolved")
    _compare(ctx, regulator, "闭环之后", "after the loop")


@check("/req/indicators/exclusions", needs=(REGULATOR, ROLE.department))
def test_exclusions_are_honoured(ctx: KitContext) -> None:
    regulator = ctx.principal(REGULATOR)
    issue = _closed_issue(ctx, rating=1, perceivedResolution="not-resolved")
    roles = ctx.spec.parameter("/req/indicators/exclusion-record", "approverRoles")
    exclusion = {"id": ctx.new_id(), "reason": "force-majeure", "at": ctx.moment(),
                 "approvedBy": {"role": roles[0], "name": "考核审批人 / assessment approver"}}
    resp = issue.put(without_meta(issue.doc) | {"assessmentExclusions": [exclusion]},
                     expect=None)
    if resp.status != 200:
        raise Skipped(f"服务器不接受记录考核剔除的更新（{resp.status}）",
                      f"the server does not take an update recording an exclusion "
                      f"({resp.status})")
    _compare(ctx, regulator, "记录剔除之后", "after the exclusion")
