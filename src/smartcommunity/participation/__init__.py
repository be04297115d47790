"""Residents' voice in consultations (/conf/voice): reply deadlines, the replies a decision
waits for (or the reasons recorded for those it goes without), and participation figures
computed from opinion and proposal records.

>>> from smartcommunity.participation import reply_due
>>> reply_due("2024-04-07T20:15:00+08:00")
'2024-04-22T20:15:00+08:00'
"""

from __future__ import annotations

from ._figures import AGE_BANDS, NO_BIRTH_DATE, Answers, Participation, age_band, participation
from ._replies import (
    adopted_outcomes,
    decision_disagreements,
    fewest_reply_days,
    moment,
    not_awaiting,
    reply_days,
    reply_due,
    support_problems,
    unanswered,
    voice_types,
)

__all__ = ["AGE_BANDS", "NO_BIRTH_DATE", "Answers", "Participation", "adopted_outcomes",
           "age_band", "decision_disagreements", "fewest_reply_days", "moment", "not_awaiting",
           "participation", "reply_days", "reply_due", "support_problems", "unanswered",
           "voice_types"]
