"""(a) The site builds with ``mkdocs build --strict``, in both languages, offline."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from smartcommunity.specification import DEFAULT_VERSION

from .conftest import REPO, Build
from .sitehtml import parse

SPEC = REPO / "spec"
#: the version the reference pages show
VERSION = DEFAULT_VERSION
LANG_ROOTS = {"zh": "", "en": "en/"}


def test_strict_build_succeeds(built: Build) -> None:
    # The fixture ran `python -m mkdocs build --strict` and checked its exit status.
    assert "WARNING" not in built.output
    for root in LANG_ROOTS.values():
        for page in (
            "index.html",
            "requirements/index.html",
            "guides/privacy/index.html",
            "reference/schemas/resident/index.html",
            "performance/index.html",
            "reference/lifecycles/consultation/index.html",
            "changelog/index.html",
        ):
            assert (built.site / root / page).is_file(), f"{root}{page} was not built"


def test_every_spec_part_has_pages_in_both_languages(built: Build) -> None:
    folder = SPEC / VERSION
    schemas = [p.stem for p in (folder / "schemas").glob("*.json")]
    texts = [p.stem for p in (folder / "text").glob("*.md")]
    lifecycles = [
        json.loads(p.read_text("utf-8"))["resourceType"].lower()
        for p in (folder / "lifecycles").glob("*.json")
    ]
    for root in LANG_ROOTS.values():
        for stem in schemas:
            assert (built.site / root / f"reference/schemas/{stem}/index.html").is_file()
        for name in texts:
            assert (built.site / root / f"standard/{name}/index.html").is_file()
        for name in lifecycles:
            assert (built.site / root / f"reference/lifecycles/{name}/index.html").is_file()
        for page in (
            "reference/codelists",
            "reference/errors",
            "reference/http-api",
            "reference/redaction",
            "requirements",
        ):
            assert (built.site / root / page / "index.html").is_file()


def test_every_code_and_requirement_has_its_anchor(built: Build) -> None:
    folder = SPEC / VERSION
    requirement_ids = [
        r["id"]
        for p in (folder / "requirements").glob("*.json")
        for r in json.loads(p.read_text("utf-8"))["requirements"]
    ]
    for root in LANG_ROOTS.values():
        req_ids = parse(built.site / root / "requirements/index.html").ids
        for rid in requirement_ids:
            # The documented anchor rule: drop the leading slash, other slashes become hyphens.
            assert rid.strip("/").replace("/", "-") in req_ids, rid
        codelist_ids = parse(built.site / root / "reference/codelists/index.html").ids
        error_ids = parse(built.site / root / "reference/errors/index.html").ids
        for path in (folder / "codelists").glob("*.csv"):
            with path.open(encoding="utf-8", newline="") as fh:
                codes = [row["code"] for row in csv.DictReader(fh)]
            if path.stem == "error-code":
                assert all("err-" + re.sub(r"[^A-Za-z0-9._-]+", "-", c) in error_ids for c in codes)
                continue
            assert f"cl-{path.stem}" in codelist_ids
            for c in codes:
                assert f"cl-{path.stem}--{re.sub(r'[^A-Za-z0-9._-]+', '-', c)}" in codelist_ids


def test_generated_pages_are_never_committed() -> None:
    docs = REPO / "docs"
    for generated in ("reference", "standard", "requirements.md", "requirements.en.md"):
        assert not (docs / generated).exists(), f"docs/{generated} is generated at build time"


def test_nothing_is_loaded_from_the_internet(built: Build) -> None:
    # Scripts, stylesheets and images are all local: no CDN, no web fonts.
    for html in built.site.rglob("*.html"):
        for tag, _, value in parse(html).links:
            if tag in ("script", "link", "img", "iframe", "source") and value.startswith(
                ("http:", "https:", "//")
            ):
                # The canonical link and the feed of the site's own URL are not fetched.
                assert tag == "link" and value.startswith("https://w3id.org/smartcommunity/"), (
                    f"{html.relative_to(built.site)} loads {value}"
                )
    bundle = (built.site / "assets/javascripts/mermaid.min.js").read_text("utf-8")
    assert "The MIT License" in bundle[:2000]


def test_changelog_is_included_not_copied(built: Build) -> None:
    assert not any(
        "## Unreleased" in p.read_text("utf-8") for p in Path(REPO / "docs").glob("changelog*.md")
    )
    first = next(
        line
        for line in (REPO / "CHANGELOG.md").read_text("utf-8").splitlines()
        if line.startswith("- ")
    )
    words = first[2:40]
    for root in LANG_ROOTS.values():
        text = (built.site / root / "changelog/index.html").read_text("utf-8")
        assert words.split("`")[0][:20] in text
