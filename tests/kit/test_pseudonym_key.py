"""With the city's pseudonym key the kit checks pseudonyms and redacts as a key holder does."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_server import create_app
from smartcommunity.conformance import Preset, run

from .harness import Server, server_settings

pytestmark = pytest.mark.slow

KEY = b"kit-test-city-shared-key"
KEYED = ["/req/residents/pseudonym-consistent", "/req/privacy/redaction-by-audience",
         "/req/privacy/masking", "/req/privacy/pseudonym", "/req/change-feed/redacted",
         "/req/residents/self-access"]


def test_a_keyed_server_is_checked_with_the_key(served: Server, preset: Preset,
                                                tmp_path: Path, issuer: Path) -> None:
    keyed = create_app(server_settings(tmp_path / "keyed.sqlite3", issuer, pseudonym_key=KEY))
    served.serve(keyed)
    report = run(served.base_url, preset, requirements=KEYED, pseudonym_key=KEY)
    results = {r["id"]: r for r in report["results"]}
    bad = {k: (r["status"], r["message"]["en"]) for k, r in results.items()
           if r["status"] != "pass"}
    assert not bad, bad
    assert "/req/residents/pseudonym-consistent#pseudonym-consistent" in results
