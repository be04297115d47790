"""List pages: the server's processor time per page, and latency at 16 connections.

    python benchmarks/list_bench.py [--residents 5000 --issues 20000] [--postgres]
        [--seconds 3] [--repeat 10] [--profile] [--load PAGE ...] [--callgrind PAGE ...]
        [--baseline CHECKOUT] [--workdir DIR]

Generates a city (``benchmarks/city.py``), imports it with ``smartcommunity import`` into
SQLite (or PostgreSQL with ``--postgres``) and reports, in the same run:

- the processor time the server spends on one page of every list operation of the OpenAPI
  with each of its filters, first page and a cursor three quarters deep, for four readers: a
  city-wide regulator, a city-wide system (a mirror), the staff of one community and a caller
  without a token. Measured in the server's own process (the ASGI app called directly, no
  socket, no HTTP parser), the median of ``--repeat`` calls; ``--profile`` adds where the
  regulator's time goes (cProfile) for the costliest operation;
- p50/p99 at 16 connections (wrk) of a few list pages with ``smartcommunity serve --workers 1``
  and ``--workers 2``, beside ``GET /conformance`` on the same server, so that a busy machine
  shows in the same lines;
- with ``--callgrind PAGE`` (as the report labels it; repeatable), the instructions valgrind's
  callgrind counts for one such page for each reader, in the same kind of process: the same
  count on a busy machine, where processor times are not;
- with ``--baseline CHECKOUT`` (an earlier version unpacked there: ``git archive <commit> |
  tar -x -C CHECKOUT``), the same figures for that version, on the same store (imported by
  the earlier version, whose schema this one migrates and reads), measured first; PostgreSQL's
  statistics are gathered afresh before each version is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

CONNECTIONS = 16
COMMUNITY_INDEX = 0  # the staff reader serves the city's first community
#: token → principal; None stands for a call without a token
READERS: dict[str, str | None] = {"regulator": "list-bench-regulator",
                                  "system": "list-bench-system",
                                  "community staff": "list-bench-staff", "anonymous": None}
#: the pages wrk loads (the first page of each, and the issues' deep page)
LOADED = ("/issues", "/issues ?urgency", "/residents", "/consultations", "/organisations")


def principals(community: str) -> dict[str, dict[str, Any]]:
    return {
        "list-bench-regulator": {"role": "regulator", "name": "市监管员", "userId": "reg-1",
                                 "communities": "*"},
        "list-bench-system": {"role": "system", "name": "镜像系统", "userId": "mirror",
                              "communities": "*"},
        "list-bench-staff": {"role": "community-staff", "name": "刘芳", "userId": "cs-1",
                             "communities": [community],
                             "organisation": {"id": "rc-1", "name": "社区居民委员会",
                                              "type": "residents-committee",
                                              "divisionCode": community}},
    }


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}


# -- in the server's process ---------------------------------------------------------------

def _call(app: Any, path: str, token: str | None) -> Any:
    """One GET straight into the ASGI app: (status, body bytes)."""
    route, _, query = path.partition("?")
    headers = [(b"host", b"127.0.0.1")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": route, "raw_path": route.encode(),
             "query_string": query.encode(), "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 9), "server": ("127.0.0.1", 80)}
    answer: dict[str, Any] = {"body": 0}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += len(message.get("body", b""))

    async def run() -> tuple[int, int]:
        await app(scope, receive, send)
        return answer["status"], answer["body"]

    return run()


def cpu_child(url: str, tokens_file: str, queries_file: str, repeat: int, profile: bool) -> None:
    """Print, as JSON, the median processor time of each (page, reader) in this process."""
    import asyncio
    import cProfile
    import pstats
    import time

    from reference_server.app import create_app
    from reference_server.settings import Settings

    tokens = json.loads(Path(tokens_file).read_text(encoding="utf-8"))
    pages = json.loads(Path(queries_file).read_text(encoding="utf-8"))
    app = create_app(Settings(database_url=url, tokens=tokens))
    analyze(url)

    async def main() -> None:
        out = []
        worst: tuple[float, str] = (0.0, "")
        async with app.router.lifespan_context(app):
            for label, path in pages:
                for reader, token in READERS.items():
                    status, size = await _call(app, path, token)  # warm: plans, caches
                    times = []
                    for _ in range(repeat):
                        began = time.process_time()
                        await _call(app, path, token)
                        times.append((time.process_time() - began) * 1000)
                    ms = statistics.median(times)
                    out.append({"page": label, "reader": reader, "status": status,
                                "bytes": size, "ms": ms})
                    if reader == "regulator" and ms > worst[0]:
                        worst = (ms, path)
            print(json.dumps(out))
            if profile and worst[1]:
                print(f"\nwhere the regulator's time goes on {worst[1]} (cProfile, "
                      f"{repeat} pages):", file=sys.stderr)
                pr = cProfile.Profile()
                pr.enable()
                for _ in range(repeat):
                    await _call(app, worst[1], READERS["regulator"])
                pr.disable()
                pstats.Stats(pr, stream=sys.stderr).sort_stats("tottime").print_stats(15)

    asyncio.run(main())


def callgrind_child(url: str, tokens_file: str, path: str, reader: str, calls: int) -> None:
    """Call ``path`` as ``reader`` ``calls`` times with callgrind counting (after warming)."""
    import asyncio

    from timing import count_from_here

    from reference_server.app import create_app
    from reference_server.settings import Settings

    tokens = json.loads(Path(tokens_file).read_text(encoding="utf-8"))
    app = create_app(Settings(database_url=url, tokens=tokens))

    async def main() -> None:
        async with app.router.lifespan_context(app):
            for _ in range(3):  # plans, caches, prepared statements
                await _call(app, path, READERS[reader])
            count_from_here()
            for _ in range(calls):
                await _call(app, path, READERS[reader])

    asyncio.run(main())


#: pages each callgrind child calls while counting
COUNTED_CALLS = 5


def instructions_per_page(root: Path, url: str, work: Path, pages: dict[str, str]
                          ) -> dict[tuple[str, str], int]:
    """(page, reader) → the instructions one call of the page takes in the checkout at
    ``root``, counted by callgrind."""
    from timing import callgrind_instructions

    tokens = work / "principals.json"  # as cpu_per_page wrote it
    counts = {}
    for label, path in pages.items():
        for reader in READERS:
            total = callgrind_instructions(
                [str(Path(__file__).resolve()), "--callgrind-child", url, str(tokens), path,
                 reader, str(COUNTED_CALLS)], work / "callgrind.out", env=_env(root), cwd=root)
            counts[(label, reader)] = total // COUNTED_CALLS
    return counts


def report_instructions(pages: list[str],
                        runs: list[tuple[str, dict[tuple[str, str], int]]]) -> None:
    print(f"\ninstructions per page (callgrind, {COUNTED_CALLS} calls each), millions; "
          f"{' | '.join(n for n, _ in runs)}")
    print(f"  {'page':<36}" + "".join(f"{n:>22}" for n in READERS))
    for label in pages:
        cells = [" | ".join(f"{figures[(label, reader)] / 1e6:.1f}" for _, figures in runs)
                 for reader in READERS]
        print(f"  {label:<36}" + "".join(f"{c:>22}" for c in cells), flush=True)


def cpu_per_page(root: Path, url: str, work: Path, pages: list[tuple[str, str]], repeat: int,
                 profile: bool) -> dict[tuple[str, str], dict[str, Any]]:
    """(page, reader) → its figures, measured in a process running the checkout at ``root``."""
    queries = work / "pages.json"
    queries.write_text(json.dumps(pages), encoding="utf-8")
    community = json.loads((work / "community.json").read_text())
    tokens = work / "principals.json"
    tokens.write_text(json.dumps(principals(community)), encoding="utf-8")
    # Run from the checkout itself, so that its own packages are imported.
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--cpu-child", url,
                           str(tokens), str(queries), str(repeat)]
                          + (["--profile"] if profile else []),
                          cwd=root, env=_env(root), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"measuring {root} failed:\n{proc.stderr[-2000:]}")
    if proc.stderr.strip():
        print(proc.stderr.rstrip(), flush=True)
    return {(r["page"], r["reader"]): r for r in json.loads(proc.stdout)}


# -- the store -------------------------------------------------------------------------------

@contextlib.contextmanager
def store(args: argparse.Namespace, work: Path) -> Iterator[str]:
    """The city imported into a store; its database URL."""
    from benchmarks.city import Scale, community_codes, write
    from benchmarks.scale_bench import import_files
    from benchmarks.server_bench import pg_database

    scale = Scale(residents=args.residents, issues=args.issues)
    write(scale, work / "city")
    (work / "community.json").write_text(
        json.dumps(community_codes(scale.community_count)[COMMUNITY_INDEX]))
    with contextlib.ExitStack() as stack:
        if args.postgres:
            url = stack.enter_context(pg_database("list_bench"))
        else:
            url = f"sqlite:///{work / 'city.sqlite3'}"
        # by the earlier version when there is one: this version migrates and reads its schema
        records, took = import_files(url, work / "city",
                                     args.baseline.resolve() if args.baseline else None)
        if not args.postgres:
            (work / "city.sqlite3").chmod(0o600)
        print(f"{records:,} records imported in {took:.0f} s "
              f"({scale.residents:,} residents, {scale.issues:,} issues, "
              f"{scale.community_count} communities)", flush=True)
        yield url


def analyze(url: str) -> None:
    """PostgreSQL's statistics gathered afresh and its visibility map set before a version is
    measured, as autovacuum would soon after a load (and would otherwise do during the first
    version's measures)."""
    if not url.startswith("postgresql"):
        return
    from reference_server.storage import Store

    store = Store(url, group_commit=False)
    try:
        with store.read_engine.connect() as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        store.dispose()


def tokens_file(work: Path) -> Path:
    """The principals as ``smartcommunity serve --tokens`` reads them (hashed, mode 600)."""
    community = json.loads((work / "community.json").read_text())
    hashed = {"sha256:" + hashlib.sha256(t.encode()).hexdigest(): p
              for t, p in principals(community).items()}
    path = work / "tokens.json"
    path.write_text(json.dumps({"tokens": hashed}, ensure_ascii=False), encoding="utf-8")
    path.chmod(0o600)
    return path


# -- report ------------------------------------------------------------------------------------

def report_cpu(pages: list[tuple[str, str]],
               runs: list[tuple[str, dict[tuple[str, str], dict[str, Any]]]]) -> None:
    names = list(READERS)
    print(f"\nserver processor time per page, ms (median); {' | '.join(n for n, _ in runs)}")
    print(f"  {'page':<36}" + "".join(f"{n:>22}" for n in names))
    for label, _ in pages:
        cells = []
        for reader in names:
            values = []
            for _, figures in runs:
                row = figures.get((label, reader))
                if row is None:
                    values.append("?")
                elif row["status"] != 200:
                    values.append(str(row["status"]))
                else:
                    values.append(f"{row['ms']:.1f}")
            cells.append(" | ".join(values))
        print(f"  {label:<36}" + "".join(f"{c:>22}" for c in cells), flush=True)
    for name, figures in runs:
        ok = [r["ms"] for r in figures.values() if r["status"] == 200 and r["bytes"] > 30]
        if ok:
            print(f"  {name}: pages with items: median {statistics.median(ok):.1f} ms, "
                  f"worst {max(ok):.1f} ms", flush=True)


def report_load(url: str, work: Path, pages: dict[str, str], seconds: float, name: str,
                root: Path) -> None:
    from benchmarks.scale_bench import get_load, serving

    tokens = tokens_file(work)
    log = work / "server.log"
    token = READERS["regulator"]
    assert token is not None
    print(f"\n{name}: {CONNECTIONS} connections, wrk, {seconds:.0f} s each, regulator; "
          f"GET /conformance on the same server first", flush=True)
    for workers in (1, 2):
        with serving(url, tokens, log, workers=workers, root=root) as base:
            floor = get_load(base, "/conformance", seconds, token=token)
            print(f"  --workers {workers}: /conformance {floor.cell()} "
                  f"({floor.rps:,.0f}/s)", flush=True)
            for label, path in pages.items():
                load = get_load(base, path, seconds, token=token)
                print(f"    {label:<40} {load.cell()} ({load.rps:,.0f} pages/s)", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--residents", type=int, default=5000)
    parser.add_argument("--issues", type=int, default=20000)
    parser.add_argument("--postgres", action="store_true",
                        help="PostgreSQL at 127.0.0.1:5432 rather than SQLite")
    parser.add_argument("--seconds", type=float, default=3.0, help="per wrk load (3)")
    parser.add_argument("--repeat", type=int, default=10, help="calls per page measured (10)")
    parser.add_argument("--profile", action="store_true",
                        help="also print where the time of the costliest page goes")
    parser.add_argument("--no-load", action="store_true", help="leave out the wrk loads")
    parser.add_argument("--load", action="append", metavar="PAGE",
                        help="a page to load with wrk, as the report labels it ('/issues "
                             "?category'); repeat for more (default: " + ", ".join(LOADED) + ")")
    parser.add_argument("--callgrind", action="append", metavar="PAGE",
                        help="also count the instructions of a page, as the report labels it, "
                             "for each reader (valgrind); repeat for more")
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                        help="also measure an earlier version of the project, unpacked in this "
                             "folder (git archive <commit> | tar -x -C CHECKOUT)")
    parser.add_argument("--workdir", type=Path, help="where the generated files go")
    parser.add_argument("--cpu-child", nargs=4, metavar=("URL", "TOKENS", "PAGES", "REPEAT"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--callgrind-child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.callgrind_child:
        url, tokens, path, reader, calls = args.callgrind_child
        callgrind_child(url, tokens, path, reader, int(calls))
        return 0
    if args.cpu_child:
        url, tokens, queries, repeat = args.cpu_child
        cpu_child(url, tokens, queries, int(repeat), args.profile)
        return 0

    sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(ROOT / "benchmarks")]
    from benchmarks.scale_bench import queries as list_queries
    from smartcommunity.cli import usable_cpus

    work = args.workdir or Path(tempfile.mkdtemp(prefix="list-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"list_bench: {usable_cpus()} cores, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    roots = [("this version", ROOT)]
    if args.baseline is not None:
        roots.insert(0, ("the earlier version", args.baseline.resolve()))
    try:
        with store(args, work) as url:
            pages: list[tuple[str, str]] = []
            for label, first, deep in list_queries(url):
                pages.append((label, first))
                if deep and "?" not in label:
                    pages.append((label + " (deep)", deep))
            by_label = dict(pages)
            unknown = (set(args.load or ()) | set(args.callgrind or ())) - set(by_label)
            if unknown:
                sys.exit(f"no such page: {', '.join(sorted(unknown))} (the report's "
                         f"labels: {', '.join(by_label)})")
            loaded = {label: by_label[label] for label in
                      (*(args.load or LOADED), "/issues (deep)") if label in by_label}
            runs, counted = [], []
            for name, root in roots:  # each version measured whole, on a store just analyzed
                runs.append((name, cpu_per_page(root, url, work, pages, args.repeat,
                                                args.profile and root == ROOT)))
                if args.callgrind:
                    counted.append((name, instructions_per_page(
                        root, url, work, {label: by_label[label] for label in args.callgrind})))
                if not args.no_load:
                    report_load(url, work, loaded, args.seconds, name, root)
            report_cpu(pages, runs)
            if counted:
                report_instructions(args.callgrind, counted)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
