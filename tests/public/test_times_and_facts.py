"""The page and the printed notice say the same, times in China Standard Time
(/req/public-pages/notice-pdf): the status, categories and every step with its time, and one
instant read the same however its offset and letter case were written."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcommunity.transparency import (
    CHINA_STANDARD_TIME,
    Links,
    consultation_page,
    find_cjk_font,
    notice_pdf,
    public_view,
    timeline,
)
from smartcommunity.transparency._timeline import day

from .helpers import LIFT, example, voices_on

LANGS = ("zh-Hans", "en")


def _spelled(instant: datetime, offset: timedelta, *, lower_t: bool, lower_z: bool,
             fraction: bool) -> str:
    """``instant`` written in RFC 3339 at ``offset``, in one of its spellings."""
    local = instant.astimezone(timezone(offset)).replace(tzinfo=None)
    text = local.isoformat(timespec="microseconds" if fraction else "seconds")
    if lower_t:
        text = text.replace("T", "t")
    if offset == timedelta(0) and not fraction:
        return text + ("z" if lower_z else "Z")
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


instants = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 12, 30),
                        timezones=st.just(UTC))
offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda m: timedelta(minutes=m))
spellings = st.builds(lambda o, t, z, f: (o, t, z, f), offsets, st.booleans(), st.booleans(),
                      st.booleans())


@given(instants, st.lists(spellings, min_size=2, max_size=4))
def test_any_spelling_of_an_instant_prints_the_same_china_time(
        instant: datetime, ways: list[tuple[timedelta, bool, bool, bool]]) -> None:
    shown = {day(_spelled(instant, o, lower_t=t, lower_z=z, fraction=f)) for o, t, z, f in ways}
    assert shown == {instant.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M")}


def test_instants_at_the_ends_of_the_calendar_print_on_the_days_next_to_it() -> None:
    assert day("9999-12-31T20:00:00Z") == "10000-01-01 04:00"
    assert day("0001-01-01T00:00:00+14:00") == "0000-12-31 18:00"
    assert day("2024-04-04") == "2024-04-04"  # a date alone is no instant


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _compact(text: str) -> str:
    return "".join(text.split())


def _page_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return _compact(" ".join(parser.parts))


def _notice_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return _compact("".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages))


@pytest.fixture(scope="module")
def font() -> None:
    try:
        find_cjk_font()
    except LookupError:
        pytest.skip("no CJK font installed (fonts-wqy-microhei)")


@pytest.mark.parametrize("lang", LANGS)
def test_the_notice_says_what_the_page_says(lang: str, font: None) -> None:
    doc = example(LIFT, visibility="public")
    doc["notice"]["deadline"] = "2024-04-03T23:30:00Z"  # the 4th in China
    shown, voices = public_view(doc), [public_view(v) for v in voices_on(doc)]
    tl = timeline(shown, lang, voices=voices)
    page = _page_text(consultation_page(shown, lang, Links(), voices=voices))
    notice = _notice_text(notice_pdf(shown, lang=lang, voices=voices))
    facts = [tl.status, tl.convener, *tl.categories, "2024-04-0407:30"]
    for step in tl.steps:
        facts += [step.title, *(_compact(day(s.at)) for s in (step, *step.items) if s.at)]
    assert len(tl.categories) >= 2
    missing = {"page": [f for f in facts if _compact(f) not in page],
               "notice": [f for f in facts if _compact(f) not in notice]}
    assert missing == {"page": [], "notice": []}
    assert "2024-04-03" not in page and "2024-04-03" not in notice


def test_the_status_is_on_the_notice_without_a_convener(font: None) -> None:
    doc: dict[str, Any] = public_view(example(LIFT, visibility="public"))
    doc.pop("convener", None)
    for lang in LANGS:
        tl = timeline(doc, lang)
        assert _compact(tl.status) in _notice_text(notice_pdf(doc, lang=lang))
