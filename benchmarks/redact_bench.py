"""Redaction of a page of records, the cost behind every list page and feed page a server sends.

    python benchmarks/redact_bench.py              # 2,000 issues and 500 residents of a city
    python benchmarks/redact_bench.py --callgrind  # instructions per issue redacted (valgrind)

Generates a small city with ``benchmarks/city.py`` (seeded), then, in the same run, measures
processor time per document of

* ``redact`` for the audiences a list page or the feed serves (community staff, a department,
  the public, a system mirror);
* ``copy.deepcopy`` of the same documents alone: what redaction cost before it copied documents
  through orjson, and the floor it could not go below then.

``--callgrind`` counts instead the instructions of redacting an issue in place (``copy=False``,
as a server redacts the row it has just parsed) for each audience, with valgrind's callgrind
(``PYTHONHASHSEED=0``): a run redacting 200 issues less one redacting none, divided by 200.
Stable on a busy machine, so two versions compare (run the script of each checkout).
"""

from __future__ import annotations

import argparse
import copy
import functools
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from city import Scale, generate  # noqa: E402
from timing import callgrind_instructions, count_from_here  # noqa: E402

from smartcommunity.privacy import redact  # noqa: E402

AUDIENCES = ("community-staff", "department", "regulator", "public", "system")
#: issues redacted in a counted run
COUNTED = 200


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


def _issues(count: int) -> list[dict[str, Any]]:
    city = generate(Scale(residents=max(count // 4, 10), issues=count, consultations=0))
    return [d for d in city if d.get("resourceType") == "Issue"][:count]


def _callgrind_child(audience: str, calls: int) -> None:
    """Parse ``COUNTED`` issues (plus some to warm the caches on), then redact ``calls`` of
    them in place: the only part that differs between the two runs the parent subtracts."""
    import orjson

    texts = [orjson.dumps(d) for d in _issues(COUNTED + 20)]
    for text in texts[-20:]:
        redact(orjson.loads(text), audience, copy=False)
    docs = [orjson.loads(text) for text in texts[:calls]]
    count_from_here()
    for doc in docs:
        redact(doc, audience, copy=False)


def callgrind() -> None:
    print(f"instructions per issue redacted in place (callgrind; {COUNTED} issues less none)")
    with tempfile.TemporaryDirectory() as tmp:
        for audience in AUDIENCES:
            runs = [callgrind_instructions([__file__, "--callgrind-child", audience, str(n)],
                                           Path(tmp) / f"{audience}-{n}.out")
                    for n in (0, COUNTED)]
            print(f"  {audience:16} {(runs[1] - runs[0]) / COUNTED:12,.0f}", flush=True)


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--callgrind-child":
        _callgrind_child(sys.argv[2], int(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--issues", type=int, default=2000)
    parser.add_argument("--residents", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--callgrind", action="store_true",
                        help="count instructions per issue redacted instead (valgrind)")
    args = parser.parse_args()
    if args.callgrind:
        callgrind()
        return 0
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
