"""The server reads the spec: routes, roles, messages, figures and versions come from spec/."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from reference_server import errors
from reference_server.access import Access
from reference_server.api import routes
from reference_server.landing import API_DESCRIPTION, API_DOCUMENTATION
from reference_server.open311 import open311_routes
from reference_server.openapi import operations, resource_operations
from reference_server.public import public_routes
from reference_server.service import POLICIES, Policy, Service
from reference_server.settings import Settings
from reference_server.storage import Store

from .helpers import SPEC, Api, new_id, submitted_issue

ACCESS = Access(SPEC)
SOURCES = sorted(Path(errors.__file__).parent.rglob("*.py"))


def test_one_route_per_operation_and_each_resource_type_fully_served() -> None:
    ops = operations(SPEC.version)
    # The public pages, the Open311 bridge and the API's description and documentation have
    # routes of their own.
    own = {(r.path, m.lower()) for r in [*public_routes(), *open311_routes(SPEC.version)]
           for m in r.methods or ()} | {(API_DESCRIPTION, "get"), (API_DOCUMENTATION, "get")}
    served = {(r.path, m.lower()) for r in routes(SPEC.version, own) for m in r.methods or ()}
    assert served | own == set(ops) and not served & own
    for rtype in SPEC.resource_types:
        kinds = set(resource_operations(SPEC.version, rtype))
        assert {"create", "list", "read", "update"} <= kinds, rtype
        has_lifecycle = rtype in SPEC.lifecycles
        assert ({"act", "history"} <= kinds) == has_lifecycle, rtype


def test_policies_take_their_roles_from_the_spec(tmp_path: Path) -> None:
    assert set(POLICIES) <= set(SPEC.resource_types)
    service = Service(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}"),
                      _store(tmp_path))
    for rtype, policy in service.policies.items():
        assert isinstance(policy, Policy)
        ops = resource_operations(SPEC.version, rtype)
        if ops["create"].roles is not None:
            assert policy.create_roles == ops["create"].roles
        else:
            lifecycle = SPEC.lifecycle(rtype)
            assert policy.create_roles == {role for t in lifecycle["transitions"]
                                           if not t["from"] for role in t["roles"]}
        assert policy.update_roles == ops["update"].roles
        for name, roles in policy.rights.items():
            assert roles == ops[f"right:{name}"].roles


def _store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    store.migrate()
    return store


def test_pseudonym_key_length_is_the_requirements(tmp_path: Path) -> None:
    shortest = SPEC.parameter("/req/privacy/pseudonym", "minimumKeyBytes")
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    store = _store(tmp_path)
    with pytest.raises(ValueError, match=str(shortest)):
        Service(Settings(database_url=url, pseudonym_key=b"k" * (shortest - 1)), store)
    Service(Settings(database_url=url, pseudonym_key=b"k" * shortest), store)


def _emitted_codes() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        found |= set(re.findall(r'"((?:http|lifecycle)\.[a-z-]+)"', path.read_text()))
    return found


def test_every_code_the_server_emits_has_bilingual_templates() -> None:
    codes = _emitted_codes()
    assert "http.not-found" in codes and "lifecycle.role-not-allowed" in codes
    templates = SPEC.codelist("error-code")
    for code in codes:
        assert code in templates, f"{code} has no row in error-code.csv"
        entry = templates.entries[code]
        assert entry.title_zh and entry.title_en and entry.description_en


def test_problem_messages_are_the_codelist_templates() -> None:
    error = errors.PreconditionFailed(given='"1"', current='"2"')
    entry = SPEC.codelist("error-code").entries[error.code]
    body = error.body(SPEC.version)
    assert body["type"].endswith(f"/spec/{SPEC.version}/errors/{error.code}")
    assert body["message"] == {
        "zh-Hans": entry.title_zh.format(given='"1"', current='"2"'),
        "en": entry.title_en.format(given='"1"', current='"2"')}


def test_problem_type_names_the_version_served(api: Api) -> None:
    resp = api.staff.get(f"/issues/{new_id()}")
    assert resp.status_code == 404
    assert resp.json()["type"].endswith(f"/spec/{SPEC.version}/errors/http.not-found")


def test_unknown_action_says_so_in_both_languages(api: Api) -> None:
    created = api.staff.create(submitted_issue(id=new_id()))
    assert created.status_code == 201
    resp = api.staff.post(f"/issues/{created.json()['id']}/actions/fly", {},
                          if_match=created.headers["etag"])
    assert resp.status_code == 404
    [finding] = resp.json()["errors"]
    assert finding["code"] == "lifecycle.unknown-action"
    assert "fly" in finding["message"]["en"] and "fly" in finding["message"]["zh-Hans"]


def test_conformance_declares_the_versions_taken(api: Api) -> None:
    declared = api.client.get("/conformance").json()
    assert SPEC.version in declared["specVersions"]
    major = SPEC.version.split(".")[0]
    assert all(v.split(".")[0] == major for v in declared["specVersions"])


def test_page_size_default_is_the_openapis(api: Api) -> None:
    default = SPEC.openapi["components"]["parameters"]["limit"]["schema"]["default"]
    for _ in range(default + 1 - len(api.staff.get("/issues", params={"limit": 500})
                                     .json()["items"])):
        assert api.staff.create(submitted_issue(id=new_id())).status_code == 201
    page = api.staff.get("/issues").json()
    assert len(page["items"]) == default and page["next"]


def test_erased_form_keeps_only_what_the_schema_allows_an_erased_record() -> None:
    doc: dict[str, Any] = {name: "x" for name in
                           SPEC.schema(ACCESS.person_type)["properties"]}
    kept = ACCESS.erased_form(doc)
    assert kept and set(kept) < set(doc)
    assert {"resourceType", "id", "restriction"} <= set(kept)


def test_record_access_names_roles_of_the_role_codelist() -> None:
    roles = set(SPEC.roles)
    for group in (ACCESS.own_record_roles, ACCESS.person_hidden_from,
                  ACCESS.results.hidden_from):
        assert group and group <= roles
    assert ACCESS.person_type in SPEC.resource_types


@given(st.integers(min_value=-400, max_value=400))
def test_minor_age_is_the_requirements(days: int) -> None:
    age = SPEC.parameter("/req/residents/minor-sensitive", "age")
    now = datetime(2030, 6, 15, 12, tzinfo=UTC)
    birthday = date(now.year - age, now.month, now.day)
    born = birthday + timedelta(days=days)
    assert ACCESS.is_minor({"birthDate": born.isoformat()}, now) == (born > birthday)


#: China Standard Time, by whose date a resident's age counts
CHINA = timezone(timedelta(hours=8))
#: birth dates with a 29 February among them as often as any other
BIRTH_DATES = st.one_of(
    st.dates(min_value=date(1904, 1, 1), max_value=date(2096, 12, 31)),
    st.integers(min_value=476, max_value=524).map(lambda n: date(4 * n, 2, 29)))


@given(born=BIRTH_DATES, seconds=st.integers(min_value=-2 * 86400, max_value=2 * 86400),
       minutes=st.integers(min_value=-14 * 60, max_value=14 * 60))
@example(born=date(2012, 2, 29), seconds=-1, minutes=0)  # 28 Feb 2026, 23:59:59 in China
@example(born=date(2012, 2, 29), seconds=0, minutes=0)  # 1 March 2026, 00:00 in China
@example(born=date(2012, 6, 15), seconds=8 * 3600 - 1, minutes=0)  # 14 June in UTC
def test_a_resident_comes_of_age_at_midnight_china_standard_time(
        born: date, seconds: int, minutes: int) -> None:
    """/req/residents/minor-sensitive: the age counts by the date in China, whatever offset
    the moment of the response is written in; one born on 29 February comes of age on
    1 March in a year without one."""
    age = SPEC.parameter("/req/residents/minor-sensitive", "age")
    try:
        birthday = born.replace(year=born.year + age)
    except ValueError:
        birthday = date(born.year + age, 3, 1)
    start = datetime.combine(birthday, time(), CHINA)
    now = (start + timedelta(seconds=seconds)).astimezone(timezone(timedelta(minutes=minutes)))
    assert ACCESS.is_minor({"birthDate": born.isoformat()}, now) == (seconds < 0)
