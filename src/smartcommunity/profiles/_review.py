"""A document read with a city profile (/req/profiles/document-*).

The standard's validation runs first; the profile then removes the unknown-code warnings of the
city's own codes and adds what only the city can say: organisations resolved in its registry,
registered extensions against their schemas, stated deadlines against its catalogue, vote
outcomes against its consultation thresholds, and whether the document names another profile.
Given the version a write replaces, the deadlines are held to the catalogue only when the write
puts them in question, and organisations to the registry only where the write names them anew;
an imported issue submitted before the profile's version was published keeps the deadlines it
was given under an earlier one (/req/profiles/deadlines). Who acted is never held to the
registry (/req/profiles/document-organisations).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable

from .._moments import moment
from ..specification import Spec, load_spec
from ..validation import (
    SESSION_CANCELLED,
    Finding,
    Report,
    finding,
    pointer,
    values_at,
    vote_outcome_findings,
)
from ._profile import Profile

__all__ = ["review"]

UNKNOWN_DEPARTMENT = "profile.unknown-department"
EXTENSION_INVALID = "profile.extension-invalid"
DEADLINE_EXCEEDS = "profile.deadline-exceeds"
DEADLINE_INCALCULABLE = "profile.deadline-incalculable"
OTHER_PROFILE = "profile.other-profile"
VOTE_OUTCOME = "profile.vote-outcome-inconsistent"
#: the core finding a city code no longer raises (/req/profiles/document-codes)
_UNKNOWN_CODE = "core.unknown-code"
#: the national notice period's warning, measured again with the city's period for the form
_NOTICE_SHORT = "consultation.notice-period-short"
#: the national findings on a vote's outcome, told again with the city's thresholds for the form
_OUTCOME = ("consultation.quorum-flag-inconsistent", "consultation.vote-result-inconsistent")
#: the shared type every organisation reference is
_ORGANISATION_REF = "organisation-ref.json"
#: the annotation of a reference that records who acted, which the registry does not review
_WHO_ACTED = "x-actor"
#: the stated deadline members, by the catalogue's kind of time limit
_DEADLINES = (("response", "responseDue"), ("resolution", "resolutionDue"))
#: what the catalogue computes an issue's deadlines from
_DEADLINE_INPUTS = ("category", "urgency", "submittedAt")


def review(profile: Profile, document: Any, report: Report, previous: Any = None, *,
           imported: bool = False) -> Report:
    """``report`` with ``profile``'s findings; ``document`` as given to the validator.
    ``previous`` is the version a write of ``document`` replaces, if any; ``imported``: the
    document is a record being imported."""
    if isinstance(document, bytes | str):
        try:
            document = json.loads(document)
        except ValueError:
            return report
    if not isinstance(document, dict) or report.spec_version is None:
        return report
    spec = load_spec(report.spec_version)
    kept = [f for f in report.findings if not _city_code(profile, document, f)]
    notice = _notice(profile, spec, document)
    if notice is not None:  # the city's period for the form replaces the national one
        kept = [f for f in kept if f.code != _NOTICE_SHORT]
    # Only a consultation has a form, and the thresholds are for the votes of its form.
    thresholds = profile.thresholds.get(str(document.get("form")))
    outcomes: list[Finding] = []
    if thresholds:  # the city's fractions replace the votes' own (/req/profiles/thresholds)
        kept = [f for f in kept if not (f.code in _OUTCOME and f.pointer.startswith("/votes/"))]
        outcomes = [finding(spec, f.pointer, VOTE_OUTCOME, **f.values)
                    for f in vote_outcome_findings(spec, document, thresholds)]
    added = [*(notice or ()), *outcomes,
             *_organisations(profile, spec, document, report.resource_type,
                             previous if isinstance(previous, dict) else None),
             *_extensions(profile, spec, document, report.resource_type),
             *_deadlines(profile, spec, document,
                         previous if isinstance(previous, dict) else None, imported),
             *_profiles(profile, spec, document)]
    return Report(findings=kept + added, resource_type=report.resource_type, id=report.id,
                  spec_version=report.spec_version)


def _city_code(profile: Profile, document: Any, f: Finding) -> bool:
    if f.code != _UNKNOWN_CODE:
        return False
    codelist = f.values.get("codelist")
    value = f.values.get("value")
    return isinstance(codelist, str) and isinstance(value, str) \
        and profile.is_city_code(codelist, value)


@functools.cache
def _reference_paths(spec: Spec, resource_type: str) -> tuple[tuple[str | None, ...], ...]:
    """Where ``resource_type`` documents hold organisation references the registry reviews,
    from the schema: every one but those marked ``x-actor``, which record who acted."""
    found: list[tuple[str | None, ...]] = []
    root = spec.schema(resource_type)

    def walk(node: Any, path: tuple[str | None, ...], resolver: Any, seen: frozenset[int]
             ) -> None:
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str):
            target, _, fragment = ref.partition("#")
            if target.rsplit("/", 1)[-1] == _ORGANISATION_REF and not fragment:
                if node.get(_WHO_ACTED) is not True:
                    found.append(path)
                return
            resolved = resolver.lookup(ref)
            if id(resolved.contents) not in seen:
                walk(resolved.contents, path, resolved.resolver,
                     seen | {id(resolved.contents)})
        for name, sub in (node.get("properties") or {}).items():
            walk(sub, (*path, name), resolver, seen)
        if isinstance(node.get("items"), dict):
            walk(node["items"], (*path, None), resolver, seen)
        for keyword in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(keyword, ()):
                walk(sub, path, resolver, seen)
        for keyword in ("then", "else"):
            walk(node.get(keyword), path, resolver, seen)

    walk(root, (), spec.registry.resolver(base_uri=root["$id"]), frozenset())
    return tuple(dict.fromkeys(found))


def _organisations(profile: Profile, spec: Spec, document: dict[str, Any],
                   resource_type: str | None, previous: dict[str, Any] | None = None
                   ) -> Iterator[Finding]:
    """The references ``document`` names that the registry lacks; over ``previous``, only
    those the write names anew: one an earlier write put there stays, as the deadlines do,
    whatever the registry says now."""
    if resource_type not in spec.resource_types:
        return
    paths = _reference_paths(spec, str(resource_type))
    held = frozenset() if previous is None else frozenset(
        (_place(previous, where), _code(ref)) for path in paths
        for where, ref in values_at(previous, path))
    for path in paths:
        for where, ref in values_at(document, path):
            code = _code(ref)
            if code is not None and profile.organisation(code) is None \
                    and (_place(document, where), code) not in held:
                yield finding(spec, (*where, "id"), UNKNOWN_DEPARTMENT, value=code,
                              profile=profile.id)


def _code(ref: Any) -> str | None:
    code = ref.get("id") if isinstance(ref, dict) else None
    return code if isinstance(code, str) else None


def _place(document: Any, where: tuple[str | int, ...]) -> tuple[Any, ...]:
    """Where the value at ``where`` is, each array item named by its id where it has one:
    the same place in another version of the record, whatever items were added or removed
    before it."""
    out: list[Any] = []
    node = document
    for step in where:
        node = node[step]  # a path values_at found in ``document``
        item = node.get("id") if isinstance(step, int) and isinstance(node, dict) else None
        out.append(("id", item) if isinstance(item, str) else step)
    return tuple(out)


def _extensions(profile: Profile, spec: Spec, document: dict[str, Any],
                resource_type: str | None) -> Iterator[Finding]:
    extensions = document.get("extensions")
    if not isinstance(extensions, dict):
        return
    for key, value in extensions.items():
        registered = profile.extensions.get(key)
        if registered is None or not registered.applies_to(resource_type):
            continue
        validator = _validator(spec, json.dumps(registered.schema, sort_keys=True))
        try:
            errors = list(validator.iter_errors(value))
        except Unresolvable as exc:  # a profile no check has passed: refused, never a 500
            yield finding(spec, ("extensions", key), EXTENSION_INVALID, value=key,
                          detail=f"$ref {exc.ref}")
            continue
        for error in errors:
            yield finding(spec, ("extensions", key, *error.absolute_path), EXTENSION_INVALID,
                          value=key, detail=error.message)


@functools.lru_cache(maxsize=256)
def _validator(spec: Spec, schema_text: str) -> Draft202012Validator:
    """The validator of a registered extension's schema (canonical JSON text). Its references
    reach the specification's schemas and the schema itself; nothing is fetched, so a reference
    elsewhere raises ``Unresolvable`` rather than waiting on the network."""
    return Draft202012Validator(json.loads(schema_text), registry=spec.registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)




def _original(document: dict[str, Any], member: str
              ) -> tuple[Any, tuple[str | int, ...], bool]:
    """The stated ``member`` deadline the catalogue limits, where it is, and whether it is an
    extended resolution deadline: after extensions the one in force is the last new one, and
    the catalogue limits the original, which the first extension names as its previous."""
    stated = document.get("deadlines")
    if not isinstance(stated, dict):
        return None, ("deadlines", member), False
    extensions = stated.get("extensions")
    if member == "resolutionDue" and isinstance(extensions, list) and extensions \
            and isinstance(extensions[0], dict):
        return (extensions[0].get("previousDue"), ("deadlines", "extensions", 0, "previousDue"),
                True)
    return stated.get(member), ("deadlines", member), False


def _same(a: Any, b: Any) -> bool:
    """Whether two member values are the same, a time however it is spelled."""
    if a == b:
        return True
    at = moment(a)
    return at is not None and at == moment(b)


def _in_question(document: dict[str, Any], previous: dict[str, Any] | None,
                 member: str) -> bool:
    """Whether the ``member`` deadline is held to the catalogue: always for a document on its
    own; for a write over ``previous`` when it changes the deadline, or what it is computed
    from unless an approved extension stands for it. Other writes keep the deadlines the
    issue was given, whatever the profile says now."""
    if previous is None:
        return True
    value, _, extended = _original(document, member)
    if not _same(value, _original(previous, member)[0]):
        return True
    return not extended and any(not _same(document.get(k), previous.get(k))
                                for k in _DEADLINE_INPUTS)


def _deadlines(profile: Profile, spec: Spec, document: dict[str, Any],
               previous: dict[str, Any] | None = None, imported: bool = False
               ) -> Iterator[Finding]:
    # Without stated deadlines there is nothing to exceed, but a limit the profile sets and
    # cannot compute still leaves the issue without the deadline it is owed.
    stated = document.get("deadlines", {})
    start = moment(document.get("submittedAt"))
    category, urgency = document.get("category"), document.get("urgency")
    if not isinstance(stated, dict) or start is None or not isinstance(category, str) \
            or not isinstance(urgency, str):
        return
    if imported and previous is None and profile.predates(start):
        # Given under an earlier version of the profile, and kept by every write since that
        # left them alone: a restored or moved record keeps them too. One submitted since
        # this version applies is held to it as a new issue is, so no import makes a new
        # issue's deadlines looser than the catalogue's.
        return
    for kind, member in _DEADLINES:
        if not _in_question(document, previous, member):
            continue
        value, where, _ = _original(document, member)
        try:
            expected = profile.deadline(category, urgency, kind, start)
        except ValueError:  # past the years a date can hold, or no working day to count
            yield finding(spec, ("submittedAt",), DEADLINE_INCALCULABLE, member=member,
                          submitted=document.get("submittedAt"))
            continue
        due = moment(value)
        if due is not None and expected is not None and due > expected:
            yield finding(spec, where, DEADLINE_EXCEEDS, field=pointer(where), stated=value,
                          expected=expected.isoformat())


def _notice(profile: Profile, spec: Spec, document: dict[str, Any]) -> list[Finding] | None:
    """The notice-period warning with the days the profile sets for the consultation's form
    (consultations.noticeDays); None when it sets none, and the national period stands."""
    days = profile.notice_days.get(str(document.get("form")))
    notice = document.get("notice")
    if days is None or not isinstance(notice, dict):
        return None
    published = moment(notice.get("publishedAt"))
    firsts = [(s.get("start"), moment(s.get("start"))) for s in _list(document, "sessions")
              if s.get("status") != SESSION_CANCELLED]
    firsts += [(v.get("opensAt"), moment(v.get("opensAt"))) for v in _list(document, "votes")]
    known = sorted((at, text) for text, at in firsts if at is not None)
    if published is None or not known:
        return []
    first_at, first = known[0]
    gap = (first_at - published).total_seconds()
    # A first session or vote before the notice is time-order's error, not a short notice.
    if not 0 < gap < days * 86400:
        return []
    return [finding(spec, ("notice", "publishedAt"), _NOTICE_SHORT,
                    published=notice.get("publishedAt"), first=first,
                    days=f"{gap // 8640 / 10:.1f}", minimum=days)]


def _list(document: dict[str, Any], member: str) -> list[dict[str, Any]]:
    items = document.get(member)
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _profiles(profile: Profile, spec: Spec, document: dict[str, Any]) -> Iterator[Finding]:
    meta = document.get("meta")
    stated = meta.get("profile") if isinstance(meta, dict) else None
    if isinstance(stated, list) and stated and profile.id not in stated:
        yield finding(spec, ("meta", "profile"), OTHER_PROFILE, stated=", ".join(map(str, stated)),
                      profile=profile.id)


