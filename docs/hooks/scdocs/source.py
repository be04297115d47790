"""What the site needs of the specification beyond the library's :class:`Spec`.

The pages read the standard through :mod:`smartcommunity.specification` only (the folder it
reads is the installed spec, or the one ``SMARTCOMMUNITY_SPEC_ROOT`` names, so the site can
be built from a draft). This module adds what only the site uses: which schema files get a
page, code titles in the page language, the normative text files, and examples by name.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from smartcommunity.exceptions import UnknownSpecVersion
from smartcommunity.specification import (
    DEFAULT_VERSION,
    CodeEntry,
    ConformanceClass,
    Requirement,
    Spec,
    available_versions,
    load_spec,
    spec_root,
)

from .text import esc

__all__ = [
    "DEFAULT_VERSION",
    "CodeEntry",
    "ConformanceClass",
    "Requirement",
    "Spec",
    "available_versions",
    "classes",
    "code_label",
    "code_title",
    "description_of",
    "example",
    "levels",
    "load_spec",
    "meta_files",
    "read_spec",
    "requirements_citing",
    "requirements_of",
    "resource_files",
    "resource_type_of_file",
    "schema_files",
    "shared_files",
    "spec_root",
    "texts",
    "title_of",
]

#: the page language → the language key of the library's titles
_LOCALE = {"zh": "zh-Hans", "en": "en"}


def read_spec(version: str = DEFAULT_VERSION) -> Spec:
    """``version`` of the standard, read afresh from the spec root.

    Unlike :func:`load_spec` (cached for the life of the process) every build reads the files
    again, so ``mkdocs serve`` shows an edit of the spec on the next rebuild.
    """
    if version not in available_versions():
        raise UnknownSpecVersion(
            f"spec version {version!r} is not installed; installed: {available_versions()}"
        )
    return Spec(version, spec_root() / version)


@functools.cache
def schema_files(spec: Spec) -> tuple[str, ...]:
    """The schema files that get a reference page: every one but the meta-schemas."""
    return tuple(name for name in spec.schemas if "/" not in name)


def meta_files(spec: Spec) -> list[str]:
    """The meta-schemas: the formats of the standard's own data files (``schemas/meta/``)."""
    return sorted(name for name in spec.schemas if name.startswith("meta/"))


def resource_files(spec: Spec) -> list[str]:
    """The resource schemas, in ``resource-type.csv`` order."""
    return list(spec.resource_schemas.values())


def shared_files(spec: Spec) -> list[str]:
    """The shared types: every page-worthy schema that is not a resource."""
    resources = set(spec.resource_schemas.values())
    return [f for f in schema_files(spec) if f not in resources]


def resource_type_of_file(spec: Spec, file: str) -> str | None:
    """The resource type whose schema is ``file`` (None for a shared type)."""
    return next((rt for rt, f in spec.resource_schemas.items() if f == file), None)


def code_title(spec: Spec, codelist: str, code: str, lang: str) -> str:
    """The title of ``code`` in the page language (the code itself when it is not listed)."""
    entries = spec.codelists.get(codelist)
    if entries is None or code not in entries:
        return code
    return entries.title(code, _LOCALE[lang])


def code_label(spec: Spec, codelist: str, code: str, lang: str) -> str:
    """A code shown by its title in the page language, the code itself on hover (and as is
    when the list gives it no other title)."""
    title = code_title(spec, codelist, code, lang)
    if title == code:
        return f"`{code}`"
    return f'<abbr title="{html.escape(code)}">{esc(title)}</abbr>'


def title_of(entry: CodeEntry, lang: str) -> str:
    """A codelist row's title in the page language."""
    return entry.title_zh if lang == "zh" else entry.title_en


def description_of(entry: CodeEntry, lang: str) -> str:
    """A codelist row's description in the page language."""
    return entry.description_zh if lang == "zh" else entry.description_en


def levels(spec: Spec) -> tuple[str, ...]:
    """The requirement levels, the binding one first (``requirement-level.csv`` order): a
    breach of the first is an error, of any other a warning."""
    return tuple(spec.codelist("requirement-level"))


def classes(spec: Spec) -> list[ConformanceClass]:
    """The conformance classes, mandatory ones first (what every other class depends on)."""
    return sorted(spec.conformance_classes.values(), key=lambda c: not c.mandatory)


def requirements_of(spec: Spec, cls: ConformanceClass) -> list[Requirement]:
    return [spec.requirements[r] for r in cls.requirement_ids]


@functools.cache
def _citing(spec: Spec) -> Mapping[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for req in spec.requirements.values():
        for c in req.codes:
            found.setdefault(c, []).append(req.id)
    return {c: tuple(ids) for c, ids in found.items()}


def requirements_citing(spec: Spec, code: str) -> tuple[str, ...]:
    """Ids of the requirements whose registry entry lists the error ``code``."""
    return _citing(spec).get(code, ())


@functools.cache
def texts(spec: Spec) -> Mapping[str, str]:
    """Normative text files (``text/*.md``) by stem, in the order of the conformance classes."""
    found = {
        p.stem: p.read_text(encoding="utf-8") for p in sorted((spec.folder / "text").glob("*.md"))
    }
    order = [c.id.rsplit("/", 1)[-1] for c in classes(spec)]
    return dict(
        sorted(found.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
    )


def example(spec: Spec, name: str) -> dict[str, Any]:
    """One example document by its file stem, e.g. ``lift-installation-building-3``."""
    for rel, doc in spec.examples():
        if PurePosixPath(rel).stem == name:
            return doc
    raise KeyError(f"spec {spec.version} has no example {name!r}")
