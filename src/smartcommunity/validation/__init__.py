"""Validation of documents: the normative schema, then every rule it cannot express.

>>> from smartcommunity import validate
>>> report = validate({"resourceType": "Issue"})
>>> report.valid
False
"""

from __future__ import annotations

from ..pointers import pointer, resolve_pointer

# Importing the rule modules registers their rules.
from . import (  # noqa: F401
    _rules_consultation,
    _rules_core,
    _rules_issue,
    _rules_resident,
)
from ._input import too_deep
from ._plan import Leaf, Plan, compile_plan, values_at
from ._report import Finding, Report, Severity
from ._rules_resident import pseudonym_key
from ._validator import Validator, validate

__all__ = ["Finding", "Leaf", "Plan", "Report", "Severity", "Validator", "compile_plan",
           "pointer", "pseudonym_key", "resolve_pointer", "too_deep", "validate", "values_at"]
