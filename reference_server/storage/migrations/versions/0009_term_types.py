"""Each filter term names its resource's type, and the term index reads one type's terms.

Several resource types share a kind of term: residents, issues and organisations all have
grids, residents and organisations communities. A list of one type driven by a term read the
term index in sequence order and looked up every match's row, other types' included, to drop
them: a community's organisations were found only after stepping over each of its two
thousand residents, and a page of a grid's issues after its residents. The index is now
(kind, value, type, seq), so that a list reads only its own type's terms, in order.

The terms stored before get their type from their resource. On a city's store this rewrites
every term row once (PostgreSQL keeps the old row versions until its next vacuum).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

INDEX = "ix_resource_terms_kind_value"
#: the statistics the initial revision keeps on how a term's kind and value go together
STATISTICS = "st_resource_terms_kind_value"


def _statistics(columns: str) -> None:
    """PostgreSQL's statistics on how ``columns`` of a term depend on one another."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")
        op.execute(f"CREATE STATISTICS {STATISTICS} (dependencies) ON {columns} "
                   "FROM resource_terms")


def upgrade() -> None:
    op.add_column("resource_terms", sa.Column("rtype", sa.String(16)))
    if op.get_bind().dialect.name == "postgresql":  # one join, not a lookup per term
        op.execute(sa.text("UPDATE resource_terms t SET rtype = r.rtype FROM resources r "
                           "WHERE r.seq = t.rseq"))
    else:
        op.execute(sa.text("UPDATE resource_terms SET rtype = (SELECT r.rtype FROM resources "
                           "r WHERE r.seq = resource_terms.rseq)"))
    # A term is written and dropped with its resource's row: none can be without one.
    op.execute(sa.text("DELETE FROM resource_terms WHERE rtype IS NULL"))
    op.drop_index(INDEX, "resource_terms")
    with op.batch_alter_table("resource_terms") as batch:
        batch.alter_column("rtype", existing_type=sa.String(16), nullable=False)
    op.create_index(INDEX, "resource_terms", ["kind", "value", "rtype", "rseq"])
    # A kind's value tells its type (a visibility term is a consultation's): taken as
    # independent, a public consultation's term looked eight times rarer than it is, and
    # PostgreSQL read every match and sorted them rather than read the index in order.
    _statistics("kind, value, rtype")


def downgrade() -> None:
    _statistics("kind, value")
    op.drop_index(INDEX, "resource_terms")
    with op.batch_alter_table("resource_terms") as batch:
        batch.drop_column("rtype")
    op.create_index(INDEX, "resource_terms", ["kind", "value", "rseq"])
