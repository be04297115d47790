"""Benchmark of the Open311 bridge beside the native API it goes through, in one process.

    python benchmarks/open311_bench.py [--count 300]

Filing: POST /issues (native, JSON) against POST /open311/v2/requests.json (form). Reading one
request: GET /issues/{id} against GET /open311/v2/requests/{id}.json and .xml. Listing: every
matching issue through GET /issues?category=… (pages of 500, following the cursor) against
GET /open311/v2/requests.json?service_code=… (one answer, converted). Both sides run in the
same ASGI process through the same test client, on one SQLite file, so the difference is what
the bridge adds: the form, the conversion and the XML. Also the library's conversion alone
(issue → request) in requests/s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import timeit
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
warnings.filterwarnings("ignore")

from fastapi.testclient import TestClient  # noqa: E402

from reference_server import Settings, create_app  # noqa: E402
from reference_server.demo import demo_tokens  # noqa: E402
from smartcommunity import CHINA_STANDARD_TIME  # noqa: E402
from smartcommunity.open311 import catalogue, issue_to_request, request_to_issue  # noqa: E402

RESIDENT = "demo-resident-wang-guiying"
CODE = "environment.noise"
FORM = {"service_code": CODE, "lat": "39.91", "long": "116.45",
        "description": "夜间施工噪声\n每晚十一点后还在施工。"}


def rate(count: int, fn: Any) -> float:
    """Calls per second of ``fn(i)`` for i < count, after ten calls to warm up."""
    for i in range(min(10, count)):
        fn(i)
    start = time.perf_counter()
    for i in range(count):
        fn(i)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    n = parser.parse_args().count
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Settings(database_url=f"sqlite:///{folder}/bench.sqlite3",
                                  tokens=demo_tokens()))
        client = TestClient(app)
        auth = {"Authorization": f"Bearer {RESIDENT}"}
        staff = {"Authorization": "Bearer demo-staff-liu-fang"}
        services = catalogue()
        community = next(iter(demo_tokens()[RESIDENT]["communities"]))
        native_ids: list[str] = []
        bridge_ids: list[str] = []

        def native_post(i: int) -> None:
            now = datetime.now(CHINA_STANDARD_TIME).isoformat(timespec="milliseconds")
            doc = request_to_issue(FORM, services, community=community, role="resident",
                                   now=now).value
            resp = client.post("/issues", json=doc, headers=auth)
            assert resp.status_code == 201, resp.text
            native_ids.append(doc["id"])

        def bridge_post(i: int) -> None:
            resp = client.post("/open311/v2/requests.json", data={**FORM, "api_key": RESIDENT})
            assert resp.status_code == 201, resp.text
            bridge_ids.append(resp.json()[0]["service_request_id"])

        rows = [("file one request", rate(n, native_post), rate(n, bridge_post), None)]

        def native_get(i: int) -> None:
            assert client.get(f"/issues/{native_ids[i]}", headers=staff).status_code == 200

        def bridge_get(fmt: str) -> Any:
            def get(i: int) -> None:
                resp = client.get(f"/open311/v2/requests/{bridge_ids[i]}.{fmt}",
                                  headers=staff)
                assert resp.status_code == 200
            return get

        base = rate(n, native_get)
        rows.append(("read one request (JSON)", base, rate(n, bridge_get("json")), None))
        rows.append(("read one request (XML)", base, rate(n, bridge_get("xml")), None))
        # Listing: items answered per second, both reading every matching issue, the native
        # API in its largest pages (following the cursor), the bridge in one answer.
        lists = max(n // 30, 3)

        def native_all(i: int) -> int:
            cursor: str | None = None
            count = 0
            while True:
                params = {"category": CODE, "limit": 500, **({"cursor": cursor} if cursor else {})}
                page = client.get("/issues", headers=staff, params=params).json()
                count += len(page["items"])
                cursor = page.get("next")
                if not cursor:
                    return count

        def bridge_all(i: int) -> int:
            return len(client.get("/open311/v2/requests.json", headers=staff,
                                  params={"service_code": CODE}).json())

        found = bridge_all(0)
        assert native_all(0) == found
        rows.append((f"list requests, items/s ({found} matching)", found * rate(
            lists, native_all), found * rate(lists, bridge_all), None))
        issue = client.get(f"/issues/{native_ids[0]}", headers=staff).json()
        # The best of seven rounds: the steadiest figure on a shared machine.
        batch = 20 * n
        convert = batch / min(timeit.repeat(lambda: issue_to_request(issue, services),
                                            number=batch, repeat=7))
        app.state.sc.service.store.dispose()
    print(f"{'operation':48} {'native /s':>10} {'Open311 /s':>11} {'ratio':>6}")
    for what, native, bridge, note in rows:
        print(f"{what:48} {native:10.0f} {bridge:11.0f} {bridge / native:6.2f}")
        if note:
            print(f"  {note}")
    print(f"library issue_to_request alone: {convert:,.0f} conversions/s")


if __name__ == "__main__":
    main()
