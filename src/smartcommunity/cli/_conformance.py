"""``smartcommunity conformance run``: certify a server against the standard.

Registering the command needs nothing beyond the library: the kit and what it needs (httpx,
the ``conformance`` extra) are imported when the command runs, so without the extra the
command is still listed and says what to install.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from ..specification import BASE_URI, DEFAULT_VERSION, Spec, available_versions, load_spec
from ._common import EXIT_INVALID, EXIT_OK, UsageError, profile_option, subcommand

#: nothing failed, but a MUST requirement was not verified (its test skipped)
EXIT_QUALIFIED = 3

#: where the documentation site lists every requirement, one anchor each (req-<class>-<name>)
REQUIREMENTS_URL = "https://w3id.org/smartcommunity/requirements/"


def add_conformance(sub: Any) -> None:
    p = subcommand(sub, "conformance", None, help="run the conformance kit / 一致性测试",
                   description="Certify a server against the standard.")
    commands = p.add_subparsers(dest="conformance_command", metavar="COMMAND")
    r = subcommand(
        commands, "run", command, help="run the kit against a server",
        description="Run the conformance kit against a server and write report.json, "
                    "junit.xml and report.html. Exit status 0 when certified, 1 when not, "
                    f"{EXIT_QUALIFIED} when nothing failed but a MUST requirement could not "
                    "be verified (a qualified verdict, not a certificate).")
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
    r.add_argument("--seed", type=int, default=0,
                   help="seed of the generated data; each test draws from it and its own id, "
                        "so a test draws the same whichever tests run with it")
    r.add_argument("--spec-version", choices=available_versions(), metavar="VERSION",
                   help="version of the standard to test against (default: the latest the "
                        f"server declares at /conformance; installed: "
                        f"{', '.join(available_versions())})")
    r.add_argument("--requirements-url", default=REQUIREMENTS_URL, metavar="URL",
                   help="page of the documentation listing the requirements; the report links "
                        f"each requirement to URL#req-<class>-<name> ({REQUIREMENTS_URL})")
    r.add_argument("--pseudonym-key-file", metavar="FILE",
                   help="the city's shared pseudonym key, when the server under test holds it: "
                        "pseudonyms are then checked (/req/residents/pseudonym-consistent) and "
                        "the spec examples' pseudonyms are recomputed with it")
    r.add_argument("--profile", metavar="FILE",
                   help="certify the server against this city profile (/conf/profiles) / "
                        "按城市配置认证")
    r.add_argument("--quiet", action="store_true", help="no progress output")
    c = subcommand(commands, "coverage", coverage_command,
                   help="print which tests check each requirement")
    c.add_argument("--spec-version", choices=available_versions(), default=DEFAULT_VERSION,
                   metavar="VERSION", help=f"version of the standard (default {DEFAULT_VERSION})")


def _chosen(option: str, raw: str, known: Iterable[str], what: str) -> list[str]:
    """The ids an option names; full URIs of any installed version are accepted; a typo is an
    error, never ignored."""
    names = list(known)
    chosen = []
    for given in (c.strip() for c in raw.split(",") if c.strip()):
        for version in available_versions():
            given = given.removeprefix(f"{BASE_URI}{version}")
        if given not in names:
            near = difflib.get_close_matches(given, names, n=1)
            hint = f"; did you mean {near[0]}?" if near else ""
            raise UsageError(f"{option}: unknown {what} {given!r}{hint} "
                             f"Known: {', '.join(names)}")
        chosen.append(given)
    if not chosen:
        raise UsageError(f"{option}: give at least one {what} id, e.g. {names[0]}")
    return chosen


def _key(path: str | None, spec: Spec) -> bytes | None:
    """The city's pseudonym key from ``path``, at least as long as /req/privacy/pseudonym
    asks."""
    if not path:
        return None
    try:
        key = Path(path).read_bytes().strip()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    shortest = int(spec.parameter("/req/privacy/pseudonym", "minimumKeyBytes"))
    if len(key) < shortest:
        raise UsageError(f"{path}: the pseudonym key must be at least {shortest} bytes")
    return key


def command(args: argparse.Namespace) -> int:
    from ..conformance import VERDICT_TEXT, PresetError, load_preset, run, write_reports
    from ..conformance import all_tests as kit_tests

    # Ids and the preset are checked against the version asked for, or the default one; the
    # run itself takes the server's version unless one is asked for.
    spec = load_spec(args.spec_version or DEFAULT_VERSION)
    path = Path(args.preset)
    if args.preset == "demo" and not path.exists():
        path = Path(__file__).resolve().parents[1] / "conformance" / "demo-preset.json"
    try:
        preset = load_preset(path, spec.version)
    except PresetError as exc:
        raise UsageError(f"{exc}\n  The preset format is spec/{spec.version}/schemas/"
                         "conformance-preset.json: community, principals (each with token, "
                         "role, communities) and a principal the kit writes its test data "
                         "as.") from exc
    base_url = args.base_url or preset.base_url
    if not base_url:
        raise UsageError("give --base-url or a baseUrl in the preset")
    classes = _chosen("--classes", args.classes, spec.conformance_classes,
                      "conformance class") if args.classes else None
    requirements = _chosen("--requirements", args.requirements, spec.requirements,
                           "requirement") if args.requirements else None
    key = _key(args.pseudonym_key_file, spec)
    profile = profile_option(args.profile)
    progress = None if args.quiet else Progress(sys.stderr)
    if progress is not None:
        _announce(preset, base_url, kit_tests(spec))
    report = run(base_url, preset, classes=classes, requirements=requirements, seed=args.seed,
                 version=args.spec_version, progress=progress, pseudonym_key=key,
                 command=_command(args, base_url), profile=profile)
    paths = write_reports(report, args.report_dir, args.requirements_url)
    failed = [r for r in report["results"] if r["status"] in ("fail", "error")]
    counts = {s: sum(1 for r in report["results"] if r["status"] == s)
              for s in ("pass", "fail", "warn", "skip", "error")}
    zh, en = VERDICT_TEXT[report["verdict"]]
    verdict = f"{en} · {zh}"
    print(f"{verdict}  {len(report['results'])} tests: "
          + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
          + f" in {report['durationMs'] / 1000:.1f} s")
    if report.get("unknownClasses"):
        print(f"  unknown classes declared: {', '.join(report['unknownClasses'])}")
    for r in failed[:10]:
        print(f"  ✗ {r['id']}: {r['message']['en']}")
    if len(failed) > 10:
        print(f"  … and {len(failed) - 10} more")
    for u in report.get("unverified", [])[:10]:
        print(f"  ? {u['requirement']} not verified: {u['reason']['en']}")
    print(f"  reports: {paths['html']}  {paths['json']}  {paths['junit']}")
    return {"pass": EXIT_OK, "qualified": EXIT_QUALIFIED}.get(report["verdict"], EXIT_INVALID)


def _command(args: argparse.Namespace, base_url: str) -> list[str]:
    """The command line of this run as a user can paste it again: absolute paths, no
    secrets (tokens live in the preset file, the key in its own file)."""
    def absolute(path: str) -> str:
        return path if path == "demo" and not Path(path).exists() else str(Path(path).resolve())

    command = ["smartcommunity", "conformance", "run", "--base-url", base_url,
               "--preset", absolute(args.preset)]
    for option, value in (("--spec-version", args.spec_version),
                          ("--classes", args.classes), ("--requirements", args.requirements),
                          ("--pseudonym-key-file",
                           args.pseudonym_key_file and absolute(args.pseudonym_key_file)),
                          ("--report-dir", str(Path(args.report_dir).resolve()))):
        if value:
            command += [option, value]
    if args.seed:
        command += ["--seed", str(args.seed)]
    if args.requirements_url != REQUIREMENTS_URL:
        command += ["--requirements-url", args.requirements_url]
    return command


def _announce(preset: Any, base_url: str, tests: Iterable[Any]) -> None:
    """Say up front which tests will skip for want of a principal, not only at the end: the
    roles the tests need (``needs``) that the preset lacks, or has too few of."""
    wanted: dict[str, int] = {}
    for test in tests:
        for role in test.needs:
            wanted[role] = max(wanted.get(role, 0), test.needs.count(role))
    missing = []
    for role, count in wanted.items():
        # Principals naming an organisation count by organisation, as the runner counts them.
        have = len({p.organisation or p.name for p in preset.principals.values()
                    if p.role == role and p.serves(preset.community)})
        if have < count:
            missing.append(role if count == 1 else f"{count} × {role} (has {have})")
    sys.stderr.write(f"smartcommunity conformance → {base_url} (community {preset.community}, "
                     f"{len(preset.principals)} principals)\n")
    if missing:
        sys.stderr.write(f"  the preset has no {', '.join(missing)}: tests needing them will "
                         "skip\n")


def coverage_command(args: argparse.Namespace) -> int:
    from ..conformance import coverage

    spec = load_spec(args.spec_version)
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
