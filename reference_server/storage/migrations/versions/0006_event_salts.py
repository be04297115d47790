"""Event salts: each change event keeps a random salt, which its digest covers.

A withheld event gives the digest of the attributes it leaves out (/req/change-feed/withheld).
Without a salt those attributes (type, subject, action, version: all guessable from a
resource's id) were all it covered, so a reader who knew an id confirmed by trying a few
hundred guesses whom a withheld event concerned and what happened. Every event now has its own
128-bit salt among those attributes (/req/change-feed/chain-digest); only readers who receive
the whole event receive it.

The events stored before get their salts when the server next starts: their chain digests are
cleared here, and the server seals every event without one (``Tx.seal_feed``), giving each
event without a salt a new one first. The whole chain so changes once; a reader that kept a
chain digest from before checks the feed again from its start.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: 16 random bytes as lowercase hex
SALT_LENGTH = 32


def upgrade() -> None:
    op.add_column("events", sa.Column("salt", sa.String(SALT_LENGTH)))
    op.execute(sa.text("UPDATE events SET chain = NULL"))


def downgrade() -> None:
    # The salts go, and with them the digests that covered them: sealed again without.
    op.drop_column("events", "salt")
    op.execute(sa.text("UPDATE events SET chain = NULL"))
