"""``smartcommunity publish``: write the public pages as static files (/conf/public-pages).

From files (``--input``: JSON or NDJSON documents; only the consultations the public may read
are published, redacted for the public, with the opinions and proposals on them, and issue
statistics are counted from the issues) or from a server (``--base-url``: the consultations,
opinions and proposals a caller without a token reads, and the figures the server publishes:
the months of /public/figures.json, each month's pages of /public/figures/{month}.json).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

# Imported here, not when run: without the publish extra (Jinja2, fpdf2) the import fails and
# the command only says which extra to install.
from ..exceptions import DocumentError
from ..transparency import IssueStatistics, Site, is_month, statistics_from_issues
from ._common import EXIT_INVALID, EXIT_OK, UsageError, discover, pages, subcommand


def add_publish(sub: Any) -> None:
    p = subcommand(
        sub, "publish", command, help="write the public pages as static files / 生成公开页面",
        description="Write the public pages (consultation timelines, issue figures with small "
                    "cells suppressed, printable A4 notices) as static files.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", nargs="+", metavar="PATH",
                        help="JSON or NDJSON files or folders of documents")
    source.add_argument("--base-url", metavar="URL", help="a server's API root")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write the pages to")


Read = tuple[list[dict[str, Any]], list[dict[str, Any]], IssueStatistics]
#: the collections of residents' voice shown on a consultation's page
VOICES = ("opinions", "proposals")


def _from_files(paths: list[str]) -> Read:
    from ..specification import load_spec

    spec = load_spec()
    types = {collection: rtype for rtype, collection in spec.collections.items()}
    voice_types = {types[c] for c in VOICES if c in types}
    consultations: list[dict[str, Any]] = []
    voices: list[dict[str, Any]] = []
    issues: list[dict[str, Any]] = []
    for source in discover(paths, False):
        for line, raw in source.open():
            try:
                doc = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                where = f"{source.name}:{line}" if line else source.name
                raise UsageError(f"{where}: not JSON ({exc})") from exc
            for item in doc if isinstance(doc, list) else [doc]:
                if not isinstance(item, dict):
                    continue
                if item.get("resourceType") == types["consultations"]:
                    consultations.append(item)
                elif item.get("resourceType") in voice_types:
                    voices.append(item)
                elif item.get("resourceType") == types["issues"]:
                    # Only what the statistics count is kept, not the issue.
                    issues.append({k: item.get(k) for k in
                                   ("category", "communityDivisionCode", "submittedAt")})
    return consultations, voices, statistics_from_issues(issues)


def _from_server(base_url: str) -> Read:
    import httpx

    from ..specification import load_spec

    collection = load_spec().collections
    types = {c: t for t, c in collection.items()}
    try:
        with httpx.Client(base_url=base_url.rstrip("/") + "/", timeout=30) as client:
            # No token: the server answers as for the public (/req/privacy/anonymous-public-read).
            consultations = list(pages(client, collection[types["consultations"]],
                                       {"limit": "100"}))
            # Each published consultation's opinions and proposals, as the public reads them.
            voices = [voice for c in VOICES if c in types for doc in consultations
                      for voice in pages(client, c, {"limit": "100",
                                                     "consultation": str(doc.get("id"))})]
            return consultations, voices, _figures(client)
    except httpx.HTTPError as exc:
        raise UsageError(f"cannot read {base_url}: {exc}") from exc


def _figures(client: Any) -> IssueStatistics:
    """Every cell a server publishes: each month of its list, each page of the month, ``next``
    resolved against the page it was read from."""
    from urllib.parse import urljoin

    def get(url: str) -> Any:
        resp = client.get(url)
        if resp.status_code != 200:
            raise UsageError(f"GET {url} answered {resp.status_code}")
        try:
            return resp.json()
        except ValueError as exc:
            raise UsageError(f"GET {url} answered no JSON ({exc})") from exc

    def malformed(where: str, pointer: str) -> DocumentError:
        return DocumentError(f"{where} 的 {pointer} 缺失或格式不对 / {pointer} of {where} is "
                             "missing or malformed")

    base = str(client.base_url)
    listed = get(urljoin(base, "public/figures.json"))
    if not isinstance(listed, dict):
        raise malformed("public/figures.json", "/")
    cells: list[Any] = []
    for i, month in enumerate(listed.get("months") or ()):
        if not (isinstance(month, str) and is_month(month)):
            raise malformed("public/figures.json", f"/months/{i}")
        url: str | None = urljoin(base, f"public/figures/{month}.json")
        seen: set[str] = set()
        while url is not None and url not in seen:  # a next going round is not followed
            seen.add(url)
            page = get(url)
            if not isinstance(page, dict) or not isinstance(page.get("cells") or [], list):
                raise malformed(url, "/cells")
            cells += page.get("cells") or ()
            following = page.get("next")
            url = urljoin(url, following) if isinstance(following, str) else None
    return IssueStatistics.from_json({"minimumCellCount": listed.get("minimumCellCount"),
                                      "cells": cells})


def command(args: argparse.Namespace) -> int:
    out = Path(args.out)
    try:
        if args.input:
            consultations, voices, stats = _from_files(args.input)
            site = Site(consultations, stats, voices=voices)
        else:
            consultations, voices, stats = _from_server(args.base_url)
            site = Site(consultations, stats, redacted=True, voices=voices)
        written, missing = site.write(out)
    except DocumentError as exc:  # refused before a file is written
        raise UsageError(str(exc)) from exc
    print(f"✓ {len(site.consultations)} consultations, {len(stats.cells)} figures: "
          f"{len(written)} files in {out}")
    if missing is not None:
        print(f"✗ 公示未生成 / notices not drawn: {missing}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK
