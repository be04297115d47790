"""Runtime support of the generated models: the base class and the JSON Schema semantics.

The models accept exactly the documents the normative schemas accept (the tests prove it
against python-jsonschema), so every rule here follows JSON Schema, not Python habits: no type
coercion, ``null`` only where the schema allows it (nowhere), ``1.0`` is an integer, patterns are
searched with Python's ``re`` like the reference validator, and formats are checked by the same
format checker.
"""

from __future__ import annotations

import functools
import json
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

from ..exceptions import ModelError, ModelProblem
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
    "model_error",
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

    def __init__(self, /, **data: Any) -> None:
        """Build a model from its members by their JSON names (``Issue(**document)``),
        refusing as :meth:`model_validate` does."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise model_error(type(self), data, exc) from None

    # Behaves as pydantic's own __init__: nested models are still validated without calling
    # it, so a failed union branch never pays for a worded error.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

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
        """Pydantic's validation, refusing with :class:`~smartcommunity.ModelError`: each fault
        named by its member, with the validator's ``schema.*`` code and its words in Chinese
        and English (never pydantic's English text or an excerpt of the input)."""
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise model_error(cls, obj, exc) from None

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, *args: Any,
                            **kwargs: Any) -> Self:
        """Pydantic's JSON parsing, refusing as :meth:`model_validate` does."""
        try:
            return super().model_validate_json(json_data, *args, **kwargs)
        except ValidationError as exc:
            try:
                document: Any = json.loads(json_data)
            except ValueError as bad:
                raise _not_json(cls, bad) from None
            raise model_error(cls, document, exc) from None


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
        # pydantic's own check: a failed branch needs no worded report
        model.__pydantic_validator__.validate_python(_as_json(value))
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


#: pydantic error type → the ``schema.*`` code of the same fault, for faults the schema check
#: cannot see (input that is not JSON data)
_CODES = {
    "missing": "schema.required", "extra_forbidden": "schema.unknown-member",
    "string_too_short": "schema.min-length", "string_too_long": "schema.max-length",
    "too_short": "schema.min-items", "too_long": "schema.max-items",
    "greater_than_equal": "schema.minimum", "less_than_equal": "schema.maximum",
    "greater_than": "schema.exclusive-minimum", "less_than": "schema.exclusive-maximum",
    "multiple_of": "schema.multiple-of", "literal_error": "schema.enum",
    "enum": "schema.enum", "string_pattern_mismatch": "schema.pattern",
}


#: pydantic type error → the JSON type the schema expects
_EXPECTED = {
    "string_type": "string", "int_type": "integer", "int_from_float": "integer",
    "float_type": "number", "bool_type": "boolean", "list_type": "array",
    "dict_type": "object", "model_type": "object", "model_attributes_type": "object",
}


def model_error(model: type[SpecModel], document: Any, exc: ValidationError) -> ModelError:
    """The :class:`ModelError` for ``exc``: the faults the validator's schema check finds in
    ``document`` (the models accept exactly what the schemas accept), worded by the
    validator's message function; pydantic's list, mapped to the same codes, when the input
    is not JSON data the schema check can read."""
    from ..specification import load_spec
    from ..validation import message, schema_problems

    found = _VERSION_IN_URI.search(model.schema_uri)
    spec = load_spec(found.group(1)) if found else load_spec()
    problems: list[ModelProblem] = []
    if found:
        try:
            faults = list(schema_problems(_checker(spec.version, model.schema_uri), document))
        except (TypeError, ValueError):  # not JSON data (a tuple, a datetime …)
            faults = []
        for where, code, values in faults:
            said = message(spec, code, **values)
            problems.append(ModelProblem(_pointer(where), code, said["zh-Hans"], said["en"]))
    if not problems:
        words = _pattern_words(spec.version)
        for e in exc.errors(include_url=False):
            where = tuple(p for p in e["loc"] if isinstance(p, int) or "[" not in p)
            code = _CODES.get(e["type"], "schema.type")
            ctx = e.get("ctx") or {}
            zh, en = words.get(str(ctx.get("pattern")), ("规定的写法", "the form required"))
            member = str(where[-1]) if where else "/"
            if code == "schema.required":
                filled: dict[str, Any] = {"property": member}
            elif code == "schema.unknown-member":
                filled = {"property": member}
            else:
                filled = {"member": member, "value": _kind(e["input"]), "limit": _limit(ctx),
                          "types": _EXPECTED.get(e["type"].removeprefix("strict_"),
                                                 "JSON"),
                          "multiple_of": ctx.get("multiple_of"), "options": ctx.get("expected"),
                          "expected_zh": zh, "expected": en}
            said = message(spec, code, **filled)
            problems.append(ModelProblem(_pointer(where), code, said["zh-Hans"], said["en"]))
    return ModelError(model.__name__, problems)


def _not_json(model: type[SpecModel], bad: ValueError) -> ModelError:
    """The :class:`ModelError` for text that is not JSON (or not UTF-8)."""
    from ..specification import load_spec
    from ..validation import message

    found = _VERSION_IN_URI.search(model.schema_uri)
    spec = load_spec(found.group(1)) if found else load_spec()
    if isinstance(bad, json.JSONDecodeError):
        code, values = "document.not-json", {"detail": bad.msg, "line": bad.lineno,
                                             "column": bad.colno}
    else:
        code, values = "document.invalid-utf8", {"position": getattr(bad, "start", 0)}
    said = message(spec, code, **values)
    return ModelError(model.__name__, [ModelProblem("", code, said["zh-Hans"], said["en"])])


def _pointer(where: Iterable[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in where)


def _limit(ctx: dict[str, Any]) -> Any:
    for key in ("min_length", "max_length", "ge", "le", "gt", "lt"):
        if key in ctx:
            return ctx[key]
    return None


def _kind(value: Any) -> str:
    """A value's kind, never the value: the input may hold personal information."""
    return type(value).__name__


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
