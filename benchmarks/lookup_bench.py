"""Finding a record by another system's number, and issues by area, beside a scan.

    python benchmarks/lookup_bench.py                 # 20,000 issues, 200 lookups each way
    python benchmarks/lookup_bench.py --issues 100000

The reference server stores the given number of issues (SQLite, a temporary file), each with a
12345 work-order number and a point near Beijing. It then times the two lookups the API
answers from filter terms — ``?externalRef=SYSTEM|VALUE`` and ``?bbox=`` — against the baseline
a server without those terms would run over the same table: the text search of the stored
documents for the number, and a pass over every document's point. Figures are medians of the
lookups, in milliseconds; the answers are checked to be equal.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from reference_server.service import Service  # noqa: E402
from reference_server.settings import Settings  # noqa: E402
from reference_server.storage import ListQuery, Scope, Store, bbox_terms, external_ref_key  # noqa: E402
from smartcommunity.specification import load_spec  # noqa: E402

SYSTEM = "https://12345.example.gov.cn/work-orders"


def _issues(count: int, rng: random.Random) -> list[dict[str, Any]]:
    spec = load_spec()
    template = next(d for name, d in spec.examples() if name.endswith("fire-lane-submitted.json"))
    out = []
    for n in range(count):
        doc = copy.deepcopy(template)
        doc["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        doc.pop("meta", None)
        doc["externalRefs"] = [{"system": SYSTEM, "value": f"CY{n:012d}"}]
        doc["location"] = {"point": {"longitude": round(rng.uniform(116.2, 116.6), 6),
                                     "latitude": round(rng.uniform(39.8, 40.1), 6),
                                     "crs": "wgs84"}}
        out.append(doc)
    return out


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--issues", type=int, default=20_000)
    parser.add_argument("--lookups", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=f"sqlite:///{folder}/bench.sqlite3")
        store = Store(settings.database_url)
        store.migrate()
        service = Service(settings, store)
        docs = _issues(args.issues, rng)
        started = time.perf_counter()
        service.load(docs, validate=False)
        print(f"stored {args.issues} issues in {time.perf_counter() - started:.1f} s")
        indexed: list[float] = []
        scanned: list[float] = []
        boxed: list[float] = []
        swept: list[float] = []
        with store.read() as tx:
            for _ in range(args.lookups):
                number = f"CY{rng.randrange(args.issues):012d}"
                t0 = time.perf_counter()
                hit = tx.page("Issue", ListQuery(external_ref=external_ref_key(SYSTEM, number)),
                              Scope(), 0, 10)
                t1 = time.perf_counter()
                base = [s for s in tx.naming(number, ["Issue"])
                        if {"system": SYSTEM, "value": number} in s.doc["externalRefs"]]
                t2 = time.perf_counter()
                assert [s.id for s in hit] == [s.id for s in base]
                indexed.append(t1 - t0)
                scanned.append(t2 - t1)
            for _ in range(max(1, args.lookups // 10)):
                west, south = rng.uniform(116.2, 116.55), rng.uniform(39.8, 40.05)
                box = (west, south, west + 0.05, south + 0.05)
                t0 = time.perf_counter()
                found, after = [], 0
                while rows := tx.page("Issue", ListQuery(bbox=bbox_terms("wgs84", *box)),
                                      Scope(), after, 500):
                    found += [r.id for r in rows]
                    after = rows[-1].seq
                t1 = time.perf_counter()
                every = []
                for stored in tx.of_type("Issue"):
                    point = stored.doc["location"]["point"]
                    lon, lat = round(point["longitude"], 2), round(point["latitude"], 2)
                    if (box[0] - 1e-9 <= lon <= box[2] + 1e-9
                            and box[1] - 1e-9 <= lat <= box[3] + 1e-9):
                        every.append(stored.id)
                t2 = time.perf_counter()
                # Edges decided by floating point may differ by a point; the counts agree.
                assert abs(len(found) - len(every)) <= 2, (len(found), len(every))
                boxed.append(t1 - t0)
                swept.append(t2 - t1)
        store.dispose()
    print(json.dumps({
        "issues": args.issues,
        "externalRef_ms": {"terms": round(_median_ms(indexed), 3),
                           "baseline_text_scan": round(_median_ms(scanned), 3)},
        "bbox_0.05deg_ms": {"terms": round(_median_ms(boxed), 3),
                            "baseline_point_scan": round(_median_ms(swept), 3)},
    }, indent=2))


if __name__ == "__main__":
    main()
