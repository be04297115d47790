"""Indexes for every filter, sort and cursor of the list operations, and for the feed's lookups.

Which index serves what (the list operations order by ``seq`` and page with ``seq > cursor``):

- ``?status=``, ``?category=``, ``?requestType=``, ``?intakeChannel=``, ``?urgency=``:
  ``(rtype, <column>, seq)``, so matches come in cursor order from the cursor on;
  ``?category=`` reads the range of the code and its sub-codes, hence the column compares
  byte by byte (collation "C") on PostgreSQL whatever the database's locale;
- ``?updatedSince=``: ``(rtype, updated_at, seq)``; ``?submittedFrom=`` / ``?submittedTo=``:
  ``(rtype, submitted_at, seq)``;
- ``?community=`` (one-community types), the cursor alone: the indexes of 0001;
  ``?community=`` (residents, organisations), ``?grid=``, ``?pseudonym=``, ``?department=``,
  consultations' ``?category=`` and ``?issue=``: ``resource_terms (kind, value, rseq)`` of 0001;
- a resource's own events (the state of a version, erasure's rewrite): ``events (rtype, rid,
  seq)``; the events still to seal at start: ``events (seq) WHERE chain IS NULL``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = {"status": "status", "updated": "updated_at", "submitted": "submitted_at",
            "category": "category", "request_type": "request_type",
            "intake_channel": "intake_channel", "urgency": "urgency"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("resources", "category", type_=sa.String(64, collation="C"),
                        existing_type=sa.String(64), existing_nullable=True)
    for name, column in _COLUMNS.items():
        op.create_index(f"ix_resources_rtype_{name}", "resources", ["rtype", column, "seq"])
    op.create_index("ix_events_resource", "events", ["rtype", "rid", "seq"])
    op.create_index("ix_events_unsealed", "events", ["seq"],
                    postgresql_where=sa.text("chain IS NULL"),
                    sqlite_where=sa.text("chain IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_events_unsealed", "events")
    op.drop_index("ix_events_resource", "events")
    for name in _COLUMNS:
        op.drop_index(f"ix_resources_rtype_{name}", "resources")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("resources", "category", type_=sa.String(64),
                        existing_type=sa.String(64, collation="C"), existing_nullable=True)
