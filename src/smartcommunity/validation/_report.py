"""Findings and reports: validation results as data, never as exceptions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..specification import DEFAULT_VERSION

Severity = Literal["error", "warning"]


class Finding:
    """One problem in a document: where, which rule, how bad, and why in two languages.

    The bilingual ``message`` is formatted from the spec's template the first time it is
    read, so bulk callers that only look at codes and pointers do not pay for the words.
    """

    __slots__ = (
        "_message",
        "_values",
        "code",
        "pointer",
        "requirement",
        "schema_path",
        "severity",
        "spec_version",
    )

    def __init__(
        self,
        pointer: str,
        code: str,
        message: Mapping[str, str] | None = None,
        severity: Severity = "error",
        requirement: str | None = None,
        schema_path: str | None = None,
        *,
        values: Mapping[str, Any] | None = None,
        spec_version: str = DEFAULT_VERSION,
    ) -> None:
        self.pointer = pointer
        self.code = code
        self.severity: Severity = severity
        self.requirement = requirement
        self.schema_path = schema_path
        self.spec_version = spec_version
        self._message = dict(message) if message is not None else None
        self._values = values if values is not None else {}

    @property
    def message(self) -> dict[str, str]:
        if self._message is None:
            from ..specification import load_spec
            from ._messages import message

            self._message = message(load_spec(self.spec_version), self.code, **self._values)
        return self._message

    @property
    def values(self) -> Mapping[str, Any]:
        """The values the message is formatted from (``value``, ``codelist``, ...)."""
        return self._values

    def text(self, lang: str = "en") -> str:
        return self.message["zh-Hans" if lang.startswith("zh") else "en"]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "pointer": self.pointer,
            "code": self.code,
            "severity": self.severity,
            "message": dict(self.message),
        }
        if self.requirement:
            out["requirement"] = self.requirement
        if self.schema_path:
            out["schemaPath"] = self.schema_path
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Finding):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.pointer, self.code, self.severity, self.requirement))

    def __repr__(self) -> str:
        return (
            f"Finding(pointer={self.pointer!r}, code={self.code!r}, "
            f"severity={self.severity!r}, requirement={self.requirement!r})"
        )


@dataclass(slots=True)
class Report:
    """Every finding of one document, errors and warnings together, in document order."""

    findings: list[Finding] = field(default_factory=list)
    resource_type: str | None = None
    id: str | None = None
    spec_version: str | None = None

    @property
    def valid(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    def __bool__(self) -> bool:
        return self.valid

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "valid": self.valid,
            "findings": [f.to_dict() for f in self.findings],
        }
        if self.resource_type:
            out["resourceType"] = self.resource_type
        if self.id:
            out["id"] = self.id
        return out
