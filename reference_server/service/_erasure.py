"""What a resident's erasure, or the end of a record's retention period, does to the copies a
store keeps besides the record's new version: its earlier states in the change feed, and what
the earlier states of other records held of her. The server that erases or clears and a mirror
that copies the erasure or clearing do the same."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from smartcommunity.privacy import RedactionProfile, without_personal

from ..access import Access
from ..storage import Stored, Tx, derive
from ._retention import ErasureReach

__all__ = ["clearing", "copy_clearing", "copy_erasure", "erase_earlier_states"]


def erase_earlier_states(tx: Tx, access: Access, rtype: str, rid: str,
                         erased: Mapping[str, Any]) -> None:
    """/req/privacy/erasure-every-copy: every earlier state of the record kept in the change
    feed becomes the erased form too, and the idempotency keys that made the record go."""
    current = Stored.prepared(0, dict(erased), "", derive(erased))

    def rewrite(text: str) -> str:
        return orjson.dumps(access.erased_form(access.as_decided_now(orjson.loads(text),
                                                                    current))).decode()

    tx.rewrite_events(rtype, rid, rewrite)
    tx.forget(rtype, rid)


def clearing(reach: ErasureReach, rid: str) -> Callable[[str], str]:
    """A state's JSON text without what it holds of resident ``rid``; a state holding nothing of
    her stays as stored."""
    def clear(text: str) -> str:
        cleared = reach.apply(orjson.loads(text), rid)
        return text if cleared is None else orjson.dumps(cleared).decode()
    return clear


def copy_erasure(tx: Tx, access: Access, reach: ErasureReach, rtype: str, rid: str,
                 erased: Mapping[str, Any]) -> None:
    """A store copying another server's feed (a mirror) receives the erased state of a
    resident's record: its own copies go as they went at the source. The record's earlier
    states become the erased form, and every record that ever named her here loses what its
    earlier states held of her; their current versions come cleared in the source's feed,
    where the erasure wrote them anew."""
    erase_earlier_states(tx, access, rtype, rid, erased)
    clear = clearing(reach, rid)
    for stored in tx.named_ever(rid, reach.resource_types):
        tx.rewrite_events(stored.rtype, stored.id, clear)


def copy_clearing(tx: Tx, rtype: str, rid: str,
                  profile: RedactionProfile | None = None) -> None:
    """A store copying another server's feed receives the state of a record whose retention
    period ended there (/req/privacy/retention): the earlier states it copied lose their
    personal members as the source's did; ``profile``: the city profile both run, whose
    registered extensions keep what their tags keep (without it they go whole)."""
    tx.rewrite_events(rtype, rid, lambda text: orjson.dumps(
        without_personal(orjson.loads(text), profile=profile)).decode())
