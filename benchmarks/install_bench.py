"""What the library alone costs a vendor: install size and import time, beside jsonschema alone.

    python benchmarks/install_bench.py             # 7 runs of each import (about 15 seconds)
    python benchmarks/install_bench.py --runs 21

Install size: the files a profile installs into site-packages (the distributions its
requirements name, recursively, with markers and extras evaluated, as installed here), plus
the smartcommunity wheel built from this checkout, unpacked. Import time: the cumulative time
``python -X importtime -c "import NAME"`` reports for the top module, and the processor time
the import adds to an empty interpreter; medians of the runs, each in a fresh interpreter with
bytecode already compiled.
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def closure(requirements: list[str]) -> dict[str, metadata.Distribution]:
    """Installed distributions the requirements need, by canonical name."""
    found: dict[str, metadata.Distribution] = {}
    extras_of: dict[str, set[str]] = {}
    queue = [Requirement(r) for r in requirements]
    while queue:
        req = queue.pop()
        name = canonicalize_name(req.name)
        if name in extras_of and set(req.extras) <= extras_of[name]:
            continue
        extras_of.setdefault(name, set()).update(req.extras)
        found[name] = dist = metadata.distribution(req.name)
        for raw in dist.requires or ():
            sub = Requirement(raw)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e})
                                         for e in ("", *extras_of[name])):
                queue.append(sub)
    return found


def installed_bytes(dist: metadata.Distribution) -> int:
    total = 0
    for f in dist.files or ():
        if ".." in f.parts or "__pycache__" in f.parts:
            continue
        path = Path(str(f.locate()))
        if path.is_file():
            total += path.stat().st_size
    return total


def built_wheel() -> tuple[list[str], int]:
    """The smartcommunity wheel of this checkout: its requirements and its unpacked size."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "--no-index", "-q", "-w", out, str(ROOT)], check=True)
        (wheel,) = Path(out).glob("smartcommunity-*.whl")
        with zipfile.ZipFile(wheel) as zf:
            size = sum(i.file_size for i in zf.infolist())
            (meta,) = (n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            text = zf.read(meta).decode()
    requires = [line.split(": ", 1)[1] for line in text.splitlines()
                if line.startswith("Requires-Dist: ")]
    return [r for r in requires if "extra ==" not in r], size


def import_ms(module: str, runs: int, source: Path = ROOT) -> tuple[float, float]:
    """Median import time of ``module`` in milliseconds: the cumulative time ``-X importtime``
    reports (wall clock), and the processor time the import adds to an empty interpreter
    (steadier on a busy machine)."""
    env = {"PYTHONPATH": str(source / "src"), "PATH": "/usr/bin:/bin"}
    wall, cpu = [], []
    for i in range(runs + 1):  # the first run compiles bytecode: not counted
        for code, sink in ((f"import {module}", cpu), ("pass", None)):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            result = subprocess.run([sys.executable, "-X", "importtime", "-c", code],
                                    capture_output=True, text=True, check=True, env=env)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            used = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
            if i == 0:
                continue
            if sink is None:
                cpu[-1] -= used
                continue
            sink.append(used)
            rows = [r for r in result.stderr.splitlines() if re.search(rf"\|\s*{module}$", r)]
            wall.append(int(rows[-1].split("|")[1]) / 1000)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", type=Path, metavar="CHECKOUT",
                        help="also time `import smartcommunity` of another checkout")
    args = parser.parse_args()

    requires, own = built_wheel()
    library = closure(requires)
    library_mb = (own + sum(installed_bytes(d) for d in library.values())) / 1e6
    plain = closure(["jsonschema"])
    plain_mb = sum(installed_bytes(d) for d in plain.values()) / 1e6

    def row(label: str, packages: str, mb: str, times: tuple[float, float]) -> None:
        print(f"{label:34} {packages:>8} {mb:>10} {times[0]:12.1f} {times[1]:10.1f}")

    print(f"{'':34} {'packages':>8} {'install MB':>10} {'importtime ms':>12} {'CPU ms':>10}")
    row("smartcommunity (library alone)", str(len(library) + 1), f"{library_mb:.1f}",
        import_ms("smartcommunity", args.runs))
    if args.before:
        row(f"smartcommunity of {args.before.name}", "", "",
            import_ms("smartcommunity", args.runs, args.before))
    row("jsonschema alone", str(len(plain)), f"{plain_mb:.1f}", import_ms("jsonschema", args.runs))
    print(f"the smartcommunity wheel itself, unpacked: {own / 1e6:.1f} MB")
    heaviest = sorted(library.items(), key=lambda kv: -installed_bytes(kv[1]))[:5]
    print("largest dependencies of the library: " + ", ".join(
        f"{name} {installed_bytes(d) / 1e6:.1f} MB" for name, d in heaviest))


if __name__ == "__main__":
    main()
