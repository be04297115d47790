"""``smartcommunity import``: documents into a server database, with their change events."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from reference_server.service import Service
from reference_server.settings import Settings
from reference_server.storage import Store
from smartcommunity.integrity import salts_of, seal_history

from .helpers import EXAMPLES, submitted_issue


def _import(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from smartcommunity.cli import main; main()", "import", *args],
        cwd=tmp, capture_output=True, text=True, timeout=120, check=False)


def test_import_ndjson(tmp_path: Path) -> None:
    docs = [submitted_issue() for _ in range(30)] + list(EXAMPLES.values())
    source = tmp_path / "docs.ndjson"
    source.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs) + "\n",
                      encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'imported.sqlite3'}"
    done = _import(tmp_path, str(source), "--database-url", url)
    assert done.returncode == 0, done.stderr
    assert f"imported {len(docs)} documents" in done.stdout
    store = Store(url)
    with store.read() as tx:
        assert tx.count() == len(docs)
        rows = tx.events(0, 1000)
        assert [r.seq for r, _ in rows] == list(range(1, len(docs) + 1))
        kept = tx.get("Issue", "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f")
        assert kept is not None
        assert kept.doc == seal_history(EXAMPLES["issue/gas-heater-elderly-closed.json"],
                                        salt=salts_of(kept.doc))
    service = Service(Settings(database_url=url), store)
    assert service.source.startswith("urn:uuid:")
    store.dispose()
    again = _import(tmp_path, str(source), "--database-url", url)
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = tmp_path / "bad.ndjson"
    broken = submitted_issue()
    broken["urgency"] = "whenever"
    bad.write_text(json.dumps(broken) + "\n", encoding="utf-8")
    refused = _import(tmp_path, str(bad), "--database-url", url)
    assert refused.returncode == 1 and "/urgency" in refused.stderr



def test_import_validates_with_the_profile_it_is_given(tmp_path: Path) -> None:
    """``--profile``: the records are held to the city's rules, a profile that cannot be used
    is a usage error, and an issue submitted before the profile's version was published keeps
    the deadlines it records while one submitted since is held to the catalogue."""
    profiles = Path(__file__).resolve().parents[2] / "spec" / "1.0" / "profiles"
    data = json.loads((profiles / "beijing-chaoyang.json").read_text(encoding="utf-8"))
    data["organisations"]["file"] = str(profiles / data["organisations"]["file"])
    data["profile"].update(version="1.1.0", published="2025-07-01")
    data["deadlines"]["normal"]["response"] = {"amount": 1, "unit": "hours"}
    for service in data["services"]:
        service.pop("deadlines", None)
    profile = tmp_path / "shortened.json"
    profile.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    # Given twelve hours to respond under the earlier version, on 2025-06-16.
    old = submitted_issue(urgency="normal",
                          deadlines={"responseDue": "2025-06-16T19:52:00+08:00"})
    source = tmp_path / "old.ndjson"
    source.write_text(json.dumps(old, ensure_ascii=False) + "\n", encoding="utf-8")
    done = _import(tmp_path, str(source), "--database-url", url, "--profile", str(profile))
    assert done.returncode == 0, done.stderr
    new = submitted_issue(id="0b7f1c52-8d1e-4f5a-9c33-2a6d4e8b9f10", urgency="normal",
                          submittedAt="2025-07-01T07:52:00+08:00",
                          deadlines={"responseDue": "2025-07-01T19:52:00+08:00"})
    new["history"][0]["at"] = new["submittedAt"]
    source.write_text(json.dumps(new, ensure_ascii=False) + "\n", encoding="utf-8")
    refused = _import(tmp_path, str(source), "--database-url", url, "--profile", str(profile))
    assert refused.returncode == 1
    assert "/deadlines/responseDue" in refused.stderr and "later than" in refused.stderr
    unusable = _import(tmp_path, str(source), "--database-url", url,
                       "--profile", str(tmp_path / "missing.json"))
    assert unusable.returncode == 2 and "cannot use the profile" in unusable.stderr
