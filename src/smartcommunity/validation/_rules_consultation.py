"""Library rules of the Consultation resource (conformance class ``/conf/consultations``).

These are the requirements of ``requirements/consultations.json`` enforced by ``library``: what
JSON Schema cannot say about one consultation record — local ids and the references between its
parts, the arithmetic of tallies, quorums and results, the order of its times, and a history that
follows ``lifecycles/consultation.json``. The lifecycle table is read from the spec, never
restated here. Each rule reads only the members it needs and returns at once when they are
absent, so an early-stage or redacted record costs almost nothing.

Messages keep their variable parts language-neutral (JSON Pointers, member names, numbers and
comparison signs), so one value fills both the Chinese and the English template.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from .. import identifiers
from ..lifecycle import Lifecycle, quorum_outcome, result_outcome, with_thresholds
from ..pointers import pointer, resolve_pointer
from ..specification import Spec
from ._history import HistoryReport, Step, history_table, walk_history
from ._messages import ErrorCodes
from ._report import Finding
from ._time import compare_instants, instant
from ._validator import Context, Document, finding, rule

__all__ = ["CODE"]

#: The codes these rules report.
CODE = ErrorCodes("consultation")
#: the status of a session that will not be held: the notice period runs to the others
SESSION_CANCELLED = "cancelled"

_RESOURCE = "Consultation"
#: the result of a vote whose quorum is not met (vote-result codelist)
_NO_QUORUM = "no-quorum"
#: /req/consultations/notice-period states the advance notice as its minimumDays parameter
_NOTICE = "/req/consultations/notice-period"

Where = tuple[str | int, ...]
Fraction = tuple[int, int]

_NO_ITEMS: list[Any] = []  # shared stand-in for an absent list; never mutated
_NO_MEMBERS: dict[str, Any] = {}  # shared stand-in for an absent object; never mutated


# --------------------------------------------------------------------------- small helpers


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else _NO_ITEMS


def _members(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else _NO_MEMBERS


def _int(value: Any) -> int | None:
    # bool is an int subclass; JSON true is not a count.
    return value if type(value) is int else None


def _json(value: bool) -> str:
    return "true" if value else "false"


_seconds = instant
_compare = compare_instants


_HOLDS = {">": (1,), "≥": (0, 1), "≤": (-1, 0)}


def _in_order(ctx: Context, at: Where, value: Any, op: str, other: Where, other_value: Any) -> bool:
    """Report /req/consultations/time-order at ``at`` unless ``value`` ``op`` ``other_value``."""
    if value.__class__ is not str or other_value.__class__ is not str:
        return True
    c = _compare(value, other_value)
    if c is None or c in _HOLDS[op]:
        return True
    ctx.emit(at, CODE.TIME_ORDER, field=pointer(at), value=value, op=op, other=pointer(other),
             otherValue=other_value)
    return False


def _fraction(value: Any) -> Fraction | None:
    if not isinstance(value, dict):
        return None
    n, d = _int(value.get("numerator")), _int(value.get("denominator"))
    if n is None or d is None or n < 0 or d <= 0:
        return None
    return n, d


def _fraction_ok(ctx: Context, value: Any, at: Where) -> bool:
    """/req/consultations/fraction for one ratio; True when absent or not a fraction at all."""
    f = _fraction(value)
    if f is not None and f[0] > f[1]:
        ctx.emit(at, CODE.FRACTION_INVALID, numerator=f[0], denominator=f[1])
        return False
    return True


def _quorum(quorum: Any, count: int, base: int | None) -> tuple[bool | None, str]:
    """Whether ``count`` meets the quorum (None: cannot be told) and the rule as applied."""
    if isinstance(quorum, dict) and "minimumCount" not in quorum and "ratio" not in quorum:
        return None, ""
    try:
        return quorum_outcome(quorum, count, base)
    except ValueError:
        return None, ""


def _id_index(items: list[Any]) -> dict[str, int]:
    """Local id → index of its first item."""
    index: dict[str, int] = {}
    for i, item in enumerate(items):
        if isinstance(item, dict):
            local = item.get("id")
            if isinstance(local, str) and local not in index:
                index[local] = i
    return index


# --------------------------------------------------------------------------- the lifecycle table


@dataclass(frozen=True, slots=True)
class _Action:
    """What the consultation rules add to a row of the table."""

    roles_text: tuple[str, ...]
    #: details members naming items of the document, and the list each one names
    references: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class _Table:
    actions: Mapping[str, _Action]
    creating: tuple[str, ...]
    #: status → the actions that may start from it (for messages)
    allowed_from: Mapping[str, tuple[str, ...]]
    #: /req/consultations/no-open-vote-after-decision: "decided or later"
    decided_on: frozenset[str]
    #: /req/consultations/results-published: "decision-published or later"
    published_on: frozenset[str]


@functools.cache
def _table(spec: Spec) -> _Table | None:
    history = history_table(spec, _RESOURCE)
    if history is None:
        return None
    lifecycle = history.lifecycle
    actions: dict[str, _Action] = {}
    for name, step in history.actions.items():
        props = (step.details_schema or {}).get("properties") or {}
        # /req/consultations/history-details: members the table annotates with the list of
        # the document whose item they name
        references = tuple((k, str(sub["x-references"])) for k, sub in props.items()
                           if isinstance(sub, dict) and "x-references" in sub)
        # a list of ids (decide's voteIds …) annotates its items
        references += tuple((k, str(sub["items"]["x-references"])) for k, sub in props.items()
                            if isinstance(sub, dict) and isinstance(sub.get("items"), dict)
                            and "x-references" in sub["items"])
        actions[name] = _Action(tuple(sorted(step.roles)), references)
    statuses = {s for t in lifecycle.transitions.values() for s in t.sources}
    statuses.update(t.target for t in lifecycle.transitions.values() if t.target)
    allowed = {s: tuple(a for a, t in lifecycle.transitions.items() if s in t.sources)
               for s in statuses}
    return _Table(actions, lifecycle.creating_actions, allowed,
                  _reachable(lifecycle, "decided"), _reachable(lifecycle, "decision-published"))


def _reachable(lifecycle: Lifecycle, start: str) -> frozenset[str]:
    """``start`` and every status some sequence of actions leads to from it."""
    seen = {start}
    stack = [start]
    while stack:
        status = stack.pop()
        for t in lifecycle.transitions.values():
            if status in t.sources and t.target is not None and t.target not in seen:
                seen.add(t.target)
                stack.append(t.target)
    return frozenset(seen)


# --------------------------------------------------------------------------- community, origin


@rule(_RESOURCE)
def community_and_escalation(doc: Document, ctx: Context) -> None:
    """community-division and escalated-issue-exists (checked across the set being validated)."""
    code = doc.get("divisionCode")
    # A structurally broken code is the core rule's finding; only its level is checked here.
    if isinstance(code, str) and code.endswith("000") and identifiers.is_valid_division_code(code):
        ctx.emit(("divisionCode",), CODE.DIVISION_NOT_COMMUNITY, value=code)
    origin = doc.get("origin")
    if not isinstance(origin, dict):
        return
    for i, ref in enumerate(_items(origin.get("issues"))):
        if isinstance(ref, dict):
            target = ref.get("id")
            if isinstance(target, str):
                ctx.expect_in_set(
                    ("origin", "issues", i, "id"), target, CODE.ESCALATED_ISSUE_MISSING, "Issue")


# --------------------------------------------------------------------------- local ids, references


_NO_IDS: frozenset[str] = frozenset()


def _unique_ids(ctx: Context, items: Any, where: Where) -> AbstractSet[str]:
    """/req/consultations/local-ids for one list; returns its ids."""
    if items.__class__ is not list or not items:
        return _NO_IDS
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.__class__ is not dict:
            continue
        local = item.get("id")
        if local.__class__ is not str:
            continue
        if local in first:
            ctx.emit((*where, i, "id"), CODE.DUPLICATE_LOCAL_ID, value=local,
                     first=pointer((*where, first[local], "id")))
        else:
            first[local] = i
    return first.keys()  # a set-like view, no copy


def _unknown(ctx: Context, at: Where, value: str, scope: str) -> None:
    ctx.emit(at, CODE.UNKNOWN_REFERENCE, value=value, scope=scope)


def _resolve_all(ctx: Context, at: Where, values: Any, ids: Any, scope: str) -> None:
    if values.__class__ is not list:
        return
    for j, value in enumerate(values):
        if value.__class__ is str and value not in ids:
            _unknown(ctx, (*at, j), value, scope)


@rule(_RESOURCE)
def local_ids_and_references(doc: Document, ctx: Context) -> None:
    """local-ids and local-references.

    The checks are written out rather than looped over a table of paths: a pointer is built
    only for a reference that fails, which keeps a large record cheap.
    """
    get = doc.get
    parties, sessions, votes = get("parties"), get("sessions"), get("votes")
    implementation = get("implementation")
    if implementation.__class__ is not dict:
        implementation = _NO_MEMBERS
    party_ids = _unique_ids(ctx, parties, ("parties",))
    session_ids = _unique_ids(ctx, sessions, ("sessions",))
    option_ids = _unique_ids(ctx, get("options"), ("options",))
    vote_ids = _unique_ids(ctx, votes, ("votes",))
    milestone_ids = _unique_ids(ctx, implementation.get("milestones"),
                                ("implementation", "milestones"))
    if party_ids:
        for i, party in enumerate(_items(parties)):
            if party.__class__ is dict and "onBehalfOf" in party:
                agent_for = party["onBehalfOf"]
                # Acting for itself names no other party, so it resolves to nothing allowed.
                if agent_for.__class__ is str and (
                        agent_for not in party_ids or agent_for == party.get("id")):
                    _unknown(ctx, ("parties", i, "onBehalfOf"), agent_for, "/parties")
    if sessions.__class__ is list:
        for i, session in enumerate(sessions):
            if session.__class__ is dict:
                _session_references(ctx, i, session, party_ids)
    if votes.__class__ is list:
        for i, vote in enumerate(votes):
            if vote.__class__ is dict:
                _vote_references(ctx, i, vote, party_ids, session_ids, option_ids)
    decision = get("decision")
    if decision.__class__ is dict:
        _resolve_all(ctx, ("decision", "decidedByPartyIds"), decision.get("decidedByPartyIds"),
                     party_ids, "/parties")
        _resolve_all(ctx, ("decision", "voteIds"), decision.get("voteIds"), vote_ids, "/votes")
    if implementation:
        _resolve_all(ctx, ("implementation", "responsiblePartyIds"),
                     implementation.get("responsiblePartyIds"), party_ids, "/parties")
        for j, update in enumerate(_items(implementation.get("updates"))):
            if update.__class__ is not dict:
                continue
            v = update.get("milestoneId")
            if v.__class__ is str and v not in milestone_ids:
                _unknown(ctx, ("implementation", "updates", j, "milestoneId"), v,
                         "/implementation/milestones")
            v = update.get("byPartyId")
            if v.__class__ is str and v not in party_ids:
                _unknown(ctx, ("implementation", "updates", j, "byPartyId"), v, "/parties")
    for j, publication in enumerate(_items(get("publications"))):
        if publication.__class__ is not dict:
            continue
        v = publication.get("voteId")
        if v.__class__ is str and v not in vote_ids:
            _unknown(ctx, ("publications", j, "voteId"), v, "/votes")
        v = publication.get("sessionId")
        if v.__class__ is str and v not in session_ids:
            _unknown(ctx, ("publications", j, "sessionId"), v, "/sessions")


def _session_references(ctx: Context, i: int, session: dict[str, Any], party_ids: Any) -> None:
    for key in ("hostPartyId", "recorderPartyId"):
        v = session.get(key)
        if v.__class__ is str and v not in party_ids:
            _unknown(ctx, ("sessions", i, key), v, "/parties")
    attendance = session.get("attendance")
    if attendance.__class__ is dict and "attendees" in attendance:
        _resolve_all(ctx, ("sessions", i, "attendance", "attendees"), attendance["attendees"],
                     party_ids, "/parties")
    minutes = session.get("minutes")
    if minutes.__class__ is dict:
        v = minutes.get("recordedBy")
        if v.__class__ is str and v not in party_ids:
            _unknown(ctx, ("sessions", i, "minutes", "recordedBy"), v, "/parties")


def _vote_references(ctx: Context, i: int, vote: dict[str, Any], party_ids: Any,
                     session_ids: Any, option_ids: Any) -> None:
    put = vote.get("optionIds")
    if put.__class__ is list:
        _resolve_all(ctx, ("votes", i, "optionIds"), put, option_ids, "/options")
        own = frozenset(o for o in put if o.__class__ is str)
    else:
        own = _NO_IDS
    v = vote.get("approvalOptionId")
    if v.__class__ is str and v not in own:
        _unknown(ctx, ("votes", i, "approvalOptionId"), v, f"/votes/{i}/optionIds")
    v = vote.get("sessionId")
    if v.__class__ is str and v not in session_ids:
        _unknown(ctx, ("votes", i, "sessionId"), v, "/sessions")
    results = vote.get("results")
    if results.__class__ is dict:
        v = results.get("winningOptionId")
        if v.__class__ is str and v not in own:
            _unknown(ctx, ("votes", i, "results", "winningOptionId"), v, f"/votes/{i}/optionIds")
        tally = results.get("tally")
        if tally.__class__ is dict:
            for j, count in enumerate(_items(tally.get("options"))):
                if count.__class__ is dict:
                    v = count.get("optionId")
                    if v.__class__ is str and v not in own:
                        _unknown(ctx, ("votes", i, "results", "tally", "options", j, "optionId"),
                                 v, f"/votes/{i}/optionIds")
    ballots = vote.get("ballots")
    if ballots.__class__ is not list:
        return
    for j, ballot in enumerate(ballots):
        if ballot.__class__ is not dict:
            continue
        for key in ("voterPartyId", "castByPartyId"):
            v = ballot.get(key)
            if v.__class__ is str and v not in party_ids:
                _unknown(ctx, ("votes", i, "ballots", j, key), v, "/parties")
        v = ballot.get("optionId")
        if v.__class__ is str and v not in own:
            _unknown(ctx, ("votes", i, "ballots", j, "optionId"), v, f"/votes/{i}/optionIds")


# --------------------------------------------------------------------------- sessions


@rule(_RESOURCE)
def session_rules(doc: Document, ctx: Context) -> None:
    """attendance-sum, attendance-limit, fraction and quorum-flag of sessions; minutes-recorded."""
    for i, session in enumerate(_items(doc.get("sessions"))):
        if not isinstance(session, dict):
            continue
        attendance = session.get("attendance")
        if isinstance(attendance, dict):
            _attendance(ctx, attendance, ("sessions", i, "attendance"))
        if session.get("status") == "held" and "minutes" not in session:
            ctx.emit(("sessions", i), CODE.MINUTES_MISSING, value=session.get("id", i))


def _attendance(ctx: Context, attendance: dict[str, Any], at: Where) -> None:
    present = _int(attendance.get("present"))
    channels = attendance.get("channels")
    if isinstance(channels, list) and channels:
        seen: set[str] = set()
        total: int | None = 0
        for k, item in enumerate(channels):
            item = _members(item)
            name = item.get("channel")
            if isinstance(name, str):
                if name in seen:
                    ctx.emit((*at, "channels", k, "channel"), CODE.ATTENDANCE_COUNT_MISMATCH,
                             check=f"channels[].channel: {name} × 2")
                seen.add(name)
            count = _int(item.get("count"))
            total = None if total is None or count is None else total + count
        if total is not None and present is not None and total != present:
            ctx.emit((*at, "channels"), CODE.ATTENDANCE_COUNT_MISMATCH,
                     check=f"Σ channels[].count = {total} ≠ present = {present}")
    attendees = attendance.get("attendees")
    if isinstance(attendees, list) and present is not None and len(attendees) > present:
        ctx.emit((*at, "attendees"), CODE.ATTENDANCE_COUNT_MISMATCH,
                 check=f"count(attendees) = {len(attendees)} > present = {present}")
    expected = _int(attendance.get("expected"))
    if present is not None and expected is not None and present > expected:
        ctx.emit((*at, "present"), CODE.ATTENDANCE_EXCEEDS_EXPECTED, value=present, limit=expected)
    quorum = attendance.get("quorum")
    if not isinstance(quorum, dict):
        return
    if not _fraction_ok(ctx, quorum.get("ratio"), (*at, "quorum", "ratio")):
        return  # the flag cannot be judged against a fraction above one
    recorded = attendance.get("quorumMet")
    if present is None or not isinstance(recorded, bool):
        return
    met, applied = _quorum(quorum, present, expected)
    if met is not None and met != recorded:
        ctx.emit((*at, "quorumMet"), CODE.QUORUM_FLAG_INCONSISTENT, value=_json(recorded),
                 expected=_json(met), rule=applied)


# --------------------------------------------------------------------------- votes


@rule(_RESOURCE)
def vote_rules(doc: Document, ctx: Context) -> None:
    """fraction, vote-counts, vote-channels, vote-eligible, quorum-flag, vote-result and the
    ballot rules (ballot-unique, ballot-eligible, ballot-proxy, ballots-match-tally, cast times).
    """
    votes = doc.get("votes")
    if not isinstance(votes, list) or not votes:
        return
    default_eligible = _int(_members(doc.get("eligibility")).get("eligibleCount"))
    parties = _items(doc.get("parties"))
    party_index: dict[str, int] | None = None  # built for the first vote with ballots
    for i, vote in enumerate(votes):
        if not isinstance(vote, dict):
            continue
        at: Where = ("votes", i)
        fractions_ok = _fraction_ok(ctx, _members(vote.get("quorum")).get("ratio"),
                                    (*at, "quorum", "ratio"))
        fractions_ok &= _fraction_ok(ctx, _members(vote.get("threshold")).get("ratio"),
                                     (*at, "threshold", "ratio"))
        declared_list = vote.get("channels")
        declared = (frozenset(c for c in declared_list if isinstance(c, str))
                    if isinstance(declared_list, list) else None)
        if "eligibleCount" in vote:
            eligible, source = _int(vote["eligibleCount"]), (*at, "eligibleCount")
        else:
            eligible, source = default_eligible, ("eligibility", "eligibleCount")
        results = vote.get("results")
        tally = results.get("tally") if isinstance(results, dict) else None
        if isinstance(results, dict) and isinstance(tally, dict):
            participation = _int(_members(tally.get("participation")).get("total"))
            _tally(ctx, tally, (*at, "results", "tally"), declared)
            if participation is not None:
                if eligible is not None and participation > eligible:
                    ctx.emit((*at, "results", "tally", "participation", "total"),
                             CODE.VOTE_EXCEEDS_ELIGIBLE, value=participation, limit=eligible,
                             source=pointer(source))
                if fractions_ok:
                    _outcome(ctx.emit, vote, results, tally, participation, eligible,
                             (*at, "results"))
        ballots = vote.get("ballots")
        if isinstance(ballots, list):
            if ballots:
                if party_index is None:
                    party_index = _id_index(parties)
                _ballots(ctx, vote, ballots, at, declared, party_index, parties)
            # A redacted record has no ballots member at all; only a listed set is compared.
            if vote.get("ballotsComplete") is True and isinstance(tally, dict):
                _ballots_match(ctx, vote, ballots, tally, at)


def _breakdown(ctx: Context, count: dict[str, Any], part: Where, at: Where,
               declared: frozenset[str] | None, sums: dict[str, int] | None) -> bool:
    """One per-channel list of a tally: unique, declared channels adding up to its total.

    Adds the counts to ``sums`` (per channel) when given; returns whether the list is given.
    """
    channels = count.get("channels")
    if channels.__class__ is not list or not channels:
        return False
    seen: set[str] = set()
    total: int | None = 0
    for k, item in enumerate(channels):
        if item.__class__ is not dict:
            total = None
            continue
        name, n = item.get("channel"), item.get("count")
        if name.__class__ is str:
            if name in seen:
                ctx.emit((*at, *part, "channels", k, "channel"), CODE.VOTE_COUNT_MISMATCH,
                         check=f"channels[].channel: {name} × 2")
            seen.add(name)
            if declared is not None and name not in declared:
                ctx.emit((*at, *part, "channels", k, "channel"), CODE.VOTE_CHANNEL_UNDECLARED,
                         value=name, declared=sorted(declared))
            if sums is not None and n.__class__ is int:
                sums[name] = sums.get(name, 0) + n
        if n.__class__ is int and total is not None:
            total += n
        else:
            total = None
    expected = count.get("total")
    if total is not None and total != expected and expected.__class__ is int:
        ctx.emit((*at, *part, "channels"), CODE.VOTE_COUNT_MISMATCH,
                 check=f"Σ channels[].count = {total} ≠ total = {expected}")
    return True


def _tally(ctx: Context, tally: dict[str, Any], at: Where,
           declared: frozenset[str] | None) -> None:
    """vote-counts and vote-channels of one tally, in one pass over its counts."""
    sums: dict[str, int] = {}  # per channel, over options, abstentions and invalid ballots
    split = True  # every part says how its ballots split by channel (an empty one needs not)
    total: int | None = 0
    options = tally.get("options")
    if options.__class__ is list:
        seen: set[str] = set()
        for j, count in enumerate(options):
            if count.__class__ is not dict:
                continue
            n = count.get("total")
            total = total + n if total is not None and n.__class__ is int else None
            if not _breakdown(ctx, count, ("options", j), at, declared, sums) and n != 0:
                split = False
            option = count.get("optionId")
            if option.__class__ is str:
                if option in seen:
                    ctx.emit((*at, "options", j, "optionId"), CODE.VOTE_COUNT_MISMATCH,
                             check=f"options[].optionId: {option} × 2")
                seen.add(option)
    for key in ("abstentions", "invalid"):
        count = tally.get(key)
        if count.__class__ is dict:
            n = count.get("total")
            total = total + n if total is not None and n.__class__ is int else None
            if not _breakdown(ctx, count, (key,), at, declared, sums) and n != 0:
                split = False
    participation = tally.get("participation")
    if participation.__class__ is not dict:
        return
    _breakdown(ctx, participation, ("participation",), at, declared, None)
    expected = participation.get("total")
    if total is None or expected.__class__ is not int:
        return
    if total != expected:
        ctx.emit((*at, "participation", "total"), CODE.VOTE_COUNT_MISMATCH,
                 check=f"Σ options[].total + abstentions.total + invalid.total = {total} "
                       f"≠ participation.total = {expected}")
        return
    per_channel = participation.get("channels")
    if not split or per_channel.__class__ is not list:
        return
    for k, item in enumerate(per_channel):
        if item.__class__ is not dict:
            continue
        name, n = item.get("channel"), item.get("count")
        if n.__class__ is int and name.__class__ is str and sums.get(name, 0) != n:
            ctx.emit((*at, "participation", "channels", k, "count"), CODE.VOTE_COUNT_MISMATCH,
                     check=f"Σ options, abstentions, invalid [{name}] = {sums.get(name, 0)} "
                           f"≠ participation.channels[{name}] = {n}")


def vote_outcome_findings(spec: Spec, doc: Document, thresholds: Mapping[str, Any]
                          ) -> list[Finding]:
    """quorum-flag and vote-result of every vote of consultation ``doc`` whose outcome can be
    told, by a city profile's ``thresholds`` for its form (/req/profiles/thresholds)."""
    found: list[Finding] = []

    def emit(where: Where, code: str, **values: Any) -> None:
        found.append(finding(spec, where, code, **values))

    votes = doc.get("votes")
    default_eligible = _int(_members(doc.get("eligibility")).get("eligibleCount"))
    for i, vote in enumerate(votes if isinstance(votes, list) else ()):
        results = vote.get("results") if isinstance(vote, dict) else None
        tally = results.get("tally") if isinstance(results, dict) else None
        if not isinstance(results, dict) or not isinstance(tally, dict):
            continue
        participation = _int(_members(tally.get("participation")).get("total"))
        eligible = (_int(vote["eligibleCount"]) if "eligibleCount" in vote
                    else default_eligible)
        if participation is not None:
            _outcome(emit, dict(with_thresholds(vote, thresholds)), results, tally,
                     participation, eligible, ("votes", i, "results"))
    return found


def _outcome(emit: Callable[..., None], vote: dict[str, Any], results: dict[str, Any],
             tally: dict[str, Any], participation: int, eligible: int | None,
             at: Where) -> None:
    """quorum-flag and vote-result of one vote's results, against the outcome the library's
    one vote computation (:func:`smartcommunity.lifecycle.vote_outcome`) gives; ``emit``
    reports a finding."""
    met, applied = _quorum(vote.get("quorum"), participation, eligible)
    if met is None:
        return  # cannot be told from what the record gives
    recorded = results.get("quorumMet")
    if isinstance(recorded, bool) and recorded != met:
        emit((*at, "quorumMet"), CODE.QUORUM_FLAG_INCONSISTENT, value=_json(recorded),
             expected=_json(met), rule=applied)
    if met:
        try:
            result, winner, why = result_outcome(vote, tally, participation, eligible)
        except ValueError:
            return  # an option outside the vote is local-references' finding
    else:
        result, winner, why = _NO_QUORUM, None, applied
    got, got_winner = results.get("result"), results.get("winningOptionId")
    if isinstance(got, str) and got != result:
        emit((*at, "result"), CODE.VOTE_RESULT_INCONSISTENT, value=_outcome_text(got, got_winner),
             expected=_outcome_text(result, winner), rule=why)
    elif got == result and got_winner is not None and got_winner != winner:
        # A passed result without a winner is the schema's finding (winning-option).
        emit((*at, "winningOptionId"), CODE.VOTE_RESULT_INCONSISTENT,
             value=_outcome_text(got, got_winner), expected=_outcome_text(result, winner),
             rule=why)


def _outcome_text(result: Any, winner: Any) -> str:
    return f"{result} ({winner})" if isinstance(winner, str) else str(result)


def _ballots(ctx: Context, vote: dict[str, Any], ballots: list[Any], at: Where,
             declared: frozenset[str] | None, party_index: dict[str, int],
             parties: list[Any]) -> None:
    """ballot-unique, ballot-eligible, ballot-proxy, ballot channels and cast times."""
    opens, closes = vote.get("opensAt"), vote.get("closesAt")
    first: dict[str, int] = {}
    for j, ballot in enumerate(ballots):
        if not isinstance(ballot, dict):
            continue
        here = (*at, "ballots", j)
        voter = ballot.get("voterPartyId")
        if isinstance(voter, str):
            if voter in first:
                ctx.emit((*here, "voterPartyId"), CODE.DUPLICATE_BALLOT, value=voter,
                         first=pointer((*at, "ballots", first[voter])))
            else:
                first[voter] = j
            k = party_index.get(voter)
            if k is not None and parties[k].get("eligibleToVote") is not True:
                ctx.emit((*here, "voterPartyId"), CODE.VOTER_NOT_ELIGIBLE, value=voter,
                         party=pointer(("parties", k)))
        channel = ballot.get("channel")
        if declared is not None and isinstance(channel, str) and channel not in declared:
            ctx.emit((*here, "channel"), CODE.VOTE_CHANNEL_UNDECLARED, value=channel,
                     declared=sorted(declared))
        cast_by = ballot.get("castByPartyId")
        if isinstance(cast_by, str) and isinstance(voter, str) and cast_by != voter:
            k = party_index.get(cast_by)
            if k is not None and parties[k].get("onBehalfOf") != voter:
                ctx.emit((*here, "castByPartyId"), CODE.PROXY_NOT_AUTHORISED, value=cast_by,
                         voter=voter, onBehalfOf=parties[k].get("onBehalfOf", "—"))
        cast_at = ballot.get("castAt")
        if isinstance(cast_at, str) and _in_order(ctx, (*here, "castAt"), cast_at, "≥",
                                                   (*at, "opensAt"), opens):
            _in_order(ctx, (*here, "castAt"), cast_at, "≤", (*at, "closesAt"), closes)


def _ballots_match(ctx: Context, vote: dict[str, Any], ballots: list[Any],
                   tally: dict[str, Any], at: Where) -> None:
    """ballots-match-tally: a complete list of ballots agrees with the tally."""
    check = ballots_mismatch(vote, ballots, tally)
    if check is not None:
        ctx.emit((*at, "ballots"), CODE.BALLOTS_TALLY_MISMATCH, check=check)


def ballots_mismatch(vote: Mapping[str, Any], ballots: list[Any],
                     tally: Mapping[str, Any]) -> str | None:
    """How ``ballots`` disagree with ``tally`` as /req/consultations/ballots-match-tally
    compares them (the first difference, as a formula), or None when they agree."""
    participation = _members(tally.get("participation"))
    total = _int(participation.get("total"))
    if total is not None and len(ballots) != total:
        return f"count(ballots) = {len(ballots)} ≠ participation.total = {total}"
    # Keyed by text only: a value of another type is the schema's finding and counts nowhere.
    by_channel: dict[str, int] = {}
    by_option: dict[str, int] = {}
    by_kind: dict[str, int] = {}
    for ballot in ballots:
        ballot = _members(ballot)
        channel = ballot.get("channel")
        if channel.__class__ is str:
            by_channel[channel] = by_channel.get(channel, 0) + 1
        choice, kind = ballot.get("optionId"), ballot.get("kind")
        if choice.__class__ is str:
            by_option[choice] = by_option.get(choice, 0) + 1
        elif kind.__class__ is str:
            by_kind[kind] = by_kind.get(kind, 0) + 1
    for item in _items(participation.get("channels")):
        item = _members(item)
        name, n = item.get("channel"), _int(item.get("count"))
        if n is not None and name.__class__ is str and by_channel.get(name, 0) != n:
            return (f"count(ballots[channel = {name}]) = {by_channel.get(name, 0)} "
                    f"≠ participation.channels[{name}] = {n}")
    if vote.get("method") == "secret-ballot":
        return None  # secret ballots record no choice to compare
    for item in _items(tally.get("options")):
        item = _members(item)
        option, n = item.get("optionId"), _int(item.get("total"))
        if option.__class__ is not str or n is None:
            continue
        got = by_option.get(option, 0)
        if got != n:
            return f"count(ballots[optionId = {option}]) = {got} ≠ options[{option}].total = {n}"
    for member, kind in (("abstentions", "abstention"), ("invalid", "invalid")):
        n = _int(_members(tally.get(member)).get("total")) or 0
        got = by_kind.get(kind, 0)
        if got != n:
            return f"count(ballots[kind = {kind}]) = {got} ≠ {member}.total = {n}"
    return None


# --------------------------------------------------------------------------- decision, stages


@rule(_RESOURCE)
def decision_and_stage(doc: Document, ctx: Context) -> None:
    """decision-votes-closed, decision-consistent, no-open-vote-after-decision,
    close-after-feedback and results-published.
    """
    votes = _items(doc.get("votes"))
    decision = doc.get("decision")
    if isinstance(decision, dict) and votes:
        vote_ids = _items(decision.get("voteIds"))
        if vote_ids:
            index = _id_index(votes)
            adopted = decision.get("type") == "adopted" and decision.get("basis") == "vote"
            for j, local in enumerate(vote_ids):
                k = index.get(local) if isinstance(local, str) else None
                if k is None:
                    continue
                vote = votes[k]
                status = vote.get("status")
                if status != "closed":
                    ctx.emit(("decision", "voteIds", j), CODE.DECISION_VOTE_NOT_CLOSED, value=local,
                             status=status)
                elif adopted:
                    result = _members(vote.get("results")).get("result")
                    if isinstance(result, str) and result != "passed":
                        ctx.emit(("decision", "voteIds", j), CODE.DECISION_CONTRADICTS_VOTE,
                                 value=local, result=result)
    status = doc.get("status")
    table = _table(ctx.spec)
    if not isinstance(status, str) or table is None:
        return
    if status in table.decided_on:
        for i, vote in enumerate(votes):
            if isinstance(vote, dict) and vote.get("status") == "open":
                ctx.emit(("votes", i, "status"), CODE.VOTE_OPEN_AFTER_DECISION,
                         value=vote.get("id", i), status=status)
    if (status == "closed" and isinstance(decision, dict)
            and decision.get("type") == "adopted"):
        missing = []
        if "completedAt" not in _members(doc.get("implementation")):
            missing.append("implementation.completedAt")
        if "feedback" not in doc:
            missing.append("feedback")
        if missing:
            ctx.emit(("status",), CODE.CLOSED_WITHOUT_FEEDBACK, missing=missing)
    if status in table.published_on and votes:
        published = {p["voteId"] for p in _items(doc.get("publications"))
                     if isinstance(p, dict) and p.get("type") == "vote-result"
                     and isinstance(p.get("voteId"), str)}
        for i, vote in enumerate(votes):
            if (isinstance(vote, dict) and vote.get("status") == "closed"
                    and isinstance(vote.get("id"), str) and vote["id"] not in published):
                ctx.emit(("votes", i), CODE.VOTE_RESULT_UNPUBLISHED, value=vote.get("id", i))


# --------------------------------------------------------------------------- time order


@rule(_RESOURCE)
def time_order(doc: Document, ctx: Context) -> None:
    """time-order (except ballots, checked with their vote) and notice-period."""
    notice = _members(doc.get("notice"))
    published = notice.get("publishedAt")
    if published is not None:
        _in_order(ctx, ("notice", "publishedAt"), published, "≥", ("origin", "proposedAt"),
                  _members(doc.get("origin")).get("proposedAt"))
        if "deadline" in notice:
            _in_order(ctx, ("notice", "deadline"), notice["deadline"], "≥",
                      ("notice", "publishedAt"), published)
    firsts: list[str] = []  # starts that the notice period runs to
    for i, session in enumerate(_items(doc.get("sessions"))):
        if not isinstance(session, dict):
            continue
        start = session.get("start")
        if published is not None:
            _in_order(ctx, ("sessions", i, "start"), start, ">", ("notice", "publishedAt"),
                      published)
            if isinstance(start, str) and session.get("status") != SESSION_CANCELLED:
                firsts.append(start)
        if "end" in session:
            _in_order(ctx, ("sessions", i, "end"), session["end"], ">", ("sessions", i, "start"),
                      start)
        minutes = session.get("minutes")
        if isinstance(minutes, dict) and "approvedAt" in minutes:
            _in_order(ctx, ("sessions", i, "minutes", "approvedAt"), minutes["approvedAt"], "≥",
                      ("sessions", i, "start"), start)
    votes = _items(doc.get("votes"))
    for i, vote in enumerate(votes):
        if not isinstance(vote, dict) or "opensAt" not in vote:
            continue
        opens = vote["opensAt"]
        if published is not None:
            _in_order(ctx, ("votes", i, "opensAt"), opens, ">", ("notice", "publishedAt"),
                      published)
            if isinstance(opens, str):
                firsts.append(opens)
        if "closesAt" in vote:
            _in_order(ctx, ("votes", i, "closesAt"), vote["closesAt"], ">",
                      ("votes", i, "opensAt"), opens)
        results = vote.get("results")
        if isinstance(results, dict) and "visibleFrom" in results:
            _in_order(ctx, ("votes", i, "results", "visibleFrom"), results["visibleFrom"], "≥",
                      ("votes", i, "opensAt"), opens)
    if firsts:
        _notice_period(ctx, published, firsts)
    decision = _members(doc.get("decision"))
    decided = decision.get("decidedAt")
    if decided is not None:
        vote_ids = _items(decision.get("voteIds"))
        if vote_ids and votes:
            # Against the last of the votes it rests on to close: one finding, not one per vote.
            index = _id_index(votes)
            last: int | None = None
            for local in vote_ids:
                k = index.get(local) if isinstance(local, str) else None
                if k is None or votes[k].get("closesAt").__class__ is not str:
                    continue
                if last is None or _compare(votes[k]["closesAt"], votes[last]["closesAt"]) == 1:
                    last = k
            if last is not None:
                _in_order(ctx, ("decision", "decidedAt"), decided, "≥",
                          ("votes", last, "closesAt"), votes[last]["closesAt"])
        feedback = _members(doc.get("feedback"))
        if "publishedAt" in feedback:
            _in_order(ctx, ("feedback", "publishedAt"), feedback["publishedAt"], "≥",
                      ("decision", "decidedAt"), decided)
    implementation = doc.get("implementation")
    if isinstance(implementation, dict):
        _implementation_times(ctx, implementation, decided)


def _implementation_times(ctx: Context, implementation: dict[str, Any], decided: Any) -> None:
    started = implementation.get("startedAt")
    if decided is not None:
        _in_order(ctx, ("implementation", "startedAt"), started, "≥", ("decision", "decidedAt"),
                  decided)
    for j, milestone in enumerate(_items(implementation.get("milestones"))):
        if isinstance(milestone, dict) and "completedAt" in milestone:
            _in_order(ctx, ("implementation", "milestones", j, "completedAt"),
                      milestone["completedAt"], "≥", ("implementation", "startedAt"), started)
    if "completedAt" in implementation:
        _in_order(ctx, ("implementation", "completedAt"), implementation["completedAt"], "≥",
                  ("implementation", "startedAt"), started)
    previous: Where | None = None
    previous_at: Any = None
    for j, update in enumerate(_items(implementation.get("updates"))):
        if update.__class__ is not dict:
            continue
        here: Where = ("implementation", "updates", j, "at")
        at = update.get("at")
        # Not before the start, and in time order: at most one finding per update.
        if _in_order(ctx, here, at, "≥", ("implementation", "startedAt"), started) and (
                previous is not None):
            _in_order(ctx, here, at, "≥", previous, previous_at)
        previous, previous_at = here, at


def _notice_period(ctx: Context, published: Any, firsts: list[str]) -> None:
    """notice-period: at least the requirement's minimumDays from the notice to the first
    session or vote."""
    minimum_days = int(ctx.spec.parameter(_NOTICE, "minimumDays"))
    start = _seconds(published) if isinstance(published, str) else None
    if start is None:
        return
    first_at, first = None, ""
    for value in firsts:
        seconds = _seconds(value)
        if seconds is not None and (first_at is None or seconds < first_at):
            first_at, first = seconds, value
    if first_at is None:
        return
    gap = first_at - start
    # A first session or vote before the notice is time-order's error, not a short notice.
    if 0 < gap < minimum_days * 86400:
        ctx.emit(("notice", "publishedAt"), CODE.NOTICE_PERIOD_SHORT, published=published,
                 first=first, days=f"{math.floor(gap / 8640) / 10:.1f}", minimum=minimum_days)


# --------------------------------------------------------------------------- history


@rule(_RESOURCE)
def history_rules(doc: Document, ctx: Context) -> None:
    """history-lifecycle, history-chain, history-status and history-details."""
    events = doc.get("history")
    table = _table(ctx.spec)
    history = history_table(ctx.spec, _RESOURCE)
    if events.__class__ is not list or not events or table is None or history is None:
        return
    walk_history(doc, events, history, _HistoryReport(doc, ctx, table))


class _HistoryReport(HistoryReport):
    """The breaks of the lifecycle as consultation.history-* findings."""

    __slots__ = ("ctx", "doc", "referable", "table")
    null_details_absent = True

    def __init__(self, doc: Document, ctx: Context, table: _Table) -> None:
        self.doc = doc
        self.ctx = ctx
        self.table = table
        self.referable: dict[str, set[str]] = {}  # list pointer → its ids, built on first use

    def seq(self, i: int, action: Any, seq: Any, expected: int) -> None:
        _lifecycle_error(self.ctx, i, "seq", action, seq, expected)

    def time_order(self, i: int, action: Any, at: str, previous: str) -> None:
        _lifecycle_error(self.ctx, i, "at", action, at, f"≥ {previous}")

    def not_creating(self, i: int, action: str) -> None:
        _lifecycle_error(self.ctx, i, "action", action, action, self.table.creating)

    def creation_from(self, i: int, action: Any, value: Any) -> None:
        _lifecycle_error(self.ctx, i, "fromStatus", action, value, "—")

    def from_missing(self, i: int, action: Any, previous: Any) -> None:
        _lifecycle_error(self.ctx, i, "fromStatus", action, "—", previous or "—")

    def from_not_previous(self, i: int, action: Any, value: Any, previous: Any) -> None:
        # /req/consultations/history-chain
        self.ctx.emit(("history", i, "fromStatus"), CODE.HISTORY_CHAIN, seq=i + 1, action=action,
                      fromStatus=value, previous=previous)

    def not_allowed_from(self, i: int, step: Step, status: str) -> None:
        _lifecycle_error(self.ctx, i, "action", step.name, step.name,
                         self.table.allowed_from.get(status) or "—")

    def to_status(self, i: int, step: Step, value: Any, expected: str) -> None:
        _lifecycle_error(self.ctx, i, "toStatus", step.name, value, expected)

    def role(self, i: int, step: Step, role: str) -> None:
        _lifecycle_error(self.ctx, i, "actor.role", step.name, role,
                         self.table.actions[step.name].roles_text)

    def details(self, i: int, step: Step, details: dict[str, Any]) -> None:
        _details_errors(self.ctx, i, step.name, step.details, details)

    def event(self, i: int, event: dict[str, Any], step: Step,
              details: dict[str, Any] | None) -> None:
        references = self.table.actions[step.name].references
        if details is None or not references:
            return
        referable = self.referable
        for key, scope in references:
            value = details.get(key)
            named: list[tuple[Where, Any]] = (
                [((key,), value)] if value.__class__ is str else
                [((key, k), v) for k, v in enumerate(value) if v.__class__ is str]
                if value.__class__ is list else [])
            for where, one in named:
                ids = referable.get(scope)
                if ids is None:
                    ids = referable[scope] = _ids_at(self.doc, scope)
                if one not in ids:
                    self.ctx.emit(("history", i, "details", *where), CODE.HISTORY_DETAILS_INVALID,
                                  event=pointer(("history", i)), action=step.name,
                                  member=f"details.{key}", rule=f"∈ {scope}[].id")

    def final_status(self, status: str, to_status: str) -> None:
        self.ctx.emit(("status",), CODE.HISTORY_STATUS_MISMATCH, value=status, expected=to_status)


def _lifecycle_error(ctx: Context, j: int, member: str, action: Any, value: Any,
                     allowed: Any) -> None:
    ctx.emit(("history", j, *member.split(".")), CODE.HISTORY_LIFECYCLE,
             event=pointer(("history", j)), action=action, field=member, value=value,
             allowed=allowed)


def _ids_at(doc: Document, where: str) -> set[str]:
    """The local ids of the list ``where`` (a JSON Pointer) names in ``doc``."""
    try:
        items = resolve_pointer(doc, where)
    except LookupError:
        return set()
    return set(_id_index(_items(items)))


def _details_errors(ctx: Context, j: int, name: Any, validator: Any,
                    details: dict[str, Any]) -> None:
    """history-details: one finding per way ``details`` breaks the action's details schema."""
    at = ("history", j, "details")
    event = pointer(("history", j))
    for error in validator.iter_errors(details):
        kind = error.kind
        keyword = kind.name
        values = _error_values(kind)
        path = [str(p) for p in error.instance_path]
        if keyword == "additionalProperties":
            for extra in values.get("unexpected", ()) or ("",):
                ctx.emit((*at, *path, extra), CODE.HISTORY_DETAILS_INVALID, event=event,
                         action=name, member=".".join(["details", *path, extra]),
                         rule="additionalProperties: false")
            continue
        if keyword == "required":
            path.append(str(values.get("property", "")))
            rule_text = "required"
        else:
            shown = [str(v) for k, v in values.items() if k != "value"]
            rule_text = " ".join([keyword, *shown])
        ctx.emit((*at, *path), CODE.HISTORY_DETAILS_INVALID, event=event, action=name,
                 member=".".join(["details", *path]), rule=rule_text)


def _error_values(kind: Any) -> dict[str, Any]:
    try:
        values = kind.as_dict()
    except Exception:  # a kind without structured data still gets a message
        return {}
    return values if isinstance(values, dict) else {}


# --------------------------------------------------------------------------- record and history

#: what the latest decide event's details give, and the decision member each one is
_DECIDED = (("decisionType", "type"), ("basis", "basis"), ("text", "text"),
            ("voteIds", "voteIds"), ("decidedByPartyIds", "decidedByPartyIds"),
            ("referredTo", "referredTo"))
_PUBLISHING = frozenset({"publish-notice", "publish-update", "publish-decision",
                         "publish-feedback"})


@rule(_RESOURCE)
def record_history(doc: Document, ctx: Context) -> None:
    """record-matches-history: what actions write agrees with the events that wrote it."""
    events = [e for e in _items(doc.get("history")) if e.__class__ is dict]
    if not events:
        return
    opened: set[Any] = set()
    closed: dict[Any, Any] = {}
    counts: dict[Any, dict[str, int]] = {}
    latest: dict[str, dict[str, Any]] = {}
    published: list[tuple[int, int, Any]] = []
    progress: Any = None
    for j, event in enumerate(events):
        action = event.get("action")
        if action.__class__ is not str:
            continue  # the schema reports it
        details = event.get("details")
        details = details if details.__class__ is dict else _NO_MEMBERS
        vote_id = details.get("voteId")
        if vote_id.__class__ is not str:
            vote_id = None  # the schema reports it
        if action == "open-vote":
            opened.add(vote_id)
        elif action == "close-vote":
            closed[vote_id] = details
        elif action == "record-votes":
            count = _int(details.get("count"))
            if count is not None:
                per = counts.setdefault(vote_id, {})
                channel = str(details.get("channel"))
                per[channel] = per.get(channel, 0) + count
        elif action == "report-progress" and "progress" in details:
            progress = details["progress"]
        if action in _PUBLISHING:
            for i, item in enumerate(_items(details.get("publications"))):
                published.append((j, i, item))
        latest[action] = details
    for i, vote in enumerate(_items(doc.get("votes"))):
        if vote.__class__ is dict:
            _vote_history(ctx, i, vote, opened, closed, counts)
    _decision_history(ctx, doc, latest.get("decide"))
    implementation = doc.get("implementation")
    started = latest.get("start-implementation")
    if implementation is not None:
        if started is None:
            _mismatch(ctx, ("implementation",), "∃ start-implementation")
        elif implementation.__class__ is dict:
            given = started.get("responsiblePartyIds")
            if given is not None and implementation.get("responsiblePartyIds") != given:
                _mismatch(ctx, ("implementation", "responsiblePartyIds"),
                          "= start-implementation details.responsiblePartyIds")
            if progress is not None and implementation.get("progress") != progress:
                _mismatch(ctx, ("implementation", "progress"),
                          f"= {progress} (report-progress details.progress)")
    if "feedback" in doc and "publish-feedback" not in latest:
        _mismatch(ctx, ("feedback",), "∃ publish-feedback")
    if published:
        present = _items(doc.get("publications"))
        for j, i, item in published:
            if item.__class__ is dict and not any(
                    p.__class__ is dict and all(_same(p.get(k), v) for k, v in item.items())
                    for p in present):
                _mismatch(ctx, ("history", j, "details", "publications", i),
                          "∈ publications")


def _vote_history(ctx: Context, i: int, vote: dict[str, Any], opened: set[Any],
                  closed: dict[Any, Any], counts: dict[Any, dict[str, int]]) -> None:
    vote_id = vote.get("id")
    if vote_id.__class__ is not str:
        return  # the schema reports it
    status = vote.get("status")
    results = vote.get("results")
    results = results if results.__class__ is dict else None
    if vote_id in closed:
        if status != "closed":
            _mismatch(ctx, ("votes", i, "status"), "closed (close-vote)")
        stated = closed[vote_id].get("result")
        if results is not None and stated is not None and "result" in results and (
                results["result"] != stated):
            _mismatch(ctx, ("votes", i, "results", "result"),
                      f"{stated} (close-vote details.result)")
        complete = closed[vote_id].get("ballotsComplete")
        if complete is not None and vote.get("ballotsComplete") != complete:
            _mismatch(ctx, ("votes", i, "ballotsComplete"),
                      f"{str(complete).lower()} (close-vote details.ballotsComplete)")
    elif vote_id in opened:
        if status != "open":
            _mismatch(ctx, ("votes", i, "status"), "open (open-vote)")
    else:
        if status not in ("planned", "cancelled"):
            _mismatch(ctx, ("votes", i, "status"), "planned | cancelled (∄ open-vote)")
        for member in ("results", "ballots"):
            if member in vote:
                _mismatch(ctx, ("votes", i, member), "∄ (∄ open-vote)")
        return
    tally = results.get("tally") if results is not None else None
    if tally.__class__ is not dict:
        return
    recorded = counts.get(vote_id, {})
    participation = _members(tally.get("participation"))
    channels = _items(participation.get("channels"))
    total = _int(participation.get("total"))
    if not channels and total is not None and total != sum(recorded.values()):
        # With channels the sums are compared per channel (vote-counts adds them up).
        _mismatch(ctx, ("votes", i, "results", "tally", "participation", "total"),
                  f"= {sum(recorded.values())} (Σ record-votes details.count)")
    for k, entry in enumerate(channels):
        entry = _members(entry)
        channel = entry.get("channel")
        want = recorded.get(str(channel), 0)
        if _int(entry.get("count")) not in (None, want):
            _mismatch(ctx, ("votes", i, "results", "tally", "participation", "channels", k,
                            "count"), f"= {want} (Σ record-votes {channel} details.count)")


def _decision_history(ctx: Context, doc: Document, decide: dict[str, Any] | None) -> None:
    decision = doc.get("decision")
    if decision is None:
        return
    if decide is None:
        _mismatch(ctx, ("decision",), "∃ decide")
        return
    if decision.__class__ is not dict:
        return
    for given, member in _DECIDED:
        if given in decide and member in decision and decision[member] != decide[given]:
            _mismatch(ctx, ("decision", member), f"= decide details.{given}")


def _same(value: Any, other: Any) -> bool:
    """Equal, with timestamps compared as instants (an offset may be written either way)."""
    if value == other:
        return True
    return (value.__class__ is str and other.__class__ is str
            and _compare(value, other) == 0)


def _mismatch(ctx: Context, at: Where, expected: str) -> None:
    ctx.emit(at, CODE.RECORD_HISTORY_MISMATCH, member=pointer(at), expected=expected)
