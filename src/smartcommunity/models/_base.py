"""Runtime support of the generated models: the base class and the JSON Schema semantics.

The models accept exactly the documents the normative schemas accept (the tests prove it
against python-jsonschema), so every rule here follows JSON Schema, not Python habits: no type
coercion, ``null`` only where the schema allows it (nowhere), ``1.0`` is an integer, patterns are
searched with Python's ``re`` like the reference validator, and formats are checked by the same
format checker.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Annotated, Any, ClassVar, Self

from jsonschema import Draft202012Validator
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ._schemas import json_key

__all__ = [
    "JsonInt",
    "Number",
    "SpecModel",
    "conforms",
    "count_between",
    "fmt",
    "json_equal",
    "matches",
    "not_matching",
    "rule_broken",
    "unique",
]

_FORMATS = Draft202012Validator.FORMAT_CHECKER


class SpecModel(BaseModel):
    """Base of every generated model: strict JSON Schema semantics, members by their JSON names."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        regex_engine="python-re",
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        use_attribute_docstrings=False,
    )

    #: URI of the schema (with a JSON Pointer fragment for a nested one) the model mirrors
    schema_uri: ClassVar[str] = ""
    #: members whose schema allows ``null`` (the others are left out when absent, never null)
    nullable_members: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_null_members(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None and key not in cls.nullable_members:
                    raise ValueError(f"member {key!r} is null; leave it out instead")
        return data

    def to_json(self) -> dict[str, Any]:
        """The document as JSON data: member names as in the standard, unset members left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    @classmethod
    def from_json(cls, document: Any) -> Self:
        """Parse a JSON document (already decoded) into the model."""
        return cls.model_validate(document)

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """Pydantic's validation; a value that breaks a pattern is told in words (the
        schema's ``x-expected``), never by the regular expression."""
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise _worded(cls, exc) from None


def _integral(value: Any) -> Any:
    # JSON Schema counts 1.0 as an integer; bool is never one (strict mode rejects it below).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: A JSON Schema ``integer``: an int, or a float with no fractional part; never a bool.
JsonInt = Annotated[int, BeforeValidator(_integral)]
#: A JSON Schema ``number``: kept as int or float as it was written; never a bool.
Number = int | float


@functools.cache
def fmt(name: str) -> AfterValidator:
    """An ``AfterValidator`` checking format ``name`` as the reference validator does."""

    def check(value: str) -> str:
        if not _FORMATS.conforms(value, name):
            raise ValueError(f"{value!r} is not a valid {name}")
        return value

    check.__name__ = f"format_{name.replace('-', '_')}"
    return AfterValidator(check)


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def matches(pattern: str, value: str) -> bool:
    """``pattern`` as the reference validator applies it (``re.search``)."""
    return _compiled(pattern).search(value) is not None


@functools.cache
def not_matching(pattern: str) -> AfterValidator:
    """An ``AfterValidator`` for ``not: {pattern: …}``: the value must not match."""

    def check(value: str) -> str:
        if matches(pattern, value):
            raise ValueError(f"{value!r} must not match {pattern!r}")
        return value

    return AfterValidator(check)


def _as_json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, list | tuple):
        return [_as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    return value


def unique(values: Iterable[Any]) -> bool:
    """``uniqueItems``: no two items are equal as JSON values."""
    seen: set[str] = set()
    for value in values:
        key = json_key(_as_json(value))
        if key in seen:
            return False
        seen.add(key)
    return True


def json_equal(value: Any, expected: Any) -> bool:
    """``const``/``enum`` equality of JSON Schema (``1 == 1.0``, ``True != 1``)."""
    return json_key(_as_json(value)) == json_key(expected)


def count_between(count: int, low: int, high: int | None) -> bool:
    return count >= low and (high is None or count <= high)


def conforms(model: type[BaseModel], value: Any) -> bool:
    """True when ``value`` (JSON data or a model) is a valid ``model``."""
    try:
        model.model_validate(_as_json(value))
    except ValidationError:
        return False
    return True


_VERSION_IN_URI = re.compile(r"/spec/([0-9]+\.[0-9]+)/")


def rule_broken(model: SpecModel) -> str:
    """Why ``model`` breaks a rule of its schema that spans members (``if``/``then``,
    ``anyOf``, ...), in both languages: the library's message for the first fault its JSON
    shows against the schema the model mirrors, never the schema itself."""
    from ..specification import load_spec
    from ..validation import message, schema_problems

    found = _VERSION_IN_URI.search(model.schema_uri)
    spec = load_spec(found.group(1)) if found else None
    if spec is not None:
        checker = _checker(spec.version, model.schema_uri)
        for where, code, values in schema_problems(checker, model.to_json()):
            said = message(spec, code, **values)
            place = "/" + "/".join(str(p) for p in where)
            return f"{place}: {said['zh-Hans']} / {said['en']}"
    name = type(model).__name__
    return f"{name} 不符合其模式的规则 / {name} breaks a rule of its schema"


@functools.cache
def _checker(version: str, uri: str) -> Any:
    from ..specification import load_spec
    from ..validation import compile_schema

    spec = load_spec(version)
    return compile_schema(spec, {"$id": spec.base_uri + "model-rule.json", "$ref": uri})


def _worded(model: type[SpecModel], exc: ValidationError) -> ValidationError:
    """``exc`` with each pattern mismatch worded by the spec's ``x-expected``."""
    found = _VERSION_IN_URI.search(model.schema_uri)
    words = _pattern_words(found.group(1)) if found else {}
    errors = exc.errors()
    if not any(e["type"] == "string_pattern_mismatch" for e in errors):
        return exc
    lines: list[Any] = []
    for e in errors:
        if e["type"] == "string_pattern_mismatch":
            zh, en = words.get(str((e.get("ctx") or {}).get("pattern")), ("规定的写法",
                                                                        "the form required"))
            kind = PydanticCustomError(
                "string_pattern_mismatch",
                "写法不对：应为{expected_zh} / not written as required; expected {expected}",
                {"expected_zh": zh, "expected": en})
            lines.append({"type": kind, "loc": e["loc"], "input": e["input"]})
        else:
            line = {"type": e["type"], "loc": e["loc"], "input": e["input"]}
            if "ctx" in e:
                line["ctx"] = e["ctx"]
            lines.append(line)
    return ValidationError.from_exception_data(exc.title, lines)


@functools.cache
def _pattern_words(version: str) -> dict[str, tuple[str, str]]:
    """Pattern → its ``x-expected`` words (Chinese, English) in the schemas of ``version``."""
    from ..specification import load_spec

    out: dict[str, tuple[str, str]] = {}
    stack: list[Any] = list(load_spec(version).schemas.values())
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            hint = node.get("x-expected")
            if isinstance(node.get("pattern"), str) and isinstance(hint, dict):
                out[node["pattern"]] = (str(hint.get("zh-Hans", "")), str(hint.get("en", "")))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out
