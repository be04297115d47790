"""Shared pieces of the subcommands: exit codes, input discovery, reading documents."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

#: Inputs larger than this show a progress bar on a terminal.
PROGRESS_BYTES = 1024 * 1024

NDJSON_SUFFIXES = (".ndjson", ".jsonl")
JSON_SUFFIXES = (".json", *NDJSON_SUFFIXES)


class UsageError(Exception):
    """A problem with the command line or its files: exit status 2."""


class MissingExtra(UsageError):
    """A subcommand's optional dependencies (an extra of the distribution) are not installed."""

    def __init__(self, requirement: str, module: str | None = None) -> None:
        #: what to install, e.g. ``smartcommunity[server]``
        self.requirement = requirement
        #: the module found missing, when known
        self.module = module
        install = f'pip install "{requirement}"'
        super().__init__(
            f"此命令需要可选依赖{f'（{module}）' if module else ''}，请先安装：{install}\n"
            f"this command needs optional dependencies{f' ({module})' if module else ''}; "
            f"install them with: {install}"
        )


@dataclass(frozen=True, slots=True)
class Source:
    """One input: a file path or ``-`` for standard input."""

    name: str
    ndjson: bool

    @property
    def size(self) -> int:
        return 0 if self.name == "-" else Path(self.name).stat().st_size

    def open(self) -> Iterator[tuple[int | None, bytes]]:
        """``(line or None, raw document)`` for each document of the source."""
        try:
            stream = sys.stdin.buffer if self.name == "-" else open(self.name, "rb")  # noqa: SIM115
        except OSError as exc:
            raise UsageError(f"cannot read {self.name}: {exc.strerror}") from exc
        try:
            if not self.ndjson:
                yield None, stream.read()
                return
            for number, line in enumerate(stream, 1):
                if line.strip():
                    yield number, line
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()


def discover(paths: list[str], ndjson: bool) -> list[Source]:
    """Expand folders to the JSON and NDJSON files inside them, in a stable order."""
    sources: list[Source] = []
    for raw in paths:
        if raw == "-":
            sources.append(Source("-", ndjson))
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in JSON_SUFFIXES)
            sources.extend(Source(str(p), ndjson or p.suffix in NDJSON_SUFFIXES) for p in found)
        elif path.is_file():
            sources.append(Source(str(path), ndjson or path.suffix in NDJSON_SUFFIXES))
        else:
            raise UsageError(f"no such file or folder: {raw}")
    return sources


class _NoProgress:
    def __enter__(self) -> Any:
        return lambda n: None

    def __exit__(self, *exc: object) -> None:
        return None


class _Progress:
    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("reading"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task("read", total=total)

    def __enter__(self) -> Any:
        self._progress.start()
        return lambda n: self._progress.advance(self._task, n)

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


def progress_bar(total: int, enabled: bool) -> Any:
    """A context giving ``advance(nbytes)``: a bar on a terminal, nothing otherwise."""
    return _Progress(total) if enabled and sys.stderr.isatty() else _NoProgress()
