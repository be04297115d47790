"""The API's behaviour, independent of HTTP: what each operation checks, stores and answers.

A write is first prepared: checked, applied and validated from what is stored, with nothing
locked. What remains is a small job for the store's group commit, which checks again that the
versions it started from are current and writes the resource rows, the change event, the
idempotency record and the audit rows, which commit together or not at all. A refused job
(4xx) raises before it writes anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from jsonschema import Draft202012Validator

from smartcommunity import Validator, load_spec
from smartcommunity.exceptions import ActionNotAllowed, InvalidActionDetails, RoleNotAllowed
from smartcommunity.lifecycle import Lifecycle, lifecycle_for
from smartcommunity.validation import pseudonym_key

from ..access import ERASED_MEMBERS, Access, Presented
from ..auth import Principal
from ..errors import (
    Forbidden,
    IdConflict,
    IdempotencyKeyReused,
    NotFound,
    PreconditionFailed,
    ProblemError,
    StatusConflict,
    Unprocessable,
    finding,
    findings_of,
)
from ..http import decode_cursor, encode_cursor
from ..settings import CST, Settings
from ..storage import Change, Duplicate, ListQuery, Store, Stored, Tx, derive
from ..storage._derive import joined

__all__ = ["PLURAL", "Result", "Service", "Write", "forbidden", "unprocessable"]

PLURAL = {"Resident": "residents", "Issue": "issues", "Consultation": "consultations"}
EVENT_TYPE = "org.w3id.smartcommunity.{}.{}"


@dataclass(slots=True)
class Result:
    """An operation's answer: status, JSON body and headers."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


#: a write ready to commit (its job), or the answer when there is nothing to write (a replay)
Prepared = Result | Callable[[Tx], Result]


@dataclass(slots=True)
class Write:
    """A further resource written by the same request (a merge updates its target)."""

    stored: Stored
    doc: dict[str, Any]
    action: str
    kind: str = "updated"


def forbidden(principal: Principal, en: str, zh: str, requirement: str | None = None,
              pointer: str = "") -> Forbidden:
    return Forbidden(role=principal.role, reason=en, reason_zh=zh, errors=[
        finding(pointer, "http.forbidden", en, zh, requirement)])


def unprocessable(items: Iterable[Any], *, findings: bool = False) -> Unprocessable:
    """422 listing every problem: ``(pointer, en, zh, requirement)`` tuples or findings."""
    if findings:
        errors = findings_of(items)
    else:
        errors = [finding(p, "http.unprocessable-content", en, zh, req)
                  for p, en, zh, req in items]
    return Unprocessable(count=len(errors), errors=errors)


def _kebab(name: str) -> str:
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


def request_errors(validator: Draft202012Validator, body: Any) -> list[dict[str, Any]]:
    """Findings for an action request that breaks action-request.json."""
    return [finding("/" + "/".join(str(p) for p in e.absolute_path),
                    "schema." + _kebab(str(e.validator)), e.message, f"请求无效：{e.message}",
                    "/req/core/no-unknown-members" if e.validator == "additionalProperties"
                    else None)
            for e in validator.iter_errors(body)]


def now_cst() -> datetime:
    return datetime.now(CST)


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


class Service:
    """The reference server's operations over one store."""

    def __init__(self, settings: Settings, store: Store) -> None:
        from ._policies import ConsultationPolicy, IssuePolicy, ResidentPolicy

        self.settings = settings
        self.store = store
        self.spec = load_spec(settings.spec_version)
        self.access = Access(self.spec, settings.pseudonym_key)
        self.validator = Validator(settings.spec_version)
        self.key = settings.pseudonym_key
        if self.key is not None and len(self.key) < 16:
            raise ValueError("the pseudonym key must be at least 16 bytes")
        self.source = store.source_uri(settings.source_uri)
        if store.committer is not None:
            # Jobs refuse (4xx) before they write anything, so a refusal needs no rollback.
            store.committer.refusals = (ProblemError,)
        self.residents = ResidentPolicy(self)
        self.policies = {"Resident": self.residents, "Issue": IssuePolicy(self),
                         "Consultation": ConsultationPolicy(self)}
        self.action_request = Draft202012Validator(
            self.spec.schema("action-request.json"), registry=self.spec.registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER)
        self.conformance = orjson.dumps({
            "specVersions": [self.spec.version],
            "conformsTo": [c.uri for c in self.spec.conformance_classes.values()],
        })

    # -- helpers -----------------------------------------------------------------------
    def validate(self, doc: Any, *, keyed: bool = True) -> None:
        """422 with every finding when ``doc`` breaks the schema or a library rule.

        With the city's key (and ``keyed``), pseudonyms are checked against their numbers too
        (/req/residents/pseudonym-consistent). Imports and the demo pass ``keyed=False``: their
        documents may come from systems holding another key.
        """
        if keyed and self.key is not None:
            with pseudonym_key(self.key):
                report = self.validator.validate(doc)
        else:
            report = self.validator.validate(doc)
        if not report.valid:
            raise unprocessable(report.findings, findings=True)

    def lifecycle(self, rtype: str) -> Lifecycle:
        return lifecycle_for(rtype, self.spec.version)

    def with_meta(self, doc: Mapping[str, Any], version: int, created: str, updated: str,
                  source: str | None = None) -> dict[str, Any]:
        """``doc`` with the meta the server keeps (versionId, lastUpdated, createdAt, source)."""
        given = doc.get("meta")
        meta = dict(given) if isinstance(given, Mapping) else {}
        meta["versionId"] = str(version)
        meta["lastUpdated"] = updated
        meta["createdAt"] = created
        meta["source"] = source or meta.get("source") or self.source
        out = dict(doc)
        out["meta"] = meta
        return out

    def etag(self, version: int) -> dict[str, str]:
        return {"ETag": f'"{version}"'}

    def visible(self, principal: Principal, stored: Stored | None) -> Stored:
        if stored is None or not self.access.can_see(principal, stored):
            raise NotFound()
        return stored

    def check_version(self, stored: Stored, versions: list[str] | None) -> None:
        if versions is None:
            return
        if "*" not in versions and str(stored.version) not in versions:
            raise PreconditionFailed(given=", ".join(f'"{v}"' for v in versions) or "?",
                                     current=f'"{stored.version}"')

    def audit_row(self, principal: Principal, operation: str, resident: str,
                  fields: list[str], communities: Iterable[str], at: str) -> dict[str, Any]:
        return {"at": at, "principal": principal.key, "role": principal.role,
                "operation": operation, "resident": resident, "fields": fields,
                "communities": list(communities)}

    def _audit_reads(self, principal: Principal, operation: str,
                     shown: Sequence[tuple[Stored, Presented]]) -> None:
        """Log what sensitive resident data a read disclosed (/req/privacy/audit-log)."""
        at = stamp(now_cst())
        rows = []
        for stored, presented in shown:
            if stored.rtype != "Resident":
                continue
            fields = self.access.sensitive_pointers(presented.document())
            if fields:
                rows.append(self.audit_row(principal, operation, stored.id, fields,
                                           stored.communities, at))
        if rows:
            self.store.transact(lambda tx: tx.audit(rows))

    def present(self, principal: Principal, stored: Stored, check: bool = True,
                ) -> Presented | None:
        return self.access.present(principal, stored, check=check)

    def _written(self, principal: Principal, stored: Stored) -> Presented:
        # The writer sees its result as its audience allows, even when scope would hide it.
        presented = self.access.present(principal, stored, check=False)
        assert presented is not None
        return presented

    def _prepare(self, rtype: str, doc: dict[str, Any], previous: Stored | None = None,
                 fallback: Iterable[str] = ()) -> Stored:
        """``doc`` (its meta already set) as the row it will become; nothing is written yet.

        A resident naming no community stays in the scope it had (``previous``) or, when new,
        in the creator's communities (``fallback``), so that someone may still read it.
        """
        text = orjson.dumps(doc).decode()
        derived = derive(doc, previous.communities if previous else fallback)
        row = Stored(previous.seq if previous else 0, rtype, doc["id"],
                     int(doc["meta"]["versionId"]), text, joined(derived.communities),
                     joined(derived.departments))
        row._doc = doc
        row.derived = derived
        return row

    def _write(self, tx: Tx, row: Stored, kind: str, action: str, at: str,
               previous: Stored | None = None) -> None:
        """Store a prepared row and its change event; 412 if ``previous`` is no longer current.

        Checking the version at the write is exact: the request's If-Match named the version
        it was prepared from, so a newer one makes that If-Match stale.
        """
        derived = row.derived
        assert derived is not None, "write only prepared rows"
        if previous is None:
            # The id is checked by the insert itself: a taken id writes nothing (409).
            seq = tx.insert(row.rtype, row.id, row.version, row.text, derived)
            if seq is None:
                raise IdConflict(id=row.id)
            row.seq = seq
        elif not tx.replace(previous, row.version, row.text, derived, previous.version):
            current = tx.get(row.rtype, row.id)
            raise PreconditionFailed(given=f'"{previous.version}"',
                                     current=f'"{current.version if current else "?"}"')
        tx.append_event(row.rtype, row.id, kind, action, row.version, at, row.text, derived)

    @staticmethod
    def _current(tx: Tx, prior: Stored) -> None:
        """412 unless ``prior`` is still the stored version."""
        current = tx.get(prior.rtype, prior.id)
        if current is None or current.version != prior.version:
            raise PreconditionFailed(given=f'"{prior.version}"',
                                     current=f'"{current.version if current else "?"}"')

    def _store_new(self, tx: Tx, rtype: str, doc: dict[str, Any], kind: str, action: str,
                   at: str, previous: Stored | None = None) -> Stored:
        """Prepare and write in one go (imports, inside the caller's transaction)."""
        row = self._prepare(rtype, doc, previous)
        self._write(tx, row, kind, action, at, previous)
        return row

    # -- running prepared writes -------------------------------------------------------
    def finish(self, prepared: Prepared) -> Result:
        """Commit a prepared write (or pass its early answer through) and give its result."""
        return prepared if isinstance(prepared, Result) else self.store.transact(prepared)

    async def finish_async(self, prepared: Prepared) -> Result:
        """:meth:`finish` for the event loop: awaits the group commit without blocking."""
        if isinstance(prepared, Result):
            return prepared
        return await self.store.transact_async(prepared)

    def create(self, principal: Principal, rtype: str, doc: Any, key: str | None) -> Result:
        return self.finish(self.prepare_create(principal, rtype, doc, key))

    def update(self, principal: Principal, rtype: str, rid: str, doc: Any,
               versions: list[str]) -> Result:
        return self.finish(self.prepare_update(principal, rtype, rid, doc, versions))

    def act(self, principal: Principal, rtype: str, rid: str, action: str, body: Any,
            versions: list[str]) -> Result:
        return self.finish(self.prepare_act(principal, rtype, rid, action, body, versions))

    def resident_right(self, principal: Principal, rid: str, operation: str, body: Any,
                       versions: list[str]) -> Result:
        return self.finish(self.prepare_right(principal, rid, operation, body, versions))

    # -- create ------------------------------------------------------------------------
    def prepare_create(self, principal: Principal, rtype: str, doc: Any,
                       key: str | None) -> Prepared:
        policy = self.policies[rtype]
        policy.may_create(principal)
        request = f"POST /{PLURAL[rtype]}"
        body_hash = None
        if key is not None:
            body_hash = hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()
            with self.store.read() as tx:
                hit = tx.idempotent(principal.key, key)
            if hit is not None:
                return self._replay(hit, request, body_hash)
        self.validate(doc)
        policy.check_create(principal, doc)
        at = stamp(now_cst())
        new = self.with_meta(doc, 1, at, at)
        creator = () if principal.every_community else sorted(principal.communities)
        row = self._prepare(rtype, new, fallback=creator)
        body = self._written(principal, row).bytes()
        headers = {**self.etag(1), "Location": f"/{PLURAL[rtype]}/{doc['id']}"}
        audit = [self.audit_row(principal, "create", doc["id"],
                                self.access.sensitive_pointers(new), row.communities, at)
                 ] if rtype == "Resident" else []

        def job(tx: Tx) -> Result:
            if key is not None and body_hash is not None:
                hit = tx.idempotent(principal.key, key)
                if hit is not None:  # the same key, committed since the check above
                    return self._replay(hit, request, body_hash)
            policy.check_create_stored(tx, principal, doc)
            self._write(tx, row, "created", "create", at)
            if key is not None and body_hash is not None:
                tx.remember(principal.key, key, request, body_hash, 201, headers["ETag"],
                            headers["Location"], body.decode(), at)
            tx.audit(audit)
            return Result(201, body, headers)

        return job

    def _replay(self, hit: Mapping[str, Any], request: str, body_hash: str) -> Result:
        if hit["request"] != request or hit["body_hash"] != body_hash:
            raise IdempotencyKeyReused()
        headers = {"Idempotent-Replayed": "true"}
        if hit["etag"]:
            headers["ETag"] = hit["etag"]
        return Result(200, str(hit["body"]).encode(), headers)

    # -- read, list, history -----------------------------------------------------------
    def read(self, principal: Principal, rtype: str, rid: str) -> Result:
        with self.store.read() as tx:
            stored = tx.get(rtype, rid)
        if stored is None:
            raise NotFound()
        presented = self.present(principal, stored)
        if presented is None:
            raise NotFound()
        if rtype == "Resident":
            self._audit_reads(principal, "read", [(stored, presented)])
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
             limit: int) -> Result:
        after = decode_cursor("r", cursor)
        scope = self.access.scope(principal, rtype)
        shown: list[tuple[Stored, Presented]] = []
        last = after
        more = False
        with self.store.read() as tx:
            while True:
                wanted = limit - len(shown) + 1
                rows = tx.page(rtype, query, scope, last, wanted)
                for stored in rows:
                    if len(shown) == limit:
                        more = True
                        break
                    last = stored.seq
                    presented = self.present(principal, stored)
                    if presented is not None:
                        shown.append((stored, presented))
                if more or len(rows) < wanted:
                    break
        if rtype == "Resident":
            self._audit_reads(principal, "list", shown)
        page = {"items": [p.json() for _, p in shown],
                "next": encode_cursor("r", last) if more else None}
        return Result(200, orjson.dumps(page))

    # -- update ------------------------------------------------------------------------
    def prepare_update(self, principal: Principal, rtype: str, rid: str, doc: Any,
                       versions: list[str]) -> Prepared:
        policy = self.policies[rtype]
        policy.may_update(principal)
        with self.store.read() as tx:
            stored = self.visible(principal, tx.get(rtype, rid))
        if isinstance(doc, dict):
            doc = policy.prepare_update(principal, stored, doc)
        # The body is judged before the version, so bad data is a 422 whatever the ETag.
        self.validate(doc)
        self.check_version(stored, versions)
        if doc.get("id") != rid:
            raise unprocessable([("/id", f"the id must stay {rid}", f"标识必须保持为 {rid}",
                                  "/req/residents/self-correction" if rtype == "Resident"
                                  else None)])
        at = stamp(now_cst())
        with self.store.read() as tx:
            policy.check_update(tx, principal, stored, doc)
        old_meta = stored.doc.get("meta") or {}
        new = self.with_meta(doc, stored.version + 1, str(old_meta.get("createdAt", at)), at,
                             old_meta.get("source"))
        row = self._prepare(rtype, new, stored)
        body = self._written(principal, row).bytes()
        audit = [self.audit_row(principal, "update", rid, self.access.sensitive_pointers(new),
                                row.communities, at)] if rtype == "Resident" else []

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
            raise NotFound(message={"zh-Hans": f"没有动作 {action}",
                                    "en": f"There is no action {action}"})
        errors = request_errors(self.action_request, body)
        if errors:
            raise Unprocessable(count=len(errors), errors=errors)
        if principal.role not in transition.roles:
            raise self._role_error(lifecycle, principal, action)
        policy = self.policies[rtype]
        moment = now_cst()
        with self.store.read() as tx:
            stored = self.visible(principal, tx.get(rtype, rid))
            self.check_version(stored, versions)
            doc = stored.doc
            status = doc.get("status")
            if status not in transition.sources:
                allowed = lifecycle.allowed_actions(status)
                raise StatusConflict(message={
                    "zh-Hans": f"动作 {action} 不能从状态 {status} 执行；可执行："
                               f"{', '.join(allowed) or '无'}",
                    "en": f"Action {action} is not allowed from status {status}; allowed: "
                          f"{', '.join(allowed) or 'none'}"})
            details = body.get("details")
            problems = lifecycle.details_errors(action, details)
            if problems:
                raise unprocessable([(p, m, f"动作数据无效：{m}", "/req/issues/action-details"
                                      if rtype == "Issue" else None) for p, m in problems])
            actor = self._actor(principal, body.get("actor"))
            inputs = policy.check_action(tx, principal, stored, action, body, actor)
            extra = policy.also_write(tx, principal, stored, body, action)
        at = stamp(self._not_before(moment, doc))
        try:
            applied = lifecycle.apply(
                doc, action, actor=actor, at=at, details=details, note=body.get("note"),
                reason=body.get("reason"), inputs=inputs)
        except RoleNotAllowed:
            raise self._role_error(lifecycle, principal, action) from None
        except ActionNotAllowed as exc:
            raise StatusConflict(message=exc.message) from None
        except InvalidActionDetails as exc:
            raise unprocessable([(p, m, exc.message["zh-Hans"], None)
                                 for p, m in exc.context.get("errors", [])]) from None
        new_doc = policy.after_apply(applied.document, inputs)
        old_meta = doc.get("meta") or {}
        new = self.with_meta(new_doc, stored.version + 1, str(old_meta.get("createdAt", at)), at,
                             old_meta.get("source"))
        self.validate(new)
        row = self._prepare(rtype, new, stored)
        others = []
        for item in extra:
            item_meta = item.stored.doc.get("meta") or {}
            other = self.with_meta(item.doc, item.stored.version + 1,
                                   str(item_meta.get("createdAt", at)), at,
                                   item_meta.get("source"))
            self.validate(other)
            others.append((item, self._prepare(item.stored.rtype, other, item.stored)))
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
            try:
                last = datetime.fromisoformat(str(history[-1].get("at")).replace("Z", "+00:00"))
            except ValueError:
                return moment
            if last.tzinfo is not None and last > moment:
                return last.astimezone(CST)
        return moment

    def _role_error(self, lifecycle: Lifecycle, principal: Principal, action: str) -> Forbidden:
        roles = ", ".join(sorted(lifecycle.transitions[action].roles))
        return Forbidden(
            role=principal.role, reason=f"only {roles} may perform {action}",
            reason_zh=f"只有 {roles} 可以执行 {action}",
            errors=[finding("", "lifecycle.role-not-allowed",
                            f"Role {principal.role} may not perform {action}; allowed roles: "
                            f"{roles}", f"角色 {principal.role} 不能执行动作 {action}；"
                            f"允许的角色：{roles}", "/req/core/action-roles")])

    def _actor(self, principal: Principal, given: Any) -> dict[str, Any]:
        """The requesting principal as actor; the body may only add onBehalfOf."""
        actor = principal.actor()
        if not isinstance(given, Mapping):
            return actor
        if given.get("role") != principal.role:
            raise forbidden(principal, "the actor's role comes from the token",
                            "行为人的角色由令牌决定", "/req/core/action-roles", "/actor/role")
        for member, value in given.items():
            if member in ("role", "onBehalfOf"):
                continue
            if actor.get(member) != value:
                raise unprocessable([(f"/actor/{member}",
                                      "the actor is the requesting principal; the body may "
                                      "only add onBehalfOf",
                                      "行为人就是请求的主体；请求体只能补充 onBehalfOf", None)])
        if "onBehalfOf" in given:
            actor["onBehalfOf"] = dict(given["onBehalfOf"])
        return actor

    # -- residents' rights -------------------------------------------------------------
    def prepare_right(self, principal: Principal, rid: str, operation: str, body: Any,
                      versions: list[str]) -> Prepared:
        """POST /residents/{id}/erasure-request and /erase."""
        errors = request_errors(self.action_request, body)
        if errors:
            raise Unprocessable(count=len(errors), errors=errors)
        at = stamp(now_cst())
        with self.store.read() as tx:
            stored = self.visible(principal, tx.get("Resident", rid))
        self.check_version(stored, versions)
        new_doc, kind = self.residents.right(principal, stored, operation, body, at)
        old_meta = stored.doc.get("meta") or {}
        new = self.with_meta(new_doc, stored.version + 1, str(old_meta.get("createdAt", at)), at,
                             old_meta.get("source"))
        self.validate(new)
        row = self._prepare("Resident", new, stored)
        out = self._written(principal, row).bytes()
        audit = [self.audit_row(principal, operation, rid,
                                self.access.sensitive_pointers(stored.doc), stored.communities,
                                at)]

        def job(tx: Tx) -> Result:
            self._write(tx, row, kind, operation, at, stored)
            tx.audit(audit)
            return Result(200, out, self.etag(row.version))

        return job

    # -- change feed -------------------------------------------------------------------
    def changes(self, principal: Principal, cursor: str | None, limit: int) -> Result:
        after = decode_cursor("f", cursor)
        scope = self.access.feed_scope(principal)
        budget = max(limit * 20, 2000)  # rows scanned per page; the cursor moves past the rest
        items: list[Any] = []
        shown: list[tuple[Stored, Presented]] = []
        last = after
        scanned = 0
        with self.store.read() as tx:
            while len(items) < limit and scanned < budget:
                wanted = limit - len(items)
                rows = tx.events(last, wanted, scope)
                for row in rows:
                    last = row.seq
                    scanned += 1
                    stored = Stored(row.seq, row.rtype, row.rid, row.version, row.data,
                                    joined(row.communities), joined(row.departments))
                    presented = self.present(principal, stored)
                    if presented is None:
                        continue
                    items.append({
                        "specversion": "1.0", "id": str(row.seq), "source": self.source,
                        "type": EVENT_TYPE.format(row.rtype.lower(), row.kind),
                        "time": row.time, "subject": f"{PLURAL[row.rtype]}/{row.rid}",
                        "datacontenttype": "application/json",
                        "dataschema": self.spec.schema_uri(row.rtype),
                        "sequence": str(row.seq), "action": row.action,
                        "resourceversion": str(row.version), "data": presented.json(),
                    })
                    if row.rtype == "Resident":
                        shown.append((stored, presented))
                if len(rows) < wanted:
                    break
        if shown:
            self._audit_reads(principal, "feed", shown)
        # next is always given: with nothing new, items is empty and the client polls with it.
        page = {"items": items, "next": encode_cursor("f", last)}
        return Result(200, orjson.dumps(page))

    # -- audit log ---------------------------------------------------------------------
    def audit_events(self, principal: Principal, resident: str | None, cursor: str | None,
                     limit: int) -> Result:
        if principal.role != "regulator":
            raise forbidden(principal, "only the regulator reads the audit log",
                            "只有监管方可以查询审计记录", "/req/privacy/audit-log")
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
             batch: int = 2000, progress: Callable[[int], None] | None = None) -> int:
        """Store documents as they are (an import), each with a ``created`` event.

        Meant for seeding and migration: the documents are validated but not held to the
        API's create rules (an imported issue may be closed already). A document that carries
        meta keeps it; one without gets version 1 now. Batches commit one by one: an invalid
        document or a known id stops the import, and the batches before it stay.
        """
        count = 0
        chunk: list[dict[str, Any]] = []

        def flush() -> None:
            nonlocal count
            at = stamp(now_cst())
            changes = [self.import_change(doc, at) for doc in chunk]
            try:
                with self.store.write() as tx:
                    tx.write_many(changes, upsert=False)
            except Duplicate as exc:
                raise IdConflict(id=exc.rid) from None
            count += len(chunk)
            if progress:
                progress(count)
            chunk.clear()

        for doc in docs:
            if validate:
                self.validate(doc, keyed=False)
            chunk.append(doc)
            if len(chunk) >= batch:
                flush()
        if chunk:
            flush()
        return count

    def import_change(self, doc: dict[str, Any], at: str) -> Change:
        """An imported document as a change to store: its own meta, or version 1 now."""
        meta = doc.get("meta") if isinstance(doc.get("meta"), Mapping) else None
        if meta and "versionId" in meta and "lastUpdated" in meta:
            new = dict(doc)
            new["meta"] = {**meta, "source": meta.get("source", self.source)}
        else:
            new = self.with_meta(doc, 1, at, at)
        return Change(str(new["resourceType"]), str(new["id"]),
                      int(new["meta"]["versionId"]), orjson.dumps(new).decode(), new,
                      "created", "create", at)


def erased_form(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in ERASED_MEMBERS if k in doc}

