"""Tamper evidence: the hash chain of a resource's history and the running digest of the feed.

>>> from smartcommunity.integrity import digest
>>> digest({"b": 1, "a": "x"}) == digest({"a": "x", "b": 1})
True

A history event after the first names the digest of the one before it (``previousDigest``,
/req/core/history-chain), each event holding a random ``salt`` of its own that a reader denied
part of it does not receive; every change event carries a running digest over the server's
whole feed (``chaindigest``, /req/change-feed/chain-digest). Both are computed over RFC 8785
(JCS) canonical JSON of an *integrity form* that holds no personal information, so every
audience can check them whatever redaction it receives, and erasing personal data never
breaks them. :func:`verify_history` and :func:`verify_feed` return the broken links as data.
"""

from __future__ import annotations

from ._canonical import canonical, digest
from ._feed import (
    FEED_MEMBERS,
    WITHHELD_TYPE,
    chain_digest,
    content_digest,
    feed_event_digest,
    feed_integrity_form,
    verify_feed,
    withheld_event,
)
from ._history import (
    SALT,
    event_digest,
    event_salt,
    head_digest,
    integrity_form,
    salts_of,
    seal_history,
    verify_history,
    withheld_written,
    withhold,
)
from ._report import Break

__all__ = ["FEED_MEMBERS", "SALT", "WITHHELD_TYPE", "Break", "canonical", "chain_digest",
           "content_digest", "digest", "event_digest", "event_salt", "feed_event_digest",
           "feed_integrity_form", "head_digest", "integrity_form", "salts_of", "seal_history",
           "verify_feed", "verify_history", "withheld_event", "withheld_written", "withhold"]
