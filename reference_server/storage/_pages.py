"""A list page's statement, built once for each shape a list takes and run with its values.

Building a page's SQL with SQLAlchemy (a dozen conditions, a LATERAL lookup, a branch a
category code) and having it compiled and bound cost the server about half a millisecond a
page: more than PostgreSQL took to run it. The SQL depends only on which filters a list has,
what its reader's scope limits and how many values each holds, never on the values
themselves. :func:`shape_of` tells a request's :class:`Shape`, :func:`page_values` its values,
and :func:`page_statement` builds the SQL of a shape from the shape alone, every value a named
parameter: the SQL one request's shape built can carry no value of that request, nor lack a
condition another request's values would have added.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    LargeBinary,
    String,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from ._indexes import (
    CATEGORY,
    COMMUNITY,
    CONSULTATION,
    DEPARTMENT,
    EXTERNAL_REF,
    GRID,
    INDEXES,
    ISSUE,
    LATITUDE,
    LONGITUDE,
    NAMED,
    PSEUDONYM,
    PUBLISHED,
    PUBLISHED_GRID,
    PUBLISHED_VALUE,
    VISIBILITY,
    index_of,
)
from ._tables import resources, terms

__all__ = ["ListQuery", "Scope", "Shape", "Statement", "below", "driven",
           "narrow_probes", "page_statement", "page_values", "shape_of"]


@dataclass(frozen=True, slots=True)
class Scope:
    """What a reader may see, as far as SQL can tell (the rest is checked per document)."""

    communities: frozenset[str] | None = None  # None: every community
    #: only resources assigned to this department (of the types whose index has departments)
    department: str | None = None
    #: (resident id, user id): only their own records and those they act for (the types whose
    #: index has a self scope)
    residents: tuple[str | None, str | None] | None = None
    nothing: bool = False
    #: only records their publication decision publishes (the types published by decision)
    published: bool = False
    #: (resident id, user id): only the published and the records naming that resident or a
    #: resident whose record names them as proxy (a resident's own issues beside the
    #: community's published ones, /req/privacy/own-issues-self)
    owners: tuple[str | None, str | None] | None = None
    #: only records whose visibility code is one of these (the types whose index has
    #: visibility terms; /req/privacy/visibility)
    visibilities: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The filters of a list request, already checked and normalised."""

    community: str | None = None
    status: str | None = None
    updated_since: str | None = None  # UTC text
    category: str | None = None
    department: str | None = None
    request_type: str | None = None
    intake_channel: str | None = None
    urgency: str | None = None
    submitted_from: str | None = None
    submitted_to: str | None = None
    grid: str | None = None
    today: str | None = None  # the day grid memberships must be in force
    pseudonym: str | None = None
    content: str | None = None  # consultations: category
    issue: str | None = None  # consultations: escalated issue
    external_ref: str | None = None  # the term of SYSTEM|VALUE (external_ref_key)
    #: the bounding box's (low, high) longitude and latitude terms (point_terms)
    bbox: tuple[tuple[str, str], tuple[str, str]] | None = None
    consultation: str | None = None  # opinions and proposals: their consultation


#: the filters a list may be given: the fields of :class:`ListQuery` but ``today``, which only
#: dates a grid filter
_FILTERS = tuple(f.name for f in fields(ListQuery) if f.name != "today")
#: list filters on one column: the query's field, the column, how they compare
_COLUMN_FILTERS: tuple[tuple[str, Any, Callable[..., Any]], ...] = (
    ("status", resources.c.status, operator.eq),
    ("updated_since", resources.c.updated_at, operator.ge),
    ("request_type", resources.c.request_type, operator.eq),
    ("intake_channel", resources.c.intake_channel, operator.eq),
    ("urgency", resources.c.urgency, operator.eq),
    ("submitted_from", resources.c.submitted_at, operator.ge),
    ("submitted_to", resources.c.submitted_at, operator.le),
)
#: list filters on a kind of term: the query's field, the kind
_TERM_FILTERS = (("department", DEPARTMENT), ("pseudonym", PSEUDONYM), ("content", CATEGORY),
                 ("issue", ISSUE), ("consultation", CONSULTATION))
#: the columns of a list page's rows, in the order ``Tx.page`` reads them
_PAGE_COLUMNS = ("seq", "id", "version", "communities", "departments", "doc", "person_facts")
#: the name of a page's LATERAL lookup of each row, and its columns as it gives them
_HIT = "hit"
_HIT_COLUMNS: tuple[Any, ...] = tuple(
    literal_column(f"{_HIT}.{name}", resources.c[name].type).label(name)
    for name in _PAGE_COLUMNS)
#: the name of the page once cut, whose documents are then read as bytes
_PAGE = "page"


@dataclass(frozen=True, slots=True)
class Shape:
    """What decides a list page's SQL, its values aside: the resource type, the filters given,
    the reader's scope in counts and flags, the cursor's direction and whether it is set."""

    dialect: str
    rtype: str
    filters: frozenset[str]  # the fields of ListQuery given (``today`` aside)
    newest_first: bool
    after: bool  # a cursor is given
    communities: int | None  # how many communities the scope holds; None: every one
    department: bool
    residents: tuple[bool, bool] | None  # (resident id, user id) given
    published: bool
    owners: tuple[bool, bool] | None  # (resident id, user id) given
    visibilities: int | None  # how many visibility codes the scope allows; None: no limit
    #: PostgreSQL, a category with no term driving the page: how many codes it reads, one
    #: ordered branch each (None: as one range)
    codes: int | None = None
    #: SQLite: which of :func:`narrow_probes` found few enough matches to start from
    narrow: int | None = None


@functools.lru_cache(maxsize=2048)
def driven(shape: Shape) -> bool:
    """Whether a term's index drives pages of ``shape`` (PostgreSQL; see :func:`_page`)."""
    return shape.dialect == "postgresql" and bool(_wanted_terms(shape))


def shape_of(dialect: str, rtype: str, query: ListQuery, scope: Scope, *, after: int,
             newest_first: bool) -> Shape:
    """The shape of a list of ``rtype`` asked as ``query`` by a reader of ``scope``."""
    visibilities = _visibility_codes(rtype, scope)
    return Shape(
        dialect, rtype, frozenset(name for name in _FILTERS if getattr(query, name)),
        newest_first, bool(after),
        None if scope.communities is None else len(scope.communities),
        scope.department is not None,
        None if scope.residents is None else (bool(scope.residents[0]),
                                              bool(scope.residents[1])),
        scope.published,
        None if scope.owners is None else (bool(scope.owners[0]), bool(scope.owners[1])),
        None if visibilities is None else len(visibilities))


def page_values(rtype: str, query: ListQuery, scope: Scope, after: int, limit: int,
                codes: Sequence[str] = ()) -> dict[str, Any]:
    """The values of the parameters :func:`page_statement` names, for a list of ``rtype``
    asked as ``query`` by a reader of ``scope``; ``codes``, those of a category read a
    branch each."""
    values: dict[str, Any] = {"rtype": rtype, "after": after, "limit": limit,
                              "today": query.today or ""}
    for name in _FILTERS:
        value = getattr(query, name)
        if isinstance(value, str) and value:
            values[f"q_{name}"] = value
    if query.category:
        values["category_low"], values["category_high"] = below(query.category)
    if query.bbox is not None:
        for axis, (low, high) in zip(("lon", "lat"), query.bbox, strict=True):
            values[f"{axis}_low"], values[f"{axis}_high"] = low, high
    _each(values, "community", sorted(scope.communities or ()))
    _each(values, "visibility", sorted(_visibility_codes(rtype, scope) or ()))
    _each(values, "code", codes)
    values["scope_department"] = scope.department
    values["scope_resident"], values["scope_user"] = scope.residents or (None, None)
    values["owners_resident"], values["owners_user"] = scope.owners or (None, None)
    return values


def _each(values: dict[str, Any], name: str, items: Sequence[str]) -> None:
    for i, item in enumerate(items):
        values[f"{name}_{i}"] = item


@dataclass(frozen=True, slots=True)
class Statement:
    """A statement compiled for one dialect: its driver SQL, and how a request's values
    become the driver's parameters."""

    sql: str
    #: positional: the parameters' names in the order they appear (qmark); by name
    #: (pyformat): those the request gives
    names: tuple[str, ...]
    constants: Mapping[str, Any]  # the values SQLAlchemy bound as the statement was built
    positional: bool

    def args(self, values: Mapping[str, Any]) -> Any:
        """The driver's parameters for ``values`` (as :func:`page_values` gives them); a
        KeyError names a parameter they lack."""
        if self.positional:
            given = {**self.constants, **values}
            return tuple(given[name] for name in self.names)
        return {**self.constants, **{name: values[name] for name in self.names}}


def _compiled(statement: Any, dialect: Dialect) -> Statement:
    compiled = statement.compile(dialect=dialect)
    if "POSTCOMPILE" in compiled.string:
        # A list of values expanded as each request binds it: it would depend on the values.
        raise AssertionError(f"a list page's SQL must not expand its values: {compiled.string}")
    # A parameter built with no value (_p) takes the request's; any other is a constant of
    # the shape (a term's kind, LIMIT 1).
    given = {name for bind, name in compiled.bind_names.items() if bind.required}
    constants = {name: value for name, value in compiled.params.items() if name not in given}
    names = tuple(compiled.positiontup) if compiled.positional else tuple(sorted(given))
    return Statement(compiled.string, names, constants, compiled.positional)


def _p(name: str, type_: Any = None) -> Any:
    """The named parameter ``name`` (its value from :func:`page_values`)."""
    return bindparam(name, type_=type_ if type_ is not None else String())


def _ps(name: str, count: int) -> list[Any]:
    return [_p(f"{name}_{i}") for i in range(count)]


@functools.lru_cache(maxsize=2048)
def page_statement(shape: Shape, dialect: Dialect) -> Statement:
    """The SQL of a page of lists of ``shape`` compiled for ``dialect`` (the store's): the
    rows after ``:after`` in insertion order (before it, newest first) that its filters and
    scope let through, at most ``:limit``."""
    return _compiled(_page(shape), dialect)


@functools.lru_cache(maxsize=512)
def narrow_probes(shape: Shape, dialect: Dialect) -> tuple[Statement, ...]:
    """SQLite: for each of the list's range and term filters in turn, how many rows it matches,
    counted up to ``:narrow_rows`` (see ``Tx.page``)."""
    return tuple(_compiled(select(func.count()).select_from(
        matches.limit(_p("narrow_rows", Integer())).subquery()), dialect)
        for matches in _narrow_candidates(shape))


def _wanted_terms(shape: Shape) -> list[list[Any]]:
    """The conditions on a term each of the list's term filters asks for."""
    has = shape.filters.__contains__
    wanted = [[terms.c.kind == kind, terms.c.value == _p(f"q_{name}")]
              for name, kind in _TERM_FILTERS if has(name)]
    if has("grid") and shape.published and any(
            t.kind == PUBLISHED_GRID for t in index_of(shape.rtype).terms):
        # Readers of the published only get a grid published down to it: they read those
        # terms, every row a match they are served (/req/privacy/filter-what-is-seen).
        wanted.append([terms.c.kind == PUBLISHED_GRID, terms.c.value == _p("q_grid")])
    elif has("grid"):
        wanted.append([terms.c.kind == GRID, terms.c.value == _p("q_grid"),
                       or_(terms.c.until.is_(None), terms.c.until >= _p("today"))])
    # Where communities are terms (a resident's memberships), one community, asked for or
    # the only one the reader serves, is a term filter too: on PostgreSQL it can drive the
    # page rather than have a community's every member read and sorted.
    if index_of(shape.rtype).many_communities and (has("community") or shape.communities == 1):
        wanted.append([terms.c.kind == COMMUNITY, terms.c.value == _p(
            "q_community" if has("community") else "community_0")])
    # Visibility (/req/privacy/visibility): a reader seeing one code (the public), asking
    # for no filter, reads the term's index in seq order, a page of rows it may see;
    # otherwise each row the page's own order reads probes its term (_visibility_probe).
    if shape.visibilities == 1 and not shape.filters:
        wanted.append([terms.c.kind == VISIBILITY, terms.c.value == _p("visibility_0")])
    return wanted


def _narrow_candidates(shape: Shape) -> list[Any]:
    """The seqs each of the list's range and term filters matches (SQLite: ``Tx.page``)."""
    c, has = resources.c, shape.filters.__contains__
    rtype = _p("rtype")
    candidates: list[Any] = []
    if has("updated_since"):
        candidates.append(select(c.seq).where(c.rtype == rtype,
                                              c.updated_at >= _p("q_updated_since")))
    if has("category"):
        candidates.append(select(c.seq).where(c.rtype == rtype, *_category_range()))
    if has("submitted_from") or has("submitted_to"):
        candidates.append(select(c.seq).where(c.rtype == rtype, *(
            [c.submitted_at >= _p("q_submitted_from")] if has("submitted_from") else []), *(
            [c.submitted_at <= _p("q_submitted_to")] if has("submitted_to") else [])))
    candidates += [select(terms.c.rseq).where(terms.c.rtype == rtype, *term)
                   for term in _wanted_terms(shape)]
    return candidates


def _page(shape: Shape) -> Any:
    c, has = resources.c, shape.filters.__contains__
    rtype, after, limit = _p("rtype"), _p("after", BigInteger()), _p("limit", Integer())
    # On PostgreSQL the first term filter drives the page (see below); the others, and
    # every one on SQLite, are tested row by row.
    wanted_terms = _wanted_terms(shape)
    driver = ([*wanted_terms.pop(0), terms.c.rtype == rtype]
              if wanted_terms and shape.dialect == "postgresql" else None)
    order: list[Any] = [c.seq]
    if shape.dialect == "postgresql" and driver is None:
        # Given rtype = X, PostgreSQL reads the primary key in seq order and drops the other
        # types' rows one by one: cheap by its estimate, a walk past a million residents
        # when the issues were imported after them. Asked as rtype = ANY(ARRAY[X]) and
        # ordered by (rtype, seq), only the indexes that start with rtype give that order;
        # unlike a range (rtype >= X AND rtype <= X), the array still bounds the index
        # scan, so a value no record holds is one probe, not a walk to the type's end.
        conds: list[Any] = [c.rtype == any_(postgresql.array([rtype]))]
        order.insert(0, c.rtype)
    else:
        # SQLite; and PostgreSQL joined to a driving term, where rtype = X lets (rtype, seq)
        # give each match's row.
        conds = [c.rtype == rtype]

    def from_cursor(seq: Any) -> list[Any]:
        """What the cursor asks of ``seq`` (a column of store sequences)."""
        if shape.newest_first:
            return [seq < after] if shape.after else []
        return [seq > after]

    conds += from_cursor(c.seq)
    if shape.newest_first:
        order = [column.desc() for column in order]
    conds += _scope_conditions(shape)
    if shape.visibilities is not None and not (shape.visibilities == 1 and not shape.filters):
        conds.append(_visibility_probe(shape.visibilities))
    if has("community") and not index_of(shape.rtype).many_communities:
        conds.append(_community_in(shape.rtype, [_p("q_community")]))
    conds += [compare(column, _p(f"q_{name}")) for name, column, compare in _COLUMN_FILTERS
              if has(name)]
    if has("category") and shape.codes is None:
        conds += _category_range()
    conds += [exists().where(terms.c.rseq == c.seq, *term) for term in wanted_terms]
    # A lookup by another system's number or by area is selective: the rows come from the
    # term index (seq IN …), not from a walk of every row testing each for the term.
    if has("external_ref"):
        conds.append(c.seq.in_(select(terms.c.rseq).where(
            terms.c.kind == EXTERNAL_REF, terms.c.value == _p("q_external_ref"),
            terms.c.rtype == rtype)))
    if has("bbox"):
        for kind, axis in ((LONGITUDE, "lon"), (LATITUDE, "lat")):
            conds.append(c.seq.in_(select(terms.c.rseq).where(
                terms.c.kind == kind, terms.c.value >= _p(f"{axis}_low"),
                terms.c.value <= _p(f"{axis}_high"), terms.c.rtype == rtype)))
    if shape.narrow is not None:
        conds.append(c.seq.in_(_narrow_candidates(shape)[shape.narrow]))
    columns = [c[name] for name in _PAGE_COLUMNS]
    if shape.codes is not None:
        # A code and its sub-codes lie apart in (rtype, category, seq): one branch per code
        # reads its index in order and stops after a page; PostgreSQL merges the branches
        # (Merge Append). As one range, it read every match of a rare code and sorted
        # them, or walked (rtype, seq) dropping the rows of every other code.
        branches = [select(*columns, c.rtype).where(*conds, c.category == code)
                    .order_by(*order).limit(limit) for code in _ps("code", shape.codes)]
        statement = (branches[0] if len(branches) == 1
                     else union_all(*branches).order_by(*order))
    elif driver is None:
        statement = select(*columns).where(and_(*conds)).order_by(*order)
    else:
        # The term's index read in seq order from the cursor on, each match's row looked
        # up (LATERAL: one lookup per match), stops after a page whatever share of the
        # table the value has. Asked as a filter, PostgreSQL trusts its estimate of a
        # value's matches, which a city's skew (one department holding most issues) makes
        # wrong tenfold: it read and sorted every match of a "rare" one, or merged a
        # common one with the primary key from the first resident on.
        rseq = terms.c.rseq
        # LIMIT 1 (seq is the key: at most one row) keeps the planner from flattening the
        # lookup into a join it would merge.
        row = select(*columns).where(c.seq == rseq, *conds).limit(1).lateral(_HIT)
        statement = (select(*_HIT_COLUMNS).select_from(terms.join(row, true()))
                     .where(*driver, *from_cursor(rseq))
                     .order_by(rseq.desc() if shape.newest_first else rseq))
    # The page's columns take the form they are read in once the page is cut: below a sort
    # (a filter's index read out of seq order), every candidate's document would be cast,
    # 738 for a page of 51. The page is put back in order by ``Tx.page``: sorted here, each
    # document would be copied once more.
    page = statement.limit(limit).subquery(_PAGE)
    return select(*[_as_read(page.c[name], shape.dialect) for name in _PAGE_COLUMNS])


def below(code: str) -> tuple[str, str]:
    """The range of the codes below ``code``: "housing.lift" is below "housing", "housing-x"
    is not. In byte order (the column's collation) they lie from code + "." up to code + "/"."""
    return code + ".", code + "/"


def _category_range() -> list[Any]:
    """The category asked for and every code below it, as one range of the category index
    from the code on; the last condition drops the codes between ("housing-x")."""
    c = resources.c
    code = _p("q_category")
    return [c.category >= code, c.category < _p("category_high"),
            or_(c.category == code, c.category >= _p("category_low"))]


def _published_rows(rtype: Any) -> Any:
    return select(terms.c.rseq).where(terms.c.kind == PUBLISHED, terms.c.rtype == rtype,
                                      terms.c.value == PUBLISHED_VALUE)


def _naming_rows(resident: Any, user: Any) -> list[Any]:
    """The rows naming ``resident``, and those naming a resident whose record names her (or
    ``user``) as a proxy: every record she may read as her own, and some whose proxy has
    lapsed. Each a statement of its own, so that each reads the term index by its value.
    Either may be None (not known)."""
    person = next((rt for rt, ix in INDEXES.items() if ix.self_scope), None)
    kinds = INDEXES[person].self_scope if person is not None else None
    if kinds is None:
        return []
    proxy, proxy_user = kinds
    granted = [and_(terms.c.kind == proxy, terms.c.value == resident)] if resident is not None \
        else []
    if user is not None:
        granted.append(and_(terms.c.kind == proxy_user, terms.c.value == user))
    branches: list[Any] = []
    if resident is not None:
        branches.append(select(terms.c.rseq).where(terms.c.kind == NAMED,
                                                  terms.c.value == resident))
    if granted:
        represented = select(resources.c.id).where(
            resources.c.rtype == person,
            resources.c.seq.in_(select(terms.c.rseq).where(or_(*granted))))
        branches.append(select(terms.c.rseq).where(terms.c.kind == NAMED,
                                                  terms.c.value.in_(represented)))
    return branches


def _has_term(kind: str, value: Any) -> Any:
    return exists().where(terms.c.rseq == resources.c.seq, terms.c.kind == kind,
                          terms.c.value == value)


def _community_in(rtype: str, codes: Sequence[Any]) -> Any:
    """The resource belongs to one of ``codes`` (a term or the column, as its index says)."""
    many = index_of(rtype).many_communities
    column = terms.c.value if many else resources.c.community
    match = column == codes[0] if len(codes) == 1 else column.in_(codes)
    if many:
        return exists().where(terms.c.rseq == resources.c.seq, terms.c.kind == COMMUNITY, match)
    return match


def _as_read(column: Any, dialect: str) -> Any:
    """A page's ``column`` in the form it is read in: the stored JSON as its UTF-8 bytes, so
    that a record served as stored goes out as read, not decoded into text and encoded again
    (0.9 ms of a 700 KB page's 1.1). PostgreSQL sends the page in binary form (``Tx.page``),
    where ``text`` arrives as bytes: the other ``text`` columns become ``varchar``, which
    arrives as text (a relabelling, no work); SQLite casts the document to a BLOB."""
    if column.name == "doc":
        return column if dialect == "postgresql" else cast(column, LargeBinary).label("doc")
    if dialect == "postgresql" and type(column.type) is Text:
        return cast(column, String).label(column.name)
    return column


def _visibility_codes(rtype: str, scope: Scope) -> frozenset[str] | None:
    """The visibility codes ``scope`` limits ``rtype`` to, where its index has the terms."""
    if scope.visibilities is None or not any(t.kind == VISIBILITY for t in index_of(rtype).terms):
        return None
    return scope.visibilities


def _visibility_probe(count: int) -> Any:
    """The record's visibility term is one of the scope's ``count`` codes, probed by each row
    of the page's own order: no invisible row is read and parsed only to be dropped. OFFSET 0
    keeps PostgreSQL from making it a join, which read every visible record's term and sorted
    them all for a page."""
    if not count:
        return false()
    return select(terms.c.rseq).where(
        terms.c.rseq == resources.c.seq, terms.c.kind == VISIBILITY,
        terms.c.value.in_(_ps("visibility", count))).offset(0).exists()


def _scope_conditions(shape: Shape) -> list[Any]:
    c = resources.c
    index = index_of(shape.rtype)
    rtype = _p("rtype")
    conds: list[Any] = []
    if shape.communities is not None:
        if not shape.communities:
            return [false()]
        conds.append(_community_in(shape.rtype, _ps("community", shape.communities)))
    if shape.published:
        # From the term index to the rows: few records of a city may be published.
        conds.append(c.seq.in_(_published_rows(rtype)))
    if shape.owners is not None:
        # Read from the term index too: a community's unpublished records are most of it,
        # and a resident may read only her own of them.
        # One IN over both (an OR of two would have PostgreSQL test every row of the community).
        owner, owner_user = shape.owners
        conds.append(c.seq.in_(union_all(_published_rows(rtype), *_naming_rows(
            _p("owners_resident") if owner else None,
            _p("owners_user") if owner_user else None))))
    if shape.department and index.departments:
        conds.append(_has_term(DEPARTMENT, _p("scope_department")))
    if shape.residents is not None and index.self_scope:
        proxy, proxy_user = index.self_scope
        resident, user = shape.residents
        options: list[Any] = []
        if resident:
            options += [c.id == _p("scope_resident"), _has_term(proxy, _p("scope_resident"))]
        if user:
            options.append(_has_term(proxy_user, _p("scope_user")))
        conds.append(or_(*options) if options else false())
    return conds
