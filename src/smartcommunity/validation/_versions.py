"""Which installed spec tree reads a document, by the ``specVersion`` it states.

A version the library has is read as itself. A version it does not have, of a major it has, is
read under the forward-compatibility rule (``/req/core/forward-compatible``): as the highest
installed minor of that major, because minors only add. Any other version (another major, or
not a ``MAJOR.MINOR`` string) is refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")


def version_key(version: str) -> tuple[int, ...]:
    """A version as a sortable tuple of integers (``"1.10"`` → ``(1, 10)``)."""
    return tuple(int(x) for x in version.split("."))


@dataclass(frozen=True, slots=True)
class Resolved:
    """The installed version that reads a document; ``newer`` when read forward."""

    version: str
    newer: bool


def resolve_version(stated: Any, installed: Sequence[str]) -> Resolved | None:
    """The installed version that reads a document stating ``stated``, or None to refuse."""
    if not isinstance(stated, str):
        return None
    if stated in installed:
        return Resolved(stated, False)
    match = _VERSION.fullmatch(stated)
    if match is None:
        return None
    major = int(match.group(1))
    same_major = [v for v in installed if version_key(v)[0] == major]
    if not same_major:
        return None
    return Resolved(max(same_major, key=version_key), True)
