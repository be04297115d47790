"""What the server indexes about each resource type: which members fill which columns and terms.

This table is the one place in storage that says anything per resource type; it is data keyed
by resource type, and the rest of storage (deriving the columns, list filters, read scopes, the
change feed's department scope) reads it through :func:`index_of`. A resource type the table
does not name is still stored, listed and fed; it only has no community, so just the readers of
every community see it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from smartcommunity.uris import normalise_uri

__all__ = ["COMMUNITY", "CONSULTATION", "DEPARTMENT", "INDEXES", "NAMED", "PUBLISHED",
           "PUBLISHED_GRID", "PUBLISHED_VALUE", "TERM_LENGTH", "VISIBILITY", "Index", "Path",
           "Terms", "bbox_terms", "external_ref_key", "index_of", "point_terms"]

#: member names from the document root; None stands for every item of an array
Path = tuple[str | None, ...]

# Kinds of filter term. They are stored in ``resource_terms.kind``, so a rename needs a migration.
COMMUNITY = "community"
DEPARTMENT = "department"
GRID = "grid"
PSEUDONYM = "pseudonym"
PROXY = "proxy"
PROXY_USER = "proxy-user"
CATEGORY = "category"
ISSUE = "issue"
EXTERNAL_REF = "external-ref"
LONGITUDE = "lon"
LATITUDE = "lat"
CONSULTATION = "consultation"
#: the id of a resident a record names (her erasure reaches it; see :mod:`._privacy`)
NAMED = "named-resident"
#: a record its publication decision publishes (the value is always PUBLISHED_VALUE)
PUBLISHED = "published"
PUBLISHED_VALUE = "true"
#: the grid of a record published down to its grid: all of its grid that the publication
#: audiences receive, so their ``?grid=`` reads these (/req/privacy/filter-what-is-seen)
PUBLISHED_GRID = "published-grid"
#: the visibility code that limits a record's readers (/req/privacy/visibility)
VISIBILITY = "visibility"


@dataclass(frozen=True, slots=True)
class Terms:
    """Filter terms of one ``kind``: every string at ``path``.

    With ``until``, the value's object also names the last day the term is in force (a grid
    membership that has ended no longer puts a resident in the grid). With ``joins``, the term
    is the value and that member of the same object, as :func:`external_ref_key` writes them
    (an external reference is its system and its value together). With ``area``, the term is
    written only while the record's publication decision publishes it down to that level of
    place: what the publication audiences are given of the member.
    """

    kind: str
    path: Path
    until: str | None = None
    joins: str | None = None
    area: str | None = None


@dataclass(frozen=True, slots=True)
class Index:
    """Which members of one resource type's documents the server indexes.

    ``community`` names where the communities are: when the path reaches one value it fills the
    ``community`` column (lists filter and scope on it); when it reaches many (through an array)
    each becomes a term. ``keeps_communities``: a document naming none (an erased record) keeps
    those its stored version had, or else the one at ``community_fallback`` when that is a
    community's division code. ``departments``: departments assigned, which scope a department's
    reading. ``columns``: other columns, by column name (paths through members only, no
    array). ``self_scope``: the kinds of term naming the resident a proxy acts for and the
    proxy's user id; a resident reading this type sees its own record and those it acts for.
    """

    community: Path | None = None
    keeps_communities: bool = False
    community_fallback: Path | None = None
    departments: Path | None = None
    columns: Mapping[str, Path] = field(default_factory=dict)
    terms: tuple[Terms, ...] = ()
    self_scope: tuple[str, str] | None = None
    #: a geo-point.json object whose coarse coordinates become terms (``?bbox=``)
    point: Path | None = None

    @property
    def many_communities(self) -> bool:
        """Whether the communities are terms rather than the ``community`` column."""
        return self.community is not None and None in self.community


#: another system's identifiers of a record (``?externalRef=SYSTEM|VALUE``)
_EXTERNAL_REFS = Terms(EXTERNAL_REF, ("externalRefs", None, "system"), joins="value")
#: the grid of coordinates point terms snap to, in degrees: a bounding box finds a record to
#: within this, never more precisely (the public see only a coarse location)
POINT_STEP = 0.01
#: how long the term of an external reference may be before it is stored as a digest
TERM_LENGTH = 160


def external_ref_key(system: str, value: str) -> str:
    """The term of an external reference: ``SYSTEM|VALUE``, or its SHA-256 when too long for
    a term (a lookup computes the same key, so long references are found exactly too). The
    system is in its RFC 3986 normal form, so that any spelling of it finds the reference
    (/req/profiles/external-ref-lookup); the value is kept as written."""
    key = f"{normalise_uri(system)}|{value}"
    if len(key) <= TERM_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def point_terms(crs: str, longitude: float, latitude: float) -> tuple[str, str]:
    """The longitude and latitude terms of a point in ``crs``, snapped to
    :data:`POINT_STEP`: fixed-width text that sorts as the numbers do, so a bounding box is
    two range scans of the term index."""
    lon = round(round(longitude / POINT_STEP) * POINT_STEP + 180, 2)
    lat = round(round(latitude / POINT_STEP) * POINT_STEP + 90, 2)
    return f"{crs}:{lon:06.2f}", f"{crs}:{lat:06.2f}"


def bbox_terms(crs: str, west: float, south: float, east: float, north: float
               ) -> tuple[tuple[str, str], tuple[str, str]]:
    """The (low, high) longitude and latitude terms of the points :func:`point_terms` snaps
    inside the box: its edges move inwards to the next step."""
    def inward(low: float, high: float, shift: float) -> tuple[float, float]:
        # Rounded first, so that 116.45 / 0.01 = 11644.999… is the step 11645.
        a, b = round(low / POINT_STEP, 6), round(high / POINT_STEP, 6)
        return (round(math.ceil(a) * POINT_STEP + shift, 2),
                round(math.floor(b) * POINT_STEP + shift, 2))

    lon, lat = inward(west, east, 180), inward(south, north, 90)
    return ((f"{crs}:{lon[0]:06.2f}", f"{crs}:{lon[1]:06.2f}"),
            (f"{crs}:{lat[0]:06.2f}", f"{crs}:{lat[1]:06.2f}"))


#: The indexes of the resource types, keyed by resource type.
INDEXES: Mapping[str, Index] = MappingProxyType({
    "Resident": Index(
        community=("memberships", None, "community"),
        keeps_communities=True,
        community_fallback=("restriction", "decidedBy", "divisionCode"),
        terms=(Terms(GRID, ("memberships", None, "grid"), until="until"), _EXTERNAL_REFS,
               Terms(PSEUDONYM, ("identityDocuments", None, "pseudonym")),
               Terms(PROXY, ("proxies", None, "resident", "id")),
               Terms(PROXY_USER, ("proxies", None, "actor", "userId"))),
        self_scope=(PROXY, PROXY_USER),
    ),
    "Issue": Index(
        community=("communityDivisionCode",),
        departments=("assignments", None, "department", "id"),
        columns={"submitted_at": ("submittedAt",), "category": ("category",),
                 "request_type": ("requestType",), "intake_channel": ("intakeChannel",),
                 "urgency": ("urgency",)},
        terms=(Terms(GRID, ("gridCode",)), Terms(PUBLISHED_GRID, ("gridCode",), area="grid"),
               _EXTERNAL_REFS),
        point=("location", "point"),
    ),
    "Consultation": Index(
        community=("divisionCode",),
        terms=(Terms(CATEGORY, ("categories", None)),
               Terms(ISSUE, ("origin", "issues", None, "id")),
               Terms(VISIBILITY, ("visibility",))),
    ),
    # Residents' voice belongs to the community of its consultation.
    "Opinion": Index(community=("divisionCode",),
                     terms=(Terms(CONSULTATION, ("consultation", "id")),)),
    "Proposal": Index(community=("divisionCode",),
                      terms=(Terms(CONSULTATION, ("consultation", "id")),)),
    # An organisation belongs to every community it serves; its grids filter ``?grid=``.
    "Organisation": Index(
        community=("serves", "divisions", None),
        terms=(Terms(GRID, ("serves", "grids", None)), _EXTERNAL_REFS),
    ),
})

_NONE = Index()


def index_of(resource_type: str) -> Index:
    """The index of ``resource_type`` (an empty one for a type the table does not name)."""
    return INDEXES.get(resource_type, _NONE)
