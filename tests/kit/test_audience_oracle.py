"""The audience the kit expects a reader to get, the oracle its redaction checks compare with:
a proxy reads a resident's record as her own audience only while the proxy is one the server
must honour (/req/residents/proxy-scope) — in force, by its period and its consent, and with a
scope that lets them read (/req/residents/read-access) — exactly as the kit decides whose an
issue is (/req/privacy/own-issues-self). No server is needed: the only request, the resident
record an issue names, is answered by a stub."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from smartcommunity.conformance._client import Client
from smartcommunity.conformance._context import KitContext
from smartcommunity.conformance._preset import Preset, Principal
from smartcommunity.specification import load_spec

SPEC = load_spec("1.0")
ACCESS = SPEC.privacy["recordAccess"]
PERSON = str(ACCESS["personType"])
READ_SCOPES = sorted(ACCESS["proxyReadScopes"])
SCOPES = sorted(SPEC.codelist("proxy-scope"))
GRANTED, WITHDRAWN = list(SPEC.codelist("consent-status"))[:2]
COMMUNITY = "110105001001"
AGENT = "00000000-0000-4000-8000-0000000000a1"
HER = "00000000-0000-4000-8000-0000000000b2"
PROXY = Principal(name="proxy", token="proxy-token", role="proxy", communities=(COMMUNITY,),
                  resident=AGENT)


def _at(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat(timespec="seconds")


#: the records the stub server holds, by id
HELD: dict[str, dict[str, Any]] = {}


@functools.cache
def _context() -> KitContext:
    """A kit context whose server holds ``HELD`` and nothing else (one for the module: making
    one reads the spec's templates)."""
    def answer(request: httpx.Request) -> httpx.Response:
        found = HELD.get(request.url.path.rsplit("/", 1)[-1])
        if found is None:
            return httpx.Response(404, json={"status": 404})
        return httpx.Response(200, content=json.dumps(found).encode(),
                              headers={"content-type": "application/json"})

    staff = Principal(name="staff", token="staff-token", role="community-staff",
                      communities=(COMMUNITY,))
    preset = Preset(community=COMMUNITY, other_community=None,
                    principals={"staff": staff, "proxy": PROXY})
    client = Client("http://kit.test", transport=httpx.MockTransport(answer))
    return KitContext(client, preset, SPEC, seed=1)


def _her(entry: dict[str, Any], *consents: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": PERSON, "id": HER, "proxies": [entry], "consents": list(consents)}


def _entry(scope: list[str], since: float = -30, until: float | None = None,
           consent: str | None = None, who: str = AGENT) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": "p1", "resident": {"resourceType": PERSON, "id": who},
                             "scope": scope, "validFrom": _at(since)}
    if until is not None:
        entry["validUntil"] = _at(until)
    if consent is not None:
        entry["consentId"] = consent
    return entry


def _consent(**changes: Any) -> dict[str, Any]:
    return {"id": "c1", "status": GRANTED, "grantedAt": _at(-10), **changes}


OWN = next(a for a in SPEC.audiences if a not in set(SPEC.privacy["roleAudience"].values()))
ROLE = SPEC.audience_of(PROXY.role)

#: label → (her record, whether the proxy reads it as her own audience)
CASES: dict[str, tuple[dict[str, Any], bool]] = {
    "in force": (_her(_entry(READ_SCOPES)), True),
    "ended": (_her(_entry(READ_SCOPES, since=-60, until=-1)), False),
    "not yet in force": (_her(_entry(READ_SCOPES, since=5)), False),
    "its consent in force": (_her(_entry(READ_SCOPES, consent="c1"), _consent()), True),
    "its consent withdrawn": (_her(_entry(READ_SCOPES, consent="c1"),
                                   _consent(status=WITHDRAWN, withdrawnAt=_at(-1))), False),
    "its consent expired": (_her(_entry(READ_SCOPES, consent="c1"),
                                 _consent(expiresAt=_at(-1))), False),
    "its consent missing": (_her(_entry(READ_SCOPES, consent="c1")), False),
    "no scope to read": (_her(_entry(sorted(set(SCOPES) - set(READ_SCOPES)))), False),
    "naming another": (_her(_entry(READ_SCOPES, who=HER)), False),
}


def test_a_proxy_reads_her_record_as_hers_only_while_the_server_must_honour_the_proxy() -> None:
    ctx = _context()
    got = {label: ctx.audience(PROXY, doc) for label, (doc, _) in CASES.items()}
    assert got == {label: OWN if own else ROLE for label, (_, own) in CASES.items()}


def test_only_a_role_standing_for_a_resident_reads_as_her() -> None:
    """A principal of another role is never a resident's own reader, whatever its claims."""
    ctx = _context()
    staff = Principal(name="staff", token="t", role="community-staff",
                      communities=(COMMUNITY,), resident=AGENT)
    doc, _ = CASES["in force"]
    assert ctx.audience(staff, doc) == SPEC.audience_of("community-staff")
    assert ctx.audience(staff, {**doc, "id": AGENT}) == SPEC.audience_of("community-staff")


@given(scope=st.lists(st.sampled_from(SCOPES), min_size=1, unique=True),
       since=st.sampled_from([-60.0, -1.0, 2.0]), until=st.sampled_from([None, -0.5, 30.0]),
       withdrawn=st.booleans(), expires=st.sampled_from([None, -1.0, 3.0]),
       filed_for_her=st.booleans())
def test_her_record_and_her_issues_follow_one_in_force_test(
        scope: list[str], since: float, until: float | None, withdrawn: bool,
        expires: float | None, filed_for_her: bool) -> None:
    """Her record and her issue read as hers by one rule: the same proxy makes both hers or
    neither, a proxy who filed the issue for her under any scope, one who did not under the
    scopes that let them read her."""
    consent = _consent(**({"status": WITHDRAWN, "withdrawnAt": _at(-1)} if withdrawn else {}),
                       **({"expiresAt": _at(expires)} if expires is not None else {}))
    record = _her(_entry(scope, since=since, until=until, consent="c1"), consent)
    HELD[HER] = record
    ctx = _context()
    submitter: dict[str, Any] = {"role": "grid-worker", "name": "网格员"}
    if filed_for_her:
        submitter = {"role": PROXY.role, "name": "代理人",
                     "resident": {"resourceType": PERSON, "id": AGENT}}
    issue = {"resourceType": "Issue", "id": "i1",
             "submittedBy": {**submitter, "onBehalfOf": {"resourceType": PERSON, "id": HER}}}
    in_force = (since < 0 and (until is None or until > 0) and not withdrawn
                and (expires is None or expires > 0))
    reads = bool(set(scope) & set(READ_SCOPES))
    assert ctx.audience(PROXY, record) == (OWN if in_force and reads else ROLE)
    assert ctx.audience(PROXY, issue) == (OWN if in_force and (reads or filed_for_her)
                                          else ROLE)
