"""Hypothesis strategies derived from the installed schemas: valid documents and their mutants.

>>> from hypothesis import given
>>> from smartcommunity.strategies import documents, mutations
>>> @given(documents("Issue"))                                   # doctest: +SKIP
... def test_accepts(doc): assert validate(doc).valid or ...

hypothesis-jsonschema cannot read draft 2020-12, so this module builds strategies itself for
the subset of JSON Schema the standard uses. Values are *constructed* to satisfy the schema
(conditionals are evaluated and their ``then``/``else`` applied, one branch of each
``anyOf``/``oneOf`` is chosen and made to hold), and :func:`documents` keeps only what the
reference validator (python-jsonschema, every format enforced) accepts, which is nearly
everything built. Library rules (check digits, lifecycle history) are not the schema's business
and generated documents may break them.

Generated strings avoid the few characters the JSON Schema engines disagree on (see
:data:`DIVERGENT_KINDS`), so a valid document here is valid for every engine; the mutations
in :data:`DIVERGENT_KINDS` produce exactly those disputed values, on request.

hypothesis is an optional dependency (extras ``conformance`` and ``dev``): this module is not
imported by ``smartcommunity`` itself.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from .models import Flat, Schema, SchemaSet, absolutize, json_key, schema_set
from .pointers import pointer
from .specification import DEFAULT_VERSION, per_spec_tree

__all__ = [
    "DIVERGENT_KINDS",
    "MUTATION_KINDS",
    "Mutant",
    "documents",
    "json_values",
    "mutations",
    "schema_values",
    "uri_spellings",
]

#: Characters some engines count as whitespace and others do not (``\s`` differs between
#: ECMA-262, Python ``re`` and Rust ``regex``): left out of generated text.
_DISPUTED_CHARS = "\x1c\x1d\x1e\x1f\x85\ufeff"
_TEXT_CHARS = st.characters(codec="utf-8", exclude_characters=_DISPUTED_CHARS)
_JSON_TEXT = st.text(_TEXT_CHARS, max_size=12)

_PRESENCE = st.integers(0, 2)  # an optional member is present one time in three
#: Largest number of items generated for an array beyond its ``minItems``.
_EXTRA_ITEMS = 2


def json_values(max_leaves: int = 6) -> SearchStrategy[Any]:
    """Any JSON value (small): what a free-form member such as an extension may hold."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**53), max_value=2**53)
        | st.floats(allow_nan=False, allow_infinity=False)
        | _JSON_TEXT
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_JSON_TEXT, inner, max_size=3),
        max_leaves=max_leaves,
    )


# -- regular expressions ----------------------------------------------------------------------
# st.from_regex draws one character at a time through a general machinery; our patterns are
# runs of character classes, so a run is drawn at once (a length and a block of bytes). Anything
# outside that subset falls back to st.from_regex; every result is checked against the pattern.
class _Unsupported(Exception):
    pass


_Gen = Callable[[st.DrawFn], str]
_BYTE_RUN = {n: st.binary(min_size=n, max_size=n) for n in range(0, 300)}


def _char_test(items: list[tuple[Any, Any]]) -> Callable[[str], bool]:
    tests: list[Callable[[str], bool]] = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            tests.append(_between(arg, arg))
        elif name == "RANGE":
            tests.append(_between(arg[0], arg[1]))
        elif name == "CATEGORY" and str(arg) == "CATEGORY_SPACE":
            tests.append(str.isspace)
        elif name == "CATEGORY" and str(arg) == "CATEGORY_DIGIT":
            tests.append(str.isdecimal)
        elif name == "CATEGORY" and str(arg) == "CATEGORY_WORD":
            tests.append(lambda ch: ch.isalnum() or ch == "_")
        else:
            raise _Unsupported(name)
    return lambda ch: any(t(ch) for t in tests)


def _between(low: int, high: int) -> Callable[[str], bool]:
    return lambda ch: low <= ord(ch) <= high


def _alphabet(items: list[tuple[Any, Any]]) -> str | None:
    """The characters of a positive ASCII class, or None when it is negated or not ASCII."""
    chars: list[str] = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL" and arg < 128:
            chars.append(chr(arg))
        elif name == "RANGE" and arg[1] < 128:
            chars.extend(chr(c) for c in range(arg[0], arg[1] + 1))
        else:
            return None
    return "".join(sorted(set(chars)))


def _single(node: tuple[Any, Any]) -> tuple[str | None, SearchStrategy[str] | None]:
    """(alphabet, None) for a positive ASCII class, (None, strategy) for any other one char."""
    op, arg = node
    name = str(op)
    if name == "LITERAL":
        return chr(arg), None
    if name == "IN":
        items = list(arg)
        if items and str(items[0][0]) == "NEGATE":
            test = _char_test(items[1:])
            return None, _TEXT_CHARS.filter(lambda ch: not test(ch))
        alphabet = _alphabet(items)
        if alphabet:
            return alphabet, None
        test = _char_test(items)
        return None, _TEXT_CHARS.filter(test)
    if name == "NOT_LITERAL":
        same = _between(arg, arg)
        return None, _TEXT_CHARS.filter(lambda ch: not same(ch))
    if name == "ANY":
        return None, _TEXT_CHARS.filter(lambda ch: ch != "\n")
    raise _Unsupported(name)


def _run(alphabet: str, low: int, high: int) -> _Gen:
    lengths = st.integers(low, high)
    size = len(alphabet)
    if size == 1:
        return lambda draw: alphabet * draw(lengths)

    def gen(draw: st.DrawFn) -> str:
        n = draw(lengths)
        return "".join(alphabet[b % size] for b in draw(_BYTE_RUN[n]))

    return gen


def _compile(nodes: Any) -> _Gen:
    parts: list[_Gen] = []
    for node in nodes:
        op, arg = node
        name = str(op)
        if name == "AT":
            if str(arg) not in {"AT_BEGINNING", "AT_END", "AT_BEGINNING_STRING", "AT_END_STRING"}:
                raise _Unsupported(str(arg))
            continue
        if name in {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}:
            low, high, sub = arg
            high = min(high, low + 6) if high > 10_000 else high
            if len(sub) == 1 and str(sub[0][0]) in {"LITERAL", "IN", "NOT_LITERAL", "ANY"}:
                alphabet, chars = _single(sub[0])
                if alphabet is not None and high < 300:
                    parts.append(_run(alphabet, low, high))
                else:
                    assert chars is not None
                    parts.append(_drawing(st.text(chars, min_size=low, max_size=high)))
                continue
            parts.append(_repeat(_compile(sub), st.integers(low, high)))
            continue
        if name == "SUBPATTERN":
            _group, add, remove, sub = arg
            if add or remove:
                raise _Unsupported("flags")
            parts.append(_compile(sub))
            continue
        if name == "BRANCH":
            parts.append(_branch([_compile(alt) for alt in arg[1]]))
            continue
        alphabet, chars = _single(node)
        if alphabet is not None:
            parts.append(_run(alphabet, 1, 1))
        else:
            assert chars is not None
            parts.append(_drawing(chars))
    return lambda draw: "".join(p(draw) for p in parts)


def _drawing(strategy: SearchStrategy[str]) -> _Gen:
    return lambda draw: draw(strategy)


def _repeat(inner: _Gen, lengths: SearchStrategy[int]) -> _Gen:
    return lambda draw: "".join(inner(draw) for _ in range(draw(lengths)))


def _branch(alternatives: list[_Gen]) -> _Gen:
    pick = st.integers(0, len(alternatives) - 1)
    return lambda draw: alternatives[draw(pick)](draw)


@functools.cache
def _regex(pattern: str) -> SearchStrategy[str]:
    """Strings that ``re.search(pattern, ...)`` accepts, built run by run."""
    compiled = re.compile(pattern)
    try:
        from re import _parser  # type: ignore[attr-defined]

        gen = _compile(_parser.parse(pattern))
    except _Unsupported:
        return st.from_regex(pattern, fullmatch=True, alphabet=_TEXT_CHARS)
    return st.composite(lambda draw: gen(draw))().filter(lambda v: compiled.search(v) is not None)


# -- formats -------------------------------------------------------------------------------
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


_YEARS = st.one_of(st.integers(1900, 2100), st.integers(1, 9999))
_MONTHS = st.integers(1, 12)
_DAY_OF = {last: st.integers(1, last) for last in (28, 29, 30, 31)}


@st.composite
def _dates(draw: st.DrawFn) -> str:
    # Year 0000 is valid RFC 3339 but python's datetime (and so the reference validator)
    # rejects it: start at 0001. See DIVERGENT_KINDS.
    year, month = draw(_YEARS), draw(_MONTHS)
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    last = 29 if month == 2 and leap else (28 if month == 2 else _DAYS[month - 1])
    return f"{year:04d}-{month:02d}-{draw(_DAY_OF[last]):02d}"


_DATES = _dates()


_FRACTION = st.one_of(st.just(""), _regex(r"^\.[0-9]{1,9}$"))
_OFFSET = st.one_of(
    st.sampled_from(["Z", "+08:00", "z", "+00:00", "-05:00"]),
    st.builds(
        lambda sign, h, m: f"{sign}{h:02d}:{m:02d}",
        st.sampled_from("+-"),
        st.integers(0, 23),
        st.integers(0, 59),
    ),
)
_SEPARATOR = st.sampled_from("TTTt")
_HOURS, _MINUTES = st.integers(0, 23), st.integers(0, 59)


@st.composite
def _date_times(draw: st.DrawFn) -> str:
    date = draw(_DATES)
    hour, minute = draw(_HOURS), draw(_MINUTES)
    second = draw(_MINUTES)  # leap seconds are disputed: see DIVERGENT_KINDS
    time = f"{hour:02d}:{minute:02d}:{second:02d}{draw(_FRACTION)}{draw(_OFFSET)}"
    return f"{date}{draw(_SEPARATOR)}{time}"


_LABEL = _regex(r"^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$")
_HOST = st.one_of(
    st.lists(_LABEL, min_size=1, max_size=3).map(lambda ls: ".".join([*ls, "example"])),
    st.sampled_from(["platform.example.org", "gov.example.cn", "127.0.0.1", "localhost"]),
)
_SEGMENT = _regex(r"^([A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-F]{2}){0,12}$")
_QUERY = _regex(r"^([A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-F]{2}){0,12}$")


_NID = _regex(r"^[a-z0-9][a-z0-9-]{1,8}$")
_SCHEME = _regex(r"^[a-z][a-z0-9+.-]{0,6}$")
_URI_KIND = st.sampled_from(["https", "https", "https", "urn", "any-scheme"])
_PORT = st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}"))
_PATH = st.lists(_SEGMENT, max_size=3).map(lambda segs: "".join("/" + s for s in segs))
_QUERY_PART = st.one_of(st.just(""), _QUERY.map(lambda q: "?" + q))
_FRAGMENT_PART = st.one_of(st.just(""), _QUERY.map(lambda q: "#" + q))


@st.composite
def _uris(draw: st.DrawFn) -> str:
    kind = draw(_URI_KIND)
    if kind == "urn":
        nid = draw(_NID)
        return f"urn:{nid}:{draw(_SEGMENT.filter(bool))}"
    scheme = kind if kind == "https" else draw(_SCHEME)
    host, port, path = draw(_HOST), draw(_PORT), draw(_PATH)
    return f"{scheme}://{host}{port}{path}{draw(_QUERY_PART)}{draw(_FRAGMENT_PART)}"


_URIS = _uris()
_RELATIVE = st.builds(
    lambda absolute, segs, query: ("/" if absolute else "") + "/".join(segs) + query,
    st.booleans(),
    st.lists(_SEGMENT, max_size=3),
    _QUERY_PART,
)
_URI_REFERENCES = st.one_of(_URIS, _RELATIVE)

#: the characters RFC 3986 leaves unreserved (section 2.3): the same percent-encoded or not
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_URI_PARTS = re.compile(r"^([^:/?#]+):(?://([^/?#]*))?([^?#]*)(.*)$", re.DOTALL)


def _cased(draw: st.DrawFn, text: str) -> str:
    return "".join(c.swapcase() if c.isascii() and draw(st.booleans()) else c for c in text)


def _encoded(draw: st.DrawFn, text: str) -> str:
    """``text`` with some unreserved characters percent-encoded and its percent-encoding in
    either hex case."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "%":
            out.append(_cased(draw, text[i:i + 3]))
            i += 3
            continue
        c = text[i]
        if c in _UNRESERVED and draw(_PRESENCE) == 0:
            c = _cased(draw, f"%{ord(c):02X}")
        out.append(c)
        i += 1
    return "".join(out)


@st.composite
def uri_spellings(draw: st.DrawFn, uri: str) -> str:
    """Spellings of the absolute URI ``uri`` that RFC 3986 syntax-based normalisation makes
    the same URI (:func:`smartcommunity.uris.same_uri`): the scheme and host in any case,
    unreserved characters percent-encoded, percent-encoding in either hex case, an empty or
    default port written out, with an authority an empty path for "/" and back, and "." or
    ".." segments before an absolute path."""
    found = _URI_PARTS.match(uri)
    if found is None:
        return uri
    scheme, authority, path, rest = found.groups()
    out = _cased(draw, scheme) + ":"
    if authority is not None:
        user, at, hostport = authority.rpartition("@")
        colon = hostport.rfind(":")
        host, port = ((hostport[:colon], hostport[colon:]) if colon > hostport.rfind("]")
                      else (hostport, ""))
        if not port and draw(st.booleans()):
            port = ":" + (_DEFAULT_PORTS.get(scheme.lower(), "") if draw(st.booleans()) else "")
        out += f"//{user}{at}{_encoded(draw, _cased(draw, host))}{port}"
        if path in ("", "/") and draw(st.booleans()):
            path = "/" if path == "" else ""
    if path.startswith("/") and draw(st.booleans()):
        path = draw(st.sampled_from(["/.", "/gone/.."])) + path
    return out + _encoded(draw, path) + _encoded(draw, rest)


# Dot-atom addresses with a DNS domain: every engine's "email" format accepts them (the
# reference validator only asks for an "@"; the fast engine parses RFC 5322).
_EMAILS = st.builds(
    lambda local, host: f"{local}@{host}",
    _regex(r"^[A-Za-z0-9_+-]{1,10}(\.[A-Za-z0-9_+-]{1,10}){0,2}$"),
    st.lists(_LABEL, min_size=1, max_size=2).map(lambda ls: ".".join([*ls, "cn"])),
)

_FORMATS: dict[str, SearchStrategy[str]] = {
    "date-time": _date_times(),
    "date": _DATES,
    "uri": _URIS,
    "uri-reference": _URI_REFERENCES,
    "email": _EMAILS,
}


# -- the builder ---------------------------------------------------------------------------
class _Builder:
    """Strategies for the schemas of one spec version, cached per merged schema."""

    def __init__(self, schemas: SchemaSet) -> None:
        self.ss = schemas
        self._strategies: dict[int, SearchStrategy[Any]] = {}
        self._keep: list[Any] = []

    # -- checking ----------------------------------------------------------------------
    def holds(self, schema: Any, value: Any) -> bool:
        if schema is True:
            return True
        if schema is False:
            return False
        return bool(self.ss.validator(schema).is_valid(value))

    def flat_holds(self, flat: Flat, value: Any) -> bool:
        return all(self.holds(s, value) for s in flat.sources)

    # -- strategies --------------------------------------------------------------------
    def schemas(self, *schemas: Schema) -> SearchStrategy[Any]:
        return self.flat(self.ss.flatten(*schemas))

    def flat(self, flat: Flat) -> SearchStrategy[Any]:
        found = self._strategies.get(id(flat))
        if found is None:
            found = self._build(flat)
            self._strategies[id(flat)] = found
            self._keep.append(flat)
        return found

    def _build(self, flat: Flat) -> SearchStrategy[Any]:
        if flat.enum is not None:
            values = [v for v in flat.enum if self.flat_holds(flat, v)]
            if not values:
                return st.nothing()
            return st.sampled_from(values)
        if (flat.any_of or flat.one_of) and not flat.is_object:
            group = (flat.any_of or flat.one_of)[0]
            options = st.one_of(*(self.schemas(b) for b in group))
            return options.filter(lambda v: self.flat_holds(flat, v))
        if flat.types is None:
            if flat.patterns or flat.min_length is not None or flat.max_length is not None:
                return self._string(flat)
            if flat.properties or flat.required:
                return self._object(flat)
            return json_values()
        typed = [self._typed(flat, t) for t in sorted(flat.types)]
        out = typed[0] if len(typed) == 1 else st.one_of(*typed)
        if flat.nots and not flat.is_object:
            out = out.filter(lambda v: not any(self.holds(n, v) for n in flat.nots))
        return out

    def _typed(self, flat: Flat, t: str) -> SearchStrategy[Any]:
        if t == "string":
            return self._string(flat)
        if t == "integer":
            low = _int_bound(flat.minimum, flat.exclusive_minimum, up=True)
            high = _int_bound(flat.maximum, flat.exclusive_maximum, up=False)
            if low is None and high is None:
                low, high = -(10**9), 10**9
            elif low is None:
                assert high is not None
                low = high - 10**9
            elif high is None:
                high = low + 10**9
            return st.integers(low, high)
        if t == "number":
            floats = st.floats(
                min_value=flat.minimum,
                max_value=flat.maximum,
                allow_nan=False,
                allow_infinity=False,
            )
            ints = st.integers(
                _int_bound(flat.minimum, None, up=True), _int_bound(flat.maximum, None, up=False)
            )
            # exclusive bounds (unused by the standard today) are left to the check
            return st.one_of(ints, floats).filter(lambda v: self.flat_holds(flat, v))
        if t == "boolean":
            return st.booleans()
        if t == "null":
            return st.none()
        if t == "array":
            return self._array(flat)
        if t == "object":
            return self._object(flat)
        raise ValueError(f"unsupported type {t}")

    def _string(self, flat: Flat) -> SearchStrategy[str]:
        low, high = flat.min_length or 0, flat.max_length
        if flat.formats:
            base = _FORMATS.get(flat.formats[0])
            if base is None:
                raise ValueError(f"no strategy for format {flat.formats[0]}")
        elif flat.patterns:
            base = _regex(flat.patterns[0])
        else:
            base = st.text(_TEXT_CHARS, min_size=low, max_size=min(high or 24, low + 24))
        checks = [re.compile(p) for p in flat.patterns]
        if flat.formats and not checks and low == 0 and high is None:
            return base

        def fits(value: str) -> bool:
            if len(value) < low or (high is not None and len(value) > high):
                return False
            return all(c.search(value) for c in checks)

        out = base.filter(fits)
        if len(flat.formats) > 1:
            out = out.filter(lambda v: self.flat_holds(flat, v))
        return out

    def _array(self, flat: Flat) -> SearchStrategy[list[Any]]:
        items = self.flat(self.ss.item_flat(flat)) if flat.items else json_values()
        low = flat.min_items or 0
        high = (
            low + _EXTRA_ITEMS
            if flat.max_items is None
            else min(flat.max_items, low + _EXTRA_ITEMS)
        )
        unique = json_key if flat.unique_items else None
        lists = st.lists(items, min_size=low, max_size=high, unique_by=unique)
        if not flat.contains:
            return lists
        contains = list(flat.contains)

        @st.composite
        def with_contains(draw: st.DrawFn) -> list[Any]:
            out = draw(lists)
            for schema, least, most in contains:
                matching = [i for i, v in enumerate(out) if self.holds(schema, v)]
                if most is not None and len(matching) > most:
                    for i in reversed(matching[most:]):
                        del out[i]
                while sum(1 for v in out if self.holds(schema, v)) < least:
                    extra = draw(self.flat(self.ss.item_flat(flat, schema)))
                    out.insert(draw(st.integers(0, len(out))), extra)
            return out

        return with_contains()

    def _object(self, flat: Flat) -> SearchStrategy[dict[str, Any]]:
        declared = flat.property_names_in_order
        if not declared and flat.allowed is None:
            return self._free_object(flat)
        return _ObjectPlan(self, flat).strategy()

    def _free_object(self, flat: Flat) -> SearchStrategy[dict[str, Any]]:
        values = self.schemas(*flat.additional) if flat.additional else json_values(4)
        if flat.property_names:
            keys: SearchStrategy[str] = self.schemas(*flat.property_names, {"type": "string"})
        else:
            keys = _JSON_TEXT
        low = flat.min_properties or 0
        extra = st.dictionaries(keys, values, min_size=low, max_size=low + 2)
        required = list(flat.required)
        if not required:
            return extra
        return st.builds(
            lambda fixed, more: {**more, **fixed},
            st.fixed_dictionaries({k: self.schemas(*flat.properties.get(k, [])) for k in required}),
            extra,
        )


def _int_bound(inclusive: float | None, exclusive: float | None, *, up: bool) -> int | None:
    bounds = []
    if inclusive is not None:
        bounds.append(int(-(-inclusive // 1)) if up else int(inclusive // 1))
    if exclusive is not None:
        bounds.append(int(exclusive // 1) + 1 if up else int(-(-exclusive // 1)) - 1)
    if not bounds:
        return None
    return max(bounds) if up else min(bounds)


class _ObjectPlan:
    """Builds one object: members first, then every condition is made to hold."""

    def __init__(self, builder: _Builder, flat: Flat) -> None:
        self.b = builder
        self.flat = flat
        self.names = flat.property_names_in_order
        self.allowed = set(self.names)

    def strategy(self) -> SearchStrategy[dict[str, Any]]:
        return st.composite(self._draw)()

    def value(self, draw: st.DrawFn, name: str, overlays: dict[str, list[Schema]]) -> Any:
        subs = [*self.flat.properties.get(name, ()), *overlays.get(name, ())]
        return draw(self.b.schemas(*subs))

    def _draw(self, draw: st.DrawFn) -> dict[str, Any]:
        flat = self.flat
        obj: dict[str, Any] = {}
        overlays: dict[str, list[Schema]] = {}
        required = set(flat.required)
        for name in self.names:
            if name in required or draw(_PRESENCE) == 0:
                obj[name] = self.value(draw, name, overlays)
        state = _State(obj, overlays, set(), required)
        for _ in range(6):
            changed = False
            for group in flat.any_of:
                changed |= self.apply(draw, {"anyOf": group}, state)
            for group in flat.one_of:
                changed |= self.apply(draw, {"oneOf": group}, state)
            for n in flat.nots:
                changed |= self.apply(draw, {"not": n}, state)
            for cond, then, other in flat.conditionals:
                branch = then if self.b.holds(cond, obj) else other
                if branch is not None:
                    changed |= self.apply(draw, branch, state)
            for name, needs in flat.dependent_required.items():
                if name in obj:
                    changed |= self.apply(draw, {"required": needs}, state)
            for name, subs in flat.dependent_schemas.items():
                if name in obj:
                    for sub in subs:
                        changed |= self.apply(draw, sub, state)
            if flat.min_properties and len(obj) < flat.min_properties:
                spare = [n for n in self.names if n not in obj and n not in state.forbidden]
                if spare:
                    name = draw(st.sampled_from(spare))
                    obj[name] = self.value(draw, name, overlays)
                    changed = True
            if not changed:
                break
        return obj

    def apply(self, draw: st.DrawFn, schema: Any, state: _State) -> bool:
        """Change ``state.obj`` so that it is valid under ``schema``; True when it changed."""
        obj = state.obj
        if not isinstance(schema, dict) or self.b.holds(schema, obj):
            return False
        changed = False
        for name in schema.get("required", ()):
            if name not in obj and name in self.allowed:
                obj[name] = self.value(draw, name, state.overlays)
                state.required.add(name)
                state.forbidden.discard(name)
                changed = True
        for name, sub in (schema.get("properties") or {}).items():
            state.overlays.setdefault(name, [])
            if sub not in state.overlays[name]:
                state.overlays[name].append(sub)
            if name in obj and not self.b.holds(sub, obj[name]):
                obj[name] = self.value(draw, name, state.overlays)
                changed = True
        if "not" in schema and self.b.holds(schema["not"], obj):
            for name in _required_names(schema["not"]):
                if name in obj and name not in state.required:
                    del obj[name]
                    state.forbidden.add(name)
                    changed = True
        if "anyOf" in schema and not any(self.b.holds(s, obj) for s in schema["anyOf"]):
            changed |= self.apply(draw, draw(st.sampled_from(schema["anyOf"])), state)
        if "oneOf" in schema:
            holding = [i for i, s in enumerate(schema["oneOf"]) if self.b.holds(s, obj)]
            if len(holding) != 1:
                pick = draw(st.sampled_from(holding or range(len(schema["oneOf"]))))
                changed |= self.apply(draw, schema["oneOf"][pick], state)
                for i, other in enumerate(schema["oneOf"]):
                    if i != pick:
                        changed |= self.apply(draw, {"not": other}, state)
        for sub in schema.get("allOf", ()):
            changed |= self.apply(draw, sub, state)
        if "if" in schema:
            branch = schema.get("then") if self.b.holds(schema["if"], obj) else schema.get("else")
            if branch is not None:
                changed |= self.apply(draw, branch, state)
        if "propertyNames" in schema:
            for name in list(obj):
                if not self.b.holds(schema["propertyNames"], name):
                    del obj[name]
                    state.forbidden.add(name)
                    changed = True
        if "$ref" in schema:
            changed |= self.apply(draw, self.b.ss.resolve(schema["$ref"]), state)
        return changed


@dataclass
class _State:
    obj: dict[str, Any]
    overlays: dict[str, list[Schema]]
    forbidden: set[str]
    required: set[str]


def _required_names(schema: Any) -> list[str]:
    if not isinstance(schema, dict):
        return []
    names = list(schema.get("required", ()))
    for key in ("anyOf", "allOf", "oneOf"):
        for sub in schema.get(key, ()):
            names.extend(_required_names(sub))
    return names


@per_spec_tree
def _builder(version: str) -> _Builder:
    return _Builder(schema_set(version))


# -- public API ----------------------------------------------------------------------------
def schema_values(schema_fragment: Schema, version: str = DEFAULT_VERSION) -> SearchStrategy[Any]:
    """Values valid under a schema fragment (``$ref`` s resolve against the spec's schemas).

    A relative ``$ref`` is read against the spec's schema folder, so
    ``{"$ref": "datatypes.json#/$defs/dateTime"}`` works.
    """
    b = _builder(version)
    fragment = copy.deepcopy(schema_fragment)
    base = b.ss.spec.base_uri + "_fragment.json"
    fragment = absolutize(fragment, base)
    oracle = b.ss.validator(fragment)  # the schema set keeps the fragment alive
    return b.schemas(fragment).filter(oracle.is_valid)


def documents(resource_type: str, version: str = DEFAULT_VERSION) -> SearchStrategy[dict[str, Any]]:
    """Documents of ``resource_type`` valid under its schema (checked by python-jsonschema)."""
    return _documents(resource_type, version)


@per_spec_tree
def _documents(resource_type: str, version: str) -> SearchStrategy[dict[str, Any]]:
    b = _builder(version)
    schema = b.ss.document(resource_type)
    oracle = b.ss.validator(schema)
    return b.schemas(schema).filter(oracle.is_valid)


# -- mutations -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Mutant:
    """A document with one change: what changed (``kind``), where, and the document itself."""

    kind: str
    pointer: str
    document: dict[str, Any]

    def __repr__(self) -> str:
        return f"Mutant({self.kind!r} at {self.pointer!r})"


#: Every kind of single change :func:`mutations` makes, and what it does.
MUTATION_KINDS = {
    "drop-required": "remove a member the schema requires",
    "drop-member": "remove an optional member (may break a conditional)",
    "add-unknown-member": "add a member an object does not allow",
    "null-member": "set a member to null",
    "wrong-type": "replace a value with one of another JSON type",
    "out-of-enum": "replace a closed code with one not in its list",
    "other-code": "replace a closed code with another code of its list (may break a conditional)",
    "broken-pattern": "append a character the value's pattern does not allow",
    "timestamp-without-offset": "remove the offset of a timestamp",
    "invalid-date": "use a calendar date that does not exist (2023-02-29)",
    "bad-uri": "use a string that is not a URI",
    "too-long": "exceed maxLength",
    "empty-string": "use the empty string",
    "out-of-range": "go below minimum or above maximum",
    "integral-float": "write an integer as 1.0 (valid in JSON Schema)",
    "duplicate-item": "repeat an item of an array whose items must be unique",
    "too-few-items": "empty an array that needs items",
    "bad-extension-key": "add an extension whose key is not a namespace",
}
#: Changes on which JSON Schema engines disagree (made only on request): python's ``re``
#: lets ``$`` match before a final newline; ``\\s`` differs for U+FEFF and U+0085; the
#: reference validator rejects leap seconds and year 0000 and accepts any email with an "@".
DIVERGENT_KINDS = {
    "trailing-newline": "append a newline to a value with a pattern",
    "edge-bom": "start a text value with U+FEFF",
    "edge-nel": "start a text value with U+0085",
    "leap-second": "use 23:59:60 in a timestamp",
    "year-zero": "use year 0000 in a date or timestamp",
    "loose-email": "use an email with two dots in a row",
}


@dataclass
class _Site:
    path: tuple[str | int, ...]
    value: Any
    flat: Flat | None
    parent: Flat | None
    key: str | int | None


def mutations(
    document: dict[str, Any],
    resource_type: str,
    version: str = DEFAULT_VERSION,
    *,
    kinds: frozenset[str] | set[str] | None = None,
    include_divergent: bool = False,
) -> SearchStrategy[Mutant]:
    """Single-change mutants of ``document`` (a valid document of ``resource_type``).

    Each :class:`Mutant` says what was changed and where; most break the schema, some
    (``integral-float``, ``drop-member``, ``other-code``) may keep the document valid, which is
    the point: a validator must agree with the schema either way.
    """
    b = _builder(version)
    allowed = set(kinds) if kinds is not None else set(MUTATION_KINDS)
    if include_divergent and kinds is None:
        allowed |= set(DIVERGENT_KINDS)
    root = b.ss.flatten(b.ss.document(resource_type))
    by_kind: dict[str, list[_Site]] = {}
    for site in _sites(b, document, root):
        for kind in _kinds_for(site):
            if kind in allowed:
                by_kind.setdefault(kind, []).append(site)
    if not by_kind:
        return st.nothing()
    # Choose the kind first, so rare kinds are not drowned by ones every member allows.
    choices = [(kind, st.sampled_from(sites)) for kind, sites in sorted(by_kind.items())]
    return st.sampled_from(choices).flatmap(
        lambda c: c[1].flatmap(lambda site: _mutate(document, c[0], site))
    )


def _sites(b: _Builder, doc: Any, flat: Flat) -> Iterator[_Site]:
    stack: list[_Site] = [_Site((), doc, flat, None, None)]
    while stack:
        site = stack.pop()
        yield site
        value, here = site.value, site.flat
        if isinstance(value, dict):
            for key, child in value.items():
                sub = None
                if here is not None and (key in here.properties or here.additional):
                    sub = b.ss.property_flat(here, key)
                stack.append(_Site((*site.path, key), child, sub, here, key))
        elif isinstance(value, list):
            sub = b.ss.item_flat(here) if here is not None and here.items else None
            for i, child in enumerate(value):
                stack.append(_Site((*site.path, i), child, sub, here, i))


def _kinds_for(site: _Site) -> Iterator[str]:
    value, flat, parent = site.value, site.flat, site.parent
    if parent is not None and isinstance(site.key, str):
        yield "drop-required" if site.key in parent.required else "drop-member"
        yield "null-member"
    if flat is None:
        return
    if flat.types is not None or flat.enum is not None or flat.any_of:
        yield "wrong-type"
    if isinstance(value, dict):
        if flat.allowed is not None:
            yield "add-unknown-member"
        if flat.property_names and not flat.properties:
            yield "bad-extension-key"
    if isinstance(value, str):
        if flat.enum is not None:
            yield "out-of-enum"
            if len(flat.enum) > 1:
                yield "other-code"
        if flat.patterns:
            yield "broken-pattern"
            yield "trailing-newline"
        if "date-time" in flat.formats:
            yield "timestamp-without-offset"
            yield "invalid-date"
            yield "leap-second"
            yield "year-zero"
        if "date" in flat.formats:
            yield "invalid-date"
            yield "year-zero"
        if "uri" in flat.formats or "uri-reference" in flat.formats:
            yield "bad-uri"
        if "email" in flat.formats:
            yield "loose-email"
        if flat.max_length is not None:
            yield "too-long"
        if flat.min_length:
            yield "empty-string"
        if flat.patterns and flat.max_length and flat.max_length >= 100:
            yield "edge-bom"
            yield "edge-nel"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if flat.minimum is not None or flat.maximum is not None:
            yield "out-of-range"
        if isinstance(value, int) and flat.types is not None and "integer" in flat.types:
            yield "integral-float"
    if isinstance(value, list):
        if flat.unique_items and value:
            yield "duplicate-item"
        if flat.min_items and value:
            yield "too-few-items"


_WRONG_TYPES: dict[type, list[Any]] = {
    str: [42, True, ["x"], {}],
    int: ["1", 1.5, False, None],
    float: ["1.5", True],
    bool: ["true", 1],
    list: [{}, "[]"],
    dict: [[], "{}", 0],
}


def _mutate(document: dict[str, Any], kind: str, site: _Site) -> SearchStrategy[Mutant]:
    value, flat = site.value, site.flat

    def at(new: Any) -> Mutant:
        return Mutant(kind, pointer(site.path), _replace(document, site.path, new))

    def just(make: Callable[[], Mutant]) -> SearchStrategy[Mutant]:
        return st.just(None).map(lambda _: make())

    if kind == "drop-required" or kind == "drop-member":
        return just(lambda: Mutant(kind, pointer(site.path), _delete(document, site.path)))
    if kind == "null-member":
        return just(lambda: at(None))
    if kind == "wrong-type":
        options = _WRONG_TYPES.get(type(value), ["x", 0])
        return st.sampled_from(options).map(lambda v: at(copy.deepcopy(v)))
    if kind == "add-unknown-member":
        return st.sampled_from(["vendorField", "x-extra", "Status"]).map(
            lambda name: Mutant(
                kind, pointer((*site.path, name)), _replace(document, (*site.path, name), 1)
            )
        )
    if kind == "bad-extension-key":
        return st.sampled_from(["vendor", "Com.Example", "example.", "x.y_z"]).map(
            lambda name: Mutant(
                kind, pointer((*site.path, name)), _replace(document, (*site.path, name), {"a": 1})
            )
        )
    if kind == "out-of-enum":
        return just(lambda: at("no-such-code"))
    if kind == "other-code":
        assert flat is not None and flat.enum is not None
        others = [v for v in flat.enum if v != value]
        return st.sampled_from(others).map(at)
    if kind == "broken-pattern":
        return st.sampled_from([" ", "\t", "!", "中", "\x00"]).map(lambda c: at(value + c))
    if kind == "timestamp-without-offset":
        return just(lambda: at(re.sub(r"([Zz]|[+-][0-9]{2}:[0-9]{2})$", "", value)))
    if kind == "invalid-date":
        return just(lambda: at("2023-02-29" + value[10:]))
    if kind == "bad-uri":
        return st.sampled_from(["not a uri", "http://exa mple.org/", "\\\\server\\share"]).map(at)
    if kind == "too-long":
        assert flat is not None and flat.max_length is not None
        limit = flat.max_length
        return just(lambda: at(value + "a" * (limit + 1 - len(value))))
    if kind == "empty-string":
        return just(lambda: at(""))
    if kind == "out-of-range":
        assert flat is not None
        options = []
        if flat.minimum is not None:
            options.append(flat.minimum - 1)
        if flat.maximum is not None:
            options.append(flat.maximum + 1)
        return st.sampled_from(options).map(at)
    if kind == "integral-float":
        return just(lambda: at(float(value)))
    if kind == "duplicate-item":
        return just(lambda: at([*value, copy.deepcopy(value[0])]))
    if kind == "too-few-items":
        return just(lambda: at([]))
    if kind == "trailing-newline":
        return just(lambda: at(value + "\n"))
    if kind == "edge-bom":
        return just(lambda: at("\ufeff" + value))
    if kind == "edge-nel":
        return just(lambda: at("\x85" + value))
    if kind == "leap-second":
        return just(lambda: at(value[:11] + "23:59:60" + value[19:]))
    if kind == "year-zero":
        return just(lambda: at("0000" + value[4:]))
    if kind == "loose-email":
        return just(lambda: at("a..b@example.cn"))
    raise ValueError(f"unknown mutation kind {kind}")


def _replace(document: dict[str, Any], path: tuple[str | int, ...], new: Any) -> dict[str, Any]:
    if not path:
        return new  # type: ignore[no-any-return]
    out = _copy_along(document, path)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return out


def _delete(document: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    out = _copy_along(document, path)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return out


def _copy_along(document: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    """A copy that shares everything but the containers on ``path`` (cheap, and safe to edit)."""
    root: Any = dict(document)
    node = root
    for key in path[:-1]:
        child = node[key]
        child = dict(child) if isinstance(child, dict) else list(child)
        node[key] = child
        node = child
    return root  # type: ignore[no-any-return]
