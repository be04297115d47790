"""What the decision's wait for replies costs (/req/voice/reply-before-decide), on SQLite,
and what listing residents' voices costs a consultation's public page (/req/public-pages/voices).

    .venv/bin/python benchmarks/voice_bench.py [--sizes 0 1000 10000] [--runs 50]
                                               [--voices 0 100 1000] [--page-runs 10]

Before ``decide`` the server reads every opinion and proposal that names the consultation and
checks each has its reply. For each store size (opinions of other consultations already in
the community, plus 300 replied opinions of the consultation decided), the script times that
check inside one read transaction, beside the baseline every action pays anyway: reading the
consultation by id. Medians of ``--runs`` runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from timing import median_ms  # noqa: E402

from reference_server import Settings, create_app  # noqa: E402
from smartcommunity import load_spec  # noqa: E402

#: replied opinions of the consultation being decided
OWN = 300

Doc = dict[str, Any]


def _opinions(example: dict[str, Any], consultation: str, count: int,
              replied: bool) -> list[dict[str, Any]]:
    out = []
    for _ in range(count):
        doc = copy.deepcopy(example)
        doc["id"] = str(uuid.uuid4())
        doc["consultation"] = {"resourceType": "Consultation", "id": consultation}
        if not replied:
            doc.pop("reply", None)
            doc["status"] = "received"
            doc["history"] = doc["history"][:1]
        out.append(doc)
    return out


@contextlib.contextmanager
def _server(consultation: str, public: bool = False) -> Iterator[tuple[Any, Doc, Doc]]:
    """A reference server on a fresh SQLite file holding the example ``consultation`` (made
    public when asked): the app, that consultation, and the example opinion to copy."""
    examples = dict(load_spec().examples())
    doc = copy.deepcopy(examples[f"consultation/{consultation}.json"])
    if public:
        doc["visibility"] = "public"
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Settings(database_url=f"sqlite:///{Path(folder) / 'b.sqlite3'}",
                                  demo=False))
        app.state.sc.service.load([doc], validate=False)
        yield app, doc, examples["opinion/lift-door-to-door-wang-guiying.json"]


def measure(size: int, runs: int) -> tuple[float, float]:
    with _server("parking-convention-deliberating") as (app, consultation, opinion):
        service = app.state.sc.service
        others = _opinions(opinion, str(uuid.uuid4()), size, replied=False)
        own = _opinions(opinion, consultation["id"], OWN, replied=True)
        service.load(others + own, validate=False)
        policy = service.policies["Consultation"]
        with service.store.read() as tx:
            stored = tx.get("Consultation", consultation["id"])
            baseline = median_ms(lambda: tx.get("Consultation", consultation["id"]), runs)
            check = median_ms(lambda: policy._replies_given(tx, stored, None), runs)
    return baseline, check


def page_cost(count: int, runs: int) -> float:
    """Median ms to make a public consultation's page (read, redact, list its ``count``
    replied opinions as the public reads them, render) — what the first view after a change
    pays; later views are served from memory."""
    with _server("lift-installation-building-3", public=True) as (app, consultation, opinion):
        own = _opinions(opinion, consultation["id"], count, replied=True)
        app.state.sc.service.load(own, validate=False)
        pages = app.state.public
        key = ("consultation", consultation["id"], "zh-Hans")
        pages._make(key)  # templates and plans compiled once, as the server does at start
        return median_ms(lambda: pages._make(key), runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 1000, 10000])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--voices", type=int, nargs="+", default=[0, 100, 1000])
    parser.add_argument("--page-runs", type=int, default=10)
    args = parser.parse_args(argv)
    print(f"{'other opinions':>15} {'read by id (ms)':>16} {'reply check (ms)':>17} {'ratio':>7}")
    for size in args.sizes:
        baseline, check = measure(size, args.runs)
        print(f"{size:>15} {baseline:>16.3f} {check:>17.3f} {check / baseline:>7.1f}")
    print()
    print(f"{'opinions':>15} {'make page (ms)':>16} {'vs none':>8}")
    costs = [(n, page_cost(n, args.page_runs)) for n in args.voices]
    none = costs[0][1]
    for n, ms in costs:
        print(f"{n:>15} {ms:>16.2f} {ms / none:>8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
