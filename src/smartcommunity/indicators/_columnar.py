"""The same indicators computed by DuckDB over NDJSON files, for city-scale inputs.

DuckDB reads the files in parallel into typed columns; the facts of ``indicators.json`` are
derived in SQL exactly as :mod:`._cases` derives them in Python, and each definition becomes
one grouped query generated from its conditions, so a city's added indicator needs no code
here either. The result is a :class:`Tally` like the streaming one, and the two are tested to
agree on the spec's vectors and on generated issues.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import IndicatorError
from ._cases import DEFAULT_CALENDAR, RESOURCE_TYPE
from ._definitions import Condition, Definitions, Indicator, load_definitions
from ._tally import DIMENSIONS, Tally

if TYPE_CHECKING:
    from ..profiles import Calendar, Profile

__all__ = ["columnar_available", "columnar_tally"]

_DAY_US = 86_400_000_000
_HOUR_US = 3_600_000_000
_EPOCH = date(1970, 1, 1)

#: the members the facts read, as DuckDB types: nothing else of a document is parsed
_COLUMNS = {
    "resourceType": "VARCHAR",
    "category": "VARCHAR",
    "urgency": "VARCHAR",
    "communityDivisionCode": "VARCHAR",
    "assignments": "STRUCT(id VARCHAR, department STRUCT(id VARCHAR), role VARCHAR, "
                   "status VARCHAR, assignedAt VARCHAR, acceptedAt VARCHAR, "
                   "returnedAt VARCHAR, completedAt VARCHAR, cancelledAt VARCHAR, "
                   "reassignedTo VARCHAR, dueAt VARCHAR)[]",
    "deadlines": "STRUCT(responseDue VARCHAR, resolutionDue VARCHAR, "
                 "extensions STRUCT(\"at\" VARCHAR, newDue VARCHAR)[])",
    "followUps": "STRUCT(\"at\" VARCHAR, assignmentId VARCHAR, contactResult VARCHAR, "
                 "perceivedResolution VARCHAR, rating DOUBLE)[]",
    "history": "STRUCT(action VARCHAR, \"at\" VARCHAR, details STRUCT(\"from\" VARCHAR))[]",
    "assessmentExclusions": "STRUCT(assignmentId VARCHAR, indicators VARCHAR[])[]",
}
#: an instant with its offset, as microseconds since the epoch (a naive time is no instant);
#: the offset is tested by its characters, which costs far less than a pattern per value.
#: RFC 3339 allows a lowercase t and z, which DuckDB's cast does not read: upper() first.
_TS = ("CASE WHEN right({0}, 1) IN ('Z', 'z') OR (substr({0}, -6, 1) IN ('+', '-') "
       "AND substr({0}, -3, 1) = ':') THEN epoch_us(TRY_CAST(upper({0}) AS TIMESTAMPTZ)) END")
#: DuckDB's memory ceiling: past it, it spills to a temporary folder, so the memory a report
#: takes does not grow with the input
MEMORY_LIMIT = "1GB"
#: the fact columns, by the names indicators.json gives them
_FACT_COLUMNS = {
    "assigned": "assigned", "claimed-on-time": "claimed_on_time", "returned": "returned",
    "completed": "completed", "completed-on-time": "completed_on_time",
    "extensions": "extensions", "reopened": "reopened", "reached": "reached",
    "perceived-resolution": "perceived_resolution", "rating": "rating",
    "handling-working-days": "handling_working_days",
}
_MOMENT_COLUMNS = {"assignedAt": "assigned_us", "acceptedAt": "accepted_us",
                   "returnedAt": "returned_us", "completedAt": "completed_us",
                   "followUpAt": "follow_up_us"}


def columnar_available() -> bool:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


def _ts(expr: str) -> str:
    return _TS.format(expr)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _literal_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_literal(v) for v in values) + "]"


def _condition(cond: Condition) -> str:
    column = _FACT_COLUMNS.get(cond.fact)
    if column is None:
        return "FALSE"  # a fact the spec does not define never holds
    if cond.op == "equals":
        test = f"{column} = {_literal(cond.value)}"
    elif cond.op == "in":
        test = f"{column} IN ({', '.join(_literal(v) for v in cond.value)})"
    else:
        sign = ">=" if cond.op == "atLeast" else "<="
        test = f"{column} {sign} {_literal(cond.value)}"
    return f"coalesce({test}, FALSE)"


def _all(conds: Sequence[Condition]) -> str:
    return " AND ".join(_condition(c) for c in conds) or "TRUE"


def _calendar_rows(calendar: Calendar, first: int, last: int) -> list[tuple[int, int, bool]]:
    """(day number, working days up to and including it, working?) from ``first`` to
    ``last`` (days since 1970-01-01)."""
    rows, count = [], 0
    for n in range(first, last + 1):
        working = calendar.is_working_day(_EPOCH + timedelta(days=n))
        count += working
        rows.append((n, count, working))
    return rows


def _limits(con: Any, profile: Profile | None) -> list[tuple[str, str, int, str]]:
    if profile is None:
        return []
    pairs = con.execute("SELECT DISTINCT category, urgency FROM issues").fetchall()
    out = []
    for category, urgency in pairs:
        limit = profile.time_limit(str(category), str(urgency), "response")
        if limit is not None:
            out.append((str(category), str(urgency), limit.amount, limit.unit))
    return out


def _offset_us(calendar: Calendar) -> int:
    delta = calendar.offset.utcoffset(datetime(2000, 1, 1))
    assert delta is not None
    return int(delta.total_seconds()) * 1_000_000


_CASES = """
CREATE TEMP TABLE cases AS
WITH leads AS (
  SELECT i.rid, i.category, i.urgency, i.community, i.deadlines, i.history,
         i.assessmentExclusions AS exclusions, a.id AS aid,
         coalesce(a.department.id, '') AS department, a.status,
         {assigned} AS assigned_us, {accepted} AS accepted_us, {returned} AS returned_us,
         {completed} AS completed_us, {due} AS due_us, {response_due} AS stated_response_us,
         {cancelled} AS cancelled_us,
         -- reassigned away: the reassign event naming it, else when its successor was given
         list_min(list_transform(list_filter(coalesce(i.history, []), lambda h:
           h.action = 'reassign' AND h.details."from" = a.id), lambda h: {hist_at}))
           AS reassign_event_us,
         CASE WHEN a.reassignedTo IS NOT NULL THEN
           list_filter(i.every, lambda b: b.id = a.reassignedTo)[1].assignedAt END
           AS successor_given
  FROM (SELECT rid, category, urgency, coalesce(communityDivisionCode, '') AS community,
               deadlines, history, assessmentExclusions, assignments AS every,
               UNNEST(assignments) AS a
        FROM issues) i
  WHERE a.role = 'lead' AND {assigned} IS NOT NULL
),
completions AS (
  SELECT rid, completed_us, aid FROM leads WHERE completed_us IS NOT NULL
),
follow_ups AS (
  SELECT rid, idx, {fu_at} AS at_us, f.assignmentId AS named, f.contactResult,
         f.perceivedResolution, f.rating
  FROM (SELECT rid, UNNEST(followUps) AS f, generate_subscripts(followUps, 1) AS idx
        FROM issues WHERE followUps IS NOT NULL)
  WHERE {fu_at} IS NOT NULL
),
judged AS (
  SELECT fu.rid, coalesce(fu.named, (
           SELECT arg_max(c.aid, (c.completed_us, c.aid)) FROM completions c
           WHERE c.rid = fu.rid AND c.completed_us <= fu.at_us)) AS aid,
         fu.at_us, fu.idx, fu.contactResult, fu.perceivedResolution, fu.rating
  FROM follow_ups fu
),
verdicts AS (
  -- the latest follow-up's own values, absent ones included (arg_max would skip a NULL and
  -- take an earlier follow-up's rating)
  SELECT rid, aid, arg_max(at_us, (at_us, idx)) AS follow_up_us,
         arg_max_null(contactResult, (at_us, idx)) AS contact_result,
         arg_max_null(perceivedResolution, (at_us, idx)) AS perceived_resolution,
         arg_max_null(rating, (at_us, idx)) AS rating
  FROM judged WHERE aid IS NOT NULL GROUP BY rid, aid
),
timed AS (
  SELECT l.*,
    CASE WHEN lim.unit = 'hours' THEN l.assigned_us + lim.amount * {hour}
         WHEN lim.unit = 'days' THEN l.assigned_us + lim.amount * {day}
         WHEN lim.unit = 'working-days' THEN
           (SELECT c1.day FROM cal c0 JOIN cal c1 ON c1.w = c0.w + lim.amount AND c1.working
            WHERE c0.day = (l.assigned_us + {offset}) // {day}) * {day}
           + (l.assigned_us + {offset}) % {day} - {offset}
         -- no stated deadline, no limit (greatest() would skip the NULL)
         WHEN l.stated_response_us IS NOT NULL
           THEN greatest(l.stated_response_us, l.assigned_us) END AS response_due_us,
    -- the first of completion, return, reassignment and cancellation (least skips NULLs)
    least(l.completed_us, l.returned_us, l.cancelled_us,
          coalesce(l.reassign_event_us, {successor})) AS ended_us
  FROM leads l LEFT JOIN limits lim ON lim.category = l.category AND lim.urgency = l.urgency
),
granted AS (
  SELECT t.*, list_filter(t.deadlines.extensions, lambda e:
           {ext_at} >= t.assigned_us AND (t.ended_us IS NULL OR {ext_at} <= t.ended_us))
           AS granted
  FROM timed t
)
SELECT g.rid, g.aid, g.department, g.community, g.category,
  g.assigned_us, g.accepted_us, g.returned_us, g.completed_us, v.follow_up_us,
  coalesce(g.status, '') <> 'cancelled' AS assigned,
  g.accepted_us IS NOT NULL AND (g.response_due_us IS NULL OR g.accepted_us <= g.response_due_us)
    AS claimed_on_time,
  coalesce(g.status = 'returned', FALSE) OR g.returned_us IS NOT NULL AS returned,
  coalesce(g.status = 'completed', FALSE) AND g.completed_us IS NOT NULL AS completed,
  coalesce(g.status = 'completed', FALSE) AND g.completed_us IS NOT NULL AND (
    greatest(g.due_us, list_max(list_transform(coalesce(g.granted, []), lambda e: {ext_new})))
      IS NULL OR g.completed_us <= greatest(g.due_us, list_max(list_transform(
        coalesce(g.granted, []), lambda e: {ext_new})))) AS completed_on_time,
  len(coalesce(g.granted, [])) AS extensions,
  g.completed_us IS NOT NULL AND len(list_filter(coalesce(g.history, []), lambda h:
    h.action = 'reopen' AND {hist_at} > g.completed_us)) > 0 AS reopened,
  CASE WHEN v.rid IS NULL THEN NULL ELSE coalesce(v.contact_result = 'reached', FALSE) END
    AS reached,
  v.perceived_resolution, v.rating,
  CASE WHEN coalesce(g.status = 'completed', FALSE) AND g.completed_us IS NOT NULL THEN
    (SELECT ce.w FROM cal ce WHERE ce.day = (g.completed_us + {offset}) // {day})
    - (SELECT cs.w FROM cal cs WHERE cs.day = (g.assigned_us + {offset}) // {day}) END
    AS handling_working_days,
  list_filter(coalesce(g.exclusions, []),
              lambda x: x.assignmentId IS NULL OR x.assignmentId = g.aid) AS exclusions
FROM granted g LEFT JOIN verdicts v ON v.rid = g.rid AND v.aid = g.aid
"""


def _excluded(indicator: str) -> str:
    return (f"len(list_filter(exclusions, lambda x: x.indicators IS NULL OR "
            f"list_contains(x.indicators, {_literal(indicator)}))) > 0")


def _query(ind: Indicator, offset: int) -> str:
    moment = _MOMENT_COLUMNS[ind.moment]
    where = [f"{moment} IS NOT NULL", f"NOT {_excluded(ind.id)}", _all(ind.denominator)]
    if ind.kind == "ratio":
        gained = f"CASE WHEN {_all(ind.numerator)} THEN 1 ELSE 0 END"
    else:
        column = _FACT_COLUMNS.get(ind.measure or "")
        if column is None:
            return ""
        where.append(f"{column} IS NOT NULL")
        gained = f"{column}::DOUBLE"
    period = f"strftime(make_timestamp({moment} + {offset}), '%Y-%m')"
    return (f"SELECT {_literal(ind.id)} AS indicator, {period} AS period, department, "
            f"community, category, GROUPING(department) AS gd, GROUPING(community) AS gc, "
            f"GROUPING(category) AS gk, sum({gained}) AS num, count(*) AS den FROM cases "
            f"WHERE {' AND '.join(where)} GROUP BY GROUPING SETS ((period, department), "
            f"(period, community), (period, category), (period))")


def columnar_tally(paths: Sequence[str | Path], profile: Profile | None = None,
                   definitions: Definitions | None = None, *, threads: int | None = None
                   ) -> Tally:
    """Every indicator over the Issue documents of the NDJSON files ``paths``, by DuckDB."""
    import duckdb

    definitions = definitions or load_definitions(profile)
    calendar = profile.calendar if profile is not None else DEFAULT_CALENDAR
    offset = _offset_us(calendar)
    spill = tempfile.TemporaryDirectory(prefix="smartcommunity-report-")  # one per run
    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute(f"SET temp_directory = {_literal(spill.name)}")
        files = [str(p) for p in paths]
        columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in _COLUMNS.items()) + "}"
        source = (f"read_json({_literal_list(files)}, format = 'newline_delimited', "
                  f"columns = {columns}, maximum_object_size = 67108864)")
        try:
            documents = int(con.execute(  # type: ignore[index]
                "CREATE TEMP TABLE issues AS SELECT row_number() OVER () AS rid, category, "
                "urgency, communityDivisionCode, assignments, deadlines, followUps, history, "
                f"assessmentExclusions FROM {source} "
                f"WHERE resourceType = {_literal(RESOURCE_TYPE)}").fetchone()[0])
        except duckdb.Error as exc:
            raise IndicatorError(f"the input cannot be read as NDJSON: {exc}") from exc
        con.execute("CREATE TEMP TABLE limits (category VARCHAR, urgency VARCHAR, "
                    "amount BIGINT, unit VARCHAR)")
        rows = _limits(con, profile)
        if rows:
            con.execute("INSERT INTO limits VALUES " + ", ".join(
                f"({_literal(c)}, {_literal(u)}, {int(a)}, {_literal(unit)})"
                for c, u, a, unit in rows))
        span = con.execute(
            f"SELECT min({_ts('a.assignedAt')}), max({_ts('a.completedAt')}), "
            f"max({_ts('a.assignedAt')}) "
            "FROM (SELECT UNNEST(assignments) AS a FROM issues)").fetchone()
        con.execute("CREATE TEMP TABLE cal (day BIGINT, w BIGINT, working BOOLEAN)")
        if span and span[0] is not None:
            first = (span[0] + offset) // _DAY_US - 1
            last = (max(v for v in span if v is not None) + offset) // _DAY_US + 400
            # one statement: row-by-row inserts cost more than the whole calendar
            con.execute("INSERT INTO cal VALUES " + ", ".join(
                f"({d}, {w}, {_literal(k)})" for d, w, k in _calendar_rows(calendar, first, last)))
        con.execute(_CASES.format(
            assigned=_ts("a.assignedAt"), accepted=_ts("a.acceptedAt"),
            returned=_ts("a.returnedAt"), completed=_ts("a.completedAt"),
            cancelled=_ts("a.cancelledAt"),
            successor=_ts("l.successor_given"),
            due=f"coalesce({_ts('a.dueAt')}, {_ts('i.deadlines.resolutionDue')})",
            response_due=_ts("i.deadlines.responseDue"), fu_at=_ts("f.at"),
            ext_at=_ts("e.at"), ext_new=_ts("e.newDue"), hist_at=_ts("h.at"),
            hour=_HOUR_US, day=_DAY_US, offset=offset))
        tally = Tally(definitions, profile)
        tally.issues = documents
        tally.cases = int(con.execute("SELECT count(*) FROM cases").fetchone()[0])  # type: ignore[index]
        for ind in definitions.indicators:
            sql = _query(ind, offset)
            if not sql:
                continue
            for (ident, period, department, community, category, gd, gc, gk, num,
                 den) in con.execute(sql).fetchall():
                if not gd:
                    dim, key = "department", department
                elif not gc:
                    dim, key = "community", community
                elif not gk:
                    dim, key = "category", category
                else:
                    dim, key = "city", "city"
                tally._counts[(ident, period, dim, str(key))] = [float(num), int(den)]
        assert set(DIMENSIONS) == {"department", "community", "category", "city"}
        return tally
    finally:
        con.close()
        spill.cleanup()
