"""Validation throughput: every engine side by side on the same issue documents.

    python benchmarks/validate_bench.py            # library figures (about a minute)
    python benchmarks/validate_bench.py --ndjson   # plus the CLI on 1,000,000 NDJSON lines
    python benchmarks/validate_bench.py --callgrind  # instructions per validate (valgrind)

Prints documents per second for python-jsonschema (the oracle), jsonschema-rs (the compiled
engine), pydantic models (when installed), orjson parsing alone (the ceiling for JSON text),
and smartcommunity.validate on valid and on invalid documents, with the ratios the standard's
targets are stated in.

Wall-clock rates move with whatever else the machine runs. ``--callgrind`` counts the
instructions each validation executes instead (valgrind's callgrind, ``PYTHONHASHSEED=0``): a
child process is run twice under valgrind with identical setup, instrumented only after it,
once validating no documents and once validating ``--calls`` of them, and the difference is
divided by the count. The
figure is the same on a busy machine and an idle one, so versions can be compared run to run.
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from timing import callgrind_instructions, count_from_here

from smartcommunity import Validator, load_spec
from smartcommunity.cli import usable_cpus
from smartcommunity.specification import DEFAULT_VERSION
from smartcommunity.validation import SchemaEngine

SPEC = load_spec(DEFAULT_VERSION)
BASE = json.loads((SPEC.folder / "examples/issue/fire-lane-submitted.json").read_text("utf-8"))


def documents(n: int) -> list[dict[str, Any]]:
    """Distinct valid issues of about 1.8 KB, differing in id and text."""
    out = []
    for i in range(n):
        doc = copy.deepcopy(BASE)
        doc["id"] = str(uuid.UUID(int=i, version=4))
        doc["title"] = f"{BASE['title']} {i}"
        out.append(doc)
    return out


def broken(docs: list[dict[str, Any]], problems: int) -> list[dict[str, Any]]:
    """Each document with one problem (an unknown status) or three (also an unknown member
    and a timestamp without offset)."""
    out = []
    for doc in docs:
        bad = copy.deepcopy(doc)
        bad["status"] = "nonsense"
        if problems > 1:
            bad["vendorField"] = 1
            bad["submittedAt"] = "2025-06-16T07:52:00"
        out.append(bad)
    return out


def rate(fn: Callable[[Any], Any], items: list[Any], seconds: float = 2.0) -> float:
    """Items per second over repeated passes for at least ``seconds``."""
    for item in items[:50]:
        fn(item)
    done, start = 0, time.perf_counter()
    while True:
        for item in items:
            fn(item)
        done += len(items)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def library(n: int) -> dict[str, float]:
    docs = documents(n)
    bad1, bad3 = broken(docs, 1), broken(docs, 3)
    texts = [orjson.dumps(d) for d in docs]
    oracle = Draft202012Validator(SPEC.schema("Issue"), registry=SPEC.registry,
                                  format_checker=Draft202012Validator.FORMAT_CHECKER)
    engine = SchemaEngine(SPEC)
    validator = Validator()
    assert all(validator.validate(d).valid for d in docs[:100])
    assert not any(validator.validate(d).valid for d in bad1[:100] + bad3[:100])
    figures = {
        "python-jsonschema (oracle)": rate(oracle.is_valid, docs[:300]),
        "jsonschema-rs is_valid": rate(lambda d: engine.is_valid("Issue", d), docs),
        "orjson.loads (parse ceiling)": rate(orjson.loads, texts),
        "validate(), valid documents": rate(validator.validate, docs),
        "validate(), invalid, 1 problem": rate(validator.validate, bad1),
        "validate(), invalid, 3 problems": rate(validator.validate, bad3),
        "validate(), valid JSON text": rate(validator.validate, texts),
    }
    try:
        from smartcommunity.models import Issue
    except ImportError:
        pass
    else:
        figures["pydantic Issue.model_validate"] = rate(Issue.model_validate, docs)
    return figures


def cli(lines: int, jobs: int) -> dict[str, float]:
    docs = documents(1000)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "issues.ndjson"
        with path.open("wb") as fh:
            chunk = b"\n".join(orjson.dumps(d) for d in docs) + b"\n"
            for _ in range(lines // len(docs)):
                fh.write(chunk)
        size = path.stat().st_size
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "smartcommunity.cli", "validate", "--quiet",
             "--jobs", str(jobs), str(path)],
            capture_output=True, check=False,
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"CLI failed: {proc.stdout[-500:]!r} {proc.stderr[-500:]!r}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"documents/s": lines / elapsed, "seconds": elapsed, "MiB of input": size / 2**20,
            "peak RSS of one process, MiB": peak_kib / 1024}


# -- instruction counts ----------------------------------------------------------------------

#: what a callgrind child measures: one call per document
_CASES: dict[str, str] = {
    "validate(), valid issue": "valid",
    "validate(), invalid issue, 1 problem": "invalid1",
    "validate(), valid JSON text": "text",
    "jsonschema-rs is_valid alone": "schema",
}


def _callgrind_child(case: str, calls: int, prepared: int) -> None:
    """Set up everything a case needs for ``prepared`` documents, then make ``calls`` calls
    (the only part that varies between the two runs the parent subtracts)."""
    docs = documents(prepared + 20)
    validator = Validator()
    engine = SchemaEngine(SPEC)
    items: list[Any]
    fn: Callable[[Any], object]
    if case == "valid":
        items, fn = docs, validator.validate
    elif case == "invalid1":
        items, fn = broken(docs, 1), validator.validate
    elif case == "text":
        items, fn = [orjson.dumps(d) for d in docs], validator.validate
    elif case == "schema":
        items, fn = docs, (lambda d: engine.is_valid("Issue", d))
    else:  # "rule:<name>": one library rule alone, on documents the schema accepted
        from smartcommunity.validation import Context, Report, compile_plan, rules_for

        plan = compile_plan(SPEC, "Issue")
        chosen = next(r for r in rules_for(SPEC.version, "Issue") if r.__name__ == case[5:])

        def one_rule(doc: dict[str, Any]) -> None:
            chosen(doc, Context(SPEC, plan, Report([])))

        items, fn = docs, one_rule
    for item in items[-20:]:  # warm every cache on documents never counted
        fn(item)
    count_from_here()  # only the calls are counted
    for item in items[:calls]:
        fn(item)


def _instructions(case: str, calls: int, prepared: int, tmp: Path) -> int:
    return callgrind_instructions([__file__, "--callgrind-child", case, str(calls), str(prepared)],
                                  tmp / f"callgrind-{case}-{calls}.out")


def _rule_cases() -> dict[str, str]:
    """One case per library rule of an issue: where the instructions beyond the schema go."""
    from smartcommunity.validation import rules_for

    return {f"  rule {r.__name__}": f"rule:{r.__name__}"
            for r in rules_for(SPEC.version, "Issue")}


def callgrind(calls: int, cases: list[str], parts: bool = False) -> dict[str, float]:
    """Instructions per call of each case: (run with ``calls`` calls − run with none) / calls;
    with ``parts``, also each library rule of an issue alone."""
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed; on Debian or Ubuntu: apt-get install -y valgrind")
    chosen = {name: _CASES[name] for name in cases}
    if parts:
        chosen.update(_rule_cases())
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, case in chosen.items():
            base = _instructions(case, 0, calls, Path(tmp))
            figures[name] = (_instructions(case, calls, calls, Path(tmp)) - base) / calls
    return figures


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--callgrind-child":
        _callgrind_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--callgrind", action="store_true",
                        help="count instructions per validate under valgrind instead of timing")
    parser.add_argument("--calls", type=int, default=300,
                        help="documents validated per callgrind run")
    parser.add_argument("--case", action="append", choices=sorted(_CASES),
                        help="callgrind: only this case (repeatable)")
    parser.add_argument("--parts", action="store_true",
                        help="callgrind: also count each library rule of an issue alone")
    parser.add_argument("--ndjson", action="store_true", help="also run the CLI on NDJSON")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=usable_cpus())
    args = parser.parse_args()

    size = len(orjson.dumps(BASE))
    if args.callgrind:
        print(f"issue documents of {size} bytes; Python {sys.version.split()[0]}; "
              f"instructions per call under callgrind ({args.calls} calls, PYTHONHASHSEED=0)")
        counts = callgrind(args.calls, args.case or list(_CASES), args.parts)
        width = max(map(len, counts))
        for name, value in counts.items():
            print(f"  {name:<{width}}  {value:>12,.0f} instructions")
        return
    print(f"issue documents of {size} bytes; Python {sys.version.split()[0]}; "
          f"{usable_cpus()} cores")
    figures = library(args.documents)
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"  {name:<{width}}  {value:>12,.0f} documents/s")
    oracle = figures["python-jsonschema (oracle)"]
    valid = figures["validate(), valid documents"]
    invalid1 = figures["validate(), invalid, 1 problem"]
    invalid3 = figures["validate(), invalid, 3 problems"]
    print(f"  validate() vs python-jsonschema: {valid / oracle:.0f}x (target >= 30x)")
    print(f"  validate() valid: {valid:,.0f}/s (target >= 50,000/s)")
    print(f"  invalid vs valid: {invalid1 / valid:.2f} with 1 problem, "
          f"{invalid3 / valid:.2f} with 3 (target >= 0.50)")
    if args.ndjson:
        result = cli(args.lines, args.jobs)
        print(f"smartcommunity validate on {args.lines:,} NDJSON lines "
              f"({result['MiB of input']:,.0f} MiB), {args.jobs} jobs:")
        print(f"  {result['documents/s']:,.0f} documents/s in {result['seconds']:.1f} s "
              f"(target >= 80,000/s); peak RSS {result['peak RSS of one process, MiB']:.0f} MiB")


if __name__ == "__main__":
    main()
