"""Redaction: computed from the schema tags, still valid, and never leaking to the public."""

from __future__ import annotations

from typing import Any

import pytest

from smartcommunity import identifiers, load_spec, validate
from smartcommunity.exceptions import RedactionError
from smartcommunity.privacy import (
    AUDIENCES,
    audience_for_role,
    audiences,
    published_with_consent,
    redact,
    rekey_pseudonyms,
)
from smartcommunity.specification import DEFAULT_VERSION
from smartcommunity.validation import compile_plan, values_at

SPEC = load_spec(DEFAULT_VERSION)
EXAMPLES = list(SPEC.examples())
KEY = b"0123456789abcdef-shared-city-key"


@pytest.mark.parametrize("audience", AUDIENCES)
@pytest.mark.parametrize(("name", "doc"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_redacted_example_is_still_valid(name: str, doc: dict[str, Any], audience: str) -> None:
    for key in (None, KEY):
        redacted = redact(doc, audience, pseudonym_key=key)
        errors = [(f.pointer, f.code) for f in validate(redacted).errors]
        assert errors == [], f"{name} for {audience}"


def _tagged_values(doc: dict[str, Any], classes: set[str]) -> list[tuple[Any, str]]:
    plan = compile_plan(SPEC, doc["resourceType"])
    return [
        (where, cls) for path, cls, _ in plan.pipl if cls in classes
        for where, _ in values_at(doc, path)
    ]


@pytest.mark.parametrize(("name", "doc"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_public_and_residents_never_see_personal_data(name: str, doc: dict[str, Any]) -> None:
    for audience in ("public", "community-resident"):
        redacted = redact(doc, audience)
        seen = [(where, cls) for where, cls in _tagged_values(redacted, {"personal", "sensitive"})
                if tuple(where) not in {(m,) for m in published_with_consent(doc)}]
        assert seen == []


@pytest.mark.parametrize("agreed", [True, False])
def test_an_opinion_text_reaches_the_public_only_when_its_author_agreed(agreed: bool) -> None:
    doc = {**dict(EXAMPLES)["opinion/lift-door-to-door-wang-guiying.json"], "textPublic": agreed}
    for audience in ("public", "community-resident"):
        redacted = redact(doc, audience)
        assert ("text" in redacted) is agreed
        assert redacted["reply"]["text"] == doc["reply"]["text"]
        actor = redacted["history"][0]["actor"]
        assert "onBehalfOf" not in actor and "name" not in actor and "userId" not in actor
        assert validate(redacted).valid
    assert redact(doc, "community-staff")["text"] == doc["text"]


@pytest.mark.parametrize(("name", "doc"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_self_sees_everything_and_input_is_untouched(name: str, doc: dict[str, Any]) -> None:
    import copy

    before = copy.deepcopy(doc)
    assert redact(doc, "self") == doc
    for audience in AUDIENCES:
        redact(doc, audience, pseudonym_key=KEY)
    assert doc == before


def _citizen_numbers(doc: Any) -> list[str]:
    found: list[str] = []
    if isinstance(doc, dict):
        for v in doc.values():
            found += _citizen_numbers(v)
    elif isinstance(doc, list):
        for v in doc:
            found += _citizen_numbers(v)
    elif isinstance(doc, str) and len(doc) == 18 and identifiers.is_valid_citizen_id(doc):
        found.append(doc)
    return found


def test_citizen_id_is_masked_and_pseudonymised_for_departments() -> None:
    residents = [d for _, d in EXAMPLES if d["resourceType"] == "Resident"]
    with_ids = [d for d in residents if _citizen_numbers(d)]
    assert with_ids, "the examples include residents with citizen IDs"
    for original in with_ids:
        # Without a stored pseudonym, redaction computes one with the given key.
        doc = {**original, "identityDocuments": [
            {k: v for k, v in d.items() if k != "pseudonym"}
            for d in original["identityDocuments"]]}
        number = _citizen_numbers(doc)[0]
        redacted = redact(doc, "department", pseudonym_key=KEY)
        assert _citizen_numbers(redacted) == []
        text = str(redacted)
        assert identifiers.mask_citizen_id(number) in text
        assert identifiers.citizen_id_pseudonym(number, KEY) in text
        # The regulator oversees without identifying anyone: identity documents are removed.
        assert _citizen_numbers(redact(doc, "regulator", pseudonym_key=KEY)) == []
        assert number in str(redact(doc, "community-staff"))


def test_attachments_follow_visibility() -> None:
    issues = [d for _, d in EXAMPLES if d["resourceType"] == "Issue" and d.get("attachments")]
    assert issues
    visible = SPEC.privacy["visibility"]
    for doc in issues:
        for audience in AUDIENCES:
            kept = redact(doc, audience).get("attachments", [])
            expected = [a["id"] for a in doc["attachments"] if a["visibility"] in visible[audience]]
            assert [a["id"] for a in kept] == expected, audience


def test_roles_map_to_audiences_and_unknowns_are_errors() -> None:
    assert audience_for_role("grid-worker") == "grid"
    assert audience_for_role("hotline-operator") == "intake"
    assert audience_for_role("system") == "system"
    assert audience_for_role("public") == "public"
    with pytest.raises(RedactionError):
        audience_for_role("mayor")
    with pytest.raises(RedactionError):
        redact(EXAMPLES[0][1], "everyone")
    with pytest.raises(RedactionError):
        redact({"resourceType": "Parcel"}, "public")


def test_audiences_are_the_specs() -> None:
    assert AUDIENCES == audiences() == SPEC.audiences
    assert set(AUDIENCES) == set(SPEC.privacy["treatments"]) == set(SPEC.privacy["visibility"])
    for role in SPEC.roles:
        assert audience_for_role(role) in AUDIENCES


def test_a_document_is_redacted_by_its_own_version() -> None:
    doc = next(d for _, d in EXAMPLES if _citizen_numbers(d))
    unversioned = {k: v for k, v in doc.items() if k != "specVersion"}
    assert redact(unversioned, "department") == {
        k: v for k, v in redact(doc, "department").items() if k != "specVersion"
    }


def test_rekeying_recomputes_every_pseudonym_beside_a_full_number() -> None:
    import copy

    other = b"another-city-key-of-enough-bytes"
    for _, original in EXAMPLES:
        doc = copy.deepcopy(original)
        assert rekey_pseudonyms(doc, other) is doc
        numbers = _numbers_with_pseudonyms(original)
        assert sorted(_numbers_with_pseudonyms(doc).values()) == sorted(
            identifiers.citizen_id_pseudonym(n, other) for n in numbers
        )
        # Nothing but pseudonyms changes.
        assert _without_pseudonyms(doc) == _without_pseudonyms(original)
    assert any(_numbers_with_pseudonyms(d) for _, d in EXAMPLES)
    unknown = {"resourceType": "Parcel", "pseudonym": "x"}
    assert rekey_pseudonyms(dict(unknown), KEY) == unknown


def _numbers_with_pseudonyms(doc: Any) -> dict[str, str]:
    """Full citizen ID number → the pseudonym stored beside it, anywhere in ``doc``."""
    found: dict[str, str] = {}
    if isinstance(doc, dict):
        number = doc.get("number")
        if "pseudonym" in doc and isinstance(number, str) and identifiers.is_valid_citizen_id(
            number
        ):
            found[number] = doc["pseudonym"]
        for v in doc.values():
            found.update(_numbers_with_pseudonyms(v))
    elif isinstance(doc, list):
        for v in doc:
            found.update(_numbers_with_pseudonyms(v))
    return found


def _without_pseudonyms(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: _without_pseudonyms(v) for k, v in doc.items() if k != "pseudonym"}
    if isinstance(doc, list):
        return [_without_pseudonyms(v) for v in doc]
    return doc


def test_a_later_minor_is_redacted_as_the_installed_one_without_its_new_members() -> None:
    import copy

    from smartcommunity.exceptions import UnknownSpecVersion

    original = next(d for _, d in EXAMPLES if _citizen_numbers(d))
    later = f"{DEFAULT_VERSION.split('.')[0]}.99"
    doc = copy.deepcopy(original)
    doc["specVersion"] = later
    doc["futureNote"] = "a member this version does not know"
    doc["identityDocuments"][0]["futureDetail"] = "may well be personal"
    for audience in AUDIENCES:
        redacted = redact(doc, audience, pseudonym_key=KEY)
        if set(SPEC.privacy["treatments"][audience].values()) == {"keep"}:
            assert redacted == doc, audience  # nothing is withheld from these audiences
            continue
        # Members the installed version does not know have no tag to go by: they are withheld;
        # everything else is redacted as in a document of the installed version.
        expected = redact(original, audience, pseudonym_key=KEY)
        assert redacted == {**expected, "specVersion": later}, audience
    with pytest.raises(UnknownSpecVersion):
        redact({**doc, "specVersion": f"{int(later.split('.')[0]) + 1}.0"}, "public")


def test_a_named_key_names_itself_in_every_pseudonym_it_leaves() -> None:
    import copy

    for _, original in EXAMPLES:
        numbers = _citizen_numbers(original)
        if not numbers:
            continue
        doc = rekey_pseudonyms(copy.deepcopy(original), KEY, key_id="city-2026")
        assert all(identifiers.pseudonym_key_id(p) == "city-2026"
                   for p in _numbers_with_pseudonyms(doc).values())
        bare = copy.deepcopy(original)
        for item in bare.get("identityDocuments") or ():
            item.pop("pseudonym", None)  # redaction then leaves one of its own
        shown = redact(bare, "department", pseudonym_key=KEY, pseudonym_key_id="city-2026")
        assert validate(shown).valid
        left = [v for v in _strings(shown) if v.startswith("hmac-sha256:")]
        assert all(identifiers.pseudonym_key_id(p) == "city-2026" for p in left)


def _strings(doc: Any) -> list[str]:
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in _strings(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return [doc] if isinstance(doc, str) else []
