"""Redaction of documents for an audience, computed from the schemas' PIPL tags.

>>> from smartcommunity.privacy import redact, audience_for_role
>>> audience_for_role("department")
'department'

The audiences are the spec's (``audience.csv``): :func:`audiences` gives them for a version;
``AUDIENCES`` is the same tuple for the default version. :func:`hide_results` withholds vote
results until they are due (/req/consultations/results-hidden), for a server's readers and the
public pages alike.
"""

from __future__ import annotations

from ..specification import DEFAULT_VERSION
from ._redact import (
    RedactionProfile,
    RegisteredExtension,
    audience_for_role,
    audiences,
    published_with_consent,
    redact,
    rekey_pseudonyms,
    without_personal,
)
from ._results import ResultsRule, hide_results, results_rule, results_shown, results_steady

__all__ = ["AUDIENCES", "RedactionProfile", "RegisteredExtension", "ResultsRule",
           "audience_for_role", "audiences", "hide_results", "published_with_consent", "redact",
           "rekey_pseudonyms", "results_rule", "results_shown", "results_steady",
           "without_personal"]


def __getattr__(name: str) -> object:
    # Read from the spec when first asked for, so importing the package reads no spec file.
    if name == "AUDIENCES":
        return audiences(DEFAULT_VERSION)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
