"""``smartcommunity conformance run``: certify a server against the standard."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import EXIT_INVALID, EXIT_OK, UsageError


def add_conformance(sub: Any) -> None:
    import httpx  # noqa: F401  (the conformance extra; absent → the command is not offered)

    p = sub.add_parser("conformance", help="run the conformance kit / 一致性测试",
                       description="Certify a server against the standard.")
    commands = p.add_subparsers(dest="conformance_command", metavar="COMMAND")
    r = commands.add_parser("run", help="run the kit against a server")
    r.add_argument("--base-url", required=True, help="URL of the server under test")
    r.add_argument("--preset", required=True, metavar="FILE",
                   help="tokens and communities of the server (conformance-preset.json)")
    r.add_argument("--report-dir", default="conformance-report", metavar="DIR")
    r.add_argument("--classes", metavar="IDS",
                   help="comma-separated class ids to run, e.g. /conf/issues (core always runs)")
    r.add_argument("--seed", type=int, default=0, help="seed of the generated data")
    r.add_argument("--quiet", action="store_true", help="no progress output")
    r.set_defaults(handler=command)
    c = commands.add_parser("coverage", help="print which tests check each requirement")
    c.set_defaults(handler=coverage_command)


def command(args: argparse.Namespace) -> int:
    from ..conformance import PresetError, load_preset, run, write_reports
    from ..specification import load_spec

    try:
        preset = load_preset(args.preset)
    except PresetError as exc:
        raise UsageError(str(exc)) from exc
    classes = None
    if args.classes:
        known = set(load_spec().conformance_classes)
        classes = [c.strip() for c in args.classes.split(",") if c.strip()]
        unknown = [c for c in classes if c not in known]
        if unknown:
            raise UsageError(f"unknown conformance classes {unknown}; known: {sorted(known)}")
    progress = None if args.quiet else _Progress()
    try:
        report = run(args.base_url, preset, classes=classes, seed=args.seed,
                     progress=progress)
    finally:
        if progress:
            progress.close()
    paths = write_reports(report, args.report_dir)
    failed = [r for r in report["results"] if r["status"] in ("fail", "error")]
    for r in failed[:20]:
        print(f"✗ {r['requirement']} {r['id']}: {r['message']['en']}", file=sys.stderr)
    verdict = "PASS · 通过" if report["verdict"] == "pass" else "FAIL · 未通过"
    print(f"{verdict}  ({len(report['results'])} tests, {len(failed)} failed; "
          f"reports: {paths['html']}, {paths['json']}, {paths['junit']})")
    return EXIT_OK if report["verdict"] == "pass" else EXIT_INVALID


def coverage_command(args: argparse.Namespace) -> int:
    from ..conformance import coverage
    from ..specification import load_spec

    spec = load_spec()
    for rid, tests in coverage(spec).items():
        req = spec.requirements[rid]
        mark = "✓" if tests else "✗"
        print(f"{mark} {req.level:<6} {rid}  {', '.join(tests) or '-'}")
    return EXIT_OK


class _Progress:
    """One line per test on a terminal; a dot per test otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int, test_id: str, status: str) -> None:
        mark = {"pass": "✓", "fail": "✗", "warn": "!", "skip": "-", "error": "E"}[status]
        if self.tty:
            sys.stderr.write(f"\r[{done}/{total}] {mark} {test_id[:90]:<90}")
        else:
            sys.stderr.write(f"[{done}/{total}] {mark} {test_id}\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
