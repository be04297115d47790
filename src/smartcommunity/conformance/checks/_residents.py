"""Residents class: who may read and correct a record, the rights of PIPL Articles 44–47,
proxies, consents, minors and the resident list filters."""

from __future__ import annotations

import calendar
import copy
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ... import identifiers
from ..._moments import CHINA_STANDARD_TIME, moment
from ...pointers import pointer
from ...validation import compile_plan, validate, values_at
from .._context import KitContext
from .._preset import Principal
from .._registry import Skipped, check
from ._people import (
    citizen_card,
    in_worker_grid,
    listed,
    own_record,
    proxy,
    resident,
    restriction_asked,
    with_number,
)
from ._shared import (
    AFTER_9999,
    RESIDENT,
    ROLE,
    Tracked,
    expect_code,
    expect_pointer,
    first_code,
    minted,
    other_community,
    personal_shown,
    plain,
    proposed,
    refused_on_create,
    resident_actor,
    resident_ref,
    running_profile,
    submitted_by,
    without_meta,
)
from ._watching import events_of, tail, watching


def _minimal_members(ctx: KitContext) -> set[str]:
    """Members an erased record may keep (/req/residents/erased-minimal): the names the
    resident schema allows once ``restriction.state`` is erased."""
    return set(ctx.spec.schema(RESIDENT)["then"]["propertyNames"]["enum"])


@check("/req/residents/read-access", needs=(ROLE.proxy,))
def test_read_access(ctx: KitContext) -> None:
    agent = ctx.principal(ROLE.proxy)
    cases = {
        "no proxy": ([], False),
        "receive-information": ([proxy(ctx, agent, ["receive-information"])], True),
        "manage-data": ([proxy(ctx, agent, ["manage-data"])], True),
        "submit-issues only": ([proxy(ctx, agent, ["submit-issues"])], False),
        "expired": ([proxy(ctx, agent, ["receive-information"], since=-60, until=-1)], False),
        "not yet in force": ([proxy(ctx, agent, ["receive-information"], since=5)], False),
        f"in force until {AFTER_9999}": ([{**proxy(ctx, agent, ["receive-information"]),
                                            "validUntil": AFTER_9999}], True),
    }
    ids: dict[str, str] = {}
    for label, (proxies, _) in cases.items():
        doc = resident(ctx, proxies)
        ctx.created(doc)
        ids[doc["id"]] = label
    readable = {rid for rid, label in ids.items() if cases[label][1]}
    for rid, label in ids.items():
        resp = ctx.read(RESIDENT, rid, agent)
        want = 200 if rid in readable else 404
        ctx.expect_status(resp, want, zh=f"代理人读取（{label}）", en=f"the proxy reads ({label})")
    shown = set(listed(ctx, agent, ids))
    ctx.expect(shown == readable,
               f"代理人列表中的测试记录为 {plain(sorted(ids[i] for i in shown), 'zh')}，"
               f"应为 {plain(sorted(ids[i] for i in readable), 'zh')}",
               f"the proxy's list shows {plain(sorted(ids[i] for i in shown))}, expected "
               f"{plain(sorted(ids[i] for i in readable))}")
    outsiders = [p for p in (ctx.optional(ROLE.public), ctx.optional(ROLE.resident))
                 if p is not None]
    for who in outsiders:
        for rid in ids:
            ctx.expect_problem(ctx.read(RESIDENT, rid, who), 404)
        shown = set(listed(ctx, who, ids))
        ctx.expect(not shown, f"{who.name}（{who.role}）的列表中出现了他人的记录",
                   f"{who.name} ({who.role}) sees others' records in the list")
    own = ctx.optional(ROLE.resident)
    if own is not None and own.resident:
        own_record(ctx, own)
        ctx.expect_status(ctx.read(RESIDENT, own.resident, own), 200,
                          zh="居民读取本人记录", en="a resident reads their own record")


@check("/req/residents/self-access", needs=(ROLE.resident,))
def test_self_access(ctx: KitContext) -> None:
    who = ctx.principal(ROLE.resident)
    full = own_record(ctx, who)
    resp = ctx.read(RESIDENT, str(who.resident), who)
    ctx.expect_status(resp, 200, zh="居民读取本人记录", en="the resident reads their own record")
    expected = without_meta(ctx.redact(full, ctx.audience(who, full)))
    got = without_meta(resp.json())
    missing = sorted(set(expected) - set(got or {}))
    ctx.expect(got == expected,
               f"居民本人读到的记录不完整或被改变（缺少 {plain(missing, 'zh')}）",
               f"the resident's own record is incomplete or altered (missing {plain(missing)})")


def _corrected(ctx: KitContext, doc: dict[str, Any], tag: str) -> dict[str, Any]:
    """``doc`` with every member a resident may correct changed, still valid."""
    body = without_meta(copy.deepcopy(doc))
    body["name"] = f"更正后的姓名{tag}"
    body["formerNames"] = [f"曾用名{tag}"]
    body["contactPoints"] = [{"type": "mobile", "phone": "+8613800138" + tag[:3].rjust(3, "0"),
                              "preferred": True}]
    body["preferredChannels"] = ["phone-call"]
    address = dict(body.get("address") or {"divisionCode": ctx.preset.community})
    address["text"] = f"更正后的地址 {tag}"
    body["address"] = address
    body["emergencyContacts"] = [{"name": f"联系人{tag}", "relationship": "neighbour",
                                  "phone": "+8613900139" + tag[:3].rjust(3, "0")}]
    consents = list(body.get("consents") or [])
    consents.append({"id": ctx.new_id(), "purpose": "notifications", "legalBasis": "consent",
                     "scope": ["/contactPoints"], "status": "granted",
                     "grantedAt": ctx.moment(-1)})
    body["consents"] = consents
    return ctx.ensure_valid(body, "(corrected resident)")


@check("/req/residents/self-correction", needs=(ROLE.proxy,))
def test_self_correction(ctx: KitContext) -> None:
    agent = ctx.principal(ROLE.proxy)
    record = Tracked(ctx, resident(ctx, [proxy(ctx, agent, ["manage-data"])]))
    digits = str(ctx.rng.randrange(100, 999))
    body = _corrected(ctx, record.doc, digits)
    resp = record.put(body, agent)
    record.refresh()
    for member in ("name", "formerNames", "contactPoints", "preferredChannels", "address",
                   "emergencyContacts", "consents"):
        ctx.expect(record.doc.get(member) == body[member],
                   f"代理人更正的 {member} 没有保存",
                   f"the proxy's correction of {member} was lost")
    ctx.expect((resp.json() or {}).get("id") == record.id, "更正改变了标识",
               "the correction changed the id")
    # An update naming another id must not move the record.
    moved = copy.deepcopy(without_meta(record.doc))
    moved["id"] = ctx.new_id()
    resp = ctx.call("PUT", record.path, agent, json_body=moved, headers={"If-Match": record.etag})
    ctx.expect(resp.status != 200 or (resp.json() or {}).get("id") == record.id,
               "更新改变了记录的标识", "the update changed the record's id")
    ctx.expect(ctx.read(RESIDENT, moved["id"]).status == 404,
               "更新以新的标识建立了记录", "the update created a record under the new id")
    ctx.expect_status(ctx.read(RESIDENT, record.id), 200, zh="原标识仍可读取",
                      en="the record is still read at its id")
    own = ctx.optional(ROLE.resident)
    if own is not None and own.resident:
        original = without_meta(own_record(ctx, own))
        mine = Tracked.existing(ctx, RESIDENT, own.resident)
        changed = copy.deepcopy(original)
        changed["formerNames"] = [*(changed.get("formerNames") or []), f"测试曾用名{digits}"]
        changed["preferredChannels"] = ["phone-call"]
        ctx.ensure_valid(changed, "(the resident's own corrected record)")
        mine.put(changed, own)
        ctx.expect(mine.doc.get("formerNames") == changed["formerNames"],
                   "居民本人的更正没有保存", "the resident's own correction was lost")
        restored = copy.deepcopy(original)
        mine.put(restored, own)  # leave the preset's record as it was


@check("/req/residents/rights-request", needs=(ROLE.proxy,))
def test_rights_request(ctx: KitContext) -> None:
    agent = ctx.principal(ROLE.proxy)
    # Read back from a request decided a month ago: the new one is made now, undecided.
    record = restriction_asked(ctx, agent, reason="objection", requestedAt=ctx.moment(-40),
                               decidedAt=ctx.moment(-30))
    restriction = record.doc.get("restriction") or {}
    ctx.expect(restriction.get("state") == "restriction-requested",
               f"申请限制处理后状态为 {restriction.get('state')}",
               f"after asking for restriction the state is {restriction.get('state')}")
    ctx.expect(bool(restriction.get("requestedAt")), "申请限制处理后没有记录 requestedAt",
               "no requestedAt was recorded for the restriction request")
    recorded = moment(restriction.get("requestedAt"))
    ctx.expect(recorded is None or recorded > datetime.now(UTC) - timedelta(days=1),
               f"requestedAt 记为请求中给出的 {restriction.get('requestedAt')}，而不是申请的时间",
               f"requestedAt is the {restriction.get('requestedAt')} the request stated, not "
               "when the request was made")
    ctx.expect("decidedAt" not in restriction, "新的申请保留了上一次申请的 decidedAt",
               "the new request kept the earlier request's decidedAt")
    body = without_meta(record.doc)
    body["restriction"] = {**restriction, "requestedAt": ctx.moment(-50)}
    ctx.ensure_valid(body, "(a pending request restated with another requestedAt)")
    record.refuse_put(body, 403, "the proxy moving requestedAt of the pending request", agent)
    second = Tracked(ctx, resident(ctx, [proxy(ctx, agent, ["manage-data"])]))
    resp = second.post("erasure-request", {"reason": "consent-withdrawn"}, agent)
    ctx.expect_status(resp, 200, zh="代理人申请删除", en="the proxy asks for erasure")
    restriction = second.refresh().get("restriction") or {}
    ctx.expect(restriction.get("state") == "erasure-requested" and bool(
        restriction.get("requestedAt")),
        f"申请删除后 restriction 为 {restriction}",
        f"after asking for erasure the restriction is {restriction}")
    # Writers that neither ask nor decide leave her pending request as it is: one that
    # receives restriction and leaves it out is refused, one that does not keeps it.
    for who in _neither_asking_nor_deciding(ctx):
        got = second.read(who)
        if got.status != 200 or not isinstance(got.json(), dict):
            continue
        body = without_meta(got.json())
        received = body.pop("restriction", None) is not None
        resp = ctx.call("PUT", second.path, who, json_body=body,
                        headers={"If-Match": got.headers.get("etag") or second.etag})
        if received:
            ctx.expect(resp.status == 403,
                       f"{who.name}（{who.role}）去掉待处理的删除申请的更新得到 {resp.status}，"
                       "应为 403",
                       f"{who.name}'s ({who.role}) update leaving out the pending erasure "
                       f"request got {resp.status}, not 403")
        now = second.refresh().get("restriction") or {}
        ctx.expect(now == restriction,
                   f"{who.name}（{who.role}）的更新之后 restriction 变为 {now}",
                   f"after {who.name}'s ({who.role}) update the restriction is {now}")


@check("/req/residents/rights-request")
def test_create_carries_no_request(ctx: KitContext) -> None:
    """A create is no request: staff, who decide requests, create no record already asked
    for, restricted or erased, nor one carrying the record of a request (403, nothing
    stored)."""
    grounds = ctx.spec.parameter("/req/residents/erasure-on-request", "legalGrounds")
    asked, decided = ctx.moment(-2), ctx.moment(-1)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("restriction-requested", {"state": "restriction-requested", "requestedAt": asked}),
        ("erasure-requested", {"state": "erasure-requested", "requestedAt": asked}),
        ("restricted", {"state": "restricted", "reason": grounds[0], "requestedAt": asked,
                        "decidedAt": decided}),
        ("none with requestedAt and decidedAt", {"state": "none", "requestedAt": asked,
                                                 "decidedAt": decided}),
    ]
    for what, restriction in cases:
        doc = ctx.ensure_valid(resident(ctx, restriction=restriction),
                               f"(resident record created {what})")
        refused_on_create(ctx, doc, 403, f"restriction {what}")


def _decided(ctx: KitContext, agent: Principal) -> Tracked:
    """A fresh record restricted at its manage-data proxy ``agent``'s request (he asked,
    staff decided)."""
    record = restriction_asked(ctx, agent)
    asked = record.doc["restriction"]
    # decided no earlier than asked, by the server's clock (which recorded requestedAt)
    record.put(restriction={**asked, "state": "restricted",
                            "decidedAt": asked.get("requestedAt") or ctx.moment()})
    return record


@check("/req/residents/rights-request", needs=(ROLE.proxy,))
def test_request_dates_kept(ctx: KitContext) -> None:
    """Leaving the state as it is, even the staff who decide requests change neither when
    the request was made nor when and by whom it was decided (403, nothing changes)."""
    agent = ctx.principal(ROLE.proxy)
    record = restriction_asked(ctx, agent)
    pending = record.doc.get("restriction") or {}
    body = without_meta(record.doc)
    body["restriction"] = {**pending, "requestedAt": ctx.moment(-50)}
    ctx.ensure_valid(body, "(a pending request restated with another requestedAt)")
    record.refuse_put(body, 403, "staff moving requestedAt of the pending request")
    record = _decided(ctx, agent)
    decision = record.doc.get("restriction") or {}
    organisation = {"id": "conformance-kit-org", "name": "一致性测试机构",
                    "type": "residents-committee"}
    for what, restriction in (
            ("requestedAt", {**decision, "requestedAt": ctx.moment(-50)}),
            ("decidedAt", {**decision, "decidedAt": _shifted(decision.get("decidedAt"))}),
            ("decidedBy", {**decision, "decidedBy": organisation})):
        body = without_meta(record.doc)
        body["restriction"] = restriction
        ctx.ensure_valid(body, f"(a decided request restated with another {what})")
        record.refuse_put(body, 403, f"staff rewriting {what} of the decided request")


#: an organisation no preset principal belongs to, named as the decider of a request
_ANOTHER_ORGANISATION = {"id": "conformance-kit-org", "name": "一致性测试机构",
                         "type": "residents-committee"}


@check("/req/residents/decision-recorded", needs=(ROLE.proxy,))
def test_decision_recorded(ctx: KitContext) -> None:
    """Staff deciding by an update say neither when nor by whom: another organisation named
    as the decider, or another time for the request decided, is refused (403, nothing
    changes); a decidedAt the body dates a month ahead (granting a request or refusing one),
    and a restriction staff make dated a month back, are recorded at the moment of the
    write, by the staff's organisation."""
    agent = ctx.principal(ROLE.proxy)
    record = restriction_asked(ctx, agent)
    asked = record.doc.get("restriction") or {}
    granted = {**asked, "state": "restricted",
               "decidedAt": asked.get("requestedAt") or ctx.moment()}
    body = without_meta(record.doc)
    body["restriction"] = {**granted, "decidedBy": _ANOTHER_ORGANISATION}
    ctx.ensure_valid(body, "(a decision naming another organisation as the decider)")
    resp = record.refuse_put(body, 403, "staff naming another organisation as the decider")
    problem = ctx.expect_problem(resp, 403)
    expect_code(ctx, problem, "http.actor-mismatch")
    expect_pointer(ctx, problem, "/restriction/decidedBy")
    body["restriction"] = {**granted, "requestedAt": ctx.moment(-50)}
    ctx.ensure_valid(body, "(a decision restating the request with another requestedAt)")
    record.refuse_put(body, 403, "staff moving requestedAt of the request they decide")
    _recorded_now(ctx, record, {**granted, "decidedAt": ctx.moment(30)}, asked.get("requestedAt"),
                  "a decision dated a month ahead")
    # Refusing a request (back to none) is a decision too.
    refused = restriction_asked(ctx, agent)
    pending = refused.doc.get("restriction") or {}
    no = {**pending, "state": "none", "decidedAt": pending.get("requestedAt") or ctx.moment()}
    body = without_meta(refused.doc)
    body["restriction"] = {**no, "decidedBy": _ANOTHER_ORGANISATION}
    ctx.ensure_valid(body, "(a refusal naming another organisation as the decider)")
    resp = refused.refuse_put(body, 403, "staff naming another organisation as the refusal's "
                                         "decider")
    expect_code(ctx, ctx.expect_problem(resp, 403), "http.actor-mismatch")
    _recorded_now(ctx, refused, {**no, "decidedAt": ctx.moment(30)}, pending.get("requestedAt"),
                  "a refusal dated a month ahead")
    # Restricting on a legal ground with no request pending, staff made the request too.
    ground = ctx.spec.parameter("/req/residents/erasure-on-request", "legalGrounds")[0]
    fresh = Tracked(ctx, resident(ctx))
    _recorded_now(ctx, fresh, {"state": "restricted", "reason": ground,
                               "requestedAt": ctx.moment(-40), "decidedAt": ctx.moment(-39)},
                  None, "a restriction on a legal ground dated a month back")


def _recorded_now(ctx: KitContext, record: Tracked, restriction: dict[str, Any],
                  asked: Any, what: str) -> None:
    """Staff PUT ``restriction`` (whose dates are not now) to ``record``: the decision is
    recorded at the moment of the write by the server's clock, by the staff's organisation
    (when the preset names it) and on the request made at ``asked`` (None: at that moment)."""
    body = without_meta(record.doc)
    body["restriction"] = restriction
    ctx.ensure_valid(body, f"({what})")
    # The server's clock to the second, as its Date header gives it.
    start = ctx.server_now() - timedelta(seconds=1)
    record.put(body)
    end = ctx.server_now() + timedelta(seconds=1)
    got = record.doc.get("restriction") or {}
    decided = moment(got.get("decidedAt"))
    ctx.expect(decided is not None and start <= decided <= end,
               f"{what}：decidedAt 记为 {got.get('decidedAt')}，而不是写入的时间",
               f"{what}: decidedAt is recorded as {got.get('decidedAt')}, not the moment of "
               "the write")
    wanted = moment(asked) if asked is not None else decided
    ctx.expect(moment(got.get("requestedAt")) == wanted,
               f"{what}：requestedAt 记为 {got.get('requestedAt')}，应为 {asked or '写入的时间'}",
               f"{what}: requestedAt is recorded as {got.get('requestedAt')}, not "
               f"{asked or 'the moment of the write'}")
    decider = got.get("decidedBy")
    own = ctx.staff.organisation
    named = decider.get("id") if isinstance(decider, dict) else None
    ctx.expect(own is None or named == own,
               f"{what}：decidedBy 记为 {named}，而不是作出决定的工作人员所属的组织",
               f"{what}: decidedBy is recorded as {named}, not the deciding staff's "
               "organisation")


def _shifted(text: Any) -> str | None:
    """The instant ``text`` names a minute later (None when it names none)."""
    at = moment(text)
    return None if at is None else (at + timedelta(minutes=1)).isoformat()


@check("/req/residents/rights-request", needs=(ROLE.proxy,))
def test_no_restriction_asked_while_restricted(ctx: KitContext) -> None:
    """A restricted record is not asked for restriction again (409
    resident.already-restricted, nothing changes); its erasure still is."""
    agent = ctx.principal(ROLE.proxy)
    record = _decided(ctx, agent)
    body = without_meta(record.doc)
    body["restriction"] = {"state": "restriction-requested"}
    resp = record.refuse_put(body, 409, "the proxy asking for restriction of a restricted "
                                        "record", agent)
    expect_code(ctx, ctx.expect_problem(resp, 409), "resident.already-restricted")
    resp = record.post("erasure-request", {"reason": "consent-withdrawn"}, agent)
    ctx.expect_status(resp, 200, zh="管理代理人为限制处理中的记录申请删除",
                      en="the managing proxy asks for the restricted record's erasure")


def _neither_asking_nor_deciding(ctx: KitContext) -> list[Principal]:
    """The preset's principals whose role may update a resident record but neither asks for
    restriction or erasure nor carries out erasure (``x-roles`` of the operations)."""
    paths = ctx.spec.openapi["paths"]
    item = ctx.collection_path(RESIDENT) + "/{id}"
    writers = set((paths.get(item, {}).get("put") or {}).get("x-roles") or ())
    deciding: set[str] = set()
    for suffix in ("erasure-request", "erase"):
        deciding |= set((paths.get(f"{item}/{suffix}", {}).get("post") or {}).get("x-roles")
                        or ())
    return ctx.serving(*sorted(writers - deciding))


@check("/req/residents/rights-request", needs=(ROLE.proxy,))
def test_others_may_not_request(ctx: KitContext) -> None:
    agent = ctx.principal(ROLE.proxy)
    record = Tracked(ctx, resident(ctx, [proxy(ctx, agent, ["receive-information"])]))
    askers = [agent, *[p for p in (ctx.staff, ctx.optional(ROLE.grid_worker),
                                   ctx.optional("regulator"), ctx.optional(ROLE.system))
                       if p is not None]]
    for who in askers:
        # Each writes back what it reads (what it does not receive is not its to write).
        got = record.read(who)
        seen = got.json() if got.status == 200 else None
        body = without_meta(seen if isinstance(seen, dict) else record.doc)
        body["restriction"] = {"state": "restriction-requested", "requestedAt": ctx.moment()}
        resp = record.put(body, who, expect=None)
        _refused(ctx, record, resp, f"{who.name} ({who.role}) PUT restriction-requested")
        resp = record.post("erasure-request", {}, who)
        _refused(ctx, record, resp, f"{who.name} ({who.role}) POST erasure-request")


def _refused(ctx: KitContext, record: Tracked, resp: Any, what: str) -> None:
    ctx.expect(resp.status in (403, 404),
               f"{what} 得到 {resp.status}，应为 403", f"{what} got {resp.status}, not 403")
    ctx.expect_problem(resp, int(resp.status))
    state = (record.refresh().get("restriction") or {}).get("state", "none")
    ctx.expect(state == "none", f"{what} 之后 restriction.state 变为 {state}",
               f"after {what} restriction.state became {state}")


@check("/req/residents/erasure")
def test_erasure(ctx: KitContext) -> None:
    reader, cursor = watching(ctx, or_staff=True)
    record = Tracked(ctx, resident(ctx))
    resp = record.post("erase", {"reason": "purpose-fulfilled"})
    ctx.expect_status(resp, 200, zh="工作人员执行删除", en="staff carry out the erasure")
    readers = [ctx.staff, *[p for p in (ctx.optional("regulator"),) if p is not None]]
    for who in readers:
        got = ctx.read(RESIDENT, record.id, who)
        ctx.expect_status(got, 200, zh=f"{who.name} 读取已删除的记录",
                          en=f"{who.name} reads the erased record")
        _minimal(ctx, got.json(), f"{who.name} reads")
    mine = events_of(ctx, reader, cursor, RESIDENT, record.id)
    ctx.expect(len(mine) >= 2, "变更订阅中没有删除事件", "the change feed has no erasure event")
    _minimal(ctx, mine[-1].get("data"), "the erasure event")


def _minimal(ctx: KitContext, doc: Any, where: str) -> None:
    ctx.expect(isinstance(doc, dict), f"{where}：不是 JSON 对象", f"{where}: not a JSON object")
    extra = sorted(set(doc) - _minimal_members(ctx))
    ctx.expect(not extra, f"{where}：最小形式之外还有 {plain(extra, 'zh')}",
               f"{where}: members beyond the minimal form: {plain(extra)}")
    state = (doc.get("restriction") or {}).get("state")
    ctx.expect(state == "erased", f"{where}：restriction.state 为 {state}",
               f"{where}: restriction.state is {state}")
    ctx.expect(validate(doc).valid, f"{where}：最小形式无效",
               f"{where}: the minimal form is invalid")


@check("/req/residents/restricted-disclosure", needs=(ROLE.proxy,))
def test_restricted_disclosure(ctx: KitContext) -> None:
    agent = ctx.principal(ROLE.proxy)
    mirror = ctx.optional(ROLE.system)
    cursor = tail(ctx, mirror) if mirror is not None else None
    record = restriction_asked(ctx, agent)
    asked = record.doc["restriction"]
    # decided no earlier than asked, by the server's clock (which recorded requestedAt)
    record.put(restriction={**asked, "state": "restricted",
                            "decidedAt": asked.get("requestedAt") or ctx.moment()})
    _whole_and_minimal(ctx, record, agent, ("", ""))
    # Asking for erasure asks for more protection, never less: until staff carry it out (or
    # refuse it), the record reaches the same readers in the same minimal form, and so does
    # every event of it in the feed, the earlier ones included.
    resp = record.post("erasure-request", {"reason": "consent-withdrawn"}, agent)
    ctx.expect_status(resp, 200, zh="管理代理人为限制处理中的记录申请删除",
                      en="the managing proxy asks for the restricted record's erasure")
    record.refresh()
    minimal = _whole_and_minimal(ctx, record, agent,
                                 ("（申请删除之后）", " after asking for erasure"))
    if mirror is not None and cursor is not None and mirror in minimal:
        for event in events_of(ctx, mirror, cursor, RESIDENT, record.id):
            _restricted_form(ctx, event.get("data"),
                             f"{mirror.name} ({mirror.role}) receives the change event "
                             f"{event.get('action')} after asking for erasure")
    # The proxy loses manage-data: from now on only the minimal form.
    proxies = copy.deepcopy(record.doc["proxies"])
    proxies[0]["scope"] = ["receive-information"]
    record.put(proxies=proxies)
    got = ctx.read(RESIDENT, record.id, agent)
    ctx.expect_status(got, 200, zh="只有 receive-information 的代理人读取",
                      en="a receive-information proxy reads")
    _restricted_form(ctx, got.json(), "a receive-information proxy reads")


def _whole_and_minimal(ctx: KitContext, record: Tracked, agent: Principal,
                       when: tuple[str, str]) -> list[Principal]:
    """The community's staff and the managing proxy ``agent`` read the restricted record
    whole; every other principal of the preset that may read it gets only the minimal form,
    by id and in a list. Those readers (``when`` says at what point, in both languages)."""
    full = without_meta(record.doc)
    for who in (ctx.staff, agent):
        got = ctx.read(RESIDENT, record.id, who)
        ctx.expect_status(got, 200)
        ctx.expect(without_meta(got.json()) == full, f"{who.name} 没有得到完整的记录{when[0]}",
                   f"{who.name} did not get the whole record{when[1]}")
    readers = []
    for who in ctx.preset.principals.values():
        staff = ctx.audience(who, record.doc) == ctx.spec.audience_of(ctx.staff_role) \
            and who.serves(ctx.preset.community)
        if staff or who.role in (ROLE.resident, ROLE.proxy):
            continue  # the community's staff see it whole; residents and proxies see above
        got = ctx.read(RESIDENT, record.id, who)
        if got.status == 404:
            continue  # may not read this record at all
        ctx.expect_status(got, 200)
        readers.append(who)
        _restricted_form(ctx, got.json(), f"{who.name} ({who.role}) reads{when[1]}")
        item = listed(ctx, who, [record.id]).get(record.id)
        if item is not None:
            _restricted_form(ctx, item, f"{who.name} ({who.role}) lists{when[1]}")
    return readers


def _restricted_form(ctx: KitContext, doc: Any, where: str) -> None:
    ctx.expect(isinstance(doc, dict), f"{where}：不是 JSON 对象", f"{where}: not a JSON object")
    extra = sorted(set(doc) - _minimal_members(ctx))
    ctx.expect(not extra, f"{where}：限制处理中的记录多给了 {plain(extra, 'zh')}",
               f"{where}: the restricted record also disclosed {plain(extra)}")


RESTRICTED = "resident.restricted"


@check("/req/residents/restricted-writes", needs=(ROLE.proxy,))
def test_restricted_writes(ctx: KitContext) -> None:
    agent = ctx.principal(ROLE.proxy)
    record = _restricted_in_a_grid(ctx, agent)
    paths = ctx.spec.openapi["paths"]
    put = paths.get(ctx.collection_path(RESIDENT) + "/{id}", {}).get("put") or {}
    writers = set(put.get("x-roles") or ())
    minimal_writers = []
    for who in ctx.preset.principals.values():
        if who.role not in writers:
            continue
        got = record.read(who)
        seen = got.json() if got.status == 200 else None
        if not isinstance(seen, dict) or set(seen) - _minimal_members(ctx):
            continue  # reads it whole, or not at all
        minimal_writers.append(who)
        etag = got.headers.get("etag") or record.etag
        for what, body in _minimal_writes(ctx, without_meta(seen)):
            _write_refused(ctx, record, who, body, etag, what)
    if not minimal_writers:
        raise Skipped("预设中没有可以更新居民记录、且只得到限制处理中记录最小形式的主体",
                      "the preset has no principal that may update a resident record and "
                      "receives a restricted one only in its minimal form")
    # Who reads it whole still acts on it: the managing proxy asks for its erasure.
    resp = record.post("erasure-request", {"reason": "consent-withdrawn"}, agent)
    ctx.expect_status(resp, 200, zh="管理代理人为限制处理中的记录申请删除",
                      en="the managing proxy asks for the restricted record's erasure")
    record.refresh()
    # Until the erasure is carried out the record stays restricted: the same writers still
    # read only its minimal form and write nothing to it.
    for who in minimal_writers:
        got = record.read(who)
        seen = got.json() if got.status == 200 else None
        ctx.expect(isinstance(seen, dict) and not set(seen) - _minimal_members(ctx),
                   f"{who.name}（{who.role}）在申请删除之后读到的不再是最小形式",
                   f"{who.name} ({who.role}) no longer reads only the minimal form once "
                   "erasure is asked for")
        etag = got.headers.get("etag") or record.etag
        for what, body in _minimal_writes(ctx, without_meta(seen or {})):
            _write_refused(ctx, record, who, body, etag,
                           (f"申请删除之后，{what[0]}", f"after erasure was asked for, {what[1]}"))


def _restricted_in_a_grid(ctx: KitContext, agent: Principal) -> Tracked:
    """A fresh restricted resident record whose manage-data proxy is ``agent`` (it asked,
    staff decided), in a grid worker's grid when the preset names one, so that a grid-scoped
    writer reads it too."""
    doc = resident(ctx, [proxy(ctx, agent, ["manage-data", "receive-information"])])
    worker = ctx.optional(ROLE.grid_worker)
    grid = next((g for g in (worker.grids if worker else ())
                 if g.startswith(ctx.preset.community + "-")), None)
    for membership in doc.get("memberships") or () if grid else ():
        membership.update(community=ctx.preset.community, grid=grid)
    record = Tracked(ctx, ctx.ensure_valid(doc, "(resident record in a grid worker's grid)"))
    record.put(None, agent, restriction={"state": "restriction-requested"})
    asked = record.doc["restriction"]
    # decided no earlier than asked, by the server's clock (which recorded requestedAt)
    record.put(restriction={**asked, "state": "restricted",
                            "decidedAt": asked.get("requestedAt") or ctx.moment()})
    return record


def _minimal_writes(ctx: KitContext, seen: dict[str, Any]
                    ) -> Iterator[tuple[tuple[str, str], dict[str, Any]]]:
    """Updates of what a writer read of a restricted record, each with what it does in both
    languages: sent back as read, and changing each member of the minimal form that a write
    could change."""
    yield ("原样送回所读到的内容", "sending back what it read"), copy.deepcopy(seen)
    codelist = ctx.spec.schema(RESIDENT)["properties"]["status"].get("x-codelist")
    others = [s for s in ctx.spec.codelist(codelist) if s != seen.get("status")] \
        if codelist else []
    if others:
        yield ((f"把 status 改为 {others[0]}", f"setting status to {others[0]}"),
               {**copy.deepcopy(seen), "status": others[0]})
    ref = {"system": "https://conformance.example/ledger", "value": ctx.new_id()[:8]}
    yield (("增加一个外部标识", "adding an external id"),
           {**copy.deepcopy(seen), "externalRefs": [*(seen.get("externalRefs") or []), ref]})


def _write_refused(ctx: KitContext, record: Tracked, who: Principal, body: dict[str, Any],
                   etag: str, what: tuple[str, str]) -> None:
    """``who`` PUTting ``body`` gets 403 resident.restricted, and the record, its version
    included, stays as it was."""
    before = record.refresh()
    resp = ctx.call("PUT", record.path, who, json_body=body, headers={"If-Match": etag})
    zh = f"{who.name}（{who.role}）只得到限制处理中记录的最小形式，其更新（{what[0]}）"
    en = (f"{who.name} ({who.role}), given only the minimal form of the restricted record, "
          f"updating it ({what[1]})")
    ctx.expect_status(resp, 403, zh=zh, en=en)
    expect_code(ctx, ctx.expect_problem(resp, 403), RESTRICTED)
    after = record.refresh()
    ctx.expect(after == before, f"{zh}被拒绝，却改变了记录",
               f"{en} was refused but changed the record")


@check("/req/residents/proxy-scope", needs=(ROLE.proxy,))
def test_proxy_scope(ctx: KitContext) -> None:
    agent = ctx.principal(ROLE.proxy)
    every = ["submit-issues", "follow-up-issues", "participate-consultations", "vote",
             "receive-information", "manage-data"]
    narrow = Tracked(ctx, resident(ctx, [proxy(ctx, agent, ["receive-information"])]))
    wide = Tracked(ctx, resident(ctx, [proxy(ctx, agent, every)]))
    lapsed = Tracked(ctx, resident(ctx, [proxy(ctx, agent, every, since=-90, until=-1)]))

    def acting_for(record: Tracked) -> dict[str, Any]:
        return resident_actor(str(agent.resident), "代理人", ROLE.proxy,
                              onBehalfOf=resident_ref(record.id))

    def proposing_for(record: Tracked) -> dict[str, Any]:
        # A proposer entry of his is him (/req/consultations/proposers-fixed): only the role
        # and whom he acts for, the server fills in the rest from the credential.
        return {"role": ROLE.proxy, "onBehalfOf": resident_ref(record.id)}

    for record, allowed in ((narrow, False), (lapsed, False), (wide, True)):
        label = {narrow.id: "receive-information only", lapsed.id: "expired",
                 wide.id: "every scope"}[record.id]
        want = 201 if allowed else 403
        resp = ctx.create(submitted_by(ctx, acting_for(record)), agent)
        ctx.expect_status(resp, want, zh=f"代理人代为提交诉求（{label}）",
                          en=f"the proxy submits an issue ({label})")
        resp = ctx.create(proposed(ctx, [proposing_for(record)]), agent)
        ctx.expect_status(resp, want, zh=f"代理人代为提议协商（{label}）",
                          en=f"the proxy proposes a consultation ({label})")
        if record is not wide:
            # one resident's authorisation does not carry another named beside her
            joint = proposed(ctx, [proposing_for(wide), proposing_for(record)])
            joint["origin"]["type"] = "joint-proposal"
            resp = ctx.create(ctx.ensure_valid(joint, "(joint proposal)"), agent)
            ctx.expect_status(resp, 403, zh=f"代理人代为联名提议，其中一位未授权（{label}）",
                              en=f"the proxy proposes jointly for one who authorised him "
                                 f"and one who did not ({label})")
        if record is not lapsed:
            resp = record.put(_corrected(ctx, record.doc, "777"), agent, expect=None)
            ctx.expect_status(resp, 200 if allowed else 403, zh=f"代理人更正记录（{label}）",
                              en=f"the proxy corrects the record ({label})")
        helper = {"role": ROLE.grid_worker, "name": "网格员", "userId": "kit-grid-worker",
                  "onBehalfOf": resident_ref(record.id)}
        # Published, so that the proxy sees it even when not in force
        # (/req/privacy/issue-publication): what is tested is the right to withdraw.
        staffed = Tracked(ctx, submitted_by(ctx, helper, publication={"published": True}))
        resp = staffed.post("actions/withdraw", {}, agent)
        ctx.expect_status(resp, 200 if allowed else 403, zh=f"代理人撤回诉求（{label}）",
                          en=f"the proxy withdraws an issue ({label})")


def _authorising(ctx: KitContext, entry: dict[str, Any], **consent: Any) -> dict[str, Any]:
    """A fresh resident whose only proxy is ``entry``, recorded by a consent (its consentId)
    granted ten days ago, with ``consent`` changed."""
    record = {"id": ctx.new_id(), "purpose": first_code(ctx, "consent-purpose"),
              "legalBasis": first_code(ctx, "legal-basis"), "scope": ["/proxies/0"],
              "status": first_code(ctx, "consent-status"), "grantedAt": ctx.moment(-10),
              **consent}
    doc = resident(ctx)
    doc["proxies"] = [{**entry, "consentId": record["id"]}]
    doc["consents"] = [*(doc.get("consents") or []), record]
    return ctx.ensure_valid(doc, "(resident whose proxy a consent records)")


@check("/req/residents/proxy-scope", needs=(ROLE.proxy,))
def test_proxy_ends_with_its_consent(ctx: KitContext) -> None:
    """A proxy whose consentId names a consent not in force is not in force: she ends it by
    withdrawing that consent, the only part of it she may change herself."""
    agent = ctx.principal(ROLE.proxy)
    every = ["submit-issues", "follow-up-issues", "receive-information", "manage-data"]
    entry = proxy(ctx, agent, every)
    statuses = list(ctx.spec.codelist("consent-status"))
    cases = {
        "consent in force": (_authorising(ctx, entry), True),
        "consent withdrawn": (_authorising(ctx, entry, status=statuses[1],
                                           withdrawnAt=ctx.moment(-1)), False),
        "consent granted only from tomorrow": (_authorising(ctx, entry, grantedAt=ctx.moment(1)),
                                               False),
        "consent expired": (_authorising(ctx, entry, expiresAt=ctx.moment(-1)), False),
    }
    for label, (doc, holds) in cases.items():
        record = Tracked(ctx, doc)
        ctx.expect_status(record.read(agent), 200 if holds else 404,
                          zh=f"代理人读取（{label}）", en=f"the proxy reads ({label})")
        acting = resident_actor(str(agent.resident), "代理人", ROLE.proxy,
                                onBehalfOf=resident_ref(record.id))
        ctx.expect_status(ctx.create(submitted_by(ctx, acting), agent), 201 if holds else 403,
                          zh=f"代理人代为提交诉求（{label}）",
                          en=f"the proxy submits an issue ({label})")
        if not holds:
            continue
        consents = [dict(c) for c in record.doc.get("consents") or ()]
        for consent in consents:
            if consent.get("id") == record.doc["proxies"][0].get("consentId"):
                consent.update(status=statuses[1], withdrawnAt=ctx.moment())
        record.put(consents=consents)
        got = record.read(agent)
        ctx.expect_status(got, 404, zh="同意撤回后代理人读取", en="the proxy reads once the "
                          "consent was withdrawn")
        ctx.expect_problem(got, 404)
        ctx.expect(record.id not in listed(ctx, agent, [record.id]),
                   "同意撤回后代理人的列表中仍有该居民",
                   "after the consent was withdrawn the proxy's list still shows the resident")
        ctx.expect_status(ctx.create(submitted_by(ctx, acting), agent), 403,
                          zh="同意撤回后代理人代为提交诉求",
                          en="the proxy submits an issue after the consent was withdrawn")


@check("/req/residents/proxy-scope")
def test_proxy_actor_by_organisation(ctx: KitContext) -> None:
    """A proxy named as an actor is the principal of that role, organisation and user id: a
    user id is unique only within its organisation, so another organisation's (or no
    organisation's) holder of it is somebody else. Needs the preset's test issuer."""
    proxy_role = ROLE.proxy
    user = "kit-" + ctx.new_id()[:12]
    # The record names an organisation the server knows: the test issuer's own.
    home = ((ctx.preset.jwt or {}).get("claims") or {}).get("organisation")
    if not isinstance(home, dict):
        raise Skipped("预设的 JWT 测试签发方声明中没有组织",
                      "the preset's test issuer claims no organisation")
    elsewhere = {"id": "kit-org-" + ctx.new_id()[:8], "name": "测试组织乙",
                 "type": home.get("type") or first_code(ctx, "organisation-type")}

    def holder(label: str, organisation: dict[str, Any] | None) -> Principal:
        return minted(ctx, label, role=proxy_role, sub=user, userId=None, name="测试代理人",
                      resident=ctx.new_id(), communities=[ctx.preset.community],
                      organisation=organisation, grids=None)

    named = holder("the proxy the record names", home)
    entry = {"id": ctx.new_id(),
             "actor": {"role": proxy_role, "name": "测试代理人", "userId": user,
                       "organisation": home},
             "relationship": first_code(ctx, "resident-relationship"),
             "scope": ["receive-information", "submit-issues"],
             "basis": "written-authorisation", "validFrom": ctx.moment(-30)}
    record = Tracked(ctx, resident(ctx, [entry]))
    ctx.expect_status(record.read(named), 200, zh="记录所指的代理人读取",
                      en="the proxy the record names reads it")
    for label, organisation in (("another organisation", elsewhere), ("no organisation", None)):
        other = holder(f"user {user} of {label}", organisation)
        got = record.read(other)
        ctx.expect_status(got, 404, zh=f"用户标识相同、组织不同（{label}）的代理人读取",
                          en=f"a proxy of the same user id and {label} reads")
        ctx.expect_problem(got, 404)
        ctx.expect(record.id not in listed(ctx, other, [record.id]),
                   f"用户标识相同、组织不同（{label}）的代理人列表中有该居民",
                   f"a proxy of the same user id and {label} lists the resident")
        acting = {"role": proxy_role, "onBehalfOf": resident_ref(record.id)}
        ctx.expect_status(ctx.create(submitted_by(ctx, acting), other), 403,
                          zh=f"用户标识相同、组织不同（{label}）的代理人代为提交诉求",
                          en=f"a proxy of the same user id and {label} submits for her")


@check("/req/residents/consent-append-only")
def test_consent_append_only(ctx: KitContext) -> None:
    consent = {"id": ctx.new_id(), "purpose": "notifications", "legalBasis": "consent",
               "scope": ["/contactPoints"], "status": "granted", "grantedAt": ctx.moment(-10)}
    doc = resident(ctx)
    doc["consents"] = [*(doc.get("consents") or []), consent]
    record = Tracked(ctx, ctx.ensure_valid(doc, "(resident with consents)"))
    index = len(record.doc["consents"]) - 1
    changes: list[tuple[str, Any]] = [
        ("delete", None), ("id", ctx.new_id()), ("purpose", "statistics"),
        ("legalBasis", "separate-consent"), ("scope", ["/contactPoints", "/address"]),
        ("grantedAt", ctx.moment(-20)),
    ]
    for member, value in changes:
        body = without_meta(record.doc)
        if member == "delete":
            del body["consents"][index]
        else:
            body["consents"][index][member] = value
        ctx.ensure_valid(body, f"(consent {member} changed)")
        record.refuse_put(body, 422, f"consent {member}")
    body = without_meta(record.doc)
    body["consents"][index].update(status="withdrawn", withdrawnAt=ctx.moment())
    body["consents"].append({**consent, "id": ctx.new_id(), "grantedAt": ctx.moment(-1)})
    record.put(ctx.ensure_valid(body, "(consent withdrawn, one added)"))
    body = without_meta(record.doc)
    body["consents"][index]["withdrawnAt"] = ctx.moment(-5)
    record.refuse_put(ctx.ensure_valid(body, "(withdrawnAt moved)"), 422,
                      "a withdrawn consent's withdrawnAt moved")


#: how long the minor check's writes and reads may take: the days it counts on hold that long
_CHECK_TAKES = timedelta(minutes=10)


def _years_before(day: date, years: int) -> date:
    """``day`` ``years`` years earlier (28 February for a 29 February that year lacks)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _turning_on(day: date, age: int) -> date:
    """The birth date of one who turns ``age`` on ``day`` (the day after, 1 March, when
    ``day`` is a 29 February her birth year lacked): not of that age before ``day``."""
    try:
        return day.replace(year=day.year - age)
    except ValueError:
        return date(day.year - age, 3, 1)


def _born_turning(day: date, age: int) -> list[date]:
    """Every birth date whose ``age``-th birthday is ``day``: 29 February's too on a 1 March
    of a year without one."""
    year = day.year - age
    leap_day = (day.month, day.day) == (2, 29)
    found = [] if leap_day and not calendar.isleap(year) else [day.replace(year=year)]
    if (day.month, day.day) == (3, 1) and calendar.isleap(year) and not calendar.isleap(day.year):
        found.append(date(year, 2, 29))
    return found


@check("/req/residents/minor-sensitive")
def test_minor_sensitive(ctx: KitContext) -> None:
    minor = int(ctx.spec.parameter("/req/residents/minor-sensitive", "age"))
    # The days by the server's clock, which decides her age, as they stand to the check's end.
    now = ctx.server_now()
    today = (now + _CHECK_TAKES).astimezone(CHINA_STANDARD_TIME).date()
    child = max(minor - 4, 1)
    young = _years_before(today, child)
    # A child, and one who is of age only from tomorrow: an age by calendar years, or by
    # another day than China's, would already count her in. And a child whose record gives
    # her birth date only within her full citizen ID number: an age read from birthDate
    # alone takes her for an adult.
    observed = 0
    for label, born, by_number in (
            ((f"{child} 周岁", f"aged {child}"), young, False),
            ((f"明天满 {minor} 周岁", f"{minor} tomorrow"),
             _turning_on(today + timedelta(days=1), minor), False),
            ((f"{child} 周岁，只有身份号码中有出生日期", f"aged {child}, her birth date only "
              "in her citizen ID number"), young, True)):
        observed += _minor_treated(ctx, minor, born, label, by_number=by_number)
    if not observed:
        raise Skipped(
            "预设中能读取居民记录的主体，其受众对个人信息和敏感信息的处理都相同"
            "（见 privacy.json），无法观察本需求",
            "every preset principal that may read the record has an audience treating personal "
            "and sensitive data alike (privacy.json), so the rule cannot be observed",
        )
    _of_age_today(ctx, minor, now)


def _minor_record(ctx: KitContext, minor: int, born: date, *, by_number: bool = False
                  ) -> dict[str, Any]:
    """A resident record born on ``born``, of nothing but herself: no proxies, household or
    markers, and her birth date given once, as birthDate or, ``by_number``, as the date in
    her full citizen ID number (no other identity number, whose date would compete)."""
    # In a grid worker's grid, so that a grid-scoped reader may observe the rule too.
    doc = in_worker_grid(ctx, resident(ctx))
    for member in ("identityDocuments", "vulnerabilities", "household", "proxies"):
        doc.pop(member, None)
    if by_number:
        doc.pop("birthDate", None)
        doc["identityDocuments"] = [citizen_card(ctx, born)]
    else:
        doc["birthDate"] = born.isoformat()
    doc["consents"] = [c for c in doc.get("consents") or []
                       if not any(str(s).startswith(("/proxies", "/vulnerabilities",
                                                     "/identityDocuments", "/household"))
                                  for s in c.get("scope") or [])]
    return ctx.ensure_valid(doc, f"(a resident born {born}, under {minor} or just of age)")


def _observers(ctx: KitContext, doc: dict[str, Any]) -> Iterator[tuple[Principal, str]]:
    """The preset's principals, with their audiences, for whom treating ``doc``'s personal
    data as sensitive changes something."""
    treatments = ctx.spec.privacy["treatments"]
    for who in ctx.preset.principals.values():
        audience = ctx.audience(who, doc)
        rule = treatments[audience]
        if audience != ctx.own_audience and rule["personal"] != rule["sensitive"]:
            yield who, audience


def _minor_treated(ctx: KitContext, minor: int, born: date, label: tuple[str, str], *,
                   by_number: bool = False) -> int:
    """Whether a resident born on ``born``, under ``minor``, has her personal data treated as
    sensitive for every reader; how many readers could observe it. ``label`` says who she is
    (in Chinese and English); ``by_number``: her record gives her birth date only in her
    citizen ID number."""
    doc = _minor_record(ctx, minor, born, by_number=by_number)
    ctx.created(doc)
    treatments = ctx.spec.privacy["treatments"]
    observed = 0
    for who, audience in _observers(ctx, doc):
        resp = ctx.read(RESIDENT, doc["id"], who)
        if resp.status != 200:
            continue
        rule = treatments[audience]
        observed += 1
        got = resp.json() or {}
        unredacted = [] if rule["sensitive"] == "keep" else personal_shown(
            ctx, RESIDENT, doc, got)
        where = pointer(unredacted[0]) if unredacted else ""
        ctx.expect(not unredacted,
                   f"{who.name}（{audience}）收到了未成年人（{label[0]}，生于 {born}）"
                   f"未脱敏的个人信息 {where}",
                   f"{who.name} ({audience}) received the personal data {where} of the minor "
                   f"({label[1]}, born {born}) unredacted")
    return observed


def _of_age_today(ctx: KitContext, minor: int, now: datetime) -> None:
    """One who turned ``minor`` at 00:00 today in China is redacted as her twin a year older
    is, while the date in UTC is still yesterday's: an age by the UTC date still counts her
    a minor. The two dates differ only from 16:00 to 24:00 UTC (00:00 to 08:00 in China); at
    any other time of the run this part is left out, and the pass says so."""
    utc = now.astimezone(UTC)
    today = now.astimezone(CHINA_STANDARD_TIME).date()
    born = _born_turning(today, minor)
    if utc.date() == today or (utc + _CHECK_TAKES).date() != utc.date():
        clock = now.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M")
        ctx.remark(f"未能检查北京时间今天年满 {minor} 周岁的居民：服务器时钟为北京时间 {clock}；"
                   "在北京时间 0 时至 7 时 50 分（UTC 16:00 至 23:50，UTC 日期仍是前一天）运行"
                   "才能检查",
                   f"one who turns {minor} today in China Standard Time was not checked: the "
                   f"server's clock reads {clock} China Standard Time; a run between 00:00 and "
                   "07:50 China Standard Time (16:00 to 23:50 UTC, when the date in UTC is still "
                   "the day before) checks it")
        return
    if not born:
        ctx.remark(f"未能检查北京时间今天年满 {minor} 周岁的居民：今天（{today}）没有人年满 "
                   f"{minor} 周岁",
                   f"one who turns {minor} today in China Standard Time was not checked: no one "
                   f"turns {minor} today ({today})")
        return
    plan = compile_plan(ctx.spec, RESIDENT)
    for birthday in born:
        doc = _minor_record(ctx, minor, birthday)
        twin = {**copy.deepcopy(doc), "id": ctx.new_id(),
                "birthDate": _years_before(birthday, 1).isoformat()}
        ctx.created(doc)
        ctx.created(ctx.ensure_valid(twin, "(her twin a year older)"))
        for who, audience in _observers(ctx, doc):
            reads = [ctx.read(RESIDENT, d["id"], who) for d in (doc, twin)]
            if any(r.status != 200 for r in reads):
                continue
            got, older = ((r.json() or {}) for r in reads)
            for path, cls, _ in plan.pipl:
                if cls != "personal":
                    continue
                for where, _ in values_at(doc, path):
                    mine = [v for w, v in values_at(got, path) if w == where]
                    hers = [v for w, v in values_at(older, path) if w == where]
                    # Her birth date differs from her twin's: only whether it is shown counts.
                    alike = (bool(mine) == bool(hers) if where == ("birthDate",)
                             else mine == hers)
                    ctx.expect(alike,
                               f"{who.name}（{audience}）读到的 {birthday} 出生、北京时间今天"
                               f"（{today}）年满 {minor} 周岁的居民的 {pointer(where)}，与大她一岁"
                               f"的居民不同：她仍被当作未成年人（按 UTC 日期，今天还是 "
                               f"{utc.date()}）",
                               f"{who.name} ({audience}) reads {pointer(where)} of the resident "
                               f"born {birthday}, {minor} since 00:00 today ({today}) in China "
                               f"Standard Time, otherwise than that of her twin a year older: "
                               f"she is still treated as a minor (by the date in UTC, "
                               f"{utc.date()})")


def _grids(ctx: KitContext) -> tuple[str, str]:
    """Two grids of the community: the city's own when the server runs a profile (it refuses
    any other, /req/profiles/grid-filter), else two new ones."""
    profile = running_profile(ctx)
    if profile is not None:
        own = [code for code, g in profile.grids.items()
               if g.get("divisionCode") == ctx.preset.community]
        if len(own) >= 2:
            return own[0], own[1]
    prefix = f"{ctx.preset.community}-K"
    return prefix + ctx.new_id()[:6].upper(), prefix + ctx.new_id()[:6].upper()


def _membership(ctx: KitContext, grid: str, until: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"community": ctx.preset.community, "grid": grid,
                            "residencyType": "registered-resident", "since": "2020-01-01"}
    if until is not None:
        item["until"] = until
    return item


@check("/req/residents/list-filters")
def test_resident_filters(ctx: KitContext) -> None:
    grid, other = _grids(ctx)
    # The day is the server's, in China Standard Time, as it stands to the check's end.
    now = ctx.server_now().astimezone(CHINA_STANDARD_TIME)
    today = now.date()
    yesterday, later = (today - timedelta(days=1)).isoformat(), (today + timedelta(days=30)
                                                                 ).isoformat()
    cases = {
        "in force": [_membership(ctx, grid)],
        "ended yesterday": [_membership(ctx, grid, yesterday)],
        "ends later": [_membership(ctx, grid, later)],
        "other grid": [_membership(ctx, other)],
    }
    selected = {"in force", "ends later"}
    if (now + _CHECK_TAKES).date() == today:
        # until is the last day in force: one ending today is still in the grid.
        cases["ends today"] = [_membership(ctx, grid, today.isoformat())]
        selected.add("ends today")
    else:
        clock = now.strftime("%Y-%m-%d %H:%M")
        ctx.remark(f"未能检查今天结束的网格归属：服务器时钟为北京时间 {clock}，"
                   "检查结束前日期会改变",
                   "a grid membership ending today was not checked: the server's clock reads "
                   f"{clock} China Standard Time, and the day would change before the check "
                   "ends")
    ids: dict[str, str] = {}
    for label, memberships in cases.items():
        doc = resident(ctx, memberships=memberships)
        ctx.created(doc)
        ids[doc["id"]] = label
    pseudonym = "hmac-sha256:" + "".join(ctx.rng.choice("0123456789abcdef") for _ in range(64))
    carrier = resident(ctx, identityDocuments=[{"type": "citizen-id",
                                                "masked": "110105********0011",
                                                "pseudonym": pseudonym}])
    ctx.created(carrier)
    ids[carrier["id"]] = "pseudonym"
    got = {ids[i] for i in listed(ctx, ctx.staff, ids, grid=grid)}
    ctx.expect(got == selected,
               f"按网格过滤得到 {plain(sorted(got), 'zh')}，应为 {plain(sorted(selected), 'zh')}",
               f"filtering by grid gave {plain(sorted(got))}, expected {plain(sorted(selected))}")
    got = {ids[i] for i in listed(ctx, ctx.staff, ids, pseudonym=pseudonym)}
    ctx.expect(got == {"pseudonym"}, f"按假名过滤得到 {plain(sorted(got), 'zh')}",
               f"filtering by pseudonym gave {plain(sorted(got))}")
    resp = ctx.call("GET", "/residents", ctx.staff, params={"pseudonym": pseudonym})
    items = (resp.json() or {}).get("items") or []
    ctx.expect(all(any(d.get("pseudonym") == pseudonym for d in i.get("identityDocuments") or [])
                   for i in items), "按假名过滤返回了其他居民",
               "filtering by pseudonym returned other residents")


@check("/req/residents/name-on-write")
def test_name_on_write(ctx: KitContext) -> None:
    doc = resident(ctx)
    doc.pop("name")
    ctx.ensure_valid(doc, "(resident without a name)")
    refused_on_create(ctx, doc, 422, "without a name")
    record = Tracked(ctx, resident(ctx))
    body = without_meta(record.doc)
    body.pop("name")
    record.refuse_put(body, 422, "PUT without name")


@check("/req/residents/preferred-contact-unique")
def test_preferred_contact(ctx: KitContext) -> None:
    doc = resident(ctx)
    doc["contactPoints"] = [{"type": "mobile", "phone": "+8613800138000", "preferred": True},
                            {"type": "mobile", "phone": "+8613900139000", "preferred": True}]
    expect_pointer(ctx, ctx.expect_problem(ctx.create(doc), 422), "/contactPoints")


@check("/req/residents/grid-in-community")
def test_resident_grid(ctx: KitContext) -> None:
    doc = resident(ctx)
    doc["memberships"] = [_membership(ctx, other_community(ctx) + "-01")]
    expect_pointer(ctx, ctx.expect_problem(ctx.create(doc), 422), "/memberships")


@check("/req/residents/pseudonym-consistent")
def test_pseudonym_consistent(ctx: KitContext) -> None:
    doc = with_number(ctx)
    document = next(d for d in doc["identityDocuments"] if d.get("number"))
    document["pseudonym"] = "hmac-sha256:" + "0" * 64
    resp = ctx.create(doc)
    if resp.status == 201 and ctx.pseudonym_key is None:
        raise Skipped(
            "服务器接收了与号码不符的假名；套件不知道服务器是否持有城市共享密钥，请用 "
            "--pseudonym-key-file 给出密钥后重新运行",
            "the server accepted a pseudonym that does not match the number; the kit cannot "
            "tell whether the server holds the city's shared key: run again with "
            "--pseudonym-key-file",
        )
    expect_pointer(ctx, ctx.expect_problem(resp, 422), "/identityDocuments")
    if ctx.pseudonym_key is not None:
        doc = with_number(ctx)
        document = next(d for d in doc["identityDocuments"] if d.get("number"))
        document["pseudonym"] = identifiers.citizen_id_pseudonym(document["number"],
                                                                 ctx.pseudonym_key)
        ctx.expect_status(ctx.create(doc), 201, zh="与号码相符的假名应被接收",
                          en="a pseudonym that matches the number is accepted")


@check("/req/residents/erasure-on-request", needs=(ROLE.proxy,))
def test_erasure_on_request(ctx: KitContext) -> None:
    grounds = set(ctx.spec.parameter("/req/residents/erasure-on-request", "legalGrounds"))
    other = next((c for c in ctx.spec.codelist("restriction-reason") if c not in grounds), None)
    agent = ctx.principal(ROLE.proxy)
    record = Tracked(ctx, resident(ctx, [proxy(ctx, agent, ["manage-data"])]))
    for body in ({}, {"reason": other} if other else {}):
        resp = record.post("erase", body)
        ctx.expect(resp.status == 409, f"未经申请的删除得到 {resp.status}，应为 409",
                   f"an erasure nobody asked for got {resp.status}, not 409")
        ctx.expect_problem(resp, 409)
    restricted = without_meta(record.refresh())
    restricted["restriction"] = {"state": "restricted", "requestedAt": ctx.moment(-1),
                                 "decidedAt": ctx.moment()}
    resp = record.put(restricted, expect=None)
    ctx.expect(resp.status == 409, f"未经申请的限制处理得到 {resp.status}，应为 409",
               f"a restriction nobody asked for got {resp.status}, not 409")
    state = (record.refresh().get("restriction") or {}).get("state", "none")
    ctx.expect(state == "none", f"被拒绝之后 restriction.state 变为 {state}",
               f"after the refusals restriction.state became {state}")
    ctx.expect_status(record.post("erasure-request", {}, agent), 200,
                      zh="代理人申请删除", en="the proxy asks for erasure")
    record.refresh()
    ctx.expect_status(record.post("erase", {}), 200, zh="申请之后工作人员执行删除",
                      en="staff carry out the erasure asked for")
