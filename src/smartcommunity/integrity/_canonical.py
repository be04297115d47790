"""The canonical JSON both chains hash: RFC 8785 (JCS)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

#: how a digest is written: the algorithm, a colon, the lowercase hex of the hash
PREFIX = "sha256:"

#: the first code point whose UTF-16 order (RFC 8785 sorts keys by it) may differ from
#: Python's code-point order: surrogate pairs sort before U+E000–U+FFFF in UTF-16
_ORDER_SAFE_BELOW = "\ud800"


def canonical(value: Any) -> bytes:
    """The RFC 8785 canonical JSON of ``value`` (UTF-8 bytes)."""
    if _plain(value):
        # Without numbers other than integers and with keys below U+D800, the standard
        # library's sorted, compact output is byte for byte RFC 8785's (it escapes the same
        # characters the same way), and it is many times faster than the general writer.
        return json.dumps(value, ensure_ascii=False, sort_keys=True,
                          separators=(",", ":")).encode()
    return rfc8785.dumps(value)


def _plain(value: Any) -> bool:
    """Whether ``value`` holds only what the fast path writes as RFC 8785 does: strings,
    booleans, null, integers within IEEE 754's exact range, and keys below U+D800."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str) or node is None or isinstance(node, bool):
            continue
        if isinstance(node, int):
            if -(2**53) < node < 2**53:
                continue
            return False
        if isinstance(node, dict):
            for key, item in node.items():
                if not isinstance(key, str) or (key and max(key) >= _ORDER_SAFE_BELOW):
                    return False
                stack.append(item)
        elif isinstance(node, list):
            stack.extend(node)
        else:
            return False  # floats, and anything JSON cannot hold: the general writer decides
    return True


def digest(value: Any) -> str:
    """``sha256:`` and the SHA-256 of the canonical JSON of ``value``, in lowercase hex."""
    return hash_text(canonical(value))


def hash_text(data: bytes) -> str:
    """``sha256:`` and the SHA-256 of ``data``, in lowercase hex."""
    return PREFIX + hashlib.sha256(data).hexdigest()
