"""The ``smartcommunity`` command: one subcommand per job.

``main()`` parses arguments and exits; ``run(argv)`` returns the exit code, for tests and
for programs that embed the command.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

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


def _optional_commands() -> list[Callable[[Any], None]]:
    """Subcommands whose dependencies come with an extra (server, conformance)."""
    found: list[Callable[[Any], None]] = []
    for name in ("serve", "conformance"):
        try:
            module = importlib.import_module(f"._{name}", __package__)
        except ImportError:  # the extra is not installed: the subcommand is not offered
            continue
        found.append(getattr(module, f"add_{name}"))
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
