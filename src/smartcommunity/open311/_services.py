"""Open311 services and service definitions from the city's service catalogue.

With a :class:`~smartcommunity.profiles.Profile` the services are its catalogue entries; without
one, every code of the spec's ``issue-category`` codelist is a service with no attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..specification import DEFAULT_VERSION
from ._mapping import mapping

if TYPE_CHECKING:
    from ..profiles import Profile

__all__ = ["Catalogue", "catalogue"]

_CATEGORIES = "issue-category"


def _text(value: Mapping[str, str] | None, lang: str) -> str:
    if not value:
        return ""
    return value.get(lang) or value.get("zh-Hans") or next(iter(value.values()), "")


@dataclass(frozen=True, slots=True)
class Catalogue:
    """What an Open311 client sees of the catalogue: services and their definitions."""

    version: str
    #: category → (name by language, attributes, keywords)
    entries: Mapping[str, tuple[Mapping[str, str], tuple[Mapping[str, Any], ...], tuple[str, ...]]]
    #: the profile's URI (Open311 ``jurisdiction_id``), None without a profile
    jurisdiction: str | None = None
    titles: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: the profile's grids: (code, community division code, GeoJSON polygon or None)
    grids: tuple[tuple[str, str, Mapping[str, Any] | None], ...] = ()

    def __contains__(self, code: object) -> bool:
        return code in self.entries

    def name(self, code: str, lang: str = "zh-Hans") -> str:
        """The service name of ``code``: its catalogue name, else its codelist title."""
        entry = self.entries.get(code)
        return _text(entry[0] if entry else None, lang) or _text(self.titles.get(code), lang)

    def attributes(self, code: str) -> tuple[Mapping[str, Any], ...]:
        entry = self.entries.get(code)
        return entry[1] if entry else ()

    def services(self, lang: str = "zh-Hans") -> list[dict[str, Any]]:
        """GET services: one object per service, in catalogue order."""
        spec = mapping(self.version).spec
        codes = spec.codelist(_CATEGORIES).entries
        out = []
        for code, (_, attributes, keywords) in self.entries.items():
            entry = codes.get(code)
            parent = code.split(".", 1)[0]
            out.append({
                "service_code": code,
                "service_name": self.name(code, lang),
                "description": (entry.description_zh if lang.startswith("zh")
                                else entry.description_en) if entry else "",
                "metadata": bool(attributes),
                "type": "realtime",
                "keywords": ",".join(keywords),
                "group": _text(self.titles.get(parent), lang) if parent != code else "",
            })
        return out

    def definition(self, code: str, lang: str = "zh-Hans") -> dict[str, Any] | None:
        """GET services/{code}: the service definition (None for an unknown code)."""
        if code not in self.entries:
            return None
        attrs = sorted(self.attributes(code), key=lambda a: (a.get("order", 0), a["code"]))
        out = []
        for i, a in enumerate(attrs, start=1):
            item: dict[str, Any] = {
                "variable": True, "code": a["code"], "datatype": a["datatype"],
                "required": bool(a.get("required", False)),
                "datatype_description": "",
                "order": int(a.get("order", i)),
                "description": _text(a.get("description"), lang),
            }
            if a.get("values"):
                item["values"] = [{"key": v["key"], "name": _text(v.get("name"), lang)}
                                  for v in a["values"]]
            out.append(item)
        return {"service_code": code, "attributes": out}


def catalogue(profile: Profile | None = None, version: str | None = None) -> Catalogue:
    """The Open311 view of ``profile``'s service catalogue, else of the spec's categories."""
    version = version or (profile.spec_version if profile is not None else DEFAULT_VERSION)
    spec = mapping(version).spec
    codes = spec.codelist(_CATEGORIES).entries
    titles = {c: {"zh-Hans": e.title_zh, "en": e.title_en} for c, e in codes.items()}
    if profile is None:
        plain: dict[str, tuple[Mapping[str, str], tuple[Mapping[str, Any], ...], tuple[str, ...]]]
        plain = {c: (titles[c], (), ()) for c in codes if "." in c}
        return Catalogue(version, plain, None, titles)
    for code, row in profile.codes.get(_CATEGORIES, {}).items():
        titles.setdefault(code, {"zh-Hans": str(row.get("title", {}).get("zh-Hans", code)),
                                 "en": str(row.get("title", {}).get("en", code))}
                          if isinstance(row.get("title"), Mapping) else {"zh-Hans": code})
    raw = {s["category"]: s for s in profile.data.get("services", ())}
    entries = {
        code: (dict(service.name) or titles.get(code, {}), tuple(service.attributes),
               tuple(raw.get(code, {}).get("keywords", ())))
        for code, service in profile.services.items()}
    grids = tuple((str(g["code"]), str(g["divisionCode"]), g.get("geometry"))
                  for g in profile.grids.values())
    return Catalogue(version, entries, profile.id, titles, grids)
