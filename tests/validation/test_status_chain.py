"""One status chain: the history walker against the rule issues followed before it was made one.

Issues used to hold each event's ``fromStatus`` to the previous event's recorded ``toStatus``,
and judge the action's start and a status-keeping action's ``toStatus`` by that ``fromStatus``;
consultations held them to the status the lifecycle table says the history has reached. The
spec now says the latter for both. :func:`former_walk` restates the issues' former reading here
as an oracle, and the properties below show that the walker's findings for an issue differ from
it only at the events where the rule deliberately changed:

* an event after one whose recorded ``toStatus`` is not where the table leads (the chain is now
  held to the table);
* an event whose ``fromStatus`` is absent or is not the status reached (its start, and the
  ``toStatus`` of a status-keeping action, are now judged on the status reached), and the first
  event when it has a ``fromStatus`` (now only the creation rule's finding);
* an event after one without a time (time order is now held to the latest time stated).
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcommunity.specification import load_spec
from smartcommunity.validation._history import (
    HistoryReport,
    HistoryTable,
    Step,
    final_status_mismatch,
    history_table,
    refused_role,
    seq_breaks_run,
    walk_history,
)
from smartcommunity.validation._time import compare_instants

ROOT = Path(__file__).resolve().parents[2]
SPEC = load_spec("1.0")
VECTORS = [test for group in json.loads((ROOT / "spec/tests/1.0/issue.json")
                                        .read_text(encoding="utf-8"))
           for test in group["tests"]]
ISSUE = VECTORS[0]["data"]["resourceType"]
TABLE = history_table(SPEC, ISSUE)
assert TABLE is not None
LIFECYCLE = SPEC.lifecycles[ISSUE]
STATUSES = sorted(SPEC.codelist(LIFECYCLE["statusCodelist"]))
ACTIONS = sorted(SPEC.codelist(LIFECYCLE["actionCodelist"]))
ROLES = sorted(SPEC.codelist("role"))
VALID = [t["data"] for t in VECTORS if t["valid"]]
_ABSENT: Any = object()

Finding = tuple[Any, ...]


class Recorder(HistoryReport):
    """Every break the walk reports, as plain tuples that two walks can compare."""

    __slots__ = ("found",)

    def __init__(self) -> None:
        self.found: list[Finding] = []

    def seq(self, i: int, action: Any, seq: Any, expected: int) -> None:
        self.found.append(("seq", i, seq, expected))

    def time_order(self, i: int, action: Any, at: str, previous: str) -> None:
        self.found.append(("time-order", i, at, previous))

    def not_creating(self, i: int, action: str) -> None:
        self.found.append(("not-creating", i, action))

    def creation_from(self, i: int, action: Any, value: Any) -> None:
        self.found.append(("creation-from", i, repr(value)))

    def from_missing(self, i: int, action: Any, previous: Any) -> None:
        self.found.append(("from-missing", i))

    def from_not_previous(self, i: int, action: Any, value: Any, previous: Any) -> None:
        self.found.append(("chain", i, value, previous))

    def unknown_action(self, i: int, action: str) -> None:
        self.found.append(("unknown-action", i, action))

    def not_allowed_from(self, i: int, step: Step, status: str) -> None:
        self.found.append(("not-allowed-from", i, step.name, status))

    def to_status(self, i: int, step: Step, value: Any, expected: str) -> None:
        self.found.append(("to-status", i, step.name, repr(value), expected))

    def role(self, i: int, step: Step, role: str) -> None:
        self.found.append(("role", i, step.name, role))

    def details(self, i: int, step: Step, details: dict[str, Any]) -> None:
        self.found.append(("details", i, step.name, json.dumps(details, sort_keys=True)))

    def event(self, i: int, event: dict[str, Any], step: Step,
              details: dict[str, Any] | None) -> None:
        self.found.append(("event", i, step.name))

    def final_status(self, status: str, to_status: str) -> None:
        self.found.append(("final-status", -1, status, to_status))


def former_walk(doc: Mapping[str, Any], history: list[Any], table: HistoryTable,
                report: HistoryReport) -> None:
    """The issues' former reading: each fromStatus against the previous recorded toStatus."""
    reached: Any = None
    previous_at: Any = None
    previous_seq: Any = 0
    for i, event in enumerate(history):
        if not isinstance(event, dict):
            reached = previous_at = previous_seq = None
            continue
        name, seq, at, to_status = (event.get(k) for k in ("action", "seq", "at", "toStatus"))
        if seq_breaks_run(seq, i + 1, previous_seq):
            report.seq(i, name, seq, i + 1)
        previous_seq = seq
        if (isinstance(at, str) and isinstance(previous_at, str)
                and compare_instants(at, previous_at) == -1):
            report.time_order(i, name, at, previous_at)
        previous_at = at
        from_status = event.get("fromStatus", _ABSENT)
        if i == 0:
            if isinstance(name, str) and name not in table.creating:
                report.not_creating(i, name)
            if from_status is not _ABSENT:
                report.creation_from(i, name, from_status)
        elif from_status is _ABSENT:
            report.from_missing(i, name, reached)
        elif from_status != reached and isinstance(from_status, str) and isinstance(reached, str):
            report.from_not_previous(i, name, from_status, reached)
        reached = to_status
        step = table.actions.get(name) if isinstance(name, str) else None
        if step is None:
            if isinstance(name, str):
                report.unknown_action(i, name)
            continue
        expected = step.target
        if expected is None and from_status is not _ABSENT:
            expected = from_status
        if isinstance(from_status, str) and from_status not in step.sources:
            report.not_allowed_from(i, step, from_status)
        if to_status != expected and isinstance(expected, str):
            report.to_status(i, step, to_status, expected)
        role = refused_role(event, step)
        if role is not None:
            report.role(i, step, role)
        details = event.get("details", _ABSENT)
        if details is _ABSENT:
            details = None
            if not step.empty_details_ok:
                report.details(i, step, {})
        elif not isinstance(details, dict):
            details = None
        elif step.details is not None and not step.details.is_valid(details):
            report.details(i, step, details)
        report.event(i, event, step, details)
    mismatch = final_status_mismatch(doc, history)
    if mismatch is not None:
        report.final_status(*mismatch)


def changed_positions(history: list[Any], table: HistoryTable) -> set[int]:
    """The events at which the one rule deliberately judges otherwise than the former one."""
    changed: set[int] = set()
    reached: Any = None  # by the table
    recorded: Any = None  # the previous event's toStatus as written
    timeless = False  # an event before this one states no time
    for i, event in enumerate(history):
        if not isinstance(event, dict):
            reached = recorded = None
            timeless = False
            continue
        from_status = event.get("fromStatus", _ABSENT)
        if i > 0 and (recorded != reached or from_status != reached):
            changed.add(i)
        if i == 0 and from_status is not _ABSENT:
            changed.add(i)
        if timeless:
            changed.add(i)
        timeless = timeless or not isinstance(event.get("at"), str)
        name, to_status = event.get("action"), event.get("toStatus")
        step = table.actions.get(name) if isinstance(name, str) else None
        start = reached if isinstance(reached, str) else from_status
        expected = (step.target or start) if step is not None else None
        reached = expected if isinstance(expected, str) else to_status
        recorded = to_status
    return changed


def walks(doc: dict[str, Any]) -> tuple[list[Finding], list[Finding]]:
    assert TABLE is not None
    now, before = Recorder(), Recorder()
    walk_history(doc, doc["history"], TABLE, now)
    former_walk(doc, doc["history"], TABLE, before)
    return now.found, before.found


def assert_same_outside_the_change(doc: dict[str, Any]) -> None:
    assert TABLE is not None
    now, before = walks(doc)
    changed = changed_positions(doc["history"], TABLE)
    kept_now = Counter(f for f in now if f[1] not in changed)
    kept_before = Counter(f for f in before if f[1] not in changed)
    assert kept_now == kept_before, (sorted(changed), now, before)


@pytest.mark.parametrize("test", [t for t in VECTORS if isinstance(t["data"].get("history"), list)],
                         ids=lambda t: t["description"].split(" / ")[-1])
def test_findings_on_the_vectors_differ_only_where_the_rule_changed(test: dict[str, Any]) -> None:
    assert_same_outside_the_change(test["data"])


def test_a_valid_history_reads_the_same_under_both_rules() -> None:
    assert TABLE is not None
    for doc in VALID:
        assert changed_positions(doc["history"], TABLE) == set()
        now, before = walks(doc)
        assert now == before
        assert not [f for f in now if f[0] != "event"]


def test_a_wrong_to_status_is_reported_once() -> None:
    """The deliberate change: the next event starts from where the table leads."""
    assert TABLE is not None
    doc = copy.deepcopy(VALID[0])
    history = doc["history"]
    k = next(i for i, e in enumerate(history[1:-1], 1)
             if TABLE.actions[e["action"]].target is not None)
    history[k]["toStatus"] = next(s for s in STATUSES if s != history[k]["toStatus"])
    now, before = walks(doc)
    assert [f[0] for f in now if f[0] != "event"] == ["to-status"]
    assert ("chain", k + 1) in {f[:2] for f in before}


#: one change to one member of one event
_EDITS = st.tuples(
    st.integers(min_value=0, max_value=40),
    st.sampled_from(["fromStatus", "toStatus", "action", "actor.role", "at"]),
    st.one_of(st.none(), st.sampled_from(STATUSES), st.sampled_from(ACTIONS),
              st.sampled_from(ROLES), st.just("2020-01-01T00:00:00+08:00")),
)


@given(doc=st.sampled_from(VALID), edits=st.lists(_EDITS, min_size=1, max_size=4))
def test_findings_on_edited_histories_differ_only_where_the_rule_changed(
        doc: dict[str, Any], edits: list[tuple[int, str, Any]]) -> None:
    doc = copy.deepcopy(doc)
    history = doc["history"]
    for index, member, value in edits:
        event = history[index % len(history)]
        if "." in member:
            outer, inner = member.split(".")
            target = event.setdefault(outer, {})
            member = inner
        else:
            target = event
        if value is None:
            target.pop(member, None)
        else:
            target[member] = value
    assert_same_outside_the_change(doc)
