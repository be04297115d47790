"""``smartcommunity import`` of a generated city: one by one, in this process, and in workers.

    python benchmarks/import_bench.py --residents 4000 --issues 12000 [--postgres]

Generates a city with ``benchmarks/city.py`` and imports it into empty stores, in the same run:
``--one-by-one`` (each document in its own transaction: the reference the batches are held
to), ``--jobs 1`` (batches, every document prepared in the importing process) and ``--jobs N``
(one worker process per CPU). For each: wall time, the processor time of the importing
process and its workers (less that of starting the command, measured on an empty input; the
workers' start is counted), the rates they give, and the processor time of the rest of the
machine (the database, mostly). On PostgreSQL also the two parts that run in one process each
however many cores there are (the importing process, which numbers, chains and writes the rows
in order; PostgreSQL's busiest process, the backend of the connection they go through): the
rate neither lets any machine pass. ``--repeat N`` runs every import N times, every other round
in the reverse order. On a shared machine wall time measures the
neighbours as much as the import; the processor time per document does not.

On PostgreSQL it ends with the database alone: the rows of the last import, copied into an
empty store with nothing else to do, and PostgreSQL's own processor time for them. No importer
of these rows, with these indexes, can go faster on this machine than that allows.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from benchmarks.city import Scale, write  # noqa: E402
from benchmarks.timing import TICKS, TickWatch, machine_ticks  # noqa: E402
from smartcommunity.cli import usable_cpus  # noqa: E402


def _env(root: Path = ROOT) -> dict[str, str]:
    path = os.pathsep.join([str(root / "src"), str(root), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Imported:
    """What one ``smartcommunity import`` took: wall and processor seconds (its workers
    included), and of the two parts that run in one process each whatever the cores (the
    importing process itself, which writes in order; PostgreSQL's busiest process, the
    backend of the one connection the rows go through), their processor seconds."""

    wall: float
    cpu: float
    importer: float
    backend: float


def import_once(folder: Path, url: str, *options: str, root: Path = ROOT) -> Imported:
    """One ``smartcommunity import`` of the checkout at ``root``."""
    from benchmarks.postgres import postgres_pids

    cpu, started = _cpu(), time.perf_counter()
    with subprocess.Popen([sys.executable, "-m", "smartcommunity.cli", "import", "--ndjson",
                           str(folder), "--database-url", url, *options],
                          cwd=root, env=_env(root), stdout=subprocess.DEVNULL) as proc, \
            TickWatch(lambda: [proc.pid]) as importer, TickWatch(postgres_pids) as database:
        proc.wait()
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, proc.args)
    return Imported(time.perf_counter() - started, _cpu() - cpu, importer.busiest(),
                    database.busiest())


@contextlib.contextmanager
def _stores(work: Path, postgres: bool) -> Iterator[Iterator[str]]:
    if not postgres:
        yield (f"sqlite:///{work / f'store-{i}.sqlite3'}" for i in range(100))
        return
    from benchmarks.postgres import pg_database

    with contextlib.ExitStack() as stack:
        yield (stack.enter_context(pg_database(f"sc_import_bench_{i}")) for i in range(100))


def city_parser(doc: str | None, residents: int, issues: int, does: str) -> argparse.ArgumentParser:
    """The options of a benchmark of a generated city against an earlier version: its size,
    the database, the earlier checkout; ``does``: what the benchmark does with a store."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--residents", type=int, default=residents)
    parser.add_argument("--issues", type=int, default=issues)
    parser.add_argument("--postgres", action="store_true",
                        help=f"{does} PostgreSQL at 127.0.0.1:5432 rather than SQLite")
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                        help=f"also {does} an earlier version of the project, unpacked in this "
                             "folder (git archive <commit> | tar -x -C CHECKOUT)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = city_parser(__doc__, 4000, 12000, "import into")
    parser.add_argument("--skip-one-by-one", action="store_true",
                        help="leave out the slowest run")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of every run, every other round in the reverse order (1)")
    args = parser.parse_args(argv)
    jobs = usable_cpus()
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        work = Path(tmp)
        counts = write(Scale(residents=args.residents, issues=args.issues), work / "city")
        records = sum(counts.values())
        runs: list[tuple[str, tuple[str, ...], Path, int]] = [
            ("jobs 1 (batches, in the importing process)", ("--jobs", "1"), ROOT, 1)]
        if jobs > 1:  # on one CPU the import prepares every document itself
            runs.append((f"jobs {jobs} (batches, worker processes)", ("--jobs", str(jobs)),
                         ROOT, jobs))
        if not args.skip_one_by_one:
            runs.insert(0, ("one by one (a transaction each)", ("--one-by-one", "--jobs", "1"),
                            ROOT, 1))
        if args.baseline is not None:
            runs.insert(0, ("the earlier version", (), args.baseline.resolve(), 1))
        print(f"{records:,} records ({counts.get('issues', 0):,} issues), "
              f"{'PostgreSQL' if args.postgres else 'SQLite'}, {jobs} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}")
        with _stores(work, args.postgres) as urls:
            empty = work / "empty"
            empty.mkdir()
            (empty / "none.ndjson").write_bytes(b"")
            for round_ in range(args.repeat):
                if args.repeat > 1:
                    print(f" round {round_ + 1}")
                for label, options, root, cores in runs[::-1] if round_ % 2 else runs:
                    # What starting the command costs (its imports, the spec), once per import
                    # whatever its size, is left out: measured on an empty input.
                    blank, full = next(urls), next(urls)
                    start = import_once(empty, blank, *options, root=root)
                    machine = machine_ticks()
                    run = import_once(work / "city", full, *options, root=root)
                    wall = run.wall
                    rest = (machine_ticks() - machine) / TICKS - run.cpu  # the database
                    cpu = run.cpu - start.cpu
                    serial = max(run.importer - start.importer, run.backend)
                    # CPU-bound on idle cores: the processor time over the cores it can use
                    print(f"  {label}: {records / wall:,.0f} records/s wall ({wall:.1f} s); "
                          f"{cpu / records * 1e6:,.0f} µs of CPU a record, at most "
                          f"{records / cpu * cores:,.0f} records/s on {cores} idle CPU(s); "
                          f"the rest of the machine {rest / records * 1e6:,.0f} µs a record",
                          flush=True)
                    if args.postgres:
                        # One process each, on any number of cores: Amdahl's bound.
                        print(f"    in one process each: the importing process "
                              f"{(run.importer - start.importer) / records * 1e6:,.0f} µs a "
                              f"record, PostgreSQL's busiest {run.backend / records * 1e6:,.0f}"
                              f" µs: at most {records / serial:,.0f} records/s on any number "
                              f"of CPUs", flush=True)
            if args.postgres:
                _print_floor(full, blank, records, jobs)
    return 0


def _print_floor(full: str, blank: str, records: int, cores: int) -> None:
    """What the database alone spends on the rows of the last import: the bound of any
    importer on this machine, and what is left of the cores for everything else."""
    from benchmarks.postgres import store_floor

    wall, cpu = store_floor(full, blank)
    print(f"  the database alone (the same rows, made in advance, COPY in one transaction): "
          f"{records / wall:,.0f} records/s wall; PostgreSQL {cpu / records * 1e6:,.0f} µs of "
          f"CPU a record, at most {records / cpu * cores:,.0f} records/s on {cores} idle "
          f"CPU(s) if importing cost nothing; at 10,000 records/s the importer would have "
          f"{max(0.0, cores / 10_000 - cpu / records) * 1e6:,.0f} µs a record", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
