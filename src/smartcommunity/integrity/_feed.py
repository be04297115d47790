"""The running digest of the change feed (/req/change-feed/chain-digest, /withheld)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from ._canonical import digest, hash_text
from ._history import head_digest, verify_history
from ._report import Break

#: the members of a change event its digest covers: what identifies and orders the change,
#: and the head of the resource's history chain — no personal data, so every reader agrees
FEED_MEMBERS = ("id", "source", "type", "subject", "time", "sequence", "action",
                "resourceversion", "historydigest")
#: the type of the event a reader receives in place of one it may not see
WITHHELD_TYPE = "org.w3id.smartcommunity.withheld"
#: what a withheld event keeps of the event it stands for
_WITHHELD_KEEPS = ("specversion", "id", "source", "time", "sequence")


def feed_integrity_form(event: Mapping[str, Any]) -> dict[str, Any]:
    """The members of ``event`` its digest covers."""
    return {name: event[name] for name in FEED_MEMBERS if name in event}


def feed_event_digest(event: Mapping[str, Any]) -> str:
    """The digest of a change event's integrity form."""
    return digest(feed_integrity_form(event))


def chain_digest(previous: str | None, event_digest: str) -> str:
    """The ``chaindigest`` of an event: SHA-256 over the previous event's ``chaindigest``
    (nothing for the first event of the feed) followed by the event's own digest."""
    return hash_text(((previous or "") + event_digest).encode("ascii"))


def withheld_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """What a reader that may not see ``event`` receives in its place: its position, time and
    digests, and nothing of the resource."""
    out = {name: event[name] for name in _WITHHELD_KEEPS if name in event}
    out["type"] = WITHHELD_TYPE
    out["eventdigest"] = feed_event_digest(event)
    out["chaindigest"] = event.get("chaindigest")
    return out


def _sequence(event: Mapping[str, Any]) -> int | None:
    raw = event.get("sequence")
    return int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdigit() else None


def verify_feed(events: Iterable[Mapping[str, Any]], *, previous: str | None = None,
                after: int | None = None, histories: bool = True) -> list[Break]:
    """Every broken link of a run of change events, in feed order, first one first.

    ``previous`` is the ``chaindigest`` of the event before the run and ``after`` its
    ``sequence`` (a mirror resuming from what it verified before). Without them, a run that
    starts at sequence 1 is checked from the feed's start; any other run takes its first
    event's ``chaindigest`` on trust and checks every later link. A changed event breaks its
    own link; a dropped one breaks the link of the event after it and leaves a gap in the
    sequence. With ``histories``, each event's data is checked too: its history chain, and
    ``historydigest`` against its last history event.
    """
    breaks: list[Break] = []
    chain = previous
    anchored = previous is not None
    last = after
    for index, event in enumerate(events):
        seq = _sequence(event)
        label = event.get("sequence")

        def found(code: str, where: str, **values: Any) -> None:
            breaks.append(Break(code, where, label, index=index, values=values))  # noqa: B023

        if last is not None and seq is not None and seq != last + 1:
            breaks.append(Break("integrity.feed-sequence", "/sequence", label,
                                expected=str(last + 1), found=str(seq), index=index,
                                values={"previous": last}))
        last = seq if seq is not None else last
        given = event.get("chaindigest")
        own = (event.get("eventdigest") if event.get("type") == WITHHELD_TYPE
               else feed_event_digest(event))
        if not isinstance(own, str):
            found("integrity.feed-digest-missing", "/eventdigest", member="eventdigest")
        if not isinstance(given, str):
            found("integrity.feed-digest-missing", "/chaindigest", member="chaindigest")
        elif isinstance(own, str) and (anchored or seq == 1):
            expected = chain_digest(chain, own)
            if given != expected:
                breaks.append(Break("integrity.feed-digest", "/chaindigest", label,
                                    expected=expected, found=given, index=index))
        # The next link is checked against what this event claims: one changed event is
        # named once, not again in every event after it.
        chain = given if isinstance(given, str) else None
        anchored = chain is not None
        if histories:
            breaks.extend(_data_breaks(event, index, label))
    return breaks


def _data_breaks(event: Mapping[str, Any], index: int, label: Any) -> list[Break]:
    data = event.get("data")
    if not isinstance(data, Mapping) or not isinstance(data.get("history"), list):
        return []
    out = [dataclasses.replace(b, pointer="/data" + b.pointer, index=index, seq=b.seq)
           for b in verify_history(data)]
    head = head_digest(data)
    given = event.get("historydigest")
    if head is not None and given is None:
        out.append(Break("integrity.feed-digest-missing", "/historydigest", label, index=index,
                         values={"member": "historydigest"}))
    elif head is not None and given != head:
        out.append(Break("integrity.history-head", "/historydigest", label, expected=head,
                         found=str(given), index=index))
    return out
