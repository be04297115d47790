"""The Open311 mapping as the spec publishes it (``mappings/open311.json``)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..specification import DEFAULT_VERSION, Spec, load_spec, per_spec_tree

__all__ = ["Mapping311", "mapping"]


@dataclass(frozen=True)
class Mapping311:
    """The machine-readable tables of the Open311 GeoReport v2 mapping of one spec version.

    One instance per spec tree is cached, so the tables derived per conversion are built once
    (a listing converts every issue it answers)."""

    raw: Mapping[str, Any]
    spec: Spec

    @property
    def prefix(self) -> str:
        return str(self.raw["prefix"])

    @property
    def formats(self) -> Mapping[str, str]:
        return dict(self.raw["formats"])

    @property
    def extension_key(self) -> str:
        return str(self.raw["extensionKey"])

    @property
    def datatypes(self) -> frozenset[str]:
        return frozenset(self.raw["datatypes"])

    @property
    def resource_type(self) -> str:
        return str(self.raw["resourceType"])

    @property
    def crs(self) -> str:
        """The coordinate system of Open311's lat/long."""
        return str(self.raw["crs"])

    def crs_method(self, crs: str | None) -> str | None:
        """How a point in ``crs`` becomes WGS-84 (None: it cannot)."""
        found = self.raw["crsMethods"].get(crs)
        return None if found is None else str(found)

    @property
    def imported_status(self) -> str:
        """The status every issue made from an Open311 request starts in."""
        return str(self.raw["importedStatus"])

    @property
    def title_language(self) -> str:
        """The language of the service name an issue made from an Open311 request is titled
        with: never the request's own text, which may be personal (/req/open311/mapping)."""
        return str(self.raw["titleLanguage"])

    @property
    def open311_statuses(self) -> frozenset[str]:
        """Open311's status values (``open``, ``closed``)."""
        return frozenset(self.raw["statuses"].values())

    def open_or_closed(self, status: str) -> str:
        """``open`` or ``closed``: the Open311 status of an issue status."""
        return str(self.raw["statuses"][status])

    def statuses_of(self, open311: str) -> frozenset[str]:
        """The issue statuses that read as ``open311`` (``open`` or ``closed``)."""
        return frozenset(s for s, o in self.raw["statuses"].items() if o == open311)

    @property
    def max_requests(self) -> int:
        """The most requests one GET requests answers (its page size at most)."""
        return int(self.raw["paging"]["maxRequests"])

    @property
    def paging(self) -> tuple[str, str]:
        """The query parameters naming the page (from 1) and the page size."""
        table = self.raw["paging"]
        return str(table["page"]), str(table["pageSize"])

    @functools.cached_property
    def lost_to_open311(self) -> Mapping[str, Mapping[str, str]]:
        """Issue member pointer → why Open311 cannot carry it (both languages)."""
        return {e["member"]: {"zh-Hans": e["zh-Hans"], "en": e["en"]}
                for e in self.raw["lost"]["toOpen311"]}

    @functools.cached_property
    def lost_members(self) -> tuple[tuple[str, str, Mapping[str, str]], ...]:
        """(top-level member name, its pointer, why it is lost) of :attr:`lost_to_open311`."""
        return tuple((m.lstrip("/"), m, why) for m, why in self.lost_to_open311.items())

    @functools.cached_property
    def lost_to_issue(self) -> Mapping[str, Mapping[str, str]]:
        """Open311 field → why an issue does not take it (both languages)."""
        return {e["field"]: {"zh-Hans": e["zh-Hans"], "en": e["en"]}
                for e in self.raw["lost"]["toIssue"]}


@per_spec_tree
def _load(version: str) -> Mapping311:
    spec = load_spec(version)
    path = spec.folder / "mappings" / "open311.json"
    return Mapping311(json.loads(path.read_text(encoding="utf-8")), spec)


def mapping(version: str = DEFAULT_VERSION) -> Mapping311:
    """The Open311 mapping of spec ``version`` (LookupError when the version has none)."""
    try:
        return _load(version)
    except FileNotFoundError:
        raise LookupError(f"spec {version} has no Open311 mapping") from None
