"""Person records keep, beside the document, the facts that decide how they are served.

A page of residents served as stored read each record's restriction and birth date, and walked
it for the sensitive members the audit log names, by parsing every document on every page. The
facts are now derived when a record is written (``_person``) into ``person_facts``; a record
without them (or with facts of other rules) is read from its document, as before.

Every person record stored before gets its facts here, a page at a time in sequence order, by
the rules of the version this server stores (the facts name those rules, so a later change of
them is never read from facts derived here). On a city's store that parses each resident once;
downgrading drops the column.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from alembic import op

from reference_server.storage._person import person_facts, person_rules
from smartcommunity.specification import load_spec

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: person records read and written at a time
PAGE = 2000


def upgrade() -> None:
    op.add_column("resources", sa.Column("person_facts", sa.Text(), nullable=True))
    bind = op.get_bind()
    person = person_rules(load_spec()).person_type
    after = 0
    while True:
        rows = bind.execute(sa.text(
            "SELECT seq, doc FROM resources WHERE rtype = :rtype AND seq > :after "
            "ORDER BY seq LIMIT :page"), {"rtype": person, "after": after, "page": PAGE}).all()
        if not rows:
            return
        after = rows[-1][0]
        bind.execute(sa.text("UPDATE resources SET person_facts = :facts WHERE seq = :seq"),
                     [{"seq": seq, "facts": person_facts(orjson.loads(doc))} for seq, doc in rows])


def downgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.drop_column("person_facts")
