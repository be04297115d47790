"""Storage behind one interface: SQLite (a file, WAL) or PostgreSQL, chosen by URL.

``Store`` opens the database and hands out transactions (``Tx``); ``derive`` computes what is
indexed about a document, following the resource type's ``Index`` (``INDEXES``); ``metadata``
declares the tables the migrations create.
"""

from __future__ import annotations

from ._commit import Committer
from ._derive import Derived, derive, utc_text
from ._filters import filter_paths, selects
from ._indexes import (
    CONSULTATION,
    INDEXES,
    PUBLISHED_GRID,
    VISIBILITY,
    Index,
    Terms,
    bbox_terms,
    external_ref_key,
    index_of,
)
from ._pages import ListQuery, Scope
from ._person import PersonFacts, PersonRules, birth_date, person_rules, pipl_paths
from ._privacy import named_residents
from ._rows import AuditRow, Change, EventRow, NewEvent, Stored, joined, split
from ._statistics import (
    changed_between,
    feed_head,
    month_counts,
    published_frame,
    submission_cell,
)
from ._store import ANALYZE_SHARE, Store, migrations_config, read_text_as_bytes
from ._tables import metadata
from ._transactions import Duplicate, Sealer, Tx

__all__ = ["ANALYZE_SHARE", "CONSULTATION", "INDEXES", "PUBLISHED_GRID", "VISIBILITY",
           "AuditRow", "Change", "Committer", "Derived", "Duplicate", "EventRow",
           "Index", "ListQuery", "NewEvent", "PersonFacts", "PersonRules", "Scope", "Sealer",
           "Store", "Stored", "Terms", "Tx", "bbox_terms", "birth_date", "changed_between",
           "derive", "external_ref_key", "feed_head", "filter_paths", "index_of", "joined",
           "metadata", "migrations_config", "month_counts", "named_residents",
           "person_rules", "pipl_paths", "published_frame", "read_text_as_bytes", "selects",
           "split", "submission_cell", "utc_text"]
