"""The library's Open311 conversion (/req/open311/mapping): issue → request → issue loses only
what the spec's mapping says, over the spec's examples and generated issues; Open311 input is
checked field by field; exports in JSON and XML read the same; hostile XML is refused."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcommunity import validate
from smartcommunity.exceptions import Open311Error
from smartcommunity.open311 import (
    REQUEST_FIELDS,
    catalogue,
    import_requests,
    issue_to_request,
    mapping,
    read_export,
    request_to_issue,
    to_wgs84,
    to_xml,
    wgs84_to_gcj02,
)
from smartcommunity.profiles import load_profile
from smartcommunity.specification import load_spec
from smartcommunity.strategies import documents

SPEC = load_spec("1.0")
TABLE = mapping("1.0")
PLAIN = catalogue(None, "1.0")
CITY = catalogue(load_profile(SPEC.folder / "profiles" / "beijing-chaoyang.json"))
EXAMPLES = [d for _, d in SPEC.examples() if d.get("resourceType") == "Issue"]
#: members the import writes itself: they read back as the import sets them
SET_BY_IMPORT = {"resourceType", "specVersion", "id", "category", "title", "description",
                 "submittedAt", "communityDivisionCode"}


def _round_trip(issue: dict[str, Any]) -> None:
    there = issue_to_request(issue, PLAIN)
    assert list(there.value) == list(REQUEST_FIELDS)
    back = request_to_issue(there.value, PLAIN, community=issue["communityDivisionCode"],
                            role="resident", issue_id=issue["id"], strict=False).value
    # Everything carried comes back as it was; the title never travels in description.
    for member in SET_BY_IMPORT - {"description"}:
        if member not in there.lost and f"/{member}" not in there.lost:
            assert back.get(member) == issue.get(member), member
    assert back["title"] == PLAIN.name(issue["category"], "zh-Hans")
    # description is the issue's own; an issue without one shows its title there instead
    # (the loss of /title says so).
    assert back.get("description") == (issue.get("description") or issue["title"])
    # Whatever changed is a loss the mapping declares (and the conversion reported).
    changed = {f"/{m}" for m in set(issue) | set(back)
               if m != "extensions" and issue.get(m) != back.get(m)}
    if "description" not in issue:
        changed.discard("/description")
    assert changed <= set(there.lost), changed - set(there.lost)
    assert set(there.lost) <= set(TABLE.lost_to_open311)
    point = (issue.get("location") or {}).get("point") or {}
    if point.get("crs") == "wgs84":
        assert back["location"]["point"]["latitude"] == point["latitude"]
    assert there.value["status"] == TABLE.open_or_closed(issue["status"])


@pytest.mark.parametrize("issue", EXAMPLES, ids=lambda d: str(d["id"])[:8])
def test_examples_round_trip(issue: dict[str, Any]) -> None:
    _round_trip(issue)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(documents("Issue"))
def test_generated_issues_round_trip(issue: dict[str, Any]) -> None:
    if issue["category"] not in PLAIN:
        issue["category"] = "environment.garbage"
    _round_trip(issue)


def test_a_filed_request_becomes_a_valid_issue_with_its_attributes() -> None:
    made = request_to_issue({
        "service_code": "housing.lift-installation", "lat": "39.9", "long": "116.4",
        "description": "  3号楼想加装电梯 \r\n 老人多  ", "attribute[building]": "3",
        "attribute[households-consenting]": "18", "first_name": "志强", "last_name": "陈",
        "phone": "139 1111 2222", "email": "a@example.org", "device_id": "x"},
        CITY, community="110105001001", role="resident", now="2025-01-01T08:00:00+08:00")
    issue = made.value
    assert validate(issue).valid, validate(issue).findings
    # The whole text is the description; the title is the service's Chinese name.
    assert issue["title"] == "老楼加装电梯" and issue["description"] == "3号楼想加装电梯 \n 老人多"
    assert issue["reporterContact"] == {"name": "志强 陈", "phone": "+8613911112222"}
    assert issue["extensions"][TABLE.extension_key]["attributes"] == {
        "building": "3", "households-consenting": 18}
    assert set(made.lost) == {"email", "device_id"}


#: what a resident types into GeoReport's one text box: lines of letters, digits, punctuation
#: and spaces (no control characters, which the standard's text never holds)
_LINE = st.text(st.characters(categories=("L", "N", "P", "S", "Zs")), max_size=80)
_TYPED = st.lists(_LINE, min_size=1, max_size=5).map("\n".join)
#: a first line that reaches the public when it becomes the title
_PERSONAL = "王桂英 13800138000 5号楼2单元302 独居老人"
#: what in it names her (独居老人 "lives alone" is also a service's name in the catalogue)
_IDENTIFYING = ("王桂英", "13800138000", "5号楼2单元302")


@settings(max_examples=150, deadline=None)
@given(typed=_TYPED, first=st.sampled_from([_PERSONAL, ""]),
       code=st.sampled_from(sorted(PLAIN.entries)), strict=st.booleans())
def test_the_whole_description_is_the_description_and_never_the_title(
        typed: str, first: str, code: str, strict: bool) -> None:
    """/req/open311/mapping: whatever a resident types, on whatever line, the issue's
    description (tagged personal) holds all of it and its title (tagged x-pipl none, published
    with the issue) is the service's Chinese name; the text reads back as it was filed."""
    text = f"{first}\n{typed}" if first else typed
    made = request_to_issue({"service_code": code, "lat": "39.9", "long": "116.4",
                             "description": text}, PLAIN, community="110105001001",
                            role="resident", now="2025-01-01T08:00:00+08:00",
                            strict=strict).value
    assert made["title"] == PLAIN.name(code, TABLE.title_language)
    assert made.get("description") == (text.strip() or None)
    assert not any(word in made["title"] for word in _IDENTIFYING)
    assert validate(made).valid, validate(made).findings
    assert issue_to_request(made, PLAIN).value["description"] == (
        text.strip() or made["title"])


def test_a_profile_catalogue_names_the_issue_in_chinese_whatever_it_reads() -> None:
    """The title is the catalogue entry's Chinese name, not the codelist's title, nor the
    English name, and an issue so titled loses no title on its way to Open311."""
    made = request_to_issue({"service_code": "housing.lift", "address_string": "3号楼",
                             "description": f"{_PERSONAL}\n电梯卡在三楼"}, CITY,
                            community="110105001001", role="resident",
                            now="2025-01-01T08:00:00+08:00").value
    assert made["title"] == "电梯故障" and made["description"].startswith(_PERSONAL)
    there = issue_to_request(made, CITY)
    assert "/title" not in there.lost and there.value["description"] == made["description"]
    renamed = issue_to_request({**made, "title": "电梯坏了"}, CITY)
    assert renamed.lost["/title"] == TABLE.lost_to_open311["/title"]


def test_an_import_titles_every_issue_with_its_service() -> None:
    """``open311 import`` converts as a POST does: an old system's description, first line
    and all, becomes the description, and nothing of it the title."""
    export = [{"service_request_id": "legacy-1", "service_code": "environment.garbage",
               "description": f"{_PERSONAL}\n垃圾站满溢", "lat": "39.9", "long": "116.4",
               "status": "open", "requested_datetime": "2024-05-01T08:00:00+08:00"}]
    report = import_requests(export, PLAIN, community="110105001001",
                             role="community-staff", system="https://311.example.org")
    [issue] = report.issues
    assert issue["title"] == PLAIN.name("environment.garbage", "zh-Hans")
    assert issue["description"] == f"{_PERSONAL}\n垃圾站满溢"
    assert "description" not in report.lost


def test_every_unusable_field_is_reported_with_its_code() -> None:
    with pytest.raises(Open311Error) as caught:
        request_to_issue({"service_code": "housing.lift-installation", "lat": "91",
                          "long": "0", "phone": "call me", "requested_datetime": "2025-01-01",
                          "attribute[nope]": "1"},
                         CITY, community="110105001001", role="resident", now=None)
    found = {(p["pointer"], p["code"]) for p in caught.value.problems}
    assert found == {
        ("/lat", "open311.invalid-field"), ("/phone", "open311.invalid-field"),
        ("/requested_datetime", "open311.invalid-field"),
        ("/attribute[nope]", "open311.invalid-field"),
        ("/attribute[building]", "open311.missing-field"),
        ("/requested_datetime", "open311.missing-field"),
        ("/lat", "open311.missing-field")}  # an invalid point leaves no location
    for problem in caught.value.problems:
        _worded_in_both(problem)
    with pytest.raises(Open311Error) as unknown:
        request_to_issue({"service_code": "no.such", "address_string": "x"}, CITY,
                         community="110105001001", role="resident", now="2025-01-01T08:00:00Z")
    assert [p["code"] for p in unknown.value.problems] == ["open311.unknown-service"]


def test_an_export_reads_the_same_in_json_and_xml() -> None:
    requests = [issue_to_request(d, PLAIN).value for d in EXAMPLES]
    as_json = read_export(json.dumps(requests, ensure_ascii=False).encode(), "1.0")
    as_xml = read_export(to_xml("service_requests", requests), "1.0")
    assert len(as_json) == len(as_xml) == len(EXAMPLES)
    for j, x in zip(as_json, as_xml, strict=True):
        assert {k: (None if v in (None, "") else str(v)) for k, v in j.items()} == x
    report = import_requests(as_xml, PLAIN, community="110105001001", role="community-staff",
                             system="https://open311.example.org")
    assert len(report.issues) == len(EXAMPLES) and not report.refused
    assert all(validate(i).valid for i in report.issues)
    assert report.issues[0]["externalRefs"] == [
        {"system": "https://open311.example.org", "value": EXAMPLES[0]["id"]}]
    closed = sum(1 for d in EXAMPLES if TABLE.open_or_closed(d["status"]) == "closed")
    assert report.to_dict()["lost"] and report.lost.get("status", 0) == closed


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
    b"<service_requests><request><description>&b;</description></request></service_requests>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    b"<service_requests><request><description>&e;</description></request></service_requests>",
    b"<service_requests><request>", b"<services/>", b"[1, 2]", b"{not json",
])
def test_hostile_or_broken_exports_are_refused(data: bytes) -> None:
    with pytest.raises(Open311Error) as caught:
        read_export(data, "1.0")
    assert caught.value.problems[0]["code"] == "open311.unreadable-export"


_CHINA = dict(min_value=18.0, max_value=53.0, allow_nan=False)


@given(st.floats(**_CHINA), st.floats(min_value=74.0, max_value=134.0, allow_nan=False))
def test_gcj02_and_bd09_points_become_wgs84_to_within_a_metre(lat: float, lon: float) -> None:
    """A GCJ-02 point made from a WGS-84 one goes back to it (10⁻⁵ degrees is about a metre);
    so does the BD-09 point made from that GCJ-02 one."""
    glat, glon = wgs84_to_gcj02(lat, lon)
    assert (glat, glon) != (lat, lon)  # inside China the offset is never nothing
    back = to_wgs84(glat, glon, TABLE.crs_method("gcj02"))
    assert back is not None and abs(back[0] - lat) < 1e-5 and abs(back[1] - lon) < 1e-5
    x, y = glon, glat
    z = math.sqrt(x * x + y * y) + 0.00002 * math.sin(y * math.pi * 3000 / 180)
    theta = math.atan2(y, x) + 0.000003 * math.cos(x * math.pi * 3000 / 180)
    blat, blon = z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065
    back = to_wgs84(blat, blon, TABLE.crs_method("bd09"))
    assert back is not None and abs(back[0] - lat) < 1e-5 and abs(back[1] - lon) < 1e-5


def test_an_issue_point_reaches_open311_in_wgs84() -> None:
    issue = next(d for d in EXAMPLES if ((d.get("location") or {}).get("point") or {}).get(
        "crs") == "gcj02")
    point = issue["location"]["point"]
    request = issue_to_request(issue, PLAIN).value
    assert (request["lat"], request["long"]) == to_wgs84(
        point["latitude"], point["longitude"], TABLE.crs_method(point["crs"]))
    assert 0.0005 < abs(request["long"] - point["longitude"]) < 0.01  # the offset, undone
    assert TABLE.crs_method("no-such-crs") is None


#: the fields a request or an export may carry, its attributes as an object or as form keys
_ANY_FIELD = st.sampled_from([*REQUEST_FIELDS, "attributes", "attribute[building]",
                              "attribute[households-consenting][]", "first_name", "last_name",
                              "phone", "email", "jurisdiction_id"])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(fields=st.dictionaries(_ANY_FIELD, _JSON, max_size=8), strict=st.booleans())
def test_any_fields_become_an_issue_or_an_open311_error(fields: dict[str, Any],
                                                         strict: bool) -> None:
    """Whatever a form or an export holds, the conversion gives an issue or an
    :class:`Open311Error` listing what is wrong, never another exception; an ``attributes``
    that is no object of attribute codes is an invalid field named as such."""
    base = {"service_code": "housing.lift-installation", "lat": "39.9", "long": "116.4",
            "attribute[building]": "3"}
    try:
        request_to_issue({**base, **fields}, CITY, community="110105001001", role="resident",
                         now="2025-01-01T08:00:00+08:00", strict=strict)
    except Open311Error as exc:
        assert exc.problems
        for problem in exc.problems:
            _worded_in_both(problem)


def _worded_in_both(problem: dict[str, Any]) -> None:
    """A refusal says why in each language, the Chinese message not in English, and shows no
    value in Python's notation."""
    zh, en = problem["message"]["zh-Hans"], problem["message"]["en"]
    assert zh and en and zh != en
    if problem["code"] == "open311.invalid-field":
        assert re.search(r"[\u4e00-\u9fff]", zh.split("：", 1)[1]), zh
    assert not re.search(r"\['|'\]", zh + en), (zh, en)


@pytest.mark.parametrize(("attribute", "value"), [
    ("building", ""), ("households-consenting", "many"), ("households-consenting", "inf"),
    ("building", ["1", "2"])])
def test_an_attribute_value_is_refused_in_both_languages(attribute: str, value: Any) -> None:
    fields = {"service_code": "housing.lift-installation", "lat": "39.9", "long": "116.4",
              "attribute[building]": "3", f"attribute[{attribute}]": value}
    with pytest.raises(Open311Error) as caught:
        request_to_issue(fields, CITY, community="110105001001", role="resident",
                         now="2025-01-01T08:00:00+08:00")
    assert [p["pointer"] for p in caught.value.problems] == [f"/attribute[{attribute}]"]
    _worded_in_both(caught.value.problems[0])


@pytest.mark.parametrize("given", ["x", "ab", ["ab", "cd"], 3, True])
def test_attributes_that_are_no_object_are_an_invalid_field(given: Any) -> None:
    """A form's ``attributes=x`` (or an export's list) is refused naming ``attributes``,
    rather than read as pairs of characters or failing; an import reports it lost."""
    fields = {"service_code": "environment.garbage", "lat": "39.9", "long": "116.4",
              "attributes": given}
    with pytest.raises(Open311Error) as caught:
        request_to_issue(fields, CITY, community="110105001001", role="resident",
                         now="2025-01-01T08:00:00+08:00")
    assert [(p["pointer"], p["code"]) for p in caught.value.problems] == [
        ("/attributes", "open311.invalid-field")]
    said = caught.value.problems[0]["message"]
    assert "attribute[code]" in said["en"] and "属性" in said["zh-Hans"]
    imported = request_to_issue(fields, CITY, community="110105001001", role="resident",
                                now="2025-01-01T08:00:00+08:00", strict=False)
    assert "attributes" in imported.lost
    assert "attributes" not in imported.value.get("extensions", {}).get(TABLE.extension_key, {})
