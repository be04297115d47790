"""Benchmark of the public pages with 100,000 issues in the store, on 127.0.0.1 only.

    .venv/bin/python benchmarks/public_bench.py [--issues 100000] [--communities 300]
        [--consultations 3000] [--seconds 10]

Loads the issues (12 months, 5 categories, ``--communities`` communities) and the public
consultations into a SQLite store, serves it with one uvicorn worker and measures, with 16
connections (wrk, which the server benchmark also needs), requests/s and p50/p99
latency of the issue figures — the list of months (/public/figures), a month's first page of
communities (/public/figures/{month}, and its data), one community's month
(?community=) — the home page (/public/, ``--consultations`` public ones), a consultation's
timeline (/public/consultations/{id}) and, as the baseline of
the same run, GET /conformance (a document the server keeps in memory). It prints the bytes of
each figures page beside what one page of every cell would weigh, then, in process, what a page
would cost without the kept counts: the grouped query alone, and counting the issue documents
in Python, and how long the home page takes after an issue is written, now and as it was
made before it was paged.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
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
    issue_template,
    need_wrk,
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
from smartcommunity.transparency import (  # noqa: E402
    Links,
    consultations_per_page,
    figures_month_page,
    statistics_from_issues,
)

CATEGORIES = ("public-safety.fire-hazard", "environment.garbage", "housing.lift",
              "municipal.road", "elderly-care.home-service")
_LUA = textwrap.dedent('''
    request = function()
      return wrk.format("GET", "%s")
    end
''')


def communities(count: int) -> list[str]:
    """``count`` twelve-digit community codes of one street."""
    return [f"{110105001000 + n + 1:012d}" for n in range(count)]


def issues(count: int, places: list[str]) -> list[dict[str, Any]]:
    template = issue_template()
    template.pop("gridCode", None)
    out = []
    # Drawn at random (the same each run): counted in turn, the kinds, places and months would
    # repeat together and fill a few cells of the table only.
    rng = random.Random(2026)
    for n in range(count):
        doc = copy.deepcopy(template)
        doc["id"] = str(uuid.uuid4())
        doc["category"] = rng.choice(CATEGORIES)
        doc["communityDivisionCode"] = rng.choice(places)
        month, day = rng.randint(1, 12), rng.randint(1, 28)
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


#: issue writes the home page is asked for after, each
WRITES = 5


def home_after_writes(app: Any, place: str) -> dict[str, float]:
    """Milliseconds to serve the home page after an issue is written elsewhere: as the server
    does (a page, kept while no consultation changed), and as it did before the home page was
    paged (every public consultation, made again after any write)."""
    pages, service = app.state.public, app.state.sc.service
    key = ("index", "zh-Hans", "")

    def after_write() -> None:
        service.load(issues(1, [place]), validate=False)
        pages._checked = float("-inf")  # the head read again, as a second later
        began = time.perf_counter()
        pages.page(key)
        times.append((time.perf_counter() - began) * 1000)

    out = {}
    for name, per_page, kept in (("now: a page of 50, kept", pages.per_home_page, True),
                                 ("before: every consultation, made again", 10**9, False)):
        pages.per_home_page, pages._rendered = per_page, {}
        if not kept:
            pages._consultations_unchanged = lambda made, head: False
        pages.page(key)
        times: list[float] = []
        for _ in range(WRITES):
            after_write()
        out[name] = sorted(times)[WRITES // 2]
    del pages._consultations_unchanged
    pages.per_home_page, pages._rendered = consultations_per_page(), {}
    return out


def load(base: str, path: str, seconds: int, tmp: Path, server: int) -> Load:
    wrk_run(base, _LUA % path, 1, tmp)  # warm up
    return wrk_run(base, _LUA % path, seconds, tmp, server)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=100_000, help="issues in the store")
    parser.add_argument("--communities", type=int, default=300,
                        help="communities the issues are spread over")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each load run")
    parser.add_argument("--consultations", type=int, default=3000,
                        help="public consultations (a city's three years)")
    args = parser.parse_args()
    need_wrk(False)
    tmp = Path(tempfile.mkdtemp(prefix="sc-public-bench-"))
    url = f"sqlite:///{tmp / 'public.sqlite3'}"
    try:
        started = time.perf_counter()
        app = create_app(Settings(database_url=url, demo=True))
        service = app.state.sc.service
        places = communities(args.communities)
        docs = issues(args.issues, places)
        service.load(docs, validate=False)
        lift = consultation()
        service.load([lift] + [dict(consultation(), title=f"公开协商 {n}")
                               for n in range(args.consultations - 1)], validate=False)
        print(f"Store: {args.issues:,} issues over {args.communities} communities and "
              f"{args.consultations:,} public consultations loaded in "
              f"{time.perf_counter() - started:.1f} s (SQLite)")

        pages = app.state.public

        with service.store.read() as tx:
            stored = [s.doc for s in tx.all_resources() if s.rtype == "Issue"]
        scan = median_ms(lambda: statistics_from_issues(stored), 3)
        everything = statistics_from_issues(stored)
        month = everything.months[0]

        def count_afresh() -> None:
            # As if nothing were kept: the month's grouped query over its index range.
            pages._months, pages._counts = None, {}
            pages._counted(month)

        grouped = median_ms(count_afresh, 5)
        home = home_after_writes(app, places[0])
        # What one page of every cell weighed before the figures were paged.
        whole = sum(len(figures_month_page(everything.page(m, 10**9), "zh-Hans",
                                           Links("/public/")).encode())
                    for m in everything.months)
        service.store.dispose()

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {SETTINGS_ENV: json.dumps({"database_url": url, "demo": False}),
               "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}  # this tree, not an installed copy
        print(f"Load: 16 connections, {args.seconds} s per run, wrk; all on 127.0.0.1")
        mine = f"?community={places[len(places) // 2]}"
        paths = {"GET /public/": "/public/",
                 "GET /public/figures": "/public/figures",
                 "GET /public/figures/{month}": f"/public/figures/{month}",
                 "GET /public/en/figures/{month}": f"/public/en/figures/{month}",
                 "GET /public/figures/{month}.json": f"/public/figures/{month}.json",
                 "GET …/{month}?community=": f"/public/figures/{month}{mine}",
                 "GET /public/consultations/{id}": f"/public/consultations/{lift['id']}"}
        with serve(uvicorn("reference_server.app:app_from_env", port, factory=True), env,
                   base) as server:
            sizes = {}
            for name, path in paths.items():  # the counts, once
                resp = httpx.get(base + path, timeout=60)
                resp.raise_for_status()
                sizes[name] = len(resp.content)
            pid = server.pid
            baseline = load(base, "/conformance", args.seconds, tmp, pid)
            loads = {name: load(base, path, args.seconds, tmp, pid)
                     for name, path in paths.items()}

        print("\nHTTP, SQLite, one worker (16 connections)")
        print(row("baseline  GET /conformance", baseline))
        for name, got in loads.items():
            print(row(name, got))
        worst = max(got.p99 for got in loads.values())
        errors = sum(got.errors for got in loads.values())
        print(f"\n  p99 of the public pages {worst:6.2f} ms (target ≤ 50 ms) "
              f"{verdict(worst <= 50 and errors == 0)}")
        print(f"\nBytes of each page ({len(everything.cells):,} cells over "
              f"{len(everything.months)} months; month {month}):")
        for name, size in sizes.items():
            print(f"  {name:42s} {size:>12,} B")
        print(f"  {'every cell on one page (before paging)':42s} {whole:>12,} B")
        print(f"\nThe home page made again after an issue is written elsewhere ("
              f"{args.consultations:,} public consultations; median of {WRITES}):")
        for name, ms in home.items():
            print(f"  {name:58s} {ms:9.1f} ms")
        print(f"\nWithout the kept aggregate, per page view ({args.issues:,} issues):")
        print(f"  grouped query and fold   {grouped:9.1f} ms (median of 5)")
        print(f"  counting the documents   {scan:9.1f} ms (median of 3, parsed documents "
              "already in memory)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
