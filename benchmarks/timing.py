"""The timing helpers every benchmark shares: a median of wall-clock runs, the processor ticks
of a process and of the machine, and the instructions valgrind's callgrind counts (stable on a
busy machine, where wall-clock times are not)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def median_ms(fn: Callable[[], Any], runs: int) -> float:
    """The median of ``runs`` timings of ``fn()``, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def count_from_here() -> None:
    """In a child :func:`callgrind_instructions` runs: turn callgrind's collection on, so that
    only what follows is counted (the start-up before it runs at near native speed)."""
    subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], capture_output=True,
                   check=True)


def callgrind_instructions(child: list[str], out: Path, env: dict[str, str] | None = None,
                           cwd: Path | None = None) -> int:
    """The instructions callgrind counts while ``python <child…>`` runs with collection on
    (the child turns it on around what it measures); the profile goes to ``out``. ``env`` and
    ``cwd``: the child's (another checkout's, say)."""
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
         sys.executable, *child],
        env={**(env or os.environ), "PYTHONHASHSEED": "0"}, cwd=cwd, capture_output=True,
        text=True, check=False)
    if proc.returncode != 0 or not out.exists():
        sys.exit(f"valgrind failed ({proc.returncode}): {proc.stderr[-800:]}")
    for line in out.read_text("utf-8", errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    sys.exit(f"no instruction total in {out.name}")


#: clock ticks a second, the unit of /proc's processor times
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_ticks(pid: int, *, reaped: bool = False) -> int:
    """user + system clock ticks of one process, 0 once it is gone; with ``reaped``, those
    of its children that have exited too (a PostgreSQL backend's, once its connection
    closes, are counted in the postmaster's).

    >>> import subprocess, sys
    >>> own, reaped = process_ticks(os.getpid()), process_ticks(os.getpid(), reaped=True)
    >>> _ = subprocess.run([sys.executable, "-c", "sum(range(40_000_000))"], check=True)
    >>> child = process_ticks(os.getpid(), reaped=True) - reaped
    >>> child - (process_ticks(os.getpid()) - own) > 0.2 * TICKS  # its child's fifth of a second
    True
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if reaped
                                                else 0)


class TickWatch:
    """The processor ticks of each of some processes, read every ``interval`` seconds on a
    thread of its own while inside (a process's own ticks can be read only while it lives):
    ``busiest()`` gives the most any one of them used meanwhile, in seconds. A part of a
    pipeline that runs in one process bounds the pipeline's rate on any number of cores."""

    def __init__(self, pids: Callable[[], Iterable[int]], interval: float = 0.02) -> None:
        self._pids, self._interval = pids, interval
        self._before: dict[int, int] = {}
        self._used: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> TickWatch:
        self._before = {pid: process_ticks(pid) for pid in self._pids()}
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while True:
            for pid in self._pids():
                used = process_ticks(pid) - self._before.get(pid, 0)
                self._used[pid] = max(self._used.get(pid, 0), used)
            if self._stop.wait(self._interval):
                return

    def busiest(self) -> float:
        return max(self._used.values(), default=0) / TICKS


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a server's worker processes are children of its
    supervisor)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, ()))
    return out


def machine_ticks() -> int:
    """Busy clock ticks of the whole machine (every core): what is neither idle nor iowait."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0
    return sum(values) - values[3] - (values[4] if len(values) > 4 else 0)
