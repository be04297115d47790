"""Checks of the public pages (/conf/public-pages): read without a token, only published
consultations as the public may read them, residents' voices with their replies and nobody
named, small statistics cells suppressed and served a month and a page at a time, the A4 notice.

The figures are read for one month at a time, filtered to the kit's own community: what the
checks send and read does not grow with the issues a city stores. The kit's issues keep the
spec example's time of submission, in a month long ended, whose figures are published; one
filed now checks that the running month's figures do not move with it.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from ...pointers import nodes
from ...transparency import FIGURES_PAGED, HOME_PAGED, month_of
from .._context import KitContext
from .._registry import Failed, Skipped, check
from ._people import held_resident
from ._shared import Tracked, named_proposer, new_issue, proposed
from ._voice import REPLY, _opinion, _proposal, _recorder

T = TypeVar("T")
PREFIX = "/public/"
#: the pages every server of the class serves without a token
PAGES = (PREFIX, PREFIX + "en/", PREFIX + "figures", PREFIX + "en/figures")
STATISTICS = PREFIX + "figures.json"
SMALL_CELLS = "/req/public-pages/small-cells"
#: pages of a month the paging check follows at most: enough to see pages follow each other,
#: few enough that a city's thousand communities cost the kit nothing more
FOLLOWED = 3
#: a month no issue can have been submitted in yet: its page is empty on every server
EMPTY_MONTH = "2999-12"


def _this_month() -> str:
    return month_of(datetime.now(UTC).isoformat())


def _month_page(month: str, *, lang: str = "", data: bool = False) -> str:
    """``/public/figures/{month}`` (``lang`` ``en/`` for English), or its ``.json``."""
    return f"{PREFIX}{lang}figures/{month}" + (".json" if data else "")
#: an A4 page in PDF points (210 × 297 mm), with a point of slack for rounding
A4 = (595.28, 841.89)
_MEDIA_BOX = re.compile(r"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]")


def _unique_words(ctx: KitContext, n: int = 6) -> str:
    return "".join(ctx.rng.choice("甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥") for _ in range(n))


def _consultation(ctx: KitContext, visibility: str, title: str,
                  proposer: str | None = None) -> Tracked:
    doc = proposed(ctx, [named_proposer(proposer)] if proposer else None)
    doc["visibility"] = visibility
    doc["title"] = title
    return Tracked(ctx, ctx.ensure_valid(doc, "(consultation for the public pages)"))


#: how long a page may lag a change (the requirements' 5 seconds), and the kit's poll
LAG = 5.0
POLL = 0.25


def _eventually(ctx: KitContext, read: Callable[[], T], done: Callable[[T], bool]) -> T:
    """``read()`` until ``done`` holds of it or the pages' allowed lag has passed."""
    deadline = time.monotonic() + LAG + 1.0
    got = read()
    while not done(got) and time.monotonic() < deadline:
        time.sleep(POLL)
        got = read()
    return got


def _page(ctx: KitContext, path: str) -> str:
    resp = ctx.call("GET", path)
    ctx.expect_status(resp, 200, zh=f"不带令牌读取 {path}", en=f"read {path} without a token")
    return resp.text


@check("/req/public-pages/no-token")
def test_public_pages_without_token(ctx: KitContext) -> None:
    # This month's figures of the kit's community only: a whole month of a city is not read.
    month, mine = _this_month(), {"community": ctx.preset.community}
    for path in (*PAGES, _month_page(month), _month_page(month, lang="en/")):
        resp = ctx.call("GET", path, params=mine if path.endswith(month) else None)
        ctx.expect_status(resp, 200, zh=f"不带令牌读取 {path}", en=f"read {path} without a token")
        ctx.expect(resp.media_type == "text/html",
                   f"{path} 的媒体类型是 {resp.media_type}，应为 text/html",
                   f"{path} is served as {resp.media_type}, not text/html")
    home = _page(ctx, PREFIX)
    ctx.expect(f'href="{PREFIX}en/' in home or 'href="en/' in home,
               "中文首页没有切换到英文页面的链接", "the Chinese home page has no link to English")
    # The data: the list of months, and this month's cells of the kit's community.
    for path, params, member in ((STATISTICS, None, "months"),
                                 (_month_page(month, data=True), mine, "cells")):
        resp = ctx.call("GET", path, params=params)
        ctx.expect_status(resp, 200, zh=f"不带令牌读取 {path}", en=f"read {path} without a token")
        body = resp.json()
        ctx.expect(isinstance(body, dict) and isinstance(body.get(member), list),
                   f"{path} 不是带 {member} 列表的 JSON 对象",
                   f"{path} is not a JSON object with a list of {member}")


@check("/req/public-pages/published-only")
def test_only_published_consultations(ctx: KitContext) -> None:
    shown = _consultation(ctx, "public", "公开议题" + _unique_words(ctx))
    kept = _consultation(ctx, "community", "社区内部议题" + _unique_words(ctx))
    for home in (PREFIX, PREFIX + "en/"):
        def read(path: str = home) -> str:
            return _page(ctx, path)

        text = _eventually(ctx, read, lambda t: shown.doc["title"] in t)
        ctx.expect(shown.doc["title"] in text, f"{home} 没有列出公开的协商",
                   f"{home} does not list the public consultation")
        ctx.expect(kept.doc["title"] not in text, f"{home} 列出了只对社区可见的协商",
                   f"{home} lists a consultation visible to the community only")
    for path in (f"{PREFIX}consultations/{kept.id}", f"{PREFIX}en/consultations/{kept.id}",
                 f"{PREFIX}consultations/{kept.id}/notice.pdf",
                 f"{PREFIX}en/consultations/{kept.id}/notice.pdf"):
        resp = ctx.call("GET", path)
        ctx.expect_status(resp, 404, zh=f"{path} 是不公开的协商", en=f"{path} is not published")
    text = _page(ctx, f"{PREFIX}consultations/{shown.id}")
    ctx.expect(shown.doc["title"] in text, "公开协商的页面没有它的标题",
               "the page of the public consultation lacks its title")


class _Anchors(HTMLParser):
    """The links of a page: each ``<a>``'s ``href`` and ``rel``."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            given = dict(attrs)
            self.links.append((given.get("href") or "", given.get("rel") or ""))


def _home_page(ctx: KitContext, path: str) -> tuple[list[str], str | None]:
    """The consultation ids a page of the home page links, in order, and its rel=next link
    (as a path on the server)."""
    anchors = _Anchors()
    anchors.feed(_page(ctx, path))
    ids = list(dict.fromkeys(found[1] for href, _ in anchors.links
                             if (found := _CONSULTATION_LINK.search(href))))
    following = next((href for href, rel in anchors.links if "next" in rel.split()), None)
    return ids, None if following is None else _local(ctx, path, following)


#: a link to a consultation's page (not to its notice)
_CONSULTATION_LINK = re.compile(r"consultations/([^/?#]+?)(?:\.html)?(?:[?#].*)?$")
#: pages of the home page the paging check follows at most beyond the kit's own consultations
HOME_FOLLOWED = 2


@check(HOME_PAGED)
def test_home_page_newest_first_a_page_at_a_time(ctx: KitContext) -> None:
    size = int(ctx.spec.parameter(HOME_PAGED, "consultationsPerPage"))

    def bounded(url: str, ids: list[str]) -> None:
        ctx.expect(len(ids) <= size, f"{url} 一页列出 {len(ids)} 项协商，多于 {size}",
                   f"{url} lists {len(ids)} consultations on a page, more than {size}")

    first, following = _home_page(ctx, PREFIX)
    bounded(PREFIX, first)
    # More public consultations than a page holds, the kit's own the newest of them.
    made: list[str] = []
    for n in range(size + 1 if following is None and len(first) <= size else 2):
        doc = proposed(ctx)
        doc.update(visibility="public", title=f"首页分页 {n + 1} {_unique_words(ctx)}")
        ctx.expect_status(ctx.create(ctx.ensure_valid(doc, "(public consultation)")), 201,
                          zh="创建公开的协商", en="create a public consultation")
        made.append(str(doc["id"]))
    for lang in ("", "en/"):
        home = PREFIX + lang

        def read(path: str = home) -> tuple[list[str], str | None]:
            return _home_page(ctx, path)

        ids, url = _eventually(ctx, read, lambda got: made[-1] in got[0])
        bounded(home, ids)
        seen, pages = list(ids), 1
        # Page by page until the kit's consultations are all seen and a page after them.
        while url is not None and (set(made) - set(seen) or pages < HOME_FOLLOWED):
            ids, url2 = _home_page(ctx, url)
            bounded(url, ids)
            repeated = sorted(set(ids) & set(seen))
            ctx.expect(not repeated, f"{url} 又列出了前面页面上的协商 {', '.join(repeated)}",
                       f"{url} lists again consultations of the pages before: "
                       f"{', '.join(repeated)}")
            seen += ids
            url, pages = url2, pages + 1
        mine = [rid for rid in seen if rid in made]
        ctx.expect(mine == made[::-1],
                   f"{home} 没有把本测试新建的 {len(made)} 项公开协商从新到旧各列一次"
                   f"（列出 {len(mine)} 项）",
                   f"{home} does not list the kit's {len(made)} new public consultations "
                   f"newest first, each once ({len(mine)} listed)")
    resp = ctx.call("GET", PREFIX, params={"after": "不是位置"})
    ctx.expect(resp.status == 400 and resp.media_type == "application/problem+json"
               and "after" in resp.text,
               f"{PREFIX}?after=不是位置 应答 {resp.status}，应为指明 after 的 400 problem+json",
               f"{PREFIX}?after=<not a place> answers {resp.status}, not a 400 problem+json "
               "naming after")


def _notices(rid: str) -> tuple[str, str]:
    """The paths of a consultation's notices, Chinese and English."""
    return (f"{PREFIX}consultations/{rid}/notice.pdf",
            f"{PREFIX}en/consultations/{rid}/notice.pdf")


def _compact(text: str) -> str:
    """``text`` without white space: a PDF breaks lines and spaces glyphs as it lays them out."""
    return "".join(text.split())


def _notice_text(ctx: KitContext, path: str, title: str) -> str:
    """The text of the notice at ``path`` without white space, read from the PDF (its streams
    are compressed, so the bytes say nothing); the consultation's ``title`` must be in it, so
    that a notice whose text cannot be read is not taken for one that names nobody."""
    from pypdf import PdfReader

    resp = ctx.call("GET", path)
    ctx.expect_status(resp, 200, zh=f"不带令牌读取公示 {path}",
                      en=f"read the notice {path} without a token")
    try:
        text = "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(
            resp.content)).pages)
    except Exception as exc:  # whatever breaks the reader, the file is the server's
        raise Failed(f"无法读取公示 {path} 的文字（{type(exc).__name__}）",
                     f"the text of the notice {path} cannot be read ({type(exc).__name__})"
                     ) from exc
    compact = _compact(text)
    ctx.expect(_compact(title) in compact,
               f"公示 {path} 的文字中没有协商的标题（文字无法读取，或公示不是这项协商的）",
               f"the text of the notice {path} lacks the consultation's title (its text cannot "
               "be read, or it is not this consultation's notice)")
    return compact


@check("/req/public-pages/public-audience")
def test_no_resident_identity(ctx: KitContext) -> None:
    name = _unique_words(ctx, 4)
    shown = _consultation(ctx, "public", "公开议题" + _unique_words(ctx), proposer=name)
    for path in (f"{PREFIX}consultations/{shown.id}", f"{PREFIX}en/consultations/{shown.id}",
                 PREFIX):
        text = _page(ctx, path)
        ctx.expect(name not in text, f"{path} 出现了提议居民的姓名 {name}",
                   f"{path} shows the name of the resident who proposed it ({name})")
    # The notices too, read as text: a name in a compressed stream is not in the bytes.
    for path in _notices(shown.id):
        text = _notice_text(ctx, path, shown.doc["title"])
        ctx.expect(name not in text, f"公示 {path} 印有提议居民的姓名 {name}",
                   f"the notice {path} prints the name of the resident who proposed it ({name})")


#: a requirement of residents' voice: its class is the one whose records the page lists
VOICE_REQUIREMENT = "/req/voice/public-without-author"


def _identities(doc: Any) -> set[str]:
    """The names, user ids and resident ids of the people in a stored voice document."""
    found: set[str] = set()
    for node in nodes(doc):
        if not isinstance(node, dict):
            continue
        for key in ("name", "userId"):
            if "role" in node and isinstance(node.get(key), str) and len(node[key]) >= 2:
                found.add(node[key])
        for key in ("resident", "onBehalfOf"):
            ref = node.get(key)
            if isinstance(ref, dict) and isinstance(ref.get("id"), str):
                found.add(ref["id"])
    return found


@check("/req/public-pages/voices")
def test_voices_with_replies_and_nobody_named(ctx: KitContext) -> None:
    voice = ctx.spec.requirements.get(VOICE_REQUIREMENT)
    if voice is None or voice.conformance_class not in ctx.declared:
        # The requirement binds servers of residents' voice only: without it a page has no
        # voices to list, which leaves nothing to verify rather than something unverified.
        return
    shown = _consultation(ctx, "public", "公开议题" + _unique_words(ctx))
    on = {"resourceType": shown.doc["resourceType"], "id": shown.id}
    recorder = _recorder(ctx)
    words = {key: key + _unique_words(ctx, 8) for key in
             ("agreed", "withheld", "reply", "reasons", "title")}
    agreed = Tracked(ctx, _opinion(ctx, behalf=held_resident(ctx), consultation=shown.id,
                                   textPublic=True, text=words["agreed"]), recorder)
    withheld = Tracked(ctx, _opinion(ctx, behalf=held_resident(ctx), consultation=shown.id,
                                     textPublic=False, text=words["withheld"]), recorder)
    withheld.act(REPLY, {"details": {"reply": {
        "outcome": "not-adopted", "text": words["reply"], "reasons": words["reasons"]}}},
        ctx.staff)
    proposal = Tracked(ctx, _proposal(ctx, 7, consultation=on, title=words["title"]))
    people: set[str] = set()
    for item in (agreed, withheld, proposal):  # as stored: who spoke, for whom, who answered
        people |= _identities(ctx.read(item.doc["resourceType"], item.id, ctx.staff).json())
    for path in (f"{PREFIX}consultations/{shown.id}", f"{PREFIX}en/consultations/{shown.id}"):
        def read(page: str = path) -> str:
            return _page(ctx, page)

        text = _eventually(ctx, read, lambda t: words["reply"] in t and words["title"] in t)
        for key, what in (("reply", "意见的答复 / the reply to an opinion"),
                          ("reasons", "答复的理由 / the reasons of a reply"),
                          ("title", "提案的标题 / a proposal's title"),
                          ("agreed", "作者同意公开的意见内容 / an opinion its author agreed to "
                                     "publish")):
            zh, en = what.split(" / ")
            ctx.expect(words[key] in text, f"{path} 没有列出{zh}", f"{path} lacks {en}")
        ctx.expect(words["withheld"] not in text, f"{path} 出现了作者未同意公开的意见内容",
                   f"{path} shows an opinion whose author did not agree to publish it")
        leaked = sorted(who for who in people if who in text)
        ctx.expect(not leaked, f"{path} 出现了意见的作者、记录对象或答复人：{'、'.join(leaked)}",
                   f"{path} names an opinion's author, the resident it was recorded for or "
                   f"who replied: {', '.join(leaked)}")


def _group(category: str) -> str:
    return category.split(".", 1)[0]


def _groups(ctx: KitContext) -> list[str]:
    """The top-level groups of the issue-category codelist: the rows every community has."""
    return [c for c in ctx.spec.codelist("issue-category") if "." not in c]


def _running_month(ctx: KitContext) -> str | None:
    """The China-time month the server's clock is in, None within a minute of its turn (the
    kit and the server could then disagree on it)."""
    now = ctx.server_now()
    if month_of((now - timedelta(minutes=1)).isoformat()) != month_of(
            (now + timedelta(minutes=1)).isoformat()):
        return None
    return month_of(now.isoformat())


@check(SMALL_CELLS)
def test_small_cells_suppressed(ctx: KitContext) -> None:
    threshold = int(ctx.spec.parameter(SMALL_CELLS, "minimumCellCount"))
    template = new_issue(ctx)
    groups = _groups(ctx)
    month = month_of(str(template["submittedAt"]))
    community = str(template.get("communityDivisionCode"))
    where = {"community": community}
    data = _month_page(month, data=True)
    running = _running_month(ctx)
    if running is not None and month >= running:
        raise Skipped(f"诉求模板的提交月份 {month} 尚未结束，其统计尚未公布",
                      f"the issue template's month of submission, {month}, has not ended: its "
                      "figures are not published yet")
    # The kit's issues must show within the pages' lag, yet a cell moving among the small ones
    # shows nothing: one more issue of a group already published, or as many as the threshold
    # of one still suppressed, whose count then shows.
    before = _json(ctx, data, where)

    def counted(body: Any) -> dict[str, int]:
        cells = (body.get("cells") if isinstance(body, dict) else None) or []
        return {_group(str(c.get("category"))): c["count"] for c in cells
                if isinstance(c, dict) and c.get("community") == community
                and c.get("month") == month and type(c.get("count")) is int}

    shown = counted(before)
    others = [g for g in reversed(groups) if g != _group(str(template["category"]))]
    if shown:
        target = min(shown, key=lambda g: shown[g])
        filed, expected = 1, shown[target] + 1
    else:
        target, filed, expected = (others or groups)[0], threshold, threshold
    # And one issue of a group still suppressed, so that a cell holds a few (earlier runs fill
    # cells): a total would then differ from every count shown.
    rare = next((g for g in others if g != target and g not in shown), None)
    # The month's data and page read before the issues are stored: one kept from then and
    # served after the writes would leave them uncounted.
    for path in (data, _month_page(month)):
        ctx.call("GET", path, params=where)
    for group in ([rare] if rare is not None else []) + [target] * filed:
        Tracked(ctx, new_issue(ctx, category=group))

    def mine(cells: list[Any]) -> list[Any]:
        return [c for c in cells if isinstance(c, dict) and c.get("community") == community
                and c.get("month") == month]

    body = _eventually(ctx, lambda: _json(ctx, data, where),
                       lambda b: counted(b).get(target, 0) >= expected)
    ctx.expect(counted(body).get(target, 0) >= expected,
               f"存储 {filed} 件 {target} 类诉求 {LAG:.0f} 秒后，{data}?community={community} 的"
               f"该格仍不是至少 {expected} 件",
               f"{LAG:.0f} s after {filed} {target} issues were stored, the cell of "
               f"{data}?community={community} does not show at least {expected}")
    cells: list[Any] = (body.get("cells") if isinstance(body, dict) else None) or []
    ctx.expect(isinstance(body, dict) and body.get("minimumCellCount") == threshold,
               f"统计数据声明的阈值不是 {threshold}",
               f"the statistics do not state the threshold {threshold}")
    for cell in cells:
        count = cell.get("count") if isinstance(cell, dict) else None
        ctx.expect(count is None or (isinstance(count, int) and count >= threshold),
                   f"统计中有少于 {threshold} 件的格给出了数字：{cell}",
                   f"a cell below {threshold} issues shows its number: {cell}")
    # Every group once, an empty cell as a small one: a cell left out would be 0, telling the
    # suppressed ones (1 to threshold - 1) apart from it.
    seen = Counter(_group(str(c.get("category"))) for c in mine(cells))
    missing = [g for g in groups if not seen[g]]
    ctx.expect(not missing,
               f"{data}?community={community} 缺少大类 {'、'.join(missing)} 的格：没有诉求的格"
               f"不给出，被抑制的格就看得出不是 0",
               f"{data}?community={community} has no cell for the groups {', '.join(missing)}: "
               f"with empty cells left out, a suppressed cell is known not to be 0")
    twice = sorted(g for g, n in seen.items() if n > 1)
    ctx.expect(not twice, f"{data} 的大类 {'、'.join(twice)} 出现了不止一次",
               f"{data} gives the groups {', '.join(twice)} more than once")
    uneven = sorted({json.dumps(sorted(c)) for c in mine(cells) if "count" not in c})
    ctx.expect(len(uneven) <= 1 and all(c.get("suppressed") is True for c in mine(cells)
                                        if "count" not in c),
               f"{data} 的被抑制的格形式不一：{'；'.join(uneven)}",
               f"the suppressed cells of {data} are not all alike: {'; '.join(uneven)}")
    # No total beside the cells: the data has only the members the OpenAPI defines...
    members, cell_members = _figures_members(ctx)
    extra = sorted(set(body) - members) if isinstance(body, dict) else []
    ctx.expect(not extra, f"{data} 给出了 OpenAPI 未定义的成员：{'、'.join(extra)}",
               f"{data} gives members the OpenAPI does not define: {', '.join(extra)}")
    extra = sorted({k for c in cells if isinstance(c, dict) for k in c} - cell_members)
    ctx.expect(not extra, f"{data} 的格带有 OpenAPI 未定义的成员：{'、'.join(extra)}",
               f"the cells of {data} carry members the OpenAPI does not define: "
               f"{', '.join(extra)}")
    pages: dict[str, str] = {}
    for path in (_month_page(month), _month_page(month, lang="en/")):
        resp = ctx.call("GET", path, params=where)
        ctx.expect_status(resp, 200, zh=f"不带令牌读取 {path}", en=f"read {path} without a token")
        text = pages[path] = resp.text
        shown_counts = [int(n) for n in re.findall(r'data-count="(\d+)"', text)]
        ctx.expect(all(n >= threshold for n in shown_counts),
                   f"{path} 给出了少于 {threshold} 件的格",
                   f"{path} shows a cell below {threshold}")
    # ... and the pages no number the cells could add up to with a suppressed one among them,
    # nor a 0 telling an empty cell from a small one. The data is read again after the pages,
    # which may have been made in between.
    again = _json(ctx, data, where)
    readings = [cells, (again.get("cells") if isinstance(again, dict) else None) or []]
    counts = [[c.get("count") if isinstance(c, dict) and isinstance(c.get("count"), int)
               and not c.get("suppressed") else None for c in read] for read in readings]
    published = {n for read in counts for n in read if n is not None}
    hidden = set().union(*(_sums_with_suppressed(read, threshold) for read in counts))
    for path, text in pages.items():
        numbers = _numbers(text, month)
        totals = sorted(n for n in numbers
                        if n in hidden and n not in published and n != threshold)
        ctx.expect(not totals,
                   f"{path} 写出了可能是含被抑制格的合计的数字：{'、'.join(map(str, totals))}",
                   f"{path} shows numbers that may be totals including a suppressed cell: "
                   f"{', '.join(map(str, totals))}")
        ctx.expect(0 not in numbers,
                   f"{path} 写出了 0：没有诉求的格应与少于 {threshold} 件的格相同",
                   f"{path} shows a 0: an empty cell should read as one below {threshold} does")


@check(SMALL_CELLS)
def test_the_running_month_is_not_published(ctx: KitContext) -> None:
    """A filing now changes no figure: the running month is published once it has ended, so
    that a reader polling the pages learns neither when an issue came nor a cell's step."""
    running = _running_month(ctx)
    if running is None:
        raise Skipped("服务器的时钟在月份交替的一分钟内，本月尚难确定",
                      "the server's clock is within a minute of a month's turn: which month "
                      "runs is not clear yet")
    community = ctx.preset.community
    where = {"community": community}
    data, page = _month_page(running, data=True), _month_page(running)

    def read() -> list[Any]:
        return [_json(ctx, STATISTICS), _json(ctx, data, where), _json(ctx, data),
                ctx.call("GET", page, params=where).text]

    before = read()
    doc = new_issue(ctx)
    doc["submittedAt"] = ctx.moment()
    doc["history"][0]["at"] = doc["submittedAt"]
    doc = ctx.ensure_valid(doc, "(issue filed now)")
    Tracked(ctx, doc)
    time.sleep(LAG + 1.0)  # the most the figures may lag a write that changes them
    after = read()
    listed = after[0].get("months") if isinstance(after[0], dict) else None
    early = sorted(m for m in listed or () if isinstance(m, str) and m >= running)
    ctx.expect(not early, f"{STATISTICS} 列出了尚未结束的月份：{'、'.join(early)}",
               f"{STATISTICS} lists months that have not ended: {', '.join(early)}")
    for body in after[1:3]:
        cells = (body.get("cells") if isinstance(body, dict) else None) or []
        ctx.expect(not cells, f"本月（{running}）尚未结束，{data} 却给出了格",
                   f"{data} gives cells though the month ({running}) has not ended")
    changed = [what for what, a, b in zip((STATISTICS, f"{data}?community={community}", data,
                                           f"{page}?community={community}"), before, after,
                                          strict=True) if a != b]
    ctx.expect(not changed, f"刚提交的诉求改变了 {'、'.join(changed)}：读者可以知道它提交的时刻",
               f"an issue filed now changed {', '.join(changed)}: a reader learns when it came")


def _figures_members(ctx: KitContext) -> tuple[set[str], set[str]]:
    """The members the OpenAPI defines for a month's data and for each of its cells."""
    schema = ctx.spec.operation("getPublicFiguresMonthData")["responses"]["200"]["content"][
        "application/json"]["schema"]
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        schema = ctx.spec.openapi
        for step in ref[2:].split("/"):
            schema = schema[step]
    cells = schema["properties"]["cells"]["items"]
    return set(schema["properties"]), set(cells.get("properties") or ())


def _sums_with_suppressed(counts: list[int | None], threshold: int) -> set[int]:
    """Every number that some of the cells (``None``: suppressed, 0 to ``threshold`` - 1,
    an empty cell being one) add up to with at least one suppressed cell among them: a total
    that would give one back, were it only by telling that it is 0."""
    clear, hidden = {0}, set[int]()
    for count in counts:
        if count is None:
            hidden |= {s + k for s in clear | hidden for k in range(threshold)}
        else:
            hidden |= {s + count for s in hidden}
            clear |= {s + count for s in clear}
    return hidden


class _Text(HTMLParser):
    """The text a page shows, outside its forms (which say how to enter a code), scripts and
    styles."""

    SKIP = frozenset({"form", "script", "style", "template"})

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth:
            self.parts.append(data)


def _numbers(page: str, month: str) -> set[int]:
    """The numbers a month's page shows in its text, its month written as a date left out
    (2026-01, 2026/1, 2026 年 1 月, 01/2026) and its year allowed alone."""
    parser = _Text()
    parser.feed(page)
    year, mon = month[:4], int(month[5:7])
    text = re.sub(rf"(?<!\d){year}\s*[-/.年]\s*0?{mon}(?!\d)|(?<!\d)0?{mon}\s*[-/.]\s*{year}"
                  r"(?!\d)", " ", " ".join(parser.parts))
    return {int(n) for n in re.findall(r"\d+", text)} - {int(year)}


def _json(ctx: KitContext, path: str, params: dict[str, str] | None = None) -> Any:
    """The JSON a public path answers (None when it answers none)."""
    resp = ctx.call("GET", path, params=params)
    try:
        return resp.json() if resp.status == 200 else None
    except ValueError:
        return None


def _cells_of(ctx: KitContext, body: Any, what: str) -> list[dict[str, Any]]:
    ctx.expect(isinstance(body, dict) and isinstance(body.get("cells"), list)
               and all(isinstance(c, dict) for c in body["cells"]),
               f"{what}不是带 cells 列表的 JSON 对象",
               f"{what} is not a JSON object with a list of cells")
    return list(body["cells"])


@check(FIGURES_PAGED)
def test_figures_a_month_and_a_page_at_a_time(ctx: KitContext) -> None:
    size = int(ctx.spec.parameter(FIGURES_PAGED, "communitiesPerPage"))
    community = ctx.preset.community
    month = month_of(str(Tracked(ctx, new_issue(ctx)).doc["submittedAt"]))
    # A second community's issue this month, when the preset has one, so that the month has
    # more than one community to page through and to filter out.
    other = ctx.preset.other_community
    if other and other != community:
        neighbour = ctx.preset.by_role(ctx.staff_role, community=other)
        if neighbour is not None:
            theirs = json.loads(json.dumps(new_issue(ctx), ensure_ascii=False)
                                .replace(community, other))
            theirs.pop("gridCode", None)  # the template's grid lies in the kit's community
            # Not followed: the kit's staff may not read it. Refused, the month has one
            # community fewer, which the checks below hold to the same rules.
            ctx.create(ctx.ensure_valid(theirs, "(issue of another community)"), neighbour)
    data = _month_page(month, data=True)

    # The list of months: newest first, each once, links only (no count, no total).
    listing = _eventually(ctx, lambda: _json(ctx, STATISTICS),
                          lambda b: isinstance(b, dict) and month in (b.get("months") or []))
    months = listing.get("months") if isinstance(listing, dict) else None
    ctx.expect(isinstance(months, list) and month in months,
               f"{STATISTICS} 没有列出本月（{month}）", f"{STATISTICS} does not list {month}")
    assert isinstance(months, list) and isinstance(listing, dict)
    ctx.expect(all(isinstance(m, str) and re.fullmatch(r"\d{4}-\d{2}", m) for m in months)
               and months == sorted(set(months), reverse=True),
               f"{STATISTICS} 的月份不是按新到旧排列、各出现一次的 YYYY-MM",
               f"the months of {STATISTICS} are not YYYY-MM, newest first, each once")
    extra = ", ".join(sorted(set(listing) - {"minimumCellCount", "months"}))
    ctx.expect(not extra, f"{STATISTICS} 除月份外还给出了 {extra}",
               f"{STATISTICS} gives more than the months: {extra}")
    # Every month from the first published to the last: none left out for having no issues,
    # which would tell a month's total of 0 from a few.
    if all(isinstance(m, str) and re.fullmatch(r"\d{4}-\d{2}", m) for m in months) and months:
        keys = [int(m[:4]) * 12 + int(m[5:7]) for m in months]
        gaps = [months[i] for i in range(1, len(keys)) if keys[i - 1] - keys[i] != 1]
        ctx.expect(not gaps, f"{STATISTICS} 的月份不连续（{'、'.join(gaps[:3])} 之前缺月份）",
                   f"the months of {STATISTICS} are not consecutive (months missing before "
                   f"{', '.join(gaps[:3])})")

    # Filtered to one community: that community's cells of that month, nothing else.
    def own(body: Any) -> bool:
        return isinstance(body, dict) and any(
            isinstance(c, dict) and c.get("community") == community
            for c in body.get("cells") or [])

    found = _eventually(ctx, lambda: _json(ctx, data, {"community": community}), own)
    cells = _cells_of(ctx, found, f"{data}?community={community}")
    ctx.expect(bool(cells), f"{data}?community={community} 没有本社区本月的格",
               f"{data}?community={community} has no cell of the community this month")
    strays = ", ".join(sorted({f"{c.get('community')} {c.get('month')}" for c in cells
                               if c.get("community") != community or c.get("month") != month}))
    ctx.expect(not strays, f"{data}?community={community} 给出了其他社区或月份的格：{strays}",
               f"{data}?community={community} gives cells of other communities or months: "
               f"{strays}")
    for lang in ("", "en/"):
        path = _month_page(month, lang=lang)
        resp = ctx.call("GET", path, params={"community": community})
        ctx.expect_status(resp, 200, zh=f"读取 {path}?community=", en=f"read {path}?community=")
        ctx.expect(community in resp.text, f"{path}?community={community} 没有写出该社区",
                   f"{path}?community={community} does not show the community")

    # A month without issues is a page without cells, whatever community is asked for.
    empty = _json(ctx, _month_page(EMPTY_MONTH, data=True), {"community": community})
    ctx.expect(_cells_of(ctx, empty, _month_page(EMPTY_MONTH, data=True)) == [],
               f"没有诉求的月份 {EMPTY_MONTH} 给出了格（页面没有只给出所要的月份）",
               f"the month {EMPTY_MONTH}, without issues, gives cells (the page does not hold "
               "the month asked for only)")

    # Page by page: one month, at most the spec's number of communities, each community after
    # the last one of the page before, so that following next reaches each exactly once.
    url: str | None = data
    last, read = "", 0
    while url is not None and read < FOLLOWED:
        body = _json(ctx, url)
        read += 1
        cells = _cells_of(ctx, body, url)
        assert isinstance(body, dict)
        ctx.expect(all(c.get("month") == month for c in cells),
                   f"{url} 给出了 {month} 以外月份的格", f"{url} gives cells of months other "
                   f"than {month}")
        shown = list(dict.fromkeys(str(c.get("community")) for c in cells))
        ctx.expect(len(shown) <= size, f"{url} 一页有 {len(shown)} 个社区，多于 {size}",
                   f"{url} holds {len(shown)} communities, more than {size}")
        order = [str(c.get("community")) for c in cells]
        ctx.expect(order == sorted(order) and all(c > last for c in shown),
                   f"{url} 的社区没有接着上一页按代码排列（有社区重复出现或次序错乱）",
                   f"the communities of {url} do not follow the page before in code order (a "
                   "community comes again or out of order)")
        last = shown[-1] if shown else last
        following = body.get("next")
        ctx.expect(following is None or bool(shown), f"{url} 没有格却还有下一页",
                   f"{url} holds no cells yet has a next page")
        url = None if not isinstance(following, str) else _local(ctx, url, following)

    # Malformed parameters are refused, naming which: a month of the year 0000 too, which no
    # calendar has.
    for path, query, name in ((_month_page("2026-13", data=True), "", "month"),
                              (_month_page("0000-01", data=True), "", "month"),
                              (_month_page("0000-12", lang="en/"), "", "month"),
                              (data, "?community=not-a-code", "community"),
                              (data, "?after=not-a-code", "after")):
        resp = ctx.call("GET", path + query)
        ctx.expect(resp.status == 400, f"{path}{query} 应答 {resp.status}，应为 400",
                   f"{path}{query} answers {resp.status}, not 400")
        ctx.expect(resp.media_type == "application/problem+json" and name in resp.text,
                   f"{path}{query} 的 400 应答不是指明参数 {name} 的 problem+json",
                   f"the 400 of {path}{query} is not problem+json naming the parameter {name}")


def _local(ctx: KitContext, page: str, following: str) -> str:
    """The path of ``following`` (a next link, resolved against ``page``) on the server."""
    base = str(ctx.client.base_url).rstrip("/")
    resolved = urljoin(base + page, following)
    parts = urlsplit(resolved)
    root = urlsplit(base).path
    path = parts.path[len(root):] if root and parts.path.startswith(root) else parts.path
    return path + (f"?{parts.query}" if parts.query else "")


#: the codelists of a consultation's status, categories and notice channels
STATUS, CONTENT, CHANNEL = ("consultation-status", "consultation-content",
                            "consultation-publication-channel")
#: English months, as a page may write a date
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                "dec")


def _written(on: date) -> re.Pattern[str]:
    """``on`` as a page or notice may write it, white space removed: 2026-07-04, 2026/7/4,
    2026年7月4日, 4 July 2026, July 4, 2026."""
    y, m, d, name = on.year, on.month, on.day, _MONTH_NAMES[on.month - 1]
    end = r"(?:(?!\d)|(?=\d\d:\d\d))"  # the time may follow, the space between removed
    return re.compile(rf"(?<!\d){y}[-/.年]0?{m}[-/.月]0?{d}{end}"
                      rf"|(?<!\d)0?{d}(?:st|nd|rd|th)?(?:of)?{name}[a-z]*\.?,?{y}{end}"
                      rf"|{name}[a-z]*\.?0?{d}(?:st|nd|rd|th)?,?{y}{end}", re.IGNORECASE)


@check("/req/public-pages/notice-pdf")
def test_notice_pdf(ctx: KitContext) -> None:
    # A deadline written in UTC whose day in China is the next: printed as written, the day
    # before would show.
    utc_day = (datetime.now(UTC) + timedelta(days=40)).date()
    china_day = utc_day + timedelta(days=1)
    doc = proposed(ctx)
    doc.update(visibility="public", title="公开议题" + _unique_words(ctx),
               notice={"publishedAt": ctx.moment(), "channels": [next(iter(
                   ctx.spec.codelist(CHANNEL)))], "deadline": f"{utc_day}T20:30:00Z"})
    shown = Tracked(ctx, ctx.ensure_valid(doc, "(consultation with a notice)"))
    for path in _notices(shown.id):
        _expect_a4_pdf(ctx, path)
    # Each notice says what the page in its language says, times in China Standard Time.
    for lang, page, path in (("zh-Hans", f"{PREFIX}consultations/{shown.id}",
                              _notices(shown.id)[0]),
                             ("en", f"{PREFIX}en/consultations/{shown.id}",
                              _notices(shown.id)[1])):
        parser = _Text()
        parser.feed(_page(ctx, page))
        texts = {page: _compact(" ".join(parser.parts)),
                 path: _notice_text(ctx, path, shown.doc["title"])}
        facts = [ctx.spec.codelist(STATUS).title(str(shown.doc["status"]), lang),
                 *(ctx.spec.codelist(CONTENT).title(str(c), lang)
                   for c in shown.doc.get("categories") or ())]
        for where, text in texts.items():
            missing = [fact for fact in facts if _compact(fact) not in text]
            ctx.expect(not missing,
                       f"{where} 没有写出协商的当前状态或事项类别：{'、'.join(missing)}",
                       f"{where} does not show the consultation's status or categories: "
                       f"{', '.join(missing)}")
            ctx.expect(_written(china_day).search(text) is not None,
                       f"{where} 没有以北京时间写出意见截止日 {china_day}（截止时间为 "
                       f"{utc_day}T20:30:00Z）",
                       f"{where} does not show the comment deadline on its day in China "
                       f"Standard Time, {china_day} (the deadline is {utc_day}T20:30:00Z)")
            ctx.expect(_written(utc_day).search(text) is None,
                       f"{where} 把意见截止日写成 {utc_day}：时间没有换算为北京时间",
                       f"{where} shows the comment deadline on {utc_day}: the time is not "
                       "shown in China Standard Time")


def _expect_a4_pdf(ctx: KitContext, path: str) -> None:
    resp = ctx.call("GET", path)
    ctx.expect_status(resp, 200, zh=f"不带令牌读取公示 {path}",
                      en=f"read the notice {path} without a token")
    ctx.expect(resp.media_type == "application/pdf",
               f"公示 {path} 的媒体类型是 {resp.media_type}",
               f"the notice {path} is served as {resp.media_type}")
    ctx.expect(resp.text.startswith("%PDF-"), f"公示 {path} 不是 PDF 文件",
               f"the notice {path} is not a PDF file")
    boxes = [tuple(float(v) for v in m.groups()) for m in _MEDIA_BOX.finditer(resp.text)]
    ctx.expect(bool(boxes), f"公示 {path} 中找不到页面尺寸（MediaBox）",
               f"no page size (MediaBox) found in the notice {path}")
    for x0, y0, x1, y1 in boxes:
        ctx.expect(abs((x1 - x0) - A4[0]) <= 1 and abs((y1 - y0) - A4[1]) <= 1,
                   f"公示页面不是 A4 纵向：{x1 - x0:.1f} × {y1 - y0:.1f} 磅",
                   f"a page of the notice is not A4 portrait: {x1 - x0:.1f} × {y1 - y0:.1f} pt")
