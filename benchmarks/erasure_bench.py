"""Finding the records a resident's erasure reaches: the term index beside a search of every
stored document's text (how the server found them before), on the same store, same run.

    python benchmarks/erasure_bench.py --database-url sqlite:///kit-bench/city.sqlite3

Takes the store ``benchmarks/kit_bench.py --work`` leaves (or any imported one), picks residents
its records name, and prints the time of each way per resident and that both find the same
records the erasure rewrites.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from sqlalchemy import select  # noqa: E402

from reference_server.service import ErasureReach  # noqa: E402
from reference_server.storage import Store, Stored, Tx, metadata  # noqa: E402
from smartcommunity import load_spec  # noqa: E402

resources, terms = metadata.tables["resources"], metadata.tables["resource_terms"]


def by_text(tx: Tx, rid: str, rtypes: list[str]) -> list[Stored]:
    """The text search the erasure used before the index."""
    c = resources.c
    escaped = rid.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = tx.conn.execute(
        select(c.seq, c.rtype, c.id, c.version, c.communities, c.departments, c.doc)
        .where(c.rtype.in_(rtypes), c.doc.like(f"%{escaped}%", escape="\\")).order_by(c.seq))
    return [Stored(r[0], r[1], r[2], r[3], r[6], r[4], r[5]) for r in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--residents", type=int, default=5, help="residents looked up")
    args = parser.parse_args(argv)
    reach = ErasureReach(load_spec())
    rtypes = list(reach.resource_types)
    store = Store(args.database_url, group_commit=False)
    try:
        with store.read() as tx:
            issues = tx.count("Issue")
            rids = [str(r[0]) for r in tx.conn.execute(
                select(terms.c.value).where(terms.c.kind == "named-resident").distinct()
                .order_by(terms.c.value).limit(args.residents))]
            old, new = [], []
            for rid in rids:
                started = time.perf_counter()
                text_found = by_text(tx, rid, rtypes)
                old.append(time.perf_counter() - started)
                started = time.perf_counter()
                index_found = tx.naming(rid, rtypes)
                new.append(time.perf_counter() - started)
                same = ([s.id for s in text_found if reach.apply(s.doc, rid)]
                        == [s.id for s in index_found if reach.apply(s.doc, rid)])
                print(f"resident {rid}: {len(index_found)} records named; text search "
                      f"{old[-1] * 1000:.1f} ms, index {new[-1] * 1000:.1f} ms; "
                      f"{'same records' if same else 'DIFFERENT records'}")
        print(f"{issues:,} issues: text search median {statistics.median(old) * 1000:.0f} ms, "
              f"index median {statistics.median(new) * 1000:.1f} ms per erasure")
    finally:
        store.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
