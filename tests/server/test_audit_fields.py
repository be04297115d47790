"""The audit log names the sensitive members a read disclosed (/req/privacy/audit-log): the
compiled walk finds exactly what walking each tagged path of the plan from the root finds, in
the same order."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server.access import Access
from reference_server.storage import pipl_paths
from smartcommunity import load_spec
from smartcommunity.pointers import pointer
from smartcommunity.strategies import documents
from smartcommunity.validation import values_at

SPEC = load_spec()
ACCESS = Access(SPEC, None)
PERSON = ACCESS.person_type
EXAMPLES = [d for _, d in SPEC.examples() if d.get("resourceType") == PERSON]


def _by_path(doc: Any, minor: bool) -> list[str]:
    """The reference: each tagged path in the plan's order, walked from the root."""
    classes = set(ACCESS.minor_treatment.values())
    if minor:
        classes |= set(ACCESS.minor_treatment)
    return [pointer(where) for path, cls in pipl_paths(SPEC, PERSON) if cls in classes
            for where, _ in values_at(doc, path)]


def _doubled(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with every list twice as long: values of one path in several items."""
    def grow(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: grow(v) for k, v in node.items()}
        if isinstance(node, list):
            return [grow(v) for v in node] * 2
        return node
    return grow(orjson.loads(orjson.dumps(doc)))  # type: ignore[no-any-return]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.sampled_from(EXAMPLES), documents(PERSON)), st.booleans(), st.booleans())
def test_the_audit_names_what_each_path_reaches(doc: dict[str, Any], minor: bool,
                                                doubled: bool) -> None:
    if doubled:
        doc = _doubled(doc)
    assert ACCESS.sensitive_pointers(doc, minor=minor) == _by_path(doc, minor)


def test_a_resident_example_discloses_sensitive_members() -> None:
    found = {p for doc in EXAMPLES for p in ACCESS.sensitive_pointers(doc, minor=True)}
    assert found, "the examples hold sensitive members the audit must name"
