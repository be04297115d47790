"""JSON Pointers (RFC 6901): the one way every part of the project names a place in a document;
and :func:`nodes`, the one walk over every place.

>>> pointer(["history", 3, "details/x"])
'/history/3/details~1x'
>>> resolve_pointer({"a": [{"b": 1}]}, "/a/0/b")
1
>>> [n for n in nodes({"a": [{"b": 1}]}) if isinstance(n, int)]
[1]
>>> strings_at({"a": "x", "b": 2, "c": {"d": "y"}}, ["/c/d", "/b", "/e", "/a"])
['y', 'x']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

__all__ = ["escape_token", "nodes", "pointer", "resolve_pointer", "strings_at",
           "unescape_token"]


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


def strings_at(document: Any, pointers: Iterable[str]) -> list[str]:
    """The strings at ``pointers`` in ``document``, in the pointers' order; a pointer that
    names nothing, or something other than a string, gives none (privacy.json's ``ownedBy``
    lists are read so: the last names her whose the record is)."""
    found: list[str] = []
    for where in pointers:
        try:
            value = resolve_pointer(document, where)
        except LookupError:
            continue
        if isinstance(value, str):
            found.append(value)
    return found


def nodes(document: Any) -> Iterator[Any]:
    """Every value in ``document``: the document itself, then, depth first and in order, the
    members of each object and the items of each array.

    An object's or array's contents are read only when the walk moves on from it, so a caller
    may remove members it has just seen and the walk does not go into them.
    """
    stack = [document]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, dict):
            stack.extend(reversed(node.values()))
        elif isinstance(node, list):
            stack.extend(reversed(node))
