"""Library rules of the Resident resource (conformance class ``/conf/residents``).

These are the requirements of ``requirements/residents.json`` enforced by ``library``: what
JSON Schema cannot say about one resident record (agreement between its members, periods,
ages, references inside the record, consent scopes). Each rule reads only the members it needs
and returns at once when they are absent, so a small or redacted record costs almost nothing.
"""

from __future__ import annotations

import functools
import hmac
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeGuard

from .. import identifiers
from ..specification import Spec
from ._messages import ErrorCodes
from ._time import later
from ._validator import Context, Document, member_rule, rule

__all__ = ["CODE", "pseudonym_key"]


#: The codes these rules report (the core rules report citizen-id-invalid too).
CODE = ErrorCodes("resident")

_RESOURCE = "Resident"
#: the document type whose numbers may not carry a permit's region prefix
_CITIZEN_ID = "citizen-id"


@dataclass(frozen=True, slots=True)
class _Parameters:
    """The figures and codes of the requirements, read from the registry once per version."""

    #: citizen-id-valid: the region prefixes a residence permit number must have, by type
    permit_prefixes: Mapping[str, tuple[str, ...]]
    #: citizen-id-valid: the prefixes a resident identity card number must not have
    card_forbidden: tuple[str, ...]
    #: vulnerability-age: (minimum age, age the resident must be under) on ``since``
    marker_ages: Mapping[str, tuple[int | None, int | None]]
    #: vulnerability-basis: legal bases that may cover sensitive markers (PIPL Art. 29)
    marker_bases: frozenset[str]


@functools.cache
def _parameters(spec: Spec) -> _Parameters:
    valid = "/req/residents/citizen-id-valid"
    prefixes = spec.parameter(valid, "permitRegionPrefixes")
    ages = spec.parameter("/req/residents/vulnerability-age", "ages")
    return _Parameters(
        permit_prefixes={k: tuple(v) for k, v in prefixes.items()},
        card_forbidden=tuple(spec.parameter(valid, "residentCardForbiddenPrefixes")),
        marker_ages={k: (v.get("minimum"), v.get("under")) for k, v in ages.items()},
        marker_bases=frozenset(spec.parameter("/req/residents/vulnerability-basis", "legalBases")),
    )

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INDEX = re.compile(r"0|[1-9][0-9]*")
_BAD_ESCAPE = re.compile(r"~(?![01])")

# The city's shared keys for citizen ID pseudonyms by key id (None: the unnamed key); without
# them pseudonym-consistent is skipped.
_PSEUDONYM_KEY: ContextVar[Mapping[str | None, bytes] | None] = ContextVar(
    "smartcommunity_pseudonym_key", default=None)


@contextmanager
def pseudonym_key(key: bytes, *, key_id: str | None = None,
                  older: Mapping[str | None, bytes] | None = None) -> Iterator[None]:
    """Check ``pseudonym`` against ``number`` with ``key`` while the block runs.

    Only a validator holding the city's shared key can check /req/residents/pseudonym-consistent;
    outside this block the rule is skipped. During a rotation (/req/privacy/pseudonym-key-id)
    ``key`` is the newest, named ``key_id``, and ``older`` the other keys still held by id: a
    pseudonym is checked with the key it names, and one of a key not held is not checked.
    Raises ``ValueError`` for a key shorter than /req/privacy/pseudonym's ``minimumKeyBytes``
    (16 in 1.0).
    """
    minimum = identifiers.minimum_key_bytes()
    ring = {**(older or {}), key_id: key}
    if any(not isinstance(k, bytes | bytearray) or len(k) < minimum for k in ring.values()):
        raise ValueError(f"the pseudonym key must be at least {minimum} bytes")
    token = _PSEUDONYM_KEY.set({kid: bytes(k) for kid, k in ring.items()})
    try:
        yield
    finally:
        _PSEUDONYM_KEY.reset(token)


# --------------------------------------------------------------------------- helpers


_time_after = later


def _is_date(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) == 10 and _DATE.fullmatch(value) is not None


def _date_after(start: Any, end: Any) -> bool:
    """True when both are ``YYYY-MM-DD`` dates and ``start`` is after ``end``."""
    return _is_date(start) and _is_date(end) and start > end


def _age_on(born: str, day: str) -> int:
    """Age in whole years on ``day`` of someone born on ``born`` (both ``YYYY-MM-DD``)."""
    return int(day[:4]) - int(born[:4]) - (day[5:] < born[5:])


def _prefix_fits(params: _Parameters, doc_type: Any, number: str) -> bool:
    if doc_type == _CITIZEN_ID:
        return not number.startswith(params.card_forbidden)
    prefixes = params.permit_prefixes.get(doc_type) if isinstance(doc_type, str) else None
    return prefixes is None or number.startswith(prefixes)


def _birth_date_of(number: str) -> str | None:
    """The birth date a valid GB 11643 number carries, as ``YYYY-MM-DD``."""
    born = identifiers.citizen_id_birth_date(number)
    return born.isoformat() if born is not None else None


@functools.cache
def _gb_types(spec: Spec) -> frozenset[str]:
    """Document types numbered in the GB 11643 form, read from the identityDocument schema."""
    try:
        cond = spec.schema(_RESOURCE)["$defs"]["identityDocument"]["if"]["properties"]["type"]
        return frozenset(cond["enum"])
    except (KeyError, TypeError):
        return frozenset({_CITIZEN_ID, *_parameters(spec).permit_prefixes})


def _id_birth_date(doc: Document, gb_types: frozenset[str], params: _Parameters) -> str | None:
    """Birth date in the first valid full GB 11643 number of the record."""
    docs = doc.get("identityDocuments")
    if not isinstance(docs, list):
        return None
    for item in docs:
        if not isinstance(item, dict):
            continue
        kind, number = item.get("type"), item.get("number")
        if (isinstance(kind, str) and kind in gb_types and isinstance(number, str)
                and _prefix_fits(params, kind, number)):
            born = _birth_date_of(number)  # None unless the number is valid
            if born is not None:
                return born
    return None


# --------------------------------------------------------------------------- identity documents


@member_rule(_RESOURCE, member="identityDocuments", kind=list)
def identity_documents(docs: list[Any], doc: Document, ctx: Context) -> None:
    """citizen-id-valid (type prefixes), birth-date, masked and pseudonym agreement, validity."""
    gb_types = _gb_types(ctx.spec)
    params = _parameters(ctx.spec)
    birth = doc.get("birthDate")
    if not _is_date(birth):
        birth = None
    for i, item in enumerate(docs):
        if not isinstance(item, dict):
            continue
        if "validUntil" in item and _date_after(item.get("validFrom"), item["validUntil"]):
            ctx.emit(("identityDocuments", i, "validUntil"), CODE.PERIOD_ORDER,
                     start=item.get("validFrom"), end=item["validUntil"])
        number = item.get("number")
        if not isinstance(number, str):
            continue
        doc_type = item.get("type")
        masked = item.get("masked")
        if isinstance(masked, str):
            try:
                expected = identifiers.mask_citizen_id(number)
            except ValueError:
                expected = None  # a malformed number is the schema's and core's finding
            if expected is not None and masked != expected:
                ctx.emit(("identityDocuments", i, "masked"), CODE.MASKED_ID_MISMATCH,
                         masked=masked, expected=expected)
        pseudonym = item.get("pseudonym")
        if isinstance(pseudonym, str):
            _check_pseudonym(ctx, i, doc_type, number, pseudonym)
        if not isinstance(doc_type, str) or doc_type not in gb_types:
            continue
        # The full GB 11643 check is the costly part, so it runs only when there is something
        # to report; a number failing it is the core rule's finding, not a second one here.
        if not _prefix_fits(params, doc_type, number):
            if identifiers.is_valid_citizen_id(number):
                ctx.emit(("identityDocuments", i, "number"), CODE.CITIZEN_ID_INVALID,
                         value=identifiers.mask_citizen_id(number))
        elif birth is not None and number[6:10] + "-" + number[10:12] + "-" + number[12:14] != (
                birth):
            # Only a mismatching number pays for the full check and the date it carries.
            id_date = _birth_date_of(number)
            if id_date is not None and id_date != birth:
                ctx.emit(("birthDate",), CODE.BIRTH_DATE_MISMATCH, birthDate=birth, idDate=id_date,
                         index=i, type=doc_type)


def _check_pseudonym(ctx: Context, i: int, doc_type: Any, number: str, pseudonym: str) -> None:
    ring = _PSEUDONYM_KEY.get()
    if ring is None:
        return
    try:
        key_id = identifiers.pseudonym_key_id(pseudonym)
    except ValueError:
        key_id = None  # not a pseudonym at all: the schema reports its form, this the mismatch
    if key_id not in ring:
        return  # a key this validator does not hold: nothing to check it with
    try:
        expected = identifiers.citizen_id_pseudonym(number, ring[key_id], key_id=key_id)
    except ValueError:
        return  # an invalid number has no pseudonym; citizen-id-valid reports it
    if not hmac.compare_digest(expected.encode(), pseudonym.encode("utf-8", "replace")):
        ctx.emit(("identityDocuments", i, "pseudonym"), CODE.PSEUDONYM_MISMATCH, index=i,
                 type=doc_type)


# --------------------------------------------------------------------------- contact points


@member_rule(_RESOURCE, member="contactPoints", kind=list)
def preferred_contact_unique(points: list[Any], doc: Document, ctx: Context) -> None:
    if len(points) < 2:
        return
    first: dict[str, int] = {}
    for i, point in enumerate(points):
        if not isinstance(point, dict) or point.get("preferred") is not True:
            continue
        kind = point.get("type")
        if not isinstance(kind, str):
            continue
        if kind in first:
            ctx.emit(("contactPoints", i, "preferred"), CODE.CONTACT_PREFERRED_DUPLICATE,
                     type=kind, first=first[kind], index=i)
        else:
            first[kind] = i


# --------------------------------------------------------------------------- memberships, address


@rule(_RESOURCE)
def memberships_and_address(doc: Document, ctx: Context) -> None:
    members = doc.get("memberships")
    if isinstance(members, list):
        for i, m in enumerate(members):
            if not isinstance(m, dict):
                continue
            grid, community = m.get("grid"), m.get("community")
            if (isinstance(grid, str) and isinstance(community, str)
                    and not grid.startswith(community + "-") and _well_formed(community)):
                ctx.emit(("memberships", i, "grid"), CODE.GRID_OUTSIDE_COMMUNITY,
                         grid=grid, community=community)
            if "until" in m and _date_after(m.get("since"), m["until"]):
                ctx.emit(("memberships", i, "until"), CODE.PERIOD_ORDER,
                         start=m.get("since"), end=m["until"])
    address = doc.get("address")
    if isinstance(address, dict):
        grid, division = address.get("gridCode"), address.get("divisionCode")
        if (isinstance(grid, str) and isinstance(division, str)
                and not grid.startswith(division + "-") and _well_formed(division)):
            ctx.emit(("address", "gridCode"), CODE.GRID_OUTSIDE_COMMUNITY,
                     grid=grid, community=division)


def _well_formed(community: str) -> bool:
    # A broken community code is reported once, as itself; its grids are not judged by it.
    return identifiers.is_valid_division_code(community)


# --------------------------------------------------------------------------- vulnerabilities


@member_rule(_RESOURCE, member="vulnerabilities", kind=list)
def vulnerabilities(markers: list[Any], doc: Document, ctx: Context) -> None:
    """vulnerability-age, vulnerability-basis and the period of each marker."""
    if not markers:
        return
    params = _parameters(ctx.spec)
    born: str | None = doc.get("birthDate") if _is_date(doc.get("birthDate")) else None
    if born is None:
        born = _id_birth_date(doc, _gb_types(ctx.spec), params)
    whole, covered = _marker_coverage(doc.get("consents"), params)
    for i, marker in enumerate(markers):
        if not isinstance(marker, dict):
            continue
        since = marker.get("since")
        if "until" in marker and _date_after(since, marker["until"]):
            ctx.emit(("vulnerabilities", i, "until"), CODE.PERIOD_ORDER,
                     start=since, end=marker["until"])
        kind = marker.get("type")
        if (born is not None and isinstance(kind, str) and kind in params.marker_ages
                and _is_date(since)):
            at_least, under = params.marker_ages[kind]
            age = _age_on(born, since)
            if (at_least is not None and age < at_least) or (under is not None and age >= under):
                ctx.emit(("vulnerabilities", i, "since"), CODE.VULNERABILITY_AGE_MISMATCH,
                         type=kind, since=since, age=age, birthDate=born,
                         rule=f"≥ {at_least}" if at_least is not None else f"< {under}")
        if not whole and i not in covered:
            ctx.emit(("vulnerabilities", i), CODE.VULNERABILITY_WITHOUT_BASIS,
                     index=i, type=kind if isinstance(kind, str) else "?")


def _marker_coverage(consents: Any, params: _Parameters) -> tuple[bool, set[int]]:
    """Whether granted separate consent or legal duty covers every marker, or which ones."""
    covered: set[int] = set()
    if not isinstance(consents, list):
        return False, covered
    for consent in consents:
        if not isinstance(consent, dict) or consent.get("status") != "granted":
            continue
        basis = consent.get("legalBasis")
        if not isinstance(basis, str) or basis not in params.marker_bases:
            continue
        scope = consent.get("scope")
        if not isinstance(scope, list):
            continue
        for ptr in scope:
            if ptr == "" or ptr == "/vulnerabilities":
                return True, covered
            if isinstance(ptr, str) and ptr.startswith("/vulnerabilities/"):
                token = ptr[17:]
                if _INDEX.fullmatch(token):
                    covered.add(int(token))
    return False, covered


# --------------------------------------------------------------------------- consents, proxies


@rule(_RESOURCE)
def consents_and_proxies(doc: Document, ctx: Context) -> None:
    """consent-scope, unique-item-ids, proxy-not-self, proxy-consent and proxy periods."""
    consents = doc.get("consents")
    seen_consents: dict[str, int] = {}
    if isinstance(consents, list):
        resolves = _scope_resolver(ctx.spec)
        for i, consent in enumerate(consents):
            if not isinstance(consent, dict):
                continue
            _unique_id(ctx, "consents", i, consent, seen_consents)
            scope = consent.get("scope")
            if isinstance(scope, list) and not _all_resolve(resolves, scope):
                for j, ptr in enumerate(scope):
                    if isinstance(ptr, str) and not resolves(ptr):
                        ctx.emit(("consents", i, "scope", j), CODE.CONSENT_SCOPE_UNRESOLVED,
                                 pointer=ptr)
    proxies = doc.get("proxies")
    if not isinstance(proxies, list):
        return
    self_id = doc.get("id")
    seen_proxies: dict[str, int] = {}
    for i, proxy in enumerate(proxies):
        if not isinstance(proxy, dict):
            continue
        _unique_id(ctx, "proxies", i, proxy, seen_proxies)
        if isinstance(self_id, str):
            resident = proxy.get("resident")
            if isinstance(resident, dict) and resident.get("id") == self_id:
                ctx.emit(("proxies", i, "resident", "id"), CODE.PROXY_SELF, id=self_id, index=i)
            actor = proxy.get("actor")
            if isinstance(actor, dict):
                resident = actor.get("resident")
                if isinstance(resident, dict) and resident.get("id") == self_id:
                    ctx.emit(("proxies", i, "actor", "resident", "id"), CODE.PROXY_SELF,
                             id=self_id, index=i)
        consent_id = proxy.get("consentId")
        if isinstance(consent_id, str) and consent_id not in seen_consents:
            ctx.emit(("proxies", i, "consentId"), CODE.PROXY_CONSENT_UNRESOLVED, id=consent_id)
        if "validUntil" in proxy and _time_after(proxy.get("validFrom"), proxy["validUntil"]):
            ctx.emit(("proxies", i, "validUntil"), CODE.PERIOD_ORDER,
                     start=proxy.get("validFrom"), end=proxy["validUntil"])


def _unique_id(ctx: Context, member: str, index: int, item: Mapping[str, Any],
               seen: dict[str, int]) -> None:
    """/req/residents/unique-item-ids: ``item``'s id is new in the list ``member``."""
    item_id = item.get("id")
    if not isinstance(item_id, str):
        return
    if item_id in seen:
        ctx.emit((member, index, "id"), CODE.DUPLICATE_ITEM_ID, id=item_id, list=member,
                 first=seen[item_id], index=index)
    else:
        seen[item_id] = index


def _all_resolve(resolves: Callable[[str], bool], scope: list[Any]) -> bool:
    try:
        return all(map(resolves, scope))
    except TypeError:  # an item that is not a string (the schema reports it)
        return False


# --------------------------------------------------------------------------- restriction


@member_rule(_RESOURCE, member="restriction", kind=dict)
def restriction_period(restriction: dict[str, Any], doc: Document, ctx: Context) -> None:
    requested = restriction.get("requestedAt")
    # A restriction that holds through a later request was carried out before it was made.
    restricted = restriction.get("restrictedAt")
    if restricted is not None and _time_after(restricted, requested):
        ctx.emit(("restriction", "restrictedAt"), CODE.PERIOD_ORDER, start=restricted,
                 end=requested)
    if "decidedAt" not in restriction:
        return
    decided = restriction["decidedAt"]
    if _time_after(requested, decided):
        ctx.emit(("restriction", "decidedAt"), CODE.PERIOD_ORDER, start=requested, end=decided)


# --------------------------------------------------------------------------- consent scopes
#
# A scope pointer must address a location the Resident schema defines. The schema is walked
# lazily, one node per location kind, following $ref and the applicators that add members
# (allOf, anyOf, oneOf, then, else); answers are cached per pointer, so a record costs one
# dictionary look-up per scope entry once the usual pointers have been seen.


class _Location:
    """What the schema defines at one location: members, array items, or anything below."""

    __slots__ = ("_children", "_item", "_item_sources", "_member_sources", "free")

    def __init__(self, sources: list[tuple[dict[str, Any], Any]]) -> None:
        self._member_sources: dict[str, list[tuple[dict[str, Any], Any]]] = {}
        self._item_sources: list[tuple[dict[str, Any], Any]] = []
        self._children: dict[str, _Location] = {}
        self._item: _Location | None = None
        free = False
        for node, resolver in _expand(sources):
            props = node.get("properties")
            if isinstance(props, dict):
                for name, sub in props.items():
                    if isinstance(sub, dict):
                        self._member_sources.setdefault(name, []).append((sub, resolver))
            items = node.get("items")
            if isinstance(items, dict):
                self._item_sources.append((items, resolver))
            if (node.get("type") == "object" and "properties" not in node
                    and node.get("additionalProperties") is not False):
                free = True  # extensions and other free-form objects: any key below
        self.free = free and not self._member_sources and not self._item_sources

    def member(self, name: str) -> _Location | None:
        child = self._children.get(name)
        if child is None and name in self._member_sources:
            child = self._children[name] = _Location(self._member_sources[name])
        return child

    def item(self) -> _Location | None:
        if self._item is None and self._item_sources:
            self._item = _Location(self._item_sources)
        return self._item


def _expand(sources: list[tuple[dict[str, Any], Any]]) -> Iterator[tuple[dict[str, Any], Any]]:
    """Every schema object that contributes to a location, with the resolver for its refs."""
    stack = list(reversed(sources))
    seen: set[int] = set()
    while stack:
        node, resolver = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node, resolver
        ref = node.get("$ref")
        if isinstance(ref, str):
            resolved = resolver.lookup(ref)
            if isinstance(resolved.contents, dict):
                stack.append((resolved.contents, resolved.resolver))
        for keyword in ("allOf", "anyOf", "oneOf"):
            subs = node.get(keyword)
            if isinstance(subs, list):
                stack.extend((s, resolver) for s in subs if isinstance(s, dict))
        for keyword in ("then", "else"):
            sub = node.get(keyword)
            if isinstance(sub, dict):
                stack.append((sub, resolver))


@functools.cache
def _scope_resolver(spec: Spec) -> Callable[[str], bool]:
    """A cached test of whether a JSON Pointer addresses a location the Resident schema defines."""
    root_schema = spec.schema(_RESOURCE)
    root = _Location([(root_schema, spec.registry.resolver(base_uri=root_schema["$id"]))])

    @functools.lru_cache(maxsize=8192)
    def resolves(ptr: str) -> bool:
        if ptr == "":
            return True
        if not isinstance(ptr, str) or not ptr.startswith("/"):
            return False
        escaped = "~" in ptr
        if escaped and _BAD_ESCAPE.search(ptr):
            return False  # "~" not followed by 0 or 1: not a JSON Pointer at all
        here = root
        for raw in ptr[1:].split("/"):
            if here.free:
                return True
            token = raw.replace("~1", "/").replace("~0", "~") if escaped else raw
            item = here.item()
            child = item if item is not None and _INDEX.fullmatch(token) else here.member(token)
            if child is None:
                return False
            here = child
        return True

    return resolves
