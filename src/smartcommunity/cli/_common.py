"""Shared pieces of the subcommands: exit codes, input discovery, reading documents."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from ..profiles import Profile

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

#: Inputs larger than this show a progress bar on a terminal.
PROGRESS_BYTES = 1024 * 1024

NDJSON_SUFFIXES = (".ndjson", ".jsonl")
JSON_SUFFIXES = (".json", *NDJSON_SUFFIXES)


def usable_cpus() -> int:
    """The CPUs this process may run on: fewer than the machine has in a container limited to
    some (a cpuset) or under ``taskset``, where a worker per machine CPU would only queue."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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
    """One line on standard error, rewritten in place: bytes read, rate and time left.

    Plain text rather than a terminal-UI library, so the library's install stays light.
    """

    #: seconds between redraws: often enough to look alive, rarely enough to cost nothing
    INTERVAL = 0.2

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self._total = max(total, 1)
        self._stream = stream or sys.stderr
        self._done = 0
        self._start = self._drawn = 0.0

    def __enter__(self) -> Any:
        self._start = time.monotonic()
        return self._advance

    def _advance(self, n: int) -> None:
        self._done += n
        now = time.monotonic()
        if now - self._drawn >= self.INTERVAL:
            self._drawn = now
            self._stream.write("\r" + self.line(self._done, self._total, now - self._start))
            self._stream.flush()

    @staticmethod
    def line(done: int, total: int, elapsed: float) -> str:
        """``reading  12.0/48.0 MB  25%  8.0 MB/s  0:04 left``."""
        mb = 1024 * 1024
        rate = done / elapsed if elapsed > 0 else 0.0
        left = ""
        if rate > 0 and done < total:
            seconds = int((total - done) / rate)
            left = f"{seconds // 60}:{seconds % 60:02d} left"
        percent = min(done, total) * 100 // total
        return (f"reading {done / mb:6.1f}/{total / mb:.1f} MB {percent:3d}% "
                f"{rate / mb:6.1f} MB/s {left}").rstrip()

    def __exit__(self, *exc: object) -> None:
        # Transient: the line is wiped so the command's own output starts on a clean line.
        self._stream.write("\r\x1b[K")
        self._stream.flush()


def progress_bar(total: int, enabled: bool) -> Any:
    """A context giving ``advance(nbytes)``: a progress line on a terminal, nothing otherwise."""
    return _Progress(total) if enabled and sys.stderr.isatty() else _NoProgress()


def subcommand(parent: Any, name: str, handler: Any, **texts: str) -> Any:
    """The parser of subcommand ``name`` under ``parent`` (``add_subparsers()``), with its
    ``help`` and ``description`` texts, that runs ``handler(args)``."""
    parser = parent.add_parser(name, **texts)
    if handler is not None:
        parser.set_defaults(handler=handler)
    return parser


def pages(client: Any, path: str, params: Mapping[str, Any]) -> Iterator[Any]:
    """The items of ``GET path`` from an httpx ``client``, page after page as ``next`` leads,
    until a page has none or no ``next``; a request that fails or is refused is a usage error
    naming the URL."""
    import httpx

    url = f"{str(client.base_url).rstrip('/')}/{path.lstrip('/')}"
    cursor: str | None = None
    while True:
        try:
            resp = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        except httpx.HTTPError as exc:
            raise UsageError(f"cannot read {url}: {exc}") from exc
        if resp.status_code != 200:
            raise UsageError(f"{url} answered HTTP {resp.status_code}")
        page = resp.json()
        items = page.get("items") or []
        yield from items
        cursor = page.get("next")
        if not items or not cursor:
            return


def profile_option(path: str | None, lang: str = "en") -> Profile | None:
    """The city profile a ``--profile`` option names, or None without one; a profile that
    cannot be used is a usage error listing its findings (worded in ``lang``)."""
    if not path:
        return None
    from ..exceptions import ProfileError
    from ..profiles import load_profile

    try:
        return load_profile(path)
    except ProfileError as exc:
        said = "zh-Hans" if lang == "zh" else "en"
        lines = [f"  {f.pointer or '/'} {f.code}: {f.message[said]}" for f in exc.findings]
        raise UsageError("\n".join([f"cannot use the profile {path}: {exc}", *lines])) from exc
