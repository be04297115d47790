"""Several ``smartcommunity serve`` processes on one PostgreSQL database, as behind a load
balancer: the feed stays gap-free and in order while they all write, If-Match and
Idempotency-Key hold across processes, and a process killed with SIGKILL loses no write it
acknowledged."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .helpers import (
    MIRROR,
    STAFF,
    actor_of,
    as_creator,
    feed,
    killed_under_load,
    processes,
    submitted_issue,
    throwaway_pg,
    tokens_file,
)

pytestmark = pytest.mark.slow

PROCESSES = 3


@pytest.fixture()
def pg(tmp_path: Path) -> Iterator[str]:
    with throwaway_pg("sc_processes") as url:
        yield url


@contextlib.contextmanager
def serving(tmp: Path, url: str, count: int) -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    """``count`` ``smartcommunity serve`` processes on ``url``, started together."""
    tokens = tokens_file(tmp)

    def serve(port: int) -> list[str]:
        return [sys.executable, "-m", "smartcommunity.cli", "serve", "--port", str(port),
                "--database-url", url, "--tokens", str(tokens), "--no-access-log"]

    with processes(tmp, [serve] * count) as servers:
        yield servers


def _new_issue() -> dict[str, Any]:
    return as_creator(submitted_issue(), actor_of("demo-staff-liu-fang"))


def test_feed_gapless_and_ordered_under_writes_on_every_process(tmp_path: Path,
                                                                pg: str) -> None:
    with serving(tmp_path, pg, PROCESSES) as servers:
        bases = [b for b, _ in servers]
        created: list[str] = []
        failures: list[Any] = []
        seen: list[list[int]] = [[] for _ in bases]
        writing = threading.Event()
        writing.set()

        def write(n: int) -> None:
            with contextlib.ExitStack() as stack:
                clients = [stack.enter_context(httpx.Client(base_url=b, headers=STAFF,
                                                            timeout=60)) for b in bases]
                for i in range(20):
                    doc = _new_issue()
                    resp = clients[(n + i) % len(clients)].post("/issues", json=doc)
                    if resp.status_code == 201:
                        created.append(doc["id"])
                    else:
                        failures.append((resp.status_code, resp.text[:200]))

        def follow(k: int) -> None:
            # A mirror reading the feed from one process while all of them write: every
            # page continues exactly where the last one ended.
            cursor = None
            with httpx.Client(base_url=bases[k], headers=MIRROR, timeout=60) as client:
                while True:
                    done = not writing.is_set()
                    params: dict[str, Any] = {"limit": 50, **({"cursor": cursor} if cursor
                                                              else {})}
                    page = client.get("/changes", params=params).json()
                    seen[k] += [int(e["sequence"]) for e in page["items"]]
                    cursor = page["next"]
                    if done and not page["items"]:
                        return

        writers = [threading.Thread(target=write, args=(n,)) for n in range(6)]
        readers = [threading.Thread(target=follow, args=(k,)) for k in range(len(bases))]
        for t in [*readers, *writers]:
            t.start()
        for t in writers:
            t.join()
        writing.clear()
        for t in readers:
            t.join()
        assert failures == []
        assert len(created) == 120
        full = [int(e["sequence"]) for e in feed(bases[0])]
        assert full == list(range(1, len(full) + 1))
        for k, sequences in enumerate(seen):
            assert sequences == full, f"the mirror of process {k} saw a gap or a reordering"
        for base in bases[1:]:
            assert feed(base) == feed(bases[0])
        events = feed(bases[0])
        made = [e["data"]["id"] for e in events if e["action"] == "create"]
        assert set(created) <= set(made) and len(made) == len(set(made))


def test_if_match_and_idempotency_hold_across_processes(tmp_path: Path, pg: str) -> None:
    with serving(tmp_path, pg, PROCESSES) as servers:
        bases = [b for b, _ in servers]
        doc = _new_issue()
        with httpx.Client(base_url=bases[0], headers=STAFF, timeout=60) as client:
            first = client.post("/issues", json=doc)
            assert first.status_code == 201
        stored = first.json()

        def race(job: Any) -> list[httpx.Response]:
            barrier = threading.Barrier(len(bases) * 2)
            answers: list[httpx.Response] = []

            def one(base: str) -> None:
                with httpx.Client(base_url=base, headers=STAFF, timeout=60) as own:
                    barrier.wait()
                    answers.append(job(own))

            threads = [threading.Thread(target=one, args=(b,)) for b in bases * 2]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return answers

        # Six writers with the same ETag, two on each process: one wins, the rest get 412.
        puts = race(lambda c: c.put(f"/issues/{doc['id']}", headers={"If-Match": '"1"'},
                                    json={**stored, "title": f"改 {uuid.uuid4()}"}))
        assert sorted(r.status_code for r in puts) == [200] + [412] * 5
        winner = next(r for r in puts if r.status_code == 200).json()
        for base in bases:
            again = httpx.get(f"{base}/issues/{doc['id']}", headers=STAFF)
            assert again.headers["etag"] == '"2"' and again.json()["title"] == winner["title"]

        # Six creates with one Idempotency-Key: one resource, one 201, five replays of it.
        key = f"k-{uuid.uuid4()}"
        body = _new_issue()
        posts = race(lambda c: c.post("/issues", json=body, headers={"Idempotency-Key": key}))
        assert sorted(r.status_code for r in posts) == [200] * 5 + [201]
        assert {r.json()["id"] for r in posts} == {body["id"]}
        assert all(r.headers.get("idempotent-replayed") == "true"
                   for r in posts if r.status_code == 200)
        creates = [e for e in feed(bases[1]) if e["action"] == "create"
                   and e["data"]["id"] == body["id"]]
        assert len(creates) == 1


def test_a_killed_process_loses_no_acknowledged_write(tmp_path: Path, pg: str) -> None:
    with serving(tmp_path, pg, 2) as servers:
        (survivor, _), (victim, proc) = servers
        written = killed_under_load(victim, proc, 100)
        with httpx.Client(base_url=survivor, headers=STAFF, timeout=60) as client:
            missing = [i for i in written if client.get(f"/issues/{i}").status_code != 200]
            assert missing == []
            # The survivor goes on writing after the other's connections were cut.
            assert client.post("/issues", json=_new_issue()).status_code == 201
        sequences = [int(e["sequence"]) for e in feed(survivor)]
        assert sequences == list(range(1, len(sequences) + 1))
