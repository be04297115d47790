"""(c) Changing the spec changes the built site: nothing on the reference pages is typed by hand.

The site is built from a modified copy of ``spec/`` (the hook reads the folder named by
``SMARTCOMMUNITY_DOCS_SPEC``); each change must show up on the right page, in the right
language.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from .conftest import Build, build_site
from .sitehtml import article_text
from .test_docs_build import LANG_ROOTS, SPEC, VERSION

ZH, EN = "标记说明甲乙丙", "MarkerDescriptionQuux"


def _edit_json(path: Path, edit) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(path.read_text("utf-8"))
    edit(data)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), "utf-8")


def test_a_changed_spec_changes_the_site(tmp_path: Path, built: Build) -> None:
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

    changed = build_site(tmp_path / "site", spec_root=spec)
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
