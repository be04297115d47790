"""One version: the package's is written once (``smartcommunity.__version__``, which the build
reads) and is the version the newest spec tree announces."""

from __future__ import annotations

import re
import tomllib

from packaging.version import Version

import smartcommunity
from smartcommunity.specification import DEFAULT_VERSION, available_versions, load_spec

from .conftest import ROOT


def test_the_build_reads_the_package_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    source = project["tool"]["hatch"]["version"]["path"]
    text = (ROOT / source).read_text(encoding="utf-8")
    assert re.findall(r'^__version__ = "([^"]+)"$', text, flags=re.M) == [
        smartcommunity.__version__]


def test_package_and_spec_agree() -> None:
    package = Version(smartcommunity.__version__)
    newest = available_versions()[-1]
    # the spec names its version twice: the folder (major.minor) and the API description
    api = Version(load_spec(newest).openapi["info"]["version"])
    assert package.release == api.release, (package, api)
    assert f"{package.major}.{package.minor}" == newest == DEFAULT_VERSION
