"""``smartcommunity report``: the department ledgers, every figure and an HTML report.

Issues come from NDJSON files (or a mirrored change feed) with ``--input``, or from a server's
``GET /issues`` as the preset's regulator with ``--base-url``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]  # noqa: F401  # the [report] extra

from ..exceptions import IndicatorError, ProfileError
from ._common import EXIT_OK, UsageError, pages, profile_option, progress_bar, subcommand

#: the operation whose readers may read every issue the report counts
_OPERATION = "getIndicators"
#: a month of the calendar: the years 0001 to 9999, as GET /indicators takes them
_PERIOD = re.compile(r"^(?!0000)[0-9]{4}-(0[1-9]|1[0-2])$")
#: items per page when reading a server (the API's maximum)
_PAGE = 500


def add_report(sub: Any) -> None:
    p = subcommand(
        sub, "report", command, help="department ledgers and indicator report / 部门考核台账和报告",
        description="Compute the assessment indicators (indicators.json of the spec) for a "
                    "month and write the department ledgers (CSV, XLSX), figures.json and "
                    "report.html into a folder.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", metavar="PATH",
                        help="NDJSON file or folder of issues, or of a mirrored change feed")
    source.add_argument("--base-url", metavar="URL",
                        help="read the issues from this server as the preset's regulator")
    p.add_argument("--preset", metavar="FILE",
                   help="conformance preset holding the regulator's token (with --base-url)")
    p.add_argument("--profile", metavar="FILE",
                   help="city profile: response limits, calendar, targets, added indicators")
    p.add_argument("--period", required=True, metavar="YYYY-MM", help="the month reported")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    p.add_argument("--engine", choices=("auto", "duckdb", "python"), default="auto",
                   help="auto: DuckDB for NDJSON files when installed, else the streaming "
                        "pass; a mirrored change feed is always read by the streaming pass")
    p.add_argument("--quiet", action="store_true", help="no progress line")


def _from_server(base_url: str, preset_path: str | None) -> Iterator[Mapping[str, Any]]:
    import httpx

    from ..conformance import PresetError, load_preset
    from ..specification import load_spec

    if not preset_path:
        raise UsageError("--base-url needs --preset with a regulator's token")
    try:
        preset = load_preset(preset_path)
    except PresetError as exc:
        raise UsageError(str(exc)) from exc
    readers = load_spec().operation_roles(_OPERATION) or frozenset()
    regulator = next((p for p in preset.principals.values() if p.role in readers), None)
    if regulator is None:
        raise UsageError(f"{preset_path} has no principal with a role that reads the "
                         f"indicators ({', '.join(sorted(readers))})")
    headers = {"Authorization": f"Bearer {regulator.token}", "Accept": "application/json"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        yield from pages(client, "/issues", {"limit": _PAGE})


def _published_profile(base_url: str) -> dict[str, Any] | None:
    """The city profile a server runs and so counts its figures with (GET /profile), or None
    when it runs none: a report of a server's data follows the same calendar and limits."""
    import httpx

    try:
        resp = httpx.get(f"{base_url.rstrip('/')}/profile", timeout=60)
    except httpx.HTTPError as exc:
        raise UsageError(f"cannot read {base_url}/profile: {exc}") from exc
    body = resp.json() if resp.status_code == 200 else None
    return body if isinstance(body, dict) else None


def command(args: argparse.Namespace) -> int:
    from ..indicators import Tally, load_definitions, write_report
    from ..profiles import load_profile

    if not _PERIOD.match(args.period):
        raise UsageError(f"--period {args.period}: write the month as YYYY-MM, of the years "
                         "0001 to 9999, e.g. 2026-11")
    profile = profile_option(args.profile)
    published = (_published_profile(args.base_url)
                 if profile is None and args.base_url and args.preset else None)
    if published is not None:
        try:
            profile = load_profile(published)
        except ProfileError as exc:
            raise UsageError(f"GET /profile: {exc}") from exc
    try:
        tally = Tally(load_definitions(profile), profile)
        if args.input:
            path = Path(args.input)
            if not path.exists():
                raise UsageError(f"no such file or folder: {args.input}")
            files = _ndjson_files(path)
            total = sum(p.stat().st_size for p in files)
            if _columnar(args.engine, files):
                from ..indicators import columnar_tally

                if not args.quiet:
                    print(f"DuckDB: {len(files)} 个文件 files, {total / 1e6:,.0f} MB …",
                          file=sys.stderr)
                tally = columnar_tally(files, profile, tally.definitions)
            else:
                _stream(tally, path, total, args.quiet)
        else:
            for issue in _from_server(args.base_url, args.preset):
                tally.add(issue)
        files_out = write_report(tally, args.period, args.out, profile)
    except IndicatorError as exc:
        raise UsageError(str(exc)) from exc
    print(f"{tally.issues} 件诉求 issues, {tally.cases} 个考核件 cases → "
          f"{files_out.ledger_csv}, {files_out.ledger_xlsx}, {files_out.figures_json}, "
          f"{files_out.report_html}", file=sys.stderr)
    return EXIT_OK


def _ndjson_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.suffix in (".ndjson", ".jsonl"))


def _columnar(engine: str, files: list[Path]) -> bool:
    """Whether DuckDB reads ``files``: asked for, or installed and the files hold documents
    (a mirrored change feed needs the last event of each issue: the streaming pass)."""
    from ..indicators import columnar_available

    if engine == "python" or not files:
        return False
    if engine == "duckdb":
        if not columnar_available():
            raise UsageError('--engine duckdb needs pip install "smartcommunity[report]"')
        return True
    if not columnar_available():
        return False
    for file in files:
        with file.open("rb") as fh:
            head = fh.readline(1 << 20)
        if b'"specversion"' in head:
            return False
    return True


def _stream(tally: Any, path: Path, total: int, quiet: bool) -> None:
    from ..indicators import read_issues

    with progress_bar(total, not quiet) as advance:
        seen = [0]

        def moved(done: int) -> None:
            advance(done - seen[0])
            seen[0] = done

        for issue in read_issues(path, progress=moved):
            tally.add(issue)
