"""Vote results withheld until due (/req/consultations/results-hidden): the library's one rule,
which a server's reads and the pages written from files both apply."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from smartcommunity.privacy import hide_results, results_rule, results_shown
from smartcommunity.specification import load_spec

SPEC = load_spec("1.0")
LIFT: dict[str, Any] = json.loads(
    Path(SPEC.folder, "examples/consultation/lift-installation-building-3.json").read_text(
        encoding="utf-8"))
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
RULE = results_rule("1.0")

#: results.visibleFrom: before or after NOW, written at another offset, in year 10000 in UTC,
#: a leap second, no time at all, or text that is none
_VISIBLE_FROM = st.one_of(
    st.none(),
    st.builds(lambda s, h: (NOW + timedelta(seconds=s)).astimezone(
        timezone(timedelta(hours=h))).isoformat(), st.sampled_from([-86400, -1, 1, 86400]),
        st.sampled_from([-10, 0, 8])),
    st.sampled_from(["9999-12-31T23:59:59-08:00", "2026-06-01T19:59:60+08:00",
                     "2026-06-01T20:00:00+08:00", "yesterday"]))


def _due(status: str, visible_from: str | None) -> bool:
    if status != RULE.shown_at:
        return False
    if visible_from is None:
        return True
    return visible_from in ("2026-06-01T19:59:60+08:00", "2026-06-01T20:00:00+08:00") or (
        visible_from not in ("9999-12-31T23:59:59-08:00", "yesterday")
        and datetime.fromisoformat(visible_from) <= NOW)


@given(st.lists(st.tuples(st.sampled_from(["planned", "open", "closed", "cancelled"]),
                          _VISIBLE_FROM, st.booleans()), min_size=2, max_size=2),
       st.booleans())
def test_results_wait_for_a_closed_vote_and_their_time(
        votes: list[tuple[str, str | None, bool]], early: bool) -> None:
    doc = copy.deepcopy(LIFT)
    for vote, (status, visible_from, kept) in zip(doc["votes"], votes, strict=True):
        vote["status"] = status
        vote["results"].pop("visibleFrom", None)
        if visible_from is not None:
            vote["results"]["visibleFrom"] = visible_from
        if not kept:  # as redaction leaves it when the reader may not see the results
            del vote["results"]
    shown = copy.deepcopy(doc)
    hidden = hide_results(shown, early=early, now=NOW, rule=RULE)
    withheld = set()
    for vote, (status, visible_from, kept) in zip(shown["votes"], votes, strict=True):
        alone = {"status": status, "results": {} if visible_from is None
                 else {"visibleFrom": visible_from}}
        assert results_shown(alone, NOW, rule=RULE) == _due(status, visible_from)
        gives = kept and (not early or _due(status, visible_from))
        assert ("results" in vote) == gives
        if not gives:
            withheld.add(vote["id"])
            assert not any("optionId" in b or "kind" in b for b in vote.get("ballots") or ())
    assert hidden == bool(withheld)
    for before, after in zip(doc["history"], shown["history"], strict=True):
        members = RULE.event_details.get(before["action"], ())
        if members and before["details"].get("voteId") in withheld:
            assert not set(members) & set(after["details"])
            assert "withheldDigest" in after and "salt" not in after
        else:
            assert after == before


def test_the_rule_is_privacy_json() -> None:
    record = SPEC.privacy["recordAccess"]
    assert RULE.shown_at == record["results"]["shownAtVoteStatus"]
    assert RULE.hidden_from == frozenset(record["resultsHiddenFrom"])
    assert RULE.withholds_from(record["anonymousRole"])
    assert RULE.resource_types == frozenset(record["results"]["resourceTypes"])


def test_other_resources_are_left_as_they_are() -> None:
    issue = {"resourceType": "Issue", "votes": [{"id": "v", "status": "open",
                                                 "results": {"tally": {}}}]}
    assert not hide_results(issue, early=True, now=NOW)
    assert "results" in issue["votes"][0]
