"""``smartcommunity conformance run``: certify a server against the standard."""

from __future__ import annotations

import argparse
import difflib
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ._common import EXIT_INVALID, EXIT_OK, UsageError

#: where the documentation site lists every requirement, one anchor each (req-<class>-<name>)
REQUIREMENTS_URL = "https://w3id.org/smartcommunity/requirements/"


def add_conformance(sub: Any) -> None:
    import httpx  # noqa: F401  (the conformance extra; absent → the command is not offered)

    p = sub.add_parser("conformance", help="run the conformance kit / 一致性测试",
                       description="Certify a server against the standard.")
    commands = p.add_subparsers(dest="conformance_command", metavar="COMMAND")
    r = commands.add_parser(
        "run", help="run the kit against a server",
        description="Run the conformance kit against a server and write report.json, "
                    "junit.xml and report.html. Exit status 0 when certified, 1 when not.")
    r.add_argument("--base-url", help="URL of the server under test (default: the preset's "
                                      "baseUrl)")
    r.add_argument("--preset", required=True, metavar="FILE",
                   help="tokens and communities of the server (conformance-preset.json); "
                        "'demo' for the reference server's demo (smartcommunity serve)")
    r.add_argument("--report-dir", default="conformance-report", metavar="DIR")
    r.add_argument("--classes", metavar="IDS",
                   help="comma-separated class ids to run, e.g. /conf/issues (core always runs)")
    r.add_argument("--requirements", metavar="IDS",
                   help="comma-separated requirement ids: run only their tests, e.g. "
                        "/req/core/etag (to re-run a failure)")
    r.add_argument("--seed", type=int, default=0, help="seed of the generated data")
    r.add_argument("--requirements-url", default=REQUIREMENTS_URL, metavar="URL",
                   help="page of the documentation listing the requirements; the report links "
                        f"each requirement to URL#req-<class>-<name> ({REQUIREMENTS_URL})")
    r.add_argument("--pseudonym-key-file", metavar="FILE",
                   help="the city's shared pseudonym key, when the server under test holds it: "
                        "pseudonyms are then checked (/req/residents/pseudonym-consistent) and "
                        "the spec examples' pseudonyms are recomputed with it")
    r.add_argument("--quiet", action="store_true", help="no progress output")
    r.set_defaults(handler=command)
    c = commands.add_parser("coverage", help="print which tests check each requirement")
    c.set_defaults(handler=coverage_command)


def _ids(raw: str) -> list[str]:
    return [c.strip() for c in raw.split(",") if c.strip()]


def _classes(raw: str, known: list[str], prefix: str) -> list[str]:
    """Class ids from the option; full URIs are accepted; a typo is an error, never ignored."""
    chosen = [c.removeprefix(prefix) for c in _ids(raw)]
    for c in chosen:
        if c not in known:
            near = difflib.get_close_matches(c, known, n=1)
            hint = f"; did you mean {near[0]}?" if near else ""
            raise UsageError(f"--classes: unknown conformance class {c!r}{hint} "
                             f"Known classes: {', '.join(known)}")
    if not chosen:
        raise UsageError("--classes: give at least one class id, e.g. /conf/issues")
    return chosen


def _requirements(raw: str, known: list[str], prefix: str) -> list[str]:
    chosen = [r.removeprefix(prefix) for r in _ids(raw)]
    for r in chosen:
        if r not in known:
            near = difflib.get_close_matches(r, known, n=1)
            hint = f"; did you mean {near[0]}?" if near else ""
            raise UsageError(f"--requirements: unknown requirement {r!r}{hint}")
    return chosen


def command(args: argparse.Namespace) -> int:
    from ..conformance import PresetError, load_preset, run, write_reports
    from ..specification import BASE_URI, load_spec

    spec = load_spec()
    prefix = f"{BASE_URI}{spec.version}"
    path = Path(args.preset)
    if args.preset == "demo" and not path.exists():
        path = Path(__file__).resolve().parents[1] / "conformance" / "demo-preset.json"
    try:
        preset = load_preset(path)
    except PresetError as exc:
        raise UsageError(f"{exc}\n  The preset format is spec/{spec.version}/schemas/"
                         "conformance-preset.json: community, principals (each with token, "
                         "role, communities) and at least one community-staff.") from exc
    base_url = args.base_url or preset.base_url
    if not base_url:
        raise UsageError("give --base-url or a baseUrl in the preset")
    classes = _classes(args.classes, list(spec.conformance_classes), prefix) \
        if args.classes else None
    requirements = _requirements(args.requirements, list(spec.requirements), prefix) \
        if args.requirements else None
    key = None
    if args.pseudonym_key_file:
        try:
            key = Path(args.pseudonym_key_file).read_bytes().strip()
        except OSError as exc:
            raise UsageError(f"cannot read {args.pseudonym_key_file}: {exc.strerror}") from exc
        if len(key) < 16:
            raise UsageError(f"{args.pseudonym_key_file}: the pseudonym key must be at least "
                             "16 bytes")
    progress = None if args.quiet else Progress(sys.stderr)
    if progress is not None:
        _announce(preset, base_url)
    report = run(base_url, preset, classes=classes, requirements=requirements, seed=args.seed,
                 progress=progress, pseudonym_key=key)
    paths = write_reports(report, args.report_dir, args.requirements_url)
    failed = [r for r in report["results"] if r["status"] in ("fail", "error")]
    counts = {s: sum(1 for r in report["results"] if r["status"] == s)
              for s in ("pass", "fail", "warn", "skip", "error")}
    verdict = "CERTIFIED · 通过认证" if report["verdict"] == "pass" else "NOT CERTIFIED · 未通过"
    print(f"{verdict}  {len(report['results'])} tests: "
          + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
          + f" in {report['durationMs'] / 1000:.1f} s")
    if report.get("unknownClasses"):
        print(f"  unknown classes declared: {', '.join(report['unknownClasses'])}")
    for r in failed[:10]:
        print(f"  ✗ {r['id']}: {r['message']['en']}")
    if len(failed) > 10:
        print(f"  … and {len(failed) - 10} more")
    print(f"  reports: {paths['html']}  {paths['json']}  {paths['junit']}")
    return EXIT_OK if report["verdict"] == "pass" else EXIT_INVALID


#: roles whose absence from the preset makes some tests skip (department: two organisations)
USEFUL_ROLES = ("resident", "proxy", "grid-worker", "department", "regulator", "public",
                "system")


def _announce(preset: Any, base_url: str) -> None:
    """Say up front which tests will skip for want of a principal, not only at the end."""
    roles = [p.role for p in preset.principals.values() if p.serves(preset.community)]
    missing = [r for r in USEFUL_ROLES if r not in roles]
    departments = {p.organisation for p in preset.principals.values()
                   if p.role == "department" and p.serves(preset.community)}
    if len(departments) == 1:
        missing.append("a second department")
    sys.stderr.write(f"smartcommunity conformance → {base_url} (community {preset.community}, "
                     f"{len(preset.principals)} principals)\n")
    if missing:
        sys.stderr.write(f"  the preset has no {', '.join(missing)}: tests needing them will "
                         "skip\n")


def coverage_command(args: argparse.Namespace) -> int:
    from ..conformance import coverage
    from ..specification import load_spec

    spec = load_spec()
    for rid, tests in coverage(spec).items():
        req = spec.requirements[rid]
        mark = "✓" if tests else "✗"
        print(f"{mark} {req.level:<6} {rid}  {', '.join(tests) or '-'}")
    return EXIT_OK


MARKS = {"pass": "✓", "fail": "✗", "warn": "!", "skip": "-", "error": "E"}
COLOURS = {"pass": "32", "fail": "31", "warn": "33", "skip": "90", "error": "35"}


class Progress:
    """One line per test as it finishes: position, mark, id, time and, unless it passed, why."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.perf_counter()

    def __call__(self, done: int, total: int, result: dict[str, Any]) -> None:
        status = result["status"]
        mark = MARKS[status]
        if self.tty:
            mark = f"\033[{COLOURS[status]}m{mark}\033[0m"
        width = len(str(total))
        line = f"[{done:>{width}}/{total}] {mark} {result['id']}  {result['durationMs']:.0f} ms"
        if status != "pass":
            line += f"  — {result['message']['en']}"
        self.stream.write(line + "\n")
        self.stream.flush()
