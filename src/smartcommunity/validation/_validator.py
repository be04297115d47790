"""``validate`` and the reusable ``Validator``: schema first, then every library rule.

Rules are registered by resource type and by the versions they apply to (every installed
version of the default version's major unless a rule says otherwise), and looked up by
``(version, resource type)``: a new version tree in ``spec/`` is validated by the rules of its
major without a change here. Rules that need the whole set of documents (a reference to
another document, a merge named on both sides) record compact *links* while each document is
checked, and :class:`SetCheck` settles them once the set is read.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from ..pointers import pointer
from ..specification import DEFAULT_VERSION, Spec, available_versions, load_spec, spec_root
from ._input import MAX_DEPTH, parse, too_deep
from ._messages import message
from ._plan import Plan, compile_plan, compile_reach
from ._report import Finding, Report, Severity
from ._schema import SchemaEngine
from ._versions import Resolved, resolve_version, version_key

Document = Mapping[str, Any]
K = TypeVar("K")

#: ``(pointer, target, code)``: a document must be in the set; the target is ``"Type/<id>"``
#: or a bare id.
Reference = tuple[str, str, str]


@dataclass(slots=True)
class Links:
    """What a document contributes to the rules that span a set: picklable and small.

    ``references`` name documents that must be in the set; ``facts`` are whatever a set rule
    asked the document's rules to keep (for example the merge links of an issue).
    """

    references: list[Reference] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.references or self.facts)


@dataclass(slots=True)
class Context:
    """What a rule needs: the spec, the resource's plan, and a way to report."""

    spec: Spec
    plan: Plan
    report: Report
    links: Links = field(default_factory=Links)

    @property
    def references(self) -> list[Reference]:
        return self.links.references

    def emit(self, where: str | tuple[str | int, ...], code: str,
             severity: Severity | None = None, **values: Any) -> None:
        """Report ``code`` at ``where``; the severity follows the level of the requirement
        that lists the code (SHOULD: a warning) unless given."""
        self.report.findings.append(finding(self.spec, where, code, severity, **values))

    def expect_in_set(self, where: tuple[str | int, ...], target_id: str, code: str,
                      resource_type: str | None = None) -> None:
        """Record that ``target_id`` (of ``resource_type``, when given) must be a document of
        the set being validated; the target is kept as ``"<type>/<id>"`` or a bare id."""
        target = f"{resource_type}/{target_id}" if resource_type else target_id
        self.links.references.append((pointer(where), target, code))

    def keep(self, name: str, value: Any) -> None:
        """Keep ``value`` (picklable) for the set rule that reads ``name``."""
        self.links.facts[name] = value


def finding(spec: Spec, where: str | tuple[str | int, ...], code: str,
            severity: Severity | None = None, **values: Any) -> Finding:
    """A finding of a library rule, its requirement and severity read from the registry."""
    req = spec.requirement_for_code(code)
    if severity is None:
        severity = "warning" if req is not None and req.level == "SHOULD" else "error"
    return Finding(where if isinstance(where, str) else pointer(where), code,
                   severity=severity, requirement=req.id if req is not None else None,
                   values=values, spec_version=spec.version)


Rule = Callable[[Document, Context], None]
V = TypeVar("V")
#: a rule of one member: its value (of the type it was registered for), the document, the context
MemberRule = Callable[[V, Document, Context], None]


@dataclass(frozen=True, slots=True)
class Member:
    """One document of a set as the set rules see it."""

    resource_type: str | None
    id: str | None
    facts: Mapping[str, Any]


class SetContext:
    """What a set rule needs: the members, which referenced documents exist, a way to report."""

    def __init__(self, spec: Spec, members: list[Member], present: frozenset[str],
                 out: list[tuple[int, Finding]]) -> None:
        self.spec = spec
        self.members = members
        self._present = present
        self._out = out

    def exists(self, resource_type: str, doc_id: str) -> bool:
        """Whether the set holds ``doc_id`` (only ids some document references are known)."""
        return f"{resource_type}/{doc_id}" in self._present or doc_id in self._present

    def emit(self, index: int, where: tuple[str | int, ...], code: str, /,
             **values: Any) -> None:
        """Report ``code`` at ``where`` in the document ``members[index]``."""
        self._out.append((index, finding(self.spec, where, code, **values)))


SetRule = Callable[[SetContext], None]


@dataclass(frozen=True, slots=True)
class _Registered(Generic[K]):
    fn: K
    resource_types: frozenset[str]  # empty: every resource type
    major: int
    since: tuple[int, ...]

    def applies(self, version: str, resource_type: str | None) -> bool:
        """Whether the rule applies to ``version`` (and ``resource_type``, when given)."""
        key = version_key(version)
        return (key[0] == self.major and key >= self.since
                and (not self.resource_types or resource_type is None
                     or resource_type in self.resource_types))


_RULES: list[_Registered[Rule]] = []
_SET_RULES: list[_Registered[SetRule]] = []


def _registration(fn: Any, resource_types: tuple[str, ...], major: int | None,
                  since: str | None) -> _Registered[Any]:
    default_major = version_key(DEFAULT_VERSION)[0]
    return _Registered(fn, frozenset(resource_types),
                       major if major is not None else default_major,
                       version_key(since) if since else (0,))


def rule(*resource_types: str, major: int | None = None,
         since: str | None = None) -> Callable[[Rule], Rule]:
    """Register a library rule for ``resource_types`` (every type when none is given).

    It applies to every version of ``major`` (default: the default version's major), from
    ``since`` on when given.
    """

    def register(fn: Rule) -> Rule:
        _RULES.append(_registration(fn, resource_types, major, since))
        rules_for.cache_clear()
        return fn

    return register


def member_rule(*resource_types: str, member: str, kind: type[V], major: int | None = None,
                since: str | None = None) -> Callable[[MemberRule[V]], MemberRule[V]]:
    """Register, as :func:`rule` does, a rule that reads one ``member`` of the document: it is
    called with the member's value before the document, and only when that value is a
    ``kind`` (an absent member leaves nothing to check; one of another type is the schema's)."""

    def register(fn: MemberRule[V]) -> MemberRule[V]:
        @functools.wraps(fn)
        def run(doc: Document, ctx: Context) -> None:
            value = doc.get(member)
            if isinstance(value, kind):
                fn(value, doc, ctx)

        rule(*resource_types, major=major, since=since)(run)
        return fn

    return register


def set_rule(*resource_types: str, major: int | None = None,
             since: str | None = None) -> Callable[[SetRule], SetRule]:
    """Register a rule over a whole set of documents (bulk validation), by version like
    :func:`rule`; it reads the facts the per-document rules kept (:meth:`Context.keep`)."""

    def register(fn: SetRule) -> SetRule:
        _SET_RULES.append(_registration(fn, resource_types, major, since))
        return fn

    return register


@functools.cache
def rules_for(version: str, resource_type: str) -> tuple[Rule, ...]:
    """The rules that apply to ``resource_type`` documents of spec ``version``."""
    return tuple(r.fn for r in _RULES if r.applies(version, resource_type))


def set_rules_for(version: str) -> tuple[SetRule, ...]:
    """The set rules that apply to documents of spec ``version``."""
    return tuple(r.fn for r in _SET_RULES if r.applies(version, None))


class SetCheck(Generic[K]):
    """The rules that span documents, fed one checked document at a time.

    Add each document's key, identity and :class:`Links`; :meth:`findings` then yields the
    cross-document findings, each with the key of the document it concerns. Documents without
    links cost one id in memory (or nothing, when ``present`` is given to :meth:`findings`).
    """

    def __init__(self, *, keep_ids: bool = True) -> None:
        self._keep_ids = keep_ids
        self._ids: set[str] = set()
        self._linked: list[tuple[K, str, Member, Links]] = []

    def add(self, key: K, resource_type: str | None, doc_id: str | None,
            version: str | None, links: Links | None) -> None:
        if self._keep_ids and doc_id:
            self._ids.add(doc_id)
            self._ids.add(f"{resource_type}/{doc_id}")
        if links:
            member = Member(resource_type, doc_id, links.facts)
            self._linked.append((key, version or DEFAULT_VERSION, member, links))

    def findings(self, present: Callable[[set[str]], set[str]] | None = None
                 ) -> Iterator[tuple[K, Finding]]:
        """Cross-document findings; ``present`` answers which referenced targets are in the
        set when ids were not kept (for example by a second pass over the input)."""
        targets = {target for *_, links in self._linked for _, target, _ in links.references}
        if not targets:
            found: set[str] = set()
        elif present is not None:
            found = set(present(targets))
        else:
            found = targets & self._ids
        by_version: dict[str, list[int]] = {}
        for index, (key, version, _, links) in enumerate(self._linked):
            spec = load_spec(version)
            for where, target, code in links.references:
                if target not in found:
                    yield key, finding(spec, where, code, target=target)
            by_version.setdefault(version, []).append(index)
        for version, indexes in by_version.items():
            rules = set_rules_for(version)
            if not rules:
                continue
            out: list[tuple[int, Finding]] = []
            ctx = SetContext(load_spec(version), [self._linked[i][2] for i in indexes],
                             frozenset(found), out)
            for fn in rules:
                fn(ctx)
            for member, f in out:
                yield self._linked[indexes[member]][0], f


@dataclass(slots=True)
class Checked:
    """One document's report, and the links it contributes to a set check."""

    report: Report
    links: Links


class Validator:
    """Reusable validator: compiled schemas and rule plans are built once per spec version.

    ``validate`` checks one document; ``validate_many`` checks a set and also the rules that
    span documents; ``check`` is the streaming form of the latter, for callers that keep the
    set themselves (see :class:`SetCheck`).
    """

    def __init__(self, version: str | None = None) -> None:
        self.default_version = version

    @functools.cached_property
    def _versions(self) -> tuple[str, ...]:
        return tuple(available_versions())

    @functools.cached_property
    def _fallback(self) -> Spec:
        """The spec whose messages describe input that names no usable version."""
        return load_spec(self.default_version or max(self._versions, key=version_key))

    @functools.cache  # noqa: B019 - one validator per process; the cache is the point
    def _engine(self, version: str) -> tuple[Spec, SchemaEngine, dict[str, Plan]]:
        spec = load_spec(version)
        plans = {rt: compile_plan(spec, rt) for rt in spec.resource_types}
        return spec, SchemaEngine(spec), plans

    def validate(self, document: Any) -> Report:
        """Every problem of one document; never raises on bad input."""
        return self._check(document).report

    def check(self, document: Any) -> Checked:
        """:meth:`validate`, plus the links the document contributes to a set check."""
        return self._check(document)

    def validate_many(self, documents: Iterable[Any]) -> Iterator[Report]:
        """Validate a set; cross-document findings are added to the reports they concern.

        Reports are yielded after the whole set is read, because a reference can point
        forward. Use :meth:`check` with a :class:`SetCheck` to stream.
        """
        reports: list[Report] = []
        links: SetCheck[int] = SetCheck()
        for doc in documents:
            checked = self._check(doc)
            report = checked.report
            links.add(len(reports), report.resource_type, report.id, report.spec_version,
                      checked.links)
            reports.append(report)
        for index, f in links.findings():
            reports[index].findings.append(f)
        yield from reports

    # -- internals ---------------------------------------------------------------------
    @functools.cached_property
    def _routes(self) -> dict[tuple[str, str], _Route]:
        """``(specVersion, resourceType)`` as stated → how such a document is checked; only
        installed versions are kept, so hostile input cannot grow it."""
        return {}

    def _route(self, stated: Any, rt: Any, doc_id: str | None) -> _Route | Checked:
        """How a document stating ``stated`` and ``rt`` is checked, or the report refusing
        it when no installed version or resource type reads it."""
        resolved = resolve_version(stated, self._versions)
        if resolved is None:
            code = ("document.missing-spec-version" if stated is None
                    else "document.unknown-spec-version")
            return Checked(Report([Finding("/specVersion", code,
                                           message(self._fallback, code, value=stated,
                                                   versions=list(self._versions)),
                                           requirement="/req/core/document-type")],
                                  rt if isinstance(rt, str) else None, doc_id), Links())
        spec, _, plans = self._engine(resolved.version)
        if rt is None:
            return Checked(Report([Finding("/resourceType", "document.missing-resource-type",
                                           message(spec, "document.missing-resource-type",
                                                   types=list(plans)),
                                           requirement="/req/core/document-type")],
                                  None, doc_id, resolved.version), Links())
        if not isinstance(rt, str) or rt not in plans:
            return Checked(Report([Finding("/resourceType", "document.unknown-resource-type",
                                           message(spec, "document.unknown-resource-type",
                                                   value=rt, types=list(plans)),
                                           requirement="/req/core/document-type")],
                                  None, doc_id, resolved.version), Links())
        route = self._compiled(resolved.version, resolved.newer, rt)
        if not resolved.newer:
            self._routes[(stated, rt)] = route
        return route

    @functools.cache  # noqa: B019 - bounded: installed versions × resource types × 2
    def _compiled(self, version: str, newer: bool, rt: str) -> _Route:
        spec, engine, plans = self._engine(version)
        plan = plans[rt]
        limit = MAX_DEPTH

        def deeper(value: Any, depth: int) -> bool:
            return isinstance(value, dict | list) and too_deep(value, limit - depth)

        return _Route(spec, plan, rt, engine, engine.validator(rt).is_valid, version, newer,
                      rules_for(version, rt), len(_RULES),
                      compile_reach(plan.freeform, deeper, f"free-form members of {rt}"))

    def _check(self, document: Any) -> Checked:
        if document.__class__ is not dict:
            if isinstance(document, bytes | bytearray | memoryview | str):
                document, problem = parse(self._fallback, document)
                if problem is not None:
                    return Checked(Report([problem]), Links())
            if not isinstance(document, dict):
                kind = _JSON_TYPES.get(type(document), type(document).__name__)
                return Checked(Report([Finding("", "document.not-object",
                                               message(self._fallback, "document.not-object",
                                                       type=kind),
                                               requirement="/req/core/document-type")]),
                               Links())
        stated = document.get("specVersion")
        rt = document.get("resourceType")
        doc_id = document.get("id")
        if doc_id.__class__ is not str and not isinstance(doc_id, str):
            doc_id = None
        route = (self._routes.get((stated, rt))
                 if stated.__class__ is str and rt.__class__ is str else None)
        if route is None:
            found = self._route(stated, rt, doc_id)
            if isinstance(found, Checked):
                return found
            route = found
        spec = route.spec
        if route.newer:
            # Read under the forward-compatibility rule: as the highest installed minor.
            document = {**document, "specVersion": route.version}
        report = Report([], rt, doc_id, route.version)
        deep = route.too_deep(document)
        if deep is not None:
            report.findings.append(Finding(
                pointer(deep), "document.too-deep",
                message(spec, "document.too-deep", limit=MAX_DEPTH)))
            return Checked(report, Links())
        try:
            if not route.is_valid(document):
                report.findings.extend(route.engine.findings(route.resource_type, document))
        except UnicodeError:
            # A Python str may hold lone surrogates, which no JSON text can carry.
            report.findings.extend(
                Finding(pointer(where), "document.invalid-utf8",
                        message(spec, "document.invalid-utf8", position=pointer(where)))
                for where in _unencodable(document))
            return Checked(report, Links())
        ctx = Context(spec, route.plan, report)
        lenient = route.newer
        # A rule registered after the route was made applies too.
        rules = (route.rules if route.rule_count == len(_RULES)
                 else rules_for(route.version, route.resource_type))
        for fn in rules:
            try:
                fn(document, ctx)
            except (KeyError, TypeError, ValueError, AttributeError, IndexError):
                # A rule meets data the schema already rejected (or, read forward, data of a
                # later minor it does not know); the schema finding says why.
                if report.valid and not lenient:
                    raise
        if lenient:
            from ._forward import read_forward

            read_forward(spec, route.plan, report, str(stated))
        if len(report.findings) > 1:  # (a valid document pays nothing below)
            _one_per_fault(report.findings)
            report.findings.sort(key=_order)
        return Checked(report, ctx.links)


@dataclass(frozen=True, slots=True)
class _Route:
    """Everything that checks documents of one stated version and resource type, found
    once: the spec read, the compiled schema, the rules, the free-form depth check."""

    spec: Spec
    plan: Plan
    resource_type: str
    engine: SchemaEngine
    is_valid: Callable[[Any], bool]
    version: str
    newer: bool
    rules: tuple[Rule, ...]
    #: how many rules were registered when ``rules`` was read
    rule_count: int
    #: the first free-form member nested deeper than the input limit allows, if any
    too_deep: Callable[[Any], tuple[str | int, ...] | None]


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


def _one_per_fault(findings: list[Finding]) -> None:
    """One fault, one finding: a rule that re-reads a value the schema already rejected (a
    division code's structure, a masked number's form) adds nothing the reader needs."""
    broken = {f.pointer for f in findings if f.code.startswith("schema.")}
    if broken:
        findings[:] = [f for f in findings
                       if f.code.startswith("schema.") or f.pointer not in broken]


def _order(f: Finding) -> tuple[int, str]:
    return (0 if f.severity == "error" else 1, f.pointer)


__all__ = ["Checked", "Context", "Document", "DocumentProfile",
           "Links", "Member", "Reference", "Resolved", "Rule",
           "SetCheck", "SetContext", "SetRule", "Validator", "finding", "rule", "rules_for",
           "set_rule", "set_rules_for", "validate"]


@functools.cache
def _default_for(root: Path) -> Validator:
    """One validator per spec tree, so that pointing ``SMARTCOMMUNITY_SPEC_ROOT`` elsewhere
    (a draft version) never serves compiled schemas of another tree."""
    return Validator()


class DocumentProfile(Protocol):
    """What :func:`validate` needs of a city profile (``smartcommunity.profiles.Profile``)."""

    def review(self, document: Any, report: Report) -> Report: ...


def validate(document: Any, *, profile: DocumentProfile | None = None) -> Report:
    """Validate one document (a mapping, or JSON text as ``str`` or ``bytes``).

    With ``profile``, the document is also read as that city reads it (/conf/profiles): the
    city's codes are known, organisations resolve in its registry, registered extensions
    follow their schemas and stated deadlines its catalogue.

    The resource type and spec version are read from the document. Returns a
    :class:`Report` listing every problem; bad input is reported, never raised. A document of
    a later minor version than any installed is read under the forward-compatibility rule
    (``/req/core/forward-compatible``).
    """
    report = _default_for(spec_root()).validate(document)
    return report if profile is None else profile.review(document, report)
