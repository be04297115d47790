"""The server serves exactly the OpenAPI: every (path, method), nothing else."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate as validate_openapi

from reference_server.openapi import METHODS, bundled

from .helpers import SPEC, Api

API_PATHS = SPEC.openapi["paths"]
DOCUMENTED = {(path, m) for path, item in API_PATHS.items() for m in METHODS if m in item}
#: a value for each path parameter: an id no record has, an action, a format
SAMPLES = {"id": "6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5", "action": "accept", "fmt": "json",
           "code": "no-such-service", "token": "6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5"}


def _sample(path: str) -> str:
    for name, value in SAMPLES.items():
        path = path.replace(f"{{{name}}}", value)
    return path


def test_routed_set_is_exactly_the_openapi(sqlite_app: Any) -> None:
    routed = set()
    for route in sqlite_app.routes:
        for method in getattr(route, "methods", None) or ():
            routed.add((route.path, method.lower()))
    routed.discard(("/openapi.json", "head"))
    routed.discard(("/docs", "head"))
    assert routed == DOCUMENTED


@pytest.mark.parametrize(("path", "method"), sorted(DOCUMENTED))
def test_every_operation_answers(sqlite_api: Api, path: str, method: str) -> None:
    """Routed: the answer is the operation's own (never the router's 404 or 405), with a
    status the operation declares; a not-found is told on the operation's wire (problem+json
    for the core's, GeoReport's error list for the bridge's)."""
    caller = sqlite_api.staff
    url = _sample(path)
    resp = caller.client.request(method.upper(), url, headers={
        "Authorization": f"Bearer {caller.token}", "Content-Type": "application/json"},
        content=b"{}")
    assert resp.status_code != 405
    documented = set(API_PATHS[path][method]["responses"])
    assert str(resp.status_code) in documented, (path, method, resp.status_code, resp.text)
    if resp.status_code == 404 and SPEC.wire(path, method) is None:
        assert resp.json()["code"] == "http.not-found"
    elif resp.status_code == 404:
        assert [e["code"] for e in resp.json()] == [404]


@pytest.mark.parametrize("path", sorted(API_PATHS))
def test_undocumented_methods_get_405_problem(sqlite_api: Api, path: str) -> None:
    url = _sample(path)
    allowed = {m.upper() for m in METHODS if m in API_PATHS[path]}
    for method in ("GET", "PUT", "POST", "DELETE", "PATCH"):
        if method in allowed:
            continue
        resp = sqlite_api.client.request(method, url, headers={
            "Authorization": f"Bearer {sqlite_api.staff.token}"})
        assert resp.status_code == 405, (method, path)
        assert resp.headers["content-type"] == "application/problem+json"
        assert set(resp.headers["allow"].split(", ")) == allowed


@pytest.mark.parametrize("url", ["/issue", "/issues/", "/issues/x/y", "/residents/x/erase/z",
                                 "/openapi.yaml", "/redoc", "/docs/oauth2-redirect",
                                 "/changes/1", "/audit-events/1"])
def test_unknown_paths_get_404_problem(sqlite_api: Api, url: str) -> None:
    resp = sqlite_api.staff.get(url)
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"


def test_openapi_json_is_the_spec_bundled(sqlite_api: Api) -> None:
    resp = sqlite_api.client.get("/openapi.json")
    assert resp.status_code == 200
    doc = resp.json()
    validate_openapi(doc)
    assert doc == bundled()
    assert set(doc["paths"]) == set(API_PATHS)
    text = resp.text
    # Every reference stays inside the document.
    assert not re.findall(r'"\$ref":\s*"(?!#)', text)
    assert doc["components"]["schemas"]["issue.json"]["properties"]["id"]["$ref"] == (
        "#/components/schemas/datatypes.json/$defs/id")


def test_docs_page(sqlite_api: Api) -> None:
    resp = sqlite_api.client.get("/docs")
    assert resp.status_code == 200
    assert "/openapi.json" in resp.text
