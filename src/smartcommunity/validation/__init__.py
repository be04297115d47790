"""Validation of documents: the normative schema, then every rule it cannot express.

>>> from smartcommunity import validate
>>> report = validate({"resourceType": "Issue"})
>>> report.valid
False
"""

from __future__ import annotations

# Importing the rule modules registers their rules.
from . import (  # noqa: F401
    _rules_consultation,
    _rules_core,
    _rules_issue,
    _rules_resident,
)
from ._input import too_deep
from ._report import Finding, Report, Severity, pointer, resolve_pointer
from ._validator import Validator, validate

__all__ = ["Finding", "Report", "Severity", "Validator", "pointer", "resolve_pointer", "too_deep",
           "validate"]
