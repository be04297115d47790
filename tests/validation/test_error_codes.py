"""The rules name their codes through the error-code codelist, so a misspelt code cannot reach a
report: every code a rules module names is in the codelist, and a name it lacks raises."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcommunity.specification import load_spec
from smartcommunity.validation import ErrorCodes

SPEC = load_spec()
CODELIST = SPEC.codelist("error-code")
RULES = sorted(p.stem for p in (Path(__file__).resolve().parents[2]
                                / "src/smartcommunity/validation").glob("_rules_*.py"))


def _names_read(module: str, namespace: str) -> set[str]:
    """The attributes ``module`` reads from its module-level ``namespace``."""
    source = importlib.import_module(f"smartcommunity.validation.{module}").__file__
    tree = ast.parse(Path(str(source)).read_text(encoding="utf-8"))
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name) and node.value.id == namespace}


@pytest.mark.parametrize("module", RULES)
def test_every_code_a_rules_module_names_is_in_the_codelist(module: str) -> None:
    rules = importlib.import_module(f"smartcommunity.validation.{module}")
    codes = getattr(rules, "CODE", None)
    names = _names_read(module, "CODE")
    assert codes is not None or not names
    for name in names:
        assert getattr(codes, name) in CODELIST


@given(st.sampled_from(sorted(CODELIST)))
def test_a_code_is_read_by_its_name_in_capitals(code: str) -> None:
    kind, _, rest = code.partition(".")
    codes = ErrorCodes(kind)
    name = rest.upper().replace("-", "_")
    assert getattr(codes, name) == code
    assert getattr(codes, name) == code  # the second read finds the first's answer
    assert code in codes and code in set(codes)


@pytest.mark.parametrize("name", ["PERIOD_ORDR", "period_order", "_PERIOD_ORDER", "CODES"])
def test_a_name_the_codelist_lacks_raises(name: str) -> None:
    with pytest.raises(AttributeError, match="is not in the error-code codelist"):
        getattr(ErrorCodes("resident"), name)


def test_the_codes_of_a_kind_are_its_rows_of_the_codelist() -> None:
    assert set(ErrorCodes("organisation")) == {c for c in CODELIST
                                               if c.startswith("organisation.")}
    assert "organisation.parent-self" in ErrorCodes("organisation")
    assert "resident.period-order" not in ErrorCodes("organisation")
    assert "organisation.no-such-code" not in ErrorCodes("organisation")
    assert 7 not in ErrorCodes("organisation")
