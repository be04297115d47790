"""Idempotency records name the resource they made instead of keeping a copy of it.

A copy of a created record outlived its erasure and was replayed whole; a reference is read
afresh at every replay. Kept keys are a short-lived cache, so the table is simply rebuilt.

Revision ID: 0002
Revises: 0001
Create Date: 2025-07-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("idempotency")
    op.create_table(
        "idempotency",
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("request", sa.String(200), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(40)),
        sa.Column("location", sa.String(300)),
        sa.Column("rtype", sa.String(16), nullable=False),
        sa.Column("rid", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("principal", "key", name="pk_idempotency"),
    )
    op.create_index("ix_idempotency_resource", "idempotency", ["rtype", "rid"])
    op.create_index("ix_idempotency_created", "idempotency", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency")
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
