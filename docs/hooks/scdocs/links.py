"""Where the generated pages live, and relative Markdown links between them.

Links are written between Markdown sources (``../codelists.md#cl-gender``); MkDocs turns
them into page URLs and the i18n plugin picks the page of the same language.
"""

from __future__ import annotations

import posixpath

from .text import code_anchor, codelist_anchor, error_anchor, requirement_anchor

CODELISTS = "reference/codelists.md"
REQUIREMENTS = "requirements.md"
ERRORS = "reference/errors.md"
HTTP_API = "reference/http-api.md"
REDACTION = "reference/redaction.md"
REFERENCE_INDEX = "reference/index.md"
VERSIONS = "reference/versions.md"
LIFECYCLES = "reference/lifecycles"
STANDARD = "standard"


def rel(here: str, target: str) -> str:
    """Relative link from the page ``here`` to the page ``target`` (both docs-relative)."""
    return posixpath.relpath(target, posixpath.dirname(here) or ".")


def codelist(here: str, name: str, code: str | None = None) -> str:
    anchor = code_anchor(name, code) if code else codelist_anchor(name)
    if name == "error-code":
        return rel(here, ERRORS) + (f"#{error_anchor(code)}" if code else "")
    return f"{rel(here, CODELISTS)}#{anchor}"


def requirements(here: str, req_or_class: str | None = None) -> str:
    base = rel(here, REQUIREMENTS)
    return f"{base}#{requirement_anchor(req_or_class)}" if req_or_class else base


def error(here: str, code: str) -> str:
    return f"{rel(here, ERRORS)}#{error_anchor(code)}"


def lifecycle_page(resource_type: str) -> str:
    return f"{LIFECYCLES}/{resource_type.lower()}.md"


def lifecycle_label(lang: str) -> str:
    return "生命周期" if lang == "zh" else "Lifecycle"


def standard_page(name: str) -> str:
    return f"{STANDARD}/{name}.md"
