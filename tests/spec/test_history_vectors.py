"""History digest vectors (spec/tests/1.0/history/): the integrity form and digest of given
history events, the form a reader kept from part of one receives, and the digest a guess
without the salt gives, which no digest a reader receives may match."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from smartcommunity.integrity import event_digest, integrity_form, verify_history, withhold

from .helpers import HISTORY_DIR, assert_vectors_cite_requirements, digest_vectors, spec

FILES, VECTORS = digest_vectors(HISTORY_DIR)


def test_there_are_history_vectors_and_they_cite_requirements() -> None:
    assert_vectors_cite_requirements(VECTORS)


@pytest.mark.parametrize("vector", VECTORS, ids=[p.stem for p in FILES])
def test_history_vector(vector: dict[str, Any]) -> None:
    rtype, version = vector["resourceType"], vector["specVersion"]
    cases = vector["events"]
    withholds = spec().privacy["recordAccess"]["results"]["eventDetails"]
    for i, case in enumerate(cases):
        event = case["event"]
        assert integrity_form(event, rtype, version) == case["integrityForm"]
        assert event_digest(event, rtype, version) == case["digest"]
        if i + 1 < len(cases):
            assert cases[i + 1]["event"]["previousDigest"] == case["digest"]
        unsalted = {k: v for k, v in event.items() if k != "salt"}
        assert event_digest(unsalted, rtype, version) == case["unsalteddigest"] != case["digest"]
        if "withheld" in case:
            served = copy.deepcopy(event)
            withhold(served, rtype, version)
            for member in withholds[event["action"]]:
                served["details"].pop(member, None)
            assert served == case["withheld"]
            assert "salt" not in served and served["withheldDigest"] == case["digest"]
    salts = [c["event"]["salt"] for c in cases]
    assert len(set(salts)) == len(salts)
    history = {"resourceType": rtype, "specVersion": version}
    whole = [c["event"] for c in cases]
    shown = [c.get("withheld", c["event"]) for c in cases]
    assert verify_history({**history, "history": whole}) == []
    assert verify_history({**history, "history": shown}) == []
    event_schema = Draft202012Validator(
        {"$ref": f"{spec().schema_uri(rtype)}#/$defs/historyEvent"}, registry=spec().registry)
    for event in (*whole, *shown):  # each valid as the schema has it, whole or withheld
        assert [e.message for e in event_schema.iter_errors(event)] == []
    leaky = {**shown[-1], "salt": whole[-1]["salt"]}  # a withheld event keeping its salt
    assert [e.message for e in event_schema.iter_errors(leaky)]
