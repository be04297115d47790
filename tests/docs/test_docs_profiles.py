"""The site renders every example city profile as a page in both languages: its registry,
catalogue, deadlines and grids, read from the profile itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartcommunity.profiles import load_profile

from .conftest import Build
from .sitehtml import article_text
from .test_docs_build import LANG_ROOTS, SPEC, VERSION

PROFILES = sorted((SPEC / VERSION / "profiles").glob("*.json"))


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_profile_has_its_page(built: Build, path: Path, lang: str) -> None:
    profile = load_profile(path)
    page = built.site / LANG_ROOTS[lang] / f"reference/profiles/{path.stem}/index.html"
    text = article_text(page)
    assert profile.id in text
    for code, org in profile.organisations.items():
        assert code in text and str(org["name"]) in text, code
    for category, service in profile.services.items():
        assert category in text and service.lead in text, category
    for grid in profile.grids:
        assert grid in text
    index = article_text(built.site / LANG_ROOTS[lang] / "reference/profiles/index.html")
    assert profile.title["zh-Hans" if lang == "zh" else "en"] in index
