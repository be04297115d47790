"""Privacy class: redaction by audience, community isolation, visibility, masking, audit."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from ...integrity import WITHHELD_TYPE
from ...pointers import resolve_pointer
from ...privacy import published_with_consent, without_personal
from ...profiles import Profile
from ...validation import compile_plan, validate, values_at
from .._context import KitContext
from .._preset import Principal
from .._registry import Skipped, check
from ._people import held_resident, in_worker_grid, listed, resident, with_number
from ._shared import (
    CONSULTATION,
    ISSUE,
    RESIDENT,
    ROLE,
    Tracked,
    anonymous_read,
    audit_entries,
    dispatch,
    dispatched,
    expect_none,
    fresh,
    new_issue,
    plain,
    proposed,
    reassign,
    resident_actor,
    resident_ref,
    running_profile,
    stored,
    submitted_by,
    transition,
    without_meta,
    worker_grids,
)
from ._watching import events_of, tail

REGULATOR = "regulator"


def _readers(ctx: KitContext) -> list[Principal]:
    """Principals serving the community who read as their role (residents and proxies read
    their own records as themselves: their checks are in the residents class)."""
    return [p for p in ctx.serving() if p.role not in (ROLE.resident, ROLE.proxy)]


def _telling(ctx: KitContext) -> Iterator[tuple[str, dict[str, Any]]]:
    """For each resource type, a fresh document the kit has just created from the template
    holding the most classes of personal information, a person's record in the grid
    worker's grid: every reader's treatment of every class is seen, a grid-scoped reader's
    too."""
    person = (ctx.spec.privacy.get("recordAccess") or {}).get("personType")
    for rt in ctx.spec.resource_types:
        doc = ctx.document(rt, telling=True)
        yield rt, ctx.created(in_worker_grid(ctx, doc) if rt == person else doc)


@check("/req/privacy/redaction-by-audience")
def test_redaction_matches_policy(ctx: KitContext) -> None:
    for rt, doc in _telling(ctx):
        for who in _readers(ctx):
            if who.role == ROLE.department and rt == ISSUE:
                continue  # departments see only assigned issues: a test of its own
            resp = ctx.read(rt, doc["id"], who)
            if resp.status == 404:
                continue  # not visible at all: scope, tested elsewhere
            ctx.expect_status(resp, 200, zh=f"{who.name} 读取 {rt}", en=f"{who.name} reads {rt}")
            audience = ctx.audience(who, doc)
            ctx.expect(
                without_meta(resp.json()) == without_meta(ctx.redact(doc, audience)),
                f"{who.name}（{who.role}）读到的 {rt} 与受众 {audience} 的脱敏结果不同",
                f"{who.name} ({who.role}) reads a {rt} that differs from the {audience} redaction",
            )


def _registering(ctx: KitContext) -> Profile | None:
    """The city profile whose registered extensions the server redacts by their tags; None
    when it runs none (or publishes one with errors: every extension is then sensitive)."""
    try:
        return running_profile(ctx)
    except Skipped:
        return None


def _personal(doc: dict[str, Any], ctx: KitContext, city: Profile | None
              ) -> list[tuple[Any, ...]]:
    """Where ``doc`` holds personal information: members tagged so, unregistered extensions
    (sensitive), and the parts of an extension ``city`` registers that its schema's tags mark
    so or do not cover."""
    rt = doc["resourceType"]
    plan = compile_plan(ctx.spec, rt)
    agreed = published_with_consent(doc)  # what the author agreed to publish is no leak
    extensions = doc.get("extensions")
    registered = ({k for k in extensions if k in city.extensions
                   and city.extensions[k].applies_to(rt)}
                  if city is not None and isinstance(extensions, dict) else set())
    if registered:
        assert isinstance(extensions, dict) and city is not None
        kept = without_personal(doc, profile=city).get("extensions") or {}
        found = [("extensions", k) for k in sorted(registered)
                 if kept.get(k, _GONE) != extensions[k]]
        rest = {k: v for k, v in extensions.items() if k not in registered}
        doc = {**doc, "extensions": rest} if rest else {k: v for k, v in doc.items()
                                                         if k != "extensions"}
    else:
        found = []
    return [
        where
        for path, cls, _ in plan.pipl
        if cls in ("personal", "sensitive")
        for where, _ in values_at(doc, path)
        if not (len(where) == 1 and where[0] in agreed)
    ] + found


#: what an extension nothing of which is kept is compared as
_GONE = object()


@check("/req/privacy/public-no-personal", needs=(ROLE.public,))
def test_public(ctx: KitContext) -> None:
    public = ctx.principal(ROLE.public)
    city = _registering(ctx)
    for rt, doc in stored(ctx):
        found: list[dict[str, Any]] = []
        resp = ctx.read(rt, doc["id"], public)
        if resp.status == 200:
            found.append(resp.json() or {})
        found += ctx.items(rt, public, {"community": ctx.preset.community}, must_list=False)
        for item in found:
            expect_none(ctx, _personal(item, ctx, city), "公众收到了个人信息",
                        "the public received personal information", shown=3)
    _public_registry(ctx, public, city)


def _public_registry(ctx: KitContext, public: Principal, city: Profile | None) -> None:
    """The organisation registry the city profile publishes inline (GET /profile), as the
    public and a reader without a token receive it, holds none of its members' personal
    data: each organisation is served as GET /organisations/{id} serves it to them."""
    for who, name in ((public, public.name), (None, "(no token)")):
        resp = ctx.call("GET", ctx.path("getProfile"), who)
        if resp.status == 404:
            return  # the server runs no city profile
        ctx.expect_status(resp, 200, zh=f"{name} 读取 GET /profile",
                          en=f"{name} reads GET /profile")
        body = resp.json()
        registry = body.get("organisations") if isinstance(body, dict) else None
        found = [(n, *where) for n, org in enumerate(registry or ())
                 if isinstance(org, dict) and org.get("resourceType") in ctx.spec.resource_types
                 for where in _personal(org, ctx, city)]
        expect_none(ctx, found, f"{name} 从 GET /profile 的组织登记中收到了个人信息",
                    f"{name} received personal information in the organisation registry of "
                    "GET /profile", shown=3)


@check("/req/privacy/redacted-valid")
def test_returned_documents_valid(ctx: KitContext) -> None:
    for rt, doc in stored(ctx):
        for who in ctx.preset.principals.values():
            resp = ctx.read(rt, doc["id"], who)
            if resp.status != 200:
                continue
            errors = [f"{f.pointer} {f.code}" for f in validate(resp.json()).errors]
            expect_none(ctx, errors, f"返回给 {who.name} 的 {rt} 无效",
                        f"the {rt} returned to {who.name} is invalid")


@check("/req/privacy/pipl-tags")
def test_no_untagged_members(ctx: KitContext) -> None:
    for rt, doc in stored(ctx):
        _tagged_only(ctx, rt, doc["id"])


def _tagged_only(ctx: KitContext, rt: str, rid: str) -> None:
    resp = ctx.read(rt, rid)
    ctx.expect_status(resp, 200)
    unknown = [f.pointer for f in validate(resp.json()).errors if f.code == "schema.unknown-member"]
    expect_none(ctx, unknown, "返回了模式之外的成员", "members outside the schema were returned")


@check("/req/privacy/masking")
def test_masks(ctx: KitContext) -> None:
    treatments = ctx.spec.privacy["treatments"]
    checked = 0
    for rt, doc in stored(ctx):
        plan = compile_plan(ctx.spec, rt)
        for who in _readers(ctx):
            audience = ctx.audience(who, doc)
            masked = [(path, method) for path, cls, method in plan.pipl
                      if method and treatments[audience].get(cls) == "mask"]
            if not masked:
                continue
            resp = ctx.read(rt, doc["id"], who)
            if resp.status != 200:
                continue  # this reader may not read it: scope, tested elsewhere
            got = resp.json() or {}
            text = json.dumps(got, ensure_ascii=False)
            expected = ctx.redact(doc, audience)
            for path, method in masked:
                want = dict(values_at(expected, path))
                shown = dict(values_at(got, path))
                for where, value in values_at(doc, path):
                    if not isinstance(value, str) or where not in want:
                        continue
                    checked += 1
                    ctx.expect(
                        shown.get(where) == want[where] and value not in text,
                        f"{who.name}（{audience}）收到的 {rt} {where} 没有按 {method} 方法脱敏",
                        f"{who.name} ({audience}) got {rt} {where} not masked with the {method} "
                        "method",
                    )
    if not checked:
        raise Skipped("预设中没有会看到脱敏值的主体", "no preset principal is shown masked values")


@check("/req/privacy/pseudonym")
def test_pseudonym_filter(ctx: KitContext) -> None:
    # A template whose number comes with its pseudonym, so a server without the city's key
    # has one to store (templates are drawn at random).
    for _ in range(30):
        doc = with_number(ctx)
        if any(d.get("pseudonym") for d in doc.get("identityDocuments", [])):
            break
    stored = ctx.created(doc)
    pseudonyms = [
        d.get("pseudonym") for d in stored.get("identityDocuments", []) if d.get("pseudonym")
    ]
    if not pseudonyms:
        raise Skipped("居民记录没有假名", "the resident record carries no pseudonym")
    found = listed(ctx, ctx.staff, [doc["id"]], pseudonym=str(pseudonyms[0]))
    ctx.expect(doc["id"] in found, "按假名查不到该居民",
               "the resident is not found by its pseudonym")


@check("/req/privacy/community-isolation")
def test_isolation(ctx: KitContext) -> None:
    other = ctx.preset.other_community
    if not other:
        raise Skipped("预设没有给出第二个社区", "the preset names no second community")
    outsider = ctx.principal(ctx.staff_role, community=other)
    if outsider.serves(ctx.preset.community):
        raise Skipped(
            "第二个社区的工作人员也服务本社区", "the other staff also serves this community"
        )
    for rt, doc in stored(ctx):
        ctx.expect_problem(ctx.read(rt, doc["id"], outsider), 404)
        ids = [i.get("id") for i in ctx.items(rt, outsider)]
        ctx.expect(
            doc["id"] not in ids,
            f"另一社区的列表中出现了本社区的 {rt}",
            f"another community's list shows this community's {rt}",
        )
        items = list(ctx.items(rt, outsider, {"community": ctx.preset.community},
                               must_list=False))
        ctx.expect(
            not items,
            "按本社区过滤时另一社区的主体得到了条目",
            "filtering by this community gives the outsider items",
        )


@check("/req/privacy/visibility")
def test_visibility(ctx: KitContext) -> None:
    doc = ctx.document(ISSUE)
    doc["attachments"] = [
        {
            "id": ctx.new_id(),
            "title": f"{v} 附件",
            "mediaType": "image/jpeg",
            "size": 10,
            "sha256": "0" * 64,
            "visibility": v,
        }
        for v in ctx.spec.codelist("visibility")
    ]
    ctx.created(doc)
    allowed = ctx.spec.privacy["visibility"]
    checked = 0
    for who in _readers(ctx):
        if who.role == ROLE.department:
            continue  # departments see only assigned issues: a test of its own
        resp = ctx.read(ISSUE, doc["id"], who)
        if resp.status != 200:
            continue
        seen = {a.get("visibility") for a in (resp.json() or {}).get("attachments", [])}
        expected = set(allowed[ctx.audience(who, doc)])
        ctx.expect(
            seen == expected,
            f"{who.name} 看到的附件可见范围为 {plain(seen, 'zh')}，应为 {plain(expected, 'zh')}",
            f"{who.name} sees attachments {plain(seen)}, expected {plain(expected)}",
        )
        checked += 1
    checked += _records_by_visibility(ctx, allowed)
    if not checked:
        raise Skipped("没有可以读取该诉求的角色", "no role could read the issue")


def _records_by_visibility(ctx: KitContext, allowed: dict[str, list[str]]) -> int:
    """A record that carries its own visibility (``privacy.json``
    ``recordAccess.visibilityMember``: a consultation's) is read and listed only by the
    readers whose audience that visibility allows; how many readings were checked."""
    members = (ctx.spec.privacy.get("recordAccess") or {}).get("visibilityMember") or {}
    checked = 0
    for rt, where in sorted(members.items()):
        parent, _, name = where.rpartition("/")
        made: dict[str, tuple[str, dict[str, Any]]] = {}
        for code in ctx.spec.codelist("visibility"):
            # A consultation proposed by residents: a template escalating issues would name
            # issues this server does not hold.
            doc = proposed(ctx) if rt == CONSULTATION else fresh(ctx, rt)
            holder = resolve_pointer(doc, parent)
            if not isinstance(holder, dict):
                raise Skipped(f"{rt} 模板中没有 {where}", f"the {rt} template has no {where}")
            holder[name] = code
            stored = ctx.created(ctx.ensure_valid(doc, f"({rt} of visibility {code})"))
            made[str(stored["id"])] = (code, stored)
        for who in ctx.serving():
            listed = {str(i.get("id")) for i in ctx.items(rt, who, must_list=False)}
            for rid, (code, stored) in made.items():
                audience = ctx.audience(who, stored)
                shown = code in allowed[audience]
                status = ctx.read(rt, rid, who).status
                leaked = rid in listed and not shown
                want = 200 if shown else 404
                ctx.expect(status == want and not leaked,
                           f"{who.name}（{audience}）读取可见范围为 {code} 的 {rt} 得到 {status}"
                           f"，应为 {want}{'；列表中也有它' if leaked else ''}",
                           f"{who.name} ({audience}) reading a {rt} of visibility {code} got "
                           f"{status}, not {want}{'; its list shows it too' if leaked else ''}")
                checked += 1
    return checked


@check("/req/privacy/audit-log", needs=(REGULATOR,))
def test_audit(ctx: KitContext) -> None:
    regulator = ctx.principal(REGULATOR)
    doc = ctx.document(RESIDENT)
    ctx.created(doc)
    ctx.expect_status(ctx.read(RESIDENT, doc["id"]), 200)
    operations = {i.get("operation") for i in audit_entries(ctx, regulator, doc["id"])}
    ctx.expect(
        {"create", "read"} <= operations,
        f"审计日志中该居民的操作只有 {plain(operations, 'zh')}",
        f"the audit log shows only {plain(operations)} for the resident",
    )
    ctx.expect_problem(ctx.call("GET", ctx.path("listAuditEvents"), ctx.staff), 403)


@check("/req/privacy/audit-log", needs=(REGULATOR,))
def test_audit_append_only(ctx: KitContext) -> None:
    """Append-only: the entries about a resident stay as written, in their order and ahead of
    later ones, through an update and her erasure (they hold no personal data of hers)."""
    regulator = ctx.principal(REGULATOR)
    record = Tracked(ctx, with_number(ctx))  # the number is sensitive: every read is logged
    ctx.expect_status(record.read(ctx.staff), 200, zh="工作人员读取居民",
                      en="staff read the resident")
    earlier = audit_entries(ctx, regulator, record.id)
    ctx.expect(bool(earlier), "创建和读取该居民后，审计日志中没有关于她的记录",
               "after the resident was created and read, the audit log has no entry about her")
    record.put(preferredChannels=["phone-call"])
    ctx.expect_status(record.post("erase", {"reason": "purpose-fulfilled"}), 200,
                      zh="执行删除", en="carry out the erasure")
    later = audit_entries(ctx, regulator, record.id)
    kept = {e.get("seq"): e for e in later}
    lost = [e.get("seq") for e in earlier if kept.get(e.get("seq")) != e]
    ctx.expect(not lost, f"更新并删除该居民后，她此前的 {len(earlier)} 条审计记录中序号为 "
               f"{plain(lost, 'zh')} 的不见了或被改写",
               f"after the resident was updated and erased, of her {len(earlier)} earlier "
               f"audit entries those of seq {plain(lost)} are gone or rewritten")
    ctx.expect(later[:len(earlier)] == earlier,
               "更新并删除该居民后，她此前的审计记录不再按原来的顺序排在新记录之前",
               "after the resident was updated and erased, her earlier audit entries no longer "
               "come first, in their order, ahead of the new ones")
    ctx.expect(len(later) > len(earlier),
               "更新和删除该居民都没有在审计日志中留下新记录",
               "neither the update nor the erasure of the resident left a new audit entry")


@check("/req/privacy/department-assigned-only", needs=(ROLE.department, ROLE.department))
def test_department_assigned_only(ctx: KitContext) -> None:
    assigned, other = ctx.principals_of(ROLE.department, 2)
    cursor = tail(ctx, other)
    waiting = Tracked(ctx, new_issue(ctx))
    issue = dispatched(ctx, assigned)
    ctx.expect_status(issue.read(assigned), 200,
                      zh="承办部门读取派给它的诉求", en="the department reads its issue")
    for item, who in ((issue, other), (waiting, assigned), (waiting, other)):
        ctx.expect_problem(item.read(who), 404)
        ctx.expect_problem(item.read_history(who), 404)
    for who, mine in ((assigned, {issue.id}), (other, set())):
        seen = {str(i.get("id")) for i in ctx.items(
            ISSUE, who, {"limit": "500", "updatedSince": ctx.moment(-1)})}
        shown = seen & {issue.id, waiting.id}
        ctx.expect(shown == mine, f"{who.organisation} 的列表中出现了 {plain(shown, 'zh')}",
                   f"{who.organisation}'s list shows {plain(shown)}")
    leaked = [e.get("subject") for item in (issue, waiting)
              for e in events_of(ctx, other, cursor, ISSUE, item.id)]
    ctx.expect(not leaked, f"{other.organisation} 在变更中看到了未派给它的诉求",
               f"{other.organisation} sees issues not assigned to it in the feed")


#: the requirement whose parameter orders the reporter disclosures
REPORTER_DISCLOSURE = "/req/privacy/reporter-disclosure"


def _protection_kept(ctx: KitContext, issue: Tracked) -> None:
    """An update may make reporterDisclosure more protective, never less: ``issue`` is refused
    each less protective value than its own, raised to the most protective, then refused
    every other; each refusal is 422 issue.disclosure-lowered and changes nothing."""
    order = [str(d) for d in ctx.spec.parameter(REPORTER_DISCLOSURE, "disclosureOrder")]
    held = str(issue.doc.get("reporterDisclosure"))
    if held not in order:
        return

    def lowered(given: str) -> None:
        what = f"reporterDisclosure {issue.doc.get('reporterDisclosure')} → {given}"
        problem = issue.refused(issue.put(expect=None, reporterDisclosure=given), 422,
                                what).json()
        codes = {str(e.get("code")) for e in problem.get("errors") or [] if isinstance(e, dict)}
        ctx.expect("issue.disclosure-lowered" in codes,
                   f"{what} 的拒绝没有给出 issue.disclosure-lowered",
                   f"the refusal of {what} does not say issue.disclosure-lowered")

    for given in order[:order.index(held)]:
        lowered(given)
    if held != order[-1]:
        issue.put(reporterDisclosure=order[-1])
        ctx.expect(issue.doc.get("reporterDisclosure") == order[-1],
                   f"reporterDisclosure 从 {held} 改为 {order[-1]} 没有保存",
                   f"reporterDisclosure raised from {held} to {order[-1]} was not stored")
        for given in order[:-1]:
            lowered(given)


@check("/req/privacy/reporter-disclosure", needs=(ROLE.department,))
def test_reporter_disclosure(ctx: KitContext) -> None:
    (dept,) = ctx.principals_of(ROLE.department, 1)
    intake = set(transition(ctx, ISSUE, "accept")["roles"])
    for disclosure in ("anonymous", "confidential"):
        tag = ctx.new_id()
        rid = held_resident(ctx)  # staff act only for a resident whose record they read
        secrets = {"name": f"报告人{tag[:6]}", "phone": "+86139" + str(ctx.rng.randrange(
            10**7, 10**8)), "userId": f"kit-{tag[:12]}", "resident": rid}
        # staff record the issue for the resident (/req/core/actor-is-principal)
        actor = {"role": ctx.staff_role, "onBehalfOf": resident_ref(rid)}
        contact = {"name": secrets["name"], "phone": secrets["phone"]}
        issue = Tracked(ctx, submitted_by(ctx, actor, reporterDisclosure=disclosure,
                                          reporterContact=contact))
        issue.act("accept")
        dispatch(ctx, issue, dept)
        readers = [dept, *[p for p in ctx.serving()
                           if p.role == ROLE.public
                           # A system principal is not intake staff
                           # (/req/privacy/system-principal).
                           or (disclosure == "confidential" and p.role not in intake)]]
        for who in readers:
            for path, resp in ((issue.path, issue.read(who)),
                               (f"{issue.path}/history", issue.read_history(who))):
                if resp.status == 404:
                    continue
                ctx.expect_status(resp, 200)
                text = json.dumps(resp.json(), ensure_ascii=False)
                shown = [k for k, v in secrets.items() if v in text]
                ctx.expect(not shown,
                           f"{who.name}（{who.role}）从 {path} 得到了{disclosure}诉求人的 "
                           f"{plain(shown, 'zh')}",
                           f"{who.name} ({who.role}) learns the {disclosure} reporter's "
                           f"{plain(shown)} from {path}")
        if disclosure == "anonymous":
            _protection_kept(ctx, issue)  # its reporter stays withheld from here on
    _raised_after_read(ctx, dept)
    # The reporter herself is never withheld from herself: her issue, and in the feed each
    # earlier state of it, names her (/req/change-feed/access-now decides from the record).
    reporter = ctx.optional(ROLE.resident)
    if reporter is None or reporter.resident is None:
        return
    cursor = tail(ctx, reporter)
    actor = {"role": ctx.staff_role, "onBehalfOf": resident_ref(reporter.resident)}
    issue = Tracked(ctx, submitted_by(ctx, actor, reporterDisclosure="confidential"))
    issue.act("accept")
    events = events_of(ctx, reporter, cursor, ISSUE, issue.id)
    unnamed = [e.get("sequence") for e in events if reporter.resident not in json.dumps(
        e.get("data"))]
    ctx.expect(len(events) >= 2 and not unnamed,
               f"保密诉求人 {reporter.name} 在变更中收到的本人诉求的早先状态 "
               f"{plain(unnamed, 'zh')} 没有她自己",
               f"the confidential reporter {reporter.name} receives earlier states "
               f"{plain(unnamed)} of her own issue in the feed without herself")


def _raised_after_read(ctx: KitContext, dept: Principal) -> None:
    """A reporter named to the department and the public, then made anonymous: from the update
    on, neither reads, lists nor histories name her to them, whatever a server kept of what
    they were served before."""
    tag = ctx.new_id()
    contact = {"name": f"报告人{tag[:6]}",
               "phone": "+86139" + str(ctx.rng.randrange(10**7, 10**8))}
    actor = {"role": ctx.staff_role, "onBehalfOf": resident_ref(held_resident(ctx))}
    issue = Tracked(ctx, submitted_by(ctx, actor, reporterDisclosure="public",
                                      reporterContact=contact))
    issue.act("accept")
    dispatch(ctx, issue, dept)
    readers = [dept, *[p for p in ctx.serving() if p.role == ROLE.public]]
    for who in readers:
        _responses(ctx, issue, who)  # served, and perhaps kept, as named
    issue.put(reporterDisclosure="anonymous")
    for who in readers:
        for path, body in _responses(ctx, issue, who):
            text = json.dumps(body, ensure_ascii=False)
            shown = [k for k, v in contact.items() if v in text]
            ctx.expect(not shown,
                       f"诉求人改为匿名后，{who.name}（{who.role}）仍从 {path} 得到她的 "
                       f"{plain(shown, 'zh')}",
                       f"{who.name} ({who.role}) still learns the reporter's {plain(shown)} "
                       f"from {path} after she was made anonymous")


def _keeps(ctx: KitContext, audience: str, pipl_class: str) -> bool:
    return bool(ctx.spec.privacy["treatments"][audience].get(pipl_class) == "keep")


def _responses(ctx: KitContext, item: Tracked, who: Principal) -> list[tuple[str, Any]]:
    """What ``who`` gets of ``item``: its read, and of an issue its history and the issue
    list too."""
    reads = [(item.path, item.read(who))]
    if item.rt == ISSUE:
        reads.append((f"{item.path}/history", item.read_history(who)))
    found = [(path, resp.json()) for path, resp in reads if resp.status == 200]
    if item.rt == ISSUE:
        found += [(ctx.collection_path(ISSUE), listed)
                  for listed in ctx.items(ISSUE, who, {"limit": "500",
                                                       "updatedSince": ctx.moment(-1)},
                                          must_list=False)
                  if listed.get("id") == item.id]
    return found


#: the PIPL classes a reader may not keep, as the messages name them
_CLASS_WORDS = {"sensitive": ("敏感信息", "sensitive information"),
                "personal": ("个人信息", "personal information")}


def _withheld(ctx: KitContext, items: list[Tracked], pipl_class: str,
              leaks: Callable[[Any], bool], zh: str, en: str) -> None:
    """No reader whose audience does not keep ``pipl_class`` gets a response about ``items``
    that ``leaks``: else fails naming the reader, the path and what it got (``zh`` / ``en``);
    skipped when no such reader reads them."""
    checked = 0
    for who in ctx.serving():
        for item in items:
            if _keeps(ctx, ctx.audience(who, item.doc), pipl_class):
                continue
            for path, body in _responses(ctx, item, who):
                checked += 1
                ctx.expect(not leaks(body), f"{who.name}（{who.role}）从 {path} 得到了{zh}",
                           f"{who.name} ({who.role}) received {en} from {path}")
    if not checked:
        words_zh, words_en = _CLASS_WORDS[pipl_class]
        raise Skipped(f"预设中没有不保留{words_zh}、又能读到诉求的主体",
                      f"the preset has no principal that reads issues without keeping {words_en}")


@check("/req/privacy/extensions-sensitive", needs=(ROLE.department,))
def test_extensions_sensitive(ctx: KitContext) -> None:
    (dept,) = ctx.principals_of(ROLE.department, 1)
    marker = f"kit-ext-{ctx.new_id()[:8]}"
    extensions = {"org.example.care": {"citizenId": "110105194912310021",
                                       "diagnosis": f"{marker} 阿尔茨海默病"}}
    issue = Tracked(ctx, new_issue(ctx, extensions=extensions))
    issue.act("accept")
    dispatch(ctx, issue, dept)
    record = Tracked(ctx, with_number(ctx) | {"extensions": extensions})

    def leaks(body: Any) -> bool:
        return (marker in json.dumps(body, ensure_ascii=False)
                or "extensions" in (body if isinstance(body, dict) else {}))

    _withheld(ctx, [issue, record], "sensitive", leaks, "未登记的扩展",
              "an unregistered extension")


@check("/req/privacy/free-text-tagged", needs=(ROLE.department,))
def test_free_text(ctx: KitContext) -> None:
    (dept,) = ctx.principals_of(ROLE.department, 1)
    marker = f"kit-note-{ctx.new_id()[:8]}"
    issue = Tracked(ctx, new_issue(ctx))
    issue.act("accept", {"note": f"{marker} 张阿姨住 3 号楼 2 单元 501"})
    dispatch(ctx, issue, dept)
    issue.act("add-progress", {"details": {"message": f"{marker} 已联系张阿姨"}}, dept)
    _withheld(ctx, [issue], "personal",
              lambda body: marker in json.dumps(body, ensure_ascii=False),
              "带个人信息的说明", "a note with personal information")


@check("/req/privacy/own-issues-self", needs=(ROLE.resident,))
def test_own_issues_self(ctx: KitContext) -> None:
    who = ctx.principal(ROLE.resident)
    if not who.resident:
        raise Skipped(f"预设中的居民 {who.name} 没有给出其居民标识（resident）",
                      f"the preset's resident {who.name} gives no resident id")
    doc = submitted_by(ctx, resident_actor(who.resident, who.name))
    created = ctx.create(doc, who)
    by_herself = created.status not in (401, 403)
    if not by_herself:
        created = ctx.create(doc)  # residents may not submit here: staff submit for her
    ctx.expect_status(created, 201, zh="提交本人的诉求", en="her issue is submitted")
    mine = ctx.read(ISSUE, doc["id"], who)
    ctx.expect_status(mine, 200, zh="居民读取本人的诉求", en="the resident reads her issue")
    got = without_meta(mine.json())
    missing = sorted(m for m in doc if m not in got)
    ctx.expect(not missing, f"居民读取本人的诉求时缺少 {plain(missing, 'zh')}",
               f"the resident reading her own issue misses {plain(missing)}")
    if by_herself and isinstance(created.json(), dict):
        back = without_meta(created.json())
        lost = sorted(m for m in doc if m not in back)
        ctx.expect(not lost, f"提交后读回的诉求缺少 {lost}",
                   f"the issue read back after submitting misses {lost}")


@check("/req/privacy/department-assignment-ended", needs=(ROLE.department, ROLE.department))
def test_department_assignment_ended(ctx: KitContext) -> None:
    first, second = ctx.principals_of(ROLE.department, 2)
    # The feed from before the dispatch holds the events the department once read in full:
    # they too are decided by its access now (/req/change-feed/access-now).
    cursor = tail(ctx, first)
    issue = dispatched(ctx, first)
    ctx.expect_status(issue.read(first), 200, zh="承办部门读取派给它的诉求",
                      en="the department reads its issue")
    old = next(str(a["id"]) for a in issue.doc.get("assignments") or ()
               if (a.get("department") or {}).get("id") == first.organisation)
    reassign(ctx, issue, old, second)
    ctx.expect_status(issue.read(second), 200, zh="新承办部门读取诉求",
                      en="the new department reads the issue")
    ctx.expect_problem(issue.read(first), 404)
    ctx.expect_problem(issue.read_history(first), 404)
    seen = {str(i.get("id")) for i in ctx.items(
        ISSUE, first, {"limit": "500", "updatedSince": ctx.moment(-1)}, must_list=False)}
    ctx.expect(issue.id not in seen, f"{first.organisation} 的列表中仍有改派走的诉求",
               f"{first.organisation}'s list still shows the issue reassigned away from it")
    # A withheld event that still names the issue fails /req/change-feed/withheld, not this.
    given = [e.get("sequence") for e in events_of(ctx, first, cursor, ISSUE, issue.id)
             if e.get("type") != WITHHELD_TYPE or "data" in e]
    ctx.expect(not given,
               f"改派后，{first.organisation} 在变更中仍收到该诉求的事件（序号 "
               f"{plain(given, 'zh')}）；应当只收到不带数据的精简事件（{WITHHELD_TYPE}）",
               f"after the reassignment, {first.organisation} still receives the issue's events "
               f"(sequences {plain(given)}) in the feed; expected only withheld events "
               f"({WITHHELD_TYPE}) without data")


@check("/req/privacy/issue-publication")
def test_issue_publication(ctx: KitContext) -> None:
    rule = (ctx.spec.privacy.get("recordAccess") or {}).get("publication") or {}
    audiences = set(rule.get("audiences") or ())
    issue = Tracked(ctx, new_issue(ctx))
    readers = [p for p in ctx.serving() if ctx.audience(p, issue.doc) in audiences]
    if not readers:
        raise Skipped("预设中没有公众或本社区居民主体",
                      "the preset has no public or resident principal of the community")
    for who in readers:
        ctx.expect_problem(issue.read(who), 404)
        shown = {str(i.get("id")) for i in ctx.items(
            ISSUE, who, {"limit": "500", "updatedSince": ctx.moment(-1)}, must_list=False)}
        ctx.expect(issue.id not in shown, f"{who.name}（{who.role}）的列表中有未公开的诉求",
                   f"{who.name} ({who.role}) sees an unpublished issue in the list")
    members = (rule.get(ISSUE) or {}).get("areaMembers") or {}
    for area in ctx.spec.codelist("publication-area"):
        issue.put(publication={"published": True, "area": area, "decidedAt": ctx.moment()})
        for who in readers:
            resp = issue.read(who)
            ctx.expect_status(resp, 200, zh=f"{who.name} 读取已公开的诉求",
                              en=f"{who.name} reads the published issue")
            body = resp.json() if isinstance(resp.json(), dict) else {}
            for level, pointers_ in members.items():
                if level == area:
                    continue
                extra = [p for p in pointers_ if p.lstrip("/") in body]
                ctx.expect(not extra, f"公开到 {area} 的诉求还给出了 {plain(extra, 'zh')}",
                           f"an issue published down to {area} also gives {plain(extra)}")


def _pages(ctx: KitContext, who: Principal | None, params: dict[str, str], limit: str
           ) -> tuple[set[str], bool]:
    """The ids of the issues ``who`` (None: no token) is listed with ``params``, page by page,
    and whether a page gave ``next`` only for an empty page to follow. A refusal lists
    nothing."""
    found: set[str] = set()
    cursor: str | None = None
    for _ in range(200):
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        resp = ctx.call("GET", ctx.collection_path(ISSUE), who, params=query)
        body = resp.json() if resp.status == 200 and isinstance(resp.json(), dict) else {}
        items = [i for i in body.get("items") or [] if isinstance(i, dict)]
        if cursor and not items:
            return found, True
        found |= {str(i.get("id")) for i in items}
        cursor = body.get("next")
        if not cursor:
            break
    return found, False


@check("/req/privacy/filter-what-is-seen")
def test_filter_what_is_seen(ctx: KitContext) -> None:
    community = ctx.preset.community
    grid = new_issue(ctx).get("gridCode")
    if not (isinstance(grid, str) and grid.startswith(community + "-")):
        raise Skipped(f"诉求模板的网格编码不属于预设社区 {community}",
                      f"the issue template's grid code is not of the preset's community "
                      f"{community}")
    lon, lat = 116.4512 + ctx.rng.randrange(0, 30) / 100, 39.9208
    box = f"{lon - 0.05:.4f},{lat - 0.05:.4f},{lon + 0.05:.4f},{lat + 0.05:.4f}"
    since = ctx.since  # what the run wrote, not the server's whole list
    # Published down to the community only: no publication audience gets its grid or point.
    issue = Tracked(ctx, new_issue(ctx, gridCode=grid, publication={"published": True},
                                   location={"point": {"longitude": lon, "latitude": lat,
                                                       "crs": "wgs84"}}))
    readers: list[Principal | None] = list(ctx.serving())
    if anonymous_read(ctx, ctx.collection_path(ISSUE)):
        readers.append(None)
    for who in readers:
        zh, en = _named(who)
        resp = ctx.call("GET", ctx.resource_path(ISSUE, issue.id), who)
        served = resp.json() if resp.status == 200 and isinstance(resp.json(), dict) else {}
        point = (served.get("location") or {}).get("point") if isinstance(
            served.get("location"), dict) else None
        for param, value, given in (("grid", grid, served.get("gridCode") == grid),
                                    ("bbox", box, isinstance(point, dict))):
            if given:
                continue
            found, _ = _pages(ctx, who, {param: value, "updatedSince": since}, "100")
            ctx.expect(issue.id not in found,
                       f"{zh}收不到诉求的 {param} 所查成员，却按 {param} 列出了它",
                       f"{en} receives the issue without the member {param} selects on, "
                       f"yet ?{param}= lists it")
    # Residents: a reader given no pseudonym or membership of a record finds it by neither.
    pseudonym = "hmac-sha256:" + "".join(ctx.rng.choice("0123456789abcdef") for _ in range(64))
    person = Tracked(ctx, resident(
        ctx, identityDocuments=[{"type": "citizen-id", "masked": "110105********0011",
                                 "pseudonym": pseudonym}],
        memberships=[{"community": community, "grid": grid,
                      "residencyType": "registered-resident", "since": "2015-01-01"}]))
    for who in ctx.serving():
        resp = person.read(who)
        if resp.status != 200 or not isinstance(resp.json(), dict):
            continue
        served = resp.json()
        given = {"pseudonym": any(isinstance(d, dict) and d.get("pseudonym") == pseudonym
                                  for d in served.get("identityDocuments") or ()),
                 "grid": any(isinstance(m, dict) and m.get("grid") == grid
                             for m in served.get("memberships") or ())}
        for param, value in (("pseudonym", pseudonym), ("grid", grid)):
            if not given[param]:
                shown = listed(ctx, who, [person.id], **{param: value})
                ctx.expect(person.id not in shown,
                           f"{who.name}（{who.role}）收不到居民记录的 {param} 所查成员，却按 "
                           f"{param} 找到了它",
                           f"{who.name} ({who.role}) receives the resident record without the "
                           f"member {param} selects on, yet ?{param}= finds it")
    # next: a page followed only by issues the filter does not select as the reader receives
    # them (one it may not read, one published down to the community only, so without the
    # grid asked for) gives none.
    Tracked(ctx, new_issue(ctx, gridCode=grid, publication={"published": True, "area": "grid"}))
    Tracked(ctx, new_issue(ctx, gridCode=grid))
    Tracked(ctx, new_issue(ctx, gridCode=grid,
                           publication={"published": True, "area": "community"}))
    for who in [*ctx.serving(ROLE.resident, ROLE.public), *(w for w in readers if w is None)]:
        _, broken = _pages(ctx, who, {"grid": grid, "updatedSince": since}, "1")
        zh, en = _named(who)
        ctx.expect(not broken, f"{zh}的列表页给出了 next，下一页却是空的：其后只有读者看不到或"
                   "收不到所查成员的记录",
                   f"a list page of {en} gave next and the next page was empty: only "
                   f"records the reader may not see, or receives without the member asked "
                   f"for, followed")


def _named(who: Principal | None) -> tuple[str, str]:
    """How a message names ``who`` (None: a request without a token), in Chinese and English."""
    if who is None:
        return "不带令牌的请求", "a request without a token"
    return f"{who.name}（{who.role}）", f"{who.name} ({who.role})"


@check("/req/privacy/anonymous-public-read")
def test_anonymous_public_read(ctx: KitContext) -> None:
    public = ctx.optional(ROLE.public)
    city = _registering(ctx)
    issue = Tracked(ctx, new_issue(ctx, publication={"published": True}))
    tried = 0
    for rt, rid in ((ISSUE, issue.id),):
        for path in (ctx.collection_path(rt), ctx.resource_path(rt, rid),
                     f"{ctx.resource_path(rt, rid)}/history"):
            if not anonymous_read(ctx, path.replace(rid, "{id}")):
                continue
            tried += 1
            bare = ctx.call("GET", path)
            ctx.expect_status(bare, 200, zh=f"不带令牌读取 {path}",
                              en=f"GET {path} without a token")
            ctx.expect_problem(ctx.client.request("GET", path,
                                                  token="not-a-token-" + ctx.new_id()), 401)
            body = bare.json()
            docs = [body] if "history" not in path else []
            if path == ctx.collection_path(rt):  # what the kit wrote, on whatever page
                docs = []
                for resp in ctx.pages(path, {"updatedSince": ctx.since}, token=None):
                    ctx.expect_status(resp, 200, zh=f"不带令牌逐页读取 {path}",
                                      en=f"GET {path} page by page without a token")
                    docs += (resp.json() or {}).get("items") or []
            for doc in docs:
                if isinstance(doc, dict) and doc.get("resourceType"):
                    leaked = _personal(doc, ctx, city)
                    ctx.expect(not leaked, f"不带令牌的请求从 {path} 得到了个人信息：{leaked[:3]}",
                               f"a request without a token got personal information from "
                               f"{path}: {leaked[:3]}")
            if public is not None and path != ctx.collection_path(rt):
                with_token = ctx.call("GET", path, public)
                ctx.expect(with_token.status != 200 or without_meta(with_token.json())
                           == without_meta(body),
                           f"不带令牌和带公众令牌读取 {path} 的结果不同",
                           f"{path} differs without a token and with the public token")
    if not tried:
        raise Skipped("接口没有允许匿名读取的操作", "the API admits no anonymous read")


@check("/req/privacy/grid-scope", needs=(ROLE.grid_worker,))
def test_grid_scope(ctx: KitContext) -> None:
    who, mine, other = worker_grids(ctx)
    community = ctx.preset.community
    records = {}
    for grid in (mine, other):
        doc = with_number(ctx)
        for membership in doc.get("memberships") or ():
            membership.update(community=community, grid=grid)
        records[grid] = Tracked(ctx, doc)
    inside, outside = records[mine], records[other]
    got = inside.read(who)
    ctx.expect_status(got, 200, zh="网格员读取本网格居民", en="the grid worker reads a resident "
                      "of their grid")
    audience = ctx.audience(who, inside.doc)
    ctx.expect(without_meta(got.json()) == without_meta(ctx.redact(inside.doc, audience)),
               f"网格员读到的记录与受众 {audience} 的脱敏结果不同",
               f"the grid worker's read differs from the {audience} redaction")
    ctx.expect_problem(outside.read(who), 404)
    # Moved by staff to another grid after the worker read her: access is decided now.
    inside.put(memberships=[{**m, "grid": other} for m in inside.doc.get("memberships") or ()])
    ctx.expect(inside.read(who).status == 404, "居民迁出网格后网格员仍读得到她",
               "the grid worker still reads a resident after staff moved her to another grid")
    # A resident who lived in the worker's grid until 2019 and lives in another now.
    doc = with_number(ctx)
    now = [{**m, "community": community, "grid": other} for m in doc.get("memberships") or ()]
    if now:
        doc["memberships"] = [{**now[0], "grid": mine, "since": "2015-01-01",
                               "until": "2019-12-31"}, *now]
        moved = Tracked(ctx, ctx.ensure_valid(doc, "(resident who left the grid)"))
        ctx.expect(moved.read(who).status == 404, "网格员仍读得到已离开其网格的居民",
                   "the grid worker still reads a resident who left their grid")
    else:
        moved = outside
    shown = {str(i.get("id")) for i in ctx.items(RESIDENT, who, {"limit": "500"},
                                                 must_list=False)}
    ctx.expect(not {outside.id, moved.id, inside.id} & shown, "网格员的列表中有其他网格的居民",
               "the grid worker's list shows a resident of another grid")


@check("/req/privacy/pseudonym-key-id")
def test_pseudonym_key_id(ctx: KitContext) -> None:
    from ...identifiers import citizen_id_pseudonym
    from ._shared import expect_pointer

    key_id = f"kit-{ctx.new_id()[:8]}"  # a key no server holds: its pseudonyms go unchecked
    doc = with_number(ctx)
    card = next(d for d in doc["identityDocuments"] if d.get("number"))
    card["pseudonym"] = citizen_id_pseudonym(card["number"], ctx.new_id().encode(),
                                             key_id=key_id)
    ctx.expect_status(ctx.create(ctx.ensure_valid(doc, "(pseudonym naming a key)")), 201,
                      zh="带密钥标识的假名应被接收", en="a pseudonym naming its key is taken")
    doc = with_number(ctx)
    card = next(d for d in doc["identityDocuments"] if d.get("number"))
    card["pseudonym"] = "hmac-sha256:Kit_Key:" + "0" * 64
    expect_pointer(ctx, ctx.expect_problem(ctx.create(doc), 422), "/identityDocuments")
