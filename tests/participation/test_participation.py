"""Residents' voice in the library: reply deadlines, the replies a decision waits for, the
decision agreeing with them, and participation figures from the records."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcommunity import load_spec, validate
from smartcommunity.participation import (
    NO_BIRTH_DATE,
    age_band,
    decision_disagreements,
    fewest_reply_days,
    not_awaiting,
    participation,
    reply_days,
    reply_due,
    unanswered,
)
from smartcommunity.profiles import load_profile
from smartcommunity.specification import spec_root

SPEC = load_spec()
EXAMPLES = dict(SPEC.examples())
LIFT = EXAMPLES["consultation/lift-installation-building-3.json"]
VOICES = [d for n, d in sorted(EXAMPLES.items()) if d["resourceType"] in ("Opinion", "Proposal")]
WANG = "5f0c1e2a-6b8d-4c1e-9a3f-1d2e3f4a5b6c"


def test_the_reply_days_come_from_the_profile_else_the_spec() -> None:
    assert reply_days() == SPEC.parameter("/req/voice/reply-due", "replyDays") == 15
    beijing = load_profile(spec_root() / "1.0" / "profiles" / "beijing-chaoyang.json")
    assert reply_days(beijing) == 10
    # the fewest days a city may set: a deadline this close is one every city accepts
    assert 1 <= fewest_reply_days() <= reply_days(beijing)
    assert reply_due("2024-04-07T20:15:00+08:00", beijing) == "2024-04-17T20:15:00+08:00"
    # The offset stays the one the item was received in.
    assert reply_due("2024-04-07T12:15:00Z").endswith("+00:00")


@given(st.datetimes(min_value=datetime(9999, 11, 1), timezones=st.timezones()))
def test_an_item_received_at_the_calendars_end_is_checked_not_crashed(received: datetime) -> None:
    # A reply due after year 9999 has no date-time: no replyDue can be later than it.
    text = received.isoformat()
    try:
        due = reply_due(text)
    except ValueError:
        due = None
    assert due is None or datetime.fromisoformat(due) > received
    for voice in VOICES:
        doc = {**copy.deepcopy(voice), "receivedAt": text, "replyDue": text}
        assert "voice.reply-due-late" not in {f.code for f in validate(doc).findings}


def test_every_opinion_of_the_lift_consultation_was_answered_before_the_decision() -> None:
    assert unanswered(LIFT, VOICES) == []
    assert decision_disagreements(LIFT, VOICES) == []
    pending = copy.deepcopy(VOICES)
    for doc in pending:
        doc.pop("reply", None)
    waiting = unanswered(LIFT, pending)
    # the parking consultation's items are not the lift's
    assert {d["id"] for d in waiting} == {d["id"] for d in VOICES
                                          if d["consultation"]["id"] == LIFT["id"]}
    # received after the decision: not waited for
    late = copy.deepcopy(pending[0])
    late["consultation"] = {"resourceType": "Consultation", "id": LIFT["id"]}
    late["receivedAt"] = "2024-05-01T09:00:00+08:00"
    assert unanswered(LIFT, [late]) == []


def _lift_items() -> list[dict[str, Any]]:
    return [copy.deepcopy(d) for d in VOICES if d["consultation"]["id"] == LIFT["id"]]


def _reason(item: dict[str, Any], reason: str = "received-late") -> dict[str, Any]:
    return {"item": {"resourceType": item["resourceType"], "id": item["id"]}, "reason": reason}


@given(st.data())
def test_a_decision_goes_without_exactly_the_replies_it_records_reasons_for(
        data: st.DataObject) -> None:
    items = _lift_items()
    indexes = st.lists(st.sampled_from(range(len(items))), unique=True)
    silent, explained = data.draw(indexes), data.draw(indexes)
    later = [n for n in data.draw(indexes) if n not in silent]
    for n in silent:  # never answered
        items[n].pop("reply")
    for n in later:  # answered only after the decision (2024-04-28)
        items[n]["reply"]["at"] = "2024-05-06T09:00:00+08:00"
    decided = copy.deepcopy(LIFT)
    decided["decision"]["unanswered"] = [_reason(items[n]) for n in explained]
    assert {d["id"] for d in unanswered(decided, items)} == {
        items[n]["id"] for n in silent if n not in explained}
    # a reason given for an item answered before the decision is a finding
    found = not_awaiting(decided, items)
    assert sorted(f.pointer for f in found) == sorted(
        f"/decision/unanswered/{i}/item" for i, n in enumerate(explained)
        if n not in silent and n not in later)
    assert all(f.code == "voice.not-unanswered" for f in found)


def test_a_reason_names_an_item_awaiting_its_reply() -> None:
    items = _lift_items()
    decided = copy.deepcopy(LIFT)
    decided["decision"]["unanswered"] = [_reason(items[0])]
    assert [f.pointer for f in not_awaiting(decided, items)] == ["/decision/unanswered/0/item"]
    # what the decide action lists, before the decision: only items without a reply
    items[0].pop("reply")
    assert not_awaiting({"id": LIFT["id"]}, items, [_reason(items[0])], ("details",
                                                                        "unanswered")) == []
    stranger = {"resourceType": "Opinion", "id": "00000000-0000-4000-8000-000000000000"}
    assert [f.pointer for f in not_awaiting({"id": LIFT["id"]}, items, [_reason(stranger)],
                                            ("details", "unanswered"))] == [
        "/details/unanswered/0/item"]


def test_a_decision_listing_another_outcome_than_the_reply_is_found() -> None:
    changed = copy.deepcopy(LIFT)
    changed["decision"]["voices"][0]["outcome"] = "not-adopted"
    found = decision_disagreements(changed, VOICES)
    assert [(f.pointer, f.code) for f in found] == [
        ("/decision/voices/0/outcome", "voice.decision-disagrees")]
    assert found[0].requirement == "/req/voice/decision-lists-voices"


def test_participation_counts_every_channel_and_the_elderly() -> None:
    figures = participation(LIFT, VOICES, households=36, birth_dates={WANG: date(1942, 3, 18)},
                            on=date(2024, 4, 28))
    assert (figures.opinions, figures.proposals, figures.supports) == (3, 1, 2)
    # 陈志强, 赵敏, 王桂英 and the proposer; 王桂英 both opined and supported: counted once
    assert figures.residents == 4
    assert figures.opinions_per_100_households == 3 * 100 / 36
    assert figures.by_channel == {"app": 2, "door-to-door": 2, "meeting": 1, "paper": 1}
    assert figures.by_age_band == {"80+": 1, NO_BIRTH_DATE: 3}
    assert (figures.replied, figures.replied_on_time, figures.adopted) == (4, 4, 3)
    assert figures.on_time_share == 1.0 and figures.adopted_share == 0.75
    assert participation(LIFT, []).on_time_share is None
    # the eldest resident's opinion, recorded at her door, answered on time like the app's
    elder = figures.answers_by_age_band["80+"]
    assert (elder.items, elder.opinions, elder.replied, elder.replied_on_time) == (1, 1, 1, 1)
    assert elder.on_time_share == 1.0 and elder.adopted_share == 0.0
    assert elder.opinions_per_100_households == 100 / 36
    paper = figures.answers_by_channel["paper"]
    assert (paper.items, paper.adopted, paper.adopted_share) == (1, 1, 1.0)
    assert figures.answers_by_channel["meeting"].opinions == 0  # the proposal


_OUTCOMES = st.sampled_from([None, "answered", "adopted", "partly-adopted", "not-adopted"])


@given(st.lists(st.tuples(st.integers(0, 3), _OUTCOMES, st.booleans(),
                          st.sampled_from(["app", "paper", "door-to-door", "hotline"]),
                          st.sampled_from([None, date(1940, 1, 1), date(1990, 1, 1)])),
                max_size=12),
       st.one_of(st.none(), st.integers(1, 500)))
def test_the_groups_add_up_to_the_consultations_figures(
        drawn: list[tuple[int, str | None, bool, str, date | None]],
        households: int | None) -> None:
    items, births = [], {}
    templates = _lift_items()
    for n, (which, outcome, late, channel, born) in enumerate(drawn):
        doc = copy.deepcopy(templates[which])
        doc["id"] = f"00000000-0000-4000-8000-{n:012d}"
        doc["channel"] = channel
        author = f"10000000-0000-4000-8000-{n:012d}"
        doc["history"][0]["actor"] = {"role": "resident", "resident": {
            "resourceType": "Resident", "id": author}}
        if born is not None:
            births[author] = born
        if outcome is None:
            doc.pop("reply", None)
        else:
            doc["reply"] = {"outcome": outcome, "text": "答复", "reasons": "理由",
                            "at": "2024-06-30T09:00:00+08:00" if late else doc["receivedAt"]}
        items.append(doc)
    figures = participation(LIFT, items, households=households, birth_dates=births,
                            on=date(2024, 4, 28))
    for groups in (figures.answers_by_channel, figures.answers_by_age_band):
        assert sum(g.items for g in groups.values()) == len(items)
        assert sum(g.opinions for g in groups.values()) == figures.opinions
        assert sum(g.replied for g in groups.values()) == figures.replied
        assert sum(g.replied_on_time for g in groups.values()) == figures.replied_on_time
        assert sum(g.adopted for g in groups.values()) == figures.adopted
        for g in groups.values():
            assert g.on_time_share is None or 0 <= g.on_time_share <= 1
            assert g.adopted_share is None or 0 <= g.adopted_share <= 1
            assert (g.opinions_per_100_households is None) is (households is None)
    assert set(figures.answers_by_channel) == {c for _, _, _, c, _ in drawn}


def test_a_late_reply_is_not_on_time() -> None:
    late = copy.deepcopy(VOICES)
    for doc in late:
        if "reply" in doc:
            doc["reply"]["at"] = "2024-06-30T09:00:00+08:00"
    figures = participation(LIFT, late)
    assert figures.replied == 4 and figures.replied_on_time == 0


class _EveningInUtc(datetime):
    """A clock at 20:00 UTC on 14 June 2030: 04:00 on 15 June in China."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _EveningInUtc:
        at = cls(2030, 6, 14, 20, tzinfo=UTC)
        return at.astimezone(tz) if tz is not None else at.replace(tzinfo=None)


def test_ages_are_counted_on_todays_date_in_china(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a day given, the age bands count on today's date in China Standard Time,
    whatever the clock of the machine: one who turns 18 on 15 June is 18 from 00:00 that day
    in China."""
    from smartcommunity.participation import _figures

    monkeypatch.setattr(_figures, "datetime", _EveningInUtc)
    figures = participation(LIFT, VOICES, birth_dates={WANG: date(2012, 6, 15)})
    assert figures.by_age_band == {"18-34": 1, NO_BIRTH_DATE: 3}


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)),
       st.integers(min_value=0, max_value=120))
def test_age_bands_cover_every_age_once(born: date, years: int) -> None:
    on = born + timedelta(days=365 * years + 1)
    band = age_band(born, on)
    lower = int(band.rstrip("+").split("-")[0])
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    assert lower <= age
    if "-" in band:
        assert age <= int(band.split("-")[1])


_ACTOR_IDS = st.sampled_from([f"00000000-0000-4000-8000-00000000000{i}" for i in range(4)])


@given(st.lists(st.tuples(st.sampled_from(["support", "withdraw-support"]), _ACTOR_IDS),
                max_size=12))
def test_support_counts_each_resident_once_whatever_the_sequence(
        steps: list[tuple[str, str]]) -> None:
    """/req/voice/single-support and /req/voice/support-withdrawal as a property: after any
    sequence of support and withdrawal the supporters are distinct, the count is their number,
    and a refused step changes nothing."""
    from smartcommunity.exceptions import InvalidActionDetails
    from smartcommunity.lifecycle import apply_action

    doc: dict[str, Any] = copy.deepcopy(EXAMPLES["proposal/parking-elderly-bays-open.json"])
    doc["supportDeadline"] = "2099-01-01T00:00:00+08:00"
    expected: list[str] = []
    moment = datetime(2025, 5, 22, 9, 0).astimezone()
    for n, (action, rid) in enumerate(steps):
        at = (moment + timedelta(minutes=n)).isoformat(timespec="seconds")
        actor = {"role": "resident", "resident": {"resourceType": "Resident", "id": rid}}
        details = {"channel": "app"} if action == "support" else None
        try:
            doc = apply_action(doc, action, actor=actor, at=at, details=details).document
        except InvalidActionDetails:
            assert (rid in expected) == (action == "support")
            continue
        if action == "support":
            expected.append(rid)
        else:
            expected.remove(rid)
        supporters = [s["resident"]["id"] for s in doc["supporters"]]
        assert supporters == expected and doc["supportCount"] == len(expected)
    assert validate(doc).valid
