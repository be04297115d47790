"""Errors: problem+json everywhere, limits, and no request that ends in a server error."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from reference_server.openapi import METHODS

from .helpers import EXAMPLES, SPEC, TOKENS, Api, as_creator, new_id, submitted_issue

PROBLEM = Draft202012Validator(SPEC.schema("problem.json"), registry=SPEC.registry)
OPERATIONS = sorted((path, m) for path, item in SPEC.openapi["paths"].items()
                    for m in METHODS if m in item)
#: the operations the core HTTP rules apply to: those without a foreign wire (x-wire)
CORE = [(path, m) for path, m in OPERATIONS if SPEC.wire(path, m) is None]
#: the Open311 bridge's operations, on GeoReport v2's wire
GEOREPORT = [(path, m) for path, m in OPERATIONS if SPEC.wire(path, m) == "georeport-v2"]


def assert_problem(resp: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert [e.message for e in PROBLEM.iter_errors(body)] == []
    assert body["status"] == status
    assert body["message"]["zh-Hans"] and body["message"]["en"]
    if code is not None:
        assert body["code"] == code
    return body


def _url(path: str, fmt: str = "json") -> str:
    return (path.replace("{id}", new_id()).replace("{action}", "accept")
            .replace("{fmt}", fmt).replace("{code}", "no-such-service")
            .replace("{token}", new_id()))


def assert_georeport_error(resp: Any, status: int, fmt: str = "json") -> None:
    """GeoReport v2's error list: one {code, description} per problem, code the status."""
    assert resp.status_code == status, resp.text
    if fmt == "xml":
        assert resp.headers["content-type"].startswith("text/xml")
        assert f"<code>{status}</code>" in resp.text
        return
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert body and all(e["code"] == status and e["description"] for e in body), body


@pytest.mark.parametrize(("path", "method"), CORE)
def test_token_required(sqlite_api: Api, path: str, method: str) -> None:
    """/req/core/authentication: 401 with WWW-Authenticate, except where the OpenAPI needs no
    token (the landing page, the conformance declaration)."""
    client = sqlite_api.client
    op = SPEC.openapi["paths"][path][method]
    anonymous = {} in op.get("security", SPEC.openapi.get("security", ()))
    for headers in ({}, {"Authorization": "Bearer not-a-token"},
                    {"Authorization": f"Basic {next(iter(TOKENS))}"}, {"Authorization": "Bearer"}):
        resp = client.request(method.upper(), _url(path), headers=headers)
        if op.get("security") == []:
            # answered without a token: a status the operation declares other than 401 (GET
            # /profile is 404 on a server that runs no profile)
            assert resp.status_code != 401 and str(resp.status_code) in op["responses"]
            continue
        if anonymous and not headers:
            # /req/privacy/anonymous-public-read: answered as the public, not refused.
            assert resp.status_code in (200, 404), resp.text
            continue
        body = assert_problem(resp, 401, "http.unauthorized")
        assert resp.headers["www-authenticate"].startswith("Bearer")
        assert body["requirement"] == "/req/core/authentication"


def test_openapi_and_docs_need_no_token(sqlite_api: Api) -> None:
    assert sqlite_api.client.get("/openapi.json").status_code == 200
    assert sqlite_api.client.get("/docs").status_code == 200


@pytest.mark.parametrize(("path", "method"), CORE)
def test_unknown_parameter(sqlite_api: Api, path: str, method: str) -> None:
    """/req/core/unknown-parameter."""
    client = sqlite_api.client
    headers = {"Authorization": f"Bearer {sqlite_api.staff.token}"}
    resp = client.request(method.upper(), _url(path), params={"sortBy": "x"}, headers=headers)
    body = assert_problem(resp, 400, "http.unknown-parameter")
    assert body["errors"][0]["pointer"] == "/query/sortBy"


@pytest.mark.parametrize(("path", "method"), GEOREPORT)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_operations_answer_on_their_own_wire(sqlite_api: Api, path: str, method: str,
                                                       fmt: str) -> None:
    """The bridge follows GeoReport v2, not the core rules: a parameter it does not know is
    ignored (never 400), a bad credential is 403 and a missing thing 404, each told as
    GeoReport's error list in the format the path asks for; an unknown format is 404."""
    client = sqlite_api.client
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    extra = {"sortBy": "x", "jurisdiction_id": ""}
    resp = client.request(method.upper(), _url(path, fmt), params=extra, headers=form)
    allowed = {"403", "404"} if method == "post" or "{" in path.removesuffix(".{fmt}") else {
        "200"}
    assert str(resp.status_code) in allowed, (path, resp.status_code, resp.text)
    if resp.status_code >= 400:
        assert_georeport_error(resp, resp.status_code, fmt)
    resp = client.request(method.upper(), _url(path, fmt), params={"api_key": "not-a-token"},
                          headers=form)
    if method == "post" or "/requests" in path:
        assert_georeport_error(resp, 403, fmt)
    assert_georeport_error(client.request(method.upper(), _url(path, "yaml"), headers=form), 404)


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "501"}, {"limit": "ten"},
                                   {"community": "11010500100"}, {"updatedSince": "yesterday"},
                                   {"cursor": "not-a-cursor"}, {"status": "Closed!"},
                                   {"submittedFrom": "2025-01-01"}, {"cursor": "x" * 600}])
def test_invalid_parameter_values(sqlite_api: Api, query: dict[str, str]) -> None:
    resp = sqlite_api.staff.get("/issues", params=query)
    assert_problem(resp, 400)


def test_repeated_parameter(sqlite_api: Api) -> None:
    resp = sqlite_api.staff.get("/issues?status=closed&status=submitted")
    assert_problem(resp, 400, "http.invalid-parameter")


def test_json_only(sqlite_api: Api) -> None:
    """/req/core/json-only."""
    client = sqlite_api.client
    auth = {"Authorization": f"Bearer {sqlite_api.staff.token}"}
    body = json.dumps(as_creator(submitted_issue(), sqlite_api.staff.actor()))
    for media in ("text/plain", "application/xml", "application/json-patch+json", ""):
        resp = client.post("/issues", content=body, headers={**auth, "Content-Type": media})
        assert_problem(resp, 415, "http.unsupported-media-type")
    resp = client.post("/issues", content=body,
                       headers={**auth, "Content-Type": "application/json; charset=utf-8"})
    assert resp.status_code == 201


def test_body_size_limit(sqlite_api: Api) -> None:
    """/req/core/request-limits: by Content-Length and by the bytes actually sent."""
    client = sqlite_api.client
    headers = {"Authorization": f"Bearer {sqlite_api.staff.token}",
               "Content-Type": "application/json"}
    big = json.dumps({"x": "a" * (1024 * 1024)}).encode()
    body = assert_problem(client.post("/issues", content=big, headers=headers), 413)
    assert "1048576" in body["message"]["en"]

    def chunks() -> Any:  # no Content-Length: the server counts what arrives
        for _ in range(20):
            yield b" " * 65536
        yield b"{}"

    resp = client.post("/issues", content=chunks(), headers=headers)
    assert_problem(resp, 413, "http.payload-too-large")
    lying = {**headers, "Content-Length": "10"}
    resp = client.post("/issues", content=b'{"resourceType": "Issue"}', headers=lying)
    assert resp.status_code in (400, 413, 422)


def test_nesting_limit(sqlite_api: Api) -> None:
    """/req/core/request-limits: deeper than 64 is 400 and says so; 64 is still parsed."""
    client = sqlite_api.client
    headers = {"Authorization": f"Bearer {sqlite_api.staff.token}",
               "Content-Type": "application/json"}
    for depth, status in ((65, 400), (2000, 400), (64, 201)):
        doc = as_creator(submitted_issue(), sqlite_api.staff.actor())
        doc["extensions"] = {"org.example.deep": "DEEP"}
        # The document, then extensions, then depth - 2 nested arrays.
        text = json.dumps(doc).replace('"DEEP"', "[" * (depth - 2) + "]" * (depth - 2))
        resp = client.post("/issues", content=text, headers=headers)
        if status == 400:
            body = assert_problem(resp, 400, "http.too-deep")
            assert "64" in body["message"]["en"]
        else:
            assert resp.status_code == status, resp.text


@pytest.mark.parametrize("raw", [b"", b"{", b'{"a": }', b"\xff\xfe", b"[1, 2", b"nul",
                                 b'{"a": 1}{"b": 2}', b'"\\ud800"'])
def test_malformed_json(sqlite_api: Api, raw: bytes) -> None:
    resp = sqlite_api.client.post("/issues", content=raw, headers={
        "Authorization": f"Bearer {sqlite_api.staff.token}", "Content-Type": "application/json"})
    assert resp.status_code in (400, 422)
    assert resp.headers["content-type"] == "application/problem+json"


def test_invalid_document_lists_every_error(sqlite_api: Api) -> None:
    """/req/core/invalid-rejected: 422 with a pointer for each problem."""
    doc = submitted_issue()
    doc["urgency"] = "whenever"
    doc["title"] = " padded "
    doc["communityDivisionCode"] = "110105001001"
    doc["gridCode"] = "110105009999-01"
    del doc["requestType"]
    body = assert_problem(sqlite_api.staff.create(doc), 422, "http.unprocessable-content")
    pointers = {e["pointer"] for e in body["errors"]}
    assert {"/urgency", "/title", "/gridCode"} <= pointers
    assert any(e["pointer"] in ("", "/requestType") for e in body["errors"])
    assert all(e["message"]["zh-Hans"] and e["message"]["en"] for e in body["errors"])


# -- no request ends in a server error, and a refused one changes nothing ---------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
MEMBERS = sorted({k for d in EXAMPLES.values() for k in d})


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """Mostly near-valid documents: an example with some members replaced or removed."""
    if draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    doc = copy.deepcopy(draw(st.sampled_from(sorted(EXAMPLES.values(), key=lambda d: d["id"]))))
    doc["id"] = new_id()
    for _ in range(draw(st.integers(0, 3))):
        member = draw(st.sampled_from(MEMBERS))
        if draw(st.booleans()):
            doc.pop(member, None)
        else:
            doc[member] = draw(json_values)
    return doc


request_bodies = st.one_of(documents(), st.builds(submitted_issue), st.fixed_dictionaries(
    {}, optional={"note": json_values, "reason": json_values, "details": json_values,
                  "actor": json_values}))
params = st.just({}) | st.dictionaries(st.sampled_from([
                                          "community", "status", "limit", "cursor", "category",
                                          "updatedSince", "grid", "pseudonym", "resident",
                                          "department", "submittedFrom", "issue", "x"]),
                         st.text(max_size=30), max_size=3)
header_values = st.one_of(st.none(), st.sampled_from(['"1"', '"2"', "*", 'W/"1"', '"x"']),
                          st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126),
                                  max_size=70))
actions = st.sampled_from(["accept", "dispatch", "close-vote", "withdraw", "erase", "nope", "A"])
ids = st.one_of(st.sampled_from(sorted(d["id"] for d in EXAMPLES.values())),
                st.sampled_from(sorted(d["id"] for d in EXAMPLES.values())),
                st.text(alphabet="0123456789abcdef-", min_size=1, max_size=70))


def _last_event(api: Api) -> int:
    with api.client.app.state.sc.service.store.read() as tx:  # type: ignore[attr-defined]
        return int(tx.last_event())


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(op=st.sampled_from(OPERATIONS), fmt=st.sampled_from(["json", "xml", "txt"]),
       role=st.sampled_from(sorted(TOKENS)), body=request_bodies,
       query=params, if_match=header_values, key=header_values, rid=ids, action=actions)
def test_no_server_error_and_refusals_change_nothing(
        sqlite_api: Api, op: tuple[str, str], fmt: str, role: str, body: Any,
        query: dict[str, str], if_match: str | None, key: str | None, rid: str,
        action: str) -> None:
    """/req/core/no-server-error: the test client raises on any 5xx (the last-resort handler
    re-raises), so reaching the end proves none happened. A refusal is told on the
    operation's wire: problem+json, or GeoReport's error list for the bridge."""
    path, method = op
    url = (path.replace("{id}", rid).replace("{action}", action).replace("{fmt}", fmt)
           .replace("{code}", rid).replace("{token}", rid))
    headers = {"Authorization": f"Bearer {role}", "Content-Type": "application/json"}
    if if_match is not None:
        headers["If-Match"] = if_match
    if key is not None:
        headers["Idempotency-Key"] = key
    before = _last_event(sqlite_api)
    try:
        content = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError):
        content = b"{}"
    resp = sqlite_api.client.request(method.upper(), url, params=query, headers=headers,
                                     content=content)
    assert resp.status_code < 500
    if resp.status_code >= 400:
        if SPEC.wire(path, method) is None:
            assert resp.headers["content-type"] == "application/problem+json"
        else:
            assert all(e["code"] == resp.status_code for e in resp.json()) if (
                resp.headers["content-type"] == "application/json") else (
                f"<code>{resp.status_code}</code>" in resp.text)
        assert _last_event(sqlite_api) == before, "a refused request wrote an event"


def test_last_resort_handler_answers_problem_json() -> None:
    """The handler no request reaches (the fuzzing above proves it) still answers 500 as
    problem+json, with no traceback in the body."""
    import asyncio

    from starlette.requests import Request

    from reference_server.errors import _on_anything

    scope = {"type": "http", "method": "GET", "path": "/issues", "headers": [],
             "query_string": b""}
    try:
        raise RuntimeError("secret internal detail")
    except RuntimeError as exc:
        resp = asyncio.run(_on_anything(Request(scope), exc))
    assert resp.status_code == 500
    assert resp.media_type == "application/problem+json"
    body = json.loads(bytes(resp.body))
    assert [e.message for e in PROBLEM.iter_errors(body)] == []
    assert "secret" not in json.dumps(body) and "Traceback" not in json.dumps(body)


def test_refusals_name_the_member_in_both_languages(sqlite_api: Api) -> None:
    """A bad action request or parameter is told in each language, never in the engine's English
    or with a regular expression."""
    doc = submitted_issue()
    created = sqlite_api.staff.create(doc)
    assert created.status_code == 201, created.text
    resp = sqlite_api.staff.act("Issue", doc["id"], "accept",
                                {"actor": {"name": "王芳"}, "reason": "Not A Code"})
    body = assert_problem(resp, 422)
    said = {e["pointer"]: e["message"] for e in body["errors"]}
    assert set(said) == {"/actor/role", "/reason"}
    assert "“role”" in said["/actor/role"]["zh-Hans"]
    assert "“reason”" in said["/reason"]["zh-Hans"] and "^" not in said["/reason"]["en"]
    for text in said.values():
        assert "is a required property" not in text["zh-Hans"]
        assert "does not match" not in text["zh-Hans"]
    resp = sqlite_api.staff.get("/issues", params={"community": "11010500100"})
    body = assert_problem(resp, 400, "http.invalid-parameter")
    zh = body["errors"][0]["message"]["zh-Hans"]
    assert "community" in zh and "does not match" not in zh and "^" not in zh
