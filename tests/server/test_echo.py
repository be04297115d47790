"""/req/core/echo-suppression: a record whose externalRefs name this server's own system is a
copy of one of its records coming back; it is never created again, whatever its type, nor
added to a record by an update, however its system URI is spelled; and the answer tells
nothing of whether that record exists or whether the sender may see it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from smartcommunity.strategies import uri_spellings

from .conftest import make_app
from .helpers import COMMUNITY, EXAMPLES, OTHER, PLURAL, SPEC, Api, example, new_id
from .test_lifecycle import _proposed

#: every resource type whose documents carry externalRefs, read from the schemas
ECHOING = [rt for rt in SPEC.resource_types
           if "externalRefs" in SPEC.schema(rt).get("properties", {})]
#: the staff of each demo community
STAFF = {COMMUNITY: "community-staff", OTHER: "demo-staff-hepingli"}
#: another system's reference a copy may carry beside the echoed one
HOTLINE = "https://12345.example.gov.cn/work-orders"
#: a server's own system given as an https URL (the default is a urn:uuid): its other
#: spellings also vary the host's case, the port and the empty path
HOSTED = "https://platform.example.org"


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


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Api:
    """A server whose own system is :data:`HOSTED`."""
    path: Path = tmp_path_factory.mktemp("hosted") / "server.sqlite3"
    return Api(TestClient(make_app(f"sqlite:///{path}", source_uri=HOSTED),
                          raise_server_exceptions=True))


def _refused(resp: Any, index: int = 0) -> None:
    assert resp.status_code == 409, resp.text
    problem = resp.json()
    assert problem["code"] == "http.echo"
    assert [(e["pointer"], e["code"]) for e in problem["errors"]] == [
        (f"/externalRefs/{index}", "http.echo")]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), rt=st.sampled_from(ECHOING), on_hosted=st.booleans())
def test_another_spelling_of_this_system_is_an_echo(api: Api, hosted: Api, data: st.DataObject,
                                                    rt: str, on_hosted: bool) -> None:
    """The system URI is compared after RFC 3986 normalisation: the scheme's or host's case,
    percent-encoding, a default port or an empty path make no other system."""
    server = hosted if on_hosted else api
    source, held = _source(server, rt)
    spelled = data.draw(uri_spellings(source), label="spelled")
    assume(spelled != source)
    echo = _fresh(rt, COMMUNITY)
    echo["externalRefs"] = [{"system": spelled, "value": held}]
    _refused(server.staff.create(echo))
    assert server.staff.get(f"/{PLURAL[rt]}/{echo['id']}").status_code == 404


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), rt=st.sampled_from(ECHOING), before=st.integers(0, 1))
def test_an_update_does_not_add_this_systems_reference(api: Api, data: st.DataObject, rt: str,
                                                       before: int) -> None:
    """A PUT adding a reference to this server's own system, however spelled, is refused as
    a create would be, and changes nothing."""
    source, held = _source(api, rt)
    path = f"/{PLURAL[rt]}/{held}"
    read = api.staff.get(path)
    stored = read.json()
    body = {k: v for k, v in stored.items() if k != "meta"}
    others = [{"system": HOTLINE, "value": "CY1"}][:before]
    body["externalRefs"] = [*others, {"system": data.draw(uri_spellings(source)),
                                      "value": new_id()}]
    _refused(api.staff.put(path, body, if_match=read.headers["etag"]), before)
    assert api.staff.get(path).json() == stored


def test_an_update_keeps_a_reference_it_holds(api: Api) -> None:
    """A record carrying its own system's reference (one imported so) may be updated keeping
    it, however the update spells it; changing its value adds another, refused."""
    source, _ = _source(api, "Issue")
    doc = _fresh("Issue", COMMUNITY)
    doc["externalRefs"] = [{"system": source, "value": "earlier-copy"}]
    service = api.client.app.state.sc.service  # type: ignore[attr-defined]
    assert service.load([doc]) == 1
    path = f"/issues/{doc['id']}"
    read = api.staff.get(path)
    body = {k: v for k, v in read.json().items() if k != "meta"}
    body["title"] = "3 号楼电梯仍停在 5 层"
    scheme, rest = source.split(":", 1)
    body["externalRefs"] = [{"system": f"{scheme.upper()}:{rest}", "value": "earlier-copy"}]
    resp = api.staff.put(path, body, if_match=read.headers["etag"])
    assert resp.status_code == 200, resp.text
    body["externalRefs"] = [{"system": source, "value": "another-copy"}]
    _refused(api.staff.put(path, body, if_match=resp.headers["etag"]))
