"""Reading an export of an existing Open311 system: a GeoReport v2 ``GET requests`` answer
saved as JSON (an array of requests) or XML (``service_requests``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import Open311Error
from ..validation import message
from ._community import community_of
from ._convert import request_to_issue
from ._mapping import mapping
from ._services import Catalogue
from ._xml import from_xml

__all__ = ["ImportReport", "import_requests", "read_export"]

UNREADABLE = "open311.unreadable-export"


def read_export(data: bytes, version: str) -> list[dict[str, Any]]:
    """The service requests of an export; :class:`Open311Error` when it is neither form."""
    spec = mapping(version).spec

    def fail(detail: str) -> Open311Error:
        return Open311Error(detail, [{"pointer": "", "code": UNREADABLE,
                                      "message": message(spec, UNREADABLE, detail=detail)}])

    head = data.lstrip()[:1]
    if head in (b"[", b"{"):
        try:
            parsed = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise fail(f"JSON: {exc}") from None
        if isinstance(parsed, Mapping):  # some systems wrap the array
            parsed = parsed.get("service_requests", parsed.get("requests"))
        if not isinstance(parsed, list) or not all(isinstance(r, Mapping) for r in parsed):
            raise fail("JSON that is not an array of requests")
        return [dict(r) for r in parsed]
    try:
        root, items = from_xml(data)
    except ValueError as exc:
        raise fail(f"XML: {exc}") from None
    if root != "service_requests":
        raise fail(f"XML root <{root}>, not <service_requests>")
    return items


@dataclass(slots=True)
class ImportReport:
    """What an import made of each request: issues, refusals, and every loss by field."""

    issues: list[dict[str, Any]] = field(default_factory=list)
    #: (index in the export, service_request_id, problems)
    refused: list[tuple[int, str | None, list[dict[str, Any]]]] = field(default_factory=list)
    #: Open311 field → how many requests lost it
    lost: dict[str, int] = field(default_factory=dict)
    #: Open311 field → why it is lost (both languages)
    reasons: dict[str, Mapping[str, str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "imported": len(self.issues), "refused": [
                {"index": i, "service_request_id": rid, "problems": p}
                for i, rid, p in self.refused],
            "lost": [{"field": f, "requests": n, "why": self.reasons[f]}
                     for f, n in sorted(self.lost.items())],
        }


def import_requests(requests: list[dict[str, Any]], catalogue: Catalogue, *,
                    community: str | None, role: str, system: str,
                    progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Issues for the requests of an export. Each keeps the request's id as an external
    reference of ``system`` (the Open311 system's URI), so a second import is recognised.

    Every issue belongs to ``community``; without one, each request's own
    ``jurisdiction_id``, ``address_id`` or point in the profile's grids decides
    (:func:`community_of`), and a request they leave ambiguous is refused."""
    report = ImportReport()
    for index, request in enumerate(requests):
        rid = request.get("service_request_id")
        try:
            where = community or community_of(request, catalogue, None)
            converted = request_to_issue(request, catalogue, community=where, role=role,
                                         strict=False)
        except Open311Error as exc:
            report.refused.append((index, None if rid is None else str(rid), exc.problems))
        else:
            issue = converted.value
            if rid not in (None, ""):
                issue["externalRefs"] = [{"system": system, "value": str(rid)}]
            report.issues.append(issue)
            for name, why in converted.lost.items():
                report.lost[name] = report.lost.get(name, 0) + 1
                report.reasons[name] = why
        if progress is not None:
            progress(index + 1, len(requests))
    return report


