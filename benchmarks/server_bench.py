"""Benchmark of the reference server, against a bare FastAPI endpoint, on 127.0.0.1 only.

    .venv/bin/python benchmarks/server_bench.py [--seconds 10] [--bulk 100000] [--no-postgres]
    .venv/bin/python benchmarks/server_bench.py --install-wrk   # installs wrk first (apt-get)
    .venv/bin/python benchmarks/server_bench.py --callgrind 200  # instructions per request

Measures, with 16 concurrent connections driven by wrk: requests/s, p50 and p99 latency and
errors of POST /issues and GET /issues/{id}, for a bare FastAPI app (pydantic validation, a
dict for storage) and for the reference server (SQLite, one worker; PostgreSQL, two workers).
Then the bulk import of NDJSON-like issues in issues/s through the Store, and mirroring the
resulting change feed into an empty second store in events/s. Prints the figures and the
ratios to the targets.

A ratio is only as true as its load generator. Each run records the processor time of wrk
and of the server's processes; a ratio is printed only when wrk stayed below saturation and
the bare endpoint reached ``--floor`` requests/s. Otherwise the benchmark says what limited the
run instead of printing a ratio that measures the client. Without wrk it refuses (an asyncio
client in Python saturates near the throughput it would be measuring).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import re
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from timing import TICKS as _TICKS  # noqa: E402
from timing import callgrind_instructions, count_from_here, process_tree  # noqa: E402
from timing import machine_ticks as _machine_ticks  # noqa: E402
from timing import process_ticks as _process_ticks  # noqa: E402

from benchmarks.postgres import pg_available, pg_database  # noqa: E402
from reference_server.app import SETTINGS_ENV  # noqa: E402
from reference_server.demo import demo_tokens  # noqa: E402
from reference_server.workers import listeners  # noqa: E402
from smartcommunity import load_spec  # noqa: E402
from smartcommunity.cli import usable_cpus  # noqa: E402

TOKEN = "demo-staff-liu-fang"
MIRROR_TOKEN = "demo-system-mirror"
CONNECTIONS = 16
#: wrk threads: one, so that it leaves the other core to the server on a 2-core machine
WRK_THREADS = 1
#: the share of its threads' cores above which the load generator counts as saturated
GENERATOR_SATURATED = 0.90
#: the share of a core per worker below which the server was not the busy side
SERVER_BUSY = 0.80
INSTALL_WRK = ["apt-get", "install", "-y", "wrk"]

BARE_APP = textwrap.dedent('''
    """A bare FastAPI endpoint: pydantic validates an issue-like body, a dict stores it."""
    from datetime import datetime
    from typing import Any, Literal

    from fastapi import FastAPI, HTTPException, Response
    from pydantic import BaseModel, ConfigDict, Field

    UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"

    class Actor(BaseModel):
        model_config = ConfigDict(extra="allow")
        role: str
        name: str | None = None

    class Event(BaseModel):
        model_config = ConfigDict(extra="allow")
        seq: int
        at: datetime
        action: str
        actor: Actor
        toStatus: str

    class Issue(BaseModel):
        model_config = ConfigDict(extra="allow")
        resourceType: Literal["Issue"]
        specVersion: Literal["1.0"]
        id: str = Field(pattern=UUID)
        requestType: str
        category: str
        title: str = Field(min_length=1, max_length=200)
        communityDivisionCode: str = Field(pattern=r"^[1-9][0-9]{11}$")
        intakeChannel: str
        submittedBy: Actor
        submittedAt: datetime
        reporterDisclosure: Literal["public", "anonymous", "confidential"]
        status: str
        history: list[Event]

    app = FastAPI()
    store: dict[str, bytes] = {}

    # FastAPI validates the body against the model; the answer is serialised by pydantic's
    # own (Rust) serialiser, the fastest way FastAPI offers.
    @app.post("/issues", status_code=201)
    async def create(issue: Issue) -> Response:
        doc = issue.model_dump_json().encode()
        store[issue.id] = doc
        return Response(doc, status_code=201, media_type="application/json")

    @app.get("/issues/{rid}")
    async def read(rid: str) -> Response:
        try:
            return Response(store[rid], media_type="application/json")
        except KeyError:
            raise HTTPException(404) from None
''')


@dataclass
class Load:
    rps: float
    p50: float  # milliseconds
    p99: float
    errors: int
    requests: int
    tool: str
    #: processor time over wall time during the run: of the load generator, of the server's
    #: processes, and of everything else on the machine, in cores
    generator_cpu: float = 0.0
    server_cpu: float = 0.0
    other_cpu: float = 0.0

    @property
    def generator_saturated(self) -> bool:
        return self.generator_cpu >= GENERATOR_SATURATED * WRK_THREADS


# -- processor time ------------------------------------------------------------------------

class CpuWatch:
    """Processor time of the server's process tree and of the whole machine over a run."""

    def __init__(self, server_pid: int | None) -> None:
        self.pids = process_tree(server_pid) if server_pid else []
        self._server = sum(map(_process_ticks, self.pids))
        self._machine = _machine_ticks()
        self._started = time.perf_counter()

    def stop(self, load: Load, generator_seconds: float) -> Load:
        wall = time.perf_counter() - self._started
        server = (sum(map(_process_ticks, self.pids)) - self._server) / _TICKS
        machine = (_machine_ticks() - self._machine) / _TICKS
        load.generator_cpu = generator_seconds / wall
        load.server_cpu = server / wall
        load.other_cpu = max(0.0, machine - server - generator_seconds) / wall
        return load


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def need_wrk(install: bool) -> None:
    """Refuse without wrk, or install it from the distribution's packages when asked to."""
    if shutil.which("wrk"):
        return
    command = " ".join(INSTALL_WRK)
    if not install:
        sys.exit("wrk is not installed. The HTTP figures need a load generator faster than the "
                 f"server it measures; install it with:\n    {command}\n"
                 "or run this benchmark with --install-wrk (Debian or Ubuntu, as root).")
    print(f"installing wrk: {command}")
    if subprocess.run(INSTALL_WRK, check=False).returncode != 0 or not shutil.which("wrk"):
        sys.exit(f"could not install wrk; run as root:\n    {command}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def issue_template() -> dict[str, Any]:
    spec = load_spec()
    doc = next(d for n, d in spec.examples() if n == "issue/fire-lane-submitted.json")
    doc = copy.deepcopy(doc)
    doc.pop("meta", None)
    doc.pop("externalRefs", None)
    # The actor is the credential (/req/core/actor-is-principal): the benchmark's staff token
    # records the issue.
    staff = demo_tokens()[TOKEN]
    actor = {k: staff[k] for k in ("role", "name", "userId", "organisation") if k in staff}
    doc["submittedBy"] = dict(actor)
    doc["history"] = [{**doc["history"][0], "actor": dict(actor)}]
    return doc


def new_issue(template: dict[str, Any], n: int = 0) -> dict[str, Any]:
    doc = copy.deepcopy(template)
    doc["id"] = str(uuid.uuid4())
    categories = ("public-safety.fire-hazard", "environment.garbage", "housing.lift",
                  "municipal.road", "elderly-care.home-service")
    doc["category"] = categories[n % len(categories)]
    return doc


@contextlib.contextmanager
def serve(command: list[str], env: dict[str, str], base: str, *, log: Path | None = None,
          start: float = 60, cwd: Path = ROOT, listening: int = 1
          ) -> Iterator[subprocess.Popen[bytes]]:
    """The server ``command`` starts in ``cwd``, once it answers at ``base`` and ``listening``
    sockets listen on its port (each worker of ``smartcommunity serve --workers`` has its own;
    a connection made before the last of them listens stays with the others), within ``start``
    seconds; stopped afterwards. Its standard error goes to ``log`` when given."""
    port = int(base.rsplit(":", 1)[1])
    proc = subprocess.Popen(command, cwd=cwd, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL,
                            stderr=log.open("ab") if log else subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + start
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command} did not start ({proc.returncode})"
                                   + (f"; see {log}" if log else ""))
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(base + "/conformance", timeout=1)
                if listening <= 1 or listeners(port) >= listening:
                    break
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def uvicorn(app: str, port: int, workers: int = 1, factory: bool = False) -> list[str]:
    out = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    return out + (["--factory"] if factory else [])


# -- load generators ---------------------------------------------------------------------

#: Seeds each thread of a wrk run apart: wrk's threads (and two runs started together) seeded
#: from the clock drew the same ids, and their creates collided (409) as errors of the server.
_LUA_SEEDS = textwrap.dedent('''
    local lanes = 0
    function setup(thread)
      lanes = lanes + 1
      thread:set("lane", lanes)
    end
    function init(args)
      math.randomseed(%d + lane * 7919)
    end
''')


def lua_seeded(script: str) -> str:
    """``script`` with its random numbers seeded apart from every other run and thread."""
    return _LUA_SEEDS % secrets.randbelow(2 ** 30) + script


_LUA_POST = textwrap.dedent('''
    local template = %s
    local hex = "0123456789abcdef"
    local function h(n)
      local t = {}
      for i = 1, n do local r = math.random(1, 16); t[i] = hex:sub(r, r) end
      return table.concat(t)
    end
    local variants = {"8", "9", "a", "b"}
    request = function()
      local id = h(8) .. "-" .. h(4) .. "-4" .. h(3) .. "-" .. variants[math.random(1, 4)]
                 .. h(3) .. "-" .. h(12)
      local body = template:gsub("__ID__", id)
      return wrk.format("POST", "/issues", {["Content-Type"] = "application/json",
                                            ["Authorization"] = "Bearer %s"}, body)
    end
''')

_LUA_GET = textwrap.dedent('''
    local ids = {%s}
    request = function()
      return wrk.format("GET", "/issues/" .. ids[math.random(1, #ids)],
                        {["Authorization"] = "Bearer %s"})
    end
''')


def wrk_run(base: str, script: str, seconds: int, tmp: Path,
            server_pid: int | None = None) -> Load:
    path = tmp / f"bench-{uuid.uuid4().hex}.lua"
    path.write_text(script, encoding="utf-8")
    watch = CpuWatch(server_pid)
    before = _children_cpu()
    out = subprocess.run(
        ["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s",
         str(path), base],
        capture_output=True, text=True, check=True).stdout
    generator = _children_cpu() - before
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"([0-9]+) requests in", out).group(1))  # type: ignore[union-attr]

    def pct(label: str) -> float:
        m = re.search(rf"\s{label}%\s+([0-9.]+)(us|ms|s)", out)
        assert m is not None, out
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = 0
    m = re.search(r"Non-2xx or 3xx responses: ([0-9]+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), "
                  r"timeout ([0-9]+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    return watch.stop(Load(rps, pct("50"), pct("99"), errors, total, "wrk"), generator)


def measure(base: str, template: dict[str, Any], ids: list[str], seconds: int,
            tmp: Path, server_pid: int | None) -> tuple[Load, Load]:
    """POST then GET load against ``base`` (wrk), with the processor time of each side."""
    body = json.dumps(template, ensure_ascii=False).replace(template["id"], "__ID__")
    post_script = lua_seeded(_LUA_POST % (_lua_string(body), TOKEN))
    get_script = lua_seeded(_LUA_GET % (", ".join(f'"{i}"' for i in ids), TOKEN))
    wrk_run(base, post_script, 2, tmp)  # warm up
    post = wrk_run(base, post_script, seconds, tmp, server_pid)
    get = wrk_run(base, get_script, seconds, tmp, server_pid)
    return post, get


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def seed_ids(base: str, template: dict[str, Any], n: int = 200) -> list[str]:
    ids = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        for i in range(n):
            doc = new_issue(template, i)
            resp = client.post("/issues", json=doc)
            resp.raise_for_status()
            ids.append(doc["id"])
    return ids


# -- bulk import and mirroring -----------------------------------------------------------

def bulk_and_mirror(url: str, target_url: str, count: int, template: dict[str, Any],
                    tmp: Path) -> tuple[float, float, int, Load]:
    """issues/s of ``smartcommunity import`` of an NDJSON file of ``count`` issues (each
    validated, stored with its change event), then events/s of mirroring the whole feed of a
    server over ``url`` into an empty store at ``target_url``, with the processor time of the
    mirroring client (``generator_cpu``) and of the server (``server_cpu``)."""
    import orjson

    from reference_server.mirror import mirror
    from reference_server.storage import Store
    from smartcommunity.cli import run

    source = tmp / f"issues-{uuid.uuid4().hex}.ndjson"
    with source.open("wb") as fh:
        for i in range(count):
            fh.write(orjson.dumps(new_issue(template, i)) + b"\n")
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        status = run(["import", str(source), "--database-url", url])
    import_rate = count / (time.perf_counter() - started)
    if status != 0:
        raise RuntimeError("the import failed")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {SETTINGS_ENV: json.dumps({"database_url": url, "demo": True})}
    target = Store(target_url)
    target.migrate()
    with serve(uvicorn("reference_server.app:app_from_env", port, factory=True), env,
               base) as server:
        watch = CpuWatch(server.pid)
        started, own = time.perf_counter(), time.process_time()
        result = mirror(base, MIRROR_TOKEN, target, limit=500)
        mirror_rate = result.events / (time.perf_counter() - started)
        # The mirroring client is this process: whichever side was saturated set the rate.
        sides = watch.stop(Load(mirror_rate, 0, 0, 0, result.events, "mirror"),
                           time.process_time() - own)
    target.dispose()
    return import_rate, mirror_rate, result.events, sides


# -- databases -----------------------------------------------------------------------------

# -- instruction counts ----------------------------------------------------------------------

def _asgi_request(app: Any, method: str, path: str, body: bytes = b"") -> Any:
    """One request straight into an ASGI app (no socket, no HTTP parser): its status."""
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {TOKEN}".encode()),
               (b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 9), "server": ("127.0.0.1", 80)}
    received = False
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    async def run() -> int:
        await app(scope, receive, send)
        return status[0]

    return run()


def _callgrind_child(which: str, method: str, calls: int, prepared: int) -> None:
    """Build the app, warm it up, turn valgrind's instrumentation on, make ``calls`` requests:
    only the requests are counted, and the parent subtracts a run making none."""
    import asyncio

    template = issue_template()
    tmp = Path(tempfile.mkdtemp(prefix="sc-bench-cg-"))
    try:
        if which == "bare":
            (tmp / "bare_app.py").write_text(BARE_APP, encoding="utf-8")
            sys.path.insert(0, str(tmp))
            from bare_app import app  # type: ignore[import-not-found]
        else:
            from reference_server.app import create_app
            from reference_server.settings import Settings

            app = create_app(Settings(database_url=f"sqlite:///{tmp / 'cg.sqlite3'}",
                                      demo=True))
        docs = [new_issue(template, i) for i in range(prepared + 20)]
        bodies = [json.dumps(d, ensure_ascii=False).encode() for d in docs]

        async def main() -> None:
            for body in bodies[prepared:]:  # warm up; these are what GET reads
                assert await _asgi_request(app, "POST", "/issues", body) == 201
            ids = [d["id"] for d in docs[prepared:]]
            count_from_here()
            for i in range(calls):
                if method == "POST":
                    status = await _asgi_request(app, "POST", "/issues", bodies[i])
                else:
                    status = await _asgi_request(app, "GET", f"/issues/{ids[i % len(ids)]}")
                assert status in (200, 201), status

        asyncio.run(main())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _instructions(which: str, method: str, calls: int, prepared: int, tmp: Path) -> int:
    return callgrind_instructions(
        [__file__, "--callgrind-child", which, method, str(calls), str(prepared)],
        tmp / f"callgrind-{which}-{method}-{calls}.out")


def callgrind(calls: int) -> int:
    """Instructions per request, in process, of the bare endpoint and the reference server."""
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed; on Debian or Ubuntu: apt-get install -y valgrind")
    print(f"Instructions per request inside the ASGI app (no socket, no HTTP parser, no wait "
          f"for the disk), callgrind, {calls} requests, PYTHONHASHSEED=0")
    counts: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for which in ("bare", "server"):
            for method in ("POST", "GET"):
                base = _instructions(which, method, 0, calls, Path(tmp))
                total = _instructions(which, method, calls, calls, Path(tmp))
                counts[which, method] = (total - base) / calls
                name = "bare FastAPI" if which == "bare" else "reference server (SQLite)"
                print(f"  {name:<27} {method:<5} {counts[which, method]:>12,.0f} instructions")
    for method in ("POST", "GET"):
        print(f"  {method} bare/server instructions: "
              f"{counts['bare', method] / counts['server', method]:.1%} (below the throughput "
              "ratio it suggests: the work uvicorn adds to every request is the same for both)")
    return 0


# -- report --------------------------------------------------------------------------------

def row(name: str, load: Load) -> str:
    return (f"  {name:<34} {load.rps:>9,.0f} req/s   p50 {load.p50:6.2f} ms   "
            f"p99 {load.p99:6.2f} ms   errors {load.errors}/{load.requests}   "
            f"CPU wrk {load.generator_cpu:4.0%} server {load.server_cpu:4.0%} "
            f"other {load.other_cpu:4.0%}")


def verdict(ok: bool) -> str:
    return "✓" if ok else "✗"


def bottleneck(bare: Load, server: Load, floor: float, workers: int = 1) -> str | None:
    """Why the ratio of ``server`` to ``bare`` would not measure the server, or None.

    The ratio compares two servers only when each run was limited by its server: wrk below
    saturation in both, and the bare endpoint above the floor a working generator reaches.
    """
    for name, load in (("bare endpoint", bare), ("reference server", server)):
        if load.generator_saturated:
            return (f"the load generator was the bottleneck: wrk used {load.generator_cpu:.0%} "
                    f"of {WRK_THREADS} core(s) in the {name} run")
    if bare.rps < floor:
        return (f"the bare endpoint reached only {bare.rps:,.0f} req/s, below the floor of "
                f"{floor:,.0f}: the load generator or the machine is the bottleneck, not the "
                "servers being compared")
    return None


def compare(label: str, bare: Load, server: Load, target: float, floor: float) -> None:
    """Print the ratio, or why there is none; note when the server was not the busy side."""
    reason = bottleneck(bare, server, floor)
    if reason is not None:
        print(f"  {label} ratio not reported: {reason}")
        return
    ratio = server.rps / bare.rps
    print(f"  {label} ratio {ratio:6.1%}  (target ≥ {target:.0%}) {verdict(ratio >= target)}")
    for name, load in (("bare endpoint", bare), ("reference server", server)):
        if load.server_cpu < SERVER_BUSY:
            print(f"    note: the {name} used {load.server_cpu:.0%} of a core; other processes "
                  f"used {load.other_cpu:.0%} of the machine's cores: the ratio is noisier")


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--callgrind-child":
        _callgrind_child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each load run")
    parser.add_argument("--bulk", type=int, default=100_000, help="issues to import and mirror")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL runs")
    parser.add_argument("--floor", type=float, default=2000,
                        help="req/s the bare endpoint must reach for a ratio to be printed")
    parser.add_argument("--install-wrk", action="store_true",
                        help="install wrk with apt-get when it is missing")
    parser.add_argument("--callgrind", type=int, metavar="REQUESTS", default=0,
                        help="count instructions per request in process under valgrind "
                        "instead of driving load (stable on a busy machine)")
    args = parser.parse_args()
    if args.callgrind:
        return callgrind(args.callgrind)
    need_wrk(args.install_wrk)
    template = issue_template()
    tmp = Path(tempfile.mkdtemp(prefix="sc-bench-"))
    print(f"Load: wrk, {WRK_THREADS} thread, {CONNECTIONS} connections, {args.seconds} s per "
          f"run; all on 127.0.0.1; load average {os.getloadavg()[0]:.1f} on "
          f"{usable_cpus()} cores")
    try:
        # Bare FastAPI endpoint
        (tmp / "bare_app.py").write_text(BARE_APP, encoding="utf-8")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {"PYTHONPATH": str(tmp)}
        with serve(uvicorn("bare_app:app", port), env, base) as server:
            ids = []
            with httpx.Client(base_url=base) as c:
                for i in range(200):
                    doc = new_issue(template, i)
                    c.post("/issues", json=doc).raise_for_status()
                    ids.append(doc["id"])
            bare_post, bare_get = measure(base, template, ids, args.seconds, tmp, server.pid)

        # Reference server on SQLite, one worker
        url = f"sqlite:///{tmp / 'server.sqlite3'}"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {SETTINGS_ENV: json.dumps({"database_url": url, "demo": True})}
        with serve(uvicorn("reference_server.app:app_from_env", port, factory=True), env,
                   base) as server:
            ids = seed_ids(base, template)
            sqlite_post, sqlite_get = measure(base, template, ids, args.seconds, tmp,
                                              server.pid)

        pg_post = pg_get = None
        if not args.no_postgres and pg_available():
            with pg_database("sc_bench_load") as pg_url:
                port = free_port()
                base = f"http://127.0.0.1:{port}"
                env = {SETTINGS_ENV: json.dumps({"database_url": pg_url, "demo": True})}
                command = uvicorn("reference_server.app:app_from_env", port, workers=2,
                                  factory=True)
                with serve(command, env, base) as server:
                    ids = seed_ids(base, template)
                    pg_post, pg_get = measure(base, template, ids, args.seconds, tmp,
                                              server.pid)

        print(f"\nHTTP ({CONNECTIONS} connections; CPU: cores used by wrk, by the server's "
              "processes and by everything else)")
        print(row("bare FastAPI  POST /issues", bare_post))
        print(row("bare FastAPI  GET /issues/{id}", bare_get))
        print(row("SQLite, 1 worker  POST /issues", sqlite_post))
        print(row("SQLite, 1 worker  GET /issues/{id}", sqlite_get))
        if pg_post and pg_get:
            print(row("PostgreSQL, 2 workers  POST", pg_post))
            print(row("PostgreSQL, 2 workers  GET", pg_get))
        print()
        compare("POST", bare_post, sqlite_post, 0.5, args.floor)
        compare("GET ", bare_get, sqlite_get, 0.7, args.floor)
        if sqlite_post.generator_saturated or sqlite_get.generator_saturated:
            print("  p99        not reported: the load generator was saturated")
        else:
            worst = max(sqlite_post.p99, sqlite_get.p99)
            print(f"  p99        {worst:6.2f} ms (target ≤ 30 ms) {verdict(worst <= 30)}")

        print(f"\nBulk import and mirroring of {args.bulk:,} issues")
        url = f"sqlite:///{tmp / 'bulk.sqlite3'}"
        target = f"sqlite:///{tmp / 'mirror.sqlite3'}"
        imported, mirrored, events, sides = bulk_and_mirror(url, target, args.bulk, template,
                                                            tmp)
        print(f"  SQLite      import {imported:>9,.0f} issues/s (target ≥ 5,000) "
              f"{verdict(imported >= 5000)}   mirror {mirrored:>9,.0f} events/s "
              f"({events:,} events; target ≥ 5,000) {verdict(mirrored >= 5000)}")
        print(mirror_sides(sides))
        if not args.no_postgres and pg_available():
            with pg_database("sc_bench_bulk") as pg_url, pg_database("sc_bench_mirror") as pg_t:
                imported, mirrored, events, sides = bulk_and_mirror(pg_url, pg_t, args.bulk,
                                                                    template, tmp)
            print(f"  PostgreSQL  import {imported:>9,.0f} issues/s                    "
                  f"mirror {mirrored:>9,.0f} events/s ({events:,} events)")
            print(mirror_sides(sides))
        print(f"\n  Single runs on {usable_cpus()} cores, python {sys.version.split()[0]}; "
              "the load generator shares the machine.")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def mirror_sides(sides: Load) -> str:
    """Which side limited the mirroring: the client that stores the events, or the server."""
    side = ("the mirroring client (it validates and stores every event)"
            if sides.generator_cpu >= GENERATOR_SATURATED and sides.server_cpu < SERVER_BUSY
            else "the server" if sides.server_cpu >= SERVER_BUSY
            else f"the machine (other processes used {sides.other_cpu:.0%} of its cores)")
    return (f"              mirroring CPU: client {sides.generator_cpu:.0%}, server "
            f"{sides.server_cpu:.0%}, other {sides.other_cpu:.0%}; limited by {side}")


if __name__ == "__main__":
    raise SystemExit(main())
