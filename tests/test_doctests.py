"""The examples in the docstrings of the library, the server and the benchmarks run and give
what they show: an example a reader copies from the API reference works as written."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import sys
from pathlib import Path

import pytest

import reference_server
import smartcommunity

#: the benchmarks run as scripts, their own folder first on the path
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.append(str(BENCHMARKS))


def _modules() -> list[str]:
    names = [f"benchmarks.{path.stem}" for path in sorted(BENCHMARKS.glob("*_bench.py"))]
    for package in (smartcommunity, reference_server):
        names.append(package.__name__)
        names += [found.name for found in pkgutil.walk_packages(package.__path__,
                                                                 package.__name__ + ".")
                  # a command's __main__ runs it; a migration runs inside Alembic only
                  if not found.name.endswith("__main__") and ".migrations." not in found.name]
    return names


def _examples(name: str) -> int:
    return sum(len(test.examples) for test in doctest.DocTestFinder().find(
        importlib.import_module(name)))


#: the modules whose docstrings show examples
SHOWING = [name for name in _modules() if _examples(name)]


@pytest.mark.parametrize("name", SHOWING)
def test_the_examples_of_a_module_give_what_they_show(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name}"


def test_the_modules_that_show_examples_are_read() -> None:
    for name in ("smartcommunity.uris", "smartcommunity.pointers", "benchmarks.scale_bench"):
        assert name in SHOWING
