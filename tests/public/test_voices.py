"""Residents' voice on the public pages: every opinion and proposal of a published consultation
with its reply, an opinion's text only where its author agreed, and never who spoke, who was
recorded for or who supported (/req/public-pages/voices)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

# the kit judges a page by the same people: every name, user id and resident id of a voice
from smartcommunity.conformance.checks._public import _identities
from smartcommunity.transparency import Links, consultation_page, public_view, timeline

from .helpers import LIFT, RESIDENT_NAME, example, voices_on


def _text(page: str) -> str:
    return re.sub(r"<[^>]+>", "", page)


def test_the_lift_consultations_page_shows_every_reply_and_the_agreed_texts(
        client: TestClient, documents: dict[str, Any]) -> None:
    public, voices = documents["public"], documents["voices"]
    by_channel = {v.get("channel"): v for v in voices if "stance" in v}
    proposal = next(v for v in voices if "title" in v)
    for path in (f"/public/consultations/{public['id']}",
                 f"/public/en/consultations/{public['id']}"):
        page = _text(client.get(path).text)
        # the door-to-door and app opinions were published with their authors' agreement …
        for channel in ("door-to-door", "app"):
            assert by_channel[channel]["textPublic"] is True
            assert by_channel[channel]["text"] in page
        # … the paper form's author did not agree: its stance and reply, not its words
        assert by_channel["paper"]["textPublic"] is False
        assert by_channel["paper"]["text"] not in page
        for voice in voices:
            assert voice["reply"]["text"] in page
            assert voice["reply"].get("reasons", "") in page
        assert proposal["title"] in page and proposal["text"] in page
        assert re.search(r"(联署人数|Supporters)\s*2", page)
        named = set().union(*(_identities(v) for v in voices))
        assert {"陈志强", "刘芳"} <= named
        assert not [who for who in named | {RESIDENT_NAME} if who in page]


def test_a_kept_consultations_voices_reach_no_public_page(
        client: TestClient, documents: dict[str, Any]) -> None:
    pages = "".join(client.get(p).text for p in ("/public/", "/public/en/"))
    pages += client.get(f"/public/consultations/{documents['public']['id']}").text
    assert not [v for v in documents["kept_voices"] if v["reply"]["text"] in pages]
    assert client.get(f"/public/consultations/{documents['kept']['id']}").status_code == 404


def test_a_new_opinion_reaches_the_page(client: TestClient, public_app: Any,
                                        documents: dict[str, Any]) -> None:
    """The page follows the change feed: a new opinion appears, awaiting its reply."""
    pages = public_app.state.public
    fresh = voices_on(documents["public"])[0]
    fresh.pop("reply")
    fresh.update(text="新的一条意见，只为本测试。", status="received",
                 history=fresh["history"][:1])
    public_app.state.sc.service.load([fresh])
    pages._checked = float("-inf")  # read the change feed again now
    page = client.get(f"/public/consultations/{documents['public']['id']}").text
    assert fresh["text"] in page and "尚未答复" in page


# -- nothing personal reaches the page, whatever the opinion -----------------------------------

_NAMES = st.text("赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张", min_size=3, max_size=4)
_PHONES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
_CHANNELS = st.sampled_from(["app", "mini-program", "hotline", "paper", "meeting",
                             "door-to-door"])


@st.composite
def _opinion(draw: st.DrawFn, consultation: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """An opinion on ``consultation`` by a drawn resident, perhaps recorded for her by a drawn
    grid worker, whose text holds her phone number; the identities it holds."""
    doc = voices_on(consultation)[draw(st.integers(0, 2))]
    name, recorder, phone = draw(_NAMES), draw(_NAMES), draw(_PHONES)
    resident, user = str(draw(st.uuids(version=4))), "gw-" + draw(st.uuids()).hex[:8]
    behalf = draw(st.booleans())
    actor: dict[str, Any] = ({"role": "grid-worker", "name": recorder, "userId": user,
                              "onBehalfOf": {"resourceType": "Resident", "id": resident}}
                             if behalf else
                             {"role": "resident", "name": name,
                              "resident": {"resourceType": "Resident", "id": resident}})
    doc["history"][0]["actor"] = actor
    doc["channel"] = draw(_CHANNELS)
    doc["textPublic"] = draw(st.booleans())
    doc["text"] = f"我是{name}，电话{phone}，" + draw(st.text("楼梯电梯噪声采光费用", max_size=8))
    doc["reply"]["by"] = {"role": "community-staff", "name": recorder, "userId": user}
    return doc, {name, phone, resident, recorder, user}


_LIFT = example(LIFT, visibility="public")


@settings(max_examples=40, deadline=None)
@given(st.lists(_opinion(_LIFT), min_size=1, max_size=4))
def test_nothing_personal_reaches_the_page(drawn: list[tuple[dict[str, Any], set[str]]]) -> None:
    voices = [public_view(doc) for doc, _ in drawn]
    for lang in ("zh-Hans", "en"):
        page = consultation_page(public_view(_LIFT), lang, Links(), voices=voices)
        for doc, _ in drawn:
            assert doc["reply"]["text"] in page
            assert (doc["text"] in page) is doc["textPublic"]
        # An author who agreed published her words, phone number and all; nothing else of
        # anyone's may be left on the page.
        rest = page
        for doc, _ in drawn:
            if doc["textPublic"]:
                rest = rest.replace(doc["text"], "")
        personal = set().union(*(p for _, p in drawn))
        assert not [p for p in personal if p in rest]


def test_the_step_reads_no_identity_even_from_an_unredacted_document() -> None:
    voices = voices_on(_LIFT)
    tl = timeline(public_view(_LIFT), "en", voices=voices)  # the stored documents, names and all
    facts = json.dumps(tl.steps, default=str, ensure_ascii=False)
    assert "voices" in [s.key for s in tl.steps]
    named = set().union(*(_identities(v) for v in voices))
    assert not [who for who in named if who in facts]
    paper = next(v for v in voices if v.get("channel") == "paper")
    assert paper["text"] not in facts  # no agreement, no text, whoever forgets to redact


def test_the_page_says_why_the_decision_went_without_a_reply() -> None:
    doc = copy.deepcopy(_LIFT)
    voices = [public_view(v) for v in voices_on(doc)]
    paper = next(v for v in voices if v.get("channel") == "paper")
    paper.pop("reply")
    doc["decision"]["unanswered"] = [{"item": {"resourceType": "Opinion", "id": paper["id"]},
                                      "reason": "received-late", "note": "将在答复期限内答复。"}]
    zh = _text(consultation_page(public_view(doc), "zh-Hans", Links(), voices=voices))
    en = _text(consultation_page(public_view(doc), "en", Links(), voices=voices))
    assert "收到太晚，决定后答复：将在答复期限内答复。" in zh and "尚未答复" in zh
    assert "Received too late; answered after the decision" in en
