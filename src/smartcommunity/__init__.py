"""smartcommunity: the Smart Community Interoperability Standard for Python.

Public names are re-exported here; submodules whose names start with ``_`` are private.
"""

from __future__ import annotations

from .exceptions import (
    ActionNotAllowed,
    DocumentError,
    IdentifierError,
    InvalidActionDetails,
    LifecycleError,
    RedactionError,
    RoleNotAllowed,
    SmartCommunityError,
    SpecError,
    UnknownSpecVersion,
)
from .specification import Spec, available_versions, load_spec
from .validation import Finding, Report, Validator, validate

__version__ = "1.0.0.dev0"

__all__ = [
    "ActionNotAllowed",
    "Finding",
    "Report",
    "Validator",
    "validate",
    "DocumentError",
    "IdentifierError",
    "InvalidActionDetails",
    "LifecycleError",
    "RedactionError",
    "RoleNotAllowed",
    "SmartCommunityError",
    "Spec",
    "SpecError",
    "UnknownSpecVersion",
    "__version__",
    "available_versions",
    "load_spec",
]
