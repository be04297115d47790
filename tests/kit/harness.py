"""The reference server for the kit's own tests: uvicorn in a thread on a free 127.0.0.1
port. The application it serves can be swapped (a mutant wraps it) while it keeps running, so
one server serves every test."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import uvicorn

from reference_server import Settings
from reference_server.demo import demo_tokens
from smartcommunity.specification import DEFAULT_VERSION, spec_root


class Holder:
    """An ASGI application that forwards to whichever application it currently holds.

    It dates each answer as uvicorn would (``Date``, the server's clock), unless the
    application held dates it itself: a variant with a clock of its own says so."""

    def __init__(self, app: Any) -> None:
        self.base = app
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"date" for name, _ in headers):
                    headers.append((b"date", formatdate(usegmt=True).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, dated)


class Server:
    """The reference server in a thread; ``holder.app`` is what it serves."""

    def __init__(self, app: Any) -> None:
        self.holder = Holder(app)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.holder, log_level="warning", lifespan="off",
                                access_log=False, date_header=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run,
                                       kwargs={"sockets": [self.socket]}, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the reference server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()

    @property
    def app(self) -> Any:
        return self.holder.base

    def serve(self, app: Any) -> None:
        self.forget()
        self.holder.app = app

    def reset(self) -> None:
        self.forget()
        self.holder.app = self.holder.base

    def forget(self) -> None:
        """Drop the redacted records the server remembers: a variant's own are made by its
        rules, and those made before it would hide its defect."""
        self.holder.base.state.sc.service.access.presentations.clear()


@contextlib.contextmanager
def serving(app: Any) -> Iterator[Server]:
    """``app`` served on a free loopback port while the block runs; its store closed after."""
    running = Server(app)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        app.state.sc.service.store.dispose()


def demo_preset_data(community: str = "110105001001") -> dict[str, Any]:
    """A preset for the demo's tokens, read from the reference server's own token table."""
    principals: dict[str, Any] = {}
    for token, fields in demo_tokens().items():
        name = token.removeprefix("demo-")
        entry: dict[str, Any] = {"token": token, "role": fields["role"]}
        communities = fields["communities"]
        entry["communities"] = ["*"] if communities == "*" else list(communities)
        organisation = fields.get("organisation")
        if fields["role"] == "department" and isinstance(organisation, dict):
            entry["organisation"] = organisation["id"]
        if fields.get("resident"):
            entry["resident"] = fields["resident"]
        if fields.get("grids"):
            entry["grids"] = list(fields["grids"])
        principals[name] = entry
    return {"community": community, "otherCommunity": "110105001002", "principals": principals}


# -- a configured server: its own tokens and a JWT issuer, as a city runs it -------------------

#: what the kit's server turns each demo token into: a server with credentials of its own
KIT_SUFFIX = "-kit-7Qm2xR9pLw4s"
ISSUER = "https://idp.kit.example"
AUDIENCE = "https://server.kit.example"


def kit_token(demo_token: str) -> str:
    return demo_token.removeprefix("demo-") + KIT_SUFFIX


def kit_tokens() -> dict[str, dict[str, Any]]:
    return {kit_token(t): fields for t, fields in demo_tokens().items()}


def make_issuer(directory: Path) -> tuple[Path, Path]:
    """A test identity provider: its private key (PEM, 0600) and its JWKS, in ``directory``."""
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private = directory / "issuer-key.pem"
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwks = directory / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public, "kid": "kit-1", "alg": "ES256",
                                          "use": "sig"}]}), encoding="utf-8")
    return private, jwks


#: the city profile the kit's server runs: the demo community is one of its communities
CITY_PROFILE = spec_root() / DEFAULT_VERSION / "profiles" / "beijing-chaoyang.json"


def server_settings(database: Path | str, issuer: Path, **options: Any) -> Settings:
    """The kit's reference server: the demo's data, the kit's tokens, the test issuer's JWTs,
    running the large example city's profile (every class declared, /conf/profiles too).
    ``database`` is a SQLite file or a database URL (PostgreSQL)."""
    url = database if isinstance(database, str) else f"sqlite:///{database}"
    options.setdefault("profile", CITY_PROFILE)
    return Settings(database_url=url, demo=True, tokens=kit_tokens(),
                    jwks=str(issuer / "jwks.json"), jwt_issuer=ISSUER, jwt_audience=AUDIENCE,
                    **options)


def configured_preset_data(issuer: Path) -> dict[str, Any]:
    """The preset of :func:`server_settings`: production, with the test issuer."""
    data = demo_preset_data()
    for entry in data["principals"].values():
        entry["token"] = kit_token(entry["token"])
    staff = demo_tokens()["demo-staff-liu-fang"]
    claims = {k: v for k, v in staff.items() if k not in ("label", "userId")}
    data["production"] = True
    data["jwt"] = {"issuer": ISSUER, "audience": AUDIENCE, "keyId": "kit-1",
                   "algorithm": "ES256", "privateKeyFile": str(issuer / "issuer-key.pem"),
                   "claims": {**claims, "sub": staff["userId"]}}
    return data
