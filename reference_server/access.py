"""Who sees what: scope, audience and redaction of every resource a response carries.

One function, :meth:`Access.present`, decides for reads, lists, history, action and write
results and change events alike (/req/change-feed/redacted): it returns None when the principal
may not see the resource at all, or the document as the principal's audience may see it.

- audience: ``privacy.json`` ``roleAudience``; a principal of the ``ownRecordRoles`` reading
  their own (or their principal's) record reads as ``self`` (/req/residents/self-access);
- scope: the principal's communities (/req/privacy/community-isolation); departments only the
  issues assigned to them (/req/privacy/department-assigned-only); residents and proxies only
  their own records and those that authorise them (/req/residents/read-access); a
  consultation's own ``visibility`` (/req/privacy/visibility);
- redaction: ``smartcommunity.privacy.redact`` for the audience, with the server's rules on
  top: restricted records (/req/residents/restricted-disclosure), minors
  (/req/residents/minor-sensitive, the age a requirement parameter), the reporter of anonymous
  and confidential issues (/req/privacy/reporter-disclosure) and vote results before they may
  be disclosed (/req/consultations/results-hidden).

The roles, scopes, states and resource types these rules name are ``privacy.json``
``recordAccess``; the erased form is the member list ``schemas/resident.json`` allows an
erased record, under the restriction state its conditional names.
"""

from __future__ import annotations

import copy
import functools
import math
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from smartcommunity.lifecycle import lifecycle_for
from smartcommunity.pointers import resolve_pointer, strings_at
from smartcommunity.privacy import (
    RedactionProfile,
    hide_results,
    redact,
    results_rule,
    results_steady,
)
from smartcommunity.specification import Spec
from smartcommunity.validation import compile_plan

from .auth import Principal
from .settings import CST
from .storage import PersonFacts, Scope, Stored, birth_date, person_rules, pipl_paths, utc_text

__all__ = ["Access", "Presented", "birth_date", "erased_members"]


def erased_members(schema: Mapping[str, Any]) -> tuple[str, ...]:
    """The members an erased record keeps (/req/residents/erased-minimal): the names the
    schema's conditional on ``restriction.state`` allows, or () without one."""
    return _erased(schema)[1]


def _erased(schema: Mapping[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    """The restriction state of an erased record and the members it keeps, from the schema's
    conditional on ``restriction.state`` (None and () without one)."""
    for branch in (schema, *schema.get("allOf", ())):
        condition = branch.get("if")
        names = (branch.get("then") or {}).get("propertyNames", {}).get("enum")
        if not isinstance(condition, Mapping) or not isinstance(names, list):
            continue
        state = (condition.get("properties", {}).get("restriction", {})
                 .get("properties", {}).get("state", {}))
        if isinstance(state, Mapping) and "const" in state:
            return str(state["const"]), tuple(names)
    return None, ()


class Presented:
    """A resource as one principal may see it: the document, or its stored JSON unchanged."""

    __slots__ = ("audience", "disclosed", "doc", "facts", "minor", "stored", "text",
                 "verdicts")

    def __init__(self, audience: str, doc: dict[str, Any] | None, text: str | bytes | None,
                 minor: bool | None = None, facts: PersonFacts | None = None, *,
                 stored: bool = True, verdicts: dict[Hashable, bool] | None = None,
                 disclosed: list[str] | None = None) -> None:
        self.audience = audience
        self.doc = doc
        self.text = text
        #: whether ``text`` is the JSON read (the record's, or the earlier state's) as it
        #: was, not one redacted and remembered (:class:`Presentations`)
        self.stored = doc is None and stored
        #: whether a person's record went out as a minor's (None: not decided, the document
        #: decides): what of it is sensitive for the audit log follows the whole record, not
        #: the members the reader received (/req/privacy/audit-log)
        self.minor = minor
        #: the stored facts of a person's record that decided it goes out as stored
        self.facts = facts
        #: where a person's record is remembered redacted, the sensitive members it discloses
        self.disclosed = disclosed
        #: where ``text`` is remembered, the list filters it was tested against, and how
        #: it fared (:class:`Remembered`)
        self.verdicts = verdicts

    def meets(self, asked: Hashable, test: Callable[[dict[str, Any]], bool]) -> bool:
        """Whether what is presented meets list filters ``asked``: ``test`` of the document,
        remembered with a remembered text. A few filters a record; past eight, the verdicts
        start again (the budget does not count them)."""
        verdicts = self.verdicts
        if verdicts is None:
            return test(self.document())
        verdict = verdicts.get(asked)
        if verdict is None:
            if len(verdicts) >= _VERDICTS:
                verdicts.clear()
            verdict = verdicts[asked] = test(self.document())
        return verdict

    def json(self) -> Any:
        """Something ``orjson.dumps`` embeds without copying the stored text again."""
        return orjson.Fragment(self.text) if self.text is not None else self.doc

    def bytes(self) -> bytes:
        if isinstance(self.text, bytes):
            return self.text
        return self.text.encode() if self.text is not None else orjson.dumps(self.doc)

    def document(self) -> dict[str, Any]:
        return self.doc if self.doc is not None else orjson.loads(self.text or "{}")


#: the filters' verdicts a remembered record keeps at most (``Presented.meets``)
_VERDICTS = 8
#: how long (seconds) :class:`Presentations` knows a record's newest version after a write:
#: far longer than a request takes from reading a record to remembering what it made of it
_WRITTEN_FOR = 60.0
#: how many records :class:`Presentations` knows the newest version of at most; more written
#: within :data:`_WRITTEN_FOR` (a bulk load) and nothing is remembered until the window passed
_WRITTEN_MOST = 100_000


class Remembered:
    """What :class:`Presentations` holds of one (resource, audience, role)."""

    __slots__ = ("disclosed", "since", "size", "source", "text", "until", "verdicts")

    def __init__(self, source: str | bytes, text: bytes, since: float, until: float,
                 disclosed: list[str] | None = None) -> None:
        self.source = source  # the stored JSON ``text`` was made from
        self.text = text
        #: a person's record: the sensitive members ``text`` discloses, for the audit log
        self.disclosed = disclosed
        self.size = _size(source, text)  # what the budget counts
        self.since, self.until = since, until  # the instants between which it holds
        #: list filters (as ``Service.list_page`` names them) → whether ``text`` meets
        #: them: a page read again does not parse a remembered record only to test it
        self.verdicts: dict[Hashable, bool] = {}


class Presentations:
    """The redacted JSON each (resource, audience, role) was last served, with the stored JSON
    it was made from and the instants between which it holds: a list page of records that
    must be parsed, redacted and written again is mostly the same page as the last reader of
    that role was given. An entry serves only the very text it was made from, so a record
    changed in any way is made afresh; what a principal is given of her own is never kept.
    Bounded by ``budget`` bytes (0: nothing is kept); the oldest served go first. What a
    write replaced is dropped by :meth:`forget` (told of every process's writes), so no copy
    of a record's earlier text, of one erased say, stays in memory after it."""

    def __init__(self, budget: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.budget = budget
        self.held = 0
        self._clock = clock
        self._entries: dict[tuple[str, str, str, str], Remembered] = {}
        #: (resource type, id) → the keys of its entries, for :meth:`forget`
        self._records: dict[tuple[str, str], set[tuple[str, str, str, str]]] = {}
        #: (resource type, id) → the newest version :meth:`forget` was told of and when
        #: (monotonic), for :data:`_WRITTEN_FOR` seconds: an entry made from an earlier
        #: version, read before that write and remembered after it was forgotten, is not kept
        self._written: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()
        #: until when nothing is kept: more records were written within the window than
        #: ``_written`` holds, so an entry's version can no longer be checked
        self._refuse_until = -math.inf
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str, str], source: str | bytes,
            moment: float) -> Remembered | None:
        if not source:
            return None  # a row with no stored JSON is never kept
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is None:
                return None
            if entry.source != source or not entry.since <= moment < entry.until:
                self._dropped(key, entry)
                return None
            self._entries[key] = entry  # the last served go last
            return entry

    def put(self, key: tuple[str, str, str, str], source: str | bytes, version: int,
            text: bytes, since: float, until: float,
            disclosed: list[str] | None = None) -> Remembered:
        """Remember ``text``, made from ``source``, the stored JSON of ``version``."""
        entry = Remembered(source, text, since, until, disclosed)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._dropped(key, old)
            written = self._written.get(key[:2])
            if not source or entry.size > self.budget or (
                    written is not None and written[0] > version) or (
                    self._clock() < self._refuse_until):
                return entry
            self._entries[key] = entry
            self._records.setdefault(key[:2], set()).add(key)
            self.held += entry.size
            while self.held > self.budget:
                first = next(iter(self._entries))
                self._dropped(first, self._entries.pop(first))
        return entry

    def forget(self, written: Iterable[tuple[str, str, int]]) -> int:
        """Drop every entry of the records ``written`` (resource type, id, the version a
        write made); how many went."""
        gone = 0
        with self._lock:
            now = self._clock()
            told = self._written
            for rtype, rid, version in written:
                record = (rtype, rid)
                for key in self._records.get(record, set()).copy():
                    self._dropped(key, self._entries.pop(key))
                    gone += 1
                told[record] = (max(version, told.get(record, (version, now))[0]), now)
                told.move_to_end(record)  # the latest told go last
            while told:
                _, (_, when) = next(iter(told.items()))
                within = when > now - _WRITTEN_FOR
                if within and len(told) <= _WRITTEN_MOST:
                    break
                if within:  # over the bound within the window
                    self._refuse_until = now + _WRITTEN_FOR
                told.popitem(last=False)
        return gone

    def clear(self) -> None:
        with self._lock:  # what it was told of writes still holds
            self._entries.clear()
            self._records.clear()
            self.held = 0

    def _dropped(self, key: tuple[str, str, str, str], entry: Remembered) -> None:
        """Account for ``entry``, just taken out of the entries (the lock held)."""
        self.held -= entry.size
        keys = self._records.get(key[:2])
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._records[key[:2]]


def _size(source: str | bytes, text: bytes) -> int:
    return sys.getsizeof(source) + sys.getsizeof(text)


class Access:
    """The privacy policy of one spec version, applied to principals and stored resources."""

    def __init__(self, spec: Spec, pseudonym_key: bytes | None = None,
                 pseudonym_key_id: str | None = None, *, remembered: int = 0) -> None:
        self.spec = spec
        self.key = pseudonym_key
        self.key_id = pseudonym_key_id
        #: redacted records as last served, up to ``remembered`` bytes
        self.presentations = Presentations(remembered)
        self._profile: RedactionProfile | None = None
        policy = spec.privacy
        self.role_audience: Mapping[str, str] = policy["roleAudience"]
        self.treatments: Mapping[str, Mapping[str, str]] = policy["treatments"]
        self.visibility: Mapping[str, frozenset[str]] = {
            a: frozenset(v) for a, v in policy["visibility"].items()}
        every = frozenset(spec.codelist("visibility"))
        # An audience that keeps every class and sees every visibility needs no redaction.
        self.untouched = frozenset(
            a for a, t in self.treatments.items()
            if all(v == "keep" for v in t.values()) and self.visibility[a] >= every)
        record = policy["recordAccess"]
        #: the resource type of a person's record
        self.person_type: str = record["personType"]
        #: roles that stand for one resident and read their own records as ``self``
        self.own_record_roles = frozenset(record["ownRecordRoles"])
        #: proxy scopes that let a proxy read the record of the resident who authorised them
        self.read_scopes = frozenset(record["proxyReadScopes"])
        #: every proxy scope: who acted for a resident keeps what they did for her while a
        #: proxy of hers in force names them, whatever its scope (/req/privacy/own-issues-self)
        self.every_scope = frozenset(spec.codelist("proxy-scope"))
        #: roles that see no person's record at all
        self.person_hidden_from = frozenset(record["personRecordsHiddenFrom"])
        #: resource type → pointers naming the resident whose own resource it is
        #: (/req/privacy/own-issues-self)
        self.owned_by: Mapping[str, tuple[str, ...]] = {
            rt: tuple(pointers) for rt, pointers in (record.get("ownedBy") or {}).items()}
        #: resource type → (the array whose items each belong to one resident, the members of
        #: an item naming her, read as ``owned_by``) (/req/privacy/own-items-self)
        self.owned_items: Mapping[str, tuple[str, tuple[str, ...]]] = {
            rt: (str(rule["items"]), tuple(rule["ownedBy"]))
            for rt, rule in (record.get("ownedItems") or {}).items()}
        publication = dict(record.get("publication") or {})
        #: audiences that read a resource of the types below only once it is published
        self.publication_audiences = frozenset(publication.pop("audiences", ()))
        #: resource type → where its publication decision is (/req/privacy/issue-publication)
        self.publication: Mapping[str, Mapping[str, Any]] = publication
        #: roles that read only the person records of their own grids (/req/privacy/grid-scope)
        self.grid_scoped = frozenset(record.get("gridScopedRoles") or ())
        #: roles that find person records only by an exact identifier
        #: (/req/privacy/intake-minimum)
        self.lookup_roles = frozenset(record.get("lookupRoles") or ())
        shared = record.get("consentShared") or {}
        #: roles that read a person record its consent shares with them, the consent's
        #: purpose, and the reporter disclosures that give no such access
        #: (/req/privacy/department-consent)
        self.consent_roles = frozenset(shared.get("roles") or ())
        self.consent_purpose: str | None = shared.get("purpose")
        self.consent_withheld = frozenset(shared.get("withheldDisclosures") or ())
        #: the status a consent has while it is in force
        self.consent_status: str | None = shared.get("status")
        assigned = record.get("assignedOnly") or {}
        #: roles that read a resource of ``assigned_types`` only while an assignment on it
        #: is theirs (/req/privacy/department-assigned-only)
        self.assigned_roles = frozenset(assigned.get("roles") or ())
        self.assigned_types = frozenset(assigned.get("resourceTypes") or ())
        #: resource type → the member whose visibility code limits its readers
        #: (/req/privacy/visibility)
        self.visibility_member: Mapping[str, str] = record.get("visibilityMember") or {}
        #: resource type → (the type of the record it belongs to, where that record's id is):
        #: it is read only by those who may read that record (/req/voice/consultation-visibility)
        self.belongs_to: Mapping[str, tuple[str, str]] = {
            rtype: (str(rule["resourceType"]), str(rule["id"]))
            for rtype, rule in (record.get("belongsTo") or {}).items()}
        #: reads a stored record by type and id; the service sets it (None: nothing held)
        self.held: Callable[[str, str], Stored | None] = lambda rtype, rid: None
        reporter = record.get("reporter") or {}
        #: resource types that name a reporter, where their disclosure is, the audiences
        #: each disclosure hides the reporter from, and the disclosures only intake staff see
        #: through (/req/privacy/reporter-disclosure)
        self.reporter_types = frozenset(reporter.get("resourceTypes") or ())
        self.reporter_disclosure = str(reporter.get("disclosure", ""))
        self.reporter_hidden: Mapping[str, frozenset[str]] = {
            d: frozenset(a) for d, a in (reporter.get("hiddenFromAudiences") or {}).items()}
        self.intake_only = frozenset(reporter.get("intakeOnly") or ())
        # The staff handling intake are those who may take the intake action of the first
        # type's lifecycle; a system principal is not among them (/req/privacy/system-principal).
        self.intake_roles: frozenset[str] = frozenset()
        if self.reporter_types and reporter.get("intakeAction"):
            intake = lifecycle_for(sorted(self.reporter_types)[0], spec.version)
            self.intake_roles = frozenset(intake.transitions[reporter["intakeAction"]].roles)
        restricted = record.get("restrictedRecords") or {}
        #: the restriction state of a restricted record, and who reads it whole besides its
        #: resident: the audiences serving its community and proxies of these scopes
        #: (/req/residents/restricted-disclosure)
        self.restricted_state: str | None = restricted.get("state")
        #: the member of ``restriction`` that a request made while the record was restricted
        #: carries until it is decided: the record stays restricted (/req/residents/rights-request)
        self.restricted_kept: str | None = restricted.get("kept")
        self.restricted_audiences = frozenset(restricted.get("audiences") or ())
        self.restricted_scopes = frozenset(restricted.get("proxyScopes") or ())
        #: in a minor's record, class → the class it is treated as
        #: (/req/residents/minor-sensitive)
        self.minor_treatment: Mapping[str, str] = record.get("minorTreatment") or {}
        #: how a person record's facts are derived and read (storage ``_person``)
        self.person_rules = person_rules(spec)
        #: the audience of a principal without a token: what is left when nothing else fits
        self.anonymous_audience = str(self.role_audience[record["anonymousRole"]])
        self.minor_audience = {a: self._as_minor(a) for a in self.treatments}
        #: when vote results may be read, and by whom (/req/consultations/results-hidden):
        #: the library's rule, which the public pages written from files apply too
        self.results = results_rule(spec.version)
        self.results_types = self.results.resource_types
        #: the stored records of the ``owned_by`` types that name a resident, by her id (set
        #: by the service; without it no consent shares a record)
        self.records_naming: Callable[[str], Iterable[Stored]] | None = None
        #: the stored record of a person by id, for a proxy's authorisation (set by the
        #: service; without it only a resident's own resources read as self)
        self.person: Callable[[str], Stored | None] | None = None
        #: assignment statuses that no longer let a department read the issue
        #: (/req/privacy/department-assignment-ended)
        self.ended_assignments = frozenset(spec.parameter(
            "/req/privacy/department-assignment-ended", "endedAssignmentStatuses"))
        #: the restriction state of an erased record and the members of its minimal form
        #: (/req/residents/erased-minimal)
        self.erased_state, self.erased = _erased(spec.schema(self.person_type))
        #: below this age personal data is treated as sensitive (/req/residents/minor-sensitive)
        self.minor_age = int(spec.parameter("/req/residents/minor-sensitive", "age"))
        #: resource type → members whose current value decides how any stored state of the
        #: resource is served (/req/change-feed/access-now)
        self.decided_now: Mapping[str, tuple[str, ...]] = {
            rt: tuple(members) for rt, members in policy.get("decidedNow", {}).items()
            if isinstance(members, list)}

    def _as_minor(self, audience: str) -> str:
        """The audience that treats each class of a minor's data as ``audience`` treats the
        class ``minorTreatment`` maps it to."""
        t = self.treatments[audience]
        wanted = {c: t.get(self.minor_treatment.get(c, c)) for c in t}
        if wanted == dict(t):
            return audience
        for other, u in self.treatments.items():
            if (all(u.get(c) == how for c, how in wanted.items())
                    and self.visibility[other] == self.visibility[audience]):
                return other
        return self.anonymous_audience  # nothing fits: what a stranger gets

    # -- scope -------------------------------------------------------------------------
    def scope(self, principal: Principal, rtype: str) -> Scope:
        """What SQL can filter for ``principal`` listing ``rtype``."""
        communities = None if principal.every_community else frozenset(principal.communities)
        role = principal.role
        if rtype == self.person_type:
            if role in self.person_hidden_from:
                return Scope(nothing=True)
            if role in self.own_record_roles:
                return Scope(residents=(principal.resident, principal.user_id))
            return Scope(communities=communities)
        if rtype in self.assigned_types and role in self.assigned_roles:
            return Scope(communities=communities, department=principal.organisation_id or "")
        # A role that reads such a type only once published, and never as its owner (self),
        # lists only the published (/req/privacy/issue-publication; see may_read).
        shown_once_published = (rtype in self.publication
                                 and self.role_audience[role] in self.publication_audiences)
        # Their own records besides, for a role that reads some as its owner (self).
        owners = ((principal.resident, principal.user_id)
                  if shown_once_published and role in self.own_record_roles else None)
        return Scope(communities=communities,
                     published=shown_once_published and owners is None, owners=owners,
                     visibilities=self._visibilities(rtype, role))

    def never_receives(self, principal: Principal, rtype: str,
                       paths: Iterable[tuple[str | None, ...]]) -> bool:
        """Whether ``principal`` receives one of the members at ``paths`` of no record of
        ``rtype`` as stored: its audience's redaction removes or masks a tag over or under it.
        A filter on such a member selects nothing (/req/privacy/filter-what-is-seen), and a
        list answers it without reading a row. A role that reads some records as ``self``
        may receive them there."""
        if principal.role in self.own_record_roles:
            return False
        treatment = self.treatments[self.role_audience[principal.role]]
        tagged = [(path, cls) for path, cls in pipl_paths(self.spec, rtype)
                  if treatment.get(cls, "keep") != "keep"]
        for path in paths:
            for where, _ in tagged:
                n = min(len(where), len(path))
                if where[:n] == path[:n]:
                    return True
        return False

    def withholds_within(self, principal: Principal, rtype: str,
                         path: tuple[str | None, ...]) -> bool:
        """Whether ``principal``'s audience may withhold or mask something inside a value at
        ``path`` (member names, None for every item of an array) of a record of ``rtype``,
        whatever the record holds: a tag its redaction does not keep on or under it, or a
        visibility under it that the audience does not see. Decided by the policy alone, so
        that what a writer may remove tells it nothing of what is stored
        (/req/privacy/update-keeps-unreceived)."""
        if principal.role in self.own_record_roles:
            return False
        if self.never_receives(principal, rtype, [path]):
            return True
        audience = self.role_audience[principal.role]
        if audience in self.untouched:
            return False
        n = len(path)
        return any(len(where) > n and where[:n] == path
                   for where in compile_plan(self.spec, rtype).visibility)

    def _visibilities(self, rtype: str, role: str) -> frozenset[str] | None:
        """The visibility codes a reader of ``role`` may see records of ``rtype`` with, where
        :meth:`can_see` decides by them alone (/req/privacy/visibility); None: no limit SQL
        can apply."""
        if rtype not in self.visibility_member or rtype in self.publication:
            return None
        audience = self.role_audience[role]
        return None if audience in self.untouched else self.visibility[audience]

    def audience(self, principal: Principal, stored: Stored, now: datetime | None = None) -> str:
        if (stored.rtype == self.person_type and principal.role in self.own_record_roles and (
                stored.id == principal.resident
                or self.proxy_grants(stored.doc, principal, self.read_scopes, now))):
            return "self"
        if self.owns(principal, stored, now):
            return "self"
        return self.role_audience[principal.role]

    def owns(self, principal: Principal, stored: Stored, now: datetime | None = None) -> bool:
        """Whether ``stored`` is the own resource of the resident ``principal`` stands for, or
        of a resident who authorised them as proxy (``recordAccess.ownedBy``;
        /req/privacy/own-issues-self).

        The last of the ``ownedBy`` members that names a resident names her whose resource it
        is; an earlier one names who acted for her. Acting for her gives nothing of its own:
        it reads as theirs only while a proxy of hers in force names them
        (/req/residents/proxy-scope), so once the proxy ends, so does the submission's claim.
        """
        if principal.role not in self.own_record_roles or principal.resident is None:
            return False
        return self._owned(principal, self.named_residents(stored), now)

    def _owned(self, principal: Principal, named: list[str], now: datetime | None) -> bool:
        """Whether what the residents ``named`` name (the ``ownedBy`` members, in order) is
        ``principal``'s own: the last is her, or a resident whose proxy in force names her
        (any scope when an earlier one names her, who acted for that resident)."""
        if not named:
            return False
        owner = named[-1]
        if owner == principal.resident:
            return True
        record = self.person(owner) if self.person is not None else None
        if record is None:
            return False
        scopes = self.every_scope if principal.resident in named else self.read_scopes
        return self.proxy_grants(record.doc, principal, scopes, now)

    def own_items(self, principal: Principal, audience: str, rtype: str,
                  doc: Mapping[str, Any], now: datetime | None = None
                  ) -> list[tuple[int, Any]]:
        """The items of ``doc`` (of ``rtype``, read as ``audience``) that are ``principal``'s
        own by ``recordAccess.ownedItems``, each with its index and a copy as it is: a
        resident's own proposer entry, read as herself while the rest is redacted
        (/req/privacy/own-items-self)."""
        rule = self.owned_items.get(rtype)
        if (rule is None or audience == "self" or principal.role not in self.own_record_roles
                or principal.resident is None):
            return []
        where, members = rule
        try:
            items = resolve_pointer(doc, where)
        except LookupError:
            return []
        return [(i, copy.deepcopy(item))
                for i, item in enumerate(items if isinstance(items, list) else ())
                if self._owned(principal, strings_at(item, members), now)]

    def _restore_items(self, rtype: str, doc: dict[str, Any],
                       own: list[tuple[int, Any]]) -> None:
        """Put the reader's ``own`` items back, as they are, into the redacted ``doc``: only
        where redaction kept the array, item for item."""
        try:
            items = resolve_pointer(doc, self.owned_items[rtype][0])
        except LookupError:
            return
        if isinstance(items, list):
            for i, item in own:
                if i < len(items):
                    items[i] = item

    def owner(self, stored: Stored) -> str | None:
        """The resident whose own resource ``stored`` is: the last of its ``ownedBy`` members
        that names one (an earlier one names who acted for her), or None."""
        named = self.named_residents(stored)
        return named[-1] if named else None

    def named_residents(self, stored: Stored) -> list[str]:
        """The residents the ``ownedBy`` members of ``stored`` name, in their order."""
        return strings_at(stored.doc, self.owned_by.get(stored.rtype, ()))

    def in_grids(self, principal: Principal, doc: Mapping[str, Any],
                 now: datetime | None = None) -> bool:
        """Whether the person record ``doc`` has a membership in force in one of
        ``principal``'s grids (/req/privacy/grid-scope): one that has not ended, as the grid
        filter reads it; a resident who moved away is no longer the grid worker's."""
        today = (now or datetime.now(UTC)).astimezone(CST).date().isoformat()
        return any(isinstance(m, Mapping) and m.get("grid") in principal.grids
                   and (m.get("until") is None or str(m.get("until")) >= today)
                   for m in doc.get("memberships") or ())

    def published(self, rtype: str, doc: Mapping[str, Any]) -> bool:
        """Whether the publication decision of ``doc`` publishes it."""
        try:
            return resolve_pointer(doc, self.publication[rtype]["published"]) is True
        except LookupError:
            return False

    def _public_area(self, rtype: str, doc: dict[str, Any]) -> None:
        """Remove the members of the levels of place the publication decision did not
        publish down to (/req/privacy/issue-publication)."""
        rule = self.publication[rtype]
        try:
            area = resolve_pointer(doc, rule["area"])
        except LookupError:
            area = rule.get("defaultArea")
        for level, members in (rule.get("areaMembers") or {}).items():
            if level == area:
                continue
            for where in members:
                parent, _, name = where.rpartition("/")
                try:
                    holder = resolve_pointer(doc, parent)
                except LookupError:
                    continue
                if isinstance(holder, dict):
                    holder.pop(name, None)

    def holds_assignment(self, organisation: str | None, doc: Mapping[str, Any]) -> bool:
        """Whether the department ``organisation`` holds an assignment on the issue ``doc``
        that has not ended (/req/privacy/department-assignment-ended)."""
        for item in doc.get("assignments") or ():
            if (isinstance(item, Mapping) and isinstance(item.get("department"), Mapping)
                    and item["department"].get("id") == organisation
                    and item.get("status") not in self.ended_assignments):
                return True
        return False

    def proxy_grants(self, resident: Mapping[str, Any], principal: Principal,
                     scopes: Iterable[str], now: datetime | None = None) -> bool:
        """Whether ``resident`` holds a proxy in force for ``principal`` with one of ``scopes``.

        /req/residents/proxy-scope: the proxy names the principal (by resident record, or as
        an actor by role, organisation and user id), its period contains now, the consent its
        consentId names (if any) is in force, and its scope holds one of ``scopes``.
        """
        wanted = set(scopes)
        moment = utc_text((now or datetime.now(UTC)).isoformat())
        for proxy in resident.get("proxies") or ():
            if not isinstance(proxy, Mapping) or not wanted & set(proxy.get("scope") or ()):
                continue
            ref = proxy.get("resident")
            actor = proxy.get("actor")
            named = (isinstance(ref, Mapping) and principal.resident is not None
                     and ref.get("id") == principal.resident) or (
                isinstance(actor, Mapping) and principal.is_actor(actor))
            if not named:
                continue
            try:
                if utc_text(str(proxy["validFrom"])) > moment:
                    continue
                until = proxy.get("validUntil")
                if until is not None and utc_text(str(until)) < moment:
                    continue
            except (KeyError, ValueError):
                continue
            if "consentId" in proxy and not self.consent_holds(resident, proxy["consentId"],
                                                               moment):
                continue
            return True
        return False

    def consent_holds(self, resident: Mapping[str, Any], consent_id: Any, moment: str) -> bool:
        """Whether the consent ``consent_id`` of the person record ``resident`` is in force at
        ``moment`` (UTC text): withdrawing the consent behind a proxy ends the proxy
        (/req/residents/proxy-scope). A consent the record does not hold is not."""
        return any(isinstance(c, Mapping) and c.get("id") == consent_id
                   and self.consent_in_force(c, moment)
                   for c in resident.get("consents") or ())

    def consent_in_force(self, consent: Mapping[str, Any], moment: str) -> bool:
        """Whether ``consent`` is in force at ``moment`` (UTC text): in the status of a consent
        in force, granted by then, neither withdrawn nor expired by then."""
        return (consent.get("status") == self.consent_status
                and _reached(consent.get("grantedAt"), moment)
                and not _reached(consent.get("withdrawnAt"), moment, absent=False)
                and not _reached(consent.get("expiresAt"), moment, absent=False))

    def can_see(self, principal: Principal, stored: Stored, now: datetime | None = None) -> bool:
        role = principal.role
        if stored.rtype == self.person_type:
            if role in self.person_hidden_from:
                return self.shared_members(principal, stored, now) is not None
            if role in self.own_record_roles:
                return stored.id == principal.resident or self.proxy_grants(
                    stored.doc, principal, self.read_scopes, now)
            if role in self.grid_scoped and not self.in_grids(principal, stored.doc, now):
                return False
            return principal.serves_any(stored.communities)
        if not principal.serves_any(stored.communities):
            return False
        if stored.rtype in self.assigned_types and role in self.assigned_roles:
            return (principal.organisation_id in stored.departments
                    and self.holds_assignment(principal.organisation_id, stored.doc))
        if (stored.rtype in self.publication
                and self.audience(principal, stored, now) in self.publication_audiences):
            return self.published(stored.rtype, stored.doc)
        if (stored.rtype in self.visibility_member
                and self.role_audience[role] not in self.untouched):
            try:
                visibility = self._member(stored, self.visibility_member[stored.rtype])
            except LookupError:
                visibility = None
            return isinstance(visibility, str) and (
                visibility in self.visibility[self.role_audience[role]])
        return self._may_see_owner(principal, stored, now)

    def _may_see_owner(self, principal: Principal, stored: Stored, now: datetime | None) -> bool:
        """Whether ``principal`` may see the record ``stored`` belongs to, when the server
        holds it (/req/voice/consultation-visibility)."""
        rule = self.belongs_to.get(stored.rtype)
        if rule is None:
            return True
        try:
            owner = self.held(rule[0], str(self._member(stored, rule[1])))
        except LookupError:
            return True  # no owner named: the schema requires one, its rules decide
        return owner is None or self.can_see(principal, owner, now)

    def _member(self, stored: Stored, pointer: str) -> Any:
        """The value at ``pointer`` in ``stored`` (LookupError when it has none), kept with
        the redacted records for the stored JSON it was read from: a record whose redacted
        form is remembered is not parsed only to decide who may see it."""
        key = (stored.rtype, stored.id, pointer, "")  # no audience is a pointer, no role ""
        source = stored.raw
        entry = self.presentations.get(key, source, 0.0)
        if entry is None:
            try:
                value = orjson.dumps(resolve_pointer(stored.doc, pointer))
            except LookupError:
                value = b""
            entry = self.presentations.put(key, source, stored.version, value, -math.inf,
                                           math.inf)
        value = entry.text
        if not value:
            raise LookupError(pointer)
        return orjson.loads(value)

    def feeds(self, principal: Principal, rtype: str) -> bool:
        """Whether the change feed may give ``principal`` the events of ``rtype`` at all: a
        role that finds person records only by an exact identifier gets them withheld
        (/req/privacy/intake-minimum)."""
        return not (rtype == self.person_type and principal.role in self.lookup_roles)

    def consent_members(self, doc: Mapping[str, Any], principal: Principal,
                        now: datetime | None = None) -> frozenset[str] | None:
        """The top-level members of the person record ``doc`` that its consents in force for
        the shared purpose give ``principal``'s organisation ("" for the whole record), or
        None without such a consent (/req/privacy/department-consent)."""
        moment = utc_text((now or datetime.now(UTC)).isoformat())
        found: set[str] | None = None
        for consent in doc.get("consents") or ():
            if not (isinstance(consent, Mapping) and consent.get("purpose") == self.consent_purpose
                    and self.consent_in_force(consent, moment)):
                continue
            recipients = [r for r in consent.get("recipients") or () if isinstance(r, Mapping)]
            if recipients and principal.organisation_id not in {r.get("id") for r in recipients}:
                continue
            found = found if found is not None else set()
            for where in consent.get("scope") or ():
                # Only the whole record or a whole top-level member is granted.
                if where == "":
                    found.add("")
                elif isinstance(where, str) and where.count("/") == 1:
                    found.add(where[1:].replace("~1", "/").replace("~0", "~"))
        return frozenset(found) if found is not None else None

    def shared_members(self, principal: Principal, stored: Stored,
                       now: datetime | None = None) -> frozenset[str] | None:
        """What of the person record ``stored`` a consent shares with ``principal`` now: the
        members (see :meth:`consent_members`) when it holds an assignment in force on an issue
        whose own resident (:meth:`owner`) she is and whose reporter is disclosed, else None
        (/req/privacy/department-consent)."""
        organisation = principal.organisation_id
        if (principal.role not in self.consent_roles or organisation is None
                or self.records_naming is None):
            return None
        members = self.consent_members(stored.doc, principal, now)
        if members is None:
            return None
        # Her records, not the department's: a department holds a city's worth of issues,
        # a resident a handful. Only those that are hers: who filed one acting for another
        # resident shares nothing of their own record by it.
        for issue in self.records_naming(stored.id):
            if (self.owner(issue) == stored.id
                    and issue.doc.get("reporterDisclosure") not in self.consent_withheld
                    and self.holds_assignment(organisation, issue.doc)):
                return members
        return None

    @property
    def profile(self) -> RedactionProfile | None:
        """The city profile the server runs: its registered extensions are redacted by their
        own tags (/req/profiles/document-extensions), any other extension as sensitive."""
        return self._profile

    @profile.setter
    def profile(self, profile: RedactionProfile | None) -> None:
        self._profile = profile
        self.presentations.clear()  # made by the rules of the profile before

    # -- presentation ------------------------------------------------------------------
    def present(self, principal: Principal, stored: Stored, *, check: bool = True,
                now: datetime | None = None, state: str | None = None) -> Presented | None:
        """``stored`` as ``principal`` may see it, or None when it may not see it at all.

        With ``state`` (the JSON of an earlier state of the same resource: a change event's
        data, what an idempotent replay made), that state is served instead, decided and
        redacted from ``stored``, the current record (/req/change-feed/access-now).
        """
        if check and not self.can_see(principal, stored, now):
            return None
        audience = self.audience(principal, stored, now)
        rtype = stored.rtype
        text = stored.json if state is None else state
        # An earlier state goes as it is only where no member of it is decided now.
        if audience in self.untouched and rtype != self.person_type and (
                state is None or rtype not in self.decided_now) and (
                rtype not in self.reporter_types
                or principal.role in self.intake_roles or audience == "self"
                or (state is None and self._whole(principal, audience, stored))):
            return Presented(audience, None, text)
        if rtype == self.person_type and state is None and audience in self.untouched:
            whole = self._resident_whole(principal, stored, audience, now)
            if whole is not None:
                return whole
        if state is None and (self._steady_person(principal, stored, audience, now)
                              if rtype == self.person_type
                              else not self._owns_items(principal, audience, rtype)):
            return self._remembered(principal, stored, audience, now)
        # An earlier state is parsed here, into objects nothing else holds: redaction may
        # change them in place rather than copy them.
        doc = stored.doc if state is None else self.as_decided_now(orjson.loads(state), stored)
        minor: bool | None = None
        if rtype == self.person_type:
            doc, minor = self._resident(principal, stored, audience, now, doc,
                                        own=state is not None)
        else:
            # Her own items, as they are, before redaction may change them in place.
            own = self.own_items(principal, audience, rtype, doc, now)
            # What was parsed to decide is handed over: redaction changes it, nothing is copied.
            taken = state is None and bool(text)
            doc = redact(stored.take_doc() if taken else doc, audience, pseudonym_key=self.key,
                         pseudonym_key_id=self.key_id, profile=self.profile,
                         copy=not (taken or state is not None))
            if own:
                self._restore_items(rtype, doc, own)
        self._server_rules(principal, audience, rtype, doc, now)
        return Presented(audience, doc, None, minor)

    def _server_rules(self, principal: Principal, audience: str, rtype: str,
                      doc: dict[str, Any], now: datetime | None) -> None:
        """What the server withholds of the redacted ``doc`` beyond redaction: the levels of
        place not published, the reporter, vote results not yet due."""
        if rtype in self.publication and audience in self.publication_audiences:
            self._public_area(rtype, doc)
        if rtype in self.reporter_types:
            self._reporter(principal, audience, doc)
        if rtype in self.results_types:
            hide_results(doc, early=self.results.withholds_from(principal.role), now=now,
                         rule=self.results)

    def _owns_items(self, principal: Principal, audience: str, rtype: str) -> bool:
        """Whether items of a ``rtype`` record may be ``principal``'s own
        (:meth:`own_items`): then what it is given is its alone."""
        return (rtype in self.owned_items and audience != "self"
                and principal.role in self.own_record_roles and principal.resident is not None)

    def _remembered(self, principal: Principal, stored: Stored, audience: str,
                    now: datetime | None) -> Presented:
        """``stored`` (no item of it the reader's own; a person's record only as
        :meth:`_steady_person` allows) redacted for ``audience`` with the server's rules for
        ``principal``'s role, as served last to that role while the stored JSON and, for a
        role that waits for results, whether they are due stay the same
        (:class:`Presentations`)."""
        moment = now or datetime.now(UTC)
        key = (stored.rtype, stored.id, audience, principal.role)
        source = stored.raw  # one form for a record read and listed: one entry
        entry = self.presentations.get(key, source, moment.timestamp())
        if entry is None:
            doc = stored.doc
            since, until = -math.inf, math.inf
            if stored.rtype in self.results_types and self.results.withholds_from(
                    principal.role):
                since, until = results_steady(doc, moment, rule=self.results)
            person = stored.rtype == self.person_type
            if person:
                doc, minor = self._resident(principal, stored, audience, moment)
                if minor is not False:  # her whole record says what the facts did not
                    return Presented(audience, doc, None, minor)
            else:
                # What was parsed to decide is handed over: redaction changes it in place.
                doc = redact(stored.take_doc() if source else doc, audience,
                             pseudonym_key=self.key, pseudonym_key_id=self.key_id,
                             profile=self.profile, copy=not source)
            self._server_rules(principal, audience, stored.rtype, doc, moment)
            entry = self.presentations.put(
                key, source, stored.version, orjson.dumps(doc), since, until,
                self.sensitive_pointers(doc, minor=False) if person else None)
        return Presented(audience, None, entry.text, False if entry.disclosed is not None
                         else None, stored=False, verdicts=entry.verdicts,
                         disclosed=entry.disclosed)

    def _steady_person(self, principal: Principal, stored: Stored, audience: str,
                       now: datetime | None) -> bool:
        """Whether what ``principal`` reading as ``audience`` is given of the person record
        ``stored`` follows from its stored JSON and the audience alone, for as long as that
        JSON stays: no consent decides what is shared, it is not her own or her proxy's, she
        is neither erased nor restricted (whose minimal form depends on the reader), and she
        is of age, as she stays. Read from her stored facts, unparsed; a record without
        them is not remembered."""
        if (audience == "self" or principal.role in self.consent_roles
                or principal.role in self.own_record_roles):
            return False
        facts = self.person_rules.read(stored.facts)
        if facts is None:
            return False
        restriction = facts.doc.get("restriction")
        return not ((isinstance(restriction, Mapping)
                    and restriction.get("state") == self.erased_state)
                    or self.is_restricted(facts.doc) or self.is_minor(facts.doc, now))

    def _whole(self, principal: Principal, audience: str, stored: Stored) -> bool:
        """Whether ``stored`` reaches ``principal`` of an ``untouched`` audience exactly as
        stored: what redaction and the server's rules would do to it changes nothing, so its
        stored text is served without being parsed, redacted and written again."""
        rtype = stored.rtype
        if ((rtype in self.publication and audience in self.publication_audiences)
                or (audience, rtype) in self._necessary):
            return False
        # Most texts cannot hold a value that would change them: then they need no parse.
        if _lacks(stored.json, self._changing_tokens(principal.role, audience, rtype)):
            return True
        doc = stored.doc
        return not (self._strips_reporter(principal, audience, doc)
                    or (rtype in self.results_types and bool(doc.get("votes"))))

    @functools.lru_cache(maxsize=256)  # noqa: B019 -- one Access per server, a few roles
    def _changing_tokens(self, role: str, audience: str, rtype: str) -> tuple[str, ...] | None:
        """The JSON strings whose absence from a stored text of ``rtype`` proves that what
        :meth:`_whole` reads of the document changes nothing for ``role`` reading as
        ``audience``: the reporter disclosures that withhold the reporter from them, and the
        member ``votes``. None when one of them could be written other than as itself."""
        values: set[str] = set()
        if rtype in self.reporter_types:
            values |= {d for d, hidden in self.reporter_hidden.items() if audience in hidden}
            if role not in self.intake_roles:
                values |= self.intake_only
        if rtype in self.results_types:
            values.add("votes")
        if not all(_PLAIN.fullmatch(v) for v in values):
            return None
        return tuple(f'"{v}"' for v in sorted(values))

    def _resident_whole(self, principal: Principal, stored: Stored, audience: str,
                        now: datetime | None) -> Presented | None:
        """The person record ``stored`` as it reaches ``principal`` of an ``untouched``
        audience when that is exactly as stored (what :meth:`_resident` would do changes
        nothing), else None; decided by its stored facts where it has them, unparsed."""
        if principal.role in self.consent_roles or (audience, stored.rtype) in self._necessary:
            return None
        facts = self.person_rules.read(stored.facts)
        doc = stored.doc if facts is None else facts.doc
        restriction = doc.get("restriction")
        state = restriction.get("state") if isinstance(restriction, Mapping) else None
        if state == self.erased_state or (
                self.is_restricted(doc)
                and not self._may_see_restricted(principal, stored, audience, now)):
            return None
        minor = self.is_minor(doc, now)
        if minor and audience != "self" and self.minor_audience[audience] != audience:
            return None
        return Presented(audience, None, stored.json, minor, facts)

    @functools.cached_property
    def _necessary(self) -> frozenset[tuple[str, str]]:
        """(audience, resource type) that ``necessaryMembers`` limits."""
        rules = self.spec.privacy.get("necessaryMembers") or {}
        return frozenset((audience, rtype) for audience, types in rules.items()
                         if isinstance(types, Mapping) for rtype in types)

    def as_decided_now(self, state: dict[str, Any], current: Stored) -> dict[str, Any]:
        """An earlier ``state`` with the current record's values of the members that decide
        access (``privacy.json`` ``decidedNow``)."""
        out = dict(state)
        for member in self.decided_now.get(current.rtype, ()):
            if member in current.doc:
                # a copy: the caller may redact the state in place
                out[member] = copy.deepcopy(current.doc[member])
            else:
                out.pop(member, None)
        return out

    def _resident(self, principal: Principal, stored: Stored, audience: str,
                  now: datetime | None, doc: dict[str, Any] | None = None, *,
                  own: bool = False) -> tuple[dict[str, Any], bool | None]:
        """The person record ``stored`` (or its earlier state ``doc``; ``own``: parsed for
        this call alone, so redacted in place) as ``principal`` reading as ``audience`` sees
        it, and whether it went out as a minor's (None: not decided)."""
        doc = stored.doc if doc is None else doc
        restriction = doc.get("restriction")
        state = restriction.get("state") if isinstance(restriction, Mapping) else None
        if state == self.erased_state:
            # Every state of an erased record is its erased form, to every reader.
            return self.erased_form(doc), None
        if (self.is_restricted(doc)
                and not self._may_see_restricted(principal, stored, audience, now)):
            return self.erased_form(doc), None
        if principal.role in self.consent_roles:
            # Only what the current consent covers (/req/privacy/department-consent).
            members = self.consent_members(stored.doc, principal, now) or frozenset()
            if "" not in members:
                tagged = {path[0] for path, _ in pipl_paths(self.spec, self.person_type)}
                doc = {k: v for k, v in doc.items() if k not in tagged or k in members}
        minor: bool | None = None
        if audience != "self":
            minor = self.minor_record(stored, doc, now)
            if minor:
                audience = self.minor_audience[audience]
        taken = doc is stored.doc and bool(stored.json)
        # What was parsed to decide is handed over: redaction changes it, nothing is copied.
        return redact(stored.take_doc() if taken else doc, audience, pseudonym_key=self.key,
                      pseudonym_key_id=self.key_id, profile=self.profile,
                      copy=not (taken or own)), minor

    def minor_record(self, stored: Stored, served: Mapping[str, Any],
                     now: datetime | None = None) -> bool:
        """Whether the person record ``stored``, of which ``served`` is what a reader is given
        (all of it, the members a consent covers, an earlier state), is a minor's: decided by
        the whole record as stored, whatever of it the reader receives, or by the state served
        (/req/residents/minor-sensitive)."""
        return self.is_minor(stored.doc, now) or (served is not stored.doc
                                                  and self.is_minor(served, now))

    def restricted_from(self, principal: Principal, stored: Stored,
                        now: datetime | None = None) -> bool:
        """Whether ``stored`` is a restricted person's record that reaches ``principal`` only
        in its minimal form (/req/residents/restricted-disclosure), so that ``principal``
        writes nothing to it (/req/residents/restricted-writes)."""
        if stored.rtype != self.person_type:
            return False
        return self.is_restricted(stored.doc) and not self._may_see_restricted(
            principal, stored, self.audience(principal, stored, now), now)

    def is_restricted(self, doc: Mapping[str, Any]) -> bool:
        """Whether the person record ``doc`` (a stored state of it with its current
        restriction) is restricted: in the restricted state, or with a request made while it
        was, not yet decided, which leaves it so (/req/residents/restricted-disclosure).
        The state alone cannot tell the second: a record never restricted asks too."""
        restriction = doc.get("restriction")
        if not isinstance(restriction, Mapping) or self.restricted_state is None:
            return False
        state = restriction.get("state")
        return state == self.restricted_state or (
            self.restricted_kept is not None and self.restricted_kept in restriction
            and state != self.erased_state)

    def _may_see_restricted(self, principal: Principal, stored: Stored, audience: str,
                            now: datetime | None) -> bool:
        if principal.role in self.own_record_roles:
            return stored.id == principal.resident or self.proxy_grants(
                stored.doc, principal, self.restricted_scopes, now)
        return (audience in self.restricted_audiences
                and principal.serves_any(stored.communities))

    def _reporter(self, principal: Principal, audience: str, doc: dict[str, Any]) -> None:
        if self._strips_reporter(principal, audience, doc):
            strip_reporter(doc, self.own_record_roles)

    def _strips_reporter(self, principal: Principal, audience: str,
                         doc: Mapping[str, Any]) -> bool:
        """Whether the reporter of ``doc`` (of a ``reporter_types`` type) is withheld from
        ``principal`` reading as ``audience``: never from the reporter herself (``self``)."""
        if audience == "self":
            return False
        try:
            disclosure = resolve_pointer(doc, self.reporter_disclosure)
        except LookupError:
            return False
        return audience in self.reporter_hidden.get(str(disclosure), ()) or (
            disclosure in self.intake_only and principal.role not in self.intake_roles)

    # -- audit -------------------------------------------------------------------------
    def sensitive_pointers(self, doc: Mapping[str, Any], now: datetime | None = None, *,
                           minor: bool | None = None) -> list[str]:
        """JSON Pointers of the sensitive information ``doc`` (a person's record, or what a
        reader was given of it) discloses; ``minor``: whether it went out as a minor's, as
        :meth:`present` decided from the whole record (None: ``doc`` decides)."""
        found = PersonFacts({}, self.person_rules.fields(doc))
        return found.disclosed(minor if minor is not None else self.is_minor(doc, now))

    def disclosed(self, stored: Stored, presented: Presented) -> list[str]:
        """:meth:`sensitive_pointers` of what the person record ``stored`` was served as
        (``presented``), unparsed where it can be: remembered with a redacted record, or
        read from the facts that decided it goes out as stored."""
        if presented.disclosed is not None:
            return presented.disclosed
        if presented.text is not stored.json:
            return self.sensitive_pointers(presented.document(), minor=presented.minor)
        if presented.facts is not None and presented.minor is not None:
            return presented.facts.disclosed(presented.minor)
        return self.sensitive_pointers(stored.doc, minor=presented.minor)

    def is_erased(self, doc: Mapping[str, Any]) -> bool:
        """Whether ``doc`` is a person's record that has been erased."""
        restriction = doc.get("restriction")
        return (doc.get("resourceType") == self.person_type and isinstance(restriction, Mapping)
                and restriction.get("state") == self.erased_state)

    def erased_form(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """``doc`` reduced to the minimal erased form (/req/residents/erased-minimal)."""
        return {k: doc[k] for k in self.erased if k in doc}

    def is_minor(self, doc: Mapping[str, Any], now: datetime | None = None) -> bool:
        """Under the minor age at the time of the response (/req/residents/minor-sensitive),
        counted by the date in China Standard Time: of age from 00:00 on the birthday (on
        1 March for one born on 29 February, in a year without one)."""
        born = birth_date(doc)
        if born is None:
            return False
        today = (now or datetime.now(UTC)).astimezone(CST).date()
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        return age < self.minor_age


def _reached(value: Any, moment: str, *, absent: bool = True) -> bool:
    """Whether the time ``value`` is at or before ``moment`` (UTC text); ``absent`` when it is
    missing."""
    if value is None:
        return absent
    try:
        return utc_text(str(value)) <= moment
    except ValueError:
        return not absent  # unreadable: not granted, but withdrawn or expired


def strip_reporter(doc: dict[str, Any], person_roles: Iterable[str]) -> None:
    """Remove what identifies the reporter of an issue (/req/privacy/reporter-disclosure);
    ``person_roles`` are the roles whose actors are people, named by name and id."""
    people = frozenset(person_roles)
    doc.pop("reporterContact", None)
    actors: list[Any] = [doc.get("submittedBy")]
    actors += [e.get("actor") for e in doc.get("history") or () if isinstance(e, dict)]
    for actor in actors:
        if not isinstance(actor, dict):
            continue
        actor.pop("onBehalfOf", None)
        if actor.get("role") in people:
            for member in ("name", "userId", "resident"):
                actor.pop(member, None)
    for follow_up in doc.get("followUps") or ():
        if isinstance(follow_up, dict):
            follow_up.pop("respondent", None)


#: characters JSON writes only as themselves or as a \u escape
_PLAIN = re.compile(r"[A-Za-z0-9_.-]*")


def _lacks(text: str | bytes, tokens: tuple[str, ...] | None) -> bool:
    """Whether the JSON ``text`` (or its UTF-8) provably holds none of the strings ``tokens``
    (each quoted, of :data:`_PLAIN` characters): none appears as written, and no \\u escape
    could spell one otherwise. False when it cannot tell."""
    if not text or tokens is None:
        return False
    # A lone backslash is found far faster than the two characters of an escape (a
    # Chinese text is two bytes a character), and most records hold none.
    if isinstance(text, bytes):
        return not (b"\\" in text and b"\\u" in text) and not any(
            t.encode() in text for t in tokens)
    return not ("\\" in text and "\\u" in text) and not any(t in text for t in tokens)
