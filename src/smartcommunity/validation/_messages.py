"""Bilingual message templates, read from the spec's ``error-code`` codelist.

The codelist's titles are the templates (``{name}`` placeholders); its descriptions explain the
code. Keeping them in ``spec/`` means the documentation, the library and every other
implementation show the same words for the same code.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ..specification import Spec


class _Lenient(dict[str, Any]):
    # A template naming a value the caller did not supply shows the name, not a KeyError.
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@functools.cache
def _templates(spec: Spec) -> Mapping[str, tuple[str, str]]:
    codelist = spec.codelists.get("error-code")
    if codelist is None:
        return {}
    return {code: (e.title_zh, e.title_en) for code, e in codelist.entries.items()}


def message(spec: Spec, code: str, **values: Any) -> dict[str, str]:
    """The message for ``code`` in both languages, with ``values`` filled in."""
    zh, en = _templates(spec).get(code, ("{detail}", "{detail}"))
    params = _Lenient({k: v if k in _WORDS else _show(v) for k, v in values.items()})
    return {"zh-Hans": zh.format_map(params), "en": en.format_map(params)}


#: Values that are the spec's own words (never input), shown whole.
_WORDS = frozenset({"expected", "expected_zh", "options"})


def codes_named(namespace: Mapping[str, object], prefix: str) -> frozenset[str]:
    """The error codes a rules module names as upper-case constants, those under ``prefix``:
    so each code is written once, and the tests compare the set with the registry's."""
    return frozenset(v for k, v in namespace.items()
                     if k.isupper() and isinstance(v, str) and v.startswith(prefix))


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value if len(value) <= 80 else value[:77] + "..."
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_show(v) for v in value)
    return str(value)
