"""A request made while a resident record was restricted keeps it restricted: restrictedAt.

A resident whose record was restricted and who then asked for erasure (or for restriction
again) was given less protection than before until staff decided: the state of a pending
request does not say that the record was restricted, so every reader received it whole again
and could write it. A server now records when the restriction was carried out,
``restriction.restrictedAt``, in such a request (/req/residents/rights-request) and treats the
record as restricted while it is there (/req/residents/restricted-disclosure,
/req/residents/restricted-writes).

The requests stored before are judged by the feed, which keeps every state a record had: for
a resident record whose current state is a request, the state before its run of requests says
whether it was restricted. If it was, the current version and every state of that run get
``restrictedAt`` as a server writes it now (the restriction's ``decidedAt``, no later than the
first request). A record whose earlier states the feed does not hold (one imported in a
requested state) stays as it is and is served by its state until staff decide. Resident
records have no history, so no digest covers what is rewritten and the feed needs no sealing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

from smartcommunity.participation import moment

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: 1.0, published and unchanging: the person's resource type, the states of a pending request,
#: the restricted state and the member that keeps it through a request
PERSON = "Resident"
REQUESTED = ("restriction-requested", "erasure-requested")
RESTRICTED = "restricted"
MARKER = "restrictedAt"
#: rows read a page at a time
_BATCH = 1000


def _restriction(doc: Any) -> dict[str, Any]:
    found = doc.get("restriction") if isinstance(doc, dict) else None
    return found if isinstance(found, dict) else {}


def _marked(doc: dict[str, Any], at: Any) -> dict[str, Any]:
    """``doc`` with ``at`` as its restriction's marker, placed as a server writes it."""
    restriction = {k: v for k, v in _restriction(doc).items() if k != MARKER}
    return {**doc, "restriction": {**restriction, MARKER: at}}


def _kept_since(states: list[tuple[int, dict[str, Any]]]) -> tuple[Any, list[int]] | None:
    """From a record's states in the feed, newest first: when the restriction that its run
    of pending requests keeps was carried out, and the events of that run; None when the
    state before the run was no restriction, or the feed does not hold it."""
    run: list[int] = []
    for seq, state in states:
        restriction = _restriction(state)
        if restriction.get("state") in REQUESTED:
            run.append(seq)
            continue
        if restriction.get("state") != RESTRICTED or not run:
            return None
        asked = _restriction(states[len(run) - 1][1]).get("requestedAt")
        decided = restriction.get("decidedAt")
        first, then = moment(decided), moment(asked)
        at = decided if first is not None and (then is None or first <= then) else asked
        return (at, run) if at is not None else None
    return None


def upgrade() -> None:
    bind = op.get_bind()
    # Only a text naming a requested state can be one: the others are not parsed.
    page = sa.text(
        "SELECT seq, id, doc FROM resources WHERE rtype = :rtype AND seq > :after "
        "AND doc LIKE :pending ORDER BY seq LIMIT :n")
    states = sa.text("SELECT seq, data FROM events WHERE rtype = :rtype AND rid = :rid "
                     "ORDER BY seq DESC")
    update_doc = sa.text("UPDATE resources SET doc = :doc WHERE seq = :seq")
    update_state = sa.text("UPDATE events SET data = :doc WHERE seq = :seq")
    after = 0
    while rows := bind.execute(page, {"rtype": PERSON, "after": after, "pending": "%-requested%",
                                      "n": _BATCH}).all():
        after = int(rows[-1][0])
        for seq, rid, text in rows:
            doc = orjson.loads(text)
            restriction = _restriction(doc)
            if restriction.get("state") not in REQUESTED or MARKER in restriction:
                continue
            held = [(int(s), orjson.loads(d))
                    for s, d in bind.execute(states, {"rtype": PERSON, "rid": rid}).all()]
            found = _kept_since(held)
            if found is None:
                continue
            at, run = found
            bind.execute(update_doc, {"seq": seq, "doc": orjson.dumps(_marked(doc, at)).decode()})
            by_seq = dict(held)
            bind.execute(update_state, [
                {"seq": s, "doc": orjson.dumps(_marked(by_seq[s], at)).decode()} for s in run])


def downgrade() -> None:
    # The marker goes from every stored state: servers before it do not know the member.
    bind = op.get_bind()
    for table, doc in (("resources", "doc"), ("events", "data")):
        page = sa.text(f"SELECT seq, {doc} FROM {table} WHERE rtype = :rtype AND seq > :after "
                       f"AND {doc} LIKE :marked ORDER BY seq LIMIT :n")
        update = sa.text(f"UPDATE {table} SET {doc} = :doc WHERE seq = :seq")
        after = 0
        while rows := bind.execute(page, {"rtype": PERSON, "after": after,
                                          "marked": f"%{MARKER}%", "n": _BATCH}).all():
            after = int(rows[-1][0])
            changed = []
            for seq, text in rows:
                state = orjson.loads(text)
                restriction = _restriction(state)
                if MARKER in restriction:
                    kept = {k: v for k, v in restriction.items() if k != MARKER}
                    changed.append({"seq": seq,
                                    "doc": orjson.dumps({**state, "restriction": kept}).decode()})
            if changed:
                bind.execute(update, changed)
