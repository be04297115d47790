"""The server as a real process on 127.0.0.1: durability under kill -9, two workers on
PostgreSQL, the ``smartcommunity serve`` command, and schemathesis over /openapi.json."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reference_server.app import SETTINGS_ENV
from reference_server.landing import API_DESCRIPTION
from smartcommunity.specification import load_spec

from .helpers import (
    PROCESS_ENV,
    STAFF,
    actor_of,
    as_creator,
    feed,
    free_port,
    killed_under_load,
    processes,
    submitted_issue,
    throwaway_pg,
    tokens_file,
    wait_healthy,
)

# Every test here starts server processes.
pytestmark = pytest.mark.slow

#: every operation of the API the server serves: (path, method) of the OpenAPI
OPERATIONS = [(path, method) for path, item in load_spec().openapi["paths"].items()
              for method, operation in item.items()
              if isinstance(operation, dict) and "operationId" in operation]


@contextlib.contextmanager
def running(tmp: Path, url: str, *,
            workers: int = 1) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """uvicorn with the app factory on a free port; yields the base URL and the process."""
    env = {**PROCESS_ENV, SETTINGS_ENV: json.dumps(
        {"database_url": url, "tokens_file": str(tokens_file(tmp)), "demo": True})}

    def uvicorn(port: int) -> list[str]:
        return [sys.executable, "-m", "uvicorn", "reference_server.app:app_from_env",
                "--factory", "--host", "127.0.0.1", "--port", str(port), "--workers",
                str(workers), "--log-level", "warning"]

    with processes(tmp, [uvicorn], env) as [(base, proc)]:
        yield base, proc


def test_real_http_and_concurrent_writers(tmp_path: Path) -> None:
    """Over real sockets: create, read, and two concurrent writers with one ETag."""
    with (running(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}") as (base, _),
          httpx.Client(base_url=base, headers=STAFF) as client):
        doc = as_creator(submitted_issue(), actor_of("demo-staff-liu-fang"))
        created = client.post("/issues", json=doc)
        assert created.status_code == 201
        assert client.get(f"/issues/{doc['id']}").json() == created.json()
        statuses: list[int] = []
        barrier = threading.Barrier(4)

        def writer(n: int) -> None:
            body = {**created.json(), "title": f"并发写入 {n}"}
            barrier.wait()
            with httpx.Client(base_url=base, headers=STAFF) as own:
                statuses.append(own.put(f"/issues/{doc['id']}", json=body,
                                        headers={"If-Match": '"1"'}).status_code)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses) == [200, 412, 412, 412]
        assert client.get(f"/issues/{doc['id']}").headers["etag"] == '"2"'


#: acknowledged creates to collect before the kill: enough that several group-commit batches
#: are durable and more are in flight
ACKNOWLEDGED = 150


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    """Every 201 the server sent is on disk after SIGKILL mid-load (synchronous=FULL)."""
    url = f"sqlite:///{tmp_path / 'durable.sqlite3'}"
    with running(tmp_path, url) as (base, proc):
        written = killed_under_load(base, proc, ACKNOWLEDGED)
    assert len(written) >= ACKNOWLEDGED
    with running(tmp_path, url) as (base, _), httpx.Client(base_url=base, headers=STAFF) as c:
        missing = [i for i in written if c.get(f"/issues/{i}").status_code != 200]
        assert missing == []
        sequences = [int(e["sequence"]) for e in feed(base)]
        assert sequences == list(range(1, len(sequences) + 1))


def test_two_workers_on_postgresql(tmp_path: Path) -> None:
    """Two processes over one database: every write lands once, and the feed stays gap-free."""
    with throwaway_pg("sc_proc") as url, running(tmp_path, url, workers=2) as (base, _):
        ids: list[str] = []
        failures: list[int] = []

        def load() -> None:
            with httpx.Client(base_url=base, headers=STAFF, timeout=120) as client:
                for _ in range(15):
                    doc = as_creator(submitted_issue(), actor_of("demo-staff-liu-fang"))
                    resp = client.post("/issues", json=doc)
                    (ids if resp.status_code == 201 else failures).append(
                        doc["id"] if resp.status_code == 201 else resp.status_code)

        threads = [threading.Thread(target=load) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == [] and len(ids) == 120
        events = feed(base)
        sequences = [int(e["sequence"]) for e in events]
        assert sequences == list(range(1, len(sequences) + 1))
        created = [e["data"]["id"] for e in events if e["action"] == "create"]
        assert set(ids) <= set(created) and len(created) == len(set(created))


def test_serve_command(tmp_path: Path) -> None:
    """``smartcommunity serve`` prints where to go and the demo tokens; the demo is seeded once."""
    port = free_port()
    db = tmp_path / "demo.sqlite3"
    command = [sys.executable, "-c", "from smartcommunity.cli import main; main()", "serve",
               "--port", str(port), "--database-url", f"sqlite:///{db}"]
    base = f"http://127.0.0.1:{port}"
    counts = []
    for _ in range(2):  # the second start reuses the database
        out = tmp_path / "out.txt"
        proc = subprocess.Popen(command, cwd=tmp_path, stdout=out.open("wb"),
                                stderr=subprocess.STDOUT, env={**os.environ})
        try:
            wait_healthy(base, proc)
            counts.append(len(feed(base)))
        finally:
            proc.terminate()
            proc.wait(10)
        text_out = out.read_text(encoding="utf-8")
        assert f"{base}/" in text_out and f"{base}/docs" in text_out
        for token in ("demo-resident-wang-guiying", "demo-proxy-li-jianguo",
                      "demo-grid-worker-zhang-wei", "demo-staff-liu-fang",
                      "demo-dept-civil-affairs", "demo-dept-housing", "demo-regulator",
                      "demo-public", "demo-system-mirror", "demo-staff-hepingli"):
            assert token in text_out
    assert counts[0] == counts[1] > 0


@pytest.mark.timeout(900)  # a bound for a hung run, above the subprocess's own
def test_schemathesis(tmp_path: Path) -> None:
    """Generated requests against every operation of the served /openapi.json with all of
    schemathesis's checks: no server error, no response outside the schema, and every positive
    case (made a valid request by schemathesis_hooks) accepted; fixed seed, bounded examples."""
    report = tmp_path / "st"
    token = "demo-staff-liu-fang"
    with running(tmp_path, f"sqlite:///{tmp_path / 'st.sqlite3'}") as (base, _):
        result = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{base}{API_DESCRIPTION}",
             "--checks", "all",
             "--max-examples", "15", "--seed", "20251127", "--phases", "examples,fuzzing",
             # generation speed depends on the machine's load, never on the server: a
             # wall-clock health check would make the result depend on the load
             "--suppress-health-check", "too_slow",
             "--header", f"Authorization: Bearer {token}",
             "--report", "json", "--report-dir", str(report), "--no-color"],
            cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.server.schemathesis_hooks",
                 "SC_SCHEMATHESIS_TOKEN": token,
                 "PYTHONPATH": PROCESS_ENV["PYTHONPATH"]})
    reports = list(report.glob("*.json"))
    assert reports, result.stdout[-3000:] + result.stderr[-3000:]
    data = json.loads(reports[0].read_text())
    # Every operation but the one schemathesis read the schema from, which it leaves out.
    described = [op for op in OPERATIONS if op != (API_DESCRIPTION, "get")]
    assert data["operations"]["tested"] == data["operations"]["total"] == len(described)
    assert data["errors"] == [], result.stdout[-6000:]
    for failure in data["failures"]:
        # Schemathesis adds not: {pattern: "\n$"} to every pattern to mimic ECMA's $, which
        # also rejects RFC 6901 pointers to member names that end in a newline (a body with
        # such a member is refused, and the 422 points at it). Nothing else is tolerated.
        blocks = result.stdout.split("- ST")[1:]
        assert failure["code"] == "ST108", result.stdout[-6000:]
        assert blocks and all(b.startswith("108") and '{"pattern":"\\n$"} is not allowed' in b
                              for b in blocks), result.stdout[-6000:]
