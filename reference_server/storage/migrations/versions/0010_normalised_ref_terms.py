"""External-reference terms hold their system in its RFC 3986 normal form.

``?externalRef=SYSTEM|VALUE`` compared the system as written, while echo suppression and the
one-reference-per-system rule compare systems after RFC 3986 normalisation: a record stored
with ``https://hotline12345.example.cn/work-orders`` was not found by
``HTTPS://Hotline12345.example.cn:443/work-orders|GD1``. A term is now written with the
normalised system (the value as written), and a lookup normalises the system it is given
(/req/profiles/external-ref-lookup).

The terms stored before are rewritten here, a page of resources at a time in sequence order:
each term whose system is not in normal form is replaced by the normalised one, and where two
of a resource's references come to the same term one row is kept. A term stored as a digest (a
reference too long for a term) does not show its system, so its resource's document is read and
its terms derived again. On a city's store this reads every external-reference term once and
writes only those that change; stores whose systems were written in normal form are left as
they are.

Downgrading leaves the terms normalised: the server before this revision then finds a record
only when the lookup spells its system in normal form.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

from smartcommunity.uris import normalise_uri

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: the kind of term, and the longest term the table holds before a digest stands for it (as
#: the storage's index said when this revision was written)
KIND, TERM_LENGTH, DIGEST = "external-ref", 160, "sha256:"
#: resources whose terms are read at once
PAGE = 500


def _term(system: str, value: str) -> str:
    """The term of an external reference as the storage writes it from this revision on."""
    key = f"{normalise_uri(system)}|{value}"
    return key if len(key) <= TERM_LENGTH else DIGEST + hashlib.sha256(key.encode()).hexdigest()


def _derived(doc: str) -> set[str]:
    """The terms of a stored document's external references."""
    refs = json.loads(doc).get("externalRefs")
    return {_term(ref["system"], ref["value"]) for ref in refs if isinstance(ref, dict)
            and isinstance(ref.get("system"), str) and isinstance(ref.get("value"), str)
            } if isinstance(refs, list) else set()


def upgrade() -> None:
    bind = op.get_bind()
    after = 0
    while True:
        seqs = bind.execute(sa.text(
            "SELECT DISTINCT rseq FROM resource_terms WHERE kind = :kind AND rseq > :after "
            "ORDER BY rseq LIMIT :page"), {"kind": KIND, "after": after, "page": PAGE}
        ).scalars().all()
        if not seqs:
            return
        after = seqs[-1]
        stored: dict[int, set[str]] = defaultdict(set)
        rtypes: dict[int, str] = {}
        for rseq, value, rtype in bind.execute(sa.text(
                "SELECT rseq, value, rtype FROM resource_terms WHERE kind = :kind "
                "AND rseq BETWEEN :first AND :last"),
                {"kind": KIND, "first": seqs[0], "last": after}):
            stored[rseq].add(value)
            rtypes[rseq] = rtype
        digested = [s for s, values in stored.items() if any(v.startswith(DIGEST)
                                                             for v in values)]
        docs: dict[int, str] = {}
        if digested:
            docs.update(bind.execute(
                sa.text("SELECT seq, doc FROM resources WHERE seq IN :seqs")
                .bindparams(sa.bindparam("seqs", expanding=True)), {"seqs": digested}).all())
        gone: list[dict[str, Any]] = []
        added: list[dict[str, Any]] = []
        for rseq, values in stored.items():
            if rseq in docs:
                wanted = _derived(docs[rseq])
            else:  # a plain term is SYSTEM|VALUE, and a system holds no "|"
                wanted = {_term(*v.split("|", 1)) if "|" in v else v for v in values}
            gone += [{"rseq": rseq, "kind": KIND, "value": v} for v in values - wanted]
            added += [{"rseq": rseq, "kind": KIND, "value": v, "rtype": rtypes[rseq]}
                      for v in wanted - values]
        if gone:
            bind.execute(sa.text("DELETE FROM resource_terms WHERE rseq = :rseq "
                                 "AND kind = :kind AND value = :value"), gone)
        if added:
            bind.execute(sa.text("INSERT INTO resource_terms (rseq, kind, value, rtype) "
                                 "VALUES (:rseq, :kind, :value, :rtype)"), added)


def downgrade() -> None:
    # The old lookup reads terms as written; normalised ones are found by their normal form.
    pass
