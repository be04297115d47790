"""Broken variants of the reference server for reading and correcting records: list filters,
references to other records, action details, redaction and visibility, and a resident's own
record. One defect each, which the kit must catch through the check citing the requirement it
breaks."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time
from email.utils import formatdate
from typing import Any

import pytest

from reference_server.access import Access
from reference_server.auth import Principal
from reference_server.service import _policies
from reference_server.settings import CST
from reference_server.storage import Stored, Tx, utc_text
from smartcommunity.lifecycle import Lifecycle

from .mutants import Install, Mutant, Rewrite, leaky_redact


def _parameter_ignored(path: str, name: str) -> Any:
    """A server whose list at ``path`` does not know the query parameter ``name``: it lists
    as if the parameter had not been given."""

    def install(app: Any, mp: pytest.MonkeyPatch) -> Any:
        def request(scope: dict[str, Any]) -> dict[str, Any]:
            if scope["method"] == "GET" and scope["path"] == path:
                kept = [p for p in scope.get("query_string", b"").decode().split("&")
                        if p and p.split("=", 1)[0] != name]
                scope["query_string"] = "&".join(kept).encode()
            return scope

        return Rewrite(app, request=request)

    return install


def _also_refused(refuses: Any) -> Any:
    """A server whose list query also leaves out the stored records ``refuses(rtype, query,
    doc)``: a filter written more narrowly than the requirement's."""

    def install(app: Any, mp: pytest.MonkeyPatch) -> Any:
        original = Tx.page

        def page(self: Tx, rtype: str, query: Any, scope: Any, after: int, limit: int,
                 **kw: Any) -> list[Stored]:
            kept: list[Stored] = []
            while True:
                rows = original(self, rtype, query, scope, after, limit, **kw)
                kept += [r for r in rows if not refuses(rtype, query, r.doc)]
                if len(rows) < limit or len(kept) >= limit:
                    # the rows after the last one kept are read again by the next page
                    return kept[:limit]
                after = rows[-1].seq

        mp.setattr(Tx, "page", page)
        return app

    return install


def _first_category_only(rtype: str, query: Any, doc: Any) -> bool:
    """The consultation's first content category is its only one (a single category column)."""
    categories = doc.get("categories") or [None]
    return rtype == "Consultation" and bool(query.content) and categories[0] != query.content


def _submitted_to_exclusive(rtype: str, query: Any, doc: Any) -> bool:
    """submittedTo is an exclusive bound: an issue submitted at that very instant is left out."""
    if rtype != "Issue" or not query.submitted_to or not isinstance(doc.get("submittedAt"), str):
        return False
    return utc_text(doc["submittedAt"]) >= query.submitted_to


def _at_noon(install: Any) -> Any:
    """A variant whose clock stands at 12:00 in China on the day it is installed, as its
    Date header and its list filters read it: a check that leaves out the day's edge when the
    date is about to change meets the variant whenever it runs."""

    def at_noon(app: Any, mp: pytest.MonkeyPatch) -> Any:
        real = datetime.now(CST)
        ahead = datetime.combine(real.date(), time(12), CST) - real
        today = real.date().isoformat()
        served = install(app, mp)
        original = Tx.page

        def page(self: Tx, rtype: str, query: Any, *args: Any, **kw: Any) -> list[Stored]:
            return original(self, rtype, replace(query, today=today), *args, **kw)

        def dated(scope: dict[str, Any], status: int, headers: list[tuple[bytes, bytes]],
                  body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            stamp = formatdate((datetime.now(CST) + ahead).timestamp(), usegmt=True)
            return status, [(k, v) for k, v in headers if k.lower() != b"date"] + [
                (b"date", stamp.encode())], body

        mp.setattr(Tx, "page", page)
        return Rewrite(served, dated)

    return at_noon


def _ending_today_ended(rtype: str, query: Any, doc: Any) -> bool:
    """A membership whose until is today has ended: only one ending later keeps the resident
    in the grid."""
    if rtype != "Resident" or not query.grid:
        return False
    return not any(isinstance(m, dict) and m.get("grid") == query.grid
                   and (m.get("until") is None or str(m["until"]) > str(query.today))
                   for m in doc.get("memberships") or ())


def escalation_checked_on_create(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The escalated issues are checked when the consultation is created; an update that names
    other ones stores them unchecked."""
    original = _policies.ConsultationPolicy.check_create_stored
    checking = _policies.ConsultationPolicy._issues_exist

    def check_create_stored(self: Any, tx: Any, principal: Principal,
                            doc: dict[str, Any]) -> None:
        checking(self, tx, doc)
        original(self, tx, principal, doc)

    mp.setattr(_policies.ConsultationPolicy, "_issues_exist", lambda self, tx, doc: None)
    mp.setattr(_policies.ConsultationPolicy, "check_create_stored", check_create_stored)
    return app


def escalation_any_community(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """An escalated issue need only exist: one of another community is taken."""
    def issues_exist(self: Any, tx: Any, doc: dict[str, Any]) -> None:
        origin = doc.get("origin") or {}
        missing = [(f"/origin/issues/{i}/id", "the escalated issue does not exist",
                    "转议的诉求不存在", "/req/consultations/escalated-issue-exists")
                   for i, ref in enumerate(origin.get("issues") or ())
                   if tx.get("Issue", str((ref or {}).get("id"))) is None]
        if missing:
            raise _policies.unprocessable(missing)

    mp.setattr(_policies.ConsultationPolicy, "_issues_exist", issues_exist)
    return app


def action_details_unchecked(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """An action's details are not held to the action's schema: the server counts on
    validating the record the action writes, so details whose effect needs a member they
    lack fail inside the server."""
    mp.setattr(Lifecycle, "details_problems", lambda self, action, details: [])
    return app


def merge_target_unchecked(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A merge's target is not looked up: a merge into an issue the server does not hold is
    stored, and the target it cannot find is left alone."""
    original, also = _policies.IssuePolicy.check_action, _policies.IssuePolicy.also_write

    def check_action(self: Any, tx: Any, principal: Principal, stored: Stored, action: str,
                     body: Any, actor: Any) -> dict[str, Any]:
        if action == "merge":
            return self.items(body, action)
        return original(self, tx, principal, stored, action, body, actor)

    def also_write(self: Any, tx: Any, principal: Principal, stored: Stored, body: Any,
                   action: str) -> Any:
        target = str((body.get("details") or {}).get("mergedInto"))
        if action == "merge" and tx.get(self.rtype, target) is None:
            return []
        return also(self, tx, principal, stored, body, action)

    mp.setattr(_policies.IssuePolicy, "check_action", check_action)
    mp.setattr(_policies.IssuePolicy, "also_write", also_write)
    return app


def grid_sees_markers(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Grid workers get residents' vulnerability markers as stored: the markers are what they
    visit for, so the server leaves them out of the grid audience's masking."""
    def leak(out: dict[str, Any], stored: dict[str, Any]) -> None:
        if stored.get("resourceType") == "Resident" and "vulnerabilities" in stored:
            out["vulnerabilities"] = stored["vulnerabilities"]

    leaky_redact(mp, leak, audiences=("grid",))
    return app


def visibility_of_records_ignored(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A consultation's own visibility is not applied: one for staff only is read and listed
    by residents and the public (its minutes and attachments still go by their own)."""
    mp.setattr(app.state.sc.service.access, "visibility_member", {})
    return app


def own_record_masked(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A resident reading her own record gets it as a grid worker would: sensitive data
    masked, "to be safe", though the record is hers."""
    original = Access.audience

    def audience(self: Access, principal: Principal, stored: Stored, now: Any = None) -> str:
        found = original(self, principal, stored, now)
        if (found == "self" and stored.rtype == self.person_type
                and stored.id == principal.resident):
            return "grid"
        return found

    mp.setattr(Access, "audience", audience)
    return app


def restricted_whole_to_untouched(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A restricted record goes whole to every audience that keeps everything: a system
    principal (a mirror, another city system) receives it as the community's staff do."""
    original = Access._may_see_restricted

    def may_see(self: Access, principal: Principal, stored: Stored, audience: str,
                now: Any) -> bool:
        return original(self, principal, stored, audience, now) or (
            audience in self.untouched and principal.serves_any(stored.communities))

    mp.setattr(Access, "_may_see_restricted", may_see)
    return app


def emergency_contacts_fixed(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The server's list of what a resident may correct is an older one, without emergency
    contacts: her correction of them is refused."""
    mp.setattr(_policies.ResidentPolicy, "correctable",
               _policies.ResidentPolicy.correctable - {"emergencyContacts"})
    return app


def decision_from_body(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Staff deciding a request by an update say when and by whom: decidedAt, decidedBy and
    requestedAt are taken from the body, as an update leaving the state as it is would keep
    them."""
    def decision(self: Any, principal: Principal, old: Any, restriction: Any) -> Any:
        return dict(restriction)

    mp.setattr(_policies.ResidentPolicy, "_decision", decision)
    mp.setattr(_policies.ResidentPolicy, "_decided_by_principal", lambda self, *args: None)
    return app


def refusal_from_body(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Decisions into restricted are recorded by the server, but a refusal or a lift (into
    none) keeps the decidedAt and decidedBy the body states."""
    decision = _policies.ResidentPolicy._decision
    decided = _policies.ResidentPolicy._decided_by_principal

    def decision_unless_none(self: Any, principal: Principal, old: Any,
                             restriction: Any) -> Any:
        if restriction.get("state") == "none":
            return dict(restriction)
        return decision(self, principal, old, restriction)

    def decided_unless_none(self: Any, principal: Principal, old: Any, doc: Any) -> Any:
        if (doc.get("restriction") or {}).get("state", "none") == "none":
            return None
        return decided(self, principal, old, doc)

    mp.setattr(_policies.ResidentPolicy, "_decision", decision_unless_none)
    mp.setattr(_policies.ResidentPolicy, "_decided_by_principal", decided_unless_none)
    return app


def _consent_read_without(*members: str) -> Install:
    """A server that decides whether a resident's consent shares her record with a department
    without reading ``members`` of it: a consent granted by its status shares, whatever they
    say."""

    def install(app: Any, mp: pytest.MonkeyPatch) -> Any:
        original = Access.consent_members

        def consent_members(self: Access, doc: Any, principal: Principal,
                            now: Any = None) -> Any:
            consents = [{k: v for k, v in c.items() if k not in members}
                        if isinstance(c, dict) else c for c in doc.get("consents") or ()]
            return original(self, {**doc, "consents": consents}, principal, now)

        mp.setattr(Access, "consent_members", consent_members)
        return app

    return install


MUTANTS: list[Mutant] = [
    Mutant("consultation-issue-filter-ignored", "/req/consultations/consultation-filters",
           "GET /consultations?issue= lists every consultation",
           _parameter_ignored("/consultations", "issue")),
    Mutant("consultation-first-category-only", "/req/consultations/consultation-filters",
           "category= matches a consultation's first content category only",
           _also_refused(_first_category_only)),
    Mutant("escalation-checked-on-create", "/req/consultations/escalated-issue-exists",
           "a PUT naming an escalated issue that does not exist is stored",
           escalation_checked_on_create),
    Mutant("escalation-any-community", "/req/consultations/escalated-issue-exists",
           "an escalated issue of another community is taken", escalation_any_community),
    Mutant("action-details-unchecked", "/req/issues/action-details",
           "an action's details are not checked: a dispatch naming no lead gets 500",
           action_details_unchecked),
    Mutant("issue-submitted-to-exclusive", "/req/issues/list-filters",
           "submittedTo leaves out an issue submitted at that instant",
           _also_refused(_submitted_to_exclusive)),
    Mutant("issue-department-filter-ignored", "/req/issues/list-filters",
           "GET /issues?department= lists every department's issues",
           _parameter_ignored("/issues", "department")),
    Mutant("merge-target-unchecked", "/req/issues/merge-target-exists",
           "a merge into an issue the server does not hold is accepted",
           merge_target_unchecked),
    Mutant("grid-sees-markers", "/req/privacy/redaction-by-audience",
           "grid workers read residents' vulnerability markers unmasked", grid_sees_markers),
    Mutant("consent-expiry-ignored", "/req/privacy/department-consent",
           "a department keeps reading a resident whose data-sharing consent has expired",
           _consent_read_without("expiresAt")),
    Mutant("consent-recipients-ignored", "/req/privacy/department-consent",
           "a department reads a resident through a consent that names only another "
           "department as recipient", _consent_read_without("recipients")),
    Mutant("consent-start-ignored", "/req/privacy/department-consent",
           "a department reads a resident through a consent granted only from a later date",
           _consent_read_without("grantedAt")),
    Mutant("visibility-of-records-ignored", "/req/privacy/visibility",
           "a consultation for staff only is read by residents and the public",
           visibility_of_records_ignored),
    Mutant("resident-grid-ending-today", "/req/residents/list-filters",
           "grid= leaves out a resident whose membership ends today",
           _at_noon(_also_refused(_ending_today_ended))),
    Mutant("resident-pseudonym-filter-ignored", "/req/residents/list-filters",
           "GET /residents?pseudonym= lists every resident",
           _parameter_ignored("/residents", "pseudonym")),
    Mutant("restricted-whole-to-system", "/req/residents/restricted-disclosure",
           "a restricted record goes whole to a system principal",
           restricted_whole_to_untouched),
    Mutant("own-record-masked", "/req/residents/self-access",
           "a resident reads her own record with its sensitive data masked", own_record_masked),
    Mutant("decision-from-body", "/req/residents/decision-recorded",
           "staff backdate a decision and name another organisation as its decider",
           decision_from_body),
    Mutant("refusal-from-body", "/req/residents/decision-recorded",
           "a refused request or a lifted restriction keeps the decidedAt and decidedBy the "
           "body states", refusal_from_body),
    Mutant("emergency-contacts-fixed", "/req/residents/self-correction",
           "a resident's correction of her emergency contacts is refused",
           emergency_contacts_fixed),
]
