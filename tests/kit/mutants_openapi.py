"""Broken variants whose responses leave the OpenAPI (/req/core/openapi-responses), one
defect each; HTTP clients that follow the declaration are what they break."""

from __future__ import annotations

from typing import Any

import pytest

from .mutants import Mutant, Rewrite, _header

REQUIREMENT = "/req/core/openapi-responses"
#: checks whose requests make the responses the defects are in, then the OpenAPI check
CREATES = ("/req/core/create-read-back", REQUIREMENT)
LISTS = ("/req/core/paging", REQUIREMENT)


def created_without_location(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Answers 201 Created without the Location header."""

    def edit(scope: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        if status == 201:
            headers = [(k, v) for k, v in headers if k.lower() != b"location"]
        return status, headers, body

    return Rewrite(app, edit)


def location_names_another_resource(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Answers 201 Created with the Location of the resource created before it (a real one,
    so a client following it reads a record, only not the one it made)."""
    previous: dict[bytes, bytes] = {}

    def edit(scope: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        location = _header(headers, b"location")
        if status == 201 and location is not None:
            collection = location.rsplit(b"/", 1)[0]
            other = previous.get(collection,
                                 collection + b"/00000000-0000-4000-8000-000000000000")
            previous[collection] = location
            headers = [(k, other if k.lower() == b"location" else v) for k, v in headers]
        return status, headers, body

    return Rewrite(app, edit)


def list_page_undeclared_status(app: Any, mp: pytest.MonkeyPatch) -> Any:
    """Answers a page of a listing with 203 Non-Authoritative Information, a status the
    OpenAPI does not declare for it (the body is the right page)."""

    def edit(scope: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        if (status == 200 and scope["method"] == "GET" and scope["path"].count("/") == 1
                and b'"items"' in body[:16]):
            return 203, headers, body
        return status, headers, body

    return Rewrite(app, edit)


MUTANTS: list[Mutant] = [
    Mutant("created-without-location", REQUIREMENT, "201 Created without Location",
           created_without_location, CREATES),
    Mutant("location-names-another-resource", REQUIREMENT,
           "201 Created whose Location names another resource",
           location_names_another_resource, CREATES),
    Mutant("list-page-undeclared-status", REQUIREMENT,
           "a listing's page answered with 203, which the OpenAPI does not declare",
           list_page_undeclared_status, LISTS),
]
