"""The history chain and the feed digest as library functions (smartcommunity.integrity)."""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcommunity import load_spec, validate
from smartcommunity.integrity import (
    WITHHELD_TYPE,
    canonical,
    chain_digest,
    content_digest,
    digest,
    event_digest,
    event_salt,
    feed_event_digest,
    integrity_form,
    salts_of,
    seal_history,
    verify_feed,
    verify_history,
    withheld_event,
    withheld_written,
    withhold,
)

SPEC = load_spec()
CHAINED = {name: seal_history(doc) for name, doc in SPEC.examples() if doc.get("history")}
LONG = {name: doc for name, doc in CHAINED.items() if len(doc["history"]) > 2}


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The paths of the strings and numbers in ``node``."""
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaves(v, (*path, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaves(v, (*path, i))]
    return [path] if isinstance(node, str | int) and not isinstance(node, bool) else []


def _changed(value: Any, at: int) -> Any:
    """``value`` with one character (or the number) changed."""
    if isinstance(value, int):
        return value + 1
    if not value:
        return "x"
    i = at % len(value)
    return value[:i] + ("b" if value[i] == "a" else "a") + value[i + 1:]


def _set(node: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        node = node[step]
    return node


def test_canonical_form_is_rfc_8785() -> None:
    # Members sorted by UTF-16 code units, no whitespace, shortest numbers, UTF-8 text.
    assert canonical({"b": 1.0, "a": "é", "\u20ac": [1e21, 0.5]}) == (
        '{"a":"é","b":1,"€":[1e+21,0.5]}'.encode())
    assert digest({"a": 1}) == "sha256:" + hashlib.sha256(b'{"a":1}').hexdigest()


@pytest.mark.parametrize("name", sorted(CHAINED))
def test_every_sealed_example_verifies_and_stays_valid(name: str) -> None:
    doc = CHAINED[name]
    assert verify_history(doc) == []
    assert validate(doc).valid
    # the examples themselves carry no digests: a complete check names the missing links
    plain = dict(SPEC.examples())[name]
    if len(plain["history"]) > 1:
        assert verify_history(plain)[0].code == "integrity.history-digest-missing"
        assert verify_history(plain, complete=False) == []


def test_sealing_keeps_its_input_and_the_values_present() -> None:
    name = next(iter(LONG))
    plain = copy.deepcopy(dict(SPEC.examples())[name])
    before = copy.deepcopy(plain)
    sealed = seal_history(plain)
    assert plain == before
    assert seal_history(sealed) == sealed
    wrong = copy.deepcopy(sealed)
    wrong["history"][1]["previousDigest"] = "sha256:" + "0" * 64
    assert seal_history(wrong)["history"][1]["previousDigest"] == "sha256:" + "0" * 64


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(sorted(LONG)), st.data())
def test_a_changed_non_personal_member_of_any_event_but_the_last_breaks_the_chain(
        name: str, data: st.DataObject) -> None:
    doc = copy.deepcopy(LONG[name])
    events = doc["history"]
    i = data.draw(st.integers(0, len(events) - 2), label="event")
    form = integrity_form(events[i], doc["resourceType"])
    leaves = [p for p in _leaves(form) if p != ("previousDigest",) or i > 0]
    path = data.draw(st.sampled_from(leaves), label="member")
    at = data.draw(st.integers(0, 200), label="character")
    _set(events[i], path, _changed(_get(events[i], path), at))
    breaks = verify_history(doc)
    assert breaks, (i, path)
    assert breaks[0].pointer in (f"/history/{i + 1}/previousDigest",
                                 f"/history/{i}/previousDigest")
    assert {"zh-Hans", "en"} <= set(breaks[0].message)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(LONG)), st.data())
def test_a_dropped_event_breaks_the_chain(name: str, data: st.DataObject) -> None:
    doc = copy.deepcopy(LONG[name])
    i = data.draw(st.integers(0, len(doc["history"]) - 2), label="event")
    del doc["history"][i]
    assert verify_history(doc)


@pytest.mark.parametrize("name", sorted(CHAINED))
def test_redaction_for_any_audience_keeps_the_chain(name: str) -> None:
    from smartcommunity.privacy import audiences, redact

    for audience in audiences():
        assert verify_history(redact(CHAINED[name], audience)) == [], audience


def _feed(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A feed of one created event per document, chained as a server chains it."""
    events, chain = [], None
    for seq, doc in enumerate(docs, 1):
        event = {"specversion": "1.0", "id": str(seq), "source": "urn:example:server",
                 "type": f"org.w3id.smartcommunity.{doc['resourceType'].lower()}.created",
                 "time": "2025-01-01T00:00:00+08:00", "subject": f"x/{doc['id']}",
                 "datacontenttype": "application/json", "sequence": str(seq),
                 "action": "create", "resourceversion": "1", "eventsalt": event_salt(),
                 "data": doc}
        if doc.get("history"):
            event["historydigest"] = event_digest(doc["history"][-1], doc["resourceType"])
        chain = chain_digest(chain, feed_event_digest(event))
        event["chaindigest"] = chain
        events.append(event)
    return events


FEED = _feed(list(CHAINED.values()))


def test_a_feed_verifies_and_its_withheld_form_too() -> None:
    assert verify_feed(FEED) == []
    partly = [withheld_event(e) if i % 2 else e for i, e in enumerate(FEED)]
    assert all(e["type"] == WITHHELD_TYPE for e in partly[1::2])
    assert partly[1]["eventdigest"] == content_digest(FEED[1])
    assert verify_feed(partly) == []
    assert verify_feed(FEED[3:], after=3, previous=FEED[2]["chaindigest"]) == []
    assert verify_feed(FEED[3:], after=3) == []  # the first link taken on trust
    assert verify_feed(FEED[3:])[0].code == "integrity.feed-sequence"


@settings(max_examples=60, deadline=None)
@given(st.data(), st.booleans())
def test_a_changed_attribute_of_any_feed_event_breaks_the_chain(data: st.DataObject,
                                                                 withheld: bool) -> None:
    feed = [withheld_event(e) if withheld and i % 2 else copy.deepcopy(e)
            for i, e in enumerate(FEED)]
    i = data.draw(st.integers(0, len(feed) - 1), label="event")
    names = sorted(k for k in feed[i] if k != "data")
    name = data.draw(st.sampled_from(names), label="attribute")
    feed[i][name] = _changed(feed[i][name], data.draw(st.integers(0, 100)))
    assert verify_feed(feed, histories=False)


#: what a reader who knows a resource's id can guess of one of its events: every attribute a
#: withheld event leaves out, the salt aside (a resource without history has no historydigest)
_GUESSABLE = st.fixed_dictionaries({
    "type": st.sampled_from([f"org.w3id.smartcommunity.resident.{kind}"
                             for kind in ("created", "updated", "erased")]),
    "subject": st.uuids().map(lambda u: f"residents/{u}"),
    "datacontenttype": st.just("application/json"),
    "dataschema": st.just(SPEC.schema_uri("Resident")),
    "action": st.sampled_from(["create", "update", "erasure-request", "erase", "correct"]),
    "resourceversion": st.integers(1, 10**6).map(str),
})


@settings(max_examples=60, deadline=None)
@given(_GUESSABLE, st.integers(1, 10**9))
def test_a_withheld_event_confirms_no_guess_of_what_it_stands_for(guessable: dict[str, Any],
                                                                  seq: int) -> None:
    """/req/change-feed/withheld: whoever guesses every attribute a withheld event leaves
    out but the salt (all of them, for a resident record) cannot confirm the guess with its
    eventdigest; every event has a salt of its own, and the withheld form carries none."""
    event = {"specversion": "1.0", "id": str(seq), "source": "urn:example:server",
             "time": "2025-01-01T00:00:00+08:00", "sequence": str(seq), **guessable,
             "eventsalt": event_salt()}
    event["chaindigest"] = chain_digest(None, feed_event_digest(event))
    stand_in = withheld_event(event)
    assert "eventsalt" not in stand_in
    assert stand_in["eventdigest"] == content_digest(event)
    assert stand_in["eventdigest"] != content_digest(guessable)
    assert verify_feed([stand_in], after=seq - 1) == verify_feed([event], after=seq - 1) == []
    again = {**event, "eventsalt": event_salt()}
    assert again["eventsalt"] != event["eventsalt"]
    assert content_digest(again) != stand_in["eventdigest"]
    assert all(len(e["eventsalt"]) == 32 and set(e["eventsalt"]) <= set("0123456789abcdef")
               for e in (event, again))


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_a_dropped_feed_event_breaks_the_chain(data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(FEED) - 2), label="event")
    feed = FEED[:i] + FEED[i + 1:]
    codes = {b.code for b in verify_feed(feed)}
    assert {"integrity.feed-digest", "integrity.feed-sequence"} <= codes


# -- the canonical form ----------------------------------------------------------------------
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=5),
    max_leaves=30)


@given(_json)
def test_the_canonical_form_is_rfc_8785(value: Any) -> None:
    """The fast path and the general RFC 8785 writer give the same bytes for any JSON value
    (strings with control, non-ASCII and astral characters, keys in any plane, integers
    and floats included)."""
    import rfc8785

    from smartcommunity.integrity import canonical

    assert canonical(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("name", sorted(CHAINED))
def test_the_digest_reads_the_integrity_form_without_touching_the_event(name: str) -> None:
    doc = CHAINED[name]
    rtype = doc["resourceType"]
    for event in doc["history"]:
        before = copy.deepcopy(event)
        form = integrity_form(event, rtype)
        assert event_digest(event, rtype) == digest(form)
        assert event == before
        # The form is the caller's own: changing it leaves the event (and its digest) alone.
        form["seq"] = -1
        for value in form.values():
            if isinstance(value, dict):
                value["changed"] = True
        assert event == before
        assert event_digest(event, rtype) == digest(integrity_form(before, rtype))


# -- withheldDigest: only where something is withheld ------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(LONG)), st.data())
def test_a_rewritten_event_carrying_its_old_digest_as_withheld_breaks_the_chain(
        name: str, data: st.DataObject) -> None:
    """Any whole event changed after the next one named it, given the digest it had before as
    withheldDigest, still breaks the chain: withheldDigest is believed only of an event that
    shows it lost the members a server withholds."""
    doc = copy.deepcopy(LONG[name])
    rtype = doc["resourceType"]
    events = doc["history"]
    i = data.draw(st.integers(0, len(events) - 2), label="event")
    old = event_digest(events[i], rtype)
    form = integrity_form(events[i], rtype)
    leaves = [p for p in _leaves(form) if p != ("previousDigest",) or i > 0]
    path = data.draw(st.sampled_from(leaves), label="member")
    _set(events[i], path, _changed(_get(events[i], path), data.draw(st.integers(0, 200))))
    events[i]["withheldDigest"] = old
    codes = [b.code for b in verify_history(doc)]
    assert "integrity.withheld-digest" in codes
    assert "integrity.history-digest" in codes or i == len(events) - 1
    report = validate(doc)
    assert f"/history/{i}/withheldDigest" in {f.pointer for f in report.errors}


def test_withheld_digest_is_believed_of_what_a_reader_is_kept_from() -> None:
    """The vote results withheld from a reader (/req/consultations/results-hidden): the event
    that lost them checks by its withheldDigest; the same digest on the event kept whole, or
    on an event whose vote's results are given, is a break."""
    name = next(n for n, d in CHAINED.items() if d["resourceType"] == "Consultation"
                and any(e.get("action") == "close-vote" for e in d["history"]))
    doc = copy.deepcopy(CHAINED[name])
    i = next(i for i, e in enumerate(doc["history"]) if e["action"] == "close-vote")
    event = doc["history"][i]
    whole = copy.deepcopy(doc)
    whole["history"][i]["withheldDigest"] = event_digest(event, "Consultation")
    assert verify_history(whole) == []  # the event's own digest: harmless
    whole["history"][i]["withheldDigest"] = "sha256:" + "1" * 64
    broken = verify_history(whole)
    assert [b.code for b in broken] == ["integrity.withheld-digest"]
    assert broken[0].expected == event_digest(event, "Consultation")
    event["withheldDigest"] = event_digest(event, "Consultation")
    event["details"].pop("result")
    # its vote's results are given: not believed, and the event lost a member
    assert verify_history(doc)[0].code == "integrity.withheld-digest"
    for vote in doc["votes"]:
        vote.pop("results", None)
    assert verify_history(doc) == []
    assert verify_history(doc, complete=False) == []
    # Written to a server, the same document is refused: what is written is whole.
    assert [b.pointer for b in withheld_written(doc)] == [f"/history/{i}/withheldDigest"]
    assert withheld_written(CHAINED[name]) == []


@pytest.mark.parametrize("name", sorted(CHAINED))
def test_sealing_links_whole_events_by_their_own_digest(name: str) -> None:
    doc = copy.deepcopy(CHAINED[name])
    if len(doc["history"]) < 2:
        pytest.skip("one event")
    doc["history"][0]["withheldDigest"] = "sha256:" + "0" * 64
    doc["history"][1].pop("previousDigest")
    sealed = seal_history(doc)
    assert sealed["history"][1]["previousDigest"] == CHAINED[name]["history"][1]["previousDigest"]


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(sorted(LONG)), st.data(),
       st.integers(2**53, 2**70) | st.integers(-(2**70), -(2**53)), st.booleans())
def test_an_event_without_a_canonical_form_is_a_break_not_a_crash(
        name: str, data: st.DataObject, number: int, withheld: bool) -> None:
    """RFC 8785 writes no integer beyond ±2^53: an event holding one has no digest. The
    chain check and validation say so, at that event, whatever the member and whether it
    claims a withheldDigest, and never raise."""
    doc = copy.deepcopy(LONG[name])
    i = data.draw(st.integers(0, len(doc["history"]) - 2), label="event")
    doc["history"][i]["seq"] = number
    if withheld:
        doc["history"][i]["withheldDigest"] = "sha256:" + "0" * 64
    broken = {(b.code, b.pointer) for b in verify_history(doc, complete=False)}
    assert ("integrity.history-not-canonical", f"/history/{i}") in broken
    assert any(f.code == "integrity.history-not-canonical" for f in validate(doc).errors)
    assert [b.pointer for b in withheld_written(doc)] == (
        [f"/history/{i}/withheldDigest"] if withheld else [])


_SALT = re.compile(r"[0-9a-f]{32}")


def _salts(doc: dict[str, Any]) -> list[Any]:
    return [e.get("salt") for e in doc["history"]]


@pytest.mark.parametrize("name", sorted(CHAINED))
def test_sealing_salts_every_event_with_its_own_and_keeps_salts_present(name: str) -> None:
    """/req/core/history-chain: each event a server seals gets 128 random bits of its own, in
    its integrity form; sealing again keeps them, and a second sealing of the same plain
    document draws others."""
    sealed = CHAINED[name]
    salts = _salts(sealed)
    assert all(isinstance(s, str) and _SALT.fullmatch(s) for s in salts)
    assert len(set(salts)) == len(salts)
    assert all(integrity_form(e, sealed["resourceType"])["salt"] == e["salt"]
               for e in sealed["history"])
    assert seal_history(sealed) == sealed
    plain = dict(SPEC.examples())[name]
    assert not set(salts) & set(_salts(seal_history(plain)))
    # the salts a served document shows reproduce its sealing
    assert seal_history(plain, salt=salts_of(sealed)) == sealed
    assert "salt" not in seal_history(plain, salt=lambda _: None)["history"][0]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(LONG)), st.data())
def test_salting_rewrites_the_links_that_were_right_and_keeps_a_wrong_one(
        name: str, data: st.DataObject) -> None:
    """An older document written with links but without salts (an import): each link that
    was right is written again over the salted event before it, so the chain still checks;
    a wrong one stays wrong, and the chain breaks where it broke (links are checked, not
    fixed)."""
    plain = dict(SPEC.examples())[name]
    linked = seal_history(plain, salt=lambda _: None)
    assert verify_history(linked) == [] and not any(_salts(linked))
    sealed = seal_history(linked)
    assert all(_salts(sealed)) and verify_history(sealed) == []
    i = data.draw(st.integers(1, len(linked["history"]) - 1), label="wrong link")
    wrong = copy.deepcopy(linked)
    wrong["history"][i]["previousDigest"] = "sha256:" + "0" * 64
    resealed = seal_history(wrong)
    assert resealed["history"][i]["previousDigest"] == "sha256:" + "0" * 64
    broken = [(b.code, b.pointer) for b in verify_history(wrong)]
    assert broken[0] == ("integrity.history-digest", f"/history/{i}/previousDigest")
    assert [(b.code, b.pointer) for b in verify_history(resealed)] == broken


#: the lift example's vote and the events that give its results
_LIFT = dict(SPEC.examples())["consultation/lift-installation-building-3.json"]
_OPTIONS = next(v["optionIds"] for v in _LIFT["votes"] if v["id"] == "v-01")
_RESULTS = ("passed", "failed", "no-quorum", "tie")


def _record_guesses(details: dict[str, Any]) -> list[dict[str, Any]]:
    """Every split of the count a reader sees into the vote's options, abstentions and
    invalid ballots, the last two stated or left out: what the withheld members can be."""
    count = details["count"]
    shown = {k: v for k, v in details.items() if k not in ("options", "abstentions", "invalid")}
    out = []
    for parts in itertools.product(range(count + 1), repeat=len(_OPTIONS) + 2):
        if sum(parts) != count:
            continue
        *counts, abstentions, invalid = parts
        for stated in itertools.product((True, False), repeat=2):
            if (abstentions and not stated[0]) or (invalid and not stated[1]):
                continue
            guess = {**shown, "options": [{"optionId": o, "count": n}
                                          for o, n in zip(_OPTIONS, counts, strict=True)]}
            guess.update({k: v for k, v, s in (("abstentions", abstentions, stated[0]),
                                               ("invalid", invalid, stated[1])) if s})
            out.append(guess)
    return out


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=len(_OPTIONS), max_size=len(_OPTIONS)),
       st.integers(0, 2), st.integers(0, 2), st.sampled_from(_RESULTS))
def test_a_withheld_history_event_confirms_no_guess_of_its_hidden_members(
        counts: list[int], abstentions: int, invalid: int, result: str) -> None:
    """/req/core/history-chain, /req/consultations/results-hidden: a reader kept from a
    vote's results receives the record-votes and close-vote events without their counts and
    result, and their digests (withheldDigest, the next event's previousDigest). Recomputing
    those over the members shown and each possible value of the withheld ones, every value
    tried, confirms none: the salt the digests cover is not given. The chain still checks."""
    doc = copy.deepcopy(_LIFT)
    record = next(i for i, e in enumerate(doc["history"]) if e["action"] == "record-votes"
                  and e["details"]["voteId"] == "v-01")
    close = next(i for i, e in enumerate(doc["history"]) if e["action"] == "close-vote"
                 and e["details"]["voteId"] == "v-01")
    doc["history"][record]["details"] = {
        "voteId": "v-01", "channel": "online", "count": sum(counts) + abstentions + invalid,
        "options": [{"optionId": o, "count": n} for o, n in zip(_OPTIONS, counts, strict=True)],
        "abstentions": abstentions, "invalid": invalid}
    doc["history"][close]["details"]["result"] = result
    sealed = seal_history(doc)
    served = copy.deepcopy(sealed)  # as the server serves it to a resident (access.py)
    for vote in served["votes"]:
        vote.pop("results", None)
    hidden = {"record-votes": ("options", "abstentions", "invalid"), "close-vote": ("result",)}
    for i in (record, close):
        event = served["history"][i]
        withhold(event, "Consultation")
        for member in hidden[event["action"]]:
            event["details"].pop(member, None)
        assert "salt" not in event
    assert verify_history(served) == []
    guesses = {record: _record_guesses(served["history"][record]["details"]),
               close: [{**served["history"][close]["details"], "result": r} for r in _RESULTS]}
    for i, details in guesses.items():
        event = served["history"][i]
        given_digests = {event["withheldDigest"], served["history"][i + 1]["previousDigest"]}
        whole = sealed["history"][i]
        assert event_digest(whole, "Consultation") in given_digests  # the truth, salted
        assert whole["details"] in details  # the guesses hold the truth
        for guess in details:
            tried = {k: v for k, v in event.items() if k != "withheldDigest"}
            tried["details"] = guess
            assert event_digest(tried, "Consultation") not in given_digests, guess
