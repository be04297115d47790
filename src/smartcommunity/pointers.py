"""JSON Pointers (RFC 6901): the one way every part of the project names a place in a document.

>>> pointer(["history", 3, "details/x"])
'/history/3/details~1x'
>>> resolve_pointer({"a": [{"b": 1}]}, "/a/0/b")
1
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["escape_token", "pointer", "resolve_pointer", "unescape_token"]


def escape_token(token: str | int) -> str:
    """One reference token, with ``~`` and ``/`` escaped."""
    text = str(token)
    if "~" in text or "/" in text:
        return text.replace("~", "~0").replace("/", "~1")
    return text


def unescape_token(token: str) -> str:
    """The member name or index an escaped reference token stands for."""
    return token.replace("~1", "/").replace("~0", "~")


def pointer(path: Sequence[str | int]) -> str:
    """The JSON Pointer of a sequence of member names and array indexes (``""`` for none)."""
    if not path:
        return ""
    return "/" + "/".join([escape_token(t) for t in path])


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The value ``pointer`` names in ``document``; :class:`LookupError` when it names none."""
    node = document
    for raw in pointer.split("/")[1:] if pointer else ():
        token = unescape_token(raw)
        if isinstance(node, list):
            if not (token.isascii() and token.isdigit()) or int(token) >= len(node):
                raise LookupError(pointer)
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise LookupError(pointer)
    return node
