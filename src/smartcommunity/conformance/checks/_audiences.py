"""Audiences beyond the community's own staff: hotline intake, the system principal, and
departments reading what a resident's consent shares with them. Each check changes nothing a
later check relies on; the consent check withdraws the consent it granted and re-reads every
path."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from ...pointers import pointer
from ...validation import compile_plan
from .._client import Response
from .._context import KitContext
from .._preset import Principal
from .._registry import Skipped, check
from ._people import citizen_card, held_resident, listed, proxy, resident, with_number
from ._shared import (
    ISSUE,
    RESIDENT,
    ROLE,
    Tracked,
    audit_entries,
    department_ref,
    dispatch,
    first_code,
    minted,
    organisation,
    personal_shown,
    plain,
    resident_actor,
    resident_ref,
    submitted_by,
    without_meta,
)
from ._watching import feed, subject, tail

REGULATOR = "regulator"


def _record_access(ctx: KitContext) -> dict[str, Any]:
    return dict(ctx.spec.privacy.get("recordAccess") or {})


def _tagged_members(ctx: KitContext, rt: str) -> frozenset[str]:
    """The top-level members ``rt``'s schema tags with ``x-pipl``."""
    return frozenset(str(path[0]) for path, _, _ in compile_plan(ctx.spec, rt).pipl if path)


def _about(ctx: KitContext, events: list[dict[str, Any]], rt: str, rid: str
           ) -> list[dict[str, Any]]:
    wanted = subject(ctx, rt, rid)
    return [e for e in events if e.get("subject") == wanted]


def _confidential_issue(ctx: KitContext, tag: str) -> tuple[Tracked, dict[str, str]]:
    """An issue staff recorded for a resident whose identity is confidential, and the values
    that identify the reporter."""
    rid = held_resident(ctx)  # staff act only for a resident whose record they read
    secrets = {"name": f"保密人{tag[:6]}",
               "phone": "+86139" + str(ctx.rng.randrange(10**7, 10**8)), "resident": rid}
    actor = {"role": ctx.staff_role, "onBehalfOf": resident_ref(rid)}
    issue = Tracked(ctx, submitted_by(ctx, actor, reporterDisclosure="confidential",
                                      reporterContact={"name": secrets["name"],
                                                       "phone": secrets["phone"]}))
    return issue, secrets


def _shown(secrets: dict[str, str], payload: Any) -> list[str]:
    text = json.dumps(payload, ensure_ascii=False)
    return sorted(k for k, v in secrets.items() if v in text)


@check("/req/privacy/intake-minimum")
def test_intake_minimum(ctx: KitContext) -> None:
    necessary = {a: rules for a, rules in (ctx.spec.privacy.get("necessaryMembers") or {}).items()
                 if isinstance(rules, dict) and RESIDENT in rules}
    roles = {r for r, a in ctx.spec.privacy["roleAudience"].items() if a in necessary}
    lookup = set(_record_access(ctx).get("lookupRoles") or ())
    operators = ctx.serving(*sorted(roles | lookup))
    if not operators:
        raise Skipped(f"预设中没有服务本社区的 {plain(sorted(roles | lookup), 'zh')} 主体",
                      f"the preset has no principal of {plain(sorted(roles | lookup))} serving the "
                      "community")
    for who in operators:
        cursor = tail(ctx, who) if who.role in lookup else None
        record = Tracked(ctx, with_number(ctx))
        audience = ctx.audience(who, record.doc)
        got = record.read(who)
        ctx.expect_status(got, 200, zh=f"{who.name} 按 id 读取居民",
                          en=f"{who.name} reads a resident by id")
        body = got.json()
        if audience in necessary:
            extra = sorted((set(body) & _tagged_members(ctx, RESIDENT))
                           - set(necessary[audience][RESIDENT]))
            ctx.expect(not extra,
                       f"{who.name}（{who.role}）得到了受理不需要的 {plain(extra, 'zh')}",
                       f"{who.name} ({who.role}) receives {plain(extra)}, "
                       "which intake does not need")
        ctx.expect(without_meta(body) == without_meta(ctx.redact(record.doc, audience)),
                   f"{who.name} 读到的居民记录与受众 {audience} 的脱敏结果不同",
                   f"{who.name}'s read of the resident differs from the {audience} redaction")
        if who.role in lookup:
            resp = ctx.call("GET", ctx.collection_path(RESIDENT), who,
                            params={"community": ctx.preset.community, "limit": "10"})
            ctx.expect_problem(resp, 403)
            assert cursor is not None
            shown = _about(ctx, feed(ctx, who, cursor), RESIDENT, record.id)
            ctx.expect(not shown, f"变更订阅向 {who.name} 给出了居民记录的 {len(shown)} 个事件",
                       f"the feed gives {who.name} {len(shown)} events of a resident record")
        issue, _ = _confidential_issue(ctx, ctx.new_id())
        got = issue.read(who)
        ctx.expect_status(got, 200, zh=f"{who.name} 读取其受理的保密诉求",
                          en=f"{who.name} reads a confidential issue it takes in")
        ctx.expect((got.json() or {}).get("reporterContact") == issue.doc.get("reporterContact"),
                   f"{who.name} 作为受理人员没有得到诉求人联系方式",
                   f"{who.name}, intake staff, does not get the reporter's contact")


@check("/req/privacy/system-principal", needs=(ROLE.system,))
def test_system_principal(ctx: KitContext) -> None:
    for who in ctx.serving(ROLE.system) or [ctx.principal(ROLE.system)]:
        cursor = tail(ctx, who)
        issue, secrets = _confidential_issue(ctx, ctx.new_id())
        record = Tracked(ctx, with_number(ctx))
        values = {"name": str(record.doc.get("name"))}
        body = without_meta(record.doc)
        grounds = ctx.spec.parameter("/req/residents/erasure-on-request", "legalGrounds")
        body["restriction"] = {"state": "restricted", "reason": grounds[0],
                               "requestedAt": ctx.moment(), "decidedAt": ctx.moment()}
        record.put(body)
        paths: list[tuple[str, Any]] = []
        for path, resp in ((issue.path, issue.read(who)),
                           (f"{issue.path}/history", issue.read_history(who)),
                           (record.path, record.read(who))):
            ctx.expect_status(resp, 200, zh=f"{who.name} 读取 {path}", en=f"{who.name} reads "
                              f"{path}")
            paths.append((path, resp.json()))
        events = feed(ctx, who, cursor)
        paths.append(("feed", [e.get("data") for e in _about(ctx, events, ISSUE, issue.id)]))
        paths.append(("feed ", [e.get("data") for e in _about(ctx, events, RESIDENT,
                                                              record.id)]))
        for path, payload in paths:
            shown = _shown(secrets, payload) + _shown(values, payload)
            ctx.expect(not shown, f"{who.name}（{who.role}）从 {path} 得到了 {plain(shown, 'zh')}",
                       f"{who.name} ({who.role}) learns {plain(shown)} from {path}")


def _shared_consent(ctx: KitContext, purpose: str, scope: list[str], **changes: Any
                    ) -> dict[str, Any]:
    codes = list(ctx.spec.codelist("consent-status"))
    return {"id": ctx.new_id(), "purpose": purpose,
            "legalBasis": next(iter(ctx.spec.codelist("legal-basis"))), "scope": scope,
            "status": codes[0], "grantedAt": ctx.moment(-1), **changes}


def _handling(ctx: KitContext, dept: Principal, shared: Mapping[str, Any],
              actor: dict[str, Any], who: Principal | None = None) -> None:
    """Have ``dept`` handle an issue ``actor`` submits (as ``who``, default staff) with a
    disclosure that does not withhold the reporter: staff accept it and dispatch it to
    ``dept``."""
    disclosed = next(c for c in ctx.spec.codelist("reporter-disclosure")
                     if c not in (shared.get("withheldDisclosures") or ()))
    issue = Tracked(ctx, submitted_by(ctx, actor, reporterDisclosure=disclosed), who)
    issue.act("accept")
    dispatch(ctx, issue, dept)


def _read_as_handling(ctx: KitContext, dept: Principal, record: Tracked,
                      shared: Mapping[str, Any]) -> Response:
    """``record`` as ``dept`` reads it once it handles an issue of hers (staff submit one on
    her behalf): what a consent shared with departments gives it."""
    _handling(ctx, dept, shared, {"role": ctx.staff_role, "onBehalfOf": resident_ref(record.id)})
    return record.read(dept)


def _sharing(ctx: KitContext, purpose: str, rid: str, proxies: list[dict[str, Any]],
             **consent: Any) -> dict[str, Any]:
    """A fresh resident ``rid`` with ``proxies``, whose consent (granted yesterday, with
    ``consent`` over it) shares her name with departments."""
    doc = resident(ctx, proxies, id=rid)
    doc["consents"] = [c for c in doc.get("consents") or () if c.get("purpose") != purpose]
    doc["consents"].append(_shared_consent(ctx, purpose, ["/name"], **consent))
    return ctx.ensure_valid(doc, "(resident sharing her name with departments)")


def _consent_shared(ctx: KitContext) -> tuple[dict[str, Any], str]:
    """privacy.json's consent shared with departments and its purpose; skipped without one."""
    shared = _record_access(ctx).get("consentShared") or {}
    purpose = shared.get("purpose")
    if not purpose or ROLE.department not in (shared.get("roles") or ()):
        raise Skipped("privacy.json 没有规定向部门共享的同意",
                      "privacy.json names no consent shared with departments")
    return shared, str(purpose)


@check("/req/privacy/department-consent", needs=(ROLE.department,))
def test_department_consent(ctx: KitContext) -> None:
    shared, purpose = _consent_shared(ctx)
    (dept,) = ctx.principals_of(ROLE.department, 1)
    cursor = tail(ctx, dept)
    covered = ["/name", "/contactPoints"]
    doc = resident(ctx)
    doc["consents"] = [c for c in doc.get("consents") or () if c.get("purpose") != purpose]
    doc["consents"].append(_shared_consent(ctx, purpose, covered))
    record = Tracked(ctx, ctx.ensure_valid(doc, "(resident sharing with departments)"))
    got = _read_as_handling(ctx, dept, record, shared)
    ctx.expect_status(got, 200, zh="部门读取同意共享的居民记录",
                      en="the department reads the record the consent shares")
    body = got.json() or {}
    extra = sorted((set(body) & _tagged_members(ctx, RESIDENT)) - {c[1:] for c in covered})
    ctx.expect(not extra, f"部门得到了同意范围以外的 {plain(extra, 'zh')}",
               f"the department receives {plain(extra)}, outside the consent's scope")
    ctx.expect(body.get("name") == record.doc.get("name"), "部门没有得到同意范围内的姓名",
               "the department does not get the name the consent covers")
    before = _about(ctx, feed(ctx, dept, cursor), RESIDENT, record.id)
    ctx.expect(bool(before), "同意有效时部门在变更订阅中收不到该记录",
               "while the consent is in force the department gets no event of the record")
    consents = [dict(c) for c in record.doc.get("consents") or ()]
    for consent in consents:
        if consent.get("purpose") == purpose:
            consent.update(status=list(ctx.spec.codelist("consent-status"))[1],
                           withdrawnAt=ctx.moment())
    record.put(consents=consents)
    _nothing_after_withdrawal(ctx, dept, record, cursor)


@check("/req/privacy/department-consent", needs=(ROLE.department,))
def test_department_reads_her_not_her_proxy(ctx: KitContext) -> None:
    """An issue a proxy filed for a resident is hers: the department handling it reads her
    record through her consent, never the proxy's own through the proxy's, for acting for her
    shares nothing of theirs. Needs the preset's test issuer, for a proxy whose own record the
    kit makes."""
    shared, purpose = _consent_shared(ctx)
    (dept,) = ctx.principals_of(ROLE.department, 1)
    name = "测试代理人"
    agent = minted(ctx, "a proxy sharing their own record with departments", role=ROLE.proxy,
                   sub="kit-" + ctx.new_id()[:12], userId=None, name=name,
                   resident=ctx.new_id(), communities=[ctx.preset.community],
                   organisation=None, grids=None)
    own = Tracked(ctx, _sharing(ctx, purpose, str(agent.resident), []))
    her = Tracked(ctx, _sharing(ctx, purpose, ctx.new_id(),
                                [proxy(ctx, agent, ["submit-issues"])]))
    _handling(ctx, dept, shared, resident_actor(str(agent.resident), name, ROLE.proxy,
                                                onBehalfOf=resident_ref(her.id)), agent)
    ctx.expect_status(her.read(dept), 200, zh="部门读取代理人代为提交诉求的居民（其同意共享）",
                      en="the department reads the resident a proxy filed the issue for "
                         "(her consent shares)")
    got = own.read(dept)
    ctx.expect_status(got, 404, zh="部门读取代为提交诉求的代理人本人的记录",
                      en="the department reads the own record of the proxy who filed the "
                         "issue for her")
    ctx.expect_problem(got, 404)


def _other_department(ctx: KitContext, dept: Principal) -> dict[str, Any]:
    """A department other than ``dept``'s, as an organisation reference: another preset
    department's organisation when there is one, else another code of the department
    codelist."""
    other = next((p for p in ctx.preset.principals.values() if p.role == ROLE.department
                  and p.organisation and p.organisation != dept.organisation), None)
    if other is not None:
        return organisation(ctx, other)
    return department_ref(ctx, next(c for c in ctx.spec.codelist("department")
                                    if c != dept.organisation))


@check("/req/privacy/department-consent", needs=(ROLE.department,))
def test_department_consent_in_force(ctx: KitContext) -> None:
    """Only a consent in force shares, whatever its status says: one that lists the
    department among its recipients and ends later gives the read; one that has expired,
    lists only another department, or is granted from tomorrow gives the department handling
    her issue neither the record nor its events."""
    shared, purpose = _consent_shared(ctx)
    (dept,) = ctx.principals_of(ROLE.department, 1)
    cursor = tail(ctx, dept)
    named = Tracked(ctx, _sharing(ctx, purpose, ctx.new_id(), [],
                                  recipients=[organisation(ctx, dept)], expiresAt=ctx.moment(30)))
    ctx.expect_status(_read_as_handling(ctx, dept, named, shared), 200,
                      zh="部门读取其同意列其为接收方、尚未到期的居民",
                      en="the department reads a resident whose consent lists it as recipient "
                         "and has not expired")
    other = _other_department(ctx, dept)
    # Each consent below is granted by its status, and so in force for a server that reads
    # nothing else of it.
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("已于昨天到期", "expired yesterday",
         {"grantedAt": ctx.moment(-2), "expiresAt": ctx.moment(-1)}),
        (f"只列出另一部门 {other['id']} 为接收方",
         f"lists only another department, {other['id']}, as recipient", {"recipients": [other]}),
        ("自明天起才给予（grantedAt 为明天）", "is granted only from tomorrow (its grantedAt)",
         {"grantedAt": ctx.moment(1)})]
    refused: list[tuple[str, str, Tracked]] = []
    for zh, en, consent in cases:
        record = Tracked(ctx, _sharing(ctx, purpose, ctx.new_id(), [], **consent))
        got = _read_as_handling(ctx, dept, record, shared)
        ctx.expect_status(got, 404, zh=f"部门读取同意{zh}的居民的记录",
                          en=f"the department reads the record of a resident whose consent "
                             f"{en}")
        ctx.expect_problem(got, 404)
        refused.append((zh, en, record))
    events = feed(ctx, dept, cursor)
    for zh, en, record in refused:
        shown = _about(ctx, events, RESIDENT, record.id)
        ctx.expect(not shown, f"居民的同意{zh}，变更订阅仍向部门给出其记录的 {len(shown)} 个事件",
                   f"the feed gives the department {len(shown)} events of the record of a "
                   f"resident whose consent {en}")


def _nothing_after_withdrawal(ctx: KitContext, dept: Principal, record: Tracked,
                              cursor: str) -> None:
    ctx.expect_problem(record.read(dept), 404)
    ctx.expect(record.id not in listed(ctx, dept, [record.id]),
               "同意撤回后部门的列表中仍有该居民", "after withdrawal the department's list "
               "still shows the resident")
    after = _about(ctx, feed(ctx, dept, cursor), RESIDENT, record.id)
    ctx.expect(not after, f"同意撤回后变更订阅仍向部门给出该记录的 {len(after)} 个事件",
               f"after withdrawal the feed still gives the department {len(after)} events of "
               "the record")


# -- a child's record, as a consent shares it ---------------------------------------------------

def _child_shared(ctx: KitContext, dept: Principal, *, by_number: bool = False
                  ) -> tuple[Tracked, dict[str, Any], list[str]]:
    """A child's record whose consent shares with departments personal members that do not
    give her age (not her birth date, not her identity number), read by ``dept`` while it holds
    an assignment on her issue: the record, what ``dept`` received, and the members shared.
    Her record gives her birth date as birthDate or, ``by_number``, only as the date in her
    full citizen ID number."""
    shared, purpose = _consent_shared(ctx)
    minor = int(ctx.spec.parameter("/req/residents/minor-sensitive", "age"))
    doc = resident(ctx)
    today = ctx.moment()[:10]
    born = f"{int(today[:4]) - max(minor - 6, 1)}{today[4:]}".replace("-02-29", "-02-28")
    for member in ("identityDocuments", "vulnerabilities", "household", "proxies"):
        doc.pop(member, None)
    if by_number:
        doc.pop("birthDate", None)
        doc["identityDocuments"] = [citizen_card(ctx, date.fromisoformat(born))]
    else:
        doc["birthDate"] = born
    # Only consents that still point at members she has, and none shared with departments yet.
    doc["consents"] = [c for c in doc.get("consents") or () if c.get("purpose") != purpose
                       and not any(str(s).startswith(("/proxies", "/vulnerabilities",
                                                      "/identityDocuments", "/household"))
                                   for s in c.get("scope") or [])]
    personal = {str(path[0]) for path, cls, _ in compile_plan(ctx.spec, RESIDENT).pipl
                if cls == "personal" and path}
    covered = sorted(m for m in personal & set(doc) if m not in ("birthDate",
                                                                  "identityDocuments"))
    if not covered:
        raise Skipped("模板居民没有可共享的个人信息成员",
                      "the template resident has no personal member to share")
    doc["consents"].append(_shared_consent(ctx, purpose, [f"/{m}" for m in covered]))
    record = Tracked(ctx, ctx.ensure_valid(doc, "(a child sharing some members)"))
    got = _read_as_handling(ctx, dept, record, shared)
    ctx.expect_status(got, 200, zh="部门读取同意共享的儿童记录",
                      en="the department reads the child's record the consent shares")
    body = got.json()
    return record, body if isinstance(body, dict) else {}, covered


@check("/req/residents/minor-sensitive", needs=(ROLE.department,))
def test_minor_through_consent(ctx: KitContext) -> None:
    """Whether she is a minor is decided from her whole record: a department given only
    members that do not tell her age still receives them treated as sensitive."""
    (dept,) = ctx.principals_of(ROLE.department, 1)
    rule = ctx.spec.privacy["treatments"][ctx.audience(dept, {})]
    if rule["personal"] == rule["sensitive"] or rule["sensitive"] == "keep":
        raise Skipped("部门受众对个人信息和敏感信息的处理相同，无法观察本需求",
                      "the department's audience treats personal and sensitive data alike, so "
                      "the rule cannot be observed")
    # Her age given by birthDate, then only by the date in her citizen ID number: both
    # count, and neither is among what the department receives.
    for by_number, how_zh, how_en in (
            (False, "出生日期在 birthDate 中", "her birth date in birthDate"),
            (True, "出生日期只在身份号码中", "her birth date only in her citizen ID number")):
        record, got, covered = _child_shared(ctx, dept, by_number=by_number)
        unredacted = personal_shown(ctx, RESIDENT, record.doc, got, covered)
        where = pointer(unredacted[0]) if unredacted else ""
        ctx.expect(not unredacted,
                   f"部门经同意读取儿童记录（{how_zh}，共享 {plain(covered, 'zh')}），收到了"
                   f"未脱敏的 {where}",
                   f"the department reading a child's record ({how_en}) through a consent "
                   f"(sharing {plain(covered)}) received {where} unredacted")


@check("/req/privacy/audit-log", needs=(REGULATOR, ROLE.department))
def test_audit_minor_through_consent(ctx: KitContext) -> None:
    """A child's personal data is sensitive, decided from her whole record: a department's
    read of members a consent shares, without her birth date among them, is audited."""
    regulator = ctx.principal(REGULATOR)
    (dept,) = ctx.principals_of(ROLE.department, 1)
    record, got, covered = _child_shared(ctx, dept)
    if not set(got) & set(covered):
        raise Skipped("部门没有收到共享成员中的任何一项，无从审计",
                      "the department received none of the shared members: nothing to audit")
    reads = [r for r in audit_entries(ctx, regulator, record.id)
             if r.get("operation") == "read" and r.get("role") == dept.role]
    received = sorted(set(got) & set(covered))
    ctx.expect(bool(reads),
               f"部门读取了儿童的个人信息（{plain(received, 'zh')}），审计日志中却没有这次读取",
               f"the department read the child's personal data ({plain(received)}), but the "
               "audit log has no such read")


@check("/req/privacy/audit-log", needs=(REGULATOR,))
def test_audit_tells_organisations_apart(ctx: KitContext) -> None:
    """Two staff of different organisations with one user id are two principals in the audit
    log: a user id is unique only within its organisation. Needs the preset's test issuer."""
    regulator = ctx.principal(REGULATOR)
    user = "kit-" + ctx.new_id()[:12]
    kind = first_code(ctx, "organisation-type")
    readers = [minted(ctx, f"user {user} of organisation {n}", sub=user, userId=None,
                      organisation={"id": f"kit-org-{ctx.new_id()[:8]}", "name": f"测试组织{n}",
                                    "type": kind})
               for n in (1, 2)]
    record = Tracked(ctx, with_number(ctx))  # the number is sensitive: every read is logged
    seen: list[set[str]] = []
    for who in readers:
        before = {str(r.get("principal")) for r in audit_entries(ctx, regulator, record.id)}
        ctx.expect_status(record.read(who), 200, zh=f"{who.name} 读取居民",
                          en=f"{who.name} reads the resident")
        after = {str(r.get("principal")) for r in audit_entries(ctx, regulator, record.id)}
        seen.append(after - before)
    ctx.expect(bool(seen[0]), "第一位读者的读取没有记入审计日志",
               "the first reader's read is not in the audit log")
    ctx.expect(bool(seen[1]),
               f"用户标识同为 {user} 的另一组织人员的读取，在审计日志中记在第一位读者名下",
               f"the read by staff of another organisation with the same user id {user} is "
               "logged as the first reader's")
