"""The reference server for the kit's own tests: uvicorn in a thread on a free 127.0.0.1
port. The application it serves can be swapped (a mutant wraps it) while it keeps running, so
one server serves every test."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from reference_server.demo import demo_tokens


class Holder:
    """An ASGI application that forwards to whichever application it currently holds."""

    def __init__(self, app: Any) -> None:
        self.base = app
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


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
                                access_log=False)
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
        self.holder.app = app

    def reset(self) -> None:
        self.holder.app = self.holder.base


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
