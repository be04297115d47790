"""Benchmark of the public pages with 100,000 issues in the store, on 127.0.0.1 only.

    .venv/bin/python benchmarks/public_bench.py [--issues 100000] [--seconds 10]

Loads the issues (12 months, 5 categories, 3 communities) and a public consultation into a
SQLite store, serves it with one uvicorn worker and measures, with 16 connections (wrk when
installed, else an asyncio httpx load generator), requests/s and p50/p99 latency of the issue
figures (/public/figures), a consultation's timeline (/public/consultations/{id}) and, as the
baseline of the same run, GET /conformance (a document the server keeps in memory). Then, in
process, what one page would cost without the kept aggregate: the grouped query alone, and
counting the issue documents in Python.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src"), str(Path(__file__).resolve().parent)]

import httpx  # noqa: E402
from server_bench import (  # noqa: E402
    Load,
    free_port,
    httpx_run,
    issue_template,
    row,
    serve,
    uvicorn,
    verdict,
    wrk_run,
)
from timing import median_ms  # noqa: E402

from reference_server import Settings, create_app  # noqa: E402
from reference_server.app import SETTINGS_ENV  # noqa: E402
from smartcommunity import load_spec  # noqa: E402
from smartcommunity.transparency import statistics_from_issues  # noqa: E402

CATEGORIES = ("public-safety.fire-hazard", "environment.garbage", "housing.lift",
              "municipal.road", "elderly-care.home-service")
COMMUNITIES = ("110105001001", "110105001002", "110105001003")
_LUA = textwrap.dedent('''
    request = function()
      return wrk.format("GET", "%s")
    end
''')


def issues(count: int) -> list[dict[str, Any]]:
    template = issue_template()
    template.pop("gridCode", None)
    out = []
    for n in range(count):
        doc = copy.deepcopy(template)
        doc["id"] = str(uuid.uuid4())
        doc["category"] = CATEGORIES[n % len(CATEGORIES)]
        doc["communityDivisionCode"] = COMMUNITIES[(n // 7) % len(COMMUNITIES)]
        month, day = 1 + n % 12, 1 + (n // 12) % 28
        doc["submittedAt"] = f"2025-{month:02d}-{day:02d}T{n % 24:02d}:15:00+08:00"
        doc["history"] = [{**doc["history"][0], "at": doc["submittedAt"]}]
        out.append(doc)
    return out


def consultation() -> dict[str, Any]:
    spec = load_spec()
    doc = next(d for n, d in spec.examples()
               if n == "consultation/lift-installation-building-3.json")
    doc = copy.deepcopy(doc)
    doc["id"] = str(uuid.uuid4())  # the demo holds the example itself
    doc["visibility"] = "public"
    return doc


def load(base: str, path: str, seconds: int, tmp: Path) -> Load:
    if shutil.which("wrk"):
        wrk_run(base, _LUA % path, 1, tmp)  # warm up
        return wrk_run(base, _LUA % path, seconds, tmp)

    def request() -> tuple[str, str, bytes]:
        return "GET", path, b""

    return httpx_run(base, request, seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=100_000, help="issues in the store")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each load run")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sc-public-bench-"))
    url = f"sqlite:///{tmp / 'public.sqlite3'}"
    try:
        started = time.perf_counter()
        app = create_app(Settings(database_url=url, demo=True))
        service = app.state.sc.service
        docs = issues(args.issues)
        service.load(docs, validate=False)
        lift = consultation()
        service.load([lift], validate=False)
        print(f"Store: {args.issues:,} issues and a public consultation loaded in "
              f"{time.perf_counter() - started:.1f} s (SQLite)")

        pages = app.state.public
        grouped = median_ms(pages._count, 5)
        with service.store.read() as tx:
            stored = [s.doc for s in tx.all_resources() if s.rtype == "Issue"]
        scan = median_ms(lambda: statistics_from_issues(stored), 3)
        service.store.dispose()

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {SETTINGS_ENV: json.dumps({"database_url": url, "demo": False}),
               "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}  # this tree, not an installed copy
        print(f"Load: 16 connections, {args.seconds} s per run, "
              f"{'wrk' if shutil.which('wrk') else 'asyncio httpx'}; all on 127.0.0.1")
        with serve(uvicorn("reference_server.app:app_from_env", port, factory=True), env, base):
            for path in ("/public/figures", f"/public/consultations/{lift['id']}"):
                httpx.get(base + path, timeout=60).raise_for_status()  # the aggregate, once
            baseline = load(base, "/conformance", args.seconds, tmp)
            figures = load(base, "/public/figures", args.seconds, tmp)
            page = load(base, f"/public/consultations/{lift['id']}", args.seconds, tmp)
            english = load(base, "/public/en/figures", args.seconds, tmp)

        print("\nHTTP, SQLite, one worker (16 connections)")
        print(row("baseline  GET /conformance", baseline))
        print(row("GET /public/figures", figures))
        print(row("GET /public/en/figures", english))
        print(row("GET /public/consultations/{id}", page))
        worst = max(figures.p99, page.p99, english.p99)
        errors = figures.errors + page.errors + english.errors
        print(f"\n  p99 of the public pages {worst:6.2f} ms (target ≤ 50 ms) "
              f"{verdict(worst <= 50 and errors == 0)}")
        print(f"\nWithout the kept aggregate, per page view ({args.issues:,} issues):")
        print(f"  grouped query and fold   {grouped:9.1f} ms (median of 5)")
        print(f"  counting the documents   {scan:9.1f} ms (median of 3, parsed documents "
              "already in memory)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
