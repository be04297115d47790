"""Published-grid terms: the grid of an issue published down to its grid, indexed apart.

The public and the community's residents receive an issue's ``gridCode`` only when its
publication decision publishes it down to the grid; their ``?grid=`` selected on every issue's
stored grid code, and so told them the grid of issues published down to the community only.
A filter now selects only by what the reader receives (/req/privacy/filter-what-is-seen), and
their ``?grid=`` reads these terms. Terms are derived as a document is written, so the issues
already stored get theirs here, from the same members.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: the kind of term and the resource type, and where its decision, level of place and grid
#: are (as the storage's index and the 1.0 ``privacy.json`` said when this revision was
#: written): a term only for a published issue whose level is LEVEL
KIND, RTYPE, LEVEL, DEFAULT_LEVEL = "published-grid", "Issue", "grid", "community"
#: the longest term the table holds
TERM_LENGTH = 160


def upgrade() -> None:
    # Read in Python, as a document is when written (see 0003).
    bind = op.get_bind()
    found = []
    for seq, doc in bind.execute(sa.text("SELECT seq, doc FROM resources WHERE rtype = :rtype"),
                                 {"rtype": RTYPE}):
        record = json.loads(doc)
        publication = record.get("publication")
        if not isinstance(publication, dict) or publication.get("published") is not True:
            continue
        level = publication.get("area")
        grid = record.get("gridCode")
        if (level if isinstance(level, str) else DEFAULT_LEVEL) == LEVEL \
                and isinstance(grid, str) and grid:
            found.append({"rseq": seq, "kind": KIND, "value": grid[:TERM_LENGTH]})
    if found:
        bind.execute(sa.text("INSERT INTO resource_terms (rseq, kind, value) "
                             "VALUES (:rseq, :kind, :value) ON CONFLICT DO NOTHING"), found)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM resource_terms WHERE kind = :kind").bindparams(kind=KIND))
