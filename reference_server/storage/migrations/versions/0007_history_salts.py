"""History salts: every history event of a stored record gets a random salt of its own.

A reader kept from part of a history event (a vote's result and counts before they are
published, /req/consultations/results-hidden) receives the event's digest, as withheldDigest
and as the next event's previousDigest. The members withheld have few possible values (four
results, small counts) and the digest covered nothing else the reader lacked, so recomputing
it over each guess told the results within milliseconds. Every history event now holds a
128-bit salt inside its integrity form (/req/core/history-chain), which such a reader does not
receive.

A record's history is in its current version and in every earlier state the feed keeps, and
an event carries the same salt wherever it appears. The salts are drawn here as
HMAC-SHA-256(key, type/id/index), cut to 128 bits, under a key drawn afresh for this migration
and never stored: the resources and the feed, each read a page at a time, agree on every salt
without holding a record's salts in memory, and nothing lets anyone compute one. Each link
(previousDigest) that was right is rewritten with the salts (``seal_history``); the history
heads of the rewritten states and the feed's chain from the first of them on are cleared, and
sealed again when the server next starts (``Tx.seal_feed``), as after 0006.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

from smartcommunity.integrity import event_digest, seal_history
from smartcommunity.specification import available_versions, load_spec

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: rows read a page at a time
_BATCH = 5000
#: the member holding an event's salt, and the link naming the event before
SALT, LINK = "salt", "previousDigest"

#: a stored document → its new form, or None when it stays as it is
_Rewrite = Callable[[str, str, dict[str, Any]], dict[str, Any] | None]


def _history_types() -> list[str]:
    """The resource types that have a history: those with a lifecycle (1.0, published and
    unchanging, as the server wrote them)."""
    return sorted(load_spec("1.0").lifecycles)


def _rewrite_all(change: _Rewrite) -> None:
    """Every stored record of a type with history, and every state of one in the feed,
    through ``change``; a rewritten state's head and chain digests cleared for the server to
    seal again."""
    bind = op.get_bind()
    types = _history_types()
    for table, key, doc, cleared in (("resources", "id", "doc", ""),
                                     ("events", "rid", "data", ", head = NULL, chain = NULL")):
        page = sa.text(
            f"SELECT seq, rtype, {key}, {doc} FROM {table} WHERE seq > :after "
            "AND rtype IN :types ORDER BY seq LIMIT :n"
        ).bindparams(sa.bindparam("types", expanding=True))
        update = sa.text(f"UPDATE {table} SET {doc} = :doc{cleared} WHERE seq = :seq")
        after = 0
        while rows := bind.execute(page, {"after": after, "types": types, "n": _BATCH}).all():
            changed = []
            for seq, rtype, rid, text in rows:
                new = change(str(rtype), str(rid), orjson.loads(text))
                if new is not None:
                    changed.append({"seq": seq, "doc": orjson.dumps(new).decode()})
            if changed:
                bind.execute(update, changed)
            after = int(rows[-1][0])


def upgrade() -> None:
    key = secrets.token_bytes(32)

    def salted(rtype: str, rid: str, doc: dict[str, Any]) -> dict[str, Any] | None:
        def salt(index: int) -> str:
            message = f"{rtype}/{rid}/{index}".encode()
            return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]

        new = seal_history(doc, salt=salt)
        return new if new.get("history") is not doc.get("history") else None

    _rewrite_all(salted)


def downgrade() -> None:
    # The salts go, and each link that was right for the salted event is written for the
    # event without its salt; the feed is sealed again.
    _rewrite_all(lambda _rtype, _rid, doc: _unsalted(doc))


def _unsalted(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    history = doc.get("history")
    if not isinstance(history, list) or not any(isinstance(e, dict) and SALT in e
                                                for e in history):
        return None
    rtype = str(doc.get("resourceType"))
    stated = doc.get("specVersion")
    version = stated if stated in available_versions() else "1.0"
    out: list[Any] = []
    before: tuple[Any, Any] = (None, None)  # the event before: as stored, as rewritten
    for event in history:
        new = event
        if isinstance(event, dict):
            new = {k: v for k, v in event.items() if k != SALT}
            old, rewritten = before
            if (isinstance(old, dict) and isinstance(event.get(LINK), str)
                    and event[LINK] == event_digest(old, rtype, version)):
                new[LINK] = event_digest(rewritten, rtype, version)
        out.append(new)
        before = (event, new)
    return {**doc, "history": out}
