"""Shared pieces of the subcommands: exit codes, input discovery, reading documents."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

NDJSON_SUFFIXES = (".ndjson", ".jsonl")
JSON_SUFFIXES = (".json", *NDJSON_SUFFIXES)


class UsageError(Exception):
    """A problem with the command line or its files: exit status 2."""


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
