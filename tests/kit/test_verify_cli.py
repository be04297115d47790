"""``smartcommunity verify --base-url``: a reader checks a live server's feed, withheld events
and all, and a server that rewrites one byte of its feed is named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reference_server import create_app
from smartcommunity.cli import run

from .harness import Server, kit_token, server_settings
from .mutants import feed_event_byte_changed


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory, issuer: Path) -> Iterator[Server]:
    """A server of this module's own: the session's server also serves mutants that write
    tampered records on purpose, and a whole feed read here must not meet them."""
    path = tmp_path_factory.mktemp("verify-server") / "server.sqlite3"
    running = Server(create_app(server_settings(path, issuer)))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.parametrize("token", ["demo-system-mirror", "demo-resident-wang-guiying",
                                   "demo-public"])
def test_verify_reads_and_checks_a_servers_feed(own: Server, token: str) -> None:
    assert run(["verify", "--base-url", own.base_url, "--token", kit_token(token)]) == 0


def test_verify_names_a_rewritten_feed(served: Server, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    served.serve(feed_event_byte_changed(served.app, monkeypatch))
    assert run(["verify", "--base-url", served.base_url,
                "--token", kit_token("demo-system-mirror")]) == 1
    assert "chaindigest" in capsys.readouterr().out


def test_verify_without_a_server_is_a_usage_error() -> None:
    assert run(["verify", "--base-url", "http://127.0.0.1:9", "--token", "x"]) == 2
