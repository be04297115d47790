"""The API's behaviour, independent of HTTP: what each operation checks, stores and answers.

A write is first prepared: checked, applied and validated from what is stored, with nothing
locked. What remains is a small job for the store's group commit, which checks again that the
versions it started from are current and writes the resource rows, the change event, the
idempotency record and the audit rows, which commit together or not at all. A refused job
(4xx) raises before it writes anything.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

import orjson

from smartcommunity import Validator, load_spec
from smartcommunity.exceptions import ActionNotAllowed, InvalidActionDetails, RoleNotAllowed
from smartcommunity.identifiers import pseudonym_key_id
from smartcommunity.integrity import feed_event_digest, head_digest, seal_history, withheld_event
from smartcommunity.lifecycle import Lifecycle, lifecycle_for
from smartcommunity.participation import moment as instant
from smartcommunity.pointers import pointer, resolve_pointer
from smartcommunity.privacy import without_personal
from smartcommunity.profiles import Profile, load_profile
from smartcommunity.specification import LATEST_CURSOR, Spec, available_versions
from smartcommunity.validation import Compiled, compile_schema, pseudonym_key, schema_problems

from ..access import Access, Presented
from ..auth import ALL, Principal
from ..errors import (
    ActorMismatch,
    Forbidden,
    IdConflict,
    IdempotencyKeyReused,
    NotFound,
    PreconditionFailed,
    ProblemError,
    StatusConflict,
    Unprocessable,
    coded,
    finding,
    message,
)
from ..http import decode_cursor, encode_cursor
from ..settings import CST, Settings
from ..storage import (
    Change,
    EventRow,
    ListQuery,
    NewEvent,
    Store,
    Stored,
    Tx,
    derive,
    filter_paths,
    selects,
    utc_text,
)
from . import _policies  # noqa: F401  # registers the policies of the standard's resource types
from ._bulk import ImportStopped, change_of, import_lines, imported, version_refusal
from ._erasure import clearing, erase_earlier_states
from ._partial import PartialWrite
from ._policies import RETENTION_EXPIRED, SWEEPER_ROLE
from ._policy import POLICIES, Policy
from ._profile import PROFILES_CLASS, catalogue, published
from ._retention import (
    ErasureReach,
    Lapsed,
    Retention,
    entered_status,
    in_force,
    left_since,
    memberships_ended,
)
from ._shared import (
    Prepared,
    Result,
    Write,
    forbidden,
    now_cst,
    refused,
    salts_kept,
    stamp,
    unprocessable,
)

__all__ = ["Prepared", "Result", "Service", "Write", "forbidden", "unprocessable"]

EVENT_TYPE = "org.w3id.smartcommunity.{}.{}"
#: the CloudEvents version of the change feed's events
CLOUDEVENTS_VERSION = "1.0"


def request_errors(checker: Compiled, spec: Spec, body: Any) -> list[dict[str, Any]]:
    """Findings for an action request that breaks action-request.json, worded in both
    languages like every other schema error."""
    out = []
    for where, code, values in schema_problems(checker, body):
        said = message(code, spec.version, **values)
        out.append(finding(pointer(where), code, said["en"], said["zh-Hans"],
                           "/req/core/no-unknown-members" if code == "schema.unknown-member"
                           else None))
    return out


#: rows a list page reads at a time once some were dropped, looking for its last or next item
_LOOKAHEAD = 16
#: seconds between two deletions of expired Idempotency-Keys in one process
_KEYS_EXPIRED_EVERY = 60.0
#: the records access rules followed while one list page is made: (type, id) → row or None
_PAGE_HELD: ContextVar[dict[tuple[str, str], Stored | None] | None] = ContextVar(
    "page_held", default=None)


class Service:
    """The reference server's operations over one store."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.spec = load_spec(settings.spec_version)
        self.access = Access(self.spec, settings.pseudonym_key, settings.pseudonym_key_id,
                             remembered=settings.remembered_bytes)
        #: the versions whose documents the server takes: those installed of its major version
        major = self.spec.version.split(".")[0]
        self.versions = tuple(v for v in available_versions() if v.split(".")[0] == major)
        # The library validates each document against the version it names.
        self.validator = Validator(settings.spec_version)
        #: the city profile every write is also read with (/conf/profiles); raises
        #: ProfileError, with the profile's findings, when the file has errors
        self.profile: Profile | None = (
            load_profile(settings.profile) if settings.profile is not None else None)
        self.access.profile = self.profile
        self.access.held = self._held
        self.key = settings.pseudonym_key
        self.key_id = settings.pseudonym_key_id
        #: the keys still held besides the newest, by id (None: the unnamed one)
        self.older_keys = {kid or None: k for kid, k in settings.older_pseudonym_keys.items()}
        shortest = int(self.spec.parameter("/req/privacy/pseudonym", "minimumKeyBytes"))
        if any(len(k) < shortest for k in (self.key, *self.older_keys.values()) if k is not None):
            raise ValueError(f"the pseudonym key must be at least {shortest} bytes")
        if self.key_id is not None:  # a key id the pseudonym form cannot carry: ValueError
            pseudonym_key_id(f"hmac-sha256:{self.key_id}:{'0' * 64}")
        self.source = store.source_uri(settings.source_uri)
        # Every event's chain digest covers its source, type and subject, which the service
        # knows; events stored before the server computed them are sealed now, once.
        store.sealer = self.event_digest
        with store.write() as tx:
            tx.seal_feed()
        if store.committer is not None:
            # Jobs refuse (4xx) before they write anything, so a refusal needs no rollback.
            store.committer.refusals = (ProblemError,)
        self.policies: dict[str, Policy] = {
            rt: POLICIES.get(rt, Policy)(self, rt) for rt in self.spec.resource_types}
        self.action_request = compile_schema(self.spec, self.spec.schema("action-request.json"))
        #: how long personal data is kept (/req/privacy/retention): the spec's maxima or the
        #: shorter periods the city chose
        self.retention = Retention.of(self.spec, settings.retention)
        #: how long an Idempotency-Key is kept (/req/core/idempotency-scope)
        self.idempotency_period = min(self.retention.idempotency_period, timedelta(
            hours=float(self.spec.parameter("/req/core/idempotency-scope", "retentionHours"))))
        #: when this process last deleted the keys that have expired (time.monotonic)
        self._keys_expired = float("-inf")
        #: what a resident's erasure clears in other records (/req/privacy/erasure-reaches-records)
        self.reach = ErasureReach(self.spec)
        self.access.person = self._person
        self.access.records_naming = self._records_naming
        #: who a call without a token to an anonymous read is (/req/privacy/anonymous-public-read)
        self.anonymous = Principal(name="(anonymous)", role=str(
            self.spec.privacy["recordAccess"]["anonymousRole"]), communities=ALL)
        #: the roles that may record for a resident (/req/core/actor-is-principal)
        self.behalf_roles = frozenset(
            self.spec.parameter("/req/core/actor-is-principal", "onBehalfRoles"))
        audit = self.spec.operation("listAuditEvents").get("x-roles")
        #: who may read the audit log (the operation's x-roles)
        self.audit_roles = frozenset(audit or ())
        declaration: dict[str, Any] = {
            "specVersions": list(self.versions),
            # The profiles class is implemented only while a profile is run.
            "conformsTo": [c.uri for cid, c in self.spec.conformance_classes.items()
                           if cid != PROFILES_CLASS or self.profile is not None],
            "retention": self.retention.declaration(),
        }
        if self.profile is not None:
            declaration["profile"] = {"id": self.profile.id, "version": self.profile.version}
        self.conformance = orjson.dumps(declaration)
        #: GET /services, serialised once; GET /profile by the audience of its reader, each
        #: serialised when first read (its registry is redacted as the reader may see it)
        self.catalogue = catalogue(self.profile)
        self.profile_bodies: dict[str, bytes] = {}

    def declaration(self) -> Result:
        """GET /conformance: the versions and classes the server implements."""
        return Result(200, self.conformance)

    def published_profile(self, principal: Principal) -> Result:
        """GET /profile: the city profile the server runs (404 when it runs none), each
        organisation of its registry as GET /organisations/{id} serves it to ``principal``
        (/req/profiles/server-profile, /req/privacy/public-no-personal)."""
        if self.profile is None:
            raise NotFound()
        # An organisation is read as its reader's role's audience: no one owns one.
        audience = self.access.role_audience.get(principal.role, self.access.anonymous_audience)
        body = self.profile_bodies.get(audience)
        if body is None:
            body = published(self.profile, lambda org: self.registry_entry(principal, org))
            self.profile_bodies[audience] = body
        return Result(200, body)

    def registry_entry(self, principal: Principal, org: dict[str, Any]) -> dict[str, Any]:
        """``org``, an organisation of the profile's registry, as ``principal`` may see it."""
        row = Stored(0, str(org.get("resourceType")), str(org.get("id")), 1,
                     orjson.dumps(org).decode(), "", "")
        presented = self.access.present(principal, row, check=False)
        assert presented is not None  # only a check hides a resource
        return presented.document()

    def services(self) -> Result:
        """GET /services: the profile's service catalogue (empty without a profile)."""
        return Result(200, self.catalogue)

    # -- helpers -----------------------------------------------------------------------
    def validate(self, doc: Any, *, keyed: bool = True, profiled: bool = True,
                 previous: Mapping[str, Any] | None = None, imported: bool = False) -> None:
        """422 with every finding when ``doc`` breaks the schema or a library rule.

        With the city's key (and ``keyed``), pseudonyms are checked against their numbers too
        (/req/residents/pseudonym-consistent). Imports and the demo pass ``keyed=False``: their
        documents may come from systems holding another key. With ``profiled`` (the default)
        the city profile the server runs reads the document too; ``previous``, the stored
        version a write replaces, lets it keep the deadlines the write leaves alone, and
        ``imported`` (a record stored before, restored or moved here) those an issue was given
        before the profile's version was published.
        """
        # Installed, but of another major version: not one this server takes.
        refusal = version_refusal(self.versions, doc)
        if refusal is not None:
            raise refusal
        if keyed and self.key is not None:
            with pseudonym_key(self.key, key_id=self.key_id, older=self.older_keys):
                report = self.validator.validate(doc)
        else:
            report = self.validator.validate(doc)
        if profiled and self.profile is not None:
            report = self.profile.review(doc, report, previous=previous, imported=imported)
        problem = refused(report, doc)
        if problem is not None:
            raise problem

    def _person(self, rid: str) -> Stored | None:
        with self.store.read() as tx:
            return tx.get(self.access.person_type, rid)

    def _records_naming(self, resident: str) -> list[Stored]:
        """The stored resources of the types that can name a resident
        (``recordAccess.ownedBy``) that name ``resident``, for the consent she shares with
        departments (/req/privacy/department-consent): an index lookup of her
        ``named-resident`` terms, which every ``ownedBy`` pointer writes."""
        with self.store.read() as tx:
            return tx.naming(resident, self.access.owned_by)

    def lifecycle(self, rtype: str) -> Lifecycle:
        """The lifecycle of ``rtype`` in the version the server serves."""
        return lifecycle_for(rtype, self.spec.version)

    def lifecycle_of(self, doc: Mapping[str, Any]) -> Lifecycle:
        """The lifecycle of the version ``doc`` names (the server's own when it names none)."""
        rtype = str(doc.get("resourceType"))
        version = doc.get("specVersion")
        if version == self.spec.version or version not in self.versions:
            return self.lifecycle(rtype)
        return lifecycle_for(rtype, str(version))

    def with_meta(self, doc: Mapping[str, Any], version: int, created: str, updated: str,
                  source: str | None = None) -> dict[str, Any]:
        """``doc`` with the meta the server keeps (versionId, lastUpdated, createdAt, source);
        of a meta the request gives, only the profile stays (/req/core/meta-source). The
        source is ``source`` (a stored record's own) or, for a record made here, this server's."""
        given = doc.get("meta")
        meta = dict(given) if isinstance(given, Mapping) else {}
        meta["versionId"] = str(version)
        meta["lastUpdated"] = updated
        meta["createdAt"] = created
        # Never the request's: a client would make its record look another system's.
        meta["source"] = source or self.source
        out = dict(doc)
        out["meta"] = meta
        return out

    def etag(self, version: int) -> dict[str, str]:
        return {"ETag": f'"{version}"'}

    def _held(self, rtype: str, rid: str) -> Stored | None:
        """The stored record, for access rules that follow another record; read once a page
        while a list page is being made (its opinions mostly follow the same consultation)."""
        memo = _PAGE_HELD.get()
        if memo is not None and (rtype, rid) in memo:
            return memo[rtype, rid]
        with self.store.read() as tx:
            found = tx.get(rtype, rid)
        if memo is not None:
            memo[rtype, rid] = found
        return found

    def visible(self, principal: Principal, stored: Stored | None) -> Stored:
        if stored is None or not self.access.can_see(principal, stored):
            raise NotFound()
        return stored

    def check_version(self, stored: Stored, versions: list[str] | None) -> None:
        if versions is None:
            return
        if str(stored.version) not in versions:
            raise PreconditionFailed(given=", ".join(f'"{v}"' for v in versions) or "?",
                                     current=f'"{stored.version}"')

    def audit_row(self, principal: Principal, operation: str, resident: str,
                  fields: list[str], communities: Iterable[str], at: str) -> dict[str, Any]:
        return {"at": at, "principal": principal.key, "role": principal.role,
                "operation": operation, "resident": resident, "fields": fields,
                "communities": list(communities)}

    def _audit_reads(self, principal: Principal, operation: str,
                     shown: Sequence[tuple[Stored, Presented]],
                     pending: list[dict[str, Any]] | None = None) -> None:
        """Log what sensitive resident data a read disclosed (/req/privacy/audit-log); with
        ``pending``, the rows are added to it for the caller to commit before it answers."""
        at = stamp(now_cst())
        rows = []
        for stored, presented in shown:
            if not self.policies[stored.rtype].audited:
                continue
            fields = self.access.disclosed(stored, presented)
            if fields:
                rows.append(self.audit_row(principal, operation, stored.id, fields,
                                           stored.communities, at))
        if pending is not None:
            pending.extend(rows)
        elif rows:
            self.store.transact(lambda tx: tx.audit(rows))

    def present(self, principal: Principal, stored: Stored, check: bool = True,
                state: str | None = None) -> Presented | None:
        return self.access.present(principal, stored, check=check, state=state)

    def _written(self, principal: Principal, stored: Stored) -> Presented:
        # The writer sees its result as its audience allows, even when scope would hide it.
        presented = self.access.present(principal, stored, check=False)
        assert presented is not None
        return presented

    def _prepare(self, doc: dict[str, Any], previous: Stored | None = None,
                 fallback: Iterable[str] = ()) -> Stored:
        """``doc`` (its meta already set) as the row it will become; nothing is written yet.

        A resident naming no community stays in the scope it had (``previous``) or, when new,
        in the creator's communities (``fallback``), so that someone may still read it.
        """
        # Each history event appended names the one before it (/req/core/history-chain).
        doc = seal_history(doc)
        text = orjson.dumps(doc).decode()
        derived = derive(doc, previous.communities if previous else fallback)
        return Stored.prepared(previous.seq if previous else 0, doc, text, derived)

    def _write(self, tx: Tx, row: Stored, kind: str, action: str, at: str,
               previous: Stored | None = None) -> None:
        """Store a prepared row and its change event; 412 if ``previous`` is no longer current.

        Checking the version at the write is exact: the request's If-Match named the version
        it was prepared from, so a newer one makes that If-Match stale.
        """
        derived = row.derived
        assert derived is not None, "write only prepared rows"
        event = NewEvent(kind, action, at, head_digest(row.doc))
        if previous is None:
            # The id is checked by the insert itself: a taken id writes nothing (409).
            seq = tx.insert(row.rtype, row.id, row.version, row.text, derived, event)
            if seq is None:
                raise IdConflict(id=row.id)
            row.seq = seq
        elif not tx.replace(previous, row.version, row.text, derived, previous.version, event):
            current = tx.get(row.rtype, row.id)
            raise PreconditionFailed(given=f'"{previous.version}"',
                                     current=f'"{current.version if current else "?"}"')

    @staticmethod
    def _current(tx: Tx, prior: Stored) -> None:
        """412 unless ``prior`` is still the stored version."""
        current = tx.get(prior.rtype, prior.id)
        if current is None or current.version != prior.version:
            raise PreconditionFailed(given=f'"{prior.version}"',
                                     current=f'"{current.version if current else "?"}"')

    # -- running prepared writes -------------------------------------------------------
    async def finish_async(self, prepared: Prepared) -> Result:
        """Commit a prepared write (or pass its early answer through) and give its result,
        awaiting the group commit without blocking the event loop."""
        if isinstance(prepared, Result):
            return prepared
        return await self.store.transact_async(prepared)

    # -- create ------------------------------------------------------------------------
    def prepare_create(self, principal: Principal, rtype: str, doc: Any,
                       key: str | None) -> Prepared:
        policy = self.policies[rtype]
        policy.may_create(principal)
        request = f"POST /{policy.collection}"
        body_hash = None
        if key is not None:
            body_hash = hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()
            with self.store.read() as tx:
                hit = tx.idempotent(principal.key, key, self._unexpired())
                if hit is not None:
                    return self._replay(tx, principal, hit, request, body_hash)
        doc = policy.complete(doc)
        self.validate(doc)
        doc = self._bind_creator(principal, policy, doc)
        policy.check_create(principal, doc)
        policy.refuse_echo(doc)
        at = stamp(now_cst())
        new = self.with_meta(doc, 1, at, at)
        creator = () if principal.every_community else sorted(principal.communities)
        row = self._prepare(new, fallback=creator)
        body = self._written(principal, row).bytes()
        headers = {**self.etag(1), "Location": f"/{policy.collection}/{doc['id']}"}
        audit = [self.audit_row(principal, "create", doc["id"],
                                self.access.sensitive_pointers(new), row.communities, at)
                 ] if policy.audited else []

        def job(tx: Tx) -> Result:
            # Staged, a key stored since the check above makes the batch's write miss, and
            # the batch runs again unstaged, where it is found here (see Tx.remember).
            if key is not None and body_hash is not None and not tx.staging:
                hit = tx.idempotent(principal.key, key, self._unexpired())
                if hit is not None:  # the same key, committed since the check above
                    # audited in this transaction: the job runs on the group commit's thread
                    audits: list[dict[str, Any]] = []
                    replayed = self._replay(tx, principal, hit, request, body_hash, audits)
                    tx.audit(audits)
                    return replayed
            self._check_behalf(tx, principal, policy, doc)
            policy.check_create_stored(tx, principal, doc)
            self._write(tx, row, "created", "create", at)
            if key is not None and body_hash is not None:
                # A reference to what was made, never a copy (/req/privacy/erasure-every-copy).
                tx.remember(principal.key, key, request, body_hash, 201, headers["ETag"],
                            headers["Location"], (row.rtype, row.id, row.version),
                            utc_text(at), self._unexpired())
                self._expire_keys(tx)
            tx.audit(audit)
            return Result(201, body, headers)

        return job

    def _expire_keys(self, tx: Tx) -> None:
        """Delete the keys that have expired, at most once a minute in this process: a key
        expired is forgotten at once (it replays nothing and is written over when used
        again), and deleting on every create read the table each time."""
        now = time.monotonic()
        if now - self._keys_expired >= _KEYS_EXPIRED_EVERY:
            self._keys_expired = now
            tx.expire_keys(self._unexpired())

    def _unexpired(self) -> str:
        """UTC text before which a remembered Idempotency-Key has expired."""
        return utc_text(stamp(now_cst() - self.idempotency_period))

    def _replay(self, tx: Tx, principal: Principal, hit: Mapping[str, Any], request: str,
                body_hash: str, audits: list[dict[str, Any]] | None = None) -> Result:
        """The first result of a create, read afresh: only if the replayer may read the
        resource now, as they may see it now, and audited as a read would be
        (/req/core/idempotency-replay-access); ``audits`` as for :meth:`read`."""
        if hit["request"] != request or hit["body_hash"] != body_hash:
            raise IdempotencyKeyReused()
        rtype, rid, version = str(hit["rtype"]), str(hit["rid"]), int(hit["version"])
        current = tx.get(rtype, rid)
        state = tx.event_state(rtype, rid, version)
        if current is None or state is None:
            raise NotFound()
        presented = self.present(principal, current, state=state)
        if presented is None:
            raise NotFound()
        if self.policies[rtype].audited:
            self._audit_reads(principal, "replay", [(current, presented)], audits)
        headers = {"Idempotent-Replayed": "true"}
        if hit["etag"]:
            headers["ETag"] = hit["etag"]
        if hit["location"]:
            headers["Location"] = hit["location"]
        return Result(200, presented.bytes(), headers)

    # -- read, list, history -----------------------------------------------------------
    def read(self, principal: Principal, rtype: str, rid: str,
             audits: list[dict[str, Any]] | None = None) -> Result:
        """One resource as ``principal`` may see it; with ``audits``, the audit rows of the
        read are added to it, for the caller to commit before it answers."""
        with self.store.read() as tx:
            stored = tx.get(rtype, rid)
        if stored is None:
            raise NotFound()
        presented = self.present(principal, stored)
        if presented is None:
            raise NotFound()
        if self.policies[rtype].audited:
            self._audit_reads(principal, "read", [(stored, presented)], audits)
        return Result(200, presented.bytes(), self.etag(stored.version))

    def history(self, principal: Principal, rtype: str, rid: str) -> Result:
        with self.store.read() as tx:
            stored = tx.get(rtype, rid)
        presented = self.present(principal, self.visible(principal, stored))
        if presented is None:
            raise NotFound()
        items = presented.document().get("history") or []
        return Result(200, orjson.dumps({"items": items}))

    def list_page(self, principal: Principal, rtype: str, query: ListQuery, cursor: str | None,
                  limit: int, audits: list[dict[str, Any]] | None = None) -> Result:
        """A page of the list; ``audits`` as for :meth:`read`."""
        after = decode_cursor("r", cursor)
        if (rtype == self.access.person_type and principal.role in self.access.lookup_roles
                and not query.pseudonym):
            raise forbidden(principal, "your role finds residents only by an exact identifier: "
                            "read one by id or list with pseudonym",
                            "您的角色只能凭确切标识查找居民：按 id 读取，或以 pseudonym 过滤列表",
                            "/req/privacy/intake-minimum", "/pseudonym")
        shown: list[tuple[Stored, Presented]] = []
        # A filter selects only by what the reader receives (/req/privacy/filter-what-is-seen):
        # on a member its audience never receives, nothing; otherwise each row it is served
        # is tested again as served (redacted, published down to a level, restricted).
        paths = filter_paths(rtype, query)
        if paths and self.access.never_receives(principal, rtype, paths):
            return Result(200, orjson.dumps({"items": [], "next": None}))
        scope = self.access.scope(principal, rtype)
        asked = repr(query)  # the filters, for the verdicts kept with remembered records

        def test(doc: dict[str, Any]) -> bool:
            return selects(rtype, query, doc)

        last = after
        following: int | None = None  # the next row the reader would be served
        held = _PAGE_HELD.set({})
        try:
            with self.store.read() as tx:
                wanted = limit + 1
                while True:
                    rows = tx.page(rtype, query, scope, last, wanted)
                    for stored in rows:
                        last = stored.seq
                        presented = self.present(principal, stored)
                        if presented is None or (paths and not presented.stored and not
                                                 presented.meets(asked, test)):
                            continue
                        if len(shown) == limit:
                            following = stored.seq
                            break
                        shown.append((stored, presented))
                    if following is not None or len(rows) < wanted:
                        break
                    # Rows were dropped: read on in batches, not a statement a row, until a
                    # row the reader is served says whether a next page exists.
                    wanted = max(limit - len(shown) + 1, _LOOKAHEAD)
        finally:
            _PAGE_HELD.reset(held)
        if self.policies[rtype].audited:
            self._audit_reads(principal, "list", shown, audits)
        # ``next`` only when a row the reader is served follows, and pointing just before it:
        # neither whether it is set nor where it points tells of rows the reader may not see.
        page = {"items": [p.json() for _, p in shown],
                "next": encode_cursor("r", following - 1) if following is not None else None}
        return Result(200, orjson.dumps(page))

    # -- update ------------------------------------------------------------------------
    def prepare_update(self, principal: Principal, rtype: str, rid: str, doc: Any,
                       versions: list[str]) -> Prepared:
        policy = self.policies[rtype]
        policy.may_update(principal)
        with self.store.read() as tx:
            stored = self.visible(principal, tx.get(rtype, rid))
        policy.check_writable(principal, stored)
        partial: PartialWrite | None = None
        if isinstance(doc, dict):
            # What the writer does not receive keeps its stored value
            # (/req/privacy/update-keeps-unreceived).
            partial = PartialWrite(self.access, principal, stored, doc)
            doc = salts_kept(stored.doc, policy.prepare_update(principal, stored, partial.doc))
        # What the writer wrote where it does not receive: told after a refusal of another
        # kind (403, 409, 412), and instead of the 422 of what the merged record breaks.
        refusals = partial.refusals() if partial is not None else []
        try:
            # The body is judged before the version, so bad data is a 422 whatever the ETag.
            self.validate(doc, previous=stored.doc)
            self.check_version(stored, versions)
            if doc.get("id") != rid:
                raise unprocessable([("/id", f"the id must stay {rid}", f"标识必须保持为 {rid}",
                                      policy.id_requirement)])
            self._creators_kept(policy, stored.doc, doc)
            policy.refuse_echo(doc, stored.doc)
            with self.store.read() as tx:
                policy.check_update(tx, principal, stored, doc)
        except ProblemError as error:
            if refusals and isinstance(error, Unprocessable):
                raise Unprocessable(count=len(refusals), errors=refusals) from None
            # Nothing the writer does not receive is told (/req/privacy/write-errors-unreceived).
            if partial is None:
                raise
            raise partial.screened(error, self.spec) from None
        if refusals:
            raise Unprocessable(count=len(refusals), errors=refusals)
        at = stamp(now_cst())
        old_meta = stored.doc.get("meta") or {}
        new = self.with_meta(doc, stored.version + 1, str(old_meta.get("createdAt", at)), at,
                             old_meta.get("source"))
        row = self._prepare(new, stored)
        body = self._written(principal, row).bytes()
        audit = [self.audit_row(principal, "update", rid, self.access.sensitive_pointers(new),
                                row.communities, at)] if policy.audited else []

        def job(tx: Tx) -> Result:
            self._write(tx, row, "updated", "update", at, stored)
            tx.audit(audit)
            return Result(200, body, self.etag(row.version))

        return job

    # -- lifecycle actions -------------------------------------------------------------
    def prepare_act(self, principal: Principal, rtype: str, rid: str, action: str, body: Any,
                    versions: list[str]) -> Prepared:
        lifecycle = self.lifecycle(rtype)
        transition = lifecycle.transitions.get(action)
        if transition is None or transition.creates:
            raise NotFound(
                message=message("lifecycle.unknown-action", self.spec.version, action=action),
                errors=[coded("/path/action", "lifecycle.unknown-action", self.spec.version,
                              action=action)])
        # /req/core/role-before-body: a role not allowed gets 403 whatever it sent.
        if principal.role not in transition.roles:
            raise self._role_error(lifecycle, principal, action)
        policy = self.policies[rtype]
        if self.profile is not None and isinstance(body, dict):
            # The city's catalogue fills what the request leaves to it (the departments of a
            # dispatch); whether the caller may act at all is decided below, as for any call.
            with self.store.read() as tx:
                found = tx.get(rtype, rid)
            if found is not None:
                body = policy.route(found.doc, action, body)
        errors = request_errors(self.action_request, self.spec, body)
        if errors:
            raise Unprocessable(count=len(errors), errors=errors)
        moment = now_cst()
        with self.store.read() as tx:
            stored = self.visible(principal, tx.get(rtype, rid))
            policy.check_writable(principal, stored)
            self.check_version(stored, versions)
            doc = stored.doc
            # The document's own version says which table applies to it.
            lifecycle = self.lifecycle_of(doc)
            transition = lifecycle.transitions.get(action, transition)
            status = doc.get("status")
            if status not in transition.sources:
                raise StatusConflict(action=action, status=status, allowed=", ".join(
                    lifecycle.allowed_actions(status)) or "-")
            details = body.get("details")
            problems = lifecycle.details_errors(action, details)
            if problems:
                raise Unprocessable(count=len(problems), errors=[
                    coded(p, "lifecycle.invalid-details", self.spec.version,
                          policy.details_requirement, action=action, detail=m)
                    for p, m in problems])
            actor = self._actor(principal, body.get("actor"), "/actor")
            if "onBehalfOf" in actor:
                self._may_act_for(tx, principal, policy, actor["onBehalfOf"],
                                  "/actor/onBehalfOf")
            inputs = self._bind_items(tx, principal, policy,
                                      policy.check_action(tx, principal, stored, action, body,
                                                          actor))
            extra = policy.also_write(tx, principal, stored, body, action)
        at = stamp(self._not_before(moment, doc))
        try:
            applied = lifecycle.apply(
                doc, action, actor=actor, at=at, details=details, note=body.get("note"),
                reason=body.get("reason"), inputs=inputs,
                thresholds=self.profile.thresholds if self.profile is not None else None)
        except RoleNotAllowed:
            raise self._role_error(lifecycle, principal, action) from None
        except ActionNotAllowed as exc:
            raise StatusConflict(message=exc.message) from None
        except InvalidActionDetails as exc:
            # The effect's own code (an assignment's missing item, a status it may not
            # state), so that a client can tell one refusal from another.
            code = str(exc.context.get("problem") or "http.unprocessable-content")
            req = self.spec.requirement_for_code(code)
            errors = [finding(p, code, m, exc.message["zh-Hans"], req.id if req else None)
                      for p, m in exc.context.get("errors", [])]
            raise Unprocessable(count=len(errors), errors=errors) from None
        new_doc = policy.after_apply(applied.document, inputs)
        old_meta = doc.get("meta") or {}
        new = self.with_meta(new_doc, stored.version + 1, str(old_meta.get("createdAt", at)), at,
                             old_meta.get("source"))
        self.validate(new, previous=doc)
        row = self._prepare(new, stored)
        others = []
        for item in extra:
            item_meta = item.stored.doc.get("meta") or {}
            other = self.with_meta(item.doc, item.stored.version + 1,
                                   str(item_meta.get("createdAt", at)), at,
                                   item_meta.get("source"))
            self.validate(other, previous=item.stored.doc)
            others.append((item, self._prepare(other, item.stored)))
        out = self._written(principal, row).bytes()

        def job(tx: Tx) -> Result:
            # Every version is checked before anything is written (see Committer).
            for prior in (*(item.stored for item, _ in others), stored):
                self._current(tx, prior)
            for item, other_row in others:  # a merge's target, in the same commit
                self._write(tx, other_row, item.kind, item.action, at, item.stored)
            self._write(tx, row, "transitioned", action, at, stored)
            return Result(200, out, self.etag(row.version))

        return job

    @staticmethod
    def _not_before(moment: datetime, doc: Mapping[str, Any]) -> datetime:
        """Now, or the last event's time if the clock says earlier: history never goes back."""
        history = doc.get("history") or []
        if history and isinstance(history[-1], Mapping):
            last = instant(history[-1].get("at"))
            if last is not None and last > moment:
                try:
                    return last.astimezone(CST)
                except OverflowError:  # after year 9999 in China time: in its own offset
                    return last
        return moment

    def _role_error(self, lifecycle: Lifecycle, principal: Principal, action: str) -> ProblemError:
        roles = ", ".join(sorted(lifecycle.transitions[action].roles))
        return Forbidden(
            role=principal.role, reason=f"only {roles} may perform {action}",
            reason_zh=f"只有 {roles} 可以执行 {action}",
            errors=[coded("", "lifecycle.role-not-allowed", self.spec.version,
                          "/req/core/action-roles", role=principal.role, action=action,
                          roles=roles)])

    def _actor(self, principal: Principal, given: Any, where: str) -> dict[str, Any]:
        """The requesting principal as actor (/req/core/actor-is-principal).

        What the body states of the actor must be the principal's: its role, user id,
        resident and organisation; what it leaves out is filled in. It may add onBehalfOf
        only in a role that records for residents.
        """
        actor = principal.actor(self.access.person_type)
        if not isinstance(given, Mapping):
            return actor
        claims = {"role": principal.role, "name": principal.name, "userId": principal.user_id,
                  "resident": principal.resident, "organisation": principal.organisation_id}
        for member, own in claims.items():
            if member not in given:
                continue
            value = given[member]
            if isinstance(value, Mapping):
                value = value.get("id")
            if value != own:
                raise ActorMismatch(member=member, errors=[coded(
                    f"{where}/{member}", "http.actor-mismatch", self.spec.version,
                    "/req/core/actor-is-principal", member=member)])
        if "onBehalfOf" in given:
            if principal.role not in self.behalf_roles:
                raise ActorMismatch(member="onBehalfOf", errors=[coded(
                    f"{where}/onBehalfOf", "http.actor-mismatch", self.spec.version,
                    "/req/core/actor-is-principal", member="onBehalfOf")])
            actor["onBehalfOf"] = dict(given["onBehalfOf"])
        return actor

    def _bind_creator(self, principal: Principal, policy: Policy,
                      doc: dict[str, Any]) -> dict[str, Any]:
        """``doc`` whose creating event's actor (and the policy's creator members, and what
        else the policy binds) are the principal: 403 if the body claims anyone else."""
        history = doc.get("history")
        if not isinstance(history, list) or not history or not isinstance(history[0], dict):
            return doc
        out = dict(doc)
        first = dict(history[0])
        first["actor"] = self._actor(principal, first.get("actor"), "/history/0/actor")
        out["history"] = [first, *history[1:]]
        for member in policy.creator_members:
            out[member] = self._actor(principal, doc.get(member), f"/{member}")
        return policy.bind_creator(principal, out,
                                   lambda given, where: self._actor(principal, given, where))

    def _creators_kept(self, policy: Policy, old: Mapping[str, Any],
                       new: Mapping[str, Any]) -> None:
        """/req/core/actor-is-principal: an update keeps the creator members the create bound
        to the principal; whose resource it is (and who reads it as her own) follows from
        them, so rewriting one would hand the record, and the reporter's contact, to another."""
        errors = [coded(f"/{m}", "http.creator-fixed", self.spec.version,
                        "/req/core/actor-is-principal", member=m)
                  for m in policy.creator_members if old.get(m) != new.get(m)]
        if errors:
            raise Unprocessable(count=len(errors), errors=errors)

    def _bind_items(self, tx: Tx, principal: Principal, policy: Policy,
                    inputs: Mapping[str, Any]) -> dict[str, Any]:
        """``inputs`` whose items name the principal as who wrote them (a new assignment's
        assignedBy, a follow-up's by): 403 if an item claims anyone else."""
        out = dict(inputs)
        for kind, member in policy.item_actors.items():
            entries = inputs.get(kind)
            if not isinstance(entries, list):
                continue
            bound = []
            for i, entry in enumerate(entries):
                if isinstance(entry, Mapping) and member in entry:
                    where = f"/items/{kind}/{i}/{member}"
                    actor = self._actor(principal, entry[member], where)
                    if "onBehalfOf" in actor:
                        self._may_act_for(tx, principal, policy, actor["onBehalfOf"],
                                          f"{where}/onBehalfOf")
                    entry = {**entry, member: actor}
                bound.append(entry)
            out[kind] = bound
        return out

    def _check_behalf(self, tx: Tx, principal: Principal, policy: Policy,
                      doc: Mapping[str, Any]) -> None:
        """The on-behalf-of relations a new document states: of its creating actor and of
        the policy's creator members (an issue's submittedBy decides whose own issue it is)."""
        first = (doc.get("history") or [{}])[0]
        actors = [("/history/0/actor", first.get("actor") if isinstance(first, Mapping) else None)]
        actors += [(f"/{m}", doc.get(m)) for m in policy.creator_members]
        for where, actor in actors:
            if isinstance(actor, Mapping) and isinstance(actor.get("onBehalfOf"), Mapping):
                self._may_act_for(tx, principal, policy, actor["onBehalfOf"],
                                  f"{where}/onBehalfOf")

    def _may_act_for(self, tx: Tx, principal: Principal, policy: Policy,
                     behalf: Mapping[str, Any], where: str) -> None:
        """/req/core/actor-is-principal: the resident the actor acts for is one the principal
        may act for (the policy says who); any other, held or not, gets the same 403."""
        if policy.acts_for(tx, principal, behalf.get("id")):
            return
        raise ActorMismatch(member="onBehalfOf", errors=[coded(
            where, "http.actor-mismatch", self.spec.version, "/req/core/actor-is-principal",
            member="onBehalfOf")])

    # -- rights exercised on one record -------------------------------------------------
    def prepare_right(self, principal: Principal, rtype: str, rid: str, operation: str,
                      body: Any, versions: list[str]) -> Prepared:
        """POST /<collection>/{id}/<operation>: a right the policy carries out (erasure)."""
        errors = request_errors(self.action_request, self.spec, body)
        if errors:
            raise Unprocessable(count=len(errors), errors=errors)
        at = stamp(now_cst())
        policy = self.policies[rtype]
        with self.store.read() as tx:
            stored = self.visible(principal, tx.get(rtype, rid))
        policy.check_writable(principal, stored)
        self.check_version(stored, versions)
        new_doc, kind = policy.right(principal, stored, operation, body, at)
        old_meta = stored.doc.get("meta") or {}
        new = self.with_meta(new_doc, stored.version + 1, str(old_meta.get("createdAt", at)), at,
                             old_meta.get("source"))
        self.validate(new, previous=stored.doc)
        row = self._prepare(new, stored)
        out = self._written(principal, row).bytes()
        audit = [self.audit_row(principal, operation, rid,
                                self.access.sensitive_pointers(stored.doc), stored.communities,
                                at)]

        def job(tx: Tx) -> Result:
            self._write(tx, row, kind, operation, at, stored)
            if self.access.is_erased(new):
                self._erase_copies(tx, rtype, rid, new)
                self._reach_erasure(tx, rid, operation, at)
            tx.audit(audit)
            return Result(200, out, self.etag(row.version))

        return job

    def _erase_copies(self, tx: Tx, rtype: str, rid: str, erased: Mapping[str, Any]) -> None:
        """/req/privacy/erasure-every-copy, and the space it frees scrubbed soon."""
        erase_earlier_states(tx, self.access, rtype, rid, erased)
        self.store.scrub_soon()

    def _reach_erasure(self, tx: Tx, rid: str, action: str, at: str) -> int:
        """/req/privacy/erasure-reaches-records: every issue and consultation that has ever
        named resident ``rid`` loses what it holds of her, in its current version and every
        earlier state in the feed; how many records were rewritten. A record whose current
        version no longer names her (she was removed as a party) gets no new version, only
        its earlier states rewritten: those still named her."""
        def earlier(state: dict[str, Any]) -> dict[str, Any]:
            return self.reach.apply(state, rid) or state

        earlier_text = clearing(self.reach, rid)
        rewritten = 0
        # Found by the rows kept for every state ever written, not her current terms.
        for stored in tx.named_ever(rid, self.reach.resource_types):
            new = self.reach.apply(stored.doc, rid)
            if new is not None:
                self._rewrite(tx, stored, new, action, at, earlier)
                rewritten += 1
            elif tx.rewrite_events(stored.rtype, stored.id, earlier_text):
                self.store.scrub_soon()
                rewritten += 1
        return rewritten

    def _rewrite(self, tx: Tx, stored: Stored, doc: dict[str, Any], action: str, at: str,
                 earlier: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Write ``doc`` as the next version of ``stored`` with its change event, and put each
        earlier state of the record in the feed through ``earlier``; the idempotency cache
        holds references only, so replays read the new version."""
        old_meta = stored.doc.get("meta") or {}
        new = self.with_meta(doc, stored.version + 1, str(old_meta.get("createdAt", at)), at,
                             old_meta.get("source"))
        row = self._prepare(new, stored)
        self._write(tx, row, "updated", action, at, stored)
        tx.rewrite_events(stored.rtype, stored.id,
                          lambda text: orjson.dumps(earlier(orjson.loads(text))).decode())
        self.store.scrub_soon()

    # -- retention ---------------------------------------------------------------------
    def sweep(self, now: datetime | None = None) -> dict[str, int]:
        """/req/privacy/retention: clear what has outlived its period at ``now`` (the clock,
        injectable so the sweep is tested without waiting years). Records of a terminal
        status lose their personal members, residents who left long ago are erased, old
        idempotency keys and audit records go. Returns how many of each were cleared."""
        moment = (now or now_cst()).astimezone(CST)
        at = stamp(moment)
        sweeper = Principal(name="retention", role=SWEEPER_ROLE, communities=ALL,
                            credential="retention-sweep")
        names = ("recordsCleared", "residentsErased", "recordsRewritten", "idempotencyKeys",
                 "auditRecords")

        closed = {rt: self.retention.closed_lapsed(rt, moment)
                  for rt in self.retention.closed_record_years}
        gone_from = self.retention.left_lapsed(moment)
        # A registered extension keeps what its own tags keep (/req/profiles/document-extensions).
        cleared = functools.partial(without_personal, profile=self.access.profile)

        def ended(stored: Stored, lapsed: Lapsed) -> bool:
            """Whether ``stored`` is in a terminal status it entered before ``lapsed``."""
            entered = entered_status(stored.doc)
            return (entered is not None and entered in lapsed
                    and stored.doc.get("status") in self.lifecycle(stored.rtype).terminal)

        def closed_due(tx: Tx, stored: Stored, owners: dict[tuple[str, str], bool]) -> bool:
            lapsed = closed.get(stored.rtype)
            if lapsed is None:
                return False
            if not ended(stored, lapsed):
                # An opinion or proposal also counts from when its consultation ended, so one
                # never replied to is not kept for ever (privacy.json belongsTo).
                owner = self._owner(stored)
                if owner is None:
                    return False
                if owner not in owners:
                    held = tx.get(*owner)
                    owners[owner] = held is not None and ended(held, lapsed)
                if not owners[owner]:
                    return False
            return cleared(stored.doc) != stored.doc

        def left_due(tx: Tx, stored: Stored) -> bool:
            doc = stored.doc
            if in_force(doc) or self.access.is_erased(doc):
                return False
            held = memberships_ended(doc)
            if held is not None and held not in gone_from:
                # Not due by what it holds; a membership removed from it cannot make its
                # memberships' end earlier, only later.
                return False
            # A membership an update removed ended with that write, and a record that never
            # held one counts from its creation: the record's earlier states in the feed tell.
            earlier = ((time, orjson.loads(data))
                       for time, data in tx.states(stored.rtype, stored.id))
            since = left_since(doc, earlier)
            return since is not None and since in gone_from

        # Found under a read snapshot, so the scan holds no write lock; each is judged again
        # in the write, where a record changed meanwhile is judged as it is then.
        with self.store.read() as tx:
            owners: dict[tuple[str, str], bool] = {}
            due = [(s.rtype, s.id) for rt in self.retention.closed_record_years
                   for s in tx.of_type(rt) if closed_due(tx, s, owners)]
            left = [s.id for s in tx.of_type(self.access.person_type) if left_due(tx, s)]

        def job(tx: Tx) -> dict[str, int]:
            # Counted afresh by each run: the group commit may run a job again.
            counts = dict.fromkeys(names, 0)
            for rtype, rid in due:
                stored = tx.get(rtype, rid)
                if stored is not None and closed_due(tx, stored, {}):
                    self._rewrite(tx, stored, cleared(stored.doc), RETENTION_EXPIRED, at,
                                  cleared)
                    counts["recordsCleared"] += 1
            for rid in left:
                stored = tx.get(self.access.person_type, rid)
                if stored is not None and left_due(tx, stored):
                    counts["recordsRewritten"] += self._expire_resident(tx, sweeper, stored, at)
                    counts["residentsErased"] += 1
            counts["idempotencyKeys"] = tx.expire_keys(
                utc_text(stamp(moment - self.idempotency_period)))
            counts["auditRecords"] = sum(
                tx.expire_audit(stamp(end), None if start is None else stamp(start))
                for start, end in self.retention.audit_lapsed(moment).spans)
            return counts

        counts = self.store.transact(job)
        self.store.scrub_soon()
        return counts

    def _owner(self, stored: Stored) -> tuple[str, str] | None:
        """The type and id of the record ``stored`` belongs to (privacy.json
        ``recordAccess.belongsTo``: an opinion's consultation), or None."""
        rule = self.access.belongs_to.get(stored.rtype)
        if rule is None:
            return None
        try:
            rid = resolve_pointer(stored.doc, rule[1])
        except LookupError:
            return None
        return (rule[0], rid) if isinstance(rid, str) else None

    def _expire_resident(self, tx: Tx, sweeper: Principal, stored: Stored, at: str) -> int:
        """Erase a resident whose retention period passed, as an erasure on the legal ground
        retention-expired; how many other records it reached."""
        doc, kind = self.policies[stored.rtype].expire(stored, at)
        old_meta = stored.doc.get("meta") or {}
        new = self.with_meta(doc, stored.version + 1, str(old_meta.get("createdAt", at)), at,
                             old_meta.get("source"))
        row = self._prepare(new, stored)
        self._write(tx, row, kind, RETENTION_EXPIRED, at, stored)
        self._erase_copies(tx, stored.rtype, stored.id, new)
        tx.audit([self.audit_row(sweeper, RETENTION_EXPIRED, stored.id,
                                 self.access.sensitive_pointers(stored.doc), stored.communities,
                                 at)])
        return self._reach_erasure(tx, stored.id, RETENTION_EXPIRED, at)

    # -- change feed -------------------------------------------------------------------
    def event(self, row: EventRow) -> dict[str, Any]:
        """The change event of ``row`` without its data: what its digest covers, and the
        chain digest (/req/change-feed/chain-digest)."""
        event = {
            "specversion": CLOUDEVENTS_VERSION, "id": str(row.seq), "source": self.source,
            "type": EVENT_TYPE.format(row.rtype.lower(), row.kind), "time": row.time,
            "subject": f"{self.spec.collection(row.rtype)}/{row.rid}",
            "datacontenttype": "application/json",
            "dataschema": self.spec.schema_uri(row.rtype),
            "sequence": str(row.seq), "action": row.action,
            "resourceversion": str(row.version),
        }
        if row.head is not None:
            event["historydigest"] = row.head
        if row.salt is not None:  # stored with every event (sealed on one written before)
            event["eventsalt"] = row.salt
        if row.chain is not None:
            event["chaindigest"] = row.chain
        return event

    def withheld(self, row: EventRow) -> dict[str, Any]:
        """The reduced event of ``row`` for a reader who may not read its resource now: that
        an event happened, and its digests, with nothing of what or whom it was about (not
        its salt either, without which its digest confirms no guess)."""
        return withheld_event(self.event(row))

    def event_digest(self, row: EventRow) -> str:
        """The digest of the integrity form of ``row``'s event (the store's sealer)."""
        return feed_event_digest(self.event(row))

    def changes(self, principal: Principal, cursor: str | None, limit: int) -> Result:
        """GET /changes: every event after the cursor, each decided now, from the resource's
        current record (/req/change-feed/access-now): as the reader may see it today, or
        reduced when it may not read the resource now (/req/change-feed/withheld), with the
        digests that let every reader check the chain (/req/change-feed/chain-digest).
        The reserved cursor ``latest`` gives the feed's end now, and no events
        (/req/change-feed/latest)."""
        if cursor == LATEST_CURSOR:
            with self.store.read() as tx:
                end = tx.last_event()
            return Result(200, orjson.dumps({"items": [], "next": encode_cursor("f", end)}))
        after = decode_cursor("f", cursor)
        items: list[Any] = []
        shown: list[tuple[Stored, Presented]] = []
        last = after
        with self.store.read() as tx:
            rows = tx.events(after, limit)
        for row, current in rows:
            last = row.seq
            presented = None if (current is None or not self.access.feeds(
                principal, current.rtype)) else self.present(principal, current, state=row.data)
            if presented is None:
                items.append(self.withheld(row))
                continue
            assert current is not None
            items.append({**self.event(row), "data": presented.json()})
            if self.policies[row.rtype].audited:
                shown.append((current, presented))
        if shown:
            self._audit_reads(principal, "feed", shown)
        # next is always given: with nothing new, items is empty and the client polls with it.
        page = {"items": items, "next": encode_cursor("f", last)}
        return Result(200, orjson.dumps(page))

    # -- audit log ---------------------------------------------------------------------
    def audit_events(self, principal: Principal, resident: str | None, cursor: str | None,
                     limit: int) -> Result:
        if principal.role not in self.audit_roles:
            roles = ", ".join(sorted(self.audit_roles))
            raise forbidden(principal, f"only {roles} read the audit log",
                            f"只有 {roles} 可以查询审计记录", "/req/privacy/audit-log")
        after = decode_cursor("a", cursor)
        communities = None if principal.every_community else frozenset(principal.communities)
        with self.store.read() as tx:
            rows = tx.audit_events(resident, communities, after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        page = {
            "items": [{"seq": r.seq, "at": r.at, "principal": r.principal, "role": r.role,
                       "operation": r.operation, "resident": r.resident, "fields": r.fields}
                      for r in rows],
            "next": encode_cursor("a", rows[-1].seq) if more and rows else None,
        }
        return Result(200, orjson.dumps(page))

    # -- bulk loading (demo, import, mirror) -------------------------------------------
    def load(self, docs: Iterable[dict[str, Any]], *, validate: bool = True,
             batch: int = 5000, progress: Callable[[int], None] | None = None) -> int:
        """Store documents as they are (an import), each with a ``created`` event.

        Meant for seeding and migration: the documents are validated but not held to the
        API's create rules (an imported issue may be closed already). A document that carries
        meta keeps it; one without gets version 1 now. An invalid document or a known id
        stops the import (a ProblemError); every document before it stays stored. See
        :func:`import_lines` for files, in worker processes.
        """
        lines = ((f"#{i}", orjson.dumps(doc)) for i, doc in enumerate(docs, 1))
        try:
            return import_lines(self, lines, validate=validate, batch=batch,
                                progress=progress)
        except ImportStopped as exc:
            raise exc.problem from None

    def import_change(self, doc: dict[str, Any], at: str) -> Change:
        """An imported document as a change to store: its own meta, or version 1 now."""
        return change_of(imported(doc, at, self.source), at, prepared=False)
