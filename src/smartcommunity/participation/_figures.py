"""Participation figures of one consultation, computed from its opinion and proposal records.

The figures are plain numbers with the counts they come from, so a city's indicator
definitions can name them: opinions per 100 households, the share answered on time, the share
adopted, and participation by channel and by age band — and the same answers counted again
for each channel and each age band (:class:`Answers`), so a city sees whether the paper form,
the door-to-door visit and its oldest residents are answered as well as the app and the young.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .._moments import CHINA_STANDARD_TIME
from ..lifecycle import supporter_of
from ..specification import DEFAULT_VERSION, load_spec
from ._replies import _of, adopted_outcomes, moment

#: age bands (lower bounds in years) residents are counted in
AGE_BANDS = (0, 18, 35, 60, 80)
#: the band of residents whose birth date is not given
NO_BIRTH_DATE = "?"


def age_band(born: date, on: date) -> str:
    """The band of a resident born on ``born`` on the day ``on``: ``"60-79"``, ``"80+"``…"""
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    lower = max(b for b in AGE_BANDS if b <= max(years, 0))
    following = [b for b in AGE_BANDS if b > lower]
    return f"{lower}+" if not following else f"{lower}-{following[0] - 1}"


@dataclass(frozen=True, slots=True)
class Answers:
    """One group's opinions and proposals (one channel's, one age band's) and how they were
    answered."""

    items: int
    opinions: int
    replied: int
    replied_on_time: int
    adopted: int
    #: the group's opinions per 100 of the community's households (None without a count)
    opinions_per_100_households: float | None = None

    @property
    def on_time_share(self) -> float | None:
        """Items answered by their due date, of all the group's items (None without items)."""
        return self.replied_on_time / self.items if self.items else None

    @property
    def adopted_share(self) -> float | None:
        """Replies adopting in whole or in part, of the group's replies (None without any)."""
        return self.adopted / self.replied if self.replied else None


@dataclass(frozen=True, slots=True)
class Participation:
    """What residents said in one consultation and how they were answered."""

    opinions: int
    proposals: int
    supports: int
    #: distinct residents who gave an opinion, made a proposal or supported one
    residents: int
    #: opinions per 100 households (None without a household count)
    opinions_per_100_households: float | None
    #: items with a reply, of them replied by replyDue, and of them adopted in whole or part
    replied: int
    replied_on_time: int
    adopted: int
    #: share of items answered by their due date, and adopted (None when there are none)
    on_time_share: float | None
    adopted_share: float | None
    #: opinions, proposals and supports by channel (offline ones counted like online ones)
    by_channel: Mapping[str, int] = field(default_factory=dict)
    #: distinct residents by age band; NO_BIRTH_DATE when their birth date is not given
    by_age_band: Mapping[str, int] = field(default_factory=dict)
    #: opinions and proposals, and how they were answered, by the channel they came through
    answers_by_channel: Mapping[str, Answers] = field(default_factory=dict)
    #: the same by the age band of whoever gave them (NO_BIRTH_DATE: not known)
    answers_by_age_band: Mapping[str, Answers] = field(default_factory=dict)


def _author(item: Mapping[str, Any]) -> str | None:
    history = item.get("history")
    first = history[0] if isinstance(history, list) and history else None
    return supporter_of(first.get("actor") if isinstance(first, Mapping) else None)


def participation(consultation: Mapping[str, Any], items: Iterable[Mapping[str, Any]], *,
                  households: int | None = None,
                  birth_dates: Mapping[str, date] | None = None,
                  on: date | None = None) -> Participation:
    """The participation figures of ``consultation`` from ``items`` (opinions and proposals;
    others are ignored). ``households``: the community's households; ``birth_dates``:
    resident id → birth date, for the age bands, counted on ``on`` (default today in China
    Standard Time)."""
    spec = load_spec(str(consultation.get("specVersion", DEFAULT_VERSION)))
    mine = [i for i in items if _of(consultation, i)]
    proposals = [i for i in mine if _is_proposal(i)]
    opinions = [i for i in mine if not _is_proposal(i)]
    channels: Counter[str] = Counter()
    people: set[str] = set()
    supports = 0
    for item in mine:
        channels[str(item.get("channel"))] += 1
        author = _author(item)
        if author is not None:
            people.add(author)
    for proposal in proposals:
        for entry in proposal.get("supporters") or ():
            if not isinstance(entry, Mapping):
                continue
            supports += 1
            channels[str(entry.get("channel"))] += 1
            ref = entry.get("resident")
            if isinstance(ref, Mapping) and isinstance(ref.get("id"), str):
                people.add(ref["id"])
    adopting = adopted_outcomes(spec)
    replied = [i for i in mine if isinstance(i.get("reply"), Mapping)]
    on_time = sum(1 for i in replied if _on_time(i))
    adopted = sum(1 for i in replied if i["reply"].get("outcome") in adopting)
    # the day ages are counted on, when none is given: today's date in China
    today = on or datetime.now(CHINA_STANDARD_TIME).date()

    def band(person: str | None) -> str:
        born = (birth_dates or {}).get(person) if person is not None else None
        return age_band(born, today) if born is not None else NO_BIRTH_DATE

    bands: Counter[str] = Counter(band(person) for person in people)
    by_channel: dict[str, list[Mapping[str, Any]]] = {}
    by_band: dict[str, list[Mapping[str, Any]]] = {}
    for item in mine:
        by_channel.setdefault(str(item.get("channel")), []).append(item)
        by_band.setdefault(band(_author(item)), []).append(item)
    return Participation(
        opinions=len(opinions), proposals=len(proposals), supports=supports,
        residents=len(people),
        opinions_per_100_households=(100 * len(opinions) / households
                                     if households else None),
        replied=len(replied), replied_on_time=on_time, adopted=adopted,
        on_time_share=on_time / len(mine) if mine else None,
        adopted_share=adopted / len(replied) if replied else None,
        by_channel=dict(sorted(channels.items())), by_age_band=dict(sorted(bands.items())),
        answers_by_channel={k: _answers(v, adopting, households)
                            for k, v in sorted(by_channel.items())},
        answers_by_age_band={k: _answers(v, adopting, households)
                             for k, v in sorted(by_band.items())})


def _is_proposal(item: Mapping[str, Any]) -> bool:
    # A proposal is the item residents support; an opinion is every other one.
    return "supportDeadline" in item


def _on_time(item: Mapping[str, Any]) -> bool:
    reply = item.get("reply")
    at = moment(reply.get("at")) if isinstance(reply, Mapping) else None
    due = moment(item.get("replyDue"))
    return at is not None and due is not None and at <= due


def _answers(items: list[Mapping[str, Any]], adopting: frozenset[str],
             households: int | None) -> Answers:
    replied = [i for i in items if isinstance(i.get("reply"), Mapping)]
    opinions = sum(1 for i in items if not _is_proposal(i))
    return Answers(items=len(items), opinions=opinions, replied=len(replied),
                   replied_on_time=sum(1 for i in replied if _on_time(i)),
                   adopted=sum(1 for i in replied if i["reply"].get("outcome") in adopting),
                   opinions_per_100_households=(100 * opinions / households
                                                if households else None))
