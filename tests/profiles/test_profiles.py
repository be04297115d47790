"""City profiles: the examples hold, every profile rule reports its code, deadlines count right."""

from __future__ import annotations

import copy
import functools
import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcommunity import validate
from smartcommunity.exceptions import ProfileError
from smartcommunity.profiles import Calendar, Profile, TimeLimit, check_profile, load_profile

PROFILES = Path(__file__).resolve().parents[2] / "spec" / "1.0" / "profiles"
EXAMPLES = PROFILES.parent / "examples"
BIG = PROFILES / "beijing-chaoyang.json"
SMALL = PROFILES / "jiangshan.json"
CST = timezone(timedelta(hours=8))


def _data(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data["organisations"], dict):
        file = path.parent / data["organisations"]["file"]
        data["organisations"] = [json.loads(line) for line in file.read_text("utf-8").splitlines()]
    return data


@pytest.mark.parametrize("path", [BIG, SMALL], ids=lambda p: p.name)
def test_example_profiles_have_no_finding(path: Path) -> None:
    assert [(f.pointer, f.code) for f in check_profile(path)] == []
    assert load_profile(path).organisations


def test_every_example_document_reads_cleanly_with_the_large_city() -> None:
    city = load_profile(BIG)
    for path in sorted(EXAMPLES.glob("*/*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert validate(doc, profile=city).findings == validate(doc).findings, path.name


def _add(listname: str, code: str) -> Any:
    def change(d: dict[str, Any]) -> None:
        title = d["profile"]["title"]
        d["codelists"].setdefault(listname, []).append({"code": code, "title": title})
    return change


BROKEN: list[tuple[str, Any, str]] = [
    ("duplicate grid", lambda d: d["grids"].append(dict(d["grids"][0])), "profile.duplicate-entry"),
    ("unknown lead", lambda d: d["services"][0].update(lead="nobody"),
     "profile.unknown-organisation"),
    ("national code redefined", _add("issue-category", "housing"),
     "profile.redefines-national-code"),
    ("code outside namespace", _add("issue-category", "housing.hz-x"),
     "profile.code-outside-namespace"),
    ("closed codelist", _add("urgency", "bj.slow"), "profile.codelist-closed"),
    ("unknown category", lambda d: d["services"][0].update(category="bj.nothing"),
     "profile.unknown-category"),
    ("extension untagged",
     lambda d: d["extensions"][0]["schema"]["properties"].update(x={"type": "string"}),
     "profile.extension-untagged"),
    ("extension schema invalid", lambda d: d["extensions"][0]["schema"].update(type=12),
     "profile.extension-schema-invalid"),
    ("extension outside namespace", lambda d: d["extensions"][0].update(key="com.vendor.x"),
     "profile.extension-outside-namespace"),
    ("grid outside", lambda d: d["grids"][0].update(divisionCode="110106001001"),
     "profile.grid-outside-division"),
    ("polygon open", lambda d: d["grids"][-1]["geometry"]["coordinates"][0].pop(),
     "profile.grid-polygon-open"),
    ("calendar conflict",
     lambda d: d["calendar"]["workingDays"].append(d["calendar"]["holidays"][0]),
     "profile.calendar-conflict"),
    ("unknown role", lambda d: d["roles"][0].update(role="mayor"), "profile.unknown-role"),
    ("quorum over one",
     lambda d: d["consultations"]["thresholds"]["owners-assembly"]["quorum"].update(
         numerator=4, denominator=3),
     "profile.fraction-over-one"),
    ("invalid organisation", lambda d: d["organisations"][0].pop("name"),
     "profile.organisation-invalid"),
    ("meta-schema", lambda d: d["profile"].pop("namespace"), "profile.schema-invalid"),
    ("spec version", lambda d: d["profile"].update(specVersion="9.0"),
     "profile.unknown-spec-version"),
]


@pytest.mark.parametrize(("what", "change", "code"), BROKEN, ids=[b[0] for b in BROKEN])
def test_each_profile_rule_reports_its_code(what: str, change: Any, code: str) -> None:
    data = copy.deepcopy(_data(BIG))
    change(data)
    findings = check_profile(data)
    assert code in {f.code for f in findings}, what
    assert all(f.message["zh-Hans"] and f.message["en"] for f in findings)
    with pytest.raises(ProfileError):
        load_profile(data)


@settings(max_examples=40, deadline=None)
@given(numerator=st.integers(0, 50), denominator=st.integers(1, 50),
       which=st.sampled_from(["quorum", "approval"]))
def test_a_threshold_loads_exactly_when_it_is_at_most_one(numerator: int, denominator: int,
                                                           which: str) -> None:
    data = copy.deepcopy(_data(BIG))
    data["consultations"]["thresholds"]["owners-assembly"][which] = {
        "numerator": numerator, "denominator": denominator}
    over = [f for f in check_profile(data) if f.code == "profile.fraction-over-one"]
    assert bool(over) == (numerator > denominator)
    if over:
        assert over[0].pointer == f"/consultations/thresholds/owners-assembly/{which}"
        assert f"{numerator}/{denominator}" in over[0].message["en"]


#: where a profile keys its settings by a closed codelist's codes, and that codelist
_KEYED = {
    "/deadlines": ("urgency", lambda d: d["deadlines"]),
    "/services/0/deadlines": ("urgency", lambda d: d["services"][0].setdefault("deadlines", {})),
    "/consultations/noticeDays": ("consultation-form",
                                  lambda d: d["consultations"]["noticeDays"]),
    "/consultations/thresholds": ("consultation-form",
                                  lambda d: d["consultations"]["thresholds"]),
}
_SETTING = {"/deadlines": {"response": {"amount": 2, "unit": "hours"}},
            "/services/0/deadlines": {"response": {"amount": 2, "unit": "hours"}},
            "/consultations/noticeDays": 9,
            "/consultations/thresholds": {"quorum": {"numerator": 1, "denominator": 2}}}


@settings(max_examples=25, deadline=None)
@given(table=st.sampled_from(sorted(_KEYED)), data=st.data())
def test_a_setting_keyed_by_no_code_of_its_closed_codelist_is_a_finding(table: str,
                                                                        data: Any) -> None:
    """A deadline under an urgency, or a notice period or threshold under a consultation
    form, that the closed codelist does not have would never apply: the profile is refused
    with a finding at the key; under any of the codes it loads."""
    from smartcommunity import load_spec

    codelist, at = _KEYED[table]
    codes = sorted(load_spec().codelist(codelist))
    invented = st.from_regex(r"\A[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,6})?\Z")
    key = data.draw(st.sampled_from(codes) | invented)
    profile = copy.deepcopy(_data(BIG))
    at(profile)[key] = _SETTING[table]
    found = [f for f in check_profile(profile) if f.code == "profile.unknown-key"]
    if key in codes:
        assert found == []
        load_profile(profile)
    else:
        assert [f.pointer for f in found] == [f"{table}/{key}"]
        assert found[0].severity == "error" and codelist in found[0].message["en"]
        assert key in found[0].message["zh-Hans"]


@settings(max_examples=40, deadline=None)
@given(sign=st.sampled_from("+-"), hours=st.integers(0, 99), minutes=st.integers(0, 99))
def test_a_time_zone_loads_exactly_when_it_is_a_real_offset(sign: str, hours: int,
                                                            minutes: int) -> None:
    """An offset of at most 14 hours with minutes 00-59 loads as itself; any other is a finding
    at /profile/timeZone, never an exception and never another offset."""
    data = copy.deepcopy(_data(SMALL))
    data["profile"]["timeZone"] = f"{sign}{hours:02}:{minutes:02}"
    real = (hours, minutes) <= (14, 0) and minutes < 60
    findings = check_profile(data)
    assert [f.pointer for f in findings] == ([] if real else ["/profile/timeZone"])
    if real:
        offset = load_profile(data).calendar.offset.utcoffset(None)
        assert offset == (-1 if sign == "-" else 1) * timedelta(hours=hours, minutes=minutes)


@settings(max_examples=20, deadline=None)
@given(amount=st.integers(1, 100000), unit=st.sampled_from(["hours", "days", "working-days"]))
def test_a_working_days_limit_is_at_most_a_thousand(amount: int, unit: str) -> None:
    data = copy.deepcopy(_data(SMALL))
    data["deadlines"]["normal"]["resolution"] = {"amount": amount, "unit": unit}
    found = [f.pointer for f in check_profile(data)]
    too_long = unit == "working-days" and amount > 1000
    assert found == (["/deadlines/normal/resolution/amount"] if too_long else [])


@settings(max_examples=15, deadline=None)
@given(weekend=st.sets(st.integers(1, 7), min_size=5))
def test_a_calendar_working_no_day_of_the_week_is_a_finding(weekend: set[int]) -> None:
    data = copy.deepcopy(_data(SMALL))
    data["calendar"]["weekend"] = sorted(weekend)
    found = [(f.pointer, f.code) for f in check_profile(data)]
    if len(weekend) == 7:
        assert found == [("/calendar/weekend", "profile.calendar-no-working-days")]
    else:
        assert ("/calendar/weekend", "profile.calendar-no-working-days") not in found


_SUNDAYS = [date(2024, 1, 7) + timedelta(weeks=n) for n in range(1800)]


@settings(max_examples=10, deadline=None)
@given(lost=st.integers(1500, 1800), amount=st.integers(800, 1000))
def test_a_limit_the_calendar_may_not_reach_is_a_finding(lost: int, amount: int) -> None:
    """Working Sundays only, less ``lost`` of them as holidays: a limit beyond what the 50
    years a count looks ahead surely hold is refused where it is stated; one within them is
    reached from any start."""
    data = copy.deepcopy(_data(SMALL))
    data["calendar"] = {"weekend": [1, 2, 3, 4, 5, 6],
                        "holidays": [d.isoformat() for d in _SUNDAYS[:lost]]}
    data["deadlines"]["normal"]["resolution"] = {"amount": amount, "unit": "working-days"}
    reach = 366 * 50 // 7 - lost
    found = [(f.pointer, f.code) for f in check_profile(data)]
    if amount > reach:
        assert found == [("/deadlines/normal/resolution/amount", "profile.limit-unreachable")]
    else:
        assert found == []
        city = load_profile(data)
        start = datetime(2023, 12, 31, 9, 0, tzinfo=CST)  # the Sunday before the first holiday
        city.calendar.add(start, TimeLimit(amount, "working-days"))


@settings(max_examples=40, deadline=None)
@given(weekend=st.sets(st.integers(1, 7), max_size=6),
       holidays=st.frozensets(st.dates(date(2024, 1, 1), date(2030, 12, 31)), max_size=60),
       start=st.dates(date(2023, 1, 1), date(2031, 12, 31)))
def test_the_calendars_promise_holds_from_any_start(weekend: set[int], holidays: frozenset[date],
                                                    start: date) -> None:
    """``worked_at_least`` is a floor: any 18,300 days in a row hold at least that many
    working days."""
    from smartcommunity.profiles._calendar import SCAN_LIMIT

    cal = Calendar(weekend=frozenset(weekend), holidays=holidays)
    counted = sum(cal.is_working_day(start + timedelta(days=n)) for n in range(1, SCAN_LIMIT + 1))
    assert counted >= cal.worked_at_least()


_OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@settings(max_examples=25, deadline=None)
@given(start=st.datetimes(min_value=datetime(9999, 12, 1), timezones=_OFFSETS),
       stated=st.booleans())
def test_an_issue_whose_deadline_the_profile_cannot_compute_is_a_finding(
        start: datetime, stated: bool) -> None:
    """Validation with the profile never raises for an issue submitted near the end of the
    year 9999: a deadline the profile cannot compute is a finding at /submittedAt."""
    city = load_profile(BIG)
    doc = _issue()
    doc["submittedAt"] = start.isoformat()
    if not stated:
        doc.pop("deadlines")
    computable = []
    for kind in ("response", "resolution"):
        try:
            city.deadline(doc["category"], doc["urgency"], kind, start)
            computable.append(True)
        except ValueError:
            computable.append(False)
    found = [(f.pointer, f.values["member"]) for f in validate(doc, profile=city).findings
             if f.code == "profile.deadline-incalculable"]
    assert found == [("/submittedAt", member) for member, ok
                     in zip(("responseDue", "resolutionDue"), computable, strict=True) if not ok]


def test_unreadable_profile_is_a_finding(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text("{", encoding="utf-8")
    assert [f.code for f in check_profile(bad)] == ["profile.schema-invalid"]


def _issue() -> dict[str, Any]:
    return json.loads((EXAMPLES / "issue" / "gas-heater-elderly-closed.json").read_text("utf-8"))


def test_document_checks_with_a_profile() -> None:
    city = load_profile(BIG)
    doc = _issue()
    doc["assignments"][0]["department"]["id"] = "nobody"
    doc["meta"]["profile"] = ["https://profiles.example.gov.cn/elsewhere"]
    doc["deadlines"]["responseDue"] = "2025-01-09T12:45:00+08:00"
    doc["extensions"] = {"cn.gov.beijing.jiesujiban": {"workOrderNo": "X1"}}
    codes = {f.code: f for f in validate(doc, profile=city).findings}
    assert codes["profile.unknown-department"].pointer == "/assignments/0/department/id"
    assert codes["profile.other-profile"].severity == "warning"
    assert codes["profile.deadline-exceeds"].pointer == "/deadlines/responseDue"
    assert codes["profile.extension-invalid"].pointer.startswith(
        "/extensions/cn.gov.beijing.jiesujiban")


def _moved(at: str, minutes: int) -> str:
    return (datetime.fromisoformat(at) + timedelta(minutes=minutes)).isoformat()


#: where the deadlines the catalogue limits are stated
_RESPONSE, _ORIGINAL = "/deadlines/responseDue", "/deadlines/extensions/0/previousDue"
#: writes over a stored issue whose resolution deadline was extended, and the deadlines each
#: puts to the profile again
_WRITES: dict[str, tuple[Any, set[str]]] = {
    "title": (lambda d: d.update(title="另一个标题"), set()),
    "urgency": (lambda d: d.update(urgency="normal"), {_RESPONSE}),
    "category": (lambda d: d.update(category="housing.lift"), {_RESPONSE}),
    "submittedAt": (lambda d: d.update(submittedAt=_moved(d["submittedAt"], -1)), {_RESPONSE}),
    "submittedAt respelled": (lambda d: d.update(
        submittedAt=datetime.fromisoformat(d["submittedAt"]).astimezone(UTC)
        .isoformat().replace("+00:00", "Z")), set()),
    "response deadline": (lambda d: d["deadlines"].update(
        responseDue=_moved(d["deadlines"]["responseDue"], -1)), {_RESPONSE}),
    "original resolution deadline": (lambda d: d["deadlines"]["extensions"][0].update(
        previousDue=_moved(d["deadlines"]["extensions"][0]["previousDue"], -1)), {_ORIGINAL}),
    "another extension": (lambda d: d["deadlines"]["extensions"].append(
        {**d["deadlines"]["extensions"][0], "previousDue": d["deadlines"]["resolutionDue"],
         "newDue": _moved(d["deadlines"]["resolutionDue"], 60 * 24)}), set()),
}


@settings(max_examples=40, deadline=None)
@given(write=st.sampled_from(sorted(_WRITES)), late=st.booleans())
def test_a_write_is_held_to_the_deadlines_only_when_it_puts_them_in_question(
        write: str, late: bool) -> None:
    """Stored under a profile with longer limits, an issue's deadlines are later than this
    profile's. A write that changes neither a deadline nor what it is computed from keeps it;
    one that does is held to the profile, except an extended resolution deadline, whose
    original stands as approved unless the write changes it (/req/profiles/deadlines)."""
    city = load_profile(BIG)
    stored = _issue()
    # Either far beyond any limit of the catalogue, or at the very start, within every one.
    stored["deadlines"]["responseDue"] = _moved(stored["submittedAt"], 400 * 24 * 60 * late)
    stored["deadlines"]["extensions"][0]["previousDue"] = stored["deadlines"]["responseDue"]
    change, in_question = _WRITES[write]
    written = copy.deepcopy(stored)
    change(written)
    report = city.review(written, validate(written), previous=stored)
    found = {f.pointer for f in report.findings if f.code == "profile.deadline-exceeds"}
    assert found == (in_question if late else set())
    # Read on its own, the document is held to the profile whatever was written.
    alone = {f.pointer for f in validate(written, profile=city).findings
             if f.code == "profile.deadline-exceeds"}
    assert alone == ({_RESPONSE, _ORIGINAL} if late else set())


#: the day the later versions of the large city's profile in the import tests were published
_PUBLISHED = date(2025, 7, 1)
_ZONES = ("+08:00", "-05:00", "+14:00", "-12:00")


@functools.cache
def _version_of(published: date | None, zone: str) -> Profile:
    """The large city's profile as a later version published on ``published`` (or stating no
    date), in the time zone ``zone``."""
    data = _data(BIG)
    head = data["profile"]
    head.update(version="1.1.0", timeZone=zone)
    head.pop("published")
    if published is not None:
        head["published"] = published.isoformat()
    return load_profile(data)


@settings(max_examples=80, deadline=None)
@given(published=st.sampled_from([_PUBLISHED, None]), zone=st.sampled_from(_ZONES),
       minutes=st.integers(-3 * 24 * 60, 3 * 24 * 60), spelled_in=_OFFSETS,
       late=st.integers(-90, 90))
def test_an_import_keeps_the_deadlines_given_before_the_profile_was_published(
        published: date | None, zone: str, minutes: int, spelled_in: timezone,
        late: int) -> None:
    """An imported issue submitted before the day the profile's version was published (in the
    profile's time zone, however the submission time is spelled) keeps the deadlines it
    records; one submitted since, or any with a profile stating no date, is held to the
    catalogue as a new issue is, so an import never makes a new issue's deadlines looser
    (/req/profiles/deadlines)."""
    city = _version_of(published, zone)
    midnight = datetime.combine(published or _PUBLISHED, datetime.min.time(),
                                city.calendar.offset)
    submitted = midnight + timedelta(minutes=minutes)
    doc = _issue()
    doc["submittedAt"] = submitted.astimezone(spelled_in).isoformat()
    doc["deadlines"] = {}
    for kind, member in (("response", "responseDue"), ("resolution", "resolutionDue")):
        due = city.deadline(doc["category"], doc["urgency"], kind, submitted)
        assert due is not None
        doc["deadlines"][member] = (due + timedelta(minutes=late)).isoformat()
    too_late = {"/deadlines/responseDue", "/deadlines/resolutionDue"} if late > 0 else set()

    def exceeding(report: Any) -> set[str]:
        return {f.pointer for f in report.findings if f.code == "profile.deadline-exceeds"}

    kept = published is not None and minutes < 0
    imported = city.review(doc, validate(doc), imported=True)
    assert exceeding(imported) == (set() if kept else too_late)
    # Anything else is held to the profile in force: a new issue, a document on its own.
    assert exceeding(validate(doc, profile=city)) == too_late


def test_city_codes_are_known_only_with_the_profile() -> None:
    doc = _issue()
    doc["category"] = "environment.garbage.bj-bulky-waste"
    assert "core.unknown-code" in validate(doc).codes()
    assert "core.unknown-code" not in validate(doc, profile=load_profile(BIG)).codes()


def test_catalogue_falls_back_to_parent_then_default() -> None:
    city = load_profile(BIG)
    start = datetime(2025, 1, 8, 10, 20, tzinfo=CST)
    assert city.time_limit("utilities.gas", "urgent", "response") == TimeLimit(3, "hours")
    assert city.service("environment.garbage.bj-bulky-waste.x") is not None
    assert city.deadline("education", "normal", "response", start) == start + timedelta(hours=24)
    # 2025-01-24 (Fri) + 7 working days: Sun 26 and Sat 8 Feb are worked, 28 Jan-4 Feb are not.
    friday = datetime(2025, 1, 24, 9, 0, tzinfo=CST)
    assert city.deadline("education", "urgent", "resolution", friday) == datetime(
        2025, 2, 10, 9, 0, tzinfo=CST)


# -- deadline computation: properties --------------------------------------------------------
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31))
calendars = st.builds(
    lambda hol, work: Calendar(holidays=frozenset(hol), working_days=frozenset(work - hol)),
    st.frozensets(days, max_size=30), st.frozensets(days, max_size=10))
starts = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31),
                      timezones=st.just(CST))
units = st.sampled_from(["hours", "days", "working-days"])
limits = st.builds(TimeLimit, st.integers(1, 30), units)


@settings(max_examples=200, deadline=None)
@given(calendars, starts, starts, limits)
def test_deadline_is_monotone_in_start(cal: Calendar, a: datetime, b: datetime,
                                       limit: TimeLimit) -> None:
    early, late = sorted((a, b))
    assert cal.add(early, limit) <= cal.add(late, limit)


@settings(max_examples=200, deadline=None)
@given(calendars, starts, st.integers(1, 30))
def test_working_days_count_exactly_the_working_days(cal: Calendar, start: datetime,
                                                     n: int) -> None:
    due = cal.add(start, TimeLimit(n, "working-days"))
    assert due.timetz() == start.timetz()
    assert cal.is_working_day(due.date())
    span = (due.date() - start.date()).days
    between = [start.date() + timedelta(days=i) for i in range(1, span + 1)]
    assert sum(cal.is_working_day(d) for d in between) == n
    for d in between:
        if d in cal.holidays:
            assert not cal.is_working_day(d)
        if d in cal.working_days:
            assert cal.is_working_day(d)


@given(days)
def test_make_up_days_count_and_holidays_do_not(day: date) -> None:
    assert Calendar(working_days=frozenset({day})).is_working_day(day)
    assert not Calendar(holidays=frozenset({day})).is_working_day(day)


@settings(max_examples=150, deadline=None)
@given(start=st.datetimes(min_value=datetime(9999, 12, 20), timezones=_OFFSETS),
       offset=_OFFSETS, limit=limits)
def test_a_deadline_past_the_last_date_is_a_value_error(start: datetime, offset: timezone,
                                                        limit: TimeLimit) -> None:
    """At the end of the year 9999 a time limit either gives a date or raises ValueError,
    never OverflowError."""
    try:
        due = Calendar(offset=offset).add(start, limit)
    except ValueError:
        return
    assert due >= start


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError):
        Calendar().add(datetime(2025, 1, 1), TimeLimit(1, "hours"))


# -- redaction of registered extensions ------------------------------------------------------
def test_registered_extensions_are_redacted_by_their_own_tags() -> None:
    from smartcommunity import redact

    city = load_profile(BIG)
    doc = _issue()
    doc["extensions"] = {
        "cn.gov.beijing.jiesujiban": {"workOrderNo": "CY202501080001", "callerDistrict": "朝阳",
                                      "score": {"response": 90}},
        "com.vendor.notes": {"anything": "x"},
    }
    public = redact(doc, "public", profile=city)
    # workOrderNo and score are tagged none, callerDistrict personal; the vendor's extension is
    # unregistered and therefore sensitive.
    assert public["extensions"] == {"cn.gov.beijing.jiesujiban": {
        "workOrderNo": "CY202501080001", "score": {"response": 90}}}
    assert "extensions" not in redact(doc, "public")
    staff = redact(doc, "community-staff", profile=city)
    assert staff["extensions"] == doc["extensions"]
    assert validate(public, profile=city).valid
    assert doc["extensions"]["cn.gov.beijing.jiesujiban"]["callerDistrict"] == "朝阳"


# -- the vectors of library rules report their requirement's codes ---------------------------
VECTORS = PROFILES.parents[1] / "tests" / "1.0"


def _library_vectors(name: str) -> list[tuple[str, Any, str]]:
    from smartcommunity import load_spec

    spec = load_spec()
    out = []
    for group in json.loads((VECTORS / name).read_text(encoding="utf-8")):
        for test in group["tests"]:
            req = spec.requirements.get(test.get("requirement", ""))
            if req is not None and "library" in req.enforcement and req.codes:
                out.append((test["description"], test["data"], req.id))
    return out


@pytest.mark.parametrize(("what", "data", "req"), _library_vectors("organisation.json"),
                         ids=lambda v: v if isinstance(v, str) and v.startswith("/") else None)
def test_organisation_vectors_report_their_codes(what: str, data: Any, req: str) -> None:
    """Each vector is refused for its requirement: by the rule's own code, or by the schema
    when the schema already rejects the member (one finding per fault)."""
    assert req in {f.requirement for f in validate(data).findings}, what


@pytest.mark.parametrize(("what", "data", "req"), _library_vectors("profile.json"),
                         ids=lambda v: v if isinstance(v, str) and v.startswith("/") else None)
def test_profile_vectors_report_their_codes(what: str, data: Any, req: str) -> None:
    from smartcommunity import load_spec

    codes = {f.code for f in check_profile(data)}
    assert set(load_spec().requirements[req].codes) & codes, what


@given(days=st.integers(min_value=1, max_value=20))
@settings(max_examples=25, deadline=None)
def test_notice_is_measured_with_the_citys_period_for_the_form(days: int) -> None:
    """The profile's notice days for a form replace the national 7 (consultations.noticeDays):
    Jiangshan asks 5 days for a residents' council and 15 for an owners' assembly."""
    small = load_profile(SMALL)
    doc = json.loads((EXAMPLES / "consultation" / "parking-convention-deliberating.json")
                     .read_text(encoding="utf-8"))
    first = datetime.fromisoformat(doc["sessions"][0]["start"])
    published = first - timedelta(days=days)
    doc["notice"]["publishedAt"] = published.isoformat()
    doc["notice"]["deadline"] = (published + timedelta(hours=1)).isoformat()
    doc["origin"]["proposedAt"] = (published - timedelta(days=1)).isoformat()
    for form, city_days in (("residents-council", 5), ("owners-assembly", 15)):
        doc["form"] = form
        national = validate(doc)
        city = small.review(doc, national)
        short = [f for f in city.warnings if f.code == "consultation.notice-period-short"]
        assert bool(short) == (days < city_days), (form, days)
        assert all(f.severity == "warning" and f.values.get("minimum") == city_days for f in short)


def _lift(form: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((EXAMPLES / "consultation" /
                                      "lift-installation-building-3.json").read_text("utf-8"))
    doc["form"] = form
    return doc


def _with_thresholds(form: str, approval: tuple[int, int], quorum: tuple[int, int]) -> Any:
    data = _data(BIG)
    data["consultations"]["thresholds"] = {form: {
        "quorum": {"numerator": quorum[0], "denominator": quorum[1]},
        "approval": {"numerator": approval[0], "denominator": approval[1]}}}
    return load_profile(data)


_FRACTION = st.tuples(st.integers(0, 12), st.integers(1, 12)).filter(lambda f: f[0] <= f[1])


@given(approval=_FRACTION, quorum=_FRACTION)
@settings(max_examples=15, deadline=None)
def test_the_citys_thresholds_decide_a_vote_of_their_form(approval: tuple[int, int],
                                                          quorum: tuple[int, int]) -> None:
    """The profile's quorum and approval fractions for a form replace the vote's own: the
    lift vote (36 eligible, 34 took part, 30 agree) passes exactly when the city's rules say
    so, whether the library computes it, the close-vote effect records it or a validator
    reads the record — and a vote of another form keeps its own rules."""
    from smartcommunity.lifecycle import vote_outcome

    city = _with_thresholds("owners-assembly", approval, quorum)
    doc = _lift("owners-assembly")
    vote = doc["votes"][0]
    quorum_met = 34 * quorum[1] >= quorum[0] * 36
    passed = quorum_met and 30 * approval[1] >= approval[0] * 34
    expected = (quorum_met, "passed" if passed else "failed" if quorum_met else "no-quorum")
    rules = city.thresholds["owners-assembly"]
    assert vote_outcome(vote, 36, rules)[:2] == expected
    assert vote_outcome(vote, 36)[:2] == (True, "passed")  # the vote's own 2/3 and 3/4
    # The record as the city reads it: a result the city's rules do not give is inconsistent.
    # The choice vote beside it (33 took part, 22 of 31 valid votes for the leader, "more
    # than" the fraction) is held to the city's fractions too.
    choice_quorum = 33 * quorum[1] >= quorum[0] * 36
    choice = "no-quorum" if not choice_quorum else \
        "passed" if 22 * approval[1] > approval[0] * 31 else "failed"
    national = validate(doc)
    flagged = {f.pointer for f in city.review(doc, national).errors
               if f.code == "profile.vote-outcome-inconsistent" and f.pointer.endswith("/result")}
    assert flagged == {f"/votes/{i}/results/result" for i, result
                       in enumerate((expected[1], choice)) if result != "passed"}
    other = _lift("residents-council")
    assert not city.review(other, validate(other)).errors
    # Closing the vote under the profile records the city's outcome.
    open_doc = copy.deepcopy(doc)
    open_vote = open_doc["votes"][0]
    open_vote["status"] = "open"
    open_vote.pop("closesAt", None)
    for member in ("quorumMet", "result", "winningOptionId"):
        open_vote["results"].pop(member, None)
    applied = _close(open_doc, vote["id"], {"owners-assembly": rules})
    results = applied["votes"][0]["results"]
    assert (results["quorumMet"], results["result"]) == expected


def _close(doc: dict[str, Any], vote_id: str, thresholds: Any) -> dict[str, Any]:
    from smartcommunity.lifecycle._effects import apply_effects

    event = {"action": "close-vote", "at": "2024-04-27T18:00:00+08:00",
             "details": {"voteId": vote_id}}
    apply_effects("Consultation", "close-vote", doc, event, thresholds=thresholds)
    return doc
