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


def test_every_installed_requirement_of_the_validator_engine_admits_the_same_series() -> None:
    """The library pins one jsonschema-rs series; every installed package that needs
    jsonschema-rs (schemathesis in the development install) must admit the version installed,
    so a development install never validates with another engine release than the library's
    own range allows."""
    from importlib.metadata import distributions, version

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    ours = next(Requirement(r) for r in project["project"]["dependencies"]
                if r.startswith("jsonschema-rs"))
    installed = Version(version("jsonschema-rs"))
    assert installed in ours.specifier
    uppers = [s for s in ours.specifier if s.operator == "<"]
    assert uppers, "the range must end before the next 0.x series"
    for dist in distributions():
        for raw in dist.requires or []:
            need = Requirement(raw)
            if need.name == "jsonschema-rs" and not need.marker:
                assert installed in need.specifier, (dist.metadata["Name"], raw)
