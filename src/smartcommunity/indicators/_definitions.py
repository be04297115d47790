"""Indicator definitions read from the spec's ``indicators.json`` and a city profile.

The spec names the facts of a case and defines each indicator over them; a profile may add
targets and indicators of its own built from the same facts (/req/profiles/indicators).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jsonschema

from ..exceptions import IndicatorError
from ..specification import DEFAULT_VERSION, Spec, load_spec

if TYPE_CHECKING:
    from ..profiles import Profile

__all__ = ["Condition", "Definitions", "Fact", "Indicator", "load_definitions"]

_FILE = "indicators.json"
_META = "meta/indicators.json"


@dataclass(frozen=True, slots=True)
class Fact:
    """One property of a case read from the issue, and the moment it belongs to."""

    id: str
    type: str
    moment: str
    title: Mapping[str, str]
    description: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Condition:
    """A test of one fact: ``equals``, ``in``, ``atLeast`` or ``atMost``."""

    fact: str
    op: str
    value: Any

    def holds(self, facts: Mapping[str, Any]) -> bool:
        seen = facts.get(self.fact)
        if seen is None:
            return False
        if self.op == "equals":
            return bool(seen == self.value)
        if self.op == "in":
            return bool(seen in self.value)
        if isinstance(seen, bool) or not isinstance(seen, int | float):
            return False
        return bool(seen >= self.value if self.op == "atLeast" else seen <= self.value)


@dataclass(frozen=True, slots=True)
class Indicator:
    """One named, versioned indicator: a ratio, mean or sum over the cases of a period."""

    id: str
    version: str
    kind: str
    unit: str
    better: str
    moment: str
    title: Mapping[str, str]
    description: Mapping[str, str]
    denominator: tuple[Condition, ...]
    numerator: tuple[Condition, ...] = ()
    measure: str | None = None
    target: float | None = None
    source: str = "spec"

    def counts(self, facts: Mapping[str, Any]) -> bool:
        return all(c.holds(facts) for c in self.denominator)

    def meets(self, facts: Mapping[str, Any]) -> bool:
        return all(c.holds(facts) for c in self.numerator)

    @property
    def raw(self) -> dict[str, Any]:
        """The definition as the spec writes it (for reports and ``GET /indicators``)."""
        out: dict[str, Any] = {
            "id": self.id, "version": self.version, "kind": self.kind, "unit": self.unit,
            "better": self.better, "moment": self.moment, "title": dict(self.title),
            "description": dict(self.description), "source": self.source,
            "denominator": [{"fact": c.fact, c.op: c.value} for c in self.denominator]}
        if self.numerator:
            out["numerator"] = [{"fact": c.fact, c.op: c.value} for c in self.numerator]
        if self.measure:
            out["measure"] = self.measure
        if self.target is not None:
            out["target"] = self.target
        return out


@dataclass(frozen=True, slots=True)
class Definitions:
    """The facts, indicators and dimensions in force: the spec's, plus a profile's."""

    version: str
    facts: Mapping[str, Fact]
    indicators: tuple[Indicator, ...]
    dimensions: tuple[Mapping[str, Any], ...]

    def indicator(self, ident: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == ident:
                return ind
        raise KeyError(ident)


def _conditions(raw: Any) -> tuple[Condition, ...]:
    out = []
    for cond in raw or ():
        op = next(k for k in cond if k != "fact")
        out.append(Condition(cond["fact"], op, cond[op]))
    return tuple(out)


def _indicator(raw: Mapping[str, Any], target: float | None, source: str) -> Indicator:
    return Indicator(
        id=raw["id"], version=raw["version"], kind=raw["kind"], unit=raw["unit"],
        better=raw["better"], moment=raw["moment"], title=raw["title"],
        description=raw["description"], denominator=_conditions(raw["denominator"]),
        numerator=_conditions(raw.get("numerator")), measure=raw.get("measure"),
        target=target if target is not None else raw.get("target"), source=source)


def _read(spec: Spec) -> dict[str, Any]:
    path = spec.folder / _FILE
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndicatorError(f"{_FILE} of spec {spec.version} cannot be read: {exc}") from exc
    return data


def profile_errors(spec: Spec, added: list[Any], targets: Mapping[str, Any],
                     namespace: str) -> list[str]:
    """What is wrong with a profile's added indicators and targets (/req/profiles/indicators),
    each as ``"<id>: <why>"``; empty when they can be used."""
    data = _read(spec)
    facts = {f["id"] for f in data["facts"]}
    own = {i["id"] for i in data["indicators"]}
    validator = jsonschema.Draft202012Validator(
        {"$ref": spec.schema_uri(_META) + "#/$defs/indicator"}, registry=spec.registry)
    problems: list[str] = []
    for raw in added:
        ident = raw.get("id") if isinstance(raw, dict) else None
        errors = sorted(e.message for e in validator.iter_errors(raw))
        if errors:
            problems.append(f"{ident}: {errors[0]}")
            continue
        if ident in own:
            problems.append(f"{ident}: reuses the id of a specification indicator")
        elif not str(ident).startswith(namespace + "."):
            problems.append(f"{ident}: does not start with the namespace {namespace}.")
        used = [c["fact"] for part in ("denominator", "numerator") for c in raw.get(part, ())]
        used += [raw["measure"]] if "measure" in raw else []
        problems += [f"{ident}: names the unknown fact {f}" for f in used if f not in facts]
    known = own | {r.get("id") for r in added if isinstance(r, dict)}
    problems += [f"{t}: a target for an indicator nobody defines" for t in targets
                 if t not in known]
    return problems


def load_definitions(profile: Profile | None = None, *, version: str | None = None
                     ) -> Definitions:
    """The spec's indicator definitions, with a profile's targets and added indicators.

    Raises :class:`~smartcommunity.exceptions.IndicatorError` when the profile's additions
    break /req/profiles/indicators.
    """
    spec = profile.spec if profile is not None else load_spec(version or DEFAULT_VERSION)
    data = _read(spec)
    section: Mapping[str, Any] = (profile.data.get("indicators") or {}) if profile else {}
    targets: Mapping[str, Any] = section.get("targets") or {}
    added: list[Any] = list(section.get("definitions") or ())
    if profile is not None:
        problems = profile_errors(spec, added, targets, profile.namespace)
        if problems:
            raise IndicatorError("the profile's indicators cannot be used: " + "; ".join(problems))
    facts = {f["id"]: Fact(f["id"], f["type"], f["moment"], f["title"], f["description"])
             for f in data["facts"]}
    indicators = [_indicator(raw, targets.get(raw["id"]), "spec") for raw in data["indicators"]]
    indicators += [_indicator(raw, targets.get(raw["id"]), "profile") for raw in added]
    return Definitions(data["version"], facts, tuple(indicators), tuple(data["dimensions"]))
