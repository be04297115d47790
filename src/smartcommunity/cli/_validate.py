"""``smartcommunity validate``: check files, folders, stdin and NDJSON streams."""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any, NamedTuple

import orjson

from ..profiles import Profile
from ..specification import available_versions
from ..validation import Links, SetCheck, Validator
from ._common import (
    EXIT_INVALID,
    EXIT_OK,
    PROGRESS_BYTES,
    Source,
    UsageError,
    discover,
    profile_option,
    progress_bar,
    subcommand,
    usable_cpus,
)

#: Documents handed to a worker at a time; large enough to amortise the hand-over.
CHUNK = 2000
#: Bytes of an NDJSON file one worker reads and validates at a time.
BLOCK = 4 * 1024 * 1024
#: Inputs larger than this are validated by a pool of worker processes.
PARALLEL_BYTES = 4 * 1024 * 1024

# (line, resourceType, id, spec version, findings as dicts, links to the rest of the set) —
# compact and picklable.
Outcome = tuple[int | None, str | None, str | None, str | None, list[dict[str, Any]], Links]


def add_validate(sub: Any) -> None:
    p = subcommand(
        sub, "validate", command, help="validate documents / 验证文档",
        description="Validate documents of the standard: files, folders, - for stdin, NDJSON.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="file, folder, or - for stdin")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="message language")
    p.add_argument(
        "--ndjson",
        action="store_true",
        help="read every input as NDJSON (automatic for .ndjson and .jsonl)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=usable_cpus(),
        help="worker processes for large inputs (default: one per CPU this process may use)",
    )
    p.add_argument("--profile", metavar="FILE",
                   help="validate as the city of this profile reads documents / 按城市配置验证")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no valid-file lines")
    p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")


def command(args: argparse.Namespace) -> int:
    global _worker_profile
    if getattr(args, "profile", None):
        _worker_profile = profile_option(args.profile, args.lang)
        if not sys.platform.startswith("linux"):
            args.jobs = 1  # only forked workers inherit the loaded profile
    sources = discover(args.paths, args.ndjson)
    if not sources:
        raise UsageError("no JSON or NDJSON files found")
    try:
        out: IO[str] = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror}") from exc
    writer: _Writer = (_JsonWriter if args.format == "json" else _TextWriter)(out, args)
    try:
        total = sum(s.size for s in sources)
        with progress_bar(total, enabled=not args.quiet and total > PROGRESS_BYTES) as advance:
            for source in sources:
                outcomes = _outcomes(source, max(1, args.jobs), advance,
                                     keep_valid=args.format == "json")
                for outcome in outcomes:
                    if isinstance(outcome, int):
                        writer.add_quiet(outcome)
                    else:
                        writer.add(source.name, outcome)
            writer.cross_check(sources)
        writer.finish()
    finally:
        if out is not sys.stdout:
            out.close()
    return EXIT_OK if writer.summary["invalid"] == 0 else EXIT_INVALID


# -- validating ----------------------------------------------------------------------------
_worker_validator: Validator | None = None
#: the city profile documents are also read with (``--profile``); forked workers inherit it
_worker_profile: Profile | None = None


def _check(item: tuple[int | None, bytes]) -> Outcome:
    global _worker_validator
    if _worker_validator is None:
        _worker_validator = Validator()
    line, raw = item
    checked = _worker_validator.check(raw)
    report = checked.report
    if _worker_profile is not None:
        report = _worker_profile.review(raw, report)
    return (line, report.resource_type, report.id, report.spec_version,
            [f.to_dict() for f in report.findings], checked.links)


def _check_chunk(chunk: list[tuple[int | None, bytes]]) -> list[Outcome]:
    return [_check(item) for item in chunk]


def _chunks(items: Iterable[tuple[int | None, bytes]]) -> Iterator[list[tuple[int | None, bytes]]]:
    it = iter(items)
    while chunk := list(islice(it, CHUNK)):
        yield chunk


def _outcomes(source: Source, jobs: int, advance: Any, keep_valid: bool = True
              ) -> Iterator[Outcome | int]:
    """Outcomes in input order; with ``keep_valid`` false, runs of documents without any
    finding may come back as their count only (nothing to print for them)."""
    if jobs == 1 or not source.ndjson or (source.name != "-" and source.size < PARALLEL_BYTES):
        for item in source.open():
            yield _check(item)
            advance(len(item[1]))
        return
    ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ctx.Pool(jobs) as pool:
        if source.name == "-":
            # A stream can only be read once, here: its lines travel to the workers.
            for results in pool.imap(_check_chunk, _counted(_chunks(source.open()), advance)):
                yield from results
            return
        # A file is read by the workers themselves, a block each; imap keeps the blocks in
        # order and reads ahead only a few, so memory stays flat and nothing is copied twice.
        base = 0
        check = functools.partial(_check_block, keep_valid=keep_valid)
        for lines, size, quiet, results in pool.imap(check, _blocks(source.name, source.size)):
            for line, *rest in results:
                yield (base + (line or 0), *rest)  # type: ignore[misc]
            if quiet:
                yield quiet
            base += lines
            advance(size)


def _blocks(path: str, size: int) -> Iterator[tuple[str, int, int]]:
    """``(path, start, end)`` of consecutive blocks of about BLOCK bytes, ending at newlines."""
    with open(path, "rb") as fh:
        start = 0
        while start < size:
            end = min(start + BLOCK, size)
            if end < size:
                fh.seek(end)
                fh.readline()
                end = fh.tell()
            yield path, start, end
            start = end


def _check_block(block: tuple[str, int, int], keep_valid: bool = True
                 ) -> tuple[int, int, int, list[Outcome]]:
    """Validate the NDJSON lines of one block; line numbers count from the block's start.

    Returns the block's line count and size, the number of documents left out because they
    had no finding (only when not ``keep_valid``), and the outcomes kept.
    """
    path, start, end = block
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    kept: list[Outcome] = []
    quiet = 0
    for number, raw in enumerate(lines, 1):
        if raw.strip():
            outcome = _check((number, raw))
            if keep_valid or outcome[4] or outcome[5]:
                kept.append(outcome)
            else:
                quiet += 1
    return len(lines), end - start, quiet, kept


def _counted(
    chunks: Iterator[list[tuple[int | None, bytes]]], advance: Any
) -> Iterator[list[tuple[int | None, bytes]]]:
    for chunk in chunks:
        advance(sum(len(raw) for _, raw in chunk))
        yield chunk


# -- reporting ------------------------------------------------------------------------------
class _Place(NamedTuple):
    """Where findings come from: the source, the line in it (JSON Lines) and the document."""

    source: str
    line: int | None
    rt: str | None = None
    doc_id: str | None = None


@dataclass
class _Writer:
    out: IO[str]
    args: argparse.Namespace
    summary: dict[str, int] = field(
        default_factory=lambda: dict(documents=0, valid=0, invalid=0, errors=0, warnings=0)
    )
    #: the rules that span documents, keyed by (source, line, document was valid)
    links: SetCheck[tuple[str, int | None, bool]] = field(
        default_factory=lambda: SetCheck(keep_ids=False))
    #: documents without findings whose cross-document rules are not settled yet: their
    #: verdict is written after :meth:`cross_check`, so no file is called valid, then invalid
    pending: list[_Place] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Subclasses write their preamble here."""

    @property
    def lang(self) -> str:
        return "zh-Hans" if self.args.lang == "zh" else "en"

    def add_quiet(self, count: int) -> None:
        """Documents without any finding that need no line of output."""
        self.summary["documents"] += count
        self.summary["valid"] += count

    def add(self, source: str, outcome: Outcome) -> None:
        line, rt, doc_id, version, findings, links = outcome
        errors = sum(1 for f in findings if f["severity"] == "error")
        self.summary["documents"] += 1
        self.summary["errors"] += errors
        self.summary["warnings"] += len(findings) - errors
        self.summary["valid" if errors == 0 else "invalid"] += 1
        self.links.add((source, line, errors == 0), rt, doc_id, version, links)
        place = _Place(source, line, rt, doc_id)
        if not findings and links:
            self.pending.append(place)
        else:
            self.emit(place, findings)

    def cross_check(self, sources: list[Source]) -> None:
        """Rules spanning documents (references, merges named on both sides), settled by the
        validator once the whole set is read; the ids referenced are looked up by a second,
        streaming pass so memory stays flat."""
        turned_invalid: set[tuple[str, int | None]] = set()
        found = self.links.findings(lambda targets: _ids_present(sources, targets))
        said: set[tuple[str, int | None]] = set()
        for (source, line, was_valid), f in found:
            said.add((source, line))
            if f.severity == "error":
                if was_valid and (source, line) not in turned_invalid:
                    turned_invalid.add((source, line))
                    self.summary["valid"] -= 1
                    self.summary["invalid"] += 1
                self.summary["errors"] += 1
            else:
                self.summary["warnings"] += 1
            self.emit(_Place(source, line), [f.to_dict()])
        for place in self.pending:
            if (place.source, place.line) not in said:
                self.emit(place, [])
        self.pending.clear()

    def emit(self, place: _Place, findings: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError


def _ids_present(sources: list[Source], targets: set[str]) -> set[str]:
    """Which targets (``"Issue/<id>"`` or bare ids) are documents of the sources.

    A second, streaming pass: memory stays flat because only referenced ids are kept.
    """
    needles = {t.rsplit("/", 1)[-1].encode() for t in targets}
    found: set[str] = set()
    for source in sources:
        if source.name == "-":
            continue
        for _, raw in source.open():
            if any(n in raw for n in needles):
                try:
                    doc = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(doc, dict) and isinstance(doc.get("id"), str):
                    found |= {doc["id"], f"{doc.get('resourceType')}/{doc['id']}"} & targets
    return found


class _TextWriter(_Writer):
    def emit(self, place: _Place, findings: list[dict[str, Any]]) -> None:
        where = f"{place.source}:{place.line}" if place.line is not None else place.source
        if not findings:
            if place.line is None and not self.args.quiet:
                self.out.write(f"✓ {where}\n")
            return
        for f in findings:
            req = f" ({f['requirement']})" if f.get("requirement") else ""
            mark = "✗" if f["severity"] == "error" else "!"
            pointer = f["pointer"] or "/"
            self.out.write(
                f"{mark} {where}: {pointer}: {f['message'][self.lang]} [{f['code']}]{req}\n"
            )

    def finish(self) -> None:
        s = self.summary
        if self.lang == "zh-Hans":
            text = (
                f"{s['documents']} 个文档：{s['valid']} 个有效，{s['invalid']} 个无效；"
                f"{s['errors']} 个错误，{s['warnings']} 个警告"
            )
        else:
            text = (
                f"{s['documents']} documents: {s['valid']} valid, {s['invalid']} invalid; "
                f"{s['errors']} errors, {s['warnings']} warnings"
            )
        self.out.write(text + "\n")


class _JsonWriter(_Writer):
    def __post_init__(self) -> None:
        self.out.write(
            '{"specVersion":' + orjson.dumps(available_versions()[-1]).decode() + ',"results":['
        )
        self._first = True

    def emit(self, place: _Place, findings: list[dict[str, Any]]) -> None:
        # A late cross-document finding adds a second entry for the same source and line.
        entry: dict[str, Any] = {"source": place.source}
        if place.line is not None:
            entry["line"] = place.line
        if place.rt:
            entry["resourceType"] = place.rt
        if place.doc_id:
            entry["id"] = place.doc_id
        entry["valid"] = not any(f["severity"] == "error" for f in findings)
        entry["findings"] = findings
        self.out.write(("" if self._first else ",") + orjson.dumps(entry).decode())
        self._first = False

    def finish(self) -> None:
        self.out.write('],"summary":' + orjson.dumps(self.summary).decode() + "}\n")
