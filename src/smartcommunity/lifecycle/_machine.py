"""The state machine: which actions a role may take from a status, and applying one."""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jsonschema import Draft202012Validator

from ..exceptions import ActionNotAllowed, InvalidActionDetails, LifecycleError, RoleNotAllowed
from ..specification import Spec, load_spec
from ._effects import Inputs, apply_effects


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
            raise LifecycleError(
                f"{resource_type} has no lifecycle",
                f"{resource_type} 没有生命周期",
                resource_type=resource_type,
            )
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
            raise ActionNotAllowed(
                f"unknown action {action!r}",
                f"未知的动作 {action!r}",
                action=action,
                status=status,
                allowed=self.allowed_actions(status),
            )
        allowed_here = t.creates if status is None else status in t.sources
        if not allowed_here:
            raise ActionNotAllowed(
                f"action {action} is not allowed from status {status}",
                f"动作 {action} 不能从状态 {status} 执行",
                action=action,
                status=status,
                allowed=self.allowed_actions(status),
            )
        if role not in t.roles:
            raise RoleNotAllowed(
                f"role {role} may not perform {action}",
                f"角色 {role} 不能执行动作 {action}",
                action=action,
                role=role,
                roles=sorted(t.roles),
            )
        return t

    def details_errors(self, action: str, details: Any) -> list[tuple[str, str]]:
        """``(pointer, message)`` for every way ``details`` breaks the action's schema."""
        t = self.transitions[action]
        if t.details_schema is None:
            return []
        validator = _details_validator(self.spec.version, self.resource_type, action)
        return [
            ("/details" + "".join(f"/{p}" for p in e.absolute_path), e.message)
            for e in validator.iter_errors(details if details is not None else {})
        ]

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
    ) -> Applied:
        """Apply ``action`` by ``actor`` to ``document``; the input is not modified.

        Raises :class:`ActionNotAllowed`, :class:`RoleNotAllowed` or
        :class:`InvalidActionDetails`; on success the new document's status is the event's
        ``toStatus`` and the event is appended to its history. The action's effects
        (``_effects``) then run on the new document, with ``inputs`` for what details lack.
        """
        status = document.get("status") if document.get("history") else None
        t = self.check(status, action, str(actor.get("role")))
        problems = self.details_errors(action, details)
        if problems:
            raise InvalidActionDetails(
                f"invalid details for {action}: {problems[0][1]}",
                f"动作 {action} 的数据无效：{problems[0][1]}",
                action=action,
                errors=problems,
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
        apply_effects(self.resource_type, action, new, event, inputs)
        return Applied(new, event)


def _resolve(value: Any, details: Mapping[str, Any]) -> Any:
    # {"fromDetails": "key"} copies a value the actor supplied with the action.
    if isinstance(value, Mapping) and set(value) == {"fromDetails"}:
        return copy.deepcopy(details.get(value["fromDetails"]))
    return copy.deepcopy(value)


@functools.cache
def _details_validator(version: str, resource_type: str, action: str) -> Draft202012Validator:
    spec = load_spec(version)
    schema = spec.lifecycles[resource_type]
    row = next(r for r in schema["transitions"] if r["action"] == action)
    return Draft202012Validator(
        {
            "$id": f"{spec.base_uri}lifecycle-{resource_type.lower()}-{action}.json",
            **row["details"],
        },
        registry=spec.registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


@functools.cache
def lifecycle_for(resource_type: str, version: str = "1.0") -> Lifecycle:
    """The lifecycle of ``resource_type`` in spec ``version`` (cached)."""
    return Lifecycle(load_spec(version), resource_type)


def apply_action(document: Mapping[str, Any], action: str, **kwargs: Any) -> Applied:
    """Apply a lifecycle action to a document of any resource type that has a lifecycle."""
    lc = lifecycle_for(str(document.get("resourceType")), str(document.get("specVersion", "1.0")))
    return lc.apply(document, action, **kwargs)
