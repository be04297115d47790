"""The kit's work does not grow with the server's data.

The whole kit runs against two reference servers alike but for one thing: the second also
holds 5,000 issues of a generated city in the preset's community (updated before the run, as
a city's records are). Every check must make the same number of requests against both: the
kit lists what it wrote since the run began and starts reading the feed at its end, so a
city's millions of records cost it nothing (benchmarks/kit_bench.py times it at 1,000,000).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from benchmarks.city import Scale, generate
from reference_server import create_app
from smartcommunity.conformance import Preset, run

from .harness import demo_preset_data, server_settings, serving

pytestmark = pytest.mark.slow

#: the one community of the generated city, moved to the preset's
_CITY_COMMUNITY = b"110101001001"


class _Counting(httpx.HTTPTransport):
    """Keeps the requests the kit sends, in order (the runner runs one check at a time)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, bytes]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, str(request.url), request.read()))
        return super().handle_request(request)


def _requests_per_check(app: Any, preset: Preset) -> dict[str, tuple[str, int]]:
    """The status of each check of a whole run against ``app``, and how many different
    requests it sent: a page read again until it shows a change counts once, as often as it
    is polled depends on the server's timing (its figures follow the feed each second), not
    on its data, while reading a store page by page sends a new request for each page."""
    transport = _Counting()
    counts: dict[str, tuple[str, int]] = {}
    with serving(app) as server:
        def progress(_index: int, _total: int, result: dict[str, Any]) -> None:
            mine = transport.sent
            transport.sent = []
            counts[result["id"]] = (result["status"], len(set(mine)))

        run(server.base_url, preset, transport=transport, progress=progress)
    return counts


def _city_issues(count: int, community: str) -> list[bytes]:
    issues = (doc for doc in generate(Scale(residents=200, issues=count, consultations=0,
                                            communities=1))
              if doc.get("resourceType") == "Issue")
    return [orjson.dumps(doc).replace(_CITY_COMMUNITY, community.encode()) for doc in issues]


@pytest.mark.timeout(1800)  # two whole runs of the kit
def test_the_kit_sends_as_many_requests_to_a_full_store_as_to_an_empty_one(
        tmp_path: Path, issuer: Path, preset: Preset) -> None:
    community = demo_preset_data()["community"]
    empty = create_app(server_settings(tmp_path / "empty.sqlite3", issuer))
    full = create_app(server_settings(tmp_path / "full.sqlite3", issuer))
    city = _city_issues(5000, community)
    assert len(city) == 5000
    service = full.state.sc.service
    service.load((orjson.loads(raw) for raw in city), validate=False)
    with service.store.read() as tx:
        assert tx.count("Issue") >= 5000
    alone = _requests_per_check(empty, preset)
    crowded = _requests_per_check(full, preset)
    assert alone.keys() == crowded.keys()
    # A check that failed (a timeout on a busy machine) may stop early: compared are the
    # checks that ended alike, nearly all of them.
    alike = [check for check in alone if alone[check][0] == crowded[check][0]]
    assert len(alike) >= 0.9 * len(alone), {c: (alone[c], crowded[c]) for c in alone
                                            if c not in alike}
    # Two more at most, for a request whose content is the time it is sent; 5,000 issues
    # read page by page would be ten different requests or more.
    grown = {check: (alone[check][1], crowded[check][1]) for check in alike
             if crowded[check][1] > alone[check][1] + 2}
    assert not grown, f"checks whose requests grow with the store (empty, full): {grown}"
    assert sum(n for _, n in alone.values()) > 0
