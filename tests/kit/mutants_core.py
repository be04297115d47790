"""Broken variants of the reference server for the core and change-feed classes: one defect
each, which the kit must catch through the check citing the requirement it breaks."""

from __future__ import annotations

import contextvars
import dataclasses
import json
import re
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
import pytest

from reference_server import http as http_module
from reference_server.access import Access
from reference_server.auth import Principal
from reference_server.errors import Echo, NotFound, coded
from reference_server.http import decode_cursor, encode_cursor
from reference_server.service import Result, Service, unprocessable
from reference_server.service._policy import Policy
from reference_server.service._shared import forbidden
from reference_server.storage import EventRow, Tx
from smartcommunity.integrity._history import LINK
from smartcommunity.specification import LATEST_CURSOR

from .mutants import Install, Mutant, Rewrite, flagging, leaky_redact

#: an RFC 3339 timestamp with a numeric offset, as the documents write theirs
_OFFSET_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d")


# -- the change feed -----------------------------------------------------------------------

def event_time_local(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """An event's time is the database's local time without its offset, as a timestamp
    column without time zone gives it back."""
    original = Service.event

    def event(self: Service, row: EventRow) -> dict[str, Any]:
        out = original(self, row)
        out["time"] = re.sub(r"([Zz]|[+-]\d\d:\d\d)$", "", str(out["time"]))
        return out

    mp.setattr(Service, "event", event)
    return app


def feed_to_lookup_roles(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The feed gives every role the events of every resource type it may read by id: a
    hotline operator, who finds residents only by an exact identifier, mirrors them all."""
    mp.setattr(Access, "feeds", lambda self, principal, rtype: True)
    return app


def feed_unredacted(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The feed is scoped (who may read a record gets its events) but not redacted: each
    reader gets the record as it is stored."""
    original = Service.changes
    feeding = threading.local()

    def changes(self: Service, principal: Principal, cursor: str | None,
                limit: int) -> Result:
        feeding.on = True
        try:
            return original(self, principal, cursor, limit)
        finally:
            feeding.on = False

    def leak(out: dict[str, Any], stored: dict[str, Any]) -> None:
        if getattr(feeding, "on", False):
            out.clear()
            out.update(stored)

    mp.setattr(Service, "changes", changes)
    leaky_redact(mp, leak)
    return app


def resume_at_feed_end(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A page gives the feed's newest event as its ``next``, right when the page holds every
    event left, wrong when the limit cut it short: the events past the page are never
    delivered."""
    original = Service.changes

    def changes(self: Service, principal: Principal, cursor: str | None,
                limit: int) -> Result:
        result = original(self, principal, cursor, limit)
        page = orjson.loads(result.body)
        if len(page.get("items") or ()) == limit:
            with self.store.read() as tx:
                page["next"] = encode_cursor("f", tx.last_event())
            return Result(result.status, orjson.dumps(page), result.headers)
        return result

    mp.setattr(Service, "changes", changes)
    return app


def resume_inclusive(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A cursor is read as the last event delivered, and the feed is read from it inclusive
    (``>=`` for ``>``): every resumed read repeats the event before it."""
    original = Service.changes

    def changes(self: Service, principal: Principal, cursor: str | None,
                limit: int) -> Result:
        if cursor and cursor != LATEST_CURSOR:
            cursor = encode_cursor("f", max(decode_cursor("f", cursor) - 1, 0))
        return original(self, principal, cursor, limit)

    mp.setattr(Service, "changes", changes)
    return app


def withheld_keeps_address(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A resident's events reach a reader who may not read her now withheld, but with her
    address and emergency contacts kept: only what names her is taken out."""
    original = Service.withheld

    def withheld(self: Service, row: EventRow) -> dict[str, Any]:
        out = original(self, row)
        if row.rtype != "Resident":
            return out
        state = json.loads(row.data)
        kept = {k: state[k] for k in ("address", "emergencyContacts") if k in state}
        return {**out, "data": kept} if kept else out

    mp.setattr(Service, "withheld", withheld)
    return app


MUTANTS: list[Mutant] = [
    Mutant("event-time-local", "/req/change-feed/cloudevents",
           "an event's time has no offset (a timestamp column without time zone)",
           event_time_local),
    Mutant("feed-to-lookup-roles", "/req/change-feed/redacted",
           "a hotline operator, who finds residents only by an exact identifier, receives "
           "every resident record in the feed", feed_to_lookup_roles),
    Mutant("feed-unredacted", "/req/change-feed/redacted",
           "the feed is scoped but not redacted: each reader gets records as stored",
           feed_unredacted),
    Mutant("resume-at-feed-end", "/req/change-feed/resume",
           "a page cut by its limit gives the feed's end as next: the rest is never delivered",
           resume_at_feed_end),
    Mutant("resume-inclusive", "/req/change-feed/resume",
           "a resumed read repeats the event before its cursor", resume_inclusive),
    Mutant("withheld-keeps-address", "/req/change-feed/access-now",
           "an ex-proxy's withheld events keep the resident's address and emergency contacts",
           withheld_keeps_address),
]


# -- create and read --------------------------------------------------------------------------

def _in_utc(node: Any) -> Any:
    """``node`` with every timestamp carrying a numeric offset written in UTC instead."""
    if isinstance(node, dict):
        return {k: _in_utc(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_in_utc(v) for v in node]
    if isinstance(node, str) and _OFFSET_TIME.fullmatch(node):
        try:
            moment = datetime.fromisoformat(node).astimezone(UTC)
        except ValueError:  # more fraction digits than a datetime holds: kept as written
            return node
        return moment.isoformat().replace("+00:00", "Z")
    return node


def times_stored_in_utc(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A create stores its timestamps in UTC, as a timestamp-with-time-zone column keeps
    them: the same instants, but not the document that was sent."""
    original = Service.prepare_create

    def prepare_create(self: Service, principal: Principal, rtype: str, doc: Any,
                       key: str | None) -> Any:
        return original(self, principal, rtype, _in_utc(doc), key)

    mp.setattr(Service, "prepare_create", prepare_create)
    return app


def echo_not_recognised(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A record naming this server's own system in externalRefs is created as a new one."""
    mp.setattr(Policy, "refuse_echo", lambda self, doc, kept=None: None)
    return app


def echo_spelling_not_normalised(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """System URIs are compared as written: this server's own system in capitals, or with
    a character percent-encoded, is taken for another system's and the copy is created."""
    def refuse_echo(self: Policy, doc: Any, kept: Any = None) -> None:
        held = [ref for ref in (kept or {}).get("externalRefs") or ()]
        for i, ref in enumerate(doc.get("externalRefs") or ()):
            if (isinstance(ref, dict) and ref.get("system") == self.service.source
                    and ref not in held):
                raise Echo(value=ref.get("value"), errors=[coded(
                    f"/externalRefs/{i}", "http.echo", self.service.spec.version,
                    "/req/core/echo-suppression", value=ref.get("value"))])

    mp.setattr(Policy, "refuse_echo", refuse_echo)
    return app


def echo_added_by_update(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Only a create is checked: an update adding this server's own system to a record's
    externalRefs is stored, and the record then looks like a copy of one of its own."""
    original = Policy.refuse_echo

    def refuse_echo(self: Policy, doc: Any, kept: Any = None) -> None:
        if kept is None:
            original(self, doc)

    mp.setattr(Policy, "refuse_echo", refuse_echo)
    return app


def echo_by_update_unprocessable(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """An update adding this server's own system is refused, but as 422 rather than 409
    http.echo: a sender cannot tell a copy coming back from a wrong document."""
    original = Policy.refuse_echo

    def refuse_echo(self: Policy, doc: Any, kept: Any = None) -> None:
        if kept is None:
            original(self, doc)
            return
        try:
            original(self, doc, kept)
        except Echo:
            raise unprocessable([("/externalRefs", "not allowed", "不允许",
                                  "/req/core/external-ref")]) from None

    mp.setattr(Policy, "refuse_echo", refuse_echo)
    return app


def echo_by_update_as_written(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Creates compare systems normalised, updates as written: an update adding this
    server's own system in another spelling is stored."""
    original = Policy.refuse_echo

    def refuse_echo(self: Policy, doc: Any, kept: Any = None) -> None:
        if kept is None:
            original(self, doc)
            return
        written = [r for r in doc.get("externalRefs") or ()
                   if isinstance(r, dict) and r.get("system") == self.service.source]
        if written:
            original(self, {"externalRefs": written}, kept)

    mp.setattr(Policy, "refuse_echo", refuse_echo)
    return app


def issues_from_elsewhere(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Every issue the server creates carries another system's URI as its source, the other
    types its own: a check comparing each type with itself cannot see it."""
    original = Service.with_meta

    def with_meta(self: Service, doc: Any, version: int, created: str, updated: str,
                  source: str | None = None) -> dict[str, Any]:
        if doc.get("resourceType") == "Issue":
            source = "https://elsewhere.example.org/"
        return original(self, doc, version, created, updated, source)

    mp.setattr(Service, "with_meta", with_meta)
    return app


def meta_source_from_client(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A create keeps the meta.source the client gives: a resident's app makes its report
    look as if another department's system had made it."""
    original = Service.with_meta

    def with_meta(self: Service, doc: Any, version: int, created: str, updated: str,
                  source: str | None = None) -> dict[str, Any]:
        claimed = (doc.get("meta") or {}).get("source")
        return original(self, doc, version, created, updated, source or claimed)

    mp.setattr(Service, "with_meta", with_meta)
    return app


def meta_source_moved_by_update(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A create writes the server's own source, but an update takes the meta.source its body
    gives: any writer can move a record to another system."""
    original = Service.with_meta

    def with_meta(self: Service, doc: Any, version: int, created: str, updated: str,
                  source: str | None = None) -> dict[str, Any]:
        claimed = (doc.get("meta") or {}).get("source") if version > 1 else None
        return original(self, doc, version, created, updated, claimed or source)

    mp.setattr(Service, "with_meta", with_meta)
    return app


def echo_recognised_for_issues_only(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Only an issue coming back is recognised as a copy: a resident, a consultation or an
    organisation naming this server's own system is created again (a resident twice over)."""
    original = Policy.refuse_echo

    def refuse_echo(self: Policy, doc: Any, kept: Any = None) -> None:
        if self.rtype == "Issue":
            original(self, doc, kept)

    mp.setattr(Policy, "refuse_echo", refuse_echo)
    return app


def echo_tells_existence(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A copy is refused only when the record it names is stored, whoever sends it, and one
    naming no record is created: the answer tells which records the server holds."""
    original = Policy.refuse_echo

    def refuse_echo(self: Policy, doc: Any, kept: Any = None) -> None:
        service: Any = self.service  # the Service, whose store a policy is not given
        with service.store.read() as tx:
            held = any(isinstance(ref, dict) and ref.get("system") == self.service.source
                       and tx.get(self.rtype, str(ref.get("value"))) is not None
                       for ref in doc.get("externalRefs") or ())
        if held:
            original(self, doc, kept)

    mp.setattr(Policy, "refuse_echo", refuse_echo)
    return app


def extensions_dropped_on_update(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """An update maps the body onto the members the server knows: extensions are kept on
    create, and dropped by any PUT."""
    original = Service.prepare_update

    def prepare_update(self: Service, principal: Principal, rtype: str, rid: str, doc: Any,
                       versions: list[str]) -> Any:
        if isinstance(doc, dict):
            doc = {k: v for k, v in doc.items() if k != "extensions"}
        return original(self, principal, rtype, rid, doc, versions)

    mp.setattr(Service, "prepare_update", prepare_update)
    return app


def create_overwrites(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The store writes a create as an upsert (INSERT ... ON CONFLICT DO UPDATE): a create with
    an id the server holds replaces that record, answering 201."""
    original = Tx.insert

    def insert(self: Tx, rtype: str, rid: str, version: int, text: str, derived: Any,
               event: Any = None) -> int | None:
        seq = original(self, rtype, rid, version, text, derived, event)
        stored = self.get(rtype, rid) if seq is None else None
        if stored is not None and self.replace(stored, version, text, derived, None, event):
            return stored.seq
        return seq

    mp.setattr(Tx, "insert", insert)
    return app


def missing_reads_null(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A read of an id the server does not hold answers 200 with ``null``, as a handler
    returning whatever its lookup found does."""
    def edit(scope: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        if status == 404 and scope["method"] == "GET" and scope["path"].count("/") == 2:
            return 200, [(b"content-type", b"application/json")], b"null"
        return status, headers, body

    return Rewrite(app, edit)


def unseen_reads_forbidden(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A read of a record the reader may not see answers 403, telling that it exists."""
    original = Service.read

    def read(self: Service, principal: Principal, rtype: str, rid: str,
             audits: Any = None) -> Result:
        try:
            return original(self, principal, rtype, rid, audits)
        except NotFound:
            with self.store.read() as tx:
                stored = tx.get(rtype, rid)
            if stored is not None:
                raise forbidden(principal, "you may not read this record",
                                "您无权读取该记录") from None
            raise

    mp.setattr(Service, "read", read)
    return app


MUTANTS += [
    Mutant("times-stored-in-utc", "/req/core/create-read-back",
           "a create stores its timestamps in UTC: the same instants, another document",
           times_stored_in_utc),
    Mutant("meta-source-from-client", "/req/core/meta-source",
           "a create keeps the client's meta.source: a record passes for another system's",
           meta_source_from_client),
    Mutant("meta-source-moved-by-update", "/req/core/meta-source",
           "an update takes the meta.source its body gives", meta_source_moved_by_update),
    Mutant("echo-not-recognised", "/req/core/echo-suppression",
           "a record carrying this server's own externalRef is created again",
           echo_not_recognised),
    Mutant("echo-recognised-for-issues-only", "/req/core/echo-suppression",
           "only an issue carrying this server's own externalRef is recognised: a resident "
           "coming back is created again", echo_recognised_for_issues_only),
    Mutant("echo-tells-existence", "/req/core/echo-suppression",
           "a copy is refused only when the record it names exists: the answer tells which "
           "records the server holds", echo_tells_existence),
    Mutant("echo-spelling-not-normalised", "/req/core/echo-suppression",
           "system URIs are compared as written: another spelling of this server's own "
           "system is taken for another's", echo_spelling_not_normalised),
    Mutant("echo-added-by-update", "/req/core/echo-suppression",
           "only creates are checked: an update adds a reference naming this server's own "
           "system", echo_added_by_update),
    Mutant("echo-by-update-unprocessable", "/req/core/echo-suppression",
           "an update adding this server's own system gets 422, not 409 http.echo",
           echo_by_update_unprocessable),
    Mutant("echo-by-update-as-written", "/req/core/echo-suppression",
           "updates compare systems as written: another spelling of this server's own system "
           "is added", echo_by_update_as_written),
    Mutant("issues-from-elsewhere", "/req/core/meta-source",
           "every issue created carries another system's URI as its source",
           issues_from_elsewhere),
    Mutant("extensions-dropped-on-update", "/req/core/extensions-preserved",
           "a PUT drops the extensions", extensions_dropped_on_update),
    Mutant("create-overwrites", "/req/core/id-conflict",
           "a create with an existing id replaces the record (201)", create_overwrites),
    Mutant("missing-reads-null", "/req/core/not-found",
           "a missing id answers 200 with null", missing_reads_null),
    Mutant("unseen-reads-forbidden", "/req/core/not-found",
           "a record the reader may not see answers 403, telling that it exists",
           unseen_reads_forbidden),
]


# -- requests the server must refuse ------------------------------------------------------------

def body_media_type_ignored(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Every body is parsed as JSON whatever its Content-Type: text/plain and form-encoded
    bodies holding JSON are taken."""
    def request(scope: dict[str, Any]) -> dict[str, Any]:
        if scope["method"] in ("POST", "PUT"):
            scope["headers"] = [*((k, v) for k, v in scope["headers"]
                                  if k.lower() != b"content-type"),
                                (b"content-type", b"application/json")]
        return scope

    return Rewrite(app, request=request)


def unknown_parameters_ignored(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Query parameters no operation declares are ignored (200), as web frameworks do by
    default."""
    mp.setattr(http_module, "_refuse_unknown", lambda request, operation: None)
    return app


def unknown_parameters_on_lists_only(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Only the list operations, which check their filters, refuse a parameter they do not
    declare: a single read or the feed ignores it."""
    original = http_module._refuse_unknown

    def refuse(request: Any, operation: Any) -> None:
        if str(operation.operation_id).startswith("list"):
            original(request, operation)

    mp.setattr(http_module, "_refuse_unknown", refuse)
    return app


def _limits(**changes: int) -> Install:
    """A server whose settings have ``changes`` (its request limits)."""
    def install(app: Any, mp: pytest.MonkeyPatch) -> Any:
        sc = app.state.sc
        mp.setattr(sc, "settings", dataclasses.replace(sc.settings, **changes))
        return app
    return install


def limits_unstated(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A body over the size limit gets 413, and one nested too deeply 400, but neither
    problem says what the limit is."""
    def edit(scope: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        if status in (400, 413):
            problem = json.loads(body)
            if problem.get("code") in ("http.payload-too-large", "http.too-deep"):
                problem["message"] = {"zh-Hans": "请求体过大或嵌套过深",
                                      "en": "The body is too large or nested too deeply"}
                problem["detail"] = problem["message"]["en"]
                problem["errors"] = []
                body = json.dumps(problem, ensure_ascii=False).encode()
        return status, headers, body

    return Rewrite(app, edit)


def _without_query(name: str) -> Install:
    """A server that takes list parameter ``name`` and never applies it."""
    def install(app: Any, mp: pytest.MonkeyPatch) -> Any:
        def request(scope: dict[str, Any]) -> dict[str, Any]:
            if scope["method"] == "GET" and scope["path"].count("/") == 1:
                query = parse_qsl(scope.get("query_string", b"").decode(),
                                  keep_blank_values=True)
                scope["query_string"] = urlencode([(k, v) for k, v in query if k != name]
                                                  ).encode()
            return scope

        return Rewrite(app, request=request)
    return install


def lifecycle_writable(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A PUT may move the status, with the history event that leads there: staff accept an
    issue by editing it, past the roles and rules of the accept action."""
    mp.setattr(Policy, "lifecycle_unchanged", lambda self, old, new: None)
    return app


def history_writable(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A PUT may rewrite the history, as long as the status stays."""
    def status_kept(self: Policy, old: Any, new: Any) -> None:
        if old.get("status") != new.get("status"):
            raise unprocessable([("/status", "status changes only through actions",
                                  "状态只能通过动作改变", "/req/core/lifecycle-via-actions")])

    mp.setattr(Policy, "lifecycle_unchanged", status_kept)
    return app


#: set while an update is prepared
_UPDATING: contextvars.ContextVar[bool] = contextvars.ContextVar("updating", default=False)


def history_rewritten_by_update(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """An update rewrites the first history event's note, and the links after it are
    computed again, so that the rewritten history still checks (/req/core/history-chain)."""
    prepare = Service._prepare

    def rewritten(self: Service, doc: dict[str, Any], previous: Any = None,
                  fallback: Any = ()) -> Any:
        events = doc.get("history")
        if _UPDATING.get() and previous is not None and isinstance(events, list) and events:
            events = [dict(e) for e in events]
            events[0]["note"] = "改写的历史 / rewritten history"
            for event in events[1:]:
                event.pop(LINK, None)  # sealing computes each link again
            doc = {**doc, "history": events}
        return prepare(self, doc, previous, fallback)

    mp.setattr(Service, "prepare_update", flagging(Service.prepare_update, _UPDATING))
    mp.setattr(Service, "_prepare", rewritten)
    return app


def behalf_unheld_taken(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Staff may act for a resident the server does not hold, though not for one of a
    community they do not serve: the answer tells them which ids another community holds."""
    original = Policy.acts_for

    def acts_for(self: Policy, tx: Any, principal: Principal, rid: Any) -> bool:
        if (principal.role not in self.access.own_record_roles and isinstance(rid, str)
                and tx.get(self.access.person_type, rid) is None):
            return True
        return original(self, tx, principal, rid)

    mp.setattr(Policy, "acts_for", acts_for)
    return app


def behalf_grids_ignored(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A grid worker may act for any resident of his community, beyond the grids whose
    residents alone he reads."""
    original = Policy.acts_for

    def acts_for(self: Policy, tx: Any, principal: Principal, rid: Any) -> bool:
        if principal.role in self.access.grid_scoped and isinstance(rid, str):
            record = tx.get(self.access.person_type, rid)
            return (record is not None and not self.access.is_erased(record.doc)
                    and principal.serves_any(record.communities))
        return original(self, tx, principal, rid)

    mp.setattr(Policy, "acts_for", acts_for)
    return app


def staff_actor_as_sent(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Staff actors are recorded as the body gives them: a claim contradicting the credential
    is still refused, but what the body leaves out (user id, name, organisation) is never
    filled in, so staff who send the role alone, or no actor, are recorded by role alone."""
    original = Service._actor

    def actor(self: Service, principal: Principal, given: Any, where: str) -> dict[str, Any]:
        bound = original(self, principal, given, where)
        if principal.role != "community-staff":
            return bound
        sent = given if isinstance(given, dict) else {}
        return {k: v for k, v in bound.items() if k == "role" or k in sent}

    mp.setattr(Service, "_actor", actor)
    return app


MUTANTS += [
    Mutant("staff-actor-as-sent", "/req/core/actor-is-principal",
           "staff who send only their role, or no actor, are recorded without their user id, "
           "name and organisation", staff_actor_as_sent),
    Mutant("behalf-unheld-taken", "/req/core/actor-is-principal",
           "staff act for a resident the server does not hold, unlike one out of reach",
           behalf_unheld_taken),
    Mutant("behalf-grids-ignored", "/req/core/actor-is-principal",
           "a grid worker acts for residents of other grids of his community",
           behalf_grids_ignored),
    Mutant("body-media-type-ignored", "/req/core/json-only",
           "text/plain and form-encoded bodies are parsed as JSON", body_media_type_ignored),
    Mutant("unknown-parameters-ignored", "/req/core/unknown-parameter",
           "an undefined query parameter is ignored (200)", unknown_parameters_ignored),
    Mutant("unknown-parameters-on-lists-only", "/req/core/unknown-parameter",
           "a single read and the feed ignore an undefined query parameter",
           unknown_parameters_on_lists_only),
    Mutant("no-body-limit", "/req/core/request-limits",
           "a body of any size is taken", _limits(max_body_bytes=1 << 40)),
    Mutant("limits-unstated", "/req/core/request-limits",
           "413 and the 400 of deep nesting without saying the limit", limits_unstated),
    Mutant("updated-since-ignored", "/req/core/list-filters",
           "lists take updatedSince and never apply it", _without_query("updatedSince")),
    Mutant("community-filter-ignored", "/req/core/list-filters",
           "lists take community and never apply it", _without_query("community")),
    Mutant("lifecycle-writable", "/req/core/lifecycle-via-actions",
           "a PUT moves the status with the event leading there", lifecycle_writable),
    Mutant("history-writable", "/req/core/lifecycle-via-actions",
           "a PUT rewrites the history while the status stays", history_writable),
    Mutant("history-rewritten-by-update", "/req/core/history-append-only",
           "an update rewrites an earlier history event, its chain recomputed",
           history_rewritten_by_update),
]
