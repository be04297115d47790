"""Reading RFC 3339 timestamps: the one parser every part of the library uses."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def moment(value: Any) -> datetime | None:
    """The instant an RFC 3339 timestamp with an offset names (``Z``, ``T`` in either case);
    None when ``value`` is not one, a time without an offset included."""
    if type(value) is not str:
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else None
