"""Broken variants of a server running a city profile (/conf/profiles), one per requirement.

The kit's server runs the large example city's profile. A defect in the profile a server
publishes is made by editing ``GET /profile`` on the wire, one rule broken each; a defect in how
the server obeys its profile is a monkeypatch of the one reference_server internal that applies
it. The mutant of the SHOULD /req/profiles/document-profile draws the kit's warning, not a
failure.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reference_server.api import _common
from reference_server.service import _policies
from smartcommunity._moments import moment
from smartcommunity.privacy import _redact
from smartcommunity.profiles import _review

from .mutants import Mutant, Rewrite, _get, _json_edit, _query


def _published(change: Callable[[dict[str, Any]], None]) -> Callable[[Any, pytest.MonkeyPatch],
                                                                        Any]:
    """A server publishing its profile with ``change`` made to it."""
    def install(app: Any, mp: pytest.MonkeyPatch) -> Any:
        def edit(body: Any) -> Any:
            change(body)
            return body

        return Rewrite(app, _json_edit(_get("/profile"), edit))

    return install


def _unknown_spec_version(p: dict[str, Any]) -> None:
    p["profile"]["specVersion"] = "0.9"


def _grid_twice(p: dict[str, Any]) -> None:
    p["grids"].append(copy.deepcopy(p["grids"][0]))


def _lead_unregistered(p: dict[str, Any]) -> None:
    p["services"][0]["lead"] = "kit-unregistered-department"


def _organisation_without_name(p: dict[str, Any]) -> None:
    del p["organisations"][0]["name"]


def _code_outside_namespace(p: dict[str, Any]) -> None:
    row = copy.deepcopy(p["codelists"]["issue-category"][0])
    row["code"] = "environment.garbage.kit-unprefixed"
    p["codelists"]["issue-category"].append(row)


def _extension_untagged(p: dict[str, Any]) -> None:
    del p["extensions"][0]["schema"]["properties"]["workOrderNo"]["x-pipl"]


def _extension_unevaluated(p: dict[str, Any]) -> None:
    schema = p["extensions"][0]["schema"]
    schema.pop("additionalProperties")
    schema["unevaluatedProperties"] = {"type": "string", "x-pipl": "personal"}


def _grid_elsewhere(p: dict[str, Any]) -> None:
    grid = p["grids"][0]
    grid["divisionCode"] = "310101000000"  # a Shanghai district, outside the city's divisions


def _holiday_worked(p: dict[str, Any]) -> None:
    p["calendar"]["workingDays"].append(p["calendar"]["holidays"][0])


def _urgency_misspelt(p: dict[str, Any]) -> None:
    p["deadlines"]["emergency"] = p["deadlines"].pop("critical")


def _weekend_every_day(p: dict[str, Any]) -> None:
    p["calendar"]["weekend"] = [1, 2, 3, 4, 5, 6, 7]


def _unknown_role(p: dict[str, Any]) -> None:
    p["roles"][0]["role"] = "kit-invented-role"


def _indicator_outside_namespace(p: dict[str, Any]) -> None:
    p["indicators"]["definitions"][0]["id"] = "kit.very-satisfied-rate"


def category_deadlines_ignored(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """New issues get the profile's default deadlines whatever their category's own are."""
    original = _policies.deadlines_due

    def defaults_only(profile: Any, doc: Any) -> dict[str, str]:
        return original(profile, {**doc, "category": "kit-no-such-category"})

    mp.setattr(_policies, "deadlines_due", defaults_only)
    return app


def registry_not_consulted(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The server takes any department id: the profile's registry is never consulted."""
    def nothing(*args: Any) -> Iterator[Any]:
        return iter(())

    mp.setattr(_review, "_organisations", nothing)
    return app


def registry_holds_who_acted(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The registry reviews every organisation reference, who acted too: the organisation the
    server records from the credential of staff it does not list is taken on submission
    (checked before it is recorded) and makes every later write of their issue refused."""
    mp.setattr(_review, "_WHO_ACTED", "x-kit-carried-by-nothing")
    mp.setattr(_review, "_reference_paths",
               functools.cache(_review._reference_paths.__wrapped__))
    return app


def extensions_not_validated(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The server stores registered extensions without checking them against their schemas."""
    def nothing(*args: Any) -> Iterator[Any]:
        return iter(())

    mp.setattr(_review, "_extensions", nothing)
    return app


def undescribed_members_shown(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The server takes a member its registered extension's schema does not describe (it
    validates against the schema with the object left open) and redaction keeps whatever the
    tags do not cover, so every audience is shown it."""
    profile = app.state.sc.service.profile
    opened = {key: dataclasses.replace(ext, schema={
        k: v for k, v in ext.schema.items() if k != "additionalProperties"})
        for key, ext in profile.extensions.items()}
    mp.setattr(profile, "extensions", opened)
    mp.setattr(_redact, "_drop_untold", lambda *args: None)
    return app


def found_members_shown(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Redaction follows only the tags of the members a registered extension's schema names:
    a member its patternProperties or additionalProperties admits, tagged personal, counts as
    told and reaches every audience."""
    mp.setattr(_redact, "_apply_extension_tags",
               lambda held, plan, *rest: _redact._apply_tags(held, plan, *rest))
    return app


def registry_served_raw(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """GET /profile serves the organisation registry as the city wrote it, whoever reads it:
    the names and phones of its members reach the public."""
    service = app.state.sc.service
    mp.setattr(service, "registry_entry", lambda principal, org: org)
    mp.setattr(service, "profile_bodies", {})
    return app


def other_profile_refused(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A document whose meta.profile names another profile is refused: the warning the
    profile's review gives it is made an error."""
    original = _review._profiles

    def as_error(*args: Any) -> Iterator[Any]:
        return (dataclasses.replace(f, severity="error") for f in original(*args))

    mp.setattr(_review, "_profiles", as_error)
    return app


def thresholds_ignored(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Votes come out by their own fractions: the server never reads the profile's
    consultation thresholds (neither on close-vote nor when it validates the record)."""
    mp.setattr(app.state.sc.service.profile, "thresholds", {})
    return app


def dispatch_not_routed(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A dispatch naming no department is taken as it is (and refused as incomplete)."""
    mp.setattr(_policies.IssuePolicy, "route", lambda self, doc, action, body: body)
    return app


def route_unchecked(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The catalogue routes a dispatch by whatever its request names, before the request is
    checked: an array where an assignment's id belongs raises inside the server."""
    def route(self: Any, doc: Any, action: str, body: dict[str, Any]) -> dict[str, Any]:
        service = self.service.profile.service(str(doc.get("category")))
        details, items = body.get("details") or {}, body.get("items") or {}
        if action != "dispatch" or service is None:
            return body
        chosen = {details.get("lead"): service.lead}
        for item in items.get("assignments") or ():
            chosen.get(item.get("id"))  # unhashable ids raise TypeError
        return body

    mp.setattr(_policies.IssuePolicy, "route", route)
    return app


def deadlines_uppercase_only(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The catalogue's deadlines are computed only for a submission time Python's parser
    reads: one written with a lowercase z gets none, silently."""
    original = _policies.deadlines_due

    def due(profile: Any, doc: Any) -> dict[str, str]:
        if str(doc.get("submittedAt", "")).endswith("z"):
            return {}
        return original(profile, doc)

    mp.setattr(_policies, "deadlines_due", due)
    return app


def deadlines_frozen(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Every write is held to the catalogue as a new issue is, and a change of urgency keeps
    the deadlines given on submission: raising an accepted issue's urgency is refused."""
    mp.setattr(_policies.IssuePolicy, "prepare_update",
               lambda self, principal, stored, doc: doc)
    mp.setattr(_review, "_in_question", lambda document, previous, member: True)
    return app


def reclassified_deadlines_kept(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A change of urgency keeps the deadlines given on submission, unchecked."""
    mp.setattr(_policies.IssuePolicy, "prepare_update",
               lambda self, principal, stored, doc: doc)
    mp.setattr(_review, "_in_question", lambda document, previous, member: previous is None)
    return app


def deadlines_past_year_9999(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """The catalogue's deadlines are computed with no care for the last date there is: an
    issue submitted in the last hour of the year 9999 is a 500."""
    original = _policies.deadlines_due

    def due(profile: Any, doc: Any) -> dict[str, str]:
        start = moment(doc.get("submittedAt"))
        if start is not None:
            for kind in ("response", "resolution"):
                profile.deadline(str(doc.get("category")), str(doc.get("urgency")), kind, start)
        return original(profile, doc)

    mp.setattr(_policies, "deadlines_due", due)
    return app


def _counting_with(change: Callable[[Any], None]) -> Callable[[Any, pytest.MonkeyPatch], Any]:
    """A server computing new issues' deadlines with a copy of its profile ``change``d."""
    def install(app: Any, mp: pytest.MonkeyPatch) -> Any:
        original = _policies.deadlines_due

        def due(profile: Any, doc: Any) -> dict[str, str]:
            changed = copy.copy(profile)
            change(changed)
            return original(changed, doc)

        mp.setattr(_policies, "deadlines_due", due)
        return app

    return install


def _no_holidays(profile: Any) -> None:
    profile.calendar = dataclasses.replace(profile.calendar, holidays=frozenset())


def _no_make_up_days(profile: Any) -> None:
    profile.calendar = dataclasses.replace(profile.calendar, working_days=frozenset())


def _entries_exactly(profile: Any) -> None:
    profile.service = profile.services.get


def subcategory_not_routed(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """A dispatch is routed only for a category with a catalogue entry of its own: one below
    a listed category is taken as it is (and refused as incomplete)."""
    original = _policies.IssuePolicy.route

    def route(self: Any, doc: Any, action: str, body: dict[str, Any]) -> dict[str, Any]:
        if doc.get("category") not in self.service.profile.services:
            return body
        return original(self, doc, action, body)

    mp.setattr(_policies.IssuePolicy, "route", route)
    return app


def unlisted_grid_answered(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """GET /issues?grid= answers for any well-formed grid, as though no profile were run."""
    mp.setattr(_common, "_grid", lambda raw, profile: raw if isinstance(raw, str) else None)
    return app


def external_ref_as_written(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """GET /issues?externalRef= looks the system up as written, so another spelling of the
    system a record names finds nothing."""
    mp.setattr(_common, "external_ref_key", lambda system, value: f"{system}|{value}")
    return app


def _ignoring(name: str) -> Callable[[Any, pytest.MonkeyPatch], Any]:
    """A server that drops query parameter ``name`` from issue listings: it lists every issue
    as though the filter had not been asked for."""
    def install(app: Any, mp: pytest.MonkeyPatch) -> Any:
        def request(scope: dict[str, Any]) -> dict[str, Any]:
            if scope["method"] == "GET" and scope["path"] == "/issues":
                kept = [p for p in _query(scope).split("&")
                        if p and p.split("=", 1)[0] != name]
                scope["query_string"] = "&".join(kept).encode()
            return scope

        return Rewrite(app, request=request)

    return install


MUTANTS: list[Mutant] = [
    Mutant("profile-unknown-spec-version", "/req/profiles/format",
           "the published profile builds on a version of the standard that does not exist",
           _published(_unknown_spec_version)),
    Mutant("profile-unknown-urgency-key", "/req/profiles/format",
           "the published profile keys default deadlines by an urgency that does not exist",
           _published(_urgency_misspelt)),
    Mutant("profile-grid-listed-twice", "/req/profiles/unique-codes",
           "the published profile lists a grid twice", _published(_grid_twice)),
    Mutant("profile-lead-unregistered", "/req/profiles/organisations-resolve",
           "a catalogue entry's lead department is not in the registry",
           _published(_lead_unregistered)),
    Mutant("profile-organisation-invalid", "/req/profiles/organisations-valid",
           "an organisation of the registry has no name", _published(_organisation_without_name)),
    Mutant("profile-code-outside-namespace", "/req/profiles/city-codes",
           "the profile adds a category without the city's prefix",
           _published(_code_outside_namespace)),
    Mutant("profile-extension-untagged", "/req/profiles/extension-schemas",
           "a member of a registered extension has no x-pipl", _published(_extension_untagged)),
    Mutant("profile-extension-unevaluated", "/req/profiles/extension-schemas",
           "a registered extension admits members by a tagged unevaluatedProperties, whose "
           "members redaction cannot find", _published(_extension_unevaluated)),
    Mutant("profile-grid-outside-division", "/req/profiles/grids",
           "a grid lies in a division outside the city's", _published(_grid_elsewhere)),
    Mutant("profile-holiday-worked", "/req/profiles/calendar",
           "a date is both a holiday and a make-up working day", _published(_holiday_worked)),
    Mutant("profile-weekend-every-day", "/req/profiles/calendar",
           "the published calendar works no day of the week", _published(_weekend_every_day)),
    Mutant("profile-unknown-role", "/req/profiles/roles",
           "the role mapping maps a claim to a role the standard does not have",
           _published(_unknown_role)),
    Mutant("profile-indicator-outside-namespace", "/req/profiles/indicators",
           "an indicator the profile adds is not under the city's namespace",
           _published(_indicator_outside_namespace)),
    Mutant("profile-category-deadlines-ignored", "/req/profiles/deadlines",
           "new issues get the default deadlines, not their category's own",
           category_deadlines_ignored),
    Mutant("profile-registry-not-consulted", "/req/profiles/document-organisations",
           "a dispatch to a department outside the registry is taken", registry_not_consulted),
    Mutant("profile-registry-holds-who-acted", "/req/profiles/document-organisations",
           "an issue submitted by staff of an organisation the registry does not list is "
           "taken, and every later write of it refused", registry_holds_who_acted),
    Mutant("profile-extensions-not-validated", "/req/profiles/document-extensions",
           "registered extensions are stored without being checked", extensions_not_validated),
    Mutant("profile-undescribed-member-shown", "/req/profiles/document-extensions",
           "a member the registered extension's schema does not describe is taken and shown "
           "to every audience", undescribed_members_shown),
    Mutant("profile-found-members-shown", "/req/profiles/document-extensions",
           "a member a registered extension's patternProperties admits, tagged personal, is "
           "shown to every audience", found_members_shown),
    Mutant("profile-registry-served-raw", "/req/privacy/public-no-personal",
           "GET /profile serves the organisation registry unredacted: its members' names and "
           "phones reach the public", registry_served_raw),
    Mutant("profile-other-profile-refused", "/req/profiles/document-profile",
           "a document naming another profile is refused, not warned about",
           other_profile_refused),
    Mutant("profile-thresholds-ignored", "/req/profiles/thresholds",
           "votes come out by their own fractions, not the profile's for the form",
           thresholds_ignored),
    Mutant("profile-dispatch-not-routed", "/req/profiles/server-profile",
           "a dispatch naming no department is not routed by the catalogue",
           dispatch_not_routed),
    Mutant("profile-route-unchecked", "/req/core/no-server-error",
           "a malformed dispatch gets 500: the catalogue routes it before it is checked",
           route_unchecked),
    Mutant("profile-deadlines-uppercase-only", "/req/profiles/deadlines",
           "an issue submitted at a time with a lowercase z gets no deadlines",
           deadlines_uppercase_only),
    Mutant("profile-deadlines-frozen", "/req/profiles/deadlines",
           "every write is held to the deadlines as a new issue: a raised urgency is refused",
           deadlines_frozen),
    Mutant("profile-reclassified-deadlines-kept", "/req/profiles/deadlines",
           "an issue whose urgency changes keeps the deadlines of its old urgency",
           reclassified_deadlines_kept),
    Mutant("profile-deadlines-past-year-9999", "/req/profiles/deadlines",
           "an issue whose deadlines fall after the year 9999 gets a server error",
           deadlines_past_year_9999),
    Mutant("profile-holidays-ignored", "/req/profiles/deadlines",
           "working days are counted over holidays as though they were worked",
           _counting_with(_no_holidays)),
    Mutant("profile-make-up-days-ignored", "/req/profiles/deadlines",
           "the weekend days the city works in exchange for a holiday are not counted",
           _counting_with(_no_make_up_days)),
    Mutant("profile-subcategory-deadlines-default", "/req/profiles/deadlines",
           "a category without an entry of its own gets the default deadlines, not its "
           "parent's", _counting_with(_entries_exactly)),
    Mutant("profile-subcategory-not-routed", "/req/profiles/server-profile",
           "a dispatch of a category without an entry of its own is not routed by its "
           "parent's", subcategory_not_routed),
    Mutant("profile-external-ref-ignored", "/req/profiles/external-ref-lookup",
           "GET /issues ignores externalRef", _ignoring("externalRef")),
    Mutant("profile-external-ref-as-written", "/req/profiles/external-ref-lookup",
           "GET /issues?externalRef= compares the system as written, not normalised",
           external_ref_as_written),
    Mutant("profile-grid-ignored", "/req/profiles/grid-filter",
           "GET /issues ignores grid", _ignoring("grid")),
    Mutant("profile-unlisted-grid-answered", "/req/profiles/grid-filter",
           "GET /issues answers for a grid the profile does not list", unlisted_grid_answered),
    Mutant("profile-bbox-ignored", "/req/profiles/bbox-filter",
           "GET /issues ignores bbox", _ignoring("bbox")),
]
