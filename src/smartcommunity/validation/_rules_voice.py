"""Library rules of opinions and proposals (conformance class ``/conf/voice``).

What JSON Schema cannot say about one record: a proposal counts each supporter once and its
count agrees, and a reply is due no later than the reply days allow. The rules that need other
records (every item answered before the decision, the decision agreeing with the replies) are
functions of ``smartcommunity.participation``, given the records.
"""

from __future__ import annotations

from ..participation import moment, reply_due, support_problems
from ._messages import ErrorCodes
from ._validator import Context, Document, rule

__all__ = ["CODE"]

#: The codes these rules report (support_problems reports the supporters' own).
CODE = ErrorCodes("voice")


@rule("Proposal")
def _supporters(doc: Document, ctx: Context) -> None:
    for where, code, values in support_problems(doc):
        ctx.emit(where, code, **values)


@rule("Opinion", "Proposal")
def _reply_due(doc: Document, ctx: Context) -> None:
    # Without the city's profile the spec's default is the bound: a profile only shortens it.
    stated, received = doc.get("replyDue"), doc.get("receivedAt")
    if moment(stated) is None or moment(received) is None:
        return
    try:
        expected = reply_due(str(received), version=ctx.spec.version)
    except ValueError:
        return  # due after year 9999: no replyDue a date-time can write is later
    late, bound = moment(stated), moment(expected)
    if late is not None and bound is not None and late > bound:
        ctx.emit(("replyDue",), CODE.REPLY_DUE_LATE, stated=stated, expected=expected)
