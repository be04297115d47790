"""PostgreSQL's planner learns how many records hold a term.

A term is found by (kind, value), and its matches drive a list page. PostgreSQL misjudged
their number twice over, and then read and sorted every member of a community to give a page
of ten:

- it took kind and value as independent and multiplied their shares; functional-dependency
  statistics on the pair tell it that a value names its kind;
- it keeps the shares of the 100 most common values only, and the rest it takes as alike: a
  city's million pseudonyms, each held once, made every community that fell outside the 100
  look as rare as a pseudonym. A thousand values cover a city's communities, departments and
  categories.

SQLite has no such statistics and lists without them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NAME = "st_resource_terms_kind_value"
#: values whose shares ANALYZE keeps (PostgreSQL's default: 100)
COMMON_VALUES = 1000


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE STATISTICS IF NOT EXISTS {NAME} (dependencies) "
                   "ON kind, value FROM resource_terms")
        op.execute(f"ALTER TABLE resource_terms ALTER COLUMN value SET STATISTICS {COMMON_VALUES}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE resource_terms ALTER COLUMN value SET STATISTICS -1")
        op.execute(f"DROP STATISTICS IF EXISTS {NAME}")
