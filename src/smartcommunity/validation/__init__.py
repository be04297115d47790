"""Validation of documents: the normative schema, then every rule it cannot express.

>>> from smartcommunity import validate
>>> report = validate({"resourceType": "Issue"})
>>> report.valid
False

One document at a time: :func:`validate` or :meth:`Validator.validate`. A set, with the rules
that span documents (references, merges named on both sides): :meth:`Validator.validate_many`,
or, streaming, :meth:`Validator.check` for each document and a :class:`SetCheck` for the set.
Rules are registered per resource type and version with :func:`rule`, :func:`member_rule`
(a rule of one member, called only when the document has it) and :func:`set_rule`; they name
the codes they report through :class:`ErrorCodes`, read from the spec's error-code codelist.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..pointers import pointer, resolve_pointer
from ._explain import excerpt
from ._input import too_deep
from ._messages import ErrorCodes, message
from ._plan import (
    Leaf,
    Members,
    OpenStep,
    Plan,
    Step,
    compile_details_plans,
    compile_plan,
    compile_schema_plan,
    compile_walk,
    schema_resolver,
    values_at,
)
from ._report import Finding, Report, Severity
from ._rules_consultation import SESSION_CANCELLED, ballots_mismatch, vote_outcome_findings
from ._rules_resident import pseudonym_key
from ._schema import Compiled, SchemaEngine, compile_schema, schema_problems
from ._time import compare_instants, instant
from ._validator import (
    Checked,
    Context,
    Links,
    Member,
    SetCheck,
    SetContext,
    Validator,
    finding,
    member_rule,
    rule,
    rules_for,
    set_rule,
    validate,
)
from ._versions import Resolved, resolve_version

__all__ = ["SESSION_CANCELLED", "Checked", "Compiled", "Context", "ErrorCodes", "Finding", "Leaf",
           "Links", "Member", "Members", "OpenStep", "Plan", "Report", "Resolved", "SchemaEngine",
           "SetCheck", "SetContext", "Severity", "Step", "Validator", "ballots_mismatch",
           "compare_instants", "compile_details_plans", "compile_plan", "compile_schema",
           "compile_schema_plan", "compile_walk", "excerpt", "finding", "instant", "member_rule",
           "message",
           "pointer", "pseudonym_key", "resolve_pointer", "resolve_version", "rule", "rules_for",
           "schema_problems", "schema_resolver", "set_rule", "too_deep", "validate", "values_at",
           "vote_outcome_findings"]


def _register_rules() -> None:
    """Import every ``_rules_*`` module: importing one registers its rules, so the rules of a
    new resource type need a module and nothing else."""
    for found in pkgutil.iter_modules(__path__):
        if found.name.startswith("_rules_"):
            importlib.import_module(f"{__name__}.{found.name}")


_register_rules()
