"""Broken variants of GET /indicators (/conf/indicators), one defect each; and of the public
figures' counting, which feeds the same issues to the public."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

import pytest

from reference_server import public
from reference_server.openapi import Parameter
from reference_server.public import PublicPages
from reference_server.service import _indicators
from reference_server.storage import utc_text
from smartcommunity.indicators import Tally
from smartcommunity.lifecycle import _effects

from .mutants import Mutant, any_role_may


def open_to_every_role(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(_indicators, "_may_read", lambda service, principal: True)
    return app


def year_zero_unchecked(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A server whose period check admits any four digits (as the pattern once did) and
    whose month arithmetic then fails on the year 0000."""
    def began(period: str, offset: tzinfo) -> str:  # ValueError for 0000-01: a 500
        return utc_text(datetime.strptime(period, "%Y-%m").replace(tzinfo=offset).isoformat())

    checked = Parameter.problem

    def problem(self: Parameter, value: Any) -> dict[str, str] | None:
        if self.name == "period" and re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", str(value)):
            return None
        return checked(self, value)

    mp.setattr(_indicators, "_month_began", began)
    mp.setattr(Parameter, "problem", problem)
    return app


def _tally_reading(strip: str) -> type[Tally]:
    class Careless(Tally):
        def add(self, issue: Mapping[str, Any]) -> None:
            super().add({k: v for k, v in issue.items() if k != strip})

    return Careless


def follow_ups_uncredited(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(_indicators, "Tally", _tally_reading("followUps"))
    return app


class _Unmoved(Tally):
    """Reads a reassigned task as never ended: no reassign event, no successor named."""

    def add(self, issue: Mapping[str, Any]) -> None:
        history = [h for h in issue.get("history") or ()
                   if not (isinstance(h, Mapping) and h.get("action") == "reassign")]
        assignments = [{k: v for k, v in a.items() if k != "reassignedTo"}
                       if isinstance(a, Mapping) else a for a in issue.get("assignments") or ()]
        super().add({**issue, "history": history, "assignments": assignments})


def reassignment_unended(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(_indicators, "Tally", _Unmoved)
    return app


def exclusions_ignored(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(_indicators, "Tally", _tally_reading("assessmentExclusions"))
    return app


MUTANTS: list[Mutant] = [
    Mutant("indicators-open-to-all", "/req/indicators/endpoint",
           "every role reads GET /indicators, not only the regulator", open_to_every_role),
    Mutant("indicators-year-zero-500", "/req/indicators/endpoint",
           "GET /indicators?period=0000-01 fails with a 500 instead of a 400 naming period",
           year_zero_unchecked),
    Mutant("indicators-follow-ups-uncredited", "/req/indicators/figures",
           "follow-ups are not credited: no resolution or satisfaction figures",
           follow_ups_uncredited),
    Mutant("indicators-reassignment-unended", "/req/indicators/figures",
           "a task reassigned without a return never ends: the extensions of the department "
           "that took it over count for it too", reassignment_unended),
    Mutant("indicators-exclusions-ignored", "/req/indicators/exclusions",
           "approved assessment exclusions are counted anyway", exclusions_ignored),
]


def anyone_excludes(app: Any, mp: pytest.MonkeyPatch) -> Any:
    return any_role_may(app, mp, {"exclude-from-assessment"})


def exclusion_unrecorded(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setitem(_effects._EFFECTS, ("Issue", "exclude-from-assessment"),
               lambda document, event, inputs: None)
    return app


MUTANTS += [
    Mutant("indicators-anyone-excludes", "/req/indicators/exclusion-record",
           "community staff and departments excuse cases from assessment themselves",
           anyone_excludes),
    Mutant("indicators-exclusion-unrecorded", "/req/indicators/exclusion-record",
           "the exclusion action is taken but writes no exclusion record", exclusion_unrecorded),
]


def profile_ignored(app: Any, mp: pytest.MonkeyPatch) -> Any:
    national = _indicators.load_definitions
    mp.setattr(_indicators, "load_definitions",
               lambda profile, version=None: national(None, version=version))
    mp.setattr(_indicators, "Tally", lambda definitions, profile: Tally(definitions))
    return app


MUTANTS += [
    Mutant("indicators-profile-ignored", "/req/profiles/indicator-figures",
           "GET /indicators counts with the national rules though the server runs a profile",
           profile_ignored),
]


def figures_kept_across_a_count(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Every write makes the public figures be counted afresh, and the pages made before the
    count are kept across it with the versions they were made at: served though stale."""
    pages = PublicPages(app.state.sc.service)  # its own: the server's pages stay sound
    follow = pages._follow

    def kept_follow(tx: Any) -> None:
        kept = pages._figures
        follow(tx)
        pages._figures = kept

    pages.followed = 0
    mp.setattr(pages, "_follow", kept_follow)
    mp.setattr(public, "_pages", lambda request: pages)
    return app


MUTANTS += [
    Mutant("public-figures-stale-after-count", "/req/public-pages/small-cells",
           "a month's figures made before a write are served after it, the new issue uncounted",
           figures_kept_across_a_count),
]
