"""The tables, as SQLAlchemy Core metadata (the migrations create the same ones).

Documents are stored as their JSON text, exactly as they were accepted plus the server's meta,
so a read gives back what was written. The other columns are derived from the document when it
is written and exist only to filter, scope and order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

#: sequence numbers: 64-bit on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY
_SEQ = BigInteger().with_variant(Integer, "sqlite")


#: a code compared byte by byte whatever the database's locale, so that the range of a code's
#: sub-codes (``housing.`` up to ``housing/``) is a range of the index
_CODE = String(64, collation="C").with_variant(String(64), "sqlite")


def _sequence(*, autoincrement: bool) -> Column[int]:
    """The ``seq`` primary key that orders a table's rows."""
    return Column("seq", _SEQ, primary_key=True, autoincrement=autoincrement)


def _version_of(id_column: str) -> list[Column[Any]]:
    """The resource version a row holds or points at: its type, its id and its version."""
    return [Column("rtype", String(16), nullable=False),
            Column(id_column, String(64), nullable=False),
            Column("version", Integer, nullable=False)]


def _principal() -> Column[str]:
    """The principal's stable identity: who used an idempotency key, who read a record."""
    return Column("principal", String(200), nullable=False)


def _utc(name: str) -> Column[str]:
    """A UTC time as text of one format, so that times compare (and expire) as text."""
    return Column(name, String(40), nullable=False)


def _scope() -> list[Column[str]]:
    """Who may see a row: its communities (``|code|code|``) and assigned departments
    (``|org|org|``)."""
    return [Column("communities", Text, nullable=False),
            Column("departments", Text, nullable=False)]


#: key/value facts about this database (its source URI, whether the demo was seeded)
server_info = Table(
    "server_info", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

#: one row per resource; ``seq`` is the insertion sequence that list cursors run over
resources = Table(
    "resources", metadata,
    _sequence(autoincrement=True),
    *_version_of("id"),
    Column("status", String(64)),
    Column("community", String(12)),
    Column("updated_at", String(32), nullable=False),  # UTC, fixed width: compares as text
    Column("submitted_at", String(32)),
    Column("category", _CODE),
    Column("request_type", String(64)),
    Column("intake_channel", String(64)),
    Column("urgency", String(64)),
    *_scope(),
    Column("doc", Text, nullable=False),
    # A person record's facts that decide how it is served (``_person``), written with it.
    Column("person_facts", Text),
    UniqueConstraint("rtype", "id", name="uq_resources_rtype_id"),
    Index("ix_resources_rtype_seq", "rtype", "seq"),
    Index("ix_resources_rtype_community", "rtype", "community", "seq"),
    # One index per filter of the list operations: an equality filter reads
    # its matches already in ``seq`` order from the cursor on, a time range reads its range.
    Index("ix_resources_rtype_status", "rtype", "status", "seq"),
    Index("ix_resources_rtype_updated", "rtype", "updated_at", "seq"),
    Index("ix_resources_rtype_submitted", "rtype", "submitted_at", "seq"),
    Index("ix_resources_rtype_category", "rtype", "category", "seq"),
    Index("ix_resources_rtype_request_type", "rtype", "request_type", "seq"),
    Index("ix_resources_rtype_intake_channel", "rtype", "intake_channel", "seq"),
    Index("ix_resources_rtype_urgency", "rtype", "urgency", "seq"),
    sqlite_autoincrement=True,
)

#: multi-valued filter terms (membership communities, grids, pseudonyms, departments …)
terms = Table(
    "resource_terms", metadata,
    Column("rseq", _SEQ, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", String(160), nullable=False),
    Column("until", String(10)),  # grid memberships end on this day (inclusive)
    # The resource's type: several types share a kind (residents, issues and organisations
    # all have grids), and a list of one type reads its own terms in seq order without
    # stepping over every other type's.
    Column("rtype", String(16), nullable=False),
    PrimaryKeyConstraint("rseq", "kind", "value", name="pk_resource_terms"),
    Index("ix_resource_terms_kind_value", "kind", "value", "rtype", "rseq"),
)

#: every resource that has ever named a resident where her erasure reaches (in its current
#: version or only in an earlier state the feed keeps): unlike her ``named-resident`` term, a
#: row stays when a later version stops naming her, so her erasure still finds the earlier
#: states to rewrite (/req/privacy/erasure-reaches-records)
named_ever = Table(
    "named_ever", metadata,
    Column("resident", String(160), nullable=False),  # her id, as a term holds it
    Column("rseq", _SEQ, nullable=False),
    PrimaryKeyConstraint("resident", "rseq", name="pk_named_ever"),
)

#: the change feed: gap-free ``seq`` in commit order, the full state after each write; the
#: sequence is also the CloudEvents id (unique within this server, the event source)
events = Table(
    "events", metadata,
    _sequence(autoincrement=False),
    *_version_of("rid"),
    Column("kind", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    _utc("time"),
    *_scope(),
    Column("data", Text, nullable=False),
    # /req/change-feed/chain-digest: the resource's history head after the write, and the
    # running digest over the whole feed up to this event
    Column("head", String(80)),
    Column("chain", String(80)),
    # the event's own random salt, which its digest covers: kept with the event for as long
    # as it is in the feed (an erasure rewrites only ``data``)
    Column("salt", String(32)),
    # a resource's own events (a version's state, erasure's rewrite) without reading the feed
    Index("ix_events_resource", "rtype", "rid", "seq"),
    # the events still to seal, found at start without reading the whole feed
    Index("ix_events_unsealed", "seq", postgresql_where=text("chain IS NULL"),
          sqlite_where=text("chain IS NULL")),
)

#: what create requests made, per principal and Idempotency-Key: a reference to the resource
#: and its version, never a copy of it, so that a replay is read afresh and erasure leaves
#: nothing behind here (/req/core/idempotency-scope, /req/core/idempotency-replay-access)
idempotency = Table(
    "idempotency", metadata,
    _principal(),
    Column("key", String(128), nullable=False),
    Column("request", String(200), nullable=False),  # method and path the key was used on
    Column("body_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("etag", String(40)),
    Column("location", String(300)),
    *_version_of("rid"),
    _utc("created_at"),
    PrimaryKeyConstraint("principal", "key", name="pk_idempotency"),
    Index("ix_idempotency_resource", "rtype", "rid"),
    Index("ix_idempotency_created", "created_at"),
)

#: append-only log of access to residents' sensitive information (/req/privacy/audit-log)
audit = Table(
    "audit", metadata,
    _sequence(autoincrement=True),
    _utc("at"),
    _principal(),
    Column("role", String(32), nullable=False),
    Column("operation", String(32), nullable=False),
    Column("resident", String(64), nullable=False),
    Column("fields", Text, nullable=False),
    Column("communities", Text, nullable=False),
    Index("ix_audit_resident", "resident", "seq"),
    sqlite_autoincrement=True,
)
