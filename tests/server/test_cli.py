"""``smartcommunity import``: documents into a server database, with their change events."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from reference_server.service import Service
from reference_server.settings import Settings
from reference_server.storage import Store
from smartcommunity.integrity import seal_history

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
        assert kept.doc == seal_history(EXAMPLES["issue/gas-heater-elderly-closed.json"])
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

