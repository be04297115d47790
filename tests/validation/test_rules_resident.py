"""Library rules of the Resident resource: vectors, examples, and mutations that break each rule."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from smartcommunity import identifiers, validate
from smartcommunity.specification import load_spec
from smartcommunity.validation import Finding, Report
from smartcommunity.validation import _rules_resident as rr
from smartcommunity.validation._validator import Context, Validator, rules_for

ROOT = Path(__file__).resolve().parents[2]
SPEC = load_spec("1.0")
EXAMPLES = {
    p.stem: json.loads(p.read_text(encoding="utf-8"))
    for p in sorted((ROOT / "spec/1.0/examples/resident").glob("*.json"))
}
VECTOR_GROUPS = json.loads((ROOT / "spec/tests/1.0/resident.json").read_text(encoding="utf-8"))
VECTORS = [
    pytest.param(group, test, id=f"{group['description'].split(' / ')[-1]}: "
                                 f"{test['description'].split(' / ')[-1]}")
    for group in VECTOR_GROUPS for test in group["tests"]
]
WANG = EXAMPLES["wang-guiying"]
LI = EXAMPLES["li-jianguo"]
ID = "8ec5b592-b713-48d7-9dee-d75fa807574d"
GB_TYPES = ("citizen-id", "hk-macao-residence-permit", "taiwan-residence-permit")
PLACEHOLDER = re.compile(r"\{[A-Za-z_]+\}")


def check(doc: Any) -> Report:
    """Validate, and hold every finding of these rules to a filled-in bilingual message."""
    report = validate(doc)
    for f in report.findings:
        if f.code in rr.CODE:
            for text in f.message.values():
                assert text and not PLACEHOLDER.search(text), (f.code, text)
            assert f.requirement is not None and f.requirement.startswith("/req/residents/")
    return report


def found(doc: Any, code: str) -> list[Finding]:
    return [f for f in check(doc).findings if f.code == code]


def pointers(doc: Any, code: str) -> set[str]:
    return {f.pointer for f in found(doc, code)}


def wang() -> dict[str, Any]:
    return copy.deepcopy(WANG)


def minimal(**members: Any) -> dict[str, Any]:
    return {"resourceType": "Resident", "specVersion": "1.0", "id": ID, "name": "周晓梅",
            **members}


def number_for(region: str, born: date, seq: int = 24) -> str:
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + identifiers.citizen_id_check_char(first17)


# --------------------------------------------------------------------------- registry, messages


def test_codes_are_exactly_the_library_codes_of_the_residents_class() -> None:
    reqs = json.loads((ROOT / "spec/1.0/requirements/residents.json").read_text("utf-8"))
    library = {c for r in reqs["requirements"] if "library" in r["enforcement"]
               for c in r.get("codes", [])}
    # Codes only a server reports: they judge a write by its writer, not a document.
    server = {c for r in reqs["requirements"] if "library" not in r["enforcement"]
              for c in r.get("codes", [])}
    assert library == set(rr.CODE) - server


@pytest.mark.parametrize("code", sorted(rr.CODE))
def test_every_code_has_a_bilingual_message_template(code: str) -> None:
    entry = SPEC.codelist("error-code").entries[code]
    assert entry.title_zh and entry.title_en and entry.description_zh and entry.description_en
    assert set(PLACEHOLDER.findall(entry.title_zh)) == set(PLACEHOLDER.findall(entry.title_en))


def test_the_rules_are_registered_for_residents_only() -> None:
    mine = {r.__name__ for r in rules_for(SPEC.version, "Resident") if r.__module__ == rr.__name__}
    assert mine >= {"identity_documents", "consents_and_proxies", "vulnerabilities"}
    assert not [r for r in rules_for(SPEC.version, "Issue") if r.__module__ == rr.__name__]


# --------------------------------------------------------------------------- vectors, examples


@pytest.mark.parametrize(("group", "test"), VECTORS)
def test_vector(group: dict[str, Any], test: dict[str, Any]) -> None:
    report = check(test["data"])
    if test["valid"]:
        assert report.valid and not report.errors, [f.to_dict() for f in report.findings]
        return
    req = SPEC.requirements[test["requirement"]]
    exact = [f for f in report.findings if f.requirement == req.id]
    if "schema" not in req.enforcement:
        assert exact, [f.to_dict() for f in report.findings]
        severity = "warning" if req.level == "SHOULD" else "error"
        assert {f.severity for f in exact} == {severity}
        if severity == "warning":
            assert report.valid
            assert all(f.requirement == req.id for f in report.findings)
        else:
            assert not report.valid
    else:
        assert not report.valid
        assert exact or any(f.code.startswith("schema.") for f in report.errors)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_validates_without_findings(name: str) -> None:
    report = check(EXAMPLES[name])
    assert report.valid and not report.findings, [f.to_dict() for f in report.findings]


# --------------------------------------------------------------------------- identity documents

REGIONS = ("110105", "650102", "440300", "710000", "810000", "820000", "830000", "812345")


@given(st.sampled_from(GB_TYPES), st.sampled_from(REGIONS),
       st.dates(date(1900, 1, 1), date(2015, 12, 31)), st.integers(0, 999))
def test_type_prefix_of_a_valid_number(kind: str, region: str, born: date, seq: int) -> None:
    number = number_for(region, born, seq)
    doc = minimal(birthDate=born.isoformat(), identityDocuments=[
        {"type": kind, "number": number, "masked": identifiers.mask_citizen_id(number)}])
    if kind == "citizen-id":
        broken = region[:2] in {"81", "82", "83"}
    elif kind == "hk-macao-residence-permit":
        broken = region not in {"810000", "820000"}
    else:
        broken = region != "830000"
    found_at = pointers(doc, rr.CODE.CITIZEN_ID_INVALID)
    assert found_at == ({"/identityDocuments/0/number"} if broken else set())
    # one finding for one broken number, and no birth date finding from a number not valid
    assert len(found(doc, rr.CODE.CITIZEN_ID_INVALID)) == len(found_at)
    assert not found(doc, rr.CODE.BIRTH_DATE_MISMATCH)


@given(st.dates(date(1900, 1, 1), date(2015, 12, 31)), st.integers(-800, 800),
       st.sampled_from(GB_TYPES))
def test_birth_date_against_the_number(born: date, shift: int, kind: str) -> None:
    region = {"citizen-id": "110105", "hk-macao-residence-permit": "820000",
              "taiwan-residence-permit": "830000"}[kind]
    given_date = born + timedelta(days=shift)
    doc = minimal(birthDate=given_date.isoformat(),
                  identityDocuments=[{"type": kind, "number": number_for(region, born)}])
    hits = found(doc, rr.CODE.BIRTH_DATE_MISMATCH)
    assert [f.pointer for f in hits] == (["/birthDate"] if shift else [])
    if shift:
        assert born.isoformat() in hits[0].text() and given_date.isoformat() in hits[0].text()


def test_birth_date_is_not_compared_with_an_invalid_number() -> None:
    # wrong check character: the core rule reports the number, nothing is said of the date
    doc = minimal(birthDate="1950-01-01",
                  identityDocuments=[{"type": "citizen-id", "number": "110105194203180240"}])
    codes = [f.code for f in check(doc).findings]
    assert codes == [rr.CODE.CITIZEN_ID_INVALID]


@given(st.sampled_from([0, 1, 2, 3, 4, 5, 14, 15, 16, 17]), st.sampled_from("0123456789X"))
def test_masked_number_must_be_the_masked_form(position: int, char: str) -> None:
    doc = wang()
    item = doc["identityDocuments"][0]
    masked = item["masked"]
    mutated = masked[:position] + char + masked[position + 1:]
    item["masked"] = mutated
    expected = set() if mutated == masked else {"/identityDocuments/0/masked"}
    # A malformed masked form is reported once, by its schema; a well-formed one that hides
    # another number by this rule.
    said = {f.pointer for f in check(doc).findings
            if f.code in {rr.CODE.MASKED_ID_MISMATCH, "schema.pattern"}}
    assert said == expected
    assert len(check(doc).findings) == len(expected)


def test_masked_number_without_a_full_number_is_not_compared() -> None:
    assert not found(copy.deepcopy(LI), rr.CODE.MASKED_ID_MISMATCH)


@given(st.binary(min_size=16, max_size=40), st.binary(min_size=16, max_size=40))
def test_pseudonym_is_checked_only_with_the_key(key: bytes, other: bytes) -> None:
    doc = wang()
    item = doc["identityDocuments"][0]
    item["pseudonym"] = identifiers.citizen_id_pseudonym(item["number"], key)
    assert not found(doc, rr.CODE.PSEUDONYM_MISMATCH)  # without the key: skipped
    with rr.pseudonym_key(key):
        assert not found(doc, rr.CODE.PSEUDONYM_MISMATCH)
    with rr.pseudonym_key(other):
        expected = set() if other == key else {"/identityDocuments/0/pseudonym"}
        assert pointers(doc, rr.CODE.PSEUDONYM_MISMATCH) == expected
    assert not found(doc, rr.CODE.PSEUDONYM_MISMATCH)  # the key is gone after the block


def test_pseudonym_key_must_be_long_enough() -> None:
    with pytest.raises(ValueError), rr.pseudonym_key(b"short"):
        pass


# --------------------------------------------------------------------------- contact points

CONTACT = {
    "mobile": {"phone": "+8613910457823"},
    "landline": {"phone": "+861065931827"},
    "email": {"email": "someone@example.com"},
    "wechat": {"account": "wx_someone"},
    "mini-program": {"account": "mp_someone"},
    "app-account": {"account": "app-someone"},
}


@given(st.lists(st.tuples(st.sampled_from(sorted(CONTACT)), st.sampled_from([True, False, None])),
                max_size=8))
def test_at_most_one_preferred_contact_point_per_type(entries: list[tuple[str, Any]]) -> None:
    points: list[dict[str, Any]] = []
    expected: set[str] = set()
    seen: set[str] = set()
    for i, (kind, preferred) in enumerate(entries):
        point: dict[str, Any] = {"type": kind, **CONTACT[kind]}
        if preferred is not None:
            point["preferred"] = preferred
        if preferred is True:
            if kind in seen:
                expected.add(f"/contactPoints/{i}/preferred")
            seen.add(kind)
        points.append(point)
    doc = minimal(contactPoints=points)
    assert pointers(doc, rr.CODE.CONTACT_PREFERRED_DUPLICATE) == expected
    assert check(doc).valid == (not expected)


# --------------------------------------------------------------------------- grids

COMMUNITIES = ("110105001001", "110105001002", "310104003005", "110105001011")


@given(st.sampled_from(COMMUNITIES), st.sampled_from(COMMUNITIES),
       st.from_regex(r"[0-9A-Z]{1,8}", fullmatch=True), st.booleans())
def test_grid_belongs_to_its_community(community: str, grid_community: str, cell: str,
                                       in_address: bool) -> None:
    doc = wang()
    grid = f"{grid_community}-{cell}"
    if in_address:
        doc["address"]["divisionCode"] = community
        doc["address"]["gridCode"] = grid
        where = "/address/gridCode"
    else:
        doc["memberships"][0]["community"] = community
        doc["memberships"][0]["grid"] = grid
        where = "/memberships/0/grid"
    expected = set() if grid_community == community else {where}
    assert pointers(doc, rr.CODE.GRID_OUTSIDE_COMMUNITY) == expected


# --------------------------------------------------------------------------- periods

DAYS = st.dates(date(1950, 1, 1), date(2060, 12, 31))


@given(DAYS, st.integers(-400, 400),
       st.sampled_from(["identityDocuments", "memberships", "vulnerabilities"]))
def test_date_periods_start_no_later_than_they_end(start: date, length: int, where: str) -> None:
    doc = wang()
    item = doc[where][0]
    names = ("validFrom", "validUntil") if where == "identityDocuments" else ("since", "until")
    item[names[0]] = start.isoformat()
    item[names[1]] = (start + timedelta(days=length)).isoformat()
    expected = {f"/{where}/0/{names[1]}"} if length < 0 else set()
    assert pointers(doc, rr.CODE.PERIOD_ORDER) == expected


@st.composite
def timestamps(draw: st.DrawFn) -> tuple[str, datetime]:
    """An RFC 3339 timestamp in any of its spellings, and the instant it denotes."""
    moment = draw(st.datetimes(datetime(2000, 1, 1), datetime(2040, 12, 31)))
    minutes = draw(st.integers(-14 * 4, 14 * 4)) * 15
    digits = draw(st.integers(0, 6))
    moment = moment.replace(microsecond=moment.microsecond // 10 ** (6 - digits)
                            * 10 ** (6 - digits))
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    text = moment.strftime("%Y-%m-%d") + draw(st.sampled_from("Tt")) + moment.strftime("%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    if minutes == 0 and draw(st.booleans()):
        text += draw(st.sampled_from("Zz"))
    else:
        sign = "-" if minutes < 0 else "+"
        text += f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return text, aware


@given(timestamps(), timestamps(), st.booleans())
def test_timestamp_periods_compare_as_instants(start: tuple[str, datetime],
                                               end: tuple[str, datetime], proxy: bool) -> None:
    doc = wang()
    if proxy:
        doc["proxies"][1]["validFrom"], doc["proxies"][1]["validUntil"] = start[0], end[0]
        where = "/proxies/1/validUntil"
    else:
        doc["restriction"] = {"state": "restricted", "requestedAt": start[0],
                              "decidedAt": end[0]}
        where = "/restriction/decidedAt"
    expected = {where} if start[1] > end[1] else set()
    assert pointers(doc, rr.CODE.PERIOD_ORDER) == expected


@given(timestamps(), st.integers(-14 * 4, 14 * 4))
def test_the_same_instant_in_another_offset_is_not_a_reversed_period(
        start: tuple[str, datetime], quarter_hours: int) -> None:
    offset = timezone(timedelta(minutes=15 * quarter_hours))
    same = start[1].astimezone(offset).isoformat()
    doc = wang()
    doc["restriction"] = {"state": "erased", "requestedAt": start[0], "decidedAt": same}
    for key in [k for k in doc if k not in {"resourceType", "specVersion", "id", "meta",
                                            "status", "restriction", "externalRefs"}]:
        del doc[key]
    assert not found(doc, rr.CODE.PERIOD_ORDER)


# --------------------------------------------------------------------------- vulnerabilities

MARKERS = tuple(SPEC.codelist("vulnerability"))
AGE_RULES = {"elderly-living-alone": (60, 200), "empty-nest-elderly": (60, 200),
             "elderly-dependent": (60, 200), "elderly-80-plus": (80, 200),
             "left-behind-child": (-1000, 16), "child-without-care": (-1000, 18)}


def marker(kind: str, since: date) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "since": since.isoformat()}
    if kind == "disability":
        out.update(disabilityCategory="visual", disabilityGrade="grade-2")
    return out


COVER_ALL = {"id": "2c913f42-35c8-48ca-a206-175fd066b68c", "purpose": "care-visits",
             "legalBasis": "separate-consent", "scope": ["/vulnerabilities"],
             "status": "granted", "grantedAt": "2021-01-05T09:00:00+08:00"}


@given(st.dates(date(1900, 1, 1), date(2020, 12, 31)), st.dates(date(1900, 1, 1),
       date(2040, 12, 31)), st.sampled_from(MARKERS), st.booleans())
def test_marker_fits_the_age_on_its_start(born: date, since: date, kind: str,
                                          from_number: bool) -> None:
    members: dict[str, Any] = {"vulnerabilities": [marker(kind, since)], "consents": [COVER_ALL]}
    if from_number:
        members["identityDocuments"] = [{"type": "citizen-id",
                                         "number": number_for("110105", born)}]
    else:
        members["birthDate"] = born.isoformat()
    age = since.year - born.year - ((since.month, since.day) < (born.month, born.day))
    low, high = AGE_RULES.get(kind, (-1000, 1000))
    expected = set() if low <= age < high else {"/vulnerabilities/0/since"}
    assert pointers(minimal(**members), rr.CODE.VULNERABILITY_AGE_MISMATCH) == expected


def test_marker_age_is_not_checked_without_a_birth_date() -> None:
    doc = minimal(vulnerabilities=[marker("left-behind-child", date(2020, 1, 1))],
                  identityDocuments=[{"type": "citizen-id", "masked": "110105********0242"}],
                  consents=[COVER_ALL])
    assert check(doc).findings == []


def test_the_80th_birthday_is_the_first_day_of_the_80_plus_marker() -> None:
    doc = wang()
    doc["vulnerabilities"][1]["since"] = "2022-03-18"
    assert not found(doc, rr.CODE.VULNERABILITY_AGE_MISMATCH)
    doc["vulnerabilities"][1]["since"] = "2022-03-17"
    assert pointers(doc, rr.CODE.VULNERABILITY_AGE_MISMATCH) == {"/vulnerabilities/1/since"}


BASES = tuple(SPEC.codelist("legal-basis"))
SCOPES = ("", "/vulnerabilities", "/vulnerabilities/0", "/vulnerabilities/1",
          "/vulnerabilities/2", "/vulnerabilities/3", "/vulnerabilities/0/type", "/address",
          "/vulnerabilities/01")
CONSENT_SHAPE = st.tuples(st.sampled_from(["granted", "withdrawn", "expired"]),
                          st.sampled_from(BASES),
                          st.lists(st.sampled_from(SCOPES), min_size=1, max_size=3, unique=True))


@given(st.integers(1, 4), st.lists(CONSENT_SHAPE, max_size=4))
def test_each_marker_should_have_a_basis(count: int,
                                         consents: list[tuple[str, str, list[str]]]) -> None:
    records = []
    covered: set[int] = set()
    for n, (status, basis, scope) in enumerate(consents):
        record: dict[str, Any] = {"id": f"2c913f42-35c8-48ca-a206-175fd066b6{n:02d}",
                                  "purpose": "care-visits", "legalBasis": basis, "scope": scope,
                                  "status": status, "grantedAt": "2021-01-05T09:00:00+08:00"}
        if status == "withdrawn":
            record["withdrawnAt"] = "2022-01-05T09:00:00+08:00"
        records.append(record)
        if status == "granted" and basis in {"separate-consent", "written-consent",
                                             "legal-duty"}:
            for i in range(count):
                if {"", "/vulnerabilities", f"/vulnerabilities/{i}"} & set(scope):
                    covered.add(i)
    doc = minimal(vulnerabilities=[{"type": "serious-illness"}] * count, consents=records)
    hits = found(doc, rr.CODE.VULNERABILITY_WITHOUT_BASIS)
    assert {f.pointer for f in hits} == {f"/vulnerabilities/{i}" for i in range(count)
                                         if i not in covered}
    assert all(f.severity == "warning" for f in hits)
    # only a malformed scope such as "/vulnerabilities/01" is an error here
    assert {f.code for f in check(doc).errors} <= {rr.CODE.CONSENT_SCOPE_UNRESOLVED}


# --------------------------------------------------------------------------- consent scopes


def paths(node: Any, where: str = "") -> Iterator[str]:
    yield where
    if isinstance(node, dict):
        for key, value in node.items():
            token = key.replace("~", "~0").replace("/", "~1")
            yield from paths(value, f"{where}/{token}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from paths(value, f"{where}/{i}")


def _every_path() -> list[str]:
    docs = list(EXAMPLES.values()) + [t["data"] for g in VECTOR_GROUPS for t in g["tests"]
                                      if t["valid"]]
    return sorted({p for doc in docs for p in paths(doc)})


EVERY_PATH = _every_path()


def with_scope(*scope: str) -> dict[str, Any]:
    doc = wang()
    doc["consents"][1]["scope"] = list(scope)
    return doc


def test_every_location_of_a_valid_record_is_a_valid_scope() -> None:
    doc = with_scope(*EVERY_PATH)
    assert not found(doc, rr.CODE.CONSENT_SCOPE_UNRESOLVED)


def _member_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            yield from props
        for value in node.values():
            yield from _member_names(value)
    elif isinstance(node, list):
        for value in node:
            yield from _member_names(value)


KNOWN_MEMBERS = frozenset(name for s in SPEC.schemas.values() for name in _member_names(s))
LOCATIONS = [p for p in EVERY_PATH if p and not p.startswith("/extensions")]


@given(st.sampled_from(LOCATIONS), st.text(min_size=1, max_size=12))
def test_a_member_no_schema_defines_is_not_a_valid_scope(where: str, token: str) -> None:
    assume(token not in KNOWN_MEMBERS and not token.isdigit() and "/" not in token)
    bad = f"{where}/{token.replace('~', '~0')}"
    doc = with_scope("/address", bad)
    assert pointers(doc, rr.CODE.CONSENT_SCOPE_UNRESOLVED) == {"/consents/1/scope/1"}


@given(st.sampled_from([p for p in LOCATIONS if re.search(r"/[0-9]+(/|$)", p)]),
       st.integers(1, 3))
def test_array_indexes_with_leading_zeros_are_not_valid_scopes(where: str, zeros: int) -> None:
    bad = re.sub(r"/([0-9]+)(?=/|$)", lambda m: "/" + "0" * zeros + m.group(1), where, count=1)
    assert pointers(with_scope(bad), rr.CODE.CONSENT_SCOPE_UNRESOLVED) == {"/consents/1/scope/0"}


@given(st.text(max_size=20), st.text(max_size=20))
def test_anything_is_a_valid_scope_below_extensions(key: str, below: str) -> None:
    esc = [t.replace("~", "~0").replace("/", "~1") for t in (key, below)]
    doc = with_scope(f"/extensions/{esc[0]}", f"/extensions/{esc[0]}/{esc[1]}/0")
    assert not found(doc, rr.CODE.CONSENT_SCOPE_UNRESOLVED)


@pytest.mark.parametrize(("scope", "resolves"), [
    ("", True), ("/", False), ("name", False), ("/name/0", False), ("/proxies/-", False),
    ("/proxies/10/actor/organisation/uscc", True), ("/proxies/0/resident/display", True),
    ("/household/head/resourceType", True), ("/identityDocuments/0/number", True),
    ("/consents/0/recordedBy/organisation", True), ("/contactPoints/0/phone/x", False),
    ("/address/point/crs", True), ("/address/point/crs/0", False), ("/meta/profile/3", True),
    ("/na~0me", False), ("/name~", False), ("/extensions/a~2b", False),
    ("/extensions/~~01", False), ("/extensions/~01", True),
    ("/extensions/cn.example~1x/y", True), ("/vulnerabilities/0/verifiedBy/uscc", True),
])
def test_scope_examples(scope: str, resolves: bool) -> None:
    expected = set() if resolves else {"/consents/1/scope/0"}
    # A scope that is no pointer at all ("name") is reported once, by its schema.
    said = {f.pointer for f in check(with_scope(scope)).findings
            if f.code in {rr.CODE.CONSENT_SCOPE_UNRESOLVED, "schema.pattern"}}
    assert said == expected


# --------------------------------------------------------------------------- proxies, ids


@given(st.booleans(), st.booleans())
def test_a_proxy_is_never_the_resident(as_actor: bool, same: bool) -> None:
    doc = wang()
    target = doc["id"] if same else "0d4b2c1e-6a8f-4b3c-9d2e-1f0a9b8c7d6e"
    if as_actor:
        doc["proxies"][1]["actor"]["resident"] = {"resourceType": "Resident", "id": target}
        where = "/proxies/1/actor/resident/id"
    else:
        doc["proxies"][0]["resident"]["id"] = target
        where = "/proxies/0/resident/id"
    assert pointers(doc, rr.CODE.PROXY_SELF) == ({where} if same else set())


@given(st.one_of(st.sampled_from([c["id"] for c in WANG["consents"]]), st.uuids(version=4)))
def test_proxy_consent_must_be_a_consent_of_the_record(consent_id: Any) -> None:
    doc = wang()
    doc["proxies"][0]["consentId"] = str(consent_id)
    known = {c["id"] for c in doc["consents"]}
    expected = set() if str(consent_id) in known else {"/proxies/0/consentId"}
    assert pointers(doc, rr.CODE.PROXY_CONSENT_UNRESOLVED) == expected


@given(st.integers(0, 3), st.integers(0, 3))
def test_consent_ids_are_distinct(first: int, second: int) -> None:
    assume(first != second)
    doc = wang()
    i, j = sorted((first, second))
    doc["consents"][j]["id"] = doc["consents"][i]["id"]
    assert pointers(doc, rr.CODE.DUPLICATE_ITEM_ID) == {f"/consents/{j}/id"}


def test_proxy_ids_are_distinct() -> None:
    doc = wang()
    doc["proxies"][1]["id"] = doc["proxies"][0]["id"]
    assert pointers(doc, rr.CODE.DUPLICATE_ITEM_ID) == {"/proxies/1/id"}
    doc["proxies"].append(copy.deepcopy(doc["proxies"][0]))
    assert pointers(doc, rr.CODE.DUPLICATE_ITEM_ID) == {"/proxies/1/id", "/proxies/2/id"}


# --------------------------------------------------------------------------- valid mutations

NAMES = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1,
                max_size=12)


@given(NAMES, NAMES, NAMES, st.permutations(range(4)), st.permutations(range(2)))
def test_harmless_edits_leave_the_record_valid(name: str, contact: str, street: str,
                                               consent_order: list[int],
                                               contact_order: list[int]) -> None:
    doc = wang()
    doc["name"] = name
    doc["emergencyContacts"][0]["name"] = contact
    doc["address"]["text"] = street
    doc["identityDocuments"][0]["issuedBy"] = street
    doc["consents"] = [doc["consents"][i] for i in consent_order]
    li = copy.deepcopy(LI)
    li["contactPoints"] = [li["contactPoints"][i] for i in contact_order]
    for record in (doc, li):
        report = check(record)
        assert report.findings == [], [f.to_dict() for f in report.findings]


# --------------------------------------------------------------------------- robustness

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=12,
)
WANG_PATHS = [p for p in paths(WANG) if p]


def _set(doc: Any, where: str, value: Any) -> None:
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in where.split("/")[1:]]
    node = doc
    for t in tokens[:-1]:
        node = node[int(t)] if isinstance(node, list) else node[t]
    if isinstance(node, list):
        node[int(tokens[-1])] = value
    else:
        node[tokens[-1]] = value


@given(st.lists(st.tuples(st.sampled_from(WANG_PATHS), JSON), min_size=1, max_size=3))
@example([("/identityDocuments/0/pseudonym", "\x80")])
@example([("/identityDocuments/0/type", []), ("/consents/0/legalBasis", {})])
@example([("/consents/1/scope", [["/name"], "/name~"]), ("/birthDate", "1942-13-99")])
def test_rules_never_raise_on_odd_data(edits: list[tuple[str, Any]]) -> None:
    doc = wang()
    for where, value in edits:
        try:
            _set(doc, where, value)
        except (KeyError, IndexError, TypeError, ValueError):
            continue  # an earlier edit replaced a container on this path
    plan = Validator()._engine("1.0")[2]["Resident"]
    ctx = Context(SPEC, plan, Report())
    for rule in rules_for(SPEC.version, "Resident"):
        if rule.__module__ == rr.__name__:
            rule(doc, ctx)
    with rr.pseudonym_key(b"0123456789abcdef"):
        for rule in rules_for(SPEC.version, "Resident"):
            if rule.__module__ == rr.__name__:
                rule(doc, ctx)


@given(st.binary(min_size=16, max_size=40), st.binary(min_size=16, max_size=40))
def test_during_a_rotation_each_pseudonym_is_checked_with_the_key_it_names(
        old: bytes, new: bytes) -> None:
    doc = wang()
    item = doc["identityDocuments"][0]
    for named, key in ((None, old), ("k1", old), ("k2", new)):
        item["pseudonym"] = identifiers.citizen_id_pseudonym(item["number"], key, key_id=named)
        with rr.pseudonym_key(new, key_id="k2", older={None: old, "k1": old}):
            assert not found(doc, rr.CODE.PSEUDONYM_MISMATCH)
    # A pseudonym of a key the validator does not hold is not checked.
    item["pseudonym"] = identifiers.citizen_id_pseudonym(item["number"], old, key_id="k9")
    with rr.pseudonym_key(new, key_id="k2"):
        assert not found(doc, rr.CODE.PSEUDONYM_MISMATCH)
    # Under the key it names, a pseudonym made with another key is a mismatch.
    item["pseudonym"] = identifiers.citizen_id_pseudonym(item["number"], old, key_id="k2")
    with rr.pseudonym_key(new, key_id="k2"):
        expected = set() if old == new else {"/identityDocuments/0/pseudonym"}
        assert pointers(doc, rr.CODE.PSEUDONYM_MISMATCH) == expected
