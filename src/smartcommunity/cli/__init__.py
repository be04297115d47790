"""The ``smartcommunity`` command: one subcommand per job.

``main()`` parses arguments and exits; ``run(argv)`` returns the exit code, for tests and
for programs that embed the command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ._common import EXIT_USAGE, UsageError
from ._redact import add_redact
from ._validate import add_validate

__all__ = ["main", "run"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smartcommunity",
        description="Smart Community Interoperability Standard tools / 智慧社区互操作标准工具",
    )
    parser.add_argument("--version", action="version", version=f"smartcommunity {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_validate(sub)
    add_redact(sub)
    for extra in _optional_commands():
        extra(sub)
    return parser


def _optional_commands() -> list[object]:
    """Subcommands whose dependencies come with an extra (server, conformance)."""
    found: list[object] = []
    try:
        from ._serve import add_serve
    except ImportError:
        pass
    else:
        found.append(add_serve)
    return found


def run(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args))
    except UsageError as exc:
        print(f"smartcommunity: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def main() -> None:
    sys.exit(run())
