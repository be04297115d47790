"""``smartcommunity serve --workers N``: each worker listens on a socket of its own, so that the
kernel spreads connections over them; a port already taken is refused; a dead worker is
replaced. And the event loop the server runs on."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reference_server.workers import LOOP, listeners
from smartcommunity.cli import _serve

from .helpers import MIRROR, PROCESS_ENV, ROOT, free_port, processes, throwaway_pg, tokens_file

pytestmark = pytest.mark.slow

#: keep-alive connections opened at once, as a load balancer's pool or a mirror's
CONNECTIONS = 16


def _command(port: int, url: str, tmp: Path, workers: int = 2) -> list[str]:
    return [sys.executable, "-m", "smartcommunity.cli", "serve", "--port", str(port),
            "--database-url", url, "--tokens", str(tokens_file(tmp)), "--no-access-log",
            "--workers", str(workers)]


def _until(condition: Any, what: str, timeout: float = 120.0) -> None:
    """Wait for ``condition()``; the bound only stops a server that never gets there."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        time.sleep(0.1)


@contextlib.contextmanager
def workers(tmp: Path, url: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``serve --workers 2`` on a free port, both workers listening; its port and process."""
    with processes(tmp, [lambda port: _command(port, url, tmp)]) as [(base, proc)]:
        port = int(base.rsplit(":", 1)[1])
        _until(lambda: listeners(port) == 2, "two workers listening")
        yield port, proc


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True,
                           check=False).stdout.split()
    return [int(p) for p in found]


def _connections_held(pid: int, port: int) -> int:
    """How many established connections to ``port`` process ``pid`` holds (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    held = 0
    for line in Path("/proc/net/tcp").read_text(encoding="ascii").splitlines()[1:]:
        fields = line.split()
        # state 01 is ESTABLISHED; the inode is the tenth field
        if (fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port
                and fields[9] in inodes):
            held += 1
    return held


@pytest.fixture()
def pg() -> Iterator[str]:
    with throwaway_pg("sc_workers") as url:
        yield url


def test_connections_opened_together_reach_every_worker(tmp_path: Path, pg: str) -> None:
    """Two listening sockets, and 16 keep-alive connections opened at once spread over both
    workers: with one shared socket, the first worker to wake took them all."""
    with workers(tmp_path, pg) as (port, proc):
        assert listeners(port) == 2
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=MIRROR)
                   for _ in range(CONNECTIONS)]
        try:
            for client in clients:
                assert client.get("/issues?limit=1").status_code == 200
            held = {pid: _connections_held(pid, port) for pid in _children(proc.pid)}
            serving = [n for n in held.values() if n]
            assert sum(held.values()) == CONNECTIONS and len(serving) == 2, held
        finally:
            for client in clients:
                client.close()


def test_a_port_taken_is_refused_and_a_dead_worker_replaced(tmp_path: Path, pg: str) -> None:
    """A second server on the port (one worker or several) is refused with the reason, and
    the first one's connections stay its own; a worker killed with SIGKILL is started again."""
    with workers(tmp_path, pg) as (port, proc):
        for count in (2, 1):
            second = subprocess.run(_command(port, pg, tmp_path, count), cwd=ROOT,
                                    env=PROCESS_ENV, capture_output=True, text=True,
                                    timeout=120, check=False)
            assert second.returncode != 0
            assert "address already in use" in second.stderr.lower()
            assert listeners(port) == 2
        before = _children(proc.pid)
        os.kill(before[-1], signal.SIGKILL)
        _until(lambda: listeners(port) == 2 and set(_children(proc.pid)) != set(before),
               "a new worker listening")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=MIRROR) as client:
            assert client.get("/conformance").status_code == 200


def test_workers_that_cannot_start_stop_the_server_with_the_reason(tmp_path: Path) -> None:
    """A database no worker can reach fails every start the same way: the command stops with
    exit status 2 and the reason, rather than starting workers again for ever."""
    unreachable = "postgresql+psycopg://postgres@127.0.0.1:1/none"
    done = subprocess.run(_command(free_port(), unreachable, tmp_path), cwd=ROOT,
                          env=PROCESS_ENV, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 2
    assert "a worker could not start" in done.stderr and "Connection refused" in done.stderr


def test_the_server_runs_on_asyncios_loop(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    """``serve`` asks uvicorn for asyncio's loop: under a full queue uvloop served some large
    list pages four times later than the median (the performance page's figures)."""
    asked: dict[str, Any] = {}
    monkeypatch.setattr(_serve.uvicorn, "run", lambda *a, **kw: asked.update(kw))
    from smartcommunity.cli import run

    db = tmp_path / "loop.sqlite3"
    assert run(["serve", "--port", str(free_port()), "--database-url", f"sqlite:///{db}",
                "--no-demo"]) == 0
    assert asked["loop"] == LOOP == "asyncio"
