"""/req/core/echo-suppression: a record whose externalRefs name this server's own system is a
copy of one of its records coming back; it is never created again, whatever its type, and the
answer tells nothing of whether that record exists or whether the sender may see it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import COMMUNITY, EXAMPLES, OTHER, PLURAL, SPEC, Api, example, new_id
from .test_lifecycle import _proposed

#: every resource type whose documents carry externalRefs, read from the schemas
ECHOING = [rt for rt in SPEC.resource_types
           if "externalRefs" in SPEC.schema(rt).get("properties", {})]
#: the staff of each demo community
STAFF = {COMMUNITY: "community-staff", OTHER: "demo-staff-hepingli"}
#: another system's reference a copy may carry beside the echoed one
HOTLINE = "https://12345.example.gov.cn/work-orders"


def _new(rt: str) -> dict[str, Any]:
    """A new document of ``rt`` in the first community, with a fresh id: a spec example in
    the status a new record has (a consultation's examples are all further on: one is taken
    back to its proposal)."""
    if rt == "Consultation":
        doc = _proposed()
        # proposed by the committee, not escalated from an issue only its community holds
        doc["origin"] = {k: v for k, v in doc["origin"].items() if k != "issues"}
        doc["origin"]["type"] = "residents-committee"
        return doc
    for name, doc in sorted(EXAMPLES.items()):
        text = json.dumps(doc)
        if doc["resourceType"] != rt or OTHER in text or COMMUNITY not in text:
            continue
        if rt in SPEC.lifecycles and doc.get("status") not in {
                t.get("to") for t in SPEC.lifecycle(rt)["transitions"] if not t["from"]}:
            continue
        if doc.get("restriction", {}).get("state", "none") == "none":
            return example(name)
    raise AssertionError(f"no creatable example of {rt}")


def _fresh(rt: str, community: str) -> dict[str, Any]:
    """A new document of ``rt`` in ``community`` without externalRefs."""
    doc: dict[str, Any] = json.loads(json.dumps(_new(rt)).replace(COMMUNITY, community))
    doc.pop("externalRefs", None)
    return doc


def _source(api: Api, rt: str) -> tuple[str, str]:
    """This server's own system (the meta.source of what it creates) and the id of a record
    of ``rt`` it holds in the first community."""
    resp = api.staff.create(_fresh(rt, COMMUNITY))
    assert resp.status_code == 201, resp.text
    return resp.json()["meta"]["source"], resp.json()["id"]


def test_every_type_with_external_refs_is_covered() -> None:
    assert {"Resident", "Issue", "Consultation", "Organisation"} <= set(ECHOING)
    assert set(SPEC.requirements["/req/core/echo-suppression"].applies_to) == set(ECHOING)


@pytest.mark.parametrize("rt", ECHOING)
def test_an_echo_is_not_created_again(api: Api, rt: str) -> None:
    source, held = _source(api, rt)
    echo = _fresh(rt, COMMUNITY)
    echo["externalRefs"] = [{"system": source, "value": held}]
    resp = api.staff.create(echo)
    assert resp.status_code == 409, resp.text
    problem = resp.json()
    assert problem["code"] == "http.echo"
    assert [(e["pointer"], e["code"]) for e in problem["errors"]] == [
        ("/externalRefs/0", "http.echo")]
    assert api.staff.get(f"/{PLURAL[rt]}/{echo['id']}").status_code == 404


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rt=st.sampled_from(ECHOING), before=st.integers(0, 1), after=st.integers(0, 1))
def test_the_answer_tells_nothing_of_the_record(api: Api, rt: str, before: int,
                                                after: int) -> None:
    """The copy of a record the sender may see, of one it may not see (another community's)
    and of no record at all get the same answer, so an echo is no way to learn what exists;
    the echoed reference may stand anywhere among the copy's references."""
    source, seen = _source(api, rt)
    resp = api.as_(STAFF[OTHER]).create(_fresh(rt, OTHER))
    assert resp.status_code == 201, resp.text
    unseen = resp.json()["id"]
    assert api.staff.get(f"/{PLURAL[rt]}/{unseen}").status_code == 404
    answers = []
    for value in (seen, unseen, new_id()):
        echo = _fresh(rt, COMMUNITY)
        others = [{"system": f"{HOTLINE}/{i}", "value": f"CY{i}"} for i in range(before + after)]
        echo["externalRefs"] = [*others[:before], {"system": source, "value": value},
                                *others[before:]]
        resp = api.staff.create(echo)
        assert resp.status_code == 409, resp.text
        assert api.staff.get(f"/{PLURAL[rt]}/{echo['id']}").status_code == 404
        answers.append((resp.headers.get("content-type"),
                        resp.text.replace(value, "{value}")))
    assert answers[0][1].count("{value}") >= 1
    assert answers[1:] == answers[:1] * 2
    assert f'"/externalRefs/{before}"' in answers[0][1]


def test_a_reference_to_another_system_is_kept(api: Api) -> None:
    """Only this server's own system makes a copy: a reference naming any other is kept."""
    for rt in ECHOING:
        doc = _fresh(rt, COMMUNITY)
        doc["externalRefs"] = [{"system": HOTLINE, "value": "CY202506160001"}]
        resp = api.staff.create(doc)
        assert resp.status_code == 201, resp.text
        assert resp.json()["externalRefs"] == doc["externalRefs"]
