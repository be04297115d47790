"""Mirroring a server through its change feed (/conf/change-feed).

``mirror(source_url, token, target_store)`` reads ``GET /changes`` page by page with the token
of a principal that sees everything (the ``system`` mirror) and writes each event's full state
into the target store, with a change event of its own (its own salt and chain digest, as the
target's feed has them: /req/change-feed/chain-digest), so the target can be mirrored in turn.
Re-running it from the returned cursor continues where it stopped, without loss or duplicates.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from smartcommunity.integrity import WITHHELD_TYPE
from smartcommunity.privacy import RedactionProfile
from smartcommunity.specification import load_spec

from .access import Access
from .service import RETENTION_EXPIRED, ErasureReach, copy_clearing, copy_erasure
from .storage import Change, Store, Tx

__all__ = ["FeedGap", "MirrorResult", "apply_change", "change_of", "mirror"]


@dataclass(frozen=True, slots=True)
class MirrorResult:
    events: int
    cursor: str | None  # give it back to continue later
    last_sequence: int


class FeedGap(RuntimeError):
    """The feed skipped or repeated a sequence number: the source broke /req/change-feed/order."""


def _new(tx: Tx, events: list[Mapping[str, Any]]
         ) -> tuple[list[Mapping[str, Any]], set[tuple[str, str]]]:
    """The events of ``events`` carrying a state the store does not hold yet: a newer version
    of each resource than the one stored. A mirror run again over what it copied (from the
    start, or from before a page it stopped in) neither takes resources back to older versions
    nor writes their events twice. Withheld events carry no state (a reader that does not see
    everything receives them, /req/change-feed/withheld): nothing to write. With them, the
    (type, id) of those the store holds already."""
    full = [e for e in events if e.get("type") != WITHHELD_TYPE and isinstance(e.get("data"),
                                                                               Mapping)]
    held = tx.versions((str(e["data"]["resourceType"]), str(e["data"]["id"])) for e in full)
    stored = set(held)
    out = []
    for event in full:
        key = (str(event["data"]["resourceType"]), str(event["data"]["id"]))
        version = int(event["resourceversion"])
        if version > held.get(key, 0):
            held[key] = version
            out.append(event)
    return out, stored


def change_of(event: Mapping[str, Any]) -> Change:
    """The state a change event carries, as a change to store."""
    data = event["data"]
    return Change(str(data["resourceType"]), str(data["id"]), int(event["resourceversion"]),
                  orjson.dumps(data).decode(), data, str(event["type"]).rsplit(".", 1)[-1],
                  str(event["action"]), str(event["time"]))


def apply_change(tx: Tx, event: Mapping[str, Any]) -> None:
    """Write one change event into ``tx``: the resource takes the event's state and version."""
    tx.write_many([change_of(event)], upsert=True)


def mirror(source_url: str, token: str, target_store: Store, *, cursor: str | None = None,
           limit: int = 500, strict: bool = True, client: Any = None,
           profile: RedactionProfile | None = None) -> MirrorResult:
    """Copy every change after ``cursor`` from the server at ``source_url`` into the store.

    With ``strict`` the sequence numbers must run on by one; otherwise they need only
    increase. A reader that does not see everything receives withheld events in the place of
    the others (still without gaps): they are skipped, and so is a state the target already
    holds, so running the mirror again over what it copied changes nothing. ``profile``: the
    city profile the source runs, whose registered extensions a cleared record keeps in part.
    """
    import httpx  # the server extra brings it; imported here so the package imports without it

    if target_store.sealer is None:
        # Each event is chained as it is written, as a server on the target writes its own
        # (/req/change-feed/chain-digest): a target served meanwhile gets no unchained run
        # that its next start would seal again, changing digests its readers already had.
        from .service import Service
        from .settings import Settings

        Service(Settings(database_url=target_store.url.render_as_string(hide_password=False)),
                target_store)
    # A record erased or cleared at the source (/req/privacy/erasure-every-copy,
    # /req/privacy/retention) is so here too, in every copy this store keeps, not only in the
    # version the event brings.
    spec = load_spec()
    access, reach = Access(spec), ErasureReach(spec)
    own = client is None
    http = client or httpx.Client(base_url=source_url.rstrip("/"), timeout=60.0)
    headers = {"Authorization": f"Bearer {token}"}

    def fetch(after: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["cursor"] = after
        response = http.get("/changes", params=params, headers=headers)
        response.raise_for_status()
        page: dict[str, Any] = orjson.loads(response.content)
        return page

    count = 0
    last = 0 if cursor is None else -1  # from the start the first event is sequence 1
    # The next page is asked for while this one is written: the source makes it while the
    # target writes, so the two sides' work overlaps instead of adding up.
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mirror-fetch") as ahead:
            coming = ahead.submit(fetch, cursor)
            while True:
                page = coming.result()
                items = page.get("items") or []
                for event in items:
                    sequence = int(event["sequence"])
                    if last >= 0 and (sequence != last + 1 if strict else sequence <= last):
                        raise FeedGap(f"sequence {sequence} follows {last}")
                    last = sequence
                moved = page.get("next") not in (None, cursor)
                following = page.get("next") or cursor
                if not items and not moved:  # caught up: the cursor is where to continue from
                    break
                coming = ahead.submit(fetch, following)
                if items:
                    with target_store.write() as tx:  # one page, one transaction
                        fresh, stored = _new(tx, items)
                        changes = [change_of(e) for e in fresh]
                        tx.write_many(changes, upsert=True, held=stored)
                        cleared = False
                        for change in changes:
                            if access.is_erased(change.doc):
                                copy_erasure(tx, access, reach, change.rtype, change.rid,
                                             change.doc)
                            elif change.action == RETENTION_EXPIRED:
                                copy_clearing(tx, change.rtype, change.rid, profile)
                            else:
                                continue
                            cleared = True
                    if cleared:
                        target_store.scrub_soon()
                    count += len(items)
                cursor = following
    finally:
        if own:
            http.close()
    return MirrorResult(count, cursor, last)
