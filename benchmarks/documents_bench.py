"""What PostgreSQL spends sending a list page's documents: passed on as it holds them (read as
bytes by the driver) against converted to bytes within the plan (``convert_to``, as before).

    python benchmarks/documents_bench.py postgresql+psycopg://postgres@127.0.0.1:5432/small
    python benchmarks/documents_bench.py URL --calls 4000

For a few list pages of a store imported before (``benchmarks/city.py`` and ``smartcommunity
import``), the page's statement is built by the reference server, and run as it is and with
its documents converted in the plan, alternately in blocks of 50 on one connection, as the
server runs it (results in binary form). Printed per page: PostgreSQL's processor time (its
backend's, from ``/proc``) and the time until the driver holds the rows, in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import psycopg  # noqa: E402
from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from reference_server.storage import ListQuery, Scope, Store, read_text_as_bytes  # noqa: E402

#: label → (resource type, ListQuery field and where its values are: a column of the
#: resources or a kind of term; None: no filter)
PAGES: dict[str, tuple[str, tuple[str, str] | None]] = {
    "/issues": ("Issue", None),
    "/issues ?department": ("Issue", ("department", "term")),
    "/issues ?status": ("Issue", ("status", "column")),
    "/consultations": ("Consultation", None),
    "/residents": ("Resident", None),
    "/residents ?grid": ("Resident", ("grid", "term")),
}
BLOCK = 50


def statements(store: Store, least: int = 51) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """label → (this version's statement, the same converting documents, parameters); a
    filter's value is the rarest with more than ``least`` matches."""
    seen: list[tuple[str, Any]] = []
    event.listen(store.read_engine, "before_cursor_execute",
                 lambda conn, cur, sql, params, ctx, many: seen.append((sql, params)))
    out = {}
    with store.read_engine.connect() as conn:
        for label, (rtype, filtered) in PAGES.items():
            query = ListQuery()
            if filtered is not None:
                field, where = filtered
                sql = (f"SELECT {field} FROM resources WHERE rtype = :rtype GROUP BY 1"
                       if where == "column" else
                       "SELECT value FROM resource_terms WHERE rtype = :rtype AND kind = "
                       f"'{field}' GROUP BY 1")
                value = conn.execute(text(f"{sql} HAVING count(*) > :least ORDER BY count(*), "
                                          "1 LIMIT 1"), {"rtype": rtype, "least": least}
                                     ).scalar()
                if value is None:
                    continue
                query = ListQuery(**{field: value, "today": time.strftime("%Y-%m-%d")})
            seen.clear()
            with store.read() as tx:
                tx.page(rtype, query, Scope(), 0, 51)
            sql, params = seen[-1]
            before = sql.replace("page.doc,", "convert_to(page.doc, 'UTF8') AS doc,")
            for column in ("communities", "departments", "person_facts"):
                before = before.replace(f"CAST(page.{column} AS VARCHAR) AS {column}",
                                        f"page.{column}")
            if "convert_to" not in before or "AS VARCHAR" in before:
                raise SystemExit(f"{label}: the page's statement no longer reads as this "
                                 f"benchmark expects, so nothing would be compared:\n{sql}")
            out[label] = (sql, before, params)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", help="a PostgreSQL store's SQLAlchemy URL")
    parser.add_argument("--calls", type=int, default=2000, help="runs of each statement")
    args = parser.parse_args()
    store = Store(args.url)
    try:
        pages = statements(store)
    finally:
        store.dispose()
    url = make_url(args.url)
    conn = psycopg.connect(host=url.host, port=url.port or 5432, user=url.username,
                           dbname=url.database, autocommit=True)
    read_text_as_bytes(conn)
    stat = Path(f"/proc/{conn.info.backend_pid}/stat")
    hz = os.sysconf("SC_CLK_TCK")

    def ticks() -> int:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime

    print(f"{args.calls:,} runs of each, alternately in blocks of {BLOCK}; ms a page")
    print(f"  {'page':<22}{'rows':>5}{'PostgreSQL: in plan':>22}{'as held':>9}"
          f"{'rows read: in plan':>21}{'as held':>9}")
    for label, (after, before, params) in pages.items():
        cpu = {before: 0, after: 0}
        wall: dict[str, list[float]] = {before: [], after: []}
        for sql in (before, after):  # plans and caches warm
            for _ in range(20):
                rows = conn.execute(sql, params, binary=True).fetchall()
        for _ in range(max(1, args.calls // BLOCK)):
            for sql in (before, after):
                start, used = time.perf_counter(), ticks()
                for _ in range(BLOCK):
                    rows = conn.execute(sql, params, binary=True).fetchall()
                cpu[sql] += ticks() - used
                wall[sql].append((time.perf_counter() - start) / BLOCK)
                assert not rows or isinstance(rows[0][5], bytes), "documents not bytes"
        runs = max(1, args.calls // BLOCK) * BLOCK
        pg = {sql: cpu[sql] / hz / runs * 1e3 for sql in cpu}
        read = {sql: statistics.median(wall[sql]) * 1e3 for sql in wall}
        print(f"  {label:<22}{len(rows):>5}{pg[before]:>22.3f}{pg[after]:>9.3f}"
              f"{read[before]:>21.3f}{read[after]:>9.3f}")
    conn.close()


if __name__ == "__main__":
    main()
