"""Mirroring a server's whole change feed into an empty store, this version against another.

    python benchmarks/mirror_bench.py [--residents 10000 --issues 30000] [--postgres]
        [--baseline CHECKOUT]

Generates a city (``benchmarks/city.py``), imports it into a source store, then for this
version (and, with ``--baseline``, an earlier one unpacked in CHECKOUT: ``git archive <commit>
| tar -x -C CHECKOUT``) serves the source with that version's ``smartcommunity serve`` and runs
that version's ``reference_server.mirror.mirror`` into an empty store of the same database
kind. For each: events a second, and the processor time per event of the reading server, of
the mirroring process and of everything else on the machine (the database, mostly): on two
cores the three share them, so the sum bounds the rate. Each of them (and PostgreSQL's busiest
process) runs in one process while the next page is fetched ahead, so the largest bounds it on
any number of cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from benchmarks.city import Scale, write  # noqa: E402
from benchmarks.import_bench import _cpu, _env, _stores, city_parser, import_once  # noqa: E402
from benchmarks.postgres import postgres_pids  # noqa: E402
from benchmarks.scale_bench import server, tokens_file  # noqa: E402
from benchmarks.server_bench import _TICKS, _machine_ticks, _process_ticks  # noqa: E402
from benchmarks.timing import TickWatch  # noqa: E402
from smartcommunity.cli import usable_cpus  # noqa: E402

#: the reader the mirror reads as: a system that sees every community
READER = "demo-system-mirror"

#: run in the mirroring process of the version measured: events, seconds, processor seconds
_MIRROR = textwrap.dedent("""
    import json, resource, sys, time
    from reference_server.mirror import mirror
    from reference_server.storage import Store
    target = Store(sys.argv[2])
    target.migrate()
    began = time.perf_counter()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    events = mirror(sys.argv[1], sys.argv[3], target, limit=500).events
    took = time.perf_counter() - began
    used = resource.getrusage(resource.RUSAGE_SELF)
    target.dispose()
    print(json.dumps([events, took, used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime]))
""")


def mirror_once(source: str, target: str, tokens: Path, root: Path, log: Path) -> str:
    """One mirror of the whole feed by the version at ``root``: the line it prints."""
    with server(source, tokens, log, root=root) as (base, proc):
        pid = proc.pid
        serving, machine, child = _process_ticks(pid), _machine_ticks(), _cpu()
        with TickWatch(postgres_pids) as database:
            done = subprocess.run([sys.executable, "-c", _MIRROR, base, target, READER],
                                  cwd=root, env=_env(root), check=True, capture_output=True,
                                  text=True)
        serving = (_process_ticks(pid) - serving) / _TICKS
        machine, child = (_machine_ticks() - machine) / _TICKS, _cpu() - child
    events, took, own = json.loads(done.stdout)
    # the mirroring process's start (its imports) is neither its mirroring nor the rest
    rest = max(machine - serving - child, 0.0)

    def per(seconds: float) -> str:
        return f"{seconds / events * 1e6:,.0f}"

    # Pages are fetched ahead while one is written: the busiest of the parts that run in one
    # process each (the server the feed is read from, the mirror, the database's busiest
    # process) bounds the rate on any number of cores.
    postgres = target.startswith("postgresql")
    serial = max(serving, own, database.busiest() if postgres else 0.0)
    busiest = f" (PostgreSQL's busiest process {per(database.busiest())})" if postgres else ""
    return (f"{events:,} events in {took:.1f} s = {events / took:,.0f} events/s; µs of CPU "
            f"an event: server {per(serving)}, mirror {per(own)}, the rest {per(rest)}"
            f"{busiest}: at most {events / serial:,.0f} events/s on any number of CPUs")


def main(argv: list[str] | None = None) -> int:
    args = city_parser(__doc__, 10_000, 30_000, "mirror with").parse_args(argv)
    versions = [("this version", ROOT)]
    if args.baseline is not None:
        versions.insert(0, ("the earlier version", args.baseline.resolve()))
    with tempfile.TemporaryDirectory(prefix="mirror-bench-") as tmp:
        work = Path(tmp)
        counts = write(Scale(residents=args.residents, issues=args.issues), work / "city")
        tokens = tokens_file(work)
        print(f"{sum(counts.values()):,} records ({counts.get('issues', 0):,} issues), "
              f"{'PostgreSQL' if args.postgres else 'SQLite'}, {usable_cpus()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
        with _stores(work, args.postgres) as urls:
            source = next(urls)
            # Imported by the first version measured: a later one reads a store of an earlier
            # schema revision (it migrates it), not the other way round.
            import_once(work / "city", source, root=versions[0][1])
            for label, root in versions:
                print(f"  {label}: "
                      f"{mirror_once(source, next(urls), tokens, root, work / 'server.log')}",
                      flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
