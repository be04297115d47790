"""Redaction of a page of records, the cost behind every list page and feed page a server sends.

    python benchmarks/redact_bench.py              # 2,000 issues and 500 residents of a city

Generates a small city with ``benchmarks/city.py`` (seeded), then, in the same run, measures
processor time per document of

* ``redact`` for the audiences a list page or the feed serves (community staff, a department,
  the public, a system mirror);
* ``copy.deepcopy`` of the same documents alone: what redaction cost before it copied documents
  through orjson, and the floor it could not go below then.
"""

from __future__ import annotations

import argparse
import copy
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from city import Scale, generate  # noqa: E402

from smartcommunity.privacy import redact  # noqa: E402

AUDIENCES = ("community-staff", "department", "public", "system")


def per_document_us(fn: Callable[[dict[str, Any]], Any], docs: list[dict[str, Any]],
                    rounds: int) -> float:
    """Processor time of ``fn`` per document, the best of ``rounds`` passes (µs)."""
    for doc in docs[:20]:  # compiles the plans and fills the caches first
        fn(doc)
    best = float("inf")
    for _ in range(rounds):
        began = time.process_time()
        for doc in docs:
            fn(doc)
        best = min(best, time.process_time() - began)
    return best / len(docs) * 1e6


def _redact_for(audience: str, doc: dict[str, Any]) -> dict[str, Any]:
    return redact(doc, audience)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--issues", type=int, default=2000)
    parser.add_argument("--residents", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    city = generate(Scale(residents=args.residents, issues=args.issues, consultations=0))
    docs: dict[str, list[dict[str, Any]]] = {"Issue": [], "Resident": []}
    for doc in city:
        if doc.get("resourceType") in docs:
            docs[str(doc["resourceType"])].append(doc)
    for rtype, some in docs.items():
        floor = per_document_us(copy.deepcopy, some, args.rounds)
        print(f"{rtype} ({len(some):,} documents): copy.deepcopy alone {floor:,.0f} µs/document")
        for audience in AUDIENCES:
            took = per_document_us(functools.partial(_redact_for, audience), some, args.rounds)
            print(f"  redact for {audience:16} {took:7,.0f} µs/document "
                  f"({took / floor:.0%} of the deepcopy alone)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
