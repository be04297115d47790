"""Fixtures of the kit's own tests: the real reference server (a fresh SQLite file, the demo's
data, configured as a city runs it: tokens of its own and a JWT issuer) and a preset for it.
See harness.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reference_server import create_app
from smartcommunity.conformance import Preset, parse_preset

from .harness import Server, configured_preset_data, make_issuer, server_settings, serving


@pytest.fixture(scope="session")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the test identity provider's key and JWKS."""
    directory = tmp_path_factory.mktemp("kit-issuer")
    make_issuer(directory)
    return directory


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, issuer: Path) -> Iterator[Server]:
    path = tmp_path_factory.mktemp("kit-server") / "server.sqlite3"
    with serving(create_app(server_settings(path, issuer))) as running:
        yield running


@pytest.fixture()
def served(server: Server) -> Iterator[Server]:
    """The server, given back unmutated after the test."""
    try:
        yield server
    finally:
        server.reset()


@pytest.fixture(scope="session")
def preset_data(issuer: Path) -> dict[str, Any]:
    return configured_preset_data(issuer)


@pytest.fixture(scope="session")
def preset(preset_data: dict[str, Any]) -> Preset:
    return parse_preset(preset_data)


@pytest.fixture(scope="session")
def preset_file(tmp_path_factory: pytest.TempPathFactory, preset_data: dict[str, Any]) -> Path:
    path = tmp_path_factory.mktemp("kit-preset") / "preset.json"
    path.write_text(json.dumps(preset_data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path
