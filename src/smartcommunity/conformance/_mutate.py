"""Seeded single-change mutants of a valid document, for the no-server-error checks."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

_BAD_VALUES: list[Any] = [None, 12345, -1.5, True, [], {}, "", " padded ", "\u0000", "x" * 5000,
                          "2024-02-30T25:61:00", "no-such-code", [1, [2, [3]]]]


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            found.append((*prefix, k))
            found += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            found.append((*prefix, i))
            found += _paths(v, (*prefix, i))
    return found


def mutants(doc: dict[str, Any], rng: random.Random, count: int) -> Iterator[tuple[str, Any]]:
    """``count`` mutants, each with one change: a value replaced, a member dropped or added."""
    paths = [p for p in _paths(doc) if p[0] not in ("id", "extensions")]
    for _ in range(count):
        mutant = copy.deepcopy(doc)
        path = rng.choice(paths)
        parent: Any = mutant
        for step in path[:-1]:
            parent = parent[step]
        kind = rng.choice(["replace", "replace", "drop", "add"])
        where = "/" + "/".join(map(str, path))
        if kind == "replace":
            value = rng.choice(_BAD_VALUES)
            parent[path[-1]] = value
            yield f"{where} = {str(value)[:20]!r}", mutant
        elif kind == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
            if mutant == doc:
                continue
            yield f"{where} removed", mutant
        else:
            target = parent if isinstance(parent, dict) else mutant
            target["kitUnknownMember"] = rng.choice(_BAD_VALUES)
            yield f"unknown member beside {where}", mutant
