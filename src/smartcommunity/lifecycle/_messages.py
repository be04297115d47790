"""Lifecycle errors worded by the spec's ``error-code`` templates, in both languages."""

from __future__ import annotations

from typing import Any, TypeVar

from ..exceptions import InvalidActionDetails, LifecycleError
from ..specification import Spec

E = TypeVar("E", bound=LifecycleError)


def worded(spec: Spec, code: str, **values: Any) -> dict[str, str]:
    """The template of ``code`` filled with ``values``, in both languages."""
    from ..validation import message  # the one template lookup; imported late (no cycle)

    return message(spec, code, **values)


def lifecycle_error(cls: type[E], spec: Spec, **values: Any) -> E:
    """An error of class ``cls`` worded by the template of its code."""
    said = worded(spec, cls.code, **values)
    return cls(said["en"], said["zh-Hans"], **values)


def details_error(spec: Spec, action: str, pointer: str, code: str,
                  **values: Any) -> InvalidActionDetails:
    """:class:`InvalidActionDetails` for one problem, worded by ``code``'s template inside the
    template of ``lifecycle.invalid-details``; ``errors`` holds ``(pointer, English text)``."""
    problem = worded(spec, code, action=action, **values)
    zh = worded(spec, InvalidActionDetails.code, action=action, detail=problem["zh-Hans"])
    en = worded(spec, InvalidActionDetails.code, action=action, detail=problem["en"])
    return InvalidActionDetails(en["en"], zh["zh-Hans"], action=action, problem=code,
                                errors=[(pointer, problem["en"])])
