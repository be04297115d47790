"""A resident's erasure finds the records naming her through the term index
(/req/privacy/erasure-reaches-records), and finds exactly the records a search of every stored
document's text found: any record her erasure changes carries her term, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from benchmarks.city import City, Scale
from reference_server import Settings
from reference_server.service import Service
from reference_server.service._retention import ErasureReach
from reference_server.storage import Store, named_residents
from reference_server.storage._rows import Stored
from reference_server.storage._tables import resources
from reference_server.storage._transactions import Tx

from .helpers import KEY, SPEC, throwaway_pg

REACH = ErasureReach(SPEC)
PERSON = REACH.person_type
IDS = ["r-1", "r-2", "r-3"]

_ids = st.sampled_from(IDS)
_ref = st.fixed_dictionaries({"resourceType": st.sampled_from([PERSON, "Organisation"]),
                              "id": _ids}, optional={"display": st.text(max_size=3)})
_person = st.fixed_dictionaries({"resident": _ref},
                                optional={"name": st.text(max_size=3),
                                          "userId": st.text(max_size=3)})
_leaf = st.one_of(st.none(), st.booleans(), st.integers(), _ids, st.text(max_size=4))
_json = st.recursive(
    st.one_of(_leaf, _ref, _person),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["a", "b", "history", "actor"]),
                                            inner, max_size=3)),
    max_leaves=12)
_reporter = st.fixed_dictionaries({}, optional={"resident": _ref, "onBehalfOf": _ref})


@given(st.sampled_from(REACH.resource_types), st.dictionaries(
    st.sampled_from(["details", "participants", "history", "origin"]), _json, max_size=3),
    _reporter, st.booleans(), _ids)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_record_her_erasure_changes_carries_her_term(
        rtype: str, body: dict[str, Any], reporter: dict[str, Any], contact: bool,
        rid: str) -> None:
    doc: dict[str, Any] = {"resourceType": rtype, "id": "x", **body}
    if rtype == "Issue":
        doc["submittedBy"] = reporter
        if contact:
            doc["reporterContact"] = {"phone": "x"}
    elif rtype in ("Opinion", "Proposal"):
        doc["history"] = [{"actor": reporter}]
        if contact:
            doc["text"] = "x"
    if REACH.apply(doc, rid) is not None:
        assert rid in named_residents(doc)


#: strings made of what could confuse a search of the document's text
_tricky = st.lists(st.sampled_from(['{', '}', '"', '\\', ':', ',', 'id', 'resourceType', PERSON,
                                    '"id":"', f'"resourceType":"{PERSON}"', 'r-1', '区']),
                   max_size=6).map("".join)
#: a reference, its members in any order, with strings, lists and objects (an ``id`` of their
#: own) beside or in place of its id
_tricky_ref = st.fixed_dictionaries(
    {"resourceType": st.sampled_from([PERSON, PERSON, "Organisation"])},
    optional={"id": st.one_of(_ids, _tricky, st.integers()), "display": _tricky,
              "note": st.one_of(_tricky, st.lists(_tricky, max_size=2), st.dictionaries(
                  st.one_of(st.just("id"), _tricky), st.one_of(_ids, _tricky), max_size=2))},
).flatmap(lambda ref: st.permutations(list(ref.items())).map(dict))
_tricky_json = st.recursive(
    st.one_of(_leaf, _tricky, _tricky_ref, _tricky_ref, _tricky_ref),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(_tricky, st.sampled_from(["id"])), inner,
                                            max_size=3)),
    max_leaves=15)


@given(_tricky_json)
@example({"resourceType": PERSON, "note": {"id": "r-1"}})  # an object inside, after it
@example({"note": {"id": "r-1"}, "resourceType": PERSON})  # an object inside, before it
@example({"resourceType": PERSON, "display": "}", "id": "r-2"})  # a brace in a string
@example({"resourceType": PERSON, "id": 'r-1"x'})  # an id with an escaped quote
@settings(max_examples=500, deadline=None)
def test_the_text_search_for_references_finds_what_the_walk_finds(body: Any) -> None:
    """The named-resident terms come from a search of the document's compact JSON; whatever
    its strings hold, it names the residents a walk of every member names."""
    from reference_server.storage._privacy import _references, _walked

    doc = {"resourceType": "Issue", "id": "x", "details": body}

    def named(found: list[Any]) -> list[str]:
        return sorted({rid for rid in found if isinstance(rid, str) and rid})

    assert named(_references(doc, PERSON)) == named(_walked(doc, PERSON))


def test_records_of_types_the_erasure_does_not_reach_carry_no_term() -> None:
    doc = {"resourceType": PERSON, "id": "r-1",
           "proxies": [{"resident": {"resourceType": PERSON, "id": "r-2"}}]}
    assert named_residents(doc) == []


def _by_text(tx: Tx, rid: str) -> list[Stored]:
    """How the erasure found her records before the index: her id anywhere in the text."""
    c = resources.c
    escaped = rid.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = tx.conn.execute(
        select(c.seq, c.rtype, c.id, c.version, c.communities, c.departments, c.doc)
        .where(c.rtype.in_(list(REACH.resource_types)),
               c.doc.like(f"%{escaped}%", escape="\\")).order_by(c.seq))
    return [Stored(r[0], r[1], r[2], r[3], r[6], r[4], r[5]) for r in rows]


def _reached(found: list[Stored], rid: str) -> list[tuple[str, str]]:
    return [(s.rtype, s.id) for s in found if REACH.apply(s.doc, rid) is not None]


def _city() -> tuple[list[dict[str, Any]], list[str]]:
    """A small city, with some of its issues also mentioning residents in free text only (the
    text search finds them, the erasure leaves them as they are)."""
    city = City(Scale(residents=120, issues=400, consultations=12, communities=3, seed=11))
    docs = list(itertools.chain.from_iterable(make() for make in city.kinds().values()))
    ids = [d["id"] for d in docs if d["resourceType"] == PERSON]
    named = {rid for d in docs for rid in named_residents(d)}
    for n, doc in enumerate(d for d in docs if d["resourceType"] == "Issue"):
        if n % 7 == 0:
            doc["description"] = f"{doc.get('description', '')} {ids[n % len(ids)]}"
    return docs, sorted(set(ids) | named)


def _same_records(url: str) -> None:
    docs, ids = _city()
    store = Store(url, group_commit=False)
    try:
        store.migrate()
        service = Service(Settings(database_url=url, pseudonym_key=KEY), store)
        service.load((copy.deepcopy(d) for d in docs), validate=False)
        reached = 0
        with store.read() as tx:
            for rid in ids:
                expected = _reached(_by_text(tx, rid), rid)
                assert _reached(tx.naming(rid, REACH.resource_types), rid) == expected, rid
                # each record written once: what any state named is what the current one does
                assert _reached(tx.named_ever(rid, REACH.resource_types), rid) == expected, rid
                reached += len(expected)
        assert reached > 100, "the city names too few residents to tell"
    finally:
        store.dispose()


def test_the_index_finds_the_records_the_text_search_found_sqlite(tmp_path: Path) -> None:
    _same_records(f"sqlite:///{tmp_path / 'naming.sqlite3'}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    with throwaway_pg("sc_naming") as url:
        yield url


def test_the_index_finds_the_records_the_text_search_found_postgresql(pg_url: str) -> None:
    _same_records(pg_url)
