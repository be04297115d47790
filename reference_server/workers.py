"""How ``smartcommunity serve`` runs the application: its event loop, and ``--workers N``.

**The loop.** Under a full queue uvloop read some connections' requests rounds late: a list
page that serves 50 documents (about 200 KB) waited up to four times as long at the 99th
percentile as at the median (16 connections, one process), while asyncio's own loop takes the
connections in turn and serves as many pages a second. The tail is what a city's readers
feel, so the server runs on asyncio's loop (the performance page has the figures).

**Worker processes.** Processes that share one listening socket do not share its connections:
the first to wake accepts every connection waiting, so a pool of keep-alive connections (a load
balancer's, a department's mirror) can land whole on one process while the others idle. Each
worker here listens on a socket of its own, bound with ``SO_REUSEPORT``, and the kernel spreads
new connections over them. Where the option is missing, uvicorn's shared socket is used.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import uvicorn

__all__ = ["LOOP", "STARTUP_FAILURE", "listeners", "listening_socket", "run_workers"]

#: the event loop the server runs on (see above)
LOOP = "asyncio"
#: the exit code uvicorn gives when a server cannot start (port taken, app failing at start)
STARTUP_FAILURE = 3
#: how often the supervisor looks for a worker that died, in seconds
_WATCH = 0.5

_spawn = multiprocessing.get_context("spawn")


def listening_socket(host: str, port: int, *, shared: bool = True) -> socket.socket:
    """A TCP socket bound to ``host:port``; ``shared``: with ``SO_REUSEPORT``, so that the
    other workers' sockets bind the same port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # The protocol named, not left 0: asyncio sets TCP_NODELAY only on sockets that say they
    # are TCP, and without it a small answer written in two parts waits for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if shared:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def listeners(port: int) -> int:
    """How many sockets of this machine listen on TCP ``port`` (Linux: ``/proc/net``); 0 where
    that cannot be read.

    A worker listens once it has started; a connection made before then stays with the
    workers already listening, so whoever loads the server waits for all of them.
    """
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            # local address "ADDR:PORT" in hexadecimal; state 0A is LISTEN
            fields = line.split()
            if (len(fields) > 3 and fields[3] == "0A"
                    and int(fields[1].rsplit(":", 1)[1], 16) == port):
                count += 1
    return count


def _worker(app: str, options: dict[str, Any]) -> None:
    """One worker process: its own socket, one uvicorn server on it."""
    config = uvicorn.Config(app, factory=True, loop=LOOP, **options)
    try:
        sock = listening_socket(config.host, config.port)
    except OSError as exc:
        print(f"cannot listen on {config.host}:{config.port}: {exc.strerror}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)
    try:
        config.load()  # the application: a database it cannot reach fails here, every time
    except (Exception, SystemExit) as exc:
        print(f"a worker could not start: {exc}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def run_workers(app: str, workers: int, host: str, port: int, **options: Any) -> int:
    """Serve the application factory ``app`` ("module:function") from ``workers`` processes
    until SIGINT or SIGTERM; the exit code.

    A worker that dies is started again; one that cannot start stops them all, since the next
    would fail the same way.
    """
    options.update(host=host, port=port)
    if not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(app, factory=True, loop=LOOP, workers=workers, **options)
        return 0
    # A port held by anything, another server's workers included, fails here: bound without
    # SO_REUSEPORT first, since with it a second server of the same user would join this
    # one's sockets and take half its connections to its own database.
    listening_socket(host, port, shared=False).close()
    # Held, never listening, so that no other program takes the port between two workers'
    # starts.
    reserved = listening_socket(host, port)
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    processes = [_start(app, options) for _ in range(workers)]
    failed = False
    try:
        while not stopping:
            time.sleep(_WATCH)
            for n, process in enumerate(processes):
                if process.is_alive() or stopping:
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    stopping = failed = True
                    break
                processes[n] = _start(app, options)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests it has begun
        for process in processes:
            process.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        reserved.close()
    return STARTUP_FAILURE if failed else 0


def _start(app: str, options: dict[str, Any]) -> Any:
    process = _spawn.Process(target=_worker, args=(app, options), daemon=False)
    process.start()
    return process
