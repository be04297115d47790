"""No cache keeps an answer of the API (/req/core/no-store): what it holds depends on who reads
and on what they may read at that moment; the public pages alone may be kept a few seconds."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server.openapi import operations

from .helpers import SPEC, Api, Caller

#: the operations that are not the API's answers: the public pages and the API's description
NOT_API = ("/public/", "/openapi.json", "/docs")
READS = sorted(path for (path, method) in operations(SPEC.version)
               if method == "get" and not path.startswith(NOT_API))
READERS = [None, "community-staff", "regulator", "hotline-operator", "resident", "system"]


def _directives(value: str | None) -> set[str]:
    return {part.split("=")[0].strip().lower() for part in (value or "").split(",") if part}


def _filled(path: str, fmt: str) -> str:
    return (path.replace("{fmt}", fmt).replace("{month}", "2026-11")
            .replace("{action}", "withdraw").replace("{code}", "none")
            .replace("{token}", str(uuid.uuid4())).replace("{id}", str(uuid.uuid4())))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(READS), reader=st.sampled_from(READERS),
       fmt=st.sampled_from(["json", "xml"]))
def test_every_answer_of_the_api_is_not_stored(api: Api, path: str, reader: str | None,
                                               fmt: str) -> None:
    resp = (api.as_(reader) if reader else Caller(api.client, None)).get(_filled(path, fmt))
    assert resp.status_code < 500
    assert "no-store" in _directives(resp.headers.get("cache-control")), (
        path, reader, resp.status_code, resp.headers.get("cache-control"))


@pytest.mark.parametrize("path", ["/residents", "/open311/v2/requests.json",
                                  "/open311/v2/requests.xml"])
def test_refused_writes_are_not_stored(api: Api, path: str) -> None:
    resp = api.staff.post(path, {"resourceType": "nothing"})
    assert 400 <= resp.status_code < 500
    assert "no-store" in _directives(resp.headers.get("cache-control"))


def test_the_public_pages_may_be_kept_a_few_seconds(api: Api) -> None:
    resp = Caller(api.client, None).get("/public/figures")
    assert resp.status_code == 200
    assert "no-store" not in _directives(resp.headers.get("cache-control"))
    assert "public" in _directives(resp.headers.get("cache-control"))
