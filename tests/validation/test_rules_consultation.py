"""Library rules of the Consultation resource: vectors, examples, and mutations that break each.

Every mutation starts from a spec example or vector that validates cleanly, so a finding can only
come from the change; the tests assert the code, the requirement and the exact pointer.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from smartcommunity import Validator, validate
from smartcommunity.privacy import AUDIENCES, redact
from smartcommunity.specification import load_spec
from smartcommunity.validation import Report
from smartcommunity.validation import _rules_consultation as rc
from smartcommunity.validation._plan import compile_plan
from smartcommunity.validation._validator import Context, rules_for

ROOT = Path(__file__).resolve().parents[2]
SPEC = load_spec("1.0")
EXAMPLES = {
    p.stem: json.loads(p.read_text(encoding="utf-8"))
    for p in sorted((ROOT / "spec/1.0/examples/consultation").glob("*.json"))
}
VECTOR_GROUPS = json.loads((ROOT / "spec/tests/1.0/consultation.json").read_text("utf-8"))
VECTORS = [
    pytest.param(test, id=f"{group['description'].split(' / ')[-1]}: "
                          f"{test['description'].split(' / ')[-1]}")
    for group in VECTOR_GROUPS for test in group["tests"]
]
VALID_VECTORS = {t["description"].split(" / ")[-1]: t["data"]
                 for t in VECTOR_GROUPS[0]["tests"]}
#: the codes of the rules under test, by name
C = rc.CODE
#: every code a library rule of /conf/consultations reports
LIBRARY_CODES = {c for r in SPEC.requirements.values()
                 if r.conformance_class == "/conf/consultations" for c in r.codes}
#: codes only a server reports: they judge a write against what is stored, not a document
SERVER_CODES = {c for r in SPEC.requirements.values()
                if r.conformance_class == "/conf/consultations" and "library" not in r.enforcement
                for c in r.codes}
LIFT = EXAMPLES["lift-installation-building-3"]
PARKING = EXAMPLES["parking-convention-deliberating"]
SECRET = VALID_VECTORS["Secret ballot, complete ballots without choices"]
#: the issue LIFT escalates, and the duplicate merged into it (each names the other)
ISSUES = [json.loads((ROOT / f"spec/1.0/examples/issue/{name}.json").read_text("utf-8"))
          for name in ("lift-building-3-in-progress", "lift-building-3-duplicate-merged")]
PLACEHOLDER = re.compile(r"\{[A-Za-z_]+\}")
OWN_RULES = [r for r in rules_for(SPEC.version, "Consultation") if r.__module__ == rc.__name__]


# --------------------------------------------------------------------------- helpers


def check(doc: Any) -> Report:
    """Validate, and hold every finding of these rules to a filled-in bilingual message."""
    report = validate(doc)
    for f in report.findings:
        if f.code.startswith("consultation."):
            assert f.requirement == SPEC.requirement_for_code(f.code).id  # type: ignore[union-attr]
            assert set(f.message) == {"zh-Hans", "en"}
            for text in f.message.values():
                assert text and not PLACEHOLDER.search(text), (f.code, text)
    return report


def found(report: Report, code: str | None = None) -> set[tuple[str, str]]:
    return {(f.code, f.pointer) for f in report.findings if code is None or f.code == code}


def tokens(pointer: str) -> list[str | int]:
    return [int(t) if t.isdigit() else t.replace("~1", "/").replace("~0", "~")
            for t in pointer.split("/")[1:]]


def get_at(doc: Any, pointer: str) -> Any:
    for t in tokens(pointer):
        doc = doc[t]
    return doc


def set_at(doc: Any, pointer: str, value: Any) -> None:
    *parent, last = tokens(pointer)
    get_at_tokens(doc, parent)[last] = value


def del_at(doc: Any, pointer: str) -> None:
    *parent, last = tokens(pointer)
    del get_at_tokens(doc, parent)[last]


def get_at_tokens(doc: Any, path: list[str | int]) -> Any:
    for t in path:
        doc = doc[t]
    return doc


def mutated(base: dict[str, Any], *changes: tuple[str, Any]) -> dict[str, Any]:
    """A deep copy of ``base`` with ``(pointer, value)`` changes; value ``...`` deletes."""
    doc = copy.deepcopy(base)
    for pointer, value in changes:
        if value is ...:
            del_at(doc, pointer)
        else:
            set_at(doc, pointer, value)
    return doc


def walk(node: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    yield pointer, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, f"{pointer}/{k.replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{pointer}/{i}")


def assert_library_only(report: Report) -> None:
    """The mutation kept the document schema-valid, so what fires is a library rule."""
    assert not [f for f in report.findings if f.code.startswith("schema.")], report.findings


# --------------------------------------------------------------------------- vectors and examples


@pytest.mark.parametrize("test", VECTORS)
def test_vector(test: dict[str, Any]) -> None:
    report = check(test["data"])
    if test["valid"]:
        assert report.valid
        assert not report.errors, [(f.code, f.pointer) for f in report.findings]
        return
    req = SPEC.requirements[test["requirement"]]
    requirements = {f.requirement for f in report.findings}
    if req.level == "SHOULD":
        assert req.id in {f.requirement for f in report.warnings}
        return
    assert not report.valid
    if "library" in req.enforcement and "schema" not in req.enforcement:
        assert req.id in requirements, [(f.code, f.pointer) for f in report.findings]
        # One fault per vector: no other rule of this class fires.
        own = {f.code for f in report.findings
               if f.code.startswith("consultation.") or f.requirement == req.id}
        assert own and own <= set(req.codes), own
    else:
        schema_rejects = any(f.code.startswith("schema.") for f in report.findings)
        assert req.id in requirements or schema_rejects, report.findings


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_validates_without_findings(name: str) -> None:
    report = check(EXAMPLES[name])
    assert report.findings == []


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@pytest.mark.parametrize("audience", AUDIENCES)
def test_redacted_example_has_no_errors(name: str, audience: str) -> None:
    report = check(redact(EXAMPLES[name], audience))
    assert report.errors == []
    # Minutes hidden from an audience leave a held session without them: a warning only.
    assert {f.code for f in report.warnings} <= {C.MINUTES_MISSING}


def test_every_library_code_is_implemented_and_has_a_message() -> None:
    assert set(rc.CODE) == LIBRARY_CODES
    entries = SPEC.codelist("error-code").entries
    for code in rc.CODE:
        entry = entries[code]
        assert entry.title_zh and entry.title_en and entry.description_zh and entry.description_en


def test_the_severity_follows_the_requirement_level() -> None:
    report = check(mutated(LIFT, ("/sessions/1/minutes", ...)))
    assert found(report) == {(C.MINUTES_MISSING, "/sessions/1")}
    assert report.valid and report.warnings[0].severity == "warning"
    assert report.warnings[0].requirement == "/req/consultations/minutes-recorded"


# --------------------------------------------------------------------------- one mutation per rule

Case = tuple[str, dict[str, Any], str, str]  # id, document, code, pointer

CASES: list[Case] = [
    # community-division
    ("sub-district code", mutated(LIFT, ("/divisionCode", "110105001000")),
     C.DIVISION_NOT_COMMUNITY, "/divisionCode"),
    ("county code", mutated(LIFT, ("/divisionCode", "110105000000")),
     C.DIVISION_NOT_COMMUNITY, "/divisionCode"),
    # local-ids
    ("party id twice", mutated(LIFT, ("/parties/10/id", "party-10")),
     C.DUPLICATE_LOCAL_ID, "/parties/10/id"),
    ("session id twice", mutated(LIFT, ("/sessions/2/id", "s-02"), ("/votes/0/sessionId", "s-01")),
     C.DUPLICATE_LOCAL_ID, "/sessions/2/id"),
    ("option id twice", mutated(LIFT, ("/options/3/id", "cost-a"),
                                ("/votes/1/optionIds/1", "disagree")),
     C.DUPLICATE_LOCAL_ID, "/options/3/id"),
    ("vote id twice", mutated(LIFT, ("/votes/1/id", "v-01")),
     C.DUPLICATE_LOCAL_ID, "/votes/1/id"),
    ("milestone id twice", mutated(LIFT, ("/implementation/milestones/3/id", "m-03")),
     C.DUPLICATE_LOCAL_ID, "/implementation/milestones/3/id"),
    # local-references
    ("agent for itself", mutated(LIFT, ("/parties/7/onBehalfOf", "party-08")),
     C.UNKNOWN_REFERENCE, "/parties/7/onBehalfOf"),
    ("agent for nobody", mutated(LIFT, ("/parties/7/onBehalfOf", "party-99")),
     C.UNKNOWN_REFERENCE, "/parties/7/onBehalfOf"),
    ("unknown host", mutated(LIFT, ("/sessions/0/hostPartyId", "party-99")),
     C.UNKNOWN_REFERENCE, "/sessions/0/hostPartyId"),
    ("unknown recorder", mutated(LIFT, ("/sessions/1/recorderPartyId", "party-99")),
     C.UNKNOWN_REFERENCE, "/sessions/1/recorderPartyId"),
    ("unknown attendee", mutated(LIFT, ("/sessions/0/attendance/attendees/3", "party-99")),
     C.UNKNOWN_REFERENCE, "/sessions/0/attendance/attendees/3"),
    ("unknown minutes recorder", mutated(LIFT, ("/sessions/2/minutes/recordedBy", "party-99")),
     C.UNKNOWN_REFERENCE, "/sessions/2/minutes/recordedBy"),
    ("option put to a vote missing", mutated(LIFT, ("/votes/1/optionIds/1", "cost-c")),
     C.UNKNOWN_REFERENCE, "/votes/1/optionIds/1"),
    ("approval option outside the vote", mutated(LIFT, ("/votes/0/approvalOptionId", "cost-a")),
     C.UNKNOWN_REFERENCE, "/votes/0/approvalOptionId"),
    ("unknown session of a vote", mutated(LIFT, ("/votes/0/sessionId", "s-09")),
     C.UNKNOWN_REFERENCE, "/votes/0/sessionId"),
    ("winner outside the vote", mutated(LIFT, ("/votes/1/results/winningOptionId", "agree")),
     C.UNKNOWN_REFERENCE, "/votes/1/results/winningOptionId"),
    ("ballot caster unknown", mutated(LIFT, ("/votes/1/ballots/0/castByPartyId", "party-99")),
     C.UNKNOWN_REFERENCE, "/votes/1/ballots/0/castByPartyId"),
    ("ballot option outside the vote", mutated(LIFT, ("/votes/1/ballots/0/optionId", "agree")),
     C.UNKNOWN_REFERENCE, "/votes/1/ballots/0/optionId"),
    ("unknown decider", mutated(LIFT, ("/decision/decidedByPartyIds/1", "party-99")),
     C.UNKNOWN_REFERENCE, "/decision/decidedByPartyIds/1"),
    ("decision on an unknown vote", mutated(LIFT, ("/decision/voteIds/1", "v-09")),
     C.UNKNOWN_REFERENCE, "/decision/voteIds/1"),
    ("unknown implementer", mutated(LIFT, ("/implementation/responsiblePartyIds/0", "party-99")),
     C.UNKNOWN_REFERENCE, "/implementation/responsiblePartyIds/0"),
    ("update on an unknown milestone",
     mutated(LIFT, ("/implementation/updates/2/milestoneId", "m-09")),
     C.UNKNOWN_REFERENCE, "/implementation/updates/2/milestoneId"),
    ("update by an unknown party", mutated(LIFT, ("/implementation/updates/0/byPartyId", "p-9")),
     C.UNKNOWN_REFERENCE, "/implementation/updates/0/byPartyId"),
    ("publication of an unknown vote", mutated(LIFT, ("/publications/4/voteId", "v-09")),
     C.UNKNOWN_REFERENCE, "/publications/4/voteId"),
    ("publication of an unknown session", mutated(LIFT, ("/publications/2/sessionId", "s-09")),
     C.UNKNOWN_REFERENCE, "/publications/2/sessionId"),
    # fraction
    ("vote quorum above one",
     mutated(LIFT, ("/votes/0/quorum/ratio", {"numerator": 4, "denominator": 3})),
     C.FRACTION_INVALID, "/votes/0/quorum/ratio"),
    ("threshold above one",
     mutated(LIFT, ("/votes/1/threshold/ratio", {"numerator": 3, "denominator": 2})),
     C.FRACTION_INVALID, "/votes/1/threshold/ratio"),
    ("session quorum above one",
     mutated(LIFT, ("/sessions/0/attendance/quorum/ratio", {"numerator": 5, "denominator": 4})),
     C.FRACTION_INVALID, "/sessions/0/attendance/quorum/ratio"),
    # vote-counts
    ("option channels off by one",
     mutated(LIFT, ("/votes/1/results/tally/options/1/channels/2/count", 3)),
     C.VOTE_COUNT_MISMATCH, "/votes/1/results/tally/options/1/channels"),
    ("channel named twice",
     mutated(LIFT, ("/votes/0/results/tally/options/0/channels/2/channel", "online")),
     C.VOTE_COUNT_MISMATCH, "/votes/0/results/tally/options/0/channels/2/channel"),
    ("invalid ballots not counted in participation",
     mutated(LIFT, ("/votes/0/results/tally/invalid/total", 2)),
     C.VOTE_COUNT_MISMATCH, "/votes/0/results/tally/participation/total"),
    ("participation per channel off",
     mutated(LIFT, ("/votes/1/results/tally/participation/channels/0/count", 14),
             ("/votes/1/results/tally/participation/channels/1/count", 11)),
     C.VOTE_COUNT_MISMATCH, "/votes/1/results/tally/participation/channels/0/count"),
    ("option counted twice",
     mutated(LIFT, ("/votes/1/results/tally/options/1/optionId", "cost-a")),
     C.VOTE_COUNT_MISMATCH, "/votes/1/results/tally/options/1/optionId"),
    # vote-channels
    ("ballot in an undeclared channel", mutated(LIFT, ("/votes/0/channels", ["online", "paper"]),
                                                ("/votes/0/ballots/1/channel", "in-person")),
     C.VOTE_CHANNEL_UNDECLARED, "/votes/0/ballots/1/channel"),
    ("tally in an undeclared channel", mutated(LIFT, ("/votes/0/channels", ["online", "paper"])),
     C.VOTE_CHANNEL_UNDECLARED, "/votes/0/results/tally/abstentions/channels/0/channel"),
    # vote-eligible
    ("more votes than the vote's eligible", mutated(LIFT, ("/votes/1/eligibleCount", 32)),
     C.VOTE_EXCEEDS_ELIGIBLE, "/votes/1/results/tally/participation/total"),
    ("more votes than eligibility says", mutated(LIFT, ("/votes/1/eligibleCount", ...),
                                                 ("/eligibility/eligibleCount", 30)),
     C.VOTE_EXCEEDS_ELIGIBLE, "/votes/1/results/tally/participation/total"),
    # quorum-flag
    ("vote quorum flag false", mutated(LIFT, ("/votes/0/results/quorumMet", False)),
     C.QUORUM_FLAG_INCONSISTENT, "/votes/0/results/quorumMet"),
    ("vote without quorum flagged false",
     mutated(LIFT, ("/votes/1/quorum", ...), ("/votes/1/results/quorumMet", False)),
     C.QUORUM_FLAG_INCONSISTENT, "/votes/1/results/quorumMet"),
    ("session quorum flag false", mutated(LIFT, ("/sessions/0/attendance/quorumMet", False)),
     C.QUORUM_FLAG_INCONSISTENT, "/sessions/0/attendance/quorumMet"),
    ("session minimum count missed",
     mutated(LIFT, ("/sessions/0/attendance/quorum/minimumCount", 36)),
     C.QUORUM_FLAG_INCONSISTENT, "/sessions/0/attendance/quorumMet"),
    # vote-result
    ("passed below the approval threshold",
     mutated(LIFT, ("/votes/0/threshold/ratio", {"numerator": 9, "denominator": 10})),
     C.VOTE_RESULT_INCONSISTENT, "/votes/0/results/result"),
    ("a plurality winner not the leader", mutated(LIFT, ("/votes/1/results/winningOptionId",
                                                         "cost-b")),
     C.VOTE_RESULT_INCONSISTENT, "/votes/1/results/winningOptionId"),
    ("failed with a winner", mutated(LIFT, ("/votes/1/threshold/ratio",
                                            {"numerator": 3, "denominator": 4}),
                                     ("/votes/1/results/result", "failed")),
     C.VOTE_RESULT_INCONSISTENT, "/votes/1/results/winningOptionId"),
    ("quorum missed but passed", mutated(LIFT, ("/votes/1/eligibleCount", 60),
                                         ("/votes/1/results/quorumMet", False)),
     C.VOTE_RESULT_INCONSISTENT, "/votes/1/results/result"),
    # attendance-sum, attendance-limit
    ("attendance channels short", mutated(LIFT, ("/sessions/1/attendance/channels/0/count", 21)),
     C.ATTENDANCE_COUNT_MISMATCH, "/sessions/1/attendance/channels"),
    ("attendance channel twice",
     mutated(LIFT, ("/sessions/1/attendance/channels/1/channel", "in-person")),
     C.ATTENDANCE_COUNT_MISMATCH, "/sessions/1/attendance/channels/1/channel"),
    ("more attendees than present",
     mutated(LIFT, ("/sessions/0/attendance/present", 8),
             ("/sessions/0/attendance/channels/0/count", 8),
             ("/sessions/0/attendance/quorum", ...), ("/sessions/0/attendance/quorumMet", ...)),
     C.ATTENDANCE_COUNT_MISMATCH, "/sessions/0/attendance/attendees"),
    ("present above expected", mutated(LIFT, ("/sessions/1/attendance/expected", 30)),
     C.ATTENDANCE_EXCEEDS_EXPECTED, "/sessions/1/attendance/present"),
    # time-order
    ("proposed after the notice",
     mutated(LIFT, ("/origin/proposedAt", "2024-03-26T10:00:00+08:00")),
     C.TIME_ORDER, "/notice/publishedAt"),
    ("deadline before the notice",
     mutated(LIFT, ("/notice/deadline", "2024-03-24T10:00:00+08:00")),
     C.TIME_ORDER, "/notice/deadline"),
    ("session as the notice goes out",
     mutated(LIFT, ("/sessions/0/start", "2024-03-25T10:00:00+08:00")),
     C.TIME_ORDER, "/sessions/0/start"),
    ("session of no length", mutated(LIFT, ("/sessions/1/end", "2024-04-13T14:00:00+08:00")),
     C.TIME_ORDER, "/sessions/1/end"),
    ("minutes approved before the session",
     mutated(LIFT, ("/sessions/0/minutes/approvedAt", "2024-04-05T10:00:00+08:00")),
     C.TIME_ORDER, "/sessions/0/minutes/approvedAt"),
    ("vote opens before the notice",
     mutated(LIFT, ("/votes/1/opensAt", "2024-03-20T09:00:00+08:00")),
     C.TIME_ORDER, "/votes/1/opensAt"),
    ("vote closes as it opens", mutated(LIFT, ("/votes/1/closesAt", "2024-04-20T09:00:00+08:00"),
                                        ("/votes/1/ballots/0/castAt",
                                         "2024-04-20T09:00:00+08:00")),
     C.TIME_ORDER, "/votes/1/closesAt"),
    ("results visible before the vote opens",
     mutated(LIFT, ("/votes/0/results/visibleFrom", "2024-04-19T18:00:00+08:00")),
     C.TIME_ORDER, "/votes/0/results/visibleFrom"),
    ("ballot before the vote opens",
     mutated(LIFT, ("/votes/0/ballots/1/castAt", "2024-04-20T08:59:59+08:00")),
     C.TIME_ORDER, "/votes/0/ballots/1/castAt"),
    ("decision before the vote closes, in UTC",
     mutated(LIFT, ("/decision/decidedAt", "2024-04-27T09:30:00Z")),
     C.TIME_ORDER, "/decision/decidedAt"),
    ("implementation before the decision",
     mutated(LIFT, ("/implementation/startedAt", "2024-04-28T14:00:00+08:00")),
     C.TIME_ORDER, "/implementation/startedAt"),
    ("feedback before the decision",
     mutated(LIFT, ("/feedback/publishedAt", "2024-04-28T06:59:59Z")),
     C.TIME_ORDER, "/feedback/publishedAt"),
    ("milestone before the start",
     mutated(LIFT, ("/implementation/milestones/0/completedAt", "2024-05-19T09:00:00+08:00")),
     C.TIME_ORDER, "/implementation/milestones/0/completedAt"),
    ("completed before the start",
     mutated(LIFT, ("/implementation/completedAt", "2024-05-19T09:00:00+08:00")),
     C.TIME_ORDER, "/implementation/completedAt"),
    ("update before the start",
     mutated(LIFT, ("/implementation/updates/0/at", "2024-05-20T08:00:00+08:00")),
     C.TIME_ORDER, "/implementation/updates/0/at"),
    ("updates out of order",
     mutated(LIFT, ("/implementation/updates/2/at", "2024-08-16T09:00:00+08:00")),
     C.TIME_ORDER, "/implementation/updates/2/at"),
    # ballot-unique, ballot-eligible, ballot-proxy
    ("two ballots of one voter", mutated(LIFT, ("/votes/0/ballots/1/voterPartyId", "party-07")),
     C.DUPLICATE_BALLOT, "/votes/0/ballots/1/voterPartyId"),
    ("voter without a vote", mutated(LIFT, ("/parties/8/eligibleToVote", ...)),
     C.VOTER_NOT_ELIGIBLE, "/votes/0/ballots/1/voterPartyId"),
    ("caster acting for nobody", mutated(LIFT, ("/parties/7/onBehalfOf", ...)),
     C.PROXY_NOT_AUTHORISED, "/votes/1/ballots/0/castByPartyId"),
    # ballots-match-tally
    ("complete ballots fewer than the tally", mutated(LIFT, ("/votes/0/ballotsComplete", True)),
     C.BALLOTS_TALLY_MISMATCH, "/votes/0/ballots"),
    ("complete secret ballots fewer", mutated(SECRET, ("/votes/0/ballots/4", ...)),
     C.BALLOTS_TALLY_MISMATCH, "/votes/0/ballots"),
    # decision-votes-closed, decision-consistent, no-open-vote-after-decision
    ("decision on a cancelled vote", mutated(LIFT, ("/votes/1/status", "cancelled"),
                                             ("/votes/1/results/quorumMet", ...),
                                             ("/votes/1/results/result", ...),
                                             ("/votes/1/results/winningOptionId", ...)),
     C.DECISION_VOTE_NOT_CLOSED, "/decision/voteIds/1"),
    ("adopted on a failed vote", mutated(LIFT, ("/votes/1/threshold/ratio",
                                                {"numerator": 3, "denominator": 4}),
                                         ("/votes/1/results/result", "failed"),
                                         ("/votes/1/results/winningOptionId", ...)),
     C.DECISION_CONTRADICTS_VOTE, "/decision/voteIds/1"),
    ("vote still open when closed", mutated(LIFT, ("/decision/voteIds", ["v-01"]),
                                            ("/history/19/details/voteIds", ["v-01"]),
                                            ("/votes/1/status", "open"),
                                            ("/votes/1/results/quorumMet", ...),
                                            ("/votes/1/results/result", ...),
                                            ("/votes/1/results/winningOptionId", ...)),
     C.VOTE_OPEN_AFTER_DECISION, "/votes/1/status"),
    # close-after-feedback
    ("closed before completion", mutated(LIFT, ("/implementation/completedAt", ...)),
     C.CLOSED_WITHOUT_FEEDBACK, "/status"),
    # history-lifecycle
    ("seq repeated", mutated(LIFT, ("/history/5/seq", 5)),
     C.HISTORY_LIFECYCLE, "/history/5/seq"),
    ("history going back in time", mutated(LIFT, ("/history/3/at", "2024-03-25T09:00:00+08:00")),
     C.HISTORY_LIFECYCLE, "/history/3/at"),
    ("history going back across offsets",
     mutated(LIFT, ("/history/3/at", "2024-03-25T01:59:59Z")),
     C.HISTORY_LIFECYCLE, "/history/3/at"),
    ("action not allowed from the status", mutated(LIFT, ("/history/2/action", "open-vote"),
                                                   ("/history/2/details", {"voteId": "v-01"})),
     C.HISTORY_LIFECYCLE, "/history/2/action"),
    ("wrong from status", mutated(LIFT, ("/history/2/fromStatus", "proposed")),
     C.HISTORY_CHAIN, "/history/2/fromStatus"),
    ("missing from status", mutated(LIFT, ("/history/2/fromStatus", ...)),
     C.HISTORY_LIFECYCLE, "/history/2/fromStatus"),
    ("wrong to status", mutated(LIFT, ("/history/4/toStatus", "voting")),
     C.HISTORY_LIFECYCLE, "/history/4/toStatus"),
    ("role not allowed", mutated(LIFT, ("/history/20/actor/role", "grid-worker")),
     C.HISTORY_LIFECYCLE, "/history/20/actor/role"),
    ("creation with a from status", mutated(LIFT, ("/history/0/fromStatus", "proposed")),
     C.HISTORY_LIFECYCLE, "/history/0/fromStatus"),
    # history-status
    ("status behind the history", mutated(LIFT, ("/status", "feedback-published")),
     C.HISTORY_STATUS_MISMATCH, "/status"),
    # history-details
    ("details member not in the table", mutated(LIFT, ("/history/4/details/note", "x")),
     C.HISTORY_DETAILS_INVALID, "/history/4/details/note"),
    ("details of the wrong form", mutated(LIFT, ("/history/16/details/result", "won")),
     C.HISTORY_DETAILS_INVALID, "/history/16/details/result"),
    ("details missing", mutated(LIFT, ("/history/10/details", ...)),
     C.HISTORY_DETAILS_INVALID, "/history/10/details/voteId"),
    ("details naming no vote", mutated(LIFT, ("/history/7/details/voteId", "v-09")),
     C.HISTORY_DETAILS_INVALID, "/history/7/details/voteId"),
    ("details naming no milestone", mutated(LIFT, ("/history/22/details/milestoneId", "m-09")),
     C.HISTORY_DETAILS_INVALID, "/history/22/details/milestoneId"),
    # SHOULD rules
    ("notice five days ahead", mutated(LIFT, ("/notice/publishedAt", "2024-04-01T09:30:00+08:00")),
     C.NOTICE_PERIOD_SHORT, "/notice/publishedAt"),
    ("held session without minutes", mutated(LIFT, ("/sessions/2/minutes", ...)),
     C.MINUTES_MISSING, "/sessions/2"),
    ("vote result never published", mutated(LIFT, ("/publications/3", ...),
                                            ("/history/18/details/publications/0", ...)),
     C.VOTE_RESULT_UNPUBLISHED, "/votes/0"),
    # record-matches-history
    ("decide event contradicts the decision",
     mutated(LIFT, ("/history/19/details/decisionType", "rejected")),
     C.RECORD_HISTORY_MISMATCH, "/decision/type"),
    ("vote result contradicts close-vote", mutated(LIFT, ("/history/16/details/result", "failed")),
     C.RECORD_HISTORY_MISMATCH, "/votes/0/results/result"),
    ("tally not recorded", mutated(LIFT, ("/history/10/details/count", 11)),
     C.RECORD_HISTORY_MISMATCH, "/votes/0/results/tally/participation/channels/1/count"),
]


@pytest.mark.parametrize(("doc", "code", "pointer"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_a_mutation_breaks_its_rule_at_the_member(doc: dict[str, Any], code: str,
                                                   pointer: str) -> None:
    report = check(doc)
    assert_library_only(report)
    assert (code, pointer) in found(report), sorted(found(report))
    level = SPEC.requirement_for_code(code).level  # type: ignore[union-attr]
    assert report.valid == (level == "SHOULD")


def test_every_code_has_a_breaking_mutation() -> None:
    assert {c[2] for c in CASES} | {C.ESCALATED_ISSUE_MISSING} == set(rc.CODE) - SERVER_CODES


@pytest.mark.parametrize(("doc", "code", "pointer"), [
    pytest.param(mutated(LIFT, ("/votes/0/quorum/ratio", {"numerator": 4, "denominator": 3})),
                 C.FRACTION_INVALID, "/votes/0/quorum/ratio", id="fraction"),
    pytest.param(mutated(LIFT, ("/history/5/seq", 7)), C.HISTORY_LIFECYCLE, "/history/5/seq",
                 id="one wrong seq"),
    pytest.param(mutated(LIFT, ("/history/4/toStatus", "voting")), C.HISTORY_LIFECYCLE,
                 "/history/4/toStatus", id="one wrong toStatus"),
    pytest.param(mutated(LIFT, ("/decision/decidedAt", "2024-04-27T17:00:00+08:00")),
                 C.TIME_ORDER, "/decision/decidedAt", id="decision before both votes close"),
])
def test_one_fault_is_reported_once(doc: dict[str, Any], code: str, pointer: str) -> None:
    # Derived checks are skipped or chained on the lifecycle, so one fault makes one finding.
    report = check(doc)
    assert found(report) == {(code, pointer)}
    assert len(report.findings) == 1


@pytest.mark.parametrize(("changes", "days"), [
    ((("/notice/publishedAt", "2024-03-30T09:30:00+08:00"),), None),
    ((("/notice/publishedAt", "2024-03-30T09:30:01+08:00"),), "6.9"),
    ((("/notice/publishedAt", "2024-03-30T01:30:01Z"),), "6.9"),
    ((("/notice/publishedAt", "2024-04-01T09:30:00+08:00"),
      ("/sessions/0/status", "cancelled")), None),
    ((("/notice/publishedAt", "2024-03-30T09:30:00+08:00"),
      ("/votes/1/opensAt", "2024-04-02T09:00:00+08:00")), "2.9"),
])
def test_the_notice_period_runs_to_the_first_session_or_vote(
        changes: tuple[tuple[str, Any], ...], days: str | None) -> None:
    report = check(mutated(LIFT, *changes))
    assert report.valid
    if days is None:
        assert report.findings == []
    else:
        (finding,) = report.findings
        assert (finding.code, finding.pointer) == (C.NOTICE_PERIOD_SHORT, "/notice/publishedAt")
        assert f"only {days} days" in finding.message["en"]
        assert f"仅 {days} 天" in finding.message["zh-Hans"]


def test_a_valid_division_level_is_checked_only_on_valid_codes() -> None:
    report = check(mutated(LIFT, ("/divisionCode", "990105001000")))
    assert C.DIVISION_NOT_COMMUNITY not in {f.code for f in report.findings}
    assert not report.valid


def test_times_with_different_offsets_compare_as_instants() -> None:
    same_instant = mutated(LIFT, ("/decision/decidedAt", "2024-04-28T07:00:00Z"),
                           ("/history/3/at", "2024-03-25T02:00:00Z"),
                           ("/implementation/startedAt", "2024-05-20T01:00:00.000Z"))
    assert check(same_instant).findings == []


def test_an_open_ballot_list_that_matches_the_tally_is_accepted() -> None:
    doc = open_ballots()
    assert check(doc).findings == []


def open_ballots() -> dict[str, Any]:
    """The secret-ballot vector turned into an open ballot whose five ballots say their choice."""
    choices = ["approve", "approve", "approve", "approve", "against"]
    doc = mutated(SECRET, ("/votes/0/method", "open-ballot"))
    for ballot, choice in zip(doc["votes"][0]["ballots"], choices, strict=True):
        ballot.update(kind="option", optionId=choice)
    return doc


@pytest.mark.parametrize(("changes", "check_text"), [
    ((("/votes/0/ballots/4/optionId", "approve"),),
     "count(ballots[optionId = approve]) = 5 ≠ options[approve].total = 4"),
    ((("/votes/0/ballots/4/kind", "abstention"), ("/votes/0/ballots/4/optionId", ...)),
     "count(ballots[optionId = against]) = 0 ≠ options[against].total = 1"),
    ((("/votes/0/channels", ["in-person", "online"]),
      ("/votes/0/results/tally/participation/channels",
       [{"channel": "in-person", "count": 4}, {"channel": "online", "count": 1}])),
     "count(ballots[channel = in-person]) = 5 ≠ participation.channels[in-person] = 4"),
])
def test_complete_open_ballots_must_match_the_tally(changes: tuple[tuple[str, Any], ...],
                                                    check_text: str) -> None:
    report = check(mutated(open_ballots(), *changes))
    assert_library_only(report)
    # a tally moved between channels also parts from its record-votes events
    assert found(report) - {(c, p) for c, p in found(report)
                            if c == C.RECORD_HISTORY_MISMATCH} == {
        (C.BALLOTS_TALLY_MISMATCH, "/votes/0/ballots")}
    (finding,) = [f for f in report.findings if f.code == C.BALLOTS_TALLY_MISMATCH]
    assert check_text in finding.message["en"]
    assert check_text in finding.message["zh-Hans"]


def test_a_redacted_complete_ballot_list_is_not_compared() -> None:
    # Ballots are personal information: an audience without them still sees ballotsComplete.
    assert check(mutated(SECRET, ("/votes/0/ballots", ...))).findings == []
    assert check(mutated(SECRET, ("/votes/0/ballots", []))).codes() == {C.BALLOTS_TALLY_MISMATCH}


def test_messages_say_what_is_wrong_in_both_languages() -> None:
    report = check(mutated(LIFT, ("/votes/1/eligibleCount", ...),
                           ("/eligibility/eligibleCount", 30)))
    (finding,) = report.findings
    assert finding.message["en"] == ("Participation 33 exceeds the eligible count 30 "
                                     "(/eligibility/eligibleCount)")
    assert finding.message["zh-Hans"] == "参与数 33 超过有表决权数 30（/eligibility/eligibleCount）"
    report = check(mutated(LIFT, ("/history/1/actor/role", "resident")))
    (finding,) = report.findings
    assert finding.pointer == "/history/1/actor/role"
    assert finding.message["en"] == ("History event /history/1 (accept-topic) breaks the "
                                     "lifecycle: actor.role is resident, allowed: community-staff")


# --------------------------------------------------------------------------- bulk: escalated issues


def test_escalated_issue_found_in_the_set() -> None:
    reports = list(Validator().validate_many([LIFT, *ISSUES]))
    assert [r.findings for r in reports] == [[], [], []]


def test_escalated_issue_missing_from_the_set() -> None:
    other = mutated(LIFT, ("/id", "0b6a9d4e-3c2f-4e1a-9b7d-5f8e2c1a0d9b"),
                    ("/origin/issues/0/id", "5c1e9a3b-7d2f-4b8e-a6c4-2e9f1d3b7a50"))
    reports = list(Validator().validate_many([other, LIFT, *ISSUES]))
    assert [r.findings for r in reports[1:]] == [[], [], []]
    (finding,) = reports[0].findings
    assert (finding.code, finding.pointer) == (C.ESCALATED_ISSUE_MISSING, "/origin/issues/0/id")
    assert finding.requirement == "/req/consultations/escalated-issue-exists"
    assert finding.severity == "error"
    assert "5c1e9a3b-7d2f-4b8e-a6c4-2e9f1d3b7a50" in finding.message["en"]
    assert "5c1e9a3b-7d2f-4b8e-a6c4-2e9f1d3b7a50" in finding.message["zh-Hans"]


def test_escalated_issue_is_a_set_rule_only() -> None:
    # A single document cannot know the other documents; validate() does not guess.
    assert check(LIFT).findings == []
    assert [r.codes() for r in Validator().validate_many([LIFT])] == [
        {C.ESCALATED_ISSUE_MISSING}]


# --------------------------------------------------------------------------- properties

TIME_PAIRS = [  # (later, earlier, strict): pairs the time-order rule compares in LIFT
    ("/notice/publishedAt", "/origin/proposedAt", False),
    ("/notice/deadline", "/notice/publishedAt", False),
    ("/sessions/1/start", "/notice/publishedAt", True),
    ("/sessions/2/end", "/sessions/2/start", True),
    ("/sessions/0/minutes/approvedAt", "/sessions/0/start", False),
    ("/votes/0/opensAt", "/notice/publishedAt", True),
    ("/votes/1/closesAt", "/votes/1/opensAt", True),
    ("/votes/1/results/visibleFrom", "/votes/1/opensAt", False),
    ("/votes/0/ballots/0/castAt", "/votes/0/opensAt", False),
    ("/implementation/startedAt", "/decision/decidedAt", False),
    ("/feedback/publishedAt", "/decision/decidedAt", False),
    ("/implementation/milestones/2/completedAt", "/implementation/startedAt", False),
    ("/implementation/completedAt", "/implementation/startedAt", False),
    ("/implementation/updates/3/at", "/implementation/updates/2/at", False),
]
OFFSETS = st.integers(-14 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))


def stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def write(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@given(pair=st.sampled_from(TIME_PAIRS), seconds=st.integers(0, 10**7), tz=OFFSETS)
def test_shifting_a_time_before_its_predecessor_breaks_time_order(
        pair: tuple[str, str, bool], seconds: int, tz: timezone) -> None:
    later, earlier, strict = pair
    assume(seconds > 0 or strict)
    moment = stamp(get_at(LIFT, earlier)) - timedelta(seconds=seconds)
    report = check(mutated(LIFT, (later, write(moment.astimezone(tz)))))
    assert (C.TIME_ORDER, later) in found(report)


@given(st.data())
def test_rewriting_every_time_in_another_offset_changes_nothing(data: st.DataObject) -> None:
    doc = copy.deepcopy(LIFT)
    for pointer, value in list(walk(doc)):
        if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T.*", value):
            set_at(doc, pointer, write(stamp(value).astimezone(data.draw(OFFSETS))))
    assert check(doc).findings == []


COUNTS = [p for p, v in walk(LIFT) if "/results/tally/" in p and type(v) is int]


@given(pointer=st.sampled_from(COUNTS), delta=st.integers(1, 40), down=st.booleans())
def test_changing_one_count_of_a_tally_breaks_vote_counts(pointer: str, delta: int,
                                                          down: bool) -> None:
    value = get_at(LIFT, pointer)
    assume(not down or value >= delta)
    report = check(mutated(LIFT, (pointer, value - delta if down else value + delta)))
    part = re.match(r"(.*/tally/(?:options/[0-9]+|abstentions|invalid|participation))", pointer)
    assert part is not None
    has_channels = "channels" in get_at(LIFT, part.group(1))
    tally = pointer[:pointer.index("/tally/") + 6]
    expected = (f"{part.group(1)}/channels" if has_channels
                else f"{tally}/participation/total")
    assert (C.VOTE_COUNT_MISMATCH, expected) in found(report), sorted(found(report))


@given(st.integers(0, len(LIFT["history"]) - 2))
def test_swapping_two_events_breaks_the_history(i: int) -> None:
    doc = copy.deepcopy(LIFT)
    history = doc["history"]
    history[i], history[i + 1] = history[i + 1], history[i]
    for seq, event in enumerate(history, 1):
        event["seq"] = seq
    report = check(doc)
    # The example's times strictly increase, so the swap always turns time back.
    assert (C.HISTORY_LIFECYCLE, f"/history/{i + 1}/at") in found(report)
    assert not report.valid


TEXT = st.text(st.characters(categories=("L", "N"), max_codepoint=0x9FFF), min_size=1,
               max_size=30)
TEXTS = [p for p, v in walk(LIFT) if p.rsplit("/", 1)[-1] in
         {"title", "description", "note", "text", "question", "criteria", "place", "name"}
         and isinstance(v, str)
         # what an action wrote is compared with its event (record-matches-history)
         and not p.startswith(("/history/", "/decision/text", "/publications/"))]


@given(st.lists(st.tuples(st.sampled_from(TEXTS), TEXT), max_size=8))
def test_rewording_text_changes_nothing(changes: list[tuple[str, str]]) -> None:
    assert check(mutated(LIFT, *changes)).findings == []


LOCAL_LISTS = {"parties": "/parties", "sessions": "/sessions", "votes": "/votes",
               "implementation/milestones": "/implementation/milestones"}
LOCAL_ID = st.from_regex(r"\A[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?\Z").filter(
    lambda s: not s.startswith(("party", "s-", "v-", "m-", "cost", "agree", "disagree")))


@given(lst=st.sampled_from(sorted(LOCAL_LISTS)), data=st.data(), new=LOCAL_ID)
def test_renaming_a_local_id_everywhere_keeps_the_document_valid(
        lst: str, data: st.DataObject, new: str) -> None:
    items = get_at(LIFT, LOCAL_LISTS[lst])
    old = data.draw(st.sampled_from([item["id"] for item in items]))
    doc = json.loads(json.dumps(LIFT).replace(json.dumps(old), json.dumps(new)))
    assert check(doc).findings == []


@given(lst=st.sampled_from(sorted(LOCAL_LISTS)), data=st.data(), new=LOCAL_ID)
def test_renaming_only_the_item_leaves_every_reference_dangling(
        lst: str, data: st.DataObject, new: str) -> None:
    index = data.draw(st.integers(0, len(get_at(LIFT, LOCAL_LISTS[lst])) - 1))
    where = f"{LOCAL_LISTS[lst]}/{index}/id"
    old = get_at(LIFT, where)
    # the items an event's details carry are copies, not references
    copies = re.compile(r"/history/[0-9]+/details/(publications|milestones)/")
    referrers = {p for p, v in walk(LIFT) if v == old and p != where and not copies.match(p)}
    report = check(mutated(LIFT, (where, new)))
    dangling = {(c, p) for c, p in found(report)
                if c in (C.UNKNOWN_REFERENCE, C.HISTORY_DETAILS_INVALID)}
    expected = {(C.HISTORY_DETAILS_INVALID if p.startswith("/history/") else C.UNKNOWN_REFERENCE,
                 p) for p in referrers}
    assert dangling == expected


def quorum_oracle(count: int, base: int, minimum: int | None, ratio: Fraction | None,
                  comparison: str) -> bool:
    met = minimum is None or count >= minimum
    if ratio is not None:
        met = met and (count > ratio * base if comparison == "more-than" else
                       count >= ratio * base)
    return met


FRACTIONS = st.integers(1, 12).flatmap(
    lambda d: st.tuples(st.integers(1, d), st.just(d)))


@given(expected=st.integers(0, 120), data=st.data(), minimum=st.none() | st.integers(0, 120),
       ratio=st.none() | FRACTIONS, comparison=st.sampled_from(["at-least", "more-than"]))
def test_session_quorum_flag_agrees_with_an_exact_oracle(
        expected: int, data: st.DataObject, minimum: int | None,
        ratio: tuple[int, int] | None, comparison: str) -> None:
    assume(minimum is not None or ratio is not None)
    present = data.draw(st.integers(0, expected))
    quorum: dict[str, Any] = {"comparison": comparison}
    if minimum is not None:
        quorum["minimumCount"] = minimum
    if ratio is not None:
        quorum["ratio"] = {"numerator": ratio[0], "denominator": ratio[1]}
    met = quorum_oracle(present, expected, minimum, Fraction(*ratio) if ratio else None,
                        comparison)
    at = "/sessions/0/attendance"
    base = mutated(LIFT, (f"{at}/expected", expected), (f"{at}/present", present),
                   (f"{at}/channels", [{"channel": "in-person", "count": present}]),
                   (f"{at}/attendees", ...), (f"{at}/quorum", quorum))
    assert check(mutated(base, (f"{at}/quorumMet", met))).findings == []
    wrong = check(mutated(base, (f"{at}/quorumMet", not met)))
    assert found(wrong) == {(C.QUORUM_FLAG_INCONSISTENT, f"{at}/quorumMet")}


def result_oracle(counts: dict[str, int], participation: int, eligible: int,
                  quorum_met: bool, ratio: Fraction, comparison: str, base_kind: str,
                  approval: str | None) -> tuple[str, str | None]:
    if not quorum_met:
        return "no-quorum", None
    valid = sum(counts.values())
    base = {"valid-votes": valid, "participants": participation, "eligible": eligible}[base_kind]

    def reaches(n: int) -> bool:
        return n > ratio * base if comparison == "more-than" else n >= ratio * base

    if valid == 0:
        return "failed", None
    if approval is not None:
        return ("passed", approval) if reaches(counts[approval]) else ("failed", None)
    top = max(counts.values())
    leaders = [o for o, n in counts.items() if n == top]
    if len(leaders) > 1:
        return "tie", None
    return ("passed", leaders[0]) if reaches(top) else ("failed", None)


@given(a=st.integers(0, 30), b=st.integers(0, 30), abstain=st.integers(0, 5),
       invalid=st.integers(0, 5), spare=st.integers(0, 30), ratio=FRACTIONS,
       quorum=st.none() | FRACTIONS, comparison=st.sampled_from(["at-least", "more-than"]),
       base=st.sampled_from(["valid-votes", "participants", "eligible"]),
       approval=st.booleans(), wrong=st.sampled_from(["passed", "failed", "no-quorum", "tie"]))
def test_vote_result_agrees_with_an_exact_oracle(
        a: int, b: int, abstain: int, invalid: int, spare: int, ratio: tuple[int, int],
        quorum: tuple[int, int] | None, comparison: str, base: str, approval: bool,
        wrong: str) -> None:
    participation = a + b + abstain + invalid
    eligible = participation + spare
    quorum_met = quorum is None or participation >= Fraction(*quorum) * eligible
    result, winner = result_oracle({"cost-a": a, "cost-b": b}, participation, eligible,
                                   quorum_met, Fraction(*ratio), comparison, base,
                                   "cost-a" if approval else None)
    vote = copy.deepcopy(LIFT["votes"][1])
    vote.pop("ballots")
    vote["eligibleCount"] = eligible
    vote["threshold"] = {"ratio": {"numerator": ratio[0], "denominator": ratio[1]},
                         "comparison": comparison, "base": base}
    if quorum is None:
        vote.pop("quorum")
    else:
        vote["quorum"] = {"ratio": {"numerator": quorum[0], "denominator": quorum[1]}}
    if approval:
        vote["approvalOptionId"] = "cost-a"
    vote["results"].update(quorumMet=quorum_met, result=result, tally={
        "options": [{"optionId": "cost-a", "total": a}, {"optionId": "cost-b", "total": b}],
        "abstentions": {"total": abstain}, "invalid": {"total": invalid},
        "participation": {"total": participation}})
    vote["results"].pop("winningOptionId")
    if winner is not None:
        vote["results"]["winningOptionId"] = winner
    doc = mutated(LIFT, ("/votes/1", vote))
    outcome = {C.VOTE_RESULT_INCONSISTENT, C.QUORUM_FLAG_INCONSISTENT, C.VOTE_COUNT_MISMATCH}
    assert not check(doc).codes() & outcome
    assume(wrong != result and wrong != "passed")  # a passed result also needs its winner
    vote["results"]["result"] = wrong
    vote["results"].pop("winningOptionId", None)
    report = check(mutated(LIFT, ("/votes/1", vote)))
    assert found(report, C.VOTE_RESULT_INCONSISTENT) == {
        (C.VOTE_RESULT_INCONSISTENT, "/votes/1/results/result")}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 50) | st.text(max_size=6)
    | st.sampled_from(["party-07", "v-01", "s-01", "agree", "2024-04-20T09:00:00+08:00"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=6)
BASES = [LIFT, PARKING, SECRET, *EXAMPLES.values()]


@given(base=st.sampled_from(BASES), data=st.data())
def test_rules_never_raise_on_odd_data(base: dict[str, Any], data: st.DataObject) -> None:
    doc = copy.deepcopy(base)
    paths = [p for p, _ in walk(doc) if p]
    for pointer in data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=4)):
        with contextlib.suppress(KeyError, IndexError, TypeError):  # a parent already replaced
            set_at(doc, pointer, data.draw(JSON))
    ctx = Context(SPEC, compile_plan(SPEC, "Consultation"), Report())
    assert len(OWN_RULES) == 8
    for rule in OWN_RULES:
        rule(doc, ctx)  # called directly: the validator would hide an exception
    for finding in ctx.report.findings:
        assert finding.code in rc.CODE
    list(Validator().validate_many([doc]))


def test_rules_read_the_lifecycle_table() -> None:
    table = rc._table(SPEC)
    assert table is not None
    lifecycle = SPEC.lifecycles["Consultation"]
    assert set(table.actions) == {t["action"] for t in lifecycle["transitions"]}
    assert table.decided_on == {"decided", "decision-published", "implementing",
                                "feedback-published", "closed"}
    assert table.published_on == table.decided_on - {"decided"}
    assert table.creating == ("propose",)

