"""The conformance kit against a server holding a city, beside the same server empty.

    python benchmarks/kit_bench.py --issues 1000000 --work /tmp/kit-bench

Generates a city with ``benchmarks/city.py`` (``--residents``, ``--issues``; 385 communities,
so that the demo preset's community, 110105001001, is one of them and city-wide readers see
every issue), imports it with ``smartcommunity import`` into a SQLite file, starts
``smartcommunity serve`` on it (the demo's tokens) and on an empty file (the demo's data), and
runs ``smartcommunity conformance run`` with the demo preset against each, in the same run:
prints the import time, both run times and the verdicts.
The kit is meant to take the same time whatever the server holds (tests/kit/test_scale.py
holds its request count to that).

``--work`` keeps the generated files and the database (several GB at a million issues);
``--reuse`` takes them from an earlier run instead of making them again.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from benchmarks.server_bench import free_port, serve  # noqa: E402

PRESET = ROOT / "src" / "smartcommunity" / "conformance" / "demo-preset.json"
#: the community 110105001001 of the demo preset is the 385th of the city's codes
COMMUNITIES = 385


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "smartcommunity.cli", *args]


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "PYTHONIOENCODING": "utf-8"}


@contextlib.contextmanager
def serving(database: Path) -> Iterator[str]:
    """``smartcommunity serve`` on ``database`` (demo tokens) until the block ends."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = _cli("serve", "--port", str(port), "--database-url", f"sqlite:///{database}",
                   "--no-access-log")
    with serve(command, _env(), base, start=300):
        yield base


def kit_run(base: str, reports: Path) -> tuple[float, dict[str, object]]:
    """One whole run of the kit with the demo preset: seconds, and the report."""
    started = time.perf_counter()
    subprocess.run(_cli("conformance", "run", "--base-url", base, "--preset", str(PRESET),
                        "--report-dir", str(reports), "--quiet"),
                   cwd=ROOT, env=_env(), check=False, stdout=subprocess.DEVNULL)
    took = time.perf_counter() - started
    report = json.loads((reports / "report.json").read_text(encoding="utf-8"))
    return took, report


def _summary(report: dict[str, object]) -> str:
    results = report.get("results") or []
    assert isinstance(results, list)
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return f"verdict {report.get('verdict')}, {statuses}"


def _issues(database: Path) -> int:
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT count(*) FROM resources WHERE rtype = 'Issue'")
                   .fetchone()[0])


def _add_demo(city: Path) -> None:
    """Add the spec's examples the city does not hold already: the demo preset's residents
    (its proxy and the residents it reads) live in them, as on the empty server."""
    from smartcommunity.specification import load_spec

    spec = load_spec()
    held = {json.loads(line)["id"] for path in city.glob("*-organisations.ndjson")
            for line in path.open(encoding="utf-8")}
    order = {rt: i for i, rt in enumerate(spec.resource_types)}
    docs = sorted((doc for _, doc in spec.examples() if doc["id"] not in held),
                  key=lambda d: (order[d["resourceType"]], d["id"]))
    last = max(int(path.name.split("-", 1)[0]) for path in city.glob("*.ndjson"))
    with (city / f"{last + 1}-examples.ndjson").open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(doc, ensure_ascii=False) + "\n" for doc in docs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--residents", type=int, default=40_000)
    parser.add_argument("--issues", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the city and its database (default: a temporary one, "
                             "deleted afterwards)")
    parser.add_argument("--reuse", action="store_true",
                        help="take the city and its database from --work as an earlier run "
                             "left them")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        if args.work is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kit-bench-")))
        else:
            work = args.work
            work.mkdir(parents=True, exist_ok=True)
        city, database = work / "city", work / "city.sqlite3"
        if not (args.reuse and database.exists()):
            shutil.rmtree(city, ignore_errors=True)
            for leftover in work.glob("city.sqlite3*"):
                leftover.unlink()
            subprocess.run([sys.executable, str(ROOT / "benchmarks" / "city.py"),
                            "--residents", str(args.residents), "--issues", str(args.issues),
                            "--communities", str(COMMUNITIES), "--out", str(city)],
                           cwd=ROOT, env=_env(), check=True)
            started = time.perf_counter()
            _add_demo(city)
            subprocess.run(_cli("import", "--ndjson", str(city), "--database-url",
                                f"sqlite:///{database}"), cwd=ROOT, env=_env(), check=True)
            took = time.perf_counter() - started
            print(f"import: {took:.0f} s for the city of {args.issues:,} issues")
        empty = work / "empty.sqlite3"
        for leftover in work.glob("empty.sqlite3*"):
            leftover.unlink()
        with serving(empty) as base:
            small_time, small = kit_run(base, work / "report-empty")
        with serving(database) as base:
            big_time, big = kit_run(base, work / "report-city")
        print(f"kit, empty store (the demo's data): {small_time:.1f} s; {_summary(small)}")
        print(f"kit, the city ({_issues(database):,} issues): {big_time:.1f} s; "
              f"{_summary(big)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
