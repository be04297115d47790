"""Tamper evidence on the server: chained histories, the feed's digests, withheld events, and
``smartcommunity verify`` detecting one changed byte or one dropped event of the demo data."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from sqlalchemy import create_engine, text

from smartcommunity import validate
from smartcommunity.cli import run
from smartcommunity.integrity import (
    FEED_MEMBERS,
    WITHHELD_TYPE,
    content_digest,
    event_digest,
    event_salt,
    head_digest,
    integrity_form,
    seal_history,
    verify_feed,
    verify_history,
)

from .conftest import make_app
from .helpers import SPEC, Api, example, later, new_id, submitted_issue, whole_feed

EVENT = Draft202012Validator(SPEC.schema("event.json"), registry=SPEC.registry,
                             format_checker=Draft202012Validator.FORMAT_CHECKER)
ISSUE_PATH = "/" + SPEC.collection("Issue")
WITHHELD_MEMBERS = {"specversion", "id", "source", "type", "time", "sequence", "eventdigest",
                    "chaindigest"}


def test_every_history_write_is_chained(api: Api) -> None:
    staff = api.as_("community-staff")
    doc = submitted_issue()
    assert staff.create(doc).status_code == 201
    assert staff.act("Issue", doc["id"], "accept").status_code == 200
    stored = staff.get(f"{ISSUE_PATH}/{doc['id']}").json()
    first, second = stored["history"]
    assert "previousDigest" not in first
    assert second["previousDigest"] == event_digest(first, "Issue")
    assert verify_history(stored) == []
    listed = staff.get(f"{ISSUE_PATH}/{doc['id']}/history").json()["items"]
    assert verify_history({"resourceType": "Issue", "history": listed}) == []
    # every reader, whatever it may see of the actors, can check the chain
    for role in ("public", "department", "regulator", "resident"):
        read = api.as_(role).get(f"{ISSUE_PATH}/{doc['id']}")
        if read.status_code == 200:
            assert verify_history(read.json()) == [], role


def test_a_wrong_previous_digest_is_refused_with_its_code(api: Api) -> None:
    doc = submitted_issue()
    doc["history"][0]["previousDigest"] = "sha256:" + "0" * 64
    resp = api.as_("community-staff").create(doc)
    assert resp.status_code == 422
    codes = {e["code"] for e in resp.json()["errors"]}
    assert "integrity.history-digest-first" in codes


def test_feed_events_carry_digests_that_verify(api: Api) -> None:
    staff = api.as_("community-staff")
    doc = submitted_issue()
    staff.create(doc)
    staff.act("Issue", doc["id"], "accept")
    events = whole_feed(api.as_("system"))
    assert events and all("chaindigest" in e for e in events)
    assert verify_feed(events) == []
    mine = [e for e in events if e["subject"].endswith(doc["id"])]
    assert [e["historydigest"] for e in mine] == [head_digest(e["data"]) for e in mine]
    for event in events[-5:]:
        assert list(EVENT.iter_errors(event)) == []


def test_withheld_events_stand_in_for_what_a_reader_may_not_see(api: Api) -> None:
    everything = whole_feed(api.as_("system"))
    for role in ("resident", "public", "department"):
        mine = whole_feed(api.as_(role))
        assert [e["id"] for e in mine] == [e["id"] for e in everything]
        stand_ins = [e for e in mine if e["type"] == WITHHELD_TYPE]
        assert stand_ins, role
        for event in stand_ins:
            assert set(event) == WITHHELD_MEMBERS
            assert list(EVENT.iter_errors(event)) == []
        assert verify_feed(mine) == [], role


def test_events_stored_before_digests_are_sealed_at_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    with TestClient(make_app(url)) as client:
        api = Api(client)
        api.as_("community-staff").create(submitted_issue())
    engine = create_engine(url)
    with engine.begin() as conn:  # as a database of an earlier schema revision left it
        conn.execute(text("UPDATE events SET head = NULL, chain = NULL, salt = NULL"))
    engine.dispose()
    with TestClient(make_app(url)) as client:
        events = whole_feed(Api(client).as_("system"))
    assert events and all("chaindigest" in e for e in events)
    assert verify_feed(events) == []
    salts = [e["eventsalt"] for e in events]
    assert len(set(salts)) == len(salts)


#: an eventsalt as event.json writes it
SALT = re.compile(r"[0-9a-f]{32}")


def _guesses(rid: str) -> set[str]:
    """The eventdigest of every event a reader who knows a resident's id can think of."""
    out = set()
    for kind in ("created", "updated", "erased"):
        for action in ("create", "update", "erasure-request", "erase", "restrict", "correct"):
            for version in range(1, 10):
                out.add(content_digest({
                    "type": f"org.w3id.smartcommunity.resident.{kind}",
                    "subject": f"residents/{rid}", "datacontenttype": "application/json",
                    "dataschema": SPEC.schema_uri("Resident"), "action": action,
                    "resourceversion": str(version)}))
    return out


def _since(api: Api, who: str, cursor: str) -> list[dict[str, Any]]:
    page = api.as_(who).get("/changes", params={"cursor": cursor, "limit": 500}).json()
    return list(page["items"])


def _latest(api: Api, who: str) -> str:
    return str(api.as_(who).get("/changes", params={"cursor": "latest"}).json()["next"])


def test_a_withheld_event_confirms_no_guess_of_what_it_stands_for(api: Api) -> None:
    """/req/change-feed/withheld, /req/change-feed/chain-digest: a grid worker who read a
    resident before she left his grid knows her id, yet the withheld events of her record
    match none of his guesses of type, action and version: each digest covers a salt of the
    event's own that he never receives. Her erasure rewrites her earlier events and keeps
    their salts, so the chain still checks."""
    staff, worker = api.staff, api.as_("grid-worker")
    starts = {who: _latest(api, who) for who in ("grid-worker", "system")}
    doc = example("resident/chen-zhiqiang.json")
    doc["id"] = new_id()
    doc.pop("externalRefs", None)
    path = f"/residents/{doc['id']}"
    assert staff.create(doc).status_code == 201
    assert worker.get(path).status_code == 200
    current = staff.get(path)
    moved = current.json()
    moved.pop("meta")
    grid = moved["memberships"][0]["grid"][:-2] + "01"
    moved["memberships"][0]["grid"] = moved["address"]["gridCode"] = grid
    resp = staff.put(path, moved, if_match=current.headers["etag"])
    assert resp.status_code == 200, resp.text
    assert worker.get(path).status_code == 404
    before = {e["id"]: e["eventsalt"] for e in _since(api, "system", starts["system"])}
    resp = staff.post(f"{path}/erase", {"reason": "purpose-fulfilled"},
                      if_match=resp.headers["etag"])
    assert resp.status_code == 200, resp.text

    full = _since(api, "system", starts["system"])
    hers = {e["id"]: e for e in full if e.get("subject") == f"residents/{doc['id']}"}
    assert [e["action"] for e in hers.values()] == ["create", "update", "erase"]
    salts = [e.get("eventsalt") for e in full]
    assert all(isinstance(s, str) and SALT.fullmatch(s) for s in salts), salts
    assert len(set(salts)) == len(salts)
    assert {i: hers[i]["eventsalt"] for i in before if i in hers} == {
        i: s for i, s in before.items() if i in hers}  # the erasure kept them

    seen = _since(api, "grid-worker", starts["grid-worker"])
    stand_ins = [e for e in seen if e["id"] in hers]
    assert len(stand_ins) == 3 and all(e["type"] == WITHHELD_TYPE for e in stand_ins)
    guesses = _guesses(doc["id"])
    for stand_in in stand_ins:
        assert stand_in["eventdigest"] == content_digest(hers[stand_in["id"]])
        assert stand_in["eventdigest"] not in guesses
    first = int(seen[0]["sequence"]) - 1
    assert verify_feed(seen, after=first) == []
    assert verify_feed(full, after=first) == []


# -- smartcommunity verify on the demo data ------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo's feed, read by the mirror and by a resident (with withheld events), after a
    few actions, and the documents with a history of more than one event."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    with TestClient(make_app(f"sqlite:///{path}")) as client:
        api = Api(client)
        staff = api.as_("community-staff")
        for _ in range(2):
            doc = submitted_issue()
            staff.create(doc)
            staff.act("Issue", doc["id"], "accept")
        feeds = {who: whole_feed(api.as_(who)) for who in ("system", "resident")}
    docs = [e["data"] for e in feeds["system"] if len(e.get("data", {}).get("history", ())) > 1]
    return {"feeds": feeds, "docs": docs, "folder": tmp_path_factory.mktemp("verify")}


def _write(folder: Path, name: str, lines: list[bytes]) -> str:
    path = folder / name
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return str(path)


def _covered(event: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Paths of the values in ``event`` its digests cover: its attributes, and the
    non-personal members of the history events in its data."""
    paths: list[tuple[Any, ...]] = [(k,) for k in event if k in FEED_MEMBERS or k in (
        "chaindigest", "eventdigest")]
    data = event.get("data") or {}
    for i, item in enumerate(data.get("history") or ()):
        form = integrity_form(item, data["resourceType"])
        paths.extend(("data", "history", i, *p) for p in _leaf_paths(form))
    return paths


def _leaf_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaf_paths(v, (*path, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaf_paths(v, (*path, i))]
    return [path] if isinstance(node, str | int) and not isinstance(node, bool) else []


def _one_byte_changed(event: dict[str, Any], path: tuple[Any, ...], at: int) -> bytes | None:
    """``event`` serialised with one ASCII byte of the value at ``path`` changed; None when
    the value has no ASCII character there."""
    changed = copy.deepcopy(event)
    holder = changed
    for step in path[:-1]:
        holder = holder[step]
    value = holder[path[-1]]
    text_value = str(value)
    i = at % len(text_value) if text_value else 0
    if not text_value or not text_value[i].isascii():
        return None
    replacement = "7" if text_value[i] != "7" else "8"
    new = text_value[:i] + replacement + text_value[i + 1:]
    holder[path[-1]] = int(new) if isinstance(value, int) and new.isdigit() else new
    return orjson.dumps(changed)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_verify_names_one_changed_byte_of_any_feed_event(demo: dict[str, Any],
                                                         data: st.DataObject) -> None:
    who = data.draw(st.sampled_from(sorted(demo["feeds"])), label="reader")
    feed = demo["feeds"][who]
    lines = [orjson.dumps(e) for e in feed]
    i = data.draw(st.integers(0, len(feed) - 1), label="event")
    path = data.draw(st.sampled_from(_covered(feed[i])), label="member")
    line = _one_byte_changed(feed[i], path, data.draw(st.integers(0, 300), label="byte"))
    if line is None or line == lines[i]:
        return
    assert len(line) == len(lines[i])
    assert sum(a != b for a, b in zip(line, lines[i], strict=True)) == 1
    changed = _write(demo["folder"], "changed.ndjson", [*lines[:i], line, *lines[i + 1:]])
    assert run(["verify", changed]) == 1, (who, i, path)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_verify_names_a_dropped_feed_event(demo: dict[str, Any], data: st.DataObject) -> None:
    feed = demo["feeds"][data.draw(st.sampled_from(sorted(demo["feeds"])), label="reader")]
    lines = [orjson.dumps(e) for e in feed]
    i = data.draw(st.integers(0, len(lines) - 2), label="event")
    dropped = _write(demo["folder"], "dropped.ndjson", lines[:i] + lines[i + 1:])
    assert run(["verify", dropped, "--format", "json"]) == 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_verify_names_one_changed_byte_of_a_documents_history(demo: dict[str, Any],
                                                              data: st.DataObject) -> None:
    doc = data.draw(st.sampled_from(demo["docs"]), label="document")
    i = data.draw(st.integers(0, len(doc["history"]) - 2), label="event")
    form = integrity_form(doc["history"][i], doc["resourceType"])
    path = ("history", i, *data.draw(st.sampled_from(_leaf_paths(form)), label="member"))
    raw = _one_byte_changed(doc, path, data.draw(st.integers(0, 300), label="byte"))
    if raw is None or raw == orjson.dumps(doc):
        return
    changed = _write(demo["folder"], "doc.json", [raw])
    assert run(["verify", changed]) == 1, path


def test_verify_passes_the_intact_demo_and_says_why_it_fails(
        demo: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    folder = demo["folder"]
    for who, feed in demo["feeds"].items():
        assert run(["verify", _write(folder, f"{who}.ndjson", [orjson.dumps(e) for e in feed])
                    ]) == 0
    docs = _write(folder, "docs.ndjson", [orjson.dumps(d) for d in demo["docs"]])
    assert run(["verify", docs]) == 0
    capsys.readouterr()
    broken = copy.deepcopy(demo["docs"][0])
    broken["history"][0]["toStatus"] = "x"
    assert run(["verify", _write(folder, "broken.json", [orjson.dumps(broken)])]) == 1
    out = capsys.readouterr().out
    assert "/history/1/previousDigest" in out and "History event 2" in out and "第 2 个" in out
    assert run(["verify"]) == 2
    assert run(["verify", _write(folder, "bad.json", [b"{"])]) == 2


def test_a_reader_kept_from_vote_results_still_checks_the_chain(sqlite_api: Api) -> None:
    """/req/consultations/results-hidden withholds the close-vote result: the event gives
    withheldDigest, and the chain checks past it."""
    from .helpers import EXAMPLES

    doc = copy.deepcopy(EXAMPLES["consultation/lift-installation-building-3.json"])
    doc.update(id=new_id(), visibility="public")
    for member in ("meta", "externalRefs"):
        doc.pop(member)
    for vote in doc["votes"]:
        vote["results"]["visibleFrom"] = later(30)
    sqlite_api.client.app.state.sc.service.load([doc])  # type: ignore[attr-defined]
    whole = sqlite_api.staff.get(f"/consultations/{doc['id']}").json()
    for role in ("resident", "public", "community-staff"):
        got = sqlite_api.as_(role).get(f"/consultations/{doc['id']}").json()
        withheld = [e for e in got["history"] if "withheldDigest" in e]
        assert bool(withheld) == (role != "community-staff"), role
        assert verify_history(got) == [], role
        assert validate(got).valid, role
        assert _confirmed(got, whole) == [], role


def _confirmed(view: dict[str, Any], whole: dict[str, Any]) -> list[int]:
    """The events of ``view`` withheld in part whose digests confirm what ``whole`` (the
    staff's view) says they lack: a withheld event that carries its salt, or whose
    withheldDigest or next previousDigest is the digest of the whole event without its salt
    (the truth, guessed from a few values: a result, small counts). Each withheld event
    checks against the whole one with its salt."""
    out = []
    events, truths = view["history"], whole["history"]
    for i, event in enumerate(events):
        if "withheldDigest" not in event:
            continue
        given = {event["withheldDigest"]}
        if i + 1 < len(events):
            given.add(events[i + 1]["previousDigest"])
        truth = truths[i]
        assert given == {event_digest(truth, "Consultation")}, i
        guess = {k: v for k, v in truth.items() if k != "salt"}
        if "salt" in event or event_digest(guess, "Consultation") in given:
            out.append(i)
    return out


def test_a_reader_kept_from_vote_results_cannot_confirm_a_guess_of_them(
        sqlite_api: Api) -> None:
    """/req/core/history-chain, /req/consultations/results-hidden: a consultation driven by
    its actions through two votes closed, their results public in a month. A resident and
    the public receive the record-votes and close-vote events without their counts, result
    and salt, in a read, the history and the feed: the digests they are given (withheldDigest
    and the next event's previousDigest) are not those of the events they could guess from a
    few values, the truth included, and their chains check. Staff see every event whole, each
    with a salt of its own."""
    from .test_lifecycle import CONSULTATION_TOKENS, LIFT, Doc, _body, _proposed, _stage

    api = sqlite_api
    cursors = {who: _latest(api, who) for who in ("resident", "public")}
    c = Doc(api, "Consultation", _proposed(visibility="public"))
    for event in LIFT["history"][1:]:
        _stage(c, event["action"])
        body = _body(event)
        if event["action"] == "open-vote":
            body["details"]["resultsVisibleFrom"] = later(30)
        c.act(CONSULTATION_TOKENS[event["actor"]["role"]], event["action"], body)
        if event["action"] == "close-vote" and event["details"]["voteId"] == "v-02":
            break
    whole = api.staff.get(c.path).json()
    salts = [e.get("salt") for e in whole["history"]]
    assert all(isinstance(s, str) and SALT.fullmatch(s) for s in salts), salts
    assert len(set(salts)) == len(salts)
    for who in ("resident", "public"):
        read = api.as_(who).get(c.path).json()
        history = api.as_(who).get(f"{c.path}/history").json()["items"]
        views = {"read": read, "history": {**read, "history": history}}
        views.update({f"feed {e['id']}": e["data"] for e in _since(api, who, cursors[who])
                      if e.get("subject") == c.path[1:]})
        assert len(views) > 2, who  # the feed gave the consultation's states
        for where, view in views.items():
            assert verify_history(view) == [], (who, where)
            assert _confirmed(view, whole) == [], (who, where)
        withheld = [e["action"] for e in read["history"] if "withheldDigest" in e]
        assert withheld.count("close-vote") == 2 and "record-votes" in withheld, who


def test_an_imported_history_gets_salts_and_keeps_those_it_has(tmp_path: Path) -> None:
    """/req/core/history-chain: a document imported without salts (an older system's, its
    links present) gets one on each event, and its links, right, are written over them, so
    its chain checks; the same document read from that server and imported into another
    (with its salts) keeps them, so both servers give the same history and digests."""
    from .helpers import EXAMPLES

    doc = copy.deepcopy(EXAMPLES["consultation/lift-installation-building-3.json"])
    doc.update(id=new_id())
    doc.pop("externalRefs")
    linked = seal_history(doc, salt=lambda _: None)
    assert verify_history(linked) == [] and not any("salt" in e for e in linked["history"])
    path = f"/consultations/{doc['id']}"
    served: list[dict[str, Any]] = []
    for name in ("first", "second"):
        with TestClient(make_app(f"sqlite:///{tmp_path / name}.sqlite3")) as client:
            client.app.state.sc.service.load(  # type: ignore[attr-defined]
                [served[-1] if served else linked])
            served.append(Api(client).as_("system").get(path).json())
    first, second = served
    salts = [e.get("salt") for e in first["history"]]
    assert all(isinstance(s, str) and SALT.fullmatch(s) for s in salts)
    assert len(set(salts)) == len(salts)
    assert verify_history(first) == []
    assert [{k: v for k, v in e.items() if k not in ("salt", "previousDigest")}
            for e in first["history"]] == [{k: v for k, v in e.items() if k != "previousDigest"}
                                           for e in linked["history"]]
    assert second["history"] == first["history"]
    assert head_digest(second) == head_digest(first)


def test_an_update_leaving_salts_out_keeps_them(api: Api) -> None:
    """/req/core/lifecycle-via-actions: a PUT whose history leaves the salts out keeps those
    stored, as the server keeps meta; a PUT changing one changes the history: 422."""
    staff = api.staff
    doc = submitted_issue()
    resp = staff.create(doc)
    created = resp.json()
    path = f"{ISSUE_PATH}/{doc['id']}"
    salts = [e["salt"] for e in created["history"]]
    body = copy.deepcopy(created)
    body["title"] = "消防通道被占用（补充说明）"
    for event in body["history"]:
        event.pop("salt")
    changed = staff.put(path, body, if_match=resp.headers["etag"])
    assert changed.status_code == 200, changed.text
    assert [e["salt"] for e in changed.json()["history"]] == salts
    body["history"][0]["salt"] = event_salt()
    refused = staff.put(path, body, if_match=changed.headers["etag"])
    assert refused.status_code == 422
    assert "/history" in {e["pointer"] for e in refused.json()["errors"]}


@pytest.mark.parametrize("digest", ["own", "other"])
def test_a_written_withheld_digest_is_refused_and_never_linked(api: Api, digest: str,
                                                               tmp_path: Path) -> None:
    """A created document is whole: withheldDigest on its event is refused, even the event's
    own digest; one stored by an unchecked import is not extended by an action either (the
    chain would rest on it), and the refused action changes nothing."""
    doc = submitted_issue()
    first = doc["history"][0]
    first["withheldDigest"] = (event_digest(first, "Issue") if digest == "own"
                               else "sha256:" + "0" * 64)
    resp = api.as_("community-staff").create(doc)
    assert resp.status_code == 422
    errors = resp.json()["errors"]
    assert {(e["pointer"], e["code"]) for e in errors} == {
        ("/history/0/withheldDigest", "integrity.withheld-digest")}
    assert {"zh-Hans", "en"} <= set(errors[0]["message"])
    # A store of its own: the shared one holds only documents that validate.
    with TestClient(make_app(f"sqlite:///{tmp_path / 'unchecked.sqlite3'}")) as client:
        client.app.state.sc.service.load([doc], validate=False)  # type: ignore[attr-defined]
        staff = Api(client).as_("community-staff")
        before = staff.get(f"{ISSUE_PATH}/{doc['id']}").json()
        acted = staff.act("Issue", doc["id"], "accept")
        assert acted.status_code == 422
        assert {e["pointer"] for e in acted.json()["errors"]} == {"/history/0/withheldDigest"}
        assert staff.get(f"{ISSUE_PATH}/{doc['id']}").json() == before


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_verify_reads_any_number_of_saved_pages(demo: dict[str, Any],
                                                data: st.DataObject) -> None:
    """Pages of GET /changes saved one a line, however many: their events are checked as one
    run, so a changed event in any page is named; a file of nothing checkable is refused."""
    feed = demo["feeds"]["system"]
    size = data.draw(st.integers(1, max(1, len(feed) // 2)), label="page size")
    pages = [{"items": feed[i:i + size], "next": "x"} for i in range(0, len(feed), size)]
    folder = demo["folder"]
    assert run(["verify", _write(folder, "pages.ndjson", [orjson.dumps(p) for p in pages])]) == 0
    i = data.draw(st.integers(0, len(feed) - 1), label="event")
    changed = copy.deepcopy(pages)
    event = changed[i // size]["items"][i % size]
    event["resourceversion"] = str(int(event["resourceversion"]) + 1)
    assert run(["verify", _write(folder, "pages.ndjson",
                                 [orjson.dumps(p) for p in changed])]) == 1
    assert run(["verify", _write(folder, "empty.ndjson", [])]) == 2
    assert run(["verify", _write(folder, "no-history.json", [b'{"resourceType": "Issue"}'])]) == 0
    assert run(["verify", _write(folder, "neither.json", [b'{"items": 1}'])]) == 2
