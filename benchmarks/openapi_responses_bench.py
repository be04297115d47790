"""What holding every response to the OpenAPI costs a complete kit run.

    python benchmarks/openapi_responses_bench.py

Serves the reference server (demo data, SQLite) on a free loopback port and runs the whole kit
once with the demo preset. The OpenAPI check (/req/core/openapi-responses) runs last over the
exchanges the run recorded; the rest of the same run is the baseline it is set beside. Also
judges the recorded exchanges once more on their own, to give a rate per exchange and per MB.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
warnings.filterwarnings("ignore")

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from reference_server import Settings, create_app  # noqa: E402
from smartcommunity.conformance import Exchange, OpenApiJudge, load_preset, run  # noqa: E402
from smartcommunity.specification import load_spec  # noqa: E402

PRESET = ROOT / "src" / "smartcommunity" / "conformance" / "demo-preset.json"
CHECK = "/req/core/openapi-responses"


def serve(app: Any) -> tuple[uvicorn.Server, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                           access_log=False))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{sock.getsockname()[1]}"


class Recording(httpx.HTTPTransport):
    """The network as the kit uses it, keeping each exchange to judge it again afterwards."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        self.log.append(Exchange(request.method, str(request.url), {}, None,
                                 response.status_code, dict(response.headers), response.text))
        return response


def main() -> None:
    network = Recording()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Settings(database_url=f"sqlite:///{folder}/bench.sqlite3", demo=True))
        server, base = serve(app)
        report = run(base, load_preset(PRESET), transport=network)
        server.should_exit = True
    total = report["durationMs"]
    check = next(r["durationMs"] for r in report["results"] if r["requirement"] == CHECK)
    log = network.log
    megabytes = sum(len(e.response_text.encode()) for e in log) / 1e6
    judge = OpenApiJudge(load_spec())
    start = time.perf_counter()
    found = sum(len(judge.judge(e, base)) for e in log)
    alone = time.perf_counter() - start
    print(f"verdict {report['verdict']}; {len(log)} exchanges, {megabytes:.1f} MB of responses")
    print(f"{'rest of the run (baseline)':<34}{(total - check) / 1000:8.2f} s")
    print(f"{'OpenAPI check, in the run':<34}{check / 1000:8.2f} s "
          f"({100 * check / (total - check):.0f} % of the baseline)")
    print(f"{'judged again alone':<34}{alone:8.2f} s  {len(log) / alone:,.0f} exchanges/s, "
          f"{megabytes / alone:.1f} MB/s; {found} violations")


if __name__ == "__main__":
    main()
