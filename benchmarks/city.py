"""A whole city's data, generated: deterministic, seeded, valid, as NDJSON for ``smartcommunity
import``.

The city has districts, streets, communities and grids; each community has its residents'
committee and property company, the city its departments; residents belong to a community and
a grid; issues are spread over three years in every status of the issue lifecycle, each with the
history that led there (made by the lifecycle itself, so it validates); consultations come from
the spec's examples. Every record is a spec example or a lifecycle walk from one, re-identified
and moved to its community and its day, so the data is as rich as the examples and costs a few
microseconds a record to make.

    python benchmarks/city.py --residents 1000000 --issues 3000000 --out city/
    smartcommunity import --ndjson city/ --database-url postgresql+psycopg://…

The same seed and scale give the same bytes.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import random
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from smartcommunity.lifecycle import apply_action
from smartcommunity.specification import load_spec

__all__ = ["City", "Scale", "community_codes", "generate", "issue_templates", "write"]

#: the examples' community, grid prefix and committee, replaced by each record's own, and
#: their neighbouring community, replaced by the next one of the city
_COMMUNITY = "110105001001"
_NEIGHBOUR = "110105001002"
_COMMITTEE = "rc-xingfuli"
#: what :meth:`City._placed` rewrites: a grid of the examples' community, the neighbour, the
#: committee, the community
_PLACES = re.compile(f"{_COMMUNITY}-(\\d\\d)|{_NEIGHBOUR}|{_COMMITTEE}|{_COMMUNITY}")
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?\+08:00")
#: the first day of the three years the issues are spread over
_EPOCH = datetime.fromisoformat("2023-01-01T00:00:00+08:00")
_DAYS = 3 * 365


@dataclass(frozen=True, slots=True)
class Scale:
    """How big the city is; by default a community has about 2,000 residents."""

    residents: int = 1_000_000
    issues: int = 3_000_000
    consultations: int | None = None  # default: one per 1,000 issues, at least 4
    seed: int = 20261203
    communities: int | None = None

    @property
    def community_count(self) -> int:
        if self.communities is not None:
            return self.communities
        return max(2, self.residents // 2000)

    @property
    def consultation_count(self) -> int:
        if self.consultations is not None:
            return self.consultations
        return max(4, self.issues // 1000)


def community_codes(count: int) -> list[str]:
    """12-digit division codes: districts of 8 streets, streets of 12 communities (Beijing's
    110101… district codes, streets numbered 001…, communities 001…)."""
    codes = []
    for n in range(count):
        street, community = divmod(n, 12)
        district, street = divmod(street, 8)
        codes.append(f"1101{district + 1:02d}{street + 1:03d}{community + 1:03d}")
    return codes


# -- the issue lifecycle, walked from the submitted example -----------------------------------
_STAFF = {"role": "community-staff", "name": "刘芳", "userId": "cs-0102",
          "organisation": {"id": _COMMITTEE, "name": "幸福里社区居民委员会",
                           "type": "residents-committee", "divisionCode": _COMMUNITY}}
_DEPARTMENT = {"id": "urban-management", "name": "朝阳区城市管理委员会",
               "type": "government-department"}
_HANDLER = {"role": "department", "name": "陈磊", "userId": "cgw-0452",
            "organisation": _DEPARTMENT}
_LEAD = "9a1d3c52-0b6e-4f57-8d0e-6b1c2f3a4d5e"

#: (name, the steps from "submitted": action, actor, minutes after submission, details)
_PATHS: tuple[tuple[str, tuple[tuple[str, Mapping[str, Any], int, dict[str, Any]], ...]], ...] = (
    ("submitted", ()),
    ("accepted", (("accept", _STAFF, 40, {}),)),
    ("dispatched", (("accept", _STAFF, 40, {}),
                    ("dispatch", _STAFF, 75, {"lead": _LEAD,
                                               "dueAt": "2025-06-23T18:00:00+08:00"}))),
    ("in-progress", (("accept", _STAFF, 40, {}),
                     ("dispatch", _STAFF, 75, {"lead": _LEAD,
                                                "dueAt": "2025-06-23T18:00:00+08:00"}),
                     ("claim", _HANDLER, 150, {"assignmentId": _LEAD}),
                     ("add-progress", _HANDLER, 1500,
                      {"message": "已联系物业清理通道，正在劝离车辆。"}))),
    ("resolved", (("accept", _STAFF, 40, {}),
                  ("dispatch", _STAFF, 75, {"lead": _LEAD, "dueAt": "2025-06-23T18:00:00+08:00"}),
                  ("claim", _HANDLER, 150, {"assignmentId": _LEAD}),
                  ("resolve", _HANDLER, 4300, {"resolution": "fixed",
                                               "reply": "通道已清理，加装了禁停标识和隔离桩。"}))),
    ("closed", (("accept", _STAFF, 40, {}),
                ("dispatch", _STAFF, 75, {"lead": _LEAD, "dueAt": "2025-06-23T18:00:00+08:00"}),
                ("claim", _HANDLER, 150, {"assignmentId": _LEAD}),
                ("resolve", _HANDLER, 4300, {"resolution": "fixed",
                                             "reply": "通道已清理，加装了禁停标识和隔离桩。"}),
                ("close", _STAFF, 10080, {}))),
    ("rejected", (("reject-intake", _STAFF, 30,
                   {"reply": "该位置属于市政道路，已告知可拨打12345反映。"}),)),
    ("withdrawn", (("withdraw", {"role": "grid-worker", "name": "张伟", "userId": "gw-0317",
                                 "organisation": _STAFF["organisation"]}, 20, {}),)),
)
#: how often each path is drawn: most issues of a three-year city are closed
_WEIGHTS = {"submitted": 3, "accepted": 2, "dispatched": 3, "in-progress": 6, "resolved": 4,
            "closed": 70, "rejected": 6, "withdrawn": 6}


#: how often a code is drawn, for the codes a city sees far more often than others (the rest
#: weigh 1): critical issues are rare, most come through the 12345 hotline
_SKEW = {
    "urgency": {"normal": 170, "urgent": 26, "critical": 4},
    "request-type": {"complaint": 35, "help": 25, "inquiry": 20, "suggestion": 10, "report": 7,
                     "praise": 3},
    "intake-channel": {"hotline-12345": 80, "mini-program": 40, "app": 20, "grid-patrol": 24,
                       "wechat": 10, "phone": 10, "walk-in": 8},
}


class _Draw:
    """Codes of one codelist drawn with the city's weights."""

    def __init__(self, codes: list[str], weights: Mapping[str, int]) -> None:
        self.codes = codes
        self.cumulative = list(itertools.accumulate(weights.get(c, 1) for c in codes))

    def __call__(self, rng: random.Random) -> str:
        return rng.choices(self.codes, cum_weights=self.cumulative)[0]


def issue_templates() -> dict[str, dict[str, Any]]:
    """One issue per path through the lifecycle, from the submitted example, by name."""
    spec = load_spec()
    base = next(doc for _, doc in spec.examples()
                if doc["resourceType"] == "Issue" and doc["status"] == "submitted")
    submitted = datetime.fromisoformat(base["submittedAt"])
    out: dict[str, dict[str, Any]] = {}
    for name, steps in _PATHS:
        doc = copy.deepcopy(base)
        for action, actor, minutes, details in steps:
            at = (submitted + timedelta(minutes=minutes)).isoformat()
            inputs = {"assignments": [{"id": _LEAD, "department": _DEPARTMENT}]}
            doc = apply_action(doc, action, actor=actor, at=at, details=details or None,
                               inputs=inputs).document
        history = doc["history"]
        doc["meta"] = {**doc["meta"], "versionId": str(len(history)),
                       "lastUpdated": history[-1]["at"]}
        out[name] = doc
    # The examples that took other roads (a reassignment and extension, a merged duplicate).
    for _, doc in spec.examples():
        if doc["resourceType"] == "Issue" and doc["status"] != "submitted":
            out[f"example-{doc['id'][:8]}"] = doc
    return out


class _Template:
    """A document as text with its timestamps and identities marked for substitution."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        text = orjson.dumps(doc).decode()
        self.first = datetime.fromisoformat(min(_STAMP.findall(text)))
        self.text = text
        self._shifted: dict[int, str] = {}

    def on_day(self, day: int) -> str:
        """The text moved so that its first moment falls on ``day`` after the epoch (same
        time of day); cached, as a city has only so many days."""
        text = self._shifted.get(day)
        if text is None:
            delta = (_EPOCH + timedelta(days=day)).date() - self.first.date()
            shift = timedelta(days=delta.days)

            def moved(m: re.Match[str]) -> str:
                return (datetime.fromisoformat(m.group(0)) + shift).isoformat()

            text = _STAMP.sub(moved, self.text)
            self._shifted[day] = text
        return text


class City:
    """The generator for one :class:`Scale`; iterate a kind of record with its method."""

    def __init__(self, scale: Scale) -> None:
        self.scale = scale
        self.codes = community_codes(scale.community_count)
        self._next = dict(zip(self.codes, self.codes[1:] + self.codes[:1], strict=True))
        spec = load_spec()
        self.examples = [doc for _, doc in spec.examples()]
        names = list(issue_templates().items())
        self.issue_names = [n for n, _ in names]
        self.issues_by_name = {n: _Template(d) for n, d in names}
        weights = [_WEIGHTS.get(n, 1) for n in self.issue_names]
        self._issue_weights = weights
        codelists = spec.codelists
        #: the latest issue of each community, that a consultation may be escalated from
        self._recent: dict[str, str] = {}
        self.draws = {name: _Draw(_codes(codelists, name), _SKEW.get(name, {}))
                      for name in ("urgency", "request-type", "intake-channel")}
        # Sub-categories; the groups listed first (environment, housing …) are the commoner,
        # a long tail as in a city's records.
        leaves = [c for c in _codes(codelists, "issue-category") if "." in c]
        groups = list(dict.fromkeys(c.split(".")[0] for c in leaves))
        self.draws["issue-category"] = _Draw(
            leaves, {c: len(groups) - groups.index(c.split(".")[0]) for c in leaves})

    # -- identities ------------------------------------------------------------------------
    @staticmethod
    def _uuid(rng: random.Random) -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def _rng(self, kind: str) -> random.Random:
        return random.Random(f"{self.scale.seed}:{kind}")

    def _placed(self, text: str, code: str, grid: int | None) -> str:
        """``text`` moved to community ``code`` (and, with ``grid``, into that grid)."""
        # One pass: a code written in is never read again (a city of more than 96 communities
        # has one whose code is the examples' neighbour).
        new = {_NEIGHBOUR: self._next[code], _COMMITTEE: f"rc-{code}", _COMMUNITY: code}

        def place(found: re.Match[str]) -> str:
            if found[1] is not None:  # a grid of the examples' community
                return f"{code}-{grid:02d}" if grid is not None else f"{code}-{found[1]}"
            return new[found[0]]

        return _PLACES.sub(place, text)

    # -- records ---------------------------------------------------------------------------
    def organisations(self) -> Iterator[dict[str, Any]]:
        """The city's departments once, and each community's own organisations."""
        local = [d for d in self.examples if d["resourceType"] == "Organisation"
                 and _COMMUNITY in orjson.dumps(d).decode()]
        city = [d for d in self.examples if d["resourceType"] == "Organisation"
                and d not in local]
        yield from (copy.deepcopy(d) for d in city)
        rng = self._rng("organisations")
        for code in self.codes:
            for doc in local:
                text = self._placed(orjson.dumps(doc).decode(), code, None)
                new = orjson.loads(text)
                if new["id"] != f"rc-{code}":
                    new["id"] = self._uuid(rng)
                yield new

    def residents(self) -> Iterator[dict[str, Any]]:
        rng = self._rng("residents")
        templates = [orjson.dumps(d).decode() for d in self.examples
                     if d["resourceType"] == "Resident" and d.get("status") == "active"
                     and not d.get("proxies")]
        for n in range(self.scale.residents):
            code = self.codes[n % len(self.codes)]
            doc = orjson.loads(self._placed(rng.choice(templates), code, rng.randint(1, 12)))
            doc["id"] = self._uuid(rng)
            for item in doc.get("identityDocuments") or ():
                # A number of the record's own, known only by its pseudonym and mask.
                item.pop("number", None)
                if "pseudonym" in item:
                    item["pseudonym"] = f"hmac-sha256:{rng.getrandbits(256):064x}"
            yield doc

    def issues(self) -> Iterator[dict[str, Any]]:
        rng = self._rng("issues")
        for _ in range(self.scale.issues):
            name = rng.choices(self.issue_names, self._issue_weights)[0]
            template = self.issues_by_name[name]
            text = template.on_day(rng.randrange(_DAYS))
            code = rng.choice(self.codes)
            doc = orjson.loads(self._placed(text, code, rng.randint(1, 12)))
            doc["id"] = self._uuid(rng)
            doc["urgency"] = self.draws["urgency"](rng)
            doc["requestType"] = self.draws["request-type"](rng)
            doc["intakeChannel"] = self.draws["intake-channel"](rng)
            doc["category"] = self.draws["issue-category"](rng)
            self._recent[code] = doc["id"]
            yield doc

    def consultations(self) -> Iterator[dict[str, Any]]:
        rng = self._rng("consultations")
        templates = [orjson.dumps(d).decode() for d in self.examples
                     if d["resourceType"] == "Consultation"]
        for _ in range(self.scale.consultation_count):
            code = rng.choice(self.codes)
            doc = orjson.loads(self._placed(rng.choice(templates), code, None))
            doc["id"] = self._uuid(rng)
            escalated = (doc.get("origin") or {}).get("issues") or ()
            if escalated and code in self._recent:
                # Escalated from the latest issue of its community (once issues are made).
                escalated[0]["id"] = self._recent[code]
                del escalated[1:]
            yield doc

    def kinds(self) -> dict[str, Callable[[], Iterator[dict[str, Any]]]]:
        """Each kind of record by file name, in the order to import them."""
        return {"organisations": self.organisations, "residents": self.residents,
                "issues": self.issues, "consultations": self.consultations}


def _codes(codelists: Mapping[str, Any], name: str) -> list[str]:
    return [str(code) for code in codelists[name]]


def generate(scale: Scale) -> Iterator[dict[str, Any]]:
    """Every record of the city, in import order."""
    for make in City(scale).kinds().values():
        yield from make()


def write(scale: Scale, out: Path,
          progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Write ``<kind>.ndjson`` files into ``out`` (prefixed 1-, 2- … to sort in import
    order); how many records of each kind."""
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for i, (kind, make) in enumerate(City(scale).kinds().items(), 1):
        n = 0
        with (out / f"{i}-{kind}.ndjson").open("wb") as fh:
            for doc in make():
                fh.write(orjson.dumps(doc) + b"\n")
                n += 1
                if progress and n % 100_000 == 0:
                    progress(kind, n)
        counts[kind] = n
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    default = Scale()
    parser.add_argument("--residents", type=int, default=default.residents)
    parser.add_argument("--issues", type=int, default=default.issues)
    parser.add_argument("--consultations", type=int, default=None)
    parser.add_argument("--seed", type=int, default=default.seed)
    parser.add_argument("--communities", type=int, default=None,
                        help="communities (default: one per 2,000 residents)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the NDJSON files")
    args = parser.parse_args(argv)
    scale = Scale(args.residents, args.issues, args.consultations, args.seed,
                  args.communities)
    started = time.perf_counter()
    counts = write(scale, args.out, lambda kind, n: print(f"  {kind}: {n:,}", file=sys.stderr))
    seconds = time.perf_counter() - started
    total = sum(counts.values())
    print(f"{total:,} records ({', '.join(f'{v:,} {k}' for k, v in counts.items())}) over "
          f"{scale.community_count:,} communities in {seconds:.1f} s → {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
