"""Replies and support: when a reply is due, which items a decision still waits for, and
whether a proposal's supporters count each resident once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, Protocol

from .._moments import moment as moment  # re-exported by the package
from ..specification import DEFAULT_VERSION, Spec, load_spec
from ..validation import Finding, finding

#: the requirement whose parameter is the spec's default reply period
REPLY_DUE = "/req/voice/reply-due"
#: the member of a profile's ``consultations`` rules that sets the city's reply period
PROFILE_MEMBER = "replyDays"
#: the requirement that names the types residents' voice is recorded in, and what counts as
#: adopted
DECISION_LISTS = "/req/voice/decision-lists-voices"


def voice_types(spec: Spec) -> frozenset[str]:
    """The resource types residents' voice is recorded in: those the reply rule applies to
    besides the consultation itself."""
    return frozenset(spec.requirements[REPLY_DUE].applies_to)


def adopted_outcomes(spec: Spec) -> frozenset[str]:
    """The reply outcomes that count as adopted (in whole or in part)."""
    return frozenset(spec.parameter(DECISION_LISTS, "adoptedOutcomes"))


class ProfileData(Protocol):
    """What is read of a city profile (``smartcommunity.profiles.Profile``): its data."""

    @property
    def data(self) -> Mapping[str, Any]: ...




def reply_days(profile: ProfileData | None = None, version: str = DEFAULT_VERSION) -> int:
    """The days an organiser has to reply: the profile's ``consultations.replyDays``, else the
    spec's default (the ``replyDays`` parameter of /req/voice/reply-due)."""
    if profile is not None:
        rules = profile.data.get("consultations") or {}
        days = rules.get(PROFILE_MEMBER) if isinstance(rules, Mapping) else None
        if isinstance(days, int) and not isinstance(days, bool):
            return days
    return int(load_spec(version).parameter(REPLY_DUE, PROFILE_MEMBER))


#: where the profile meta-schema bounds a city's reply days
_PROFILE_SCHEMA = "meta/profile.json"


def fewest_reply_days(version: str = DEFAULT_VERSION) -> int:
    """The fewest reply days any city profile may set (the meta-schema's minimum): a reply
    deadline this close to receipt is one every conforming server accepts."""
    rules = load_spec(version).schema(_PROFILE_SCHEMA)["properties"]["consultations"]
    return int(rules["properties"][PROFILE_MEMBER]["minimum"])


def reply_due(received_at: str, profile: ProfileData | None = None,
              version: str = DEFAULT_VERSION) -> str:
    """When the reply to an item received at ``received_at`` (RFC 3339 with offset) is due,
    in the same offset (/req/voice/reply-due)."""
    received = moment(received_at)
    if received is None:
        raise ValueError(f"not a date-time with offset: {received_at!r}")
    try:
        due = received + timedelta(days=reply_days(profile, version))
    except OverflowError:
        raise ValueError(f"the reply to an item received at {received_at} falls due after "
                         "year 9999, which no date-time can write") from None
    return due.isoformat(timespec="seconds")


def _of(consultation: Mapping[str, Any], item: Mapping[str, Any]) -> bool:
    ref = item.get("consultation")
    spec = load_spec(str(item.get("specVersion", DEFAULT_VERSION)))
    return (item.get("resourceType") in voice_types(spec) and isinstance(ref, Mapping)
            and ref.get("id") == consultation.get("id"))


#: the decision's, and the decide action's, list of items left unanswered with a reason
UNANSWERED = "unanswered"


def _key(item: Any) -> tuple[Any, Any]:
    return (item.get("resourceType"), item.get("id")) if isinstance(item, Mapping) else (None,
                                                                                         None)


def _listed(entries: Any) -> list[tuple[int, tuple[Any, Any]]]:
    """(position, (resourceType, id)) of each entry of an ``unanswered`` list giving a reason."""
    if not isinstance(entries, list):
        return []
    return [(n, _key(e.get("item"))) for n, e in enumerate(entries)
            if isinstance(e, Mapping) and isinstance(e.get("item"), Mapping) and e.get("reason")]


def _decision_unanswered(consultation: Mapping[str, Any]) -> Any:
    decision = consultation.get("decision")
    return decision.get(UNANSWERED) if isinstance(decision, Mapping) else None


def unanswered(consultation: Mapping[str, Any], items: Iterable[Mapping[str, Any]],
               before: str | None = None, excused: Any = None) -> list[Mapping[str, Any]]:
    """The opinions and proposals of ``consultation`` among ``items`` received before the
    decision (``before``, else ``decision.decidedAt``; every one when neither is known)
    that have no reply and no recorded reason (/req/voice/reply-before-decide): ``excused``
    is the decide action's ``unanswered`` list, else the decision's
    (/req/voice/unanswered-reasons)."""
    if before is None:
        decision = consultation.get("decision")
        before = decision.get("decidedAt") if isinstance(decision, Mapping) else None
    limit = moment(before)
    skip = {key for _, key in _listed(_decision_unanswered(consultation)
                                      if excused is None else excused)}
    found = []
    for item in items:
        if not _of(consultation, item) or isinstance(item.get("reply"), Mapping):
            continue
        received = moment(item.get("receivedAt"))
        if (limit is None or received is None or received < limit) and _key(item) not in skip:
            found.append(item)
    return found


def not_awaiting(consultation: Mapping[str, Any], items: Iterable[Mapping[str, Any]],
                 listed: Any = None, where: tuple[str | int, ...] = ("decision", UNANSWERED)
                 ) -> list[Finding]:
    """Findings ``voice.not-unanswered`` for each entry of ``listed`` (else the decision's
    ``unanswered``) naming no item of ``consultation`` among ``items`` that awaited its reply
    when decided: one replied to before the decision, or not of this consultation at all
    (/req/voice/unanswered-reasons)."""
    spec = load_spec(str(consultation.get("specVersion", DEFAULT_VERSION)))
    decision = consultation.get("decision")
    decided = moment(decision.get("decidedAt")) if isinstance(decision, Mapping) else None
    awaiting = set()
    for item in items:
        reply = item.get("reply")
        replied = moment(reply.get("at")) if isinstance(reply, Mapping) else None
        # A reply made after the decision was still awaited when it was made.
        if _of(consultation, item) and (not isinstance(reply, Mapping) or (
                decided is not None and replied is not None and replied >= decided)):
            awaiting.add(_key(item))
    entries = _decision_unanswered(consultation) if listed is None else listed
    return [finding(spec, (*where, n, "item"), "voice.not-unanswered",
                    item=f"{key[0]}/{key[1]}")
            for n, key in _listed(entries) if key not in awaiting]


def decision_disagreements(consultation: Mapping[str, Any],
                           items: Iterable[Mapping[str, Any]]) -> list[Finding]:
    """Findings ``voice.decision-disagrees`` where ``decision.voices`` lists an outcome that
    differs from the listed item's reply (/req/voice/decision-lists-voices)."""
    spec = load_spec(str(consultation.get("specVersion", DEFAULT_VERSION)))
    replies = {(i.get("resourceType"), i.get("id")): i.get("reply") for i in items
               if _of(consultation, i)}
    decision = consultation.get("decision")
    voices = decision.get("voices") if isinstance(decision, Mapping) else None
    out = []
    for n, entry in enumerate(voices if isinstance(voices, list) else ()):
        ref = entry.get("item") if isinstance(entry, Mapping) else None
        if not isinstance(ref, Mapping):
            continue
        reply = replies.get((ref.get("resourceType"), ref.get("id")))
        if isinstance(reply, Mapping) and reply.get("outcome") != entry.get("outcome"):
            out.append(finding(spec, ("decision", "voices", n, "outcome"),
                               "voice.decision-disagrees", item=ref.get("id"),
                               stated=entry.get("outcome"), expected=reply.get("outcome")))
    return out


def support_problems(proposal: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str,
                                                                 dict[str, Any]]]:
    """``(where, code, values)`` for each way the supporters of ``proposal`` break
    /req/voice/single-support: a resident listed twice, a count that is not their number."""
    supporters = proposal.get("supporters")
    supporters = supporters if isinstance(supporters, list) else []
    seen: set[str] = set()
    out: list[tuple[tuple[str | int, ...], str, dict[str, Any]]] = []
    for n, entry in enumerate(supporters):
        ref = entry.get("resident") if isinstance(entry, Mapping) else None
        rid = ref.get("id") if isinstance(ref, Mapping) else None
        if isinstance(rid, str):
            if rid in seen:
                out.append((("supporters", n, "resident", "id"), "voice.double-support",
                            {"resident": rid}))
            seen.add(rid)
    count = proposal.get("supportCount")
    if isinstance(count, int) and count != len(supporters):
        out.append((("supportCount",), "voice.support-count",
                    {"stated": count, "expected": len(supporters)}))
    return out
