"""Public transparency: consultations as timelines, de-identified issue statistics and the
printable 公示 notice, for pages anyone may read without an account (/conf/public-pages).

>>> from smartcommunity.transparency import IssueStatistics
>>> cells = IssueStatistics.from_counts({("environment.garbage", "110105001001", "2026-11"): 2,
...                                      ("environment", "110105001001", "2026-11"): 4}, 5).cells
>>> [(c.category, c.count) for c in cells if c.category in ("elderly-care", "environment")]
[('elderly-care', None), ('environment', 6)]

Rendering needs the ``publish`` extra (Jinja2, fpdf2): ``pip install "smartcommunity[publish]"``.
"""

from __future__ import annotations

from ._notice import FONT_ENV, NoticeFontMissing, find_cjk_font, notice_pdf
from ._pages import (
    HOME_PAGED,
    LANGUAGES,
    Links,
    consultation_page,
    consultations_per_page,
    figures_month_page,
    figures_page,
    index_page,
)
from ._site import Site, published
from ._statistics import (
    CHINA_STANDARD_TIME,
    FIGURES_PAGED,
    Cell,
    FiguresPage,
    IssueStatistics,
    catalogue_groups,
    communities_per_page,
    is_division_code,
    is_month,
    minimum_cell_count,
    month_of,
    month_range,
    published_months,
    running_month,
    shifted_month,
    statistics_from_issues,
)
from ._timeline import (
    STEPS,
    VOICE_MEMBERS,
    Line,
    Step,
    Timeline,
    WithVoices,
    public_view,
    timeline,
    voices_of,
)

__all__ = ["CHINA_STANDARD_TIME", "FIGURES_PAGED", "FONT_ENV", "HOME_PAGED", "LANGUAGES", "STEPS",
           "VOICE_MEMBERS", "Cell", "FiguresPage", "IssueStatistics", "Line", "Links",
           "NoticeFontMissing", "Site", "Step", "Timeline", "WithVoices", "catalogue_groups",
           "communities_per_page", "consultation_page", "consultations_per_page",
           "figures_month_page", "figures_page", "find_cjk_font", "index_page",
           "is_division_code", "is_month", "minimum_cell_count", "month_of", "month_range",
           "notice_pdf", "public_view", "published", "published_months", "running_month",
           "shifted_month", "statistics_from_issues", "timeline", "voices_of"]

