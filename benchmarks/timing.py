"""The timing helpers every benchmark shares: a median of wall-clock runs, and the instructions
valgrind's callgrind counts (stable on a busy machine, where wall-clock times are not)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
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
