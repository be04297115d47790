"""The generated city (``benchmarks/city.py``): the same bytes for the same seed, every record
valid, every issue status present, and the files import with ``smartcommunity import``."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import orjson
import pytest

from benchmarks.city import City, Scale, community_codes, generate, write
from smartcommunity import load_spec, validate
from smartcommunity.cli import run

SMALL = Scale(residents=600, issues=1500, consultations=40, communities=6, seed=11)


def _digest(scale: Scale) -> str:
    h = hashlib.sha256()
    for doc in generate(scale):
        h.update(orjson.dumps(doc))
    return h.hexdigest()


def test_same_seed_same_city_and_another_seed_another() -> None:
    assert _digest(SMALL) == _digest(SMALL)
    other = Scale(SMALL.residents, SMALL.issues, SMALL.consultations, 12, SMALL.communities)
    assert _digest(other) != _digest(SMALL)


def test_every_record_is_valid_and_the_city_is_varied() -> None:
    docs = list(generate(SMALL))
    invalid = [(d["resourceType"], d["id"], [f.code for f in validate(d).findings][:3])
               for d in docs if not validate(d).valid]
    assert invalid == []
    ids = [(d["resourceType"], d["id"]) for d in docs]
    assert len(ids) == len(set(ids))
    kinds = Counter(d["resourceType"] for d in docs)
    assert kinds["Resident"] == SMALL.residents and kinds["Issue"] == SMALL.issues
    assert kinds["Consultation"] == SMALL.consultations and kinds["Organisation"] > 0
    issues = [d for d in docs if d["resourceType"] == "Issue"]
    spec = load_spec()
    # Every status of the lifecycle, and every urgency, each with the history that led there.
    assert {d["status"] for d in issues} == set(spec.codelist("issue-status"))
    assert {d["urgency"] for d in issues} == set(spec.codelist("urgency"))
    assert all(d["history"][-1]["toStatus"] == d["status"] for d in issues)
    codes = set(community_codes(SMALL.community_count))
    assert {d["communityDivisionCode"] for d in issues} == codes
    assert {m["community"] for d in docs if d["resourceType"] == "Resident"
            for m in d["memberships"]} == codes
    # Critical issues are rare, as in a city; most issues are closed.
    urgency = Counter(d["urgency"] for d in issues)
    assert urgency["critical"] < urgency["normal"] / 10
    assert Counter(d["status"] for d in issues).most_common(1)[0][0] == "closed"


def test_division_codes_nest_districts_streets_and_communities() -> None:
    codes = community_codes(200)
    assert len(set(codes)) == 200 and all(len(c) == 12 and c.isdigit() for c in codes)
    assert codes[0] == "110101001001" and codes[12] == "110101002001"
    assert codes[96] == "110102001001"  # a district has 8 streets of 12 communities


def test_a_city_holding_the_examples_own_community_codes_is_valid() -> None:
    """Past 384 communities the city has the examples' community and its neighbour among its
    own codes; their records, and their neighbours', name grids of their own community."""
    scale = Scale(residents=400, issues=400, consultations=4, communities=400, seed=7)
    codes = community_codes(scale.community_count)
    near = set(codes[382:388])
    assert {"110105001001", "110105001002"} <= near
    docs = [d for d in generate(scale) if d["resourceType"] in ("Resident", "Issue") and (
        d.get("communityDivisionCode") in near
        or any(m["community"] in near for m in d.get("memberships", ())))]
    assert len(docs) >= 2 * len(near)
    assert [(d["id"], validate(d).findings) for d in docs if not validate(d).valid] == []


@pytest.mark.slow
def test_the_files_import(tmp_path: Path) -> None:
    scale = Scale(residents=300, issues=600, consultations=10, communities=3, seed=5)
    counts = write(scale, tmp_path / "city")
    url = f"sqlite:///{tmp_path / 'city.sqlite3'}"
    assert run(["import", "--ndjson", str(tmp_path / "city"), "--database-url", url]) == 0
    from reference_server.storage import Store

    store = Store(url)
    try:
        with store.read() as tx:
            assert tx.count() == sum(counts.values())
            assert tx.count("Issue") == scale.issues
            assert tx.last_event() == sum(counts.values())
    finally:
        store.dispose()
    assert list(City(scale).kinds()) == ["organisations", "residents", "issues",
                                         "consultations"]


@pytest.mark.slow
def test_the_database_floor_stores_every_row_of_an_import(tmp_path: Path) -> None:
    """The import benchmark's bound (benchmarks/postgres.py ``store_floor``) measures the same
    rows an import stored: every table of the copy holds what the imported store holds."""
    from benchmarks.postgres import store_floor
    from tests.server.helpers import throwaway_pg

    scale = Scale(residents=60, issues=120, consultations=4, communities=2, seed=7)
    written = write(scale, tmp_path / "city")
    (tmp_path / "none").mkdir()
    with throwaway_pg("floor_full") as full, throwaway_pg("floor_empty") as empty:
        assert run(["import", "--ndjson", str(tmp_path / "city"), "--database-url", full]) == 0
        assert run(["import", "--ndjson", str(tmp_path / "none"), "--database-url", empty]) == 0
        wall, cpu = store_floor(full, empty)
        assert wall > 0 and cpu >= 0
        from sqlalchemy import create_engine, text

        counts = []
        for url in (full, empty):
            engine = create_engine(url)
            with engine.connect() as conn:
                tables = [t for (t,) in conn.execute(text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))]
                counts.append({t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar()
                               for t in tables})
            engine.dispose()
        assert counts[0] == counts[1]
        assert counts[1]["resources"] == sum(written.values())
