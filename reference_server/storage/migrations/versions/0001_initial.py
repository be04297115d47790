"""Initial schema: resources and their filter terms, change feed, idempotency keys, audit log.

Which index serves what (the list operations order by ``seq`` and page with ``seq > cursor``):

- ``?status=``, ``?category=``, ``?requestType=``, ``?intakeChannel=``, ``?urgency=``:
  ``resources (rtype, <column>, seq)``, so matches come in cursor order from the cursor on;
  ``?category=`` finds the code and its sub-codes in the range that lies between the code and
  the code + "/", hence the column compares byte by byte (collation "C") on PostgreSQL
  whatever the database's locale, and reads each code's matches in order;
- ``?updatedSince=``: ``(rtype, updated_at, seq)``; ``?submittedFrom=`` / ``?submittedTo=``:
  ``(rtype, submitted_at, seq)``;
- ``?community=`` of one-community types, and the cursor alone: ``(rtype, community, seq)``
  and ``(rtype, seq)``;
- ``?community=`` of residents and organisations, ``?grid=``, ``?pseudonym=``,
  ``?department=``, ``?externalRef=``, ``?bbox=``, consultations' ``?category=`` and
  ``?issue=``: ``resource_terms (kind, value, rseq)``;
- a resource's own events (the state of a version, erasure's rewrite): ``events (rtype, rid,
  seq)``; the events still to seal at start: ``events (seq) WHERE chain IS NULL``.

On PostgreSQL, what the planner learns of terms (``ANALYZE``): a term's matches drive a list
page, and PostgreSQL misjudged their number twice over, then read and sorted every member of a
community to give a page of ten. It took kind and value as independent and multiplied their
shares (functional-dependency statistics tell it that a value names its kind); and it kept the
shares of the 100 most common values only, taking the rest as alike, so that a city's million
pseudonyms, each held once, made a community outside the 100 look as rare as a pseudonym (a
thousand values cover a city's communities, departments and categories).

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: the list filters that read one column of ``resources``, by the name of their index
_FILTERS = {"status": "status", "updated": "updated_at", "submitted": "submitted_at",
            "category": "category", "request_type": "request_type",
            "intake_channel": "intake_channel", "urgency": "urgency"}

#: PostgreSQL: the terms' kind-value dependency, and the values whose shares ANALYZE keeps
#: (its default: 100)
_TERM_STATISTICS = "st_resource_terms_kind_value"
_COMMON_VALUES = 1000

#: sequence numbers: 64-bit on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


# The column kinds several tables share, as the tables declare them.
def _version_of(id_column: str) -> list[sa.Column[Any]]:
    return [sa.Column("rtype", sa.String(16), nullable=False),
            sa.Column(id_column, sa.String(64), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False)]


def _principal() -> sa.Column[str]:
    return sa.Column("principal", sa.String(200), nullable=False)


def _utc(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(40), nullable=False)


def _scope() -> list[sa.Column[str]]:
    return [sa.Column("communities", sa.Text(), nullable=False),
            sa.Column("departments", sa.Text(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "server_info",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "resources",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        *_version_of("id"),
        sa.Column("status", sa.String(64)),
        sa.Column("community", sa.String(12)),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("submitted_at", sa.String(32)),
        sa.Column("category", sa.String(64, collation="C").with_variant(sa.String(64), "sqlite")),
        sa.Column("request_type", sa.String(64)),
        sa.Column("intake_channel", sa.String(64)),
        sa.Column("urgency", sa.String(64)),
        *_scope(),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.UniqueConstraint("rtype", "id", name="uq_resources_rtype_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_resources_rtype_seq", "resources", ["rtype", "seq"])
    op.create_index("ix_resources_rtype_community", "resources", ["rtype", "community", "seq"])
    for name, column in _FILTERS.items():
        op.create_index(f"ix_resources_rtype_{name}", "resources", ["rtype", column, "seq"])
    op.create_table(
        "resource_terms",
        sa.Column("rseq", _SEQ, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(160), nullable=False),
        sa.Column("until", sa.String(10)),
        sa.PrimaryKeyConstraint("rseq", "kind", "value", name="pk_resource_terms"),
    )
    op.create_index("ix_resource_terms_kind_value", "resource_terms", ["kind", "value", "rseq"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE STATISTICS {_TERM_STATISTICS} (dependencies) "
                   "ON kind, value FROM resource_terms")
        op.execute(f"ALTER TABLE resource_terms ALTER COLUMN value SET STATISTICS {_COMMON_VALUES}")
    op.create_table(
        "events",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=False),
        *_version_of("rid"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        _utc("time"),
        *_scope(),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("head", sa.String(80)),
        sa.Column("chain", sa.String(80)),
    )
    op.create_index("ix_events_resource", "events", ["rtype", "rid", "seq"])
    op.create_index("ix_events_unsealed", "events", ["seq"],
                    postgresql_where=sa.text("chain IS NULL"),
                    sqlite_where=sa.text("chain IS NULL"))
    op.create_table(
        "idempotency",
        _principal(),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("request", sa.String(200), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(40)),
        sa.Column("location", sa.String(300)),
        *_version_of("rid"),
        _utc("created_at"),
        sa.PrimaryKeyConstraint("principal", "key", name="pk_idempotency"),
    )
    op.create_index("ix_idempotency_resource", "idempotency", ["rtype", "rid"])
    op.create_index("ix_idempotency_created", "idempotency", ["created_at"])
    op.create_table(
        "audit",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        _utc("at"),
        _principal(),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("resident", sa.String(64), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("communities", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_resident", "audit", ["resident", "seq"])


def downgrade() -> None:
    for table in ("audit", "idempotency", "events", "resource_terms", "resources",
                  "server_info"):
        op.drop_table(table)
