"""A person record's stored facts (storage ``_person``) decide what its document decides: whether
it goes out as stored or through redaction (restricted, erased, a minor's), and what the audit
log names (/req/privacy/audit-log). Every write keeps them those of the document written; facts
derived by other rules are never read."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from reference_server.access import Access
from reference_server.auth import ALL, Principal
from reference_server.settings import CST
from reference_server.storage import Stored
from reference_server.storage._person import person_facts
from smartcommunity.strategies import documents

from .helpers import KEY, SPEC, Api
from .test_restriction_kept import PATHS, _ask, _restricted
from .test_rights_integrity import _load, _record, restrictions

ACCESS = Access(SPEC, KEY, remembered=1 << 24)  # as a server has it: records remembered
PERSON = ACCESS.person_type
EXAMPLES = [d for _, d in SPEC.examples() if d.get("resourceType") == PERSON]
ROLES = sorted(SPEC.privacy["roleAudience"])
COMMUNITY = "110105001001"
#: the member that keeps a record restricted while a request made then waits
KEPT = str(ACCESS.restricted_kept)


def _stored(doc: dict[str, Any], facts: str | None) -> Stored:
    return Stored(1, PERSON, str(doc["id"]), 1, orjson.dumps(doc).decode(), COMMUNITY, "",
                  facts)


def _years_ago(years: int, days: int) -> str:
    today = datetime.now(UTC).astimezone(CST).date()
    try:
        then = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        then = date(today.year - years, 3, 1)
    return (then + timedelta(days=days)).isoformat()


@st.composite
def residents(draw: st.DrawFn) -> dict[str, Any]:
    """A person record with any restriction (or none), born either side of the minor age, or
    with no birth date or one that is no date, so that the identity number decides."""
    doc = copy.deepcopy(draw(st.one_of(st.sampled_from(EXAMPLES), documents(PERSON))))
    restriction = draw(st.one_of(st.none(), restrictions(),
                                 st.just({"state": "none", KEPT: "2024-01-01"})))
    doc.pop("restriction", None)
    if restriction is not None:
        doc["restriction"] = restriction
    born = draw(st.one_of(
        st.none(), st.just("not a date"), st.just("2019-02-30"),
        st.builds(_years_ago, st.sampled_from([ACCESS.minor_age, 30, 2]),
                  st.integers(-2, 2))))
    if born is None:
        doc.pop("birthDate", None)
    else:
        doc["birthDate"] = born
    return doc


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(residents(), st.sampled_from(ROLES), st.booleans())
def test_the_facts_decide_as_the_document_does(doc: dict[str, Any], role: str,
                                               own: bool) -> None:
    principal = Principal(name="reader", role=role, communities=ALL,
                          organisation={"id": "civil-affairs"}, user_id="u-1",
                          resident=str(doc["id"]) if own else None)
    facts = person_facts(doc)
    with_facts, without = _stored(doc, facts), _stored(doc, None)
    fast = ACCESS.present(principal, with_facts, check=False)
    slow = ACCESS.present(principal, without, check=False)
    assert fast is not None and slow is not None
    assert fast.bytes() == slow.bytes()
    # served as stored, or remembered redacted: the audit names the same members
    assert ACCESS.disclosed(with_facts, fast) == ACCESS.disclosed(without, slow)
    # read again, from memory where it was remembered: the same again
    again_row = _stored(doc, facts)
    again = ACCESS.present(principal, again_row, check=False)
    assert again is not None and again.bytes() == slow.bytes()
    assert ACCESS.disclosed(again_row, again) == ACCESS.disclosed(without, slow)
    rules = ACCESS.person_rules
    read = rules.read(facts)
    assert read is not None
    for minor in (False, True):
        assert read.disclosed(minor) == ACCESS.sensitive_pointers(doc, minor=minor)


def test_a_page_served_as_stored_parses_no_record() -> None:
    """What the facts are for: the system reading an adult's record as stored, and the audit
    of that read, leave its document unparsed."""
    doc = copy.deepcopy(EXAMPLES[0])
    doc.pop("restriction", None)
    doc["birthDate"] = _years_ago(40, 0)
    row = _stored(doc, person_facts(doc))
    system = Principal(name="mirror", role="system", communities=ALL)
    presented = ACCESS.present(system, row, check=False)
    assert presented is not None and presented.text == row.text
    assert presented.facts is not None
    assert ACCESS.disclosed(row, presented) == ACCESS.sensitive_pointers(doc, minor=False)
    assert row._doc is None


def test_facts_of_other_rules_are_not_read() -> None:
    """Facts saying an unrestricted adult's record, stored beside a restricted child's, decide
    nothing once they name other rules: the record goes out in its minimal form."""
    doc = copy.deepcopy(EXAMPLES[0])
    doc["restriction"] = {"state": ACCESS.restricted_state,
                          "requestedAt": "2024-01-01T00:00:00+08:00",
                          "decidedAt": "2024-01-02T00:00:00+08:00"}
    doc["birthDate"] = _years_ago(5, 0)
    adult = {k: v for k, v in doc.items() if k != "restriction"}
    adult["birthDate"] = _years_ago(40, 0)
    claimed = orjson.loads(person_facts(adult) or "")
    system = Principal(name="mirror", role="system", communities=ALL)
    served = {}
    for version in (claimed["v"], "another"):
        facts = orjson.dumps({**claimed, "v": version}).decode()
        presented = ACCESS.present(system, _stored(doc, facts), check=False)
        assert presented is not None
        served[version] = presented
    # Read, the claim would serve it whole (so the facts are what decides) ...
    assert served[claimed["v"]].text is not None
    # ... of other rules, the document decides.
    assert served["another"].text is None
    assert served["another"].document() == ACCESS.erased_form(doc)


def _facts_agree(api: Api) -> int:
    """Assert that every stored row's facts are those of its document; how many rows are a
    person's."""
    service = api.client.app.state.sc.service  # type: ignore[attr-defined]
    with service.store.read() as tx:
        rows = tx.conn.execute(text("SELECT rtype, id, doc, person_facts FROM resources")).all()
    for rtype, rid, doc, facts in rows:
        assert facts == person_facts(orjson.loads(doc)), (rtype, rid)
    return sum(1 for row in rows if row[0] == PERSON)


def test_every_write_keeps_the_facts_of_what_it_wrote(api: Api) -> None:
    """A create, an update making her a child, an import, a request for erasure and the
    erasure: after each, the stored facts are those of the stored document."""
    assert _facts_agree(api) > 0
    doc = _record()
    created = api.staff.create(doc)
    assert created.status_code == 201, created.text
    _facts_agree(api)
    path = f"/residents/{doc['id']}"
    body = {k: v for k, v in created.json().items() if k != "meta"}
    body["birthDate"] = _years_ago(ACCESS.minor_age - 1, 0)
    for member in ("identityDocuments", "vulnerabilities"):  # an old woman's, else
        body.pop(member, None)
    updated = api.staff.put(path, body, if_match=created.headers["etag"])
    assert updated.status_code == 200, updated.text
    _facts_agree(api)
    restricted = _restricted()
    _load(api, restricted)
    _facts_agree(api)
    where = f"/residents/{restricted['id']}"
    _ask(api, where, PATHS["erasure-request"])
    _facts_agree(api)
    erased = api.staff.post(f"{where}/erase", {}, if_match=api.staff.get(where).headers["etag"])
    assert erased.status_code == 200, erased.text
    _facts_agree(api)
