"""Every requirement of the registry has a kit test: a MUST that nothing checks fails here."""

from __future__ import annotations

from smartcommunity.conformance import all_tests, coverage
from smartcommunity.specification import load_spec


def test_every_requirement_has_a_kit_test() -> None:
    spec = load_spec("1.0")
    table = coverage(spec)
    must = sorted(r for r, tests in table.items()
                  if not tests and spec.requirements[r].level == "MUST")
    should = sorted(r for r, tests in table.items()
                    if not tests and spec.requirements[r].level == "SHOULD")
    assert not must, f"MUST requirements without a kit test: {must}"
    assert not should, f"SHOULD requirements without a (warning-level) check: {should}"


def test_every_kit_test_cites_a_known_requirement_once() -> None:
    spec = load_spec("1.0")
    tests = all_tests(spec)
    unknown = sorted({t.requirement for t in tests} - set(spec.requirements))
    assert not unknown, f"kit tests cite requirements the registry lacks: {unknown}"
    ids = [t.id for t in tests]
    assert len(ids) == len(set(ids)), "two kit tests share an id"
    for test in tests:
        assert test.id.startswith(test.requirement + "#"), test.id
        title = test.heading(spec)
        assert title.get("zh-Hans") and title.get("en"), f"{test.id} needs both titles"


def test_a_hand_written_check_takes_its_title_from_the_registry() -> None:
    """What a check is about is said once, as its requirement's title in spec/: a check
    whose requirement has no title would be reported without one."""
    spec = load_spec("1.0")
    for test in all_tests(spec):
        if test.id.endswith("#vectors"):
            continue
        assert test.title is None, f"{test.id} restates a title the registry holds"
        assert test.heading(spec) == dict(spec.requirements[test.requirement].title), test.id


def test_server_requirements_are_checked_by_hand_written_tests() -> None:
    """Requirements enforced by a server need a test that talks to one, not only vectors."""
    spec = load_spec("1.0")
    hand = {t.requirement for t in all_tests(spec) if not t.id.endswith("#vectors")}
    missing = sorted(r for r, req in spec.requirements.items()
                     if "server" in req.enforcement and r not in hand)
    assert not missing, f"server requirements checked only by vectors or not at all: {missing}"
