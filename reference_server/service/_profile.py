"""What the server does with the city profile it runs (/conf/profiles).

The profile is published as the city wrote it (``GET /profile``, its organisation registry
inline, each organisation redacted for the reader as ``GET /organisations/{id}`` serves it) and
its service catalogue on its own (``GET /services``, the list an Open311-style client
reads); new issues get the deadlines its catalogue and calendar give, and so does an issue whose
category, urgency or submission time a write changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from smartcommunity.participation import moment
from smartcommunity.profiles import Profile

__all__ = ["PROFILES_CLASS", "catalogue", "deadlines_due", "published", "redue"]

#: the conformance class a server implements while it runs a profile
PROFILES_CLASS = "/conf/profiles"
#: the stated deadline members, by the catalogue's kind of time limit
_DUE = (("response", "responseDue"), ("resolution", "resolutionDue"))
#: what the catalogue computes an issue's deadlines from
_INPUTS = ("category", "urgency", "submittedAt")


def published(profile: Profile, organisation: Callable[[dict[str, Any]], dict[str, Any]]
              ) -> bytes:
    """The body of ``GET /profile``: the profile, its registry inline with each organisation
    as ``organisation`` gives it to the reader (the names and phones of its members are
    personal data; /req/profiles/server-profile)."""
    data = dict(profile.data)
    # The registry may live in a file of its own; the API serves it inline.
    data["organisations"] = [organisation(o) for o in profile.organisations.values()]
    return orjson.dumps(data)


def catalogue(profile: Profile | None) -> bytes:
    """The body of ``GET /services`` (an empty list without a profile)."""
    if profile is None:
        return orjson.dumps({"items": []})
    return orjson.dumps({"profile": profile.id, "items": list(profile.data.get("services", ()))})


def deadlines_due(profile: Profile, doc: Mapping[str, Any]) -> dict[str, str]:
    """The response and resolution deadlines the profile gives the issue ``doc`` from its
    category, urgency and ``submittedAt`` (/req/profiles/deadlines); the kinds it sets no
    limit for, cannot compute a date for, or that ``doc`` lacks the inputs of, are left
    out."""
    category, urgency, submitted = (doc.get("category"), doc.get("urgency"),
                                    doc.get("submittedAt"))
    if not (isinstance(category, str) and isinstance(urgency, str)
            and isinstance(submitted, str)):
        return {}
    start = moment(submitted)  # ``t`` and ``z`` in either case, as the schema allows
    if start is None:
        return {}
    out: dict[str, str] = {}
    for kind, member in _DUE:
        try:
            due = profile.deadline(category, urgency, kind, start)
        except ValueError:  # validation with the profile refuses the issue, with a finding
            continue
        if due is not None:
            out[member] = due.isoformat()
    return out


def _same(a: Any, b: Any) -> bool:
    """Whether two member values are the same, a time however it is spelled."""
    if a == b:
        return True
    at = moment(a)
    return at is not None and at == moment(b)


def redue(profile: Profile, old: Mapping[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``new``, a write over the stored issue ``old``: when it changes the category, urgency or
    submittedAt, each deadline it leaves as stored or omits becomes the one the profile gives
    the new values; one it states otherwise is its own (and checked), and an extended
    resolution deadline stays as approved (/req/profiles/deadlines)."""
    if all(_same(old.get(k), new.get(k)) for k in _INPUTS):
        return new
    stated = new.get("deadlines", {})
    if not isinstance(stated, dict):
        return new
    before = old.get("deadlines")
    before = before if isinstance(before, dict) else {}
    extended = isinstance(stated.get("extensions"), list) and bool(stated["extensions"])
    out = dict(stated)
    for member, due in deadlines_due(profile, new).items():
        if member == "resolutionDue" and extended:
            continue
        if member not in stated or _same(stated[member], before.get(member)):
            out[member] = due
    return {**new, "deadlines": out} if out != stated else new
