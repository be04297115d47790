"""Generation of the documentation's reference pages from the specification folder.

``pages(spec)`` returns every generated page as ``{docs-relative path: Markdown}``, in both
languages (``x.md`` is Chinese, the default; ``x.en.md`` is English). ``expand_nav`` puts
the generated pages into the navigation, and ``MARKERS`` are the ``<!-- sc:name arg -->``
placeholders that hand-written guides use to embed generated tables.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from . import links
from .api_pages import render_api
from .codelist_pages import render_codelists, render_errors
from .indicator_pages import indicator_definitions_md, indicator_facts_md
from .lifecycle_pages import mermaid, render_lifecycle
from .lifecycle_pages import render_index as render_lifecycle_index
from .open311_pages import open311_mapping_md
from .other_pages import (
    codelist_openness_md,
    conformance_classes_md,
    render_reference_index,
    render_text,
    render_text_index,
)
from .privacy_pages import (
    mask_examples_md,
    pipl_fields_md,
    render_redaction,
    role_audience_md,
    treatment_matrix_md,
    visibility_matrix_md,
)
from .profile_pages import FOLDER as PROFILE_FOLDER
from .profile_pages import profile_files, profile_page, render_index, render_profile
from .requirement_pages import render_requirements
from .schema_pages import FOLDER as SCHEMA_FOLDER
from .schema_pages import META_FOLDER, SchemaPages, page_path
from .source import (
    DEFAULT_VERSION,
    Spec,
    meta_files,
    read_spec,
    resource_files,
    shared_files,
    spec_root,
    texts,
)
from .text import LANGS
from .version_pages import render_versions
from .walkthrough import timeline_md, vote_rules_md, votes_md

__all__ = [
    "DEFAULT_VERSION",
    "MARKERS",
    "Spec",
    "expand_nav",
    "localized_path",
    "pages",
    "read_spec",
    "replace_markers",
    "spec_root",
]


def localized_path(path: str, lang: str) -> str:
    """``guides/x.md`` → ``guides/x.en.md`` for English; Chinese keeps the plain name."""
    return path if lang == "zh" else path.removesuffix(".md") + f".{lang}.md"


def page_language(src_uri: str) -> str:
    return "en" if src_uri.endswith(".en.md") else "zh"


def plain_path(src_uri: str) -> str:
    return re.sub(r"\.(en|zh)\.md$", ".md", src_uri)


def pages(spec: Spec) -> dict[str, str]:
    """Every generated page, keyed by its docs-relative source path."""
    schema_pages = SchemaPages(spec)
    out: dict[str, str] = {}

    def add(path: str, render: Callable[[str], str]) -> None:
        for lang in LANGS:
            out[localized_path(path, lang)] = render(lang)

    add(links.REFERENCE_INDEX, lambda lang: render_reference_index(spec, lang))
    add(f"{SCHEMA_FOLDER}/index.md", schema_pages.index)
    for file in [*resource_files(spec), *shared_files(spec)]:
        add(page_path(file), functools.partial(schema_pages.render, file))
    add(f"{META_FOLDER}/index.md", schema_pages.files_index)
    for file in meta_files(spec):
        add(page_path(file), functools.partial(schema_pages.render, file))
    add(links.CODELISTS, lambda lang: render_codelists(spec, lang))
    add(f"{links.LIFECYCLES}/index.md", lambda lang: render_lifecycle_index(spec, lang))
    for rt in spec.lifecycles:
        add(links.lifecycle_page(rt), functools.partial(render_lifecycle, spec, schema_pages, rt))
    add(links.REQUIREMENTS, lambda lang: render_requirements(spec, lang))
    add(links.HTTP_API, lambda lang: render_api(spec, lang))
    add(links.ERRORS, lambda lang: render_errors(spec, lang))
    add(links.REDACTION, lambda lang: render_redaction(spec, lang))
    add(links.VERSIONS, lambda lang: render_versions(spec, lang))
    add(f"{links.STANDARD}/index.md", lambda lang: render_text_index(spec, lang))
    for name in texts(spec):
        add(links.standard_page(name), functools.partial(render_text, spec, name))
    add(f"{PROFILE_FOLDER}/index.md", lambda lang: render_index(spec, lang))
    for path in profile_files(spec):
        add(profile_page(path), functools.partial(render_profile, spec, path))
    return out


def section_children(spec: Spec) -> dict[str, list[str]]:
    """The generated pages that belong under each generated section index in the nav."""
    return {
        f"{SCHEMA_FOLDER}/index.md": [f"{SCHEMA_FOLDER}/index.md"]
        + [page_path(f) for f in [*resource_files(spec), *shared_files(spec)]],
        f"{META_FOLDER}/index.md": [f"{META_FOLDER}/index.md"]
        + [page_path(f) for f in meta_files(spec)],
        f"{links.LIFECYCLES}/index.md": [f"{links.LIFECYCLES}/index.md"]
        + [links.lifecycle_page(rt) for rt in spec.lifecycles],
        f"{links.STANDARD}/index.md": [f"{links.STANDARD}/index.md"]
        + [links.standard_page(name) for name in texts(spec)],
        f"{PROFILE_FOLDER}/index.md": [f"{PROFILE_FOLDER}/index.md"]
        + [profile_page(path) for path in profile_files(spec)],
    }


def expand_nav(nav: Any, spec: Spec) -> Any:
    """Replace each nav entry naming a generated section index by that section's pages."""
    children = section_children(spec)

    def expand(item: Any) -> Any:
        if isinstance(item, list):
            return [expand(i) for i in item]
        if isinstance(item, dict):
            return {
                key: (
                    children[value]
                    if isinstance(value, str) and value in children
                    else expand(value)
                )
                for key, value in item.items()
            }
        return item

    return expand(nav)


# -- markers in hand-written pages ---------------------------------------------------------------

Marker = Callable[[Spec, str, str, str], str]

MARKERS: dict[str, Marker] = {
    "pipl-fields": lambda spec, lang, here, arg: pipl_fields_md(spec, lang, here),
    "treatment-matrix": lambda spec, lang, here, arg: treatment_matrix_md(spec, lang, here),
    "visibility-matrix": lambda spec, lang, here, arg: visibility_matrix_md(spec, lang, here),
    "role-audience": lambda spec, lang, here, arg: role_audience_md(spec, lang, here),
    "mask-examples": lambda spec, lang, here, arg: mask_examples_md(spec, lang),
    "conformance-classes": lambda spec, lang, here, arg: conformance_classes_md(spec, lang, here),
    "codelist-openness": lambda spec, lang, here, arg: codelist_openness_md(spec, lang, here),
    "lifecycle-diagram": lambda spec, lang, here, arg: (
        "```mermaid\n" + mermaid(spec, arg, lang) + "\n```"
    ),
    "consultation-timeline": lambda spec, lang, here, arg: timeline_md(spec, arg, lang, here),
    "consultation-votes": lambda spec, lang, here, arg: votes_md(spec, arg, lang, here),
    "vote-rules": lambda spec, lang, here, arg: vote_rules_md(spec, arg),
    "spec-version": lambda spec, lang, here, arg: spec.version,
    "indicator-definitions": lambda spec, lang, here, arg: indicator_definitions_md(spec, lang),
    "indicator-facts": lambda spec, lang, here, arg: indicator_facts_md(spec, lang),
    "open311-mapping": lambda spec, lang, here, arg: open311_mapping_md(spec, lang, arg),
}

_MARKER = re.compile(
    r"^([ \t]*)<!--\s*sc:([a-z-]+)(?:\s+([^\s]+))?\s*-->|"
    r"<!--\s*sc:([a-z-]+)(?:\s+([^\s]+))?\s*-->",
    re.M,
)


def replace_markers(markdown: str, spec: Spec, src_uri: str) -> str:
    """Fill the ``<!-- sc:name [arg] -->`` markers of a hand-written page."""
    lang = page_language(src_uri)
    here = plain_path(src_uri)

    def repl(m: re.Match[str]) -> str:
        # A marker alone on its line may be indented (inside a list item): so is its output.
        indent = m.group(1) or ""
        name, arg = (m.group(2), m.group(3)) if m.group(2) else (m.group(4), m.group(5))
        if name not in MARKERS:
            raise ValueError(f"{src_uri}: unknown documentation marker sc:{name}")
        text = MARKERS[name](spec, lang, here, arg or "")
        return "\n".join(indent + line if line else line for line in text.splitlines())

    return _MARKER.sub(repl, markdown)
