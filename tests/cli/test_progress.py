"""The progress line of ``validate`` and ``import`` on a terminal: plain text, no UI library."""

from __future__ import annotations

import io
import re

from hypothesis import given
from hypothesis import strategies as st

from smartcommunity.cli._common import _Progress

MB = 1024 * 1024
LINE = re.compile(r"^reading +(\d+\.\d)/(\d+\.\d) MB +(\d+)% +(\d+\.\d) MB/s"
                  r"(?: (\d+):(\d\d) left)?$")


@given(total=st.integers(1, 10**12), share=st.floats(0, 1), elapsed=st.floats(0.001, 10**5))
def test_line_reports_bytes_share_rate_and_time_left(total: int, share: float,
                                                     elapsed: float) -> None:
    done = int(total * share)
    match = LINE.match(_Progress.line(done, total, elapsed))
    assert match, _Progress.line(done, total, elapsed)
    assert float(match[1]) == round(done / MB, 1)
    assert int(match[3]) == done * 100 // total
    if done and done < total:
        seconds = int((total - done) / (done / elapsed))
        assert int(match[5]) * 60 + int(match[6]) == seconds
    else:
        assert match[5] is None  # nothing read yet, or finished: no estimate


def test_the_line_is_redrawn_in_place_and_wiped_at_the_end() -> None:
    out = io.StringIO()
    progress = _Progress(4 * MB, stream=out)
    progress.INTERVAL = 0.0
    with progress as advance:
        advance(MB)
        advance(MB)
    text = out.getvalue()
    assert text.count("\r") == 3 and "\n" not in text
    assert "reading    1.0/4.0 MB  25%" in text and "reading    2.0/4.0 MB  50%" in text
    assert text.endswith("\r\x1b[K")
