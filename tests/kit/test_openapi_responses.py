"""Holding recorded exchanges to the OpenAPI (/req/core/openapi-responses), without a server:
each case is one exchange as the kit's client records it."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from smartcommunity.conformance import Exchange, OpenApiJudge
from smartcommunity.specification import load_spec

SPEC = load_spec()
JUDGE = OpenApiJudge(SPEC)
BASE = "http://127.0.0.1:8311"
ISSUE = copy.deepcopy(dict(SPEC.examples())["issue/fire-lane-submitted.json"])
PROBLEM = {"type": "about:blank", "title": "Forbidden", "status": 403, "code": "http.forbidden",
           "message": {"zh-Hans": "不能", "en": "may not"}, "errors": []}


def _exchange(method: str, path: str, status: int, body: Any = None, *,
              media: str = "application/json", **headers: str) -> Exchange:
    ex = Exchange(method, BASE + path, {}, None, status)
    if body is not None:
        ex.response_text = body if isinstance(body, str) else json.dumps(body)
        ex.response_headers = {"content-type": media}
    ex.response_headers.update({k.replace("_", "-"): v for k, v in headers.items()})
    return ex


def _created(**headers: str) -> Exchange:
    version = ISSUE["meta"]["versionId"]
    return _exchange("POST", "/issues", 201, ISSUE, **{"ETag": f'"{version}"', **headers})


def _problems(ex: Exchange) -> list[str]:
    return [v.en for v in JUDGE.judge(ex, BASE)]


def test_a_create_naming_itself_keeps_to_the_openapi() -> None:
    own = f"/issues/{ISSUE['id']}"
    assert _problems(_created(Location=own)) == []
    assert _problems(_created(Location=BASE + own)) == []  # absolute or relative alike


def test_a_create_without_location_is_reported() -> None:
    found = _problems(_created())
    assert len(found) == 1 and "lacks the Location header" in found[0], found
    assert "createIssue" in found[0]


def test_a_location_naming_another_resource_is_reported() -> None:
    found = _problems(_created(Location="/issues/00000000-0000-4000-8000-000000000000"))
    assert len(found) == 1 and "does not name the created resource's own URL" in found[0]
    assert f"/issues/{ISSUE['id']}" in found[0], "the message says what Location should be"


def test_an_etag_other_than_the_body_version_is_reported() -> None:
    ex = _exchange("GET", f"/issues/{ISSUE['id']}", 200, ISSUE, ETag='"99"')
    found = _problems(ex)
    assert len(found) == 1 and "meta.versionId" in found[0], found


def test_a_required_etag_missing_is_reported() -> None:
    found = _problems(_exchange("GET", f"/issues/{ISSUE['id']}", 200, ISSUE))
    assert len(found) == 1 and "lacks the ETag header" in found[0], found


def test_a_wrong_media_type_is_reported() -> None:
    ex = _exchange("GET", "/issues/x", 404, PROBLEM, media="application/json")
    found = _problems(ex)
    assert len(found) == 1 and "application/problem+json" in found[0], found


def test_a_body_breaking_the_schema_is_reported_where() -> None:
    page = {"items": [ISSUE, {**ISSUE, "status": 7}]}
    found = _problems(_exchange("GET", "/issues", 200, page))
    assert len(found) == 1 and "at /items/1/status" in found[0], found


def test_a_later_minor_document_is_read_forward_not_rejected() -> None:
    """/req/core/forward-compatible: what 1.0 does not know is kept, not an error."""
    later = {**ISSUE, "specVersion": "1.7", "addedIn17": {"anything": True}}
    assert _problems(_exchange("GET", "/issues", 200, {"items": [ISSUE, later]})) == []
    broken = {**later, "id": "not-a-uuid"}
    found = _problems(_exchange("GET", "/issues", 200, {"items": [broken]}))
    assert len(found) == 1 and "/items/0" in found[0], found


def test_another_major_is_not_read_forward() -> None:
    other = {**ISSUE, "specVersion": "2.0"}
    assert _problems(_exchange("GET", "/issues", 200, {"items": [other]}))


def test_requests_outside_the_openapi_are_left_to_other_checks() -> None:
    assert _problems(_exchange("GET", "/issues/x/y", 404, PROBLEM,
                               media="application/problem+json")) == []
    assert _problems(_exchange("DELETE", "/issues", 405, PROBLEM,
                               media="application/problem+json")) == []


def test_a_literal_path_wins_over_a_template() -> None:
    assert JUDGE.match("GET", "/issues").path == "/issues"  # type: ignore[union-attr]
    found = JUDGE.match("POST", "/issues/abc/actions/accept")
    assert found is not None and found.path == "/issues/{id}/actions/{action}"


OPERATIONS = [(op.method, op.path, frozenset(op.declaration["responses"]))
              for op in JUDGE.operations]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(OPERATIONS), st.integers(100, 599))
def test_a_status_is_reported_exactly_when_undeclared(
        operation: tuple[str, str, frozenset[str]], status: int) -> None:
    method, template, declared = operation
    path = template.replace("{id}", ISSUE["id"]).replace("{action}", "accept")
    ex = _exchange(method.upper(), path, status, PROBLEM, media="application/problem+json")
    undeclared = [p for p in _problems(ex) if p.startswith(f"status {status} is not declared")]
    assert bool(undeclared) is (str(status) not in declared)


def test_the_check_runs_after_every_other_test() -> None:
    """It reads what the other tests exchanged, vectors included, so it comes last."""
    from smartcommunity.conformance import all_tests

    tests = all_tests(SPEC)
    assert tests[-1].requirement == "/req/core/openapi-responses"
    assert sum(t.last for t in tests) == 1


# -- the Open311 bridge, on GeoReport v2's wire ---------------------------------------------

BRIDGE = "/open311/v2"
XML = "text/xml; charset=utf-8"


@settings(max_examples=40)
@given(status=st.integers(200, 599), fmt=st.sampled_from(["json", "xml"]),
       tail=st.sampled_from(["/discovery", "/services", "/requests", "/requests/abc",
                             "/tokens/abc", "/services/environment.garbage"]))
def test_a_bridge_answer_keeps_to_its_declared_statuses(status: int, fmt: str,
                                                        tail: str) -> None:
    """An XML answer is judged by its status and media type; a status the operation does not
    declare is reported whatever the body."""
    path = f"{BRIDGE}{tail}.{fmt}"
    op = JUDGE.match("GET", path)
    assert op is not None and op.declaration["x-wire"] == "georeport-v2"
    body = ('<?xml version="1.0" encoding="utf-8"?><errors><error><code>'
            f"{status}</code><description>x</description></error></errors>")
    found = _problems(_exchange("GET", path, status, body, media=XML))
    declared = str(status) in op.declaration["responses"]
    assert (found == []) == declared, found
    if not declared:
        assert f"status {status} is not declared" in found[0]


def test_a_bridge_error_is_held_to_georeport_s_error_list() -> None:
    path = f"{BRIDGE}/services/nothing.json"
    listed = [{"code": 404, "description": "no such service / 没有这个服务"}]
    assert _problems(_exchange("GET", path, 404, listed)) == []
    found = _problems(_exchange("GET", path, 404, PROBLEM))
    assert len(found) == 1 and "getOpen311ServiceDefinition" in found[0], found
    # A problem+json answer is not a media type the bridge declares.
    found = _problems(_exchange("GET", path, 404, PROBLEM, media="application/problem+json"))
    assert len(found) == 1 and "application/problem+json" in found[0], found
