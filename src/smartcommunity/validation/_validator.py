"""``validate`` and the reusable ``Validator``: schema first, then every library rule."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..pointers import pointer
from ..specification import Spec, available_versions, load_spec
from ._input import MAX_DEPTH, parse, too_deep
from ._messages import message
from ._plan import Plan, compile_plan, values_at
from ._report import Finding, Report, Severity
from ._schema import SchemaEngine

Document = Mapping[str, Any]


@dataclass(slots=True)
class Context:
    """What a rule needs: the spec, the resource's plan, and a way to report."""

    spec: Spec
    plan: Plan
    report: Report
    #: ids referenced by the document that must exist in the document set (bulk checks)
    references: list[tuple[str, str, str]] = field(default_factory=list)

    def emit(self, where: str | tuple[str | int, ...], code: str,
             severity: Severity | None = None, **values: Any) -> None:
        req = self.spec.requirement_for_code(code)
        if severity is None:
            severity = "warning" if req is not None and req.level == "SHOULD" else "error"
        self.report.findings.append(Finding(
            where if isinstance(where, str) else pointer(where), code,
            severity=severity, requirement=req.id if req is not None else None,
            values=values, spec_version=self.spec.version,
        ))

    def expect_in_set(self, where: tuple[str | int, ...], target_id: str, code: str,
                      resource_type: str | None = None) -> None:
        """Record that ``target_id`` (of ``resource_type``, when given) must be a document of
        the set being validated; the target is kept as ``"Issue/<id>"`` or a bare id."""
        target = f"{resource_type}/{target_id}" if resource_type else target_id
        self.references.append((pointer(where), target, code))


Rule = Callable[[Document, Context], None]


class Validator:
    """Reusable validator: compiled schemas and rule plans are built once per spec version.

    ``validate`` checks one document; ``validate_many`` checks a set and also the rules that
    span documents (a merged duplicate must point at an issue of the set).
    """

    def __init__(self, version: str | None = None) -> None:
        self.default_version = version

    @functools.cached_property
    def _versions(self) -> frozenset[str]:
        return frozenset(available_versions())

    @functools.cached_property
    def _fallback(self) -> Spec:
        """The spec whose messages describe input that names no usable version."""
        return load_spec(self.default_version or max(self._versions, key=_version_key))

    @functools.cache  # noqa: B019 - one validator per process; the cache is the point
    def _engine(self, version: str) -> tuple[Spec, SchemaEngine, dict[str, Plan]]:
        spec = load_spec(version)
        plans = {rt: compile_plan(spec, rt) for rt in spec.resource_types}
        return spec, SchemaEngine(spec), plans

    def validate(self, document: Any) -> Report:
        """Every problem of one document; never raises on bad input."""
        report, _ = self._validate(document)
        return report

    def validate_many(self, documents: Iterable[Any]) -> Iterator[Report]:
        """Validate a set; cross-document findings are added to the reports they concern.

        Reports are yielded after the whole set is read, because a reference can point
        forward. Use :meth:`validate` for streaming when cross-document rules are not needed.
        """
        reports: list[Report] = []
        pending: list[tuple[int, str, str, str]] = []
        ids: set[str] = set()
        for doc in documents:
            report, refs = self._validate(doc)
            if report.id:
                ids.add(report.id)
                ids.add(f"{report.resource_type}/{report.id}")
            pending.extend((len(reports), *ref) for ref in refs)
            reports.append(report)
        for index, where, target, code in pending:
            if target not in ids:
                spec = load_spec(reports[index].spec_version or "1.0")
                ctx = Context(spec, Plan(), reports[index])
                ctx.emit(where, code, target=target)
        yield from reports

    # -- internals ---------------------------------------------------------------------
    def _validate(self, document: Any) -> tuple[Report, list[tuple[str, str, str]]]:
        if isinstance(document, bytes | bytearray | memoryview | str):
            document, problem = parse(self._fallback, document)
            if problem is not None:
                return Report([problem]), []
        if not isinstance(document, dict):
            kind = _JSON_TYPES.get(type(document), type(document).__name__)
            return Report([Finding("", "document.not-object",
                                   message(self._fallback, "document.not-object", type=kind),
                                   requirement="/req/core/document-type")]), []
        version = document.get("specVersion")
        rt = document.get("resourceType")
        doc_id = document.get("id") if isinstance(document.get("id"), str) else None
        if not isinstance(version, str) or version not in self._versions:
            return Report([Finding("/specVersion", "document.unknown-spec-version",
                                   message(self._fallback, "document.unknown-spec-version",
                                           value=version, versions=sorted(self._versions)),
                                   requirement="/req/core/document-type")],
                          rt if isinstance(rt, str) else None, doc_id), []
        spec, engine, plans = self._engine(version)
        if not isinstance(rt, str) or rt not in plans:
            return Report([Finding("/resourceType", "document.unknown-resource-type",
                                   message(spec, "document.unknown-resource-type", value=rt,
                                           types=list(plans)),
                                   requirement="/req/core/document-type")],
                          None, doc_id, version), []
        report = Report([], rt, doc_id, version)
        plan = plans[rt]
        for path in plan.freeform:
            for where, value in values_at(document, path):
                if too_deep(value, MAX_DEPTH - len(where)):
                    report.findings.append(Finding(
                        pointer(where), "document.too-deep",
                        message(spec, "document.too-deep", limit=MAX_DEPTH)))
                    return report, []
        try:
            if not engine.is_valid(rt, document):
                report.findings.extend(engine.findings(rt, document))
        except UnicodeError:
            # A Python str may hold lone surrogates, which no JSON text can carry.
            report.findings.extend(
                Finding(pointer(where), "document.invalid-utf8",
                        message(spec, "document.invalid-utf8", position=pointer(where)))
                for where in _unencodable(document))
            return report, []
        ctx = Context(spec, plan, report)
        for rule in rules_for(rt):
            try:
                rule(document, ctx)
            except (KeyError, TypeError, ValueError, AttributeError, IndexError):
                # A rule meets data the schema already rejected; the schema finding says why.
                if report.valid:
                    raise
        report.findings.sort(key=_order)
        return report, ctx.references


def _unencodable(value: Any) -> Iterator[tuple[str | int, ...]]:
    """Paths of strings (values or member names) that cannot be encoded as UTF-8."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                yield where
        elif isinstance(node, dict):
            for key, child in node.items():
                try:
                    str(key).encode("utf-8")
                except UnicodeEncodeError:
                    yield (*where, key)
                stack.append(((*where, key), child))
        elif isinstance(node, list):
            stack.extend(((*where, i), child) for i, child in enumerate(node))


_JSON_TYPES = {list: "array", str: "string", int: "integer", float: "number", bool: "boolean",
               type(None): "null"}


def _order(f: Finding) -> tuple[int, str]:
    return (0 if f.severity == "error" else 1, f.pointer)


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


_RULES: dict[str, list[Rule]] = {}


def rule(*resource_types: str) -> Callable[[Rule], Rule]:
    """Register a library rule for the given resource types (all when none given)."""

    def register(fn: Rule) -> Rule:
        for rt in resource_types or ("*",):
            _RULES.setdefault(rt, []).append(fn)
        return fn

    return register


def rules_for(resource_type: str) -> list[Rule]:
    return _RULES.get("*", []) + _RULES.get(resource_type, [])


_default = Validator()


def validate(document: Any) -> Report:
    """Validate one document (a mapping, or JSON text as ``str`` or ``bytes``).

    The resource type and spec version are read from the document. Returns a
    :class:`Report` listing every problem; bad input is reported, never raised.
    """
    return _default.validate(document)
