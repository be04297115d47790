"""What the operations and the resource policies both use: results, refusals, the clock.

The service's generic operations (``_core``) and the per-resource policies (``_policy``,
``_policies``) each import this module and never each other, so neither depends on the other's
import order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from smartcommunity.integrity import SALT, withheld_written
from smartcommunity.lifecycle import Lifecycle
from smartcommunity.profiles import Profile
from smartcommunity.specification import Spec
from smartcommunity.validation import Report

from ..access import Access
from ..auth import Principal
from ..errors import Forbidden, ProblemError, Unprocessable, finding, findings_of
from ..settings import CST
from ..storage import Stored, Tx

__all__ = ["Host", "Prepared", "Result", "Write", "forbidden", "now_cst", "stamp",
           "unprocessable"]


@dataclass(slots=True)
class Result:
    """An operation's answer: status, JSON body and headers."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


#: a write ready to commit (its job), or the answer when there is nothing to write (a replay)
Prepared = Result | Callable[[Tx], Result]


@dataclass(slots=True)
class Write:
    """A further resource written by the same request (a merge updates its target)."""

    stored: Stored
    doc: dict[str, Any]
    action: str
    kind: str = "updated"


class Host(Protocol):
    """What a policy reads from the service that runs it."""

    spec: Spec
    access: Access
    source: str
    #: the city profile the server runs, if any
    profile: Profile | None

    def lifecycle(self, rtype: str) -> Lifecycle: ...


def forbidden(principal: Principal, en: str, zh: str, requirement: str | None = None,
              pointer: str = "") -> ProblemError:
    """403 for ``principal`` with the reason in both languages."""
    return Forbidden(role=principal.role, reason=en, reason_zh=zh, errors=[
        finding(pointer, "http.forbidden", en, zh, requirement)])


def unprocessable(items: Iterable[Any], *, findings: bool = False) -> ProblemError:
    """422 listing every problem: ``(pointer, en, zh, requirement)`` tuples or findings."""
    if findings:
        errors = findings_of(items)
    else:
        errors = [finding(p, "http.unprocessable-content", en, zh, req)
                  for p, en, zh, req in items]
    return Unprocessable(count=len(errors), errors=errors)


def refused(report: Report, doc: Any) -> ProblemError | None:
    """422 for a written document: the validator's errors in ``report``, and each history
    event carrying withheldDigest (/req/core/history-chain: what is written is whole, and a
    chain resting on a digest the writer chose would check a rewritten event). None when
    neither is there."""
    written = withheld_written(doc) if isinstance(doc, dict) else []
    if report.valid and not written:
        return None
    errors = [] if report.valid else findings_of(report.findings)
    said = {(e["pointer"], e["code"]) for e in errors}
    errors += [finding(b.pointer, b.code, b.message["en"], b.message["zh-Hans"],
                       "/req/core/history-chain")
               for b in written if (b.pointer, b.code) not in said]
    return Unprocessable(count=len(errors), errors=errors)


def salts_kept(stored: Mapping[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """``doc``, an update of ``stored``, with the salt of each stored history event on the
    event in its place that leaves it out: the server keeps the salts it wrote, as it keeps
    meta, and an update changes no history (/req/core/lifecycle-via-actions)."""
    history, old = doc.get("history"), stored.get("history")
    if not (isinstance(history, list) and isinstance(old, list)):
        return doc
    kept = [{**e, SALT: o[SALT]} if (isinstance(e, dict) and SALT not in e
                                     and isinstance(o, Mapping) and SALT in o) else e
            for e, o in zip(history, old, strict=False)]
    if all(a is b for a, b in zip(kept, history, strict=False)):
        return doc
    return {**doc, "history": kept + history[len(kept):]}


def now_cst() -> datetime:
    """Now, in China Standard Time (the offset the server writes)."""
    return datetime.now(CST)


def stamp(moment: datetime) -> str:
    """``moment`` as the RFC 3339 text the server stores (milliseconds)."""
    return moment.isoformat(timespec="milliseconds")
