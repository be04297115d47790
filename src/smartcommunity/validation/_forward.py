"""Reading a document of a later minor version (``/req/core/forward-compatible``).

The document was validated as the highest installed minor of its major. What that version does
not know is not an error of the document: members it does not declare are kept and reported as
warnings, and so are codes outside its closed codelists; a library rule's finding on such a
value (an action its lifecycle table lacks) is a consequence and is dropped.
"""

from __future__ import annotations

from ..pointers import unescape_token
from ..specification import Spec
from ._plan import Plan, Step
from ._report import Finding, Report

#: schema codes a later minor may cause, and the warning each becomes
_LATER = {"schema.unknown-member": "document.unknown-member",
          "schema.enum": "document.unknown-code"}


def read_forward(spec: Spec, plan: Plan, report: Report, stated: str) -> None:
    """Turn what a later minor may add into warnings, in place."""
    closed = {leaf.path for leaf in plan.leaves if leaf.kind == "codelist" and leaf.codelist
              and not leaf.open_codelist}
    kept: list[Finding] = []
    unknown: list[str] = []
    for f in report.findings:
        later = _LATER.get(f.code)
        if later == "document.unknown-code" and _steps(f.pointer) not in closed:
            later = None
        if later is None:
            kept.append(f)
            continue
        unknown.append(f.pointer)
        values = f._values
        shown = values.get("property") if later == "document.unknown-member" else values.get(
            "value")
        kept.append(_warning(spec, f.pointer, later, stated, str(shown)))
    if unknown:
        # A rule's finding on a value a later minor added is that value's consequence.
        kept = [f for f in kept if f.code.startswith(("schema.", "document."))
                or not any(f.pointer == u or f.pointer.startswith(u + "/") for u in unknown)]
    kept.append(_warning(spec, "/specVersion", "document.newer-version", stated, spec.version))
    report.findings[:] = kept


def _warning(spec: Spec, where: str, code: str, stated: str, value: str) -> Finding:
    req = spec.requirement_for_code(code)
    return Finding(where, code, severity="warning", requirement=req.id if req else None,
                   values={"stated": stated, "version": spec.version, "value": value},
                   spec_version=spec.version)


def _steps(where: str) -> tuple[Step, ...]:
    tokens = [unescape_token(t) for t in where.split("/")[1:]] if where else []
    return tuple(None if t.isascii() and t.isdigit() else t for t in tokens)
