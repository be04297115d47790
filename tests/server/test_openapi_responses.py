"""The reference server's answers held to the OpenAPI where the spec once lagged behind it
(/req/core/openapi-responses): each answer is judged as the conformance kit judges it."""

from __future__ import annotations

import uuid
from typing import Any

from smartcommunity.conformance import Exchange, OpenApiJudge

from .helpers import SPEC, Api, example

JUDGE = OpenApiJudge(SPEC)
BASE = "http://testserver"


def _breaks(method: str, resp: Any) -> list[str]:
    """What the kit finds wrong with ``resp`` (a test client's response)."""
    ex = Exchange(method, str(resp.request.url), {}, None, resp.status_code,
                  dict(resp.headers), resp.text)
    return [v.en for v in JUDGE.judge(ex, BASE)]


def test_a_replayed_create_is_audited_as_the_openapi_declares(api: Api) -> None:
    """The audit log records an idempotent replay's read as ``replay``
    (/req/core/idempotency-replay-access); AuditEvent.operation lists it."""
    doc = example("resident/wang-guiying.json")
    key = f"replay-{uuid.uuid4()}"
    first = api.staff.create(doc, headers={"Idempotency-Key": key})
    again = api.staff.create(doc, headers={"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert _breaks("POST", first) == [] and _breaks("POST", again) == []
    log = api.as_("regulator").get("/audit-events", params={"resident": doc["id"]})
    assert "replay" in {item["operation"] for item in log.json()["items"]}
    assert _breaks("GET", log) == []


def test_browsing_residents_refused_with_a_declared_status(api: Api) -> None:
    """A hotline operator finds residents only by an exact identifier
    (/req/privacy/intake-minimum): the 403 for browsing is one the OpenAPI declares."""
    resp = api.as_("hotline-operator").get("/residents")
    assert resp.status_code == 403
    assert _breaks("GET", resp) == []
