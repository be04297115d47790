"""Redacted records served again from memory (``Access.presentations``): exactly what
redacting afresh gives, to every reader, at every moment, whatever changed in between; and
never more memory than the budget."""

from __future__ import annotations

import copy
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_server import access as access_module
from reference_server.access import Access, Presentations, _size
from reference_server.auth import load_tokens
from reference_server.storage import Stored, joined

from .helpers import COMMUNITY, EXAMPLES, KEY, SPEC, TOKENS

PRINCIPALS = load_tokens(TOKENS)
RESIDENT = PRINCIPALS["demo-resident-wang-guiying"].resident
#: every record of a type the memory serves (person records never are)
NAMES = sorted(n for n in EXAMPLES if not n.startswith("resident/"))
#: those whose votes' results wait for a moment: drawn as often as all the others
VOTED = [n for n in NAMES if any(isinstance(v.get("results"), dict)
                                 for v in EXAMPLES[n].get("votes") or ())]
#: a consultation whose visibility the edits of :func:`_record` turn public and back
LIFT = "consultation/lift-installation-building-3.json"
#: the instant every vote's results are made due at, and the reads' moments around it
DUE = datetime(2026, 6, 1, tzinfo=UTC)


def _record(name: str, edits: int, form: type = str) -> Stored:
    """``name`` as a fetch of its ``edits``-th stored version would give it: each edit moves
    its votes' results an hour later and changes what decides access to it and whose own
    its first proposer entry is. Its JSON is in ``form``: text as a read by id gives it,
    bytes as a list page does."""
    doc = copy.deepcopy(EXAMPLES[name])
    for vote in doc.get("votes") or ():
        if isinstance(vote.get("results"), dict):
            vote["results"]["visibleFrom"] = (DUE + timedelta(hours=edits)).isoformat()
    if edits % 2 and "reporterDisclosure" in doc:
        doc["reporterDisclosure"] = "anonymous"
    if "visibility" in doc:
        doc["visibility"] = ("private", "public")[edits % 2]
    if edits % 2 and (doc.get("origin") or {}).get("proposers"):
        # a proposer entry that is a demo resident's own
        doc["origin"]["proposers"][0]["resident"] = {"resourceType": "Resident", "id": RESIDENT}
    doc.setdefault("meta", {})["versionId"] = str(edits + 1)
    raw = orjson.dumps(doc)
    return Stored(edits + 1, str(doc["resourceType"]), str(doc["id"]), edits + 1,
                  raw.decode() if form is str else raw, joined([COMMUNITY]), "|")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(VOTED) | st.sampled_from(NAMES),
                          st.sampled_from(sorted(PRINCIPALS)),
                          st.integers(-3, 3), st.booleans()), min_size=1, max_size=16))
def test_what_is_remembered_is_what_is_made_afresh(reads: list[tuple[str, str, int, bool]]
                                                   ) -> None:
    """Reads in any order, by any reader, an hour either side of when results come due (and
    back), of records edited in between: each is seen or not, and served, as by a server
    keeping nothing."""
    remembering, afresh = Access(SPEC, KEY, remembered=1 << 24), Access(SPEC, KEY)
    edits: dict[str, int] = {}
    for name, token, hours, edited in reads:
        edits[name] = edits.get(name, 0) + edited
        principal, now = PRINCIPALS[token], DUE + timedelta(hours=hours, minutes=-30)
        got = remembering.present(principal, _record(name, edits[name]), now=now)
        want = afresh.present(principal, _record(name, edits[name]), now=now)
        assert (got is None) == (want is None), (name, token, hours)
        assert got is None or want is None or got.document() == want.document(), (
            name, token, hours)
    assert afresh.presentations.held == 0


@pytest.mark.parametrize("forms", [(str, str), (str, bytes), (bytes, str), (bytes, bytes)],
                         ids=lambda f: f"{f[0].__name__}-then-{f[1].__name__}")
def test_a_record_read_again_is_not_redacted_again(forms: tuple[type, type]) -> None:
    """The second read of an unchanged record by the same role is served from memory, and
    who may see it decided from memory, without parsing it: the memory is used, not only
    kept, whether each read gave the stored JSON as text (a read by id) or as bytes (a list
    page)."""
    access = Access(SPEC, KEY, remembered=1 << 24)
    principal = PRINCIPALS[next(t for t, p in PRINCIPALS.items() if p.role == "public")]
    first = access.present(principal, _record(LIFT, 1, forms[0]), now=DUE)  # public
    record = _record(LIFT, 1, forms[1])
    again = access.present(principal, record, now=DUE)
    assert first is not None and again is not None and not again.stored
    assert again.text is first.text
    assert record._doc is None  # neither to decide nor to redact


@settings(max_examples=300, deadline=None)
@given(budget=st.integers(0, 4000),
       calls=st.lists(st.tuples(st.sampled_from(["put", "get", "forget"]), st.integers(0, 5),
                                st.integers(0, 3), st.integers(0, 600)), max_size=40))
def test_memory_holds_the_last_served_within_its_budget(
        budget: int, calls: list[tuple[str, int, int, int]]) -> None:
    """Against a model: what fits the budget is kept, the least recently served goes first,
    an entry serves only the text it was made from, a write forgets every entry of its
    record and keeps an earlier version from being remembered after it, and the bytes held
    are what is held."""
    memory = Presentations(budget)
    model: OrderedDict[tuple[str, str, str, str], tuple[str, bytes]] = OrderedDict()
    newest: dict[str, int] = {}  # record → the newest version a write made
    for call, record, version, length in calls:
        rid, source = f"i{record}", f"v{version}"
        key = ("Issue", rid, "public", "public" if length % 2 else "resident")
        if call == "put":
            text = b"x" * length
            model.pop(key, None)
            if _size(source, text) <= budget and newest.get(rid, -1) <= version:
                model[key] = (source, text)
                while sum(_size(*e) for e in model.values()) > budget:
                    model.popitem(last=False)
            memory.put(key, source, version, text, 0.0, 1.0)
        elif call == "get":
            kept = model.pop(key, None)
            want: Any = None
            if kept is not None and kept[0] == source:
                want, model[key] = kept[1], kept
            got = memory.get(key, source, 0.5)
            assert (got.text if got is not None else None) == want
        else:
            gone = [k for k in model if k[1] == rid]
            for k in gone:
                del model[k]
            newest[rid] = max(version, newest.get(rid, -1))
            assert memory.forget([("Issue", rid, version)]) == len(gone)
        assert memory.held == sum(_size(*e) for e in model.values()) <= max(budget, 0)


def test_a_remembered_record_is_tested_once_for_each_filter() -> None:
    """A list page read again takes each remembered record's verdict on its filters from
    memory; other filters, and a record not remembered, are tested; the verdicts of a record
    are bounded."""
    access = Access(SPEC, KEY, remembered=1 << 24)
    principal = PRINCIPALS[next(t for t, p in PRINCIPALS.items() if p.role == "public")]
    tested: list[str] = []

    def test(asked: str) -> Any:
        return lambda doc: tested.append(asked) or doc["id"] != ""

    def present() -> Any:
        return access.present(principal, _record(
            LIFT, 1, bytes), now=DUE)

    for asked in ("a", "b", "a", "b"):
        assert present().meets(asked, test(asked))
    assert tested == ["a", "b"]
    for n in range(9):
        present().meets(str(n), test(str(n)))
    assert len(present().verdicts) <= 8
    tested.clear()
    forgetting = Access(SPEC, KEY, remembered=0)
    for _ in range(2):
        assert forgetting.present(principal, _record(
            LIFT, 1, bytes), now=DUE
        ).meets("a", test("a"))
    assert tested == ["a", "a"]


def test_a_write_keeps_earlier_versions_out_for_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    """A record written is forgotten, and an entry made from an earlier version (read before
    the write, remembered after it was told) is not kept for a minute; past the bound of
    records told within that minute, nothing is kept until it passes."""
    now = [0.0]
    memory = Presentations(1 << 20, clock=lambda: now[0])
    key = ("Issue", "i1", "public", "public")
    memory.put(key, "v4", 4, b"four", 0.0, 1.0)
    assert memory.forget([("Issue", "i1", 5)]) == 1 and memory.get(key, "v4", 0.5) is None
    now[0] = 59.0
    memory.put(key, "v4", 4, b"four", 0.0, 1.0)
    assert memory.get(key, "v4", 0.5) is None  # read before the write: not kept
    memory.put(key, "v5", 5, b"five", 0.0, 1.0)
    assert got_text(memory.get(key, "v5", 0.5)) == b"five"
    now[0] = 61.0
    memory.forget([])  # the window has passed: what is told is dropped
    memory.put(key, "v4", 4, b"four", 0.0, 1.0)
    assert got_text(memory.get(key, "v4", 0.5)) == b"four"
    monkeypatch.setattr(access_module, "_WRITTEN_MOST", 3)
    memory.forget([("Issue", f"j{n}", 1) for n in range(4)])  # more than the bound
    memory.put(key, "v6", 6, b"six", 0.0, 1.0)
    assert memory.get(key, "v6", 0.5) is None
    now[0] = 122.0
    memory.put(key, "v6", 6, b"six", 0.0, 1.0)
    assert got_text(memory.get(key, "v6", 0.5)) == b"six"


def got_text(entry: Any) -> bytes | None:
    return entry.text if entry is not None else None
