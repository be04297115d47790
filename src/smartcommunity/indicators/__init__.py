"""Department assessment indicators (/conf/indicators), computed as ``indicators.json`` defines.

>>> from smartcommunity.indicators import compute, read_issues        # doctest: +SKIP
>>> figures = compute(read_issues("issues.ndjson"), period="2026-11")  # doctest: +SKIP

Each lead assignment is one case; :func:`cases` reads its facts from the issue, a
:class:`Tally` counts them per indicator, period, department, community, category and city in
one pass whose memory depends on the number of groups, not on the input.
"""

from __future__ import annotations

from ._cases import DEFAULT_CALENDAR, RESOURCE_TYPE, Case, cases
from ._columnar import columnar_available, columnar_tally
from ._definitions import Condition, Definitions, Fact, Indicator, load_definitions, profile_errors
from ._report import ReportFiles, write_report
from ._sources import read_issues
from ._tally import DIMENSIONS, Figure, Tally, compute

__all__ = ["DEFAULT_CALENDAR", "DIMENSIONS", "RESOURCE_TYPE", "Case", "Condition", "Definitions",
           "Fact", "Figure", "Indicator", "ReportFiles", "Tally", "cases", "columnar_available",
           "columnar_tally", "compute", "load_definitions", "profile_errors", "read_issues",
           "write_report"]
