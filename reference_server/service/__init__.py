"""The API's operations, independent of HTTP.

:class:`Service` runs every operation for any resource type of the spec; what a type adds (who
may write it, the rules the schema cannot express, rights such as erasure) is its
:class:`Policy`, registered with :func:`policy_for`. Writes are prepared first and committed by
the store's group commit (see ``_core``).
"""

from __future__ import annotations

from ._bulk import ImportStopped, import_lines
from ._core import Service
from ._erasure import copy_clearing, copy_erasure
from ._indicators import indicator_figures
from ._policies import ITEMS, RETENTION_EXPIRED, ConsultationPolicy, IssuePolicy, ResidentPolicy
from ._policy import POLICIES, Policy, policy_for
from ._retention import ErasureReach, Retention
from ._shared import Prepared, Result, Write, forbidden, now_cst, stamp, unprocessable

__all__ = ["ITEMS", "POLICIES", "RETENTION_EXPIRED", "ConsultationPolicy", "ErasureReach",
           "ImportStopped", "IssuePolicy", "Policy", "Prepared", "ResidentPolicy", "Result",
           "Retention", "Service", "Write", "copy_clearing", "copy_erasure", "forbidden",
           "import_lines", "indicator_figures", "now_cst", "policy_for", "stamp", "unprocessable"]
