"""Deliberately broken variants of the reference server, one defect each.

Every mutant is the real server with one requirement broken, either by an ASGI middleware
around the application (for defects visible on the wire) or by a monkeypatch of one
reference_server internal (for defects in behaviour); reference_server itself is never edited.
The kit must fail each one, and the failing test must be the one citing the broken requirement
(see test_mutants.py).
"""

from __future__ import annotations

import contextvars
import copy
import dataclasses
import functools
import json
import math
import re
import threading
import urllib.parse
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from email.utils import formatdate
from time import sleep
from typing import Any

import orjson
import pytest

from reference_server import access as access_module
from reference_server.access import Access, Presentations, birth_date
from reference_server.api import _common
from reference_server.auth import Principal
from reference_server.http import encode_cursor
from reference_server.service import Result, Service, _core, _partial, _policies, unprocessable
from reference_server.settings import CST
from reference_server.storage import Stored, Tx, derive, joined, utc_text
from reference_server.storage import _person as person_module
from smartcommunity.lifecycle import _effects, lifecycle_for
from smartcommunity.privacy import _results as results_module
from smartcommunity.specification import LATEST_CURSOR, load_spec

from .harness import kit_token

Install = Callable[[Any, pytest.MonkeyPatch], Any]  # (server app, monkeypatch) → app to serve


def flagging(method: Callable[..., Any], flag: contextvars.ContextVar[bool]
             ) -> Callable[..., Any]:
    """``method`` with ``flag`` set while it runs: for a variant that misbehaves only inside
    it (a list page, the feed, an update)."""
    def flagged(*args: Any, **kw: Any) -> Any:
        token = flag.set(True)
        try:
            return method(*args, **kw)
        finally:
            flag.reset(token)

    return flagged


@dataclass(frozen=True)
class Mutant:
    name: str
    #: the requirement the defect breaks: a test citing it must fail
    requirement: str
    #: what it breaks, in a few words
    defect: str
    install: Install
    #: requirements the kit runs against the mutant (default: just ``requirement``)
    run: tuple[str, ...] = ()

    @property
    def requirements(self) -> tuple[str, ...]:
        return self.run or (self.requirement,)


# -- middleware ------------------------------------------------------------------------

Editor = Callable[[dict[str, Any], int, list[tuple[bytes, bytes]], bytes],
                  tuple[int, list[tuple[bytes, bytes]], bytes]]


class Rewrite:
    """Pass requests through; hand each buffered response to ``edit`` before sending it."""

    def __init__(self, app: Any, edit: Editor | None = None,
                 request: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        self.app = app
        self.edit = edit
        self.request = request

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.request is not None:
            scope = self.request(dict(scope))
        if self.edit is None:
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            assert self.edit is not None
            status, headers, body = self.edit(scope, start["status"],
                                              list(start.get("headers", [])), b"".join(chunks))
            headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((v for k, v in headers if k.lower() == name), None)


def _query(scope: dict[str, Any]) -> str:
    raw: bytes = scope.get("query_string", b"")
    return raw.decode()


def _json_edit(path_test: Callable[[dict[str, Any]], bool],
               fn: Callable[[Any], Any]) -> Editor:
    """An editor changing the JSON body of successful responses to matching requests."""

    def edit(scope: dict[str, Any], status: int, headers: list[tuple[bytes, bytes]],
             body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if status == 200 and path_test(scope):
            body = json.dumps(fn(json.loads(body)), ensure_ascii=False).encode()
        return status, headers, body

    return edit


def _get(path: str, exact: bool = True) -> Callable[[dict[str, Any]], bool]:
    def test(scope: dict[str, Any]) -> bool:
        p = scope["path"]
        return scope["method"] == "GET" and (p == path if exact else p.startswith(path))

    return test


def no_landing_page(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """GET / answers 404, as a server that never wrote a landing page does."""
    def edit(scope: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        if scope["method"] == "GET" and scope["path"] == "/":
            return 404, [(b"content-type", b"application/problem+json")], b"{}"
        return status, headers, body

    return Rewrite(app, edit)


def documentation_from_cdn(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The documentation page loads Swagger UI from a CDN (FastAPI's default), which a
    service centre's intranet cannot reach."""
    def edit(scope: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        if scope["method"] == "GET" and scope["path"] == "/docs":
            body = body.replace(b'src="/docs/assets/',
                                b'src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/')
        return status, headers, body

    return Rewrite(app, edit)


def missing_etag(app: Any, mp: pytest.MonkeyPatch) -> Any:
    def edit(scope: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        return status, [(k, v) for k, v in headers if k.lower() != b"etag"], body

    return Rewrite(app, edit)


def idempotency_ignored(app: Any, mp: pytest.MonkeyPatch) -> Any:
    def request(scope: dict[str, Any]) -> dict[str, Any]:
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"idempotency-key"]
        return scope

    return Rewrite(app, request=request)


def unauthenticated_read(app: Any, mp: pytest.MonkeyPatch) -> Any:
    def request(scope: dict[str, Any]) -> dict[str, Any]:
        if _header(scope["headers"], b"authorization") is None:
            scope["headers"] = [*scope["headers"],
                                (b"authorization",
                                 f"Bearer {kit_token('demo-staff-liu-fang')}".encode())]
        return scope

    return Rewrite(app, request=request)


def wrong_error_media_type(app: Any, mp: pytest.MonkeyPatch) -> Any:
    def edit(scope: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        if status >= 400:
            headers = [(k, b"application/json" if k.lower() == b"content-type" else v)
                       for k, v in headers]
        return status, headers, body

    return Rewrite(app, edit)


def undeclared_class(app: Any, mp: pytest.MonkeyPatch) -> Any:
    def add(body: Any) -> Any:
        body["conformsTo"].append("https://w3id.org/smartcommunity/spec/1.0/conf/kit-invented")
        return body

    return Rewrite(app, _json_edit(_get("/conformance"), add))


def feed_gap(app: Any, mp: pytest.MonkeyPatch) -> Any:
    def drop(page: Any) -> Any:
        if len(page["items"]) >= 3:
            del page["items"][1]
        return page

    return Rewrite(app, _json_edit(_get("/changes"), drop))


def merge_target_unnamed(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The merge target's event names update, not the merge that wrote it."""
    def rename(page: Any) -> Any:
        for event in page["items"]:
            if event.get("action") == "merge" and str(event.get("type")).endswith(".updated"):
                event["action"] = "update"
        return page

    return Rewrite(app, _json_edit(_get("/changes"), rename))


def refused_update_published(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A PUT's event is published as the request is taken, before the version is judged: one
    refused with 412 still puts its state on the feed as the next version, though nothing
    was stored."""
    from reference_server.errors import ProblemError
    from reference_server.service._shared import now_cst, stamp
    from smartcommunity.integrity import head_digest

    original = Service.prepare_update

    def prepare_update(self: Service, principal: Principal, rtype: str, rid: str, doc: Any,
                       versions: Any) -> Any:
        try:
            return original(self, principal, rtype, rid, doc, versions)
        except ProblemError as exc:
            with self.store.read() as tx:
                stored = tx.get(rtype, rid)
            if exc.status == 412 and stored is not None and isinstance(doc, dict):
                at, version = stamp(now_cst()), stored.version + 1
                state = {**doc, "meta": {**(stored.doc.get("meta") or {}),
                                         "versionId": str(version), "lastUpdated": at}}
                derived = derive(state, stored.communities)
                self.store.transact(lambda tx: tx.append_event(
                    rtype, rid, "updated", "update", version, at,
                    orjson.dumps(state).decode(), derived, head_digest(state)))
            raise

    mp.setattr(Service, "prepare_update", prepare_update)
    return app


def update_event_stale_state(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The event of an update carries the record as read before the write (its
    resourceversion is right), for resources without a history whose digest would give it
    away (residents, organisations)."""
    original = Tx.events

    def events(self: Tx, after: int, limit: int) -> Any:
        out = []
        for row, current in original(self, after, limit):
            if row.kind == "updated" and row.head is None and row.version > 1:
                before = self.event_state(row.rtype, row.rid, row.version - 1)
                if before is not None:
                    row = dataclasses.replace(row, data=before)
            out.append((row, current))
        return out

    mp.setattr(Tx, "events", events)
    return app


def feed_duplicate(app: Any, mp: pytest.MonkeyPatch) -> Any:
    def repeat(page: Any) -> Any:
        if page["items"]:
            page["items"].append(copy.deepcopy(page["items"][0]))
        return page

    return Rewrite(app, _json_edit(_get("/changes"), repeat))


def paging_skips(app: Any, mp: pytest.MonkeyPatch) -> Any:
    def later_page(scope: dict[str, Any]) -> bool:
        return _get("/issues")(scope) and "cursor=" in _query(scope)

    def skip(page: Any) -> Any:
        if page["items"]:
            del page["items"][0]
        return page

    return Rewrite(app, _json_edit(later_page, skip))


def erased_reads_not_found(app: Any, mp: pytest.MonkeyPatch) -> Any:
    def edit(scope: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        if (status == 200 and _get("/residents/", exact=False)(scope)
                and b'"state":"erased"' in body):
            problem = {"type": "about:blank", "title": "Not found", "status": 404,
                       "code": "http.not-found",
                       "message": {"zh-Hans": "不存在", "en": "Not found"}, "errors": []}
            headers = [(b"content-type", b"application/problem+json")]
            return 404, headers, json.dumps(problem).encode()
        return status, headers, body

    return Rewrite(app, edit)


async def request_body(receive: Any) -> bytes:
    """The whole body of a request, read from the ASGI ``receive``."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def replaying(body: bytes, receive: Any) -> Any:
    """An ASGI ``receive`` that hands the app ``body`` (read already) and then whatever
    ``receive`` has next."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class FailOnBadJson:
    """Answers 500 to a write whose body is not JSON, as a server without input checks does."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
            await self.app(scope, receive, send)
            return
        body = await request_body(receive)
        try:
            json.loads(body)
        except ValueError:
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"Internal Server Error"})
            return
        await self.app(scope, replaying(body, receive), send)


def server_error_on_bad_input(app: Any, mp: pytest.MonkeyPatch) -> Any:
    return FailOnBadJson(app)


# -- monkeypatches ---------------------------------------------------------------------

def stale_write_accepted(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(Service, "check_version", lambda self, stored, versions: None)
    return app


def actions_ignore_if_match(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Only PUT compares versions: a lifecycle action without If-Match, or with a stale one,
    is carried out on whatever version is current (If-Match: * is still refused)."""
    original = Service.prepare_act

    def prepare_act(self: Service, principal: Principal, rtype: str, rid: str, action: str,
                    body: Any, versions: Any) -> Any:
        unchecked: Any = None  # no versions: check_version compares nothing
        return original(self, principal, rtype, rid, action, body, unchecked)

    def request(scope: dict[str, Any]) -> dict[str, Any]:
        if (scope["method"] == "POST" and "/actions/" in scope["path"]
                and _header(scope["headers"], b"if-match") is None):
            scope["headers"] = [*scope["headers"], (b"if-match", b'"0"')]  # any will do
        return scope

    mp.setattr(Service, "prepare_act", prepare_act)
    return Rewrite(app, request=request)


def idempotency_fingerprint_by_id(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A create is taken for a replay when its key and document id match the first: the same
    key and id with other members get the first result instead of 422."""
    original_create, original_replay = Service.prepare_create, Service._replay
    creating = threading.local()

    def prepare_create(self: Service, principal: Principal, rtype: str, doc: Any,
                       key: str | None) -> Any:
        creating.id = doc.get("id") if isinstance(doc, dict) else None
        try:
            return original_create(self, principal, rtype, doc, key)
        finally:
            creating.id = None

    def replay(self: Service, tx: Tx, principal: Principal, hit: Any, request: str,
               body_hash: str, audits: Any = None) -> Result:
        if hit["request"] == request and str(hit["rid"]) == getattr(creating, "id", None):
            body_hash = hit["body_hash"]  # the same id: taken for the same body
        return original_replay(self, tx, principal, hit, request, body_hash, audits)

    mp.setattr(Service, "prepare_create", prepare_create)
    mp.setattr(Service, "_replay", replay)
    return app


def idempotency_looked_up_once(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The key is looked up as a request is taken, not again where the create is written
    (some milliseconds later, as on a busy server): requests with one key sent at once all
    miss it, and all but the first are refused 409 for the id the first took."""
    original = Tx.idempotent

    def idempotent(self: Tx, principal: str, key: str, since: str) -> Any:
        if threading.current_thread().name == "group-commit":  # inside a write job
            sleep(0.05)
            return None
        return original(self, principal, key, since)

    mp.setattr(Tx, "idempotent", idempotent)
    return app


def invalid_document_accepted(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(Service, "validate", lambda self, doc: None)
    return app


def sensitive_to_public(app: Any, mp: pytest.MonkeyPatch) -> Any:
    access = app.state.sc.service.access
    mp.setattr(access, "role_audience", {**access.role_audience, "public": "community-staff"})
    return app


def cross_community_read(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(Principal, "serves_any", lambda self, communities: True)
    return app


def any_role_may(app: Any, mp: pytest.MonkeyPatch, actions: Collection[str] | None = None
                 ) -> Any:
    """The server lets every role perform ``actions`` (all when None) of issues."""
    every = frozenset(app.state.sc.service.spec.codelist("role"))
    relaxed = copy.copy(lifecycle_for("Issue"))
    relaxed.transitions = {a: dataclasses.replace(t, roles=every)
                           if actions is None or a in actions else t
                           for a, t in relaxed.transitions.items()}
    original = Service.lifecycle
    mp.setattr(Service, "lifecycle",
               lambda self, rtype: relaxed if rtype == "Issue" else original(self, rtype))
    return app


def forbidden_transition(app: Any, mp: pytest.MonkeyPatch) -> Any:
    return any_role_may(app, mp)


def history_rewritten(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = _policies.IssuePolicy.after_apply

    def after_apply(self: Any, doc: dict[str, Any], inputs: Any) -> dict[str, Any]:
        doc = original(self, doc, inputs)
        if len(doc.get("history") or []) > 1:
            doc["history"][0]["note"] = "改写的历史 / rewritten history"
        return doc

    mp.setattr(_policies.IssuePolicy, "after_apply", after_apply)
    return app


def department_sees_all(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = Access.can_see

    def can_see(self: Access, principal: Any, stored: Any, now: Any = None) -> bool:
        if stored.rtype == "Issue" and principal.role == "department":
            return principal.serves_any(stored.communities)
        return original(self, principal, stored, now)

    mp.setattr(Access, "can_see", can_see)
    return app


def residents_read_others(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = Access.can_see

    def can_see(self: Access, principal: Any, stored: Any, now: Any = None) -> bool:
        if stored.rtype == "Resident" and principal.role in ("resident", "proxy"):
            return True
        return original(self, principal, stored, now)

    mp.setattr(Access, "can_see", can_see)
    return app


def reporter_disclosed(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(Access, "_reporter", lambda self, principal, audience, doc: None)
    return app


def results_disclosed(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(access_module, "hide_results", lambda doc, **_: False)
    return app


def results_shown_while_open(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Shows a vote's results once results.visibleFrom has come, whether or not the vote is
    closed: the counts recorded while it is open are a running tally."""
    original = results_module.results_shown

    def by_time_only(vote: Any, now: datetime | None = None, *, rule: Any = None) -> bool:
        due = (rule or results_module.results_rule()).shown_at
        return original({**vote, "status": due}, now, rule=rule)

    mp.setattr(results_module, "results_shown", by_time_only)
    return app


def running_abstentions_shown(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """While a vote's results wait, its record-votes events lose their per-option counts but
    keep their abstentions and invalid counts: a running tally of those."""
    original = access_module.hide_results

    def options_only(doc: dict[str, Any], *, early: bool, now: datetime | None = None,
                     rule: results_module.ResultsRule | None = None) -> bool:
        rule = rule or results_module.results_rule()
        members = {**rule.event_details, "record-votes": ("options",)}
        return original(doc, early=early, now=now,
                        rule=dataclasses.replace(rule, event_details=members))

    mp.setattr(access_module, "hide_results", options_only)
    return app


def merge_target_untouched(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(_policies.IssuePolicy, "also_write", lambda self, *args: [])
    return app


def anyone_withdraws(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(_policies.IssuePolicy, "_may_withdraw", lambda self, tx, principal, doc: None)
    return app


def foreign_assignment(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = _policies.IssuePolicy.check_action

    def check_action(self: Any, tx: Any, principal: Any, stored: Any, action: str,
                     body: Any, actor: Any) -> Any:
        if principal.role == "department" and action in ("add-progress", "extend-deadline"):
            return {}  # the department's own assignment is no longer checked
        return original(self, tx, principal, stored, action, body, actor)

    mp.setattr(_policies.IssuePolicy, "check_action", check_action)
    return app


def consents_deletable(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(_policies.ResidentPolicy, "_consents_kept", lambda self, old, new: None)
    return app


def names_optional(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(_policies.ResidentPolicy, "_named", lambda self, doc: None)
    return app


def non_submitted_created(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(_policies.IssuePolicy, "check_create", lambda self, principal, doc: None)
    return app


def lifecycle_members_writable(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(_policies.IssuePolicy, "check_update",
               lambda self, tx, principal, current, doc: self.lifecycle_unchanged(current.doc,
                                                                                 doc))
    return app


def division_movable(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(_policies.ConsultationPolicy, "check_update",
               lambda self, tx, principal, current, doc: self.lifecycle_unchanged(current.doc,
                                                                                 doc))
    return app


def proposers_rewritable(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A PUT may rewrite origin.proposers: whoever updates the consultation makes another
    resident a proposer, who may then withdraw it, or takes the real proposer's right away."""
    mp.setattr(_policies.ConsultationPolicy, "_proposers_kept", lambda self, old, new: [])
    return app


def proposers_unbound(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The proposers a resident's create names are stored as given: she may name a neighbour,
    and naming none leaves her no proposer of her own topic."""
    mp.setattr(_policies.ConsultationPolicy, "bind_creator",
               lambda self, principal, doc, bind: doc)
    return app


def proposers_out_of_reach(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Staff name any resident as a proposer: one of another community or grid, or one nobody
    holds, who may then withdraw a topic she never proposed."""
    mp.setattr(_policies.ConsultationPolicy, "_proposers_in_reach",
               lambda self, tx, principal, doc: None)
    return app


def proposer_existence_told(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Staff may not name a resident of another community or grid, but may name one the server
    does not hold: the answer tells them whether a record beyond their reach exists."""
    original = _policies.ConsultationPolicy.readable

    def readable(self: Any, tx: Any, principal: Principal, rid: Any) -> Any:
        held = tx.get(self.access.person_type, rid) if isinstance(rid, str) else None
        return original(self, tx, principal, rid) if held is not None else _Unheld()

    mp.setattr(_policies.ConsultationPolicy, "readable", readable)
    return app


class _Unheld:
    """A resident record the server does not hold, taken as one in reach."""

    def __init__(self) -> None:
        self.doc: dict[str, Any] = {}


def proxy_proposes_himself(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A proxy may list himself as a proposer beside the residents he acts for (or name none,
    and be recorded): he withdraws the topic after his authorisation ends."""
    mp.setattr(_policies.ConsultationPolicy, "_for_others",
               lambda self, principal, proposers: None)
    return app


def own_items_hidden(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A resident reading a consultation she proposed gets her own proposer entry redacted,
    as anyone's: she cannot see that the record names her."""
    mp.setattr(Access, "own_items", lambda self, principal, audience, rtype, doc, now=None: [])
    return app


def own_items_all_shown(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A resident among a petition's proposers reads every proposer entry whole: she learns
    who the other proposers are."""
    original = Access.own_items

    def own_items(self: Access, principal: Principal, audience: str, rtype: str, doc: Any,
                  now: Any = None) -> list[tuple[int, Any]]:
        if not original(self, principal, audience, rtype, doc, now):
            return []
        items = doc
        for part in self.owned_items[rtype][0].strip("/").split("/"):
            items = items[part]
        return [(i, copy.deepcopy(item)) for i, item in enumerate(items)]

    mp.setattr(Access, "own_items", own_items)
    return app


def stated_result_trusted(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = _effects._EFFECTS[("Consultation", "close-vote")]

    def close_vote(document: dict[str, Any], event: dict[str, Any], inputs: Any) -> None:
        details = event.setdefault("details", {})
        stated = details.pop("result", None)
        original(document, event, inputs)
        if stated is not None:  # the request's word is taken over the tally
            details["result"] = stated
            for vote in document.get("votes") or []:
                if vote.get("id") == details.get("voteId"):
                    vote["results"]["result"] = stated

    mp.setitem(_effects._EFFECTS, ("Consultation", "close-vote"), close_vote)
    mp.setattr(Service, "validate", lambda self, doc: None)  # let the false result be stored
    return app


def ballots_complete_unwritten(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = _effects._EFFECTS[("Consultation", "close-vote")]

    def close_vote(document: dict[str, Any], event: dict[str, Any], inputs: Any) -> None:
        original(document, event, inputs)
        event["details"].pop("ballotsComplete", None)  # nobody writes the flag
        for vote in document.get("votes") or []:
            if vote.get("id") == event["details"].get("voteId"):
                vote.pop("ballotsComplete", None)

    mp.setitem(_effects._EFFECTS, ("Consultation", "close-vote"), close_vote)
    return app


def follow_up_item_trimmed(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = _effects._EFFECTS[("Issue", "follow-up")]

    def follow_up(document: dict[str, Any], event: dict[str, Any], inputs: Any) -> None:
        original(document, event, inputs)
        for record in document.get("followUps") or []:
            record.pop("rating", None)  # the request's item is not written whole

    mp.setitem(_effects._EFFECTS, ("Issue", "follow-up"), follow_up)
    return app


def blind_writes_accepted(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = _common.parse_if_match

    def lenient(raw: str | None) -> list[str] | None:
        return ["*"] if raw is not None and "*" in raw else original(raw)

    def check_version(self: Service, stored: Any, versions: list[str] | None) -> None:
        if versions == ["*"]:
            return
        original_check(self, stored, versions)

    original_check = Service.check_version
    mp.setattr(_common, "parse_if_match", lenient)
    mp.setattr(Service, "check_version", check_version)
    return app


def unicode_digit_cursors(app: Any, mp: pytest.MonkeyPatch) -> Any:
    import base64

    original = _core.decode_cursor

    def decode(kind: str, cursor: str | None) -> int:
        if cursor:  # the old check: str.isdigit takes ² and ١, int() then fails (a 500)
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode(
                "utf-8", "replace")
            if text.startswith(kind) and text[len(kind):].isdigit():
                return int(text[len(kind):])
        return original(kind, cursor)

    mp.setattr(_core, "decode_cursor", decode)
    return app


def control_ids_crash(app: Any, mp: pytest.MonkeyPatch) -> Any:
    def edit(scope: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        if any(ord(c) < 32 for c in scope["path"]):  # as PostgreSQL refuses NUL in text
            return 500, [(b"content-type", b"text/plain")], b"Internal Server Error"
        return status, headers, body

    return Rewrite(app, edit)


def invisible_characters_accepted(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = Service.validate

    def validate(self: Service, doc: Any) -> Any:
        clean = json.loads(json.dumps(doc, ensure_ascii=False)
                           .translate(dict.fromkeys(range(0x200B, 0x2070))))
        return original(self, clean)

    mp.setattr(Service, "validate", validate)
    return app


def expired_jwts_accepted(app: Any, mp: pytest.MonkeyPatch) -> Any:
    import jwt

    decode = jwt.decode

    def lenient(*args: Any, **kwargs: Any) -> Any:
        return decode(*args, **{**kwargs, "options": {"verify_exp": False}})

    mp.setattr("reference_server.auth.jwt.decode", lenient)
    return app


def demo_tokens_accepted(app: Any, mp: pytest.MonkeyPatch) -> Any:
    def request(scope: dict[str, Any]) -> dict[str, Any]:
        token = _header(scope["headers"], b"authorization") or b""
        if token.startswith(b"Bearer demo-"):
            mapped = kit_token(token.decode()[len("Bearer "):])
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
            scope["headers"].append((b"authorization", f"Bearer {mapped}".encode()))
def leaky_redact(mp: pytest.MonkeyPatch,
                 leak: Callable[[dict[str, Any], dict[str, Any]], None],
                 audiences: Collection[str] | None = None) -> None:
    """Patch the server's ``redact`` so that ``leak(out, stored)`` puts back into each redacted
    document what its stored form held (only for ``audiences``, when given). The server hands
    ``redact`` stored JSON text, or a dict it lets redaction change in place, so the stored
    form is read before redacting."""
    original = access_module.redact

    def redact(document: Any, audience: str, **kw: Any) -> dict[str, Any]:
        if audiences is not None and audience not in audiences:
            return original(document, audience, **kw)
        stored = (orjson.loads(document) if isinstance(document, str | bytes)
                  else copy.deepcopy(document))
        out = original(document, audience, **kw)
        leak(out, stored)
        return out

    mp.setattr(access_module, "redact", redact)


def extensions_unredacted(app: Any, mp: pytest.MonkeyPatch) -> Any:
    def leak(out: dict[str, Any], stored: dict[str, Any]) -> None:
        if "extensions" in stored:
            out["extensions"] = stored["extensions"]

    leaky_redact(mp, leak)
    return app


def free_text_untagged(app: Any, mp: pytest.MonkeyPatch) -> Any:
    def leak(out: dict[str, Any], stored: dict[str, Any]) -> None:
        # Notes and action details go out as they are stored, as if nothing tagged them.
        for event, kept in zip(out.get("history") or (), stored.get("history") or (),
                               strict=False):
            for member in ("note", "details"):
                if isinstance(event, dict) and member in kept:
                    event[member] = kept[member]

    leaky_redact(mp, leak)
    return app


def own_issue_as_public(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(Access, "owns", lambda self, principal, stored, now=None: False)
    return app


def department_keeps_issue(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(Access, "holds_assignment", lambda self, organisation, doc: True)
    return app


def erasure_at_will(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(_policies.ResidentPolicy, "_on_legal_ground",
               lambda self, operation, reason: None)
    return app


def unpublished_issues_shown(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(app.state.sc.service.access, "publication", {})
    return app


def anonymous_read_as_staff(app: Any, mp: pytest.MonkeyPatch) -> Any:
    def request(scope: dict[str, Any]) -> dict[str, Any]:
        if (_header(scope["headers"], b"authorization") is None
                and str(scope.get("path", "")).startswith("/issues")):
            scope["headers"] = [*scope["headers"],
                                (b"authorization", b"Bearer demo-staff-liu-fang")]
        return scope

    return Rewrite(app, request=request)


def grid_worker_sees_community(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(Access, "in_grids", lambda self, principal, doc: True)
    return app


def stored_history_byte_changed(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = _core.seal_history

    def seal(document: Any) -> dict[str, Any]:
        sealed = original(document)
        history = sealed.get("history") or []
        if len(history) > 1:  # one byte of the first event, after the next one named it
            first = dict(history[0])
            first["at"] = first["at"][:-1] + ("1" if first["at"][-1] != "1" else "2")
            sealed["history"] = [first, *history[1:]]
        return sealed

    mp.setattr(_core, "seal_history", seal)
    return app


def reply_due_uppercase_only(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A stated reply deadline is read by a parser that knows only an uppercase Z: a valid
    one with a lowercase z raises inside the server."""
    from datetime import datetime

    def later(a: str, b: str) -> bool:
        return datetime.fromisoformat(a.replace("Z", "+00:00")) > \
            datetime.fromisoformat(b.replace("Z", "+00:00"))

    mp.setattr(_policies, "_later", later)
    return app


def grid_scope_cached(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A grid worker's access to a resident, once granted (by reading her or recording her),
    is never decided again: moved by staff to another grid, she stays readable, and her
    create replayable, to the worker."""
    original = Access.in_grids
    granted: set[tuple[str, str]] = set()

    def in_grids(self: Access, principal: Principal, doc: Any, now: Any = None) -> bool:
        key = (str(principal.user_id or principal.name), str(doc.get("id")))
        if key in granted or original(self, principal, doc, now):
            granted.add(key)
            return True
        return False

    original_create = Service.prepare_create

    def prepare_create(self: Service, principal: Principal, rtype: str, doc: Any,
                       key: Any) -> Any:
        if principal.role == "grid-worker" and isinstance(doc, dict):
            granted.add((str(principal.user_id or principal.name), str(doc.get("id"))))
        return original_create(self, principal, rtype, doc, key)

    mp.setattr(Access, "in_grids", in_grids)
    mp.setattr(Service, "prepare_create", prepare_create)
    return app


def behalf_unchecked_no_stranger(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """submittedBy may act for a resident of another community, and the staff of that
    community may not record residents (403): the kit finds nobody to make her record."""
    behalf_only_in_history(app, mp)

    def refuse(scope: dict[str, Any]) -> dict[str, Any]:
        if scope["method"] == "POST" and scope["path"] == "/residents" and (
                _header(scope["headers"], b"authorization") or b"").startswith(
                    b"Bearer staff-hepingli"):
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
        return scope  # without its token: 401

    return Rewrite(app, request=refuse)


def not_found_with_record(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A read the reader may not make answers 404, as it should, but the problem's detail
    carries the stored record whole, "to help debugging"."""
    from reference_server.errors import NotFound

    def visible(self: Service, principal: Principal, stored: Any) -> Any:
        if stored is None:
            raise NotFound()
        if not self.access.can_see(principal, stored):
            raise NotFound("not visible to you; record: "
                           + json.dumps(stored.doc, ensure_ascii=False))
        return stored

    original_read = Service.read

    def read(self: Service, principal: Principal, rtype: str, rid: str,
             audits: Any = None) -> Any:
        try:
            return original_read(self, principal, rtype, rid, audits)
        except NotFound:
            with self.store.read() as tx:
                visible(self, principal, tx.get(rtype, rid))
            raise

    mp.setattr(Service, "visible", visible)
    mp.setattr(Service, "read", read)
    return app


def dispatch_pre_claims(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A new assignment takes whatever status the dispatch states: staff may create it
    already accepted, claiming it for the department."""
    mp.setattr(_effects, "_pending", lambda item, event, pointer: None)
    return app


def item_actors_unbound(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The items an action writes keep the writer they state: a dispatch's assignedBy and a
    follow-up's by may name anyone."""
    mp.setattr(Service, "_bind_items",
               lambda self, tx, principal, policy, inputs: dict(inputs))
    return app


def grid_membership_never_ends(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A grid worker reads every resident who ever lived in their grid: a membership that
    ended still counts."""
    def in_grids(self: Access, principal: Principal, doc: Any, now: Any = None) -> bool:
        return any(isinstance(m, dict) and m.get("grid") in principal.grids
                   for m in doc.get("memberships") or ())

    mp.setattr(Access, "in_grids", in_grids)
    return app


def behalf_only_in_history(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Only the creating event's onBehalfOf is checked: an issue's submittedBy may name a
    resident of a community the creator does not serve, and she then owns the issue."""
    original = Service._check_behalf

    def check(self: Service, tx: Any, principal: Any, policy: Any, doc: Any) -> None:
        original(self, tx, principal, policy,
                 {k: v for k, v in doc.items() if k not in policy.creator_members})

    mp.setattr(Service, "_check_behalf", check)
    return app


def submitter_rewritable(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A PUT may rewrite an issue's submittedBy: staff hand the issue, and the reporter's
    contact, to another resident, and the one who filed it no longer reads it."""
    mp.setattr(Service, "_creators_kept", lambda self, policy, old, new: None)
    return app


def disclosure_lowerable(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A PUT may lower reporterDisclosure: an anonymous reporter is made public and shown to
    the departments."""
    mp.setattr(_policies.IssuePolicy, "_disclosure_lowered", lambda self, old, new: [])
    return app


def cancelled_vote_revived(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Only open and closed votes are kept as recorded: a cancelled one may be taken back to
    planned, reworded, then opened and counted."""
    original = _policies.ConsultationPolicy._fixed_kept

    def kept(fixed: Any, doc: Any, req: str) -> list[Any]:
        return original({k: v for k, v in fixed.items() if v.get("status") != "cancelled"},
                        doc, req)

    mp.setattr(_policies.ConsultationPolicy, "_fixed_kept", staticmethod(kept))
    return app


def written_withheld_digest_kept(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = Service.validate

    def validate(self: Service, doc: Any, **options: Any) -> None:
        # Checked as if the writer had sent no withheldDigest; stored as it was sent.
        seen = copy.deepcopy(doc)
        for event in seen.get("history") or () if isinstance(seen, dict) else ():
            if isinstance(event, dict):
                event.pop("withheldDigest", None)
        original(self, seen, **options)

    mp.setattr(Service, "validate", validate)
    return app


def feed_event_byte_changed(app: Any, mp: pytest.MonkeyPatch) -> Any:
    def change(page: Any) -> Any:
        items = page["items"]
        if len(items) >= 2:  # one byte of one event a page
            version = items[1].get("resourceversion", "1")
            items[1]["resourceversion"] = str(int(version) + 1)
        return page

    return Rewrite(app, _json_edit(_get("/changes"), change))


def feed_unsalted(app: Any, mp: pytest.MonkeyPatch, salt: str | None = None) -> Any:
    original = Service.event

    def event(self: Service, row: Any) -> dict[str, Any]:
        # The digests are computed from this event too (the store's sealer), so the chain
        # still checks: only the salt is missing, or the same for every event.
        out = {k: v for k, v in original(self, row).items() if k != "eventsalt"}
        return out if salt is None else {**out, "eventsalt": salt}

    mp.setattr(Service, "event", event)
    return app


def feed_salt_constant(app: Any, mp: pytest.MonkeyPatch) -> Any:
    return feed_unsalted(app, mp, "5a1f" * 8)


def history_unsalted(app: Any, mp: pytest.MonkeyPatch, salt: str | None = None) -> Any:
    original = _core.seal_history

    def seal(document: Any, **_: Any) -> dict[str, Any]:
        # Sealed as ever, links and all, but every event gets no salt (or the same one).
        return original(document, salt=lambda _: salt)

    mp.setattr(_core, "seal_history", seal)
    return app


def history_salt_constant(app: Any, mp: pytest.MonkeyPatch) -> Any:
    return history_unsalted(app, mp, "c0ffee00" * 4)


def withheld_keeps_salt(app: Any, mp: pytest.MonkeyPatch) -> Any:
    from smartcommunity.integrity import event_digest

    def withhold(event: dict[str, Any], resource_type: str, version: str = "1.0") -> None:
        event["withheldDigest"] = event_digest(event, resource_type, version)  # the salt stays

    mp.setattr(results_module, "withhold", withhold)
    return app


def withheld_without_digests(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = Service.withheld

    def withheld(self: Service, row: Any) -> dict[str, Any]:
        return {k: v for k, v in original(self, row).items()
                if k not in ("eventdigest", "chaindigest")}

    mp.setattr(Service, "withheld", withheld)
    return app

def consultation_created_anywhere(app: Any, mp: pytest.MonkeyPatch) -> Any:
    def check_create(self: Any, principal: Principal, doc: dict[str, Any]) -> None:
        return None  # any status, any history, a decision already made

    mp.setattr(_policies.ConsultationPolicy, "check_create", check_create)
    return app


def consultation_record_writable(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(_policies.ConsultationPolicy, "check_update",
               lambda self, tx, principal, current, doc: self.lifecycle_unchanged(current.doc,
                                                                                 doc))
    return app


def closed_vote_recounted(app: Any, mp: pytest.MonkeyPatch) -> Any:
    # Votes are counted, closed and opened whatever state they are in.
    mp.setattr(_effects, "_vote_in", lambda vote, event, wanted: None)
    return app


def record_contradicts_history(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = _effects._EFFECTS[("Consultation", "decide")]

    def decide(document: dict[str, Any], event: dict[str, Any], inputs: Any) -> None:
        original(document, event, inputs)
        document["decision"]["type"] = "deferred"  # not what the decide event says

    mp.setitem(_effects._EFFECTS, ("Consultation", "decide"), decide)
    mp.setattr(Service, "validate", lambda self, doc, **kw: None)  # let it be stored
    return app


def actor_from_body(app: Any, mp: pytest.MonkeyPatch) -> Any:
    def actor(self: Service, principal: Principal, given: Any, where: str) -> dict[str, Any]:
        return dict(given) if isinstance(given, dict) else principal.actor(
            self.access.person_type)

    mp.setattr(Service, "_actor", actor)
    mp.setattr(Service, "_bind_creator", lambda self, principal, policy, doc: doc)
    return app


def actor_name_and_organisation_from_body(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Role, user id and resident are bound to the credential, but the name and organisation
    a body gives its actor are recorded as given."""
    original = Service._actor

    def actor(self: Service, principal: Principal, given: Any, where: str) -> dict[str, Any]:
        if not isinstance(given, dict):
            return original(self, principal, given, where)
        claimed = {k: given[k] for k in ("name", "organisation") if k in given}
        rest = {k: v for k, v in given.items() if k not in claimed}
        return {**original(self, principal, rest, where), **claimed}

    mp.setattr(Service, "_actor", actor)
    return app


def body_before_role(app: Any, mp: pytest.MonkeyPatch) -> Any:
    act, create = Service.prepare_act, Service.prepare_create

    def prepare_act(self: Service, principal: Principal, rtype: str, rid: str, action: str,
                    body: Any, versions: Any) -> Any:
        errors = [e.message for e in self.action_request.iter_errors(body)]
        if errors:  # the body is judged before the role
            raise unprocessable([("", m, m, None) for m in errors])
        return act(self, principal, rtype, rid, action, body, versions)

    def prepare_create(self: Service, principal: Principal, rtype: str, doc: Any,
                       key: Any) -> Any:
        self.validate(doc)
        return create(self, principal, rtype, doc, key)

    mp.setattr(Service, "prepare_act", prepare_act)
    mp.setattr(Service, "prepare_create", prepare_create)
    return app


MUTANTS: list[Mutant] = [
    Mutant("missing-etag", "/req/core/etag", "no ETag header", missing_etag),
    Mutant("stale-write-accepted", "/req/core/if-match",
           "If-Match is not compared: a stale write is accepted", stale_write_accepted),
    Mutant("actions-ignore-if-match", "/req/core/if-match",
           "lifecycle actions go through without If-Match or with a stale one",
           actions_ignore_if_match),
    Mutant("idempotency-ignored", "/req/core/idempotency-key",
           "Idempotency-Key is ignored", idempotency_ignored),
    Mutant("idempotency-fingerprint-by-id", "/req/core/idempotency-key",
           "the same key and id with another body replays instead of 422",
           idempotency_fingerprint_by_id),
    Mutant("idempotency-looked-up-once", "/req/core/idempotency-key",
           "requests with one key at once: all but one refused 409", idempotency_looked_up_once),
    Mutant("invalid-document-accepted", "/req/core/invalid-rejected",
           "documents are stored without validation", invalid_document_accepted),
    Mutant("sensitive-to-public", "/req/privacy/public-no-personal",
           "the public is given staff's view with personal fields", sensitive_to_public),
    Mutant("cross-community-read", "/req/privacy/community-isolation",
           "staff read another community's data", cross_community_read),
    Mutant("forbidden-transition", "/req/core/action-roles",
           "any role may perform any issue action", forbidden_transition),
    Mutant("history-rewritten", "/req/core/history-append-only",
           "each action rewrites the first history event", history_rewritten),
    Mutant("feed-gap", "/req/change-feed/order", "the feed drops an event per page", feed_gap),
    Mutant("feed-duplicate", "/req/change-feed/order",
           "the feed repeats an event on each page", feed_duplicate),
    Mutant("paging-skips", "/req/core/paging", "later list pages skip their first item",
           paging_skips),
    Mutant("wrong-error-media-type", "/req/core/problem-details",
           "errors are application/json, not problem+json", wrong_error_media_type),
    Mutant("server-error-on-bad-input", "/req/core/no-server-error",
           "a body that is not JSON gets 500", server_error_on_bad_input),
    Mutant("unauthenticated-read", "/req/core/authentication",
           "requests without a token are served", unauthenticated_read),
    Mutant("no-landing-page", "/req/core/landing-page", "GET / answers 404", no_landing_page),
    Mutant("documentation-from-cdn", "/req/core/landing-page",
           "the documentation page loads its script from a CDN", documentation_from_cdn),
    Mutant("undeclared-class", "/req/core/conformance-endpoint",
           "/conformance claims a class the standard does not define", undeclared_class),
    Mutant("department-sees-all", "/req/privacy/department-assigned-only",
           "departments read every issue of their communities", department_sees_all),
    Mutant("residents-read-others", "/req/residents/read-access",
           "residents and proxies read any resident record", residents_read_others),
    Mutant("reporter-disclosed", "/req/privacy/reporter-disclosure",
           "anonymous and confidential reporters are shown", reporter_disclosed),
    Mutant("merge-target-untouched", "/req/issues/merge-updates-target",
           "a merge leaves the target's mergedDuplicates alone", merge_target_untouched),
    Mutant("anyone-withdraws", "/req/issues/withdraw-by-submitter",
           "any resident, proxy or grid worker withdraws any issue", anyone_withdraws),
    Mutant("foreign-assignment", "/req/issues/department-own-assignment",
           "departments report progress on issues they no longer hold", foreign_assignment),
    Mutant("consents-deletable", "/req/residents/consent-append-only",
           "consents may be deleted and rewritten", consents_deletable),
    Mutant("names-optional", "/req/residents/name-on-write",
           "resident records are stored without a name", names_optional),
    Mutant("non-submitted-created", "/req/issues/create-submitted",
           "issues may be created in any status", non_submitted_created),
    Mutant("lifecycle-members-writable", "/req/issues/lifecycle-fields-read-only",
           "a PUT may change assignments, replies and follow-ups", lifecycle_members_writable),
    Mutant("division-movable", "/req/consultations/division-fixed",
           "a PUT may move a consultation to another community", division_movable),
    Mutant("proposers-rewritable", "/req/consultations/proposers-fixed",
           "a PUT may replace a consultation's proposers", proposers_rewritable),
    Mutant("proposers-unbound", "/req/consultations/proposers-fixed",
           "a resident's create may name others as the proposers, or none",
           proposers_unbound),
    Mutant("proxy-proposes-himself", "/req/consultations/proposers-fixed",
           "a proxy lists himself as a proposer beside those he acts for",
           proxy_proposes_himself),
    Mutant("proposers-out-of-reach", "/req/consultations/proposers-in-reach",
           "staff name residents of another community, or nobody held, as proposers",
           proposers_out_of_reach),
    Mutant("proposer-existence-told", "/req/consultations/proposers-in-reach",
           "staff naming a resident nobody holds are answered unlike one out of reach",
           proposer_existence_told),
    Mutant("own-items-hidden", "/req/privacy/own-items-self",
           "a resident reads her own proposer entry redacted", own_items_hidden),
    Mutant("own-items-all-shown", "/req/privacy/own-items-self",
           "a co-proposer reads every proposer entry whole", own_items_all_shown),
    Mutant("stated-result-trusted", "/req/consultations/close-vote-result",
           "close-vote takes the stated result over the tally", stated_result_trusted),
    Mutant("ballots-complete-unwritten", "/req/consultations/ballots-complete-at-close",
           "close-vote leaves ballotsComplete unwritten", ballots_complete_unwritten),
    Mutant("erased-reads-not-found", "/req/residents/erasure",
           "an erased record reads as 404", erased_reads_not_found),
    Mutant("results-disclosed", "/req/consultations/results-hidden",
           "vote results are shown before results.visibleFrom", results_disclosed),
    Mutant("results-shown-while-open", "/req/consultations/results-hidden",
           "an open vote's running tally is shown once results.visibleFrom has come",
           results_shown_while_open),
    Mutant("running-abstentions-shown", "/req/consultations/results-hidden",
           "an open vote's recorded abstentions and invalid votes are shown, only the counts "
           "per option withheld", running_abstentions_shown),
    Mutant("follow-up-item-trimmed", "/req/issues/action-effects",
           "a follow-up drops the rating of the record in the request's items",
           follow_up_item_trimmed),
    Mutant("blind-writes-accepted", "/req/core/if-match-version",
           "If-Match: * matches any version", blind_writes_accepted),
    Mutant("unicode-digit-cursors", "/req/core/cursor-opaque",
           "cursors are decoded with str.isdigit: ² gives a 500", unicode_digit_cursors),
    Mutant("control-ids-crash", "/req/core/path-id",
           "a control character in a path id gives a 500", control_ids_crash),
    Mutant("invisible-characters-accepted", "/req/core/invisible-characters",
           "bidi controls and zero-width characters pass validation",
           invisible_characters_accepted),
    Mutant("expired-jwts-accepted", "/req/core/bearer-jwt",
           "a JWT's expiry is not checked", expired_jwts_accepted),
    Mutant("demo-tokens-accepted", "/req/core/no-demo-credentials",
           "the published demo tokens work beside the configured ones", demo_tokens_accepted),
]


# -- access decided now (feed, erasure, idempotency) -----------------------------------

def feed_decided_from_copy(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The feed and replays decide from the copy stored with the event, as they once did."""
    original = Service.present

    def present(self: Service, principal: Principal, stored: Stored, check: bool = True,
                state: str | None = None) -> Any:
        if state is None:
            return original(self, principal, stored, check)
        then = derive(json.loads(state), stored.communities)
        row = Stored(stored.seq, stored.rtype, stored.id, stored.version, state,
                     joined(then.communities), joined(then.departments))
        return original(self, principal, row, check)

    mp.setattr(Service, "present", present)
    return app


def feed_assignment_from_event(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A department's feed is decided by the assignments of the issue as each event stored
    it: reads, lists and history end with the assignment, the feed does not."""
    original = Service.present

    def present(self: Service, principal: Principal, stored: Stored, check: bool = True,
                state: str | None = None) -> Any:
        access = self.access
        if (state is not None and check and principal.role in access.assigned_roles
                and stored.rtype in access.assigned_types):
            then = json.loads(state)
            if not (principal.serves_any(stored.communities)
                    and access.holds_assignment(principal.organisation_id, then)):
                return None
            check = False
        return original(self, principal, stored, check, state)

    mp.setattr(Service, "present", present)
    return app


def earlier_state_as_stored(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A reader whose audience keeps everything gets an earlier state as it was stored, the
    members decided now left at their old values."""
    original = Access.present

    def present(self: Access, principal: Principal, stored: Stored, *, check: bool = True,
                now: Any = None, state: str | None = None) -> Any:
        shown = original(self, principal, stored, check=check, now=now, state=state)
        if (state is not None and shown is not None and shown.audience in self.untouched
                and stored.rtype not in self.reporter_types):
            return access_module.Presented(shown.audience, None, state)
        return shown

    mp.setattr(Access, "present", present)
    return app


def reporter_withheld_from_herself(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A confidential reporter is withheld from the reporter too wherever the full path runs
    (her issue's earlier states in the feed), as once it was."""
    def strips(self: Access, principal: Principal, audience: str, doc: Any) -> bool:
        disclosure = doc.get("reporterDisclosure")
        return audience in self.reporter_hidden.get(str(disclosure), ()) or (
            disclosure in self.intake_only and principal.role not in self.intake_roles)

    mp.setattr(Access, "_strips_reporter", strips)
    return app


def withheld_names_subject(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = Service.withheld

    def withheld(self: Service, row: Any) -> dict[str, Any]:
        return {**original(self, row), "subject": f"{self.spec.collection(row.rtype)}/{row.rid}"}

    mp.setattr(Service, "withheld", withheld)
    return app


def erased_history_kept(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Erasure rewrites only the record: its earlier events stay whole."""
    mp.setattr(Service, "_erase_copies", lambda self, tx, rtype, rid, erased: None)
    mp.setattr(Access, "as_decided_now", lambda self, state, current: state)
    return app


def replay_from_cache(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Replays answer from a cached copy of the first response, which erasure never reaches."""
    original = Service.prepare_create
    cache: dict[tuple[str, str], bytes] = {}

    def prepare_create(self: Service, principal: Principal, rtype: str, doc: Any,
                       key: str | None) -> Any:
        if key is not None and (principal.key, key) in cache:
            return Result(200, cache[(principal.key, key)], {"Idempotent-Replayed": "true"})
        prepared = original(self, principal, rtype, doc, key)
        if key is None or isinstance(prepared, Result):
            return prepared

        def job(tx: Any) -> Result:
            result: Result = prepared(tx)
            cache[(principal.key, key)] = result.body
            return result

        return job

    mp.setattr(Service, "prepare_create", prepare_create)
    return app


#: set while a list page is being served
_LISTING: contextvars.ContextVar[bool] = contextvars.ContextVar("listing", default=False)


def erased_listed_from_index(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Resident lists are served from an index of each record as last presented, which
    erasure never purges: reads, the feed and replays are erased, the list still gives the
    erased resident's name, ID number and phone."""
    original_present = Service.present
    index: dict[str, Stored] = {}

    def present(self: Service, principal: Principal, stored: Stored, check: bool = True,
                state: str | None = None) -> Any:
        if stored.rtype == self.access.person_type and state is None:
            if (stored.doc.get("restriction") or {}).get("state") != self.access.erased_state:
                index[stored.id] = stored
            elif _LISTING.get() and stored.id in index:
                stored = index[stored.id]
        return original_present(self, principal, stored, check, state)

    mp.setattr(Service, "list_page", flagging(Service.list_page, _LISTING))
    mp.setattr(Service, "present", present)
    return app


def keys_by_display_name(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(Principal, "key", property(lambda self: f"{self.role}:{self.name}"))
    return app


def replay_unaudited(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = Service._audit_reads

    def audit_reads(self: Service, principal: Principal, operation: str, shown: Any,
                    pending: list[dict[str, Any]] | None = None) -> None:
        if operation != "replay":
            original(self, principal, operation, shown, pending)

    mp.setattr(Service, "_audit_reads", audit_reads)
    return app


def replay_ignores_access(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A replay answers whoever holds the key, as their audience sees the record (and
    audited), whether or not they may read it now."""
    original_replay, original_present = Service._replay, Service.present
    replaying = threading.local()

    def present(self: Service, principal: Principal, stored: Stored, check: bool = True,
                state: str | None = None) -> Any:
        return original_present(self, principal, stored,
                                check and not getattr(replaying, "on", False), state)

    def replay(self: Service, *args: Any, **kw: Any) -> Result:
        replaying.on = True
        try:
            return original_replay(self, *args, **kw)
        finally:
            replaying.on = False

    mp.setattr(Service, "present", present)
    mp.setattr(Service, "_replay", replay)
    return app


MUTANTS += [
    Mutant("feed-decided-from-copy", "/req/change-feed/access-now",
           "the feed decides from the copy stored with each event", feed_decided_from_copy),
    Mutant("feed-keeps-former-department", "/req/privacy/department-assignment-ended",
           "a department reassigned away from an issue still gets its earlier events in the "
           "feed", feed_assignment_from_event),
    Mutant("reporter-withheld-from-herself", "/req/privacy/reporter-disclosure",
           "a confidential reporter's own earlier states reach her without her",
           reporter_withheld_from_herself),
    Mutant("earlier-state-as-stored", "/req/change-feed/access-now",
           "readers who keep everything get earlier states with the old decided-now values",
           earlier_state_as_stored),
    Mutant("withheld-names-subject", "/req/change-feed/withheld",
           "a withheld event still names its resource", withheld_names_subject),
    Mutant("erased-history-kept", "/req/change-feed/erased-history",
           "an erased record's earlier events stay whole", erased_history_kept),
    Mutant("replay-from-cache", "/req/privacy/erasure-every-copy",
           "replays come from a cached copy erasure never reaches", replay_from_cache),
    Mutant("erased-listed-from-index", "/req/privacy/erasure-every-copy",
           "resident lists come from an index erasure never reaches", erased_listed_from_index),
    Mutant("keys-by-display-name", "/req/core/idempotency-scope",
           "Idempotency-Keys are scoped by role and display name", keys_by_display_name),
    Mutant("replay-unaudited", "/req/core/idempotency-replay-access",
           "a replay disclosing sensitive data is not audited", replay_unaudited),
    Mutant("replay-ignores-access", "/req/core/idempotency-replay-access",
           "a replay answers a principal who may no longer read the resource",
           replay_ignores_access),
    Mutant("extensions-unredacted", "/req/privacy/extensions-sensitive",
           "extensions go to every audience as they are stored", extensions_unredacted),
    Mutant("free-text-untagged", "/req/privacy/free-text-tagged",
           "history notes and action details go out unredacted", free_text_untagged),
    Mutant("own-issue-as-public", "/req/privacy/own-issues-self",
           "a resident reads her own issue as any resident of the community",
           own_issue_as_public),
    Mutant("department-keeps-issue", "/req/privacy/department-assignment-ended",
           "a department keeps reading an issue reassigned away from it",
           department_keeps_issue),
    Mutant("erasure-at-will", "/req/residents/erasure-on-request",
           "staff erase or restrict a record nobody asked about", erasure_at_will),
    Mutant("unpublished-issues-shown", "/req/privacy/issue-publication",
           "the public and residents read issues nobody decided to publish",
           unpublished_issues_shown),
    Mutant("anonymous-read-as-staff", "/req/privacy/anonymous-public-read",
           "issues read without a token are served as community staff see them",
           anonymous_read_as_staff),
    Mutant("grid-worker-sees-community", "/req/privacy/grid-scope",
           "a grid worker reads the residents of every grid of the community",
           grid_worker_sees_community),
    Mutant("stored-history-byte-changed", "/req/core/history-chain",
           "one byte of a stored history event changes after the next event named it",
           stored_history_byte_changed),
    Mutant("grid-scope-cached", "/req/privacy/grid-scope",
           "a grid worker keeps reading a resident staff moved to another grid",
           grid_scope_cached),
    Mutant("grid-scope-cached-replayed", "/req/core/idempotency-replay-access",
           "a grid worker replays the create of a resident staff moved to another grid",
           grid_scope_cached),
    Mutant("behalf-unchecked-no-stranger", "/req/core/actor-is-principal",
           "submittedBy may act for another community's resident, whose staff may not "
           "record residents", behalf_unchecked_no_stranger),
    Mutant("not-found-with-record", "/req/privacy/redaction-matrix",
           "a refused read's 404 problem carries the whole record", not_found_with_record),
    Mutant("dispatch-pre-claims", "/req/issues/action-effects",
           "a dispatch creates its assignment already accepted", dispatch_pre_claims),
    Mutant("item-actors-unbound", "/req/core/actor-is-principal",
           "a dispatch's assignedBy and a follow-up's by name someone else", item_actors_unbound),
    Mutant("grid-membership-never-ends", "/req/privacy/grid-scope",
           "a grid worker reads residents who left their grid", grid_membership_never_ends),
    Mutant("behalf-only-in-history", "/req/core/actor-is-principal",
           "submittedBy may act for a resident of another community", behalf_only_in_history),
    Mutant("submitter-rewritable", "/req/core/actor-is-principal",
           "a PUT changes an issue's submittedBy, handing it and the reporter's contact to "
           "another resident", submitter_rewritable),
    Mutant("disclosure-lowerable", "/req/privacy/reporter-disclosure",
           "a PUT makes an anonymous or confidential reporter public", disclosure_lowerable),
    Mutant("cancelled-vote-revived", "/req/consultations/lifecycle-fields-read-only",
           "a PUT takes a cancelled vote back to planned and rewords it",
           cancelled_vote_revived),
    Mutant("reply-due-uppercase-only", "/req/core/no-server-error",
           "a valid reply deadline with a lowercase z gets 500", reply_due_uppercase_only),
    Mutant("written-withheld-digest-kept", "/req/core/history-chain",
           "a created event may carry a withheldDigest of the writer's choosing",
           written_withheld_digest_kept),
    Mutant("feed-event-byte-changed", "/req/change-feed/chain-digest",
           "one byte of one feed event a page changes", feed_event_byte_changed),
    Mutant("feed-unsalted", "/req/change-feed/withheld",
           "events carry no eventsalt: a withheld event's digest confirms a guess of whose "
           "record it concerns and what happened", feed_unsalted),
    Mutant("feed-salt-constant", "/req/change-feed/chain-digest",
           "every event carries the same eventsalt, which any full event tells",
           feed_salt_constant),
    Mutant("history-unsalted", "/req/consultations/results-hidden",
           "history events carry no salt: the digests of an event whose vote result and counts "
           "are withheld confirm a guess of them", history_unsalted),
    Mutant("history-salt-constant", "/req/core/history-chain",
           "every history event carries the same salt, which any whole event tells",
           history_salt_constant),
    Mutant("withheld-keeps-salt", "/req/consultations/results-hidden",
           "an event whose vote result is withheld keeps its salt, so its digests confirm a "
           "guess of the result", withheld_keeps_salt),
    Mutant("withheld-without-digests", "/req/change-feed/withheld",
           "withheld events carry no digests: the reader cannot check the chain",
           withheld_without_digests),
    Mutant("consultation-created-anywhere", "/req/consultations/create-proposed",
           "a consultation may be created closed, decided, with a fabricated history",
           consultation_created_anywhere),
    Mutant("consultation-record-writable", "/req/consultations/lifecycle-fields-read-only",
           "a PUT may rewrite votes, decisions, publications and feedback",
           consultation_record_writable),
    Mutant("closed-vote-recounted", "/req/consultations/record-from-actions",
           "a closed vote is counted, closed or opened again", closed_vote_recounted),
    Mutant("record-contradicts-history", "/req/consultations/record-matches-history",
           "decide stores a decision other than the one its event records",
           record_contradicts_history),
    Mutant("actor-from-body", "/req/core/actor-is-principal",
           "the actor a request body names is recorded as it is", actor_from_body),
    Mutant("actor-name-and-organisation-from-body", "/req/core/actor-is-principal",
           "the actor's name and organisation are taken from the body",
           actor_name_and_organisation_from_body),
    Mutant("body-before-role", "/req/core/role-before-body",
           "the body is validated before the role: a forbidden role gets 422",
           body_before_role),
    Mutant("merge-target-event-unnamed", "/req/change-feed/event-per-write",
           "the merge target's event names update instead of merge", merge_target_unnamed),
    Mutant("refused-update-published", "/req/change-feed/event-per-write",
           "a PUT refused with 412 still puts its state on the feed", refused_update_published),
    Mutant("update-event-stale-state", "/req/change-feed/full-state",
           "an update event of a resident carries the state before the write",
           update_event_stale_state),
]


def grid_list_unmasked(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """One field, one role, one path: the resident list gives grid workers the identity
    numbers their single reads mask."""
    original_list = Service.list_page
    listing = threading.local()

    def list_page(self: Service, principal: Principal, *args: Any, **kw: Any) -> Result:
        listing.on = principal.role == "grid-worker"
        try:
            return original_list(self, principal, *args, **kw)
        finally:
            listing.on = False

    def leak(out: dict[str, Any], stored: dict[str, Any]) -> None:
        if getattr(listing, "on", False):
            for shown, kept in zip(out.get("identityDocuments") or (),
                                   stored.get("identityDocuments") or (), strict=False):
                if isinstance(shown, dict) and "number" in kept:
                    shown["number"] = kept["number"]

    mp.setattr(Service, "list_page", list_page)
    leaky_redact(mp, leak)
    # Its lists are redacted apart from its reads: nothing a read made is served to a list.
    mp.setattr(app.state.sc.service.access.presentations, "budget", 0)
    return app


MUTANTS += [
    Mutant("grid-list-unmasked", "/req/privacy/redaction-matrix",
           "the resident list gives grid workers the identity numbers their reads mask",
           grid_list_unmasked),
]


def filters_on_stored_values(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Lists select on the stored document whatever the reader receives: the public find
    issues by the grid and point they are never given, the regulator residents by the
    pseudonyms and grids their reads leave out."""
    from reference_server.storage import _pages, _transactions

    mp.setattr(_core, "selects", lambda rtype, query, doc: True)
    mp.setattr(Access, "never_receives", lambda self, principal, rtype, paths: False)
    mp.setattr(_pages, "PUBLISHED_GRID", "no-such-kind")  # every reader: stored grids
    # Its list statements are built and kept apart from those built before and after it.
    mp.setattr(_transactions, "page_statement",
               functools.lru_cache(_pages.page_statement.__wrapped__))
    return app


def _presentations_keyed(keep: Callable[[tuple[str, str, str, str], str], tuple[Any, str]]
                         ) -> Callable[[Any, pytest.MonkeyPatch], Any]:
    """A server that remembers redacted records by ``keep(key, source)`` instead of by the
    record, audience and role and the exact stored JSON they were made from."""

    def install(app: Any, mp: pytest.MonkeyPatch) -> Any:
        get, put = Presentations.get, Presentations.put
        mp.setattr(Presentations, "get", lambda self, key, source, moment: get(
            self, *keep(key, source), moment))
        mp.setattr(Presentations, "put", lambda self, key, source, *rest: put(
            self, *keep(key, source), *rest))
        return app

    return install


def next_past_unseen(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A full page gives ``next`` when any row in the reader's scope follows, whether the
    filters select it as the reader receives it or not: a resident learns that an issue
    holding the grid she asked for exists, though she is never given its grid."""
    original = Service.list_page

    def list_page(self: Service, principal: Principal, rtype: str, query: Any,
                  cursor: str | None, limit: int, **kw: Any) -> Result:
        result = original(self, principal, rtype, query, cursor, limit, **kw)
        page = orjson.loads(result.body)
        items = page.get("items") or []
        if page.get("next") is None and items and len(items) == limit:
            with self.store.read() as tx:
                last = tx.get(rtype, str(items[-1].get("id")))
                scope = self.access.scope(principal, rtype)
                if last is not None and tx.page(rtype, query, scope, last.seq, 1):
                    page["next"] = encode_cursor("r", last.seq)
                    return Result(200, orjson.dumps(page))
        return result

    mp.setattr(Service, "list_page", list_page)
    return app


def results_never_given(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(results_module, "results_shown", lambda vote, now=None, *, rule=None: False)
    return app


def counts_never_given(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = access_module.hide_results

    def hide(doc: dict[str, Any], *, early: bool, **kw: Any) -> bool:
        hidden = original(doc, early=early, **kw)
        for event in doc.get("history") or () if early else ():
            if event.get("action") == "record-votes":
                (event.get("details") or {}).pop("options", None)
        return hidden

    mp.setattr(access_module, "hide_results", hide)
    return app


def clock_read_on_writes(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The server reads its clock only as it writes: its Date and the moment it takes vote
    results to come due stand at its last write, so results due after it never come."""
    last = [datetime.now(UTC)]
    shown = results_module.results_shown
    mp.setattr(results_module, "results_shown",
               lambda vote, now=None, *, rule=None: shown(vote, last[0], rule=rule))

    def written(scope: dict[str, Any]) -> dict[str, Any]:
        if scope.get("method") not in ("GET", "HEAD"):
            last[0] = datetime.now(UTC)
        return scope

    def dated(scope: dict[str, Any], status: int, headers: list[tuple[bytes, bytes]],
              body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        headers = [(k, v) for k, v in headers if k.lower() != b"date"]
        headers.append((b"date", formatdate(last[0].timestamp(), usegmt=True).encode()))
        return status, headers, body

    return Rewrite(app, dated, written)


def presentations_outlive_due(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Remembers a redacted consultation without the instant its vote results come due."""
    mp.setattr(access_module, "results_steady", lambda doc, now, **_: (-math.inf, math.inf))
    return app


@functools.cache
def _paged() -> re.Pattern[str]:
    """The paths of the OpenAPI's GET operations that take ``limit``."""
    paths = []
    for template, item in load_spec("1.0").openapi["paths"].items():
        params = [*item.get("parameters", ()), *(item.get("get") or {}).get("parameters", ())]
        if any(p.get("name") == "limit" or str(p.get("$ref", "")).endswith("/limit")
               for p in params):
            paths.append(re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template)))
    return re.compile("|".join(paths))


#: what the OpenAPI's ``limit`` takes
_LIMIT: dict[str, int] = load_spec("1.0").openapi["components"]["parameters"]["limit"]["schema"]


def short_pages(app: Any, most: int = 2) -> Any:
    """Pages of at most ``most`` items, whatever a valid ``limit`` asks or when none is
    asked (/req/core/paging and /req/change-feed/resume allow fewer): not a defect by
    itself. An invalid ``limit`` goes through, for the server to refuse."""

    def request(scope: dict[str, Any]) -> dict[str, Any]:
        if scope["method"] != "GET" or not _paged().fullmatch(scope["path"]):
            return scope
        query = urllib.parse.parse_qsl(_query(scope), keep_blank_values=True)
        limits = [v for k, v in query if k == "limit"]
        if not limits:
            query.append(("limit", str(most)))
        elif len(limits) == 1 and limits[0].isdigit() and (
                _LIMIT["minimum"] <= int(limits[0]) <= _LIMIT["maximum"]):
            query = [(k, str(min(int(v), most)) if k == "limit" else v) for k, v in query]
        scope["query_string"] = urllib.parse.urlencode(query).encode()
        return scope

    return Rewrite(app, request=request)


_IN_FEED: contextvars.ContextVar[bool] = contextvars.ContextVar("in_feed", default=False)


def feed_results_on_later_pages(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Change events carry vote results before they are due, reads do not; the feed's pages
    are short, so the leaking events come on pages after the first."""
    original_hide = access_module.hide_results
    mp.setattr(Service, "changes", flagging(Service.changes, _IN_FEED))
    mp.setattr(access_module, "hide_results",
               lambda doc, **kw: False if _IN_FEED.get() else original_hide(doc, **kw))
    return short_pages(app)


_LATER_PAGE: contextvars.ContextVar[bool] = contextvars.ContextVar("later_page", default=False)


def public_staff_view_on_later_pages(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The public is given staff's view, personal members and all, on list pages after the
    first; its reads and first pages are right, and pages are short."""
    original_page, original_audience = Service.list_page, Access.audience

    def list_page(self: Service, principal: Principal, rtype: str, query: Any,
                  cursor: str | None, *args: Any, **kw: Any) -> Result:
        token = _LATER_PAGE.set(cursor is not None)
        try:
            return original_page(self, principal, rtype, query, cursor, *args, **kw)
        finally:
            _LATER_PAGE.reset(token)

    def audience(self: Access, principal: Principal, *args: Any, **kw: Any) -> str:
        if _LATER_PAGE.get() and principal.role == "public":
            return "community-staff"
        return original_audience(self, principal, *args, **kw)

    mp.setattr(Service, "list_page", list_page)
    mp.setattr(Access, "audience", audience)
    return short_pages(app)


MUTANTS += [
    Mutant("filters-on-stored-values", "/req/privacy/filter-what-is-seen",
           "list filters select on stored grids, points and pseudonyms for every reader",
           filters_on_stored_values),
    Mutant("presentations-by-record", "/req/privacy/redaction-by-audience",
           "a record redacted for one reader is served to the next reader of any role",
           _presentations_keyed(lambda key, source: ((key[0], key[1], "", ""), source))),
    Mutant("presentations-outlive-writes", "/req/privacy/reporter-disclosure",
           "a record redacted once is served so until it is forgotten, whatever is written",
           _presentations_keyed(lambda key, source: (key, "stored"))),
    Mutant("next-past-unseen", "/req/privacy/filter-what-is-seen",
           "a page gives next when only records the reader may not see follow",
           next_past_unseen),
    Mutant("results-never-given", "/req/consultations/results-given",
           "a closed vote's public results are withheld from residents, proxies, the public "
           "and departments for good", results_never_given),
    Mutant("presentations-outlive-due", "/req/consultations/results-given",
           "a consultation redacted while its vote's results were not yet due is served so "
           "after they are", presentations_outlive_due),
    Mutant("feed-results-on-later-pages", "/req/consultations/results-hidden",
           "change events carry vote results before they are due, on feed pages after the "
           "first (a page holds two events)", feed_results_on_later_pages),
    Mutant("public-staff-view-on-later-pages", "/req/privacy/public-no-personal",
           "the public is given staff's view with personal fields on list pages after the "
           "first (a page holds two items)", public_staff_view_on_later_pages),
    Mutant("clock-read-on-writes", "/req/consultations/results-given",
           "Date and the results' due time stand at the server's last write, so results "
           "due after it never come", clock_read_on_writes),
    Mutant("counts-never-given", "/req/consultations/results-given",
           "a closed vote's results are given, but the counts of its record-votes events "
           "stay withheld for good", counts_never_given),
]


def key_ids_refused(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A server still on the unnamed form: any pseudonym naming a key fails validation."""
    original = Service.validate

    def validate(self: Service, doc: Any, **kw: Any) -> None:
        text = json.dumps(doc)
        if isinstance(doc, dict) and "hmac-sha256:" in text:
            named = copy.deepcopy(doc)
            for card in named.get("identityDocuments") or ():
                value = card.get("pseudonym") if isinstance(card, dict) else None
                if isinstance(value, str) and value.count(":") == 2:
                    card["pseudonym"] = "named-key"
            doc = named
        original(self, doc, **kw)

    mp.setattr(Service, "validate", validate)
    return app


MUTANTS += [
    Mutant("key-ids-refused", "/req/privacy/pseudonym-key-id",
           "pseudonyms naming their key are refused as malformed", key_ids_refused),
]


def erasure_stops_at_resident(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Erasure rewrites the resident's record only: the issues naming her keep her contact."""
    mp.setattr(Service, "_reach_erasure", lambda self, tx, rid, action, at: 0)
    return app


def erasure_reaches_current_naming_only(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Erasure finds the records naming her by what their current version names: one that
    named her and dropped her since keeps her name in its earlier events and replays."""
    mp.setattr(Tx, "named_ever", Tx.naming)
    return app


def erasure_keeps_premises(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Erasure clears a party's person but keeps where she lives beside her record's id."""
    mp.setattr(app.state.sc.service.reach, "holder_members", {})
    return app


def retention_declared_longer(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The server keeps closed issues' personal data ten years, and says so."""
    service = app.state.sc.service
    declared = json.loads(service.conformance)
    declared["retention"]["closedRecordYears"]["Issue"] = 10
    mp.setattr(service, "conformance", json.dumps(declared).encode())
    return app


def retention_opinion_author_kept(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The server gives opinions and proposals no retention period, as when closedRecordYears
    named issues and consultations only: its sweep keeps an opinion's author and a proposal's
    supporters for ever, and its declaration names no period for them."""
    service = app.state.sc.service
    periods = {rtype: years for rtype, years in service.retention.closed_record_years.items()
               if rtype not in ("Opinion", "Proposal")}
    mp.setattr(service, "retention",
               dataclasses.replace(service.retention, closed_record_years=periods))
    declared = json.loads(service.conformance)
    declared["retention"] = service.retention.declaration()
    mp.setattr(service, "conformance", json.dumps(declared).encode())
    return app


def _patched_access(change: Callable[[Access, pytest.MonkeyPatch], None]) -> Install:
    """A mutant that changes what the running server's Access read from ``privacy.json``."""
    def install(app: Any, mp: pytest.MonkeyPatch) -> Any:
        change(app.state.sc.service.access, mp)
        return app
    return install


def _hotline_as_staff(access: Access, mp: pytest.MonkeyPatch) -> None:
    """The old mapping: hotline operators read as community staff and browse every record."""
    mp.setattr(access, "role_audience",
               {**access.role_audience, "hotline-operator": "community-staff"})
    mp.setattr(access, "lookup_roles", frozenset())


def _system_as_intake(access: Access, mp: pytest.MonkeyPatch) -> None:
    """A mirroring system counted as intake staff and as the community's own staff."""
    mp.setattr(access, "role_audience", {**access.role_audience, "system": "community-staff"})
    mp.setattr(access, "intake_roles", access.intake_roles | {"system"})


def consent_withdrawal_ignored(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Consent decided from when it was granted: a withdrawal or expiry changes nothing."""
    original = Access.consent_members

    def members(self: Access, doc: Any, principal: Principal, now: Any = None) -> Any:
        granted = copy.deepcopy(dict(doc))
        for consent in granted.get("consents") or ():
            if isinstance(consent, dict):
                consent.update(status="granted")
                consent.pop("withdrawnAt", None)
                consent.pop("expiresAt", None)
        return original(self, granted, principal, now)

    mp.setattr(Access, "consent_members", members)
    return app


def consent_shared_by_who_filed(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Every resident an issue names shares her record with the department handling it: the
    proxy who filed it for another resident too, through the proxy's own consent."""
    def shared(self: Access, principal: Principal, stored: Stored, now: Any = None) -> Any:
        if principal.role not in self.consent_roles or self.records_naming is None:
            return None
        members = self.consent_members(stored.doc, principal, now)
        if members is None:
            return None
        for issue in self.records_naming(stored.id):
            if (stored.id in self.named_residents(issue)
                    and issue.doc.get("reporterDisclosure") not in self.consent_withheld
                    and self.holds_assignment(principal.organisation_id, issue.doc)):
                return members
        return None

    mp.setattr(Access, "shared_members", shared)
    return app


def organisations_written_by_anyone(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Ignores x-roles on /organisations: every role creates and updates organisations."""
    policy = app.state.sc.service.policies["Organisation"]
    every = frozenset(app.state.sc.service.spec.roles)
    mp.setattr(policy, "create_roles", every)
    mp.setattr(policy, "update_roles", every)
    mp.setattr(policy, "check_create", lambda principal, doc: None)
    mp.setattr(policy, "check_update", lambda tx, principal, current, doc: None)
    return app


MUTANTS += [
    Mutant("erasure-stops-at-resident", "/req/privacy/erasure-reaches-records",
           "an erased resident's contact stays in the issues she reported",
           erasure_stops_at_resident),
    Mutant("erasure-reaches-current-naming-only", "/req/privacy/erasure-reaches-records",
           "a consultation that dropped the erased resident keeps her name in its earlier "
           "events and replays", erasure_reaches_current_naming_only),
    Mutant("erasure-keeps-premises", "/req/privacy/erasure-reaches-records",
           "an erased resident's party keeps her premises", erasure_keeps_premises),
    Mutant("retention-declared-longer", "/req/privacy/retention",
           "closed issues' personal data is kept ten years", retention_declared_longer),
    Mutant("retention-opinion-author-kept", "/req/privacy/retention",
           "an opinion's author and a proposal's supporters are kept for ever",
           retention_opinion_author_kept),
    Mutant("hotline-as-staff", "/req/privacy/intake-minimum",
           "hotline operators read as community staff: full numbers, markers, every record",
           _patched_access(_hotline_as_staff)),
    Mutant("hotline-matrix", "/req/privacy/redaction-matrix",
           "hotline operators read as community staff, seen by the privacy matrix",
           _patched_access(_hotline_as_staff)),
    Mutant("system-as-intake", "/req/privacy/system-principal",
           "a system principal sees confidential reporters and restricted records",
           _patched_access(_system_as_intake)),
    Mutant("consent-withdrawal-ignored", "/req/privacy/department-consent",
           "a department keeps reading a resident after her consent is withdrawn",
           consent_withdrawal_ignored),
    Mutant("consent-shared-by-who-filed", "/req/privacy/department-consent",
           "a department handling an issue a proxy filed for a resident reads the proxy's "
           "own record", consent_shared_by_who_filed),
    Mutant("organisations-written-by-anyone", "/req/organisations/write-roles",
           "x-roles on /organisations is ignored: every role writes organisations",
           organisations_written_by_anyone),
]


def _latest_read_as(start: Callable[[Any], str | None]) -> Install:
    """A server whose ``cursor=latest`` means ``start(store)`` instead of the feed's end."""
    def install(app: Any, mp: pytest.MonkeyPatch) -> Any:
        original = Service.changes

        def changes(self: Service, principal: Principal, cursor: str | None,
                    limit: int) -> Result:
            if cursor == LATEST_CURSOR:
                cursor = start(self)
            return original(self, principal, cursor, limit)

        mp.setattr(Service, "changes", changes)
        return app
    return install


def _one_past_the_end(service: Service) -> str:
    with service.store.read() as tx:
        return encode_cursor("f", tx.last_event() + 1)


MUTANTS += [
    Mutant("latest-from-start", "/req/change-feed/latest",
           "cursor=latest reads the feed from its start", _latest_read_as(lambda s: None)),
    Mutant("latest-past-the-end", "/req/change-feed/latest",
           "cursor=latest gives a cursor one event past the end: the next event is lost",
           _latest_read_as(_one_past_the_end)),
]
def proxy_proposes_for_any(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A proxy authorised by one resident proposes for others named beside her: one
    authorised proposer entry carries them all."""
    def check_create_stored(self: Any, tx: Any, principal: Principal,
                            doc: dict[str, Any]) -> None:
        self._issues_exist(tx, doc)
        proposers = (doc.get("origin") or {}).get("proposers") or []
        if principal.role == "proxy" and not any(
                self.proxy_for(tx, principal, (p.get("onBehalfOf") or {}).get("id"),
                               "participate-consultations") for p in proposers):
            raise _policies.forbidden(principal, "not authorised", "未获授权",
                                      "/req/residents/proxy-scope")

    mp.setattr(_policies.ConsultationPolicy, "check_create_stored", check_create_stored)
    return app


def requested_at_from_body(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A restriction request keeps the requestedAt (and the earlier decidedAt) its PUT
    states, instead of the server's time of the request."""
    def prepare_update(self: Any, principal: Principal, stored: Stored,
                       doc: dict[str, Any]) -> dict[str, Any]:
        return doc

    mp.setattr(_policies.ResidentPolicy, "prepare_update", prepare_update)
    return app


def request_times_rewritable(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Leaving the state as it is, a resident or proxy moves when the request was made."""
    mp.setattr(_policies.ResidentPolicy, "_request_kept", lambda self, *args: None)
    return app


def request_created(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A create makes a record already asked for, restricted, or carrying the record of a
    request nobody made."""
    mp.setattr(_policies.ResidentPolicy, "_no_request", lambda self, principal, doc: None)
    return app


def decision_dates_rewritable(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Leaving the state as it is, the staff who decide requests rewrite when the request was
    made and when and by whom it was decided (only the resident's side is held to them)."""
    original = _policies.ResidentPolicy._request_kept

    def request_kept(self: Any, principal: Principal, old: Any, doc: Any) -> None:
        if principal.role in self.access.own_record_roles:
            original(self, principal, old, doc)
        else:
            self._marker_kept(principal, old, doc)

    mp.setattr(_policies.ResidentPolicy, "_request_kept", request_kept)
    return app


def restriction_asked_while_restricted(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A restricted record is asked for restriction again: a request leaving nothing to
    decide is taken."""
    mp.setattr(_policies.ResidentPolicy, "_asks_something", lambda self, old, new: None)
    return app


def proxy_entry_as_proposer(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A proposer entry acting for a resident counts its own actor as the proposer: the proxy
    withdraws after her authorisation has ended."""
    def proposer_of(entry: Any) -> Any:
        return ((entry.get("resident") or {}).get("id")
                or (entry.get("onBehalfOf") or {}).get("id"))

    mp.setattr(_policies, "proposer_of", proposer_of)
    return app


def withdrawal_time_movable(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A withdrawn consent's withdrawnAt is rewritten by a later update."""
    original = _policies.ResidentPolicy._consents_kept

    def consents_kept(self: Any, old: dict[str, Any], new: dict[str, Any]) -> None:
        when = {c.get("id"): c.get("withdrawnAt") for c in old.get("consents") or ()}
        seen = copy.deepcopy(new)
        for consent in seen.get("consents") or ():
            if consent.get("id") in when and when[consent.get("id")] is not None:
                consent["withdrawnAt"] = when[consent.get("id")]
        original(self, old, seen)

    mp.setattr(_policies.ResidentPolicy, "_consents_kept", consents_kept)
    return app


MUTANTS += [
    Mutant("proxy-proposes-for-any", "/req/residents/proxy-scope",
           "a proxy proposes jointly for a resident who never authorised him",
           proxy_proposes_for_any),
    Mutant("requested-at-from-body", "/req/residents/rights-request",
           "a restriction request keeps the requestedAt and stale decidedAt its PUT states",
           requested_at_from_body),
    Mutant("request-times-rewritable", "/req/residents/rights-request",
           "a proxy moves requestedAt of the pending request", request_times_rewritable),
    Mutant("request-created", "/req/residents/rights-request",
           "staff create a record already asked for, restricted, or with requestedAt",
           request_created),
    Mutant("decision-dates-rewritable", "/req/residents/rights-request",
           "staff rewrite requestedAt, decidedAt and decidedBy leaving the state as it is",
           decision_dates_rewritable),
    Mutant("restriction-asked-while-restricted", "/req/residents/rights-request",
           "a proxy asks for restriction of a record restricted already",
           restriction_asked_while_restricted),
    Mutant("proxy-entry-as-proposer", "/req/consultations/withdraw-by-proposer",
           "the proxy of a proposer entry withdraws after the authorisation ended",
           proxy_entry_as_proposer),
    Mutant("withdrawal-time-movable", "/req/residents/consent-append-only",
           "a withdrawn consent's withdrawnAt is rewritten", withdrawal_time_movable),
]


def proxy_consent_ignored(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A proxy holds by its period alone: withdrawing the consent its consentId names ends
    nothing."""
    mp.setattr(Access, "consent_holds", lambda self, resident, consent_id, moment: True)
    return app


def proxy_period_ignored(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A proxy holds whatever its period: one that has ended, or not yet begun, still reads
    her record, as her own audience."""
    original = Access.proxy_grants

    def grants(self: Access, resident: Any, principal: Principal, scopes: Any,
               now: Any = None) -> bool:
        timeless = copy.deepcopy(dict(resident))
        for proxy in timeless.get("proxies") or ():
            if isinstance(proxy, dict):
                proxy.update(validFrom="2000-01-01T00:00:00+08:00")
                proxy.pop("validUntil", None)
        return original(self, timeless, principal, scopes, now)

    mp.setattr(Access, "proxy_grants", grants)
    return app


def proxy_by_user_id(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """An actor proxy is whoever holds its user id, of any role or organisation."""
    mp.setattr(Principal, "is_actor", lambda self, actor: bool(self.user_id)
               and actor.get("userId") == self.user_id)
    return app


def key_without_organisation(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A principal's identity is its role and user id: staff of two organisations numbering
    their people alike share idempotency keys and one name in the audit log."""
    def key(self: Principal) -> str:
        if self.user_id:
            return f"{self.role}:user:{self.user_id}"
        if self.resident:
            return f"{self.role}:resident:{self.resident}"
        return f"{self.role}:credential:{self.credential or '-'}"

    mp.setattr(Principal, "key", property(key))
    return app


def minor_from_consented(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Whether a record is a child's is decided from the members a consent lets through: a
    department not given her birth date reads her personal data as an adult's."""
    mp.setattr(Access, "minor_record",
               lambda self, stored, served, now=None: self.is_minor(served, now))
    return app


def minor_audited_as_served(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The audit log decides a child's data is sensitive from what the reader was served,
    which redaction and the consent left without her birth date: the read goes unlogged."""
    original = Access.sensitive_pointers

    def sensitive_pointers(self: Access, doc: Any, now: datetime | None = None, *,
                           minor: bool | None = None) -> list[str]:
        return original(self, doc, now)

    mp.setattr(Access, "sensitive_pointers", sensitive_pointers)
    return app


def erasure_clears_audit(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Erasing a resident also deletes the audit log's earlier entries about her, as if they
    were a copy of her data: only the erasure's own entry is left."""
    from sqlalchemy import delete

    from reference_server.storage._tables import audit

    original = Tx.audit

    def log(self: Tx, rows: Any) -> None:
        erased = {r["resident"] for r in rows if r["operation"] in ("erase", "retention-expired")}
        if erased:
            self.conn.execute(delete(audit).where(audit.c.resident.in_(erased)))
        original(self, rows)

    mp.setattr(Tx, "audit", log)
    return app


def submission_owned_forever(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Every member of ``ownedBy`` makes the resource its resident's own: a proxy reads the
    issue he submitted for her as his own after the proxy has ended."""
    def owns(self: Access, principal: Principal, stored: Stored,
             now: datetime | None = None) -> bool:
        if principal.role not in self.own_record_roles or principal.resident is None:
            return False
        named = self.named_residents(stored)
        if principal.resident in named:
            return True
        for owner in named:
            record = self.person(owner) if self.person is not None else None
            if record is not None and self.proxy_grants(record.doc, principal,
                                                        self.read_scopes, now):
                return True
        return False

    mp.setattr(Access, "owns", owns)
    return app


def submitter_withdraws_forever(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Who submitted an issue for a resident withdraws it as its submitter, after the proxy
    has ended too."""
    original = _policies.IssuePolicy._may_withdraw

    def may_withdraw(self: Any, tx: Any, principal: Principal, doc: Any) -> None:
        by = doc.get("submittedBy") or {}
        if (principal.resident is not None
                and (by.get("resident") or {}).get("id") == principal.resident):
            return
        original(self, tx, principal, doc)

    mp.setattr(_policies.IssuePolicy, "_may_withdraw", may_withdraw)
    return app


MUTANTS += [
    Mutant("proxy-consent-ignored", "/req/residents/proxy-scope",
           "a proxy holds after the resident withdrew the consent behind it",
           proxy_consent_ignored),
    Mutant("proxy-period-ignored", "/req/residents/read-access",
           "a proxy that has ended, or not yet begun, reads her record as her own",
           proxy_period_ignored),
    Mutant("proxy-by-user-id", "/req/residents/proxy-scope",
           "an actor proxy is whoever holds its user id, of any organisation",
           proxy_by_user_id),
    Mutant("key-without-organisation", "/req/core/idempotency-scope",
           "staff of two organisations with one user id share Idempotency-Keys",
           key_without_organisation),
    Mutant("audit-without-organisation", "/req/privacy/audit-log",
           "the audit log names staff of two organisations with one user id alike",
           key_without_organisation),
    Mutant("minor-from-consented-members", "/req/residents/minor-sensitive",
           "a child's age is read from the members a consent shares: without her birth date "
           "a department reads her as an adult", minor_from_consented),
    Mutant("minor-audited-as-served", "/req/privacy/audit-log",
           "a department's read of a child's shared members goes unlogged",
           minor_audited_as_served),
    Mutant("erasure-clears-audit", "/req/privacy/audit-log",
           "erasing a resident deletes the earlier audit entries about her",
           erasure_clears_audit),
    Mutant("submission-owned-forever", "/req/privacy/own-issues-self",
           "an ex-proxy reads the issue he submitted for her as his own", submission_owned_forever),
    Mutant("submitter-withdraws-forever", "/req/issues/withdraw-by-submitter",
           "an ex-proxy withdraws the issue he submitted for her", submitter_withdraws_forever),
]


def _overflowing(value: str) -> str:
    """The server's UTC text of a timestamp, failing as a datetime does on an instant outside
    years 1 to 9999 in UTC."""
    text = utc_text(value)
    if not "0001" <= text <= "9999-12-31T23:59:59.999999Z":
        raise OverflowError("date value out of range")
    return text


def instants_overflow(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Timestamps past year 9999 in UTC (a proxy's validUntil, results.visibleFrom, an
    updatedSince) raise where the access rules, the results rule and list filters compare
    them: a 500."""
    seconds = results_module._seconds

    def overflowing_seconds(text: str) -> float | None:
        _overflowing(text)
        return seconds(text)

    mp.setattr(access_module, "utc_text", _overflowing)
    mp.setattr(_common, "utc_text", _overflowing)
    mp.setattr(results_module, "_seconds", overflowing_seconds)
    return app


def visible_from_as_text(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The access rules compare timestamps as the text they are written in, not as instants:
    results.visibleFrom written at -10:00 comes hours early."""
    mp.setattr(access_module, "utc_text", lambda value: value)
    mp.setattr(results_module, "_due", lambda when, now: when <= now.isoformat())
    return app


def age_by_calendar_year(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A resident's age is this year less her birth year, whether or not her birthday has
    come: one who turns 14 later this year is no minor any more."""
    today = datetime.now(CST)
    if (today.month, today.day) == (12, 31):
        pytest.skip("on 31 December an age by calendar years is everyone's true age")

    def is_minor(self: Access, doc: Any, now: datetime | None = None) -> bool:
        born = birth_date(doc)
        return born is not None and (
            (now or datetime.now(CST)).year - born.year < self.minor_age)

    mp.setattr(Access, "is_minor", is_minor)
    return app


def minor_by_birth_date_only(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A resident's age is read from birthDate alone: a child whose record gives her birth
    date only in her full citizen ID number is redacted as an adult."""
    def stated(doc: Mapping[str, Any]) -> date | None:
        raw = doc.get("birthDate")
        try:
            return date.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            return None

    # both where a read decides it and where a record's stored facts are derived
    mp.setattr(access_module, "birth_date", stated)
    mp.setattr(person_module, "birth_date", stated)
    return app


def minor_by_utc_date(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A resident's age counts by the date in UTC: from 00:00 to 08:00 in China on her 14th
    birthday she is still a minor. Its clock (as its minors and its Date header read it)
    stands at 20:00 UTC, 04:00 in China, so the kit meets those hours whenever it runs."""
    real = datetime.now(UTC)
    ahead = datetime.combine(real.date(), time(20), UTC) - real

    def clock() -> datetime:
        return datetime.now(UTC) + ahead

    def is_minor(self: Access, doc: Any, now: datetime | None = None) -> bool:
        born = birth_date(doc)
        if born is None:
            return False
        today = (now or clock()).astimezone(UTC).date()
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        return age < self.minor_age

    def dated(scope: dict[str, Any], status: int, headers: list[tuple[bytes, bytes]],
              body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        headers = [(k, v) for k, v in headers if k.lower() != b"date"]
        headers.append((b"date", formatdate(clock().timestamp(), usegmt=True).encode()))
        return status, headers, body

    mp.setattr(Access, "is_minor", is_minor)
    return Rewrite(app, dated)


MUTANTS += [
    Mutant("instants-overflow-proxy", "/req/residents/read-access",
           "a proxy in force until 9999-12-31T23:59:59-08:00 gets 500", instants_overflow),
    Mutant("instants-overflow-results", "/req/consultations/results-hidden",
           "reading results visible from 9999-12-31T23:59:59-08:00 gets 500",
           instants_overflow),
    Mutant("instants-overflow-filter", "/req/core/no-server-error",
           "updatedSince=9999-12-31T23:59:59-08:00 gets 500", instants_overflow),
    Mutant("visible-from-as-text", "/req/consultations/results-hidden",
           "results.visibleFrom compared as text: written at -10:00 it comes hours early",
           visible_from_as_text),
    Mutant("age-by-calendar-year", "/req/residents/minor-sensitive",
           "age is the difference of the years: one turning 14 tomorrow is not a minor",
           age_by_calendar_year),
    Mutant("minor-by-utc-date", "/req/residents/minor-sensitive",
           "age by the date in UTC: from 00:00 to 08:00 in China on her 14th birthday she is "
           "still a minor", minor_by_utc_date),
    Mutant("minor-by-birth-date-only", "/req/residents/minor-sensitive",
           "age read from birthDate alone: a child known by her citizen ID number is an adult",
           minor_by_birth_date_only),
]


def cached_answers(directives: bytes | None) -> Install:
    """Answers of the API whose Cache-Control is ``directives`` (None: none at all)."""

    def install(app: Any, mp: pytest.MonkeyPatch) -> Any:
        def edit(scope: dict[str, Any], status: int, headers: list[tuple[bytes, bytes]],
                 body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            kept = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
            return status, kept + ([(b"cache-control", directives)] if directives else []), body

        return Rewrite(app, edit)

    return install


MUTANTS += [
    Mutant("answers-cacheable", "/req/core/no-store",
           "the API's answers carry no Cache-Control: a shared cache may keep a resident's record",
           cached_answers(None)),
    Mutant("answers-private-cache", "/req/core/no-store",
           "Cache-Control: private, max-age=600: the browser of a community's shared terminal "
           "keeps what the last reader saw", cached_answers(b"private, max-age=600")),
]

# -- writers that receive part of a record ----------------------------------------------

def unreceived_dropped(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """An update replaces the stored record with the body, whatever its writer received."""
    class Replacing(_partial.PartialWrite):
        def __init__(self, access: Access, principal: Principal, stored: Stored,
                     body: dict[str, Any]) -> None:
            super().__init__(access, principal, stored, body)
            self.whole = True
            self.marked = copy.deepcopy(body)
            self.doc = copy.deepcopy(body)

    mp.setattr(_core, "PartialWrite", Replacing)
    return app


def consents_checked_on_body(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The append-only rule of consents is checked on the body as sent, before the consents
    its writer does not receive are put back: the refusal names each of them."""
    original = Service.prepare_update

    def prepare_update(self: Service, principal: Principal, rtype: str, rid: str, doc: Any,
                       versions: list[str]) -> Any:
        if rtype == self.access.person_type and isinstance(doc, dict):
            with self.store.read() as tx:
                stored = tx.get(rtype, rid)
            if stored is not None:
                self.policies[rtype]._consents_kept(stored.doc, doc)
        return original(self, principal, rtype, rid, doc, versions)

    mp.setattr(Service, "prepare_update", prepare_update)
    return app


def write_errors_unscreened(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A partial writer's errors are answered as the rules worded them, stored values
    included (the date inside a number it receives masked)."""
    mp.setattr(_partial.PartialWrite, "screened", lambda self, error, spec: error)
    return app


def restriction_by_anyone(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Any writer's update may change restriction: a pending request is cancelled by one
    that leaves it out."""
    mp.setattr(_policies, "_restriction", lambda doc: {})
    return app


def restricted_written(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A writer given only the minimal form of a restricted record still writes to it, the
    members that form carries (status, external ids) changed as it sends them."""
    mp.setattr(_policies.ResidentPolicy, "check_writable",
               lambda self, principal, stored: None)
    return app


def restriction_lifted_on_request(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A request made while the record is restricted lifts the restriction until it is
    decided: the server keeps no record that it was restricted, so an erasure asked for gives
    every reader the whole record again."""
    mp.setattr(_policies.ResidentPolicy, "_marked",
               lambda self, old, restriction: {k: v for k, v in restriction.items()
                                               if k != "restrictedAt"})
    return app


def pending_restriction_written(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Writes are refused only in the state restricted: once erasure is asked for, a writer
    still given only the minimal form changes the record it cannot read."""
    original = Access.restricted_from

    def restricted_from(self: Access, principal: Principal, stored: Stored,
                        now: datetime | None = None) -> bool:
        state = (stored.doc.get("restriction") or {}).get("state")
        return state == self.restricted_state and original(self, principal, stored, now)

    mp.setattr(Access, "restricted_from", restricted_from)
    return app


def facts_of_the_first_version(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A resident record's stored facts (what decides how it is served) stay those it was
    created with: restricted by an update, it still goes whole to every reader the facts of an
    unrestricted record let through."""
    original = Service._prepare

    def prepare(self: Service, doc: dict[str, Any], previous: Stored | None = None,
                fallback: Any = ()) -> Stored:
        row = original(self, doc, previous, fallback)
        if previous is not None and previous.facts is not None and row.derived is not None:
            row.derived = dataclasses.replace(row.derived, person_facts=previous.facts)
            row.facts = previous.facts
        return row

    mp.setattr(Service, "_prepare", prepare)
    return app


MUTANTS += [
    Mutant("unreceived-dropped", "/req/privacy/update-keeps-unreceived",
           "an update by a hotline operator or grid worker deletes what it does not receive",
           unreceived_dropped),
    Mutant("consents-checked-on-body", "/req/privacy/write-errors-unreceived",
           "a hotline operator's update is refused naming every consent it does not receive",
           consents_checked_on_body),
    Mutant("write-errors-unscreened", "/req/privacy/write-errors-unreceived",
           "a grid worker's refused update tells the birth date inside the masked number",
           write_errors_unscreened),
    Mutant("restriction-by-anyone", "/req/residents/rights-request",
           "a system principal's update that leaves restriction out cancels a pending request",
           restriction_by_anyone),
    Mutant("restricted-written", "/req/residents/restricted-writes",
           "a grid worker, hotline operator or system principal given only the minimal form of "
           "a restricted record changes its status and external ids", restricted_written),
    Mutant("restriction-lifted-on-request", "/req/residents/restricted-disclosure",
           "a restricted resident's erasure request gives grid workers, the hotline and "
           "system mirrors her whole record again until it is carried out",
           restriction_lifted_on_request),
    Mutant("facts-of-the-first-version", "/req/residents/restricted-disclosure",
           "an update restricting a resident leaves her stored facts those of an unrestricted "
           "record: system mirrors still read her whole record", facts_of_the_first_version),
    Mutant("pending-restriction-written", "/req/residents/restricted-writes",
           "once erasure of a restricted record is asked for, writers given only its minimal "
           "form change its status and external ids", pending_restriction_written),
]
from .mutants_profiles import MUTANTS as _profiles; MUTANTS += _profiles  # noqa: E402, E702, I001
from .mutants_indicators import MUTANTS as _indicators; MUTANTS += _indicators  # noqa: E402, E702, I001
from .mutants_public import MUTANTS as _public; MUTANTS += _public  # noqa: E402, E702, I001
from .mutants_voice import MUTANTS as _voice; MUTANTS += _voice  # noqa: E402, E702, I001
from .mutants_open311 import MUTANTS as _open311; MUTANTS += _open311  # noqa: E402, E702, I001
from .mutants_openapi import MUTANTS as _openapi; MUTANTS += _openapi  # noqa: E402, E702, I001
from .mutants_core import MUTANTS as _core_mutants; MUTANTS += _core_mutants  # noqa: E402, E702, I001
from .mutants_records import MUTANTS as _records; MUTANTS += _records  # noqa: E402, E702, I001
