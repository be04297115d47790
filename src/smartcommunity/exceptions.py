"""Exceptions of the smartcommunity library.

Hierarchy::

    SmartCommunityError                  root: catch this to catch everything
    ├── SpecError                        the installed spec is missing or inconsistent
    │   └── UnknownSpecVersion (LookupError)
    ├── DocumentError (ValueError)       input that is not a document of the standard
    ├── IdentifierError (ValueError)     an identifier, key or mask argument is unusable
    ├── LifecycleError (ValueError)      a lifecycle action cannot be applied
    │   ├── ActionNotAllowed             not allowed from the current status
    │   │   └── UnknownAction            the lifecycle table has no such action
    │   ├── RoleNotAllowed               not allowed for the actor's role
    │   └── InvalidActionDetails         the action's details break its schema
    ├── RedactionError (ValueError)      redaction impossible for the audience
    ├── ProfileError (ValueError)        a city profile that cannot be used (its findings attached)
    ├── IndicatorError (ValueError)      unusable indicator definitions or an unreadable input
    ├── ModelError (ValueError)          a document a typed model refuses (its problems listed)
    └── Open311Error (ValueError)        an Open311 request or export that cannot become an issue

Validation problems are never raised: they are returned as data in a Report.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class SmartCommunityError(Exception):
    """Root of every exception raised by the library."""


class SpecError(SmartCommunityError):
    """The installed specification files are missing or inconsistent."""


class UnknownSpecVersion(SpecError, LookupError):
    """No specification of the requested version is installed."""


class DocumentError(SmartCommunityError, ValueError):
    """The input is not a document of the standard (not JSON, wrong type, unknown resource)."""


class IdentifierError(SmartCommunityError, ValueError):
    """An identifier, key or argument does not meet the identifiers module's contract."""


class LifecycleError(SmartCommunityError, ValueError):
    """A lifecycle action cannot be applied; ``code`` is the stable error code, whose
    ``error-code`` template words ``message`` (both languages) from ``context``."""

    code = "lifecycle.error"

    def __init__(self, message_en: str, message_zh: str, **context: Any) -> None:
        super().__init__(message_en)
        self.message = {"zh-Hans": message_zh, "en": message_en}
        self.context = context


class ActionNotAllowed(LifecycleError):
    """The action is not allowed from the resource's current status."""

    code = "lifecycle.action-not-allowed"


class UnknownAction(ActionNotAllowed):
    """The lifecycle table has no such action."""

    code = "lifecycle.unknown-action"


class RoleNotAllowed(LifecycleError):
    """The actor's role may not perform the action."""

    code = "lifecycle.role-not-allowed"


class InvalidActionDetails(LifecycleError):
    """The action's details do not match the action's details schema."""

    code = "lifecycle.invalid-details"


class RedactionError(SmartCommunityError, ValueError):
    """A document cannot be redacted for the requested audience."""


class ProfileError(SmartCommunityError, ValueError):
    """A city profile cannot be loaded: unreadable, or with errors (``findings``, as data)."""

    def __init__(self, message: str, findings: list[Any] | None = None) -> None:
        super().__init__(message)
        self.findings = list(findings or ())


class IndicatorError(SmartCommunityError, ValueError):
    """Indicator definitions that cannot be used, or an input that cannot be read as issues."""


class ModelProblem(NamedTuple):
    """One reason a typed model refuses a document, worded as the validator words it."""

    #: JSON Pointer to the member at fault (``""`` for the document itself)
    pointer: str
    #: the stable ``schema.*`` error code of ``error-code.csv``
    code: str
    zh: str
    en: str


class ModelError(SmartCommunityError, ValueError):
    """A typed model (``smartcommunity.models``) does not accept a document; ``problems`` lists
    each fault as a :class:`ModelProblem` (pointer, code, Chinese and English message)."""

    def __init__(self, model: str, problems: list[ModelProblem]) -> None:
        self.model = model
        self.problems = tuple(problems)
        lines = "".join(f"\n  {p.pointer or '/'}: {p.zh} / {p.en}" for p in self.problems)
        super().__init__(f"{model} 不接受该文档 / {model} does not accept the document:{lines}")


class Open311Error(SmartCommunityError, ValueError):
    """An Open311 request or export that cannot become an issue; ``problems`` lists every
    unusable field as ``{pointer, code, message}`` (message in both languages)."""

    def __init__(self, message: str, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or ())
