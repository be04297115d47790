"""A reader whose audience keeps everything gets the stored text itself wherever redaction and
the server's rules would change nothing: byte for byte what the full path writes."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server.access import Access
from reference_server.auth import ALL, Principal
from reference_server.storage import Stored
from smartcommunity import load_spec
from smartcommunity.privacy import redact
from smartcommunity.strategies import documents

SPEC = load_spec()
PERSON = str(SPEC.privacy["recordAccess"]["personType"])
TYPES = list(SPEC.resource_types)
EXAMPLES = [d for _, d in SPEC.examples() if d.get("resourceType") in TYPES]
ROLES = sorted(SPEC.privacy["roleAudience"])
DISCLOSURES = [*SPEC.codelist("reporter-disclosure"), None]
KEY = b"0123456789abcdef-shared-city-key"


def _accesses() -> tuple[Access, Access]:
    fast, full = Access(SPEC, KEY), Access(SPEC, KEY)
    full.untouched = frozenset()  # every document through redaction and the rules
    return fast, full


FAST, FULL = _accesses()


def _stored(doc: dict[str, Any], ascii_only: bool = False) -> Stored:
    """``doc`` as stored; ``ascii_only``: its text written with \\u escapes, as another
    writer of JSON may have written it."""
    text = json.dumps(doc, ensure_ascii=True) if ascii_only else orjson.dumps(doc).decode()
    return Stored(1, str(doc["resourceType"]), str(doc["id"]), 1, text, "110105001001", "")


def _varied(doc: dict[str, Any], disclosure: str | None, published: bool,
            version: str) -> dict[str, Any]:
    out = orjson.loads(orjson.dumps(doc))
    if out["resourceType"] in FAST.reporter_types:
        if disclosure is None:
            out.pop("reporterDisclosure", None)
        else:
            out["reporterDisclosure"] = disclosure
        out["publication"] = {**(out.get("publication") or {}), "published": published}
    out["specVersion"] = version
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.sampled_from(EXAMPLES), st.sampled_from(TYPES).flatmap(documents)),
       st.sampled_from(ROLES), st.sampled_from(DISCLOSURES), st.booleans(),
       st.sampled_from([SPEC.version, SPEC.version.split(".")[0] + ".9"]), st.booleans())
def test_the_stored_text_is_what_the_full_path_writes(doc: dict[str, Any], role: str,
                                                      disclosure: str | None, published: bool,
                                                      version: str, ascii_only: bool) -> None:
    stored = _stored(_varied(doc, disclosure, published, version), ascii_only)
    principal = Principal(name="reader", role=role, communities=ALL,
                          organisation={"id": "civil-affairs"}, user_id="u-1",
                          resident=str(doc["id"]) if doc["resourceType"] == PERSON else None)
    fast = FAST.present(principal, stored, check=False)
    full = FULL.present(principal, stored, check=False)
    assert fast is not None and full is not None
    if ascii_only:  # the stored text as another writer spelt it: the same JSON
        assert orjson.loads(fast.bytes()) == orjson.loads(full.bytes())
    else:
        assert fast.bytes() == full.bytes()


def test_a_system_reads_an_issue_as_stored_unless_its_reporter_is_withheld() -> None:
    issue = next(d for d in EXAMPLES if d["resourceType"] == "Issue")
    system = Principal(name="mirror", role="system", communities=ALL)
    for disclosure in SPEC.codelist("reporter-disclosure"):
        stored = _stored(_varied(issue, disclosure, False, SPEC.version))
        presented = FAST.present(system, stored, check=False)
        assert presented is not None
        withheld = FAST._strips_reporter(system, "system", stored.doc)
        assert (not presented.stored) is withheld, disclosure
        assert disclosure != "confidential" or withheld


def test_a_staff_member_reads_a_resident_as_stored_unless_restricted_or_a_minor() -> None:
    resident = next(d for d in EXAMPLES if d["resourceType"] == PERSON)
    staff = Principal(name="staff", role="community-staff", communities=ALL)
    adult = _stored(resident)
    presented = FAST.present(staff, adult, check=False)
    assert presented is not None and presented.text == adult.text
    erased = _stored({**resident, "restriction": {"state": FAST.erased_state}})
    presented = FAST.present(staff, erased, check=False)
    assert presented is not None and presented.text is None


def test_redacting_the_stored_text_is_redacting_the_document() -> None:
    for doc in EXAMPLES:
        text = orjson.dumps(doc)
        for audience in SPEC.audiences:
            expected = orjson.dumps(redact(doc, audience))
            assert orjson.dumps(redact(text, audience)) == expected
            handed = orjson.loads(text)
            assert orjson.dumps(redact(handed, audience, copy=False)) == expected


def test_a_row_hands_over_its_parsed_document_once() -> None:
    issue = next(d for d in EXAMPLES if d["resourceType"] == "Issue")
    row = _stored(issue)
    parsed = row.doc
    taken = row.take_doc()
    assert taken is parsed
    taken.clear()
    assert row.doc == issue  # parsed again from its text


def test_a_withholding_disclosure_is_found_however_the_text_spells_it() -> None:
    """The stored text is served unparsed only when it cannot hold a disclosure that withholds
    the reporter: a value spelt with an escape, or the word elsewhere in the text, is parsed
    and decided as the full path would."""
    issue = _varied(next(d for d in EXAMPLES if d["resourceType"] == "Issue"),
                    "confidential", False, SPEC.version)
    system = Principal(name="mirror", role="system", communities=ALL)
    escaped = orjson.dumps(issue).decode().replace('"confidential"', '"\\u0063onfidential"')
    assert orjson.loads(escaped) == issue
    for stored in (_stored(issue), _stored(issue, ascii_only=True),
                   Stored(1, "Issue", str(issue["id"]), 1, escaped, "110105001001", "")):
        presented = FAST.present(system, stored, check=False)
        assert presented is not None and not presented.stored
        assert presented.bytes() == FULL.present(system, stored, check=False).bytes()
    public = _varied(issue, "public", False, SPEC.version)
    public["description"] = "confidential: not the disclosure\nthough a line ends \"here\""
    for text in (orjson.dumps(public).decode(),
                 orjson.dumps({**public, "note": "confidential"}).decode()):
        assert "\\n" in text and "\\u" not in text  # escapes, none that could spell a word
        stored = Stored(1, "Issue", str(public["id"]), 1, text, "110105001001", "")
        presented = FAST.present(system, stored, check=False)
        assert presented is not None and presented.stored and presented.text == text



@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.sampled_from(EXAMPLES), st.sampled_from(TYPES).flatmap(documents)),
       st.sampled_from(ROLES), st.sampled_from(DISCLOSURES), st.sampled_from(DISCLOSURES),
       st.booleans(), st.booleans(), st.sampled_from(sorted(SPEC.codelist("visibility"))))
def test_an_earlier_state_is_served_as_the_full_path_decides_it(
        doc: dict[str, Any], role: str, disclosure: str | None, was_disclosed: str | None,
        published: bool, was_published: bool, was_visible: str) -> None:
    """A change event's state (/req/change-feed/access-now) reaches a reader who keeps
    everything as the full path serves it: with the current record's values of the members
    that decide access, whatever they were in that state."""
    current = _varied(doc, disclosure, published, SPEC.version)
    earlier = _varied(doc, was_disclosed, was_published, SPEC.version)
    if "visibility" in earlier:
        earlier["visibility"] = was_visible
    principal = Principal(name="reader", role=role, communities=ALL,
                          organisation={"id": "civil-affairs"}, user_id="u-1",
                          resident=str(doc["id"]) if doc["resourceType"] == PERSON else None)
    state = orjson.dumps(earlier).decode()
    fast = FAST.present(principal, _stored(current), check=False, state=state)
    full = FULL.present(principal, _stored(current), check=False, state=state)
    assert fast is not None and full is not None
    assert orjson.loads(fast.bytes()) == orjson.loads(full.bytes())
