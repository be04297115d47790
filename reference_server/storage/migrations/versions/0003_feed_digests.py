"""Change feed digests: the head of the resource's history chain and the running chain digest.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: events stored before are sealed by the server when it next starts.
    op.add_column("events", sa.Column("head", sa.String(80)))
    op.add_column("events", sa.Column("chain", sa.String(80)))


def downgrade() -> None:
    op.drop_column("events", "chain")
    op.drop_column("events", "head")
