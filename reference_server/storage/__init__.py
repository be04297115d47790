"""Storage behind one interface: SQLite (a file, WAL) or PostgreSQL, chosen by URL."""

from __future__ import annotations

from ._derive import Derived, derive, utc_text
from ._store import (
    AuditRow,
    Change,
    Duplicate,
    EventRow,
    ListQuery,
    Scope,
    Store,
    Stored,
    Tx,
)

__all__ = ["AuditRow", "Change", "Derived", "Duplicate", "EventRow", "ListQuery", "Scope",
           "Store", "Stored", "Tx", "derive", "utc_text"]
