"""The Open311 GeoReport v2 bridge (/conf/open311) against the real server, over HTTP.

Independent Open311 client libraries from the package index talk to it: ``civicbot`` (JSON:
services, definitions, filing, tokens) and ``georeport`` (JSON and XML reads). Neither has a
way to file in XML, so the XML filing posts the form civicbot builds with ``requests`` and
reads the answer with ``xmltodict``: no code of this project on the client side.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

warnings.filterwarnings("ignore", message=".*httpx2.*")

import requests  # noqa: E402
import xmltodict  # noqa: E402
from civicbot import Open311Client  # noqa: E402
from civicbot.http import HttpError, HttpTransport, RateLimiter  # noqa: E402
from civicbot.registry import Endpoint  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from georeport import GeoReport  # noqa: E402

from reference_server import Settings, create_app  # noqa: E402
from smartcommunity import load_spec  # noqa: E402
from smartcommunity.profiles import load_profile  # noqa: E402
from tests.kit.harness import serving  # noqa: E402

from .helpers import KEY, TOKENS, Api  # noqa: E402

SPEC = load_spec("1.0")
PROFILE = Path(SPEC.folder) / "profiles" / "beijing-chaoyang.json"
RESIDENT = "test-resident-chen"
PREFIX = "/open311/v2"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path = tmp_path_factory.mktemp("open311") / "server.sqlite3"
    app = create_app(Settings(database_url=f"sqlite:///{path}", tokens=TOKENS, demo=True,
                              pseudonym_key=KEY))
    app.state.profile = load_profile(PROFILE)  # as `serve --profile` leaves it
    with serving(app) as running:
        yield running


@pytest.fixture(scope="module")
def api(server: Any) -> Api:
    return Api(TestClient(server.app))


def _civic(server: Any) -> Open311Client:
    endpoint = Endpoint(id="reference", name="reference server",
                        base_url=server.base_url + PREFIX, write=True)
    transport = HttpTransport(rate_limiter=RateLimiter(min_interval=0.0))
    return Open311Client(endpoint, transport)


def _publish(api: Api, rid: str) -> None:
    """Community staff publish the issue, so that anonymous Open311 reads see it
    (/req/privacy/issue-publication)."""
    current = api.staff.get(f"/issues/{rid}")
    body = current.json()
    body.pop("meta")
    body["publication"] = {"published": True, "area": "community"}
    resp = api.staff.put(f"/issues/{rid}", body, if_match=current.headers["etag"])
    assert resp.status_code == 200, resp.text


def test_independent_client_json(server: Any, api: Api) -> None:
    """civicbot lists services, reads a definition and files a request; georeport reads it
    back with its status (/req/open311/services, /req/open311/create, /req/open311/read)."""
    civic = _civic(server)
    services = civic.list_services()
    codes = {s["service_code"] for s in services}
    assert set(load_profile(PROFILE).services) == codes
    lift = next(s for s in services if s["service_code"] == "housing.lift-installation")
    assert lift["metadata"] is True and lift["service_name"] == "老楼加装电梯"
    definition = civic.get_service_definition("housing.lift-installation")
    assert [a["code"] for a in definition["attributes"]] == ["building", "households-consenting"]
    assert definition["attributes"][0]["required"] is True
    filed = civic.create_request(
        "housing.lift-installation", dry_run=False, confirm="SEND", api_key=RESIDENT,
        validate_remote=True, lat=39.909, lng=116.452,
        description="3号楼想加装电梯\n六层住户里老人多，上下楼很困难。",
        attributes={"building": "3", "households-consenting": "18"},
        first_name="志强", last_name="陈", phone="13911112222")
    rid = filed.response[0]["service_request_id"]
    # The reporter finds her token, and reads her request back, with the credential she
    # filed it with; civicbot's token lookup sends none, so it is an anonymous read that
    # finds nothing until the issue is published (/req/open311/read).
    token = requests.get(f"{server.base_url}{PREFIX}/tokens/{rid}.json",
                         params={"api_key": RESIDENT}, timeout=10).json()
    assert token == [{"service_request_id": rid, "token": rid}]
    with pytest.raises(HttpError) as hidden:
        civic.get_token(rid)
    assert hidden.value.status == 404
    mine = requests.get(f"{server.base_url}{PREFIX}/requests/{rid}.json",
                        params={"api_key": RESIDENT}, timeout=10).json()[0]
    assert mine["status"] == "open" and mine["lat"] == 39.909
    assert mine["description"] == "3号楼想加装电梯\n六层住户里老人多，上下楼很困难。"
    # Anonymous readers see it only once published, and then without its point or text:
    # the description they get is the title, the service's name (/req/open311/mapping).
    reader = GeoReport(server.base_url + PREFIX)
    with pytest.raises(requests.HTTPError):
        reader.get_service_request(rid)
    _publish(api, rid)
    assert civic.get_token(rid) == token
    public = reader.get_service_request(rid)
    assert public["service_request_id"] == rid and public["status"] == "open"
    assert public["service_code"] == "housing.lift-installation"
    assert public["lat"] is None and public["long"] is None
    assert public["description"] == "老楼加装电梯"
    listed = reader.get_service_requests(service_code="housing.lift-installation",
                                         status="open")
    assert rid in {r["service_request_id"] for r in listed}
    assert rid not in {r["service_request_id"] for r in
                       reader.get_service_requests(status="closed")}


def test_independent_client_xml(server: Any, api: Api) -> None:
    """The same exchange in XML: georeport reads services, a definition and the request."""
    reader = GeoReport(server.base_url + PREFIX, output_format="xml")
    services = reader.get_service_list()
    assert "housing.lift" in {s["service_code"] for s in services}
    definition = reader.get_service_definition("housing.lift-installation")
    attrs = definition["attributes"]["attribute"]
    assert attrs[0]["code"] == "building" and attrs[0]["required"] == "true"
    form = _civic(server).build_request(
        "environment.garbage", address_string="幸福里社区5号楼西侧垃圾站",
        description="垃圾站满溢三天无人清运", api_key=RESIDENT).form
    resp = requests.post(f"{server.base_url}{PREFIX}/requests.xml", data=form, timeout=10)
    assert resp.status_code == 201, resp.text
    assert resp.headers["content-type"].startswith("text/xml")
    rid = xmltodict.parse(resp.content)["service_requests"]["request"]["service_request_id"]
    _publish(api, rid)
    got = reader.get_service_request(rid)
    assert got["service_request_id"] == rid and got["status"] == "open"
    assert got["service_name"] == "垃圾清运"
    assert got["address"] is None  # the place description is personal: not public
    many = reader.get_service_requests(service_request_id=rid)
    many = many if isinstance(many, list) else [many]
    assert [r["service_request_id"] for r in many] == [rid]


def test_errors_are_georeport_errors(server: Any) -> None:
    """/req/open311/errors: [{code, description}] in the format asked, with the HTTP status,
    naming the field; nothing is stored."""
    civic = _civic(server)
    before = requests.get(f"{server.base_url}{PREFIX}/requests.json",
                          params={"api_key": RESIDENT}, timeout=10).json()
    with pytest.raises(HttpError) as caught:
        civic.create_request("no-such-service", dry_run=False, confirm="SEND",
                             api_key=RESIDENT, lat=39.9, lng=116.4)
    assert caught.value.status == 400
    body = requests.post(f"{server.base_url}{PREFIX}/requests.json", timeout=10, data={
        "api_key": RESIDENT, "service_code": "housing.lift-installation", "lat": "91",
        "long": "116"}).json()
    described = " ".join(e["description"] for e in body)
    assert {e["code"] for e in body} == {400}
    assert "attribute[building]" in described and "lat" in described
    xml = requests.post(f"{server.base_url}{PREFIX}/requests.xml", timeout=10,
                        data={"service_code": "environment.garbage", "lat": "39.9",
                              "long": "116.4"})
    assert xml.status_code == 403
    assert xmltodict.parse(xml.content)["errors"]["error"]["code"] == "403"
    wrong = requests.get(f"{server.base_url}{PREFIX}/services.json",
                         params={"jurisdiction_id": "https://elsewhere.example"}, timeout=10)
    assert wrong.status_code == 400 and wrong.json()[0]["code"] == 400
    span = requests.get(f"{server.base_url}{PREFIX}/requests.json", timeout=10, params={
        "start_date": "2024-01-01T00:00:00+08:00", "end_date": "2024-06-01T00:00:00+08:00"})
    assert span.status_code == 400 and "end_date" in span.json()[0]["description"]
    after = requests.get(f"{server.base_url}{PREFIX}/requests.json",
                         params={"api_key": RESIDENT}, timeout=10).json()
    assert after == before


def test_filed_request_is_a_native_create(server: Any, api: Api) -> None:
    """/req/open311/create: a request filed through Open311 is read, listed and announced in
    the change feed like a native create, bound to the credential, with the native
    Idempotency-Key."""
    feed = api.as_("system")
    cursor = feed.get("/changes", params={"cursor": "latest"}).json()["next"]
    form = {"api_key": RESIDENT, "service_code": "environment.garbage", "lat": "39.91",
            "long": "116.45", "description": "楼下垃圾桶满了", "first_name": "志强",
            "last_name": "陈", "phone": "+8613911112222", "email": "chen@example.org"}
    first = requests.post(f"{server.base_url}{PREFIX}/requests.json", data=form, timeout=10,
                          headers={"Idempotency-Key": "o311-native-1"})
    again = requests.post(f"{server.base_url}{PREFIX}/requests.json", data=form, timeout=10,
                          headers={"Idempotency-Key": "o311-native-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true"
    rid = first.json()[0]["service_request_id"]
    assert again.json()[0]["service_request_id"] == rid
    stored = api.staff.get(f"/issues/{rid}")
    assert stored.status_code == 200
    doc = stored.json()
    assert doc["submittedBy"]["name"] == TOKENS[RESIDENT]["name"]  # bound to the api_key
    assert doc["reporterContact"] == {"name": "志强 陈", "phone": "+8613911112222"}
    assert doc["intakeChannel"] == "app" and doc["status"] == "submitted"
    listed = api.staff.get("/issues", params={"category": "environment.garbage",
                                              "limit": 500}).json()["items"]
    assert rid in {i["id"] for i in listed}
    events = feed.get("/changes", params={"cursor": cursor} if cursor else {}).json()["items"]
    mine = [e for e in events if e.get("subject", "").endswith(rid)
            or (e.get("data") or {}).get("id") == rid]
    assert len(mine) == 1, events[-3:]
    assert mine[0]["type"].endswith("created")
    # The public, the staff and the resident see the same issue the native API shows them.
    mine_o311 = requests.get(f"{server.base_url}{PREFIX}/requests/{rid}.json",
                             params={"api_key": "demo-staff-liu-fang"}, timeout=10).json()[0]
    assert mine_o311["lat"] == doc["location"]["point"]["latitude"]
    assert requests.get(f"{server.base_url}{PREFIX}/requests/{rid}.json",
                        timeout=10).status_code == 404


def test_services_without_a_profile_are_the_categories(tmp_path: Path) -> None:
    """Without a city profile the services are the spec's issue categories."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 's.sqlite3'}",
                              tokens=TOKENS, pseudonym_key=KEY))
    client = TestClient(app)
    codes = {s["service_code"] for s in client.get(f"{PREFIX}/services.json").json()}
    categories = {c for c in SPEC.codelist("issue-category") if "." in c}
    assert codes == categories
    assert client.get(f"{PREFIX}/services/environment.garbage.json").json()["attributes"] == []
    assert client.get(f"{PREFIX}/services/nope.xml").status_code == 404
    assert client.get(f"{PREFIX}/services.yaml").status_code == 404
    app.state.sc.service.store.dispose()


def _strip(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored issue without what differs between two creates of the same content."""
    out = {k: v for k, v in doc.items() if k not in ("id", "meta", "submittedAt", "history")}
    out["history"] = [{k: v for k, v in e.items() if k in ("seq", "action", "actor", "toStatus")}
                      for e in doc.get("history") or []]
    return out


def _audit_tail(audit: Any, after: int) -> list[dict[str, Any]]:
    """Every audit record after sequence number ``after``, read page by page to the end."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        resp = audit.get("/audit-events", params={"limit": 500, **(
            {"cursor": cursor} if cursor else {})})
        assert resp.status_code == 200, resp.text
        page = resp.json()
        found += [r for r in page["items"] if r["seq"] > after]
        cursor = page.get("next")
        if not cursor:
            return found


def _audit_shape(rows: list[dict[str, Any]], rid: str) -> list[dict[str, Any]]:
    """Audit records without what differs between two creates (when, which issue)."""
    return [{k: ("<issue>" if v == rid else v) for k, v in r.items() if k not in ("seq", "at")}
            for r in rows]


def test_open311_and_native_creates_are_the_same(server: Any, api: Api) -> None:
    """/req/open311/create: the same report filed natively and through Open311 is stored
    alike, makes the same change-feed event (redacted alike for the feed reader) and the same
    audit trail, and reads the same to the public once published."""
    from smartcommunity.open311 import catalogue as make_catalogue
    from smartcommunity.open311 import issue_to_request, request_to_issue

    services = make_catalogue(load_profile(PROFILE))
    form = {"service_code": "environment.noise", "lat": "39.91", "long": "116.45",
            "description": "夜间施工噪声\n每晚十一点后还在施工。", "first_name": "志强",
            "last_name": "陈", "phone": "+8613911112222"}
    resident = api.as_(RESIDENT)
    feed = api.as_("system")
    audit = api.as_("regulator")

    def events_after(cursor: str | None) -> list[dict[str, Any]]:
        return feed.get("/changes", params={"cursor": cursor} if cursor else {}).json()["items"]

    start = feed.get("/changes", params={"cursor": "latest"}).json()["next"]
    before = max((r["seq"] for r in _audit_tail(audit, 0)), default=0)
    native = request_to_issue(form, services, community="110105001001", role="resident",
                              now="2025-06-16T07:52:00+08:00").value
    assert resident.post("/issues", native).status_code == 201
    # Each creator reads back what it made, as a client does after filing.
    assert resident.get(f"/issues/{native['id']}").status_code == 200
    native_audit = _audit_tail(audit, before)
    middle = feed.get("/changes", params={"cursor": start, "limit": 1000}).json().get("next")
    between = max((r["seq"] for r in native_audit), default=before)
    filed = requests.post(f"{server.base_url}{PREFIX}/requests.json", timeout=10,
                          data={**form, "api_key": RESIDENT})
    assert filed.status_code == 201
    rid = filed.json()[0]["service_request_id"]
    assert requests.get(f"{server.base_url}{PREFIX}/requests/{rid}.json", timeout=10,
                        params={"api_key": RESIDENT}).status_code == 200
    bridge_audit = _audit_tail(audit, between)
    assert _audit_shape(native_audit, native["id"]) == _audit_shape(bridge_audit, rid)
    first = [e for e in events_after(start) if e.get("subject", "").endswith(native["id"])]
    second = [e for e in events_after(middle) if e.get("subject", "").endswith(rid)]
    assert len(first) == len(second) == 1
    assert first[0]["type"] == second[0]["type"]
    assert set(first[0]) == set(second[0])
    # The feed reader gets the same members of both, redacted alike.
    assert _strip(first[0]["data"]) == _strip(second[0]["data"])
    stored_native = api.staff.get(f"/issues/{native['id']}").json()
    stored_bridge = api.staff.get(f"/issues/{rid}").json()
    assert _strip(stored_native) == _strip(stored_bridge)
    for issue_id in (native["id"], rid):
        _publish(api, issue_id)
    public = api.as_("public")
    views = [requests.get(f"{server.base_url}{PREFIX}/requests/{i}.json", timeout=10).json()[0]
             for i in (native["id"], rid)]
    for issue_id, view in zip((native["id"], rid), views, strict=True):
        expected = issue_to_request(public.get(f"/issues/{issue_id}").json(), services).value
        assert view == expected
    assert {k: v for k, v in views[0].items() if k not in (
        "service_request_id", "requested_datetime", "updated_datetime")} == {
        k: v for k, v in views[1].items() if k not in (
            "service_request_id", "requested_datetime", "updated_datetime")}


_FIELDS = ("service_code", "lat", "long", "address_string", "address_id", "description",
           "first_name", "last_name", "phone", "email", "media_url", "requested_datetime",
           "attribute[building]", "attribute[households-consenting]", "attribute[x][]",
           "jurisdiction_id", "device_id", "status")


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(form=st.dictionaries(
    st.sampled_from(_FIELDS) | st.text(min_size=1, max_size=12),
    st.one_of(st.text(max_size=60), st.sampled_from(
        ["housing.lift-installation", "environment.garbage", "39.9", "116.4", "-999", "nan",
         "inf", "2025-01-01T08:00:00+08:00", "2025-13-01", "13911112222"])),
    max_size=10))
def test_any_form_is_filed_or_refused_with_a_georeport_error(api: Api,
                                                             form: dict[str, str]) -> None:
    """Whatever the form holds, the answer is a filed request or a GeoReport error list naming
    what is wrong, never a server error."""
    for fmt in ("json", "xml"):
        resp = api.client.post(f"{PREFIX}/requests.{fmt}", data={**form, "api_key": RESIDENT})
        assert resp.status_code in (200, 201, 400, 403), resp.text
        if fmt == "json":
            body = resp.json()
            assert isinstance(body, list) and body
            if resp.status_code >= 400:
                assert all(e["code"] == resp.status_code and e["description"] for e in body)
            else:
                assert api.staff.get(f"/issues/{body[0]['service_request_id']}"
                                     ).status_code == 200
        else:
            root = xmltodict.parse(resp.content)
            assert set(root) <= {"errors", "service_requests"}


def test_filing_and_filters_on_every_backend(app: Any) -> None:
    """SQLite and PostgreSQL answer the bridge alike: filed, listed by code, status and date."""
    client = TestClient(app)
    filed = client.post(f"{PREFIX}/requests.json", data={
        "api_key": RESIDENT, "service_code": "environment.noise", "lat": "39.91",
        "long": "116.45", "description": "广场舞音响太大"})
    assert filed.status_code == 201, filed.text
    rid = filed.json()[0]["service_request_id"]
    staff = {"api_key": "demo-staff-liu-fang"}

    def ids(**params: str) -> set[str]:
        resp = client.get(f"{PREFIX}/requests.json", params={**staff, **params})
        assert resp.status_code == 200, resp.text
        return {r["service_request_id"] for r in resp.json()}

    assert rid in ids(service_code="environment.noise,environment.garbage", status="open")
    assert rid not in ids(service_code="environment.garbage")
    assert rid not in ids(status="closed")
    assert rid not in ids(start_date="2020-01-01T00:00:00+08:00",
                          end_date="2020-03-01T00:00:00+08:00")
    assert ids(service_request_id=f"{rid},00000000-0000-4000-8000-000000000000") == {rid}


def test_requests_are_paged_past_the_cap(tmp_path: Path) -> None:
    """GET requests answers at most the mapping's maxRequests, says so in discovery, and pages
    through the rest with page/page_size, linking each next page, so a reader gets them all."""
    from datetime import datetime, timedelta, timezone

    from smartcommunity.open311 import catalogue as make_catalogue
    from smartcommunity.open311 import mapping, request_to_issue

    table = mapping(SPEC.version)
    cap = table.max_requests
    total = cap + 234
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'many.sqlite3'}",
                              tokens=TOKENS, pseudonym_key=KEY))
    services = make_catalogue()
    now = datetime.now(timezone(timedelta(hours=8)))
    docs = [request_to_issue({"service_code": "environment.noise", "lat": "39.91",
                              "long": "116.45", "description": f"噪声 {i}"}, services,
                             community="110105001001", role="resident",
                             now=(now - timedelta(minutes=i)).isoformat(timespec="seconds")
                             ).value for i in range(total)]
    app.state.sc.service.load(docs, validate=False)
    client = TestClient(app)
    staff = {"api_key": "demo-staff-liu-fang"}
    discovery = client.get(f"{PREFIX}/discovery.json").json()
    assert discovery[table.raw["paging"]["discovery"]] == cap
    first = client.get(f"{PREFIX}/requests.json", params=staff)
    assert first.status_code == 200 and len(first.json()) == cap
    assert 'rel="next"' in first.headers["link"]
    seen: list[str] = []
    url: str | None = f"{PREFIX}/requests.json?api_key=demo-staff-liu-fang&page_size=500"
    pages = 0
    while url:
        resp = client.get(url)
        assert resp.status_code == 200, resp.text
        seen += [r["service_request_id"] for r in resp.json()]
        link = resp.headers.get("link")
        url = link.split(">", 1)[0].lstrip("<") if link else None
        pages += 1
    assert pages == 3 and len(seen) == len(set(seen)) == total
    assert set(seen) == {d["id"] for d in docs}
    # The same pages in XML, and nothing past the end.
    xml = client.get(f"{PREFIX}/requests.xml", params={**staff, "page": "3", "page_size": "500"})
    assert xml.status_code == 200 and "link" not in xml.headers
    assert xml.text.count("<service_request_id>") == total - 1000
    assert client.get(f"{PREFIX}/requests.json",
                      params={**staff, "page": "9", "page_size": "500"}).json() == []
    for bad in ({"page_size": "0"}, {"page_size": str(cap + 1)}, {"page": "x"},
                {"page": "-1"}):
        # refused with or without service_request_id, which overrides only the filters
        for ids in ({}, {"service_request_id": docs[0]["id"]}):
            resp = client.get(f"{PREFIX}/requests.json", params={**staff, **bad, **ids})
            assert resp.status_code == 400
            assert next(iter(bad)) in resp.json()[0]["description"]
    app.state.sc.service.store.dispose()


def test_multipart_is_the_form_and_an_upload_is_refused(server: Any, api: Api) -> None:
    """/req/open311/media: a multipart POST's text parts file a request like the form; a
    ``media`` file part is a 400 naming it and media_url, and stores nothing."""
    form = {"api_key": RESIDENT, "service_code": "environment.garbage", "lat": "39.91",
            "long": "116.45", "description": "垃圾站满溢\n三天无人清运",
            "media_url": "https://photos.example.org/garbage.jpg"}
    texts = {k: (None, v) for k, v in form.items()}
    filed = requests.post(f"{server.base_url}{PREFIX}/requests.json", files=texts, timeout=10)
    assert filed.status_code == 201, filed.text
    assert filed.request.headers["content-type"].startswith("multipart/form-data")
    rid = filed.json()[0]["service_request_id"]
    doc = api.staff.get(f"/issues/{rid}").json()
    assert doc["title"] == "垃圾清运" and doc["description"] == "垃圾站满溢\n三天无人清运"
    assert doc["extensions"]["org.open311.georeport"]["media_url"] == form["media_url"]
    before = requests.get(f"{server.base_url}{PREFIX}/requests.json",
                          params={"api_key": RESIDENT}, timeout=10).json()
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
    for fmt in ("json", "xml"):
        refused = requests.post(
            f"{server.base_url}{PREFIX}/requests.{fmt}", data=form, timeout=10,
            files={"media": ("garbage.jpg", photo, "image/jpeg")})
        assert refused.status_code == 400, refused.text
        if fmt == "json":
            said = refused.json()
            assert said[0]["code"] == 400
            assert said[0]["description"].startswith("media:")
            assert "media_url" in said[0]["description"]
        else:
            assert xmltodict.parse(refused.content)["errors"]["error"]["code"] == "400"
    broken = requests.post(f"{server.base_url}{PREFIX}/requests.json", timeout=10,
                           data=b"--x\r\nnot a part", headers={
                               "Content-Type": "multipart/form-data; boundary=nope"})
    assert broken.status_code == 400 and broken.json()[0]["code"] == 400
    after = requests.get(f"{server.base_url}{PREFIX}/requests.json",
                         params={"api_key": RESIDENT}, timeout=10).json()
    assert after == before


def test_a_credential_serving_several_communities_files_where_the_request_says(
        server: Any, api: Api) -> None:
    """/req/open311/community: a hotline serving every community files in the community
    jurisdiction_id names, the grid address_id names, or the grid polygon holding the point;
    an ambiguous request is a 400 naming jurisdiction_id that stores nothing."""
    hotline = "demo-hotline-zhao-li"
    url = f"{server.base_url}{PREFIX}/requests.json"
    base = {"api_key": hotline, "service_code": "environment.garbage",
            "description": "垃圾站满溢"}

    made: dict[str, str] = {}

    def community(**more: str) -> str:
        resp = requests.post(url, data={**base, **more}, timeout=10)
        assert resp.status_code == 201, resp.text
        rid = resp.json()[0]["service_request_id"]
        made[rid] = api.as_("regulator").get(f"/issues/{rid}").json()["communityDivisionCode"]
        return made[rid]

    def listed() -> list[Any]:
        return list(requests.get(url, params={"api_key": hotline}, timeout=10).json())

    before = listed()
    for vague in ({"address_string": "东门外"}, {"lat": "39.9100", "long": "116.4000"},
                  {"address_id": "no-such-grid", "address_string": "东门外"}):
        resp = requests.post(url, data={**base, **vague}, timeout=10)
        assert resp.status_code == 400, resp.text
        assert resp.json()[0]["description"].startswith("jurisdiction_id:")
    assert listed() == before
    assert community(jurisdiction_id="110105001002", address_string="东门外") == "110105001002"
    assert community(address_id="110105001001-03") == "110105001001"
    # Inside the polygon of 和平里第2网格 (beijing-chaoyang.json).
    assert community(lat="39.9065", long="116.4450") == "110105001002"
    # The query's jurisdiction_id lists that community only.
    hepingli = {r["service_request_id"] for r in requests.get(
        url, params={"api_key": hotline, "jurisdiction_id": "110105001002"}, timeout=10).json()}
    assert {r for r, c in made.items() if c == "110105001002"} <= hepingli
    assert not {r for r, c in made.items() if c != "110105001002"} & hepingli
    bogus = requests.post(url, data={**base, "jurisdiction_id": "elsewhere",
                                     "address_string": "东门外"}, timeout=10)
    assert bogus.status_code == 400 and "jurisdiction_id" in bogus.json()[0]["description"]
    # A community the credential does not serve is refused as the native API refuses it.
    stranger = requests.post(url, data={**base, "api_key": RESIDENT,
                                        "jurisdiction_id": "110105001002",
                                        "address_string": "东门外"}, timeout=10)
    assert stranger.status_code == 403
    # A credential of one community still files there without saying so.
    mine = requests.post(url, data={**base, "api_key": RESIDENT, "lat": "39.9065",
                                    "long": "116.4450"}, timeout=10)
    assert mine.status_code == 201


def test_an_unresolved_community_is_reported_with_the_other_problems(server: Any) -> None:
    """/req/open311/errors: every problem of the form at once, the community's among them."""
    resp = requests.post(f"{server.base_url}{PREFIX}/requests.json", timeout=10, data={
        "api_key": "demo-hotline-zhao-li", "service_code": "no-such.service",
        "address_string": "东门外"})
    assert resp.status_code == 400
    fields = {e["description"].split(":", 1)[0] for e in resp.json()}
    assert fields == {"jurisdiction_id", "service_code"}


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(form=st.dictionaries(
    st.sampled_from(_FIELDS), st.one_of(st.text(max_size=40), st.sampled_from(
        ["environment.garbage", "39.9", "116.4", "13911112222", "110105001002"])),
    max_size=8))
def test_multipart_and_form_encoding_answer_alike(api: Api, form: dict[str, str]) -> None:
    """/req/open311/media: the same fields sent form-encoded and as multipart text parts get the
    same answer (filed both times, or refused both times for the same fields)."""
    def post(**how: Any) -> Any:
        return api.client.post(f"{PREFIX}/requests.json", **how)

    fields = {**form, "api_key": RESIDENT}
    plain_ = post(data=fields)
    multi = post(files={k: (None, v.encode("utf-8")) for k, v in fields.items()})
    assert multi.status_code == plain_.status_code, (plain_.text, multi.text)
    if plain_.status_code >= 400:
        assert multi.json() == plain_.json()


# ----------------------------------------------------------- repeated fields, dates, id lists
_FORM = "application/x-www-form-urlencoded"
_BASE = [("api_key", RESIDENT), ("service_code", "environment.garbage"), ("lat", "39.91"),
         ("long", "116.45"), ("description", "垃圾桶满了"), ("first_name", "桂英"),
         ("jurisdiction_id", "110105001001")]
#: keys that may repeat: a list key, and an attribute (its definition says how many values)
_REPEATABLE = ("attribute[building]", "attribute[x][]")


def _mine(api: Api) -> list[Any]:
    return list(api.client.get(f"{PREFIX}/requests.json", params={"api_key": RESIDENT}).json())


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(field=(st.sampled_from([k for k, _ in _BASE] + list(_FIELDS)) | st.from_regex(
    r"[a-z_][a-z0-9_.\[\]]{0,11}", fullmatch=True)).filter(
        lambda k: not k.endswith("[]") and not k.startswith("attribute[")),
       values=st.lists(st.text(min_size=1, max_size=20), min_size=2, max_size=3),
       multipart=st.booleans())
def test_any_field_given_twice_is_refused_by_name(api: Api, field: str, values: list[str],
                                                  multipart: bool) -> None:
    """/req/open311/create: a scalar field given more than once, the same value or not, is a
    400 naming it that stores nothing; no value is taken, and the form never answers 500."""
    pairs = [(k, v) for k, v in _BASE if k != field] + [(field, v) for v in values]
    before = _mine(api)
    if multipart:
        resp = api.client.post(f"{PREFIX}/requests.json",
                               files=[(k, (None, v.encode("utf-8"))) for k, v in pairs])
    else:
        resp = api.client.post(f"{PREFIX}/requests.json", content=urlencode(pairs),
                               headers={"content-type": _FORM})
    assert resp.status_code == 400, resp.text
    said = resp.json()
    assert [e["code"] for e in said] == [400]
    assert said[0]["description"].startswith(f"{field}: ")
    assert "more than once" in said[0]["description"] and "不止一次" in said[0]["description"]
    assert _mine(api) == before


def test_every_field_given_twice_is_named_and_list_keys_still_collect(api: Api) -> None:
    """All repeated fields are named at once (first_name and description together); the
    credential and the community twice are refused too, not a 500; list keys and attributes
    may repeat."""
    twice = [*_BASE, ("first_name", "王"), ("description", "again"),
             ("jurisdiction_id", "110105001001"), ("api_key", RESIDENT)]
    resp = api.client.post(f"{PREFIX}/requests.json", content=urlencode(twice),
                           headers={"content-type": _FORM})
    assert resp.status_code == 400
    assert [e["description"].split(":", 1)[0] for e in resp.json()] == [
        "first_name", "description", "jurisdiction_id", "api_key"]
    # A query parameter the bridge reads, given twice, is refused by name as well.
    query = api.client.post(f"{PREFIX}/requests.json?jurisdiction_id=110105001001"
                            "&jurisdiction_id=110105001002", data=dict(_BASE))
    assert query.status_code == 400
    assert query.json()[0]["description"].startswith("jurisdiction_id: ")
    listed = api.client.get(f"{PREFIX}/requests.json?api_key={RESIDENT}&status=open"
                            "&status=closed")
    assert listed.status_code == 400 and listed.json()[0]["description"].startswith("status: ")
    # A repeated list key is collected, and a single-valued attribute given twice is the
    # library's refusal of that attribute, not this one.
    kept = api.client.post(f"{PREFIX}/requests.json", content=urlencode(
        [*_BASE, ("attribute[x][]", "a"), ("attribute[x][]", "b")]),
        headers={"content-type": _FORM})
    assert kept.status_code == 400  # x is no attribute of the service: named as such
    assert all("more than once" not in e["description"] for e in kept.json())
    lift = [(k, v) for k, v in _BASE if k != "service_code"] + [
        ("service_code", "housing.lift-installation"), ("attribute[building]", "1"),
        ("attribute[building]", "2")]
    refused = api.client.post(f"{PREFIX}/requests.json", content=urlencode(lift),
                              headers={"content-type": _FORM})
    assert refused.status_code == 400
    assert any(e["description"].startswith("attribute[building]: ") for e in refused.json())
    assert all("more than once" not in e["description"] for e in refused.json())


def _filed_by(api: Api, *keys: str) -> list[Any]:
    return [api.client.get(f"{PREFIX}/requests.json", params={"api_key": k}).json()
            for k in keys]


@settings(max_examples=24, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(field=st.sampled_from(["api_key", "jurisdiction_id"]), same=st.booleans(),
       multipart=st.booleans())
def test_a_field_in_the_query_and_the_form_is_given_twice(api: Api, field: str, same: bool,
                                                          multipart: bool) -> None:
    """/req/open311/create: the query string's api_key and jurisdiction_id are fields of the
    POST like the form's; given in both, the same value or not, it is a 400 naming it that
    stores nothing, neither value taken."""
    other = {"api_key": "test-resident-chen", "jurisdiction_id": "110105001002"}[field]
    given = dict(_BASE)[field] if same else other
    query = urlencode({field: given, "locale": "en"})
    before = _filed_by(api, RESIDENT, "test-resident-chen")
    url = f"{PREFIX}/requests.json?{query}"
    if multipart:
        resp = api.client.post(url, files=[(k, (None, v.encode("utf-8"))) for k, v in _BASE])
    else:
        resp = api.client.post(url, content=urlencode(_BASE), headers={"content-type": _FORM})
    assert resp.status_code == 400, resp.text
    assert [e["description"].split(":", 1)[0] for e in resp.json()] == [field]
    assert _filed_by(api, RESIDENT, "test-resident-chen") == before


def test_a_field_in_the_query_alone_is_taken(api: Api) -> None:
    """The credential and the community may be given in the query instead of the form; a
    blank one there is no value, as in the form."""
    form = [(k, v) for k, v in _BASE if k not in ("api_key", "jurisdiction_id")]
    resp = api.client.post(f"{PREFIX}/requests.json?api_key=test-resident-chen"
                           "&jurisdiction_id=110105001001", data=dict(form))
    assert resp.status_code == 201, resp.text
    rid = resp.json()[0]["service_request_id"]
    issue = api.staff.get(f"/issues/{rid}").json()
    assert issue["submittedBy"]["name"] == "陈志强"
    assert issue["communityDivisionCode"] == "110105001001"
    blank = api.client.post(f"{PREFIX}/requests.json?jurisdiction_id=&api_key=",
                            data=dict(_BASE))
    assert blank.status_code == 201, blank.text


_OFFSETS = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


def _in_calendar(when: datetime) -> bool:
    """Whether ``when`` is an instant of years 0001 to 9999 in UTC."""
    try:
        when.astimezone(UTC)
    except OverflowError:
        return False
    return True


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(when=st.datetimes(min_value=datetime.min, max_value=datetime.max, timezones=_OFFSETS),
       name=st.sampled_from(["start_date", "end_date"]))
@example(when=datetime(9999, 12, 30, tzinfo=timezone(timedelta(hours=8))), name="start_date")
@example(when=datetime(1, 1, 2, tzinfo=UTC), name="end_date")
@example(when=datetime(9999, 12, 31, 20, tzinfo=timezone(timedelta(hours=-8))),
         name="start_date")
@example(when=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=8))), name="end_date")
@example(when=datetime.max.replace(tzinfo=UTC), name="start_date")
@example(when=datetime.min.replace(tzinfo=UTC), name="end_date")
def test_any_date_is_a_window_or_refused_by_name(api: Api, when: datetime, name: str) -> None:
    """/req/open311/read: any date with offset opens a window (the default 90 days stopping
    at the ends of the calendar) or, when its instant lies outside years 0001 to 9999 in UTC,
    is a 400 naming it: never a 500."""
    resp = api.client.get(f"{PREFIX}/requests.json",
                          params={"api_key": "demo-staff-liu-fang", name: when.isoformat()})
    if _in_calendar(when):
        assert resp.status_code == 200, resp.text
        assert isinstance(resp.json(), list)
    else:
        assert resp.status_code == 400, resp.text
        said = resp.json()[0]["description"]
        assert said.startswith(f"{name}: ") and "9999" in said
    # Both ends given: a forward range of at most 90 days, else refused naming the end.
    later = when + timedelta(days=1) if when.year < 9999 else when
    both = api.client.get(f"{PREFIX}/requests.json", params={
        "start_date": when.isoformat(), "end_date": later.isoformat()})
    assert both.status_code in (200, 400), both.text
    assert (both.status_code == 200) == (_in_calendar(when) and _in_calendar(later))


@pytest.fixture(scope="module")
def filed(api: Api) -> list[str]:
    """Three requests the staff can read."""
    made = []
    for n in range(3):
        resp = api.client.post(f"{PREFIX}/requests.json", data={
            **dict(_BASE), "description": f"垃圾桶满了 {n}"})
        assert resp.status_code == 201, resp.text
        made.append(resp.json()[0]["service_request_id"])
    return made


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(picks=st.lists(st.integers(0, 3), max_size=12))
def test_an_id_list_is_answered_once_each_in_order(api: Api, filed: list[str],
                                                   picks: list[int]) -> None:
    """/req/open311/paging: service_request_id answers each readable id once, in the order
    first listed, whatever repeats."""
    pool = [*filed, "00000000-0000-4000-8000-000000000000"]
    ids = [pool[i] for i in picks]
    resp = api.client.get(f"{PREFIX}/requests.json", params={
        "api_key": "demo-staff-liu-fang", "service_request_id": ",".join(ids)})
    assert resp.status_code == 200, resp.text
    want = [i for i in dict.fromkeys(ids) if i in filed]
    if not ids:  # no id: the filters answer, the three among the latest requests
        assert set(filed) <= {r["service_request_id"] for r in resp.json()}
    else:
        assert [r["service_request_id"] for r in resp.json()] == want


def test_an_id_list_holds_at_most_max_requests(api: Api, filed: list[str]) -> None:
    """/req/open311/paging: 1500 repeats of one id answer it once; maxRequests
    distinct ids are answered, one more is a 400 naming service_request_id."""
    from smartcommunity.open311 import mapping

    cap = mapping(SPEC.version).max_requests
    staff = {"api_key": "demo-staff-liu-fang"}
    many = api.client.get(f"{PREFIX}/requests.json", params={
        **staff, "service_request_id": ",".join([filed[0]] * 1500), "page_size": "10"})
    assert many.status_code == 200
    assert [r["service_request_id"] for r in many.json()] == [filed[0]]
    others = [str(n) for n in range(cap - 1)]
    full = api.client.get(f"{PREFIX}/requests.json", params={
        **staff, "service_request_id": ",".join([filed[0], *others])})
    assert full.status_code == 200
    assert [r["service_request_id"] for r in full.json()] == [filed[0]]
    over = api.client.get(f"{PREFIX}/requests.json", params={
        **staff, "service_request_id": ",".join([filed[0], *others, "one-more"])})
    assert over.status_code == 400
    said = over.json()[0]["description"]
    assert said.startswith("service_request_id: ") and str(cap) in said
    assert f"{cap + 1}" in said


def test_a_body_that_is_no_form_is_a_415_saying_which_forms(api: Api) -> None:
    """/req/open311/errors: a JSON body is 415, its description saying what a POST takes."""
    resp = api.client.post(f"{PREFIX}/requests.json",
                           json={"api_key": RESIDENT, "service_code": "environment.garbage"})
    assert resp.status_code == 415
    said = resp.json()[0]["description"]
    assert resp.json()[0]["code"] == 415
    assert _FORM in said and "multipart/form-data" in said and "not application/json" in said
    assert "must be application/json" not in said and "必须是 application/x-www-form" in said
    bare = api.client.post(f"{PREFIX}/requests.xml", content=b"x")
    assert bare.status_code == 415 and b"multipart/form-data" in bare.content


#: characters no id, token or service code may hold (/req/core/path-id)
_CONTROL = st.sampled_from([chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))])
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f]")
#: an id, token or code with a control character somewhere in it, or too long for a path id
_AROUND = st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)),
                  max_size=6)  # a slash would make another path, none of the bridge's
_UNFIT = st.one_of(
    st.tuples(_AROUND, _CONTROL, _AROUND).map("".join),
    st.text(alphabet="abcdef0123456789-", min_size=65, max_size=90))
#: the places whose value is one path segment, held to a path id's length
_IN_PATH = ("id", "token", "code")
#: where the bridge is given an id, a token or a service code: (field, path, query)
_PLACES = {
    "id": lambda v, f: (f"/requests/{quote(v, safe='')}.{f}", {}),
    "token": lambda v, f: (f"/tokens/{quote(v, safe='')}.{f}", {}),
    "code": lambda v, f: (f"/services/{quote(v, safe='')}.{f}", {}),
    "service_request_id": lambda v, f: (f"/requests.{f}", {"service_request_id": v}),
    "service_code": lambda v, f: (f"/requests.{f}", {"service_code": f"environment.noise,{v}"}),
}


def _georeport_errors(resp: Any, fmt: str) -> list[tuple[int, str]]:
    """The ``(code, description)`` items of a GeoReport error list in ``fmt``."""
    if fmt == "json":
        assert resp.headers["content-type"] == "application/json"
        return [(int(e["code"]), str(e["description"])) for e in resp.json()]
    root = xmltodict.parse(resp.content, force_list=("error",))
    return [(int(e["code"]), str(e["description"])) for e in root["errors"]["error"]]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(value=_UNFIT, field=st.sampled_from(sorted(_PLACES)), fmt=st.sampled_from(["json", "xml"]),
       key=st.sampled_from([None, RESIDENT, "demo-staff-liu-fang"]))
@example(value="\x00", field="id", fmt="json", key=None)
@example(value="\x00", field="token", fmt="xml", key=None)
@example(value="\x00", field="service_request_id", fmt="json", key=None)
@example(value="\x00", field="service_code", fmt="json", key=None)
def test_an_unfit_id_token_or_code_is_a_400_on_every_backend(app: Any, value: str, field: str,
                                                              fmt: str, key: str | None) -> None:
    """/req/core/path-id, /req/open311/errors: an id, token or service code holding a control
    character (or longer than an id may be) is refused with 400 naming it, in the format
    asked, before it reaches storage: never a 500, on PostgreSQL (which holds no NUL) too. A
    listed id longer than that is merely found nowhere."""
    assume(field in _IN_PATH or _CONTROL_RE.search(value) is not None)
    path, query = _PLACES[field](value, fmt)
    resp = TestClient(app).get(PREFIX + path, params={**query, **(
        {"api_key": key} if key else {})})
    assert resp.status_code == 400, resp.text
    said = _georeport_errors(resp, fmt)
    assert [c for c, _ in said] == [400]
    assert said[0][1].startswith(f"{field}: ") and " / " in said[0][1]


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(key=st.one_of(st.text(alphabet="abc", min_size=129, max_size=400),
                     st.tuples(st.text(alphabet="abc", max_size=5), st.sampled_from(" \t"),
                               st.text(alphabet="abc", max_size=5)).map("".join)))
def test_an_idempotency_key_no_key_may_be_is_a_400_on_every_backend(app: Any, key: str) -> None:
    """The Open311 POST checks Idempotency-Key as the OpenAPI declares it, as the standard's
    API does: too long or holding a space is a 400 naming it that stores nothing, where
    PostgreSQL answered 500 to a key longer than its column."""
    client = TestClient(app)
    before = _filed_by_client(client, RESIDENT)
    resp = client.post(f"{PREFIX}/requests.json", data=dict(_BASE),
                       headers={"Idempotency-Key": key})
    assert resp.status_code == 400, resp.text
    assert [e["description"].split(":", 1)[0] for e in resp.json()] == ["Idempotency-Key"]
    assert _filed_by_client(client, RESIDENT) == before


def _filed_by_client(client: TestClient, key: str) -> Any:
    return client.get(f"{PREFIX}/requests.json", params={"api_key": key}).json()


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(given=st.text(min_size=1, max_size=12).filter(lambda t: t.strip()),
       multipart=st.booleans())
@example(given="x", multipart=False)
def test_attributes_given_as_text_are_an_invalid_field(app: Any, given: str,
                                                       multipart: bool) -> None:
    """/req/open311/create: a form's ``attributes`` is text, never the object of attributes
    an export may carry: refused with 400 naming it, in both languages, not a 500."""
    client = TestClient(app)
    pairs = [*_BASE, ("attributes", given)]
    if multipart:
        resp = client.post(f"{PREFIX}/requests.json",
                           files=[(k, (None, v.encode("utf-8"))) for k, v in pairs])
    else:
        resp = client.post(f"{PREFIX}/requests.json", content=urlencode(pairs),
                           headers={"content-type": _FORM})
    assert resp.status_code == 400, resp.text
    said = [e["description"] for e in resp.json()]
    assert any(d.startswith("attributes: ") and "属性" in d for d in said), said


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_failure_is_still_a_georeport_error(api: Api, fmt: str,
                                              monkeypatch: pytest.MonkeyPatch,
                                              caplog: pytest.LogCaptureFixture) -> None:
    """/req/open311/errors: should the bridge fail where nothing foresaw it, the answer is a
    GeoReport error list with code 500 in the format asked, never problem+json, and the
    failure is logged."""
    from reference_server import open311 as bridge

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("unforeseen")

    monkeypatch.setattr(bridge, "request_to_issue", broken)
    resp = api.client.post(f"{PREFIX}/requests.{fmt}", data=dict(_BASE))
    assert resp.status_code == 500
    (said,) = _georeport_errors(resp, fmt)
    assert said[0] == 500 and "Internal server error" in said[1] and "服务器内部错误" in said[1]
    assert "unforeseen" not in resp.text
    assert any(r.exc_info and "unforeseen" in str(r.exc_info[1]) for r in caplog.records)
