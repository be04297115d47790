"""PostgreSQL: documents and event states compressed with LZ4 instead of pglz.

A stored document of more than about 2 KB is compressed by PostgreSQL (TOAST), with pglz by
default. Importing a city's issues of about 4 KB, PostgreSQL spent a quarter of its processor
time compressing them twice over (the resource's document and its event's state); LZ4 does
the same work several times faster, for about the same size. Only values written afterwards
are compressed with it; PostgreSQL reads either. Servers built without LZ4 (or before
PostgreSQL 14) keep pglz; SQLite stores text as it is.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: (table, column) of the documents: what is compressed
COMPRESSED = (("resources", "doc"), ("events", "data"))


def _has_lz4() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    # The setting lists the methods this server was built with (PostgreSQL 14 and later).
    methods = bind.execute(sa.text(
        "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")).scalar()
    return isinstance(methods, list) and "lz4" in methods


def _compress(method: str) -> None:
    if _has_lz4():
        for table, column in COMPRESSED:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}")


def upgrade() -> None:
    _compress("lz4")


def downgrade() -> None:
    _compress("pglz")
