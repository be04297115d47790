"""What a resident's Open311 filing gives away, and to whom: nothing of her text becomes the
issue's title (/req/open311/mapping), a token lookup answers only whoever may read the issue
(/req/open311/read), and the issue's id can be neither foreseen nor taken first
(/req/open311/create)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server import Settings, create_app
from smartcommunity import load_spec
from smartcommunity.open311 import from_xml
from smartcommunity.profiles import load_profile

from .helpers import KEY, TOKENS, Api, submitted_issue
from .test_open311 import _publish

SPEC = load_spec("1.0")
PROFILE = Path(SPEC.folder) / "profiles" / "beijing-chaoyang.json"
PREFIX = "/open311/v2"
FILER = "test-resident-chen"
#: the garbage service's Chinese name in the city's catalogue
GARBAGE = "垃圾清运"
#: what a resident types first in GeoReport's one text box
PERSONAL = "王桂英 13800138000 5号楼2单元302 独居老人"
#: callers of a token lookup: none (anonymous), the filer, another resident of her community,
#: the community's staff, a department not assigned the issue, the public role
CALLERS = (None, FILER, "demo-resident-wang-guiying", "demo-staff-liu-fang",
           "demo-dept-housing", "demo-public")


def _app(database: Path) -> Any:
    app = create_app(Settings(database_url=f"sqlite:///{database}", tokens=TOKENS, demo=True,
                              pseudonym_key=KEY))
    app.state.profile = load_profile(PROFILE)  # as `serve --profile` leaves it
    return app


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    app = _app(tmp_path_factory.mktemp("open311-filer") / "server.sqlite3")
    yield Api(TestClient(app))
    app.state.sc.service.store.dispose()


def _form(**more: str) -> dict[str, str]:
    return {"api_key": FILER, "service_code": "environment.garbage", "lat": "39.91",
            "long": "116.45", "description": f"{PERSONAL}\n家中漏水无人帮忙", **more}


def _file(client: TestClient, form: dict[str, str], key: str | None = None,
          fmt: str = "json", **params: str) -> Any:
    return client.post(f"{PREFIX}/requests.{fmt}", data=form, params=params,
                       headers={"Idempotency-Key": key} if key else {})


# ------------------------------------------------------------------ the title (mapping)
_LINE = st.text(st.characters(categories=("L", "N", "P", "S", "Zs")), max_size=60)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_LINE, max_size=3), locale=st.sampled_from([None, "en", "zh-Hans"]),
       fmt=st.sampled_from(["json", "xml"]))
def test_nothing_a_resident_types_becomes_the_title(api: Api, lines: list[str],
                                                    locale: str | None, fmt: str) -> None:
    """/req/open311/mapping: whatever she types, and in whatever language her app asks, the
    issue is titled with the service's Chinese name and her whole text is its description
    (tagged personal); once the issue is published, neither the public nor another resident
    reads any of it, natively or through Open311."""
    text = "\n".join([PERSONAL, *lines])
    resp = _file(api.client, _form(description=text), fmt=fmt,
                 **({"locale": locale} if locale else {}))
    assert resp.status_code == 201, resp.text
    rid = str((from_xml(resp.content)[1] if fmt == "xml" else resp.json())[0][
        "service_request_id"])
    stored = api.staff.get(f"/issues/{rid}").json()
    assert stored["title"] == GARBAGE
    assert stored["description"] == text.strip()
    mine = api.client.get(f"{PREFIX}/requests/{rid}.json", params={"api_key": FILER}).json()
    assert mine[0]["description"] == text.strip()  # she reads back what she filed
    _publish(api, rid)
    shown = [api.client.get(f"/issues/{rid}").text,
             api.client.get(f"{PREFIX}/requests/{rid}.json").text,
             api.as_("demo-resident-wang-guiying").get(f"/issues/{rid}").text]
    for said in shown:
        assert not any(word in said for word in PERSONAL.split()), said


def test_a_published_issue_shows_the_service_not_her_words(api: Api) -> None:
    """The first line of a filed description (a name, a phone, a flat, "lives alone") was the
    title, which anonymous readers and other residents see once the issue is published."""
    resp = _file(api.client, _form())
    rid = resp.json()[0]["service_request_id"]
    _publish(api, rid)
    public = api.client.get(f"{PREFIX}/requests/{rid}.json").json()[0]
    assert public["description"] == GARBAGE
    assert api.client.get(f"/issues/{rid}").json()["title"] == GARBAGE


# ------------------------------------------------------------------------- tokens (read)
def _token(client: TestClient, rid: str, caller: str | None, *, bearer: bool = False) -> Any:
    if caller is None:
        return client.get(f"{PREFIX}/tokens/{rid}.json")
    if bearer:
        return client.get(f"{PREFIX}/tokens/{rid}.json",
                          headers={"Authorization": f"Bearer {caller}"})
    return client.get(f"{PREFIX}/tokens/{rid}.json", params={"api_key": caller})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(caller=st.sampled_from(CALLERS), published=st.booleans(), bearer=st.booleans())
def test_a_token_answers_exactly_who_may_read_the_issue(api: Api, caller: str | None,
                                                       published: bool, bearer: bool) -> None:
    """/req/open311/read: a token lookup answers when, and only when, the same caller may
    read the issue natively (and through GET requests/{id}); otherwise it is the very 404 of
    a token naming nothing, so it tells no one that an unpublished issue exists."""
    rid = _file(api.client, _form()).json()[0]["service_request_id"]
    if published:
        _publish(api, rid)
    native = api.as_(caller).get(f"/issues/{rid}") if caller else api.client.get(
        f"/issues/{rid}")
    bridge = api.client.get(f"{PREFIX}/requests/{rid}.json",
                            params={"api_key": caller} if caller else {})
    got = _token(api.client, rid, caller, bearer=bearer)
    assert native.status_code in (200, 404) and bridge.status_code == native.status_code
    assert got.status_code == native.status_code, (caller, published, got.text)
    if got.status_code == 200:
        assert got.json() == [{"service_request_id": rid, "token": rid}]
    else:
        nothing = _token(api.client, str(uuid.uuid4()), caller, bearer=bearer)
        assert (got.status_code, got.content) == (nothing.status_code, nothing.content)
    if caller == FILER:
        assert got.status_code == 200  # the filer always finds her own request
    if caller is None and not published:
        assert got.status_code == 404


def test_an_unknown_api_key_on_a_token_is_refused(api: Api) -> None:
    """A token lookup reads with the credential it is given: one the server does not know
    is a 403, as for every read of the bridge, not an anonymous lookup."""
    resp = api.client.get(f"{PREFIX}/tokens/{uuid.uuid4()}.json", params={"api_key": "nope"})
    assert resp.status_code == 403 and resp.json()[0]["code"] == 403


# ----------------------------------------------------------------------- ids (create)
_KEYS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                max_size=40)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=_KEYS)
def test_an_id_is_random_and_a_retry_replays_it(api: Api, key: str) -> None:
    """/req/open311/create: whatever Idempotency-Key she sends, her issue's id is a version 4
    UUID no one computes from her principal and the key; a retry replays the same id; the
    same key from someone else files another issue."""
    first = _file(api.client, _form(), key)
    assert first.status_code == 201, first.text
    rid = first.json()[0]["service_request_id"]
    assert uuid.UUID(rid).version == 4
    resident = TOKENS[FILER]["resident"]
    for name in (f"resident:resident:{resident}/{key}", f"{FILER}/{key}", key):
        assert rid != str(uuid.uuid5(uuid.NAMESPACE_URL, name))
    again = _file(api.client, _form(), key)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()[0]["service_request_id"] == rid
    other = _file(api.client, _form(api_key="demo-resident-wang-guiying"), key)
    assert other.status_code == 201 and other.json()[0]["service_request_id"] != rid


def test_no_one_can_take_her_next_id(api: Api) -> None:
    """The id of her next filing was uuid5 of her principal and her key: another resident
    created an issue with that id natively first, and her filing got 409."""
    resident = TOKENS[FILER]["resident"]
    foreseen = str(uuid.uuid5(uuid.NAMESPACE_URL, f"resident:resident:{resident}/order-0002"))
    squat = submitted_issue()
    squat["id"] = foreseen
    assert api.as_("resident").create(squat).status_code == 201
    filed = _file(api.client, _form(), "order-0002")
    assert filed.status_code == 201, filed.text
    assert filed.json()[0]["service_request_id"] != foreseen


def test_a_retry_after_a_restart_replays_the_first_id(tmp_path: Path) -> None:
    """The replay comes from the stored idempotency record, not from the id being computable:
    another instance over the same database (or the same one restarted) gives the first id."""
    database = tmp_path / "server.sqlite3"
    before = _app(database)
    first = _file(TestClient(before), _form(), "after-restart")
    assert first.status_code == 201, first.text
    before.state.sc.service.store.dispose()
    after = _app(database)
    again = _file(TestClient(after), _form(), "after-restart")
    assert again.status_code == 200, again.text
    assert again.json()[0]["service_request_id"] == first.json()[0]["service_request_id"]
    changed = _file(TestClient(after), _form(description="别的事"), "after-restart")
    assert changed.status_code == 400  # the same key with another form, as natively
    after.state.sc.service.store.dispose()


def test_a_retry_racing_the_first_post_replays_it(api: Api,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A retry sent while the first POST of its key was still being stored is built with an
    id of its own; the native create finds the key taken, and the bridge builds it again from
    the stored record, so the retry replays the first id rather than being refused."""
    from reference_server import open311 as bridge

    first = _file(api.client, _form(), "raced")
    rid = first.json()[0]["service_request_id"]
    original = bridge._filing
    calls: list[str] = []

    def racing(service: Any, rtype: str, principal: Any, key: str | None) -> tuple[str, str]:
        calls.append(rtype)
        if len(calls) == 1:  # as if the first POST had not been stored yet
            return str(uuid.uuid4()), bridge.stamp(bridge.now_cst())
        return original(service, rtype, principal, key)

    monkeypatch.setattr(bridge, "_filing", racing)
    again = _file(api.client, _form(), "raced")
    assert again.status_code == 200, again.text
    assert again.json()[0]["service_request_id"] == rid and len(calls) == 2
