"""The one comparison of RFC 3339 timestamps every rule uses."""

from __future__ import annotations

import functools
from typing import Any

from .._moments import moment


@functools.lru_cache(maxsize=8192)
def _instant(value: str) -> float | None:
    stamp = moment(value)
    return None if stamp is None else stamp.timestamp()


def instant(value: Any) -> float | None:
    """Seconds since the epoch of an RFC 3339 timestamp, or None when it is not one."""
    return _instant(value) if type(value) is str else None


def compare_instants(a: Any, b: Any) -> int | None:
    """-1, 0 or 1 as timestamp ``a`` is before, at or after ``b``; None unless both are ones.

    Timestamps of the same length, separator and offset compare as text (a fraction, if any,
    then has the same width too), so the usual case — one system wrote every time of a record
    — needs no parsing.
    """
    if type(a) is not str or type(b) is not str:
        return None
    if len(a) == len(b) and len(a) >= 20 and a[10] == b[10] and (
            a[-6:] == b[-6:] or (a[-1] == b[-1] and a[-1] in "Zz")):
        return (a > b) - (a < b)
    ta, tb = _instant(a), _instant(b)
    if ta is None or tb is None:
        return None
    return (ta > tb) - (ta < tb)


def later(first: Any, second: Any) -> bool:
    """True when both are timestamps and ``first`` is a later instant than ``second``."""
    return compare_instants(first, second) == 1
