"""Records that ever named a resident: a table her erasure finds them in, whatever they name now.

A resident's erasure found the records to rewrite by their ``named-resident`` terms, which
are derived from the current version only and replaced on every write. A consultation that
named her as a party and later dropped her was not found, and its earlier change events and
the idempotent replay of its create kept her name (/req/privacy/erasure-reaches-records,
/req/privacy/erasure-every-copy). ``named_ever`` keeps a row for every resource and every
resident any written state named, never removed by a later write.

The records stored before get theirs here, from every state the change feed holds (each
write of a resource is an event, its current version among them), named as the server
names them when writing (the 1.0 ``privacy.json``, a published and unchanging version).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from alembic import op

from reference_server.storage._privacy import named_residents
from smartcommunity.specification import load_spec

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: sequence numbers: 64-bit on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: the longest term (a resident's id as the terms hold it)
TERM_LENGTH = 160
#: events read a page at a time
_BATCH = 5000


def upgrade() -> None:
    op.create_table(
        "named_ever",
        sa.Column("resident", sa.String(160), nullable=False),
        sa.Column("rseq", _SEQ, nullable=False),
        sa.PrimaryKeyConstraint("resident", "rseq", name="pk_named_ever"),
    )
    bind = op.get_bind()
    insert = sa.text("INSERT INTO named_ever (resident, rseq) VALUES (:resident, :rseq) "
                     "ON CONFLICT DO NOTHING")
    # Only the types an erasure reaches name anyone (residents' own events are most of a feed).
    reached = list(load_spec().privacy["erasureReaches"]["resourceTypes"])
    # Read in Python, as a document is when written (see 0003: a cast to jsonb in SQL fails
    # on an escaped NUL), a page of events at a time by sequence, so that a city's feed is
    # never held in memory at once (and no server-side cursor needs a transaction block).
    page = sa.text(
        "SELECT e.seq, r.seq, e.data FROM events e JOIN resources r ON r.rtype = e.rtype "
        "AND r.id = e.rid WHERE e.seq > :after AND e.rtype IN :types ORDER BY e.seq LIMIT :n"
    ).bindparams(sa.bindparam("types", expanding=True))
    after = 0
    while rows := bind.execute(page, {"after": after, "types": reached, "n": _BATCH}).all():
        found = {(rid[:TERM_LENGTH], int(rseq)): None
                 for _, rseq, data in rows for rid in named_residents(orjson.loads(data))}
        if found:
            bind.execute(insert, [{"resident": r, "rseq": s} for r, s in found])
        after = int(rows[-1][0])


def downgrade() -> None:
    op.drop_table("named_ever")
