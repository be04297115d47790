"""Filter terms for finding records across systems and by place.

Issues, residents and organisations get a term per external reference (``?externalRef=``);
issues also a grid term (``?grid=``) and coarse longitude and latitude terms (``?bbox=``).
Documents written before carry none of them, so they are derived here once; the server derives
them on every later write. The tables themselves do not change.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: the kinds of term this revision derives
_KINDS = ("external-ref", "grid", "lon", "lat")


def upgrade() -> None:
    # The server's own derivation: the terms must be the ones a write would make today.
    from reference_server.storage._derive import derive

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT seq, doc FROM resources WHERE rtype IN "
                                "('Issue', 'Resident', 'Organisation')"))
    insert = sa.text("INSERT INTO resource_terms (rseq, kind, value, until) "
                     "VALUES (:rseq, :kind, :value, :until) ON CONFLICT DO NOTHING")
    batch: list[dict[str, object]] = []
    for seq, doc in rows.fetchall():
        for kind, value, until in derive(json.loads(doc)).terms:
            if kind in _KINDS:
                batch.append({"rseq": seq, "kind": kind, "value": value, "until": until})
        if len(batch) >= 1000:
            bind.execute(insert, batch)
            batch = []
    if batch:
        bind.execute(insert, batch)


def downgrade() -> None:
    # Grid terms of residents and organisations predate this revision and stay.
    op.execute("DELETE FROM resource_terms WHERE kind IN ('external-ref', 'lon', 'lat')")
    op.execute("DELETE FROM resource_terms WHERE kind = 'grid' AND rseq IN "
               "(SELECT seq FROM resources WHERE rtype = 'Issue')")
