"""The printable A4 公示 notice of a consultation, for the community's notice board.

Drawn with fpdf2 from the same :class:`~._timeline.Timeline` as the pages, so offline residents
read the same facts, in Chinese or in English. Chinese needs a CJK font (the English notice too:
residents' own words stay as written): the first of :data:`FONT_CANDIDATES` present is
embedded (subset), or the file named by ``SMARTCOMMUNITY_CJK_FONT``; with none,
:class:`NoticeFontMissing` says which to install rather than printing empty boxes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from ..exceptions import SmartCommunityError
from ._timeline import day, timeline

__all__ = ["FONT_CANDIDATES", "FONT_ENV", "NoticeFontMissing", "find_cjk_font", "notice_pdf"]

#: environment variable naming a CJK font file (TrueType or a collection) to use
FONT_ENV = "SMARTCOMMUNITY_CJK_FONT"

#: CJK fonts of common Linux distributions, in order of preference (file, index in collection)
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
)


class NoticeFontMissing(SmartCommunityError, LookupError):
    """No CJK font is installed, so the notice cannot be drawn in Chinese."""

    code = "public.notice-font-missing"

    def __init__(self) -> None:
        super().__init__(
            f"no CJK font found: install fonts-wqy-microhei (Debian) or set {FONT_ENV} to a "
            "TrueType font file with Chinese glyphs")


def find_cjk_font() -> tuple[Path, int]:
    """The CJK font to embed; raises :class:`NoticeFontMissing` when there is none."""
    given = os.environ.get(FONT_ENV)
    if given:
        if Path(given).is_file():
            return Path(given), 0
        raise NoticeFontMissing()
    for path, index in FONT_CANDIDATES:
        if Path(path).is_file():
            return Path(path), index
    raise NoticeFontMissing()


#: the notice's own words, Chinese and English (the facts come from the timeline)
_HEADING = ("公  示", "PUBLIC NOTICE")
_CLOSING = ("本公示只载明可以向公众公开的内容，不含居民个人信息。如有疑问，请到社区居委会咨询。",
            "This notice gives only what may be made public and no resident's personal "
            "information. Questions are answered at the residents' committee.")


def notice_pdf(doc: Mapping[str, Any], *, lang: str = "zh-Hans", now: datetime | None = None,
               voices: Iterable[Mapping[str, Any]] | None = None) -> bytes:
    """The A4 notice of a consultation already redacted for the public audience, in Chinese
    (``lang="zh-Hans"``) or English (``"en"``), with the opinions and proposals on it and
    their replies when ``voices`` are given. Both embed the CJK font: residents' own words
    stay as they wrote them, in Chinese."""
    from fpdf import FPDF

    zh = lang.startswith("zh")

    def t(zh_text: str, en_text: str) -> str:
        return zh_text if zh else en_text

    colon = t("：", ": ")

    def dated(text: str, at: str | None) -> str:
        return text + (t(f"（{day(at)}）", f" ({day(at)})") if at else "")

    font, index = find_cjk_font()
    tl = timeline(doc, "zh-Hans" if zh else "en", now=now, voices=voices)
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(t(f"公示：{tl.title}", f"Notice: {tl.title}"))
    pdf.set_lang(t("zh-CN", "en"))
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font("cjk", "", str(font), collection_font_number=index)
    pdf.add_page()
    width = pdf.epw

    def para(text: str, size: float, *, gap: float = 1.5, align: str = "L") -> None:
        pdf.set_font("cjk", size=size)
        pdf.multi_cell(width, size * 0.5, text, align=align, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    para(t(*_HEADING), 30 if zh else 26, gap=3, align="C")
    para(tl.title, 20, gap=4, align="C")
    # What the page says above its steps, in its order: the status, who convened, the
    # categories (/req/public-pages/notice-pdf).
    head = [t(f"当前状态：{tl.status}", f"Current status: {tl.status}")]
    if tl.convener:
        head.append(t(f"召集：{tl.convener}", f"Convened by: {tl.convener}"))
    para("    ".join(head), 13)
    if tl.categories:
        para(t(f"事项类别：{'、'.join(tl.categories)}", f"About: {', '.join(tl.categories)}"), 13)
    if tl.description:
        para(tl.description, 13, gap=3)
    for step in tl.steps:
        pdf.set_draw_color(0, 0, 0)
        para(f"■ {dated(step.title, step.at)}", 15, gap=1)
        for line in step.lines:
            para(f"{line.label}{colon}{line.text}" if line.label else line.text, 12, gap=1)
        for item in step.items:
            para(dated(item.title, item.at), 13, gap=0.5)
            for line in item.lines:
                para(f"    {line.label}{colon}{line.text}" if line.label else f"    {line.text}",
                     12, gap=0.5)
        pdf.ln(2)
    para(t(*_CLOSING), 11)
    return bytes(pdf.output())
