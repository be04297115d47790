"""Checks of the city profiles class (/conf/profiles) against a server that runs a profile.

The profile the server publishes (``GET /profile``) is held to the profile rules, each check
counting only the codes of its own requirement, so a defect is blamed on the rule it breaks. The
server's behaviour is then held to the profile the kit was given (``--profile``), else to the
one the server publishes: catalogue deadlines, city codes, organisations and extensions.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

from jsonschema import Draft202012Validator

from ..._moments import moment
from ...lifecycle import vote_outcome
from ...profiles import Profile, Service, TimeLimit, check_profile
from .._context import KitContext
from .._preset import Principal
from .._registry import Skipped, check
from ._core import _spelled_otherwise
from ._samples import name_found_by, sample
from ._shared import (
    CLOSE_VOTE,
    ISSUE,
    ROLE,
    Procedure,
    Tracked,
    city_profile,
    dispatch_request,
    expect_pointer,
    lowercase_times,
    new_issue,
    plain,
    preset_issuer,
    published_profile,
    transition,
)

#: the codelist whose codes a catalogue entry's category is
_CATEGORIES = "issue-category"
#: the unit of a time limit that counts working days
_WORKING_DAYS = "working-days"
#: the stated deadline members, by the catalogue's kind of time limit
_DUE = (("response", "responseDue"), ("resolution", "resolutionDue"))
#: a profile URI no city runs, for a document that names another profile
_OTHER_PROFILE = "https://profiles.example.org/another-city"


def _rule(ctx: KitContext, requirement: str) -> None:
    """The published profile has no finding of ``requirement``'s codes."""
    codes = set(ctx.spec.requirements[requirement].codes)
    found = [f for f in check_profile(published_profile(ctx)) if f.code in codes]
    ctx.expect(not found,
               "服务器发布的城市配置违反该要求：" + "；".join(
                   f"{f.pointer or '/'} {f.code}" for f in found[:5]),
               "the city profile the server publishes breaks the requirement: " + "; ".join(
                   f"{f.pointer or '/'} {f.code}" for f in found[:5]))


def _now_issue(ctx: KitContext, **changes: Any) -> dict[str, Any]:
    """A fresh issue submitted now, stating no deadlines, with ``changes``."""
    at = ctx.moment()
    doc = new_issue(ctx, submittedAt=at, **changes)
    doc.pop("deadlines", None)
    doc["history"] = copy.deepcopy(doc["history"][:1])
    doc["history"][0]["at"] = at
    return doc


@check("/req/profiles/format")
def test_profile_published(ctx: KitContext) -> None:
    resp = ctx.call("GET", ctx.path("getConformance"))
    ctx.expect_status(resp, 200)
    declared = (resp.json() or {}).get("profile")
    ctx.expect(isinstance(declared, dict), "/conformance 没有声明城市配置（profile）",
               "/conformance declares no city profile (profile)")
    assert isinstance(declared, dict)
    published = published_profile(ctx)
    _rule(ctx, "/req/profiles/format")
    head = published.get("profile") or {}
    stated = (head.get("id"), head.get("version"))
    ctx.expect(stated == (declared.get("id"), declared.get("version")),
               f"发布的配置 {stated} 与 /conformance 声明的不同",
               f"the published profile {stated} is not the one /conformance declares")
    if ctx.profile is not None:
        wanted = (ctx.profile.id, ctx.profile.version)
        ctx.expect(stated == wanted, f"服务器运行的配置是 {stated}，应为 {wanted}",
                   f"the server runs profile {stated}, not {wanted}")
    catalogue = ctx.call("GET", ctx.path("listServices"))
    ctx.expect_status(catalogue, 200)
    served = [s.get("category") for s in (catalogue.json() or {}).get("items") or []
              if isinstance(s, dict)]
    wanted_categories = list((ctx.profile or city_profile(ctx)).services)
    ctx.expect(served == wanted_categories,
               f"GET /services 的类别 {served[:5]} 不是配置的服务目录",
               f"the categories of GET /services {served[:5]} are not the profile's catalogue")


#: the rules of the profile file itself: the profile the server publishes must break none
#: the rules on the profile file itself, checked on the profile the server publishes
_FILE_RULES = (
    "/req/profiles/unique-codes",
    "/req/profiles/organisations-resolve",
    "/req/profiles/organisations-valid",
    "/req/profiles/extension-schemas",
    "/req/profiles/grids",
    "/req/profiles/calendar",
    "/req/profiles/roles",
    "/req/profiles/indicators",
)


def _file_check(requirement: str) -> Callable[[KitContext], None]:
    def test(ctx: KitContext) -> None:
        _rule(ctx, requirement)

    # The test's id is the requirement's with the function's name (profile-unique-codes …).
    test.__name__ = "test_profile_" + requirement.rsplit("/", 1)[1].replace("-", "_")
    return test


for _requirement in _FILE_RULES:
    check(_requirement)(_file_check(_requirement))


@check("/req/profiles/city-codes")
def test_profile_city_codes(ctx: KitContext) -> None:
    _rule(ctx, "/req/profiles/city-codes")
    city = city_profile(ctx)
    added = list(city.codes.get(_CATEGORIES, {}))
    if not added:
        raise Skipped("配置没有增加诉求类别", "the profile adds no issue category")
    doc = _now_issue(ctx, category=added[0])
    ctx.expect_status(ctx.create(doc), 201, zh=f"使用城市类别 {added[0]} 的诉求被拒收",
                      en=f"an issue of the city category {added[0]} was refused")


def _timed(city: Profile) -> tuple[str, str]:
    """A catalogue category and an urgency whose time limits the profile sets, preferring a
    category with limits of its own (they take precedence over the defaults)."""
    for category, service in city.services.items():
        for urgency, kinds in service.deadlines.items():
            if "resolution" in kinds:
                return category, urgency
    for category in city.services:
        for urgency in city.default_deadlines:
            return category, urgency
    raise Skipped("配置没有设定时限", "the profile sets no time limits")


@check("/req/profiles/deadlines")
def test_profile_deadlines(ctx: KitContext) -> None:
    city = city_profile(ctx)
    category, urgency = _timed(city)
    # The submission time as the kit writes it, and the same instant in UTC with a lowercase
    # t and z (RFC 3339 allows both): either way the server computes the deadlines.
    for spelled in (str, lowercase_times):
        doc = _now_issue(ctx, category=category, urgency=urgency)
        doc["submittedAt"] = spelled(doc["submittedAt"])
        resp = ctx.create(doc)
        ctx.expect_status(resp, 201, zh="不写时限的新诉求被拒收（服务器应按配置计算时限）",
                          en="a new issue stating no deadlines was refused (the server "
                             "computes them from the profile)")
        _expect_due(ctx, city, doc, (resp.json() or {}).get("deadlines"), "a new issue",
                    "新诉求")
        start = moment(doc["submittedAt"])
        assert start is not None
        limit = city.deadline(category, urgency, "response", start)
    if limit is not None:
        late = _now_issue(ctx, category=category, urgency=urgency)
        late["submittedAt"] = late["history"][0]["at"] = doc["submittedAt"]
        late["deadlines"] = {"responseDue": (limit + timedelta(hours=1)).isoformat()}
        problem = ctx.expect_problem(ctx.create(late), 422)
        expect_pointer(ctx, problem, "/deadlines")
        ctx.expect(ctx.read(ISSUE, late["id"]).status == 404, "晚于配置时限的诉求被保存了",
                   "the issue stating a deadline later than the profile's was stored")
    _reclassified(ctx, city, category, urgency)
    _beyond_dates(ctx, city, category, urgency)
    _around_the_calendar(ctx, city)
    _below_the_catalogue(ctx, city)


def _expect_due(ctx: KitContext, city: Profile, doc: dict[str, Any], got: Any, what: str,
                what_zh: str) -> None:
    """``got`` holds the deadlines the profile gives ``doc``'s category, urgency and
    submission time."""
    category, urgency = str(doc.get("category")), str(doc.get("urgency"))
    start = moment(doc.get("submittedAt"))
    assert start is not None
    got = got if isinstance(got, dict) else {}
    for kind, member in _DUE:
        expected = city.deadline(category, urgency, kind, start)
        if expected is None:
            continue
        value = got.get(member)
        ctx.expect(isinstance(value, str) and moment(value) == expected,
                   f"{what_zh}（{category}/{urgency}，提交时间 {doc.get('submittedAt')}）的 "
                   f"{member} 是 {plain(value, 'zh')}，按配置应为 {expected.isoformat()}",
                   f"the {member} of {what} ({category}/{urgency}, submitted at "
                   f"{doc.get('submittedAt')}) is {plain(value)}; the profile gives "
                   f"{expected.isoformat()}")


def _counting_working_days(ctx: KitContext, city: Profile
                           ) -> tuple[str, str, TimeLimit] | None:
    """A catalogue category and an urgency with a limit that counts working days."""
    for category in city.services:
        for urgency in ctx.spec.codelist("urgency"):
            for kind, _ in _DUE:
                limit = city.time_limit(category, urgency, kind)
                if limit is not None and limit.unit == _WORKING_DAYS:
                    return category, urgency, limit
    return None


def _around_the_calendar(ctx: KitContext, city: Profile) -> None:
    """Issues submitted the day before a holiday and the day before a make-up working day of
    the profile's calendar (the latest that have passed and move a working-days deadline):
    each gets the deadlines the calendar gives, the holiday skipped and the make-up day
    counted."""
    found = _counting_working_days(ctx, city)
    if found is None:
        return
    category, urgency, limit = found
    calendar = city.calendar
    now = moment(ctx.moment())
    assert now is not None
    before = now.astimezone(calendar.offset).date() - timedelta(days=1)
    # Each kind of day, and the calendar as a server that ignores that kind would count.
    kinds = (("节假日", "holiday", calendar.holidays, replace(calendar, holidays=frozenset())),
             ("调休工作日", "make-up working day", calendar.working_days,
              replace(calendar, working_days=frozenset())))
    for zh, en, days, without in kinds:
        for day in sorted((d for d in days if d < before), reverse=True):
            start = datetime.combine(day - timedelta(days=1), time(10), calendar.offset)
            if calendar.add(start, limit) != without.add(start, limit):
                break
        else:
            continue  # none of these days moves a deadline the kit can ask for
        doc = _now_issue(ctx, category=category, urgency=urgency)
        doc["submittedAt"] = doc["history"][0]["at"] = start.isoformat()
        resp = ctx.create(doc)
        ctx.expect_status(resp, 201, zh=f"{day} {zh}前一天提交的诉求被拒收",
                          en=f"an issue submitted the day before the {en} {day} was refused")
        _expect_due(ctx, city, doc, (resp.json() or {}).get("deadlines"),
                    f"an issue submitted the day before the {en} {day}",
                    f"{day} {zh}前一天提交的诉求")


def _unlisted(ctx: KitContext, city: Profile) -> list[str]:
    """The categories (national and the city's) without a catalogue entry of their own but
    below a category that has one."""
    codes = [*ctx.spec.codelist(_CATEGORIES), *city.codes.get(_CATEGORIES, {})]
    return [c for c in codes if c not in city.services and city.service(c) is not None]


def _below_the_catalogue(ctx: KitContext, city: Profile) -> None:
    """An issue of a category the catalogue does not list, below one whose entry sets limits
    of its own: it gets that entry's deadlines, not the profile's defaults."""
    for category in _unlisted(ctx, city):
        parent = city.service(category)
        assert parent is not None
        for urgency, kinds in parent.deadlines.items():
            if any(limit != city.default_deadlines.get(urgency, {}).get(kind)
                   for kind, limit in kinds.items()):
                doc = _now_issue(ctx, category=category, urgency=urgency)
                resp = ctx.create(doc)
                ctx.expect_status(resp, 201, zh=f"类别为 {category} 的诉求被拒收",
                                  en=f"an issue of the category {category} was refused")
                _expect_due(ctx, city, doc, (resp.json() or {}).get("deadlines"),
                            f"an issue of {category}, which takes the entry of "
                            f"{parent.category}", f"取 {parent.category} 条目的 {category} 诉求")
                return


def _beyond_dates(ctx: KitContext, city: Profile, category: str, urgency: str) -> None:
    """An issue submitted in the last hour of the year 9999, in the profile's own offset: the
    deadlines its limits give fall after the last date there is, so it is refused (a 422,
    never a server error) and not stored."""
    offset = datetime(2000, 1, 1, tzinfo=city.calendar.offset).isoformat()[-6:]
    at = f"9999-12-31T23:00:00{offset}"
    start = moment(at)
    assert start is not None
    try:
        for kind, _ in _DUE:
            city.deadline(category, urgency, kind, start)
    except ValueError:
        pass
    else:
        return  # every limit still gives a date: nothing to refuse
    doc = _now_issue(ctx, category=category, urgency=urgency)
    doc["submittedAt"] = doc["history"][0]["at"] = at
    ctx.expect_problem(ctx.create(doc), 422)
    ctx.expect(ctx.read(ISSUE, doc["id"]).status == 404,
               f"{at} 提交、按配置算不出时限的诉求被保存了",
               f"the issue submitted at {at}, whose deadlines the profile cannot compute, "
               "was stored")


def _working_roles(ctx: KitContext) -> set[str]:
    """The roles that may submit an issue, accept it and update it (the lifecycle's creating
    action and accept, the create and update operations' ``x-roles``)."""
    roles = set(transition(ctx, ISSUE, "submit")["roles"]) \
        & set(transition(ctx, ISSUE, "accept")["roles"])
    for operation in (f"create{ISSUE}", f"update{ISSUE}"):
        admitted = ctx.spec.operation_roles(operation)
        if admitted is not None:
            roles &= admitted
    return roles


def _reclassifiers(ctx: KitContext) -> list[Principal]:
    """The preset's principals serving the community who may submit, accept and update an
    issue, the kit's staff first."""
    found = ctx.serving(*sorted(_working_roles(ctx)))
    return sorted(found, key=lambda who: who.role != ctx.staff_role)


def _reclassified(ctx: KitContext, city: Profile, category: str, urgency: str) -> None:
    """Staff change an accepted issue's urgency, preferably to one with shorter limits than
    the deadlines it was given: the write is taken and the issue gets the deadlines of its new
    urgency."""
    start = moment(ctx.moment())
    assert start is not None

    def due(u: str) -> list[Any]:
        return [city.deadline(category, u, kind, start) for kind, _ in _DUE]

    def shorter(u: str) -> bool:
        return any(new is not None and old is not None and new < old
                   for new, old in zip(due(u), due(urgency), strict=True))

    others = sorted((u for u in ctx.spec.codelist("urgency") if due(u) != due(urgency)),
                    key=lambda u: not shorter(u))
    if not others:
        ctx.remark(f"未能检查改变紧急程度后的时限：配置给 {category} 的每个紧急程度同样的时限",
                   "the deadlines after a change of urgency were not checked: the profile gives "
                   f"every urgency of {category} the same deadlines")
        return
    # Staff first; but a server that holds whoever acted to its registry refuses the writes
    # of staff it does not list (its fault under /req/profiles/document-organisations, whose
    # check says so), which says nothing about deadlines: another who may accept and update
    # then submits and accepts it.
    refused: list[str] = []
    for who in _reclassifiers(ctx):
        issue = Tracked(ctx, _now_issue(ctx, category=category, urgency=urgency), who)
        accepted = issue.act("accept", who=who, expect=None)
        if accepted.status == 200:
            break
        refused.append(f"{who.name} {accepted.status}")
    else:
        ctx.remark("未能检查改变紧急程度后的时限：预设中没有能受理并更新诉求的主体，或其受理被拒绝（"
                   + "，".join(refused) + "）",
                   "the deadlines after a change of urgency were not checked: no principal of the "
                   "preset may accept and update an issue, or its acceptance was refused ("
                   + ", ".join(refused) + ")")
        return
    resp = issue.put(urgency=others[0], who=who, expect=None)
    ctx.expect_status(resp, 200, zh=f"把诉求的紧急程度从 {urgency} 改为 {others[0]} 的更新被拒收",
                      en=f"the update changing an issue's urgency from {urgency} to "
                         f"{others[0]} was refused")
    _expect_due(ctx, city, {**issue.sent, "urgency": others[0]}, issue.doc.get("deadlines"),
                "an issue whose urgency was changed", "改变紧急程度后的诉求")


@check("/req/profiles/document-organisations")
def test_profile_document_organisations(ctx: KitContext) -> None:
    city = city_profile(ctx)
    _who_acted(ctx, city)
    issue = Tracked(ctx, _now_issue(ctx))
    issue.act("accept")
    body = _dispatch_request(ctx, city, issue)
    stranger = copy.deepcopy(body)
    stranger["items"]["assignments"][0]["department"]["id"] = _UNREGISTERED["id"]
    problem = ctx.expect_problem(issue.act("dispatch", stranger, expect=None), 422)
    expect_pointer(ctx, problem, "/assignments")
    issue.act("dispatch", body)


#: an organisation no city registers (a code the kit made up)
_UNREGISTERED = {"id": "kit-unregistered-committee", "name": "检测工具虚构的社区居民委员会",
                 "type": "residents-committee"}


def _dispatch_request(ctx: KitContext, city: Profile, issue: Tracked) -> dict[str, Any]:
    """The request dispatching ``issue`` to a department of the registry: the preset's
    department when the registry lists it, else the catalogue's lead for the category, else
    the registry's first organisation."""
    lead = ctx.optional(ROLE.department)
    if lead is not None and lead.organisation in city.organisations:
        return dispatch_request(ctx, issue, lead)
    service = city.service(str(issue.doc.get("category")))
    code = service.lead if service is not None else next(iter(city.organisations), None)
    org = city.organisation(code) if code is not None else None
    if code is None or org is None:
        raise Skipped("配置的组织登记是空的", "the profile's organisation registry is empty")
    stand_in = Principal(code, "", ROLE.department, (ctx.preset.community,), code)
    body = dispatch_request(ctx, issue, stand_in)
    body["items"]["assignments"][0]["department"] = {
        "id": code, "name": org.get("name") or code, "type": org.get("type")}
    return body


def _acting_for(doc: Any) -> str | None:
    """The organisation an issue records its submitter acting for."""
    if not isinstance(doc, dict):
        return None
    history = doc.get("history")
    first = history[0] if isinstance(history, list) and history else None
    for actor in (doc.get("submittedBy"), first.get("actor") if isinstance(first, dict) else None):
        organisation = actor.get("organisation") if isinstance(actor, dict) else None
        code = organisation.get("id") if isinstance(organisation, dict) else None
        if isinstance(code, str):
            return code
    return None


def _acting_unregistered(ctx: KitContext) -> list[Principal]:
    """Who may act for an organisation the registry does not list: a principal the preset's
    test issuer signs a token for, naming one no city registers, then the preset's own who
    may submit, accept and update an issue (their organisations are learnt from what the
    server records)."""
    out: list[Principal] = []
    try:
        issuer = preset_issuer(ctx)
    except Skipped:
        issuer = None
    claims = issuer.settings.get("claims") if issuer is not None else None
    role = claims.get("role") if isinstance(claims, dict) else None
    communities = claims.get("communities") if isinstance(claims, dict) else None
    if issuer is not None and isinstance(claims, dict) and role in _working_roles(ctx) \
            and isinstance(communities, list):
        name = f"{claims.get('name') or role} ({_UNREGISTERED['id']})"
        out.append(Principal(name, issuer.token(organisation=_UNREGISTERED), str(role),
                             tuple(map(str, communities)), _UNREGISTERED["id"]))
    return out + _reclassifiers(ctx)


def _taken(ctx: KitContext, who: Principal, recorded: str, write: str, status: int | None
           ) -> None:
    ctx.expect(status == 200,
               f"{who.name}（所属组织 {recorded} 不在登记中）提交的诉求被接收，其后的 {write} "
               f"却得到 {status}：行为人的所属组织不按登记检查，此前被接受的写入记下的内容也不使"
               "此后的写入被拒绝",
               f"the issue {who.name} submitted, acting for {recorded}, which the registry does "
               f"not list, was taken, but its {write} then got {status}: whoever acted is not "
               "held to the registry, and what an accepted write recorded never makes a later "
               "write refused")


def _who_acted(ctx: KitContext, city: Profile) -> None:
    """Whoever submits and works an issue acts for the organisation their credential names,
    listed in the registry or not: the server records it, and neither the submission nor any
    later write is refused for it (the registry reviews the organisations a write hands work
    to, not who acted)."""
    tried: list[str] = []
    for who in _acting_unregistered(ctx):
        if not who.serves(ctx.preset.community):
            continue
        doc = _now_issue(ctx)
        resp = ctx.create(doc, who)
        if resp.status == 422:
            codes = sorted({str(e.get("code")) for e in (resp.json() or {}).get("errors") or ()
                            if isinstance(e, dict)})
            ctx.expect("profile.unknown-department" not in codes,
                       f"{who.name} 提交的诉求因其所属组织不在登记中被拒收"
                       f"（{plain(codes, 'zh')}）：行为人的所属组织不按登记检查",
                       f"the issue {who.name} submitted was refused for the organisation they "
                       f"act for, which the registry does not list ({plain(codes)}): whoever "
                       "acted is not held to the registry")
        ctx.expect_status(resp, 201, zh=f"{who.name} 提交诉求", en=f"{who.name} submits an issue")
        recorded = _acting_for(resp.json())
        if recorded is None or city.organisation(recorded) is not None:
            tried.append(f"{who.name} {recorded or '-'}")
            continue
        issue = Tracked.existing(ctx, ISSUE, str(doc["id"]))
        issue.sent = doc
        accepted = issue.act("accept", who=who, expect=None)
        _taken(ctx, who, recorded, "accept", accepted.status)
        updated = issue.put(who=who, expect=None, description=f"{doc['description']}（已核实）")
        _taken(ctx, who, recorded, "update", updated.status)
        return
    found_zh = f"（试过：{'，'.join(tried)}）" if tried else ""
    found_en = f" (tried: {', '.join(tried)})" if tried else ""
    ctx.remark("未能检查不在登记中的组织的人员提交和办理诉求：预设中没有这样的主体，也没有能为之签发令牌的"
               f"测试签发方{found_zh}",
               "the writes of someone acting for an organisation the registry does not list "
               "were not checked: the preset has no such principal and no test issuer to sign "
               f"for one{found_en}")


def _breaking(ctx: KitContext, schema: Any) -> Any:
    """A value ``schema`` rejects, or None when the kit finds none. Its references are read
    with the specification's schemas, as the profile's own are: nothing is fetched."""
    validator = Draft202012Validator(schema, registry=ctx.spec.registry)
    candidates: tuple[Any, ...] = ("kit-not-valid", 12345, [], {}, None,
                                   {"kit-unknown-member": 1})
    for value in candidates:
        if not validator.is_valid(value):
            return value
    return None


@check("/req/profiles/document-extensions")
def test_profile_document_extensions(ctx: KitContext) -> None:
    city = city_profile(ctx)
    for key, extension in city.extensions.items():
        if not extension.applies_to(ISSUE):
            continue
        bad = _breaking(ctx, extension.schema)
        if bad is None:
            continue
        doc = _now_issue(ctx, extensions={key: bad})
        problem = ctx.expect_problem(ctx.create(doc), 422)
        expect_pointer(ctx, problem, f"/extensions/{key}")
        ctx.expect(ctx.read(ISSUE, doc["id"]).status == 404, "扩展无效的诉求被保存了",
                   "the issue with an invalid extension was stored")
        _undescribed_member(ctx, key, extension.schema)
        _members_found(ctx, key, extension.schema)
        return
    raise Skipped("配置没有登记可用于诉求的扩展", "the profile registers no issue extension")


#: a member name no city's extension schema describes
_UNDESCRIBED = "kitUndescribedMember"


def _undescribed_member(ctx: KitContext, key: str, schema: Any) -> None:
    """A published issue whose registered extension holds, beside a value its schema accepts,
    a member the schema does not describe: refused, or never served to a reader whose
    audience may not see sensitive data (what the tags do not cover is sensitive)."""
    value = sample(ctx.spec, schema)
    if not isinstance(value, dict) or _UNDESCRIBED in value:
        return  # the kit builds no value of this schema to add a member to
    secret = f"kit-undescribed-{ctx.new_id()}"
    doc = _now_issue(ctx, extensions={key: {**value, _UNDESCRIBED: secret}},
                     publication={"published": True})
    resp = ctx.create(doc)
    if resp.status == 422:
        return
    ctx.expect_status(resp, 201, zh=f"扩展 {key} 带有模式未描述的成员的诉求既未被拒收也未被接收",
                      en=f"an issue whose extension {key} holds a member its schema does not "
                         "describe was neither refused nor taken")
    treatments = ctx.spec.privacy["treatments"]
    anonymous = ctx.spec.audience_of(str(ctx.spec.privacy["recordAccess"]["anonymousRole"]))
    readers: list[tuple[str, Principal | None]] = [(p.name, p) for p in ctx.serving()]
    for name, who in [*readers, ("(no token)", None)]:
        audience = ctx.audience(who, doc) if who is not None else anonymous
        if treatments[audience].get("sensitive") == "keep":
            continue
        resp = ctx.call("GET", ctx.resource_path(ISSUE, doc["id"]), who)
        ctx.expect(secret not in resp.text,
                   f"{name}（受众 {audience}）读到了扩展 {key} 中模式未描述的成员 {_UNDESCRIBED}",
                   f"{name} (audience {audience}) was served the member {_UNDESCRIBED} of "
                   f"extension {key}, which its schema does not describe")


#: a member name the kit gives a value an extension admits beyond the members it names
_BEYOND = "kitBeyondNamedMembers"


def _found(schema: Any) -> list[tuple[str, dict[str, Any], str]]:
    """The tagged subschemas by which the root object of ``schema`` admits members it does not
    name (``patternProperties``, ``additionalProperties``), each with a member name it finds
    and what it is."""
    if not isinstance(schema, dict):
        return []
    named = schema.get("properties") or {}
    patterns = schema.get("patternProperties") or {}
    out = []
    for pattern, sub in patterns.items():
        name = name_found_by(pattern)
        if isinstance(sub, dict) and "x-pipl" in sub and name is not None:
            out.append((name, sub, f"patternProperties {pattern}"))
    beyond = schema.get("additionalProperties")
    if isinstance(beyond, dict) and "x-pipl" in beyond and _BEYOND not in named \
            and not any(re.search(p, _BEYOND) for p in patterns):
        out.append((_BEYOND, beyond, "additionalProperties"))
    return out


def _members_found(ctx: KitContext, key: str, schema: Any) -> None:
    """A published issue whose registered extension holds a member its schema admits by a
    tagged ``patternProperties`` or ``additionalProperties``: taken, and never served to a
    reader whose audience may not see the class the tag names (the tag applies to every
    member that subschema admits, found as a validator finds it)."""
    base = sample(ctx.spec, schema)
    if not isinstance(base, dict):
        return  # the kit builds no value of this schema to add a member to
    validator = Draft202012Validator(schema, registry=ctx.spec.registry,
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    treatments = ctx.spec.privacy["treatments"]
    anonymous = ctx.spec.audience_of(str(ctx.spec.privacy["recordAccess"]["anonymousRole"]))
    readers: list[tuple[str, Principal | None]] = [(p.name, p) for p in ctx.serving()]
    for name, sub, how in _found(schema):
        pipl = str(sub["x-pipl"])
        if all(t.get(pipl) == "keep" for t in treatments.values()):
            continue  # every audience sees this class: nothing to withhold
        secret = f"kit-found-{ctx.new_id()}"
        member = secret if validator.is_valid({**base, name: secret}) else sample(ctx.spec, sub)
        value = {**base, name: member}
        if member is None or not validator.is_valid(value):
            continue
        doc = _now_issue(ctx, extensions={key: value}, publication={"published": True})
        ctx.expect_status(ctx.create(doc), 201,
                          zh=f"扩展 {key} 带有其 {how} 接受的成员 {name} 的诉求被拒收",
                          en=f"an issue whose extension {key} holds the member {name}, which "
                             f"its {how} admits, was refused")
        for reader, who in [*readers, ("(no token)", None)]:
            audience = ctx.audience(who, doc) if who is not None else anonymous
            if treatments[audience].get(pipl) == "keep":
                continue
            resp = ctx.call("GET", ctx.resource_path(ISSUE, doc["id"]), who)
            if resp.status != 200:
                continue  # what a reader may not read at all, it is not shown
            shown = ((resp.json() or {}).get("extensions") or {}).get(key)
            leaked = isinstance(shown, dict) and name in shown and shown[name] == member
            ctx.expect(not leaked,
                       f"{reader}（受众 {audience}）读到了扩展 {key} 中 {how} 接受、标注为 {pipl} "
                       f"的成员 {name}",
                       f"{reader} (audience {audience}) was served the member {name} of "
                       f"extension {key}, which its {how} admits tagged {pipl}")


@check("/req/profiles/document-profile")
def test_profile_document_profile(ctx: KitContext) -> None:
    doc = _now_issue(ctx, meta={"profile": [_OTHER_PROFILE]})
    ctx.expect_status(ctx.create(doc), 201, zh="声明其他配置的文档被拒收",
                      en="a document naming another profile was refused")


#: the vote's own fractions the kit tries, to find a tally the city's fractions decide otherwise
_OWN_RATIOS = ((1, 2), (2, 3), (3, 4), (1, 3), (4, 5))


def _separating(vote: dict[str, Any], eligible: int, rules: Any
                ) -> tuple[dict[str, Any], dict[str, int], tuple[bool, str, str | None]] | None:
    """The vote with fractions of its own, a tally of its first two options and the outcome
    the city's ``rules`` give it, chosen so the vote's own fractions give another outcome."""
    first, second = list(vote["optionIds"])[:2]
    for own in _OWN_RATIOS:
        ratio = {"numerator": own[0], "denominator": own[1]}
        mine = {**vote, "quorum": {**(vote.get("quorum") or {}), "ratio": ratio},
                "threshold": {**vote["threshold"], "ratio": ratio}}
        for total in range(eligible, 0, -1):
            for yes in range(total, -1, -1):
                counts = {first: yes, second: total - yes}
                tally = {"options": [{"optionId": o, "total": n} for o, n in counts.items()],
                         "participation": {"total": total}}
                counted = {**mine, "results": {"tally": tally}}
                city = vote_outcome(counted, eligible, rules)
                if city != vote_outcome(counted, eligible):
                    return mine, counts, city
    return None


@check("/req/profiles/thresholds")
def test_profile_thresholds(ctx: KitContext) -> None:
    city = city_profile(ctx)
    if not city.thresholds:
        raise Skipped("配置没有设定协商门槛", "the profile sets no consultation thresholds")
    form, rules = next(iter(city.thresholds.items()))
    chosen: dict[str, Any] = {}

    def adapt(example: dict[str, Any]) -> None:
        example["form"] = form
        eligible = (example.get("eligibility") or {}).get("eligibleCount")
        for vote in example.get("votes") or []:
            found = _separating(vote, int(vote.get("eligibleCount", eligible or 0)), rules)
            if found is not None and not chosen:
                mine, counts, outcome = found
                vote.update(mine)
                chosen.update(id=vote["id"], counts=counts, outcome=outcome)

    procedure = Procedure(ctx, adapt=adapt)
    if not chosen:
        raise Skipped(f"找不到能区分配置门槛和表决自身门槛的计票（{form}）",
                      f"no tally tells the profile's thresholds for {form} from a vote's own")
    procedure.run(until=lambda e: e["action"] == "record-votes")
    vote_id = chosen["id"]
    procedure.record(vote_id, chosen["counts"])
    procedure.consultation.act(CLOSE_VOTE, {"details": {"voteId": vote_id}})
    results = procedure.vote(vote_id).get("results") or {}
    got = (results.get("quorumMet"), results.get("result"), results.get("winningOptionId"))
    want = chosen["outcome"]
    counts = [f"{k} {n}" for k, n in chosen["counts"].items()]
    ctx.expect(got == want,
               f"{form} 的表决（{'，'.join(counts)}）结果为 {plain(got[1], 'zh')}，按配置的"
               f"门槛应为 {plain(want[1], 'zh')}",
               f"the {form} vote ({', '.join(counts)}) came out {plain(got[1])}; the "
               f"profile's thresholds give {plain(want[1])}")


# -- the server running the profile, and finding records across systems and by place -------

def _listed(ctx: KitContext, **params: str) -> set[str]:
    return {str(i.get("id")) for i in ctx.items(ISSUE, params=params)}


@check("/req/profiles/server-profile")
def test_profile_routes_dispatch(ctx: KitContext) -> None:
    city = city_profile(ctx)
    routed = [(c, s) for c, s in city.services.items() if s.assisting]
    if not routed:
        raise Skipped("服务目录中没有带协办部门的类别", "no catalogue category has assisting "
                      "departments")
    _expect_routed(ctx, *routed[0])
    # A category without an entry of its own goes by its nearest listed parent's.
    for category in _unlisted(ctx, city):
        parent = city.service(category)
        if parent is not None and parent.assisting:
            _expect_routed(ctx, category, parent)
            break


def _expect_routed(ctx: KitContext, category: str, service: Service) -> None:
    """A dispatch naming no department of an issue of ``category`` goes to ``service``'s
    lead and first assisting department."""
    issue = Tracked(ctx, _now_issue(ctx, category=category))
    accepted = issue.act("accept", expect=None)
    if accepted.status != 200:
        # The step before the one checked: a preset whose staff belong to another city's
        # registry cannot take it, which says nothing about routing.
        raise Skipped(f"预设的工作人员无法受理诉求（{accepted.status}），"
                      "可能不在该城市的组织登记中",
                      f"the preset's staff cannot accept an issue ({accepted.status}); they may "
                      "not be in this city's organisation registry")
    at = issue.history[-1].get("at") or ctx.moment()
    lead, assisting = ctx.new_id(), ctx.new_id()
    items = [{"id": i, "role": role, "status": "pending", "assignedAt": at}
             for i, role in ((lead, "lead"), (assisting, "assisting"))]
    issue.act("dispatch", {"details": {"lead": lead, "assisting": [assisting]},
                           "items": {"assignments": items}})
    given = {a.get("id"): (a.get("department") or {}).get("id")
             for a in issue.doc.get("assignments") or [] if isinstance(a, dict)}
    wanted = {lead: service.lead, assisting: service.assisting[0]}
    ctx.expect(given == wanted, f"派单交给了 {given}，服务目录为 {category} 指定 {wanted}",
               f"the dispatch went to {given}; the catalogue gives {category} to {wanted}")


@check("/req/profiles/external-ref-lookup")
def test_profile_external_ref_lookup(ctx: KitContext) -> None:
    city = city_profile(ctx)
    systems = list(city.external_systems)
    system = systems[0] if systems else "https://kit.example.org/work-orders"
    number = f"KIT-{ctx.new_id()}"
    mine = _now_issue(ctx, externalRefs=[{"system": system, "value": number}])
    near = _now_issue(ctx, externalRefs=[{"system": system, "value": number + "-2"}])
    for doc in (mine, near):
        ctx.created(doc)
    # Another spelling of the system is the same system (as /req/core/echo-suppression says).
    for asked in dict.fromkeys((system, _spelled_otherwise(system))):
        found = _listed(ctx, externalRef=f"{asked}|{number}")
        ctx.expect(found == {mine["id"]},
                   f"按 {asked} 的工单号 {number} 找到 {plain(sorted(found)[:5], 'zh')}",
                   f"the work-order number {number} of {asked} found "
                   f"{plain(sorted(found)[:5])}, not just {mine['id']}")
    if systems:
        resp = ctx.call("GET", ctx.collection_path(ISSUE), ctx.staff,
                        params={"externalRef": f"https://kit.example.org/unknown|{number}"})
        ctx.expect_problem(resp, 400)


@check("/req/profiles/grid-filter")
def test_profile_grid_filter(ctx: KitContext) -> None:
    city = city_profile(ctx)
    ours = [g for g in city.grids if g.startswith(ctx.preset.community + "-")]
    if len(ours) < 2:
        raise Skipped("配置中预设社区的网格少于两个",
                      "the profile lists fewer than two grids of the preset's community")
    first, second = (_now_issue(ctx, gridCode=g) for g in ours[:2])
    for doc in (first, second):
        ctx.created(doc)
    found = _listed(ctx, grid=ours[0])
    ctx.expect(first["id"] in found and second["id"] not in found,
               f"按网格 {ours[0]} 列出的诉求不对", f"listing by grid {ours[0]} is wrong: "
               f"{first['id']} in it: {first['id'] in found}, {second['id']} in it: "
               f"{second['id'] in found}")
    # The profile's grids are the city's registry: a well-formed grid it does not list is
    # refused, naming the parameter, rather than answered with an empty page.
    unlisted = next(f"{ctx.preset.community}-K{n}" for n in range(len(city.grids) + 1)
                    if f"{ctx.preset.community}-K{n}" not in city.grids)
    resp = ctx.call("GET", ctx.collection_path(ISSUE), ctx.staff, params={"grid": unlisted})
    problem = ctx.expect_problem(resp, 400)
    expect_pointer(ctx, problem, "/query/grid")


@check("/req/profiles/bbox-filter")
def test_profile_bbox_filter(ctx: KitContext) -> None:
    # Two points 0.5 degree apart near the city, placed where no rounding is in doubt.
    lon, lat = 116.4512 + ctx.rng.randrange(0, 30) / 100, 39.9208
    near = _now_issue(ctx, location={"point": {"longitude": lon, "latitude": lat,
                                               "crs": "wgs84"}})
    far = _now_issue(ctx, location={"point": {"longitude": lon + 0.5, "latitude": lat,
                                              "crs": "wgs84"}})
    for doc in (near, far):
        ctx.created(doc)
    box = f"{lon - 0.05:.4f},{lat - 0.05:.4f},{lon + 0.05:.4f},{lat + 0.05:.4f}"
    found = _listed(ctx, bbox=box)
    ctx.expect(near["id"] in found and far["id"] not in found,
               f"范围框 {box} 列出的诉求不对", f"the box {box} lists the wrong issues: "
               f"near in it: {near['id'] in found}, far in it: {far['id'] in found}")
    other = _listed(ctx, bbox=box, **{"bbox-crs": "gcj02"})
    ctx.expect(near["id"] not in other, "以 wgs84 记录的坐标按 gcj02 范围框被找到",
               "a point recorded in wgs84 was found by a gcj02 box")
    resp = ctx.call("GET", ctx.collection_path(ISSUE), ctx.staff,
                    params={"bbox": f"{lon + 0.05:.4f},{lat - 0.05:.4f},{lon - 0.05:.4f},"
                                    f"{lat + 0.05:.4f}"})
    ctx.expect_problem(resp, 400)
