"""Every list filter, cursor and the feed is served by an index (PostgreSQL, a small city).

The list operations, their filters and the feed come from the OpenAPI; each is called over the
API as a city-wide reader and as one community's staff, at the first page and at a cursor
half-way through, and each SQL statement the server runs for it is run again under ``EXPLAIN
ANALYZE`` with sequential scans priced out (``enable_seqscan = off``). A statement fails when it
still reads a table from end to end (a Seq Scan), or when it reads many more rows than a page
needs (an index walked from the beginning with the filter applied row by row). The filter
values are the rare ones of the city, so that a walk reads thousands of rows where an index
reads a page. The statements the server runs when it starts on a full database are held to the
same bound: starting never counts or reads the whole store.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from benchmarks.city import City, Scale
from reference_server import Settings, create_app
from reference_server.http import encode_cursor
from reference_server.service import Service
from reference_server.service._retention import ErasureReach
from reference_server.storage import Store, named_residents

from .helpers import KEY, SPEC, TOKENS, statements_run, throwaway_pg

#: big enough that reading a table from the start reads thousands of rows; a community holds
#: about 40 residents, so a plan that reads one community's records whole (a residents'
#: community is a term: the scope, the filter and the row) stays under the bound
SCALE = Scale(residents=3000, issues=8000, consultations=400, communities=80, seed=7)
PAGE = 20
#: rows a statement may read: a page (and its look-ahead row) several times over, or one
#: community's records, never the table
BOUND = 10 * (PAGE + 1)
TABLES = {"resources", "resource_terms", "events", "audit", "idempotency"}
CITY_READER = "test-city-system"
#: a resident of the city's first community (her record need not be stored)
RESIDENT_READER = "test-resident-one"


def _list_operations() -> list[tuple[str, str, list[str]]]:
    """(path, operationId, filter names) of every GET operation that pages with a cursor."""
    found = []
    for path, item in SPEC.openapi["paths"].items():
        operation = item.get("get")
        if not operation:
            continue
        names = [_parameter(p)["name"] for p in operation.get("parameters", [])]
        if "cursor" in names:
            found.append((path, operation["operationId"],
                          [n for n in names if n not in ("cursor", "limit")]))
    return found


def _schema_of(path: str, name: str) -> dict[str, Any]:
    for p in SPEC.openapi["paths"][path]["get"].get("parameters", []):
        parameter = _parameter(p)
        if parameter["name"] == name:
            return dict(parameter.get("schema") or {})
    return {}


def _parameter(p: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in p:
        return dict(SPEC.openapi["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]])
    return p


#: filters the generated city has nothing to match (updatedSince is in the future; the city
#: carries no external references, located issues, opinions or proposals): the plan is checked
#: all the same
UNMATCHED = frozenset({"updatedSince", "externalRef", "bbox", "bbox-crs", "consultation"})


class Data:
    """The small city, as loaded, and the rare value of each filter in it."""

    def __init__(self) -> None:
        city = City(SCALE)
        self.by_kind = {kind: list(make()) for kind, make in city.kinds().items()}
        self.issues = self.by_kind["issues"]
        self.community = city.codes[7]

    def rarest(self, docs: list[dict[str, Any]], member: str) -> str:
        counts: dict[str, int] = {}
        for doc in docs:
            counts[doc[member]] = counts.get(doc[member], 0) + 1
        return min(counts, key=lambda k: (counts[k], k))

    def percentile(self, docs: list[dict[str, Any]], member: str, at: float) -> str:
        values = sorted(doc[member] for doc in docs)
        return str(values[int(at * (len(values) - 1))])

    def value(self, path: str, name: str) -> str:
        """The value ``?name=`` takes on ``path``: one that few records match."""
        issues, residents = self.issues, self.by_kind["residents"]
        consultations = self.by_kind["consultations"]
        if name == "community":
            return self.community
        if path == "/issues":
            member = {"status": "status", "requestType": "requestType", "urgency": "urgency",
                      "intakeChannel": "intakeChannel"}.get(name)
            if member:
                return self.rarest(issues, member)
            if name == "category":
                return self.rarest(issues, "category").split(".")[0]
            if name == "department":
                departments = [a["department"]["id"] for d in issues
                               for a in d.get("assignments", [])]
                return str(min(set(departments), key=departments.count))
            if name == "submittedFrom":
                return self.percentile(issues, "submittedAt", 0.99)
            if name == "submittedTo":
                return self.percentile(issues, "submittedAt", 0.01)
        if name == "updatedSince":
            return "2099-01-01T00:00:00+08:00"  # nothing changed since: a walk reads all
        if name == "grid":
            return f"{self.community}-05"
        if name == "pseudonym":
            return str(residents[-1]["identityDocuments"][0]["pseudonym"])
        if path == "/consultations" and name == "status":
            return self.rarest(consultations, "status")
        if path == "/consultations" and name == "category":
            counts: dict[str, int] = {}
            for doc in consultations:
                for code in doc.get("categories", []):
                    counts[code] = counts.get(code, 0) + 1
            return min(counts, key=lambda k: (counts[k], k))
        if path == "/consultations" and name == "issue":
            return next(str(i["id"]) for d in consultations
                        for i in d.get("origin", {}).get("issues", []))
        if name == "externalRef":
            return "urn:example:work-orders|WO-0000001"  # a lookup that finds nothing
        if name == "bbox":
            return "116.40,39.90,116.42,39.92"
        if name == "bbox-crs":
            return "wgs84"
        if name == "consultation":
            return str(consultations[0]["id"])
        if path == "/audit-events" and name == "resident":
            return str(residents[0]["id"])
        if path.strip("/") not in self.by_kind:
            # a collection the city does not generate: any valid value shows the plan
            schema = _schema_of(path, name)
            return str((schema.get("enum") or ["2026-01-01T00:00:00+08:00" if schema.get(
                "format") == "date-time" else "x"])[0])
        raise AssertionError(f"no test value for ?{name}= on {path}: add one here")


@contextlib.contextmanager
def _captured(url: str) -> Iterator[list[tuple[str, Any]]]:
    """The SELECT statements run on the database of ``url`` meanwhile, with their
    parameters (the write watchers of other tests' servers read their own stores meanwhile):
    the list is filled when the block ends."""
    with statements_run(url=url) as run:
        selects: list[tuple[str, Any]] = []
        yield selects
    selects += [(statement, parameters) for statement, parameters in run
                if statement.lstrip().upper().startswith(("SELECT", "(SELECT", "WITH"))]


def _rows_read(plan: dict[str, Any]) -> tuple[int, list[str]]:
    """Rows the plan read from the big tables, and its sequential scans of them."""
    read, scans = 0, []
    relation = plan.get("Relation Name")
    if relation in TABLES:
        loops = int(plan.get("Actual Loops", 1))
        read += loops * (int(plan.get("Actual Rows", 0))
                         + int(plan.get("Rows Removed by Filter", 0))
                         + int(plan.get("Rows Removed by Index Recheck", 0)))
        if plan["Node Type"] == "Seq Scan":
            scans.append(relation)
    for child in plan.get("Plans", []):
        more, found = _rows_read(child)
        read += more
        scans += found
    return read, scans


class Explainer:
    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"),
                                    autocommit=True)
        self.conn.execute("SET enable_seqscan = off")

    def plan(self, statement: str, parameters: Any = None,
             options: str = "ANALYZE") -> dict[str, Any]:
        """The plan of ``statement`` (EXPLAIN with ``options``), its top node."""
        row = self.conn.execute(f"EXPLAIN ({options}, FORMAT JSON) {statement}",
                                parameters).fetchone()
        assert row is not None
        found = row[0] if isinstance(row[0], list) else orjson.loads(row[0])
        return dict(found[0]["Plan"])

    def check(self, what: str, statements: list[tuple[str, Any]],
              bound: int = BOUND) -> list[str]:
        """What is wrong with the plans of ``statements`` (run for ``what``): a sequential
        scan, or more than ``bound`` rows read."""
        problems = []
        for statement, parameters in statements:
            if not any(t in statement for t in TABLES):
                continue
            read, scans = _rows_read(self.plan(statement, parameters))
            if scans:
                problems.append(f"{what}: Seq Scan on {', '.join(scans)}\n  {statement}")
            elif read > bound:
                problems.append(f"{what}: read {read} rows for a page of {PAGE}\n  {statement}")
        return problems


@pytest.fixture(scope="module")
def city() -> Iterator[tuple[str, Data]]:
    with throwaway_pg("sc_indexes") as url:
        data = Data()
        store = Store(url, group_commit=False)
        store.migrate()
        service = Service(Settings(database_url=url, pseudonym_key=KEY), store)
        # the load ends with ANALYZE: the plans are those a freshly imported city gets
        service.load(itertools.chain.from_iterable(data.by_kind.values()), validate=False)
        store.dispose()
        yield url, data


def _tokens(data: Data) -> dict[str, dict[str, Any]]:
    return {**TOKENS,
            CITY_READER: {"role": "system", "name": "城市数据中台", "userId": "sys-city",
                          "communities": "*"},
            "test-staff-one": {"role": "community-staff", "name": "社区工作者",
                               "userId": "cs-9001", "communities": [data.community]},
            RESIDENT_READER: {"role": "resident", "name": "居民", "userId": "res-9001",
                              "resident": "00000000-0000-4000-8000-00000000f001",
                              "communities": [data.community]}}


def _client(url: str, data: Data) -> TestClient:
    """The server on the city's store, with the city's readers' tokens."""
    return TestClient(create_app(Settings(database_url=url, tokens=_tokens(data), demo=False,
                                          pseudonym_key=KEY)))


def _middle_seq(url: str, rtype: str) -> int:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        row = conn.execute("SELECT seq FROM resources WHERE rtype = %s ORDER BY seq "
                           "OFFSET (SELECT count(*) / 2 FROM resources WHERE rtype = %s) "
                           "LIMIT 1", (rtype, rtype)).fetchone()
        return int(row[0]) if row else 0


def test_every_list_filter_and_cursor_reads_by_index(city: tuple[str, Data]) -> None:
    url, data = city
    explain = Explainer(url)
    app = create_app(Settings(database_url=url, tokens=_tokens(data), demo=False,
                              pseudonym_key=KEY))
    client = TestClient(app)
    problems: list[str] = []
    checked = 0
    rtype_of = {SPEC.collection(rt): rt for rt in SPEC.resource_types}
    for path, operation_id, filters in _list_operations():
        rtype = rtype_of.get(path.strip("/"))
        roles = SPEC.operation_roles(operation_id)
        readers = [CITY_READER, "test-staff-one"]
        if roles is not None:
            readers = ["demo-regulator"] if "regulator" in roles else readers
        deep = encode_cursor("r", _middle_seq(url, rtype)) if rtype else None
        for name, reader, cursor in itertools.product([None, *filters], readers,
                                                      [None, deep]):
            params: dict[str, Any] = {"limit": PAGE}
            if name:
                params[name] = data.value(path, name)
            if cursor:
                params["cursor"] = cursor
            with _captured(url) as statements:
                resp = client.get(path, params=params,
                                  headers={"Authorization": f"Bearer {reader}"})
            what = f"{operation_id} ?{name or '-'} as {reader}{' deep' if cursor else ''}"
            assert resp.status_code == 200, (what, resp.text)
            generated = path.strip("/") in data.by_kind  # the city holds such records
            if reader == CITY_READER and not cursor and name not in UNMATCHED and generated:
                assert resp.json()["items"], f"{what}: the city has no match to read"
            problems += explain.check(what, statements)
            checked += 1
    assert checked > 50
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_the_feed_reads_by_index_at_any_depth(city: tuple[str, Data]) -> None:
    url, data = city
    explain = Explainer(url)
    client = _client(url, data)
    problems: list[str] = []
    total = len(list(itertools.chain.from_iterable(data.by_kind.values())))
    for after in (0, total // 2, total - PAGE):
        params: dict[str, Any] = {"limit": PAGE}
        if after:
            params["cursor"] = encode_cursor("f", after)
        with _captured(url) as statements:
            resp = client.get("/changes", params=params,
                              headers={"Authorization": f"Bearer {CITY_READER}"})
        assert resp.status_code == 200, resp.text
        assert [int(e["sequence"]) for e in resp.json()["items"]] == list(
            range(after + 1, after + PAGE + 1))
        problems += explain.check(f"/changes after {after}", statements)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_starting_on_a_full_database_reads_no_table_whole(city: tuple[str, Data]) -> None:
    url, data = city
    explain = Explainer(url)
    with _captured(url) as statements:
        app = create_app(Settings(database_url=url, tokens=_tokens(data), demo=True,
                                  pseudonym_key=KEY))
    assert statements, "the server ran no query at start"
    problems = explain.check("start", statements)
    app.state.sc.service.store.dispose()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_an_erasure_finds_the_records_naming_her_by_index(city: tuple[str, Data]) -> None:
    """/req/privacy/erasure-reaches-records: the records naming a resident come from the term
    index, not from a search of every stored document."""
    url, data = city
    explain = Explainer(url)
    reach = ErasureReach(SPEC)
    store = Store(url, group_commit=False)
    counts: dict[str, int] = {}
    for doc in itertools.chain.from_iterable(data.by_kind.values()):
        for rid in named_residents(doc):
            counts[rid] = counts.get(rid, 0) + 1
    assert counts, "the city's records name no resident"
    # The city's issues copy a few examples, so every resident named is named many times: a
    # plan reads her records (each through the term index and the row), never the others.
    rid = min(counts, key=lambda k: (counts[k], k))
    try:
        with _captured(url) as statements, store.read() as tx:
            found = tx.naming(rid, reach.resource_types)
    finally:
        store.dispose()
    assert len(found) == counts[rid]
    problems = explain.check("erasure", statements, bound=BOUND + 3 * counts[rid])
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_the_public_lists_published_issues_by_index(city: tuple[str, Data]) -> None:
    """/req/privacy/issue-publication: a caller without a token reads the published issues
    from the term index, not by reading every issue to drop the unpublished."""
    for items in _issue_pages_by_index(city, None, "without a token"):
        assert all(i.get("publication", {}).get("published") is True for i in items)


def _issue_pages_by_index(city: tuple[str, Data], token: str | None,
                          who: str) -> list[list[dict[str, Any]]]:
    """The items of the first page of issues and of one half-way, as ``token`` (None: no
    token) lists them; fails if either page reads issues other than by index. The city
    publishes none: a walk of every issue would be page after page of reads."""
    url, data = city
    explain = Explainer(url)
    client = _client(url, data)
    problems: list[str] = []
    pages = []
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for cursor in (None, encode_cursor("r", _middle_seq(url, "Issue"))):
        params: dict[str, Any] = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
        with _captured(url) as statements:
            resp = client.get("/issues", params=params, headers=headers)
        assert resp.status_code == 200, resp.text
        pages.append(resp.json()["items"])
        lists = [s for s in statements if "FROM resources" in s[0]]
        assert len(lists) <= 2, f"{len(lists)} reads of the issues for one page"
        problems += explain.check(f"/issues {who}{' deep' if cursor else ''}", statements)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
    return pages


def test_a_resident_lists_the_published_and_her_own_by_index(city: tuple[str, Data]) -> None:
    """/req/privacy/own-issues-self: a resident reads the community's published issues and
    her own from the term index, not every issue of her community to drop the others."""
    _issue_pages_by_index(city, RESIDENT_READER, "as a resident")


def test_filters_on_what_a_reader_is_not_given_read_by_index(city: tuple[str, Data]) -> None:
    """/req/privacy/filter-what-is-seen: the public's ?grid= reads the terms of the issues
    published down to the grid, a page of rows it is served; a filter on a member the
    reader's audience never receives (the public's ?bbox=, the regulator's ?grid= and
    ?pseudonym= on residents) reads no row at all."""
    url, data = city
    explain = Explainer(url)
    client = _client(url, data)
    problems: list[str] = []
    for cursor in (None, encode_cursor("r", _middle_seq(url, "Issue"))):
        params: dict[str, Any] = {"limit": PAGE, "grid": data.value("/issues", "grid"),
                                  **({"cursor": cursor} if cursor else {})}
        with _captured(url) as statements:
            resp = client.get("/issues", params=params)
        assert resp.status_code == 200, resp.text
        # The city publishes none: its grid's every issue would be read to be dropped.
        lists = [s for s in statements if "FROM resources" in s[0]]
        assert len(lists) <= 2, f"{len(lists)} reads of the issues for one page"
        problems += explain.check(f"/issues?grid without a token{' deep' if cursor else ''}",
                                  statements)
    regulator = {"Authorization": "Bearer demo-regulator"}
    for path, name, headers in (("/issues", "bbox", {}), ("/residents", "grid", regulator),
                                ("/residents", "pseudonym", regulator)):
        with _captured(url) as statements:
            resp = client.get(path, params={"limit": PAGE, name: data.value(path, name)},
                              headers=headers)
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"items": [], "next": None}
        assert not [s for s in statements if "FROM resources" in s[0]], (path, name)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_the_public_lists_visible_consultations_by_index(city: tuple[str, Data]) -> None:
    """/req/privacy/visibility: a caller without a token lists the consultations it may see
    with the visibility term probed from the page's index, in one read a page, rather than
    reading and parsing the community's own consultations to drop them."""
    url, data = city
    explain = Explainer(url)
    client = _client(url, data)
    problems: list[str] = []
    visible = set(SPEC.privacy["visibility"]["public"])
    held = [c for c in data.by_kind["consultations"] if c["visibility"] in visible]
    assert 0 < len(held) < len(data.by_kind["consultations"])
    deep = encode_cursor("r", _middle_seq(url, "Consultation"))
    for cursor, name in ((None, None), (deep, None), (None, "community"), (None, "category")):
        params: dict[str, Any] = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
        if name:  # a filter drives the page; the visibility is probed row by row
            params[name] = data.value("/consultations", name)
        with _captured(url) as statements:
            resp = client.get("/consultations", params=params)
        assert resp.status_code == 200, resp.text
        items = resp.json()["items"]
        assert all(c["visibility"] in visible for c in items)
        assert items or name, "the city holds public consultations"
        lists = [s for s in statements if "FROM resources" in s[0]]
        assert len(lists) == 1, f"{len(lists)} reads of the consultations for one page"
        problems += explain.check(f"/consultations?{name or '-'} without a token"
                                  f"{' deep' if cursor else ''}", statements)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_a_department_filter_reads_a_page_whatever_its_share(city: tuple[str, Data]) -> None:
    """A term filter drives the page from its index in seq order: the department holding most
    issues and the one holding fewest each read about a page. (Joined as a filter, PostgreSQL
    trusts its estimate of a value's matches: it merged a common one with the primary key from
    the first resident on, and read and sorted every match of a rarer one it thought rarer
    still, at a city's size seconds either way.)"""
    url, data = city
    explain = Explainer(url)
    client = _client(url, data)
    held: dict[str, int] = {}
    for doc in data.issues:
        for assignment in doc.get("assignments", ()):
            held[assignment["department"]["id"]] = held.get(assignment["department"]["id"],
                                                            0) + 1
    assert len(held) > 1
    problems: list[str] = []
    for department in (max(held, key=held.__getitem__), min(held, key=held.__getitem__)):
        with _captured(url) as statements:
            resp = client.get("/issues", params={"limit": PAGE, "department": department},
                              headers={"Authorization": f"Bearer {CITY_READER}"})
        assert resp.status_code == 200 and resp.json()["items"], department
        problems += explain.check(f"?department={department} ({held[department]} issues)",
                                  statements)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.mark.parametrize(("reader", "filtered"), [
    (CITY_READER, True),  # ?community= over the whole city
    ("test-staff-one", False),  # the staff of one community, listing what they serve
])
def test_a_communitys_residents_read_a_page_not_the_community(
        city: tuple[str, Data], reader: str, filtered: bool) -> None:
    """A resident belongs to communities by term; one community (asked for, or the only one
    the reader serves) drives the page from the term index in seq order, so a short page reads
    about that page, not every member of the community and a sort (at a city's 2,000
    residents a community, p50 102 ms a page)."""
    url, data = city
    explain = Explainer(url)
    client = _client(url, data)
    members = sum(data.community in str(doc) for doc in data.by_kind["residents"])
    short = 3
    assert members > 6 * (short + 1), "the community is too small to tell the plans apart"
    for cursor in (None, encode_cursor("r", _middle_seq(url, "Resident"))):
        params: dict[str, Any] = {"limit": short, **({"cursor": cursor} if cursor else {})}
        if filtered:
            params["community"] = data.community
        with _captured(url) as statements:
            resp = client.get("/residents", params=params,
                              headers={"Authorization": f"Bearer {reader}"})
        assert resp.status_code == 200 and resp.json()["items"], resp.text
        problems = explain.check(f"/residents as {reader}", statements,
                                 bound=4 * (short + 1) + 2)
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)


def test_a_list_reads_its_own_types_terms_only(city: tuple[str, Data]) -> None:
    """Several types share a kind of term (residents, issues and organisations have grids,
    residents and organisations communities). A list driven by one reads that type's entries
    of the term index alone: a community's organisations (a short page) read about their own
    rows, not each of its residents' entries looked up and dropped (a city's community holds
    2,000 residents and a handful of organisations)."""
    url, data = city
    path, name, kind = "/organisations", "community", "Organisation"
    explain = Explainer(url)
    client = _client(url, data)
    value = data.value(path, name)
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        counts = dict(conn.execute(
            "SELECT r.rtype, count(*) FROM resource_terms t JOIN resources r ON r.seq = t.rseq "
            "WHERE t.kind = %s AND t.value = %s GROUP BY r.rtype", (name, value)).fetchall())
    own, others = int(counts.pop(kind, 0)), sum(int(n) for n in counts.values())
    assert 0 < own < PAGE and others > 2 * own + 4, (counts, own)
    with _captured(url) as statements:
        resp = client.get(path, params={"limit": PAGE, name: value},
                          headers={"Authorization": f"Bearer {CITY_READER}"})
    assert resp.status_code == 200 and len(resp.json()["items"]) == own, resp.text
    problems = explain.check(f"{path}?{name}={value}", statements, bound=2 * own + 4)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def _blocks(url: str, statements: list[tuple[str, Any]]) -> list[tuple[int, str]]:
    """(index and table pages read, statement) of each statement that reads the resources.
    The TOAST of the documents a page sends is read as they are sent, outside the plan."""
    explain = Explainer(url)
    found = []
    for statement, parameters in statements:
        if "FROM resources" not in statement:
            continue
        plan = explain.plan(statement, parameters, "ANALYZE, BUFFERS")
        found.append((int(plan["Shared Hit Blocks"]) + int(plan["Shared Read Blocks"]),
                      statement))
    return found


#: /issues' filters on a code (each named as the member it reads)
CODE_FILTERS = ("category", "intakeChannel", "requestType", "status", "urgency")


def _first_and_last(member: str) -> tuple[str, str]:
    """The first and the last code, in sort order, of the codelist an issue's ``member`` draws
    from (of a category, its sub-codes: the filter asks for the code above)."""
    codelist = SPEC.schema("Issue")["properties"][member]["x-codelist"]
    codes = sorted(c for c in SPEC.codelist(codelist) if member != "category" or "." in c)
    return codes[0], codes[-1]


EARLY = 5
#: pages an index probe may read (its root, an inner page, a leaf), with room
PROBE_BLOCKS = 8


@pytest.fixture(scope="module")
def early_codes() -> Iterator[str]:
    """The city's issues, of which only the first few hold each filter's first code."""
    with throwaway_pg("sc_early_codes") as url:
        issues = City(SCALE).kinds()["issues"]()
        store = Store(url, group_commit=False)
        store.migrate()
        service = Service(Settings(database_url=url, pseudonym_key=KEY), store)

        def skewed() -> Iterator[dict[str, Any]]:
            for n, doc in enumerate(issues):
                for member in CODE_FILTERS:
                    early, late = _first_and_last(member)
                    doc[member] = early if n < EARLY else late
                yield doc

        service.load(skewed(), validate=False)
        store.dispose()
        yield url


@pytest.mark.parametrize("name", CODE_FILTERS)
def test_a_code_only_early_records_hold_is_listed_from_a_probe(early_codes: str,
                                                               name: str) -> None:
    """A code held by a few early records only (one that fell out of use) is listed by reading
    those records' index entries, not every later code's. With the type asked as a range (so
    that the primary key could not serve the order), PostgreSQL started at the code's first
    entry but could not stop at its last, and read every later code's to the end of the issues:
    a short page or a code no one holds cost a walk of the issues (at a city's 3,000,000,
    hundreds of milliseconds)."""
    url = early_codes
    client = TestClient(create_app(Settings(database_url=url, tokens=TOKENS, demo=False,
                                            pseudonym_key=KEY)))
    early = _first_and_last(name)[0]
    asked = early.split(".")[0] if name == "category" else early
    with _captured(url) as statements:
        resp = client.get("/issues", params={"limit": PAGE, name: asked},
                          headers={"Authorization": "Bearer demo-regulator"})
    assert resp.status_code == 200, resp.text
    assert len(resp.json()["items"]) == EARLY
    read = _blocks(url, statements)
    assert read, "no statement read the issues"
    for pages, statement in read:  # each statement: a probe or two, and the page's rows
        assert pages <= PROBE_BLOCKS + EARLY, f"?{name}={asked} read {pages} pages\n{statement}"


def test_a_category_reads_a_page_of_each_of_its_codes(city: tuple[str, Data]) -> None:
    """A code with sub-codes is read as one ordered branch per code the issues hold, merged:
    about a page of index entries and rows, whatever the codes' shares. As one range of the
    category index, PostgreSQL read every match of a rare code and sorted them, or walked the
    issues in order dropping every other code's (at a city's size, 50 ms a page and more)."""
    url, data = city
    explain = Explainer(url)
    client = _client(url, data)
    shares: dict[str, int] = {}
    for doc in data.issues:
        top = str(doc["category"]).split(".")[0]
        shares[top] = shares.get(top, 0) + 1
    for code in (max(shares, key=shares.__getitem__), min(shares, key=shares.__getitem__)):
        codes = {str(d["category"]) for d in data.issues if d["category"].startswith(code)}
        for cursor in (None, encode_cursor("r", _middle_seq(url, "Issue"))):
            params: dict[str, Any] = {"limit": PAGE, "category": code,
                                      **({"cursor": cursor} if cursor else {})}
            with _captured(url) as statements:
                resp = client.get("/issues", params=params,
                                  headers={"Authorization": f"Bearer {CITY_READER}"})
            assert resp.status_code == 200 and resp.json()["items"], resp.text
            problems = explain.check(f"?category={code} ({shares[code]} issues)", statements,
                                     bound=PAGE + 1 + 2 * len(codes))
            if problems:
                pytest.fail("\n".join(problems), pytrace=False)


def test_the_planner_expects_each_communitys_members_not_a_handful(
        city: tuple[str, Data]) -> None:
    """PostgreSQL expects, of every community, about the members it has (the initial migration).
    Taking kind and value as independent, it expected a handful; keeping the shares of the 100
    most common values only, it took any community outside them for as rare as a pseudonym.
    Either way, under a short page it read and sorted every member, in some runs and not in
    others as ANALYZE's sample fell."""
    url, _ = city
    explain = Explainer(url)
    held = explain.conn.execute("SELECT value, count(*) FROM resource_terms WHERE kind = %s "
                                "GROUP BY value", ("community",)).fetchall()
    assert len(held) > 50
    wrong = []
    for community, members in held:
        plan = explain.plan("SELECT rseq FROM resource_terms WHERE kind = %s AND value = %s",
                            ("community", community), options="COSTS")
        if not members / 2 <= plan["Plan Rows"] <= members * 2:
            wrong.append(f"{community}: expected {plan['Plan Rows']}, holds {members}")
    assert not wrong, "\n".join(wrong)
