"""From a jsonschema-rs error to the words a newcomer reads: one fault, its member, what is due.

The engine's own errors are made for schema authors: an ``anyOf`` failure names the whole
value and none of its branches, a ``pattern`` failure shows the regular expression. Here an
``anyOf``/``oneOf`` failure is replaced by the errors of the branch that came closest (the
one whose discriminating ``const``/``type`` the value meets, then the one with the fewest
errors), a pattern is described by the ``x-expected`` words the spec puts beside it (else the
schema's title), and a value is shown as a short excerpt, never as a dump.

Only the error path runs this code; a valid document never reaches it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: A value excerpt longer than this is cut (with an ellipsis).
EXCERPT = 40
#: Kinds by which a branch of ``anyOf``/``oneOf`` says "not me" about a member it keys on.
_DISCRIMINATING = frozenset({"const", "not", "falseSchema"})


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault in words: where, which ``schema.*`` code, the template values, and the
    evaluation path of the keyword that caught it (for the requirement it stands for)."""

    path: tuple[str | int, ...]
    code: str
    values: dict[str, Any]
    evaluation_path: tuple[str | int, ...]
    schema_path: tuple[str | int, ...]
    #: the keyword that failed (``x-requirement`` objects are keyed by it)
    keyword: str


class Explainer:
    """Explains errors of validators compiled from one root schema (resolved with ``resolver``,
    a ``referencing`` resolver at the root's base URI)."""

    def __init__(self, root: Any, resolver: Any) -> None:
        self._root = root
        self._resolver = resolver
        self._nodes: dict[tuple[str | int, ...], tuple[Any, ...]] = {}

    def faults(self, error: Any) -> Iterator[Fault]:
        """The faults ``error`` stands for: one, or one per unexpected member, or the faults
        of the closest branch of an ``anyOf``/``oneOf``."""
        kind = error.kind
        name: str = kind.name
        path: tuple[str | int, ...] = tuple(error.instance_path)
        ev: tuple[str | int, ...] = tuple(error.evaluation_path)
        sp: tuple[str | int, ...] = tuple(error.schema_path)
        if name == "required":
            prop = str(kind.property)
            yield Fault((*path, prop), "schema.required", {"property": prop, "member": prop},
                        ev, sp, name)
        elif name in {"additionalProperties", "unevaluatedProperties"}:
            for prop in getattr(kind, "unexpected", None) or [""]:
                yield Fault((*path, prop), "schema.unknown-member",
                            {"property": prop, "member": prop}, ev, sp, name)
        elif name in {"anyOf", "oneOf"}:
            branches = [list(b) for b in kind.context]
            if any(not b for b in branches):  # oneOf with more than one branch met
                yield self._fault(error, "schema.one-of", path, ev, sp)
                return
            yield from self._closest(error, branches, path, ev, sp)
        elif name == "propertyNames":
            inner = kind.error
            key = str(inner.instance)
            values = {"value": excerpt(key), "member": key,
                      **self._expected(tuple(inner.evaluation_path))}
            yield Fault((*path, key), "schema.property-names", values, ev, sp, name)
        elif name == "not" and (present := self._forbidden(ev, error.instance)):
            # "not: {required: [...]}" (often an if/else): the members present are the fault.
            for prop in present:
                yield Fault((*path, prop), "schema.false-schema", {"member": prop},
                            ev, sp, name)
        else:
            yield self._fault(error, "schema." + _kebab(name), path, ev, sp)

    def _forbidden(self, ev: tuple[str | int, ...], instance: Any) -> list[str]:
        """Members of ``instance`` a ``not`` schema forbids by requiring them, if that is all
        it says (``required``, or an ``anyOf`` of ``required``)."""
        nodes = self._walk(ev)
        node = nodes[-1] if len(nodes) == len(ev) + 1 else None
        if not isinstance(node, dict) or not isinstance(instance, dict):
            return []
        branches = node.get("anyOf", [node])
        names: list[str] = []
        for branch in branches:
            if not isinstance(branch, dict) or set(branch) - {"required", "title",
                                                             "description"}:
                return []
            names.extend(str(n) for n in branch.get("required", ()) if n in instance)
        return names

    def _fault(self, error: Any, code: str, path: tuple[str | int, ...],
               ev: tuple[str | int, ...], sp: tuple[str | int, ...]) -> Fault:
        values: dict[str, Any] = {"value": excerpt(error.instance), "member": member(path)}
        values.update(_kind_values(error.kind))
        values.update(self._expected(ev))
        return Fault(path, code, values, ev, sp, error.kind.name)

    def _closest(self, error: Any, branches: list[list[Any]], path: tuple[str | int, ...],
                 ev: tuple[str | int, ...], sp: tuple[str | int, ...]) -> Iterator[Fault]:
        depth = len(path)
        ranked = sorted(range(len(branches)), key=lambda i: _rank(branches[i], depth))
        best = branches[ranked[0]]
        faults = [f for e in best for f in self.faults(e)]
        # Branches that each fail only as the best one does, on the same value (a phone
        # number that is neither E.164 nor masked): one fault naming every form allowed.
        ties = [branches[i] for i in ranked[1:] if _rank(branches[i], depth) == _rank(best, depth)]
        if len(faults) == 1 and ties and all(len(b) == 1 for b in ties):
            first = faults[0]
            others = [f for b in ties for f in self.faults(b[0])]
            if first.code == "schema.required" and all(
                    f.code == "schema.required" and f.path[:-1] == first.path[:-1]
                    for f in others):
                # Any one of several members would do (a document's number, masked form or
                # pseudonym): name them all, at the object that lacks them.
                names = [str(f.path[-1]) for f in (first, *others)]
                yield Fault(first.path[:-1], "schema.required-any",
                            {"member": member(first.path[:-1]),
                             "names_zh": _either(names, "“{}”", "、", "或"),
                             "names": _either(names, '"{}"', ", ", " or ")},
                            ev, sp, error.kind.name)
                return
            if all(f.path == first.path and f.code == first.code for f in others) \
                    and "expected" in first.values:
                values = dict(first.values)
                for other in others:
                    values["expected_zh"] += "，或" + other.values["expected_zh"]
                    values["expected"] += "; or " + other.values["expected"]
                yield Fault(first.path, first.code, values, first.evaluation_path,
                            first.schema_path, first.keyword)
                return
        if faults:
            yield from faults
        else:  # an engine without branch details still gets a message
            yield self._fault(error, "schema." + _kebab(error.kind.name), path, ev, sp)

    def _expected(self, ev: tuple[str | int, ...]) -> dict[str, str]:
        """``expected``/``expected_zh``: the ``x-expected`` words of the schema node holding the
        failing keyword, else the title of the nearest titled node on the way to it."""
        nodes = self._walk(ev[:-1])
        last = nodes[-1] if nodes else None
        hint = last.get("x-expected") if isinstance(last, dict) else None
        if isinstance(hint, dict):
            return {"expected_zh": str(hint.get("zh-Hans", "")),
                    "expected": str(hint.get("en", ""))}
        for node in reversed(nodes):
            title = node.get("title") if isinstance(node, dict) else None
            if isinstance(title, str):
                zh, _, en = title.partition(" / ")
                return {"expected_zh": zh, "expected": en or zh}
        return {"expected_zh": "", "expected": ""}

    def _walk(self, ev: tuple[str | int, ...]) -> tuple[Any, ...]:
        """The schema nodes along an evaluation path, following ``$ref``s."""
        found = self._nodes.get(ev)
        if found is not None:
            return found
        self._nodes[ev] = result = tuple(schema_nodes(self._root, self._resolver, ev))
        return result


def schema_nodes(root: Any, resolver: Any, path: tuple[str | int, ...]) -> Iterator[Any]:
    """The schema nodes along an evaluation ``path`` from ``root``, following ``$ref``s; it
    stops at a step the schema text does not have (an engine's own path step)."""
    node = root
    yield node
    for token in path:
        if token == "$ref" and isinstance(node, dict) and isinstance(node.get("$ref"), str):
            resolved = resolver.lookup(node["$ref"])
            node, resolver = resolved.contents, resolved.resolver
        elif isinstance(node, dict) and token in node:  # noqa: SIM114 - narrows per type
            node = node[token]
        elif isinstance(node, list) and isinstance(token, int) and 0 <= token < len(node):
            node = node[token]
        else:
            return
        yield node


def _either(names: list[str], quote: str, comma: str, last: str) -> str:
    quoted = [quote.format(n) for n in names]
    return quoted[0] if len(quoted) == 1 else comma.join(quoted[:-1]) + last + quoted[-1]


def _rank(branch: list[Any], depth: int) -> tuple[bool, int, int]:
    """Sort key of a failed branch: first the branches whose key members match (no ``const``
    or ``not`` failing on the value or a member of it, no wrong type of the value itself),
    then the fewest errors, then the deepest."""
    mismatch = False
    deepest = 0
    for e in branch:
        where = len(e.instance_path)
        deepest = max(deepest, where)
        name = e.kind.name
        if (name in _DISCRIMINATING and where <= depth + 1) or (name == "type" and where == depth):
            mismatch = True
    return mismatch, len(branch), -deepest


def member(path: tuple[str | int, ...]) -> str:
    """The member a path ends at, as a reader names it: ``reason``, ``contactPoints[0]``."""
    indexes = ""
    for token in reversed(path):
        if isinstance(token, int):
            indexes = f"[{token}]" + indexes
        else:
            return token + indexes
    return indexes or "/"


def excerpt(value: Any) -> str:
    """A short quoted excerpt of a value: objects and arrays by their kind, never dumped."""
    if isinstance(value, str):
        text = value if len(value) <= EXCERPT else value[:EXCERPT - 1] + "…"
        return json.dumps(text, ensure_ascii=False)
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = type(value).__name__
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


def _kind_values(kind: Any) -> dict[str, Any]:
    try:
        raw = kind.as_dict()
    except Exception:  # a kind without structured data still gets a message
        return {}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "options":
            items = value if isinstance(value, list) else [value]
            out[key] = _listed(items)
        elif key == "expected_value":
            out[key] = excerpt(value)
        elif key in {"types", "expected"}:
            out["types"] = value if isinstance(value, str) else ", ".join(map(str, value))
        elif key in {"pattern", "context", "error", "schema"}:
            continue  # never shown: the expected words say it
        elif key == "required" and isinstance(value, list):
            out[key] = ", ".join(map(str, value))
        else:
            out[key] = value
    return out


def _listed(items: list[Any], limit: int = 12) -> str:
    shown = [str(i) if isinstance(i, str) else excerpt(i) for i in items[:limit]]
    more = len(items) - len(shown)
    return ", ".join(shown) + (f", … (+{more})" if more > 0 else "")


def _kebab(name: str) -> str:
    out = "".join("-" + c.lower() if c.isupper() else c for c in name)
    return out.lstrip("-")
