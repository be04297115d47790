"""Which community an Open311 request belongs to.

GeoReport v2 requests name no community, but every issue has one. A credential serving one
community files there; for a credential serving several, the request itself must say where:
``jurisdiction_id`` naming a community, ``address_id`` naming a grid of the city profile, or
``lat``/``long`` inside a grid's polygon. What is still ambiguous is refused, never guessed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from ..exceptions import Open311Error
from ..validation import message
from ._mapping import mapping
from ._services import Catalogue

__all__ = ["community_of", "inside", "named_community"]

NO_COMMUNITY = "open311.no-community"


def _division_pattern(catalogue: Catalogue) -> re.Pattern[str]:
    spec = mapping(catalogue.version).spec
    return re.compile(str(spec.schema("datatypes.json")["$defs"]["divisionCode"]["pattern"]))


def named_community(given: str | None, catalogue: Catalogue) -> str | None:
    """The community ``jurisdiction_id`` names: None when it is absent or the profile's URI
    (the whole city), the code when it is a community's division code. LookupError for
    anything else."""
    if not given or given == catalogue.jurisdiction:
        return None
    if _division_pattern(catalogue).fullmatch(given):
        return given
    raise LookupError(given)


def _in_ring(lon: float, lat: float, ring: Sequence[Sequence[float]]) -> bool:
    """Even-odd ray casting: whether the point is inside one closed ring."""
    found = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            found = not found
    return found


def inside(lat: float, lon: float, geometry: Mapping[str, Any]) -> bool:
    """Whether a WGS-84 point lies in a GeoJSON Polygon or MultiPolygon (holes excluded)."""
    coords = geometry.get("coordinates") or []
    polygons = coords if geometry.get("type") == "MultiPolygon" else [coords]
    for polygon in polygons:
        rings = [[(float(p[0]), float(p[1])) for p in ring] for ring in polygon]
        # A hole flips the parity again, so counting over every ring excludes it.
        if sum(_in_ring(lon, lat, ring) for ring in rings) % 2:
            return True
    return False


def _point(fields: Mapping[str, Any]) -> tuple[float, float] | None:
    try:
        lat, lon = float(str(fields.get("lat"))), float(str(fields.get("long")))
    except ValueError:
        return None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def _where(grids: Iterable[tuple[str, str, Mapping[str, Any] | None]],
           fields: Mapping[str, Any]) -> tuple[str | None, set[str]]:
    """The community of the grid ``address_id`` names, and those whose grid polygons hold the
    request's point."""
    address = str(fields.get("address_id") or "").strip()
    point = _point(fields)
    named = None
    around: set[str] = set()
    for code, division, geometry in grids:
        if address and code == address:
            named = division
        if point is not None and geometry and inside(*point, geometry):
            around.add(division)
    return named, around


def community_of(fields: Mapping[str, Any], catalogue: Catalogue,
                 serves: Collection[str] | None) -> str:
    """The community of the request ``fields`` filed by a credential serving ``serves`` (None:
    every community), in this order: the community ``jurisdiction_id`` names; the community of
    the grid ``address_id`` names; the one community the credential serves; the one served
    community whose grid polygon holds ``lat``/``long``. Whether the credential may file there
    is the native create's to decide. :class:`Open311Error` (``open311.no-community``) when
    the request leaves it ambiguous."""
    try:
        named = named_community(str(fields.get("jurisdiction_id") or "") or None, catalogue)
    except LookupError:
        named = None  # an unknown jurisdiction is refused as such before this is asked
    if named is not None:
        return named
    by_address, around = _where(catalogue.grids, fields)
    if by_address is not None:
        return by_address
    if serves is not None and len(serves) == 1:
        return next(iter(serves))
    candidates = around if serves is None else around & set(serves)
    if len(candidates) == 1:
        return candidates.pop()
    if candidates:
        zh, en = "该位置在多个社区的网格内", "the point lies in grids of several communities"
    else:
        zh = ("请求没有指明社区：请以 jurisdiction_id 给出社区的区划代码，或以 address_id "
              "给出网格，或给出位于网格内的 lat/long")
        en = ("the request names no community; name one as jurisdiction_id (its division "
              "code), give an address_id naming a grid, or a lat/long inside a grid")
    spec = mapping(catalogue.version).spec
    said = {"zh-Hans": message(spec, NO_COMMUNITY, detail=zh)["zh-Hans"],
            "en": message(spec, NO_COMMUNITY, detail=en)["en"]}
    problem = {"pointer": "/jurisdiction_id", "code": NO_COMMUNITY, "message": said}
    raise Open311Error("the Open311 request names no community", [problem])
