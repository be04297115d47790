"""Turning untrusted input into a document, or into findings that say why it is not one."""

from __future__ import annotations

from typing import Any

import orjson

from ..specification import Spec
from ._messages import message
from ._report import Finding

#: Limits that keep a hostile input from exhausting memory or the stack.
MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64


def parse(spec: Spec, raw: bytes | bytearray | memoryview | str) -> tuple[Any, Finding | None]:
    """Decode JSON text; on failure return a finding instead of raising."""
    size = len(raw)
    if size > MAX_BYTES:
        return None, Finding("", "document.too-large",
                             message(spec, "document.too-large", size=size, limit=MAX_BYTES))
    if isinstance(raw, str):
        try:
            raw = raw.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates in a Python str
            return None, Finding("", "document.invalid-utf8",
                                 message(spec, "document.invalid-utf8", position=exc.start))
    try:
        return orjson.loads(raw), None
    except orjson.JSONDecodeError as exc:
        text = str(exc)
        if "utf-8" in text.lower() or "surrogate" in text.lower():
            return None, Finding("", "document.invalid-utf8",
                                 message(spec, "document.invalid-utf8", position=exc.pos))
        if "recursion" in text.lower() or "depth" in text.lower():
            return None, Finding("", "document.too-deep",
                                 message(spec, "document.too-deep", limit=MAX_DEPTH))
        return None, Finding("", "document.not-json",
                             message(spec, "document.not-json", detail=exc.msg, line=exc.lineno,
                                     column=exc.colno))


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when containers nest deeper than ``limit`` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, dict | list))
    return False
