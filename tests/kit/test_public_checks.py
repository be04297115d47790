"""The public pages' checks read what they cannot see in the bytes: the totals a month's page
could give a suppressed cell back with, and the numbers its text shows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smartcommunity.conformance.checks._public import _numbers, _sums_with_suppressed

THRESHOLD = 5

#: a community's cells: each its true count, and whether it is published (five or more); an
#: empty cell is suppressed as a small one is
cells = st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=8)


@given(cells, st.data())
def test_every_total_with_a_suppressed_cell_is_one_the_check_refuses(
        counts: list[int], data: st.DataObject) -> None:
    published = [n if n >= THRESHOLD else None for n in counts]
    refused = _sums_with_suppressed(published, THRESHOLD)
    chosen = data.draw(st.lists(st.sampled_from(range(len(counts))), min_size=1, unique=True))
    total = sum(counts[i] for i in chosen)
    if any(published[i] is None for i in chosen):
        assert total in refused
    if None not in published:  # every cell published: a total gives nothing back
        assert refused == set()


def test_the_numbers_of_a_page_leave_out_its_month_and_forms() -> None:
    page = ("<html><head><title>诉求统计 · 2026 年 1 月</title><style>p{margin:0 1px}</style>"
            "</head><body><h1>诉求统计 · 2026 年 1 月</h1><p>January 2026 · 2026-01 · 01/2026</p>"
            "<form><label>输入 12 位社区代码</label></form>"
            "<table><caption>社区 110105001001 · 2026-01</caption><tr><td>少于 5 件</td>"
            "<td>7</td></tr><tr><td>合计</td><td>8</td></tr></table></body></html>")
    assert _numbers(page, "2026-01") == {110105001001, 5, 7, 8}
