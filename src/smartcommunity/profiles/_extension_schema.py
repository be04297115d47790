"""Where a registered extension's schema admits a value no ``x-pipl`` tag covers
(/req/profiles/extension-schemas).

Redaction treats an extension's values by the tags of its schema, and treats anything else as
sensitive. So that the tags say what every value is, each value the schema admits lies at or
within a tagged member: the members an object admits are named in ``properties`` (of the
object itself or of the subschemas that describe the same value: ``allOf``, ``anyOf``,
``oneOf``, ``if``/``then``/``else``, ``dependentSchemas`` and the schema's own ``$ref``
targets) and each carries a tag, or are admitted by ``patternProperties`` or
``additionalProperties`` subschemas that are tagged themselves or tag what they admit in the
same way; the object admits no other member. Redaction finds the members those two keywords
admit as a validator does. An untagged part of the schema may therefore not leave an object
open, admit members by ``unevaluatedProperties`` (which members that covers depends on the
subschemas a value passes, which redaction does not evaluate), leave an array's items
undescribed or given by ``prefixItems``, admit a bare value, or take its values from a schema
of the specification, whose members the extension does not tag.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Where = tuple[str | int, ...]
#: a finding: where, whether a named member lacks its tag (``UNTAGGED``), the schema admits
#: values it names no tag for (``OPEN``) or admits members by ``unevaluatedProperties``
#: (``UNEVALUATED``), and the member or keyword at fault
Problem = tuple[Where, str, str]
UNTAGGED, OPEN, UNEVALUATED = "member-untagged", "values-untagged", "unevaluated"

#: keywords whose values are data, not schemas
_DATA_KEYWORDS = frozenset({"const", "enum", "examples", "default"})
#: keywords whose values map names (any names) to schemas
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions",
                          "dependentSchemas"})
#: subschemas that describe the same value as the schema holding them, as redaction's plan
#: reads them (a tag on one covers the value)
_SAME_VALUE = ("allOf", "anyOf", "oneOf", "then", "else")
#: subschemas that name members without their tags reaching redaction's plan: a member named
#: there still needs a tag, and is redacted as sensitive unless named elsewhere too
_NAMING = ("if", "dependentSchemas")
#: the shapes of a JSON value this module tells apart
_SHAPES = frozenset({"object", "array", "scalar"})


def untagged(schema: Any, where: Where, resolver: Any) -> Iterator[Problem]:
    """Where the extension ``schema`` (at ``where`` in the profile; its references already
    known to resolve with ``resolver``) admits a value no tag covers."""
    places: dict[int, Where] = {}
    _locate(schema, where, places)
    yield from _Walk(places).value(schema, where, resolver)


def _locate(node: Any, where: Where, places: dict[int, Where]) -> None:
    """Record where each subschema of the extension's schema is, by identity."""
    if isinstance(node, list):
        for n, item in enumerate(node):
            _locate(item, (*where, n), places)
        return
    if not isinstance(node, dict):
        return
    places[id(node)] = where
    for keyword, value in node.items():
        if keyword in _SCHEMA_MAPS and isinstance(value, dict):
            for name, sub in value.items():
                _locate(sub, (*where, keyword, name), places)
        elif keyword not in _DATA_KEYWORDS and not keyword.startswith("x-"):
            _locate(value, (*where, keyword), places)


class _Walk:
    """The walk over one extension schema; ``places`` tells its own subschemas from the
    specification's."""

    def __init__(self, places: dict[int, Where]) -> None:
        self.places = places

    def target(self, node: dict[str, Any], resolver: Any) -> tuple[Any, Any] | None:
        """The subschema ``node``'s ``$ref`` points to and its resolver; None without one."""
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return None
        resolved = resolver.lookup(ref)
        return resolved.contents, resolved.resolver

    def same_value(self, node: dict[str, Any], resolver: Any, *, naming: bool = False
                   ) -> Iterator[tuple[Any, Where, Any, str]]:
        """The subschemas describing the value ``node`` describes: (subschema, where,
        resolver, the keyword leading to it); with ``naming``, those that only name members
        too."""
        where = self.places.get(id(node), ())
        keywords = (*_SAME_VALUE, *_NAMING) if naming else _SAME_VALUE
        for keyword in keywords:
            value = node.get(keyword)
            if isinstance(value, list):
                for n, sub in enumerate(value):
                    yield sub, (*where, keyword, n), resolver, keyword
            elif keyword == "dependentSchemas" and isinstance(value, dict):
                for name, sub in value.items():
                    yield sub, (*where, keyword, name), resolver, keyword
            elif keyword in node:
                yield value, (*where, keyword), resolver, keyword
        found = self.target(node, resolver)
        if found is not None:
            yield found[0], self.places.get(id(found[0]), (*where, "$ref")), found[1], "$ref"

    def tagged(self, node: Any, resolver: Any, seen: frozenset[int] = frozenset()) -> bool:
        """Whether a tag covers the value ``node`` describes: its own, or one of a subschema
        describing the same value (redaction's plan reads them all at the same path)."""
        if not isinstance(node, dict) or id(node) in seen:
            return False
        if "x-pipl" in node:
            return True
        seen |= {id(node)}
        return any(self.tagged(sub, r, seen) for sub, _, r, _ in self.same_value(node, resolver))

    def parts(self, node: dict[str, Any], where: Where, resolver: Any
              ) -> tuple[list[tuple[dict[str, Any], Where, Any]], list[Where]]:
        """The subschemas of the extension that describe or name the members of the value
        ``node`` describes (``node`` first), and where the value is handed to a schema that is
        not the extension's (the specification's)."""
        found: list[tuple[dict[str, Any], Where, Any]] = []
        outside: list[Where] = []
        seen: set[int] = set()
        stack = [(node, where, resolver)]
        while stack:
            part, at, r = stack.pop()
            if id(part) in seen:
                continue
            seen.add(id(part))
            found.append((part, at, r))
            if isinstance(part.get("$dynamicRef"), str):
                outside.append((*at, "$dynamicRef"))
            for sub, sub_at, sub_r, keyword in self.same_value(part, r, naming=True):
                if keyword == "$ref" and id(sub) not in self.places:
                    outside.append((*at, "$ref"))
                elif isinstance(sub, dict):
                    stack.append((sub, sub_at, sub_r))
        return found, outside

    def closed(self, node: Any, resolver: Any, seen: frozenset[int] = frozenset()) -> bool:
        """Whether an object ``node`` describes admits no member beyond those some subschema
        names (a member admitted otherwise is reported where it is admitted)."""
        if not isinstance(node, dict) or id(node) in seen:
            return False
        if any(node.get(k, True) is not True
               for k in ("additionalProperties", "unevaluatedProperties")):
            return True
        seen |= {id(node)}
        if any(self.closed(sub, resolver, seen) for sub in node.get("allOf") or ()):
            return True
        for keyword in ("anyOf", "oneOf"):
            branches = node.get(keyword) or ()
            if branches and all(self.closed(sub, resolver, seen) for sub in branches):
                return True
        found = self.target(node, resolver)
        # A schema of the specification is reported where it is referred to.
        return found is not None and (id(found[0]) not in self.places
                                      or self.closed(found[0], found[1], seen))

    def shapes(self, node: Any, resolver: Any, seen: frozenset[int] = frozenset()
               ) -> frozenset[str]:
        """The shapes (object, array, scalar) of the values ``node`` admits, as far as its
        ``type``, ``const`` and ``enum`` and those of its subschemas tell."""
        if node is False:
            return frozenset()
        if not isinstance(node, dict) or id(node) in seen:
            return _SHAPES
        seen |= {id(node)}
        shapes = _SHAPES
        kind = node.get("type")
        if isinstance(kind, str | list):
            kinds = [kind] if isinstance(kind, str) else kind
            shapes &= {k if k in ("object", "array") else "scalar" for k in kinds}
        values = ([node["const"]] if "const" in node else []) + list(node.get("enum") or ())
        if "const" in node or "enum" in node:
            shapes &= {_shape(v) for v in values}
        for sub in node.get("allOf") or ():
            shapes &= self.shapes(sub, resolver, seen)
        for keyword in ("anyOf", "oneOf"):
            branches = node.get(keyword) or ()
            if branches:
                shapes &= frozenset().union(*(self.shapes(b, resolver, seen) for b in branches))
        found = self.target(node, resolver)
        if found is not None:
            shapes &= self.shapes(found[0], found[1], seen)
        return frozenset(shapes)

    def value(self, schema: Any, where: Where, resolver: Any,
              seen: frozenset[int] = frozenset()) -> Iterator[Problem]:
        """What ``schema``, describing a value no tag above covers, admits untagged."""
        if schema is True:
            yield where, OPEN, str(where[-1])
            return
        if not isinstance(schema, dict) or id(schema) in seen \
                or self.tagged(schema, resolver):
            return
        seen |= {id(schema)}
        parts, outside = self.parts(schema, where, resolver)
        for at in outside:
            yield at, OPEN, str(at[-1])
        members: dict[str, list[tuple[Any, Where, Any]]] = {}
        items: list[tuple[Any, Where, Any]] = []
        # Members held to a subschema of their own, as an array's items are: those a pattern
        # finds or beyond those named, which redaction finds as a validator does.
        found: list[tuple[Any, Where, Any]] = []
        for part, at, r in parts:
            for name, sub in (part.get("properties") or {}).items():
                members.setdefault(name, []).append((sub, (*at, "properties", name), r))
            if part.get("prefixItems"):
                yield (*at, "prefixItems"), OPEN, "prefixItems"
            for pattern, sub in (part.get("patternProperties") or {}).items():
                if sub is True:  # admits any value under the names it finds
                    yield (*at, "patternProperties", pattern), OPEN, "patternProperties"
                else:
                    found.append((sub, (*at, "patternProperties", pattern), r))
            if isinstance(part.get("additionalProperties"), dict):  # true leaves it open
                found.append((part["additionalProperties"], (*at, "additionalProperties"), r))
            if isinstance(part.get("unevaluatedProperties"), dict):
                yield (*at, "unevaluatedProperties"), UNEVALUATED, "unevaluatedProperties"
            if "items" in part:
                items.append((part["items"], (*at, "items"), r))
        for name, occurrences in members.items():
            admitted = [(sub, at, r) for sub, at, r in occurrences if sub is not False]
            if admitted and not any(self.tagged(sub, r) for sub, _, r in admitted):
                yield admitted[0][1], UNTAGGED, name
        shapes = self.shapes(schema, resolver)
        if "object" in shapes and not self.closed(schema, resolver):
            yield where, OPEN, "additionalProperties"
        if "array" in shapes and not items:
            yield where, OPEN, "items"
        for sub, at, r in [*found, *items]:
            yield from self.value(sub, at, r, seen)
        if "scalar" in shapes:
            yield where, OPEN, "type"


def _shape(value: Any) -> str:
    return "object" if isinstance(value, dict) else "array" if isinstance(value, list) \
        else "scalar"
