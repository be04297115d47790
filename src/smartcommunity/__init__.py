"""smartcommunity: the Smart Community Interoperability Standard for Python.

Public names are re-exported here; submodules whose names start with ``_`` are private.
"""

from __future__ import annotations

from ._moments import CHINA_STANDARD_TIME
from .exceptions import (
    ActionNotAllowed,
    DocumentError,
    IdentifierError,
    InvalidActionDetails,
    LifecycleError,
    ModelError,
    ModelProblem,
    RedactionError,
    RoleNotAllowed,
    SmartCommunityError,
    SpecError,
    UnknownSpecVersion,
)
from .lifecycle import apply_action, lifecycle_for
from .privacy import audience_for_role, redact
from .specification import DEFAULT_VERSION, Spec, available_versions, load_spec
from .validation import Finding, Report, Validator, validate

__version__ = "1.0.0.dev0"

#: Typed models load on first use: importing pydantic models for every type takes a moment.
#: Besides ``model_for``, the package offers the model of every resource type of the default
#: version by its resource type (``smartcommunity.Issue``); ``smartcommunity.models`` has them all.
def _resource_types() -> tuple[str, ...]:
    return load_spec(DEFAULT_VERSION).resource_types


def __getattr__(name: str) -> object:
    if name == "model_for" or (not name.startswith("_") and name in _resource_types()):
        from . import models

        return getattr(models, name)
    raise AttributeError(f"module 'smartcommunity' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "model_for", *_resource_types()})


# The models are left out of ``import *``, which would load them all.
__all__ = [
    "CHINA_STANDARD_TIME",
    "DEFAULT_VERSION",
    "ActionNotAllowed",
    "DocumentError",
    "Finding",
    "IdentifierError",
    "InvalidActionDetails",
    "LifecycleError",
    "ModelError",
    "ModelProblem",
    "RedactionError",
    "Report",
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
