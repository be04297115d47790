"""The running digest of the change feed (/req/change-feed/chain-digest, /withheld)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from ._canonical import digest, hash_text
from ._history import head_digest, verify_history
from ._report import Break

#: the attributes of a change event that a withheld event shows as well
SHOWN = ("specversion", "id", "source", "time", "sequence")
#: the attributes a withheld event leaves out; their digest is its ``eventdigest``. All but
#: the salt can be guessed from a resource's id (a resident record has no history digest):
#: the salt, random and fresh for each event, keeps a withheld event's digest from
#: confirming a guess of whom it concerns and what happened
HIDDEN = ("type", "subject", "datacontenttype", "dataschema", "action", "resourceversion",
          "historydigest", "eventsalt")
#: every attribute the chain covers: all but the data (redacted differently for each reader;
#: its history is covered by historydigest) and the digests
FEED_MEMBERS = SHOWN + HIDDEN
#: the type of the event a reader receives in place of one it may not see
WITHHELD_TYPE = "org.w3id.smartcommunity.withheld"


def content_digest(event: Mapping[str, Any]) -> str:
    """``eventdigest``: the digest of the attributes a withheld event leaves out."""
    return digest({name: event[name] for name in HIDDEN if name in event})


def feed_integrity_form(event: Mapping[str, Any]) -> dict[str, Any]:
    """What the digest of ``event`` covers: the attributes every reader receives, and the
    ``eventdigest`` of the others (given by a withheld event, computed for any other)."""
    form = {name: event[name] for name in SHOWN if name in event}
    form["eventdigest"] = (event.get("eventdigest") if event.get("type") == WITHHELD_TYPE
                           else content_digest(event))
    return form


def feed_event_digest(event: Mapping[str, Any]) -> str:
    """The digest of a change event's integrity form, which its ``chaindigest`` chains."""
    return digest(feed_integrity_form(event))


def chain_digest(previous: str | None, event_digest: str) -> str:
    """The ``chaindigest`` of an event: SHA-256 over the previous event's ``chaindigest``
    (nothing for the first event of the feed) followed by the event's own digest."""
    return hash_text(((previous or "") + event_digest).encode("ascii"))


def withheld_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """What a reader that may not see ``event`` receives in its place: its position, time and
    digests, and nothing of the resource."""
    out = {name: event[name] for name in SHOWN if name in event}
    out["type"] = WITHHELD_TYPE
    out["eventdigest"] = content_digest(event)
    out["chaindigest"] = event.get("chaindigest")
    return out


def _sequence(event: Mapping[str, Any]) -> int | None:
    raw = event.get("sequence")
    return int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdigit() else None


def verify_feed(events: Iterable[Mapping[str, Any]], *, previous: str | None = None,
                after: int | None = None, histories: bool = True) -> list[Break]:
    """Every broken link of a run of change events, in feed order, first one first.

    Without ``after``, the run must start at sequence 1, the start of the feed. A mirror
    resuming from what it verified before gives ``after``, the sequence of the last event it
    holds, and ``previous``, its ``chaindigest`` (without ``previous`` the first event's
    ``chaindigest`` is taken on trust). A changed event breaks its own link; a dropped one
    breaks the link of the event after it and leaves a gap in the sequence; only a dropped
    last event leaves no trace in the run itself (compare the last ``chaindigest`` with one
    kept elsewhere). With ``histories``, each event's data is checked too: its history
    chain, and ``historydigest`` against its last history event.
    """
    breaks: list[Break] = []
    chain = previous
    anchored = previous is not None or after is None
    last = 0 if after is None else after
    for index, event in enumerate(events):
        seq = _sequence(event)
        label = event.get("sequence")
        if last is not None and seq is not None and seq != last + 1:
            breaks.append(Break("integrity.feed-sequence", "/sequence", label,
                                expected=str(last + 1), found=str(seq), index=index,
                                values={"previous": last}))
        last = seq if seq is not None else last
        given = event.get("chaindigest")
        withheld = event.get("type") == WITHHELD_TYPE
        own = feed_event_digest(event)
        if withheld and not isinstance(event.get("eventdigest"), str):
            breaks.append(Break("integrity.feed-digest-missing", "/eventdigest", label,
                                index=index, values={"member": "eventdigest"}))
        if not isinstance(given, str):
            breaks.append(Break("integrity.feed-digest-missing", "/chaindigest", label,
                                index=index, values={"member": "chaindigest"}))
        elif anchored:
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
