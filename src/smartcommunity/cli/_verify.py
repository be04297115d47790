"""``smartcommunity verify``: check a document's history chain or a mirrored change feed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from ._common import EXIT_INVALID, EXIT_OK, MissingExtra, UsageError, discover, pages, subcommand

#: what the feed is read with: every event in place, those the reader may not see withheld
_FEED_QUERY = {"limit": "500"}


def add_verify(sub: Any) -> None:
    p = subcommand(
        sub, "verify", command, help="check history chains and feed digests / 核对历史链和订阅摘要",
        description="Check the hash chain of each document's history, or the running digest "
                    "of a change feed (NDJSON of events, or read from a server), and name the "
                    "first broken link. Exit 0: intact; 1: broken; 2: unreadable input.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="JSON or NDJSON file of documents or change events, folder, or -")
    p.add_argument("--base-url", metavar="URL", help="read the change feed of this server")
    p.add_argument("--token", metavar="TOKEN", help="bearer token for --base-url")
    p.add_argument("--after", type=int, metavar="SEQ",
                   help="the feed given resumes after this sequence (default: from 1)")
    p.add_argument("--previous", metavar="DIGEST",
                   help="with --after: the chaindigest of event SEQ, verified before")
    p.add_argument("--ndjson", action="store_true", help="read every input as NDJSON")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text for people (default) or json, one object per input")


def command(args: argparse.Namespace) -> int:
    from ..integrity import Break, verify_feed, verify_history

    if bool(args.paths) == bool(args.base_url):
        raise UsageError("give either PATH … or --base-url / 请给出文件或 --base-url 之一")
    results: list[tuple[str, int, list[Break]]] = []
    if args.base_url:
        feed = list(_read_feed(args.base_url, args.token))
        results.append((args.base_url, len(feed), verify_feed(feed)))
    resume = {"after": args.after, "previous": args.previous}
    for source in discover(args.paths, args.ndjson):
        items: list[Any] = []
        for number, raw in source.open():
            item = _parse(raw, source.name, number)
            # Pages of GET /changes saved as they came, one or many: their events, in order.
            items += (list(item["items"]) if isinstance(item, Mapping)
                      and isinstance(item.get("items"), list) else [item])
        events: list[Any] = []
        docs: list[Any] = []
        for item in items:
            (events if isinstance(item, Mapping) and "specversion" in item else docs).append(item)
        if events:
            results.append((source.name, len(events), verify_feed(events, **resume)))
        for index, doc in enumerate(docs):
            name = source.name if len(items) == 1 else f"{source.name}#{index + 1}"
            if not isinstance(doc, Mapping) or "resourceType" not in doc:
                # Neither an event nor a document: nothing to say is intact.
                raise UsageError(f"{name}: neither a change event nor a document"
                                 " / 既不是变更事件，也不是文档")
            history = doc.get("history")
            results.append((name, len(history) if isinstance(history, list) else 0,
                            verify_history(doc)))
        if not items:
            raise UsageError(f"{source.name}: holds no event and no document / 没有事件也没有文档")
    broken = any(found for _, _, found in results)
    if args.format == "json":
        for name, count, found in results:
            line = {"input": name, "checked": count, "intact": not found,
                    "breaks": [b.as_dict() for b in found]}
            sys.stdout.write(orjson.dumps(line).decode() + "\n")
    else:
        for name, count, found in results:
            _print(name, count, found)
    return EXIT_INVALID if broken else EXIT_OK


def _parse(raw: bytes, name: str, line: int | None) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        where = f"{name}:{line}" if line else name
        raise UsageError(f"{where}: not JSON / 不是 JSON: {exc}") from exc


def _print(name: str, count: int, found: list[Any]) -> None:
    if not found:
        print(f"✓ {name}: {count} 个事件，链完整 / {count} events, chain intact")
        return
    first = found[0]
    where = first.pointer if first.index is None else f"#{first.index + 1}{first.pointer}"
    print(f"✗ {name}: {where} (seq {first.seq})")
    print(f"  {first.message['zh-Hans']}")
    print(f"  {first.message['en']}")
    if first.expected is not None or first.found is not None:
        print(f"  expected / 应为: {first.expected or '-'}")
        print(f"  found / 实为:    {first.found or '-'}")
    if len(found) > 1:
        print(f"  另有 {len(found) - 1} 处断点 / {len(found) - 1} more broken links")


def _read_feed(base_url: str, token: str | None) -> Iterator[Mapping[str, Any]]:
    """Every event of the server's feed from the start, withheld ones in place."""
    try:
        import httpx
    except ImportError as exc:
        raise MissingExtra("smartcommunity[conformance]", exc.name) from None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as http:
        yield from pages(http, "/changes", _FEED_QUERY)
