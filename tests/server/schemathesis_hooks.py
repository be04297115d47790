"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS) that make its positive cases requests
the standard calls valid, so that ``positive_data_acceptance`` can hold the server to them.

A schema-valid body is not yet a valid request: the library's rules, the lifecycle table, the
current ETag and the principal's scope decide too, and the OpenAPI cannot say all of that. For
every positive case these hooks therefore

- give a write the current ETag of its target and a fresh Idempotency-Key (/req/core/if-match,
  /req/core/idempotency-key): a generated tag is stale or absent, refused by design;
- replace a list's generated cursor by one the server handed out (/req/core/cursor-opaque:
  a cursor is only ever one the server gave), and the home page's ``after`` likewise
  (/req/public-pages/home-paged);
- keep a generated create body when the library finds nothing wrong with it and the server's
  create rules hold, else create a document from the spec's examples, written by the principal
  calling (/req/core/actor-is-principal) in its community, at the status the lifecycle creates;
- send a PUT the target's current content (the record only actions write stays as it is,
  /req/consultations/lifecycle-fields-read-only);
- drop an action the lifecycle refuses from the target's status, or whose details break the
  action's schema or the library's rules for the document it makes (/req/core/action-roles,
  /req/issues/action-details): which action may follow which status is data in spec/, not
  in the OpenAPI;
- point an erasure or update of an erased resident at a record created for it
  (/req/residents/erasure), give an erasure the resident did not ask for a legal ground
  (/req/residents/erasure-on-request), and leave out action items, which the details would
  have to name (/req/issues/action-effects).

A case is filtered out only where no change to it can make it valid; the rest are repaired.

An operation on a foreign wire (``x-wire``: the Open311 bridge, on GeoReport v2's wire) is
made valid by that wire's rules instead: a positive POST files a form the catalogue takes,
and parameters a schema cannot make valid (a community, a date range of at most 90 days, a
service code) are given values the bridge accepts or left out.

Negative cases pass through untouched: they must still be refused.
"""

from __future__ import annotations

import copy
import functools
import html
import os
import re
import uuid
from typing import Any

import httpx
import schemathesis

from smartcommunity import validate
from smartcommunity.exceptions import LifecycleError
from smartcommunity.lifecycle import lifecycle_for
from smartcommunity.open311 import mapping

from .helpers import EXAMPLES, SPEC, actor_of, as_creator, example, submitted_issue

#: the principal the run is authenticated as (the test passes its token in the environment)
TOKEN = os.environ.get("SC_SCHEMATHESIS_TOKEN", "demo-staff-liu-fang")
#: the restriction state of an erased resident record
ERASED = "erased"
#: resource type of each collection path segment
TYPES = {plural: rtype for rtype, plural in SPEC.collections.items()}


def _positive(case: Any) -> bool:
    meta = case.meta
    return meta is not None and bool(meta.generation.mode.is_positive)


@functools.cache
def _client_for(base_url: str) -> httpx.Client:
    # one client for the run: making one per call costs more than the call
    return httpx.Client(base_url=base_url, timeout=30,
                        headers={"Authorization": f"Bearer {TOKEN}"})


def _client(case: Any) -> httpx.Client:
    return _client_for(case.operation.schema.get_base_url())


def _target(case: Any) -> tuple[str, str | None, str | None]:
    """(collection, id, action or sub-operation) of the case's path."""
    parts = case.operation.path.strip("/").split("/")
    rid = case.path_parameters.get("id") if len(parts) > 1 else None
    tail = case.path_parameters.get("action") if "{action}" in parts else (
        parts[2] if len(parts) > 2 else None)
    return parts[0], None if rid is None else str(rid), tail


def _current(case: Any, collection: str, rid: str) -> httpx.Response | None:
    try:
        resp = _client(case).get(f"/{collection}/{rid}")
    except httpx.InvalidURL:
        return None
    return resp if resp.status_code == 200 else None


def _wire(case: Any) -> str | None:
    return SPEC.wire(case.operation.path, case.method)


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    if not _positive(case) or case.method.upper() not in ("POST", "PUT") or _wire(case):
        return True
    collection, rid, tail = _target(case)
    rtype = TYPES.get(collection)
    body = case.body if isinstance(case.body, dict) else {}
    # Only what no change to this one case can repair is filtered out here; everything else
    # is repaired in map_case. A filter that refuses most of an operation's cases makes
    # Hypothesis draw (and hill-climb schemathesis's success-rate target over) hundreds of
    # large rejected bodies: that, not the server, is what once stalled the run.
    if rid is None or rtype not in SPEC.lifecycles or "{action}" not in case.operation.path:
        return True
    found = _current(case, collection, rid)
    if found is None:
        return True  # 404, which positive data may get
    document = found.json()
    lifecycle = lifecycle_for(rtype)
    try:
        applied = lifecycle.apply(document, str(tail), actor=actor_of(TOKEN),
                                  details=body.get("details"), note=body.get("note"),
                                  reason=body.get("reason"))
    except (LifecycleError, ValueError, TypeError, KeyError):
        return False  # the lifecycle table or the action's details refuse it
    return not validate(applied.document).errors


def _real_cursor(case: Any) -> str | None:
    page = _client(case).get(case.operation.path, params={"limit": 1})
    nxt = page.json().get("next") if page.status_code == 200 else None
    return nxt if isinstance(nxt, str) else None


def _real_place(case: Any) -> str | None:
    """The ``after`` of the home page's rel="next" link (/req/public-pages/home-paged: a place
    is only ever one the server gave), or None when it has a single page."""
    page = _client(case).get(case.operation.path)
    link = re.search(r'<a [^>]*href="[^"]*\?after=([^"&]+)"[^>]*rel="next"', page.text)
    return html.unescape(link[1]) if link else None


def _created(rtype: str, generated: Any) -> dict[str, Any]:
    """The generated body when the library and the create rules accept it, else a document
    from the examples."""
    if isinstance(generated, dict) and generated.get("resourceType") == rtype and not validate(
            generated).errors and _creatable(rtype, generated):
        return generated
    if rtype == "Issue":
        return as_creator(submitted_issue(), actor_of(TOKEN))
    name = next(n for n, d in EXAMPLES.items() if d.get("resourceType") == rtype)
    doc = example(name)
    if rtype in SPEC.lifecycles:
        # created at the status the lifecycle's creating action leads to, with only its event;
        # what later actions write is left to them
        lifecycle = lifecycle_for(rtype)
        first = copy.deepcopy(doc["history"][0])
        allowed = set(SPEC.schema(_schema_name(rtype))["properties"])
        doc = {k: v for k, v in doc.items() if k in allowed and not _written_later(rtype, k)}
        doc["history"] = [first]
        doc["status"] = lifecycle.transitions[first["action"]].leads_to(None)
        doc = as_creator(doc, actor_of(TOKEN))
    return doc


def _schema_name(rtype: str) -> str:
    return f"{rtype.lower()}.json"


def _written_later(rtype: str, member: str) -> bool:
    """Members only actions or later updates write (checked by the server on create)."""
    later = SPEC.schema(_schema_name(rtype))["properties"].get(member, {})
    return bool(later.get("readOnly")) or member in {"meta", "externalRefs", *_ACTION_MEMBERS}


#: record members a consultation's actions write (/req/consultations/record-from-actions) and
#: those an update adds once the procedure reaches them
_ACTION_MEMBERS = ("decision", "publications", "implementation", "feedback", "sessions",
                   "votes", "reply")  # an opinion's or proposal's reply: /req/voice/reply-reasons


def _creatable(rtype: str, doc: dict[str, Any]) -> bool:
    history = doc.get("history")
    if rtype not in SPEC.lifecycles:
        return "name" in doc  # /req/residents/name-on-write
    if not isinstance(history, list) or len(history) != 1:
        return False
    return (history[0].get("actor") == actor_of(TOKEN)
            and not any(_written_later(rtype, k) for k in doc))


@functools.cache
def _plain_service(base_url: str) -> str:
    """A service of the bridge's catalogue without attributes, to file requests in."""
    prefix = mapping(SPEC.version).prefix
    services = _client_for(base_url).get(f"{prefix}/services.json").json()
    return next(str(s["service_code"]) for s in services if not s.get("metadata"))


def _georeport(case: Any) -> Any:
    """A positive case of the Open311 bridge made a request GeoReport v2 and
    /conf/open311 call valid."""
    query = case.query or {}
    # a community code or profile URI (/req/open311/community), and a date range of at most
    # 90 days: no schema says either
    for name in ("jurisdiction_id", "start_date", "end_date", "service_request_id"):
        query.pop(name, None)
    if "status" in query:
        query["status"] = sorted(mapping(SPEC.version).open311_statuses)[0]
    if "code" in (case.path_parameters or {}):
        case.path_parameters["code"] = _plain_service(case.operation.schema.get_base_url())
    if case.method.upper() == "POST":
        # a form the catalogue takes, filed as the authenticated principal
        case.body = {"service_code": _plain_service(case.operation.schema.get_base_url()),
                     "lat": 39.9087, "long": 116.3975,
                     "description": "路灯不亮\n东门外两盏路灯连续三晚不亮。"}
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
    return case


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    if not _positive(case):
        return case
    if _wire(case) == "georeport-v2":
        return _georeport(case)
    collection, rid, _ = _target(case)
    rtype = TYPES.get(collection)
    if case.method.upper() == "GET" and "cursor" in (case.query or {}):
        cursor = _real_cursor(case)
        if cursor is None:
            case.query.pop("cursor")
        else:
            case.query["cursor"] = cursor
    if (case.method.upper() == "GET" and case.operation.path.startswith("/public")
            and "after" in (case.query or {}) and "figures" not in case.operation.path):
        place = _real_place(case)
        if place is None:
            case.query.pop("after")
        else:
            case.query["after"] = place
    if case.method.upper() == "GET" and "bbox" in (case.query or {}):
        # /req/profiles/bbox-filter: west to east and south to north within the globe's
        # ranges, which the parameter's pattern cannot order; a box the server takes
        case.query["bbox"] = "116.40,39.90,116.42,39.92"
    if case.method.upper() == "POST" and rid is None and rtype is not None:
        case.body = _created(rtype, case.body)
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
    if rid is not None and case.method.upper() == "POST" and isinstance(case.body, dict):
        # /req/issues/action-effects: items are only those the action takes, each named by id
        # in its details; the OpenAPI's one action-request schema cannot tie the two together
        case.body.pop("items", None)
    if rid is not None and rtype is not None and rtype not in SPEC.lifecycles:
        rid = _living(case, collection, rtype, rid)
    if rid is not None and case.method.upper() in ("PUT", "POST"):
        found = _current(case, collection, rid)
        if found is not None:
            case.headers["If-Match"] = found.headers["etag"]
            if case.method.upper() == "PUT":
                case.body = found.json()
        elif not str(case.headers.get("If-Match", "")).strip():
            # a well-formed tag, so that the missing target is what the answer is about
            case.headers["If-Match"] = '"1"'
    return case


def _living(case: Any, collection: str, rtype: str, rid: str) -> str:
    """The id a write on a record without a lifecycle goes to, its case made one the record's
    restriction state allows.

    An erased record takes no update and no second erasure (/req/residents/erasure): the case
    is pointed at a record created for it instead, since the ids schemathesis reuses from
    earlier answers keep naming the record a previous case erased. Without the resident's
    request an erasure needs a legal ground the requirement's parameters name
    (/req/residents/erasure-on-request): the case gives the first one.
    """
    found = _current(case, collection, rid)
    if found is None:
        return rid  # 404, which positive data may get
    state = (found.json().get("restriction") or {}).get("state")
    if state == ERASED:
        fresh = _created(rtype, None)
        made = _client(case).post(f"/{collection}", json=fresh,
                                  headers={"Idempotency-Key": str(uuid.uuid4())})
        if made.status_code != 201:
            return rid
        rid = str(fresh["id"])
        case.path_parameters["id"] = rid
        state = None
    _, _, tail = _target(case)
    grounds = SPEC.parameter("/req/residents/erasure-on-request", "legalGrounds")
    if (tail == "erase" and state != "erasure-requested" and isinstance(case.body, dict)
            and case.body.get("reason") not in grounds):
        case.body["reason"] = grounds[0]
    return rid
