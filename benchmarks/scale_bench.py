"""The reference server holding a city, against the same server nearly empty, in one run.

    python benchmarks/scale_bench.py [--residents 1000000 --issues 3000000]
        [--sqlite-residents 100000 --sqlite-issues 300000] [--seconds 2] [--no-sqlite]
        [--no-postgres] [--workdir DIR] [--workers 1]
    python benchmarks/scale_bench.py --lists-of DATABASE_URL [--workers 2] [--baseline CHECKOUT]
        [--reader regulator]
    python benchmarks/scale_bench.py --writes-of DATABASE_URL [--baseline CHECKOUT] [--repeat 3]
        [--keyed]

For PostgreSQL (a database of its own, dropped afterwards) and for SQLite at a smaller scale,
it generates the city (``benchmarks/city.py``) and measures, each beside the same measure on a
store holding only a small town (200 residents, 600 issues):

- the import rate of ``smartcommunity import`` (the whole city; then the same 2,000 extra
  issues into the full and into the small store);
- p50/p99 of every list operation of the OpenAPI with each of its filters, at the first page and
  at a cursor three quarters deep, 16 connections (wrk; a thread pool of httpx clients when wrk
  is missing, which the output says);
- single reads ``GET /issues/{id}``; ``POST /issues`` while 8 other connections list issues;
- mirroring the whole feed into an empty second store (events/s);
- on PostgreSQL, the write throughput of two ``smartcommunity serve`` processes on the one
  database against one process.

``--lists-of`` measures only the lists of a city imported before (with ``--baseline``, an
earlier version's each measure just before this one's, on the same stores; read as a city
system, which is given records as stored, or with ``--reader regulator``, whose redacted
records the server remembers); ``--writes-of`` only the
writes of one process and of two on a store imported before, with the processor time a write
costs and how often a PostgreSQL backend was found waiting for the write lock, for this
checkout and, with ``--baseline``, an earlier version unpacked there, in turn on the one store.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from benchmarks.city import Scale, write  # noqa: E402
from benchmarks.postgres import pg_database, postgres_ticks  # noqa: E402
from benchmarks.server_bench import free_port, lua_seeded, serve  # noqa: E402
from benchmarks.timing import TICKS, machine_ticks, process_ticks, process_tree  # noqa: E402
from reference_server.demo import demo_tokens  # noqa: E402
from reference_server.http import encode_cursor  # noqa: E402
from smartcommunity import load_spec  # noqa: E402
from smartcommunity.cli import usable_cpus  # noqa: E402

CONNECTIONS = 16
#: the p99 every list page is to keep at CONNECTIONS connections, first page and deep alike
TARGET_P99_MS = 50.0
READER = "demo-system-mirror"  # a system that reads every community
#: who reads the lists (--reader): a system gets records as stored, a regulator redacted
READERS = {"system": READER, "regulator": "demo-regulator"}
WRITER = "demo-staff-liu-fang"
SMALL = Scale(residents=200, issues=600, consultations=10, communities=2, seed=3)
EXTRA = 2_000
#: the mirror stops when the disk has less than this left (a city's store and its mirror are large)
MIN_FREE = 6 * 2**30


@dataclass(frozen=True)
class Load:
    rps: float
    p50: float  # milliseconds
    p99: float
    errors: int
    tool: str
    #: processor milliseconds a request cost the server's processes and PostgreSQL's, and the
    #: first request's latency, alone, before the load (None: not measured)
    server_ms: float | None = None
    database_ms: float | None = None
    cold_ms: float | None = None

    def cell(self) -> str:
        bad = f" {self.errors} errors" if self.errors else ""
        if not self.rps:  # wrk prints a latency of 0 when nothing came back
            return f"no answer within the run{bad}"
        cpu = "" if self.server_ms is None else (
            f" (cpu/req server {self.server_ms:.2f}"
            + (f" db {self.database_ms:.2f}" if self.database_ms is not None else "")
            + f" ms; alone first {self.cold_ms:.1f} ms)")
        return f"p50 {self.p50:7.2f} p99 {self.p99:7.2f} ms{cpu}{bad}"


def within_target(measures: list[tuple[str, Load]]) -> str:
    """How many of ``measures`` (label, load) kept p99 within :data:`TARGET_P99_MS`, and which
    did not: one that had errors or no answer did not.

    >>> ok, slow = Load(500, 20, 45, 0, "wrk"), Load(300, 40, 80, 0, "wrk")
    >>> within_target([("/a first", ok), ("/a deep", slow), ("/b", Load(0, 0, 0, 0, "wrk"))])
    'p99 ≤ 50 ms: 1 of 3; not: /a deep (80 ms), /b (no answer)'
    >>> within_target([("/a first", ok), ("/a deep", Load(400, 20, 30, 3, "wrk"))])
    'p99 ≤ 50 ms: 1 of 2; not: /a deep (3 errors)'
    """
    missed = []
    for label, load in measures:
        if not load.rps or load.errors:
            missed.append(f"{label} ({f'{load.errors} errors' if load.rps else 'no answer'})")
        elif load.p99 > TARGET_P99_MS:
            missed.append(f"{label} ({load.p99:.0f} ms)")
    kept = f"p99 ≤ {TARGET_P99_MS:.0f} ms: {len(measures) - len(missed)} of {len(measures)}"
    return kept + (f"; not: {', '.join(missed)}" if missed else "")


# -- load ------------------------------------------------------------------------------------

def _wrk(base: str, path: str, seconds: float, connections: int, script: str | None = None,
         token: str = READER) -> Load:
    args = ["wrk", f"-t{min(2, connections)}", f"-c{connections}",
            f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "30s",
            "-H", f"Authorization: Bearer {token}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        if script:
            fh.write(script)
    try:
        if script:
            args += ["-s", fh.name]
        out = subprocess.run([*args, base + path], capture_output=True, text=True,
                             check=True).stdout
    finally:
        os.unlink(fh.name)

    def pct(label: str) -> float:
        m = re.search(rf"\s{label}%\s+([0-9.]+)(us|ms|s)\b", out)
        if m is None:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    errors = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: ([0-9]+)", out))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    errors += sum(int(x) for x in socket.groups()) if socket else 0
    return Load(float(rps.group(1)) if rps else 0.0, pct("50"), pct("99"), errors, "wrk")


def _threads(base: str, request: Callable[[httpx.Client], httpx.Response], seconds: float,
             connections: int) -> Load:
    """The fallback: ``connections`` threads, each a client sending one request at a time."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker() -> None:
        nonlocal errors
        with httpx.Client(base_url=base, timeout=60) as client:
            while time.perf_counter() < stop:
                began = time.perf_counter()
                resp = request(client)
                took = (time.perf_counter() - began) * 1000
                with lock:
                    latencies.append(took)
                    errors += resp.status_code >= 300
    began = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(connections) as pool:
        list(pool.map(lambda _: worker(), range(connections)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return Load(len(latencies) / elapsed, statistics.median(latencies),
                latencies[int(0.99 * (len(latencies) - 1))], errors, "threads")


def get_load(base: str, path: str, seconds: float, connections: int = CONNECTIONS,
             token: str = READER) -> Load:
    if shutil.which("wrk"):
        return _wrk(base, path, seconds, connections, token=token)
    headers = {"Authorization": f"Bearer {token}"}
    return _threads(base, lambda c: c.get(path, headers=headers), seconds, connections)


def measured_load(base: str, pid: int, path: str, seconds: float, postgres: bool,
                  token: str = READER) -> Load:
    """:func:`get_load` of ``path`` after one request alone (its latency is reported apart:
    the page's first reading, with plans and cache cold), with the processor time each
    request of the load cost the server's processes and, on PostgreSQL, the database's."""
    began = time.perf_counter()
    httpx.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    cold = (time.perf_counter() - began) * 1000
    pids = process_tree(pid)
    server, database = sum(map(process_ticks, pids)), postgres_ticks() if postgres else 0
    load = get_load(base, path, seconds, token=token)
    served = max(1.0, load.rps * max(1, round(seconds)))
    return replace(
        load, server_ms=(sum(map(process_ticks, pids)) - server) * 1000 / TICKS / served,
        database_ms=(postgres_ticks() - database) * 1000 / TICKS / served if postgres else None,
        cold_ms=cold)


_LUA_GETS = "local ids = {%s}\nrequest = function()\n" \
    "  return wrk.format('GET', '/issues/' .. ids[math.random(1, #ids)], " \
    "{['Authorization'] = 'Bearer %s'})\nend\n"
_LUA_POST = textwrap.dedent('''
    local body = %s
    local hex = "0123456789abcdef"
    local function h(n)
      local t = {}
      for i = 1, n do local r = math.random(1, 16); t[i] = hex:sub(r, r) end
      return table.concat(t)
    end
    request = function()
      local id = h(8) .. "-" .. h(4) .. "-4" .. h(3) .. "-a" .. h(3) .. "-" .. h(12)
      local doc = body:gsub("__ID__", id)
      local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %s"}
      if %s then headers["Idempotency-Key"] = id end
      return wrk.format("POST", "/issues", headers, doc)
    end
''')


def _new_issue() -> dict[str, Any]:
    spec = load_spec()
    doc = next(d for n, d in spec.examples() if n == "issue/fire-lane-submitted.json")
    doc = dict(json.loads(json.dumps(doc)))
    doc.pop("meta", None)
    staff = demo_tokens()[WRITER]
    actor = {k: staff[k] for k in ("role", "name", "userId", "organisation") if k in staff}
    doc["submittedBy"] = dict(actor)
    doc["history"] = [{**doc["history"][0], "actor": dict(actor)}]
    doc["id"] = str(uuid.uuid4())
    return doc


def post_load(base: str, seconds: float, connections: int, keyed: bool = False) -> Load:
    """``POST /issues`` of new issues; with ``keyed``, each with an Idempotency-Key of its
    own, as a client that may resend sends it."""
    if shutil.which("wrk"):
        doc = _new_issue()
        body = json.dumps(doc, ensure_ascii=False).replace(doc["id"], "__ID__")
        script = _LUA_POST % ("[==[" + body + "]==]", WRITER, "true" if keyed else "false")
        return _wrk(base, "/issues", seconds, connections, lua_seeded(script), token=WRITER)

    def post(client: httpx.Client) -> httpx.Response:
        headers = {"Authorization": f"Bearer {WRITER}",
                   **({"Idempotency-Key": str(uuid.uuid4())} if keyed else {})}
        return client.post("/issues", json=_new_issue(), headers=headers)

    return _threads(base, post, seconds, connections)


def reads_load(base: str, ids: list[str], seconds: float) -> Load:
    if shutil.which("wrk"):
        script = lua_seeded(_LUA_GETS % (", ".join(f'"{i}"' for i in ids), READER))
        return _wrk(base, "/issues", seconds, CONNECTIONS, script)
    headers = {"Authorization": f"Bearer {READER}"}
    import random
    return _threads(base, lambda c: c.get(f"/issues/{random.choice(ids)}", headers=headers),
                    seconds, CONNECTIONS)


# -- servers and stores ----------------------------------------------------------------------

def tokens_file(work: Path) -> Path:
    """The demo tokens, hashed, as a ``--tokens`` file in ``work``."""
    path = work / "tokens.json"
    hashed = {"sha256:" + hashlib.sha256(t.encode()).hexdigest(): f
              for t, f in demo_tokens().items()}
    path.write_text(json.dumps({"tokens": hashed}, ensure_ascii=False), encoding="utf-8")
    path.chmod(0o600)
    return path


@contextlib.contextmanager
def server(url: str, tokens: Path, log: Path, workers: int = 1,
           root: Path = ROOT) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """One ``smartcommunity serve`` (of the checkout at ``root``) on ``url``, with ``workers``
    worker processes: its base URL and its process."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "smartcommunity.cli", "serve", "--port", str(port),
               "--database-url", url, "--tokens", str(tokens), "--no-access-log",
               "--workers", str(workers)]
    env = {"PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    # Each worker listens on a socket of its own; an earlier version's share one.
    own = (root / "reference_server" / "workers.py").is_file()
    with serve(command, env, base, log=log, start=300, cwd=root,
               listening=workers if own else 1) as proc:
        yield base, proc


def revision_for(url: str, root: Path) -> bool:
    """Take the store at ``url`` back to the newest storage revision the checkout at ``root``
    knows, if this version migrated it further: an earlier version does not start on a store
    of a revision it does not know, and each server upgrades the store again as it starts.
    Whether it had to."""
    versions = root / "reference_server" / "storage" / "migrations" / "versions"
    known = {m.group(1) for f in versions.glob("*.py")
             if (m := re.search(r'^revision = "(\w+)"', f.read_text(encoding="utf-8"), re.M))}
    from alembic import command

    from reference_server.storage import migrations_config

    engine = create_engine(url)
    with engine.begin() as conn:
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        went_back = bool(known) and current not in known
        if went_back:
            print(f"  the store goes back from revision {current} to {max(known)} for {root}",
                  flush=True)
            command.downgrade(migrations_config(conn), max(known))
    engine.dispose()
    return went_back


@contextlib.contextmanager
def serving(url: str, tokens: Path, log: Path, workers: int = 1,
            root: Path = ROOT) -> Iterator[str]:
    """:func:`server`'s base URL."""
    with server(url, tokens, log, workers, root) as (base, _):
        yield base


def import_files(url: str, folder: Path, root: Path | None = None) -> tuple[int, float]:
    """``smartcommunity import --ndjson folder``: records and seconds; with ``root``, by the
    checkout there (another version, in a process of its own)."""
    from smartcommunity.cli import run

    count = sum(1 for f in folder.glob("*.ndjson") for _ in f.open("rb"))
    if root is not None:
        from benchmarks.import_bench import import_once

        return count, import_once(folder, url, root=root).wall
    began = time.perf_counter()
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        if run(["import", "--ndjson", str(folder), "--database-url", url]) != 0:
            raise RuntimeError(f"the import of {folder} failed")
    return count, time.perf_counter() - began


def extra_issues(folder: Path, seed: int) -> Path:
    """``EXTRA`` more issues of the city, ids of their own, as one file."""
    out = folder / f"extra-{seed}"
    write(Scale(residents=0, issues=EXTRA, consultations=0, communities=2, seed=seed), out)
    for f in out.glob("*.ndjson"):
        if f.stat().st_size == 0 or "issues" not in f.name:
            f.unlink()
    return out


# -- what to ask ---------------------------------------------------------------------------

def list_operations() -> list[tuple[str, list[str]]]:
    """(path, filter names) of every GET operation of the OpenAPI that pages with a cursor."""
    spec = load_spec()
    found = []
    for path, item in spec.openapi["paths"].items():
        operation = item.get("get")
        if not operation or path in ("/changes", "/audit-events"):
            continue
        names = []
        for p in operation.get("parameters", []):
            if "$ref" in p:
                p = spec.openapi["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
            names.append(p["name"])
        if "cursor" in names:
            found.append((path, [n for n in names if n not in ("cursor", "limit")]))
    return found


_COLUMN = {"status": "status", "requestType": "request_type", "intakeChannel": "intake_channel",
           "urgency": "urgency", "category": "category"}
_TERM = {"department": "department", "grid": "grid", "pseudonym": "pseudonym",
         "issue": "issue"}


def filter_value(conn: Any, rtype: str, name: str) -> str | None:
    """A value of ``?name=`` for ``rtype`` from the stored data: the rarest, where values
    repeat, so that a read that walks the table shows."""
    def one(sql: str, **params: Any) -> str | None:
        row = conn.execute(text(sql), {"rtype": rtype, **params}).first()
        return None if row is None or row[0] is None else str(row[0])

    if name == "community":
        return one("SELECT community FROM resources WHERE rtype = 'Issue' "
                   "GROUP BY community ORDER BY count(*), community LIMIT 1")
    if name in _COLUMN and rtype == "Issue":
        value = one(f"SELECT {_COLUMN[name]} FROM resources WHERE rtype = :rtype "
                    f"AND {_COLUMN[name]} IS NOT NULL GROUP BY 1 ORDER BY count(*), 1 LIMIT 1")
        return value.split(".")[0] if value and name == "category" else value
    kind = "category" if name == "category" else _TERM.get(name)
    if kind:
        return one("SELECT value FROM resource_terms t JOIN resources r ON r.seq = t.rseq "
                   "WHERE r.rtype = :rtype AND t.kind = :kind GROUP BY value "
                   "ORDER BY count(*), value LIMIT 1", kind=kind)
    if name in ("submittedFrom", "submittedTo", "updatedSince"):
        column = "updated_at" if name == "updatedSince" else "submitted_at"
        order = "ASC" if name == "submittedTo" else "DESC"
        total = int(one("SELECT count(*) FROM resources WHERE rtype = :rtype") or 0)
        value = one(f"SELECT {column} FROM resources WHERE rtype = :rtype "
                    f"ORDER BY {column} {order} LIMIT 1 OFFSET :n", n=total // 100)
        return value.replace(" ", "T") if value else None
    return None


def deep_cursor(conn: Any, rtype: str) -> str | None:
    total = conn.execute(text("SELECT count(*) FROM resources WHERE rtype = :r"),
                         {"r": rtype}).scalar_one()
    if total < 100:
        return None
    depth = min(1_000_000, total * 3 // 4)
    seq = conn.execute(text("SELECT seq FROM resources WHERE rtype = :r ORDER BY seq "
                            "LIMIT 1 OFFSET :n"), {"r": rtype, "n": depth}).scalar_one()
    return encode_cursor("r", int(seq))


def queries(url: str) -> list[tuple[str, str, str | None]]:
    """(label, path with query, deep path) of every list operation × filter on ``url``."""
    spec = load_spec()
    rtype_of = {spec.collection(rt): rt for rt in spec.resource_types}
    engine = create_engine(url)
    out = []
    with engine.connect() as conn:
        for path, filters in list_operations():
            rtype = rtype_of[path.strip("/")]
            deep = deep_cursor(conn, rtype)
            for name in [None, *filters]:
                query = "?"
                if name:
                    value = filter_value(conn, rtype, name)
                    if value is None:
                        continue
                    query += str(httpx.QueryParams({name: value}))
                label = f"{path}{' ?' + name if name else ''}"
                query = query.rstrip("?")
                joint = "&" if "?" in query else "?"
                out.append((label, path + query,
                            path + query + f"{joint}cursor={deep}" if deep else None))
    engine.dispose()
    return out


# -- one backend --------------------------------------------------------------------------

#: a server under measure: base URL, server pid, database URL
Served = tuple[str, int, str]


def list_loads(full: Served, small: Served, seconds: float, workers: int,
               earlier: tuple[Served, Served] | None = None, token: str = READER) -> None:
    """Every list operation × filter of the OpenAPI at the first page and a cursor ¾ deep on
    the city served at ``full``, the first page of the small town served at ``small`` beside
    it, read with ``token``; with ``earlier`` (the same two stores served by an earlier
    version), each measure of that version just before the same measure of this one."""
    # (name, the mark its lines end with when two versions alternate, city, small town)
    versions = [("this version", "", full, small)]
    if earlier is not None:
        versions = [("the earlier version", "  [earlier]", *earlier),
                    ("this version", "  [this]", full, small)]
    url, small_url = full[2], small[2]
    full_q, small_q = queries(url), {lbl: p for lbl, p, _ in queries(small_url)}
    postgres = url.startswith("postgresql")
    tool = ("wrk" if shutil.which("wrk")
            else "threads (wrk missing: latencies include the client)")
    print(f"\nlist operations, {CONNECTIONS} connections, {seconds:.0f} s each, by {tool}, "
          f"{workers} server process(es); first page | cursor ¾ deep; small town beside; "
          "each after one request alone, with the processor time per request of the server's "
          "processes and PostgreSQL's", flush=True)
    city: dict[str, list[tuple[str, Load]]] = {name: [] for name, *_ in versions}
    towns: dict[str, list[tuple[str, Load]]] = {name: [] for name, *_ in versions}
    for lbl, path, deep in full_q:
        for name, mark, (base, pid, _), (small_base, small_pid, _) in versions:
            first = measured_load(base, pid, path, seconds, postgres, token)
            city[name].append((f"{lbl} first", first))
            line = f"  {lbl:<30} first {first.cell()}"
            if lbl in small_q:
                town = measured_load(small_base, small_pid, small_q[lbl], seconds, postgres,
                                     token)
                towns[name].append((lbl, town))
                line += f" (small {town.cell()})"
            if deep:
                far = measured_load(base, pid, deep, seconds, postgres, token)
                city[name].append((f"{lbl} deep", far))
                line += f" | deep {far.cell()}"
            print(line + mark, flush=True)
    for name, *_ in versions:
        print(f"  {name}: the city, {within_target(city[name])}\n"
              f"  {name}: the small town, {within_target(towns[name])}", flush=True)


def bench_backend(label: str, url: str, small_url: str, scale: Scale, work: Path,
                  seconds: float, processes: bool, workers: int = 1) -> None:
    print(f"\n== {label}: {scale.residents:,} residents, {scale.issues:,} issues, "
          f"{scale.community_count:,} communities (small town beside: {SMALL.residents} "
          f"residents, {SMALL.issues} issues) ==", flush=True)
    tokens = tokens_file(work)
    city_dir, small_dir = work / f"city-{label}", work / "small"
    if url.startswith("postgresql"):
        print(f"PostgreSQL settings: {_pg_settings(url)}", flush=True)
    began = time.perf_counter()
    write(scale, city_dir)
    print(f"generated in {time.perf_counter() - began:.0f} s", flush=True)
    if not small_dir.exists():
        write(SMALL, small_dir)

    n, took = import_files(url, city_dir)
    print(f"import, the whole city into an empty store: {n:,} records in {took:.0f} s "
          f"= {n / took:,.0f} records/s; the store takes {_store_size(url)}", flush=True)
    ids = [json.loads(line)["id"] for line, _ in zip(
        (city_dir / "3-issues.ndjson").open("rb"), range(500), strict=False)]
    # The files are made again from the seed when needed; the store and its mirror need the room.
    shutil.rmtree(city_dir)
    import_files(small_url, small_dir)
    extra_full, extra_small = extra_issues(work, 101), extra_issues(work, 102)
    n_full, t_full = import_files(url, extra_full)
    n_small, t_small = import_files(small_url, extra_small)
    print(f"import, {EXTRA:,} more issues: full store {n_full / t_full:,.0f}/s, "
          f"small store {n_small / t_small:,.0f}/s", flush=True)
    for folder in (extra_full, extra_small):
        shutil.rmtree(folder)
    if url.startswith("postgresql"):
        for u in (url, small_url):
            engine = create_engine(u, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text("VACUUM ANALYZE"))
            engine.dispose()

    log = work / f"server-{label}.log"
    with (server(url, tokens, log, workers) as (full, full_proc),
          server(small_url, tokens, log, workers) as (small, small_proc)):
        list_loads((full, full_proc.pid, url), (small, small_proc.pid, small_url), seconds,
                   workers)

        small_ids = [json.loads(line)["id"] for line, _ in zip(
            (small_dir / "3-issues.ndjson").open("rb"), range(500), strict=False)]
        r_full, r_small = reads_load(full, ids, seconds), reads_load(small, small_ids, seconds)
        print(f"\nGET /issues/{{id}}: full {r_full.rps:,.0f}/s {r_full.cell()}; "
              f"small {r_small.rps:,.0f}/s {r_small.cell()}", flush=True)

        for name, base in (("full", full), ("small", small)):
            readers = threading.Thread(target=get_load, args=(base, "/issues",
                                                              seconds * 3, 8))
            readers.start()
            time.sleep(0.5)
            w = post_load(base, seconds * 2, 8)
            readers.join()
            print(f"POST /issues, 8 connections, while 8 others list issues ({name}): "
                  f"{w.rps:,.0f}/s {w.cell()}", flush=True)

        if processes:
            with (server(url, tokens, log) as (first, p1),
                  server(url, tokens, log) as (second, p2)):
                one = measured_writes(url, [first], [p1.pid, p2.pid], seconds * 2)
                two = measured_writes(url, [first, second], [p1.pid, p2.pid], seconds * 2)
            print(f"POST /issues, {CONNECTIONS} connections: one process {one.rps:,.0f}/s "
                  f"({one.busy:.2f} cores busy), two processes on the one database "
                  f"{two.rps:,.0f}/s ({two.rps / one.rps:.2f}×, {two.busy:.2f} cores busy, "
                  f"write lock waited in {two.lock_waits:.1%} of samples); "
                  f"{one.errors + two.errors} errors", flush=True)

        for name, base in (("full", full), ("small", small)):
            rate, events, stopped = mirror_rate(base, url if name == "full" else small_url,
                                                work, label)
            print(f"mirroring the feed into an empty store ({name}): {events:,} events, "
                  f"{rate:,.0f} events/s"
                  + (" (stopped early: the disk was nearly full)" if stopped else ""), flush=True)


def lists_of(url: str, work: Path, seconds: float, workers: int,
             baseline: Path | None = None, reader: str = "system") -> None:
    """:func:`list_loads` on the city stored at ``url``, a small town of the same backend
    imported afresh beside it; with ``baseline``, the earlier version unpacked there serving
    the same stores, measured alternately with this one (a store this version migrated
    further is taken back to the earlier version's revision first)."""
    tokens, log = tokens_file(work), work / "server-lists.log"
    small_dir = work / "small"
    write(SMALL, small_dir)
    if url.startswith("postgresql"):
        print(f"PostgreSQL settings: {_pg_settings(url)}; the city's store takes "
              f"{_store_size(url)}", flush=True)
        small_store: Any = pg_database("scale_bench_small")
    else:
        small_store = contextlib.nullcontext(f"sqlite:///{work / 'small.sqlite3'}")
    with small_store as small_url:
        import_files(small_url, small_dir)
        with contextlib.ExitStack() as stack:
            def served(store: str, root: Path = ROOT) -> Served:
                base, proc = stack.enter_context(server(store, tokens, log, workers, root))
                return base, proc.pid, store

            earlier = None
            if baseline is not None:
                # Both versions serve the stores at once: they must share its schema.
                for store in (url, small_url):
                    if revision_for(store, baseline):
                        sys.exit(f"{baseline} reads an earlier storage revision than this "
                                 "version: measure them in turn, not alternately")
                earlier = served(url, baseline), served(small_url, baseline)
            print(f"read as {reader} ({READERS[reader]})", flush=True)
            list_loads(served(url), served(small_url), seconds, workers, earlier,
                       READERS[reader])


@dataclass(frozen=True)
class Writes:
    """``POST /issues`` from 16 connections, to one process or spread over two."""

    rps: float
    server_ms: float  # processor time a write cost the server processes
    database_ms: float  # and PostgreSQL's
    machine_ms: float  # and the whole machine (the load generator too)
    busy: float  # cores busy on average
    lock_waits: float  # share of samples that found a backend waiting for the write lock
    lock_held: float  # share of samples that found the write lock held
    errors: int

    @property
    def bound(self) -> float:
        """Writes a second the lock allows on any number of cores, at this hold per write:
        every write holds it in turn, so it cannot be held more than all the time."""
        return self.rps / self.lock_held if self.lock_held else math.inf


def _lock_samples(url: str, stop: threading.Event, found: list[tuple[float, float]]) -> None:
    """Sample PostgreSQL until ``stop``: the shares of samples in which a backend of ``url``'s
    database waited for an advisory lock (the server's write lock), and in which one held it."""
    import psycopg

    samples = waiting = held = 0
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        while not stop.is_set():
            row = conn.execute(
                "SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = "
                "current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'), "
                "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                "database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
            ).fetchone()
            samples += 1
            waiting += bool(row and row[0])
            held += bool(row and row[1])
            time.sleep(0.002)
    found.append((waiting / max(samples, 1), held / max(samples, 1)))


def measured_writes(url: str, bases: list[str], pids: list[int], seconds: float,
                    keyed: bool = False) -> Writes:
    """:func:`post_load` on ``bases`` at once, 16 connections shared among them."""
    stop, locks = threading.Event(), list[tuple[float, float]]()
    sampler = threading.Thread(target=_lock_samples, args=(url, stop, locks))
    trees = [p for pid in pids for p in process_tree(pid)]
    server, database, machine = (sum(map(process_ticks, trees)), postgres_ticks(),
                                 machine_ticks())
    began = time.perf_counter()
    sampler.start()
    with concurrent.futures.ThreadPoolExecutor(len(bases)) as pool:
        loads = list(pool.map(
            lambda b: post_load(b, seconds, CONNECTIONS // len(bases), keyed), bases))
    stop.set()
    sampler.join()
    took = time.perf_counter() - began
    rps = sum(load.rps for load in loads)
    written = max(1.0, rps * max(1, round(seconds)))

    def ms(ticks: int) -> float:
        return ticks * 1000 / TICKS / written

    return Writes(rps, ms(sum(map(process_ticks, trees)) - server),
                  ms(postgres_ticks() - database), ms(machine_ticks() - machine),
                  (machine_ticks() - machine) / TICKS / took, *locks[0],
                  sum(load.errors for load in loads))


def writes_of(url: str, work: Path, seconds: float, baseline: Path | None,
              repeat: int, keyed: bool = False) -> None:
    """One process's writes and two processes' on the store at ``url``, for each version in
    turn (the baseline first), ``repeat`` times; the medians. With ``keyed``, every create
    carries an Idempotency-Key."""
    tokens, log = tokens_file(work), work / "server-writes.log"
    print(f"PostgreSQL settings: {_pg_settings(url)}; the store takes {_store_size(url)}",
          flush=True)
    versions = ([("baseline", baseline)] if baseline else []) + [("this version", ROOT)]
    runs: dict[tuple[str, int], list[Writes]] = {}
    for n in range(repeat):
        for label, root in versions:
            revision_for(url, root)
            with (server(url, tokens, log, root=root) as (first, one),
                  server(url, tokens, log, root=root) as (second, two)):
                for base in (first, second):
                    post_load(base, 1, CONNECTIONS // 2)  # warm: plans, caches, pools
                for count, bases in ((1, [first]), (2, [first, second])):
                    w = measured_writes(url, bases, [one.pid, two.pid], seconds, keyed)
                    runs.setdefault((label, count), []).append(w)
                    print(f"  run {n + 1}, {label}, {count} process(es): {w.rps:,.0f}/s, "
                          f"{w.busy:.2f} cores busy, write lock waited in "
                          f"{w.lock_waits:.1%} of samples and held in {w.lock_held:.1%} "
                          f"(at most {w.bound:,.0f}/s on any number of cores), {w.errors} "
                          "errors", flush=True)
    print(f"\nPOST /issues{' with an Idempotency-Key each' if keyed else ''}, {CONNECTIONS} "
          f"connections (two processes: half each), medians of {repeat}; processor ms a "
          "write: server / PostgreSQL / machine", flush=True)
    print("| version | processes | writes/s | two ÷ one | ms a write | cores busy | "
          "lock waits | lock held | at most, any cores |\n|---|---|---|---|---|---|---|---|---|")
    for label, _ in versions:
        one_rps = statistics.median(w.rps for w in runs[label, 1])
        for count in (1, 2):
            ws = runs[label, count]

            def med(field: str, ws: list[Writes] = ws) -> float:
                return statistics.median(getattr(w, field) for w in ws)

            ratio = f"{med('rps') / one_rps:.2f}×" if count == 2 else ""
            print(f"| {label} | {count} | {med('rps'):,.0f} | {ratio} | "
                  f"{med('server_ms'):.2f} / {med('database_ms'):.2f} / "
                  f"{med('machine_ms'):.2f} | {med('busy'):.2f} | {med('lock_waits'):.1%} | "
                  f"{med('lock_held'):.1%} | {statistics.median(w.bound for w in ws):,.0f}/s |",
                  flush=True)


class _DiskLow(Exception):
    """The disk is nearly full: the mirror stops before the database cannot write."""


def _store_size(url: str) -> str:
    if url.startswith("sqlite"):
        size = Path(url.removeprefix("sqlite:///")).stat().st_size
    else:
        engine = create_engine(url)
        with engine.connect() as conn:
            query = text("SELECT pg_database_size(current_database())")
            size = int(conn.execute(query).scalar_one())
        engine.dispose()
    return f"{size / 2**30:,.1f} GiB"


#: the PostgreSQL settings the deployment guide advises on, printed with the figures
PG_SETTINGS = ("shared_buffers", "effective_cache_size", "max_wal_size", "random_page_cost",
               "synchronous_commit")


def _pg_settings(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        shown = [f"{name} {conn.execute(text(f'SHOW {name}')).scalar_one()}"
                 for name in PG_SETTINGS]
    engine.dispose()
    return ", ".join(shown)


def mirror_rate(base: str, url: str, work: Path, label: str) -> tuple[float, int, bool]:
    """Events a second reading the whole feed into an empty store, how many events, and
    whether it stopped early because the disk had less than ``MIN_FREE`` left."""
    from reference_server.mirror import mirror
    from reference_server.storage import Store

    if url.startswith("postgresql"):
        ctx: Any = pg_database(f"scale_mirror_{uuid.uuid4().hex[:8]}")
    else:
        ctx = contextlib.nullcontext(f"sqlite:///{work / f'mirror-{uuid.uuid4().hex}.sqlite3'}")

    def room(request: httpx.Request) -> None:
        if shutil.disk_usage(work).free < MIN_FREE:
            raise _DiskLow

    with ctx as target_url, httpx.Client(base_url=base, timeout=60.0,
                                         event_hooks={"request": [room]}) as client:
        target = Store(target_url)
        target.migrate()
        began = time.perf_counter()
        try:
            events, stopped = mirror(base, READER, target, limit=500, client=client).events, False
        except _DiskLow:
            with target.read() as tx:
                events, stopped = tx.last_event(), True
        took = time.perf_counter() - began
        target.dispose()
    return events / took, events, stopped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--issues", type=int, default=3_000_000)
    parser.add_argument("--sqlite-residents", type=int, default=100_000)
    parser.add_argument("--sqlite-issues", type=int, default=300_000)
    parser.add_argument("--seconds", type=float, default=2.0, help="per measure (2)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--workdir", type=Path, help="where the generated files go")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes serving the reads and lists (1; the write "
                             "comparison always starts one process, then two)")
    parser.add_argument("--lists-of", metavar="DATABASE_URL",
                        help="only the list operations, on a city imported before into "
                             "DATABASE_URL (nothing is generated or imported there; the server "
                             "migrates it when it starts), beside a small town imported afresh")
    parser.add_argument("--reader", choices=sorted(READERS), default="system",
                        help="with --lists-of: who reads the lists (system: records as "
                             "stored; regulator: redacted, served again from memory)")
    parser.add_argument("--writes-of", metavar="DATABASE_URL",
                        help="only the writes of one server process and of two, on a "
                             "PostgreSQL store imported before (they add issues to it)")
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                        help="with --lists-of or --writes-of: an earlier version unpacked "
                             "there (git archive <commit> | tar -x -C CHECKOUT), measured in "
                             "turn")
    parser.add_argument("--keyed", action="store_true",
                        help="with --writes-of: every create carries an Idempotency-Key")
    parser.add_argument("--repeat", type=int, default=3,
                        help="with --writes-of: runs of each version, alternating (3)")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="scale-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"scale_bench: {usable_cpus()} cores; files in {work}", flush=True)
    if args.lists_of:
        lists_of(args.lists_of, work, args.seconds, args.workers, args.baseline, args.reader)
        args.no_postgres = args.no_sqlite = True
    if args.writes_of:
        writes_of(args.writes_of, work, args.seconds, args.baseline, args.repeat, args.keyed)
        args.no_postgres = args.no_sqlite = True
    if not args.no_postgres:
        with pg_database("scale_bench_city") as url, pg_database("scale_bench_small") as small:
            bench_backend("postgresql", url, small, Scale(args.residents, args.issues),
                          work, args.seconds, processes=True, workers=args.workers)
    if not args.no_sqlite:
        bench_backend("sqlite", f"sqlite:///{work / 'city.sqlite3'}",
                      f"sqlite:///{work / 'small.sqlite3'}",
                      Scale(args.sqlite_residents, args.sqlite_issues), work, args.seconds,
                      processes=False, workers=args.workers)
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
