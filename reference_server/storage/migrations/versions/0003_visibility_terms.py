"""Visibility terms: a consultation's ``visibility`` code indexed, so that a list filters it.

A reader whose audience does not see every visibility (the public, a resident, a regulator)
had each consultation of a page read and parsed only to find that it could not see it; the
list now asks the term index (/req/privacy/visibility). Terms are derived as a document is
written, so the consultations already stored get theirs here, from the same member.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: the kind of term, and the resource type and top-level member it is derived from (as the
#: storage's index of that type said when this revision was written)
KIND, RTYPE, MEMBER = "visibility", "Consultation", "visibility"
#: the longest term the table holds
TERM_LENGTH = 160


def upgrade() -> None:
    # Read in Python, as a document is when written: a cast to jsonb in SQL would fail on a
    # document holding an escaped NUL (which a mirror or an unvalidated import may store).
    bind = op.get_bind()
    found = []
    for seq, doc in bind.execute(sa.text("SELECT seq, doc FROM resources WHERE rtype = :rtype"),
                                 {"rtype": RTYPE}):
        value = json.loads(doc).get(MEMBER)
        if isinstance(value, str) and value:  # only a non-empty string is a term
            found.append({"rseq": seq, "kind": KIND, "value": value[:TERM_LENGTH]})
    if found:
        bind.execute(sa.text("INSERT INTO resource_terms (rseq, kind, value) "
                             "VALUES (:rseq, :kind, :value) ON CONFLICT DO NOTHING"), found)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM resource_terms WHERE kind = :kind AND rseq IN "
                       "(SELECT seq FROM resources WHERE rtype = :rtype)"
                       ).bindparams(kind=KIND, rtype=RTYPE))
