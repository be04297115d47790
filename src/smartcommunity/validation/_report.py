"""Findings and reports: validation results as data, never as exceptions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


def escape_pointer_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(path: tuple[str | int, ...] | list[str | int]) -> str:
    """RFC 6901 JSON Pointer for a sequence of keys and indexes."""
    return "".join("/" + escape_pointer_token(t) for t in path)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in a document: where, which rule, how bad, and why in two languages."""

    pointer: str
    code: str
    message: Mapping[str, str]
    severity: Severity = "error"
    requirement: str | None = None
    schema_path: str | None = None

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
        out: dict[str, Any] = {"valid": self.valid, "findings": [f.to_dict() for f in self.findings]}
        if self.resource_type:
            out["resourceType"] = self.resource_type
        if self.id:
            out["id"] = self.id
        return out
