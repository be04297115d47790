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
from .lifecycle import apply_action, lifecycle_for
from .privacy import audience_for_role, redact
from .specification import Spec, available_versions, load_spec
from .validation import Finding, Report, Validator, validate

__version__ = "1.0.0.dev0"

#: Typed models load on first use: importing pydantic models for every type takes a moment.
_MODELS = frozenset({"Resident", "Issue", "Consultation", "model_for"})


def __getattr__(name: str) -> object:
    if name in _MODELS:
        from . import models

        return getattr(models, name)
    raise AttributeError(f"module 'smartcommunity' has no attribute {name!r}")

__all__ = [
    "ActionNotAllowed",
    "Consultation",
    "DocumentError",
    "Finding",
    "IdentifierError",
    "InvalidActionDetails",
    "Issue",
    "LifecycleError",
    "RedactionError",
    "Report",
    "Resident",
    "RoleNotAllowed",
    "SmartCommunityError",
    "Spec",
    "SpecError",
    "UnknownSpecVersion",
    "Validator",
    "__version__",
    "apply_action",
    "audience_for_role",
    "available_versions",
    "lifecycle_for",
    "load_spec",
    "model_for",
    "redact",
    "validate",
]
