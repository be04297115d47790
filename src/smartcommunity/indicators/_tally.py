"""Streaming aggregation: one pass over issues, memory bounded by the groups, not the input."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._cases import DEFAULT_CALENDAR, RESOURCE_TYPE, Case, cases
from ._definitions import Definitions, Indicator, load_definitions

if TYPE_CHECKING:
    from ..profiles import Profile

__all__ = ["DIMENSIONS", "Figure", "Tally", "compute"]

#: the dimensions every figure is given by (``dimensions`` of indicators.json)
DIMENSIONS = ("department", "community", "category", "city")


@dataclass(frozen=True, slots=True)
class Figure:
    """One indicator's value for one period and one member of a dimension."""

    indicator: str
    version: str
    period: str
    dimension: str
    key: str
    numerator: float
    denominator: int
    value: float | None

    def as_json(self) -> dict[str, Any]:
        return {"indicator": self.indicator, "version": self.version, "period": self.period,
                "dimension": self.dimension, "key": self.key, "numerator": self.numerator,
                "denominator": self.denominator, "value": self.value}


def _value(ind: Indicator, numerator: float, denominator: int) -> float | None:
    if ind.kind == "sum":
        return numerator
    if denominator == 0:
        return None
    if ind.kind == "ratio":
        return round(100.0 * numerator / denominator, 2)
    return round(numerator / denominator, 2)


@dataclass
class Tally:
    """Counts per (indicator, period, dimension, key); feed it issues with :meth:`add`."""

    definitions: Definitions
    profile: Profile | None = None
    #: the issue documents read
    issues: int = 0
    cases: int = 0
    _counts: dict[tuple[str, str, str, str], list[float]] = field(default_factory=dict)

    def add(self, issue: Mapping[str, Any]) -> None:
        """Count the cases of one document (of any type: only issues have cases)."""
        self.issues += issue.get("resourceType") == RESOURCE_TYPE
        for case in cases(issue, self.profile):
            self.add_case(case)

    def add_case(self, case: Case) -> None:
        self.cases += 1
        offset = (self.profile.calendar if self.profile is not None else DEFAULT_CALENDAR).offset
        for ind in self.definitions.indicators:
            moment = case.moments.get(ind.moment)
            if moment is None or case.excluded_from(ind.id) or not ind.counts(case.facts):
                continue
            if ind.kind == "ratio":
                gained: float = 1 if ind.meets(case.facts) else 0
            else:
                measured = case.facts.get(ind.measure or "")
                if isinstance(measured, bool) or not isinstance(measured, int | float):
                    continue
                gained = measured
            local = moment.astimezone(offset)
            period = f"{local.year:04d}-{local.month:02d}"
            for dim in DIMENSIONS:
                slot = self._counts.setdefault(
                    (ind.id, period, dim, case.dimensions[dim]), [0.0, 0])
                slot[0] += gained
                slot[1] += 1

    def document(self, period: str, *, every_period: bool = False) -> dict[str, Any]:
        """The figures of ``period`` (or of every period) with the definitions they follow,
        as ``GET /indicators`` answers and ``figures.json`` records them."""
        return {
            "period": period,
            "definitionsVersion": self.definitions.version,
            "profile": self.profile.id if self.profile is not None else None,
            "indicators": [ind.raw for ind in self.definitions.indicators],
            "figures": [f.as_json() for f in self.figures(None if every_period else period)],
        }

    def figures(self, period: str | None = None) -> list[Figure]:
        """Every figure, or those of one ``YYYY-MM`` period, in a stable order."""
        order = {ind.id: i for i, ind in enumerate(self.definitions.indicators)}
        out = []
        for (ident, when, dim, key), (num, den) in self._counts.items():
            if period is not None and when != period:
                continue
            ind = self.definitions.indicators[order[ident]]
            num = int(num) if float(num).is_integer() else round(num, 4)
            out.append(Figure(ident, ind.version, when, dim, key, num, int(den),
                              _value(ind, num, int(den))))
        out.sort(key=lambda f: (order[f.indicator], f.period, DIMENSIONS.index(f.dimension),
                                f.key))
        return out

    def periods(self) -> list[str]:
        return sorted({k[1] for k in self._counts})


def compute(issues: Iterable[Mapping[str, Any]], profile: Profile | None = None,
            *, period: str | None = None, definitions: Definitions | None = None
            ) -> list[Figure]:
    """Every indicator over ``issues`` by department, community, category and the city."""
    tally = Tally(definitions or load_definitions(profile), profile)
    for issue in issues:
        tally.add(issue)
    return tally.figures(period)
