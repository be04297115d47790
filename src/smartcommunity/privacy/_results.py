"""Vote results withheld until they may be disclosed (/req/consultations/results-hidden).

The rule is ``privacy.json`` ``recordAccess``: the roles of ``resultsHiddenFrom`` get a vote's
results, its ballots' choices and the result-bearing ``details`` of its events
(``results.eventDetails``) only once the vote's status is ``results.shownAtVoteStatus`` and its
``results.visibleFrom``, when given, has come. A server's reads and its public pages, and the
pages and notices written from files, all apply it through :func:`hide_results`, so that no copy
of a record shows a running tally.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..integrity import withhold
from ..specification import DEFAULT_VERSION, load_spec
from ..validation import instant

__all__ = ["ResultsRule", "hide_results", "results_rule", "results_shown", "results_steady"]


@dataclass(frozen=True, slots=True)
class ResultsRule:
    """When a vote's results may be read, as a spec version's ``privacy.json`` says."""

    version: str
    #: resource types whose votes' results wait
    resource_types: frozenset[str]
    #: the vote status at which results may be shown (None: any)
    shown_at: str | None
    #: action → the ``details`` members of its events that state results
    event_details: Mapping[str, tuple[str, ...]]
    #: the roles that wait for it; the others read results whenever they may see them
    hidden_from: frozenset[str]

    def withholds_from(self, role: str) -> bool:
        """Whether ``role`` waits for results to be due."""
        return role in self.hidden_from


@functools.cache
def results_rule(version: str = DEFAULT_VERSION) -> ResultsRule:
    """The rule of spec ``version``."""
    record = load_spec(version).privacy["recordAccess"]
    results = record.get("results") or {}
    return ResultsRule(
        version=version,
        resource_types=frozenset(results.get("resourceTypes") or ()),
        shown_at=results.get("shownAtVoteStatus"),
        event_details={str(a): tuple(m) for a, m in (results.get("eventDetails") or {}).items()},
        hidden_from=frozenset(record.get("resultsHiddenFrom") or ()))


def _seconds(text: str) -> float | None:
    """The instant of an RFC 3339 timestamp in seconds; a leap second (``:60``), which no
    datetime holds, as the second before it. None when ``text`` is no timestamp."""
    seconds = instant(text)
    if seconds is None and text[17:19] == "60":
        seconds = instant(text[:17] + "59" + text[19:])
    return seconds


def _due(visible_from: str, now: datetime) -> bool:
    """Whether the instant ``visible_from`` names has come at ``now``: a time nobody can read
    is never due."""
    seconds = _seconds(visible_from)
    return seconds is not None and seconds <= now.timestamp()


def results_shown(vote: Mapping[str, Any], now: datetime | None = None, *,
                  rule: ResultsRule | None = None) -> bool:
    """Whether the results of ``vote`` are due at ``now`` (default: the current time) for a
    role that waits for them: the vote's status is the rule's and its ``results.visibleFrom``,
    when given, has come."""
    rule = rule or results_rule()
    if rule.shown_at is not None and vote.get("status") != rule.shown_at:
        return False
    results = vote.get("results")
    when = results.get("visibleFrom") if isinstance(results, Mapping) else None
    return not isinstance(when, str) or _due(when, now or datetime.now(UTC))


def results_steady(doc: Mapping[str, Any], now: datetime, *,
                   rule: ResultsRule | None = None) -> tuple[float, float]:
    """The instants (POSIX seconds, from inclusive, until exclusive) around ``now`` between
    which :func:`results_shown` says the same of every vote of ``doc``: what
    :func:`hide_results` withholds from a role that waits changes only at a ``visibleFrom``.

    >>> vote = {"status": "closed", "results": {"visibleFrom": "2026-06-01T08:00:00+08:00"}}
    >>> results_steady({"votes": [vote]}, datetime(2026, 5, 1, tzinfo=UTC))
    (-inf, 1780272000.0)
    """
    rule = rule or results_rule(str(doc.get("specVersion") or DEFAULT_VERSION))
    since, until = -math.inf, math.inf
    moment = now.timestamp()
    for vote in doc.get("votes") or ():
        if not isinstance(vote, Mapping) or (
                rule.shown_at is not None and vote.get("status") != rule.shown_at):
            continue
        results = vote.get("results")
        when = results.get("visibleFrom") if isinstance(results, Mapping) else None
        seconds = _seconds(when) if isinstance(when, str) else None
        if seconds is None:
            continue  # shown now and always, or never
        if seconds <= moment:
            since = max(since, seconds)
        else:
            until = min(until, seconds)
    return since, until


def hide_results(doc: dict[str, Any], *, early: bool, now: datetime | None = None,
                 rule: ResultsRule | None = None) -> bool:
    """Withhold in place the vote results of ``doc`` its reader may not have; whether any
    were.

    With ``early`` (the reader's role waits, :meth:`ResultsRule.withholds_from`) a vote's
    results, its ballots' choices and the results its events state stay hidden until
    :func:`results_shown`. For every reader, where redaction took a vote's results away
    (their ``visibility``), the ballots' choices and those events do not give them back. An
    event whose members are withheld carries ``withheldDigest`` and loses its salt, so that the
    history chain checks past it (/req/core/history-chain). Documents of a resource type
    whose votes do not wait are left as they are.
    """
    rule = rule or results_rule(str(doc.get("specVersion") or DEFAULT_VERSION))
    rtype = str(doc.get("resourceType"))
    if rtype not in rule.resource_types:
        return False
    moment = now or datetime.now(UTC)
    hidden: set[Any] = set()
    for vote in doc.get("votes") or ():
        if not isinstance(vote, dict):
            continue
        if isinstance(vote.get("results"), dict):
            if not early or results_shown(vote, moment, rule=rule):
                continue
        elif not early and "results" in vote:
            continue
        hidden.add(vote.get("id"))
        vote.pop("results", None)
        for ballot in vote.get("ballots") or ():
            if isinstance(ballot, dict):
                ballot.pop("optionId", None)
                ballot.pop("kind", None)
    if hidden:
        for event in doc.get("history") or ():
            # the close-vote result, and the per-option counts of record-votes
            members = (rule.event_details.get(str(event.get("action")))
                       if isinstance(event, dict) else ())
            if (members and isinstance(event.get("details"), dict)
                    and event["details"].get("voteId") in hidden):
                withhold(event, rtype, rule.version)
                for member in members:
                    event["details"].pop(member, None)
    return bool(hidden)
