"""Constants and helpers of the server tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from benchmarks.postgres import pg_available, pg_database
from reference_server.demo import demo_tokens
from smartcommunity import identifiers, load_spec

SPEC = load_spec()
EXAMPLES: dict[str, dict[str, Any]] = dict(SPEC.examples())
COMMUNITY = "110105001001"
OTHER = "110105001002"
WANG = "5f0c1e2a-6b8d-4c1e-9a3f-1d2e3f4a5b6c"
LI = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#: the city's shared pseudonym key the test servers hold
KEY = b"city-shared-key-for-tests"

_RC = {"id": "rc-xingfuli", "name": "幸福里社区居民委员会", "type": "residents-committee",
       "divisionCode": COMMUNITY}

#: the demo's principals plus the ones the lifecycle tests need (token → principal)
TOKENS: dict[str, dict[str, Any]] = {
    **demo_tokens(),
    "test-hotline-zhao-xue": {"role": "hotline-operator", "name": "赵雪", "userId": "op-0871",
                              "communities": [COMMUNITY],
                              "organisation": {"id": "hotline-12345",
                                               "name": "北京市12345市民服务热线",
                                               "type": "hotline-centre"}},
    "test-dept-urban-chen-lei": {"role": "department", "name": "陈磊", "userId": "cgw-0452",
                                 "communities": [COMMUNITY, OTHER],
                                 "organisation": {"id": "urban-management",
                                                  "name": "朝阳区城市管理委员会",
                                                  "type": "government-department"}},
    "test-supervisor-0001": {"role": "supervisor", "name": "督办员", "userId": "sv-0001",
                             "communities": [COMMUNITY]},
    "test-resident-chen": {"role": "resident", "name": "陈志强", "communities": [COMMUNITY],
                           "resident": "b22da02a-0000-4000-8000-000000000000"},
    "test-proxy-stranger": {"role": "proxy", "name": "路人甲", "communities": [COMMUNITY],
                            "resident": "00000000-0000-4000-8000-0000000000aa"},
    "test-system-local": {"role": "system", "name": "社区物联网", "userId": "iot-01",
                          "communities": [COMMUNITY]},
}
#: the token each role speaks with in the tests
ROLE_TOKEN = {
    "resident": "demo-resident-wang-guiying",
    "proxy": "demo-proxy-li-jianguo",
    "grid-worker": "demo-grid-worker-zhang-wei",
    "community-staff": "demo-staff-liu-fang",
    "hotline-operator": "test-hotline-zhao-xue",
    "department": "demo-dept-housing",
    "supervisor": "test-supervisor-0001",
    "regulator": "demo-regulator",
    "public": "demo-public",
    "system": "demo-system-mirror",
}


@contextlib.contextmanager
def throwaway_pg(prefix: str) -> Iterator[str]:
    """The URL of a fresh PostgreSQL database named for ``prefix`` and this worker, dropped
    afterwards; the test is skipped when no PostgreSQL answers."""
    if not pg_available():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    with pg_database(f"{prefix}_{worker()}_{os.getpid()}") as url:
        yield url


def worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


class Api:
    """A test client that speaks as a role: ``api.as_("community-staff").get(...)``."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def as_(self, who: str) -> Caller:
        token = ROLE_TOKEN.get(who, who)
        return Caller(self.client, token)

    @property
    def staff(self) -> Caller:
        return self.as_("community-staff")


class Caller:
    def __init__(self, client: TestClient, token: str | None,
                 fields: dict[str, Any] | None = None) -> None:
        self.client = client
        self.token = token
        self.fields = fields  # the principal of a token outside TOKENS

    def role(self) -> str:
        return str(TOKENS[self.token or ""]["role"])

    def _headers(self, headers: dict[str, str] | None, if_match: str | None) -> dict[str, str]:
        out = dict(headers or {})
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        if if_match is not None:
            out["If-Match"] = if_match
        return out

    def get(self, path: str, *, params: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> Any:
        return self.client.get(path, params=params, headers=self._headers(headers, None))

    def post(self, path: str, body: Any = None, *, if_match: str | None = None,
             headers: dict[str, str] | None = None) -> Any:
        return self.client.post(path, json=body, headers=self._headers(headers, if_match))

    def put(self, path: str, body: Any, *, if_match: str | None = None,
            headers: dict[str, str] | None = None) -> Any:
        return self.client.put(path, json=body, headers=self._headers(headers, if_match))

    def actor(self) -> dict[str, Any]:
        """This caller as the server records it (/req/core/actor-is-principal)."""
        return actor_of(self.token or "", self.fields)

    def create(self, doc: dict[str, Any], *, as_is: bool = False, **kw: Any) -> Any:
        """POST ``doc``; unless ``as_is``, its creating actor (and an issue's submittedBy)
        first become this caller, keeping onBehalfOf (the doc is changed in place)."""
        if not as_is:
            as_creator(doc, self.actor())
        return self.post("/" + PLURAL[doc["resourceType"]], doc, **kw)

    def act(self, rtype: str, rid: str, action: str, body: dict[str, Any] | None = None,
            etag: str | None = None) -> Any:
        path = f"/{PLURAL[rtype]}/{rid}"
        if etag is None:
            etag = self.client.get(path, headers=self._headers(None, None)).headers.get("etag")
        return self.post(f"{path}/actions/{action}", body or {}, if_match=etag)


PLURAL = SPEC.collections


def new_id() -> str:
    return str(uuid.uuid4())


def later(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).astimezone().isoformat(timespec="seconds")


def spelled(moment: datetime, utc: bool, upper_t: bool, upper_z: bool) -> str:
    """``moment`` in one of the spellings RFC 3339 allows: in UTC (``Z`` or ``z``) or at
    China Standard Time's offset, its date and time parted by ``T`` or ``t``."""
    zone = UTC if utc else timezone(timedelta(hours=8))
    text = moment.astimezone(zone).isoformat(timespec="seconds")
    if utc:
        text = text.replace("+00:00", "Z" if upper_z else "z")
    return text if upper_t else text.replace("T", "t")


def example(name: str) -> dict[str, Any]:
    """A copy of a spec example with a fresh id and no server meta.

    The test servers hold the city key KEY, so a pseudonym beside a full number is made
    with it (the examples' own were made with another key).
    """
    doc = copy.deepcopy(EXAMPLES[name])
    doc["id"] = new_id()
    doc.pop("meta", None)
    for document in doc.get("identityDocuments", ()):
        if "number" in document and "pseudonym" in document:
            document["pseudonym"] = identifiers.citizen_id_pseudonym(document["number"], KEY)
    return doc


def by_name_only(doc: dict[str, Any]) -> dict[str, Any]:
    """The consultation ``doc`` (changed in place) whose proposers name residents by name
    alone: an example's name residents the test servers do not hold, whom staff may not name
    (/req/consultations/proposers-in-reach)."""
    origin = doc.get("origin") or {}
    origin["proposers"] = [{k: v for k, v in p.items() if k not in ("resident", "onBehalfOf")}
                           for p in origin.get("proposers") or ()]
    return doc


def submitted_issue(**changes: Any) -> dict[str, Any]:
    """A new issue to submit, from the fire-lane example."""
    doc = example("issue/fire-lane-submitted.json")
    doc.pop("externalRefs", None)
    doc.update(changes)
    return doc


def actor_of(token: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The principal of ``token`` (or ``fields``) as the actor the server records."""
    fields = fields if fields is not None else TOKENS[token]
    out: dict[str, Any] = {"role": fields["role"], "name": fields["name"]}
    if fields.get("userId"):
        out["userId"] = fields["userId"]
    if fields.get("resident"):
        out["resident"] = {"resourceType": "Resident", "id": fields["resident"]}
    if fields.get("organisation"):
        out["organisation"] = dict(fields["organisation"])
    return out


def as_creator(doc: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
    """``doc`` (changed in place) created by ``actor``, on behalf of whom it named."""
    history = doc.get("history")
    if isinstance(history, list) and history and isinstance(history[0], dict):
        behalf = history[0].get("actor", {}).get("onBehalfOf")
        history[0]["actor"] = {**actor, **({"onBehalfOf": behalf} if behalf else {})}
    if isinstance(doc.get("submittedBy"), dict):
        behalf = doc["submittedBy"].get("onBehalfOf")
        doc["submittedBy"] = {**actor, **({"onBehalfOf": behalf} if behalf else {})}
    return doc


def stripped(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "meta"}


def tmp_sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db.sqlite3'}"


# -- servers as real processes on 127.0.0.1 ---------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
STAFF = {"Authorization": "Bearer demo-staff-liu-fang"}
MIRROR = {"Authorization": "Bearer demo-system-mirror"}
#: the environment a server process imports this tree's packages in
PROCESS_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tokens_file(tmp: Path) -> Path:
    """The test tokens as a tokens file: digests, since tokens this short are refused in
    clear."""
    tokens = tmp / "tokens.json"
    hashed = {"sha256:" + hashlib.sha256(t.encode()).hexdigest(): fields
              for t, fields in TOKENS.items()}
    tokens.write_text(json.dumps({"tokens": hashed}, ensure_ascii=False), encoding="utf-8")
    return tokens


def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    """Wait until the server answers; the bound only stops a server that never starts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/conformance", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("server did not become healthy")


@contextlib.contextmanager
def processes(tmp: Path, commands: list[Callable[[int], list[str]]],
              env: dict[str, str] | None = None,
              ) -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    """A server process for each command (given the free port it listens on), started together
    and healthy; yields their base URLs and processes, and stops them after."""
    servers: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for n, command in enumerate(commands):
            port = free_port()
            proc = subprocess.Popen(command(port), cwd=ROOT, env=env or PROCESS_ENV,
                                    stdout=subprocess.DEVNULL,
                                    stderr=(tmp / f"server-{n}.log").open("ab"))
            servers.append((f"http://127.0.0.1:{port}", proc))
        for base, proc in servers:
            wait_healthy(base, proc)
        yield servers
    finally:
        for _, proc in servers:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()


def feed(base: str) -> list[dict[str, Any]]:
    """Every event of the server's change feed, read as the mirror."""
    events: list[dict[str, Any]] = []
    cursor = None
    with httpx.Client(base_url=base, headers=MIRROR) as client:
        while True:
            params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            page = client.get("/changes", params=params).json()
            if not page["items"]:
                return events
            events += page["items"]
            cursor = page["next"]


def whole_feed(who: Any, cursor: str | None = None) -> list[dict[str, Any]]:
    """Every event of the change feed (after ``cursor``) as ``who`` (an :class:`Api`
    principal) is served it, page after page: the first page alone holds only the oldest
    events of a busy store."""
    events: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
    while True:
        page = who.get("/changes", params=params).json()
        if not page["items"]:
            return events
        events += page["items"]
        params = {"limit": 500, "cursor": page["next"]}


def killed_under_load(base: str, proc: subprocess.Popen[bytes], count: int) -> list[str]:
    """Four writers create issues on ``base`` until ``count`` are acknowledged, then the
    process is killed with SIGKILL while requests are in flight: the ids it acknowledged."""
    acknowledged: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def load() -> None:
        # Goes on writing past the count, so that requests are in flight at the kill.
        with httpx.Client(base_url=base, headers=STAFF, timeout=60) as client:
            while True:
                doc = as_creator(submitted_issue(), actor_of("demo-staff-liu-fang"))
                try:
                    resp = client.post("/issues", json=doc)
                except httpx.HTTPError:
                    return  # the server is gone
                if resp.status_code == 201:
                    with lock:
                        acknowledged.append(doc["id"])
                        if len(acknowledged) >= count:
                            enough.set()

    threads = [threading.Thread(target=load, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    # Waits for a count of writes, not for a time; the bound only stops a hung server.
    while not enough.wait(0.5):
        assert proc.poll() is None, "the server stopped under load"
        assert any(t.is_alive() for t in threads), "every writer gave up"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(60)
    for t in threads:
        t.join(60)
    with lock:
        return list(acknowledged)


@contextlib.contextmanager
def statements_run(target: Any = Engine, url: str | None = None
                   ) -> Iterator[list[tuple[str, Any]]]:
    """The statements ``target`` (an engine, or every engine; on the database of ``url``
    only, when given) runs one at a time meanwhile, each with its parameters, as the engine's
    events see them."""
    statements: list[tuple[str, Any]] = []
    wanted = None if url is None else make_url(url)

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
             executemany: bool) -> None:
        where = conn.engine.url
        if not executemany and (wanted is None or (
                where.get_backend_name(), where.host, where.port, where.database) == (
                wanted.get_backend_name(), wanted.host, wanted.port, wanted.database)):
            statements.append((statement, parameters))

    event.listen(target, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(target, "before_cursor_execute", seen)
