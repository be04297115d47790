"""The state machine: which actions a role may take from a status, and applying one."""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..exceptions import (
    ActionNotAllowed,
    InvalidActionDetails,
    LifecycleError,
    RoleNotAllowed,
    UnknownAction,
)
from ..pointers import pointer
from ..specification import DEFAULT_VERSION, Spec, load_spec, per_spec_tree
from ._effects import Inputs, Thresholds, apply_effects
from ._messages import lifecycle_error, worded


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of a lifecycle table."""

    action: str
    sources: frozenset[str]  # empty: the action that creates the resource
    target: str | None  # None: the status stays
    roles: frozenset[str]
    sets: Mapping[str, Any]
    details_schema: Mapping[str, Any] | None

    @property
    def creates(self) -> bool:
        return not self.sources

    def leads_to(self, status: str | None) -> str | None:
        return self.target if self.target is not None else status


@dataclass(frozen=True, slots=True)
class Applied:
    """The result of an action: the new document and the history event appended to it."""

    document: dict[str, Any]
    event: dict[str, Any]


class Lifecycle:
    """The lifecycle table of one resource type."""

    def __init__(self, spec: Spec, resource_type: str) -> None:
        table = spec.lifecycles.get(resource_type)
        if table is None:
            raise lifecycle_error(LifecycleError, spec, resource_type=resource_type)
        self.spec = spec
        self.resource_type = resource_type
        self.terminal = frozenset(table.get("terminal", ()))
        self.transitions: dict[str, Transition] = {}
        for row in table["transitions"]:
            self.transitions[row["action"]] = Transition(
                action=row["action"],
                sources=frozenset(row["from"]),
                target=row.get("to"),
                roles=frozenset(row["roles"]),
                sets=row.get("sets", {}),
                details_schema=row.get("details"),
            )
        self.statuses = tuple(spec.codelist(table["statusCodelist"]))

    @functools.cached_property
    def creating_actions(self) -> tuple[str, ...]:
        return tuple(a for a, t in self.transitions.items() if t.creates)

    def allowed_actions(self, status: str | None, role: str | None = None) -> list[str]:
        """Actions possible from ``status`` (None: before creation), optionally for ``role``."""
        return [
            a
            for a, t in self.transitions.items()
            if (status in t.sources if status is not None else t.creates)
            and (role is None or role in t.roles)
        ]

    def check(self, status: str | None, action: str, role: str) -> Transition:
        """The transition for ``action`` by ``role`` from ``status``, or a LifecycleError."""
        t = self.transitions.get(action)
        if t is None:
            raise lifecycle_error(UnknownAction, self.spec, action=action, status=status,
                                  allowed=self.allowed_actions(status))
        allowed_here = t.creates if status is None else status in t.sources
        if not allowed_here:
            raise lifecycle_error(ActionNotAllowed, self.spec, action=action, status=status,
                                  allowed=self.allowed_actions(status))
        if role not in t.roles:
            raise lifecycle_error(RoleNotAllowed, self.spec, action=action, role=role,
                                  roles=sorted(t.roles))
        return t

    def details_validator(self, action: str) -> Any:
        """The compiled (jsonschema-rs) validator of ``action``'s details schema, or None when
        the action has none; compiled once per spec version, resource type and action."""
        if self.transitions[action].details_schema is None:
            return None
        return _details_validator(self.spec, self.resource_type, action)

    def details_problems(self, action: str, details: Any
                         ) -> list[tuple[tuple[str | int, ...], str, dict[str, Any]]]:
        """``(path in details, schema.* code, template values)`` for every way ``details``
        (an empty object when None) breaks the action's details schema."""
        validator = self.details_validator(action)
        if validator is None:
            return []
        from ..validation import schema_problems  # the one wording of schema errors

        return list(schema_problems(validator, details if details is not None else {}))

    def details_errors(self, action: str, details: Any) -> list[tuple[str, str]]:
        """``(pointer, message)`` for every way ``details`` breaks the action's schema."""
        return [(pointer(("details", *where)), worded(self.spec, code, **values)["en"])
                for where, code, values in self.details_problems(action, details)]

    def apply(
        self,
        document: Mapping[str, Any],
        action: str,
        *,
        actor: Mapping[str, Any],
        at: str | None = None,
        details: Mapping[str, Any] | None = None,
        note: str | None = None,
        reason: str | None = None,
        inputs: Inputs | None = None,
        thresholds: Mapping[str, Thresholds] | None = None,
    ) -> Applied:
        """Apply ``action`` by ``actor`` to ``document``; the input is not modified.

        Raises :class:`ActionNotAllowed`, :class:`RoleNotAllowed` or
        :class:`InvalidActionDetails`; on success the new document's status is the event's
        ``toStatus`` and the event is appended to its history. The action's effects
        (``_effects``) then run on the new document, with ``inputs`` for what details lack
        and a city profile's consultation ``thresholds`` by form for the outcome of a vote.
        """
        status = document.get("status") if document.get("history") else None
        t = self.check(status, action, str(actor.get("role")))
        problems = self.details_problems(action, details)
        if problems:
            _, code, values = problems[0]
            said = worded(self.spec, code, **values)
            zh = worded(self.spec, InvalidActionDetails.code, action=action,
                        detail=said["zh-Hans"])
            en = worded(self.spec, InvalidActionDetails.code, action=action, detail=said["en"])
            raise InvalidActionDetails(
                en["en"], zh["zh-Hans"], action=action,
                errors=[(pointer(("details", *w)), worded(self.spec, c, **v)["en"])
                        for w, c, v in problems],
            )
        new = copy.deepcopy(dict(document))
        history = list(new.get("history") or [])
        event: dict[str, Any] = {
            "seq": len(history) + 1,
            "at": at or datetime.now(UTC).astimezone().isoformat(timespec="seconds"),
            "action": action,
            "actor": dict(actor),
        }
        if status is not None:
            event["fromStatus"] = status
        target = t.leads_to(status)
        event["toStatus"] = target
        if note:
            event["note"] = note
        if reason:
            event["reason"] = reason
        if details:
            event["details"] = copy.deepcopy(dict(details))
        history.append(event)
        new["history"] = history
        new["status"] = target
        for field, value in t.sets.items():
            resolved = _resolve(value, details or {})
            if resolved is None:  # null in the table clears the field (reopen clears resolution)
                new.pop(field, None)
            else:
                new[field] = resolved
        apply_effects(self.resource_type, action, new, event, inputs, self.spec, thresholds)
        return Applied(new, event)


def _resolve(value: Any, details: Mapping[str, Any]) -> Any:
    # {"fromDetails": "key"} copies a value the actor supplied with the action.
    if isinstance(value, Mapping) and set(value) == {"fromDetails"}:
        return copy.deepcopy(details.get(value["fromDetails"]))
    return copy.deepcopy(value)


@functools.cache
def _details_validator(spec: Spec, resource_type: str, action: str) -> Any:
    from ..validation import compile_schema  # errors worded like the documents' own

    row = next(r for r in spec.lifecycle(resource_type)["transitions"] if r["action"] == action)
    schema = {"$id": f"{spec.base_uri}lifecycle-{resource_type.lower()}-{action}.json",
              **row["details"]}
    return compile_schema(spec, schema)


@per_spec_tree
def lifecycle_for(resource_type: str, version: str = DEFAULT_VERSION) -> Lifecycle:
    """The lifecycle of ``resource_type`` in spec ``version`` (cached)."""
    return Lifecycle(load_spec(version), resource_type)


def apply_action(document: Mapping[str, Any], action: str, **kwargs: Any) -> Applied:
    """Apply a lifecycle action to a document of any resource type that has a lifecycle."""
    lc = lifecycle_for(str(document.get("resourceType")),
                       str(document.get("specVersion", DEFAULT_VERSION)))
    return lc.apply(document, action, **kwargs)
