"""What the server indexes about each resource type: which members fill which columns and terms.

This table is the one place in storage that says anything per resource type; it is data keyed
by resource type, and the rest of storage (deriving the columns, list filters, read scopes, the
change feed's department scope) reads it through :func:`index_of`. A resource type the table
does not name is still stored, listed and fed; it only has no community, so just the readers of
every community see it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["COMMUNITY", "CONSULTATION", "DEPARTMENT", "INDEXES", "Index", "Path", "Terms",
           "index_of"]

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
CONSULTATION = "consultation"


@dataclass(frozen=True, slots=True)
class Terms:
    """Filter terms of one ``kind``: every string at ``path``.

    With ``until``, the value's object also names the last day the term is in force (a grid
    membership that has ended no longer puts a resident in the grid).
    """

    kind: str
    path: Path
    until: str | None = None


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

    @property
    def many_communities(self) -> bool:
        """Whether the communities are terms rather than the ``community`` column."""
        return self.community is not None and None in self.community


#: The indexes of the resource types, keyed by resource type.
INDEXES: Mapping[str, Index] = MappingProxyType({
    "Resident": Index(
        community=("memberships", None, "community"),
        keeps_communities=True,
        community_fallback=("restriction", "decidedBy", "divisionCode"),
        terms=(Terms(GRID, ("memberships", None, "grid"), until="until"),
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
    ),
    "Consultation": Index(
        community=("divisionCode",),
        terms=(Terms(CATEGORY, ("categories", None)),
               Terms(ISSUE, ("origin", "issues", None, "id"))),
    ),
    # Residents' voice belongs to the community of its consultation.
    "Opinion": Index(community=("divisionCode",),
                     terms=(Terms(CONSULTATION, ("consultation", "id")),)),
    "Proposal": Index(community=("divisionCode",),
                      terms=(Terms(CONSULTATION, ("consultation", "id")),)),
    # An organisation belongs to every community it serves; its grids filter ``?grid=``.
    "Organisation": Index(
        community=("serves", "divisions", None),
        terms=(Terms(GRID, ("serves", "grids", None)),),
    ),
})

_NONE = Index()


def index_of(resource_type: str) -> Index:
    """The index of ``resource_type`` (an empty one for a type the table does not name)."""
    return INDEXES.get(resource_type, _NONE)
