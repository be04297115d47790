"""Where issues come from: NDJSON files, a mirrored change feed, or a server's API."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from ..exceptions import IndicatorError

__all__ = ["read_issues"]


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in (".ndjson", ".jsonl"))
    if path.is_file():
        return [path]
    raise IndicatorError(f"{path} is neither a file nor a folder")


def read_issues(path: str | Path, *, progress: Callable[[int], None] | None = None
                ) -> Iterator[Mapping[str, Any]]:
    """The issues of NDJSON files under ``path``, one document a line, streamed.

    A line may also be a change-feed event (CloudEvents, its document in ``data``): the
    feed's last version of each issue is then the one read, so a mirrored feed counts each
    issue once. ``progress`` is called with the bytes read so far.
    """
    latest: dict[str, Mapping[str, Any]] = {}
    done = 0
    for file in _files(Path(path)):
        with file.open("rb") as fh:
            for number, line in enumerate(fh, 1):
                done += len(line)
                if progress is not None and number % 20000 == 0:
                    progress(done)
                if not line.strip():
                    continue
                try:
                    doc = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise IndicatorError(f"{file}:{number}: not JSON ({exc})") from exc
                if isinstance(doc, dict) and "specversion" in doc:
                    data = doc.get("data")
                    if isinstance(data, dict):  # documents of other types have no cases
                        latest[f"{data.get('resourceType')}/{data.get('id')}"] = data
                    continue
                if isinstance(doc, dict):
                    yield doc
    if progress is not None:
        progress(done)
    yield from latest.values()
