"""The ``smartcommunity`` command: one subcommand per job.

``main()`` parses arguments and exits; ``run(argv)`` returns the exit code, for tests and
for programs that embed the command.

Subcommands whose dependencies come with an extra of the distribution (``server``,
``conformance``) are always listed; without the extra, running one says which ``pip install``
brings it and exits 2.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ._common import EXIT_OK, EXIT_USAGE, MissingExtra, UsageError, usable_cpus
from ._redact import add_redact
from ._validate import add_validate
from ._verify import add_verify

__all__ = ["main", "run", "usable_cpus"]

#: the top-level packages of this distribution: a missing one is a broken install, not an extra
_OURS = frozenset({"smartcommunity", "reference_server"})


@dataclass(frozen=True, slots=True)
class _Optional:
    """Subcommands registered by ``add_<name>`` of module ``_<name>``, needing an extra of the
    distribution (``requirement`` is what to install)."""

    name: str
    commands: tuple[str, ...]
    requirement: str


_OPTIONAL = (
    _Optional("serve", ("serve", "import", "retention"), "smartcommunity[server]"),
    _Optional("tokens", ("tokens",), "smartcommunity[server]"),
    _Optional("conformance", ("conformance",), "smartcommunity[conformance]"),
    _Optional("report", ("report",), "smartcommunity[report]"),
    _Optional("publish", ("publish",), "smartcommunity[publish]"),
    _Optional("open311", ("open311",), "smartcommunity[open311]"),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smartcommunity",
        description="Smart Community Interoperability Standard tools / 智慧社区互操作标准工具",
    )
    parser.add_argument("--version", action="version", version=f"smartcommunity {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_validate(sub)
    add_redact(sub)
    add_verify(sub)
    for optional in _OPTIONAL:
        _add_optional(sub, optional)
    return parser


def _add_optional(sub: Any, optional: _Optional) -> None:
    try:
        module = importlib.import_module(f"._{optional.name}", __package__)
        getattr(module, f"add_{optional.name}")(sub)
    except ImportError as exc:
        if _ours(exc.name):
            raise
        # Offered anyway, so --help lists it; running it says what to install.
        for command in optional.commands:
            if command in sub.choices:
                continue
            placeholder = sub.add_parser(
                command,
                add_help=False,
                help=f'needs pip install "{optional.requirement}" / 需安装扩展',
            )
            # whatever follows is the missing command's to read: it is not parsed
            placeholder.set_defaults(
                handler=functools.partial(_missing, optional.requirement, exc.name),
                takes_any_arguments=True,
            )


def _missing(requirement: str, module: str | None, args: argparse.Namespace) -> int:
    raise MissingExtra(requirement, module)


def _ours(module: str | None) -> bool:
    return module is not None and module.partition(".")[0] in _OURS


def _requirement_of(command: str | None) -> str | None:
    return next((o.requirement for o in _OPTIONAL if command in o.commands), None)


def run(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown and not getattr(args, "takes_any_arguments", False):
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args))
    except ModuleNotFoundError as exc:
        # A dependency the subcommand imports only when it runs.
        requirement = _requirement_of(args.command)
        if requirement is None or _ours(exc.name):
            raise
        print(f"smartcommunity: {MissingExtra(requirement, exc.name)}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"smartcommunity: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def main() -> None:
    try:
        code = run()
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_OK
    sys.exit(code)
