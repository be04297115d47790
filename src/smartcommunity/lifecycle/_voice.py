"""The effects of the actions on opinions and proposals (/conf/voice).

A supporter is never named in the action's details: it is the actor's own resident record or
the resident the actor acts for, so support is bound to whoever holds the credential
(/req/voice/single-support). A reply's time and author are the event's.
"""

from __future__ import annotations

import copy
from typing import Any

from .._moments import moment
from ._effects import Inputs, _details, _fail, _list, effect

__all__ = ["supporter_of"]


def supporter_of(actor: Any) -> str | None:
    """The id of the resident an action's ``actor`` supports for: ``onBehalfOf`` when the actor
    records for someone, else the actor's own resident record; None when it names neither."""
    if not isinstance(actor, dict):
        return None
    for member in ("onBehalfOf", "resident"):
        ref = actor.get(member)
        if isinstance(ref, dict) and isinstance(ref.get("id"), str):
            return str(ref["id"])
    return None




def _open_until_deadline(document: dict[str, Any], event: dict[str, Any]) -> None:
    """/req/voice/support-withdrawal: nothing changes in support after the deadline."""
    deadline, at = moment(document.get("supportDeadline")), moment(event.get("at"))
    if deadline is not None and at is not None and at > deadline:
        raise _fail(str(event["action"]), "/supportDeadline", "voice.support-closed",
                    deadline=document.get("supportDeadline"))


def _supporters(document: dict[str, Any], event: dict[str, Any]
                ) -> tuple[Any, list[Any], list[Any]]:
    """The resident ``event`` is by, the proposal's supporters and their resident ids, once
    the event is known to come from a resident while support is open."""
    action = str(event["action"])
    resident = supporter_of(event.get("actor"))
    if resident is None:
        raise _fail(action, "/actor", "voice.supporter-unknown")
    _open_until_deadline(document, event)
    supporters = _list(document, "supporters")
    ids = [(s.get("resident") or {}).get("id") if isinstance(s, dict) else None
           for s in supporters]
    return resident, supporters, ids


@effect("Proposal", "support")
def _support(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    resident, supporters, ids = _supporters(document, event)
    if resident in ids:
        raise _fail("support", "/actor", "voice.double-support", resident=resident)
    entry: dict[str, Any] = {"resident": {"resourceType": "Resident", "id": resident},
                             "at": event["at"], "channel": _details(event)["channel"]}
    actor = event.get("actor") or {}
    if "onBehalfOf" in actor:
        entry["recordedBy"] = actor.get("role")
    supporters.append(entry)
    document["supportCount"] = len(supporters)


@effect("Proposal", "withdraw-support")
def _withdraw_support(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    resident, supporters, ids = _supporters(document, event)
    if resident not in ids:
        raise _fail("withdraw-support", "/actor", "voice.not-supporting", resident=resident)
    del supporters[ids.index(resident)]
    document["supportCount"] = len(supporters)


@effect("Opinion", "reply")
@effect("Proposal", "reply")
def _reply(document: dict[str, Any], event: dict[str, Any], inputs: Inputs) -> None:
    reply = copy.deepcopy(_details(event)["reply"])
    reply["at"] = event["at"]
    reply["by"] = copy.deepcopy(event["actor"])
    document["reply"] = reply
