"""``smartcommunity publish``: the same pages as static files, from files or from a server."""

from __future__ import annotations

import json
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kit.harness import serving  # the tests folder is on the path

from reference_server import Settings, create_app
from reference_server.access import Access
from reference_server.auth import ALL, Principal
from reference_server.storage import Stored, derive
from smartcommunity.cli import run
from smartcommunity.exceptions import DocumentError
from smartcommunity.specification import load_spec
from smartcommunity.transparency import (
    IssueStatistics,
    Links,
    Site,
    consultation_page,
    find_cjk_font,
    public_view,
)

from .helpers import LIFT, RESIDENT_NAME, example


def _ndjson(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs),
                    encoding="utf-8")
    return path


def _font() -> bool:
    try:
        find_cjk_font()
    except LookupError:
        return False
    return True


def _site_files(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}


def test_from_files(tmp_path: Path, documents: dict[str, Any]) -> None:
    source = _ndjson(tmp_path / "in.ndjson",
                     [documents["public"], documents["kept"], *documents["issues"],
                      *documents["voices"], *documents["kept_voices"]])
    out = tmp_path / "site"
    # Without a CJK font the pages are written and the command says the notices are missing.
    assert run(["publish", "--input", str(source), "--out", str(out)]) == (0 if _font() else 1)
    rid = documents["public"]["id"]
    assert {"index.html", "en/index.html", "figures.html", "en/figures.html", "figures.json",
            f"consultations/{rid}.html", f"en/consultations/{rid}.html"} <= _site_files(out)
    assert documents["kept"]["id"] not in " ".join(_site_files(out))
    pages = "".join(p.read_text(encoding="utf-8") for p in out.rglob("*.html"))
    assert documents["kept"]["title"] not in pages and RESIDENT_NAME not in pages
    # each reply on the consultation's page; the kept consultation's and unagreed texts nowhere
    page = (out / f"consultations/{rid}.html").read_text(encoding="utf-8")
    assert all(v["reply"]["text"] in page for v in documents["voices"])
    assert not [v for v in documents["kept_voices"] if v["reply"]["text"] in pages]
    assert not [v for v in documents["voices"]
                if v.get("textPublic") is False and v["text"] in pages]
    # links stay inside the folder: a page opened from disk reaches every other
    home = (out / "en/consultations" / f"{rid}.html").read_text(encoding="utf-8")
    assert 'href="../../en/figures.html"' in home and 'href="../../index.html"' not in home
    # each language's page links to its own notice, written beside the pages
    assert f'href="../../en/consultations/{rid}/notice.pdf"' in home
    if _font():
        assert {f"consultations/{rid}/notice.pdf",
                f"en/consultations/{rid}/notice.pdf"} <= _site_files(out)
    # the figures as the server serves them: the months, then a file per page of each month
    figures = json.loads((out / "figures.json").read_text(encoding="utf-8"))
    assert figures == {"minimumCellCount": 5, "months": ["2026-11", "2026-10"]}
    october = json.loads((out / "figures/2026-10.json").read_text(encoding="utf-8"))
    assert {"category": "environment", "community": "110105001001", "month": "2026-10",
            "count": 7} in october["cells"]
    assert {"figures/2026-10.html", "en/figures/2026-11.html"} <= _site_files(out)
    listed = (out / "en/figures.html").read_text(encoding="utf-8")
    assert 'href="../en/figures/2026-10.html"' in listed
    month = (out / "en/figures/2026-10.html").read_text(encoding="utf-8")
    assert 'href="../../figures/2026-10.html"' in month  # the same month in Chinese
    assert 'name="community"' not in month  # no server to filter: no form


def test_from_a_server_equals_the_servers_pages(tmp_path: Path,
                                                documents: dict[str, Any]) -> None:
    out = tmp_path / "site"
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", demo=True))
    app.state.sc.service.load([documents["public"], documents["kept"], *documents["issues"],
                               *documents["voices"]])
    rid = documents["public"]["id"]
    with serving(app) as server:  # closes the app's store afterwards
        import httpx

        served = httpx.get(server.base_url + "/public/figures.json").json()
        october = httpx.get(server.base_url + "/public/figures/2026-10.json").json()
        page = httpx.get(f"{server.base_url}/public/consultations/{rid}").text
        assert run(["publish", "--base-url", server.base_url, "--out", str(out)]) == 0
    assert json.loads((out / "figures.json").read_text(encoding="utf-8")) == served
    assert json.loads((out / "figures/2026-10.json").read_text(encoding="utf-8")) == october
    files = _site_files(out)
    assert f"consultations/{rid}.html" in files
    written = (out / f"consultations/{rid}.html").read_text(encoding="utf-8")
    steps = re.compile(r'<li id="step-voices">.*?</li>', re.S)
    assert steps.findall(written) == steps.findall(page) != []
    assert not any(documents["kept"]["id"] in f for f in files)


def test_a_month_of_many_pages_is_a_file_per_page(tmp_path: Path) -> None:
    stats = IssueStatistics.from_counts(
        {("housing", f"110105001{n:03d}", "2026-10"): n for n in range(1, 8)}, 5)
    Site([], stats, per_page=3).write(tmp_path)
    files = _site_files(tmp_path)
    assert {"figures/2026-10.html", "figures/2026-10-after-110105001003.html",
            "figures/2026-10-after-110105001006.html", "en/figures/2026-10.html",
            "figures/2026-10.json", "figures/2026-10-after-110105001003.json",
            "figures/2026-10-after-110105001006.json"} <= files
    # following next from the first file reaches every cell once
    cells, path = [], tmp_path / "figures/2026-10.json"
    while True:
        page = json.loads(path.read_text(encoding="utf-8"))
        cells += page["cells"]
        if "next" not in page:
            break
        path = (path.parent / page["next"]).resolve()
    assert cells == [c.to_json() for c in stats.cells]
    first = (tmp_path / "figures/2026-10.html").read_text(encoding="utf-8")
    assert 'href="../figures/2026-10-after-110105001003.html"' in first


def test_the_home_page_is_a_file_per_page_newest_first(tmp_path: Path) -> None:
    """/req/public-pages/home-paged in files: following next from index.html reaches each
    published consultation once, the last stored first."""
    docs = [dict(example(LIFT, visibility="public"), title=f"议题{n}") for n in range(5)]
    Site(docs, IssueStatistics.from_counts({}, 5), home_per_page=2).write(tmp_path)
    for lang in ("", "en/"):
        shown, path = [], tmp_path / f"{lang}index.html"
        while True:
            page = path.read_text(encoding="utf-8")
            found = re.findall(r'href="[./]*(?:en/)?consultations/([^"/]+)\.html"', page)
            assert len(found) <= 2
            shown += found
            following = re.search(r'<a [^>]*href="([^"]+)" rel="next"', page)
            if following is None:
                break
            path = (path.parent / following[1]).resolve()
        assert shown == [d["id"] for d in reversed(docs)]


def test_an_id_that_leaves_the_folder_is_refused(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A consultation id is a file name of the site: one that is no resource id is refused,
    in both languages, and nothing is written, inside the folder or out of it."""
    doc = example(LIFT, visibility="public", id="../../../outside-x")
    source = _ndjson(tmp_path / "in.ndjson", [doc])
    out = tmp_path / "a" / "b" / "site"
    assert run(["publish", "--input", str(source), "--out", str(out)]) == 2
    said = capsys.readouterr().err
    assert "不是资源标识" in said and "is not a resource id" in said and "/id" in said
    assert _site_files(tmp_path) == {"in.ndjson"}


@settings(max_examples=60, deadline=None)
@given(rid=st.text(min_size=1, max_size=40) | st.sampled_from(
    ["..", "../x", "a/b", "/etc/passwd", "C:\\x", "3f2b8c1e-5d4a-4c6b-9e7f-0a1b2c3d4e5f\n",
     "3F2B8C1E-5D4A-4C6B-9E7F-0A1B2C3D4E5F"]))
def test_only_resource_ids_name_files(rid: str) -> None:
    """What a server sends (redacted already) names files only when it is a resource id; a
    month or community of its figures only when it is one."""
    pattern = r"[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    doc = dict(example(LIFT, visibility="public"), id=rid)
    with tempfile.TemporaryDirectory() as folder:
        site = Site([doc], IssueStatistics.from_counts({}, 5), redacted=True)
        if re.fullmatch(pattern, rid):
            site.write(Path(folder))
            assert (Path(folder) / f"consultations/{rid}.html").is_file()
        else:
            with pytest.raises(DocumentError):
                site.write(Path(folder))
            assert not any(Path(folder).iterdir())


@pytest.mark.parametrize(("member", "value"), [("month", "../../2026-10"),
                                               ("community", "../../../x")])
def test_figures_that_would_leave_the_folder_are_refused(tmp_path: Path, member: str,
                                                         value: str) -> None:
    """A month or community names files of the figures: one of another form is refused as a
    server sends it, and a community as issue files give it (their months are counted from
    times), before anything is written."""
    cell = {"category": "housing", "community": "110105001001", "month": "2026-10",
            "count": 5, member: value}
    with pytest.raises(DocumentError, match=f"/cells/0/{member}"):
        IssueStatistics.from_json({"minimumCellCount": 5, "cells": [cell]})
    if member == "month":
        return
    counted = IssueStatistics.from_counts(
        {(cell["category"], cell["community"], cell["month"]): 5}, 5)
    with pytest.raises(DocumentError, match="no file is named by it"):
        Site([], counted).write(tmp_path / "site")
    assert not any(tmp_path.iterdir())


def _open_vote(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` as it stands while its votes are open: ballots counted (record-votes), none
    closed yet, the running tally public once due."""
    cut = [e["action"] for e in doc["history"]].index("close-vote")
    doc["history"] = doc["history"][:cut]
    doc["status"] = "voting"
    for vote in doc["votes"]:
        vote["status"] = "open"
        vote["results"]["visibility"] = "public"
        for member in ("visibleFrom", "result", "quorumMet", "winningOptionId"):
            vote["results"].pop(member, None)
    for member in ("decision", "implementation", "feedback"):
        doc.pop(member, None)
    return doc


def _totals(doc: dict[str, Any]) -> list[str]:
    """Each option's running total as a page writes it."""
    return [f"{o['total']} 票" for v in doc["votes"] for o in v["results"]["tally"]["options"]]


def test_publishing_from_files_shows_no_running_tally(tmp_path: Path) -> None:
    """/req/public-pages/public-audience, /req/consultations/results-hidden: a consultation
    exported while its votes are open, their tally public once due, is published with the
    results "not yet published", as the server's page has them, on the page and the notice."""
    doc = _open_vote(example(LIFT, visibility="public"))
    out = tmp_path / "site"
    assert run(["publish", "--input", str(_ndjson(tmp_path / "in.ndjson", [doc])),
                "--out", str(out)]) == (0 if _font() else 1)
    for lang, said in (("", "尚未公布"), ("en/", "Not yet published")):
        page = (out / f"{lang}consultations/{doc['id']}.html").read_text(encoding="utf-8")
        assert said in page
        assert not [t for t in _totals(doc) if t in page]
        assert not re.search(r"\b30 votes\b", page)


_VOTE_STATUSES = ["planned", "open", "closed", "cancelled"]
#: results.visibleFrom relative to the moment the pages are made (None: not given)
_OFFSETS = st.none() | st.sampled_from([-86400 * 30, -60, 60, 86400 * 30])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_VOTE_STATUSES), _OFFSETS), min_size=2, max_size=2),
       st.sampled_from(["public", "community"]))
def test_the_static_page_withholds_the_results_the_server_withholds(
        votes: list[tuple[str, int | None]], visibility: str) -> None:
    """Whatever the votes' status and results.visibleFrom, the page written from files shows
    a vote's results exactly when the server's access rule gives them to the public: one rule,
    the library's."""
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    doc = example(LIFT, visibility="public")
    for vote, (status, offset) in zip(doc["votes"], votes, strict=True):
        vote["status"] = status
        vote["results"]["visibility"] = visibility
        vote["results"].pop("visibleFrom", None)
        if offset is not None:
            vote["results"]["visibleFrom"] = (now + timedelta(seconds=offset)).isoformat()
    spec = load_spec(doc["specVersion"])
    access = Access(spec)
    public = Principal(name="(public)", role=str(spec.privacy["recordAccess"]["anonymousRole"]),
                       communities=ALL)
    text = json.dumps(doc, ensure_ascii=False)
    served = access.present(public, Stored.prepared(1, doc, text, derive(doc)), now=now)
    assert served is not None
    shown = public_view(doc, now=now)
    assert [("results" in v) for v in shown["votes"]] == [
        ("results" in v) for v in served.document()["votes"]]
    page = consultation_page(shown, "zh-Hans", Links(), now=now)
    for vote, (status, offset) in zip(shown["votes"], votes, strict=True):
        due = (visibility == "public" and status == "closed"
               and (offset is None or offset <= 0))
        assert ("results" in vote) == due
    assert ("尚未公布" in page) == (not all("results" in v for v in shown["votes"]))
