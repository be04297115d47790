"""The consultation timeline: the procedure's steps from data, nobody named, results only once
visible, and a new step added by appending one function."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from smartcommunity.pointers import nodes
from smartcommunity.transparency import (
    STEPS,
    Line,
    Links,
    Step,
    consultation_page,
    public_view,
    timeline,
)

from .helpers import LIFT, example


def _names(doc: Any) -> set[str]:
    """Every person's name in a consultation document."""
    found: set[str] = set()
    for node in nodes(doc):
        if not isinstance(node, dict):
            continue
        person = node.get("person")
        if isinstance(person, dict) and isinstance(person.get("name"), str):
            found.add(person["name"])
        if node.get("role") in ("resident", "community-staff") and isinstance(
                node.get("name"), str):
            found.add(node["name"])
    return found


def test_every_step_of_the_procedure_in_order() -> None:
    tl = timeline(public_view(example(LIFT, visibility="public")))
    assert [s.key for s in tl.steps] == ["origin", "notice", "sessions", "votes", "decision",
                                         "implementation", "feedback"]
    assert tl.title == "3号楼加装电梯" and tl.status == "已办结"


def test_no_person_is_named_on_the_page_in_either_language() -> None:
    doc = example(LIFT, visibility="public")
    names = _names(doc)
    assert "王桂英" in names and len(names) >= 4
    for lang in ("zh-Hans", "en"):
        page = consultation_page(public_view(doc), lang, Links())
        assert not [n for n in names if n in page]


def _with_public_results(visible_from: str) -> dict[str, Any]:
    doc = example(LIFT, visibility="public")
    for vote in doc["votes"]:
        vote["results"]["visibility"] = "public"
        vote["results"]["visibleFrom"] = visible_from
    return public_view(doc)


def test_vote_results_appear_only_once_visible() -> None:
    doc = _with_public_results("2024-04-27T18:00:00+08:00")
    before = timeline(doc, now=datetime(2024, 4, 27, 9, 0, tzinfo=UTC))
    after = timeline(doc, now=datetime(2024, 4, 28, tzinfo=UTC))
    votes_before = json.dumps([s for s in before.steps if s.key == "votes"], default=str,
                              ensure_ascii=False)
    votes_after = json.dumps([s for s in after.steps if s.key == "votes"], default=str,
                             ensure_ascii=False)
    assert "30 票" not in votes_before and "尚未公布" in votes_before
    assert "30 票" in votes_after and "通过" in votes_after


def test_results_the_public_may_not_see_stay_hidden_whenever_read() -> None:
    doc = public_view(example(LIFT, visibility="public"))  # results visible to the community
    later = timeline(doc, now=datetime(2030, 1, 1, tzinfo=UTC))
    assert "30 票" not in json.dumps(later.steps, default=str, ensure_ascii=False)


def test_a_new_part_of_the_record_is_one_more_step() -> None:
    def opinions(doc: Any, spec: Any, lang: str, now: datetime) -> Step:
        return Step("opinions", "居民意见", None, (Line("", "共收到 12 条意见"),))

    tl = timeline(public_view(example(LIFT, visibility="public")), steps=[*STEPS, opinions])
    assert tl.steps[-1].key == "opinions"
