"""``smartcommunity open311 import``: issues from an export of an existing Open311 system,
with a loss report (/conf/open311)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from ..exceptions import Open311Error
from ._common import EXIT_INVALID, EXIT_OK, UsageError, profile_option, subcommand


def add_open311(sub: Any) -> None:
    p = subcommand(
        sub, "open311", None, help="Open311 GeoReport v2 bridge tools / Open311 桥接工具",
        description="Tools for the Open311 GeoReport v2 bridge (mappings/open311.json).")
    commands = p.add_subparsers(dest="open311_command", metavar="COMMAND", required=True)
    i = subcommand(
        commands, "import", import_command,
        help="issues from an Open311 export, with a loss report / 导入 Open311 导出",
        description="Convert a GeoReport v2 'GET requests' export (JSON or XML) into issues "
                    "(NDJSON) by the spec's mapping, and report what each field lost and why. "
                    "Load the issues with 'smartcommunity import --ndjson'.")
    i.add_argument("export", metavar="FILE", help="the export: JSON array or XML, - for stdin")
    i.add_argument("--community", metavar="CODE",
                   help="12-digit division code of the community the requests belong to "
                        "(default: each request's jurisdiction_id, address_id naming a grid "
                        "of --profile, or point inside one; requests left ambiguous are "
                        "refused)")
    i.add_argument("--system", required=True, metavar="URI",
                   help="URI of the Open311 system: each issue keeps its id as an external "
                        "reference of this system")
    i.add_argument("--profile", metavar="FILE",
                   help="city profile whose service catalogue the service codes are checked "
                        "against (default: the spec's issue categories)")
    i.add_argument("--role", default=None,
                   help="role recorded as the submitter (default: the mapping's importRole)")
    i.add_argument("--output", metavar="FILE", help="write the issues here (default: stdout)")
    i.add_argument("--report", metavar="FILE", help="write the loss report here as JSON")
    i.add_argument("--spec-version", default=None, help="spec version (the profile's, else "
                                                        "the default)")
    i.add_argument("--progress", action="store_true",
                   help="show progress even when standard error is not a terminal")


def _progress(stream: TextIO, enabled: bool) -> Any:
    if not enabled:
        return None

    def show(done: int, total: int) -> None:
        if done == total or done % 50 == 0:
            stream.write(f"\rconverting {done}/{total} requests {done * 100 // max(total, 1)}%")
            stream.flush()
        if done == total:
            stream.write("\n")

    return show


def import_command(args: argparse.Namespace) -> int:
    from ..open311 import catalogue, import_requests, mapping, read_export
    from ..specification import DEFAULT_VERSION

    profile = profile_option(args.profile)
    version = args.spec_version or (profile.spec_version if profile else DEFAULT_VERSION)
    try:
        data = sys.stdin.buffer.read() if args.export == "-" else Path(args.export).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.export}: {exc.strerror}") from exc
    try:
        requests = read_export(data, version)
    except Open311Error as exc:
        for problem in exc.problems:
            print(f"✗ {args.export}: {problem['message']['en']} / "
                  f"{problem['message']['zh-Hans']}", file=sys.stderr)
        return EXIT_INVALID
    report = import_requests(
        requests, catalogue(profile, version), community=args.community,
        role=args.role or str(mapping(version).raw["importRole"]),
        system=args.system, progress=_progress(sys.stderr, args.progress or sys.stderr.isatty()))
    lines = "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in report.issues)
    if args.output:
        Path(args.output).write_text(lines, encoding="utf-8")
    else:
        sys.stdout.write(lines)
    if args.report:
        Path(args.report).write_text(json.dumps(report.to_dict(), ensure_ascii=False,
                                                indent=2) + "\n", encoding="utf-8")
    print(f"{len(report.issues)} of {len(requests)} requests imported; "
          f"{len(report.refused)} refused", file=sys.stderr)
    for name, count in sorted(report.lost.items()):
        why = report.reasons[name]
        print(f"  lost {name} in {count}: {why['en']} / {why['zh-Hans']}", file=sys.stderr)
    for index, rid, problems in report.refused:
        said = "; ".join(p["message"]["en"] for p in problems)
        print(f"✗ request {index} ({rid or 'no id'}): {said}", file=sys.stderr)
    return EXIT_OK if not report.refused else EXIT_INVALID
