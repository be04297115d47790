"""Bilingual message templates, read from the spec's ``error-code`` codelist.

The codelist's titles are the templates (``{name}`` placeholders); its descriptions explain the
code. Keeping them in ``spec/`` means the documentation, the library and every other
implementation show the same words for the same code.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

from ..specification import Codelist, Spec, load_spec


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


class ErrorCodes:
    """The error codes of one kind (``resident``, ``consultation`` …) as attributes:
    ``ErrorCodes("resident").PERIOD_ORDER`` is ``"resident.period-order"``.

    A rules module names its codes through one, so a code is written only where it is reported
    and spelt as the ``error-code`` codelist (of the default version) spells it: a name the
    codelist lacks raises :class:`AttributeError`. Iterating gives every code of the kind.
    """

    def __init__(self, kind: str) -> None:
        self._prefix = kind + "."

    def __getattr__(self, name: str) -> str:
        code = self._prefix + name.lower().replace("_", "-")
        if not name.isupper() or name.startswith("_") or code not in _error_codes():
            raise AttributeError(f"{code!r} is not in the error-code codelist")
        setattr(self, name, code)  # later reads are plain attribute reads
        return code

    def __iter__(self) -> Iterator[str]:
        return (code for code in _error_codes() if code.startswith(self._prefix))

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code.startswith(self._prefix) and code in _error_codes()


def _error_codes() -> Codelist:
    return load_spec().codelist("error-code")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value if len(value) <= 80 else value[:77] + "..."
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_show(v) for v in value)
    return str(value)
