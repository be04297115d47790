"""Feed digest vectors (spec/tests/1.0/feed/): the digests of given events, their withheld
forms, and the digest a guess without the salt gives, which no withheld event may match."""

from __future__ import annotations

from typing import Any

import pytest

from smartcommunity.integrity import (
    chain_digest,
    content_digest,
    feed_event_digest,
    verify_feed,
    withheld_event,
)

from .helpers import FEED_DIR, assert_vectors_cite_requirements, digest_vectors

FILES, VECTORS = digest_vectors(FEED_DIR)


def test_there_are_feed_vectors_and_they_cite_requirements() -> None:
    assert_vectors_cite_requirements(VECTORS)


@pytest.mark.parametrize("vector", VECTORS, ids=[p.stem for p in FILES])
def test_feed_vector(vector: dict[str, Any]) -> None:
    chain = None
    cases = vector["events"]
    for case in cases:
        event = case["event"]
        assert content_digest(event) == case["eventdigest"]
        assert feed_event_digest(event) == case["digest"]
        chain = chain_digest(chain, case["digest"])
        assert event["chaindigest"] == chain
        assert withheld_event(event) == case["withheld"]
        unsalted = {k: v for k, v in event.items() if k != "eventsalt"}
        assert content_digest(unsalted) == case["unsalteddigest"] != case["eventdigest"]
    salts = [c["event"]["eventsalt"] for c in cases]
    assert len(set(salts)) == len(salts)
    assert verify_feed([c["event"] for c in cases], histories=False) == []
    assert verify_feed([c["withheld"] for c in cases]) == []
