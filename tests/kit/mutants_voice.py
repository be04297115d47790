"""Broken variants of the reference server for residents' voice (/conf/voice): one defect
each, which the kit must catch through the check citing the requirement it breaks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from reference_server import access as access_module
from reference_server.service import _policies
from smartcommunity.lifecycle import _effects, _voice
from smartcommunity.validation import _rules_voice

from .mutants import Mutant, leaky_redact, replaying, request_body


def behalf_dropped(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """New opinions lose the resident they were recorded for."""

    async def without_behalf(scope: Any, receive: Any, send: Any) -> None:
        if not (scope.get("type") == "http" and scope.get("method") == "POST"
                and scope.get("path") == "/opinions"):
            await app(scope, receive, send)
            return
        body = await request_body(receive)
        try:
            doc = json.loads(body)
            doc["history"][0]["actor"].pop("onBehalfOf", None)
            body = json.dumps(doc, ensure_ascii=False).encode()
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            pass
        await app(scope, replaying(body, receive), send)

    return without_behalf


def double_support(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A support is appended even when the resident already supports."""

    def support(document: dict[str, Any], event: dict[str, Any], inputs: Any) -> None:
        resident = _voice.supporter_of(event.get("actor"))
        supporters = document.setdefault("supporters", [])
        supporters.append({"resident": {"resourceType": "Resident", "id": resident},
                           "at": event["at"], "channel": event["details"]["channel"]})
        document["supportCount"] = len(supporters)

    mp.setitem(_effects._EFFECTS, ("Proposal", "support"), support)
    # ... and the validation of what it stored does not count supporters either
    mp.setattr(_rules_voice, "support_problems", lambda proposal: [])
    return app


def deadline_ignored(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(_voice, "_open_until_deadline", lambda document, event: None)
    return app


def reply_at_creation(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A reply sent with the new record is kept: nobody had to answer through the action."""
    original = _policies.VoicePolicy.check_create

    def check_create(self: Any, principal: Any, doc: dict[str, Any]) -> None:
        reply = doc.pop("reply", None)
        original(self, principal, doc)
        if reply is not None:
            doc["reply"] = reply

    mp.setattr(_policies.VoicePolicy, "check_create", check_create)
    return app


def reply_due_loose(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The server gives residents' voice a month, whatever the reply days say."""

    def month(received: str, *args: Any, **kw: Any) -> str:
        start = datetime.fromisoformat(received)
        return (start + timedelta(days=30)).isoformat(timespec="seconds")

    mp.setattr(_policies, "reply_due", month)
    return app


def reply_days_of_the_spec(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The server gives the spec's default reply days though its city profile sets fewer."""
    original = _policies.reply_due

    def default(received: str, profile: Any = None, **kw: Any) -> str:
        return original(received, None, **kw)

    mp.setattr(_policies, "reply_due", default)
    return app


def decided_unanswered(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(_policies.ConsultationPolicy, "_replies_given", lambda self, *args: None)
    return app


def any_reason_will_do(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A decide giving a reason for any one missing reply goes ahead without the others."""
    original = _policies.unanswered

    def lenient(consultation: Any, items: Any, before: Any = None, excused: Any = None) -> Any:
        return [] if excused else original(consultation, items, before=before, excused=excused)

    mp.setattr(_policies, "unanswered", lenient)
    return app


def author_leaked(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Opinions and proposals reach every reader with their actors as recorded."""
    def leak(out: dict[str, Any], stored: dict[str, Any]) -> None:
        if stored.get("resourceType") in ("Opinion", "Proposal"):
            for kept, given in zip(out.get("history") or [], stored.get("history") or [],
                                   strict=False):
                kept["actor"] = given.get("actor")

    leaky_redact(mp, leak)
    return app


MUTANTS: list[Mutant] = [
    Mutant("voice-behalf-dropped", "/req/voice/recorded-for",
           "an opinion recorded for a resident loses onBehalfOf", behalf_dropped),
    Mutant("voice-double-support", "/req/voice/single-support",
           "a resident's second support is counted", double_support),
    Mutant("voice-deadline-ignored", "/req/voice/support-withdrawal",
           "support and withdrawal go on after the deadline", deadline_ignored),
    Mutant("voice-reply-at-creation", "/req/voice/reply-reasons",
           "a reply sent with a new opinion is kept", reply_at_creation),
    Mutant("voice-reply-due-loose", "/req/voice/reply-due",
           "replyDue is a month after receipt", reply_due_loose),
    Mutant("voice-reply-days-of-the-spec", "/req/voice/reply-due",
           "replyDue follows the spec's 15 days though the city profile sets 10",
           reply_days_of_the_spec),
    Mutant("voice-decided-unanswered", "/req/voice/reply-before-decide",
           "decide goes ahead while opinions await their reply", decided_unanswered),
    Mutant("voice-any-reason-will-do", "/req/voice/unanswered-reasons",
           "one recorded reason lets decide go ahead without every other reply",
           any_reason_will_do),
    Mutant("voice-author-leaked", "/req/voice/public-without-author",
           "the public reads who wrote or recorded an opinion", author_leaked),
]


def voices_of_hidden_consultations(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Opinions and proposals are shown to whoever may read opinions at all, whatever their
    consultation's visibility."""
    mp.setattr(access_module.Access, "_may_see_owner", lambda self, principal, stored, now: True)
    return app


MUTANTS += [
    Mutant("voice-of-hidden-consultation", "/req/voice/consultation-visibility",
           "the public reads the opinions of a consultation it may not read",
           voices_of_hidden_consultations),
]


def received_ahead(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """An opinion or proposal stated as received after the server's time is stored."""
    mp.setattr(_policies.VoicePolicy, "_received_by_now", lambda self, doc: None)
    return app


def decided_before_now(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """decide waits only for items whose receivedAt has passed by the server's clock."""
    original = _policies.unanswered

    def received_by_now(consultation: Any, items: Any, before: Any = None,
                        excused: Any = None) -> Any:
        now = _policies.stamp(_policies.now_cst())
        return original(consultation, items, before=now, excused=excused)

    mp.setattr(_policies, "unanswered", received_by_now)
    return app


def decision_disagrees_recorded(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """decide records an outcome for an item other than its reply's."""
    mp.setattr(_policies.ConsultationPolicy, "_voices_agree", lambda self, *args: None)
    return app


MUTANTS += [
    Mutant("voice-received-ahead", "/req/voice/reply-before-decide",
           "an opinion received a day after the server's time is stored", received_ahead),
    Mutant("voice-decided-before-now", "/req/voice/reply-before-decide",
           "decide passes by an item stated as received a little ahead of the clock",
           decided_before_now),
    Mutant("voice-decision-disagrees-recorded", "/req/voice/decision-lists-voices",
           "decide lists an opinion as adopted though its reply did not adopt it",
           decision_disagrees_recorded),
]
