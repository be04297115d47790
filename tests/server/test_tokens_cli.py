"""``smartcommunity tokens``: a token made by ``add`` is accepted by a server reading the file,
refused after ``revoke`` (without a restart); the file holds digests only and stays 0600."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server import Settings, create_app
from reference_server.auth import read_tokens_file, token_key
from smartcommunity.cli import run

from .helpers import COMMUNITY

STAFF = ["--name", "刘芳", "--role", "community-staff", "--community", COMMUNITY,
         "--user-id", "cs-0102"]


def _add(file: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    assert run(["tokens", "add", str(file), *STAFF, *extra]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # the token alone on standard output
    return out.strip()


def _status(client: TestClient, token: str) -> int:
    return int(client.get("/issues", headers={"Authorization": f"Bearer {token}"}).status_code)


def _ids(file: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert run(["tokens", "list", str(file)]) == 0
    return [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]


def test_added_tokens_work_until_revoked(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "secrets" / "tokens.json"
    first = _add(file, capsys, "--label", "counter desk")
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    client = TestClient(create_app(Settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", tokens_file=file, demo=False,
        reload_every=0.0)))
    assert _status(client, first) == 200
    second = _add(file, capsys, "--expires", "2099-01-01T00:00:00+08:00")
    assert _status(client, second) == 200  # read again: no restart
    text = file.read_text(encoding="utf-8")
    assert first not in text and second not in text
    assert set(json.loads(text)["tokens"]) == {token_key(first), token_key(second)}
    ids = _ids(file, capsys)
    assert len(ids) == 2 and token_key(first).startswith(ids[0])
    assert run(["tokens", "revoke", str(file), ids[0]]) == 0
    assert _status(client, first) == 401 and _status(client, second) == 200
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert len(read_tokens_file(file)) == 1


def test_files_open_to_others_are_refused(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "tokens.json"
    _add(file, capsys)
    before = file.read_bytes()
    file.chmod(0o644)
    for argv in (["add", str(file), *STAFF], ["list", str(file)], ["revoke", str(file), "0" * 8]):
        assert run(["tokens", *argv]) == 2
        assert "chmod 600" in capsys.readouterr().err
    assert file.read_bytes() == before


def test_bad_principals_and_ids_leave_the_file_alone(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "tokens.json"
    token = _add(file, capsys)
    before = file.read_bytes()
    bad = [
        ["add", str(file), "--name", "部门", "--role", "department", "--community", COMMUNITY],
        ["add", str(file), *STAFF[:-2], "--resident", "not an id!"],
        ["add", str(file), *STAFF, "--expires", "2001-01-01T00:00:00+08:00"],
        ["add", str(file), *STAFF, "--expires", "2099-01-01T00:00:00"],
        ["add", str(file), "--name", "x", "--role", "regulator", "--community", "*",
         "--community", COMMUNITY],
        ["add", str(file), *STAFF, "--organisation", "{not json"],
        ["revoke", str(file), "abc"],
    ]
    for argv in bad:
        assert run(["tokens", *argv]) == 2, argv
        assert capsys.readouterr().err
    assert run(["tokens", "revoke", str(file), "sha256:" + "0" * 12]) == 1  # matches nothing
    assert file.read_bytes() == before
    assert token_key(token) in json.loads(before)["tokens"]
    assert run(["tokens", "list", str(tmp_path / "missing.json")]) == 2


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
               max_size=20).filter(lambda s: s.strip() == s))
def test_any_name_round_trips(tmp_path_factory: pytest.TempPathFactory, name: str) -> None:
    """Whatever name is given is either stored as given or refused; never a broken file."""
    file = tmp_path_factory.mktemp("names") / "tokens.json"
    code = run(["tokens", "add", str(file), "--name", name, "--role", "regulator",
                "--community", "*"])
    if code == 0:
        (entry,) = json.loads(file.read_text(encoding="utf-8"))["tokens"].values()
        assert entry["name"] == name
        assert len(read_tokens_file(file)) == 1
    else:
        assert code == 2 and not file.exists()
