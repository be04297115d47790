"""A benchmark run on fewer of the machine's CPUs, the local PostgreSQL with it.

    python benchmarks/on_cpus.py 1 -- python benchmarks/import_bench.py --postgres

What a measure gains from a second core (the same command on 1 CPU and on 2) is what a city's
larger machine can be expected to gain from more: the figures a sizing rests on. The command
and everything it starts run on CPUs 0 … N-1, and so does every PostgreSQL process of this
machine (a backend forked later inherits its server's CPUs); afterwards PostgreSQL is given
back the CPUs it had. Changing another user's processes' CPUs needs root or their owner.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.postgres import postgres_pids  # noqa: E402


@contextlib.contextmanager
def postgres_on(cpus: set[int]) -> Iterator[int]:
    """PostgreSQL's processes on ``cpus`` while inside; how many were moved."""
    before: dict[int, set[int]] = {}
    try:
        for pid in postgres_pids():
            with contextlib.suppress(ProcessLookupError):  # a backend that just ended
                had = os.sched_getaffinity(pid)
                try:
                    os.sched_setaffinity(pid, cpus)
                except PermissionError:
                    raise SystemExit("on_cpus: PostgreSQL's processes cannot be moved by this "
                                     "user (run as root or as their owner)") from None
                before[pid] = had
        yield len(before)
    finally:
        for pid, had in before.items():
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(pid, had)
        # Backends forked meanwhile still have the few CPUs: give every one all of them.
        everything = os.sched_getaffinity(0) | {cpu for had in before.values() for cpu in had}
        for pid in postgres_pids():
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(pid, everything)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cpus", type=int, help="how many CPUs (the first N of this machine)")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="the benchmark, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    available = sorted(os.sched_getaffinity(0))
    if not command or not 1 <= args.cpus <= len(available):
        parser.error(f"give 1 to {len(available)} CPUs and a command after --")
    cpus = set(available[:args.cpus])
    with postgres_on(cpus) as count:
        print(f"on {args.cpus} of {len(available)} CPUs ({sorted(cpus)}), with {count} "
              "PostgreSQL processes", flush=True)
        return subprocess.run(command, preexec_fn=lambda: os.sched_setaffinity(0, cpus),
                              check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
