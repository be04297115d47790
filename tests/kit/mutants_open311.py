"""Broken variants of the Open311 bridge (/conf/open311), one defect per requirement.

The bridge's helpers are looked up when a call runs, so each mutant replaces one of them in
``reference_server.open311``; the library the kit itself uses is never touched.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from reference_server import open311 as bridge
from reference_server.errors import problem_response
from reference_server.storage import Tx
from smartcommunity.open311 import Conversion, mapping

from .harness import kit_token
from .mutants import Mutant, Rewrite


class _NoDefinitions:
    """A catalogue whose services have no definitions."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __contains__(self, code: object) -> bool:
        return code in self.inner

    def definition(self, code: str, lang: str = "zh-Hans") -> None:
        return None


class _DropsRequired(_NoDefinitions):
    """A catalogue whose service definitions leave out their required attributes."""

    def definition(self, code: str, lang: str = "zh-Hans") -> Any:
        found = self.inner.definition(code, lang)
        if found is not None:
            found["attributes"] = [a for a in found["attributes"] if not a["required"]]
        return found


def definition_drops_required(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = bridge._catalogue
    mp.setattr(bridge, "_catalogue", lambda request: _DropsRequired(original(request)))
    return app


def definitions_missing(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = bridge._catalogue
    mp.setattr(bridge, "_catalogue", lambda request: _NoDefinitions(original(request)))
    return app


def create_changes_category(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = bridge.request_to_issue

    def convert(fields: Any, catalogue: Any, **kw: Any) -> Conversion:
        made = original(fields, catalogue, **kw)
        made.value["category"] = sorted(catalogue.entries)[-1]
        return made

    mp.setattr(bridge, "request_to_issue", convert)
    return app


def status_filter_ignored(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = bridge._listed
    mp.setattr(bridge, "_listed",
               lambda request, name: [] if name == "status" else original(request, name))
    return app


def anonymous_reads_as_staff(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = bridge._principal
    staff = kit_token("demo-staff-liu-fang")

    def principal(request: Any, key: str | None, *, required: bool) -> Any:
        return original(request, key or staff, required=required)

    mp.setattr(bridge, "_principal", principal)
    return app


def errors_as_problems(app: Any, mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(bridge, "_fail", lambda fmt, error, version: problem_response(error, version))
    return app


def xml_drops_service_code(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = bridge.to_xml

    def to_xml(root: str, body: Any) -> bytes:
        if isinstance(body, list):
            body = [{k: v for k, v in i.items() if k != "service_code"} for i in body]
        return original(root, body)

    mp.setattr(bridge, "to_xml", to_xml)
    return app


def requested_is_updated(app: Any, mp: pytest.MonkeyPatch) -> Any:
    original = bridge.issue_to_request

    def convert(issue: Any, catalogue: Any, **kw: Any) -> Conversion:
        made = original(issue, catalogue, **kw)
        made.value["requested_datetime"] = made.value["updated_datetime"]
        return made

    mp.setattr(bridge, "issue_to_request", convert)
    return app


def upload_dropped(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Files the request and silently drops its uploaded file."""
    from email.parser import BytesParser
    from email.policy import HTTP

    def text_parts(request: Any, header: str, body: bytes) -> list[tuple[str, str]]:
        parsed = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + header.encode("latin-1") + b"\r\n\r\n" + body)
        return [(str(p.get_param("name", header="content-disposition")),
                 p.get_payload(decode=True).decode("utf-8"))
                for p in parsed.iter_parts() if p.get_filename() is None]

    mp.setattr(bridge, "_multipart", text_parts)
    return app


def one_community_only(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Files only for a credential of one community, whatever the request names."""

    def community(request: Any, principal: Any, form: Any) -> str:
        if principal.every_community or len(principal.communities) != 1:
            raise bridge._refuse(request, "open311.no-community", "/api_key",
                                 detail="the api_key serves several communities")
        return str(next(iter(principal.communities)))

    mp.setattr(bridge, "_community", community)
    return app


def page_ignored(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Answers the first page whatever page is asked for, while still linking a next one."""
    original = bridge._paging
    mp.setattr(bridge, "_paging", lambda request: (1, original(request)[1]))
    return app


def repeated_field_kept(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Collects a form field given twice into a list, as for attribute[code][]: the name is
    stored as the list's text, the description dropped, a second jurisdiction_id a 500."""

    def collect(request: Any, pairs: Any) -> dict[str, Any]:
        form: dict[str, Any] = {}
        for key, value in pairs:
            if key in form:
                prior = form[key]
                form[key] = [*prior, value] if isinstance(prior, list) else [prior, value]
            else:
                form[key] = [value] if key.endswith("[]") else value
        return form

    mp.setattr(bridge, "_collect", collect)
    return app


def repeated_field_last_wins(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Takes the last value of a form field given twice, as a plain dict would."""
    original = bridge._collect
    mp.setattr(bridge, "_collect",
               lambda request, pairs: original(request, dict(pairs).items()))
    return app


def query_field_overrides_form(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Reads the form alone, then lets the query string's api_key and jurisdiction_id take
    the place of the form's: a field given in both is filed with the query's value."""
    original = bridge._collect

    def collect(request: Any, pairs: Any) -> dict[str, Any]:
        query = dict(bridge._in_query(request))
        form = original(request, [(k, v) for k, v in pairs if k not in query])
        return {**form, **query}

    mp.setattr(bridge, "_collect", collect)
    return app


def ids_reach_storage(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Passes ids, tokens and service codes to storage unchecked, on a storage that holds no
    NUL, as PostgreSQL: requests/%00.json is a 500 and ?service_request_id=%00 an empty list."""
    mp.setattr(bridge, "_declared", lambda request, path, method: None)
    get, page = Tx.get, Tx.page

    def refuse_nul(value: Any) -> None:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("PostgreSQL text fields cannot contain NUL (0x00) bytes")

    def get_(self: Tx, rtype: str, rid: str) -> Any:
        refuse_nul(rid)
        return get(self, rtype, rid)

    def page_(self: Tx, rtype: str, query: Any, *args: Any, **kwargs: Any) -> Any:
        refuse_nul(query.category)
        return page(self, rtype, query, *args, **kwargs)

    mp.setattr(Tx, "get", get_)
    mp.setattr(Tx, "page", page_)
    return app


def attributes_read_as_pairs(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Reads a form's ``attributes`` as a mapping, as dict() would: attributes=x is a 500."""
    original = bridge.request_to_issue

    def convert(fields: Any, catalogue: Any, **kw: Any) -> Conversion:
        dict(fields.get("attributes") or {})
        return original(fields, catalogue, **kw)

    mp.setattr(bridge, "request_to_issue", convert)
    return app


def id_list_uncapped(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Answers every id service_request_id lists, however many."""
    mp.setattr(bridge, "_wanted", lambda request: list(dict.fromkeys(
        bridge._listed(request, "service_request_id"))))
    return app


def id_list_repeats(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Answers an id service_request_id lists twice twice."""
    original = bridge._wanted

    def wanted(request: Any) -> list[str]:
        capped = set(original(request))  # still refuses more than maxRequests distinct ids
        return [i for i in bridge._listed(request, "service_request_id") if i in capped]

    mp.setattr(bridge, "_wanted", wanted)
    return app


def date_window_overflows(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Takes start_date and end_date as given and moves them 90 days without a bound: a date at
    either end of the calendar is a 500."""
    from datetime import timedelta

    from smartcommunity.participation import moment

    def window(request: Any) -> tuple[Any, Any]:
        start, end = (moment(request.query_params.get(n) or "")
                      for n in ("start_date", "end_date"))
        if start is None and end is None:
            end = bridge.now_cst()
        start = start or end - timedelta(days=90)
        end = end or start + timedelta(days=90)
        if end < start or end - start > timedelta(days=90):
            raise bridge._invalid(request, "end_date", en="more than 90 days", zh="超过 90 天")
        return start, end

    mp.setattr(bridge, "_window", window)
    return app


def title_from_first_line(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Titles the issue with the first line of description, the rest its description: what a
    resident types first (her name, her phone) is published with the issue."""
    original = bridge.request_to_issue

    def convert(fields: Any, catalogue: Any, **kw: Any) -> Conversion:
        made = original(fields, catalogue, **kw)
        first, _, rest = str(made.value.get("description") or "").partition("\n")
        if first.strip():
            made.value["title"] = first.strip()[:200]
            if rest.strip():
                made.value["description"] = rest.strip()
            else:
                made.value.pop("description")
        return made

    mp.setattr(bridge, "request_to_issue", convert)
    return app


def token_unchecked(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Answers a token for any stored issue, whoever asks: an anonymous caller learns that
    an unpublished issue exists."""

    def readable(request: Any, principal: Any, rid: str) -> bool:
        service = bridge._state(request).service
        with service.store.read() as tx:
            return tx.get(bridge._issue(request), rid) is not None

    mp.setattr(bridge, "_readable", readable)
    return app


def id_from_idempotency_key(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Makes the id of a request filed with an Idempotency-Key a UUID of the principal and
    the key: whoever knows a resident's record id can foresee her issue's id and take it."""
    original = bridge._filing

    def filing(service: Any, rtype: str, principal: Any, key: str | None) -> tuple[str, str]:
        rid, at = original(service, rtype, principal, key)
        if key is None:
            return rid, at
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{principal.key}/{key}")), at

    mp.setattr(bridge, "_filing", filing)
    return app


def not_a_form_says_json(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Words the 415 of a JSON body with the standard's API template: it must be JSON."""
    from reference_server.errors import UnsupportedMediaType

    mp.setattr(bridge, "_not_a_form", lambda media: UnsupportedMediaType(given=media))
    return app


def bridge_undeclared_status(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Answers the bridge's reads with 203 Non-Authoritative Information, a status the
    OpenAPI does not declare for them (the body is the right one)."""
    prefix = mapping("1.0").prefix

    def edit(scope: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        if status == 200 and scope["method"] == "GET" and scope["path"].startswith(prefix):
            return 203, headers, body
        return status, headers, body

    return Rewrite(app, edit)


MUTANTS: list[Mutant] = [
    Mutant("open311-undeclared-status", "/req/core/openapi-responses",
           "the bridge answers its reads with 203, which the OpenAPI does not declare",
           bridge_undeclared_status, ("/req/open311/services", "/req/core/openapi-responses")),
    Mutant("open311-definitions-missing", "/req/open311/services",
           "the services are listed but none has a service definition", definitions_missing),
    Mutant("open311-definition-drops-required", "/req/open311/services",
           "a service definition leaves out the catalogue's required attributes",
           definition_drops_required),
    Mutant("open311-create-changes-category", "/req/open311/create",
           "a request filed through Open311 is stored under another category",
           create_changes_category),
    Mutant("open311-repeated-field-kept", "/req/open311/create",
           "a form field given twice is kept as a list: the name stored as its text, the "
           "description dropped, a second jurisdiction_id or api_key a 500",
           repeated_field_kept),
    Mutant("open311-repeated-field-last-wins", "/req/open311/create",
           "a form field given twice is filed with its last value", repeated_field_last_wins),
    Mutant("open311-query-field-overrides-form", "/req/open311/create",
           "api_key or jurisdiction_id given in both the query string and the form is filed "
           "with the query's value", query_field_overrides_form),
    Mutant("open311-date-window-overflows", "/req/open311/read",
           "a start_date or end_date at either end of the calendar is a 500",
           date_window_overflows),
    Mutant("open311-id-list-uncapped", "/req/open311/paging",
           "service_request_id answers any number of ids, past maxRequests", id_list_uncapped),
    Mutant("open311-id-list-repeats", "/req/open311/paging",
           "service_request_id answers an id listed twice twice", id_list_repeats),
    Mutant("open311-not-a-form-says-json", "/req/open311/errors",
           "the 415 of a JSON body says the body must be JSON", not_a_form_says_json),
    Mutant("open311-upload-dropped", "/req/open311/media",
           "a multipart POST with an uploaded file is filed without it, the file lost",
           upload_dropped),
    Mutant("open311-one-community-only", "/req/open311/community",
           "a credential serving several communities cannot file, whatever the request names",
           one_community_only),
    Mutant("open311-status-filter-ignored", "/req/open311/read",
           "GET requests ignores the status filter", status_filter_ignored),
    Mutant("open311-page-ignored", "/req/open311/paging",
           "GET requests answers the first page whatever page is asked for", page_ignored),
    Mutant("open311-anonymous-reads-as-staff", "/req/open311/public-read",
           "an Open311 read without api_key is answered as community staff",
           anonymous_reads_as_staff),
    Mutant("open311-ids-reach-storage", "/req/open311/errors",
           "an id, token or service code with a NUL reaches storage: a 500 where PostgreSQL "
           "holds no NUL", ids_reach_storage),
    Mutant("open311-attributes-read-as-pairs", "/req/open311/errors",
           "a form's attributes=x is read as an object of attributes: a 500",
           attributes_read_as_pairs),
    Mutant("open311-errors-as-problems", "/req/open311/errors",
           "the bridge answers errors as problem+json, not GeoReport error lists",
           errors_as_problems),
    Mutant("open311-xml-drops-service-code", "/req/open311/formats",
           "the XML answers leave out service_code", xml_drops_service_code),
    Mutant("open311-requested-is-updated", "/req/open311/mapping",
           "requested_datetime carries the last update, not the submission",
           requested_is_updated),
    Mutant("open311-title-from-first-line", "/req/open311/mapping",
           "the first line of description becomes the issue's title, which is published",
           title_from_first_line),
    Mutant("open311-token-unchecked", "/req/open311/read",
           "a token lookup answers anyone for any stored issue, unpublished ones included",
           token_unchecked),
    Mutant("open311-id-from-idempotency-key", "/req/open311/create",
           "the id of a request filed with an Idempotency-Key is a UUID of the principal and "
           "the key, which others can foresee and take", id_from_idempotency_key),
]
