"""Lifecycles: read from the spec's tables; examples replay; forbidden actions are errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcommunity import ActionNotAllowed, RoleNotAllowed, load_spec, validate
from smartcommunity import lifecycle as lifecycle_module
from smartcommunity.exceptions import InvalidActionDetails, LifecycleError, UnknownAction
from smartcommunity.lifecycle import apply_action, lifecycle_for

SPEC = load_spec("1.0")
TABLED = [(n, d) for n, d in SPEC.examples() if d["resourceType"] in SPEC.lifecycles]
ROLES = list(SPEC.codelist("role"))


@pytest.mark.parametrize(("name", "doc"), TABLED, ids=[n for n, _ in TABLED])
def test_example_histories_are_paths_through_the_table(name: str, doc: dict[str, Any]) -> None:
    lc = lifecycle_for(doc["resourceType"])
    status = None
    for event in doc["history"]:
        t = lc.check(status, event["action"], event["actor"]["role"])
        status = t.leads_to(status)
        assert status == event["toStatus"], event
    assert status == doc["status"]


@given(st.data())
def test_allowed_actions_agree_with_check(data: st.DataObject) -> None:
    rt = data.draw(st.sampled_from(sorted(SPEC.lifecycles)))
    lc = lifecycle_for(rt)
    status = data.draw(st.sampled_from([None, *lc.statuses]))
    role = data.draw(st.sampled_from(ROLES))
    action = data.draw(st.sampled_from(sorted(lc.transitions)))
    allowed = action in lc.allowed_actions(status, role)
    try:
        lc.check(status, action, role)
    except (ActionNotAllowed, RoleNotAllowed) as exc:
        assert not allowed
        assert exc.message["zh-Hans"] and exc.message["en"]
    else:
        assert allowed


@pytest.mark.parametrize(("name", "doc"), TABLED, ids=[n for n, _ in TABLED])
def test_replaying_an_example_through_apply_reproduces_it(name: str, doc: dict[str, Any]) -> None:
    # Apply each recorded event to the document as it stood before it: the same history results.
    # A consultation's record is written by its actions, so the replay starts without it.
    lc = lifecycle_for(doc["resourceType"])
    current = {k: v for k, v in doc.items() if k not in ("history", "status")}
    if doc["resourceType"] == "Consultation":
        current = {k: v for k, v in current.items()
                   if k not in ("decision", "publications", "implementation", "feedback")}
        current["votes"] = [{k: v for k, v in vote.items() if k not in (
            "results", "ballots", "ballotsComplete")} | {"status": "planned"}
            for vote in current.get("votes") or []]
    if doc["resourceType"] == "Proposal":
        # Its supporters are written by its support actions: the replay starts with none.
        current.update(supporters=[], supportCount=0)
    for event in doc["history"]:
        applied = lc.apply(
            current,
            event["action"],
            actor=event["actor"],
            at=event["at"],
            details=event.get("details"),
            note=event.get("note"),
            reason=event.get("reason"),
        )
        assert applied.event == event
        current = applied.document
    assert current["history"] == doc["history"]
    assert current["status"] == doc["status"]
    assert current.get("resolution") == doc.get("resolution")
    assert current.get("supporters") == doc.get("supporters")
    assert current.get("reply") == doc.get("reply")
    for member in ("decision", "publications"):  # written from the events' details
        assert current.get(member) == doc.get(member)


def test_forbidden_action_is_a_clear_error() -> None:
    lc = lifecycle_for("Issue")
    closed_only = [a for a, t in lc.transitions.items() if "closed" not in t.sources]
    with pytest.raises(ActionNotAllowed) as info:
        lc.check("closed", closed_only[0], "community-staff")
    assert info.value.code == "lifecycle.action-not-allowed"
    assert "closed" in str(info.value)
    submit = lc.creating_actions[0]
    with pytest.raises(RoleNotAllowed):
        lc.check(None, submit, "regulator")


def test_applied_documents_stay_valid_through_a_created_issue() -> None:
    doc = next(
        d for n, d in SPEC.examples() if d["resourceType"] == "Issue" and d["status"] == "submitted"
    )
    assert validate(doc).valid
    lc = lifecycle_for("Issue")
    applied = lc.apply(
        doc,
        "accept",
        actor={"role": "community-staff", "name": "刘芳"},
        at="2025-06-16T09:00:00+08:00",
    )
    assert applied.document["status"] == "accepted"
    assert applied.document["history"][-1]["seq"] == len(doc["history"]) + 1
    assert doc["status"] == "submitted", "the input is not modified"


def test_an_unknown_action_is_reported_with_its_own_code_and_template() -> None:
    doc = next(d for _, d in SPEC.examples() if d["resourceType"] == "Issue")
    with pytest.raises(UnknownAction) as info:
        apply_action(doc, "no-such-action", actor={"role": SPEC.roles[0], "name": "x"})
    assert info.value.code == "lifecycle.unknown-action"
    assert isinstance(info.value, ActionNotAllowed)
    template = SPEC.codelist("error-code").entries[info.value.code]
    assert template.title_en.split("{")[0] in info.value.message["en"]
    assert "no-such-action" in info.value.message["zh-Hans"]


def test_every_lifecycle_error_code_has_a_template() -> None:
    codes = {cls.code for cls in (LifecycleError, ActionNotAllowed, UnknownAction,
                                  RoleNotAllowed, InvalidActionDetails)}
    assert codes <= set(SPEC.codelist("error-code"))
    # what the action effects say comes from templates too (lifecycle.* sub-codes)
    source = (Path(lifecycle_module.__file__).parent / "_effects.py").read_text("utf-8")
    for code in re.findall(r'"(lifecycle\.[a-z-]+)"', source):
        assert code in SPEC.codelist("error-code"), code


def test_invalid_details_are_worded_in_both_languages() -> None:
    lc = lifecycle_for("Issue")
    doc = next(d for _, d in SPEC.examples() if d["resourceType"] == "Issue"
               and d["status"] == "submitted")
    action = next(a for a, t in lc.transitions.items()
                  if "submitted" in t.sources and t.details_schema and lc.details_problems(a, {}))
    role = sorted(lc.transitions[action].roles)[0]
    with pytest.raises(InvalidActionDetails) as info:
        lc.apply(doc, action, actor={"role": role, "name": "x"}, details={})
    assert info.value.message["zh-Hans"] != info.value.message["en"]
    assert "{" not in info.value.message["en"] and "{" not in info.value.message["zh-Hans"]
    assert info.value.context["errors"][0][0].startswith("/details")
