"""Validation of documents: the normative schema, then every rule it cannot express.

>>> from smartcommunity import validate
>>> report = validate({"resourceType": "Issue"})
>>> report.valid
False
"""

from __future__ import annotations

from . import _rules_consultation  # noqa: F401  (registers the Consultation rules)
from . import _rules_core  # noqa: F401  (registers the core rules)
from . import _rules_issue  # noqa: F401  (registers the issue rules)
from . import _rules_resident  # noqa: F401  (registers the Resident rules)
from ._report import Finding, Report, Severity, pointer
from ._validator import Validator, validate

__all__ = ["Finding", "Report", "Severity", "Validator", "pointer", "validate"]
