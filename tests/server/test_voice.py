"""Residents' voice on the server (/conf/voice): opinions recorded for a resident, co-signed
proposals, replies, the decision that waits for them, and what the public reads."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcommunity import validate
from smartcommunity.participation import not_awaiting, reply_days
from smartcommunity.profiles import load_profile
from smartcommunity.specification import spec_root

from .conftest import make_app
from .helpers import (
    COMMUNITY,
    EXAMPLES,
    LI,
    OTHER,
    WANG,
    Api,
    example,
    later,
    new_id,
    spelled,
)
from .test_lifecycle import _consultation_at

OPINION = EXAMPLES["opinion/lift-door-to-door-wang-guiying.json"]
PROPOSAL = EXAMPLES["proposal/lift-accessible-ramp.json"]
CHEN_TOKEN = "test-resident-chen"
CHAOYANG = spec_root() / "1.0" / "profiles" / "beijing-chaoyang.json"


def _resident(rid: str) -> dict[str, str]:
    return {"resourceType": "Resident", "id": rid}


def _opinion(consultation: str, behalf: str | None = WANG, **changes: Any) -> dict[str, Any]:
    doc = {k: copy.deepcopy(v) for k, v in OPINION.items() if k not in ("meta", "reply")}
    actor: dict[str, Any] = {"role": "grid-worker"}
    if behalf is not None:
        actor["onBehalfOf"] = _resident(behalf)
    doc.update(id=new_id(), consultation={"resourceType": "Consultation", "id": consultation},
               receivedAt=later(0), status="received",
               history=[{"seq": 1, "at": later(0), "action": "submit", "actor": actor,
                         "toStatus": "received"}])
    doc.pop("replyDue")
    doc.update(changes)
    return doc


def _proposal(deadline: str, **changes: Any) -> dict[str, Any]:
    doc = {k: copy.deepcopy(v) for k, v in PROPOSAL.items() if k not in ("meta", "reply")}
    doc.update(id=new_id(), consultation={"resourceType": "Consultation", "id": new_id()},
               receivedAt=later(0), supportDeadline=deadline, supporters=[],
               supportCount=0, status="open",
               history=[{"seq": 1, "at": later(0), "action": "submit",
                         "actor": {"role": "community-staff"}, "toStatus": "open"}])
    doc.pop("replyDue")
    doc.update(changes)
    return doc


def _post(api: Api, who: str, doc: dict[str, Any]) -> Any:
    return api.as_(who).post(f"/{'opinions' if doc['resourceType'] == 'Opinion' else 'proposals'}",
                             doc)


def _act(api: Api, who: str, path: str, action: str, body: dict[str, Any]) -> Any:
    etag = api.staff.get(path).headers["etag"]
    return api.as_(who).post(f"{path}/actions/{action}", body, if_match=etag)


def test_a_grid_worker_records_for_an_elderly_owner(api: Api) -> None:
    doc = _opinion(new_id())
    resp = _post(api, "grid-worker", doc)
    assert resp.status_code == 201, resp.text
    stored = resp.json()
    actor = stored["history"][0]["actor"]
    assert actor["role"] == "grid-worker" and actor["userId"] == "gw-0317"
    assert actor["onBehalfOf"]["id"] == WANG
    # /req/voice/reply-due: the spec's 15 days, filled in by the server.
    received = datetime.fromisoformat(stored["receivedAt"])
    assert datetime.fromisoformat(stored["replyDue"]) == received + timedelta(days=15)


def test_a_city_profile_sets_the_reply_days(tmp_path: Path) -> None:
    """Under --profile the server fills in and bounds replyDue by the city's reply days."""
    profile = load_profile(CHAOYANG)
    days = reply_days(profile)
    assert days == 10 != reply_days()
    chaoyang = Api(TestClient(make_app(f"sqlite:///{tmp_path / 'db.sqlite3'}",
                                       profile=CHAOYANG)))
    stored = _post(chaoyang, "grid-worker", _opinion(new_id())).json()
    received = datetime.fromisoformat(stored["receivedAt"])
    assert datetime.fromisoformat(stored["replyDue"]) == received + timedelta(days=days)
    # what the spec's default would allow is later than the city allows: refused
    late = _opinion(new_id())
    late["replyDue"] = (datetime.fromisoformat(late["receivedAt"])
                        + timedelta(days=days + 1)).isoformat()
    resp = _post(chaoyang, "grid-worker", late)
    assert resp.status_code == 422 and "replyDue" in resp.text


def test_an_item_received_at_the_calendars_end_is_refused_as_received_later(api: Api) -> None:
    # Its reply would fall due after year 9999: refused for the time received, not a 500.
    doc = _opinion(new_id(), receivedAt="9999-12-31T23:59:59Z")
    resp = _post(api, "grid-worker", doc)
    assert resp.status_code == 422
    assert [e["pointer"] for e in resp.json()["errors"]] == ["/receivedAt"]
    assert api.staff.get(f"/opinions/{doc['id']}").status_code == 404


def test_recording_for_someone_outside_ones_community_is_refused(api: Api) -> None:
    # 李建国 lives in the neighbouring community, which the grid worker does not serve.
    doc = _opinion(new_id(), behalf=LI)
    assert _post(api, "grid-worker", doc).status_code == 403
    assert api.staff.get(f"/opinions/{doc['id']}").status_code == 404
    other = _opinion(new_id(), divisionCode=OTHER)
    assert _post(api, "grid-worker", other).status_code == 403


def test_a_late_reply_deadline_and_a_reply_given_at_creation_are_refused(api: Api) -> None:
    late = _opinion(new_id(), replyDue=later(40))
    resp = _post(api, "grid-worker", late)
    assert resp.status_code == 422
    assert {e["code"] for e in resp.json()["errors"]} == {"voice.reply-due-late"}
    replied = _opinion(new_id(), reply=copy.deepcopy(OPINION["reply"]))
    assert _post(api, "grid-worker", replied).status_code == 422


@settings(max_examples=25, deadline=None)
@given(days=st.integers(1, 40), utc=st.booleans(), upper_t=st.booleans(),
       upper_z=st.booleans())
def test_a_stated_reply_deadline_is_read_however_rfc_3339_spells_it(
        sqlite_api: Api, days: int, utc: bool, upper_t: bool, upper_z: bool) -> None:
    """Within the spec's reply days a stated replyDue is kept, beyond them refused with its
    code; never a server error, whichever case its t and z are written in."""
    doc = _opinion(new_id())
    received = datetime.fromisoformat(doc["receivedAt"])
    doc["replyDue"] = spelled(received + timedelta(days=days), utc, upper_t, upper_z)
    resp = _post(sqlite_api, "grid-worker", doc)
    if days <= reply_days():
        assert resp.status_code == 201, resp.text
        assert resp.json()["replyDue"] == doc["replyDue"]
    else:
        assert resp.status_code == 422
        assert {e["code"] for e in resp.json()["errors"]} == {"voice.reply-due-late"}


def test_support_counts_each_resident_once_and_closes_at_the_deadline(api: Api) -> None:
    doc = _proposal(later(7))
    assert _post(api, "community-staff", doc).status_code == 201
    path = f"/proposals/{doc['id']}"
    assert _act(api, CHEN_TOKEN, path, "support", {"details": {"channel": "app"}}).status_code \
        == 200
    again = _act(api, CHEN_TOKEN, path, "support", {"details": {"channel": "app"}})
    assert again.status_code == 422, again.text
    # The grid worker records 王桂英's support at her door: she is the supporter.
    door = {"details": {"channel": "door-to-door"},
            "actor": {"role": "grid-worker", "onBehalfOf": _resident(WANG)}}
    assert _act(api, "grid-worker", path, "support", door).status_code == 200
    # Her own second support (from the app) is the same resident: refused.
    assert _act(api, "resident", path, "support", {"details": {"channel": "app"}}).status_code \
        == 422
    stored = api.staff.get(path).json()
    assert stored["supportCount"] == 2
    assert [s["resident"]["id"] for s in stored["supporters"]][1] == WANG
    assert stored["supporters"][1]["recordedBy"] == "grid-worker"
    # Withdrawal before the deadline.
    assert _act(api, CHEN_TOKEN, path, "withdraw-support", {}).status_code == 200
    assert api.staff.get(path).json()["supportCount"] == 1
    # After the deadline neither support nor withdrawal.
    closed = _proposal(later(-1))
    assert _post(api, "community-staff", closed).status_code == 201
    closed_path = f"/proposals/{closed['id']}"
    assert _act(api, CHEN_TOKEN, closed_path, "support",
                {"details": {"channel": "app"}}).status_code == 422
    assert api.staff.get(closed_path).json()["supportCount"] == 0


def test_a_reply_needs_reasons_when_not_adopted_and_is_public(api: Api) -> None:
    doc = _opinion(new_id(), textPublic=False)
    assert _post(api, "grid-worker", doc).status_code == 201
    path = f"/opinions/{doc['id']}"
    bare = {"details": {"reply": {"outcome": "not-adopted", "text": "不采纳。"}}}
    assert _act(api, "community-staff", path, "reply", bare).status_code == 422
    assert _act(api, "grid-worker", path, "reply", bare).status_code == 403
    full = {"details": {"reply": {"outcome": "not-adopted", "text": "不采纳。",
                                  "reasons": "井道位置受消防条件限制。"}}}
    resp = _act(api, "community-staff", path, "reply", full)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "replied"
    assert resp.json()["reply"]["by"]["userId"] == "cs-0102"
    public = api.as_("public").get(path).json()
    assert public["reply"]["reasons"] == "井道位置受消防条件限制。"
    assert "text" not in public  # the author did not agree to publish it
    text = str(public)
    assert WANG not in text and "张伟" not in text and "gw-0317" not in text


def test_the_author_reads_her_own_opinion_whole(api: Api) -> None:
    """privacy.json recordAccess.ownedBy: the resident recorded for reads it as herself."""
    doc = _opinion(new_id(), textPublic=False)
    assert _post(api, "grid-worker", doc).status_code == 201
    own = api.as_("resident").get(f"/opinions/{doc['id']}").json()
    assert own["text"] == doc["text"]
    assert own["history"][0]["actor"]["onBehalfOf"]["id"] == WANG
    other = api.as_("test-resident-chen").get(f"/opinions/{doc['id']}").json()
    assert "text" not in other


def test_the_public_reads_agreed_text_but_never_the_author(api: Api) -> None:
    doc = _opinion(new_id(), textPublic=True)
    assert _post(api, "grid-worker", doc).status_code == 201
    for who in ("public", CHEN_TOKEN):  # 陈志强 is another resident of the community
        read = api.as_(who).get(f"/opinions/{doc['id']}").json()
        assert read["text"] == doc["text"]
        assert "onBehalfOf" not in read["history"][0]["actor"]
    staff = api.staff.get(f"/opinions/{doc['id']}").json()
    assert staff["history"][0]["actor"]["onBehalfOf"]["id"] == WANG


def test_decide_waits_for_every_reply(sqlite_api: Api) -> None:
    api = sqlite_api
    c = _consultation_at(api, "deliberating")
    opinion = _opinion(c.id)
    assert _post(api, "grid-worker", opinion).status_code == 201
    decide: dict[str, Any] = {
        "details": {"decisionType": "adopted", "basis": "consensus", "text": "按方案加装。"}}
    refused = c.api.staff.post(f"{c.path}/actions/decide", decide, if_match=c.etag)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "voice.reply-missing"
    assert opinion["id"] in refused.json()["message"]["en"]
    assert api.staff.get(c.path).json()["status"] == "deliberating"
    reply = {"details": {"reply": {"outcome": "adopted", "text": "采纳。"}}}
    assert _act(api, "community-staff", f"/opinions/{opinion['id']}", "reply",
                reply).status_code == 200
    voices = [{"item": {"resourceType": "Opinion", "id": opinion["id"]}, "outcome": "adopted",
               "why": "居民意见纳入方案。"}]
    decide["details"]["voices"] = voices
    c.act("community-staff", "decide", decide)
    assert c.doc["decision"]["voices"] == voices


def test_decide_goes_ahead_when_it_records_why_each_reply_is_missing(sqlite_api: Api) -> None:
    api = sqlite_api
    c = _consultation_at(api, "deliberating")
    first, second = _opinion(c.id), _opinion(c.id)
    for doc in (first, second):
        assert _post(api, "grid-worker", doc).status_code == 201
    why = [{"item": {"resourceType": "Opinion", "id": first["id"]}, "reason": "received-late",
            "note": "决定前一天收到，将在答复期限内答复。"}]
    decide: dict[str, Any] = {"details": {"decisionType": "adopted", "basis": "consensus",
                                          "text": "按方案加装。", "unanswered": why}}
    # one reason for two unanswered opinions: still refused, naming the one without
    refused = c.api.staff.post(f"{c.path}/actions/decide", decide, if_match=c.etag)
    assert refused.status_code == 409 and refused.json()["code"] == "voice.reply-missing"
    assert second["id"] in refused.json()["message"]["en"]
    assert first["id"] not in refused.json()["message"]["en"]
    # a reason for an item that awaits no reply misstates the record
    stray = {"item": {"resourceType": "Opinion", "id": new_id()}, "reason": "duplicate"}
    decide["details"]["unanswered"] = [*why, stray]
    wrong = c.api.staff.post(f"{c.path}/actions/decide", decide, if_match=c.etag)
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["errors"][0]["code"] == "voice.not-unanswered"
    assert wrong.json()["errors"][0]["pointer"] == "/details/unanswered/1/item"
    assert api.staff.get(c.path).json()["status"] == "deliberating"
    why.append({"item": {"resourceType": "Opinion", "id": second["id"]},
                "reason": "answered-by-decision"})
    decide["details"]["unanswered"] = why
    c.act("community-staff", "decide", decide)
    assert c.doc["decision"]["unanswered"] == why
    assert not_awaiting(c.doc, [first, second]) == []


#: how far ahead of the server's clock a receivedAt may be (/req/voice/reply-before-decide)
LEEWAY = 300


@settings(max_examples=25, deadline=None)
@given(ahead=st.integers(-400 * 86400, 400 * 86400), utc=st.booleans(), upper_t=st.booleans(),
       upper_z=st.booleans())
def test_a_received_at_ahead_of_the_servers_clock_is_refused(
        sqlite_api: Api, ahead: int, utc: bool, upper_t: bool, upper_z: bool) -> None:
    """An item stated as received later than the server's time (beyond the leeway) is refused
    with its code, however RFC 3339 spells it; one in the past or within the leeway is kept."""
    if LEEWAY - 60 < ahead < LEEWAY + 60:
        return  # the seconds the request itself takes decide it either way
    received = datetime.now().astimezone() + timedelta(seconds=ahead)
    doc = _opinion(new_id(), receivedAt=spelled(received, utc, upper_t, upper_z))
    resp = _post(sqlite_api, "grid-worker", doc)
    if ahead <= LEEWAY:
        assert resp.status_code == 201, resp.text
    else:
        assert resp.status_code == 422, resp.text
        assert [(e["pointer"], e["code"]) for e in resp.json()["errors"]] == [
            ("/receivedAt", "voice.received-later")]
        assert sqlite_api.staff.get(f"/opinions/{doc['id']}").status_code == 404


def test_decide_counts_an_item_stated_as_received_a_little_ahead(sqlite_api: Api) -> None:
    """Stored before decide is received before it: a receivedAt within the leeway ahead of the
    clock does not let the decision pass it by."""
    api = sqlite_api
    c = _consultation_at(api, "deliberating")
    ahead = (datetime.now().astimezone() + timedelta(seconds=LEEWAY // 2)).isoformat(
        timespec="seconds")
    opinion = _opinion(c.id, receivedAt=ahead)
    assert _post(api, "grid-worker", opinion).status_code == 201
    decide = {"details": {"decisionType": "adopted", "basis": "consensus", "text": "按方案加装。"}}
    refused = c.api.staff.post(f"{c.path}/actions/decide", decide, if_match=c.etag)
    assert refused.status_code == 409, refused.text
    assert opinion["id"] in refused.json()["message"]["en"]


OUTCOMES = ("answered", "adopted", "partly-adopted", "not-adopted")


@settings(max_examples=12, deadline=None)
@given(replied=st.sampled_from(OUTCOMES), listed=st.sampled_from(OUTCOMES))
def test_decide_listing_an_outcome_other_than_the_reply_is_refused(
        sqlite_api: Api, replied: str, listed: str) -> None:
    """/req/voice/decision-lists-voices: the outcome decide lists for a replied item is its
    reply's; otherwise 422 and the consultation stays as it was."""
    api = sqlite_api
    c = _consultation_at(api, "deliberating")
    opinion = _opinion(c.id)
    assert _post(api, "grid-worker", opinion).status_code == 201
    reply = {"outcome": replied, "text": "答复。", "reasons": "理由。"}
    assert _act(api, "community-staff", f"/opinions/{opinion['id']}", "reply",
                {"details": {"reply": reply}}).status_code == 200
    voices = [{"item": {"resourceType": "Opinion", "id": new_id()}, "outcome": "adopted",
               "why": "不在本服务器上的条目，无从比对。"},
              {"item": {"resourceType": "Opinion", "id": opinion["id"]}, "outcome": listed,
               "why": "纳入或不纳入方案的理由。"}]
    decide = {"details": {"decisionType": "adopted", "basis": "consensus", "text": "按方案加装。",
                          "voices": voices}}
    resp = c.api.staff.post(f"{c.path}/actions/decide", decide, if_match=c.etag)
    if listed == replied:
        assert resp.status_code == 200, resp.text
        assert resp.json()["decision"]["voices"] == voices
        return
    assert resp.status_code == 422, resp.text
    assert [(e["pointer"], e["code"]) for e in resp.json()["errors"]] == [
        ("/details/voices/1/outcome", "voice.decision-disagrees")]
    assert api.staff.get(c.path).json()["status"] == "deliberating"


def test_opinions_are_listed_by_community_and_consultation(api: Api) -> None:
    consultation = new_id()
    doc, other = _opinion(consultation), _opinion(new_id())
    for item in (doc, other):
        assert _post(api, "grid-worker", item).status_code == 201
    listed = api.staff.get("/opinions", params={"community": COMMUNITY}).json()["items"]
    assert {doc["id"], other["id"]} <= {o["id"] for o in listed}
    mine = api.as_("public").get("/opinions", params={"consultation": consultation}).json()
    assert [o["id"] for o in mine["items"]] == [doc["id"]]
    assert "onBehalfOf" not in mine["items"][0]["history"][0]["actor"]
    assert api.as_("test-hotline-zhao-xue").get(f"/opinions/{doc['id']}").status_code == 200


def test_staff_correct_an_entry_but_never_the_voice(api: Api) -> None:
    doc = _opinion(new_id())
    created = _post(api, "grid-worker", doc)
    path = f"/opinions/{doc['id']}"
    body = {k: v for k, v in created.json().items() if k != "meta"}
    etag = created.headers["etag"]
    assert api.staff.put(path, {**body, "text": "改写的意见"}, if_match=etag).status_code == 422
    assert api.as_("grid-worker").put(path, {**body, "stance": "oppose"},
                                      if_match=etag).status_code == 403
    fixed = api.staff.put(path, {**body, "stance": "suggestion"}, if_match=etag)
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["text"] == doc["text"]


def test_the_demo_lift_consultation_carries_voices_from_every_channel(api: Api) -> None:
    lift = EXAMPLES["consultation/lift-installation-building-3.json"]["id"]
    public = api.as_("public")
    opinions = public.get("/opinions", params={"consultation": lift}).json()["items"]
    proposals = public.get("/proposals", params={"consultation": lift}).json()["items"]
    assert sorted(o["channel"] for o in opinions) == ["app", "door-to-door", "paper"]
    assert [p["supportCount"] for p in proposals] == [2]
    assert all(item["reply"]["text"] for item in opinions + proposals)
    text = str(opinions + proposals)
    for who in (WANG, "王桂英", "张伟", "gw-0317", "赵敏", "陈志强"):
        assert who not in text
    # 王桂英 agreed to publish what she said at her door; 赵敏 did not agree for her paper form.
    shown = {o["channel"]: "text" in o for o in opinions}
    assert shown == {"app": True, "door-to-door": True, "paper": False}
    door = next(o for o in opinions if o["channel"] == "door-to-door")
    assert door["history"][0]["actor"]["role"] == "grid-worker"
    staff = api.staff.get(f"/opinions/{door['id']}").json()
    assert staff["history"][0]["actor"]["onBehalfOf"]["id"] == WANG
    # the consultation is published: its public page shows every voice and reply, no author
    page = public.get(f"/public/consultations/{lift}").text
    assert door["text"] in page and all(item["reply"]["text"] in page
                                        for item in opinions + proposals)
    for who in (WANG, "王桂英", "张伟", "gw-0317", "赵敏", "陈志强"):
        assert who not in page


def test_erasing_a_resident_removes_the_words_recorded_for_her(api: Api) -> None:
    """privacy.json erasureReaches: her opinions keep who recorded them and that she spoke,
    not what she said."""
    her = example("resident/chen-zhiqiang.json")
    her.pop("externalRefs", None)
    assert api.staff.create(her).status_code == 201
    doc = _opinion(new_id(), behalf=her["id"], textPublic=True)
    assert _post(api, "grid-worker", doc).status_code == 201
    path = f"/residents/{her['id']}"
    erased = api.staff.post(f"{path}/erase", {"reason": "purpose-fulfilled"},
                            if_match=api.staff.get(path).headers["etag"])
    assert erased.status_code == 200, erased.text
    after = api.staff.get(f"/opinions/{doc['id']}").json()
    assert "text" not in after and after["stance"] == doc["stance"]
    assert after["history"][0]["actor"]["onBehalfOf"]["id"] == her["id"]
    assert validate(after).valid


def test_a_paper_form_entered_twice_is_stored_once(api: Api) -> None:
    """A retried entry with its Idempotency-Key replays the first answer."""
    doc = _opinion(new_id(), channel="paper")
    key = {"Idempotency-Key": "paper-" + new_id()}
    first = api.as_("grid-worker").post("/opinions", doc, headers=key)
    again = api.as_("grid-worker").post("/opinions", doc, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    listed = api.staff.get("/opinions", params={"consultation": doc["consultation"]["id"]})
    assert len(listed.json()["items"]) == 1


def test_opinions_follow_their_consultations_visibility(sqlite_api: Api) -> None:
    """/req/voice/consultation-visibility: the public, who may not read a consultation the
    community keeps to itself, neither reads nor lists its opinions and proposals."""
    api = sqlite_api
    c = _consultation_at(api, "proposed", visibility="community")
    assert api.as_("public").get(c.path).status_code == 404
    opinion = _opinion(c.id, textPublic=True)
    assert _post(api, "grid-worker", opinion).status_code == 201
    proposal = _proposal(later(7))
    proposal["consultation"] = {"resourceType": "Consultation", "id": c.id}
    assert _post(api, "community-staff", proposal).status_code == 201
    for path, kind in ((f"/opinions/{opinion['id']}", "/opinions"),
                       (f"/proposals/{proposal['id']}", "/proposals")):
        assert api.as_("public").get(path).status_code == 404
        assert api.as_(CHEN_TOKEN).get(path).status_code == 200  # a resident of the community
        listed = api.as_("public").get(kind, params={"consultation": c.id}).json()["items"]
        assert listed == []
    # the same opinion on a public consultation is public
    shown = _consultation_at(api, "proposed", visibility="public")
    public_one = _opinion(shown.id, textPublic=True)
    assert _post(api, "grid-worker", public_one).status_code == 201
    assert api.as_("public").get(f"/opinions/{public_one['id']}").status_code == 200


def test_a_page_of_opinions_reads_their_consultation_once(sqlite_api: Api) -> None:
    """Listing opinions checks each against its consultation's visibility
    (/req/voice/consultation-visibility): the consultation is read once for the page, not once
    an opinion, and the answer is the same."""
    api = sqlite_api
    c = _consultation_at(api, "proposed", visibility="public")
    for _ in range(3):
        assert _post(api, "grid-worker", _opinion(c.id, textPublic=True)).status_code == 201
    store = api.client.app.state.sc.service.store
    reads = 0
    real = store.read

    def counted() -> Any:
        nonlocal reads
        reads += 1
        return real()

    store.read = counted
    try:
        listed = api.as_("public").get("/opinions", params={"consultation": c.id})
    finally:
        store.read = real
    assert listed.status_code == 200 and len(listed.json()["items"]) == 3
    assert reads == 2  # the page, and the consultation once
