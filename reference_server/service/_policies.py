"""What each resource type adds to the generic operations: who may write, and what is checked.

The requirement each check enforces is named beside it; every check raises before anything is
stored, so a refused request changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from smartcommunity.lifecycle import merge_into_target
from smartcommunity.participation import (
    decision_disagreements,
    moment,
    not_awaiting,
    reply_due,
    support_problems,
    unanswered,
)
from smartcommunity.pointers import resolve_pointer

from ..auth import Principal
from ..errors import (
    ActorMismatch,
    AlreadyRestricted,
    NotRequested,
    RepliesMissing,
    Restricted,
    Unprocessable,
    coded,
    finding,
)
from ..storage import CONSULTATION, Stored, derive
from ._policy import Policy, changed, policy_for, sub
from ._profile import deadlines_due, redue
from ._shared import Host, Write, forbidden, now_cst, stamp, unprocessable

__all__ = ["ITEMS", "RETENTION_EXPIRED", "SWEEPER_ROLE", "ConsultationPolicy", "IssuePolicy",
           "OrganisationPolicy", "Policy", "ResidentPolicy", "VoicePolicy"]

#: the legal ground, event action and audit operation of clearing when a retention period
#: passed (/req/privacy/retention)
RETENTION_EXPIRED = "retention-expired"
#: the role the retention sweep acts as, in the audit log
SWEEPER_ROLE = "system"

#: which items of an action request each action takes, and the details members naming them
ITEMS = {"dispatch": ("assignments", ("lead", "assisting")), "reassign": ("assignments", ("to",)),
         "follow-up": ("followUps", ("followUpId",))}
#: the actions whose new assignments a city profile routes when they name no department
ROUTED = ("dispatch",)
#: what a decision waits for, and how far ahead of the clock a receivedAt may be
REPLY_BEFORE_DECIDE = "/req/voice/reply-before-decide"
#: a consultation's proposers: the credential when she proposes for herself, then fixed
PROPOSERS_FIXED = "/req/consultations/proposers-fixed"
#: a restricted resident record is written only by those who receive it whole
RESTRICTED_WRITES = "/req/residents/restricted-writes"
#: a decision made by an update is the server's record of when and by whom
DECISION_RECORDED = "/req/residents/decision-recorded"
#: the residents staff name as proposers are within their reach
IN_REACH = "/req/consultations/proposers-in-reach"
OUT_OF_REACH = "consultation.proposer-out-of-reach"


@policy_for("Resident")
class ResidentPolicy(Policy):
    audited = True
    id_requirement = "/req/residents/self-correction"
    #: members a resident or their manage-data proxy may correct (/req/residents/self-correction)
    correctable = frozenset({"name", "formerNames", "contactPoints", "preferredChannels",
                             "address", "emergencyContacts", "consents", "meta", "restriction"})
    requested = ("restriction-requested", "erasure-requested")
    #: when a request was made and decided, and by whom: the record of it, which no update
    #: leaving the state as it is rewrites (/req/residents/rights-request)
    request_members = ("requestedAt", "decidedAt", "decidedBy")
    #: the right whose roles decide a request: they alone, besides the resident and her
    #: manage-data proxy, change restriction by an update (/req/residents/rights-request)
    decides = "erase"
    #: the states an update moves a record into by deciding: a request granted or refused,
    #: a restriction lifted or made on a legal ground (/req/residents/decision-recorded)
    decided = ("restricted", "none")

    @staticmethod
    def _state(doc: Mapping[str, Any]) -> Any:
        return sub(doc, "restriction").get("state", "none")

    def check_writable(self, principal: Principal, stored: Stored) -> None:
        # /req/residents/restricted-writes: a writer given only the minimal form of a
        # restricted record can neither read nor check what it would change. That form shows
        # the state, so saying why tells it nothing it does not receive.
        if self.access.restricted_from(principal, stored):
            raise Restricted(role=principal.role, errors=[coded(
                "", "resident.restricted", self.service.spec.version, RESTRICTED_WRITES,
                role=principal.role)])

    def check_create(self, principal: Principal, doc: dict[str, Any]) -> None:
        # A record naming no community joins the creator's (see Service._prepare).
        communities = derive(doc).communities
        if communities and not principal.serves_any(communities):
            raise forbidden(principal, "the resident belongs to no community you serve",
                            "该居民不属于您服务的社区", "/req/privacy/community-isolation",
                            "/memberships")
        self._no_request(principal, doc)
        self._named(doc)

    def _no_request(self, principal: Principal, doc: Mapping[str, Any]) -> None:
        """/req/residents/rights-request: a create is no request, so a new record carries no
        state but none and no record of a request or decision; records in other states come in
        by import or mirroring, which keep what they copy."""
        restriction = doc.get("restriction")
        if not isinstance(restriction, Mapping):
            return
        if self._state(doc) != "none":
            raise forbidden(principal, "a new record is created with restriction.state none: "
                            "only the resident's request and its decision change it",
                            "新建记录的 restriction.state 只能是 none："
                            "只有居民的申请及其决定能改变它",
                            "/req/residents/rights-request", "/restriction/state")
        extra = sorted(m for m in restriction if m != "state")
        if extra:
            raise forbidden(principal, f"a new record carries no restriction.{extra[0]}: "
                            "nothing was asked or decided yet",
                            f"新建记录不能带有 restriction.{extra[0]}：尚未提出申请，也未作出决定",
                            "/req/residents/rights-request", f"/restriction/{extra[0]}")

    def _named(self, doc: Mapping[str, Any]) -> None:
        if "name" not in doc and self._state(doc) != "erased":
            raise unprocessable([("/name", "a stored resident record needs a name",
                                  "保存的居民记录必须有姓名", "/req/residents/name-on-write")])

    def prepare_update(self, principal: Principal, stored: Stored,
                       doc: dict[str, Any]) -> dict[str, Any]:
        new_state = self._state(doc)
        restriction = doc.get("restriction", {"state": "none"})  # omitted means none
        if new_state == self._state(stored.doc) or not isinstance(restriction, dict):
            return doc  # restrictedAt, if changed, is refused in check_update
        if new_state in self.requested:
            # /req/residents/rights-request: the server records when the request was made,
            # whatever the body states; the earlier request's decision is not this one's.
            kept = {k: v for k, v in restriction.items() if k not in self.request_members}
            restriction = {**kept, "requestedAt": stamp(now_cst())}
        elif new_state in self.decided:
            restriction = self._decision(principal, stored.doc, restriction)
        return {**doc, "restriction": self._marked(stored.doc, restriction)}

    def _decision(self, principal: Principal, old: Mapping[str, Any],
                  restriction: Mapping[str, Any]) -> dict[str, Any]:
        """``restriction`` as the update deciding in it leaves it: decided now by the
        principal's organisation, on the request stored, or on none asked before now
        (/req/residents/decision-recorded). What the body claims beyond that is left for
        check_update to refuse: another decider, another time of the request decided."""
        at = stamp(now_cst())
        out = {k: v for k, v in restriction.items() if k not in ("decidedAt", "decidedBy")}
        before = sub(old, "restriction")
        if self._state(old) == "none":
            out["requestedAt"] = at  # staff restrict on their own initiative
        elif "requestedAt" not in out and "requestedAt" in before:
            out["requestedAt"] = before["requestedAt"]
        out["decidedAt"] = at
        stated, own = restriction.get("decidedBy"), _decider(principal)
        if stated is not None and stated != before.get("decidedBy") and not (
                isinstance(stated, Mapping) and stated.get("id") == principal.organisation_id):
            out["decidedBy"] = stated  # names another: refused, never stored
        elif own is not None:
            out["decidedBy"] = own
        return out

    def _marked(self, old: Mapping[str, Any], restriction: Mapping[str, Any]
                ) -> dict[str, Any]:
        """``restriction``, the new one of a record whose state changes from ``old``'s, with
        the server's record of a restriction that holds through it
        (/req/residents/rights-request): a request made while restricted records when the
        restriction was carried out (its decidedAt, never after the request), one moving
        between the requests keeps it, a decision drops it. What a body states is never
        taken, so that no request lifts a restriction or makes one."""
        marker = self.access.restricted_kept
        out = {k: v for k, v in restriction.items() if k != marker}
        if marker is None or out.get("state") not in self.requested:
            return out
        before = sub(old, "restriction")
        if before.get("state") == self.access.restricted_state:
            decided, asked = before.get("decidedAt"), out.get("requestedAt")
            out[marker] = (decided if isinstance(decided, str) and isinstance(asked, str)
                           and not _later(decided, asked) else asked)
        elif before.get("state") in self.requested and marker in before:
            out[marker] = before[marker]
        return out

    def check_update(self, tx: Any, principal: Principal, current: Stored,
                     doc: dict[str, Any]) -> None:
        old = current.doc
        old_state, new_state = self._state(old), self._state(doc)
        if old_state == "erased":
            raise unprocessable([("/restriction/state", "an erased record cannot be updated",
                                  "已删除的记录不能更新", "/req/residents/erasure")])
        if new_state == "erased":
            raise unprocessable([("/restriction/state",
                                  "erasure is carried out with POST /residents/{id}/erase",
                                  "删除须通过 POST /residents/{id}/erase 执行",
                                  "/req/residents/erasure")])
        self._named(doc)
        self._consents_kept(old, doc)
        if principal.role in self.access.own_record_roles:
            own = current.id == principal.resident
            if not own and not self.access.proxy_grants(old, principal, {"manage-data"}):
                raise forbidden(principal, "only the resident or a proxy in force with "
                                "manage-data may correct this record",
                                "只有居民本人或范围含 manage-data 的有效代理人可以更正此记录",
                                "/req/residents/proxy-scope")
            fixed = sorted(m for m in set(old) | set(doc)
                           if m not in self.correctable and changed(old, doc, m))
            if fixed:
                allowed = sorted(self.correctable - {"meta", "restriction"})
                raise forbidden(principal, f"a resident may correct only {allowed}, not {fixed}",
                                "居民只能更正姓名、联系方式、地址、紧急联系人和同意，"
                                f"不能更改 {fixed}",
                                "/req/residents/self-correction", f"/{fixed[0]}")
            if new_state not in (old_state, *self.requested):
                raise forbidden(principal, "a resident may ask for restriction or erasure, "
                                f"not set {new_state}",
                                f"居民只能申请限制处理或删除，不能设为 {new_state}",
                                "/req/residents/rights-request", "/restriction/state")
            if new_state == old_state:
                self._request_kept(principal, old, doc)
            else:
                self._asks_something(old_state, new_state)
            return
        if (_restriction(old) != _restriction(doc)
                and principal.role not in self.rights.get(self.decides, frozenset())):
            # /req/residents/rights-request: the resident asks, those who erase decide.
            raise forbidden(principal, "restriction changes only by the resident's request or "
                            "the decision of those who carry out erasure",
                            "限制与删除状态只能由居民申请或由执行删除的人员决定而改变",
                            "/req/residents/rights-request", "/restriction")
        if new_state == old_state:
            # Neither asking nor deciding, the staff's update keeps the record of both.
            self._request_kept(principal, old, doc)
        elif new_state in self.decided:
            self._decided_by_principal(principal, old, doc)
        if not principal.serves_any(derive(doc).communities):
            raise forbidden(principal, "the record would leave the communities you serve",
                            "更新后的记录不属于您服务的社区", "/req/privacy/community-isolation",
                            "/memberships")
        # Refusing a request made while the record was restricted, staff restrict it again:
        # that restriction was decided before (/req/residents/erasure-on-request).
        if (new_state == "restricted" and old_state not in ("restricted", "restriction-requested")
                and self.access.restricted_kept not in sub(old, "restriction")):
            self._on_legal_ground("restrict", sub(doc, "restriction").get("reason"))
        if new_state in self.requested and new_state != old_state:
            raise forbidden(principal, "only the resident or their proxy may ask for "
                            "restriction or erasure",
                            "只有居民本人或其代理人可以申请限制处理或删除",
                            "/req/residents/rights-request", "/restriction/state")

    def _asks_something(self, old_state: str, new_state: str) -> None:
        """/req/residents/rights-request: a record restricted already is not asked for
        restriction (409): the request would leave staff nothing to decide. Erasure may be
        asked, and withdrawn back to restriction, as before."""
        if old_state == self.access.restricted_state and new_state == self.requested[0]:
            raise AlreadyRestricted(errors=[coded(
                "/restriction/state", "resident.already-restricted", self.service.spec.version,
                "/req/residents/rights-request")])

    def _request_kept(self, principal: Principal, old: Mapping[str, Any],
                      doc: Mapping[str, Any]) -> None:
        """/req/residents/rights-request: leaving the state as it is, an update keeps when the
        request was made and decided, and by whom (the same instant in any spelling)."""
        before, now = sub(old, "restriction"), sub(doc, "restriction")
        for member in self.request_members:
            if not _same_instant(before.get(member), now.get(member)):
                raise forbidden(principal, f"restriction.{member} is the server's record of the "
                                "request and stays as it is",
                                f"restriction.{member} 是服务器对申请的记录，不得更改",
                                "/req/residents/rights-request", f"/restriction/{member}")
        self._marker_kept(principal, old, doc)

    def _decided_by_principal(self, principal: Principal, old: Mapping[str, Any],
                              doc: Mapping[str, Any]) -> None:
        """/req/residents/decision-recorded: deciding, staff keep when the request decided
        was made (403), and name no organisation but their own as the decider (403
        http.actor-mismatch, as an actor claiming another is)."""
        before, now = sub(old, "restriction"), sub(doc, "restriction")
        if self._state(old) != "none" and not _same_instant(before.get("requestedAt"),
                                                            now.get("requestedAt")):
            raise forbidden(principal, "restriction.requestedAt is when the request decided "
                            "was made, and stays as it is",
                            "restriction.requestedAt 是所决定的申请的时间，不得更改",
                            DECISION_RECORDED, "/restriction/requestedAt")
        decider = now.get("decidedBy")
        if decider is not None and (not isinstance(decider, Mapping)
                                    or decider.get("id") != principal.organisation_id):
            raise ActorMismatch(member="organisation", errors=[coded(
                "/restriction/decidedBy", "http.actor-mismatch", self.service.spec.version,
                DECISION_RECORDED, member="organisation")])

    def _marker_kept(self, principal: Principal, old: Mapping[str, Any],
                     doc: Mapping[str, Any]) -> None:
        """/req/residents/rights-request: leaving the state as it is, no update moves or drops
        the server's record that a restriction holds through the pending request (dropping it
        would lift the restriction, adding it make one)."""
        marker = self.access.restricted_kept
        if marker is None:
            return
        before, now = sub(old, "restriction"), sub(doc, "restriction")
        if not _same_instant(before.get(marker), now.get(marker)):
            raise forbidden(principal, f"restriction.{marker} is the server's record that the "
                            "restriction holds until the request is decided, and stays as it is",
                            f"restriction.{marker} 是服务器对限制处理在申请决定之前仍然有效的记录，"
                            "不得更改", "/req/residents/rights-request", f"/restriction/{marker}")

    def _on_legal_ground(self, operation: str, reason: Any) -> None:
        """/req/residents/erasure-on-request: without the resident's request, only a legal
        ground stated as the reason lets staff erase or restrict."""
        grounds = self.service.spec.parameter("/req/residents/erasure-on-request", "legalGrounds")
        if reason not in grounds:
            raise NotRequested(operation=operation)

    def _consents_kept(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        """/req/residents/consent-append-only."""
        fixed = ("id", "purpose", "legalBasis", "scope", "grantedAt")
        by_id = {c.get("id"): (i, c) for i, c in enumerate(new.get("consents") or ())
                 if isinstance(c, Mapping)}
        problems = []
        for i, consent in enumerate(old.get("consents") or ()):
            if not isinstance(consent, Mapping):
                continue
            found = by_id.get(consent.get("id"))
            if found is None:
                problems.append((f"/consents/{i}", f"consent {consent.get('id')} may not be "
                                 "deleted", f"同意记录 {consent.get('id')} 不得删除",
                                 "/req/residents/consent-append-only"))
                continue
            j, now = found
            for member in fixed:
                if consent.get(member) != now.get(member):
                    problems.append((f"/consents/{j}/{member}", f"{member} of a consent may not "
                                     "change", f"同意记录的 {member} 不得更改",
                                     "/req/residents/consent-append-only"))
            if consent.get("status") == "withdrawn" and now.get("status") != "withdrawn":
                problems.append((f"/consents/{j}/status", "a withdrawn consent stays withdrawn",
                                 "已撤回的同意不能恢复", "/req/residents/consent-append-only"))
            elif consent.get("status") == "withdrawn" and not _same_instant(
                    consent.get("withdrawnAt"), now.get("withdrawnAt")):
                # When it was withdrawn is part of the record, as grantedAt is.
                problems.append((f"/consents/{j}/withdrawnAt", "withdrawnAt of a withdrawn "
                                 "consent may not change", "已撤回同意的 withdrawnAt 不得更改",
                                 "/req/residents/consent-append-only"))
        if problems:
            raise unprocessable(problems)

    def right(self, principal: Principal, stored: Stored, operation: str,
              body: Mapping[str, Any], at: str) -> tuple[dict[str, Any], str]:
        """The record after an erasure request or an erasure, and the event kind."""
        doc = stored.doc
        restriction = dict(sub(doc, "restriction"))
        state = restriction.get("state", "none")
        self.items(body, operation)
        if operation == "erasure-request":
            # /req/residents/rights-request: nobody else may set the requested states.
            own = self.may_exercise(principal, operation) and (
                stored.id == principal.resident
                or self.access.proxy_grants(doc, principal, {"manage-data"}))
            if not own:
                raise forbidden(principal, "only the resident or a proxy in force with "
                                "manage-data may ask for erasure",
                                "只有居民本人或范围含 manage-data 的有效代理人可以申请删除",
                                "/req/residents/rights-request")
        elif not (self.may_exercise(principal, operation)
                  and principal.serves_any(stored.communities)):
            raise forbidden(principal, "only the staff of the resident's community carry out "
                            "an erasure", "只有居民所在社区的工作人员可以执行删除",
                            "/req/residents/erasure")
        if state == "erased":
            raise unprocessable([("/restriction/state", "the record is erased already",
                                  "记录已经删除", "/req/residents/erasure")])
        reason = body.get("reason") or restriction.get("reason")
        if operation != "erasure-request" and state != "erasure-requested":
            self._on_legal_ground(operation, body.get("reason"))
        if operation == "erasure-request":
            new = copy.deepcopy(doc)
            requested_at = restriction.get("requestedAt") if state == "erasure-requested" else at
            asked = {"state": "erasure-requested", "requestedAt": requested_at or at,
                     **({"reason": reason} if reason else {})}
            # A restricted record stays so while its erasure waits (rights-request).
            new["restriction"] = self._marked(doc, asked)
            return new, "updated"
        new = self.access.erased_form(doc)
        new["restriction"] = {"state": "erased",
                              "requestedAt": restriction.get("requestedAt") or at,
                              "decidedAt": at}
        if reason:
            new["restriction"]["reason"] = reason
        org = _decider(principal)
        if org is not None:
            new["restriction"]["decidedBy"] = org
        return new, "erased"


    def expire(self, stored: Stored, at: str) -> tuple[dict[str, Any], str]:
        """The erased form, on the legal ground that the retention period passed."""
        new = self.access.erased_form(stored.doc)
        new["restriction"] = {"state": "erased", "requestedAt": at, "decidedAt": at,
                              "reason": RETENTION_EXPIRED}
        return new, "erased"


@policy_for("Issue")
class IssuePolicy(Policy):
    details_requirement = "/req/issues/action-details"
    takes = ITEMS
    creator_members = ("submittedBy",)
    item_actors: Mapping[str, str] = {"assignments": "assignedBy", "followUps": "by"}
    proxy_scopes = ("submit-issues", "follow-up-issues")
    #: lifecycle members a PUT may not change (/req/issues/lifecycle-fields-read-only)
    read_only = ("resolution", "reply", "mergedInto", "transferredTo", "assignments",
                 "followUps", "assessmentExclusions")

    def __init__(self, service: Host, rtype: str) -> None:
        super().__init__(service, rtype)
        #: assignment statuses that hold the task (/req/issues/single-active-lead)
        self.active = tuple(service.spec.parameter("/req/issues/single-active-lead",
                                                   "activeAssignmentStatuses"))
        #: reporter disclosures from the least protective to the most
        #: (/req/privacy/reporter-disclosure)
        self.disclosure_order = tuple(service.spec.parameter(
            "/req/privacy/reporter-disclosure", "disclosureOrder"))

    def complete(self, doc: Any) -> Any:
        """A new issue gets the deadlines of the city's catalogue and calendar that it does not
        state (/req/profiles/deadlines); stated ones are checked against them on validation."""
        profile = self.service.profile
        if profile is None or not isinstance(doc, dict):
            return doc
        stated = doc.get("deadlines", {})
        if not isinstance(stated, dict):
            return doc
        due = {k: v for k, v in deadlines_due(profile, doc).items() if k not in stated}
        return {**doc, "deadlines": {**stated, **due}} if due else doc

    def prepare_update(self, principal: Principal, stored: Stored,
                       doc: dict[str, Any]) -> dict[str, Any]:
        """An issue whose category, urgency or submission time a PUT changes gets the city's
        deadlines for the new values where the PUT leaves them as they were
        (/req/profiles/deadlines)."""
        profile = self.service.profile
        if profile is None or not isinstance(stored.doc, dict):
            return doc
        return redue(profile, stored.doc, doc)

    def route(self, doc: Mapping[str, Any], action: str, body: dict[str, Any]
              ) -> dict[str, Any]:
        """A dispatch whose new assignments name no department goes to the departments the
        city's catalogue gives the issue's category: the lead assignment to its lead, the
        assisting ones to its assisting departments in order."""
        profile = self.service.profile
        details, items = sub(body, "details"), sub(body, "items")
        if profile is None or action not in ROUTED or not isinstance(items.get("assignments"),
                                                                     list):
            return body
        service = profile.service(str(doc.get("category")))
        if service is None:
            return body
        # The body is not validated yet (routing fills what its schema asks for): only text
        # names an assignment, whatever else a malformed request holds.
        lead, assisting = details.get("lead"), details.get("assisting")
        chosen = {lead: service.lead} if isinstance(lead, str) else {}
        if isinstance(assisting, list):
            chosen.update((a, d) for a, d in zip(assisting, service.assisting, strict=False)
                          if isinstance(a, str))
        routed = []
        for item in items["assignments"]:
            named = item.get("id") if isinstance(item, dict) else None
            code = chosen.get(named) if isinstance(named, str) else None
            org = profile.organisation(code) if code is not None else None
            if isinstance(item, dict) and "department" not in item and org is not None:
                item = {**item, "department": {"id": code, "name": org.get("name"),
                                               "type": org.get("type")}}
            routed.append(item)
        return {**body, "items": {**items, "assignments": routed}}

    def check_create(self, principal: Principal, doc: dict[str, Any]) -> None:
        if not principal.serves(doc.get("communityDivisionCode")):
            raise forbidden(principal, "the issue's community is not one you serve",
                            "诉求所属社区不是您服务的社区", "/req/privacy/community-isolation",
                            "/communityDivisionCode")
        problems = self.creation_problems(doc, "/req/issues/create-submitted",
                                          ("resolution", "assignments", "followUps"))
        if problems:
            raise unprocessable(problems)

    def _references_exist(self, tx: Any, doc: Mapping[str, Any],
                          old: Mapping[str, Any] | None = None) -> None:
        """/req/issues/merge-target-exists: mergedInto and mergedDuplicates name stored issues."""
        problems = []
        refs = [("/mergedInto", doc.get("mergedInto"))] if "mergedInto" in doc else []
        refs += [(f"/mergedDuplicates/{i}", rid)
                 for i, rid in enumerate(doc.get("mergedDuplicates") or ())]
        known = set((old or {}).get("mergedDuplicates") or ())
        for where, rid in refs:
            if rid in known:
                continue  # unchanged by this write: its merge put it there
            if rid == doc.get("id") or tx.get(self.rtype, str(rid)) is None:
                problems.append((where, f"{rid} is not an issue this server holds",
                                 f"{rid} 不是本服务器上的诉求", "/req/issues/merge-target-exists"))
        if problems:
            raise unprocessable(problems)

    def check_create_stored(self, tx: Any, principal: Principal, doc: dict[str, Any]) -> None:
        self._references_exist(tx, doc)
        if principal.role == "proxy":
            behalf = sub(sub(doc, "submittedBy"), "onBehalfOf").get("id")
            if not self.proxy_for(tx, principal, behalf, "submit-issues"):
                raise forbidden(principal, "a proxy submits only for a resident who authorised "
                                "them to submit issues", "代理人只能为授权其提交诉求的居民提交",
                                "/req/residents/proxy-scope", "/submittedBy/onBehalfOf")

    def check_update(self, tx: Any, principal: Principal, current: Stored,
                     doc: dict[str, Any]) -> None:
        old = current.doc
        self.lifecycle_unchanged(old, doc)
        if not principal.serves(doc.get("communityDivisionCode")):
            raise forbidden(principal, "the issue would leave the communities you serve",
                            "更新后的诉求不属于您服务的社区", "/req/privacy/community-isolation",
                            "/communityDivisionCode")
        problems = [(f"/{m}", f"{m} changes only through lifecycle actions",
                     f"{m} 只能通过生命周期动作改变", "/req/issues/lifecycle-fields-read-only")
                    for m in self.read_only if changed(old, doc, m)]
        if sub(old, "deadlines").get("extensions") != sub(doc, "deadlines").get("extensions"):
            problems.append(("/deadlines/extensions", "extensions are recorded by extend-deadline",
                             "延期只能通过 extend-deadline 记录",
                             "/req/issues/lifecycle-fields-read-only"))
        lowered = self._disclosure_lowered(old, doc)
        if problems or lowered:
            errors = [*lowered, *unprocessable(problems).errors]
            raise Unprocessable(count=len(errors), errors=errors)
        self._references_exist(tx, doc, old)

    def _disclosure_lowered(self, old: Mapping[str, Any], new: Mapping[str, Any]
                            ) -> list[dict[str, Any]]:
        """/req/privacy/reporter-disclosure: an update may make reporterDisclosure only more
        protective, in the requirement's order; lifting the reporter's protection would show
        her to readers it was withheld from."""
        order = list(self.disclosure_order)
        where = self.access.reporter_disclosure  # privacy.json names the member
        stored, given = (_at(doc, where) for doc in (old, new))
        if stored not in order or given not in order or order.index(given) >= order.index(stored):
            return []  # an unknown value is the schema's to refuse
        return [coded(where, "issue.disclosure-lowered", self.service.spec.version,
                      "/req/privacy/reporter-disclosure", stored=stored, given=given,
                      order=" < ".join(order))]

    def _assignments(self, doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        return [a for a in doc.get("assignments") or () if isinstance(a, Mapping)]

    def check_action(self, tx: Any, principal: Principal, stored: Stored, action: str,
                     body: Mapping[str, Any], actor: Mapping[str, Any]) -> dict[str, Any]:
        doc = stored.doc
        details = body.get("details") or {}
        assignments = self._assignments(doc)
        by_id = {a.get("id"): a for a in assignments}
        active_lead = next((a for a in assignments
                            if a.get("role") == "lead" and a.get("status") in self.active), None)
        if action == "withdraw" and principal.role in ("resident", "proxy", "grid-worker"):
            self._may_withdraw(tx, principal, doc)
        if principal.role == "department":
            org = principal.organisation_id
            if action in ("claim", "return", "resolve"):
                holds = active_lead is not None and sub(active_lead, "department").get("id") == org
            elif action in ("add-progress", "extend-deadline"):
                holds = any(a.get("status") in self.active and sub(a, "department").get("id") == org
                            for a in assignments)
            else:
                holds = True
            if not holds:
                raise forbidden(principal, "your organisation holds no active assignment of "
                                f"this issue for {action}",
                                f"您的单位没有本诉求可执行 {action} 的有效任务",
                                "/req/issues/department-own-assignment")
        problems = []
        if action in ("claim", "return"):
            wanted = ("pending",) if action == "claim" else self.active
            if (active_lead is None or details.get("assignmentId") != active_lead.get("id")
                    or active_lead.get("status") not in wanted):
                named = details.get("assignmentId")
                kind = "待签收" if action == "claim" else "有效"
                problems.append(("/details/assignmentId",
                                 f"{named} is not the issue's {' or '.join(wanted)} lead "
                                 "assignment", f"{named} 不是本诉求{kind}的主办任务",
                                 "/req/issues/assignment-history"))
        elif action == "reassign":
            old = by_id.get(details.get("from"))
            if old is None or old.get("role") != "lead" or old.get("status") not in (
                    *self.active, "returned"):
                problems.append(("/details/from", "from must be the issue's active or returned "
                                 "lead assignment", "from 必须是本诉求有效或已退回的主办任务",
                                 "/req/issues/assignment-history"))
            if details.get("to") in by_id:
                problems.append(("/details/to", "to must name a new assignment",
                                 "to 必须是新任务的标识", "/req/issues/assignment-history"))
        elif action == "dispatch":
            new_ids = [details.get("lead"), *(details.get("assisting") or ())]
            for i, aid in enumerate(new_ids):
                if aid in by_id or new_ids.index(aid) != i:
                    where = "/details/lead" if i == 0 else f"/details/assisting/{i - 1}"
                    problems.append((where, f"{aid} must name a new assignment",
                                     f"{aid} 必须是新任务的标识", "/req/issues/assignment-history"))
        elif action == "merge":
            target = details.get("mergedInto")
            found = None if target == stored.id else tx.get(self.rtype, str(target))
            if found is None or not self.access.can_see(principal, found):
                problems.append(("/details/mergedInto",
                                 f"{target} is not another issue this server holds",
                                 f"{target} 不是本服务器上的另一诉求",
                                 "/req/issues/merge-target-exists"))
        if problems:
            raise unprocessable(problems)
        return self.items(body, action)

    def _may_withdraw(self, tx: Any, principal: Principal, doc: Mapping[str, Any]) -> None:
        """/req/issues/withdraw-by-submitter."""
        by = sub(doc, "submittedBy")
        behalf = sub(by, "onBehalfOf").get("id")
        # A resident or proxy who submitted for another resident acted as her proxy: that
        # gives nothing once the proxy ends, so only a proxy in force withdraws it
        # (/req/residents/proxy-scope).
        for_another = (principal.role in self.access.own_record_roles
                       and behalf is not None and behalf != principal.resident)
        submitter = not for_another and (
            principal.is_actor(by)
            or (principal.resident is not None
                and sub(by, "resident").get("id") == principal.resident))
        reporter = principal.resident is not None and behalf == principal.resident
        proxy = principal.role in self.access.own_record_roles and (
            self.proxy_for(tx, principal, behalf, "submit-issues")
            or self.proxy_for(tx, principal, behalf, "follow-up-issues"))
        if not (submitter or reporter or proxy):
            raise forbidden(principal, "only the submitter, the reporter or their proxy may "
                            "withdraw the issue", "只有提交人、诉求人或其代理人可以撤回诉求",
                            "/req/issues/withdraw-by-submitter")

    def also_write(self, tx: Any, principal: Principal, stored: Stored,
                   body: Mapping[str, Any], action: str) -> list[Write]:
        if action != "merge":
            return []
        # /req/issues/merge-updates-target: the kept issue lists this one, in the same commit.
        target = tx.get(self.rtype, str((body.get("details") or {}).get("mergedInto")))
        return [Write(target, merge_into_target(target.doc, stored.id), "merge")]


@policy_for("Consultation")
class ConsultationPolicy(Policy):
    # A consultation's category is its content category.
    category_member = "content"
    proxy_scopes = ("participate-consultations", "vote")
    #: members only actions write (/req/consultations/lifecycle-fields-read-only)
    read_only = ("decision", "publications", "implementation", "feedback")
    #: what only actions write into a vote; a PUT leaves a vote planned without them
    vote_owned = ("results", "ballots", "ballotsComplete")

    def __init__(self, service: Host, rtype: str) -> None:
        super().__init__(service, rtype)
        #: the roles that propose as themselves (or for those who authorised them): each
        #: proposer entry is bound to the credential (/req/consultations/proposers-fixed)
        self.bound_roles = frozenset(service.spec.parameter(PROPOSERS_FIXED, "boundRoles"))
        #: the bound roles that propose only for residents who authorised them, never in their
        #: own right: each of their entries acts for one (/req/consultations/proposers-fixed)
        self.proxy_roles = frozenset(service.spec.parameter(PROPOSERS_FIXED, "proxyRoles"))

    def bind_creator(self, principal: Principal, doc: dict[str, Any],
                     bind: Callable[[Any, str], dict[str, Any]]) -> dict[str, Any]:
        """/req/consultations/proposers-fixed: a resident or proxy proposes as herself, so
        each proposer entry is bound as the creating actor is, and none given is her. Staff
        recording a topic residents raised elsewhere (a paper petition) name its proposers."""
        origin = doc.get("origin")
        if principal.role not in self.bound_roles or not isinstance(origin, Mapping):
            return doc
        given = origin.get("proposers")
        entries = given if isinstance(given, list) and given else [None]
        proposers = [bind(entry, f"/origin/proposers/{i}") for i, entry in enumerate(entries)]
        if principal.role in self.proxy_roles:
            self._for_others(principal, proposers if entries is given else [])
        return {**doc, "origin": {**origin, "proposers": proposers}}

    def _for_others(self, principal: Principal, proposers: list[dict[str, Any]]) -> None:
        """/req/consultations/proposers-fixed: a proxy proposes only for residents who
        authorised him. An entry of his own, not acting for one (or none given, which would
        record him), would keep him a proposer able to withdraw the topic once the
        authorisation ended."""
        own = next((i for i, p in enumerate(proposers) if "onBehalfOf" not in p), None)
        if proposers and own is None:
            return
        raise forbidden(principal, "a proxy proposes only for residents who authorised him: "
                        "each proposer entry of his gives onBehalfOf",
                        "代理人只代授权他的居民提议：他的每个提议人项都必须给出 onBehalfOf",
                        PROPOSERS_FIXED,
                        "/origin/proposers" if own is None else f"/origin/proposers/{own}")

    def check_create(self, principal: Principal, doc: dict[str, Any]) -> None:
        self.serves_division(principal, doc, "/req/consultations/division-fixed")
        req = "/req/consultations/create-proposed"
        problems = self.creation_problems(doc, req, self.read_only)
        problems += self._votes_planned(doc, {}, req)
        if problems:
            raise unprocessable(problems)

    def _votes_planned(self, doc: Mapping[str, Any], fixed: Mapping[Any, Any],
                       req: str) -> list[tuple[str, str, str, str]]:
        """Votes a write gives other than the ``fixed`` ones (checked apart): planned or
        cancelled, without results."""
        problems = []
        for i, vote in enumerate(doc.get("votes") or ()):
            if not isinstance(vote, Mapping) or vote.get("id") in fixed:
                continue
            if vote.get("status") not in ("planned", "cancelled"):
                problems.append((f"/votes/{i}/status", "a vote is opened and closed by actions",
                                 "表决只能通过动作开始和结束", req))
            problems += [(f"/votes/{i}/{m}", f"{m} of a vote are written by actions",
                          f"表决的 {m} 只能由动作写入", req)
                         for m in self.vote_owned if m in vote]
        return problems

    def _proposers_kept(self, old: Mapping[str, Any], new: Mapping[str, Any]
                        ) -> list[dict[str, Any]]:
        """/req/consultations/proposers-fixed: an update changing origin.proposers, which
        decide who may withdraw the topic, in any way (one added, removed, replaced or
        reworded, the list reordered or dropped)."""
        if sub(old, "origin").get("proposers") == sub(new, "origin").get("proposers"):
            return []
        return [coded("/origin/proposers", "consultation.proposers-fixed",
                      self.service.spec.version, PROPOSERS_FIXED, member="origin.proposers")]

    @staticmethod
    def _fixed_kept(fixed: Mapping[Any, Mapping[str, Any]], doc: Mapping[str, Any],
                    req: str) -> list[tuple[str, str, str, str]]:
        """The ``fixed`` votes (stored other than planned) an update removes or changes; a
        cancelled one included: taken back to planned, it could be opened and counted."""
        given = {v.get("id"): (i, v) for i, v in enumerate(doc.get("votes") or ())
                 if isinstance(v, Mapping)}
        problems = []
        for vote_id, vote in fixed.items():
            at, now = given.get(vote_id, (None, None))
            if now != vote:
                status = vote.get("status")
                problems.append(("/votes" if at is None else f"/votes/{at}",
                                 f"vote {vote_id} is {status} and stays as recorded",
                                 f"表决 {vote_id} 的状态为 {status}，必须保持原样", req))
        return problems

    def _issues_exist(self, tx: Any, doc: Mapping[str, Any]) -> None:
        """/req/consultations/escalated-issue-exists: issues of the same community."""
        problems = []
        for i, ref in enumerate(sub(doc, "origin").get("issues") or ()):
            target = ref.get("id") if isinstance(ref, Mapping) else None
            found = tx.get("Issue", str(target))
            if found is None or found.doc.get("communityDivisionCode") != doc.get("divisionCode"):
                problems.append((f"/origin/issues/{i}/id",
                                 "the escalated issue is not an issue of this community",
                                 "转议的诉求不是本社区已有的诉求",
                                 "/req/consultations/escalated-issue-exists"))
        if problems:
            raise unprocessable(problems)

    def check_create_stored(self, tx: Any, principal: Principal, doc: dict[str, Any]) -> None:
        self._issues_exist(tx, doc)
        if principal.role not in self.bound_roles:
            self._proposers_in_reach(tx, principal, doc)
        if principal.role not in self.proxy_roles:
            return
        # /req/residents/proxy-scope: a proxy proposes for each one named only with that one's
        # authorisation (one authorised entry must not carry a stranger's); that each entry
        # acts for someone, bind_creator saw to.
        behalf = [(i, sub(p, "onBehalfOf").get("id"))
                  for i, p in enumerate(sub(doc, "origin").get("proposers") or ())
                  if isinstance(p, Mapping) and "onBehalfOf" in p]
        strangers = [i for i, rid in behalf
                     if not self.proxy_for(tx, principal, rid, "participate-consultations")]
        if strangers:
            raise forbidden(principal, "a proxy proposes only for residents who authorised "
                            "them to take part in consultations",
                            "代理人只能为授权其参与协商的居民提议", "/req/residents/proxy-scope",
                            f"/origin/proposers/{strangers[0]}/onBehalfOf")

    def _proposers_in_reach(self, tx: Any, principal: Principal, doc: Mapping[str, Any]
                            ) -> None:
        """/req/consultations/proposers-in-reach: staff name as proposers (who may withdraw
        the topic) only residents whose records they read, and as who acted for one of them,
        such a resident or a proxy her record names. A resident nobody holds is answered as
        one beyond reach, so the answer tells nothing of records the principal may not read."""
        errors = []
        for i, entry in enumerate(sub(doc, "origin").get("proposers") or ()):
            if not isinstance(entry, Mapping):
                continue
            stands = "onBehalfOf" if "onBehalfOf" in entry else "resident"
            rid = sub(entry, stands).get("id")
            her = self.readable(tx, principal, rid)
            named = [] if stands not in entry else [(stands, rid, her is not None)]
            if stands == "onBehalfOf" and "resident" in entry:
                acting = sub(entry, "resident").get("id")
                proxies = [] if her is None else [
                    sub(p, "resident").get("id") for p in her.doc.get("proxies") or ()
                    if isinstance(p, Mapping) and isinstance(sub(p, "resident").get("id"), str)]
                named.append(("resident", acting, acting in proxies
                              or self.readable(tx, principal, acting) is not None))
            errors += [coded(f"/origin/proposers/{i}/{member}", OUT_OF_REACH,
                             self.service.spec.version, IN_REACH, value=value)
                       for member, value, reached in named if not reached]
        if errors:
            raise Unprocessable(count=len(errors), errors=errors)

    def check_update(self, tx: Any, principal: Principal, current: Stored,
                     doc: dict[str, Any]) -> None:
        old = current.doc
        if changed(old, doc, "divisionCode"):
            raise unprocessable([("/divisionCode", "divisionCode never changes",
                                  "divisionCode 不得改变", "/req/consultations/division-fixed")])
        self.lifecycle_unchanged(old, doc)
        req = "/req/consultations/lifecycle-fields-read-only"
        problems = [(f"/{m}", f"{m} changes only through lifecycle actions",
                     f"{m} 只能通过生命周期动作改变", req)
                    for m in self.read_only if changed(old, doc, m)]
        # A vote that has left planned (or was cancelled) is the record: kept as it is.
        stored = {v.get("id"): v for v in old.get("votes") or () if isinstance(v, Mapping)}
        fixed = {k: v for k, v in stored.items() if v.get("status") != "planned"}
        problems += self._fixed_kept(fixed, doc, req)
        problems += self._votes_planned(doc, fixed, req)
        errors = [finding(p, "http.unprocessable-content", en, zh, r)
                  for p, en, zh, r in problems] + self._proposers_kept(old, doc)
        if errors:
            raise Unprocessable(count=len(errors), errors=errors)
        if sub(old, "origin").get("issues") != sub(doc, "origin").get("issues"):
            self._issues_exist(tx, doc)

    def check_action(self, tx: Any, principal: Principal, stored: Stored, action: str,
                     body: Mapping[str, Any], actor: Mapping[str, Any]) -> dict[str, Any]:
        if action == "decide":
            self._replies_given(tx, stored, sub(body, "details").get("unanswered"))
            self._voices_agree(tx, stored, sub(body, "details").get("voices"))
        if action == "withdraw":
            proposers = [proposer_of(p) for p in sub(stored.doc, "origin").get("proposers") or ()
                         if isinstance(p, Mapping)]
            ok = principal.resident is not None and principal.resident in proposers
            if principal.role == "proxy":
                ok = ok or any(self.proxy_for(tx, principal, p, "participate-consultations")
                               for p in proposers)
            if not ok:
                raise forbidden(principal, "only a proposer, or a proxy acting for one, may "
                                "withdraw", "只有提议人或其代理人可以撤回",
                                "/req/consultations/withdraw-by-proposer")
        return self.items(body, action)

    def _replies_given(self, tx: Any, stored: Stored, listed: Any) -> None:
        """/req/voice/reply-before-decide: every opinion and proposal received so far has a
        reply, or the decide action lists it in ``unanswered`` with a reason
        (/req/voice/unanswered-reasons); a decision never waits for items not yet received."""
        # Only an item still in its lifecycle can lack its reply: the one way to a terminal
        # status is the reply action, so the replied ones are never read.
        open_ = {s for t in VoicePolicy.types for s in self.service.lifecycle(t).statuses
                 if s not in self.service.lifecycle(t).terminal}
        items = [s.doc for s in tx.with_term(VoicePolicy.types, CONSULTATION, stored.id, open_)]
        # A reason recorded for an item that awaits no reply would misstate the record.
        stray = not_awaiting(stored.doc, items, listed if listed is not None else [],
                             where=("details", "unanswered"))
        if stray:
            raise unprocessable(stray, findings=True)
        # Stored before this decide means received before it, whatever receivedAt states
        # (a receivedAt ahead of the clock is refused on create).
        undecided = {k: v for k, v in stored.doc.items() if k != "decision"}
        missing = unanswered(undecided, items, excused=listed if listed is not None else [])
        if missing:
            listed_ = ", ".join(f"{i.get('resourceType')}/{i.get('id')}" for i in missing)
            raise RepliesMissing(count=len(missing), items=listed_, errors=[
                coded("", "voice.reply-missing", self.service.spec.version,
                      RepliesMissing.requirement, count=len(missing), items=listed_)])

    def _voices_agree(self, tx: Any, stored: Stored, voices: Any) -> None:
        """/req/voice/decision-lists-voices: the outcome decide lists for a replied item is
        its reply's; the items of other consultations, or not held, are not this record's."""
        if not isinstance(voices, list):
            return
        held = []
        for entry in voices:
            ref = sub(entry, "item") if isinstance(entry, Mapping) else {}
            rtype, rid = ref.get("resourceType"), ref.get("id")
            if rtype in VoicePolicy.types and isinstance(rid, str):
                found = tx.get(rtype, rid)
                if found is not None:
                    held.append(found.doc)
        decided = {**stored.doc, "decision": {"voices": voices}}
        wrong = decision_disagreements(decided, held)
        for f in wrong:  # the decide action's details, not yet the decision: the request's
            f.pointer = f.pointer.replace("/decision/", "/details/", 1)
        if wrong:
            raise unprocessable(wrong, findings=True)

    def items(self, body: Mapping[str, Any], action: str) -> dict[str, Any]:
        """record-votes takes the ballots of its channel (/req/consultations/
        record-from-actions); no other consultation action takes items."""
        items = body.get("items") or {}
        problems = [(f"/items/{kind}", f"{action} takes no {kind}",
                     f"{action} 不接受 {kind}", "/req/consultations/record-from-actions")
                    for kind in items
                    if not (action == "record-votes" and kind == "ballots")]
        if problems:
            raise unprocessable(problems)
        return dict(items)



@policy_for("Opinion")
@policy_for("Proposal")
class VoicePolicy(Policy):
    """Opinions and proposals (/conf/voice): recorded in a community the recorder serves, with
    a reply deadline, and changed only by their actions."""

    types = ("Opinion", "Proposal")
    proxy_scopes = ("participate-consultations",)

    def check_create(self, principal: Principal, doc: dict[str, Any]) -> None:
        self.serves_division(principal, doc, "/req/voice/recorded-for")
        problems = self.creation_problems(doc, "/req/core/lifecycle-via-actions")
        if "reply" in doc:
            problems.append(("/reply", "a reply is written only by the reply action",
                             "答复只能由 reply 动作写入", "/req/voice/reply-reasons"))
        version = self.service.spec.version
        for where, code, values in support_problems(doc):
            said = coded("/" + "/".join(map(str, where)), code, version,
                         "/req/voice/single-support", **values)
            problems.append((said["pointer"], said["message"]["en"],
                             said["message"]["zh-Hans"], "/req/voice/single-support"))
        self._received_by_now(doc)
        # The city's reply days when the server runs a profile, else the spec's default.
        due = reply_due(str(doc["receivedAt"]), self.service.profile, version=version)
        if "replyDue" not in doc:
            doc["replyDue"] = due  # the server fills in what the requirement makes of it
        elif _later(str(doc["replyDue"]), due):
            said = coded("/replyDue", "voice.reply-due-late", version, "/req/voice/reply-due",
                         stated=doc["replyDue"], expected=due)
            problems.append(("/replyDue", said["message"]["en"], said["message"]["zh-Hans"],
                             "/req/voice/reply-due"))
        if problems:
            raise unprocessable(problems)

    def _received_by_now(self, doc: Mapping[str, Any]) -> None:
        """/req/voice/reply-before-decide: decide counts every item stored, so none is received
        after the server's time (give or take the clock skew leewaySeconds allows); refused
        first, since the reply deadline counted from it would mean nothing."""
        leeway = self.service.spec.parameter(REPLY_BEFORE_DECIDE, "leewaySeconds")
        now = now_cst()
        received = moment(str(doc.get("receivedAt")))
        if received is None or received <= now + timedelta(seconds=float(leeway)):
            return
        raise Unprocessable(count=1, errors=[coded(
            "/receivedAt", "voice.received-later", self.service.spec.version,
            REPLY_BEFORE_DECIDE, stated=doc.get("receivedAt"), now=stamp(now))])

    #: what only the resident's voice, its recorder or an action writes: an update by staff
    #: (correcting an entry) keeps them (/req/voice/recorded-for, /req/voice/single-support)
    kept = ("divisionCode", "consultation", "text", "textPublic", "reply", "supporters",
            "supportCount", "receivedAt", "replyDue")

    def check_update(self, tx: Any, principal: Principal, current: Stored,
                     doc: dict[str, Any]) -> None:
        self.lifecycle_unchanged(current.doc, doc)
        problems = [(f"/{m}", f"{m} is kept as recorded", f"{m} 必须保持记录时的内容",
                     "/req/voice/recorded-for") for m in self.kept
                    if changed(current.doc, doc, m)]
        if problems:
            raise unprocessable(problems)

    def check_create_stored(self, tx: Any, principal: Principal, doc: dict[str, Any]) -> None:
        """An item of a consultation the server holds is in that consultation's community."""
        ref = sub(doc, "consultation")
        found = tx.get("Consultation", str(ref.get("id"))) if ref.get("resourceType") == \
            "Consultation" else None
        if found is not None and found.doc.get("divisionCode") != doc.get("divisionCode"):
            raise unprocessable([("/divisionCode", "divisionCode is not the consultation's",
                                  "divisionCode 与所属协商的社区不同",
                                  "/req/voice/recorded-for")])


def proposer_of(entry: Mapping[str, Any]) -> Any:
    """The resident a proposer entry stands for (/req/consultations/withdraw-by-proposer):
    the one it acts onBehalfOf, else its own; the proxy of the entry is no proposer by it."""
    if "onBehalfOf" in entry:
        return sub(entry, "onBehalfOf").get("id")
    return sub(entry, "resident").get("id")


def _at(doc: Mapping[str, Any], where: str) -> Any:
    """The value at JSON Pointer ``where`` in ``doc``, None when there is none."""
    try:
        return resolve_pointer(doc, where)
    except LookupError:
        return None


def _decider(principal: Principal) -> dict[str, Any] | None:
    """The principal's organisation as the decider of a request, None when it has none it
    could be named by (a reference needs its id, name and type)."""
    org = principal.organisation
    if org and all(k in org for k in ("id", "name", "type")):
        return dict(org)
    return None


def _restriction(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The restriction of a resident record, {} for none (omitted means none)."""
    restriction = dict(sub(doc, "restriction"))
    if restriction.get("state", "none") == "none" and set(restriction) <= {"state"}:
        return {}
    return restriction


def _same_instant(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are equal, or RFC 3339 texts naming the same instant."""
    if a == b:
        return True
    first = moment(a) if isinstance(a, str) else None
    return first is not None and isinstance(b, str) and first == moment(b)


def _later(a: str, b: str) -> bool:
    """Whether the instant ``a`` is after ``b`` (RFC 3339 texts with offsets, ``t`` and ``z``
    in either case, as the schema allows)."""
    first, second = moment(a), moment(b)
    return first is not None and second is not None and first > second


@policy_for("Organisation")
class OrganisationPolicy(Policy):
    """An organisation is written by those serving a community it serves; one serving no
    community (a district department) only by principals of every community."""

    audited = True  # its memberships name people (/req/organisations/members-personal)

    def check_create(self, principal: Principal, doc: dict[str, Any]) -> None:
        self._served(principal, doc)

    def check_update(self, tx: Any, principal: Principal, current: Stored,
                     doc: dict[str, Any]) -> None:
        self._served(principal, current.doc)
        self._served(principal, doc)

    @staticmethod
    def _served(principal: Principal, doc: Mapping[str, Any]) -> None:
        if not principal.serves_any(derive(doc).communities):
            raise forbidden(principal, "the organisation serves no community you serve",
                            "该组织不服务于您服务的社区", "/req/privacy/community-isolation",
                            "/serves/divisions")
