"""The examples in the docstrings of the library, the server and the benchmarks run and give
what they show: an example a reader copies from the code works as written.

They run in a process of their own: importing every module (the benchmarks with their own
folder on the path) changes what the rest of the suite's process holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: run in a fresh interpreter: each module with examples, what doctest found
_RUN = """
import doctest, importlib, io, json, pkgutil, sys
from contextlib import redirect_stdout
sys.path[:0] = [ROOT + "/benchmarks", ROOT + "/src", ROOT]
import reference_server, smartcommunity
names = ["benchmarks." + p for p in BENCHMARKS]
for package in (smartcommunity, reference_server):
    names.append(package.__name__)
    # a command's __main__ runs it; a migration runs inside Alembic only
    names += [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
              if not m.name.endswith("__main__") and ".migrations." not in m.name]
found = {}
for name in names:
    module = importlib.import_module(name)
    out = io.StringIO()
    with redirect_stdout(out):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    if result.attempted:
        found[name] = [result.attempted, result.failed, out.getvalue()]
print(json.dumps(found))
"""


def test_the_examples_of_every_module_give_what_they_show() -> None:
    benchmarks = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py")
                        if p.stem != "__init__")
    script = f"ROOT = {str(ROOT)!r}\nBENCHMARKS = {benchmarks!r}\n{_RUN}"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    for name in ("smartcommunity.uris", "smartcommunity.pointers", "benchmarks.scale_bench",
                 "benchmarks.timing"):
        assert name in found, f"{name} shows examples; the run did not read them"
    failed = {name: out for name, (_, fails, out) in found.items() if fails}
    assert not failed, "\n".join(failed.values())
