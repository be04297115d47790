"""What the server does with the city profile it runs (/conf/profiles).

The profile is published as the city wrote it (``GET /profile``, its organisation registry
inline) and its service catalogue on its own (``GET /services``, the list an Open311-style client
reads); new issues get the deadlines its catalogue and calendar give.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from smartcommunity.participation import moment
from smartcommunity.profiles import Profile

__all__ = ["PROFILES_CLASS", "deadlines_due", "published"]

#: the conformance class a server implements while it runs a profile
PROFILES_CLASS = "/conf/profiles"
#: the stated deadline members, by the catalogue's kind of time limit
_DUE = (("response", "responseDue"), ("resolution", "resolutionDue"))


def published(profile: Profile | None) -> tuple[bytes | None, bytes]:
    """The bodies of ``GET /profile`` (None without a profile) and ``GET /services``."""
    if profile is None:
        return None, orjson.dumps({"items": []})
    data = dict(profile.data)
    # The registry may live in a file of its own; the API serves it inline.
    data["organisations"] = list(profile.organisations.values())
    catalogue: dict[str, Any] = {"profile": profile.id, "items": list(data.get("services", ()))}
    return orjson.dumps(data), orjson.dumps(catalogue)


def deadlines_due(profile: Profile, doc: Mapping[str, Any]) -> dict[str, str]:
    """The response and resolution deadlines the profile gives the issue ``doc`` from its
    category, urgency and ``submittedAt`` (/req/profiles/deadlines); the kinds it sets no
    limit for, or that ``doc`` lacks the inputs of, are left out."""
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
        due = profile.deadline(category, urgency, kind, start)
        if due is not None:
            out[member] = due.isoformat()
    return out
