"""The canonical JSON both chains hash: RFC 8785 (JCS)."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import rfc8785

#: how a digest is written: the algorithm, a colon, the lowercase hex of the hash
PREFIX = "sha256:"

#: the first code point whose UTF-16 order (RFC 8785 sorts keys by it) may differ from
#: Python's code-point order: surrogate pairs sort before U+E000–U+FFFF in UTF-16
_ORDER_SAFE_BELOW = "\ud800"


def canonical(value: Any) -> bytes:
    """The RFC 8785 canonical JSON of ``value`` (UTF-8 bytes)."""
    if _plain(value):
        # Without numbers other than integers and with keys below U+D800, a compact writer
        # that sorts keys and leaves non-ASCII text unescaped writes RFC 8785 byte for byte
        # (it escapes the same characters the same way); orjson is many times faster than
        # the general writer. A lone surrogate, which UTF-8 cannot hold, goes to the latter.
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass
    return rfc8785.dumps(value)


def _plain(value: Any) -> bool:
    """Whether ``value`` holds only what the fast path writes as RFC 8785 does: strings,
    booleans, null, integers within IEEE 754's exact range, and keys below U+D800."""
    # Exact types, not isinstance: a walk over every member of every event a server seals,
    # so each test costs; subclasses simply take the general writer.
    stack = [value]
    pop, extend = stack.pop, stack.extend
    keys: list[Any] = []
    while stack:
        node = pop()
        kind = type(node)
        if kind is str or kind is bool or node is None:
            continue
        if kind is dict:
            keys.extend(node)
            extend(node.values())
        elif kind is list:
            extend(node)
        elif kind is int:
            if not -(2**53) < node < 2**53:
                return False
        else:
            return False  # floats, and anything JSON cannot hold: the general writer decides
    try:
        names = "".join(keys)  # one pass over every key, in C
    except TypeError:
        return False  # a key that is not a string
    return not names or max(names) < _ORDER_SAFE_BELOW


def digest(value: Any) -> str:
    """``sha256:`` and the SHA-256 of the canonical JSON of ``value``, in lowercase hex."""
    return hash_text(canonical(value))


def hash_text(data: bytes) -> str:
    """``sha256:`` and the SHA-256 of ``data``, in lowercase hex."""
    return PREFIX + hashlib.sha256(data).hexdigest()
