"""``smartcommunity redact``: print a document as a given audience may see it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from ..exceptions import RedactionError, UnknownSpecVersion
from ..specification import available_versions, load_spec
from ._common import EXIT_INVALID, EXIT_OK, UsageError, discover, subcommand


def _audiences() -> list[str]:
    """Every audience of every installed version, in the spec's order."""
    return list(dict.fromkeys(a for v in available_versions() for a in load_spec(v).audiences))


def add_redact(sub: Any) -> None:
    p = subcommand(
        sub, "redact", command, help="redact a document for an audience / 按受众脱敏",
        description="Print documents as an audience may see them (privacy.json of the spec).",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="file, folder, or - for stdin")
    p.add_argument("--audience", required=True, choices=_audiences(),
                   help="who will read the output (audience.csv of the spec)")
    p.add_argument("--pseudonym-key-file", metavar="FILE",
                   help="file holding the shared key for citizen ID pseudonyms")
    p.add_argument("--ndjson", action="store_true", help="read every input as NDJSON")


def command(args: argparse.Namespace) -> int:
    from ..privacy import redact
    from ..validation import validate

    key = None
    if args.pseudonym_key_file:
        try:
            with open(args.pseudonym_key_file, "rb") as fh:
                key = fh.read()  # every byte is key material: nothing is stripped
        except OSError as exc:
            raise UsageError(f"cannot read {args.pseudonym_key_file}: {exc.strerror}") from exc
    status = EXIT_OK
    for source in discover(args.paths, args.ndjson):
        for line, raw in source.open():
            report = validate(raw)
            where = f"{source.name}:{line}" if line else source.name
            if not report.valid:
                print(f"✗ {where}: not a valid document; run smartcommunity validate",
                      file=sys.stderr)
                status = EXIT_INVALID
                continue
            try:
                redacted = redact(orjson.loads(raw), args.audience, pseudonym_key=key)
            except (RedactionError, UnknownSpecVersion) as exc:
                # e.g. an audience a later version added, asked of an older document
                print(f"✗ {where}: {exc}", file=sys.stderr)
                status = EXIT_INVALID
                continue
            option = orjson.OPT_INDENT_2 if not source.ndjson else 0
            sys.stdout.write(orjson.dumps(redacted, option=option).decode() + "\n")
    return status
