"""Residents class: who may read and correct a record, the rights of PIPL Articles 44–47,
proxies, consents, minors and the resident list filters."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from ...validation import validate
from ...validation._plan import compile_plan, values_at
from .._context import KitContext
from .._flows import Tracked, new_issue, without_meta
from .._preset import Principal
from .._registry import Skipped, check

#: members of the minimal erased form (/req/residents/erased-minimal)
ERASED = frozenset({"resourceType", "specVersion", "id", "meta", "status", "restriction",
                    "externalRefs"})


def resident(ctx: KitContext, proxies: Iterable[dict[str, Any]] = (), **changes: Any
             ) -> dict[str, Any]:
    """A fresh resident record of the preset's community, with exactly ``proxies``."""
    doc = ctx.document("Resident")
    doc["proxies"] = list(proxies)
    if not doc["proxies"]:
        doc.pop("proxies")
    # Consents naming a proxy by consentId would dangle once the proxies are replaced.
    doc.pop("restriction", None)
    doc.update(changes)
    return ctx.ensure_valid(doc, "(resident record)")


def proxy(ctx: KitContext, who: Principal, scope: list[str], *, since: float = -30,
          until: float | None = None) -> dict[str, Any]:
    """A proxy entry naming the preset's proxy principal, in force from ``since`` days."""
    if not who.resident:
        raise Skipped(f"预设中的代理人 {who.name} 没有给出其居民标识（resident）",
                      f"the preset's proxy {who.name} gives no resident id")
    entry: dict[str, Any] = {
        "id": ctx.new_id(),
        "resident": {"resourceType": "Resident", "id": who.resident, "display": "代理人"},
        "relationship": "child", "scope": scope, "basis": "written-authorisation",
        "validFrom": ctx.moment(since),
    }
    if until is not None:
        entry["validUntil"] = ctx.moment(until)
    return entry


def listed(ctx: KitContext, who: Principal, ids: Iterable[str], **params: str
           ) -> dict[str, dict[str, Any]]:
    """Which of ``ids`` the resident list shows ``who`` (all pages), by id."""
    wanted = set(ids)
    found: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    for _ in range(500):
        query = {"limit": "200", **params, **({"cursor": cursor} if cursor else {})}
        resp = ctx.call("GET", "/residents", who, params=query)
        if resp.status != 200:
            ctx.expect(resp.status is not None and 400 <= resp.status < 500,
                       f"{who.name} 列出居民得到 {resp.status}",
                       f"{who.name} listing residents got {resp.status}")
            return found
        body = resp.json() or {}
        for item in body.get("items") or []:
            if isinstance(item, dict) and item.get("id") in wanted:
                found[item["id"]] = item
        cursor = body.get("next")
        if not cursor:
            break
    return found


def own_record(ctx: KitContext, who: Principal) -> dict[str, Any]:
    """The record of the preset's resident principal, as staff reads it; created when the
    server has none yet."""
    if not who.resident:
        raise Skipped(f"预设中的居民 {who.name} 没有给出其居民标识（resident）",
                      f"the preset's resident {who.name} gives no resident id")
    resp = ctx.read("Resident", who.resident)
    if resp.status == 200 and isinstance(resp.json(), dict):
        return dict(resp.json())
    doc = resident(ctx)
    doc["id"] = who.resident
    created = ctx.create(doc)
    if created.status != 201:
        raise Skipped(f"无法读取或建立居民 {who.name} 本人的记录（{created.status}）",
                      f"cannot read or create the record of resident {who.name} "
                      f"({created.status})")
    return dict(ctx.read("Resident", who.resident).json() or doc)


@check(
    "/req/residents/read-access",
    "公众读不到居民记录；居民和代理人只读得到本人及有效授权（receive-information 或 "
    "manage-data）的记录，列表也一样",
    "the public reads no resident; residents and proxies read only their own records and "
    "those of residents whose proxy in force grants receive-information or manage-data, in "
    "reads and lists alike",
    needs=("proxy",),
)
def test_read_access(ctx: KitContext) -> None:
    agent = ctx.principal("proxy")
    cases = {
        "no proxy": ([], False),
        "receive-information": ([proxy(ctx, agent, ["receive-information"])], True),
        "manage-data": ([proxy(ctx, agent, ["manage-data"])], True),
        "submit-issues only": ([proxy(ctx, agent, ["submit-issues"])], False),
        "expired": ([proxy(ctx, agent, ["receive-information"], since=-60, until=-1)], False),
        "not yet in force": ([proxy(ctx, agent, ["receive-information"], since=5)], False),
    }
    ids: dict[str, str] = {}
    for label, (proxies, _) in cases.items():
        doc = resident(ctx, proxies)
        ctx.created(doc)
        ids[doc["id"]] = label
    readable = {rid for rid, label in ids.items() if cases[label][1]}
    for rid, label in ids.items():
        resp = ctx.read("Resident", rid, agent)
        want = 200 if rid in readable else 404
        ctx.expect_status(resp, want, zh=f"代理人读取（{label}）", en=f"the proxy reads ({label})")
    shown = set(listed(ctx, agent, ids))
    ctx.expect(shown == readable,
               f"代理人列表中的测试记录为 {sorted(ids[i] for i in shown)}，"
               f"应为 {sorted(ids[i] for i in readable)}",
               f"the proxy's list shows {sorted(ids[i] for i in shown)}, expected "
               f"{sorted(ids[i] for i in readable)}")
    outsiders = [p for p in (ctx.optional("public"), ctx.optional("resident")) if p is not None]
    for who in outsiders:
        for rid in ids:
            ctx.expect_problem(ctx.read("Resident", rid, who), 404)
        shown = set(listed(ctx, who, ids))
        ctx.expect(not shown, f"{who.name}（{who.role}）的列表中出现了他人的记录",
                   f"{who.name} ({who.role}) sees others' records in the list")
    own = ctx.optional("resident")
    if own is not None and own.resident:
        own_record(ctx, own)
        ctx.expect_status(ctx.read("Resident", own.resident, own), 200,
                          zh="居民读取本人记录", en="a resident reads their own record")


@check(
    "/req/residents/self-access",
    "居民读取本人记录得到完整记录（受众 self，不删减）",
    "a resident reading their own record gets all of it (audience self, nothing removed)",
    needs=("resident",),
)
def test_self_access(ctx: KitContext) -> None:
    who = ctx.principal("resident")
    full = own_record(ctx, who)
    resp = ctx.read("Resident", str(who.resident), who)
    ctx.expect_status(resp, 200, zh="居民读取本人记录", en="the resident reads their own record")
    expected = without_meta(ctx.redact(full, "self"))
    got = without_meta(resp.json())
    missing = sorted(set(expected) - set(got or {}))
    ctx.expect(got == expected,
               f"居民本人读到的记录不完整或被改变（缺少 {missing}）",
               f"the resident's own record is incomplete or altered (missing {missing})")


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


@check(
    "/req/residents/self-correction",
    "居民本人和有效的 manage-data 代理人可以更正姓名、曾用名、联系方式、渠道、地址、"
    "紧急联系人和同意，且不改变标识",
    "the resident and a manage-data proxy in force may correct name, former names, contact "
    "points, channels, address, emergency contacts and consents, and the id never changes",
    needs=("proxy",),
)
def test_self_correction(ctx: KitContext) -> None:
    agent = ctx.principal("proxy")
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
    ctx.expect(ctx.read("Resident", moved["id"]).status == 404,
               "更新以新的标识建立了记录", "the update created a record under the new id")
    ctx.expect_status(ctx.read("Resident", record.id), 200, zh="原标识仍可读取",
                      en="the record is still read at its id")
    own = ctx.optional("resident")
    if own is not None and own.resident:
        original = without_meta(own_record(ctx, own))
        mine = Tracked.existing(ctx, "Resident", own.resident)
        changed = copy.deepcopy(original)
        changed["formerNames"] = [*(changed.get("formerNames") or []), f"测试曾用名{digits}"]
        changed["preferredChannels"] = ["phone-call"]
        ctx.ensure_valid(changed, "(the resident's own corrected record)")
        mine.put(changed, own)
        ctx.expect(mine.doc.get("formerNames") == changed["formerNames"],
                   "居民本人的更正没有保存", "the resident's own correction was lost")
        restored = copy.deepcopy(original)
        mine.put(restored, own)  # leave the preset's record as it was


@check(
    "/req/residents/rights-request",
    "manage-data 代理人申请限制处理或删除时，服务器设置 restriction-requested 或 "
    "erasure-requested 并记录申请时间",
    "when a manage-data proxy asks for restriction or erasure, the server sets "
    "restriction-requested or erasure-requested and records requestedAt",
    needs=("proxy",),
)
def test_rights_request(ctx: KitContext) -> None:
    agent = ctx.principal("proxy")
    record = Tracked(ctx, resident(ctx, [proxy(ctx, agent, ["manage-data",
                                                            "receive-information"])]))
    body = without_meta(record.doc)
    body["restriction"] = {"state": "restriction-requested", "reason": "objection"}
    record.put(body, agent)
    restriction = record.doc.get("restriction") or {}
    ctx.expect(restriction.get("state") == "restriction-requested",
               f"申请限制处理后状态为 {restriction.get('state')}",
               f"after asking for restriction the state is {restriction.get('state')}")
    ctx.expect(bool(restriction.get("requestedAt")), "申请限制处理后没有记录 requestedAt",
               "no requestedAt was recorded for the restriction request")
    second = Tracked(ctx, resident(ctx, [proxy(ctx, agent, ["manage-data"])]))
    resp = ctx.call("POST", f"{second.path}/erasure-request", agent,
                    json_body={"reason": "consent-withdrawn"},
                    headers={"If-Match": second.etag})
    ctx.expect_status(resp, 200, zh="代理人申请删除", en="the proxy asks for erasure")
    restriction = second.refresh().get("restriction") or {}
    ctx.expect(restriction.get("state") == "erasure-requested" and bool(
        restriction.get("requestedAt")),
        f"申请删除后 restriction 为 {restriction}",
        f"after asking for erasure the restriction is {restriction}")


@check(
    "/req/residents/rights-request",
    "居民本人和 manage-data 代理人以外的主体不能设置 restriction-requested 或 "
    "erasure-requested",
    "no principal other than the resident or a manage-data proxy may set "
    "restriction-requested or erasure-requested",
    needs=("proxy",),
)
def test_others_may_not_request(ctx: KitContext) -> None:
    agent = ctx.principal("proxy")
    record = Tracked(ctx, resident(ctx, [proxy(ctx, agent, ["receive-information"])]))
    askers = [agent, *[p for p in (ctx.staff, ctx.optional("grid-worker"),
                                   ctx.optional("regulator"), ctx.optional("system"))
                       if p is not None]]
    for who in askers:
        body = without_meta(record.doc)
        body["restriction"] = {"state": "restriction-requested", "requestedAt": ctx.moment()}
        resp = ctx.call("PUT", record.path, who, json_body=body, headers={"If-Match": record.etag})
        _refused(ctx, record, resp, f"{who.name} ({who.role}) PUT restriction-requested")
        resp = ctx.call("POST", f"{record.path}/erasure-request", who, json_body={},
                        headers={"If-Match": record.etag})
        _refused(ctx, record, resp, f"{who.name} ({who.role}) POST erasure-request")


def _refused(ctx: KitContext, record: Tracked, resp: Any, what: str) -> None:
    ctx.expect(resp.status in (403, 404),
               f"{what} 得到 {resp.status}，应为 403", f"{what} got {resp.status}, not 403")
    ctx.expect_problem(resp, int(resp.status))
    state = (record.refresh().get("restriction") or {}).get("state", "none")
    ctx.expect(state == "none", f"{what} 之后 restriction.state 变为 {state}",
               f"after {what} restriction.state became {state}")


def _feed_reader(ctx: KitContext) -> Principal:
    for p in ctx.preset.principals.values():
        if p.role == "system" and "*" in p.communities:
            return p
    return ctx.staff


@check(
    "/req/residents/erasure",
    "执行删除后记录变为最小形式，之后的读取返回该形式而不是 404，变更订阅发布此次删除",
    "after erasure the record is its minimal form, later reads return that form rather than "
    "404, and the change feed publishes the erasure",
)
def test_erasure(ctx: KitContext) -> None:
    from ._feed import _after, _tail

    reader = _feed_reader(ctx)
    tail = _tail(ctx, reader)
    record = Tracked(ctx, resident(ctx))
    resp = ctx.call("POST", f"{record.path}/erase", ctx.staff,
                    json_body={"reason": "purpose-fulfilled"}, headers={"If-Match": record.etag})
    ctx.expect_status(resp, 200, zh="工作人员执行删除", en="staff carry out the erasure")
    readers = [ctx.staff, *[p for p in (ctx.optional("regulator"),) if p is not None]]
    for who in readers:
        got = ctx.read("Resident", record.id, who)
        ctx.expect_status(got, 200, zh=f"{who.name} 读取已删除的记录",
                          en=f"{who.name} reads the erased record")
        _minimal(ctx, got.json(), f"{who.name} reads")
    events, _ = _after(ctx, reader, tail)
    mine = [e for e in events if e.get("subject") == f"residents/{record.id}"]
    ctx.expect(len(mine) >= 2, "变更订阅中没有删除事件", "the change feed has no erasure event")
    _minimal(ctx, mine[-1].get("data"), "the erasure event")


def _minimal(ctx: KitContext, doc: Any, where: str) -> None:
    ctx.expect(isinstance(doc, dict), f"{where}：不是 JSON 对象", f"{where}: not a JSON object")
    extra = sorted(set(doc) - ERASED)
    ctx.expect(not extra, f"{where}：最小形式之外还有 {extra}",
               f"{where}: members beyond the minimal form: {extra}")
    state = (doc.get("restriction") or {}).get("state")
    ctx.expect(state == "erased", f"{where}：restriction.state 为 {state}",
               f"{where}: restriction.state is {state}")
    ctx.expect(validate(doc).valid, f"{where}：最小形式无效",
               f"{where}: the minimal form is invalid")


@check(
    "/req/residents/restricted-disclosure",
    "限制处理中的记录只对本人、manage-data 代理人和所在社区工作人员完整提供，其他主体只得到"
    "最小形式",
    "a restricted record goes whole only to the resident, a manage-data proxy and the staff "
    "of its community; anyone else gets the minimal form",
    needs=("proxy",),
)
def test_restricted_disclosure(ctx: KitContext) -> None:
    agent = ctx.principal("proxy")
    record = Tracked(ctx, resident(ctx, [proxy(ctx, agent, ["manage-data",
                                                            "receive-information"])]))
    body = without_meta(record.doc)
    body["restriction"] = {"state": "restriction-requested", "requestedAt": ctx.moment(-1)}
    record.put(body, agent)
    body = without_meta(record.doc)
    body["restriction"] = {**body["restriction"], "state": "restricted",
                           "decidedAt": ctx.moment()}
    record.put(body)
    full = without_meta(record.doc)
    for who in (ctx.staff, agent):
        got = ctx.read("Resident", record.id, who)
        ctx.expect_status(got, 200)
        ctx.expect(without_meta(got.json()) == full, f"{who.name} 没有得到完整的记录",
                   f"{who.name} did not get the whole record")
    for who in ctx.preset.principals.values():
        staff = ctx.audience(who, record.doc) == "community-staff" and who.serves(
            ctx.preset.community)
        if staff or who.role in ("resident", "proxy"):
            continue  # the community's staff see it whole; residents and proxies see above
        got = ctx.read("Resident", record.id, who)
        if got.status == 404:
            continue  # may not read this record at all
        ctx.expect_status(got, 200)
        _restricted_form(ctx, got.json(), f"{who.name} ({who.role}) reads")
        item = listed(ctx, who, [record.id]).get(record.id)
        if item is not None:
            _restricted_form(ctx, item, f"{who.name} ({who.role}) lists")
    # The proxy loses manage-data: from now on only the minimal form.
    proxies = copy.deepcopy(record.doc["proxies"])
    proxies[0]["scope"] = ["receive-information"]
    record.put(proxies=proxies)
    got = ctx.read("Resident", record.id, agent)
    ctx.expect_status(got, 200, zh="只有 receive-information 的代理人读取",
                      en="a receive-information proxy reads")
    _restricted_form(ctx, got.json(), "a receive-information proxy reads")


def _restricted_form(ctx: KitContext, doc: Any, where: str) -> None:
    ctx.expect(isinstance(doc, dict), f"{where}：不是 JSON 对象", f"{where}: not a JSON object")
    extra = sorted(set(doc) - ERASED)
    ctx.expect(not extra, f"{where}：限制处理中的记录多给了 {extra}",
               f"{where}: the restricted record also disclosed {extra}")


@check(
    "/req/residents/proxy-scope",
    "代理人只能在授权范围和有效期内代办（提交和撤回诉求、提议协商、更正记录），否则得到 403",
    "a proxy acts only within scope and period (submitting and withdrawing issues, proposing "
    "consultations, correcting the record), otherwise 403",
    needs=("proxy",),
)
def test_proxy_scope(ctx: KitContext) -> None:
    agent = ctx.principal("proxy")
    every = ["submit-issues", "follow-up-issues", "participate-consultations", "vote",
             "receive-information", "manage-data"]
    narrow = Tracked(ctx, resident(ctx, [proxy(ctx, agent, ["receive-information"])]))
    wide = Tracked(ctx, resident(ctx, [proxy(ctx, agent, every)]))
    lapsed = Tracked(ctx, resident(ctx, [proxy(ctx, agent, every, since=-90, until=-1)]))

    def issue_for(record: Tracked) -> dict[str, Any]:
        actor = {"role": "proxy", "name": "代理人",
                 "resident": {"resourceType": "Resident", "id": str(agent.resident)},
                 "onBehalfOf": {"resourceType": "Resident", "id": record.id}}
        doc = new_issue(ctx, submittedBy=actor)
        doc["history"][0]["actor"] = actor
        return ctx.ensure_valid(doc, "(issue submitted by a proxy)")

    def consultation_for(record: Tracked) -> dict[str, Any]:
        doc = ctx.document("Consultation", status="proposed")
        doc["origin"] = {**doc.get("origin", {}), "type": "resident-proposal", "proposers": [
            {"role": "proxy", "name": "代理人",
             "resident": {"resourceType": "Resident", "id": str(agent.resident)},
             "onBehalfOf": {"resourceType": "Resident", "id": record.id}}]}
        doc["origin"].pop("issues", None)
        return ctx.ensure_valid(doc, "(consultation proposed by a proxy)")

    for record, allowed in ((narrow, False), (lapsed, False), (wide, True)):
        label = {narrow.id: "receive-information only", lapsed.id: "expired",
                 wide.id: "every scope"}[record.id]
        want = 201 if allowed else 403
        doc = issue_for(record)
        resp = ctx.create(doc, agent)
        ctx.expect_status(resp, want, zh=f"代理人代为提交诉求（{label}）",
                          en=f"the proxy submits an issue ({label})")
        resp = ctx.create(consultation_for(record), agent)
        ctx.expect_status(resp, want, zh=f"代理人代为提议协商（{label}）",
                          en=f"the proxy proposes a consultation ({label})")
        if record is not lapsed:
            body = _corrected(ctx, record.doc, "777")
            resp = ctx.call("PUT", record.path, agent, json_body=body,
                            headers={"If-Match": record.etag})
            ctx.expect_status(resp, 200 if allowed else 403, zh=f"代理人更正记录（{label}）",
                              en=f"the proxy corrects the record ({label})")
        helper = {"role": "grid-worker", "name": "网格员", "userId": "kit-grid-worker",
                  "onBehalfOf": {"resourceType": "Resident", "id": record.id}}
        reported = new_issue(ctx, submittedBy=helper)
        reported["history"][0]["actor"] = helper
        staffed = Tracked(ctx, ctx.ensure_valid(reported, "(issue submitted for a resident)"))
        resp = ctx.call("POST", f"{staffed.path}/actions/withdraw", agent, json_body={},
                        headers={"If-Match": staffed.etag})
        ctx.expect_status(resp, 200 if allowed else 403, zh=f"代理人撤回诉求（{label}）",
                          en=f"the proxy withdraws an issue ({label})")


@check(
    "/req/residents/consent-append-only",
    "删除同意记录或改变其 id、purpose、legalBasis、scope、grantedAt 得到 422；撤回和新增被接受",
    "deleting a consent or changing its id, purpose, legalBasis, scope or grantedAt gets 422; "
    "withdrawing and adding are accepted",
)
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
        resp = ctx.call("PUT", record.path, ctx.staff, json_body=body,
                        headers={"If-Match": record.etag})
        record.refused(resp, 422, f"consent {member}")
    body = without_meta(record.doc)
    body["consents"][index].update(status="withdrawn", withdrawnAt=ctx.moment())
    body["consents"].append({**consent, "id": ctx.new_id(), "grantedAt": ctx.moment(-1)})
    record.put(ctx.ensure_valid(body, "(consent withdrawn, one added)"))


def _today_minus_years(ctx: KitContext, years: int) -> str:
    today = ctx.moment()[:10]
    year, rest = int(today[:4]), today[4:]
    if rest == "-02-29":
        rest = "-02-28"
    return f"{year - years}{rest}"


@check(
    "/req/residents/minor-sensitive",
    "不满 14 周岁居民的个人信息按敏感信息处理",
    "the personal information of a resident under 14 is treated as sensitive",
)
def test_minor_sensitive(ctx: KitContext) -> None:
    doc = resident(ctx)
    doc["birthDate"] = _today_minus_years(ctx, 10)
    for member in ("identityDocuments", "vulnerabilities", "household", "proxies"):
        doc.pop(member, None)
    doc["consents"] = [c for c in doc.get("consents") or []
                       if not any(str(s).startswith(("/proxies", "/vulnerabilities",
                                                     "/identityDocuments", "/household"))
                                  for s in c.get("scope") or [])]
    ctx.ensure_valid(doc, "(a ten-year-old resident)")
    ctx.created(doc)
    treatments = ctx.spec.privacy["treatments"]
    plan = compile_plan(ctx.spec, "Resident")
    observed = 0
    for who in ctx.preset.principals.values():
        resp = ctx.read("Resident", doc["id"], who)
        if resp.status != 200:
            continue
        audience = ctx.audience(who, doc)
        rule = treatments[audience]
        if audience == "self" or rule["personal"] == rule["sensitive"]:
            continue  # treating personal as sensitive changes nothing for this audience
        observed += 1
        got = resp.json() or {}
        for path, cls, _ in plan.pipl:
            if cls != "personal" or rule["sensitive"] == "keep":
                continue
            for where, value in values_at(doc, path):
                shown = [v for w, v in values_at(got, path) if w == where]
                ctx.expect(not shown or shown[0] != value,
                           f"{who.name}（{audience}）收到了未成年人未脱敏的个人信息 {where}",
                           f"{who.name} ({audience}) received the minor's personal data {where} "
                           "unredacted")
    if not observed:
        raise Skipped(
            "预设中能读取居民记录的主体，其受众对个人信息和敏感信息的处理都相同"
            "（见 privacy.json），无法观察本需求",
            "every preset principal that may read the record has an audience treating personal "
            "and sensitive data alike (privacy.json), so the rule cannot be observed",
        )


def _grid(ctx: KitContext) -> str:
    return f"{ctx.preset.community}-K{ctx.new_id()[:6].upper()}"


def _membership(ctx: KitContext, grid: str, until: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"community": ctx.preset.community, "grid": grid,
                            "residencyType": "registered-resident", "since": "2020-01-01"}
    if until is not None:
        item["until"] = until
    return item


@check(
    "/req/residents/list-filters",
    "居民列表支持 grid（当日有效的网格归属）和 pseudonym 过滤",
    "the resident list filters by grid (memberships in force today) and pseudonym",
)
def test_resident_filters(ctx: KitContext) -> None:
    grid, other = _grid(ctx), _grid(ctx)
    yesterday, later = ctx.moment(-1)[:10], ctx.moment(30)[:10]
    cases = {
        "in force": [_membership(ctx, grid)],
        "ended yesterday": [_membership(ctx, grid, yesterday)],
        "ends later": [_membership(ctx, grid, later)],
        "other grid": [_membership(ctx, other)],
    }
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
    ctx.expect(got == {"in force", "ends later"},
               f"按网格过滤得到 {sorted(got)}，应为 ['ends later', 'in force']",
               f"filtering by grid gave {sorted(got)}, expected ['ends later', 'in force']")
    got = {ids[i] for i in listed(ctx, ctx.staff, ids, pseudonym=pseudonym)}
    ctx.expect(got == {"pseudonym"}, f"按假名过滤得到 {sorted(got)}",
               f"filtering by pseudonym gave {sorted(got)}")
    resp = ctx.call("GET", "/residents", ctx.staff, params={"pseudonym": pseudonym})
    items = (resp.json() or {}).get("items") or []
    ctx.expect(all(any(d.get("pseudonym") == pseudonym for d in i.get("identityDocuments") or [])
                   for i in items), "按假名过滤返回了其他居民",
               "filtering by pseudonym returned other residents")


@check(
    "/req/residents/name-on-write",
    "没有姓名的居民记录（未删除）在创建和更新时都得到 422",
    "a resident record without a name (not erased) gets 422 on create and on update",
)
def test_name_on_write(ctx: KitContext) -> None:
    doc = resident(ctx)
    doc.pop("name")
    ctx.ensure_valid(doc, "(resident without a name)")
    ctx.expect_problem(ctx.create(doc), 422)
    ctx.expect(ctx.read("Resident", doc["id"]).status == 404, "没有姓名的记录被保存了",
               "the record without a name was stored")
    record = Tracked(ctx, resident(ctx))
    body = without_meta(record.doc)
    body.pop("name")
    resp = ctx.call("PUT", record.path, ctx.staff, json_body=body,
                    headers={"If-Match": record.etag})
    record.refused(resp, 422, "PUT without name")


@check(
    "/req/residents/preferred-contact-unique",
    "同一类型有两个首选联系方式的居民记录被拒收（422）",
    "a resident with two preferred contact points of one type is refused (422)",
)
def test_preferred_contact(ctx: KitContext) -> None:
    doc = resident(ctx)
    doc["contactPoints"] = [{"type": "mobile", "phone": "+8613800138000", "preferred": True},
                            {"type": "mobile", "phone": "+8613900139000", "preferred": True}]
    problem = ctx.expect_problem(ctx.create(doc), 422)
    pointers = [str(e.get("pointer")) for e in problem.get("errors") or []]
    ctx.expect(any(p.startswith("/contactPoints") for p in pointers),
               f"422 没有指向 /contactPoints：{pointers}",
               f"the 422 does not point at /contactPoints: {pointers}")


@check(
    "/req/residents/grid-in-community",
    "网格不属于归属社区的居民记录被拒收（422）",
    "a resident whose membership grid lies outside its community is refused (422)",
)
def test_resident_grid(ctx: KitContext) -> None:
    from ._issues import _other_community

    doc = resident(ctx)
    doc["memberships"] = [_membership(ctx, _other_community(ctx) + "-01")]
    problem = ctx.expect_problem(ctx.create(doc), 422)
    pointers = [str(e.get("pointer")) for e in problem.get("errors") or []]
    ctx.expect(any(p.startswith("/memberships") for p in pointers),
               f"422 没有指向 /memberships：{pointers}",
               f"the 422 does not point at /memberships: {pointers}")


@check(
    "/req/residents/pseudonym-consistent",
    "持有城市共享密钥的服务器拒收与号码不符的假名（422），接收相符的假名",
    "a server holding the city's shared key refuses a pseudonym that does not match the "
    "number (422) and accepts one that does",
)
def test_pseudonym_consistent(ctx: KitContext) -> None:
    from ... import identifiers

    doc = _with_number(ctx)
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
    problem = ctx.expect_problem(resp, 422)
    pointers = [str(e.get("pointer")) for e in problem.get("errors") or []]
    ctx.expect(any(p.startswith("/identityDocuments") for p in pointers),
               f"422 没有指向 /identityDocuments：{pointers}",
               f"the 422 does not point at /identityDocuments: {pointers}")
    if ctx.pseudonym_key is not None:
        doc = _with_number(ctx)
        document = next(d for d in doc["identityDocuments"] if d.get("number"))
        document["pseudonym"] = identifiers.citizen_id_pseudonym(document["number"],
                                                                 ctx.pseudonym_key)
        ctx.expect_status(ctx.create(doc), 201, zh="与号码相符的假名应被接收",
                          en="a pseudonym that matches the number is accepted")


def _with_number(ctx: KitContext) -> dict[str, Any]:
    for _ in range(30):
        doc = resident(ctx)
        if any(d.get("number") for d in doc.get("identityDocuments") or []):
            return doc
    raise Skipped("规范中没有带完整身份号码的居民模板",
                  "the spec has no resident template with a full identity number")
