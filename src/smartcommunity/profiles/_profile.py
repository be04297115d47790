"""A city profile: the file in which a city fits the standard to its departments and rules.

:func:`check_profile` reports every problem of a profile file as data (/conf/profiles);
:func:`load_profile` returns a :class:`Profile` once there is no error. A :class:`Profile` answers
what the server, kit and documentation ask of a city: the organisation registry, the service
catalogue and its deadlines, the consultation thresholds, the city's codes, the registered
extensions, the grids, the external systems and the role mapping (:meth:`Profile.map_claims`);
:meth:`Profile.review` adds the profile's findings to a document's validation report.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from .. import identifiers
from ..exceptions import IdentifierError, ProfileError
from ..specification import DEFAULT_VERSION, Spec, available_versions, load_spec
from ..validation import Finding, Report, Validator, finding, pointer, schema_resolver
from ._calendar import SCAN_LIMIT, WORKING_DAYS, Calendar, TimeLimit, parse_offset
from ._extension_schema import UNEVALUATED, UNTAGGED, untagged

__all__ = ["Extension", "Profile", "Service", "check_profile", "load_profile"]

SCHEMA_INVALID = "profile.schema-invalid"
UNKNOWN_SPEC_VERSION = "profile.unknown-spec-version"
DUPLICATE_ENTRY = "profile.duplicate-entry"
UNKNOWN_ORGANISATION = "profile.unknown-organisation"
ORGANISATION_INVALID = "profile.organisation-invalid"
CODE_OUTSIDE_NAMESPACE = "profile.code-outside-namespace"
REDEFINES_NATIONAL_CODE = "profile.redefines-national-code"
CODELIST_CLOSED = "profile.codelist-closed"
UNKNOWN_CATEGORY = "profile.unknown-category"
EXTENSION_SCHEMA_INVALID = "profile.extension-schema-invalid"
EXTENSION_UNTAGGED = "profile.extension-untagged"
EXTENSION_REF_UNRESOLVABLE = "profile.extension-ref-unresolvable"
EXTENSION_OPEN = "profile.extension-open"
EXTENSION_UNEVALUATED = "profile.extension-unevaluated"
EXTENSION_OUTSIDE_NAMESPACE = "profile.extension-outside-namespace"
GRID_OUTSIDE_DIVISION = "profile.grid-outside-division"
GRID_POLYGON_OPEN = "profile.grid-polygon-open"
CALENDAR_CONFLICT = "profile.calendar-conflict"
CALENDAR_NO_WORKING_DAYS = "profile.calendar-no-working-days"
LIMIT_UNREACHABLE = "profile.limit-unreachable"
UNKNOWN_ROLE = "profile.unknown-role"
INDICATOR_INVALID = "profile.indicator-invalid"
FRACTION_OVER_ONE = "profile.fraction-over-one"
UNKNOWN_KEY = "profile.unknown-key"

#: the meta-schema of profile files, by file name in the spec tree
_META = "meta/profile.json"
#: the codelist whose codes a catalogue entry's category is
_CATEGORIES = "issue-category"
#: the closed codelists whose codes key a profile's tables: deadlines by urgency, consultation
#: rules by form
_URGENCY, _FORM = "urgency", "consultation-form"
_USCC_PREFIX = "uscc:"

Where = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Service:
    """One entry of the service catalogue (Open311's service, with the city's routing)."""

    category: str
    lead: str
    assisting: tuple[str, ...] = ()
    attributes: tuple[Mapping[str, Any], ...] = ()
    #: urgency → kind (response, resolution, followUp) → time limit
    deadlines: Mapping[str, Mapping[str, TimeLimit]] = field(default_factory=dict)
    name: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Extension:
    """An extension the city registers: its key, schema and the resource types it is for."""

    key: str
    schema: Mapping[str, Any]
    resource_types: frozenset[str] = frozenset()

    def applies_to(self, resource_type: str | None) -> bool:
        return not self.resource_types or resource_type in self.resource_types


def _day(text: Any) -> date | None:
    try:
        return date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:  # a profile no check has passed: no day to go by
        return None


def _limits(raw: Any) -> dict[str, dict[str, TimeLimit]]:
    out: dict[str, dict[str, TimeLimit]] = {}
    for urgency, kinds in (raw or {}).items():
        out[urgency] = {kind: TimeLimit(int(v["amount"]), str(v["unit"]))
                        for kind, v in kinds.items()}
    return out


class Profile:
    """A loaded city profile. Obtain one with :func:`load_profile`."""

    def __init__(self, data: Mapping[str, Any], organisations: list[dict[str, Any]],
                 *, path: Path | None = None) -> None:
        head = data["profile"]
        self.data = data
        self.path = path
        self.id: str = head["id"]
        self.version: str = head["version"]
        self.spec_version: str = head["specVersion"]
        self.namespace: str = head["namespace"]
        self.code_prefix: str = head["codePrefix"]
        self.city: str = head["city"]
        self.divisions: tuple[str, ...] = tuple(head["divisions"])
        self.title: Mapping[str, str] = head["title"]
        #: the day this version was published, from which it applies (None: not stated)
        self.published: date | None = _day(head.get("published"))
        self.organisations: Mapping[str, dict[str, Any]] = {
            o["code"]: o for o in organisations if isinstance(o.get("code"), str)}
        self.services: Mapping[str, Service] = {
            s["category"]: Service(s["category"], s["lead"], tuple(s.get("assisting", ())),
                                   tuple(s.get("attributes", ())), _limits(s.get("deadlines")),
                                   s.get("name", {}))
            for s in data.get("services", ())}
        self.default_deadlines = _limits(data.get("deadlines"))
        cal = data.get("calendar") or {}
        self.calendar = Calendar(
            weekend=frozenset(cal.get("weekend", (6, 7))),
            holidays=frozenset(date.fromisoformat(d) for d in cal.get("holidays", ())),
            working_days=frozenset(date.fromisoformat(d) for d in cal.get("workingDays", ())),
            offset=parse_offset(head.get("timeZone", "+08:00")))
        self.codes: Mapping[str, Mapping[str, Mapping[str, Any]]] = {
            name: {c["code"]: c for c in rows}
            for name, rows in (data.get("codelists") or {}).items()}
        self.extensions: Mapping[str, Extension] = {
            e["key"]: Extension(e["key"], e["schema"], frozenset(e.get("resourceTypes", ())))
            for e in data.get("extensions", ())}
        self.grids: Mapping[str, Mapping[str, Any]] = {g["code"]: g for g in data.get("grids", ())}
        self.external_systems: Mapping[str, Mapping[str, Any]] = {
            s["system"]: s for s in data.get("externalSystems", ())}
        self.roles: tuple[Mapping[str, Any], ...] = tuple(data.get("roles", ()))
        rules = data.get("consultations") or {}
        self.notice_days: Mapping[str, int] = dict(rules.get("noticeDays", {}))
        #: consultation form → the city's quorum and approval fractions, which replace those of
        #: the votes of a consultation of that form (/req/profiles/thresholds)
        self.thresholds: Mapping[str, Mapping[str, Any]] = dict(rules.get("thresholds", {}))

    def __repr__(self) -> str:
        return f"Profile(id={self.id!r}, version={self.version!r})"

    @property
    def spec(self) -> Spec:
        return load_spec(self.spec_version)

    # -- registry and catalogue -----------------------------------------------------------
    def organisation(self, code: str) -> dict[str, Any] | None:
        """The organisation whose ``code`` is ``code``, or None."""
        return self.organisations.get(code)

    def service(self, category: str) -> Service | None:
        """The catalogue entry of ``category``, else of its nearest listed parent
        (``environment.garbage.bj-bulky-waste`` falls back to ``environment.garbage``)."""
        code = category
        while True:
            found = self.services.get(code)
            if found is not None or "." not in code:
                return found
            code = code.rsplit(".", 1)[0]

    def time_limit(self, category: str, urgency: str, kind: str) -> TimeLimit | None:
        """The ``kind`` time limit (``response``, ``resolution``, ``followUp``) for an issue of
        ``category`` and ``urgency``: the category's own, else the profile's default."""
        service = self.service(category)
        if service is not None:
            limit = service.deadlines.get(urgency, {}).get(kind)
            if limit is not None:
                return limit
        return self.default_deadlines.get(urgency, {}).get(kind)

    def predates(self, at: datetime) -> bool:
        """Whether ``at`` falls before the day this version of the profile was published, in
        its time zone: an issue submitted then was given its deadlines under an earlier
        version, and an import keeps them as recorded (/req/profiles/deadlines). False when
        the profile states no publication date."""
        # Compared as instants: moving ``at`` into the profile's offset may leave the years a
        # date can hold.
        return self.published is not None and \
            at < datetime.combine(self.published, time(), self.calendar.offset)

    def deadline(self, category: str, urgency: str, kind: str, start: datetime
                 ) -> datetime | None:
        """When the ``kind`` deadline of an issue of ``category`` and ``urgency`` started at
        ``start`` falls (None when the profile sets no such limit); see
        /req/profiles/deadlines."""
        limit = self.time_limit(category, urgency, kind)
        return None if limit is None else self.calendar.add(start, limit)

    # -- identity -----------------------------------------------------------------------
    def map_claims(self, claims: Mapping[str, Any]) -> dict[str, Any]:
        """``claims`` of a token from the city's identity provider, read with the role mapping
        (``roles``): the first mapping whose ``claim`` carries its ``value`` (the claim equal
        to it, or an array holding it) gives the standard ``role`` and, when the mapping names
        one, the ``organisation`` (a reference with the registry's name and type), in place of
        any the token states. Claims no mapping matches are returned as they are."""
        out = dict(claims)
        for mapping in self.roles:
            held = claims.get(str(mapping["claim"]))
            value = mapping["value"]
            if held != value and not (isinstance(held, list) and value in held):
                continue
            out["role"] = mapping["role"]
            out.pop("organisation", None)
            code = mapping.get("organisation")
            if isinstance(code, str):
                registered = self.organisation(code) or {}
                out["organisation"] = {"id": code, **{
                    k: registered[k] for k in ("name", "type") if k in registered}}
            break
        return out

    # -- codes ------------------------------------------------------------------------------
    def is_city_code(self, codelist: str, code: str) -> bool:
        """Whether the profile adds ``code`` to the open ``codelist``."""
        return code in self.codes.get(codelist, {})

    def under_namespace(self, code: str) -> bool:
        """Whether ``code`` is the city's: ``<prefix>.…`` or a last segment ``<prefix>-…``."""
        return (code.split(".", 1)[0] == self.code_prefix
                or code.rsplit(".", 1)[-1].startswith(self.code_prefix + "-"))

    def review(self, document: Any, report: Report, *, previous: Any = None,
               imported: bool = False) -> Report:
        """``report`` (of :func:`smartcommunity.validate` on ``document``) with this profile's
        findings: city codes no longer unknown, organisations resolved (but for those that
        record who acted), registered extensions validated, stated deadlines checked,
        ``meta.profile`` read. With ``previous``, the version a write of ``document`` replaces,
        the deadlines are checked only when the write changes them or what they are computed
        from, and organisations only where the write names them anew
        (/req/profiles/document-organisations); ``imported``, a record stored elsewhere
        before: the deadlines of an issue submitted before this version was published are
        kept as recorded (:meth:`predates`; /req/profiles/deadlines)."""
        from ._review import review

        return review(self, document, report, previous, imported=imported)


# ----------------------------------------------------------------------------- reading
def _read(source: str | Path | Mapping[str, Any], findings: list[Finding], spec: Spec
          ) -> tuple[dict[str, Any] | None, list[dict[str, Any]], Path | None]:
    path: Path | None = None
    if isinstance(source, Mapping):
        data: Any = dict(source)
    else:
        path = Path(source)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            findings.append(finding(spec, "", SCHEMA_INVALID, detail=str(exc)))
            return None, [], path
    validator = Draft202012Validator(spec.schema(_META), registry=spec.registry,
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors:
        findings.append(finding(spec, pointer(tuple(error.absolute_path)), SCHEMA_INVALID,
                                detail=error.message))
    if errors:
        return None, [], path
    organisations = data["organisations"]
    if isinstance(organisations, dict):
        organisations = _ndjson(path, organisations["file"], findings, spec)
    return data, organisations, path


def _ndjson(path: Path | None, name: str, findings: list[Finding], spec: Spec
            ) -> list[dict[str, Any]]:
    base = path.parent if path is not None else Path.cwd()
    target = base / name
    out: list[dict[str, Any]] = []
    try:
        lines = target.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        findings.append(finding(spec, "/organisations/file", SCHEMA_INVALID, detail=str(exc)))
        return out
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            findings.append(finding(spec, "/organisations/file", SCHEMA_INVALID,
                                    detail=f"{name}:{number}: {exc}"))
            continue
        out.append(item if isinstance(item, dict) else {"line": number})
    return out


# ----------------------------------------------------------------------------- checking
def check_profile(source: str | Path | Mapping[str, Any]) -> list[Finding]:
    """Every problem of the profile at ``source`` (a path, or the parsed profile), as findings
    with a JSON Pointer into the profile, a stable code and both languages. Never raises on a
    bad profile."""
    return _check(source)[0]


def load_profile(source: str | Path | Mapping[str, Any]) -> Profile:
    """The profile at ``source``; raises :class:`ProfileError` (its ``findings`` attached) when
    the profile has errors. Warnings do not stop loading."""
    findings, profile = _check(source)
    errors = [f for f in findings if f.severity == "error"]
    if errors or profile is None:
        raise ProfileError(f"the profile has {len(errors)} error(s): "
                           + "; ".join(f"{f.pointer or '/'} {f.code}" for f in errors[:5]),
                           errors)
    return profile


def _check(source: str | Path | Mapping[str, Any]) -> tuple[list[Finding], Profile | None]:
    spec = load_spec(DEFAULT_VERSION)
    findings: list[Finding] = []
    data, organisations, path = _read(source, findings, spec)
    if data is None:
        return findings, None
    version = data["profile"]["specVersion"]
    if version not in available_versions():
        findings.append(finding(spec, "/profile/specVersion", UNKNOWN_SPEC_VERSION,
                                value=version))
        return findings, None
    spec = load_spec(version)
    profile = Profile(data, organisations, path=path)
    checks = _Checks(spec, profile, organisations, findings)
    checks.run()
    return findings, profile


@functools.cache
def _open_codelists(spec: Spec) -> frozenset[str]:
    """Codelists some schema binds as open (``x-openCodelist: true``)."""
    found: set[str] = set()
    stack: list[Any] = list(spec.schemas.values())
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("x-openCodelist") is True and isinstance(node.get("x-codelist"), str):
                found.add(node["x-codelist"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(found)


def _within(code: str, divisions: tuple[str, ...]) -> bool:
    """Whether division ``code`` is one of ``divisions`` or lies below one."""
    current: str | None = code
    while current is not None:
        if current in divisions:
            return True
        try:
            current = identifiers.parent_division(current)
        except IdentifierError:
            return False
    return False


class _Checks:
    """The profile rules of /conf/profiles, each reporting under its own code."""

    def __init__(self, spec: Spec, profile: Profile, organisations: list[dict[str, Any]],
                 findings: list[Finding]) -> None:
        self.spec, self.profile, self.orgs, self.findings = spec, profile, organisations, findings
        self.data = profile.data

    def emit(self, where: Where, code: str, **values: Any) -> None:
        self.findings.append(finding(self.spec, pointer(where), code, **values))

    def run(self) -> None:
        self.organisations()
        self.codelists()
        self.services()
        self.extensions()
        self.grids()
        self.calendar()
        self.thresholds()
        self.keys()
        self.systems_and_roles()
        self.indicators()

    def unique(self, path: Where, items: Iterable[Mapping[str, Any]], member: str) -> None:
        """Each of ``items``, the list at ``path``, has a ``member`` of its own."""
        seen: set[Any] = set()
        for i, item in enumerate(items):
            value = item.get(member)
            if value in seen:
                self.emit((*path, i, member), DUPLICATE_ENTRY, value=value,
                          list="/".join(map(str, path)))
            seen.add(value)

    def known(self, where: Where, code: Any) -> None:
        if isinstance(code, str) and code not in self.profile.organisations:
            self.emit(where, UNKNOWN_ORGANISATION, value=code)

    def organisations(self) -> None:
        validator = Validator()
        self.unique(("organisations",), self.orgs, "code")
        for i, org in enumerate(self.orgs):
            report = validator.validate(org)
            if report.errors:
                first = report.errors[0]
                self.emit(("organisations", i), ORGANISATION_INVALID, value=org.get("code"),
                          detail=f"{first.pointer or '/'} {first.code} ({len(report.errors)})")
            identifier = org.get("identifier")
            # A city-prefixed identifier names the city or a county within it.
            if isinstance(identifier, str) and not identifier.startswith(_USCC_PREFIX) \
                    and not identifier.startswith(self.profile.city.rstrip("0")):
                self.emit(("organisations", i, "identifier"), ORGANISATION_INVALID,
                          value=org.get("code"), detail=f"identifier {identifier} "
                          f"!= {self.profile.city}:…")
            parent = org.get("parent")
            if isinstance(parent, dict):
                self.known(("organisations", i, "parent", "id"), parent.get("id"))

    def codelists(self) -> None:
        open_lists = _open_codelists(self.spec)
        for name, rows in (self.data.get("codelists") or {}).items():
            if name not in open_lists or name not in self.spec.codelists:
                self.emit(("codelists", name), CODELIST_CLOSED, codelist=name)
                continue
            national = self.spec.codelist(name)
            self.unique(("codelists", name), rows, "code")
            for i, row in enumerate(rows):
                code = row["code"]
                if code in national:
                    self.emit(("codelists", name, i, "code"), REDEFINES_NATIONAL_CODE,
                              value=code, codelist=name)
                elif not self.profile.under_namespace(code):
                    self.emit(("codelists", name, i, "code"), CODE_OUTSIDE_NAMESPACE,
                              value=code, prefix=self.profile.code_prefix)

    def services(self) -> None:
        national = self.spec.codelist(_CATEGORIES)
        services = self.data.get("services", ())
        self.unique(("services",), services, "category")
        for i, service in enumerate(services):
            category = service["category"]
            if category not in national and not self.profile.is_city_code(_CATEGORIES, category):
                self.emit(("services", i, "category"), UNKNOWN_CATEGORY, value=category)
            self.known(("services", i, "lead"), service["lead"])
            for j, code in enumerate(service.get("assisting", ())):
                self.known(("services", i, "assisting", j), code)

    def extensions(self) -> None:
        items = self.data.get("extensions", ())
        self.unique(("extensions",), items, "key")
        namespace = self.profile.namespace
        for i, ext in enumerate(items):
            key = ext["key"]
            if key != namespace and not key.startswith(namespace + "."):
                self.emit(("extensions", i, "key"), EXTENSION_OUTSIDE_NAMESPACE, value=key,
                          namespace=namespace)
            try:
                Draft202012Validator.check_schema(ext["schema"])
            except SchemaError as exc:
                self.emit(("extensions", i, "schema", *exc.absolute_path),
                          EXTENSION_SCHEMA_INVALID, value=key, detail=exc.message)
                continue
            # Validation and redaction resolve references locally, never over the network.
            resolver = schema_resolver(self.spec, ext["schema"])
            unresolved = list(_unresolved(ext["schema"], ("extensions", i, "schema"), resolver))
            for where, ref in unresolved:
                self.emit(where, EXTENSION_REF_UNRESOLVABLE, value=key, ref=ref)
            if unresolved:
                continue
            for where, problem, name in untagged(ext["schema"], ("extensions", i, "schema"),
                                                 resolver):
                if problem == UNTAGGED:
                    self.emit(where, EXTENSION_UNTAGGED, value=key, member=name)
                elif problem == UNEVALUATED:
                    self.emit(where, EXTENSION_UNEVALUATED, value=key)
                else:
                    self.emit(where, EXTENSION_OPEN, value=key, keyword=name)

    def grids(self) -> None:
        grids = self.data.get("grids", ())
        self.unique(("grids",), grids, "code")
        for i, grid in enumerate(grids):
            division = grid["divisionCode"]
            if not _within(division, self.profile.divisions) \
                    or not grid["code"].startswith(division + "-"):
                self.emit(("grids", i), GRID_OUTSIDE_DIVISION, value=grid["code"],
                          division=division)
            geometry = grid.get("geometry")
            if isinstance(geometry, dict) and not _closed(geometry):
                self.emit(("grids", i, "geometry"), GRID_POLYGON_OPEN, value=grid["code"])

    def calendar(self) -> None:
        cal = self.data.get("calendar") or {}
        made_up = set(cal.get("workingDays", ()))
        for i, day in enumerate(cal.get("holidays", ())):
            if day in made_up:
                self.emit(("calendar", "holidays", i), CALENDAR_CONFLICT, value=day)
        # Working days are counted from the weekdays worked; make-up days run out with the
        # years the city has listed, so a week worked on no day leaves nothing to count.
        if set(cal.get("weekend", (6, 7))) >= set(range(1, 8)):
            self.emit(("calendar", "weekend"), CALENDAR_NO_WORKING_DAYS)
            return
        # A count gives up after SCAN_LIMIT days: a limit the calendar may not reach within
        # them would leave an issue without its deadline.
        reach = self.profile.calendar.worked_at_least()
        for where, limit in _limits_at(self.data):
            if limit.get("unit") == WORKING_DAYS and limit.get("amount", 0) > reach:
                self.emit((*where, "amount"), LIMIT_UNREACHABLE, amount=limit["amount"],
                          days=SCAN_LIMIT, reach=reach)

    def thresholds(self) -> None:
        # A quorum or approval above the whole could never be met: every vote would fail.
        for form, rule in self.profile.thresholds.items():
            for name, fraction in rule.items():
                numerator, denominator = fraction["numerator"], fraction["denominator"]
                if numerator > denominator:
                    self.emit(("consultations", "thresholds", form, name), FRACTION_OVER_ONE,
                              field=name, value=f"{numerator}/{denominator}")

    def keys(self) -> None:
        """The keys of the deadline tables are urgency codes and those of the consultation rules
        consultation-form codes: a setting under any other key would silently never apply."""
        def check(where: Where, table: Any, codelist: str) -> None:
            codes = set(self.spec.codelist(codelist)) | set(self.profile.codes.get(codelist, {}))
            for key in table if isinstance(table, dict) else ():
                if key not in codes:
                    self.emit((*where, key), UNKNOWN_KEY, value=key, codelist=codelist)

        check(("deadlines",), self.data.get("deadlines"), _URGENCY)
        for i, service in enumerate(self.data.get("services", ())):
            check(("services", i, "deadlines"), service.get("deadlines"), _URGENCY)
        rules = self.data.get("consultations") or {}
        for section in ("noticeDays", "thresholds"):
            check(("consultations", section), rules.get(section), _FORM)

    def systems_and_roles(self) -> None:
        systems = self.data.get("externalSystems", ())
        self.unique(("externalSystems",), systems, "system")
        for i, system in enumerate(systems):
            self.known(("externalSystems", i, "organisation"), system.get("organisation"))
        roles = set(self.spec.roles)
        for i, mapping in enumerate(self.data.get("roles", ())):
            if mapping["role"] not in roles:
                self.emit(("roles", i, "role"), UNKNOWN_ROLE, value=mapping["role"])
            self.known(("roles", i, "organisation"), mapping.get("organisation"))


    def indicators(self) -> None:
        # imported here: the indicators package reads profiles (their calendar) itself
        from ..indicators import profile_errors

        section = self.data.get("indicators") or {}
        added = list(section.get("definitions") or ())
        for problem in profile_errors(self.spec, added, section.get("targets") or {},
                                        self.profile.namespace):
            ident, _, why = problem.partition(": ")
            self.emit(("indicators",), INDICATOR_INVALID, value=ident, detail=why)


#: keywords whose values are data, not schemas: a "$ref" inside them is no reference
_DATA_KEYWORDS = frozenset({"const", "enum", "examples", "default"})
#: keywords whose values map names (any names) to schemas
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions",
                          "dependentSchemas"})


def _unresolved(schema: Any, where: Where, resolver: Any, root: bool = True
                ) -> Iterator[tuple[Where, str]]:
    """Where an extension schema's ``$ref`` and ``$dynamicRef`` do not resolve with
    ``resolver`` (the specification's schemas and the schema itself), with the reference."""
    if isinstance(schema, list):
        for n, item in enumerate(schema):
            yield from _unresolved(item, (*where, n), resolver, False)
        return
    if not isinstance(schema, dict):
        return
    if not root and isinstance(schema.get("$id"), str):  # a resource of its own: its base
        resolver = resolver.in_subresource(DRAFT202012.create_resource(schema))
    for keyword, value in schema.items():
        if keyword in ("$ref", "$dynamicRef") and isinstance(value, str):
            try:
                resolver.lookup(value)
            except Unresolvable:
                yield (*where, keyword), value
        elif keyword in _SCHEMA_MAPS and isinstance(value, dict):
            for name, sub in value.items():
                yield from _unresolved(sub, (*where, keyword, name), resolver, False)
        elif keyword not in _DATA_KEYWORDS and not keyword.startswith("x-"):
            yield from _unresolved(value, (*where, keyword), resolver, False)


def _limits_at(data: Mapping[str, Any]) -> Iterator[tuple[Where, Mapping[str, Any]]]:
    """Every time limit of a profile (the defaults, then each catalogue entry's) and where."""
    tables: list[tuple[Where, Any]] = [(("deadlines",), data.get("deadlines"))]
    tables += [(("services", i, "deadlines"), s.get("deadlines"))
               for i, s in enumerate(data.get("services", ()))]
    for where, table in tables:
        for urgency, kinds in (table or {}).items():
            for kind, limit in kinds.items():
                yield (*where, urgency, kind), limit


def _closed(geometry: Mapping[str, Any]) -> bool:
    """Whether every ring of a GeoJSON Polygon or MultiPolygon is closed with 4+ positions."""
    coords = geometry.get("coordinates")
    polygons = coords if geometry.get("type") == "MultiPolygon" else [coords]
    for polygon in polygons if isinstance(polygons, list) else ():
        for ring in polygon if isinstance(polygon, list) else [None]:
            if not isinstance(ring, list) or len(ring) < 4 or ring[0] != ring[-1]:
                return False
    return True
