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

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: the kind of term, and the resource type and top-level member it is derived from (as the
#: storage's index of that type said when this revision was written)
KIND, RTYPE, MEMBER = "visibility", "Consultation", "visibility"


def upgrade() -> None:
    bind = op.get_bind()
    # Only a non-empty string is a term, as when a document is written; a term holds at
    # most 160 characters.
    if bind.dialect.name == "postgresql":
        value = f"(doc::jsonb ->> '{MEMBER}')"
        is_text = f"jsonb_typeof(doc::jsonb -> '{MEMBER}') = 'string'"
    else:
        value = f"json_extract(doc, '$.{MEMBER}')"
        is_text = f"json_type(doc, '$.{MEMBER}') = 'text'"
    op.execute(
        f"INSERT INTO resource_terms (rseq, kind, value) "
        f"SELECT seq, '{KIND}', substr({value}, 1, 160) FROM resources "
        f"WHERE rtype = '{RTYPE}' AND {is_text} AND {value} <> '' "
        f"ON CONFLICT DO NOTHING")


def downgrade() -> None:
    op.execute(f"DELETE FROM resource_terms WHERE kind = '{KIND}'")
