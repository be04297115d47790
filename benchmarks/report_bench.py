"""``smartcommunity report`` over a city-year of issues, beside a plain-Python aggregation.

    python benchmarks/report_bench.py              # 1,000,000 issues (a few minutes)
    python benchmarks/report_bench.py --issues 100000

Writes a deterministic (seeded) NDJSON file of closed, in-progress and returned issues spread
over twelve months, departments, communities and categories; then, in the same run, times

* ``smartcommunity report`` (a separate process, as a regulator runs it), with its peak memory;
* the same command on a tenth of the input, to show memory does not grow with the input;
* a plain-Python aggregation of the same file: ``json.loads`` per line and dict counters for
  the response and on-time rates by department, the baseline any script would start from.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TZ = timezone(timedelta(hours=8))
DEPARTMENTS = ["urban-management", "housing", "civil-affairs", "public-security", "health",
               "environment", "transport", "water-authority", "gas-company", "market-regulation"]
CATEGORIES = ["environment.garbage", "housing.repair", "housing.lift", "utilities.gas",
              "utilities.water", "traffic.parking", "public-order.noise", "health.clinic"]
COMMUNITIES = [f"110105{d:03d}{c:03d}" for d in range(1, 21) for c in range(1, 26)]


def _at(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def issue(i: int, rnd: random.Random) -> dict[str, Any]:
    """One issue of 2026: dispatched, mostly claimed and completed, some returned and reassigned,
    some extended, reopened or excluded; follow-ups with ratings."""
    start = datetime(2026, 1, 1, 8, tzinfo=TZ) + timedelta(minutes=rnd.randrange(365 * 24 * 60))
    dept = rnd.choice(DEPARTMENTS)
    lead_id = f"00000000-0000-4000-8000-{i:012d}"
    assignments: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    doc: dict[str, Any] = {
        "resourceType": "Issue", "specVersion": "1.0", "id": f"00000000-0000-4000-9000-{i:012d}",
        "requestType": "help", "category": rnd.choice(CATEGORIES), "urgency": "normal",
        "communityDivisionCode": rnd.choice(COMMUNITIES), "submittedAt": _at(start),
        "status": "in-progress", "assignments": assignments, "history": history,
        "deadlines": {"responseDue": _at(start + timedelta(hours=24)),
                      "resolutionDue": _at(start + timedelta(days=15))}}
    assigned = start + timedelta(minutes=rnd.randrange(10, 180))
    if rnd.random() < 0.08:  # returned, then reassigned
        back = assigned + timedelta(hours=rnd.randrange(1, 30))
        assignments.append({"id": f"00000000-0000-4000-7000-{i:012d}",
                            "department": {"id": dept}, "role": "lead", "status": "reassigned",
                            "assignedAt": _at(assigned), "returnedAt": _at(back),
                            "returnReason": "not-in-remit", "reassignedTo": lead_id})
        dept, assigned = rnd.choice(DEPARTMENTS), back + timedelta(minutes=30)
    lead: dict[str, Any] = {"id": lead_id, "department": {"id": dept}, "role": "lead",
                            "status": "dispatched", "assignedAt": _at(assigned),
                            "dueAt": _at(assigned + timedelta(days=10))}
    assignments.append(lead)
    if rnd.random() < 0.95:
        lead["status"] = "accepted"
        lead["acceptedAt"] = _at(assigned + timedelta(hours=rnd.expovariate(1 / 10)))
    if rnd.random() < 0.1:
        doc["deadlines"]["extensions"] = [{
            "previousDue": lead["dueAt"], "newDue": _at(assigned + timedelta(days=20)),
            "reason": "complex-case", "at": _at(assigned + timedelta(days=5)),
            "requestedBy": {"role": "department"}, "approvedBy": {"role": "supervisor"}}]
    if "acceptedAt" in lead and rnd.random() < 0.85:
        done = assigned + timedelta(hours=rnd.expovariate(1 / 150))
        lead.update(status="completed", completedAt=_at(done))
        doc.update(status="closed", resolution="fixed")
        reached = rnd.random() < 0.8
        follow: dict[str, Any] = {"id": f"00000000-0000-4000-a000-{i:012d}",
                                  "at": _at(done + timedelta(days=1)), "assignmentId": lead_id,
                                  "contactResult": "reached" if reached else "unreachable"}
        if reached:
            rating = rnd.choices([1, 2, 3, 4, 5], [4, 6, 15, 35, 40])[0]
            follow.update(perceivedResolution="resolved" if rating >= 3 else "not-resolved",
                          rating=rating)
        doc["followUps"] = [follow]
        if rnd.random() < 0.03:
            history.append({"seq": 1, "at": _at(done + timedelta(days=2)), "action": "reopen",
                            "reason": "reporter-unsatisfied"})
    if rnd.random() < 0.01:
        doc["assessmentExclusions"] = [{"id": f"00000000-0000-4000-b000-{i:012d}",
                                        "reason": "force-majeure", "at": _at(assigned),
                                        "approvedBy": {"role": "regulator"}}]
    return doc


def generate(path: Path, count: int, seed: int = 2026) -> None:
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(count):
            fh.write(json.dumps(issue(i, rnd), ensure_ascii=False, separators=(",", ":")))
            fh.write("\n")


def plain_python(path: Path) -> tuple[float, float, int]:
    """The baseline: json per line, dict counters, two rates by department and month."""
    start, cpu = time.perf_counter(), time.process_time()
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            due = doc.get("deadlines", {}).get("responseDue", "")
            for a in doc.get("assignments", ()):
                if a.get("role") != "lead":
                    continue
                slot = counts[(a["department"]["id"], a["assignedAt"][:7])]
                slot[0] += 1
                slot[1] += "acceptedAt" in a and a["acceptedAt"] <= due
                if a.get("status") == "completed":
                    slot[2] += 1
                    slot[3] += a["completedAt"] <= a.get("dueAt", "9")
    return time.perf_counter() - start, time.process_time() - cpu, len(counts)


def report(path: Path, out: Path, engine: str = "auto") -> tuple[float, float, float]:
    """Seconds, processor seconds (all threads) and peak resident memory (MB) of
    ``smartcommunity report`` on ``path``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    script = ("import resource, sys; from smartcommunity.cli import run; code = run(sys.argv[1:]);"
              "u = resource.getrusage(resource.RUSAGE_SELF);"
              "print(u.ru_utime + u.ru_stime, u.ru_maxrss, file=sys.stderr);"
              "sys.exit(code)")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, "report", "--input", str(path),
                           "--period", "2026-11", "--out", str(out), "--quiet",
                           "--engine", engine],
                          env=env, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    cpu, peak_kb = done.stderr.strip().splitlines()[-1].split()
    return seconds, float(cpu), int(peak_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=1_000_000)
    parser.add_argument("--python", action="store_true",
                        help="also time the streaming engine (--engine python) on the input")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        big, small = folder / "issues.ndjson", folder / "tenth.ndjson"
        start = time.perf_counter()
        generate(big, args.issues)
        generate(small, max(args.issues // 10, 1), seed=7)
        mb = big.stat().st_size / 1e6
        print(f"generated {args.issues:,} issues ({mb:,.0f} MB) in "
              f"{time.perf_counter() - start:.1f} s; load average {os.getloadavg()[0]:.1f}")
        base_s, base_cpu, groups = plain_python(big)
        print(f"plain Python (json + dicts, 2 rates × department × month): {base_s:6.1f} s "
              f"(CPU {base_cpu:.1f} s) {args.issues / base_s:>10,.0f} issues/s "
              f"({groups} groups)")
        seconds, cpu, peak = report(big, folder / "out")
        print(f"smartcommunity report (8 indicators × 4 dimensions × month, 4 files): "
              f"{seconds:6.1f} s (CPU {cpu:.1f} s) {args.issues / seconds:>10,.0f} issues/s, "
              f"peak {peak:,.0f} MB")
        small_s, small_cpu, small_peak = report(small, folder / "out-small")
        print(f"smartcommunity report on a tenth of the input: {small_s:6.1f} s "
              f"(CPU {small_cpu:.1f} s), peak {small_peak:,.0f} MB")
        if args.python:
            py_s, py_cpu, py_peak = report(big, folder / "out-python", "python")
            print(f"smartcommunity report --engine python: {py_s:6.1f} s (CPU {py_cpu:.1f} s), "
                  f"peak {py_peak:,.0f} MB")
        figures = json.loads((folder / "out" / "figures.json").read_text("utf-8"))
        print(f"figures written: {len(figures['figures']):,}; load average "
              f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
