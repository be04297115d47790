"""Initial schema: resources, filter terms, change feed, idempotency keys, audit log.

Revision ID: 0001
Revises:
Create Date: 2025-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _seq() -> sa.types.TypeEngine[int]:
    # SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit column.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "server_info",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "resources",
        sa.Column("seq", _seq(), primary_key=True, autoincrement=True),
        sa.Column("rtype", sa.String(16), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(64)),
        sa.Column("community", sa.String(12)),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("submitted_at", sa.String(32)),
        sa.Column("category", sa.String(64)),
        sa.Column("request_type", sa.String(64)),
        sa.Column("intake_channel", sa.String(64)),
        sa.Column("urgency", sa.String(64)),
        sa.Column("communities", sa.Text(), nullable=False),
        sa.Column("departments", sa.Text(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.UniqueConstraint("rtype", "id", name="uq_resources_rtype_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_resources_rtype_seq", "resources", ["rtype", "seq"])
    op.create_index("ix_resources_rtype_community", "resources", ["rtype", "community", "seq"])
    op.create_table(
        "resource_terms",
        sa.Column("rseq", _seq(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(160), nullable=False),
        sa.Column("until", sa.String(10)),
        sa.PrimaryKeyConstraint("rseq", "kind", "value", name="pk_resource_terms"),
    )
    op.create_index("ix_resource_terms_kind_value", "resource_terms", ["kind", "value", "rseq"])
    op.create_table(
        "events",
        sa.Column("seq", _seq(), primary_key=True, autoincrement=False),
        sa.Column("rtype", sa.String(16), nullable=False),
        sa.Column("rid", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("time", sa.String(40), nullable=False),
        sa.Column("communities", sa.Text(), nullable=False),
        sa.Column("departments", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
    )
    op.create_table(
        "idempotency",
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("request", sa.String(200), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(40)),
        sa.Column("location", sa.String(300)),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("principal", "key", name="pk_idempotency"),
    )
    op.create_table(
        "audit",
        sa.Column("seq", _seq(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("principal", sa.String(200), nullable=False),
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
