"""The printed notice: an A4 PDF that poppler renders, with the Chinese text in it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from smartcommunity.transparency import find_cjk_font

from .helpers import RESIDENT_NAME

pytestmark = [
    pytest.mark.skipif(shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
                       reason="poppler-utils is not installed"),
]


def test_the_notice_renders_with_its_chinese_text(client: TestClient, documents: dict[str, Any],
                                                  tmp_path: Path) -> None:
    try:
        find_cjk_font()
    except LookupError:
        pytest.skip("no CJK font installed (fonts-wqy-microhei)")
    resp = client.get(f"/public/consultations/{documents['public']['id']}/notice.pdf")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "notice.pdf"
    pdf.write_bytes(resp.content)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert "(A4)" in info.stdout
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "page")], check=True, capture_output=True)
    pages = list(tmp_path.glob("page*.png"))
    assert pages and pages[0].stat().st_size > 5000
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    compact = "".join(text.split())
    for phrase in ("公示", "3号楼加装电梯", "幸福里社区居民委员会", "结果反馈", "居民意见与答复",
                   "单元入口增设无障碍坡道"):
        assert phrase in compact
    assert RESIDENT_NAME not in compact


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "notice.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_the_english_notice_states_the_same_facts_in_english(
        client: TestClient, documents: dict[str, Any], tmp_path: Path) -> None:
    try:
        find_cjk_font()
    except LookupError:
        pytest.skip("no CJK font installed (fonts-wqy-microhei)")
    rid = documents["public"]["id"]
    resp = client.get(f"/public/en/consultations/{rid}/notice.pdf")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/pdf"
    assert "-en.pdf" in resp.headers["content-disposition"]
    english = _text(resp.content, tmp_path)
    chinese = _text(client.get(f"/public/consultations/{rid}/notice.pdf").content, tmp_path)
    compact = "".join(english.split())
    # the notice's own words are English; the consultation's facts are the same record's
    for phrase in ("PUBLIC NOTICE", "Convened by", "Current status", "no resident's personal"):
        assert phrase in english
    assert english.split()[:2] == ["PUBLIC", "NOTICE"]
    assert "召集：" not in compact and "当前状态" not in compact and "本公示" not in compact
    for fact in ("3号楼加装电梯", "单元入口增设无障碍坡道"):
        assert fact in compact and fact in "".join(chinese.split())
    assert RESIDENT_NAME not in compact
    # the page in English links to the English notice
    page = client.get(f"/public/en/consultations/{rid}").text
    assert f"/public/en/consultations/{rid}/notice.pdf" in page
