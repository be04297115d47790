"""(c) Changing the spec changes the built site: nothing on the reference pages is typed by hand.

The site is built once from a modified copy of ``spec/`` (the hook reads the spec root named by
``SMARTCOMMUNITY_SPEC_ROOT``, as the whole library does): edits of the default version must
show up on the right page, in the right language, and a further version folder must be listed
beside it with no change to any Python file.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from .conftest import Build, build_site, shared_build
from .sitehtml import article_text
from .test_docs_build import LANG_ROOTS, SPEC, VERSION

ZH, EN = "标记说明甲乙丙", "MarkerDescriptionQuux"
#: a draft version added beside the published one, and a title only it has
DRAFT, DRAFT_ZH, DRAFT_EN = "1.99", "草案核心类甲乙", "DraftCoreClassQuux"


def _edit_json(path: Path, edit) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(path.read_text("utf-8"))
    edit(data)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), "utf-8")


def _add_draft(spec: Path) -> None:
    """A copy of the default version as ``DRAFT``, its ``$id``s moved to the draft's URIs."""
    draft = spec / DRAFT
    shutil.copytree(spec / VERSION, draft)
    for path in draft.rglob("*"):
        if path.suffix in (".json", ".yaml"):
            text = path.read_text("utf-8")
            path.write_text(text.replace(f"/spec/{VERSION}/", f"/spec/{DRAFT}/"), "utf-8")

    def core(registry: dict) -> None:  # type: ignore[type-arg]
        registry["class"]["title"] = {"zh-Hans": DRAFT_ZH, "en": DRAFT_EN}

    _edit_json(draft / "requirements/core.json", core)


@pytest.fixture(scope="session")
def changed(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Build:
    """The site built from a copy of the spec with edits to the default version and a draft."""
    return shared_build(tmp_path_factory, worker_id, "docs-changed", _build_changed)


def _build_changed(tmp_path: Path) -> Build:
    spec = tmp_path / "spec"
    shutil.copytree(SPEC, spec)
    folder = spec / VERSION

    # A field description, a new field, a codelist title, a requirement statement.
    def resident(schema: dict) -> None:  # type: ignore[type-arg]
        schema["properties"]["name"]["description"] = f"{ZH}姓名 / {EN}Name"
        schema["properties"]["nickname"] = {
            "title": "昵称 / Nickname",
            "description": f"{ZH}昵称 / {EN}Nickname",
            "type": "string",
            "x-pipl": "personal",
        }

    _edit_json(folder / "schemas/resident.json", resident)

    gender = folder / "codelists/gender.csv"
    with gender.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows[0]["title_zh"], rows[0]["title_en"] = f"{ZH}性别", f"{EN}Gender"
    with gender.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    def core(registry: dict) -> None:  # type: ignore[type-arg]
        registry["requirements"][0]["statement"] = {"zh-Hans": f"{ZH}需求", "en": f"{EN}Req"}

    _edit_json(folder / "requirements/core.json", core)
    _add_draft(spec)
    return build_site(tmp_path / "site", spec_root=spec)


def test_a_changed_spec_changes_the_site(changed: Build, built: Build) -> None:
    for lang, root in LANG_ROOTS.items():
        own = ZH if lang == "zh" else EN
        resident_page = article_text(changed.site / root / "reference/schemas/resident/index.html")
        assert f"{ZH}姓名" in resident_page and f"{EN}Name" in resident_page
        assert "nickname" in resident_page
        codelists = article_text(changed.site / root / "reference/codelists/index.html")
        assert f"{ZH}性别" in codelists and f"{EN}Gender" in codelists
        requirements = article_text(changed.site / root / "requirements/index.html")
        assert f"{own}" in requirements
        # The new personal field is in the generated PIPL list of the privacy guide.
        privacy = article_text(changed.site / root / "guides/privacy/index.html")
        assert "nickname" in privacy

    # And the site built from the real spec has none of it.
    for root in LANG_ROOTS.values():
        page = article_text(built.site / root / "reference/schemas/resident/index.html")
        assert ZH not in page and EN not in page and "nickname" not in page


def test_every_installed_version_is_listed(changed: Build, built: Build) -> None:
    for lang, root in LANG_ROOTS.items():
        page = article_text(changed.site / root / "reference/versions/index.html")
        assert VERSION in page and DRAFT in page
        # The draft's section is read from the draft's own files.
        assert (DRAFT_ZH if lang == "zh" else DRAFT_EN) in page
        # The reference pages stay those of the default version.
        schemas = article_text(changed.site / root / "reference/schemas/index.html")
        assert f"spec/{VERSION}/schemas/" in schemas and f"spec/{DRAFT}/" not in schemas
    for root in LANG_ROOTS.values():
        page = article_text(built.site / root / "reference/versions/index.html")
        assert VERSION in page and DRAFT not in page
